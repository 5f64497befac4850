//! `kestrel generate`: a seeded synthetic tick file of any length (`kestrel_replay::generate`).
//!
//! The free space of the output's folder is checked first against the exact size of the file (N ×
//! 64 bytes plus the header), so that a 100-million-event run refuses at once instead of filling the
//! disk after a minute of writing. On success one line says what was written and how fast.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use kestrel_replay::generate::{GenKind, GenSpec, generate, plain_instrument};
use kestrel_replay::tick::TickWriter;
use kestrel_types::{Price, Qty, Timestamp};

/// The kinds, as the command line spells them (`trades`, `quotes`, `l2`, `bars` are a contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum KindArg {
    /// Trade prints at the bid or ask, with the aggressor side.
    Trades,
    /// Best bid and ask with sizes.
    Quotes,
    /// A market-by-price book: snapshots and level updates.
    L2,
    /// One-minute OHLCV bars.
    Bars,
    /// Trades and quotes interleaved, about one trade per four quotes.
    Mixed,
}

impl From<KindArg> for GenKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Trades => Self::Trades,
            KindArg::Quotes => Self::Quotes,
            KindArg::L2 => Self::L2,
            KindArg::Bars => Self::Bars,
            KindArg::Mixed => Self::Mixed,
        }
    }
}

/// Options of `kestrel generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// What to generate.
    #[arg(long, value_enum)]
    kind: KindArg,
    /// Exactly how many records to write.
    #[arg(long)]
    events: u64,
    /// Seed (same seed and options, byte-identical file).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The tick file to write (replaced if it exists, only once complete).
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Symbol of the instrument (venue 0, multiplier 1, USD).
    #[arg(long, default_value = "DEMO")]
    symbol: String,
    /// Tick size of the instrument.
    #[arg(long, default_value = "0.01")]
    tick: Price,
    /// Lot size of the instrument.
    #[arg(long, default_value = "1")]
    lot: Qty,
    /// Venue time of the first event (RFC 3339 or YYYY-MM-DD[ HH:MM:SS], UTC).
    #[arg(long, default_value = "2024-01-02T14:30:00Z")]
    start: Timestamp,
}

/// Runs `kestrel generate` and prints its summary line to `out`.
pub(crate) fn run(args: &GenerateArgs, out: &mut impl Write) -> Result<()> {
    let instrument = plain_instrument(&args.symbol, args.tick, args.lot)?;
    let spec = GenSpec {
        kind: args.kind.into(),
        events: args.events,
        seed: args.seed,
        instrument: instrument.clone(),
        start: args.start,
    };
    let need = spec.file_bytes();
    check_space(&args.output, need)?;
    let began = Instant::now();
    let mut writer = TickWriter::create(&args.output, vec![instrument])?;
    generate(&spec, &mut writer)?;
    let written = writer.finish()?;
    let elapsed = began.elapsed();
    let bytes = std::fs::metadata(&args.output).with_context(|| args.output.display().to_string())?.len();
    let nanos = elapsed.as_nanos().max(1);
    let rate = u128::from(written) * 1_000_000_000 / nanos;
    writeln!(
        out,
        "wrote {written} {} events (seed {}) to {}: {bytes} bytes in {elapsed:.2?} ({rate} events/s)",
        spec.kind,
        spec.seed,
        args.output.display(),
    )?;
    Ok(())
}

/// Refuses, naming both sizes and the folder, when the output's folder has less free space than
/// the file needs (`None`: more than a `u64` of bytes).
fn check_space(output: &Path, need: Option<u64>) -> Result<()> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    let fs = rustix::fs::statvfs(&dir)
        .with_context(|| format!("cannot read the free space of {}", dir.display()))?;
    // What an unprivileged writer may use (root's reserve excluded), as `df` reports it.
    let free = fs.f_bavail.saturating_mul(fs.f_frsize);
    match need {
        Some(need) if need <= free => Ok(()),
        Some(need) => bail!(
            "not enough disk space for {}: needs {} GiB, {} GiB free on {}",
            output.display(),
            gib(need, true),
            gib(free, false),
            dir.display()
        ),
        None => bail!(
            "not enough disk space for {}: needs more than 2^64 bytes, {} GiB free on {}",
            output.display(),
            gib(free, false),
            dir.display()
        ),
    }
}

/// Bytes as GiB with two decimals (integer arithmetic), rounded up for a need and down for what
/// is free, so that the message never understates the shortfall.
fn gib(bytes: u64, up: bool) -> String {
    let scaled = u128::from(bytes) * 100;
    let unit = 1u128 << 30;
    let hundredths = if up { scaled.div_ceil(unit) } else { scaled / unit };
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gib_rounds_towards_caution() {
        assert_eq!(gib(1 << 30, true), "1.00");
        assert_eq!(gib((1 << 30) + 1, true), "1.01");
        assert_eq!(gib((1 << 30) + 1, false), "1.00");
        assert_eq!(gib(0, true), "0.00");
        assert_eq!(gib(u64::MAX, false), "17179869183.99");
    }

    #[test]
    fn refuses_a_file_larger_than_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("big.ktk");
        let e = check_space(&out, Some(u64::MAX)).unwrap_err().to_string();
        assert!(e.contains("needs 17179869184.00 GiB") && e.contains("GiB free on"), "{e}");
        assert!(check_space(&out, None).is_err());
        assert!(check_space(&out, Some(64)).is_ok());
        assert!(check_space(&dir.path().join("missing/x.ktk"), Some(64)).is_err());
    }
}
