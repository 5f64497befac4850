//! Yahoo Finance's daily CSV: `Date,Open,High,Low,Close,Adj Close,Volume`.
//!
//! Prices are used raw: `Adj Close` is neither applied nor read (the conformance oracle runs
//! backtrader with `adjclose=False, round=False`), and open interest is 0. A row with `null` in any
//! column after the date (a day Yahoo has no data for) is skipped and counted, as backtrader's
//! `feeds/yahoo.py` skips it; see the parent module for why.

use kestrel_types::{Qty, Timestamp};

use super::{Bar, Layout, Row, RowOutcome, header_is};

/// Yahoo's columns.
const COLUMNS: &[&str] = &["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"];

/// The accepted header, for [`super::BarError::BadHeader`].
pub(super) const EXPECTED: &str = "\"Date,Open,High,Low,Close,Adj Close,Volume\"";

/// The layout, if the header is Yahoo's.
pub(super) fn layout(header: &[&str]) -> Option<Layout> {
    header_is(header, COLUMNS).then_some(Layout { names: COLUMNS, intraday: false, parse })
}

fn parse(row: &Row<'_>) -> RowOutcome {
    if row.has_null() {
        return Ok(None);
    }
    let date = row.date(0)?;
    let bar = Bar {
        ts: Timestamp::EPOCH,
        open: row.price(1)?,
        high: row.price(2)?,
        low: row.price(3)?,
        close: row.price(4)?,
        // Column 5, Adj Close, is ignored: not even parsed, so an odd value there cannot refuse a file.
        volume: row.qty(6)?,
        open_interest: Qty::ZERO,
    };
    row.bar(date, 0, None, bar).map(Some)
}
