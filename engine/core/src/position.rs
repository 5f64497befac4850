//! `Position`: the size and exact cost basis of what is held in one instrument.
//!
//! backtrader keeps a position as a size and a float average price (position.py `Position.update`).
//! Kestrel keeps the same size but replaces the average by the exact cost basis `Σ size·price` of the
//! open part (a [`Notional`], 10^-18 units), so that pnl and value computed from it are exact:
//! multiplying a rounded average back by a large size moves money by micro-units (FORMAT.md §2.2).
//! The average price that backtrader reports is derived from the cost basis, rounded once.
//!
//! An update splits an execution of signed size `s` into the part that *closes* (reduces) the
//! existing position and the part that *opens* (starts or increases) it; both carry the sign of `s`,
//! as in backtrader. A reversal (long 10, sell 25) closes −10 and opens −15 in one update.
//!
//! # Invariants
//! * `size == 0` ⇔ `cost == 0`; otherwise `cost` has the sign of `size` for positive prices.
//! * `opened + closed == s` for every update.
//! * After an open or an increase the reported price is `cost / size` rounded half-even; a reduce
//!   leaves it unchanged (backtrader does not touch the price on a reduce); flat reports 0.
//!
//! # Limitations
//! The cost left after a partial reduce is `cost × new_size / old_size`, which is not always a
//! whole number of 10^-18 units (13000 units bought for 130320, sell 1: 130309.97538461538…). It is
//! then rounded half-even at 10^-18, the one rounding of this module; the amount is reported in
//! [`PositionUpdate::cost_rounding`] (at most half a 10^-18 unit, a billionth of a nano-unit per
//! reduce) so that a caller that must balance to the last unit can.

use kestrel_types::{ArithError, Exact, Notional, Price, Qty, Rounding, Timestamp};

/// What is held in one instrument: size, exact cost basis, reported average price, and the two
/// bookkeeping marks backtrader keeps on its position (`adjbase`, `datetime`).
///
/// `Copy` so that a pseudo-execution (backtrader's `pseudoupdate`, used by the submission check)
/// is a plain copy followed by [`Position::update`], or simply [`Position::preview`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    size: Qty,
    cost: Notional,
    price: Price,
    adjbase: Option<Price>,
    updated_at: Option<Timestamp>,
}

/// The outcome of applying one execution to a [`Position`]: backtrader's
/// `(size, price, opened, closed)` tuple plus what exact money needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionUpdate {
    /// Size after the update.
    pub size: Qty,
    /// Reported average price after the update (0 when flat).
    pub price: Price,
    /// Exact cost basis after the update.
    pub cost: Notional,
    /// The part of the execution that opened or increased the position (sign of the execution).
    pub opened: Qty,
    /// The part of the execution that reduced or closed the position (sign of the execution).
    pub closed: Qty,
    /// The cost basis of the closed part, `cost_before × closed ÷ size_before`, exactly (no
    /// rounding): `closed × average_before`. Its sign is the sign of `closed`. The closed pnl at an
    /// execution price `p` is `(closed_cost − closed·p) × mult`, exact.
    pub closed_cost: Exact,
    /// Stored cost after the update minus the exact remaining cost: non-zero only when a partial
    /// reduce left a cost that is not a whole number of 10^-18 units (see the module docs).
    pub cost_rounding: Exact,
    /// Size before the update.
    pub size_before: Qty,
    /// Reported average price before the update (backtrader's `price_orig`).
    pub price_before: Price,
    /// Exact cost basis before the update.
    pub cost_before: Notional,
}

impl Position {
    /// A flat position (what backtrader's broker creates on first use of a feed).
    pub const fn new() -> Self {
        Self { size: Qty::ZERO, cost: Notional::ZERO, price: Price::ZERO, adjbase: None, updated_at: None }
    }

    /// Signed size: positive long, negative short.
    pub const fn size(&self) -> Qty {
        self.size
    }

    /// Whether nothing is held (backtrader's `bool(position)` is the negation).
    pub const fn is_flat(&self) -> bool {
        self.size.is_zero()
    }

