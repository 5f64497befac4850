//! REST requests as data (method, path, query, body, headers) and their answers as typed values.
//!
//! Sans-I/O: the gateway's HTTP layer sends a [`RestRequest`] as it is and hands the status, the
//! headers and the body back to [`parse_answer`]. Signed requests carry `timestamp` (the caller's
//! clock, in ms), optional `recvWindow`, then `signature` last, over exactly the bytes sent.

use core::fmt;

use zeroize::Zeroizing;

use crate::codec;
use crate::error::DecodeError;
use crate::orders::OrderParams;
use crate::sign::{Query, Signer};

/// HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl Method {
    /// The request-line text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// Where a signed POST/PUT/DELETE puts its parameters. Binance takes both; GET always uses the query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Placement {
    /// All in the URL query, empty body (what the official client does).
    #[default]
    Query,
    /// In an `application/x-www-form-urlencoded` body, empty query (what ccxt does).
    Body,
}

/// One HTTP request, ready to write.
#[derive(Clone, PartialEq, Eq)]
pub struct RestRequest {
    /// Method.
    pub method: Method,
    /// Path (`/api/v3/order`).
    pub path: &'static str,
    /// Encoded query, without `?` (may be empty).
    pub query: String,
    /// Encoded form body (may be empty).
    pub body: String,
    /// Headers to send: `X-MBX-APIKEY`, and `Content-Type` with a body.
    pub headers: Vec<(&'static str, String)>,
    /// Request weight Binance counts for it (DIGEST §3), for the caller's limiter.
    pub weight: u32,
}

impl RestRequest {
    /// The request target: path, then `?query` when there is one.
    pub fn target(&self) -> String {
        if self.query.is_empty() { self.path.to_owned() } else { format!("{}?{}", self.path, self.query) }
    }
}

impl fmt::Debug for RestRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (*k, if k.eq_ignore_ascii_case("X-MBX-APIKEY") { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("RestRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body", &self.body)
            .field("headers", &headers)
            .field("weight", &self.weight)
            .finish()
    }
}

/// Which order a cancel or query names. By `orderId` is Binance's fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderRef<'a> {
    /// Binance's order id.
    OrderId(u64),
    /// Our client order id (`origClientOrderId`).
    ClientId(&'a str),
}

/// `newOrderRespType`; `None` in [`RestClient::new_order`] leaves Binance's default (FULL for
/// MARKET and LIMIT, ACK otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RespType {
    /// Ids only.
    Ack,
    /// With the order's state.
    Result,
    /// With the fills.
    Full,
}

impl RespType {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ACK",
            Self::Result => "RESULT",
            Self::Full => "FULL",
        }
    }
}

/// Builds the requests of one account. Holds the API key (printed as `***`) and the signer.
pub struct RestClient {
    api_key: Zeroizing<String>,
    signer: Signer,
    recv_window_ms: Option<u32>,
    placement: Placement,
}

impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient")
            .field("api_key", &"***")
            .field("signer", &self.signer)
            .field("recv_window_ms", &self.recv_window_ms)
            .field("placement", &self.placement)
            .finish()
    }
}

impl RestClient {
    /// A client for `api_key`, signing with `signer`; no `recvWindow` (Binance's 5000 ms applies),
    /// parameters in the query.
    pub fn new(api_key: &str, signer: Signer) -> Self {
        Self {
            api_key: Zeroizing::new(api_key.to_owned()),
            signer,
            recv_window_ms: None,
            placement: Placement::Query,
        }
    }

    /// Sends `recvWindow=ms` with signed requests (Binance allows up to 60000).
    #[must_use]
    pub fn with_recv_window(self, ms: u32) -> Self {
        Self { recv_window_ms: Some(ms), ..self }
    }

    /// Where signed POST/PUT/DELETE parameters go.
    #[must_use]
    pub fn with_placement(self, placement: Placement) -> Self {
        Self { placement, ..self }
    }

