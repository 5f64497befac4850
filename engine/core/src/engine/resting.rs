//! The strategy's resting limit orders and the first version of the L1 fill model.
//!
//! The rules are the L1 fill model's, documented in the [engine's module docs](super) (version 1;
//! issue 13 refines it).
//!
//! # Why not the order store
//! [`crate::order::Order`] keeps the fills after its first in a `Vec`, and
//! [`crate::order::OrderStore`] keeps users' client ids and OCO / bracket links in `BTreeMap`s and
//! every order of the session, so placing or filling may allocate and memory grows with the
//! session: right for the bar broker, wrong for a loop that must allocate nothing per event. The
//! L1 model needs none of that (no exec ids to deduplicate, no OCO, no brackets), so it keeps
//! orders in a flat slab sized at start-up and reuses the order model's vocabulary ([`Side`],
//! [`Status`]) for what it reports.
//!
//! # Capacity
//! Each instrument has room for a fixed number of resting orders (`resting_per_instrument`); a
//! place beyond it is refused with [`PlaceError::Capacity`], never a reallocation.

use kestrel_types::{InstrumentId, OrderId, Price, Qty, Timestamp};

use crate::order::{Side, Status};

/// A resting limit order of the strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestingOrder {
    /// The engine's id for it (dense, in placement order).
    pub id: OrderId,
    /// What it trades.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// Its limit price: the worst price it accepts, and the price it fills at.
    pub limit: Price,
    /// Its size, positive (the side gives the direction).
    pub size: Qty,
    /// How much has filled so far (positive, below `size` while it rests).
    pub filled: Qty,
    /// When it was placed (the engine's time then: the last event's `ts_recv`).
    pub placed_at: Timestamp,
}

impl RestingOrder {
    const EMPTY: Self = Self {
        id: OrderId(0),
        instrument: InstrumentId(0),
        side: Side::Buy,
        limit: Price::ZERO,
        size: Qty::ZERO,
        filled: Qty::ZERO,
        placed_at: Timestamp::EPOCH,
    };

    /// What is left to fill.
    pub fn remaining(&self) -> Qty {
        self.size.checked_sub(self.filled).unwrap_or(Qty::ZERO)
    }

    /// Its status in the order model's terms: `Accepted` until something fills, then `Partial`
    /// (an order that completes leaves the resting set).
    pub fn status(&self) -> Status {
        if self.filled.is_zero() { Status::Accepted } else { Status::Partial }
    }
}

/// One fill of a resting order, as the engine reports it to [`super::TickStrategy::on_fill`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickFill {
    /// The order.
    pub order: OrderId,
    /// What it trades.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// The fill price (the order's limit).
    pub price: Price,
    /// The filled quantity, positive.
    pub qty: Qty,
    /// What is left to fill after this fill.
    pub remaining: Qty,
    /// `Partial` or `Completed` after this fill.
    pub status: Status,
    /// When it filled: the `ts_recv` of the event that filled it.
    pub ts: Timestamp,
}

/// Why a resting order was not placed. Small and `Copy`: a refusal is data, and the engine runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// The instrument is not in the engine's table.
    #[error("instrument {instrument} is not in the engine's table ({count} instruments)")]
    UnknownInstrument {
        /// The instrument asked for.
        instrument: InstrumentId,
        /// How many the engine has.
        count: usize,
    },
    /// The size is zero or negative.
    #[error("order size {size} is not positive")]
    SizeNotPositive {
        /// The size asked for.
        size: Qty,
    },
    /// The instrument already has as many resting orders as it has room for.
    #[error("instrument {instrument} already has {capacity} resting orders, its capacity")]
    Capacity {
        /// The instrument.
        instrument: InstrumentId,
        /// Its capacity.
        capacity: usize,
    },
}

/// Why a cancel did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CancelError {
    /// No resting order of that instrument has that id (it filled, was canceled, or never was).
    #[error("no resting order {order} on instrument {instrument}")]
    NotResting {
        /// The instrument named.
        instrument: InstrumentId,
        /// The order named.
        order: OrderId,
    },
}

/// Every instrument's resting orders: one flat slab of `instruments × capacity` slots, each
/// instrument's live orders packed at the start of its lane in placement order.
#[derive(Debug)]
pub(crate) struct RestingBook {
    slots: Vec<RestingOrder>,
    lens: Vec<u16>,
    capacity: usize,
    next_id: u64,
}

/// What an event offers to resting orders, reduced to the L1 model's terms.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Trigger {
    /// A quote: buys cross the ask, sells cross the bid.
    Quote {
        /// Best bid.
        bid: Price,
        /// Size at the bid.
        bid_size: Qty,
        /// Best ask.
        ask: Price,
        /// Size at the ask.
        ask_size: Qty,
    },
    /// A trade print: buys fill below it, sells above it.
    Trade {
        /// Trade price.
        price: Price,
        /// Trade size.
        size: Qty,
    },
}