    /// The average entry price as backtrader reports it: `cost / size` rounded half-even when the
    /// position was opened or increased, unchanged by reduces, 0 when flat.
    ///
    /// For money, use [`Position::cost_basis`] instead: it is exact.
    pub const fn price(&self) -> Price {
        self.price
    }

    /// The exact cost basis `Σ size·price` of the open part (signed like the size).
    pub const fn cost_basis(&self) -> Notional {
        self.cost
    }

    /// The exact average price `cost / size`, or `None` when flat.
    ///
    /// # Errors
    /// Never in practice (a non-zero size); typed for the 256-bit arithmetic.
    pub fn average_exact(&self) -> Result<Option<Exact>, ArithError> {
        if self.size.is_zero() {
            return Ok(None);
        }
        Exact::notional(self.cost).try_div(Exact::qty(self.size)).map(Some)
    }

    /// The price futures-like positions were last marked to (backtrader's `pos.adjbase`): set to the
    /// execution price when units are opened and to the bar's close after each end-of-bar mark.
    /// `None` until the first open.
    pub const fn adjbase(&self) -> Option<Price> {
        self.adjbase
    }

    /// Records the price the position has been marked to (see [`Position::adjbase`]).
    pub fn set_adjbase(&mut self, price: Price) {
        self.adjbase = Some(price);
    }

    /// The instant of the last update or the last credit-interest charge (backtrader's
    /// `pos.datetime`): credit interest counts calendar days from it. `None` before the first update.
    pub const fn updated_at(&self) -> Option<Timestamp> {
        self.updated_at
    }

    /// Records that credit interest has been charged up to `at`, so the next charge counts days from
    /// there (backtrader sets `pos.datetime` after every interest computation, even a zero one).
    // backtrader: brokers/bbroker.py BackBroker.next (`pos.datetime = dt0`)
    pub fn mark_interest_charged(&mut self, at: Timestamp) {
        self.updated_at = Some(at);
    }

    /// What [`Position::update`] would return, without changing anything (backtrader's
    /// `pseudoupdate`: the broker computes pnl and cash from it before committing the fill).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] if the size or the cost basis leaves its range.
    pub fn preview(&self, size: Qty, price: Price) -> Result<PositionUpdate, ArithError> {
        let mut copy = *self;
        copy.apply(size, price)
    }

    /// Applies an execution of signed `size` at `price` at instant `at`, and says which part opened
    /// and which part closed.
    ///
    /// A zero size changes nothing but the instant (backtrader records the instant first).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] if the size or the cost basis leaves its range; the position is then
    /// left unchanged.
    pub fn update(&mut self, size: Qty, price: Price, at: Timestamp) -> Result<PositionUpdate, ArithError> {
        let mut next = *self;
        let up = next.apply(size, price)?;
        next.updated_at = Some(at);
        *self = next;
        Ok(up)
    }

    // backtrader: position.py Position.update
    fn apply(&mut self, size: Qty, price: Price) -> Result<PositionUpdate, ArithError> {
        let old = self.size;
        let cost_before = self.cost;
        let price_before = self.price;
        let new = old.try_add(size)?;
        let exec_cost = size.notional(price);
        let mut cost_rounding = Exact::ZERO;

        let (opened, closed, closed_cost) = if new.is_zero() {
            // Closed exactly: the whole cost basis leaves with the closed part.
            self.cost = Notional::ZERO;
            self.price = Price::ZERO;
            (Qty::ZERO, size, -Exact::notional(cost_before))
        } else if old.is_zero() {
            // Opened from flat.
            self.cost = exec_cost;
            self.price = price;
            (size, Qty::ZERO, Exact::ZERO)
        } else if old.signum() == size.signum() {
            // Increased on the same side: the average moves, computed from the exact cost.
            self.cost = cost_before.try_add(exec_cost)?;
            self.price = self.cost.average_price(new, Rounding::HalfEven)?;
            (size, Qty::ZERO, Exact::ZERO)
        } else if old.signum() == new.signum() {
            // Reduced: the closed part takes its share of the cost, the price stays.
            let share = Exact::notional(cost_before).try_mul(Exact::qty(size))?.try_div(Exact::qty(old))?;
            let remaining = Exact::notional(cost_before).try_add(share)?;
            self.cost = remaining.to_notional(Rounding::HalfEven)?;
            cost_rounding = Exact::notional(self.cost).try_sub(remaining)?;
            (Qty::ZERO, size, share)
        } else {
            // Reversed through zero: everything held closes, the rest opens at the execution price.
            self.cost = new.notional(price);
            self.price = price;
            (new, -old, -Exact::notional(cost_before))
        };
        self.size = new;

        Ok(PositionUpdate {
            size: new,
            price: self.price,
            cost: self.cost,
            opened,
            closed,
            closed_cost,
            cost_rounding,
            size_before: old,
            price_before,
            cost_before,
        })
    }
}

