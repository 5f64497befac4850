//! Book-level matching: the simulated venue of an instrument that has a book (market-by-price
//! rebuilt from level updates, or market-by-order), in place of the L1 rules.
//!
//! # Taking
//! A market order, or a limit that crosses the opposite side at its first look, walks the
//! opposite side's levels best first, filling at each level's price as taker, up to its limit.
//! **Liquidity is taken once**: what our orders took at a level is remembered until the feed next
//! updates that level (a level update, or a market-by-order record at that price), so the same
//! level cannot fill twice in between. Example: asks 100.5 × 2, 100.6 × 3; buy 4 → 2 at 100.5 and
//! 2 at 100.6; a second buy 4 before the feed changes those levels → 1 at 100.6.
//! A market order that empties the book keeps working and takes from later events; IOC cancels
//! its remainder; FOK fills only if the crossing levels hold its whole size; post-only is rejected
//! if its first look would take.
//!
//! # Resting, and the queue ahead
//! A limit that does not (or no longer) cross rests at its price **behind the visible queue**:
//! `ahead` is the level's size when it joined (zero with the `optimistic` option: "we were first").
//! - A trade print at its price works off `ahead` first; what is left of the print fills it
//!   (maker, at its limit). Example: ahead 5, trade 7 at our price → 2 fill us.
//! - A print through its price (a sell below our buy) fills it at its limit up to the print's size.
//! - The opposite side moving through its price (asks at or below our buy) fills it at its limit,
//!   up to those levels' sizes (taken once, as above).
//! - A level that shrinks without a trade lost cancels. Where they were is what the
//!   [`QueueModel`] decides for market-by-price data; market-by-order data says exactly: the size
//!   ahead is that of the orders that joined the level before ours ([`L3Book::size_before`]), so a
//!   cancel behind us changes nothing and one ahead moves us up.
//!
//! Our orders are not in the feed's book, so two of ours at one price each count only the feed's
//! queue; the prints they share are shared (a print fills our orders at most its size in all).
//! Self-matching between our own orders is not modelled.
//!
//! # Stops and amends
//! Stops trigger on a print at or through the stop, or when the opposite best reaches it, then
//! take their first look at that event. An amend that loses priority (new price, larger size)
//! sends the order to the back: its queue is measured again at the next event, and a new price
//! that crosses takes.

use fixed::types::U32F32;
use kestrel_types::{Aggressor, BookSide, Payload, Price, Qty, Timestamp, Trade};

use super::super::latency::Fifo;
use super::super::order::{Liquidity, OrderKind, TimeInForce, UpdateReason};
use super::{Report, ReportKind, Venue, VenueOrder};
use crate::book::reference::RefL2Book;
use crate::book::{Depth, L2Book, L3Book, Level};
use crate::order::{Side, Status};

/// How a market-by-price book's queue ahead of a resting order moves when its level shrinks
/// without a trade (a cancel in the feed). Market-by-order books need no model: they know.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueModel {
    /// Cancels come from behind us: the queue ahead only shrinks by trades, or when the whole
    /// level falls below it. The pessimistic estimate.
    #[default]
    RiskAverse,
    /// A cancel of `d` came from ahead of us with probability `f(a) / (f(a) + f(b))`, where `a`
    /// and `b` are the fractions of the level ahead of and behind us and `f(x) = x^power`
    /// (`power` 1: every unit equally likely to cancel; larger: cancels cluster at the back's or
    /// the front's larger share), decided by a draw from a generator seeded with `seed`, in
    /// `fixed`-point arithmetic: the same data and seed give the same fills.
    Probabilistic {
        /// The exponent (1 to 8; out-of-range values are clamped).
        power: u8,
        /// The generator's seed.
        seed: u64,
    },
}

/// What the book-level matcher reads from a book.
pub(crate) trait BookView {
    /// Levels of one side, best first.
    type Levels<'a>: Iterator<Item = (Price, Qty)>
    where
        Self: 'a;
    /// The best level of `side`.
    fn best(&self, side: BookSide) -> Option<(Price, Qty)>;
    /// The size at `price` on `side`.
    fn level(&self, side: BookSide, price: Price) -> Qty;
    /// The levels of `side`, best first.
    fn levels(&self, side: BookSide) -> Self::Levels<'_>;
    /// Whether a snapshot is under way (the book is partial: nobody acts on it).
    fn in_snapshot(&self) -> bool;
    /// The priority an order joining a level now gets (market-by-order books).
    fn stamp(&self) -> u64 {
        0
    }
    /// The exact size ahead of `stamp` at a level (market-by-order books); `None`: unknown.
    fn size_before(&self, _side: BookSide, _price: Price, _stamp: u64) -> Option<Qty> {
        None
    }
}

