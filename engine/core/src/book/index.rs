//! Venue order id → order slot: a fixed open-addressing table.
//!
//! Market-by-order feeds name orders by the venue's ids: sparse 64-bit numbers (CME's are about
//! 6.4·10^12 and climbing), so no dense array can be indexed by them. The table is sized once, at
//! start-up, to the smallest power of two of at least twice the book's order capacity, so it is at
//! most half full and never grows: a lookup is one multiply and one or two probes. The book refuses
//! an order past its capacity before the table could fill ([`super::BookError::Full`]).
//!
//! The id is spread by Fibonacci hashing (a multiply by 2^64/φ, keeping the top bits) rather than
//! taking its low bits: venues hand out ids in strides and per-instrument blocks, which would pile
//! up in a direct-mapped table. Nothing is random and the table is never iterated, so the result is
//! the same on every run (the engine's ban on `HashMap` is about random iteration order). Linear
//! probing with backward-shift deletion: no tombstones, so a long replay of adds and cancels
//! leaves the table as fast as it started.

/// A free entry's slot.
const EMPTY: u32 = u32::MAX;

/// 2^64 / φ, odd.
const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: u64,
    slot: u32,
}

/// The table (module docs).
#[derive(Clone, Debug)]
pub(crate) struct IdIndex {
    entries: Box<[Entry]>,
    mask: usize,
    shift: u32,
}

impl IdIndex {
    /// A table for at most `capacity` ids (at most `u32::MAX - 1`; the books check it).
    pub(crate) fn new(capacity: usize) -> Self {
        let len = (capacity.max(1) * 2).next_power_of_two().max(2);
        Self {
            entries: vec![Entry { id: 0, slot: EMPTY }; len].into_boxed_slice(),
            mask: len - 1,
            shift: 64 - len.trailing_zeros(),
        }
    }

    #[inline(always)]
    fn home(&self, id: u64) -> usize {
        (id.wrapping_mul(FIBONACCI) >> self.shift) as usize
    }

    /// Where `id` is, or the free entry that ends its probe run.
    #[inline(always)]
    fn probe(&self, id: u64) -> (usize, bool) {
        let mut i = self.home(id);
        loop {
            let e = self.entries[i];
            if e.slot == EMPTY {
                return (i, false);
            }
            if e.id == id {
                return (i, true);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The slot of `id`.
    #[inline(always)]
    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        match self.probe(id) {
            (i, true) => Some(self.entries[i].slot),
            _ => None,
        }
    }

    /// Records `id` at `slot`; `id` must not be present (the book checked).
    #[inline(always)]
    pub(crate) fn insert(&mut self, id: u64, slot: u32) {
        let (i, found) = self.probe(id);
        debug_assert!(!found, "order id {id} inserted twice");
        self.entries[i] = Entry { id, slot };
    }

    /// Forgets `id` (present), shifting back the entries of its probe run that would no longer be
    /// found.
    #[inline]
    pub(crate) fn remove(&mut self, id: u64) {
        let (mut hole, found) = self.probe(id);
        if !found {
            return;
        }
        self.entries[hole].slot = EMPTY;
        let mut j = hole;
        loop {
            j = (j + 1) & self.mask;
            let e = self.entries[j];
            if e.slot == EMPTY {
                return;
            }
            // `e` may fill the hole when its home is at or before the hole along its probe run.
            let home = self.home(e.id);
            if (j.wrapping_sub(home) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                self.entries[hole] = e;
                self.entries[j].slot = EMPTY;
                hole = j;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Against a `BTreeMap`: inserts and removes of clustered and strided ids.
        #[test]
        fn agrees_with_a_map(ops in prop::collection::vec((any::<bool>(), 0u64..64, prop::sample::select(vec![1u64, 7, 1 << 20, 1 << 40])), 1..400)) {
            let mut index = IdIndex::new(64);
            let mut map = BTreeMap::new();
            for (k, (add, n, stride)) in ops.into_iter().enumerate() {
                let id = n.wrapping_mul(stride);
                if add && !map.contains_key(&id) && map.len() < 64 {
                    index.insert(id, k as u32);
                    map.insert(id, k as u32);
                } else if !add {
                    index.remove(id);
                    map.remove(&id);
                }
                for (id, slot) in &map {
                    prop_assert_eq!(index.get(*id), Some(*slot));
                }
                prop_assert_eq!(index.get(id), map.get(&id).copied());
            }
        }
    }
}
