//! The loopback latency harness behind `kestrel bench latency`, laid out for two cores.
//!
//! - **Engine thread** (core 0 when pinning works): the runtime loop ([`crate::run`]) over two
//!   inbound rings (market data, execution reports) with [`TickToOrder`], a strategy that answers
//!   every quote with a market order (alternately buy and sell, so the position stays flat).
//! - **Venue thread** (the caller's thread, core 1): publishes quotes at a fixed planned rate, each
//!   stamped with its planned send time as `ts_event` (a late send still counts from the plan: no
//!   coordinated omission), takes the orders off the outbound ring, records tick-to-order latency
//!   (`now − planned send time of the quote the order answers`), and answers each order with a
//!   fill on the reports ring. No third thread spins.
//! - **Baseline**: on the same two cores, before and after the engine run, a bare ring round trip
//!   (venue pushes a stamp, an echo thread on the engine's core pops it and pushes it back), paced
//!   at the same planned rate and measured from the planned time like the quotes: the physical
//!   limit of the same measurement, which the engine's latency is compared with.
//! - **Stages**, one schema for measured and modelled latency: `ring_in` (quote sent → popped by
//!   the engine), `strategy` (popped → the strategy's decision), `risk` (the submission's pre-trade
//!   checks and queueing), `ring_out` (published → popped by the venue). The engine thread records
//!   its stages after its request went out, so recording is not on the measured path.
//! - **Allocations**: counted on the engine thread from the end of the warm-up to the end of the
//!   run (with [`crate::alloc::CountingAllocator`] as the global allocator; `None` without it).
//!
//! All timestamps come from one [`TscClock`] shared by both threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hdrhistogram::Histogram;
use kestrel_engine::engine::{
    Engine, EngineConfig, OrderKind, TickContext, TickStrategy, VenueMode, VenueRequest,
};
use kestrel_replay::generate::plain_instrument;
use kestrel_types::{Event, ExecRecord, InstrumentId, Money, Payload, Price, Qty, Quote, Timestamp};

use crate::alloc::thread_allocations;
use crate::clock::{Clock, TscClock};
use crate::run::{RuntimeConfig, RuntimeStats, run};
use crate::tap::Tap;

/// The stage names, in path order.
pub const STAGES: [&str; 4] = ["ring_in", "strategy", "risk", "ring_out"];

/// How the harness runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HarnessConfig {
    /// Quotes per second the venue plans.
    pub rate: u64,
    /// Quotes measured (after the warm-up).
    pub samples: u64,
    /// Quotes sent first and not measured.
    pub warmup: u64,
    /// Bare ring round trips measured before and after the engine run, each (paced at `rate`).
    pub rtt_samples: u64,
    /// Slots of each ring.
    pub ring_capacity: usize,
    /// Core of the engine thread (and the echo thread), `None`: unpinned.
    pub engine_core: Option<usize>,
    /// Core of the venue thread (the caller's), `None`: unpinned.
    pub venue_core: Option<usize>,
    /// Busy-wait without yielding (a measurement on dedicated cores); `false` yields when idle, so
    /// test threads sharing two cores cannot starve each other.
    pub spin: bool,
}

impl Default for HarnessConfig {
    /// 100,000 quotes/s, 1,000,000 measured after 100,000 of warm-up, 200,000 round trips each
    /// side, rings of 4,096, engine on core 0 and venue on core 1.
    fn default() -> Self {
        Self {
            rate: 100_000,
            samples: 1_000_000,
            warmup: 100_000,
            rtt_samples: 200_000,
            ring_capacity: 4096,
            engine_core: Some(0),
            venue_core: Some(1),
            spin: true,
        }
    }
}

