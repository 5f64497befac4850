//! Bar files: backtrader's CSV (`btcsv`) and Yahoo's CSV read into exact, validated [`Bar`]s.
//!
//! The rules are the conformance scenarios' (`shared/conformance/FORMAT.md` §1.1), so that Kestrel's
//! SimBroker sees the bars backtrader's does:
//! - `btcsv`: a header, then `Date,Open,High,Low,Close,Volume,OpenInterest` (daily) or
//!   `Date,Time,Open,High,Low,Close,Volume,OpenInterest` (intraday, `HH:MM:SS`).
//! - `yahoo`: a header, then `Date,Open,High,Low,Close,Adj Close,Volume`; prices are used raw,
//!   `Adj Close` is ignored, open interest is 0.
//! - An intraday bar is stamped at its date and time; a daily bar at its date's session end,
//!   23:59:59.999989 ([`SESSION_END_NANOS`]), which order validity depends on.
//! - A [`DateWindow`] keeps bars whose calendar date is within `from..=to`.
//!
//! Numbers go through `kestrel-types`' `FromStr`: decimal text to nano-units, never through a float,
//! so `20.049999` is exactly 20.049999 and volumes may have decimals.
//!
//! # Decisions
//! - **Plain line splitting, not the `csv` crate.** Neither layout quotes or escapes anything, and
//!   backtrader (the reference) splits each line on `,`. The `csv` crate would accept quoted fields the
//!   reference refuses and silently skip blank lines; splitting here keeps line numbers physical
//!   (line 1 is the header), borrows every field from one read buffer (no allocation per row), and
//!   adds no dependency.
//! - **Yahoo `null` rows are skipped and counted** ([`BarFile::null_rows`]). Yahoo writes `null` in
//!   every value column of a day it has no data for; backtrader's Yahoo feed drops such rows
//!   silently, and dropping them is the only way to see the reference's bar sequence. Counting them
//!   lets a caller report what was dropped. In `btcsv`, `null` is a bad number, as in backtrader.
//! - **The header is checked** (case and spaces aside): a Yahoo file read as `btcsv` has the same
//!   column count and would put `Adj Close` into the volume.
//! - **Validation**: `high ≥ low`, and timestamps strictly increasing over the whole file (before
//!   the window), so a newest-first Yahoo download or a duplicated row is an error, not a replay
//!   that runs backwards. Open and close are not checked against the range: vendors' files
//!   sometimes have them outside it, and backtrader accepts them.
//! - Blank lines are skipped, fields are trimmed, `\r\n` endings and a UTF-8 byte-order mark are
//!   accepted: none of them can change a value.
//!
//! # Limitations
//! The whole file is read into memory (the largest sample is 350 kB); tick files, where size
//! matters, get the memory-mapped reader. Times are taken as UTC, as written: no time zones.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use kestrel_types::{ParseDecimalError, Price, Qty, Timestamp};

mod btcsv;
mod yahoo;

/// Nanoseconds after midnight at which a daily bar is stamped: 23:59:59.999989.
///
/// backtrader's default session end is 23:59:59.999990; its float day numbers print it back as
/// .999989, which is what the oracle's outputs and `FORMAT.md` §1.1 use. Order validity depends on it
/// (a `DAY` order expires at 23:59:59.009999, before the bar), so it is exact here.
pub const SESSION_END_NANOS: i64 = 86_399_999_989_000;

/// One OHLCV bar (defined in `kestrel-types`, where the broker that consumes it can see it).
pub use kestrel_types::Bar;

/// The layout of a bar file, as a scenario's `"format"` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BarFormat {
    /// backtrader's own CSV, daily or intraday (`btcsv`).
    BtCsv,
    /// Yahoo Finance's daily CSV (`yahoo`).
    Yahoo,
}

impl BarFormat {
    /// The name scenarios use: `"btcsv"` or `"yahoo"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::BtCsv => "btcsv",
            Self::Yahoo => "yahoo",
        }
    }
}

impl fmt::Display for BarFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A format name that is neither `btcsv` nor `yahoo`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown bar format {text:?} (want \"btcsv\" or \"yahoo\")")]
pub struct UnknownBarFormat {
    /// The name refused.
    pub text: String,
}

impl FromStr for BarFormat {
    type Err = UnknownBarFormat;

    /// Parses a scenario's `"format"` value, exactly as `FORMAT.md` spells it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "btcsv" => Ok(Self::BtCsv),
            "yahoo" => Ok(Self::Yahoo),
            _ => Err(UnknownBarFormat { text: s.to_owned() }),
        }
    }
}

/// An inclusive window of calendar dates (a scenario's `fromdate`/`todate`); `None` is unbounded.
///
/// Dates, not instants, because that is what scenarios give: an intraday bar is in the window when
/// its date is, whatever its time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateWindow {
    /// First date kept, if any.
    pub from: Option<NaiveDate>,
    /// Last date kept, if any.
    pub to: Option<NaiveDate>,
}

