//! A loopback Binance for the session tests: a plain-HTTP REST server whose answers a closure
//! decides, WebSocket servers driven by the test through channels, signature checks, and a running
//! gateway thread with the engine's rings.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    reason = "shared by several test binaries, each using a part"
)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kestrel_engine::engine::VenueRequest;
use kestrel_gateway::{BackoffPolicy, GatewayConfig, GatewayThread, Secrets, SystemClock};
use kestrel_gw_binance::session::{BinanceConfig, BinanceVenue};
use kestrel_types::{Event, TimeSpan};
use tungstenite::Message;

pub const API_KEY: &str = "test-api-key";
pub const API_SECRET: &str = "test-api-secret";
/// How long a test waits for what it expects.
pub const DEADLINE: Duration = Duration::from_secs(15);

pub fn fixture(name: &str) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/protocols/binance/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn secrets() -> Secrets {
    Secrets::from_values([("api_key", API_KEY.to_owned()), ("api_secret", API_SECRET.to_owned())]).unwrap()
}

/// Lower-case hex HMAC-SHA256, computed here independently of the crate's signer.
pub fn hmac_hex(secret: &str, payload: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::sign(&key, payload.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// One HTTP request as the fake REST server read it.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// When the server had read it.
    pub at: Instant,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A parameter from the query or the form body.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').chain(self.body.split('&')).find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    /// Whether the request carries a valid HMAC signature over query + body (DIGEST §4) and the key.
    pub fn signed_ok(&self) -> bool {
        let whole = format!("{}{}", self.query, self.body);
        let Some((payload, sig)) = whole.rsplit_once("&signature=") else { return false };
        self.header("X-MBX-APIKEY") == Some(API_KEY) && hmac_hex(API_SECRET, payload) == sig
    }
}

fn read_req(r: &mut impl BufRead) -> Option<Req> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())))
        .collect();
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    let (path, query) =
        target.split_once('?').map_or((target.clone(), String::new()), |(p, q)| (p.to_owned(), q.to_owned()));
    Some(Req { method, path, query, headers, body: String::from_utf8(body).unwrap(), at: Instant::now() })
}

