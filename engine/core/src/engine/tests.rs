//! The engine per event: market state, each rule of the L1 fill model, capacity, unknown instruments.

use kestrel_types::{
    Aggressor, Bar, BookSide, Event, InstrumentId, LevelUpdate, OrderId, Payload, Price, Qty, Quote,
    Timestamp, Trade,
};

use super::*;
use crate::order::{Side, Status};

const I0: InstrumentId = InstrumentId(0);
const I1: InstrumentId = InstrumentId(1);

fn p(units: i64) -> Price {
    Price::from_raw(units * Price::SCALE)
}

fn q(units: i64) -> Qty {
    Qty::from_raw(units * Qty::SCALE)
}

fn ev(ts: i64, instrument: InstrumentId, payload: Payload) -> Event {
    Event { ts_event: Timestamp::from_nanos(ts), ts_recv: Timestamp::from_nanos(ts + 1), instrument, payload }
}

fn trade(ts: i64, ins: InstrumentId, price: i64, size: i64) -> Event {
    ev(
        ts,
        ins,
        Payload::Trade(Trade { price: p(price), size: q(size), aggressor: Aggressor::Unknown, trade_id: 0 }),
    )
}

fn quote(ts: i64, ins: InstrumentId, bid: i64, bid_size: i64, ask: i64, ask_size: i64) -> Event {
    ev(
        ts,
        ins,
        Payload::Quote(Quote { bid: p(bid), bid_size: q(bid_size), ask: p(ask), ask_size: q(ask_size) }),
    )
}

/// What the strategy was told, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Event(Event),
    Fill(TickFill),
}

/// Records every callback; optionally places a buy at 100 on the first event it sees.
#[derive(Debug, Default)]
struct Recorder {
    seen: Vec<Seen>,
    place_on_first_event: bool,
}

impl TickStrategy for Recorder {
    fn on_event(&mut self, ctx: &mut TickContext<'_>, ev: &Event) {
        if self.place_on_first_event && self.seen.is_empty() {
            ctx.place_limit(ev.instrument, Side::Buy, q(1), p(100)).unwrap();
        }
        self.seen.push(Seen::Event(*ev));
    }

    fn on_fill(&mut self, _ctx: &mut TickContext<'_>, fill: &TickFill) {
        self.seen.push(Seen::Fill(*fill));
    }
}

impl Recorder {
    fn fills(&self) -> Vec<TickFill> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Fill(f) => Some(*f),
                Seen::Event(_) => None,
            })
            .collect()
    }
}

fn engine(instruments: usize, resting: usize) -> Engine<Recorder> {
    Engine::try_new(EngineConfig { instruments, resting_per_instrument: resting }, Recorder::default())
        .unwrap()
}

fn place(e: &mut Engine<Recorder>, side: Side, size: i64, limit: i64) -> OrderId {
    e.context().place_limit(I0, side, q(size), p(limit)).unwrap()
}

/// (order, qty, price, remaining, status) of each fill so far.
fn fills(e: &Engine<Recorder>) -> Vec<(OrderId, Qty, Price, Qty, Status)> {
    e.strategy().fills().iter().map(|f| (f.order, f.qty, f.price, f.remaining, f.status)).collect()
}

