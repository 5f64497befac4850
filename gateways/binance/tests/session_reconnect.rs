//! Fills exactly once across a lost user data stream: the order fills while the stream is down
//! (or after Binance ended the subscription); on the new subscription the session queries the
//! order, fetches its trades and reports the fill once, and the stream replaying the same fill
//! adds nothing.

mod session_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kestrel_engine::engine::RequestKind;
use kestrel_engine::order::Status;
use kestrel_gw_binance::session::BinanceVenue;
use kestrel_types::{Price, Qty};
use session_support::*;

const BTC: &str = r#"[{"symbol":"BTCUSDT","instrument":0}]"#;

fn fills(run: &Running) -> Vec<(u64, u8, Qty, Price, i64)> {
    execs(&run.got).into_iter().filter(|e| !e.2.is_zero()).collect()
}

fn start(script: &Arc<Mutex<Script>>) -> (Running, RestServer, WsServer, WsServer) {
    let rest = order_server(Arc::clone(script));
    let market = WsServer::start(|_, _, _| {});
    let user = ws_api_server();
    let venue = BinanceVenue::new(config(rest.port, market.port, user.port, BTC), &secrets()).unwrap();
    let mut run = Running::start(venue);
    run.wait("the user subscription", || user.accepted() == 1 && !user.received.lock().unwrap().is_empty());
    (run, rest, user, market)
}

fn open_order_7(run: &mut Running, user: &WsServer) {
    run.requests.push(buy(7, RequestKind::New)).unwrap();
    run.until("the acknowledgement", |ev| !execs(ev).is_empty());
    user.send(&user_event(0, &report_fixture("user_executionReport_NEW.json", "kst-7")));
    run.until("the stream's NEW", |ev| execs(ev).len() == 2);
}

#[test]
fn a_fill_during_a_dropped_user_stream_is_reported_exactly_once() {
    let script = Arc::new(Mutex::new(Script {
        new_order: (200, result_new("NEW", "0.00000000")),
        query: (200, queried("NEW", "0.00000000")),
        trades: (200, "[]".to_owned()),
        ..Script::default()
    }));
    let (mut run, rest, user, _market) = start(&script);
    open_order_7(&mut run, &user);
    // The order fills while the connection is down.
    {
        let mut s = script.lock().unwrap();
        s.query = (200, queried("FILLED", "0.00028600"));
        s.trades = (200, the_fill());
    }
    user.tx.send(Ws::Drop).unwrap();
    run.until("the backfilled fill", |ev| execs(ev).iter().any(|e| !e.2.is_zero()));
    // The new subscription replays the fill; the old subscription's frames are not ours.
    let trade = report_fixture("user_executionReport_TRADE_FILLED.json", "kst-7");
    user.send(&user_event(1, &trade));
    user.send(&user_event(0, &trade));
    run.settle(Duration::from_millis(200));
    assert_eq!(
        fills(&run),
        [(7, code(Status::Partial), "0.000286".parse().unwrap(), "52436.85".parse().unwrap(), 14_996_940)]
    );
    assert_eq!(user.accepted(), 2);
    assert_eq!(user.received.lock().unwrap()[..2], ["userDataStream.subscribe.signature:true"; 2]);
    let queries = rest.seen("GET", "/api/v3/order");
    assert!(queries.iter().all(Req::signed_ok));
    assert!(queries.iter().all(|q| q.param("origClientOrderId").as_deref() == Some("kst-7")));
    let trades = rest.seen("GET", "/api/v3/myTrades");
    assert_eq!(trades.len(), 1);
    assert!(trades[0].signed_ok());
    let gw = run.stop();
    let stats = gw.venue().stats();
    assert_eq!((stats.subscribes, stats.backfilled, stats.duplicates), (2, 1, 1));
    assert_eq!(gw.venue().open_orders(), 0, "the order ended with its fill");
}

