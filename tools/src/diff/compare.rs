//! Comparing three runs: per order (same fills or not), and per bar between the two tick paths
//! (the intrabar-ambiguous cases). See the [module docs](super) for the definitions.

use std::collections::{BTreeMap, BTreeSet};

use super::{FillRec, OrderKey, RunLog};

/// Agreements and differences of two runs over the orders compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PairCount {
    pub(crate) agree: usize,
    pub(crate) differ: usize,
}

/// A bar on which the two tick paths' fills differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Case {
    /// 0-based bar index.
    pub(crate) bar: usize,
    /// The orders filled on that bar in either path, in key order.
    pub(crate) orders: Vec<OrderKey>,
    /// Path A's fills on the bar, in sequence.
    pub(crate) a: Vec<FillRec>,
    /// Path B's fills on the bar, in sequence.
    pub(crate) b: Vec<FillRec>,
    /// The bar broker's fills of those orders, on whatever bar.
    pub(crate) broker: Vec<FillRec>,
}

/// What the comparison found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Diff {
    /// Every order placed in at least one run, in key order.
    pub(crate) keys: Vec<OrderKey>,
    pub(crate) bar_vs_a: PairCount,
    pub(crate) bar_vs_b: PairCount,
    pub(crate) a_vs_b: PairCount,
    /// The intrabar-ambiguous cases, in bar order.
    pub(crate) cases: Vec<Case>,
    /// Orders on which the bar broker and at least one path differ.
    pub(crate) differences: Vec<OrderKey>,
}

/// A run's fills grouped by order and by bar, each group in time order: one pass over the fills,
/// so long runs compare in `n log n`.
struct Index<'a> {
    by_key: BTreeMap<OrderKey, Vec<&'a FillRec>>,
    by_bar: BTreeMap<usize, Vec<&'a FillRec>>,
}

impl<'a> Index<'a> {
    fn new(log: &'a RunLog) -> Self {
        let mut by_key: BTreeMap<OrderKey, Vec<&FillRec>> = BTreeMap::new();
        let mut by_bar: BTreeMap<usize, Vec<&FillRec>> = BTreeMap::new();
        for f in &log.fills {
            by_key.entry(f.key).or_default().push(f);
            by_bar.entry(f.bar).or_default().push(f);
        }
        Self { by_key, by_bar }
    }

    fn key(&self, key: OrderKey) -> &[&'a FillRec] {
        self.by_key.get(&key).map_or(&[], Vec::as_slice)
    }

    fn bar(&self, bar: usize) -> &[&'a FillRec] {
        self.by_bar.get(&bar).map_or(&[], Vec::as_slice)
    }
}

/// Whether two fill sequences are the same fills in the same order.
fn same_fills(x: &[&FillRec], y: &[&FillRec]) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| a.essence() == b.essence())
}

fn count(x: &Index<'_>, y: &Index<'_>, keys: &[OrderKey]) -> PairCount {
    let agree = keys.iter().filter(|k| same_fills(x.key(**k), y.key(**k))).count();
    PairCount { agree, differ: keys.len() - agree }
}

