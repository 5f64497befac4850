//! The tick engine's orders: what a strategy asks for, what the engine keeps of each order, and
//! what it reports back (updates and fills).
//!
//! # Why not the order store
//! [`crate::order::Order`] keeps the fills after its first in a `Vec`, and
//! [`crate::order::OrderStore`] keeps every order of the session with client ids and OCO / bracket
//! links in `BTreeMap`s, so placing or filling may allocate and memory grows with the session:
//! right for the bar broker, wrong for a loop that must allocate nothing per event. Tick orders are
//! `Copy` records in a slab sized at start-up, using the order model's vocabulary ([`Side`],
//! [`Status`]) so both brokers speak the same states.

use kestrel_types::{InstrumentId, Money, Notional, OrderId, Price, Qty, Rounding, Timestamp};

use crate::order::{Side, Status};

/// How an order executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// At the market: the opposite touch (see the fill rules in [`crate::engine`]).
    Market,
    /// At `limit` or better.
    Limit {
        /// The worst price accepted.
        limit: Price,
    },
    /// A market order once the market reaches `stop`.
    Stop {
        /// The trigger price.
        stop: Price,
    },
    /// A limit order at `limit` once the market reaches `stop`.
    StopLimit {
        /// The trigger price.
        stop: Price,
        /// The limit once triggered.
        limit: Price,
    },
}

impl OrderKind {
    /// The name reports use: `market`, `limit`, `stop`, `stop_limit`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Market => "market",
            Self::Limit { .. } => "limit",
            Self::Stop { .. } => "stop",
            Self::StopLimit { .. } => "stop_limit",
        }
    }

    /// The price a report shows for the order: the limit, else the trigger.
    pub const fn price(self) -> Option<Price> {
        match self {
            Self::Market => None,
            Self::Limit { limit } | Self::StopLimit { limit, .. } => Some(limit),
            Self::Stop { stop } => Some(stop),
        }
    }
}

/// How long an order works.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Until filled or canceled.
    #[default]
    Gtc,
    /// Immediate or cancel: at its first look at the market it takes what is there; the rest is
    /// canceled.
    Ioc,
    /// Fill or kill: at its first look at the market it fills completely, or not at all.
    Fok,
    /// Good till this instant (venue time): expired then if still working.
    Gtd(Timestamp),
}

impl TimeInForce {
    /// `GTC`, `IOC`, `FOK` or `GTD`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Gtc => "GTC",
            Self::Ioc => "IOC",
            Self::Fok => "FOK",
            Self::Gtd(_) => "GTD",
        }
    }
}

/// What a strategy asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// What to trade.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// How much, positive and on the instrument's lot grid.
    pub size: Qty,
    /// How it executes.
    pub kind: OrderKind,
    /// How long it works.
    pub tif: TimeInForce,
    /// Rest only: refused by the venue if it would take liquidity on arrival.
    pub post_only: bool,
    /// Only reduce the position: the venue fills at most what brings the position to zero and
    /// cancels the rest.
    pub reduce_only: bool,
}

impl OrderRequest {
    /// A good-till-canceled order without flags.
    pub const fn new(instrument: InstrumentId, side: Side, size: Qty, kind: OrderKind) -> Self {
        Self { instrument, side, size, kind, tif: TimeInForce::Gtc, post_only: false, reduce_only: false }
    }

    /// The same order with time in force `tif`.
    #[must_use]
    pub const fn with_tif(self, tif: TimeInForce) -> Self {
        Self { tif, ..self }
    }

    /// The same order, post-only.
    #[must_use]
    pub const fn post_only(self) -> Self {
        Self { post_only: true, ..self }
    }

    /// The same order, reduce-only.
    #[must_use]
    pub const fn reduce_only(self) -> Self {
        Self { reduce_only: true, ..self }
    }
}

/// Whether a fill added liquidity (a resting order) or took it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Liquidity {
    /// A resting order filled by the market coming to it.
    Maker,
    /// A market order, a marketable limit, or a triggered stop.
    Taker,
}

impl Liquidity {
    /// `maker` or `taker`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Maker => "maker",
            Self::Taker => "taker",
        }
    }
}

