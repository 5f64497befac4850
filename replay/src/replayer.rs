//! The replayer: tick files in, [`Engine::on_event`] called on this thread for every record, in
//! `ts_recv` order (ARCHITECTURE.md §7: the backtest drives the same core as the live runtime, with
//! no rings in between).
//!
//! Records are decoded straight from the memory mapping into an [`Event`] on the stack: no copy of
//! the file, no per-event allocation, no `Result` built per record (a record that does not decode is
//! found by a kind-byte match that falls through to a cold error path).
//!
//! Several files are merged by `(ts_recv, file index, record index)` ([`crate::merge`]) and their
//! instruments remapped into one table ([`instrument_table`]); a single file, the common case and
//! the benchmark's, skips the merge and keeps its own instrument ids.
//!
//! # Limitations
//! One file's records reach the engine with their instrument ids as they are, so the engine counts
//! an id outside the table and skips it; with several files such a record has no merged id and
//! stops the replay with [`ReplayError::UnknownInstrument`].
//!
//! # Performance
//! Per event: a `match` on the kind byte, the inlined [`Engine::on_event`] with the payload built in
//! registers, and the [`TickStrategy`] statically dispatched. The single-file loop works in blocks
//! of records: the `ts_recv` order check of the next block (branch-free, so its loads all run in
//! parallel) comes before the delivery of the current one, which then reads cached lines. Without
//! that, each mispredicted kind branch exposed a full memory latency on the next record: 45–52 M
//! events/s without, 125–130 M/s with it, against a 235–240 M/s floor that only reads `ts_recv`
//! (`kestrel bench replay`, 10^7 and 10^8 events, one core of a 2.6 GHz Xeon VM). Progress (for a
//! caller that samples memory, say) is reported between chunks, so it costs nothing per event.

use std::num::NonZeroUsize;

use kestrel_engine::engine::{Engine, TickStrategy};
use kestrel_types::{
    Aggressor, Bar, BookOrder, BookSide, Event, Instrument, InstrumentId, LevelUpdate, OrderAction, Payload,
    Price, Qty, Quote, Timestamp, Trade,
};

use crate::error::ReplayError;
use crate::format::{FileKind, RawRecord, RecordKind, decode};
use crate::merge::{Merge, MergedTable, Source};
use crate::tick::TickFile;

/// What a replay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Events delivered to the engine.
    pub events: u64,
    /// The first event's `ts_recv`.
    pub first_recv: Option<Timestamp>,
    /// The last delivered event's `ts_recv`.
    pub last_recv: Option<Timestamp>,
}

/// Replays `files` through `engine` on this thread and returns what was delivered.
///
/// # Errors
/// [`ReplayError::BadRecord`] for a record that does not decode, [`ReplayError::MisplacedKind`]
/// for a journal record in a tick file, [`ReplayError::OutOfOrder`] when `ts_recv` goes backwards,
/// each naming the file, record index and byte offset (the events before it were delivered); with
/// several files, [`ReplayError::UnknownInstrument`] for a record outside its file's table and
/// what [`MergedTable::build`] refuses.
pub fn replay<S: TickStrategy>(
    files: &[TickFile],
    engine: &mut Engine<S>,
) -> Result<ReplayStats, ReplayError> {
    replay_with_progress(files, engine, NonZeroUsize::MAX, |_| {})
}

/// [`replay`], calling `progress` with the running totals after every `every` events and at the
/// end: a hook for callers that sample memory or print progress without touching the hot loop.
///
/// # Errors
/// As [`replay`].
pub fn replay_with_progress<S: TickStrategy>(
    files: &[TickFile],
    engine: &mut Engine<S>,
    every: NonZeroUsize,
    mut progress: impl FnMut(&ReplayStats),
) -> Result<ReplayStats, ReplayError> {
    let mut stats = ReplayStats::default();
    match files {
        [] => {}
        [file] => replay_file(file, engine, every, &mut progress, &mut stats)?,
        _ => replay_merged(files, engine, every, &mut progress, &mut stats)?,
    }
    Ok(stats)
}

