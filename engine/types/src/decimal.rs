//! Decimal text and scaled integers: parsing without floats, display, and division with a named rounding.
//!
//! Every Kestrel number is a whole count of some power-of-ten unit (10^-9 for prices, quantities, money
//! and ratios; 10^-18 for exact notionals). This module owns the three operations they all share, so
//! each number type is a thin, range-checked wrapper.
//!
//! # Invariants
//! Nothing here touches `f32`/`f64`: text becomes digits, digits become integers, and the only
//! rounding is [`div_round`] with an explicit [`Rounding`].

use core::fmt;
use ethnum::{I256, U256};

use crate::error::{ArithError, ParseDecimalError};

/// How a result that falls between two representable values is brought onto the grid.
///
/// Named at every call that can round, so a reader sees where money may move by one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Ties go to the even neighbour (banker's rounding): unbiased over many operations.
    HalfEven,
    /// Ties go away from zero: what most people mean by "round half up".
    HalfAwayFromZero,
    /// Drop the excess (truncate): what integer division does.
    TowardZero,
    /// Toward negative infinity.
    Floor,
    /// Toward positive infinity.
    Ceiling,
}

/// `10^n` as an `i128`, for the scales this crate uses (n ≤ 38).
pub(crate) const fn pow10(n: u32) -> i128 {
    let mut v: i128 = 1;
    let mut i = 0;
    while i < n {
        v *= 10;
        i += 1;
    }
    v
}

/// The largest power of ten below `I256::MAX` (10^76 < 2^255 < 10^77).
pub(crate) const MAX_EXP: u32 = 76;

/// The largest power of ten a `u128` holds (10^38 < 2^128 < 10^39).
pub(crate) const MAX_EXP_U128: u32 = 38;

