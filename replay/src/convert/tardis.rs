//! Tardis.dev CSV (`tardis-trades`, `tardis-quotes`, `tardis-l2`, `tardis-snapshot`), plain or
//! gzipped, and the line-oriented text input that the HistData and bar-CSV readers share.
//!
//! Tardis's downloadable CSV datasets are one file per exchange, data type, day and symbol
//! (`<exchange>_<data type>_<YYYY-MM-DD>_<symbol>.csv.gz`), with a header line and timestamps in
//! microseconds since the epoch: `timestamp` is the exchange's, `local_timestamp` the moment
//! Tardis's recorder received the message. Here `ts_event = timestamp` and `ts_recv =
//! local_timestamp`, so a replay delivers events in the order and at the times they arrived.
//!
//! # Layouts
//! Columns are found by name in the header, never by position: the quotes layout in particular is
//! `ask_amount,ask_price,bid_price,bid_amount`, neither bid-first nor symmetric, and a reader that
//! assumed an order would swap sides silently.
//! - `trades`: `exchange,symbol,timestamp,local_timestamp,id,side,price,amount` → one
//!   [`Trade`] per row. `id` becomes the trade id when it is a decimal integer that fits `u64`
//!   (Binance), else 0 (BitMEX's UUIDs, empty ids): Kestrel's trade id is numeric and a hash would
//!   pretend to be the venue's. `side` is the aggressor: `buy`, `sell` or `unknown`.
//! - `quotes`: `…,ask_amount,ask_price,bid_price,bid_amount` → one [`Quote`] per row. Tardis leaves
//!   a side's two fields empty when that side of the book is empty; such a side becomes price 0 and
//!   size 0, which the engine reads as "no bid" / "no ask" (`MarketState::best_bid` wants a positive
//!   size and resting orders fill against nothing).
//! - `incremental_book_L2`: `…,is_snapshot,side,price,amount` → one [`LevelUpdate`] per row
//!   (`amount` is the new absolute size; 0 removes the level). Tardis's rule: a run of
//!   `is_snapshot=true` rows is a full book, and such a run after `false` rows means the book must be
//!   reset. Each run of one instrument is therefore wrapped as `BookClear`, `SnapshotBegin`, levels,
//!   `SnapshotEnd` (the clear also before a file's first run: a day file's opening snapshot replaces
//!   whatever the previous file left). The end marker is written when that instrument's next
//!   non-snapshot row comes, or at the end of the file, stamped with the last `ts_recv` written so
//!   that time never goes back. Rows sharing a `local_timestamp` are one venue message; their file
//!   order is kept, so a message's levels stay together.
//! - `book_snapshot_25` / `book_snapshot_5`: `asks[i].price,asks[i].amount,bids[i].price,
//!   bids[i].amount` interleaved for `i = 0..N` → per row `SnapshotBegin`, the levels in column
//!   order, `SnapshotEnd` (no clear: every row is a whole top-N book by itself). Levels whose two
//!   fields are empty (a book shallower than N) are left out.
//!
//! # Venues
//! Kestrel's instrument table keys instruments by symbol and a `VenueId(u8)`; Tardis names the
//! exchange (`binance-futures`, `bitmex`, …). Each file keeps a small table that gives exchanges
//! `VenueId`s by first appearance, so a file with two exchanges gets two instruments even for one
//! symbol. The table is per file: the collector has no venue table of its own yet.
//!
//! # Strictness
//! Every row must have the header's column count, numbers must be exact decimals (`NaN`, `1e400`,
//! text: refused), sizes must not be negative, timestamps must be whole microseconds that fit, and
//! `local_timestamp` must never decrease within a file (rows sharing one keep file order). A row
//! that fails is a [`super::RowError`] naming the file, the 1-based line (the header is line 1) and
//! the column; with `--skip-malformed` it is counted and skipped whole (a snapshot row is never
//! half-written). A truncated or corrupt gzip stream is one malformed row at the line where it
//! breaks: strict mode stops there; skipping keeps what came before and ends the file. Blank lines
//! hold nothing and are passed over.
//!
//! # Detection
//! By the header in the first bytes (gunzipped when they are gzip); by the Tardis file name pattern
//! only when there are no bytes to look at (content that is not a Tardis header is another
//! format's). Tardis's `liquidations` files have exactly the trades columns, so a name saying
//! `_liquidations_` is never taken for trades.

use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::Path;
use std::str::FromStr;

use flate2::read::MultiGzDecoder;
use kestrel_types::{
    Aggressor, BookSide, Event, InstrumentId, LevelUpdate, ParseDecimalError, Payload, Price, Qty, Quote,
    Timestamp, Trade, VenueId,
};

use super::{Collector, ConvertError, Counted, Format};

// ---------------------------------------------------------------------------------------------
// Line-oriented text input, shared with `histdata` and `csv_bars`.
// ---------------------------------------------------------------------------------------------

/// The first two bytes of every gzip member (RFC 1952): how a `.csv.gz` is told from its content,
/// whatever its name.
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Bytes of input buffered per read: large enough that the per-call cost of reading disappears.
const READ_BUFFER: usize = 1 << 16;

/// Where the lines of a text file come from: the file itself or its gunzipped content.
enum Source {
    /// A plain text file.
    Plain(BufReader<Counted<File>>),
    /// A gzip file (any number of members, as `cat a.gz b.gz` makes); boxed, the decoder's state
    /// being far larger than a plain reader's, and reached once per buffer refill, not per byte.
    Gzip(Box<BufReader<MultiGzDecoder<BufReader<Counted<File>>>>>),
}

/// What [`Lines::next`] found.
pub(super) enum Next<'a> {
    /// A line, without its `\n` or `\r\n`, and its 1-based number.
    Line(u64, &'a [u8]),
    /// The compressed stream is truncated or corrupt while reading this line: nothing after it can
    /// be read, and the partial line is not returned.
    Broken(u64, String),
    /// The end of the input.
    End,
}

/// Reads a text file line by line, gunzipping it when its first bytes say gzip, counting bytes
/// for the progress bar through [`Collector::open`], and numbering lines from 1.
///
/// One buffer is reused for every line, so reading allocates nothing per row.
pub(super) struct Lines {
    /// The input.
    src: Source,
    /// The current line's bytes.
    buf: Vec<u8>,
    /// The number of the line in `buf`.
    line: u64,
    /// Set after a broken stream: nothing more is read.
    done: bool,
    /// The file, for I/O errors.
    path: std::path::PathBuf,
}

impl Lines {
    /// Opens `path` through `coll` (progress counting), gunzipping when the content starts with the
    /// gzip magic.
    ///
    /// # Errors
    /// [`ConvertError::Io`].
    pub(super) fn open(path: &Path, coll: &Collector) -> Result<Self, ConvertError> {
        let io = |source| ConvertError::Io { path: path.to_path_buf(), source };
        let mut raw = BufReader::with_capacity(READ_BUFFER, coll.open(path)?);
        // Peek without consuming: a fresh buffer over a file holds its first bytes (a gzip header is
        // 10 bytes, so a file too short to show two is not gzip).
        let gzip = raw.fill_buf().map_err(io)?.starts_with(&GZIP_MAGIC);
        let src = if gzip {
            Source::Gzip(Box::new(BufReader::with_capacity(READ_BUFFER, MultiGzDecoder::new(raw))))
        } else {
            Source::Plain(raw)
        };
        Ok(Self { src, buf: Vec::with_capacity(256), line: 0, done: false, path: path.to_path_buf() })
    }

