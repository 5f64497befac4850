//! Binance public data (data.binance.vision layout, and the USD-M `T_DEPTH` order-book files): trades,
//! aggTrades, klines, futures bookTicker and depth, as CSV or as the vendor's one-member `.zip`.
//!
//! # What each format becomes
//! - `binance-trades` (spot `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`, no header; USD-M
//!   `id,price,qty,quote_qty,time,is_buyer_maker` with a header): one [`Trade`] per row, trade id =
//!   `id`, aggressor from `isBuyerMaker` (the buyer was the maker, so the seller took liquidity:
//!   [`Aggressor::Sell`]; otherwise [`Aggressor::Buy`]). `ts_event = ts_recv = time`.
//! - `binance-aggtrades` (spot `a,p,q,f,l,T,m,M`, no header; USD-M
//!   `agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker`): one
//!   [`Trade`] per row with the aggregate id as trade id; `f ≤ l` is checked.
//! - `binance-klines` (12 columns, header or none: sniffed): one [`Bar`] per row stamped at its
//!   completion, `close_time + 1` unit (the next bar's open time, 00:01:00.000 for the 00:00 minute),
//!   which is how backtrader stamps an intraday bar: at the end of its period. The quote volume,
//!   trade count and taker columns are checked for syntax but not kept.
//! - `binance-bookticker` (USD-M `update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,
//!   transaction_time,event_time`): one [`Quote`] per row, `ts_event = transaction_time` (the matching
//!   engine's time) and `ts_recv = event_time` (when Binance pushed it: the nearest thing to a receive
//!   time in the file).
//! - `binance-depth` (USD-M `T_DEPTH` `symbol,timestamp,first_update_id,last_update_id,side,
//!   update_type,price,qty,pu`): a run of `snap` rows sharing one `last_update_id` becomes
//!   `SnapshotBegin`, its levels, `SnapshotEnd`; `set` rows become level updates with the absolute
//!   size (0 removes). Between `set` messages `pu` must equal the previous message's
//!   `last_update_id`: a gap is a malformed row (with `--skip-malformed` every row of the message
//!   after the gap is reported and skipped, so the counts stay honest). The symbol is the column's.
//!   The older headerless layout with a `trans_id` column and no `pu` is refused (its rows fail the
//!   side column), not guessed at.
//!
//! # Timestamps
//! Milliseconds, except spot files from 2025-01-01 on, which Binance writes in microseconds. The unit
//! is decided per file from the magnitude of the first timestamp (below 10^14: ms, which is past the
//! year 5000; from 10^14 to 10^17: µs, which starts in 1973) and every later timestamp of the file must
//! be in that unit's range, so a file mixing units is a malformed row rather than a silent 1000× jump.
//! There is no summary field for it; the tests cover both units. Times after 2262 (beyond `i64`
//! nanoseconds) are refused.
//!
//! # Speed
//! Lines are cut from a 2 MiB buffer (filled straight from the file) with `memchr` and split at
//! commas eight bytes at a time; numbers go through [`Price`]/[`Qty`] `FromStr` (exact, no floats),
//! ids and times through a one-pass digit loop. On a 5M-row USD-M trades CSV this is about 6M rows
//! per CPU-second on one core, writing the tick file included (figures in `BENCHMARKS.md`); the
//! decimal parser is about a sixth of that time, the spool and its copy into the tick file about a
//! quarter.
//!
//! # Symbol and order
//! The symbol is the file name's part before the first `-` (`BTCUSDT-trades-2024-01-01.zip`), else the
//! zip member's, else the name up to its first `.`; `--instrument symbol=` overrides it. Rows are kept
//! in file order; a row whose `ts_recv` is earlier than the previous row's is a malformed row (so
//! `--skip-malformed` can drop it and count it) instead of being re-sorted: Binance documents no
//! ordering; its files are written in id order, in which time normally does not go backwards, and
//! where it does (other tools report `event_time` regressions in some bookTicker files) the row is
//! reported rather than moved, so nothing is reordered or dropped silently.
//!
//! # Strictness
//! A wrong column count, a bad number, `NaN`, a non-positive price, a negative size, a zero trade size,
//! a bad boolean, a bad or out-of-unit timestamp, or an empty line is a malformed row naming the file
//! and 1-based line. A header must be one Binance writes (names compared without case and `_`).
//! `.zip` input is read directly (one member, CRC-32 and sizes checked; see [`input`]) and a sibling
//! `<file>.CHECKSUM` is verified.

