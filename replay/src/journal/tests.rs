//! Journals written, damaged on purpose, read back, recovered and appended to: every damage is cut
//! at the last good record and reported, never read past.

use kestrel_types::{
    Aggressor, BookSide, CommandKind, CommandRecord, Event, ExecRecord, Instrument, InstrumentId, Payload,
    Price, Qty, Quote, Timestamp, Trade,
};

use super::*;
use crate::tick::{TickFile, TickWriter};

/// Header length with one instrument: where record 0 starts.
const BODY: u64 = 192;

fn instrument() -> Instrument {
    crate::test_support::btcusdt()
}

/// `n` events of every kind a live journal taps (market data, executions, commands, timers), with
/// ties in `ts_recv` every few records.
fn events(from: i64, n: i64) -> Vec<Event> {
    (from..from + n)
        .map(|i| Event {
            ts_event: Timestamp::from_nanos(1_000 + i * 10),
            ts_recv: Timestamp::from_nanos(1_005 + (i / 3) * 10),
            instrument: InstrumentId(0),
            payload: match i % 5 {
                0 => Payload::Trade(Trade {
                    price: Price::from_raw(100 + i),
                    size: Qty::ONE,
                    aggressor: Aggressor::Buy,
                    trade_id: i as u64,
                }),
                1 => Payload::Quote(Quote {
                    bid: Price::ONE,
                    bid_size: Qty::ONE,
                    ask: Price::ONE,
                    ask_size: Qty::ONE,
                }),
                2 => Payload::Exec(ExecRecord {
                    order: i as u64,
                    exec: 1,
                    status: 3,
                    qty: Qty::ONE,
                    price: Price::ONE,
                    fee: -1,
                }),
                3 => Payload::Command(CommandRecord {
                    kind: CommandKind::Submit,
                    side: BookSide::Bid,
                    exec_type: 2,
                    order: i as u64,
                    qty: Qty::ONE,
                    price: Price::ONE,
                    price2: Price::ZERO,
                }),
                _ => Payload::Timer { id: i as u64 },
            },
        })
        .collect()
}

/// A journal at `dir/j` with `n` events, synced; returns its base.
fn journal(dir: &Path, n: i64) -> PathBuf {
    let base = dir.join("j");
    let mut w = JournalWriter::create(&base, vec![instrument()]).unwrap();
    for e in events(0, n) {
        w.append(&e).unwrap();
    }
    w.sync().unwrap();
    base
}

fn seg(base: &Path, n: u32) -> PathBuf {
    segment_path(base, n)
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes);
    std::fs::write(path, &bytes).unwrap();
}

#[test]
fn a_written_journal_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 100);
    let path = seg(&base, 1);
    assert_eq!(path.file_name().unwrap(), "j.000001.kj");
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.recovery(), None);
    assert_eq!(j.header().kind, FileKind::Journal);
    assert_eq!(j.header().record_count, 0);
    assert_eq!(j.instruments(), [instrument()]);
    assert_eq!(j.file_bytes(), BODY + 64 * 100);
    assert!(j.records().iter().all(|r| r.crc == checksum(r) && r.crc != 0));
    assert_eq!(j.events().collect::<Vec<_>>(), events(0, 100));
    // Only the segment: no temporary file is left.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_empty_journal_opens_empty_and_a_zero_byte_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 0);
    let j = Journal::open(seg(&base, 1)).unwrap();
    assert!(j.is_empty());
    assert_eq!(j.recovery(), None);
    let all = Journal::open_segments(&base).unwrap();
    assert!(all.is_empty());
    assert_eq!(all.cut(), None);
    assert_eq!(all.instruments(), [instrument()]);

    let zero = dir.path().join("zero.000001.kj");
    std::fs::write(&zero, b"").unwrap();
    let e = Journal::open(&zero).unwrap_err();
    assert!(
        matches!(e, ReplayError::Header { source: HeaderError::Truncated { len: 0, need: 64 }, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("zero.000001.kj"), "{e}");
    assert!(matches!(Journal::open(dir.path().join("missing.kj")), Err(ReplayError::Io { .. })));
    let none = Journal::open_segments(dir.path().join("nothing")).unwrap_err();
    assert!(none.to_string().contains("nothing.000001.kj"), "{none}");
}

#[test]
fn a_torn_tail_of_every_length_is_cut_reported_and_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 5);
    let path = seg(&base, 1);
    let whole = std::fs::read(&path).unwrap();
    for torn in 1..64u64 {
        // The last record was being written: only its first `torn` bytes reached the file.
        let len = (BODY + 64 * 4 + torn) as usize;
        std::fs::write(&path, &whole[..len]).unwrap();
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.len(), 4, "torn {torn}");
        assert_eq!(j.events().collect::<Vec<_>>(), events(0, 4));
        let want = Recovery {
            path: path.clone(),
            good_records: 4,
            cut_at_offset: BODY + 64 * 4,
            dropped_bytes: torn,
            reason: CutReason::TornTail { bytes: torn },
        };
        assert_eq!(j.recovery(), Some(&want));
        assert_eq!(Journal::recover_in_place(&path).unwrap(), Some(want));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), BODY + 64 * 4);
        let again = Journal::open(&path).unwrap();
        assert_eq!((again.len(), again.recovery()), (4, None));
        assert_eq!(Journal::recover_in_place(&path).unwrap(), None);
    }
}

