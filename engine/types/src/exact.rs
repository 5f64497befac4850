//! `Exact`: a rational built from Kestrel numbers and rounded once into one of them.
//!
//! Some money formulas multiply and divide several decimals (commission = |size| × rate × price;
//! interest = days × rate × |size| × price ÷ 365; pnl = size × (new − old) × mult). Rounding each
//! step would move results by nano-units that a binary64 oracle does not see and that compound
//! (FORMAT.md §2.2). `Exact` keeps numerator and denominator as 256-bit integers and rounds only in
//! [`Exact::to_money`] and friends, with a named [`Rounding`].
//!
//! # Limitations
//! 256 bits hold a product of four full-range 10^-9 numbers; longer products report
//! [`ArithError::Overflow`] rather than lose digits.

use ethnum::{I256, U256};

use crate::decimal::{Rounding, div_round, pow10};
use crate::error::ArithError;
use crate::money::NOTIONAL_DECIMALS;
use crate::nano::NANO_DECIMALS;
use crate::{Money, Notional, Price, Qty, Ratio};

/// An exact rational number `num / den` (`den > 0`).
///
/// Equality is by value (`2/6 == 1/3`): the stored fraction is only cheaply reduced, so one value
/// can be stored as several fractions.
#[derive(Clone, Copy, Debug)]
pub struct Exact {
    num: I256,
    den: I256,
}

impl PartialEq for Exact {
    fn eq(&self, other: &Self) -> bool {
        // Both denominators are positive, so cross-multiplication decides exactly; past 256 bits the
        // fractions in lowest terms, which are unique, do.
        match (self.num.checked_mul(other.den), other.num.checked_mul(self.den)) {
            (Some(a), Some(b)) => a == b,
            _ => self.lowest_terms() == other.lowest_terms(),
        }
    }
}

impl Eq for Exact {}

const OP: &str = "Exact";

impl core::ops::Neg for Exact {
    type Output = Self;

    fn neg(self) -> Self {
        Self { num: -self.num, den: self.den }
    }
}

impl Exact {
    /// Zero.
    pub const ZERO: Self = Self { num: I256::ZERO, den: I256::ONE };
    /// One.
    pub const ONE: Self = Self { num: I256::ONE, den: I256::ONE };

    fn scaled(raw: i128, decimals: u32) -> Self {
        Self { num: I256::from(raw), den: I256::from(pow10(decimals)) }
    }

    /// A whole number (a count of days, a divisor like 365 or 100).
    pub fn int(v: i64) -> Self {
        Self { num: I256::from(v), den: I256::ONE }
    }

    /// A quantity.
    pub fn qty(q: Qty) -> Self {
        Self::scaled(i128::from(q.raw()), NANO_DECIMALS)
    }

    /// A price.
    pub fn price(p: Price) -> Self {
        Self::scaled(i128::from(p.raw()), NANO_DECIMALS)
    }

    /// A ratio.
    pub fn ratio(r: Ratio) -> Self {
        Self::scaled(i128::from(r.raw()), NANO_DECIMALS)
    }

    /// An amount of money.
    pub fn money(m: Money) -> Self {
        Self::scaled(m.raw(), NANO_DECIMALS)
    }

    /// A notional.
    pub fn notional(n: Notional) -> Self {
        Self::scaled(n.raw(), NOTIONAL_DECIMALS)
    }

    /// `self × rhs`, exactly.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] past 256 bits.
    pub fn try_mul(self, rhs: Self) -> Result<Self, ArithError> {
        let num = self.num.checked_mul(rhs.num).ok_or(ArithError::Overflow { op: OP })?;
        let den = self.den.checked_mul(rhs.den).ok_or(ArithError::Overflow { op: OP })?;
        Ok(Self { num, den }.reduced())
    }

    /// `self ÷ rhs`, exactly.
    ///
    /// # Errors
    /// [`ArithError::DivisionByZero`] for a zero `rhs`; [`ArithError::Overflow`] past 256 bits.
    pub fn try_div(self, rhs: Self) -> Result<Self, ArithError> {
        if rhs.num == I256::ZERO {
            return Err(ArithError::DivisionByZero { op: OP });
        }
        let mut num = self.num.checked_mul(rhs.den).ok_or(ArithError::Overflow { op: OP })?;
        let mut den = self.den.checked_mul(rhs.num).ok_or(ArithError::Overflow { op: OP })?;
        if den < I256::ZERO {
            num = -num;
            den = -den;
        }
        Ok(Self { num, den }.reduced())
    }

    /// `self + rhs`, exactly.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] past 256 bits.
    pub fn try_add(self, rhs: Self) -> Result<Self, ArithError> {
        let a = self.num.checked_mul(rhs.den).ok_or(ArithError::Overflow { op: OP })?;
        let b = rhs.num.checked_mul(self.den).ok_or(ArithError::Overflow { op: OP })?;
        let num = a.checked_add(b).ok_or(ArithError::Overflow { op: OP })?;
        let den = self.den.checked_mul(rhs.den).ok_or(ArithError::Overflow { op: OP })?;
        Ok(Self { num, den }.reduced())
    }

    /// `self − rhs`, exactly.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] past 256 bits.
    pub fn try_sub(self, rhs: Self) -> Result<Self, ArithError> {
        self.try_add(-rhs)
    }

    /// `|self|`.
    #[must_use]
    pub fn abs(self) -> Self {
        Self { num: self.num.abs(), den: self.den }
    }

