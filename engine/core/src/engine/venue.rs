//! The simulated venue of the tick engine: working orders per instrument, and the L1 fill rules
//! (stated with examples in [`crate::engine`]'s docs) applied to each market event.
//!
//! The venue acts at the venue's time: an order is working from the moment its request arrives,
//! fills are booked in the venue's own [`Ledger`] (which decides `Margin`), and every outcome is a
//! report put on the queue back to the engine, due one response latency later.

use kestrel_types::{InstrumentId, Payload, Price, Qty, Timestamp};

use super::latency::Fifo;
use super::ledger::Ledger;
use super::order::{Liquidity, OrderKind};
use crate::order::Side;
use crate::scheme::CommissionScheme;

/// A report from the venue about the order in `slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) slot: u32,
    pub(crate) kind: ReportKind,
}

/// What the venue reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReportKind {
    /// The order arrived and is working.
    Accepted,
    /// A fill.
    Fill {
        /// Quantity, positive.
        qty: Qty,
        /// Price.
        price: Price,
        /// Maker or taker.
        liquidity: Liquidity,
        /// When the venue filled it.
        venue_ts: Timestamp,
        /// The fee the venue reported (a live venue); `None`: the run's commission scheme.
        fee: Option<kestrel_types::Money>,
    },
    /// The cancel arrived while the order was working; it no longer is.
    Canceled,
    /// The cancel arrived after the order completed (or ended otherwise).
    CancelTooLate,
    /// A fill would have taken the venue's cash below zero; the order no longer works.
    Margin,
    /// Booking the fill overflowed the ledger's range; the order no longer works.
    Overflow,
    /// A live venue refused the order.
    Rejected,
}

/// The venue's state of one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VenueOrder {
    pub(crate) instrument: InstrumentId,
    pub(crate) side: Side,
    pub(crate) kind: OrderKind,
    pub(crate) remaining: Qty,
    /// A stop whose trigger was reached (always true for market and limit orders).
    pub(crate) triggered: bool,
    /// The order has met its first market event since it arrived (or since its stop triggered):
    /// a limit that crosses then takes at the touch; afterwards it rests and fills at its limit.
    pub(crate) evaluated: bool,
    /// Working at the venue (arrived, not done).
    pub(crate) working: bool,
}

impl VenueOrder {
    pub(crate) const EMPTY: Self = Self {
        instrument: InstrumentId(0),
        side: Side::Buy,
        kind: OrderKind::Market,
        remaining: Qty::ZERO,
        triggered: false,
        evaluated: false,
        working: false,
    };
}

/// What the market event offers, reduced to the L1 model.
#[derive(Clone, Copy, Debug)]
enum Offer {
    Quote { bid: Price, ask: Price },
    Trade { price: Price },
}

/// The venue: per-slot order state, each instrument's working orders in arrival order (priority),
/// and the venue's ledger.
#[derive(Debug)]
pub(crate) struct Venue {
    pub(crate) orders: Vec<VenueOrder>,
    lanes: Vec<u32>,
    lens: Vec<u16>,
    lane_capacity: usize,
    pub(crate) ledger: Ledger,
    scheme: CommissionScheme,
    optimistic: bool,
}

impl Venue {
    pub(crate) fn new(
        slots: usize,
        instruments: usize,
        lane_capacity: usize,
        ledger: Ledger,
        scheme: CommissionScheme,
        optimistic: bool,
    ) -> Self {
        Self {
            orders: vec![VenueOrder::EMPTY; slots],
            lanes: vec![0; instruments * lane_capacity],
            lens: vec![0; instruments],
            lane_capacity,
            ledger,
            scheme,
            optimistic,
        }
    }

    /// How many orders work on instrument index `i`: the fast-path test.
    #[inline]
    pub(crate) fn working(&self, i: usize) -> usize {
        self.lens.get(i).map_or(0, |n| usize::from(*n))
    }

    /// An order arrives: it works from now on. The engine reserved its lane place at submission,
    /// so there is room.
    pub(crate) fn arrive(
        &mut self,
        slot: u32,
        order: VenueOrder,
        replies: &mut Fifo<Report>,
        at: Timestamp,
    ) -> bool {
        let i = order.instrument.index();
        let n = self.working(i);
        let mut grew = false;
        if let (Some(o), Some(len)) = (self.orders.get_mut(slot as usize), self.lens.get_mut(i))
            && n < self.lane_capacity
        {
            *o = VenueOrder { working: true, ..order };
            self.lanes[i * self.lane_capacity + n] = slot;
            *len += 1;
            grew = replies.push(at, Report { slot, kind: ReportKind::Accepted });
        }
        grew
    }

    /// A cancel arrives: the order stops working if it still does.
    pub(crate) fn cancel(&mut self, slot: u32, replies: &mut Fifo<Report>, at: Timestamp) -> bool {
        let Some(o) = self.orders.get(slot as usize).copied() else { return false };
        let kind = if o.working {
            self.remove(o.instrument.index(), slot);
            ReportKind::Canceled
        } else {
            ReportKind::CancelTooLate
        };
        replies.push(at, Report { slot, kind })
    }

    fn remove(&mut self, i: usize, slot: u32) {
        let n = self.working(i);
        let start = i * self.lane_capacity;
        let lane = &mut self.lanes[start..start + n];
        if let Some(k) = lane.iter().position(|s| *s == slot) {
            lane.copy_within(k + 1.., k);
            self.lens[i] -= 1;
        }
        if let Some(o) = self.orders.get_mut(slot as usize) {
            o.working = false;
        }
    }

