//! Faults around orders: an order whose answer never came (the REST answer timeout reconnects)
//! or did not decode is queried, never lost; a 429 rejects the order and pauses requests for `Retry-After`; a malformed user data
//! frame reconnects that connection, which subscribes again and reconciles.

mod session_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kestrel_engine::engine::RequestKind;
use kestrel_engine::order::Status;
use kestrel_gw_binance::session::{BinanceConfig, BinanceVenue};
use kestrel_types::{OrderId, Price, Qty};
use session_support::*;

const BTC: &str = r#"[{"symbol":"BTCUSDT","instrument":0}]"#;

fn start(script: Script) -> (Running, RestServer, WsServer, WsServer, Arc<Mutex<Script>>) {
    let script = Arc::new(Mutex::new(script));
    let rest = order_server(Arc::clone(&script));
    let market = WsServer::start(|_, _, _| {});
    let user = ws_api_server();
    // A short answer timeout, for the test whose server never answers.
    let config =
        BinanceConfig { rest_timeout_ms: Some(800), ..config(rest.port, market.port, user.port, BTC) };
    let venue = BinanceVenue::new(config, &secrets()).unwrap();
    let mut run = Running::start(venue);
    run.wait("the user subscription", || user.accepted() == 1 && !user.received.lock().unwrap().is_empty());
    (run, rest, user, market, script)
}

fn state(order: u64, status: Status) -> (u64, u8, Qty, Price, i64) {
    (order, code(status), Qty::ZERO, Price::ZERO, 0)
}

#[test]
fn an_order_whose_connection_dropped_after_sending_is_queried_not_lost() {
    let (mut run, rest, _user, _market, script) = start(Script {
        new_order: (0, String::new()),
        query: (200, queried("NEW", "0.00000000")),
        ..Script::default()
    });
    run.requests.push(buy(20, RequestKind::New)).unwrap();
    run.until("the order's state from the query", |ev| !execs(ev).is_empty());
    assert_eq!(execs(&run.got), [state(20, Status::Accepted)]);
    let d = run.diagnostics().join("\n");
    assert!(d.contains("connection 0") && d.contains("TimedOut"), "the answer timed out: {d}");
    assert_eq!(rest.seen("GET", "/api/v3/order")[0].param("origClientOrderId").as_deref(), Some("kst-20"));

    // The same, but Binance never got it (-2013): rejected.
    {
        let mut s = script.lock().unwrap();
        s.query = (400, r#"{"code":-2013,"msg":"Order does not exist."}"#.to_owned());
    }
    run.requests.push(buy(21, RequestKind::New)).unwrap();
    run.until("the rejection", |ev| execs(ev).len() == 2);
    assert_eq!(execs(&run.got)[1], state(21, Status::Rejected));
    let gw = run.stop();
    assert_eq!(gw.venue().open_orders(), 1, "order 20 works on");
    assert!(gw.venue().recent_rejections().any(|(o, r)| *o == OrderId(21) && r.contains("-2013")));
}

#[test]
fn a_malformed_order_answer_reconnects_rest_and_queries_the_order() {
    let (mut run, rest, _user, _market, _script) = start(Script {
        new_order: (200, r#"{"symbol":"BTCUSDT","orderId":"#.to_owned()),
        query: (200, queried("PARTIALLY_FILLED", "0.00000000")),
        ..Script::default()
    });
    run.requests.push(buy(22, RequestKind::New)).unwrap();
    run.until("the order's state from the query", |ev| !execs(ev).is_empty());
    assert_eq!(execs(&run.got), [state(22, Status::Accepted)]);
    let d = run.diagnostics().join("\n");
    assert!(d.contains("connection 0") && d.contains("malformed venue message input"), "{d}");
    assert_eq!(
        rest.seen("GET", "/api/v3/exchangeInfo").len(),
        1,
        "exchangeInfo is kept across the reconnect"
    );
}

#[test]
fn a_429_rejects_the_order_and_pauses_requests_for_retry_after() {
    let (mut run, rest, _user, _market, script) = start(Script {
        new_order: (429, r#"{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE."}"#.to_owned()),
        ..Script::default()
    });
    run.requests.push(buy(23, RequestKind::New)).unwrap();
    run.until("the rejection", |ev| !execs(ev).is_empty());
    assert_eq!(execs(&run.got), [state(23, Status::Rejected)]);
    script.lock().unwrap().new_order = (200, result_new("NEW", "0.00000000"));
    run.requests.push(buy(24, RequestKind::New)).unwrap();
    run.until("the next order, after the pause", |ev| execs(ev).len() == 2);
    assert_eq!(execs(&run.got)[1], state(24, Status::Accepted));
    let posts = rest.seen("POST", "/api/v3/order");
    assert_eq!(posts.len(), 2);
    let held = posts[1].at.duration_since(posts[0].at);
    assert!(held >= Duration::from_millis(950), "held for Retry-After (1 s): {held:?}");
    let gw = run.stop();
    assert!(gw.venue().recent_rejections().any(|(_, r)| r.contains("HTTP 429") && r.contains("-1003")));
}

#[test]
fn a_malformed_user_frame_reconnects_subscribes_and_reconciles() {
    let (mut run, rest, user, _market, _script) = start(Script {
        new_order: (200, result_new("NEW", "0.00000000")),
        query: (200, queried("NEW", "0.00000000")),
        ..Script::default()
    });
    run.requests.push(buy(25, RequestKind::New)).unwrap();
    run.until("the acknowledgement", |ev| !execs(ev).is_empty());
    // An executionReport whose fill price is not an exact decimal.
    let mut bad = report_fixture("user_executionReport_TRADE_FILLED.json", "kst-25");
    bad["L"] = "5.2e4".into();
    user.send(&user_event(0, &bad));
    run.wait("the new user connection", || user.accepted() == 2);
    run.until("the reconciliation", |ev| execs(ev).len() == 2);
    assert_eq!(execs(&run.got), [state(25, Status::Accepted), state(25, Status::Accepted)]);
    assert_eq!(rest.seen("GET", "/api/v3/order").len(), 1);
    let d = run.diagnostics().join("\n");
    assert!(d.contains("connection 2") && d.contains("field `L`"), "{d}");
    let gw = run.stop();
    assert_eq!(gw.venue().stats().subscribes, 2);
}
