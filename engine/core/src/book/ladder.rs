//! One side of a book: a ring of price levels indexed by tick, with an occupancy bitmap.
//!
//! # Layout
//! A side holds `window` slots (a power of two). Price `t` (in whole ticks) lives in slot
//! `t & (window - 1)`: the tick count *is* the index, so there is no base price to choose and no
//! recentring to do; the one rule is that the side's occupied levels span fewer than `window` ticks
//! (`hi - lo < window`), so that no two of them share a slot. The window therefore follows the
//! book wherever it goes: a level near the touch is a load and a store whatever the price, and a
//! book that drifts a thousand ticks over a day moves nothing in memory. An update that would
//! stretch the side past `window` ticks is refused by the books ([`super::BookError::OutOfWindow`])
//! before anything changes.
//!
//! # Finding the next level
//! One bit per slot says whether the level holds anything. When the best level empties, the next
//! one is found a 64-slot word at a time (`leading_zeros` / `trailing_zeros`): one word when the
//! next level is within 64 ticks, the common case, and at most `window / 64 + 1` words when the
//! side has a gap, never a scan of the sizes. The side keeps its two extremes (`lo`, `hi`): the
//! best is one of them (bids: `hi`, asks: `lo`), the deepest the other, which is what the window
//! rule needs.
//!
//! # Aliasing
//! Scanning down from `hi - 1` (the best bid emptied) visits ticks `hi - 1, hi - 2, …`; a set bit
//! met within `window` steps is a real level at the tick visited, because every occupied tick lies
//! in `[lo, hi - 1]`, a range shorter than the window. The same holds upwards from `lo + 1`, and
//! for depth walks that start at an extreme and stop at the other.

/// What a ladder slot holds: a level's data, empty by default.
pub(crate) trait Slot: Copy + Default {
    /// The level's total size (raw nano-units).
    fn size(&self) -> i64;

    /// Orders resting there, where the book knows them (0 otherwise).
    fn orders(&self) -> u32 {
        0
    }
}

impl Slot for i64 {
    #[inline(always)]
    fn size(&self) -> i64 {
        *self
    }
}

/// One side's levels (module docs).
#[derive(Clone, Debug)]
pub(crate) struct Ladder<L> {
    slots: Box<[L]>,
    bits: Box<[u64]>,
    /// `window - 1`.
    mask: i64,
    /// The lowest and highest occupied tick (meaningless when `levels == 0`).
    lo: i64,
    hi: i64,
    /// Occupied levels.
    levels: u32,
}

impl<L: Slot> Ladder<L> {
    /// A side of `window` slots (a power of two, at least 64: checked by the books' constructors).
    pub(crate) fn new(window: usize) -> Self {
        debug_assert!(window.is_power_of_two() && window >= 64);
        Self {
            slots: vec![L::default(); window].into_boxed_slice(),
            bits: vec![0; window / 64].into_boxed_slice(),
            mask: window as i64 - 1,
            lo: 0,
            hi: 0,
            levels: 0,
        }
    }

    /// Slots (the window, in ticks).
    pub(crate) fn window(&self) -> usize {
        self.slots.len()
    }

    /// Occupied levels.
    #[inline(always)]
    pub(crate) fn levels(&self) -> u32 {
        self.levels
    }

    #[inline(always)]
    fn index(&self, t: i64) -> usize {
        (t & self.mask) as usize
    }

    /// Whether `t` lies between the side's extremes (so its slot is its own if occupied).
    #[inline(always)]
    pub(crate) fn in_span(&self, t: i64) -> bool {
        // `&`, not `&&`: three compares and no branch.
        (self.levels != 0) & (self.lo <= t) & (t <= self.hi)
    }

    /// The slot of tick `t`. Meaningful only when `t` is [`Ladder::in_span`] (or the side will
    /// occupy it): otherwise it may be another tick's level.
    #[inline(always)]
    pub(crate) fn slot(&self, t: i64) -> &L {
        &self.slots[self.index(t)]
    }

