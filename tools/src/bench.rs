//! `kestrel bench …`: throughput benchmarks that print one JSON line (a contract other tools read).
//!
//! `kestrel bench bars` runs an SMA(10)/SMA(30) crossover with market orders and 0.1% commission
//! through the bar broker over N generated one-minute bars and prints
//! `{"bars":N,"orders":K,"bars_per_sec":X}`. Only the backtest is timed, not the generation.
//! `--csv FILE` also writes the bars as a backtrader CSV, so `bench/peers/backtrader_sma.py` can
//! run the same strategy on the same bars.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use kestrel_engine::backtest;
use kestrel_engine::broker::{BrokerConfig, SimBroker};
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_engine::strategy::sma_cross::SmaCross;
use kestrel_engine::trade::TradeBook;
use kestrel_replay::synth::{WalkSpec, random_walk, write_btcsv};
use kestrel_types::{InstrumentId, Qty};

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Bar-backtest throughput: SMA(10)/SMA(30) crossover over generated one-minute bars.
    Bars(BarsArgs),
}

/// Options of `kestrel bench bars`.
#[derive(Debug, Args)]
pub(crate) struct BarsArgs {
    /// How many one-minute bars.
    #[arg(long, default_value_t = 10_000_000)]
    bars: usize,
    /// Seed of the generated bars.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the bars as a backtrader CSV here (for the backtrader peer).
    #[arg(long)]
    csv: Option<PathBuf>,
}

/// Runs a benchmark and prints its JSON line to `out`.
pub(crate) fn run(cmd: &BenchCommand, out: &mut impl Write) -> Result<()> {
    match cmd {
        BenchCommand::Bars(args) => bars(args, out),
    }
}

fn bars(args: &BarsArgs, out: &mut impl Write) -> Result<()> {
    let bars = random_walk(&WalkSpec::minutes(args.seed, args.bars));
    if let Some(path) = &args.csv {
        let mut w = BufWriter::new(File::create(path).with_context(|| format!("{}", path.display()))?);
        write_btcsv(&bars, true, &mut w).with_context(|| format!("{}", path.display()))?;
        w.flush()?;
    }
    let (orders, elapsed) = run_sma(&bars)?;
    let secs = elapsed.as_secs_f64();
    #[expect(clippy::cast_precision_loss, reason = "a throughput figure, not money")]
    let rate = if secs > 0.0 { bars.len() as f64 / secs } else { 0.0 };
    writeln!(out, "{{\"bars\":{},\"orders\":{},\"bars_per_sec\":{:.0}}}", bars.len(), orders, rate)?;
    Ok(())
}

/// The benchmark's backtest: returns the orders placed and the time the run took.
pub(crate) fn run_sma(bars: &[kestrel_types::Bar]) -> Result<(u64, std::time::Duration)> {
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: "0.001".parse()?,
        ..CommissionParams::setcommission()
    })?;
    let config = BrokerConfig { cash: "100000".parse()?, ..BrokerConfig::default() };
    let mut broker = SimBroker::new(config, vec![scheme], bars.len() / 2 + 16)?;
    let mut trades = TradeBook::with_capacity(1, bars.len() / 4 + 16);
    let mut strategy = SmaCross::new(InstrumentId(0), 10, 30, Qty::ONE);
    let start = Instant::now();
    backtest::run(&[bars], &mut broker, &mut trades, &mut strategy)?;
    Ok((strategy.orders(), start.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_contract_line() {
        let args = BarsArgs { bars: 5_000, seed: 3, csv: None };
        let mut out = Vec::new();
        bars(&args, &mut out).unwrap();
        let line = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["bars"], 5_000);
        assert!(v["orders"].as_u64().unwrap() > 10, "{line}");
        assert!(v["bars_per_sec"].as_f64().unwrap() > 0.0);
        assert!(line.starts_with("{\"bars\":5000,\"orders\":"), "key order is part of the contract: {line}");
    }
}
