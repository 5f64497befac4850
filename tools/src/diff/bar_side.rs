//! The bar broker's run: the strategy on [`SimBroker`] with backtrader's semantics, every order and
//! fill recorded under its [`OrderKey`].

use anyhow::{Context as _, Result, anyhow};
use kestrel_engine::backtest;
use kestrel_engine::broker::{BrokerConfig, OrderNotice, SimBroker};
use kestrel_engine::order::{ExecType, Side};
use kestrel_engine::strategy::{BracketArgs, Context, OrderArgs, Strategy};
use kestrel_engine::trade::TradeBook;
use kestrel_types::{Bar, InstrumentId, OrderId};

use super::strategy::{Cross, Signal, StrategyName};
use super::{FillRec, OrderKey, Role, RunLog, Setup};

const INS: InstrumentId = InstrumentId(0);

/// The diff's strategy on the bar broker.
struct BarSide<'a> {
    setup: &'a Setup,
    bars: &'a [Bar],
    cross: Cross,
    log: RunLog,
    /// The working bracket's stop and target.
    legs: Option<(OrderId, OrderId)>,
}

impl BarSide<'_> {
    fn placed(&mut self, id: Option<OrderId>, signal: usize, role: Role, side: Side) {
        if let Some(id) = id {
            self.log.placed(OrderKey { signal, role }, id.0, side);
        }
    }
}

impl Strategy for BarSide<'_> {
    type Error = anyhow::Error;

    fn on_bar(&mut self, ctx: &mut Context<'_>) -> Result<()> {
        let i = usize::try_from(ctx.step())?.checked_sub(1).context("a bar before the first step")?;
        let bar = *self.bars.get(i).context("more steps than bars")?;
        let Some(signal) = self.cross.push(bar.close) else { return Ok(()) };
        let position = ctx.position(INS).size();
        let spec = self.setup.spec;
        match signal {
            Signal::Up if position.is_zero() && self.legs.is_none() => {
                let market = OrderArgs { exec_type: Some(ExecType::Market), ..OrderArgs::default() };
                if spec.name == StrategyName::SmaCross {
                    let id = ctx.buy(INS, Some(spec.size), &market)?;
                    self.placed(id, i, Role::Entry, Side::Buy);
                    return Ok(());
                }
                // The market entry fills at the next open: the exits are placed from it, as the
                // tick strategy places them from its fill (on the last bar the entry never fills).
                let entry = self.bars.get(i + 1).map_or(bar.close, |b| b.open);
                let (stop, target) = spec.exits(entry, self.setup.grid)?;
                let b = ctx.bracket(
                    INS,
                    Side::Buy,
                    &BracketArgs {
                        size: Some(spec.size),
                        main: market,
                        stop: Some(OrderArgs { price: Some(stop), ..OrderArgs::default() }),
                        limit: Some(OrderArgs { price: Some(target), ..OrderArgs::default() }),
                    },
                )?;
                self.placed(b.main, i, Role::Entry, Side::Buy);
                self.placed(b.stop, i, Role::Stop, Side::Sell);
                self.placed(b.limit, i, Role::Target, Side::Sell);
                self.legs = b.stop.zip(b.limit);
            }
            Signal::Down if position.is_positive() => {
                if let Some((stop, _)) = self.legs.take() {
                    // Canceling a leg cancels its bracket: the target goes with it.
                    ctx.cancel(stop)?;
                }
                let id = ctx.close(INS, None, &OrderArgs::default())?;
                self.placed(id, i, Role::Exit, Side::Sell);
            }
            Signal::Up | Signal::Down => {}
        }
        Ok(())
    }

    fn on_order(&mut self, ctx: &Context<'_>, n: &OrderNotice) -> Result<()> {
        let bar = usize::try_from(ctx.step())?.checked_sub(1).context("a notice before the first step")?;
        let rec =
            self.log.order_mut(n.order.0).ok_or_else(|| anyhow!("a notice for unknown order {}", n.order))?;
        rec.status = n.status;
        let key = rec.key;
        for f in n.new_fills(ctx.orders()) {
            self.log.fills.push(FillRec {
                key,
                seq: n.order.0,
                side: n.side,
                qty: f.size.abs(),
                price: f.price,
                bar,
                tick: None,
            });
        }
        // Either leg ending ends the bracket (backtrader cancels the other).
        if let Some((stop, target)) = self.legs
            && (n.order == stop || n.order == target)
            && !n.status.is_alive()
        {
            self.legs = None;
        }
        Ok(())
    }
}

