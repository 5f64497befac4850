//! The order books on real and generated data: Databento MBO samples through the market-by-order
//! book, generated L2 data through the market-by-price book.
//!
//! # The DBN replay
//! The samples in `shared/data/dbn` are converted with the project's converter (the ES definition
//! with the MBO file, so the tick is the contract's 0.25, not the 0.01 the prices alone suggest),
//! then every event of the tick file goes through an [`L3Book`] (fills reported, not applied: in
//! Databento's MBO each fill comes with the cancel or modify that changes the book) and through the
//! naive [`RefL3Book`]. The two must answer every record the same way. At the end of each venue
//! event the book must not be crossed (nor locked), every level's size must be the sum of its
//! resting orders and its count their number, and the fast book must equal the reference level by
//! level and queue by queue.
//!
//! # Where an event ends
//! Databento marks the last record of each venue event with `F_LAST`, and the book is only
//! meaningful there (mid-event, a fill's cancel may not have arrived yet). The tick format does not
//! keep that flag (`replay/src/convert/dbn.rs`: "`LAST` is otherwise only a boundary a consumer
//! could want; it is not kept"), so this test ends an event where the next record of the instrument
//! has another `ts_event`: every record of one CME matching event carries that event's transaction
//! time. On these two files that rule finds exactly the `F_LAST` records: checked once with the
//! `dbn` crate, 184 live events in the ES file (all 184 `F_LAST`s outside the snapshot, none
//! elsewhere) and 2 in the small one; [`ESM4_EVENTS`] pins the count. Inside a snapshot nothing is
//! checked; its end (`SnapshotEnd`) is one more event end.

use std::path::{Path, PathBuf};

use kestrel_engine::book::reference::{RefL2Book, RefL3Book};
use kestrel_engine::book::{BookError, FillMode, L2Book, L2Config, L3Book, L3Config};
use kestrel_replay::convert::{ConvertOptions, convert};
use kestrel_replay::generate::{GenKind, GenSpec, plain_instrument, stream};
use kestrel_replay::tick::TickFile;
use kestrel_tests::count_allocations;
use kestrel_types::{BookSide, Event, OrderAction, Payload, Price, Qty, Timestamp};

/// Live venue events in the ES file, each ending with an `F_LAST` record (module docs).
const ESM4_EVENTS: u64 = 184;

fn data(rel: &str) -> PathBuf {
    kestrel_replay::data_root(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("shared/data").join(rel)
}

/// Converts `inputs` (paths under `shared/data`) into a tick file and returns its events.
fn converted(inputs: &[&str], name: &str) -> (Price, Vec<Event>) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("book_mbo");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}-{}.kt", std::process::id()));
    let paths: Vec<PathBuf> = inputs.iter().map(|r| data(r)).collect();
    convert(None, &paths, &out, ConvertOptions::default(), None).unwrap();
    let file = TickFile::open(&out).unwrap();
    let tick = file.header().instruments[0].tick_size();
    let events = file.events().collect::<Result<Vec<_>, _>>().unwrap();
    drop(file);
    std::fs::remove_file(&out).unwrap();
    (tick, events)
}

/// What a replay did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    adds: u64,
    cancels: u64,
    modifies: u64,
    fills: u64,
    trades: u64,
    clears: u64,
    snapshots: u64,
    /// Event ends at which the book was checked.
    event_ends: u64,
    /// Refused records by kind of refusal.
    unknown_order: u64,
    out_of_window: u64,
    other_errors: u64,
}

/// Whether record `i` ends a venue event of its instrument (module docs).
fn ends_event(events: &[Event], i: usize) -> bool {
    events[i + 1..]
        .iter()
        .find(|e| e.instrument == events[i].instrument)
        .is_none_or(|next| next.ts_event != events[i].ts_event)
}

