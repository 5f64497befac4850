//! Request parameters: the query string, a form-encoded body, or WebSocket API `params`, read into
//! one list (the query wins over the body, as on Binance), and the exact text a signature covers.

use crate::error::ApiError;

/// Decoded parameters, in arrival order; the query's before the body's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// From a query string and a form body (either may be empty).
    pub fn from_query_and_body(query: &str, body: &str) -> Self {
        let mut pairs = parse_form(query);
        pairs.extend(parse_form(body));
        Self { pairs }
    }

    /// From decoded pairs (the WebSocket API's params).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The first value of `name` (the query's when both carry it); empty text counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or -1102.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// An integer parameter (ids, times, limits): -1100 when not digits.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad(-1100, format!("Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."))
                })
            })
            .transpose()
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Splits `a=1&b=2` and percent-decodes names and values (`+` is a space).
pub fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding; a broken escape is kept as written (Binance then refuses the value itself).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encoding as Python's `urlencode` does (`quote_plus`): what the WebSocket API clients
/// sign, so the server rebuilds the same text.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(c as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

/// The signed text of a REST request and the signature sent: Binance's `totalParams` (query string
/// then body, as received) with the `signature` parameter taken out of whichever part holds it.
pub fn signed_payload(query: &str, body: &str) -> (String, Option<String>) {
    let (q, s1) = strip_signature(query);
    let (b, s2) = strip_signature(body);
    (format!("{q}{b}"), s1.or(s2))
}

/// `text` without its `signature=` pair, and that pair's value.
fn strip_signature(text: &str) -> (String, Option<String>) {
    let mut kept = Vec::new();
    let mut sig = None;
    for part in text.split('&') {
        match part.strip_prefix("signature=") {
            Some(v) if sig.is_none() => sig = Some(decode(v)),
            _ => kept.push(part),
        }
    }
    (kept.join("&"), sig)
}

/// The WebSocket API's signed text: every param but `signature`, sorted by name, `k=v` url-encoded,
/// joined with `&`.
pub fn ws_payload(params: &Params) -> String {
    let mut pairs: Vec<&(String, String)> = params.pairs().iter().filter(|(k, _)| k != "signature").collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_wins_over_body() {
        let p = Params::from_query_and_body("symbol=BTCUSDT&side=BUY", "side=SELL&quantity=0.001");
        assert_eq!(p.get("side"), Some("BUY"));
        assert_eq!(p.get("quantity"), Some("0.001"));
    }

    #[test]
    fn decodes_json_arrays_and_plus() {
        assert_eq!(decode("%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D"), "[\"BTCUSDT\",\"ETHUSDT\"]");
        assert_eq!(decode("a+b%"), "a b%");
    }

    #[test]
    fn signature_is_cut_from_query_or_body() {
        let (p, s) = signed_payload("symbol=X&timestamp=1&signature=ab", "");
        assert_eq!((p.as_str(), s.as_deref()), ("symbol=X&timestamp=1", Some("ab")));
        let (p, s) = signed_payload("", "timestamp=1&recvWindow=10000&signature=cd");
        assert_eq!((p.as_str(), s.as_deref()), ("timestamp=1&recvWindow=10000", Some("cd")));
        let (p, s) = signed_payload("symbol=X", "timestamp=1&signature=ef");
        assert_eq!((p.as_str(), s.as_deref()), ("symbol=Xtimestamp=1", Some("ef")));
    }

    #[test]
    fn ws_payload_sorts_and_encodes() {
        let p = Params::from_pairs(vec![
            ("timestamp".into(), "5".into()),
            ("apiKey".into(), "k".into()),
            ("signature".into(), "x".into()),
            ("newClientOrderId".into(), "a b/c".into()),
        ]);
        assert_eq!(ws_payload(&p), "apiKey=k&newClientOrderId=a+b%2Fc&timestamp=5");
    }
}
