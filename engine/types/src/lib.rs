//! Kestrel's vocabulary: exact numbers, time, ids, currencies and instruments.
//!
//! Every decimal is a whole number of nano-units (10^-9): [`Price`], [`Qty`] and [`Ratio`] in `i64`,
//! [`Money`] in `i128`; exact products of size and price are [`Notional`]s (10^-18). Text becomes
//! numbers without floats, arithmetic is checked (overflow is an error, never a wrap), and every
//! rounding names its [`Rounding`] mode. See `shared/ARCHITECTURE.md` §3 for why one scale.
#![deny(clippy::float_arithmetic)]

mod bar;
mod currency;
mod decimal;
mod error;
mod event;
mod exact;
mod id;
mod instrument;
mod money;
mod nano;
mod time;

pub use bar::Bar;
pub use currency::Currency;
pub use decimal::Rounding;
pub use error::{ArithError, IdError, ParseDecimalError};
pub use event::{
    Aggressor, BookOrder, BookSide, CommandKind, CommandRecord, Event, ExecRecord, LevelUpdate, OrderAction,
    Payload, Quote, Trade,
};
pub use exact::Exact;
pub use id::{ClientIdPrefix, ClientOrderId, ExecId, InlineStr, InstrumentId, OrderId, TradeId, VenueId};
pub use instrument::{GridError, Instrument, InstrumentError, InstrumentSpec};
pub use money::{Money, NOTIONAL_DECIMALS, Notional};
pub use nano::{NANO, NANO_DECIMALS, Price, Qty, Ratio};
pub use time::{NANOS_PER_DAY, NANOS_PER_SEC, ParseTimestampError, TimeSpan, Timestamp};
