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

/// Latency recorded over time: points `(time, entry, response)` sorted by time, linearly
/// interpolated in between and held flat outside (a measured session replayed as the model).
///
/// With a varying delay a message sent later could be due earlier; one connection delivers in
/// order, so the engine never lets a message overtake the one before it in the same direction
/// (its due time is at least the previous one's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyCurve {
    points: Vec<(Timestamp, TimeSpan, TimeSpan)>,
}

/// Why a latency curve was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LatencyCurveError {
    /// No points.
    #[error("a latency curve needs at least one point")]
    Empty,
    /// Times must strictly increase.
    #[error("point {index}: time {at} is not after the previous point's")]
    Unordered {
        /// The point's index.
        index: usize,
        /// Its time.
        at: Timestamp,
    },
    /// Delays must not be negative.
    #[error("point {index}: a negative delay")]
    Negative {
        /// The point's index.
        index: usize,
    },
    /// A line of the text form that is not `time_ns,entry_ns,response_ns`.
    #[error("line {line}: {reason}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
}

impl LatencyCurve {
    /// A curve through `points` `(time, entry, response)`.
    ///
    /// # Errors
    /// [`LatencyCurveError`] when empty, unordered or negative.
    pub fn new(points: Vec<(Timestamp, TimeSpan, TimeSpan)>) -> Result<Self, LatencyCurveError> {
        if points.is_empty() {
            return Err(LatencyCurveError::Empty);
        }
        for (index, w) in points.windows(2).enumerate() {
            if w[1].0 <= w[0].0 {
                return Err(LatencyCurveError::Unordered { index: index + 1, at: w[1].0 });
            }
        }
        if let Some(index) = points.iter().position(|p| p.1.nanos() < 0 || p.2.nanos() < 0) {
            return Err(LatencyCurveError::Negative { index });
        }
        Ok(Self { points })
    }

    /// Parses the text form: one `time_ns,entry_ns,response_ns` per line (integers, nanoseconds;
    /// `#` comments, blank lines and a header line starting with a letter are skipped).
    ///
    /// # Errors
    /// [`LatencyCurveError::Parse`] naming the line, and [`LatencyCurve::new`]'s errors.
    pub fn parse(text: &str) -> Result<Self, LatencyCurveError> {
        let mut points = Vec::new();
        for (k, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(|c: char| c.is_ascii_alphabetic())
            {
                continue;
            }
            let bad = |reason: String| LatencyCurveError::Parse { line: k + 1, reason };
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [t, e, r] = fields.as_slice() else {
                return Err(bad(format!("want time_ns,entry_ns,response_ns, got {} fields", fields.len())));
            };
            let int = |s: &str| s.parse::<i64>().map_err(|e| bad(format!("{s:?}: {e}")));
            points.push((
                Timestamp::from_nanos(int(t)?),
                TimeSpan::from_nanos(int(e)?),
                TimeSpan::from_nanos(int(r)?),
            ));
        }
        Self::new(points)
    }

    /// The delays at `at`, interpolated.
    pub fn at(&self, at: Timestamp) -> Latency {
        let k = self.points.partition_point(|p| p.0 <= at);
        let (before, after) = (k.checked_sub(1).and_then(|i| self.points.get(i)), self.points.get(k));
        match (before, after) {
            (Some(a), Some(b)) => {
                // i128: spans and delays are i64 nanoseconds; the products cannot overflow.
                let span = i128::from(b.0.nanos() - a.0.nanos());
                let into = i128::from(at.nanos() - a.0.nanos());
                let lerp = |x: TimeSpan, y: TimeSpan| {
                    let v =
                        i128::from(x.nanos()) + (i128::from(y.nanos()) - i128::from(x.nanos())) * into / span;
                    TimeSpan::from_nanos(i64::try_from(v).unwrap_or(i64::MAX))
                };
                Latency { entry: lerp(a.1, b.1), response: lerp(a.2, b.2) }
            }
            (Some(p), None) | (None, Some(p)) => Latency { entry: p.1, response: p.2 },
            (None, None) => Latency::ZERO,
        }
    }
}
