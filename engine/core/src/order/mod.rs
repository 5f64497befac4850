//! Orders: what was asked (exec type, price, validity, links), where the order is (the state
//! machine of [`status`]), and what was executed ([`execution`]).
//!
//! backtrader's order model (order.py) with what live venues need added in the same type: a cancel
//! or amend in flight is visible as a [`PendingChange`] until the venue answers; fills may arrive
//! before the acceptance or after the cancel and are applied once; each fill carries the venue's
//! execution id and a repeated one is ignored. The [`store`] adds unique client order ids and the
//! OCO / bracket links between orders.
//!
//! # Invariants
//! `executed.size + executed.remaining == size` after every fill (checked in debug builds), and the
//! sign of every fill is the sign of the order.

mod error;
pub mod execution;
pub mod status;
pub mod store;

pub use error::{OrderError, SpecError};
pub use execution::{Executed, Fill};
pub use status::{IllegalTransition, KeptReason, Status, StatusEvent, Transition};
pub use store::{OrderStore, Released, Submission};

use kestrel_types::{
    ArithError, ClientIdPrefix, ClientOrderId, InstrumentId, NANOS_PER_DAY, OrderId, Price, Qty, Ratio,
    Rounding, TimeSpan, Timestamp,
};

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy: a positive size.
    Buy,
    /// Sell: a negative size.
    Sell,
}

impl Side {
    /// `size` with this side's sign (sizes in a spec are positive; an order's size is signed).
    pub fn signed(self, size: Qty) -> Qty {
        match self {
            Self::Buy => size.abs(),
            Self::Sell => -size.abs(),
        }
    }

    /// backtrader's lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        }
    }
}

/// How an order executes (backtrader's exec types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExecType {
    /// At the next available price.
    Market,
    /// At the session's closing price.
    Close,
    /// At the limit price or better.
    Limit,
    /// A market order once the trigger price trades.
    Stop,
    /// A limit order (at `price_limit`) once the trigger price trades.
    StopLimit,
    /// A stop whose trigger trails the price by an amount or a percent.
    StopTrail,
    /// A stop-limit whose trigger trails the price; the limit keeps its offset to the trigger.
    StopTrailLimit,
}

impl ExecType {
    /// Every exec type.
    pub const ALL: [Self; 7] = [
        Self::Market,
        Self::Close,
        Self::Limit,
        Self::Stop,
        Self::StopLimit,
        Self::StopTrail,
        Self::StopTrailLimit,
    ];

    /// backtrader's name, as conformance scenarios spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Market => "Market",
            Self::Close => "Close",
            Self::Limit => "Limit",
            Self::Stop => "Stop",
            Self::StopLimit => "StopLimit",
            Self::StopTrail => "StopTrail",
            Self::StopTrailLimit => "StopTrailLimit",
        }
    }

    /// Parses backtrader's name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Whether the trigger trails the price.
    pub const fn is_trailing(self) -> bool {
        matches!(self, Self::StopTrail | Self::StopTrailLimit)
    }
}

/// How long an order may work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Good till canceled.
    Gtc,
    /// Until the end of the creation day (backtrader's `Order.DAY`: 23:59:59.009999 of that date).
    Day,
    /// Until an absolute instant (backtrader's `valid=datetime`; a date means its 00:00).
    Until(Timestamp),
    /// For a span after creation; a zero span means [`Validity::Day`], as backtrader's `DAY` is the
    /// empty timedelta.
    For(TimeSpan),
}