/// An HTTP answer with Binance's usage header (and `Retry-After: 1` on 429/418); status 0 is no
/// answer at all: the server drops the connection.
pub fn http(status: u16, body: &str) -> String {
    if status == 0 {
        return String::new();
    }
    let reason = if status == 200 { "OK" } else { "Error" };
    let retry = if matches!(status, 418 | 429) { "Retry-After: 1\r\n" } else { "" };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json;charset=UTF-8\r\nX-MBX-USED-WEIGHT-1M: 7\r\n{retry}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

pub type Handler = Arc<dyn Fn(&Req) -> String + Send + Sync>;

/// The fake REST server: every request is recorded and answered by `handler`.
pub struct RestServer {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Req>>>,
}

impl RestServer {
    pub fn start(handler: impl Fn(&Req) -> String + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<Req>>> = Arc::default();
        let handler: Handler = Arc::new(handler);
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(sock) = sock else { return };
                sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                std::thread::spawn(move || {
                    let mut w = sock.try_clone().unwrap();
                    let mut r = BufReader::new(sock);
                    while let Some(req) = read_req(&mut r) {
                        let answer = handler(&req);
                        log.lock().unwrap().push(req);
                        if answer.is_empty() {
                            return;
                        }
                        if w.write_all(answer.as_bytes()).and_then(|()| w.flush()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { port, requests }
    }

    pub fn seen(&self, method: &str, path: &str) -> Vec<Req> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .cloned()
            .collect()
    }
}

/// What a test tells a WebSocket server to do.
pub enum Ws {
    /// Send this text frame.
    Send(String),
    /// Drop the connection without a close frame (then accept the next one).
    Drop,
}

/// A WebSocket server: each accepted connection first runs `greet` (e.g. answer a subscription;
/// gets the connection's index), then sends what the test pushes until told to drop it.
pub struct WsServer {
    pub port: u16,
    pub tx: Sender<Ws>,
    pub accepted: Arc<Mutex<usize>>,
    pub received: Arc<Mutex<Vec<String>>>,
}

type Greet = Box<dyn Fn(usize, &mut tungstenite::WebSocket<TcpStream>, &Mutex<Vec<String>>) + Send>;

impl WsServer {
    pub fn start(
        greet: impl Fn(usize, &mut tungstenite::WebSocket<TcpStream>, &Mutex<Vec<String>>) + Send + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx): (Sender<Ws>, Receiver<Ws>) = channel();
        let accepted: Arc<Mutex<usize>> = Arc::default();
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let (count, got) = (Arc::clone(&accepted), Arc::clone(&received));
        let greet: Greet = Box::new(greet);
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(sock) = sock else { return };
                sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let Ok(mut ws) = tungstenite::accept(sock) else { continue };
                let n = {
                    let mut c = count.lock().unwrap();
                    *c += 1;
                    *c - 1
                };
                greet(n, &mut ws, &got);
                // Short reads from here on, so a connection the gateway closed is noticed at once.
                ws.get_mut().set_read_timeout(Some(Duration::from_millis(5))).unwrap();
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(30) {
                    match rx.try_recv() {
                        Ok(Ws::Send(text)) => {
                            if ws.send(Message::Text(text.into())).is_err() {
                                break;
                            }
                        }
                        Ok(Ws::Drop) | Err(TryRecvError::Disconnected) => break,
                        Err(TryRecvError::Empty) => match ws.read() {
                            Ok(Message::Text(t)) => got.lock().unwrap().push(t.as_str().to_owned()),
                            Ok(_) => {}
                            Err(tungstenite::Error::Io(e))
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) => {}
                            Err(_) => break,
                        },
                    }
                }
                drop(ws);
            }
        });
        Self { port, tx, accepted, received }
    }

    pub fn send(&self, text: &str) {
        self.tx.send(Ws::Send(text.to_owned())).unwrap();
    }

    pub fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap()
    }
}

/// A WebSocket API server that checks each `userDataStream.subscribe.signature` request's HMAC and
/// answers it with subscription id `connection index`.
pub fn ws_api_server() -> WsServer {
    WsServer::start(|n, ws, got| {
        let Ok(Message::Text(text)) = ws.read() else { return };
        let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        let params = v["params"].as_object().unwrap();
        let mut pairs: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| *k != "signature")
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect();
        pairs.sort();
        let payload: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let ok = v["method"] == "userDataStream.subscribe.signature"
            && params["apiKey"] == API_KEY
            && params["signature"] == hmac_hex(API_SECRET, &payload.join("&")).as_str();
        got.lock().unwrap().push(format!("{}:{ok}", v["method"].as_str().unwrap_or("?")));
        let answer = if ok {
            format!(r#"{{"id":{},"status":200,"result":{{"subscriptionId":{n}}},"rateLimits":[]}}"#, v["id"])
        } else {
            format!(
                r#"{{"id":{},"status":400,"error":{{"code":-1022,"msg":"Signature for this request is not valid."}}}}"#,
                v["id"]
            )
        };
        let _ = ws.send(Message::Text(answer.into()));
    })
}

/// A user data event as the WebSocket API wraps it.
pub fn user_event(subscription: usize, event: &serde_json::Value) -> String {
    format!(r#"{{"subscriptionId":{subscription},"event":{event}}}"#)
}

/// The `data` of a combined-stream fixture with its client order id(s) replaced.
pub fn report_fixture(name: &str, client_id: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&fixture(name)).unwrap();
    let mut data = v.get("data").cloned().unwrap_or(v);
    data["c"] = client_id.into();
    data
}

