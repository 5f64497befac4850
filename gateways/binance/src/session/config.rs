//! `BinanceConfig`: what a Binance spot session connects to and trades, checked before anything
//! connects; and [`SessionError`], why a session could not be built.
//!
//! A config names the mode (`paper`, `testnet`, `live`), optional URL overrides, the symbols with
//! their engine instrument ids, and request options. Live trading needs `allow_live = true` on top
//! of `mode = "live"`: one flag is too easy to flip by accident for real money.

use std::path::PathBuf;

use kestrel_engine::engine::RequestKind;
use kestrel_gateway::{Endpoint, SecretsError};
use kestrel_types::OrderId;
use serde::Deserialize;

use crate::rest::Placement;
use crate::sign::SignError;

/// Where the session trades.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A local Binance-compatible simulator (`kestrel sim binance`): plain HTTP and WebSocket on
    /// `127.0.0.1:9443` unless URLs are given. The default, so a config without `mode` never
    /// reaches a real exchange.
    #[default]
    Paper,
    /// Binance's spot testnet (DIGEST §1): real protocol, test money.
    Testnet,
    /// Binance production: refused unless [`BinanceConfig::allow_live`] is set.
    Live,
}

/// Where signed POST and DELETE parameters travel (GET always uses the query).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderPlacement {
    /// In the URL query, empty body (the official client's way).
    #[default]
    Query,
    /// In a form-encoded body (ccxt's way).
    Body,
}

impl OrderPlacement {
    pub(crate) const fn placement(self) -> Placement {
        match self {
            Self::Query => Placement::Query,
            Self::Body => Placement::Body,
        }
    }
}

/// One traded symbol and the engine instrument its events and orders belong to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolConfig {
    /// Binance symbol, upper case (`BTCUSDT`).
    pub symbol: String,
    /// The engine's instrument id.
    pub instrument: u16,
}

/// A Binance spot session's configuration (TOML or JSON through serde; unknown keys are refused
/// so a misspelt option is an error, not a silent default).
///
/// ```
/// let toml_like = r#"{"mode":"testnet","symbols":[{"symbol":"BTCUSDT","instrument":0}]}"#;
/// let c: kestrel_gw_binance::session::BinanceConfig = serde_json::from_str(toml_like).unwrap();
/// assert_eq!(c.mode, kestrel_gw_binance::session::Mode::Testnet);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinanceConfig {
    /// `paper` (default), `testnet` or `live`.
    #[serde(default)]
    pub mode: Mode,
    /// Must be `true` for `mode = "live"`; ignored otherwise.
    #[serde(default)]
    pub allow_live: bool,
    /// REST base, `http://host[:port]` or `https://host[:port]` (no path: Binance paths are fixed).
    #[serde(default)]
    pub rest_url: Option<String>,
    /// Market stream base, `ws://host[:port][/prefix]` or `wss://…`; the session appends
    /// `/stream?streams=…`.
    #[serde(default)]
    pub stream_url: Option<String>,
    /// WebSocket API URL with its path, `ws://` or `wss://` (Binance: `/ws-api/v3`).
    #[serde(default)]
    pub ws_api_url: Option<String>,
    /// `recvWindow` sent with signed requests (1..=60000 ms); Binance's 5000 ms when absent.
    #[serde(default)]
    pub recv_window_ms: Option<u32>,
    /// How long a REST answer may take before the connection is deemed dead and reconnected
    /// (requests on it are then resolved as failed); 10000 ms when absent.
    #[serde(default)]
    pub rest_timeout_ms: Option<u32>,
    /// The traded symbols (at least one; symbols and instruments each unique).
    pub symbols: Vec<SymbolConfig>,
    /// A PEM CA certificate to trust besides the public roots (a local TLS simulator).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Where signed order parameters travel: `query` (default) or `body`.
    #[serde(default)]
    pub order_placement: OrderPlacement,
}

/// Why a Binance session could not be built or refused a request. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// `mode = "live"` without `allow_live = true`.
    #[error("binance config: mode \"live\" trades real money and needs `allow_live = true`")]
    LiveNotAllowed,
    /// A config field is wrong.
    #[error("binance config: {field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The CA file could not be read.
    #[error("binance config: ca_file {}: {source}", .path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A credential is missing.
    #[error("binance credentials: {0}")]
    Secrets(#[from] SecretsError),
    /// The Ed25519 key does not load.
    #[error("binance credentials: {0}")]
    Key(#[from] SignError),
    /// The engine asked for something this session cannot send to Binance spot.
    #[error("binance: {kind:?} of order {order} is not supported: {reason}")]
    Unsupported {
        /// The request kind.
        kind: RequestKind,
        /// The engine order.
        order: OrderId,
        /// Why.
        reason: &'static str,
    },
}

/// A parsed `scheme://host[:port][/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: String,
}