    /// The next line.
    ///
    /// # Errors
    /// [`ConvertError::Io`] when the file cannot be read (a corrupt gzip stream is
    /// [`Next::Broken`], data to report by line, not an I/O failure).
    pub(super) fn next(&mut self) -> Result<Next<'_>, ConvertError> {
        if self.done {
            return Ok(Next::End);
        }
        self.buf.clear();
        let (got, gzip) = match &mut self.src {
            Source::Plain(r) => (r.read_until(b'\n', &mut self.buf), false),
            Source::Gzip(r) => (r.read_until(b'\n', &mut self.buf), true),
        };
        match got {
            Ok(0) => {
                self.done = true;
                Ok(Next::End)
            }
            Ok(_) => {
                self.line += 1;
                let mut end = self.buf.len();
                if self.buf[..end].ends_with(b"\n") {
                    end -= 1;
                }
                if self.buf[..end].ends_with(b"\r") {
                    end -= 1;
                }
                Ok(Next::Line(self.line, &self.buf[..end]))
            }
            Err(e)
                if gzip
                    && matches!(
                        e.kind(),
                        ErrorKind::UnexpectedEof | ErrorKind::InvalidInput | ErrorKind::InvalidData
                    ) =>
            {
                self.done = true;
                Ok(Next::Broken(self.line + 1, format!("the gzip stream is truncated or corrupt: {e}")))
            }
            Err(source) => Err(ConvertError::Io { path: self.path.clone(), source }),
        }
    }
}

/// Whether a line holds nothing but spaces (blank lines carry no data and are passed over).
pub(super) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// A line as text, or the row fault saying it is not.
///
/// # Errors
/// "not valid UTF-8".
pub(super) fn text(line: &[u8]) -> Result<&str, Fault> {
    std::str::from_utf8(line).map_err(|e| Fault::Row(format!("not valid UTF-8 (byte {})", e.valid_up_to())))
}

/// Why a row was not written: its own fault (counted or fatal per `--skip-malformed`), or a failure
/// of the conversion itself.
pub(super) enum Fault {
    /// The row is malformed: the reason, to be reported with the file and line.
    Row(String),
    /// Not the row's fault: time going back across files, writing the spool.
    Fatal(ConvertError),
}

/// A conversion failure met while handling a row stays a failure, whatever `--skip-malformed` says.
impl From<ConvertError> for Fault {
    fn from(e: ConvertError) -> Self {
        Self::Fatal(e)
    }
}

/// A bare reason is the row's fault (so `?` works on helpers that return `Result<_, String>`).
impl From<String> for Fault {
    fn from(reason: String) -> Self {
        Self::Row(reason)
    }
}

/// Settles one row's outcome: a malformed row goes to [`Collector::malformed`] (an error in strict
/// mode, counted with `--skip-malformed`); anything else passes through.
///
/// # Errors
/// [`ConvertError`] in strict mode or on a fatal fault.
pub(super) fn settle(
    coll: &mut Collector,
    line: u64,
    outcome: Result<(), Fault>,
) -> Result<(), ConvertError> {
    match outcome {
        Ok(()) => Ok(()),
        Err(Fault::Row(reason)) => coll.malformed(coll.row_error(line, reason)),
        Err(Fault::Fatal(e)) => Err(e),
    }
}

/// The fields of one line as byte ranges: split once, looked up by index, with no allocation per
/// row (the ranges vector is reused).
#[derive(Debug, Default)]
pub(super) struct Fields {
    /// `(start, end)` of each field in the line.
    spans: Vec<(usize, usize)>,
}

impl Fields {
    /// Splits `line` on `sep` (an ASCII byte, so every cut is on a character boundary); returns the
    /// field count.
    pub(super) fn split(&mut self, line: &str, sep: u8) -> usize {
        self.spans.clear();
        let mut start = 0;
        for (i, b) in line.bytes().enumerate() {
            if b == sep {
                self.spans.push((start, i));
                start = i + 1;
            }
        }
        self.spans.push((start, line.len()));
        self.spans.len()
    }

    /// Field `i` of `line` (as last split), without surrounding spaces; `""` past the end.
    pub(super) fn get<'a>(&self, line: &'a str, i: usize) -> &'a str {
        self.spans.get(i).and_then(|&(a, b)| line.get(a..b)).map_or("", str::trim_ascii)
    }
}

/// Characters of a bad field repeated in its error: enough to recognise it, bounded for junk.
const FIELD_IN_ERROR: usize = 40;

/// `text` cut to `max` characters (with `…`), for error messages.
pub(super) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// "column 7 (price)": where a field is, 1-based as editors count.
pub(super) fn column(index: usize, name: &str) -> String {
    format!("column {} ({name})", index + 1)
}

/// Parses an exact decimal (never through a float: `NaN`, `inf` and excess decimals are refused).
///
/// # Errors
/// The row fault naming the column and the text.
pub(super) fn decimal<T: FromStr<Err = ParseDecimalError>>(
    text: &str,
    index: usize,
    name: &str,
) -> Result<T, Fault> {
    text.parse().map_err(|e| {
        Fault::Row(format!("{}: bad number {:?}: {e}", column(index, name), shorten(text, FIELD_IN_ERROR)))
    })
}

/// Parses a size: an exact decimal that is not negative.
///
/// # Errors
/// The row fault naming the column and the text.
pub(super) fn size(text: &str, index: usize, name: &str) -> Result<Qty, Fault> {
    let q: Qty = decimal(text, index, name)?;
    if q.is_negative() {
        return Err(Fault::Row(format!("{}: negative size {text}", column(index, name))));
    }
    Ok(q)
}

/// Tracks `ts_recv` within a file so that a row going back in time is a malformed row (counted
/// under `--skip-malformed`) rather than the collector's fatal error.
#[derive(Debug, Default)]
pub(super) struct Clock {
    /// The last accepted row's `ts_recv` and line.
    last: Option<(Timestamp, u64)>,
}

impl Clock {
    /// Accepts a row stamped `ts` at `line`, or says why not.
    ///
    /// # Errors
    /// "time goes backwards" naming the previous row.
    pub(super) fn check(&self, ts: Timestamp, what: &str) -> Result<(), Fault> {
        match self.last {
            Some((prev, prev_line)) if ts < prev => Err(Fault::Row(format!(
                "time goes backwards: {what} {ts} is before {prev} (line {prev_line})"
            ))),
            _ => Ok(()),
        }
    }

    /// Records an accepted row.
    pub(super) fn accept(&mut self, ts: Timestamp, line: u64) {
        self.last = Some((ts, line));
    }
}

/// The longest symbol the tick file's instrument table holds (bytes).
pub(super) const MAX_SYMBOL: usize = 32;

// ---------------------------------------------------------------------------------------------
// Tardis.
// ---------------------------------------------------------------------------------------------

/// The columns every Tardis CSV starts with.
const COMMON: [&str; 4] = ["exchange", "symbol", "timestamp", "local_timestamp"];

/// How a Tardis file's header starts (detection).
const HEADER_PREFIX: &str = "exchange,symbol,timestamp,local_timestamp,";

/// At most this many decompressed bytes are looked at when detecting a gzipped file.
const DETECT_BYTES: usize = 1 << 16;

