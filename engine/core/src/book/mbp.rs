//! The market-by-price (L2) book of one instrument: the total size at each price, rebuilt from
//! snapshots and absolute level updates ([`LevelUpdate`]: the new size at a price, 0 removes it).
//!
//! See the [module docs](super) for the price window and the snapshot semantics. Per update: the
//! price becomes whole ticks (no division), the slot is `ticks & (window - 1)`, and the best level
//! is compared before and after to report a [`TopChange`]; only an update that empties the best
//! level scans the bitmap for the next one.

use kestrel_types::{BookSide, LevelUpdate, Payload, Price, Qty};

use super::grid::TickGrid;
use super::ladder::{Ladder, moved};
use super::{BookConfigError, BookError, Depth, DepthSource, Inconsistent, TopChange, check_window, is_bid};

/// How an [`L2Book`] is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2Config {
    /// The instrument's tick: every price must be a whole number of them.
    pub tick: Price,
    /// Slots per side, a power of two from [`super::MIN_WINDOW`] to [`super::MAX_WINDOW`]: a
    /// side's levels must span fewer ticks than this.
    pub window: usize,
}

impl L2Config {
    /// The default window: 4096 ticks a side (32 KiB of sizes per side, of which the levels near
    /// the touch use a few cache lines), ±20% of the price for a future like ES at a 0.25 tick.
    pub const DEFAULT_WINDOW: usize = 4096;

    /// A book for `tick` with the default window.
    pub const fn new(tick: Price) -> Self {
        Self { tick, window: Self::DEFAULT_WINDOW }
    }
}

/// One instrument's market-by-price book (module docs).
#[derive(Clone, Debug)]
pub struct L2Book {
    grid: TickGrid,
    bids: Ladder<i64>,
    asks: Ladder<i64>,
    in_snapshot: bool,
}

impl L2Book {
    /// An empty book; the only allocation it will make.
    ///
    /// # Errors
    /// [`BookConfigError`] for a tick that is not positive or a window that is not a power of two
    /// within the limits.
    pub fn new(config: L2Config) -> Result<Self, BookConfigError> {
        let grid = TickGrid::new(config.tick).ok_or(BookConfigError::Tick(config.tick))?;
        check_window(config.window)?;
        Ok(Self {
            grid,
            bids: Ladder::new(config.window),
            asks: Ladder::new(config.window),
            in_snapshot: false,
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

    /// Sets the size at one price (0 removes the level) and says whether the top changed.
    ///
    /// # Errors
    /// Checked in this order, each leaving the book unchanged: [`BookError::NegativeSize`],
    /// [`BookError::OffGrid`], [`BookError::OutOfWindow`] (a new level that would stretch its side
    /// past the window; removing a level outside the side's span is a no-op, not an error).
    ///
    /// Always inlined (as is [`L2Book::apply_payload`]): a replay loop that decodes a record into a
    /// level update then keeps its fields in registers, and only the cold refusal paths are calls.
    #[inline(always)]
    pub fn apply(&mut self, u: &LevelUpdate) -> Result<TopChange, BookError> {
        let size = u.size.raw();
        let t = match self.grid.ticks(u.price) {
            Some(t) if size >= 0 => t,
            _ => return Err(self.refused(u)),
        };
        let bid = is_bid(u.side);
        let ladder = if bid { &mut self.bids } else { &mut self.asks };
        match set(ladder, bid, t, size) {
            Some(changed) => Ok(TopChange::side(u.side, changed)),
            None => Err(self.out_of_window(u.side, u.price)),
        }
    }

    /// Applies the book's part of an event: level updates, clears and snapshot markers. Anything
    /// else (trades, quotes, market-by-order records, bars, journal records) is not this book's and
    /// changes nothing.
    ///
    /// # Errors
    /// As [`L2Book::apply`].
    #[inline(always)]
    pub fn apply_payload(&mut self, payload: &Payload) -> Result<TopChange, BookError> {
        match payload {
            Payload::Level(u) => self.apply(u),
            Payload::BookClear => Ok(self.clear()),
            Payload::SnapshotBegin => Ok(self.snapshot_begin()),
            Payload::SnapshotEnd => {
                self.snapshot_end();
                Ok(TopChange::NONE)
            }
            _ => Ok(TopChange::NONE),
        }
    }

    /// Empties the book (its occupied levels only: found through the bitmaps).
    pub fn clear(&mut self) -> TopChange {
        let change = TopChange { bid: self.bids.levels() != 0, ask: self.asks.levels() != 0 };
        self.bids.clear();
        self.asks.clear();
        change
    }

    /// A snapshot starts: the book is cleared, and the levels until [`L2Book::snapshot_end`] are
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

    /// The best bid and the size there.
    #[inline]
    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.best(BookSide::Bid)
    }

    /// The best ask and the size there.
    #[inline]
    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.best(BookSide::Ask)
    }

    /// The best price of `side` and the size there.
    #[inline]
    pub fn best(&self, side: BookSide) -> Option<(Price, Qty)> {
        self.ladder(side).top(is_bid(side)).map(|(t, s)| (self.grid.price(t), Qty::from_raw(s)))
    }

    /// The size at `price` on `side` (zero off the grid, outside the window or empty).
    pub fn level(&self, side: BookSide, price: Price) -> Qty {
        let size = self.grid.ticks(price).and_then(|t| self.ladder(side).get(t).copied()).unwrap_or(0);
        Qty::from_raw(size)
    }

    /// Occupied levels on `side`.
    pub fn levels(&self, side: BookSide) -> usize {
        self.ladder(side).levels() as usize
    }

    /// The first `n` levels of `side`, best first.
    pub fn depth(&self, side: BookSide, n: usize) -> Depth<'_> {
        Depth::new(DepthSource::Mbp(self.ladder(side)), self.grid, side, n)
    }

