//! `Exact`: a rational built from Kestrel numbers and rounded once into one of them.
//!
//! Some money formulas multiply and divide several decimals (commission = |size| × rate × price;
//! interest = days × rate × |size| × price ÷ 365; pnl = size × (new − old) × mult). Rounding each
//! step would move results by nano-units that a binary64 oracle does not see and that compound
//! (FORMAT.md §2.2). `Exact` keeps numerator and denominator as 256-bit integers and rounds only in
//! [`Exact::to_money`] and friends, with a named [`Rounding`].
//!
//! # Representation
//! The denominator is kept as `10^exp × rest`: every Kestrel number enters as a whole count of
//! 10^-9 or 10^-18 units (`rest = 1`), so products and sums of them only add or align powers of ten
//! and never divide, and rounding one divides by a power of ten, which is a 64- or 128-bit
//! division for the usual products. Fractions are not reduced as they are built (the old
//! trial division by 10, 2, 3 and 5 cost one 256-bit division per try on every operation); a
//! product of four full-range 10^-9 numbers needs at most 252 bits of numerator over 10^36.
//! When an operation would leave 256 bits, its operands are brought to lowest terms and the
//! operation retried, so every expression that fitted with per-step reduction still fits.
//!
//! # Limitations
//! 256 bits hold a product of four full-range 10^-9 numbers; longer products report
//! [`ArithError::Overflow`] rather than lose digits.

use core::cmp::Ordering;
use core::fmt;

use ethnum::{I256, U256};

use crate::decimal::{MAX_EXP, Rounding, div_round, div_round_pow10, pow10_wide};
use crate::error::ArithError;
use crate::money::NOTIONAL_DECIMALS;
use crate::nano::NANO_DECIMALS;
use crate::{Money, Notional, Price, Qty, Ratio};

/// 2^255, the magnitude of `I256::MIN`.
const MIN_MAGNITUDE: U256 = U256::from_words(1 << 127, 0);

/// `a × b`, or `None` past `I256`.
///
/// Multiplies magnitudes and restores the sign, so that deciding the overflow costs no division
/// (`ethnum`'s own signed `checked_mul` divides `I256::MAX` by an operand to decide it); two
/// operands that fit an `i64` multiply in one `i128` instruction.
#[inline]
pub(crate) fn mul_wide(a: I256, b: I256) -> Option<I256> {
    if let (Some(x), Some(y)) = (as_i64(a), as_i64(b)) {
        return Some(I256::from(i128::from(x) * i128::from(y)));
    }
    let p = mul_magnitude(a.unsigned_abs(), b.unsigned_abs())?;
    if a.is_negative() != b.is_negative() {
        // −2^255 is I256::MIN; wrapping_neg leaves it there.
        (p <= MIN_MAGNITUDE).then(|| p.as_i256().wrapping_neg())
    } else {
        (p < MIN_MAGNITUDE).then(|| p.as_i256())
    }
}

/// `x` as an `i64` when it fits.
#[inline]
fn as_i64(x: I256) -> Option<i64> {
    let (hi, lo) = x.into_words();
    if hi == lo >> 127 { i64::try_from(lo).ok() } else { None }
}

/// `a × b` for magnitudes, or `None` past 256 bits.
#[inline]
fn mul_magnitude(a: U256, b: U256) -> Option<U256> {
    let (a_hi, a_lo) = a.into_words();
    let (b_hi, b_lo) = b.into_words();
    match (a_hi, b_hi) {
        (0, 0) => Some(mul_u128(a_lo, b_lo)),
        (0, h) => mul_one_high(h, b_lo, a_lo),
        (h, 0) => mul_one_high(h, a_lo, b_lo),
        // Both at least 2^128: the product is at least 2^256.
        _ => None,
    }
}

/// `(h·2^128 + l) × x`, or `None` past 256 bits.
fn mul_one_high(h: u128, l: u128, x: u128) -> Option<U256> {
    let (low_hi, low_lo) = mul_u128(l, x).into_words();
    let high = h.checked_mul(x)?.checked_add(low_hi)?;
    Some(U256::from_words(high, low_lo))
}

/// The full 256-bit product of two `u128`s, in 64-bit limbs.
#[inline]
fn mul_u128(a: u128, b: u128) -> U256 {
    const LOW: u128 = u64::MAX as u128;
    if (a | b) >> 64 == 0 {
        return U256::from_words(0, a * b);
    }
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // Three terms below 2^64 each: no overflow.
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let lo = (p00 & LOW) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    U256::from_words(hi, lo)
}

