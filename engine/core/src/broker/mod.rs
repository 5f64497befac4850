//! `SimBroker`: the bar-driven simulated broker with backtrader's `BackBroker` semantics.
//!
//! One broker step ([`SimBroker::step`]) does what `bbroker.py BackBroker.next` does, in its order:
//! activate bracket legs whose parent completed in an earlier step, check the cash of the newly
//! submitted orders, charge credit interest, walk the pending queue once (expire, or try to execute
//! against the order's feed's current bar), mark futures-like positions to market, then apply queued
//! cash additions and revalue. Matching per exec type, slippage and fillers live in [`matching`];
//! the cash arithmetic of an execution in [`execute`]. Every copied rule cites the backtrader
//! function it mirrors.
//!
//! Business refusals are data: a short of cash is a `Margin` notification, a leg whose parent is
//! gone a `Rejected` one; only broken invariants and arithmetic overflow are errors.
//!
//! # Limitations
//! backtrader re-transmits every order of a chain each time an order with `transmit=True` joins it,
//! even orders already sent (a second `Submitted` for a working parent). Kestrel sends each order
//! once: the rest of the chain is as backtrader's.

pub mod config;
mod execute;
mod matching;
pub mod notice;

use std::collections::VecDeque;

use kestrel_types::{
    ArithError, Bar, Exact, InstrumentId, Money, Notional, OrderId, Price, Rounding, Timestamp,
};

pub use config::{BrokerConfig, Filler, Slippage};
pub use notice::OrderNotice;

use crate::order::{OrderError, OrderSpec, OrderStore, Status, Submission};
use crate::position::Position;
use crate::scheme::{CommissionScheme, CompatError};

/// The rounding of every money result the broker derives.
const MODE: Rounding = Rounding::HalfEven;

