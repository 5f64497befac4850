//! The tick engine: strategies on trades, quotes and timers, orders sent through a latency model to
//! a simulated venue that fills them by the L1 rules below, and a cash account. [`Engine::on_event`]
//! is the one entry point, the same for the replayer reading tick files and for a live runtime
//! draining its rings (ARCHITECTURE.md §1, §6, §7).
//!
//! # One event, in order
//! 1. **due messages**: timers, requests reaching the venue and venue reports reaching the engine
//!    whose time is at or before the event's `ts_recv`, earliest first (ties: venue, then reports,
//!    then timers). Reports update the order and the engine's [`Ledger`] and call the strategy
//!    ([`TickStrategy::on_fill`], [`TickStrategy::on_order`]); timers call
//!    [`TickStrategy::on_timer`]. The engine's time during each is the message's due time.
//! 2. **market state**: the instrument's [`MarketState`] takes the event.
//! 3. **venue**: the instrument's working orders meet the event (the fill rules below); reports are
//!    due one response latency later, and with zero latency they are delivered at once (step 1
//!    again).
//! 4. **strategy**: [`TickStrategy::on_event`] (by default the typed callback), then
//!    [`TickStrategy::on_book`] if the top of the book changed. Orders sent here reach the venue
//!    one entry latency later, so they meet the market from the next event on, never this one.
//!
//! # Time and latency
//! The engine's time is the events' `ts_recv`, and never goes back: an event older than the
//! engine's time is processed at the engine's time. Latency is constant in each direction, in
//! simulated time ([`Latency`]): nothing sleeps.
//!
//! # Book-level matching
//! An instrument whose data rebuilds a book ([`EngineConfig::books`]: market-by-price from level
//! updates and snapshots, market-by-order from order records) is matched against that book
//! instead of by the L1 rules below: sweeps walk the levels taking each level's liquidity once,
//! limits rest behind the visible queue, prints work off the queue ahead, and cancels move it by
//! the [`QueueModel`] (market-by-price) or exactly (market-by-order). Maker fills pay
//! [`EngineConfig::maker_scheme`]. The rules, with examples: `venue/depth.rs`.
//!
//! # The L1 fill rules
//! Quote and trade data only: the top of the book and the trade prints are known. Quotes drive fills when the data has
//! them (the instrument has had a quote), trades otherwise. "Touch" is the ask for a buy, the bid
//! for a sell. Each event's liquidity is taken once: all of our orders together never fill more
//! than the quote's size on that side, or the trade's size; orders fill in arrival order.
//! - **Market order**: fills at the touch of the first quote at or after its arrival, up to the
//!   displayed size; the rest waits for later quotes (the order is `Partial` meanwhile). Example:
//!   buy 5 arrives, quote `100.0 × 3 / 100.5 × 2` → 2 at 100.5; next quote ask `100.6 × 10` → 3 at
//!   100.6. With trades only, the first print at or after arrival plays the touch (price and size).
//! - **Marketable limit** (crosses the first quote it meets): fills at the touch, not at its limit;
//!   the rest rests at the limit. Example: buy limit 101, quote ask 100.5 × 2 → 2 at 100.5.
//! - **Resting limit**: fills at its limit when the touch crosses it (buy: ask ≤ limit), or when a
//!   trade prints through it (buy: price < limit); a print exactly at the limit fills only with the
//!   `optimistic` queue option (the queue ahead is unknown: assuming we were first is the optimistic
//!   error). Example: buy limit 100 resting, trade 99.9 × 4 → 4 at 100; trade 100 × 4 → nothing
//!   (optimistic: 4 at 100). A limit that meets a trade before its first quote is treated as
//!   resting (it fills at its limit, the conservative price).
//! - **Stop / stop-limit**: trigger when a trade prints at or through the stop (buy: price ≥ stop),
//!   or the touch reaches it (buy: ask ≥ stop); then act as a market or limit order from that event
//!   on. Example: sell stop 99, quote bid 98.9 × 5 → triggers and sells up to 5 at 98.9.
//! - **Bars** fill nothing here: bar strategies run on [`crate::broker::SimBroker`], which keeps
//!   backtrader's semantics.
//! - **Cash**: a fill that would leave the venue's cash below zero is not made; the order ends in
//!   `Margin` ([`ledger`]).
//!
//! # Time in force, flags, amends
//! An order's "first look at the market" is the event its marketability is decided on (the first
//! quote at or after arrival; the first trade with trades only; the trigger for stops).
//! - **IOC** takes what that look offers (up to the liquidity left in the event) and the rest is
//!   canceled ([`UpdateReason::IocRemainder`]); **FOK** fills completely at that look or is
//!   canceled without a fill; **GTD** expires at its date (venue time) before it can fill on an
//!   event at or after it.
//! - **Post-only** is rejected if its first look would take; **reduce-only** fills at most the
//!   venue's position on the closing side and the rest is canceled.
//! - **Amend** (limit and/or size) works like a cancel in flight: the order works unchanged
//!   (`replace_pending`) until the venue's answer; a new price or a larger size sends it to the back
//!   of its queue, a smaller size keeps its place; an amend that arrives after the end comes back
//!   as [`UpdateReason::AmendTooLate`].
//!
//! # Pre-trade risk ([`RiskLimits`])
//! Before an order leaves the engine: kill switch, order size, order rate (a window of simulated
//! time), price band around the reference price (the mark: mid, else last trade), order notional,
//! and position (working orders on the same side counted as filled). A refusal returns
//! [`SubmitError::Risk`] at once and the refused order (with an id) gets a `Rejected` update with
//! the [`RiskReason`]; the engine runs on. Market orders under `market_protection` become limits
//! that far through the reference price.
//!
//! # Order states
//! `Submitted` when sent, `Accepted` when the venue's acknowledgement arrives, `Partial` /
//! `Completed` with fills, `Canceled` when a cancel's answer arrives (a fill can still happen
//! while a cancel is on its way; a cancel that arrives after completion comes back as
//! [`UpdateReason::CancelTooLate`]), `Margin` as above. Impossible requests are refused before they
//! leave the engine ([`SubmitError`]).
//!
//! # Memory
//! The engine is a plain struct: it spawns no thread, does no I/O, reads no clock and allocates
//! nothing after [`Engine::try_new`]: market state and orders are dense `Vec`s, each instrument's
//! working orders a fixed lane, timers a heap and messages two FIFO queues, all sized at start-up.
//! The one exception is the report queue, which may grow past its reserve rather than lose a fill
//! ([`EngineCounters::report_queue_grew`]).
//!
//! # Performance
//! An event with nothing due and no working orders costs a market-state store and two compares;
//! the strategy call is static dispatch (`Engine<S>` is generic), so a [`NoopStrategy`] costs
//! nothing.

mod hash;
mod latency;
pub mod ledger;
mod market;
mod order;
mod strategy;
#[cfg(test)]
mod tests;
mod timer;
mod venue;

pub use hash::StateHash;
pub use latency::{Latency, LatencyCurve, LatencyCurveError};
pub use ledger::{FillMoney, Ledger};
pub use market::{BestQuote, LastTrade, MarketCounters, MarketState};
pub use order::{
    AmendError, CancelError, Liquidity, OrderKind, OrderRequest, OrderUpdate, RequestKind, RiskReason,
    SubmitError, TickFill, TickOrder, TimeInForce, UpdateReason, VenueRequest,
};
pub use strategy::{Grid, NoopStrategy, TickContext, TickStrategy};
pub use timer::{Timer, TimerError};
pub use venue::QueueModel;

use kestrel_types::{
    ArithError, Event, Instrument, InstrumentId, Money, Notional, OrderId, Payload, Price, Qty, Ratio,
    TimeSpan, Timestamp,
};

use crate::order::Status;
use crate::scheme::CommissionScheme;
use latency::Fifo;
use timer::Timers;
use venue::{Report, ReportKind, Venue, VenueOrder, VenueSetup};

