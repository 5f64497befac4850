//! The book sync machine on the real NKNUSDT capture (snapshot + 150 diffs + 74 bookTickers), and on
//! gaps, reordering and stale snapshots made from it.

mod common;

use std::collections::BTreeMap;

use common::{fixture, sequence_frames};
use kestrel_gw_binance::codec::{MarketMsg, decode, decode_market};
use kestrel_gw_binance::depth::{BookSync, DiffOutcome, Resync, SnapshotError};
use kestrel_gw_binance::msg::{BookTickerMsg, DepthSnapshot, DepthUpdateMsg};
use kestrel_types::{BookSide, Payload, Price, Qty};

/// A test-side book built only from the payloads the machine emits.
#[derive(Default)]
struct Book {
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
    in_snapshot: bool,
    snapshots: usize,
    clears: usize,
}

impl Book {
    fn apply(&mut self, p: Payload) {
        match p {
            Payload::SnapshotBegin => {
                self.bids.clear();
                self.asks.clear();
                self.in_snapshot = true;
            }
            Payload::SnapshotEnd => {
                self.in_snapshot = false;
                self.snapshots += 1;
            }
            Payload::BookClear => {
                self.bids.clear();
                self.asks.clear();
                self.clears += 1;
            }
            Payload::Level(l) => {
                let side = if l.side == BookSide::Bid { &mut self.bids } else { &mut self.asks };
                if l.size.is_zero() {
                    side.remove(&l.price);
                } else {
                    side.insert(l.price, l.size);
                }
            }
            other => panic!("unexpected payload {other:?}"),
        }
    }

    fn top(&self) -> (Price, Qty, Price, Qty) {
        let (bp, bq) = self.bids.iter().next_back().unwrap();
        let (ap, aq) = self.asks.iter().next().unwrap();
        (*bp, *bq, *ap, *aq)
    }
}

