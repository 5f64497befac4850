//! `kestrel live`'s configuration file (TOML): the venue, the instruments, the strategy, the run.
//!
//! ```toml
//! [venue]
//! name = "binance"                 # the venue crate that trades
//! secrets_file = "binance.secrets" # optional: `api_key = …` / `api_secret = …` lines, owner-only
//!
//! [binance]                        # the venue's own section (its crate documents the fields)
//! mode = "paper"
//!
//! [[instruments]]
//! symbol = "BTCUSDT"
//! tick = "0.01"
//! lot = "0.00001"
//! quote = "USDT"
//!
//! [strategy]
//! name = "quoter"
//! params = { size = "0.001", half_spread = "2", max_position = "0.005" }
//!
//! [run]
//! seconds = 20
//! cash = "10000"
//! ```
//!
//! Every table refuses unknown keys, so a misspelt setting is an error naming it, not a default
//! silently taken; errors name the file and the TOML path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use kestrel_types::{Currency, Instrument, InstrumentId, InstrumentSpec, Money, Price, Qty, Ratio, VenueId};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LiveConfig {
    pub(crate) venue: VenueSection,
    /// The Binance gateway's own settings (`kestrel_gw_binance::session::BinanceConfig`), kept as
    /// TOML until the venue is known.
    #[serde(default)]
    pub(crate) binance: Option<toml::Table>,
    pub(crate) instruments: Vec<InstrumentSection>,
    pub(crate) strategy: StrategySection,
    #[serde(default)]
    pub(crate) run: RunSection,
}

/// `[venue]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VenueSection {
    /// Which gateway: `binance`.
    pub(crate) name: String,
    /// Credentials file (`key = value` lines, readable by its owner only); default: the
    /// environment (`BINANCE_API_KEY`, `BINANCE_API_SECRET` for Binance).
    #[serde(default)]
    pub(crate) secrets_file: Option<PathBuf>,
}

/// One `[[instruments]]` entry: engine instrument ids follow the order of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstrumentSection {
    pub(crate) symbol: String,
    /// Price increment, as text (`"0.01"`): exact.
    pub(crate) tick: String,
    /// Size increment, as text.
    pub(crate) lot: String,
    /// Quote currency (default `USDT`).
    #[serde(default = "default_quote")]
    pub(crate) quote: String,
}

fn default_quote() -> String {
    "USDT".to_owned()
}

/// `[strategy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StrategySection {
    /// `quoter` (the live example strategy).
    pub(crate) name: String,
    /// The strategy's parameters, as for `kestrel backtest --param key=value` (values as text).
    #[serde(default)]
    pub(crate) params: BTreeMap<String, toml::Value>,
}

/// `[run]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunSection {
    /// How long to trade, in seconds (then every open order is canceled and the session ends).
    #[serde(default = "default_seconds")]
    pub(crate) seconds: f64,
    /// The engine's starting cash, as text (its risk checks and equity use it).
    #[serde(default = "default_cash")]
    pub(crate) cash: String,
    /// Pin the engine thread to this CPU (default: unpinned).
    #[serde(default)]
    pub(crate) engine_core: Option<usize>,
    /// The engine refuses orders beyond this many in any 10 s (a pre-trade check): under the
    /// venue's own limit (Binance spot: 100 per 10 s), so the venue never has to refuse or hold.
    #[serde(default = "default_orders_per_10s")]
    pub(crate) orders_per_10s: u32,
}

fn default_orders_per_10s() -> u32 {
    80
}

fn default_seconds() -> f64 {
    30.0
}

fn default_cash() -> String {
    "10000".to_owned()
}

impl Default for RunSection {
    fn default() -> Self {
        Self {
            seconds: default_seconds(),
            cash: default_cash(),
            engine_core: None,
            orders_per_10s: default_orders_per_10s(),
        }
    }
}

/// Why a configuration was refused: the file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

