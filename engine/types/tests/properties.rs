//! Property tests of Kestrel's exact numbers, with `rust_decimal` as the oracle.
//!
//! Every property states what a Kestrel number promises (ARCHITECTURE.md §3) and checks it against
//! an independent implementation: text round trips, parsing, checked sums, products and quotients
//! rounded once with each [`Rounding`] mode, and `Exact` products rounded once.
//!
//! # The oracle's limits
//! `rust_decimal` holds a 96-bit mantissa and at most 28 decimal places. Where an operand or an
//! intermediate would not fit, the *generators* are restricted so that the oracle is exact, rather
//! than the assertions weakened: products keep their operands' bit lengths summing to at most 95,
//! and quotients keep enough digits after the ninth decimal that rust_decimal's own 28-digit
//! rounding cannot move the nano-unit result (see [`quotient_operands`]). Ranges the oracle cannot
//! reach (the ends of the `i128` types) are checked against exact 256-bit integers instead.
//!
//! # Cost
//! 512 cases per property (`CASES`), each case checking all five rounding modes where it rounds:
//! the suite runs in seconds in CI. Failures are shrunk and recorded in
//! `engine/types/proptest-regressions/properties.txt`, which is committed and replayed first.

use core::fmt::{Debug, Display};
use core::str::FromStr;

use ethnum::I256;
use kestrel_types::{ArithError, Exact, Money, Notional, ParseDecimalError, Price, Qty, Ratio, Rounding};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use rust_decimal::{Decimal, RoundingStrategy};

/// Cases per property: enough to hit the edges the generators bias toward, few enough for CI.
const CASES: u32 = 512;

/// Where shrunk failures are kept and replayed first on every run (committed, ARCHITECTURE.md §10).
/// proptest's default looks for `lib.rs` beside the test, which an integration test has not.
const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/properties.txt");

/// The configuration every property runs with: `CASES`, or `PROPTEST_CASES` for a longer soak.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(CASES);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    }
}

/// Every Kestrel rounding mode with the rust_decimal strategy that means the same thing.
const MODES: [(Rounding, RoundingStrategy); 5] = [
    (Rounding::HalfEven, RoundingStrategy::MidpointNearestEven),
    (Rounding::HalfAwayFromZero, RoundingStrategy::MidpointAwayFromZero),
    (Rounding::TowardZero, RoundingStrategy::ToZero),
    (Rounding::Floor, RoundingStrategy::ToNegativeInfinity),
    (Rounding::Ceiling, RoundingStrategy::ToPositiveInfinity),
];

/// The largest raw value of the `i64` types; their range is symmetric (`MIN` is `-MAX`).
const NANO_MAX: i128 = i64::MAX as i128;
/// The largest raw value of the `i128` types; their range is symmetric too.
const WIDE_MAX: i128 = i128::MAX;
/// The largest magnitude a rust_decimal mantissa holds (2^96 − 1).
const DEC_MAX: i128 = (1 << 96) - 1;

// ---------------------------------------------------------------------------------------------
// Uniform access to the five number types.

/// What the properties need of `Price`, `Qty` and `Ratio`, which share one implementation.
trait Nano: Copy + Eq + Debug + Display + FromStr<Err = ParseDecimalError> {
    /// The type's name as it appears in error `op`s (`"Price::try_add"`).
    const NAME: &'static str;
    fn from_raw(raw: i64) -> Self;
    fn raw(self) -> i64;
    fn try_add(self, rhs: Self) -> Result<Self, ArithError>;
    fn try_sub(self, rhs: Self) -> Result<Self, ArithError>;
    fn checked_add(self, rhs: Self) -> Option<Self>;
    fn checked_sub(self, rhs: Self) -> Option<Self>;
    fn scale_by(self, r: Ratio, mode: Rounding) -> Result<Self, ArithError>;
    fn div_by(self, r: Ratio, mode: Rounding) -> Result<Self, ArithError>;
    fn to_fixed(self, decimals: u8, mode: Rounding) -> String;
}

macro_rules! impl_nano {
    ($($t:ident),*) => {$(
        impl Nano for $t {
            const NAME: &'static str = stringify!($t);
            fn from_raw(raw: i64) -> Self { $t::from_raw(raw) }
            fn raw(self) -> i64 { $t::raw(self) }
            fn try_add(self, rhs: Self) -> Result<Self, ArithError> { $t::try_add(self, rhs) }
            fn try_sub(self, rhs: Self) -> Result<Self, ArithError> { $t::try_sub(self, rhs) }
            fn checked_add(self, rhs: Self) -> Option<Self> { $t::checked_add(self, rhs) }
            fn checked_sub(self, rhs: Self) -> Option<Self> { $t::checked_sub(self, rhs) }
            fn scale_by(self, r: Ratio, mode: Rounding) -> Result<Self, ArithError> { $t::scale_by(self, r, mode) }
            fn div_by(self, r: Ratio, mode: Rounding) -> Result<Self, ArithError> { $t::div_by(self, r, mode) }
            fn to_fixed(self, decimals: u8, mode: Rounding) -> String { $t::to_fixed(self, decimals, mode) }
        }
    )*};
}
impl_nano!(Price, Qty, Ratio);

