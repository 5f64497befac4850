//! The books against their reference, on hand-written cases and on random command streams.
//!
//! The property tests run the fast book and the naive `BTreeMap` book ([`super::reference`]) on
//! the same random commands and require, after every command: the same result (the same error, or
//! the same top-of-book change), the same best bid and ask, every level the same (price, size and
//! order count), and for L3 every level's orders in the same FIFO order, every order and its queue
//! position the same, the fast book's invariants intact ([`L3Book::check`]), and no quantity made
//! or lost (the sum of the levels equals the sum of the resting orders, which equals what the
//! accepted commands added minus what they took). Windows are small (64 and 128 ticks) and prices
//! spread wider, so that window refusals and bitmap scans across words and around the ring are
//! frequent; the L3 capacity is small, so that the book fills.

use kestrel_types::{BookOrder, BookSide, LevelUpdate, OrderAction, Payload, Price, Qty};
use proptest::prelude::*;

use super::reference::{RefL2Book, RefL3Book};
use super::*;

const BID: BookSide = BookSide::Bid;
const ASK: BookSide = BookSide::Ask;

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn q(s: &str) -> Qty {
    s.parse().unwrap()
}

fn lvl(side: BookSide, price: &str, size: &str) -> LevelUpdate {
    LevelUpdate { side, price: p(price), size: q(size) }
}

fn l2(tick: &str, window: usize) -> L2Book {
    L2Book::new(L2Config { tick: p(tick), window }).unwrap()
}

fn l3(tick: &str, window: usize, max_orders: usize, fills: FillMode) -> L3Book {
    L3Book::new(L3Config { tick: p(tick), window, max_orders, fills }).unwrap()
}

fn order(action: OrderAction, id: u64, side: BookSide, price: &str, size: &str) -> BookOrder {
    BookOrder { action, side, price: p(price), size: q(size), order_id: id }
}

fn ids_at(book: &L3Book, side: BookSide, price: &str) -> Vec<u64> {
    book.orders_at(side, p(price)).map(|o| o.id).collect()
}

#[test]
fn configs_are_checked() {
    assert_eq!(
        L2Book::new(L2Config { tick: Price::ZERO, window: 64 }).unwrap_err(),
        BookConfigError::Tick(Price::ZERO)
    );
    for window in [0, 32, 100, MAX_WINDOW * 2] {
        assert!(matches!(
            L2Book::new(L2Config { tick: p("0.25"), window }),
            Err(BookConfigError::Window { .. })
        ));
    }
    let bad = L3Book::new(L3Config { tick: p("1"), window: 64, max_orders: 0, fills: FillMode::Reduce });
    assert!(matches!(bad, Err(BookConfigError::Capacity { capacity: 0, .. })));
}

#[test]
fn l2_levels_best_and_depth() {
    let mut b = l2("0.25", 64);
    assert_eq!(b.apply(&lvl(BID, "100", "5")), Ok(TopChange { bid: true, ask: false }));
    assert_eq!(b.apply(&lvl(BID, "99.5", "3")), Ok(TopChange::NONE));
    assert_eq!(b.apply(&lvl(ASK, "100.25", "2")), Ok(TopChange { bid: false, ask: true }));
    assert_eq!(b.apply(&lvl(ASK, "101", "7")), Ok(TopChange::NONE));
    assert_eq!(b.best_bid(), Some((p("100"), q("5"))));
    assert_eq!(b.best_ask(), Some((p("100.25"), q("2"))));
    assert_eq!(b.level(BID, p("99.5")), q("3"));
    assert_eq!(b.level(BID, p("99.75")), Qty::ZERO);
    assert_eq!(b.level(BID, p("99.7")), Qty::ZERO, "off the grid");
    let bids: Vec<_> = b.depth(BID, 10).map(|l| (l.price, l.size)).collect();
    assert_eq!(bids, [(p("100"), q("5")), (p("99.5"), q("3"))]);
    assert_eq!(b.depth(ASK, 1).count(), 1);
    // The size at the best changes: a top change; the same size again: none.
    assert_eq!(b.apply(&lvl(BID, "100", "4")), Ok(TopChange { bid: true, ask: false }));
    assert_eq!(b.apply(&lvl(BID, "100", "4")), Ok(TopChange::NONE));
    // The best empties: the next level is found.
    assert_eq!(b.apply(&lvl(BID, "100", "0")), Ok(TopChange { bid: true, ask: false }));
    assert_eq!(b.best_bid(), Some((p("99.5"), q("3"))));
    // Removing a level that is not there changes nothing.
    assert_eq!(b.apply(&lvl(BID, "98", "0")), Ok(TopChange::NONE));
    assert!(!b.is_crossed());
    b.apply(&lvl(BID, "100.25", "1")).unwrap();
    assert!(b.is_crossed(), "locked counts as crossed");
    b.check().unwrap();
}

