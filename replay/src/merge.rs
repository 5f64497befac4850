//! The k-way merge of tick files and journals into one time-ordered stream (ARCHITECTURE.md §7,
//! hftbacktest's `EventSet`): the earliest `ts_recv` wins; ties go to the file given first, then to
//! the record that comes first in its file. The output is a function of the inputs alone: two runs
//! on the same files give the same sequence, whatever the machine.
//!
//! [`Merge`] yields `(file index, &RawRecord)` straight from the inputs (the mapping, for tick
//! files) and [`MergedEvents`] decodes those records into [`Event`]s whose instrument is remapped
//! into one merged table ([`MergedTable`]): the union of the files' tables by (symbol, venue), in
//! first-seen order.
//!
//! # Invariants
//! - Within each input, records come out in input order: the merge only ever looks at each
//!   input's next record (its head). With inputs whose `ts_recv` never decreases (what
//!   [`TickFile::validate`] and [`Journal::open`] guarantee), the output is exactly a stable sort
//!   of all records by `(ts_recv, file index, record index)`; with an unsorted input it is still
//!   deterministic, but not sorted.
//! - No allocation per record: the heads are a fixed array of keys built once.
//!
//! # Performance
//! Each head is one `u128` key, `ts_recv` (order-preserving as unsigned) in the high half and the
//! file index in the low half, so the smaller key is the winner, ties broken by file, in one integer
//! comparison. Two ways to find the winner ([`Strategy`]):
//! - [`Strategy::Linear`] keeps the winner and the runner-up's key. The winner keeps winning while
//!   its next key is below the runner-up's (one well-predicted comparison per record in a burst);
//!   otherwise the runner-up wins, and a branch-free scan of the k keys finds the next runner-up.
//!   The point is that the next file to read is known before the record just advanced to has
//!   arrived from memory. A plain branch-free minimum over all heads made every step wait for the
//!   previous step's load (the winner depended on it through conditional moves), so the merge ran
//!   at memory latency whenever the inputs alternated regularly: 33–36 ns per record for two
//!   round-robin inputs, against 9–12 for the heap and 5–10 for this scan in the same runs.
//! - [`Strategy::Heap`]: a binary min-heap of keys, replaced at the top and sifted down: log₂ k
//!   comparisons per record, as branches.
//!
//! Measured on 1 000 000 records split over k inputs (the best of 21 alternating runs on a shared
//! 2-core VM, where figures move by up to a third between sessions; `bench/benches/replay.rs`
//! `replay_merge_k` measures the same), in ns per record, linear / heap:
//!
//! | k | round-robin | random | bursts of 1–15 records |
//! |---|---|---|---|
//! | 2 | 10.2 / 9.6 | 10.1 / 10.3 | 3.8 / 4.3 |
//! | 4 | 8.2 / 6.5 | 14.2 / 13.5 | 5.4 / 6.0 |
//! | 6 | 7.4 / 6.4 | 16.4 / 16.1 | 6.1 / 6.9 |
//! | 8 | 8.6 / 8.2 | 19.8 / 17.5 | 6.7 / 7.0 |
//! | 16 | 13.2 / 18.2 | 33.4 / 22.0 | 9.5 / 8.3 |
//!
//! Up to 6 inputs the two are within 10–25 % of each other either way: the heap a little ahead when
//! inputs alternate regularly, the linear scan ahead on bursts, which is how venues deliver. From 8
//! inputs on, the heap wins clearly on random interleavings. [`Strategy::Auto`] therefore scans
//! linearly up to [`LINEAR_MAX`] = 6 inputs. Random interleaving is the costly case for both:
//! which input wins is unpredictable, and mispredicted branches dominate the comparisons.
//!
//! A journal of several segments merges as consecutive inputs, one per segment: `ts_recv` does not
//! decrease across segments, and ties between segments go to the earlier one, which is the
//! journal's own order.
//!
//! [`TickFile::validate`]: crate::tick::TickFile::validate
//! [`Journal::open`]: crate::journal::Journal::open

use std::collections::BTreeMap;
use std::path::Path;

use kestrel_types::{Event, Instrument, InstrumentId, InstrumentSpec};