/// Tells a Tardis CSV from its header (gunzipping the first bytes if needed), else, when there are
/// no bytes to look at, from its name.
pub(super) fn detect(name: &str, head: &[u8]) -> Option<Format> {
    if name.contains("_liquidations_") {
        return None;
    }
    let unzipped;
    let head = if head.starts_with(&GZIP_MAGIC) {
        unzipped = gunzip_head(head);
        &unzipped[..]
    } else {
        head
    };
    let first = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let first = first.strip_prefix("\u{feff}".as_bytes()).unwrap_or(first);
    if let Ok(line) = std::str::from_utf8(first) {
        let line = line.trim_end();
        if line.starts_with(HEADER_PREFIX) {
            let cols: Vec<&str> = line.split(',').collect();
            let has = |c: &str| cols.contains(&c);
            return if has("is_snapshot") && has("side") && has("price") && has("amount") {
                Some(Format::TardisL2)
            } else if has("asks[0].price") && has("bids[0].price") {
                Some(Format::TardisSnapshot)
            } else if has("ask_amount") && has("ask_price") && has("bid_price") && has("bid_amount") {
                Some(Format::TardisQuotes)
            } else if cols.len() == 8 && has("id") && has("side") && has("price") && has("amount") {
                Some(Format::TardisTrades)
            } else {
                // Another Tardis data type (derivative_ticker, options_chain…): not ours.
                None
            };
        }
    }
    // Content that is not a Tardis header is another format's (Tardis always writes one); the
    // name decides only when there is no content to look at.
    if head.iter().all(u8::is_ascii_whitespace) { detect_by_name(name) } else { None }
}

/// The Tardis data type in a file name `<exchange>_<type>_<YYYY-MM-DD>_<symbol>.csv[.gz]`.
fn detect_by_name(name: &str) -> Option<Format> {
    if !(name.ends_with(".csv") || name.ends_with(".csv.gz")) {
        return None;
    }
    if name.contains("_incremental_book_l2_") {
        Some(Format::TardisL2)
    } else if name.contains("_book_snapshot_") {
        Some(Format::TardisSnapshot)
    } else if name.contains("_quotes_") {
        Some(Format::TardisQuotes)
    } else if name.contains("_trades_") {
        Some(Format::TardisTrades)
    } else {
        None
    }
}

/// Gunzips what it can of a file's first bytes (a truncated stream just stops early).
fn gunzip_head(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dec = MultiGzDecoder::new(head);
    let mut chunk = [0u8; 4096];
    while out.len() < DETECT_BYTES {
        match dec.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    out
}

/// Where a format's columns are, found by name in the header.
enum Layout {
    /// `id,side,price,amount`.
    Trades { id: usize, side: usize, price: usize, amount: usize },
    /// `ask_amount,ask_price,bid_price,bid_amount`, wherever they are.
    Quotes { ask_amount: usize, ask_price: usize, bid_price: usize, bid_amount: usize },
    /// `is_snapshot,side,price,amount`.
    L2 { is_snapshot: usize, side: usize, price: usize, amount: usize },
    /// `(side, price column, amount column)` per level, in column order.
    Snapshot { levels: Vec<(BookSide, usize, usize)> },
}

/// A Tardis header: column names in order.
struct Header {
    /// The names, trimmed.
    names: Vec<String>,
}

impl Header {
    /// The index of column `name`.
    fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The indexes of `names`, or a message naming the missing ones.
    fn require<const N: usize>(&self, format: Format, names: [&str; N]) -> Result<[usize; N], String> {
        let mut out = [0; N];
        let mut missing = Vec::new();
        for (slot, name) in out.iter_mut().zip(names) {
            match self.find(name) {
                Some(i) => *slot = i,
                None => missing.push(name),
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(format!(
                "the header lacks {} for {format} (header: {:?})",
                missing.join(", "),
                shorten(&self.names.join(","), 120)
            ))
        }
    }

    /// The name of column `i`, for errors.
    fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("?", String::as_str)
    }
}

impl Layout {
    /// The layout of `format` in `header`, or why the header does not fit it.
    fn new(format: Format, header: &Header) -> Result<Self, String> {
        header.require(format, COMMON)?;
        Ok(match format {
            Format::TardisTrades => {
                let [id, side, price, amount] = header.require(format, ["id", "side", "price", "amount"])?;
                Self::Trades { id, side, price, amount }
            }
            Format::TardisQuotes => {
                let [ask_amount, ask_price, bid_price, bid_amount] =
                    header.require(format, ["ask_amount", "ask_price", "bid_price", "bid_amount"])?;
                Self::Quotes { ask_amount, ask_price, bid_price, bid_amount }
            }
            Format::TardisL2 => {
                let [is_snapshot, side, price, amount] =
                    header.require(format, ["is_snapshot", "side", "price", "amount"])?;
                Self::L2 { is_snapshot, side, price, amount }
            }
            Format::TardisSnapshot => Self::Snapshot { levels: snapshot_levels(header)? },
            other => return Err(format!("{other} is not a Tardis format")),
        })
    }
}

/// The levels of a `book_snapshot_N` header: every `asks[i].price` / `bids[i].price` with its
/// `amount` column, in the order the price columns come.
fn snapshot_levels(header: &Header) -> Result<Vec<(BookSide, usize, usize)>, String> {
    let mut levels = Vec::new();
    for (i, name) in header.names.iter().enumerate() {
        let (side, rest) = if let Some(rest) = name.strip_prefix("asks[") {
            (BookSide::Ask, rest)
        } else if let Some(rest) = name.strip_prefix("bids[") {
            (BookSide::Bid, rest)
        } else {
            continue;
        };
        let Some(level) = rest.strip_suffix("].price") else { continue };
        if level.is_empty() || !level.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("header column {:?} is not asks[i].price or bids[i].price", name));
        }
        let amount = format!("{}[{level}].amount", if side == BookSide::Ask { "asks" } else { "bids" });
        let a = header
            .find(&amount)
            .ok_or_else(|| format!("the header has {name} but no {amount} for tardis-snapshot"))?;
        levels.push((side, i, a));
    }
    if levels.is_empty() {
        return Err(format!(
            "the header has no asks[i].price / bids[i].price columns for tardis-snapshot (header: {:?})",
            shorten(&header.names.join(","), 120)
        ));
    }
    Ok(levels)
}

/// Exchange names to `VenueId`s by first appearance.
#[derive(Debug, Default)]
struct Venues {
    /// The names seen, in order: the index is the id.
    names: Vec<String>,
}

impl Venues {
    /// The id of `name`, added on first sight.
    fn id(&mut self, name: &str) -> Result<VenueId, String> {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return Ok(VenueId(u8::try_from(i).unwrap_or(u8::MAX)));
        }
        let id = u8::try_from(self.names.len())
            .map_err(|_| format!("exchange {name:?}: more than 256 exchanges in one file"))?;
        self.names.push(name.to_owned());
        Ok(VenueId(id))
    }
}

/// An instrument's open snapshot run (`tardis-l2`).
#[derive(Clone, Copy, Debug)]
struct Run {
    /// The last snapshot row's exchange time, for the end marker.
    ts_event: Timestamp,
}

/// One Tardis file being read.
struct Reader {
    /// Column names.
    header: Header,
    /// Where the format's columns are.
    layout: Layout,
    /// The column indexes of exchange, symbol, timestamp, local_timestamp.
    common: [usize; 4],
    /// Exchange → venue.
    venues: Venues,
    /// The last (exchange, symbol) resolved and its instrument: most files have one, so the
    /// collector (which allocates per lookup) is asked once per change, not once per row.
    cached: Option<(String, String, InstrumentId)>,
    /// `ts_recv` order within the file.
    clock: Clock,
    /// The last `ts_recv` written (for `SnapshotEnd` markers).
    written: Timestamp,
    /// Open snapshot runs by instrument index (`tardis-l2`).
    runs: Vec<Option<Run>>,
    /// A snapshot row's levels, reused.
    levels: Vec<LevelUpdate>,
    /// The split line, reused.
    fields: Fields,
}

/// One row's common part.
struct Stamp {
    /// `timestamp`.
    ts_event: Timestamp,
    /// `local_timestamp`.
    ts_recv: Timestamp,
}

