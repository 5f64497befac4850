//! `kestrel bench …`: throughput benchmarks that print one JSON line (a contract other tools read).
//!
//! `kestrel bench bars` runs an SMA(10)/SMA(30) crossover with market orders and 0.1% commission
//! through the bar broker over N generated one-minute bars and prints
//! `{"bars":N,"orders":K,"bars_per_sec":X}`. Only the backtest is timed, not the generation.
//! `--csv FILE` also writes the bars as a backtrader CSV, so `bench/peers/backtrader_sma.py` can
//! run the same strategy on the same bars.
//!
//! `kestrel bench replay` replays N generated trades and quotes from a memory-mapped tick file
//! through the full tick engine loop (decode, market state, resting-order check, a no-op strategy)
//! and prints `{"events":N,"events_per_sec":X,"trivial_per_sec":Y,"anon_rss_bytes":Z,"file_bytes":F}`:
//! `trivial_per_sec` is the same run's floor, a pass that only reads each record's `ts_recv` from
//! the mapping; `anon_rss_bytes` the peak anonymous resident memory (`RssAnon`, which unlike
//! `VmHWM` leaves out the mapped file's pages), sampled every 2^20 events and after the run. The
//! file is generated once (`kestrel_replay::generate`, kind `mixed`) into the cache folder
//! (`$KESTREL_CACHE`, else `~/.cache/kestrel`, else `target/kestrel-cache`) under a name holding N
//! and the seed, and reused while it opens with the right count.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use kestrel_engine::backtest;
use kestrel_engine::broker::{BrokerConfig, SimBroker};
use kestrel_engine::engine::{Engine, EngineConfig, NoopStrategy};
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_engine::strategy::sma_cross::SmaCross;
use kestrel_engine::trade::TradeBook;
use kestrel_replay::generate::{GenKind, GenSpec, generate_file, plain_instrument};
use kestrel_replay::replayer::replay_with_progress;
use kestrel_replay::synth::{WalkSpec, random_walk, write_btcsv};
use kestrel_replay::tick::TickFile;
use kestrel_types::{InstrumentId, Price, Qty, Timestamp};

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Bar-backtest throughput: SMA(10)/SMA(30) crossover over generated one-minute bars.
    Bars(BarsArgs),
    /// Tick-replay throughput: generated trades and quotes through the tick engine, from a mapped file.
    Replay(ReplayArgs),
    /// Tick-to-order latency through the live runtime on two threads, against the bare ring round
    /// trip; writes `.hgrm` files and a percentile plot.
    Latency(crate::bench_latency::LatencyArgs),
    /// The order path per order (submit, accept, fill, ledger, notifications) through the tick
    /// engine's simulated venue, one strategy on one thread.
    Orders(crate::bench_orders::OrdersArgs),
    /// L2 replay throughput: generated snapshots and level updates through the tick engine with
    /// the market-by-price book rebuilt, a no-op strategy on top.
    Book(crate::bench_book::BookArgs),
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

/// Options of `kestrel bench replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// How many events (trades and quotes) to generate and replay.
    #[arg(long, default_value_t = 100_000_000)]
    events: u64,
    /// Seed of the generated file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs a benchmark and prints its JSON line to `out`.
