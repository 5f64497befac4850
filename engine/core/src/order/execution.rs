//! Executions: one fill's bits, and an order's cumulative execution state.
//!
//! backtrader keeps both on the order (`OrderExecutionBit`, `OrderData`); so does Kestrel, with two
//! changes: every fill carries the venue's [`ExecId`] (duplicates are recognised by it), and the
//! cumulative average price is derived from an exact [`Notional`] instead of a running float average.

use kestrel_types::{ArithError, ExecId, Money, Notional, Price, Qty, Rounding, Timestamp};

/// One execution of an order: what a broker or venue reports for a fill.
///
/// Sizes carry the execution's sign (negative for sells), as in backtrader. `closed` is the part
/// that reduced the existing position, `opened` the part that opened or grew one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// The venue's id for this execution (the simulator makes its own).
    pub exec_id: ExecId,
    /// When it executed.
    pub at: Timestamp,
    /// Signed executed size.
    pub size: Qty,
    /// Execution price.
    pub price: Price,
    /// Signed size that closed position.
    pub closed: Qty,
    /// Value of the closed part (at the position's price).
    pub closed_value: Money,
    /// Commission of the closed part (plus booked interest, when the broker does so).
    pub closed_comm: Money,
    /// Signed size that opened position.
    pub opened: Qty,
    /// Value of the opened part (at the execution price).
    pub opened_value: Money,
    /// Commission of the opened part.
    pub opened_comm: Money,
    /// Realised profit and loss of the closed part.
    pub pnl: Money,
    /// Position size right after this fill.
    pub psize: Qty,
    /// Position average price right after this fill.
    pub pprice: Price,
}

impl Fill {
    /// A fill where only size and price are known (a venue report before position accounting):
    /// everything else zero.
    pub fn bare(exec_id: ExecId, at: Timestamp, size: Qty, price: Price) -> Self {
        Self {
            exec_id,
            at,
            size,
            price,
            closed: Qty::ZERO,
            closed_value: Money::ZERO,
            closed_comm: Money::ZERO,
            opened: Qty::ZERO,
            opened_value: Money::ZERO,
            opened_comm: Money::ZERO,
            pnl: Money::ZERO,
            psize: Qty::ZERO,
            pprice: Price::ZERO,
        }
    }

    /// Value of the whole fill: closed plus opened (backtrader's `exbit.value`).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    pub fn value(&self) -> Result<Money, ArithError> {
        self.closed_value.try_add(self.opened_value)
    }

    /// Commission of the whole fill (backtrader's `exbit.comm`).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    pub fn comm(&self) -> Result<Money, ArithError> {
        self.closed_comm.try_add(self.opened_comm)
    }
}

/// An order's cumulative execution state (backtrader's `order.executed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Executed {
    /// Signed size executed so far.
    pub size: Qty,
    /// Exact Σ size × price of the fills: the average price is derived from it.
    pub cost: Notional,
    /// Σ fill values.
    pub value: Money,
    /// Σ fill commissions.
    pub comm: Money,
    /// Σ realised pnl.
    pub pnl: Money,
    /// Signed size still to execute.
    pub remaining: Qty,
    /// Position size after the latest fill.
    pub psize: Qty,
    /// Position price after the latest fill.
    pub pprice: Price,
    /// Time of the latest fill, or of the final status change.
    pub at: Option<Timestamp>,
    /// How many fills were applied.
    pub fills: u32,
}

impl Executed {
    /// The state of an order of signed `size` before any fill.
    pub fn new(size: Qty) -> Self {
        Self { remaining: size, ..Self::default() }
    }

    /// Size-weighted average execution price, rounded once (half-even); zero before any fill.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] only for an average outside the price range.
    pub fn price(&self) -> Result<Price, ArithError> {
        if self.size.is_zero() {
            Ok(Price::ZERO)
        } else {
            self.cost.average_price(self.size, Rounding::HalfEven)
        }
    }

    /// Adds one fill (backtrader's `OrderData.addbit`), checking every sum before changing anything.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] if any running sum leaves its range; the state is then unchanged.
    pub(crate) fn add(&mut self, fill: &Fill) -> Result<(), ArithError> {
        let next = Self {
            size: self.size.try_add(fill.size)?,
            cost: self.cost.try_add(fill.size.notional(fill.price))?,
            value: self.value.try_add(fill.value()?)?,
            comm: self.comm.try_add(fill.comm()?)?,
            pnl: self.pnl.try_add(fill.pnl)?,
            remaining: self.remaining.try_sub(fill.size)?,
            psize: fill.psize,
            pprice: fill.pprice,
            at: Some(fill.at),
            fills: self.fills.saturating_add(1),
        };
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(id: &str, size: &str, price: &str) -> Fill {
        Fill::bare(
            ExecId::try_new(id).unwrap(),
            Timestamp::EPOCH,
            size.parse().unwrap(),
            price.parse().unwrap(),
        )
    }

    #[test]
    fn cumulative_average_is_exact() {
        let mut e = Executed::new("-13000".parse().unwrap());
        for (i, (q, p)) in
            [("-3000", "10.01"), ("-4000", "10.02"), ("-6000", "10.035")].into_iter().enumerate()
        {
            e.add(&fill(&format!("x{i}"), q, p)).unwrap();
        }
        assert_eq!(e.size.to_string(), "-13000");
        assert!(e.remaining.is_zero());
        assert_eq!(e.cost.to_string(), "-130320");
        assert_eq!(e.price().unwrap().to_string(), "10.024615385");
        assert_eq!(e.fills, 3);
    }

    #[test]
    fn overflow_leaves_the_state_unchanged() {
        let mut e = Executed::new(Qty::MAX);
        e.add(&fill("a", "1", "1")).unwrap();
        let before = e;
        let mut f = fill("b", "1", "1");
        f.pnl = Money::MAX;
        e.pnl = Money::from_raw(1);
        let with_pnl = e;
        assert!(e.add(&f).is_err());
        assert_eq!(e, with_pnl);
        assert_ne!(before, with_pnl);
    }
}