/// How the engine is set up: sizes fixed at construction (it never grows afterwards), the account,
/// the commission scheme, the latency and the queue option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Instruments in the run's table (a tick file's instrument count): instrument ids
    /// `0..instruments` are known, any other is counted in
    /// [`EngineCounters::unknown_instrument`] and skipped.
    pub instruments: usize,
    /// Room per instrument for orders working at the venue or on their way there.
    pub resting_per_instrument: usize,
    /// Room for open orders in all (and orders whose last reports are in flight).
    pub max_orders: usize,
    /// Requests that may be on their way to the venue at once.
    pub queue: usize,
    /// Timers that may be pending at once.
    pub timers: usize,
    /// Delays to and from the venue.
    pub latency: Latency,
    /// Cash at the start.
    pub cash: Money,
    /// Commission of every fill (stock-like schemes: the account is a cash account); of the fills
    /// that take liquidity when [`EngineConfig::maker_scheme`] is set.
    pub scheme: CommissionScheme,
    /// Commission of the fills that provide liquidity (maker), when it differs from
    /// [`EngineConfig::scheme`] (the taker's).
    pub maker_scheme: Option<CommissionScheme>,
    /// Whether a trade exactly at a resting limit fills it (see the fill rules); with a book, a
    /// resting order joins its level at the front instead of behind the visible queue.
    pub optimistic: bool,
    /// How a market-by-price book's queue ahead of a resting order moves on cancels.
    pub queue_model: QueueModel,
    /// The most orders a market-by-order book holds (its memory is taken at the instrument's first
    /// market-by-order record).
    pub mbo_orders: usize,
    /// What a market-by-order fill record does to the book (Databento's MBO: `Report`).
    pub mbo_fills: crate::book::FillMode,
    /// Where orders go: the simulated venue, or a live venue through the runtime.
    pub venue: VenueMode,
    /// Pre-trade risk checks (none by default).
    pub risk: RiskLimits,
    /// Which of an event's two times the simulated venue lives on.
    pub venue_clock: VenueClock,
    /// Rebuild a market-by-price book per instrument from level updates and snapshots: its top
    /// then acts as the instrument's quote (market state, `on_book`, the fill rules). Needs the
    /// instrument's tick ([`Engine::set_instruments`]); a book is made at the instrument's first
    /// level update.
    pub books: bool,
}

/// The simulated venue's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VenueClock {
    /// The venue sees each event when we do (`ts_recv`): no feed latency.
    #[default]
    Recv,
    /// The venue lives on exchange time (`ts_event`): an order that reaches it at `T` meets the
    /// events with `ts_event ≥ T`, which we only see `ts_recv − ts_event` later — the data's own
    /// feed latency. Fills happen at the event's `ts_event` and their reports reach us one
    /// response latency after that.
    Event,
}

/// Pre-trade risk limits, checked in the engine before an order leaves it; `None` turns a check
/// off. A refused order gets an id and a `Rejected` update with the [`RiskReason`]; the engine runs
/// on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskLimits {
    /// The largest order size.
    pub max_order_size: Option<Qty>,
    /// The largest `size × price` of one order (the limit, else the reference price).
    pub max_order_notional: Option<Money>,
    /// The largest position, long or short, counting every open order on the same side as filled.
    pub max_position: Option<Qty>,
    /// Limit and stop prices must lie within this fraction of the reference price (0.05: ±5%).
    pub price_band: Option<Ratio>,
    /// At most `.0` orders in any window of `.1` (simulated time).
    pub order_rate: Option<(u32, TimeSpan)>,
    /// Market orders become limits this fraction through the reference price (a price protection
    /// band: a market buy never pays more than reference × (1 + band)).
    pub market_protection: Option<Ratio>,
}

/// Where the engine's orders go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VenueMode {
    /// The simulated venue inside the engine, behind [`EngineConfig::latency`] (backtests).
    #[default]
    Simulated,
    /// A live venue: requests wait in the engine's bounded queue until the runtime takes them
    /// ([`Engine::drain_requests`]) onto the outbound ring; the venue's execution reports come back
    /// as [`Payload::Exec`](kestrel_types::Payload::Exec) events. Latency is the real one, so
    /// [`EngineConfig::latency`] is not used; a full queue refuses new orders
    /// ([`SubmitError::QueueFull`]).
    External,
}

impl EngineConfig {
    /// The most instruments an [`InstrumentId`] (`u16`) can name.
    pub const MAX_INSTRUMENTS: usize = 1 << 16;
    /// The most working orders per instrument: the fill check scans them, so they must stay few.
    pub const MAX_RESTING_PER_INSTRUMENT: usize = 1024;
    /// The most open orders: slots are found by scanning, and slot numbers are `u32`.
    pub const MAX_ORDERS: usize = 1 << 16;

    /// `instruments` instruments with room for 16 working orders each (enough for quoting
    /// strategies, small enough that a scan stays within a few cache lines), 256 open orders,
    /// 1024 requests in flight, 256 timers, no latency, backtrader's default cash of 10 000 and no
    /// commission, pessimistic queue.
    pub fn new(instruments: usize) -> Self {
        Self {
            instruments,
            resting_per_instrument: 16,
            max_orders: 256,
            queue: 1024,
            timers: 256,
            latency: Latency::ZERO,
            cash: Money::from_raw(10_000 * 1_000_000_000),
            scheme: CommissionScheme::broker_default(),
            maker_scheme: None,
            optimistic: false,
            queue_model: QueueModel::RiskAverse,
            mbo_orders: 1 << 18,
            mbo_fills: crate::book::FillMode::Report,
            venue: VenueMode::Simulated,
            venue_clock: VenueClock::Recv,
            books: true,
            risk: RiskLimits {
                max_order_size: None,
                max_order_notional: None,
                max_position: None,
                price_band: None,
                order_rate: None,
                market_protection: None,
            },
        }
    }
}

/// Why an engine could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// More instruments than an [`InstrumentId`] can name.
    #[error("{instruments} instruments: at most {max} can be named by an instrument id")]
    TooManyInstruments {
        /// Asked for.
        instruments: usize,
        /// The limit.
        max: usize,
    },
    /// More working orders per instrument than the fill check is meant to scan.
    #[error("{resting} working orders per instrument: at most {max}")]
    TooManyResting {
        /// Asked for.
        resting: usize,
        /// The limit.
        max: usize,
    },
    /// More open orders than slots can be numbered.
    #[error("{orders} open orders: at most {max}")]
    TooManyOrders {
        /// Asked for.
        orders: usize,
        /// The limit.
        max: usize,
    },
    /// A capacity of zero would refuse everything.
    #[error("{what} must be at least 1")]
    ZeroCapacity {
        /// Which one.
        what: &'static str,
    },
    /// The scheme is futures-like or has a multiplier: the tick engine's account is a cash account.
    #[error(
        "the tick engine books a cash account: the commission scheme must be stock-like with multiplier 1"
    )]
    UnsupportedScheme,
    /// The starting cash is out of the account's range.
    #[error("starting cash out of range: {0}")]
    Cash(ArithError),
}

/// What the engine counted over its life: the run's evidence that nothing was silently dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// Events received, known instrument or not.
    pub events: u64,
    /// Events for an instrument outside the table: counted as errors and skipped.
    pub unknown_instrument: u64,
    /// Orders sent to the venue.
    pub orders: u64,
    /// Fills delivered to the strategy.
    pub fills: u64,
    /// Submissions, cancels and timers refused.
    pub refused: u64,
    /// Times the report queue grew past its reserve (a burst of reports beyond it; none lost).
    pub report_queue_grew: u64,
    /// Execution reports for orders the engine does not hold (unknown or already ended ids, or
    /// reports while the engine runs a simulated venue): counted and skipped.
    pub unknown_reports: u64,
    /// Level updates a book refused (off its grid, outside its window, …; see `kestrel_engine::book`)
    /// or that came for an instrument without a known tick: counted and skipped.
    pub book_errors: u64,
    /// Fills the venue booked that the engine's ledger could not (the two ledgers diverged: a
    /// bug, never expected; each is also reported to the strategy as [`UpdateReason::Overflow`]).
    pub ledger_errors: u64,
}

