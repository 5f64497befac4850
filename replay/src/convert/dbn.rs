//! Databento Binary Encoding (`dbn`): `.dbn` and `.dbn.zst` files of DBN versions 1 to 3.
//!
//! A DBN stream is an 8-byte prelude (`DBN`, the version byte, the metadata length as a
//! little-endian `u32`), the metadata (dataset, schema, query window, symbology mappings), then
//! records that each start with their own length in 4-byte words. The `dbn` crate decodes the
//! metadata and frames the records; this module maps the records to Kestrel events. It decodes
//! with [`VersionUpgradePolicy::AsIs`] so that every record's length is the length it has in the
//! file: that is what lets a truncated file be told from a complete one (the crate's decoder
//! reports a file that ends inside a record as a clean end of stream).
//!
//! # Records
//! Prices in DBN are `i64` counts of 1e-9, which is exactly Kestrel's nano-unit raw value, so they
//! are copied, never scaled; sizes are whole `u32` counts. `i64::MAX` is DBN's "undefined price"
//! and never becomes a price: where a price is required (orders, trades, bars) it makes the record
//! malformed; on a clear record it is ignored; an undefined level in a top-of-book record is an
//! empty side (price 0, size 0, which the engine reads as "no bid" / "no ask"). Flags bits other
//! than `SNAPSHOT` and `LAST` are ignored, whatever they are (`129` and `130` occur in real files).
//! - MBO (`rtype 0xA0`): action `A`/`C`/`M`/`F` → [`BookOrder`] add/cancel/modify/fill with the
//!   venue's order id; `T` → [`Trade`] (side is the aggressor: `B` buy, `A` sell, `N` unknown);
//!   `R` → `BookClear`; `N` (no action) → nothing. A run of records flagged `SNAPSHOT` is one book
//!   snapshot per instrument: `SnapshotBegin` before its first record, `SnapshotEnd` after the
//!   record that also carries `LAST` (or, failing that, before the instrument's next record without
//!   `SNAPSHOT`, or at the end of the file stamped with the last `ts_recv` written). Snapshot
//!   records keep their `ts_event` (each resting order's entry time, often days before the file's
//!   window); `ts_recv` orders the output. Kestrel events carry no "end of venue event" mark, so
//!   `LAST` is otherwise only a boundary a consumer could want; it is not kept.
//! - MBP-1 and TBBO (`rtype 0x01`): one [`Quote`] per record from level 0 (the book as it stands
//!   with that record), then a [`Trade`] when the action is `T`. The `SNAPSHOT` flag is not turned
//!   into markers here: each quote is a whole top of book by itself.
//! - Trades (`rtype 0x00`): one [`Trade`]; side is the aggressor.
//! - OHLCV (`rtype 0x20..=0x24`): one [`Bar`]. DBN stamps a bar with its *open* and has no
//!   `ts_recv`; Kestrel stamps bars when they are complete (the engine acts on a bar once it has
//!   closed), so `Bar::ts`, `ts_event` and `ts_recv` are all `ts_event + interval` (1 s, 1 min,
//!   1 h, 1 day; `ohlcv-eod` counts as 1 day). Bars of several instruments that close together keep
//!   their file order, whatever it is.
//! - Definitions (`rtype 0x13`, 360/400/520 bytes in v1/v2/v3): no event; the instrument's entry in
//!   the table through [`Collector::define`]: symbol = `raw_symbol`, tick = `min_price_increment`,
//!   display decimals = the tick's, multiplier = `unit_of_measure_qty` (50 for ES; else
//!   `contract_multiplier`, else 1), lot 1 (DBN sizes are whole numbers, and a round lot is not the
//!   smallest size that trades), currency = `currency` (`settl_currency` when set, else the same;
//!   USD when blank). A definition without a tick (undefined or not positive) defines nothing.
//! - Anything else (status, statistics, imbalance, symbol-mapping, system and error records) is
//!   counted as read and produces nothing.
//!
//! # Instruments
//! Records name instruments by Databento's numeric `instrument_id`. The symbol comes from the
//! metadata's symbology mappings (the interval covering the record's `ts_recv` date, else any
//! interval of that id) or from a definition record in the same file, else it is the id in
//! decimal. When the query's input symbology was `parent` or `instrument_id`, one mapped symbol
//! can stand for many instruments, so definitions are consulted first there. The instrument table
//! is keyed by symbol, so `kestrel convert defs.dbn.zst data.dbn.zst` works in either order: the
//! definition file adds (or finds) the instrument by its `raw_symbol` and defines it, and the data
//! file finds the same instrument through its metadata. A definition adds its instrument to the
//! table even when no data for it follows. All instruments are at venue 0.
//!
//! # Order
//! Databento sorts MBO, MBP, TBBO and trades files by `ts_recv` and OHLCV files by bar open, so
//! file order is kept; a record whose time goes back is refused by the collector as a row error
//! naming the record.
//!
//! # Errors
//! Row errors name the file and the 0-based index of the record among the file's records (the
//! first record after the metadata is 0, definitions included). A record whose content is wrong (an
//! undefined price where one is needed, an unknown action, an order without a side) is malformed
//! and can be skipped with `--skip-malformed`. A record whose length byte is impossible (below the
//! 16-byte header, not a multiple of 8, or not the size of its record type) and a file that ends
//! inside a record are fatal whatever the option: past a broken frame nothing can be trusted.
//! Lengths are checked on the byte stream before the `dbn` decoder sees it (see `Framer`),
//! because the decoder trusts them. A zstd stream that ends early is reported as such. Versions other than 1–3, a missing `DBN` prelude and schemas this
//! module does not convert (MBP-10, BBO, CBBO, statistics, …) are [`ConvertError::Format`].

use std::collections::{BTreeSet, HashMap};
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::mem::size_of;
use std::path::Path;

use dbn::decode::dbn::Decoder;
use dbn::decode::{DbnMetadata, DecodeRecordRef};
use dbn::{
    MboMsg, Mbp1Msg, Metadata, OhlcvMsg, Record, RecordRef, SType, Schema, TradeMsg, VersionUpgradePolicy,
    rtype,
};
use kestrel_types::{
    Aggressor, Bar, BookOrder, BookSide, Currency, Event, InstrumentId, InstrumentSpec, NANO, NANOS_PER_DAY,
    OrderAction, Payload, Price, Qty, Quote, Ratio, Timestamp, Trade, VenueId,
};

use super::{Collector, ConvertError, Format};

/// The first three bytes of every DBN stream (after decompression).
const DBN_MAGIC: &[u8; 3] = b"DBN";

/// The zstd frame magic (RFC 8878), little-endian `0xFD2FB528`: how a `.dbn.zst` is told from a
/// plain `.dbn` by content.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The DBN versions this reader takes: the record layouts it knows (v4 widens the record header).
const VERSIONS: std::ops::RangeInclusive<u8> = 1..=3;

/// DBN's "undefined price" sentinel.
const UNDEF_PRICE: i64 = i64::MAX;

/// DBN's "undefined size" sentinel for order sizes.
const UNDEF_SIZE: u32 = u32::MAX;

/// DBN's "undefined" sentinel for `i32` fields of definitions.
const UNDEF_I32: i32 = i32::MAX;

/// Databento's records do not say which Kestrel venue they belong to; the table has one.
const VENUE: VenueId = VenueId(0);

/// Julian day number of 1970-01-01, to compare mapping dates with day numbers since the epoch.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Bytes of the input buffered per read: enough that the per-call cost disappears.
const READ_BUFFER: usize = 1 << 16;

/// Whether `head` starts like a DBN stream: `DBN` and a version byte (any non-zero one, so that a
/// v4 file is still recognised and then refused with a clear message).
fn is_dbn_prelude(head: &[u8]) -> bool {
    head.len() >= 4 && head.starts_with(DBN_MAGIC) && head[3] != 0
}

/// The first four decompressed bytes of a zstd stream, from the (possibly cut-off) head of the
/// file. zstd decodes whole blocks, so this works when the first block fits in the head (small
/// files); otherwise the `.dbn.zst` name is what tells.
fn zstd_head(head: &[u8]) -> Option<[u8; 4]> {
    let mut dec = zstd::stream::read::Decoder::with_buffer(head).ok()?;
    let mut out = [0u8; 4];
    dec.read_exact(&mut out).ok()?;
    Some(out)
}

/// Tells a DBN file by its first bytes (`DBN` + version, or a zstd stream whose content starts so),
/// else by its name (`.dbn`, `.dbn.zst`), so that a damaged file named like DBN reaches the reader
/// and gets its precise error rather than "cannot tell the format".
pub(super) fn detect(name: &str, head: &[u8]) -> Option<Format> {
    if is_dbn_prelude(head) {
        return Some(Format::Dbn);
    }
    if head.starts_with(&ZSTD_MAGIC) && zstd_head(head).is_some_and(|h| is_dbn_prelude(&h)) {
        return Some(Format::Dbn);
    }
    (name.ends_with(".dbn") || name.ends_with(".dbn.zst")).then_some(Format::Dbn)
}

