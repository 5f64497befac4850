//! NautilusTrader catalog Parquet (`nautilus-parquet`): `QuoteTick`, `TradeTick` and `Bar` files.
//!
//! A NautilusTrader (NT) catalog stores each data type of each instrument as Parquet files written
//! through Arrow. The file's schema metadata names the instrument (`instrument_id`,
//! `EUR/USD.SIM`) and the decimal places of its prices and sizes (`price_precision`,
//! `size_precision`); arrow writers keep that metadata inside the `ARROW:schema` entry of the
//! Parquet footer (a base64 Arrow IPC schema), pyarrow also as plain footer entries. Both are read
//! (plain entries win); the IPC schema is decoded by a small flatbuffer walk in this module, which
//! spares the build the whole Arrow stack (the `parquet` crate is used without its `arrow` feature
//! and reads columns with its low-level column readers).
//!
//! # Columns
//! The kind of file is told by its columns (found by name, never by position):
//! - `bid_price, ask_price, bid_size, ask_size, ts_event, ts_init` → one [`Quote`] per row;
//! - `price, size, aggressor_side, trade_id, ts_event, ts_init` → one [`Trade`] per row, aggressor
//!   `1` buyer, `2` seller, `0` none; `trade_id` becomes the trade id when it is a decimal `u64`,
//!   else 0 (Kestrel's id is numeric, and a hash would pretend to be the venue's);
//! - `open, high, low, close, volume, ts_event, ts_init` → one [`Bar`] per row. NT stamps a bar at
//!   its close, as Kestrel does, so `Bar::ts = ts_event`.
//!
//! `ts_event` is the event's time and `ts_init` the time NT took it in, so `ts_recv = ts_init`;
//! catalogs are written sorted by `ts_init` and file order is kept (a row whose `ts_init` goes
//! back is refused by the collector). Timestamps are taken as stored: NT's public 64-bit quotes
//! sample holds the HistData milliseconds as nanoseconds (`…000000065` for `.065`), and this
//! reader does not second-guess that.
//!
//! # Fixed-point prices and the scale
//! NT stores prices and sizes as raw fixed-point integers: `fixed_size_binary[8]` (64-bit builds)
//! or `[16]` (128-bit builds) little-endian signed, or plain `int64` in early catalogs. The raw
//! value is the decimal times `10^k`, and `k` is not in the file: current NT uses `k = 9` for 8-byte
//! and `k = 16` for 16-byte values, but older files differ (the public sample stores 1.12120 as
//! 112120000000, `k = 11`). The scale is therefore read from the data: prices of a file are
//! multiples of `10^(k - price_precision)` and sizes of `10^(k - size_precision)`, because NT
//! rounds every value to its instrument's precision. So `k` is at most `price_precision` plus the
//! fewest trailing decimal zeros of any non-zero price raw, and likewise for sizes; the reader
//! takes the smaller of the two bounds, which is `k` itself as soon as one price or one size in the
//! file uses its last declared decimal (NT checks that an instrument's tick has exactly
//! `price_precision` places, so in practice many do). A first pass over the price and size columns
//! finds the bounds; a bound below the width's current scale (values finer than the metadata
//! declares) or missing precision metadata falls back to the current scale (9 or 16). The one
//! case this cannot get right is a file in which no price uses its last declared decimal and no
//! size its last declared decimal, which would be read 10× (or more) too small. Raw values then
//! become nano-units exactly (`raw / 10^(k-9)`); a value with more than 9 decimals, `i64::MAX` /
//! `i128::MAX` (NT's undefined price) or one out of range is a malformed row.
//!
//! # Instrument
//! Symbol = `instrument_id` without its `.VENUE` suffix (`EUR/USD`), else the file name's stem;
//! venue 0. Tick and lot are left to the collector's inference (the catalog file does not carry
//! the instrument's tick, only its precision).
//!
//! # Errors
//! A file without the `PAR1` magic at both ends, an unreadable footer, or columns of none of the
//! three kinds is [`ConvertError::Format`]. Row errors name the file and the 0-based row index
//! across the file's row groups; malformed rows can be skipped with `--skip-malformed`. A column
//! chunk that cannot be decoded is a row error at its row group's first row, whatever the option.
//! Memory is bounded by one row group of the needed columns. Parquet is read by random access, so
//! the file is opened directly rather than through [`Collector::open`]'s counting reader (which
//! cannot seek): progress shows rows but not bytes for this format.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use kestrel_types::{
    Aggressor, Bar, Event, InstrumentId, NANO_DECIMALS, Payload, Price, Qty, Quote, Timestamp, Trade, VenueId,
};
use parquet::basic::Type as Physical;
use parquet::column::reader::ColumnReader;
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;

use super::{Collector, ConvertError, Format};

/// The magic at the start and the end of every Parquet file.
const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Tells a Parquet file by its magic, else by its `.parquet` name (so that a damaged file named so
/// reaches the reader and its precise error). NT catalog files are the only Parquet input.
pub(super) fn detect(name: &str, head: &[u8]) -> Option<Format> {
    if head.starts_with(PARQUET_MAGIC) || name.ends_with(".parquet") {
        Some(Format::NautilusParquet)
    } else {
        None
    }
}

/// A whole-file error of `path`.
fn format_err(path: &Path, reason: impl Into<String>) -> ConvertError {
    ConvertError::Format { path: path.to_path_buf(), reason: reason.into() }
}

/// The three kinds of NT file this reader converts, with their column names in the order the
/// reader wants them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `QuoteTick`.
    Quotes,
    /// `TradeTick`.
    Trades,
    /// `Bar`.
    Bars,
}

