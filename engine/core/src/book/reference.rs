//! Naive reference books: the oracle the fast books are tested against.
//!
//! Each is the most obvious implementation of the same semantics as its fast counterpart
//! ([`L2Book`](super::L2Book), [`L3Book`](super::L3Book)): a `BTreeMap` from tick to size, or
//! from tick to a `VecDeque` of order ids in priority order, with every rule written as directly as
//! possible (level sizes are recomputed from the orders on each query, the window rule from the
//! map's first and last keys) and the same checks in the same order, so that both must give the
//! same answer, error or not, to every command. They allocate freely and are slow: for tests (the
//! property tests in this crate, the DBN replay test in `kestrel-tests`), never for a replay.

use std::collections::{BTreeMap, VecDeque};

use kestrel_types::{BookOrder, BookSide, LevelUpdate, OrderAction, Payload, Price, Qty};

use super::{BookError, FillMode, Level, RestingOrder, TopChange};

fn ticks_of(tick: i64, side: BookSide, price: Price) -> Result<i64, BookError> {
    if price.raw() % tick == 0 {
        Ok(price.raw() / tick)
    } else {
        Err(BookError::OffGrid { side, price, tick: Price::from_raw(tick) })
    }
}

/// Best tick of a side's map.
fn best_key<V>(map: &BTreeMap<i64, V>, side: BookSide) -> Option<i64> {
    match side {
        BookSide::Bid => map.keys().next_back().copied(),
        BookSide::Ask => map.keys().next().copied(),
    }
}

/// Deepest tick of a side's map.
fn deepest_key<V>(map: &BTreeMap<i64, V>, side: BookSide) -> Option<i64> {
    match side {
        BookSide::Bid => map.keys().next().copied(),
        BookSide::Ask => map.keys().next_back().copied(),
    }
}

/// Whether the keys of `map` without `gone` and with `t` span fewer than `window` ticks.
fn span_fits<V>(map: &BTreeMap<i64, V>, gone: Option<i64>, t: i64, window: usize) -> bool {
    let keys: Vec<i64> = map.keys().copied().filter(|k| Some(*k) != gone).chain([t]).collect();
    let (lo, hi) = (keys.iter().min().copied().unwrap_or(t), keys.iter().max().copied().unwrap_or(t));
    i128::from(hi) - i128::from(lo) < window as i128
}

fn out_of_window<V>(
    map: &BTreeMap<i64, V>,
    tick: i64,
    side: BookSide,
    price: Price,
    window: usize,
) -> BookError {
    let at = |t: Option<i64>| t.map_or(Price::ZERO, |t| Price::from_raw(t * tick));
    BookError::OutOfWindow {
        side,
        price,
        best: at(best_key(map, side)),
        deepest: at(deepest_key(map, side)),
        window: u32::try_from(window).unwrap_or(u32::MAX),
    }
}

/// The reference market-by-price book.
#[derive(Clone, Debug, Default)]
pub struct RefL2Book {
    tick: i64,
    window: usize,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    in_snapshot: bool,
}

impl RefL2Book {
    /// An empty book for `tick` (positive) whose sides must span fewer than `window` ticks.
    pub fn new(tick: Price, window: usize) -> Self {
        Self { tick: tick.raw(), window, ..Self::default() }
    }

    fn map(&self, side: BookSide) -> &BTreeMap<i64, i64> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// As [`L2Book::apply`](super::L2Book::apply).
    ///
    /// # Errors
    /// The same as the fast book's, in the same order.
    pub fn apply(&mut self, u: &LevelUpdate) -> Result<TopChange, BookError> {
        if u.size.is_negative() {
            return Err(BookError::NegativeSize { side: u.side, price: u.price, size: u.size });
        }
        let t = ticks_of(self.tick, u.side, u.price)?;
        let before = self.best(u.side);
        let (tick, window) = (self.tick, self.window);
        let map = match u.side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if u.size.is_zero() {
            map.remove(&t);
        } else {
            if !map.contains_key(&t) && !span_fits(map, None, t, window) {
                return Err(out_of_window(map, tick, u.side, u.price, window));
            }
            map.insert(t, u.size.raw());
        }
        Ok(TopChange::side(u.side, before != self.best(u.side)))
    }

