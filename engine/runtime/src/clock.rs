//! The runtime's clock: cheap enough to read on the hot path, calibrated to wall time.
//!
//! [`TscClock`] reads the CPU's time-stamp counter through `quanta` (a few nanoseconds, no
//! syscall) and adds an offset measured once against the system clock, so its readings are
//! nanoseconds since the Unix epoch like every other [`Timestamp`] in Kestrel. The offset is not
//! re-measured: over a session the TSC and NTP may drift apart by microseconds, which matters for
//! latencies measured within one clock (all of the runtime's), not across machines.

use kestrel_types::Timestamp;

/// A source of the current time.
pub trait Clock {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The TSC, calibrated to wall time (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct TscClock {
    clock: quanta::Clock,
    /// A raw counter reading and the wall time (ns since the epoch) it corresponds to.
    base_raw: u64,
    base_wall: i64,
}

impl TscClock {
    /// Calibrates a clock: the system clock is read between two counter reads, and the pair
    /// closest together of a few tries (the least disturbed) gives the offset, at its middle.
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let mut best: Option<(u64, u64, i64)> = None;
        for _ in 0..16 {
            let a = clock.raw();
            let wall = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            let b = clock.raw();
            let width = clock.delta_as_nanos(a, b);
            if best.is_none_or(|(w, _, _)| width < w) {
                best = Some((width, a + b.saturating_sub(a) / 2, wall));
            }
        }
        let (_, base_raw, base_wall) = best.unwrap_or((0, clock.raw(), 0));
        Self { clock, base_raw, base_wall }
    }
}

impl Default for TscClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TscClock {
    #[inline]
    fn now(&self) -> Timestamp {
        let since = self.clock.delta_as_nanos(self.base_raw, self.clock.raw());
        Timestamp::from_nanos(self.base_wall.saturating_add(i64::try_from(since).unwrap_or(i64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tsc_clock_tells_wall_time_and_moves_forward() {
        let c = TscClock::new();
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let a = c.now().nanos();
        // Within 50 ms of the system clock (calibration is far better; the margin is for CI).
        assert!((i128::try_from(wall).unwrap() - i128::from(a)).abs() < 50_000_000, "{wall} vs {a}");
        let b = c.now().nanos();
        assert!(b >= a);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let d = c.now().nanos() - b;
        assert!((15_000_000..2_000_000_000).contains(&d), "20 ms of sleep read as {d} ns");
    }
}