/// A request on its way to the venue: the order's slot, and the `ts_event` of the event being
/// processed when it was made (a live request carries it to the gateway).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    New(u32, Timestamp),
    Cancel(u32, Timestamp),
    /// The order's new limit (`None`: unchanged) and new size.
    Amend(u32, Timestamp, Option<Price>, Qty),
}

/// One order slot: the order, and how many messages about it are in flight (a slot is reused only
/// when its order is final and nothing about it is in flight).
#[derive(Clone, Copy, Debug)]
struct Slot {
    order: TickOrder,
    in_use: bool,
    in_flight: u32,
    /// The limit and size an amend on its way asks for (a live venue's answer confirms them).
    amend_target: Option<(Option<Price>, Qty)>,
}

/// Everything but the strategy and the market state: what a [`TickContext`] borrows mutably.
#[derive(Debug)]
pub struct Core {
    slots: Vec<Slot>,
    /// Order id → slot, direct-mapped by the id's low bits ([`Core::slot_of`]).
    index: Vec<u32>,
    index_mask: u64,
    free: Vec<u32>,
    /// Orders working or on their way, per instrument (the venue's lane is reserved at submission).
    load: Vec<u16>,
    lane_capacity: usize,
    grids: Vec<Grid>,
    venue: Venue,
    to_venue: Fifo<Request>,
    to_engine: Fifo<Report>,
    timers: Timers,
    ledger: Ledger,
    /// Commission of taker and of maker fills.
    scheme: CommissionScheme,
    maker_scheme: CommissionScheme,
    latency: Latency,
    venue_clock: VenueClock,
    /// A recorded latency curve, in place of `latency` when set.
    curve: Option<LatencyCurve>,
    /// The last due times pushed each way: with a varying delay nothing overtakes.
    last_request_due: Timestamp,
    last_report_due: Timestamp,
    mode: VenueMode,
    /// The `ts_event` of the event being processed (what a request reacts to).
    cause: Timestamp,
    counters: EngineCounters,
    now: Timestamp,
    /// The earliest due time of anything waiting (timers, requests, reports), `Timestamp::MAX`
    /// when nothing waits: the per-event test is one compare against it.
    next_due: Timestamp,
    risk: RiskLimits,
    /// Submission times of the last `order_rate.0` orders (a ring), for the rate limit.
    recent: Vec<Timestamp>,
    recent_head: usize,
    /// The kill switch: on, every new order is refused.
    killed: bool,
    next_id: u64,
}

impl Core {
    /// The slot holding order `id`: the direct-mapped index first (one load and a check), a scan
    /// of the slots when two held orders share an index entry (ids `mask + 1` apart).
    #[inline]
    fn slot_of(&self, id: OrderId) -> Option<usize> {
        let held = |k: usize| self.slots.get(k).is_some_and(|s| s.in_use && s.order.id == id);
        let guess = self.index.get((id.0 & self.index_mask) as usize).map(|k| *k as usize);
        match guess {
            Some(k) if held(k) => Some(k),
            _ => (0..self.slots.len()).find(|k| held(*k)),
        }
    }

    /// Recomputes [`Core::next_due`] from the queues' fronts.
    fn refresh_due(&mut self) {
        // Requests to a live venue are the runtime's to take, not due at any time here.
        let venue = if self.mode == VenueMode::Simulated { self.to_venue.next_at() } else { None };
        self.next_due = [venue, self.to_engine.next_at(), self.timers.next_at()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Timestamp::MAX);
    }

    fn set_timer(&mut self, at: Timestamp, token: u64) -> Result<(), TimerError> {
        let set = self.timers.set(at, token);
        if set.is_err() {
            self.counters.refused += 1;
        } else {
            self.next_due = self.next_due.min(at);
        }
        set
    }

    fn order(&self, id: OrderId) -> Option<&TickOrder> {
        // A scan: slots are few (hundreds) and a map would allocate or need a bound of its own.
        self.slot_of(id).map(|k| &self.slots[k].order)
    }

    fn open_orders(&self) -> impl Iterator<Item = &TickOrder> {
        self.slots.iter().filter(|s| s.in_use && s.order.is_open()).map(|s| &s.order)
    }

    /// Sends an order; `reference` is the instrument's mark (risk checks and price protection
    /// measure against it).
    fn submit(&mut self, request: OrderRequest, reference: Option<Price>) -> Result<OrderId, SubmitError> {
        let request = self.protect(request, reference);
        let checked = self.check(&request);
        if checked.is_err() {
            self.counters.refused += 1;
        }
        checked?;
        if let Err(reason) = self.risk_check(&request, reference) {
            self.counters.refused += 1;
            let order = self.reject(request, reason);
            return Err(SubmitError::Risk { reason, order });
        }
        let Some((slot, id)) = self.occupy(request) else {
            // `check` saw a free slot; kept as an error rather than a panic all the same.
            self.counters.refused += 1;
            return Err(SubmitError::OrderCapacity { capacity: self.slots.len() });
        };
        let at = self.request_time();
        self.to_venue.push(at, Request::New(slot, self.cause));
        self.request_due(at);
        self.counters.orders += 1;
        Ok(id)
    }

    /// A market order under a protection band becomes a limit that far through the reference
    /// price, on the grid (rounded toward the reference); without a reference it stays a market
    /// order (the risk check then refuses it if a notional or band limit needs a price).
    fn protect(&self, r: OrderRequest, reference: Option<Price>) -> OrderRequest {
        let (Some(band), OrderKind::Market) = (self.risk.market_protection, r.kind) else { return r };
        let (Some(mark), Some(grid)) = (reference, self.grids.get(r.instrument.index())) else { return r };
        let Ok(off) = mark.scale_by(band, kestrel_types::Rounding::Floor) else { return r };
        let limit = match r.side {
            crate::order::Side::Buy => mark.checked_add(off).map(|p| grid.floor(p)),
            crate::order::Side::Sell => mark.checked_sub(off).map(|p| grid.ceil(p)),
        };
        match limit {
            Some(limit) if limit.is_positive() => OrderRequest { kind: OrderKind::Limit { limit }, ..r },
            _ => r,
        }
    }

    /// The configured risk checks, in order: kill switch, size, rate, band, notional, position.
    fn risk_check(&mut self, r: &OrderRequest, reference: Option<Price>) -> Result<(), RiskReason> {
        if self.killed {
            return Err(RiskReason::KillSwitch);
        }
        let risk = self.risk;
        if risk.max_order_size.is_some_and(|max| r.size > max) {
            return Err(RiskReason::MaxOrderSize);
        }
        if let Some((n, window)) = risk.order_rate
            && n > 0
        {
            // The ring holds the last `n` submission times: the oldest is at the head.
            let oldest = self.recent[self.recent_head];
            let cutoff = self.now.nanos().saturating_sub(window.nanos());
            if self.counters.orders >= u64::from(n) && oldest.nanos() > cutoff {
                return Err(RiskReason::OrderRate);
            }
        }
        let price = r.kind.price().or(reference);
        if let Some(band) = risk.price_band
            && let Some(p) = r.kind.price()
        {
            let mark = reference.ok_or(RiskReason::NoReferencePrice)?;
            let off =
                mark.scale_by(band, kestrel_types::Rounding::Floor).map_err(|_| RiskReason::PriceBand)?;
            let (lo, hi) = (mark.checked_sub(off), mark.checked_add(off));
            if lo.is_some_and(|lo| p < lo) || hi.is_some_and(|hi| p > hi) {
                return Err(RiskReason::PriceBand);
            }
        }
        if let Some(max) = risk.max_order_notional {
            let p = price.ok_or(RiskReason::NoReferencePrice)?;
            if r.size.notional(p).to_money(kestrel_types::Rounding::Ceiling) > max {
                return Err(RiskReason::MaxOrderNotional);
            }
        }
        if let Some(max) = risk.max_position {
            let position = self.ledger.position(r.instrument).size();
            let same_side = self
                .slots
                .iter()
                .filter(|s| s.in_use && s.order.is_open() && s.order.request.instrument == r.instrument)
                .filter(|s| s.order.request.side == r.side)
                .fold(Qty::ZERO, |acc, s| acc.checked_add(s.order.remaining()).unwrap_or(Qty::MAX));
            let exposure = same_side.checked_add(r.size).unwrap_or(Qty::MAX);
            let after = match r.side {
                crate::order::Side::Buy => position.checked_add(exposure),
                crate::order::Side::Sell => position.checked_sub(exposure),
            };
            if after.is_none_or(|a| a.abs() > max) {
                return Err(RiskReason::MaxPosition);
            }
        }
        if risk.order_rate.is_some_and(|(n, _)| n > 0) {
            self.recent[self.recent_head] = self.now;
            self.recent_head = (self.recent_head + 1) % self.recent.len();
        }
        Ok(())
    }

