//! The tick engine: market state, every L1 fill rule, latency in both directions, cancels in
//! flight, cash, the two ledgers, timers, refusals and capacity.

use kestrel_types::{
    Aggressor, Bar, BookSide, Event, InstrumentId, LevelUpdate, Money, OrderId, Payload, Price, Qty, Quote,
    Ratio, TimeSpan, Timestamp, Trade,
};

use super::*;
use crate::order::Status;
use crate::scheme::{CommissionParams, CommissionScheme};

const I0: InstrumentId = InstrumentId(0);

/// Prices in tenths: `p(1005)` is 100.5.
fn p(tenths: i64) -> Price {
    Price::from_raw(tenths * Price::SCALE / 10)
}

fn q(units: i64) -> Qty {
    Qty::from_raw(units * Qty::SCALE)
}

fn t(us: i64) -> Timestamp {
    Timestamp::from_nanos(us * 1_000)
}

fn ev(us: i64, payload: Payload) -> Event {
    Event { ts_event: t(us), ts_recv: t(us), instrument: I0, payload }
}

fn trade(us: i64, price: i64, size: i64) -> Event {
    ev(
        us,
        Payload::Trade(Trade { price: p(price), size: q(size), aggressor: Aggressor::Unknown, trade_id: 0 }),
    )
}

fn quote(us: i64, bid: i64, bid_size: i64, ask: i64, ask_size: i64) -> Event {
    ev(us, Payload::Quote(Quote { bid: p(bid), bid_size: q(bid_size), ask: p(ask), ask_size: q(ask_size) }))
}

/// What the strategy was told, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Event(Timestamp),
    Book(Option<Quote>),
    Fill(TickFill),
    Order(OrderUpdate),
    Timer(Timer, Timestamp),
}

/// Records every callback; on a timer with token `t`, buys `t` units at the market.
#[derive(Debug, Default)]
struct Recorder {
    seen: Vec<Seen>,
}

impl TickStrategy for Recorder {
    fn on_event(&mut self, _ctx: &mut TickContext<'_>, ev: &Event) {
        self.seen.push(Seen::Event(ev.ts_recv));
    }

    fn on_book(&mut self, _ctx: &mut TickContext<'_>, _ins: InstrumentId, top: Option<&BestQuote>) {
        self.seen.push(Seen::Book(top.map(|b| b.quote)));
    }

    fn on_fill(&mut self, _ctx: &mut TickContext<'_>, fill: &TickFill) {
        self.seen.push(Seen::Fill(*fill));
    }

    fn on_order(&mut self, _ctx: &mut TickContext<'_>, update: &OrderUpdate) {
        self.seen.push(Seen::Order(*update));
    }

    fn on_timer(&mut self, ctx: &mut TickContext<'_>, timer: &Timer) {
        self.seen.push(Seen::Timer(*timer, ctx.now()));
        if timer.token > 0 {
            ctx.buy(I0, q(i64::try_from(timer.token).unwrap()), OrderKind::Market).unwrap();
        }
    }
}

impl Recorder {
    /// (order, qty, price, liquidity, status) of each fill so far.
    fn fills(&self) -> Vec<(OrderId, Qty, Price, Liquidity, Status)> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Fill(f) => Some((f.order, f.qty, f.price, f.liquidity, f.status)),
                _ => None,
            })
            .collect()
    }

    /// (order, status, reason, time) of each order update so far.
    fn updates(&self) -> Vec<(OrderId, Status, UpdateReason, Timestamp)> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Order(u) => Some((u.order.id, u.order.status, u.reason, u.ts)),
                _ => None,
            })
            .collect()
    }
}

fn config() -> EngineConfig {
    EngineConfig { cash: Money::try_from_units(1_000_000).unwrap(), ..EngineConfig::new(1) }
}

fn engine_with(config: EngineConfig) -> Engine<Recorder> {
    let mut e = Engine::try_new(config, Recorder::default()).unwrap();
    e.start();
    e
}

fn engine() -> Engine<Recorder> {
    engine_with(config())
}

fn buy(e: &mut Engine<Recorder>, size: i64, kind: OrderKind) -> OrderId {
    e.context().buy(I0, q(size), kind).unwrap()
}

fn sell(e: &mut Engine<Recorder>, size: i64, kind: OrderKind) -> OrderId {
    e.context().sell(I0, q(size), kind).unwrap()
}

fn limit(tenths: i64) -> OrderKind {
    OrderKind::Limit { limit: p(tenths) }
}

#[test]
fn market_state_follows_trades_quotes_bars_and_clears() {
    let mut e = engine();
    e.on_event(&trade(10, 1010, 3));
    e.on_event(&quote(20, 1000, 5, 1020, 7));
    let bar = Bar {
        ts: t(30),
        open: p(10),
        high: p(30),
        low: p(10),
        close: p(20),
        volume: q(9),
        open_interest: Qty::ZERO,
    };
    e.on_event(&ev(30, Payload::Bar(bar)));
    e.on_event(&ev(40, Payload::Level(LevelUpdate { side: BookSide::Bid, price: p(990), size: q(1) })));
    let m = *e.market(I0).unwrap();
    assert_eq!(m.last_trade, Some(LastTrade { price: p(1010), size: q(3), ts: t(10) }));
    assert_eq!(m.best_bid(), Some((p(1000), q(5))));
    assert_eq!(m.best_ask(), Some((p(1020), q(7))));
    assert_eq!(m.last_bar, Some(bar));
    assert_eq!(m.mark(), Some(p(1010)), "the mid of 100 and 102");
    assert_eq!(
        m.counters,
        MarketCounters { trades: 1, quotes: 1, bars: 1, levels: 1, ..MarketCounters::default() }
    );
    e.on_event(&ev(50, Payload::BookClear));
    assert_eq!(e.market(I0).unwrap().best, None);
    assert_eq!(e.market(I0).unwrap().mark(), Some(p(1010)), "the last trade once the book is empty");
}

#[test]
fn on_book_is_called_when_the_top_changes_only() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 5, 1010, 5));
    e.on_event(&quote(2, 1000, 5, 1010, 5));
    e.on_event(&trade(3, 1010, 1));
    e.on_event(&quote(4, 1000, 4, 1010, 5));
    e.on_event(&ev(5, Payload::BookClear));
    let books: Vec<_> = e.strategy().seen.iter().filter(|s| matches!(s, Seen::Book(_))).cloned().collect();
    let qt = |bs| Quote { bid: p(1000), bid_size: q(bs), ask: p(1010), ask_size: q(5) };
    assert_eq!(books, vec![Seen::Book(Some(qt(5))), Seen::Book(Some(qt(4))), Seen::Book(None)]);
}

