//! Market data through a running session: real stream frames (fixtures) become engine events, the
//! depth diff stream plus the REST snapshot become a synced book, and a malformed frame closes and
//! reconnects the market connection without stopping the data.

mod session_support;

use kestrel_gw_binance::session::BinanceVenue;
use kestrel_types::{Aggressor, BookSide, Event, InstrumentId, Payload, Timestamp};
use session_support::*;

fn exchange_info_or_depth(req: &Req) -> String {
    match req.path.as_str() {
        "/api/v3/exchangeInfo" => http(200, &fixture("rest_exchangeInfo_BTCUSDT.json")),
        "/api/v3/depth" if req.param("symbol").as_deref() == Some("NKNUSDT") => {
            http(200, &fixture("rest_depth_snapshot_NKNUSDT_limit1000.json"))
        }
        _ => http(400, r#"{"code":-1121,"msg":"Invalid symbol."}"#),
    }
}

const SYMBOLS: &str = r#"[{"symbol":"BTCUSDT","instrument":0},{"symbol":"NKNUSDT","instrument":1},
    {"symbol":"BNBBTC","instrument":2}]"#;

fn start() -> (Running, WsServer, RestServer, WsServer) {
    let rest = RestServer::start(exchange_info_or_depth);
    let market = WsServer::start(|_, _, _| {});
    let user = ws_api_server();
    let venue = BinanceVenue::new(config(rest.port, market.port, user.port, SYMBOLS), &secrets()).unwrap();
    let run = Running::start(venue);
    (run, market, rest, user)
}

fn ms(n: i64) -> Timestamp {
    Timestamp::from_nanos(n * 1_000_000)
}