/// `x × 10^k`, or `None` past `I256`.
fn scale10(x: I256, k: u32) -> Option<I256> {
    if k == 0 { Some(x) } else { mul_wide(x, pow10_wide(k)) }
}

/// The greatest common divisor (binary algorithm: shifts and subtractions, no division).
fn gcd(mut a: U256, mut b: U256) -> U256 {
    if a == U256::ZERO {
        return b;
    }
    if b == U256::ZERO {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            core::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == U256::ZERO {
            return a << shift;
        }
    }
}

/// An exact rational number `num / den` (`den > 0`).
///
/// Equality is by value (`2/6 == 1/3`): fractions are not reduced as they are built, so one value
/// can be stored as several fractions.
#[derive(Clone, Copy)]
pub struct Exact {
    /// The numerator, of either sign.
    num: I256,
    /// The denominator's factor besides its power of ten: positive, and 1 for every Kestrel number.
    rest: I256,
    /// The denominator's power of ten: `den = 10^exp × rest`, which always fits an `I256`
    /// (so `exp ≤ MAX_EXP`).
    exp: u32,
}

impl fmt::Debug for Exact {
    /// `Exact { num, den }`, the fraction as stored (not reduced).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exact").field("num", &self.num).field("den", &self.den()).finish()
    }
}

impl PartialEq for Exact {
    fn eq(&self, other: &Self) -> bool {
        if self.num.is_negative() != other.num.is_negative()
            || (self.num == I256::ZERO) != (other.num == I256::ZERO)
        {
            return false;
        }
        // Both denominators are positive, so cross-multiplication decides exactly; past 256 bits the
        // fractions in lowest terms, which are unique, do.
        match self.cross(*other) {
            Some((a, b)) => a == b,
            None => self.lowest_terms() == other.lowest_terms(),
        }
    }
}

impl Eq for Exact {}

const OP: &str = "Exact";

impl core::ops::Neg for Exact {
    type Output = Self;

    fn neg(self) -> Self {
        Self { num: -self.num, ..self }
    }
}

impl Exact {
    /// Zero.
    pub const ZERO: Self = Self { num: I256::ZERO, rest: I256::ONE, exp: 0 };
    /// One.
    pub const ONE: Self = Self { num: I256::ONE, rest: I256::ONE, exp: 0 };

    /// `num / (10^exp × rest)` (`rest > 0`), or `None` when that denominator leaves `I256`.
    /// Zero is always stored as `0/1`, as the reducing implementation did.
    fn new(num: I256, exp: u32, rest: I256) -> Option<Self> {
        if num == I256::ZERO {
            return Some(Self::ZERO);
        }
        if exp > MAX_EXP || (rest != I256::ONE && mul_wide(pow10_wide(exp), rest).is_none()) {
            return None;
        }
        Some(Self { num, rest, exp })
    }

    fn scaled(raw: i128, decimals: u32) -> Self {
        Self { num: I256::from(raw), rest: I256::ONE, exp: decimals }
    }

    /// The whole denominator, `10^exp × rest` (fits by the invariant of [`Exact::new`]).
    fn den(self) -> I256 {
        if self.rest == I256::ONE {
            pow10_wide(self.exp)
        } else {
            pow10_wide(self.exp).wrapping_mul(self.rest)
        }
    }

