//! Bar CSVs: backtrader's own (`btcsv`), Yahoo's (`yahoo`), and any CSV described with backtrader's
//! `GenericCSVData` parameters (`generic-csv`), each bar becoming one `Payload::Bar` event.
//!
//! # btcsv and yahoo
//! Parsed by [`crate::bars::parse_bars`], the reader the conformance scenarios use, so a converted
//! file holds exactly the bars a backtest over the CSV sees: same header check, same exact numbers,
//! daily bars stamped at 23:59:59.999989 of their date ([`SESSION_END_NANOS`]), intraday bars at
//! their date and time. `parse_bars` stops at the first error; to give `--skip-malformed` something
//! to skip, each data line is handed to it on its own behind the file's header, and its typed
//! [`BarError`] (at line 2 of that two-line text) becomes a row error at the line's real number.
//! The order check `parse_bars` would make across the file (strictly increasing timestamps: a
//! duplicate or reversed bar is an error there) is made here, row by row, as a malformed row.
//! Rows `parse_bars` would drop silently — Yahoo's `null` rows, days without data — are malformed
//! rows here: `--skip-malformed` drops them as backtrader does, and counts them.
//!
//! # generic-csv
//! backtrader's `GenericCSVData` (`feeds/csvgeneric.py`) reads any column layout from parameters
//! given as `key=value` pairs separated by commas ([`GenericCsvSpec`]) with `kestrel convert
//! --generic-csv`, or in the `KESTREL_GENERIC_CSV` environment variable; absent, backtrader's
//! defaults apply: `dtformat=%Y-%m-%d %H:%M:%S`, datetime in column 0, open..openinterest in columns
//! 1..6, no time column, a header line, `,` separator, `nullvalue` NaN, daily timeframe. Semantics
//! follow backtrader's:
//! - `dtformat` is a `strptime` format, or `1` (integer Unix seconds) or `2` (fractional Unix
//!   seconds, read exactly as decimal text, never as a float). With `time ≥ 0`, the fields are
//!   joined as `date + 'T' + time` and parsed with `dtformat + 'T' + tmformat`, as backtrader does.
//! - With a daily (or longer) timeframe, a bar whose time is before the session end is moved to
//!   its date's session end (backtrader's `_loadline`); intraday timeframes keep the parsed time.
//! - A column index of `-1` means absent, and an empty field takes `nullvalue`. Kestrel numbers
//!   cannot hold NaN, so with the default NaN an empty price field is a malformed row, an absent
//!   volume or open interest is 0 (what `Bar` stores for "none"), and an absent price column is
//!   refused up front.
//!
//! Beyond backtrader, rows are checked like the other bar formats: every row has the header's
//! field count (the first row's when there is no header), `high ≥ low`, volume and open interest
//! are not negative, and timestamps strictly increase. Blank lines are passed over.
//!
//! # Symbol
//! Bar files do not name their instrument: the file name without its extension is used (cut to 32
//! bytes), on `VenueId(0)`; `--instrument symbol=…` renames it.

use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use kestrel_types::{Bar, Event, InstrumentId, Payload, Price, Qty, Timestamp, VenueId};

use super::tardis::{
    Fault, Fields, GZIP_MAGIC, Lines, MAX_SYMBOL, Next, column, decimal, is_blank, settle, shorten, text,
};
use super::{Collector, ConvertError, Format};
use crate::bars::{BarError, BarFormat, DateWindow, SESSION_END_NANOS, parse_bars};

/// The environment variable holding `generic-csv`'s parameters.
pub(crate) const GENERIC_CSV_ENV: &str = "KESTREL_GENERIC_CSV";

/// The headers of the layouts detected (compared without case or spaces).
const BTCSV_DAILY: &str = "date,open,high,low,close,volume,openinterest";
/// backtrader's intraday header.
const BTCSV_INTRADAY: &str = "date,time,open,high,low,close,volume,openinterest";
/// Yahoo's header.
const YAHOO: &str = "date,open,high,low,close,adjclose,volume";

/// Tells `btcsv` and `yahoo` files by their header line. `generic-csv` is never detected: its
/// layout is whatever its parameters say.
pub(super) fn detect(_name: &str, head: &[u8]) -> Option<Format> {
    let first = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let first = first.strip_prefix("\u{feff}".as_bytes()).unwrap_or(first);
    let norm: String = std::str::from_utf8(first)
        .ok()?
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match norm.as_str() {
        BTCSV_DAILY | BTCSV_INTRADAY => Some(Format::BtCsv),
        YAHOO => Some(Format::Yahoo),
        _ => None,
    }
}