/// The instrument table that replayed events index, to size the engine with
/// ([`EngineConfig::new`](kestrel_engine::engine::EngineConfig::new)`(table.len())`): one file's own
/// table, or for several files their union by (symbol, venue), as [`MergedTable`] builds it.
///
/// # Errors
/// As [`MergedTable::build`] (an instrument two files define differently).
pub fn instrument_table(files: &[TickFile]) -> Result<Vec<Instrument>, ReplayError> {
    match files {
        [file] => Ok(file.header().instruments.clone()),
        _ => {
            let sources: Vec<Source<'_>> = files.iter().map(Source::from).collect();
            Ok(MergedTable::build(&sources)?.instruments().to_vec())
        }
    }
}

fn replay_file<S: TickStrategy>(
    file: &TickFile,
    engine: &mut Engine<S>,
    every: NonZeroUsize,
    progress: &mut impl FnMut(&ReplayStats),
    stats: &mut ReplayStats,
) -> Result<(), ReplayError> {
    let records = file.records();
    let Some(first) = records.first() else { return Ok(()) };
    stats.first_recv.get_or_insert(Timestamp::from_nanos(first.ts_recv));
    let mut previous = i64::MIN;
    let mut base = 0usize;
    for chunk in records.chunks(every.get()) {
        // Blocks: block j+1's order check runs before block j is delivered. The check has no
        // branch on the loaded values, so its loads all run in parallel at memory bandwidth, and
        // a mispredicted branch in the delivery cannot cancel them (they are older); the delivery
        // then reads cached lines instead of waiting a full memory latency after each mispredict.
        let mut blocks = chunk.chunks(BLOCK).enumerate();
        let mut checked: Option<(usize, &[RawRecord])> = None;
        loop {
            let next = blocks.next().map(|(b, block)| (base + b * BLOCK, block));
            if let Some((at, block)) = next
                && !in_order(block, &mut previous)
            {
                if let Some((done, ready)) = checked {
                    deliver_block(engine, file, done, ready)?;
                }
                return Err(deliver_until_backwards(engine, file, at, block, previous));
            }
            if let Some((done, ready)) = checked {
                deliver_block(engine, file, done, ready)?;
            }
            if next.is_none() {
                break;
            }
            checked = next;
        }
        base += chunk.len();
        stats.events += chunk.len() as u64;
        stats.last_recv = Some(Timestamp::from_nanos(previous));
        progress(stats);
    }
    Ok(())
}

/// Several files through [`Merge`]: records in `(ts_recv, file index, record index)` order, their
/// instruments remapped to the merged table ([`instrument_table`]). The merge state is built once;
/// per event it is the merge step, the same decoding as one file, and the remap.
fn replay_merged<S: TickStrategy>(
    files: &[TickFile],
    engine: &mut Engine<S>,
    every: NonZeroUsize,
    progress: &mut impl FnMut(&ReplayStats),
    stats: &mut ReplayStats,
) -> Result<(), ReplayError> {
    let sources: Vec<Source<'_>> = files.iter().map(Source::from).collect();
    let table = MergedTable::build(&sources)?;
    let inputs: Vec<&[RawRecord]> = files.iter().map(TickFile::records).collect();
    let mut merge = Merge::new(&inputs);
    let mut previous = i64::MIN;
    let mut since = 0usize;
    while let Some((f, index, r)) = merge.next_indexed() {
        let Some(file) = files.get(f) else { break };
        let Some(mut ev) = decode_tick(r) else { return Err(bad_record(file, index, r)) };
        let Some(instrument) = table.map(f, r.instrument) else {
            return Err(unknown_instrument(file, index, r.instrument));
        };
        if r.ts_recv < previous {
            return Err(out_of_order(file, index, previous, r.ts_recv));
        }
        ev.instrument = instrument;
        stats.first_recv.get_or_insert(ev.ts_recv);
        previous = r.ts_recv;
        engine.on_event(&ev);
        stats.events += 1;
        since += 1;
        if since == every.get() {
            since = 0;
            stats.last_recv = Some(ev.ts_recv);
            progress(stats);
        }
    }
    if stats.events > 0 {
        stats.last_recv = Some(Timestamp::from_nanos(previous));
        if since > 0 {
            progress(stats);
        }
    }
    Ok(())
}

