//! The file header and its instrument table.

use kestrel_types::{Currency, Instrument, InstrumentId, InstrumentSpec, Price, Qty, Ratio, VenueId};

/// The first eight bytes of every Kestrel tick file and journal.
pub const MAGIC: [u8; 8] = *b"KESTRELT";
/// The format version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Bytes per instrument entry.
pub const INSTRUMENT_ENTRY: usize = 128;
const FIXED: usize = 64;
const SYMBOL: usize = 32;
const CURRENCY: usize = 12;

/// Tick file or journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// Market data, written once.
    Tick,
    /// An engine's append-only journal, CRC per record.
    Journal,
}

impl FileKind {
    fn code(self) -> u8 {
        match self {
            Self::Tick => 1,
            Self::Journal => 2,
        }
    }
}

/// Why a header was refused (the reader adds the path).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Shorter than its own fixed part or table.
    #[error("header truncated: {len} bytes, need {need}")]
    Truncated {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// Not a Kestrel file.
    #[error("not a Kestrel tick file (magic {found:?})")]
    BadMagic {
        /// The first eight bytes.
        found: [u8; 8],
    },
    /// A version this build does not read.
    #[error("unsupported version {found} (this build reads {VERSION})")]
    UnsupportedVersion {
        /// The file's version.
        found: u16,
    },
    /// A record size other than 64.
    #[error("record size {found}, expected 64")]
    RecordSize {
        /// The file's record size.
        found: u16,
    },
    /// An unknown file kind byte.
    #[error("unknown file kind {found}")]
    UnknownKind {
        /// The byte.
        found: u8,
    },
    /// The header length is not a multiple of 64 or does not cover the table.
    #[error("header length {found} is invalid for {instruments} instruments")]
    BadLength {
        /// The stored length.
        found: u32,
        /// The stored instrument count.
        instruments: u32,
    },
    /// The header's checksum does not match.
    #[error("header checksum {stored:#010x} does not match {computed:#010x}")]
    BadChecksum {
        /// Stored CRC32C.
        stored: u32,
        /// Computed CRC32C.
        computed: u32,
    },
    /// An instrument entry is not valid.
    #[error("instrument {index}: {reason}")]
    BadInstrument {
        /// Index in the table.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Tick file or journal.
    pub kind: FileKind,
    /// The instrument table: record `instrument` fields index it.
    pub instruments: Vec<Instrument>,
    /// Records in a tick file (0 in journals).
    pub record_count: u64,
}

fn put_i64(buf: &mut [u8], at: usize, v: i64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_i64(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_le_bytes(b)
}

fn get_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn text(buf: &[u8]) -> Result<&str, String> {
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    core::str::from_utf8(&buf[..end]).map_err(|_| "text is not UTF-8".to_owned())
}

impl Header {
    /// The header's length in bytes: where the records start.
    pub fn len_bytes(&self) -> usize {
        FIXED + self.instruments.len() * INSTRUMENT_ENTRY
    }

    /// The header as bytes, checksum included.
    ///
    /// # Errors
    /// A message when an instrument does not fit the table (a symbol over 32 bytes).
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; self.len_bytes()];
        buf[0..8].copy_from_slice(&MAGIC);
        buf[8..10].copy_from_slice(&VERSION.to_le_bytes());
        buf[10..12].copy_from_slice(&64u16.to_le_bytes());
        buf[12] = self.kind.code();
        let len = u32::try_from(self.len_bytes()).map_err(|_| "too many instruments".to_owned())?;
        let count = u32::try_from(self.instruments.len()).map_err(|_| "too many instruments".to_owned())?;
        buf[16..20].copy_from_slice(&len.to_le_bytes());
        buf[20..24].copy_from_slice(&count.to_le_bytes());
        buf[24..32].copy_from_slice(&self.record_count.to_le_bytes());
        for (i, ins) in self.instruments.iter().enumerate() {
            let e = &mut buf[FIXED + i * INSTRUMENT_ENTRY..FIXED + (i + 1) * INSTRUMENT_ENTRY];
            let sym = ins.symbol().as_bytes();
            if sym.len() > SYMBOL {
                return Err(format!(
                    "instrument {i}: symbol {:?} is longer than {SYMBOL} bytes",
                    ins.symbol()
                ));
            }
            e[..sym.len()].copy_from_slice(sym);
            e[32] = ins.venue().0;
            e[33] = ins.display_decimals();
            put_i64(e, 40, ins.tick_size().raw());
            put_i64(e, 48, ins.lot_size().raw());
            put_i64(e, 56, ins.multiplier().raw());
            let q = ins.quote_currency();
            e[64..64 + q.as_str().len()].copy_from_slice(q.as_str().as_bytes());
            let s = ins.settlement_currency();
            e[76..76 + s.as_str().len()].copy_from_slice(s.as_str().as_bytes());
        }
        let crc = crc32c::crc32c(&buf);
        buf[32..36].copy_from_slice(&crc.to_le_bytes());
        Ok(buf)
    }

    /// Parses and checks a header from the start of a file.
    ///
    /// # Errors
    /// [`HeaderError`] naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, HeaderError> {
        if bytes.len() < FIXED {
            return Err(HeaderError::Truncated { len: bytes.len(), need: FIXED });
        }
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&bytes[0..8]);
        if magic != MAGIC {
            return Err(HeaderError::BadMagic { found: magic });
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != VERSION {
            return Err(HeaderError::UnsupportedVersion { found: version });
        }
        let record = u16::from_le_bytes([bytes[10], bytes[11]]);
        if record != 64 {
            return Err(HeaderError::RecordSize { found: record });
        }
        let kind = match bytes[12] {
            1 => FileKind::Tick,
            2 => FileKind::Journal,
            found => return Err(HeaderError::UnknownKind { found }),
        };
        let len = get_u32(bytes, 16);
        let count = get_u32(bytes, 20);
        let need = FIXED + count as usize * INSTRUMENT_ENTRY;
        if len as usize != need {
            return Err(HeaderError::BadLength { found: len, instruments: count });
        }
        if bytes.len() < need {
            return Err(HeaderError::Truncated { len: bytes.len(), need });
        }
        let stored = get_u32(bytes, 32);
        let mut copy = bytes[..need].to_vec();
        copy[32..36].fill(0);
        let computed = crc32c::crc32c(&copy);
        if stored != computed {
            return Err(HeaderError::BadChecksum { stored, computed });
        }
        let record_count = u64::from_le_bytes(bytes[24..32].try_into().unwrap_or([0; 8]));
        let mut instruments = Vec::with_capacity(count as usize);
        for i in 0..count as usize {
            let e = &bytes[FIXED + i * INSTRUMENT_ENTRY..FIXED + (i + 1) * INSTRUMENT_ENTRY];
            let bad = |reason: String| HeaderError::BadInstrument { index: i, reason };
            let currency = |at: usize| -> Result<Currency, HeaderError> {
                let t = text(&e[at..at + CURRENCY]).map_err(bad)?;
                t.parse().map_err(|err: kestrel_types::IdError| bad(err.to_string()))
            };
            let spec = InstrumentSpec {
                symbol: text(&e[..SYMBOL]).map_err(bad)?.to_owned(),
                venue: VenueId(e[32]),
                tick_size: Price::from_raw(get_i64(e, 40)),
                lot_size: Qty::from_raw(get_i64(e, 48)),
                display_decimals: e[33],
                multiplier: Ratio::from_raw(get_i64(e, 56)),
                quote_currency: currency(64)?,
                settlement_currency: currency(76)?,
            };
            let id = InstrumentId(u16::try_from(i).map_err(|_| bad("index past u16".to_owned()))?);
            instruments.push(Instrument::try_new(id, spec).map_err(|err| bad(err.to_string()))?);
        }
        Ok(Self { kind, instruments, record_count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Header {
        let spec = InstrumentSpec {
            symbol: "ESH1".into(),
            venue: VenueId(2),
            tick_size: "0.25".parse().unwrap(),
            lot_size: Qty::ONE,
            display_decimals: 2,
            multiplier: "50".parse().unwrap(),
            quote_currency: Currency::USD,
            settlement_currency: Currency::USD,
        };
        Header {
            kind: FileKind::Tick,
            instruments: vec![Instrument::try_new(InstrumentId(0), spec).unwrap()],
            record_count: 7,
        }
    }

    #[test]
    fn round_trips_and_catches_every_damage() {
        let h = sample();
        let bytes = h.to_bytes().unwrap();
        assert_eq!(bytes.len(), 192);
        assert_eq!(Header::parse(&bytes).unwrap(), h);
        let damaged = |at: usize, v: u8| {
            let mut b = bytes.clone();
            b[at] = v;
            Header::parse(&b).unwrap_err()
        };
        assert!(matches!(damaged(0, b'X'), HeaderError::BadMagic { .. }));
        assert_eq!(damaged(8, 9), HeaderError::UnsupportedVersion { found: 9 });
        assert_eq!(damaged(10, 32), HeaderError::RecordSize { found: 32 });
        assert_eq!(damaged(12, 7), HeaderError::UnknownKind { found: 7 });
        assert!(matches!(damaged(16, 0), HeaderError::BadLength { .. }));
        assert!(matches!(damaged(100, 1), HeaderError::BadChecksum { .. }));
        assert!(matches!(Header::parse(&bytes[..100]), Err(HeaderError::Truncated { .. })));
        assert!(matches!(Header::parse(&bytes[..10]), Err(HeaderError::Truncated { .. })));
    }
}