    /// The slot of tick `t`, mutably (as [`Ladder::slot`]).
    #[inline(always)]
    pub(crate) fn slot_mut(&mut self, t: i64) -> &mut L {
        let i = self.index(t);
        &mut self.slots[i]
    }

    /// The level at `t` if occupied.
    #[inline(always)]
    pub(crate) fn get(&self, t: i64) -> Option<&L> {
        if !self.in_span(t) {
            return None;
        }
        let i = self.index(t);
        (self.bits[i >> 6] & (1 << (i & 63)) != 0).then(|| &self.slots[i])
    }

    /// Whether occupying `t` keeps the side within the window.
    #[inline(always)]
    pub(crate) fn fits(&self, t: i64) -> bool {
        self.levels == 0 || self.hi.max(t).abs_diff(self.lo.min(t)) < self.slots.len() as u64
    }

    /// Whether occupying `t` once the level at `gone` (occupied) has emptied keeps the side within
    /// the window: a level moving from `gone` to `t`. Reads only.
    pub(crate) fn fits_after_removing(&self, gone: i64, t: i64) -> bool {
        if self.levels <= 1 {
            return true;
        }
        let lo = if gone == self.lo { self.scan_up(gone.wrapping_add(1)) } else { self.lo };
        let hi = if gone == self.hi { self.scan_down(gone.wrapping_sub(1)) } else { self.hi };
        hi.max(t).abs_diff(lo.min(t)) < self.slots.len() as u64
    }

    /// The best tick: the highest for bids, the lowest for asks.
    #[inline(always)]
    pub(crate) fn best(&self, bid: bool) -> Option<i64> {
        (self.levels != 0).then_some(if bid { self.hi } else { self.lo })
    }

    /// The deepest tick: the lowest for bids, the highest for asks.
    #[inline(always)]
    pub(crate) fn deepest(&self, bid: bool) -> Option<i64> {
        (self.levels != 0).then_some(if bid { self.lo } else { self.hi })
    }

    /// The best tick and its size.
    #[inline(always)]
    pub(crate) fn top(&self, bid: bool) -> Option<(i64, i64)> {
        self.best(bid).map(|t| (t, self.slot(t).size()))
    }

    /// The top as plain values, for a comparison without branches ([`moved`]): whether the side
    /// has levels, its best tick and the size there (both meaningless when it has none).
    #[inline(always)]
    pub(crate) fn top_raw(&self, bid: bool) -> (bool, i64, i64) {
        let t = if bid { self.hi } else { self.lo };
        (self.levels != 0, t, self.slots[self.index(t)].size())
    }

    /// Writes `value` into the slot of `t` and marks it occupied, whether it was (`was`) or not.
    /// The caller checked [`Ladder::fits`]. Without a branch on `was`: setting a set bit and
    /// widening the extremes to a tick inside them change nothing.
    #[inline(always)]
    pub(crate) fn put(&mut self, t: i64, value: L, was: bool) {
        let i = self.index(t);
        self.slots[i] = value;
        self.bits[i >> 6] |= 1 << (i & 63);
        if self.levels == 0 {
            (self.lo, self.hi) = (t, t);
        } else {
            self.lo = self.lo.min(t);
            self.hi = self.hi.max(t);
        }
        self.levels += u32::from(!was);
    }

    /// Marks `t` occupied (its slot already written). The caller checked [`Ladder::fits`] and
    /// that `t` was not occupied.
    #[inline(always)]
    pub(crate) fn occupy(&mut self, t: i64) {
        let i = self.index(t);
        self.bits[i >> 6] |= 1 << (i & 63);
        if self.levels == 0 {
            (self.lo, self.hi) = (t, t);
        } else {
            self.lo = self.lo.min(t);
            self.hi = self.hi.max(t);
        }
        self.levels += 1;
    }