#[test]
fn a_market_order_fills_at_the_touch_of_the_first_quote_after_arrival_up_to_its_size() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 3, 1005, 2));
    let id = buy(&mut e, 5, OrderKind::Market);
    // Orders meet the market from the next event on: the quote it was sent from does not fill it.
    assert!(e.strategy().fills().is_empty());
    e.on_event(&quote(2, 1000, 3, 1005, 2));
    e.on_event(&trade(3, 1004, 9)); // quotes drive market orders: a trade does not fill it
    assert_eq!(e.order(id).unwrap().status, Status::Partial);
    e.on_event(&quote(4, 1000, 3, 1006, 10));
    assert_eq!(
        e.strategy().fills(),
        vec![
            (id, q(2), p(1005), Liquidity::Taker, Status::Partial),
            (id, q(3), p(1006), Liquidity::Taker, Status::Completed),
        ]
    );
    assert_eq!(e.ledger().position(I0).size(), q(5));
    let avg =
        e.strategy().updates().last().map(|_| ()).and(e.strategy().seen.iter().rev().find_map(|s| match s {
            Seen::Order(u) => u.order.avg_price(),
            _ => None,
        }));
    assert_eq!(avg, Some("100.56".parse().unwrap()), "(2 × 100.5 + 3 × 100.6) / 5");
}

#[test]
fn with_trades_only_the_first_print_after_arrival_plays_the_touch() {
    let mut e = engine();
    e.on_event(&trade(1, 1000, 3));
    let id = buy(&mut e, 5, OrderKind::Market);
    e.on_event(&trade(2, 1010, 2));
    e.on_event(&trade(3, 1020, 10));
    assert_eq!(
        e.strategy().fills(),
        vec![
            (id, q(2), p(1010), Liquidity::Taker, Status::Partial),
            (id, q(3), p(1020), Liquidity::Taker, Status::Completed),
        ]
    );
}

#[test]
fn a_marketable_limit_fills_at_the_touch_and_rests_the_rest_at_its_limit() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 3, 1005, 2));
    let id = buy(&mut e, 5, limit(1010));
    e.on_event(&quote(2, 1000, 3, 1005, 2));
    assert_eq!(e.strategy().fills(), vec![(id, q(2), p(1005), Liquidity::Taker, Status::Partial)]);
    // The ask moves away: nothing; then crosses the resting limit: fills at the limit, as a maker.
    e.on_event(&quote(3, 1000, 3, 1020, 9));
    e.on_event(&quote(4, 1000, 3, 1008, 9));
    assert_eq!(e.strategy().fills()[1], (id, q(3), p(1010), Liquidity::Maker, Status::Completed));
}

#[test]
fn a_resting_limit_fills_at_its_limit_when_the_touch_crosses_it_up_to_the_quote_size() {
    let mut e = engine();
    e.on_event(&quote(1, 990, 3, 1005, 2));
    let id = sell(&mut e, 5, limit(1010));
    e.on_event(&quote(2, 990, 3, 1005, 2)); // not marketable: rests
    assert!(e.strategy().fills().is_empty());
    e.on_event(&quote(3, 1012, 4, 1020, 2)); // the bid crosses 101.0
    assert_eq!(e.strategy().fills(), vec![(id, q(4), p(1010), Liquidity::Maker, Status::Partial)]);
}

#[test]
fn a_trade_through_a_resting_limit_fills_it_and_a_trade_at_it_only_when_optimistic() {
    for optimistic in [false, true] {
        let mut e = engine_with(EngineConfig { optimistic, ..config() });
        e.on_event(&quote(1, 990, 3, 1005, 2));
        let id = buy(&mut e, 10, limit(1000));
        e.on_event(&quote(2, 990, 3, 1005, 2));
        e.on_event(&trade(3, 1000, 4)); // at the limit
        let at_limit = e.strategy().fills();
        e.on_event(&trade(4, 995, 3)); // through it
        let fills = e.strategy().fills();
        if optimistic {
            assert_eq!(at_limit, vec![(id, q(4), p(1000), Liquidity::Maker, Status::Partial)]);
        } else {
            assert!(at_limit.is_empty(), "pessimistic: a print at the limit does not reach us");
        }
        assert_eq!(fills.last(), Some(&(id, q(3), p(1000), Liquidity::Maker, Status::Partial)));
    }
}

#[test]
fn one_event_fills_our_orders_with_its_size_once() {
    let mut e = engine();
    e.on_event(&quote(1, 990, 3, 1010, 2));
    let a = buy(&mut e, 2, limit(1000));
    let b = buy(&mut e, 2, limit(1000));
    e.on_event(&quote(2, 990, 3, 1010, 2));
    e.on_event(&trade(3, 990, 3));
    assert_eq!(
        e.strategy().fills(),
        vec![
            (a, q(2), p(1000), Liquidity::Maker, Status::Completed),
            (b, q(1), p(1000), Liquidity::Maker, Status::Partial),
        ]
    );
}

#[test]
fn stops_trigger_on_trades_or_the_touch_and_then_act_as_market_or_limit_orders() {
    // Quotes: a sell stop at 99 triggers on the bid reaching it and sells at that bid.
    let mut e = engine();
    e.on_event(&quote(1, 1000, 5, 1010, 5));
    let s = sell(&mut e, 3, OrderKind::Stop { stop: p(990) });
    e.on_event(&quote(2, 995, 5, 1005, 5));
    assert!(e.strategy().fills().is_empty());
    e.on_event(&quote(3, 989, 5, 999, 5));
    assert_eq!(e.strategy().fills(), vec![(s, q(3), p(989), Liquidity::Taker, Status::Completed)]);

    // Trades only: a buy stop at 101 triggers on a print at 101.2 and buys at it.
    let mut e = engine();
    e.on_event(&trade(1, 1000, 5));
    let b = buy(&mut e, 2, OrderKind::Stop { stop: p(1010) });
    e.on_event(&trade(2, 1005, 5));
    e.on_event(&trade(3, 1012, 5));
    assert_eq!(e.strategy().fills(), vec![(b, q(2), p(1012), Liquidity::Taker, Status::Completed)]);

    // Quotes with a trade trigger: the triggered market order waits for the next quote.
    let mut e = engine();
    e.on_event(&quote(1, 1000, 5, 1010, 5));
    let b = buy(&mut e, 2, OrderKind::Stop { stop: p(1020) });
    e.on_event(&trade(2, 1021, 1));
    assert!(e.strategy().fills().is_empty());
    e.on_event(&quote(3, 1015, 5, 1025, 5));
    assert_eq!(e.strategy().fills(), vec![(b, q(2), p(1025), Liquidity::Taker, Status::Completed)]);

    // A stop-limit triggers, finds its limit not marketable, and rests there.
    let mut e = engine();
    e.on_event(&quote(1, 1000, 5, 1010, 5));
    let b = buy(&mut e, 2, OrderKind::StopLimit { stop: p(1020), limit: p(1022) });
    e.on_event(&quote(2, 1020, 5, 1030, 5));
    assert!(e.strategy().fills().is_empty(), "triggered by the ask at 103, not marketable at 102.2");
    e.on_event(&trade(3, 1021, 4));
    assert_eq!(e.strategy().fills(), vec![(b, q(2), p(1022), Liquidity::Maker, Status::Completed)]);
}