impl Kind {
    /// The columns of this kind: fixed-point prices first, then sizes, then the others.
    const fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Quotes => &["bid_price", "ask_price", "bid_size", "ask_size", "ts_event", "ts_init"],
            Self::Trades => &["price", "size", "aggressor_side", "trade_id", "ts_event", "ts_init"],
            Self::Bars => &["open", "high", "low", "close", "volume", "ts_event", "ts_init"],
        }
    }

    /// How many of [`Kind::columns`] are prices, and how many sizes after them.
    const fn fixed(self) -> (usize, usize) {
        match self {
            Self::Quotes => (2, 2),
            Self::Trades => (1, 1),
            Self::Bars => (4, 1),
        }
    }
}

/// Reads an NT catalog Parquet file into `coll`.
///
/// # Errors
/// See the module docs.
pub(super) fn read(path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    let io = |source| ConvertError::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut magic = [[0u8; 4]; 2];
    let len = file.metadata().map_err(io)?.len();
    if len >= 12 {
        file.read_exact(&mut magic[0]).map_err(io)?;
        file.seek(SeekFrom::End(-4)).map_err(io)?;
        file.read_exact(&mut magic[1]).map_err(io)?;
        file.rewind().map_err(io)?;
    }
    if magic[0] != *PARQUET_MAGIC || magic[1] != *PARQUET_MAGIC {
        return Err(format_err(
            path,
            "not a Parquet file: no PAR1 magic at its start and end (a NautilusTrader catalog file is Parquet)",
        ));
    }
    let reader =
        SerializedFileReader::new(file).map_err(|e| format_err(path, format!("Parquet footer: {e}")))?;
    let meta = reader.metadata();
    let kv = schema_metadata(meta.file_metadata().key_value_metadata().map_or(&[][..], |v| v.as_slice()));
    let schema = meta.file_metadata().schema_descr();
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    let kind = [Kind::Quotes, Kind::Trades, Kind::Bars]
        .into_iter()
        .find(|k| k.columns().iter().all(|c| names.contains(c)))
        .ok_or_else(|| {
            format_err(
                path,
                format!(
                    "not a NautilusTrader QuoteTick, TradeTick or Bar file: its columns are [{}]",
                    names.join(", ")
                ),
            )
        })?;
    let mut cols = Vec::new();
    for want in kind.columns() {
        let i = schema.columns().iter().position(|c| c.name() == *want).unwrap_or(0);
        let desc = schema.column(i);
        let shape = Shape::of(&desc).map_err(|e| format_err(path, format!("column {want}: {e}")))?;
        cols.push((i, shape));
    }
    let (n_prices, n_sizes) = kind.fixed();
    let width = cols[0].1;
    if cols[..n_prices + n_sizes].iter().any(|(_, s)| *s != width) {
        return Err(format_err(path, "price and size columns do not share one fixed-point layout"));
    }
    let precision = |key: &str| kv.get(key).and_then(|v| v.trim().parse::<u32>().ok());
    let mut bounds = ScaleBounds::default();
    let row_groups = reader.num_row_groups();
    for g in 0..row_groups {
        let rg = reader.get_row_group(g).map_err(|e| format_err(path, format!("row group {g}: {e}")))?;
        let rows = usize::try_from(rg.metadata().num_rows()).unwrap_or(0);
        for (j, (i, shape)) in cols[..n_prices + n_sizes].iter().enumerate() {
            let values = read_ints(rg.as_ref(), *i, *shape, rows)
                .map_err(|e| format_err(path, format!("row group {g}, column {}: {e}", kind.columns()[j])))?;
            bounds.scan(&values, j < n_prices, width.undefined());
        }
    }
    let scale =
        bounds.exponent(width.standard_exponent(), precision("price_precision"), precision("size_precision"));
    let instrument_id = kv.get("instrument_id").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let symbol = match instrument_id.as_deref().map(|s| s.rsplit_once('.').map_or(s, |(sym, _)| sym)) {
        Some(sym) if !sym.is_empty() => sym.to_owned(),
        _ => path.file_stem().and_then(|s| s.to_str()).unwrap_or("nautilus").to_owned(),
    };
    let id = coll.instrument(&symbol, VenueId(0));
    let mut base: u64 = 0;
    for g in 0..row_groups {
        let rg = reader.get_row_group(g).map_err(|e| format_err(path, format!("row group {g}: {e}")))?;
        let rows = usize::try_from(rg.metadata().num_rows()).unwrap_or(0);
        let mut data: Vec<Column> = Vec::with_capacity(cols.len());
        for (j, (i, shape)) in cols.iter().enumerate() {
            let col = if *shape == Shape::Text {
                read_text(rg.as_ref(), *i, rows).map(Column::Text)
            } else {
                read_ints(rg.as_ref(), *i, *shape, rows).map(Column::Ints)
            };
            let col = col.map_err(|e| {
                coll.row_error(base, format!("row group {g}, column {}: {e}", kind.columns()[j]))
            })?;
            data.push(col);
        }
        let conv = Converter { scale, undefined: width.undefined() };
        for r in 0..rows {
            let index = base + r as u64;
            coll.row();
            match conv.event(kind, &data, r, id) {
                Ok(ev) => coll.push(&ev, index)?,
                Err(reason) => {
                    let err = coll.row_error(index, format!("row {index}: {reason}"));
                    coll.malformed(err)?;
                }
            }
        }
        base += rows as u64;
    }
    Ok(())
}