impl DateWindow {
    /// Every date: no filtering.
    pub const ALL: Self = Self { from: None, to: None };

    /// Whether bars of `date` are kept. A window with `from > to` keeps nothing.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| date >= from) && self.to.is_none_or(|to| date <= to)
    }
}

/// What one bar file yielded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarFile {
    /// The bars inside the window, in file (and so time) order.
    pub bars: Vec<Bar>,
    /// Whether the file has a time column; a daily file's bars are stamped at session end.
    pub intraday: bool,
    /// Yahoo rows with a `null` value, skipped (see the module docs), wherever they are.
    pub null_rows: usize,
    /// Valid bars dropped because their date is outside the window.
    pub outside_window: usize,
}

/// Why a bar file could not be read. Every variant names the file; row errors name the 1-based line
/// (the header is line 1) and, where one field is at fault, its 1-based column and header name.
#[derive(Debug, thiserror::Error)]
pub enum BarError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is empty: not even a header.
    #[error("{}: empty file (want a header line)", .path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A line is not UTF-8.
    #[error("{}:{line}: not valid UTF-8", .path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
    },
    /// The header is not one the format has.
    #[error("{}:1: {format} header {found:?} is not {expected}", .path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The format asked for.
        format: BarFormat,
        /// The header line (shortened).
        found: String,
        /// The accepted header(s).
        expected: &'static str,
    },
    /// A row has the wrong number of fields for the header.
    #[error("{}:{line}: {found} columns, the header has {expected}", .path.display())]
    ColumnCount {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Columns in the header.
        expected: usize,
        /// Columns in the row.
        found: usize,
    },
    /// The date field is not a `YYYY-MM-DD` calendar date within the timestamp range.
    #[error("{}:{line}: column {column} ({name}): bad date {text:?}: {reason}", .path.display())]
    BadDate {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The column's header name.
        name: &'static str,
        /// The field (shortened).
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The time field is not `HH:MM:SS`.
    #[error("{}:{line}: column {column} ({name}): bad time {text:?}: {reason}", .path.display())]
    BadTime {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The column's header name.
        name: &'static str,
        /// The field (shortened).
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A price or quantity field is not an exact decimal in range.
    #[error("{}:{line}: column {column} ({name}): bad number {text:?}: {source}", .path.display())]
    BadNumber {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The column's header name.
        name: &'static str,
        /// The field (shortened).
        text: String,
        /// Why the number was refused.
        source: ParseDecimalError,
    },
    /// The high is below the low: the row cannot be a bar.
    #[error("{}:{line}: high {high} is below low {low}", .path.display())]
    HighBelowLow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The row's high.
        high: Price,
        /// The row's low.
        low: Price,
    },
    /// A bar is not later than the bar before it (a duplicate, an unsorted or a reversed file).
    #[error(
        "{}:{line}: timestamp {ts} is not after {previous} (line {previous_line}): bars must be in \
         increasing time order",
        .path.display()
    )]
    NotIncreasing {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// This bar's timestamp.
        ts: Timestamp,
        /// The previous bar's timestamp.
        previous: Timestamp,
        /// The previous bar's line.
        previous_line: u64,
    },
}

/// Reads a bar file in `format`, keeping the bars inside `window`.
///
/// # Errors
/// [`BarError::Io`] if the file cannot be read; any other [`BarError`] for its content, naming the line.
pub fn read_bars(path: impl AsRef<Path>, format: BarFormat, window: DateWindow) -> Result<BarFile, BarError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| BarError::Io { path: path.to_owned(), source })?;
    parse_bars(path, &bytes, format, window)
}