#[test]
fn latency_delays_arrival_and_reports_in_simulated_time() {
    let latency = Latency { entry: TimeSpan::from_nanos(10_000), response: TimeSpan::from_nanos(5_000) };
    let mut e = engine_with(EngineConfig { latency, ..config() });
    e.on_event(&quote(100, 1000, 5, 1010, 5));
    let id = buy(&mut e, 1, OrderKind::Market); // sent at 100 µs: arrives at 110 µs
    e.on_event(&quote(105, 1000, 5, 1011, 5));
    assert_eq!(e.order(id).unwrap().status, Status::Submitted);
    e.on_event(&quote(110, 1000, 5, 1012, 5)); // arrives with this quote: fills at 101.2
    assert!(e.strategy().fills().is_empty(), "the fill report is due at 115 µs");
    assert_eq!(e.venue_ledger().position(I0).size(), q(1), "the venue booked it at once");
    assert_eq!(e.ledger().position(I0).size(), Qty::ZERO, "the engine has not heard yet");
    e.on_event(&quote(120, 1000, 5, 1013, 5));
    assert_eq!(e.strategy().fills(), vec![(id, q(1), p(1012), Liquidity::Taker, Status::Completed)]);
    assert_eq!(
        e.strategy().updates(),
        vec![
            (id, Status::Accepted, UpdateReason::None, t(115)),
            (id, Status::Completed, UpdateReason::None, t(115)),
        ]
    );
    let Some(Seen::Fill(f)) = e.strategy().seen.iter().find(|s| matches!(s, Seen::Fill(_))) else {
        panic!("no fill")
    };
    assert_eq!((f.venue_ts, f.ts), (t(110), t(115)));
    assert_eq!(e.ledger(), e.venue_ledger());
}

#[test]
fn a_cancel_in_flight_can_lose_the_race_to_a_fill() {
    let latency = Latency::symmetric(TimeSpan::from_nanos(10_000));
    let mut e = engine_with(EngineConfig { latency, ..config() });
    e.on_event(&quote(0, 990, 5, 1010, 5));
    let late = buy(&mut e, 2, limit(1000));
    let early = buy(&mut e, 2, limit(995));
    e.on_event(&quote(20, 990, 5, 1010, 5)); // both arrive at 10 µs and rest
    e.context().cancel(late).unwrap();
    e.context().cancel(early).unwrap();
    assert_eq!(e.context().cancel(late), Err(CancelError::AlreadyPending { order: late }));
    assert!(e.order(late).unwrap().cancel_pending);
    e.on_event(&trade(25, 998, 10)); // before the cancels arrive at 30 µs: fills `late` only
    e.on_event(&quote(60, 990, 5, 1010, 5));
    let u = e.strategy().updates();
    assert!(u.contains(&(late, Status::Completed, UpdateReason::None, t(35))));
    assert!(u.contains(&(late, Status::Completed, UpdateReason::CancelTooLate, t(40))));
    assert!(u.contains(&(early, Status::Canceled, UpdateReason::None, t(40))));
    assert_eq!(e.open_orders().count(), 0);
    assert_eq!(e.context().cancel(early), Err(CancelError::NotOpen { order: early }));
}

#[test]
fn a_fill_beyond_the_cash_ends_the_order_in_margin() {
    let mut e = engine_with(EngineConfig { cash: Money::try_from_units(1_000).unwrap(), ..config() });
    e.on_event(&quote(1, 1000, 50, 1000, 50));
    let id = buy(&mut e, 20, OrderKind::Market); // 20 × 100 = 2000 > 1000
    e.on_event(&quote(2, 1000, 50, 1000, 50));
    assert!(e.strategy().fills().is_empty());
    assert_eq!(
        e.strategy().updates().last(),
        Some(&(id, Status::Margin, UpdateReason::InsufficientCash, t(2)))
    );
    assert_eq!(e.ledger().cash(), Money::try_from_units(1_000).unwrap());
    // A sale opens a short in a cash account: cash goes up.
    sell(&mut e, 3, OrderKind::Market);
    e.on_event(&quote(3, 1000, 50, 1000, 50));
    assert_eq!(e.ledger().cash(), Money::try_from_units(1_300).unwrap());
    assert_eq!(e.ledger().position(I0).size(), q(-3));
}

#[test]
fn the_ledger_books_cash_commission_and_realised_pnl_exactly() {
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: "0.001".parse::<Ratio>().unwrap(),
        ..CommissionParams::setcommission()
    })
    .unwrap();
    let mut e =
        engine_with(EngineConfig { scheme, cash: Money::try_from_units(10_000).unwrap(), ..config() });
    e.on_event(&quote(1, 1000, 50, 1001, 50));
    buy(&mut e, 3, OrderKind::Market);
    e.on_event(&quote(2, 1000, 50, 1001, 50)); // buy 3 at 100.1: 300.3 + 0.3003
    sell(&mut e, 2, OrderKind::Market);
    e.on_event(&quote(3, 1020, 50, 1030, 50)); // sell 2 at 102: 204 − 0.204; pnl 2 × 1.9 = 3.8
    let l = e.ledger();
    assert_eq!(l.cash().to_string(), "9903.1957");
    assert_eq!(l.fees().to_string(), "0.5043");
    assert_eq!(l.realized().to_string(), "3.8");
    assert_eq!(l.turnover().to_string(), "504.3");
    assert_eq!(l.position(I0).size(), q(1));
    // Equity marks the unit left at the mid, 102.5.
    assert_eq!(e.equity().unwrap().to_string(), "10005.6957");
    e.finish();
    assert_eq!(e.ledger(), e.venue_ledger());
}

#[test]
fn timers_fire_in_time_order_before_the_event_that_passes_them() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 5, 1010, 5));
    {
        let mut ctx = e.context();
        ctx.set_timer(t(30), 0).unwrap();
        ctx.set_timer(t(20), 0).unwrap();
        ctx.set_timer(t(20), 2).unwrap(); // buys 2 at the market when it fires
        ctx.set_timer(t(500), 0).unwrap();
    }
    e.on_event(&quote(40, 1000, 5, 1010, 5));
    let timers: Vec<_> = e
        .strategy()
        .seen
        .iter()
        .filter_map(|s| match s {
            Seen::Timer(tm, now) => Some((tm.at, tm.token, *now)),
            _ => None,
        })
        .collect();
    assert_eq!(timers, vec![(t(20), 0, t(20)), (t(20), 2, t(20)), (t(30), 0, t(30))]);
    // The order sent at 20 µs met the quote at 40 µs.
    assert_eq!(e.strategy().fills().len(), 1);
    e.finish();
    assert_eq!(
        e.strategy().seen.iter().filter(|s| matches!(s, Seen::Timer(..))).count(),
        3,
        "none after the end"
    );
    let mut e = engine_with(EngineConfig { timers: 1, ..config() });
    e.context().set_timer(t(5), 0).unwrap();
    assert_eq!(e.context().set_timer(t(6), 0), Err(TimerError::Full { capacity: 1 }));
}

