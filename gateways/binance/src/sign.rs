//! Request signing: HMAC-SHA256 (hex) and Ed25519 (base64) over the exact bytes sent, and the
//! percent-encoding both the payload and the signature travel in.
//!
//! Binance verifies the signature over the query string concatenated with the body *as
//! transmitted* (still percent-encoded), so the same [`Query`] text is both signed and sent: there
//! is no second encoding step that could differ. Keys print as `***`.

use core::fmt;

use base64::Engine;
use ring::hmac;
use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

/// Why a signing key could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The PEM text has no `PRIVATE KEY` block, or its base64 is broken.
    #[error("Ed25519 key PEM: {reason}")]
    Pem {
        /// What is wrong.
        reason: &'static str,
    },
    /// The DER inside is not an unencrypted PKCS#8 Ed25519 private key.
    #[error("Ed25519 key: not a PKCS#8 Ed25519 private key ({reason})")]
    Key {
        /// ring's reason.
        reason: String,
    },
}

/// An HMAC-SHA256 API secret.
pub struct HmacKey(hmac::Key);

impl HmacKey {
    /// The key for `secret` (the API secret text, used as bytes).
    pub fn new(secret: &str) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()))
    }

    /// Lowercase hex HMAC-SHA256 of `payload`, on the stack.
    pub fn sign(&self, payload: &[u8]) -> HexSignature {
        let tag = hmac::sign(&self.0, payload);
        let mut out = [0u8; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(tag.as_ref()) {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        HexSignature(out)
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(***)")
    }
}

/// 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexSignature([u8; 64]);

impl HexSignature {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Debug for HexSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Ed25519 private key (required by Binance for WS-API `session.logon`).
pub struct Ed25519Key(Ed25519KeyPair);

impl Ed25519Key {
    /// From a PKCS#8 PEM text (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm
    /// ed25519` writes it). The PEM armour is unwrapped here by hand: it is three lines of base64,
    /// not worth a crate.
    ///
    /// # Errors
    /// [`SignError`] for other PEM blocks (an encrypted key, a public key) or a broken key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, SignError> {
        const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
        const END: &str = "-----END PRIVATE KEY-----";
        let start = pem.find(BEGIN).ok_or(SignError::Pem { reason: "no BEGIN PRIVATE KEY line" })?;
        let body = &pem[start + BEGIN.len()..];
        let end = body.find(END).ok_or(SignError::Pem { reason: "no END PRIVATE KEY line" })?;
        let b64: Zeroizing<String> =
            Zeroizing::new(body[..end].chars().filter(|c| !c.is_ascii_whitespace()).collect());
        let der = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|_| SignError::Pem { reason: "invalid base64 inside the PEM block" })?,
        );
        Self::from_pkcs8_der(&der)
    }

    /// From PKCS#8 DER (v1 without the public key, or v2 with it).
    ///
    /// # Errors
    /// [`SignError::Key`] when ring refuses the key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignError> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(Self)
            .map_err(|e| SignError::Key { reason: e.to_string() })
    }

    /// The 32-byte public key (what is registered with Binance, in its PEM form).
    pub fn public_key(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }

    /// The base64 Ed25519 signature of `payload`, on the stack.
    pub fn sign(&self, payload: &[u8]) -> Base64Signature {
        let sig = self.0.sign(payload);
        let mut out = [0u8; 88];
        // 64 bytes always encode to exactly 88 characters.
        let n = base64::engine::general_purpose::STANDARD.encode_slice(sig.as_ref(), &mut out).unwrap_or(0);
        Base64Signature { len: n, text: out }
    }
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519Key(***)")
    }
}

/// 88 base64 characters (case-sensitive; percent-encode before sending).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Base64Signature {
    len: usize,
    text: [u8; 88],
}

impl Base64Signature {
    /// The text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.text.get(..self.len).unwrap_or_default()).unwrap_or("")
    }
}

impl fmt::Debug for Base64Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The account's signing key, of either kind Binance accepts here (RSA is not supported).
#[derive(Debug)]
pub enum Signer {
    /// HMAC-SHA256 secret.
    Hmac(HmacKey),
    /// Ed25519 private key.
    Ed25519(Ed25519Key),
}

/// A signature of either kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signature {
    /// Hex (HMAC).
    Hex(HexSignature),
    /// Base64 (Ed25519).
    Base64(Base64Signature),
}

impl Signature {
    /// The signature text (base64 still needs percent-encoding, which [`Query::push`] does).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Hex(h) => h.as_str(),
            Self::Base64(b) => b.as_str(),
        }
    }
}

impl Signer {
    /// Signs `payload`.
    pub fn sign(&self, payload: &[u8]) -> Signature {
        match self {
            Self::Hmac(k) => Signature::Hex(k.sign(payload)),
            Self::Ed25519(k) => Signature::Base64(k.sign(payload)),
        }
    }
}