use crate::error::ReplayError;
use crate::format::{RECORD_SIZE, RawRecord, decode};
use crate::journal::Journal;
use crate::tick::TickFile;

/// Up to this many inputs, [`Strategy::Auto`] scans the heads linearly; above it, it uses a heap.
/// Set from measurements (module docs, `bench/benches/replay.rs`).
pub const LINEAR_MAX: usize = 6;

/// How [`Merge`] finds the earliest head. Every strategy gives the same output; only the speed
/// differs, which is why the choice is exposed (benches compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// [`Strategy::Linear`] for up to [`LINEAR_MAX`] inputs, else [`Strategy::Heap`].
    Auto,
    /// The winner keeps winning while its next record is before the runner-up; when it is not,
    /// the runner-up wins and a branch-free scan of all k heads finds the next runner-up: O(1) per
    /// record in runs, O(k) at a switch. Best for few inputs.
    Linear,
    /// A binary min-heap of heads: O(log k), best for many inputs.
    Heap,
}

/// The merge key of a head in the heap: `ts_recv` made unsigned with its order kept (flip the sign
/// bit) in the high 64 bits, the file index in the low 64 bits. Comparing keys compares
/// `(ts_recv, file)`, and no two heads have the same key.
fn key(ts_recv: i64, file: usize) -> u128 {
    let ts = (ts_recv as u64) ^ (1 << 63);
    (u128::from(ts) << 64) | file as u128
}

/// The file index in a key's low half.
fn file_of(key: u128) -> usize {
    key as u64 as usize
}

/// The key of an exhausted input: larger than every live key, whose low half is a file index.
const EXHAUSTED: u128 = u128::MAX;

/// The smallest key among `keys` other than `keys[skip]`: the runner-up once `skip` has won. A
/// reduction written as selects, so that it compiles to conditional moves.
#[inline]
fn min_except(keys: &[u128], skip: usize) -> u128 {
    keys.iter().enumerate().fold(EXHAUSTED, |m, (j, &k)| m.min(if j == skip { EXHAUSTED } else { k }))
}

/// Moves `heap[i]` down to its place in a min-heap.
fn sift_down(heap: &mut [u128], mut i: usize) {
    let Some(&x) = heap.get(i) else { return };
    let n = heap.len();
    loop {
        let left = 2 * i + 1;
        if left >= n {
            break;
        }
        let right = left + 1;
        let child = if right < n && heap[right] < heap[left] { right } else { left };
        if heap[child] >= x {
            break;
        }
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = x;
}

/// The k-way merge of record slices: an iterator of `(file index, &RawRecord)` in
/// `(ts_recv, file index, record index)` order (module docs). Borrowing the slices means that
/// nothing is copied: the records come straight from the tick files' mappings.
#[derive(Clone, Debug)]
pub struct Merge<'a> {
    /// Each input's records not yet yielded.
    rest: Vec<&'a [RawRecord]>,
    /// Each input's length, to turn `rest` back into record indices.
    lens: Vec<usize>,
    /// Linear: each input's head key ([`EXHAUSTED`] when done), by file.
    keys: Vec<u128>,
    /// Linear: the input whose head is the earliest.
    winner: usize,
    /// Linear: the earliest key among the other inputs (the runner-up).
    second: u128,
    /// Heap: the live inputs' keys, a min-heap.
    heap: Vec<u128>,
    strategy: Strategy,
    remaining: usize,
}