    /// Takes a free slot for a new order: gives it the next id, the request, `Submitted`, one
    /// message in flight, its index entry and its place in the lane's load. `None` when every
    /// slot is taken.
    fn occupy(&mut self, request: OrderRequest) -> Option<(u32, OrderId)> {
        let slot = self.free.pop()?;
        let id = OrderId(self.next_id);
        self.next_id += 1;
        let now = self.now;
        let s = &mut self.slots[slot as usize];
        s.order = TickOrder {
            id,
            request,
            status: Status::Submitted,
            filled: Qty::ZERO,
            cost: Notional::ZERO,
            commission: Money::ZERO,
            submitted_at: now,
            updated_at: now,
            cancel_pending: false,
            replace_pending: false,
        };
        s.in_use = true;
        s.in_flight = 1;
        if let Some(e) = self.index.get_mut((id.0 & self.index_mask) as usize) {
            *e = slot;
        }
        // Released by the order's final report.
        self.load[request.instrument.index()] += 1;
        Some((slot, id))
    }

    /// A risk refusal: the order gets an id and a `Rejected` update with the reason, delivered
    /// as a report due now (when no slot is free, only the error tells).
    fn reject(&mut self, request: OrderRequest, reason: RiskReason) -> OrderId {
        let Some((slot, id)) = self.occupy(request) else {
            // No slot for the update: the id is spent and only the error tells.
            let id = OrderId(self.next_id);
            self.next_id += 1;
            return id;
        };
        let now = self.now;
        let kind = ReportKind::Ended { status: Status::Rejected, reason: UpdateReason::Risk(reason) };
        // Behind the reports already on their way (one queue, in order).
        let due = now.max(self.last_report_due);
        self.last_report_due = due;
        self.counters.report_queue_grew += u64::from(self.to_engine.push(due, Report { slot, kind }));
        self.next_due = self.next_due.min(due);
        id
    }

    /// Turns the kill switch on: every open order gets a cancel (those already being canceled
    /// excepted) and new orders are refused. Returns the cancels sent.
    fn kill(&mut self) -> usize {
        self.killed = true;
        let mut sent = 0;
        for k in 0..self.slots.len() {
            let s = self.slots[k];
            if s.in_use && s.order.is_open() && !s.order.cancel_pending && self.cancel(s.order.id).is_ok() {
                sent += 1;
            }
        }
        sent
    }

    /// Sends an amend: the new limit (for limit and stop-limit orders) and size.
    fn amend(&mut self, id: OrderId, limit: Option<Price>, size: Option<Qty>) -> Result<(), AmendError> {
        let Some(slot) = self.slot_of(id).filter(|k| self.slots[*k].order.is_open()) else {
            self.counters.refused += 1;
            return Err(CancelError::NotOpen { order: id }.into());
        };
        let o = self.slots[slot].order;
        let invalid = |reason| Err(AmendError::Invalid { reason });
        if o.cancel_pending || o.replace_pending {
            self.counters.refused += 1;
            return Err(CancelError::AlreadyPending { order: id }.into());
        }
        if limit.is_some() && !matches!(o.request.kind, OrderKind::Limit { .. } | OrderKind::StopLimit { .. })
        {
            return invalid("only limit and stop-limit orders have a limit to amend");
        }
        let grid = self.grids.get(o.request.instrument.index()).copied().unwrap_or(Grid::ANY);
        if limit.is_some_and(|p| !p.is_positive() || !p.is_multiple_of(grid.tick)) {
            return invalid("the new limit must be positive and on the tick grid");
        }
        let size = size.unwrap_or(o.request.size);
        if size <= o.filled || !size.is_multiple_of(grid.lot) {
            return invalid("the new size must be above what already filled and on the lot grid");
        }
        if self.to_venue.is_full() {
            self.counters.refused += 1;
            return Err(CancelError::QueueFull { capacity: self.to_venue.bound() }.into());
        }
        let s = &mut self.slots[slot];
        s.order.replace_pending = true;
        s.amend_target = Some((limit, size));
        s.in_flight += 1;
        let at = self.request_time();
        // `slot < max_orders ≤ MAX_ORDERS`.
        self.to_venue.push(at, Request::Amend(slot as u32, self.cause, limit, size));
        self.request_due(at);
        Ok(())
    }

    /// The pre-trade checks of [`TickContext::submit`].
    fn check(&self, r: &OrderRequest) -> Result<(), SubmitError> {
        let i = r.instrument.index();
        let Some(grid) = self.grids.get(i) else {
            return Err(SubmitError::UnknownInstrument { instrument: r.instrument, count: self.grids.len() });
        };
        if !r.size.is_positive() {
            return Err(SubmitError::SizeNotPositive { size: r.size });
        }
        if !r.size.is_multiple_of(grid.lot) {
            return Err(SubmitError::OffLotGrid { size: r.size, lot: grid.lot });
        }
        let prices = match r.kind {
            OrderKind::Market => [None, None],
            OrderKind::Limit { limit } => [Some(limit), None],
            OrderKind::Stop { stop } => [Some(stop), None],
            OrderKind::StopLimit { stop, limit } => [Some(stop), Some(limit)],
        };
        for price in prices.into_iter().flatten() {
            if !price.is_positive() {
                return Err(SubmitError::PriceNotPositive { price });
            }
            if !price.is_multiple_of(grid.tick) {
                return Err(SubmitError::OffTickGrid { price, tick: grid.tick });
            }
        }
        if r.post_only && !matches!(r.kind, OrderKind::Limit { .. }) {
            return Err(SubmitError::Invalid { reason: "post-only needs a limit order" });
        }
        if let TimeInForce::Gtd(t) = r.tif
            && t <= self.now
        {
            return Err(SubmitError::Invalid { reason: "the good-till date is not in the future" });
        }
        if self.free.is_empty() {
            return Err(SubmitError::OrderCapacity { capacity: self.slots.len() });
        }
        if usize::from(self.load[i]) >= self.lane_capacity {
            return Err(SubmitError::InstrumentCapacity {
                instrument: r.instrument,
                capacity: self.lane_capacity,
            });
        }
        if self.to_venue.is_full() {
            return Err(SubmitError::QueueFull { capacity: self.to_venue.bound() });
        }
        Ok(())
    }