pub(super) mod input;
#[cfg(test)]
pub(super) mod tests;

use std::path::Path;
use std::str::FromStr;

use kestrel_types::{
    Aggressor, Bar, BookSide, Event, InstrumentId, LevelUpdate, ParseDecimalError, Payload, Price, Qty,
    Quote, Timestamp, Trade, VenueId,
};

use self::input::Input;
use super::{Collector, ConvertError, Format};

/// The venue every converted instrument is put on: a tick file made by one conversion has one venue.
const VENUE: VenueId = VenueId(0);

/// The most columns any Binance layout has (klines: 12); a row is split into this many plus one, so a
/// row with too many columns is still counted as such.
const MAX_COLS: usize = 12;

/// data.binance.vision kline intervals, as they appear in file names (`ADABTC-1m-2021-11-28.zip`).
const INTERVALS: [&str; 16] =
    ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1mo"];

/// A format's columns: for each position the names Binance has used for it (lowercase, without `_`),
/// and the column counts a row may have (spot and USD-M files differ by trailing columns).
struct Layout {
    /// Accepted names per position.
    names: &'static [&'static [&'static str]],
    /// Accepted column counts.
    counts: &'static [usize],
}

/// Trades: spot has 7 columns (with `isBestMatch`), USD-M 6.
const TRADES: Layout = Layout {
    names: &[
        &["id", "tradeid"],
        &["price"],
        &["qty", "quantity"],
        &["quoteqty", "quotequantity"],
        &["time", "timestamp"],
        &["isbuyermaker"],
        &["isbestmatch"],
    ],
    counts: &[6, 7],
};

/// aggTrades: spot has 8 columns (with `M`, best match), USD-M 7.
const AGG_TRADES: Layout = Layout {
    names: &[
        &["a", "aggtradeid"],
        &["p", "price"],
        &["q", "quantity", "qty"],
        &["f", "firsttradeid"],
        &["l", "lasttradeid"],
        &["t", "transacttime", "timestamp", "time"],
        &["m", "isbuyermaker"],
        &["m", "isbestmatch"],
    ],
    counts: &[7, 8],
};

/// Klines: 12 columns in spot and USD-M alike.
const KLINES: Layout = Layout {
    names: &[
        &["opentime"],
        &["open"],
        &["high"],
        &["low"],
        &["close"],
        &["volume"],
        &["closetime"],
        &["quotevolume", "quoteassetvolume"],
        &["count", "numberoftrades", "trades"],
        &["takerbuyvolume", "takerbuybaseassetvolume", "takerbuybasevolume"],
        &["takerbuyquotevolume", "takerbuyquoteassetvolume"],
        &["ignore"],
    ],
    counts: &[12],
};

/// USD-M bookTicker.
const BOOK_TICKER: Layout = Layout {
    names: &[
        &["updateid"],
        &["bestbidprice"],
        &["bestbidqty"],
        &["bestaskprice"],
        &["bestaskqty"],
        &["transactiontime"],
        &["eventtime"],
    ],
    counts: &[7],
};

/// USD-M `T_DEPTH` snapshot and update files.
const DEPTH: Layout = Layout {
    names: &[
        &["symbol"],
        &["timestamp"],
        &["firstupdateid"],
        &["lastupdateid"],
        &["side"],
        &["updatetype"],
        &["price"],
        &["qty"],
        &["pu"],
    ],
    counts: &[9],
};

/// The layout of a Binance format.
fn layout(format: Format) -> &'static Layout {
    match format {
        Format::BinanceAggTrades => &AGG_TRADES,
        Format::BinanceKlines => &KLINES,
        Format::BinanceBookTicker => &BOOK_TICKER,
        Format::BinanceDepth => &DEPTH,
        _ => &TRADES,
    }
}

