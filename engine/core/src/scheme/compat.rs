//! The one place with binary64 arithmetic: backtrader's floors of double quotients, reproduced.
//!
//! backtrader derives a few whole sizes by floor division of Python floats, and a double quotient
//! can sit just below a whole number: `order_target_value` of 36524.6 at 3652.46 buys 9 units in
//! backtrader, 10 in exact arithmetic; the `fixed_bar_perc` filler with volume 3000 and 2.3% fills
//! 68, not 69 (FORMAT.md §2.2). A unit of difference changes every later number, so these sizes are
//! computed here the way CPython computes them:
//!
//! 1. each exact operand becomes the nearest double, by parsing its exact decimal text with
//!    `str::parse::<f64>` (correctly rounded; dividing the raw integer by 10^9 would round twice);
//! 2. backtrader's expression is evaluated in IEEE-754 binary64, operation by operation, in
//!    Python's order;
//! 3. the whole-number result becomes a [`Qty`] again.
//!
//! This is a copy of backtrader's arithmetic, not a way to compute money: nothing else in the crate
//! may use floats (the crate denies `clippy::float_arithmetic`).
//!
//! # Python's float `//`
//! `a // b` on floats is **not** `floor(a / b)`: `a / b` rounds first (36524.6 / 3652.46 is exactly
//! 10.0 in binary64) while `//` works from the exact remainder `fmod(a, b)` (here 3652.459999999998,
//! so the quotient is 9). `py_floor_div` follows CPython's `float_floor_div` (the `_float_div_mod`
//! helper of Objects/floatobject.c): `mod = fmod(a, b)`; `div = (a − mod) / b`; when `mod` is
//! non-zero and its sign differs from `b`'s, `div −= 1`; then `div` is snapped to the nearest whole
//! number (`floor(div)`, plus 1 if `div − floor(div) > 0.5`); a zero `div` takes the sign of `a / b`;
//! `b == 0` raises (here: [`CompatError::DivisionByZero`]). Rust's `%` on `f64` is C's `fmod`, which
//! is exact.
#![expect(
    clippy::float_arithmetic,
    reason = "this module reproduces backtrader's binary64 floors bit for bit (FORMAT.md §2.2); it is the only float code in the crate"
)]

use core::fmt::{self, Write as _};

use kestrel_types::{Money, Price, Qty, Ratio};

/// Why a binary64 size computation gave no size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompatError {
    /// Python would raise `ZeroDivisionError` (a zero price, margin or `minmov`-derived part count).
    #[error("{op}: float floor division by zero")]
    DivisionByZero {
        /// The computation.
        op: &'static str,
    },
    /// The result is infinite or NaN.
    #[error("{op}: result is not a finite number")]
    NotFinite {
        /// The computation.
        op: &'static str,
    },
    /// The whole-number result does not fit a [`Qty`] (±9.2e9 units).
    #[error("{op}: result out of the size range")]
    OutOfRange {
        /// The computation.
        op: &'static str,
    },
}

/// The cost of one unit in [`getsize`], in the form backtrader computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitCost {
    /// A given amount: the price (stock-like) or the margin parameter (futures-like).
    Amount(Price),
    /// `price × factor` evaluated in binary64: backtrader's automatic margin (`price × mult` or
    /// `price × automargin`).
    Product {
        /// The price.
        price: Price,
        /// The multiplier or automargin factor.
        factor: Ratio,
    },
}

/// Whole units `cash` buys at `unit` cost with `leverage`: backtrader's
/// `int(leverage * (cash // unitcost))`, in binary64.
///
/// # Errors
/// [`CompatError::DivisionByZero`] for a zero unit cost; [`CompatError::NotFinite`] /
/// [`CompatError::OutOfRange`] when the result is not a representable size.
// backtrader: comminfo.py CommInfoBase.getsize
pub fn getsize(cash: Money, unit: UnitCost, leverage: Ratio) -> Result<Qty, CompatError> {
    const OP: &str = "getsize";
    let unit_cost = match unit {
        UnitCost::Amount(p) => to_f64(p, OP)?,
        UnitCost::Product { price, factor } => to_f64(price, OP)? * to_f64(factor, OP)?,
    };
    let quotient = py_floor_div(to_f64(cash, OP)?, unit_cost, OP)?;
    // Python's int() truncates toward zero.
    whole_units((to_f64(leverage, OP)? * quotient).trunc(), OP)
}

