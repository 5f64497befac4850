//! `Currency`: an asset code (`USD`, `EUR`, `USDT`, `BTC`, `1000SHIB`) stored inline.
//!
//! Accounts at Binance, IB and OANDA hold several currencies; a backtest holds one. The code is the
//! identity: upper-case ASCII letters and digits, 1 to 12 bytes, `Copy`, ordered by text so that
//! balances iterate in a stable order.

use core::fmt;
use core::str::FromStr;

use crate::error::IdError;

/// A currency or asset code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    len: u8,
    code: [u8; Currency::CAPACITY],
}

impl Currency {
    /// Longest accepted code (Binance lists assets like `1000SATS`, `1MBABYDOGE`).
    pub const CAPACITY: usize = 12;
    /// US dollar: the default currency of a backtest whose data names none.
    pub const USD: Self = Self::from_ascii_const(b"USD");

    const fn from_ascii_const(b: &[u8]) -> Self {
        let mut code = [0u8; Self::CAPACITY];
        let mut i = 0;
        while i < b.len() {
            code[i] = b[i];
            i += 1;
        }
        // Only used with short literal codes.
        #[expect(clippy::cast_possible_truncation, reason = "const literals are at most 12 bytes")]
        let len = b.len() as u8;
        Self { len, code }
    }

    /// Validates a code.
    ///
    /// # Errors
    /// [`IdError`] for empty, too long, or anything but `A-Z` and `0-9`.
    pub fn try_new(code: &str) -> Result<Self, IdError> {
        const KIND: &str = "Currency";
        let b = code.as_bytes();
        if b.is_empty() {
            return Err(IdError::Empty { kind: KIND });
        }
        if b.len() > Self::CAPACITY {
            return Err(IdError::TooLong { kind: KIND, len: b.len(), max: Self::CAPACITY });
        }
        if let Some((position, &byte)) =
            b.iter().enumerate().find(|(_, c)| !(c.is_ascii_uppercase() || c.is_ascii_digit()))
        {
            return Err(IdError::InvalidByte { kind: KIND, byte, position });
        }
        Ok(Self::from_ascii_const(b))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.code[..usize::from(self.len)]).unwrap_or("")
    }
}

impl FromStr for Currency {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_new(s)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_validate() {
        assert_eq!("USDT".parse::<Currency>().unwrap().as_str(), "USDT");
        assert_eq!(Currency::USD, "USD".parse().unwrap());
        assert_eq!("1000SHIB".parse::<Currency>().unwrap().to_string(), "1000SHIB");
        assert!("usd".parse::<Currency>().is_err());
        assert!("".parse::<Currency>().is_err());
        assert!("ABCDEFGHIJKLM".parse::<Currency>().is_err());
        assert!(Currency::try_new("EUR").unwrap() < Currency::try_new("USD").unwrap());
    }
}