impl Validity {
    /// The instant after which the order expires, for an order created at `created`.
    ///
    /// backtrader: order.py OrderBase.__init__ (the `valid` branches).
    pub fn expiry(self, created: Timestamp) -> Option<Timestamp> {
        // 23:59:59 and 9999 µs: backtrader's time(23, 59, 59, 9999).
        const DAY_END: i64 = NANOS_PER_DAY - 1_000_000_000 + 9_999_000;
        match self {
            Self::Gtc => None,
            Self::Until(t) => Some(t),
            Self::Day => Some(Timestamp::from_nanos(created.start_of_day().nanos().saturating_add(DAY_END))),
            Self::For(span) if span == TimeSpan::ZERO => Self::Day.expiry(created),
            Self::For(span) => Some(created.checked_add(span).unwrap_or(Timestamp::MAX)),
        }
    }
}

/// The distance a trailing stop keeps from the price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trail {
    /// A fixed price distance (backtrader's `trailamount`).
    Amount(Price),
    /// A fraction of the reference price (backtrader's `trailpercent`: 0.02 is 2%).
    Percent(Ratio),
}

impl Trail {
    /// The distance for reference price `price`; a percent distance is rounded half-even onto the
    /// nano grid, once.
    ///
    /// # Errors
    /// [`ArithError::Overflow`] out of range.
    pub fn distance(self, price: Price) -> Result<Price, ArithError> {
        match self {
            Self::Amount(a) => Ok(a),
            Self::Percent(r) => price.scale_by(r, Rounding::HalfEven),
        }
    }
}

/// A request for a new order: what a strategy asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderSpec {
    /// What to trade.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// How much, positive (the side gives the sign).
    pub size: Qty,
    /// How it executes.
    pub exec_type: ExecType,
    /// Limit price (Limit), trigger (Stop, StopLimit), reference for trails; `None` uses
    /// `price_limit`, else the reference close at creation (backtrader's `OrderData`).
    pub price: Option<Price>,
    /// Limit of a StopLimit / StopTrailLimit; `None` uses `price`.
    pub price_limit: Option<Price>,
    /// Trail distance for StopTrail / StopTrailLimit (none means a zero distance, as in backtrader).
    pub trail: Option<Trail>,
    /// How long it may work.
    pub validity: Validity,
    /// An earlier order whose OCO group this one joins.
    pub oco: Option<OrderId>,
    /// The bracket parent this order is a leg of.
    pub parent: Option<OrderId>,
    /// `false` holds the order until a later order of the same chain is placed with `true`.
    pub transmit: bool,
    /// The client order id to use; `None` lets the store assign a stable one.
    pub client_id: Option<ClientOrderId>,
}

impl OrderSpec {
    /// A market order: the other fields at their defaults.
    pub fn market(instrument: InstrumentId, side: Side, size: Qty) -> Self {
        Self {
            instrument,
            side,
            size,
            exec_type: ExecType::Market,
            price: None,
            price_limit: None,
            trail: None,
            validity: Validity::Gtc,
            oco: None,
            parent: None,
            transmit: true,
            client_id: None,
        }
    }

    /// An order of `exec_type` at `price`.
    pub fn priced(
        instrument: InstrumentId,
        side: Side,
        size: Qty,
        exec_type: ExecType,
        price: Price,
    ) -> Self {
        Self { exec_type, price: Some(price), ..Self::market(instrument, side, size) }
    }

    /// Checks what can be checked without a market: size, prices, trail.
    ///
    /// # Errors
    /// [`SpecError`] naming what is impossible.
    pub fn validate(&self) -> Result<(), SpecError> {
        if !self.size.is_positive() {
            return Err(SpecError::SizeNotPositive { size: self.size });
        }
        for p in [self.price, self.price_limit].into_iter().flatten() {
            if p.is_negative() {
                return Err(SpecError::NegativePrice { price: p });
            }
        }
        match self.trail {
            Some(_) if !self.exec_type.is_trailing() => {
                return Err(SpecError::TrailOnNonTrailing { exec_type: self.exec_type });
            }
            Some(Trail::Amount(a)) if a.is_negative() => return Err(SpecError::NegativeTrail),
            Some(Trail::Percent(r)) if r.is_negative() || r >= Ratio::ONE => {
                return Err(SpecError::TrailPercentOutOfRange { percent: r });
            }
            _ => {}
        }
        if let Validity::For(span) = self.validity
            && span < TimeSpan::ZERO
        {
            return Err(SpecError::NegativeValidity);
        }
        Ok(())
    }
}

