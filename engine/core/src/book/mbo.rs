//! The market-by-order (L3) book of one instrument: every resting order by the venue's id, in
//! exact time priority at its price.
//!
//! # Layout
//! - Orders live in a slab of `max_orders` nodes allocated at start-up; free nodes form a list
//!   threaded through the same array, so an add takes one and a cancel gives it back.
//! - Each price level (a slot of the side's ladder, indexed by tick as in the
//!   [L2 book](super::mbp)) holds its total size, its order count and the head and tail of an
//!   intrusive doubly-linked list of its orders, oldest first: an add appends at the tail, a cancel
//!   unlinks in O(1) wherever the order is, and the level's total is kept in step with every change.
//! - The venue's ids map to nodes through a fixed open-addressing table (`index.rs`: twice the
//!   capacity, never grows; see `index.rs` for why a table rather than a dense array).
//!
//! # What each action does
//! Records are [`BookOrder`]s; their `size` is the order's remaining size for add and modify, the
//! traded size for a fill and the removed size for a cancel (kestrel-types).
//! - **Add**: the order joins the back of its level.
//! - **Cancel**: removes `size` (0: all of it). What remains keeps its place; nothing left removes
//!   the order. The record's side and price must be the order's.
//! - **Modify**: the new price and remaining size. A new price, or a larger size, sends the order
//!   to the back of the (new) level: it loses its priority, as at every exchange that ranks by
//!   time. A smaller size keeps its place. The side cannot change.
//! - **Fill**: by [`FillMode`]. Databento's MBO (CME and the others) reports each fill of a
//!   resting order *and* the cancel or modify that takes it out of the book, so there a fill must
//!   not change the book ([`FillMode::Report`]); feeds whose fill is the only record of an execution
//!   take the size off the order ([`FillMode::Reduce`]). Either way the fill is checked against the
//!   order (it must rest there with at least that much).
//! - **Clear** ([`Payload::BookClear`]) and snapshots: as the [module docs](super) say.
//!
//! A refused record changes nothing ([`BookError`], the checks in the order listed on each
//! method), so a replay can count refusals and go on with a book that is still exact for every
//! order it holds.

use kestrel_types::{BookOrder, BookSide, OrderAction, Payload, Price, Qty};

use super::grid::TickGrid;
use super::index::IdIndex;
use super::ladder::{Ladder, Slot};
use super::{BookConfigError, BookError, Depth, DepthSource, Inconsistent, TopChange, check_window, is_bid};

/// No node: the end of a list.
const NIL: u32 = u32::MAX;

/// One side's ladder and the slab, borrowed apart from the book's other fields (the free list, the
/// id table and the count stay usable beside them).
macro_rules! split {
    ($book:expr, $bid:expr) => {
        (if $bid { &mut $book.bids } else { &mut $book.asks }, &mut *$book.nodes)
    };
}

/// What a market-by-order fill does to the book (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FillMode {
    /// The fill takes its size off the resting order, which leaves the book when nothing remains
    /// (and keeps its place otherwise): feeds whose fills are the only record of an execution.
    Reduce,
    /// The fill is checked and reported but changes nothing: the venue's next record (a cancel or
    /// modify of the same order) does. Databento MBO: "all fills will be accompanied by cancel
    /// actions that do update the book".
    Report,
}

/// How an [`L3Book`] is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L3Config {
    /// The instrument's tick: every price must be a whole number of them.
    pub tick: Price,
    /// Slots per side, a power of two from [`super::MIN_WINDOW`] to [`super::MAX_WINDOW`]: a
    /// side's orders must span fewer ticks than this.
    pub window: usize,
    /// The most orders resting at once (1 to [`L3Config::MAX_ORDERS`]).
    pub max_orders: usize,
    /// What fills do.
    pub fills: FillMode,
}

impl L3Config {
    /// The largest capacity: node links are `u32`, one value of which means "none".
    pub const MAX_ORDERS: usize = (u32::MAX - 1) as usize;
    /// The default window: 2^15 ticks a side. Full-depth market-by-order books keep far orders
    /// (the CME ES snapshot in `shared/data/dbn` has bids from 493.50 to 5214.00, 18,882 ticks of
    /// 0.25), and a level slot is 24 bytes, so 768 KiB a side.
    pub const DEFAULT_WINDOW: usize = 1 << 15;

