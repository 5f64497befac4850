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

#[cfg(test)]
mod tests {
    use crate::codec::decode_wsapi;

    use super::*;

    #[test]
    fn an_error_answer_carries_code_and_message() {
        let text = r#"{"id":"e2a85d9f-07a5-4f94-8d5f-789dc3deb097","status":400,"error":{"code":-1021,"msg":"Timestamp for this request was 1000ms ahead of the server's time."},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":70}]}"#;
        let r = decode_wsapi(text).unwrap();
        assert_eq!((r.status, r.result.is_none()), (400, true));
        let e = r.error.as_ref().unwrap();
        assert_eq!(e.code, -1021);
        assert!(e.msg.starts_with("Timestamp"));
        assert_eq!(r.result_as::<SubscribeResult>("x").unwrap(), None);
        let r = decode_wsapi(r#"{"id":7,"status":200,"result":{"subscriptionId":3}}"#).unwrap();
        assert_eq!(r.id, WsApiId::Int(7));
        assert!(r.rate_limits.is_empty());
        assert_eq!(
            r.result_as::<SubscribeResult>("x").unwrap(),
            Some(SubscribeResult { subscription_id: 3 })
        );
    }
}
