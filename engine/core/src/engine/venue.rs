//! The simulated venue of the tick engine: working orders per instrument, and the L1 fill rules
//! (stated with examples in [`crate::engine`]'s docs) applied to each market event.
//!
//! The venue acts at the venue's time: an order is working from the moment its request arrives,
//! fills are booked in the venue's own [`Ledger`] (which decides `Margin`), and every outcome is a
//! report put on the queue back to the engine, due one response latency later.

mod depth;

pub use depth::QueueModel;

use kestrel_types::{InstrumentId, Payload, Price, Qty, Timestamp};

use super::latency::Fifo;
use super::ledger::Ledger;
use super::order::{Liquidity, OrderKind, TimeInForce, UpdateReason};
use crate::order::{Side, Status};
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
        /// The fee: what the simulated venue booked (the engine books the same), or what a live
        /// venue reported; `None`: the run's commission scheme.
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
    /// The venue ended the order on its own terms (IOC remainder, FOK, post-only, reduce-only,
    /// GTD, a risk refusal), with the status and the reason.
    Ended {
        /// `Canceled`, `Expired` or `Rejected`.
        status: crate::order::Status,
        /// Why.
        reason: super::order::UpdateReason,
    },
    /// The amend was applied: the order's limit (unchanged when `None`) and size now.
    Replaced {
        /// The new limit.
        limit: Option<Price>,
        /// The new size.
        size: Qty,
    },
    /// The amend arrived after the order ended.
    AmendTooLate,
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
    /// How long it works, and its flags.
    pub(crate) tif: super::order::TimeInForce,
    pub(crate) post_only: bool,
    pub(crate) reduce_only: bool,
    /// Book-level matching: the order rests in the book with a queue position.
    pub(crate) rests: bool,
    /// The queue ahead of it at its price (book-level matching).
    pub(crate) ahead: Qty,
    /// Its level's size when last seen (market-by-price queue models).
    pub(crate) seen: Qty,
    /// Its time priority among a market-by-order book's orders.
    pub(crate) stamp: u64,
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
        tif: super::order::TimeInForce::Gtc,
        post_only: false,
        reduce_only: false,
        rests: false,
        ahead: Qty::ZERO,
        seen: Qty::ZERO,
        stamp: 0,
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
    /// Commission of fills that take liquidity, and of those that provide it.
    taker: CommissionScheme,
    maker: CommissionScheme,
    optimistic: bool,
    /// Book-level matching: liquidity taken per level ([`depth`]), the queue model and its draws.
    taken: Vec<depth::Taken>,
    taken_len: Vec<u8>,
    model: QueueModel,
    rng: u64,
}

/// How the simulated venue is set up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VenueSetup {
    pub(crate) slots: usize,
    pub(crate) instruments: usize,
    pub(crate) lane_capacity: usize,
    pub(crate) taker: CommissionScheme,
    pub(crate) maker: CommissionScheme,
    pub(crate) optimistic: bool,
    pub(crate) model: QueueModel,
}

impl Venue {
    pub(crate) fn new(setup: VenueSetup, ledger: Ledger) -> Self {
        let seed = match setup.model {
            QueueModel::Probabilistic { seed, .. } => seed,
            QueueModel::RiskAverse => 0,
        };
        Self {
            orders: vec![VenueOrder::EMPTY; setup.slots],
            lanes: vec![0; setup.instruments * setup.lane_capacity],
            lens: vec![0; setup.instruments],
            lane_capacity: setup.lane_capacity,
            ledger,
            taker: setup.taker,
            maker: setup.maker,
            optimistic: setup.optimistic,
            taken: vec![depth::Taken::EMPTY; setup.instruments * depth::TAKEN_PER_INSTRUMENT],
            taken_len: vec![0; setup.instruments],
            model: setup.model,
            // xorshift needs a non-zero state.
            rng: seed | 1 << 63,
        }
    }

    /// Books a fill in the venue's ledger unless it would take cash below zero (`Margin`) or out
    /// of range (`Overflow`). The commission is computed once, here, and travels with the fill
    /// report so the engine's ledger books the very same amount.
    pub(crate) fn book_fill(
        &mut self,
        o: VenueOrder,
        qty: Qty,
        price: Price,
        liquidity: Liquidity,
        now: Timestamp,
    ) -> (Option<kestrel_types::Money>, Result<(), ReportKind>) {
        let scheme = self.scheme(liquidity);
        let Ok(fee) = scheme.commission(qty, price) else { return (None, Err(ReportKind::Overflow)) };
        let booked = match self.ledger.cash_after(fee, o.side, qty, price) {
            Ok(cash) if cash.is_negative() => Err(ReportKind::Margin),
            Ok(_) => match self.ledger.book(&scheme, o.instrument, o.side, qty, price, now, Some(fee)) {
                Ok(_) => Ok(()),
                Err(_) => Err(ReportKind::Overflow),
            },
            Err(_) => Err(ReportKind::Overflow),
        };
        (Some(fee), booked)
    }

