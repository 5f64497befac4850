//! `kestrel backtest`: Kestrel's main job. Replays tick files through the tick engine (or, for
//! bar strategies, the bar broker) with a strategy, prints a summary and writes a report folder.
//!
//! With no files it runs the quoting strategy on a demo dataset: seeded synthetic trades and quotes
//! generated once into the cache folder (`$KESTREL_CACHE`, else `~/.cache/kestrel`) and reused.
//! Everything in the report is a function of the data, the strategy and the options: two runs
//! write byte-identical folders. The events/s figure is wall-clock, so it is printed, never
//! written into the report.

mod bars;
pub(crate) mod params;
mod record;

use std::io::{IsTerminal as _, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kestrel_engine::engine::{Engine, EngineConfig, Latency, TickStrategy};
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_replay::generate::{GenKind, GenSpec, plain_instrument};
use kestrel_replay::replayer::{instrument_table, replay_with_progress};
use kestrel_replay::tick::TickFile;
use kestrel_types::{Bar, Event, Instrument, Money, Payload, Price, Qty, Ratio, TimeSpan, Timestamp};

use kestrel_cli::report::{Report, RunInfo, summary_lines, write_report};
use params::{Params, StrategyName};
use record::Recorded;

/// Options of `kestrel backtest`.
#[derive(Debug, Args)]
pub(crate) struct BacktestArgs {
    /// Kestrel tick files (from `kestrel convert` or `kestrel generate`), replayed merged by time;
    /// none: the demo dataset.
    files: Vec<PathBuf>,
    /// The strategy: `quoter` (quotes around the mid, on quotes) or `sma-cross` (a moving-average
    /// crossover on bars, run on the bar broker with backtrader's semantics).
    #[arg(long, default_value = "quoter")]
    strategy: String,
    /// A strategy parameter, `key=value` (repeatable); `--param help` lists them.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// The report folder (default: `reports/<data>-<strategy>` under the current folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Starting cash.
    #[arg(long, default_value = "1000000")]
    cash: Money,
    /// Commission as a fraction of each fill's value (0.0002 is 2 basis points).
    #[arg(long, default_value = "0.0002")]
    commission: Ratio,
    /// Latency each way between the strategy and the simulated venue, in microseconds of
    /// simulated time.
    #[arg(long, default_value_t = 50)]
    latency_us: i64,
    /// A recorded latency curve (`time_ns,entry_ns,response_ns` lines, interpolated), in place of
    /// `--latency-us`.
    #[arg(long)]
    latency_file: Option<PathBuf>,
    /// Commission of the fills that provide liquidity (maker), as a fraction of their value
    /// (default: `--commission`, which then applies to every fill).
    #[arg(long)]
    maker_commission: Option<Ratio>,
    /// A trade exactly at a resting limit fills it (default: only a trade through it does); with
    /// book data, a resting order joins its level at the front instead of behind the visible queue.
    #[arg(long)]
    optimistic: bool,
    /// Book data: where cancels in a market-by-price level come from, relative to our resting
    /// orders: `risk-averse` (from behind: the queue ahead only shrinks by trades) or
    /// `probabilistic` (a seeded draw by the shares of the level ahead and behind, see
    /// `--queue-power` and `--seed`). Market-by-order data knows the queue exactly.
    #[arg(long, default_value = "risk-averse", value_parser = ["risk-averse", "probabilistic"])]
    queue: String,
    /// The probabilistic queue model's exponent (1 to 8).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
    queue_power: u8,
    /// The probabilistic queue model's seed: the same data and seed give the same fills.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Events of the demo dataset (generated once, then reused).
    #[arg(long, default_value_t = 2_000_000)]
    demo_events: u64,
    /// About how many equity points the report's curve gets.
    #[arg(long, default_value_t = 2_000)]
    equity_points: u64,
}

/// The demo dataset: trades and quotes of one cent-tick instrument, seeded.
fn demo_spec(events: u64) -> Result<GenSpec> {
    let instrument = plain_instrument("DEMO", Price::from_raw(10_000_000), Qty::ONE)?;
    // 2024-01-02 14:30 UTC, a session open.
    let start = Timestamp::from_nanos(1_704_205_800_000_000_000);
    Ok(GenSpec { kind: GenKind::Mixed, events, seed: 7, instrument, start })
}

/// The demo file: reused when it is there with the right count, else generated.
fn demo_file(events: u64) -> Result<PathBuf> {
    let spec = demo_spec(events)?;
    let (dir, source) = crate::bench::cache_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cache folder {} ({source})", dir.display()))?;
    // The version is in the name: another release may generate other bytes for the same seed.
    let name =
        format!("demo-{}-n{}-seed{}-v{}.kt", spec.kind, spec.events, spec.seed, env!("CARGO_PKG_VERSION"));
    let path = dir.join(name);
    let valid = TickFile::open(&path).is_ok_and(|f| f.header().record_count == events);
    if valid {
        eprintln!("kestrel backtest: demo data {}", path.display());
    } else {
        eprintln!("kestrel backtest: generating demo data {} ({events} events)", path.display());
        kestrel_replay::generate::generate_file(&spec, &path)
            .with_context(|| format!("generating {}", path.display()))?;
    }
    Ok(path)
}

/// A progress bar over `total` events, or none when stderr is not a terminal.
fn progress_bar(total: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {human_pos}/{human_len} events {per_sec} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// The first and last `ts_recv` of the files.
fn time_range(files: &[TickFile]) -> Option<(Timestamp, Timestamp)> {
    let first = files.iter().filter_map(|f| f.records().first()).map(|r| r.ts_recv).min()?;
    let last = files.iter().filter_map(|f| f.records().last()).map(|r| r.ts_recv).max()?;
    Some((Timestamp::from_nanos(first), Timestamp::from_nanos(last)))
}

/// What every run reports besides its rows.
struct Outcome {
    report: Report,
    events: u64,
    elapsed: std::time::Duration,
    /// Modelled latency distributions (tick runs): written in the live harness's format.
    latency: Vec<(&'static str, hdrhistogram::Histogram<u64>)>,
}

/// Runs the backtest and writes the summary to `out`.
pub(crate) fn run(args: &BacktestArgs, out: &mut impl Write) -> Result<()> {
    let name: StrategyName = args.strategy.parse()?;
    if args.params.iter().any(|p| p == "help") {
        writeln!(out, "{}", params::help(name))?;
        return Ok(());
    }
    let params = Params::parse(name, &args.params)?;
    if args.latency_us < 0 {
        bail!("--latency-us must not be negative (got {})", args.latency_us);
    }
    if !args.cash.is_positive() {
        bail!("--cash must be > 0 (got {})", args.cash);
    }
    let (paths, label) = if args.files.is_empty() {
        (vec![demo_file(args.demo_events)?], "demo".to_owned())
    } else {
        let stem = args.files[0].file_stem().map_or("data".into(), |s| s.to_string_lossy().into_owned());
        let stem = stem.strip_suffix(".kt").unwrap_or(&stem).to_owned();
        (args.files.clone(), stem)
    };
    let files = paths
        .iter()
        .map(|p| TickFile::open(p).with_context(|| format!("opening tick file {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    let table = instrument_table(&files)?;
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: args.commission,
        ..CommissionParams::setcommission()
    })?;
    let outcome = match &params {
        Params::Quoter(q) => {
            run_tick(args, &files, &table, scheme, kestrel_engine::strategy::quoter::Quoter::new(*q))?
        }
        Params::SmaCross { instrument, fast, slow, size } => {
            run_bars(args, &files, &table, scheme, *instrument, *fast, *slow, *size)?
        }
    };
    let mut report = outcome.report;
    report.info.strategy = name.to_string();
    report.info.params = params.describe(&table);
    report.info.params.extend([
        ("cash".to_owned(), args.cash.to_string()),
        ("commission".to_owned(), args.commission.to_string()),
        ("latency_us".to_owned(), args.latency_us.to_string()),
        (
            "latency_file".to_owned(),
            args.latency_file.as_ref().map_or_else(String::new, |p| p.display().to_string()),
        ),
        ("optimistic".to_owned(), args.optimistic.to_string()),
        (
            "maker_commission".to_owned(),
            args.maker_commission.map_or_else(|| args.commission.to_string(), |r| r.to_string()),
        ),
        ("queue".to_owned(), queue_label(args)),
    ]);
    // The inputs as the user named them (the demo: its file name, not the cache folder's path).
    report.info.inputs = paths
        .iter()
        .map(|p| {
            if args.files.is_empty() {
                p.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            } else {
                p.display().to_string()
            }
        })
        .collect();
    let dir = args.out.clone().unwrap_or_else(|| Path::new("reports").join(format!("{label}-{name}")));
    let written =
        write_report(&report, &dir).with_context(|| format!("writing the report to {}", dir.display()))?;
    if !outcome.latency.is_empty() {
        // The same files as `kestrel bench latency` writes for measured latency: one schema.
        let series: Vec<(&str, &hdrhistogram::Histogram<u64>)> =
            outcome.latency.iter().map(|(n, h)| (*n, h)).collect();
        let title = format!("modelled order latency ({} µs each way)", args.latency_us);
        kestrel_cli::report::latency::write_latency_report(&dir.join("latency"), "latency", &title, &series)
            .with_context(|| format!("writing the latency report to {}", dir.display()))?;
    }
    writeln!(out, "kestrel backtest: {name} on {}", report.info.inputs.join(", "))?;
    for line in summary_lines(&report, &written.metrics) {
        writeln!(out, "  {line}")?;
    }
    let secs = outcome.elapsed.as_secs_f64().max(1e-9);
    #[expect(clippy::cast_precision_loss, reason = "a display rate")]
    let rate = outcome.events as f64 / secs;
    writeln!(out, "  events/s     {rate:.0} ({} events in {secs:.3} s, wall clock)", outcome.events)?;
    writeln!(out, "  report       {}", written.index().display())?;
    Ok(())
}

/// Replays the files through the tick engine with `strategy`.
fn run_tick<S: TickStrategy>(
    args: &BacktestArgs,
    files: &[TickFile],
    table: &[Instrument],
    scheme: CommissionScheme,
    strategy: S,
) -> Result<Outcome> {
    let symbols: Vec<String> = table.iter().map(|i| i.symbol().to_owned()).collect();
    let (first, last) = time_range(files).unwrap_or((Timestamp::EPOCH, Timestamp::EPOCH));
    let span = last.nanos().saturating_sub(first.nanos());
    let interval =
        TimeSpan::from_nanos((span / i64::try_from(args.equity_points.max(1)).unwrap_or(i64::MAX)).max(1));
    let latency = Latency::symmetric(TimeSpan::from_nanos(args.latency_us.saturating_mul(1_000)));
    let maker_scheme = match args.maker_commission {
        Some(commission) => Some(CommissionScheme::try_new(CommissionParams {
            commission,
            ..CommissionParams::setcommission()
        })?),
        None => None,
    };
    let config = EngineConfig {
        cash: args.cash,
        scheme,
        maker_scheme,
        latency,
        optimistic: args.optimistic,
        queue_model: queue_model(args),
        ..EngineConfig::new(table.len())
    };
    let mut engine = Engine::try_new(config, Recorded::new(strategy, symbols.clone(), interval)?)?;
    engine.set_instruments(table);
    if let Some(path) = &args.latency_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let curve = kestrel_engine::engine::LatencyCurve::parse(&text)
            .with_context(|| format!("latency file {}", path.display()))?;
        engine.set_latency_curve(curve);
    }
    engine.start();
    let total: u64 = files.iter().map(|f| f.header().record_count).sum();
    let bar = progress_bar(total);
    let every = NonZeroUsize::new(1 << 16).unwrap_or(NonZeroUsize::MIN);
    let start = Instant::now();
    let stats = replay_with_progress(files, &mut engine, every, |s| {
        if let Some(b) = &bar {
            b.set_position(s.events);
        }
    })?;
    engine.finish();
    let elapsed = start.elapsed();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let counters = engine.counters();
    let ledger = engine.ledger().clone();
    let final_value = engine.equity()?;
    let rec = engine.into_strategy();
    let info = RunInfo {
        events: stats.events,
        orders: counters.orders,
        fills: counters.fills,
        start_value: args.cash,
        final_value,
        fees: ledger.fees(),
        turnover: ledger.turnover(),
        first_ts: stats.first_recv,
        last_ts: stats.last_recv,
        currency: currency(table),
        ..RunInfo::default()
    };
    let latency = vec![("order_ack", rec.order_ack), ("fill_report", rec.fill_report)];
    let report =
        Report { info, orders: rec.orders, fills: rec.fills, trades: rec.trades.rows, equity: rec.equity };
    Ok(Outcome { report, events: stats.events, elapsed, latency })
}

/// The quote currency of the first instrument (the report's unit), `USD` without a table.
fn currency(table: &[Instrument]) -> String {
    table.first().map_or_else(|| "USD".to_owned(), |i| i.quote_currency().to_string())
}

/// Collects one instrument's bars from the files, in replay order.
struct BarCollector {
    instrument: usize,
    bars: Vec<Bar>,
    events: u64,
}

impl TickStrategy for BarCollector {
    fn on_event(&mut self, _ctx: &mut kestrel_engine::engine::TickContext<'_>, ev: &Event) {
        self.events += 1;
        if let Payload::Bar(b) = ev.payload
            && ev.instrument.index() == self.instrument
        {
            self.bars.push(b);
        }
    }
}

/// Runs a bar strategy on the bar broker over one instrument's bars.
#[expect(clippy::too_many_arguments, reason = "the run's options and the strategy's parameters")]
fn run_bars(
    args: &BacktestArgs,
    files: &[TickFile],
    table: &[Instrument],
    scheme: CommissionScheme,
    instrument: usize,
    fast: usize,
    slow: usize,
    size: Qty,
) -> Result<Outcome> {
    let Some(ins) = table.get(instrument) else {
        bail!("sma-cross: instrument {instrument} is not in the data ({} instruments)", table.len());
    };
    let start = Instant::now();
    let collector = BarCollector { instrument, bars: Vec::new(), events: 0 };
    let mut engine = Engine::try_new(EngineConfig::new(table.len()), collector)?;
    replay_with_progress(files, &mut engine, NonZeroUsize::MIN.saturating_add(1 << 16), |_| {})?;
    let c = engine.into_strategy();
    if c.bars.is_empty() {
        bail!(
            "sma-cross runs on bars: the data has no bar records for {} (convert bar files, e.g. btcsv)",
            ins.symbol()
        );
    }
    let run = bars::run_sma(&c.bars, ins.symbol(), fast, slow, size, args.cash, scheme)?;
    let elapsed = start.elapsed();
    let info = RunInfo {
        events: c.events,
        orders: run.order_count,
        fills: run.fills.len() as u64,
        start_value: args.cash,
        final_value: run.final_value,
        fees: run.fees,
        turnover: run.turnover,
        first_ts: c.bars.first().map(|b| b.ts),
        last_ts: c.bars.last().map(|b| b.ts),
        currency: ins.quote_currency().to_string(),
        ..RunInfo::default()
    };
    let report =
        Report { info, orders: run.orders, fills: run.fills, trades: run.trades, equity: run.equity };
    Ok(Outcome { report, events: c.events, elapsed, latency: Vec::new() })
}

/// The queue model `--queue`, `--queue-power` and `--seed` ask for.
fn queue_model(args: &BacktestArgs) -> kestrel_engine::engine::QueueModel {
    match args.queue.as_str() {
        "probabilistic" => {
            kestrel_engine::engine::QueueModel::Probabilistic { power: args.queue_power, seed: args.seed }
        }
        _ => kestrel_engine::engine::QueueModel::RiskAverse,
    }
}

/// How the report names the queue model.
fn queue_label(args: &BacktestArgs) -> String {
    match queue_model(args) {
        kestrel_engine::engine::QueueModel::Probabilistic { power, seed } => {
            format!("probabilistic (power {power}, seed {seed})")
        }
        kestrel_engine::engine::QueueModel::RiskAverse => "risk-averse".to_owned(),
    }
}
