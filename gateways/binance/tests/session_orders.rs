//! Orders through a running session against a loopback Binance: signed requests (the server
//! recomputes the HMAC), executionReport fixtures to engine reports, refusals to `Rejected`, the
//! cancel-too-late path, and amends refused.

mod session_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kestrel_engine::engine::RequestKind;
use kestrel_engine::order::Status;
use kestrel_gw_binance::session::BinanceVenue;
use kestrel_types::{OrderId, Price, Qty, Timestamp};
use session_support::*;

const BTC: &str = r#"[{"symbol":"BTCUSDT","instrument":0}]"#;

struct Setup {
    run: Running,
    rest: RestServer,
    user: WsServer,
    _market: WsServer,
    script: Arc<Mutex<Script>>,
}

fn setup(script: Script) -> Setup {
    let script = Arc::new(Mutex::new(script));
    let rest = order_server(Arc::clone(&script));
    let market = WsServer::start(|_, _, _| {});
    let user = ws_api_server();
    let venue = BinanceVenue::new(config(rest.port, market.port, user.port, BTC), &secrets()).unwrap();
    let mut run = Running::start(venue);
    run.wait("the user subscription", || user.accepted() == 1 && !user.received.lock().unwrap().is_empty());
    Setup { run, rest, user, _market: market, script }
}

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn q(s: &str) -> Qty {
    s.parse().unwrap()
}

#[test]
fn orders_are_signed_and_execution_reports_become_exec_records() {
    let mut s = setup(Script { new_order: (200, result_new("NEW", "0.00000000")), ..Script::default() });
    assert_eq!(s.user.received.lock().unwrap()[0], "userDataStream.subscribe.signature:true", "HMAC checked");
    s.run.requests.push(buy(7, RequestKind::New)).unwrap();
    s.run.until("the acknowledgement", |ev| !execs(ev).is_empty());
    let posts = s.rest.seen("POST", "/api/v3/order");
    assert_eq!(
        posts.len(),
        1,
        "{:?} {:?} {:#?}",
        execs(&s.run.got),
        s.rest.requests.lock().unwrap(),
        s.run.diagnostics()
    );
    let post = &posts[0];
    assert!(post.signed_ok(), "signature over the exact query: {post:?}");
    for (k, v) in [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("newClientOrderId", "kst-7"),
        ("newOrderRespType", "RESULT"),
        ("recvWindow", "5000"),
    ] {
        assert_eq!(post.param(k).as_deref(), Some(v), "{k}");
    }
    assert_eq!(q(&post.param("quantity").unwrap()), q("0.00029"));
    assert_eq!(p(&post.param("price").unwrap()), p("52436.85"));
    assert!(post.body.is_empty(), "query placement by default");

    // The stream's NEW, the fill, and the same fill again.
    let new = report_fixture("user_executionReport_NEW.json", "kst-7");
    let trade = report_fixture("user_executionReport_TRADE_FILLED.json", "kst-7");
    s.user.send(&user_event(0, &new));
    s.user.send(&user_event(0, &trade));
    s.user.send(&user_event(0, &trade));
    s.run.until("the fill", |ev| execs(ev).len() >= 3);
    s.run.settle(Duration::from_millis(150));
    let zero = (Qty::ZERO, Price::ZERO, 0);
    assert_eq!(
        execs(&s.run.got),
        [
            (7, code(Status::Accepted), zero.0, zero.1, zero.2),
            (7, code(Status::Accepted), zero.0, zero.1, zero.2),
            // Commission in BTC: kept out of the quote-currency fee.
            (7, code(Status::Completed), q("0.000286"), p("52436.85"), 0),
        ]
    );
    let fill = s.run.got.iter().rfind(|e| matches!(e.payload, kestrel_types::Payload::Exec(_))).unwrap();
    assert_eq!(fill.ts_event, Timestamp::from_nanos(1_616_633_041_555 * 1_000_000), "transaction time");
    let gw = s.run.stop();
    assert_eq!(gw.venue().open_orders(), 0, "the filled order is done");
    assert_eq!(gw.venue().stats().duplicates, 1);
}

#[test]
fn refusals_before_and_by_binance_become_rejected_reports() {
    let mut s = setup(Script {
        new_order: (400, fixture("rest_error_-2010_insufficient_balance.json")),
        ..Script::default()
    });
    s.run.requests.push(buy(8, RequestKind::New)).unwrap();
    // Below LOT_SIZE's minQty 0.00001: refused before sending.
    let mut tiny = buy(9, RequestKind::New);
    tiny.request.size = q("0.000001");
    s.run.requests.push(tiny).unwrap();
    // An instrument the config does not name.
    let mut stray = buy(10, RequestKind::New);
    stray.request.instrument = kestrel_types::InstrumentId(5);
    s.run.requests.push(stray).unwrap();
    s.run.until("three rejections", |ev| execs(ev).len() >= 3);
    s.run.settle(Duration::from_millis(100));
    let mut got = execs(&s.run.got);
    got.sort_by_key(|e| e.0);
    let rejected = |o| (o, code(Status::Rejected), Qty::ZERO, Price::ZERO, 0);
    assert_eq!(got, [rejected(8), rejected(9), rejected(10)]);
    assert_eq!(s.rest.seen("POST", "/api/v3/order").len(), 1, "only order 8 was sent");
    let gw = s.run.stop();
    let reasons: Vec<(OrderId, String)> = gw.venue().recent_rejections().cloned().collect();
    let reason = |o| reasons.iter().find(|(id, _)| *id == OrderId(o)).map(|(_, r)| r.as_str()).unwrap();
    assert!(reason(8).contains("-2010") && reason(8).contains("insufficient balance"), "{reasons:?}");
    assert!(reason(9).contains("LOT_SIZE"), "{reasons:?}");
    assert!(reason(10).contains("not a configured symbol"), "{reasons:?}");
}

