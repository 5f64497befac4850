//! REST routing: path and method to the endpoint, with Binance's security levels (NONE,
//! USER_STREAM: key header only, TRADE/USER_DATA: key header + HMAC signature + timestamp).

use serde_json::{Value, json};

use crate::api::{Failure, Shared, now_ms};
use crate::auth;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::params::{self, Params};

/// What a REST request gets: an answer, or (fault) a dropped connection.
#[derive(Debug)]
pub enum Outcome {
    /// Send this.
    Reply(Response),
    /// Close without answering.
    Drop,
}

/// Security of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Security {
    None,
    UserStream,
    Signed,
}

/// Answers one REST request.
pub fn route(shared: &Shared, req: &Request) -> Outcome {
    let body = req.form_body();
    let p = Params::from_query_and_body(&req.query, &body);
    let (security, weight) = match (req.method.as_str(), req.path.as_str()) {
        (_, "/api/v3/order" | "/api/v3/openOrders" | "/api/v3/account" | "/api/v3/order/test") => {
            (Security::Signed, 1)
        }
        (_, "/api/v3/myTrades") => (Security::Signed, 20),
        (_, "/api/v3/userDataStream") => (Security::UserStream, 2),
        (_, "/api/v3/exchangeInfo") => (Security::None, 20),
        _ => (Security::None, 1),
    };
    let used = shared.weigh(weight);
    let reply = |status: u16, body: Value, retry_after: Option<u64>| {
        Outcome::Reply(Response { status, body, retry_after, weight: used })
    };
    if req.path.starts_with("/api/")
        && let Some(e) = shared.rate_limited()
    {
        return reply(e.status, e.body(), e.retry_after);
    }
    let result = authorize(shared, req, &body, &p, security)
        .map_err(Failure::Api)
        .and_then(|()| dispatch(shared, req, &p));
    match result {
        Ok(v) => reply(200, v, None),
        Err(Failure::Api(e)) => reply(e.status, e.body(), e.retry_after),
        Err(Failure::Drop) => Outcome::Drop,
    }
}

fn authorize(
    shared: &Shared,
    req: &Request,
    body: &str,
    p: &Params,
    security: Security,
) -> Result<(), ApiError> {
    if security == Security::None {
        return Ok(());
    }
    shared.creds.check_key(req.header("x-mbx-apikey"))?;
    if security == Security::UserStream {
        return Ok(());
    }
    let (payload, sig) = params::signed_payload(&req.query, body);
    p.require("timestamp")?;
    let sig = sig.filter(|s| !s.is_empty()).ok_or_else(|| ApiError::missing("signature"))?;
    shared.creds.check_hmac(&payload, &sig)?;
    auth::check_timestamp(now_ms(), p.get("timestamp"), p.get("recvWindow"))
}

fn dispatch(shared: &Shared, req: &Request, p: &Params) -> Result<Value, Failure> {
    let unknown = || {
        Failure::Api(ApiError {
            status: 404,
            code: -1000,
            msg: "Unknown endpoint.".into(),
            retry_after: None,
        })
    };
    Ok(match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/api/v3/ping") => json!({}),
        ("GET", "/api/v3/time") => json!({"serverTime": now_ms()}),
        ("GET", "/api/v3/exchangeInfo") => shared.exchange_info(p)?,
        ("GET", "/api/v3/depth") => shared.depth(p)?,
        ("GET", "/api/v3/ticker/24hr") => shared.ticker(p, false)?,
        ("GET", "/api/v3/ticker/bookTicker") => shared.ticker(p, true)?,
        ("POST", "/api/v3/order") => shared.new_order(p, false)?,
        ("POST", "/api/v3/order/test") => shared.new_order(p, true)?,
        ("GET", "/api/v3/order") => shared.query_order(p)?,
        ("DELETE", "/api/v3/order") => shared.cancel_order(p)?,
        ("GET", "/api/v3/openOrders") => shared.open_orders(p)?,
        ("GET", "/api/v3/myTrades") => shared.my_trades(p)?,
        ("DELETE", "/api/v3/openOrders") => shared.cancel_all(p)?,
        ("GET", "/api/v3/account") => shared.account(),
        ("POST", "/api/v3/userDataStream") => json!({"listenKey": shared.venue().listen_key()}),
        ("PUT", "/api/v3/userDataStream") => {
            shared.venue().touch_listen_key(p.require("listenKey")?, false)?;
            json!({})
        }
        ("DELETE", "/api/v3/userDataStream") => {
            shared.venue().touch_listen_key(p.require("listenKey")?, true)?;
            json!({})
        }
        ("POST", "/sim/fault") => shared.arm_fault(p.require("fault")?)?,
        ("POST", "/sim/transfer") => shared.transfer(p)?,
        _ => return Err(unknown()),
    })
}