/// Every level's size is the sum of its orders and its count their number; the fast book equals
/// the reference.
fn assert_consistent(fast: &L3Book, slow: &RefL3Book, at: usize) {
    fast.check().unwrap_or_else(|e| panic!("record {at}: {e}"));
    assert_eq!(fast.len(), slow.len(), "record {at}");
    for side in [BookSide::Bid, BookSide::Ask] {
        let levels: Vec<_> = fast.depth(side, usize::MAX).collect();
        assert_eq!(levels, slow.levels(side), "record {at}: {side:?} levels");
        let mut orders = 0;
        for l in &levels {
            let fifo: Vec<_> = fast.orders_at(side, l.price).collect();
            let sum: i64 = fifo.iter().map(|o| o.size.raw()).sum();
            assert_eq!(Qty::from_raw(sum), l.size, "record {at}: {side:?} {} size", l.price);
            assert_eq!(fifo.len(), l.orders as usize, "record {at}: {side:?} {} count", l.price);
            orders += fifo.len();
        }
        // The queues themselves, near the touch (all of them would be 13,600 orders per event).
        for l in levels.iter().take(8) {
            assert_eq!(fast.orders_at(side, l.price).collect::<Vec<_>>(), slow.orders_at(side, l.price));
        }
        assert!(orders <= fast.len());
    }
}

/// Replays `events` through a fast and a reference L3 book of `window` ticks, checking at event
/// ends (module docs).
fn replay_l3(tick: Price, window: usize, events: &[Event]) -> (Counts, L3Book) {
    let config = L3Config { tick, window, max_orders: 1 << 15, fills: FillMode::Report };
    let mut fast = L3Book::new(config).unwrap();
    let mut slow = RefL3Book::new(tick, window, config.max_orders, config.fills);
    let mut c = Counts::default();
    for (i, ev) in events.iter().enumerate() {
        let (a, b) = (fast.apply_payload(&ev.payload), slow.apply_payload(&ev.payload));
        assert_eq!(a, b, "record {i}: {:?}", ev.payload);
        match (ev.payload, a) {
            (Payload::Order(o), Ok(_)) => match o.action {
                OrderAction::Add => c.adds += 1,
                OrderAction::Cancel => c.cancels += 1,
                OrderAction::Modify => c.modifies += 1,
                OrderAction::Fill => c.fills += 1,
            },
            (Payload::Order(_), Err(BookError::UnknownOrder { .. })) => c.unknown_order += 1,
            (Payload::Order(_), Err(BookError::OutOfWindow { .. })) => c.out_of_window += 1,
            (Payload::Order(_), Err(_)) => c.other_errors += 1,
            (Payload::Trade(_), _) => c.trades += 1,
            (Payload::BookClear, _) => c.clears += 1,
            (Payload::SnapshotBegin, _) => c.snapshots += 1,
            _ => {}
        }
        if !fast.in_snapshot() && ends_event(events, i) {
            c.event_ends += 1;
            assert!(
                !fast.is_crossed(),
                "record {i}: crossed at the end of an event: bid {:?} ask {:?}",
                fast.best_bid(),
                fast.best_ask()
            );
            assert_consistent(&fast, &slow, i);
        }
    }
    (c, fast)
}

/// The ES snapshot (13,600 orders after an `R` clear) and two seconds of live events.
#[test]
fn esm4_mbo_rebuilds_a_consistent_book() {
    let (tick, events) = converted(
        &["dbn/glbx-esm4-20240508.definition.v1.dbn.zst", "dbn/glbx-esm4-20240508.mbo.v1.dbn.zst"],
        "esm4",
    );
    assert_eq!(tick, "0.25".parse().unwrap(), "the definition's tick");
    let (c, book) = replay_l3(tick, L3Config::DEFAULT_WINDOW, &events);
    assert_eq!(
        c,
        Counts {
            adds: 13_600 + 78,
            cancels: 80,
            modifies: 27,
            fills: 5,
            trades: 5,
            clears: 1,
            snapshots: 1,
            event_ends: ESM4_EVENTS + 1,
            unknown_order: 0,
            out_of_window: 0,
            other_errors: 0,
        }
    );
    // Where the book stands after the last event.
    let p = |s: &str| s.parse::<Price>().unwrap();
    assert_eq!(book.best_bid().map(|(px, _)| px), Some(p("5214")));
    assert_eq!(book.best_ask().map(|(px, _)| px), Some(p("5214.25")));
    assert_eq!(book.len(), 13_600 + 78 - 80, "every cancel in this file takes its whole order");
}

/// A window narrower than the snapshot: the far orders are refused with `OutOfWindow`, the rest
/// of the book stays exact and uncrossed.
#[test]
fn esm4_in_a_narrow_window_refuses_the_far_orders() {
    let (tick, events) = converted(
        &["dbn/glbx-esm4-20240508.definition.v1.dbn.zst", "dbn/glbx-esm4-20240508.mbo.v1.dbn.zst"],
        "esm4-narrow",
    );
    // 2^14 ticks of 0.25 is 4096 points, less than the bids' 4720.50 (493.50 to 5214.00).
    let (c, _) = replay_l3(tick, 1 << 14, &events);
    assert!(c.out_of_window > 0, "{c:?}");
    assert_eq!(c.event_ends, ESM4_EVENTS + 1);
}