#[test]
fn a_flipped_bit_in_the_middle_record_cuts_everything_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 5);
    let path = seg(&base, 1);
    let whole = std::fs::read(&path).unwrap();
    let middle = (BODY + 64 * 2) as usize;
    // Every bit of record 2, the CRC field included.
    for bit in 0..64 * 8 {
        let mut bytes = whole.clone();
        bytes[middle + bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&path, &bytes).unwrap();
        let j = Journal::open(&path).unwrap();
        // Records 3 and 4 are intact, but come after the damage: never returned.
        assert_eq!(j.events().collect::<Vec<_>>(), events(0, 2), "bit {bit}");
        let r = j.recovery().unwrap();
        assert_eq!((r.good_records, r.cut_at_offset, r.dropped_bytes), (2, middle as u64, 3 * 64));
        let CutReason::BadChecksum { index: 2, offset, stored, computed } = r.reason else {
            panic!("bit {bit}: {r}")
        };
        assert_eq!(offset, middle as u64);
        assert_ne!(stored, computed);
    }
    let report = Journal::open(&path).unwrap().recovery().unwrap().to_string();
    assert!(report.contains("j.000001.kj") && report.contains("record 2 at byte 320"), "{report}");
    assert!(report.contains("dropping 192 bytes"), "{report}");
}

#[test]
fn a_flipped_bit_in_the_header_refuses_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 3);
    let path = seg(&base, 1);
    let whole = std::fs::read(&path).unwrap();
    for bit in 0..BODY as usize * 8 {
        let mut bytes = whole.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&path, &bytes).unwrap();
        let e = Journal::open(&path).unwrap_err();
        assert!(matches!(e, ReplayError::Header { .. }), "bit {bit}: {e}");
        if (64 * 8..BODY as usize * 8).contains(&bit) {
            // In the instrument table: only the header's CRC can tell.
            assert!(
                matches!(e, ReplayError::Header { source: HeaderError::BadChecksum { .. }, .. }),
                "bit {bit}: {e}"
            );
        }
    }
}

#[test]
fn zeros_from_a_half_extended_file_fail_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 3);
    let path = seg(&base, 1);
    edit(&path, |b| b.extend_from_slice(&[0u8; 128]));
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.len(), 3);
    let r = j.recovery().unwrap();
    assert!(matches!(r.reason, CutReason::BadChecksum { index: 3, stored: 0, .. }), "{r}");
    assert_eq!(r.dropped_bytes, 128);
}

/// Rewrites record `index` of `path` with `f` applied, and a correct CRC: a forged record.
fn forge(path: &Path, index: u64, f: impl FnOnce(&mut RawRecord)) {
    edit(path, |b| {
        let at = (BODY + 64 * index) as usize;
        let mut r: RawRecord = bytemuck::pod_read_unaligned(&b[at..at + 64]);
        f(&mut r);
        r.crc = checksum(&r);
        b[at..at + 64].copy_from_slice(bytemuck::bytes_of(&r));
    });
}

#[test]
fn records_with_good_checksums_that_are_invalid_still_cut() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 6);
    let path = seg(&base, 1);
    let whole = std::fs::read(&path).unwrap();
    type Damage = fn(&mut RawRecord);
    let cases: [(Damage, RecordProblem); 3] = [
        (|r| r.instrument = 9, RecordProblem::UnknownInstrument { instrument: 9, count: 1 }),
        (|r| r.ts_recv = 0, RecordProblem::OutOfOrder { previous: 1_015, found: 0 }),
        (|r| r.kind = 99, RecordProblem::Decode(crate::format::record::DecodeError::UnknownKind(99))),
    ];
    for (damage, problem) in cases {
        std::fs::write(&path, &whole).unwrap();
        forge(&path, 4, damage);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.len(), 4);
        assert_eq!(
            j.recovery().unwrap().reason,
            CutReason::BadRecord { index: 4, offset: BODY + 256, problem }
        );
    }
}

