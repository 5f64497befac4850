//! executionReports from the fixtures, mapped to engine records and fed to a real engine with a
//! live (external) venue: each fill is booked once, statuses follow Binance's, nothing is counted as
//! an unknown report.

mod common;

use common::fixture;
use kestrel_engine::engine::{
    Engine, EngineConfig, OrderKind, OrderUpdate, TickContext, TickOrder, TickStrategy, TimeInForce,
    VenueMode,
};
use kestrel_engine::order::Status;
use kestrel_gw_binance::codec::{decode_order_response, decode_user};
use kestrel_gw_binance::msg::{ExecutionReport, OrderResponse, UserEvent};
use kestrel_gw_binance::orders::{ClientIds, map_order};
use kestrel_gw_binance::user::{Fee, Outcome, UserError, UserMapper, status_code};
use kestrel_types::{Event, InlineStr, InstrumentId, Money, OrderId, Payload, Price, Qty, Quote, Timestamp};

const I0: InstrumentId = InstrumentId(0);

fn q(s: &str) -> Qty {
    s.parse().unwrap()
}
fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn ids() -> ClientIds {
    ClientIds::new("kst").unwrap()
}

/// Keeps every order update the engine gives the strategy (finished orders leave the engine).
#[derive(Default)]
struct Updates(Vec<TickOrder>);

impl TickStrategy for Updates {
    fn on_order(&mut self, _ctx: &mut TickContext<'_>, update: &OrderUpdate) {
        self.0.push(update.order);
    }
}

/// The order as the engine last reported it.
fn last(e: &Engine<Updates>, id: OrderId) -> TickOrder {
    *e.strategy().0.iter().rev().find(|o| o.id == id).unwrap()
}

fn engine() -> Engine<Updates> {
    let config = EngineConfig {
        venue: VenueMode::External,
        cash: Money::try_from_units(1_000_000).unwrap(),
        ..EngineConfig::new(1)
    };
    let mut e = Engine::try_new(config, Updates::default()).unwrap();
    e.start();
    let quote = Quote { bid: p("0.0065"), bid_size: q("1000"), ask: p("0.0066"), ask_size: q("1000") };
    e.on_event(&ev(1, Payload::Quote(quote)));
    e
}

fn ev(ms: i64, payload: Payload) -> Event {
    let t = Timestamp::from_nanos(ms * 1_000_000);
    Event { ts_event: t, ts_recv: t, instrument: I0, payload }
}

/// The fixture's frame with Binance's client id replaced by the one Kestrel sent.
fn ours(name: &str, theirs: &str, order: OrderId) -> String {
    fixture(name).replace(theirs, ids().encode(order).as_str())
}

fn report(text: &str) -> ExecutionReport<'_> {
    let UserEvent::Execution(r) = decode_user(text).unwrap().event else { panic!("not an executionReport") };
    *r
}

fn feed(e: &mut Engine<Updates>, mapper: &mut UserMapper, text: &str, ms: i64) -> Outcome {
    let out = mapper.on_execution(&report(text), "USDT").unwrap();
    if let Outcome::Report(r) = &out {
        e.on_event(&ev(ms, Payload::Exec(r.record)));
    }
    out
}

