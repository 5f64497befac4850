//! `CommissionScheme`: backtrader's `CommInfoBase` resolved, with exact, once-rounded money.
//!
//! Each computation builds its whole product as an [`Exact`] rational and rounds it once, half-even,
//! into [`Money`]. Rates are never stored divided: a `percabs = false` rate keeps its `/100` inside
//! the exact rate, and the yearly interest keeps its `/365` inside the interest expression
//! (FORMAT.md §2.2: a stored daily rate drifts out of the oracle's band within a year).
//!
//! Where backtrader multiplies a size by the position's average price, this module uses the
//! position's exact cost basis instead (`|size|·price` is `|cost|`), so value, pnl and interest of a
//! position bought at several prices are exact.
//!
//! # Limitations
//! `getsize` is the exception: it floors a binary64 quotient exactly as backtrader does, through
//! [`super::compat`], because a whole unit of difference changes every later number.

use kestrel_types::{ArithError, Exact, Money, Notional, Price, Qty, Ratio, Rounding, Timestamp};

use super::compat::{self, CompatError, UnitCost};
use super::{CommType, CommissionParams, SchemeError};
use crate::position::{Position, PositionUpdate};

const MODE: Rounding = Rounding::HalfEven;

/// A validated, resolved commission/margin/interest scheme for one instrument (or the default for
/// instruments without their own, as in backtrader's broker).
///
/// Built once from [`CommissionParams`]; immutable afterwards, so every fill of a run sees the same
/// rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommissionScheme {
    params: CommissionParams,
    commtype: CommType,
    stocklike: bool,
    margin: Price,
    rate: Exact,
}

impl CommissionScheme {
    /// Validates `params` and applies backtrader's resolution rules:
    /// * `commtype` `None` (the legacy `CommissionInfo` behaviour): a non-zero `margin` makes the
    ///   scheme futures-like with a **fixed** commission; otherwise it is stock-like with a **perc**
    ///   commission, and `stocklike` is ignored.
    /// * `commtype` given: the kind is `stocklike` as given.
    /// * A futures-like scheme without a margin gets a margin of 1 per contract.
    /// * Perc with `percabs = false`: the rate is `commission / 100`, kept exact.
    ///
    /// # Errors
    /// [`SchemeError`] naming the refused parameter: `mult` or `leverage` ≤ 0, `commission`,
    /// `interest` or `margin` < 0.
    // backtrader: comminfo.py CommInfoBase.__init__
    pub fn try_new(params: CommissionParams) -> Result<Self, SchemeError> {
        for (field, value) in [("mult", params.mult), ("leverage", params.leverage)] {
            if !value.is_positive() {
                return Err(SchemeError::NotPositive { field, value });
            }
        }
        for (field, value) in [("commission", params.commission), ("interest", params.interest)] {
            if value.is_negative() {
                return Err(SchemeError::Negative { field, value });
            }
        }
        if let Some(m) = params.margin.filter(|m| m.is_negative()) {
            return Err(SchemeError::NegativeMargin { value: m });
        }

        let given_margin = params.margin.filter(|m| !m.is_zero());
        let (stocklike, commtype) = match params.commtype {
            None if given_margin.is_some() => (false, CommType::Fixed),
            None => (true, CommType::Perc),
            Some(ct) => (params.stocklike, ct),
        };
        let margin = match given_margin {
            Some(m) => m,
            // Avoids a zero margin for futures-like schemes, as backtrader does.
            None if !stocklike => Price::ONE,
            None => Price::ZERO,
        };
        let mut rate = Exact::ratio(params.commission);
        if commtype == CommType::Perc && !params.percabs {
            rate = rate.try_div(Exact::int(100))?;
        }
        Ok(Self { params, commtype, stocklike, margin, rate })
    }

    /// The scheme a broker uses for instruments without one of their own: no commission,
    /// stock-like, percentage (backtrader's broker default `CommInfoBase(percabs=True)`).
    /// Infallible, unlike [`CommissionScheme::try_new`], because its parameters are known valid.
    // backtrader: broker.py BrokerBase.params (`commission`)
    pub fn broker_default() -> Self {
        Self {
            params: CommissionParams::setcommission(),
            commtype: CommType::Perc,
            stocklike: true,
            margin: Price::ZERO,
            rate: Exact::ratio(Ratio::ZERO),
        }
    }

