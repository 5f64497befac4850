//! REST answers: orders, cancels, queries, account, depth snapshot, tickers, listenKey, errors.
//!
//! Order answers differ by `newOrderRespType` and by age: ACK carries five fields, RESULT adds the
//! order's state, FULL adds `fills`; 2020-era captures lack `workingTime`, `origQuoteOrderQty` and
//! `selfTradePreventionMode`. One struct with optional tails takes them all, and [`OrderResponse::kind`]
//! says which shape arrived.

use std::borrow::Cow;

use kestrel_types::{Money, Price, Qty, Ratio};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::common::{Level, OrderStatus, OrderType, Side, TimeInForce};
use super::num;

/// The order's state as RESULT/FULL answers, cancels and queries carry it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderState {
    /// Limit price (`0` for MARKET).
    #[serde(deserialize_with = "num::price")]
    pub price: Price,
    /// Ordered quantity.
    #[serde(deserialize_with = "num::qty")]
    pub orig_qty: Qty,
    /// Filled so far.
    #[serde(deserialize_with = "num::qty")]
    pub executed_qty: Qty,
    /// Quote amount filled so far (Binance's spelling: `cummulativeQuoteQty`).
    #[serde(rename = "cummulativeQuoteQty", deserialize_with = "num::money")]
    pub cumulative_quote_qty: Money,
    /// Quote amount ordered (MARKET by quote); absent before 2022.
    #[serde(default, deserialize_with = "num::opt_money")]
    pub orig_quote_order_qty: Option<Money>,
    /// Status.
    pub status: OrderStatus,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Order type.
    #[serde(rename = "type")]
    pub order_type: OrderType,
    /// Side.
    pub side: Side,
    /// Trigger price of conditional orders.
    #[serde(default, deserialize_with = "num::opt_price")]
    pub stop_price: Option<Price>,
    /// Visible part of an iceberg.
    #[serde(default, deserialize_with = "num::opt_qty")]
    pub iceberg_qty: Option<Qty>,
    /// When the order started working (`-1` for an untriggered stop); absent before 2022-12.
    #[serde(default)]
    pub working_time: Option<i64>,
}

/// One fill of a FULL answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fill<'a> {
    /// Fill price.
    #[serde(deserialize_with = "num::price")]
    pub price: Price,
    /// Fill quantity.
    #[serde(deserialize_with = "num::qty")]
    pub qty: Qty,
    /// Commission charged, in `commission_asset`.
    #[serde(deserialize_with = "num::qty")]
    pub commission: Qty,
    /// The asset the commission was charged in (BNB, base or quote).
    pub commission_asset: &'a str,
    /// Trade id, unique per symbol (the dedupe key shared with executionReport `t`).
    pub trade_id: u64,
}

/// The five fields every new-order answer carries (the whole ACK answer).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAck<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// Binance's order id.
    pub order_id: u64,
    /// `-1` unless part of an order list.
    pub order_list_id: i64,
    /// Our client order id, echoed.
    #[serde(borrow)]
    pub client_order_id: Cow<'a, str>,
    /// Engine time of the acceptance, epoch ms.
    pub transact_time: u64,
}

/// A RESULT or FULL answer: the acknowledgement, the order's state, and (FULL) the fills.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OrderResult<'a> {
    /// Ids and time.
    #[serde(flatten, borrow)]
    pub ack: OrderAck<'a>,
    /// The order's state after the request.
    #[serde(flatten)]
    pub state: OrderState,
    /// Fills (FULL only; empty when nothing traded).
    #[serde(default, borrow)]
    pub fills: Option<Vec<Fill<'a>>>,
}

/// `POST /api/v3/order` answer, whichever `newOrderRespType` produced it; decoded by
/// [`crate::codec::decode_order_response`], which tells the shapes apart by the presence of `status`
/// (so a malformed RESULT field is an error, never a silent ACK).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderResponse<'a> {
    /// Ids and time only (default for conditional and LIMIT_MAKER orders).
    Ack(OrderAck<'a>),
    /// With the order's state (`fills` absent) or also the fills (`fills` present).
    Result(OrderResult<'a>),
}

impl<'a> OrderResponse<'a> {
    /// The acknowledgement part, present in every shape.
    pub fn ack(&self) -> &OrderAck<'a> {
        match self {
            Self::Ack(a) => a,
            Self::Result(r) => &r.ack,
        }
    }

    /// Which shape arrived.
    pub fn kind(&self) -> ResponseKind {
        match self {
            Self::Ack(_) => ResponseKind::Ack,
            Self::Result(OrderResult { fills: None, .. }) => ResponseKind::Result,
            Self::Result(_) => ResponseKind::Full,
        }
    }
}

