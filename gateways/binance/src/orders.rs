//! Kestrel orders → Binance order parameters: type and time in force, refusals before sending for
//! what Binance spot cannot do, exchangeInfo filter checks, and client order ids.
//!
//! Everything here is decided before a byte is sent: a refusal here costs no request weight, no
//! order count, and never leaves an order in doubt at the venue.

use kestrel_engine::engine::{OrderKind, OrderRequest, TimeInForce as KTif};
use kestrel_engine::order::Side as KSide;
use kestrel_types::{ClientIdPrefix, ClientOrderId, IdError, Money, OrderId, Price, Qty, Rounding};

use crate::msg::{Filter, LotSize, OrderType, Side, SymbolInfo, TimeInForce};

/// A Kestrel order Binance spot cannot express: refused before sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// Spot has no reduce-only orders (it has no positions to reduce).
    #[error("reduce-only orders do not exist on Binance spot")]
    ReduceOnly,
    /// Spot has no good-till-date time in force.
    #[error("GTD time in force does not exist on Binance spot")]
    Gtd,
    /// A post-only order must rest: IOC/FOK contradict it (Binance's LIMIT_MAKER takes no time in force).
    #[error("post-only with {tif} is contradictory (LIMIT_MAKER rests or is refused)")]
    PostOnlyTif {
        /// The time in force asked for.
        tif: &'static str,
    },
    /// Post-only exists only for plain limit orders (LIMIT_MAKER).
    #[error("post-only {kind} orders do not exist on Binance spot (only LIMIT_MAKER)")]
    PostOnlyKind {
        /// The order kind.
        kind: &'static str,
    },
    /// MARKET and STOP_LOSS orders take no time in force; FOK cannot be expressed for them.
    #[error("{kind} orders cannot be FOK on Binance spot")]
    FokWithoutLimit {
        /// The order kind.
        kind: &'static str,
    },
    /// A size that is zero or negative (the engine's sizes are positive; the side is separate).
    #[error("order size {size} is not positive")]
    NonPositiveSize {
        /// The size.
        size: Qty,
    },
    /// A limit or stop price that is zero or negative.
    #[error("{field} {price} is not positive")]
    NonPositivePrice {
        /// `price` or `stopPrice`.
        field: &'static str,
        /// The price.
        price: Price,
    },
}

/// The Binance parameters of one new order (without the client id, symbol and time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderParams {
    /// BUY or SELL.
    pub side: Side,
    /// Binance order type.
    pub order_type: OrderType,
    /// Time in force, for the types that take one (LIMIT, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT).
    pub time_in_force: Option<TimeInForce>,
    /// Base quantity (positive).
    pub quantity: Qty,
    /// Limit price, for the types that take one.
    pub price: Option<Price>,
    /// Trigger price, for conditional types.
    pub stop_price: Option<Price>,
}

/// Maps a Kestrel order to Binance's parameters.
///
/// | Kestrel | Binance |
/// |---|---|
/// | Market (GTC or IOC) | MARKET (no timeInForce: a market order never rests) |
/// | Limit GTC/IOC/FOK | LIMIT with that timeInForce |
/// | Limit GTC post-only | LIMIT_MAKER (no timeInForce) |
/// | Stop (GTC or IOC) | STOP_LOSS with stopPrice (becomes MARKET when triggered) |
/// | StopLimit GTC/IOC/FOK | STOP_LOSS_LIMIT with stopPrice, price and timeInForce |
///
/// A Kestrel stop triggers when the market reaches the stop price from either side, which is
/// Binance's STOP_LOSS for a buy above / sell below the market; Binance refuses a stop that would
/// trigger at once (-2010), which needs the market price and is left to Binance.
///
/// # Errors
/// [`Unsupported`] for reduce-only, GTD, post-only with IOC/FOK or on non-limit kinds, FOK market
/// or stop orders, and non-positive sizes or prices.
pub fn map_order(req: &OrderRequest) -> Result<OrderParams, Unsupported> {
    if req.reduce_only {
        return Err(Unsupported::ReduceOnly);
    }
    if !req.size.is_positive() {
        return Err(Unsupported::NonPositiveSize { size: req.size });
    }
    let tif = match req.tif {
        KTif::Gtc => TimeInForce::Gtc,
        KTif::Ioc => TimeInForce::Ioc,
        KTif::Fok => TimeInForce::Fok,
        KTif::Gtd(_) => return Err(Unsupported::Gtd),
    };
    let side = match req.side {
        KSide::Buy => Side::Buy,
        KSide::Sell => Side::Sell,
    };
    let positive = |field, price: Price| {
        if price.is_positive() { Ok(price) } else { Err(Unsupported::NonPositivePrice { field, price }) }
    };
    if req.post_only && !matches!(req.kind, OrderKind::Limit { .. }) {
        return Err(Unsupported::PostOnlyKind { kind: req.kind.name() });
    }
    let (order_type, time_in_force, price, stop_price) = match req.kind {
        OrderKind::Market | OrderKind::Stop { .. } if tif == TimeInForce::Fok => {
            return Err(Unsupported::FokWithoutLimit { kind: req.kind.name() });
        }
        OrderKind::Market => (OrderType::Market, None, None, None),
        OrderKind::Limit { limit } if req.post_only => {
            if tif != TimeInForce::Gtc {
                return Err(Unsupported::PostOnlyTif { tif: tif.as_str() });
            }
            (OrderType::LimitMaker, None, Some(positive("price", limit)?), None)
        }
        OrderKind::Limit { limit } => (OrderType::Limit, Some(tif), Some(positive("price", limit)?), None),
        OrderKind::Stop { stop } => (OrderType::StopLoss, None, None, Some(positive("stopPrice", stop)?)),
        OrderKind::StopLimit { stop, limit } => (
            OrderType::StopLossLimit,
            Some(tif),
            Some(positive("price", limit)?),
            Some(positive("stopPrice", stop)?),
        ),
    };
    Ok(OrderParams { side, order_type, time_in_force, quantity: req.size, price, stop_price })
}