    /// A book for `tick` holding up to `max_orders`, with the default window.
    pub const fn new(tick: Price, max_orders: usize, fills: FillMode) -> Self {
        Self { tick, window: Self::DEFAULT_WINDOW, max_orders, fills }
    }
}

/// One price level: total size, order count, and its FIFO (oldest at the head).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LevelSlot {
    size: i64,
    count: u32,
    head: u32,
    tail: u32,
}

impl Slot for LevelSlot {
    #[inline(always)]
    fn size(&self) -> i64 {
        self.size
    }

    #[inline(always)]
    fn orders(&self) -> u32 {
        self.count
    }
}

/// One order in the slab (or a free node, whose `next` threads the free list).
#[derive(Clone, Copy, Debug)]
struct Node {
    id: u64,
    ticks: i64,
    size: i64,
    prev: u32,
    next: u32,
    side: BookSide,
    /// Its time priority: stamps grow with every join of a level's back (add, a new price, a
    /// larger size), so at one price a smaller stamp is ahead.
    stamp: u64,
}

/// An order as the book holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RestingOrder {
    /// The venue's order id.
    pub id: u64,
    /// Its side.
    pub side: BookSide,
    /// Its price.
    pub price: Price,
    /// What remains of it.
    pub size: Qty,
}

/// One instrument's market-by-order book (module docs).
#[derive(Clone, Debug)]
pub struct L3Book {
    grid: TickGrid,
    bids: Ladder<LevelSlot>,
    asks: Ladder<LevelSlot>,
    nodes: Box<[Node]>,
    free: u32,
    live: u32,
    index: IdIndex,
    fills: FillMode,
    in_snapshot: bool,
    /// The next priority stamp.
    stamps: u64,
}

impl L3Book {
    /// An empty book: the slab, the id table and both ladders are allocated here, once.
    ///
    /// # Errors
    /// [`BookConfigError`] for a tick that is not positive, a window that is not a power of two
    /// within the limits, or a capacity out of range.
    pub fn new(config: L3Config) -> Result<Self, BookConfigError> {
        let grid = TickGrid::new(config.tick).ok_or(BookConfigError::Tick(config.tick))?;
        check_window(config.window)?;
        let cap = config.max_orders;
        if cap == 0 || cap > L3Config::MAX_ORDERS {
            return Err(BookConfigError::Capacity { capacity: cap, max: L3Config::MAX_ORDERS });
        }
        // Free list: node k points at k + 1, the last at NIL (`cap ≤ u32::MAX - 1`).
        let nodes = (0..cap)
            .map(|k| Node {
                id: 0,
                ticks: 0,
                size: 0,
                prev: NIL,
                next: if k + 1 < cap { (k + 1) as u32 } else { NIL },
                side: BookSide::Bid,
                stamp: 0,
            })
            .collect();
        Ok(Self {
            grid,
            bids: Ladder::new(config.window),
            asks: Ladder::new(config.window),
            nodes,
            free: 0,
            live: 0,
            index: IdIndex::new(cap),
            fills: config.fills,
            in_snapshot: false,
            stamps: 0,
        })
    }

    /// The tick.
    pub fn tick(&self) -> Price {
        self.grid.tick()
    }

    /// The window, in ticks per side.
    pub fn window(&self) -> usize {
        self.bids.window()
    }

    /// The most orders the book holds.
    pub fn capacity(&self) -> usize {
        self.nodes.len()
    }

    /// Orders resting now.
    pub fn len(&self) -> usize {
        self.live as usize
    }

    /// Whether no order rests.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// What fills do in this book.
    pub fn fill_mode(&self) -> FillMode {
        self.fills
    }

    /// Applies one market-by-order record (module docs) and says whether the top changed.
    ///
    /// # Errors
    /// As [`L3Book::add`], [`L3Book::cancel`], [`L3Book::modify`] and [`L3Book::fill`].
    #[inline]
    pub fn apply(&mut self, o: &BookOrder) -> Result<TopChange, BookError> {
        match o.action {
            OrderAction::Add => self.add(o.order_id, o.side, o.price, o.size),
            OrderAction::Cancel => self.cancel(o.order_id, o.side, o.price, o.size),
            OrderAction::Modify => self.modify(o.order_id, o.side, o.price, o.size),
            OrderAction::Fill => self.fill(o.order_id, o.side, o.price, o.size),
        }
    }