/// The smallest record: the 16-byte header alone.
const HEADER_LEN: usize = 16;

/// The record size a known `rtype` must have in a file of `version` (without `ts_out`).
fn expected_len(rtype: u8, version: u8) -> Option<(usize, &'static str)> {
    Some(match rtype {
        rtype::MBO => (size_of::<MboMsg>(), "MBO"),
        rtype::MBP_1 => (size_of::<Mbp1Msg>(), "MBP-1/TBBO"),
        rtype::MBP_0 => (size_of::<TradeMsg>(), "trade"),
        rtype::OHLCV_1S
        | rtype::OHLCV_1M
        | rtype::OHLCV_1H
        | rtype::OHLCV_1D
        | rtype::OHLCV_EOD
        | rtype::OHLCV_DEPRECATED => (size_of::<OhlcvMsg>(), "OHLCV"),
        rtype::INSTRUMENT_DEF => (
            match version {
                1 => size_of::<dbn::v1::InstrumentDefMsg>(),
                2 => size_of::<dbn::v2::InstrumentDefMsg>(),
                _ => size_of::<dbn::v3::InstrumentDefMsg>(),
            },
            "definition",
        ),
        _ => return None,
    })
}

/// Why the framing of a record is wrong, if it is: a length below the header or not a multiple of
/// 8 bytes (every DBN record is), or, for the record types converted here, a length that is
/// neither the type's size nor that size plus an 8-byte `ts_out`.
fn frame_error(len_byte: u8, rtype: u8, version: u8) -> Option<String> {
    let len = usize::from(len_byte) * 4;
    if len < HEADER_LEN || !len.is_multiple_of(8) {
        return Some(format!(
            "its length byte {len_byte} makes {len} bytes, not a whole DBN record (damaged length byte?)"
        ));
    }
    match expected_len(rtype, version) {
        Some((want, kind)) if len != want && len != want + size_of::<u64>() => Some(format!(
            "its length says {len} bytes but a DBN v{version} {kind} record is {want} (damaged length byte?)"
        )),
        _ => None,
    }
}

/// The decompressed (or plain) DBN stream as the decoder sees it: bytes are handed out only up to
/// the start of the first record whose length byte is impossible, and bytes handed out are
/// counted so that the end of the stream can be checked against what the records account for.
///
/// The `dbn` decoder trusts each record's length: a damaged one makes it read the following
/// records at the wrong offsets, and an odd number of 4-byte words puts them off 8-byte alignment,
/// which the crate only checks with a debug assertion before casting. Checking every length here,
/// before the decoder buffers the bytes, keeps a damaged file an error with a record index.
struct Framer<R> {
    /// The stream, prelude included.
    inner: R,
    /// The file's DBN version (definition sizes depend on it).
    version: u8,
    /// Bytes read from `inner` and not yet handed out start at `buf[start]`.
    buf: Vec<u8>,
    /// See `buf`.
    start: usize,
    /// Where `inner` reads into before the bytes join `buf`.
    scratch: Box<[u8]>,
    /// Bytes handed out so far: the stream offset of `buf[start]`.
    handed: u64,
    /// Stream offset of the next record's header (the first is after the metadata).
    next_header: u64,
    /// Records whose header has been checked: the index of the record at `next_header`.
    records: u64,
    /// Bytes of `buf[start..]` that may be handed out (they end at a checked boundary or at EOF).
    cleared: usize,
    /// The framing error at a record index, once found: nothing past that record is handed out.
    error: Option<(u64, String)>,
    /// `inner` is exhausted.
    eof: bool,
    /// Whether `inner` is a zstd decoder (for the error message of a cut-off stream).
    compressed: bool,
    /// Set when the zstd stream ended inside a frame.
    cut: bool,
}

impl<R: Read> Framer<R> {
    /// A framer over `inner` (which starts with the prelude) whose records start at `first`.
    fn new(inner: R, version: u8, first: u64, compressed: bool) -> Self {
        Self {
            inner,
            version,
            buf: Vec::with_capacity(2 * READ_BUFFER),
            start: 0,
            scratch: vec![0; READ_BUFFER].into_boxed_slice(),
            handed: 0,
            next_header: first,
            records: 0,
            cleared: 0,
            error: None,
            eof: false,
            compressed,
            cut: false,
        }
    }

    /// Reads more of `inner` behind what is buffered.
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let n = loop {
            match self.inner.read(&mut self.scratch) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The decoder takes `UnexpectedEof` for a clean end of input; a zstd frame cut
                // short must not look like one.
                Err(e) if self.compressed && e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.cut = true;
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the zstd stream ends inside a frame",
                    ));
                }
                Err(e) => return Err(e),
            }
        };
        self.buf.extend_from_slice(&self.scratch[..n]);
        self.eof = n == 0;
        Ok(())
    }

    /// Checks the headers of the buffered bytes and clears what may be handed out.
    fn clear(&mut self) {
        let avail = (self.buf.len() - self.start) as u64;
        let end = self.handed + avail;
        while self.error.is_none() && self.next_header + 1 < end {
            let at = self.start + (self.next_header - self.handed) as usize;
            let (len_byte, rtype) = (self.buf[at], self.buf[at + 1]);
            if let Some(reason) = frame_error(len_byte, rtype, self.version) {
                self.error = Some((self.records, reason));
                break;
            }
            self.next_header += u64::from(len_byte) * 4;
            self.records += 1;
        }
        // Up to the next unchecked header, or everything once the stream has ended (a partial
        // header is then a truncated file, which the end-of-stream check reports).
        let limit = if self.eof && self.error.is_none() { end } else { self.next_header.min(end) };
        self.cleared = (limit.max(self.handed) - self.handed) as usize;
    }
}

impl<R: Read> Read for Framer<R> {
    /// Hands out cleared bytes; the framing error once everything before it has been handed out.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.cleared == 0 {
            if let Some((index, reason)) = &self.error {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("record {index}: {reason}")));
            }
            if self.eof {
                return Ok(0);
            }
            self.fill()?;
            self.clear();
        }
        let n = out.len().min(self.cleared);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        self.cleared -= n;
        self.handed += n as u64;
        Ok(n)
    }
}

/// The stream under the decoder: the prelude already read, then the rest of the file.
type Stream = Framer<io::Chain<Cursor<[u8; 8]>, Box<dyn Read>>>;

/// An [`io::Error`] of `path` as a conversion error.
fn io_err(path: &Path) -> impl Fn(io::Error) -> ConvertError + '_ {
    move |source| ConvertError::Io { path: path.to_path_buf(), source }
}

/// A whole-file format error of `path`.
fn format_err(path: &Path, reason: impl Into<String>) -> ConvertError {
    ConvertError::Format { path: path.to_path_buf(), reason: reason.into() }
}

/// Reads a `.dbn` or `.dbn.zst` file into `coll`.
///
/// # Errors
/// [`ConvertError::Format`] for a file that is not DBN v1–v3 of a schema this module converts,
/// [`ConvertError::Row`] for a malformed record (see the module docs for which are fatal),
/// [`ConvertError::Io`].
pub(super) fn read(path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    let mut input = BufReader::with_capacity(READ_BUFFER, coll.open(path)?);
    let head = input.fill_buf().map_err(io_err(path))?;
    let compressed = head.starts_with(&ZSTD_MAGIC);
    if !compressed && !head.starts_with(DBN_MAGIC) {
        let shown: Vec<String> = head.iter().take(4).map(|b| format!("{b:02X}")).collect();
        return Err(format_err(
            path,
            format!(
                "not a DBN file: it starts with [{}], neither `DBN` nor the zstd magic 28 B5 2F FD",
                shown.join(" ")
            ),
        ));
    }
    let mut src: Box<dyn Read> = if compressed {
        Box::new(zstd::stream::read::Decoder::with_buffer(input).map_err(io_err(path))?)
    } else {
        Box::new(input)
    };
    let mut prelude = [0u8; 8];
    if let Err(e) = src.read_exact(&mut prelude) {
        let what = if compressed { "the zstd stream ends" } else { "the file ends" };
        return Err(format_err(path, format!("{what} before the 8-byte DBN prelude ({e})")));
    }
    if !prelude.starts_with(DBN_MAGIC) {
        return Err(format_err(path, "the zstd stream does not hold DBN (no `DBN` prelude)"));
    }
    // The version is byte 3 of the stream itself, whatever a decoder may report after upgrading.
    let version = prelude[3];
    if !VERSIONS.contains(&version) {
        return Err(format_err(
            path,
            format!("DBN version {version} is not supported (this reader takes versions 1 to 3)"),
        ));
    }
    let meta_len = u64::from(u32::from_le_bytes([prelude[4], prelude[5], prelude[6], prelude[7]]));
    let stream: Stream = Framer::new(Cursor::new(prelude).chain(src), version, 8 + meta_len, compressed);
    let mut decoder = Decoder::with_upgrade_policy(stream, VersionUpgradePolicy::AsIs)
        .map_err(|e| format_err(path, format!("DBN metadata: {e}")))?;
    let meta = decoder.metadata().clone();
    check_schema(path, &meta)?;
    let mut reader = DbnReader::new(coll, &meta, version);
    let mut consumed = 8 + meta_len;
    let mut index: u64 = 0;
    loop {
        let rec = match decoder.decode_record_ref() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(e) => {
                let framer = decoder.get_ref();
                let reason = match &framer.error {
                    Some((at, why)) if *at == index => format!("record {index}: {why}"),
                    _ if framer.cut => {
                        format!("record {index}: the zstd stream ends early (truncated file?)")
                    }
                    _ => format!("record {index}: {e}"),
                };
                return Err(reader.coll.row_error(index, reason).into());
            }
        };
        consumed += rec.record_size() as u64;
        reader.record(&rec, index)?;
        index += 1;
    }
    let total = decoder.get_ref().handed;
    if total != consumed {
        let extra = total.saturating_sub(consumed);
        return Err(reader
            .coll
            .row_error(
                index,
                format!(
                    "the file ends {extra} bytes into record {index}, which is cut off (truncated file?)"
                ),
            )
            .into());
    }
    reader.finish(index)
}

