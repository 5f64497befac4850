//! Regime: a backtest's input path, replaying tick files that are already in the page cache (hot:
//! memory-mapped, validated once, then read record after record on one core), and the live
//! engine's journal read back (recovery) and appended to (no fsync).
//!
//! The inputs are seeded market data (`SplitMix64` from [`SEED`]): trades, quotes and level updates
//! in a 1 : 3 : 1 mix over several instruments, `ts_recv` steps of 1–2000 ns with one step in four a
//! tie, so that the merge's tie-break is exercised as a venue packet exercises it. They are written
//! once, before any measurement, to a temporary folder; every figure is a batch time over a whole
//! file, which `BENCHMARKS.md` divides by the record count (criterion's throughput line gives it as
//! elements per second).
//!
//! - `replay_1m/scan`: reads each record's `ts_recv` and nothing else: the physical limit of a
//!   replay (memory bandwidth over 64 MB), against which the others are measured.
//! - `replay_1m/decode`: decodes each of 1 000 000 mapped records into an `Event` (kind byte via
//!   `TryFrom`, flags checked), the per-event cost a replayer pays on top of `scan`.
//! - `replay_1m/validate`: `TickFile::validate`, the one-off check before a replay.
//! - `replay_merge_4x250k/{linear,heap}`: the k-way merge of four files of 250 000 records each,
//!   yielding `(file, &RawRecord)` in `(ts_recv, file, record)` order, with the two ways of finding
//!   the earliest head; `…/events` adds decoding and the remap onto the merged instrument table:
//!   what a replayer feeds the engine.
//! - `replay_merge_k/{linear,heap}/{rr,random}/k`: the same 1 000 000 records split over
//!   k = 2…16 in-memory inputs, round-robin or at random, to place `merge::LINEAR_MAX` (where the
//!   heap overtakes the linear scan).
//! - `journal_1m/open`: `Journal::open` of a 1 000 000-record segment: read, CRC32C of every
//!   record, decode and order checks (what recovery costs at start-up).
//! - `journal_append_100k/append`: 100 000 `JournalWriter::append` calls (encode, CRC32C, buffer,
//!   a `write` per 1024 records) and a final `flush`; fsync is the device's cost and is not measured.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use kestrel_bench::{SEED, SplitMix64};
use kestrel_replay::format::{RawRecord, decode, encode};
use kestrel_replay::journal::{Journal, JournalWriter, segment_path};
use kestrel_replay::merge::{Merge, MergedEvents, Source, Strategy};
use kestrel_replay::tick::{TickFile, TickWriter};
use kestrel_types::{
    Aggressor, BookSide, Currency, Event, Instrument, InstrumentId, InstrumentSpec, LevelUpdate, Payload,
    Price, Qty, Quote, Timestamp, Trade, VenueId,
};

/// Records in the single-file figures.
const RECORDS: usize = 1_000_000;
/// Files in the merge figure (each `RECORDS / FILES` records).
const FILES: usize = 4;
/// Appends per journal-append iteration.
const APPENDS: usize = 100_000;

/// An instrument `SYM<n>` on venue 1, cent ticks.
fn instrument(n: usize) -> Instrument {
    Instrument::try_new(
        InstrumentId(0),
        InstrumentSpec {
            symbol: format!("SYM{n}"),
            venue: VenueId(1),
            tick_size: Price::from_raw(10_000_000),
            lot_size: Qty::ONE,
            display_decimals: 2,
            multiplier: "1".parse().expect("ratio"),
            quote_currency: Currency::USD,
            settlement_currency: Currency::USD,
        },
    )
    .expect("instrument")
}

/// `n` seeded market events over `instruments` instruments, `ts_recv` non-decreasing from 0.
fn market(rng: &mut SplitMix64, n: usize, instruments: u16) -> Vec<Event> {
    let mut ts = 1_700_000_000_000_000_000i64;
    (0..n)
        .map(|i| {
            if rng.in_range(0, 3) != 0 {
                ts += rng.in_range(1, 2000) as i64;
            }
            let price = Price::from_raw(100_000_000_000 + rng.in_range(0, 1000) as i64 * 10_000_000);
            let size = Qty::from_raw(rng.in_range(1, 100) as i64 * 1_000_000_000);
            let payload = match rng.in_range(0, 4) {
                0 => Payload::Trade(Trade {
                    price,
                    size,
                    aggressor: if rng.in_range(0, 1) == 0 { Aggressor::Buy } else { Aggressor::Sell },
                    trade_id: i as u64,
                }),
                4 => Payload::Level(LevelUpdate {
                    side: if rng.in_range(0, 1) == 0 { BookSide::Bid } else { BookSide::Ask },
                    price,
                    size,
                }),
                _ => Payload::Quote(Quote { bid: price, bid_size: size, ask: price, ask_size: size }),
            };
            let instrument = InstrumentId(rng.in_range(0, u64::from(instruments) - 1) as u16);
            Event {
                ts_event: Timestamp::from_nanos(ts - 20_000),
                ts_recv: Timestamp::from_nanos(ts),
                instrument,
                payload,
            }
        })
        .collect()
}

/// Writes `events` as a tick file over `table`, then maps and validates it.
fn tick_file(path: &Path, table: Vec<Instrument>, events: &[Event]) -> TickFile {
    let mut w = TickWriter::create(path, table).expect("create");
    for e in events {
        w.push(e).expect("push");
    }
    w.finish().expect("finish");
    let f = TickFile::open(path).expect("open");
    f.validate().expect("valid");
    f
}

/// Every input, written once before any measurement.
struct Inputs {
    dir: tempfile::TempDir,
    events: Vec<Event>,
    big: TickFile,
    parts: Vec<TickFile>,
    journal: PathBuf,
}

