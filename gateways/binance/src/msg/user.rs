//! User data events: executionReport, outboundAccountPosition, balanceUpdate, listenKeyExpired,
//! eventStreamTerminated.
//!
//! They arrive bare (`/ws/<listenKey>`), in the combined wrapper (`/stream?streams=<listenKey>`), or
//! in the WebSocket API subscription wrapper `{"subscriptionId":N,"event":{…}}`;
//! [`crate::codec::decode_user`] takes all three. Field names are single case-sensitive letters
//! (`e` ≠ `E`, `t` ≠ `T`), which serde's derive matches exactly.

use std::borrow::Cow;

use kestrel_types::{Price, Qty};
use serde::Deserialize;

use super::common::{ExecType, OrderStatus, OrderType, Side, TimeInForce};
use super::num;

/// One order event. `W` (2022-12) and `V` (2023-01) are optional: older captures lack them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ExecutionReport<'a> {
    /// Event time, epoch ms.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// Client order id (on CANCELED: the cancel request's id).
    #[serde(rename = "c", borrow)]
    pub client_order_id: Cow<'a, str>,
    /// Side.
    #[serde(rename = "S")]
    pub side: Side,
    /// Order type.
    #[serde(rename = "o")]
    pub order_type: OrderType,
    /// Time in force.
    #[serde(rename = "f")]
    pub time_in_force: TimeInForce,
    /// Order quantity.
    #[serde(rename = "q", deserialize_with = "num::qty")]
    pub qty: Qty,
    /// Order price (0 for MARKET).
    #[serde(rename = "p", deserialize_with = "num::price")]
    pub price: Price,
    /// Stop price.
    #[serde(rename = "P", deserialize_with = "num::price")]
    pub stop_price: Price,
    /// Iceberg quantity.
    #[serde(rename = "F", deserialize_with = "num::qty")]
    pub iceberg_qty: Qty,
    /// Order list id (-1 when none).
    #[serde(rename = "g")]
    pub order_list_id: i64,
    /// The original order's client id on a cancel, else empty.
    #[serde(rename = "C", borrow)]
    pub orig_client_order_id: Cow<'a, str>,
    /// What this event reports.
    #[serde(rename = "x")]
    pub exec_type: ExecType,
    /// Order status after it.
    #[serde(rename = "X")]
    pub status: OrderStatus,
    /// Reject reason (`NONE` unless rejected).
    #[serde(rename = "r")]
    pub reject_reason: &'a str,
    /// Binance's order id.
    #[serde(rename = "i")]
    pub order_id: u64,
    /// Quantity of this fill.
    #[serde(rename = "l", deserialize_with = "num::qty")]
    pub last_qty: Qty,
    /// Cumulative filled quantity.
    #[serde(rename = "z", deserialize_with = "num::qty")]
    pub cum_qty: Qty,
    /// Price of this fill.
    #[serde(rename = "L", deserialize_with = "num::price")]
    pub last_price: Price,
    /// Commission of this fill (`"0"` when none).
    #[serde(rename = "n", deserialize_with = "num::qty")]
    pub commission: Qty,
    /// Commission asset (null without a fill).
    #[serde(rename = "N")]
    pub commission_asset: Option<&'a str>,
    /// Transaction time, epoch ms.
    #[serde(rename = "T")]
    pub transact_time: u64,
    /// Trade id (-1 unless `x` is TRADE).
    #[serde(rename = "t")]
    pub trade_id: i64,
    /// Execution id (grows per event, not contiguous).
    #[serde(rename = "I")]
    pub exec_id: u64,
    /// Whether the order is on the book now.
    #[serde(rename = "w")]
    pub working: bool,
    /// Whether this fill was maker.
    #[serde(rename = "m")]
    pub maker: bool,
    /// Order creation time, epoch ms.
    #[serde(rename = "O")]
    pub created: u64,
    /// Cumulative quote quantity.
    #[serde(rename = "Z", deserialize_with = "num::money")]
    pub cum_quote_qty: kestrel_types::Money,
    /// Quote quantity of this fill.
    #[serde(rename = "Y", deserialize_with = "num::money")]
    pub last_quote_qty: kestrel_types::Money,
    /// Quote order quantity.
    #[serde(rename = "Q", deserialize_with = "num::money")]
    pub quote_order_qty: kestrel_types::Money,
    /// Working time: present once the order works (absent on an untriggered stop, and before 2022-12).
    #[serde(rename = "W", default)]
    pub working_time: Option<u64>,
    /// Self-trade prevention mode (absent before 2023-01).
    #[serde(rename = "V", default)]
    pub stp_mode: Option<&'a str>,
}

/// One asset of an outboundAccountPosition.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AssetPosition<'a> {
    /// Asset.
    #[serde(rename = "a")]
    pub asset: &'a str,
    /// Free.
    #[serde(rename = "f", deserialize_with = "num::qty")]
    pub free: Qty,
    /// Locked.
    #[serde(rename = "l", deserialize_with = "num::qty")]
    pub locked: Qty,
}

/// The balances an event touched, after it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AccountPosition<'a> {
    /// Event time, epoch ms.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Last account update, epoch ms.
    #[serde(rename = "u")]
    pub last_update: u64,
    /// Assets touched.
    #[serde(rename = "B", borrow)]
    pub balances: Vec<AssetPosition<'a>>,
}

/// A deposit, withdrawal or transfer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BalanceUpdate<'a> {
    /// Event time, epoch ms.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Asset.
    #[serde(rename = "a")]
    pub asset: &'a str,
    /// Signed change.
    #[serde(rename = "d", deserialize_with = "num::qty")]
    pub delta: Qty,
    /// Clear time, epoch ms.
    #[serde(rename = "T")]
    pub clear_time: u64,
}

/// The listenKey expired: nothing more comes on that stream.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ListenKeyExpired<'a> {
    /// Event time, epoch ms (sent as a string by some servers: both accepted).
    #[serde(rename = "E", deserialize_with = "num::millis_lenient")]
    pub event_time: u64,
    /// The key that expired.
    #[serde(rename = "listenKey")]
    pub listen_key: &'a str,
}

/// A WS-API user data subscription ended (unsubscribe or logout).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EventStreamTerminated {
    /// Event time, epoch ms.
    #[serde(rename = "E")]
    pub event_time: u64,
}

/// A user data event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserEvent<'a> {
    /// An order event.
    Execution(Box<ExecutionReport<'a>>),
    /// Balances after a change.
    AccountPosition(AccountPosition<'a>),
    /// A deposit, withdrawal or transfer.
    BalanceUpdate(BalanceUpdate<'a>),
    /// The listenKey expired.
    ListenKeyExpired(ListenKeyExpired<'a>),
    /// The WS-API subscription ended.
    EventStreamTerminated(EventStreamTerminated),
    /// An event type this crate does not use (`listStatus`, `externalLockUpdate`, future ones):
    /// named, not refused.
    Other {
        /// Its `e`.
        event: &'a str,
    },
}

/// Where a user event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSource<'a> {
    /// A bare `/ws/<listenKey>` frame.
    Bare,
    /// A combined-stream frame; the stream name (the listenKey).
    Combined(&'a str),
    /// A WebSocket API subscription frame; its subscription id.
    Subscription(u64),
}

/// A decoded user data frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFrame<'a> {
    /// The wrapper it came in.
    pub source: UserSource<'a>,
    /// The event.
    pub event: UserEvent<'a>,
}