/// The `fixed_bar_perc` filler's cap before the `min` with the remaining size:
/// `(volume * perc) // 100` in binary64 (FORMAT.md §4.11).
///
/// # Errors
/// [`CompatError::NotFinite`] / [`CompatError::OutOfRange`] when the result is not a size.
// backtrader: fillers.py FixedBarPerc.__call__
pub fn fixed_bar_perc(volume: Qty, perc: Ratio) -> Result<Qty, CompatError> {
    const OP: &str = "fixed_bar_perc";
    let cap = py_floor_div(to_f64(volume, OP)? * to_f64(perc, OP)?, 100.0, OP)?;
    whole_units(cap, OP)
}

/// The `bar_point_perc` filler's cap before the `min` with the remaining size:
/// `parts = (high - low + minmov) // minmov` (1 without a `minmov`, or with a zero one), then
/// `((volume / parts) * perc) // 100`, all in binary64 (FORMAT.md §4.11).
///
/// # Errors
/// [`CompatError::DivisionByZero`] when `parts` is 0 (a bar with `high < low`);
/// [`CompatError::NotFinite`] / [`CompatError::OutOfRange`] when the result is not a size.
// backtrader: fillers.py BarPointPerc.__call__
pub fn bar_point_perc(
    volume: Qty,
    high: Price,
    low: Price,
    minmov: Option<Price>,
    perc: Ratio,
) -> Result<Qty, CompatError> {
    const OP: &str = "bar_point_perc";
    let parts = match minmov.filter(|m| !m.is_zero()) {
        None => 1.0,
        Some(m) => {
            let m = to_f64(m, OP)?;
            py_floor_div(to_f64(high, OP)? - to_f64(low, OP)? + m, m, OP)?
        }
    };
    if parts == 0.0 {
        return Err(CompatError::DivisionByZero { op: OP });
    }
    let cap = py_floor_div(to_f64(volume, OP)? / parts * to_f64(perc, OP)?, 100.0, OP)?;
    whole_units(cap, OP)
}

