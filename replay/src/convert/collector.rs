//! `Collector`: where readers put what they read; it infers the instrument table, counts, checks
//! order, and writes the tick file.
//!
//! Records are spooled to a temporary file beside the output as they come (memory stays constant
//! whatever the input's size), after the same checks [`TickWriter::push_raw`] makes (order,
//! instrument, kind); [`Collector::finish`] then writes the tick file with the instrument table
//! that is only known at the end (the finest decimals seen), through [`TickWriter`]'s
//! temp-fsync-rename, moving the spooled records in one in-kernel copy
//! ([`TickWriter::append_validated_from`]) rather than reading them back one by one.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use kestrel_types::{
    Currency, Event, Instrument, InstrumentId, InstrumentSpec, Payload, Price, Qty, Ratio, Timestamp, VenueId,
};

use super::{ConvertError, RowError};
use crate::error::ReplayError;
use crate::format::{FileKind, RecordKind, encode};
use crate::tick::TickWriter;

/// What the user says about the instrument (`--instrument tick=0.01,lot=0.001,decimals=2,…`);
/// anything left `None` is taken from the input or inferred.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstrumentHint {
    /// Symbol to use (overrides the input's).
    pub symbol: Option<String>,
    /// Tick size.
    pub tick_size: Option<Price>,
    /// Lot size.
    pub lot_size: Option<Qty>,
    /// Display decimals.
    pub display_decimals: Option<u8>,
    /// Contract multiplier.
    pub multiplier: Option<Ratio>,
    /// Quote (and settlement) currency.
    pub currency: Option<Currency>,
}

impl std::str::FromStr for InstrumentHint {
    type Err = String;

    /// Parses `key=value` pairs separated by commas: `symbol`, `tick`, `lot`, `decimals`, `mult`,
    /// `currency`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut h = Self::default();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("{part:?}: expected key=value"))?;
            let (k, v) = (k.trim(), v.trim());
            let bad = |e: &dyn std::fmt::Display| format!("{k}={v}: {e}");
            match k {
                "symbol" => h.symbol = Some(v.to_owned()),
                "tick" => h.tick_size = Some(v.parse().map_err(|e| bad(&e))?),
                "lot" => h.lot_size = Some(v.parse().map_err(|e| bad(&e))?),
                "decimals" => h.display_decimals = Some(v.parse().map_err(|e| bad(&e))?),
                "mult" | "multiplier" => h.multiplier = Some(v.parse().map_err(|e| bad(&e))?),
                "currency" => h.currency = Some(v.parse().map_err(|e| bad(&e))?),
                _ => return Err(format!("unknown key {k:?} (symbol, tick, lot, decimals, mult, currency)")),
            }
        }
        Ok(h)
    }
}

/// Options of a conversion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// What the user says about the instrument.
    pub instrument: InstrumentHint,
    /// Skip malformed rows (counted, first examples kept) instead of failing on the first.
    pub skip_malformed: bool,
    /// `generic-csv` parameters as `key=value,...` (backtrader's `GenericCSVData` params); `None`
    /// falls back to `$KESTREL_GENERIC_CSV`, then to backtrader's defaults.
    pub generic_csv: Option<String>,
}

/// One instrument as the collector learns it.
#[derive(Clone, Debug)]
struct Slot {
    symbol: String,
    venue: VenueId,
    /// From the input itself (DBN definitions, say).
    defined: Option<InstrumentSpec>,
    price_decimals: u8,
    qty_decimals: u8,
}

/// What a conversion did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Input rows (or records) read.
    pub rows_in: u64,
    /// Records written.
    pub records_out: u64,
    /// Malformed rows skipped (with `skip_malformed`).
    pub skipped: u64,
    /// The first skipped rows, for the summary.
    pub examples: Vec<RowError>,
    /// Prices off the instrument's tick grid (only counted when the tick was given or defined).
    pub off_grid: u64,
    /// First `ts_recv` written.
    pub first: Option<Timestamp>,
    /// Last `ts_recv` written.
    pub last: Option<Timestamp>,
    /// The instrument table written, and for each whether its tick/lot were inferred from the data.
    pub instruments: Vec<(Instrument, bool)>,
}

