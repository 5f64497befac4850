//! Why an order operation was refused: each variant names the order and the reason.

use kestrel_types::{ArithError, ClientOrderId, OrderId, Price, Qty, Ratio};

use super::{ExecType, PendingChange, Status, StatusEvent};

/// An impossible order request, refused before it reaches any broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Sizes in a request are positive; the side gives the sign.
    #[error("size must be > 0, got {size}")]
    SizeNotPositive {
        /// The size asked for.
        size: Qty,
    },
    /// A negative limit or trigger price.
    #[error("price must be >= 0, got {price}")]
    NegativePrice {
        /// The price asked for.
        price: Price,
    },
    /// A trail on an exec type that does not trail.
    #[error("a trail needs StopTrail or StopTrailLimit, not {}", exec_type.name())]
    TrailOnNonTrailing {
        /// The exec type asked for.
        exec_type: ExecType,
    },
    /// A negative trail amount.
    #[error("trail amount must be >= 0")]
    NegativeTrail,
    /// A trail percent outside [0, 1).
    #[error("trail percent must be in [0, 1), got {percent}")]
    TrailPercentOutOfRange {
        /// The fraction asked for.
        percent: Ratio,
    },
    /// A validity span that ends before the order starts.
    #[error("validity span must be >= 0")]
    NegativeValidity,
}

/// Why an operation on an order (or on the order store) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The request is impossible.
    #[error("order {order}: {reason}")]
    Spec {
        /// The order (or the id it would have had).
        order: OrderId,
        /// What is impossible.
        reason: SpecError,
    },
    /// The state machine does not allow this event now.
    #[error("order {order}: cannot apply {event} in status {from}")]
    BadTransition {
        /// The order.
        order: OrderId,
        /// Its status.
        from: Status,
        /// The refused event.
        event: StatusEvent,
    },
    /// A fill of size zero.
    #[error("order {order}: fill of size zero")]
    ZeroFill {
        /// The order.
        order: OrderId,
    },
    /// A fill whose sign is not the order's.
    #[error("order {order} of size {size}: fill of size {fill} has the wrong side")]
    WrongSide {
        /// The order.
        order: OrderId,
        /// Its signed size.
        size: Qty,
        /// The fill's signed size.
        fill: Qty,
    },
    /// A fill larger than what remains.
    #[error("order {order}: fill of {fill} exceeds the remaining {remaining}")]
    Overfill {
        /// The order.
        order: OrderId,
        /// Signed size remaining.
        remaining: Qty,
        /// Signed size of the fill.
        fill: Qty,
    },
    /// A cancel or amend on an order that is not working at a venue.
    #[error("order {order}: not working (status {status})")]
    NotWorking {
        /// The order.
        order: OrderId,
        /// Its status.
        status: Status,
    },
    /// Another change is already in flight.
    #[error("order {order}: a change is already pending ({pending:?})")]
    ChangePending {
        /// The order.
        order: OrderId,
        /// What is in flight.
        pending: PendingChange,
    },
    /// A venue answer for a change that was never sent.
    #[error("order {order}: no {expected} is pending")]
    NoChangePending {
        /// The order.
        order: OrderId,
        /// The kind of change the answer was for.
        expected: &'static str,
    },
    /// An amend to a size below what already executed.
    #[error("order {order}: new size {size} is below the executed {filled}")]
    AmendBelowFilled {
        /// The order.
        order: OrderId,
        /// Signed executed size.
        filled: Qty,
        /// New total size asked for.
        size: Qty,
    },
    /// A number left its range.
    #[error("order {order}: {source}")]
    Arith {
        /// The order.
        order: OrderId,
        /// What overflowed.
        source: ArithError,
    },
    /// No order has this id.
    #[error("no order {order}")]
    UnknownOrder {
        /// The id asked for.
        order: OrderId,
    },
    /// An OCO or parent link to an order that does not exist.
    #[error("order {order}: its {link} {target} does not exist")]
    UnknownLink {
        /// The new order.
        order: OrderId,
        /// `"oco"` or `"parent"`.
        link: &'static str,
        /// The id it named.
        target: OrderId,
    },
    /// A bracket leg whose parent is itself a leg.
    #[error("order {order}: parent {parent} is itself a bracket leg")]
    NestedBracket {
        /// The new order.
        order: OrderId,
        /// The parent it named.
        parent: OrderId,
    },
    /// A client order id already used by a different order.
    #[error("client order id {client_id} is already used by order {existing} with a different request")]
    DuplicateClientId {
        /// The id.
        client_id: ClientOrderId,
        /// The order that has it.
        existing: OrderId,
    },
    /// A user's client order id of the form the store generates (`<prefix>-<digits>`): refused, so
    /// that it can never collide with an id the store gives a later order.
    #[error("client order id {client_id} has the generated form, which is reserved")]
    ReservedClientId {
        /// The id.
        client_id: ClientOrderId,
    },
    /// The store is full (its capacity is fixed at start-up).
    #[error("order store full ({capacity} orders)")]
    Capacity {
        /// Its capacity.
        capacity: usize,
    },
}