#[test]
fn impossible_requests_are_refused_before_they_leave_the_engine() {
    let mut e = engine();
    let ins = kestrel_types::Instrument::try_new(
        I0,
        kestrel_types::InstrumentSpec {
            symbol: "X".into(),
            venue: kestrel_types::VenueId(0),
            tick_size: "0.5".parse().unwrap(),
            lot_size: "0.1".parse().unwrap(),
            display_decimals: 1,
            multiplier: Ratio::ONE,
            quote_currency: "USD".parse().unwrap(),
            settlement_currency: "USD".parse().unwrap(),
        },
    );
    e.set_instruments(std::slice::from_ref(&ins.unwrap()));
    let mut ctx = e.context();
    let bad = |r: Result<OrderId, SubmitError>| r.unwrap_err();
    assert_eq!(
        bad(ctx.buy(I0, Qty::ZERO, OrderKind::Market)),
        SubmitError::SizeNotPositive { size: Qty::ZERO }
    );
    assert_eq!(
        bad(ctx.buy(I0, "0.15".parse().unwrap(), OrderKind::Market)),
        SubmitError::OffLotGrid { size: "0.15".parse().unwrap(), lot: "0.1".parse().unwrap() }
    );
    assert_eq!(
        bad(ctx.buy(I0, q(1), limit(1001))),
        SubmitError::OffTickGrid { price: p(1001), tick: "0.5".parse().unwrap() }
    );
    assert_eq!(bad(ctx.buy(I0, q(1), limit(-5))), SubmitError::PriceNotPositive { price: p(-5) });
    assert_eq!(
        bad(ctx.buy(InstrumentId(3), q(1), OrderKind::Market)),
        SubmitError::UnknownInstrument { instrument: InstrumentId(3), count: 1 }
    );
    assert!(ctx.buy(I0, q(1), limit(1005)).is_ok());
    assert_eq!(e.counters().refused, 5);
    assert_eq!(e.counters().orders, 1);
}

#[test]
fn capacities_refuse_and_slots_are_reused_once_orders_end() {
    let mut e = engine_with(EngineConfig { max_orders: 3, resting_per_instrument: 2, ..config() });
    e.on_event(&quote(1, 990, 5, 1010, 5));
    buy(&mut e, 1, limit(900));
    buy(&mut e, 1, limit(900));
    assert_eq!(
        e.context().buy(I0, q(1), limit(900)),
        Err(SubmitError::InstrumentCapacity { instrument: I0, capacity: 2 })
    );
    // Orders that complete free their slots: 100 round trips through 3 slots.
    let mut e = engine_with(EngineConfig { max_orders: 3, resting_per_instrument: 2, ..config() });
    for k in 0..100 {
        e.on_event(&quote(2 * k, 990, 5, 1010, 5));
        buy(&mut e, 1, OrderKind::Market);
        e.on_event(&quote(2 * k + 1, 990, 5, 1010, 5));
    }
    assert_eq!(e.counters().fills, 100);
    assert_eq!(e.counters().refused, 0);
    assert_eq!(e.ledger().position(I0).size(), q(100));
}

#[test]
fn unknown_instruments_are_counted_and_skipped() {
    let mut e = engine();
    e.on_event(&Event { instrument: InstrumentId(7), ..trade(1, 1000, 1) });
    assert_eq!(e.counters().unknown_instrument, 1);
    assert_eq!(e.counters().events, 1);
    assert!(e.strategy().seen.is_empty());
}

#[test]
fn configurations_beyond_the_limits_or_with_futures_schemes_are_refused() {
    let too_many = EngineConfig { instruments: EngineConfig::MAX_INSTRUMENTS + 1, ..EngineConfig::new(1) };
    assert!(matches!(Engine::try_new(too_many, NoopStrategy), Err(ConfigError::TooManyInstruments { .. })));
    let zero = EngineConfig { queue: 0, ..EngineConfig::new(1) };
    assert_eq!(Engine::try_new(zero, NoopStrategy).err(), Some(ConfigError::ZeroCapacity { what: "queue" }));
    let futures = CommissionScheme::try_new(CommissionParams {
        margin: Some(p(20)),
        ..CommissionParams::setcommission()
    })
    .unwrap();
    let cfg = EngineConfig { scheme: futures, ..EngineConfig::new(1) };
    assert_eq!(Engine::try_new(cfg, NoopStrategy).err(), Some(ConfigError::UnsupportedScheme));
}

/// Keeps a buy at the bid and a sell at the ask, cancels the oldest beyond two working.
#[derive(Debug, Default)]
struct Churn {
    refused: u64,
}

impl TickStrategy for Churn {
    fn on_quote(&mut self, ctx: &mut TickContext<'_>, ins: InstrumentId, qt: &Quote) {
        loop {
            let live = ctx.open_orders().filter(|o| !o.cancel_pending);
            let (n, oldest) = live.fold((0, None), |(n, old): (usize, Option<OrderId>), o| {
                (n + 1, Some(old.map_or(o.id, |id| o.id.min(id))))
            });
            match oldest {
                Some(id) if n > 2 => ctx.cancel(id).unwrap(),
                _ => break,
            }
        }
        self.refused += u64::from(ctx.buy(ins, q(1), OrderKind::Limit { limit: qt.bid }).is_err());
        self.refused += u64::from(ctx.sell(ins, q(1), OrderKind::Limit { limit: qt.ask }).is_err());
    }
}

#[test]
fn churning_orders_through_random_markets_leaks_no_slot_and_the_ledgers_agree() {
    for latency_us in [0, 3, 50] {
        let latency = Latency {
            entry: TimeSpan::from_nanos(latency_us * 1000),
            response: TimeSpan::from_nanos(latency_us * 700),
        };
        let cfg = EngineConfig {
            latency,
            cash: Money::try_from_units(1_000_000_000).unwrap(),
            ..EngineConfig::new(1)
        };
        let mut e = Engine::try_new(cfg, Churn::default()).unwrap();
        e.start();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut mid: i64 = 10_000;
        for k in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            mid += (x % 5) as i64 - 2;
            let us = k * 2;
            if x.is_multiple_of(4) {
                e.on_event(&trade(us, mid + (x % 3) as i64 - 1, 1 + (x % 4) as i64));
            } else {
                e.on_event(&quote(us, mid - 1, 1 + (x % 3) as i64, mid + 1, 1 + (x % 2) as i64));
            }
        }
        e.finish();
        if latency_us < 50 {
            assert_eq!(e.strategy().refused, 0, "latency {latency_us} µs");
        } else {
            // 25 events per round trip, two orders each: the lanes fill and refusals are data.
            assert!(e.strategy().refused > 0);
        }
        assert_eq!(e.counters().refused, e.strategy().refused);
        assert!(e.counters().fills > 1_000, "{:?}", e.counters());
        assert_eq!(e.ledger(), e.venue_ledger());
        assert_eq!(e.counters().ledger_errors, 0);
    }
}

