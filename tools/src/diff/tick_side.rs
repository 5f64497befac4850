//! The tick engine's run: each bar as four trade ticks in a [`Path`]'s order, then the bar, through
//! [`Engine`] with zero latency; the strategy decides on the bar and brackets its entries with a
//! stop and a limit it links itself (one's fill cancels the other).
//!
//! The legs go out at the close of the bar the entry filled on, not on the fill itself: sent on
//! the fill (at the open print), their first look at the market would be the bar's high or low
//! print, which the venue's trades-only rule takes as the touch, so a target would fill at the
//! high as if the market had gapped there. That is an artifact of a four-print path, and a
//! path-dependent one (path B's target first sees the low and then rests), which would count as
//! intrabar ambiguity on bars that cover only one exit. From the close they rest from the next
//! open on, which is also when backtrader activates bracket legs.

use anyhow::{Result, bail};
use kestrel_engine::engine::{
    Engine, EngineConfig, Latency, OrderKind, OrderRequest, OrderUpdate, TickContext, TickFill, TickStrategy,
};
use kestrel_engine::order::{Side, Status};
use kestrel_replay::generate::plain_instrument;
use kestrel_types::{
    Aggressor, Bar, Event, InstrumentId, Notional, OrderId, Payload, Qty, Rounding, Timestamp, Trade,
};

use super::strategy::{Cross, Signal, StrategyName};
use super::{FillRec, OrderKey, Path, Role, RunLog, Setup, Tick};

const INS: InstrumentId = InstrumentId(0);

/// The diff's strategy on the tick engine.
struct TickSide<'a> {
    setup: &'a Setup,
    cross: Cross,
    log: RunLog,
    /// Where the driver is: the bar being replayed and the tick of its path.
    bar: usize,
    tick: Tick,
    /// The entry being filled: its key, filled quantity and exact cost.
    entry: Option<(OrderKey, Qty, Notional)>,
    /// An entry filled completely on this bar: its exits go out at the bar's close.
    filled_entry: Option<(OrderKey, Qty, Notional)>,
    /// The working stop and target.
    legs: Option<(OrderId, OrderId)>,
    /// Requests the engine refused (none expected): the run fails with them.
    errors: Vec<String>,
}

impl TickSide<'_> {
    fn submit(
        &mut self,
        ctx: &mut TickContext<'_>,
        key: OrderKey,
        side: Side,
        size: Qty,
        kind: OrderKind,
    ) -> Option<OrderId> {
        match ctx.submit(OrderRequest::new(INS, side, size, kind)) {
            Ok(id) => {
                self.log.placed(key, id.0, side);
                Some(id)
            }
            Err(e) => {
                self.errors.push(format!("bar {}: {} {}: {e}", self.bar, key.role.name(), side.name()));
                None
            }
        }
    }

    fn cancel(&mut self, ctx: &mut TickContext<'_>, id: OrderId) {
        if let Err(e) = ctx.cancel(id) {
            self.errors.push(format!("bar {}: cancel {id}: {e}", self.bar));
        }
    }

    /// The entry filled completely (`qty` for `cost`): the stop and the target go out for its
    /// quantity, priced from its average price.
    fn place_exits(&mut self, ctx: &mut TickContext<'_>, key: OrderKey, qty: Qty, cost: Notional) {
        let entry = match cost.average_price(qty, Rounding::HalfEven) {
            Ok(p) => p,
            Err(e) => return self.errors.push(format!("bar {}: entry price: {e}", self.bar)),
        };
        let (stop, target) = match self.setup.spec.exits(entry, self.setup.grid) {
            Ok(x) => x,
            Err(e) => return self.errors.push(format!("bar {}: {e:#}", self.bar)),
        };
        let signal = key.signal;
        let s = self.submit(
            ctx,
            OrderKey { signal, role: Role::Stop },
            Side::Sell,
            qty,
            OrderKind::Stop { stop },
        );
        let t = self.submit(
            ctx,
            OrderKey { signal, role: Role::Target },
            Side::Sell,
            qty,
            OrderKind::Limit { limit: target },
        );
        self.legs = s.zip(t);
    }
}