/// A reader that adds the bytes it reads to its collector's progress counter: how `kestrel
/// convert` shows bytes done and an ETA for any reader.
#[derive(Debug)]
pub struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// A progress callback: (rows read, input bytes read).
pub struct Progress(Box<dyn FnMut(u64, u64)>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// Collects a conversion's events and writes the tick file.
#[derive(Debug)]
pub struct Collector {
    bytes: Rc<Cell<u64>>,
    progress: Option<Progress>,
    opts: ConvertOptions,
    output: PathBuf,
    spool_path: PathBuf,
    spool: Option<BufWriter<File>>,
    slots: Vec<Slot>,
    file: PathBuf,
    last_recv: i64,
    /// The first journal-only record pushed (index, kind name): refused at [`Collector::finish`],
    /// as [`TickWriter::push_raw`] would refuse it, since the spool is not re-checked.
    misplaced: Option<(u64, &'static str)>,
    summary: Summary,
}

/// Decimal places a nano-unit raw value needs (0..=9).
fn decimals(raw: i64) -> u8 {
    if raw == 0 {
        return 0;
    }
    let mut r = raw;
    let mut d = 9u8;
    while d > 0 && r % 10 == 0 {
        r /= 10;
        d -= 1;
    }
    d
}

/// Whether `raw` needs at most `d` decimal places: one remainder by a constant. `push` asks this
/// of every price and size against the finest decimals seen so far, which almost always holds, so
/// [`decimals`]' digit loop runs only when an instrument's decimals actually grow.
const fn within(raw: i64, d: u8) -> bool {
    match d {
        0 => raw % 1_000_000_000 == 0,
        1 => raw % 100_000_000 == 0,
        2 => raw % 10_000_000 == 0,
        3 => raw % 1_000_000 == 0,
        4 => raw % 100_000 == 0,
        5 => raw % 10_000 == 0,
        6 => raw % 1_000 == 0,
        7 => raw % 100 == 0,
        8 => raw % 10 == 0,
        _ => true,
    }
}

fn pow10_raw(decimals: u8) -> i64 {
    // 10^(9 - decimals) nano-units.
    let mut v: i64 = 1;
    for _ in 0..(9 - decimals.min(9)) {
        v *= 10;
    }
    v
}

impl Collector {
    /// A collector writing to `output` (a spool file is kept beside it until [`Collector::finish`]).
    ///
    /// # Errors
    /// [`ConvertError::Io`] when the spool cannot be created.
    pub fn new(output: impl AsRef<Path>, opts: ConvertOptions) -> Result<Self, ConvertError> {
        let output = output.as_ref().to_path_buf();
        let mut spool_path = output.clone().into_os_string();
        spool_path.push(format!(".spool-{}", std::process::id()));
        let spool_path = PathBuf::from(spool_path);
        let f = File::create(&spool_path)
            .map_err(|source| ConvertError::Io { path: spool_path.clone(), source })?;
        Ok(Self {
            bytes: Rc::new(Cell::new(0)),
            progress: None,
            opts,
            output,
            spool_path,
            spool: Some(BufWriter::with_capacity(1 << 20, f)),
            slots: Vec::new(),
            file: PathBuf::new(),
            last_recv: i64::MIN,
            misplaced: None,
            summary: Summary::default(),
        })
    }

    /// Sets the input file that rows and errors refer to.
    pub fn set_file(&mut self, path: &Path) {
        self.file = path.to_path_buf();
    }

    /// The input file being read.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// A malformed-row error for `line` of the current file.
    pub fn row_error(&self, line: u64, reason: impl Into<String>) -> RowError {
        RowError { file: self.file.clone(), line, reason: reason.into() }
    }

    /// The `generic-csv` parameters given on the command line, if any.
    pub fn generic_csv(&self) -> Option<&str> {
        self.opts.generic_csv.as_deref()
    }

    /// Whether malformed rows are skipped rather than fatal.
    pub fn skips_malformed(&self) -> bool {
        self.opts.skip_malformed
    }

    /// The id of the instrument `symbol` at `venue`, added to the table on first sight. A
    /// `--instrument symbol=` overrides the input's symbol for single-instrument inputs.
    pub fn instrument(&mut self, symbol: &str, venue: VenueId) -> InstrumentId {
        let symbol = match (&self.opts.instrument.symbol, self.slots.len()) {
            (Some(s), 0) => s.as_str(),
            (Some(_), _) => self.slots[0].symbol.as_str(),
            (None, _) => symbol,
        }
        .to_owned();
        if let Some(i) = self.slots.iter().position(|s| s.symbol == symbol && s.venue == venue) {
            return InstrumentId(u16::try_from(i).unwrap_or(u16::MAX));
        }
        self.slots.push(Slot { symbol, venue, defined: None, price_decimals: 0, qty_decimals: 0 });
        InstrumentId(u16::try_from(self.slots.len() - 1).unwrap_or(u16::MAX))
    }

    /// Records what the input says about an instrument (a DBN definition record, say): used unless
    /// the user's `--instrument` says otherwise.
    pub fn define(&mut self, id: InstrumentId, spec: InstrumentSpec) {
        if let Some(s) = self.slots.get_mut(id.index()) {
            s.defined = Some(spec);
        }
    }

    /// Counts one input row (call once per row read, malformed or not).
    pub fn row(&mut self) {
        self.summary.rows_in += 1;
        if self.summary.rows_in.is_multiple_of(65_536)
            && let Some(p) = self.progress.as_mut()
        {
            (p.0)(self.summary.rows_in, self.bytes.get());
        }
    }

    /// Opens an input file so that the bytes read from it count towards progress.
    ///
    /// # Errors
    /// [`ConvertError::Io`].
    pub fn open(&self, path: &Path) -> Result<Counted<File>, ConvertError> {
        let inner =
            File::open(path).map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
        Ok(Counted { inner, count: Rc::clone(&self.bytes) })
    }

    /// Input bytes read so far through [`Collector::open`].
    pub fn bytes_read(&self) -> u64 {
        self.bytes.get()
    }

    /// Calls `f(rows, bytes)` every 65,536 rows.
    pub fn set_progress(&mut self, f: impl FnMut(u64, u64) + 'static) {
        self.progress = Some(Progress(Box::new(f)));
    }

    /// A malformed row: an error in strict mode, else counted (the first five kept as examples).
    ///
    /// # Errors
    /// [`ConvertError::Row`] in strict mode.
    pub fn malformed(&mut self, err: RowError) -> Result<(), ConvertError> {
        if !self.opts.skip_malformed {
            return Err(err.into());
        }
        self.summary.skipped += 1;
        if self.summary.examples.len() < 5 {
            self.summary.examples.push(err);
        }
        Ok(())
    }

    fn tick_of(&self, id: InstrumentId) -> Option<Price> {
        self.opts
            .instrument
            .tick_size
            .or_else(|| self.slots.get(id.index()).and_then(|s| s.defined.as_ref()).map(|d| d.tick_size))
    }

    /// Adds one event read from `line` of the current file.
    ///
    /// # Errors
    /// [`ConvertError::Row`] when its `ts_recv` is before the previous event's (readers put
    /// vendor orderings right first), or its instrument is unknown; [`ConvertError::Io`].
    pub fn push(&mut self, ev: &Event, line: u64) -> Result<(), ConvertError> {
        let recv = ev.ts_recv.nanos();
        if recv < self.last_recv {
            return Err(self
                .row_error(
                    line,
                    format!(
                        "time goes backwards: {} after {}",
                        ev.ts_recv,
                        Timestamp::from_nanos(self.last_recv)
                    ),
                )
                .into());
        }
        let id = ev.instrument;
        if id.index() >= self.slots.len() {
            return Err(self.row_error(line, format!("instrument {id} was never declared")).into());
        }
        let (prices, sizes): ([Option<Price>; 4], [Option<Qty>; 2]) = match ev.payload {
            Payload::Trade(t) => ([Some(t.price), None, None, None], [Some(t.size), None]),
            Payload::Quote(q) => {
                ([Some(q.bid), Some(q.ask), None, None], [Some(q.bid_size), Some(q.ask_size)])
            }
            Payload::Level(l) => ([Some(l.price), None, None, None], [Some(l.size), None]),
            Payload::Order(o) => ([Some(o.price), None, None, None], [Some(o.size), None]),
            Payload::Bar(b) => {
                ([Some(b.open), Some(b.high), Some(b.low), Some(b.close)], [Some(b.volume), None])
            }
            _ => ([None; 4], [None; 2]),
        };
        let tick = self.tick_of(id);
        let slot = &mut self.slots[id.index()];
        for p in prices.into_iter().flatten() {
            if !within(p.raw(), slot.price_decimals) {
                slot.price_decimals = slot.price_decimals.max(decimals(p.raw()));
            }
            if let Some(t) = tick
                && !p.is_zero()
                && !p.is_multiple_of(t)
            {
                self.summary.off_grid += 1;
            }
        }
        for q in sizes.into_iter().flatten() {
            if !within(q.raw(), slot.qty_decimals) {
                slot.qty_decimals = slot.qty_decimals.max(decimals(q.raw()));
            }
        }
        let r = encode(ev);
        if self.misplaced.is_none()
            && let Ok(kind) = RecordKind::try_from(r.kind)
            && kind.is_journal_only()
        {
            self.misplaced = Some((self.summary.records_out, kind.name()));
        }
        if let Some(spool) = self.spool.as_mut() {
            spool
                .write_all(bytemuck::bytes_of(&r))
                .map_err(|source| ConvertError::Io { path: self.spool_path.clone(), source })?;
        }
        self.last_recv = recv;
        self.summary.records_out += 1;
        self.summary.first.get_or_insert(ev.ts_recv);
        self.summary.last = Some(ev.ts_recv);
        Ok(())
    }

    /// The instrument table: given, defined, or inferred (tick = the finest price decimal seen).
    fn table(&self) -> Result<Vec<(Instrument, bool)>, ConvertError> {
        let h = &self.opts.instrument;
        let mut out = Vec::with_capacity(self.slots.len());
        for (i, s) in self.slots.iter().enumerate() {
            let d = s.defined.as_ref();
            let inferred = h.tick_size.is_none() && d.is_none();
            let tick = h
                .tick_size
                .or(d.map(|d| d.tick_size))
                .unwrap_or(Price::from_raw(pow10_raw(s.price_decimals)));
            let lot =
                h.lot_size.or(d.map(|d| d.lot_size)).unwrap_or(Qty::from_raw(pow10_raw(s.qty_decimals)));
            let tick_decimals = decimals(tick.raw());
            let display = h
                .display_decimals
                .or(d.map(|d| d.display_decimals))
                .unwrap_or(s.price_decimals.max(tick_decimals));
            let currency = h.currency.or(d.map(|d| d.quote_currency)).unwrap_or(Currency::USD);
            let spec = InstrumentSpec {
                symbol: s.symbol.clone(),
                venue: s.venue,
                tick_size: tick,
                lot_size: lot,
                display_decimals: display.max(tick_decimals),
                multiplier: h.multiplier.or(d.map(|d| d.multiplier)).unwrap_or(Ratio::ONE),
                quote_currency: currency,
                settlement_currency: h.currency.or(d.map(|d| d.settlement_currency)).unwrap_or(currency),
            };
            let id = InstrumentId(u16::try_from(i).unwrap_or(u16::MAX));
            let ins = Instrument::try_new(id, spec).map_err(|e| ConvertError::Format {
                path: self.output.clone(),
                reason: format!("instrument table: {e}"),
            })?;
            out.push((ins, inferred));
        }
        Ok(out)
    }

    /// Writes the tick file and returns the summary.
    ///
    /// # Errors
    /// [`ConvertError`] from the table or from writing; the output is then untouched.
    pub fn finish(mut self) -> Result<Summary, ConvertError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ConvertError::Io { path, source }
        };
        if let Some(spool) = self.spool.take() {
            spool
                .into_inner()
                .map_err(|e| ConvertError::Io { path: self.spool_path.clone(), source: e.into_error() })?;
        }
        let table = self.table()?;
        let mut writer = TickWriter::create(&self.output, table.iter().map(|(i, _)| i.clone()).collect())?;
        if let Some((index, kind)) = self.misplaced {
            return Err(ReplayError::MisplacedKind {
                path: self.output.clone(),
                index,
                offset: writer.offset_of(index),
                kind,
                file: FileKind::Tick,
            }
            .into());
        }
        // `push` checked every spooled record as `TickWriter::push_raw` would (ts_recv never
        // decreasing, instrument in the table — the table has one entry per slot — and no
        // journal-only kind, refused just above), so the spool goes across in one copy.
        let mut spool = File::open(&self.spool_path).map_err(io(&self.spool_path))?;
        writer.append_validated_from(&mut spool, self.summary.records_out, self.last_recv)?;
        writer.finish()?;
        self.summary.instruments = table;
        Ok(std::mem::take(&mut self.summary))
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // The spool is scratch: gone whether the conversion finished or not.
        let _ = std::fs::remove_file(&self.spool_path);
    }
}

