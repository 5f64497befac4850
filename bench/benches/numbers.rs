//! Regime: the per-fill money path of a backtest, one fill at a time, on a hot core.
//!
//! A backtest turns every simulated execution into money: it parses the price from the tick file's
//! text, forms the exact notional size × price, charges a commission as one exact 3-factor product
//! |size| × rate × price rounded once to money, adds the notional to the position's cost basis and
//! reads the average price back from that basis (rounded once). Those are the operations measured
//! here, each over [`FILLS`] seeded fills (stocks, futures, FX, crypto; see `kestrel_bench`) per
//! iteration, so each figure is a batch time that `BENCHMARKS.md` divides by [`FILLS`] for ns/op.
//!
//! Each operation is measured three ways in the same run, on the same inputs:
//! - `kestrel`: `kestrel-types` (i64/i128 nano-units, `Exact` rounded once with a named mode);
//! - `rust_decimal`: the exact peer (96-bit mantissa), doing the same operation with the same
//!   rounding, as a user of `rust_decimal` would write it;
//! - `f64`: the physical limit: one hardware instruction per operation, no rounding control, not
//!   exact (it cannot be used for money; it shows how much the exactness costs).
//!
//! Inputs are parsed or converted outside the measured closure, results go through
//! [`black_box`], and the stateful `fill_path` group uses `iter_batched` so that resetting the
//! position between batches is not measured.

use std::hint::black_box;
use std::str::FromStr;

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use kestrel_bench::{FILLS, Fill, SEED, fills};
use kestrel_types::{Exact, Money, Notional, Price, Qty, Rounding};
use rust_decimal::{Decimal, RoundingStrategy};

/// The Kestrel inputs of one fill.
#[derive(Clone, Copy)]
struct KestrelFill {
    qty: Qty,
    price: Price,
    rate: kestrel_types::Ratio,
}

/// The same fill for the `rust_decimal` peer, parsed from the same text.
#[derive(Clone, Copy)]
struct DecimalFill {
    qty: Decimal,
    price: Decimal,
    rate: Decimal,
}

/// The same fill for the `f64` baseline, parsed from the same text.
#[derive(Clone, Copy)]
struct FloatFill {
    qty: f64,
    price: f64,
    rate: f64,
}

/// Every input in the three representations, built once before any measurement.
struct Inputs {
    fills: Vec<Fill>,
    kestrel: Vec<KestrelFill>,
    decimal: Vec<DecimalFill>,
    float: Vec<FloatFill>,
    /// Cost bases (Σ size × price of 1–8 consecutive fills) and their sizes, per representation.
    kestrel_bases: Vec<(Notional, Qty)>,
    decimal_bases: Vec<(Decimal, Decimal)>,
    float_bases: Vec<(f64, f64)>,
}

impl Inputs {
    fn new() -> Self {
        let fills = fills(FILLS, SEED);
        let dec = |s: &str| Decimal::from_str(s).expect("valid decimal");
        let flt = |s: &str| f64::from_str(s).expect("valid float");
        let kestrel: Vec<_> =
            fills.iter().map(|f| KestrelFill { qty: f.qty, price: f.price, rate: f.rate }).collect();
        let decimal: Vec<_> = fills
            .iter()
            .map(|f| DecimalFill {
                qty: dec(&f.qty_text),
                price: dec(&f.price_text),
                rate: dec(&f.rate_text),
            })
            .collect();
        let float: Vec<_> = fills
            .iter()
            .map(|f| FloatFill { qty: flt(&f.qty_text), price: flt(&f.price_text), rate: flt(&f.rate_text) })
            .collect();
        // A basis of 1 to 8 legs ending at each fill: a position built by partial fills.
        let legs = |i: usize| (i.saturating_sub(i % 8))..=i;
        let kestrel_bases = (0..FILLS)
            .map(|i| {
                kestrel[legs(i)].iter().fold((Notional::ZERO, Qty::ZERO), |(c, s), f| {
                    (
                        c.try_add(f.qty.notional(f.price)).expect("in range"),
                        s.try_add(f.qty).expect("in range"),
                    )
                })
            })
            .collect();
        let decimal_bases = (0..FILLS)
            .map(|i| {
                decimal[legs(i)]
                    .iter()
                    .fold((Decimal::ZERO, Decimal::ZERO), |(c, s), f| (c + f.qty * f.price, s + f.qty))
            })
            .collect();
        let float_bases = (0..FILLS)
            .map(|i| float[legs(i)].iter().fold((0.0, 0.0), |(c, s), f| (c + f.qty * f.price, s + f.qty)))
            .collect();
        let inputs = Self { fills, kestrel, decimal, float, kestrel_bases, decimal_bases, float_bases };
        inputs.check_exact_peers_agree();
        inputs
    }

