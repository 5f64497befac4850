//! backtrader's own CSV (`btcsv`): `Date,Open,High,Low,Close,Volume,OpenInterest`, with a `Time`
//! column after the date for intraday bars.
//!
//! backtrader decides daily or intraday per row by its field count (`feeds/btcsv.py`); here the
//! header decides once for the whole file, so a row of the other kind is a column-count error
//! instead of a bar at the wrong time.

use super::{Bar, BarError, Layout, Row, RowOutcome, header_is};

/// Daily columns.
const DAILY: &[&str] = &["Date", "Open", "High", "Low", "Close", "Volume", "OpenInterest"];
/// Intraday columns.
const INTRADAY: &[&str] = &["Date", "Time", "Open", "High", "Low", "Close", "Volume", "OpenInterest"];

/// The accepted headers, for [`BarError::BadHeader`].
pub(super) const EXPECTED: &str = "\"Date,Open,High,Low,Close,Volume,OpenInterest\" or \"Date,Time,Open,High,Low,Close,Volume,OpenInterest\"";

/// The layout a header announces, if it is one of the two.
pub(super) fn layout(header: &[&str]) -> Option<Layout> {
    if header_is(header, DAILY) {
        Some(Layout { names: DAILY, intraday: false, parse: daily })
    } else if header_is(header, INTRADAY) {
        Some(Layout { names: INTRADAY, intraday: true, parse: intraday })
    } else {
        None
    }
}

fn daily(row: &Row<'_>) -> RowOutcome {
    let date = row.date(0)?;
    let bar = prices(row, 1)?;
    row.bar(date, 0, None, bar).map(Some)
}

fn intraday(row: &Row<'_>) -> RowOutcome {
    let date = row.date(0)?;
    let time = row.time(1)?;
    let bar = prices(row, 2)?;
    row.bar(date, 0, Some(time), bar).map(Some)
}

/// Open, high, low, close, volume, open interest from column `first` on; the timestamp is set by
/// [`Row::bar`].
fn prices(row: &Row<'_>, first: usize) -> Result<Bar, BarError> {
    Ok(Bar {
        ts: kestrel_types::Timestamp::EPOCH,
        open: row.price(first)?,
        high: row.price(first + 1)?,
        low: row.price(first + 2)?,
        close: row.price(first + 3)?,
        volume: row.qty(first + 4)?,
        open_interest: row.qty(first + 5)?,
    })
}
