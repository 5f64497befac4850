//! hftbacktest event arrays (`hftbacktest-npz`): the `.npz` files hftbacktest's own converters
//! write with `numpy.savez_compressed(path, data=events)`.
//!
//! An `.npz` is a zip archive of `.npy` arrays; the array wanted here is the member `data.npy`,
//! read as it streams out of the zip (nothing is held in memory but one buffer of rows). Its `.npy`
//! header must declare hftbacktest's 64-byte structured dtype, exactly
//! `[('ev', '<u8'), ('exch_ts', '<i8'), ('local_ts', '<i8'), ('px', '<f8'), ('qty', '<f8'),
//! ('order_id', '<u8'), ('ival', '<i8'), ('fval', '<f8')]`, one-dimensional and C-ordered;
//! anything else (hftbacktest v1's `(N, 6)` float64 arrays, big-endian fields, other fields) is
//! refused as a whole-file error rather than guessed at.
//!
//! # Rows
//! `ev` is a set of flags OR'd onto an event type in the low byte: `EXCH` (1<<31) and `LOCAL`
//! (1<<30) say which side of hftbacktest's simulation processes the row, `BUY` (1<<29) and `SELL`
//! (1<<28) the side (for trades, the initiator). hftbacktest keeps one array for both clocks: rows
//! carrying `EXCH` are in `exch_ts` order, rows carrying `LOCAL` in `local_ts` order, and where the
//! two orders differ (snapshots and clears always, some depth and trade rows) the converter writes
//! an `EXCH`-only and a `LOCAL`-only copy of the same event. So the array as a whole is sorted by
//! neither clock, but its `LOCAL` rows are exactly the feed as the recorder received it, once each,
//! in order. This reader emits the rows that carry `LOCAL`, in file order, with
//! `ts_recv = local_ts` and `ts_event = exch_ts`, and counts `EXCH`-only rows as read but emits
//! nothing for them. A `LOCAL` row whose `local_ts` goes back is refused by the collector.
//! - type 1 (depth) and 5 (depth from a best-bid/offer feed) → [`LevelUpdate`]: `qty` is the new
//!   absolute size at `px`, 0 removes the level; `BUY` is the bid side, `SELL` the ask.
//! - type 2 (trade) → [`Trade`], aggressor `BUY` → buy, `SELL` → sell, neither → unknown; trade id
//!   0 (the array has none).
//! - types 3 (clear) and 4 (snapshot level): a run of such rows sharing one `local_ts` is one book
//!   snapshot. Its first clear becomes `BookClear`, its first level `SnapshotBegin` then a
//!   [`LevelUpdate`], every further level a [`LevelUpdate`], and `SnapshotEnd` follows the run
//!   (stamped like the run's last row). hftbacktest clears one side "up to `px`" and then adds that
//!   side's levels, bids first; Kestrel's clear is whole-book and a snapshot replaces the book, so
//!   the ask side's clear in the middle of the run is absorbed (a whole-book clear there would wipe
//!   the bids just added). A run of clears without levels is one `BookClear`.
//! - types 10–13 (market-by-order add, cancel, modify, fill) → [`BookOrder`] with `order_id`.
//! - any other type is a malformed row. `ival` and `fval` are not used.
//!
//! # Prices and sizes
//! `px` and `qty` are IEEE binary64 in the file. Each is turned into an exact decimal by formatting
//! it with Rust's shortest round-trip text (`{}` on `f64`: the fewest digits that parse back to
//! the same binary value) and parsing that text with [`Price`]/[`Qty`]'s decimal parser, never by
//! scaling the float. This recovers the decimal the writer started from whenever that decimal had
//! at most 15 significant digits: two different such decimals never round to the same binary64
//! (binary64 carries 15.95 decimal digits), so the writer's decimal is the only candidate of at most
//! 15 digits for that binary value and the shortest round-trip text, which has no more digits than
//! it, is that decimal. hftbacktest's converters parse exchange decimal strings (`"61800.3"`,
//! `"0.006"`) with `float()`, so every price and size in its files qualifies. A value whose shortest
//! text needs more than 9 decimal places (`0.1 + 0.2` computed in floating point, say) is not a
//! decimal Kestrel can hold exactly and the row is malformed, as are NaN, infinities, values out of
//! range and negative sizes.
//!
//! # Instrument
//! The array does not name its instrument. The symbol is the file name up to its first `.`, less a
//! trailing `_YYYYMMDD` (`btcusdt_20240808.npz` → `btcusdt`), so the day files of one instrument
//! land on one table entry; `--instrument symbol=` renames it. Venue 0.
//!
//! # Errors
//! Row errors name the file and the 0-based row index in `data` (what `data[i]` is in numpy). A
//! malformed row can be skipped with `--skip-malformed`; an archive whose member ends early or
//! fails its CRC is a row error at the row where the bytes run out, whatever the option.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use kestrel_types::{
    Aggressor, BookOrder, BookSide, Event, InstrumentId, LevelUpdate, OrderAction, ParseDecimalError,
    Payload, Price, Qty, Timestamp, Trade, VenueId,
};