/// Appends `text` percent-encoded: RFC 3986 unreserved bytes (`A-Z a-z 0-9 - _ . ~`) as they are,
/// every other byte as `%XX` (upper-case hex). Base64's `+`, `/`, `=` become `%2B`, `%2F`, `%3D`, as
/// Binance expects for Ed25519 signatures; JSON array values (`["BTCUSDT"]`) become
/// `%5B%22BTCUSDT%22%5D` as the official client sends them.
pub fn percent_encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// A `key=value&key=value` string, encoded once and then both signed and sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query(String);

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self(String::new())
    }

    /// Appends `key=value` (value percent-encoded; keys are Binance's ASCII parameter names).
    pub fn push(&mut self, key: &str, value: &str) -> &mut Self {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(key);
        self.0.push('=');
        percent_encode_into(&mut self.0, value);
        self
    }

    /// Appends `key=<integer>`.
    pub fn push_u64(&mut self, key: &str, value: u64) -> &mut Self {
        let mut buf = itoa_buf(value);
        self.push(key, buf.as_str())
    }

    /// The encoded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Decimal digits of a `u64` on the stack.
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_str(&mut self) -> &str {
        core::str::from_utf8(self.buf.get(self.start..).unwrap_or_default()).unwrap_or("0")
    }
}

fn itoa_buf(mut v: u64) -> Digits {
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    loop {
        start -= 1;
        // v % 10 < 10: the cast cannot truncate.
        buf[start] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    Digits { buf, start }
}

/// The WebSocket API signature payload: every parameter but `signature`, sorted by key,
/// `key=value` joined by `&`, values percent-encoded as in a query.
pub fn ws_api_payload(params: &[(&str, &str)]) -> Query {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "signature").collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut q = Query::new();
    for (k, v) in sorted {
        q.push(k, v);
    }
    q
}