/// Parses bar-file content already in memory; `path` only names the source in errors.
///
/// For content that does not come from a plain file (an archive member, a download, a test).
///
/// ```
/// use std::path::Path;
/// use kestrel_replay::bars::{BarFormat, DateWindow, parse_bars};
///
/// let text = b"Date,Open,High,Low,Close,Volume,OpenInterest\n2006-01-02,3578.73,3605.95,3578.73,3604.33,0,0\n";
/// let file = parse_bars(Path::new("inline.csv"), text, BarFormat::BtCsv, DateWindow::ALL)?;
/// assert_eq!(file.bars[0].ts.to_string(), "2006-01-02T23:59:59.999989000Z");
/// assert_eq!(file.bars[0].close.to_string(), "3604.33");
/// # Ok::<(), kestrel_replay::bars::BarError>(())
/// ```
///
/// # Errors
/// Any [`BarError`] but `Io`, naming the line.
pub fn parse_bars(
    path: &Path,
    bytes: &[u8],
    format: BarFormat,
    window: DateWindow,
) -> Result<BarFile, BarError> {
    use BarFormat::{BtCsv, Yahoo};
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BarError::Empty { path: path.to_owned() });
    }
    let mut lines = (1u64..).zip(bytes.split(|b| *b == b'\n'));
    let header = match lines.next() {
        Some((line, raw)) => line_text(path, line, raw)?,
        None => return Err(BarError::Empty { path: path.to_owned() }),
    };
    let header = header.strip_prefix('\u{feff}').unwrap_or(header);
    let (count, names) = split_fields(header);
    let names = &names[..count.min(MAX_FIELDS)];
    let layout = match format {
        BtCsv => btcsv::layout(names),
        Yahoo => yahoo::layout(names),
    };
    let layout = layout.filter(|_| count <= MAX_FIELDS).ok_or_else(|| BarError::BadHeader {
        path: path.to_owned(),
        format,
        found: shorten(header, 120),
        expected: match format {
            BtCsv => btcsv::EXPECTED,
            Yahoo => yahoo::EXPECTED,
        },
    })?;

    // The shortest valid row (`2006-01-02,1,1,1,1,1,1\n`) is 23 bytes, so this bounds the bar count
    // without regrowing the vector, and a file of blank lines cannot make it allocate much.
    let mut bars = Vec::with_capacity(bytes.len() / 23);
    let mut null_rows = 0;
    let mut outside_window = 0;
    let mut previous: Option<(Timestamp, u64)> = None;
    for (line, raw) in lines {
        let text = line_text(path, line, raw)?;
        if text.trim().is_empty() {
            continue;
        }
        let (count, fields) = split_fields(text);
        if count != layout.names.len() {
            return Err(BarError::ColumnCount {
                path: path.to_owned(),
                line,
                expected: layout.names.len(),
                found: count,
            });
        }
        let row = Row { path, line, fields: fields.get(..count).unwrap_or(&[]), names: layout.names };
        let Some((date, bar)) = (layout.parse)(&row)? else {
            null_rows += 1;
            continue;
        };
        if let Some((prev, previous_line)) = previous
            && bar.ts <= prev
        {
            return Err(BarError::NotIncreasing {
                path: path.to_owned(),
                line,
                ts: bar.ts,
                previous: prev,
                previous_line,
            });
        }
        previous = Some((bar.ts, line));
        if window.contains(date) {
            bars.push(bar);
        } else {
            outside_window += 1;
        }
    }
    Ok(BarFile { bars, intraday: layout.intraday, null_rows, outside_window })
}

/// Characters of a bad field repeated in its error.
const FIELD_IN_ERROR: usize = 40;

/// The most columns any layout has; a row with more is refused by count before it is stored.
const MAX_FIELDS: usize = 8;

/// How one header's rows are read: chosen by a format module from the header.
#[derive(Clone, Copy)]
struct Layout {
    /// The header's column names, as the format spells them (for errors).
    names: &'static [&'static str],
    /// Whether rows carry a time column.
    intraday: bool,
    /// Reads one row with the right column count; `None` for a row to skip (Yahoo `null`).
    parse: fn(&Row<'_>) -> RowOutcome,
}

/// A row read: its date and bar, `None` for a row to skip (Yahoo `null`), or why it is refused.
type RowOutcome = Result<Option<(NaiveDate, Bar)>, BarError>;

/// One data row, split, with what its errors need to say where they are.
struct Row<'a> {
    path: &'a Path,
    line: u64,
    fields: &'a [&'a str],
    names: &'static [&'static str],
}