/// What the properties need of `Money` (10^-9) and `Notional` (10^-18), both `i128`.
trait Wide: Copy + Eq + Debug + Display + FromStr<Err = ParseDecimalError> {
    const NAME: &'static str;
    /// Decimal places of one raw unit.
    const DECIMALS: u32;
    fn from_raw(raw: i128) -> Self;
    fn raw(self) -> i128;
    fn try_add(self, rhs: Self) -> Result<Self, ArithError>;
    fn try_sub(self, rhs: Self) -> Result<Self, ArithError>;
    fn to_fixed(self, decimals: u8, mode: Rounding) -> String;
}

macro_rules! impl_wide {
    ($($t:ident = $decimals:expr),*) => {$(
        impl Wide for $t {
            const NAME: &'static str = stringify!($t);
            const DECIMALS: u32 = $decimals;
            fn from_raw(raw: i128) -> Self { $t::from_raw(raw) }
            fn raw(self) -> i128 { $t::raw(self) }
            fn try_add(self, rhs: Self) -> Result<Self, ArithError> { $t::try_add(self, rhs) }
            fn try_sub(self, rhs: Self) -> Result<Self, ArithError> { $t::try_sub(self, rhs) }
            fn to_fixed(self, decimals: u8, mode: Rounding) -> String { $t::to_fixed(self, decimals, mode) }
        }
    )*};
}
impl_wide!(Money = 9, Notional = 18);

// ---------------------------------------------------------------------------------------------
// Oracle helpers.

/// Whether `|v| ≤ max`, without `abs` overflowing on `i128::MIN` (which is out of every range).
fn within(v: i128, max: i128) -> bool {
    v.unsigned_abs() <= max.unsigned_abs()
}

/// `raw` units of 10^-`scale` as a rust_decimal (the caller keeps `|raw|` within 96 bits).
fn dec(raw: i128, scale: u32) -> Decimal {
    Decimal::try_from_i128_with_scale(raw, scale).expect("generator kept the value within rust_decimal")
}

/// The exact raw count of 10^-`scale` units in `d`, or `None` if it is not a whole count or does
/// not fit an `i128`.
fn raw_at(d: Decimal, scale: u32) -> Option<i128> {
    let d = d.normalize();
    let places = scale.checked_sub(d.scale())?;
    d.mantissa().checked_mul(10i128.checked_pow(places)?)
}

/// `d` rounded to `scale` places with `strategy`, as raw units; `None` out of `±max`.
fn rounded_raw(d: Decimal, scale: u32, strategy: RoundingStrategy, max: i128) -> Option<i128> {
    raw_at(d.round_dp_with_strategy(scale, strategy), scale).filter(|r| within(*r, max))
}

/// Asserts that `actual` is `expected` (raw units of an `i64` type), or `Overflow { op }` when the
/// oracle says the true result is out of range.
fn assert_nano<T: Nano>(
    actual: Result<T, ArithError>,
    expected: Option<i128>,
    op: &str,
    context: &dyn Fn() -> String,
) -> Result<(), TestCaseError> {
    match (actual, expected) {
        (Ok(v), Some(e)) => prop_assert_eq!(i128::from(v.raw()), e, "{}", context()),
        (Err(ArithError::Overflow { op: got }), None) => prop_assert_eq!(got, op, "{}", context()),
        (a, e) => prop_assert!(false, "{}: got {:?}, oracle {:?}", context(), a, e),
    }
    Ok(())
}

/// rust_decimal's text for `d` with exactly `places` decimals, with no negative zero (Kestrel's
/// integers have none; `-0.00` and `0.00` are the same value).
fn fixed_text(d: Decimal, places: u32) -> String {
    let d = if d.is_zero() { Decimal::ZERO } else { d };
    format!("{:.*}", places as usize, d)
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// Any in-range raw `i64` value, biased toward the range ends, small values and round numbers.
fn nano_raw() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => any::<i64>().prop_map(|v| v.max(-i64::MAX)),
        2 => -1_000_000_000_000i64..=1_000_000_000_000,
        1 => (0i64..1000).prop_map(|d| i64::MAX - d),
        1 => (0i64..1000).prop_map(|d| -(i64::MAX - d)),
        1 => (any::<i32>(), 0u32..=9).prop_map(|(m, e)| i64::from(m) * 10i64.pow(e)),
    ]
}

/// Any raw `i128` value with magnitude at most `max`, biased toward the ends and small values.
fn wide_raw(max: i128) -> impl Strategy<Value = i128> {
    prop_oneof![
        4 => any::<i128>().prop_map(move |v| v % max),
        2 => -1_000_000_000_000_000_000i128..=1_000_000_000_000_000_000,
        1 => (0i128..1000).prop_map(move |d| max - d),
        1 => (0i128..1000).prop_map(move |d| -(max - d)),
    ]
}