#[test]
fn l2_refusals_change_nothing() {
    let mut b = l2("0.25", 64);
    b.apply(&lvl(BID, "100", "5")).unwrap();
    assert_eq!(
        b.apply(&lvl(BID, "100.1", "1")),
        Err(BookError::OffGrid { side: BID, price: p("100.1"), tick: p("0.25") })
    );
    assert_eq!(
        b.apply(&lvl(ASK, "100.1", "-1")),
        Err(BookError::NegativeSize { side: ASK, price: p("100.1"), size: q("-1") }),
        "the size is checked first"
    );
    // 64 ticks of 0.25 = 16: 100 - 15.75 fits, 100 - 16 does not; nor 100 + 16 above.
    b.apply(&lvl(BID, "84.25", "1")).unwrap();
    assert_eq!(
        b.apply(&lvl(BID, "84", "1")),
        Err(BookError::OutOfWindow {
            side: BID,
            price: p("84"),
            best: p("100"),
            deepest: p("84.25"),
            window: 64
        })
    );
    assert!(matches!(b.apply(&lvl(BID, "100.25", "1")), Err(BookError::OutOfWindow { .. })));
    assert_eq!(b.apply(&lvl(BID, "84", "0")), Ok(TopChange::NONE), "a removal outside the window is a no-op");
    // Once the deep level goes, the window follows the best up: no recentring to do.
    b.apply(&lvl(BID, "84.25", "0")).unwrap();
    b.apply(&lvl(BID, "115.75", "1")).unwrap();
    assert_eq!(b.best_bid(), Some((p("115.75"), q("1"))));
    assert_eq!(b.levels(BID), 2);
    b.check().unwrap();
}

#[test]
fn l2_book_drifts_far_past_its_window() {
    // A side that walks 100 windows up and back, a few levels deep: never refused.
    let mut b = l2("1", 64);
    for step in (0..6_400i64).chain((0..6_400).rev()) {
        let top = 1_000 + step;
        b.apply(&LevelUpdate { side: BID, price: Price::from_raw(top * 1_000_000_000), size: Qty::ONE })
            .unwrap();
        b.apply(&LevelUpdate {
            side: BID,
            price: Price::from_raw((top - 3) * 1_000_000_000),
            size: Qty::ZERO,
        })
        .unwrap();
        b.apply(&LevelUpdate {
            side: BID,
            price: Price::from_raw((top + 3) * 1_000_000_000),
            size: Qty::ZERO,
        })
        .unwrap();
        assert!(b.levels(BID) <= 5);
    }
    b.check().unwrap();
}

#[test]
fn l2_snapshot_replaces_the_book() {
    let mut b = l2("0.01", 4096);
    b.apply(&lvl(BID, "10", "1")).unwrap();
    b.apply(&lvl(ASK, "10.02", "1")).unwrap();
    assert_eq!(b.apply_payload(&Payload::SnapshotBegin), Ok(TopChange::BOTH));
    assert!(b.in_snapshot());
    assert_eq!(b.best_bid(), None);
    b.apply_payload(&Payload::Level(lvl(BID, "11", "2"))).unwrap();
    b.apply_payload(&Payload::Level(lvl(ASK, "11.01", "3"))).unwrap();
    assert_eq!(b.apply_payload(&Payload::SnapshotEnd), Ok(TopChange::NONE));
    assert!(!b.in_snapshot());
    assert_eq!((b.best_bid(), b.best_ask()), (Some((p("11"), q("2"))), Some((p("11.01"), q("3")))));
    assert_eq!(b.levels(BID) + b.levels(ASK), 2);
    assert_eq!(b.apply_payload(&Payload::BookClear), Ok(TopChange::BOTH));
    assert_eq!(b.apply_payload(&Payload::BookClear), Ok(TopChange::NONE));
    let trade = kestrel_types::Trade {
        price: p("1"),
        size: q("1"),
        aggressor: kestrel_types::Aggressor::Buy,
        trade_id: 0,
    };
    assert_eq!(b.apply_payload(&Payload::Trade(trade)), Ok(TopChange::NONE), "not the book's");
}