/// Parses a Tardis timestamp: whole microseconds since the epoch.
fn micros(text: &str, index: usize, name: &str) -> Result<Timestamp, Fault> {
    let bad = |why: &str| {
        Fault::Row(format!(
            "{}: bad timestamp {:?}: {why}",
            column(index, name),
            shorten(text, FIELD_IN_ERROR)
        ))
    };
    if text.is_empty() {
        return Err(bad("empty"));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("want whole microseconds since 1970"));
    }
    // Up to 18 digits cannot overflow an i64 (the hot path: 16 digits for any date this century);
    // longer text goes through the checked parse.
    let v: i64 = if text.len() <= 18 {
        text.bytes().fold(0, |v, b| v * 10 + i64::from(b - b'0'))
    } else {
        text.parse().map_err(|_| bad("out of range"))?
    };
    v.checked_mul(1000).map(Timestamp::from_nanos).ok_or_else(|| bad("out of range (after 2262)"))
}

impl Reader {
    /// A reader for `layout`.
    fn new(header: Header, layout: Layout) -> Self {
        let common = [0, 1, 2, 3].map(|k| header.find(COMMON[k]).unwrap_or(k));
        Self {
            header,
            layout,
            common,
            venues: Venues::default(),
            cached: None,
            clock: Clock::default(),
            written: Timestamp::EPOCH,
            runs: Vec::new(),
            levels: Vec::new(),
            fields: Fields::default(),
        }
    }

    /// The stamp of a split row, checked for order.
    fn stamp(&self, line: &str) -> Result<Stamp, Fault> {
        let [_, _, t, l] = self.common;
        let ts_event = micros(self.fields.get(line, t), t, COMMON[2])?;
        let ts_recv = micros(self.fields.get(line, l), l, COMMON[3])?;
        self.clock.check(ts_recv, "local_timestamp")?;
        Ok(Stamp { ts_event, ts_recv })
    }

    /// The instrument of a split row (after its values were checked, so that a bad row adds
    /// nothing to the instrument table).
    fn instrument(&mut self, coll: &mut Collector, line: &str) -> Result<InstrumentId, Fault> {
        let [e, s, _, _] = self.common;
        let (exchange, symbol) = (self.fields.get(line, e), self.fields.get(line, s));
        if let Some((ce, cs, id)) = &self.cached
            && ce == exchange
            && cs == symbol
        {
            return Ok(*id);
        }
        if exchange.is_empty() {
            return Err(Fault::Row(format!("{}: empty exchange", column(e, COMMON[0]))));
        }
        if symbol.is_empty() || symbol.len() > MAX_SYMBOL {
            return Err(Fault::Row(format!(
                "{}: symbol {:?} is empty or longer than {MAX_SYMBOL} bytes",
                column(s, COMMON[1]),
                shorten(symbol, FIELD_IN_ERROR)
            )));
        }
        let venue = self.venues.id(exchange)?;
        let id = coll.instrument(symbol, venue);
        self.cached = Some((exchange.to_owned(), symbol.to_owned(), id));
        Ok(id)
    }

    /// Writes one event.
    fn push(&mut self, coll: &mut Collector, line: u64, ev: Event) -> Result<(), Fault> {
        coll.push(&ev, line)?;
        self.written = ev.ts_recv;
        Ok(())
    }

    /// Reads one data line.
    fn row(&mut self, coll: &mut Collector, n: u64, bytes: &[u8]) -> Result<(), Fault> {
        let line = text(bytes)?;
        let count = self.fields.split(line, b',');
        if count != self.header.names.len() {
            return Err(Fault::Row(format!("{count} columns, the header has {}", self.header.names.len())));
        }
        let stamp = self.stamp(line)?;
        let at = |instrument, payload| Event {
            ts_event: stamp.ts_event,
            ts_recv: stamp.ts_recv,
            instrument,
            payload,
        };
        match self.layout {
            Layout::Trades { id, side, price, amount } => {
                let trade = Trade {
                    price: decimal(self.fields.get(line, price), price, "price")?,
                    size: size(self.fields.get(line, amount), amount, "amount")?,
                    aggressor: match self.fields.get(line, side) {
                        "buy" => Aggressor::Buy,
                        "sell" => Aggressor::Sell,
                        "unknown" => Aggressor::Unknown,
                        other => {
                            return Err(Fault::Row(format!(
                                "{}: {:?} is not buy, sell or unknown",
                                column(side, "side"),
                                shorten(other, FIELD_IN_ERROR)
                            )));
                        }
                    },
                    // Numeric venue ids are kept; UUIDs and other text have no numeric form.
                    trade_id: self.fields.get(line, id).parse().unwrap_or(0),
                };
                let ins = self.instrument(coll, line)?;
                self.push(coll, n, at(ins, Payload::Trade(trade)))?;
            }
            Layout::Quotes { ask_amount, ask_price, bid_price, bid_amount } => {
                let (bid, bid_size) = self.side(line, bid_price, bid_amount)?;
                let (ask, ask_size) = self.side(line, ask_price, ask_amount)?;
                let ins = self.instrument(coll, line)?;
                self.push(coll, n, at(ins, Payload::Quote(Quote { bid, bid_size, ask, ask_size })))?;
            }
            Layout::L2 { is_snapshot, side, price, amount } => {
                let snapshot = match self.fields.get(line, is_snapshot) {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(Fault::Row(format!(
                            "{}: {:?} is not true or false",
                            column(is_snapshot, "is_snapshot"),
                            shorten(other, FIELD_IN_ERROR)
                        )));
                    }
                };
                let level = LevelUpdate {
                    side: match self.fields.get(line, side) {
                        "bid" => BookSide::Bid,
                        "ask" => BookSide::Ask,
                        other => {
                            return Err(Fault::Row(format!(
                                "{}: {:?} is not bid or ask",
                                column(side, "side"),
                                shorten(other, FIELD_IN_ERROR)
                            )));
                        }
                    },
                    price: decimal(self.fields.get(line, price), price, "price")?,
                    size: size(self.fields.get(line, amount), amount, "amount")?,
                };
                let ins = self.instrument(coll, line)?;
                let k = ins.index();
                if self.runs.len() <= k {
                    self.runs.resize(k + 1, None);
                }
                match (snapshot, self.runs[k]) {
                    (true, None) => {
                        self.push(coll, n, at(ins, Payload::BookClear))?;
                        self.push(coll, n, at(ins, Payload::SnapshotBegin))?;
                    }
                    (false, Some(run)) => self.end_run(coll, n, ins, run)?,
                    _ => {}
                }
                if snapshot {
                    self.runs[k] = Some(Run { ts_event: stamp.ts_event });
                }
                self.push(coll, n, at(ins, Payload::Level(level)))?;
            }
            Layout::Snapshot { ref levels } => {
                self.levels.clear();
                for &(side, p, a) in levels {
                    let (price, amount) = (self.fields.get(line, p), self.fields.get(line, a));
                    if price.is_empty() && amount.is_empty() {
                        continue;
                    }
                    self.levels.push(LevelUpdate {
                        side,
                        price: decimal(price, p, self.header.name(p))?,
                        size: size(amount, a, self.header.name(a))?,
                    });
                }
                let ins = self.instrument(coll, line)?;
                self.push(coll, n, at(ins, Payload::SnapshotBegin))?;
                for i in 0..self.levels.len() {
                    let level = self.levels[i];
                    self.push(coll, n, at(ins, Payload::Level(level)))?;
                }
                self.push(coll, n, at(ins, Payload::SnapshotEnd))?;
            }
        }
        self.clock.accept(stamp.ts_recv, n);
        Ok(())
    }

    /// One side of a quote: both fields empty is an empty side (price 0, size 0).
    fn side(&self, line: &str, price: usize, amount: usize) -> Result<(Price, Qty), Fault> {
        let (p, a) = (self.fields.get(line, price), self.fields.get(line, amount));
        if p.is_empty() && a.is_empty() {
            return Ok((Price::ZERO, Qty::ZERO));
        }
        Ok((decimal(p, price, self.header.name(price))?, size(a, amount, self.header.name(amount))?))
    }

    /// Closes instrument `ins`'s snapshot run.
    fn end_run(&mut self, coll: &mut Collector, n: u64, ins: InstrumentId, run: Run) -> Result<(), Fault> {
        if let Some(slot) = self.runs.get_mut(ins.index()) {
            *slot = None;
        }
        let ev = Event {
            ts_event: run.ts_event,
            ts_recv: self.written,
            instrument: ins,
            payload: Payload::SnapshotEnd,
        };
        self.push(coll, n, ev)
    }

    /// Closes the runs still open at the end of the file.
    fn finish(&mut self, coll: &mut Collector, last_line: u64) -> Result<(), ConvertError> {
        for k in 0..self.runs.len() {
            if let Some(run) = self.runs[k] {
                let ins = InstrumentId(u16::try_from(k).unwrap_or(u16::MAX));
                match self.end_run(coll, last_line, ins, run) {
                    Ok(()) => {}
                    Err(Fault::Fatal(e)) => return Err(e),
                    Err(Fault::Row(reason)) => return Err(coll.row_error(last_line, reason).into()),
                }
            }
        }
        Ok(())
    }
}