    /// `POST /api/v3/order`. Parameter order: symbol, side, type, timeInForce, quantity, price,
    /// stopPrice, newClientOrderId, newOrderRespType, then recvWindow, timestamp, signature.
    pub fn new_order(
        &self,
        symbol: &str,
        client_order_id: &str,
        p: &OrderParams,
        resp: Option<RespType>,
        timestamp_ms: u64,
    ) -> RestRequest {
        let mut q = Query::new();
        q.push("symbol", symbol).push("side", p.side.as_str()).push("type", p.order_type.as_str());
        if let Some(tif) = p.time_in_force {
            q.push("timeInForce", tif.as_str());
        }
        q.push("quantity", &p.quantity.to_string());
        if let Some(price) = p.price {
            q.push("price", &price.to_string());
        }
        if let Some(stop) = p.stop_price {
            q.push("stopPrice", &stop.to_string());
        }
        q.push("newClientOrderId", client_order_id);
        if let Some(r) = resp {
            q.push("newOrderRespType", r.as_str());
        }
        self.signed(Method::Post, "/api/v3/order", q, timestamp_ms, 1)
    }

    /// `DELETE /api/v3/order`.
    pub fn cancel_order(&self, symbol: &str, order: OrderRef<'_>, timestamp_ms: u64) -> RestRequest {
        let q = order_query(symbol, order);
        self.signed(Method::Delete, "/api/v3/order", q, timestamp_ms, 1)
    }

    /// `GET /api/v3/order`.
    pub fn query_order(&self, symbol: &str, order: OrderRef<'_>, timestamp_ms: u64) -> RestRequest {
        let q = order_query(symbol, order);
        self.signed(Method::Get, "/api/v3/order", q, timestamp_ms, 4)
    }

    /// `GET /api/v3/openOrders`, for one symbol or all (weight 80).
    pub fn open_orders(&self, symbol: Option<&str>, timestamp_ms: u64) -> RestRequest {
        let mut q = Query::new();
        if let Some(s) = symbol {
            q.push("symbol", s);
        }
        self.signed(Method::Get, "/api/v3/openOrders", q, timestamp_ms, if symbol.is_some() { 6 } else { 80 })
    }

    /// `GET /api/v3/account`.
    pub fn account(&self, timestamp_ms: u64) -> RestRequest {
        self.signed(Method::Get, "/api/v3/account", Query::new(), timestamp_ms, 20)
    }

    /// `GET /api/v3/depth` (public). `limit` up to 5000; weight grows with it.
    pub fn depth(&self, symbol: &str, limit: u16) -> RestRequest {
        let mut q = Query::new();
        q.push("symbol", symbol).push_u64("limit", u64::from(limit));
        let weight = match limit {
            0..=100 => 5,
            101..=500 => 25,
            501..=1000 => 50,
            _ => 250,
        };
        self.public(Method::Get, "/api/v3/depth", q, weight)
    }

    /// `GET /api/v3/exchangeInfo` (public): all symbols, one (`symbol=`), or several (`symbols=` JSON
    /// array, as the official client sends it).
    pub fn exchange_info(&self, symbols: &[&str]) -> RestRequest {
        let mut q = Query::new();
        match symbols {
            [] => {}
            [one] => {
                q.push("symbol", one);
            }
            many => {
                let list: Vec<String> = many.iter().map(|s| format!("\"{s}\"")).collect();
                q.push("symbols", &format!("[{}]", list.join(",")));
            }
        }
        self.public(Method::Get, "/api/v3/exchangeInfo", q, 20)
    }

    /// `POST /api/v3/userDataStream` (API key only, no signature).
    pub fn listen_key_create(&self) -> RestRequest {
        self.public(Method::Post, "/api/v3/userDataStream", Query::new(), 2)
    }

    /// `PUT /api/v3/userDataStream?listenKey=` (keep-alive).
    pub fn listen_key_keepalive(&self, listen_key: &str) -> RestRequest {
        let mut q = Query::new();
        q.push("listenKey", listen_key);
        self.public(Method::Put, "/api/v3/userDataStream", q, 2)
    }

    /// `DELETE /api/v3/userDataStream?listenKey=`.
    pub fn listen_key_close(&self, listen_key: &str) -> RestRequest {
        let mut q = Query::new();
        q.push("listenKey", listen_key);
        self.public(Method::Delete, "/api/v3/userDataStream", q, 2)
    }

    fn public(&self, method: Method, path: &'static str, q: Query, weight: u32) -> RestRequest {
        RestRequest {
            method,
            path,
            query: q.into_string(),
            body: String::new(),
            headers: vec![("X-MBX-APIKEY", self.api_key.as_str().to_owned())],
            weight,
        }
    }