#[test]
fn close_and_target_size_send_the_difference() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 50, 1001, 50));
    assert_eq!(e.context().close(I0, OrderKind::Market), Ok(None), "flat: nothing to close");
    let id = e.context().order_target_size(I0, q(5), OrderKind::Market).unwrap().unwrap();
    assert_eq!(e.order(id).unwrap().request.side, crate::order::Side::Buy);
    e.on_event(&quote(2, 1000, 50, 1001, 50));
    assert_eq!(e.ledger().position(I0).size(), q(5));
    assert_eq!(e.context().order_target_size(I0, q(5), OrderKind::Market), Ok(None));
    let id = e.context().order_target_size(I0, q(-2), OrderKind::Market).unwrap().unwrap();
    assert_eq!(e.order(id).unwrap().request.size, q(7));
    e.on_event(&quote(3, 1000, 50, 1001, 50));
    assert_eq!(e.ledger().position(I0).size(), q(-2));
    e.context().close(I0, OrderKind::Market).unwrap();
    e.on_event(&quote(4, 1000, 50, 1001, 50));
    assert_eq!(e.ledger().position(I0).size(), Qty::ZERO);
}

fn exec(us: i64, order: OrderId, status: Status, qty: i64, price: i64, fee_nanos: i64) -> Event {
    let code = Status::ALL.iter().position(|s| *s == status).unwrap();
    ev(
        us,
        Payload::Exec(kestrel_types::ExecRecord {
            order: order.0,
            exec: 0,
            status: u8::try_from(code).unwrap(),
            qty: q(qty),
            price: p(price),
            fee: fee_nanos,
        }),
    )
}

fn external() -> Engine<Recorder> {
    engine_with(EngineConfig { venue: VenueMode::External, queue: 2, ..config() })
}

fn drain(e: &mut Engine<Recorder>) -> Vec<VenueRequest> {
    let mut out = Vec::new();
    e.drain_requests(|r| {
        out.push(*r);
        true
    });
    out
}

#[test]
fn with_a_live_venue_requests_leave_through_the_queue_and_reports_come_back_as_events() {
    let mut e = external();
    e.on_event(&quote(10, 1000, 5, 1010, 5));
    let id = buy(&mut e, 3, limit(1005));
    let reqs = drain(&mut e);
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].kind, reqs[0].order, reqs[0].cause, reqs[0].sent),
        (RequestKind::New, id, t(10), t(10))
    );
    assert!(drain(&mut e).is_empty(), "taken once");
    // The simulated venue is not involved: a crossing quote fills nothing.
    e.on_event(&quote(11, 1000, 5, 1000, 5));
    assert!(e.strategy().fills().is_empty());
    e.on_event(&exec(12, id, Status::Accepted, 0, 0, 0));
    e.on_event(&exec(13, id, Status::Partial, 2, 1004, 7_000_000)); // fee 0.007
    assert_eq!(e.order(id).unwrap().status, Status::Partial);
    assert_eq!(e.ledger().fees().to_string(), "0.007");
    assert_eq!(e.ledger().position(I0).size(), q(2));
    e.context().cancel(id).unwrap();
    let reqs = drain(&mut e);
    assert_eq!((reqs[0].kind, reqs[0].order), (RequestKind::Cancel, id));
    e.on_event(&exec(14, id, Status::Canceled, 0, 0, 0));
    assert_eq!(
        e.strategy().updates(),
        vec![
            (id, Status::Accepted, UpdateReason::None, t(12)),
            (id, Status::Partial, UpdateReason::None, t(13)),
            (id, Status::Canceled, UpdateReason::None, t(14)),
        ]
    );
    // A report for an order the engine no longer holds is counted and skipped.
    e.on_event(&exec(15, id, Status::Canceled, 0, 0, 0));
    assert_eq!(e.counters().unknown_reports, 1);
}

#[test]
fn a_live_venue_can_reject_and_a_cancel_can_arrive_too_late() {
    let mut e = external();
    e.on_event(&quote(1, 1000, 5, 1010, 5));
    let a = buy(&mut e, 1, OrderKind::Market);
    let b = sell(&mut e, 1, OrderKind::Market);
    drain(&mut e);
    e.on_event(&exec(2, a, Status::Rejected, 0, 0, 0));
    e.on_event(&exec(3, b, Status::Accepted, 0, 0, 0));
    e.context().cancel(b).unwrap();
    e.on_event(&exec(4, b, Status::Completed, 1, 1000, 0));
    e.on_event(&exec(5, b, Status::Completed, 0, 0, 0)); // the venue's answer to the cancel
    let u = e.strategy().updates();
    assert!(u.contains(&(a, Status::Rejected, UpdateReason::VenueRejected, t(2))));
    assert!(u.contains(&(b, Status::Completed, UpdateReason::CancelTooLate, t(5))));
    assert_eq!(e.open_orders().count(), 0);
}

#[test]
fn a_full_request_queue_refuses_new_orders_and_keeps_what_the_ring_did_not_take() {
    let mut e = external();
    e.on_event(&quote(1, 1000, 5, 1010, 5));
    let a = buy(&mut e, 1, OrderKind::Market);
    let b = buy(&mut e, 1, OrderKind::Market);
    assert_eq!(e.context().buy(I0, q(1), OrderKind::Market), Err(SubmitError::QueueFull { capacity: 2 }));
    // The ring takes one, then is full: the second stays queued, in order.
    let mut taken = Vec::new();
    assert_eq!(
        e.drain_requests(|r| {
            taken.push(r.order);
            taken.len() < 2
        }),
        1
    );
    assert_eq!(taken, vec![a, b]);
    assert_eq!(e.pending_requests(), 1);
    assert_eq!(drain(&mut e).iter().map(|r| r.order).collect::<Vec<_>>(), vec![b]);
    assert!(e.context().buy(I0, q(1), OrderKind::Market).is_ok());
}

#[test]
fn the_state_hash_follows_orders_positions_and_balances() {
    let run = |extra: bool| {
        let mut e = external();
        e.on_event(&quote(1, 1000, 5, 1010, 5));
        let id = buy(&mut e, 2, OrderKind::Market);
        drain(&mut e);
        e.on_event(&exec(2, id, Status::Accepted, 0, 0, 0));
        let mid = e.state_hash();
        e.on_event(&exec(3, id, Status::Completed, 2, if extra { 1011 } else { 1010 }, 0));
        (mid, e.state_hash())
    };
    let (a_mid, a_end) = run(false);
    let (b_mid, b_end) = run(false);
    let (c_mid, c_end) = run(true);
    assert_eq!((a_mid, a_end), (b_mid, b_end), "the same events give the same hash");
    assert_eq!(a_mid, c_mid);
    assert_ne!(a_end, c_end, "a different fill price changes it");
    assert_ne!(a_mid, a_end);
    assert_eq!(a_end.to_string().len(), 64);
}