impl<'a> Merge<'a> {
    /// Merges `inputs` (file index = position in the slice) with [`Strategy::Auto`].
    pub fn new(inputs: &[&'a [RawRecord]]) -> Self {
        Self::with_strategy(inputs, Strategy::Auto)
    }

    /// Merges `inputs` finding the earliest head with `strategy` ([`Strategy::Auto`] is resolved
    /// here, from the number of inputs).
    pub fn with_strategy(inputs: &[&'a [RawRecord]], strategy: Strategy) -> Self {
        let strategy = match strategy {
            Strategy::Auto if inputs.len() <= LINEAR_MAX => Strategy::Linear,
            Strategy::Auto => Strategy::Heap,
            s => s,
        };
        let (keys, heap) = match strategy {
            Strategy::Heap => {
                let mut heap: Vec<u128> = inputs
                    .iter()
                    .enumerate()
                    .filter_map(|(file, records)| records.first().map(|r| key(r.ts_recv, file)))
                    .collect();
                for i in (0..heap.len() / 2).rev() {
                    sift_down(&mut heap, i);
                }
                (Vec::new(), heap)
            }
            _ => {
                let keys = inputs
                    .iter()
                    .enumerate()
                    .map(|(file, records)| records.first().map_or(EXHAUSTED, |r| key(r.ts_recv, file)))
                    .collect();
                (keys, Vec::new())
            }
        };
        let first = keys.iter().copied().min().unwrap_or(EXHAUSTED);
        let winner = if first == EXHAUSTED { 0 } else { file_of(first) };
        Self {
            rest: inputs.to_vec(),
            lens: inputs.iter().map(|r| r.len()).collect(),
            second: min_except(&keys, winner),
            winner,
            keys,
            heap,
            strategy,
            remaining: inputs.iter().map(|r| r.len()).sum(),
        }
    }

    /// The strategy in use ([`Strategy::Auto`] resolved).
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Records not yet yielded.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next record with its file index and its index in that file (for error messages and
    /// offsets); [`Iterator::next`] drops the record index.
    #[inline]
    pub fn next_indexed(&mut self) -> Option<(usize, usize, &'a RawRecord)> {
        if self.remaining == 0 {
            return None;
        }
        let file = match self.strategy {
            Strategy::Heap => file_of(*self.heap.first()?),
            _ => self.winner,
        };
        let rest = self.rest.get_mut(file)?;
        let (record, tail) = rest.split_first()?;
        *rest = tail;
        match self.strategy {
            Strategy::Heap => match tail.first() {
                Some(r) => {
                    self.heap[0] = key(r.ts_recv, file);
                    sift_down(&mut self.heap, 0);
                }
                None => {
                    let last = self.heap.pop()?;
                    if !self.heap.is_empty() {
                        self.heap[0] = last;
                        sift_down(&mut self.heap, 0);
                    }
                }
            },
            _ => {
                let next = tail.first().map_or(EXHAUSTED, |r| key(r.ts_recv, file));
                self.keys[file] = next;
                if next > self.second {
                    // The runner-up wins next: the file to read is known without waiting for the
                    // load of `next` (module docs); only the new runner-up needs the scan.
                    self.winner = file_of(self.second);
                    self.second = min_except(&self.keys, self.winner);
                }
            }
        }
        self.remaining -= 1;
        let index = self.lens[file] - tail.len() - 1;
        Some((file, index, record))
    }
}

impl<'a> Iterator for Merge<'a> {
    type Item = (usize, &'a RawRecord);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_indexed().map(|(file, _, record)| (file, record))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Merge<'_> {}

/// One input of [`MergedEvents`]: its records, its instrument table, and where it came from (so
/// that an error names the file, the record index and its byte offset).
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The file, for error messages.
    pub path: &'a Path,
    /// The records, in file order.
    pub records: &'a [RawRecord],
    /// The table the records' `instrument` fields index.
    pub instruments: &'a [Instrument],
    /// The byte offset of record 0 in the file (the header's length).
    pub first_offset: u64,
}

impl<'a> From<&'a TickFile> for Source<'a> {
    /// The tick file's mapped records (validate it first for the order guarantee).
    fn from(f: &'a TickFile) -> Self {
        Self {
            path: f.path(),
            records: f.records(),
            instruments: &f.header().instruments,
            first_offset: f.offset_of(0),
        }
    }
}

impl<'a> From<&'a Journal> for Source<'a> {
    /// The journal segment's good records.
    fn from(j: &'a Journal) -> Self {
        Self {
            path: j.path(),
            records: j.records(),
            instruments: j.instruments(),
            first_offset: j.offset_of(0),
        }
    }
}

/// An instrument's specification, to rebuild it under another id or compare it ignoring ids.
fn spec_of(i: &Instrument) -> InstrumentSpec {
    InstrumentSpec {
        symbol: i.symbol().to_owned(),
        venue: i.venue(),
        tick_size: i.tick_size(),
        lot_size: i.lot_size(),
        display_decimals: i.display_decimals(),
        multiplier: i.multiplier(),
        quote_currency: i.quote_currency(),
        settlement_currency: i.settlement_currency(),
    }
}

/// The union of several files' instrument tables by (symbol, venue), in first-seen order (file 0's
/// table, then each later file's new instruments), and each file's map from its own indices into
/// it. A strategy sees one id per instrument whichever file an event came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergedTable {
    instruments: Vec<Instrument>,
    /// `map[starts[file] + local]` is the merged id of `file`'s instrument `local`.
    starts: Vec<usize>,
    map: Vec<u16>,
}

impl MergedTable {
    /// Builds the union of `sources`' tables.
    ///
    /// # Errors
    /// [`ReplayError::InstrumentConflict`] when two files hold the same (symbol, venue) with
    /// different specifications; [`ReplayError::Table`] when the union exceeds 65 536 instruments.
    pub fn build(sources: &[Source<'_>]) -> Result<Self, ReplayError> {
        let mut by_name: BTreeMap<(&str, u8), (u16, usize)> = BTreeMap::new();
        let mut instruments: Vec<Instrument> = Vec::new();
        let mut starts = Vec::with_capacity(sources.len());
        let mut map = Vec::new();
        for (file, src) in sources.iter().enumerate() {
            starts.push(map.len());
            for (local, ins) in src.instruments.iter().enumerate() {
                let name = (ins.symbol(), ins.venue().0);
                if let Some(&(id, origin)) = by_name.get(&name) {
                    let same = instruments.get(usize::from(id)).is_some_and(|m| spec_of(m) == spec_of(ins));
                    if !same {
                        return Err(ReplayError::InstrumentConflict {
                            path: src.path.to_path_buf(),
                            instrument: u16::try_from(local).unwrap_or(u16::MAX),
                            symbol: ins.symbol().to_owned(),
                            first: sources
                                .get(origin)
                                .map_or_else(Default::default, |s| s.path.to_path_buf()),
                        });
                    }
                    map.push(id);
                    continue;
                }
                let too_many = || ReplayError::Table {
                    path: src.path.to_path_buf(),
                    reason: "the merged instrument table exceeds 65536 instruments".to_owned(),
                };
                let id = u16::try_from(instruments.len()).map_err(|_| too_many())?;
                let merged = Instrument::try_new(InstrumentId(id), spec_of(ins)).map_err(|e| {
                    ReplayError::Table { path: src.path.to_path_buf(), reason: e.to_string() }
                })?;
                instruments.push(merged);
                by_name.insert(name, (id, file));
                map.push(id);
            }
        }
        Ok(Self { instruments, starts, map })
    }

    /// The merged table: merged event `instrument` fields index it.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// The merged id of instrument `local` of file `file`, if the file's table has it.
    #[inline]
    pub fn map(&self, file: usize, local: u16) -> Option<InstrumentId> {
        let start = *self.starts.get(file)?;
        let end = self.starts.get(file + 1).copied().unwrap_or(self.map.len());
        let at = start + usize::from(local);
        if at >= end {
            return None;
        }
        self.map.get(at).map(|&id| InstrumentId(id))
    }
}

/// The merge of several files decoded into [`Event`]s on the merged instrument table: what a
/// replayer feeds the engine. After an error (a record that does not decode, or an instrument
/// outside its file's table) the iterator ends, so a replay never runs past a bad record.
#[derive(Clone, Debug)]
pub struct MergedEvents<'a> {
    merge: Merge<'a>,
    sources: Vec<Source<'a>>,
    table: MergedTable,
    failed: bool,
}

impl<'a> MergedEvents<'a> {
    /// Merges `sources` (file index = position) with [`Strategy::Auto`].
    ///
    /// # Errors
    /// As [`MergedTable::build`].
    pub fn new(sources: Vec<Source<'a>>) -> Result<Self, ReplayError> {
        Self::with_strategy(sources, Strategy::Auto)
    }