    /// A whole number (a count of days, a divisor like 365 or 100).
    pub fn int(v: i64) -> Self {
        Self::scaled(i128::from(v), 0)
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
    #[inline]
    pub fn try_mul(self, rhs: Self) -> Result<Self, ArithError> {
        // Kestrel numbers and their products: decimal denominators, nothing to multiply but the
        // numerators. Kept small so that it inlines into the caller's chain of operations.
        if self.rest == I256::ONE && rhs.rest == I256::ONE && self.exp + rhs.exp <= MAX_EXP {
            if let Some(num) = mul_wide(self.num, rhs.num) {
                return Ok(if num == I256::ZERO {
                    Self::ZERO
                } else {
                    Self { num, rest: I256::ONE, exp: self.exp + rhs.exp }
                });
            }
        }
        self.try_mul_general(rhs)
    }

    #[inline(never)]
    fn try_mul_general(self, rhs: Self) -> Result<Self, ArithError> {
        self.mul_as_stored(rhs)
            .or_else(|| self.mul_in_lowest_terms(rhs))
            .ok_or(ArithError::Overflow { op: OP })
    }

    fn mul_as_stored(self, rhs: Self) -> Option<Self> {
        let num = mul_wide(self.num, rhs.num)?;
        let rest = match (self.rest == I256::ONE, rhs.rest == I256::ONE) {
            (true, _) => rhs.rest,
            (_, true) => self.rest,
            _ => mul_wide(self.rest, rhs.rest)?,
        };
        Self::new(num, self.exp + rhs.exp, rest)
    }

    #[cold]
    fn mul_in_lowest_terms(self, rhs: Self) -> Option<Self> {
        let ((n1, d1), (n2, d2)) = (self.lowest_terms(), rhs.lowest_terms());
        Self::new(mul_wide(n1, n2)?, 0, mul_wide(d1, d2)?)
    }

    /// `self ÷ rhs`, exactly.
    ///
    /// # Errors
    /// [`ArithError::DivisionByZero`] for a zero `rhs`; [`ArithError::Overflow`] past 256 bits.
    pub fn try_div(self, rhs: Self) -> Result<Self, ArithError> {
        if rhs.num == I256::ZERO {
            return Err(ArithError::DivisionByZero { op: OP });
        }
        self.div_as_stored(rhs)
            .or_else(|| self.div_in_lowest_terms(rhs))
            .ok_or(ArithError::Overflow { op: OP })
    }

    fn div_as_stored(self, rhs: Self) -> Option<Self> {
        // a / (10^ea·ra) ÷ b / (10^eb·rb) = a·rb·10^eb / (10^ea·ra·b): the powers of ten cancel.
        let num = if rhs.rest == I256::ONE { self.num } else { mul_wide(self.num, rhs.rest)? };
        let (num, exp) = match self.exp.checked_sub(rhs.exp) {
            Some(exp) => (num, exp),
            None => (scale10(num, rhs.exp - self.exp)?, 0),
        };
        let rest = if self.rest == I256::ONE { rhs.num } else { mul_wide(self.rest, rhs.num)? };
        let (num, rest) =
            if rest.is_negative() { (num.checked_neg()?, rest.checked_neg()?) } else { (num, rest) };
        Self::new(num, exp, rest)
    }

    #[cold]
    fn div_in_lowest_terms(self, rhs: Self) -> Option<Self> {
        let ((n1, d1), (n2, d2)) = (self.lowest_terms(), rhs.lowest_terms());
        let (num, den) = (mul_wide(n1, d2)?, mul_wide(d1, n2)?);
        let (num, den) =
            if den.is_negative() { (num.checked_neg()?, den.checked_neg()?) } else { (num, den) };
        Self::new(num, 0, den)
    }

    /// `self + rhs`, exactly.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] past 256 bits.
    pub fn try_add(self, rhs: Self) -> Result<Self, ArithError> {
        self.add_as_stored(rhs)
            .or_else(|| self.add_in_lowest_terms(rhs))
            .ok_or(ArithError::Overflow { op: OP })
    }

    fn add_as_stored(self, rhs: Self) -> Option<Self> {
        // Over 10^max(ea, eb)·ra·rb, or 10^max(ea, eb)·ra when the rests agree (always, for
        // Kestrel numbers): sums of decimals keep the larger power of ten, not the product.
        let (a, b) = self.cross(rhs)?;
        let rest = if self.rest == rhs.rest { self.rest } else { mul_wide(self.rest, rhs.rest)? };
        Self::new(a.checked_add(b)?, self.exp.max(rhs.exp), rest)
    }

    #[cold]
    fn add_in_lowest_terms(self, rhs: Self) -> Option<Self> {
        let ((n1, d1), (n2, d2)) = (self.lowest_terms(), rhs.lowest_terms());
        if d1 == d2 {
            return Self::new(n1.checked_add(n2)?, 0, d1);
        }
        Self::new(mul_wide(n1, d2)?.checked_add(mul_wide(n2, d1)?)?, 0, mul_wide(d1, d2)?)
    }

    /// The numerators of `self` and `rhs` over one common positive denominator
    /// (`10^max(ea, eb) × ra × rb`, without the rests when they are equal), or `None` past 256 bits.
    fn cross(self, rhs: Self) -> Option<(I256, I256)> {
        let exp = self.exp.max(rhs.exp);
        let a = scale10(self.num, exp - self.exp)?;
        let b = scale10(rhs.num, exp - rhs.exp)?;
        if self.rest == rhs.rest {
            Some((a, b))
        } else {
            Some((mul_wide(a, rhs.rest)?, mul_wide(b, self.rest)?))
        }
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
        Self { num: self.num.abs(), ..self }
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
    /// [`ArithError::Overflow`] past 256 bits (only when the two have the same sign and their
    /// cross products exceed 256 bits even in lowest terms).
    pub fn cmp_exact(self, rhs: Self) -> Result<Ordering, ArithError> {
        let sign = |x: I256| if x.is_negative() { -1 } else { i8::from(x != I256::ZERO) };
        let (sa, sb) = (sign(self.num), sign(rhs.num));
        if sa != sb {
            return Ok(sa.cmp(&sb));
        }
        if let Some((a, b)) = self.cross(rhs) {
            return Ok(a.cmp(&b));
        }
        let ((n1, d1), (n2, d2)) = (self.lowest_terms(), rhs.lowest_terms());
        match (mul_wide(n1, d2), mul_wide(n2, d1)) {
            (Some(a), Some(b)) => Ok(a.cmp(&b)),
            _ => Err(ArithError::Overflow { op: OP }),
        }
    }

    /// The fraction in lowest terms (full gcd): unique for each value, so equality can rely on it.
    fn lowest_terms(self) -> (I256, I256) {
        let den = self.den();
        // g = gcd(|num|, den) ≥ 1 because den > 0, and g ≤ den, so it fits an I256.
        let g = gcd(self.num.unsigned_abs(), den.unsigned_abs()).as_i256();
        if g == I256::ONE { (self.num, den) } else { (self.num / g, den / g) }
    }

    /// `self × 10^decimals`, rounded to an integer with `mode`.
    #[inline]
    fn to_scaled(self, decimals: u32, mode: Rounding, op: &'static str) -> Result<i128, ArithError> {
        // A decimal denominator at least as fine as the target: one division by a power of ten,
        // inlined for the usual 128-bit operands.
        if self.rest == I256::ONE && self.exp >= decimals {
            return div_round_pow10(self.num, self.exp - decimals, mode, op);
        }
        self.to_scaled_general(decimals, mode, op)
    }

    #[inline(never)]
    fn to_scaled_general(self, decimals: u32, mode: Rounding, op: &'static str) -> Result<i128, ArithError> {
        if let Some(k) = self.exp.checked_sub(decimals) {
            // num / (10^k·rest): a division by a power of ten for every product of Kestrel numbers.
            if self.rest == I256::ONE {
                if k == 0 {
                    return i128::try_from(self.num).map_err(|_| ArithError::Overflow { op });
                }
                return div_round(self.num, pow10_wide(k), mode, op);
            }
            // 10^k·rest ≤ 10^exp·rest, which fits.
            return div_round(self.num, pow10_wide(k).wrapping_mul(self.rest), mode, op);
        }
        let k = decimals - self.exp;
        if let Some(num) = scale10(self.num, k) {
            return div_round(num, self.rest, mode, op);
        }
        // Past 256 bits as stored: in lowest terms, as the reducing implementation would have had it.
        let (num, den) = self.lowest_terms();
        let num = scale10(num, decimals).ok_or(ArithError::Overflow { op })?;
        div_round(num, den, mode, op)
    }

    /// Rounds once into [`Money`].
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of money's range.
    #[inline]
    pub fn to_money(self, mode: Rounding) -> Result<Money, ArithError> {
        let op = "Exact::to_money";
        Money::from_wide(self.to_scaled(NANO_DECIMALS, mode, op)?, op)
    }

    /// Rounds once into a [`Notional`].
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of the notional's range.
    #[inline]
    pub fn to_notional(self, mode: Rounding) -> Result<Notional, ArithError> {
        let op = "Exact::to_notional";
        Notional::from_wide(self.to_scaled(NOTIONAL_DECIMALS, mode, op)?, op)
    }

    /// Rounds once into a [`Price`].
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of the price's range.
    #[inline]
    pub fn to_price(self, mode: Rounding) -> Result<Price, ArithError> {
        let op = "Exact::to_price";
        Price::from_i128(self.to_scaled(NANO_DECIMALS, mode, op)?, op)
    }

    /// Rounds once into a [`Qty`].
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of the quantity's range.
    #[inline]
    pub fn to_qty(self, mode: Rounding) -> Result<Qty, ArithError> {
        let op = "Exact::to_qty";
        Qty::from_i128(self.to_scaled(NANO_DECIMALS, mode, op)?, op)
    }

    /// Rounds once to a whole number (`Floor` for "how many whole units fit").
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of `i128`.
    #[inline]
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