/// `10^0 ..= 10^38`: every power of ten a `u128` holds, for lookups at run time.
pub(crate) const POW10_U128: [u128; MAX_EXP_U128 as usize + 1] = {
    let mut table = [1u128; MAX_EXP_U128 as usize + 1];
    let mut i = 1;
    while i <= MAX_EXP_U128 as usize {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// `10^0 ..= 10^76` as `I256`s, built at compile time in two 128-bit words.
const POW10_WIDE: [I256; MAX_EXP as usize + 1] = {
    const LOW: u128 = u64::MAX as u128;
    let mut table = [I256::ZERO; MAX_EXP as usize + 1];
    let (mut hi, mut lo): (u128, u128) = (0, 1);
    let mut i = 0;
    while i <= MAX_EXP as usize {
        // Every entry is below 2^255, so both words read as i128 bit patterns without loss.
        table[i] = I256::from_words(hi as i128, lo as i128);
        // (hi, lo) × 10 in 64-bit limbs; nothing carries out below 10^77.
        let a = (lo & LOW) * 10;
        let b = (lo >> 64) * 10 + (a >> 64);
        lo = (a & LOW) | (b << 64);
        hi = hi * 10 + (b >> 64);
        i += 1;
    }
    table
};

/// `10^k` as an `I256`, for `k ≤ MAX_EXP` (panics past it).
#[inline]
pub(crate) fn pow10_wide(k: u32) -> I256 {
    POW10_WIDE[k as usize]
}

/// Divides `num` by `den` and brings the quotient onto the integer grid with `mode`.
///
/// The 256-bit operands let callers form exact products of three 10^-9 numbers (size × price ×
/// rate) and round once, as FORMAT.md §2.2 asks, instead of rounding each intermediate.
///
/// Works on magnitudes and picks the narrowest division that holds the operands: `u128 ÷ u128`
/// when both fit (most money results), a 256-by-64-bit long division in two `u128` steps when only
/// the divisor is small (a product of three nano numbers over a power of ten up to 10^19), and
/// the full 256-bit division otherwise. Every path yields the same truncated quotient and remainder,
/// and one rounding step ([`round_quotient`]) applies the mode to all of them.
///
/// # Errors
/// [`ArithError::DivisionByZero`] for `den == 0`; [`ArithError::Overflow`] when the result does
/// not fit an `i128`.
pub(crate) fn div_round(num: I256, den: I256, mode: Rounding, op: &'static str) -> Result<i128, ArithError> {
    if den == I256::ZERO {
        return Err(ArithError::DivisionByZero { op });
    }
    let negative = num.is_negative() != den.is_negative();
    let (q, frac) =
        div_rem_magnitude(num.unsigned_abs(), den.unsigned_abs()).ok_or(ArithError::Overflow { op })?;
    round_quotient(negative, q, frac, mode, op)
}

/// [`div_round`] by `10^k` (`k ≤ MAX_EXP`, so the divisor fits an `I256`): the rounding of
/// every product of Kestrel numbers.
///
/// # Errors
/// [`ArithError::Overflow`] when the result does not fit an `i128`.
pub(crate) fn div_round_pow10(
    num: I256,
    k: u32,
    mode: Rounding,
    op: &'static str,
) -> Result<i128, ArithError> {
    let (hi, lo) = num.into_words();
    if hi == lo >> 127 && k <= MAX_EXP_U128 {
        return div_round_pow10_i128(lo, k, mode, op);
    }
    if k == 0 {
        return Err(ArithError::Overflow { op });
    }
    div_round(num, pow10_wide(k), mode, op)
}

/// [`div_round`] of an `i128` by `10^k` (`k ≤ MAX_EXP_U128`): one native 128-bit division,
/// small enough to inline where the result is used.
///
/// # Errors
/// [`ArithError::Overflow`] when the result does not fit an `i128` (only `−2^127` rounded away).
#[inline(always)]
pub(crate) fn div_round_pow10_i128(
    num: i128,
    k: u32,
    mode: Rounding,
    op: &'static str,
) -> Result<i128, ArithError> {
    if k == 0 {
        return Ok(num);
    }
    let (q, frac) = div_rem_u128(num.unsigned_abs(), POW10_U128[k as usize]);
    round_quotient(num < 0, q, frac, mode, op)
}

/// Where a division's remainder `r` lies against half its divisor `d`: all a rounding mode needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fraction {
    /// `r == 0`: the quotient is exact.
    Zero,
    /// `0 < r < d/2`.
    BelowHalf,
    /// `r == d/2`: a tie.
    Half,
    /// `r > d/2`.
    AboveHalf,
}

impl Fraction {
    /// Classifies `r` against `d` (`r < d`), comparing `r` with `d − r` so nothing overflows.
    #[inline]
    fn of_u128(r: u128, d: u128) -> Self {
        if r == 0 {
            return Self::Zero;
        }
        match r.cmp(&(d - r)) {
            core::cmp::Ordering::Less => Self::BelowHalf,
            core::cmp::Ordering::Equal => Self::Half,
            core::cmp::Ordering::Greater => Self::AboveHalf,
        }
    }

    /// [`Fraction::of_u128`] for 256-bit operands.
    fn of_u256(r: U256, d: U256) -> Self {
        if r == U256::ZERO {
            return Self::Zero;
        }
        match r.cmp(&(d - r)) {
            core::cmp::Ordering::Less => Self::BelowHalf,
            core::cmp::Ordering::Equal => Self::Half,
            core::cmp::Ordering::Greater => Self::AboveHalf,
        }
    }
}

/// `n ÷ d` truncated (`d > 0`), with where the remainder lies; `None` when the quotient is 2^128 or
/// more (then no `i128` holds the result, whatever the rounding).
fn div_rem_magnitude(n: U256, d: U256) -> Option<(u128, Fraction)> {
    let (n_hi, n_lo) = n.into_words();
    let (d_hi, d_lo) = d.into_words();
    if d_hi == 0 {
        if n_hi == 0 {
            return Some(div_rem_u128(n_lo, d_lo));
        }
        if let Ok(d64) = u64::try_from(d_lo) {
            return div_rem_by_u64(n_hi, n_lo, d64);
        }
    }
    div_rem_u256(n, d)
}

/// Both operands in `u128`: one native 128-bit division (the remainder comes from the same call).
#[inline]
fn div_rem_u128(n: u128, d: u128) -> (u128, Fraction) {
    let q = n / d;
    (q, Fraction::of_u128(n - q * d, d))
}

/// `(n_hi·2^128 + n_lo) ÷ d` for a divisor below 2^64: schoolbook long division in base 2^64,
/// where every step divides a `u128` below `d·2^64` by `d` (a quotient digit below 2^64).
fn div_rem_by_u64(n_hi: u128, n_lo: u128, d: u64) -> Option<(u128, Fraction)> {
    let d = u128::from(d);
    if n_hi >= d {
        // n ≥ d·2^128: the quotient needs more than 128 bits.
        return None;
    }
    const LOW: u128 = u64::MAX as u128;
    // n_hi < d < 2^64, so each partial dividend below fits a u128.
    let upper = (n_hi << 64) | (n_lo >> 64);
    let q1 = upper / d;
    let r1 = upper - q1 * d;
    let lower = (r1 << 64) | (n_lo & LOW);
    let q0 = lower / d;
    let r0 = lower - q0 * d;
    Some(((q1 << 64) | q0, Fraction::of_u128(r0, d)))
}

/// The general case: ethnum's 256-bit division.
fn div_rem_u256(n: U256, d: U256) -> Option<(u128, Fraction)> {
    let (q, r) = n.div_rem(d);
    let (q_hi, q_lo) = q.into_words();
    if q_hi != 0 {
        return None;
    }
    Some((q_lo, Fraction::of_u256(r, d)))
}

/// Applies `mode` to the truncated magnitude `q` of a quotient whose sign is `negative` and whose
/// dropped part is `frac`, and checks that the signed result fits an `i128`.
#[inline]
fn round_quotient(
    negative: bool,
    q: u128,
    frac: Fraction,
    mode: Rounding,
    op: &'static str,
) -> Result<i128, ArithError> {
    let away = match (frac, mode) {
        (Fraction::Zero, _) | (_, Rounding::TowardZero) => false,
        (_, Rounding::Floor) => negative,
        (_, Rounding::Ceiling) => !negative,
        (f, Rounding::HalfAwayFromZero) => f != Fraction::BelowHalf,
        (f, Rounding::HalfEven) => f == Fraction::AboveHalf || (f == Fraction::Half && q & 1 == 1),
    };
    let q = if away { q.checked_add(1).ok_or(ArithError::Overflow { op })? } else { q };
    let v = if negative { 0i128.checked_sub_unsigned(q) } else { i128::try_from(q).ok() };
    v.ok_or(ArithError::Overflow { op })
}

/// Rescales `raw` from `10^-from` units to `10^-to` units, rounding with `mode` when digits drop.
pub(crate) fn rescale(
    raw: i128,
    from: u32,
    to: u32,
    mode: Rounding,
    op: &'static str,
) -> Result<i128, ArithError> {
    if to >= from {
        raw.checked_mul(pow10(to - from)).ok_or(ArithError::Overflow { op })
    } else {
        div_round(I256::from(raw), I256::from(pow10(from - to)), mode, op)
    }
}

/// Parses decimal text (`-12.5`, `+3`, `.25`, `1e-5`, `2.5E3`) into a whole number of `10^-scale` units.
///
/// Exponents are accepted because JSON writers (Python's among them) print small rates as `1e-05`.
/// Trailing zeros beyond `scale` are fine; a non-zero digit beyond it is refused, never rounded.
///
/// # Errors
/// A [`ParseDecimalError`] naming what is wrong with the text; the caller range-checks the result.
pub(crate) fn parse_scaled(text: &str, scale: u32) -> Result<i128, ParseDecimalError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(ParseDecimalError::Empty);
    }
    let mut i = 0;
    let negative = match bytes[0] {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mantissa: i128 = 0;
    let mut frac_digits: i64 = 0;
    let mut digits = 0usize;
    let mut seen_point = false;
    // Significant digits beyond what an i128 holds cannot be represented anyway.
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(i128::from(c - b'0')))
                    .ok_or(ParseDecimalError::OutOfRange)?;
                digits += 1;
                if seen_point {
                    frac_digits += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            b'e' | b'E' => break,
            _ => return Err(ParseDecimalError::InvalidChar { position: i, found: char::from(c) }),
        }
        i += 1;
    }
    if digits == 0 {
        return Err(ParseDecimalError::NoDigits);
    }
    let mut exponent: i64 = 0;
    if i < bytes.len() {
        // bytes[i] is 'e' or 'E'.
        let exp_text = &text[i + 1..];
        exponent = parse_exponent(exp_text, i + 1)?;
    }
    let shift = i64::from(scale) + exponent - frac_digits;
    let raw = if shift >= 0 {
        let shift = u32::try_from(shift).map_err(|_| ParseDecimalError::OutOfRange)?;
        if shift > 38 {
            if mantissa == 0 {
                0
            } else {
                return Err(ParseDecimalError::OutOfRange);
            }
        } else {
            mantissa.checked_mul(pow10(shift)).ok_or(ParseDecimalError::OutOfRange)?
        }
    } else {
        let drop = u32::try_from(-shift).map_err(|_| ParseDecimalError::OutOfRange)?;
        let div = if drop > 38 { None } else { Some(pow10(drop)) };
        match div {
            Some(d) if mantissa % d == 0 => mantissa / d,
            None if mantissa == 0 => 0,
            _ => {
                return Err(ParseDecimalError::TooManyDecimals {
                    max: scale,
                    found: u32::try_from(-shift).unwrap_or(u32::MAX).saturating_add(scale),
                });
            }
        }
    };
    Ok(if negative { -raw } else { raw })
}

