//! WebSocket sessions on the same port: market/user streams (`/ws`, `/ws/<stream>`, `/stream`,
//! `/stream?streams=a/b`) and the WebSocket API (`/ws-api/v3`).
//!
//! One thread per connection: it reads with a short timeout, answers requests, forwards what the
//! hub queued for it, and pings the client periodically.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use crate::api::{Failure, Shared, now_ms};
use crate::auth;
use crate::error::ApiError;
use crate::hub::Outbound;
use crate::params::{self, Params};
use crate::probe::Probe;

/// Which kind of session a path opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Streams; `combined` wraps frames as `{"stream","data"}`; the initial streams.
    Streams {
        /// `/stream` (true) or `/ws` (false).
        combined: bool,
        /// Streams named in the URL.
        initial: Vec<String>,
    },
    /// The WebSocket API.
    Api,
}

/// The session a request path opens, or `None` for an unknown path.
pub fn kind_of(path: &str, query: &str) -> Option<Kind> {
    if path == "/ws-api/v3" {
        return Some(Kind::Api);
    }
    if path == "/ws" || path == "/ws/" {
        return Some(Kind::Streams { combined: false, initial: Vec::new() });
    }
    if let Some(rest) = path.strip_prefix("/ws/") {
        return Some(Kind::Streams {
            combined: false,
            initial: rest.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        });
    }
    if path == "/stream" || path == "/stream/" {
        let initial = params::parse_form(query)
            .into_iter()
            .find(|(k, _)| k == "streams")
            .map(|(_, v)| v.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        return Some(Kind::Streams { combined: true, initial });
    }
    None
}

/// Session settings.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    /// Interval between server pings.
    pub ping_every: Duration,
}

/// Per-connection WebSocket API state.
#[derive(Debug, Default)]
struct ApiSession {
    logged_on: bool,
    connected: i64,
}

/// Runs one WebSocket session until the client leaves, the fault drops it, or `stop` is set.
pub fn run<S: Read + Write>(
    shared: &Shared,
    mut ws: WebSocket<S>,
    kind: &Kind,
    conn_id: u64,
    cfg: SessionConfig,
    stop: &AtomicBool,
) {
    let (tx, rx) = mpsc::channel();
    let combined = matches!(kind, Kind::Streams { combined: true, .. });
    shared.hub.register(conn_id, tx, combined);
    if let Kind::Streams { initial, .. } = kind {
        shared.hub.set_streams(conn_id, initial, true);
    }
    let mut api = ApiSession { logged_on: false, connected: now_ms() };
    let mut last_ping = Instant::now();
    let mut ping_n: u64 = 0;
    loop {
        if stop.load(Ordering::Relaxed) {
            let _ = ws.close(None);
            let _ = ws.flush();
            break;
        }
        match ws.read() {
            Ok(Message::Text(t)) => {
                if matches!(kind, Kind::Api) {
                    // Probe hook: the instant an `order.place` is read.
                    shared.probe.ws_api_request(t.as_str());
                }
                let reply = match kind {
                    Kind::Api => api_request(shared, &mut api, conn_id, t.as_str()),
                    Kind::Streams { .. } => Some(stream_request(shared, conn_id, t.as_str())),
                };
                // `None`: the drop fault, close without answering.
                let Some(r) = reply else { break };
                if ws.send(Message::text(r)).is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if crate::http::is_timeout(&e) => {}
            Err(_) => break,
        }
        if !forward(&mut ws, &rx, &shared.probe) {
            break;
        }
        if last_ping.elapsed() >= cfg.ping_every {
            last_ping = Instant::now();
            ping_n += 1;
            if ws.send(Message::Ping(format!("{ping_n}").into_bytes().into())).is_err() {
                break;
            }
        }
    }
    shared.hub.unregister(conn_id);
}

/// Sends what the hub queued; false when the connection must end. A probe tick is written on its
/// own and stamped just before the write that hands it to the kernel.
fn forward<S: Read + Write>(ws: &mut WebSocket<S>, rx: &Receiver<Outbound>, probe: &Probe) -> bool {
    let mut wrote = false;
    while let Ok(out) = rx.try_recv() {
        match out {
            Outbound::Text(t) => {
                if ws.write(Message::text(t)).is_err() {
                    return false;
                }
                wrote = true;
            }
            Outbound::Tick { text, seq } => {
                if ws.write(Message::text(text)).is_err() {
                    return false;
                }
                probe.tick_sent(seq, Instant::now());
                if ws.flush().is_err() {
                    return false;
                }
                wrote = false;
            }
        }
    }
    !wrote || ws.flush().is_ok()
}

/// SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY on a stream session.
fn stream_request(shared: &Shared, conn_id: u64, text: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return json!({"error": {"code": 3, "msg": "Invalid JSON: expected value"}, "id": null}).to_string();
    };
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    let names: Vec<String> = v
        .get("params")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    match v.get("method").and_then(Value::as_str) {
        Some("SUBSCRIBE") => {
            shared.hub.set_streams(conn_id, &names, true);
            json!({"result": null, "id": id})
        }
        Some("UNSUBSCRIBE") => {
            shared.hub.set_streams(conn_id, &names, false);
            json!({"result": null, "id": id})
        }
        Some("LIST_SUBSCRIPTIONS") => json!({"result": shared.hub.streams(conn_id), "id": id}),
        Some("SET_PROPERTY") => json!({"result": null, "id": id}),
        Some("GET_PROPERTY") => json!({"result": false, "id": id}),
        _ => json!({"error": {"code": 1, "msg": "Invalid request: unknown method"}, "id": id}),
    }
    .to_string()
}