#[test]
fn a_live_venue_session_reuses_slots_order_after_order() {
    let mut e = engine_with(EngineConfig { venue: VenueMode::External, max_orders: 4, ..config() });
    for k in 0..100 {
        e.on_event(&quote(3 * k, 1000, 5, 1010, 5));
        let id =
            e.context().buy(I0, q(1), OrderKind::Market).unwrap_or_else(|err| panic!("order {k}: {err}"));
        assert_eq!(drain(&mut e).len(), 1);
        e.on_event(&exec(3 * k + 1, id, Status::Completed, 1, 1010, 0));
    }
    assert_eq!(e.ledger().position(I0).size(), q(100));
}

#[test]
fn a_live_venue_session_with_delayed_fills_keeps_its_capacity() {
    let mut e = engine_with(EngineConfig { venue: VenueMode::External, ..config() });
    let mut pending = std::collections::VecDeque::new();
    for k in 0..2_000i64 {
        e.on_event(&quote(10 * k, 1000, 5, 1010, 5));
        let side_buy = k % 2 == 0;
        let r = if side_buy {
            e.context().buy(I0, q(1), OrderKind::Market)
        } else {
            e.context().sell(I0, q(1), OrderKind::Market)
        };
        let id = r.unwrap_or_else(|err| panic!("order {k}: {err}"));
        for req in drain(&mut e) {
            pending.push_back((req.order, req.request.side));
        }
        assert_eq!(pending.back().map(|p| p.0), Some(id));
        while pending.len() > 3 {
            let (o, side) = pending.pop_front().unwrap();
            let qty = if side == crate::order::Side::Buy { 1 } else { -1 };
            e.on_event(&exec(10 * k + 5, o, Status::Completed, qty, 1010, 0));
        }
    }
    assert_eq!(e.counters().refused, 0);
}

fn submit(e: &mut Engine<Recorder>, r: OrderRequest) -> OrderId {
    e.context().submit(r).unwrap()
}

fn req(side: crate::order::Side, size: i64, kind: OrderKind) -> OrderRequest {
    OrderRequest::new(I0, side, q(size), kind)
}

use crate::order::Side as S;

/// The final (status, reason) the strategy heard for `id`.
fn last_update(e: &Engine<Recorder>, id: OrderId) -> (Status, UpdateReason) {
    e.strategy().updates().iter().rev().find(|u| u.0 == id).map(|u| (u.1, u.2)).unwrap()
}

#[test]
fn ioc_takes_what_is_there_at_its_first_look_and_cancels_the_rest() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 5, 1005, 2));
    let a = submit(&mut e, req(S::Buy, 5, limit(1010)).with_tif(TimeInForce::Ioc));
    let b = submit(&mut e, req(S::Buy, 5, limit(990)).with_tif(TimeInForce::Ioc));
    e.on_event(&quote(2, 1000, 5, 1005, 2));
    assert_eq!(e.strategy().fills(), vec![(a, q(2), p(1005), Liquidity::Taker, Status::Partial)]);
    assert_eq!(last_update(&e, a), (Status::Canceled, UpdateReason::IocRemainder));
    assert_eq!(last_update(&e, b), (Status::Canceled, UpdateReason::IocRemainder), "not marketable: nothing");
    assert_eq!(e.open_orders().count(), 0);
}

#[test]
fn fok_fills_completely_at_once_or_not_at_all() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 5, 1005, 2));
    let big = submit(&mut e, req(S::Buy, 5, limit(1010)).with_tif(TimeInForce::Fok));
    let small = submit(&mut e, req(S::Buy, 2, limit(1010)).with_tif(TimeInForce::Fok));
    e.on_event(&quote(2, 1000, 5, 1005, 2));
    assert_eq!(last_update(&e, big), (Status::Canceled, UpdateReason::FokUnfilled));
    assert_eq!(e.strategy().fills(), vec![(small, q(2), p(1005), Liquidity::Taker, Status::Completed)]);
}

#[test]
fn post_only_is_refused_if_it_would_take_and_rests_otherwise() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 5, 1005, 2));
    let taking = submit(&mut e, req(S::Buy, 1, limit(1005)).post_only());
    let resting = submit(&mut e, req(S::Buy, 1, limit(1000)).post_only());
    e.on_event(&quote(2, 1000, 5, 1005, 2));
    assert_eq!(last_update(&e, taking), (Status::Rejected, UpdateReason::PostOnlyWouldTake));
    assert_eq!(e.order(resting).unwrap().status, Status::Accepted);
    e.on_event(&trade(3, 995, 1));
    assert_eq!(e.strategy().fills(), vec![(resting, q(1), p(1000), Liquidity::Maker, Status::Completed)]);
    assert_eq!(
        e.context().buy(I0, q(1), OrderKind::Market).map(|_| ()),
        Ok(()),
        "a market order is fine without the flag"
    );
    let bad = e.context().submit(req(S::Buy, 1, OrderKind::Market).post_only());
    assert_eq!(bad, Err(SubmitError::Invalid { reason: "post-only needs a limit order" }));
}

#[test]
fn reduce_only_fills_at_most_the_position_and_cancels_the_rest() {
    let mut e = engine();
    e.on_event(&quote(1, 1000, 50, 1005, 50));
    let nothing = submit(&mut e, req(S::Sell, 1, OrderKind::Market).reduce_only());
    e.on_event(&quote(2, 1000, 50, 1005, 50));
    assert_eq!(last_update(&e, nothing), (Status::Canceled, UpdateReason::ReduceOnly));
    buy(&mut e, 3, OrderKind::Market);
    e.on_event(&quote(3, 1000, 50, 1005, 50));
    let closing = submit(&mut e, req(S::Sell, 5, OrderKind::Market).reduce_only());
    e.on_event(&quote(4, 1000, 50, 1005, 50));
    assert_eq!(
        e.strategy().fills().last(),
        Some(&(closing, q(3), p(1000), Liquidity::Taker, Status::Partial))
    );
    assert_eq!(last_update(&e, closing), (Status::Canceled, UpdateReason::ReduceOnly));
    assert_eq!(e.ledger().position(I0).size(), Qty::ZERO, "flat, never short");
}

#[test]
fn gtd_orders_expire_at_their_date_and_a_past_date_is_refused() {
    let mut e = engine();
    e.on_event(&quote(10, 1000, 5, 1010, 5));
    let id = submit(&mut e, req(S::Buy, 1, limit(1000)).with_tif(TimeInForce::Gtd(t(30))));
    e.on_event(&quote(20, 1000, 5, 1010, 5));
    assert_eq!(e.order(id).unwrap().status, Status::Accepted);
    e.on_event(&trade(30, 990, 5)); // at its date: expired before it could fill
    assert_eq!(last_update(&e, id), (Status::Expired, UpdateReason::GtdExpired));
    assert!(e.strategy().fills().is_empty());
    let past = e.context().submit(req(S::Buy, 1, limit(1000)).with_tif(TimeInForce::Gtd(t(5))));
    assert_eq!(past, Err(SubmitError::Invalid { reason: "the good-till date is not in the future" }));
}