#[test]
fn cancels_answer_the_engine_canceled_or_too_late() {
    let mut s = setup(Script {
        new_order: (200, result_new("NEW", "0.00000000")),
        cancel: (200, fixture("rest_order_cancel.json").replace("daa3Lntyw5phO7yGkmkUzn", "{cid}")),
        ..Script::default()
    });
    s.run.requests.push(buy(11, RequestKind::New)).unwrap();
    s.run.until("the acknowledgement", |ev| execs(ev).len() == 1);
    s.run.requests.push(buy(11, RequestKind::Cancel)).unwrap();
    s.run.until("the cancel", |ev| execs(ev).len() == 2);
    let deletes = s.rest.seen("DELETE", "/api/v3/order");
    assert!(deletes[0].signed_ok());
    assert_eq!(deletes[0].param("origClientOrderId").as_deref(), Some("kst-11"));
    assert_eq!(execs(&s.run.got)[1], (11, code(Status::Canceled), Qty::ZERO, Price::ZERO, 0));

    // Order 12 filled before its cancel arrived: -2011, then the query finds the fill.
    {
        let mut script = s.script.lock().unwrap();
        script.cancel = (400, r#"{"code":-2011,"msg":"Unknown order sent."}"#.to_owned());
        script.query = (200, queried("FILLED", "0.00028600"));
        script.trades = (200, the_fill());
    }
    s.run.requests.push(buy(12, RequestKind::New)).unwrap();
    s.run.until("the acknowledgement", |ev| execs(ev).len() == 3);
    s.run.requests.push(buy(12, RequestKind::Cancel)).unwrap();
    s.run.until("too late, then the fill", |ev| execs(ev).len() == 5);
    s.run.settle(Duration::from_millis(100));
    let got = execs(&s.run.got);
    // `Completed` without quantity is the engine's cancel-too-late answer.
    assert_eq!(got[3], (12, code(Status::Completed), Qty::ZERO, Price::ZERO, 0));
    assert_eq!(got[4], (12, code(Status::Partial), q("0.000286"), p("52436.85"), 14_996_940));
    assert_eq!(got.len(), 5, "the filled order needs no further state");
    let queries = s.rest.seen("GET", "/api/v3/order");
    assert_eq!(queries[0].param("origClientOrderId").as_deref(), Some("kst-12"));
    assert!(queries[0].signed_ok());
    let trades = s.rest.seen("GET", "/api/v3/myTrades");
    assert!(trades[0].signed_ok());
    assert_eq!(trades[0].param("orderId").as_deref(), Some("5341783271"));
    assert_eq!(s.run.stop().venue().open_orders(), 0);
}

#[test]
fn amends_are_refused_without_sending() {
    let mut s = setup(Script { new_order: (200, result_new("NEW", "0.00000000")), ..Script::default() });
    s.run.requests.push(buy(13, RequestKind::New)).unwrap();
    s.run.until("the acknowledgement", |ev| execs(ev).len() == 1);
    s.run.requests.push(buy(13, RequestKind::Amend)).unwrap();
    let diags = Arc::clone(&s.run.diagnostics);
    s.run.wait("the refusal", || diags.lock().unwrap().iter().any(|d| d.contains("Amend of order")));
    s.run.settle(Duration::from_millis(100));
    assert_eq!(execs(&s.run.got).len(), 1, "no report: the engine has none for a live amend");
    assert_eq!(s.rest.requests.lock().unwrap().iter().filter(|r| r.path == "/api/v3/order").count(), 1);
    let d = s.run.diagnostics().join("\n");
    assert!(d.contains("not supported") && d.contains("cancel and place"), "{d}");
}

#[test]
fn a_cancel_of_an_order_that_already_filled_is_answered_too_late_without_a_request() {
    let mut s = setup(Script { new_order: (200, result_new("NEW", "0.00000000")), ..Script::default() });
    s.run.requests.push(buy(14, RequestKind::New)).unwrap();
    s.run.until("the acknowledgement", |ev| execs(ev).len() == 1);
    s.user.send(&user_event(0, &report_fixture("user_executionReport_TRADE_FILLED.json", "kst-14")));
    s.run.until("the fill", |ev| execs(ev).len() == 2);
    s.run.requests.push(buy(14, RequestKind::Cancel)).unwrap();
    s.run.until("the answer", |ev| execs(ev).len() == 3);
    assert_eq!(execs(&s.run.got)[2], (14, code(Status::Completed), Qty::ZERO, Price::ZERO, 0));
    assert!(s.rest.seen("DELETE", "/api/v3/order").is_empty(), "nothing left to cancel");
}
