//! `Endpoint` and `ConnId`: where a venue's connections go, and how the venue names them.
//!
//! A venue lists its endpoints once ([`crate::Venue::endpoints`]); the gateway keeps one connection
//! per endpoint and the venue refers to it by its index, a [`ConnId`]. An index rather than a name
//! keeps every hot-path lookup a bounds-checked array access.

use std::fmt;

/// One of a venue's connections: the index of its [`Endpoint`] in [`crate::Venue::endpoints`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u16);

impl ConnId {
    /// The endpoint's index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection {}", self.0)
    }
}

/// What is spoken on an endpoint once the transport (TCP, then TLS if asked) is up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointKind {
    /// HTTP/1.1 requests and responses, one at a time, the connection kept alive.
    Http,
    /// A WebSocket opened with an HTTP upgrade of `path` (path and query, e.g. `/ws?streams=a`).
    WebSocket {
        /// The request target of the upgrade.
        path: String,
    },
}

/// Where one connection goes. No credentials here: it is printed in diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// A short name for diagnostics (`rest`, `market`, `user`).
    pub name: String,
    /// Host name or IP address; also the TLS server name and the `Host` header.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether to speak TLS on the connection.
    pub tls: bool,
    /// HTTP or WebSocket.
    pub kind: EndpointKind,
}

impl Endpoint {
    /// An HTTP endpoint.
    pub fn http(name: &str, host: &str, port: u16, tls: bool) -> Self {
        Self { name: name.to_owned(), host: host.to_owned(), port, tls, kind: EndpointKind::Http }
    }

    /// A WebSocket endpoint upgraded at `path`.
    pub fn websocket(name: &str, host: &str, port: u16, tls: bool, path: &str) -> Self {
        Self {
            name: name.to_owned(),
            host: host.to_owned(),
            port,
            tls,
            kind: EndpointKind::WebSocket { path: path.to_owned() },
        }
    }

    /// The `Host` header value: the port is left out when it is the scheme's default (RFC 9110 §7.2).
    pub fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }

    /// `ws://` or `wss://` URL of a WebSocket endpoint (`None` for HTTP).
    pub fn ws_url(&self) -> Option<String> {
        match &self.kind {
            EndpointKind::Http => None,
            EndpointKind::WebSocket { path } => {
                let scheme = if self.tls { "wss" } else { "ws" };
                Some(format!("{scheme}://{}{path}", self.host_header()))
            }
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (&self.kind, self.tls) {
            (EndpointKind::Http, false) => "http",
            (EndpointKind::Http, true) => "https",
            (EndpointKind::WebSocket { .. }, false) => "ws",
            (EndpointKind::WebSocket { .. }, true) => "wss",
        };
        write!(f, "{} ({scheme}://{}:{})", self.name, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_and_url_leave_out_default_ports() {
        let e = Endpoint::websocket("market", "stream.example", 443, true, "/ws?streams=a");
        assert_eq!(e.host_header(), "stream.example");
        assert_eq!(e.ws_url().as_deref(), Some("wss://stream.example/ws?streams=a"));
        let h = Endpoint::http("rest", "127.0.0.1", 8080, false);
        assert_eq!(h.host_header(), "127.0.0.1:8080");
        assert_eq!(h.ws_url(), None);
        assert_eq!(h.to_string(), "rest (http://127.0.0.1:8080)");
    }
}