/// Compares the bar broker's run with the two tick paths'.
pub(crate) fn compare(bar: &RunLog, a: &RunLog, b: &RunLog) -> Diff {
    let keys: Vec<OrderKey> = [bar, a, b]
        .iter()
        .flat_map(|r| r.orders.iter().map(|o| o.key).chain(r.fills.iter().map(|f| f.key)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (ib, ia, ibb) = (Index::new(bar), Index::new(a), Index::new(b));
    let differences = keys
        .iter()
        .copied()
        .filter(|k| !same_fills(ib.key(*k), ia.key(*k)) || !same_fills(ib.key(*k), ibb.key(*k)))
        .collect();
    let bars: BTreeSet<usize> = ia.by_bar.keys().chain(ibb.by_bar.keys()).copied().collect();
    let mut cases = Vec::new();
    for i in bars {
        let (fa, fb) = (ia.bar(i), ibb.bar(i));
        if same_fills(fa, fb) {
            continue;
        }
        let orders: Vec<OrderKey> =
            fa.iter().chain(fb).map(|f| f.key).collect::<BTreeSet<_>>().into_iter().collect();
        let broker = orders.iter().flat_map(|k| ib.key(*k)).map(|f| **f).collect::<Vec<_>>();
        let owned = |v: &[&FillRec]| v.iter().map(|f| **f).collect::<Vec<_>>();
        cases.push(Case { bar: i, orders, a: owned(fa), b: owned(fb), broker });
    }
    Diff {
        bar_vs_a: count(&ib, &ia, &keys),
        bar_vs_b: count(&ib, &ibb, &keys),
        a_vs_b: count(&ia, &ibb, &keys),
        keys,
        cases,
        differences,
    }
}

#[cfg(test)]
mod tests {
    use kestrel_engine::order::{Side, Status};
    use kestrel_types::{Price, Qty};

    use super::*;
    use crate::diff::{OrderRec, Role, Tick};

    fn key(signal: usize, role: Role) -> OrderKey {
        OrderKey { signal, role }
    }

    fn log(fills: &[(OrderKey, &str, usize)]) -> RunLog {
        let mut log = RunLog::default();
        for (i, (k, price, bar)) in fills.iter().enumerate() {
            let side = if k.role == Role::Entry { Side::Buy } else { Side::Sell };
            let seq = i as u64 + 1;
            log.orders.push(OrderRec { key: *k, seq, side, status: Status::Completed });
            log.fills.push(FillRec {
                key: *k,
                seq,
                side,
                qty: Qty::ONE,
                price: price.parse::<Price>().unwrap(),
                bar: *bar,
                tick: Some(Tick::Open),
            });
        }
        log
    }

    #[test]
    fn diff_compare_counts_agreements_and_groups_a_bars_differences_into_one_case() {
        let (entry, stop, target) = (key(3, Role::Entry), key(3, Role::Stop), key(3, Role::Target));
        let broker = log(&[(entry, "100", 4), (stop, "98", 6)]);
        let a = log(&[(entry, "100", 4), (target, "103", 6)]);
        let mut b = log(&[(entry, "100", 4), (stop, "97.5", 6)]);
        // Path B also placed the target; it never filled.
        b.orders.push(OrderRec { key: target, seq: 9, side: Side::Sell, status: Status::Canceled });
        let d = compare(&broker, &a, &b);
        assert_eq!(d.keys, [entry, stop, target]);
        assert_eq!(d.bar_vs_a, PairCount { agree: 1, differ: 2 });
        assert_eq!(d.bar_vs_b, PairCount { agree: 2, differ: 1 });
        assert_eq!(d.a_vs_b, PairCount { agree: 1, differ: 2 });
        assert_eq!(d.cases.len(), 1);
        let c = &d.cases[0];
        assert_eq!((c.bar, c.orders.as_slice()), (6, [stop, target].as_slice()));
        assert_eq!(c.a[0].key, target);
        assert_eq!(c.b[0].key, stop);
        assert_eq!(c.broker.len(), 1);
        assert_eq!(d.differences, [stop, target]);
    }

    #[test]
    fn diff_compare_sees_the_order_of_fills() {
        let (x, y) = (key(1, Role::Entry), key(1, Role::Exit));
        let a = log(&[(x, "100", 2), (y, "100", 2)]);
        let b = log(&[(y, "100", 2), (x, "100", 2)]);
        let d = compare(&a, &a, &b);
        // Same fills per order, in another order on the bar: one ambiguous case.
        assert_eq!(d.a_vs_b, PairCount { agree: 2, differ: 0 });
        assert_eq!(d.cases.len(), 1);
        assert!(d.differences.is_empty());
    }
}
