//! `RateLimits`: request budgets per interval, kept from the venue's own counters.
//!
//! A venue declares its budgets ([`crate::Venue::budgets`]): request weight per minute, orders per
//! ten seconds, … Each HTTP request carries a [`Cost`]. Windows are fixed and aligned to the epoch
//! (`now / interval`), as exchanges that publish "used weight in the current minute" count them.
//! The local count is charged when a request is sent; when the venue reads the server's count from
//! a response header it calls [`RateLimits::observe_used`], and the larger of the two is kept (the
//! server's count misses requests still in flight, ours misses other sessions on the same key).
//! A `429`/`418` answer pauses every request until its `Retry-After` ([`RateLimits::pause_until`]).
//!
//! Requests over budget are not dropped: [`crate::Wire`] holds them in a bounded FIFO and sends
//! them when the budget allows, or refuses them with a typed error when the hold queue is full.

use kestrel_types::{TimeSpan, Timestamp};

use crate::error::GatewayError;

/// What a budget counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetKind {
    /// Request weight (each request's [`Cost::weight`]).
    Weight,
    /// Orders placed (each request's [`Cost::orders`]).
    Orders,
}

/// A limit of `limit` units of `kind` per `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// What is counted.
    pub kind: BudgetKind,
    /// Units allowed per interval.
    pub limit: u32,
    /// The window length.
    pub interval: TimeSpan,
}

/// What one request spends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cost {
    /// Request weight.
    pub weight: u32,
    /// Orders placed (0 for queries and cancels on most venues).
    pub orders: u32,
}

impl Cost {
    /// A query of weight `weight`.
    pub const fn weight(weight: u32) -> Self {
        Self { weight, orders: 0 }
    }