    /// Applies one market event of instrument index `i` to its working orders (the L1 rules);
    /// `quoted` says whether the instrument's data has quotes (then quotes drive market orders).
    /// Reports are due at `reply_at`; returns whether the report queue grew past its reserve.
    pub(crate) fn on_market(
        &mut self,
        i: usize,
        payload: &Payload,
        quoted: bool,
        now: Timestamp,
        reply_at: Timestamp,
        replies: &mut Fifo<Report>,
    ) -> bool {
        let (offer, mut bid_pool, mut ask_pool, mut trade_pool) = match *payload {
            Payload::Quote(q) => (Offer::Quote { bid: q.bid, ask: q.ask }, q.bid_size, q.ask_size, Qty::ZERO),
            Payload::Trade(t) => (Offer::Trade { price: t.price }, Qty::ZERO, Qty::ZERO, t.size),
            _ => return false,
        };
        let mut grew = false;
        let start = i * self.lane_capacity;
        let mut k = 0;
        while k < self.working(i) {
            let slot = self.lanes[start + k];
            let mut o = self.orders[slot as usize];
            let pool = match (offer, o.side) {
                (Offer::Quote { .. }, Side::Buy) => &mut ask_pool,
                (Offer::Quote { .. }, Side::Sell) => &mut bid_pool,
                (Offer::Trade { .. }, _) => &mut trade_pool,
            };
            let decision = decide(&mut o, offer, quoted, self.optimistic, pool.is_positive());
            self.orders[slot as usize] = o;
            let Some((price, liquidity)) = decision else {
                k += 1;
                continue;
            };
            let qty = o.remaining.min(*pool);
            // Both positive, qty ≤ each: the subtractions stay in range.
            *pool = pool.checked_sub(qty).unwrap_or(Qty::ZERO);
            let kind = match self.ledger.cash_after(&self.scheme, o.side, qty, price) {
                Ok(cash) if cash.is_negative() => Some(ReportKind::Margin),
                Ok(_) => match self.ledger.book(&self.scheme, o.instrument, o.side, qty, price, now, None) {
                    Ok(_) => None,
                    Err(_) => Some(ReportKind::Overflow),
                },
                Err(_) => Some(ReportKind::Overflow),
            };
            let report = match kind {
                Some(end) => end,
                None => {
                    o.remaining = o.remaining.checked_sub(qty).unwrap_or(Qty::ZERO);
                    self.orders[slot as usize].remaining = o.remaining;
                    ReportKind::Fill { qty, price, liquidity, venue_ts: now, fee: None }
                }
            };
            grew |= replies.push(reply_at, Report { slot, kind: report });
            if kind.is_some() || o.remaining.is_zero() {
                // Done: it leaves the lane and the next order moves into place `k`.
                self.remove(i, slot);
            } else {
                k += 1;
            }
        }
        grew
    }
}

/// The L1 rules for one order and one event: `Some((price, liquidity))` when it trades (the caller
/// sizes the fill from the pool), after updating its trigger and evaluation state.
fn decide(
    o: &mut VenueOrder,
    offer: Offer,
    quoted: bool,
    optimistic: bool,
    liquid: bool,
) -> Option<(Price, Liquidity)> {
    // The price this event shows on the side the order would trade against.
    let (touch, via_quote) = match offer {
        Offer::Quote { bid, ask } => (if o.side == Side::Buy { ask } else { bid }, true),
        Offer::Trade { price } => (price, false),
    };
    let buy = o.side == Side::Buy;
    // At or through `level` in the order's adverse direction (a buy pays up, a sell sells down).
    let reaches = |level: Price| if buy { touch >= level } else { touch <= level };
    let crosses = |limit: Price| if buy { touch <= limit } else { touch >= limit };
    if !o.triggered {
        let stop = match o.kind {
            OrderKind::Stop { stop } | OrderKind::StopLimit { stop, .. } => stop,
            OrderKind::Market | OrderKind::Limit { .. } => return None,
        };
        // A quote side with no size shows no price to trigger on.
        if (via_quote && !liquid) || !reaches(stop) {
            return None;
        }
        o.triggered = true;
        o.evaluated = false;
    }
    let limit = match o.kind {
        OrderKind::Market | OrderKind::Stop { .. } => None,
        OrderKind::Limit { limit } | OrderKind::StopLimit { limit, .. } => Some(limit),
    };
    if !liquid {
        return None;
    }
    match (limit, via_quote) {
        // Market orders take the touch: quotes when the data has them, else trades.
        (None, true) => {
            o.evaluated = true;
            Some((touch, Liquidity::Taker))
        }
        (None, false) if !quoted => {
            o.evaluated = true;
            Some((touch, Liquidity::Taker))
        }
        (None, false) => None,
        // A limit's first look at the market: marketable takes at the touch.
        (Some(limit), true) => {
            let fresh = !o.evaluated;
            o.evaluated = true;
            if !crosses(limit) {
                None
            } else if fresh {
                Some((touch, Liquidity::Taker))
            } else {
                Some((limit, Liquidity::Maker))
            }
        }
        (Some(limit), false) => {
            let fresh = !o.evaluated;
            if fresh && !quoted {
                // Trades only: the first print at or after arrival is the touch.
                o.evaluated = true;
                return crosses(limit).then_some((touch, Liquidity::Taker));
            }
            // A print through the limit fills it at the limit; at the limit only when optimistic.
            let through = if buy { touch < limit } else { touch > limit };
            let at = touch == limit && optimistic;
            if through || at {
                o.evaluated = true;
                Some((limit, Liquidity::Maker))
            } else {
                None
            }
        }
    }
}