/// Splits a CSV line at commas into `out` and returns the number of fields, which may exceed
/// `out.len()` (then only the first fit): Binance files have no quoting, so a plain split is exact and
/// much faster than a general CSV parser. The line was checked to be UTF-8 once, so the fields are
/// `&str` for the `FromStr` number parsers at no further cost.
///
/// Commas are found eight bytes at a time: each byte of the word XOR `,` is zero exactly at a comma,
/// and `!(((x & 0x7f..) + 0x7f..) | x | 0x7f..)` sets the top bit of exactly those bytes (the sum
/// cannot carry between bytes, so unlike the shorter `(x - 0x01..) & !x` test it has no false hits).
fn split<'a>(line: &'a str, out: &mut [&'a str]) -> usize {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const COMMAS: u64 = 0x2c2c_2c2c_2c2c_2c2c;
    let bytes = line.as_bytes();
    let mut n = 0;
    let mut start = 0;
    let mut field = |end: usize, n: &mut usize, start: &mut usize| {
        if let Some(slot) = out.get_mut(*n) {
            *slot = line.get(*start..end).unwrap_or("");
        }
        *n += 1;
        *start = end + 1;
    };
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in words.by_ref() {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ COMMAS;
        let mut hits = !(((x & LOW) + LOW) | x | LOW);
        while hits != 0 {
            field(at + (hits.trailing_zeros() / 8) as usize, &mut n, &mut start);
            hits &= hits - 1;
        }
        at += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b',' {
            field(at + i, &mut n, &mut start);
        }
    }
    if let Some(slot) = out.get_mut(n) {
        *slot = line.get(start..).unwrap_or("");
    }
    n + 1
}

/// Whether `line` is a header: Binance data rows start with a digit (ids, times) or, in `T_DEPTH`,
/// with the symbol in capitals, while headers are lowercase or camelCase names.
fn is_header(format: Format, line: &[u8]) -> bool {
    match format {
        Format::BinanceDepth => line.starts_with(b"symbol,"),
        _ => line.first().is_some_and(u8::is_ascii_alphabetic),
    }
}

/// A header name as compared: lowercase, without `_`, spaces or quotes.
fn normalise(name: &[u8]) -> String {
    name.iter()
        .filter(|b| !matches!(b, b'_' | b' ' | b'"' | b'\t'))
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect()
}

/// Whether `line` is a header of `layout`; `Some(column count)` when it is.
fn header_columns(layout: &Layout, line: &[u8]) -> Option<usize> {
    let names: Vec<String> = line.split(|&b| b == b',').map(normalise).collect();
    (layout.counts.contains(&names.len())
        && names.iter().zip(layout.names).all(|(n, ok)| ok.contains(&n.as_str())))
    .then_some(names.len())
}

/// A decimal with Kestrel's exact parser (no floats): `NaN`, `inf`, empty text and more than nine
/// decimals are all refused here.
fn dec<T: FromStr<Err = ParseDecimalError>>(f: &str, what: &str) -> Result<T, String> {
    f.parse::<T>().map_err(|e| format!("{what} {f:?}: {e}"))
}

/// A price, which must be above zero (Binance has no zero or negative prices).
fn price(f: &str, what: &str) -> Result<Price, String> {
    let p: Price = dec(f, what)?;
    if p.is_positive() { Ok(p) } else { Err(format!("{what} {p} is not positive")) }
}

/// A size, which must not be negative.
fn size(f: &str, what: &str) -> Result<Qty, String> {
    let q: Qty = dec(f, what)?;
    if q.is_negative() { Err(format!("{what} {q} is negative")) } else { Ok(q) }
}

/// A column that is checked but not kept (quote volumes can exceed the 9.2e9 range of [`Qty`], so
/// only the syntax is checked): digits with at most one `.`, no sign, at least one digit.
fn plain_decimal(f: &str, what: &str) -> Result<(), String> {
    let (mut digits, mut points, mut other) = (0usize, 0usize, false);
    for b in f.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => other = true,
        }
    }
    if digits > 0 && points <= 1 && !other {
        Ok(())
    } else {
        Err(format!("{what} {f:?} is not a non-negative decimal"))
    }
}

/// A non-negative integer (ids, counts, times): 1 to 18 digits, so it fits an `i64` without checks.
fn uint(f: &str, what: &str) -> Result<i64, String> {
    let b = f.as_bytes();
    let bad = || format!("{what} {f:?} is not a whole number of at most 18 digits");
    if b.is_empty() || b.len() > 18 {
        return Err(bad());
    }
    let mut v = 0i64;
    for &d in b {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return Err(bad());
        }
        v = v * 10 + i64::from(digit);
    }
    Ok(v)
}

