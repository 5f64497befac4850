//! Shared, seeded inputs for Kestrel's criterion benches (`bench/benches/*.rs`).
//!
//! A bench figure is only comparable across runs, machines and peers if every run measures the same
//! inputs. This module owns those inputs: they come from [`SplitMix64`] started at [`SEED`], never
//! from an unseeded RNG or a clock, so two runs differ only by the machine and the code measured.
//!
//! The fills model the instruments Kestrel trades (ARCHITECTURE.md §3): stocks quoted in cents and
//! sized in whole shares, index futures on a quarter-point tick, FX at five decimals in lots of
//! 1 000, and crypto at cents with 8-decimal sizes; each with a commission rate typical of its venue.
//! Every number is produced as the text a feed or a CSV file delivers, because parsing is part of
//! the path the number benches measure; the Kestrel values are parsed from that same text.
//!
//! # Invariants
//! Every generated text parses as a Kestrel number (at most 9 decimals, well inside the range), and
//! every product of a fill's size, price and rate fits `rust_decimal`'s 28 digits exactly, so the
//! peers are measured on the same exact values.

use kestrel_types::{Price, Qty, Ratio};

/// The seed of every bench input: fixed, so that every run measures the same numbers.
pub const SEED: u64 = 0x4b65_7374_7265_6c21; // "Kestrel!"

/// Fills per measured batch: large enough to amortise criterion's per-iteration overhead and to
/// mix the instrument classes, small enough (a few tens of KiB) to stay in L1/L2 like a hot loop.
pub const FILLS: usize = 1024;

/// SplitMix64 (Steele, Lea & Flood, 2014): a tiny generator fully determined by its seed.
///
/// Bench inputs need reproducibility, not statistical strength, and this keeps `kestrel-bench` free
/// of an RNG dependency whose stream could change between versions.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator that will produce the same stream for the same `seed` on every machine.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi` (the slight modulo bias is irrelevant for bench inputs).
    pub fn in_range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// One simulated execution: its size, price and commission rate as text and as Kestrel numbers.
///
/// Text first because a backtest reads prices from files and feeds; the peers (`rust_decimal`,
/// `f64`) parse the same text in their own bench set-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Which kind of instrument produced it, for reading a figure back to its inputs.
    pub class: InstrumentClass,
    /// The executed size, as the feed writes it (`"120"`, `"0.00412345"`).
    pub qty_text: String,
    /// The execution price, as the feed writes it (`"4123.25"`, `"1.08765"`).
    pub price_text: String,
    /// The commission rate, as a user configures it (`"0.001"` for 0.1%).
    pub rate_text: String,
    /// `qty_text` parsed.
    pub qty: Qty,
    /// `price_text` parsed.
    pub price: Price,
    /// `rate_text` parsed.
    pub rate: Ratio,
}

/// The instrument families whose number shapes the inputs imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstrumentClass {
    /// Cents, whole shares, 0.05%–0.1% commission.
    Stock,
    /// Quarter-point tick, a few contracts, a small per-notional rate.
    Future,
    /// Five decimals, lots of 1 000 units, 0.002% commission.
    Fx,
    /// Cents, 8-decimal sizes, 0.075%–0.1% taker fees.
    Crypto,
}

/// `mantissa` read with `places` decimals, as plain decimal text (`12345, 2` → `"123.45"`).
fn decimal_text(mantissa: u64, places: u32) -> String {
    if places == 0 {
        return mantissa.to_string();
    }
    let unit = 10u64.pow(places);
    format!("{}.{:0width$}", mantissa / unit, mantissa % unit, width = places as usize)
}

/// `n` fills drawn from `SplitMix64::new(seed)`, cycling through the instrument classes in a
/// seeded order so that a batch is not one branch-predictable shape.
///
/// # Panics
/// Only if a generated text failed to parse, which the module invariants rule out.
pub fn fills(n: usize, seed: u64) -> Vec<Fill> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let (class, qty_text, price_text, rate_text) = match rng.next_u64() % 4 {
                0 => (
                    InstrumentClass::Stock,
                    rng.in_range(1, 5_000).to_string(),
                    decimal_text(rng.in_range(500, 99_999), 2),
                    ["0.001", "0.0005"][(rng.next_u64() % 2) as usize],
                ),
                1 => (
                    InstrumentClass::Future,
                    rng.in_range(1, 50).to_string(),
                    decimal_text(rng.in_range(12_000, 24_000) * 25, 2),
                    "0.00002",
                ),
                2 => (
                    InstrumentClass::Fx,
                    (rng.in_range(1, 1_000) * 1_000).to_string(),
                    decimal_text(rng.in_range(80_000, 160_000), 5),
                    "0.00002",
                ),
                _ => (
                    InstrumentClass::Crypto,
                    decimal_text(rng.in_range(1, 250_000_000), 8),
                    decimal_text(rng.in_range(100_000, 9_999_999), 2),
                    ["0.001", "0.00075"][(rng.next_u64() % 2) as usize],
                ),
            };
            let parse_err = "bench inputs are valid Kestrel numbers";
            Fill {
                class,
                qty: qty_text.parse().expect(parse_err),
                price: price_text.parse().expect(parse_err),
                rate: rate_text.parse().expect(parse_err),
                qty_text,
                price_text,
                rate_text: rate_text.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_reproducible_and_parse_back() {
        let a = fills(FILLS, SEED);
        assert_eq!(a, fills(FILLS, SEED), "same seed, same inputs");
        assert_ne!(a, fills(FILLS, SEED + 1));
        for f in &a {
            assert_eq!(f.price.to_string().parse::<Price>(), Ok(f.price));
            assert!(f.qty.is_positive() && f.price.is_positive() && f.rate.is_positive());
        }
        for class in
            [InstrumentClass::Stock, InstrumentClass::Future, InstrumentClass::Fx, InstrumentClass::Crypto]
        {
            assert!(a.iter().any(|f| f.class == class), "{class:?} missing from a batch");
        }
    }

    #[test]
    fn the_stream_is_pinned() {
        // A changed stream would silently change every figure in BENCHMARKS.md.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(decimal_text(12_345, 2), "123.45");
        assert_eq!(decimal_text(5, 8), "0.00000005");
    }
}
