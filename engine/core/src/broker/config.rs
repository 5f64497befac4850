//! The simulated broker's parameters: backtrader's `BackBroker` params, exact.

use kestrel_types::{Money, Price, Qty, Ratio};

/// Slippage applied to fills (backtrader's `slip_*` params).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slippage {
    /// Relative slippage (0.01 = 1%); wins over `fixed` when both are non-zero.
    pub perc: Ratio,
    /// Absolute slippage in price units.
    pub fixed: Price,
    /// Also slip fills that happen at the bar's open.
    pub open: bool,
    /// When the slipped price leaves the bar, fill at the bar's high/low instead of not filling.
    pub matched: bool,
    /// For limit-type fills, cap to the bar/limit bound even when `matched` is false.
    pub limit: bool,
    /// When capping would apply, use the slipped price even outside the bar.
    pub out: bool,
}

impl Default for Slippage {
    /// backtrader's defaults: no slippage, `slip_match` and `slip_limit` on.
    fn default() -> Self {
        Self { perc: Ratio::ZERO, fixed: Price::ZERO, open: false, matched: true, limit: true, out: false }
    }
}

/// How much of an order one bar can fill (backtrader's `fillers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filler {
    /// `min(volume, |remaining|, size)`; `None` (or 0) is unlimited.
    FixedSize {
        /// Cap per bar.
        size: Option<Qty>,
    },
    /// `min((volume × perc) // 100, |remaining|)`.
    FixedBarPerc {
        /// Percent of the bar's volume (100 = all of it).
        perc: Ratio,
    },
    /// Volume spread over the bar's range in `minmov` steps, `perc` of one step's share.
    BarPointPerc {
        /// Price step; `None` treats the whole range as one part.
        minmov: Option<Price>,
        /// Percent of that share.
        perc: Ratio,
    },
}

/// The simulated broker's configuration. `Default` is backtrader's `BackBroker()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Starting cash.
    pub cash: Money,
    /// Check cash/margin when orders are submitted (`Submitted` → `Accepted` or `Margin`).
    pub checksubmit: bool,
    /// Cheat-on-close: market orders fill at the close of the bar they were issued on.
    pub coc: bool,
    /// Cheat-on-open: actions run before the broker step and market orders fill at that bar's open.
    pub coo: bool,
    /// Slippage.
    pub slippage: Slippage,
    /// A stock-like short credits its proceeds to cash (`false`: it debits cash like a purchase).
    pub shortcash: bool,
    /// Track fund shares and fund value.
    pub fundmode: bool,
    /// Initial fund share value.
    pub fundstartval: Money,
    /// Book credit interest into the commission of the next closing fill.
    pub int2pnl: bool,
    /// Volume filler; `None` fills the whole remaining size.
    pub filler: Option<Filler>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            cash: Money::from_raw(10_000 * 1_000_000_000),
            checksubmit: true,
            coc: false,
            coo: false,
            slippage: Slippage::default(),
            shortcash: true,
            fundmode: false,
            fundstartval: Money::from_raw(100 * 1_000_000_000),
            int2pnl: true,
            filler: None,
        }
    }
}