    /// The commission scheme of a fill with this liquidity.
    #[inline]
    pub(crate) fn scheme(&self, liquidity: Liquidity) -> CommissionScheme {
        match liquidity {
            Liquidity::Maker => self.maker,
            Liquidity::Taker => self.taker,
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

    /// An amend arrives: a working order takes the new limit and size; a new price or a larger
    /// size sends it to the back of its lane (priority lost), a smaller size keeps its place.
    pub(crate) fn amend(
        &mut self,
        slot: u32,
        limit: Option<Price>,
        size: Qty,
        original: Qty,
        replies: &mut Fifo<Report>,
        at: Timestamp,
    ) -> bool {
        let Some(o) = self.orders.get(slot as usize).copied() else { return false };
        if !o.working {
            return replies.push(at, Report { slot, kind: ReportKind::AmendTooLate });
        }
        let filled = original.checked_sub(o.remaining).unwrap_or(Qty::ZERO);
        let old_limit = match o.kind {
            OrderKind::Limit { limit } | OrderKind::StopLimit { limit, .. } => Some(limit),
            OrderKind::Market | OrderKind::Stop { .. } => None,
        };
        let kind = match (o.kind, limit) {
            (OrderKind::Limit { .. }, Some(l)) => OrderKind::Limit { limit: l },
            (OrderKind::StopLimit { stop, .. }, Some(l)) => OrderKind::StopLimit { stop, limit: l },
            (k, _) => k,
        };
        let repriced = limit.is_some() && limit != old_limit;
        let remaining = size.checked_sub(filled).unwrap_or(Qty::ZERO);
        let grew = remaining > o.remaining;
        if let Some(v) = self.orders.get_mut(slot as usize) {
            v.kind = kind;
            v.remaining = remaining;
            // Book-level matching measures its queue again, at the back.
            v.rests &= !(repriced || grew);
        }
        if repriced || grew {
            // Priority lost: to the back of the lane.
            let i = o.instrument.index();
            let n = self.working(i);
            let start = i * self.lane_capacity;
            let lane = &mut self.lanes[start..start + n];
            if let Some(k) = lane.iter().position(|s| *s == slot) {
                lane[k..].rotate_left(1);
            }
        }
        if remaining.is_zero() {
            // Amended down to what had filled meanwhile: done.
            self.remove(o.instrument.index(), slot);
        }
        replies.push(at, Report { slot, kind: ReportKind::Replaced { limit, size } })
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
        let (bid_shown, ask_shown) = (bid_pool.is_positive(), ask_pool.is_positive());
        let mut grew = false;
        let start = i * self.lane_capacity;
        let mut k = 0;
        while k < self.working(i) {
            let slot = self.lanes[start + k];
            let mut o = self.orders[slot as usize];
            if self.expire(i, slot, now, reply_at, replies, &mut grew) {
                continue;
            }
            let (pool, shown) = match (offer, o.side) {
                (Offer::Quote { .. }, Side::Buy) => (&mut ask_pool, ask_shown),
                (Offer::Quote { .. }, Side::Sell) => (&mut bid_pool, bid_shown),
                (Offer::Trade { .. }, _) => (&mut trade_pool, true),
            };
            let fresh = !o.evaluated;
            let decision = decide(&mut o, offer, quoted, self.optimistic, shown, pool.is_positive());
            self.orders[slot as usize] = o;
            // Its first look at the market: what the time in force and the flags say about it.
            let first_look = fresh && o.evaluated;
            let ended = |reason, status| Some(ReportKind::Ended { status, reason });
            let mut end = match (decision, first_look) {
                (Some((_, Liquidity::Taker)), true) if o.post_only => {
                    ended(UpdateReason::PostOnlyWouldTake, Status::Rejected)
                }
                (Some(_), true) if o.tif == TimeInForce::Fok && *pool < o.remaining => {
                    ended(UpdateReason::FokUnfilled, Status::Canceled)
                }
                (None, true) if o.tif == TimeInForce::Fok => {
                    ended(UpdateReason::FokUnfilled, Status::Canceled)
                }
                (None, true) if o.tif == TimeInForce::Ioc => {
                    ended(UpdateReason::IocRemainder, Status::Canceled)
                }
                _ => None,
            };
            let mut filled_now = false;
            if let (None, Some((price, liquidity))) = (end, decision) {
                let mut qty = o.remaining.min(*pool);
                if o.reduce_only {
                    // At most what brings the venue's position to zero.
                    let pos = self.ledger.position(o.instrument).size();
                    let room = match o.side {
                        Side::Buy => (-pos).max(Qty::ZERO),
                        Side::Sell => pos.max(Qty::ZERO),
                    };
                    qty = qty.min(room);
                }
                if qty.is_positive() {
                    // Both positive, qty ≤ each: the subtractions stay in range.
                    *pool = pool.checked_sub(qty).unwrap_or(Qty::ZERO);
                    let (fee, booked) = self.book_fill(o, qty, price, liquidity, now);
                    end = booked.err();
                    if end.is_none() {
                        o.remaining = o.remaining.checked_sub(qty).unwrap_or(Qty::ZERO);
                        self.orders[slot as usize].remaining = o.remaining;
                        let fill = ReportKind::Fill { qty, price, liquidity, venue_ts: now, fee };
                        grew |= replies.push(reply_at, Report { slot, kind: fill });
                        filled_now = true;
                    }
                }
                if end.is_none() && !o.remaining.is_zero() {
                    // The rest of an IOC after its first look, or of a reduce-only order with
                    // nothing left to reduce, is canceled.
                    let flat = o.reduce_only && self.reduce_room(&o).is_zero();
                    end = if first_look && o.tif == TimeInForce::Ioc {
                        ended(UpdateReason::IocRemainder, Status::Canceled)
                    } else if flat {
                        ended(UpdateReason::ReduceOnly, Status::Canceled)
                    } else {
                        None
                    };
                }
            }
            if let Some(kind) = end {
                grew |= replies.push(reply_at, Report { slot, kind });
            }
            if end.is_some() || (filled_now && o.remaining.is_zero()) {
                // Done: it leaves the lane and the next order moves into place `k`.
                self.remove(i, slot);
            } else {
                k += 1;
            }
        }
        grew
    }
}

impl Venue {
    /// A good-till-date order past its date no longer works: it ends `Expired` and leaves the lane
    /// (returns whether it did).
    pub(crate) fn expire(
        &mut self,
        i: usize,
        slot: u32,
        now: Timestamp,
        reply_at: Timestamp,
        replies: &mut Fifo<Report>,
        grew: &mut bool,
    ) -> bool {
        let TimeInForce::Gtd(t) = self.orders[slot as usize].tif else { return false };
        if t > now {
            return false;
        }
        let kind = ReportKind::Ended { status: Status::Expired, reason: UpdateReason::GtdExpired };
        *grew |= replies.push(reply_at, Report { slot, kind });
        self.remove(i, slot);
        true
    }

    /// What a reduce-only order may still fill: the venue's position on its closing side.
    fn reduce_room(&self, o: &VenueOrder) -> Qty {
        let pos = self.ledger.position(o.instrument).size();
        match o.side {
            Side::Buy => (-pos).max(Qty::ZERO),
            Side::Sell => pos.max(Qty::ZERO),
        }
    }
}

/// The L1 rules for one order and one event: `Some((price, liquidity))` when it trades (the caller
/// sizes the fill from the pool), after updating its trigger and evaluation state.
fn decide(
    o: &mut VenueOrder,
    offer: Offer,
    quoted: bool,
    optimistic: bool,
    shown: bool,
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
        if !shown || !reaches(stop) {
            return None;
        }
        o.triggered = true;
        o.evaluated = false;
    }
    let limit = match o.kind {
        OrderKind::Market | OrderKind::Stop { .. } => None,
        OrderKind::Limit { limit } | OrderKind::StopLimit { limit, .. } => Some(limit),
    };
    // A quote side the venue showed empty is no look at the market; one our earlier orders took
    // in this event is (the order saw it, nothing was left).
    if !shown {
        return None;
    }
    let decided = match (limit, via_quote) {
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
                return crosses(limit).then_some((touch, Liquidity::Taker)).filter(|_| liquid);
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
    };
    decided.filter(|_| liquid)
}
