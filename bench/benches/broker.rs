//! Regime: one step of the bar broker (`SimBroker::step`) on one feed, the unit of a bar backtest.
//!
//! Three states, each stepped over the same bar again and again so that nothing changes between
//! iterations: `flat` (no position, nothing pending: the floor of a step), `long_resting` (a long
//! position and ten resting limit orders far from the price: the queue walk and the valuation), and
//! `sma_backtest` (a whole SMA(10)/SMA(30) crossover backtest over 100,000 generated one-minute
//! bars with market orders and 0.1% commission, per bar: what `kestrel bench bars` measures).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use kestrel_engine::backtest;
use kestrel_engine::broker::{BrokerConfig, SimBroker};
use kestrel_engine::order::{ExecType, OrderSpec, Side};
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_engine::strategy::sma_cross::SmaCross;
use kestrel_engine::trade::TradeBook;
use kestrel_replay::synth::{WalkSpec, random_walk};
use kestrel_types::{InstrumentId, Qty};

fn broker() -> SimBroker {
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: "0.001".parse().expect("rate"),
        ..CommissionParams::setcommission()
    })
    .expect("scheme");
    let config = BrokerConfig { cash: "100000".parse().expect("cash"), ..BrokerConfig::default() };
    SimBroker::new(config, vec![scheme], 1024).expect("broker")
}

fn steps(c: &mut Criterion) {
    let bars = random_walk(&WalkSpec::minutes(5, 100_000));
    let ins = InstrumentId(0);
    let mut group = c.benchmark_group("broker_step");
    group.throughput(Throughput::Elements(1));

    let mut flat = broker();
    flat.set_bar(ins, bars[0]).expect("bar");
    group.bench_function("flat", |b| {
        b.iter(|| {
            flat.set_bar(ins, black_box(bars[1])).expect("bar");
            flat.step().expect("step");
        });
    });

    let mut long = broker();
    long.set_bar(ins, bars[0]).expect("bar");
    long.submit(OrderSpec::market(ins, Side::Buy, Qty::ONE)).expect("order");
    long.set_bar(ins, bars[1]).expect("bar");
    long.step().expect("step");
    let far = bars[1]
        .low
        .scale_by("0.5".parse().expect("ratio"), kestrel_types::Rounding::HalfEven)
        .expect("price");
    for _ in 0..10 {
        long.submit(OrderSpec::priced(ins, Side::Buy, Qty::ONE, ExecType::Limit, far)).expect("order");
    }
    long.step().expect("step");
    group.bench_function("long_resting", |b| {
        b.iter(|| {
            long.set_bar(ins, black_box(bars[2])).expect("bar");
            long.step().expect("step");
        });
    });
    group.finish();

    let mut whole = c.benchmark_group("sma_backtest");
    whole.throughput(Throughput::Elements(bars.len() as u64));
    whole.sample_size(10);
    whole.bench_function("100k_bars", |b| {
        b.iter_batched(
            || {
                (
                    broker_sized(bars.len()),
                    TradeBook::with_capacity(1, bars.len() / 16 + 512),
                    SmaCross::new(ins, 10, 30, Qty::ONE),
                )
            },
            |(mut broker, mut trades, mut strategy)| {
                backtest::run(&[&bars], &mut broker, &mut trades, &mut strategy).expect("run");
                black_box(strategy.orders())
            },
            BatchSize::LargeInput,
        );
    });
    whole.finish();
}

fn broker_sized(bars: usize) -> SimBroker {
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: "0.001".parse().expect("rate"),
        ..CommissionParams::setcommission()
    })
    .expect("scheme");
    let config = BrokerConfig { cash: "100000".parse().expect("cash"), ..BrokerConfig::default() };
    // Sized as `kestrel bench bars` sizes it: about one order per 25 bars, with a wide margin.
    SimBroker::new(config, vec![scheme], bars / 8 + 1024).expect("broker")
}

/// The group `criterion_main!` runs (`criterion_group!` written out, so that it carries a doc).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    steps(&mut c);
}

criterion_main!(benches);