    fn cancel(&mut self, id: OrderId) -> Result<(), CancelError> {
        let refused = |e| Err(e);
        let Some(slot) = self.slot_of(id).filter(|k| self.slots[*k].order.is_open()) else {
            self.counters.refused += 1;
            return refused(CancelError::NotOpen { order: id });
        };
        if self.slots[slot].order.cancel_pending || self.slots[slot].order.replace_pending {
            self.counters.refused += 1;
            return refused(CancelError::AlreadyPending { order: id });
        }
        if self.to_venue.is_full() {
            self.counters.refused += 1;
            return refused(CancelError::QueueFull { capacity: self.to_venue.bound() });
        }
        let s = &mut self.slots[slot];
        s.order.cancel_pending = true;
        s.in_flight += 1;
        let at = self.request_time();
        // `slot < max_orders ≤ MAX_ORDERS`, checked at construction.
        self.to_venue.push(at, Request::Cancel(slot as u32, self.cause));
        self.request_due(at);
        Ok(())
    }

    /// When a request sent now reaches the simulated venue (now, for a live one: it leaves when
    /// the runtime takes it).
    fn request_time(&self) -> Timestamp {
        match self.mode {
            VenueMode::Simulated => {
                let entry = self.curve.as_ref().map_or(self.latency.entry, |c| c.at(self.now).entry);
                self.now.checked_add(entry).unwrap_or(Timestamp::MAX).max(self.last_request_due)
            }
            VenueMode::External => self.now,
        }
    }

    /// When a report the venue makes at `at` reaches the engine (never before the previous one).
    fn report_time(&mut self, at: Timestamp) -> Timestamp {
        let response = self.curve.as_ref().map_or(self.latency.response, |c| c.at(at).response);
        let due = at.checked_add(response).unwrap_or(Timestamp::MAX).max(self.last_report_due);
        self.last_report_due = due;
        due
    }

    /// A request queued for `at`: due then for the simulated venue only.
    fn request_due(&mut self, at: Timestamp) {
        self.last_request_due = at;
        if self.mode == VenueMode::Simulated {
            self.next_due = self.next_due.min(at);
        }
    }

    /// The live venue's report `r` (an [`kestrel_types::ExecRecord`]) for one of our orders, at `at`.
    fn on_exec(
        &mut self,
        at: Timestamp,
        venue_ts: Timestamp,
        r: &kestrel_types::ExecRecord,
    ) -> Option<Delivery> {
        let Some(slot) = self.slot_of(OrderId(r.order)) else {
            self.counters.unknown_reports += 1;
            return None;
        };
        let order = self.slots[slot].order;
        let status = Status::ALL.get(usize::from(r.status)).copied();
        let qty = r.qty.abs();
        let kind = match status {
            _ if qty.is_positive() => ReportKind::Fill {
                qty,
                price: r.price,
                liquidity: Liquidity::Taker,
                venue_ts,
                fee: Some(Money::from_raw(i128::from(r.fee))),
            },
            Some(Status::Submitted | Status::Accepted) if order.status == Status::Submitted => {
                ReportKind::Accepted
            }
            Some(Status::Canceled | Status::Expired) if order.is_open() => ReportKind::Canceled,
            Some(Status::Margin) if order.is_open() => ReportKind::Margin,
            Some(Status::Rejected) if order.is_open() => ReportKind::Rejected,
            // The venue says the order already ended while we asked to cancel it.
            Some(Status::Completed | Status::Canceled) if order.cancel_pending => ReportKind::CancelTooLate,
            // Anything else changes nothing we hold (a duplicate, a stale acknowledgement).
            _ => {
                self.counters.unknown_reports += 1;
                return None;
            }
        };
        // `slot < max_orders ≤ MAX_ORDERS`.
        Some(self.at_engine(at, Report { slot: slot as u32, kind }))
    }

    /// A request reaches the venue.
    fn at_venue(&mut self, at: Timestamp, request: Request) {
        let reply_at = self.report_time(at);
        let grew = match request {
            Request::New(slot, _) => {
                let o = self.slots[slot as usize].order;
                let triggered = matches!(o.request.kind, OrderKind::Market | OrderKind::Limit { .. });
                let order = VenueOrder {
                    instrument: o.request.instrument,
                    side: o.request.side,
                    kind: o.request.kind,
                    remaining: o.request.size,
                    triggered,
                    evaluated: false,
                    working: true,
                    tif: o.request.tif,
                    post_only: o.request.post_only,
                    reduce_only: o.request.reduce_only,
                    ..VenueOrder::EMPTY
                };
                self.venue.arrive(slot, order, &mut self.to_engine, reply_at)
            }
            Request::Cancel(slot, _) => self.venue.cancel(slot, &mut self.to_engine, reply_at),
            Request::Amend(slot, _, limit, size) => {
                let original = self.slots[slot as usize].order.request.size;
                self.venue.amend(slot, limit, size, original, &mut self.to_engine, reply_at)
            }
        };
        self.counters.report_queue_grew += u64::from(grew);
    }

    /// A venue report reaches the engine: updates the order and the ledger, and says what to
    /// tell the strategy.
    fn at_engine(&mut self, at: Timestamp, report: Report) -> Delivery {
        let slot = report.slot as usize;
        let s = &mut self.slots[slot];
        let mut order = s.order;
        let was_open = order.is_open();
        let mut reason = UpdateReason::None;
        let mut fill = None;
        // Each report closes one in-flight message; a fill or acknowledgement that leaves the
        // order working keeps the order's own "in the venue" count.
        match report.kind {
            ReportKind::Accepted => {
                if order.status == Status::Submitted {
                    order.status = Status::Accepted;
                }
            }
            ReportKind::Fill { qty, price, liquidity, venue_ts, fee } => {
                let side = order.request.side;
                let scheme = match liquidity {
                    Liquidity::Maker => &self.maker_scheme,
                    Liquidity::Taker => &self.scheme,
                };
                match self.ledger.book(scheme, order.request.instrument, side, qty, price, venue_ts, fee) {
                    Ok(money) => {
                        order.filled = order.filled.checked_add(qty).unwrap_or(order.request.size);
                        order.cost = order.cost.checked_add(qty.notional(price)).unwrap_or(order.cost);
                        order.commission =
                            order.commission.checked_add(money.commission).unwrap_or(order.commission);
                        let remaining = order.remaining();
                        order.status = if remaining.is_zero() { Status::Completed } else { Status::Partial };
                        self.counters.fills += 1;
                        fill = Some(TickFill {
                            ts: at,
                            venue_ts,
                            order: order.id,
                            instrument: order.request.instrument,
                            side,
                            price,
                            qty,
                            remaining,
                            status: order.status,
                            liquidity,
                            commission: money.commission,
                            realized: money.realized,
                            position: money.position,
                        });
                    }
                    // The venue booked the same fill in the same order, and an overflow there
                    // is reported as `Overflow`, never as a fill: unreachable unless the two
                    // ledgers diverged. Say so, and leave the order as it was.
                    Err(_) => {
                        self.counters.ledger_errors += 1;
                        reason = UpdateReason::Overflow;
                    }
                }
            }
            ReportKind::Canceled => {
                order.status = Status::Canceled;
                order.cancel_pending = false;
            }
            ReportKind::CancelTooLate => {
                order.cancel_pending = false;
                reason = UpdateReason::CancelTooLate;
            }
            ReportKind::Margin => {
                order.status = Status::Margin;
                reason = UpdateReason::InsufficientCash;
            }
            ReportKind::Overflow => {
                order.status = Status::Rejected;
                reason = UpdateReason::Overflow;
            }
            ReportKind::Rejected => {
                order.status = Status::Rejected;
                reason = UpdateReason::VenueRejected;
            }
            ReportKind::Ended { status, reason: why } => {
                order.status = status;
                reason = why;
            }
            ReportKind::Replaced { limit, size } => {
                order.request.kind = amended_kind(order.request.kind, limit);
                order.request.size = size;
                order.replace_pending = false;
                reason = UpdateReason::Amended;
                if order.filled >= size {
                    // Amended down to what had already filled: nothing left to work.
                    order.status = Status::Completed;
                }
            }
            ReportKind::AmendTooLate => {
                order.replace_pending = false;
                reason = UpdateReason::AmendTooLate;
            }
        }
        order.updated_at = at;
        s.order = order;
        // What this report answers: the order's New request ends with its final report, each
        // Cancel request with its answer (a cancel that canceled answers both).
        let answers_request = matches!(
            report.kind,
            ReportKind::Canceled
                | ReportKind::CancelTooLate
                | ReportKind::Replaced { .. }
                | ReportKind::AmendTooLate
        );
        let ends_order = was_open && order.status.is_final();
        let answered = u32::from(ends_order) + u32::from(answers_request);
        if answers_request && matches!(report.kind, ReportKind::Replaced { .. } | ReportKind::AmendTooLate) {
            s.amend_target = None;
        }
        s.in_flight = s.in_flight.saturating_sub(answered);
        if ends_order {
            let i = order.request.instrument.index();
            self.load[i] = self.load[i].saturating_sub(1);
        }
        if order.status.is_final() && s.in_flight == 0 {
            s.in_use = false;
            // `slot < max_orders ≤ MAX_ORDERS`.
            self.free.push(slot as u32);
        }
        Delivery { update: OrderUpdate { ts: at, order, reason }, fill }
    }
}

