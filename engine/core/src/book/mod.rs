//! Order books rebuilt from market data: market-by-price ([`L2Book`]) and market-by-order
//! ([`L3Book`], exact FIFO priority by the venue's order ids).
//!
//! These are the books the simulated venue matches against; each is one instrument's, sized once
//! at start-up, and allocates nothing afterwards: updates, clears, snapshots, queries and their
//! iterators all work in the memory the constructor reserved. Running out of room is a typed
//! refusal ([`BookError`]) that leaves the book as it was, never a reallocation.
//!
//! # Prices
//! Levels are indexed by whole ticks (`price / tick`, computed without a division: see
//! `grid.rs`). Each side is a ring of `window` slots (a power of two) indexed by the tick count
//! modulo the window, with one occupancy bit per slot (`ladder.rs`):
//! - an update of an existing level, or of a new one near the touch, is a few loads and stores;
//! - the best level is kept; when it empties, the next is found a 64-level word at a time in the
//!   bitmap (bounded by `window / 64` words);
//! - there is no base price, so nothing ever recentres: the window is wherever the side's levels
//!   are. The one limit is that **a side's levels must span fewer than `window` ticks** (best to
//!   deepest). An update that would break it is refused with [`BookError::OutOfWindow`] and
//!   changes nothing, rather than silently dropping the far levels: a replay that meets it learns
//!   that its window is too small for the data (or the data has stale far levels) and by how much.
//!   A removal outside the span is not an error: that level is already empty.
//!
//! # Snapshots
//! The tick store's [`Payload::SnapshotBegin`](kestrel_types::Payload::SnapshotBegin) means "levels until `SnapshotEnd` replace the book"
//! (every converter writes a whole book between the two). The books clear at `SnapshotBegin` and
//! apply the snapshot's records as they come; [`L2Book::in_snapshot`] / [`L3Book::in_snapshot`]
//! say the book is partial until `SnapshotEnd`, so that a consumer (the venue, a consistency
//! check) does not act on half a book. Clearing at the start rather than buffering the snapshot
//! aside keeps one copy of the book in memory (a DBN start-of-day snapshot is 13,600 orders for one
//! future), and nothing reads the book between the markers of one venue message anyway.
//!
//! # Reference
//! [`reference`](mod@reference) holds naive `BTreeMap` books with the same semantics; the property tests run both
//! on random command streams and require the same answer to every command and the same book after
//! it.

mod grid;
mod index;
mod ladder;
pub mod mbo;
pub mod mbp;
pub mod reference;
#[cfg(test)]
mod tests;

pub use mbo::{FillMode, L3Book, L3Config, LevelOrders, RestingOrder};
pub use mbp::{L2Book, L2Config};

use kestrel_types::{BookSide, OrderAction, Price, Qty};

use grid::TickGrid;
use ladder::{Ladder, Slot};

/// Whether an update changed the top of the book: a side's best price, or the size there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TopChange {
    /// The best bid or its size changed.
    pub bid: bool,
    /// The best ask or its size changed.
    pub ask: bool,
}

impl TopChange {
    /// Nothing at the top changed.
    pub const NONE: Self = Self { bid: false, ask: false };
    /// Both sides changed (a clear of a book with both).
    pub const BOTH: Self = Self { bid: true, ask: true };

    /// A change on `side` only, when `changed`.
    #[inline(always)]
    pub const fn side(side: BookSide, changed: bool) -> Self {
        match side {
            BookSide::Bid => Self { bid: changed, ask: false },
            BookSide::Ask => Self { bid: false, ask: changed },
        }
    }

    /// Either side changed.
    #[inline(always)]
    pub const fn any(self) -> bool {
        self.bid || self.ask
    }
}

/// One price level, as depth walks return it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Level {
    /// Its price.
    pub price: Price,
    /// The total size resting there.
    pub size: Qty,
    /// Orders resting there (market-by-order books; 0 for market-by-price, which does not know).
    pub orders: u32,
}

/// The levels of one side, best first, at most as many as asked ([`L2Book::depth`],
/// [`L3Book::depth`]). Each step is one bitmap scan from the previous level: no allocation.
#[derive(Clone, Debug)]
pub struct Depth<'a> {
    source: DepthSource<'a>,
    grid: TickGrid,
    bid: bool,
    next: Option<i64>,
    left: usize,
}

#[derive(Clone, Copy, Debug)]
enum DepthSource<'a> {
    Mbp(&'a Ladder<i64>),
    Mbo(&'a Ladder<mbo::LevelSlot>),
}

impl<'a> Depth<'a> {
    fn new(source: DepthSource<'a>, grid: TickGrid, side: BookSide, n: usize) -> Self {
        let bid = is_bid(side);
        let next = match source {
            DepthSource::Mbp(l) => l.best(bid),
            DepthSource::Mbo(l) => l.best(bid),
        };
        Self { source, grid, bid, next, left: n }
    }
}

/// Size, order count and the next tick of the level at `t`.
fn step<L: Slot>(ladder: &Ladder<L>, bid: bool, t: i64) -> (i64, u32, Option<i64>) {
    let slot = ladder.slot(t);
    (slot.size(), slot.orders(), ladder.next_away(bid, t))
}

impl Iterator for Depth<'_> {
    type Item = Level;

    fn next(&mut self) -> Option<Level> {
        if self.left == 0 {
            return None;
        }
        let t = self.next?;
        let (size, orders, next) = match self.source {
            DepthSource::Mbp(l) => step(l, self.bid, t),
            DepthSource::Mbo(l) => step(l, self.bid, t),
        };
        self.left -= 1;
        self.next = next;
        Some(Level { price: self.grid.price(t), size: Qty::from_raw(size), orders })
    }
}

