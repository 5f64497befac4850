//! A client order's typed state and its Binance JSON views (REST responses, executionReport).

use kestrel_types::{Price, Qty};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::num::{px, qty};

/// BUY or SELL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Buys the base asset.
    Buy,
    /// Sells the base asset.
    Sell,
}

impl Side {
    /// Binance's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }

    /// From `side`: -1117 otherwise (the code is Binance's; the wording is "Invalid side.").
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "BUY" => Ok(Self::Buy),
            "SELL" => Ok(Self::Sell),
            _ => Err(ApiError::bad(-1117, "Invalid side.")),
        }
    }
}

/// The order types matched here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrdType {
    /// Rests at its price if not marketable.
    Limit,
    /// Walks the book, the rest expires.
    Market,
    /// Post-only: refused if it would take.
    LimitMaker,
}

impl OrdType {
    /// Binance's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Limit => "LIMIT",
            Self::Market => "MARKET",
            Self::LimitMaker => "LIMIT_MAKER",
        }
    }

    /// From `type`: -1116 otherwise.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "LIMIT" => Ok(Self::Limit),
            "MARKET" => Ok(Self::Market),
            "LIMIT_MAKER" => Ok(Self::LimitMaker),
            _ => Err(ApiError::bad(-1116, "Invalid orderType.")),
        }
    }
}

/// Time in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tif {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
}

impl Tif {
    /// Binance's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gtc => "GTC",
            Self::Ioc => "IOC",
            Self::Fok => "FOK",
        }
    }

    /// From `timeInForce`: -1115 otherwise.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "GTC" => Ok(Self::Gtc),
            "IOC" => Ok(Self::Ioc),
            "FOK" => Ok(Self::Fok),
            _ => Err(ApiError::bad(-1115, "Invalid timeInForce.")),
        }
    }
}

/// Order status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Accepted, nothing filled.
    New,
    /// Some filled, resting.
    PartiallyFilled,
    /// All filled.
    Filled,
    /// Cancelled by the client.
    Canceled,
    /// Ended by the venue (IOC/FOK/MARKET remainder).
    Expired,
}

impl Status {
    /// Binance's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Filled => "FILLED",
            Self::Canceled => "CANCELED",
            Self::Expired => "EXPIRED",
        }
    }

    /// Whether the order can still trade.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::PartiallyFilled)
    }
}

/// A client order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// Venue id.
    pub id: u64,
    /// Symbol name.
    pub symbol: String,
    /// Index of its market.
    pub market: usize,
    /// `clientOrderId`.
    pub client_id: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub kind: OrdType,
    /// Time in force (GTC for MARKET, as Binance reports it).
    pub tif: Tif,
    /// Limit price (zero for MARKET).
    pub price: Price,
    /// Ordered quantity.
    pub orig: Qty,
    /// Filled quantity.
    pub executed: Qty,
    /// Quote traded, nano units (exact: the grids keep every product on nano).
    pub cum_quote: i64,
    /// Status.
    pub status: Status,
    /// Creation time, ms.
    pub time: i64,
    /// Last change, ms.
    pub update: i64,
}

/// One fill of an order, as `fills[]` and executionReport TRADE show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Trade price.
    pub price: Price,
    /// Trade quantity.
    pub qty: Qty,
    /// Trade id (per symbol).
    pub trade_id: u64,
    /// Commission asset (what the side receives; commission is zero here).
    pub commission_asset: String,
}

impl Order {
    /// What is left to fill.
    pub fn remaining(&self) -> Qty {
        Qty::from_raw(self.orig.raw() - self.executed.raw())
    }

    /// The RESULT response (also ACK's superset).
    pub fn result(&self, transact: i64) -> Value {
        json!({
            "symbol": self.symbol,
            "orderId": self.id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "transactTime": transact,
            "price": px(self.price),
            "origQty": qty(self.orig),
            "executedQty": qty(self.executed),
            "origQuoteOrderQty": qty(Qty::ZERO),
            "cummulativeQuoteQty": qty(Qty::from_raw(self.cum_quote)),
            "status": self.status.as_str(),
            "timeInForce": self.tif.as_str(),
            "type": self.kind.as_str(),
            "side": self.side.as_str(),
            "workingTime": self.time,
            "selfTradePreventionMode": "NONE"
        })
    }

    /// The ACK response.
    pub fn ack(&self, transact: i64) -> Value {
        json!({
            "symbol": self.symbol,
            "orderId": self.id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "transactTime": transact
        })
    }

