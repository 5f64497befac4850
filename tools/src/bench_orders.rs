//! `kestrel bench orders --orders N`: the whole order path per order, one strategy on one thread.
//!
//! Each quote makes the strategy send a market order (alternately buy and sell, so cash and
//! position stay bounded); at the next quote the simulated venue acknowledges and fills it, the
//! engine books position, cash and commission (2 bp) and calls the strategy back with the fill and
//! the order update. So one order is: submit → accept → fill → ledger → two notifications, plus
//! the quote that carries it. The order slots are reused, so the cost per order must not grow
//! with the count: the JSON line gives the cost over the first and the last 10,000 orders.

use std::io::Write;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use kestrel_engine::engine::{
    Engine, EngineConfig, OrderKind, OrderUpdate, TickContext, TickFill, TickStrategy,
};
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_types::{Event, InstrumentId, Money, Payload, Price, Qty, Quote, Timestamp};

/// Options of `kestrel bench orders`.
#[derive(Debug, Args)]
pub(crate) struct OrdersArgs {
    /// How many orders.
    #[arg(long, default_value_t = 10_000_000)]
    orders: u64,
}

/// A market order for every quote, alternating sides; counts what it is told.
#[derive(Default)]
struct OrderFlow {
    buy: bool,
    fills: u64,
    updates: u64,
    refused: u64,
}

impl TickStrategy for OrderFlow {
    const ON_BOOK: bool = false;

    fn on_quote(&mut self, ctx: &mut TickContext<'_>, ins: InstrumentId, _q: &Quote) {
        self.buy = !self.buy;
        let sent = if self.buy {
            ctx.buy(ins, Qty::ONE, OrderKind::Market)
        } else {
            ctx.sell(ins, Qty::ONE, OrderKind::Market)
        };
        self.refused += u64::from(sent.is_err());
    }

    fn on_fill(&mut self, _ctx: &mut TickContext<'_>, _fill: &TickFill) {
        self.fills += 1;
    }

    fn on_order(&mut self, _ctx: &mut TickContext<'_>, _update: &OrderUpdate) {
        self.updates += 1;
    }
}

/// The `k`-th quote: a 1-tick market wiggling around 100.
fn quote(k: u64) -> Event {
    let t = Timestamp::from_nanos(1_704_205_800_000_000_000 + i64::try_from(k).unwrap_or(0) * 1_000);
    let bid = 100_000_000_000 + i64::try_from(k % 4).unwrap_or(0) * 10_000_000;
    let q = Quote {
        bid: Price::from_raw(bid),
        bid_size: Qty::from_raw(100 * Qty::ONE.raw()),
        ask: Price::from_raw(bid + 10_000_000),
        ask_size: Qty::from_raw(100 * Qty::ONE.raw()),
    };
    Event { ts_event: t, ts_recv: t, instrument: InstrumentId(0), payload: Payload::Quote(q) }
}

/// Runs the benchmark and prints its JSON line.
pub(crate) fn run(args: &OrdersArgs, out: &mut impl Write) -> Result<()> {
    const WINDOW: u64 = 10_000;
    if args.orders < 2 * WINDOW {
        bail!("--orders must be at least {} (two windows of {WINDOW})", 2 * WINDOW);
    }
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: "0.0002".parse()?,
        ..CommissionParams::setcommission()
    })?;
    let config = EngineConfig { cash: Money::try_from_units(1_000_000_000)?, scheme, ..EngineConfig::new(1) };
    let mut engine = Engine::try_new(config, OrderFlow::default())?;
    engine.start();
    let n = args.orders;
    let start = Instant::now();
    let mut first = std::time::Duration::ZERO;
    let mut last_from = start;
    // Quote k sends order k; quote k + 1 fills it: n + 1 quotes for n orders.
    for k in 0..=n {
        if k == WINDOW + 1 {
            first = start.elapsed();
        }
        if k == n - WINDOW + 1 {
            last_from = Instant::now();
        }
        engine.on_event(&quote(k));
    }
    let last = last_from.elapsed();
    let total = start.elapsed();
    let s = engine.strategy();
    // The last quote sent one more order, which nothing filled.
    if s.fills != n || s.refused != 0 {
        bail!(
            "{} orders filled of {n}, {} refused: the benchmark did not measure what it says",
            s.fills,
            s.refused
        );
    }
    #[expect(clippy::cast_precision_loss, reason = "throughput and per-order figures, not money")]
    let (rate, a, b) = (
        n as f64 / total.as_secs_f64().max(1e-9),
        first.as_nanos() as f64 / WINDOW as f64,
        last.as_nanos() as f64 / WINDOW as f64,
    );
    writeln!(
        out,
        "{{\"orders\":{n},\"orders_per_sec\":{rate:.0},\"ns_per_order_first_10k\":{a:.1},\"ns_per_order_last_10k\":{b:.1}}}"
    )?;
    Ok(())
}