/// An id column as `u64`.
fn id(f: &str, what: &str) -> Result<u64, String> {
    uint(f, what).map(i64::unsigned_abs)
}

/// An integer that may be `-1` (`pu` in snapshot rows).
fn int(f: &str, what: &str) -> Result<i64, String> {
    match f.strip_prefix('-') {
        Some(rest) => uint(rest, what).map(|v| -v),
        None => uint(f, what),
    }
}

/// `True`/`False` in any case (spot files write `True`, USD-M files `true`).
fn boolean(f: &str, what: &str) -> Result<bool, String> {
    if f.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if f.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("{what} {f:?} is not true or false"))
    }
}

/// The unit of a file's epoch timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// Milliseconds (every file before 2025, and USD-M files since).
    Millis,
    /// Microseconds (spot files from 2025-01-01 on).
    Micros,
}

/// Below this an epoch value is milliseconds (10^14 ms is in the year 5138).
const MICROS_FROM: i64 = 100_000_000_000_000;
/// From this an epoch value would be nanoseconds, which Binance does not write (10^17 µs is in 5138).
const NANOS_FROM: i64 = 100_000_000_000_000_000;

impl Unit {
    /// The unit a first timestamp's magnitude says.
    fn of(v: i64) -> Result<Self, String> {
        match v {
            ..MICROS_FROM => Ok(Self::Millis),
            MICROS_FROM..NANOS_FROM => Ok(Self::Micros),
            _ => Err(format!("timestamp {v} is too large for milliseconds or microseconds")),
        }
    }

    /// Nanoseconds per unit.
    const fn nanos(self) -> i64 {
        match self {
            Self::Millis => 1_000_000,
            Self::Micros => 1_000,
        }
    }

    /// `v` in this unit as a timestamp, refusing values of another unit's magnitude.
    fn stamp(self, v: i64, what: &str) -> Result<Timestamp, String> {
        if Self::of(v)? != self {
            return Err(format!("{what} {v} is not in {} like the file's first timestamp", self.name()));
        }
        v.checked_mul(self.nanos())
            .map(Timestamp::from_nanos)
            .ok_or_else(|| format!("{what} {v} is after 2262, beyond nanoseconds in an i64"))
    }

    /// For messages.
    const fn name(self) -> &'static str {
        match self {
            Self::Millis => "milliseconds",
            Self::Micros => "microseconds",
        }
    }
}

/// A file's clock: its unit, fixed by the first timestamp, and the last `ts_recv` pushed, so that a
/// row going back in time is a malformed row (skippable) rather than the collector's fatal error.
#[derive(Debug, Default)]
struct Clock {
    /// Unit of the file's timestamps, once seen.
    unit: Option<Unit>,
    /// Last `ts_recv` pushed from this file (nanoseconds).
    last: i64,
}

impl Clock {
    /// A fresh clock: no unit yet, nothing pushed.
    fn new() -> Self {
        Self { unit: None, last: i64::MIN }
    }

    /// Parses an epoch timestamp column in the file's unit (deciding the unit on the first one).
    fn parse(&mut self, f: &str, what: &str) -> Result<Timestamp, String> {
        let v = uint(f, what)?;
        let unit = match self.unit {
            Some(u) => u,
            None => *self.unit.insert(Unit::of(v)?),
        };
        unit.stamp(v, what)
    }

    /// Refuses a `ts_recv` before the previous one of this file.
    fn check(&self, ts: Timestamp) -> Result<(), String> {
        if ts.nanos() < self.last {
            return Err(format!(
                "time goes backwards: {ts} after {} (rows are kept in file order)",
                Timestamp::from_nanos(self.last)
            ));
        }
        Ok(())
    }
}

/// The symbol of a Binance file: data.binance.vision names are `SYMBOL-kind-date` (`BTCUSDT-trades-
/// 2024-01-01.zip`); failing that, the zip member's name; failing that, the name up to its first `.`.
fn symbol_of(path: &Path, member: Option<&str>) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let from = |n: &str| {
        let stem = n.rsplit('/').next().unwrap_or(n);
        stem.split_once('-')
            .map(|(s, _)| s)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(str::to_owned)
    };
    from(name)
        .or_else(|| member.and_then(from))
        .unwrap_or_else(|| name.split('.').next().unwrap_or(name).to_owned())
}