/// A config for the three loopback servers.
pub fn config(rest: u16, market: u16, user: u16, symbols: &str) -> BinanceConfig {
    serde_json::from_str(&format!(
        r#"{{"mode":"paper","rest_url":"http://127.0.0.1:{rest}","stream_url":"ws://127.0.0.1:{market}",
            "ws_api_url":"ws://127.0.0.1:{user}/ws-api/v3","recv_window_ms":5000,"rest_timeout_ms":5000,"symbols":{symbols}}}"#
    ))
    .unwrap()
}

/// A gateway thread running the venue, and the engine's ends of the rings.
pub struct Running {
    pub events: rtrb::Consumer<Event>,
    pub requests: rtrb::Producer<VenueRequest>,
    pub diagnostics: Arc<Mutex<Vec<String>>>,
    pub got: Vec<Event>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<GatewayThread<BinanceVenue>>>,
}

impl Running {
    pub fn start(venue: BinanceVenue) -> Self {
        let config = venue.gateway_config(GatewayConfig {
            backoff: BackoffPolicy {
                initial: TimeSpan::from_nanos(100_000_000),
                max: TimeSpan::from_nanos(500_000_000),
                seed: 5,
            },
            ..GatewayConfig::default()
        });
        let (events_tx, events) = rtrb::RingBuffer::new(8192);
        let (requests, requests_rx) = rtrb::RingBuffer::new(64);
        let diagnostics: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&diagnostics);
        let mut gw = GatewayThread::new(venue, config, SystemClock, events_tx, requests_rx)
            .unwrap()
            .with_diagnostics(move |d| sink.lock().unwrap().push(d.to_string()));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            gw.run(&flag);
            gw
        });
        Self { events, requests, diagnostics, got: Vec::new(), stop, handle: Some(handle) }
    }

    fn drain(&mut self) {
        while let Ok(ev) = self.events.pop() {
            self.got.push(ev);
        }
    }

    /// Collects events until `done` holds for all received so far; panics after the deadline.
    pub fn until(&mut self, what: &str, done: impl Fn(&[Event]) -> bool) {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            self.drain();
            if done(&self.got) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("timed out waiting for {what}; events {:#?}\ndiagnostics {:#?}", self.got, self.diagnostics());
    }

    /// Waits until `cond` holds (checked along with draining events).
    pub fn wait(&mut self, what: &str, cond: impl Fn() -> bool) {
        self.until(what, |_| cond());
    }

    /// Collects events for `d` more.
    pub fn settle(&mut self, d: Duration) {
        let start = Instant::now();
        while start.elapsed() < d {
            self.drain();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn diagnostics(&self) -> Vec<String> {
        self.diagnostics.lock().unwrap().clone()
    }

    pub fn stop(mut self) -> GatewayThread<BinanceVenue> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Scripted answers of the order endpoints; `{cid}` in a body becomes the request's client id.
/// Unsigned or wrongly signed requests get Binance's -1022.
#[derive(Clone, Debug)]
pub struct Script {
    pub new_order: (u16, String),
    pub cancel: (u16, String),
    pub query: (u16, String),
    pub trades: (u16, String),
}

impl Default for Script {
    fn default() -> Self {
        let none = (400, r#"{"code":-1000,"msg":"not scripted"}"#.to_owned());
        Self { new_order: none.clone(), cancel: none.clone(), query: none.clone(), trades: none }
    }
}

/// A REST server answering exchangeInfo with the BTCUSDT fixture and orders from `script`.
pub fn order_server(script: Arc<Mutex<Script>>) -> RestServer {
    RestServer::start(move |req| {
        let s = script.lock().unwrap().clone();
        let signed = matches!(req.path.as_str(), "/api/v3/order" | "/api/v3/myTrades");
        if signed && !req.signed_ok() {
            return http(400, r#"{"code":-1022,"msg":"Signature for this request is not valid."}"#);
        }
        let cid =
            req.param("newClientOrderId").or_else(|| req.param("origClientOrderId")).unwrap_or_default();
        let (status, body) = match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/api/v3/exchangeInfo") => (200, fixture("rest_exchangeInfo_BTCUSDT.json")),
            ("POST", "/api/v3/order") => s.new_order,
            ("DELETE", "/api/v3/order") => s.cancel,
            ("GET", "/api/v3/order") => s.query,
            ("GET", "/api/v3/myTrades") => s.trades,
            _ => (404, r#"{"code":-1000,"msg":"unknown path"}"#.to_owned()),
        };
        http(status, &body.replace("{cid}", &cid))
    })
}

/// A RESULT answer to a new BTCUSDT order (Binance order id 5341783271, as in the fixtures).
pub fn result_new(status: &str, executed: &str) -> String {
    format!(
        r#"{{"symbol":"BTCUSDT","orderId":5341783271,"orderListId":-1,"clientOrderId":"{{cid}}","transactTime":1616633041555,"price":"52436.85000000","origQty":"0.00028600","executedQty":"{executed}","origQuoteOrderQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"{status}","timeInForce":"GTC","type":"LIMIT","side":"BUY","workingTime":1616633041555,"selfTradePreventionMode":"NONE"}}"#
    )
}

/// A `GET /api/v3/order` answer for the same order.
pub fn queried(status: &str, executed: &str) -> String {
    format!(
        r#"{{"symbol":"BTCUSDT","orderId":5341783271,"orderListId":-1,"clientOrderId":"{{cid}}","price":"52436.85000000","origQty":"0.00028600","executedQty":"{executed}","cummulativeQuoteQty":"0.00000000","status":"{status}","timeInForce":"GTC","type":"LIMIT","side":"BUY","stopPrice":"0.00000000","icebergQty":"0.00000000","time":1616633041555,"updateTime":1616633041555,"isWorking":true,"workingTime":1616633041555,"origQuoteOrderQty":"0.00000000","selfTradePreventionMode":"NONE"}}"#
    )
}

/// The `myTrades` answer with the one fill of the TRADE_FILLED fixture (trade 726946523), its
/// commission charged in USDT so that it reaches the record.
pub fn the_fill() -> String {
    r#"[{"symbol":"BTCUSDT","id":726946523,"orderId":5341783271,"orderListId":-1,"price":"52436.85000000","qty":"0.00028600","quoteQty":"14.99693910","commission":"0.01499694","commissionAsset":"USDT","time":1616633041555,"isBuyer":true,"isMaker":false,"isBestMatch":true}]"#.to_owned()
}

/// A BTCUSDT buy limit of 0.00029 at 52436.85 (passes the fixture's filters) as the engine sends it.
pub fn buy(order: u64, kind: kestrel_engine::engine::RequestKind) -> VenueRequest {
    use kestrel_engine::engine::{OrderKind, OrderRequest};
    let t = kestrel_types::Timestamp::from_nanos(1);
    VenueRequest {
        kind,
        order: kestrel_types::OrderId(order),
        request: OrderRequest::new(
            kestrel_types::InstrumentId(0),
            kestrel_engine::order::Side::Buy,
            "0.00029".parse().unwrap(),
            OrderKind::Limit { limit: "52436.85".parse().unwrap() },
        ),
        sent: t,
        cause: t,
        published: t,
    }
}

/// The engine reports among `events`: (order, status code, qty, price, fee).
pub fn execs(events: &[Event]) -> Vec<(u64, u8, kestrel_types::Qty, kestrel_types::Price, i64)> {
    events
        .iter()
        .filter_map(|e| match e.payload {
            kestrel_types::Payload::Exec(r) => Some((r.order, r.status, r.qty, r.price, r.fee)),
            _ => None,
        })
        .collect()
}

/// The engine's code for `status`.
pub fn code(status: kestrel_engine::order::Status) -> u8 {
    kestrel_gw_binance::user::status_code(status)
}