/// Why an order breaks a symbol's trading rules. Each names the Binance filter that would refuse it
/// (Binance's -1013 "Filter failure: <FILTER>").
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterReject {
    /// The symbol is not trading.
    #[error("symbol is not TRADING")]
    NotTrading,
    /// The symbol does not accept this order type.
    #[error("order type {order_type} is not allowed on this symbol")]
    OrderType {
        /// The type.
        order_type: &'static str,
    },
    /// PRICE_FILTER: below minPrice.
    #[error("PRICE_FILTER: {field} {value} below minPrice {min}")]
    PriceBelowMin {
        /// `price` or `stopPrice`.
        field: &'static str,
        /// The price.
        value: Price,
        /// The bound.
        min: Price,
    },
    /// PRICE_FILTER: above maxPrice.
    #[error("PRICE_FILTER: {field} {value} above maxPrice {max}")]
    PriceAboveMax {
        /// `price` or `stopPrice`.
        field: &'static str,
        /// The price.
        value: Price,
        /// The bound.
        max: Price,
    },
    /// PRICE_FILTER: not a multiple of tickSize.
    #[error("PRICE_FILTER: {field} {value} is not a multiple of tickSize {tick}")]
    PriceOffTick {
        /// `price` or `stopPrice`.
        field: &'static str,
        /// The price.
        value: Price,
        /// The tick.
        tick: Price,
    },
    /// LOT_SIZE or MARKET_LOT_SIZE: below minQty.
    #[error("{filter}: quantity {value} below minQty {min}")]
    QtyBelowMin {
        /// The filter.
        filter: &'static str,
        /// The quantity.
        value: Qty,
        /// The bound.
        min: Qty,
    },
    /// LOT_SIZE or MARKET_LOT_SIZE: above maxQty.
    #[error("{filter}: quantity {value} above maxQty {max}")]
    QtyAboveMax {
        /// The filter.
        filter: &'static str,
        /// The quantity.
        value: Qty,
        /// The bound.
        max: Qty,
    },
    /// LOT_SIZE or MARKET_LOT_SIZE: not a multiple of stepSize.
    #[error("{filter}: quantity {value} is not a multiple of stepSize {step}")]
    QtyOffStep {
        /// The filter.
        filter: &'static str,
        /// The quantity.
        value: Qty,
        /// The step.
        step: Qty,
    },
    /// NOTIONAL or MIN_NOTIONAL: price × quantity below the minimum.
    #[error("{filter}: notional {notional} below minNotional {min}")]
    NotionalBelowMin {
        /// The filter.
        filter: &'static str,
        /// price × quantity, rounded up to nano-units.
        notional: Money,
        /// The bound.
        min: Money,
    },
    /// NOTIONAL: price × quantity above the maximum.
    #[error("NOTIONAL: notional {notional} above maxNotional {max}")]
    NotionalAboveMax {
        /// price × quantity, rounded down to nano-units.
        notional: Money,
        /// The bound.
        max: Money,
    },
}

