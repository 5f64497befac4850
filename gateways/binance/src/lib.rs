//! Binance spot gateway, sans-I/O: everything the `Venue` implementation calls, and nothing that
//! touches a socket or reads a clock (callers pass the time in).
//!
//! - [`msg`]: serde wire types of every answer, stream and event; decimals become exact
//!   [`kestrel_types::Price`]/[`kestrel_types::Qty`] at decode time.
//! - [`codec`]: the decoders (fast path, then a slow path that names the refused field).
//! - [`sign`]: HMAC-SHA256 and Ed25519 request signatures, Binance's percent-encoding.
//! - [`rest`]: REST requests (method, path, query, body, headers) and typed answers and errors.
//! - [`orders`]: Kestrel orders → Binance parameters, refusals before sending, exchangeInfo filter
//!   checks, client order ids.
//! - [`user`]: executionReport → engine [`kestrel_types::ExecRecord`], with fill deduplication.
//! - [`depth`]: the local order book sync procedure as a state machine emitting level updates.
//! - [`session`]: [`BinanceVenue`], the session on the gateway framework (connections, order flow,
//!   reconciliation); the one module that is not sans-I/O-only glue.
//!
//! Facts about Binance come from `shared/protocols/binance/DIGEST.md` and the fixtures beside it.

pub mod codec;
pub mod depth;
mod error;
pub mod msg;
pub mod orders;
pub mod rest;
pub mod session;
pub mod sign;
pub mod user;

pub use error::DecodeError;
pub use session::{BinanceConfig, BinanceVenue, SessionError};
