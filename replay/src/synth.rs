//! Seeded synthetic bars: a random walk in whole ticks, the same for the same seed on every machine.
//!
//! Demos, tests and benchmarks need realistic bars of any length without shipping files. The
//! generator is [`SplitMix64`], written out here because its stream is fixed by its definition;
//! the `rand` crates do not promise the same stream across releases, and a changed stream would
//! silently change every recorded figure.

use kestrel_types::{Bar, NANOS_PER_DAY, Price, Qty, TimeSpan, Timestamp};

use crate::bars::SESSION_END_NANOS;

/// SplitMix64 (Steele, Lea and Flood, 2014): 64 bits of state, one multiply-xorshift per draw.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `-span..=span` (`span ≥ 0`).
    pub fn step(&mut self, span: u32) -> i64 {
        let width = 2 * u64::from(span) + 1;
        // The remainder is below 2^33: it fits an i64.
        i64::try_from(self.next_u64() % width).unwrap_or(0) - i64::from(span)
    }
}

/// When generated bars are stamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarClock {
    /// One bar per weekday at the session end (23:59:59.999989), as daily bar files are stamped.
    Weekdays,
    /// One bar every `span`, around the clock.
    Every(TimeSpan),
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkSpec {
    /// Seed of the walk.
    pub seed: u64,
    /// Number of bars.
    pub count: usize,
    /// The first bar's day (or instant, for [`BarClock::Every`]).
    pub start: Timestamp,
    /// The bar clock.
    pub clock: BarClock,
    /// Price of one tick.
    pub tick: Price,
    /// First price, in ticks.
    pub start_ticks: i64,
    /// Largest move from one close to the next open, and of a bar body, in ticks.
    pub volatility: u32,
}

impl WalkSpec {
    /// Daily bars from 100.00 in cent ticks, starting 2020-01-01.
    pub fn daily(seed: u64, count: usize) -> Self {
        Self {
            seed,
            count,
            start: Timestamp::from_nanos(18_262 * NANOS_PER_DAY), // 2020-01-01
            clock: BarClock::Weekdays,
            tick: Price::from_raw(10_000_000),
            start_ticks: 10_000,
            volatility: 100,
        }
    }

    /// One-minute bars from 100.0000 in ticks of 0.0001, starting 2020-01-01T00:00. The fine
    /// tick keeps moving averages from tying exactly, so that an exact engine and a binary64 one
    /// see the same crossovers.
    pub fn minutes(seed: u64, count: usize) -> Self {
        Self {
            clock: BarClock::Every(TimeSpan::from_nanos(60_000_000_000)),
            tick: Price::from_raw(100_000),
            start_ticks: 1_000_000,
            volatility: 800,
            ..Self::daily(seed, count)
        }
    }
}

/// Generates the bars of `spec`: consistent OHLC (low ≤ open, close ≤ high), positive prices,
/// strictly increasing timestamps.
pub fn random_walk(spec: &WalkSpec) -> Vec<Bar> {
    let mut rng = SplitMix64::new(spec.seed);
    let v = spec.volatility.max(1);
    let mut close = spec.start_ticks.max(10 * i64::from(v));
    let floor = i64::from(v) + 1;
    let mut t = spec.start.nanos();
    let mut bars = Vec::with_capacity(spec.count);
    let tick = spec.tick.raw();
    let p = |ticks: i64| Price::from_raw(ticks.saturating_mul(tick));
    while bars.len() < spec.count {
        let ts = match spec.clock {
            BarClock::Weekdays => {
                let day = t.div_euclid(NANOS_PER_DAY);
                t = (day + 1) * NANOS_PER_DAY;
                // 1970-01-01 was a Thursday: days ≡ 2, 3 (mod 7) are weekends.
                if matches!(day.rem_euclid(7), 2 | 3) {
                    continue;
                }
                day * NANOS_PER_DAY + SESSION_END_NANOS
            }
            BarClock::Every(span) => {
                let ts = t;
                t = t.saturating_add(span.nanos().max(1));
                ts
            }
        };
        let open = (close + rng.step(v / 2)).max(floor);
        let end = (open + rng.step(v)).max(floor);
        let high = open.max(end) + rng.step(v / 2).abs();
        let low = (open.min(end) - rng.step(v / 2).abs()).max(1);
        let volume = 1_000 + rng.step(500);
        bars.push(Bar {
            ts: Timestamp::from_nanos(ts),
            open: p(open),
            high: p(high),
            low: p(low),
            close: p(end),
            volume: Qty::try_from_units(volume).unwrap_or(Qty::ZERO),
            open_interest: Qty::ZERO,
        });
        close = end;
    }
    bars
}

/// Writes bars as a backtrader CSV (`Date,Time,Open,High,Low,Close,Volume,OpenInterest`, or
/// without `Time` for daily bars), so that backtrader can run on exactly the same data.
///
/// # Errors
/// I/O errors of `out`.
pub fn write_btcsv(bars: &[Bar], intraday: bool, out: &mut impl std::io::Write) -> std::io::Result<()> {
    if intraday {
        writeln!(out, "Date,Time,Open,High,Low,Close,Volume,OpenInterest")?;
    } else {
        writeln!(out, "Date,Open,High,Low,Close,Volume,OpenInterest")?;
    }
    for b in bars {
        let dt = b.ts.to_datetime();
        let date = dt.format("%Y-%m-%d");
        if intraday {
            write!(out, "{date},{}", dt.format("%H:%M:%S"))?;
        } else {
            write!(out, "{date}")?;
        }
        writeln!(out, ",{},{},{},{},{},{}", b.open, b.high, b.low, b.close, b.volume, b.open_interest)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bars::{BarFormat, DateWindow, parse_bars};

    #[test]
    fn same_seed_same_bars_and_bars_are_consistent() {
        let a = random_walk(&WalkSpec::minutes(42, 5_000));
        assert_eq!(a, random_walk(&WalkSpec::minutes(42, 5_000)));
        assert_ne!(a, random_walk(&WalkSpec::minutes(43, 5_000)));
        for b in &a {
            assert!(b.low.is_positive() && b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close));
        }
        assert!(a.windows(2).all(|w| w[1].ts.nanos() - w[0].ts.nanos() == 60_000_000_000));
        // The stream is fixed by SplitMix64's definition: pin its first value.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn daily_bars_skip_weekends_and_round_trip_through_btcsv() {
        let bars = random_walk(&WalkSpec::daily(7, 300));
        assert!(bars.iter().all(|b| !matches!(b.ts.day_number().rem_euclid(7), 2 | 3)));
        for (intraday, bars) in [(false, bars), (true, random_walk(&WalkSpec::minutes(7, 300)))] {
            let mut csv = Vec::new();
            write_btcsv(&bars, intraday, &mut csv).unwrap();
            let back = parse_bars("synthetic.csv".as_ref(), &csv, BarFormat::BtCsv, DateWindow::ALL).unwrap();
            assert_eq!(back.bars, bars);
        }
    }
}
