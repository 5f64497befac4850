//! The 64-byte record: layout, kinds, and the typed encoding of [`Event`]s.

use bytemuck::{Pod, Zeroable};
use kestrel_types::{
    Aggressor, Bar, BookOrder, BookSide, CommandKind, CommandRecord, Event, ExecRecord, InstrumentId,
    LevelUpdate, OrderAction, Payload, Price, Qty, Quote, Timestamp, Trade,
};

/// Bytes per record.
pub const RECORD_SIZE: usize = 64;

/// One record as it lies in the file: plain integers, cast from the mapping with `bytemuck`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct RawRecord {
    /// When the venue says it happened (ns since the epoch).
    pub ts_event: i64,
    /// When it reached the recorder (ns since the epoch): the replay order.
    pub ts_recv: i64,
    /// [`RecordKind`] as a byte.
    pub kind: u8,
    /// Side in bits 0–1, per-kind codes in bits 2–7.
    pub flags: u8,
    /// Instrument index.
    pub instrument: u16,
    /// CRC32C of the record with this field zeroed (journals), else 0.
    pub crc: u32,
    /// Field a (see the format table).
    pub a: i64,
    /// Field b.
    pub b: i64,
    /// Field c.
    pub c: i64,
    /// Field d.
    pub d: i64,
    /// Field e.
    pub e: i64,
}

const _: () = assert!(core::mem::size_of::<RawRecord>() == RECORD_SIZE);

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// A trade print.
    Trade = 1,
    /// Best bid and ask.
    Quote = 2,
    /// A market-by-price level change.
    Level = 3,
    /// The book is cleared.
    BookClear = 4,
    /// A snapshot begins.
    SnapshotBegin = 5,
    /// A snapshot ends.
    SnapshotEnd = 6,
    /// A market-by-order event.
    Order = 7,
    /// A bar.
    Bar = 8,
    /// Journal: an execution report.
    Exec = 16,
    /// Journal: a command.
    Command = 17,
    /// Journal: a timer.
    Timer = 18,
}

impl RecordKind {
    /// Every kind, for counting tables.
    pub const ALL: [Self; 11] = [
        Self::Trade,
        Self::Quote,
        Self::Level,
        Self::BookClear,
        Self::SnapshotBegin,
        Self::SnapshotEnd,
        Self::Order,
        Self::Bar,
        Self::Exec,
        Self::Command,
        Self::Timer,
    ];

    /// Its name, as `kestrel inspect` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Trade => "trade",
            Self::Quote => "quote",
            Self::Level => "level",
            Self::BookClear => "book_clear",
            Self::SnapshotBegin => "snapshot_begin",
            Self::SnapshotEnd => "snapshot_end",
            Self::Order => "order",
            Self::Bar => "bar",
            Self::Exec => "exec",
            Self::Command => "command",
            Self::Timer => "timer",
        }
    }

    /// Whether only journals may hold it.
    pub const fn is_journal_only(self) -> bool {
        matches!(self, Self::Exec | Self::Command | Self::Timer)
    }
}

impl TryFrom<u8> for RecordKind {
    type Error = u8;

    /// The kind of a record byte; the byte itself when it names none.
    fn try_from(b: u8) -> Result<Self, u8> {
        Self::ALL.into_iter().find(|k| *k as u8 == b).ok_or(b)
    }
}

/// Why a record could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The kind byte names no kind.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// The flags hold a code the kind does not define.
    #[error("{kind:?} record with invalid flags {flags:#04x}")]
    BadFlags {
        /// The record's kind.
        kind: RecordKind,
        /// Its flags byte.
        flags: u8,
    },
}

fn side_bits(side: BookSide) -> u8 {
    match side {
        BookSide::Bid => 1,
        BookSide::Ask => 2,
    }
}

fn side_of(kind: RecordKind, flags: u8) -> Result<BookSide, DecodeError> {
    match flags & 3 {
        1 => Ok(BookSide::Bid),
        2 => Ok(BookSide::Ask),
        _ => Err(DecodeError::BadFlags { kind, flags }),
    }
}