    /// Whether both sides are quoted and the best bid is at or above the best ask (locked or
    /// crossed: not a state a venue's book rests in).
    pub fn is_crossed(&self) -> bool {
        match (self.bids.best(true), self.asks.best(false)) {
            (Some(b), Some(a)) => b >= a,
            _ => false,
        }
    }

    /// Checks the book's internal invariants (the bitmaps agree with the levels and the extremes,
    /// every marked level has a positive size, the sides fit their windows): for tests and
    /// consistency checks.
    ///
    /// # Errors
    /// The first inconsistency found.
    pub fn check(&self) -> Result<(), Inconsistent> {
        for side in [BookSide::Bid, BookSide::Ask] {
            if !self.ladder(side).check_bits() {
                return Err(Inconsistent::side(side, "the occupancy bitmap disagrees with the levels"));
            }
            if let Some(lv) = self.depth(side, usize::MAX).find(|lv| !lv.size.is_positive()) {
                return Err(Inconsistent::at(side, lv.price, "a level without size is marked"));
            }
        }
        Ok(())
    }

    fn ladder(&self, side: BookSide) -> &Ladder<i64> {
        if is_bid(side) { &self.bids } else { &self.asks }
    }

    #[cold]
    #[inline(never)]
    fn refused(&self, u: &LevelUpdate) -> BookError {
        if u.size.is_negative() {
            BookError::NegativeSize { side: u.side, price: u.price, size: u.size }
        } else {
            BookError::OffGrid { side: u.side, price: u.price, tick: self.grid.tick() }
        }
    }

    #[cold]
    #[inline(never)]
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

/// Sets tick `t` of one side to `size`: `Some(top changed)`, or `None` when a new level would not
/// fit the window (nothing changed).
///
/// One data-dependent branch (a removal or not): a new level and a changed one take the same path
/// ([`Ladder::put`]), and the top is compared without branches. Replayed feeds mix the three kinds
/// of update unpredictably, and each mispredicted branch costs more than the update itself.
#[inline(always)]
fn set(l: &mut Ladder<i64>, bid: bool, t: i64, size: i64) -> Option<bool> {
    let before = l.top_raw(bid);
    let held = l.in_span(t) & (*l.slot(t) != 0);
    if size != 0 {
        // A held level is inside the span, so it always fits.
        if !l.fits(t) {
            return None;
        }
        l.put(t, size, held);
    } else if held {
        l.vacate(t);
    }
    Some(moved(before, l.top_raw(bid)))
}