#[test]
fn market_state_follows_trades_quotes_bars_and_clears() {
    let mut e = engine(2, 4);
    e.on_event(&trade(10, I0, 101, 3));
    e.on_event(&quote(20, I0, 100, 5, 102, 7));
    let bar = Bar {
        ts: Timestamp::from_nanos(30),
        open: p(1),
        high: p(3),
        low: p(1),
        close: p(2),
        volume: q(9),
        open_interest: Qty::ZERO,
    };
    e.on_event(&ev(30, I0, Payload::Bar(bar)));
    e.on_event(&ev(40, I0, Payload::Level(LevelUpdate { side: BookSide::Bid, price: p(99), size: q(1) })));
    let m = *e.market(I0).unwrap();
    assert_eq!(m.last_trade, Some(LastTrade { price: p(101), size: q(3), ts: Timestamp::from_nanos(10) }));
    assert_eq!(m.best_bid(), Some((p(100), q(5))));
    assert_eq!(m.best_ask(), Some((p(102), q(7))));
    assert_eq!(m.best.unwrap().ts, Timestamp::from_nanos(20));
    assert_eq!(m.last_bar, Some(bar));
    assert_eq!(
        m.counters,
        MarketCounters { trades: 1, quotes: 1, bars: 1, levels: 1, ..MarketCounters::default() }
    );
    // The other instrument saw nothing.
    assert_eq!(*e.market(I1).unwrap(), MarketState::default());

    e.on_event(&ev(50, I0, Payload::BookClear));
    let m = e.market(I0).unwrap();
    assert_eq!(m.best, None, "a book clear resets the best bid and ask");
    assert_eq!(m.last_trade.unwrap().price, p(101), "but not the last trade");
    assert_eq!(m.counters.clears, 1);
    assert_eq!(e.counters().events, 5);
    assert_eq!(e.now(), Timestamp::from_nanos(51), "the engine's time is the last ts_recv");
    assert_eq!(e.strategy().seen.len(), 5, "the strategy saw every event");

    // A one-sided quote: the empty side is not a best price.
    e.on_event(&quote(60, I0, 100, 5, 0, 0));
    assert_eq!(e.market(I0).unwrap().best_ask(), None);
}

#[test]
fn an_unknown_instrument_is_counted_and_skipped() {
    let mut e = engine(1, 4);
    e.on_event(&trade(10, InstrumentId(7), 100, 1));
    e.on_event(&trade(11, InstrumentId(u16::MAX), 100, 1));
    e.on_event(&trade(12, I0, 100, 1));
    let c = e.counters();
    assert_eq!((c.events, c.unknown_instrument), (3, 2));
    assert_eq!(e.strategy().seen.len(), 1, "the strategy never sees a skipped event");
    assert_eq!(e.now(), Timestamp::from_nanos(13));
    assert_eq!(e.market(InstrumentId(7)), None);
}

#[test]
fn a_buy_fills_at_its_limit_when_the_ask_crosses_it() {
    let mut e = engine(1, 4);
    let id = place(&mut e, Side::Buy, 2, 100);
    e.on_event(&quote(1, I0, 99, 5, 101, 5));
    assert!(fills(&e).is_empty(), "ask above the limit: no fill");
    e.on_event(&quote(2, I0, 99, 5, 100, 1));
    // Ask at the limit crosses; one lot shown, one lot filled, at the limit.
    assert_eq!(fills(&e), [(id, q(1), p(100), q(1), Status::Partial)]);
    assert_eq!(e.resting(I0)[0].filled, q(1));
    assert_eq!(e.resting(I0)[0].status(), Status::Partial);
    e.on_event(&quote(3, I0, 97, 5, 98, 9));
    // Ask below the limit: fills the rest at the limit (no price improvement in version 1).
    assert_eq!(fills(&e)[1], (id, q(1), p(100), q(0), Status::Completed));
    assert!(e.resting(I0).is_empty(), "a completed order leaves the resting set");
    assert_eq!(e.counters().fills, 2);
}

#[test]
fn a_buy_fills_on_a_trade_strictly_below_its_limit() {
    let mut e = engine(1, 4);
    let id = place(&mut e, Side::Buy, 5, 100);
    e.on_event(&trade(1, I0, 100, 10));
    assert!(fills(&e).is_empty(), "a trade at the limit does not fill");
    e.on_event(&trade(2, I0, 101, 10));
    assert!(fills(&e).is_empty(), "a trade above a buy limit does not fill");
    e.on_event(&trade(3, I0, 99, 3));
    assert_eq!(fills(&e), [(id, q(3), p(100), q(2), Status::Partial)], "capped by the trade's size");
    e.on_event(&trade(4, I0, 98, 10));
    assert_eq!(fills(&e)[1], (id, q(2), p(100), q(0), Status::Completed));
}