#[cfg(test)]
mod tests {
    use kestrel_types::{Aggressor, Trade};

    use super::*;
    use crate::tick::TickFile;

    fn trade(ns: i64, id: InstrumentId, price: &str, size: &str) -> Event {
        Event {
            ts_event: Timestamp::from_nanos(ns),
            ts_recv: Timestamp::from_nanos(ns),
            instrument: id,
            payload: Payload::Trade(Trade {
                price: price.parse().unwrap(),
                size: size.parse().unwrap(),
                aggressor: Aggressor::Buy,
                trade_id: 0,
            }),
        }
    }

    #[test]
    fn infers_tick_and_lot_from_the_finest_decimals_and_writes_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.kt");
        let mut c = Collector::new(&out, ConvertOptions::default()).unwrap();
        c.set_file(Path::new("in.csv"));
        let id = c.instrument("BTCUSDT", VenueId(0));
        for (i, (p, q)) in [("100.5", "1"), ("100.25", "0.001"), ("101", "2")].into_iter().enumerate() {
            c.row();
            c.push(&trade(i as i64, id, p, q), i as u64 + 2).unwrap();
        }
        let s = c.finish().unwrap();
        assert_eq!((s.rows_in, s.records_out, s.skipped), (3, 3, 0));
        let (ins, inferred) = &s.instruments[0];
        assert!(inferred);
        assert_eq!(
            (ins.tick_size().to_string(), ins.lot_size().to_string(), ins.display_decimals()),
            ("0.01".into(), "0.001".into(), 2)
        );
        let f = TickFile::open(&out).unwrap();
        assert_eq!(f.validate().unwrap().records, 3);
        // Nothing but the output is left.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn strict_by_default_skips_with_examples_on_request_and_counts_off_grid() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Collector::new(dir.path().join("a.kt"), ConvertOptions::default()).unwrap();
        c.set_file(Path::new("x.csv"));
        let e = c.malformed(c.row_error(7, "bad price")).unwrap_err();
        assert_eq!(e.to_string(), "x.csv:7: bad price");
        let hint: InstrumentHint = "tick=0.5,lot=1".parse().unwrap();
        let mut c = Collector::new(
            dir.path().join("b.kt"),
            ConvertOptions { instrument: hint, skip_malformed: true, generic_csv: None },
        )
        .unwrap();
        c.set_file(Path::new("y.csv"));
        for line in 0..7 {
            c.malformed(c.row_error(line, "junk")).unwrap();
        }
        let id = c.instrument("X", VenueId(0));
        c.push(&trade(1, id, "10.5", "1"), 1).unwrap();
        c.push(&trade(2, id, "10.25", "1"), 2).unwrap();
        let back = c.push(&trade(1, id, "10.5", "1"), 3).unwrap_err();
        assert!(back.to_string().contains("y.csv:3: time goes backwards"), "{back}");
        let s = c.finish().unwrap();
        assert_eq!((s.skipped, s.examples.len(), s.off_grid), (7, 5, 1));
        assert!(!s.instruments[0].1, "given, not inferred");
    }

    #[test]
    fn journal_only_records_are_refused_at_finish_with_index_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("j.kt");
        let mut c = Collector::new(&out, ConvertOptions::default()).unwrap();
        let id = c.instrument("X", VenueId(0));
        c.push(&trade(1, id, "10", "1"), 1).unwrap();
        let mut timer = trade(2, id, "10", "1");
        timer.payload = Payload::Timer { id: 7 };
        c.push(&timer, 2).unwrap();
        c.push(&trade(3, id, "10", "1"), 3).unwrap();
        let e = c.finish().unwrap_err();
        match e {
            ConvertError::Replay(ReplayError::MisplacedKind { index, offset, kind, file, .. }) => {
                assert_eq!((index, offset, kind, file), (1, 64 + 128 + 64, "timer", FileKind::Tick));
            }
            other => panic!("{other}"),
        }
        // Neither the output nor any scratch file is left.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn many_records_cross_in_one_copy_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m.kt");
        let mut c = Collector::new(&out, ConvertOptions::default()).unwrap();
        let a = c.instrument("A", VenueId(0));
        let b = c.instrument("B", VenueId(0));
        let evs: Vec<Event> =
            (0..50_000i64).map(|i| trade(i / 3, if i % 2 == 0 { a } else { b }, "1.5", "0.25")).collect();
        for (i, ev) in evs.iter().enumerate() {
            c.push(ev, i as u64).unwrap();
        }
        assert_eq!(c.finish().unwrap().records_out, 50_000);
        let f = TickFile::open(&out).unwrap();
        assert_eq!(f.validate().unwrap().records, 50_000);
        let back: Vec<Event> = f.events().map(Result::unwrap).collect();
        assert_eq!(back, evs);
    }

    #[test]
    fn within_agrees_with_decimals() {
        let samples =
            [0i64, 1, 10, 100, 5_000, 1_000_000_000, -1_500_000_000, 123_456_789, i64::MAX, i64::MIN];
        for raw in samples.into_iter().chain((0..2_000i64).map(|i| i * 7_919 * 10i64.pow((i % 10) as u32))) {
            for d in 0..=9u8 {
                assert_eq!(within(raw, d), decimals(raw) <= d, "raw {raw} d {d}");
            }
        }
    }

    #[test]
    fn instrument_hints_parse_and_refuse_junk() {
        let h: InstrumentHint = "symbol=ES,tick=0.25,lot=1,decimals=2,mult=50,currency=USD".parse().unwrap();
        assert_eq!(h.tick_size, Some("0.25".parse().unwrap()));
        assert!("tick".parse::<InstrumentHint>().is_err());
        assert!("size=1".parse::<InstrumentHint>().is_err());
        assert!("tick=abc".parse::<InstrumentHint>().is_err());
    }
}