/// How a column's values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// `fixed_size_binary[8]`: little-endian `i64` (NT's 64-bit fixed point).
    Fixed8,
    /// `fixed_size_binary[16]`: little-endian `i128` (NT's 128-bit fixed point).
    Fixed16,
    /// `int64` (raw fixed point in early catalogs; `uint64` timestamps).
    Int64,
    /// `int32` (`uint8` enums such as `aggressor_side`).
    Int32,
    /// `binary`/`utf8` (trade ids).
    Text,
}

impl Shape {
    /// The shape of a required, flat column.
    fn of(desc: &ColumnDescriptor) -> Result<Self, String> {
        if desc.max_rep_level() > 0 {
            return Err("a repeated column".into());
        }
        match (desc.physical_type(), desc.type_length()) {
            (Physical::FIXED_LEN_BYTE_ARRAY, 8) => Ok(Self::Fixed8),
            (Physical::FIXED_LEN_BYTE_ARRAY, 16) => Ok(Self::Fixed16),
            (Physical::INT64, _) => Ok(Self::Int64),
            (Physical::INT32, _) => Ok(Self::Int32),
            (Physical::BYTE_ARRAY, _) => Ok(Self::Text),
            (t, n) => Err(format!("physical type {t} (length {n}) is not one NautilusTrader writes")),
        }
    }

    /// The scale exponent current NT uses for fixed-point values of this width.
    const fn standard_exponent(self) -> u32 {
        match self {
            Self::Fixed16 => 16,
            _ => 9,
        }
    }

    /// NT's "undefined" raw value for this width.
    const fn undefined(self) -> i128 {
        match self {
            Self::Fixed16 => i128::MAX,
            _ => i64::MAX as i128,
        }
    }
}

/// A column of one row group.
#[derive(Debug)]
enum Column {
    /// Integers of any width (fixed-point raws, timestamps, enums).
    Ints(Vec<i128>),
    /// Text (trade ids).
    Text(Vec<String>),
}

/// Reads `rows` values of integer column `i`.
fn read_ints(rg: &dyn RowGroupReader, i: usize, shape: Shape, rows: usize) -> Result<Vec<i128>, String> {
    let reader = rg.get_column_reader(i).map_err(|e| e.to_string())?;
    let mut defs = Vec::new();
    let out: Vec<i128> = match reader {
        ColumnReader::Int64ColumnReader(mut r) => {
            let mut v = Vec::with_capacity(rows);
            r.read_records(rows, Some(&mut defs), None, &mut v).map_err(|e| e.to_string())?;
            // `uint64` timestamps are stored as their bit pattern.
            let unsigned = shape == Shape::Int64 && is_unsigned(rg, i);
            v.into_iter().map(|x| if unsigned { i128::from(x as u64) } else { i128::from(x) }).collect()
        }
        ColumnReader::Int32ColumnReader(mut r) => {
            let mut v = Vec::with_capacity(rows);
            r.read_records(rows, Some(&mut defs), None, &mut v).map_err(|e| e.to_string())?;
            v.into_iter().map(i128::from).collect()
        }
        ColumnReader::FixedLenByteArrayColumnReader(mut r) => {
            let mut v = Vec::with_capacity(rows);
            r.read_records(rows, Some(&mut defs), None, &mut v).map_err(|e| e.to_string())?;
            let mut out = Vec::with_capacity(v.len());
            for b in &v {
                let b = b.data();
                out.push(match b.len() {
                    8 => i128::from(i64::from_le_bytes(b.try_into().map_err(|_| "bad value width")?)),
                    16 => i128::from_le_bytes(b.try_into().map_err(|_| "bad value width")?),
                    n => return Err(format!("a {n}-byte value")),
                });
            }
            out
        }
        _ => return Err("not an integer column".into()),
    };
    if out.len() != rows {
        return Err(format!("{} values for {rows} rows (nulls are not NautilusTrader data)", out.len()));
    }
    Ok(out)
}

/// Whether integer column `i` is declared unsigned (`uint64` timestamps).
fn is_unsigned(rg: &dyn RowGroupReader, i: usize) -> bool {
    let desc = rg.metadata().schema_descr().column(i);
    matches!(desc.logical_type_ref(), Some(parquet::basic::LogicalType::Integer(t)) if !t.is_signed)
        || desc.converted_type() == parquet::basic::ConvertedType::UINT_64
}