#[test]
fn l3_fifo_priority_rules() {
    let mut b = l3("0.25", 1 << 10, 16, FillMode::Reduce);
    for id in 1..=3 {
        b.apply(&order(OrderAction::Add, id, BID, "100", "2")).unwrap();
    }
    assert_eq!(ids_at(&b, BID, "100"), [1, 2, 3]);
    assert_eq!(b.level(BID, p("100")), q("6"));
    assert_eq!(b.queue_ahead(3), Some(q("4")));
    // A smaller size keeps the place.
    b.apply(&order(OrderAction::Modify, 1, BID, "100", "1")).unwrap();
    assert_eq!(ids_at(&b, BID, "100"), [1, 2, 3]);
    assert_eq!(b.level(BID, p("100")), q("5"));
    // A larger size goes to the back.
    b.apply(&order(OrderAction::Modify, 2, BID, "100", "3")).unwrap();
    assert_eq!(ids_at(&b, BID, "100"), [1, 3, 2]);
    assert_eq!(b.level(BID, p("100")), q("6"));
    // A new price goes to the back of the new level, even a better one.
    b.apply(&order(OrderAction::Add, 4, BID, "100.25", "1")).unwrap();
    b.apply(&order(OrderAction::Modify, 1, BID, "100.25", "1")).unwrap();
    assert_eq!(ids_at(&b, BID, "100.25"), [4, 1]);
    assert_eq!(ids_at(&b, BID, "100"), [3, 2]);
    // A partial cancel keeps the place; a cancel of 0 removes what is left.
    b.apply(&order(OrderAction::Cancel, 3, BID, "100", "1")).unwrap();
    assert_eq!(b.order(3).map(|o| o.size), Some(q("1")));
    assert_eq!(ids_at(&b, BID, "100"), [3, 2]);
    b.apply(&order(OrderAction::Cancel, 3, BID, "100", "0")).unwrap();
    assert_eq!(ids_at(&b, BID, "100"), [2]);
    // A fill takes size off the order (Reduce) and removes it when done.
    b.apply(&order(OrderAction::Fill, 4, BID, "100.25", "1")).unwrap();
    assert_eq!(ids_at(&b, BID, "100.25"), [1]);
    assert_eq!(b.best_bid(), Some((p("100.25"), q("1"))));
    let depth: Vec<_> = b.depth(BID, 5).map(|l| (l.price, l.size, l.orders)).collect();
    assert_eq!(depth, [(p("100.25"), q("1"), 1), (p("100"), q("3"), 1)]);
    assert_eq!(b.len(), 2);
    b.check().unwrap();
}

