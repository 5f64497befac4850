//! Tick files written, read back, and damaged on purpose: every kind of damage gives its error.

use kestrel_types::{
    Aggressor, Event, Instrument, InstrumentId, Payload, Price, Qty, Quote, Timestamp, Trade,
};

use super::*;
use crate::format::record::DecodeError;

fn instrument() -> Instrument {
    crate::test_support::btcusdt()
}

fn events(n: i64) -> Vec<Event> {
    (0..n)
        .map(|i| Event {
            ts_event: Timestamp::from_nanos(1_000 + i * 10),
            ts_recv: Timestamp::from_nanos(1_005 + i * 10),
            instrument: InstrumentId(0),
            payload: if i % 2 == 0 {
                Payload::Trade(Trade {
                    price: Price::from_raw(100 + i),
                    size: Qty::ONE,
                    aggressor: Aggressor::Buy,
                    trade_id: i as u64,
                })
            } else {
                Payload::Quote(Quote {
                    bid: Price::ONE,
                    bid_size: Qty::ONE,
                    ask: Price::ONE,
                    ask_size: Qty::ONE,
                })
            },
        })
        .collect()
}

fn write(dir: &Path, name: &str, evs: &[Event]) -> PathBuf {
    let path = dir.join(name);
    let mut w = TickWriter::create(&path, vec![instrument()]).unwrap();
    for e in evs {
        w.push(e).unwrap();
    }
    assert_eq!(w.finish().unwrap(), evs.len() as u64);
    path
}

#[test]
fn written_files_read_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let evs = events(1000);
    let path = write(dir.path(), "a.kt", &evs);
    let f = TickFile::open(&path).unwrap();
    assert_eq!(f.header().instruments, vec![instrument()]);
    let stats = f.validate().unwrap();
    assert_eq!(stats.records, 1000);
    assert_eq!(stats.per_kind[0], 500);
    assert_eq!(stats.per_kind[1], 500);
    assert_eq!(stats.first, Some(Timestamp::from_nanos(1_005)));
    let back: Vec<Event> = f.events().collect::<Result<_, _>>().unwrap();
    assert_eq!(back, evs);
    assert_eq!(f.file_bytes(), 192 + 64 * 1000);
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_unfinished_writer_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.kt");
    let mut w = TickWriter::create(&path, vec![instrument()]).unwrap();
    w.push(&events(1)[0]).unwrap();
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_writer_refuses_what_the_reader_would() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = TickWriter::create(dir.path().join("w.kt"), vec![instrument()]).unwrap();
    let evs = events(3);
    w.push(&evs[2]).unwrap();
    assert!(matches!(w.push(&evs[0]), Err(ReplayError::OutOfOrder { index: 1, .. })));
    let mut other = evs[2];
    other.instrument = InstrumentId(4);
    assert!(matches!(w.push(&other), Err(ReplayError::UnknownInstrument { instrument: 4, .. })));
    let mut timer = evs[2];
    timer.payload = Payload::Timer { id: 1 };
    assert!(matches!(w.push(&timer), Err(ReplayError::MisplacedKind { kind: "timer", .. })));
    assert_eq!(w.len(), 1);
}

/// Writes a good file, applies `damage` to its bytes, and opens (and validates) the result.
fn damaged(damage: impl FnOnce(&mut Vec<u8>)) -> ReplayError {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "d.kt", &events(10));
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    match TickFile::open(&path) {
        Err(e) => e,
        Ok(f) => f.validate().unwrap_err(),
    }
}

const BODY: usize = 192;

#[test]
fn every_kind_of_damage_gives_its_error_with_the_place() {
    assert!(matches!(
        damaged(|b| b[0] = b'X'),
        ReplayError::Header { source: crate::format::header::HeaderError::BadMagic { .. }, .. }
    ));
    assert!(matches!(
        damaged(|b| b[8] = 2),
        ReplayError::Header {
            source: crate::format::header::HeaderError::UnsupportedVersion { found: 2 },
            ..
        }
    ));
    assert!(matches!(
        damaged(|b| b[70] ^= 1),
        ReplayError::Header { source: crate::format::header::HeaderError::BadChecksum { .. }, .. }
    ));
    assert!(matches!(damaged(|b| b.truncate(40)), ReplayError::Header { .. }));
    // Cut in the middle of the last record.
    match damaged(|b| b.truncate(BODY + 64 * 9 + 20)) {
        ReplayError::Truncated { records: 9, offset, extra: 20, .. } => {
            assert_eq!(offset, (BODY + 64 * 9) as u64)
        }
        e => panic!("{e}"),
    }
    // A whole record missing: the header's count disagrees.
    assert!(matches!(
        damaged(|b| b.truncate(BODY + 64 * 9)),
        ReplayError::CountMismatch { header: 10, found: 9, .. }
    ));
    // Record 3's kind byte.
    match damaged(|b| b[BODY + 64 * 3 + 16] = 99) {
        ReplayError::BadRecord { index: 3, offset, source: DecodeError::UnknownKind(99), .. } => {
            assert_eq!(offset, (BODY + 192) as u64)
        }
        e => panic!("{e}"),
    }
    // Record 5's ts_recv set before record 4's.
    let e = damaged(|b| b[BODY + 64 * 5 + 8..BODY + 64 * 5 + 16].copy_from_slice(&0i64.to_le_bytes()));
    assert!(matches!(e, ReplayError::OutOfOrder { index: 5, found: 0, .. }), "{e}");
    assert!(e.to_string().contains("record 5 at byte 512"), "{e}");
    // Record 2's instrument.
    assert!(matches!(
        damaged(|b| b[BODY + 64 * 2 + 18] = 7),
        ReplayError::UnknownInstrument { index: 2, instrument: 7, .. }
    ));
    // A journal kind in a tick file.
    assert!(matches!(
        damaged(|b| b[BODY + 64 * 4 + 16] = 18),
        ReplayError::MisplacedKind { index: 4, kind: "timer", .. }
    ));
    // Bad flags on a trade.
    assert!(matches!(
        damaged(|b| b[BODY + 17] = 9),
        ReplayError::BadRecord { index: 0, source: DecodeError::BadFlags { .. }, .. }
    ));
}

#[test]
fn errors_name_the_file() {
    let e = damaged(|b| b[0] = 0);
    assert!(e.to_string().contains("d.kt"), "{e}");
    let missing = TickFile::open("/nonexistent/x.kt").unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/x.kt"));
}
