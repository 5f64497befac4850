//! `kestrel sim binance`: runs the Binance-spot-compatible venue simulator until killed.
//!
//! Prints one JSON line on start (`{"listening":"127.0.0.1:PORT","tls":false,"cert":null}`) so
//! tests can read the port (port 0 picks a free one). Keys come from `BINANCE_API_KEY`,
//! `BINANCE_API_SECRET` and `BINANCE_ED25519_PUBLIC_KEY_FILE`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};
use kestrel_sim_binance::{Credentials, Fault, SimConfig, Simulator};

/// Venues `kestrel sim` can simulate.
#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Binance spot: REST, market streams, WebSocket API and user data on one port.
    Binance(BinanceArgs),
}

/// Options of `kestrel sim binance`.
#[derive(Debug, Args)]
pub(crate) struct BinanceArgs {
    /// Address to listen on (port 0: a free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Serve TLS with a self-signed certificate generated now (its PEM path is printed).
    #[arg(long)]
    tls: bool,
    /// Folder for the certificate PEM (default: the temp folder).
    #[arg(long)]
    cert_dir: Option<PathBuf>,
    /// Seed of the synthetic market.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds between server pings on WebSocket connections.
    #[arg(long, default_value_t = 20)]
    ping_secs: u64,
    /// A fault armed at start (repeatable): drop-mid-fill, duplicate-reports=N, reorder-reports=N,
    /// rate-limit=429:N[:SECS], rate-limit=418:N[:SECS]. Live: POST /sim/fault?fault=SPEC.
    #[arg(long = "fault")]
    faults: Vec<String>,
}

/// Runs a simulator until the process is killed.
pub(crate) fn run(cmd: &SimCommand, out: &mut impl Write) -> Result<()> {
    let SimCommand::Binance(args) = cmd;
    let mut config = SimConfig::new(args.listen, Credentials::from_env()?);
    config.tls = args.tls;
    config.cert_dir.clone_from(&args.cert_dir);
    config.seed = args.seed;
    config.ping_every = Duration::from_secs(args.ping_secs.max(1));
    config.faults = args.faults.iter().map(|f| f.parse::<Fault>()).collect::<Result<_, _>>()?;
    let sim = Simulator::start(config)?;
    writeln!(out, "{}", sim.banner())?;
    out.flush()?;
    sim.wait();
    Ok(())
}