#[test]
fn l3_refusals_name_the_order_and_change_nothing() {
    let mut b = l3("0.25", 64, 2, FillMode::Report);
    b.apply(&order(OrderAction::Add, 7, ASK, "50", "3")).unwrap();
    let before = b.clone();
    let cases = [
        (order(OrderAction::Add, 7, ASK, "50", "1"), BookError::DuplicateOrder { id: 7 }),
        (
            order(OrderAction::Add, 8, ASK, "50", "0"),
            BookError::BadSize { id: 8, action: OrderAction::Add, size: Qty::ZERO },
        ),
        (
            order(OrderAction::Cancel, 9, ASK, "50", "1"),
            BookError::UnknownOrder { id: 9, action: OrderAction::Cancel },
        ),
        (
            order(OrderAction::Cancel, 7, ASK, "50.25", "1"),
            BookError::Mismatch {
                id: 7,
                action: OrderAction::Cancel,
                side: ASK,
                price: p("50.25"),
                book_side: ASK,
                book_price: p("50"),
            },
        ),
        (
            order(OrderAction::Fill, 7, ASK, "50", "4"),
            BookError::TooLarge { id: 7, action: OrderAction::Fill, size: q("4"), resting: q("3") },
        ),
        (
            order(OrderAction::Modify, 7, BID, "50", "1"),
            BookError::Mismatch {
                id: 7,
                action: OrderAction::Modify,
                side: BID,
                price: p("50"),
                book_side: ASK,
                book_price: p("50"),
            },
        ),
        (
            order(OrderAction::Add, 8, ASK, "66", "1"),
            BookError::OutOfWindow { side: ASK, price: p("66"), best: p("50"), deepest: p("50"), window: 64 },
        ),
        (
            order(OrderAction::Modify, 7, ASK, "50.01", "1"),
            BookError::OffGrid { side: ASK, price: p("50.01"), tick: p("0.25") },
        ),
    ];
    for (record, err) in cases {
        assert_eq!(b.apply(&record), Err(err), "{record:?}");
        assert_eq!(ids_at(&b, ASK, "50"), ids_at(&before, ASK, "50"));
        assert_eq!(b.best_ask(), before.best_ask());
        b.check().unwrap();
    }
    // A lone order may move anywhere: its old level leaves the window with it.
    b.apply(&order(OrderAction::Modify, 7, ASK, "80", "3")).unwrap();
    assert_eq!(b.best_ask(), Some((p("80"), q("3"))));
    b.apply(&order(OrderAction::Add, 8, ASK, "80.25", "1")).unwrap();
    assert_eq!(
        b.apply(&order(OrderAction::Add, 9, ASK, "80.5", "1")),
        Err(BookError::Full { id: 9, capacity: 2 })
    );
    // Report mode: the fill is checked, the book unchanged; the venue's cancel follows.
    assert_eq!(b.apply(&order(OrderAction::Fill, 7, ASK, "80", "1")), Ok(TopChange::NONE));
    assert_eq!(b.level(ASK, p("80")), q("3"));
    assert_eq!(
        b.apply(&order(OrderAction::Cancel, 7, ASK, "80", "1")),
        Ok(TopChange { bid: false, ask: true })
    );
    assert_eq!(b.level(ASK, p("80")), q("2"));
    b.check().unwrap();
}

#[test]
fn l3_level_totals_never_overflow() {
    let mut b = l3("1", 64, 8, FillMode::Reduce);
    let half = Qty::from_raw(i64::MAX / 2 + 1);
    let add = |id, price: &str, size| BookOrder {
        action: OrderAction::Add,
        side: BID,
        price: p(price),
        size,
        order_id: id,
    };
    b.apply(&add(1, "10", half)).unwrap();
    assert_eq!(
        b.apply(&add(2, "10", half)),
        Err(BookError::LevelOverflow { id: 2, side: BID, price: p("10"), level: half })
    );
    b.apply(&add(2, "10", Qty::ONE)).unwrap();
    b.apply(&add(3, "11", half)).unwrap();
    // Growing in place, or moving onto the full level, is refused the same way.
    let modify = |id, price: &str, size| BookOrder {
        action: OrderAction::Modify,
        side: BID,
        price: p(price),
        size,
        order_id: id,
    };
    assert!(matches!(b.apply(&modify(2, "10", half)), Err(BookError::LevelOverflow { id: 2, .. })));
    assert!(matches!(b.apply(&modify(3, "10", half)), Err(BookError::LevelOverflow { id: 3, .. })));
    assert_eq!(b.level(BID, p("10")), Qty::from_raw(half.raw() + Qty::ONE.raw()));
    b.check().unwrap();
}

#[test]
fn l3_clear_and_snapshot_return_every_node() {
    let mut b = l3("1", 256, 8, FillMode::Reduce);
    for round in 0..5u64 {
        b.apply_payload(&Payload::SnapshotBegin).unwrap();
        assert!(b.in_snapshot() && b.is_empty());
        for k in 0..8u64 {
            let side = if k % 2 == 0 { BID } else { ASK };
            let px = if side == BID { 100 - k } else { 101 + k };
            let o = BookOrder {
                action: OrderAction::Add,
                side,
                price: Price::from_raw(i64::try_from(px).unwrap() * 1_000_000_000),
                size: Qty::ONE,
                order_id: round * 100 + k,
            };
            b.apply_payload(&Payload::Order(o)).unwrap();
        }
        b.apply_payload(&Payload::SnapshotEnd).unwrap();
        assert_eq!(b.len(), 8, "the capacity is whole again after each clear");
        b.check().unwrap();
    }
    assert_eq!(b.clear(), TopChange::BOTH);
    b.check().unwrap();
    assert_eq!(b.order(400), None);
}