/// Refuses, up front, schemas whose records this module does not convert, so that such a file is
/// not silently turned into an empty output.
fn check_schema(path: &Path, meta: &Metadata) -> Result<(), ConvertError> {
    match meta.schema {
        None
        | Some(
            Schema::Mbo
            | Schema::Mbp1
            | Schema::Tbbo
            | Schema::Trades
            | Schema::Ohlcv1S
            | Schema::Ohlcv1M
            | Schema::Ohlcv1H
            | Schema::Ohlcv1D
            | Schema::OhlcvEod
            | Schema::Definition,
        ) => Ok(()),
        Some(other) => Err(format_err(
            path,
            format!(
                "DBN schema {other} is not converted (mbo, mbp-1, tbbo, trades, ohlcv-*, definition are)"
            ),
        )),
    }
}

/// What a definition record says, whatever its version's layout.
#[derive(Debug)]
struct Definition {
    /// Databento's numeric id.
    instrument_id: u32,
    /// The venue's symbol.
    raw_symbol: String,
    /// Tick, 1e-9 fixed point.
    min_price_increment: i64,
    /// Contract size, 1e-9 fixed point.
    unit_of_measure_qty: i64,
    /// Deliverables per contract (whole).
    contract_multiplier: i32,
    /// Quote currency code.
    currency: String,
    /// Settlement currency code (often blank).
    settl_currency: String,
}

/// Builds a [`Definition`] from a definition record of any version (the field names agree).
macro_rules! definition {
    ($m:expr) => {{
        let m = $m;
        Definition {
            instrument_id: m.hd.instrument_id,
            raw_symbol: m.raw_symbol().unwrap_or_default().trim().to_owned(),
            min_price_increment: m.min_price_increment,
            unit_of_measure_qty: m.unit_of_measure_qty,
            contract_multiplier: m.contract_multiplier,
            currency: m.currency().unwrap_or_default().trim().to_owned(),
            settl_currency: m.settl_currency().unwrap_or_default().trim().to_owned(),
        }
    }};
}

/// Per-file state of the mapping from DBN records to events.
struct DbnReader<'a> {
    /// Where events go.
    coll: &'a mut Collector,
    /// The file's DBN version (definitions differ per version).
    version: u8,
    /// Bytes appended to every record when the file was written with `ts_out`.
    ts_out: usize,
    /// The file's schema, for OHLCV records of the deprecated rtype that does not say the interval.
    schema: Option<Schema>,
    /// Whether definitions name instruments better than the metadata's mappings (`parent` and
    /// `instrument_id` input symbology).
    definitions_first: bool,
    /// instrument_id → (first day, day after the last, symbol) from the metadata.
    mapped: HashMap<u32, Vec<(i64, i64, String)>>,
    /// instrument_id → symbol from definition records of this file.
    defined: HashMap<u32, String>,
    /// (instrument_id, day) → Kestrel instrument, so that the lookups above run once per day.
    ids: HashMap<(u32, i64), InstrumentId>,
    /// Instruments inside an MBO snapshot, by raw id (a set, so closing at the end is in order).
    in_snapshot: BTreeSet<u16>,
    /// The last `ts_recv` pushed from this file (closing markers at the end use it).
    last_recv: Option<Timestamp>,
}

