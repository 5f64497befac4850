//! `kestrel live --config FILE`: an example strategy trading through a venue gateway (the Binance
//! gateway today; paper mode against `kestrel sim binance` by default), for a set time, then every
//! open order canceled and a summary printed.
//!
//! The engine runs in live-venue mode (`VenueMode::External`) on its own thread, the gateway on
//! another; they talk through two SPSC rings (`session.rs`). Credentials come from a secrets file
//! named in the configuration or from the environment (`BINANCE_API_KEY`, `BINANCE_API_SECRET`,
//! the names Binance's own clients and `kestrel sim binance` use); they are never printed.

pub(crate) mod config;
pub(crate) mod session;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use kestrel_engine::strategy::quoter::Quoter;
use kestrel_gateway::{GatewayConfig, Secrets};
use kestrel_gw_binance::session::{BinanceConfig, BinanceVenue};

use crate::backtest::params::{Params, StrategyName};
use config::LiveConfig;
use session::{SessionSetup, run_session};

/// Options of `kestrel live`.
#[derive(Debug, Args)]
pub(crate) struct LiveArgs {
    /// The session's configuration (TOML: `[venue]`, the venue's own table, `[[instruments]]`,
    /// `[strategy]`, `[run]`; see `examples/binance-paper.toml`).
    #[arg(long)]
    config: PathBuf,
    /// How long to trade, in seconds (overrides `[run] seconds`).
    #[arg(long)]
    seconds: Option<f64>,
}

/// Loads the configuration, runs the session, prints the summary.
pub(crate) fn run(args: &LiveArgs, out: &mut impl Write) -> Result<()> {
    let mut config = LiveConfig::load(&args.config)?;
    if let Some(s) = args.seconds {
        if !(s > 0.0 && s.is_finite()) {
            bail!("--seconds {s}: must be a positive number");
        }
        config.run.seconds = s;
    }
    let instruments = config.instruments().map_err(|e| anyhow!("{}: {e}", args.config.display()))?;
    let cash = config.cash().map_err(|e| anyhow!("{}: {e}", args.config.display()))?;
    let name: StrategyName = config.strategy.name.parse()?;
    let Params::Quoter(params) = Params::parse(name, &config.strategy_pairs())? else {
        bail!(
            "{}: [strategy] name = {name:?}: live sessions run the quoter (tick data)",
            args.config.display()
        );
    };
    let secrets = match &config.venue.secrets_file {
        Some(path) => Secrets::from_file(path)?,
        None => Secrets::from_env([("api_key", "BINANCE_API_KEY"), ("api_secret", "BINANCE_API_SECRET")])
            .context("credentials: set BINANCE_API_KEY and BINANCE_API_SECRET, or [venue] secrets_file")?,
    };
    let venue = binance_venue(&config, &secrets)?;
    let gateway = venue.gateway_config(GatewayConfig::default());
    writeln!(
        out,
        "kestrel live: quoter on binance ({}), {} for {} s",
        venue_mode(&config),
        instruments.iter().map(|i| i.symbol()).collect::<Vec<_>>().join(", "),
        config.run.seconds
    )?;
    out.flush()?;
    let risk = kestrel_engine::engine::RiskLimits {
        order_rate: Some((config.run.orders_per_10s, kestrel_types::TimeSpan::from_nanos(10_000_000_000))),
        ..kestrel_engine::engine::RiskLimits::default()
    };
    let setup = SessionSetup {
        instruments,
        cash,
        seconds: config.run.seconds,
        engine_core: config.run.engine_core,
        gateway,
        risk,
    };
    let r = run_session(venue, Quoter::new(params), setup)?;
    let c = &r.counters;
    writeln!(out, "  events         {}", c.events)?;
    writeln!(out, "  orders         {}", c.orders)?;
    writeln!(out, "  fills          {}", c.fills)?;
    writeln!(out, "  refused        {}", c.refused)?;
    for (symbol, position) in &r.positions {
        writeln!(out, "  position       {symbol} {position}")?;
    }
    writeln!(out, "  cash           {} (fees {})", r.cash, r.fees)?;
    writeln!(out, "  open at end    {}", r.open_at_end.len())?;
    for (id, status, canceling) in &r.open_at_end {
        writeln!(out, "    order {id} {status:?}{}", if *canceling { " (cancel pending)" } else { "" })?;
    }
    writeln!(out, "  unknown reports {}", c.unknown_reports)?;
    writeln!(
        out,
        "  gateway        {} events to the engine ({} stalled, {} refused), {} notices",
        r.inbox.accepted,
        r.inbox.stalled,
        r.inbox.refused,
        r.diagnostics.len()
    )?;
    writeln!(out, "  engine loop    {} requests, {} unsent", r.runtime.requests, r.runtime.unsent)?;
    Ok(())
}

/// `[binance]` with `symbols` filled from `[[instruments]]` (ids in their order) when absent.
fn binance_venue(config: &LiveConfig, secrets: &Secrets) -> Result<BinanceVenue> {
    let mut table = config.binance.clone().unwrap_or_default();
    if !table.contains_key("symbols") {
        let symbols = config
            .instruments
            .iter()
            .enumerate()
            .map(|(k, ins)| {
                let mut t = toml::Table::new();
                t.insert("symbol".into(), toml::Value::String(ins.symbol.clone()));
                t.insert("instrument".into(), toml::Value::Integer(i64::try_from(k).unwrap_or(i64::MAX)));
                toml::Value::Table(t)
            })
            .collect();
        table.insert("symbols".into(), toml::Value::Array(symbols));
    }
    let binance: BinanceConfig = toml::Value::Table(table).try_into().context("[binance]")?;
    BinanceVenue::new(binance, secrets).map_err(|e| anyhow!("{e}"))
}

/// The `[binance] mode` as written (paper by default).
fn venue_mode(config: &LiveConfig) -> String {
    config
        .binance
        .as_ref()
        .and_then(|t| t.get("mode"))
        .and_then(toml::Value::as_str)
        .unwrap_or("paper")
        .to_owned()
}