use super::{Collector, ConvertError, Format};

/// The zip local-file-header signature every `.npz` starts with.
const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// The `.npy` magic.
const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The member holding the array saved under the key `data`.
const MEMBER: &str = "data.npy";

/// hftbacktest's event dtype as numpy writes its `descr`, spaces removed.
const DESCR: &str = "[('ev','<u8'),('exch_ts','<i8'),('local_ts','<i8'),('px','<f8'),('qty','<f8'),\
                     ('order_id','<u8'),('ival','<i8'),('fval','<f8')]";

/// Bytes per row of that dtype.
const ROW: usize = 64;

/// Rows read from the member per read call.
const BATCH: usize = 4096;

/// The row is for the local (strategy-side) processor: the rows this reader emits.
const LOCAL: u64 = 1 << 30;
/// Bid side, or a buyer-initiated trade.
const BUY: u64 = 1 << 29;
/// Ask side, or a seller-initiated trade.
const SELL: u64 = 1 << 28;

/// Event types in the low byte of `ev`.
mod ty {
    /// A depth (level) change.
    pub(super) const DEPTH: u64 = 1;
    /// A trade.
    pub(super) const TRADE: u64 = 2;
    /// Clear the book (one side up to `px`, in hftbacktest).
    pub(super) const CLEAR: u64 = 3;
    /// One level of a book snapshot.
    pub(super) const SNAPSHOT: u64 = 4;
    /// A level change from a best-bid/offer feed.
    pub(super) const BBO: u64 = 5;
    /// Market-by-order: an order added.
    pub(super) const ADD: u64 = 10;
    /// Market-by-order: an order cancelled.
    pub(super) const CANCEL: u64 = 11;
    /// Market-by-order: an order modified.
    pub(super) const MODIFY: u64 = 12;
    /// Market-by-order: an order filled.
    pub(super) const FILL: u64 = 13;
}

/// Tells an `.npz` whose first member is `data.npy` from its zip local header, else by the
/// `.npz` name (so that a damaged or foreign `.npz` reaches the reader and its precise error).
pub(super) fn detect(name: &str, head: &[u8]) -> Option<Format> {
    if head.len() >= 30 && head.starts_with(ZIP_MAGIC) {
        let name_len = usize::from(u16::from_le_bytes([head[26], head[27]]));
        if head.get(30..30 + name_len) == Some(MEMBER.as_bytes()) {
            return Some(Format::HftbacktestNpz);
        }
    }
    name.ends_with(".npz").then_some(Format::HftbacktestNpz)
}

/// A whole-file error of `path`.
fn format_err(path: &Path, reason: impl Into<String>) -> ConvertError {
    ConvertError::Format { path: path.to_path_buf(), reason: reason.into() }
}

/// Reads an hftbacktest `.npz` into `coll`.
///
/// # Errors
/// [`ConvertError::Format`] when the file is not a zip with a `data.npy` of hftbacktest's dtype,
/// [`ConvertError::Row`] for a malformed row or an archive that breaks off, [`ConvertError::Io`].
pub(super) fn read(path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    let mut input = BufReader::with_capacity(1 << 16, coll.open(path)?);
    let head = input.fill_buf().map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
    if !head.starts_with(ZIP_MAGIC) {
        return Err(format_err(path, "not an .npz: no zip local-file header (PK\\x03\\x04) at the start"));
    }
    loop {
        match zip::read::read_zipfile_from_stream(&mut input) {
            Ok(Some(mut member)) => {
                if member.name_raw() == MEMBER.as_bytes() {
                    return read_npy(path, &mut member, coll);
                }
                // Another array of the archive: skip its bytes.
                io::copy(&mut member, &mut io::sink())
                    .map_err(|e| format_err(path, format!("zip member before {MEMBER}: {e}")))?;
            }
            Ok(None) => return Err(format_err(path, format!("no `data` array ({MEMBER}) in the archive"))),
            Err(e) => return Err(format_err(path, format!("zip: {e}"))),
        }
    }
}

