//! Shared pieces of the gateway's loopback tests: a recording test venue, a harness that runs a
//! `GatewayThread` until a condition holds (or a deadline passes), and small blocking test servers
//! (std::net, rustls with an rcgen certificate, tungstenite's server side).

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    reason = "shared by several test binaries, each using a part; not a public API"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kestrel_engine::engine::VenueRequest;
use kestrel_gateway::{
    BackoffPolicy, Budget, ConnId, Context, Endpoint, GatewayConfig, GatewayError, GatewayThread, Input,
    SystemClock, Venue, WsMessage,
};
use kestrel_types::{Event, TimeSpan, Timestamp};

/// How long any test waits for what it expects before failing.
pub const DEADLINE: Duration = Duration::from_secs(15);
/// Socket read timeout of the test servers, so none of them can hang.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the test venue saw, owned, with the gateway's time.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    Started,
    Opened(u16),
    Closed(u16, Option<GatewayError>),
    Http { conn: u16, tag: u64, status: u16, body: Vec<u8>, headers: Vec<(String, Vec<u8>)> },
    HttpFailed { conn: u16, tag: u64, sent: bool },
    WsText(u16, String),
    WsBinary(u16, Vec<u8>),
    Timer(u64),
    Request(u64),
}

/// A timestamped log of what the venue saw, shared with the test thread.
pub type Log = Arc<Mutex<Vec<(Timestamp, Seen)>>>;

type OnInput =
    Box<dyn FnMut(&Input<'_>, &mut Context<'_>, &mut Vec<Seen>) -> Result<(), GatewayError> + Send>;
type OnRequest = Box<dyn FnMut(&VenueRequest, &mut Context<'_>) -> Result<(), GatewayError> + Send>;

/// A venue whose behaviour is a closure; it records every input before calling it.
pub struct TestVenue {
    pub endpoints: Vec<Endpoint>,
    pub budgets: Vec<Budget>,
    pub log: Log,
    seen: Vec<Seen>,
    on_input: OnInput,
    on_request: OnRequest,
}

impl TestVenue {
    pub fn new(
        endpoints: Vec<Endpoint>,
        on_input: impl FnMut(&Input<'_>, &mut Context<'_>, &mut Vec<Seen>) -> Result<(), GatewayError>
        + Send
        + 'static,
    ) -> Self {
        Self {
            endpoints,
            budgets: Vec::new(),
            log: Arc::default(),
            seen: Vec::new(),
            on_input: Box::new(on_input),
            on_request: Box::new(|_, _| Err(GatewayError::Venue { reason: "no orders in this test".into() })),
        }
    }

    pub fn on_request(
        mut self,
        f: impl FnMut(&VenueRequest, &mut Context<'_>) -> Result<(), GatewayError> + Send + 'static,
    ) -> Self {
        self.on_request = Box::new(f);
        self
    }
}

fn record(input: &Input<'_>) -> Seen {
    match *input {
        Input::Started => Seen::Started,
        Input::Opened(c) => Seen::Opened(c.0),
        Input::Closed { conn, error } => Seen::Closed(conn.0, error.cloned()),
        Input::Http { conn, response } => Seen::Http {
            conn: conn.0,
            tag: response.tag(),
            status: response.status(),
            body: response.body().to_vec(),
            headers: response.headers().map(|(n, v)| (n.to_owned(), v.to_vec())).collect(),
        },
        Input::HttpFailed { conn, tag, sent } => Seen::HttpFailed { conn: conn.0, tag, sent },
        Input::Ws { conn, message: WsMessage::Text(t) } => Seen::WsText(conn.0, t.to_owned()),
        Input::Ws { conn, message: WsMessage::Binary(b) } => Seen::WsBinary(conn.0, b.to_vec()),
        Input::Timer { token } => Seen::Timer(token),
    }
}

impl Venue for TestVenue {
    const NAME: &'static str = "test";

    fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    fn budgets(&self) -> &[Budget] {
        &self.budgets
    }

    fn on_input(&mut self, input: Input<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let seen = record(&input);
        self.seen.push(seen.clone());
        self.log.lock().unwrap().push((cx.now, seen));
        (self.on_input)(&input, cx, &mut self.seen)
    }

    fn on_request(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        self.log.lock().unwrap().push((cx.now, Seen::Request(req.order.0)));
        (self.on_request)(req, cx)
    }
}

/// A configuration for loopback tests: quick polls and a short, known backoff.
pub fn test_config() -> GatewayConfig {
    GatewayConfig {
        backoff: BackoffPolicy {
            initial: TimeSpan::from_nanos(200_000_000),
            max: TimeSpan::from_nanos(1_000_000_000),
            seed: 11,
        },
        ..GatewayConfig::default()
    }
}

/// A running gateway thread and what the test can see of it.
pub struct Running<V: Venue = TestVenue> {
    pub log: Log,
    pub diagnostics: Arc<Mutex<Vec<String>>>,
    pub events: rtrb::Consumer<Event>,
    pub requests: rtrb::Producer<VenueRequest>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<GatewayThread<V>>>,
}

impl Running<TestVenue> {
    /// Starts a [`TestVenue`].
    pub fn start(venue: TestVenue, config: GatewayConfig) -> Self {
        let log = Arc::clone(&venue.log);
        Running::start_venue(venue, log, config)
    }
}

impl<V: Venue> Running<V> {
    /// Starts `venue` on its own thread, `log` being where it records what it sees; diagnostics
    /// are captured (Display and Debug forms).
    pub fn start_venue(venue: V, log: Log, config: GatewayConfig) -> Self {
        let (events_tx, events) = rtrb::RingBuffer::new(64);
        let (requests, requests_rx) = rtrb::RingBuffer::new(64);
        let diagnostics: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&diagnostics);
        let mut gw = GatewayThread::new(venue, config, SystemClock, events_tx, requests_rx)
            .unwrap()
            .with_diagnostics(move |d| {
                let mut s = sink.lock().unwrap();
                s.push(d.to_string());
                s.push(format!("{d:?}"));
            });
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            gw.run(&flag);
            gw
        });
        Self { log, diagnostics, events, requests, stop, handle: Some(handle) }
    }

    /// What the venue saw so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().iter().map(|(_, s)| s.clone()).collect()
    }

    /// Waits until `done` holds for what the venue saw; panics with the log after the deadline.
    pub fn wait_for(&self, what: &str, done: impl Fn(&[Seen]) -> bool) {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if done(&self.seen()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "timed out waiting for {what}; the venue saw {:#?}\ndiagnostics: {:#?}",
            self.seen(),
            self.diagnostics()
        );
    }

    pub fn diagnostics(&self) -> Vec<String> {
        self.diagnostics.lock().unwrap().clone()
    }

    /// Stops the thread and returns it (for its venue and `Debug`).
    pub fn stop(mut self) -> GatewayThread<V> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap()
    }
}

