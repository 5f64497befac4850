//! `Price`, `Qty` and `Ratio`: signed 64-bit counts of nano-units (10^-9).
//!
//! One scale for all three means equal values are equal raw integers whatever the instrument, and
//! products need no per-instrument bookkeeping. The three are distinct types so that a price is never
//! added to a quantity by mistake; they share their code through one macro.
//!
//! # Range
//! `±9_223_372_036.854775807` units (`i64` nano-units): ±9.2e9 shares, contracts or coins, prices up
//! to 9.2e9 per unit, ratios up to 9.2e9. Anything outside is refused with a typed error.

use core::fmt;
use core::str::FromStr;

use ethnum::I256;

use crate::decimal::{Rounding, div_round, fmt_scaled, parse_scaled, to_fixed_string};
use crate::error::{ArithError, ParseDecimalError};

/// Decimal places of every nano-unit type.
pub const NANO_DECIMALS: u32 = 9;
/// Raw units per whole unit (10^9).
pub const NANO: i64 = 1_000_000_000;

macro_rules! nano_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);
            /// One whole unit.
            pub const ONE: Self = Self(NANO);
            /// The largest representable value.
            pub const MAX: Self = Self(i64::MAX);
            /// The smallest representable value (`-MAX`, so that negation never overflows).
            pub const MIN: Self = Self(-i64::MAX);
            /// Raw nano-units per whole unit.
            pub const SCALE: i64 = NANO;

            /// From a raw count of nano-units. `i64::MIN` is clamped to [`Self::MIN`]'s range by refusal
            /// elsewhere; this constructor is for values that came from this type.
            pub const fn from_raw(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw count of nano-units.
            pub const fn raw(self) -> i64 {
                self.0
            }

            /// Whole units, exactly.
            ///
            /// # Errors
            /// [`ArithError::Overflow`] beyond ±9.2e9 units.
            pub fn try_from_units(units: i64) -> Result<Self, ArithError> {
                units
                    .checked_mul(NANO)
                    .filter(|v| *v != i64::MIN)
                    .map(Self)
                    .ok_or(ArithError::Overflow { op: concat!(stringify!($name), "::try_from_units") })
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

            /// −1, 0 or +1.
            pub const fn signum(self) -> i64 {
                self.0.signum()
            }

            /// The absolute value (never overflows: `MIN` is `-MAX`).
            pub const fn abs(self) -> Self {
                Self(self.0.abs())
            }

            /// Checked sum: `None` out of range.
            pub fn checked_add(self, rhs: Self) -> Option<Self> {
                self.0.checked_add(rhs.0).filter(|v| *v != i64::MIN).map(Self)
            }

            /// Checked difference: `None` out of range.
            pub fn checked_sub(self, rhs: Self) -> Option<Self> {
                self.0.checked_sub(rhs.0).filter(|v| *v != i64::MIN).map(Self)
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


            /// `self × r`, rounded once onto the nano grid with `mode`.
            ///
            /// Off-grid results (a trail percent of a price, a slippage percent) are rounded here, once,
            /// with a named mode.
            ///
            /// # Errors
            /// [`ArithError::Overflow`] out of range.
            pub fn scale_by(self, r: crate::Ratio, mode: Rounding) -> Result<Self, ArithError> {
                let op = concat!(stringify!($name), "::scale_by");
                let v = div_round(I256::from(self.0) * I256::from(r.raw()), I256::from(NANO), mode, op)?;
                Self::from_i128(v, op)
            }

            /// `self ÷ r`, rounded once with `mode`.
            ///
            /// # Errors
            /// [`ArithError::DivisionByZero`] for a zero ratio, [`ArithError::Overflow`] out of range.
            pub fn div_by(self, r: crate::Ratio, mode: Rounding) -> Result<Self, ArithError> {
                let op = concat!(stringify!($name), "::div_by");
                let v = div_round(I256::from(self.0) * I256::from(NANO), I256::from(r.raw()), mode, op)?;
                Self::from_i128(v, op)
            }

            /// Rounds onto a multiple of `step` (a tick or lot size) with `mode`.
            ///
            /// # Errors
            /// [`ArithError::DivisionByZero`] for a zero step, [`ArithError::Overflow`] out of range.
            pub fn round_to_multiple(self, step: Self, mode: Rounding) -> Result<Self, ArithError> {
                let op = concat!(stringify!($name), "::round_to_multiple");
                let n = div_round(I256::from(self.0), I256::from(step.0), mode, op)?;
                let v = n.checked_mul(i128::from(step.0)).ok_or(ArithError::Overflow { op })?;
                Self::from_i128(v, op)
            }

            /// Whether this is an exact multiple of `step` (a zero step accepts only zero).
            pub const fn is_multiple_of(self, step: Self) -> bool {
                if step.0 == 0 { self.0 == 0 } else { self.0 % step.0 == 0 }
            }

            /// Text with exactly `decimals` places (≤ 9), rounded with `mode`: how an instrument displays it.
            pub fn to_fixed(self, decimals: u8, mode: Rounding) -> String {
                let d = u32::from(decimals).min(NANO_DECIMALS);
                // Rounding to fewer decimals of an i64 cannot overflow an i128.
                to_fixed_string(i128::from(self.0), NANO_DECIMALS, d, mode).unwrap_or_default()
            }

            pub(crate) fn from_i128(v: i128, op: &'static str) -> Result<Self, ArithError> {
                i64::try_from(v)
                    .ok()
                    .filter(|v| *v != i64::MIN)
                    .map(Self)
                    .ok_or(ArithError::Overflow { op })
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

            /// Parses decimal text without floats; see the module docs for the range.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let raw = parse_scaled(s, NANO_DECIMALS)?;
                Self::from_i128(raw, "parse").map_err(|_| ParseDecimalError::OutOfRange)
            }
        }

        impl fmt::Display for $name {
            /// The shortest exact decimal text (`3667.1`, `-0.25`, `10`); parsing it gives the same value.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_scaled(i128::from(self.0), NANO_DECIMALS, f)
            }
        }
    };
}