#[test]
fn bitmap_scans_cross_words_and_wrap_the_ring() {
    // Levels 63 apart in a 64-tick window, at ticks that wrap the ring: each removal of the best
    // scans across words.
    let mut b = l2("1", 128);
    let at = |t: i64| Price::from_raw(t * 1_000_000_000);
    for t in [1_000_063, 1_000_001, 1_000_127, 1_000_064] {
        b.apply(&LevelUpdate { side: ASK, price: at(t), size: Qty::ONE }).unwrap();
    }
    let seen: Vec<_> = b.depth(ASK, 9).map(|l| l.price).collect();
    assert_eq!(seen, [at(1_000_001), at(1_000_063), at(1_000_064), at(1_000_127)]);
    for gone in [1_000_001, 1_000_063, 1_000_064] {
        b.apply(&LevelUpdate { side: ASK, price: at(gone), size: Qty::ZERO }).unwrap();
        b.check().unwrap();
    }
    assert_eq!(b.best_ask(), Some((at(1_000_127), Qty::ONE)));
}

// ---- Property tests ----------------------------------------------------------------------------

/// Ticks: a power of two, an odd one, and the usual decimal ones.
fn tick() -> impl Strategy<Value = Price> {
    prop::sample::select(vec![1i64, 4, 25, 10_000_000, 250_000_000]).prop_map(Price::from_raw)
}

/// Price offsets in ticks: mostly near the touch, sometimes one or two windows away.
fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![6 => -12i64..12, 2 => -80i64..80, 1 => -300i64..300]
}

fn side() -> impl Strategy<Value = BookSide> {
    prop::sample::select(vec![BID, ASK])
}

#[derive(Clone, Debug)]
enum L2Cmd {
    Level {
        side: BookSide,
        offset: i64,
        lots: i64,
    },
    OffGrid {
        side: BookSide,
        offset: i64,
    },
    Negative {
        side: BookSide,
        offset: i64,
    },
    Clear,
    Begin,
    End,
    /// Moves the centre prices are drawn around (the book drifts).
    Drift(i64),
}