/// The row count of a `.npy` header after checking that it declares hftbacktest's dtype.
fn parse_header(text: &str) -> Result<u64, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let descr = compact
        .split_once("'descr':")
        .map(|(_, rest)| {
            // The value runs to the `]` that closes a structured descr, or to the next `,'`.
            if rest.starts_with('[') {
                rest.find("],").map_or(rest, |i| &rest[..=i])
            } else {
                rest.split(",'").next().unwrap_or(rest)
            }
        })
        .ok_or("the .npy header has no 'descr'")?;
    if descr != DESCR {
        return Err(format!(
            "{MEMBER} has dtype {descr}, not hftbacktest's 64-byte event dtype {DESCR} (refused rather than guessed at)"
        ));
    }
    if !compact.contains("'fortran_order':False") {
        return Err(format!("{MEMBER} is Fortran-ordered"));
    }
    let shape = compact
        .split_once("'shape':(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(dims, _)| dims)
        .ok_or("the .npy header has no 'shape'")?;
    match shape.strip_suffix(',').unwrap_or(shape).parse::<u64>() {
        Ok(n) if !shape.trim_end_matches(',').contains(',') => Ok(n),
        _ => Err(format!("{MEMBER} has shape ({shape}), not one row per event")),
    }
}

/// Reads the `.npy` header and rows of the `data` member.
fn read_npy(path: &Path, npy: &mut impl Read, coll: &mut Collector) -> Result<(), ConvertError> {
    let bad_header = |why: String| format_err(path, format!("{MEMBER}: {why}"));
    let mut pre = [0u8; 8];
    npy.read_exact(&mut pre).map_err(|e| bad_header(format!("header: {e}")))?;
    if !pre.starts_with(NPY_MAGIC) {
        return Err(bad_header("not a .npy array (no \\x93NUMPY magic)".into()));
    }
    let header_len = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            npy.read_exact(&mut b).map_err(|e| bad_header(format!("header: {e}")))?;
            usize::from(u16::from_le_bytes(b))
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            npy.read_exact(&mut b).map_err(|e| bad_header(format!("header: {e}")))?;
            usize::try_from(u32::from_le_bytes(b)).unwrap_or(usize::MAX)
        }
        v => return Err(bad_header(format!(".npy format version {v} is not known"))),
    };
    if header_len > 1 << 20 {
        return Err(bad_header(format!("a {header_len}-byte header is not a numpy header")));
    }
    let mut text = vec![0u8; header_len];
    npy.read_exact(&mut text).map_err(|e| bad_header(format!("header: {e}")))?;
    let rows = parse_header(&String::from_utf8_lossy(&text)).map_err(bad_header)?;
    let symbol = symbol_of(path);
    let id = coll.instrument(&symbol, VenueId(0));
    let mut reader = NpzReader { coll, id, run: None };
    let mut buf = vec![0u8; ROW * BATCH];
    let mut index: u64 = 0;
    while index < rows {
        let n = usize::try_from((rows - index).min(BATCH as u64)).unwrap_or(BATCH);
        let chunk = &mut buf[..n * ROW];
        if let Err(e) = read_full(npy, chunk) {
            // Rows before the break that did arrive are converted first (`read_full` reports how
            // many whole rows it got through the error).
            let (got, e) = e;
            for row in chunk[..got * ROW].chunks_exact(ROW) {
                reader.row(row, index)?;
                index += 1;
            }
            return Err(reader
                .coll
                .row_error(index, format!("{MEMBER} breaks off at row {index} of {rows}: {e}"))
                .into());
        }
        for row in chunk.chunks_exact(ROW) {
            reader.row(row, index)?;
            index += 1;
        }
    }
    reader.close_run(index)
}

/// Fills `buf`; on failure, the number of whole rows read before it and the error.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<(), (usize, io::Error)> {
    let mut done = 0;
    while done < buf.len() {
        match r.read(&mut buf[done..]) {
            Ok(0) => return Err((done / ROW, io::Error::new(io::ErrorKind::UnexpectedEof, "end of data"))),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((done / ROW, e)),
        }
    }
    Ok(())
}

/// The instrument's symbol from the file name (see the module docs).
fn symbol_of(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    let stem = match stem.rsplit_once('_') {
        Some((base, date))
            if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) && !base.is_empty() =>
        {
            base
        }
        _ => stem,
    };
    if stem.is_empty() { "hftbacktest".to_owned() } else { stem.to_owned() }
}

/// An exact decimal from a binary64 value written from a decimal (see the module docs).
fn exact<T: FromStr<Err = ParseDecimalError>>(x: f64, what: &str) -> Result<T, String> {
    if !x.is_finite() {
        return Err(format!("{what} is {x}"));
    }
    let text = format!("{x}");
    text.parse().map_err(|e| format!("{what} {text} is not an exact decimal of at most 9 places ({e})"))
}