/// Two raw values whose sum lands within 3 units of either end of `±max`, just inside, exactly on
/// it, or just outside (including exactly on `-max - 1`, the one value two's complement has and
/// Kestrel's ranges do not). With `(a, b)` the sum is near the edge; with `(a, -b)` the difference.
fn boundary_pair(max: i128) -> impl Strategy<Value = (i128, i128)> {
    (0i128..1000, -3i128..=3, any::<bool>()).prop_map(move |(d, off, negative)| {
        let a = max - d;
        let b = d + off;
        if negative { (-a, -b) } else { (a, b) }
    })
}

/// A signed value of at most `bits` bits: `|v| < 2^bits`.
fn signed_bits(bits: u32) -> impl Strategy<Value = i128> {
    let max = (1i128 << bits) - 1;
    -max..=max
}

/// Two raw values whose product has at most `total` bits: one drawn from each bit length, so big
/// prices meet small rates and the reverse, and the product stays within rust_decimal's mantissa.
/// `a_max_bits` bounds the first (63 for the `i64` types), the second is always an `i64`.
fn product_operands(a_max_bits: u32, total: u32) -> impl Strategy<Value = (i128, i64)> {
    (0u32..=a_max_bits).prop_flat_map(move |a_bits| {
        let b_bits = total.saturating_sub(a_bits).min(63);
        (signed_bits(a_bits), signed_bits(b_bits).prop_map(|b| i64::try_from(b).unwrap_or(0)))
    })
}

/// A dividend and a non-zero `i64` divisor whose quotient rust_decimal computes closely enough to
/// be rounded to nine places exactly, for every mode.
///
/// Why: rust_decimal rounds a quotient to 28 significant digits; rounding that again to nine
/// places is a double rounding, wrong whenever the dropped tail sits within 10^-D of 0, ½ or 1,
/// where D is the number of digits kept past the ninth place. The tail is `rem / |divisor|`, so it
/// is at least `1 / (2·|divisor|)` away from those points; with a divisor of `dd` digits and a
/// quotient below `10^(18−dd)` (at most `18−dd` integer digits), D ≥ `dd+1` and the tail is always
/// resolved. `scale` is the dividend's extra decimal places relative to the quotient's (9 for
/// `Notional ÷ Qty`, 0 for `Price ÷ Ratio` after both are read at 10^-9).
fn quotient_operands(scale: u32, dividend_max: i128) -> impl Strategy<Value = (i128, i64)> {
    (1u32..=19).prop_flat_map(move |digits| {
        let lo = 10i128.pow(digits - 1);
        let hi = (10i128.pow(digits) - 1).min(NANO_MAX);
        (lo..=hi, any::<bool>()).prop_flat_map(move |(d, negative)| {
            // |quotient| < 10^(18 − digits) units, i.e. |dividend| < |d| · 10^(18 − digits + scale).
            let bound = if digits <= 18 {
                d.checked_mul(10i128.pow(18 - digits + scale)).unwrap_or(i128::MAX)
            } else {
                d / 10 * 10i128.pow(scale)
            };
            let bound = bound.min(dividend_max);
            let divisor = i64::try_from(if negative { -d } else { d }).unwrap_or(1);
            ((-bound..=bound), Just(divisor))
        })
    })
}

/// One factor of an `Exact` product: its raw nano-units and the same value for rust_decimal.
#[derive(Clone, Debug)]
struct Factor {
    raw: i64,
    dec: Decimal,
}

/// `n` decimal factors whose exact product rust_decimal holds: at most `digits` significant digits
/// and `places` decimal places in all, and at most `int_digits` integer digits in all (so a later
/// division keeps headroom). Each factor has at most 9 decimals and 9 integer digits (an `i64`).
fn factors(n: usize, digits: u32, places: u32, int_digits: u32) -> impl Strategy<Value = Vec<Factor>> {
    prop::collection::vec((any::<u64>(), 1u32..=18, 0u32..=9, any::<bool>()), n).prop_map(move |seeds| {
        let (mut digits_left, mut places_left, mut int_left) = (digits, places, int_digits);
        let count = seeds.len();
        seeds
            .into_iter()
            .enumerate()
            .map(|(i, (seed, d, s, negative))| {
                // Leave at least one digit for every later factor.
                let reserve = u32::try_from(count - i - 1).unwrap_or(0);
                let s = s.min(places_left);
                let d = d.min(digits_left.saturating_sub(reserve)).min(s + 9).min(s + int_left);
                let mantissa = i64::try_from(u128::from(seed) % 10u128.pow(d)).unwrap_or(0);
                let mantissa = if negative { -mantissa } else { mantissa };
                digits_left -= d;
                places_left -= s;
                int_left -= d.saturating_sub(s);
                Factor { raw: mantissa * 10i64.pow(9 - s), dec: Decimal::new(mantissa, s) }
            })
            .collect()
    })
}