/// Reads a bar CSV of `format` into `coll`.
///
/// # Errors
/// [`ConvertError::Format`] for a bad header or bad `generic-csv` parameters; [`ConvertError::Row`]
/// for a malformed row in strict mode; [`ConvertError::Io`].
pub(super) fn read(format: Format, path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    match format {
        Format::BtCsv => read_bar_file(BarFormat::BtCsv, path, coll),
        Format::Yahoo => read_bar_file(BarFormat::Yahoo, path, coll),
        Format::GenericCsv => {
            // The command line's --generic-csv wins over the environment variable.
            let given = coll.generic_csv().map(|t| (t.to_owned(), "--generic-csv".to_owned()));
            let given = given
                .or_else(|| std::env::var(GENERIC_CSV_ENV).ok().map(|t| (t, format!("${GENERIC_CSV_ENV}"))));
            let spec = match given {
                Some((text, origin)) => text.parse().map_err(|reason| ConvertError::Format {
                    path: path.to_path_buf(),
                    reason: format!("{origin}: {reason}"),
                })?,
                None => GenericCsvSpec::default(),
            };
            read_generic(path, coll, &spec)
        }
        other => Err(ConvertError::Format {
            path: path.to_path_buf(),
            reason: format!("{other} is not a bar CSV"),
        }),
    }
}

/// The instrument name of a bar file: its name without the extension, at most 32 bytes.
fn symbol_of(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.split('.').next().filter(|s| !s.is_empty()).unwrap_or("BARS");
    let mut end = stem.len().min(MAX_SYMBOL);
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    stem[..end].to_owned()
}

/// Bars of one file, written in order, each checked to be later than the one before.
struct BarSink {
    /// The instrument, declared at the first bar (a file of bad rows declares nothing).
    ins: Option<InstrumentId>,
    /// Its name.
    symbol: String,
    /// The last bar written and its line.
    last: Option<(Timestamp, u64)>,
}

impl BarSink {
    /// A sink for the bars of `path`.
    fn new(path: &Path) -> Self {
        Self { ins: None, symbol: symbol_of(path), last: None }
    }

    /// Checks and writes one bar read from line `n`.
    fn push(&mut self, coll: &mut Collector, n: u64, bar: Bar) -> Result<(), Fault> {
        for (v, name) in [(bar.volume, "volume"), (bar.open_interest, "open interest")] {
            if v.is_negative() {
                return Err(Fault::Row(format!("negative {name} {v}")));
            }
        }
        if bar.high < bar.low {
            return Err(Fault::Row(format!("high {} is below low {}", bar.high, bar.low)));
        }
        if let Some((prev, line)) = self.last
            && bar.ts <= prev
        {
            return Err(Fault::Row(format!(
                "timestamp {} is not after {prev} (line {line}): bars must be in increasing time order",
                bar.ts
            )));
        }
        let id = *self.ins.get_or_insert_with(|| coll.instrument(&self.symbol, VenueId(0)));
        coll.push(
            &Event { ts_event: bar.ts, ts_recv: bar.ts, instrument: id, payload: Payload::Bar(bar) },
            n,
        )?;
        self.last = Some((bar.ts, n));
        Ok(())
    }
}

/// Reads a whole file through the collector (for progress), gunzipped when it is gzip.
fn slurp(path: &Path, coll: &Collector) -> Result<Vec<u8>, ConvertError> {
    let io = |source| ConvertError::Io { path: path.to_path_buf(), source };
    let mut bytes = Vec::new();
    coll.open(path)?.read_to_end(&mut bytes).map_err(io)?;
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text).map_err(|e| {
            ConvertError::Format {
                path: path.to_path_buf(),
                reason: format!("the gzip stream is truncated or corrupt: {e}"),
            }
        })?;
        return Ok(text);
    }
    Ok(bytes)
}

/// A `parse_bars` error on the two-line text `header + row` as a fault of the row.
fn bar_fault(path: &Path, e: BarError) -> Fault {
    match e {
        BarError::Io { path, source } => Fault::Fatal(ConvertError::Io { path, source }),
        other => {
            let text = other.to_string();
            let prefix = format!("{}:2: ", path.display());
            Fault::Row(text.strip_prefix(&prefix).unwrap_or(&text).to_owned())
        }
    }
}