/// One row, decoded from its 64 little-endian bytes.
#[derive(Clone, Copy, Debug)]
struct Row {
    /// Flags and type.
    ev: u64,
    /// Exchange time, ns.
    exch_ts: i64,
    /// Local receive time, ns.
    local_ts: i64,
    /// Price.
    px: f64,
    /// Quantity.
    qty: f64,
    /// Venue order id (market-by-order rows).
    order_id: u64,
}

impl Row {
    /// Decodes a row (the dtype check made the layout certain).
    fn parse(b: &[u8]) -> Self {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            w
        };
        Self {
            ev: u64::from_le_bytes(word(0)),
            exch_ts: i64::from_le_bytes(word(1)),
            local_ts: i64::from_le_bytes(word(2)),
            px: f64::from_le_bytes(word(3)),
            qty: f64::from_le_bytes(word(4)),
            order_id: u64::from_le_bytes(word(5)),
        }
    }

    /// The book side from the `BUY`/`SELL` flags.
    fn side(&self) -> Result<BookSide, String> {
        match (self.ev & BUY != 0, self.ev & SELL != 0) {
            (true, false) => Ok(BookSide::Bid),
            (false, true) => Ok(BookSide::Ask),
            _ => Err(format!(
                "ev {:#x} has {} of the BUY and SELL flags",
                self.ev,
                if self.ev & BUY != 0 { "both" } else { "neither" }
            )),
        }
    }

    /// A level change at `px` to the absolute size `qty`.
    fn level(&self) -> Result<LevelUpdate, String> {
        let size: Qty = exact(self.qty, "qty")?;
        if size.is_negative() {
            return Err(format!("qty {size} is negative"));
        }
        Ok(LevelUpdate { side: self.side()?, price: exact(self.px, "px")?, size })
    }
}

/// A run of clear/snapshot rows sharing one `local_ts`.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Its `local_ts`.
    local_ts: i64,
    /// Timestamps of its last row (what `SnapshotEnd` is stamped with).
    last: (Timestamp, Timestamp),
    /// Whether `SnapshotBegin` has been written.
    snapshot: bool,
}

/// Per-file state: where events go and the snapshot run in progress.
struct NpzReader<'a> {
    /// Where events go.
    coll: &'a mut Collector,
    /// The file's one instrument.
    id: InstrumentId,
    /// The clear/snapshot run in progress.
    run: Option<Run>,
}

impl NpzReader<'_> {
    /// Adds one event at the row's timestamps.
    fn push(
        &mut self,
        te: Timestamp,
        tr: Timestamp,
        payload: Payload,
        index: u64,
    ) -> Result<(), ConvertError> {
        self.coll.push(&Event { ts_event: te, ts_recv: tr, instrument: self.id, payload }, index)
    }

    /// Ends the run in progress, if any (`SnapshotEnd` when it wrote levels).
    fn close_run(&mut self, index: u64) -> Result<(), ConvertError> {
        if let Some(run) = self.run.take()
            && run.snapshot
        {
            self.push(run.last.0, run.last.1, Payload::SnapshotEnd, index)?;
        }
        Ok(())
    }

    /// One row of the array.
    fn row(&mut self, bytes: &[u8], index: u64) -> Result<(), ConvertError> {
        self.coll.row();
        let r = Row::parse(bytes);
        if r.ev & LOCAL == 0 {
            // The exchange-side copy: the `LOCAL` copy (or flag) carries the same event.
            return Ok(());
        }
        let (te, tr) = (Timestamp::from_nanos(r.exch_ts), Timestamp::from_nanos(r.local_ts));
        let t = r.ev & 0xFF;
        if self.run.is_some_and(|run| run.local_ts != r.local_ts || !matches!(t, ty::CLEAR | ty::SNAPSHOT)) {
            self.close_run(index)?;
        }
        let payload = match t {
            ty::CLEAR => {
                if self.run.is_none() {
                    self.run = Some(Run { local_ts: r.local_ts, last: (te, tr), snapshot: false });
                    self.push(te, tr, Payload::BookClear, index)?;
                }
                // A later clear in the same run is absorbed (see the module docs).
                return Ok(());
            }
            ty::SNAPSHOT => match r.level() {
                Ok(l) => {
                    let run =
                        self.run.get_or_insert(Run { local_ts: r.local_ts, last: (te, tr), snapshot: false });
                    run.last = (te, tr);
                    if !run.snapshot {
                        run.snapshot = true;
                        self.push(te, tr, Payload::SnapshotBegin, index)?;
                    }
                    Ok(Payload::Level(l))
                }
                Err(e) => Err(e),
            },
            ty::DEPTH | ty::BBO => r.level().map(Payload::Level),
            ty::TRADE => trade(&r),
            ty::ADD | ty::CANCEL | ty::MODIFY | ty::FILL => order(&r, t),
            other => Err(format!("event type {other} (ev {:#x}) is not one this reader knows", r.ev)),
        };
        match payload {
            Ok(p) => self.push(te, tr, p, index),
            Err(reason) => {
                let err = self.coll.row_error(index, format!("row {index}: {reason}"));
                self.coll.malformed(err)
            }
        }
    }
}

