//! Kestrel's gateway framework: everything a venue connection needs that is not the venue's protocol.
//!
//! # What this crate will own
//! `shared/ARCHITECTURE.md` §8: the sans-I/O `Venue` trait that every `kestrel-gw-<venue>` crate
//! implements (bytes in, normalised `kestrel-types` messages out, no I/O, no clock reads), and the one
//! generic `GatewayThread<V>` loop that drives it over mio: sockets, TLS (rustls with the `ring`
//! provider), HTTP/1.1 (httparse), WebSocket (tungstenite), timers, rate limits and the rtrb rings to
//! and from the engine, with errors split into `Connectivity` (retry, reconnect) and `Venue` (refused).
//!
//! # What is here now
//! [`Secrets`]: the API keys and secrets a venue session logs in with, loaded from the environment or
//! from an owner-only file, never printed (`Debug` and `Display` show `***`), not serialisable, wiped
//! from memory on drop, and reachable only through an explicit [`Secret::expose`]. It comes first
//! because `Venue::new` takes it, so every venue crate depends on its shape.

mod secrets;

pub use secrets::{Secret, Secrets, SecretsError, SecretsOrigin};