impl<V: Venue> Drop for Running<V> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Counts entries matching `f`.
pub fn count(seen: &[Seen], f: impl Fn(&Seen) -> bool) -> usize {
    seen.iter().filter(|s| f(s)).count()
}

/// A loopback listener on a free port.
pub fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// Accepts one connection with read and write timeouts set.
pub fn accept(l: &TcpListener) -> TcpStream {
    let (s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(SERVER_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(SERVER_TIMEOUT)).unwrap();
    s
}

/// One request as a test server read it.
#[derive(Clone, Debug)]
pub struct Request {
    pub head: String,
    pub body: Vec<u8>,
}

impl Request {
    pub fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }
}

/// Reads one request (head, then a `Content-Length` body); `None` at end of stream.
pub fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request { head, body })
}

/// A `200` with a `Content-Length` body.
pub fn ok(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

/// A self-signed certificate for 127.0.0.1: the server's config and the PEM the client trusts.
pub fn tls_server() -> (Arc<rustls::ServerConfig>, Vec<u8>) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let pem = cert.cert.pem().into_bytes();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    (Arc::new(config), pem)
}

/// A blocking TLS server stream over an accepted socket.
pub fn tls_accept(
    config: &Arc<rustls::ServerConfig>,
    sock: TcpStream,
) -> rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    let conn = rustls::ServerConnection::new(Arc::clone(config)).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// Writes `bytes` and flushes, ignoring a peer that already left.
pub fn send(w: &mut impl Write, bytes: &[u8]) {
    let _ = w.write_all(bytes);
    let _ = w.flush();
}

/// Reads whatever arrives until the peer closes or the timeout passes (drains a connection).
pub fn drain(r: &mut impl Read) {
    let mut buf = [0u8; 1024];
    while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
}

/// The connection id of endpoint `n`.
pub const fn conn(n: u16) -> ConnId {
    ConnId(n)
}

/// A buffered reader and a writer over one socket.
pub fn split(s: TcpStream) -> (BufReader<TcpStream>, TcpStream) {
    let w = s.try_clone().unwrap();
    (BufReader::new(s), w)
}