impl Url {
    /// Parses `text` whose scheme must be `plain` or `secure` (`http`/`https`, `ws`/`wss`).
    pub(crate) fn parse(
        field: &'static str,
        text: &str,
        plain: &str,
        secure: &str,
    ) -> Result<Self, SessionError> {
        let bad = |reason: String| SessionError::Config { field, reason };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad(format!("{text:?} is not a {plain}:// or {secure}:// URL")))?;
        let tls = if scheme.eq_ignore_ascii_case(plain) {
            false
        } else if scheme.eq_ignore_ascii_case(secure) {
            true
        } else {
            return Err(bad(format!("scheme {scheme:?}: want {plain} or {secure}")));
        };
        if rest.contains(['?', '#', '@', ' ']) {
            return Err(bad(format!("{text:?}: no query, fragment, credentials or spaces allowed")));
        }
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => {
                let port = p.parse::<u16>().ok().filter(|p| *p != 0);
                (h, port.ok_or_else(|| bad(format!("port {p:?} is not 1..=65535")))?)
            }
            None => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')) {
            return Err(bad(format!("host {host:?} is not a host name or IPv4 address")));
        }
        Ok(Self { tls, host: host.to_owned(), port, path: path.trim_end_matches('/').to_owned() })
    }
}

/// The three endpoints' URLs after mode defaults and overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Urls {
    pub(crate) rest: Url,
    pub(crate) stream: Url,
    pub(crate) ws_api: Url,
}

impl BinanceConfig {
    /// Checks the config and resolves its URLs.
    pub(crate) fn validate(&self) -> Result<Urls, SessionError> {
        let (rest, stream, ws_api) = match self.mode {
            Mode::Live if !self.allow_live => return Err(SessionError::LiveNotAllowed),
            Mode::Paper => ("http://127.0.0.1:9443", "ws://127.0.0.1:9443", "ws://127.0.0.1:9443/ws-api/v3"),
            Mode::Testnet => (
                "https://testnet.binance.vision",
                "wss://stream.testnet.binance.vision",
                "wss://ws-api.testnet.binance.vision/ws-api/v3",
            ),
            Mode::Live => (
                "https://api.binance.com",
                "wss://stream.binance.com:9443",
                "wss://ws-api.binance.com/ws-api/v3",
            ),
        };
        let rest = Url::parse("rest_url", self.rest_url.as_deref().unwrap_or(rest), "http", "https")?;
        if !rest.path.is_empty() {
            return Err(SessionError::Config { field: "rest_url", reason: "no path allowed".into() });
        }
        let stream = Url::parse("stream_url", self.stream_url.as_deref().unwrap_or(stream), "ws", "wss")?;
        let ws_api = Url::parse("ws_api_url", self.ws_api_url.as_deref().unwrap_or(ws_api), "ws", "wss")?;
        if ws_api.path.is_empty() {
            return Err(SessionError::Config {
                field: "ws_api_url",
                reason: "needs its path (/ws-api/v3)".into(),
            });
        }
        if let Some(w) = self.recv_window_ms
            && !(1..=60_000).contains(&w)
        {
            return Err(SessionError::Config {
                field: "recv_window_ms",
                reason: format!("{w} is not 1..=60000"),
            });
        }
        if self.rest_timeout_ms == Some(0) {
            return Err(SessionError::Config {
                field: "rest_timeout_ms",
                reason: "0 ms leaves no time to answer".into(),
            });
        }
        if self.symbols.is_empty() {
            return Err(SessionError::Config { field: "symbols", reason: "at least one symbol".into() });
        }
        for (i, s) in self.symbols.iter().enumerate() {
            let ok = (1..=20).contains(&s.symbol.len())
                && s.symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                return Err(SessionError::Config {
                    field: "symbols",
                    reason: format!("{:?} is not an upper-case Binance symbol", s.symbol),
                });
            }
            if self.symbols[..i].iter().any(|o| o.symbol == s.symbol || o.instrument == s.instrument) {
                return Err(SessionError::Config {
                    field: "symbols",
                    reason: format!("{} / instrument {} listed twice", s.symbol, s.instrument),
                });
            }
        }
        Ok(Urls { rest, stream, ws_api })
    }

    /// The session's endpoints: REST, the combined market stream, the WebSocket API.
    pub(crate) fn endpoints(&self, urls: &Urls) -> Vec<Endpoint> {
        let streams: Vec<String> = self
            .symbols
            .iter()
            .flat_map(|s| {
                let l = s.symbol.to_ascii_lowercase();
                [format!("{l}@trade"), format!("{l}@bookTicker"), format!("{l}@depth@100ms")]
            })
            .collect();
        let market = format!("{}/stream?streams={}", urls.stream.path, streams.join("/"));
        vec![
            Endpoint::http("rest", &urls.rest.host, urls.rest.port, urls.rest.tls),
            Endpoint::websocket("market", &urls.stream.host, urls.stream.port, urls.stream.tls, &market),
            Endpoint::websocket(
                "user",
                &urls.ws_api.host,
                urls.ws_api.port,
                urls.ws_api.tls,
                &urls.ws_api.path,
            ),
        ]
    }
}
