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
//! - [`probe`]: the measurement probe: paced ticks out, new orders in, both stamped on one clock
//!   (`kestrel bench latency --gateway binance`).
//!
//! # Running it
//! `BINANCE_API_KEY=k BINANCE_API_SECRET=s kestrel sim binance --listen 127.0.0.1:0 [--tls]` prints
//! `{"listening":"127.0.0.1:PORT","tls":false,"cert":null}` and serves until killed
//! (`BINANCE_ED25519_PUBLIC_KEY_FILE` adds an Ed25519 key for `session.logon`). Point clients at
//! `http://127.0.0.1:PORT` (REST), `ws://127.0.0.1:PORT` (`/ws`, `/stream`) and
//! `ws://127.0.0.1:PORT/ws-api/v3`; `tests/clients/run.sh` runs binance-connector,
//! binance-sdk-spot and ccxt against it. Test controls (unsigned, loopback venue only):
//! `POST /sim/fault?fault=SPEC` ([`faults`]) and `POST /sim/transfer?asset=USDT&amount=-12.5`
//! (a deposit or withdrawal: `balanceUpdate`).
//!
//! # Simplifications (a test venue)
//! One account; commission 0 (fills report `"0.00000000"` in the received asset); no
//! self-trade prevention (`NONE`); LIMIT, LIMIT_MAKER and MARKET (by `quantity`) only; the 24hr
//! ticker's window is the simulator's life; PERCENT_PRICE_BY_SIDE is ±5 % of the synthetic mid
//! (so every resting order fits the L3 book's window).

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
pub mod probe;
pub mod rest;
pub mod server;
pub mod tls;
pub mod venue;
pub mod ws;

pub use auth::Credentials;
pub use error::{ApiError, SimError};
pub use faults::Fault;
pub use probe::{Correlation, Pace, ProbeConfig, TickProbe};
pub use server::{SimConfig, Simulator};
