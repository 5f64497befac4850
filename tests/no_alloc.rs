//! The per-fill money path allocates nothing once its books are sized.
//!
//! A fill's accounting — position update, commission, pnl, cash moves into a journal sized at
//! start-up, trade events, the state machine — runs once per execution in a tick backtest, so a
//! heap allocation there would cost on every event. Measured with the per-thread counter.

use kestrel_engine::account::Account;
use kestrel_engine::order::{Status, StatusEvent};
use kestrel_engine::position::Position;
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_engine::trade::{TradeBook, TradeExecution};
use kestrel_tests::count_allocations;
use kestrel_types::{Currency, InstrumentId, Price, Qty, Rounding, Timestamp};

const EVENTS: u64 = 200_000;

#[test]
fn the_per_fill_money_path_allocates_nothing() {
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: "0.001".parse().unwrap(),
        interest: "0.05".parse().unwrap(),
        ..CommissionParams::setcommission()
    })
    .unwrap();
    let usd = Currency::USD;
    let ins = InstrumentId(0);
    // Sized at start-up: one journal entry per cash move, one trade per round trip.
    let mut account = Account::new(usize::try_from(EVENTS * 2 + 1).unwrap());
    let mut trades = TradeBook::with_capacity(1, usize::try_from(EVENTS).unwrap());
    let mut position = Position::new();
    account.deposit(usd, "1000000".parse().unwrap(), Timestamp::EPOCH).unwrap();

    let ((), allocations) = count_allocations(|| {
        for i in 0..EVENTS {
            let at = Timestamp::from_nanos(i64::try_from(i).unwrap() * 1_000_000_000);
            // Buy 3, sell 3 (a round trip every two events) at prices walking over a small range.
            let size = Qty::try_from_units(if i % 2 == 0 { 3 } else { -3 }).unwrap();
            let price = Price::from_raw(100_000_000_000 + i64::try_from(i % 97).unwrap() * 10_000_000);
            let update = position.update(size, price, at).unwrap();
            let closed_comm = scheme.commission(update.closed, price).unwrap();
            let opened_comm = scheme.commission(update.opened, price).unwrap();
            let pnl = scheme.closed_pnl(&update, price).unwrap();
            let interest = scheme.credit_interest(&position, at).unwrap();
            account.settle_fill(usd, -size.notional(price).to_money(Rounding::HalfEven), at).unwrap();
            account.charge_commission(usd, closed_comm.try_add(opened_comm).unwrap(), at).unwrap();
            let exec = TradeExecution::from_update(&update, price, closed_comm, opened_comm, i, at);
            let events = trades.apply(ins, &exec, &scheme).unwrap();
            std::hint::black_box((pnl, interest, events));
            let s = Status::Accepted.apply(StatusEvent::Fill { completes: true }).unwrap();
            std::hint::black_box(s);
        }
    });
    assert_eq!(allocations, 0, "the fill path allocated {allocations} times over {EVENTS} events");
    assert!(position.is_flat());
    assert_eq!(trades.trades().len(), usize::try_from(EVENTS / 2).unwrap());
}

/// A bar backtest allocates nothing per bar once warmed up: the broker step, the pending-queue walk,
/// the valuation and the strategy's averages run on preallocated state. Nor per order (one per
/// crossover): the order record goes into the store's reserved table with its first fill inline,
/// its generated client id is not stored, and the broker's chain and OCO links live in its dense
/// per-order table.
#[test]
fn a_bar_backtest_allocates_nothing_per_bar_after_warm_up() {
    use kestrel_engine::backtest;
    use kestrel_engine::broker::{BrokerConfig, SimBroker};
    use kestrel_engine::strategy::sma_cross::SmaCross;
    use kestrel_replay::synth::{WalkSpec, random_walk};

    let bars = random_walk(&WalkSpec::minutes(11, 200_000));
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: "0.001".parse().unwrap(),
        ..CommissionParams::setcommission()
    })
    .unwrap();
    let config = BrokerConfig { cash: "100000".parse().unwrap(), ..BrokerConfig::default() };
    let run = |bars: &[kestrel_types::Bar]| {
        let mut broker = SimBroker::new(config, vec![scheme], 200_000).unwrap();
        let mut trades = TradeBook::with_capacity(1, 100_000);
        // Warm-up is the construction above; the counted part is the run.
        let mut strategy = SmaCross::new(InstrumentId(0), 10, 30, Qty::ONE);
        let (summary, allocations) =
            count_allocations(|| backtest::run(&[bars], &mut broker, &mut trades, &mut strategy).unwrap());
        (summary.steps, strategy.orders(), allocations)
    };
    let (steps, orders, allocations) = run(&bars);
    assert_eq!(steps, 200_000);
    assert!(orders > 1_000, "the run must trade for the measure to mean anything: {orders} orders");
    // Per order and per bar: none. Once per run: the driver's feed cursors and two notification
    // buffers (as in the flat run below), and the broker's position scratch at its first check of
    // submitted orders.
    assert!(
        allocations <= 4,
        "{allocations} allocations for {orders} orders over {steps} bars: something allocates per order or per bar"
    );
    // And a stretch without orders allocates nothing at all: flat bars never cross.
    let c = bars[0].close;
    let flat: Vec<_> = bars[..5_000]
        .iter()
        .map(|b| kestrel_types::Bar { open: c, high: c, low: c, close: c, ..*b })
        .collect();
    let (_, orders, allocations) = run(&flat);
    assert_eq!(orders, 0);
    assert_eq!(allocations, 3, "only the driver's feed cursors and two notification buffers, once per run");
}

