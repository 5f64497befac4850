//! `kestrel`: Kestrel's command line.
//!
//! Subcommands land with the issues that build them; each is a thin layer over the library crates,
//! and `anyhow` lives only here, at the edge where errors become messages for a person.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;

/// Kestrel: a low-latency matching and execution core with backtrader's broker semantics.
#[derive(Debug, Parser)]
#[command(name = "kestrel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a small SMA-crossover through the domain model (orders, fills, positions, commission,
    /// cash, trades) on generated bars, or on a backtrader CSV file, and prints the ledger.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kestrel: {e:#}");
            ExitCode::FAILURE
        }
    }
}