/// A signed WebSocket API request frame: `{"id":…,"method":…,"params":{…,"apiKey","timestamp","signature"}}`.
///
/// The signature covers every parameter but itself, sorted by key ([`ws_api_payload`]). Values are
/// sent as JSON strings and `timestamp` as a number, as Binance's current official client does;
/// the signed text is the same either way.
pub fn ws_api_request(
    id: &str,
    method: &str,
    params: &[(&str, &str)],
    api_key: &str,
    timestamp_ms: u64,
    signer: &Signer,
) -> String {
    let ts = timestamp_ms.to_string();
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.push(("apiKey", api_key));
    all.push(("timestamp", &ts));
    let sig = signer.sign(ws_api_payload(&all).as_str().as_bytes());
    let mut obj = serde_json::Map::new();
    for (k, v) in params {
        obj.insert((*k).to_owned(), serde_json::Value::from(*v));
    }
    obj.insert("apiKey".to_owned(), serde_json::Value::from(api_key));
    obj.insert("timestamp".to_owned(), serde_json::Value::from(timestamp_ms));
    obj.insert("signature".to_owned(), serde_json::Value::from(sig.as_str()));
    serde_json::json!({ "id": id, "method": method, "params": obj }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ED25519, UnparsedPublicKey};

    /// DIGEST.md §4 / Binance's REST documentation example (doc keys, not real).
    const DOC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

    #[test]
    fn hmac_reproduces_the_documented_example() {
        let mut q = Query::new();
        q.push("symbol", "LTCBTC")
            .push("side", "BUY")
            .push("type", "LIMIT")
            .push("timeInForce", "GTC")
            .push("quantity", "1")
            .push("price", "0.1")
            .push_u64("recvWindow", 5000)
            .push_u64("timestamp", 1_499_827_319_559);
        assert_eq!(
            q.as_str(),
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        );
        let sig = HmacKey::new(DOC_SECRET).sign(q.as_str().as_bytes());
        assert_eq!(sig.as_str(), "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
    }

    #[test]
    fn hmac_matches_the_official_clients_captured_requests() {
        // fixtures/client_requests_binance-connector-3.13.0.txt: HMAC("demo-secret", query).
        let key = HmacKey::new("demo-secret");
        for (query, want) in [
            ("timestamp=1795564051768", "c911d3cd7d5be2368b334c79d196449a624e9960909d5ad673699c9850f92b09"),
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=90000.00&timestamp=1795564051812",
                "a50bc699aabbd7ff95cc749906d205f6ed2bdf1e460dd2cd0d625dc9f9c3ab31",
            ),
            (
                "symbol=BTCUSDT&orderId=12345&timestamp=1795564051944",
                "6302f7772bed8e66f0a706822d88b16c3a9f31072088906f524b321d3d0c11cc",
            ),
        ] {
            assert_eq!(key.sign(query.as_bytes()).as_str(), want, "{query}");
        }
    }

    #[test]
    fn ws_api_payload_is_sorted_and_matches_the_documented_signature() {
        // Binance's WebSocket API documentation example (doc keys, not real).
        let params = [
            ("symbol", "BTCUSDT"),
            ("side", "SELL"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01000000"),
            ("price", "52000.00"),
            ("newOrderRespType", "ACK"),
            ("recvWindow", "100"),
            ("timestamp", "1645423376532"),
            ("apiKey", "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"),
            ("signature", "ignored"),
        ];
        let payload = ws_api_payload(&params);
        assert_eq!(
            payload.as_str(),
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&newOrderRespType=ACK&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
        );
        assert_eq!(
            HmacKey::new(DOC_SECRET).sign(payload.as_str().as_bytes()).as_str(),
            "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"
        );
    }

    #[test]
    fn ws_api_request_frames_are_signed_over_the_sorted_params() {
        let signer = Signer::Hmac(HmacKey::new(DOC_SECRET));
        let frame = ws_api_request(
            "4885f793-e5ad-4c3b-8f6c-55d891472b71",
            "order.place",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "0.01000000"),
                ("price", "52000.00"),
                ("newOrderRespType", "ACK"),
                ("recvWindow", "100"),
            ],
            "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            1_645_423_376_532,
            &signer,
        );
        let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["method"], "order.place");
        assert_eq!(v["params"]["timestamp"], 1_645_423_376_532_u64);
        assert_eq!(
            v["params"]["signature"],
            "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"
        );
    }

    /// A throwaway test key made with `openssl genpkey -algorithm ed25519` for this test only.
    const TEST_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDYbsdgGisR7+We+AlbNXz0yD9gtavcDxjRqPk+ud7d9\n-----END PRIVATE KEY-----\n";

    #[test]
    fn ed25519_matches_openssl_and_verifies() {
        let key = Ed25519Key::from_pkcs8_pem(TEST_PEM).unwrap();
        let payload = b"symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1.0000000&price=0.20&timestamp=1668481559918";
        let sig = key.sign(payload);
        // `openssl pkeyutl -sign -rawin` over the same payload (Ed25519 is deterministic).
        assert_eq!(
            sig.as_str(),
            "rtxlFVYOEypkEzjzaWjb42AE2EJJIqH6WPVeVZIDLCubwxl+ZjIV4g++isHo1DTvRYtu4fR+dsfuhNPn+sUtDg=="
        );
        // The public key openssl derived (`openssl pkey -pubout`: the last 32 bytes of its DER).
        let spki = base64::engine::general_purpose::STANDARD
            .decode("MCowBQYDK2VwAyEAKEtDVKDZTpwXMCfjbxY6tK5Vh1RJVA9zFytv90OPWDw=")
            .unwrap();
        assert_eq!(key.public_key(), &spki[12..]);
        let raw = base64::engine::general_purpose::STANDARD.decode(sig.as_str()).unwrap();
        let public = UnparsedPublicKey::new(&ED25519, key.public_key());
        assert!(public.verify(payload, &raw).is_ok());
        assert!(public.verify(b"symbol=BTCUSDT&side=BUY", &raw).is_err());
        let mut q = Query::new();
        q.push("signature", sig.as_str());
        assert!(q.as_str().ends_with("%2BsUtDg%3D%3D"), "{}", q.as_str());
        assert!(q.as_str().contains("%2F") || !sig.as_str().contains('/'));
    }

    #[test]
    fn ed25519_round_trip_with_a_fresh_key() {
        let rng = ring::rand::SystemRandom::new();
        let der = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        );
        let signer = Signer::Ed25519(Ed25519Key::from_pkcs8_pem(&pem).unwrap());
        let Signature::Base64(sig) = signer.sign(b"timestamp=1") else { panic!("kind") };
        let raw = base64::engine::general_purpose::STANDARD.decode(sig.as_str()).unwrap();
        let Signer::Ed25519(k) = &signer else { panic!("kind") };
        assert!(UnparsedPublicKey::new(&ED25519, k.public_key()).verify(b"timestamp=1", &raw).is_ok());
        assert_eq!(format!("{signer:?}"), "Ed25519(Ed25519Key(***))");
    }

    #[test]
    fn bad_keys_are_typed_errors() {
        assert!(matches!(Ed25519Key::from_pkcs8_pem("nothing"), Err(SignError::Pem { .. })));
        assert!(matches!(
            Ed25519Key::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----"),
            Err(SignError::Pem { .. })
        ));
        assert!(matches!(
            Ed25519Key::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
            Err(SignError::Key { .. })
        ));
        let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAKEtDVKDZTpwXMCfjbxY6tK5Vh1RJVA9zFytv90OPWDw=\n-----END PUBLIC KEY-----";
        assert!(Ed25519Key::from_pkcs8_pem(public).is_err());
        assert_eq!(format!("{:?}", HmacKey::new("s")), "HmacKey(***)");
    }

    #[test]
    fn percent_encoding_matches_the_official_client() {
        let mut q = Query::new();
        q.push("symbols", r#"["BTCUSDT","ETHUSDT"]"#).push("newClientOrderId", "my-id_1");
        assert_eq!(q.as_str(), "symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D&newClientOrderId=my-id_1");
        let mut s = String::new();
        percent_encode_into(&mut s, "a b+é");
        assert_eq!(s, "a%20b%2B%C3%A9");
    }
}