    fn signed(
        &self,
        method: Method,
        path: &'static str,
        mut q: Query,
        timestamp_ms: u64,
        weight: u32,
    ) -> RestRequest {
        if let Some(w) = self.recv_window_ms {
            q.push_u64("recvWindow", u64::from(w));
        }
        q.push_u64("timestamp", timestamp_ms);
        // The payload is query + body as sent; only one of them is non-empty here.
        let sig = self.signer.sign(q.as_str().as_bytes());
        q.push("signature", sig.as_str());
        let mut req = self.public(method, path, Query::new(), weight);
        if method != Method::Get && self.placement == Placement::Body {
            req.body = q.into_string();
            req.headers.push(("Content-Type", "application/x-www-form-urlencoded".to_owned()));
        } else {
            req.query = q.into_string();
        }
        req
    }
}

fn order_query(symbol: &str, order: OrderRef<'_>) -> Query {
    let mut q = Query::new();
    q.push("symbol", symbol);
    match order {
        OrderRef::OrderId(id) => q.push_u64("orderId", id),
        OrderRef::ClientId(id) => q.push("origClientOrderId", id),
    };
    q
}

/// Binance refused the request: the HTTP status and Binance's `{code, msg}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Binance HTTP {http_status} code {code}: {msg}")]
pub struct BinanceError {
    /// HTTP status (400 request/engine errors, 401/403, 409 cancel-replace, 418 banned, 429 limited).
    pub http_status: u16,
    /// Binance's error code (negative).
    pub code: i64,
    /// Binance's message.
    pub msg: String,
    /// `Retry-After` in seconds (with 418 and 429).
    pub retry_after_secs: Option<u64>,
}

impl BinanceError {
    /// Over a request or order limit (HTTP 429): back off for `retry_after_secs`.
    pub fn is_rate_limited(&self) -> bool {
        self.http_status == 429
    }

    /// IP banned (HTTP 418) until `retry_after_secs` have passed.
    pub fn is_banned(&self) -> bool {
        self.http_status == 418
    }
}

/// Why a REST answer gave no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// Binance refused the request.
    #[error(transparent)]
    Venue(#[from] BinanceError),
    /// A 4xx whose body is not Binance's `{code, msg}` (a WAF page, a proxy).
    #[error("HTTP {http_status} without a Binance error body: {body:?}")]
    Unexpected {
        /// HTTP status.
        http_status: u16,
        /// The body (first 256 bytes).
        body: String,
    },
    /// A 5xx: Binance's outcome is unknown (an order may or may not exist; query it).
    #[error("HTTP {http_status}: outcome unknown: {body:?}")]
    OutcomeUnknown {
        /// HTTP status.
        http_status: u16,
        /// The body (first 256 bytes).
        body: String,
    },
    /// A 2xx whose body did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A rate-limit or Retry-After header that is not a number.
    #[error("header {name}: {value:?} is not a number")]
    Header {
        /// The header name as received.
        name: String,
        /// Its value.
        value: String,
    },
}

/// The limit usage Binance reports in response headers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `X-MBX-USED-WEIGHT-1M`: request weight used in the current minute.
    pub used_weight_1m: Option<u32>,
    /// `X-MBX-ORDER-COUNT-10S`: orders in the current 10 seconds.
    pub order_count_10s: Option<u32>,
    /// `X-MBX-ORDER-COUNT-1D`: orders today.
    pub order_count_1d: Option<u32>,
    /// `Retry-After`, seconds.
    pub retry_after_secs: Option<u64>,
}

impl Usage {
    /// Reads the headers (names matched case-insensitively; others ignored).
    ///
    /// # Errors
    /// [`RestError::Header`] for a known header whose value is not a number.
    pub fn from_headers<'h>(
        headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    ) -> Result<Self, RestError> {
        let mut u = Self::default();
        for (name, value) in headers {
            let number = |v: &str| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| RestError::Header { name: name.to_owned(), value: v.to_owned() })
            };
            let small = |v: &str| {
                number(v).and_then(|n| {
                    u32::try_from(n)
                        .map_err(|_| RestError::Header { name: name.to_owned(), value: v.to_owned() })
                })
            };
            if name.eq_ignore_ascii_case("x-mbx-used-weight-1m") {
                u.used_weight_1m = Some(small(value)?);
            } else if name.eq_ignore_ascii_case("x-mbx-order-count-10s") {
                u.order_count_10s = Some(small(value)?);
            } else if name.eq_ignore_ascii_case("x-mbx-order-count-1d") {
                u.order_count_1d = Some(small(value)?);
            } else if name.eq_ignore_ascii_case("retry-after") {
                u.retry_after_secs = Some(number(value)?);
            }
        }
        Ok(u)
    }
}