/// Reads a Tardis CSV file (plain or gzipped) of `format` into `coll`.
///
/// # Errors
/// [`ConvertError::Format`] for a missing or wrong header; [`ConvertError::Row`] for a malformed row
/// in strict mode; [`ConvertError::Io`].
pub(super) fn read(format: Format, path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    let format_error = |reason: String| ConvertError::Format { path: path.to_path_buf(), reason };
    let mut lines = Lines::open(path, coll)?;
    let header = loop {
        match lines.next()? {
            Next::End => return Err(format_error(format!("empty file: want a {format} header line"))),
            Next::Broken(_, reason) => return Err(format_error(reason)),
            Next::Line(_, bytes) if is_blank(bytes) => continue,
            Next::Line(_, bytes) => {
                let line = std::str::from_utf8(bytes)
                    .map_err(|_| format_error("the header is not valid UTF-8".to_owned()))?;
                let line = line.strip_prefix('\u{feff}').unwrap_or(line);
                break Header { names: line.split(',').map(|n| n.trim().to_owned()).collect() };
            }
        }
    };
    let layout = Layout::new(format, &header).map_err(format_error)?;
    let mut reader = Reader::new(header, layout);
    let mut last_line = 1;
    loop {
        let (n, bytes) = match lines.next()? {
            Next::End => break,
            Next::Broken(n, reason) => {
                coll.row();
                coll.malformed(coll.row_error(n, reason))?;
                break;
            }
            Next::Line(n, bytes) => (n, bytes),
        };
        last_line = n;
        if is_blank(bytes) {
            continue;
        }
        coll.row();
        let outcome = reader.row(coll, n, bytes);
        settle(coll, n, outcome)?;
    }
    reader.finish(coll, last_line)
}