enum Frame<'a> {
    Diff(DepthUpdateMsg<'a>),
    Ticker(BookTickerMsg<'a>),
}

fn frames(text: &str) -> Vec<Frame<'_>> {
    sequence_frames(text)
        .into_iter()
        .map(|f| match decode_market(f).unwrap().msg {
            MarketMsg::Depth(d) => Frame::Diff(d),
            MarketMsg::BookTicker(t) => Frame::Ticker(t),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn diffs<'a>(all: &'a [Frame<'a>]) -> Vec<&'a DepthUpdateMsg<'a>> {
    all.iter().filter_map(|f| if let Frame::Diff(d) = f { Some(d) } else { None }).collect()
}

#[test]
fn real_capture_drops_the_covered_diff_and_chains_the_rest() {
    let seq = fixture("ws_depthUpdate_NKNUSDT_sequence.txt");
    let snap_text = fixture("rest_depth_snapshot_NKNUSDT_limit1000.json");
    let snapshot: DepthSnapshot = decode("snapshot", &snap_text).unwrap();
    let all = frames(&seq);
    let mut sync = BookSync::new(1000);
    let mut book = Book::default();
    let mut out = |p| book.apply(p);
    let mut snapshot_sent = false;
    let (mut applied, mut stale) = (0, 0);
    for frame in &all {
        match frame {
            Frame::Diff(d) => {
                match sync.on_diff(d, &mut out).unwrap() {
                    DiffOutcome::Buffered => {}
                    DiffOutcome::Stale => stale += 1,
                    DiffOutcome::Applied { book_id } => {
                        assert_eq!(book_id, d.last_update_id);
                        applied += 1;
                    }
                }
                // The capture's snapshot arrived right after the first diff (recv 512.32 s).
                if !snapshot_sent && sync.needs_snapshot() {
                    let id = sync.on_snapshot(&snapshot, &mut out).unwrap();
                    // The one buffered diff (750..=752) is inside the snapshot: dropped.
                    assert_eq!(id, 499_869_752);
                    snapshot_sent = true;
                }
            }
            Frame::Ticker(_) => {}
        }
    }
    assert_eq!((applied, stale), (149, 0), "499869753.. applies and every later diff chains");
    assert_eq!(book.snapshots, 1);
    assert_eq!(book.clears, 0);
    assert_eq!(sync.book_id(), Some(diffs(&all).last().unwrap().last_update_id));
    // The rebuilt book is never crossed.
    assert!(book.bids.keys().next_back() < book.asks.keys().next());
}

#[test]
fn book_top_equals_book_ticker_whenever_their_update_ids_meet() {
    let seq = fixture("ws_depthUpdate_NKNUSDT_sequence.txt");
    let snapshot: DepthSnapshot =
        decode("snapshot", &fixture("rest_depth_snapshot_NKNUSDT_limit1000.json")).unwrap();
    let all = frames(&seq);
    // bookTicker is real time and the diffs come every 100 ms, so a ticker usually arrives before
    // the diff that ends at its update id: compare once the book reaches that id.
    let tickers: BTreeMap<u64, (Price, Qty, Price, Qty)> = all
        .iter()
        .filter_map(|f| {
            if let Frame::Ticker(t) = f {
                Some((t.update_id, (t.bid, t.bid_qty, t.ask, t.ask_qty)))
            } else {
                None
            }
        })
        .collect();
    let mut sync = BookSync::new(1000);
    let mut book = Book::default();
    let mut compared = 0;
    for d in diffs(&all) {
        let mut emitted = Vec::new();
        sync.on_diff(d, &mut |p| emitted.push(p)).unwrap();
        if sync.needs_snapshot() {
            sync.on_snapshot(&snapshot, &mut |p| emitted.push(p)).unwrap();
        }
        for p in emitted {
            book.apply(p);
        }
        if let Some(top) = sync.book_id().and_then(|id| tickers.get(&id)) {
            assert_eq!(book.top(), *top, "update {:?}", sync.book_id());
            compared += 1;
        }
    }
    assert_eq!(compared, 19, "every ticker whose id ends a diff matches the rebuilt book");
}

#[test]
fn a_lost_diff_is_a_gap_that_clears_the_book_and_resyncs() {
    let seq = fixture("ws_depthUpdate_NKNUSDT_sequence.txt");
    let snapshot: DepthSnapshot =
        decode("snapshot", &fixture("rest_depth_snapshot_NKNUSDT_limit1000.json")).unwrap();
    let all = frames(&seq);
    let d = diffs(&all);
    let mut sync = BookSync::new(16);
    let mut emitted = Vec::new();
    let mut out = |p| emitted.push(p);
    sync.on_diff(d[0], &mut out).unwrap();
    sync.on_snapshot(&snapshot, &mut out).unwrap();
    sync.on_diff(d[1], &mut out).unwrap();
    // d[2] is lost.
    let err = sync.on_diff(d[3], &mut out).unwrap_err();
    assert_eq!(err, Resync::Gap { book_id: d[1].last_update_id, first: d[3].first_update_id });
    assert_eq!(emitted.last(), Some(&Payload::BookClear));
    assert_eq!(sync.book_id(), None);
    assert!(sync.needs_snapshot(), "the diff that showed the gap starts the new buffer");
    // The old snapshot is now older than the buffer: refused, buffer kept.
    let mut sink = |_| {};
    assert_eq!(
        sync.on_snapshot(&snapshot, &mut sink),
        Err(SnapshotError::TooOld { snapshot: 499_869_752, first_buffered: d[3].first_update_id })
    );
    // A snapshot at d[3]'s last id resyncs; the next diff continues it.
    let later = DepthSnapshot {
        last_update_id: d[3].last_update_id,
        bids: snapshot.bids.clone(),
        asks: snapshot.asks.clone(),
    };
    assert_eq!(sync.on_snapshot(&later, &mut sink), Ok(d[3].last_update_id));
    assert_eq!(sync.on_diff(d[4], &mut sink), Ok(DiffOutcome::Applied { book_id: d[4].last_update_id }));
}

#[test]
fn out_of_order_and_malformed_ranges_are_typed() {
    let seq = fixture("ws_depthUpdate_NKNUSDT_sequence.txt");
    let snapshot: DepthSnapshot =
        decode("snapshot", &fixture("rest_depth_snapshot_NKNUSDT_limit1000.json")).unwrap();
    let all = frames(&seq);
    let d = diffs(&all);
    let mut sink = |_| {};
    // Swapped: d[2] before d[1] → gap at d[2]; d[1] afterwards would be stale for a live book.
    let mut sync = BookSync::new(16);
    sync.on_diff(d[0], &mut sink).unwrap();
    sync.on_snapshot(&snapshot, &mut sink).unwrap();
    sync.on_diff(d[1], &mut sink).unwrap();
    assert!(matches!(sync.on_diff(d[3], &mut sink), Err(Resync::Gap { .. })));
    // A repeated (older) diff is stale, not an error.
    let mut sync = BookSync::new(16);
    sync.on_diff(d[0], &mut sink).unwrap();
    sync.on_snapshot(&snapshot, &mut sink).unwrap();
    sync.on_diff(d[1], &mut sink).unwrap();
    sync.on_diff(d[2], &mut sink).unwrap();
    assert_eq!(sync.on_diff(d[1], &mut sink), Ok(DiffOutcome::Stale));
    // The buffer starts after snapshot + 1: the first kept diff does not straddle it.
    let mut sync = BookSync::new(16);
    sync.on_diff(d[2], &mut sink).unwrap();
    let old = DepthSnapshot { last_update_id: d[2].first_update_id, bids: vec![], asks: vec![] };
    let e = sync.on_snapshot(&old, &mut sink);
    assert_eq!(e, Ok(d[2].last_update_id), "U ≤ id+1 ≤ u holds when the snapshot sits inside the diff");
    let mut sync = BookSync::new(16);
    sync.on_diff(d[2], &mut sink).unwrap();
    sync.on_diff(d[4], &mut sink).unwrap();
    let e = sync.on_snapshot(
        &DepthSnapshot { last_update_id: d[2].last_update_id, bids: vec![], asks: vec![] },
        &mut sink,
    );
    assert_eq!(
        e,
        Err(SnapshotError::Resync(Resync::NoStraddle {
            snapshot: d[2].last_update_id,
            first: d[4].first_update_id,
            last: d[4].last_update_id
        }))
    );
    // Inverted range, a snapshot with nothing buffered, a snapshot while live, a full buffer.
    let mut bad = d[1].clone();
    bad.first_update_id = bad.last_update_id + 1;
    let mut sync = BookSync::new(1);
    assert!(matches!(sync.on_diff(&bad, &mut sink), Err(Resync::Inverted { .. })));
    assert_eq!(sync.on_snapshot(&snapshot, &mut sink), Err(SnapshotError::NothingBuffered));
    sync.on_diff(d[0], &mut sink).unwrap();
    assert_eq!(sync.on_diff(d[1], &mut sink), Err(Resync::BufferFull { limit: 1 }));
    let mut sync = BookSync::new(4);
    sync.on_diff(d[0], &mut sink).unwrap();
    sync.on_snapshot(&snapshot, &mut sink).unwrap();
    assert_eq!(sync.on_snapshot(&snapshot, &mut sink), Err(SnapshotError::NotExpected));
}

#[test]
fn snapshot_levels_come_between_begin_and_end() {
    let snapshot: DepthSnapshot = decode("snapshot", &fixture("rest_depth_snapshot.json")).unwrap();
    let diff_text = r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":14527958480,"u":14527958490,"b":[["60650.00000000","0.00000000"]],"a":[]}"#;
    let MarketMsg::Depth(d) = decode_market(diff_text).unwrap().msg else { panic!() };
    let mut sync = BookSync::new(4);
    let mut emitted = Vec::new();
    sync.on_diff(&d, &mut |p| emitted.push(p)).unwrap();
    sync.on_snapshot(&snapshot, &mut |p| emitted.push(p)).unwrap();
    assert_eq!(emitted.len(), 1 + 20 + 1 + 1);
    assert_eq!(emitted[0], Payload::SnapshotBegin);
    assert_eq!(emitted[21], Payload::SnapshotEnd);
    let Payload::Level(l) = emitted[22] else { panic!() };
    assert_eq!((l.side, l.size), (BookSide::Bid, Qty::ZERO), "the straddling diff removes the best bid");
}