fn level_pair(l: Level) -> (Price, Qty) {
    (l.price, l.size)
}

impl BookView for L2Book {
    type Levels<'a> = core::iter::Map<Depth<'a>, fn(Level) -> (Price, Qty)>;
    #[inline]
    fn best(&self, side: BookSide) -> Option<(Price, Qty)> {
        L2Book::best(self, side)
    }
    #[inline]
    fn level(&self, side: BookSide, price: Price) -> Qty {
        L2Book::level(self, side, price)
    }
    fn levels(&self, side: BookSide) -> Self::Levels<'_> {
        self.depth(side, usize::MAX).map(level_pair as fn(Level) -> (Price, Qty))
    }
    #[inline]
    fn in_snapshot(&self) -> bool {
        L2Book::in_snapshot(self)
    }
}

impl BookView for L3Book {
    type Levels<'a> = core::iter::Map<Depth<'a>, fn(Level) -> (Price, Qty)>;
    #[inline]
    fn best(&self, side: BookSide) -> Option<(Price, Qty)> {
        L3Book::best(self, side)
    }
    #[inline]
    fn level(&self, side: BookSide, price: Price) -> Qty {
        L3Book::level(self, side, price)
    }
    fn levels(&self, side: BookSide) -> Self::Levels<'_> {
        self.depth(side, usize::MAX).map(level_pair as fn(Level) -> (Price, Qty))
    }
    #[inline]
    fn in_snapshot(&self) -> bool {
        L3Book::in_snapshot(self)
    }
    fn stamp(&self) -> u64 {
        L3Book::stamp(self)
    }
    fn size_before(&self, side: BookSide, price: Price, stamp: u64) -> Option<Qty> {
        Some(L3Book::size_before(self, side, price, stamp))
    }
}

/// The naive `BTreeMap` book, so the matcher can run on it in the property tests (and agree with
/// itself on the fast book).
impl BookView for RefL2Book {
    type Levels<'a> = std::iter::Map<std::vec::IntoIter<Level>, fn(Level) -> (Price, Qty)>;
    fn best(&self, side: BookSide) -> Option<(Price, Qty)> {
        RefL2Book::best(self, side)
    }
    fn level(&self, side: BookSide, price: Price) -> Qty {
        RefL2Book::level(self, side, price)
    }
    fn levels(&self, side: BookSide) -> Self::Levels<'_> {
        RefL2Book::levels(self, side).into_iter().map(level_pair as fn(Level) -> (Price, Qty))
    }
    fn in_snapshot(&self) -> bool {
        RefL2Book::in_snapshot(self)
    }
}

/// Liquidity our orders took at one level since the feed last updated it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Taken {
    side: BookSide,
    price: Price,
    qty: Qty,
}

impl Taken {
    pub(super) const EMPTY: Self = Self { side: BookSide::Bid, price: Price::ZERO, qty: Qty::ZERO };
}

/// Levels per instrument whose taken liquidity is remembered at once: a sweep deeper than this in
/// one burst of events stops there (conservative: fewer fills, never a level filled twice).
pub(super) const TAKEN_PER_INSTRUMENT: usize = 64;

/// `a − b`, floored at zero.
#[inline]
fn less(a: Qty, b: Qty) -> Qty {
    a.checked_sub(b).unwrap_or(Qty::ZERO).max(Qty::ZERO)
}

/// The book side an order of `side` rests on, and the one it takes from.
#[inline]
fn sides(side: Side) -> (BookSide, BookSide) {
    match side {
        Side::Buy => (BookSide::Bid, BookSide::Ask),
        Side::Sell => (BookSide::Ask, BookSide::Bid),
    }
}