/// `btcsv` / `yahoo`: every data line through `parse_bars` behind the header (see the module docs).
fn read_bar_file(format: BarFormat, path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    let bytes = slurp(path, coll)?;
    let mut lines = (1u64..).zip(bytes.split(|b| *b == b'\n'));
    let header = lines.next().map_or(&[][..], |(_, h)| h);
    let header = header.strip_suffix(b"\r").unwrap_or(header);
    // The header alone: `parse_bars` checks it (and refuses an empty file) exactly as for a scenario.
    parse_bars(path, header, format, DateWindow::ALL).map_err(|e| match e {
        BarError::Io { path, source } => ConvertError::Io { path, source },
        other => ConvertError::Format { path: path.to_path_buf(), reason: strip_location(path, &other) },
    })?;
    let mut scratch = Vec::with_capacity(header.len() + 128);
    let mut sink = BarSink::new(path);
    for (n, raw) in lines {
        if is_blank(raw) {
            continue;
        }
        coll.row();
        scratch.clear();
        scratch.extend_from_slice(header);
        scratch.push(b'\n');
        scratch.extend_from_slice(raw);
        let outcome = match parse_bars(path, &scratch, format, DateWindow::ALL) {
            Ok(file) => match file.bars.first() {
                Some(&bar) => sink.push(coll, n, bar),
                None if file.null_rows > 0 => Err(Fault::Row(
                    "Yahoo null row (no data that day): backtrader drops it; so does --skip-malformed"
                        .to_owned(),
                )),
                None => Err(Fault::Row("no bar in this row".to_owned())),
            },
            Err(e) => Err(bar_fault(path, e)),
        };
        settle(coll, n, outcome)?;
    }
    Ok(())
}

/// A file-level `BarError`'s message without its `path:line: ` prefix (the path is said again).
fn strip_location(path: &Path, e: &BarError) -> String {
    let text = e.to_string();
    let shown = path.display().to_string();
    text.strip_prefix(&shown)
        .map(|rest| rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit() || c == ' '))
        .unwrap_or(&text)
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// generic-csv.
// ---------------------------------------------------------------------------------------------

/// How `generic-csv` reads the date-time field (backtrader's `dtformat`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DtFormat {
    /// A `strptime` format, kept as given (Python's spelling, for messages) and as chrono reads it.
    Strftime {
        /// As given.
        python: String,
        /// Translated for chrono (`.%f` → `%.f`, `%f` → `%6f`).
        chrono: String,
    },
    /// `1`: whole Unix seconds.
    UnixSeconds,
    /// `2`: Unix seconds with a fraction (read exactly, up to nanoseconds).
    UnixFractional,
}

/// backtrader's `GenericCSVData` parameters, as `key=value,...` (see the module docs).
///
/// Keys: `dtformat`, `tmformat`, `datetime`, `time`, `open`, `high`, `low`, `close`, `volume`,
/// `openinterest` (0-based column indexes, `-1` = absent), `headers` (`true`/`false`/`1`/`0`),
/// `separator` (one character, or `comma`, `tab`, `semicolon`, `space`, `pipe`: a `,` cannot be
/// written inside a comma-separated list), `nullvalue` (`nan` or a decimal), `timeframe`
/// (`ticks`, `microseconds`, `seconds`, `minutes`: stamped as parsed; `days`, `weeks`, `months`,
/// `years`: moved to session end as backtrader does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GenericCsvSpec {
    /// How the date-time column reads.
    pub(crate) dtformat: DtFormat,
    /// How the time column reads (Python spelling; used only with `time`).
    pub(crate) tmformat: String,
    /// The date-time column.
    pub(crate) datetime: usize,
    /// The time column, if separate.
    pub(crate) time: Option<usize>,
    /// Open, high, low, close, volume, open interest columns (`None` = absent).
    pub(crate) columns: [Option<usize>; 6],
    /// Whether the first line is a header.
    pub(crate) headers: bool,
    /// The field separator (ASCII).
    pub(crate) separator: u8,
    /// What an empty field reads as; `None` is NaN (an error for prices, 0 for absent volumes).
    pub(crate) nullvalue: Option<Price>,
    /// Whether bars are daily or longer (stamped at session end).
    pub(crate) daily: bool,
}

/// The value columns, in [`GenericCsvSpec::columns`] order.
const VALUE_KEYS: [&str; 6] = ["open", "high", "low", "close", "volume", "openinterest"];

impl Default for GenericCsvSpec {
    /// backtrader's defaults.
    fn default() -> Self {
        Self {
            dtformat: strftime("%Y-%m-%d %H:%M:%S").unwrap_or(DtFormat::UnixSeconds),
            tmformat: "%H:%M:%S".to_owned(),
            datetime: 0,
            time: None,
            columns: [Some(1), Some(2), Some(3), Some(4), Some(5), Some(6)],
            headers: true,
            separator: b',',
            nullvalue: None,
            daily: true,
        }
    }
}

/// Python `strptime` spelling to chrono's, checked.
fn strptime_to_chrono(python: &str) -> Result<String, String> {
    // `.%f` first: chrono's `%.f` takes the point and 1–9 digits; what is left of `%f` is bare.
    let chrono = python.replace(".%f", "%.f").replace("%f", "%6f");
    if python.is_empty() || StrftimeItems::new(&chrono).any(|i| matches!(i, Item::Error)) {
        return Err(format!("{python:?} is not a strptime format"));
    }
    Ok(chrono)
}

/// A `dtformat` that is a format string.
fn strftime(python: &str) -> Result<DtFormat, String> {
    Ok(DtFormat::Strftime { python: python.to_owned(), chrono: strptime_to_chrono(python)? })
}