    /// The FULL response: RESULT plus `fills`.
    pub fn full(&self, transact: i64, fills: &[Fill]) -> Value {
        let mut v = self.result(transact);
        let fills: Vec<Value> = fills
            .iter()
            .map(|f| {
                json!({
                    "price": px(f.price),
                    "qty": qty(f.qty),
                    "commission": qty(Qty::ZERO),
                    "commissionAsset": f.commission_asset,
                    "tradeId": f.trade_id
                })
            })
            .collect();
        if let Some(o) = v.as_object_mut() {
            o.insert("fills".into(), Value::Array(fills));
        }
        v
    }

    /// The query view (`GET /api/v3/order`, `openOrders`).
    pub fn query(&self) -> Value {
        json!({
            "symbol": self.symbol,
            "orderId": self.id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "price": px(self.price),
            "origQty": qty(self.orig),
            "executedQty": qty(self.executed),
            "cummulativeQuoteQty": qty(Qty::from_raw(self.cum_quote)),
            "status": self.status.as_str(),
            "timeInForce": self.tif.as_str(),
            "type": self.kind.as_str(),
            "side": self.side.as_str(),
            "stopPrice": px(Price::ZERO),
            "icebergQty": qty(Qty::ZERO),
            "time": self.time,
            "updateTime": self.update,
            "isWorking": true,
            "workingTime": self.time,
            "origQuoteOrderQty": qty(Qty::ZERO),
            "selfTradePreventionMode": "NONE"
        })
    }

    /// The cancel response; `cancel_id` names the cancel itself.
    pub fn canceled(&self, cancel_id: &str, transact: i64) -> Value {
        json!({
            "symbol": self.symbol,
            "origClientOrderId": self.client_id,
            "orderId": self.id,
            "orderListId": -1,
            "clientOrderId": cancel_id,
            "transactTime": transact,
            "price": px(self.price),
            "origQty": qty(self.orig),
            "executedQty": qty(self.executed),
            "origQuoteOrderQty": qty(Qty::ZERO),
            "cummulativeQuoteQty": qty(Qty::from_raw(self.cum_quote)),
            "status": self.status.as_str(),
            "timeInForce": self.tif.as_str(),
            "type": self.kind.as_str(),
            "side": self.side.as_str(),
            "selfTradePreventionMode": "NONE"
        })
    }
}

/// What an executionReport says beyond the order's state.
#[derive(Clone, Debug)]
pub struct Report<'a> {
    /// Execution type (`x`): NEW, TRADE, CANCELED, EXPIRED.
    pub exec: &'a str,
    /// Event time.
    pub now: i64,
    /// Execution id (`I`).
    pub exec_id: u64,
    /// The fill of a TRADE event and whether the order was the maker.
    pub fill: Option<(&'a Fill, bool)>,
    /// On CANCELED: the cancel request's client id (`c`); the order's own id goes in `C`.
    pub cancel_id: Option<&'a str>,
    /// Whether the order rests on the book after this event (`w`).
    pub working: bool,
}

impl Order {
    /// The executionReport payload (field order and JSON types of the fixtures).
    pub fn report(&self, r: &Report<'_>) -> Value {
        let (c, orig) = match r.cancel_id {
            Some(id) => (id.to_owned(), self.client_id.clone()),
            None => (self.client_id.clone(), String::new()),
        };
        let (l, lp, n, na, t, m, y) = match r.fill {
            Some((f, maker)) => (
                qty(f.qty),
                px(f.price),
                Value::from(qty(Qty::ZERO)),
                Value::from(f.commission_asset.clone()),
                i64::try_from(f.trade_id).unwrap_or(-1),
                maker,
                crate::num::quote(f.qty, f.price).map_or_else(|| qty(Qty::ZERO), |v| qty(Qty::from_raw(v))),
            ),
            None => {
                (qty(Qty::ZERO), px(Price::ZERO), Value::from("0"), Value::Null, -1, false, qty(Qty::ZERO))
            }
        };
        json!({
            "e": "executionReport",
            "E": r.now,
            "s": self.symbol,
            "c": c,
            "S": self.side.as_str(),
            "o": self.kind.as_str(),
            "f": self.tif.as_str(),
            "q": qty(self.orig),
            "p": px(self.price),
            "P": px(Price::ZERO),
            "F": qty(Qty::ZERO),
            "g": -1,
            "C": orig,
            "x": r.exec,
            "X": self.status.as_str(),
            "r": "NONE",
            "i": self.id,
            "l": l,
            "z": qty(self.executed),
            "L": lp,
            "n": n,
            "N": na,
            "T": r.now,
            "t": t,
            "I": r.exec_id,
            "w": r.working,
            "m": m,
            "M": r.fill.is_some(),
            "O": self.time,
            "Z": qty(Qty::from_raw(self.cum_quote)),
            "Y": y,
            "Q": qty(Qty::ZERO),
            "W": self.time,
            "V": "NONE"
        })
    }
}
