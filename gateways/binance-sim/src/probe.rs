//! The measurement probe: tick-to-trade latency of a client measured from the venue's side of the
//! wire, with both timestamps taken in this process on one clock.
//!
//! Armed with [`SimConfig::probe`](crate::SimConfig::probe), the simulator:
//! - publishes market-data ticks on demand: a `<symbol>@bookTicker` frame of the book's current
//!   top ([`TickProbe::send_tick`]; paced by [`TickProbe::run`]), and stamps each tick **just
//!   before the write that hands its frame to the kernel** (after WebSocket framing) on the first
//!   connection that sends it;
//! - stamps each new-order request **just after it is read and parsed**: REST `POST
//!   /api/v3/order` (not `/order/test`) and WebSocket API `order.place` (not `order.test`);
//! - holds the synthetic market still (no timer steps), so the probe's ticks are the only quotes
//!   a client sees and every order answers one of them;
//! - polls its WebSocket connections every [`ProbeConfig::ws_poll`] instead of 20 ms (a
//!   connection thread writes queued frames between reads): this bounds how soon a tick leaves
//!   after it is published, which is pacing, not the measurement (the stamp is taken at the
//!   write).
//!
//! Both stamps are [`std::time::Instant`] (the monotonic clock, `CLOCK_MONOTONIC` on Linux).
//!
//! # Correlation rule ([`correlate`])
//! The probe runs closed-loop: the next tick is published only after an order arrived for the
//! previous one (or [`Pace::answer_timeout`] passed), and no sooner than [`Pace::min_gap`] after
//! it. An order belongs to the last tick sent before it was read. A tick's first order is its
//! sample (`order read − tick sent`); further orders before the next tick are `extra` (not
//! measured). A tick whose predecessor got no order before it was sent is `ambiguous` and not
//! measured: its first order may be the predecessor's late answer. Orders before the first tick
//! are `orphan`; ticks no connection followed are `undelivered`.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::api::Shared;
use crate::error::SimError;
use crate::http::Request;

/// How an armed probe runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Read timeout of WebSocket connections: how often a connection thread writes the frames
    /// queued for it.
    pub ws_poll: Duration,
}

impl Default for ProbeConfig {
    /// 100 µs polls: ticks leave within 0.1 ms of being published, at ~10k wake-ups a second per
    /// WebSocket connection.
    fn default() -> Self {
        Self { ws_poll: Duration::from_micros(100) }
    }
}

/// What the probe recorded: send instants by tick number (`None` until a connection wrote it)
/// and the read instants of new orders, in arrival order.
#[derive(Debug, Default)]
struct Record {
    sent: Vec<Option<Instant>>,
    orders: Vec<Instant>,
}

/// The probe's state inside the simulator (see the [module docs](self)); inert unless armed.
#[derive(Debug, Default)]
pub struct Probe {
    config: Option<ProbeConfig>,
    record: Mutex<Record>,
    /// Signalled on every order read.
    order_read: Condvar,
}

impl Probe {
    /// A probe armed with `config`, or inert (`None`).
    pub fn new(config: Option<ProbeConfig>) -> Self {
        Self { config, ..Self::default() }
    }

    /// Whether the probe is armed.
    pub fn is_armed(&self) -> bool {
        self.config.is_some()
    }

