//! Market streams: trade, aggTrade, bookTicker, depthUpdate, the combined-stream wrapper and the
//! replies to live SUBSCRIBE requests.

use kestrel_types::{Price, Qty};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::common::Level;
use super::num;
use super::rest::ApiError;

/// `<symbol>@trade`. `b`/`a` (buyer/seller order ids) were removed in 2024 and are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TradeMsg<'a> {
    /// Event time, epoch ms.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// Trade id.
    #[serde(rename = "t")]
    pub trade_id: u64,
    /// Price.
    #[serde(rename = "p", deserialize_with = "num::price")]
    pub price: Price,
    /// Quantity.
    #[serde(rename = "q", deserialize_with = "num::qty")]
    pub qty: Qty,
    /// Trade time, epoch ms.
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// Whether the buyer was the maker (so the seller took liquidity).
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

/// `<symbol>@aggTrade`: trades of one taker order at one price, aggregated.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AggTradeMsg<'a> {
    /// Event time, epoch ms.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// Aggregate trade id.
    #[serde(rename = "a")]
    pub agg_id: u64,
    /// Price.
    #[serde(rename = "p", deserialize_with = "num::price")]
    pub price: Price,
    /// Quantity.
    #[serde(rename = "q", deserialize_with = "num::qty")]
    pub qty: Qty,
    /// First trade id.
    #[serde(rename = "f")]
    pub first_trade_id: u64,
    /// Last trade id.
    #[serde(rename = "l")]
    pub last_trade_id: u64,
    /// Trade time, epoch ms.
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// Whether the buyer was the maker.
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

/// `<symbol>@bookTicker`: best bid and ask. Spot carries no event type or time; `u` is the depth
/// stream's update id sequence.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BookTickerMsg<'a> {
    /// Book update id.
    #[serde(rename = "u")]
    pub update_id: u64,
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// Best bid.
    #[serde(rename = "b", deserialize_with = "num::price")]
    pub bid: Price,
    /// Size there.
    #[serde(rename = "B", deserialize_with = "num::qty")]
    pub bid_qty: Qty,
    /// Best ask.
    #[serde(rename = "a", deserialize_with = "num::price")]
    pub ask: Price,
    /// Size there.
    #[serde(rename = "A", deserialize_with = "num::qty")]
    pub ask_qty: Qty,
}

/// `<symbol>@depth[@100ms]`: absolute quantities of the levels that changed between `U` and `u`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DepthUpdateMsg<'a> {
    /// Event time, epoch ms.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// First update id in the event.
    #[serde(rename = "U")]
    pub first_update_id: u64,
    /// Last update id in the event.
    #[serde(rename = "u")]
    pub last_update_id: u64,
    /// Bid levels (qty 0 removes).
    #[serde(rename = "b")]
    pub bids: Vec<Level>,
    /// Ask levels (qty 0 removes).
    #[serde(rename = "a")]
    pub asks: Vec<Level>,
}

/// `{"stream": <name>, "data": <payload>}`: every frame of a `/stream` connection.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Combined<'a> {
    /// Stream name (`nknusdt@depth@100ms`, or a listenKey for user data).
    pub stream: &'a str,
    /// The payload, decoded by the caller once the kind is known.
    #[serde(borrow)]
    pub data: &'a RawValue,
}

/// The reply to a SUBSCRIBE / UNSUBSCRIBE / SET_PROPERTY request: `{"result":null,"id":1}`, or the
/// names for LIST_SUBSCRIPTIONS.
#[derive(Clone, Debug, Deserialize)]
pub struct ControlReply<'a> {
    /// `null`, or the LIST_SUBSCRIPTIONS names / GET_PROPERTY value.
    #[serde(default, borrow)]
    pub result: Option<&'a RawValue>,
    /// The refusal of a malformed request (`{"code":2,"msg":"Invalid request: ..."}`).
    #[serde(default, borrow)]
    pub error: Option<ApiError<'a>>,
    /// The request's id, echoed (integer, string or null).
    #[serde(borrow)]
    pub id: ControlId<'a>,
}

/// A request id of the stream control protocol: an integer, a ≤36-character string, or null.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ControlId<'a> {
    /// An integer id.
    Int(i64),
    /// A string id.
    Text(&'a str),
    /// No id.
    Null,
}

/// Epoch milliseconds as a Kestrel time (`None` past the year 2262).
pub fn millis_to_timestamp(ms: u64) -> Option<kestrel_types::Timestamp> {
    i64::try_from(ms).ok()?.checked_mul(1_000_000).map(kestrel_types::Timestamp::from_nanos)
}

/// Who took liquidity: the buyer being the maker means a seller did.
fn aggressor(buyer_is_maker: bool) -> kestrel_types::Aggressor {
    if buyer_is_maker { kestrel_types::Aggressor::Sell } else { kestrel_types::Aggressor::Buy }
}

impl TradeMsg<'_> {
    /// The Kestrel trade print. The buyer being the maker means a seller took liquidity.
    pub fn to_trade(&self) -> kestrel_types::Trade {
        kestrel_types::Trade {
            price: self.price,
            size: self.qty,
            aggressor: aggressor(self.buyer_is_maker),
            trade_id: self.trade_id,
        }
    }
}

impl AggTradeMsg<'_> {
    /// The Kestrel trade print of the aggregate (its id is the aggregate id).
    pub fn to_trade(&self) -> kestrel_types::Trade {
        kestrel_types::Trade {
            price: self.price,
            size: self.qty,
            aggressor: aggressor(self.buyer_is_maker),
            trade_id: self.agg_id,
        }
    }
}

impl BookTickerMsg<'_> {
    /// The Kestrel quote.
    pub fn to_quote(&self) -> kestrel_types::Quote {
        kestrel_types::Quote { bid: self.bid, bid_size: self.bid_qty, ask: self.ask, ask_size: self.ask_qty }
    }
}