    /// Applies the book's part of an event: market-by-order records, clears and snapshot markers.
    /// Anything else (trades, quotes, market-by-price levels, bars, journal records) is not this
    /// book's and changes nothing.
    ///
    /// # Errors
    /// As [`L3Book::apply`].
    #[inline]
    pub fn apply_payload(&mut self, payload: &Payload) -> Result<TopChange, BookError> {
        match payload {
            Payload::Order(o) => self.apply(o),
            Payload::BookClear => Ok(self.clear()),
            Payload::SnapshotBegin => Ok(self.snapshot_begin()),
            Payload::SnapshotEnd => {
                self.snapshot_end();
                Ok(TopChange::NONE)
            }
            _ => Ok(TopChange::NONE),
        }
    }

    /// A new order at the back of its level.
    ///
    /// # Errors
    /// In this order: [`BookError::BadSize`] (not positive), [`BookError::OffGrid`],
    /// [`BookError::DuplicateOrder`], [`BookError::OutOfWindow`] (a new level too far from the
    /// side's others), [`BookError::Full`], [`BookError::LevelOverflow`].
    pub fn add(&mut self, id: u64, side: BookSide, price: Price, size: Qty) -> Result<TopChange, BookError> {
        if !size.is_positive() {
            return Err(BookError::BadSize { id, action: OrderAction::Add, size });
        }
        let t = self.ticks(side, price)?;
        if self.index.get(id).is_some() {
            return Err(BookError::DuplicateOrder { id });
        }
        let bid = is_bid(side);
        let ladder = if bid { &self.bids } else { &self.asks };
        let level = ladder.get(t).copied();
        if level.is_none() && !ladder.fits(t) {
            return Err(self.out_of_window(side, price));
        }
        if self.free == NIL {
            return Err(BookError::Full { id, capacity: self.nodes.len() as u32 });
        }
        level_room(level, id, side, price, size.raw())?;
        let slot = self.free;
        let stamp = self.bump();
        let (ladder, nodes) = split!(self, bid);
        let before = ladder.top(bid);
        self.free = nodes[slot as usize].next;
        nodes[slot as usize] = Node { id, ticks: t, size: size.raw(), prev: NIL, next: NIL, side, stamp };
        link_back(ladder, nodes, slot);
        let after = ladder.top(bid);
        self.index.insert(id, slot);
        self.live += 1;
        Ok(TopChange::side(side, before != after))
    }

    /// Removes `size` of an order (0: all of it); what remains keeps its place.
    ///
    /// # Errors
    /// In this order: [`BookError::BadSize`] (negative), [`BookError::OffGrid`],
    /// [`BookError::UnknownOrder`], [`BookError::Mismatch`] (side or price not the order's),
    /// [`BookError::TooLarge`] (more than remains).
    pub fn cancel(
        &mut self,
        id: u64,
        side: BookSide,
        price: Price,
        size: Qty,
    ) -> Result<TopChange, BookError> {
        if size.is_negative() {
            return Err(BookError::BadSize { id, action: OrderAction::Cancel, size });
        }
        let (slot, n) = self.resting(OrderAction::Cancel, id, side, price)?;
        let amount = if size.is_zero() { n.size } else { size.raw() };
        if amount > n.size {
            return Err(self.too_large(OrderAction::Cancel, n, size));
        }
        Ok(self.take(slot, n, amount))
    }