#[test]
fn amends_change_price_and_size_and_priority_follows_the_venue_rules() {
    let mut e = engine();
    e.on_event(&quote(1, 990, 5, 1010, 5));
    let a = buy(&mut e, 2, limit(1000));
    let b = buy(&mut e, 2, limit(1000));
    e.on_event(&quote(2, 990, 5, 1010, 5));
    // A size decrease keeps A first in the queue.
    e.context().amend(a, None, Some(q(1))).unwrap();
    assert!(e.order(a).unwrap().replace_pending);
    assert_eq!(e.context().cancel(a), Err(CancelError::AlreadyPending { order: a }));
    e.on_event(&quote(3, 990, 5, 1010, 5));
    assert_eq!(last_update(&e, a), (Status::Accepted, UpdateReason::Amended));
    assert_eq!(e.order(a).unwrap().request.size, q(1));
    e.on_event(&trade(4, 995, 1));
    assert_eq!(e.strategy().fills().last().map(|f| f.0), Some(a), "A kept its place");
    // A size increase sends B behind a newer order C.
    let c = buy(&mut e, 1, limit(1000));
    e.on_event(&quote(5, 990, 5, 1010, 5));
    e.context().amend(b, None, Some(q(3))).unwrap();
    e.on_event(&quote(6, 990, 5, 1010, 5));
    e.on_event(&trade(7, 995, 1));
    assert_eq!(e.strategy().fills().last().map(|f| f.0), Some(c), "B lost its place");
    // A new price: the order now fills at it.
    e.context().amend(b, Some(p(1008)), None).unwrap();
    e.on_event(&quote(8, 990, 5, 1010, 5));
    assert_eq!(e.order(b).unwrap().request.kind, OrderKind::Limit { limit: p(1008) });
    e.on_event(&trade(9, 1005, 9));
    assert_eq!(e.strategy().fills().last(), Some(&(b, q(3), p(1008), Liquidity::Maker, Status::Completed)));
    // Too late: the order ended before the amend arrived.
    assert!(matches!(
        e.context().amend(b, None, Some(q(5))),
        Err(AmendError::Cancel(CancelError::NotOpen { .. }))
    ));
    assert_eq!(
        e.context().amend(c, Some(p(1001)), None),
        Err(AmendError::Cancel(CancelError::NotOpen { order: c })),
        "C completed"
    );
}

#[test]
fn an_amend_in_flight_can_lose_the_race_to_fills() {
    let latency = Latency::symmetric(TimeSpan::from_nanos(10_000));
    let mut e = engine_with(EngineConfig { latency, ..config() });
    e.on_event(&quote(0, 990, 5, 1010, 5));
    let id = buy(&mut e, 2, limit(1000));
    e.on_event(&quote(20, 990, 5, 1010, 5));
    e.context().amend(id, Some(p(995)), None).unwrap(); // arrives at 30 µs
    e.on_event(&trade(25, 990, 5)); // fills it completely at 100 first
    e.on_event(&quote(60, 990, 5, 1010, 5));
    assert_eq!(e.strategy().fills(), vec![(id, q(2), p(1000), Liquidity::Maker, Status::Completed)]);
    assert_eq!(last_update(&e, id), (Status::Completed, UpdateReason::AmendTooLate));
    assert_eq!(e.open_orders().count(), 0);
}

fn risky(risk: RiskLimits) -> Engine<Recorder> {
    engine_with(EngineConfig { risk, ..config() })
}

fn refused(e: &mut Engine<Recorder>, r: OrderRequest) -> RiskReason {
    match e.context().submit(r) {
        Err(SubmitError::Risk { reason, .. }) => reason,
        other => panic!("expected a risk refusal, got {other:?}"),
    }
}

#[test]
fn each_risk_check_refuses_with_a_rejected_update_and_the_engine_runs_on() {
    let mut e = risky(RiskLimits { max_order_size: Some(q(10)), ..RiskLimits::default() });
    e.on_event(&quote(1, 1000, 50, 1010, 50));
    assert_eq!(refused(&mut e, req(S::Buy, 11, OrderKind::Market)), RiskReason::MaxOrderSize);
    let ok = submit(&mut e, req(S::Buy, 10, OrderKind::Market));
    e.on_event(&quote(2, 1000, 50, 1010, 50));
    let rejected = e.strategy().updates().into_iter().find(|u| u.1 == Status::Rejected).unwrap();
    assert_eq!(rejected.2, UpdateReason::Risk(RiskReason::MaxOrderSize));
    assert_eq!(e.order(ok).map(|o| o.status), None, "the good order filled and left");
    assert_eq!(e.ledger().position(I0).size(), q(10));

    let mut e = risky(RiskLimits {
        max_order_notional: Some(Money::try_from_units(1_000).unwrap()),
        ..RiskLimits::default()
    });
    e.on_event(&quote(1, 1000, 50, 1010, 50));
    assert_eq!(refused(&mut e, req(S::Buy, 10, limit(1010))), RiskReason::MaxOrderNotional);
    assert_eq!(
        refused(&mut e, req(S::Buy, 10, OrderKind::Market)),
        RiskReason::MaxOrderNotional,
        "at the mark"
    );
    submit(&mut e, req(S::Buy, 9, limit(1010)));

    let mut e = risky(RiskLimits { max_position: Some(q(5)), ..RiskLimits::default() });
    e.on_event(&quote(1, 1000, 50, 1010, 50));
    submit(&mut e, req(S::Buy, 3, limit(900)));
    assert_eq!(refused(&mut e, req(S::Buy, 3, limit(900))), RiskReason::MaxPosition, "3 working + 3");
    submit(&mut e, req(S::Sell, 5, limit(1100)));

    let mut e = risky(RiskLimits { price_band: Some("0.05".parse().unwrap()), ..RiskLimits::default() });
    assert_eq!(refused(&mut e, req(S::Buy, 1, limit(1000))), RiskReason::NoReferencePrice);
    e.on_event(&quote(1, 1000, 50, 1000, 50));
    assert_eq!(refused(&mut e, req(S::Buy, 1, limit(1060))), RiskReason::PriceBand);
    assert_eq!(refused(&mut e, req(S::Sell, 1, OrderKind::Stop { stop: p(940) })), RiskReason::PriceBand);
    submit(&mut e, req(S::Buy, 1, limit(1050)));

    let rate = RiskLimits { order_rate: Some((2, TimeSpan::from_nanos(10_000))), ..RiskLimits::default() };
    let mut e = risky(rate);
    e.on_event(&quote(1, 900, 50, 1100, 50));
    submit(&mut e, req(S::Buy, 1, limit(1000)));
    submit(&mut e, req(S::Buy, 1, limit(1000)));
    assert_eq!(refused(&mut e, req(S::Buy, 1, limit(1000))), RiskReason::OrderRate);
    e.on_event(&quote(12, 900, 50, 1100, 50)); // 11 µs later: the window moved on
    submit(&mut e, req(S::Buy, 1, limit(1000)));
}