/// The format a data.binance.vision or `T_DEPTH` file name says (lowercase, as `detect` gets it).
fn format_of_name(name: &str) -> Option<Format> {
    let stem = name.strip_suffix(".zip").or_else(|| name.strip_suffix(".csv"))?;
    if stem.contains("_t_depth_") {
        return Some(Format::BinanceDepth);
    }
    let mut parts = stem.split('-');
    let symbol = parts.next()?;
    let kind = parts.next()?;
    let dated = parts.next().is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()));
    if symbol.is_empty() || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) || !dated {
        return None;
    }
    match kind {
        "trades" => Some(Format::BinanceTrades),
        "aggtrades" => Some(Format::BinanceAggTrades),
        "bookticker" => Some(Format::BinanceBookTicker),
        k if INTERVALS.contains(&k) => Some(Format::BinanceKlines),
        _ => None,
    }
}

/// Whether a field looks like an epoch time in ms or µs (13 to 17 digits), for sniffing headerless
/// files without mistaking a generic bar CSV (`20200101,…`) for a Binance one.
fn epoch_like(f: &str) -> bool {
    (13..=17).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit())
}

/// The format of a headerless Binance CSV from its first row's shape.
fn format_of_row(line: &[u8]) -> Option<Format> {
    let line = std::str::from_utf8(line).ok()?;
    let mut f: [&str; MAX_COLS + 1] = [""; MAX_COLS + 1];
    let n = split(line, &mut f);
    let is_bool = |x: &str| boolean(x, "").is_ok();
    let is_int = |x: &str| uint(x, "").is_ok();
    match n {
        12 if epoch_like(f[0]) && epoch_like(f[6]) => Some(Format::BinanceKlines),
        8 if is_int(f[0]) && epoch_like(f[5]) && is_bool(f[6]) && is_bool(f[7]) => {
            Some(Format::BinanceAggTrades)
        }
        7 if is_int(f[0]) && epoch_like(f[4]) && is_bool(f[5]) && is_bool(f[6]) => {
            Some(Format::BinanceTrades)
        }
        7 if is_int(f[0]) && epoch_like(f[5]) && is_bool(f[6]) => Some(Format::BinanceAggTrades),
        7 if is_int(f[0]) && epoch_like(f[5]) && epoch_like(f[6]) => Some(Format::BinanceBookTicker),
        6 if is_int(f[0]) && epoch_like(f[4]) && is_bool(f[5]) => Some(Format::BinanceTrades),
        _ => None,
    }
}

/// Tells a Binance file from its name (`-trades-`, `-aggTrades-`, `-1m-`…, `-bookTicker-`,
/// `_T_DEPTH_`), its zip member's name, or its first line (a Binance header, or a headerless row
/// whose shape and epoch-time columns only Binance writes).
pub(super) fn detect(name: &str, head: &[u8]) -> Option<Format> {
    if let Some(f) = format_of_name(name) {
        return Some(f);
    }
    if head.starts_with(b"PK\x03\x04") && head.len() >= 30 {
        let len = usize::from(u16::from_le_bytes([head[26], head[27]]));
        let member = head.get(30..30 + len)?;
        return format_of_name(&String::from_utf8_lossy(member).to_ascii_lowercase());
    }
    let first = head.split(|&b| b == b'\n').next()?;
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let first = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    let formats = [
        Format::BinanceDepth,
        Format::BinanceBookTicker,
        Format::BinanceKlines,
        Format::BinanceAggTrades,
        Format::BinanceTrades,
    ];
    if first.first().is_some_and(u8::is_ascii_alphabetic) {
        return formats.into_iter().find(|&f| header_columns(layout(f), first).is_some());
    }
    format_of_row(first)
}

/// Reads one Binance file of `format` into `coll`.
///
/// # Errors
/// [`ConvertError`] naming the file and, for rows, the 1-based line and the reason.
pub(super) fn read(format: Format, path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    let mut input = Input::open(coll, path)?;
    let result = read_rows(format, path, &mut input, coll);
    input.finish(result)
}