/// The WebSocket API's `params` as decoded text pairs (strings as is, numbers by their text).
fn api_params(v: &Value) -> Params {
    let pairs = v
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    Params::from_pairs(pairs)
}

fn rate_limits(count: u64) -> Value {
    json!([{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": count}])
}

/// Answers one WebSocket API request; `None` means drop the connection (fault).
fn api_request(shared: &Shared, session: &mut ApiSession, conn_id: u64, text: &str) -> Option<String> {
    let count = shared.weigh(1);
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        let e = ApiError::bad(-1100, "Illegal characters found in a parameter.");
        return Some(
            json!({"id": null, "status": 400, "error": e.body(), "rateLimits": rate_limits(count)})
                .to_string(),
        );
    };
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    let method = v.get("method").and_then(Value::as_str).unwrap_or("");
    let p = api_params(v.get("params").unwrap_or(&Value::Null));
    let result = match shared.rate_limited() {
        Some(e) => Err(Failure::Api(e)),
        None => api_method(shared, session, conn_id, method, &p),
    };
    let reply = match result {
        Ok(r) => json!({"id": id, "status": 200, "result": r, "rateLimits": rate_limits(count)}),
        Err(Failure::Api(e)) => {
            let mut r =
                json!({"id": id, "status": e.status, "error": e.body(), "rateLimits": rate_limits(count)});
            if let (Some(secs), Some(o)) = (e.retry_after, r.as_object_mut()) {
                o.insert("retryAfter".into(), json!(now_ms() + i64::try_from(secs).unwrap_or(0) * 1000));
            }
            r
        }
        Err(Failure::Drop) => return None,
    };
    Some(reply.to_string())
}

/// Signed-request check of the WebSocket API: a logged-on session needs nothing more; otherwise
/// `apiKey`, `timestamp` and `signature` (hex HMAC, or base64 Ed25519) over the sorted params.
fn api_auth(shared: &Shared, session: &ApiSession, p: &Params) -> Result<(), ApiError> {
    if session.logged_on && p.get("signature").is_none() {
        return Ok(());
    }
    shared.creds.check_key(Some(p.require("apiKey")?))?;
    p.require("timestamp")?;
    let sig = p.require("signature")?;
    let payload = params::ws_payload(p);
    if sig.len() == 64 && sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        shared.creds.check_hmac(&payload, sig)?;
    } else {
        shared.creds.check_ed25519(&payload, sig)?;
    }
    auth::check_timestamp(now_ms(), p.get("timestamp"), p.get("recvWindow"))
}

fn api_method(
    shared: &Shared,
    session: &mut ApiSession,
    conn_id: u64,
    method: &str,
    p: &Params,
) -> Result<Value, Failure> {
    match method {
        "ping" => return Ok(json!({})),
        "time" => return Ok(json!({"serverTime": now_ms()})),
        "exchangeInfo" => return Ok(shared.exchange_info(p)?),
        "depth" => return Ok(shared.depth(p)?),
        "ticker.book" => return Ok(shared.ticker(p, true)?),
        "ticker.24hr" => return Ok(shared.ticker(p, false)?),
        "session.logon" => {
            let sig = p.require("signature")?;
            shared.creds.check_key(Some(p.require("apiKey")?))?;
            p.require("timestamp")?;
            shared.creds.check_ed25519(&params::ws_payload(p), sig)?;
            auth::check_timestamp(now_ms(), p.get("timestamp"), p.get("recvWindow"))?;
            session.logged_on = true;
            return Ok(session_status(session, p.get("apiKey")));
        }
        "session.status" => return Ok(session_status(session, None)),
        "session.logout" => {
            session.logged_on = false;
            return Ok(session_status(session, None));
        }
        "userDataStream.subscribe" => {
            if !session.logged_on {
                return Err(ApiError {
                    status: 401,
                    code: -2015,
                    msg: "Invalid API-key, IP, or permissions for action.".into(),
                    retry_after: None,
                }
                .into());
            }
            return Ok(subscribe(shared, conn_id));
        }
        "userDataStream.unsubscribe" => {
            let sub = p.int("subscriptionId")?.map(|s| s.max(0) as u64);
            let ok = match sub {
                Some(s) => shared.hub.remove_user_sub(conn_id, s),
                None => false,
            };
            if !ok {
                return Err(ApiError::bad(-2016, "Subscription not found.").into());
            }
            return Ok(json!({}));
        }
        _ => {}
    }
    api_auth(shared, session, p)?;
    match method {
        "userDataStream.subscribe.signature" => Ok(subscribe(shared, conn_id)),
        "order.place" => shared.new_order(p, false),
        "order.test" => shared.new_order(p, true),
        "order.status" => Ok(shared.query_order(p)?),
        "order.cancel" => Ok(shared.cancel_order(p)?),
        "openOrders.status" => Ok(shared.open_orders(p)?),
        "openOrders.cancelAll" => Ok(shared.cancel_all(p)?),
        "account.status" => Ok(shared.account()),
        _ => Err(ApiError::bad(-1100, format!("Unknown method '{method}'.")).into()),
    }
}

fn subscribe(shared: &Shared, conn_id: u64) -> Value {
    let sub = shared.venue().next_subscription();
    shared.hub.add_user_sub(conn_id, sub);
    json!({"subscriptionId": sub})
}

fn session_status(s: &ApiSession, key: Option<&str>) -> Value {
    json!({
        "apiKey": if s.logged_on { key.map_or(Value::Null, Value::from) } else { Value::Null },
        "authorizedSince": if s.logged_on { Value::from(now_ms()) } else { Value::Null },
        "connectedSince": s.connected,
        "returnRateLimits": true,
        "serverTime": now_ms(),
        "userDataStream": false
    })
}
