//! The endpoints' logic, shared by REST and the WebSocket API: parameters in, a Binance JSON
//! answer (or refusal) out. Authentication is the caller's (REST headers vs. WebSocket params).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::auth::Credentials;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::hub::Hub;
use crate::market;
use crate::num;
use crate::order::{OrdType, Side, Tif};
use crate::params::Params;
use crate::venue::{NewOrder, Venue};

/// Why a request gets no normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A Binance refusal.
    Api(ApiError),
    /// Fault injection: close the connection without answering.
    Drop,
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

/// Everything the connections share.
#[derive(Debug)]
pub struct Shared {
    /// The matcher and accounts.
    pub venue: Mutex<Venue>,
    /// The stream fan-out.
    pub hub: std::sync::Arc<Hub>,
    /// The account's keys.
    pub creds: Credentials,
    /// The measurement probe (inert unless armed: [`crate::probe`]).
    pub probe: crate::probe::Probe,
    /// Request weight used in the current minute: (minute, count).
    weight: Mutex<(i64, u64)>,
}

/// Wall-clock milliseconds (Binance judges `timestamp` against the wall clock).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Shared {
    /// Bundles the venue, hub and credentials.
    pub fn new(venue: Venue, hub: std::sync::Arc<Hub>, creds: Credentials) -> Self {
        Self {
            venue: Mutex::new(venue),
            hub,
            creds,
            probe: crate::probe::Probe::default(),
            weight: Mutex::new((0, 0)),
        }
    }

    /// The same with the measurement probe armed as `probe` says.
    #[must_use]
    pub fn with_probe(mut self, probe: Option<crate::probe::ProbeConfig>) -> Self {
        self.probe = crate::probe::Probe::new(probe);
        self
    }

    /// The venue, locked (a panicked holder leaves consistent state: each step finishes or refuses).
    pub fn venue(&self) -> MutexGuard<'_, Venue> {
        self.venue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one request's weight; returns the minute's total so far.
    pub fn weigh(&self, w: u64) -> u64 {
        let minute = now_ms() / 60_000;
        let mut g = self.weight.lock().unwrap_or_else(PoisonError::into_inner);
        if g.0 != minute {
            *g = (minute, 0);
        }
        g.1 += w;
        g.1
    }

    /// Refusal of the rate-limit fault, if armed.
    pub fn rate_limited(&self) -> Option<ApiError> {
        self.venue().faults.rate_limited(now_ms())
    }

    /// `POST /sim/fault?fault=SPEC` and `--fault SPEC`.
    ///
    /// # Errors
    /// -1100 for a specification the simulator does not know.
    pub fn arm_fault(&self, spec: &str) -> Result<Value, ApiError> {
        let f: Fault =
            spec.parse().map_err(|e: crate::error::SimError| ApiError::bad(-1100, e.to_string()))?;
        let mut v = self.venue();
        if f == Fault::ExpireUserStream {
            v.expire_user_streams(now_ms());
        } else {
            v.faults.arm(f);
        }
        Ok(json!({}))
    }

    /// `POST /sim/transfer?asset=USDT&amount=-12.5`: a deposit or (negative) withdrawal.
    ///
    /// # Errors
    /// -1102/-1100 for a missing or malformed parameter, -2010 for an overdraft.
    pub fn transfer(&self, p: &Params) -> Result<Value, ApiError> {
        let asset = p.require("asset")?;
        if asset.is_empty()
            || asset.len() > 20
            || !asset.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(ApiError::illegal("asset"));
        }
        let text = p.require("amount")?;
        let (negative, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
        let raw = num::parse_raw("amount", digits)?;
        let b = self.venue().transfer(asset, if negative { -raw } else { raw }, now_ms())?;
        Ok(
            json!({"asset": asset, "free": num::qty(kestrel_types::Qty::from_raw(b.free)), "locked": num::qty(kestrel_types::Qty::from_raw(b.locked))}),
        )
    }

    /// `exchangeInfo`: all symbols, or `symbol` / `symbols` (JSON array).
    pub fn exchange_info(&self, p: &Params) -> Result<Value, ApiError> {
        let v = self.venue();
        let wanted: Option<Vec<String>> = match (p.get("symbol"), p.get("symbols")) {
            (Some(s), _) => Some(vec![s.to_owned()]),
            (None, Some(list)) => Some(
                serde_json::from_str::<Vec<String>>(list)
                    .map_err(|_| ApiError::bad(-1100, "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'."))?,
            ),
            (None, None) => None,
        };
        let symbols: Vec<Value> = match wanted {
            None => v.specs().iter().map(|s| s.info()).collect(),
            Some(names) => {
                names.iter().map(|n| v.market(n).map(|m| v.specs()[m].info())).collect::<Result<_, _>>()?
            }
        };
        Ok(json!({
            "timezone": "UTC",
            "serverTime": now_ms(),
            "rateLimits": market::rate_limits(),
            "exchangeFilters": [],
            "symbols": symbols
        }))
    }

    /// `depth`: `symbol`, `limit` (default 100, at most 5000).
    pub fn depth(&self, p: &Params) -> Result<Value, ApiError> {
        let v = self.venue();
        let m = v.market(p.require("symbol")?)?;
        let limit = p.int("limit")?.unwrap_or(100).clamp(1, 5000);
        Ok(v.depth(m, limit as usize))
    }

    /// `ticker/24hr` and `ticker/bookTicker`: one symbol's object, or an array of all.
    pub fn ticker(&self, p: &Params, book: bool) -> Result<Value, ApiError> {
        let v = self.venue();
        let one = |m: usize| if book { v.book_ticker(m) } else { v.ticker_24hr(m, now_ms()) };
        if let Some(s) = p.get("symbol") {
            return Ok(one(v.market(s)?));
        }
        let ms: Vec<usize> = match p.get("symbols") {
            Some(list) => serde_json::from_str::<Vec<String>>(list)
                .map_err(|_| ApiError::illegal("symbols"))?
                .iter()
                .map(|n| v.market(n))
                .collect::<Result<_, _>>()?,
            None => (0..v.specs().len()).collect(),
        };
        Ok(Value::Array(ms.into_iter().map(one).collect()))
    }

    /// `order` (new): checks, matching, the response of `newOrderRespType`.
    pub fn new_order(&self, p: &Params, test: bool) -> Result<Value, Failure> {
        let symbol = p.require("symbol")?.to_owned();
        let side = Side::parse(p.require("side")?)?;
        let kind = OrdType::parse(p.require("type")?)?;
        let tif = match kind {
            OrdType::Limit => Tif::parse(p.require("timeInForce")?)?,
            _ => Tif::Gtc,
        };
        let price = match kind {
            OrdType::Market => None,
            _ => Some(num::parse_price("price", p.require("price")?)?),
        };
        let qty = num::parse_qty("quantity", p.require("quantity")?)?;
        let resp = match p.get("newOrderRespType") {
            None if kind == OrdType::LimitMaker => "ACK",
            None => "FULL",
            Some(r @ ("ACK" | "RESULT" | "FULL")) => r,
            Some(_) => return Err(ApiError::illegal("newOrderRespType").into()),
        };
        let client_id = p.get("newClientOrderId").map(str::to_owned);
        if client_id.as_ref().is_some_and(|c| {
            c.len() > 36
                || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        }) {
            return Err(ApiError::illegal("newClientOrderId").into());
        }
        let req = NewOrder { symbol, side, kind, tif, price, qty, client_id };
        let now = now_ms();
        let mut v = self.venue();
        if test {
            let m = v.market(&req.symbol)?;
            v.specs()[m].check(req.price, req.qty, v.mid(m))?;
            return Ok(json!({}));
        }
        let placed = v.place(&req, now)?;
        if v.faults.take_drop(!placed.fills.is_empty()) {
            return Err(Failure::Drop);
        }
        Ok(match resp {
            "ACK" => placed.order.ack(now),
            "RESULT" => placed.order.result(now),
            _ => placed.order.full(now, &placed.fills),
        })
    }

    /// `order` (query).
    pub fn query_order(&self, p: &Params) -> Result<Value, ApiError> {
        let v = self.venue();
        let m = v.market(p.require("symbol")?)?;
        let id = p.int("orderId")?.map(|i| i.max(0) as u64);
        v.find(m, id, p.get("origClientOrderId")).map(crate::order::Order::query)
    }

    /// `order` (cancel).
    pub fn cancel_order(&self, p: &Params) -> Result<Value, ApiError> {
        let mut v = self.venue();
        let m = v.market(p.require("symbol")?)?;
        let id = p.int("orderId")?.map(|i| i.max(0) as u64);
        let now = now_ms();
        let (o, cid) = v.cancel(m, id, p.get("origClientOrderId"), p.get("newClientOrderId"), now)?;
        Ok(o.canceled(&cid, now))
    }

    /// `myTrades`: the account's trades of one symbol (`orderId`, `fromId`, `limit` ≤ 1000).
    pub fn my_trades(&self, p: &Params) -> Result<Value, ApiError> {
        let v = self.venue();
        let m = v.market(p.require("symbol")?)?;
        let order = p.int("orderId")?.map(|i| i.max(0) as u64);
        let from = p.int("fromId")?.map(|i| i.max(0) as u64);
        let limit = p.int("limit")?.map_or(500, |l| l.clamp(1, 1000) as usize);
        Ok(Value::Array(v.my_trades(m, order, from, limit)))
    }

    /// `openOrders` (query): one symbol or all.
    pub fn open_orders(&self, p: &Params) -> Result<Value, ApiError> {
        let v = self.venue();
        let m = p.get("symbol").map(|s| v.market(s)).transpose()?;
        Ok(Value::Array(v.open_orders(m)))
    }

    /// `openOrders` (cancel all of a symbol).
    pub fn cancel_all(&self, p: &Params) -> Result<Value, ApiError> {
        let mut v = self.venue();
        let m = v.market(p.require("symbol")?)?;
        let ids: Vec<u64> = v.open_orders(Some(m)).iter().filter_map(|o| o["orderId"].as_u64()).collect();
        let now = now_ms();
        let mut out = Vec::new();
        for id in ids {
            let (o, cid) = v.cancel(m, Some(id), None, None, now)?;
            out.push(o.canceled(&cid, now));
        }
        Ok(Value::Array(out))
    }

    /// `account`.
    pub fn account(&self) -> Value {
        self.venue().account()
    }
}
