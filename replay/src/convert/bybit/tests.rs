//! Bybit reader tests: the real 50-message archive in `shared/data/bybit/` counted exactly, and
//! small synthetic archives for snapshots mid-file, gaps and damaged lines.

use kestrel_types::{BookSide, Event, LevelUpdate, Payload, Qty, Timestamp};

use crate::convert::binance::tests::{data, fails, put, run, zip_one};
use crate::convert::{Format, detect, head};

/// The level of an event (panics otherwise).
fn level(e: &Event) -> LevelUpdate {
    match e.payload {
        Payload::Level(l) => l,
        p => panic!("not a level: {p:?}"),
    }
}

/// Milliseconds as a timestamp.
fn ms(v: i64) -> Timestamp {
    Timestamp::from_nanos(v * 1_000_000)
}

#[test]
fn real_ob500_archive_counts_exactly() {
    let zip = data("bybit/2024-12-01_XRPUSDT_ob500.data.zip");
    assert_eq!(detect(&zip, &head(&zip, 4096).unwrap()), Some(Format::BybitOb));
    let (s, evs) = run(None, std::slice::from_ref(&zip), false).unwrap();
    // 50 messages; 1 snapshot of 500 + 500 levels inside Begin/End; the 49 deltas hold 2,966 levels.
    assert_eq!((s.rows_in, s.skipped), (50, 0));
    assert_eq!(s.records_out, 2 + 1000 + 2966);
    assert!(matches!(evs[0].payload, Payload::SnapshotBegin));
    assert!(matches!(evs[1001].payload, Payload::SnapshotEnd));
    let snap = &evs[1..1001];
    assert_eq!(snap.iter().filter(|e| level(e).side == BookSide::Bid).count(), 500);
    assert!(snap[..500].iter().all(|e| level(e).side == BookSide::Bid), "bids first");
    let (first, ask) = (level(&snap[0]), level(&snap[500]));
    assert_eq!((first.price.to_string(), first.size.to_string()), ("1.9531".into(), "6203".into()));
    assert_eq!(
        (ask.side, ask.price.to_string(), ask.size.to_string()),
        (BookSide::Ask, "1.9532".into(), "10480".into())
    );
    // ts is the receive time, cts the matching engine's.
    assert_eq!((evs[0].ts_recv, evs[0].ts_event), (ms(1_733_011_200_691), ms(1_733_011_200_589)));
    let last = evs.last().unwrap();
    assert_eq!((last.ts_recv, last.ts_event), (ms(1_733_011_205_490), ms(1_733_011_205_488)));
    assert_eq!(
        (level(last).side, level(last).price.to_string(), level(last).size),
        (BookSide::Ask, "2.0038".into(), Qty::ZERO)
    );
    // Size "0" deletes: 18 times, all in deltas.
    let deletions = evs.iter().filter(|e| matches!(e.payload, Payload::Level(l) if l.size.is_zero())).count();
    assert_eq!(deletions, 18);
    assert!(snap.iter().all(|e| !level(e).size.is_zero()));
    for w in evs.windows(2) {
        assert!(w[0].ts_recv <= w[1].ts_recv);
    }
    assert!(evs.iter().all(|e| match e.payload {
        Payload::Level(l) => l.price.is_positive() && !l.size.is_negative(),
        _ => true,
    }));
    let (ins, _) = &s.instruments[0];
    assert_eq!(
        (ins.symbol(), ins.tick_size().to_string(), ins.lot_size().to_string()),
        ("XRPUSDT", "0.0001".into(), "1".into())
    );
}

/// A message line.
fn msg(kind: &str, ts: i64, u: u64, b: &str, a: &str) -> String {
    format!(
        "{{\"topic\":\"orderbook.500.XRPUSDT\",\"type\":\"{kind}\",\"ts\":{ts},\"data\":{{\"s\":\"XRPUSDT\",\
         \"b\":[{b}],\"a\":[{a}],\"u\":{u},\"seq\":{}}},\"cts\":{}}}\n",
        u * 10,
        ts - 2
    )
}

