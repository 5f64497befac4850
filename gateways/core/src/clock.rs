//! `Clock`: where the gateway thread reads the time, once per pass.
//!
//! The thread never calls the system clock itself, so a test can hand it a clock it controls.
//! Venue crates never read a clock at all: they get `now` in their [`crate::Context`].

use std::time::{SystemTime, UNIX_EPOCH};

use kestrel_types::Timestamp;

/// A source of the current time (ns since the Unix epoch).
pub trait Clock: Send {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ns = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        Timestamp::from_nanos(i64::try_from(ns).unwrap_or(i64::MAX))
    }
}