impl FromStr for GenericCsvSpec {
    type Err = String;

    /// Parses `key=value` pairs separated by commas over backtrader's defaults.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut spec = Self::default();
        let index = |k: &str, v: &str| -> Result<Option<usize>, String> {
            let i: i64 = v.parse().map_err(|_| format!("{k}={v}: want a column index (-1 = absent)"))?;
            match i {
                -1 => Ok(None),
                0.. => usize::try_from(i).map(Some).map_err(|_| format!("{k}={v}: too large")),
                _ => Err(format!("{k}={v}: want a column index (-1 = absent)")),
            }
        };
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("{part:?}: expected key=value"))?;
            let (k, v) = (k.trim(), v.trim());
            match k {
                "dtformat" => {
                    spec.dtformat = match v {
                        "1" => DtFormat::UnixSeconds,
                        "2" => DtFormat::UnixFractional,
                        _ => strftime(v)?,
                    }
                }
                "tmformat" => {
                    strptime_to_chrono(v)?;
                    v.clone_into(&mut spec.tmformat);
                }
                "datetime" => spec.datetime = index(k, v)?.ok_or("datetime=-1: the date is required")?,
                "time" => spec.time = index(k, v)?,
                "headers" => {
                    spec.headers = match v.to_ascii_lowercase().as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => return Err(format!("headers={v}: want true or false")),
                    }
                }
                "separator" => {
                    spec.separator = match v {
                        "comma" => b',',
                        "tab" | "\\t" => b'\t',
                        "semicolon" => b';',
                        "space" => b' ',
                        "pipe" => b'|',
                        _ if v.len() == 1 && v.is_ascii() => v.as_bytes()[0],
                        _ => {
                            return Err(format!(
                                "separator={v}: want one ASCII character or a name (comma, tab…)"
                            ));
                        }
                    }
                }
                "nullvalue" => {
                    spec.nullvalue = if v.eq_ignore_ascii_case("nan") {
                        None
                    } else {
                        Some(v.parse().map_err(|e| format!("nullvalue={v}: {e}"))?)
                    }
                }
                "timeframe" => {
                    spec.daily = match v.to_ascii_lowercase().as_str() {
                        "ticks" | "microseconds" | "seconds" | "minutes" => false,
                        "days" | "weeks" | "months" | "years" => true,
                        _ => {
                            return Err(format!(
                                "timeframe={v}: want ticks, microseconds, seconds, minutes, days, weeks, months or years"
                            ));
                        }
                    }
                }
                _ => match VALUE_KEYS.iter().position(|key| *key == k) {
                    Some(c) => spec.columns[c] = index(k, v)?,
                    None => {
                        return Err(format!(
                            "unknown key {k:?} (dtformat, tmformat, datetime, time, open, high, low, close, volume, openinterest, headers, separator, nullvalue, timeframe)"
                        ));
                    }
                },
            }
        }
        if spec.nullvalue.is_none()
            && let Some(c) = (0..4).find(|&c| spec.columns[c].is_none())
        {
            return Err(format!(
                "{}=-1 needs a numeric nullvalue: a bar's price cannot be NaN",
                VALUE_KEYS[c]
            ));
        }
        Ok(spec)
    }
}

impl GenericCsvSpec {
    /// The highest column index the spec reads.
    fn max_column(&self) -> usize {
        self.columns.iter().flatten().chain(self.time.iter()).fold(self.datetime, |a, &b| a.max(b))
    }

    /// The bar's timestamp from a split row.
    fn timestamp(&self, fields: &Fields, line: &str) -> Result<Timestamp, Fault> {
        let date = fields.get(line, self.datetime);
        let bad = |what: &str, why: String| {
            Fault::Row(format!(
                "{}: bad {what} {:?}: {why}",
                column(self.datetime, "datetime"),
                shorten(date, 40)
            ))
        };
        let dt = match &self.dtformat {
            DtFormat::Strftime { python, chrono } => {
                let (text, fmt, shown) = match self.time {
                    Some(t) => {
                        let tm = strptime_to_chrono(&self.tmformat).map_err(|e| bad("time format", e))?;
                        (
                            format!("{date}T{}", fields.get(line, t)),
                            format!("{chrono}T{tm}"),
                            format!("{python}T{}", self.tmformat),
                        )
                    }
                    None => (date.to_owned(), chrono.clone(), python.clone()),
                };
                strptime(&text, &fmt).map_err(|why| bad("date-time", format!("{why} (format {shown:?})")))?
            }
            DtFormat::UnixSeconds | DtFormat::UnixFractional => {
                let whole = matches!(self.dtformat, DtFormat::UnixSeconds);
                if date.is_empty() || (whole && date.contains('.')) {
                    return Err(bad(
                        "Unix time",
                        format!("want {} seconds", if whole { "whole" } else { "decimal" }),
                    ));
                }
                // Seconds with up to 9 decimals are exactly nanoseconds: the Price grid, no float.
                let secs: Price = date.parse().map_err(|e| bad("Unix time", format!("{e}")))?;
                Timestamp::from_nanos(secs.raw()).to_datetime()
            }
        };
        let ts = dt
            .and_utc()
            .timestamp_nanos_opt()
            .map(Timestamp::from_nanos)
            .ok_or_else(|| bad("date-time", "outside the timestamp range".to_owned()))?;
        if self.daily {
            let end = ts.start_of_day().nanos() + SESSION_END_NANOS;
            if end > ts.nanos() {
                return Ok(Timestamp::from_nanos(end));
            }
        }
        Ok(ts)
    }