#[test]
fn trades_and_book_tickers_become_engine_events() {
    let (mut run, market, _rest, _user) = start();
    run.wait("market connection", || market.accepted() == 1);
    // The current trade payload (DIGEST §9), as the combined stream wraps it.
    let trade = fixture("ws_trade_doc_current.json");
    market.send(&format!(r#"{{"stream":"bnbbtc@trade","data":{trade}}}"#));
    market.send(&fixture("ws_bookTicker.json"));
    run.until("a trade and a quote", |ev| ev.len() >= 2);
    let Event { ts_event, ts_recv, instrument, payload: Payload::Trade(t) } = run.got[0] else {
        panic!("{:?}", run.got[0])
    };
    assert_eq!((instrument, ts_event), (InstrumentId(2), ms(1_672_515_782_136)));
    assert!(ts_recv > ts_event, "receive time is the gateway's clock");
    assert_eq!((t.price, t.size, t.trade_id), ("0.001".parse().unwrap(), "100".parse().unwrap(), 12345));
    assert_eq!(t.aggressor, Aggressor::Sell, "m = true: the buyer was the maker");
    let Payload::Quote(q) = run.got[1].payload else { panic!("{:?}", run.got[1]) };
    assert_eq!(run.got[1].instrument, InstrumentId(1));
    assert_eq!((q.bid, q.ask), ("0.3521".parse().unwrap(), "0.3526".parse().unwrap()));
    assert_eq!((q.bid_size, q.ask_size), ("672".parse().unwrap(), "3199".parse().unwrap()));
    assert_eq!(run.got[1].ts_event, run.got[1].ts_recv, "bookTicker has no event time");
}

#[test]
fn the_depth_stream_and_the_rest_snapshot_sync_the_book() {
    let (mut run, market, rest, _user) = start();
    run.wait("market connection", || market.accepted() == 1);
    let text = fixture("ws_depthUpdate_NKNUSDT_sequence.txt");
    let frames: Vec<&str> = text.lines().skip(1).filter_map(|l| l.split_once(": ").map(|(_, f)| f)).collect();
    let diffs: Vec<serde_json::Value> = frames
        .iter()
        .map(|f| serde_json::from_str::<serde_json::Value>(f).unwrap())
        .filter(|v| v["stream"] == "nknusdt@depth@100ms")
        .map(|v| v["data"].clone())
        .collect();
    // Every frame, other symbols' and book tickers included, in the captured order.
    for f in &frames {
        market.send(f);
    }
    let after_snapshot: usize = diffs
        .iter()
        .filter(|d| d["u"].as_u64().unwrap() > 499_869_752)
        .map(|d| d["b"].as_array().unwrap().len() + d["a"].as_array().unwrap().len())
        .sum();
    let book = |ev: &[Event]| {
        ev.iter()
            .filter(|e| e.instrument == InstrumentId(1) && !matches!(e.payload, Payload::Quote(_)))
            .copied()
            .collect::<Vec<_>>()
    };
    run.until("the synced book", |ev| book(ev).len() >= 2 + 1609 + after_snapshot);
    run.settle(std::time::Duration::from_millis(100));
    let book = book(&run.got);
    assert_eq!(book.len(), 2 + 1609 + after_snapshot, "nothing more, no BookClear");
    assert_eq!(book[0].payload, Payload::SnapshotBegin);
    assert_eq!(book[1610].payload, Payload::SnapshotEnd);
    let Payload::Level(best_bid) = book[1].payload else { panic!() };
    assert_eq!((best_bid.side, best_bid.price), (BookSide::Bid, "0.3521".parse().unwrap()));
    let Payload::Level(first_ask) = book[610].payload else { panic!() };
    assert_eq!(first_ask.side, BookSide::Ask);
    // The first diff after the snapshot is 499869753-754 (DIGEST §10's real check).
    let first = diffs.iter().find(|d| d["U"] == 499_869_753_u64).unwrap();
    let Payload::Level(l) = book[1611].payload else { panic!("{:?}", book[1611]) };
    let want = &first["b"].as_array().unwrap().first().or(first["a"].as_array().unwrap().first()).unwrap();
    assert_eq!(l.price, want[0].as_str().unwrap().parse().unwrap());
    // Diffs applied live carry their event time; those buffered until the snapshot carry its
    // receive time: never later than when they were received.
    let times: Vec<Timestamp> =
        diffs.iter().map(|d| ms(i64::try_from(d["E"].as_u64().unwrap()).unwrap())).collect();
    assert!(
        book[1611..].iter().all(
            |e| e.ts_event <= e.ts_recv && (times.contains(&e.ts_event) || e.ts_event == book[0].ts_recv)
        )
    );
    let snapshots = rest.seen("GET", "/api/v3/depth");
    assert_eq!(snapshots.len(), 1, "one snapshot was enough");
    assert_eq!(snapshots[0].param("limit").as_deref(), Some("1000"));
}

#[test]
fn a_malformed_frame_reconnects_the_market_stream() {
    let (mut run, market, _rest, _user) = start();
    run.wait("market connection", || market.accepted() == 1);
    market.send(r#"{"stream":"bnbbtc@trade","data":{"e":"trade","E":1,"s":"BNBBTC","t":1,"p":"1e-3","q":"1","T":1,"m":true}}"#);
    run.wait("the reconnect", || market.accepted() == 2);
    let trade = fixture("ws_trade_doc_current.json");
    market.send(&format!(r#"{{"stream":"bnbbtc@trade","data":{trade}}}"#));
    run.until("the trade after the reconnect", |ev| {
        ev.iter().any(|e| matches!(e.payload, Payload::Trade(_)))
    });
    let trades = run.got.iter().filter(|e| matches!(e.payload, Payload::Trade(_))).count();
    assert_eq!(trades, 1, "the malformed frame gave nothing");
    let diags = run.diagnostics().join("\n");
    assert!(diags.contains("malformed venue message input"), "{diags}");
    assert!(diags.contains("field `p`"), "the error names the field: {diags}");
    assert!(!diags.contains("connection 2 to user"), "the user connection stayed up: {diags}");
}
