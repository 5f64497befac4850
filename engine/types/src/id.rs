//! Identifiers: dense integers inside the engine, short inline strings at the venue edge.
//!
//! The engine indexes arrays with dense ids (`InstrumentId(u16)`, `VenueId(u8)`, `OrderId(u64)`);
//! venue strings are mapped at the gateway. Two venue strings must survive into the engine, because
//! correctness depends on comparing them: the venue's execution id (a duplicate fill is recognised
//! by it) and the client order id (a resubmission after a reconnect is recognised by it). They are
//! stored inline, `Copy`, with no heap.

use core::fmt;

use crate::error::IdError;

macro_rules! dense_id {
    ($(#[$doc:meta])* $name:ident($int:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(pub $int);

        impl $name {
            /// The index this id stands for, for dense arrays.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}#{}", stringify!($name), self.0)
            }
        }
    };
}

dense_id!(
    /// An order, assigned by the engine in creation order (so id order is creation order).
    OrderId(u64)
);
dense_id!(
    /// An instrument: an index into the run's instrument table.
    InstrumentId(u16)
);
dense_id!(
    /// A venue (a simulated broker or a live gateway): an index into the run's venue table.
    VenueId(u8)
);
dense_id!(
    /// A trade (a position's life from flat to flat), numbered by the engine in opening order.
    TradeId(u32)
);