#[test]
fn market_sell_in_two_fills_is_booked_once_even_when_a_fill_is_replayed() {
    let mut e = engine();
    let id = e.context().sell(I0, q("800"), OrderKind::Market).unwrap();
    let mut sent = Vec::new();
    e.drain_requests(|r| {
        sent.push(*r);
        true
    });
    assert_eq!(sent.len(), 1);
    assert_eq!(map_order(&sent[0].request).unwrap().order_type.as_str(), "MARKET");
    let mut mapper = UserMapper::new(ids(), 64);
    let theirs = "ovBwCdYvGKctMzMnkEYt2s";
    let new = ours("user_executionReport_MARKET_1_NEW.json", theirs, id);
    let part = ours("user_executionReport_MARKET_2_TRADE_PARTIALLY_FILLED.json", theirs, id);
    let done = ours("user_executionReport_MARKET_3_TRADE_FILLED.json", theirs, id);

    let Outcome::Report(a) = feed(&mut e, &mut mapper, &new, 2) else { panic!() };
    assert_eq!(
        (a.record.status, a.record.qty, a.record.exec),
        (status_code(Status::Accepted), Qty::ZERO, 2_623_837_276)
    );
    assert_eq!(last(&e, id).status, Status::Accepted);

    let Outcome::Report(f1) = feed(&mut e, &mut mapper, &part, 3) else { panic!() };
    assert_eq!(
        (f1.record.status, f1.record.qty, f1.record.price),
        (status_code(Status::Partial), q("-765"), p("0.00655"))
    );
    // Commission in BNB: not converted, kept aside; the record's fee is 0.
    assert_eq!(f1.record.fee, 0);
    assert_eq!(
        f1.fee,
        Fee::Other { asset: InlineStr::try_new("asset", "BNB").unwrap(), amount: q("0.00000603") }
    );
    assert_eq!(
        (f1.trade_id, f1.venue_time),
        (Some(65_044_223), Timestamp::from_nanos(1_772_459_280_089 * 1_000_000))
    );

    // The partial fill again (a reconnect replay): dropped before the engine sees it.
    assert_eq!(feed(&mut e, &mut mapper, &part, 4), Outcome::Duplicate { trade_id: 65_044_223 });

    let Outcome::Report(f2) = feed(&mut e, &mut mapper, &done, 5) else { panic!() };
    assert_eq!((f2.record.status, f2.record.qty), (status_code(Status::Completed), q("-35")));

    let order = last(&e, id);
    assert_eq!((order.status, order.filled), (Status::Completed, q("800")));
    assert_eq!(e.ledger().position(I0).size(), q("-800"));
    assert_eq!(e.ledger().fees(), Money::ZERO);
    // 765 × 0.00655 + 35 × 0.00654 = 5.23965 USDT received (the executionReport's Z).
    assert_eq!(e.ledger().cash(), "1000005.23965".parse().unwrap());
    assert_eq!(e.counters().unknown_reports, 0);
}

#[test]
fn fok_that_cannot_fill_is_accepted_then_expired() {
    let mut e = engine();
    let kind = OrderKind::Limit { limit: p("0.013") };
    let id = e.context().submit(kestrel_engine::engine::OrderRequest {
        tif: TimeInForce::Fok,
        ..kestrel_engine::engine::OrderRequest::new(I0, kestrel_engine::order::Side::Buy, q("384.6"), kind)
    });
    let id = id.unwrap();
    let theirs = "web_cb55efd1634c4a4689a5f67f99c15906";
    let mut mapper = UserMapper::new(ids(), 8);
    let new = ours("user_executionReport_EXPIRED_preceding_NEW.json", theirs, id);
    let expired = ours("user_executionReport_EXPIRED.json", theirs, id);
    assert!(
        matches!(feed(&mut e, &mut mapper, &new, 2), Outcome::Report(r) if r.record.status == status_code(Status::Accepted))
    );
    assert!(
        matches!(feed(&mut e, &mut mapper, &expired, 3), Outcome::Report(r) if r.record.status == status_code(Status::Expired))
    );
    // The record says Expired; the engine's `on_exec` ends an expired order as canceled.
    assert_eq!(last(&e, id).status, Status::Canceled);
    assert_eq!(e.counters().unknown_reports, 0);
}

#[test]
fn a_cancel_names_the_order_by_its_original_client_id() {
    let mut e = engine();
    let id = e.context().buy(I0, q("0.01"), OrderKind::Limit { limit: p("9000") }).unwrap();
    let mut mapper = UserMapper::new(ids(), 8);
    // `c` is the cancel request's id (not ours to decode), `C` the order's.
    let text = ours("user_executionReport_CANCELED.json", "daa3Lntyw5phO7yGkmkUzn", id);
    let Outcome::Report(r) = feed(&mut e, &mut mapper, &text, 2) else { panic!() };
    assert_eq!((r.order, r.record.status), (id, status_code(Status::Canceled)));
    assert_eq!(last(&e, id).status, Status::Canceled);
    // Orders another client placed are not ours to report.
    assert_eq!(
        mapper.on_execution(&report(&fixture("user_executionReport_NEW.json")), "USDT"),
        Ok(Outcome::Foreign)
    );
}