    /// The two exact implementations must compute the same money, or comparing their speed means
    /// nothing: checked once, before any measurement.
    fn check_exact_peers_agree(&self) {
        let text = |d: Decimal| d.normalize().to_string();
        for (k, d) in self.kestrel.iter().zip(&self.decimal) {
            assert_eq!(kestrel_commission(k).to_string(), text(decimal_commission(d)));
            assert_eq!(k.qty.notional(k.price).to_string(), text(d.qty * d.price));
        }
        for ((kc, ks), (dc, ds)) in self.kestrel_bases.iter().zip(&self.decimal_bases) {
            let avg = kc.average_price(*ks, Rounding::HalfEven).expect("in range");
            assert_eq!(
                avg.to_string(),
                text((dc / ds).round_dp_with_strategy(9, RoundingStrategy::MidpointNearestEven))
            );
        }
    }
}

/// Kestrel's commission: one exact product, rounded once to money (banker's rounding).
fn kestrel_commission(f: &KestrelFill) -> Money {
    Exact::qty(f.qty)
        .abs()
        .try_mul(Exact::ratio(f.rate))
        .and_then(|e| e.try_mul(Exact::price(f.price)))
        .and_then(|e| e.to_money(Rounding::HalfEven))
        .expect("commission in range")
}

/// The same commission with rust_decimal: exact product (within 28 digits), rounded once.
fn decimal_commission(f: &DecimalFill) -> Decimal {
    (f.qty.abs() * f.rate * f.price).round_dp_with_strategy(9, RoundingStrategy::MidpointNearestEven)
}

/// Parsing a price from the text a tick file or feed delivers.
fn parse_price(c: &mut Criterion, inputs: &Inputs) {
    let mut g = c.benchmark_group("numbers/parse_price");
    g.throughput(Throughput::Elements(FILLS as u64));
    g.bench_function("kestrel", |b| {
        b.iter(|| {
            for f in &inputs.fills {
                black_box(Price::from_str(black_box(&f.price_text)).expect("valid"));
            }
        });
    });
    g.bench_function("rust_decimal", |b| {
        b.iter(|| {
            for f in &inputs.fills {
                black_box(Decimal::from_str(black_box(&f.price_text)).expect("valid"));
            }
        });
    });
    g.bench_function("f64", |b| {
        b.iter(|| {
            for f in &inputs.fills {
                black_box(f64::from_str(black_box(&f.price_text)).expect("valid"));
            }
        });
    });
    g.finish();
}

/// The exact notional size × price (Kestrel: i64 × i64 into an i128 at 10^-18, no rounding).
fn notional(c: &mut Criterion, inputs: &Inputs) {
    let mut g = c.benchmark_group("numbers/notional");
    g.throughput(Throughput::Elements(FILLS as u64));
    g.bench_function("kestrel", |b| {
        b.iter(|| {
            for f in &inputs.kestrel {
                let f = black_box(f);
                black_box(f.qty.notional(f.price));
            }
        });
    });
    g.bench_function("rust_decimal", |b| {
        b.iter(|| {
            for f in &inputs.decimal {
                let f = black_box(f);
                black_box(f.qty * f.price);
            }
        });
    });
    g.bench_function("f64", |b| {
        b.iter(|| {
            for f in &inputs.float {
                let f = black_box(f);
                black_box(f.qty * f.price);
            }
        });
    });
    g.finish();
}

/// Commission = |size| × rate × price, one 3-factor product rounded once to 10^-9.
fn commission(c: &mut Criterion, inputs: &Inputs) {
    let mut g = c.benchmark_group("numbers/commission");
    g.throughput(Throughput::Elements(FILLS as u64));
    g.bench_function("kestrel", |b| {
        b.iter(|| {
            for f in &inputs.kestrel {
                black_box(kestrel_commission(black_box(f)));
            }
        });
    });
    g.bench_function("rust_decimal", |b| {
        b.iter(|| {
            for f in &inputs.decimal {
                black_box(decimal_commission(black_box(f)));
            }
        });
    });
    g.bench_function("f64", |b| {
        b.iter(|| {
            for f in &inputs.float {
                let f = black_box(f);
                black_box(f.qty.abs() * f.rate * f.price);
            }
        });
    });
    g.finish();
}