/// Decodes `r` and hands it to the engine; `false` when it does not decode (nothing delivered).
///
/// Trades, quotes and level updates, the bulk of any tick file, each get their own call of the inlined
/// [`Engine::on_event`] with the payload built in registers, so the engine's `match` on the payload
/// folds away and the event is never assembled in memory (where copying it back out cost a
/// store-forwarding stall per event); the other kinds share the general decoder.
#[inline(always)]
fn deliver<S: TickStrategy>(engine: &mut Engine<S>, r: &RawRecord) -> bool {
    const TRADE: u8 = RecordKind::Trade as u8;
    const QUOTE: u8 = RecordKind::Quote as u8;
    const LEVEL: u8 = RecordKind::Level as u8;
    let event = |payload| Event {
        ts_event: Timestamp::from_nanos(r.ts_event),
        ts_recv: Timestamp::from_nanos(r.ts_recv),
        instrument: InstrumentId(r.instrument),
        payload,
    };
    match r.kind {
        TRADE => {
            let aggressor = match r.flags {
                0 => Aggressor::Unknown,
                1 => Aggressor::Buy,
                2 => Aggressor::Sell,
                _ => return false,
            };
            let trade = Trade {
                price: Price::from_raw(r.a),
                size: Qty::from_raw(r.b),
                aggressor,
                trade_id: r.e as u64,
            };
            engine.on_event(&event(Payload::Trade(trade)));
        }
        QUOTE => {
            let quote = Quote {
                bid: Price::from_raw(r.a),
                bid_size: Qty::from_raw(r.b),
                ask: Price::from_raw(r.c),
                ask_size: Qty::from_raw(r.d),
            };
            engine.on_event(&event(Payload::Quote(quote)));
        }
        // The bulk of a market-by-price file: its own inlined call too (the same checks as
        // `decode_tick`: no bits above the side's two, a side of bid or ask).
        LEVEL => {
            let side = match r.flags {
                1 => BookSide::Bid,
                2 => BookSide::Ask,
                _ => return false,
            };
            let level = LevelUpdate { side, price: Price::from_raw(r.a), size: Qty::from_raw(r.b) };
            engine.on_event(&event(Payload::Level(level)));
        }
        _ => match decode_tick(r) {
            Some(ev) => engine.on_event(&ev),
            None => return false,
        },
    }
    true
}