#[test]
fn a_journal_is_not_a_tick_file_nor_the_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 2);
    assert!(matches!(
        TickFile::open(seg(&base, 1)),
        Err(ReplayError::WrongKind { found: FileKind::Journal, expected: FileKind::Tick, .. })
    ));
    let tick = dir.path().join("t.kt");
    let mut w = TickWriter::create(&tick, vec![instrument()]).unwrap();
    w.push(&events(0, 1)[0]).unwrap();
    w.finish().unwrap();
    let e = Journal::open(&tick).unwrap_err();
    assert!(matches!(e, ReplayError::WrongKind { found: FileKind::Tick, expected: FileKind::Journal, .. }));
    assert!(e.to_string().contains("t.kt"), "{e}");
}

#[test]
fn appending_after_recovery_continues_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 10);
    let path = seg(&base, 1);
    // A crash in the middle of record 10, then reopening.
    edit(&path, |b| b.extend_from_slice(&[0xAB; 30]));
    let (mut w, report) = JournalWriter::open_append(&base).unwrap();
    let report = report.unwrap();
    assert_eq!(report.reason, CutReason::TornTail { bytes: 30 });
    assert_eq!((report.good_records, w.len(), w.segment()), (10, 10, 1));
    // The writer continues from the last good record's ts_recv.
    let early = Event { ts_recv: Timestamp::from_nanos(0), ..events(0, 1)[0] };
    assert!(matches!(w.append(&early), Err(ReplayError::OutOfOrder { index: 10, offset: 832, .. })));
    for e in events(10, 5) {
        w.append(&e).unwrap();
    }
    w.sync().unwrap();
    drop(w);
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.recovery(), None);
    assert_eq!(j.events().collect::<Vec<_>>(), events(0, 15));

    // A corrupt record in the last segment: reopening truncates it and what followed.
    edit(&path, |b| b[(BODY + 64 * 12 + 40) as usize] ^= 4);
    let (mut w, report) = JournalWriter::open_append(&base).unwrap();
    assert!(matches!(report.unwrap().reason, CutReason::BadChecksum { index: 12, .. }));
    assert_eq!(w.len(), 12);
    for e in events(12, 3) {
        w.append(&e).unwrap();
    }
    drop(w); // Dropping hands the buffer to the OS (no sync needed to read it back here).
    assert_eq!(Journal::open(&path).unwrap().events().collect::<Vec<_>>(), events(0, 15));
    // A whole journal reopens with no report.
    assert!(JournalWriter::open_append(&base).unwrap().1.is_none());
}

#[test]
fn the_writer_refuses_what_the_reader_would_cut() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 3);
    let (mut w, _) = JournalWriter::open_append(&base).unwrap();
    let evs = events(0, 3);
    let mut other = evs[2];
    other.instrument = InstrumentId(4);
    assert!(matches!(w.append(&other), Err(ReplayError::UnknownInstrument { instrument: 4, index: 3, .. })));
    let mut raw = crate::format::encode(&evs[2]);
    raw.kind = 77;
    assert!(matches!(w.append_raw(&raw), Err(ReplayError::BadRecord { index: 3, offset: 384, .. })));
    // A stale CRC on a raw record is replaced, not trusted.
    let mut raw = crate::format::encode(&evs[2]);
    raw.crc = 0xdead_beef;
    w.append_raw(&raw).unwrap();
    assert_eq!(w.len(), 4);
    w.sync().unwrap();
    assert_eq!(Journal::open(seg(&base, 1)).unwrap().len(), 4);
    // A journal is never overwritten.
    let again = JournalWriter::create(&base, vec![instrument()]).unwrap_err();
    assert!(
        matches!(&again, ReplayError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists)
    );
}

fn rolled(dir: &Path, n: i64) -> PathBuf {
    let base = dir.join("r");
    let config = JournalConfig { segment_bytes: BODY + 64 * 10 };
    let mut w = JournalWriter::create_with(&base, vec![instrument()], config).unwrap();
    for e in events(0, n) {
        w.append(&e).unwrap();
    }
    w.sync().unwrap();
    base
}

#[test]
fn segments_roll_over_at_the_size_and_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let base = rolled(dir.path(), 35);
    let listed = list_segments(&base).unwrap();
    assert_eq!(listed.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let all = Journal::open_segments(&base).unwrap();
    assert_eq!(all.cut(), None);
    assert_eq!(all.segments().iter().map(Journal::len).collect::<Vec<_>>(), [10, 10, 10, 5]);
    assert!(all.segments().iter().all(|s| s.file_bytes() <= BODY + 640));
    assert_eq!(all.events().collect::<Vec<_>>(), events(0, 35));
    assert_eq!(all.len(), 35);

    // Reopened with another segment size: fills segment 4 to it, then rolls to 5.
    let config = JournalConfig { segment_bytes: BODY + 64 * 8 };
    let (mut w, report) = JournalWriter::open_append_with(&base, config).unwrap();
    assert_eq!((report, w.len(), w.segment()), (None, 35, 4));
    for e in events(35, 5) {
        w.append(&e).unwrap();
    }
    assert_eq!(w.segment(), 5);
    w.sync().unwrap();
    let all = Journal::open_segments(&base).unwrap();
    assert_eq!(all.segments().iter().map(Journal::len).collect::<Vec<_>>(), [10, 10, 10, 8, 2]);
    assert_eq!(all.events().collect::<Vec<_>>(), events(0, 40));

    // A segment size below one record still makes progress: one record per segment.
    let tiny = dir.path().join("tiny");
    let mut w =
        JournalWriter::create_with(&tiny, vec![instrument()], JournalConfig { segment_bytes: 1 }).unwrap();
    for e in events(0, 3) {
        w.append(&e).unwrap();
    }
    drop(w);
    let all = Journal::open_segments(&tiny).unwrap();
    assert_eq!(all.segments().iter().map(Journal::len).collect::<Vec<_>>(), [1, 1, 1]);
}