/// A trade row.
fn trade(r: &Row) -> Result<Payload, String> {
    let aggressor = match (r.ev & BUY != 0, r.ev & SELL != 0) {
        (true, false) => Aggressor::Buy,
        (false, true) => Aggressor::Sell,
        _ => Aggressor::Unknown,
    };
    let size: Qty = exact(r.qty, "qty")?;
    if !size.is_positive() {
        return Err(format!("trade qty {size} is not positive"));
    }
    Ok(Payload::Trade(Trade { price: exact::<Price>(r.px, "px")?, size, aggressor, trade_id: 0 }))
}

/// A market-by-order row of type `t`.
fn order(r: &Row, t: u64) -> Result<Payload, String> {
    let action = match t {
        ty::ADD => OrderAction::Add,
        ty::CANCEL => OrderAction::Cancel,
        ty::MODIFY => OrderAction::Modify,
        _ => OrderAction::Fill,
    };
    let size: Qty = exact(r.qty, "qty")?;
    if size.is_negative() {
        return Err(format!("qty {size} is negative"));
    }
    Ok(Payload::Order(BookOrder {
        action,
        side: r.side()?,
        price: exact(r.px, "px")?,
        size,
        order_id: r.order_id,
    }))
}

/// End-to-end conversions of the public `.npz` and of synthetic or damaged ones.
#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};
    use std::path::PathBuf;

    use proptest::prelude::*;
    use zip::CompressionMethod;
    use zip::write::SimpleFileOptions;

    use super::*;
    use crate::convert::dbn::test_util::{data, format_error, invariants, kinds, ok, row_error, run, write};
    use crate::convert::{detect as detect_any, head};

    /// The public sample: 27,370 rows made by hftbacktest's Binance futures converter.
    const NPZ: &str = "hftbacktest/usdm_btcusdt_20240808.first5000.npz";
    /// The exchange-side flag (the reader only needs `LOCAL`).
    const EXCH: u64 = 1 << 31;
    /// numpy's header for hftbacktest's dtype, `N` standing for the row count.
    const HEADER: &str = "{'descr': [('ev', '<u8'), ('exch_ts', '<i8'), ('local_ts', '<i8'), ('px', '<f8'), \
                          ('qty', '<f8'), ('order_id', '<u8'), ('ival', '<i8'), ('fval', '<f8')], \
                          'fortran_order': False, 'shape': (N,), }";

    /// A price from decimal text.
    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    /// A quantity from decimal text.
    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }

    /// A timestamp from nanoseconds.
    fn ns(n: i64) -> Timestamp {
        Timestamp::from_nanos(n)
    }

    /// One 64-byte row.
    fn row(ev: u64, exch_ts: i64, local_ts: i64, px: f64, qty: f64) -> Vec<u8> {
        let mut b = Vec::with_capacity(ROW);
        b.extend(ev.to_le_bytes());
        b.extend(exch_ts.to_le_bytes());
        b.extend(local_ts.to_le_bytes());
        b.extend(px.to_le_bytes());
        b.extend(qty.to_le_bytes());
        b.extend(7u64.to_le_bytes());
        b.extend(0i64.to_le_bytes());
        b.extend(0f64.to_le_bytes());
        b
    }

    /// An `.npy` (format 1.0) with `header` (its `N` replaced by the row count) and `rows`.
    fn npy(header: &str, rows: &[Vec<u8>]) -> Vec<u8> {
        let mut text = header.replace('N', &rows.len().to_string());
        // numpy pads the header with spaces and a newline to a multiple of 64 bytes.
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut b = NPY_MAGIC.to_vec();
        b.extend([1, 0]);
        b.extend(u16::try_from(text.len()).unwrap().to_le_bytes());
        b.extend(text.as_bytes());
        for r in rows {
            b.extend(r);
        }
        b
    }

    /// A stored (uncompressed, as `numpy.savez` writes) zip of `members`.
    fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in members {
            z.start_file(*name, SimpleFileOptions::default().compression_method(CompressionMethod::Stored))
                .unwrap();
            z.write_all(body).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    /// Writes an `.npz` of `rows` in hftbacktest's dtype.
    fn npz_file(dir: &std::path::Path, name: &str, rows: &[Vec<u8>]) -> PathBuf {
        write(dir, name, &zip_of(&[("data.npy", npy(HEADER, rows))]))
    }

    /// Short for `LOCAL`.
    const L: u64 = LOCAL;
    /// Short for `EXCH`.
    const E: u64 = EXCH;

    /// The README's counts, first and last events, and the REST snapshot's layout.
    #[test]
    fn the_public_npz_converts_its_local_rows() {
        let path = data(NPZ);
        assert_eq!(detect_any(&path, &head(&path, 4096).unwrap()), Some(Format::HftbacktestNpz));
        assert_eq!(detect("x.bin", &head(&path, 4096).unwrap()), Some(Format::HftbacktestNpz), "by content");
        let (s, evs, _) = ok(None, &[path]);
        // 27,370 rows, 25,367 of them LOCAL: 22,633 depth, 732 trades, 2 clears, 2,000 snapshot
        // levels; the two clears make one BookClear and the run is wrapped in begin/end markers.
        assert_eq!((s.rows_in, s.records_out, s.skipped), (27_370, 25_368, 0));
        assert_eq!(
            kinds(&evs),
            [("level", 22_633 + 2_000), ("trade", 732), ("clear", 1), ("begin", 1), ("end", 1)].into()
        );
        let trades = |a: Aggressor| {
            evs.iter().filter(|e| matches!(e.payload, Payload::Trade(t) if t.aggressor == a)).count()
        };
        assert_eq!((trades(Aggressor::Buy), trades(Aggressor::Sell)), (465, 267));
        assert_eq!(
            (evs[0].ts_event, evs[0].ts_recv),
            (ns(1_723_161_256_298_000_000), ns(1_723_161_256_300_720_815))
        );
        assert_eq!(
            evs[0].payload,
            Payload::Level(LevelUpdate { side: BookSide::Bid, price: p("58710.2"), size: q("0.014") })
        );
        assert_eq!(
            evs[2].payload,
            Payload::Level(LevelUpdate { side: BookSide::Bid, price: p("61510.9"), size: Qty::ZERO })
        );
        let last = evs.last().unwrap();
        assert_eq!(
            (last.ts_event, last.ts_recv),
            (ns(1_723_161_277_473_000_000), ns(1_723_161_277_474_523_130))
        );
        assert_eq!(
            last.payload,
            Payload::Trade(Trade {
                price: p("61809.5"),
                size: q("0.002"),
                aggressor: Aggressor::Sell,
                trade_id: 0
            })
        );
        // The REST snapshot: clear, begin, 1,000 bids, 1,000 asks (the ask clear absorbed), end,
        // all at one local time, with exchange times earlier than the depth rows before it.
        let at = evs.iter().position(|e| e.payload == Payload::BookClear).unwrap();
        assert_eq!(at, 333);
        assert_eq!(evs[at + 1].payload, Payload::SnapshotBegin);
        let side = |e: &Event| match e.payload {
            Payload::Level(l) => Some(l.side),
            _ => None,
        };
        assert!(evs[at + 2..at + 1002].iter().all(|e| side(e) == Some(BookSide::Bid)));
        assert!(evs[at + 1002..at + 2002].iter().all(|e| side(e) == Some(BookSide::Ask)));
        assert_eq!(evs[at + 2002].payload, Payload::SnapshotEnd);
        assert!(evs[at..=at + 2002].iter().all(|e| e.ts_recv == ns(1_723_161_256_590_108_714)));
        assert_eq!(
            evs[at + 2].payload,
            Payload::Level(LevelUpdate { side: BookSide::Bid, price: p("61800.2"), size: q("2.909") })
        );
        assert_eq!(
            evs[at + 2001].payload,
            Payload::Level(LevelUpdate { side: BookSide::Ask, price: p("61976.2"), size: q("0.002") })
        );
        invariants(&evs);
        let (ins, inferred) = &s.instruments[0];
        assert_eq!(
            (ins.symbol(), ins.tick_size(), ins.lot_size(), *inferred),
            ("usdm_btcusdt", p("0.1"), q("0.001"), true)
        );
    }

    /// E-only rows, clear runs, snapshot runs and order rows, event by event.
    #[test]
    fn exchange_only_rows_are_read_not_emitted_and_clear_runs_without_levels_are_one_clear() {
        let dir = tempfile::tempdir().unwrap();
        let path = npz_file(
            dir.path(),
            "ethusdt_20240101.npz",
            &[
                row(E | BUY | ty::DEPTH, 1, 5, 100.5, 1.0),
                row(E | L | BUY | ty::DEPTH, 2, 6, 100.5, 2.0),
                row(L | BUY | ty::CLEAR, 3, 7, 100.0, 0.0),
                row(L | SELL | ty::CLEAR, 3, 7, 101.0, 0.0),
                row(E | L | ty::TRADE, 4, 8, 100.75, 0.25),
                row(L | SELL | ty::SNAPSHOT, 5, 9, 101.0, 3.0),
                row(L | BUY | ty::SNAPSHOT, 6, 10, 100.0, 4.0),
                row(E | L | SELL | ty::ADD, 7, 11, 101.25, 1.0),
            ],
        );
        let (s, evs, _) = ok(Some(Format::HftbacktestNpz), &[path]);
        assert_eq!((s.rows_in, s.records_out), (8, 10));
        let seq: Vec<(i64, Payload)> = evs.iter().map(|e| (e.ts_recv.nanos(), e.payload)).collect();
        let lvl = |side, px: &str, sz: &str| Payload::Level(LevelUpdate { side, price: p(px), size: q(sz) });
        assert_eq!(
            seq,
            [
                (6, lvl(BookSide::Bid, "100.5", "2")),
                (7, Payload::BookClear),
                (
                    8,
                    Payload::Trade(Trade {
                        price: p("100.75"),
                        size: q("0.25"),
                        aggressor: Aggressor::Unknown,
                        trade_id: 0
                    })
                ),
                // Two snapshot rows at different local times are two snapshots.
                (9, Payload::SnapshotBegin),
                (9, lvl(BookSide::Ask, "101", "3")),
                (9, Payload::SnapshotEnd),
                (10, Payload::SnapshotBegin),
                (10, lvl(BookSide::Bid, "100", "4")),
                (10, Payload::SnapshotEnd),
                (
                    11,
                    Payload::Order(BookOrder {
                        action: OrderAction::Add,
                        side: BookSide::Ask,
                        price: p("101.25"),
                        size: q("1"),
                        order_id: 7
                    })
                ),
            ]
        );
        assert_eq!(s.instruments[0].0.symbol(), "ethusdt", "the date suffix is not part of the symbol");
    }

    /// Inexact floats, missing sides, bad sizes and unknown types are malformed rows.
    #[test]
    fn malformed_rows_are_refused_or_skipped_with_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let good = |t: i64| row(E | L | BUY | ty::DEPTH, t, t, 100.5, 1.0);
        for (bad, msg) in [
            (
                row(L | BUY | ty::DEPTH, 2, 2, 0.1 + 0.2, 1.0),
                "px 0.30000000000000004 is not an exact decimal",
            ),
            (row(L | BUY | ty::DEPTH, 2, 2, 100.0, f64::NAN), "qty is NaN"),
            (row(L | BUY | ty::DEPTH, 2, 2, 1e300, 1.0), "is not an exact decimal"),
            (row(L | ty::DEPTH, 2, 2, 100.0, 1.0), "neither of the BUY and SELL flags"),
            (row(L | BUY | SELL | ty::DEPTH, 2, 2, 100.0, 1.0), "both of the BUY and SELL flags"),
            (row(L | BUY | ty::DEPTH, 2, 2, 100.0, -1.0), "qty -1 is negative"),
            (row(L | BUY | ty::TRADE, 2, 2, 100.0, 0.0), "trade qty 0 is not positive"),
            (row(L | 7, 2, 2, 100.0, 1.0), "event type 7"),
        ] {
            let path = npz_file(dir.path(), "bad.npz", &[good(1), bad, good(3)]);
            row_error(None, &path, false, 1, msg);
            let (s, evs, _) = run(None, &[path], true).unwrap();
            assert_eq!((s.rows_in, s.skipped, evs.len()), (3, 1, 2), "{msg}");
            assert_eq!(s.examples[0].line, 1);
        }
        let path = npz_file(dir.path(), "back.npz", &[good(5), good(4)]);
        row_error(None, &path, true, 1, "time goes backwards");
    }

    /// Other dtypes, shapes, orders, members and non-zip files are whole-file errors.
    #[test]
    fn other_dtypes_and_non_npz_files_are_format_errors() {
        let dir = tempfile::tempdir().unwrap();
        // hftbacktest v1's float64 (N, 6) arrays.
        let v1 = "{'descr': '<f8', 'fortran_order': False, 'shape': (N, 6), }";
        let path = write(dir.path(), "v1.npz", &zip_of(&[("data.npy", npy(v1, &[vec![0; 48]]))]));
        format_error(None, &path, "data.npy has dtype '<f8', not hftbacktest's 64-byte event dtype");
        // Big-endian fields.
        let be = HEADER.replace("'<i8'", "'>i8'");
        let path = write(dir.path(), "be.npz", &zip_of(&[("data.npy", npy(&be, &[row(L, 0, 0, 0.0, 0.0)]))]));
        format_error(None, &path, "not hftbacktest's 64-byte event dtype");
        let two_d = HEADER.replace("(N,)", "(N, 2)");
        let path = write(dir.path(), "2d.npz", &zip_of(&[("data.npy", npy(&two_d, &[]))]));
        format_error(None, &path, "has shape (0,2)");
        let fortran = HEADER.replace("False", "True");
        let path = write(dir.path(), "f.npz", &zip_of(&[("data.npy", npy(&fortran, &[]))]));
        format_error(None, &path, "Fortran-ordered");
        let path = write(dir.path(), "other.npz", &zip_of(&[("prices.npy", npy(HEADER, &[]))]));
        format_error(None, &path, "no `data` array (data.npy)");
        let path = write(dir.path(), "junk.npz", b"ev,exch_ts\n1,2\n");
        format_error(None, &path, "not an .npz");
        let path = write(dir.path(), "nonpy.npz", &zip_of(&[("data.npy", b"not numpy at all".to_vec())]));
        format_error(None, &path, "not a .npy array");
    }

    /// An archive cut short is an error at the row where its bytes run out.
    #[test]
    fn an_archive_that_breaks_off_is_refused_at_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<Vec<u8>> = (0..6).map(|t| row(L | BUY | ty::DEPTH, t, t, 100.5, 1.0)).collect();
        let member = npy(HEADER, &rows);
        let whole = zip_of(&[("data.npy", member.clone())]);
        // Cut in the middle of row 3: the stored member's bytes run out there.
        let at = whole.windows(NPY_MAGIC.len()).position(|w| w == NPY_MAGIC).unwrap();
        let data_start = at + member.len() - rows.len() * ROW;
        let cut = write(dir.path(), "cut.npz", &whole[..data_start + 3 * ROW + 20]);
        for skip in [false, true] {
            row_error(None, &cut, skip, 3, "breaks off at row 3 of 6");
        }
        // The deflated public file cut short.
        let real = std::fs::read(data(NPZ)).unwrap();
        let cut = write(dir.path(), "real.npz", &real[..real.len() / 2]);
        match run(None, std::slice::from_ref(&cut), false) {
            Err(ConvertError::Row(e)) => {
                assert_eq!(e.file, cut);
                assert!(e.reason.contains("breaks off at row"), "{e}");
                assert!(e.line > 0 && e.line < 27_370, "{e}");
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("a cut archive converted"),
        }
    }

    /// Symbols from file names, without a date suffix.
    #[test]
    fn symbols_come_from_the_file_name() {
        assert_eq!(symbol_of(Path::new("/d/btcusdt_20240808.npz")), "btcusdt");
        assert_eq!(symbol_of(Path::new("usdm_btcusdt_20240808.first5000.npz")), "usdm_btcusdt");
        assert_eq!(symbol_of(Path::new("ethusdt.npz")), "ethusdt");
        assert_eq!(symbol_of(Path::new("_20240808.npz")), "_20240808");
        assert_eq!(symbol_of(Path::new(".npz")), "hftbacktest");
    }

    proptest! {
        /// Any decimal of at most 15 significant digits and 9 places, written as binary64 the way
        /// hftbacktest's converters do (`float("…")`), comes back exactly.
        #[test]
        fn binary64_of_a_short_decimal_comes_back_exactly(
            (mantissa, places) in (0u32..=9).prop_flat_map(|places| {
                // At most 15 significant digits, and within Price's range at that many places.
                let cap = (Price::MAX.raw() / 10i64.pow(9 - places)).min(999_999_999_999_999);
                (0..=cap, Just(places))
            })
        ) {
            let text = Price::from_raw(mantissa * 10i64.pow(9 - places)).to_string();
            let x: f64 = text.parse().unwrap();
            prop_assert_eq!(exact::<Price>(x, "px").unwrap(), p(&text));
            prop_assert_eq!(exact::<Qty>(-x, "qty").unwrap(), -q(&text));
        }
    }
}