/// Encodes an event as a record (the CRC field is left zero: journals fill it).
pub fn encode(ev: &Event) -> RawRecord {
    let mut r = RawRecord {
        ts_event: ev.ts_event.nanos(),
        ts_recv: ev.ts_recv.nanos(),
        instrument: ev.instrument.0,
        ..RawRecord::default()
    };
    let (kind, flags) = match ev.payload {
        Payload::Trade(t) => {
            (r.a, r.b, r.e) = (t.price.raw(), t.size.raw(), t.trade_id as i64);
            let f = match t.aggressor {
                Aggressor::Unknown => 0,
                Aggressor::Buy => 1,
                Aggressor::Sell => 2,
            };
            (RecordKind::Trade, f)
        }
        Payload::Quote(q) => {
            (r.a, r.b, r.c, r.d) = (q.bid.raw(), q.bid_size.raw(), q.ask.raw(), q.ask_size.raw());
            (RecordKind::Quote, 0)
        }
        Payload::Level(l) => {
            (r.a, r.b) = (l.price.raw(), l.size.raw());
            (RecordKind::Level, side_bits(l.side))
        }
        Payload::BookClear => (RecordKind::BookClear, 0),
        Payload::SnapshotBegin => (RecordKind::SnapshotBegin, 0),
        Payload::SnapshotEnd => (RecordKind::SnapshotEnd, 0),
        Payload::Order(o) => {
            (r.a, r.b, r.e) = (o.price.raw(), o.size.raw(), o.order_id as i64);
            let action = match o.action {
                OrderAction::Add => 1,
                OrderAction::Cancel => 2,
                OrderAction::Modify => 3,
                OrderAction::Fill => 4,
            };
            (RecordKind::Order, side_bits(o.side) | (action << 2))
        }
        Payload::Bar(b) => {
            (r.a, r.b, r.c, r.d, r.e) =
                (b.open.raw(), b.high.raw(), b.low.raw(), b.close.raw(), b.volume.raw());
            (RecordKind::Bar, 0)
        }
        Payload::Exec(x) => {
            (r.a, r.b, r.c, r.d, r.e) = (x.order as i64, x.qty.raw(), x.price.raw(), x.fee, x.exec as i64);
            (RecordKind::Exec, (x.status & 0x3f) << 2)
        }
        Payload::Command(c) => {
            (r.a, r.b, r.c, r.d) = (c.order as i64, c.qty.raw(), c.price.raw(), c.price2.raw());
            let kind = match c.kind {
                CommandKind::Submit => 1,
                CommandKind::Cancel => 2,
                CommandKind::Amend => 3,
            };
            (RecordKind::Command, side_bits(c.side) | (kind << 2) | ((c.exec_type & 0xf) << 4))
        }
        Payload::Timer { id } => {
            r.a = id as i64;
            (RecordKind::Timer, 0)
        }
    };
    r.kind = kind as u8;
    r.flags = flags;
    r
}