/// Why a broker operation failed. Business refusals are notifications, not errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// An order operation broke the order model's rules.
    #[error(transparent)]
    Order(#[from] OrderError),
    /// A number left its range.
    #[error("broker: {0}")]
    Arith(#[from] ArithError),
    /// A backtrader binary64 floor could not be reproduced.
    #[error("broker: {0}")]
    Compat(#[from] CompatError),
    /// An instrument the broker has no feed for.
    #[error("broker: no feed for {0}")]
    UnknownFeed(InstrumentId),
    /// An order on a feed that has not delivered a bar yet (backtrader needs a close to create one).
    #[error("broker: {0} has no bar yet")]
    NoBar(InstrumentId),
}

/// One feed as the broker sees it: its current and previous bar, bar count, scheme, position, and
/// the credit interest accumulated for `int2pnl`.
#[derive(Clone, Debug)]
struct Feed {
    bar: Option<Bar>,
    prev: Option<Bar>,
    len: u64,
    scheme: CommissionScheme,
    position: Position,
    credit: Money,
}

/// A link in the broker's per-order table: an order id, or none (ids start at 1, 0 is free).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Link(u64);

impl Link {
    const NONE: Self = Self(0);

    fn to(id: OrderId) -> Self {
        Self(id.0)
    }

    fn get(self) -> Option<OrderId> {
        (self.0 != 0).then_some(OrderId(self.0))
    }
}

/// What the broker keeps per order beyond the order model (backtrader keeps these on the order),
/// and the order's place in backtrader's bookkeeping dicts, which are keyed by order and so live
/// here, in a dense table indexed by order id, instead of in ordered maps.
#[derive(Clone, Copy, Debug, Default)]
struct OrderSim {
    /// End of the creation day's session: when a `Close` order may fill.
    dteos: Timestamp,
    /// The last close seen before the session end (backtrader's `pannotated`).
    pannotated: Option<Price>,
    /// Fills already delivered in a notification.
    notified: usize,
    /// Its OCO group leader (backtrader's `_ocos[ref]`): itself unless it joined another's group.
    oco_leader: OrderId,
    /// As a leader, where its current group starts (backtrader's `_ocol[ref]`): members join in
    /// id order, and the group holds those with an id above this mark. A group is popped on its
    /// first check, which moves the mark to the newest order, so that a later joiner starts a
    /// fresh group under the same leader.
    oco_cut: u64,
    /// The next order of its chain (backtrader's `_pchildren` deque, as a linked list).
    chain_next: Link,
    /// As a chain root: the first order of its chain.
    chain_head: Link,
    /// As a chain root: the last order of its chain.
    chain_tail: Link,
    /// As a chain root: whether its chain exists (`pref in _pchildren`). It is created when the
    /// root is submitted, persists after the root completes (a later leg of it then never
    /// activates), and is deleted when the root or a leg is cancelled, refused or expires, or a
    /// leg completes (a later leg is then rejected).
    chain_live: bool,
    /// Whether the order was ever transmitted (kept in a chain once).
    transmitted: bool,
}

/// The simulated broker.
#[derive(Debug)]
pub struct SimBroker {
    config: BrokerConfig,
    feeds: Vec<Feed>,
    orders: OrderStore,
    /// Per order, indexed by id − 1: the broker's state and links (see [`OrderSim`]).
    sim: Vec<OrderSim>,
    pending: VecDeque<Option<OrderId>>,
    submitted: VecDeque<OrderId>,
    to_activate: VecDeque<OrderId>,
    cash: Money,
    cash_additions: VecDeque<Money>,
    value: Money,
    fund_shares: Notional,
    /// Fund shares at the last full revaluation: `value / valued_shares` is backtrader's
    /// `_fundval`, the share price every cash addition is booked at until the next revaluation.
    valued_shares: Notional,
    notices: Vec<OrderNotice>,
    exec_seq: u64,
    scratch: Vec<Option<Position>>,
}

/// Session end of a daily bar's date: 23:59:59.999989, the instant backtrader stamps daily bars with.
const SESSION_END_NANOS: i64 = 86_399_999_989_000;

/// Initial room of the order queues (pending, submitted, to activate). They hold the orders in
/// flight, not every order of the run, and grow when more are: sizing them by the run's order
/// capacity would only spread their ring over memory that is then touched for the first time.
const QUEUE_RESERVE: usize = 64;

impl SimBroker {
    /// A broker over `schemes.len()` feeds (feed `i` is `InstrumentId(i)`), each with its scheme,
    /// for at most `order_capacity` orders (the order tables are reserved for that many; memory is
    /// touched only as orders are placed).
    ///
    /// # Errors
    /// [`BrokerError::Arith`] if the fund start value is zero or the numbers overflow.
    pub fn new(
        config: BrokerConfig,
        schemes: Vec<CommissionScheme>,
        order_capacity: usize,
    ) -> Result<Self, BrokerError> {
        let feeds = schemes
            .into_iter()
            .map(|scheme| Feed {
                bar: None,
                prev: None,
                len: 0,
                scheme,
                position: Position::new(),
                credit: Money::ZERO,
            })
            .collect();
        // backtrader: bbroker.py BackBroker.start — shares = cash / fundstartval.
        let fund_shares =
            Exact::money(config.cash).try_div(Exact::money(config.fundstartval))?.to_notional(MODE)?;
        Ok(Self {
            config,
            feeds,
            orders: OrderStore::new(order_capacity, "sim")
                .map_err(|_| ArithError::Overflow { op: "OrderStore::new" })?,
            sim: Vec::with_capacity(order_capacity),
            pending: VecDeque::with_capacity(order_capacity.min(QUEUE_RESERVE) + 1),
            submitted: VecDeque::with_capacity(order_capacity.min(QUEUE_RESERVE)),
            to_activate: VecDeque::with_capacity(order_capacity.min(QUEUE_RESERVE)),
            cash: config.cash,
            cash_additions: VecDeque::new(),
            value: config.cash,
            fund_shares,
            valued_shares: fund_shares,
            notices: Vec::with_capacity(64),
            exec_seq: 0,
            scratch: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    fn feed(&self, ins: InstrumentId) -> Result<&Feed, BrokerError> {
        self.feeds.get(ins.index()).ok_or(BrokerError::UnknownFeed(ins))
    }

    fn feed_mut(&mut self, ins: InstrumentId) -> Result<&mut Feed, BrokerError> {
        self.feeds.get_mut(ins.index()).ok_or(BrokerError::UnknownFeed(ins))
    }

    /// Delivers a new bar of `ins`: it becomes the feed's current bar and its bar count grows.
    ///
    /// # Errors
    /// [`BrokerError::UnknownFeed`].
    pub fn set_bar(&mut self, ins: InstrumentId, bar: Bar) -> Result<(), BrokerError> {
        let feed = self.feed_mut(ins)?;
        feed.prev = feed.bar.replace(bar);
        feed.len += 1;
        Ok(())
    }

    /// Shows `last` (the feed's last bar) as the current bar of a feed that has not delivered a
    /// bar yet, without counting it: backtrader preloads every feed, and before a feed's first bar
    /// its lines read index -1, the *last* preloaded bar. An order placed on a feed that has not
    /// started is created against that bar (its time and close), is matched against its prices
    /// and a position in it is valued at its close, as in backtrader.
    ///
    /// # Errors
    /// [`BrokerError::UnknownFeed`].
    // backtrader: linebuffer.py LineBuffer.__getitem__ (array[idx + ago] with idx = -1 before the
    // first bar), as read by order.py OrderBase.__init__ and bbroker.py BackBroker._try_exec.
    pub fn preload_last(&mut self, ins: InstrumentId, last: Bar) -> Result<(), BrokerError> {
        let feed = self.feed_mut(ins)?;
        if feed.len == 0 {
            feed.bar = Some(last);
        }
        Ok(())
    }

    /// The current bar of `ins`.
    pub fn bar(&self, ins: InstrumentId) -> Option<Bar> {
        self.feeds.get(ins.index()).and_then(|f| f.bar)
    }

    /// How many bars `ins` has delivered (backtrader's `len(data)`).
    pub fn bar_count(&self, ins: InstrumentId) -> u64 {
        self.feeds.get(ins.index()).map_or(0, |f| f.len)
    }

    /// Cash.
    pub fn cash(&self) -> Money {
        self.cash
    }

    /// Portfolio value as of the last step.
    pub fn value(&self) -> Money {
        self.value
    }

    /// Fund value: value per fund share, as of the last step.
    pub fn fund_value(&self) -> Money {
        Exact::money(self.value)
            .try_div(Exact::notional(self.fund_shares))
            .and_then(|v| v.to_money(MODE))
            .unwrap_or(Money::ZERO)
    }

    /// Fund shares.
    pub fn fund_shares(&self) -> Notional {
        self.fund_shares
    }

    /// The position in `ins` (flat for an unknown feed).
    pub fn position(&self, ins: InstrumentId) -> Position {
        self.feeds.get(ins.index()).map_or_else(Position::new, |f| f.position)
    }

    /// The commission scheme of `ins`.
    ///
    /// # Errors
    /// [`BrokerError::UnknownFeed`].
    pub fn scheme(&self, ins: InstrumentId) -> Result<&CommissionScheme, BrokerError> {
        Ok(&self.feed(ins)?.scheme)
    }

    /// The order store (every order of the run).
    pub fn orders(&self) -> &OrderStore {
        &self.orders
    }

    /// Takes the notifications produced since the last call, in production order.
    pub fn drain_notices(&mut self) -> std::vec::Drain<'_, OrderNotice> {
        self.notices.drain(..)
    }

    /// Takes the notifications produced since the last call into `into` (emptied first), in
    /// production order, without copying them: the broker's buffer and `into` trade places, so
    /// both keep their room and nothing is allocated once they have grown to a step's needs.
    pub fn take_notices(&mut self, into: &mut Vec<OrderNotice>) {
        into.clear();
        core::mem::swap(&mut self.notices, into);
    }

    /// Queues a cash addition (negative withdraws), applied at the end of the next step.
    // backtrader: bbroker.py BackBroker.add_cash
    pub fn add_cash(&mut self, amount: Money) {
        self.cash_additions.push_back(amount);
    }

    /// Creates and submits an order (backtrader: bbroker.py BackBroker.buy / sell → submit).
    ///
    /// The order is created against its feed's current bar (its time and close); `spec.oco` and
    /// `spec.parent` name earlier orders. A request repeating an earlier one with the same client
    /// order id (a resubmission) is that order: its id is returned and nothing is submitted again.
    ///
    /// # Errors
    /// [`BrokerError::NoBar`] before the feed's first bar; [`BrokerError::Order`] for an impossible
    /// request or a bad link.
    pub fn submit(&mut self, spec: OrderSpec) -> Result<OrderId, BrokerError> {
        let ins = spec.instrument;
        let bar = self.feed(ins)?.bar.ok_or(BrokerError::NoBar(ins))?;
        let id = match self.orders.create(spec, bar.ts, bar.close)? {
            Submission::New(id) => id,
            Submission::Recognised(id) => return Ok(id),
        };
        // backtrader: order.py OrderBase.__init__ — end of the creation day's session.
        let day_end = Timestamp::from_nanos(bar.ts.start_of_day().nanos() + SESSION_END_NANOS);
        let dteos = if day_end < bar.ts {
            Timestamp::from_nanos(day_end.nanos() + kestrel_types::NANOS_PER_DAY)
        } else {
            day_end
        };
        self.sim.push(OrderSim { dteos, oco_leader: id, ..OrderSim::default() });
        self.ocoize(id, spec.oco);
        self.take_and_transmit(id)?;
        Ok(id)
    }

    // backtrader: bbroker.py BackBroker._ocoize — joining `_ocol[leader]` is implicit: the group
    // is every order with this leader and an id above the leader's cut (see `OrderSim::oco_cut`).
    fn ocoize(&mut self, id: OrderId, oco: Option<OrderId>) {
        // An `oco` naming an order the broker never submitted leads its own group, as a missing
        // `_ocos` entry would (the store refuses unknown links before this point).
        let leader = oco.and_then(|o| self.sim(o).ok()).map_or(id, |s| s.oco_leader);
        if let Ok(sim) = self.sim_mut(id) {
            sim.oco_leader = leader;
        }
    }

    fn sim_mut(&mut self, id: OrderId) -> Result<&mut OrderSim, BrokerError> {
        usize::try_from(id.0)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.sim.get_mut(i))
            .ok_or(BrokerError::Order(OrderError::UnknownOrder { order: id }))
    }

    fn sim(&self, id: OrderId) -> Result<OrderSim, BrokerError> {
        usize::try_from(id.0)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.sim.get(i))
            .copied()
            .ok_or(BrokerError::Order(OrderError::UnknownOrder { order: id }))
    }

    fn now(&self, id: OrderId) -> Result<Timestamp, BrokerError> {
        let ins = self.orders.order(id)?.instrument();
        Ok(self.feed(ins)?.bar.map_or(Timestamp::EPOCH, |b| b.ts))
    }

    /// The chain root of `id`, or `None` when it is a leg whose parent's chain is gone (then the leg
    /// is rejected and notified). backtrader: bbroker.py BackBroker._take_children.
    fn take_children(&mut self, id: OrderId) -> Result<Option<OrderId>, BrokerError> {
        let root = self.orders.order(id)?.parent().unwrap_or(id);
        if root != id && !self.sim(root)?.chain_live {
            let now = self.now(id)?;
            self.orders.order_mut(id)?.reject(now)?;
            self.notify(id)?;
            return Ok(None);
        }
        Ok(Some(root))
    }

    // backtrader: bbroker.py BackBroker.submit — `_pchildren[pref].append(order)`, then transmit
    // the chain.
    fn take_and_transmit(&mut self, id: OrderId) -> Result<(), BrokerError> {
        let Some(root) = self.take_children(id)? else { return Ok(()) };
        let r = self.sim_mut(root)?;
        let tail = if r.chain_live {
            r.chain_tail
        } else {
            // The defaultdict creates the root's deque.
            r.chain_live = true;
            r.chain_head = Link::NONE;
            Link::NONE
        };
        r.chain_tail = Link::to(id);
        match tail.get() {
            Some(last) => self.sim_mut(last)?.chain_next = Link::to(id),
            None => self.sim_mut(root)?.chain_head = Link::to(id),
        }
        self.sim_mut(id)?.chain_next = Link::NONE;
        if self.orders.order(id)?.transmit() {
            // Transmitting changes no chain, so the walk can follow the links as it goes.
            let mut next = self.sim(root)?.chain_head.get();
            while let Some(member) = next {
                let sim = self.sim(member)?;
                next = sim.chain_next.get();
                if !sim.transmitted {
                    self.transmit(member)?;
                }
            }
        }
        Ok(())
    }

    // backtrader: bbroker.py BackBroker.transmit
    fn transmit(&mut self, id: OrderId) -> Result<(), BrokerError> {
        self.sim_mut(id)?.transmitted = true;
        if self.config.checksubmit {
            self.orders.order_mut(id)?.submit()?;
            self.submitted.push_back(id);
            self.notify(id)
        } else {
            self.submit_accept(id)
        }
    }

    // backtrader: bbroker.py BackBroker.submit_accept
    fn submit_accept(&mut self, id: OrderId) -> Result<(), BrokerError> {
        let order = self.orders.order_mut(id)?;
        if order.status() == Status::Created {
            order.submit()?;
        }
        order.accept()?;
        self.pending.push_back(Some(id));
        self.notify(id)
    }

    /// Records a notification of `id` as it is now (backtrader: bbroker.py BackBroker.notify, which
    /// clones the order and marks the fills delivered).
    fn notify(&mut self, id: OrderId) -> Result<(), BrokerError> {
        let order = self.orders.order(id)?;
        let fills = order.fills().len();
        let sim = self.sim_mut(id)?;
        let from = sim.notified;
        sim.notified = fills;
        let order = self.orders.order(id)?;
        self.notices.push(OrderNotice::of(order, from..fills));
        Ok(())
    }

    /// Cancels a pending order; an order not in the pending queue is left alone (returns `false`).
    ///
    /// # Errors
    /// [`BrokerError::Order`] on a broken invariant.
    // backtrader: bbroker.py BackBroker.cancel
    pub fn cancel(&mut self, id: OrderId) -> Result<bool, BrokerError> {
        self.cancel_inner(id, false)
    }

    fn cancel_inner(&mut self, id: OrderId, bracket: bool) -> Result<bool, BrokerError> {
        let Some(pos) = self.pending.iter().position(|o| *o == Some(id)) else { return Ok(false) };
        self.pending.remove(pos);
        let now = self.now(id)?;
        self.orders.order_mut(id)?.cancel(now)?;
        self.notify(id)?;
        self.oco_check(id)?;
        if !bracket {
            self.bracketize(id, true)?;
        }
        Ok(true)
    }

    // backtrader: bbroker.py BackBroker._ococheck — pop the group, then cancel its members still
    // pending, walking the pending queue from its end.
    fn oco_check(&mut self, id: OrderId) -> Result<(), BrokerError> {
        let leader = self.sim(id)?.oco_leader;
        // Every order up to the newest has joined its group by now: popping the group moves the cut.
        let newest = self.sim.len() as u64;
        let cut = core::mem::replace(&mut self.sim_mut(leader)?.oco_cut, newest);
        if cut >= newest {
            return Ok(()); // nobody joined since the last pop: `_ocol.pop` gives nothing
        }
        let mut i = self.pending.len();
        while i > 0 {
            i -= 1;
            if let Some(Some(o)) = self.pending.get(i).copied()
                && o.0 > cut
                && self.sim(o)?.oco_leader == leader
            {
                self.pending.remove(i);
                let now = self.now(o)?;
                self.orders.order_mut(o)?.cancel(now)?;
                self.notify(o)?;
            }
        }
        Ok(())
    }

    // backtrader: bbroker.py BackBroker._bracketize
    fn bracketize(&mut self, id: OrderId, cancel: bool) -> Result<(), BrokerError> {
        let root = self.orders.order(id)?.parent().unwrap_or(id);
        let is_parent = root == id;
        let r = self.sim_mut(root)?;
        if !r.chain_live {
            // No chain: nothing to cancel (`del` of the entry the defaultdict just made) or activate.
            return Ok(());
        }
        if cancel || !is_parent {
            // Delete the chain, then cancel its members in order. Cancelling changes no chain.
            r.chain_live = false;
            let mut next = core::mem::replace(&mut r.chain_head, Link::NONE).get();
            r.chain_tail = Link::NONE;
            while let Some(member) = next {
                next = self.sim(member)?.chain_next.get();
                self.cancel_inner(member, true)?;
            }
        } else {
            // The parent executed: drop the chain's first order (the parent), activate the rest.
            let mut next = r.chain_head.get();
            if let Some(first) = next {
                next = self.sim(first)?.chain_next.get();
                let r = self.sim_mut(root)?;
                r.chain_head = next.map_or(Link::NONE, Link::to);
                if next.is_none() {
                    r.chain_tail = Link::NONE;
                }
            }
            while let Some(member) = next {
                self.to_activate.push_back(member);
                next = self.sim(member)?.chain_next.get();
            }
        }
        Ok(())
    }

    // backtrader: bbroker.py BackBroker.check_submitted
    fn check_submitted(&mut self) -> Result<(), BrokerError> {
        if self.submitted.is_empty() {
            return Ok(());
        }
        let mut cash = self.cash;
        // The running position copies, in a buffer kept between steps (no allocation per step).
        let mut positions = core::mem::take(&mut self.scratch);
        positions.clear();
        positions.resize(self.feeds.len(), None);
        let result = self.check_batch(&mut cash, &mut positions);
        self.scratch = positions;
        result
    }

    fn check_batch(
        &mut self,
        cash: &mut Money,
        positions: &mut [Option<Position>],
    ) -> Result<(), BrokerError> {
        while let Some(id) = self.submitted.pop_front() {
            if self.take_children(id)?.is_none() {
                continue;
            }
            let ins = self.orders.order(id)?.instrument();
            let slot = positions.get_mut(ins.index()).ok_or(BrokerError::UnknownFeed(ins))?;
            let mut position = slot.unwrap_or(self.feeds[ins.index()].position);
            *cash = self.pseudo_execute(id, *cash, &mut position)?;
            positions[ins.index()] = Some(position);
            if !cash.is_negative() {
                self.submit_accept(id)?;
                continue;
            }
            let now = self.now(id)?;
            self.orders.order_mut(id)?.margin(now)?;
            self.notify(id)?;
            self.oco_check(id)?;
            self.bracketize(id, true)?;
        }
        Ok(())
    }

    /// One broker step over the feeds' current bars.
    ///
    /// # Errors
    /// [`BrokerError`] only for overflow or a broken invariant.
    // backtrader: bbroker.py BackBroker.next
    pub fn step(&mut self) -> Result<(), BrokerError> {
        while let Some(id) = self.to_activate.pop_front() {
            self.orders.order_mut(id)?.activate();
        }
        if self.config.checksubmit {
            self.check_submitted()?;
        }
        // Credit interest on open positions; each charged position is marked.
        let mut credit = Money::ZERO;
        for feed in &mut self.feeds {
            if feed.position.is_flat() {
                continue;
            }
            let Some(bar) = feed.bar else { continue };
            let d = feed.scheme.credit_interest(&feed.position, bar.ts)?;
            feed.credit = feed.credit.try_add(d)?;
            credit = credit.try_add(d)?;
            feed.position.mark_interest_charged(bar.ts);
        }
        self.cash = self.cash.try_sub(credit)?;

        // Walk the pending queue once.
        self.pending.push_back(None);
        while let Some(slot) = self.pending.pop_front() {
            let Some(id) = slot else { break };
            let now = self.now(id)?;
            let order = self.orders.order(id)?;
            if order.is_expired_at(now) {
                self.orders.order_mut(id)?.expire(now)?;
                self.notify(id)?;
                self.oco_check(id)?;
                self.bracketize(id, true)?;
            } else if !order.is_active() {
                self.pending.push_back(Some(id));
            } else {
                self.try_exec(id)?;
                let status = self.orders.order(id)?.status();
                if status.is_alive() {
                    self.pending.push_back(Some(id));
                } else if status == Status::Completed {
                    self.bracketize(id, false)?;
                }
            }
        }

        // Futures-like positions: cash follows the close every bar.
        for feed in &mut self.feeds {
            if feed.position.is_flat() {
                continue;
            }
            let Some(bar) = feed.bar else { continue };
            if let Some(base) = feed.position.adjbase() {
                let adj = feed.scheme.cash_adjust(feed.position.size(), base, bar.close)?;
                self.cash = self.cash.try_add(adj)?;
            }
            feed.position.set_adjbase(bar.close);
        }
        self.revalue()
    }

    fn apply_cash_additions(&mut self) -> Result<(), BrokerError> {
        while let Some(c) = self.cash_additions.pop_front() {
            // backtrader: bbroker.py BackBroker._get_value — `_fundshares += c / self._fundval`:
            // every addition is booked at the fund value of the last full revaluation (several
            // additions in one step all use it), not at one recomputed from the grown shares.
            let added = Exact::money(c)
                .try_div(Exact::money(self.value))?
                .try_mul(Exact::notional(self.valued_shares))?
                .to_notional(MODE)?;
            self.fund_shares = self.fund_shares.try_add(added)?;
            self.cash = self.cash.try_add(c)?;
        }
        Ok(())
    }

    /// The raw value of one feed's position at its close (backtrader's `getvaluesize`, or
    /// `getvalue` without `shortcash`).
    fn raw_value(&self, feed: &Feed) -> Result<Money, BrokerError> {
        let Some(bar) = feed.bar else { return Ok(Money::ZERO) };
        let pos = &feed.position;
        Ok(if self.config.shortcash {
            feed.scheme.value_size(pos.size(), bar.close)?
        } else {
            feed.scheme.position_value(pos, bar.close)?
        })
    }

    /// What one position adds to the portfolio value: its raw value, with the levered part of a
    /// positive value scaled back, `(v − u) / leverage + u` (u the unrealised pnl).
    fn contribution(&self, feed: &Feed) -> Result<Money, BrokerError> {
        let mut value = self.raw_value(feed)?;
        if !self.config.shortcash {
            value = value.abs();
        }
        let leverage = feed.scheme.leverage();
        if !value.is_positive() || leverage == kestrel_types::Ratio::ONE {
            // Without leverage the formula is the value itself.
            return Ok(value);
        }
        let Some(bar) = feed.bar else { return Ok(value) };
        let pos = &feed.position;
        // size × (close − avg) × mult = (size × close − cost) × mult, exactly.
        let unrealized = Exact::notional(pos.size().notional(bar.close))
            .try_sub(Exact::notional(pos.cost_basis()))?
            .try_mul(Exact::ratio(feed.scheme.mult()))?;
        Ok(Exact::money(value)
            .try_sub(unrealized)?
            .try_div(Exact::ratio(leverage))?
            .try_add(unrealized)?
            .to_money(MODE)?)
    }

    // backtrader: bbroker.py BackBroker._get_value (datas=None)
    fn revalue(&mut self) -> Result<(), BrokerError> {
        self.apply_cash_additions()?;
        let mut total = self.cash;
        for feed in &self.feeds {
            if !feed.position.is_flat() {
                total = total.try_add(self.contribution(feed)?)?;
            }
        }
        self.value = total;
        self.valued_shares = self.fund_shares;
        Ok(())
    }

    /// The value of one feed's position as backtrader's `getvalue(datas=[data])` gives it: the raw
    /// value (negative for stock-like shorts), no leverage correction. Applies queued cash
    /// additions first, as backtrader does.
    ///
    /// # Errors
    /// [`BrokerError`] on overflow or an unknown feed.
    // backtrader: bbroker.py BackBroker._get_value (one data)
    pub fn feed_position_value(&mut self, ins: InstrumentId) -> Result<Money, BrokerError> {
        self.apply_cash_additions()?;
        let feed = self.feed(ins)?;
        self.raw_value(feed)
    }

    /// Whether `id` is in the pending queue (what `cancel` acts on).
    pub fn is_pending(&self, id: OrderId) -> bool {
        self.pending.contains(&Some(id))
    }

    fn next_exec_id(&mut self) -> Result<kestrel_types::ExecId, BrokerError> {
        self.exec_seq += 1;
        kestrel_types::ExecId::try_numbered("sim-", self.exec_seq)
            .map_err(|_| BrokerError::Arith(ArithError::Overflow { op: "exec id" }))
    }

    /// Every feed's position size (for reports).
    pub fn positions(&self) -> impl Iterator<Item = (InstrumentId, Position)> + '_ {
        self.feeds
            .iter()
            .enumerate()
            .map(|(i, f)| (InstrumentId(u16::try_from(i).unwrap_or(u16::MAX)), f.position))
    }
}

#[cfg(test)]
mod tests;