/// A cancel or amend sent to the venue and not yet answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingChange {
    /// A cancel is in flight (pending-cancel).
    Cancel,
    /// An amend is in flight (pending-replace) with the values asked for.
    Replace(Amend),
}

/// New values for a working order; `None` keeps the current one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amend {
    /// New price (limit or trigger).
    pub price: Option<Price>,
    /// New limit of a stop-limit.
    pub price_limit: Option<Price>,
    /// New total size, positive (not the remaining size: venues amend the total).
    pub size: Option<Qty>,
}

/// What applying a fill did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillOutcome {
    /// The fill was booked; the status moved or was kept as the transition says.
    Applied(Transition),
    /// The execution id was seen before on this order: nothing changed.
    Duplicate,
}

/// Where an order's client id comes from.
///
/// A generated id is `<prefix>-<order id>`, rebuilt when asked for, so the order record does not
/// carry 65 bytes of text; a user's own id is boxed (rare, and kept out of every other record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClientRef {
    /// Generated by the store from its prefix and the order id.
    Generated(ClientIdPrefix),
    /// Given by the user in the request.
    User(Box<ClientOrderId>),
}

/// An order's fills, the first one inline: most orders fill once, and that fill then needs no
/// heap block of its own (nor its allocation and first touch on the hot path).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Fills {
    /// No fill yet.
    #[default]
    None,
    /// Exactly one fill.
    One(Fill),
    /// Two or more fills, in order.
    Many(Vec<Fill>),
}

impl Fills {
    fn as_slice(&self) -> &[Fill] {
        match self {
            Self::None => &[],
            Self::One(f) => core::slice::from_ref(f),
            Self::Many(v) => v,
        }
    }

    fn push(&mut self, fill: Fill) {
        match self {
            Self::None => *self = Self::One(fill),
            Self::One(first) => {
                let mut v = Vec::with_capacity(4);
                v.push(*first);
                v.push(fill);
                *self = Self::Many(v);
            }
            Self::Many(v) => v.push(fill),
        }
    }
}

/// One order: the request, its links, its status and its executions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    id: OrderId,
    client: ClientRef,
    instrument: InstrumentId,
    exec_type: ExecType,
    size: Qty,
    created_at: Timestamp,
    pclose: Price,
    price: Price,
    price_limit: Price,
    trail: Option<Trail>,
    limit_offset: Price,
    expiry: Option<Timestamp>,
    oco: Option<OrderId>,
    parent: Option<OrderId>,
    transmit: bool,
    active: bool,
    triggered: bool,
    status: Status,
    pending: Option<PendingChange>,
    executed: Executed,
    fills: Fills,
}