impl<'a> DbnReader<'a> {
    /// The state for one file with metadata `meta` and version byte `version`.
    fn new(coll: &'a mut Collector, meta: &Metadata, version: u8) -> Self {
        let mut mapped: HashMap<u32, Vec<(i64, i64, String)>> = HashMap::new();
        if meta.stype_out == SType::InstrumentId {
            for m in &meta.mappings {
                for iv in &m.intervals {
                    if let Ok(id) = iv.symbol.parse::<u32>() {
                        let d0 = i64::from(iv.start_date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
                        let d1 = i64::from(iv.end_date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
                        mapped.entry(id).or_default().push((d0, d1, m.raw_symbol.clone()));
                    }
                }
            }
        }
        let ts_out = if meta.ts_out { size_of::<u64>() } else { 0 };
        Self {
            coll,
            version,
            ts_out,
            schema: meta.schema,
            definitions_first: matches!(meta.stype_in, Some(SType::Parent | SType::InstrumentId)),
            mapped,
            defined: HashMap::new(),
            ids: HashMap::new(),
            in_snapshot: BTreeSet::new(),
            last_recv: None,
        }
    }

    /// The symbol of Databento instrument `iid` on day `day` (see the module docs for the order).
    fn symbol_of(&self, iid: u32, day: i64) -> String {
        let from_map = || {
            self.mapped.get(&iid).and_then(|list| {
                list.iter()
                    .find(|(d0, d1, _)| (*d0..*d1).contains(&day))
                    .or(list.first())
                    .map(|m| m.2.clone())
            })
        };
        let from_def = || self.defined.get(&iid).cloned();
        let found =
            if self.definitions_first { from_def().or_else(from_map) } else { from_map().or_else(from_def) };
        found.unwrap_or_else(|| iid.to_string())
    }

    /// The Kestrel instrument of Databento instrument `iid` for a record received at `recv`.
    fn instrument(&mut self, iid: u32, recv: Timestamp) -> InstrumentId {
        let day = recv.nanos().div_euclid(NANOS_PER_DAY);
        if let Some(id) = self.ids.get(&(iid, day)) {
            return *id;
        }
        let symbol = self.symbol_of(iid, day);
        let id = self.coll.instrument(&symbol, VENUE);
        self.ids.insert((iid, day), id);
        id
    }

    /// Adds one event.
    fn push(
        &mut self,
        ts_event: Timestamp,
        ts_recv: Timestamp,
        instrument: InstrumentId,
        payload: Payload,
        index: u64,
    ) -> Result<(), ConvertError> {
        self.coll.push(&Event { ts_event, ts_recv, instrument, payload }, index)?;
        self.last_recv = Some(ts_recv);
        Ok(())
    }

    /// Reports record `index` as malformed (an error unless malformed records are skipped).
    fn bad(&mut self, index: u64, reason: String) -> Result<(), ConvertError> {
        let err = self.coll.row_error(index, reason);
        self.coll.malformed(err)
    }

    /// Checks that record `index` has the length of a `kind` record of `expected` bytes: a length
    /// byte that disagrees means the framing is lost, which no option can skip past.
    fn check_len(
        &self,
        rec: &RecordRef<'_>,
        expected: usize,
        kind: &str,
        index: u64,
    ) -> Result<(), ConvertError> {
        let expected = expected + self.ts_out;
        let size = rec.record_size();
        if size == expected {
            Ok(())
        } else {
            Err(self
                .coll
                .row_error(
                    index,
                    format!(
                        "record {index}: its length says {size} bytes but a DBN v{} {kind} record is \
                         {expected} (damaged length byte?)",
                        self.version
                    ),
                )
                .into())
        }
    }

    /// Maps one record.
    fn record(&mut self, rec: &RecordRef<'_>, index: u64) -> Result<(), ConvertError> {
        self.coll.row();
        let rt = rec.header().rtype;
        if let Some((want, kind)) = expected_len(rt, self.version) {
            // Exactly the type's size (the framer allowed for a `ts_out` the metadata may deny);
            // `RecordRef::get` below relies on it.
            self.check_len(rec, want, kind, index)?;
        }
        match rt {
            rtype::MBO => {
                if let Some(m) = rec.get::<MboMsg>() {
                    self.mbo(m, index)?;
                }
            }
            rtype::MBP_1 => {
                if let Some(m) = rec.get::<Mbp1Msg>() {
                    self.mbp1(m, index)?;
                }
            }
            rtype::MBP_0 => {
                if let Some(m) = rec.get::<TradeMsg>() {
                    self.trade(m, index)?;
                }
            }
            rtype::OHLCV_1S
            | rtype::OHLCV_1M
            | rtype::OHLCV_1H
            | rtype::OHLCV_1D
            | rtype::OHLCV_EOD
            | rtype::OHLCV_DEPRECATED => {
                if let Some(m) = rec.get::<OhlcvMsg>() {
                    self.bar(m, rt, index)?;
                }
            }
            rtype::INSTRUMENT_DEF => {
                let def = match self.version {
                    1 => rec.get::<dbn::v1::InstrumentDefMsg>().map(|m| definition!(m)),
                    2 => rec.get::<dbn::v2::InstrumentDefMsg>().map(|m| definition!(m)),
                    _ => rec.get::<dbn::v3::InstrumentDefMsg>().map(|m| definition!(m)),
                };
                if let Some(def) = def {
                    self.define(def);
                }
            }
            // Status, statistics, imbalance, mapping, system and error records: read, not events.
            _ => {}
        }
        Ok(())
    }

    /// An MBO record: order events, trades, clears and snapshot markers.
    fn mbo(&mut self, m: &MboMsg, index: u64) -> Result<(), ConvertError> {
        let (te, tr) = match times(m.hd.ts_event, m.ts_recv) {
            Ok(t) => t,
            Err(reason) => return self.bad(index, reason),
        };
        let id = self.instrument(m.hd.instrument_id, tr);
        let snapshot = m.flags.is_snapshot();
        if snapshot && !self.in_snapshot.contains(&id.0) {
            self.push(te, tr, id, Payload::SnapshotBegin, index)?;
            self.in_snapshot.insert(id.0);
        } else if !snapshot && self.in_snapshot.remove(&id.0) {
            // A snapshot whose last record lacked `LAST`: it ends where live records start.
            self.push(te, tr, id, Payload::SnapshotEnd, index)?;
        }
        match mbo_payload(m) {
            Ok(Some(p)) => self.push(te, tr, id, p, index)?,
            Ok(None) => {}
            Err(reason) => self.bad(index, reason)?,
        }
        if snapshot && m.flags.is_last() && self.in_snapshot.remove(&id.0) {
            self.push(te, tr, id, Payload::SnapshotEnd, index)?;
        }
        Ok(())
    }

    /// An MBP-1 or TBBO record: the quote, and the trade when it is one.
    fn mbp1(&mut self, m: &Mbp1Msg, index: u64) -> Result<(), ConvertError> {
        let (te, tr) = match times(m.hd.ts_event, m.ts_recv) {
            Ok(t) => t,
            Err(reason) => return self.bad(index, reason),
        };
        let trade = if m.action as u8 == b'T' {
            match trade_of(m.price, m.size, m.side as u8) {
                Ok(t) => Some(t),
                Err(reason) => return self.bad(index, reason),
            }
        } else {
            None
        };
        let id = self.instrument(m.hd.instrument_id, tr);
        let l = &m.levels[0];
        let (bid, bid_size) = level(l.bid_px, l.bid_sz);
        let (ask, ask_size) = level(l.ask_px, l.ask_sz);
        self.push(te, tr, id, Payload::Quote(Quote { bid, bid_size, ask, ask_size }), index)?;
        if let Some(t) = trade {
            self.push(te, tr, id, Payload::Trade(t), index)?;
        }
        Ok(())
    }

    /// A trades-schema record.
    fn trade(&mut self, m: &TradeMsg, index: u64) -> Result<(), ConvertError> {
        let parsed =
            times(m.hd.ts_event, m.ts_recv).and_then(|t| Ok((t, trade_of(m.price, m.size, m.side as u8)?)));
        match parsed {
            Ok(((te, tr), t)) => {
                let id = self.instrument(m.hd.instrument_id, tr);
                self.push(te, tr, id, Payload::Trade(t), index)
            }
            Err(reason) => self.bad(index, reason),
        }
    }

    /// An OHLCV record of rtype `rt`, stamped at its close.
    fn bar(&mut self, m: &OhlcvMsg, rt: u8, index: u64) -> Result<(), ConvertError> {
        match bar_of(m, rt, self.schema) {
            Ok((close, bar)) => {
                let id = self.instrument(m.hd.instrument_id, close);
                self.push(close, close, id, Payload::Bar(bar), index)
            }
            Err(reason) => self.bad(index, reason),
        }
    }

    /// A definition: the symbol for this file's later records, and the instrument's table entry.
    fn define(&mut self, d: Definition) {
        let symbol = if d.raw_symbol.is_empty() { d.instrument_id.to_string() } else { d.raw_symbol.clone() };
        self.defined.insert(d.instrument_id, symbol.clone());
        self.ids.retain(|(iid, _), _| *iid != d.instrument_id);
        let id = self.coll.instrument(&symbol, VENUE);
        if let Some(spec) = spec_of(&d, symbol) {
            self.coll.define(id, spec);
        }
    }

    /// Closes snapshots still open at the end of the file (stamped with the last `ts_recv`
    /// written, so that time does not go back).
    fn finish(mut self, index: u64) -> Result<(), ConvertError> {
        if let Some(ts) = self.last_recv {
            for raw in std::mem::take(&mut self.in_snapshot) {
                self.push(ts, ts, InstrumentId(raw), Payload::SnapshotEnd, index)?;
            }
        }
        Ok(())
    }
}

/// `ts_event` and `ts_recv` of a record as timestamps, refusing DBN's undefined `u64::MAX` and
/// anything else beyond `i64`.
fn times(ts_event: u64, ts_recv: u64) -> Result<(Timestamp, Timestamp), String> {
    let t = |v: u64, name: &str| {
        i64::try_from(v)
            .map(Timestamp::from_nanos)
            .map_err(|_| format!("{name} {v} is undefined or out of range"))
    };
    Ok((t(ts_event, "ts_event")?, t(ts_recv, "ts_recv")?))
}

/// A required price: DBN's raw 1e-9 count is Kestrel's raw nano count; the sentinel is refused.
fn price(raw: i64, what: &str) -> Result<Price, String> {
    if raw == UNDEF_PRICE || raw == i64::MIN {
        Err(format!("{what} is undefined (i64::MAX)"))
    } else {
        Ok(Price::from_raw(raw))
    }
}

/// A whole-number DBN size as a quantity (`u32::MAX × 10^9` fits `i64`).
fn size(n: u32) -> Qty {
    Qty::from_raw(i64::from(n) * NANO)
}

/// A required order size; DBN's undefined size is refused.
fn order_size(n: u32) -> Result<Qty, String> {
    if n == UNDEF_SIZE { Err("size is undefined (u32::MAX)".into()) } else { Ok(size(n)) }
}

/// One side of a top-of-book level: an undefined price (an empty side) is price 0, size 0.
fn level(px: i64, sz: u32) -> (Price, Qty) {
    if px == UNDEF_PRICE || px == i64::MIN {
        (Price::ZERO, Qty::ZERO)
    } else {
        (Price::from_raw(px), size(sz))
    }
}

/// The book side of an order from DBN's side byte.
fn book_side(side: u8) -> Result<BookSide, String> {
    match side {
        b'B' => Ok(BookSide::Bid),
        b'A' => Ok(BookSide::Ask),
        other => Err(format!("order side {:?} (expected B or A)", char::from(other))),
    }
}

/// A trade from DBN's price, size and side (the aggressor's).
fn trade_of(px: i64, sz: u32, side: u8) -> Result<Trade, String> {
    let aggressor = match side {
        b'B' => Aggressor::Buy,
        b'A' => Aggressor::Sell,
        b'N' => Aggressor::Unknown,
        other => return Err(format!("trade side {:?} (expected B, A or N)", char::from(other))),
    };
    Ok(Trade { price: price(px, "trade price")?, size: order_size(sz)?, aggressor, trade_id: 0 })
}

/// The event an MBO record makes, if any.
fn mbo_payload(m: &MboMsg) -> Result<Option<Payload>, String> {
    let action = match m.action as u8 {
        b'A' => OrderAction::Add,
        b'C' => OrderAction::Cancel,
        b'M' => OrderAction::Modify,
        b'F' => OrderAction::Fill,
        b'T' => return trade_of(m.price, m.size, m.side as u8).map(|t| Some(Payload::Trade(t))),
        b'R' => return Ok(Some(Payload::BookClear)),
        b'N' => return Ok(None),
        other => return Err(format!("MBO action {:?} (expected A, C, M, F, T, R or N)", char::from(other))),
    };
    Ok(Some(Payload::Order(BookOrder {
        action,
        side: book_side(m.side as u8)?,
        price: price(m.price, "order price")?,
        size: order_size(m.size)?,
        order_id: m.order_id,
    })))
}

/// A bar and its close time from an OHLCV record of rtype `rt`.
fn bar_of(m: &OhlcvMsg, rt: u8, schema: Option<Schema>) -> Result<(Timestamp, Bar), String> {
    let secs: i64 = match (rt, schema) {
        (rtype::OHLCV_1S, _) | (_, Some(Schema::Ohlcv1S)) => 1,
        (rtype::OHLCV_1M, _) | (_, Some(Schema::Ohlcv1M)) => 60,
        (rtype::OHLCV_1H, _) | (_, Some(Schema::Ohlcv1H)) => 3_600,
        (rtype::OHLCV_1D | rtype::OHLCV_EOD, _) | (_, Some(Schema::Ohlcv1D | Schema::OhlcvEod)) => 86_400,
        _ => {
            return Err(
                "OHLCV record of the deprecated rtype in a file that does not say its interval".into()
            );
        }
    };
    let open_ts =
        i64::try_from(m.hd.ts_event).map_err(|_| format!("ts_event {} is undefined", m.hd.ts_event))?;
    let close = open_ts
        .checked_add(secs * 1_000_000_000)
        .map(Timestamp::from_nanos)
        .ok_or_else(|| format!("bar close after ts_event {open_ts} is out of range"))?;
    let (open, high, low, close_px) =
        (price(m.open, "open")?, price(m.high, "high")?, price(m.low, "low")?, price(m.close, "close")?);
    if high < low || high < open.max(close_px) || low > open.min(close_px) {
        return Err(format!("bar high {high} / low {low} do not bracket open {open} and close {close_px}"));
    }
    let volume = i64::try_from(m.volume)
        .ok()
        .and_then(|v| v.checked_mul(NANO))
        .map(Qty::from_raw)
        .ok_or_else(|| format!("volume {} is out of range", m.volume))?;
    Ok((close, Bar { ts: close, open, high, low, close: close_px, volume, open_interest: Qty::ZERO }))
}

/// Decimal places of a positive nano-unit raw value.
fn places(raw: i64) -> u8 {
    let mut r = raw;
    let mut p = 9u8;
    while p > 0 && r % 10 == 0 {
        r /= 10;
        p -= 1;
    }
    p
}

/// The instrument spec a definition gives, when it gives a tick.
fn spec_of(d: &Definition, symbol: String) -> Option<InstrumentSpec> {
    if d.min_price_increment == UNDEF_PRICE || d.min_price_increment <= 0 {
        return None;
    }
    let tick = Price::from_raw(d.min_price_increment);
    let multiplier = if d.unit_of_measure_qty != UNDEF_PRICE && d.unit_of_measure_qty > 0 {
        Ratio::from_raw(d.unit_of_measure_qty)
    } else if d.contract_multiplier != UNDEF_I32 && d.contract_multiplier > 0 {
        Ratio::from_raw(i64::from(d.contract_multiplier) * NANO)
    } else {
        Ratio::ONE
    };
    let quote = Currency::try_new(&d.currency).unwrap_or(Currency::USD);
    let settlement = Currency::try_new(&d.settl_currency).unwrap_or(quote);
    Some(InstrumentSpec {
        symbol,
        venue: VENUE,
        tick_size: tick,
        lot_size: Qty::ONE,
        display_decimals: places(tick.raw()),
        multiplier,
        quote_currency: quote,
        settlement_currency: settlement,
    })
}

/// Helpers for the converter tests of this module, `hftbacktest` and `nautilus`: convert real or
/// damaged files end to end and read the tick file back.
#[cfg(test)]
pub(super) mod test_util {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use kestrel_types::{Event, Payload};

    use crate::convert::{ConvertError, ConvertOptions, Format, Summary, convert};
    use crate::tick::TickFile;

    /// A file of the shared data folder.
    pub(crate) fn data(rel: &str) -> PathBuf {
        crate::data_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap().join(rel)
    }

    /// What a successful conversion gives back: the summary, the events read back from the
    /// validated tick file, and the tick file's bytes.
    pub(crate) type Converted = (Summary, Vec<Event>, Vec<u8>);

    /// Converts `inputs` (format detected unless given) into a temporary tick file, validates it
    /// and reads it back.
    pub(crate) fn run(
        format: Option<Format>,
        inputs: &[PathBuf],
        skip: bool,
    ) -> Result<Converted, ConvertError> {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.kt");
        let opts = ConvertOptions { skip_malformed: skip, ..ConvertOptions::default() };
        let s = convert(format, inputs, &out, opts, None)?;
        let f = TickFile::open(&out).unwrap();
        assert_eq!(f.validate().unwrap().records, s.records_out);
        let evs: Vec<Event> = f.events().map(Result::unwrap).collect();
        Ok((s, evs, std::fs::read(&out).unwrap()))
    }

    /// [`run`] that must succeed.
    pub(crate) fn ok(format: Option<Format>, inputs: &[PathBuf]) -> Converted {
        run(format, inputs, false).unwrap_or_else(|e| panic!("{inputs:?}: {e}"))
    }

    /// Writes `body` as `name` in `dir`.
    pub(crate) fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path
    }

    /// The row error a conversion of `path` must fail with: at `index`, reason containing `msg`.
    pub(crate) fn row_error(format: Option<Format>, path: &Path, skip: bool, index: u64, msg: &str) {
        match run(format, &[path.to_path_buf()], skip) {
            Err(ConvertError::Row(e)) => {
                assert_eq!((e.file.as_path(), e.line), (path, index), "{e}");
                assert!(e.reason.contains(msg), "want {msg:?} in: {e}");
            }
            Err(other) => panic!("want a row error at {index} ({msg}), got: {other}"),
            Ok(_) => panic!("want a row error at {index} ({msg}), got success"),
        }
    }

    /// The whole-file error a conversion of `path` must fail with, its reason containing `msg`.
    pub(crate) fn format_error(format: Option<Format>, path: &Path, msg: &str) {
        match run(format, &[path.to_path_buf()], true) {
            Err(ConvertError::Format { path: p, reason }) => {
                assert_eq!(p, path);
                assert!(reason.contains(msg), "want {msg:?} in: {reason}");
            }
            Err(other) => panic!("want a format error ({msg}), got: {other}"),
            Ok(_) => panic!("want a format error ({msg}), got success"),
        }
    }

    /// Events per payload kind (orders split by action).
    pub(crate) fn kinds(evs: &[Event]) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for e in evs {
            let k = match e.payload {
                Payload::Trade(_) => "trade",
                Payload::Quote(_) => "quote",
                Payload::Level(_) => "level",
                Payload::BookClear => "clear",
                Payload::SnapshotBegin => "begin",
                Payload::SnapshotEnd => "end",
                Payload::Bar(_) => "bar",
                Payload::Order(o) => match o.action {
                    kestrel_types::OrderAction::Add => "add",
                    kestrel_types::OrderAction::Cancel => "cancel",
                    kestrel_types::OrderAction::Modify => "modify",
                    kestrel_types::OrderAction::Fill => "fill",
                },
                _ => "other",
            };
            *m.entry(k).or_insert(0) += 1;
        }
        m
    }