impl TickStrategy for TickSide<'_> {
    const ON_BOOK: bool = false;

    fn on_bar(&mut self, ctx: &mut TickContext<'_>, _instrument: InstrumentId, bar: &Bar) {
        let i = self.bar;
        if let Some((key, qty, cost)) = self.filled_entry.take() {
            self.place_exits(ctx, key, qty, cost);
        }
        let Some(signal) = self.cross.push(bar.close) else { return };
        let position = ctx.position(INS);
        let size = self.setup.spec.size;
        match signal {
            Signal::Up if position.is_zero() && self.legs.is_none() && self.entry.is_none() => {
                let key = OrderKey { signal: i, role: Role::Entry };
                if self.submit(ctx, key, Side::Buy, size, OrderKind::Market).is_some()
                    && self.setup.spec.name == StrategyName::SmaBracket
                {
                    self.entry = Some((key, Qty::ZERO, Notional::ZERO));
                }
            }
            Signal::Down if position.is_positive() => {
                if let Some((stop, target)) = self.legs.take() {
                    self.cancel(ctx, stop);
                    self.cancel(ctx, target);
                }
                self.submit(
                    ctx,
                    OrderKey { signal: i, role: Role::Exit },
                    Side::Sell,
                    position,
                    OrderKind::Market,
                );
            }
            Signal::Up | Signal::Down => {}
        }
    }

    fn on_fill(&mut self, ctx: &mut TickContext<'_>, fill: &TickFill) {
        let Some(key) = self.log.order_mut(fill.order.0).map(|o| o.key) else {
            return self.errors.push(format!("bar {}: a fill of unknown order {}", self.bar, fill.order));
        };
        self.log.fills.push(FillRec {
            key,
            seq: fill.order.0,
            side: fill.side,
            qty: fill.qty,
            price: fill.price,
            bar: self.bar,
            tick: Some(self.tick),
        });
        match key.role {
            Role::Entry => {
                let Some((k, qty, cost)) = self.entry.take() else { return };
                let (Some(qty), Ok(cost)) =
                    (qty.checked_add(fill.qty), cost.try_add(fill.qty.notional(fill.price)))
                else {
                    return self.errors.push(format!("bar {}: entry size out of range", self.bar));
                };
                if fill.status == Status::Completed {
                    self.filled_entry = Some((k, qty, cost));
                } else {
                    self.entry = Some((k, qty, cost));
                }
            }
            // One cancels the other, from the first fill on.
            Role::Stop => {
                if let Some((_, target)) = self.legs.take() {
                    self.cancel(ctx, target);
                }
            }
            Role::Target => {
                if let Some((stop, _)) = self.legs.take() {
                    self.cancel(ctx, stop);
                }
            }
            Role::Exit => {}
        }
    }

    fn on_order(&mut self, _ctx: &mut TickContext<'_>, update: &OrderUpdate) {
        if let Some(o) = self.log.order_mut(update.order.id.0) {
            o.status = update.order.status;
        }
        // An entry that ends without filling completely brackets nothing.
        if let Some((k, _, _)) = self.entry
            && self.log.order(k).is_some_and(|o| o.seq == update.order.id.0)
            && !update.order.is_open()
            && update.order.status != Status::Completed
        {
            self.entry = None;
        }
    }
}

/// Runs the strategy of `setup` over `bars` turned into ticks along `path`.
///
/// # Errors
/// A configuration the engine refuses, an order it refuses, or a booking error.
pub(crate) fn run(bars: &[Bar], setup: &Setup, path: Path) -> Result<RunLog> {
    let instrument = plain_instrument("DIFF", setup.grid.tick, setup.grid.lot)?;
    let config = EngineConfig {
        cash: setup.cash,
        scheme: setup.scheme,
        latency: Latency::ZERO,
        optimistic: setup.optimistic,
        ..EngineConfig::new(1)
    };
    let strategy = TickSide {
        setup,
        cross: Cross::new(setup.spec.fast, setup.spec.slow),
        log: RunLog::default(),
        bar: 0,
        tick: Tick::Open,
        entry: None,
        filled_entry: None,
        legs: None,
        errors: Vec::new(),
    };
    let mut engine = Engine::try_new(config, strategy)?;
    engine.set_instruments(&[instrument]);
    engine.start();
    // Liquidity never limits a fill: every print is far larger than any order.
    let size = Qty::from_raw(setup.spec.size.raw().saturating_mul(1000));
    for (i, bar) in bars.iter().enumerate() {
        for (k, tick) in (0i64..).zip(path.ticks()) {
            let price = match tick {
                Tick::Open => bar.open,
                Tick::High => bar.high,
                Tick::Low => bar.low,
                Tick::Close => bar.close,
            };
            let ts = Timestamp::from_nanos(bar.ts.nanos() - (4 - k));
            let s = engine.strategy_mut();
            (s.bar, s.tick) = (i, tick);
            let trade = Trade { price, size, aggressor: Aggressor::Unknown, trade_id: 0 };
            engine.on_event(&Event {
                ts_event: ts,
                ts_recv: ts,
                instrument: INS,
                payload: Payload::Trade(trade),
            });
        }
        engine.on_event(&Event {
            ts_event: bar.ts,
            ts_recv: bar.ts,
            instrument: INS,
            payload: Payload::Bar(*bar),
        });
    }
    engine.finish();
    let counters = engine.counters();
    if counters.ledger_errors != 0 || counters.unknown_instrument != 0 {
        bail!(
            "the engine counted {} ledger errors and {} unknown events",
            counters.ledger_errors,
            counters.unknown_instrument
        );
    }
    let s = engine.into_strategy();
    if let Some(first) = s.errors.first() {
        bail!("{} refused requests, the first: {first}", s.errors.len());
    }
    Ok(s.log)
}