impl Order {
    /// Builds an order from a validated spec (backtrader: order.py OrderBase.__init__).
    ///
    /// `pclose` is the close of the bar (or the last price) at creation: the default price.
    /// `oco` is the resolved OCO group leader.
    ///
    /// # Errors
    /// [`OrderError::Spec`] for an impossible spec; [`OrderError::Arith`] if the trail overflows.
    pub(crate) fn new(
        id: OrderId,
        client: ClientRef,
        spec: &OrderSpec,
        created_at: Timestamp,
        pclose: Price,
        oco_leader: Option<OrderId>,
    ) -> Result<Self, OrderError> {
        spec.validate().map_err(|reason| OrderError::Spec { order: id, reason })?;
        // backtrader: order.py OrderData.__init__ — price falls back to the limit, then to the close;
        // the limit falls back to the price.
        let price = spec.price.or(spec.price_limit).unwrap_or(pclose);
        let price_limit = spec.price_limit.unwrap_or(price);
        let size = spec.side.signed(spec.size);
        let mut order = Self {
            id,
            client,
            instrument: spec.instrument,
            exec_type: spec.exec_type,
            size,
            created_at,
            pclose,
            price,
            price_limit,
            trail: spec.trail,
            limit_offset: Price::ZERO,
            expiry: spec.validity.expiry(created_at),
            oco: oco_leader,
            parent: spec.parent,
            transmit: spec.transmit,
            active: spec.parent.is_none(),
            triggered: false,
            status: Status::Created,
            pending: None,
            executed: Executed::new(size),
            fills: Fills::None,
        };
        if spec.exec_type.is_trailing() {
            // backtrader: order.py OrderBase.__init__ — the limit keeps its creation offset to the
            // trigger, and the trigger starts one distance away from the reference price.
            let arith = |source| OrderError::Arith { order: id, source };
            order.limit_offset = price.try_sub(price_limit).map_err(arith)?;
            let distance = order.trail_distance(price).map_err(arith)?;
            order.price = match spec.side {
                Side::Buy => price.try_add(distance),
                Side::Sell => price.try_sub(distance),
            }
            .map_err(arith)?;
            order.price_limit = order.price.try_sub(order.limit_offset).map_err(arith)?;
        }
        Ok(order)
    }

    fn trail_distance(&self, reference: Price) -> Result<Price, ArithError> {
        self.trail.map_or(Ok(Price::ZERO), |t| t.distance(reference))
    }

    /// Ratchets a trailing stop with a new reference price (backtrader: order.py Order.trailadjust):
    /// a sell stop only rises, a buy stop only falls; the limit of a StopTrailLimit follows at its
    /// offset. Does nothing for other exec types.
    ///
    /// # Errors
    /// [`OrderError::Arith`] at the edge of the range.
    pub fn trail_adjust(&mut self, reference: Price) -> Result<(), OrderError> {
        if !self.exec_type.is_trailing() {
            return Ok(());
        }
        let arith = |source| OrderError::Arith { order: self.id, source };
        let distance = self.trail_distance(reference).map_err(arith)?;
        let candidate = if self.is_buy() {
            reference.try_add(distance).map_err(arith)?
        } else {
            reference.try_sub(distance).map_err(arith)?
        };
        let tighter = if self.is_buy() { candidate < self.price } else { candidate > self.price };
        if tighter {
            self.price = candidate;
            if self.exec_type == ExecType::StopTrailLimit {
                self.price_limit = candidate.try_sub(self.limit_offset).map_err(arith)?;
            }
        }
        Ok(())
    }