/// The smallest file: two cancels of orders the book never saw (no snapshot), refused as unknown.
#[test]
fn esh1_mbo_cancels_of_unknown_orders_are_refused() {
    let (tick, events) = converted(&["dbn/glbx-esh1-20201228.mbo.v3.dbn"], "esh1");
    let (c, book) = replay_l3(tick, L3Config::DEFAULT_WINDOW, &events);
    assert_eq!((c.unknown_order, c.cancels, c.event_ends), (2, 0, 2), "{c:?}");
    assert!(book.is_empty());
}

/// Neither book allocates after construction: the ES events replayed through an `L3Book`, and a
/// generated L2 stream (snapshots, clears, level updates) through an `L2Book`, counted by the
/// binary's allocator.
#[test]
fn books_allocate_nothing_per_event() {
    let (tick, events) = converted(
        &["dbn/glbx-esm4-20240508.definition.v1.dbn.zst", "dbn/glbx-esm4-20240508.mbo.v1.dbn.zst"],
        "esm4-alloc",
    );
    let mut l3 = L3Book::new(L3Config::new(tick, 1 << 15, FillMode::Report)).unwrap();
    let (refused, allocations) = count_allocations(|| {
        let mut refused = 0u32;
        for _ in 0..3 {
            for ev in &events {
                refused += u32::from(l3.apply_payload(&ev.payload).is_err());
            }
        }
        refused
    });
    assert_eq!((refused, allocations), (0, 0));

    let generated = l2_events(200_000);
    let mut l2 = L2Book::new(L2Config::new(Price::from_raw(10_000_000))).unwrap();
    let (refused, allocations) =
        count_allocations(|| generated.iter().filter(|ev| l2.apply_payload(&ev.payload).is_err()).count());
    assert_eq!((refused, allocations), (0, 0));
}

/// `n` events of the generator's L2 stream (one cent-tick instrument).
fn l2_events(n: u64) -> Vec<Event> {
    let instrument = plain_instrument("SYN", Price::from_raw(10_000_000), Qty::ONE).unwrap();
    let start = Timestamp::from_nanos(1_704_205_800_000_000_000);
    let spec = GenSpec { kind: GenKind::L2, events: n, seed: 7, instrument, start };
    let mut events = Vec::with_capacity(usize::try_from(n).unwrap());
    stream(&spec, |ev| {
        events.push(*ev);
        Ok::<(), ()>(())
    })
    .unwrap();
    events
}

/// The generated L2 stream rebuilds the same book in the fast and the reference book, never
/// crossed at the end of a generator step (one `ts_event`), with clears and fresh snapshots
/// along the way.
#[test]
fn generated_l2_replay_agrees_with_the_reference() {
    let events = l2_events(1_000_000);
    let tick = Price::from_raw(10_000_000);
    let mut fast = L2Book::new(L2Config::new(tick)).unwrap();
    let mut slow = RefL2Book::new(tick, L2Config::DEFAULT_WINDOW);
    let (mut snapshots, mut checks) = (0, 0);
    for (i, ev) in events.iter().enumerate() {
        let (a, b) = (fast.apply_payload(&ev.payload), slow.apply_payload(&ev.payload));
        assert_eq!(a, b, "record {i}: {:?}", ev.payload);
        assert!(a.is_ok(), "record {i}: {a:?}");
        snapshots += u64::from(ev.payload == Payload::SnapshotBegin);
        if !fast.in_snapshot() && ends_event(&events, i) {
            assert!(!fast.is_crossed(), "record {i}");
            for side in [BookSide::Bid, BookSide::Ask] {
                assert_eq!(fast.best(side), slow.best(side), "record {i}");
            }
            // Whole books now and then (they are at most 128 levels, but a million times).
            if i % 1_000 == 0 {
                for side in [BookSide::Bid, BookSide::Ask] {
                    assert_eq!(fast.depth(side, usize::MAX).collect::<Vec<_>>(), slow.levels(side));
                }
                fast.check().unwrap();
            }
            checks += 1;
        }
    }
    assert!(snapshots >= 2, "the opening snapshot and at least one recovery: {snapshots}");
    assert!(checks > 900_000, "{checks}");
}
