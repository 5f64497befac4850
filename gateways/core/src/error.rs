//! `GatewayError`: the gateway's errors, split as ARCHITECTURE §9 says.
//!
//! - [`GatewayError::Connectivity`]: the path to the venue broke (connect refused, reset, TLS
//!   failure, peer closed). The gateway closes the connection and reconnects with backoff.
//! - [`GatewayError::Malformed`]: the peer sent bytes that are not the protocol (bad HTTP head,
//!   bad WebSocket frame, or a message the venue's codec cannot parse). Also a connection fault:
//!   closed and reconnected, the thread keeps running.
//! - [`GatewayError::Venue`]: the venue understood and refused; the venue crate turns it into a
//!   rejected report for the engine.
//! - The rest are local refusals (rate budget, closed connection, full inbox) and configuration.
//!
//! # Invariants
//! No variant carries bytes received from or sent to the peer: requests may hold signed
//! credentials and answers may echo them, so reasons are fixed texts, kinds and sizes.

use crate::endpoint::ConnId;

/// Which protocol layer found bytes it could not accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The HTTP/1.1 codec (status line, headers, chunked framing, sizes).
    Http,
    /// The WebSocket handshake or frames.
    WebSocket,
    /// The venue's own message codec (JSON, FIX, …).
    Venue,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Http => "HTTP",
            Self::WebSocket => "WebSocket",
            Self::Venue => "venue message",
        })
    }
}

/// How a connection to the venue failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Connectivity {
    /// The host name did not resolve to an address.
    #[error("cannot resolve {host}:{port}")]
    Resolve {
        /// Host.
        host: String,
        /// Port.
        port: u16,
    },
    /// The TCP connection could not be made.
    #[error("connect failed: {0:?}")]
    Connect(std::io::ErrorKind),
    /// Reading or writing the socket failed.
    #[error("socket I/O failed: {0:?}")]
    Io(std::io::ErrorKind),
    /// TLS failed (handshake, certificate, alert): rustls' description.
    #[error("TLS: {0}")]
    Tls(String),
    /// The peer closed the connection between messages.
    #[error("closed by the peer")]
    PeerClosed,
    /// The peer closed the connection in the middle of a message.
    #[error("closed by the peer in the middle of a message")]
    PeerClosedMidMessage,
    /// The WebSocket upgrade was answered with another status than 101.
    #[error("WebSocket upgrade refused with HTTP status {status}")]
    UpgradeRefused {
        /// The status received.
        status: u16,
    },
}

/// What the gateway or a venue crate reports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The connection broke; it is reconnected with backoff.
    #[error("{conn}: {reason}")]
    Connectivity {
        /// The connection.
        conn: ConnId,
        /// What broke.
        reason: Connectivity,
    },
    /// The peer sent bytes that are not the protocol; the connection is closed and reconnected.
    #[error("{conn}: malformed {layer} input: {reason}")]
    Malformed {
        /// The connection.
        conn: ConnId,
        /// The layer that refused the bytes.
        layer: Layer,
        /// Why (never the bytes themselves).
        reason: String,
    },
    /// The venue refused a request (business refusal: becomes a rejected report).
    #[error("refused by the venue: {reason}")]
    Venue {
        /// The venue's reason (code and message).
        reason: String,
    },
    /// The request was over the rate budget and the hold queue was full, so it was not sent.
    #[error("{conn}: request {tag} refused: over the rate budget and {held} requests already held")]
    HoldQueueFull {
        /// The connection it was for.
        conn: ConnId,
        /// The venue's tag of the request.
        tag: u64,
        /// The hold queue's capacity.
        held: usize,
    },
    /// The request alone costs more than a budget allows per interval, so it can never be sent.
    #[error("{conn}: request {tag} costs {cost} against a budget of {limit} per interval")]
    OverBudget {
        /// The connection it was for.
        conn: ConnId,
        /// The venue's tag of the request.
        tag: u64,
        /// Its cost in the budget's unit.
        cost: u32,
        /// The budget's limit.
        limit: u32,
    },
    /// The venue sent on a connection that is not open (wait for `Input::Opened`).
    #[error("{conn}: not open")]
    NotOpen {
        /// The connection.
        conn: ConnId,
    },
    /// The venue used a connection the wrong way (an HTTP request on a WebSocket, an unknown id).
    #[error("{conn}: {reason}")]
    Misuse {
        /// The connection.
        conn: ConnId,
        /// What was wrong.
        reason: &'static str,
    },
    /// The engine's inbound ring and its overflow are both full: the event was not delivered.
    #[error("inbound ring and its overflow of {overflow} events are full")]
    InboxFull {
        /// The overflow's capacity.
        overflow: usize,
    },
    /// The gateway's configuration is wrong (bad CA file, bad budget, bad endpoint).
    #[error("gateway configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl GatewayError {
    /// The connection a connection fault belongs to: the one the gateway closes and reconnects.
    /// `None` for errors that leave connections alone (refusals, configuration).
    pub fn faulty_conn(&self) -> Option<ConnId> {
        match self {
            Self::Connectivity { conn, .. } | Self::Malformed { conn, .. } => Some(*conn),
            _ => None,
        }
    }

    /// A malformed-input error from the venue's own codec, for venue crates.
    pub fn malformed_venue(conn: ConnId, reason: impl Into<String>) -> Self {
        Self::Malformed { conn, layer: Layer::Venue, reason: reason.into() }
    }
}