    /// As [`L2Book::apply_payload`](super::L2Book::apply_payload).
    ///
    /// # Errors
    /// As [`RefL2Book::apply`].
    pub fn apply_payload(&mut self, payload: &Payload) -> Result<TopChange, BookError> {
        match payload {
            Payload::Level(u) => self.apply(u),
            Payload::BookClear => Ok(self.clear()),
            Payload::SnapshotBegin => {
                self.in_snapshot = true;
                Ok(self.clear())
            }
            Payload::SnapshotEnd => {
                self.in_snapshot = false;
                Ok(TopChange::NONE)
            }
            _ => Ok(TopChange::NONE),
        }
    }

    /// Empties the book.
    pub fn clear(&mut self) -> TopChange {
        let change = TopChange { bid: !self.bids.is_empty(), ask: !self.asks.is_empty() };
        self.bids.clear();
        self.asks.clear();
        change
    }

    /// Whether a snapshot is under way.
    pub fn in_snapshot(&self) -> bool {
        self.in_snapshot
    }

    /// The best price of `side` and its size.
    pub fn best(&self, side: BookSide) -> Option<(Price, Qty)> {
        let map = self.map(side);
        best_key(map, side).map(|t| (Price::from_raw(t * self.tick), Qty::from_raw(map[&t])))
    }

    /// The size at `price` (zero off the grid or empty).
    pub fn level(&self, side: BookSide, price: Price) -> Qty {
        let t = ticks_of(self.tick, side, price).ok();
        Qty::from_raw(t.and_then(|t| self.map(side).get(&t).copied()).unwrap_or(0))
    }

    /// Every level of `side`, best first.
    pub fn levels(&self, side: BookSide) -> Vec<Level> {
        let level = |(t, s): (&i64, &i64)| Level {
            price: Price::from_raw(t * self.tick),
            size: Qty::from_raw(*s),
            orders: 0,
        };
        match side {
            BookSide::Bid => self.bids.iter().rev().map(level).collect(),
            BookSide::Ask => self.asks.iter().map(level).collect(),
        }
    }

    /// Whether the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((best_key(&self.bids, BookSide::Bid), best_key(&self.asks, BookSide::Ask)), (Some(b), Some(a)) if b >= a)
    }
}

/// One order of the reference market-by-order book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RefOrder {
    side: BookSide,
    ticks: i64,
    size: i64,
}

/// The reference market-by-order book.
#[derive(Clone, Debug)]
pub struct RefL3Book {
    tick: i64,
    window: usize,
    capacity: usize,
    fills: FillMode,
    orders: BTreeMap<u64, RefOrder>,
    bids: BTreeMap<i64, VecDeque<u64>>,
    asks: BTreeMap<i64, VecDeque<u64>>,
    in_snapshot: bool,
}

impl RefL3Book {
    /// An empty book for `tick` (positive), sides spanning fewer than `window` ticks, at most
    /// `capacity` orders, fills as `fills` says.
    pub fn new(tick: Price, window: usize, capacity: usize, fills: FillMode) -> Self {
        Self {
            tick: tick.raw(),
            window,
            capacity,
            fills,
            orders: BTreeMap::new(),
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            in_snapshot: false,
        }
    }