/// Whether a level at `price` is within an order's `limit` (a buy pays at most, a sell sells at
/// least); a market order takes any.
#[inline]
fn within(side: Side, limit: Option<Price>, price: Price) -> bool {
    match (limit, side) {
        (None, _) => true,
        (Some(l), Side::Buy) => price <= l,
        (Some(l), Side::Sell) => price >= l,
    }
}

/// The limit of an order that has one.
#[inline]
fn limit_of(kind: OrderKind) -> Option<Price> {
    match kind {
        OrderKind::Limit { limit } | OrderKind::StopLimit { limit, .. } => Some(limit),
        OrderKind::Market | OrderKind::Stop { .. } => None,
    }
}

/// `f(a) / (f(a) + f(b))` with `f(x) = x^power`, `a` and `b` the fractions of `ahead + behind`.
fn share_ahead(ahead: Qty, behind: Qty, power: u8) -> U32F32 {
    let total = i128::from(ahead.raw()) + i128::from(behind.raw());
    if total <= 0 {
        return U32F32::ZERO;
    }
    // A fraction in [0, 1] on 32 fractional bits: exact to 2^-32.
    let a = U32F32::from_bits(((i128::from(ahead.raw().max(0)) << 32) / total) as u64);
    let b = U32F32::ONE.saturating_sub(a);
    let (mut fa, mut fb) = (U32F32::ONE, U32F32::ONE);
    for _ in 0..power.clamp(1, 8) {
        fa = fa.saturating_mul(a);
        fb = fb.saturating_mul(b);
    }
    // Both fractions sum to one, so the larger is at least 1/2 and the sum at least 2^-8.
    let sum = fa.saturating_add(fb);
    if sum == U32F32::ZERO { U32F32::ZERO } else { fa / sum }
}

impl Venue {
    /// Applies one event of instrument index `i` to its working orders against `book` (the
    /// event already applied to it). Reports are due at `reply_at`; returns whether the report
    /// queue grew past its reserve.
    pub(crate) fn on_book<B: BookView>(
        &mut self,
        i: usize,
        payload: &Payload,
        book: &B,
        now: Timestamp,
        reply_at: Timestamp,
        replies: &mut Fifo<Report>,
    ) -> bool {
        if book.in_snapshot() {
            return false;
        }
        match *payload {
            Payload::Level(u) => {
                self.forget(i, Some((u.side, u.price)));
                self.requeue(i, book, u.side, Some(u.price));
            }
            Payload::Order(o) => {
                self.forget(i, Some((o.side, o.price)));
                self.requeue(i, book, o.side, None);
            }
            Payload::BookClear | Payload::SnapshotEnd => {
                self.forget(i, None);
                self.requeue(i, book, BookSide::Bid, None);
                self.requeue(i, book, BookSide::Ask, None);
            }
            _ => {}
        }
        let mut grew = false;
        if let Payload::Trade(t) = *payload {
            grew |= self.on_print(i, &t, now, reply_at, replies);
        }
        let print = if let Payload::Trade(t) = *payload { Some(t.price) } else { None };
        grew | self.look(i, print, book, now, reply_at, replies)
    }

    /// The feed changed `side` (at `price` only, when given): each resting order there measures
    /// its queue ahead again.
    fn requeue<B: BookView>(&mut self, i: usize, book: &B, side: BookSide, price: Option<Price>) {
        let start = i * self.lane_capacity;
        for k in 0..self.working(i) {
            let slot = self.lanes[start + k] as usize;
            let o = self.orders[slot];
            let Some(limit) = limit_of(o.kind).filter(|_| o.rests) else { continue };
            if sides(o.side).0 != side || price.is_some_and(|p| p != limit) {
                continue;
            }
            let level = book.level(side, limit);
            let ahead = match book.size_before(side, limit, o.stamp) {
                Some(exact) => o.ahead.min(exact),
                None => self.estimate(o.ahead, o.seen, level),
            };
            self.orders[slot].ahead = ahead;
            self.orders[slot].seen = level;
        }
    }