nano_type!(
    /// A price per unit of an instrument, in nano-units of its quote currency.
    ///
    /// Exact for every decimal with at most 9 places; off-grid prices (backtrader's percent trails and
    /// slippage, IB's average fill prices) are legal values: the tick grid lives in [`crate::Instrument`].
    Price
);

nano_type!(
    /// A signed quantity of an instrument (units, shares, contracts, coins) in nano-units.
    ///
    /// Signed because backtrader's sizes are: a sell is a negative execution, a short a negative position.
    Qty
);

nano_type!(
    /// A dimensionless rate in nano-units: commission rates, margins as fractions, interest, leverage,
    /// multipliers.
    ///
    /// Human decimals (`0.001` is 0.1%): the same 10^-9 grid, so a rate typed by a user is exact.
    Ratio
);

impl Qty {
    /// The exact notional `self × price` (10^-18 units): no rounding at all, and no overflow, since
    /// the product of two in-range `i64`s always fits the `i128` of a [`crate::Notional`].
    pub fn notional(self, price: Price) -> crate::Notional {
        crate::Notional::from_raw(i128::from(self.0) * i128::from(price.raw()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_one_plus_point_two_is_point_three() {
        let a: Price = "0.1".parse().unwrap();
        let b: Price = "0.2".parse().unwrap();
        assert_eq!(a.try_add(b).unwrap(), "0.3".parse().unwrap());
        assert_eq!(a.try_add(b).unwrap().to_string(), "0.3");
    }

    #[test]
    fn range_is_documented_and_enforced() {
        assert_eq!("9223372036.854775807".parse::<Qty>(), Ok(Qty::MAX));
        assert_eq!("-9223372036.854775807".parse::<Qty>(), Ok(Qty::MIN));
        assert_eq!("9223372036.854775808".parse::<Qty>(), Err(ParseDecimalError::OutOfRange));
        assert_eq!("-9223372036.854775808".parse::<Qty>(), Err(ParseDecimalError::OutOfRange));
        assert_eq!(Qty::MAX.checked_add(Qty::from_raw(1)), None);
        assert_eq!(Qty::MIN.checked_sub(Qty::from_raw(1)), None);
        assert!(matches!(Qty::MAX.try_add(Qty::ONE), Err(ArithError::Overflow { op: "Qty::try_add" })));
        assert!(Qty::try_from_units(9_223_372_037).is_err());
        assert_eq!(Qty::try_from_units(-3).unwrap().to_string(), "-3");
    }

    #[test]
    fn display_round_trips_and_trims() {
        for s in ["0", "1", "-1", "3667.1", "0.000000001", "-123.456789", "9223372036.854775807"] {
            let p: Price = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert_eq!("10.50".parse::<Price>().unwrap().to_string(), "10.5");
        assert_eq!(format!("{:>8}", "1.5".parse::<Price>().unwrap()), "     1.5");
    }

    #[test]
    fn scale_and_divide_round_once_with_the_named_mode() {
        let p: Price = "100.005".parse().unwrap();
        let r: Ratio = "0.01".parse().unwrap();
        assert_eq!(p.scale_by(r, Rounding::HalfEven).unwrap().to_string(), "1.00005");
        let third: Price =
            "1".parse::<Price>().unwrap().div_by("3".parse().unwrap(), Rounding::HalfEven).unwrap();
        assert_eq!(third.to_string(), "0.333333333");
        assert!(p.div_by(Ratio::ZERO, Rounding::HalfEven).is_err());
    }

    #[test]
    fn multiples_of_ticks_and_lots() {
        let tick: Price = "0.25".parse().unwrap();
        let p: Price = "100.37".parse().unwrap();
        assert!(!p.is_multiple_of(tick));
        assert_eq!(p.round_to_multiple(tick, Rounding::HalfEven).unwrap().to_string(), "100.25");
        assert_eq!(p.round_to_multiple(tick, Rounding::Ceiling).unwrap().to_string(), "100.5");
        assert_eq!(p.to_fixed(1, Rounding::HalfEven), "100.4");
        assert_eq!(p.to_fixed(4, Rounding::HalfEven), "100.3700");
    }
}
