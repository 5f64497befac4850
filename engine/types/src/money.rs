//! `Money` (cash, value, pnl, fees) and `Notional` (exact Σ size × price).
//!
//! `Money` counts nano-units of a currency in an `i128`: ±1.7e29 units, so cash, turnover and pnl over
//! years of ticks never overflow. `Notional` counts 10^-18 units: the exact product of a [`Qty`] and a
//! [`Price`], so a position's cost basis and an order's average fill price are sums of exact products,
//! rounded once when read (FORMAT.md §2.2: a rounded average price drifts out of tolerance).

use core::fmt;
use core::str::FromStr;

use ethnum::I256;

use crate::decimal::{
    Rounding, div_round, div_round_pow10_i128, fmt_scaled, parse_scaled, rescale, to_fixed_string,
};
use crate::error::{ArithError, ParseDecimalError};
use crate::nano::{NANO, NANO_DECIMALS};
use crate::{Price, Qty, Ratio};

/// Decimal places of a [`Notional`].
pub const NOTIONAL_DECIMALS: u32 = 18;

macro_rules! wide_type {
    ($(#[$doc:meta])* $name:ident, $decimals:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(i128);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);
            /// The largest representable value.
            pub const MAX: Self = Self(i128::MAX);
            /// The smallest representable value (`-MAX`, so that negation never overflows).
            pub const MIN: Self = Self(-i128::MAX);

            /// From a raw count of units.
            pub const fn from_raw(raw: i128) -> Self {
                Self(raw)
            }

            /// The raw count of units.
            pub const fn raw(self) -> i128 {
                self.0
            }

            /// Whether this is exactly zero.
            pub const fn is_zero(self) -> bool {
                self.0 == 0
            }

            /// Whether this is strictly above zero.
            pub const fn is_positive(self) -> bool {
                self.0 > 0
            }

            /// Whether this is strictly below zero.
            pub const fn is_negative(self) -> bool {
                self.0 < 0
            }

            /// The absolute value.
            pub const fn abs(self) -> Self {
                Self(self.0.abs())
            }


            /// Checked sum: `None` out of range.
            pub fn checked_add(self, rhs: Self) -> Option<Self> {
                self.0.checked_add(rhs.0).filter(|v| *v != i128::MIN).map(Self)
            }

            /// Checked difference: `None` out of range.
            pub fn checked_sub(self, rhs: Self) -> Option<Self> {
                self.0.checked_sub(rhs.0).filter(|v| *v != i128::MIN).map(Self)
            }

            /// Sum, or an error naming the operation.
            ///
            /// # Errors
            /// [`ArithError::Overflow`] out of range.
            pub fn try_add(self, rhs: Self) -> Result<Self, ArithError> {
                self.checked_add(rhs).ok_or(ArithError::Overflow { op: concat!(stringify!($name), "::try_add") })
            }

            /// Difference, or an error naming the operation.
            ///
            /// # Errors
            /// [`ArithError::Overflow`] out of range.
            pub fn try_sub(self, rhs: Self) -> Result<Self, ArithError> {
                self.checked_sub(rhs).ok_or(ArithError::Overflow { op: concat!(stringify!($name), "::try_sub") })
            }

            /// Text with exactly `decimals` places, rounded with `mode`.
            pub fn to_fixed(self, decimals: u8, mode: Rounding) -> String {
                let d = u32::from(decimals).min($decimals);
                to_fixed_string(self.0, $decimals, d, mode).unwrap_or_default()
            }

            /// Range-checks a computed raw value: `i128::MIN` is outside the documented range
            /// (`MIN` is `-MAX`), so a result landing exactly on it is refused like any overflow.
            pub(crate) fn from_wide(v: i128, op: &'static str) -> Result<Self, ArithError> {
                if v == i128::MIN { Err(ArithError::Overflow { op }) } else { Ok(Self(v)) }
            }
        }

        impl core::ops::Neg for $name {
            type Output = Self;

            /// Negation; never overflows for in-range values (`MIN` is `-MAX`).
            fn neg(self) -> Self {
                Self(self.0.saturating_neg())
            }
        }

        impl FromStr for $name {
            type Err = ParseDecimalError;

            /// Parses decimal text without floats.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let raw = parse_scaled(s, $decimals)?;
                if raw == i128::MIN { Err(ParseDecimalError::OutOfRange) } else { Ok(Self(raw)) }
            }
        }

        impl fmt::Display for $name {
            /// The shortest exact decimal text.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_scaled(self.0, $decimals, f)
            }
        }
    };
}

