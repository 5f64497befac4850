//! Errors: [`ApiError`] is a refusal sent to the client exactly as Binance words it; [`SimError`]
//! is the simulator's own failure (start-up, I/O), never shown to a client.

use std::path::PathBuf;

use thiserror::Error;

/// A Binance refusal: HTTP status, `code` and `msg` (the wording of the fixtures and the docs).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{status} {code}: {msg}")]
pub struct ApiError {
    /// HTTP status of the REST answer (also the WebSocket API's `status`).
    pub status: u16,
    /// Binance's negative error code.
    pub code: i64,
    /// Binance's message text.
    pub msg: String,
    /// `Retry-After` seconds for 429/418.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal with HTTP 400.
    pub fn bad(code: i64, msg: impl Into<String>) -> Self {
        Self { status: 400, code, msg: msg.into(), retry_after: None }
    }

    /// -1102: a mandatory parameter is absent or empty.
    pub fn missing(name: &str) -> Self {
        Self::bad(-1102, format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."))
    }

    /// -1100: text that is not a decimal number.
    pub fn illegal(name: &str) -> Self {
        Self::bad(
            -1100,
            format!(
                "Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."
            ),
        )
    }

    /// -1111: more decimals than the nano grid holds.
    pub fn precision(name: &str) -> Self {
        Self::bad(-1111, format!("Parameter '{name}' has too much precision."))
    }

    /// -1013: an exchangeInfo filter refuses the order.
    pub fn filter(filter: &str) -> Self {
        Self::bad(-1013, format!("Filter failure: {filter}"))
    }

    /// -1022: the signature does not verify.
    pub fn signature() -> Self {
        Self::bad(-1022, "Signature for this request is not valid.")
    }

    /// -2014: the API key is absent or malformed.
    pub fn key_format() -> Self {
        Self { status: 401, code: -2014, msg: "API-key format invalid.".into(), retry_after: None }
    }

    /// -2015: the API key is not the account's.
    pub fn key_invalid() -> Self {
        Self {
            status: 401,
            code: -2015,
            msg: "Invalid API-key, IP, or permissions for action.".into(),
            retry_after: None,
        }
    }

    /// -1121: a symbol this venue does not list.
    pub fn symbol() -> Self {
        Self::bad(-1121, "Invalid symbol.")
    }

    /// -2010: the engine refuses a new order.
    pub fn rejected(msg: &str) -> Self {
        Self::bad(-2010, msg)
    }

    /// -2010 for a balance too small.
    pub fn insufficient() -> Self {
        Self::rejected("Account has insufficient balance for requested action.")
    }

    /// The JSON body `{"code":…,"msg":…}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code, "msg": self.msg })
    }
}

/// What stops the simulator itself.
#[derive(Debug, Error)]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("sim: cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The self-signed certificate could not be made.
    #[error("sim: generating the TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The certificate file could not be written.
    #[error("sim: writing the certificate to {path}: {source}")]
    CertFile {
        /// Where.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// rustls refused the key pair.
    #[error("sim: TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The Ed25519 public key file is unreadable or not an Ed25519 SubjectPublicKeyInfo PEM.
    #[error("sim: Ed25519 public key {path}: {reason}")]
    Ed25519Key {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The order book refused its configuration.
    #[error("sim: book for {symbol}: {reason}")]
    Book {
        /// The symbol.
        symbol: String,
        /// The engine's reason.
        reason: String,
    },
    /// A fault specification that the simulator does not know.
    #[error(
        "sim: fault '{0}': expected drop-mid-fill, expire-user-stream, duplicate-reports=N, reorder-reports=N, rate-limit=429:N[:SECS] or rate-limit=418:N[:SECS]"
    )]
    Fault(String),
    /// The measurement probe cannot be used as asked.
    #[error("sim: probe: {0}")]
    Probe(String),
}