    /// The WebSocket read timeout while armed.
    pub fn ws_poll(&self) -> Option<Duration> {
        self.config.map(|c| c.ws_poll)
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hook (a WebSocket connection): tick `seq` is being written at `at`; the first write counts.
    pub fn tick_sent(&self, seq: u64, at: Instant) {
        let mut r = self.lock();
        if let Some(slot) = usize::try_from(seq).ok().and_then(|i| r.sent.get_mut(i))
            && slot.is_none()
        {
            *slot = Some(at);
        }
    }

    /// Hook (a REST connection): `req` was just read; stamps it if it places an order.
    pub fn rest_request(&self, req: &Request) {
        if self.is_armed() && req.method == "POST" && req.path == "/api/v3/order" {
            self.order_at(Instant::now());
        }
    }

    /// Hook (a WebSocket API connection): `text` was just read; stamps it if it is `order.place`.
    pub fn ws_api_request(&self, text: &str) {
        if !self.is_armed() {
            return;
        }
        let at = Instant::now();
        let placed = serde_json::from_str::<Value>(text)
            .is_ok_and(|v| v.get("method").and_then(Value::as_str) == Some("order.place"));
        if placed {
            self.order_at(at);
        }
    }

    fn order_at(&self, at: Instant) {
        self.lock().orders.push(at);
        self.order_read.notify_all();
    }
}

/// How [`TickProbe::run`] paces its ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// Ticks to send.
    pub ticks: u64,
    /// The shortest time from one tick's publication to the next (the rate's ceiling).
    pub min_gap: Duration,
    /// How long a tick waits for its order before the next is sent anyway.
    pub answer_timeout: Duration,
    /// A run stops after this many ticks in a row got no order (the client is gone).
    pub give_up_after: u64,
}

/// The outcome of a run under the [correlation rule](self#correlation-rule-correlate).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Correlation {
    /// Ticks sent.
    pub ticks: u64,
    /// Tick-to-order latencies of the measured ticks, nanoseconds, in tick order.
    pub samples: Vec<u64>,
    /// Ticks that got no order before the next tick (or the end).
    pub unanswered: u64,
    /// Ticks not measured because their predecessor was unanswered.
    pub ambiguous: u64,
    /// Orders after a tick's first.
    pub extra: u64,
    /// Orders read before the run's first tick.
    pub orphan: u64,
    /// Ticks no connection wrote.
    pub undelivered: u64,
    /// The run gave up ([`Pace::give_up_after`]).
    pub gave_up: bool,
}

/// Applies the [correlation rule](self#correlation-rule-correlate) to tick send instants (by tick
/// number; `None`: never written) and order read instants (any order).
pub fn correlate(sent: &[Option<Instant>], orders: &[Instant]) -> Correlation {
    let mut orders = orders.to_vec();
    orders.sort_unstable();
    let delivered: Vec<Instant> = sent.iter().flatten().copied().collect();
    let mut c = Correlation {
        ticks: sent.len() as u64,
        undelivered: (sent.len() - delivered.len()) as u64,
        ..Correlation::default()
    };
    let first = delivered.first().copied();
    let mut next_order = orders.partition_point(|o| first.is_none_or(|f| *o < f));
    c.orphan = next_order as u64;
    let mut previous_answered = true;
    for (k, s) in delivered.iter().enumerate() {
        let end = delivered.get(k + 1);
        let from = next_order;
        while next_order < orders.len() && end.is_none_or(|e| orders[next_order] < *e) {
            next_order += 1;
        }
        let answers = &orders[from..next_order];
        match answers.first() {
            None => c.unanswered += 1,
            Some(_) if !previous_answered => c.ambiguous += 1,
            Some(r) => {
                let ns = r.saturating_duration_since(*s).as_nanos();
                c.samples.push(u64::try_from(ns).unwrap_or(u64::MAX));
            }
        }
        c.extra += answers.len().saturating_sub(1) as u64;
        previous_answered = !answers.is_empty();
    }
    c
}

/// A caller's handle on an armed probe, for one symbol ([`crate::Simulator::probe`]).
#[derive(Debug, Clone)]
pub struct TickProbe {
    shared: Arc<Shared>,
    market: usize,
}

impl TickProbe {
    /// The probe of `shared` for `symbol`.
    pub(crate) fn new(shared: Arc<Shared>, symbol: &str) -> Result<Self, SimError> {
        if !shared.probe.is_armed() {
            return Err(SimError::Probe("the simulator was started without `SimConfig::probe`".into()));
        }
        let market = shared
            .venue()
            .market(symbol)
            .map_err(|_| SimError::Probe(format!("the simulator does not list {symbol}")))?;
        Ok(Self { shared, market })
    }

    /// Connections following the symbol's bookTicker stream (those a tick reaches).
    pub fn followers(&self) -> usize {
        let (stream, _) = self.shared.venue().book_ticker_frame(self.market);
        self.shared.hub.followers(&stream)
    }

