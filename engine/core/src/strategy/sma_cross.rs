//! `SmaCross`: the classic moving-average crossover, long only, on one feed.
//!
//! Buys `size` when the fast simple moving average of closes crosses above the slow one and closes
//! the position when it crosses below. A cross is backtrader's `CrossOver`: strictly below on the
//! previous bar and strictly above on this one (or the reverse); touching does not count. Averages are compared exactly (`Σfast × slow` against
//! `Σslow × fast`), from running sums over ring buffers sized at construction: nothing is
//! allocated per bar.

use kestrel_types::{InstrumentId, Price, Qty};

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

/// A cross of the fast average over the slow one (backtrader's `CrossOver` of +1 / −1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// The fast average went from strictly below the slow one to strictly above.
    Up,
    /// The fast average went from strictly above the slow one to strictly below.
    Down,
}

/// The crossover signal alone, for strategies that place their own orders on it: SMA(`fast`)
/// against SMA(`slow`) of closes, compared exactly (`Σfast × slow` against `Σslow × fast`).
#[derive(Clone, Debug)]
pub struct Crossover {
    fast: Window,
    slow: Window,
    /// The sign of fast − slow on the previous bar.
    side: Option<core::cmp::Ordering>,
}

impl Crossover {
    /// SMA(`fast`) over SMA(`slow`); lengths below 1 are taken as 1.
    pub fn new(fast: usize, slow: usize) -> Self {
        Self { fast: Window::new(fast), slow: Window::new(slow), side: None }
    }

    /// Takes a bar's close; the cross it completes, if any (none until the slow window is full).
    pub fn push(&mut self, close: Price) -> Option<Signal> {
        use core::cmp::Ordering::{Greater, Less};
        self.fast.push(close.raw());
        self.slow.push(close.raw());
        if !self.slow.full() {
            return None;
        }
        let (nf, ns) = (self.fast.values.len() as i128, self.slow.values.len() as i128);
        let side = (self.fast.sum * ns).cmp(&(self.slow.sum * nf));
        match (self.side.replace(side), side) {
            (Some(Less), Greater) => Some(Signal::Up),
            (Some(Greater), Less) => Some(Signal::Down),
            _ => None,
        }
    }
}

/// The SMA crossover strategy.
#[derive(Clone, Debug)]
pub struct SmaCross {
    feed: InstrumentId,
    size: Qty,
    cross: Crossover,
    orders: u64,
}

impl SmaCross {
    /// A crossover of SMA(`fast`) over SMA(`slow`) on `feed`, trading `size` units.
    pub fn new(feed: InstrumentId, fast: usize, slow: usize, size: Qty) -> Self {
        Self { feed, size, cross: Crossover::new(fast, slow), orders: 0 }
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
        let Some(signal) = self.cross.push(bar.close) else { return Ok(()) };
        let (up, down) = (signal == Signal::Up, signal == Signal::Down);
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
