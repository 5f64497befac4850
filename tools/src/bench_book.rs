//! `kestrel bench book --events N`: L2 replay with the book rebuilt, a no-op strategy on top.
//!
//! N events of the generator's `l2` stream (an opening snapshot, level updates near the touch,
//! depletions and improvements, and every few hundred thousand steps a clear and a fresh snapshot)
//! are replayed from a memory-mapped tick file through the tick engine, which rebuilds the
//! instrument's market-by-price book (`kestrel_engine::book::L2Book`) from every snapshot and level
//! update and makes its top the instrument's quote; the strategy does nothing. The JSON line is
//! `{"events":N,"events_per_sec":X}`; only the replay is timed.
//!
//! # What one event costs here
//! The replayer's decode of the record, [`Engine::on_event`] (market state, the due-message
//! compare), and the book update: the price as whole ticks (a multiply, no division), one slot
//! store, the best level compared before and after, and a bitmap scan when the best level empties.
//! When the top changes, the new best bid and ask become the market state's quote.
//!
//! # The file
//! Generated once (`kestrel_replay::generate`, kind `l2`, one cent-tick instrument) into the cache
//! folder ([`crate::bench::cache_dir`]) under a name holding N and the seed, and reused while it
//! opens with the right record count, like `kestrel bench replay`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;
use kestrel_engine::engine::{Engine, EngineConfig, NoopStrategy};
use kestrel_replay::generate::{GenKind, GenSpec, generate_file, plain_instrument};
use kestrel_replay::replayer::replay;
use kestrel_replay::tick::TickFile;
use kestrel_types::{Price, Qty, Timestamp};

/// Options of `kestrel bench book`.
#[derive(Debug, Args)]
pub(crate) struct BookArgs {
    /// How many L2 events (snapshots, clears and level updates) to generate and replay.
    #[arg(long, default_value_t = 100_000_000)]
    events: u64,
    /// Seed of the generated file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The benchmark's file spec: the `l2` stream of one cent-tick instrument.
fn spec(events: u64, seed: u64) -> Result<GenSpec> {
    let instrument = plain_instrument("SYN", Price::from_raw(10_000_000), Qty::ONE)?;
    // 2024-01-02 14:30 UTC, a session open.
    let start = Timestamp::from_nanos(1_704_205_800_000_000_000);
    Ok(GenSpec { kind: GenKind::L2, events, seed, instrument, start })
}

/// The cached file for `spec`, generated when absent or not the file it should be; says on stderr
/// which, and where.
fn cached_file(spec: &GenSpec) -> Result<PathBuf> {
    let (dir, source) = crate::bench::cache_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cache folder {} ({source})", dir.display()))?;
    let path = dir.join(format!("book-{}-n{}-seed{}.kt", spec.kind, spec.events, spec.seed));
    let valid = TickFile::open(&path)
        .is_ok_and(|f| f.header().record_count == spec.events && f.header().instruments.len() == 1);
    if valid {
        eprintln!("kestrel bench book: reusing {} (cache folder from {source})", path.display());
        return Ok(path);
    }
    let need = spec.file_bytes().context("the file size overflows")?;
    let free = free_bytes(&dir)?;
    // Room for the file and a margin, so that the disk is not left full.
    let margin = 256 << 20;
    if free < need.saturating_add(margin) {
        anyhow::bail!(
            "not enough free disk in {} ({source}) for {} events: the file needs {need} bytes (+{margin} \
             margin), {free} are free; set {} to a folder with room, or pass fewer --events",
            dir.display(),
            spec.events,
            crate::bench::CACHE_ENV,
        );
    }
    eprintln!("kestrel bench book: generating {} ({need} bytes; cache folder from {source})", path.display());
    generate_file(spec, &path).with_context(|| format!("generating {}", path.display()))?;
    Ok(path)
}

/// Bytes free for an unprivileged writer in `dir`.
fn free_bytes(dir: &Path) -> Result<u64> {
    let st = rustix::fs::statvfs(dir).with_context(|| format!("free space of {}", dir.display()))?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Runs the benchmark and prints its JSON line.
pub(crate) fn run(args: &BookArgs, out: &mut impl Write) -> Result<()> {
    let path = cached_file(&spec(args.events, args.seed)?)?;
    let file = TickFile::open(&path)?;
    // Untimed: brings the file into the page cache, so the timed pass reads memory, not disk.
    let warm = file.records().iter().fold(0i64, |s, r| s.wrapping_add(r.ts_recv));
    std::hint::black_box(warm);
    let instruments = &file.header().instruments;
    // The engine rebuilds the books itself (`EngineConfig::books`, on by default).
    let mut engine = Engine::try_new(EngineConfig::new(instruments.len()), NoopStrategy)?;
    engine.set_instruments(instruments);
    let start = Instant::now();
    let stats = replay(std::slice::from_ref(&file), &mut engine)?;
    let elapsed = start.elapsed();
    let refused = engine.counters().book_errors;
    let tops: u64 = engine.markets().iter().map(|m| m.counters.book_tops).sum();
    anyhow::ensure!(
        stats.events == args.events && refused == 0 && (tops > 0 || stats.events < 100),
        "replayed {} of {} events; the books refused {refused} and changed top {tops} times",
        stats.events,
        args.events,
    );
    let secs = elapsed.as_secs_f64();
    #[expect(clippy::cast_precision_loss, reason = "a throughput figure, not money")]
    let rate = if secs > 0.0 { stats.events as f64 / secs } else { 0.0 };
    writeln!(out, "{{\"events\":{},\"events_per_sec\":{rate:.0}}}", stats.events)?;
    Ok(())
}