/// Decimal text in the forms JSON writers and users produce, and the same number as plain text
/// (plus an exponent) for rust_decimal: `(kestrel_text, oracle_value)`.
///
/// Up to 10 integer and 12 fractional digits, so some texts carry more than nine decimals (some of
/// them only trailing zeros, which are exact), an optional sign, an optional point with digits on
/// either side, and an optional `e`/`E` exponent in −12..=12 with optional sign and leading zero.
fn decimal_text() -> impl Strategy<Value = (String, Decimal)> {
    let digits = |max| prop::collection::vec(0u8..10, 0..=max);
    (
        0u8..3,
        digits(10),
        prop::option::of(digits(12)),
        prop::option::weighted(0.3, (-12i32..=12, any::<bool>(), any::<bool>(), any::<bool>())),
    )
        .prop_map(|(sign, int, frac, exp)| {
            let text_of = |ds: &[u8]| ds.iter().map(|d| char::from(b'0' + d)).collect::<String>();
            let mut int = text_of(&int);
            let frac = frac.map(|f| text_of(&f));
            if int.is_empty() && frac.as_deref().is_none_or(str::is_empty) {
                int.push('0');
            }
            let mut kestrel = String::from(["", "+", "-"][usize::from(sign)]);
            kestrel.push_str(&int);
            let mut oracle = String::from(if sign == 2 { "-" } else { "" });
            oracle.push_str(if int.is_empty() { "0" } else { &int });
            if let Some(frac) = &frac {
                kestrel.push('.');
                kestrel.push_str(frac);
                if !frac.is_empty() {
                    oracle.push('.');
                    oracle.push_str(frac);
                }
            }
            let value = match exp {
                None => Decimal::from_str(&oracle),
                Some((e, upper, plus, zero_pad)) => {
                    kestrel.push(if upper { 'E' } else { 'e' });
                    kestrel.push_str(if e < 0 {
                        "-"
                    } else if plus {
                        "+"
                    } else {
                        ""
                    });
                    if zero_pad {
                        kestrel.push_str(&format!("{:02}", e.unsigned_abs()));
                    } else {
                        kestrel.push_str(&e.unsigned_abs().to_string());
                    }
                    Decimal::from_scientific(&format!("{oracle}e{e}"))
                }
            };
            (kestrel, value.expect("the oracle parses every generated number"))
        })
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the three `i64` types and the two `i128` types.

/// Parses `text` as `T` and compares with the oracle's value `d` at `decimals` places and `±max`.
fn check_parse<T: Debug>(
    parsed: Result<T, ParseDecimalError>,
    raw: impl Fn(&T) -> i128,
    text: &str,
    d: Decimal,
    decimals: u32,
    max: i128,
) -> Result<(), TestCaseError> {
    let n = d.normalize();
    match parsed {
        Ok(v) => {
            prop_assert!(n.scale() <= decimals, "{text:?} parsed although it has {} decimals", n.scale());
            prop_assert_eq!(Some(raw(&v)), raw_at(n, decimals), "{:?}", text);
        }
        Err(ParseDecimalError::TooManyDecimals { max: m, found }) => {
            prop_assert!(n.scale() > decimals, "{text:?} refused as too precise but is {n}");
            prop_assert_eq!(m, decimals);
            prop_assert!(found >= n.scale(), "{text:?}: found {found} < {} places", n.scale());
        }
        Err(ParseDecimalError::OutOfRange) => {
            prop_assert!(n.scale() <= decimals, "{text:?} has too many decimals, not out of range");
            let in_range = raw_at(n, decimals).is_some_and(|r| within(r, max));
            prop_assert!(!in_range, "{text:?} refused as out of range but is {n}");
        }
        Err(e) => prop_assert!(false, "{text:?}: unexpected {e:?}"),
    }
    Ok(())
}

fn nano_round_trip<T: Nano>(raw: i64) -> Result<(), TestCaseError> {
    let v = T::from_raw(raw);
    let text = v.to_string();
    prop_assert_eq!(text.parse::<T>(), Ok(v), "{}", text);
    // Shortest exact text: rust_decimal's normalised form has no trailing zeros and no lone point.
    prop_assert_eq!(text, dec(raw.into(), 9).normalize().to_string());
    Ok(())
}

fn wide_round_trip<T: Wide>(raw: i128) -> Result<(), TestCaseError> {
    let v = T::from_raw(raw);
    let text = v.to_string();
    prop_assert_eq!(text.parse::<T>(), Ok(v), "{}", text);
    if within(raw, DEC_MAX) {
        prop_assert_eq!(text, dec(raw, T::DECIMALS).normalize().to_string());
    }
    Ok(())
}

fn nano_add_sub<T: Nano>(a: i64, b: i64) -> Result<(), TestCaseError> {
    let (x, y) = (T::from_raw(a), T::from_raw(b));
    let ctx = || format!("{} {a} ± {b}", T::NAME);
    let sum = raw_at(dec(a.into(), 9) + dec(b.into(), 9), 9).filter(|r| within(*r, NANO_MAX));
    let diff = raw_at(dec(a.into(), 9) - dec(b.into(), 9), 9).filter(|r| within(*r, NANO_MAX));
    assert_nano(x.try_add(y), sum, &format!("{}::try_add", T::NAME), &ctx)?;
    assert_nano(x.try_sub(y), diff, &format!("{}::try_sub", T::NAME), &ctx)?;
    prop_assert_eq!(x.checked_add(y), x.try_add(y).ok());
    prop_assert_eq!(x.checked_sub(y), x.try_sub(y).ok());
    Ok(())
}

fn wide_add_sub<T: Wide>(a: i128, b: i128) -> Result<(), TestCaseError> {
    let (x, y) = (T::from_raw(a), T::from_raw(b));
    // Exact 256-bit integers reach the ends of the i128 range, where rust_decimal cannot.
    let in_range = |v: I256| i128::try_from(v).ok().filter(|v| within(*v, WIDE_MAX));
    let (sum, diff) = (in_range(I256::from(a) + I256::from(b)), in_range(I256::from(a) - I256::from(b)));
    for (got, want, op) in [(x.try_add(y), sum, "try_add"), (x.try_sub(y), diff, "try_sub")] {
        match (got, want) {
            (Ok(v), Some(w)) => prop_assert_eq!(v.raw(), w),
            (Err(ArithError::Overflow { op: o }), None) => prop_assert_eq!(o, format!("{}::{op}", T::NAME)),
            (g, w) => prop_assert!(false, "{} {a} {op} {b}: got {g:?}, want {w:?}", T::NAME),
        }
    }
    // Where rust_decimal holds the operands and the result, it agrees too.
    if within(a, DEC_MAX / 2) && within(b, DEC_MAX / 2) {
        let (da, db) = (dec(a, T::DECIMALS), dec(b, T::DECIMALS));
        prop_assert_eq!(x.try_add(y).map(T::raw).ok(), raw_at(da + db, T::DECIMALS));
        prop_assert_eq!(x.try_sub(y).map(T::raw).ok(), raw_at(da - db, T::DECIMALS));
    }
    Ok(())
}

fn nano_scale_by<T: Nano>(a: i64, r: i64) -> Result<(), TestCaseError> {
    let exact = dec(a.into(), 9) * dec(r.into(), 9);
    let op = format!("{}::scale_by", T::NAME);
    for (mode, strategy) in MODES {
        let ctx = || format!("{} {a} × ratio {r} {mode:?}", T::NAME);
        let got = T::from_raw(a).scale_by(Ratio::from_raw(r), mode);
        assert_nano(got, rounded_raw(exact, 9, strategy, NANO_MAX), &op, &ctx)?;
    }
    Ok(())
}

fn nano_div_by<T: Nano>(a: i64, r: i64) -> Result<(), TestCaseError> {
    let exact = dec(a.into(), 9) / dec(r.into(), 9);
    let op = format!("{}::div_by", T::NAME);
    for (mode, strategy) in MODES {
        let ctx = || format!("{} {a} ÷ ratio {r} {mode:?} (oracle {exact})", T::NAME);
        let got = T::from_raw(a).div_by(Ratio::from_raw(r), mode);
        assert_nano(got, rounded_raw(exact, 9, strategy, NANO_MAX), &op, &ctx)?;
    }
    Ok(())
}

fn nano_to_fixed<T: Nano>(raw: i64, places: u8) -> Result<(), TestCaseError> {
    for (mode, strategy) in MODES {
        let want =
            fixed_text(dec(raw.into(), 9).round_dp_with_strategy(places.into(), strategy), places.into());
        prop_assert_eq!(T::from_raw(raw).to_fixed(places, mode), want, "{} {} {:?}", T::NAME, raw, mode);
    }
    Ok(())
}

fn wide_to_fixed<T: Wide>(raw: i128, places: u8) -> Result<(), TestCaseError> {
    for (mode, strategy) in MODES {
        let d = dec(raw, T::DECIMALS).round_dp_with_strategy(places.into(), strategy);
        prop_assert_eq!(
            T::from_raw(raw).to_fixed(places, mode),
            fixed_text(d, places.into()),
            "{} {} {:?}",
            T::NAME,
            raw,
            mode
        );
    }
    Ok(())
}

/// Interest on `f = [rate, size, price]` over `days`, against the oracle.
fn check_interest(days: i64, f: &[Factor], notional: bool) -> Result<(), TestCaseError> {
    let (r, q, p) = (Ratio::from_raw(f[0].raw), Qty::from_raw(f[1].raw), Price::from_raw(f[2].raw));
    let e = Exact::int(days)
        .try_mul(Exact::ratio(r))
        .and_then(|e| e.try_mul(Exact::qty(q).abs()))
        .and_then(|e| e.try_mul(Exact::price(p)))
        .and_then(|e| e.try_div(Exact::int(365)));
    prop_assert!(e.is_ok(), "{:?}", e);
    let d = Decimal::from(days) * f[0].dec * f[1].dec.abs() * f[2].dec / Decimal::from(365);
    check_exact(e.unwrap_or(Exact::ZERO), d, &format!("{days} × {r} × |{q}| × {p} ÷ 365"), notional)
}

/// Checks one `Exact` value against the oracle's exact `d` for every rounding and every target.
/// `notional` also checks the 10^-18 reading, where the oracle has the digits for it.
fn check_exact(e: Exact, d: Decimal, what: &str, notional: bool) -> Result<(), TestCaseError> {
    for (mode, strategy) in MODES {
        let ctx = || format!("{what} = {d} {mode:?}");
        let money = e.to_money(mode).map(|m| m.raw()).ok();
        prop_assert_eq!(money, rounded_raw(d, 9, strategy, WIDE_MAX), "{} to_money", ctx());
        if notional {
            let got = e.to_notional(mode).map(|n| n.raw()).ok();
            prop_assert_eq!(got, rounded_raw(d, 18, strategy, WIDE_MAX), "{} to_notional", ctx());
        }
        assert_nano(e.to_price(mode), rounded_raw(d, 9, strategy, NANO_MAX), "Exact::to_price", &ctx)?;
        assert_nano(e.to_qty(mode), rounded_raw(d, 9, strategy, NANO_MAX), "Exact::to_qty", &ctx)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(config())]

    /// Display is the shortest exact text, and parsing it gives the same value back.
    #[test]
    fn display_round_trips(raw in nano_raw(), wide in wide_raw(WIDE_MAX), small in wide_raw(DEC_MAX)) {
        nano_round_trip::<Price>(raw)?;
        nano_round_trip::<Qty>(raw)?;
        nano_round_trip::<Ratio>(raw)?;
        for w in [wide, small] {
            wide_round_trip::<Money>(w)?;
            wide_round_trip::<Notional>(w)?;
        }
    }

    /// Text in every accepted form parses to rust_decimal's value, or is refused for the right
    /// reason: too many decimals (never rounded) or out of the type's range.
    #[test]
    fn parsing_agrees_with_rust_decimal((text, d) in decimal_text()) {
        check_parse(text.parse::<Price>(), |v| v.raw().into(), &text, d, 9, NANO_MAX)?;
        check_parse(text.parse::<Qty>(), |v| v.raw().into(), &text, d, 9, NANO_MAX)?;
        check_parse(text.parse::<Ratio>(), |v| v.raw().into(), &text, d, 9, NANO_MAX)?;
        check_parse(text.parse::<Money>(), |v| v.raw(), &text, d, 9, WIDE_MAX)?;
        check_parse(text.parse::<Notional>(), |v| v.raw(), &text, d, 18, WIDE_MAX)?;
    }

    /// A number with more significant decimals than the type holds is refused, naming how many.
    #[test]
    fn more_than_nine_decimals_is_refused(
        int in 0u64..10_000_000_000,
        extra in 1u32..=9,
        frac in any::<u64>(),
        negative in any::<bool>(),
        exponent_form in any::<bool>(),
    ) {
        for (max, places) in [(9, 9 + extra), (18, 18 + extra)] {
            // `places` decimals, the last one non-zero.
            let frac = u128::from(frac) % 10u128.pow(places - 1) * 10 + 1 + u128::from(frac % 9);
            let sign = if negative { "-" } else { "" };
            let text = if exponent_form {
                format!("{sign}{int}{frac:0width$}e-{places}", width = places as usize)
            } else {
                format!("{sign}{int}.{frac:0width$}", width = places as usize)
            };
            let refused = Some(ParseDecimalError::TooManyDecimals { max, found: places });
            if max == 9 {
                prop_assert_eq!(text.parse::<Price>().err(), refused, "{}", text);
                prop_assert_eq!(text.parse::<Qty>().err(), refused);
                prop_assert_eq!(text.parse::<Ratio>().err(), refused);
                prop_assert_eq!(text.parse::<Money>().err(), refused);
            } else {
                prop_assert_eq!(text.parse::<Notional>().err(), refused, "{}", text);
            }
        }
    }

    /// Sums and differences are exact, and overflow is an error exactly when the true result
    /// leaves ±(2^63 − 1) raw (the `i64` types) or ±(2^127 − 1) raw (the `i128` types): never a wrap.
    #[test]
    fn add_and_sub_are_exact_or_refused(
        a in nano_raw(),
        b in nano_raw(),
        edge in boundary_pair(NANO_MAX),
        wa in wide_raw(WIDE_MAX),
        wb in wide_raw(WIDE_MAX),
        wide_edge in boundary_pair(WIDE_MAX),
    ) {
        let narrow = |v: i128| i64::try_from(v).unwrap_or(0);
        let (ea, eb) = (narrow(edge.0), narrow(edge.1));
        for (x, y) in [(a, b), (ea, eb), (ea, -eb)] {
            nano_add_sub::<Price>(x, y)?;
            nano_add_sub::<Qty>(x, y)?;
            nano_add_sub::<Ratio>(x, y)?;
        }
        for (x, y) in [(wa, wb), wide_edge, (wide_edge.0, -wide_edge.1)] {
            wide_add_sub::<Money>(x, y)?;
            wide_add_sub::<Notional>(x, y)?;
        }
    }

    /// `x × ratio` is rounded once, like rust_decimal's exact product rounded with the same mode.
    #[test]
    fn scale_by_rounds_once((a, r) in product_operands(63, 95)) {
        let a = i64::try_from(a).unwrap_or(0);
        nano_scale_by::<Price>(a, r)?;
        nano_scale_by::<Qty>(a, r)?;
        nano_scale_by::<Ratio>(a, r)?;
    }

    /// `x ÷ ratio` is rounded once, like rust_decimal's quotient rounded with the same mode; a zero
    /// ratio is an error.
    #[test]
    fn div_by_rounds_once((a, r) in quotient_operands(0, NANO_MAX)) {
        let a = i64::try_from(a).unwrap_or(0);
        nano_div_by::<Price>(a, r)?;
        nano_div_by::<Qty>(a, r)?;
        nano_div_by::<Ratio>(a, r)?;
        prop_assert_eq!(
            Price::from_raw(a).div_by(Ratio::ZERO, Rounding::HalfEven),
            Err(ArithError::DivisionByZero { op: "Price::div_by" })
        );
    }

    /// `Money × ratio` (a commission rate, a margin fraction) is rounded once.
    #[test]
    fn money_mul_ratio_rounds_once((m, r) in product_operands(95, 95)) {
        let exact = dec(m, 9) * dec(r.into(), 9);
        for (mode, strategy) in MODES {
            let got = Money::from_raw(m).mul_ratio(Ratio::from_raw(r), mode).map(Money::raw);
            prop_assert_eq!(got.ok(), rounded_raw(exact, 9, strategy, WIDE_MAX), "{} × {} {:?}", m, r, mode);
        }
    }

    /// A notional (10^-18) becomes money (10^-9) with one rounding.
    #[test]
    fn notional_to_money_rounds_once(n in wide_raw(DEC_MAX)) {
        for (mode, strategy) in MODES {
            let want = rounded_raw(dec(n, 18), 9, strategy, WIDE_MAX);
            prop_assert_eq!(Some(Notional::from_raw(n).to_money(mode).raw()), want, "{} {:?}", n, mode);
        }
    }

    /// The average price of a cost basis is its exact quotient by the size, rounded once; an
    /// average outside the price range is an error, and so is a zero size.
    #[test]
    fn average_price_rounds_once((n, q) in quotient_operands(9, DEC_MAX)) {
        let exact = dec(n, 18) / dec(q.into(), 9);
        for (mode, strategy) in MODES {
            let ctx = || format!("{n} / {q} {mode:?} (oracle {exact})");
            let got = Notional::from_raw(n).average_price(Qty::from_raw(q), mode);
            assert_nano(got, rounded_raw(exact, 9, strategy, NANO_MAX), "Notional::average_price", &ctx)?;
        }
        prop_assert_eq!(
            Notional::from_raw(n).average_price(Qty::ZERO, Rounding::HalfEven),
            Err(ArithError::DivisionByZero { op: "Notional::average_price" })
        );
    }

    /// Fixed-decimal text rounds like rust_decimal with the same mode, for every type and width.
    #[test]
    fn to_fixed_rounds_like_rust_decimal(
        raw in nano_raw(),
        wide in wide_raw(DEC_MAX),
        places in 0u8..=9,
        notional_places in 0u8..=18,
    ) {
        nano_to_fixed::<Price>(raw, places)?;
        nano_to_fixed::<Qty>(raw, places)?;
        nano_to_fixed::<Ratio>(raw, places)?;
        wide_to_fixed::<Money>(wide, places)?;
        wide_to_fixed::<Notional>(wide, notional_places)?;
    }

    /// Commission = |size| × rate × price, one exact product rounded once into each target.
    #[test]
    fn exact_three_factor_product_rounds_once(f in factors(3, 28, 27, 27)) {
        let (q, r, p) = (Qty::from_raw(f[0].raw), Ratio::from_raw(f[1].raw), Price::from_raw(f[2].raw));
        let e = Exact::qty(q).abs().try_mul(Exact::ratio(r)).and_then(|e| e.try_mul(Exact::price(p)));
        prop_assert!(e.is_ok(), "{:?}", e);
        let d = f[0].dec.abs() * f[1].dec * f[2].dec;
        check_exact(e.unwrap_or(Exact::ZERO), d, &format!("|{q}| × {r} × {p}"), true)?;
    }

    /// pnl = size × (price move) × multiplier × fx rate: four factors, one rounding.
    #[test]
    fn exact_four_factor_product_rounds_once(f in factors(4, 28, 28, 28)) {
        let e = Exact::qty(Qty::from_raw(f[0].raw))
            .try_mul(Exact::price(Price::from_raw(f[1].raw)))
            .and_then(|e| e.try_mul(Exact::ratio(Ratio::from_raw(f[2].raw))))
            .and_then(|e| e.try_mul(Exact::ratio(Ratio::from_raw(f[3].raw))));
        prop_assert!(e.is_ok(), "{:?}", e);
        let d = f[0].dec * f[1].dec * f[2].dec * f[3].dec;
        check_exact(e.unwrap_or(Exact::ZERO), d, &format!("{f:?}"), true)?;
    }

    /// Interest = days × rate × |size| × price ÷ 365: four factors and a division, one rounding.
    /// The factors keep at most 9 decimals in all and the product below 10^16, so the quotient's
    /// tail past the ninth place is `k / 365` and rust_decimal's 28 digits resolve it (see
    /// `quotient_operands`).
    #[test]
    fn exact_interest_rounds_once(days in 1i64..=3650, f in factors(3, 24, 9, 12)) {
        check_interest(days, &f, false)?;
    }

    /// The same interest read at 10^-18: the product stays below 10^9 so that the quotient keeps
    /// three digits past the eighteenth place.
    #[test]
    fn exact_interest_to_notional_rounds_once(days in 1i64..=3650, f in factors(3, 24, 9, 5)) {
        check_interest(days, &f, true)?;
    }

    /// Equal rationals are equal whatever factors built them: `a × b ÷ b == a`.
    #[test]
    fn exact_equality_is_value_equality(a in nano_raw(), b in nano_raw().prop_filter("non-zero", |b| *b != 0)) {
        let a = Exact::price(Price::from_raw(a));
        let b = Exact::ratio(Ratio::from_raw(b));
        let back = a.try_mul(b).and_then(|ab| ab.try_div(b));
        prop_assert_eq!(back, Ok(a));
        prop_assert_eq!(back.and_then(|x| x.cmp_exact(a)), Ok(core::cmp::Ordering::Equal));
    }
}

// ---------------------------------------------------------------------------------------------
// Fixed cases the properties imply but a reader looks for by name.

/// The float classic: 0.1 + 0.2 is exactly 0.3 in every Kestrel number type.
#[test]
fn point_one_plus_point_two_is_point_three() {
    fn check<T: Nano>() {
        let (a, b): (T, T) = ("0.1".parse().expect("parses"), "0.2".parse().expect("parses"));
        let sum = a.try_add(b).expect("in range");
        assert_eq!(sum, "0.3".parse::<T>().expect("parses"), "{}", T::NAME);
        assert_eq!(sum.to_string(), "0.3");
    }
    fn check_wide<T: Wide>() {
        let a: T = "0.1".parse().expect("parses");
        let sum = a.try_add("0.2".parse().expect("parses")).expect("in range");
        assert_eq!(sum, "0.3".parse::<T>().expect("parses"), "{}", T::NAME);
        assert_eq!(sum.to_string(), "0.3");
    }
    check::<Price>();
    check::<Qty>();
    check::<Ratio>();
    check_wide::<Money>();
    check_wide::<Notional>();
    // And ten dimes are a dollar, not 0.9999999999999999.
    let dime: Money = "0.1".parse().expect("parses");
    let dollar = (0..10).try_fold(Money::ZERO, |acc, _| acc.try_add(dime)).expect("in range");
    assert_eq!(dollar.to_string(), "1");
}

/// Equality of `Exact` is by value, whatever fraction stores it.
#[test]
fn exact_equal_values_compare_equal() {
    assert_eq!(Exact::int(7).try_div(Exact::int(7)), Ok(Exact::ONE));
    assert_eq!(Exact::price(Price::ZERO), Exact::ZERO);
    assert_eq!(
        Exact::ratio("0.5".parse().expect("parses")),
        Exact::ONE.try_div(Exact::int(2)).expect("exact")
    );
    let seventh = Exact::ONE.try_div(Exact::int(7)).expect("exact");
    assert_ne!(seventh, Exact::ONE.try_div(Exact::int(-7)).expect("exact"));
    // When the cross-products pass 256 bits, lowest terms decide: 2^210 / 7^20 against the same
    // value stored as (11 · 2^210) / (11 · 7^20).
    let pow = |e: Exact, f: i64, n: u32| (0..n).try_fold(e, |acc, _| acc.try_mul(Exact::int(f)));
    let a = pow(Exact::ONE, 1 << 30, 7).and_then(|a| a.try_div(pow(Exact::ONE, 7, 20)?)).expect("fits");
    let b = a.try_mul(Exact::int(11)).and_then(|b| b.try_div(Exact::int(11))).expect("fits");
    assert_eq!(a, b);
    assert_ne!(a, b.try_add(Exact::ONE).expect("fits"));
}

/// Results that land exactly on `i128::MIN` are outside Money's and Notional's documented range
/// (`MIN` is `-MAX`, so that negation and `abs` never overflow) and must be refused like any other
/// overflow, not stored.
#[test]
fn wide_results_never_land_on_i128_min() {
    let half_min = -(1i128 << 126);
    let two: Ratio = "2".parse().expect("parses");
    let half: Ratio = "0.5".parse().expect("parses");
    assert!(Money::from_raw(half_min).mul_ratio(two, Rounding::HalfEven).is_err());
    assert!(Money::from_raw(half_min).div_ratio(half, Rounding::HalfEven).is_err());
    let n = Notional::from_raw(half_min);
    assert!(n.scale_by_qty("2".parse().expect("parses"), Qty::ONE, Rounding::HalfEven).is_err());
    let e = Exact::money(Money::from_raw(half_min)).try_mul(Exact::int(2)).expect("fits 256 bits");
    assert!(e.to_money(Rounding::HalfEven).is_err());
    let e = Exact::notional(n).try_mul(Exact::int(2)).expect("fits 256 bits");
    assert!(e.to_notional(Rounding::HalfEven).is_err());
    // Just inside the range is still fine.
    let inside = Money::from_raw(half_min + 1);
    assert_eq!(inside.mul_ratio(two, Rounding::HalfEven).map(Money::raw), Ok(-(i128::MAX - 1)));
}