#[test]
fn the_counter_sees_this_threads_allocations() {
    // The test above would pass vacuously if the counter were not wired: prove it counts.
    let (v, n) = count_allocations(|| vec![1u8; 1024]);
    std::hint::black_box(v);
    assert!(n >= 1);
}

/// The tick replay allocates nothing per event: decoding from the mapping, the engine's market
/// state, the venue's fill check, the latency queues and the ledger, with a strategy that places
/// and cancels orders, all run on memory sized at start-up. 10^6 events are counted after a
/// warm-up replay; then the example quoter, behind latency, over 200,000 more.
#[test]
fn a_tick_replay_allocates_nothing_per_event_after_warm_up() {
    use kestrel_engine::engine::{
        Engine, EngineConfig, Latency, OrderKind, TickContext, TickFill, TickStrategy,
    };
    use kestrel_engine::strategy::quoter::{Quoter as ExampleQuoter, QuoterParams};
    use kestrel_replay::generate::{GenKind, GenSpec, generate_file, plain_instrument};
    use kestrel_replay::replayer::replay;
    use kestrel_replay::tick::TickFile;
    use kestrel_types::{InstrumentId, Money, Quote, TimeSpan};

    /// Keeps a buy at the bid and a sell at the ask, at most four working, oldest canceled first:
    /// every part of the engine's order path runs (submit, accept, fill, cancel, slot reuse), and
    /// the touch crossing them fills them.
    #[derive(Default)]
    struct Quoter {
        fills: u64,
    }

    impl TickStrategy for Quoter {
        fn on_quote(&mut self, ctx: &mut TickContext<'_>, ins: InstrumentId, q: &Quote) {
            loop {
                let live = ctx.open_orders().filter(|o| !o.cancel_pending);
                let (n, oldest) = live.fold((0, None), |(n, old): (usize, Option<_>), o| {
                    (n + 1, Some(old.map_or(o.id, |id| o.id.min(id))))
                });
                match oldest {
                    Some(id) if n > 2 => ctx.cancel(id).unwrap(),
                    _ => break,
                }
            }
            ctx.buy(ins, Qty::ONE, OrderKind::Limit { limit: q.bid }).unwrap();
            ctx.sell(ins, Qty::ONE, OrderKind::Limit { limit: q.ask }).unwrap();
        }

        fn on_fill(&mut self, _ctx: &mut TickContext<'_>, _fill: &TickFill) {
            self.fills += 1;
        }
    }

    const PER_FILE: u64 = 250_000;
    let path = std::env::temp_dir().join(format!("kestrel-no-alloc-{}.kt", std::process::id()));
    let spec = GenSpec {
        kind: GenKind::Mixed,
        events: PER_FILE,
        seed: 7,
        instrument: plain_instrument("SYN", Price::from_raw(10_000_000), Qty::ONE).unwrap(),
        start: Timestamp::from_nanos(1_704_205_800_000_000_000),
    };
    generate_file(&spec, &path).unwrap();
    let file = TickFile::open(&path).unwrap();
    let files = std::slice::from_ref(&file);
    let config = EngineConfig { cash: Money::try_from_units(1_000_000_000).unwrap(), ..EngineConfig::new(1) };
    let mut engine = Engine::try_new(config, Quoter::default()).unwrap();
    // Warm-up: one replay, so that nothing lazily initialised is counted.
    replay(files, &mut engine).unwrap();
    let (events, allocations) = count_allocations(|| {
        let mut events = 0;
        for _ in 0..4 {
            events += replay(files, &mut engine).unwrap().events;
        }
        events
    });
    assert_eq!(events, 1_000_000);
    assert_eq!(allocations, 0, "the replay allocated {allocations} times over {events} events");
    assert!(engine.strategy().fills > 1_000, "the orders must fill for the measure to mean anything");
    assert_eq!(engine.counters().refused, 0);

    // The example quoting strategy behind 50 µs of latency each way: warmed up on the first
    // 50,000 events, counted over the rest (time only moves forward, so one pass).
    let latency = Latency::symmetric(TimeSpan::from_nanos(50_000));
    let mut quoter =
        Engine::try_new(EngineConfig { latency, ..config }, ExampleQuoter::new(QuoterParams::default()))
            .unwrap();
    quoter.set_instruments(&file.header().instruments);
    quoter.start();
    let mut events = file.events().map(Result::unwrap);
    events.by_ref().take(50_000).for_each(|ev| quoter.on_event(&ev));
    let (counted, allocations) = count_allocations(|| events.map(|ev| quoter.on_event(&ev)).count());
    drop(file);
    let _ = std::fs::remove_file(&path);
    assert_eq!(counted, 200_000);
    assert_eq!(allocations, 0, "the quoter's run allocated {allocations} times over {counted} events");
    let stats = quoter.strategy().stats();
    assert!(stats.placed > 1_000 && quoter.counters().fills > 10, "{stats:?} {:?}", quoter.counters());
    assert_eq!(quoter.counters().report_queue_grew, 0);
}