/// Decodes a tick-file record (a market kind with valid flags) into an event, `None` for anything
/// else; the same events as [`decode`] for every market kind (checked by a test over all kind and
/// flag bytes), written as one `match` on the kind byte so the loop neither builds a `Result` nor
/// searches the kind table.
#[inline(always)]
fn decode_tick(r: &RawRecord) -> Option<Event> {
    const TRADE: u8 = RecordKind::Trade as u8;
    const QUOTE: u8 = RecordKind::Quote as u8;
    const LEVEL: u8 = RecordKind::Level as u8;
    const CLEAR: u8 = RecordKind::BookClear as u8;
    const SNAP_BEGIN: u8 = RecordKind::SnapshotBegin as u8;
    const SNAP_END: u8 = RecordKind::SnapshotEnd as u8;
    const ORDER: u8 = RecordKind::Order as u8;
    const BAR: u8 = RecordKind::Bar as u8;
    let side = |flags: u8| match flags & 3 {
        1 => Some(BookSide::Bid),
        2 => Some(BookSide::Ask),
        _ => None,
    };
    let payload = match r.kind {
        TRADE => Payload::Trade(Trade {
            price: Price::from_raw(r.a),
            size: Qty::from_raw(r.b),
            aggressor: match r.flags {
                0 => Aggressor::Unknown,
                1 => Aggressor::Buy,
                2 => Aggressor::Sell,
                _ => return None,
            },
            trade_id: r.e as u64,
        }),
        QUOTE => Payload::Quote(Quote {
            bid: Price::from_raw(r.a),
            bid_size: Qty::from_raw(r.b),
            ask: Price::from_raw(r.c),
            ask_size: Qty::from_raw(r.d),
        }),
        LEVEL if r.flags >> 2 == 0 => Payload::Level(LevelUpdate {
            side: side(r.flags)?,
            price: Price::from_raw(r.a),
            size: Qty::from_raw(r.b),
        }),
        CLEAR => Payload::BookClear,
        SNAP_BEGIN => Payload::SnapshotBegin,
        SNAP_END => Payload::SnapshotEnd,
        ORDER => Payload::Order(BookOrder {
            action: match r.flags >> 2 {
                1 => OrderAction::Add,
                2 => OrderAction::Cancel,
                3 => OrderAction::Modify,
                4 => OrderAction::Fill,
                _ => return None,
            },
            side: side(r.flags)?,
            price: Price::from_raw(r.a),
            size: Qty::from_raw(r.b),
            order_id: r.e as u64,
        }),
        BAR => Payload::Bar(Bar {
            ts: Timestamp::from_nanos(r.ts_event),
            open: Price::from_raw(r.a),
            high: Price::from_raw(r.b),
            low: Price::from_raw(r.c),
            close: Price::from_raw(r.d),
            volume: Qty::from_raw(r.e),
            open_interest: Qty::ZERO,
        }),
        _ => return None,
    };
    Some(Event {
        ts_event: Timestamp::from_nanos(r.ts_event),
        ts_recv: Timestamp::from_nanos(r.ts_recv),
        instrument: InstrumentId(r.instrument),
        payload,
    })
}

/// Why record `index` of `file` did not decode as a tick record: the general decoder's error, or
/// a journal kind where only market kinds belong.
#[cold]
#[inline(never)]
fn bad_record(file: &TickFile, index: usize, r: &RawRecord) -> ReplayError {
    let index = index as u64;
    let offset = file.offset_of(index);
    let path = file.path().to_path_buf();
    match decode(r) {
        Err(source) => ReplayError::BadRecord { path, index, offset, source },
        Ok(_) => ReplayError::MisplacedKind {
            path,
            index,
            offset,
            kind: RecordKind::try_from(r.kind).map_or("?", RecordKind::name),
            file: FileKind::Tick,
        },
    }
}

#[cold]
#[inline(never)]
fn unknown_instrument(file: &TickFile, index: usize, instrument: u16) -> ReplayError {
    let index = index as u64;
    ReplayError::UnknownInstrument {
        path: file.path().to_path_buf(),
        index,
        offset: file.offset_of(index),
        instrument,
        count: file.header().instruments.len(),
    }
}

/// Records per block of the single-file loop: 8 KiB, so that the block being delivered and the
/// one being checked stay within any L1 data cache (measured: 64 is slower, 256 no faster).
const BLOCK: usize = 128;

/// Whether `block`'s `ts_recv`s never decrease, starting from `previous`, which becomes the last
/// one when they do. Branch-free over the records, so that their loads proceed in parallel.
#[inline(always)]
fn in_order(block: &[RawRecord], previous: &mut i64) -> bool {
    let mut backwards = false;
    let mut last = *previous;
    for r in block {
        backwards |= r.ts_recv < last;
        last = r.ts_recv;
    }
    if !backwards {
        *previous = last;
    }
    !backwards
}

