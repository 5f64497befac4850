//! `Inbox`: where a venue puts normalised events for the engine.
//!
//! It wraps the producer end of the engine's inbound `rtrb` ring. A full ring hands the event back
//! (the engine is behind); it then waits in a small overflow queue, preallocated, and later events
//! queue behind it so the engine still sees them in order. The thread moves the overflow to the
//! ring every pass. Only when the overflow is full too is an event refused, and then loudly: the
//! venue gets [`InboxFull`] with the event back and the refusal is counted.

use std::collections::VecDeque;

use kestrel_types::Event;
use rtrb::{Producer, PushError};

use crate::error::GatewayError;

/// The ring and the overflow were both full: the event was not delivered and is handed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("inbound ring and its overflow of {overflow} events are full")]
pub struct InboxFull {
    /// The event that was not delivered.
    pub event: Event,
    /// The overflow's capacity.
    pub overflow: usize,
}

impl From<InboxFull> for GatewayError {
    fn from(e: InboxFull) -> Self {
        Self::InboxFull { overflow: e.overflow }
    }
}

/// Counters of the inbox since the gateway started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboxStats {
    /// Events accepted (in the ring or the overflow).
    pub accepted: u64,
    /// Events that had to wait in the overflow because the ring was full.
    pub stalled: u64,
    /// Events refused because the overflow was full too.
    pub refused: u64,
}

/// The engine-bound side of a gateway: the producer of the engine's inbound ring, plus a small
/// bounded overflow that keeps events, in order, while the ring is full. An event is refused (handed
/// back in [`InboxFull`], and counted) only when both are full; nothing is dropped silently.
pub struct Inbox {
    ring: Producer<Event>,
    overflow: VecDeque<Event>,
    capacity: usize,
    stats: InboxStats,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("ring_slots_free", &self.ring.slots())
            .field("overflow", &self.overflow.len())
            .field("overflow_capacity", &self.capacity)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Inbox {
    /// An inbox over `ring` with room for `overflow` events when the ring is full.
    pub fn new(ring: Producer<Event>, overflow: usize) -> Self {
        Self {
            ring,
            overflow: VecDeque::with_capacity(overflow),
            capacity: overflow,
            stats: InboxStats::default(),
        }
    }

    /// Hands `event` to the engine, or queues it behind a full ring.
    ///
    /// # Errors
    /// [`InboxFull`] with the event when the ring and the overflow are both full.
    pub fn push(&mut self, event: Event) -> Result<(), InboxFull> {
        if self.overflow.is_empty() {
            match self.ring.push(event) {
                Ok(()) => {
                    self.stats.accepted += 1;
                    return Ok(());
                }
                Err(PushError::Full(back)) => return self.hold(back),
            }
        }
        self.flush();
        if self.overflow.is_empty() { self.push(event) } else { self.hold(event) }
    }

    fn hold(&mut self, event: Event) -> Result<(), InboxFull> {
        if self.overflow.len() >= self.capacity {
            self.stats.refused += 1;
            return Err(InboxFull { event, overflow: self.capacity });
        }
        self.overflow.push_back(event);
        self.stats.accepted += 1;
        self.stats.stalled += 1;
        Ok(())
    }

    /// Moves waiting events to the ring, oldest first, as far as it has room; returns how many.
    pub fn flush(&mut self) -> usize {
        let mut moved = 0;
        while let Some(ev) = self.overflow.front().copied() {
            if self.ring.push(ev).is_err() {
                break;
            }
            self.overflow.pop_front();
            moved += 1;
        }
        moved
    }

    /// Events waiting in the overflow.
    pub fn backlog(&self) -> usize {
        self.overflow.len()
    }

    /// Counters since start.
    pub fn stats(&self) -> InboxStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_types::{InstrumentId, Payload, Timestamp};

    fn ev(id: u64) -> Event {
        Event {
            ts_event: Timestamp::from_nanos(1),
            ts_recv: Timestamp::from_nanos(2),
            instrument: InstrumentId(0),
            payload: Payload::Timer { id },
        }
    }

    fn id(e: Event) -> u64 {
        match e.payload {
            Payload::Timer { id } => id,
            _ => unreachable!("only timers are pushed here"),
        }
    }

    #[test]
    fn a_full_ring_overflows_in_order_and_refuses_only_past_the_overflow() {
        let (tx, mut rx) = rtrb::RingBuffer::new(2);
        let mut inbox = Inbox::new(tx, 3);
        for i in 0..5 {
            inbox.push(ev(i)).unwrap();
        }
        assert_eq!(inbox.backlog(), 3);
        let err = inbox.push(ev(5)).unwrap_err();
        assert_eq!(id(err.event), 5, "the refused event is handed back");
        assert_eq!(inbox.stats(), InboxStats { accepted: 5, stalled: 3, refused: 1 });
        assert_eq!(GatewayError::from(err), GatewayError::InboxFull { overflow: 3 });

        assert_eq!(id(rx.pop().unwrap()), 0);
        // A push while the overflow is not empty goes behind it, never ahead.
        inbox.push(ev(6)).unwrap();
        let mut seen = vec![id(rx.pop().unwrap())];
        while inbox.backlog() > 0 || !rx.is_empty() {
            inbox.flush();
            while let Ok(e) = rx.pop() {
                seen.push(id(e));
            }
        }
        assert_eq!(seen, [1, 2, 3, 4, 6]);
    }
}