    /// Merges `sources` with `strategy`.
    ///
    /// # Errors
    /// As [`MergedTable::build`].
    pub fn with_strategy(sources: Vec<Source<'a>>, strategy: Strategy) -> Result<Self, ReplayError> {
        let table = MergedTable::build(&sources)?;
        let inputs: Vec<&'a [RawRecord]> = sources.iter().map(|s| s.records).collect();
        Ok(Self { merge: Merge::with_strategy(&inputs, strategy), sources, table, failed: false })
    }

    /// The merged table the events' instruments index.
    pub fn table(&self) -> &MergedTable {
        &self.table
    }

    /// The next event with the index of the file it came from.
    ///
    /// # Errors
    /// [`ReplayError::BadRecord`] or [`ReplayError::UnknownInstrument`] naming the file, the record
    /// index and its byte offset; the merge then ends.
    #[inline]
    pub fn next_with_file(&mut self) -> Option<Result<(usize, Event), ReplayError>> {
        if self.failed {
            return None;
        }
        let (file, index, record) = self.merge.next_indexed()?;
        let place = |s: &Source<'_>| {
            (s.path.to_path_buf(), index as u64, s.first_offset + (index * RECORD_SIZE) as u64)
        };
        let result = match decode(record) {
            Ok(mut ev) => match self.table.map(file, record.instrument) {
                Some(id) => {
                    ev.instrument = id;
                    Ok((file, ev))
                }
                None => {
                    let src = self.sources.get(file)?;
                    let (path, index, offset) = place(src);
                    Err(ReplayError::UnknownInstrument {
                        path,
                        index,
                        offset,
                        instrument: record.instrument,
                        count: src.instruments.len(),
                    })
                }
            },
            Err(source) => {
                let (path, index, offset) = place(self.sources.get(file)?);
                Err(ReplayError::BadRecord { path, index, offset, source })
            }
        };
        self.failed = result.is_err();
        Some(result)
    }
}