    /// A new price and remaining size for an order: a new price or a larger size sends it to the
    /// back of its (new) level; a smaller one keeps its place; the same one changes nothing.
    ///
    /// # Errors
    /// In this order: [`BookError::BadSize`] (not positive), [`BookError::OffGrid`],
    /// [`BookError::UnknownOrder`], [`BookError::Mismatch`] (another side),
    /// [`BookError::OutOfWindow`] (a new price too far from the side's other orders),
    /// [`BookError::LevelOverflow`].
    pub fn modify(
        &mut self,
        id: u64,
        side: BookSide,
        price: Price,
        size: Qty,
    ) -> Result<TopChange, BookError> {
        let action = OrderAction::Modify;
        if !size.is_positive() {
            return Err(BookError::BadSize { id, action, size });
        }
        let t = self.ticks(side, price)?;
        let slot = self.index.get(id).ok_or(BookError::UnknownOrder { id, action })?;
        let n = self.nodes[slot as usize];
        if n.side != side {
            return Err(self.mismatch(action, n, side, price));
        }
        let bid = is_bid(side);
        let size = size.raw();
        let ladder = if bid { &self.bids } else { &self.asks };
        if t == n.ticks {
            if size <= n.size {
                // Same or smaller: in place.
                let (ladder, nodes) = split!(self, bid);
                let before = ladder.top(bid);
                nodes[slot as usize].size = size;
                ladder.slot_mut(t).size -= n.size - size;
                return Ok(TopChange::side(side, before != ladder.top(bid)));
            }
            level_room(ladder.get(t).copied(), id, side, price, size - n.size)?;
            let stamp = self.bump();
            let (ladder, nodes) = split!(self, bid);
            let before = ladder.top(bid);
            move_to_back(ladder, nodes, slot, size);
            nodes[slot as usize].stamp = stamp;
            return Ok(TopChange::side(side, before != ladder.top(bid)));
        }
        // A new price: the order leaves its level (which may empty) and joins the back of another.
        let level = ladder.get(t).copied();
        let old_empties = ladder.get(n.ticks).is_some_and(|l| l.count == 1);
        let fits = match (level, old_empties) {
            (Some(_), _) => true,
            (None, true) => ladder.fits_after_removing(n.ticks, t),
            (None, false) => ladder.fits(t),
        };
        if !fits {
            return Err(self.out_of_window(side, price));
        }
        level_room(level, id, side, price, size)?;
        let stamp = self.bump();
        let (ladder, nodes) = split!(self, bid);
        let before = ladder.top(bid);
        unlink(ladder, nodes, slot);
        let node = &mut nodes[slot as usize];
        (node.ticks, node.size, node.stamp) = (t, size, stamp);
        link_back(ladder, nodes, slot);
        Ok(TopChange::side(side, before != ladder.top(bid)))
    }

    /// A fill of a resting order: checked, then applied or only reported by the [`FillMode`].
    ///
    /// # Errors
    /// In this order: [`BookError::BadSize`] (not positive), [`BookError::OffGrid`],
    /// [`BookError::UnknownOrder`], [`BookError::Mismatch`] (side or price not the order's),
    /// [`BookError::TooLarge`] (more than remains).
    pub fn fill(&mut self, id: u64, side: BookSide, price: Price, size: Qty) -> Result<TopChange, BookError> {
        if !size.is_positive() {
            return Err(BookError::BadSize { id, action: OrderAction::Fill, size });
        }
        let (slot, n) = self.resting(OrderAction::Fill, id, side, price)?;
        if size.raw() > n.size {
            return Err(self.too_large(OrderAction::Fill, n, size));
        }
        match self.fills {
            FillMode::Report => Ok(TopChange::NONE),
            FillMode::Reduce => Ok(self.take(slot, n, size.raw())),
        }
    }

    /// Empties the book: each resting order's id and node are given back (the work is the book's
    /// size, not its capacity).
    pub fn clear(&mut self) -> TopChange {
        let change = TopChange { bid: self.bids.levels() != 0, ask: self.asks.levels() != 0 };
        for bid in [true, false] {
            let ladder = if bid { &self.bids } else { &self.asks };
            let mut level = ladder.best(bid);
            while let Some(t) = level {
                let mut k = ladder.slot(t).head;
                for _ in 0..ladder.slot(t).count {
                    let node = &mut self.nodes[k as usize];
                    self.index.remove(node.id);
                    let next = node.next;
                    node.next = self.free;
                    self.free = k;
                    k = next;
                }
                level = ladder.next_away(bid, t);
            }
        }
        self.bids.clear();
        self.asks.clear();
        self.live = 0;
        change
    }

    /// A snapshot starts: the book is cleared, and the orders until [`L3Book::snapshot_end`] are
    /// the whole book (module docs).
    pub fn snapshot_begin(&mut self) -> TopChange {
        self.in_snapshot = true;
        self.clear()
    }