impl Row<'_> {
    fn field(&self, col: usize) -> &str {
        self.fields.get(col).copied().unwrap_or("")
    }

    fn name(&self, col: usize) -> &'static str {
        self.names.get(col).copied().unwrap_or("?")
    }

    fn date(&self, col: usize) -> Result<NaiveDate, BarError> {
        parse_date(self.field(col)).map_err(|reason| self.bad_date(col, reason))
    }

    fn bad_date(&self, col: usize, reason: &'static str) -> BarError {
        BarError::BadDate {
            path: self.path.to_owned(),
            line: self.line,
            column: col + 1,
            name: self.name(col),
            text: shorten(self.field(col), FIELD_IN_ERROR),
            reason,
        }
    }

    fn time(&self, col: usize) -> Result<NaiveTime, BarError> {
        parse_time(self.field(col)).map_err(|reason| BarError::BadTime {
            path: self.path.to_owned(),
            line: self.line,
            column: col + 1,
            name: self.name(col),
            text: shorten(self.field(col), FIELD_IN_ERROR),
            reason,
        })
    }

    fn number<T: FromStr<Err = ParseDecimalError>>(&self, col: usize) -> Result<T, BarError> {
        self.field(col).parse().map_err(|source| BarError::BadNumber {
            path: self.path.to_owned(),
            line: self.line,
            column: col + 1,
            name: self.name(col),
            text: shorten(self.field(col), FIELD_IN_ERROR),
            source,
        })
    }

    fn price(&self, col: usize) -> Result<Price, BarError> {
        self.number(col)
    }

    fn qty(&self, col: usize) -> Result<Qty, BarError> {
        self.number(col)
    }

    /// Whether any field after the date is Yahoo's `null`.
    fn has_null(&self) -> bool {
        self.fields.iter().skip(1).any(|f| *f == "null")
    }

    /// Stamps and checks a bar: at `time` on `date`, or at session end for a daily bar (`None`).
    /// `date_col` is where the date came from, for an out-of-range error.
    fn bar(
        &self,
        date: NaiveDate,
        date_col: usize,
        time: Option<NaiveTime>,
        mut bar: Bar,
    ) -> Result<(NaiveDate, Bar), BarError> {
        let ts = match time {
            Some(t) => Timestamp::from_ymd_hms_nano(
                date.year(),
                date.month(),
                date.day(),
                t.hour(),
                t.minute(),
                t.second(),
                0,
            ),
            None => Timestamp::from_ymd_hms_nano(date.year(), date.month(), date.day(), 0, 0, 0, 0)
                .and_then(|midnight| midnight.nanos().checked_add(SESSION_END_NANOS))
                .map(Timestamp::from_nanos),
        };
        bar.ts = ts.ok_or_else(|| {
            self.bad_date(date_col, "outside the timestamp range (1677-09-21 to 2262-04-11)")
        })?;
        if bar.high < bar.low {
            return Err(BarError::HighBelowLow {
                path: self.path.to_owned(),
                line: self.line,
                high: bar.high,
                low: bar.low,
            });
        }
        Ok((date, bar))
    }
}

/// A line as text without its `\r`, or the error naming it.
fn line_text<'a>(path: &Path, line: u64, raw: &'a [u8]) -> Result<&'a str, BarError> {
    let text = std::str::from_utf8(raw).map_err(|_| BarError::NotUtf8 { path: path.to_owned(), line })?;
    Ok(text.strip_suffix('\r').unwrap_or(text))
}

/// Splits on `,` and trims each field; returns the true field count and the first [`MAX_FIELDS`].
fn split_fields(text: &str) -> (usize, [&str; MAX_FIELDS]) {
    let mut fields = [""; MAX_FIELDS];
    let mut count = 0;
    for field in text.split(',') {
        if let Some(slot) = fields.get_mut(count) {
            *slot = field.trim();
        }
        count += 1;
    }
    (count, fields)
}

/// Whether a header matches `expected`, ignoring ASCII case and the spaces trimmed around fields.
fn header_is(names: &[&str], expected: &[&str]) -> bool {
    names.len() == expected.len() && names.iter().zip(expected).all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// At most `max` characters of a field or header, for an error message.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `n` ASCII digits as a number, or `None`.
fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Strict `YYYY-MM-DD` (what both formats write; backtrader reads it by position).
fn parse_date(text: &str) -> Result<NaiveDate, &'static str> {
    const WANT: &str = "want YYYY-MM-DD";
    if text.len() != 10 || text.as_bytes().get(4) != Some(&b'-') || text.as_bytes().get(7) != Some(&b'-') {
        return Err(WANT);
    }
    let part = |range: std::ops::Range<usize>| text.get(range).and_then(digits);
    let (Some(y), Some(m), Some(d)) = (part(0..4), part(5..7), part(8..10)) else {
        return Err(WANT);
    };
    let y = i32::try_from(y).map_err(|_| WANT)?;
    NaiveDate::from_ymd_opt(y, m, d).ok_or("not a calendar date")
}