/// Why a book refused an update. A refused update changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum BookError {
    /// The price is not a whole number of ticks.
    #[error("{side:?} at {price}: not a multiple of the tick {tick}")]
    OffGrid {
        /// The update's side.
        side: BookSide,
        /// Its price.
        price: Price,
        /// The book's tick.
        tick: Price,
    },
    /// The level would stretch its side past the window (module docs: the side's levels must span
    /// fewer than `window` ticks).
    #[error(
        "{side:?} at {price}: outside the book's window of {window} ticks (the side spans {deepest} to \
         {best}); build the book with a wider window"
    )]
    OutOfWindow {
        /// The update's side.
        side: BookSide,
        /// Its price.
        price: Price,
        /// The side's best price now.
        best: Price,
        /// The side's deepest price now.
        deepest: Price,
        /// The window, in ticks.
        window: u32,
    },
    /// A market-by-price size below zero.
    #[error("{side:?} at {price}: size {size} is negative")]
    NegativeSize {
        /// The update's side.
        side: BookSide,
        /// Its price.
        price: Price,
        /// Its size.
        size: Qty,
    },
    /// A market-by-order size the action cannot take: adds, modifies and fills need a positive
    /// size; a cancel takes a positive size (that much is cancelled) or zero (all of it).
    #[error("order {id}: {action:?} with size {size}")]
    BadSize {
        /// The venue's order id.
        id: u64,
        /// What the record said happened.
        action: OrderAction,
        /// Its size.
        size: Qty,
    },
    /// A cancel, modify or fill of an id the book does not hold.
    #[error("order {id}: {action:?} of an order not in the book")]
    UnknownOrder {
        /// The venue's order id.
        id: u64,
        /// What the record said happened.
        action: OrderAction,
    },
    /// An add of an id the book already holds.
    #[error("order {id}: added while already in the book")]
    DuplicateOrder {
        /// The venue's order id.
        id: u64,
    },
    /// The record's side (or, for a cancel or fill, its price) is not the resting order's.
    #[error("order {id}: {action:?} at {side:?} {price}, but it rests at {book_side:?} {book_price}")]
    Mismatch {
        /// The venue's order id.
        id: u64,
        /// What the record said happened.
        action: OrderAction,
        /// The record's side.
        side: BookSide,
        /// The record's price.
        price: Price,
        /// The resting order's side.
        book_side: BookSide,
        /// The resting order's price.
        book_price: Price,
    },
    /// A cancel or fill of more than the order has left.
    #[error("order {id}: {action:?} of {size}, but only {resting} rests")]
    TooLarge {
        /// The venue's order id.
        id: u64,
        /// What the record said happened.
        action: OrderAction,
        /// The record's size.
        size: Qty,
        /// What the order has left.
        resting: Qty,
    },
    /// The level's total would not fit a [`Qty`] (more than 9.2·10^9 units at one price).
    #[error("order {id}: {side:?} at {price} would overflow the level's total of {level}")]
    LevelOverflow {
        /// The venue's order id.
        id: u64,
        /// The order's side.
        side: BookSide,
        /// The level's price.
        price: Price,
        /// The level's total now.
        level: Qty,
    },
    /// The book already holds as many orders as it was built for.
    #[error("order {id}: the book is full ({capacity} orders); build it with a larger capacity")]
    Full {
        /// The venue's order id.
        id: u64,
        /// The book's capacity.
        capacity: u32,
    },
}

/// A broken invariant found by [`L2Book::check`] or [`L3Book::check`]: a bug in the book, never
/// a property of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("book inconsistent ({side:?} at {price:?}): {what}")]
pub struct Inconsistent {
    /// The side, when the problem is one side's.
    pub side: Option<BookSide>,
    /// The level, when the problem is one level's.
    pub price: Option<Price>,
    /// What is wrong.
    pub what: &'static str,
}

impl Inconsistent {
    fn at(side: BookSide, price: Price, what: &'static str) -> Self {
        Self { side: Some(side), price: Some(price), what }
    }

    fn side(side: BookSide, what: &'static str) -> Self {
        Self { side: Some(side), price: None, what }
    }

    fn book(what: &'static str) -> Self {
        Self { side: None, price: None, what }
    }
}

/// Why a book could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum BookConfigError {
    /// The tick must be positive.
    #[error("tick {0} is not positive")]
    Tick(Price),
    /// The window must be a power of two within the limits.
    #[error("window of {window} ticks: a power of two from {min} to {max}")]
    Window {
        /// Asked for.
        window: usize,
        /// Smallest.
        min: usize,
        /// Largest.
        max: usize,
    },
    /// The order capacity must be at least 1 and fit the slab's `u32` links.
    #[error("order capacity {capacity}: from 1 to {max}")]
    Capacity {
        /// Asked for.
        capacity: usize,
        /// Largest.
        max: usize,
    },
}

/// The smallest window: one bitmap word.
pub const MIN_WINDOW: usize = 64;
/// The largest window: 2^24 ticks (128 MiB of sizes per side for L2; a tenth of a cent over
/// ±8,000 for a price near 10,000 at a 0.001 tick).
pub const MAX_WINDOW: usize = 1 << 24;

/// Checks a window size.
fn check_window(window: usize) -> Result<(), BookConfigError> {
    if window.is_power_of_two() && (MIN_WINDOW..=MAX_WINDOW).contains(&window) {
        Ok(())
    } else {
        Err(BookConfigError::Window { window, min: MIN_WINDOW, max: MAX_WINDOW })
    }
}

/// Whether `side` is the bid side.
#[inline(always)]
const fn is_bid(side: BookSide) -> bool {
    matches!(side, BookSide::Bid)
}