fn parse_exponent(text: &str, offset: usize) -> Result<i64, ParseDecimalError> {
    let bytes = text.as_bytes();
    let (negative, start) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        Some(_) => (false, 0),
        None => return Err(ParseDecimalError::NoDigits),
    };
    if start == bytes.len() {
        return Err(ParseDecimalError::NoDigits);
    }
    let mut e: i64 = 0;
    for (k, &c) in bytes.iter().enumerate().skip(start) {
        if !c.is_ascii_digit() {
            return Err(ParseDecimalError::InvalidChar { position: offset + k, found: char::from(c) });
        }
        // Exponents past a few hundred overflow every scale; cap instead of overflowing i64.
        e = (e * 10 + i64::from(c - b'0')).min(100_000);
    }
    Ok(if negative { -e } else { e })
}

/// Writes `raw` (in `10^-scale` units) as plain decimal text with trailing zeros trimmed.
///
/// The shortest exact text: parsing it back gives `raw` again.
pub(crate) fn fmt_scaled(raw: i128, scale: u32, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let unit = pow10(scale).unsigned_abs();
    let abs = raw.unsigned_abs();
    let int = abs / unit;
    let mut frac = abs % unit;
    let sign = if raw < 0 { "-" } else { "" };
    if frac == 0 {
        return f.pad(&format!("{sign}{int}"));
    }
    let mut width = scale as usize;
    while frac.is_multiple_of(10) {
        frac /= 10;
        width -= 1;
    }
    let text = format!("{sign}{int}.{frac:0width$}");
    f.pad(&text)
}

