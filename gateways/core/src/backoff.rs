//! `Backoff`: how long to wait before reconnecting, capped and exponential, with seeded jitter.
//!
//! Attempt `n` (from 0) has a base of `initial · 2ⁿ`, capped at `max`, and waits a uniformly drawn
//! time in `[base/2, base]` ("equal jitter"): never less than half the base, so a flapping venue is
//! not hammered, and spread so that many gateways restarted together do not reconnect in step.
//! The draw comes from a SplitMix64 sequence seeded by the configuration, so a schedule is
//! reproducible in tests and in a replayed session; it is jitter, not cryptography.

use kestrel_types::TimeSpan;

/// The reconnect schedule's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The base wait of the first retry.
    pub initial: TimeSpan,
    /// The cap on the base wait.
    pub max: TimeSpan,
    /// Seed of the jitter sequence.
    pub seed: u64,
}

impl Default for BackoffPolicy {
    /// 100 ms doubling up to 30 s.
    fn default() -> Self {
        Self {
            initial: TimeSpan::from_nanos(100_000_000),
            max: TimeSpan::from_nanos(30_000_000_000),
            seed: 0x6b65_7374_7265_6c00,
        }
    }
}

/// One connection's reconnect state: the attempt count and the jitter sequence.
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: BackoffPolicy,
    attempt: u32,
    state: u64,
}

impl Backoff {
    /// A schedule at attempt 0.
    pub fn new(policy: BackoffPolicy) -> Self {
        Self { policy, attempt: 0, state: policy.seed }
    }

    /// The wait before the next attempt; counts the attempt.
    pub fn next_delay(&mut self) -> TimeSpan {
        let initial = self.policy.initial.nanos().max(1);
        let max = self.policy.max.nanos().max(initial);
        let factor = 1_i64.checked_shl(self.attempt.min(62)).unwrap_or(i64::MAX);
        let base = initial.saturating_mul(factor).min(max);
        let half = base / 2;
        let span = u64::try_from(base - half).unwrap_or(0) + 1;
        let jitter = i64::try_from(self.next_random() % span).unwrap_or(0);
        self.attempt = self.attempt.saturating_add(1);
        TimeSpan::from_nanos(half + jitter)
    }

    /// Back to attempt 0: called once a connection has proved healthy (delivered a message).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Attempts counted since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// SplitMix64 (Steele, Lea, Flood 2014): one add and three multiply-xorshifts, full period.
    fn next_random(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    fn policy(seed: u64) -> BackoffPolicy {
        BackoffPolicy { initial: TimeSpan::from_nanos(100 * MS), max: TimeSpan::from_nanos(2_000 * MS), seed }
    }

    #[test]
    fn doubles_within_equal_jitter_bounds_and_caps() {
        let mut b = Backoff::new(policy(7));
        let bases = [100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000];
        for (n, base) in bases.into_iter().enumerate() {
            let d = b.next_delay().nanos();
            assert!(
                (base * MS / 2..=base * MS).contains(&d),
                "attempt {n}: {d} outside [{base}/2, {base}] ms"
            );
            assert_eq!(b.attempt(), u32::try_from(n).unwrap() + 1);
        }
        for _ in 0..100 {
            assert!(b.next_delay().nanos() <= 2_000 * MS, "cap holds at high attempts");
        }
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert!(b.next_delay().nanos() <= 100 * MS, "reset starts again from the initial wait");
    }

    #[test]
    fn same_seed_same_schedule_other_seed_other_jitter() {
        let run = |seed| {
            let mut b = Backoff::new(policy(seed));
            (0..12).map(|_| b.next_delay().nanos()).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        // A reset replays the base sequence but not the jitter: the generator keeps going.
        let mut b = Backoff::new(policy(42));
        let first = b.next_delay();
        b.reset();
        assert_ne!(b.next_delay(), first);
    }

    #[test]
    fn jitter_spreads_over_the_interval() {
        // 1000 first attempts from different seeds cover both halves of [base/2, base].
        let (mut low, mut high) = (0, 0);
        for seed in 0..1000 {
            let d = Backoff::new(policy(seed)).next_delay().nanos();
            if d < 75 * MS { low += 1 } else { high += 1 }
        }
        assert!(low > 350 && high > 350, "low {low} high {high}");
    }

    #[test]
    fn extreme_policies_do_not_overflow() {
        let mut b = Backoff::new(BackoffPolicy {
            initial: TimeSpan::from_nanos(i64::MAX / 2),
            max: TimeSpan::from_nanos(i64::MAX),
            seed: 1,
        });
        for _ in 0..70 {
            assert!(b.next_delay().nanos() > 0);
        }
        let mut z = Backoff::new(BackoffPolicy { initial: TimeSpan::ZERO, max: TimeSpan::ZERO, seed: 1 });
        assert!(z.next_delay().nanos() <= 1);
    }
}