/// Helpers for the converter tests of this module, `histdata` and `csv_bars`: convert real or
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

    /// Converts `inputs` into a temporary tick file, validates it and reads its events back.
    pub(crate) fn try_convert(
        format: Option<Format>,
        inputs: &[PathBuf],
        opts: ConvertOptions,
    ) -> (Result<(Summary, Vec<Event>), ConvertError>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.kt");
        let got = convert(format, inputs, &out, opts, None).map(|s| {
            let f = TickFile::open(&out).unwrap();
            let stats = f.validate().unwrap();
            assert_eq!(stats.records, s.records_out);
            let evs: Vec<Event> = f.events().map(Result::unwrap).collect();
            (s, evs)
        });
        (got, dir)
    }

    /// [`try_convert`] that must succeed.
    pub(crate) fn convert_files(
        format: Option<Format>,
        inputs: &[PathBuf],
        opts: ConvertOptions,
    ) -> (Summary, Vec<Event>, tempfile::TempDir) {
        let (got, dir) = try_convert(format, inputs, opts);
        let (s, evs) = got.unwrap_or_else(|e| panic!("{inputs:?}: {e}"));
        (s, evs, dir)
    }

    /// Writes `body` as `name` in `dir`.
    pub(crate) fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path
    }

    /// `body` saved as `name` must fail in strict mode with a row error at `line` whose reason
    /// contains `message`, and convert under `--skip-malformed` with that one row skipped and
    /// `good` rows read besides.
    pub(crate) fn expect_row_error(
        format: Format,
        name: &str,
        body: &[u8],
        line: u64,
        message: &str,
        good: u64,
    ) -> Summary {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), name, body);
        let (got, _d) = try_convert(Some(format), std::slice::from_ref(&path), ConvertOptions::default());
        match got {
            Err(ConvertError::Row(e)) => {
                assert_eq!((&e.file, e.line), (&path, line), "{e}");
                assert!(e.reason.contains(message), "want {message:?} in: {e}");
                assert!(e.to_string().starts_with(&format!("{}:{line}: ", path.display())), "{e}");
            }
            Err(other) => panic!("{name}: want a row error at line {line}, got: {other}"),
            Ok(_) => panic!("{name}: want a row error at line {line} ({message}), got success"),
        }
        let skip = ConvertOptions { skip_malformed: true, ..ConvertOptions::default() };
        let (got, _d) = try_convert(Some(format), &[path], skip);
        let (s, _) = got.unwrap_or_else(|e| panic!("{name} with --skip-malformed: {e}"));
        assert_eq!((s.skipped, s.rows_in), (1, good + 1), "{name}: {s:?}");
        assert_eq!(s.examples[0].line, line);
        assert!(s.examples[0].reason.contains(message), "{:?}", s.examples[0]);
        s
    }

    /// Events per payload kind.
    pub(crate) fn kinds_of(evs: &[Event]) -> BTreeMap<&'static str, usize> {
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
                _ => "other",
            };
            *m.entry(k).or_insert(0) += 1;
        }
        m
    }

    /// Checks what every converted file must satisfy: `ts_recv` never decreases, sizes are not
    /// negative, quotes with both sides present are not crossed.
    pub(crate) fn check_invariants(evs: &[Event]) {
        assert!(evs.windows(2).all(|w| w[0].ts_recv <= w[1].ts_recv), "ts_recv decreases");
        for e in evs {
            match e.payload {
                Payload::Trade(t) => assert!(!t.size.is_negative(), "{e:?}"),
                Payload::Level(l) => assert!(!l.size.is_negative(), "{e:?}"),
                Payload::Quote(q) => {
                    assert!(!q.bid_size.is_negative() && !q.ask_size.is_negative(), "{e:?}");
                    if !q.bid.is_zero() && !q.ask.is_zero() {
                        assert!(q.bid <= q.ask, "crossed: {e:?}");
                    }
                }
                Payload::Bar(b) => {
                    assert!(!b.volume.is_negative() && !b.open_interest.is_negative(), "{e:?}");
                    assert!(b.low <= b.high, "{e:?}");
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::test_util::{
        check_invariants, convert_files, data, expect_row_error, kinds_of, try_convert, write,
    };
    use super::*;
    use crate::convert::{ConvertOptions, head};

    const TRADES_GZ: &str = "tardis/binance-futures_trades_2020-02-22_BTCUSDT.rows1-5000.csv.gz";
    const BITMEX: &str = "tardis/bitmex_trades_2020-03-01_XBTUSD.first10.csv";
    const QUOTES: &str = "tardis/binance-futures_quotes_2020-02-22_BTCUSDT.rows1-5000.csv";
    const L2: &str = "tardis/deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.first15.csv";
    const SNAP: &str = "tardis/binance-futures_book_snapshot_25_2020-09-01_BTCUSDT.first10.csv";

    fn us(micros: i64) -> Timestamp {
        Timestamp::from_nanos(micros * 1000)
    }

    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }

    fn trade(price: &str, size: &str, aggressor: Aggressor, trade_id: u64) -> Payload {
        Payload::Trade(Trade { price: p(price), size: q(size), aggressor, trade_id })
    }

    fn level(side: BookSide, price: &str, size: &str) -> Payload {
        Payload::Level(LevelUpdate { side, price: p(price), size: q(size) })
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn binance_trades_gz() {
        let (s, evs, _d) =
            convert_files(Some(Format::TardisTrades), &[data(TRADES_GZ)], ConvertOptions::default());
        assert_eq!((s.rows_in, s.records_out, s.skipped), (5000, 5000, 0));
        let first = evs[0];
        assert_eq!((first.ts_event, first.ts_recv), (us(1_582_329_602_111_000), us(1_582_329_602_418_379)));
        assert_eq!(first.payload, trade("9682", "0.132", Aggressor::Buy, 42_377_944));
        let last = evs[4999];
        assert_eq!((last.ts_event, last.ts_recv), (us(1_582_333_152_447_000), us(1_582_333_152_583_457)));
        assert_eq!(last.payload, trade("9691.07", "0.897", Aggressor::Buy, 42_382_943));
        // Binance's ids are contiguous in this excerpt: every one was read as a number.
        for (i, e) in evs.iter().enumerate() {
            let Payload::Trade(t) = e.payload else { panic!() };
            assert_eq!(t.trade_id, 42_377_944 + i as u64);
            assert!(t.size.is_positive() && t.aggressor != Aggressor::Unknown);
        }
        check_invariants(&evs);
        let shared = evs.windows(2).filter(|w| w[0].ts_event == w[1].ts_event).count();
        assert_eq!(shared, 2127, "the README's count of rows repeating the previous timestamp");
        let (ins, inferred) = &s.instruments[0];
        assert_eq!((ins.symbol(), ins.venue(), *inferred), ("BTCUSDT", VenueId(0), true));
        assert_eq!(
            (ins.tick_size().to_string(), ins.lot_size().to_string()),
            ("0.01".into(), "0.001".into())
        );
    }

    #[test]
    fn bitmex_trades_with_uuid_ids() {
        let (s, evs, _d) =
            convert_files(Some(Format::TardisTrades), &[data(BITMEX)], ConvertOptions::default());
        assert_eq!((s.rows_in, s.records_out), (10, 10));
        assert_eq!(evs[0].payload, trade("8531.5", "2152", Aggressor::Sell, 0));
        assert_eq!((evs[0].ts_event, evs[0].ts_recv), (us(1_583_020_803_145_000), us(1_583_020_803_307_160)));
        assert_eq!(evs[9].payload, trade("8531.5", "1", Aggressor::Sell, 0));
        assert_eq!(evs[9].ts_recv, us(1_583_020_803_336_743));
        check_invariants(&evs);
        let ins = &s.instruments[0].0;
        assert_eq!(
            (ins.symbol(), ins.lot_size().to_string()),
            ("XBTUSD", "1".into()),
            "USD contracts: whole"
        );
    }

    #[test]
    fn binance_quotes_read_by_column_name() {
        let (s, evs, _d) =
            convert_files(Some(Format::TardisQuotes), &[data(QUOTES)], ConvertOptions::default());
        assert_eq!((s.rows_in, s.records_out), (5000, 5000));
        let quote = |bid: &str, bid_size: &str, ask: &str, ask_size: &str| {
            Payload::Quote(Quote { bid: p(bid), bid_size: q(bid_size), ask: p(ask), ask_size: q(ask_size) })
        };
        // ask_amount,ask_price,bid_price,bid_amount = 0.84,9682,9681.92,0.67
        assert_eq!(evs[0].payload, quote("9681.92", "0.67", "9682", "0.84"));
        assert_eq!((evs[0].ts_event, evs[0].ts_recv), (us(1_582_329_601_096_000), us(1_582_329_603_502_092)));
        assert_eq!(evs[4999].payload, quote("9676.06", "0.031", "9676.91", "8.25"));
        assert_eq!(evs[4999].ts_recv, us(1_582_329_725_093_671));
        check_invariants(&evs);
        let shared = evs.windows(2).filter(|w| w[0].ts_event == w[1].ts_event).count();
        assert_eq!(shared, 206, "the README's count");

        // The same rows with the columns in another order give the same events.
        let text = std::fs::read_to_string(data(QUOTES)).unwrap();
        let swapped: String = text
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                format!("{},{},{},{},{},{},{},{}\n", f[7], f[6], f[5], f[4], f[3], f[2], f[1], f[0])
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "q.csv", swapped.as_bytes());
        let (_, again, _d) = convert_files(Some(Format::TardisQuotes), &[path], ConvertOptions::default());
        assert_eq!(again, evs);
    }

    #[test]
    fn deribit_l2_snapshot_run_is_wrapped() {
        let (s, evs, _d) = convert_files(Some(Format::TardisL2), &[data(L2)], ConvertOptions::default());
        assert_eq!((s.rows_in, s.records_out), (15, 18));
        let kinds: Vec<_> = kinds_of(&evs).into_iter().collect();
        assert_eq!(kinds, [("begin", 1), ("clear", 1), ("end", 1), ("level", 15)]);
        assert_eq!(evs[0].payload, Payload::BookClear);
        assert_eq!(evs[1].payload, Payload::SnapshotBegin);
        assert_eq!(evs[2].payload, level(BookSide::Ask, "6421.5", "18640"));
        assert_eq!(evs[16].payload, level(BookSide::Ask, "6428.5", "39950"));
        assert_eq!(evs[17].payload, Payload::SnapshotEnd);
        for e in &evs {
            assert_eq!((e.ts_event, e.ts_recv), (us(1_585_699_200_245_000), us(1_585_699_200_355_684)));
        }
        check_invariants(&evs);
        assert_eq!(s.instruments[0].0.symbol(), "BTC-PERPETUAL");
    }

    #[test]
    fn binance_book_snapshot_25_rows_are_whole_books() {
        let (s, evs, _d) =
            convert_files(Some(Format::TardisSnapshot), &[data(SNAP)], ConvertOptions::default());
        assert_eq!((s.rows_in, s.records_out), (10, 10 * 52));
        assert_eq!(evs[0].payload, Payload::SnapshotBegin);
        assert_eq!(evs[1].payload, level(BookSide::Ask, "11657.08", "1.714"));
        assert_eq!(evs[2].payload, level(BookSide::Bid, "11657.07", "10.896"));
        assert_eq!(evs[3].payload, level(BookSide::Ask, "11657.54", "5.4"));
        assert_eq!((evs[0].ts_event, evs[0].ts_recv), (us(1_598_918_403_696_000), us(1_598_918_403_810_979)));
        let last = &evs[9 * 52..];
        assert_eq!(last[2].payload, level(BookSide::Bid, "11657.07", "10.881"));
        assert_eq!(last[51].payload, Payload::SnapshotEnd);
        assert_eq!(last[51].ts_recv, us(1_598_918_404_009_468));
        check_invariants(&evs);
        for book in evs.chunks(52) {
            assert_eq!((book[0].payload, book[51].payload), (Payload::SnapshotBegin, Payload::SnapshotEnd));
            let side = |s: BookSide| -> Vec<Price> {
                book.iter()
                    .filter_map(|e| match e.payload {
                        Payload::Level(l) if l.side == s => Some(l.price),
                        _ => None,
                    })
                    .collect()
            };
            let (bids, asks) = (side(BookSide::Bid), side(BookSide::Ask));
            assert_eq!((bids.len(), asks.len()), (25, 25));
            assert!(bids.windows(2).all(|w| w[0] > w[1]) && asks.windows(2).all(|w| w[0] < w[1]));
            assert!(bids[0] < asks[0], "best bid below best ask");
        }
    }

    #[test]
    fn detection_from_name_and_first_bytes() {
        for (file, format) in [
            (TRADES_GZ, Format::TardisTrades),
            (BITMEX, Format::TardisTrades),
            (QUOTES, Format::TardisQuotes),
            (L2, Format::TardisL2),
            (SNAP, Format::TardisSnapshot),
        ] {
            let path = data(file);
            let bytes = head(&path, 4096).unwrap();
            assert_eq!(crate::convert::detect(&path, &bytes), Some(format), "{file}");
            // Content alone (renamed), and name alone (no content).
            assert_eq!(crate::convert::detect(Path::new("renamed.bin"), &bytes), Some(format), "{file}");
            let name = path.file_name().unwrap().to_str().unwrap().to_ascii_lowercase();
            assert_eq!(detect(&name, b""), Some(format), "{file}");
        }
        let liq = b"exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
        assert_eq!(detect("bitmex_liquidations_2020-03-01_xbtusd.csv", liq), None);
        assert_eq!(detect("x.csv", liq), Some(Format::TardisTrades));
        let ticker = b"exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate\n";
        assert_eq!(detect("deribit_derivative_ticker_2020-04-01_btc-perpetual.csv", ticker), None);
        assert_eq!(detect("btcusdt-trades-2020-01-01.csv", b""), None, "Binance's names are not ours");
        assert_eq!(
            detect("x_trades_2020-01-01_y.csv", b"1,2,3\n"),
            None,
            "content that is not Tardis's wins"
        );
    }

    #[test]
    fn damaged_rows_name_file_and_line() {
        let header = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
        let good = "bitmex,XBTUSD,1583020803145000,1583020803307160,x,sell,8531.5,2152\n";
        let cases: &[(&str, &str)] = &[
            (
                "bitmex,XBTUSD,1583020803145000,1583020803307161,x,sell,85x1.5,1\n",
                "column 7 (price): bad number \"85x1.5\"",
            ),
            (
                "bitmex,XBTUSD,1583020803145000,1583020803307161,x,sell,NaN,1\n",
                "column 7 (price): bad number \"NaN\"",
            ),
            (
                "bitmex,XBTUSD,1583020803145000,1583020803307161,x,sell,8531.5,nan\n",
                "column 8 (amount): bad number \"nan\"",
            ),
            (
                "bitmex,XBTUSD,1583020803145000,1583020803307161,x,sell,8531.5\n",
                "7 columns, the header has 8",
            ),
            (
                "bitmex,XBTUSD,1583020803145000,1583020803307161,x,sell,8531.5,1,1\n",
                "9 columns, the header has 8",
            ),
            (
                "bitmex,XBTUSD,1583020803145000,1583020803307159,x,sell,8531.5,1\n",
                "time goes backwards: local_timestamp",
            ),
            (
                "bitmex,XBTUSD,1583020803145000,1583020803307161,x,sell,8531.5,-1\n",
                "column 8 (amount): negative size -1",
            ),
            (
                "bitmex,XBTUSD,1583020803145000,1583020803307161,x,bid,8531.5,1\n",
                "column 6 (side): \"bid\" is not buy",
            ),
            (
                "bitmex,XBTUSD,2020-03-01,1583020803307161,x,sell,8531.5,1\n",
                "column 3 (timestamp): bad timestamp",
            ),
            (
                "bitmex,XBTUSD,1583020803145000,99999999999999999999,x,sell,8531.5,1\n",
                "column 4 (local_timestamp): bad timestamp",
            ),
            ("bitmex,XBTUSD,1583020803145000,1583020803307161,x,sell,1.0000000001,1\n", "10 decimal places"),
            ("bitmex,,1583020803145000,1583020803307161,x,sell,8531.5,1\n", "column 2 (symbol)"),
        ];
        for (bad, message) in cases {
            let body = format!("{header}{good}{bad}{good}");
            // A time-goes-backwards row is skipped; the good row after it is fine again.
            expect_row_error(Format::TardisTrades, "t.csv", body.as_bytes(), 3, message, 2);
            // The same inside a gzip.
            expect_row_error(Format::TardisTrades, "t.csv.gz", &gzip(body.as_bytes()), 3, message, 2);
        }
        // Not UTF-8.
        let mut body = format!("{header}{good}").into_bytes();
        body.extend_from_slice(b"bitmex,XBT\xff,1,1,x,sell,1,1\n");
        expect_row_error(Format::TardisTrades, "t.csv", &body, 3, "not valid UTF-8", 1);
    }

    #[test]
    fn truncated_and_corrupt_gzip() {
        let whole = std::fs::read(data(TRADES_GZ)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cut = write(dir.path(), "cut.csv.gz", &whole[..whole.len() / 2]);
        let (got, _d) =
            try_convert(Some(Format::TardisTrades), std::slice::from_ref(&cut), ConvertOptions::default());
        let Err(ConvertError::Row(e)) = got else { panic!("want a row error: {got:?}") };
        assert!(e.reason.contains("gzip stream is truncated or corrupt"), "{e}");
        assert_eq!(e.file, cut);
        let skip = ConvertOptions { skip_malformed: true, ..ConvertOptions::default() };
        let (s, evs, _d) =
            convert_files(Some(Format::TardisTrades), std::slice::from_ref(&cut), skip.clone());
        assert_eq!(s.skipped, 1);
        assert_eq!(s.rows_in, s.records_out + 1);
        assert!(s.records_out > 1000, "the rows before the cut are kept: {s:?}");
        assert_eq!(e.line, s.records_out + 2, "the line being read when the stream broke");
        assert_eq!(evs.last().unwrap().payload, {
            let Payload::Trade(t) = evs.last().unwrap().payload else { panic!() };
            assert_eq!(t.trade_id, 42_377_944 + s.records_out - 1);
            Payload::Trade(t)
        });
        // Cut exactly after a whole number of lines (the gzip trailer missing): still refused.
        let text =
            b"exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbitmex,X,1,1,x,buy,1,1\n";
        let gz = gzip(text);
        let e = expect_row_error(Format::TardisTrades, "t.csv.gz", &gz[..gz.len() - 8], 3, "truncated", 1);
        assert_eq!(e.records_out, 1);
        // A flipped byte in the middle of the deflate stream or the CRC.
        let mut bad = whole.clone();
        let mid = bad.len() / 3;
        bad[mid] ^= 0xff;
        let path = write(dir.path(), "flip.csv.gz", &bad);
        // Deflate has no check of its own before the trailer's CRC: the damage shows first as
        // garbled rows, then as the stream's own error. Strict mode stops at the first.
        let (got, _d) =
            try_convert(Some(Format::TardisTrades), std::slice::from_ref(&path), ConvertOptions::default());
        assert!(matches!(&got, Err(ConvertError::Row(e)) if e.line > 2), "{got:?}");
        let (s, _, _d) = convert_files(Some(Format::TardisTrades), &[path], skip);
        assert!(s.skipped >= 1 && s.rows_in == s.records_out + s.skipped, "{s:?}");
        assert!(s.records_out < 5000);
        let mut crc = gz.clone();
        let n = crc.len();
        crc[n - 6] ^= 1;
        expect_row_error(Format::TardisTrades, "t.csv.gz", &crc, 3, "gzip", 1);
    }

    #[test]
    fn header_problems_are_file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let quotes = write(dir.path(), "q.csv", std::fs::read(data(QUOTES)).unwrap().as_slice());
        let (got, _d) = try_convert(Some(Format::TardisTrades), &[quotes], ConvertOptions::default());
        let Err(ConvertError::Format { reason, .. }) = got else { panic!("{got:?}") };
        assert!(reason.contains("lacks id, side, price, amount for tardis-trades"), "{reason}");
        let empty = write(dir.path(), "e.csv", b"");
        let (got, _d) = try_convert(Some(Format::TardisL2), &[empty], ConvertOptions::default());
        assert!(matches!(got, Err(ConvertError::Format { ref reason, .. }) if reason.contains("empty file")));
        let half = write(
            dir.path(),
            "s.csv",
            b"exchange,symbol,timestamp,local_timestamp,asks[0].price,bids[0].price\n",
        );
        let (got, _d) = try_convert(Some(Format::TardisSnapshot), &[half], ConvertOptions::default());
        assert!(
            matches!(got, Err(ConvertError::Format { ref reason, .. }) if reason.contains("asks[0].amount"))
        );
    }

    const L2_HEADER: &str = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n";

    #[test]
    fn l2_snapshot_after_deltas_resets_the_book() {
        let body = format!(
            "{L2_HEADER}\
             x,A,1,10,true,bid,100,5\n\
             x,A,1,10,true,ask,101,5\n\
             x,A,2,20,false,bid,100,0\n\
             x,A,3,30,false,ask,101.5,2\n\
             x,A,4,40,true,bid,99,1\n\
             x,A,4,40,true,ask,100,1\n\
             x,A,5,50,false,ask,100,0\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "l2.csv", body.as_bytes());
        let (s, evs, _d) = convert_files(Some(Format::TardisL2), &[path], ConvertOptions::default());
        let seq: Vec<(i64, Payload)> = evs.iter().map(|e| (e.ts_recv.nanos() / 1000, e.payload)).collect();
        use BookSide::{Ask, Bid};
        assert_eq!(
            seq,
            [
                (10, Payload::BookClear),
                (10, Payload::SnapshotBegin),
                (10, level(Bid, "100", "5")),
                (10, level(Ask, "101", "5")),
                (10, Payload::SnapshotEnd),
                (20, level(Bid, "100", "0")),
                (30, level(Ask, "101.5", "2")),
                (40, Payload::BookClear),
                (40, Payload::SnapshotBegin),
                (40, level(Bid, "99", "1")),
                (40, level(Ask, "100", "1")),
                (40, Payload::SnapshotEnd),
                (50, level(Ask, "100", "0")),
            ]
        );
        assert_eq!(evs[4].ts_event.nanos(), 1000, "the end marker carries the run's exchange time");
        assert_eq!((s.rows_in, s.records_out), (7, 13));
    }

    #[test]
    fn l2_runs_are_per_instrument_and_venues_per_exchange() {
        // Two exchanges with one symbol: two venues, two instruments; interleaved snapshot runs.
        let body = format!(
            "{L2_HEADER}\
             ex1,S,1,10,true,bid,1,1\n\
             ex2,S,1,11,true,bid,2,1\n\
             ex1,S,2,12,false,bid,1,2\n\
             ex2,S,2,13,true,ask,3,1\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "l2.csv", body.as_bytes());
        let (s, evs, _d) = convert_files(Some(Format::TardisL2), &[path], ConvertOptions::default());
        let venues: Vec<_> = s.instruments.iter().map(|(i, _)| (i.symbol().to_owned(), i.venue())).collect();
        assert_eq!(venues, [("S".to_owned(), VenueId(0)), ("S".to_owned(), VenueId(1))]);
        let seq: Vec<(u16, i64, Payload)> =
            evs.iter().map(|e| (e.instrument.0, e.ts_recv.nanos() / 1000, e.payload)).collect();
        assert_eq!(
            seq,
            [
                (0, 10, Payload::BookClear),
                (0, 10, Payload::SnapshotBegin),
                (0, 10, level(BookSide::Bid, "1", "1")),
                (1, 11, Payload::BookClear),
                (1, 11, Payload::SnapshotBegin),
                (1, 11, level(BookSide::Bid, "2", "1")),
                // ex1's run ends at its next delta, stamped with the last ts_recv written (11).
                (0, 11, Payload::SnapshotEnd),
                (0, 12, level(BookSide::Bid, "1", "2")),
                (1, 13, level(BookSide::Ask, "3", "1")),
                // ex2's run is still open at the end of the file.
                (1, 13, Payload::SnapshotEnd),
            ]
        );
        check_invariants(&evs);
    }

    #[test]
    fn l2_damage() {
        let good = "x,A,1,10,true,bid,100,5\n";
        for (bad, message) in [
            ("x,A,1,11,maybe,bid,100,5\n", "column 5 (is_snapshot): \"maybe\" is not true or false"),
            ("x,A,1,11,false,buy,100,5\n", "column 6 (side): \"buy\" is not bid or ask"),
            ("x,A,1,11,false,bid,100,-5\n", "negative size"),
            ("x,A,1,9,false,bid,100,5\n", "time goes backwards"),
        ] {
            let body = format!("{L2_HEADER}{good}{bad}");
            let s = expect_row_error(Format::TardisL2, "l2.csv", body.as_bytes(), 3, message, 1);
            assert_eq!(s.records_out, 4, "clear, begin, level, end");
        }
    }

    #[test]
    fn quotes_with_an_empty_side_and_snapshots_with_short_books() {
        let body = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n\
                    x,A,1,1,,,99,2\n\
                    x,A,2,2,3,101,,\n\
                    x,A,3,3,3,,99,2\n";
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "q.csv", body.as_bytes());
        let skip = ConvertOptions { skip_malformed: true, ..ConvertOptions::default() };
        let (s, evs, _d) = convert_files(Some(Format::TardisQuotes), &[path], skip);
        let quote = |bid: &str, bs: &str, ask: &str, a: &str| {
            Payload::Quote(Quote { bid: p(bid), bid_size: q(bs), ask: p(ask), ask_size: q(a) })
        };
        assert_eq!(evs[0].payload, quote("99", "2", "0", "0"));
        assert_eq!(evs[1].payload, quote("0", "0", "101", "3"));
        assert_eq!((s.skipped, s.examples[0].line), (1, 4), "a side with a size but no price is damage");
        assert!(
            s.examples[0].reason.contains("column 6 (ask_price): bad number \"\""),
            "{:?}",
            s.examples[0]
        );

        let body = "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,bids[1].amount\n\
                    x,A,1,1,101,1,100,1,102,2,,\n";
        let path = write(dir.path(), "s.csv", body.as_bytes());
        let (_, evs, _d) = convert_files(Some(Format::TardisSnapshot), &[path], ConvertOptions::default());
        let kinds: Vec<_> = kinds_of(&evs).into_iter().collect();
        assert_eq!(kinds, [("begin", 1), ("end", 1), ("level", 3)]);
        let half = format!("{}x,A,2,2,101,1,100,1,102,2,99,\n", body);
        expect_row_error(
            Format::TardisSnapshot,
            "s.csv",
            half.as_bytes(),
            3,
            "column 12 (bids[1].amount): bad number",
            1,
        );
    }

    #[test]
    fn time_must_not_go_back_across_files() {
        // Each file is in order; the second starts before the first ends: the collector refuses it.
        let (got, _d) = try_convert(
            Some(Format::TardisTrades),
            &[data(BITMEX), data(TRADES_GZ)],
            ConvertOptions::default(),
        );
        let Err(ConvertError::Row(e)) = got else { panic!("{got:?}") };
        assert!(e.reason.contains("time goes backwards"), "{e}");
        assert_eq!((e.file, e.line), (data(TRADES_GZ), 2));
        // In time order they make one file with two instruments.
        let (s, evs, _d) = convert_files(None, &[data(TRADES_GZ), data(BITMEX)], ConvertOptions::default());
        assert_eq!((s.records_out, s.instruments.len()), (5010, 2));
        check_invariants(&evs);
    }
}