    /// The parameters as given (before resolution).
    pub const fn params(&self) -> &CommissionParams {
        &self.params
    }

    /// Whether positions pay the price (stock-like) rather than post margin (futures-like).
    pub const fn is_stocklike(&self) -> bool {
        self.stocklike
    }

    /// The resolved commission type.
    pub const fn commtype(&self) -> CommType {
        self.commtype
    }

    /// The resolved margin parameter: the margin given, 1 for a futures-like scheme given none, 0
    /// for a stock-like scheme given none (backtrader's `comminfo.margin`, reported with each fill).
    pub const fn margin_param(&self) -> Price {
        self.margin
    }

    /// The contract multiplier.
    pub const fn mult(&self) -> Ratio {
        self.params.mult
    }

    /// The leverage (cash needed for a long is its value ÷ leverage).
    pub const fn leverage(&self) -> Ratio {
        self.params.leverage
    }

    /// The exact commission rate (perc) or amount per unit (fixed), with the `/100` of
    /// `percabs = false` applied.
    pub const fn rate(&self) -> Exact {
        self.rate
    }

    fn margin_at(&self, price: Exact) -> Result<Exact, ArithError> {
        // backtrader: comminfo.py CommInfoBase.get_margin
        let auto = self.params.automargin;
        if auto.is_zero() {
            Ok(Exact::price(self.margin))
        } else if auto.is_negative() {
            price.try_mul(Exact::ratio(self.params.mult))
        } else {
            price.try_mul(Exact::ratio(auto))
        }
    }

    /// The exact margin per unit at `price`: the margin parameter when `automargin` is off,
    /// `price × mult` when it is negative, `price × automargin` when it is positive.
    ///
    /// # Errors
    /// [`ArithError`] past 256 bits (not reachable with in-range values).
    pub fn margin_exact(&self, price: Price) -> Result<Exact, ArithError> {
        self.margin_at(Exact::price(price))
    }

    /// The margin per unit at `price` (see [`CommissionScheme::margin_exact`]), rounded once.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] if it is not a representable price.
    pub fn margin(&self, price: Price) -> Result<Price, ArithError> {
        self.margin_exact(price)?.to_price(MODE)
    }

    /// Cash an operation of `size` at `price` ties up: `|size| × price` (stock-like) or
    /// `|size| × margin(price)` (futures-like). Used for `shortcash = false` accounting.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    // backtrader: comminfo.py CommInfoBase.getoperationcost
    pub fn operation_cost(&self, size: Qty, price: Price) -> Result<Money, ArithError> {
        let unit = if self.stocklike { Exact::price(price) } else { self.margin_exact(price)? };
        Exact::qty(size.abs()).try_mul(unit)?.to_money(MODE)
    }

    /// Value of `size` at `price`: `size × price`, signed (stock-like), or `|size| × margin(price)`
    /// (futures-like, always positive).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    // backtrader: comminfo.py CommInfoBase.getvaluesize
    pub fn value_size(&self, size: Qty, price: Price) -> Result<Money, ArithError> {
        if self.stocklike {
            Ok(size.notional(price).to_money(MODE))
        } else {
            Exact::qty(size.abs()).try_mul(self.margin_exact(price)?)?.to_money(MODE)
        }
    }