    /// Value column `c` (0..6) of a split row, with `nullvalue` for empty or absent fields.
    fn value(&self, fields: &Fields, line: &str, c: usize) -> Result<Price, Fault> {
        let name = VALUE_KEYS[c];
        let Some(i) = self.columns[c] else {
            return Ok(self.nullvalue.unwrap_or(Price::ZERO));
        };
        let text = fields.get(line, i);
        if text.is_empty() {
            return self.nullvalue.ok_or_else(|| {
                Fault::Row(format!(
                    "{}: empty, and nullvalue is NaN (set nullvalue= to fill)",
                    column(i, name)
                ))
            });
        }
        decimal(text, i, name)
    }
}

/// Python-`strptime`-like parsing with chrono: the whole text must match; a missing time of day is
/// midnight and a missing minute or second is 0, as Python's defaults are.
fn strptime(text: &str, fmt: &str) -> Result<NaiveDateTime, String> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, StrftimeItems::new(fmt)).map_err(|e| e.to_string())?;
    let date: NaiveDate = parsed.to_naive_date().map_err(|e| e.to_string())?;
    if parsed.hour_mod_12().is_none() {
        return Ok(date.and_time(NaiveTime::MIN));
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0).map_err(|e| e.to_string())?;
    }
    let time = parsed.to_naive_time().map_err(|e| e.to_string())?;
    Ok(date.and_time(time))
}

