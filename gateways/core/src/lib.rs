//! Kestrel's gateway framework: everything a venue connection needs that is not the venue's protocol.
//!
//! A venue crate (`kestrel-gw-<venue>`) implements [`Venue`]: whole HTTP responses, WebSocket
//! messages, connection events and timer expiries in; normalised [`kestrel_types::Event`]s (into
//! the [`Inbox`]) and outbound requests (onto the [`Wire`]) out; no socket, no clock. The one generic
//! [`GatewayThread`] drives it over mio: sockets, TLS, HTTP/1.1 and WebSocket framing, timers,
//! reconnects, rate budgets, and the rtrb rings to and from the engine (ARCHITECTURE §8).
//!
//! # Modules, and what each owns
//! - `venue`: the [`Venue`] trait, its [`Input`]s and the [`Context`] a callback works with.
//! - `wire`: [`Wire`], the venue's outbound actions; request checks and the rate-hold queue.
//! - `inbox`: [`Inbox`], the engine-bound ring with its bounded overflow.
//! - `thread`: [`GatewayThread`], the loop and the connection life cycle; [`GatewayConfig`].
//! - `transport`: one socket plus its rustls session, moving bytes to and from a connection's pipe.
//! - `pipe`: a connection's plaintext buffers, seen by tungstenite as a non-blocking stream.
//! - `http`: the HTTP/1.1 request writer and incremental response reader ([`HttpResponse`]).
//! - `tls`: the rustls client configuration (`ring` provider, webpki roots, optional extra CA).
//! - `rate_limit`: [`RateLimits`], budgets per interval, venue-reported usage, `Retry-After` pauses.
//! - `backoff`: [`Backoff`], the capped exponential reconnect schedule with seeded jitter.
//! - `timer`: the venue's timers.
//! - `clock`: [`Clock`], read once per pass by the thread, never by a venue.
//! - `diagnostic`: [`Diagnostic`], what the thread reports, through a sink its owner chooses.
//! - `endpoint`: [`Endpoint`] and [`ConnId`].
//! - `error`: [`GatewayError`], split into connectivity, malformed input, venue refusals.
//! - `secrets`: [`Secrets`], credentials that never print (`Debug` and `Display` show `***`).
//!
//! # Errors
//! Connectivity faults and malformed input close the connection they name and reconnect it with
//! backoff; the thread keeps running. Venue refusals and local refusals (rate budget, closed
//! connection) are returned to the venue where it asked, so it can tell the engine.
//!
//! # Secrets
//! Nothing in this crate prints message bytes: errors and diagnostics carry kinds, sizes and fixed
//! reasons, and [`HttpResponse`]'s `Debug` shows status and sizes only.

mod backoff;
mod clock;
mod diagnostic;
mod endpoint;
mod error;
mod http;
mod inbox;
mod pipe;
mod rate_limit;
mod secrets;
mod thread;
mod timer;
mod tls;
mod transport;
mod venue;
mod wire;

pub use backoff::{Backoff, BackoffPolicy};
pub use clock::{Clock, SystemClock};
pub use diagnostic::{Diagnostic, DiagnosticSink, stderr_sink};
pub use endpoint::{ConnId, Endpoint, EndpointKind};
pub use error::{Connectivity, GatewayError, Layer};
pub use http::{HttpRequest, HttpResponse, RawResponse, ReadError};
pub use inbox::{Inbox, InboxFull, InboxStats};
pub use rate_limit::{Budget, BudgetKind, Cost, RateLimits};
pub use secrets::{Secret, Secrets, SecretsError, SecretsOrigin};
pub use thread::{GatewayConfig, GatewayThread};
pub use venue::{Context, Input, Venue, WsMessage};
pub use wire::{Dispatch, Wire};
