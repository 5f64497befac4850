//! `SmaCross`: the classic moving-average crossover, long only, on one feed.
//!
//! Buys `size` when the fast simple moving average of closes crosses above the slow one and closes
//! the position when it crosses below. A cross is backtrader's `CrossOver`: strictly below on the
//! previous bar and strictly above on this one (or the reverse); touching does not count. Averages are compared exactly (`Σfast × slow` against
//! `Σslow × fast`), from running sums over ring buffers sized at construction: nothing is
//! allocated per bar.

use kestrel_types::{InstrumentId, Qty};

use super::{Context, OrderArgs, Strategy};
use crate::broker::BrokerError;

/// A running sum of the last `n` closes (raw nano-units).
#[derive(Clone, Debug)]
struct Window {
    values: Vec<i64>,
    next: usize,
    filled: usize,
    sum: i128,
}

impl Window {
    fn new(n: usize) -> Self {
        Self { values: vec![0; n.max(1)], next: 0, filled: 0, sum: 0 }
    }

    fn push(&mut self, v: i64) {
        let n = self.values.len();
        self.sum += i128::from(v) - i128::from(self.values[self.next]);
        self.values[self.next] = v;
        self.next = (self.next + 1) % n;
        self.filled = (self.filled + 1).min(n);
    }

    fn full(&self) -> bool {
        self.filled == self.values.len()
    }
}

/// The SMA crossover strategy.
#[derive(Clone, Debug)]
pub struct SmaCross {
    feed: InstrumentId,
    size: Qty,
    fast: Window,
    slow: Window,
    /// The sign of fast − slow on the previous bar.
    side: Option<core::cmp::Ordering>,
    orders: u64,
}

impl SmaCross {
    /// A crossover of SMA(`fast`) over SMA(`slow`) on `feed`, trading `size` units.
    pub fn new(feed: InstrumentId, fast: usize, slow: usize, size: Qty) -> Self {
        Self { feed, size, fast: Window::new(fast), slow: Window::new(slow), side: None, orders: 0 }
    }

    /// Orders placed so far.
    pub fn orders(&self) -> u64 {
        self.orders
    }
}

impl Strategy for SmaCross {
    type Error = BrokerError;

    fn on_bar(&mut self, ctx: &mut Context<'_>) -> Result<(), BrokerError> {
        let Some(bar) = ctx.bar(self.feed) else { return Ok(()) };
        self.fast.push(bar.close.raw());
        self.slow.push(bar.close.raw());
        if !self.slow.full() {
            return Ok(());
        }
        let (nf, ns) = (self.fast.values.len() as i128, self.slow.values.len() as i128);
        use core::cmp::Ordering::{Greater, Less};
        let side = (self.fast.sum * ns).cmp(&(self.slow.sum * nf));
        let prev = self.side.replace(side);
        let up = prev == Some(Less) && side == Greater;
        let down = prev == Some(Greater) && side == Less;
        if !up && !down {
            return Ok(());
        }
        let flat_or_short = !ctx.position(self.feed).size().is_positive();
        let placed = if up && flat_or_short {
            ctx.buy(self.feed, Some(self.size), &OrderArgs::default())?
        } else if down && !flat_or_short {
            ctx.close(self.feed, None, &OrderArgs::default())?
        } else {
            None
        };
        self.orders += u64::from(placed.is_some());
        Ok(())
    }
}
