//! Latency between the engine and the simulated venue, in simulated time, and the queues that
//! carry requests and reports across it.
//!
//! Each direction has one constant delay: a request the strategy makes at `t` reaches the venue at
//! `t + entry`; a report the venue makes at `t` reaches the engine at `t + response`. Nothing
//! sleeps: the engine processes what is due before each event (see [`crate::engine`]).
//!
//! Because a delay is constant, messages in one direction arrive in the order they were sent, so
//! each direction is a FIFO queue and the earliest message is always at its front: no heap, no
//! reordering. The queues are sized at start-up: a request beyond the bound is refused (the
//! strategy gets a typed error and the engine runs on); a report is never refused (the venue
//! cannot take back a fill), so the report queue may grow past its reserve, which the engine counts.

use std::collections::VecDeque;

use kestrel_types::{TimeSpan, Timestamp};

/// The constant delays of the simulated venue link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    /// Strategy → venue: from a submit or cancel to the venue acting on it.
    pub entry: TimeSpan,
    /// Venue → strategy: from the venue acting to the engine learning of it.
    pub response: TimeSpan,
}

impl Latency {
    /// No delay either way: an order reaches the venue at once and can fill from the next event on.
    pub const ZERO: Self = Self { entry: TimeSpan::ZERO, response: TimeSpan::ZERO };

    /// The same delay both ways.
    pub const fn symmetric(one_way: TimeSpan) -> Self {
        Self { entry: one_way, response: one_way }
    }
}

/// A message due at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Due<T> {
    pub(crate) at: Timestamp,
    pub(crate) msg: T,
}

/// A FIFO of messages in flight, with a bound fixed at start-up (module docs).
#[derive(Debug)]
pub(crate) struct Fifo<T> {
    queue: VecDeque<Due<T>>,
    bound: usize,
}

impl<T: Copy> Fifo<T> {
    pub(crate) fn with_bound(bound: usize) -> Self {
        Self { queue: VecDeque::with_capacity(bound), bound }
    }

    pub(crate) fn bound(&self) -> usize {
        self.bound
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.queue.len() >= self.bound
    }

    /// Appends a message; the caller checked [`Fifo::is_full`] when the bound must hold. Returns
    /// whether the queue went past its reserve (it grew).
    pub(crate) fn push(&mut self, at: Timestamp, msg: T) -> bool {
        let grew = self.queue.len() == self.queue.capacity();
        self.queue.push_back(Due { at, msg });
        grew
    }

    /// When the front message is due.
    pub(crate) fn next_at(&self) -> Option<Timestamp> {
        self.queue.front().map(|d| d.at)
    }

    pub(crate) fn pop(&mut self) -> Option<Due<T>> {
        self.queue.pop_front()
    }

    /// The front message, without taking it.
    pub(crate) fn front(&self) -> Option<&Due<T>> {
        self.queue.front()
    }
}