impl Iterator for MergedEvents<'_> {
    type Item = Result<Event, ReplayError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_with_file().map(|r| r.map(|(_, ev)| ev))
    }
}

#[cfg(test)]
mod tests {
    use kestrel_types::{Aggressor, Currency, Payload, Price, Qty, Timestamp, Trade, VenueId};
    use proptest::prelude::*;
    use proptest::strategy::Strategy as _;

    use super::Strategy;
    use super::*;
    use crate::format::encode;
    use crate::journal::JournalWriter;
    use crate::tick::TickWriter;

    fn record(ts: i64, file: usize, index: usize) -> RawRecord {
        RawRecord { ts_recv: ts, a: file as i64, b: index as i64, kind: 4, ..RawRecord::default() }
    }

    /// Files of records with the given `ts_recv`s, each record tagged with its (file, index).
    fn files(ts: &[Vec<i64>]) -> Vec<Vec<RawRecord>> {
        ts.iter()
            .enumerate()
            .map(|(f, t)| t.iter().enumerate().map(|(i, &ts)| record(ts, f, i)).collect())
            .collect()
    }

    fn expected(files: &[Vec<RawRecord>]) -> Vec<(usize, usize)> {
        let mut all: Vec<(i64, usize, usize)> = files
            .iter()
            .enumerate()
            .flat_map(|(f, rs)| rs.iter().enumerate().map(move |(i, r)| (r.ts_recv, f, i)))
            .collect();
        // A stable sort by ts_recv alone: the input is already in (file, index) order.
        all.sort_by_key(|(ts, _, _)| *ts);
        all.into_iter().map(|(_, f, i)| (f, i)).collect()
    }

    fn run(files: &[Vec<RawRecord>], strategy: Strategy) -> Vec<(usize, usize)> {
        let inputs: Vec<&[RawRecord]> = files.iter().map(Vec::as_slice).collect();
        let mut m = Merge::with_strategy(&inputs, strategy);
        let mut out = Vec::new();
        while let Some((f, i, r)) = m.next_indexed() {
            // The tag proves the reference is the record at (f, i).
            assert_eq!((r.a, r.b), (f as i64, i as i64));
            out.push((f, i));
        }
        assert_eq!(m.remaining(), 0);
        out
    }