/// Writes `raw` (in `10^-scale` units) with exactly `decimals` places, rounding with `mode`.
///
/// # Errors
/// [`ArithError`] only if rounding overflows, which cannot happen for `decimals ≤ scale`.
pub(crate) fn to_fixed_string(
    raw: i128,
    scale: u32,
    decimals: u32,
    mode: Rounding,
) -> Result<String, ArithError> {
    let shown = rescale(raw, scale, decimals, mode, "to_fixed_string")?;
    let unit = pow10(decimals).unsigned_abs();
    let abs = shown.unsigned_abs();
    let sign = if shown < 0 { "-" } else { "" };
    let int = abs / unit;
    if decimals == 0 {
        return Ok(format!("{sign}{int}"));
    }
    let frac = abs % unit;
    let width = decimals as usize;
    Ok(format!("{sign}{int}.{frac:0width$}"))
}

/// The implementations this module replaced, kept verbatim for the tests to compare against.
#[cfg(test)]
pub(crate) mod reference {
    use super::Rounding;
    use crate::error::ArithError;
    use ethnum::I256;

    /// The 256-bit signed `div_round` before the fast paths: `/` and `%` on `I256`, then the mode.
    pub(crate) fn div_round(
        num: I256,
        den: I256,
        mode: Rounding,
        op: &'static str,
    ) -> Result<i128, ArithError> {
        if den == I256::ZERO {
            return Err(ArithError::DivisionByZero { op });
        }
        let q = num / den;
        let r = num % den;
        let q = if r == I256::ZERO {
            q
        } else {
            let negative = (num < I256::ZERO) != (den < I256::ZERO);
            let away = if negative { q - I256::ONE } else { q + I256::ONE };
            let twice_r = r.unsigned_abs() * 2;
            let abs_den = den.unsigned_abs();
            match mode {
                Rounding::TowardZero => q,
                Rounding::Floor => {
                    if negative {
                        away
                    } else {
                        q
                    }
                }
                Rounding::Ceiling => {
                    if negative {
                        q
                    } else {
                        away
                    }
                }
                Rounding::HalfAwayFromZero => {
                    if twice_r >= abs_den {
                        away
                    } else {
                        q
                    }
                }
                Rounding::HalfEven => {
                    if twice_r > abs_den || (twice_r == abs_den && q % 2 != I256::ZERO) {
                        away
                    } else {
                        q
                    }
                }
            }
        };
        i128::try_from(q).map_err(|_| ArithError::Overflow { op })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p9(s: &str) -> Result<i128, ParseDecimalError> {
        parse_scaled(s, 9)
    }

    #[test]
    fn parses_plain_signed_and_exponent_forms() {
        assert_eq!(p9("1"), Ok(1_000_000_000));
        assert_eq!(p9("-12.5"), Ok(-12_500_000_000));
        assert_eq!(p9("+.25"), Ok(250_000_000));
        assert_eq!(p9("3."), Ok(3_000_000_000));
        assert_eq!(p9("1e-05"), Ok(10_000));
        assert_eq!(p9("2.5E3"), Ok(2_500_000_000_000));
        assert_eq!(p9("0.123456789"), Ok(123_456_789));
        assert_eq!(p9("1.5000000000000"), Ok(1_500_000_000), "trailing zeros past the scale are exact");
        assert_eq!(p9("0e999999"), Ok(0));
    }

    #[test]
    fn refuses_what_it_cannot_represent_exactly() {
        assert_eq!(p9(""), Err(ParseDecimalError::Empty));
        assert_eq!(p9("-"), Err(ParseDecimalError::NoDigits));
        assert_eq!(p9("."), Err(ParseDecimalError::NoDigits));
        assert_eq!(p9("1e"), Err(ParseDecimalError::NoDigits));
        assert_eq!(p9("1.2.3"), Err(ParseDecimalError::InvalidChar { position: 3, found: '.' }));
        assert_eq!(p9("12a"), Err(ParseDecimalError::InvalidChar { position: 2, found: 'a' }));
        assert_eq!(p9("0.1234567891"), Err(ParseDecimalError::TooManyDecimals { max: 9, found: 10 }));
        assert_eq!(p9("1e-10"), Err(ParseDecimalError::TooManyDecimals { max: 9, found: 10 }));
        assert_eq!(p9("1e40"), Err(ParseDecimalError::OutOfRange));
        assert_eq!(p9("nan"), Err(ParseDecimalError::InvalidChar { position: 0, found: 'n' }));
    }

    #[test]
    fn every_rounding_mode_on_ties_and_non_ties() {
        let d = |n: i64, den: i64, m| div_round(I256::from(n), I256::from(den), m, "t").unwrap();
        use Rounding::*;
        // 2.5, -2.5, 3.5, 2.4, -2.6
        assert_eq!([d(5, 2, HalfEven), d(-5, 2, HalfEven), d(7, 2, HalfEven)], [2, -2, 4]);
        assert_eq!([d(5, 2, HalfAwayFromZero), d(-5, 2, HalfAwayFromZero)], [3, -3]);
        assert_eq!([d(12, 5, HalfEven), d(-13, 5, HalfEven)], [2, -3]);
        assert_eq!([d(7, 2, TowardZero), d(-7, 2, TowardZero)], [3, -3]);
        assert_eq!([d(7, 2, Floor), d(-7, 2, Floor)], [3, -4]);
        assert_eq!([d(7, 2, Ceiling), d(-7, 2, Ceiling)], [4, -3]);
        assert_eq!([d(7, -2, Floor), d(6, -2, Floor)], [-4, -3]);
        assert_eq!(
            div_round(I256::ONE, I256::ZERO, HalfEven, "t"),
            Err(ArithError::DivisionByZero { op: "t" })
        );
    }

    /// Every rounding mode with a short name, for the comparisons below.
    const MODES: [Rounding; 5] = [
        Rounding::HalfEven,
        Rounding::HalfAwayFromZero,
        Rounding::TowardZero,
        Rounding::Floor,
        Rounding::Ceiling,
    ];

    /// A deterministic stream of bits for the comparisons (SplitMix64).
    fn bits(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A signed 256-bit value with about `width` significant bits (1..=255) and a random sign.
    fn wide(state: &mut u64, width: u32) -> I256 {
        let words = [bits(state), bits(state), bits(state), bits(state)];
        let raw = U256::from_words(
            (u128::from(words[0]) << 64) | u128::from(words[1]),
            (u128::from(words[2]) << 64) | u128::from(words[3]),
        );
        let v = (raw >> (256 - width)).as_i256();
        if bits(state) & 1 == 1 { -v } else { v }
    }

    /// Edge operands: 0, ±1, ±2, the i64/u64/i128/u128 boundaries, powers of ten, I256's ends.
    fn edges() -> Vec<I256> {
        let mut v = vec![I256::ZERO, I256::ONE, I256::from(2), I256::from(3), I256::from(5), I256::from(10)];
        for x in [
            I256::from(i64::MAX),
            I256::from(u64::MAX),
            I256::from(u64::MAX) + 1,
            I256::from(i128::MAX),
            I256::from(i128::MAX) + 1,
            I256::from(i128::MAX) - 1,
            I256::from(u128::MAX),
            I256::from(u128::MAX) + 1,
            I256::MAX,
            I256::MAX - 1,
        ] {
            v.push(x);
        }
        for k in [9, 18, 19, 20, 27, 38, 39, 76] {
            v.push(pow10_wide(k));
            v.push(pow10_wide(k) / 2);
            v.push(pow10_wide(k) + 1);
        }
        let negatives: Vec<I256> = v.iter().map(|x| -*x).collect();
        v.extend(negatives);
        v.push(I256::MIN);
        v.push(I256::MIN + 1);
        v
    }

    /// The new `div_round` gives what the 256-bit implementation it replaced gave, result or error,
    /// in every mode: on edge operands, random operands of every width pair, and ties.
    #[test]
    fn div_round_matches_the_256_bit_reference() {
        let check = |n: I256, d: I256| {
            for mode in MODES {
                // The reference overflows on I256::MIN / −1 inside `/` (a panic); no caller divides
                // by a negative one that wide, and the new code reports it as an overflow.
                if n == I256::MIN && d == I256::MINUS_ONE {
                    assert_eq!(div_round(n, d, mode, "t"), Err(ArithError::Overflow { op: "t" }));
                    continue;
                }
                assert_eq!(
                    div_round(n, d, mode, "t"),
                    reference::div_round(n, d, mode, "t"),
                    "{n} / {d} {mode:?}"
                );
            }
        };
        let edges = edges();
        for &n in &edges {
            for &d in &edges {
                check(n, d);
            }
        }
        let mut state = 7;
        for _ in 0..20_000 {
            let (wn, wd) = ((bits(&mut state) % 255 + 1) as u32, (bits(&mut state) % 255 + 1) as u32);
            let (n, d) = (wide(&mut state, wn), wide(&mut state, wd));
            check(n, d);
            // A tie and its neighbours: n = q·d + d/2 (± 1) for an even d.
            let d = d.max(I256::from(2)) & !I256::ONE;
            let width = (bits(&mut state) % 127 + 1) as u32;
            let q = wide(&mut state, width);
            if let Some(t) = q.checked_mul(d).and_then(|x| x.checked_add(d / 2)) {
                for n in [t - 1, t, t + 1, -t] {
                    check(n, d);
                    check(n, -d);
                }
            }
        }
    }

    /// The three division paths agree with each other wherever more than one applies.
    #[test]
    fn division_paths_agree_on_the_same_operands() {
        let mut state = 11;
        for i in 0..50_000 {
            let width = (bits(&mut state) % 256) as u32 + 1;
            let n = wide(&mut state, width).unsigned_abs();
            let d = match i % 3 {
                0 => U256::from(bits(&mut state) >> (bits(&mut state) % 64)),
                1 => U256::from(POW10_U128[(bits(&mut state) % 20) as usize]),
                _ => U256::from(u128::from(bits(&mut state)) << (bits(&mut state) % 64)),
            };
            if d == U256::ZERO {
                continue;
            }
            let general = div_rem_u256(n, d);
            let (n_hi, n_lo) = n.into_words();
            let (d_hi, d_lo) = d.into_words();
            assert_eq!(d_hi, 0);
            if let Ok(d64) = u64::try_from(d_lo) {
                assert_eq!(div_rem_by_u64(n_hi, n_lo, d64), general, "{n} / {d}");
            }
            if n_hi == 0 {
                assert_eq!(Some(div_rem_u128(n_lo, d_lo)), general, "{n} / {d}");
            }
            assert_eq!(div_rem_magnitude(n, d), general);
        }
        // Quotients on either side of 2^128 through the 64-bit divisor path.
        let d = 1_000_000_007u64;
        let at = |q: U256| {
            let n = q * U256::from(d) + U256::from(d - 1);
            let (hi, lo) = n.into_words();
            (div_rem_by_u64(hi, lo, d), div_rem_u256(n, U256::from(d)))
        };
        let (fast, general) = at(U256::from(u128::MAX));
        assert_eq!(fast, Some((u128::MAX, Fraction::AboveHalf)));
        assert_eq!(fast, general);
        assert_eq!(at(U256::from(u128::MAX) + 1), (None, None));
    }

    /// `div_round_pow10` (and its inlined `i128` form) against the reference on 10^k divisors.
    #[test]
    fn power_of_ten_division_matches_the_reference() {
        let mut state = 13;
        let mut numerators = edges();
        for _ in 0..3_000 {
            let width = (bits(&mut state) % 255 + 1) as u32;
            numerators.push(wide(&mut state, width));
            // Ties at every scale: ±(q·10^k + 5·10^(k−1)).
            let k = (bits(&mut state) % 38 + 1) as u32;
            let q = I256::from(bits(&mut state) >> (bits(&mut state) % 64));
            numerators.push(q * pow10_wide(k) + pow10_wide(k) / 2);
            numerators.push(-(q * pow10_wide(k) + pow10_wide(k) / 2));
        }
        for &n in &numerators {
            for k in 0..=MAX_EXP {
                for mode in MODES {
                    let want = reference::div_round(n, pow10_wide(k), mode, "t");
                    assert_eq!(div_round_pow10(n, k, mode, "t"), want, "{n} / 10^{k} {mode:?}");
                    if let (Ok(small), true) = (i128::try_from(n), k <= MAX_EXP_U128) {
                        assert_eq!(div_round_pow10_i128(small, k, mode, "t"), want, "{n} / 10^{k} {mode:?}");
                    }
                }
            }
        }
    }

    /// Results that land on `i128::MIN` are returned (callers range-check them); one unit
    /// further is an overflow, in either sign.
    #[test]
    fn quotients_at_the_ends_of_i128() {
        use Rounding::*;
        let min = I256::from(i128::MIN);
        let max = I256::from(i128::MAX);
        assert_eq!(div_round(min, I256::ONE, HalfEven, "t"), Ok(i128::MIN));
        assert_eq!(div_round(-min, I256::MINUS_ONE, HalfEven, "t"), Ok(i128::MIN));
        assert_eq!(div_round(-min, I256::ONE, HalfEven, "t"), Err(ArithError::Overflow { op: "t" }));
        // (2·MIN − 1) / 2 = MIN − 0.5: Ceiling and the half-even tie (MIN is even) stay on MIN.
        let below = min * 2 - 1;
        assert_eq!(div_round(below, I256::from(2), Ceiling, "t"), Ok(i128::MIN));
        assert_eq!(div_round(below, I256::from(2), HalfEven, "t"), Ok(i128::MIN));
        assert_eq!(div_round(below, I256::from(2), Floor, "t"), Err(ArithError::Overflow { op: "t" }));
        // (2·MAX + 1) / 2 = MAX + 0.5: MAX is odd, so half-even and half-away go past it.
        let above = max * 2 + 1;
        assert_eq!(div_round(above, I256::from(2), TowardZero, "t"), Ok(i128::MAX));
        assert_eq!(div_round(above, I256::from(2), HalfEven, "t"), Err(ArithError::Overflow { op: "t" }));
        assert_eq!(
            div_round(above, I256::from(2), HalfAwayFromZero, "t"),
            Err(ArithError::Overflow { op: "t" })
        );
        assert_eq!(div_round_pow10_i128(i128::MIN, 0, HalfEven, "t"), Ok(i128::MIN));
        assert_eq!(div_round_pow10_i128(i128::MIN, 1, Floor, "t"), Ok(i128::MIN / 10 - 1));
    }

    /// The compile-time tables hold the powers of ten.
    #[test]
    fn power_of_ten_tables() {
        let mut p = I256::ONE;
        for k in 0..=MAX_EXP {
            assert_eq!(pow10_wide(k), p, "10^{k}");
            if k <= MAX_EXP_U128 {
                assert_eq!(I256::from(POW10_U128[k as usize]), p, "10^{k}");
                assert_eq!(I256::from(pow10(k)), p, "10^{k}");
            }
            p = p.checked_mul(I256::from(10)).unwrap_or(I256::MAX);
        }
        assert!(pow10_wide(MAX_EXP).checked_mul(I256::from(10)).is_none(), "10^77 does not fit");
    }

    #[test]
    fn fixed_strings_round_with_the_named_mode() {
        assert_eq!(to_fixed_string(1_235_000_000, 9, 2, Rounding::HalfEven).unwrap(), "1.24");
        assert_eq!(to_fixed_string(1_225_000_000, 9, 2, Rounding::HalfEven).unwrap(), "1.22");
        assert_eq!(to_fixed_string(-1_225_000_000, 9, 2, Rounding::HalfAwayFromZero).unwrap(), "-1.23");
        assert_eq!(to_fixed_string(-7_000_000_000, 9, 0, Rounding::HalfEven).unwrap(), "-7");
        assert_eq!(to_fixed_string(50_000_000, 9, 3, Rounding::HalfEven).unwrap(), "0.050");
    }
}