/// Reads `rows` values of text column `i`.
fn read_text(rg: &dyn RowGroupReader, i: usize, rows: usize) -> Result<Vec<String>, String> {
    let ColumnReader::ByteArrayColumnReader(mut r) = rg.get_column_reader(i).map_err(|e| e.to_string())?
    else {
        return Err("not a text column".into());
    };
    let mut defs = Vec::new();
    let mut v = Vec::with_capacity(rows);
    r.read_records(rows, Some(&mut defs), None, &mut v).map_err(|e| e.to_string())?;
    if v.len() != rows {
        return Err(format!("{} values for {rows} rows (nulls are not NautilusTrader data)", v.len()));
    }
    Ok(v.iter().map(|b| String::from_utf8_lossy(b.data()).into_owned()).collect())
}

/// The smallest trailing-zero counts seen among non-zero price and size raws (see the module docs).
#[derive(Debug, Default)]
struct ScaleBounds {
    /// Fewest trailing decimal zeros of any price raw.
    price_zeros: Option<u32>,
    /// Fewest trailing decimal zeros of any size raw.
    size_zeros: Option<u32>,
}

/// Trailing decimal zeros of a non-zero value.
fn trailing_zeros(mut v: i128) -> u32 {
    let mut z = 0;
    while v % 10 == 0 {
        v /= 10;
        z += 1;
    }
    z
}

impl ScaleBounds {
    /// Takes in a column of raws (prices or sizes), skipping zeros and the undefined value.
    fn scan(&mut self, values: &[i128], price: bool, undefined: i128) {
        let slot = if price { &mut self.price_zeros } else { &mut self.size_zeros };
        for &v in values {
            if v != 0 && v != undefined {
                let z = trailing_zeros(v);
                *slot = Some(slot.map_or(z, |m| m.min(z)));
            }
        }
    }

    /// The scale exponent: the smaller of the two bounds, never below the width's current scale.
    fn exponent(&self, standard: u32, price_precision: Option<u32>, size_precision: Option<u32>) -> u32 {
        let bound = |zeros: Option<u32>, precision: Option<u32>| Some(zeros? + precision?);
        let detected =
            match (bound(self.price_zeros, price_precision), bound(self.size_zeros, size_precision)) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => standard,
            };
        detected.max(standard)
    }
}

/// Turns a row of raw columns into an event.
#[derive(Clone, Copy, Debug)]
struct Converter {
    /// The detected scale exponent of fixed-point values.
    scale: u32,
    /// NT's undefined raw value for the file's width.
    undefined: i128,
}

impl Converter {
    /// A fixed-point raw as nano-units, exactly.
    fn nano(&self, raw: i128, what: &str) -> Result<i64, String> {
        if raw == self.undefined {
            return Err(format!("{what} is undefined (NT's maximum raw value)"));
        }
        let v = if self.scale >= NANO_DECIMALS {
            let d = 10i128.pow(self.scale - NANO_DECIMALS);
            if raw % d != 0 {
                return Err(format!("{what} raw {raw} at scale 1e{} has more than 9 decimals", self.scale));
            }
            raw / d
        } else {
            raw.checked_mul(10i128.pow(NANO_DECIMALS - self.scale))
                .ok_or_else(|| format!("{what} raw {raw} is out of range"))?
        };
        i64::try_from(v).map_err(|_| format!("{what} raw {raw} is out of range"))
    }

    /// A price.
    fn price(&self, raw: i128, what: &str) -> Result<Price, String> {
        self.nano(raw, what).map(Price::from_raw)
    }

    /// A size (never negative).
    fn size(&self, raw: i128, what: &str) -> Result<Qty, String> {
        let q = Qty::from_raw(self.nano(raw, what)?);
        if q.is_negative() { Err(format!("{what} {q} is negative")) } else { Ok(q) }
    }

    /// Row `r` of `data` (columns in [`Kind::columns`] order) as an event.
    fn event(
        &self,
        kind: Kind,
        data: &[Column],
        r: usize,
        instrument: InstrumentId,
    ) -> Result<Event, String> {
        let int = |j: usize| match &data[j] {
            Column::Ints(v) => v[r],
            Column::Text(_) => 0,
        };
        let n = kind.columns().len();
        let time = |j: usize, what: &str| {
            i64::try_from(int(j))
                .map(Timestamp::from_nanos)
                .map_err(|_| format!("{what} {} is out of range", int(j)))
        };
        let ts_event = time(n - 2, "ts_event")?;
        let ts_recv = time(n - 1, "ts_init")?;
        let payload = match kind {
            Kind::Quotes => Payload::Quote(Quote {
                bid: self.price(int(0), "bid_price")?,
                ask: self.price(int(1), "ask_price")?,
                bid_size: self.size(int(2), "bid_size")?,
                ask_size: self.size(int(3), "ask_size")?,
            }),
            Kind::Trades => {
                let aggressor = match int(2) {
                    1 => Aggressor::Buy,
                    2 => Aggressor::Sell,
                    0 => Aggressor::Unknown,
                    other => return Err(format!("aggressor_side {other} (expected 0, 1 or 2)")),
                };
                let trade_id = match &data[3] {
                    Column::Text(v) => v[r].trim().parse::<u64>().unwrap_or(0),
                    Column::Ints(v) => u64::try_from(v[r]).unwrap_or(0),
                };
                let size = self.size(int(1), "size")?;
                if !size.is_positive() {
                    return Err(format!("trade size {size} is not positive"));
                }
                Payload::Trade(Trade { price: self.price(int(0), "price")?, size, aggressor, trade_id })
            }
            Kind::Bars => {
                let (open, high, low, close) = (
                    self.price(int(0), "open")?,
                    self.price(int(1), "high")?,
                    self.price(int(2), "low")?,
                    self.price(int(3), "close")?,
                );
                if high < low || high < open.max(close) || low > open.min(close) {
                    return Err(format!(
                        "bar high {high} / low {low} do not bracket open {open} and close {close}"
                    ));
                }
                let volume = self.size(int(4), "volume")?;
                Payload::Bar(Bar { ts: ts_event, open, high, low, close, volume, open_interest: Qty::ZERO })
            }
        };
        Ok(Event { ts_event, ts_recv, instrument, payload })
    }
}