pub(crate) fn run(cmd: &BenchCommand, out: &mut impl Write) -> Result<()> {
    match cmd {
        BenchCommand::Bars(args) => bars(args, out),
        BenchCommand::Replay(args) => replay(args, out),
        BenchCommand::Latency(args) => crate::bench_latency::run(args, out),
        BenchCommand::Orders(args) => crate::bench_orders::run(args, out),
        BenchCommand::Book(args) => crate::bench_book::run(args, out),
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
    // Room reserved for what the run uses, with a wide margin: the crossover places about one order
    // per 25 bars on these walks (a round trip, one trade, per two orders).
    let mut broker = SimBroker::new(config, vec![scheme], bars.len() / 8 + 1024)?;
    let mut trades = TradeBook::with_capacity(1, bars.len() / 16 + 512);
    let mut strategy = SmaCross::new(InstrumentId(0), 10, 30, Qty::ONE);
    let start = Instant::now();
    backtest::run(&[bars], &mut broker, &mut trades, &mut strategy)?;
    Ok((strategy.orders(), start.elapsed()))
}

/// Where generated benchmark files are kept between runs.
pub(crate) const CACHE_ENV: &str = "KESTREL_CACHE";

/// The cache folder and what chose it: `$KESTREL_CACHE`, else `~/.cache/kestrel`, else
/// `target/kestrel-cache` under the current folder.
pub(crate) fn cache_dir() -> (PathBuf, &'static str) {
    let set = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = set(CACHE_ENV) {
        (PathBuf::from(dir), "$KESTREL_CACHE")
    } else if let Some(home) = set("HOME") {
        (PathBuf::from(home).join(".cache").join("kestrel"), "~/.cache/kestrel")
    } else {
        (PathBuf::from("target").join("kestrel-cache"), "target/kestrel-cache")
    }
}

/// The benchmark's file spec: `mixed` trades and quotes of one cent-tick instrument.
fn replay_spec(events: u64, seed: u64) -> Result<GenSpec> {
    let instrument = plain_instrument("SYN", Price::from_raw(10_000_000), Qty::ONE)?;
    // 2024-01-02 14:30 UTC, a session open.
    let start = Timestamp::from_nanos(1_704_205_800_000_000_000);
    Ok(GenSpec { kind: GenKind::Mixed, events, seed, instrument, start })
}

/// Bytes free for an unprivileged writer in `dir`.
fn free_bytes(dir: &Path) -> Result<u64> {
    let st = rustix::fs::statvfs(dir).with_context(|| format!("free space of {}", dir.display()))?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// The cached file for `spec`, generated when absent or not the file it should be (a different
/// record count or table); says on stderr which, and where.
fn cached_file(spec: &GenSpec) -> Result<PathBuf> {
    let (dir, source) = cache_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cache folder {} ({source})", dir.display()))?;
    let path = dir.join(format!("replay-{}-n{}-seed{}.kt", spec.kind, spec.events, spec.seed));
    let valid = TickFile::open(&path)
        .is_ok_and(|f| f.header().record_count == spec.events && f.header().instruments.len() == 1);
    if valid {
        eprintln!("kestrel bench replay: reusing {} (cache folder from {source})", path.display());
        return Ok(path);
    }
    let need = spec.file_bytes().context("the file size overflows")?;
    // Room for the file and a margin, so that the disk is not left full.
    let margin = 256 << 20;
    let free = free_bytes(&dir)?;
    if free < need.saturating_add(margin) {
        anyhow::bail!(
            "not enough free disk in {} ({source}) for {} events: the file needs {need} bytes (+{margin} \
             margin), {free} are free; set {CACHE_ENV} to a folder with room, or pass fewer --events",
            dir.display(),
            spec.events
        );
    }
    eprintln!(
        "kestrel bench replay: generating {} ({need} bytes; cache folder from {source})",
        path.display()
    );
    let start = Instant::now();
    generate_file(spec, &path).with_context(|| format!("generating {}", path.display()))?;
    eprintln!("kestrel bench replay: generated in {:.1} s", start.elapsed().as_secs_f64());
    Ok(path)
}

/// Anonymous resident memory of this process (`RssAnon` in `/proc/self/status`), 0 where the
/// kernel does not say.
fn rss_anon_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib.saturating_mul(1024))
}

/// The floor: a pass over a fresh mapping of `path` that only reads each record's `ts_recv`.
fn trivial_pass(path: &Path) -> Result<(u64, Duration)> {
    let file = TickFile::open(path)?;
    let start = Instant::now();
    let mut sum = 0i64;
    for r in file.records() {
        sum = sum.wrapping_add(r.ts_recv);
    }
    let elapsed = start.elapsed();
    std::hint::black_box(sum);
    Ok((file.records().len() as u64, elapsed))
}

/// Every how many events the engine pass samples `RssAnon`.
const RSS_SAMPLE_EVENTS: NonZeroUsize = NonZeroUsize::new(1 << 20).expect("not zero");

/// The measured run: a fresh mapping of `path` replayed through the engine with a no-op strategy.
/// Returns events, time and the peak `RssAnon` seen.
fn engine_pass(path: &Path) -> Result<(u64, Duration, u64)> {
    let file = TickFile::open(path)?;
    let config = EngineConfig::new(file.header().instruments.len());
    let mut engine = Engine::try_new(config, NoopStrategy)?;
    let mut peak = rss_anon_bytes();
    let start = Instant::now();
    let stats = replay_with_progress(std::slice::from_ref(&file), &mut engine, RSS_SAMPLE_EVENTS, |_| {
        peak = peak.max(rss_anon_bytes());
    })?;
    let elapsed = start.elapsed();
    peak = peak.max(rss_anon_bytes());
    anyhow::ensure!(
        engine.counters().events == stats.events && engine.counters().unknown_instrument == 0,
        "the engine counted {:?} for {} replayed events",
        engine.counters(),
        stats.events
    );
    Ok((stats.events, elapsed, peak))
}

#[expect(clippy::cast_precision_loss, reason = "a throughput figure, not money")]
fn per_sec(n: u64, d: Duration) -> f64 {
    let secs = d.as_secs_f64();
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

fn replay(args: &ReplayArgs, out: &mut impl Write) -> Result<()> {
    let spec = replay_spec(args.events, args.seed)?;
    let path = cached_file(&spec)?;
    let file_bytes = std::fs::metadata(&path).with_context(|| format!("{}", path.display()))?.len();
    // Untimed: brings the file into the page cache, so both timed passes read memory, not disk.
    trivial_pass(&path)?;
    let (records, trivial) = trivial_pass(&path)?;
    let (events, elapsed, anon) = engine_pass(&path)?;
    anyhow::ensure!(events == records, "replayed {events} events of {records} records");
    writeln!(
        out,
        "{{\"events\":{events},\"events_per_sec\":{:.0},\"trivial_per_sec\":{:.0},\"anon_rss_bytes\":{anon},\"file_bytes\":{file_bytes}}}",
        per_sec(events, elapsed),
        per_sec(records, trivial),
    )?;
    Ok(())
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