/// What a row parser needs besides the fields.
struct Ctx {
    /// The file's instrument (depth rows name theirs: there it is unused and never declared).
    id: InstrumentId,
    /// The file's clock.
    clock: Clock,
}

/// The header check, the column count, and the per-format row parser, in one loop.
fn read_rows(
    format: Format,
    path: &Path,
    input: &mut Input,
    coll: &mut Collector,
) -> Result<(), ConvertError> {
    let layout = layout(format);
    // Depth rows carry their symbol; every other format takes it from the file name.
    let id = if format == Format::BinanceDepth {
        InstrumentId(u16::MAX)
    } else {
        coll.instrument(&symbol_of(path, input.member()), VENUE)
    };
    let mut ctx = Ctx { id, clock: Clock::new() };
    let mut depth = Depth::default();
    // Column count: from the header, else from the first row with an accepted count.
    let mut columns: Option<usize> = None;
    let mut first = true;
    let mut last_line = 0;
    while let Some((line, mut bytes)) = input.next_line()? {
        last_line = line;
        if first {
            first = false;
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            if is_header(format, bytes) {
                columns = Some(header_columns(layout, bytes).ok_or_else(|| ConvertError::Format {
                    path: path.to_path_buf(),
                    reason: format!(
                        "line 1: unexpected header {:?} for {format}",
                        String::from_utf8_lossy(bytes)
                    ),
                })?);
                continue;
            }
        }
        coll.row();
        let Ok(row) = std::str::from_utf8(bytes) else {
            coll.malformed(coll.row_error(line, "not UTF-8 text"))?;
            continue;
        };
        let mut f: [&str; MAX_COLS + 1] = [""; MAX_COLS + 1];
        let n = split(row, &mut f);
        let reason = if row.is_empty() {
            Some("empty line".to_owned())
        } else if columns.is_some_and(|c| c != n) || !layout.counts.contains(&n) {
            let want = columns.map_or_else(
                || layout.counts.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or "),
                |c| c.to_string(),
            );
            Some(format!("{n} columns, expected {want}"))
        } else {
            columns = Some(n);
            let f = &f[..n];
            let ev = match format {
                Format::BinanceAggTrades => agg_trade(f, &mut ctx),
                Format::BinanceKlines => kline(f, &mut ctx),
                Format::BinanceBookTicker => book_ticker(f, &mut ctx),
                Format::BinanceDepth => {
                    depth.row(f, line, &mut ctx, coll)?;
                    continue;
                }
                _ => trade(f, &mut ctx),
            };
            match ev.and_then(|ev| ctx.clock.check(ev.ts_recv).map(|()| ev)) {
                Ok(ev) => {
                    coll.push(&ev, line)?;
                    ctx.clock.last = ev.ts_recv.nanos();
                    None
                }
                Err(reason) => Some(reason),
            }
        };
        if let Some(reason) = reason {
            coll.malformed(coll.row_error(line, reason))?;
        }
    }
    depth.end_snapshot(last_line, coll)
}

/// A trades row: `id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]`.
fn trade(f: &[&str], ctx: &mut Ctx) -> Result<Event, String> {
    let trade_id = id(f[0], "id")?;
    let price = price(f[1], "price")?;
    let size = size(f[2], "qty")?;
    if size.is_zero() {
        return Err("qty is zero".into());
    }
    plain_decimal(f[3], "quote_qty")?;
    let ts = ctx.clock.parse(f[4], "time")?;
    let maker = boolean(f[5], "is_buyer_maker")?;
    if let Some(m) = f.get(6) {
        boolean(m, "is_best_match")?;
    }
    let aggressor = if maker { Aggressor::Sell } else { Aggressor::Buy };
    Ok(Event {
        ts_event: ts,
        ts_recv: ts,
        instrument: ctx.id,
        payload: Payload::Trade(Trade { price, size, aggressor, trade_id }),
    })
}

