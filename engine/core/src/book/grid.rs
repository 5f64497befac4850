//! Prices as whole ticks, without a division on the hot path.
//!
//! Every update names a price; the books index levels by `price / tick`. A 64-bit `idiv` costs
//! 15–40 cycles, which alone would be half the per-event budget of the L2 replay (50M events/s on
//! a 2.6 GHz core is 52 cycles). Prices on the grid are *exact* multiples of the tick, and exact
//! division by a constant is a multiplication: write `tick = 2^s · d` with `d` odd; then `x` is a
//! multiple of `tick` iff its low `s` bits are zero and `q = (x >> s) · d⁻¹ mod 2^64` lies in
//! `[i64::MIN / d, i64::MAX / d]`, and then `q` is the quotient (Granlund and Montgomery,
//! "Division by invariant integers using multiplication", 1994, §9: multiplication by the inverse
//! mod 2^64 is a bijection that maps the multiples of `d` onto exactly that range). One shift, one
//! mask, one multiply and two compares.

use kestrel_types::Price;

/// The tick of one instrument, prepared for exact division (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TickGrid {
    /// The tick, raw nano-units (positive).
    tick: i64,
    /// Trailing zero bits of the tick.
    shift: u32,
    /// `(1 << shift) - 1`: the bits a multiple must have clear.
    low: i64,
    /// The inverse of the tick's odd part modulo 2^64.
    inverse: u64,
    /// The smallest and largest quotient of an `i64` by the odd part.
    qmin: i64,
    qmax: i64,
}

impl TickGrid {
    /// The grid of `tick`; `None` unless the tick is positive.
    pub(crate) fn new(tick: Price) -> Option<Self> {
        let tick = tick.raw();
        if tick <= 0 {
            return None;
        }
        let shift = tick.trailing_zeros();
        let odd = (tick >> shift) as u64;
        // Newton's iteration for the inverse mod 2^64: `odd · odd ≡ 1 (mod 8)` gives 3 correct
        // bits, each step doubles them: 6, 12, 24, 48, 96 ≥ 64.
        let mut inverse = odd;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inverse)));
        }
        debug_assert_eq!(odd.wrapping_mul(inverse), 1);
        let odd = odd as i64;
        Some(Self {
            tick,
            shift,
            low: (1i64 << shift) - 1,
            inverse,
            qmin: i64::MIN / odd,
            qmax: i64::MAX / odd,
        })
    }

    /// The tick.
    pub(crate) fn tick(&self) -> Price {
        Price::from_raw(self.tick)
    }

    /// `price / tick` when `price` is a whole number of ticks, else `None`.
    #[inline(always)]
    pub(crate) fn ticks(&self, price: Price) -> Option<i64> {
        let x = price.raw();
        let q = ((x >> self.shift) as u64).wrapping_mul(self.inverse) as i64;
        (x & self.low == 0 && q >= self.qmin && q <= self.qmax).then_some(q)
    }

    /// The price of `ticks` ticks (`ticks` came from [`TickGrid::ticks`], so it does not overflow).
    #[inline(always)]
    pub(crate) fn price(&self, ticks: i64) -> Price {
        Price::from_raw(ticks.wrapping_mul(self.tick))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(x: i64, tick: i64) -> Option<i64> {
        (x % tick == 0).then(|| x / tick)
    }

    #[test]
    fn edges_agree_with_division() {
        let ticks =
            [1, 2, 3, 5, 7, 10, 25, 250_000_000, 10_000_000, 1 << 40, 3 << 30, i64::MAX, i64::MAX - 1];
        let xs = [0, 1, -1, 2, -2, 3, i64::MAX, i64::MIN, i64::MIN + 1, i64::MAX - 1, 1 << 62, -(1 << 62)];
        for tick in ticks {
            let g = TickGrid::new(Price::from_raw(tick)).unwrap();
            for x in xs.iter().copied().chain(xs.iter().map(|x| x.wrapping_mul(tick))) {
                assert_eq!(g.ticks(Price::from_raw(x)), reference(x, tick), "{x} / {tick}");
            }
        }
        assert!(TickGrid::new(Price::ZERO).is_none());
        assert!(TickGrid::new(Price::from_raw(-5)).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Any price and tick: the same answer as `%` and `/`, and the price back.
        #[test]
        fn agrees_with_division(x in any::<i64>(), k in -1_000_000i64..1_000_000, tick in 1i64..=1 << 40) {
            let g = TickGrid::new(Price::from_raw(tick)).unwrap();
            prop_assert_eq!(g.ticks(Price::from_raw(x)), reference(x, tick));
            if let Some(m) = k.checked_mul(tick) {
                prop_assert_eq!(g.ticks(Price::from_raw(m)), Some(k));
                prop_assert_eq!(g.price(k), Price::from_raw(m));
            }
        }
    }
}
