//! The engine loop (ARCHITECTURE.md §6).
//!
//! One pass: each inbound ring in its fixed order (a stable tie-break between venues), at most
//! [`RuntimeConfig::batch_per_ring`] events from each (one busy venue cannot starve another); each
//! event gets a `ts_recv` that never goes back, goes to the tap (the journal), then to the engine,
//! and the requests the engine made go onto the outbound ring at once (tick-to-order latency is
//! what this loop exists for). After the rings, a timer event when the clock passed the engine's
//! next due time (timers fire between market events too, and the event is journaled so a replay
//! fires them at the same instants). An idle pass backs off (spin, then yield: two threads on two
//! cores must not starve each other); a busy one resets the backoff.
//!
//! # Full outbound ring
//! `rtrb` hands a value back when the ring is full. The request then stays in the engine's own
//! bounded request queue, in order, and goes on a later pass ([`RuntimeStats::stalls`] counts the
//! passes that left requests behind); when that queue is full the engine refuses new orders with
//! `SubmitError::QueueFull`, and nothing is dropped.
//!
//! # Shutdown
//! When `stop` is set, the loop drains what the inbound rings already hold, publishes what it can
//! of the pending requests, and returns its statistics; requests the ring could not take are
//! counted in [`RuntimeStats::unsent`] and stay in the engine.
//!
//! # Per event
//! Ring pops and pushes are a few atomic loads and stores; the engine allocates nothing after
//! construction; the clock is read once per pass (the TSC: no syscall). The tap is static dispatch.

use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_utils::Backoff;
use kestrel_engine::engine::{Engine, TickStrategy, VenueRequest};
use kestrel_types::{Event, InstrumentId, Payload, Timestamp};
use rtrb::{Consumer, Producer};

use crate::clock::Clock;
use crate::tap::Tap;

/// How the loop runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Events taken from one ring before the next ring's turn.
    pub batch_per_ring: usize,
    /// The core to pin the loop's thread to (`None`: unpinned). A failure to pin is a warning.
    pub core: Option<usize>,
    /// Busy-spin when idle (a dedicated core: the lowest latency); `false` backs off to yielding
    /// (shared cores: two spinning threads on two cores must not starve each other).
    pub spin: bool,
}

impl Default for RuntimeConfig {
    /// Batches of 64, unpinned, backing off when idle.
    fn default() -> Self {
        Self { batch_per_ring: 64, core: None, spin: false }
    }
}

/// What the loop did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Inbound events processed (timer events included).
    pub events: u64,
    /// Timer events the loop made.
    pub timer_events: u64,
    /// Passes over the rings.
    pub passes: u64,
    /// Passes that found nothing.
    pub idle_passes: u64,
    /// Requests put on the outbound ring.
    pub requests: u64,
    /// Passes that ended with requests the full outbound ring could not take.
    pub stalls: u64,
    /// Requests still in the engine when the loop returned (the ring stayed full).
    pub unsent: u64,
    /// Whether the thread was pinned.
    pub pinned: bool,
}

/// Hands the engine's pending requests to the ring, stamped with the time they went; returns how
/// many went.
#[inline]
fn publish<S: TickStrategy, C: Clock>(
    engine: &mut Engine<S>,
    out: &mut Producer<VenueRequest>,
    clock: &C,
) -> u64 {
    if engine.pending_requests() == 0 {
        return 0;
    }
    let now = clock.now();
    engine.drain_requests(|r| out.push(VenueRequest { published: now, ..*r }).is_ok()) as u64
}

/// One event through the tap and the engine, and its requests onto the ring.
struct Step<'a, T, C> {
    out: &'a mut Producer<VenueRequest>,
    clock: &'a C,
    tap: &'a mut T,
    last: &'a mut Timestamp,
    stats: &'a mut RuntimeStats,
}

impl<T, C: Clock> Step<'_, T, C> {
    #[inline(always)]
    fn event<S: TickStrategy>(&mut self, engine: &mut Engine<S>, mut ev: Event)
    where
        T: Tap<S>,
    {
        ev.ts_recv = ev.ts_recv.max(*self.last);
        *self.last = ev.ts_recv;
        self.tap.inbound(&ev);
        engine.on_event(&ev);
        // Requests go out before the tap looks: what it does is not on their path.
        self.stats.requests += publish(engine, self.out, self.clock);
        self.tap.processed(engine, &ev);
        self.stats.events += 1;
    }
}

/// Runs the loop on the calling thread until `stop` is set (see the [module docs](self)).
pub fn run<S: TickStrategy, C: Clock, T: Tap<S>>(
    engine: &mut Engine<S>,
    inputs: &mut [Consumer<Event>],
    out: &mut Producer<VenueRequest>,
    clock: &C,
    config: &RuntimeConfig,
    stop: &AtomicBool,
    tap: &mut T,
) -> RuntimeStats {
    let mut stats =
        RuntimeStats { pinned: config.core.is_some_and(crate::pin_or_warn), ..RuntimeStats::default() };
    let batch = config.batch_per_ring.max(1);
    let backoff = Backoff::new();
    let mut last = Timestamp::EPOCH;
    let mut step = Step { out, clock, tap, last: &mut last, stats: &mut stats };
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let mut seen = 0u64;
        for rx in inputs.iter_mut() {
            for _ in 0..batch {
                let Ok(ev) = rx.pop() else { break };
                step.event(engine, ev);
                seen += 1;
            }
        }
        let now = clock.now().max(*step.last);
        if now >= engine.next_due() {
            let ev = Event {
                ts_event: now,
                ts_recv: now,
                instrument: InstrumentId(0),
                payload: Payload::Timer { id: 0 },
            };
            step.event(engine, ev);
            step.stats.timer_events += 1;
            seen += 1;
        }
        step.stats.requests += publish(engine, step.out, clock);
        step.stats.stalls += u64::from(engine.pending_requests() != 0);
        step.tap.end_of_batch();
        step.stats.passes += 1;
        if seen == 0 {
            step.stats.idle_passes += 1;
            if stopping {
                break;
            }
            if config.spin {
                std::hint::spin_loop();
            } else {
                backoff.snooze();
            }
        } else {
            backoff.reset();
        }
    }
    stats.unsent = engine.pending_requests() as u64;
    stats
}