    /// The queue ahead after a market-by-price level went from `seen` to `level` (trades already
    /// taken off both), by the queue model.
    fn estimate(&mut self, ahead: Qty, seen: Qty, level: Qty) -> Qty {
        let QueueModel::Probabilistic { power, .. } = self.model else { return ahead.min(level) };
        if level >= seen || ahead.is_zero() {
            return ahead.min(level);
        }
        let cut = less(seen, level);
        let behind = less(seen, ahead);
        let from_ahead = if self.draw() < share_ahead(ahead, behind, power) {
            cut.min(ahead)
        } else {
            // From behind; what behind us cannot cover came from ahead.
            less(cut, behind).min(ahead)
        };
        less(ahead, from_ahead).min(level)
    }

    /// A uniform draw in `[0, 1)` (xorshift64*: small, seeded, the same on every machine).
    fn draw(&mut self) -> U32F32 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        U32F32::from_bits(x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32)
    }

    /// A trade print meets the resting orders it reaches (module docs).
    fn on_print(
        &mut self,
        i: usize,
        t: &Trade,
        now: Timestamp,
        reply_at: Timestamp,
        replies: &mut Fifo<Report>,
    ) -> bool {
        let mut grew = false;
        // What our orders took from this print so far: it fills them at most its size in all.
        let mut ours = Qty::ZERO;
        let start = i * self.lane_capacity;
        let mut k = 0;
        while k < self.working(i) {
            let slot = self.lanes[start + k];
            let mut o = self.orders[slot as usize];
            let limit = limit_of(o.kind).filter(|_| o.rests);
            let hit = match t.aggressor {
                Aggressor::Buy => o.side == Side::Sell,
                Aggressor::Sell => o.side == Side::Buy,
                Aggressor::Unknown => true,
            };
            let Some(limit) = limit.filter(|_| hit) else {
                k += 1;
                continue;
            };
            let through = match o.side {
                Side::Buy => t.price < limit,
                Side::Sell => t.price > limit,
            };
            let at = t.price == limit;
            if !(through || at) {
                k += 1;
                continue;
            }
            let pool = less(t.size, ours);
            let room = if through { pool } else { less(pool, o.ahead) };
            if at {
                // The print worked off the queue ahead, and explains that much of the level's
                // next decrease.
                o.ahead = less(o.ahead, t.size);
                o.seen = less(o.seen, t.size);
                self.orders[slot as usize] = o;
            }
            let (filled, end) =
                self.execute(slot, room, limit, Liquidity::Maker, now, reply_at, replies, &mut grew);
            ours = ours.checked_add(filled).unwrap_or(t.size);
            if self.settle(i, slot, end, reply_at, replies, &mut grew) {
                continue;
            }
            k += 1;
        }
        grew
    }

    /// Every working order looks at the book after the event: expiries, stop triggers, first
    /// looks (take, then rest), resting orders the opposite side moved through, market remainders.
    fn look<B: BookView>(
        &mut self,
        i: usize,
        print: Option<Price>,
        book: &B,
        now: Timestamp,
        reply_at: Timestamp,
        replies: &mut Fifo<Report>,
    ) -> bool {
        let mut grew = false;
        let start = i * self.lane_capacity;
        let mut k = 0;
        while k < self.working(i) {
            let slot = self.lanes[start + k];
            let mut o = self.orders[slot as usize];
            if self.expire(i, slot, now, reply_at, replies, &mut grew) {
                continue;
            }
            let (_, opposite) = sides(o.side);
            let best = book.best(opposite).map(|(p, _)| p);
            let buy = o.side == Side::Buy;
            if !o.triggered {
                let stop = match o.kind {
                    OrderKind::Stop { stop } | OrderKind::StopLimit { stop, .. } => stop,
                    OrderKind::Market | OrderKind::Limit { .. } => Price::ZERO,
                };
                let reaches = |p: Price| if buy { p >= stop } else { p <= stop };
                if !(print.is_some_and(reaches) || best.is_some_and(reaches)) {
                    k += 1;
                    continue;
                }
                o.triggered = true;
                o.evaluated = false;
                self.orders[slot as usize] = o;
            }
            let limit = limit_of(o.kind);
            let marketable = best.is_some_and(|p| within(o.side, limit, p));
            let mut end = None;
            let mut tried = false;
            if !o.evaluated {
                // A market order's first look needs something to take.
                if limit.is_none() && best.is_none() {
                    k += 1;
                    continue;
                }
                self.orders[slot as usize].evaluated = true;
                if o.post_only && marketable {
                    end = Some(ReportKind::Ended {
                        status: Status::Rejected,
                        reason: UpdateReason::PostOnlyWouldTake,
                    });
                } else if o.tif == TimeInForce::Fok && self.available(i, book, &o, limit) < o.remaining {
                    end = Some(ReportKind::Ended {
                        status: Status::Canceled,
                        reason: UpdateReason::FokUnfilled,
                    });
                } else {
                    if marketable {
                        tried = true;
                        end = self.sweep(i, slot, book, limit, None, now, reply_at, replies, &mut grew);
                    }
                    let left = self.orders[slot as usize].remaining;
                    if end.is_none() && left.is_positive() {
                        if o.tif == TimeInForce::Ioc {
                            end = Some(ReportKind::Ended {
                                status: Status::Canceled,
                                reason: UpdateReason::IocRemainder,
                            });
                        } else if limit.is_some() {
                            self.rest(slot, book);
                        }
                    }
                }
            } else if limit.is_some() && !o.rests {
                // Back of the queue after an amend: a new price that crosses takes, else it rests.
                if marketable {
                    tried = true;
                    end = self.sweep(i, slot, book, limit, None, now, reply_at, replies, &mut grew);
                }
                if end.is_none() && self.orders[slot as usize].remaining.is_positive() {
                    self.rest(slot, book);
                }
            } else if marketable {
                // A resting limit the opposite side moved through fills at its limit (maker); a
                // market order's remainder takes what the book shows now.
                tried = true;
                let maker = limit.filter(|_| o.rests);
                end = self.sweep(i, slot, book, limit, maker, now, reply_at, replies, &mut grew);
            }
            let o = self.orders[slot as usize];
            if end.is_none()
                && tried
                && o.remaining.is_positive()
                && o.reduce_only
                && self.reduce_room(&o).is_zero()
            {
                end = Some(ReportKind::Ended { status: Status::Canceled, reason: UpdateReason::ReduceOnly });
            }
            if self.settle(i, slot, end, reply_at, replies, &mut grew) {
                continue;
            }
            k += 1;
        }
        grew
    }

    /// The order joins the back of its level's visible queue.
    fn rest<B: BookView>(&mut self, slot: u32, book: &B) {
        let o = &mut self.orders[slot as usize];
        let Some(limit) = limit_of(o.kind) else { return };
        let level = book.level(sides(o.side).0, limit);
        o.rests = true;
        o.ahead = if self.optimistic { Qty::ZERO } else { level };
        o.seen = level;
        o.stamp = book.stamp();
    }

    /// What the opposite side offers within the order's limit, not yet taken (FOK's test): at
    /// least `o.remaining` stops the count.
    fn available<B: BookView>(&self, i: usize, book: &B, o: &VenueOrder, limit: Option<Price>) -> Qty {
        let (_, side) = sides(o.side);
        let mut total = Qty::ZERO;
        for (price, size) in book.levels(side) {
            if !within(o.side, limit, price) || total >= o.remaining {
                break;
            }
            total = total.checked_add(less(size, self.taken(i, side, price))).unwrap_or(Qty::MAX);
        }
        total
    }

    /// Walks the opposite side best first within `limit`, filling at each level's price (taker),
    /// or at `maker` (a resting order the book moved through), taking each level's liquidity
    /// once. Returns the end report if a fill could not be made (cash, range).
    #[allow(clippy::too_many_arguments)]
    fn sweep<B: BookView>(
        &mut self,
        i: usize,
        slot: u32,
        book: &B,
        limit: Option<Price>,
        maker: Option<Price>,
        now: Timestamp,
        reply_at: Timestamp,
        replies: &mut Fifo<Report>,
        grew: &mut bool,
    ) -> Option<ReportKind> {
        let side = self.orders[slot as usize].side;
        let (_, from) = sides(side);
        let liquidity = if maker.is_some() { Liquidity::Maker } else { Liquidity::Taker };
        for (price, size) in book.levels(from) {
            let left = self.orders[slot as usize].remaining;
            if left.is_zero() || !within(side, limit, price) {
                break;
            }
            let room = less(size, self.taken(i, from, price));
            if room.is_zero() {
                continue;
            }
            if !self.can_take(i, from, price) {
                break;
            }
            let want = left.min(room);
            let at = maker.unwrap_or(price);
            let (filled, end) = self.execute(slot, want, at, liquidity, now, reply_at, replies, grew);
            self.take(i, from, price, filled);
            if end.is_some() {
                return end;
            }
            if filled < want {
                // Reduce-only: nothing more to reduce.
                break;
            }
        }
        None
    }

    /// Books a fill of up to `want` of order `slot` at `price` (capped by what a reduce-only order
    /// may still reduce; checked against the venue's cash) and reports it. Returns what filled and
    /// the end report when the fill could not be made.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn execute(
        &mut self,
        slot: u32,
        want: Qty,
        price: Price,
        liquidity: Liquidity,
        now: Timestamp,
        reply_at: Timestamp,
        replies: &mut Fifo<Report>,
        grew: &mut bool,
    ) -> (Qty, Option<ReportKind>) {
        let o = self.orders[slot as usize];
        let mut qty = want.min(o.remaining);
        if o.reduce_only {
            qty = qty.min(self.reduce_room(&o));
        }
        if !qty.is_positive() {
            return (Qty::ZERO, None);
        }
        let (fee, booked) = self.book_fill(o, qty, price, liquidity, now);
        if let Err(end) = booked {
            return (Qty::ZERO, Some(end));
        }
        // `qty ≤ remaining`, both positive.
        self.orders[slot as usize].remaining = less(o.remaining, qty);
        let fill = ReportKind::Fill { qty, price, liquidity, venue_ts: now, fee };
        *grew |= replies.push(reply_at, Report { slot, kind: fill });
        (qty, None)
    }

    /// Sends `end` if any and takes the order out of the lane when it ended or filled; returns
    /// whether it left (the next order then sits at the same place).
    fn settle(
        &mut self,
        i: usize,
        slot: u32,
        end: Option<ReportKind>,
        reply_at: Timestamp,
        replies: &mut Fifo<Report>,
        grew: &mut bool,
    ) -> bool {
        if let Some(kind) = end {
            *grew |= replies.push(reply_at, Report { slot, kind });
        }
        let done = end.is_some() || self.orders[slot as usize].remaining.is_zero();
        if done {
            self.remove(i, slot);
        }
        done
    }

    /// What our orders took at a level since the feed last updated it.
    fn taken(&self, i: usize, side: BookSide, price: Price) -> Qty {
        let start = i * TAKEN_PER_INSTRUMENT;
        let n = usize::from(self.taken_len[i]);
        self.taken[start..start + n]
            .iter()
            .find(|t| t.side == side && t.price == price)
            .map_or(Qty::ZERO, |t| t.qty)
    }

    /// Whether a fill at this level can be remembered (the level is known, or there is room).
    fn can_take(&self, i: usize, side: BookSide, price: Price) -> bool {
        usize::from(self.taken_len[i]) < TAKEN_PER_INSTRUMENT || self.taken(i, side, price).is_positive()
    }

    /// Remembers `qty` more taken at a level.
    fn take(&mut self, i: usize, side: BookSide, price: Price, qty: Qty) {
        if !qty.is_positive() {
            return;
        }
        let start = i * TAKEN_PER_INSTRUMENT;
        let n = usize::from(self.taken_len[i]);
        let entries = &mut self.taken[start..start + TAKEN_PER_INSTRUMENT];
        if let Some(t) = entries[..n].iter_mut().find(|t| t.side == side && t.price == price) {
            t.qty = t.qty.checked_add(qty).unwrap_or(Qty::MAX);
        } else if n < TAKEN_PER_INSTRUMENT {
            entries[n] = Taken { side, price, qty };
            self.taken_len[i] += 1;
        }
    }

    /// The feed updated a level (or, `None`, the whole book): what we took there is forgotten.
    #[inline]
    fn forget(&mut self, i: usize, level: Option<(BookSide, Price)>) {
        let n = usize::from(self.taken_len[i]);
        if n == 0 {
            return;
        }
        let Some((side, price)) = level else {
            self.taken_len[i] = 0;
            return;
        };
        let start = i * TAKEN_PER_INSTRUMENT;
        let entries = &mut self.taken[start..start + n];
        if let Some(k) = entries.iter().position(|t| t.side == side && t.price == price) {
            entries.swap(k, n - 1);
            self.taken_len[i] -= 1;
        }
    }
}