/// An aggTrades row: `a,p,q,f,l,T,m[,M]`.
fn agg_trade(f: &[&str], ctx: &mut Ctx) -> Result<Event, String> {
    let trade_id = id(f[0], "agg_trade_id")?;
    let price = price(f[1], "price")?;
    let size = size(f[2], "quantity")?;
    if size.is_zero() {
        return Err("quantity is zero".into());
    }
    let (first, last) = (id(f[3], "first_trade_id")?, id(f[4], "last_trade_id")?);
    if first > last {
        return Err(format!("first_trade_id {first} is after last_trade_id {last}"));
    }
    let ts = ctx.clock.parse(f[5], "transact_time")?;
    let maker = boolean(f[6], "is_buyer_maker")?;
    if let Some(m) = f.get(7) {
        boolean(m, "is_best_match")?;
    }
    let aggressor = if maker { Aggressor::Sell } else { Aggressor::Buy };
    Ok(Event {
        ts_event: ts,
        ts_recv: ts,
        instrument: ctx.id,
        payload: Payload::Trade(Trade { price, size, aggressor, trade_id }),
    })
}

/// A klines row → a bar stamped at `close_time + 1` unit (see the module docs).
fn kline(f: &[&str], ctx: &mut Ctx) -> Result<Event, String> {
    let open_time = ctx.clock.parse(f[0], "open_time")?;
    let open = price(f[1], "open")?;
    let high = price(f[2], "high")?;
    let low = price(f[3], "low")?;
    let close = price(f[4], "close")?;
    let volume = size(f[5], "volume")?;
    let close_time = ctx.clock.parse(f[6], "close_time")?;
    plain_decimal(f[7], "quote_volume")?;
    uint(f[8], "count")?;
    plain_decimal(f[9], "taker_buy_volume")?;
    plain_decimal(f[10], "taker_buy_quote_volume")?;
    if close_time < open_time {
        return Err(format!("close_time {close_time} is before open_time {open_time}"));
    }
    if high < low || open < low || open > high || close < low || close > high {
        return Err(format!("open {open} high {high} low {low} close {close} are inconsistent"));
    }
    let unit = ctx.clock.unit.map_or(1_000_000, Unit::nanos);
    let ts = close_time
        .nanos()
        .checked_add(unit)
        .map(Timestamp::from_nanos)
        .ok_or_else(|| format!("close_time {close_time} is too late"))?;
    Ok(Event {
        ts_event: ts,
        ts_recv: ts,
        instrument: ctx.id,
        payload: Payload::Bar(Bar { ts, open, high, low, close, volume, open_interest: Qty::ZERO }),
    })
}

/// A bookTicker row → a quote, `ts_event = transaction_time`, `ts_recv = event_time`.
fn book_ticker(f: &[&str], ctx: &mut Ctx) -> Result<Event, String> {
    id(f[0], "update_id")?;
    let bid = price(f[1], "best_bid_price")?;
    let bid_size = size(f[2], "best_bid_qty")?;
    let ask = price(f[3], "best_ask_price")?;
    let ask_size = size(f[4], "best_ask_qty")?;
    let ts_event = ctx.clock.parse(f[5], "transaction_time")?;
    let ts_recv = ctx.clock.parse(f[6], "event_time")?;
    Ok(Event {
        ts_event,
        ts_recv,
        instrument: ctx.id,
        payload: Payload::Quote(Quote { bid, bid_size, ask, ask_size }),
    })
}

/// `T_DEPTH` state across rows: the open snapshot, the update-id chain, the current symbol.
#[derive(Debug, Default)]
struct Depth {
    /// The snapshot being read: its `last_update_id`, its instrument and the time of its latest
    /// level (which `SnapshotEnd` takes, so that time never goes back).
    snapshot: Option<(u64, InstrumentId, Timestamp)>,
    /// `last_update_id` of the last message (snapshot or update) taken.
    last_u: Option<u64>,
    /// The update message being read (its `last_update_id`).
    message: Option<u64>,
    /// The last message was a snapshot: the next update's `pu` is not checked (a snapshot's id comes
    /// from the REST book, which sits between two stream messages).
    after_snapshot: bool,
    /// A message after a gap, being skipped row by row (`--skip-malformed`), with the gap's line.
    skipping: Option<(u64, u64)>,
    /// The last symbol seen and its instrument, so that most rows need no table lookup.
    symbol: Option<(String, InstrumentId)>,
}

/// One validated `T_DEPTH` row.
struct DepthRow<'a> {
    /// Symbol column.
    symbol: &'a str,
    /// Time.
    ts: Timestamp,
    /// `last_update_id`.
    last: u64,
    /// `pu`: the previous message's `last_update_id` (-1 in snapshots).
    pu: i64,
    /// `snap` rather than `set`.
    snap: bool,
    /// The level.
    level: LevelUpdate,
}

