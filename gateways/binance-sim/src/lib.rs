//! `kestrel sim binance`: a Binance-spot-compatible venue on loopback, for testing real clients
//! (the official Python SDKs, ccxt) and Kestrel's own gateway against a venue whose behaviour is
//! known and whose faults can be switched on.
//!
//! The simulator has its own wire code on purpose: sharing the gateway's codec would let a bug on
//! both sides cancel out. Matching runs on Kestrel's [`kestrel_engine::book::L3Book`]; money is
//! exact ([`kestrel_types::Price`]/[`kestrel_types::Qty`], nano fixed point).
//!
//! - [`server`]: the listener ([`Simulator`], [`SimConfig`]): REST, streams and the WebSocket API on one port,
//!   optionally TLS.
//! - [`venue`]: the matcher, balances, synthetic market, stream and user-data events.
//! - [`faults`]: fault injection (dropped fills, expired user streams, duplicated or reordered
//!   reports, 429/418).

pub mod api;
pub mod auth;
pub mod error;
pub mod faults;
pub mod http;
pub mod hub;
pub mod market;
pub mod num;
pub mod order;
pub mod params;
pub mod rest;
pub mod server;
pub mod tls;
pub mod venue;
pub mod ws;

pub use auth::Credentials;
pub use error::{ApiError, SimError};
pub use faults::Fault;
pub use server::{SimConfig, Simulator};
