//! Kestrel's engine core: the domain model with backtrader's semantics.
//!
//! Orders and their state machine ([`order`]), positions, commission / margin / interest schemes,
//! trades and accounts; the bar-driven simulated broker ([`broker`]), the strategy API
//! ([`strategy`]) and the bar backtest that drives them ([`backtest`]). Everything here is deterministic: no clock, no thread, no I/O, no float
//! money (the one binary64 compatibility function is documented where it lives).
#![deny(clippy::float_arithmetic)]

pub mod account;
pub mod backtest;
pub mod book;
pub mod broker;
pub mod engine;
pub mod order;
pub mod position;
pub mod scheme;
pub mod strategy;
pub mod trade;