impl LiveConfig {
    /// Reads and checks `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        Self::parse(path, &text)
    }

    /// Parses and checks `text` (read from `path`, which errors name).
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.into(), source: Box::new(e) })?;
        let invalid = |what: String| ConfigError::Invalid { path: path.into(), what };
        if config.instruments.is_empty() {
            return Err(invalid("[[instruments]]: at least one instrument is needed".into()));
        }
        if !(config.run.seconds > 0.0 && config.run.seconds.is_finite()) {
            return Err(invalid(format!(
                "[run] seconds = {}: must be a positive number",
                config.run.seconds
            )));
        }
        config.cash().map_err(&invalid)?;
        config.instruments().map_err(&invalid)?;
        match config.venue.name.as_str() {
            "binance" => {}
            other => return Err(invalid(format!("[venue] name = {other:?}: the gateways are: binance"))),
        }
        Ok(config)
    }

    /// `[run] cash`.
    pub(crate) fn cash(&self) -> Result<Money, String> {
        self.run.cash.parse().map_err(|e| format!("[run] cash = {:?}: {e}", self.run.cash))
    }

    /// The engine's instrument table, ids in the order of `[[instruments]]`.
    pub(crate) fn instruments(&self) -> Result<Vec<Instrument>, String> {
        self.instruments
            .iter()
            .enumerate()
            .map(|(k, ins)| {
                let at = |field: &str, e: &dyn std::fmt::Display| {
                    format!("[[instruments]] #{} ({}) {field}: {e}", k + 1, ins.symbol)
                };
                let tick: Price = ins.tick.parse().map_err(|e| at("tick", &e))?;
                let lot: Qty = ins.lot.parse().map_err(|e| at("lot", &e))?;
                let quote: Currency = ins.quote.parse().map_err(|e| at("quote", &e))?;
                let id = u16::try_from(k).map_err(|e| at("(count)", &e))?;
                let spec = InstrumentSpec {
                    symbol: ins.symbol.clone(),
                    venue: VenueId(0),
                    tick_size: tick,
                    lot_size: lot,
                    display_decimals: decimals(&ins.tick),
                    multiplier: Ratio::ONE,
                    quote_currency: quote,
                    settlement_currency: quote,
                };
                Instrument::try_new(InstrumentId(id), spec).map_err(|e| at("", &e))
            })
            .collect()
    }

    /// `[strategy] params` as `key=value` pairs (numbers and strings alike).
    pub(crate) fn strategy_pairs(&self) -> Vec<String> {
        self.strategy
            .params
            .iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect()
    }
}

/// Decimal places of a decimal text (`"0.010"` → 3).
fn decimals(text: &str) -> u8 {
    text.split_once('.').map_or(0, |(_, f)| u8::try_from(f.len()).unwrap_or(9).min(9))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[venue]
name = "binance"

[binance]
mode = "paper"

[[instruments]]
symbol = "BTCUSDT"
tick = "0.01"
lot = "0.00001"

[strategy]
name = "quoter"
params = { size = "0.001", half_spread = 2 }

[run]
seconds = 5
cash = "10000"
"#;

    fn parse(text: &str) -> Result<LiveConfig, ConfigError> {
        LiveConfig::parse(Path::new("live.toml"), text)
    }

    #[test]
    fn a_good_file_gives_the_instrument_table_and_the_strategy_parameters() {
        let c = parse(GOOD).unwrap();
        let table = c.instruments().unwrap();
        assert_eq!(table[0].symbol(), "BTCUSDT");
        assert_eq!(table[0].tick_size().to_string(), "0.01");
        assert_eq!(c.strategy_pairs(), vec!["half_spread=2", "size=0.001"]);
        assert_eq!(c.cash().unwrap().to_string(), "10000");
        assert!(c.binance.is_some());
    }

    #[test]
    fn bad_files_are_refused_with_the_file_and_the_place() {
        let cases = [
            (GOOD.replace("seconds = 5", "seconds = 5\nsecond = 3"), "unknown field `second`"),
            (GOOD.replace("tick = \"0.01\"", "tick = \"0.0x\""), "#1 (BTCUSDT) tick"),
            (GOOD.replace("name = \"binance\"", "name = \"nyse\""), "the gateways are: binance"),
            (GOOD.replace("seconds = 5", "seconds = -1"), "seconds = -1"),
            (GOOD.replace("cash = \"10000\"", "cash = \"lots\""), "[run] cash"),
            ("[venue]\nname = \"binance\"\n".to_owned(), "missing field"),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.starts_with("live.toml: ") && e.contains(want), "{want}: {e}");
        }
    }
}