wide_type!(
    /// An amount of a currency in nano-units (`i128`): cash, value, pnl, commission, interest.
    ///
    /// Range ±1.7e29 units. Money is never a float and never compared as one.
    Money,
    NANO_DECIMALS
);

wide_type!(
    /// An exact sum of size × price products, in 10^-18 units (`i128`, ±1.7e20 units).
    ///
    /// What a position's cost basis and an order's executed value are kept in, so that averages and
    /// pnl derived from them are rounded once, at the end.
    Notional,
    NOTIONAL_DECIMALS
);

impl Money {
    /// Whole currency units, exactly.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of range.
    pub fn try_from_units(units: i64) -> Result<Self, ArithError> {
        i128::from(units)
            .checked_mul(i128::from(NANO))
            .map(Self)
            .ok_or(ArithError::Overflow { op: "Money::try_from_units" })
    }

    /// The exact value of this amount as a [`Notional`] (10^-18 units).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] beyond the notional range (±1.7e20 units).
    pub fn to_notional(self) -> Result<Notional, ArithError> {
        rescale(self.0, NANO_DECIMALS, NOTIONAL_DECIMALS, Rounding::HalfEven, "Money::to_notional")
            .map(Notional)
    }

    /// `self × r`, rounded once with `mode`.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of range.
    pub fn mul_ratio(self, r: Ratio, mode: Rounding) -> Result<Self, ArithError> {
        let op = "Money::mul_ratio";
        Self::from_wide(div_round(I256::from(self.0) * I256::from(r.raw()), I256::from(NANO), mode, op)?, op)
    }

    /// `self ÷ r` (value over leverage, say), rounded once with `mode`.
    ///
    /// # Errors
    /// [`ArithError::DivisionByZero`] for a zero ratio; [`ArithError::Overflow`] out of range.
    pub fn div_ratio(self, r: Ratio, mode: Rounding) -> Result<Self, ArithError> {
        let op = "Money::div_ratio";
        Self::from_wide(div_round(I256::from(self.0) * I256::from(NANO), I256::from(r.raw()), mode, op)?, op)
    }
}

impl Notional {
    /// Rounds to [`Money`] with `mode`; cannot overflow (a notional is always within money's range).
    pub fn to_money(self, mode: Rounding) -> Money {
        // |raw| / 10^9 < i128::MAX: the division never leaves the range. One native 128-bit
        // division by a constant power of ten: this runs on every valuation of every position.
        Money(
            div_round_pow10_i128(self.0, NOTIONAL_DECIMALS - NANO_DECIMALS, mode, "Notional::to_money")
                .unwrap_or_default(),
        )
    }

    /// The average price `self ÷ size`, rounded once with `mode`.
    ///
    /// # Errors
    /// [`ArithError::DivisionByZero`] for a zero size; [`ArithError::Overflow`] if the average is not a
    /// representable [`Price`].
    pub fn average_price(self, size: Qty, mode: Rounding) -> Result<Price, ArithError> {
        let op = "Notional::average_price";
        let v = div_round(I256::from(self.0), I256::from(size.raw()), mode, op)?;
        Price::from_i128(v, op)
    }

