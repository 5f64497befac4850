//! The strategies `kestrel diff` runs, their parameters, and the crossover signal both sides share.
//!
//! The signal is computed once per bar from closes only, so the bar broker and the tick engine see
//! the same crosses on the same bars whatever their fills were; only what the strategy does about
//! a cross depends on its position.

use anyhow::{Result, bail};
use kestrel_engine::engine::Grid;
use kestrel_types::{Price, Qty, Ratio, Rounding};

/// The strategies of `kestrel diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrategyName {
    /// Market orders on the crossover.
    SmaCross,
    /// A market entry on a cross up with a stop and a take-profit (one cancels the other).
    SmaBracket,
}

impl core::str::FromStr for StrategyName {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sma-cross" => Ok(Self::SmaCross),
            "sma-bracket" => Ok(Self::SmaBracket),
            other => bail!("unknown strategy {other:?} (want sma-cross or sma-bracket)"),
        }
    }
}

impl core::fmt::Display for StrategyName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::SmaCross => "sma-cross",
            Self::SmaBracket => "sma-bracket",
        })
    }
}

/// A strategy with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) name: StrategyName,
    pub(crate) fast: usize,
    pub(crate) slow: usize,
    pub(crate) size: Qty,
    /// Stop distance below the entry, a fraction of the entry price (bracket only).
    pub(crate) stop: Ratio,
    /// Target distance above the entry, a fraction of the entry price (bracket only).
    pub(crate) target: Ratio,
}

const COMMON_KEYS: &[(&str, &str)] = &[
    ("fast", "fast moving-average length in bars (default 10)"),
    ("slow", "slow moving-average length in bars (default 30)"),
    ("size", "units per order, on the data's lot grid (default 1)"),
];
const BRACKET_KEYS: &[(&str, &str)] = &[
    ("stop", "stop distance below the entry price, a fraction (default 0.02)"),
    ("target", "take-profit distance above the entry price, a fraction (default 0.03)"),
];

fn keys(name: StrategyName) -> Vec<(&'static str, &'static str)> {
    let mut k = COMMON_KEYS.to_vec();
    if name == StrategyName::SmaBracket {
        k.extend_from_slice(BRACKET_KEYS);
    }
    k
}

/// The parameter list of a strategy, for `--param help`.
pub(crate) fn help(name: StrategyName) -> String {
    let mut s = format!("{name} parameters (--param key=value):");
    for (k, v) in keys(name) {
        s.push_str(&format!("\n  {k:<7} {v}"));
    }
    s
}

fn value<T: core::str::FromStr>(key: &str, v: &str) -> Result<T>
where
    T::Err: core::fmt::Display,
{
    v.parse().map_err(|e| anyhow::anyhow!("--param {key}={v}: {e}"))
}

impl Spec {
    /// Parses `key=value` pairs for `name`; an unknown key or a bad value is an error naming it.
    pub(crate) fn parse(name: StrategyName, pairs: &[String]) -> Result<Self> {
        let mut s = Self {
            name,
            fast: 10,
            slow: 30,
            size: Qty::ONE,
            stop: Ratio::from_raw(20_000_000),
            target: Ratio::from_raw(30_000_000),
        };
        let bracket = name == StrategyName::SmaBracket;
        for pair in pairs {
            let Some((k, v)) = pair.split_once('=') else {
                bail!("--param {pair:?}: want key=value");
            };
            let (k, v) = (k.trim(), v.trim());
            match k {
                "fast" => s.fast = value(k, v)?,
                "slow" => s.slow = value(k, v)?,
                "size" => s.size = value(k, v)?,
                "stop" if bracket => s.stop = value(k, v)?,
                "target" if bracket => s.target = value(k, v)?,
                _ => {
                    let known: Vec<&str> = keys(name).iter().map(|(k, _)| *k).collect();
                    bail!("{name} has no parameter {k:?} (it takes {})", known.join(", "));
                }
            }
        }
        if s.fast == 0 || s.fast >= s.slow {
            bail!("{name}: fast must be at least 1 and below slow (got {} and {})", s.fast, s.slow);
        }
        if !s.size.is_positive() {
            bail!("{name}: size must be > 0 (got {})", s.size);
        }
        if bracket && !(s.stop.is_positive() && s.stop < Ratio::ONE) {
            bail!("{name}: stop must be a fraction above 0 and below 1 (got {})", s.stop);
        }
        if bracket && !s.target.is_positive() {
            bail!("{name}: target must be > 0 (got {})", s.target);
        }
        Ok(s)
    }

