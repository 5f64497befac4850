//! Why a Binance message could not be decoded: one typed error that names the message and the field.

use kestrel_types::ParseDecimalError;

/// A message from Binance that the decoders refused. Never a panic: every variant says which
/// message (`what`) and, for data errors, which field (the JSON path, e.g. `data.fills[0].price`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not JSON.
    #[error("{what}: malformed JSON at line {line} column {column}: {reason}")]
    Syntax {
        /// Which message was being decoded.
        what: &'static str,
        /// 1-based line of the fault.
        line: usize,
        /// 1-based column of the fault.
        column: usize,
        /// The parser's explanation.
        reason: String,
    },
    /// The text ends before the JSON does (a cut frame or body).
    #[error("{what}: truncated at line {line} column {column}")]
    Truncated {
        /// Which message was being decoded.
        what: &'static str,
        /// 1-based line where the input ended.
        line: usize,
        /// 1-based column where the input ended.
        column: usize,
    },
    /// A price, quantity or amount that is not an exact decimal of at most 9 places.
    #[error("{what}: field `{path}`: {text:?} is not an exact decimal: {source}")]
    Decimal {
        /// Which message was being decoded.
        what: &'static str,
        /// JSON path of the field.
        path: String,
        /// The text Binance sent.
        text: String,
        /// Why it was refused.
        source: ParseDecimalError,
    },
    /// A field is missing, has the wrong JSON type, or an unknown enumeration value.
    #[error("{what}: field `{path}`: {reason}")]
    Field {
        /// Which message was being decoded.
        what: &'static str,
        /// JSON path of the field (empty for the whole message).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}
