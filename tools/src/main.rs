//! `kestrel`: Kestrel's command line.
//!
//! Subcommands land with the issues that build them; each is a thin layer over the library crates,
//! and `anyhow` lives only here, at the edge where errors become messages for a person.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kestrel_runtime::alloc::CountingAllocator;

/// Counts allocations per thread (a thread-local increment each), so `kestrel bench latency` can
/// show the engine thread allocates nothing after warm-up.
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

mod backtest;
mod bench;
mod bench_book;
mod bench_latency;
mod bench_latency_gateway;
mod bench_orders;
mod convert;
mod demo;
mod diff;
mod generate;
mod inspect;
mod live;
mod sim;

/// Kestrel: a low-latency matching and execution core with backtrader's broker semantics.
#[derive(Debug, Parser)]
#[command(name = "kestrel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Kestrel's main job: replays tick files (or a demo dataset) through a strategy, prints a
    /// summary and writes a report folder (CSV, charts, summary.json, index.html).
    Backtest(backtest::BacktestArgs),
    /// Runs an SMA crossover through the bar broker on generated bars (or a backtrader CSV file)
    /// and prints every execution, the closed trades and a summary.
    Demo(demo::DemoArgs),
    /// Runs a bar strategy through the bar broker and through the tick engine on each bar's two
    /// candidate tick paths (O→H→L→C, O→L→H→C), and lists where their fills differ, with the
    /// intrabar-ambiguous cases: fills the order of the high and the low decides.
    Diff(diff::DiffArgs),
    /// Runs a conformance scenario (shared/conformance/FORMAT.md) through the simulated broker and
    /// prints the output document; exits 3 on anything the format does not define.
    Conform {
        /// The scenario file.
        scenario: std::path::PathBuf,
    },
    /// Converts vendor tick and bar files (Binance, Tardis, Databento, …) into a Kestrel tick file.
    Convert(convert::ConvertArgs),
    /// Benchmarks that print one JSON line.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Writes a seeded synthetic tick file (trades, quotes, l2, bars or mixed) of N events, after
    /// checking the output folder's free space, and prints a one-line summary.
    Generate(generate::GenerateArgs),
    /// Prints a tick file's header, instrument table, counts per kind and time range, and validates
    /// every record; exits 1 on an invalid or unreadable file.
    Inspect(inspect::InspectArgs),
    /// Trades an example strategy through a venue gateway for a set time (paper mode against
    /// `kestrel sim binance` by default; live trading needs `allow_live = true` in the file),
    /// then cancels every open order and prints a summary.
    Live(live::LiveArgs),
    /// Runs a venue simulator on loopback (Binance spot) and prints one JSON line with its port.
    #[command(subcommand)]
    Sim(sim::SimCommand),
}

/// Exit status for a scenario the format does not define (the oracle's, too).
const EXIT_SCENARIO: u8 = 3;

fn conform(path: &std::path::Path) -> ExitCode {
    use kestrel_cli::conform::{run, scenario};
    let result = scenario::load(path).map_err(run::RunFailure::from).and_then(|sc| run::run(&sc));
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            match out.write_to(&mut stdout) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("kestrel conform: {}: {e}", path.display());
                    ExitCode::FAILURE
                }
            }
        }
        Err(e @ run::RunFailure::Scenario(_)) => {
            eprintln!("kestrel conform: {e}");
            ExitCode::from(EXIT_SCENARIO)
        }
        Err(e) => {
            eprintln!("kestrel conform: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Conform { scenario } => return conform(&scenario),
        Command::Demo(args) => demo::run(&args, &mut std::io::stdout().lock()),
        Command::Diff(args) => diff::run(&args, &mut std::io::stdout().lock()),
        Command::Convert(args) => convert::run(&args, &mut std::io::stdout().lock()),
        Command::Bench(cmd) => bench::run(&cmd, &mut std::io::stdout().lock()),
        Command::Backtest(args) => backtest::run(&args, &mut std::io::stdout().lock()),
        Command::Generate(args) => generate::run(&args, &mut std::io::stdout().lock()),
        Command::Inspect(args) => inspect::run(&args, &mut std::io::stdout().lock()),
        Command::Sim(cmd) => sim::run(&cmd, &mut std::io::stdout()),
        Command::Live(args) => live::run(&args, &mut std::io::stdout()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kestrel: {e:#}");
            ExitCode::FAILURE
        }
    }
}