/// A short string stored inline: printable ASCII, at most `N` bytes, `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InlineStr<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// Validates and copies `text` (non-empty, printable ASCII without spaces, at most `N` bytes).
    ///
    /// # Errors
    /// [`IdError`] naming `kind` and what is wrong.
    pub fn try_new(kind: &'static str, text: &str) -> Result<Self, IdError> {
        let b = text.as_bytes();
        if b.is_empty() {
            return Err(IdError::Empty { kind });
        }
        if b.len() > N || b.len() > usize::from(u8::MAX) {
            return Err(IdError::TooLong { kind, len: b.len(), max: N });
        }
        if let Some((position, &byte)) = b.iter().enumerate().find(|(_, c)| !c.is_ascii_graphic()) {
            return Err(IdError::InvalidByte { kind, byte, position });
        }
        let mut bytes = [0u8; N];
        bytes[..b.len()].copy_from_slice(b);
        // The length was checked against u8::MAX above.
        let len = u8::try_from(b.len()).unwrap_or(u8::MAX);
        Ok(Self { len, bytes })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only validated ASCII is ever stored, so this cannot fail; fall back to "" rather than panic.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

macro_rules! venue_str_id {
    ($(#[$doc:meta])* $name:ident, $cap:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(InlineStr<$cap>);

        impl $name {
            /// Longest accepted text, in bytes.
            pub const CAPACITY: usize = $cap;

            /// Validates the venue's text.
            ///
            /// # Errors
            /// [`IdError`] for empty, too long or non-printable text.
            pub fn try_new(text: &str) -> Result<Self, IdError> {
                InlineStr::try_new(stringify!($name), text).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// `prefix` followed by the digits of `n`, without touching the heap.
            ///
            /// # Errors
            /// [`IdError`] for an invalid prefix or a result longer than the capacity.
            pub fn try_numbered(prefix: &str, n: u64) -> Result<Self, IdError> {
                InlineStr::try_numbered(stringify!($name), prefix, n).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

impl<const N: usize> InlineStr<N> {
    /// `prefix` followed by the decimal digits of `n`, built on the stack (no heap): how simulators
    /// number their executions on the hot path.
    ///
    /// # Errors
    /// As [`InlineStr::try_new`] when the prefix is invalid or the whole does not fit.
    pub fn try_numbered(kind: &'static str, prefix: &str, n: u64) -> Result<Self, IdError> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut v = n;
        loop {
            i -= 1;
            // v % 10 < 10: the cast cannot truncate.
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let mut bytes = [0u8; N];
        let p = prefix.as_bytes();
        let len = p.len() + digits.len() - i;
        if len > N || len > usize::from(u8::MAX) {
            return Err(IdError::TooLong { kind, len, max: N });
        }
        bytes[..p.len()].copy_from_slice(p);
        bytes[p.len()..len].copy_from_slice(&digits[i..]);
        // Validated as a whole: same rules as text ids.
        let text = core::str::from_utf8(&bytes[..len]).map_err(|_| IdError::Empty { kind })?;
        Self::try_new(kind, text)
    }
}

venue_str_id!(
    /// The venue's id of one execution (IB `execId`, Binance trade id, OANDA transaction id, or the
    /// simulator's own): fills are deduplicated by it.
    ExecId,
    64
);
venue_str_id!(
    /// The client order id sent to the venue: unique and stable for the life of an order, so a
    /// resubmission after a reconnect is recognised instead of doubled. 64 bytes fit every venue's
    /// limit (Binance 36, IB's integer ids, OANDA's client extensions).
    ClientOrderId,
    64
);

/// The prefix of generated client order ids: an order store numbers its orders `<prefix>-<n>`.
///
/// Validated once, so that every generated id fits a [`ClientOrderId`] and building one can neither
/// fail nor touch the heap; the same prefix tells a generated id from a user's ([`Self::parse`]) and
/// reserves the pattern ([`Self::reserves`]), so that a user's id never collides with a later
/// generated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientIdPrefix(&'static str);

impl ClientIdPrefix {
    /// Longest accepted prefix, in bytes: room is left for `-` and the 20 digits of any `u64`.
    pub const MAX_LEN: usize = ClientOrderId::CAPACITY - 21;

    /// Validates `prefix` (non-empty, printable ASCII without spaces, at most [`Self::MAX_LEN`]).
    ///
    /// # Errors
    /// [`IdError`] naming what is wrong.
    pub fn try_new(prefix: &'static str) -> Result<Self, IdError> {
        let kind = "client id prefix";
        if prefix.len() > Self::MAX_LEN {
            return Err(IdError::TooLong { kind, len: prefix.len(), max: Self::MAX_LEN });
        }
        InlineStr::<{ ClientOrderId::CAPACITY }>::try_new(kind, prefix)?;
        Ok(Self(prefix))
    }

    /// The prefix.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The generated id `<prefix>-<n>`, built on the stack.
    pub fn id(self, n: u64) -> ClientOrderId {
        let mut digits = [0u8; 20];
        let mut first = digits.len();
        let mut v = n;
        for slot in digits.iter_mut().rev() {
            // v % 10 < 10: the cast cannot truncate.
            *slot = b'0' + (v % 10) as u8;
            first -= 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let mut bytes = [0u8; ClientOrderId::CAPACITY];
        let text = self.0.as_bytes().iter().chain(b"-").chain(digits.get(first..).unwrap_or_default());
        let mut len = 0u8;
        // The prefix was validated to leave room for any u64, so nothing is cut here; the
        // zip stops at the capacity regardless.
        for (dst, src) in bytes.iter_mut().zip(text) {
            *dst = *src;
            len += 1;
        }
        ClientOrderId(InlineStr { len, bytes })
    }

    /// `n` when `id` is exactly what [`Self::id`] gives for `n` (no sign, no leading zero).
    pub fn parse(self, id: &ClientOrderId) -> Option<u64> {
        let digits = self.digits(id)?;
        if digits.first() == Some(&b'0') {
            return None;
        }
        digits.iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
    }

    /// Whether `id` has the generated form `<prefix>-<digits>`: such ids are the store's to give,
    /// and a user's request carrying one is refused.
    pub fn reserves(self, id: &ClientOrderId) -> bool {
        self.digits(id).is_some()
    }

    /// The digits after `<prefix>-`, when that is all there is and there is at least one.
    fn digits(self, id: &ClientOrderId) -> Option<&[u8]> {
        let rest = id.as_str().as_bytes().strip_prefix(self.0.as_bytes())?.strip_prefix(b"-")?;
        (!rest.is_empty() && rest.iter().all(u8::is_ascii_digit)).then_some(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_ids_validate_and_compare_by_text() {
        let a = ExecId::try_new("0000e0d5.6571a6f6.01.01").unwrap();
        assert_eq!(a.as_str(), "0000e0d5.6571a6f6.01.01");
        assert_eq!(a, ExecId::try_new("0000e0d5.6571a6f6.01.01").unwrap());
        assert_ne!(a, ExecId::try_new("0000e0d5.6571a6f6.01.02").unwrap());
        assert_eq!(ExecId::try_new(""), Err(IdError::Empty { kind: "ExecId" }));
        assert_eq!(
            ClientOrderId::try_new(&"x".repeat(65)),
            Err(IdError::TooLong { kind: "ClientOrderId", len: 65, max: 64 })
        );
        assert_eq!(
            ClientOrderId::try_new("a b"),
            Err(IdError::InvalidByte { kind: "ClientOrderId", byte: b' ', position: 1 })
        );
        assert_eq!(format!("{a:>25}"), "  0000e0d5.6571a6f6.01.01");
    }

    #[test]
    fn numbered_ids_are_built_without_text() {
        assert_eq!(ExecId::try_numbered("sim-", 0).unwrap().as_str(), "sim-0");
        assert_eq!(ExecId::try_numbered("sim-", u64::MAX).unwrap().as_str(), "sim-18446744073709551615");
        assert!(ExecId::try_numbered(&"p".repeat(60), 12345).is_err());
        assert!(ExecId::try_numbered("a b", 1).is_err());
    }

    #[test]
    fn generated_client_ids_round_trip_and_reserve_their_pattern() {
        let p = ClientIdPrefix::try_new("sim").unwrap();
        assert_eq!(p.id(1).as_str(), "sim-1");
        assert_eq!(p.id(0).as_str(), "sim-0");
        assert_eq!(p.id(u64::MAX).as_str(), "sim-18446744073709551615");
        let long = ClientIdPrefix::try_new("p123456789012345678901234567890123456789012").unwrap();
        assert_eq!(long.id(u64::MAX).as_str().len(), ClientOrderId::CAPACITY);
        for n in [1, 9, 10, 12345, u64::MAX] {
            assert_eq!(p.parse(&p.id(n)), Some(n));
        }
        let cid = |s: &str| ClientOrderId::try_new(s).unwrap();
        assert_eq!(p.parse(&cid("sim-07")), None, "never generated: no leading zero");
        assert!(p.reserves(&cid("sim-07")));
        assert_eq!(p.parse(&cid("sim-18446744073709551616")), None);
        for other in ["sim", "sim-", "sim-1a", "simx-1", "si-1", "sim--1", "sim-+1", "T-1"] {
            assert_eq!(p.parse(&cid(other)), None, "{other}");
            assert!(!p.reserves(&cid(other)), "{other}");
        }
        assert!(ClientIdPrefix::try_new("").is_err());
        assert!(ClientIdPrefix::try_new("has space").is_err());
        assert!(ClientIdPrefix::try_new("p".repeat(44).leak()).is_err());
    }

    #[test]
    fn dense_ids_index_and_print() {
        assert_eq!(OrderId(7).index(), 7);
        assert_eq!(InstrumentId(3).to_string(), "InstrumentId#3");
        assert!(OrderId(1) < OrderId(2));
    }
}