impl RestingBook {
    /// Room for `capacity` orders on each of `instruments` instruments (`capacity ≤ u16::MAX`,
    /// checked by the engine's constructor).
    pub(crate) fn new(instruments: usize, capacity: usize) -> Self {
        Self {
            slots: vec![RestingOrder::EMPTY; instruments * capacity],
            lens: vec![0; instruments],
            capacity,
            next_id: 1,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many orders rest on instrument index `i` (0 out of range): the fast-path test.
    #[inline]
    pub(crate) fn len(&self, i: usize) -> usize {
        self.lens.get(i).map_or(0, |n| usize::from(*n))
    }

    /// The resting orders of instrument index `i`, in placement order.
    pub(crate) fn lane(&self, i: usize) -> &[RestingOrder] {
        let start = i.saturating_mul(self.capacity);
        self.slots.get(start..start + self.len(i)).unwrap_or(&[])
    }

    pub(crate) fn place(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        size: Qty,
        limit: Price,
        now: Timestamp,
    ) -> Result<OrderId, PlaceError> {
        let i = instrument.index();
        let Some(len) = self.lens.get_mut(i) else {
            return Err(PlaceError::UnknownInstrument { instrument, count: self.lens.len() });
        };
        if !size.is_positive() {
            return Err(PlaceError::SizeNotPositive { size });
        }
        let n = usize::from(*len);
        let Some(slot) = self.slots.get_mut(i * self.capacity + n).filter(|_| n < self.capacity) else {
            return Err(PlaceError::Capacity { instrument, capacity: self.capacity });
        };
        let id = OrderId(self.next_id);
        *slot = RestingOrder { id, instrument, side, limit, size, filled: Qty::ZERO, placed_at: now };
        *len += 1;
        self.next_id += 1;
        Ok(id)
    }

    pub(crate) fn cancel(
        &mut self,
        instrument: InstrumentId,
        order: OrderId,
    ) -> Result<RestingOrder, CancelError> {
        let i = instrument.index();
        let n = self.len(i);
        let start = i.saturating_mul(self.capacity);
        let not_resting = CancelError::NotResting { instrument, order };
        let lane = self.slots.get_mut(start..start + n).ok_or(not_resting)?;
        let k = lane.iter().position(|o| o.id == order).ok_or(not_resting)?;
        let removed = lane[k];
        // Shift the later ones down: placement order is fill priority.
        lane.copy_within(k + 1.., k);
        if let Some(len) = self.lens.get_mut(i) {
            *len -= 1;
        }
        Ok(removed)
    }

    /// The L1 fill model over instrument index `i`'s resting orders for one event: fills are pushed
    /// to `fills` (which has room for a whole lane), completed orders leave the lane.
    pub(crate) fn check(&mut self, i: usize, trigger: Trigger, ts: Timestamp, fills: &mut Vec<TickFill>) {
        let n = self.len(i);
        let start = i.saturating_mul(self.capacity);
        let Some(lane) = self.slots.get_mut(start..start + n) else { return };
        // What the event offers each side; a trade's size is one pool both sides draw from.
        let (mut bid_pool, mut ask_pool, mut trade_pool) = match trigger {
            Trigger::Quote { bid_size, ask_size, .. } => (bid_size, ask_size, Qty::ZERO),
            Trigger::Trade { size, .. } => (Qty::ZERO, Qty::ZERO, size),
        };
        let mut kept = 0;
        for r in 0..lane.len() {
            let mut o = lane[r];
            let pool = match (trigger, o.side) {
                (Trigger::Quote { ask, .. }, Side::Buy) if ask <= o.limit => Some(&mut ask_pool),
                (Trigger::Quote { bid, .. }, Side::Sell) if bid >= o.limit => Some(&mut bid_pool),
                (Trigger::Trade { price, .. }, Side::Buy) if price < o.limit => Some(&mut trade_pool),
                (Trigger::Trade { price, .. }, Side::Sell) if price > o.limit => Some(&mut trade_pool),
                _ => None,
            };
            if let Some(pool) = pool {
                let qty = o.remaining().min(*pool);
                if qty.is_positive() {
                    // Both positive and qty ≤ each: neither subtraction nor the sum can overflow.
                    *pool = pool.checked_sub(qty).unwrap_or(Qty::ZERO);
                    o.filled = o.filled.checked_add(qty).unwrap_or(o.size);
                    let remaining = o.remaining();
                    let status = if remaining.is_zero() { Status::Completed } else { Status::Partial };
                    if fills.len() < fills.capacity() {
                        fills.push(TickFill {
                            order: o.id,
                            instrument: o.instrument,
                            side: o.side,
                            price: o.limit,
                            qty,
                            remaining,
                            status,
                            ts,
                        });
                    }
                }
            }
            if o.filled < o.size {
                lane[kept] = o;
                kept += 1;
            }
        }
        if let Some(len) = self.lens.get_mut(i) {
            // `kept ≤ n ≤ capacity ≤ u16::MAX`.
            *len = u16::try_from(kept).unwrap_or(*len);
        }
    }
}
