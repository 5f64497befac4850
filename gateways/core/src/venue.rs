//! The `Venue` trait: one venue's protocol and session, sans I/O.
//!
//! A venue crate turns whole inbound messages (HTTP responses, WebSocket messages) and connection
//! events into normalised [`kestrel_types::Event`]s for the engine, and engine requests into
//! outbound messages. It never touches a socket and never reads a clock: `now` comes in its
//! [`Context`], outbound actions go through the [`Wire`], events into the [`Inbox`]. So fixtures
//! and fuzzers drive it directly, and [`crate::GatewayThread`] drives it live.

use kestrel_engine::engine::VenueRequest;
use kestrel_types::Timestamp;

use crate::endpoint::{ConnId, Endpoint};
use crate::error::GatewayError;
use crate::http::HttpResponse;
use crate::inbox::Inbox;
use crate::rate_limit::Budget;
use crate::wire::Wire;

/// A complete WebSocket data message (control frames are the gateway's: pings are answered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsMessage<'a> {
    /// A text message (valid UTF-8, checked by the WebSocket layer).
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

/// What happened, for the venue to act on.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// The gateway thread started: open connections, set timers.
    Started,
    /// `conn` is up (TCP, TLS and, for a WebSocket, the upgrade): log in, subscribe, send.
    Opened(ConnId),
    /// `conn` went down. `error` is `None` when the venue closed it; otherwise the cause, and the
    /// gateway reconnects it with backoff (`Opened` again later). Requests that had not been
    /// answered were reported as [`Input::HttpFailed`] just before.
    Closed {
        /// The connection.
        conn: ConnId,
        /// Why, unless the venue asked.
        error: Option<&'a GatewayError>,
    },
    /// A complete HTTP response to the request tagged `response.tag()`.
    Http {
        /// The connection it came on.
        conn: ConnId,
        /// Status, headers and body.
        response: &'a HttpResponse<'a>,
    },
    /// An HTTP request will get no response: its connection went down. `sent` says whether it was
    /// written to the socket (then the venue may have acted on it: reconcile) or never left.
    HttpFailed {
        /// The connection.
        conn: ConnId,
        /// The request's tag.
        tag: u64,
        /// Whether it was written before the connection went down.
        sent: bool,
    },
    /// A complete WebSocket message.
    Ws {
        /// The connection.
        conn: ConnId,
        /// The message.
        message: WsMessage<'a>,
    },
    /// A timer set with [`Wire::set_timer`] is due.
    Timer {
        /// The token it was set with.
        token: u64,
    },
}

/// What a venue works with during one callback.
#[derive(Debug)]
pub struct Context<'a> {
    /// The gateway's time for this pass.
    pub now: Timestamp,
    /// Outbound actions.
    pub wire: &'a mut Wire,
    /// Events for the engine.
    pub inbox: &'a mut Inbox,
}

/// One venue's protocol and session, sans I/O: whole messages and connection events in,
/// normalised events ([`Context::inbox`]) and outbound actions ([`Context::wire`]) out; no socket,
/// no clock (`now` is in the [`Context`]). Fixtures and fuzzers drive it directly, the
/// [`crate::GatewayThread`] live.
///
/// # Differences from ARCHITECTURE §8's sketch, and why
/// - One `on_input` taking an [`Input`] instead of `on_open` / `on_bytes` / `on_tick`: the gateway
///   frames HTTP and WebSocket itself, so a venue sees whole messages (`on_bytes` with a consumed
///   count would make every venue re-frame); one enum keeps the trait small and makes a new kind of
///   input a compile error in every venue rather than a silently ignored default method.
/// - Timers the venue sets ([`Wire::set_timer`]) instead of a periodic `on_tick`: heartbeats and
///   timeouts wake the venue when due and not on every pass.
/// - No `type Config` / `new` in the trait: construction (config parsing, [`crate::Secrets`]) is
///   the venue's own constructor, called by whoever wires the system; the thread only needs a
///   built venue, so this crate does not impose serde on venue configs.
///
/// Errors returned from a callback are reported by the gateway. One that names a connection
/// ([`GatewayError::faulty_conn`]: a connectivity fault or malformed input, e.g. from
/// [`GatewayError::malformed_venue`]) also closes that connection, which is then reconnected.
///
/// # Example
/// A venue that opens one WebSocket and forwards each text message's length as a trade size:
/// ```
/// use kestrel_engine::engine::VenueRequest;
/// use kestrel_gateway::{ConnId, Context, Endpoint, GatewayError, Input, Venue, WsMessage};
/// use kestrel_types::{Aggressor, Event, InstrumentId, Payload, Price, Qty, Trade};
///
/// struct Echo { endpoints: Vec<Endpoint> }
///
/// impl Venue for Echo {
///     const NAME: &'static str = "echo";
///     fn endpoints(&self) -> &[Endpoint] { &self.endpoints }
///     fn on_input(&mut self, input: Input<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError> {
///         match input {
///             Input::Started => cx.wire.open(ConnId(0)),
///             Input::Ws { message: WsMessage::Text(text), .. } => {
///                 let size = Qty::from_raw(i64::try_from(text.len()).unwrap_or(i64::MAX));
///                 let trade = Trade { price: Price::from_raw(1), size, aggressor: Aggressor::Unknown, trade_id: 0 };
///                 let payload = Payload::Trade(trade);
///                 let ev = Event { ts_event: cx.now, ts_recv: cx.now, instrument: InstrumentId(0), payload };
///                 cx.inbox.push(ev).map_err(GatewayError::from)
///             }
///             _ => Ok(()),
///         }
///     }
///     fn on_request(&mut self, _req: &VenueRequest, _cx: &mut Context<'_>) -> Result<(), GatewayError> {
///         Err(GatewayError::Venue { reason: "echo takes no orders".into() })
///     }
/// }
/// ```
pub trait Venue: Send + 'static {
    /// The venue's name in diagnostics.
    const NAME: &'static str;

    /// The venue's connections; [`ConnId`] `n` is `endpoints()[n]`. Read once, at start.
    fn endpoints(&self) -> &[Endpoint];

    /// The venue's rate budgets; [`crate::RateLimits::observe_used`] refers to them by index.
    /// Read once, at start. None by default.
    fn budgets(&self) -> &[Budget] {
        &[]
    }

    /// Something happened on the venue's connections or timers.
    ///
    /// # Errors
    /// Anything the venue cannot handle; see the trait docs for what the gateway does with it.
    fn on_input(&mut self, input: Input<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError>;

    /// The engine asks for an order to be placed, canceled or amended. A request the venue cannot
    /// send must be answered (a rejected report in the inbox), never dropped.
    ///
    /// # Errors
    /// As [`Venue::on_input`].
    fn on_request(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError>;
}