    /// The snapshot is complete.
    pub fn snapshot_end(&mut self) {
        self.in_snapshot = false;
    }

    /// Whether a snapshot is under way: the book is partial until it ends.
    pub fn in_snapshot(&self) -> bool {
        self.in_snapshot
    }

    /// The best bid and the total size there.
    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.best(BookSide::Bid)
    }

    /// The best ask and the total size there.
    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.best(BookSide::Ask)
    }

    /// The best price of `side` and the total size there.
    pub fn best(&self, side: BookSide) -> Option<(Price, Qty)> {
        self.ladder(side).top(is_bid(side)).map(|(t, s)| (self.grid.price(t), Qty::from_raw(s)))
    }

    /// The total size at `price` on `side` (zero off the grid, outside the window or empty).
    pub fn level(&self, side: BookSide, price: Price) -> Qty {
        Qty::from_raw(self.level_slot(side, price).map_or(0, |l| l.size))
    }

    /// Occupied levels on `side`.
    pub fn levels(&self, side: BookSide) -> usize {
        self.ladder(side).levels() as usize
    }

    /// The first `n` levels of `side`, best first, with their order counts.
    pub fn depth(&self, side: BookSide, n: usize) -> Depth<'_> {
        Depth::new(DepthSource::Mbo(self.ladder(side)), self.grid, side, n)
    }

    /// The orders at `price` on `side`, in priority order (oldest first).
    pub fn orders_at(&self, side: BookSide, price: Price) -> LevelOrders<'_> {
        let (next, left) = self.level_slot(side, price).map_or((NIL, 0), |l| (l.head, l.count));
        LevelOrders { book: self, next, left }
    }

    /// A resting order by its venue id.
    pub fn order(&self, id: u64) -> Option<RestingOrder> {
        self.index.get(id).map(|k| self.resting_order(&self.nodes[k as usize]))
    }

    /// The size resting ahead of order `id` at its price (what must trade or cancel before it
    /// fills): a walk from it to the head of its level.
    pub fn queue_ahead(&self, id: u64) -> Option<Qty> {
        let mut k = self.nodes[self.index.get(id)? as usize].prev;
        let mut ahead = 0i64;
        while k != NIL {
            let n = &self.nodes[k as usize];
            ahead = ahead.saturating_add(n.size);
            k = n.prev;
        }
        Some(Qty::from_raw(ahead))
    }

    /// The stamp an order joining a level now would get: every resting order ranks ahead of it.
    /// A simulated order behind the visible queue keeps it, to measure its queue with
    /// [`L3Book::size_before`] as the feed's orders trade, cancel and lose priority.
    pub fn stamp(&self) -> u64 {
        self.stamps
    }

    /// The size resting at `price` on `side` with priority ahead of `stamp` (orders that joined
    /// the level before it): a walk from the level's head, stopping at the first order behind.
    pub fn size_before(&self, side: BookSide, price: Price, stamp: u64) -> Qty {
        let (mut k, mut left) = self.level_slot(side, price).map_or((NIL, 0), |l| (l.head, l.count));
        let mut ahead = 0i64;
        while left > 0 && k != NIL {
            let n = &self.nodes[k as usize];
            if n.stamp >= stamp {
                break;
            }
            ahead = ahead.saturating_add(n.size);
            k = n.next;
            left -= 1;
        }
        Qty::from_raw(ahead)
    }

    /// Takes the next priority stamp.
    fn bump(&mut self) -> u64 {
        let s = self.stamps;
        self.stamps += 1;
        s
    }

    /// Whether both sides have orders and the best bid is at or above the best ask (locked or
    /// crossed: never a venue's resting state at the end of an event).
    pub fn is_crossed(&self) -> bool {
        match (self.bids.best(true), self.asks.best(false)) {
            (Some(b), Some(a)) => b >= a,
            _ => false,
        }
    }

    /// Checks every invariant: each level's size and count are its orders' sum and number, the
    /// links run both ways, every order is found by its id at its level and side, the bitmaps agree
    /// with the levels, and resting plus free nodes make the capacity. O(capacity): for tests and
    /// consistency checks.
    ///
    /// # Errors
    /// The first inconsistency found.
    pub fn check(&self) -> Result<(), Inconsistent> {
        let mut resting = 0u64;
        for (ladder, side) in [(&self.bids, BookSide::Bid), (&self.asks, BookSide::Ask)] {
            if !ladder.check_bits() {
                return Err(Inconsistent::side(side, "the occupancy bitmap disagrees with the levels"));
            }
            let bid = is_bid(side);
            let mut level = ladder.best(bid);
            while let Some(t) = level {
                let bad = |what| Inconsistent::at(side, self.grid.price(t), what);
                let l = ladder.slot(t);
                let (mut k, mut prev, mut count, mut size) = (l.head, NIL, 0u32, 0i128);
                while k != NIL {
                    let n = &self.nodes[k as usize];
                    if n.prev != prev || n.ticks != t || n.side != side || n.size <= 0 {
                        return Err(bad("an order's link, price, side or size is wrong"));
                    }
                    if self.index.get(n.id) != Some(k) {
                        return Err(bad("an order is not found by its id"));
                    }
                    (prev, k, count, size) = (k, n.next, count + 1, size + i128::from(n.size));
                    if count > l.count {
                        return Err(bad("the level's list is longer than its count"));
                    }
                }
                if count != l.count || l.tail != prev || count == 0 {
                    return Err(bad("the level's count or tail is not its list's"));
                }
                if size != i128::from(l.size) {
                    return Err(bad("the level's size is not the sum of its orders"));
                }
                resting += u64::from(count);
                level = ladder.next_away(bid, t);
            }
        }
        let mut free = 0u64;
        let mut k = self.free;
        while k != NIL && free <= self.nodes.len() as u64 {
            free += 1;
            k = self.nodes[k as usize].next;
        }
        if resting != u64::from(self.live) || resting + free != self.nodes.len() as u64 {
            return Err(Inconsistent::book("resting and free orders do not make the capacity"));
        }
        Ok(())
    }

    fn ladder(&self, side: BookSide) -> &Ladder<LevelSlot> {
        if is_bid(side) { &self.bids } else { &self.asks }
    }

    fn level_slot(&self, side: BookSide, price: Price) -> Option<&LevelSlot> {
        self.grid.ticks(price).and_then(|t| self.ladder(side).get(t))
    }

    fn resting_order(&self, n: &Node) -> RestingOrder {
        RestingOrder { id: n.id, side: n.side, price: self.grid.price(n.ticks), size: Qty::from_raw(n.size) }
    }

    #[inline(always)]
    fn ticks(&self, side: BookSide, price: Price) -> Result<i64, BookError> {
        self.grid.ticks(price).ok_or(BookError::OffGrid { side, price, tick: self.grid.tick() })
    }

    /// The node of `id` after the grid, presence and side-and-price checks of a cancel or fill.
    #[inline(always)]
    fn resting(
        &self,
        action: OrderAction,
        id: u64,
        side: BookSide,
        price: Price,
    ) -> Result<(u32, Node), BookError> {
        let t = self.ticks(side, price)?;
        let slot = self.index.get(id).ok_or(BookError::UnknownOrder { id, action })?;
        let n = self.nodes[slot as usize];
        if n.side != side || n.ticks != t {
            return Err(self.mismatch(action, n, side, price));
        }
        Ok((slot, n))
    }

    /// Takes `amount` (at most what remains) off the order in `slot`; nothing left removes it.
    fn take(&mut self, slot: u32, n: Node, amount: i64) -> TopChange {
        let bid = is_bid(n.side);
        let (ladder, nodes) = split!(self, bid);
        let before = ladder.top(bid);
        if amount == n.size {
            unlink(ladder, nodes, slot);
            nodes[slot as usize].next = self.free;
            self.free = slot;
            self.index.remove(n.id);
            self.live -= 1;
        } else {
            nodes[slot as usize].size -= amount;
            ladder.slot_mut(n.ticks).size -= amount;
        }
        let after = if bid { self.bids.top(true) } else { self.asks.top(false) };
        TopChange::side(n.side, before != after)
    }

    #[cold]
    fn mismatch(&self, action: OrderAction, n: Node, side: BookSide, price: Price) -> BookError {
        BookError::Mismatch {
            id: n.id,
            action,
            side,
            price,
            book_side: n.side,
            book_price: self.grid.price(n.ticks),
        }
    }

    #[cold]
    fn too_large(&self, action: OrderAction, n: Node, size: Qty) -> BookError {
        BookError::TooLarge { id: n.id, action, size, resting: Qty::from_raw(n.size) }
    }

    #[cold]
    fn out_of_window(&self, side: BookSide, price: Price) -> BookError {
        let l = self.ladder(side);
        let bid = is_bid(side);
        let at = |t: Option<i64>| t.map_or(Price::ZERO, |t| self.grid.price(t));
        BookError::OutOfWindow {
            side,
            price,
            best: at(l.best(bid)),
            deepest: at(l.deepest(bid)),
            window: u32::try_from(l.window()).unwrap_or(u32::MAX),
        }
    }
}