/// Turns an HTTP answer into a value or a typed error. `decode` is the body's decoder for a 2xx
/// (e.g. [`codec::decode_order_response`]).
///
/// # Errors
/// [`RestError`]: Binance's refusal (with Retry-After for 418/429), an unknown outcome (5xx), a
/// non-Binance error body, a body that does not decode, or a malformed limit header.
pub fn parse_answer<'a, 'h, T>(
    http_status: u16,
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: &'a str,
    decode: impl FnOnce(&'a str) -> Result<T, DecodeError>,
) -> Result<(T, Usage), RestError> {
    let usage = Usage::from_headers(headers)?;
    let excerpt = || body.chars().take(256).collect::<String>();
    match http_status {
        200..=299 => Ok((decode(body)?, usage)),
        400..=499 => match codec::decode::<crate::msg::ApiError<'_>>("error body", body) {
            Ok(e) => Err(RestError::Venue(BinanceError {
                http_status,
                code: e.code,
                msg: e.msg.into_owned(),
                retry_after_secs: usage.retry_after_secs,
            })),
            Err(_) => Err(RestError::Unexpected { http_status, body: excerpt() }),
        },
        500..=599 => Err(RestError::OutcomeUnknown { http_status, body: excerpt() }),
        _ => Err(RestError::Unexpected { http_status, body: excerpt() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{OrderType, Side, TimeInForce};
    use crate::sign::HmacKey;

    fn client() -> RestClient {
        RestClient::new("demo-key", Signer::Hmac(HmacKey::new("demo-secret")))
    }

    /// Requests rebuilt from fixtures/client_requests_binance-connector-3.13.0.txt: the same
    /// parameters and timestamp give byte-identical targets and signatures.
    #[test]
    fn requests_match_the_official_client_byte_for_byte() {
        let c = client();
        let r = c.account(1_795_564_051_768);
        assert_eq!((r.method, r.path), (Method::Get, "/api/v3/account"));
        assert_eq!(
            r.target(),
            "/api/v3/account?timestamp=1795564051768&signature=c911d3cd7d5be2368b334c79d196449a624e9960909d5ad673699c9850f92b09"
        );
        assert_eq!(r.headers, vec![("X-MBX-APIKEY", "demo-key".to_owned())]);
        assert!(!format!("{r:?}").contains("demo-key"));
        let r = c.query_order("BTCUSDT", OrderRef::OrderId(12345), 1_795_564_051_856);
        assert_eq!(
            r.target(),
            "/api/v3/order?symbol=BTCUSDT&orderId=12345&timestamp=1795564051856&signature=c536876e6788df63024b7588b410d8c1d31815233bf6001129b74623a7e6daf1"
        );
        let r = c.open_orders(Some("BTCUSDT"), 1_795_564_051_900);
        assert!(
            r.target()
                .ends_with("signature=95f30b5e3f2bba8bdb6221d02415e9682ed0e77a78579b93112bb67246f2677d")
        );
        let r = c.cancel_order("BTCUSDT", OrderRef::OrderId(12345), 1_795_564_051_944);
        assert_eq!(r.method, Method::Delete);
        assert!(
            r.target()
                .ends_with("signature=6302f7772bed8e66f0a706822d88b16c3a9f31072088906f524b321d3d0c11cc")
        );
        let p = OrderParams {
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: Some(TimeInForce::Gtc),
            quantity: "0.001".parse().unwrap(),
            price: Some("90000.5".parse().unwrap()),
            stop_price: None,
        };
        let r = client().with_recv_window(5000).new_order("BTCUSDT", "my-id_1", &p, None, 1_795_564_052_032);
        assert_eq!((r.method, r.body.as_str()), (Method::Post, ""));
        assert_eq!(
            r.target(),
            "/api/v3/order?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=90000.5&newClientOrderId=my-id_1&recvWindow=5000&timestamp=1795564052032&signature=9860dafeb9ed63c2207ed529ff599d709fb4f7706875180953e5f05ed449d21e"
        );
        assert_eq!(c.depth("BTCUSDT", 5).target(), "/api/v3/depth?symbol=BTCUSDT&limit=5");
        assert_eq!(c.depth("BTCUSDT", 1000).weight, 50);
        assert_eq!(
            c.exchange_info(&["BTCUSDT", "ETHUSDT"]).target(),
            "/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D"
        );
        assert_eq!(c.exchange_info(&["BTCUSDT"]).target(), "/api/v3/exchangeInfo?symbol=BTCUSDT");
        let r = c.listen_key_create();
        assert_eq!((r.method, r.target()), (Method::Post, "/api/v3/userDataStream".to_owned()));
        assert_eq!(c.listen_key_keepalive("x").target(), "/api/v3/userDataStream?listenKey=x");
        assert_eq!(c.listen_key_close("x").method, Method::Delete);
    }

    #[test]
    fn answers_become_values_or_typed_errors() {
        use crate::msg::ListenKey;
        let key = |b| codec::decode::<ListenKey<'_>>("listenKey", b);
        let headers = [
            ("x-mbx-used-weight", "11"),
            ("X-MBX-USED-WEIGHT-1M", "11"),
            ("x-mbx-order-count-10s", "3"),
            ("X-MBX-ORDER-COUNT-1D", "42"),
        ];
        let (k, usage) = parse_answer(200, headers, r#"{"listenKey":"abc"}"#, key).unwrap();
        assert_eq!(k.listen_key, "abc");
        assert_eq!(
            usage,
            Usage {
                used_weight_1m: Some(11),
                order_count_10s: Some(3),
                order_count_1d: Some(42),
                retry_after_secs: None
            }
        );
        assert!(matches!(
            parse_answer(503, [], "Service Unavailable", key),
            Err(RestError::OutcomeUnknown { http_status: 503, .. })
        ));
        assert!(matches!(
            parse_answer(403, [], "<html>WAF</html>", key),
            Err(RestError::Unexpected { http_status: 403, .. })
        ));
        assert!(matches!(parse_answer(400, [], "{}", key), Err(RestError::Unexpected { .. })));
        assert!(matches!(parse_answer(200, [], r#"{"listenKey":1}"#, key), Err(RestError::Decode(_))));
        assert_eq!(
            parse_answer(429, [("Retry-After", "soon")], "{}", key),
            Err(RestError::Header { name: "Retry-After".into(), value: "soon".into() })
        );
        let Err(RestError::Venue(e)) = parse_answer(
            429,
            [("retry-after", "7")],
            r#"{"code":-1015,"msg":"Too many new orders; current limit is 100 orders per 10 SECOND."}"#,
            key,
        ) else {
            panic!()
        };
        assert_eq!(
            (e.http_status, e.code, e.retry_after_secs, e.is_rate_limited()),
            (429, -1015, Some(7), true)
        );
    }

    #[test]
    fn body_placement_signs_the_body() {
        let c = client().with_placement(Placement::Body);
        let p = OrderParams {
            side: Side::Sell,
            order_type: OrderType::StopLossLimit,
            time_in_force: Some(TimeInForce::Gtc),
            quantity: "600".parse().unwrap(),
            price: Some("0.009".parse().unwrap()),
            stop_price: Some("0.0098".parse().unwrap()),
        };
        let r = c.new_order("ACHUSDT", "k-7", &p, Some(RespType::Result), 1_767_872_409_547);
        assert_eq!(r.query, "");
        let (payload, sig) = r.body.rsplit_once("&signature=").unwrap();
        assert_eq!(
            payload,
            "symbol=ACHUSDT&side=SELL&type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=600&price=0.009&stopPrice=0.0098&newClientOrderId=k-7&newOrderRespType=RESULT&timestamp=1767872409547"
        );
        assert_eq!(sig, HmacKey::new("demo-secret").sign(payload.as_bytes()).as_str());
        assert!(r.headers.contains(&("Content-Type", "application/x-www-form-urlencoded".to_owned())));
        // GETs stay in the query whatever the placement.
        assert!(c.account(1).body.is_empty());
    }
}
