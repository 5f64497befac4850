//! `Timers`: the venue's scheduled wake-ups, a binary heap of `(deadline, sequence, token)`.
//!
//! Tokens are the venue's: it sets a timer with a token it chooses and gets the token back when the
//! deadline passes. There is no cancel: a venue that no longer wants a wake-up ignores its token
//! (sans-I/O protocols such as quinn-proto do the same), which keeps the heap a plain heap.
//! The sequence number makes equal deadlines fire in the order they were set.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use kestrel_types::Timestamp;

/// Pending timers, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Timestamp, u64, u64)>>,
    seq: u64,
}

impl Timers {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self { heap: BinaryHeap::with_capacity(n), seq: 0 }
    }

    pub(crate) fn set(&mut self, at: Timestamp, token: u64) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, token)));
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The token of one timer due at `now`, earliest first.
    pub(crate) fn pop_due(&mut self, now: Timestamp) -> Option<u64> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => self.heap.pop().map(|Reverse((_, _, token))| token),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_then_setting_order() {
        let t = Timestamp::from_nanos;
        let mut timers = Timers::with_capacity(4);
        timers.set(t(30), 3);
        timers.set(t(10), 1);
        timers.set(t(30), 4);
        timers.set(t(20), 2);
        assert_eq!(timers.next_deadline(), Some(t(10)));
        assert_eq!(timers.pop_due(t(5)), None);
        let mut fired = Vec::new();
        while let Some(token) = timers.pop_due(t(30)) {
            fired.push(token);
        }
        assert_eq!(fired, [1, 2, 3, 4]);
        assert_eq!(timers.len(), 0);
    }
}