/// The schema metadata: plain footer entries, plus the custom metadata of the `ARROW:schema` IPC
/// schema for keys the plain entries lack.
fn schema_metadata(kv: &[parquet::file::metadata::KeyValue]) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for e in kv {
        if let Some(v) = &e.value {
            if e.key == "ARROW:schema" {
                if let Some(pairs) = base64_decode(v).and_then(|b| arrow_schema_metadata(&b)) {
                    for (k, v) in pairs {
                        out.entry(k).or_insert(v);
                    }
                }
            } else {
                out.insert(e.key.clone(), v.clone());
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional, whitespace ignored).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    Some(out)
}

/// A read-only view of a flatbuffer, every access bounds-checked (a damaged footer gives `None`,
/// never a panic).
struct Flat<'a>(&'a [u8]);

impl Flat<'_> {
    /// A little-endian `u32` at `at`.
    fn u32(&self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.0.get(at..at.checked_add(4)?)?.try_into().ok()?))
    }

    /// A little-endian `u16` at `at`.
    fn u16(&self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.0.get(at..at.checked_add(2)?)?.try_into().ok()?))
    }

    /// Where field `field` of the table at `table` is, when present.
    fn field(&self, table: usize, field: usize) -> Option<usize> {
        let soffset = i64::from(self.u32(table)? as i32);
        let vtable = usize::try_from(i64::try_from(table).ok()? - soffset).ok()?;
        let vt_len = usize::from(self.u16(vtable)?);
        let slot = 4 + 2 * field;
        if slot + 2 > vt_len {
            return None;
        }
        match self.u16(vtable + slot)? {
            0 => None,
            off => table.checked_add(usize::from(off)),
        }
    }

    /// Follows the offset stored at `at` (tables, vectors and strings are referenced so).
    fn deref(&self, at: usize) -> Option<usize> {
        at.checked_add(usize::try_from(self.u32(at)?).ok()?)
    }

    /// The string whose offset is stored at `at`.
    fn string(&self, at: usize) -> Option<String> {
        let s = self.deref(at)?;
        let len = usize::try_from(self.u32(s)?).ok()?;
        let bytes = self.0.get(s + 4..(s + 4).checked_add(len)?)?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// The custom metadata of an Arrow IPC schema message (`ARROW:schema`): `Message.header` is a
/// `Schema` (header type 1) whose field 2 is a vector of `KeyValue { key, value }` tables.
fn arrow_schema_metadata(ipc: &[u8]) -> Option<Vec<(String, String)>> {
    // An encapsulated message: optional 0xFFFFFFFF continuation, then the flatbuffer's length.
    let body = if ipc.get(..4)? == [0xFF; 4] { ipc.get(8..)? } else { ipc.get(4..)? };
    let fb = Flat(body);
    let message = fb.deref(0)?;
    let header_type = fb.0.get(fb.field(message, 1)?).copied()?;
    if header_type != 1 {
        return None;
    }
    let schema = fb.deref(fb.field(message, 2)?)?;
    let vector = fb.deref(fb.field(schema, 2)?)?;
    let count = usize::try_from(fb.u32(vector)?).ok()?;
    let mut out = Vec::new();
    for k in 0..count.min(1 << 16) {
        let entry = fb.deref(vector + 4 + 4 * k)?;
        let key = fb.string(fb.field(entry, 0)?)?;
        let value = fb.field(entry, 1).and_then(|at| fb.string(at)).unwrap_or_default();
        out.push((key, value));
    }
    Some(out)
}

/// End-to-end conversions of the public sample and of synthetic NT files.
#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use parquet::data_type::{
        ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType, Int32Type, Int64Type,
    };
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;
    use crate::convert::dbn::test_util::{data, format_error, invariants, kinds, ok, row_error, run, write};
    use crate::convert::{detect as detect_any, head};

    /// NT's legacy 64-bit quotes sample (scale 1e11).
    const QUOTES: &str = "nautilus-parquet/quotes_eurusd_64bit.parquet";
    /// The HistData ticks the sample was made from (its first 4,750).
    const HISTDATA: &str = "fx-histdata/EURUSD_ticks_20200101.rows1-4750.csv";

    /// A price from decimal text.
    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    /// A quantity from decimal text.
    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }

    /// The README's 9,500 quotes, checked price for price against the HistData file.
    #[test]
    fn the_public_legacy_quotes_convert_exactly() {
        let path = data(QUOTES);
        assert_eq!(detect_any(&path, &head(&path, 4096).unwrap()), Some(Format::NautilusParquet));
        let (s, evs, _) = ok(None, &[path]);
        assert_eq!((s.rows_in, s.records_out, s.skipped), (9_500, 9_500, 0));
        assert_eq!(kinds(&evs), [("quote", 9_500)].into());
        // instrument_id from the ARROW:schema metadata; the scale found is 1e11.
        let (ins, inferred) = &s.instruments[0];
        assert_eq!(
            (ins.symbol(), ins.tick_size(), ins.lot_size(), *inferred),
            ("EUR/USD", p("0.00001"), q("1"), true)
        );
        let first = evs[0];
        assert_eq!(
            (first.ts_event.nanos(), first.ts_recv.nanos()),
            (1_577_898_000_000_000_065, 1_577_898_000_000_000_065)
        );
        assert_eq!(
            first.payload,
            Payload::Quote(Quote {
                bid: p("1.1212"),
                bid_size: q("100000"),
                ask: p("1.12172"),
                ask_size: q("100000")
            })
        );
        let last = evs[9_499];
        assert_eq!(last.ts_recv.nanos(), 1_577_919_652_000_000_125);
        assert_eq!(
            last.payload,
            Payload::Quote(Quote {
                bid: p("1.1213"),
                bid_size: q("100000"),
                ask: p("1.12132"),
                ask_size: q("100000")
            })
        );
        invariants(&evs);
        // The same ticks as the HistData file (its rows 1–4750), price for price; the sample's
        // ts_event holds HistData's milliseconds as nanoseconds, which is kept as stored.
        let csv = std::fs::read_to_string(data(HISTDATA)).unwrap();
        let mut n = 0;
        for (line, e) in csv.lines().zip(&evs) {
            let f: Vec<&str> = line.split(',').collect();
            let Payload::Quote(quote) = e.payload else { panic!() };
            assert_eq!((quote.bid, quote.ask), (p(f[1]), p(f[2])), "{line}");
            let millis: i64 = f[0][f[0].len() - 3..].parse().unwrap();
            assert_eq!(e.ts_event.nanos() % 1_000_000_000, millis, "{line}");
            n += 1;
        }
        assert_eq!(n, 4_750);
    }

    /// Scale detection on the sample's raws and on the cases the rule must survive.
    #[test]
    fn the_scale_is_the_coarsest_the_precisions_allow() {
        let mut b = ScaleBounds::default();
        // The public sample: 1.12120 → 112120000000 with precision 5; sizes 1e16 with precision 0.
        b.scan(&[112_120_000_000, 112_172_000_000, 112_117_000_000], true, i64::MAX.into());
        b.scan(&[10_000_000_000_000_000], false, i64::MAX.into());
        assert_eq!(b.exponent(9, Some(5), Some(0)), 11);
        assert_eq!(b.exponent(9, None, None), 9, "no precision metadata: the current scale");
        // Prices that never use their last declared place (a tick of 10 at precision 0) are
        // pinned by sizes that do.
        let mut b = ScaleBounds::default();
        b.scan(&[38_010_000_000_000, 38_020_000_000_000], true, i64::MAX.into());
        b.scan(&[3_000_000_000, 0, i64::MAX.into()], false, i64::MAX.into());
        assert_eq!(b.exponent(9, Some(0), Some(0)), 9);
        // Finer values than declared: the current scale.
        let mut b = ScaleBounds::default();
        b.scan(&[1_123_456_000], true, i64::MAX.into());
        assert_eq!(b.exponent(9, Some(2), Some(0)), 9);
        assert_eq!(ScaleBounds::default().exponent(16, Some(2), Some(2)), 16);
    }

    /// A column of a synthetic NT file.
    enum Col {
        /// `fixed_size_binary[8]`.
        F8(&'static str, Vec<i64>),
        /// `fixed_size_binary[16]`.
        F16(&'static str, Vec<i128>),
        /// `uint64`.
        U64(&'static str, Vec<u64>),
        /// `uint8`.
        U8(&'static str, Vec<i32>),
        /// `utf8`.
        Text(&'static str, Vec<&'static str>),
    }

    /// Writes a Parquet file of `cols` in row groups of `group` rows, with plain footer metadata.
    fn parquet_file(
        dir: &std::path::Path,
        name: &str,
        cols: &[Col],
        meta: &[(&str, &str)],
        group: usize,
    ) -> PathBuf {
        let fields: Vec<String> = cols
            .iter()
            .map(|c| match c {
                Col::F8(n, _) => format!("REQUIRED FIXED_LEN_BYTE_ARRAY (8) {n};"),
                Col::F16(n, _) => format!("REQUIRED FIXED_LEN_BYTE_ARRAY (16) {n};"),
                Col::U64(n, _) => format!("REQUIRED INT64 {n} (INTEGER(64,false));"),
                Col::U8(n, _) => format!("REQUIRED INT32 {n} (INTEGER(8,false));"),
                Col::Text(n, _) => format!("REQUIRED BYTE_ARRAY {n} (UTF8);"),
            })
            .collect();
        let schema = Arc::new(parse_message_type(&format!("message nt {{ {} }}", fields.join(" "))).unwrap());
        let kv = meta.iter().map(|(k, v)| KeyValue::new((*k).to_owned(), (*v).to_owned())).collect();
        let props = Arc::new(WriterProperties::builder().set_key_value_metadata(Some(kv)).build());
        let path = dir.join(name);
        let mut w = SerializedFileWriter::new(File::create(&path).unwrap(), schema, props).unwrap();
        let rows = match &cols[0] {
            Col::F8(_, v) => v.len(),
            Col::F16(_, v) => v.len(),
            _ => unreachable!(),
        };
        let mut start = 0;
        while start < rows {
            let end = (start + group).min(rows);
            let mut rg = w.next_row_group().unwrap();
            for c in cols {
                let mut cw = rg.next_column().unwrap().unwrap();
                match c {
                    Col::F8(_, v) => {
                        let vals: Vec<FixedLenByteArray> = v[start..end]
                            .iter()
                            .map(|x| FixedLenByteArray::from(x.to_le_bytes().to_vec()))
                            .collect();
                        cw.typed::<FixedLenByteArrayType>().write_batch(&vals, None, None).unwrap();
                    }
                    Col::F16(_, v) => {
                        let vals: Vec<FixedLenByteArray> = v[start..end]
                            .iter()
                            .map(|x| FixedLenByteArray::from(x.to_le_bytes().to_vec()))
                            .collect();
                        cw.typed::<FixedLenByteArrayType>().write_batch(&vals, None, None).unwrap();
                    }
                    Col::U64(_, v) => {
                        let vals: Vec<i64> = v[start..end].iter().map(|x| *x as i64).collect();
                        cw.typed::<Int64Type>().write_batch(&vals, None, None).unwrap();
                    }
                    Col::U8(_, v) => {
                        cw.typed::<Int32Type>().write_batch(&v[start..end], None, None).unwrap();
                    }
                    Col::Text(_, v) => {
                        let vals: Vec<ByteArray> =
                            v[start..end].iter().map(|s| ByteArray::from(*s)).collect();
                        cw.typed::<ByteArrayType>().write_batch(&vals, None, None).unwrap();
                    }
                }
                cw.close().unwrap();
            }
            rg.close().unwrap();
            start = end;
        }
        w.close().unwrap();
        path
    }

    /// Trades at NT's current 64-bit scale (1e9), `n` rows.
    fn trades(prices: Vec<i64>, aggressors: Vec<i32>, ids: Vec<&'static str>, ts: Vec<u64>) -> Vec<Col> {
        let sizes = vec![1_500_000_000; prices.len()];
        vec![
            Col::F8("price", prices),
            Col::F8("size", sizes),
            Col::U8("aggressor_side", aggressors),
            Col::Text("trade_id", ids),
            Col::U64("ts_event", ts.iter().map(|t| t.saturating_sub(5)).collect()),
            Col::U64("ts_init", ts),
        ]
    }

    /// Footer metadata of the synthetic trade files.
    const META: [(&str, &str); 3] =
        [("instrument_id", "BTCUSDT-PERP.BINANCE"), ("price_precision", "2"), ("size_precision", "3")];

    /// Trades at 1e9, aggressors and ids, over two row groups.
    #[test]
    fn trades_at_the_current_scale_across_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = parquet_file(
            dir.path(),
            "trades.parquet",
            &trades(
                vec![61_800_250_000_000, 61_800_300_000_000, 61_799_990_000_000],
                vec![1, 2, 0],
                vec!["42", "abc-uuid", "7"],
                vec![100, 200, 200],
            ),
            &META,
            2,
        );
        let (s, evs, _) = ok(None, &[path]);
        assert_eq!((s.rows_in, s.records_out), (3, 3));
        let t = |px: &str, a, id| {
            Payload::Trade(Trade { price: p(px), size: q("1.5"), aggressor: a, trade_id: id })
        };
        assert_eq!(evs[0].payload, t("61800.25", Aggressor::Buy, 42));
        assert_eq!(evs[1].payload, t("61800.3", Aggressor::Sell, 0));
        assert_eq!(evs[2].payload, t("61799.99", Aggressor::Unknown, 7));
        assert_eq!((evs[2].ts_event.nanos(), evs[2].ts_recv.nanos()), (195, 200));
        assert_eq!(s.instruments[0].0.symbol(), "BTCUSDT-PERP");
    }

    /// A bar at 1e16 (16-byte values).
    #[test]
    fn bars_at_the_128_bit_scale() {
        let dir = tempfile::tempdir().unwrap();
        let e16 = |units: i128, frac: i128| units * 10i128.pow(16) + frac;
        let path = parquet_file(
            dir.path(),
            "bars.parquet",
            &[
                Col::F16("open", vec![e16(100, 2_500_000_000_000_000)]),
                Col::F16("high", vec![e16(101, 0)]),
                Col::F16("low", vec![e16(99, 7_500_000_000_000_000)]),
                Col::F16("close", vec![e16(100, 5_000_000_000_000_000)]),
                Col::F16("volume", vec![e16(12, 0)]),
                Col::U64("ts_event", vec![60_000_000_000]),
                Col::U64("ts_init", vec![60_000_000_001]),
            ],
            &[("instrument_id", "ES.XCME"), ("price_precision", "2"), ("size_precision", "0")],
            10,
        );
        let (s, evs, _) = ok(None, &[path]);
        assert_eq!((s.rows_in, s.records_out), (1, 1));
        assert_eq!(
            evs[0].payload,
            Payload::Bar(Bar {
                ts: Timestamp::from_nanos(60_000_000_000),
                open: p("100.25"),
                high: p("101"),
                low: p("99.75"),
                close: p("100.5"),
                volume: q("12"),
                open_interest: Qty::ZERO,
            })
        );
        assert_eq!(evs[0].ts_recv.nanos(), 60_000_000_001);
        assert_eq!(s.instruments[0].0.symbol(), "ES");
    }

    /// Bad rows are row errors with their index, skippable; time going back is refused.
    #[test]
    fn malformed_rows_are_refused_or_skipped_with_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(Vec<Col>, &str); 4] = [
            (
                trades(vec![100_000_000_000; 3], vec![1; 3], vec!["1"; 3], vec![1, 2, 3])
                    .into_iter()
                    .map(|c| match c {
                        Col::F8("size", _) => Col::F8("size", vec![1_000_000_000, 0, 1_000_000_000]),
                        other => other,
                    })
                    .collect(),
                "trade size 0 is not positive",
            ),
            (
                trades(
                    vec![100_000_000_000, i64::MAX, 100_000_000_000],
                    vec![1; 3],
                    vec!["1"; 3],
                    vec![1, 2, 3],
                ),
                "price is undefined",
            ),
            (
                trades(vec![100_000_000_000; 3], vec![1, 5, 1], vec!["1"; 3], vec![1, 2, 3]),
                "aggressor_side 5",
            ),
            (
                trades(vec![100_000_000_000; 3], vec![1; 3], vec!["1"; 3], vec![1, u64::MAX, 3]),
                "ts_event 18446744073709551610 is out of range",
            ),
        ];
        for (i, (cols, msg)) in cases.into_iter().enumerate() {
            let path = parquet_file(dir.path(), &format!("bad{i}.parquet"), &cols, &META, 2);
            row_error(None, &path, false, 1, msg);
            let (s, evs, _) = run(None, &[path], true).unwrap();
            assert_eq!((s.rows_in, s.skipped, evs.len()), (3, 1, 2), "{msg}");
        }
        // ts_init going back: the collector's error, naming the row.
        let path = parquet_file(
            dir.path(),
            "back.parquet",
            &trades(vec![100_000_000_000; 2], vec![1; 2], vec!["1"; 2], vec![5, 4]),
            &META,
            5,
        );
        row_error(None, &path, true, 1, "time goes backwards");
        // A value finer than nano-units at the 128-bit scale.
        let path = parquet_file(
            dir.path(),
            "fine.parquet",
            &[
                Col::F16("bid_price", vec![10i128.pow(16), 10i128.pow(16) + 1]),
                Col::F16("ask_price", vec![2 * 10i128.pow(16); 2]),
                Col::F16("bid_size", vec![10i128.pow(16); 2]),
                Col::F16("ask_size", vec![10i128.pow(16); 2]),
                Col::U64("ts_event", vec![1, 2]),
                Col::U64("ts_init", vec![1, 2]),
            ],
            &[],
            5,
        );
        row_error(None, &path, false, 1, "has more than 9 decimals");
    }

    /// Non-Parquet, cut, torn and foreign Parquet files are whole-file errors.
    #[test]
    fn non_parquet_and_foreign_parquet_files_are_format_errors() {
        let dir = tempfile::tempdir().unwrap();
        let junk = write(dir.path(), "quotes.parquet", b"bid,ask\n1,2\n");
        assert_eq!(detect_any(&junk, &head(&junk, 4096).unwrap()), Some(Format::NautilusParquet));
        format_error(None, &junk, "not a Parquet file: no PAR1 magic");
        let real = std::fs::read(data(QUOTES)).unwrap();
        let cut = write(dir.path(), "cut.parquet", &real[..real.len() - 100]);
        format_error(None, &cut, "not a Parquet file");
        let mut torn = real.clone();
        let n = torn.len();
        torn[n - 20..n - 8].fill(0xAB);
        let torn = write(dir.path(), "torn.parquet", &torn);
        format_error(None, &torn, "Parquet footer");
        let other = parquet_file(
            dir.path(),
            "other.parquet",
            &[Col::F8("x", vec![1]), Col::U64("y", vec![2])],
            &[],
            5,
        );
        format_error(
            None,
            &other,
            "not a NautilusTrader QuoteTick, TradeTick or Bar file: its columns are [x, y]",
        );
        assert_eq!(detect("a.bin", b"PAR1xxxx"), Some(Format::NautilusParquet));
        assert_eq!(detect("a.csv", b"time,px"), None);
    }

    /// The metadata decoders give `None` on junk, never a panic.
    #[test]
    fn base64_and_the_ipc_walk_refuse_junk_without_panicking() {
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ").unwrap(), b"hello world");
        assert!(base64_decode("a$b").is_none());
        for junk in [&[][..], &[0xFF; 4], &[0xFF, 0xFF, 0xFF, 0xFF, 8, 0, 0, 0, 1, 2], &[200; 64]] {
            assert!(arrow_schema_metadata(junk).is_none());
        }
    }
}