/// Python's `a // b` on floats (CPython `float_floor_div`; see the module docs for the algorithm).
///
/// # Errors
/// [`CompatError::DivisionByZero`] for `b == 0`.
fn py_floor_div(a: f64, b: f64, op: &'static str) -> Result<f64, CompatError> {
    if b == 0.0 {
        return Err(CompatError::DivisionByZero { op });
    }
    let rem = a % b; // C fmod: exact, sign of `a`
    let mut div = (a - rem) / b;
    if rem != 0.0 && ((b < 0.0) != (rem < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return Ok(0.0_f64.copysign(a / b));
    }
    let mut floor = div.floor();
    if div - floor > 0.5 {
        floor += 1.0;
    }
    Ok(floor)
}

/// The nearest double to an exact decimal: its shortest exact text, parsed (correctly rounded).
///
/// The text is formatted into a stack buffer, so this allocates nothing.
fn to_f64(value: impl fmt::Display, op: &'static str) -> Result<f64, CompatError> {
    let mut buf = StackText::default();
    write!(buf, "{value}").map_err(|_| CompatError::OutOfRange { op })?;
    buf.as_str().parse::<f64>().map_err(|_| CompatError::NotFinite { op })
}

/// A whole-number double as a [`Qty`] of whole units.
fn whole_units(v: f64, op: &'static str) -> Result<Qty, CompatError> {
    if !v.is_finite() {
        return Err(CompatError::NotFinite { op });
    }
    // Whole units a Qty holds: ±9_223_372_036; both bounds are exact doubles.
    const MAX_UNITS: f64 = 9_223_372_036.0;
    if v.abs() > MAX_UNITS {
        return Err(CompatError::OutOfRange { op });
    }
    #[expect(clippy::cast_possible_truncation, reason = "v is a whole number within ±9.3e9, checked above")]
    let units = v as i64;
    Qty::try_from_units(units).map_err(|_| CompatError::OutOfRange { op })
}

/// Enough bytes for the longest decimal text of a Kestrel number (an `i128` money amount with nine
/// decimals and a sign: 41 bytes).
struct StackText {
    len: usize,
    bytes: [u8; 64],
}

impl Default for StackText {
    fn default() -> Self {
        Self { len: 0, bytes: [0; 64] }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        // Only `str` fragments are ever written, so the prefix is valid UTF-8.
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or("")
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
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

    #[test]
    fn order_target_value_example_floors_to_nine() {
        // FORMAT.md §2.2: 36524.6 // 3652.46 is 9.0 in CPython, although 36524.6 / 3652.46 is 10.0.
        let size = getsize("36524.6".parse().unwrap(), UnitCost::Amount(p("3652.46")), Ratio::ONE).unwrap();
        assert_eq!(size, q("9"));
    }

    #[test]
    fn fixed_bar_perc_example_floors_to_sixty_eight() {
        // FORMAT.md §2.2: 3000 × 2.3 is 6899.999999999999 in binary64, so // 100 gives 68.
        assert_eq!(fixed_bar_perc(q("3000"), r("2.3")).unwrap(), q("68"));
        assert_eq!(fixed_bar_perc(q("3000"), r("1")).unwrap(), q("30"));
    }

    #[test]
    fn bar_point_perc_parts_and_floor() {
        // H − L = 20, minmov 1 → 21 parts; 10500 / 21 × 50 // 100 = 250.
        assert_eq!(
            bar_point_perc(q("10500"), p("3700"), p("3680"), Some(p("1")), r("50")).unwrap(),
            q("250")
        );
        // Without minmov the whole volume is one part.
        assert_eq!(bar_point_perc(q("10500"), p("3700"), p("3680"), None, r("50")).unwrap(), q("5250"));
        assert_eq!(
            bar_point_perc(q("10500"), p("3700"), p("3680"), Some(Price::ZERO), r("50")).unwrap(),
            q("5250")
        );
        // A bar with high < low: (1 − 1.5 + 1) // 1 is zero parts, Python's ZeroDivisionError.
        assert_eq!(
            bar_point_perc(q("10"), p("1"), p("1.5"), Some(p("1")), r("50")),
            Err(CompatError::DivisionByZero { op: "bar_point_perc" })
        );
    }

    #[test]
    fn python_floor_division_semantics() {
        let fd = |a: f64, b: f64| py_floor_div(a, b, "test").unwrap();
        assert_eq!(fd(7.0, 2.0), 3.0);
        assert_eq!(fd(-7.0, 2.0), -4.0);
        assert_eq!(fd(7.0, -2.0), -4.0);
        assert_eq!(fd(-7.0, -2.0), 3.0);
        assert_eq!(fd(6899.999999999999, 100.0), 68.0);
        assert_eq!(fd(36524.6, 3652.46), 9.0);
        assert_eq!(fd(0.5, 2.0), 0.0);
        assert!(fd(-0.0, 2.0).is_sign_negative(), "a zero quotient keeps the sign of a / b");
        // The snap: (a − mod) / b can land a hair below a whole number; CPython rounds it back.
        assert_eq!(fd(1.0, 0.1), 9.0, "1.0 // 0.1 is 9.0 in CPython");
        assert_eq!(py_floor_div(1.0, 0.0, "t"), Err(CompatError::DivisionByZero { op: "t" }));
    }

    #[test]
    fn getsize_truncates_like_int_and_uses_leverage() {
        let cash: Money = "1000".parse().unwrap();
        assert_eq!(getsize(cash, UnitCost::Amount(p("3")), r("1")).unwrap(), q("333"));
        assert_eq!(getsize(cash, UnitCost::Amount(p("3")), r("1.5")).unwrap(), q("499"), "int(1.5 × 333)");
        let neg: Money = "-1000".parse().unwrap();
        assert_eq!(getsize(neg, UnitCost::Amount(p("3")), r("1.5")).unwrap(), q("-501"), "int(1.5 × −334)");
        assert_eq!(
            getsize("0.9".parse().unwrap(), UnitCost::Product { price: p("3"), factor: r("0.1") }, r("1"))
                .unwrap(),
            q("2"),
            "3 × 0.1 is 0.30000000000000004 in binary64, so 0.9 // it is 2, not 3"
        );
        assert_eq!(
            getsize(cash, UnitCost::Amount(Price::ZERO), r("1")),
            Err(CompatError::DivisionByZero { op: "getsize" })
        );
        assert_eq!(
            getsize(Money::MAX, UnitCost::Amount(p("0.000000001")), r("1")),
            Err(CompatError::OutOfRange { op: "getsize" })
        );
    }

    #[test]
    fn decimal_text_conversion_is_correctly_rounded() {
        assert_eq!(to_f64(p("3652.46"), "t").unwrap(), 3652.46);
        assert_eq!(to_f64(Money::MAX, "t").unwrap(), 1.7014118346046924e29);
        assert_eq!(to_f64(q("-0.000000001"), "t").unwrap(), -1e-9);
    }
}
