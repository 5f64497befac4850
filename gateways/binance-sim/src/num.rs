//! Decimal text in and out, exactly: parameters into [`Price`]/[`Qty`] with Binance's refusals,
//! and values out as Binance prints them (8 places, `"0.00100000"`).

use kestrel_types::{NANO, Price, Qty, Rounding};

use crate::error::ApiError;

/// Places Binance prints for these symbols' prices, quantities and balances.
pub const DECIMALS: u8 = 8;

/// A price as Binance prints it.
pub fn px(p: Price) -> String {
    p.to_fixed(DECIMALS, Rounding::HalfEven)
}

/// A quantity (or a balance, an amount of quote) as Binance prints it.
pub fn qty(q: Qty) -> String {
    q.to_fixed(DECIMALS, Rounding::HalfEven)
}

/// Parses a decimal parameter: Binance's legal pattern `^([0-9]{1,20})(\.[0-9]{1,20})?$`
/// (-1100 otherwise); more non-zero places than the nano grid holds is -1111.
pub fn parse_raw(name: &str, text: &str) -> Result<i64, ApiError> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(ApiError::illegal(name));
    }
    let frac = frac.unwrap_or("").trim_end_matches('0');
    if frac.len() > 9 {
        return Err(ApiError::precision(name));
    }
    let whole: i64 = int.parse().map_err(|_| ApiError::illegal(name))?;
    let mut f: i64 = 0;
    for b in frac.bytes() {
        f = f * 10 + i64::from(b - b'0');
    }
    f *= 10i64.pow(9 - frac.len() as u32);
    whole
        .checked_mul(NANO)
        .and_then(|w| w.checked_add(f))
        .ok_or_else(|| ApiError::bad(-1100, format!("Parameter '{name}' is out of range.")))
}

/// A price parameter.
pub fn parse_price(name: &str, text: &str) -> Result<Price, ApiError> {
    parse_raw(name, text).map(Price::from_raw)
}

/// A quantity parameter.
pub fn parse_qty(name: &str, text: &str) -> Result<Qty, ApiError> {
    parse_raw(name, text).map(Qty::from_raw)
}

/// `qty × price` in nano units of the quote, exact: `None` when the product has more than nine
/// places or overflows (the symbols' grids keep every product on the nano grid).
pub fn quote(q: Qty, p: Price) -> Option<i64> {
    let n = i128::from(q.raw()) * i128::from(p.raw());
    let nano = i128::from(NANO);
    if n % nano != 0 {
        return None;
    }
    i64::try_from(n / nano).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_binance() {
        assert_eq!(qty(Qty::from_raw(1_000_000)), "0.00100000");
        assert_eq!(px("60650.01".parse().unwrap()), "60650.01000000");
        assert_eq!(qty(Qty::ZERO), "0.00000000");
    }

    #[test]
    fn parses_exactly_and_refuses_like_binance() {
        assert_eq!(parse_raw("quantity", "0.001").unwrap(), 1_000_000);
        assert_eq!(parse_raw("quantity", "0.00100000000000").unwrap(), 1_000_000);
        assert_eq!(parse_raw("price", "90000.00").unwrap(), 90_000 * NANO);
        assert_eq!(parse_raw("quantity", "1e-05").unwrap_err().code, -1100);
        assert_eq!(parse_raw("quantity", "-1").unwrap_err().code, -1100);
        assert_eq!(parse_raw("quantity", "").unwrap_err().code, -1100);
        assert_eq!(parse_raw("quantity", "0.0000000001").unwrap_err().code, -1111);
        assert_eq!(quote(Qty::from_raw(1_000_000), "60000.01".parse().unwrap()), Some(60_000_010_000));
    }
}