#[test]
fn damage_in_an_earlier_segment_drops_the_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let base = rolled(dir.path(), 35);
    edit(&seg(&base, 2), |b| b[(BODY + 64 * 6 + 3) as usize] ^= 0x10);
    let all = Journal::open_segments(&base).unwrap();
    assert_eq!(all.segments().iter().map(Journal::len).collect::<Vec<_>>(), [10, 6]);
    assert_eq!(all.events().collect::<Vec<_>>(), events(0, 16));
    let cut = all.cut().unwrap();
    let SegmentsCutReason::Damaged(r) = &cut.reason else { panic!("{cut:?}") };
    assert_eq!(r.path, seg(&base, 2));
    assert!(matches!(r.reason, CutReason::BadChecksum { index: 6, .. }));
    assert_eq!(cut.dropped_segments, [seg(&base, 3), seg(&base, 4)]);
    assert_eq!(cut.dropped_bytes, 4 * 64 + (BODY + 640) + (BODY + 320));
    // Appending reads only the last two segments (3 and 4, whole), so it does not see damage that
    // no crash can cause (segment 2 was fsynced before 3 existed); readers do, as above.
    assert!(JournalWriter::open_append(&base).is_ok());
}

#[test]
fn appending_refuses_a_damaged_segment_before_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let base = rolled(dir.path(), 35);
    edit(&seg(&base, 3), |b| b[(BODY + 64 * 9) as usize] ^= 1);
    let e = JournalWriter::open_append(&base).unwrap_err();
    match &e {
        ReplayError::DamagedSegment { path, offset, reason: CutReason::BadChecksum { index: 9, .. } } => {
            assert_eq!((path, *offset), (&seg(&base, 3), BODY + 64 * 9));
        }
        e => panic!("{e}"),
    }
    assert!(e.to_string().contains("r.000003.kj"), "{e}");
}

#[test]
fn a_missing_segment_cuts_the_journal_and_refuses_appending() {
    let dir = tempfile::tempdir().unwrap();
    let base = rolled(dir.path(), 25);
    std::fs::remove_file(seg(&base, 2)).unwrap();
    let all = Journal::open_segments(&base).unwrap();
    assert_eq!(all.len(), 10);
    let cut = all.cut().unwrap();
    assert_eq!(cut.reason, SegmentsCutReason::Missing { number: 2, path: seg(&base, 2) });
    assert_eq!(
        (cut.dropped_segments.as_slice(), cut.dropped_bytes),
        ([seg(&base, 3)].as_slice(), BODY + 320)
    );
    let e = JournalWriter::open_append(&base).unwrap_err();
    assert!(matches!(&e, ReplayError::MissingSegment { path } if *path == seg(&base, 2)), "{e}");
}

#[test]
fn order_is_checked_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let base = rolled(dir.path(), 15);
    // Segment 2's first record goes back before segment 1's last (a valid CRC: a forged file).
    let path = seg(&base, 2);
    forge(&path, 0, |r| r.ts_recv = 0);
    // Alone, the segment is fine; as part of the journal it is cut at its first record.
    assert_eq!(Journal::open(&path).unwrap().recovery(), None);
    let all = Journal::open_segments(&base).unwrap();
    assert_eq!(all.len(), 10);
    let Some(SegmentsCut { reason: SegmentsCutReason::Damaged(r), .. }) = all.cut() else { panic!() };
    assert!(matches!(
        r.reason,
        CutReason::BadRecord { index: 0, problem: RecordProblem::OutOfOrder { found: 0, .. }, .. }
    ));
}

#[test]
fn other_files_beside_a_journal_are_not_segments() {
    let dir = tempfile::tempdir().unwrap();
    let base = journal(dir.path(), 1);
    for name in ["j.000002.kj.tmp", "j.2.kj", "jj.000002.kj", "j.00000x.kj", "j.000002.kt"] {
        std::fs::write(dir.path().join(name), b"x").unwrap();
    }
    assert_eq!(list_segments(&base).unwrap(), [(1, seg(&base, 1))]);
}