#[test]
fn a_stop_triggering_sends_no_second_acceptance() {
    let mut e = engine();
    let kind = OrderKind::StopLimit { stop: p("52000"), limit: p("52789.1") };
    let id = e.context().buy(I0, q("0.000284"), kind).unwrap();
    let mut mapper = UserMapper::new(ids(), 8);
    // The NEW capture as Binance sends it for an untriggered stop (w false), then on trigger (w true).
    let base = ours("user_executionReport_NEW.json", "c4wyKsIhoAaittTYlIVLqk", id)
        .replace(r#""o":"LIMIT""#, r#""o":"STOP_LOSS_LIMIT""#);
    let resting = base.replace(r#""w":true"#, r#""w":false"#);
    assert!(
        matches!(feed(&mut e, &mut mapper, &resting, 2), Outcome::Report(r) if r.record.status == status_code(Status::Accepted))
    );
    assert_eq!(feed(&mut e, &mut mapper, &base, 3), Outcome::Triggered { order: id });
    assert_eq!(last(&e, id).status, Status::Accepted);
    assert_eq!(e.counters().unknown_reports, 0);
}

#[test]
fn a_quote_asset_commission_is_the_records_fee_in_nano_units() {
    let mut mapper = UserMapper::new(ids(), 8);
    let text = ours(
        "user_executionReport_MARKET_2_TRADE_PARTIALLY_FILLED.json",
        "ovBwCdYvGKctMzMnkEYt2s",
        OrderId(9),
    )
    .replace(r#""N": "BNB""#, r#""N": "USDT""#);
    let Outcome::Report(r) = mapper.on_execution(&report(&text), "USDT").unwrap() else { panic!() };
    assert_eq!((r.fee, r.record.fee), (Fee::Quote, 6_030));
}

#[test]
fn full_answer_fills_and_stream_fills_share_one_dedupe_window() {
    let mut mapper = UserMapper::new(ids(), 8);
    let text = fixture("rest_order_new_FULL_market_filled.json");
    let OrderResponse::Result(r) = decode_order_response(&text).unwrap() else { panic!() };
    let fills = mapper.on_order_fills(OrderId(3), &r, "USDT").unwrap();
    assert_eq!(fills.len(), 1);
    let f = fills[0];
    assert_eq!(
        (f.record.status, f.record.qty, f.record.price, f.record.exec),
        (status_code(Status::Completed), q("600"), p("0.00962"), 63_821_721)
    );
    // Commission in the base asset (ACH): kept aside.
    assert!(matches!(f.fee, Fee::Other { amount, .. } if amount == q("0.6")));
    assert!(mapper.on_order_fills(OrderId(3), &r, "USDT").unwrap().is_empty());
    assert!(!mapper.dedupe_mut().insert("ACHUSDT", 63_821_721).unwrap());
    assert!(mapper.dedupe_mut().insert("BTCUSDT", 63_821_721).unwrap(), "trade ids are per symbol");
}

#[test]
fn inconsistent_reports_are_typed_errors() {
    let mut mapper = UserMapper::new(ids(), 8);
    let base = ours("user_executionReport_MARKET_3_TRADE_FILLED.json", "ovBwCdYvGKctMzMnkEYt2s", OrderId(5));
    let no_id = base.replace(r#""t": 65044224"#, r#""t": -1"#);
    assert_eq!(
        mapper.on_execution(&report(&no_id), "USDT"),
        Err(UserError::NoTradeId { exec_id: 2_623_837_279, trade_id: -1 })
    );
    let empty = base.replace(r#""l": "35.00000000""#, r#""l": "0.00000000""#);
    assert_eq!(
        mapper.on_execution(&report(&empty), "USDT"),
        Err(UserError::EmptyFill { exec_id: 2_623_837_279 })
    );
    let no_asset = base.replace(r#""N": "BNB""#, r#""N": null"#);
    assert_eq!(
        mapper.on_execution(&report(&no_asset), "USDT"),
        Err(UserError::FeeWithoutAsset { amount: q("0.00000027") })
    );
}

#[test]
fn the_dedupe_window_is_bounded() {
    let mut mapper = UserMapper::new(ids(), 2);
    let d = mapper.dedupe_mut();
    assert!(d.insert("BTCUSDT", 1).unwrap());
    assert!(d.insert("BTCUSDT", 2).unwrap());
    assert!(!d.insert("BTCUSDT", 1).unwrap());
    assert!(d.insert("BTCUSDT", 3).unwrap()); // evicts 1
    assert!(d.insert("BTCUSDT", 1).unwrap(), "beyond the window a trade id is new again");
    assert!(d.insert(&"X".repeat(33), 1).is_err());
}