/// Strict `HH:MM:SS`, 00:00:00 to 23:59:59.
fn parse_time(text: &str) -> Result<NaiveTime, &'static str> {
    const WANT: &str = "want HH:MM:SS";
    if text.len() != 8 || text.as_bytes().get(2) != Some(&b':') || text.as_bytes().get(5) != Some(&b':') {
        return Err(WANT);
    }
    let part = |range: std::ops::Range<usize>| text.get(range).and_then(digits);
    let (Some(h), Some(m), Some(s)) = (part(0..2), part(3..5), part(6..8)) else {
        return Err(WANT);
    };
    NaiveTime::from_hms_opt(h, m, s).ok_or("not a time of day")
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn backtrader_dir() -> PathBuf {
        crate::data_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap().join("backtrader")
    }

    fn read(file: &str, format: BarFormat, window: DateWindow) -> BarFile {
        read_bars(backtrader_dir().join(file), format, window).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn p(text: &str) -> Price {
        text.parse().unwrap()
    }

    fn q(text: &str) -> Qty {
        text.parse().unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// A daily bar as its file line spells it, stamped at session end.
    fn daily(d: &str, o: &str, h: &str, l: &str, c: &str, v: &str, oi: &str) -> Bar {
        let ts = Timestamp::from_nanos(ts(d).nanos() + SESSION_END_NANOS);
        Bar { ts, open: p(o), high: p(h), low: p(l), close: p(c), volume: q(v), open_interest: q(oi) }
    }

    /// Every sample file, its format and its bar count (`shared/data/backtrader/README.md`).
    const SAMPLES: [(&str, BarFormat, usize); 11] = [
        ("2005-2006-day-001.txt", BarFormat::BtCsv, 512),
        ("2006-day-001.txt", BarFormat::BtCsv, 255),
        ("2006-day-002.txt", BarFormat::BtCsv, 129),
        ("2006-min-005.txt", BarFormat::BtCsv, 2142),
        ("2006-volume-day-001.txt", BarFormat::BtCsv, 255),
        ("nvda-1999-2014.txt", BarFormat::Yahoo, 4012),
        ("nvda-2014.txt", BarFormat::Yahoo, 252),
        ("orcl-1995-2014.txt", BarFormat::Yahoo, 5036),
        ("orcl-2003-2005.txt", BarFormat::Yahoo, 756),
        ("yhoo-1996-2014.txt", BarFormat::Yahoo, 4713),
        ("yhoo-2003-2005.txt", BarFormat::Yahoo, 756),
    ];

    #[test]
    fn every_sample_file_parses_with_its_documented_row_count() {
        let mut listed: Vec<String> = std::fs::read_dir(backtrader_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".txt"))
            .collect();
        listed.sort();
        let mut known: Vec<&str> = SAMPLES.iter().map(|s| s.0).collect();
        known.sort_unstable();
        assert_eq!(listed, known, "a sample file was added or removed: list it in SAMPLES");

        for (file, format, rows) in SAMPLES {
            let text = std::fs::read_to_string(backtrader_dir().join(file)).unwrap();
            let got = read(file, format, DateWindow::ALL);
            assert_eq!(got.bars.len(), rows, "{file}");
            assert_eq!(got.bars.len(), text.lines().count() - 1, "{file}: one bar per data line");
            assert_eq!((got.null_rows, got.outside_window), (0, 0), "{file}");
            assert_eq!(got.intraday, file.contains("-min-"), "{file}");
            assert!(got.bars.windows(2).all(|w| w[0].ts < w[1].ts), "{file}");
            // The other format's reader refuses the file by its header, not by a bad value later.
            let other = if format == BarFormat::BtCsv { BarFormat::Yahoo } else { BarFormat::BtCsv };
            let err = read_bars(backtrader_dir().join(file), other, DateWindow::ALL).unwrap_err();
            assert!(matches!(err, BarError::BadHeader { .. }), "{file}: {err}");
        }
    }

    #[test]
    fn first_and_last_bars_match_the_file_text() {
        let cases = [
            (
                "2006-day-001.txt",
                BarFormat::BtCsv,
                daily("2006-01-02", "3578.73", "3605.95", "3578.73", "3604.33", "0", "0"),
                daily("2006-12-29", "4130.12", "4142.01", "4119.94", "4119.94", "0", "0"),
            ),
            (
                "2006-volume-day-001.txt",
                BarFormat::BtCsv,
                daily("2006-01-02", "3602.00", "3624.00", "3596.00", "3617.00", "164794", "1511674"),
                daily("2006-12-29", "4157.00", "4167.00", "4145.00", "4157.00", "205816", "1916930"),
            ),
            (
                "nvda-1999-2014.txt",
                BarFormat::Yahoo,
                daily("1999-01-22", "1.750000", "1.953125", "1.552083", "1.640625", "67867200", "0"),
                daily("2014-12-31", "20.400000", "20.510000", "19.990000", "20.049999", "4157500", "0"),
            ),
            (
                "yhoo-2003-2005.txt",
                BarFormat::Yahoo,
                daily("2003-01-02", "8.295000", "8.830000", "8.250000", "8.800000", "19640400", "0"),
                daily("2005-12-30", "39.400002", "39.560001", "39.049999", "39.180000", "12233000", "0"),
            ),
        ];
        for (file, format, first, last) in cases {
            let got = read(file, format, DateWindow::ALL);
            assert_eq!(got.bars.first(), Some(&first), "{file}");
            assert_eq!(got.bars.last(), Some(&last), "{file}");
        }
        // Exact: no float ever touched these digits.
        let nvda = read("nvda-2014.txt", BarFormat::Yahoo, DateWindow::ALL);
        assert_eq!(nvda.bars.last().unwrap().close.raw(), 20_049_999_000);
        assert_eq!(nvda.bars.last().unwrap().close.to_string(), "20.049999");
    }

    #[test]
    fn daily_bars_are_stamped_at_session_end() {
        let got = read("2006-day-002.txt", BarFormat::BtCsv, DateWindow::ALL);
        let first = got.bars[0].ts;
        assert_eq!(first, ts("2006-01-03 23:59:59.999989"));
        assert_eq!(first.to_string(), "2006-01-03T23:59:59.999989000Z");
        assert_eq!(got.bars[1].ts, ts("2006-01-05 23:59:59.999989"), "the sparse calendar is kept");
        for bar in &got.bars {
            assert_eq!(bar.ts.nanos() - bar.ts.start_of_day().nanos(), SESSION_END_NANOS, "{}", bar.ts);
        }
    }

    #[test]
    fn intraday_bars_carry_date_and_time() {
        let got = read("2006-min-005.txt", BarFormat::BtCsv, DateWindow::ALL);
        assert!(got.intraday);
        assert_eq!(got.bars.len(), 2142);
        let first = got.bars[0];
        assert_eq!(first.ts, ts("2006-01-02 09:05:00"));
        assert_eq!(
            (first.open, first.high, first.low, first.close),
            (p("3578.73"), p("3587.88"), p("3578.73"), p("3582.99"))
        );
        assert_eq!(got.bars[1].ts, ts("2006-01-02 09:10:00"));
        let last = got.bars.last().unwrap();
        assert_eq!(last.ts, ts("2006-01-30 17:30:00"));
        assert_eq!(last.close, p("3677.52"));

        // 21 sessions of 102 five-minute bars, 09:05 to 17:30.
        let mut days: Vec<i64> = got.bars.iter().map(|b| b.ts.day_number()).collect();
        days.dedup();
        assert_eq!(days.len(), 21);
        for day in days {
            let session: Vec<&Bar> = got.bars.iter().filter(|b| b.ts.day_number() == day).collect();
            assert_eq!(session.len(), 102);
            assert_eq!(session[0].ts.to_datetime().time(), NaiveTime::from_hms_opt(9, 5, 0).unwrap());
            assert!(session.windows(2).all(|w| w[1].ts.nanos() - w[0].ts.nanos() == 300 * 1_000_000_000));
        }
    }

    #[test]
    fn the_date_window_is_inclusive_calendar_dates() {
        let all = read("2006-day-001.txt", BarFormat::BtCsv, DateWindow::ALL).bars;
        let march = DateWindow { from: Some(date("2006-03-01")), to: Some(date("2006-03-31")) };
        let got = read("2006-day-001.txt", BarFormat::BtCsv, march);
        let text = std::fs::read_to_string(backtrader_dir().join("2006-day-001.txt")).unwrap();
        let in_march = text.lines().filter(|l| l.starts_with("2006-03-")).count();
        assert_eq!(got.bars.len(), in_march);
        assert_eq!(got.outside_window, all.len() - in_march);
        assert_eq!(got.bars[0].ts, ts("2006-03-01 23:59:59.999989"), "from is inclusive");
        assert_eq!(got.bars.last().unwrap().ts, ts("2006-03-31 23:59:59.999989"), "to is inclusive");

        // Open-ended windows.
        let from = read(
            "2006-day-001.txt",
            BarFormat::BtCsv,
            DateWindow { from: Some(date("2006-12-28")), to: None },
        );
        assert_eq!(from.bars, all[all.len() - 2..]);
        let to = read(
            "2006-day-001.txt",
            BarFormat::BtCsv,
            DateWindow { from: None, to: Some(date("2006-01-03")) },
        );
        assert_eq!(to.bars, all[..2]);

        // Edges on days without a bar (2006-day-002 has gaps): the next and previous bars are kept.
        let gaps = DateWindow { from: Some(date("2006-01-04")), to: Some(date("2006-01-04")) };
        assert!(read("2006-day-002.txt", BarFormat::BtCsv, gaps).bars.is_empty());
        let gaps = DateWindow { from: Some(date("2006-01-04")), to: Some(date("2006-01-06")) };
        assert_eq!(
            read("2006-day-002.txt", BarFormat::BtCsv, gaps).bars[0].ts,
            ts("2006-01-05 23:59:59.999989")
        );

        // Intraday: the whole of one date, whatever the time.
        let one_day = DateWindow { from: Some(date("2006-01-03")), to: Some(date("2006-01-03")) };
        let got = read("2006-min-005.txt", BarFormat::BtCsv, one_day);
        assert_eq!(got.bars.len(), 102);
        assert_eq!(got.bars[0].ts, ts("2006-01-03 09:05:00"));
        assert_eq!(got.bars[101].ts, ts("2006-01-03 17:30:00"));

        // Yahoo, and a reversed window keeps nothing.
        let y = read(
            "orcl-1995-2014.txt",
            BarFormat::Yahoo,
            DateWindow { from: Some(date("2003-01-01")), to: Some(date("2005-12-31")) },
        );
        assert_eq!(y.bars, read("orcl-2003-2005.txt", BarFormat::Yahoo, DateWindow::ALL).bars);
        let backwards = DateWindow { from: Some(date("2006-02-01")), to: Some(date("2006-01-01")) };
        assert!(read("2006-day-001.txt", BarFormat::BtCsv, backwards).bars.is_empty());
    }

    /// Writes `body` to a temporary file and reads it.
    fn parse_temp(body: &str, format: BarFormat) -> (Result<BarFile, BarError>, PathBuf, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bars.csv");
        std::fs::File::create(&path).unwrap().write_all(body.as_bytes()).unwrap();
        (read_bars(&path, format, DateWindow::ALL), path, dir)
    }

    const DAILY_HEADER: &str = "Date,Open,High,Low,Close,Volume,OpenInterest\n";
    const YAHOO_HEADER: &str = "Date,Open,High,Low,Close,Adj Close,Volume\n";

    #[test]
    fn malformed_rows_name_file_line_and_column() {
        let good = "2006-01-02,10,11,9,10.5,100,0\n";
        // (body after the header, expected line, expected column (0: none), variant, text in the message)
        let cases: &[(&str, &str, u64, usize, &str, &str)] = &[
            (
                DAILY_HEADER,
                "2006-01-03,10,11,9,10.5,100\n",
                3,
                0,
                "ColumnCount",
                "6 columns, the header has 7",
            ),
            (DAILY_HEADER, "2006-01-03,10,11,9,10.5,100,0,7\n", 3, 0, "ColumnCount", "8 columns"),
            (DAILY_HEADER, "2006-13-01,10,11,9,10.5,100,0\n", 3, 1, "BadDate", "not a calendar date"),
            (DAILY_HEADER, "2006/01/03,10,11,9,10.5,100,0\n", 3, 1, "BadDate", "want YYYY-MM-DD"),
            (DAILY_HEADER, "2300-01-03,10,11,9,10.5,100,0\n", 3, 1, "BadDate", "outside the timestamp range"),
            (DAILY_HEADER, "2006-01-03,10,11.x,9,10.5,100,0\n", 3, 3, "BadNumber", "column 3 (High)"),
            (DAILY_HEADER, "2006-01-03,10,11,9,10.5,null,0\n", 3, 6, "BadNumber", "column 6 (Volume)"),
            (DAILY_HEADER, "2006-01-03,10,11,9,0.1234567891,1,0\n", 3, 5, "BadNumber", "10 decimal places"),
            (DAILY_HEADER, "2006-01-03,10,11,9,10,1,\n", 3, 7, "BadNumber", "column 7 (OpenInterest)"),
            (DAILY_HEADER, "2006-01-03,10,9,11,10,1,0\n", 3, 0, "HighBelowLow", "high 9 is below low 11"),
            (DAILY_HEADER, "2006-01-02,10,11,9,10,1,0\n", 3, 0, "NotIncreasing", "(line 2)"),
            (DAILY_HEADER, "2006-01-01,10,11,9,10,1,0\n", 3, 0, "NotIncreasing", "increasing time order"),
            (
                "Date,Time,Open,High,Low,Close,Volume,OpenInterest\n",
                "2006-01-02,9:05:00,10,11,9,10,0,0\n",
                2,
                2,
                "BadTime",
                "want HH:MM:SS",
            ),
            (YAHOO_HEADER, "2006-01-03,10,11,9,10,9.8,1e\n", 3, 7, "BadNumber", "column 7 (Volume)"),
        ];
        for &(header, bad, line, column, variant, message) in cases {
            // The good row precedes the bad one, except in intraday/Yahoo cases built for line 2.
            let body = match header {
                DAILY_HEADER => format!("{header}{good}{bad}{good}"),
                YAHOO_HEADER => format!("{header}2006-01-02,10,11,9,10,9.8,5\n{bad}"),
                _ => format!("{header}{bad}"),
            };
            let format = if header == YAHOO_HEADER { BarFormat::Yahoo } else { BarFormat::BtCsv };
            let (got, path, _dir) = parse_temp(&body, format);
            let err = got.unwrap_err();
            let (kind, got_line, got_column) = match &err {
                BarError::ColumnCount { line, .. } => ("ColumnCount", *line, 0),
                BarError::BadDate { line, column, .. } => ("BadDate", *line, *column),
                BarError::BadTime { line, column, .. } => ("BadTime", *line, *column),
                BarError::BadNumber { line, column, .. } => ("BadNumber", *line, *column),
                BarError::HighBelowLow { line, .. } => ("HighBelowLow", *line, 0),
                BarError::NotIncreasing { line, .. } => ("NotIncreasing", *line, 0),
                other => panic!("{bad:?}: unexpected {other}"),
            };
            assert_eq!((kind, got_line, got_column), (variant, line, column), "{bad:?}: {err}");
            let text = err.to_string();
            assert!(text.starts_with(&format!("{}:{line}: ", path.display())), "{text}");
            assert!(text.contains(message), "{bad:?}: {text}");
        }
    }

    #[test]
    fn file_level_errors() {
        let (got, path, _dir) = parse_temp("", BarFormat::BtCsv);
        assert!(matches!(got, Err(BarError::Empty { path: p }) if p == path));
        let (got, _, _dir) = parse_temp("\n\n", BarFormat::Yahoo);
        assert!(matches!(got, Err(BarError::Empty { .. })));

        let (got, _, _dir) =
            parse_temp(&format!("{YAHOO_HEADER}2006-01-02,10,11,9,10,9.8,5\n"), BarFormat::BtCsv);
        let err = got.unwrap_err();
        assert!(matches!(&err, BarError::BadHeader { format: BarFormat::BtCsv, .. }), "{err}");
        assert!(err.to_string().contains("Adj Close"), "{err}");

        let (got, _, _dir) =
            parse_temp("Date,Open,High,Low,Close,Volume,OpenInterest,A,B,C\n", BarFormat::BtCsv);
        assert!(matches!(got, Err(BarError::BadHeader { .. })));

        let dir = tempfile::tempdir().unwrap();
        let bytes = b"Date,Open,High,Low,Close,Volume,OpenInterest\n2006-01-02,10,11,9,10,1,0\n2006-01-03,1\xff,11,9,10,1,0\n";
        let err =
            parse_bars(&dir.path().join("x.csv"), bytes, BarFormat::BtCsv, DateWindow::ALL).unwrap_err();
        assert!(matches!(err, BarError::NotUtf8 { line: 3, .. }), "{err}");

        let missing = dir.path().join("missing.csv");
        let err = read_bars(&missing, BarFormat::BtCsv, DateWindow::ALL).unwrap_err();
        assert!(matches!(&err, BarError::Io { path, .. } if *path == missing), "{err}");
        assert!(err.to_string().contains("missing.csv"));
    }

    #[test]
    fn yahoo_null_rows_are_skipped_and_counted() {
        let body = format!(
            "{YAHOO_HEADER}\
             2006-01-02,10,11,9,10,9.8,5\n\
             2006-01-03,null,null,null,null,null,null\n\
             2006-01-04,10,12,9,11,10.7,null\n\
             2006-01-05,11,12,10,11.5,11.2,7.25\n"
        );
        let (got, _, _dir) = parse_temp(&body, BarFormat::Yahoo);
        let got = got.unwrap();
        assert_eq!(got.null_rows, 2);
        assert_eq!(got.bars.len(), 2);
        assert_eq!(got.bars[1], daily("2006-01-05", "11", "12", "10", "11.5", "7.25", "0"), "decimal volume");
        // A null row does not take part in the ordering check: it has no trusted timestamp.
        let body = format!(
            "{YAHOO_HEADER}2006-01-03,10,11,9,10,9.8,5\n2006-01-02,null,1,1,1,1,1\n2006-01-04,10,11,9,10,9.8,5\n"
        );
        assert_eq!(parse_temp(&body, BarFormat::Yahoo).0.unwrap().null_rows, 1);
    }

    #[test]
    fn tolerated_layout_details() {
        // BOM, CRLF, spaces around fields, blank lines, lower-case header, decimal volumes, no final newline.
        let body = "\u{feff}date,open,high,low,close,volume,openinterest\r\n\
                    2006-01-02, 10 ,11,9,10.5,100.5,3\r\n\
                    \r\n\
                    2006-01-03,10,11,9,10.5,0.000000001,0";
        let (got, _, _dir) = parse_temp(body, BarFormat::BtCsv);
        let got = got.unwrap();
        assert_eq!(got.bars.len(), 2);
        assert_eq!(got.bars[0], daily("2006-01-02", "10", "11", "9", "10.5", "100.5", "3"));
        assert_eq!(got.bars[1].volume, Qty::from_raw(1));
    }

    #[test]
    fn formats_have_scenario_names() {
        assert_eq!("btcsv".parse::<BarFormat>(), Ok(BarFormat::BtCsv));
        assert_eq!("yahoo".parse::<BarFormat>(), Ok(BarFormat::Yahoo));
        assert_eq!(BarFormat::Yahoo.to_string(), "yahoo");
        let err = "csv".parse::<BarFormat>().unwrap_err();
        assert_eq!(err.to_string(), "unknown bar format \"csv\" (want \"btcsv\" or \"yahoo\")");
    }
}
