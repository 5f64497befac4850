//! Strategy names and `--param key=value` parameters of `kestrel backtest`.

use anyhow::{Result, bail};
use kestrel_engine::strategy::quoter::QuoterParams;
use kestrel_types::{Instrument, InstrumentId, Qty};

/// The strategies `kestrel backtest` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrategyName {
    /// `quoter`: [`kestrel_engine::strategy::quoter::Quoter`], on quotes.
    Quoter,
    /// `sma-cross`: [`kestrel_engine::strategy::sma_cross::SmaCross`], on bars.
    SmaCross,
}

impl core::str::FromStr for StrategyName {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "quoter" => Ok(Self::Quoter),
            "sma-cross" => Ok(Self::SmaCross),
            other => bail!("unknown strategy {other:?} (want quoter or sma-cross)"),
        }
    }
}

impl core::fmt::Display for StrategyName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Quoter => "quoter",
            Self::SmaCross => "sma-cross",
        })
    }
}

/// A strategy's parameters, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Params {
    Quoter(QuoterParams),
    SmaCross { instrument: usize, fast: usize, slow: usize, size: Qty },
}

/// The keys each strategy takes, with their meaning and default.
const QUOTER_KEYS: &[(&str, &str)] = &[
    ("instrument", "index of the instrument quoted in the data's table (default 0)"),
    ("size", "size of each order, on the lot grid (default 1)"),
    ("half_spread", "distance of each side from the mid, in ticks (default 1)"),
    ("skew", "price shift per order size of inventory, in ticks (default 0)"),
    ("max_position", "largest position long or short (default 10)"),
];
const SMA_KEYS: &[(&str, &str)] = &[
    ("instrument", "index of the instrument traded in the data's table (default 0)"),
    ("fast", "fast moving-average length in bars (default 10)"),
    ("slow", "slow moving-average length in bars (default 30)"),
    ("size", "units per order (default 1)"),
];

fn keys(name: StrategyName) -> &'static [(&'static str, &'static str)] {
    match name {
        StrategyName::Quoter => QUOTER_KEYS,
        StrategyName::SmaCross => SMA_KEYS,
    }
}

/// The parameter list of a strategy, for `--param help`.
pub(crate) fn help(name: StrategyName) -> String {
    let mut s = format!("{name} parameters (--param key=value):");
    for (k, v) in keys(name) {
        s.push_str(&format!("\n  {k:<13} {v}"));
    }
    s
}

fn value<T: core::str::FromStr>(key: &str, v: &str) -> Result<T>
where
    T::Err: core::fmt::Display,
{
    v.parse().map_err(|e| anyhow::anyhow!("--param {key}={v}: {e}"))
}

impl Params {
    /// Parses `key=value` pairs for `name`; an unknown key or a bad value is an error naming it.
    pub(crate) fn parse(name: StrategyName, pairs: &[String]) -> Result<Self> {
        let mut p = match name {
            StrategyName::Quoter => Self::Quoter(QuoterParams::default()),
            StrategyName::SmaCross => Self::SmaCross { instrument: 0, fast: 10, slow: 30, size: Qty::ONE },
        };
        for pair in pairs {
            let Some((k, v)) = pair.split_once('=') else {
                bail!("--param {pair:?}: want key=value");
            };
            let (k, v) = (k.trim(), v.trim());
            match (&mut p, k) {
                (Self::Quoter(q), "instrument") => q.instrument = instrument(value(k, v)?)?,
                (Self::Quoter(q), "size") => q.size = value(k, v)?,
                (Self::Quoter(q), "half_spread") => q.half_spread = value(k, v)?,
                (Self::Quoter(q), "skew") => q.skew = value(k, v)?,
                (Self::Quoter(q), "max_position") => q.max_position = value(k, v)?,
                (Self::SmaCross { instrument, .. }, "instrument") => *instrument = value(k, v)?,
                (Self::SmaCross { fast, .. }, "fast") => *fast = value(k, v)?,
                (Self::SmaCross { slow, .. }, "slow") => *slow = value(k, v)?,
                (Self::SmaCross { size, .. }, "size") => *size = value(k, v)?,
                _ => {
                    let known: Vec<&str> = keys(name).iter().map(|(k, _)| *k).collect();
                    bail!("{name} has no parameter {k:?} (it takes {})", known.join(", "));
                }
            }
        }
        match p {
            Self::Quoter(q) if !q.size.is_positive() => bail!("quoter: size must be > 0 (got {})", q.size),
            Self::Quoter(q) if q.half_spread < 1 => bail!("quoter: half_spread must be at least 1 tick"),
            Self::Quoter(q) if q.max_position.is_negative() => {
                bail!("quoter: max_position must not be negative")
            }
            Self::SmaCross { size, .. } if !size.is_positive() => {
                bail!("sma-cross: size must be > 0 (got {size})")
            }
            _ => Ok(p),
        }
    }

    /// The parameters as `(key, value)` pairs for the report, instruments by symbol.
    pub(crate) fn describe(&self, table: &[Instrument]) -> Vec<(String, String)> {
        let symbol = |i: usize| table.get(i).map_or_else(|| i.to_string(), |ins| ins.symbol().to_owned());
        let kv = |k: &str, v: String| (k.to_owned(), v);
        match self {
            Self::Quoter(q) => vec![
                kv("instrument", symbol(q.instrument.index())),
                kv("size", q.size.to_string()),
                kv("half_spread", q.half_spread.to_string()),
                kv("skew", q.skew.to_string()),
                kv("max_position", q.max_position.to_string()),
            ],
            Self::SmaCross { instrument, fast, slow, size } => vec![
                kv("instrument", symbol(*instrument)),
                kv("fast", fast.to_string()),
                kv("slow", slow.to_string()),
                kv("size", size.to_string()),
            ],
        }
    }
}

fn instrument(i: u16) -> Result<InstrumentId> {
    Ok(InstrumentId(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parameters_parse_and_bad_ones_are_named() {
        let p = Params::parse(StrategyName::Quoter, &strings(&["size=2", "half_spread=3"])).unwrap();
        let Params::Quoter(q) = p else { panic!() };
        assert_eq!((q.size, q.half_spread), (Qty::from_raw(2 * Qty::SCALE), 3));
        let e = Params::parse(StrategyName::Quoter, &strings(&["fast=3"])).unwrap_err().to_string();
        assert!(e.contains("quoter has no parameter \"fast\""), "{e}");
        let e = Params::parse(StrategyName::SmaCross, &strings(&["fast=x"])).unwrap_err().to_string();
        assert!(e.contains("--param fast=x"), "{e}");
        let e = Params::parse(StrategyName::Quoter, &strings(&["size"])).unwrap_err().to_string();
        assert!(e.contains("want key=value"), "{e}");
        assert!("nope".parse::<StrategyName>().is_err());
        assert!(help(StrategyName::SmaCross).contains("slow"));
    }
}
