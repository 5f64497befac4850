//! `OrderNotice`: an order notification, a snapshot of the order when the broker produced it.

use core::ops::Range;

use kestrel_types::{InstrumentId, OrderId, Qty};

use crate::order::{ExecType, Executed, Fill, Order, OrderStore, Side, Status};

/// One order notification. backtrader delivers a clone of the order, so several notifications made
/// in one step each keep their own state; this is that clone, without the heap: the fills it adds
/// are a range of the order's fill list, which only grows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderNotice {
    /// The order.
    pub order: OrderId,
    /// Its feed.
    pub instrument: InstrumentId,
    /// Its status at the notification.
    pub status: Status,
    /// Its exec type.
    pub exec_type: ExecType,
    /// Buy or sell.
    pub side: Side,
    /// Its signed size at the notification.
    pub size: Qty,
    /// Cumulative execution state at the notification.
    pub executed: Executed,
    /// Fills added since the order's previous notification (indices into [`Order::fills`]).
    pub fills: Range<usize>,
}

impl OrderNotice {
    /// Snapshot of `order` with the given new fills.
    pub fn of(order: &Order, fills: Range<usize>) -> Self {
        Self {
            order: order.id(),
            instrument: order.instrument(),
            status: order.status(),
            exec_type: order.exec_type(),
            side: order.side(),
            size: order.size(),
            executed: *order.executed(),
            fills,
        }
    }

    /// The fills this notification adds, read from the store.
    pub fn new_fills<'a>(&self, orders: &'a OrderStore) -> &'a [Fill] {
        orders.get(self.order).and_then(|o| o.fills().get(self.fills.clone())).unwrap_or(&[])
    }
}
