//! The tick engine's account: cash, positions, fees, realised pnl and turnover, exact.
//!
//! # The model: a cash account
//! A buy pays `qty × price` plus commission, a sell receives `qty × price` minus commission, and
//! shorts are allowed (the sale's proceeds are cash; the short position is a liability marked at
//! the market). Equity is `cash + Σ size × mark`. Cash and turnover are kept as [`Notional`]
//! (10^-18 units), so a fill's `qty × price` is booked without rounding; commission comes from the
//! run's [`CommissionScheme`], rounded once per fill as the scheme does.
//!
//! A fill that would leave cash below zero is refused by the venue (the order ends in `Margin`):
//! a cash account cannot borrow. Futures-like schemes (margin, multipliers) are not modelled here;
//! [`super::EngineConfig`] refuses them (the bar broker has them, with backtrader's semantics).
//!
//! Two ledgers exist per run: the venue's, booked when a fill happens, which decides `Margin`; and
//! the engine's, booked when the fill report arrives (after the response latency), which is what
//! the strategy sees. Both book the same fills in the same order, so once every report is
//! delivered they are equal; the tests check it.

use kestrel_types::{ArithError, InstrumentId, Money, Notional, Price, Qty, Rounding, Timestamp};

use crate::order::Side;
use crate::position::Position;
use crate::scheme::CommissionScheme;

/// The money of one fill, as booked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillMoney {
    /// Commission charged.
    pub commission: Money,
    /// Pnl realised by the part that reduced or closed the position (before commission).
    pub realized: Money,
    /// The position's signed size after the fill.
    pub position: Qty,
}

/// Cash, positions and the run's totals (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    cash: Notional,
    start_cash: Money,
    positions: Vec<Position>,
    fees: Money,
    realized: Money,
    turnover: Notional,
}

impl Ledger {
    /// A ledger holding `cash` and flat positions in `instruments` instruments.
    pub(crate) fn new(cash: Money, instruments: usize) -> Result<Self, ArithError> {
        Ok(Self {
            cash: cash.to_notional()?,
            start_cash: cash,
            positions: vec![Position::default(); instruments],
            fees: Money::ZERO,
            realized: Money::ZERO,
            turnover: Notional::ZERO,
        })
    }

    /// Cash, rounded half-even to money's nano units.
    pub fn cash(&self) -> Money {
        self.cash.to_money(Rounding::HalfEven)
    }

    /// Cash, exactly.
    pub fn cash_exact(&self) -> Notional {
        self.cash
    }

    /// The cash the run started with.
    pub fn start_cash(&self) -> Money {
        self.start_cash
    }

    /// The position in an instrument (flat for one outside the table).
    pub fn position(&self, instrument: InstrumentId) -> Position {
        self.positions.get(instrument.index()).copied().unwrap_or_default()
    }

    /// Every instrument's position, indexed by instrument.
    pub fn positions(&self) -> &[Position] {
        &self.positions
    }

    /// Commission paid so far.
    pub fn fees(&self) -> Money {
        self.fees
    }

    /// Pnl realised so far, before commission.
    pub fn realized(&self) -> Money {
        self.realized
    }

    /// `Σ qty × price` of every fill, rounded half-even.
    pub fn turnover(&self) -> Money {
        self.turnover.to_money(Rounding::HalfEven)
    }

    /// Cash after a fill paying `commission`, without booking it.
    ///
    /// # Errors
    /// [`ArithError`] out of range.
    pub(crate) fn cash_after(
        &self,
        commission: Money,
        side: Side,
        qty: Qty,
        price: Price,
    ) -> Result<Notional, ArithError> {
        let commission = commission.to_notional()?;
        let flow = qty.notional(price);
        let cash = match side {
            Side::Buy => self.cash.try_sub(flow)?,
            Side::Sell => self.cash.try_add(flow)?,
        };
        cash.try_sub(commission)
    }

    /// Books a fill of `qty` (positive) at `price`, with the scheme's commission, or `fee` when
    /// the venue reported what it charged (a live venue's fee is the truth).
    ///
    /// # Errors
    /// [`ArithError`] out of range; the ledger is then unchanged.
    #[expect(clippy::too_many_arguments, reason = "the fields of one fill")]
    pub(crate) fn book(
        &mut self,
        scheme: &CommissionScheme,
        instrument: InstrumentId,
        side: Side,
        qty: Qty,
        price: Price,
        at: Timestamp,
        fee: Option<Money>,
    ) -> Result<FillMoney, ArithError> {
        let overflow = ArithError::Overflow { op: "Ledger::book" };
        let i = instrument.index();
        let mut position = *self.positions.get(i).ok_or(overflow)?;
        let signed = match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        let commission = match fee {
            Some(fee) => fee,
            None => scheme.commission(qty, price)?,
        };
        let flow = qty.notional(price);
        let cash = match side {
            Side::Buy => self.cash.try_sub(flow)?,
            Side::Sell => self.cash.try_add(flow)?,
        }
        .try_sub(commission.to_notional()?)?;
        let update = position.update(signed, price, at)?;
        let realized = scheme.closed_pnl(&update, price)?;
        let fees = self.fees.try_add(commission)?;
        let total_realized = self.realized.try_add(realized)?;
        let turnover = self.turnover.try_add(qty.notional(price))?;
        // Everything computed: commit at once, so an error above leaves the ledger as it was.
        self.cash = cash;
        self.positions[i] = position;
        self.fees = fees;
        self.realized = total_realized;
        self.turnover = turnover;
        Ok(FillMoney { commission, realized, position: position.size() })
    }

    /// `cash + Σ size × mark`, with each instrument marked by `mark(instrument)`; an instrument
    /// with a position and no mark is valued at its cost basis.
    ///
    /// # Errors
    /// [`ArithError`] out of range.
    pub fn equity(&self, mut mark: impl FnMut(InstrumentId) -> Option<Price>) -> Result<Money, ArithError> {
        let mut total = self.cash;
        for (i, position) in self.positions.iter().enumerate() {
            if position.size().is_zero() {
                continue;
            }
            let ins = InstrumentId(u16::try_from(i).unwrap_or(u16::MAX));
            let value = match mark(ins) {
                Some(price) => position.size().notional(price),
                None => position.cost_basis(),
            };
            total = total.try_add(value)?;
        }
        Ok(total.to_money(Rounding::HalfEven))
    }
}