/// An order's kind with a new limit (`None`: unchanged; only limits and stop-limits have one).
fn amended_kind(kind: OrderKind, limit: Option<Price>) -> OrderKind {
    match (kind, limit) {
        (OrderKind::Limit { .. }, Some(l)) => OrderKind::Limit { limit: l },
        (OrderKind::StopLimit { stop, .. }, Some(l)) => OrderKind::StopLimit { stop, limit: l },
        (k, _) => k,
    }
}

/// What one report tells the strategy.
struct Delivery {
    update: OrderUpdate,
    fill: Option<TickFill>,
}

/// The tick engine hosting one strategy (see the [module docs](self)).
#[derive(Debug)]
pub struct Engine<S: TickStrategy> {
    strategy: S,
    markets: Vec<MarketState>,
    core: Core,
    /// Books, made at an instrument's first level update (market-by-price) or market-by-order
    /// record (`EngineConfig::books`).
    books: Vec<Option<Book>>,
    /// A snapshot began before the instrument had a book (its kind is known at the first record).
    snapshot_open: Vec<bool>,
    build_books: bool,
    mbo_orders: usize,
    mbo_fills: crate::book::FillMode,
}

/// An instrument's book, by what its data says.
#[derive(Clone, Debug)]
enum Book {
    /// From level updates.
    L2(crate::book::L2Book),
    /// From market-by-order records.
    L3(crate::book::L3Book),
}

impl Book {
    #[inline]
    fn apply_payload(&mut self, p: &Payload) -> Result<crate::book::TopChange, crate::book::BookError> {
        match self {
            Book::L2(b) => b.apply_payload(p),
            Book::L3(b) => b.apply_payload(p),
        }
    }

    #[inline]
    fn in_snapshot(&self) -> bool {
        match self {
            Book::L2(b) => b.in_snapshot(),
            Book::L3(b) => b.in_snapshot(),
        }
    }

    #[inline]
    fn best(&self, side: kestrel_types::BookSide) -> Option<(Price, Qty)> {
        match self {
            Book::L2(b) => b.best(side),
            Book::L3(b) => b.best(side),
        }
    }
}

impl<S: TickStrategy> Engine<S> {
    /// An engine for `config` hosting `strategy`; everything it will ever need is allocated here.
    /// Instruments have [`Grid::ANY`] until [`Engine::set_instruments`] gives their grids.
    ///
    /// # Errors
    /// [`ConfigError`] when the configuration exceeds the engine's limits or the scheme is not a
    /// cash account's.
    pub fn try_new(config: EngineConfig, strategy: S) -> Result<Self, ConfigError> {
        if config.instruments > EngineConfig::MAX_INSTRUMENTS {
            return Err(ConfigError::TooManyInstruments {
                instruments: config.instruments,
                max: EngineConfig::MAX_INSTRUMENTS,
            });
        }
        if config.resting_per_instrument > EngineConfig::MAX_RESTING_PER_INSTRUMENT {
            return Err(ConfigError::TooManyResting {
                resting: config.resting_per_instrument,
                max: EngineConfig::MAX_RESTING_PER_INSTRUMENT,
            });
        }
        if config.max_orders > EngineConfig::MAX_ORDERS {
            return Err(ConfigError::TooManyOrders {
                orders: config.max_orders,
                max: EngineConfig::MAX_ORDERS,
            });
        }
        for (what, n) in [
            ("resting_per_instrument", config.resting_per_instrument),
            ("max_orders", config.max_orders),
            ("queue", config.queue),
            ("timers", config.timers),
        ] {
            if n == 0 {
                return Err(ConfigError::ZeroCapacity { what });
            }
        }
        for scheme in [Some(config.scheme), config.maker_scheme].into_iter().flatten() {
            if !scheme.is_stocklike() || scheme.mult() != kestrel_types::Ratio::ONE {
                return Err(ConfigError::UnsupportedScheme);
            }
        }
        let ledger = Ledger::new(config.cash, config.instruments).map_err(ConfigError::Cash)?;
        let empty = TickOrder {
            id: OrderId(0),
            request: OrderRequest::new(
                InstrumentId(0),
                crate::order::Side::Buy,
                Qty::ZERO,
                OrderKind::Market,
            ),
            status: Status::Created,
            filled: kestrel_types::Qty::ZERO,
            cost: Notional::ZERO,
            commission: Money::ZERO,
            submitted_at: Timestamp::EPOCH,
            updated_at: Timestamp::EPOCH,
            cancel_pending: false,
            replace_pending: false,
        };
        // Popped from the end: slot 0 first.
        let free = (0..config.max_orders as u32).rev().collect();
        let maker = config.maker_scheme.unwrap_or(config.scheme);
        let venue = Venue::new(
            VenueSetup {
                slots: config.max_orders,
                instruments: config.instruments,
                lane_capacity: config.resting_per_instrument,
                taker: config.scheme,
                maker,
                optimistic: config.optimistic,
                model: config.queue_model,
            },
            ledger.clone(),
        );
        // Twice the slots, a power of two: held orders' ids rarely share an entry.
        let index_len = (config.max_orders * 2).next_power_of_two();
        let core = Core {
            slots: vec![
                Slot { order: empty, in_use: false, in_flight: 0, amend_target: None };
                config.max_orders
            ],
            index: vec![0; index_len],
            index_mask: index_len as u64 - 1,
            free,
            load: vec![0; config.instruments],
            lane_capacity: config.resting_per_instrument,
            grids: vec![Grid::ANY; config.instruments],
            venue,
            to_venue: Fifo::with_bound(config.queue),
            // Every order can have an acknowledgement, a few fills and a final report in flight.
            to_engine: Fifo::with_bound(config.max_orders.saturating_mul(8).max(config.queue)),
            timers: Timers::with_capacity(config.timers),
            ledger,
            scheme: config.scheme,
            maker_scheme: maker,
            latency: config.latency,
            venue_clock: config.venue_clock,
            curve: None,
            last_request_due: Timestamp::EPOCH,
            last_report_due: Timestamp::EPOCH,
            mode: config.venue,
            cause: Timestamp::EPOCH,
            counters: EngineCounters::default(),
            now: Timestamp::EPOCH,
            next_due: Timestamp::MAX,
            risk: config.risk,
            recent: vec![Timestamp::EPOCH; config.risk.order_rate.map_or(0, |(n, _)| n as usize)],
            recent_head: 0,
            killed: false,
            next_id: 1,
        };
        Ok(Self {
            strategy,
            markets: vec![MarketState::default(); config.instruments],
            core,
            books: (0..config.instruments).map(|_| None).collect(),
            snapshot_open: vec![false; config.instruments],
            build_books: config.books,
            mbo_orders: config.mbo_orders,
            mbo_fills: config.mbo_fills,
        })
    }