    /// What every converted file must satisfy: `ts_recv` never decreases, sizes are not negative,
    /// two-sided quotes are not crossed, bars bracket their open and close.
    pub(crate) fn invariants(evs: &[Event]) {
        assert!(evs.windows(2).all(|w| w[0].ts_recv <= w[1].ts_recv), "ts_recv decreases");
        for e in evs {
            match e.payload {
                Payload::Trade(t) => assert!(t.size.is_positive(), "{e:?}"),
                Payload::Level(l) => assert!(!l.size.is_negative(), "{e:?}"),
                Payload::Order(o) => assert!(!o.size.is_negative(), "{e:?}"),
                Payload::Quote(q) => {
                    assert!(!q.bid_size.is_negative() && !q.ask_size.is_negative(), "{e:?}");
                    if q.bid_size.is_positive() && q.ask_size.is_positive() {
                        assert!(q.bid <= q.ask, "crossed: {e:?}");
                    }
                }
                Payload::Bar(b) => {
                    assert!(b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close), "{e:?}");
                    assert!(!b.volume.is_negative(), "{e:?}");
                    assert_eq!(b.ts, e.ts_recv, "bars are stamped at completion");
                }
                _ => {}
            }
        }
    }
}

/// End-to-end conversions of the public DBN files and of damaged or synthetic ones.
#[cfg(test)]
mod tests {
    use std::ffi::c_char;
    use std::path::PathBuf;

    use dbn::encode::EncodeRecord;
    use dbn::encode::dbn::Encoder;
    use dbn::{FlagSet, RecordHeader};

    use super::test_util::{data, format_error, invariants, kinds, ok, row_error, run, write};
    use super::*;
    use crate::convert::{detect as detect_any, head};