impl FilterReject {
    /// The Binance `filterType` this refusal stands for (`None` for status and type checks).
    pub const fn filter_type(&self) -> Option<&'static str> {
        match self {
            Self::NotTrading | Self::OrderType { .. } => None,
            Self::PriceBelowMin { .. } | Self::PriceAboveMax { .. } | Self::PriceOffTick { .. } => {
                Some("PRICE_FILTER")
            }
            Self::QtyBelowMin { filter, .. }
            | Self::QtyAboveMax { filter, .. }
            | Self::QtyOffStep { filter, .. } => Some(filter),
            Self::NotionalBelowMin { filter, .. } => Some(filter),
            Self::NotionalAboveMax { .. } => Some("NOTIONAL"),
        }
    }
}

/// Checks `params` against the symbol's rules, in Binance's own order of concern: status, order
/// type, PRICE_FILTER (price and stopPrice), LOT_SIZE, MARKET_LOT_SIZE (MARKET only), then
/// NOTIONAL / MIN_NOTIONAL.
///
/// The notional of a priced order uses its limit price. MARKET and STOP_LOSS orders have none:
/// Binance uses its average price there, which a gateway does not have, so their notional is
/// checked only when the caller passes `market_price` (e.g. the last trade), and only where the
/// filter applies to market orders. PERCENT_PRICE* filters need the same average and are left to
/// Binance.
///
/// # Errors
/// The first [`FilterReject`] found.
pub fn check_filters(
    params: &OrderParams,
    symbol: &SymbolInfo,
    market_price: Option<Price>,
) -> Result<(), FilterReject> {
    if symbol.status != "TRADING" {
        return Err(FilterReject::NotTrading);
    }
    let type_name = params.order_type.as_str();
    if !symbol.order_types.iter().any(|t| t == type_name) {
        return Err(FilterReject::OrderType { order_type: type_name });
    }
    let is_market =
        matches!(params.order_type, OrderType::Market | OrderType::StopLoss | OrderType::TakeProfit);
    for filter in &symbol.filters {
        match *filter {
            Filter::PriceFilter { min_price, max_price, tick_size } => {
                for (field, value) in [("price", params.price), ("stopPrice", params.stop_price)] {
                    let Some(value) = value else { continue };
                    if min_price.is_positive() && value < min_price {
                        return Err(FilterReject::PriceBelowMin { field, value, min: min_price });
                    }
                    if max_price.is_positive() && value > max_price {
                        return Err(FilterReject::PriceAboveMax { field, value, max: max_price });
                    }
                    if tick_size.is_positive() && !value.is_multiple_of(tick_size) {
                        return Err(FilterReject::PriceOffTick { field, value, tick: tick_size });
                    }
                }
            }
            Filter::LotSize(lot) => check_lot("LOT_SIZE", &lot, params.quantity)?,
            Filter::MarketLotSize(lot) if params.order_type == OrderType::Market => {
                check_lot("MARKET_LOT_SIZE", &lot, params.quantity)?;
            }
            Filter::Notional {
                min_notional, apply_min_to_market, max_notional, apply_max_to_market, ..
            } => {
                let price = if is_market { market_price } else { params.price };
                let Some(price) = price else { continue };
                let exact = params.quantity.notional(price);
                if (!is_market || apply_min_to_market) && exact.to_money(Rounding::Ceiling) < min_notional {
                    return Err(FilterReject::NotionalBelowMin {
                        filter: "NOTIONAL",
                        notional: exact.to_money(Rounding::Ceiling),
                        min: min_notional,
                    });
                }
                if (!is_market || apply_max_to_market)
                    && max_notional.is_positive()
                    && exact.to_money(Rounding::Floor) > max_notional
                {
                    return Err(FilterReject::NotionalAboveMax {
                        notional: exact.to_money(Rounding::Floor),
                        max: max_notional,
                    });
                }
            }
            Filter::MinNotional { min_notional, apply_to_market, .. } => {
                let price = if is_market { market_price } else { params.price };
                let Some(price) = price else { continue };
                let notional = params.quantity.notional(price).to_money(Rounding::Ceiling);
                if (!is_market || apply_to_market) && notional < min_notional {
                    return Err(FilterReject::NotionalBelowMin {
                        filter: "MIN_NOTIONAL",
                        notional,
                        min: min_notional,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// minQty ≤ v ≤ maxQty and v a multiple of stepSize; a zero bound or step is off (MARKET_LOT_SIZE
/// ships stepSize 0: never divided by).
fn check_lot(filter: &'static str, lot: &LotSize, value: Qty) -> Result<(), FilterReject> {
    if lot.min_qty.is_positive() && value < lot.min_qty {
        return Err(FilterReject::QtyBelowMin { filter, value, min: lot.min_qty });
    }
    if lot.max_qty.is_positive() && value > lot.max_qty {
        return Err(FilterReject::QtyAboveMax { filter, value, max: lot.max_qty });
    }
    if lot.step_size.is_positive() && !value.is_multiple_of(lot.step_size) {
        return Err(FilterReject::QtyOffStep { filter, value, step: lot.step_size });
    }
    Ok(())
}

/// Engine order ids ↔ Binance `newClientOrderId`: `<prefix>-<id>`, deterministic and reversible,
/// at most 36 characters of `[A-Za-z0-9_-]` (the commonly accepted Binance form, DIGEST §5).
///
/// Deterministic so that a resubmission after a reconnect carries the same id and Binance refuses
/// the duplicate (-2010 "Duplicate order sent.") instead of opening a second order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIds(ClientIdPrefix);

/// Why a client id prefix was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientIdError {
    /// Longer than 36 − 1 − 20 (room for `-` and any `u64`).
    #[error("client id prefix {len} bytes, at most {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A byte outside `[A-Za-z0-9_]` (the `-` is the separator).
    #[error("client id prefix: byte {byte:#04x} at {position} is outside [A-Za-z0-9_]")]
    InvalidByte {
        /// The byte.
        byte: u8,
        /// Its offset.
        position: usize,
    },
    /// Refused by the Kestrel id rules.
    #[error(transparent)]
    Id(#[from] IdError),
}

impl ClientIds {
    /// Binance's client id length limit.
    pub const MAX_ID_LEN: usize = 36;
    /// Longest prefix: room for `-` and the 20 digits of any `u64`.
    pub const MAX_PREFIX_LEN: usize = Self::MAX_ID_LEN - 21;

    /// Validates `prefix`.
    ///
    /// # Errors
    /// [`ClientIdError`] for an empty, too long or non-`[A-Za-z0-9_]` prefix.
    pub fn new(prefix: &'static str) -> Result<Self, ClientIdError> {
        if prefix.len() > Self::MAX_PREFIX_LEN {
            return Err(ClientIdError::TooLong { len: prefix.len(), max: Self::MAX_PREFIX_LEN });
        }
        if let Some((position, &byte)) =
            prefix.as_bytes().iter().enumerate().find(|(_, b)| !(b.is_ascii_alphanumeric() || **b == b'_'))
        {
            return Err(ClientIdError::InvalidByte { byte, position });
        }
        Ok(Self(ClientIdPrefix::try_new(prefix)?))
    }

    /// The `newClientOrderId` of an engine order (on the stack).
    pub fn encode(self, order: OrderId) -> ClientOrderId {
        self.0.id(order.0)
    }

    /// The engine order behind a client id, when it is one of ours (exactly as [`Self::encode`]
    /// writes it); `None` for ids Binance or another client generated.
    pub fn decode(self, client_order_id: &str) -> Option<OrderId> {
        // Parsed here rather than by `ClientIdPrefix::parse`, which refuses the `-0` that `id(0)`
        // writes (its leading-zero rule also catches the lone zero).
        let digits = client_order_id.strip_prefix(self.0.as_str())?.strip_prefix('-')?.as_bytes();
        match digits {
            [] => None,
            [b'0'] => Some(OrderId(0)),
            [b'0', ..] => None,
            _ => digits
                .iter()
                .try_fold(0u64, |n, d| {
                    d.is_ascii_digit().then_some(())?;
                    n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                })
                .map(OrderId),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_types::InstrumentId;

    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }
    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }
    fn req(kind: OrderKind) -> OrderRequest {
        OrderRequest::new(InstrumentId(0), KSide::Buy, q("0.001"), kind)
    }

    #[test]
    fn kinds_and_tifs_map_to_binance_types() {
        let lim = OrderKind::Limit { limit: p("90000") };
        let m = map_order(&req(lim)).unwrap();
        assert_eq!(
            (m.order_type, m.time_in_force, m.price),
            (OrderType::Limit, Some(TimeInForce::Gtc), Some(p("90000")))
        );
        let m = map_order(&req(lim).with_tif(KTif::Fok)).unwrap();
        assert_eq!(m.time_in_force, Some(TimeInForce::Fok));
        let m = map_order(&req(lim).post_only()).unwrap();
        assert_eq!((m.order_type, m.time_in_force), (OrderType::LimitMaker, None));
        let m = map_order(&req(OrderKind::Market)).unwrap();
        assert_eq!((m.order_type, m.time_in_force, m.price), (OrderType::Market, None, None));
        let m = map_order(&req(OrderKind::Market).with_tif(KTif::Ioc)).unwrap();
        assert_eq!(m.order_type, OrderType::Market);
        let m = map_order(&req(OrderKind::Stop { stop: p("95000") })).unwrap();
        assert_eq!((m.order_type, m.stop_price, m.price), (OrderType::StopLoss, Some(p("95000")), None));
        let m =
            map_order(&req(OrderKind::StopLimit { stop: p("95000"), limit: p("95100") }).with_tif(KTif::Ioc))
                .unwrap();
        assert_eq!(
            (m.order_type, m.time_in_force, m.stop_price, m.price),
            (OrderType::StopLossLimit, Some(TimeInForce::Ioc), Some(p("95000")), Some(p("95100")))
        );
        let sell = OrderRequest { side: KSide::Sell, ..req(OrderKind::Market) };
        assert_eq!(map_order(&sell).unwrap().side, Side::Sell);
    }

    #[test]
    fn what_spot_lacks_is_refused_before_sending() {
        let lim = OrderKind::Limit { limit: p("1") };
        assert_eq!(map_order(&req(lim).reduce_only()), Err(Unsupported::ReduceOnly));
        let gtd = KTif::Gtd(kestrel_types::Timestamp::from_nanos(1));
        assert_eq!(map_order(&req(lim).with_tif(gtd)), Err(Unsupported::Gtd));
        assert_eq!(
            map_order(&req(lim).post_only().with_tif(KTif::Ioc)),
            Err(Unsupported::PostOnlyTif { tif: "IOC" })
        );
        assert_eq!(
            map_order(&req(lim).post_only().with_tif(KTif::Fok)),
            Err(Unsupported::PostOnlyTif { tif: "FOK" })
        );
        assert_eq!(
            map_order(&req(OrderKind::Market).post_only()),
            Err(Unsupported::PostOnlyKind { kind: "market" })
        );
        assert_eq!(
            map_order(&req(OrderKind::StopLimit { stop: p("1"), limit: p("1") }).post_only()),
            Err(Unsupported::PostOnlyKind { kind: "stop_limit" })
        );
        assert_eq!(
            map_order(&req(OrderKind::Market).with_tif(KTif::Fok)),
            Err(Unsupported::FokWithoutLimit { kind: "market" })
        );
        assert_eq!(
            map_order(&req(OrderKind::Stop { stop: p("1") }).with_tif(KTif::Fok)),
            Err(Unsupported::FokWithoutLimit { kind: "stop" })
        );
        let zero = OrderRequest { size: Qty::ZERO, ..req(lim) };
        assert_eq!(map_order(&zero), Err(Unsupported::NonPositiveSize { size: Qty::ZERO }));
        assert_eq!(
            map_order(&req(OrderKind::Limit { limit: Price::ZERO })),
            Err(Unsupported::NonPositivePrice { field: "price", price: Price::ZERO })
        );
    }

    #[test]
    fn client_ids_round_trip_within_binance_limits() {
        let ids = ClientIds::new("kst_a1").unwrap();
        assert_eq!(ids.encode(OrderId(42)).as_str(), "kst_a1-42");
        for n in [0, 1, 42, 1 << 40, u64::MAX] {
            let text = ids.encode(OrderId(n));
            assert!(text.as_str().len() <= 36);
            assert!(text.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(ids.decode(text.as_str()), Some(OrderId(n)));
        }
        for foreign in [
            "ovBwCdYvGKctMzMnkEYt2s",
            "web_cb55efd1634c4a4689a5f67f99c15906",
            "kst_a1-",
            "kst_a1-01",
            "kst_a2-1",
            "",
            "kst_a1-1x",
            "kst_a1-18446744073709551616",
            "kst_a1--1",
        ] {
            assert_eq!(ids.decode(foreign), None, "{foreign}");
        }
        assert!(matches!(ClientIds::new("sixteen_chars_xx"), Err(ClientIdError::TooLong { .. })));
        assert!(matches!(ClientIds::new("a-b"), Err(ClientIdError::InvalidByte { byte: b'-', position: 1 })));
        assert!(ClientIds::new("").is_err());
    }
}
