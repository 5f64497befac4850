//! Vocabulary shared by REST answers, streams and user data: sides, order types, statuses, levels.

use core::fmt;

use kestrel_types::{Price, Qty};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::num::parse_decimal;

/// Buy or sell, as Binance spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Side {
    /// `BUY`.
    Buy,
    /// `SELL`.
    Sell,
}

impl Side {
    /// The wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }
}

/// Binance spot order types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    /// Rests at a price.
    Limit,
    /// Takes the book now.
    Market,
    /// A market order once `stopPrice` is reached.
    StopLoss,
    /// A limit order once `stopPrice` is reached.
    StopLossLimit,
    /// A market order once `stopPrice` is reached from the other side.
    TakeProfit,
    /// A limit order once `stopPrice` is reached from the other side.
    TakeProfitLimit,
    /// Post-only limit: refused if it would take.
    LimitMaker,
}

impl OrderType {
    /// The wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Limit => "LIMIT",
            Self::Market => "MARKET",
            Self::StopLoss => "STOP_LOSS",
            Self::StopLossLimit => "STOP_LOSS_LIMIT",
            Self::TakeProfit => "TAKE_PROFIT",
            Self::TakeProfitLimit => "TAKE_PROFIT_LIMIT",
            Self::LimitMaker => "LIMIT_MAKER",
        }
    }

    /// Whether the order waits for a trigger price before it works.
    pub const fn is_conditional(self) -> bool {
        matches!(self, Self::StopLoss | Self::StopLossLimit | Self::TakeProfit | Self::TakeProfitLimit)
    }
}

/// Binance time in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeInForce {
    /// Good till canceled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
}

impl TimeInForce {
    /// The wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gtc => "GTC",
            Self::Ioc => "IOC",
            Self::Fok => "FOK",
        }
    }
}

/// Order status (DIGEST §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Accepted by the engine.
    New,
    /// Order lists only.
    PendingNew,
    /// Partly filled, still working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Canceled (one L).
    Canceled,
    /// Unused by Binance today.
    PendingCancel,
    /// Refused by the engine.
    Rejected,
    /// Ended by its time in force or book exhaustion.
    Expired,
    /// Ended by self-trade prevention.
    ExpiredInMatch,
}

/// What an executionReport reports (`x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecType {
    /// The order was accepted (and again when a stop triggers).
    New,
    /// The order was canceled.
    Canceled,
    /// The order was amended in place.
    Replaced,
    /// The order was refused.
    Rejected,
    /// A fill.
    Trade,
    /// The order expired.
    Expired,
    /// Self-trade prevention acted.
    TradePrevention,
}

/// One book level `[price, qty]`; a zero quantity removes the level in a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Level {
    /// Price of the level.
    pub price: Price,
    /// Absolute quantity there.
    pub qty: Qty,
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LevelVisitor;
        impl<'de> Visitor<'de> for LevelVisitor {
            type Value = Level;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [price, qty] pair of decimal strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Level, A::Error> {
                let price: DecStr<'de> =
                    seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let qty: DecStr<'de> =
                    seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                let price =
                    parse_decimal(price.0).map_err(|e| de::Error::custom(format_args!("price: {e}")))?;
                let qty = parse_decimal(qty.0).map_err(|e| de::Error::custom(format_args!("qty: {e}")))?;
                Ok(Level { price, qty })
            }
        }
        d.deserialize_seq(LevelVisitor)
    }
}

/// A decimal string not yet parsed (borrowed from the frame).
struct DecStr<'a>(&'a str);

impl<'de: 'a, 'a> Deserialize<'de> for DecStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a str>::deserialize(d).map(DecStr)
    }
}