#[test]
fn a_terminated_subscription_is_renewed_and_the_open_order_reconciled() {
    let script = Arc::new(Mutex::new(Script {
        new_order: (200, result_new("NEW", "0.00000000")),
        query: (200, queried("CANCELED", "0.00028600")),
        trades: (200, the_fill()),
        ..Script::default()
    }));
    let (mut run, _rest, user, _market) = start(&script);
    open_order_7(&mut run, &user);
    // Binance ends the subscription (e.g. after a logout); the connection stays.
    user.send(&user_event(0, &serde_json::json!({"e":"eventStreamTerminated","E":1_728_973_001_334_u64})));
    run.wait("the new subscription request", || user.received.lock().unwrap().len() == 2);
    let request: serde_json::Value = serde_json::from_str(&user.received.lock().unwrap()[1]).unwrap();
    assert_eq!(request["method"], "userDataStream.subscribe.signature");
    user.send(&format!(
        r#"{{"id":{},"status":200,"result":{{"subscriptionId":7}},"rateLimits":[]}}"#,
        request["id"]
    ));
    // It partly filled and was canceled meanwhile: the fill first, then the cancel.
    run.until("the fill and the cancel", |ev| execs(ev).len() >= 4);
    run.settle(Duration::from_millis(100));
    let got = execs(&run.got);
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[2].2, "0.000286".parse().unwrap());
    assert_eq!(got[3], (7, code(Status::Canceled), Qty::ZERO, Price::ZERO, 0));
    assert_eq!(user.accepted(), 1, "the same connection");
    assert_eq!(run.stop().venue().open_orders(), 0);
}

#[test]
fn only_the_fills_missed_during_the_gap_are_backfilled() {
    let script = Arc::new(Mutex::new(Script {
        new_order: (200, result_new("NEW", "0.00000000")),
        query: (200, queried("NEW", "0.00000000")),
        trades: (200, "[]".to_owned()),
        ..Script::default()
    }));
    let (mut run, _rest, user, _market) = start(&script);
    open_order_7(&mut run, &user);
    // First fill on the stream: 0.0001 of 0.00029 (trade 100).
    let mut partial = report_fixture("user_executionReport_TRADE_FILLED.json", "kst-7");
    partial["X"] = "PARTIALLY_FILLED".into();
    partial["q"] = "0.00029000".into();
    partial["l"] = "0.00010000".into();
    partial["z"] = "0.00010000".into();
    partial["t"] = 100.into();
    user.send(&user_event(0, &partial));
    run.until("the first fill", |ev| execs(ev).iter().any(|e| !e.2.is_zero()));
    // The rest fills while the stream is down (trade 101); myTrades lists both.
    let trade = |id: u64, qty: &str| {
        format!(
            r#"{{"symbol":"BTCUSDT","id":{id},"orderId":5341783271,"orderListId":-1,"price":"52436.85000000","qty":"{qty}","quoteQty":"0","commission":"0","commissionAsset":"BNB","time":1616633041555,"isBuyer":true,"isMaker":true,"isBestMatch":true}}"#
        )
    };
    {
        let mut s = script.lock().unwrap();
        s.query = (200, queried("FILLED", "0.00029000"));
        s.trades = (200, format!("[{},{}]", trade(100, "0.00010000"), trade(101, "0.00019000")));
    }
    user.tx.send(Ws::Drop).unwrap();
    run.until("the second fill", |ev| execs(ev).iter().filter(|e| !e.2.is_zero()).count() == 2);
    run.settle(Duration::from_millis(200));
    let got: Vec<Qty> = fills(&run).iter().map(|f| f.2).collect();
    assert_eq!(
        got,
        ["0.0001".parse().unwrap(), "0.00019".parse().unwrap()],
        "trade 100 is not reported twice"
    );
    let total = got.iter().fold(Qty::ZERO, |a, q| a.checked_add(*q).unwrap());
    assert_eq!(total, buy(7, RequestKind::New).request.size, "the position converges to the order's size");
    let gw = run.stop();
    assert_eq!((gw.venue().stats().backfilled, gw.venue().stats().duplicates), (1, 1));
    assert_eq!(gw.venue().open_orders(), 0);
}
