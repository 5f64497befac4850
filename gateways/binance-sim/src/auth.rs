//! Who may trade: the account's API key, its HMAC secret and its Ed25519 public key, and the checks
//! Binance makes on a signed request (key, timestamp against recvWindow, signature).

use std::fmt;
use std::path::Path;

use base64::Engine;
use ring::{hmac, signature};

use crate::error::{ApiError, SimError};

/// The one account's credentials (from the environment; `Debug` never shows them).
#[derive(Clone, Default)]
pub struct Credentials {
    /// `BINANCE_API_KEY`.
    pub api_key: Option<String>,
    /// `BINANCE_API_SECRET`: the HMAC-SHA256 key.
    pub secret: Option<String>,
    /// The raw 32-byte Ed25519 public key from `BINANCE_ED25519_PUBLIC_KEY_FILE`.
    pub ed25519: Option<[u8; 32]>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("ed25519", &self.ed25519.map(|_| "***"))
            .finish()
    }
}

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

impl Credentials {
    /// From `BINANCE_API_KEY`, `BINANCE_API_SECRET` and `BINANCE_ED25519_PUBLIC_KEY_FILE`.
    ///
    /// # Errors
    /// [`SimError::Ed25519Key`] when the key file is named but unreadable or not an Ed25519 PEM.
    pub fn from_env() -> Result<Self, SimError> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let ed25519 = match var("BINANCE_ED25519_PUBLIC_KEY_FILE") {
            Some(path) => Some(read_ed25519_pem(Path::new(&path))?),
            None => None,
        };
        Ok(Self { api_key: var("BINANCE_API_KEY"), secret: var("BINANCE_API_SECRET"), ed25519 })
    }

    /// Checks the key a request carries: -2014 absent or malformed, -2015 not the account's.
    pub fn check_key(&self, key: Option<&str>) -> Result<(), ApiError> {
        let key = key.filter(|k| !k.is_empty()).ok_or_else(ApiError::key_format)?;
        if key.len() > 128 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(ApiError::key_format());
        }
        match &self.api_key {
            // The key is an identifier sent in clear, not a secret: a plain comparison.
            Some(k) if k == key => Ok(()),
            _ => Err(ApiError::key_invalid()),
        }
    }

    /// Checks a hex HMAC-SHA256 signature over `payload` (case-insensitive hex): -1022 otherwise.
    pub fn check_hmac(&self, payload: &str, sig: &str) -> Result<(), ApiError> {
        let secret = self.secret.as_ref().ok_or_else(ApiError::signature)?;
        let bytes = decode_hex(sig).ok_or_else(ApiError::signature)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        hmac::verify(&key, payload.as_bytes(), &bytes).map_err(|_| ApiError::signature())
    }

    /// Checks a base64 Ed25519 signature over `payload`: -1022 otherwise.
    pub fn check_ed25519(&self, payload: &str, sig: &str) -> Result<(), ApiError> {
        let key = self.ed25519.ok_or_else(ApiError::signature)?;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(sig).map_err(|_| ApiError::signature())?;
        signature::UnparsedPublicKey::new(&signature::ED25519, key)
            .verify(payload.as_bytes(), &bytes)
            .map_err(|_| ApiError::signature())
    }
}

