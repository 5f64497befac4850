//! Binance's decimal strings as exact Kestrel numbers, inside serde.
//!
//! Binance sends every price, quantity and amount as a JSON string (`"0.00100000"`) and every id and
//! time as a JSON integer. These helpers accept exactly that: a JSON number where a decimal string is
//! due is refused (a float could not be exact), and so is any text outside Binance's own decimal
//! form `-?digits[.digits]` (no exponent, no `+`, no spaces), even where Kestrel's general parser
//! would accept it.

use core::fmt;
use core::marker::PhantomData;
use core::str::FromStr;

use kestrel_types::{Money, ParseDecimalError, Price, Qty, Ratio};
use serde::Deserializer;
use serde::de::{self, Visitor};

/// Parses Binance's decimal text form into any Kestrel nano type.
///
/// # Errors
/// [`ParseDecimalError`] for text outside `-?[0-9]+(\.[0-9]+)?` or more than 9 significant decimals.
pub fn parse_decimal<T: FromStr<Err = ParseDecimalError>>(text: &str) -> Result<T, ParseDecimalError> {
    check_form(text)?;
    text.parse()
}

/// Binance's own form, checked before the general parser (which also takes exponents and `+`).
fn check_form(text: &str) -> Result<(), ParseDecimalError> {
    let b = text.as_bytes();
    if b.is_empty() {
        return Err(ParseDecimalError::Empty);
    }
    let start = usize::from(b[0] == b'-');
    let mut seen_point = false;
    let mut digits_before = 0usize;
    let mut digits_after = 0usize;
    for (i, &c) in b.iter().enumerate().skip(start) {
        match c {
            b'0'..=b'9' if seen_point => digits_after += 1,
            b'0'..=b'9' => digits_before += 1,
            b'.' if !seen_point && digits_before > 0 => seen_point = true,
            _ => return Err(ParseDecimalError::InvalidChar { position: i, found: char::from(c) }),
        }
    }
    if digits_before == 0 || (seen_point && digits_after == 0) {
        return Err(ParseDecimalError::NoDigits);
    }
    Ok(())
}

struct DecimalVisitor<T>(PhantomData<T>);

impl<T: FromStr<Err = ParseDecimalError>> Visitor<'_> for DecimalVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal string with at most 9 decimal places")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        parse_decimal(v).map_err(|e| E::custom(format_args!("{v:?}: {e}")))
    }
}

fn decimal<'de, D: Deserializer<'de>, T: FromStr<Err = ParseDecimalError>>(d: D) -> Result<T, D::Error> {
    d.deserialize_str(DecimalVisitor(PhantomData))
}

/// A price string.
pub(crate) fn price<'de, D: Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
    decimal(d)
}

/// A quantity string.
pub(crate) fn qty<'de, D: Deserializer<'de>>(d: D) -> Result<Qty, D::Error> {
    decimal(d)
}

/// An amount string that may exceed a `Qty`'s ±9.2e9 (notional bounds, 24h quote volumes).
pub(crate) fn money<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
    decimal(d)
}

/// A rate or multiplier string (`"0.00150000"`, `"5"`).
pub(crate) fn ratio<'de, D: Deserializer<'de>>(d: D) -> Result<Ratio, D::Error> {
    decimal(d)
}

/// An optional price string (absent or `null` is `None`).
pub(crate) fn opt_price<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Price>, D::Error> {
    opt(d)
}

/// An optional quantity string.
pub(crate) fn opt_qty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Qty>, D::Error> {
    opt(d)
}

/// An optional amount string.
pub(crate) fn opt_money<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
    opt(d)
}

fn opt<'de, D: Deserializer<'de>, T: FromStr<Err = ParseDecimalError>>(d: D) -> Result<Option<T>, D::Error> {
    struct OptVisitor<T>(PhantomData<T>);
    impl<'de, T: FromStr<Err = ParseDecimalError>> Visitor<'de> for OptVisitor<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null or a decimal string")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            decimal(d).map(Some)
        }
    }
    d.deserialize_option(OptVisitor(PhantomData))
}

/// Epoch milliseconds sent as an integer, or (older listenKeyExpired frames) as a string of digits.
pub(crate) fn millis_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct MsVisitor;
    impl Visitor<'_> for MsVisitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("epoch milliseconds as an integer or a string of digits")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
                return Err(E::custom(format_args!("{v:?} is not epoch milliseconds")));
            }
            v.parse().map_err(|_| E::custom(format_args!("{v:?} is out of range")))
        }
    }
    d.deserialize_any(MsVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binance_form_only() {
        assert_eq!(parse_decimal::<Price>("0.00100000").unwrap().raw(), 1_000_000);
        assert_eq!(parse_decimal::<Qty>("-9.68746346").unwrap().to_string(), "-9.68746346");
        assert_eq!(parse_decimal::<Qty>("100").unwrap(), Qty::try_from_units(100).unwrap());
        for bad in ["", "-", ".5", "5.", "1e-05", "+1", " 1", "1 ", "0x10", "1.2.3", "NaN", "--1"] {
            assert!(parse_decimal::<Price>(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_decimal::<Price>("0.0000000001"),
            Err(ParseDecimalError::TooManyDecimals { max: 9, found: 10 })
        );
    }
}