#[cfg(test)]
mod tests {
    use std::path::Path as FsPath;

    use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
    use kestrel_replay::bars::{BarFormat, DateWindow, parse_bars};
    use kestrel_types::{Money, Price};

    use super::*;
    use crate::diff::strategy::Spec;

    /// A cross up on the third close, an entry at 100 on the fourth bar, and a fifth bar whose
    /// range covers both the stop (98) and the target (103).
    const TINY: &str = "Date,Open,High,Low,Close,Volume,OpenInterest
2024-01-01,100,100,100,100,0,0
2024-01-02,99,99,99,99,0,0
2024-01-03,101,101,101,101,0,0
2024-01-04,100,102.5,99.8,102,0,0
2024-01-05,100.5,104,97,103.5,0,0
2024-01-06,103,103.6,102.8,103.2,0,0
";

    fn setup() -> (Vec<Bar>, Setup) {
        let bars = parse_bars(FsPath::new("tiny.csv"), TINY.as_bytes(), BarFormat::BtCsv, DateWindow::ALL)
            .unwrap()
            .bars;
        let pairs: Vec<String> = ["fast=1", "slow=2", "stop=0.02", "target=0.03"].map(str::to_owned).to_vec();
        let spec = Spec::parse(StrategyName::SmaBracket, &pairs).unwrap();
        let grid = kestrel_engine::engine::Grid { tick: "0.1".parse().unwrap(), lot: Qty::ONE };
        let scheme = CommissionScheme::try_new(CommissionParams::setcommission()).unwrap();
        (
            bars,
            Setup { spec, grid, cash: Money::from_raw(1_000_000 * 1_000_000_000), scheme, optimistic: false },
        )
    }

    fn fills(log: &RunLog) -> Vec<(Role, usize, Price, Option<Tick>)> {
        log.fills.iter().map(|f| (f.key.role, f.bar, f.price, f.tick)).collect()
    }

    #[test]
    fn diff_tick_paths_fill_the_exit_their_path_reaches_first() {
        let (bars, setup) = setup();
        let p = |s: &str| s.parse::<Price>().unwrap();
        let a = run(&bars, &setup, Path::A).unwrap();
        let b = run(&bars, &setup, Path::B).unwrap();
        // The entry at the open after the cross; the legs rest from the next open on.
        assert_eq!(
            fills(&a),
            [(Role::Entry, 3, p("100"), Some(Tick::Open)), (Role::Target, 4, p("103"), Some(Tick::High))]
        );
        // Visiting the low first, the stop triggers on the low print and fills there.
        assert_eq!(
            fills(&b),
            [(Role::Entry, 3, p("100"), Some(Tick::Open)), (Role::Stop, 4, p("97"), Some(Tick::Low))]
        );
        // One cancels the other: the leg that did not fill was canceled.
        let status = |log: &RunLog, role| log.orders.iter().find(|o| o.key.role == role).map(|o| o.status);
        assert_eq!(status(&a, Role::Stop), Some(Status::Canceled));
        assert_eq!(status(&b, Role::Target), Some(Status::Canceled));
    }
}