/// Reads a `generic-csv` file with `spec` into `coll`.
///
/// # Errors
/// [`ConvertError::Format`] when the header has too few columns for the spec;
/// [`ConvertError::Row`] for a malformed row in strict mode; [`ConvertError::Io`].
pub(crate) fn read_generic(
    path: &Path,
    coll: &mut Collector,
    spec: &GenericCsvSpec,
) -> Result<(), ConvertError> {
    let mut lines = Lines::open(path, coll)?;
    let mut fields = Fields::default();
    let mut sink = BarSink::new(path);
    // Field count every row must have: the header's, else the first row's.
    let mut width: Option<usize> = None;
    let need = spec.max_column() + 1;
    let mut header_pending = spec.headers;
    loop {
        let (n, bytes) = match lines.next()? {
            Next::End => return Ok(()),
            Next::Broken(n, reason) => {
                coll.row();
                return coll.malformed(coll.row_error(n, reason));
            }
            Next::Line(n, bytes) => (n, bytes),
        };
        if header_pending {
            header_pending = false;
            let line = std::str::from_utf8(bytes).unwrap_or("");
            let line = line.strip_prefix('\u{feff}').unwrap_or(line);
            let count = fields.split(line, spec.separator);
            if count < need {
                return Err(ConvertError::Format {
                    path: path.to_path_buf(),
                    reason: format!(
                        "the header has {count} columns; the generic-csv parameters read column {} (0-based)",
                        need - 1
                    ),
                });
            }
            width = Some(count);
            continue;
        }
        if is_blank(bytes) {
            continue;
        }
        coll.row();
        let outcome = (|| -> Result<(), Fault> {
            let line = text(bytes)?;
            let count = fields.split(line, spec.separator);
            if count < need {
                return Err(Fault::Row(format!("{count} columns; the parameters read column {}", need - 1)));
            }
            let want = *width.get_or_insert(count);
            if count != want {
                return Err(Fault::Row(format!("{count} columns, want {want}")));
            }
            let ts = spec.timestamp(&fields, line)?;
            let v = |c| spec.value(&fields, line, c);
            let (open, high, low, close) = (v(0)?, v(1)?, v(2)?, v(3)?);
            let qty = |p: Price| Qty::from_raw(p.raw());
            let bar = Bar { ts, open, high, low, close, volume: qty(v(4)?), open_interest: qty(v(5)?) };
            sink.push(coll, n, bar)
        })();
        settle(coll, n, outcome)?;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::tardis::test_util::{
        check_invariants, convert_files, data, expect_row_error, try_convert, write,
    };
    use super::*;
    use crate::bars::read_bars;
    use crate::convert::{ConvertOptions, Summary, head};

    /// Every backtrader sample with its format and bar count (the folder's README).
    const FILES: [(&str, Format, usize); 11] = [
        ("2005-2006-day-001.txt", Format::BtCsv, 512),
        ("2006-day-001.txt", Format::BtCsv, 255),
        ("2006-day-002.txt", Format::BtCsv, 129),
        ("2006-min-005.txt", Format::BtCsv, 2142),
        ("2006-volume-day-001.txt", Format::BtCsv, 255),
        ("nvda-1999-2014.txt", Format::Yahoo, 4012),
        ("nvda-2014.txt", Format::Yahoo, 252),
        ("orcl-1995-2014.txt", Format::Yahoo, 5036),
        ("orcl-2003-2005.txt", Format::Yahoo, 756),
        ("yhoo-1996-2014.txt", Format::Yahoo, 4713),
        ("yhoo-2003-2005.txt", Format::Yahoo, 756),
    ];

    fn bt(file: &str) -> PathBuf {
        data(&format!("backtrader/{file}"))
    }

    fn bars_of(evs: &[Event]) -> Vec<Bar> {
        evs.iter()
            .map(|e| {
                assert_eq!(e.ts_event, e.ts_recv);
                let Payload::Bar(b) = e.payload else { panic!("{e:?}") };
                assert_eq!(b.ts, e.ts_recv, "stamped at the bar's timestamp");
                b
            })
            .collect()
    }

    /// The bars the conformance reader gives for a file, as a tick file keeps them: format v1's
    /// 64-byte bar record has no slot for open interest, so it reads back as 0.
    fn reference(file: &str, format: Format) -> Vec<Bar> {
        let f = if format == Format::Yahoo { BarFormat::Yahoo } else { BarFormat::BtCsv };
        let mut bars = read_bars(bt(file), f, DateWindow::ALL).unwrap().bars;
        for b in &mut bars {
            b.open_interest = Qty::ZERO;
        }
        bars
    }

    fn generic(path: &Path, spec: &str, skip: bool) -> Result<(Summary, Vec<Event>), ConvertError> {
        let spec: GenericCsvSpec = spec.parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("g.kt");
        let mut coll =
            Collector::new(&out, ConvertOptions { skip_malformed: skip, ..ConvertOptions::default() })
                .unwrap();
        coll.set_file(path);
        read_generic(path, &mut coll, &spec)?;
        let s = coll.finish()?;
        let f = crate::tick::TickFile::open(&out).unwrap();
        Ok((s, f.events().map(Result::unwrap).collect()))
    }

    #[test]
    fn every_backtrader_file_converts_to_the_conformance_readers_bars() {
        for (file, format, count) in FILES {
            let (s, evs, _d) = convert_files(Some(format), &[bt(file)], ConvertOptions::default());
            assert_eq!((s.rows_in, s.records_out, s.skipped), (count as u64, count as u64, 0), "{file}");
            let bars = bars_of(&evs);
            let want = reference(file, format);
            for (i, (a, b)) in bars.iter().zip(&want).enumerate() {
                assert_eq!(a, b, "{file}: bar {i}");
            }
            assert_eq!(bars.len(), want.len(), "{file}");
            check_invariants(&evs);
            assert!(evs.windows(2).all(|w| w[0].ts_recv < w[1].ts_recv), "{file}: strictly increasing");
            let stem = file.trim_end_matches(".txt");
            assert_eq!(s.instruments[0].0.symbol(), stem);
            // Detected without --from, from the header.
            let bytes = head(&bt(file), 4096).unwrap();
            assert_eq!(crate::convert::detect(&bt(file), &bytes), Some(format), "{file}");
        }
    }

    #[test]
    fn first_and_last_bars() {
        let (_, evs, _d) = convert_files(None, &[bt("nvda-1999-2014.txt")], ConvertOptions::default());
        let bars = bars_of(&evs);
        let (first, last) = (bars[0], bars[bars.len() - 1]);
        assert_eq!(first.ts.to_string(), "1999-01-22T23:59:59.999989000Z");
        assert_eq!((first.open.to_string(), first.low.to_string()), ("1.75".into(), "1.552083".into()));
        assert_eq!((first.volume.to_string(), first.open_interest), ("67867200".into(), Qty::ZERO));
        assert_eq!(last.ts.to_string(), "2014-12-31T23:59:59.999989000Z");
        assert_eq!(last.close.raw(), 20_049_999_000, "exact: no float touched it");
        let (_, evs, _d) = convert_files(None, &[bt("2006-min-005.txt")], ConvertOptions::default());
        let bars = bars_of(&evs);
        assert_eq!(bars[0].ts.to_string(), "2006-01-02T09:05:00.000000000Z");
        assert_eq!(bars[0].close.to_string(), "3582.99");
        assert_eq!(bars[2141].ts.to_string(), "2006-01-30T17:30:00.000000000Z");
        assert_eq!(bars[2141].close.to_string(), "3677.52");
    }

    const DAILY: &str = "Date,Open,High,Low,Close,Volume,OpenInterest\n";
    const YAHOO_HEADER: &str = "Date,Open,High,Low,Close,Adj Close,Volume\n";

    #[test]
    fn damaged_rows_name_file_line_and_column() {
        let (a, c) = ("2006-01-02,10,11,9,10.5,100,0\n", "2006-01-04,10,11,9,10.5,100,0\n");
        for (bad, message) in [
            ("2006-01-03,10,11.x,9,10.5,100,0\n", "column 3 (High): bad number \"11.x\""),
            ("2006-01-03,10,NaN,9,10.5,100,0\n", "column 3 (High): bad number \"NaN\""),
            ("2006-01-03,10,11,9,10.5,100\n", "6 columns, the header has 7"),
            ("2006-01-01,10,11,9,10.5,100,0\n", "is not after 2006-01-02T23:59:59.999989000Z (line 2)"),
            ("2006-01-02,10,11,9,10.5,100,0\n", "bars must be in increasing time order"),
            ("2006-01-03,10,9,11,10.5,100,0\n", "high 9 is below low 11"),
            ("2006-01-03,10,11,9,10.5,-100,0\n", "negative volume -100"),
            ("2006-02-30,10,11,9,10.5,100,0\n", "column 1 (Date): bad date"),
        ] {
            let body = format!("{DAILY}{a}{bad}{c}");
            expect_row_error(Format::BtCsv, "b.txt", body.as_bytes(), 3, message, 2);
        }
        let body = format!(
            "{YAHOO_HEADER}2006-01-02,10,11,9,10,9.8,5\n2006-01-03,null,null,null,null,null,null\n2006-01-04,10,11,9,10,9.8,5\n"
        );
        let s = expect_row_error(Format::Yahoo, "y.csv", body.as_bytes(), 3, "Yahoo null row", 2);
        assert_eq!(s.records_out, 2);
    }

    #[test]
    fn headers_decide_and_are_file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (got, _d) = try_convert(Some(Format::BtCsv), &[bt("nvda-2014.txt")], ConvertOptions::default());
        let Err(ConvertError::Format { reason, .. }) = got else { panic!("{got:?}") };
        assert!(reason.contains("btcsv header") && reason.contains("Adj Close"), "{reason}");
        let empty = write(dir.path(), "e.txt", b"\n");
        let (got, _d) = try_convert(Some(Format::Yahoo), &[empty], ConvertOptions::default());
        assert!(
            matches!(got, Err(ConvertError::Format { ref reason, .. }) if reason.contains("empty file")),
            "{got:?}"
        );
        assert_eq!(
            detect("x", b"date, time ,open,high,low,close,volume,openinterest\r\n"),
            Some(Format::BtCsv)
        );
        assert_eq!(detect("x", b"Date,Open,High,Low,Close,Volume\n"), None);
        // Gzipped bar files read the same.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &std::fs::read(bt("2006-day-002.txt")).unwrap()).unwrap();
        let gz = write(dir.path(), "day.txt.gz", &e.finish().unwrap());
        let (_, evs, _d) = convert_files(Some(Format::BtCsv), &[gz], ConvertOptions::default());
        assert_eq!(bars_of(&evs), reference("2006-day-002.txt", Format::BtCsv));
    }

    #[test]
    fn generic_csv_with_backtrader_parameters_matches_the_dedicated_readers() {
        // Daily btcsv layout = backtrader's default columns; daily timeframe → session end.
        let (s, evs) = generic(&bt("2006-day-001.txt"), "dtformat=%Y-%m-%d", false).unwrap();
        assert_eq!(s.records_out, 255);
        assert_eq!(bars_of(&evs), reference("2006-day-001.txt", Format::BtCsv));
        // Intraday with a separate time column.
        let spec = "dtformat=%Y-%m-%d,tmformat=%H:%M:%S,time=1,open=2,high=3,low=4,close=5,volume=6,openinterest=7,timeframe=minutes";
        let (_, evs) = generic(&bt("2006-min-005.txt"), spec, false).unwrap();
        assert_eq!(bars_of(&evs), reference("2006-min-005.txt", Format::BtCsv));
        // Yahoo: volume in column 6, no open interest.
        let (_, evs) =
            generic(&bt("orcl-2003-2005.txt"), "dtformat=%Y-%m-%d,volume=6,openinterest=-1", false).unwrap();
        assert_eq!(bars_of(&evs), reference("orcl-2003-2005.txt", Format::Yahoo));
    }

    #[test]
    fn generic_csv_unix_times_separators_and_null_values() {
        let dir = tempfile::tempdir().unwrap();
        let body = "1136196000.5;10;11;9;10.5;;\n1136196060;10;11;9;;7;\n\n";
        let path = write(dir.path(), "g.csv", body.as_bytes());
        let spec = "dtformat=2,headers=false,separator=semicolon,nullvalue=0,timeframe=seconds";
        let (s, evs) = generic(&path, spec, false).unwrap();
        assert_eq!(s.rows_in, 2);
        let bars = bars_of(&evs);
        assert_eq!(bars[0].ts.to_string(), "2006-01-02T10:00:00.500000000Z", "fractional seconds, exactly");
        assert_eq!(
            (bars[0].volume, bars[1].close, bars[1].volume),
            (Qty::ZERO, Price::ZERO, "7".parse().unwrap())
        );
        // Whole seconds refuse a fraction; NaN nullvalue refuses an empty price.
        let err = generic(&path, "dtformat=1,headers=false,separator=;,nullvalue=0,timeframe=seconds", false)
            .unwrap_err();
        assert!(err.to_string().contains(":1: column 1 (datetime): bad Unix time"), "{err}");
        let err =
            generic(&path, "dtformat=2,headers=false,separator=;,timeframe=seconds", false).unwrap_err();
        assert!(err.to_string().contains(":1: column 6 (volume): empty, and nullvalue is NaN"), "{err}");
        // Daily timeframe moves a midday time to the session end; datetime with %f.
        let path = write(dir.path(), "h.csv", b"dt,o,h,l,c,v,oi\n2006-01-02 12:00:00.25,1,2,1,2,0,0\n");
        let (_, evs) = generic(&path, "dtformat=%Y-%m-%d %H:%M:%S.%f", false).unwrap();
        assert_eq!(bars_of(&evs)[0].ts.to_string(), "2006-01-02T23:59:59.999989000Z");
        let (_, evs) = generic(&path, "dtformat=%Y-%m-%d %H:%M:%S.%f,timeframe=minutes", false).unwrap();
        assert_eq!(bars_of(&evs)[0].ts.to_string(), "2006-01-02T12:00:00.250000000Z");
    }

    #[test]
    fn generic_csv_damage_is_counted_when_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let body = "Date,Open,High,Low,Close,Volume,OpenInterest\n\
                    2006-01-02 00:00:00,1,2,1,2,0,0\n\
                    2006-01-03 00:00:00,1,2,1\n\
                    2006-01-04,1,2,1,2,0,0\n\
                    2006-01-05 00:00:00,1,x,1,2,0,0\n\
                    2006-01-01 00:00:00,1,2,1,2,0,0\n\
                    2006-01-06 00:00:00,1,2,1,2,0,0\n";
        let path = write(dir.path(), "g.csv", body.as_bytes());
        let err = generic(&path, "", false).unwrap_err();
        assert_eq!(err.to_string(), format!("{}:3: 4 columns; the parameters read column 6", path.display()));
        let (s, evs) = generic(&path, "", true).unwrap();
        assert_eq!((s.rows_in, s.records_out, s.skipped), (6, 2, 4));
        let lines: Vec<u64> = s.examples.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        assert!(s.examples[1].reason.contains("bad date-time \"2006-01-04\""), "{:?}", s.examples[1]);
        assert!(s.examples[2].reason.contains("column 3 (high): bad number \"x\""), "{:?}", s.examples[2]);
        assert!(s.examples[3].reason.contains("not after"), "{:?}", s.examples[3]);
        assert_eq!(bars_of(&evs).len(), 2);
    }

    #[test]
    fn generic_csv_spec_parsing() {
        let d = GenericCsvSpec::default();
        assert_eq!(d, "".parse().unwrap());
        assert!(d.headers && d.daily && d.separator == b',' && d.nullvalue.is_none() && d.time.is_none());
        assert_eq!(d.columns, [Some(1), Some(2), Some(3), Some(4), Some(5), Some(6)]);
        let s: GenericCsvSpec = "separator=tab,headers=0,volume=-1,nullvalue=1.5,datetime=2".parse().unwrap();
        assert_eq!((s.separator, s.headers, s.columns[4], s.datetime), (b'\t', false, None, 2));
        assert_eq!(s.nullvalue, Some("1.5".parse().unwrap()));
        for (bad, message) in [
            ("open=-1", "needs a numeric nullvalue"),
            ("datetime=-1", "the date is required"),
            ("close=-2", "want a column index"),
            ("fromdate=2006-01-01", "unknown key"),
            ("separator=ab", "one ASCII character"),
            ("timeframe=fortnights", "want ticks"),
            ("dtformat=%Q", "not a strptime format"),
            ("headers", "expected key=value"),
        ] {
            let err = bad.parse::<GenericCsvSpec>().unwrap_err();
            assert!(err.contains(message), "{bad}: {err}");
        }
        assert_eq!(detect("generic.csv", b"a;b;c\n"), None, "generic-csv is never guessed");
    }
}