    /// [`CommissionScheme::value_size`] of `size` at the exact average `cost / size`: what a trade
    /// reports as its value. Stock-like this is the cost itself; futures-like `|size| × margin(avg)`.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    pub fn value_at_cost(&self, size: Qty, cost: Notional) -> Result<Money, ArithError> {
        if size.is_zero() {
            return Ok(Money::ZERO);
        }
        if self.stocklike {
            return Ok(cost.to_money(MODE));
        }
        let avg = Exact::notional(cost).try_div(Exact::qty(size))?;
        Exact::qty(size.abs()).try_mul(self.margin_at(avg)?)?.to_money(MODE)
    }

    /// Value of a position at `price`. Futures-like: `|size| × margin(price)`. Stock-like long:
    /// `size × price`. Stock-like short: `avg·size + (avg − price)·size`, worth more as the price
    /// falls, computed exactly as `2·cost − size·price`. Used for `shortcash = false` valuation.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    // backtrader: comminfo.py CommInfoBase.getvalue
    pub fn position_value(&self, position: &Position, price: Price) -> Result<Money, ArithError> {
        let size = position.size();
        if !self.stocklike {
            return Exact::qty(size.abs()).try_mul(self.margin_exact(price)?)?.to_money(MODE);
        }
        if !size.is_negative() {
            return Ok(size.notional(price).to_money(MODE));
        }
        let cost = Exact::notional(position.cost_basis());
        cost.try_add(cost)?.try_sub(Exact::notional(size.notional(price)))?.to_money(MODE)
    }

    /// Commission of an execution of `size` at `price`: `|size| × rate × price` (perc) or
    /// `|size| × amount` (fixed).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    // backtrader: comminfo.py CommInfoBase._getcommission
    pub fn commission(&self, size: Qty, price: Price) -> Result<Money, ArithError> {
        let base = Exact::qty(size.abs()).try_mul(self.rate)?;
        match self.commtype {
            CommType::Perc => base.try_mul(Exact::price(price))?.to_money(MODE),
            CommType::Fixed => base.to_money(MODE),
        }
    }

    /// Profit and loss of `size` units moved from `price` to `new_price`:
    /// `size × (new_price − price) × mult`.
    ///
    /// Prefer [`CommissionScheme::closed_pnl`] and [`CommissionScheme::unrealized_pnl`] for
    /// positions: they use the exact cost basis instead of a rounded average.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    // backtrader: comminfo.py CommInfoBase.profitandloss
    pub fn profit_and_loss(&self, size: Qty, price: Price, new_price: Price) -> Result<Money, ArithError> {
        let diff = Exact::price(new_price).try_sub(Exact::price(price))?;
        Exact::qty(size).try_mul(diff)?.try_mul(Exact::ratio(self.params.mult))?.to_money(MODE)
    }

    /// The exact gross pnl of the part an update closed, executed at `price`:
    /// `(closed_cost − closed·price) × mult`, before any rounding.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] past 256 bits (not reachable with in-range values).
    // backtrader: brokers/bbroker.py BackBroker._execute (`profitandloss(-closed, pprice_orig, price)`)
    pub fn closed_pnl_exact(&self, update: &PositionUpdate, price: Price) -> Result<Exact, ArithError> {
        update.closed_pnl_unit(price)?.try_mul(Exact::ratio(self.params.mult))
    }

    /// [`CommissionScheme::closed_pnl_exact`] rounded once: the pnl a fill reports.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    pub fn closed_pnl(&self, update: &PositionUpdate, price: Price) -> Result<Money, ArithError> {
        // Nothing closed, nothing realised: skip the exact product (half of all fills).
        if update.closed.is_zero() {
            return Ok(Money::ZERO);
        }
        // A whole close or a reversal closes the whole cost basis, a notional: with multiplier 1
        // the pnl is a 128-bit difference rounded once, the same number as the exact product.
        if self.params.mult == Ratio::ONE
            && let Some(cost) = update.closed_cost.as_notional()
            && let Some(pnl) = cost.checked_sub(update.closed.notional(price))
        {
            return Ok(pnl.to_money(MODE));
        }
        self.closed_pnl_exact(update, price)?.to_money(MODE)
    }

    /// Unrealised pnl of a position marked at `price`: `(size·price − cost) × mult`, exact, rounded
    /// once (backtrader's `profitandloss(size, pos.price, close)` with the exact average).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    pub fn unrealized_pnl(&self, position: &Position, price: Price) -> Result<Money, ArithError> {
        let marked = Exact::notional(position.size().notional(price));
        marked
            .try_sub(Exact::notional(position.cost_basis()))?
            .try_mul(Exact::ratio(self.params.mult))?
            .to_money(MODE)
    }

    /// Cash a futures-like position of `size` receives when its mark moves from `base` to
    /// `new_price`: `size × (new_price − base) × mult`; always zero for stock-like schemes, whose
    /// price moves stay in the position's value.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    // backtrader: comminfo.py CommInfoBase.cashadjust
    pub fn cash_adjust(&self, size: Qty, base: Price, new_price: Price) -> Result<Money, ArithError> {
        if self.stocklike {
            return Ok(Money::ZERO);
        }
        self.profit_and_loss(size, base, new_price)
    }

    /// Credit interest due on `position` at instant `at`:
    /// `days × interest × |cost| ÷ 365`, one exact expression rounded once, where `days` counts UTC
    /// calendar days from the position's last update or interest charge to `at`. Shorts are always
    /// charged; longs only with `interest_long`. Zero when `days ≤ 0`, when flat, or before any
    /// update.
    ///
    /// The caller marks the position afterwards ([`Position::mark_interest_charged`]), as
    /// backtrader's broker does after every computation.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    // backtrader: comminfo.py CommInfoBase.get_credit_interest and _get_credit_interest
    pub fn credit_interest(&self, position: &Position, at: Timestamp) -> Result<Money, ArithError> {
        let size = position.size();
        if size.is_zero() || (size.is_positive() && !self.params.interest_long) {
            return Ok(Money::ZERO);
        }
        let Some(last) = position.updated_at() else { return Ok(Money::ZERO) };
        let days = at.day_number().saturating_sub(last.day_number());
        if days <= 0 {
            return Ok(Money::ZERO);
        }
        Exact::int(days)
            .try_mul(Exact::ratio(self.params.interest))?
            .try_mul(Exact::notional(position.cost_basis().abs()))?
            .try_div(Exact::int(365))?
            .to_money(MODE)
    }

    /// Whole units that `cash` buys at `price`: `int(leverage × (cash // unit_cost))` with the unit
    /// cost the price (stock-like) or the margin (futures-like), evaluated in binary64 exactly as
    /// backtrader does (FORMAT.md §2.2; see [`compat::getsize`]).
    ///
    /// # Errors
    /// [`CompatError`] for a zero unit cost or a result that is not a representable size.
    // backtrader: comminfo.py CommInfoBase.getsize
    pub fn getsize(&self, price: Price, cash: Money) -> Result<Qty, CompatError> {
        let auto = self.params.automargin;
        let unit = if self.stocklike {
            UnitCost::Amount(price)
        } else if auto.is_zero() {
            UnitCost::Amount(self.margin)
        } else if auto.is_negative() {
            UnitCost::Product { price, factor: self.params.mult }
        } else {
            UnitCost::Product { price, factor: auto }
        };
        compat::getsize(cash, unit, self.params.leverage)
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
    fn r(s: &str) -> Ratio {
        s.parse().unwrap()
    }
    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }
    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn scheme(f: impl FnOnce(&mut CommissionParams)) -> CommissionScheme {
        let mut params = CommissionParams::setcommission();
        f(&mut params);
        CommissionScheme::try_new(params).unwrap()
    }

    fn held(size: &str, price: &str, at: &str) -> Position {
        let mut pos = Position::new();
        pos.update(q(size), p(price), t(at)).unwrap();
        pos
    }

    #[test]
    fn broker_default_is_the_resolved_setcommission_defaults() {
        let resolved = CommissionScheme::try_new(CommissionParams::setcommission()).unwrap();
        assert_eq!(CommissionScheme::broker_default(), resolved);
    }

    #[test]
    fn commtype_none_without_margin_is_stocklike_perc() {
        let s = scheme(|c| {
            c.commission = r("0.001");
            c.stocklike = false; // ignored by the legacy rule
        });
        assert!(s.is_stocklike());
        assert_eq!(s.commtype(), CommType::Perc);
        assert_eq!(s.margin_param(), Price::ZERO);
        assert_eq!(s.commission(q("10"), p("3667.1")).unwrap(), m("36.671"));
    }

    #[test]
    fn commtype_none_with_margin_is_futures_fixed() {
        let s = scheme(|c| {
            c.commission = r("2");
            c.margin = Some(p("2000"));
            c.mult = r("10");
            c.stocklike = true; // ignored by the legacy rule
        });
        assert!(!s.is_stocklike());
        assert_eq!(s.commtype(), CommType::Fixed);
        assert_eq!(s.commission(q("-3"), p("3600")).unwrap(), m("6"));
        assert_eq!(s.value_size(q("-3"), p("3600")).unwrap(), m("6000"), "futures value is |size|·margin");
        assert_eq!(s.operation_cost(q("-3"), p("3600")).unwrap(), m("6000"));
    }

    #[test]
    fn zero_margin_counts_as_no_margin() {
        let s = scheme(|c| c.margin = Some(Price::ZERO));
        assert!(s.is_stocklike());
    }

    #[test]
    fn futures_without_margin_get_margin_one() {
        let s = scheme(|c| {
            c.commtype = Some(CommType::Fixed);
            c.stocklike = false;
        });
        assert!(!s.is_stocklike());
        assert_eq!(s.margin_param(), Price::ONE);
        assert_eq!(s.margin(p("123")).unwrap(), Price::ONE);
    }

    #[test]
    fn explicit_commtype_keeps_stocklike_as_given() {
        let s = scheme(|c| {
            c.commtype = Some(CommType::Fixed);
            c.stocklike = true;
            c.commission = r("1.5");
        });
        assert!(s.is_stocklike());
        assert_eq!(s.commission(q("-7"), p("99")).unwrap(), m("10.5"));
    }

    #[test]
    fn percabs_defaults_disagree_between_the_two_constructors() {
        assert!(!CommissionParams::comminfo_base().percabs);
        assert!(CommissionParams::setcommission().percabs);
        // The same number, 0.25, is 25% with percabs and 0.25% without.
        let abs = scheme(|c| {
            c.commission = r("0.25");
            c.commtype = Some(CommType::Perc);
            c.stocklike = true;
        });
        let mut base = CommissionParams::comminfo_base();
        base.commission = r("0.25");
        base.commtype = Some(CommType::Perc);
        base.stocklike = true;
        let pct = CommissionScheme::try_new(base).unwrap();
        assert_eq!(abs.commission(q("10"), p("100")).unwrap(), m("250"));
        assert_eq!(pct.commission(q("10"), p("100")).unwrap(), m("2.5"));
    }

    #[test]
    fn percabs_false_divides_exactly() {
        // 0.000000001% of 7 units at 3: 2.1e-10, not 0 as a rate stored as 10^-11 rounded would give.
        let mut base = CommissionParams::comminfo_base();
        base.commission = r("0.000000001");
        let s = CommissionScheme::try_new(base).unwrap();
        let expect = Exact::ratio(r("0.000000001")).try_div(Exact::int(100)).unwrap();
        assert!(s.rate().cmp_exact(expect).unwrap().is_eq());
        let c = Exact::qty(q("7000000000")).try_mul(s.rate()).unwrap().try_mul(Exact::price(p("3"))).unwrap();
        assert_eq!(c.to_money(Rounding::HalfEven).unwrap(), m("0.21"));
        assert_eq!(s.commission(q("7000000000"), p("3")).unwrap(), m("0.21"));
    }

    #[test]
    fn validation_names_the_field() {
        let bad = |f: fn(&mut CommissionParams)| {
            let mut c = CommissionParams::setcommission();
            f(&mut c);
            CommissionScheme::try_new(c).unwrap_err()
        };
        assert_eq!(
            bad(|c| c.leverage = Ratio::ZERO),
            SchemeError::NotPositive { field: "leverage", value: Ratio::ZERO }
        );
        assert_eq!(bad(|c| c.mult = r("-1")), SchemeError::NotPositive { field: "mult", value: r("-1") });
        assert_eq!(
            bad(|c| c.commission = r("-0.1")),
            SchemeError::Negative { field: "commission", value: r("-0.1") }
        );
        assert_eq!(
            bad(|c| c.interest = r("-0.05")),
            SchemeError::Negative { field: "interest", value: r("-0.05") }
        );
        assert_eq!(bad(|c| c.margin = Some(p("-1"))), SchemeError::NegativeMargin { value: p("-1") });
        assert!(bad(|c| c.leverage = Ratio::ZERO).to_string().contains("leverage"));
    }

    #[test]
    fn automargin_both_signs() {
        let base = |auto: &str| {
            scheme(|c| {
                c.margin = Some(p("1000"));
                c.mult = r("5");
                c.automargin = r(auto);
            })
        };
        // Off: the margin parameter.
        assert_eq!(base("0").margin(p("3600.3")).unwrap(), p("1000"));
        // Negative: price × mult.
        assert_eq!(base("-1").margin(p("3600.3")).unwrap(), p("18001.5"));
        // Positive: price × automargin.
        let s = base("0.1");
        assert_eq!(s.margin(p("3600.3")).unwrap(), p("360.03"));
        assert_eq!(s.value_size(q("-2"), p("3600.3")).unwrap(), m("720.06"));
        assert_eq!(s.value_at_cost(q("-2"), "-7200.6".parse().unwrap()).unwrap(), m("720.06"));
    }

    #[test]
    fn stocklike_values_and_the_short_formula() {
        let s = scheme(|_| {});
        assert_eq!(s.value_size(q("-10"), p("90")).unwrap(), m("-900"));
        assert_eq!(s.operation_cost(q("-10"), p("90")).unwrap(), m("900"));
        let long = held("10", "100", "2006-01-02");
        assert_eq!(s.position_value(&long, p("90")).unwrap(), m("900"));
        // Short 10 at 100, price 90: 100·(−10) + (100 − 90)·(−10) = −1100.
        let short = held("-10", "100", "2006-01-02");
        assert_eq!(s.position_value(&short, p("90")).unwrap(), m("-1100"));
        assert_eq!(s.unrealized_pnl(&short, p("90")).unwrap(), m("100"));
        assert_eq!(s.value_at_cost(q("-10"), "-1000".parse().unwrap()).unwrap(), m("-1000"));
        assert_eq!(s.value_at_cost(Qty::ZERO, Notional::ZERO).unwrap(), Money::ZERO);
    }

    #[test]
    fn pnl_uses_the_multiplier() {
        let s = scheme(|c| {
            c.margin = Some(p("2000"));
            c.mult = r("10");
        });
        assert_eq!(s.profit_and_loss(q("-2"), p("3600"), p("3590.5")).unwrap(), m("190"));
        let mut pos = held("2", "3600", "2006-01-02");
        let up = pos.update(q("-2"), p("3610.25"), t("2006-01-03")).unwrap();
        assert_eq!(s.closed_pnl(&up, p("3610.25")).unwrap(), m("205"));
    }

    #[test]
    fn futures_cash_adjustment_and_none_for_stocks() {
        let fut = scheme(|c| {
            c.margin = Some(p("2000"));
            c.mult = r("10");
        });
        // Long 2 marked from 3600 to 3620: +400; short 2 the other way round.
        assert_eq!(fut.cash_adjust(q("2"), p("3600"), p("3620")).unwrap(), m("400"));
        assert_eq!(fut.cash_adjust(q("-2"), p("3600"), p("3620")).unwrap(), m("-400"));
        let stock = scheme(|_| {});
        assert_eq!(stock.cash_adjust(q("2"), p("3600"), p("3620")).unwrap(), Money::ZERO);
    }

    #[test]
    fn interest_on_shorts_only_unless_interest_long() {
        let s = scheme(|c| c.interest = r("0.05"));
        let short = held("-100", "20", "2006-01-02 23:59:59.999989");
        let long = held("100", "20", "2006-01-02 23:59:59.999989");
        let at = t("2006-01-03 23:59:59.999989");
        // 1 × 0.05 × 2000 / 365 = 0.27397260273972…
        assert_eq!(s.credit_interest(&short, at).unwrap(), m("0.273972603"));
        assert_eq!(s.credit_interest(&long, at).unwrap(), Money::ZERO);
        let both = scheme(|c| {
            c.interest = r("0.05");
            c.interest_long = true;
        });
        assert_eq!(both.credit_interest(&long, at).unwrap(), m("0.273972603"));
    }

    #[test]
    fn interest_counts_calendar_days_across_a_weekend() {
        let s = scheme(|c| c.interest = r("0.05"));
        let mut short = held("-100", "20", "2006-01-06 23:59:59.999989"); // a Friday
        let monday = t("2006-01-09 23:59:59.999989");
        // 3 × 0.05 × 2000 / 365 = 0.82191780821917…, one expression, rounded once.
        assert_eq!(s.credit_interest(&short, monday).unwrap(), m("0.821917808"));
        short.mark_interest_charged(monday);
        assert_eq!(s.credit_interest(&short, monday).unwrap(), Money::ZERO, "same day: 0 days");
        assert_eq!(s.credit_interest(&short, t("2006-01-08")).unwrap(), Money::ZERO, "earlier: nothing");
    }

    #[test]
    fn interest_is_not_a_stored_daily_rate() {
        // A year of one-day charges on a large short: each charge exact, so the sum is the yearly
        // amount to the nano-unit rounding of each day (a stored 0.05/365 would drift by 5e-10·notional).
        let s = scheme(|c| c.interest = r("0.05"));
        let mut pos = held("-1000000", "123.45", "2006-01-01");
        let mut total = Money::ZERO;
        for day in 1..=365i64 {
            let at = Timestamp::from_nanos(t("2006-01-01").nanos() + day * kestrel_types::NANOS_PER_DAY);
            total = total.try_add(s.credit_interest(&pos, at).unwrap()).unwrap();
            pos.mark_interest_charged(at);
        }
        let expect = m("6172500"); // 0.05 × 123450000
        let diff = total.try_sub(expect).unwrap().abs();
        assert!(diff <= Money::from_raw(365), "{total} vs {expect}");
    }

    #[test]
    fn leverage_and_getsize() {
        let s = scheme(|c| c.leverage = r("2"));
        assert_eq!(s.leverage(), r("2"));
        assert_eq!(
            s.getsize(p("3652.46"), m("36524.6")).unwrap(),
            q("18"),
            "2 × (36524.6 // 3652.46) = 2 × 9"
        );
        let fut = scheme(|c| {
            c.margin = Some(p("2000"));
            c.mult = r("10");
        });
        assert_eq!(fut.getsize(p("3600"), m("9999")).unwrap(), q("4"), "futures size by margin");
        let auto = scheme(|c| {
            c.margin = Some(p("1000"));
            c.mult = r("5");
            c.automargin = r("-1");
        });
        assert_eq!(auto.getsize(p("100"), m("1499")).unwrap(), q("2"), "1499 // (100 × 5)");
    }

    proptest::proptest! {
        /// The 128-bit path of a whole close or a reversal gives the exact product's number.
        #[test]
        fn the_closing_fast_path_equals_the_exact_pnl(
            open in 1i64..1_000_000_000_000,
            close in 1i64..2_000_000_000_000,
            entry in 1i64..1_000_000_000_000_000,
            exit in 1i64..1_000_000_000_000_000,
            add in 0i64..1_000_000_000_000,
            long in proptest::bool::ANY,
        ) {
            let scheme = CommissionScheme::broker_default();
            let sign = if long { 1 } else { -1 };
            let mut pos = Position::default();
            let at = Timestamp::EPOCH;
            pos.update(Qty::from_raw(sign * open), Price::from_raw(entry), at).unwrap();
            if add > 0 {
                pos.update(Qty::from_raw(sign * add), Price::from_raw(exit / 2 + 1), at).unwrap();
            }
            let up = pos.update(Qty::from_raw(-sign * close), Price::from_raw(exit), at).unwrap();
            let exact = scheme.closed_pnl_exact(&up, Price::from_raw(exit)).unwrap().to_money(MODE).unwrap();
            proptest::prop_assert_eq!(scheme.closed_pnl(&up, Price::from_raw(exit)).unwrap(), exact);
        }
    }
}