/// Parses and checks a `T_DEPTH` row's columns.
fn depth_row<'a>(f: &[&'a str], clock: &mut Clock) -> Result<DepthRow<'a>, String> {
    let symbol = f[0];
    if symbol.is_empty() || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("symbol {symbol:?} is not a Binance symbol"));
    }
    let ts = clock.parse(f[1], "timestamp")?;
    let first = id(f[2], "first_update_id")?;
    let last = id(f[3], "last_update_id")?;
    if first > last {
        return Err(format!("first_update_id {first} is after last_update_id {last}"));
    }
    let side = match f[4] {
        "b" => BookSide::Bid,
        "a" => BookSide::Ask,
        s => return Err(format!("side {s:?} is not b or a")),
    };
    let snap = match f[5] {
        "snap" => true,
        "set" => false,
        s => return Err(format!("update_type {s:?} is not snap or set")),
    };
    let price = price(f[6], "price")?;
    let size = size(f[7], "qty")?;
    let pu = int(f[8], "pu")?;
    Ok(DepthRow { symbol, ts, last, pu, snap, level: LevelUpdate { side, price, size } })
}

impl Depth {
    /// Takes one `T_DEPTH` row: closes or opens snapshots, checks the `pu` chain, pushes the level.
    fn row(
        &mut self,
        f: &[&str],
        line: u64,
        ctx: &mut Ctx,
        coll: &mut Collector,
    ) -> Result<(), ConvertError> {
        let r = match depth_row(f, &mut ctx.clock).and_then(|r| ctx.clock.check(r.ts).map(|()| r)) {
            Ok(r) => r,
            Err(reason) => return coll.malformed(coll.row_error(line, reason)),
        };
        if let Some((msg, gap_line)) = self.skipping {
            if !r.snap && r.last == msg {
                let reason = format!("part of the update after the update-id gap at line {gap_line}");
                return coll.malformed(coll.row_error(line, reason));
            }
            self.skipping = None;
        }
        let id = match &self.symbol {
            Some((s, id)) if s == r.symbol => *id,
            _ => {
                let id = coll.instrument(r.symbol, VENUE);
                self.symbol = Some((r.symbol.to_owned(), id));
                id
            }
        };
        let at = |ts, payload| Event { ts_event: ts, ts_recv: ts, instrument: id, payload };
        if r.snap {
            if self.snapshot.is_none_or(|(u, i, _)| u != r.last || i != id) {
                self.end_snapshot(line, coll)?;
                coll.push(&at(r.ts, Payload::SnapshotBegin), line)?;
                self.last_u = Some(r.last);
                self.message = None;
                self.after_snapshot = true;
            }
            self.snapshot = Some((r.last, id, r.ts));
        } else {
            self.end_snapshot(line, coll)?;
            if self.message != Some(r.last) {
                let expected = self.last_u.filter(|_| !self.after_snapshot);
                if let Some(prev) = expected
                    && i64::try_from(prev).ok() != Some(r.pu)
                {
                    // With `--skip-malformed` the rest of this message is skipped too, and the
                    // chain goes on from it, so the next message is not reported again.
                    self.skipping = Some((r.last, line));
                    self.message = Some(r.last);
                    self.last_u = Some(r.last);
                    let reason = format!(
                        "update-id gap: pu {} but the previous update ended at {prev} (data missing)",
                        r.pu
                    );
                    return coll.malformed(coll.row_error(line, reason));
                }
                self.message = Some(r.last);
                self.last_u = Some(r.last);
                self.after_snapshot = false;
            }
        }
        coll.push(&at(r.ts, Payload::Level(r.level)), line)?;
        ctx.clock.last = r.ts.nanos();
        Ok(())
    }

    /// Closes the open snapshot, if any, at the time of its latest level; at the end of the file
    /// too, since the file holds all of the snapshot there is.
    fn end_snapshot(&mut self, line: u64, coll: &mut Collector) -> Result<(), ConvertError> {
        if let Some((_, id, ts)) = self.snapshot.take() {
            let ev = Event { ts_event: ts, ts_recv: ts, instrument: id, payload: Payload::SnapshotEnd };
            coll.push(&ev, line)?;
        }
        Ok(())
    }
}