    /// Empties the level at `t` (occupied): its slot back to the default, its bit cleared, and the
    /// extremes found again if it was one of them.
    #[inline(always)]
    pub(crate) fn vacate(&mut self, t: i64) {
        let i = self.index(t);
        self.slots[i] = L::default();
        self.bits[i >> 6] &= !(1 << (i & 63));
        self.levels -= 1;
        if self.levels != 0 {
            if t == self.hi {
                self.hi = self.scan_down(t.wrapping_sub(1));
            } else if t == self.lo {
                self.lo = self.scan_up(t.wrapping_add(1));
            }
        }
    }

    /// The next occupied tick after `t` going away from the touch (down for bids, up for asks),
    /// `None` past the deepest level. `t` is occupied or within the span.
    #[inline]
    pub(crate) fn next_away(&self, bid: bool, t: i64) -> Option<i64> {
        if bid {
            (self.levels != 0 && t > self.lo).then(|| self.scan_down(t.wrapping_sub(1)))
        } else {
            (self.levels != 0 && t < self.hi).then(|| self.scan_up(t.wrapping_add(1)))
        }
    }

    /// Empties every level: the occupied slots only, found through the bitmap.
    pub(crate) fn clear(&mut self) {
        let mut next = self.best(false);
        while let Some(t) = next {
            next = self.next_away(false, t);
            let i = self.index(t);
            self.slots[i] = L::default();
            self.bits[i >> 6] &= !(1 << (i & 63));
        }
        self.levels = 0;
    }

    /// The highest occupied tick at or below `from`; one exists within `window` ticks (module docs).
    fn scan_down(&self, from: i64) -> i64 {
        let words = self.bits.len();
        let s = self.index(from);
        let mut w = s >> 6;
        // The tick of bit 0 of word `w`, in wrapping arithmetic: results are in range.
        let mut base = from.wrapping_sub((s & 63) as i64);
        let mut bits = self.bits[w] & (u64::MAX >> (63 - (s & 63)));
        for _ in 0..=words {
            if bits != 0 {
                return base.wrapping_add(i64::from(63 - bits.leading_zeros()));
            }
            w = w.wrapping_sub(1) & (words - 1);
            base = base.wrapping_sub(64);
            bits = self.bits[w];
        }
        debug_assert!(false, "no level below {from}");
        from
    }

    /// The lowest occupied tick at or above `from`; one exists within `window` ticks.
    fn scan_up(&self, from: i64) -> i64 {
        let words = self.bits.len();
        let s = self.index(from);
        let mut w = s >> 6;
        let mut base = from.wrapping_sub((s & 63) as i64);
        let mut bits = self.bits[w] & (u64::MAX << (s & 63));
        for _ in 0..=words {
            if bits != 0 {
                return base.wrapping_add(i64::from(bits.trailing_zeros()));
            }
            w = (w + 1) & (words - 1);
            base = base.wrapping_add(64);
            bits = self.bits[w];
        }
        debug_assert!(false, "no level above {from}");
        from
    }

    /// Checks the bitmap against the extremes and the level count (tests and `check` methods):
    /// every set bit within the span, both extremes set, as many bits as levels.
    pub(crate) fn check_bits(&self) -> bool {
        let set: u32 = self.bits.iter().map(|w| w.count_ones()).sum();
        if set != self.levels {
            return false;
        }
        if self.levels == 0 {
            return true;
        }
        let mut seen = 0;
        let mut t = Some(self.lo);
        while let Some(x) = t {
            if self.get(x).is_none() {
                return false;
            }
            seen += 1;
            t = self.next_away(false, x);
        }
        seen == self.levels && self.hi.abs_diff(self.lo) < self.slots.len() as u64
    }
}

/// Whether the top moved between two [`Ladder::top_raw`]s: a side gained or lost its last level,
/// or both have levels and the best tick or its size differs.
#[inline(always)]
pub(crate) fn moved(a: (bool, i64, i64), b: (bool, i64, i64)) -> bool {
    (a.0 != b.0) | (a.0 & b.0 & ((a.1 != b.1) | (a.2 != b.2)))
}