/// Which of Binance's three answers to a new order arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// Ids and time only.
    Ack,
    /// Plus the order's state.
    Result,
    /// Plus the fills (possibly empty).
    Full,
}

/// `DELETE /api/v3/order` answer. `client_order_id` names the cancel request, `orig_client_order_id`
/// the canceled order.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelResponse<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// The canceled order's client id.
    #[serde(borrow)]
    pub orig_client_order_id: Cow<'a, str>,
    /// Binance's order id.
    pub order_id: u64,
    /// `-1` unless part of an order list.
    pub order_list_id: i64,
    /// The cancel request's own client id.
    #[serde(borrow)]
    pub client_order_id: Cow<'a, str>,
    /// Engine time of the cancel (absent in 2020-era answers).
    #[serde(default)]
    pub transact_time: Option<u64>,
    /// The order's final state.
    #[serde(flatten)]
    pub state: OrderState,
}

/// `GET /api/v3/order` answer and each element of `GET /api/v3/openOrders`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueriedOrder<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// Binance's order id.
    pub order_id: u64,
    /// `-1` unless part of an order list.
    pub order_list_id: i64,
    /// Client order id.
    #[serde(borrow)]
    pub client_order_id: Cow<'a, str>,
    /// Creation time, epoch ms.
    pub time: u64,
    /// Last update time, epoch ms.
    pub update_time: u64,
    /// Whether it is on the book now (false for an untriggered stop).
    pub is_working: bool,
    /// The order's state.
    #[serde(flatten)]
    pub state: OrderState,
}

/// Commission rates of the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct CommissionRates {
    /// Maker rate.
    #[serde(deserialize_with = "num::ratio")]
    pub maker: Ratio,
    /// Taker rate.
    #[serde(deserialize_with = "num::ratio")]
    pub taker: Ratio,
    /// Buyer rate.
    #[serde(deserialize_with = "num::ratio")]
    pub buyer: Ratio,
    /// Seller rate.
    #[serde(deserialize_with = "num::ratio")]
    pub seller: Ratio,
}

/// One asset balance.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Balance<'a> {
    /// Asset code.
    pub asset: &'a str,
    /// Available.
    #[serde(deserialize_with = "num::qty")]
    pub free: Qty,
    /// Held by open orders.
    #[serde(deserialize_with = "num::qty")]
    pub locked: Qty,
}

/// `GET /api/v3/account` answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account<'a> {
    /// Maker commission in basis points (legacy integer form).
    pub maker_commission: i64,
    /// Taker commission in basis points (legacy integer form).
    pub taker_commission: i64,
    /// Exact commission rates.
    #[serde(default)]
    pub commission_rates: Option<CommissionRates>,
    /// Whether the account may trade.
    pub can_trade: bool,
    /// Last update, epoch ms.
    pub update_time: u64,
    /// `SPOT`.
    pub account_type: &'a str,
    /// Balances (all, or the non-zero ones with `omitZeroBalances`).
    #[serde(borrow)]
    pub balances: Vec<Balance<'a>>,
    /// Account permissions.
    #[serde(borrow, default)]
    pub permissions: Vec<&'a str>,
    /// Account uid.
    #[serde(default)]
    pub uid: Option<u64>,
}

/// `GET /api/v3/depth` answer: the book at `last_update_id`, best levels first.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepthSnapshot {
    /// The book's update id (same sequence as the diff stream's `U`/`u`).
    pub last_update_id: u64,
    /// Bids, best first.
    pub bids: Vec<Level>,
    /// Asks, best first.
    pub asks: Vec<Level>,
}

/// `GET /api/v3/ticker/bookTicker?symbol=` answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestBookTicker<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// Best bid.
    #[serde(deserialize_with = "num::price")]
    pub bid_price: Price,
    /// Size there.
    #[serde(deserialize_with = "num::qty")]
    pub bid_qty: Qty,
    /// Best ask.
    #[serde(deserialize_with = "num::price")]
    pub ask_price: Price,
    /// Size there.
    #[serde(deserialize_with = "num::qty")]
    pub ask_qty: Qty,
}