/// Waits a moment in a busy loop: a spin hint on dedicated cores, a yield otherwise.
#[inline]
fn pause(spin: bool) {
    if spin {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// Why the harness could not run.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A parameter out of range.
    #[error("{0}")]
    Config(String),
    /// The engine refused its configuration.
    #[error("engine: {0}")]
    Engine(#[from] kestrel_engine::engine::ConfigError),
    /// A histogram could not be made.
    #[error("histogram: {0}")]
    Histogram(String),
    /// A thread panicked.
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// What the harness measured (nanoseconds throughout).
#[derive(Debug)]
pub struct HarnessResult {
    /// Tick-to-order latency of the measured quotes.
    pub tick_to_order: Histogram<u64>,
    /// Bare ring round trips before the engine run.
    pub rtt_before: Histogram<u64>,
    /// Bare ring round trips after it.
    pub rtt_after: Histogram<u64>,
    /// The stages, in [`STAGES`] order.
    pub stages: Vec<(&'static str, Histogram<u64>)>,
    /// Allocations on the engine thread after the warm-up (`None` when the global allocator does
    /// not count).
    pub allocations: Option<u64>,
    /// What the loop did.
    pub runtime: RuntimeStats,
    /// Quotes sent more than a microsecond after their planned time (counted from the plan).
    pub late_sends: u64,
    /// Whether the venue thread was pinned (the engine's is in [`HarnessResult::runtime`]).
    pub venue_pinned: bool,
    /// What the engine counted (orders, fills, refusals).
    pub engine: kestrel_engine::engine::EngineCounters,
}

impl HarnessResult {
    /// Both round-trip baselines together.
    ///
    /// # Errors
    /// [`HarnessError::Histogram`] if they cannot be added (they share bounds, so never).
    pub fn rtt(&self) -> Result<Histogram<u64>, HarnessError> {
        let mut h = self.rtt_before.clone();
        h.add(&self.rtt_after).map_err(|e| HarnessError::Histogram(e.to_string()))?;
        Ok(h)
    }
}

/// Nanosecond histograms from 1 ns to 10 s at 3 significant digits.
fn histogram() -> Result<Histogram<u64>, HarnessError> {
    Histogram::new_with_bounds(1, 10_000_000_000, 3).map_err(|e| HarnessError::Histogram(e.to_string()))
}

fn record(h: &mut Histogram<u64>, ns: i64) {
    // Saturates at the top bound rather than fail: the max is reported, never dropped.
    h.saturating_record(u64::try_from(ns.max(1)).unwrap_or(1));
}

/// The harness strategy: a market order for every quote, alternating sides; it keeps the stamps
/// of its last decision for the stage tap.
#[derive(Debug)]
pub struct TickToOrder {
    clock: TscClock,
    buy: bool,
    /// When the last quote's handling began (the tap's stamp) and when the order was decided and
    /// submitted.
    decided: Timestamp,
    submitted: Timestamp,
    /// Submissions refused (the request queue was full).
    pub refused: u64,
}

impl TickStrategy for TickToOrder {
    const ON_BOOK: bool = false;

    fn on_quote(&mut self, ctx: &mut TickContext<'_>, ins: InstrumentId, _quote: &Quote) {
        self.decided = self.clock.now();
        let sent = if self.buy {
            ctx.buy(ins, Qty::ONE, OrderKind::Market)
        } else {
            ctx.sell(ins, Qty::ONE, OrderKind::Market)
        };
        self.submitted = self.clock.now();
        self.buy = !self.buy;
        self.refused += u64::from(sent.is_err());
    }
}

/// The engine thread's tap: stamps each event's start, records the stages after the request went
/// out, and counts allocations from the warm-up's end.
struct StageTap {
    clock: TscClock,
    started: Timestamp,
    measure_from: Timestamp,
    stages: [Histogram<u64>; 3],
    allocations_at: Option<u64>,
}

impl Tap<TickToOrder> for StageTap {
    #[inline]
    fn inbound(&mut self, _ev: &Event) {
        self.started = self.clock.now();
    }

    #[inline]
    fn processed(&mut self, engine: &Engine<TickToOrder>, ev: &Event) {
        if !matches!(ev.payload, Payload::Quote(_)) || ev.ts_event < self.measure_from {
            return;
        }
        if self.allocations_at.is_none() {
            self.allocations_at = Some(thread_allocations());
        }
        let s = engine.strategy();
        let [ring_in, strategy, risk] = &mut self.stages;
        record(ring_in, self.started.nanos() - ev.ts_recv.nanos());
        record(strategy, s.decided.nanos() - self.started.nanos());
        record(risk, s.submitted.nanos() - s.decided.nanos());
    }
}

/// The most time one round-trip baseline may take.
const RTT_BUDGET_NS: i64 = 15_000_000_000;

/// Bare ring round trips between this thread and an echo thread on `echo_core`.
fn ring_rtt(config: &HarnessConfig, clock: &TscClock) -> Result<Histogram<u64>, HarnessError> {
    let (mut to_echo, mut echo_rx) = rtrb::RingBuffer::<Timestamp>::new(config.ring_capacity);
    let (mut echo_tx, mut back) = rtrb::RingBuffer::<Timestamp>::new(config.ring_capacity);
    let stop = Arc::new(AtomicBool::new(false));
    let echo_stop = Arc::clone(&stop);
    let core = config.engine_core;
    let spin = config.spin;
    let echo = std::thread::spawn(move || {
        if let Some(c) = core {
            crate::pin_or_warn(c);
        }
        let backoff = crossbeam_utils::Backoff::new();
        while !echo_stop.load(Ordering::Acquire) {
            if let Ok(t) = echo_rx.pop() {
                while echo_tx.push(t).is_err() {
                    pause(spin);
                }
                backoff.reset();
            } else if spin {
                // Waits as the engine thread does in the measured run: a dedicated core spins.
                std::hint::spin_loop();
            } else {
                backoff.snooze();
            }
        }
    });
    let mut h = histogram()?;
    let warm = config.rtt_samples / 10;
    let total = config.rtt_samples + warm;
    // Paced like the measured run: stamps sent at the same planned rate, each measured from its
    // planned send time, so a stall of either thread is charged to every stamp planned during it,
    // exactly as it is to quotes (a ping-pong would charge it to the one stamp in flight).
    let period = 1_000_000_000 / i64::try_from(config.rate.max(1)).unwrap_or(1);
    let start = clock.now().nanos() + 1_000_000;
    // A time budget: on a loaded machine the baseline stops early with what it has (its count
    // says so) instead of running on.
    let deadline = start.saturating_add(RTT_BUDGET_NS);
    let (mut sent, mut received) = (0u64, 0u64);
    while received < total {
        let now = clock.now().nanos();
        if now > deadline {
            break;
        }
        let planned = start + i64::try_from(sent).unwrap_or(i64::MAX).saturating_mul(period);
        if sent < total && now >= planned && to_echo.push(Timestamp::from_nanos(planned)).is_ok() {
            sent += 1;
        }
        while let Ok(t) = back.pop() {
            if received >= warm {
                record(&mut h, clock.now().nanos() - t.nanos());
            }
            received += 1;
        }
        pause(config.spin);
    }
    stop.store(true, Ordering::Release);
    echo.join().map_err(|_| HarnessError::Panicked("echo"))?;
    Ok(h)
}

/// Runs the harness (see the [module docs](self)).
///
/// # Errors
/// [`HarnessError`] for a bad configuration or a thread that panicked.
pub fn run_harness(config: &HarnessConfig) -> Result<HarnessResult, HarnessError> {
    if config.rate == 0 || config.rate > 10_000_000 {
        return Err(HarnessError::Config(format!("rate {} quotes/s: want 1 to 10,000,000", config.rate)));
    }
    if config.samples == 0 || config.ring_capacity < 2 {
        return Err(HarnessError::Config("samples and the ring capacity must be positive".to_owned()));
    }
    let venue_pinned = config.venue_core.is_some_and(crate::pin_or_warn);
    let clock = TscClock::new();
    let rtt_before = ring_rtt(config, &clock)?;

    let (mut md_tx, md_rx) = rtrb::RingBuffer::<Event>::new(config.ring_capacity);
    let (mut rep_tx, rep_rx) = rtrb::RingBuffer::<Event>::new(config.ring_capacity);
    let (out_tx, mut out_rx) = rtrb::RingBuffer::<VenueRequest>::new(config.ring_capacity);
    let period = 1_000_000_000 / i64::try_from(config.rate).unwrap_or(1);
    let total = config.warmup + config.samples;
    // The schedule starts once the engine thread is in its loop (it says so through `ready`).
    let schedule = Arc::new(std::sync::atomic::AtomicI64::new(i64::MAX));
    let stop = Arc::new(AtomicBool::new(false));

    let warmup_span = i64::try_from(config.warmup).unwrap_or(0).saturating_mul(period);
    let engine_stop = Arc::clone(&stop);
    let engine_schedule = Arc::clone(&schedule);
    let engine_clock = clock.clone();
    // Room for every order a ring's worth of quotes can cause: a burst of quotes (the venue
    // catching up after a descheduling) must not meet a capacity refusal.
    let room = config.ring_capacity.clamp(16, EngineConfig::MAX_RESTING_PER_INSTRUMENT);
    let engine_config = EngineConfig {
        venue: VenueMode::External,
        cash: Money::try_from_units(1_000_000_000).unwrap_or(Money::ZERO),
        resting_per_instrument: room,
        max_orders: 4 * config.ring_capacity.max(room),
        queue: 4 * config.ring_capacity.max(room),
        ..EngineConfig::new(1)
    };
    let runtime_config = RuntimeConfig { batch_per_ring: 64, core: config.engine_core, spin: config.spin };
    let engine_thread = std::thread::spawn(move || -> Result<_, HarnessError> {
        let strategy = TickToOrder {
            clock: engine_clock.clone(),
            buy: true,
            decided: Timestamp::EPOCH,
            submitted: Timestamp::EPOCH,
            refused: 0,
        };
        let mut engine = Engine::try_new(engine_config, strategy)?;
        let ins = plain_instrument("LAT", Price::from_raw(10_000_000), Qty::ONE)
            .map_err(|e| HarnessError::Config(e.to_string()))?;
        engine.set_instruments(&[ins]);
        engine.start();
        // Ready: the first quote is due 1 ms from now, when this thread is in its loop.
        let start = engine_clock.now().nanos() + 1_000_000;
        let mut tap = StageTap {
            clock: engine_clock.clone(),
            started: Timestamp::EPOCH,
            measure_from: Timestamp::from_nanos(start + warmup_span),
            stages: [histogram()?, histogram()?, histogram()?],
            allocations_at: None,
        };
        let mut inputs = [md_rx, rep_rx];
        let mut out = out_tx;
        engine_schedule.store(start, Ordering::Release);
        let stats =
            run(&mut engine, &mut inputs, &mut out, &engine_clock, &runtime_config, &engine_stop, &mut tap);
        let allocations = tap.allocations_at.map(|a| thread_allocations() - a);
        Ok((stats, tap.stages, allocations, engine.counters()))
    });

    let start = loop {
        let s = schedule.load(Ordering::Acquire);
        if s != i64::MAX {
            break s;
        }
        if engine_thread.is_finished() {
            // It failed before its loop: its error is the answer.
            engine_thread.join().map_err(|_| HarnessError::Panicked("engine"))??;
            return Err(HarnessError::Config("the engine thread ended before its loop".to_owned()));
        }
        std::thread::yield_now();
    };
    let measure_from = Timestamp::from_nanos(start + warmup_span);
    let mut tick_to_order = histogram()?;
    let mut ring_out = histogram()?;
    let mut last_answer = clock.now();
    let mut sent = 0u64;
    let mut answered = 0u64;
    let mut late = 0u64;
    let mut price_ticks = 10_000i64;
    let in_flight_cap = (room / 2).max(1) as u64;
    while answered < total {
        let mut busy = false;
        let now = clock.now();
        let planned = start + i64::try_from(sent).unwrap_or(i64::MAX) * period;
        // At most half the engine's order room unanswered: a venue thread descheduled for a while
        // catches up with a burst of overdue quotes, and their orders must not meet a capacity
        // refusal (a late quote still counts from its planned time).
        if sent < total && now.nanos() >= planned && sent - answered < in_flight_cap {
            late += u64::from(now.nanos() - planned > 1_000);
            price_ticks += if sent.is_multiple_of(2) { 1 } else { -1 };
            let quote = Quote {
                bid: Price::from_raw(price_ticks * 10_000_000),
                bid_size: Qty::ONE,
                ask: Price::from_raw((price_ticks + 1) * 10_000_000),
                ask_size: Qty::ONE,
            };
            let ev = Event {
                ts_event: Timestamp::from_nanos(planned),
                ts_recv: now,
                instrument: InstrumentId(0),
                payload: Payload::Quote(quote),
            };
            if md_tx.push(ev).is_ok() {
                sent += 1;
                busy = true;
            }
        }
        while let Ok(req) = out_rx.pop() {
            let t = clock.now();
            if req.cause >= measure_from {
                record(&mut tick_to_order, t.nanos() - req.cause.nanos());
                record(&mut ring_out, t.nanos() - req.published.nanos());
            }
            let fill = ExecRecord {
                order: req.order.0,
                exec: answered,
                status: 4, // Completed, in the engine's status order
                qty: if req.request.side == kestrel_engine::order::Side::Buy { Qty::ONE } else { -Qty::ONE },
                price: Price::from_raw(price_ticks * 10_000_000),
                fee: 0,
            };
            let ev =
                Event { ts_event: t, ts_recv: t, instrument: InstrumentId(0), payload: Payload::Exec(fill) };
            let mut ev = Some(ev);
            while let Some(e) = ev.take() {
                if let Err(rtrb::PushError::Full(back)) = rep_tx.push(e) {
                    ev = Some(back);
                    pause(config.spin);
                }
            }
            answered += 1;
            last_answer = t;
            busy = true;
        }
        if !busy {
            pause(config.spin);
        }
        if sent == total && clock.now().nanos() - last_answer.nanos() > 2_000_000_000 {
            // Everything sent and no order for two seconds: the engine refused some (they are in
            // its counters) and will never send them; stop waiting.
            break;
        }
    }
    stop.store(true, Ordering::Release);
    let (runtime, engine_stages, allocations, engine_counters) =
        engine_thread.join().map_err(|_| HarnessError::Panicked("engine"))??;
    let rtt_after = ring_rtt(config, &clock)?;
    let [ring_in, strategy, risk] = engine_stages;
    let stages = vec![(STAGES[0], ring_in), (STAGES[1], strategy), (STAGES[2], risk), (STAGES[3], ring_out)];
    Ok(HarnessResult {
        tick_to_order,
        rtt_before,
        rtt_after,
        stages,
        allocations,
        runtime,
        late_sends: late,
        venue_pinned,
        engine: engine_counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_run_measures_every_sample_and_every_stage() {
        // Small and slow enough for a loaded CI machine; unpinned (two test threads, two cores).
        let config = HarnessConfig {
            rate: 20_000,
            samples: 2_000,
            warmup: 200,
            rtt_samples: 1_000,
            // Room for every order of the run (2,200 quotes): a loaded machine that runs the venue
            // thread late must not meet a capacity refusal, which would drop samples.
            ring_capacity: 1024,
            engine_core: None,
            venue_core: None,
            spin: false,
        };
        let r = run_harness(&config).unwrap();
        assert_eq!(r.tick_to_order.len(), 2_000);
        assert_eq!(r.rtt_before.len(), 1_000);
        assert_eq!(r.rtt_after.len(), 1_000);
        for (name, h) in &r.stages {
            assert_eq!(h.len(), 2_000, "stage {name}");
        }
        // Every quote got its order, and every order its fill, within the engine's queues.
        assert_eq!(r.runtime.requests, 2_200);
        assert_eq!(r.runtime.unsent, 0);
        assert!(r.tick_to_order.min() > 0);
        // No timing relation is asserted (a test machine's load decides those); the figures are
        // the benchmark's (`kestrel bench latency`, BENCHMARKS.md).
        assert!(r.rtt().unwrap().len() == 2_000);
    }
}