/// An order as the engine knows it: what was asked and where it stands, as of the last report
/// from the venue (so it lags the venue by the response latency).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickOrder {
    /// The engine's id (dense, in submission order, from 1).
    pub id: OrderId,
    /// What it asked for.
    pub request: OrderRequest,
    /// Where it stands.
    pub status: Status,
    /// Filled so far (positive, at most the size).
    pub filled: Qty,
    /// `Σ qty × price` of its fills, exact.
    pub cost: Notional,
    /// Commission of its fills.
    pub commission: Money,
    /// When the strategy submitted it.
    pub submitted_at: Timestamp,
    /// When its last report arrived.
    pub updated_at: Timestamp,
    /// A cancel was sent and its answer has not arrived yet.
    pub cancel_pending: bool,
    /// An amend was sent and its answer has not arrived yet (the order works on as it was).
    pub replace_pending: bool,
}

impl TickOrder {
    /// What is left to fill.
    pub fn remaining(&self) -> Qty {
        self.request.size.checked_sub(self.filled).unwrap_or(Qty::ZERO)
    }

    /// The average fill price, rounded half-even; `None` before the first fill.
    pub fn avg_price(&self) -> Option<Price> {
        if self.filled.is_zero() {
            return None;
        }
        self.cost.average_price(self.filled, Rounding::HalfEven).ok()
    }

    /// Still working (or on its way): not in a final state.
    pub fn is_open(&self) -> bool {
        !self.status.is_final()
    }
}

/// Why an update happened beyond the status itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpdateReason {
    /// A plain state change.
    None,
    /// A fill would have taken cash below zero (the order ends `Margin`).
    InsufficientCash,
    /// A cancel reached the venue after the order had completed: nothing was canceled.
    CancelTooLate,
    /// Booking a fill left the account's range; the order no longer works.
    Overflow,
    /// The venue refused the order (a live venue's reject).
    VenueRejected,
    /// The rest of an immediate-or-cancel order after its first look at the market.
    IocRemainder,
    /// A fill-or-kill order the market could not fill completely at once.
    FokUnfilled,
    /// A post-only order that would have taken liquidity.
    PostOnlyWouldTake,
    /// A reduce-only order with nothing (more) to reduce.
    ReduceOnly,
    /// A good-till-date order reached its date.
    GtdExpired,
    /// An amend reached the venue after the order had ended: nothing was changed.
    AmendTooLate,
    /// The amend was applied (price or size changed).
    Amended,
    /// A pre-trade risk check refused the order before it left the engine.
    Risk(RiskReason),
}

/// Which pre-trade risk check refused an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RiskReason {
    /// The size is above the largest allowed.
    MaxOrderSize,
    /// `size × price` is above the largest allowed notional.
    MaxOrderNotional,
    /// A full fill would take the position beyond the largest allowed.
    MaxPosition,
    /// The price is outside the band around the last price.
    PriceBand,
    /// More orders in the window than the rate limit allows.
    OrderRate,
    /// The kill switch is on: everything was canceled and new orders are refused.
    KillSwitch,
    /// No price to check a notional or a band against (no market yet).
    NoReferencePrice,
}

impl RiskReason {
    /// A short phrase for reports.
    pub const fn text(self) -> &'static str {
        match self {
            Self::MaxOrderSize => "risk: order size above the limit",
            Self::MaxOrderNotional => "risk: order notional above the limit",
            Self::MaxPosition => "risk: position limit",
            Self::PriceBand => "risk: price outside the band around the last price",
            Self::OrderRate => "risk: order rate limit",
            Self::KillSwitch => "risk: kill switch on",
            Self::NoReferencePrice => "risk: no reference price yet",
        }
    }
}

impl UpdateReason {
    /// Empty for [`UpdateReason::None`], else a short phrase for reports.
    pub const fn text(self) -> &'static str {
        match self {
            Self::None => "",
            Self::InsufficientCash => "insufficient cash",
            Self::CancelTooLate => "cancel too late: already completed",
            Self::Overflow => "amount out of the account's range",
            Self::VenueRejected => "rejected by the venue",
            Self::IocRemainder => "immediate-or-cancel remainder canceled",
            Self::FokUnfilled => "fill-or-kill could not fill at once",
            Self::PostOnlyWouldTake => "post-only order would take liquidity",
            Self::ReduceOnly => "reduce-only: nothing to reduce",
            Self::GtdExpired => "good-till-date reached",
            Self::AmendTooLate => "amend too late: the order had ended",
            Self::Amended => "amended",
            Self::Risk(r) => r.text(),
        }
    }
}

/// A report about one order: its state after the change, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    /// When the engine learnt of it.
    pub ts: Timestamp,
    /// The order after the change.
    pub order: TickOrder,
    /// Why, when the status alone does not say.
    pub reason: UpdateReason,
}