impl Inputs {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rng = SplitMix64::new(SEED);
        let events = market(&mut rng, RECORDS, 4);
        let table: Vec<Instrument> = (0..4).map(instrument).collect();
        let big = tick_file(&dir.path().join("big.kt"), table.clone(), &events);
        // Four files whose tables overlap (file f holds SYM f and SYM f+1): the merged table has five.
        let parts = (0..FILES)
            .map(|f| {
                let evs = market(&mut rng, RECORDS / FILES, 2);
                tick_file(
                    &dir.path().join(format!("part{f}.kt")),
                    vec![instrument(f), instrument(f + 1)],
                    &evs,
                )
            })
            .collect();
        let journal = dir.path().join("journal");
        let mut w = JournalWriter::create(&journal, table).expect("journal");
        for e in &events {
            w.append(e).expect("append");
        }
        w.sync().expect("sync");
        Self { dir, events, big, parts, journal }
    }
}

/// The single-file figures: the physical limit, decoding, validation.
fn single(c: &mut Criterion, inputs: &Inputs) {
    let records = inputs.big.records();
    let mut g = c.benchmark_group("replay_1m");
    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("scan", |b| {
        b.iter(|| black_box(records).iter().fold(0i64, |acc, r| acc.wrapping_add(r.ts_recv)))
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            for r in black_box(records) {
                let _ = black_box(decode(r));
            }
        })
    });
    g.sample_size(30);
    g.bench_function("validate", |b| b.iter(|| black_box(&inputs.big).validate().expect("valid")));
    g.finish();
}

/// Drains a raw merge, folding what it yields so that nothing is optimised away.
fn drain(m: Merge<'_>) -> i64 {
    m.fold(0i64, |acc, (file, r)| acc.wrapping_add(r.ts_recv) ^ file as i64)
}

/// The four-file merge: raw with either strategy, and decoded onto the merged table.
fn merge(c: &mut Criterion, inputs: &Inputs) {
    let slices: Vec<&[RawRecord]> = inputs.parts.iter().map(TickFile::records).collect();
    let mut g = c.benchmark_group("replay_merge_4x250k");
    g.throughput(Throughput::Elements(RECORDS as u64));
    for (name, strategy) in [("linear", Strategy::Linear), ("heap", Strategy::Heap)] {
        g.bench_function(name, |b| b.iter(|| drain(Merge::with_strategy(black_box(&slices), strategy))));
    }
    g.bench_function("events", |b| {
        b.iter(|| {
            let sources = inputs.parts.iter().map(Source::from).collect();
            let merged = MergedEvents::new(black_box(sources)).expect("tables");
            for ev in merged {
                let _ = black_box(ev);
            }
        })
    });
    g.finish();
}

/// The same records split over k inputs, for the linear-or-heap threshold.
fn merge_k(c: &mut Criterion, inputs: &Inputs) {
    let mut g = c.benchmark_group("replay_merge_k");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(20);
    let mut rng = SplitMix64::new(SEED ^ 1);
    for k in [2usize, 4, 6, 8, 16] {
        for split_name in ["rr", "random"] {
            // Round-robin (record i to input i mod k: regular alternation) or each record to a
            // random input (independent venues); both keep every input sorted.
            let mut split: Vec<Vec<RawRecord>> = vec![Vec::with_capacity(RECORDS / k + 1); k];
            for (i, e) in inputs.events.iter().enumerate() {
                let to = if split_name == "rr" { i % k } else { rng.in_range(0, k as u64 - 1) as usize };
                split[to].push(encode(e));
            }
            let slices: Vec<&[RawRecord]> = split.iter().map(Vec::as_slice).collect();
            for (name, strategy) in [("linear", Strategy::Linear), ("heap", Strategy::Heap)] {
                g.bench_function(format!("{name}/{split_name}/{k}"), |b| {
                    b.iter(|| drain(Merge::with_strategy(black_box(&slices), strategy)))
                });
            }
        }
    }
    g.finish();
}

/// Journal recovery (open) and appending.
fn journal(c: &mut Criterion, inputs: &Inputs) {
    let segment = segment_path(&inputs.journal, 1);
    let mut g = c.benchmark_group("journal_1m");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(20);
    g.bench_function("open", |b| {
        b.iter(|| {
            let j = Journal::open(black_box(&segment)).expect("open");
            assert!(j.recovery().is_none());
            j
        })
    });
    g.finish();

    let mut g = c.benchmark_group("journal_append_100k");
    g.throughput(Throughput::Elements(APPENDS as u64));
    g.sample_size(30);
    let table: Vec<Instrument> = (0..4).map(instrument).collect();
    let events = &inputs.events[..APPENDS];
    let mut n = 0u32;
    g.bench_function("append", |b| {
        b.iter_batched(
            || {
                // A fresh journal per batch; the previous one is removed outside the measurement.
                let old = inputs.dir.path().join(format!("append{n}"));
                let _ = std::fs::remove_file(segment_path(&old, 1));
                n += 1;
                JournalWriter::create(inputs.dir.path().join(format!("append{n}")), table.clone())
                    .expect("journal")
            },
            |mut w| {
                for e in events {
                    w.append(black_box(e)).expect("append");
                }
                w.flush().expect("flush");
                w
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Runs every group on one set of inputs.
fn replay(c: &mut Criterion) {
    let inputs = Inputs::new();
    single(c, &inputs);
    merge(c, &inputs);
    merge_k(c, &inputs);
    journal(c, &inputs);
}

/// The group `criterion_main!` runs: `criterion_group!` written out, so that it carries a doc.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    replay(&mut criterion);
}

criterion_main!(benches);