    /// Takes the price and size grids of the run's instruments (a tick file's table), so orders
    /// off the grid are refused; instruments outside the engine's table are ignored.
    pub fn set_instruments(&mut self, instruments: &[Instrument]) {
        for ins in instruments {
            if let Some(g) = self.core.grids.get_mut(ins.id().index()) {
                *g = Grid { tick: ins.tick_size(), lot: ins.lot_size() };
            }
        }
    }

    /// Models the venue link with a recorded latency curve instead of the configuration's
    /// constant [`Latency`] (simulated venue only).
    pub fn set_latency_curve(&mut self, curve: LatencyCurve) {
        self.core.curve = Some(curve);
    }

    /// Calls [`TickStrategy::on_start`]; call it once before the first event.
    pub fn start(&mut self) {
        let mut ctx = TickContext { markets: &self.markets, core: &mut self.core };
        self.strategy.on_start(&mut ctx);
    }

    /// Delivers every request and report still in flight (the venue sees no more market data, so
    /// working orders stay working; pending timers do not fire), then calls
    /// [`TickStrategy::on_stop`]. Call it once after the last event.
    pub fn finish(&mut self) {
        self.advance(Timestamp::MAX, Timestamp::MAX, false);
        let mut ctx = TickContext { markets: &self.markets, core: &mut self.core };
        self.strategy.on_stop(&mut ctx);
    }

    /// Processes one event (see the [module docs](self)). An event for an unknown instrument is
    /// counted and skipped.
    ///
    /// Always inlined: a driver that builds the event from a record (the replayer) then hands its
    /// fields over in registers, and the `match` on a payload whose kind the driver knows folds
    /// away; the body is small because the slow paths are out of line.
    #[inline(always)]
    pub fn on_event(&mut self, ev: &Event) {
        self.core.counters.events += 1;
        let i = ev.instrument.index();
        if i >= self.markets.len() {
            self.core.counters.unknown_instrument += 1;
            return;
        }
        // The engine's time never goes back (a replay restarted on the same engine, a feed that
        // steps back): an older event is processed at the engine's time.
        let ts = ev.ts_recv.max(self.core.now);
        if ts >= self.core.next_due {
            self.advance(ts, self.venue_upto(ev, ts), true);
        }
        let mut top_changed = self.markets[i].apply(ev);
        self.core.now = ts;
        self.core.cause = ev.ts_event;
        let book_top = match ev.payload {
            Payload::Level(u) if self.build_books => self.apply_level(i, &u, ev),
            Payload::Order(_) | Payload::BookClear | Payload::SnapshotBegin | Payload::SnapshotEnd
                if self.build_books =>
            {
                self.apply_book(i, ev)
            }
            _ => None,
        };
        if self.core.venue.working(i) != 0 {
            self.match_event(i, ev);
        }
        top_changed |= book_top.is_some();
        if let Payload::Exec(r) = &ev.payload {
            self.on_exec(ts, ev.ts_event, r);
        }
        let mut ctx = TickContext { markets: &self.markets, core: &mut self.core };
        self.strategy.on_event(&mut ctx, ev);
        if S::ON_BOOK && top_changed {
            let top = self.markets[i].best;
            let mut ctx = TickContext { markets: &self.markets, core: &mut self.core };
            self.strategy.on_book(&mut ctx, ev.instrument, top.as_ref());
        }
    }

    /// A market-by-price event into the instrument's book; the new top as a quote when it changed
    /// (not while a snapshot is under way: the book is partial until it ends). Only the side that
    /// changed is read back from the book.
    #[inline]
    fn apply_book(&mut self, i: usize, ev: &Event) -> Option<kestrel_types::Quote> {
        if self.books.get(i)?.is_none() {
            self.make_book(i, &ev.payload);
        }
        self.apply_book_inner(i, ev)
    }

    /// A level update into the instrument's market-by-price book: the hot case of
    /// [`Engine::apply_book`] (the book exists), with the changed side alone read back.
    #[inline(always)]
    fn apply_level(
        &mut self,
        i: usize,
        u: &kestrel_types::LevelUpdate,
        ev: &Event,
    ) -> Option<kestrel_types::Quote> {
        let Some(Some(Book::L2(book))) = self.books.get_mut(i) else { return self.apply_book(i, ev) };
        let Ok(change) = book.apply(u) else {
            self.core.counters.book_errors += 1;
            return None;
        };
        if !change.any() || book.in_snapshot() {
            return None;
        }
        let market = &mut self.markets[i];
        let mut quote = market.top_quote();
        let top = book.best(u.side).unwrap_or((Price::ZERO, Qty::ZERO));
        match u.side {
            kestrel_types::BookSide::Bid => (quote.bid, quote.bid_size) = top,
            kestrel_types::BookSide::Ask => (quote.ask, quote.ask_size) = top,
        }
        market.set_book_top(quote, ev.ts_event);
        Some(quote)
    }

    /// [`Engine::apply_book`] once the instrument has a book.
    #[inline]
    fn apply_book_inner(&mut self, i: usize, ev: &Event) -> Option<kestrel_types::Quote> {
        let book = self.books.get_mut(i)?.as_mut()?;
        let change = match book.apply_payload(&ev.payload) {
            Ok(c) => c,
            Err(_) => {
                self.core.counters.book_errors += 1;
                return None;
            }
        };
        let end = matches!(ev.payload, Payload::SnapshotEnd);
        if !(change.bid || change.ask || end) || book.in_snapshot() {
            return None;
        }
        let mut quote = self.markets[i].top_quote();
        if change.bid || end {
            (quote.bid, quote.bid_size) =
                book.best(kestrel_types::BookSide::Bid).unwrap_or((Price::ZERO, Qty::ZERO));
        }
        if change.ask || end {
            (quote.ask, quote.ask_size) =
                book.best(kestrel_types::BookSide::Ask).unwrap_or((Price::ZERO, Qty::ZERO));
        }
        self.markets[i].set_book_top(quote, ev.ts_event);
        Some(quote)
    }

    /// Makes instrument `i`'s book at its first level update or market-by-order record (its
    /// memory is sized here, once). Clears and snapshot markers before either make none.
    #[cold]
    #[inline(never)]
    fn make_book(&mut self, i: usize, first: &Payload) {
        let grid = self.core.grids.get(i).copied().unwrap_or(Grid::ANY);
        let make = |tick| match first {
            Payload::Level(_) => {
                crate::book::L2Book::new(crate::book::L2Config::new(tick)).ok().map(Book::L2)
            }
            Payload::Order(_) => {
                let config = crate::book::L3Config::new(tick, self.mbo_orders, self.mbo_fills);
                crate::book::L3Book::new(config).ok().map(Book::L3)
            }
            _ => None,
        };
        // Which kind of book a snapshot builds is known at its first record.
        match first {
            Payload::Level(_) | Payload::Order(_) => {}
            Payload::SnapshotBegin | Payload::SnapshotEnd => {
                if let Some(open) = self.snapshot_open.get_mut(i) {
                    *open = matches!(first, Payload::SnapshotBegin);
                }
                return;
            }
            _ => return,
        }
        // No tick to index levels by: the market state still counts the events.
        let made = (grid != Grid::ANY).then(|| make(grid.tick));
        match (made.flatten(), self.books.get_mut(i)) {
            (Some(mut b), Some(slot)) => {
                if self.snapshot_open.get(i).copied().unwrap_or(false) {
                    // Clears nothing (the book is new) and marks it partial until the end marker.
                    let _ = b.apply_payload(&Payload::SnapshotBegin);
                }
                *slot = Some(b);
            }
            _ => self.core.counters.book_errors += 1,
        }
    }