    fn of(self, kind: BudgetKind) -> u32 {
        match kind {
            BudgetKind::Weight => self.weight,
            BudgetKind::Orders => self.orders,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Window {
    budget: Budget,
    /// `now / interval` of the window `used` counts.
    index: i64,
    used: u32,
}

/// The budgets' state: used units in the current windows and a pause.
#[derive(Clone, Debug)]
pub struct RateLimits {
    windows: Vec<Window>,
    paused_until: Timestamp,
}

impl RateLimits {
    /// Budgets in the order given: [`RateLimits::observe_used`] refers to them by that index.
    ///
    /// # Errors
    /// [`GatewayError::Config`] for a zero limit or a non-positive interval.
    pub fn new(budgets: &[Budget]) -> Result<Self, GatewayError> {
        let mut windows = Vec::with_capacity(budgets.len());
        for (i, b) in budgets.iter().enumerate() {
            if b.limit == 0 || b.interval.nanos() <= 0 {
                return Err(GatewayError::Config {
                    reason: format!(
                        "budget {i}: limit {} per {} ns is not positive",
                        b.limit,
                        b.interval.nanos()
                    ),
                });
            }
            windows.push(Window { budget: *b, index: i64::MIN, used: 0 });
        }
        Ok(Self { windows, paused_until: Timestamp::EPOCH })
    }

    /// The budgets, in declaration order.
    pub fn budgets(&self) -> impl Iterator<Item = &Budget> {
        self.windows.iter().map(|w| &w.budget)
    }

    /// Units of budget `index` used in the window containing `now`.
    pub fn used(&self, index: usize, now: Timestamp) -> Option<u32> {
        let w = self.windows.get(index)?;
        Some(if w.index == now.nanos().div_euclid(w.budget.interval.nanos()) { w.used } else { 0 })
    }

    /// Records the venue's own count for budget `index` (e.g. from `X-MBX-USED-WEIGHT-1M`); the
    /// larger of it and the local count is kept. An unknown index is ignored and reported `false`.
    pub fn observe_used(&mut self, index: usize, used: u32, now: Timestamp) -> bool {
        let Some(w) = self.windows.get_mut(index) else { return false };
        let current = now.nanos().div_euclid(w.budget.interval.nanos());
        if w.index != current {
            w.index = current;
            w.used = 0;
        }
        w.used = w.used.max(used);
        true
    }

    /// Sends nothing before `until` (a `Retry-After`); a later pause extends, an earlier one does not
    /// shorten.
    pub fn pause_until(&mut self, until: Timestamp) {
        self.paused_until = self.paused_until.max(until);
    }

    /// The end of the current pause, if `now` is inside one.
    pub fn paused(&self, now: Timestamp) -> Option<Timestamp> {
        (now < self.paused_until).then_some(self.paused_until)
    }

    /// The first budget that `cost` alone exceeds: such a request can never be sent.
    pub(crate) fn never_fits(&self, cost: Cost) -> Option<(u32, u32)> {
        self.windows.iter().find_map(|w| {
            let c = cost.of(w.budget.kind);
            (c > w.budget.limit).then_some((c, w.budget.limit))
        })
    }

    /// Charges `cost` if every budget has room for it now and no pause is running.
    pub fn try_take(&mut self, cost: Cost, now: Timestamp) -> bool {
        if self.paused(now).is_some() {
            return false;
        }
        let mut fits = true;
        for w in &mut self.windows {
            let current = now.nanos().div_euclid(w.budget.interval.nanos());
            if w.index != current {
                w.index = current;
                w.used = 0;
            }
            fits &= u64::from(w.used) + u64::from(cost.of(w.budget.kind)) <= u64::from(w.budget.limit);
        }
        if fits {
            for w in &mut self.windows {
                w.used = w.used.saturating_add(cost.of(w.budget.kind));
            }
        }
        fits
    }

    /// When a held request may next fit: the pause's end or the start of the next window of a full
    /// budget (the earliest of them), for the thread's poll timeout.
    pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        if let Some(until) = self.paused(now) {
            return Some(until);
        }
        self.windows
            .iter()
            .map(|w| {
                let len = w.budget.interval.nanos();
                Timestamp::from_nanos(now.nanos().div_euclid(len).saturating_add(1).saturating_mul(len))
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn t(ns: i64) -> Timestamp {
        Timestamp::from_nanos(ns)
    }

    fn limits() -> RateLimits {
        RateLimits::new(&[
            Budget { kind: BudgetKind::Weight, limit: 10, interval: TimeSpan::from_nanos(60 * SEC) },
            Budget { kind: BudgetKind::Orders, limit: 2, interval: TimeSpan::from_nanos(10 * SEC) },
        ])
        .unwrap()
    }

    #[test]
    fn charges_until_a_budget_is_spent_then_rolls_over() {
        let mut l = limits();
        let order = Cost { weight: 1, orders: 1 };
        assert!(l.try_take(order, t(SEC)));
        assert!(l.try_take(order, t(2 * SEC)));
        assert!(!l.try_take(order, t(3 * SEC)), "third order in the 10 s window");
        assert!(l.try_take(Cost::weight(5), t(3 * SEC)), "queries still fit the weight budget");
        assert_eq!(l.used(0, t(3 * SEC)), Some(7));
        assert_eq!(l.used(1, t(3 * SEC)), Some(2));
        assert_eq!(l.next_change(t(3 * SEC)), Some(t(10 * SEC)));
        assert!(l.try_take(order, t(10 * SEC)), "a new orders window");
        assert!(!l.try_take(Cost::weight(3), t(11 * SEC)), "weight 8 + 3 > 10");
        assert!(l.try_take(Cost::weight(3), t(60 * SEC)), "a new weight window");
    }

    #[test]
    fn the_venue_count_wins_when_higher() {
        let mut l = limits();
        assert!(l.try_take(Cost::weight(1), t(SEC)));
        assert!(l.observe_used(0, 9, t(SEC)));
        assert!(!l.try_take(Cost::weight(2), t(SEC)));
        assert!(l.observe_used(0, 3, t(SEC)), "lower counts do not free budget");
        assert_eq!(l.used(0, t(SEC)), Some(9));
        assert!(!l.observe_used(7, 1, t(SEC)));
        assert_eq!(l.never_fits(Cost::weight(11)), Some((11, 10)));
        assert_eq!(l.never_fits(Cost::weight(10)), None);
    }

    #[test]
    fn a_pause_holds_everything_until_it_ends() {
        let mut l = limits();
        l.pause_until(t(5 * SEC));
        l.pause_until(t(4 * SEC));
        assert_eq!(l.paused(t(SEC)), Some(t(5 * SEC)));
        assert!(!l.try_take(Cost::default(), t(SEC)));
        assert_eq!(l.next_change(t(SEC)), Some(t(5 * SEC)));
        assert!(l.try_take(Cost::default(), t(5 * SEC)));
    }

    #[test]
    fn bad_budgets_are_refused() {
        let bad = Budget { kind: BudgetKind::Weight, limit: 0, interval: TimeSpan::from_nanos(SEC) };
        assert!(matches!(RateLimits::new(&[bad]), Err(GatewayError::Config { .. })));
    }
}