/// Decodes a record into an event.
///
/// # Errors
/// [`DecodeError`] for an unknown kind or flags the kind does not define.
pub fn decode(r: &RawRecord) -> Result<Event, DecodeError> {
    let kind = RecordKind::try_from(r.kind).map_err(DecodeError::UnknownKind)?;
    let bad = || DecodeError::BadFlags { kind, flags: r.flags };
    let ts_event = Timestamp::from_nanos(r.ts_event);
    let payload = match kind {
        RecordKind::Trade => Payload::Trade(Trade {
            price: Price::from_raw(r.a),
            size: Qty::from_raw(r.b),
            aggressor: match r.flags {
                0 => Aggressor::Unknown,
                1 => Aggressor::Buy,
                2 => Aggressor::Sell,
                _ => return Err(bad()),
            },
            trade_id: r.e as u64,
        }),
        RecordKind::Quote => Payload::Quote(Quote {
            bid: Price::from_raw(r.a),
            bid_size: Qty::from_raw(r.b),
            ask: Price::from_raw(r.c),
            ask_size: Qty::from_raw(r.d),
        }),
        RecordKind::Level => {
            if r.flags >> 2 != 0 {
                return Err(bad());
            }
            Payload::Level(LevelUpdate {
                side: side_of(kind, r.flags)?,
                price: Price::from_raw(r.a),
                size: Qty::from_raw(r.b),
            })
        }
        RecordKind::BookClear => Payload::BookClear,
        RecordKind::SnapshotBegin => Payload::SnapshotBegin,
        RecordKind::SnapshotEnd => Payload::SnapshotEnd,
        RecordKind::Order => Payload::Order(BookOrder {
            action: match r.flags >> 2 {
                1 => OrderAction::Add,
                2 => OrderAction::Cancel,
                3 => OrderAction::Modify,
                4 => OrderAction::Fill,
                _ => return Err(bad()),
            },
            side: side_of(kind, r.flags)?,
            price: Price::from_raw(r.a),
            size: Qty::from_raw(r.b),
            order_id: r.e as u64,
        }),
        RecordKind::Bar => Payload::Bar(Bar {
            ts: ts_event,
            open: Price::from_raw(r.a),
            high: Price::from_raw(r.b),
            low: Price::from_raw(r.c),
            close: Price::from_raw(r.d),
            volume: Qty::from_raw(r.e),
            open_interest: Qty::ZERO,
        }),
        RecordKind::Exec => Payload::Exec(ExecRecord {
            order: r.a as u64,
            exec: r.e as u64,
            status: r.flags >> 2,
            qty: Qty::from_raw(r.b),
            price: Price::from_raw(r.c),
            fee: r.d,
        }),
        RecordKind::Command => Payload::Command(CommandRecord {
            kind: match (r.flags >> 2) & 3 {
                1 => CommandKind::Submit,
                2 => CommandKind::Cancel,
                3 => CommandKind::Amend,
                _ => return Err(bad()),
            },
            side: side_of(kind, r.flags)?,
            exec_type: r.flags >> 4,
            order: r.a as u64,
            qty: Qty::from_raw(r.b),
            price: Price::from_raw(r.c),
            price2: Price::from_raw(r.d),
        }),
        RecordKind::Timer => Payload::Timer { id: r.a as u64 },
    };
    Ok(Event {
        ts_event,
        ts_recv: Timestamp::from_nanos(r.ts_recv),
        instrument: InstrumentId(r.instrument),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ns: i64, payload: Payload) -> Event {
        Event {
            ts_event: Timestamp::from_nanos(ns),
            ts_recv: Timestamp::from_nanos(ns + 5),
            instrument: InstrumentId(3),
            payload,
        }
    }

    #[test]
    fn every_payload_round_trips() {
        let p = Price::from_raw(1_234_500_000);
        let q = Qty::from_raw(-7_000_000_000);
        let payloads = [
            Payload::Trade(Trade { price: p, size: q.abs(), aggressor: Aggressor::Sell, trade_id: u64::MAX }),
            Payload::Quote(Quote { bid: p, bid_size: q.abs(), ask: p, ask_size: Qty::ONE }),
            Payload::Level(LevelUpdate { side: BookSide::Ask, price: p, size: Qty::ZERO }),
            Payload::BookClear,
            Payload::SnapshotBegin,
            Payload::SnapshotEnd,
            Payload::Order(BookOrder {
                action: OrderAction::Fill,
                side: BookSide::Bid,
                price: p,
                size: Qty::ONE,
                order_id: 99,
            }),
            Payload::Bar(Bar {
                ts: Timestamp::from_nanos(10),
                open: p,
                high: p,
                low: p,
                close: p,
                volume: Qty::ONE,
                open_interest: Qty::ZERO,
            }),
            Payload::Exec(ExecRecord { order: 5, exec: 6, status: 4, qty: q, price: p, fee: -12 }),
            Payload::Command(CommandRecord {
                kind: CommandKind::Amend,
                side: BookSide::Ask,
                exec_type: 6,
                order: 7,
                qty: Qty::ONE,
                price: p,
                price2: Price::ZERO,
            }),
            Payload::Timer { id: 42 },
        ];
        for payload in payloads {
            let ev = at(10, payload);
            assert_eq!(decode(&encode(&ev)).unwrap(), ev, "{payload:?}");
        }
    }

    #[test]
    fn unknown_kinds_and_flags_are_refused() {
        let mut r = encode(&at(1, Payload::BookClear));
        r.kind = 9;
        assert_eq!(decode(&r), Err(DecodeError::UnknownKind(9)));
        let mut r = encode(&at(
            1,
            Payload::Level(LevelUpdate { side: BookSide::Bid, price: Price::ONE, size: Qty::ONE }),
        ));
        r.flags = 3;
        assert!(matches!(decode(&r), Err(DecodeError::BadFlags { kind: RecordKind::Level, .. })));
        let mut r = encode(&at(
            1,
            Payload::Trade(Trade {
                price: Price::ONE,
                size: Qty::ONE,
                aggressor: Aggressor::Buy,
                trade_id: 1,
            }),
        ));
        r.flags = 7;
        assert!(decode(&r).is_err());
        assert_eq!(RecordKind::try_from(17), Ok(RecordKind::Command));
        assert_eq!(RecordKind::try_from(0), Err(0));
    }
}
