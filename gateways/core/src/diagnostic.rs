//! `Diagnostic`: what the gateway thread tells its operator, through a sink the owner gives it.
//!
//! There is no logging crate: the thread hands each diagnostic to a closure (by default one that
//! prints to stderr), so a test captures exactly what would be logged, and a deployment routes it
//! wherever it likes. Diagnostics hold endpoints, ids, sizes and typed errors, never message
//! bytes, so no credential reaches a log through them.

use std::fmt;

use kestrel_types::{TimeSpan, Timestamp};

use crate::endpoint::{ConnId, Endpoint};
use crate::error::GatewayError;

/// One thing worth telling.
#[derive(Clone, Copy, Debug)]
pub enum Diagnostic<'a> {
    /// A TCP connection is being made.
    Connecting {
        /// The venue.
        venue: &'static str,
        /// The connection.
        conn: ConnId,
        /// Where to.
        endpoint: &'a Endpoint,
    },
    /// The connection is up.
    Opened {
        /// The venue.
        venue: &'static str,
        /// The connection.
        conn: ConnId,
        /// Where to.
        endpoint: &'a Endpoint,
    },
    /// The connection went down (`error` is `None` when the venue closed it).
    Closed {
        /// The venue.
        venue: &'static str,
        /// The connection.
        conn: ConnId,
        /// Where to.
        endpoint: &'a Endpoint,
        /// Why.
        error: Option<&'a GatewayError>,
    },
    /// The connection will be retried after `after` (attempt `attempt` since it last worked).
    Reconnecting {
        /// The venue.
        venue: &'static str,
        /// The connection.
        conn: ConnId,
        /// Wait before the attempt.
        after: TimeSpan,
        /// Attempt number.
        attempt: u32,
    },
    /// The venue answered 429/418: every request is held until `until`.
    Paused {
        /// The venue.
        venue: &'static str,
        /// The status received.
        status: u16,
        /// End of the pause.
        until: Timestamp,
    },
    /// An error that closed nothing (a venue callback's refusal, a send on a closed connection).
    Error {
        /// The venue.
        venue: &'static str,
        /// The error.
        error: &'a GatewayError,
    },
}

impl fmt::Display for Diagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connecting { venue, conn, endpoint } => {
                write!(f, "{venue}: {conn} connecting to {endpoint}")
            }
            Self::Opened { venue, conn, endpoint } => write!(f, "{venue}: {conn} open to {endpoint}"),
            Self::Closed { venue, conn, endpoint, error: None } => {
                write!(f, "{venue}: {conn} to {endpoint} closed")
            }
            Self::Closed { venue, conn, endpoint, error: Some(e) } => {
                write!(f, "{venue}: {conn} to {endpoint} closed: {e}")
            }
            Self::Reconnecting { venue, conn, after, attempt } => {
                write!(
                    f,
                    "{venue}: {conn} reconnecting in {} ms (attempt {attempt})",
                    after.nanos() / 1_000_000
                )
            }
            Self::Paused { venue, status, until } => {
                write!(f, "{venue}: HTTP {status}: requests held until {until}")
            }
            Self::Error { venue, error } => write!(f, "{venue}: {error}"),
        }
    }
}

/// Where diagnostics go.
pub type DiagnosticSink = Box<dyn FnMut(&Diagnostic<'_>) + Send>;

/// The default sink: one line per diagnostic on stderr.
pub fn stderr_sink() -> DiagnosticSink {
    Box::new(|d| eprintln!("{d}"))
}