#[test]
fn the_kill_switch_cancels_everything_and_refuses_new_orders() {
    let mut e = engine();
    e.on_event(&quote(1, 990, 5, 1010, 5));
    let a = buy(&mut e, 1, limit(900));
    let b = sell(&mut e, 1, limit(1100));
    e.on_event(&quote(2, 990, 5, 1010, 5));
    assert_eq!(e.context().kill_switch(), 2);
    assert_eq!(refused(&mut e, req(S::Buy, 1, OrderKind::Market)), RiskReason::KillSwitch);
    e.on_event(&quote(3, 990, 5, 1010, 5));
    assert_eq!(last_update(&e, a).0, Status::Canceled);
    assert_eq!(last_update(&e, b).0, Status::Canceled);
    assert_eq!(e.open_orders().count(), 0);
    assert_eq!(e.counters().events, 3, "the engine runs on");
}

#[test]
fn market_orders_under_a_protection_band_never_pay_beyond_it() {
    let risk = RiskLimits { market_protection: Some("0.01".parse().unwrap()), ..RiskLimits::default() };
    let mut e = risky(risk);
    e.on_event(&quote(1, 1000, 5, 1000, 5)); // mark 100.0: a market buy pays at most 101.0
    let id = buy(&mut e, 2, OrderKind::Market);
    assert_eq!(e.order(id).unwrap().request.kind, OrderKind::Limit { limit: p(1010) });
    e.on_event(&quote(2, 1000, 5, 1020, 5)); // the ask jumped to 102: no fill
    assert!(e.strategy().fills().is_empty());
    e.on_event(&quote(3, 1000, 5, 1008, 5));
    assert_eq!(e.strategy().fills(), vec![(id, q(2), p(1010), Liquidity::Maker, Status::Completed)]);
}

#[test]
fn a_recorded_latency_curve_interpolates_and_never_lets_a_message_overtake() {
    let text = "time_ns,entry_ns,response_ns\n# a spike\n0,10000,4000\n100000,50000,4000\n200000,2000,4000\n";
    let curve = LatencyCurve::parse(text).unwrap();
    assert_eq!(curve.at(t(50)).entry, TimeSpan::from_nanos(30_000), "half way between 10 and 50 µs");
    assert_eq!(curve.at(t(500)).entry, TimeSpan::from_nanos(2_000), "held flat after the last point");
    assert!(matches!(
        LatencyCurve::parse("0,1,1\n0,1,1"),
        Err(LatencyCurveError::Unordered { index: 1, .. })
    ));
    assert!(matches!(LatencyCurve::parse("0,1"), Err(LatencyCurveError::Parse { line: 1, .. })));
    assert_eq!(LatencyCurve::parse("# nothing"), Err(LatencyCurveError::Empty));

    let mut e = engine();
    e.set_latency_curve(curve);
    e.on_event(&quote(100, 1000, 5, 1010, 5));
    // Sent at 100 µs with 50 µs entry: due at 150 µs.
    let first = buy(&mut e, 1, OrderKind::Market);
    e.on_event(&quote(190, 1000, 5, 1010, 5));
    // Sent at 190 µs with 6.8 µs entry (50 − 48 × 0.9): due at 196.8 µs.
    let second = buy(&mut e, 1, OrderKind::Market);
    e.on_event(&quote(195, 1000, 5, 1011, 5)); // the first's fill report (194 µs) arrives; the second is on its way
    assert_eq!(e.strategy().fills(), vec![(first, q(1), p(1010), Liquidity::Taker, Status::Completed)]);
    e.on_event(&quote(197, 1000, 5, 1012, 5)); // arrived at 196.8 µs: fills here
    e.on_event(&quote(220, 1000, 5, 1013, 5)); // its report (201 µs) arrives
    assert_eq!(e.strategy().fills()[1], (second, q(1), p(1012), Liquidity::Taker, Status::Completed));

    // A spike then a drop: the second request may not overtake the first.
    let spike = LatencyCurve::new(vec![
        (t(0), TimeSpan::from_nanos(100_000), TimeSpan::ZERO),
        (t(10), TimeSpan::from_nanos(1_000), TimeSpan::ZERO),
    ])
    .unwrap();
    let mut e = engine();
    e.set_latency_curve(spike);
    e.on_event(&quote(0, 1000, 5, 1010, 5));
    let slow = buy(&mut e, 1, OrderKind::Market); // due at 100 µs
    e.on_event(&quote(10, 1000, 5, 1010, 5));
    let fast = buy(&mut e, 1, OrderKind::Market); // 11 µs by the curve, but queued behind: 100 µs
    e.on_event(&quote(50, 1000, 5, 1010, 5));
    assert!(e.strategy().fills().is_empty(), "neither overtook the slow one");
    e.on_event(&quote(100, 1000, 5, 1011, 5));
    let order: Vec<_> = e.strategy().fills().iter().map(|f| f.0).collect();
    assert_eq!(order, vec![slow, fast]);
}

/// An event the venue saw at `event_us` and we at `recv_us`.
fn late_quote(event_us: i64, recv_us: i64, ask: i64) -> Event {
    Event { ts_event: t(event_us), ts_recv: t(recv_us), ..quote(0, 1000, 5, ask, 5) }
}

#[test]
fn on_exchange_time_orders_meet_only_events_the_venue_saw_after_their_arrival() {
    let latency = Latency { entry: TimeSpan::from_nanos(10_000), response: TimeSpan::from_nanos(5_000) };
    for clock in [VenueClock::Recv, VenueClock::Event] {
        let mut e = engine_with(EngineConfig { latency, venue_clock: clock, ..config() });
        e.on_event(&late_quote(100, 150, 1010));
        let id = buy(&mut e, 1, OrderKind::Market); // sent at 150 µs: reaches the venue at 160 µs
        // The venue quoted this at 155 µs (before our order arrived); we see it at 205 µs.
        e.on_event(&late_quote(155, 205, 1011));
        // The venue quoted this at 170 µs (after the arrival); we see it at 220 µs.
        e.on_event(&late_quote(170, 220, 1012));
        e.on_event(&late_quote(300, 400, 1013));
        let fills = e.strategy().fills();
        match clock {
            // Without feed latency the order meets the first event we see after 160 µs.
            VenueClock::Recv => {
                assert_eq!(fills, vec![(id, q(1), p(1011), Liquidity::Taker, Status::Completed)])
            }
            VenueClock::Event => {
                assert_eq!(fills, vec![(id, q(1), p(1012), Liquidity::Taker, Status::Completed)]);
                // Filled at the venue at 170 µs, reported 5 µs later (we learn of it at 220 µs).
                let Some(Seen::Fill(f)) = e.strategy().seen.iter().find(|s| matches!(s, Seen::Fill(_)))
                else {
                    panic!()
                };
                assert_eq!((f.venue_ts, f.ts), (t(170), t(220)));
            }
        }
    }
}

fn level(us: i64, side: kestrel_types::BookSide, price: i64, size: i64) -> Event {
    ev(us, Payload::Level(LevelUpdate { side, price: p(price), size: q(size) }))
}

mod book;