    /// The parameters as `(key, value)` pairs, in help order.
    pub(crate) fn describe(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("fast", self.fast.to_string()),
            ("slow", self.slow.to_string()),
            ("size", self.size.to_string()),
        ];
        if self.name == StrategyName::SmaBracket {
            v.push(("stop", self.stop.to_string()));
            v.push(("target", self.target.to_string()));
        }
        v
    }

    /// The stop and target prices of an entry at `entry`: the stop rounded down to the tick, the
    /// target up, so neither is closer to the entry than asked nor at it. Both sides call this
    /// with the same entry price, so their exits are the same prices.
    ///
    /// # Errors
    /// Out of range, or a stop that rounds to zero.
    pub(crate) fn exits(&self, entry: Price, grid: Grid) -> Result<(Price, Price)> {
        // Rounding to nano-units and then to the tick in the same direction is one rounding.
        let stop = entry.scale_by(Ratio::ONE.try_sub(self.stop)?, Rounding::Floor)?;
        let stop = grid.floor(stop);
        let target = grid.ceil(entry.scale_by(Ratio::ONE.try_add(self.target)?, Rounding::Ceiling)?);
        if !stop.is_positive() {
            bail!("the stop of an entry at {entry} rounds to {stop} on the tick grid {}", grid.tick);
        }
        Ok((stop, target))
    }
}

/// The crossover signal, shared with the bar broker's `SmaCross` (one definition of the cross).
pub(crate) use kestrel_engine::strategy::sma_cross::{Crossover as Cross, Signal};

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    #[test]
    fn diff_parameters_parse_and_bad_ones_are_named() {
        let s = Spec::parse(StrategyName::SmaBracket, &strings(&["stop=0.01", "target=0.015", "fast=5"]))
            .unwrap();
        assert_eq!((s.fast, s.stop.to_string(), s.target.to_string()), (5, "0.01".into(), "0.015".into()));
        let e = Spec::parse(StrategyName::SmaCross, &strings(&["stop=0.01"])).unwrap_err().to_string();
        assert!(e.contains("sma-cross has no parameter \"stop\""), "{e}");
        let e = Spec::parse(StrategyName::SmaBracket, &strings(&["stop=1"])).unwrap_err().to_string();
        assert!(e.contains("stop must be a fraction"), "{e}");
        let e = Spec::parse(StrategyName::SmaCross, &strings(&["fast=30"])).unwrap_err().to_string();
        assert!(e.contains("fast must be at least 1 and below slow"), "{e}");
        assert!("sma-nope".parse::<StrategyName>().is_err());
        assert!(help(StrategyName::SmaBracket).contains("target"));
        assert!(!help(StrategyName::SmaCross).contains("target"));
    }

    #[test]
    fn diff_exits_round_away_from_the_entry() {
        let s = Spec::parse(StrategyName::SmaBracket, &strings(&["stop=0.02", "target=0.03"])).unwrap();
        let grid = Grid { tick: p("0.01"), lot: Qty::ONE };
        // 3604.33 × 0.98 = 3532.2434 → 3532.24; × 1.03 = 3712.4599 → 3712.46.
        assert_eq!(s.exits(p("3604.33"), grid).unwrap(), (p("3532.24"), p("3712.46")));
        // Exactly on the grid stays there.
        assert_eq!(s.exits(p("100"), grid).unwrap(), (p("98"), p("103")));
        // A distance below one tick still moves a tick away.
        let tight =
            Spec::parse(StrategyName::SmaBracket, &strings(&["stop=0.00001", "target=0.00001"])).unwrap();
        assert_eq!(tight.exits(p("100"), grid).unwrap(), (p("99.99"), p("100.01")));
        let coarse = Grid { tick: p("1"), lot: Qty::ONE };
        assert!(s.exits(p("0.5"), coarse).is_err());
    }

    #[test]
    fn diff_cross_signals_like_backtrader_crossover() {
        let mut c = Cross::new(1, 2);
        let got: Vec<Option<Signal>> =
            ["10", "9", "11", "11", "10", "12"].iter().map(|s| c.push(p(s))).collect();
        // fast − slow: −0.5 (bar 1), +1 (up), 0 (touch), −0.5 (no cross through a touch), +1 (up).
        assert_eq!(got, [None, None, Some(Signal::Up), None, None, Some(Signal::Up)]);
        let mut c = Cross::new(1, 2);
        let got: Vec<Option<Signal>> = ["10", "11", "9"].iter().map(|s| c.push(p(s))).collect();
        assert_eq!(got, [None, None, Some(Signal::Down)]);
    }
}