/// Binance's timing rule: `timestamp < now + 1000` and `now − timestamp ≤ recvWindow` (default
/// 5000, at most 60000), all in ms; µs timestamps (16 digits) are accepted too.
pub fn check_timestamp(
    now_ms: i64,
    timestamp: Option<&str>,
    recv_window: Option<&str>,
) -> Result<(), ApiError> {
    let ts: i64 = timestamp.and_then(|t| t.parse().ok()).ok_or_else(|| ApiError::missing("timestamp"))?;
    let ts = if ts > 10_000_000_000_000 { ts / 1000 } else { ts };
    let window = match recv_window {
        None => 5000,
        Some(w) => {
            let w: f64 = w.parse().map_err(|_| ApiError::missing("recvWindow"))?;
            if !(0.0..=60000.0).contains(&w) {
                return Err(ApiError::bad(-1131, "recvWindow must be less than 60000"));
            }
            // Up to 3 decimals of a millisecond: the window is a duration, not money.
            w as i64
        }
    };
    if ts >= now_ms + 1000 {
        return Err(ApiError::bad(
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        ));
    }
    if now_ms - ts > window {
        return Err(ApiError::bad(-1021, "Timestamp for this request is outside of the recvWindow."));
    }
    Ok(())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Reads an Ed25519 public key PEM (`-----BEGIN PUBLIC KEY-----`, SPKI DER). Hand-written: it is
/// one fixed 44-byte structure, not worth a PEM/ASN.1 crate.
fn read_ed25519_pem(path: &Path) -> Result<[u8; 32], SimError> {
    let err = |reason: String| SimError::Ed25519Key { path: path.to_owned(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| err(format!("not base64 PEM: {e}")))?;
    if der.len() != 44 || der[..12] != ED25519_SPKI_PREFIX {
        return Err(err("not an Ed25519 SubjectPublicKeyInfo".into()));
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&der[12..]);
    Ok(key)
}

/// Hex HMAC-SHA256 of `payload` (what a client sends; used by the tests and the fault tools).
pub fn hmac_hex(secret: &str, payload: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::sign(&key, payload.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            api_key: Some("demo-key".into()),
            secret: Some("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".into()),
            ed25519: None,
        }
    }

    #[test]
    fn doc_test_vector_verifies() {
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        let sig = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
        creds().check_hmac(payload, sig).unwrap();
        creds().check_hmac(payload, &sig.to_uppercase()).unwrap();
        assert_eq!(creds().check_hmac(&format!("{payload}1"), sig).unwrap_err().code, -1022);
        assert_eq!(hmac_hex(creds().secret.as_deref().unwrap(), payload), sig);
    }

    #[test]
    fn ed25519_pem_is_read_and_signatures_verify() {
        use ring::signature::KeyPair;
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(pair.public_key().as_ref());
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ed.pem");
        std::fs::write(&path, format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n"))
            .unwrap();
        let key = read_ed25519_pem(&path).unwrap();
        assert_eq!(&key[..], pair.public_key().as_ref());
        let c = Credentials { ed25519: Some(key), ..creds() };
        let payload = "apiKey=demo-key&timestamp=1";
        let sig = base64::engine::general_purpose::STANDARD.encode(pair.sign(payload.as_bytes()).as_ref());
        c.check_ed25519(payload, &sig).unwrap();
        assert_eq!(c.check_ed25519("apiKey=demo-key&timestamp=2", &sig).unwrap_err().code, -1022);
        std::fs::write(&path, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").unwrap();
        assert!(matches!(read_ed25519_pem(&path), Err(SimError::Ed25519Key { .. })));
        assert!(matches!(read_ed25519_pem(&dir.path().join("absent")), Err(SimError::Ed25519Key { .. })));
    }

    #[test]
    fn keys_and_times() {
        let c = creds();
        assert_eq!(c.check_key(None).unwrap_err().code, -2014);
        assert_eq!(c.check_key(Some("bad key!")).unwrap_err().code, -2014);
        assert_eq!(c.check_key(Some("other")).unwrap_err().code, -2015);
        c.check_key(Some("demo-key")).unwrap();
        assert!(format!("{c:?}").contains("***") && !format!("{c:?}").contains("demo"));
        check_timestamp(10_000, Some("9000"), None).unwrap();
        assert_eq!(check_timestamp(10_000, Some("4000"), None).unwrap_err().code, -1021);
        check_timestamp(10_000, Some("4000"), Some("6000")).unwrap();
        assert_eq!(check_timestamp(10_000, Some("11000"), None).unwrap_err().code, -1021);
        assert_eq!(check_timestamp(10_000, None, None).unwrap_err().code, -1102);
    }
}