/// Whether `extra` more fits the level's total ([`BookError::LevelOverflow`] when not).
#[inline(always)]
fn level_room(
    level: Option<LevelSlot>,
    id: u64,
    side: BookSide,
    price: Price,
    extra: i64,
) -> Result<(), BookError> {
    match level {
        Some(l) if l.size.checked_add(extra).is_none() => {
            Err(BookError::LevelOverflow { id, side, price, level: Qty::from_raw(l.size) })
        }
        _ => Ok(()),
    }
}

/// Appends node `slot` (its `ticks` and `size` set) at the back of its level, occupying the level
/// if it was empty. The caller checked the window.
#[inline(always)]
fn link_back(ladder: &mut Ladder<LevelSlot>, nodes: &mut [Node], slot: u32) {
    let (t, size) = (nodes[slot as usize].ticks, nodes[slot as usize].size);
    nodes[slot as usize].next = NIL;
    if ladder.get(t).is_some() {
        let level = ladder.slot_mut(t);
        let tail = level.tail;
        level.tail = slot;
        level.count += 1;
        level.size += size;
        nodes[tail as usize].next = slot;
        nodes[slot as usize].prev = tail;
    } else {
        *ladder.slot_mut(t) = LevelSlot { size, count: 1, head: slot, tail: slot };
        nodes[slot as usize].prev = NIL;
        ladder.occupy(t);
    }
}