/// Delivers the records of `block`, which start at record `at` of `file`.
#[inline(always)]
fn deliver_block<S: TickStrategy>(
    engine: &mut Engine<S>,
    file: &TickFile,
    at: usize,
    block: &[RawRecord],
) -> Result<(), ReplayError> {
    for (k, r) in block.iter().enumerate() {
        if !deliver(engine, r) {
            return Err(bad_record(file, at + k, r));
        }
    }
    Ok(())
}

/// For a block that goes back in time: delivers its records before the first one that does (or
/// before one that does not decode) and returns that record's error, so that a replay always stops
/// exactly at its first bad record.
#[cold]
#[inline(never)]
fn deliver_until_backwards<S: TickStrategy>(
    engine: &mut Engine<S>,
    file: &TickFile,
    at: usize,
    block: &[RawRecord],
    mut previous: i64,
) -> ReplayError {
    for (k, r) in block.iter().enumerate() {
        if r.ts_recv < previous {
            return out_of_order(file, at + k, previous, r.ts_recv);
        }
        previous = r.ts_recv;
        if !deliver(engine, r) {
            return bad_record(file, at + k, r);
        }
    }
    out_of_order(file, at, previous, previous)
}

#[cold]
#[inline(never)]
fn out_of_order(file: &TickFile, index: usize, previous: i64, found: i64) -> ReplayError {
    let index = index as u64;
    ReplayError::OutOfOrder {
        path: file.path().to_path_buf(),
        index,
        offset: file.offset_of(index),
        previous,
        found,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use kestrel_engine::engine::{EngineConfig, NoopStrategy, TickContext};
    use kestrel_types::{Currency, Instrument, InstrumentSpec, VenueId};

    use super::*;
    use crate::format::encode;
    use crate::tick::TickWriter;

    fn instrument(id: u16, symbol: &str) -> Instrument {
        Instrument::try_new(
            InstrumentId(id),
            InstrumentSpec {
                symbol: symbol.into(),
                venue: VenueId(1),
                tick_size: "0.01".parse().unwrap(),
                lot_size: "1".parse().unwrap(),
                display_decimals: 2,
                multiplier: "1".parse().unwrap(),
                quote_currency: "USD".parse().unwrap(),
                settlement_currency: Currency::try_new("USD").unwrap(),
            },
        )
        .unwrap()
    }

    /// Trades, quotes, levels, clears and bars over two instruments.
    fn events(n: i64) -> Vec<Event> {
        (0..n)
            .map(|i| {
                let price = Price::from_raw(100_000_000_000 + (i % 13) * 10_000_000);
                let payload = match i % 6 {
                    0 | 3 => Payload::Trade(Trade {
                        price,
                        size: Qty::ONE,
                        aggressor: Aggressor::Sell,
                        trade_id: i as u64,
                    }),
                    1 | 4 => Payload::Quote(Quote {
                        bid: price,
                        bid_size: Qty::ONE,
                        ask: price,
                        ask_size: Qty::ONE,
                    }),
                    2 => Payload::Level(LevelUpdate { side: BookSide::Ask, price, size: Qty::ZERO }),
                    _ if i % 12 == 5 => Payload::BookClear,
                    _ => Payload::Bar(Bar {
                        ts: Timestamp::from_nanos(i * 10),
                        open: price,
                        high: price,
                        low: price,
                        close: price,
                        volume: Qty::ONE,
                        open_interest: Qty::ZERO,
                    }),
                };
                Event {
                    ts_event: Timestamp::from_nanos(i * 10),
                    ts_recv: Timestamp::from_nanos(i * 10 + 3),
                    instrument: InstrumentId(u16::try_from(i % 2).unwrap()),
                    payload,
                }
            })
            .collect()
    }

    fn write(dir: &Path, evs: &[Event]) -> TickFile {
        let path = dir.join("t.ktick");
        let mut w = TickWriter::create(&path, vec![instrument(0, "AAA"), instrument(1, "BBB")]).unwrap();
        for e in evs {
            w.push(e).unwrap();
        }
        w.finish().unwrap();
        TickFile::open(&path).unwrap()
    }

    #[derive(Default)]
    struct Recorder(Vec<Event>);

    impl TickStrategy for Recorder {
        fn on_event(&mut self, _ctx: &mut TickContext<'_>, ev: &Event) {
            self.0.push(*ev);
        }
    }

    #[test]
    fn the_strategy_sees_every_event_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let evs = events(1_000);
        let file = write(dir.path(), &evs);
        let mut engine = Engine::try_new(EngineConfig::new(2), Recorder::default()).unwrap();
        let mut reports = Vec::new();
        let stats = replay_with_progress(
            std::slice::from_ref(&file),
            &mut engine,
            NonZeroUsize::new(300).unwrap(),
            |s| {
                reports.push(s.events);
            },
        )
        .unwrap();
        assert_eq!(stats.events, 1_000);
        assert_eq!(stats.first_recv, Some(Timestamp::from_nanos(3)));
        assert_eq!(stats.last_recv, Some(Timestamp::from_nanos(9_993)));
        assert_eq!(reports, [300, 600, 900, 1_000]);
        assert_eq!(engine.counters().events, 1_000);
        assert_eq!(
            engine.market(InstrumentId(0)).unwrap().counters.trades,
            167,
            "trades are every sixth event, on instrument 0"
        );
        assert_eq!(engine.into_strategy().0, evs);
    }

    #[test]
    fn an_empty_file_and_no_file_replay_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), &[]);
        let mut engine = Engine::try_new(EngineConfig::new(2), NoopStrategy).unwrap();
        assert_eq!(replay(std::slice::from_ref(&file), &mut engine).unwrap(), ReplayStats::default());
        assert_eq!(replay(&[], &mut engine).unwrap(), ReplayStats::default());
    }

    #[test]
    fn the_fast_decoder_agrees_with_the_format_on_every_kind_and_flags_byte() {
        let ev = events(1)[0];
        let mut r = encode(&ev);
        (r.a, r.b, r.c, r.d, r.e) = (11, 22, 33, 44, 55);
        for kind in 0..=u8::MAX {
            for flags in 0..=u8::MAX {
                r.kind = kind;
                r.flags = flags;
                let general = decode(&r)
                    .ok()
                    .filter(|_| RecordKind::try_from(kind).is_ok_and(|k| !k.is_journal_only()));
                assert_eq!(decode_tick(&r), general, "kind {kind} flags {flags:#04x}");
            }
        }
    }

    fn damaged(dir: &Path, evs: &[Event], index: usize, damage: impl FnOnce(&mut RawRecord)) -> TickFile {
        let file = write(dir, evs);
        let path = file.path().to_path_buf();
        let offset = usize::try_from(file.offset_of(index as u64)).unwrap();
        drop(file);
        let mut bytes = std::fs::read(&path).unwrap();
        let r: &mut RawRecord = bytemuck::from_bytes_mut(&mut bytes[offset..offset + 64]);
        damage(r);
        let damaged = dir.join("damaged.ktick");
        std::fs::write(&damaged, &bytes).unwrap();
        TickFile::open(&damaged).unwrap()
    }

    #[test]
    fn a_bad_record_stops_the_replay_with_its_index_after_delivering_the_ones_before() {
        let dir = tempfile::tempdir().unwrap();
        let evs = events(1_000);
        type Damage = fn(&mut RawRecord);
        let cases: [(&str, Damage); 3] = [
            ("bad kind", |r| r.kind = 9),
            ("journal kind", |r| r.kind = RecordKind::Timer as u8),
            ("backwards", |r| r.ts_recv = 0),
        ];
        // In the first block, and past a block boundary (a checked block waits to be delivered).
        for bad in [40, 300, 999] {
            for (what, damage) in cases {
                let file = damaged(dir.path(), &evs, bad, damage);
                let mut engine = Engine::try_new(EngineConfig::new(2), NoopStrategy).unwrap();
                let err = replay(std::slice::from_ref(&file), &mut engine).unwrap_err();
                let at =
                    |index: u64, offset: u64| index == bad as u64 && offset == file.offset_of(bad as u64);
                let ok = match &err {
                    ReplayError::BadRecord { index, offset, .. } => what == "bad kind" && at(*index, *offset),
                    ReplayError::MisplacedKind { index, offset, kind, .. } => {
                        what == "journal kind" && *kind == "timer" && at(*index, *offset)
                    }
                    ReplayError::OutOfOrder { index, offset, found, .. } => {
                        what == "backwards" && *found == 0 && at(*index, *offset)
                    }
                    _ => false,
                };
                assert!(ok, "{what} at {bad}: {err}");
                assert_eq!(
                    engine.counters().events,
                    bad as u64,
                    "{what} at {bad}: the records before were delivered"
                );
            }
        }
    }

    fn trade_at(ts: i64, instrument: u16, price: i64) -> Event {
        Event {
            ts_event: Timestamp::from_nanos(ts),
            ts_recv: Timestamp::from_nanos(ts),
            instrument: InstrumentId(instrument),
            payload: Payload::Trade(Trade {
                price: Price::from_raw(price),
                size: Qty::ONE,
                aggressor: Aggressor::Unknown,
                trade_id: 0,
            }),
        }
    }

    fn write_named(dir: &Path, name: &str, table: Vec<Instrument>, evs: &[Event]) -> TickFile {
        let path = dir.join(name);
        let mut w = TickWriter::create(&path, table).unwrap();
        for e in evs {
            w.push(e).unwrap();
        }
        w.finish().unwrap();
        TickFile::open(&path).unwrap()
    }

    #[test]
    fn several_files_replay_merged_by_time_with_one_instrument_table() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_named(
            dir.path(),
            "a.kt",
            vec![instrument(0, "AAA"), instrument(1, "BBB")],
            &[trade_at(0, 0, 1), trade_at(20, 1, 2), trade_at(40, 0, 3)],
        );
        // File b knows BBB as its instrument 0 and adds CCC.
        let b = write_named(
            dir.path(),
            "b.kt",
            vec![instrument(0, "BBB"), instrument(1, "CCC")],
            &[trade_at(10, 0, 4), trade_at(20, 1, 5), trade_at(30, 0, 6)],
        );
        let files = [a, b];
        let table = instrument_table(&files).unwrap();
        let symbols: Vec<_> = table.iter().map(Instrument::symbol).collect();
        assert_eq!(symbols, ["AAA", "BBB", "CCC"]);
        let mut engine = Engine::try_new(EngineConfig::new(table.len()), Recorder::default()).unwrap();
        let mut reports = Vec::new();
        let stats = replay_with_progress(&files, &mut engine, NonZeroUsize::new(4).unwrap(), |s| {
            reports.push(s.events)
        })
        .unwrap();
        assert_eq!(reports, [4, 6]);
        assert_eq!(
            (stats.events, stats.first_recv, stats.last_recv),
            (6, Some(Timestamp::from_nanos(0)), Some(Timestamp::from_nanos(40)))
        );
        let seen: Vec<_> = engine
            .into_strategy()
            .0
            .iter()
            .map(|e| {
                let Payload::Trade(t) = e.payload else { panic!("{e:?}") };
                (e.ts_recv.nanos(), e.instrument.0, t.price.raw())
            })
            .collect();
        // Earliest first; the tie at 20 goes to the file given first; ids are the merged table's.
        assert_eq!(seen, [(0, 0, 1), (10, 1, 4), (20, 1, 2), (20, 2, 5), (30, 1, 6), (40, 0, 3)]);
    }
}
