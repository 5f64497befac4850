//! The bar backtest: walks the union of the feeds' timestamps and drives broker and strategy.
//!
//! One step, as FORMAT.md §3 states and backtrader's cerebro does in event mode: every feed whose
//! next bar has the smallest timestamp advances (the others keep their last bar); with
//! cheat-on-open the strategy acts first; the broker steps; the notifications produced since the
//! previous delivery reach the strategy, orders first, then the trades they opened or closed; then
//! the strategy's `on_bar`.

use kestrel_types::{Bar, InstrumentId, Timestamp};

use crate::broker::{BrokerError, OrderNotice, SimBroker};
use crate::strategy::{Context, Strategy};
use crate::trade::{TradeBook, TradeError, TradeEvent, TradeExecution};

/// Why a backtest stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E> {
    /// The broker failed (overflow or a broken invariant).
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// An execution did not fit the trade book (a broken invariant).
    #[error(transparent)]
    Trade(#[from] TradeError),
    /// The strategy stopped the run.
    #[error("strategy: {0}")]
    Strategy(E),
    /// A feed's bars are not in time order.
    #[error("feed {feed}: bar {index} at {at} is not after the previous bar")]
    Unordered {
        /// The feed.
        feed: InstrumentId,
        /// Index of the offending bar.
        index: usize,
        /// Its time.
        at: Timestamp,
    },
}

/// What a finished backtest reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Steps run (the strategy clock at the end).
    pub steps: u64,
}

/// Runs a bar backtest of `strategy` over `feeds` (feed `i` is `InstrumentId(i)`) with `broker`.
/// The trade book and the broker are left with the final state for the caller to read.
///
/// # Errors
/// [`RunError`]: the strategy's own error, a broker failure, or unordered bars.
pub fn run<S: Strategy>(
    feeds: &[&[Bar]],
    broker: &mut SimBroker,
    trades: &mut TradeBook,
    strategy: &mut S,
) -> Result<Summary, RunError<S::Error>> {
    for (f, bars) in feeds.iter().enumerate() {
        if let Some(i) = bars.windows(2).position(|w| w[1].ts <= w[0].ts) {
            return Err(RunError::Unordered { feed: feed_id(f), index: i + 1, at: bars[i + 1].ts });
        }
    }
    // A feed that starts later reads as its last bar until then (backtrader's preloaded lines).
    for (f, bars) in feeds.iter().enumerate() {
        if let Some(last) = bars.last() {
            broker.preload_last(feed_id(f), *last)?;
        }
    }
    let mut next = vec![0usize; feeds.len()];
    let mut notices: Vec<OrderNotice> = Vec::with_capacity(64);
    let mut events: Vec<TradeEvent> = Vec::with_capacity(64);
    let mut step = 0u64;
    {
        let mut ctx = Context::new(broker, 0, Timestamp::EPOCH);
        strategy.on_start(&mut ctx).map_err(RunError::Strategy)?;
    }
    while let Some(t) = feeds.iter().zip(&next).filter_map(|(bars, &i)| bars.get(i).map(|b| b.ts)).min() {
        for (f, bars) in feeds.iter().enumerate() {
            if let Some(bar) = bars.get(next[f]).filter(|b| b.ts == t) {
                broker.set_bar(feed_id(f), *bar)?;
                next[f] += 1;
            }
        }
        step += 1;
        if broker.config().coo {
            let mut ctx = Context::new(broker, step, t);
            strategy.on_bar_open(&mut ctx).map_err(RunError::Strategy)?;
        }
        broker.step()?;
        deliver(broker, trades, strategy, step, t, &mut notices, &mut events)?;
        let mut ctx = Context::new(broker, step, t);
        strategy.on_bar(&mut ctx).map_err(RunError::Strategy)?;
    }
    let mut ctx = Context::new(broker, step, Timestamp::EPOCH);
    strategy.on_stop(&mut ctx).map_err(RunError::Strategy)?;
    Ok(Summary { steps: step })
}

fn feed_id(i: usize) -> InstrumentId {
    InstrumentId(u16::try_from(i).unwrap_or(u16::MAX))
}

/// Hands the step's notifications to the strategy: all order notices, then the trade events their
/// fills produced. backtrader: strategy.py Strategy._addnotification and _notify.
fn deliver<S: Strategy>(
    broker: &mut SimBroker,
    trades: &mut TradeBook,
    strategy: &mut S,
    step: u64,
    now: Timestamp,
    notices: &mut Vec<OrderNotice>,
    events: &mut Vec<TradeEvent>,
) -> Result<(), RunError<S::Error>> {
    events.clear();
    broker.take_notices(notices);
    for notice in notices.iter() {
        if notice.executed.size.is_zero() {
            continue;
        }
        let ins = notice.instrument;
        let bar = broker.bar_count(ins);
        let scheme = *broker.scheme(ins)?;
        for fill in notice.new_fills(broker.orders()) {
            let exec = TradeExecution {
                closed: fill.closed,
                closed_commission: fill.closed_comm,
                opened: fill.opened,
                opened_commission: fill.opened_comm,
                price: fill.price,
                bar,
                at: fill.at,
            };
            events.extend(trades.apply(ins, &exec, &scheme)?);
        }
    }
    let ctx = Context::new(broker, step, now);
    for notice in notices.iter() {
        strategy.on_order(&ctx, notice).map_err(RunError::Strategy)?;
    }
    for event in events.iter() {
        strategy.on_trade(&ctx, event).map_err(RunError::Strategy)?;
    }
    Ok(())
}
