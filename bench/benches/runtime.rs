//! Regime: the live runtime's building blocks, each on one thread and in cache.
//!
//! - `ring/push_pop`: one 88-byte `Event` pushed onto and popped off an `rtrb` SPSC ring (both
//!   ends on this thread: the ring's own cost, without a cache line crossing cores).
//! - `engine/quote_noop`: `Engine::on_event` for one quote with a no-op strategy: the per-event
//!   floor of the loop.
//! - `engine/quote_to_order`: a quote whose strategy answers with a market order, the request
//!   taken off the engine's queue, and the venue's fill report processed: one tick-to-order and
//!   its fill, with a live venue (`VenueMode::External`).
//! - `order_state/*`: the order state machine's transitions (`Status::apply`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_main};
use kestrel_engine::engine::{
    Engine, EngineConfig, NoopStrategy, OrderKind, TickContext, TickStrategy, VenueMode,
};
use kestrel_engine::order::{Status, StatusEvent};
use kestrel_types::{Event, ExecRecord, InstrumentId, Money, Payload, Price, Qty, Quote, Timestamp};

fn quote(ts: i64, bid: i64) -> Event {
    Event {
        ts_event: Timestamp::from_nanos(ts),
        ts_recv: Timestamp::from_nanos(ts),
        instrument: InstrumentId(0),
        payload: Payload::Quote(Quote {
            bid: Price::from_raw(bid),
            bid_size: Qty::ONE,
            ask: Price::from_raw(bid + 10_000_000),
            ask_size: Qty::ONE,
        }),
    }
}

/// A market order for every quote, alternating sides.
struct Answer {
    buy: bool,
}

impl TickStrategy for Answer {
    const ON_BOOK: bool = false;

    fn on_quote(&mut self, ctx: &mut TickContext<'_>, ins: InstrumentId, _q: &Quote) {
        let _ = if self.buy {
            ctx.buy(ins, Qty::ONE, OrderKind::Market)
        } else {
            ctx.sell(ins, Qty::ONE, OrderKind::Market)
        };
        self.buy = !self.buy;
    }
}

fn ring(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring");
    group.throughput(Throughput::Elements(1));
    let (mut tx, mut rx) = rtrb::RingBuffer::<Event>::new(1024);
    let ev = quote(1, 100_000_000_000);
    group.bench_function("push_pop", |b| {
        b.iter(|| {
            let _ = tx.push(black_box(ev));
            black_box(rx.pop().ok())
        });
    });
    group.finish();
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    let mut noop = Engine::try_new(EngineConfig::new(1), NoopStrategy).expect("engine");
    let mut ts = 0i64;
    group.bench_function("quote_noop", |b| {
        b.iter(|| {
            ts += 1;
            noop.on_event(black_box(&quote(ts, 100_000_000_000 + (ts & 7) * 10_000_000)));
        });
    });
    let config = EngineConfig {
        venue: VenueMode::External,
        cash: Money::try_from_units(1_000_000_000).expect("cash"),
        ..EngineConfig::new(1)
    };
    let mut live = Engine::try_new(config, Answer { buy: true }).expect("engine");
    live.start();
    let mut ts = 0i64;
    let mut exec = 0u64;
    group.bench_function("quote_to_order", |b| {
        b.iter(|| {
            ts += 2;
            live.on_event(black_box(&quote(ts, 100_000_000_000)));
            let mut order = None;
            live.drain_requests(|r| {
                order = Some(*r);
                true
            });
            if let Some(r) = order {
                exec += 1;
                let qty =
                    if r.request.side == kestrel_engine::order::Side::Buy { Qty::ONE } else { -Qty::ONE };
                let fill = ExecRecord {
                    order: r.order.0,
                    exec,
                    status: 4,
                    qty,
                    price: Price::from_raw(100_000_000_000),
                    fee: 0,
                };
                let t = Timestamp::from_nanos(ts + 1);
                live.on_event(&Event {
                    ts_event: t,
                    ts_recv: t,
                    instrument: InstrumentId(0),
                    payload: Payload::Exec(fill),
                });
            }
        });
    });
    assert_eq!(live.counters().refused, 0, "every quote got its order");
    group.finish();
}

fn order_state(c: &mut Criterion) {
    let mut group = c.benchmark_group("order_state");
    group.throughput(Throughput::Elements(4));
    group.bench_function("submit_accept_partial_complete", |b| {
        b.iter(|| {
            let s = black_box(Status::Created).apply(StatusEvent::Submit).map(|t| t.status());
            let s = s.and_then(|s| s.apply(StatusEvent::Accept).map(|t| t.status()));
            let s = s.and_then(|s| s.apply(StatusEvent::Fill { completes: false }).map(|t| t.status()));
            black_box(s.and_then(|s| s.apply(StatusEvent::Fill { completes: true }).map(|t| t.status())))
        });
    });
    group.finish();
}

/// The group `criterion_main!` runs (`criterion_group!` written out, so that it carries a doc).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    ring(&mut c);
    engine(&mut c);
    order_state(&mut c);
}

criterion_main!(benches);
