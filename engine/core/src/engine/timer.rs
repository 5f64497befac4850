//! Strategy timers: "call me back at `t`", in simulated time.
//!
//! A timer fires when the engine's time reaches it: before the first event whose `ts_recv` is at
//! or after it, in time order with the venue's messages (see [`crate::engine`]). Timers due at the
//! same instant fire in the order they were set. The heap is sized at start-up; setting a timer
//! beyond it is refused, never a reallocation. Timers still pending when the data ends do not fire.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use kestrel_types::Timestamp;

/// A timer as the strategy sees it fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timer {
    /// When it was due.
    pub at: Timestamp,
    /// The strategy's own token, given when it was set.
    pub token: u64,
}

/// Why a timer was not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimerError {
    /// As many timers are pending as the engine has room for.
    #[error("{capacity} timers are pending, the engine's capacity")]
    Full {
        /// The capacity.
        capacity: usize,
    },
}

/// Pending timers, earliest first; ties in the order set (`seq`).
#[derive(Debug)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Timestamp, u64, u64)>>,
    capacity: usize,
    seq: u64,
}

impl Timers {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self { heap: BinaryHeap::with_capacity(capacity), capacity, seq: 0 }
    }

    pub(crate) fn set(&mut self, at: Timestamp, token: u64) -> Result<(), TimerError> {
        if self.heap.len() >= self.capacity {
            return Err(TimerError::Full { capacity: self.capacity });
        }
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, token)));
        Ok(())
    }

    pub(crate) fn next_at(&self) -> Option<Timestamp> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    pub(crate) fn pop(&mut self) -> Option<Timer> {
        self.heap.pop().map(|Reverse((at, _, token))| Timer { at, token })
    }
}