    /// Its engine id (creation order).
    pub fn id(&self) -> OrderId {
        self.id
    }
    /// Its client order id, stable across reconnects.
    pub fn client_id(&self) -> ClientOrderId {
        match &self.client {
            ClientRef::Generated(prefix) => prefix.id(self.id.0),
            ClientRef::User(id) => **id,
        }
    }
    /// Whether its client order id was generated by the store (not given in the request).
    pub(crate) fn has_generated_client_id(&self) -> bool {
        matches!(self.client, ClientRef::Generated(_))
    }
    /// What it trades.
    pub fn instrument(&self) -> InstrumentId {
        self.instrument
    }
    /// How it executes.
    pub fn exec_type(&self) -> ExecType {
        self.exec_type
    }
    /// Signed size (negative for sells).
    pub fn size(&self) -> Qty {
        self.size
    }
    /// Buy or sell.
    pub fn side(&self) -> Side {
        if self.size.is_negative() { Side::Sell } else { Side::Buy }
    }
    /// Whether it buys.
    pub fn is_buy(&self) -> bool {
        self.side() == Side::Buy
    }
    /// When it was created.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
    /// The reference close at creation (backtrader's `created.pclose`).
    pub fn pclose(&self) -> Price {
        self.pclose
    }
    /// Limit price, trigger price, or the current trailing stop.
    pub fn price(&self) -> Price {
        self.price
    }
    /// The limit of a stop-limit (equals `price` for other types).
    pub fn price_limit(&self) -> Price {
        self.price_limit
    }
    /// The trail distance rule, for trailing stops.
    pub fn trail(&self) -> Option<Trail> {
        self.trail
    }
    /// The instant after which it expires (`None`: good till canceled).
    pub fn expiry(&self) -> Option<Timestamp> {
        self.expiry
    }
    /// Whether it has expired at `now` (never for Market orders, which always execute).
    ///
    /// backtrader: order.py Order.expire — strictly after the expiry instant.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.exec_type != ExecType::Market && self.expiry.is_some_and(|e| now > e)
    }
    /// Its OCO group leader, if it is in a group.
    pub fn oco(&self) -> Option<OrderId> {
        self.oco
    }
    pub(crate) fn set_oco_leader(&mut self, leader: OrderId) {
        self.oco = Some(leader);
    }
    /// Its bracket parent, if it is a leg.
    pub fn parent(&self) -> Option<OrderId> {
        self.parent
    }
    /// Whether it was placed with `transmit = true`.
    pub fn transmit(&self) -> bool {
        self.transmit
    }
    /// Whether it may execute: bracket legs wait until their parent completes.
    pub fn is_active(&self) -> bool {
        self.active
    }
    /// Makes a bracket leg executable (its parent completed).
    pub fn activate(&mut self) {
        self.active = true;
    }
    /// Whether a stop-limit has triggered and now works as a limit.
    pub fn is_triggered(&self) -> bool {
        self.triggered
    }
    /// Marks a stop-limit as triggered.
    pub fn trigger(&mut self) {
        self.triggered = true;
    }
    /// Its status.
    pub fn status(&self) -> Status {
        self.status
    }
    /// Whether it can still execute.
    pub fn is_alive(&self) -> bool {
        self.status.is_alive()
    }
    /// A cancel or amend in flight, if any.
    pub fn pending(&self) -> Option<PendingChange> {
        self.pending
    }
    /// Cumulative execution state.
    pub fn executed(&self) -> &Executed {
        &self.executed
    }
    /// Signed size still to execute.
    pub fn remaining(&self) -> Qty {
        self.executed.remaining
    }
    /// Every fill applied, in order.
    pub fn fills(&self) -> &[Fill] {
        self.fills.as_slice()
    }

    /// What `event` would do now, without doing it.
    fn check(&self, event: StatusEvent) -> Result<Transition, OrderError> {
        self.status.apply(event).map_err(|e| OrderError::BadTransition {
            order: self.id,
            from: e.from,
            event: e.event,
        })
    }

    fn commit(&mut self, t: Transition) -> Transition {
        self.status = t.status();
        if self.status.is_final() {
            // A final answer settles whatever cancel or amend was in flight.
            self.pending = None;
        }
        t
    }

    fn transition(&mut self, event: StatusEvent) -> Result<Transition, OrderError> {
        let t = self.check(event)?;
        Ok(self.commit(t))
    }

    fn stamp(&mut self, t: Transition, at: Timestamp) -> Transition {
        if matches!(t, Transition::Moved { .. }) && t.status().is_final() {
            self.executed.at = Some(at);
        }
        t
    }

    /// Hands the order to a broker or venue.
    ///
    /// # Errors
    /// [`OrderError::BadTransition`] unless it is `Created`.
    pub fn submit(&mut self) -> Result<Transition, OrderError> {
        self.transition(StatusEvent::Submit)
    }

    /// Records the acknowledgement (late or repeated ones are kept, not refused).
    ///
    /// # Errors
    /// [`OrderError::BadTransition`] from `Created`, `Margin` or `Rejected`.
    pub fn accept(&mut self) -> Result<Transition, OrderError> {
        self.transition(StatusEvent::Accept)
    }

    /// Cancels the order at `at`.
    ///
    /// # Errors
    /// [`OrderError::BadTransition`] if it already completed or was refused.
    pub fn cancel(&mut self, at: Timestamp) -> Result<Transition, OrderError> {
        let t = self.transition(StatusEvent::Cancel)?;
        Ok(self.stamp(t, at))
    }

    /// Expires the order at `at`.
    ///
    /// # Errors
    /// [`OrderError::BadTransition`] unless it is working.
    pub fn expire(&mut self, at: Timestamp) -> Result<Transition, OrderError> {
        let t = self.transition(StatusEvent::Expire)?;
        Ok(self.stamp(t, at))
    }

    /// Refuses the order for cash or margin at `at`.
    ///
    /// # Errors
    /// [`OrderError::BadTransition`] unless it is working.
    pub fn margin(&mut self, at: Timestamp) -> Result<Transition, OrderError> {
        let t = self.transition(StatusEvent::Margin)?;
        Ok(self.stamp(t, at))
    }

    /// Rejects the order at `at`.
    ///
    /// # Errors
    /// [`OrderError::BadTransition`] once it has filled or ended.
    pub fn reject(&mut self, at: Timestamp) -> Result<Transition, OrderError> {
        let t = self.transition(StatusEvent::Reject)?;
        Ok(self.stamp(t, at))
    }

    /// Applies one fill, once.
    ///
    /// A fill whose execution id this order has already seen is ignored ([`FillOutcome::Duplicate`]).
    /// A fill before the acceptance moves the order straight to `Partial`/`Completed`; a fill after a
    /// cancel is booked and the order stays `Canceled` (see [`status`]).
    ///
    /// # Errors
    /// [`OrderError::ZeroFill`], [`OrderError::WrongSide`], [`OrderError::Overfill`],
    /// [`OrderError::BadTransition`] (a fill on a completed or refused order), [`OrderError::Arith`];
    /// the order is unchanged after any error.
    pub fn apply_fill(&mut self, fill: &Fill) -> Result<FillOutcome, OrderError> {
        if self.fills.as_slice().iter().any(|f| f.exec_id == fill.exec_id) {
            return Ok(FillOutcome::Duplicate);
        }
        if fill.size.is_zero() {
            return Err(OrderError::ZeroFill { order: self.id });
        }
        if fill.size.signum() != self.size.signum() {
            return Err(OrderError::WrongSide { order: self.id, size: self.size, fill: fill.size });
        }
        let remaining = self.executed.remaining;
        if fill.size.abs() > remaining.abs() {
            return Err(OrderError::Overfill { order: self.id, remaining, fill: fill.size });
        }
        // Check the state machine and the sums before changing anything.
        let completes = fill.size == remaining;
        let t = self.check(StatusEvent::Fill { completes })?;
        let mut executed = self.executed;
        executed.add(fill).map_err(|source| OrderError::Arith { order: self.id, source })?;
        self.executed = executed;
        self.fills.push(*fill);
        let t = self.commit(t);
        debug_assert_eq!(
            self.executed.size.checked_add(self.executed.remaining),
            Some(self.size),
            "filled + remaining must equal the order size"
        );
        Ok(FillOutcome::Applied(t))
    }

    /// Records that a cancel was sent: the order shows pending-cancel until the venue answers.
    /// A cancel supersedes an amend in flight.
    ///
    /// # Errors
    /// [`OrderError::NotWorking`] unless the order is working; [`OrderError::ChangePending`] if a
    /// cancel is already in flight.
    pub fn request_cancel(&mut self) -> Result<(), OrderError> {
        if !self.status.is_working() {
            return Err(OrderError::NotWorking { order: self.id, status: self.status });
        }
        if let Some(p @ PendingChange::Cancel) = self.pending {
            return Err(OrderError::ChangePending { order: self.id, pending: p });
        }
        self.pending = Some(PendingChange::Cancel);
        Ok(())
    }

    /// Records that an amend was sent: the order shows pending-replace until the venue answers.
    ///
    /// # Errors
    /// [`OrderError::NotWorking`], [`OrderError::ChangePending`] (any change in flight),
    /// [`OrderError::Spec`] for a non-positive size or a negative price, and
    /// [`OrderError::AmendBelowFilled`] for a size below what already executed.
    pub fn request_replace(&mut self, amend: Amend) -> Result<(), OrderError> {
        if !self.status.is_working() {
            return Err(OrderError::NotWorking { order: self.id, status: self.status });
        }
        if let Some(p) = self.pending {
            return Err(OrderError::ChangePending { order: self.id, pending: p });
        }
        self.check_amend(&amend)?;
        self.pending = Some(PendingChange::Replace(amend));
        Ok(())
    }

    fn check_amend(&self, amend: &Amend) -> Result<(), OrderError> {
        let spec = |reason| OrderError::Spec { order: self.id, reason };
        for p in [amend.price, amend.price_limit].into_iter().flatten() {
            if p.is_negative() {
                return Err(spec(SpecError::NegativePrice { price: p }));
            }
        }
        if let Some(size) = amend.size {
            if !size.is_positive() {
                return Err(spec(SpecError::SizeNotPositive { size }));
            }
            if size < self.executed.size.abs() {
                return Err(OrderError::AmendBelowFilled {
                    order: self.id,
                    filled: self.executed.size,
                    size,
                });
            }
        }
        Ok(())
    }

    /// The venue refused our cancel (too late, say): the order works on, no longer pending-cancel.
    ///
    /// # Errors
    /// [`OrderError::NoChangePending`] if no cancel was in flight.
    pub fn cancel_rejected(&mut self) -> Result<(), OrderError> {
        match self.pending {
            Some(PendingChange::Cancel) => {
                self.pending = None;
                Ok(())
            }
            _ => Err(OrderError::NoChangePending { order: self.id, expected: "cancel" }),
        }
    }

    /// The venue refused our amend: the order works on unchanged.
    ///
    /// # Errors
    /// [`OrderError::NoChangePending`] if no amend was in flight.
    pub fn replace_rejected(&mut self) -> Result<(), OrderError> {
        match self.pending {
            Some(PendingChange::Replace(_)) => {
                self.pending = None;
                Ok(())
            }
            _ => Err(OrderError::NoChangePending { order: self.id, expected: "replace" }),
        }
    }

    /// The venue applied our amend. Fills that arrived in between count against the new size; an
    /// amend to exactly the filled size completes the order.
    ///
    /// # Errors
    /// [`OrderError::NoChangePending`] if no amend was in flight; [`OrderError::AmendBelowFilled`]
    /// if fills since the request already exceed the new size (the venue would have refused it).
    pub fn replaced(&mut self) -> Result<Transition, OrderError> {
        let Some(PendingChange::Replace(amend)) = self.pending else {
            return Err(OrderError::NoChangePending { order: self.id, expected: "replace" });
        };
        self.check_amend(&amend)?;
        let arith = |source| OrderError::Arith { order: self.id, source };
        let mut t = Transition::Kept { status: self.status, why: KeptReason::Amended };
        if let Some(size) = amend.size {
            let signed = self.side().signed(size);
            let remaining = signed.try_sub(self.executed.size).map_err(arith)?;
            if remaining.is_zero() {
                // Everything asked for has executed: the amend completes the order.
                let from = self.status;
                self.status = Status::Completed;
                t = Transition::Moved { from, to: Status::Completed };
            }
            self.size = signed;
            self.executed.remaining = remaining;
        }
        if let Some(p) = amend.price {
            self.price = p;
        }
        if let Some(p) = amend.price_limit {
            self.price_limit = p;
        }
        self.pending = None;
        Ok(t)
    }
}

#[cfg(test)]
mod tests;
