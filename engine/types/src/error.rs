//! Errors of the number, time and instrument types: small, `Copy` where they can be hot.

/// An arithmetic result that cannot be represented: refused, never wrapped or saturated.
///
/// `op` names the operation (`"Price::try_add"`), so the error says where money would have gone wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArithError {
    /// The exact result is outside the type's documented range.
    #[error("{op}: result out of range")]
    Overflow {
        /// The operation that overflowed.
        op: &'static str,
    },
    /// A division by zero (a zero size, price, leverage or tick).
    #[error("{op}: division by zero")]
    DivisionByZero {
        /// The operation that divided.
        op: &'static str,
    },
}

/// Why decimal text could not become a Kestrel number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseDecimalError {
    /// The text is empty.
    #[error("empty number")]
    Empty,
    /// A sign or a point with no digit, or an exponent marker with no exponent.
    #[error("no digits in number")]
    NoDigits,
    /// A character that does not belong in a decimal number.
    #[error("invalid character {found:?} at byte {position}")]
    InvalidChar {
        /// Byte offset in the text.
        position: usize,
        /// The character found there.
        found: char,
    },
    /// More significant decimal places than the type holds; refused rather than rounded.
    #[error("{found} decimal places, at most {max} are exact")]
    TooManyDecimals {
        /// Places the type holds.
        max: u32,
        /// Places the text needs.
        found: u32,
    },
    /// The value is outside the type's range (see each type's documentation).
    #[error("number out of range")]
    OutOfRange,
}

/// Why an identifier or a currency code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty text where an id is required.
    #[error("{kind}: empty")]
    Empty {
        /// Which kind of id.
        kind: &'static str,
    },
    /// Longer than the fixed inline capacity.
    #[error("{kind}: {len} bytes, at most {max}")]
    TooLong {
        /// Which kind of id.
        kind: &'static str,
        /// Length of the text.
        len: usize,
        /// Capacity.
        max: usize,
    },
    /// A byte outside the allowed set (printable ASCII; for currencies `A-Z`/`0-9`).
    #[error("{kind}: invalid byte {byte:#04x} at {position}")]
    InvalidByte {
        /// Which kind of id.
        kind: &'static str,
        /// Offending byte.
        byte: u8,
        /// Its offset.
        position: usize,
    },
}