#[test]
fn snapshots_mid_file_restart_the_chain_and_deltas_must_rise_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = [
        msg("snapshot", 1000, 5, r#"["1.0","10"]"#, r#"["1.1","20"]"#),
        msg("delta", 1001, 6, r#"["1.0","0"]"#, ""),
        // A service restart: a new snapshot with u = 1.
        msg("snapshot", 1002, 1, r#"["0.9","1"]"#, r#"["1.2","2"]"#),
        msg("delta", 1002, 2, "", r#"["1.2","3"],["1.3","4"]"#),
    ]
    .concat();
    // Plain `.data` and zipped alike.
    let plain = put(dir.path(), "2024-12-01_XRPUSDT_ob500.data", good.as_bytes());
    let zipped = put(
        dir.path(),
        "2024-12-02_XRPUSDT_ob500.data.zip",
        &zip_one("2024-12-02_XRPUSDT_ob500.data", good.as_bytes(), false),
    );
    for p in [plain, zipped] {
        assert_eq!(detect(&p, &head(&p, 4096).unwrap()), Some(Format::BybitOb));
        let (s, evs) = run(None, &[p], false).unwrap();
        assert_eq!((s.rows_in, s.records_out), (4, 4 + 1 + 4 + 2));
        assert!(matches!(evs[5].payload, Payload::SnapshotBegin));
        assert_eq!(evs[4].ts_event, ms(999), "cts is the event time");
    }
    // A gap (u 6 → 8) and a repeat are malformed lines naming the line.
    let gap = [
        msg("snapshot", 1000, 5, "", ""),
        msg("delta", 1001, 6, "", ""),
        msg("delta", 1002, 8, "", ""),
        msg("delta", 1003, 9, "", ""),
    ]
    .concat();
    let p = put(dir.path(), "gap_ob500.data", gap.as_bytes());
    let e = fails(Some(Format::BybitOb), std::slice::from_ref(&p));
    assert!(
        e.ends_with("gap_ob500.data:3: update id u 8 after 6: expected u to rise by 1 (data missing)"),
        "{e}"
    );
    // Skipped: that message only (the chain goes on from it, so line 4 is fine).
    let (s, _) = run(Some(Format::BybitOb), &[p], true).unwrap();
    assert_eq!((s.rows_in, s.skipped, s.records_out, s.examples[0].line), (4, 1, 2, 3));
    let repeat = [msg("snapshot", 1000, 5, "", ""), msg("delta", 1001, 5, "", "")].concat();
    let p = put(dir.path(), "repeat_ob500.data", repeat.as_bytes());
    assert!(fails(None, &[p]).contains("repeat_ob500.data:2: update id u 5 after 5"));
}

#[test]
fn damaged_lines_are_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let first = msg("snapshot", 1000, 5, r#"["1.0","10"]"#, "");
    let cases = [
        (msg("delta", 1001, 6, r#"["1.0x","10"]"#, ""), ":2: price \"1.0x\": invalid character 'x'"),
        (msg("delta", 1001, 6, r#"["1.0","-1"]"#, ""), ":2: size -1 is negative"),
        (msg("delta", 1001, 6, r#"["NaN","1"]"#, ""), ":2: price \"NaN\""),
        (msg("delta", 1001, 6, r#"["1.0"]"#, ""), ":2: not a Bybit message"),
        (msg("delta", 999, 6, "", ""), ":2: time goes backwards"),
        (msg("partial", 1001, 6, "", ""), ":2: type \"partial\" is neither snapshot nor delta"),
        ("{\"topic\":\"orderbook.500.XRPUSDT\",\"type\":\"delta\"\n".to_owned(), ":2: not a Bybit message"),
        ("\n".to_owned(), ":2: not a Bybit message"),
    ];
    for (i, (line, want)) in cases.iter().enumerate() {
        let p = put(dir.path(), &format!("case{i}_ob500.data"), format!("{first}{line}").as_bytes());
        let e = fails(None, std::slice::from_ref(&p));
        assert!(e.starts_with(&p.display().to_string()) && e.contains(want), "case {i}: {e}");
        // Skipping takes nothing of the bad message: only the snapshot's 3 events remain.
        let (s, _) = run(None, &[p], true).unwrap();
        assert_eq!((s.rows_in, s.skipped, s.records_out), (2, 1, 3), "case {i}");
    }
    // A truncated archive.
    let body: String =
        (0..400).map(|i| msg("delta", 1000 + i, 6 + i.unsigned_abs(), r#"["1.0","1"]"#, "")).collect();
    let zip = zip_one("x_ob500.data", body.as_bytes(), false);
    let p = put(dir.path(), "2024-12-03_XRPUSDT_ob500.data.zip", &zip[..zip.len() / 2]);
    let e = fails(None, std::slice::from_ref(&p));
    assert!(
        e.starts_with(&format!("{}: after line ", p.display()))
            && e.contains("(truncated or damaged archive)"),
        "{e}"
    );
}