    /// The smallest v3 file: two MBO cancels.
    const MBO_V3: &str = "dbn/glbx-esh1-20201228.mbo.v3.dbn";
    /// The only v2 file: two MBP-1 records.
    const MBP1_V2: &str = "dbn/glbx-esh1-20201228.mbp-1.v2.dbn";
    /// TBBO v3 (zstd), flags 129.
    const TBBO_V3: &str = "dbn/glbx-esh1-20201228.tbbo.v3.dbn.zst";
    /// The definition of ESM4 that goes with [`ESM4_MBO`].
    const ESM4_DEF: &str = "dbn/glbx-esm4-20240508.definition.v1.dbn.zst";
    /// MBO v1 with a 13,600-order start-of-day snapshot led by an `R` clear.
    const ESM4_MBO: &str = "dbn/glbx-esm4-20240508.mbo.v1.dbn.zst";
    /// MBP-1 v1 whose trades are [`ESU4_TRADES`].
    const ESU4_MBP1: &str = "dbn/glbx-esu4-20240701.mbp-1.v1.dbn.zst";
    /// Trades v1, plain.
    const ESU4_TRADES: &str = "dbn/glbx-esu4-20240701.trades.v1.dbn";
    /// The same trades, zstd: the pair must convert identically.
    const ESU4_TRADES_ZST: &str = "dbn/glbx-esu4-20240701.trades.v1.dbn.zst";
    /// Definitions of ESU4 and NQU4 for [`ESNQ_OHLCV`].
    const ESNQ_DEF: &str = "dbn/glbx-esu4-nqu4-20240701.definition.v1.dbn.zst";
    /// One-minute bars of two instruments in one file.
    const ESNQ_OHLCV: &str = "dbn/glbx-esu4-nqu4-20240701.ohlcv-1m.v1.dbn.zst";

    /// A timestamp from nanoseconds.
    fn ns(n: i64) -> Timestamp {
        Timestamp::from_nanos(n)
    }