/// Runs the strategy of `setup` over `bars` on the bar broker.
///
/// # Errors
/// A broker failure or an impossible order (broken invariants; refusals are recorded statuses).
pub(crate) fn run(bars: &[Bar], setup: &Setup) -> Result<RunLog> {
    let mut broker = SimBroker::new(
        BrokerConfig { cash: setup.cash, ..BrokerConfig::default() },
        vec![setup.scheme],
        bars.len() * 2 + 16,
    )?;
    let mut trades = TradeBook::with_capacity(1, bars.len() / 2 + 16);
    let mut s = BarSide {
        setup,
        bars,
        cross: Cross::new(setup.spec.fast, setup.spec.slow),
        log: RunLog::default(),
        legs: None,
    };
    backtest::run(&[bars], &mut broker, &mut trades, &mut s).map_err(|e| anyhow!("{e}"))?;
    Ok(s.log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
    use kestrel_engine::strategy::sma_cross::SmaCross;
    use kestrel_replay::bars::{BarFormat, DateWindow, read_bars};
    use kestrel_types::{Money, Price, Qty};

    use crate::diff::strategy::Spec;

    fn sample() -> Vec<Bar> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/backtrader/2006-day-001.txt");
        read_bars(path, BarFormat::BtCsv, DateWindow::ALL).unwrap().bars
    }

    /// The engine's own crossover, fills as (bar, side, price).
    struct Reference {
        inner: SmaCross,
        fills: Vec<(u64, Side, Price)>,
    }

    impl Strategy for Reference {
        type Error = kestrel_engine::broker::BrokerError;

        fn on_bar(&mut self, ctx: &mut Context<'_>) -> Result<(), Self::Error> {
            self.inner.on_bar(ctx)
        }

        fn on_order(&mut self, ctx: &Context<'_>, n: &OrderNotice) -> Result<(), Self::Error> {
            for f in n.new_fills(ctx.orders()) {
                self.fills.push((ctx.step() - 1, n.side, f.price));
            }
            Ok(())
        }
    }

    #[test]
    fn diff_bar_side_sma_cross_is_the_engines_sma_cross() {
        let bars = sample();
        let scheme = CommissionScheme::try_new(CommissionParams::setcommission()).unwrap();
        let cash = Money::from_raw(1_000_000 * 1_000_000_000);
        let spec = Spec::parse(StrategyName::SmaCross, &[]).unwrap();
        let grid = kestrel_engine::engine::Grid { tick: Price::from_raw(10_000_000), lot: Qty::ONE };
        let setup = Setup { spec, grid, cash, scheme, optimistic: false };
        let log = run(&bars, &setup).unwrap();
        let ours: Vec<(u64, Side, Price)> =
            log.fills.iter().map(|f| (f.bar as u64, f.side, f.price)).collect();

        let mut broker =
            SimBroker::new(BrokerConfig { cash, ..BrokerConfig::default() }, vec![scheme], 600).unwrap();
        let mut trades = TradeBook::with_capacity(1, 300);
        let mut r = Reference { inner: SmaCross::new(INS, 10, 30, Qty::ONE), fills: Vec::new() };
        backtest::run(&[&bars], &mut broker, &mut trades, &mut r).unwrap();
        assert!(ours.len() > 4, "{ours:?}");
        assert_eq!(ours, r.fills);
    }
}