    /// New orders read so far.
    pub fn orders_read(&self) -> usize {
        self.shared.probe.lock().orders.len()
    }

    /// Publishes one tick (the current top as a bookTicker frame); returns its number and how
    /// many connections it was queued for.
    pub fn send_tick(&self) -> (u64, usize) {
        let (stream, frame) = self.shared.venue().book_ticker_frame(self.market);
        let seq = {
            let mut r = self.shared.probe.lock();
            r.sent.push(None);
            r.sent.len() as u64 - 1
        };
        (seq, self.shared.hub.publish_tick(&stream, &frame, seq))
    }

    /// Waits until at least `count` orders were read, at most `timeout`; whether they were.
    pub fn wait_orders(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut r = self.shared.probe.lock();
        while r.orders.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            r = self.shared.probe.order_read.wait_timeout(r, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }

    /// Sends `pace.ticks` ticks closed-loop (module docs) and correlates them with the orders read
    /// from the run's start. After the last tick it waits for its answer, at most
    /// `answer_timeout`, then a further `min_gap` so that late extras are counted.
    pub fn run(&self, pace: &Pace) -> Correlation {
        let (first_tick, first_order) = {
            let r = self.shared.probe.lock();
            (r.sent.len(), r.orders.len())
        };
        let mut next = Instant::now();
        let mut silent = 0u64;
        let mut gave_up = false;
        for _ in 0..pace.ticks {
            let wait = next.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            let before = self.orders_read();
            self.send_tick();
            next = Instant::now() + pace.min_gap;
            if self.wait_orders(before + 1, pace.answer_timeout) {
                silent = 0;
            } else {
                silent += 1;
                if silent >= pace.give_up_after.max(1) {
                    gave_up = true;
                    break;
                }
            }
        }
        std::thread::sleep(pace.min_gap);
        let r = self.shared.probe.lock();
        let mut c = correlate(&r.sent[first_tick..], &r.orders[first_order..]);
        c.gave_up = gave_up;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, us: u64) -> Instant {
        base + Duration::from_micros(us)
    }

    #[test]
    fn each_tick_is_measured_to_its_first_order_and_the_rule_flags_the_rest() {
        let t0 = Instant::now();
        let sent = [
            Some(at(t0, 100)), // 0: answered at 130 (sample 30 µs), extra at 150
            Some(at(t0, 200)), // 1: unanswered
            Some(at(t0, 300)), // 2: order at 390: ambiguous (1 had no answer)
            None,              // 3: never written
            Some(at(t0, 400)), // 4: answered at 445 (sample 45 µs)
            Some(at(t0, 500)), // 5: answered at 520 (sample 20 µs)
        ];
        let orders = [at(t0, 50), at(t0, 150), at(t0, 130), at(t0, 390), at(t0, 445), at(t0, 520)];
        let c = correlate(&sent, &orders);
        assert_eq!(c.samples, vec![30_000, 45_000, 20_000]);
        assert_eq!(
            (c.ticks, c.unanswered, c.ambiguous, c.extra, c.orphan, c.undelivered),
            (6, 1, 1, 1, 1, 1)
        );
    }

    #[test]
    fn an_order_read_exactly_when_the_next_tick_is_sent_belongs_to_the_next_tick() {
        let t0 = Instant::now();
        let sent = [Some(at(t0, 10)), Some(at(t0, 20)), Some(at(t0, 30))];
        let c = correlate(&sent, &[at(t0, 20), at(t0, 31)]);
        // Tick 0 unanswered, so tick 1's order may be tick 0's: not measured; tick 2 is.
        assert_eq!(c.samples, vec![1_000]);
        assert_eq!((c.unanswered, c.ambiguous), (1, 1));
    }

    #[test]
    fn no_ticks_makes_every_order_an_orphan() {
        let t0 = Instant::now();
        let c = correlate(&[None], &[t0, t0]);
        assert_eq!((c.ticks, c.orphan, c.undelivered, c.samples.len()), (1, 2, 1, 0));
    }
}
