//! `Bar`: one OHLCV period of one instrument, exact.

use crate::{Price, Qty, Timestamp};

/// One OHLCV bar, as bar files give it and as the bar-driven broker matches against it.
///
/// The instrument is implied by the feed that carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bar {
    /// When the bar is complete: its date and time for intraday bars, its date's session end
    /// (23:59:59.999989, as backtrader stamps daily bars) for daily bars.
    pub ts: Timestamp,
    /// First price of the period.
    pub open: Price,
    /// Highest price of the period (never below `low`).
    pub high: Price,
    /// Lowest price of the period.
    pub low: Price,
    /// Last price of the period.
    pub close: Price,
    /// Quantity traded (may have decimals: crypto, FX).
    pub volume: Qty,
    /// Open contracts at the end of the period (0 where the source has none).
    pub open_interest: Qty,
}
