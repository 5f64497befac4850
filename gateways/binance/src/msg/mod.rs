//! Serde wire types for everything Binance spot sends. Prices, quantities and amounts are decoded
//! straight into exact Kestrel numbers ([`num`]); text borrows from the frame where it can.

mod common;
mod exchange_info;
pub mod num;
mod rest;
mod stream;
mod user;
mod wsapi;

pub use common::{ExecType, Level, OrderStatus, OrderType, Side, TimeInForce};
pub use exchange_info::{ExchangeInfo, Filter, LotSize, RateLimit, SymbolInfo};
pub use rest::{
    Account, ApiError, Balance, CancelResponse, CommissionRates, DepthSnapshot, Fill, ListenKey, OrderAck,
    OrderResponse, OrderResult, OrderState, QueriedOrder, ResponseKind, RestBookTicker, Ticker24h,
};
pub use stream::{
    AggTradeMsg, BookTickerMsg, Combined, ControlId, ControlReply, DepthUpdateMsg, TradeMsg,
    millis_to_timestamp,
};
pub use user::{
    AccountPosition, AssetPosition, BalanceUpdate, EventStreamTerminated, ExecutionReport, ListenKeyExpired,
    UserEvent, UserFrame, UserSource,
};
pub use wsapi::{SubscribeResult, WsApiId, WsApiResponse};