    fn sorted_ts() -> impl proptest::strategy::Strategy<Value = Vec<i64>> {
        // Steps of 0..3 from a start near the extremes or zero: many ties, signs, and records at
        // exactly i64::MAX (the linear scan's exhausted marker).
        (
            prop_oneof![Just(i64::MIN), Just(-5i64), Just(0i64), Just(i64::MAX - 20)],
            prop::collection::vec(0i64..3, 0..40),
        )
            .prop_map(|(start, steps)| {
                steps
                    .iter()
                    .scan(start, |t, s| {
                        *t = t.saturating_add(*s);
                        Some(*t)
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn merge_is_a_stable_sort_and_deterministic(ts in prop::collection::vec(sorted_ts(), 1..=6)) {
            let files = files(&ts);
            let want = expected(&files);
            for strategy in [Strategy::Auto, Strategy::Linear, Strategy::Heap] {
                let first = run(&files, strategy);
                prop_assert_eq!(&first, &want);
                prop_assert_eq!(run(&files, strategy), first);
            }
        }
    }

    #[test]
    fn many_inputs_use_the_heap_and_agree() {
        let ts: Vec<Vec<i64>> = (0..20).map(|f| (0..50).map(|i| (i * 7 + f * 3) / 5).collect()).collect();
        let files = files(&ts);
        let inputs: Vec<&[RawRecord]> = files.iter().map(Vec::as_slice).collect();
        assert_eq!(Merge::new(&inputs).strategy(), Strategy::Heap);
        assert_eq!(Merge::new(&inputs[..LINEAR_MAX]).strategy(), Strategy::Linear);
        assert_eq!(run(&files, Strategy::Heap), expected(&files));
        assert_eq!(run(&files, Strategy::Linear), expected(&files));
        assert_eq!(Merge::new(&inputs).len(), 1000);
    }

    #[test]
    fn records_at_the_end_of_time_are_not_taken_for_exhausted_inputs() {
        let files = files(&[vec![i64::MAX], vec![i64::MAX, i64::MAX], vec![], vec![5]]);
        for strategy in [Strategy::Linear, Strategy::Heap] {
            assert_eq!(run(&files, strategy), [(3, 0), (0, 0), (1, 0), (1, 1)]);
        }
    }

    #[test]
    fn empty_inputs_merge_to_nothing() {
        assert_eq!(Merge::new(&[]).next(), None);
        let empty: &[RawRecord] = &[];
        assert_eq!(Merge::with_strategy(&[empty, empty], Strategy::Heap).next(), None);
        assert_eq!(Merge::with_strategy(&[empty, empty], Strategy::Linear).next(), None);
    }

    fn instrument(symbol: &str, venue: u8, tick: &str) -> Instrument {
        Instrument::try_new(
            InstrumentId(0),
            InstrumentSpec {
                symbol: symbol.into(),
                venue: VenueId(venue),
                tick_size: tick.parse().unwrap(),
                lot_size: Qty::ONE,
                display_decimals: 2,
                multiplier: "1".parse().unwrap(),
                quote_currency: Currency::USD,
                settlement_currency: Currency::USD,
            },
        )
        .unwrap()
    }

    fn trade(ts: i64, instrument: u16, id: u64) -> Event {
        Event {
            ts_event: Timestamp::from_nanos(ts),
            ts_recv: Timestamp::from_nanos(ts),
            instrument: InstrumentId(instrument),
            payload: Payload::Trade(Trade {
                price: Price::ONE,
                size: Qty::ONE,
                aggressor: Aggressor::Unknown,
                trade_id: id,
            }),
        }
    }

    fn tick_file(dir: &Path, name: &str, table: Vec<Instrument>, evs: &[Event]) -> TickFile {
        let path = dir.join(name);
        let mut w = TickWriter::create(&path, table).unwrap();
        for e in evs {
            w.push(e).unwrap();
        }
        w.finish().unwrap();
        let f = TickFile::open(&path).unwrap();
        f.validate().unwrap();
        f
    }

    #[test]
    fn events_are_remapped_into_the_union_table() {
        let dir = tempfile::tempdir().unwrap();
        let (x, y, z) = (instrument("X", 1, "0.01"), instrument("Y", 1, "0.01"), instrument("Z", 1, "0.01"));
        // The same symbol on another venue is another instrument.
        let y2 = instrument("Y", 2, "0.01");
        let a = tick_file(dir.path(), "a.kt", vec![x.clone(), y.clone()], &[trade(1, 0, 1), trade(3, 1, 2)]);
        let b =
            tick_file(dir.path(), "b.kt", vec![y, z, y2], &[trade(1, 0, 3), trade(2, 1, 4), trade(3, 2, 5)]);
        let merged = MergedEvents::new(vec![Source::from(&a), Source::from(&b)]).unwrap();
        let names: Vec<(String, u8, u16)> = merged
            .table()
            .instruments()
            .iter()
            .map(|i| (i.symbol().to_owned(), i.venue().0, i.id().0))
            .collect();
        assert_eq!(names, [("X".into(), 1, 0), ("Y".into(), 1, 1), ("Z".into(), 1, 2), ("Y".into(), 2, 3)]);
        let got: Vec<(u64, u16)> = merged
            .map(|e| {
                let e = e.unwrap();
                let Payload::Trade(t) = e.payload else { panic!("{e:?}") };
                (t.trade_id, e.instrument.0)
            })
            .collect();
        // ts 1: a then b (file order); ts 2: b; ts 3: a then b.
        assert_eq!(got, [(1, 0), (3, 1), (4, 2), (2, 1), (5, 3)]);
    }

    #[test]
    fn conflicting_specs_are_refused_with_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = tick_file(dir.path(), "a.kt", vec![instrument("X", 1, "0.01")], &[]);
        let b = tick_file(dir.path(), "b.kt", vec![instrument("X", 1, "0.05")], &[]);
        let e = MergedEvents::new(vec![Source::from(&a), Source::from(&b)]).unwrap_err();
        assert!(matches!(&e, ReplayError::InstrumentConflict { instrument: 0, symbol, .. } if symbol == "X"));
        let text = e.to_string();
        assert!(text.contains("b.kt") && text.contains("a.kt"), "{text}");
    }

    #[test]
    fn a_bad_record_is_an_error_with_its_place_and_ends_the_merge() {
        let table = [instrument("X", 1, "0.01")];
        let mut bad = encode(&trade(2, 0, 2));
        bad.instrument = 5;
        let records = [encode(&trade(1, 0, 1)), bad, encode(&trade(3, 0, 3))];
        let src =
            Source { path: Path::new("x.kt"), records: &records, instruments: &table, first_offset: 192 };
        let mut m = MergedEvents::new(vec![src]).unwrap();
        assert!(m.next().unwrap().is_ok());
        let e = m.next().unwrap().unwrap_err();
        assert!(
            matches!(e, ReplayError::UnknownInstrument { index: 1, offset: 256, instrument: 5, .. }),
            "{e}"
        );
        assert!(m.next().is_none());

        let mut undecodable = encode(&trade(1, 0, 1));
        undecodable.kind = 99;
        let records = [undecodable];
        let src =
            Source { path: Path::new("y.kt"), records: &records, instruments: &table, first_offset: 192 };
        let e = MergedEvents::new(vec![src]).unwrap().next().unwrap().unwrap_err();
        assert!(matches!(e, ReplayError::BadRecord { index: 0, offset: 192, .. }), "{e}");
    }

    #[test]
    fn journals_merge_with_tick_files() {
        let dir = tempfile::tempdir().unwrap();
        let x = instrument("X", 1, "0.01");
        let t = tick_file(dir.path(), "a.kt", vec![x.clone()], &[trade(1, 0, 1), trade(5, 0, 2)]);
        let base = dir.path().join("live");
        let mut w = JournalWriter::create(&base, vec![x]).unwrap();
        w.append(&trade(1, 0, 10)).unwrap();
        w.append(&Event { payload: Payload::Timer { id: 7 }, ..trade(2, 0, 0) }).unwrap();
        w.sync().unwrap();
        let j = Journal::open(crate::journal::segment_path(&base, 1)).unwrap();
        let got: Vec<i64> = MergedEvents::new(vec![Source::from(&t), Source::from(&j)])
            .unwrap()
            .map(|e| e.unwrap().ts_recv.nanos())
            .collect();
        assert_eq!(got, [1, 1, 2, 5]);
    }
}