fn l2_cmd() -> impl Strategy<Value = L2Cmd> {
    prop_oneof![
        40 => (side(), offset(), prop_oneof![1 => Just(0i64), 3 => 1i64..50]).prop_map(|(side, offset, lots)| L2Cmd::Level { side, offset, lots }),
        1 => (side(), offset()).prop_map(|(side, offset)| L2Cmd::OffGrid { side, offset }),
        1 => (side(), offset()).prop_map(|(side, offset)| L2Cmd::Negative { side, offset }),
        1 => Just(L2Cmd::Clear),
        1 => Just(L2Cmd::Begin),
        1 => Just(L2Cmd::End),
        2 => (-40i64..40).prop_map(L2Cmd::Drift),
    ]
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Bids below the centre and asks above it (so the book is mostly uncrossed), or anywhere.
fn l2_price(tick: Price, centre: i64, side: BookSide, offset: i64) -> Price {
    let t = centre + if side == BID { -offset.abs() } else { offset.abs() };
    Price::from_raw(t * tick.raw())
}

fn same_l2(fast: &L2Book, slow: &RefL2Book) -> Result<(), TestCaseError> {
    for side in [BID, ASK] {
        prop_assert_eq!(fast.best(side), slow.best(side));
        prop_assert_eq!(fast.depth(side, usize::MAX).collect::<Vec<_>>(), slow.levels(side));
        prop_assert_eq!(fast.levels(side), slow.levels(side).len());
    }
    prop_assert_eq!(fast.is_crossed(), slow.is_crossed());
    prop_assert_eq!(fast.in_snapshot(), slow.in_snapshot());
    prop_assert!(fast.check().is_ok(), "{:?}", fast.check());
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// L2: the same answers and the same book after every command.
    #[test]
    fn l2_agrees_with_the_reference(
        tick in tick(),
        window in prop::sample::select(vec![64usize, 128]),
        start in -1_000i64..1_000_000,
        cmds in prop::collection::vec(l2_cmd(), 1..300),
    ) {
        let mut fast = L2Book::new(L2Config { tick, window }).unwrap();
        let mut slow = RefL2Book::new(tick, window);
        let mut centre = start;
        for cmd in cmds {
            let payload = match cmd {
                L2Cmd::Level { side, offset, lots } => Payload::Level(LevelUpdate {
                    side,
                    price: l2_price(tick, centre, side, offset),
                    size: Qty::from_raw(lots * 1_000),
                }),
                L2Cmd::OffGrid { side, offset } => Payload::Level(LevelUpdate {
                    side,
                    price: Price::from_raw(l2_price(tick, centre, side, offset).raw() + 1),
                    size: Qty::ONE,
                }),
                L2Cmd::Negative { side, offset } => Payload::Level(LevelUpdate {
                    side,
                    price: l2_price(tick, centre, side, offset),
                    size: Qty::from_raw(-1),
                }),
                L2Cmd::Clear => Payload::BookClear,
                L2Cmd::Begin => Payload::SnapshotBegin,
                L2Cmd::End => Payload::SnapshotEnd,
                L2Cmd::Drift(d) => {
                    centre += d;
                    continue;
                }
            };
            let (a, b) = (fast.apply_payload(&payload), slow.apply_payload(&payload));
            if tick.raw() == 1 && matches!(cmd, L2Cmd::OffGrid { .. }) {
                // Every price is on a 1-nano grid: the "off-grid" price is a plain update.
                let plain = a.is_ok() || matches!(a, Err(BookError::OutOfWindow { .. }));
                prop_assert!(plain, "{:?}", a);
            }
            prop_assert_eq!(a, b, "{:?}", payload);
            same_l2(&fast, &slow)?;
        }
    }
}

#[derive(Clone, Debug)]
enum L3Cmd {
    /// `exact`: use the resting order's side and price (when it rests), so that most cancels,
    /// fills and modifies meet their order.
    /// `pick`: aim a cancel, fill or modify at the `pick`-th resting order (when any rests) rather
    /// than at `id`. `size`: the size in lots, or `None` for a huge one (level overflows).
    Order {
        action: OrderAction,
        id: u64,
        pick: Option<usize>,
        side: BookSide,
        offset: i64,
        size: Option<i64>,
        exact: bool,
        whole: bool,
        off_grid: bool,
    },
    Clear,
    Begin,
    End,
    Drift(i64),
}

fn l3_cmd() -> impl Strategy<Value = L3Cmd> {
    let action = prop::sample::select(vec![
        OrderAction::Add,
        OrderAction::Add,
        OrderAction::Add,
        OrderAction::Cancel,
        OrderAction::Cancel,
        OrderAction::Modify,
        OrderAction::Modify,
        OrderAction::Fill,
    ]);
    prop_oneof![
        60 => (
            (action, 0u64..40, prop::option::weighted(0.8, 0usize..64), side(), offset()),
            (
                prop_oneof![1 => Just(Some(0i64)), 1 => Just(Some(-1i64)), 2 => Just(None), 40 => (1i64..6).prop_map(Some)],
                prop::bool::weighted(0.9),
                prop::bool::weighted(0.3),
                prop::bool::weighted(0.02),
            ),
        )
            .prop_map(|((action, id, pick, side, offset), (size, exact, whole, off_grid))| L3Cmd::Order {
                action, id, pick, side, offset, size, exact, whole, off_grid,
            }),
        1 => Just(L3Cmd::Clear),
        1 => Just(L3Cmd::Begin),
        1 => Just(L3Cmd::End),
        3 => (-40i64..40).prop_map(L3Cmd::Drift),
    ]
}

/// Ids drawn from a small pool collide: duplicates, unknown ids and stale ids are all common.
/// Some ids are spread over the whole `u64` range so the id table sees sparse keys.
fn venue_id(k: u64) -> u64 {
    if k.is_multiple_of(3) { k.wrapping_mul(0x9E37_79B9_7F4A_7C15) } else { 6_413_245_560_000 + k }
}

fn same_l3(fast: &L3Book, slow: &RefL3Book) -> Result<(), TestCaseError> {
    prop_assert_eq!(fast.len(), slow.len());
    for side in [BID, ASK] {
        prop_assert_eq!(fast.best(side), slow.best(side));
        let levels = fast.depth(side, usize::MAX).collect::<Vec<_>>();
        prop_assert_eq!(&levels, &slow.levels(side));
        for l in levels {
            let fifo: Vec<_> = fast.orders_at(side, l.price).collect();
            prop_assert_eq!(&fifo, &slow.orders_at(side, l.price));
            let sum: i128 = fifo.iter().map(|o| i128::from(o.size.raw())).sum();
            prop_assert_eq!(sum, i128::from(l.size.raw()), "a level's size is its orders' sum");
        }
    }
    for k in 0..40 {
        let id = venue_id(k);
        prop_assert_eq!(fast.order(id), slow.order(id));
        prop_assert_eq!(fast.queue_ahead(id), slow.queue_ahead(id));
    }
    prop_assert_eq!(fast.is_crossed(), slow.is_crossed());
    prop_assert_eq!(fast.in_snapshot(), slow.in_snapshot());
    prop_assert!(fast.check().is_ok(), "{:?}", fast.check());
    Ok(())
}

/// The sum of every level's size on both sides.
fn levels_total(book: &L3Book) -> i128 {
    [BID, ASK].into_iter().flat_map(|s| book.depth(s, usize::MAX)).map(|l| i128::from(l.size.raw())).sum()
}

proptest! {
    #![proptest_config(config())]

    /// L3: the same answers, the same levels, the same FIFO queues after every command; no
    /// quantity created or lost.
    #[test]
    fn l3_agrees_with_the_reference(
        tick in tick(),
        window in prop::sample::select(vec![64usize, 128]),
        capacity in prop::sample::select(vec![1usize, 8, 24, 64]),
        reduce in any::<bool>(),
        start in -1_000i64..1_000_000,
        cmds in prop::collection::vec(l3_cmd(), 1..300),
    ) {
        let fills = if reduce { FillMode::Reduce } else { FillMode::Report };
        let mut fast = L3Book::new(L3Config { tick, window, max_orders: capacity, fills }).unwrap();
        let mut slow = RefL3Book::new(tick, window, capacity, fills);
        let mut centre = start;
        // What accepted commands put in minus what they took out.
        let mut flow: i128 = 0;
        for cmd in cmds {
            let payload = match cmd {
                L3Cmd::Order { action, id, pick, side, offset, size, exact, whole, off_grid } => {
                    let ids: Vec<u64> = slow.ids().collect();
                    let id = match pick {
                        Some(k) if action != OrderAction::Add && !ids.is_empty() => ids[k % ids.len()],
                        _ => venue_id(id),
                    };
                    let resting = slow.order(id).filter(|_| exact && action != OrderAction::Add);
                    let (side, price) = match resting {
                        Some(o) if action != OrderAction::Modify || offset % 3 == 0 => (o.side, o.price),
                        Some(o) => (o.side, l2_price(tick, centre, o.side, offset)),
                        None => (side, l2_price(tick, centre, side, offset)),
                    };
                    let price = if off_grid { Price::from_raw(price.raw() + 1) } else { price };
                    let size = match (resting, size) {
                        (Some(o), _) if whole && action != OrderAction::Modify => o.size,
                        (_, Some(lots)) => Qty::from_raw(lots * 1_000),
                        (_, None) => Qty::from_raw(i64::MAX / 2 + 1),
                    };
                    Payload::Order(BookOrder { action, side, price, size, order_id: id })
                }
                L3Cmd::Clear => Payload::BookClear,
                L3Cmd::Begin => Payload::SnapshotBegin,
                L3Cmd::End => Payload::SnapshotEnd,
                L3Cmd::Drift(d) => {
                    centre += d;
                    continue;
                }
            };
            let held_before = slow.resting_total();
            let before = match payload {
                Payload::Order(o) => slow.order(o.order_id),
                _ => None,
            };
            let (a, b) = (fast.apply_payload(&payload), slow.apply_payload(&payload));
            prop_assert_eq!(a, b, "{:?}", payload);
            if a.is_ok() {
                flow += match payload {
                    Payload::Order(o) => {
                        let old = before.map_or(0, |r| i128::from(r.size.raw()));
                        let amount = i128::from(o.size.raw());
                        match o.action {
                            OrderAction::Add => amount,
                            OrderAction::Cancel if o.size.is_zero() => -old,
                            OrderAction::Cancel => -amount,
                            OrderAction::Fill if fills == FillMode::Reduce => -amount,
                            OrderAction::Fill => 0,
                            OrderAction::Modify => amount - old,
                        }
                    }
                    Payload::BookClear | Payload::SnapshotBegin => -held_before,
                    _ => 0,
                };
            }
            same_l3(&fast, &slow)?;
            prop_assert_eq!(levels_total(&fast), slow.resting_total(), "levels and orders hold the same");
            prop_assert_eq!(flow, slow.resting_total(), "nothing created or lost");
        }
    }
}