#[test]
fn a_sell_fills_at_its_limit_when_the_bid_crosses_it() {
    let mut e = engine(1, 4);
    let id = place(&mut e, Side::Sell, 3, 100);
    e.on_event(&quote(1, I0, 99, 5, 101, 5));
    assert!(fills(&e).is_empty(), "bid below the limit: no fill");
    e.on_event(&quote(2, I0, 100, 2, 101, 5));
    assert_eq!(fills(&e), [(id, q(2), p(100), q(1), Status::Partial)], "capped by the bid's size");
    e.on_event(&quote(3, I0, 102, 9, 103, 5));
    assert_eq!(fills(&e)[1], (id, q(1), p(100), q(0), Status::Completed));
}

#[test]
fn a_sell_fills_on_a_trade_strictly_above_its_limit() {
    let mut e = engine(1, 4);
    let id = place(&mut e, Side::Sell, 1, 100);
    e.on_event(&trade(1, I0, 100, 10));
    e.on_event(&trade(2, I0, 99, 10));
    assert!(fills(&e).is_empty(), "at or below a sell limit: no fill");
    e.on_event(&trade(3, I0, 101, 10));
    assert_eq!(fills(&e), [(id, q(1), p(100), q(0), Status::Completed)]);
}

#[test]
fn a_quote_fills_each_side_from_its_own_size_and_a_trade_from_one_pool() {
    let mut e = engine(1, 8);
    let b1 = place(&mut e, Side::Buy, 2, 100);
    let b2 = place(&mut e, Side::Buy, 2, 101);
    let s1 = place(&mut e, Side::Sell, 2, 90);
    // Ask 100 (size 3) crosses both buys; bid 95 (size 1) crosses the sell.
    e.on_event(&quote(1, I0, 95, 1, 100, 3));
    assert_eq!(
        fills(&e),
        [
            (b1, q(2), p(100), q(0), Status::Completed),
            (b2, q(1), p(101), q(1), Status::Partial),
            (s1, q(1), p(90), q(1), Status::Partial),
        ],
        "placement order, never more than the size shown on each side"
    );
    // A trade at 95 (size 1) is below b2's limit and above s1's: one lot for both together.
    e.on_event(&trade(2, I0, 95, 1));
    assert_eq!(fills(&e)[3..], [(b2, q(1), p(101), q(0), Status::Completed)]);
    assert_eq!(e.resting(I0).len(), 1);
    assert_eq!(e.resting(I0)[0].id, s1);
    // Zero or negative sizes fill nothing.
    e.on_event(&quote(3, I0, 200, 0, 201, 0));
    e.on_event(&trade(4, I0, 200, -5));
    assert_eq!(fills(&e).len(), 4);
}

#[test]
fn fills_reach_the_strategy_before_the_event_and_orders_fill_from_the_next_event_on() {
    let mut e =
        Engine::try_new(EngineConfig::new(1), Recorder { place_on_first_event: true, ..Recorder::default() })
            .unwrap();
    // The strategy places a buy at 100 while seeing this crossing quote: it must not fill from it.
    let first = quote(1, I0, 90, 5, 95, 5);
    e.on_event(&first);
    assert_eq!(e.resting(I0).len(), 1);
    assert_eq!(e.counters().fills, 0);
    let second = quote(2, I0, 90, 5, 95, 5);
    e.on_event(&second);
    let seen = &e.strategy().seen;
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0], Seen::Event(first));
    let Seen::Fill(f) = seen[1] else { panic!("the fill comes before the event: {seen:?}") };
    assert_eq!((f.qty, f.price, f.ts), (q(1), p(100), Timestamp::from_nanos(3)));
    assert_eq!(e.resting(I0).len(), 0);
    assert_eq!(seen[2], Seen::Event(second));
}

