//! The WebSocket API envelope: `{id, status, result | error, rateLimits}`.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::exchange_info::RateLimit;
use super::rest::ApiError;

/// A WebSocket API request id, echoed unchanged: a string (UUIDs), an integer, or null.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum WsApiId<'a> {
    /// A string id.
    Text(&'a str),
    /// An integer id.
    Int(i64),
    /// No id.
    Null,
}

/// One answer of the WebSocket API. `result` stays raw JSON: the caller knows which method it
/// asked and decodes it with [`crate::codec::decode`] (see [`WsApiResponse::result_as`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsApiResponse<'a> {
    /// The request's id.
    #[serde(borrow)]
    pub id: WsApiId<'a>,
    /// HTTP-like status (200 on success).
    pub status: u16,
    /// The result, on success.
    #[serde(default, borrow)]
    pub result: Option<&'a RawValue>,
    /// The refusal, on failure.
    #[serde(default, borrow)]
    pub error: Option<ApiError<'a>>,
    /// Usage of the limits this request counted against (absent when none apply).
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
}

/// `userDataStream.subscribe` result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeResult {
    /// The id events of this subscription will carry.
    pub subscription_id: u64,
}
