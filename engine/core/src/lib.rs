//! Kestrel's engine core: the domain model with backtrader's semantics.
//!
//! Orders and their state machine ([`order`]), positions, commission / margin / interest schemes,
//! trades and accounts. Everything here is deterministic: no clock, no thread, no I/O, no float
//! money (the one binary64 compatibility function is documented where it lives).
#![deny(clippy::float_arithmetic)]

pub mod account;
pub mod order;
pub mod position;
pub mod scheme;
pub mod trade;