    /// A price from decimal text.
    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    /// A quantity from decimal text.
    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }

    /// Paths of shared data files.
    fn files(rels: &[&str]) -> Vec<PathBuf> {
        rels.iter().map(|r| data(r)).collect()
    }

    /// The byte offset of the first record of a plain DBN file: prelude plus metadata length.
    fn records_start(bytes: &[u8]) -> usize {
        8 + u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize
    }

    /// Detection by name and by content, and what it must not claim.
    #[test]
    fn every_public_file_is_detected_by_name_and_content() {
        for rel in [
            MBO_V3,
            MBP1_V2,
            TBBO_V3,
            ESM4_DEF,
            ESM4_MBO,
            ESU4_MBP1,
            ESU4_TRADES,
            ESU4_TRADES_ZST,
            ESNQ_DEF,
            ESNQ_OHLCV,
        ] {
            let path = data(rel);
            let h = head(&path, 4096).unwrap();
            assert_eq!(detect_any(&path, &h), Some(Format::Dbn), "{rel}");
            // By content alone, whatever the name.
            assert_eq!(detect("data.bin", &h), Some(Format::Dbn), "{rel}");
        }
        assert_eq!(detect("x.bin", b"DBN"), None, "too short for a prelude");
        assert_eq!(detect("x.csv", &ZSTD_MAGIC), None, "zstd holding something else");
        assert_eq!(detect("x.csv.zst", &zstd::encode_all(&b"a,b\n1,2\n"[..], 3).unwrap()), None);
        assert_eq!(detect("x.dbn", b"junk"), Some(Format::Dbn), "the name says DBN: the reader explains");
    }

    /// The README's first/last records of the v3 MBO file.
    #[test]
    fn mbo_v3_two_cancels() {
        let (s, evs, _) = ok(None, &files(&[MBO_V3]));
        assert_eq!((s.rows_in, s.records_out, s.skipped), (2, 2, 0));
        assert_eq!(evs[0].ts_event, ns(1_609_160_400_000_429_831));
        assert_eq!(evs[0].ts_recv, ns(1_609_160_400_000_704_060));
        assert_eq!(
            evs[0].payload,
            Payload::Order(BookOrder {
                action: OrderAction::Cancel,
                side: BookSide::Ask,
                price: p("3722.75"),
                size: q("1"),
                order_id: 647_784_973_705,
            })
        );
        let Payload::Order(last) = evs[1].payload else { panic!() };
        assert_eq!((last.price, last.order_id), (p("3723"), 647_784_973_631));
        assert_eq!(s.instruments[0].0.symbol(), "ESH1", "from the metadata's mapping of 5482");
    }

    /// MBP-1 records become quotes of level 0.
    #[test]
    fn mbp1_v2_quotes_from_level_zero() {
        let (s, evs, _) = ok(None, &files(&[MBP1_V2]));
        assert_eq!((s.rows_in, s.records_out), (2, 2));
        let want = |ask_size: &str| {
            Payload::Quote(Quote {
                bid: p("3720.25"),
                bid_size: q("24"),
                ask: p("3720.5"),
                ask_size: q(ask_size),
            })
        };
        assert_eq!(evs[0].payload, want("11"));
        assert_eq!(evs[1].payload, want("12"));
        assert_eq!(evs[1].ts_recv, ns(1_609_160_400_006_246_513));
    }

    /// TBBO: a quote then a trade per record; unknown flag bits are accepted.
    #[test]
    fn tbbo_v3_quote_then_trade_with_unknown_flag_bits() {
        // Flags 129 = LAST + an unnamed low bit: accepted.
        let (s, evs, _) = ok(None, &files(&[TBBO_V3]));
        assert_eq!((s.rows_in, s.records_out, s.skipped), (2, 4, 0));
        assert_eq!(kinds(&evs), [("quote", 2), ("trade", 2)].into());
        assert_eq!(
            evs[0].payload,
            Payload::Quote(Quote {
                bid: p("3720.25"),
                bid_size: q("26"),
                ask: p("3720.5"),
                ask_size: q("7")
            })
        );
        assert_eq!(
            evs[1].payload,
            Payload::Trade(Trade {
                price: p("3720.25"),
                size: q("5"),
                aggressor: Aggressor::Sell,
                trade_id: 0
            })
        );
        assert_eq!(
            (evs[3].ts_event, evs[3].ts_recv),
            (ns(1_609_160_400_107_665_963), ns(1_609_160_400_108_142_648))
        );
        let Payload::Trade(t) = evs[3].payload else { panic!() };
        assert_eq!(t.size, q("21"));
    }

    /// The README's counts and snapshot layout of the ESM4 MBO file.
    #[test]
    fn mbo_v1_snapshot_clear_and_live_events() {
        let (s, evs, _) = ok(None, &files(&[ESM4_MBO]));
        assert_eq!((s.rows_in, s.records_out, s.skipped), (13_796, 13_798, 0));
        assert_eq!(
            kinds(&evs),
            [
                ("begin", 1),
                ("clear", 1),
                ("add", 13_600 + 78),
                ("cancel", 80),
                ("modify", 27),
                ("trade", 5),
                ("fill", 5),
                ("end", 1)
            ]
            .into()
        );
        let window_start = ns(1_715_126_400_000_000_000);
        // SnapshotBegin, the R clear (inside the snapshot: it is flagged so), 13,600 adds,
        // SnapshotEnd after the add flagged LAST, then the live records.
        assert_eq!(evs[0].payload, Payload::SnapshotBegin);
        assert_eq!(evs[1].payload, Payload::BookClear);
        assert!(
            evs[2..13_602]
                .iter()
                .all(|e| matches!(e.payload, Payload::Order(o) if o.action == OrderAction::Add))
        );
        assert!(evs[..13_603].iter().all(|e| e.ts_recv == window_start));
        assert!(evs[2..13_602].iter().all(|e| e.ts_event < window_start), "orders entered before the window");
        assert_eq!(evs[2].ts_event, ns(1_714_910_404_570_304_567), "2024-05-05, three days earlier");
        assert_eq!(evs[13_602].payload, Payload::SnapshotEnd);
        assert_eq!(
            evs[13_601].payload,
            Payload::Order(BookOrder {
                action: OrderAction::Add,
                side: BookSide::Bid,
                price: p("5212"),
                size: q("1"),
                order_id: 6_413_245_568_330
            })
        );
        assert_eq!(evs[13_603].ts_recv, ns(1_715_126_400_059_830_547));
        let last = evs.last().unwrap();
        assert_eq!(last.ts_recv, ns(1_715_126_401_995_697_728));
        // T records are trades with the aggressor; F records fills of resting orders.
        for e in &evs {
            match e.payload {
                Payload::Trade(t) => assert_eq!((t.aggressor, t.trade_id), (Aggressor::Buy, 0)),
                Payload::Order(o) if o.action == OrderAction::Fill => assert_eq!(o.side, BookSide::Ask),
                _ => {}
            }
        }
        invariants(&evs);
        assert_eq!(s.instruments.len(), 1);
        assert_eq!(s.instruments[0].0.symbol(), "ESM4");
    }

    /// MBP-1 trades agree with the trades schema of the same window.
    #[test]
    fn mbp1_v1_quotes_and_the_same_trades_as_the_trades_file() {
        let (s, evs, _) = ok(None, &files(&[ESU4_MBP1]));
        assert_eq!((s.rows_in, s.records_out), (2_288, 2_408));
        assert_eq!(kinds(&evs), [("quote", 2_288), ("trade", 120)].into());
        invariants(&evs);
        let (_, trades, _) = ok(None, &files(&[ESU4_TRADES]));
        let from_mbp: Vec<_> =
            evs.iter().filter(|e| matches!(e.payload, Payload::Trade(_))).copied().collect();
        assert_eq!(from_mbp, trades, "the README: the 120 T records are the trades file's trades");
        // The one snapshot-flagged record (action A, side N) is an ordinary quote.
        let at_midnight = evs.iter().find(|e| e.ts_recv == ns(1_719_878_400_000_000_000)).unwrap();
        assert_eq!(
            at_midnight.payload,
            Payload::Quote(Quote { bid: p("5528.75"), bid_size: q("8"), ask: p("5529"), ask_size: q("23") })
        );
    }

    /// Plain and zstd input give byte-identical tick files.
    #[test]
    fn trades_plain_and_zstd_give_identical_output() {
        let (s, evs, plain) = ok(None, &files(&[ESU4_TRADES]));
        assert_eq!((s.rows_in, s.records_out), (120, 120));
        let (s2, evs2, zst) = ok(None, &files(&[ESU4_TRADES_ZST]));
        assert_eq!((s.rows_in, s.records_out, &s.instruments), (s2.rows_in, s2.records_out, &s2.instruments));
        assert_eq!(evs, evs2);
        assert_eq!(plain, zst, "byte-identical tick files");
        assert_eq!(
            (evs[0].ts_event, evs[0].ts_recv, evs[0].payload),
            (
                ns(1_719_878_281_218_218_853),
                ns(1_719_878_281_218_485_389),
                Payload::Trade(Trade {
                    price: p("5528.75"),
                    size: q("2"),
                    aggressor: Aggressor::Buy,
                    trade_id: 0
                })
            )
        );
        assert_eq!(evs[119].ts_recv.to_string()[..23], *"2024-07-02T00:01:52.813");
        let sells = evs
            .iter()
            .filter(|e| matches!(e.payload, Payload::Trade(t) if t.aggressor == Aggressor::Sell))
            .count();
        assert_eq!(sells, 54);
        invariants(&evs);
    }

    /// Bars are stamped at their close and keep the file's instrument order.
    #[test]
    fn ohlcv_bars_are_stamped_at_close_and_keep_file_order() {
        let (s, evs, _) = ok(None, &files(&[ESNQ_OHLCV]));
        assert_eq!((s.rows_in, s.records_out), (60, 60));
        let ids: Vec<(&str, u16)> = s.instruments.iter().map(|(i, _)| (i.symbol(), i.id().0)).collect();
        assert_eq!(ids, [("ESU4", 0), ("NQU4", 1)]);
        let per = |id: u16| evs.iter().filter(|e| e.instrument.0 == id).count();
        assert_eq!((per(0), per(1)), (30, 30));
        // The first bar opened at 23:40 and is stamped 23:41; its close time is both timestamps.
        let first_open = 1_719_877_200_000_000_000;
        assert_eq!(
            (evs[0].ts_event, evs[0].ts_recv),
            (ns(first_open + 60_000_000_000), ns(first_open + 60_000_000_000))
        );
        assert_eq!(
            evs[0].payload,
            Payload::Bar(Bar {
                ts: ns(first_open + 60_000_000_000),
                open: p("5527.25"),
                high: p("5527.5"),
                low: p("5527"),
                close: p("5527.5"),
                volume: q("180"),
                open_interest: Qty::ZERO,
            })
        );
        // Within a minute the file's instrument order is kept: ES,NQ then NQ,ES.
        assert_eq!((evs[0].instrument.0, evs[1].instrument.0), (0, 1));
        assert_eq!((evs[2].instrument.0, evs[3].instrument.0), (1, 0));
        assert_eq!(evs[59].ts_recv, ns(1_719_878_940_000_000_000 + 60_000_000_000), "00:09 bar closes 00:10");
        invariants(&evs);
    }

    /// Definition files fill the table whichever side of the data they come.
    #[test]
    fn definitions_fill_the_table_before_or_after_the_data() {
        for order in [[ESNQ_DEF, ESNQ_OHLCV], [ESNQ_OHLCV, ESNQ_DEF]] {
            let (s, evs, _) = ok(None, &files(&order));
            assert_eq!((s.rows_in, s.records_out), (62, 60), "{order:?}");
            assert_eq!(evs.len(), 60);
            let table: Vec<_> = s
                .instruments
                .iter()
                .map(|(i, inferred)| {
                    (
                        i.symbol().to_owned(),
                        i.tick_size().to_string(),
                        i.multiplier().to_string(),
                        i.quote_currency().to_string(),
                        *inferred,
                    )
                })
                .collect();
            assert_eq!(
                table,
                [
                    ("ESU4".into(), "0.25".into(), "50".into(), "USD".into(), false),
                    ("NQU4".into(), "0.25".into(), "20".into(), "USD".into(), false)
                ],
                "{order:?}"
            );
            assert_eq!(s.off_grid, 0, "every bar price is on the defined 0.25 grid");
            assert_eq!(s.instruments[0].0.display_decimals(), 2);
        }
        let (s, evs, _) = ok(None, &files(&[ESM4_DEF, ESM4_MBO]));
        assert_eq!((s.rows_in, s.records_out, s.off_grid), (13_797, 13_798, 0));
        assert_eq!(evs.len(), 13_798);
        assert_eq!(s.instruments.len(), 1);
        let (es, inferred) = &s.instruments[0];
        assert_eq!(
            (es.symbol(), es.tick_size(), es.multiplier(), *inferred),
            ("ESM4", p("0.25"), "50".parse().unwrap(), false)
        );
        // A definition file alone defines and writes nothing else.
        let (s, evs, _) = ok(None, &files(&[ESM4_DEF]));
        assert_eq!((s.rows_in, s.records_out, evs.len()), (1, 0, 0));
        assert_eq!(s.instruments[0].0.tick_size(), p("0.25"));
    }

    /// A file cut inside a record, a zstd frame or the metadata is an error naming where.
    #[test]
    fn a_truncated_file_is_refused_at_the_cut_record() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(data(ESU4_TRADES)).unwrap();
        let start = records_start(&bytes);
        // Cut 10 bytes into record 57 (48-byte records).
        let cut = &bytes[..start + 57 * 48 + 10];
        for skip in [false, true] {
            let plain = write(dir.path(), "cut.dbn", cut);
            row_error(None, &plain, skip, 57, "ends 10 bytes into record 57");
            let zst = write(dir.path(), "cut.dbn.zst", &zstd::encode_all(cut, 3).unwrap());
            row_error(None, &zst, skip, 57, "ends 10 bytes into record 57");
        }
        // A zstd stream cut inside a frame.
        let whole = std::fs::read(data(ESU4_TRADES_ZST)).unwrap();
        let zst = write(dir.path(), "cutframe.dbn.zst", &whole[..whole.len() - 100]);
        match run(None, std::slice::from_ref(&zst), false) {
            Err(ConvertError::Row(e)) => {
                assert_eq!(e.file, zst);
                assert!(e.reason.contains("zstd stream ends early"), "{e}");
            }
            other => panic!("{:?}", other.map(|c| c.0)),
        }
        // Cut inside the metadata.
        let meta = write(dir.path(), "meta.dbn", &bytes[..40]);
        format_error(None, &meta, "DBN metadata");
    }

    /// A damaged length byte is fatal, with the record index, even when skipping.
    #[test]
    fn a_damaged_record_length_is_refused_with_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(data(ESU4_TRADES)).unwrap();
        let start = records_start(&bytes);
        for (len, msg) in [
            (14u8, "its length says 56 bytes but a DBN v1 trade record is 48"),
            (13, "its length byte 13 makes 52 bytes, not a whole DBN record"),
            (0, "its length byte 0 makes 0 bytes"),
            (254, "its length says 1016 bytes"),
        ] {
            let mut b = bytes.clone();
            b[start + 57 * 48] = len;
            let plain = write(dir.path(), "flip.dbn", &b);
            for skip in [false, true] {
                row_error(None, &plain, skip, 57, msg);
            }
            let zst = write(dir.path(), "flip.dbn.zst", &zstd::encode_all(&b[..], 3).unwrap());
            row_error(None, &zst, false, 57, msg);
        }
    }

    /// Whole-file refusals: not DBN, v4, empty, an unconverted schema.
    #[test]
    fn not_dbn_other_versions_and_other_schemas_are_format_errors() {
        let dir = tempfile::tempdir().unwrap();
        let junk = write(dir.path(), "junk.dbn", b"time,price\n1,2\n");
        format_error(None, &junk, "not a DBN file: it starts with [74 69 6D 65]");
        let zjunk =
            write(dir.path(), "junk.dbn.zst", &zstd::encode_all(&b"time,price\n1,2\n"[..], 3).unwrap());
        format_error(Some(Format::Dbn), &zjunk, "does not hold DBN");
        let mut v4 = std::fs::read(data(MBO_V3)).unwrap();
        v4[3] = 4;
        let v4 = write(dir.path(), "v4.dbn", &v4);
        format_error(None, &v4, "DBN version 4 is not supported");
        let empty = write(dir.path(), "empty.dbn", b"");
        format_error(Some(Format::Dbn), &empty, "not a DBN file");
        // An MBP-10 file: the schema is refused up front rather than converted to nothing.
        let meta = Metadata::builder()
            .dataset("GLBX.MDP3")
            .schema(Some(Schema::Mbp10))
            .start(0)
            .stype_in(Some(SType::RawSymbol))
            .stype_out(SType::InstrumentId)
            .build();
        let mut buf = Vec::new();
        Encoder::new(&mut buf, &meta).unwrap();
        let mbp10 = write(dir.path(), "mbp10.dbn", &buf);
        format_error(None, &mbp10, "DBN schema mbp-10 is not converted");
    }

    /// An MBO record for the synthetic streams below.
    fn mbo(iid: u32, recv: u64, action: u8, side: u8, price: i64, size: u32, flags: u8) -> MboMsg {
        MboMsg {
            hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, iid, recv.saturating_sub(1)),
            order_id: recv,
            price,
            size,
            flags: FlagSet::new(flags),
            channel_id: 0,
            action: action as c_char,
            side: side as c_char,
            ts_recv: recv,
            ts_in_delta: 0,
            sequence: 0,
        }
    }

    /// A v3 MBO file of `records` (no symbology: instruments are named by their ids).
    fn mbo_file(dir: &std::path::Path, name: &str, records: &[MboMsg]) -> PathBuf {
        let meta = Metadata::builder()
            .dataset("GLBX.MDP3")
            .schema(Some(Schema::Mbo))
            .start(0)
            .stype_in(Some(SType::InstrumentId))
            .stype_out(SType::InstrumentId)
            .build();
        let mut buf = Vec::new();
        Encoder::new(&mut buf, &meta).unwrap().encode_records(records).unwrap();
        write(dir, name, &buf)
    }

    /// The `SNAPSHOT` flag.
    const S: u8 = dbn::flags::SNAPSHOT;
    /// The `LAST` flag.
    const L: u8 = dbn::flags::LAST;
    /// A price (100.25) in DBN's 1e-9 units.
    const PX: i64 = 100_250_000_000;

    /// Snapshot markers per instrument: closed by `LAST`, by a live record, or by the end.
    #[test]
    fn snapshots_close_on_last_on_live_records_or_at_the_end_per_instrument() {
        let dir = tempfile::tempdir().unwrap();
        let path = mbo_file(
            dir.path(),
            "snap.dbn",
            &[
                // Instrument 7: a snapshot without LAST, closed by its first live record.
                mbo(7, 10, b'A', b'B', PX, 1, S),
                // Instrument 9: a snapshot of two, the second LAST.
                mbo(9, 10, b'A', b'A', PX, 2, S),
                mbo(9, 10, b'A', b'A', PX, 3, S | L),
                mbo(7, 11, b'A', b'B', PX, 4, S),
                mbo(7, 20, b'C', b'B', PX, 1, L | 0x01),
                // Instrument 11: a snapshot left open by the end of the file.
                mbo(11, 30, b'R', b'N', UNDEF_PRICE, 0, S),
                mbo(11, 31, b'N', b'N', UNDEF_PRICE, 0, L),
                mbo(9, 40, b'A', b'A', PX, 5, S),
            ],
        );
        let (s, evs, _) = ok(None, &[path]);
        let seq: Vec<(u64, u16, &str)> = evs
            .iter()
            .map(|e| {
                let k = match e.payload {
                    Payload::SnapshotBegin => "begin",
                    Payload::SnapshotEnd => "end",
                    Payload::BookClear => "clear",
                    Payload::Order(o) if o.action == OrderAction::Add => "add",
                    Payload::Order(o) if o.action == OrderAction::Cancel => "cancel",
                    _ => "?",
                };
                (e.ts_recv.nanos() as u64, e.instrument.0, k)
            })
            .collect();
        assert_eq!(
            seq,
            [
                (10, 0, "begin"),
                (10, 0, "add"),
                (10, 1, "begin"),
                (10, 1, "add"),
                (10, 1, "add"),
                (10, 1, "end"),
                (11, 0, "add"),
                (20, 0, "end"),
                (20, 0, "cancel"),
                (30, 2, "begin"),
                (30, 2, "clear"),
                (31, 2, "end"),
                (40, 1, "begin"),
                (40, 1, "add"),
                (40, 1, "end"),
            ]
        );
        let symbols: Vec<&str> = s.instruments.iter().map(|(i, _)| i.symbol()).collect();
        assert_eq!(symbols, ["7", "9", "11"], "no symbology: the ids name the instruments");
        assert_eq!(s.rows_in, 8);
    }

    /// Content errors are row errors in strict mode and counted skips otherwise.
    #[test]
    fn malformed_records_are_refused_or_skipped_with_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let good = mbo(7, 10, b'A', b'B', PX, 1, L);
        for (bad, msg) in [
            (mbo(7, 11, b'X', b'B', PX, 1, L), "MBO action 'X'"),
            (mbo(7, 11, b'A', b'N', PX, 1, L), "order side 'N'"),
            (mbo(7, 11, b'A', b'B', UNDEF_PRICE, 1, L), "order price is undefined"),
            (mbo(7, 11, b'T', b'Q', PX, 1, L), "trade side 'Q'"),
            (
                MboMsg { ts_recv: u64::MAX, ..mbo(7, 11, b'A', b'B', PX, 1, L) },
                "ts_recv 18446744073709551615 is undefined",
            ),
        ] {
            let path = mbo_file(dir.path(), "bad.dbn", &[good.clone(), bad, good.clone()]);
            row_error(None, &path, false, 1, msg);
            let (s, evs, _) = run(None, &[path], true).unwrap();
            assert_eq!((s.rows_in, s.skipped, evs.len()), (3, 1, 2), "{msg}");
            assert_eq!(s.examples[0].line, 1);
            assert!(s.examples[0].reason.contains(msg));
        }
        // Time going back is the collector's row error, naming the record.
        let path = mbo_file(dir.path(), "back.dbn", &[good.clone(), mbo(7, 9, b'A', b'B', PX, 1, L)]);
        row_error(None, &path, false, 1, "time goes backwards");
    }

    /// Hands out at most `step` bytes per read, cycling through sizes 1..=step.
    struct Trickle<'a> {
        bytes: &'a [u8],
        at: usize,
        step: usize,
        turn: usize,
    }

    impl Read for Trickle<'_> {
        /// The next small piece.
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.turn = self.turn % self.step + 1;
            let n = self.turn.min(out.len()).min(self.bytes.len() - self.at);
            out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Headers split across reads of any size are still checked.
    #[test]
    fn the_framer_checks_every_header_whatever_the_chunking() {
        let bytes = std::fs::read(data(ESU4_TRADES)).unwrap();
        let start = records_start(&bytes);
        for step in [1, 2, 3, 7, 47, 4096] {
            let mut f = Framer::new(Trickle { bytes: &bytes, at: 0, step, turn: 0 }, 1, start as u64, false);
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            assert_eq!(
                (out.len(), f.records, f.handed),
                (bytes.len(), 120, bytes.len() as u64),
                "step {step}"
            );
            // A damaged record: the bytes before it, then the error naming it.
            let mut bad = bytes.clone();
            bad[start + 99 * 48] = 7;
            let mut f = Framer::new(Trickle { bytes: &bad, at: 0, step, turn: 0 }, 1, start as u64, false);
            let mut out = Vec::new();
            let e = f.read_to_end(&mut out).unwrap_err();
            assert_eq!(out.len(), start + 99 * 48, "step {step}");
            assert!(e.to_string().starts_with("record 99: its length byte 7 makes 28 bytes"), "{e}");
        }
    }

    /// Sentinels become empty sides; the largest size fits.
    #[test]
    fn undefined_top_of_book_sides_are_empty_sides() {
        assert_eq!(level(UNDEF_PRICE, 0), (Price::ZERO, Qty::ZERO));
        assert_eq!(level(UNDEF_PRICE, 5), (Price::ZERO, Qty::ZERO));
        assert_eq!(level(PX, 5), (p("100.25"), q("5")));
        assert_eq!(size(u32::MAX).raw(), 4_294_967_295 * NANO);
    }
}