    /// `self × num ÷ den`, rounded once with `mode` at 10^-18: the cost basis left after a partial close.
    ///
    /// # Errors
    /// [`ArithError::DivisionByZero`] for a zero `den`; [`ArithError::Overflow`] out of range.
    pub fn scale_by_qty(self, num: Qty, den: Qty, mode: Rounding) -> Result<Self, ArithError> {
        let op = "Notional::scale_by_qty";
        Self::from_wide(
            div_round(I256::from(self.0) * I256::from(num.raw()), I256::from(den.raw()), mode, op)?,
            op,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::pow10;

    #[test]
    fn notional_is_exact_and_rounds_once() {
        let q: Qty = "0.00012345".parse().unwrap();
        let p: Price = "43210.12".parse().unwrap();
        let n = q.notional(p);
        assert_eq!(n.to_string(), "5.334289314");
        assert_eq!(n.to_money(Rounding::HalfEven).to_string(), "5.334289314");
        let q: Qty = "0.000000003".parse().unwrap();
        let p: Price = "0.5".parse().unwrap();
        assert_eq!(q.notional(p).to_string(), "0.0000000015");
        assert_eq!(q.notional(p).to_money(Rounding::HalfEven).to_string(), "0.000000002");
        assert_eq!(q.notional(p).to_money(Rounding::TowardZero).to_string(), "0.000000001");
    }

    #[test]
    fn to_money_is_the_general_division_rounded_once() {
        let modes = [
            Rounding::HalfEven,
            Rounding::HalfAwayFromZero,
            Rounding::TowardZero,
            Rounding::Floor,
            Rounding::Ceiling,
        ];
        let half = pow10(NOTIONAL_DECIMALS - NANO_DECIMALS) / 2;
        let mut raws =
            vec![0, 1, -1, half, -half, half + 1, -half - 1, 3 * half, -3 * half, i128::MAX, -i128::MAX];
        raws.extend([i128::MAX - half, 123_456_789_987_654_321_123, -987_654_321_123_456_789_555]);
        for raw in raws {
            for mode in modes {
                let want = div_round(
                    I256::from(raw),
                    I256::from(pow10(NOTIONAL_DECIMALS - NANO_DECIMALS)),
                    mode,
                    "t",
                )
                .unwrap();
                assert_eq!(Notional(raw).to_money(mode), Money(want), "{raw} {mode:?}");
            }
        }
    }

    #[test]
    fn average_price_from_exact_cost() {
        // buy 3000 @ 10.01, 4000 @ 10.02, 6000 @ 10.035: the average is not a 9-decimal number.
        let legs = [("3000", "10.01"), ("4000", "10.02"), ("6000", "10.035")];
        let mut cost = Notional::ZERO;
        let mut size = Qty::ZERO;
        for (q, p) in legs {
            let q: Qty = q.parse().unwrap();
            cost = cost.try_add(q.notional(p.parse().unwrap())).unwrap();
            size = size.try_add(q).unwrap();
        }
        assert_eq!(cost.to_string(), "130320");
        assert_eq!(cost.average_price(size, Rounding::HalfEven).unwrap().to_string(), "10.024615385");
        // Selling it all back at the average's rounded price would miss 5e-6 per unit of drift; the
        // exact cost does not.
        let half = cost.scale_by_qty("6500".parse().unwrap(), size, Rounding::HalfEven).unwrap();
        assert_eq!(half.to_string(), "65160");
    }

    #[test]
    fn money_ratio_and_text() {
        let m: Money = "36671".parse().unwrap();
        assert_eq!(m.mul_ratio("0.001".parse().unwrap(), Rounding::HalfEven).unwrap().to_string(), "36.671");
        assert_eq!(
            m.div_ratio("3".parse().unwrap(), Rounding::HalfEven).unwrap().to_string(),
            "12223.666666667"
        );
        assert!(m.div_ratio(Ratio::ZERO, Rounding::HalfEven).is_err());
        assert_eq!(Money::MAX.checked_add(Money::from_raw(1)), None);
        assert_eq!(m.to_fixed(2, Rounding::HalfEven), "36671.00");
        assert_eq!(m.to_notional().unwrap().to_money(Rounding::HalfEven), m);
    }
}
