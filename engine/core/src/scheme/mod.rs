//! Commission, margin and credit-interest schemes: backtrader's `CommInfoBase` (comminfo.py).
//!
//! A scheme answers every money question the broker asks about one instrument: what an execution
//! costs in commission, how much cash opening a size takes (price or margin), what a position is
//! worth, its pnl, the daily cash adjustment of futures, and the credit interest on shorts (and, on
//! request, longs). The parameters are backtrader's, resolved by backtrader's legacy rules
//! ([`CommissionParams`] → [`CommissionScheme`]); every computation is exact and rounded once
//! ([`commission`]).
//!
//! [`compat`] is the one place with binary64 arithmetic: a copy of the few floors backtrader takes of
//! double quotients, which decide whole units of size (FORMAT.md §2.2).

pub mod commission;
pub mod compat;

pub use commission::CommissionScheme;
pub use compat::CompatError;

use kestrel_types::{ArithError, Price, Ratio};

/// How the `commission` parameter is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommType {
    /// A rate of the traded notional: `|size| × rate × price` (backtrader's `COMM_PERC`).
    Perc,
    /// An amount per unit traded: `|size| × amount` (backtrader's `COMM_FIXED`).
    Fixed,
}

/// The parameters of a scheme as the user gives them, before backtrader's resolution rules.
///
/// Public fields because this is configuration, validated once by [`CommissionScheme::try_new`].
/// There is deliberately no `Default`: backtrader has two sets of defaults that disagree on
/// `percabs` (see [`CommissionParams::comminfo_base`] and [`CommissionParams::setcommission`]), and
/// a silent choice between them would change every percentage commission by a factor of 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommissionParams {
    /// The rate (perc) or the amount per unit (fixed). Must not be negative.
    pub commission: Ratio,
    /// Contract multiplier applied to pnl and to `automargin < 0`. Must be positive.
    pub mult: Ratio,
    /// Money per contract required to hold a futures-like position. `None` and `Some(0)` both mean
    /// "no margin given" (backtrader tests the parameter for truth). Must not be negative.
    pub margin: Option<Price>,
    /// Perc or fixed; `None` selects backtrader's legacy rule (see [`CommissionScheme::try_new`]).
    pub commtype: Option<CommType>,
    /// Stock-like (pay the price) or futures-like (post margin); only read when `commtype` is given.
    pub stocklike: bool,
    /// Perc only: `true` reads `0.001` as 0.1%; `false` reads `0.1` as 0.1% (divided by 100).
    pub percabs: bool,
    /// Yearly credit interest rate (`0.05` = 5%). Must not be negative.
    pub interest: Ratio,
    /// Charge credit interest on long positions too (shorts are always charged).
    pub interest_long: bool,
    /// Leverage: opening a stock-like long takes `value ÷ leverage` of cash. Must be positive.
    pub leverage: Ratio,
    /// Margin policy: zero → the `margin` parameter; negative → `price × mult`; positive →
    /// `price × automargin` (backtrader's `False` is zero here).
    pub automargin: Ratio,
}

impl CommissionParams {
    /// backtrader's `CommInfoBase` defaults: commission 0, mult 1, no margin, legacy commtype,
    /// futures-like flag off, **percabs false** (a perc commission of `0.1` means 0.1%), no
    /// interest, leverage 1, automargin off.
    ///
    /// Use it for schemes built the way a backtrader user subclasses `CommInfoBase`.
    // backtrader: comminfo.py CommInfoBase.params
    pub const fn comminfo_base() -> Self {
        Self {
            commission: Ratio::ZERO,
            mult: Ratio::ONE,
            margin: None,
            commtype: None,
            stocklike: false,
            percabs: false,
            interest: Ratio::ZERO,
            interest_long: false,
            leverage: Ratio::ONE,
            automargin: Ratio::ZERO,
        }
    }

    /// backtrader's `broker.setcommission` defaults: the same as [`CommissionParams::comminfo_base`]
    /// except **percabs true** (a perc commission of `0.001` means 0.1%), which is also what the
    /// `CommissionInfo` subclass declares. The conformance format (FORMAT.md §1.3) uses these.
    // backtrader: broker.py BrokerBase.setcommission (percabs=True)
    pub const fn setcommission() -> Self {
        let mut p = Self::comminfo_base();
        p.percabs = true;
        p
    }
}

/// Why a scheme could not be built: each variant names the parameter refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    /// A parameter that must be strictly positive (`mult`, `leverage`) is zero or negative.
    #[error("commission scheme: {field} must be > 0, got {value}")]
    NotPositive {
        /// The parameter.
        field: &'static str,
        /// The value given.
        value: Ratio,
    },
    /// A rate that must not be negative (`commission`, `interest`) is negative: backtrader has no
    /// notion of rebates, and a negative rate would pay the trader for trading.
    #[error("commission scheme: {field} must be >= 0, got {value}")]
    Negative {
        /// The parameter.
        field: &'static str,
        /// The value given.
        value: Ratio,
    },
    /// A negative margin per contract.
    #[error("commission scheme: margin must be >= 0, got {value}")]
    NegativeMargin {
        /// The value given.
        value: Price,
    },
    /// Resolving the parameters overflowed (not reachable with in-range values).
    #[error("commission scheme: {0}")]
    Arith(#[from] ArithError),
}
