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
    /// A cancel for it is already on its way.
    #[error("a cancel of order {order} is already on its way")]
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