    fn map(&self, side: BookSide) -> &BTreeMap<i64, VecDeque<u64>> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    fn map_mut(&mut self, side: BookSide) -> &mut BTreeMap<i64, VecDeque<u64>> {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    /// The sum of the orders at tick `t` of `side`, wide.
    fn level_sum(&self, side: BookSide, t: i64) -> i128 {
        self.map(side).get(&t).map_or(0, |q| q.iter().map(|id| i128::from(self.orders[id].size)).sum())
    }

    fn overflows(&self, id: u64, side: BookSide, price: Price, t: i64, extra: i64) -> Result<(), BookError> {
        let sum = self.level_sum(side, t);
        if sum + i128::from(extra) > i128::from(i64::MAX) {
            let level = Qty::from_raw(i64::try_from(sum).unwrap_or(i64::MAX));
            return Err(BookError::LevelOverflow { id, side, price, level });
        }
        Ok(())
    }

    fn mismatch(&self, action: OrderAction, id: u64, o: RefOrder, side: BookSide, price: Price) -> BookError {
        BookError::Mismatch {
            id,
            action,
            side,
            price,
            book_side: o.side,
            book_price: Price::from_raw(o.ticks * self.tick),
        }
    }

    /// As [`L3Book::apply`](super::L3Book::apply).
    ///
    /// # Errors
    /// The same as the fast book's, in the same order.
    pub fn apply(&mut self, r: &BookOrder) -> Result<TopChange, BookError> {
        let (id, side, price, size, action) = (r.order_id, r.side, r.price, r.size, r.action);
        let positive = match action {
            OrderAction::Cancel => !size.is_negative(),
            _ => size.is_positive(),
        };
        if !positive {
            return Err(BookError::BadSize { id, action, size });
        }
        let t = ticks_of(self.tick, side, price)?;
        let before = self.best(side);
        match action {
            OrderAction::Add => {
                if self.orders.contains_key(&id) {
                    return Err(BookError::DuplicateOrder { id });
                }
                let map = self.map(side);
                if !map.contains_key(&t) && !span_fits(map, None, t, self.window) {
                    return Err(out_of_window(map, self.tick, side, price, self.window));
                }
                if self.orders.len() >= self.capacity {
                    return Err(BookError::Full { id, capacity: u32::try_from(self.capacity).unwrap_or(0) });
                }
                self.overflows(id, side, price, t, size.raw())?;
                self.orders.insert(id, RefOrder { side, ticks: t, size: size.raw() });
                self.map_mut(side).entry(t).or_default().push_back(id);
            }
            OrderAction::Cancel | OrderAction::Fill => {
                let o = *self.orders.get(&id).ok_or(BookError::UnknownOrder { id, action })?;
                if o.side != side || o.ticks != t {
                    return Err(self.mismatch(action, id, o, side, price));
                }
                let amount = if size.is_zero() { o.size } else { size.raw() };
                if amount > o.size {
                    return Err(BookError::TooLarge { id, action, size, resting: Qty::from_raw(o.size) });
                }
                if action == OrderAction::Cancel || self.fills == FillMode::Reduce {
                    self.take(id, amount);
                }
            }
            OrderAction::Modify => {
                let o = *self.orders.get(&id).ok_or(BookError::UnknownOrder { id, action })?;
                if o.side != side {
                    return Err(self.mismatch(action, id, o, side, price));
                }
                let size = size.raw();
                if t == o.ticks {
                    if size > o.size {
                        self.overflows(id, side, price, t, size - o.size)?;
                        let queue = self.map_mut(side).get_mut(&t).expect("the order's level");
                        queue.retain(|k| *k != id);
                        queue.push_back(id);
                    }
                    self.orders.get_mut(&id).expect("held").size = size;
                } else {
                    let map = self.map(side);
                    let alone = map.get(&o.ticks).is_some_and(|q| q.len() == 1);
                    let gone = alone.then_some(o.ticks);
                    if !map.contains_key(&t) && !span_fits(map, gone, t, self.window) {
                        return Err(out_of_window(map, self.tick, side, price, self.window));
                    }
                    self.overflows(id, side, price, t, size)?;
                    self.unlink(id, o);
                    self.orders.insert(id, RefOrder { side, ticks: t, size });
                    self.map_mut(side).entry(t).or_default().push_back(id);
                }
            }
        }
        Ok(TopChange::side(side, before != self.best(side)))
    }

    fn unlink(&mut self, id: u64, o: RefOrder) {
        let map = self.map_mut(o.side);
        if let Some(q) = map.get_mut(&o.ticks) {
            q.retain(|k| *k != id);
            if q.is_empty() {
                map.remove(&o.ticks);
            }
        }
    }

    fn take(&mut self, id: u64, amount: i64) {
        let o = self.orders[&id];
        if amount == o.size {
            self.unlink(id, o);
            self.orders.remove(&id);
        } else if let Some(held) = self.orders.get_mut(&id) {
            held.size -= amount;
        }
    }

    /// As [`L3Book::apply_payload`](super::L3Book::apply_payload).
    ///
    /// # Errors
    /// As [`RefL3Book::apply`].
    pub fn apply_payload(&mut self, payload: &Payload) -> Result<TopChange, BookError> {
        match payload {
            Payload::Order(o) => self.apply(o),
            Payload::BookClear => Ok(self.clear()),
            Payload::SnapshotBegin => {
                self.in_snapshot = true;
                Ok(self.clear())
            }
            Payload::SnapshotEnd => {
                self.in_snapshot = false;
                Ok(TopChange::NONE)
            }
            _ => Ok(TopChange::NONE),
        }
    }

    /// Empties the book.
    pub fn clear(&mut self) -> TopChange {
        let change = TopChange { bid: !self.bids.is_empty(), ask: !self.asks.is_empty() };
        self.orders.clear();
        self.bids.clear();
        self.asks.clear();
        change
    }

    /// Whether a snapshot is under way.
    pub fn in_snapshot(&self) -> bool {
        self.in_snapshot
    }

    /// Orders resting.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Whether no order rests.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// The best price of `side` and the sum of its orders.
    pub fn best(&self, side: BookSide) -> Option<(Price, Qty)> {
        let t = best_key(self.map(side), side)?;
        let sum = i64::try_from(self.level_sum(side, t)).unwrap_or(i64::MAX);
        Some((Price::from_raw(t * self.tick), Qty::from_raw(sum)))
    }

    /// Every level of `side`, best first, each the sum and count of its orders.
    pub fn levels(&self, side: BookSide) -> Vec<Level> {
        let level = |t: i64, q: &VecDeque<u64>| Level {
            price: Price::from_raw(t * self.tick),
            size: Qty::from_raw(i64::try_from(self.level_sum(side, t)).unwrap_or(i64::MAX)),
            orders: u32::try_from(q.len()).unwrap_or(u32::MAX),
        };
        match side {
            BookSide::Bid => self.bids.iter().rev().map(|(t, q)| level(*t, q)).collect(),
            BookSide::Ask => self.asks.iter().map(|(t, q)| level(*t, q)).collect(),
        }
    }

    /// The orders at `price` on `side`, oldest first.
    pub fn orders_at(&self, side: BookSide, price: Price) -> Vec<RestingOrder> {
        let Ok(t) = ticks_of(self.tick, side, price) else { return Vec::new() };
        self.map(side).get(&t).map_or_else(Vec::new, |q| q.iter().filter_map(|id| self.order(*id)).collect())
    }

    /// The ids of the resting orders, in increasing order.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.orders.keys().copied()
    }

    /// A resting order by id.
    pub fn order(&self, id: u64) -> Option<RestingOrder> {
        self.orders.get(&id).map(|o| RestingOrder {
            id,
            side: o.side,
            price: Price::from_raw(o.ticks * self.tick),
            size: Qty::from_raw(o.size),
        })
    }

    /// The size ahead of order `id` at its level.
    pub fn queue_ahead(&self, id: u64) -> Option<Qty> {
        let o = self.orders.get(&id)?;
        let q = &self.map(o.side)[&o.ticks];
        let ahead = q.iter().take_while(|k| **k != id).map(|k| self.orders[k].size).sum();
        Some(Qty::from_raw(ahead))
    }

    /// Whether the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((best_key(&self.bids, BookSide::Bid), best_key(&self.asks, BookSide::Ask)), (Some(b), Some(a)) if b >= a)
    }

    /// The sum of every resting order's size (wide: the conservation checks add them all).
    pub fn resting_total(&self) -> i128 {
        self.orders.values().map(|o| i128::from(o.size)).sum()
    }
}