/// One fill, as the engine books it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickFill {
    /// When the engine learnt of it (the venue filled it one response latency earlier).
    pub ts: Timestamp,
    /// When the venue filled it: the `ts_recv` of the event that filled it.
    pub venue_ts: Timestamp,
    /// The order.
    pub order: OrderId,
    /// What it trades.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// The fill price.
    pub price: Price,
    /// The filled quantity, positive.
    pub qty: Qty,
    /// What is left of the order after this fill.
    pub remaining: Qty,
    /// `Partial` or `Completed` after this fill.
    pub status: Status,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Commission charged.
    pub commission: Money,
    /// Pnl realised by this fill, before commission.
    pub realized: Money,
    /// The position's signed size after it.
    pub position: Qty,
}

/// What a request to a venue asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// Place the order.
    New,
    /// Cancel it.
    Cancel,
    /// Change its limit price and size to the request's (a replace).
    Amend,
}

/// An amend could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmendError {
    /// As for a cancel.
    #[error(transparent)]
    Cancel(#[from] CancelError),
    /// A new price for an order without a limit, a size not above what already filled, or off the
    /// grid.
    #[error("invalid amend: {reason}")]
    Invalid {
        /// Why.
        reason: &'static str,
    },
}

/// A request for a live venue, as an engine with [`super::VenueMode::External`] hands it to its
/// runtime (which puts it on the outbound ring to the gateway). `Copy` and small: one ring slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VenueRequest {
    /// Place or cancel.
    pub kind: RequestKind,
    /// The engine's order id (the gateway maps it to the venue's client order id).
    pub order: OrderId,
    /// The order (for a cancel: the order being canceled).
    pub request: OrderRequest,
    /// The engine's time when the strategy sent it.
    pub sent: Timestamp,
    /// The `ts_event` of the event being processed when it was sent: what the request reacts to
    /// (a latency harness measures tick-to-order from it).
    pub cause: Timestamp,
    /// When the runtime put it on the outbound ring (its clock); [`VenueRequest::sent`] until then.
    pub published: Timestamp,
}

/// Why a submission was refused before it left the engine. Small and `Copy`: a refusal is data,
/// and the engine runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
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
    /// The size is not a whole number of lots.
    #[error("order size {size} is not a multiple of the lot size {lot}")]
    OffLotGrid {
        /// The size asked for.
        size: Qty,
        /// The instrument's lot.
        lot: Qty,
    },
    /// A price is zero or negative.
    #[error("order price {price} is not positive")]
    PriceNotPositive {
        /// The price given.
        price: Price,
    },
    /// A price is not a whole number of ticks.
    #[error("order price {price} is not a multiple of the tick size {tick}")]
    OffTickGrid {
        /// The price given.
        price: Price,
        /// The instrument's tick.
        tick: Price,
    },
    /// Every order slot is taken by an open order (or one whose reports are still in flight).
    #[error("{capacity} orders are open, the engine's capacity")]
    OrderCapacity {
        /// The capacity.
        capacity: usize,
    },
    /// The instrument already has as many working orders at the venue as it has room for.
    #[error("instrument {instrument} has {capacity} orders working or on their way, its capacity")]
    InstrumentCapacity {
        /// The instrument.
        instrument: InstrumentId,
        /// Its capacity.
        capacity: usize,
    },
    /// The queue of requests to the venue is full (the venue has not caught up).
    #[error("{capacity} requests are on their way to the venue, the queue's capacity")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The combination makes no sense (post-only market, a GTD date already past, …).
    #[error("invalid order: {reason}")]
    Invalid {
        /// Why.
        reason: &'static str,
    },
    /// A pre-trade risk check refused it; a `Rejected` update with the reason follows.
    #[error("{}", .reason.text())]
    Risk {
        /// Which check.
        reason: RiskReason,
        /// The id the refused order got (its `Rejected` update carries it).
        order: OrderId,
    },
}

/// Why a cancel was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CancelError {
    /// No open order has that id (it completed, was canceled, or never was).
    #[error("order {order} is not open")]
    NotOpen {
        /// The order named.
        order: OrderId,
    },
    /// A cancel or an amend for it is already on its way.
    #[error("a cancel or amend of order {order} is already on its way")]
    AlreadyPending {
        /// The order named.
        order: OrderId,
    },
    /// The queue of requests to the venue is full.
    #[error("{capacity} requests are on their way to the venue, the queue's capacity")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
}