#[test]
fn other_events_and_other_instruments_fill_nothing() {
    let mut e = engine(2, 4);
    place(&mut e, Side::Buy, 1, 100);
    e.on_event(&quote(1, I1, 10, 5, 11, 5));
    e.on_event(&trade(2, I1, 10, 5));
    e.on_event(&ev(3, I0, Payload::BookClear));
    let low = Bar {
        ts: Timestamp::from_nanos(4),
        open: p(50),
        high: p(50),
        low: p(50),
        close: p(50),
        volume: q(100),
        open_interest: Qty::ZERO,
    };
    e.on_event(&ev(4, I0, Payload::Bar(low)));
    assert_eq!(e.counters().fills, 0);
    assert_eq!(e.resting(I0).len(), 1);
}

#[test]
fn a_full_instrument_refuses_the_next_order_and_counts_it() {
    let mut e = engine(2, 2);
    place(&mut e, Side::Buy, 1, 100);
    place(&mut e, Side::Sell, 1, 110);
    let mut ctx = e.context();
    assert_eq!(
        ctx.place_limit(I0, Side::Buy, q(1), p(99)),
        Err(PlaceError::Capacity { instrument: I0, capacity: 2 })
    );
    // The other instrument has its own room.
    assert!(ctx.place_limit(I1, Side::Buy, q(1), p(99)).is_ok());
    assert_eq!(
        ctx.place_limit(InstrumentId(2), Side::Buy, q(1), p(99)),
        Err(PlaceError::UnknownInstrument { instrument: InstrumentId(2), count: 2 })
    );
    assert_eq!(
        ctx.place_limit(I1, Side::Buy, Qty::ZERO, p(99)),
        Err(PlaceError::SizeNotPositive { size: Qty::ZERO })
    );
    assert_eq!(e.counters().refused, 3);
    assert_eq!(e.resting(I0).len(), 2);
    // A fill frees room.
    e.on_event(&quote(1, I0, 90, 5, 95, 5));
    assert_eq!(e.resting(I0).len(), 1);
    assert!(e.context().place_limit(I0, Side::Buy, q(1), p(99)).is_ok());
}

#[test]
fn cancel_removes_an_order_and_keeps_the_others_in_placement_order() {
    let mut e = engine(1, 4);
    let a = place(&mut e, Side::Buy, 1, 100);
    let b = place(&mut e, Side::Buy, 1, 101);
    let c = place(&mut e, Side::Buy, 1, 102);
    assert_eq!((a, b, c), (OrderId(1), OrderId(2), OrderId(3)), "ids are dense, in placement order");
    let removed = e.context().cancel(I0, b).unwrap();
    assert_eq!(removed.limit, p(101));
    let ids: Vec<_> = e.resting(I0).iter().map(|o| o.id).collect();
    assert_eq!(ids, [a, c]);
    assert_eq!(e.context().cancel(I0, b), Err(CancelError::NotResting { instrument: I0, order: b }));
    assert_eq!(
        e.context().cancel(InstrumentId(9), a),
        Err(CancelError::NotResting { instrument: InstrumentId(9), order: a })
    );
}

#[test]
fn configurations_beyond_the_limits_are_refused() {
    let too_many = EngineConfig { instruments: EngineConfig::MAX_INSTRUMENTS + 1, resting_per_instrument: 1 };
    assert!(matches!(Engine::try_new(too_many, NoopStrategy), Err(ConfigError::TooManyInstruments { .. })));
    let too_deep = EngineConfig { instruments: 1, resting_per_instrument: 1025 };
    assert!(matches!(Engine::try_new(too_deep, NoopStrategy), Err(ConfigError::TooManyResting { .. })));
    // An engine with no instruments is legal: everything is unknown.
    let mut e = Engine::try_new(EngineConfig::new(0), NoopStrategy).unwrap();
    e.on_event(&trade(1, I0, 1, 1));
    assert_eq!(e.counters().unknown_instrument, 1);
}