/// Unlinks node `slot` from its level, emptying the level if it was the last order there.
#[inline(always)]
fn unlink(ladder: &mut Ladder<LevelSlot>, nodes: &mut [Node], slot: u32) {
    let n = nodes[slot as usize];
    let level = ladder.slot_mut(n.ticks);
    if n.prev == NIL {
        level.head = n.next;
    } else {
        nodes[n.prev as usize].next = n.next;
    }
    if n.next == NIL {
        level.tail = n.prev;
    } else {
        nodes[n.next as usize].prev = n.prev;
    }
    level.count -= 1;
    level.size -= n.size;
    if level.count == 0 {
        ladder.vacate(n.ticks);
    }
}

/// Sets node `slot`'s size to `size` (larger) and moves it to the back of its level.
fn move_to_back(ladder: &mut Ladder<LevelSlot>, nodes: &mut [Node], slot: u32, size: i64) {
    let n = nodes[slot as usize];
    let level = ladder.slot_mut(n.ticks);
    level.size += size - n.size;
    nodes[slot as usize].size = size;
    if n.next == NIL {
        return;
    }
    // Out of the list (it is not the tail, so `next` exists) …
    if n.prev == NIL {
        level.head = n.next;
    } else {
        nodes[n.prev as usize].next = n.next;
    }
    nodes[n.next as usize].prev = n.prev;
    // … and in at the tail.
    let tail = level.tail;
    level.tail = slot;
    nodes[tail as usize].next = slot;
    nodes[slot as usize].prev = tail;
    nodes[slot as usize].next = NIL;
}

/// The orders of one level in priority order ([`L3Book::orders_at`]).
#[derive(Clone, Debug)]
pub struct LevelOrders<'a> {
    book: &'a L3Book,
    next: u32,
    left: u32,
}

impl Iterator for LevelOrders<'_> {
    type Item = RestingOrder;

    fn next(&mut self) -> Option<RestingOrder> {
        if self.left == 0 || self.next == NIL {
            return None;
        }
        let n = &self.book.nodes[self.next as usize];
        self.left -= 1;
        self.next = n.next;
        Some(self.book.resting_order(n))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}