/// `GET /api/v3/ticker/24hr?symbol=` answer (FULL type). Volumes are [`Money`]: a day's quote
/// volume can pass a `Qty`'s 9.2e9.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticker24h<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// Last − open.
    #[serde(deserialize_with = "num::price")]
    pub price_change: Price,
    /// Change in percent (`"-95.960"`).
    #[serde(deserialize_with = "num::ratio")]
    pub price_change_percent: Ratio,
    /// Volume-weighted average price.
    #[serde(deserialize_with = "num::price")]
    pub weighted_avg_price: Price,
    /// Last price.
    #[serde(deserialize_with = "num::price")]
    pub last_price: Price,
    /// Last quantity.
    #[serde(deserialize_with = "num::qty")]
    pub last_qty: Qty,
    /// Best bid.
    #[serde(deserialize_with = "num::price")]
    pub bid_price: Price,
    /// Best ask.
    #[serde(deserialize_with = "num::price")]
    pub ask_price: Price,
    /// Open price.
    #[serde(deserialize_with = "num::price")]
    pub open_price: Price,
    /// High.
    #[serde(deserialize_with = "num::price")]
    pub high_price: Price,
    /// Low.
    #[serde(deserialize_with = "num::price")]
    pub low_price: Price,
    /// Base volume.
    #[serde(deserialize_with = "num::money")]
    pub volume: Money,
    /// Quote volume.
    #[serde(deserialize_with = "num::money")]
    pub quote_volume: Money,
    /// Window start, epoch ms.
    pub open_time: u64,
    /// Window end, epoch ms.
    pub close_time: u64,
    /// First trade id in the window (-1 when none).
    pub first_id: i64,
    /// Last trade id in the window (-1 when none).
    pub last_id: i64,
    /// Number of trades.
    pub count: u64,
}

/// `POST /api/v3/userDataStream` answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenKey<'a> {
    /// The key (64 characters).
    pub listen_key: &'a str,
}

/// Binance's error body `{code, msg}` (plus `data` for cancel-replace), from REST and the WS API.
#[derive(Clone, Debug, Deserialize)]
pub struct ApiError<'a> {
    /// Stable negative error code.
    pub code: i64,
    /// Human text (may change between releases).
    #[serde(borrow)]
    pub msg: Cow<'a, str>,
    /// Cancel-replace details, kept as raw JSON.
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode;

    #[test]
    fn ticker_24h_decodes_the_documented_answer() {
        // `GET /api/v3/ticker/24hr?symbol=BNBBTC`, the example of Binance's REST documentation.
        let text = r#"{"symbol":"BNBBTC","priceChange":"-94.99999800","priceChangePercent":"-95.960","weightedAvgPrice":"0.29628482","prevClosePrice":"0.10002000","lastPrice":"4.00000200","lastQty":"200.00000000","bidPrice":"4.00000000","bidQty":"100.00000000","askPrice":"4.00000200","askQty":"100.00000000","openPrice":"99.00000000","highPrice":"100.00000000","lowPrice":"0.10000000","volume":"8913.30000000","quoteVolume":"15.30000000","openTime":1499783499040,"closeTime":1499869899040,"firstId":28385,"lastId":28460,"count":76}"#;
        let t: Ticker24h<'_> = decode("ticker/24hr", text).unwrap();
        assert_eq!(t.price_change, "-94.999998".parse().unwrap());
        assert_eq!(t.price_change_percent, "-95.96".parse().unwrap());
        assert_eq!((t.last_price, t.volume), ("4.000002".parse().unwrap(), "8913.3".parse().unwrap()));
        assert_eq!((t.first_id, t.last_id, t.count), (28_385, 28_460, 76));
        // A day's quote volume beyond a Qty's 9.2e9 still fits.
        let big = text.replace(r#""quoteVolume":"15.30000000""#, r#""quoteVolume":"12345678901.12345678""#);
        let t: Ticker24h<'_> = decode("ticker/24hr", &big).unwrap();
        assert_eq!(t.quote_volume.to_string(), "12345678901.12345678");
    }
}