    /// A live venue's execution report: updates the order and the ledger, tells the strategy.
    #[inline(never)]
    fn on_exec(&mut self, ts: Timestamp, venue_ts: Timestamp, r: &kestrel_types::ExecRecord) {
        if self.core.mode != VenueMode::External {
            self.core.counters.unknown_reports += 1;
            return;
        }
        if let Some(delivery) = self.core.on_exec(ts, venue_ts, r) {
            let mut ctx = TickContext { markets: &self.markets, core: &mut self.core };
            if let Some(fill) = delivery.fill {
                self.strategy.on_fill(&mut ctx, &fill);
            }
            self.strategy.on_order(&mut ctx, &delivery.update);
        }
    }

    /// Hands the requests waiting for a live venue to `send`, oldest first, until it returns
    /// `false` (the outbound ring is full: that request and the later ones stay queued, in order,
    /// for the next call). Returns how many were taken. Nothing for a simulated venue.
    pub fn drain_requests(&mut self, mut send: impl FnMut(&VenueRequest) -> bool) -> usize {
        if self.core.mode != VenueMode::External {
            return 0;
        }
        let mut taken = 0;
        while let Some(front) = self.core.to_venue.front() {
            let (kind, slot, cause, target) = match front.msg {
                Request::New(slot, cause) => (RequestKind::New, slot, cause, None),
                Request::Cancel(slot, cause) => (RequestKind::Cancel, slot, cause, None),
                Request::Amend(slot, cause, limit, size) => {
                    (RequestKind::Amend, slot, cause, Some((limit, size)))
                }
            };
            let mut order = self.core.slots[slot as usize].order;
            if let Some((limit, size)) = target {
                // The request carries the order as the amend would leave it.
                order.request.size = size;
                order.request.kind = amended_kind(order.request.kind, limit);
            }
            let req = VenueRequest {
                kind,
                order: order.id,
                request: order.request,
                sent: front.at,
                cause,
                published: front.at,
            };
            if !send(&req) {
                break;
            }
            self.core.to_venue.pop();
            taken += 1;
        }
        taken
    }

    /// Requests waiting for the runtime (a live venue's outbound queue).
    pub fn pending_requests(&self) -> usize {
        if self.core.mode == VenueMode::External { self.core.to_venue.len() } else { 0 }
    }

    /// When the engine next needs to run without an event (a timer, or a simulated venue's
    /// message): a live runtime injects a timer event then. `Timestamp::MAX` when nothing waits.
    pub fn next_due(&self) -> Timestamp {
        self.core.next_due
    }

    /// How far the simulated venue's requests may be processed before `ev` meets the venue: up
    /// to the event's venue time.
    #[inline(always)]
    fn venue_upto(&self, ev: &Event, ts: Timestamp) -> Timestamp {
        match self.core.venue_clock {
            VenueClock::Recv => ts,
            VenueClock::Event => ev.ts_event.min(ts),
        }
    }

    /// The slow path: the instrument has working orders.
    #[inline(never)]
    fn match_event(&mut self, i: usize, ev: &Event) {
        let now = self.core.now;
        let venue_now = self.venue_upto(ev, now);
        let reply_at = self.core.report_time(venue_now);
        let quoted = self.markets[i].is_quoted();
        let core = &mut self.core;
        let (venue, to_engine, p) = (&mut core.venue, &mut core.to_engine, &ev.payload);
        let grew = match self.books.get(i) {
            Some(Some(Book::L2(b))) => venue.on_book(i, p, b, venue_now, reply_at, to_engine),
            Some(Some(Book::L3(b))) => venue.on_book(i, p, b, venue_now, reply_at, to_engine),
            _ => venue.on_market(i, p, quoted, venue_now, reply_at, to_engine),
        };
        core.counters.report_queue_grew += u64::from(grew);
        core.next_due = core.next_due.min(reply_at);
        if reply_at <= now {
            self.advance(now, venue_now, true);
            self.core.now = now;
        }
    }

    /// Processes every timer and report due at or before `upto` and every request for the simulated
    /// venue due at or before `venue_upto`, earliest first.
    #[inline(never)]
    fn advance(&mut self, upto: Timestamp, venue_upto: Timestamp, fire_timers: bool) {
        loop {
            let due = |t: Option<Timestamp>| t.filter(|t| *t <= upto);
            let venue = if self.core.mode == VenueMode::Simulated {
                self.core.to_venue.next_at().filter(|t| *t <= venue_upto)
            } else {
                None
            };
            let report = due(self.core.to_engine.next_at());
            let timer = if fire_timers { due(self.core.timers.next_at()) } else { None };
            // Earliest first; ties: venue, then reports, then timers.
            let first = [venue, report, timer].into_iter().flatten().min();
            let Some(at) = first else {
                self.core.refresh_due();
                return;
            };
            // The engine's time never goes back: on exchange time a report can be due before the
            // event that reveals it; it is delivered, and stamped, at the engine's time.
            self.core.now = self.core.now.max(at);
            if venue == Some(at) {
                if let Some(d) = self.core.to_venue.pop() {
                    self.core.at_venue(d.at, d.msg);
                }
            } else if report == Some(at) {
                if let Some(d) = self.core.to_engine.pop() {
                    let delivery = self.core.at_engine(self.core.now, d.msg);
                    let mut ctx = TickContext { markets: &self.markets, core: &mut self.core };
                    if let Some(fill) = delivery.fill {
                        self.strategy.on_fill(&mut ctx, &fill);
                    }
                    self.strategy.on_order(&mut ctx, &delivery.update);
                }
            } else if let Some(timer) = self.core.timers.pop() {
                let mut ctx = TickContext { markets: &self.markets, core: &mut self.core };
                self.strategy.on_timer(&mut ctx, &timer);
            }
        }
    }

    /// A context between events, for a driver acting on the strategy's behalf (a runtime's command
    /// path, a test); its time is the last event's `ts_recv`.
    pub fn context(&mut self) -> TickContext<'_> {
        TickContext { markets: &self.markets, core: &mut self.core }
    }

    /// The market state of `instrument`, `None` when it is not in the table.
    pub fn market(&self, instrument: InstrumentId) -> Option<&MarketState> {
        self.markets.get(instrument.index())
    }

    /// Every instrument's market state, indexed by instrument.
    pub fn markets(&self) -> &[MarketState] {
        &self.markets
    }

    /// The engine's account (fills booked as their reports arrived).
    pub fn ledger(&self) -> &Ledger {
        &self.core.ledger
    }

    /// The venue's account (fills booked as they happened): equal to [`Engine::ledger`] once every
    /// report was delivered.
    pub fn venue_ledger(&self) -> &Ledger {
        &self.core.venue.ledger
    }

    /// Cash plus positions marked as [`TickContext::equity`] marks them.
    ///
    /// # Errors
    /// [`ArithError`] out of range.
    pub fn equity(&self) -> Result<Money, ArithError> {
        self.core.ledger.equity(|ins| self.markets.get(ins.index()).and_then(MarketState::mark))
    }

    /// An order still held by the engine (open, or its last reports in flight).
    pub fn order(&self, id: OrderId) -> Option<&TickOrder> {
        self.core.order(id)
    }

    /// The open orders.
    pub fn open_orders(&self) -> impl Iterator<Item = &TickOrder> {
        self.core.open_orders()
    }

    /// Room for working orders per instrument.
    pub fn resting_capacity(&self) -> usize {
        self.core.lane_capacity
    }

    /// What the engine counted so far.
    pub fn counters(&self) -> EngineCounters {
        self.core.counters
    }

    /// The engine's time: the last processed event's `ts_recv` (the epoch before the first).
    pub fn now(&self) -> Timestamp {
        self.core.now
    }

    /// The hosted strategy.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// The hosted strategy, mutably (to configure it between runs).
    pub fn strategy_mut(&mut self) -> &mut S {
        &mut self.strategy
    }

    /// The strategy back, when the run is over (to read what it recorded).
    pub fn into_strategy(self) -> S {
        self.strategy
    }
}