    /// Whether this is exactly zero.
    pub fn is_zero(self) -> bool {
        self.num == I256::ZERO
    }

    /// Whether this is strictly below zero.
    pub fn is_negative(self) -> bool {
        self.num < I256::ZERO
    }

    /// Compares two rationals exactly.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] past 256 bits.
    pub fn cmp_exact(self, rhs: Self) -> Result<core::cmp::Ordering, ArithError> {
        let a = self.num.checked_mul(rhs.den).ok_or(ArithError::Overflow { op: OP })?;
        let b = rhs.num.checked_mul(self.den).ok_or(ArithError::Overflow { op: OP })?;
        Ok(a.cmp(&b))
    }

    /// Keeps the operands small: divides out powers of ten and small common factors cheaply.
    fn reduced(self) -> Self {
        let mut num = self.num;
        let mut den = self.den;
        if num == I256::ZERO {
            return Self::ZERO;
        }
        for f in [10i32, 2, 3, 5] {
            let f = I256::from(f);
            while den % f == I256::ZERO && num % f == I256::ZERO {
                num /= f;
                den /= f;
            }
        }
        Self { num, den }
    }

    /// The fraction in lowest terms (full gcd): unique for each value, so equality can rely on it.
    fn lowest_terms(self) -> (I256, I256) {
        let (mut a, mut b) = (self.num.unsigned_abs(), self.den.unsigned_abs());
        while b != U256::ZERO {
            (a, b) = (b, a % b);
        }
        // a = gcd(|num|, den) ≥ 1 because den > 0, and a ≤ den, so it fits an I256.
        let g = a.as_i256();
        (self.num / g, self.den / g)
    }

    fn to_scaled(self, decimals: u32, mode: Rounding, op: &'static str) -> Result<i128, ArithError> {
        let num = self.num.checked_mul(I256::from(pow10(decimals))).ok_or(ArithError::Overflow { op })?;
        div_round(num, self.den, mode, op)
    }

    /// Rounds once into [`Money`].
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    pub fn to_money(self, mode: Rounding) -> Result<Money, ArithError> {
        let op = "Exact::to_money";
        Money::from_wide(self.to_scaled(NANO_DECIMALS, mode, op)?, op)
    }

    /// Rounds once into a [`Notional`].
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of the notional's range.
    pub fn to_notional(self, mode: Rounding) -> Result<Notional, ArithError> {
        let op = "Exact::to_notional";
        Notional::from_wide(self.to_scaled(NOTIONAL_DECIMALS, mode, op)?, op)
    }

    /// Rounds once into a [`Price`].
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of the price's range.
    pub fn to_price(self, mode: Rounding) -> Result<Price, ArithError> {
        let op = "Exact::to_price";
        Price::from_i128(self.to_scaled(NANO_DECIMALS, mode, op)?, op)
    }

    /// Rounds once into a [`Qty`].
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of the quantity's range.
    pub fn to_qty(self, mode: Rounding) -> Result<Qty, ArithError> {
        let op = "Exact::to_qty";
        Qty::from_i128(self.to_scaled(NANO_DECIMALS, mode, op)?, op)
    }

    /// Rounds once to a whole number (`Floor` for "how many whole units fit").
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of `i128`.
    pub fn to_int(self, mode: Rounding) -> Result<i128, ArithError> {
        self.to_scaled(0, mode, "Exact::to_int")
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

    #[test]
    fn interest_is_one_expression_rounded_once() {
        // 30 days of 5%/365 on 1000 units at 123.45: 507.328767123... (a stored daily rate of
        // 0.000136986 would give 507.32799, out of the oracle's band).
        let e = Exact::int(30)
            .try_mul(Exact::ratio("0.05".parse().unwrap()))
            .and_then(|e| e.try_mul(Exact::qty(q("1000"))))
            .and_then(|e| e.try_mul(Exact::price(p("123.45"))))
            .and_then(|e| e.try_div(Exact::int(365)))
            .unwrap();
        assert_eq!(e.to_money(Rounding::HalfEven).unwrap().to_string(), "507.328767123");
    }

    #[test]
    fn arithmetic_and_comparison() {
        let third = Exact::ONE.try_div(Exact::int(3)).unwrap();
        let sum = third.try_add(third).and_then(|s| s.try_add(third)).unwrap();
        assert_eq!(sum, Exact::ONE);
        assert_eq!(third.try_sub(third).unwrap(), Exact::ZERO);
        assert!((-third).is_negative());
        assert_eq!((-third).abs(), third);
        assert_eq!(third.cmp_exact(Exact::ONE).unwrap(), core::cmp::Ordering::Less);
        assert_eq!(Exact::int(7).try_div(Exact::int(-2)).unwrap().to_int(Rounding::Floor).unwrap(), -4);
        assert!(Exact::ONE.try_div(Exact::ZERO).is_err());
        assert_eq!(third.to_price(Rounding::Ceiling).unwrap().to_string(), "0.333333334");
        assert_eq!(third.to_qty(Rounding::Floor).unwrap().to_string(), "0.333333333");
    }

    #[test]
    fn overflow_is_an_error() {
        let big = Exact::money(Money::MAX);
        assert!(big.try_mul(big).and_then(|b| b.try_mul(big)).is_err());
        assert!(
            Exact::int(i64::MAX).try_mul(Exact::int(i64::MAX)).unwrap().to_price(Rounding::HalfEven).is_err()
        );
    }
}