/// The average price of a cost basis (Σ size × price ÷ Σ size), rounded once to 10^-9.
fn average_price(c: &mut Criterion, inputs: &Inputs) {
    let mut g = c.benchmark_group("numbers/average_price");
    g.throughput(Throughput::Elements(FILLS as u64));
    g.bench_function("kestrel", |b| {
        b.iter(|| {
            for (cost, size) in &inputs.kestrel_bases {
                let (cost, size) = black_box((*cost, *size));
                black_box(cost.average_price(size, Rounding::HalfEven).expect("in range"));
            }
        });
    });
    g.bench_function("rust_decimal", |b| {
        b.iter(|| {
            for (cost, size) in &inputs.decimal_bases {
                let (cost, size) = black_box((*cost, *size));
                black_box((cost / size).round_dp_with_strategy(9, RoundingStrategy::MidpointNearestEven));
            }
        });
    });
    g.bench_function("f64", |b| {
        b.iter(|| {
            for (cost, size) in &inputs.float_bases {
                let (cost, size) = black_box((*cost, *size));
                black_box(cost / size);
            }
        });
    });
    g.finish();
}

/// A position's running state in one representation: what the fill path updates.
#[derive(Clone, Copy, Default)]
struct Position<N, S, M> {
    cost: N,
    size: S,
    cash: M,
}

/// The whole per-fill path: parse the price, notional, cost basis, commission, cash, average price.
///
/// Stateful, so each batch starts from a flat position built by `iter_batched`'s set-up (not
/// measured) and hands the final state back (its drop not measured either).
fn fill_path(c: &mut Criterion, inputs: &Inputs) {
    let mut g = c.benchmark_group("numbers/fill_path");
    g.throughput(Throughput::Elements(FILLS as u64));
    g.bench_function("kestrel", |b| {
        b.iter_batched(
            Position::<Notional, Qty, Money>::default,
            |mut pos| {
                for (f, k) in inputs.fills.iter().zip(&inputs.kestrel) {
                    let price = Price::from_str(black_box(&f.price_text)).expect("valid");
                    let fill = KestrelFill { price, ..*k };
                    let notional = fill.qty.notional(price);
                    let fee = kestrel_commission(&fill);
                    pos.cost = pos.cost.try_add(notional).expect("in range");
                    pos.size = pos.size.try_add(fill.qty).expect("in range");
                    let spent = notional.to_money(Rounding::HalfEven).try_add(fee).expect("in range");
                    pos.cash = pos.cash.try_sub(spent).expect("in range");
                    black_box(pos.cost.average_price(pos.size, Rounding::HalfEven).expect("in range"));
                }
                pos
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("rust_decimal", |b| {
        b.iter_batched(
            Position::<Decimal, Decimal, Decimal>::default,
            |mut pos| {
                for (f, d) in inputs.fills.iter().zip(&inputs.decimal) {
                    let price = Decimal::from_str(black_box(&f.price_text)).expect("valid");
                    let fill = DecimalFill { price, ..*d };
                    let notional = fill.qty * price;
                    let fee = decimal_commission(&fill);
                    pos.cost += notional;
                    pos.size += fill.qty;
                    let spent =
                        notional.round_dp_with_strategy(9, RoundingStrategy::MidpointNearestEven) + fee;
                    pos.cash -= spent;
                    black_box(
                        (pos.cost / pos.size)
                            .round_dp_with_strategy(9, RoundingStrategy::MidpointNearestEven),
                    );
                }
                pos
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("f64", |b| {
        b.iter_batched(
            Position::<f64, f64, f64>::default,
            |mut pos| {
                for (f, x) in inputs.fills.iter().zip(&inputs.float) {
                    let price = f64::from_str(black_box(&f.price_text)).expect("valid");
                    let notional = x.qty * price;
                    let fee = x.qty.abs() * x.rate * price;
                    pos.cost += notional;
                    pos.size += x.qty;
                    pos.cash -= notional + fee;
                    black_box(pos.cost / pos.size);
                }
                pos
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// Runs every group on one set of inputs, so that the peers see identical numbers.
fn numbers(c: &mut Criterion) {
    let inputs = Inputs::new();
    parse_price(c, &inputs);
    notional(c, &inputs);
    commission(c, &inputs);
    average_price(c, &inputs);
    fill_path(c, &inputs);
}

/// The group `criterion_main!` runs: `criterion_group!` written out, so that it carries a doc.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    numbers(&mut criterion);
}

criterion_main!(benches);