impl PositionUpdate {
    /// The closed part's gross pnl per unit of multiplier, exactly: `closed_cost − closed·price`
    /// (backtrader's `(−closed)·(price − price_orig)` with the exact average). Zero when nothing
    /// closed.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] past 256 bits (not reachable with in-range inputs).
    pub fn closed_pnl_unit(&self, price: Price) -> Result<Exact, ArithError> {
        self.closed_cost.try_sub(Exact::notional(self.closed.notional(price)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }
    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }
    fn n(s: &str) -> Notional {
        s.parse().unwrap()
    }
    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Value equality of two rationals, whatever fractions they are stored as.
    fn same(a: Exact, b: Exact) -> bool {
        a.cmp_exact(b).unwrap().is_eq()
    }

    fn money(e: Exact) -> String {
        e.to_money(Rounding::HalfEven).unwrap().to_string()
    }

    #[test]
    fn open_from_flat_takes_the_execution_price() {
        let mut pos = Position::new();
        let up = pos.update(q("10"), p("100.5"), t("2006-01-02")).unwrap();
        assert_eq!((up.size, up.price, up.opened, up.closed), (q("10"), p("100.5"), q("10"), Qty::ZERO));
        assert_eq!(pos.cost_basis(), n("1005"));
        assert_eq!(pos.updated_at(), Some(t("2006-01-02")));
        assert_eq!(up.price_before, Price::ZERO);
    }

    #[test]
    fn add_to_a_long_averages_from_the_exact_cost() {
        let mut pos = Position::new();
        pos.update(q("1"), p("10"), t("2006-01-02")).unwrap();
        let up = pos.update(q("2"), p("11"), t("2006-01-03")).unwrap();
        // (10 + 22) / 3 = 10.6666…: reported rounded half-even, kept exact in the cost.
        assert_eq!(up.price, p("10.666666667"));
        assert_eq!(up.cost, n("32"));
        assert_eq!((up.opened, up.closed), (q("2"), Qty::ZERO));
        assert_eq!(up.price_before, p("10"));
    }

    #[test]
    fn add_to_a_short() {
        let mut pos = Position::new();
        pos.update(q("-5"), p("20"), t("2006-01-02")).unwrap();
        let up = pos.update(q("-3"), p("24"), t("2006-01-03")).unwrap();
        assert_eq!((up.size, up.opened, up.closed), (q("-8"), q("-3"), Qty::ZERO));
        assert_eq!(up.cost, n("-172"));
        assert_eq!(up.price, p("21.5"));
    }

    #[test]
    fn partial_close_keeps_the_price_and_takes_an_exact_share_of_the_cost() {
        let mut pos = Position::new();
        for (s, px) in [("3000", "10.01"), ("4000", "10.02"), ("6000", "10.035")] {
            pos.update(q(s), p(px), t("2006-01-02")).unwrap();
        }
        let before = pos.price();
        let up = pos.update(q("-1"), p("11"), t("2006-01-03")).unwrap();
        assert_eq!((up.opened, up.closed), (Qty::ZERO, q("-1")));
        assert_eq!(up.price, before, "a reduce does not move the reported price");
        // closed_cost = 130320 × (−1) / 13000 = −10.0246153846153846153…, kept exact.
        let expect = Exact::int(-130_320).try_div(Exact::int(13_000)).unwrap();
        assert!(same(up.closed_cost, expect));
        // pnl per unit of multiplier: −10.02461538… + 11 = 0.975384615384…
        assert_eq!(money(up.closed_pnl_unit(p("11")).unwrap()), "0.975384615");
        // The remaining cost is 130309.975384615384615384615…: rounded at 10^-18, reported.
        assert_eq!(up.cost, n("130309.975384615384615385"));
        assert!(!up.cost_rounding.is_zero());
        let exact_remaining = Exact::notional(up.cost_before).try_add(up.closed_cost).unwrap();
        assert!(same(Exact::notional(up.cost).try_sub(exact_remaining).unwrap(), up.cost_rounding));
    }

    #[test]
    fn partial_close_of_a_short() {
        let mut pos = Position::new();
        pos.update(q("-10"), p("50"), t("2006-01-02")).unwrap();
        let up = pos.update(q("4"), p("45"), t("2006-01-03")).unwrap();
        assert_eq!((up.size, up.opened, up.closed), (q("-6"), Qty::ZERO, q("4")));
        assert!(same(up.closed_cost, Exact::notional(n("200"))));
        // (−4 shares bought back at 45 that were sold at 50) pnl = 200 − 180 = 20.
        assert_eq!(money(up.closed_pnl_unit(p("45")).unwrap()), "20");
        assert_eq!(up.cost, n("-300"));
        assert!(up.cost_rounding.is_zero());
    }

    #[test]
    fn close_exactly_returns_the_whole_cost_and_zeroes_the_price() {
        let mut pos = Position::new();
        pos.update(q("10"), p("3667.1"), t("2006-01-09")).unwrap();
        let up = pos.update(q("-10"), p("3684.38"), t("2006-01-30")).unwrap();
        assert_eq!((up.size, up.price, up.opened, up.closed), (Qty::ZERO, Price::ZERO, Qty::ZERO, q("-10")));
        assert!(same(up.closed_cost, -Exact::notional(n("36671"))));
        assert_eq!(money(up.closed_pnl_unit(p("3684.38")).unwrap()), "172.8");
        assert!(pos.is_flat());
        assert_eq!(pos.cost_basis(), Notional::ZERO);
        assert_eq!(up.price_before, p("3667.1"));
    }

    #[test]
    fn reversal_through_zero_splits_closed_and_opened() {
        // backtrader: long 10, sell 25 → short 15: closed −10, opened −15, price = execution price.
        let mut pos = Position::new();
        pos.update(q("10"), p("100"), t("2006-01-02")).unwrap();
        let up = pos.update(q("-25"), p("110"), t("2006-01-03")).unwrap();
        assert_eq!((up.size, up.opened, up.closed), (q("-15"), q("-15"), q("-10")));
        assert_eq!(up.price, p("110"));
        assert_eq!(up.cost, n("-1650"));
        assert!(same(up.closed_cost, Exact::notional(n("-1000"))));
        assert_eq!(money(up.closed_pnl_unit(p("110")).unwrap()), "100");
        // And back: short 15, buy 20 → long 5.
        let up = pos.update(q("20"), p("90"), t("2006-01-04")).unwrap();
        assert_eq!((up.size, up.opened, up.closed), (q("5"), q("5"), q("15")));
        assert_eq!(money(up.closed_pnl_unit(p("90")).unwrap()), "300");
    }

    #[test]
    fn preview_changes_nothing() {
        let mut pos = Position::new();
        pos.update(q("10"), p("100"), t("2006-01-02")).unwrap();
        let before = pos;
        let up = pos.preview(q("-25"), p("110")).unwrap();
        assert_eq!(up.size, q("-15"));
        assert_eq!(pos, before);
    }

    #[test]
    fn zero_size_only_records_the_instant() {
        let mut pos = Position::new();
        pos.update(q("2"), p("5"), t("2006-01-02")).unwrap();
        let up = pos.update(Qty::ZERO, p("7"), t("2006-01-05")).unwrap();
        assert_eq!((up.opened, up.closed, up.size, up.price), (Qty::ZERO, Qty::ZERO, q("2"), p("5")));
        assert_eq!(pos.updated_at(), Some(t("2006-01-05")));
    }

    #[test]
    fn overflow_is_refused_and_leaves_the_position_alone() {
        let mut pos = Position::new();
        pos.update(Qty::MAX, p("1"), t("2006-01-02")).unwrap();
        let before = pos;
        assert!(pos.update(q("1"), p("1"), t("2006-01-03")).is_err());
        assert_eq!(pos, before);
    }

    #[test]
    fn marks_are_kept() {
        let mut pos = Position::new();
        assert_eq!(pos.adjbase(), None);
        pos.set_adjbase(p("12.5"));
        pos.mark_interest_charged(t("2006-02-01"));
        assert_eq!(pos.adjbase(), Some(p("12.5")));
        assert_eq!(pos.updated_at(), Some(t("2006-02-01")));
        assert_eq!(pos.average_exact().unwrap(), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Sizes: whole units or arbitrary nano-sizes, never zero, either side.
        fn size() -> impl Strategy<Value = Qty> {
            prop_oneof![
                (1i64..=30, any::<bool>())
                    .prop_map(|(u, neg)| Qty::from_raw(if neg { -u } else { u } * 1_000_000_000)),
                (1i64..=30_000_000_000, any::<bool>()).prop_map(|(r, neg)| Qty::from_raw(if neg {
                    -r
                } else {
                    r
                })),
            ]
        }

        /// Prices: four decimals or arbitrary nano-prices, positive.
        fn price() -> impl Strategy<Value = Price> {
            prop_oneof![
                (1i64..=10_000_000).prop_map(|r| Price::from_raw(r * 100_000)),
                (1i64..=1_000_000_000_000).prop_map(Price::from_raw),
            ]
        }

        proptest! {
            /// No quantity and no money lost: size is the sum of the executions, and realised pnl
            /// plus unrealised pnl at a final price equals the cash flows (−Σ s·p) plus the final
            /// liquidation value, exactly once each step's reported cost rounding is counted, and
            /// within one 10^-18 unit per reduce without it.
            #[test]
            fn no_size_or_money_lost(execs in prop::collection::vec((size(), price()), 1..40), last in price()) {
                let mut pos = Position::new();
                let mut total = Qty::ZERO;
                let mut flows = Notional::ZERO;
                let mut realised = Notional::ZERO;
                let mut realised_and_rounding = Notional::ZERO;
                let mut reduces = 0i128;
                for (i, (s, px)) in execs.iter().enumerate() {
                    let at = Timestamp::from_nanos(i64::try_from(i).unwrap());
                    let up = pos.update(*s, *px, at).unwrap();
                    total = total.try_add(*s).unwrap();
                    prop_assert_eq!(up.opened.try_add(up.closed).unwrap(), *s);
                    prop_assert_eq!(up.size, total);
                    prop_assert_eq!(pos.size(), total);
                    prop_assert_eq!(pos.cost_basis().is_zero(), total.is_zero());
                    flows = flows.try_sub(s.notional(*px)).unwrap();

                    let pnl = up.closed_pnl_unit(*px).unwrap();
                    realised = realised.try_add(pnl.to_notional(Rounding::HalfEven).unwrap()).unwrap();
                    // pnl + rounding is a whole number of 10^-18 units: Δcost − s·p.
                    let with_rounding = pnl.try_add(up.cost_rounding).unwrap();
                    let as_notional = with_rounding.to_notional(Rounding::HalfEven).unwrap();
                    prop_assert!(same(Exact::notional(as_notional), with_rounding));
                    realised_and_rounding = realised_and_rounding.try_add(as_notional).unwrap();
                    // The rounding is at most half a 10^-18 unit.
                    let half = Exact::notional(Notional::from_raw(1)).try_div(Exact::int(2)).unwrap();
                    prop_assert!(up.cost_rounding.abs().cmp_exact(half).unwrap().is_le());
                    if !up.cost_rounding.is_zero() || !up.closed.is_zero() {
                        reduces += 1;
                    }
                }
                let unrealised = total.notional(last).try_sub(pos.cost_basis()).unwrap();
                let liquidated = flows.try_add(total.notional(last)).unwrap();
                // Exact, rounding accounted.
                prop_assert_eq!(realised_and_rounding.try_add(unrealised).unwrap(), liquidated);
                // Without it: at most one 10^-18 unit per reduce (pnl rounding + cost rounding).
                let drift = realised.try_add(unrealised).unwrap().try_sub(liquidated).unwrap().raw().abs();
                prop_assert!(drift <= reduces, "drift {} over {} reduces", drift, reduces);
            }
        }
    }
}
