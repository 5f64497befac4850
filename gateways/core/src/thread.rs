//! `GatewayThread<V>`: the one loop that drives a [`Venue`] over mio.
//!
//! Each pass: read the clock once; poll the sockets (a short timeout, so the engine's request
//! ring is drained without the engine ever waking this thread); read what is ready through TLS
//! into each connection's buffers and hand whole HTTP responses and WebSocket messages to the
//! venue; reconnect connections whose backoff has passed; drain the engine's request ring into
//! [`Venue::on_request`]; fire due timers; release rate-held requests; carry out what the venue
//! asked on its [`Wire`]; write; move the inbox overflow to the engine's ring.
//!
//! # Connection life
//! `Down` → (venue opens) `Connecting` (non-blocking TCP connect) → `Securing` (TLS handshake) →
//! `Upgrading` (WebSocket endpoints: the HTTP upgrade) → `Open` (the venue is told `Opened`). Any
//! fault — connect or socket error, TLS error, the peer closing, malformed input, or a venue error
//! naming the connection — closes it, fails its unanswered requests back to the venue, tells the
//! venue `Closed` (if it had been told `Opened`) and, unless the venue closed it, schedules a
//! reconnect after a [`Backoff`] delay (`Waiting`). The backoff resets once the connection delivers
//! a complete message, so a peer that accepts and then fails keeps backing off.
//!
//! # Performance
//! - Each connection's buffers (receive, send, de-chunked body, header positions) are allocated
//!   once and reused across messages and reconnects; serialised requests come from a pool.
//! - Inbound bytes are copied once from the socket (TLS: decrypted by rustls, then once into the
//!   receive buffer). A `Content-Length` body reaches the venue as a slice of that buffer; a chunked
//!   body is decoded once. tungstenite copies a WebSocket message into its frame buffer and hands
//!   it over as an owned `Bytes`: the one allocation per inbound message left, tungstenite's.
//! - The engine's request ring is polled every pass, never woken: an idle gateway sees a request
//!   within `poll_timeout` (1 ms by default; zero makes the loop spin for the lowest latency).
//!
//! # Limitations
//! - Host names resolve with the blocking system resolver when a connection is made, and only the
//!   first address is tried; venue endpoints are few and long-lived, so this is rare, but it stalls
//!   the loop while it runs.
//! - One HTTP request in flight per connection; more queue behind it. There is no response
//!   timeout: a venue that needs one sets a timer and closes the connection.
//! - WebSocket sends are not charged against rate budgets (venues limit them differently); a venue
//!   that must pace them does so with timers.

use std::collections::VecDeque;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kestrel_engine::engine::VenueRequest;
use kestrel_types::{Event, TimeSpan, Timestamp};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rtrb::{Consumer, Producer};
use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use crate::backoff::{Backoff, BackoffPolicy};
use crate::clock::{Clock, SystemClock};
use crate::diagnostic::{Diagnostic, DiagnosticSink, stderr_sink};
use crate::endpoint::{ConnId, Endpoint, EndpointKind};
use crate::error::{Connectivity, GatewayError, Layer};
use crate::http::{Progress, ReadError, ResponseReader};
use crate::inbox::{Inbox, InboxStats};
use crate::pipe::Pipe;
use crate::rate_limit::RateLimits;
use crate::transport::Transport;
use crate::venue::{Context, Input, Venue, WsMessage};
use crate::wire::{Action, OutRequest, Wire};

/// How a gateway thread runs. `Default` suits a live venue; tests shorten the backoff.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The longest a pass waits for socket readiness: bounds how late an engine request is seen
    /// (zero: never wait, the loop spins).
    pub poll_timeout: Duration,
    /// The reconnect schedule (each connection has its own, seeded `seed + index`).
    pub backoff: BackoffPolicy,
    /// Requests held for rate budget before new ones are refused.
    pub hold_capacity: usize,
    /// Events kept when the engine's inbound ring is full.
    pub inbox_overflow: usize,
    /// Engine requests taken per pass, so a burst cannot starve the sockets.
    pub request_batch: usize,
    /// A CA certificate (PEM) trusted in addition to the public roots: loopback tests, test venues.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// The pause after a 429/418 without a `Retry-After` in seconds (absent, or an HTTP-date, which
    /// is not parsed: venues send seconds).
    pub default_retry_after: TimeSpan,
    /// The largest HTTP response head.
    pub max_head_bytes: usize,
    /// The largest HTTP response body (and WebSocket message).
    pub max_body_bytes: usize,
    /// Initial capacity of each connection's receive and send buffers (they are reused).
    pub buffer_bytes: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            poll_timeout: Duration::from_millis(1),
            backoff: BackoffPolicy::default(),
            hold_capacity: 256,
            inbox_overflow: 1024,
            request_batch: 64,
            extra_ca_pem: None,
            default_retry_after: TimeSpan::from_nanos(1_000_000_000),
            max_head_bytes: 64 * 1024,
            max_body_bytes: 16 * 1024 * 1024,
            buffer_bytes: 64 * 1024,
        }
    }
}

type Upgrade = tungstenite::handshake::MidHandshake<ClientHandshake<Pipe>>;

/// A connection's protocol state over its transport.
enum Session {
    /// HTTP, or a WebSocket endpoint before its upgrade starts.
    Raw(Pipe),
    /// The WebSocket upgrade in progress.
    Upgrading(Box<Upgrade>),
    /// An open WebSocket.
    Ws(Box<WebSocket<Pipe>>),
}

impl Session {
    fn pipe(&mut self) -> &mut Pipe {
        match self {
            Self::Raw(p) => p,
            Self::Upgrading(m) => m.get_mut().get_mut(),
            Self::Ws(ws) => ws.get_mut(),
        }
    }

    /// Back to a raw pipe with the same buffers, emptied.
    fn reset(&mut self) {
        let mut pipe = std::mem::take(self.pipe());
        pipe.clear();
        *self = Self::Raw(pipe);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Down,
    Waiting(Timestamp),
    Connecting,
    Securing,
    Upgrading,
    Open,
}

struct InFlight {
    tag: u64,
    head_request: bool,
}

struct Conn {
    id: ConnId,
    endpoint: Endpoint,
    wanted: bool,
    phase: Phase,
    transport: Option<Transport>,
    session: Session,
    backoff: Backoff,
    reader: ResponseReader,
    in_flight: Option<InFlight>,
    queue: VecDeque<OutRequest>,
    /// Whether the venue was told `Opened` (so it must be told `Closed`).
    announced: bool,
}

/// What every connection's processing needs besides the connection itself.
struct Core<V> {
    venue: V,
    wire: Wire,
    inbox: Inbox,
    diag: DiagnosticSink,
    now: Timestamp,
    /// Venue errors waiting to be acted on (reported, or closing the connection they name).
    errors: Vec<GatewayError>,
    default_retry_after: TimeSpan,
}

impl<V: Venue> Core<V> {
    fn input(&mut self, input: Input<'_>) {
        let mut cx = Context { now: self.now, wire: &mut self.wire, inbox: &mut self.inbox };
        if let Err(e) = self.venue.on_input(input, &mut cx) {
            self.errors.push(e);
        }
    }

    /// Delivers `input` from `conn`; a venue error naming `conn` is returned to close it.
    fn deliver(&mut self, conn: ConnId, input: Input<'_>) -> Result<(), GatewayError> {
        let mut cx = Context { now: self.now, wire: &mut self.wire, inbox: &mut self.inbox };
        match self.venue.on_input(input, &mut cx) {
            Err(e) if e.faulty_conn() == Some(conn) => Err(e),
            Err(e) => {
                self.errors.push(e);
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    fn report(&mut self, d: &Diagnostic<'_>) {
        (self.diag)(d);
    }
}

/// The one loop that drives a [`Venue`]: sockets, TLS, HTTP/1.1 and WebSocket framing, reconnects
/// with backoff, timers, rate budgets, and the rings to and from the engine. Build it, then
/// [`GatewayThread::run`] it on its own thread (or call [`GatewayThread::turn`] from a test).
///
/// A connection the venue opens goes `Connecting` → `Securing` (TLS) → `Upgrading` (WebSocket) →
/// open ([`Input::Opened`]). Any fault closes it, fails its unanswered requests back to the venue
/// ([`Input::HttpFailed`]), tells the venue [`Input::Closed`] with the error, and reconnects it after
/// a [`Backoff`] delay, which resets once the connection delivers a complete message.
pub struct GatewayThread<V: Venue, C: Clock = SystemClock> {
    core: Core<V>,
    conns: Vec<Conn>,
    clock: C,
    poll: Poll,
    events: Events,
    ready: Vec<usize>,
    requests: Consumer<VenueRequest>,
    tls: Arc<rustls::ClientConfig>,
    ws_config: WebSocketConfig,
    config: GatewayConfig,
    started: bool,
    failed: Vec<(ConnId, u64)>,
}

impl<V: Venue, C: Clock> std::fmt::Debug for GatewayThread<V, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phases: Vec<_> = self.conns.iter().map(|c| (c.id, c.phase)).collect();
        f.debug_struct("GatewayThread")
            .field("venue", &V::NAME)
            .field("connections", &phases)
            .field("inbox", &self.core.inbox)
            .field("held", &self.core.wire.held())
            .finish_non_exhaustive()
    }
}

impl<V: Venue, C: Clock> GatewayThread<V, C> {
    /// A gateway for `venue`, sending its events to `events` and taking engine requests from
    /// `requests`. Nothing is connected until [`GatewayThread::run`] (or the first
    /// [`GatewayThread::turn`]) gives the venue [`Input::Started`].
    ///
    /// # Errors
    /// [`GatewayError::Config`] for a bad extra CA, bad budgets, too many endpoints, or when the OS
    /// refuses a poll instance.
    pub fn new(
        venue: V,
        config: GatewayConfig,
        clock: C,
        events: Producer<Event>,
        requests: Consumer<VenueRequest>,
    ) -> Result<Self, GatewayError> {
        let endpoints = venue.endpoints().to_vec();
        if endpoints.len() > usize::from(u16::MAX) {
            return Err(GatewayError::Config {
                reason: format!("{} endpoints, at most 65535", endpoints.len()),
            });
        }
        let limits = RateLimits::new(venue.budgets())?;
        let tls = crate::tls::client_config(config.extra_ca_pem.as_deref())?;
        let poll = Poll::new().map_err(|e| GatewayError::Config { reason: format!("mio poll: {e}") })?;
        let wire = Wire::new(&endpoints, limits, config.hold_capacity);
        let conns = endpoints
            .into_iter()
            .enumerate()
            .map(|(i, endpoint)| {
                let policy =
                    BackoffPolicy { seed: config.backoff.seed.wrapping_add(i as u64), ..config.backoff };
                Conn {
                    id: ConnId(u16::try_from(i).unwrap_or(u16::MAX)),
                    endpoint,
                    wanted: false,
                    phase: Phase::Down,
                    transport: None,
                    session: Session::Raw(Pipe::with_capacity(config.buffer_bytes)),
                    backoff: Backoff::new(policy),
                    reader: ResponseReader::new(config.max_head_bytes, config.max_body_bytes),
                    in_flight: None,
                    queue: VecDeque::new(),
                    announced: false,
                }
            })
            .collect();
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(config.max_body_bytes))
            .max_frame_size(Some(config.max_body_bytes));
        Ok(Self {
            core: Core {
                venue,
                wire,
                inbox: Inbox::new(events, config.inbox_overflow),
                diag: stderr_sink(),
                now: Timestamp::EPOCH,
                errors: Vec::new(),
                default_retry_after: config.default_retry_after,
            },
            conns,
            clock,
            poll,
            events: Events::with_capacity(256),
            ready: Vec::with_capacity(256),
            requests,
            tls,
            ws_config,
            config,
            started: false,
            failed: Vec::new(),
        })
    }

    /// Sends diagnostics to `sink` instead of stderr.
    #[must_use]
    pub fn with_diagnostics(mut self, sink: impl FnMut(&Diagnostic<'_>) + Send + 'static) -> Self {
        self.core.diag = Box::new(sink);
        self
    }

    /// The venue.
    pub fn venue(&self) -> &V {
        &self.core.venue
    }

    /// The venue, to inspect or adjust between passes.
    pub fn venue_mut(&mut self) -> &mut V {
        &mut self.core.venue
    }

    /// The venue, once the thread is done.
    pub fn into_venue(self) -> V {
        self.core.venue
    }

    /// The inbox's counters.
    pub fn inbox_stats(&self) -> InboxStats {
        self.core.inbox.stats()
    }

    /// Whether `conn` is open.
    pub fn is_open(&self, conn: ConnId) -> bool {
        self.core.wire.is_open(conn)
    }

    /// Runs passes until `stop` is set, then closes every connection (WebSocket close frame, TLS
    /// close_notify) without further venue callbacks.
    pub fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            self.turn();
        }
        self.shutdown();
    }

    /// One pass: poll the sockets (at most `poll_timeout`), read and hand whole messages to the
    /// venue, reconnect what is due, drain the engine's request ring, fire due timers, release
    /// rate-held requests, carry out the venue's actions, write, and flush the inbox overflow.
    pub fn turn(&mut self) {
        self.set_now();
        if !self.started {
            self.started = true;
            self.core.input(Input::Started);
            self.settle();
        }
        let timeout = self.poll_timeout();
        if let Err(e) = self.poll.poll(&mut self.events, Some(timeout))
            && e.kind() != std::io::ErrorKind::Interrupted
        {
            let err = GatewayError::Config { reason: format!("mio poll failed: {e}") };
            self.core.report(&Diagnostic::Error { venue: V::NAME, error: &err });
        }
        self.ready.clear();
        self.ready.extend(self.events.iter().map(|ev| ev.token().0));
        self.set_now();
        for i in 0..self.ready.len() {
            let idx = self.ready[i];
            self.service(idx);
        }
        let now = self.core.now;
        for idx in 0..self.conns.len() {
            if matches!(self.conns[idx].phase, Phase::Waiting(at) if at <= now) {
                self.connect(idx);
            }
        }
        for _ in 0..self.config.request_batch {
            let Ok(req) = self.requests.pop() else { break };
            let core = &mut self.core;
            let mut cx = Context { now: core.now, wire: &mut core.wire, inbox: &mut core.inbox };
            if let Err(e) = core.venue.on_request(&req, &mut cx) {
                core.errors.push(e);
            }
        }
        while let Some(token) = self.core.wire.timers.pop_due(now) {
            self.core.input(Input::Timer { token });
        }
        self.settle();
        for idx in 0..self.conns.len() {
            self.flush(idx);
        }
        self.core.inbox.flush();
    }

    fn set_now(&mut self) {
        let now = self.clock.now();
        self.core.now = now;
        self.core.wire.set_now(now);
    }

    /// How long the next poll may wait: the configured bound, shortened to the next deadline.
    fn poll_timeout(&self) -> Duration {
        let now = self.core.now;
        let deadlines = self
            .conns
            .iter()
            .filter_map(|c| if let Phase::Waiting(at) = c.phase { Some(at) } else { None })
            .chain(self.core.wire.timers.next_deadline())
            .chain(self.core.wire.next_release());
        let mut timeout = self.config.poll_timeout;
        for at in deadlines {
            let ns = u64::try_from(at.nanos().saturating_sub(now.nanos())).unwrap_or(0);
            timeout = timeout.min(Duration::from_nanos(ns));
        }
        timeout
    }

    /// Acts on venue errors, held requests and the venue's actions until none are left (an action
    /// may fail a connection, whose callbacks may ask for more).
    fn settle(&mut self) {
        loop {
            let failed = &mut self.failed;
            self.core.wire.release_held(|conn, tag| failed.push((conn, tag)));
            for (conn, tag) in std::mem::take(&mut self.failed) {
                self.core.input(Input::HttpFailed { conn, tag, sent: false });
            }
            if let Some(action) = self.core.wire.actions.pop_front() {
                self.apply(action);
                continue;
            }
            if self.core.errors.is_empty() {
                break;
            }
            // In the order they happened; errors are rare, so the shift costs nothing in practice.
            let err = self.core.errors.remove(0);
            match err.faulty_conn() {
                Some(conn) => self.fail(conn.index(), err),
                None => self.core.report(&Diagnostic::Error { venue: V::NAME, error: &err }),
            }
        }
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Open(conn) => {
                let idx = conn.index();
                self.conns[idx].wanted = true;
                if self.conns[idx].phase == Phase::Down {
                    self.connect(idx);
                }
            }
            Action::Close(conn) => self.close_by_venue(conn.index()),
            Action::Http(req) => {
                let idx = req.conn.index();
                if self.conns[idx].phase == Phase::Open {
                    self.conns[idx].queue.push_back(req);
                    self.pump_http(idx);
                } else {
                    let (conn, tag) = (req.conn, req.tag);
                    self.core.wire.recycle(req.bytes);
                    self.core.input(Input::HttpFailed { conn, tag, sent: false });
                }
            }
            Action::WsText(conn, text) => self.ws_send(conn, Message::Text(text.into())),
            Action::WsBinary(conn, bytes) => self.ws_send(conn, Message::Binary(bytes.into())),
        }
    }

    fn ws_send(&mut self, conn: ConnId, msg: Message) {
        let idx = conn.index();
        let c = &mut self.conns[idx];
        let Session::Ws(ws) = &mut c.session else {
            let err = GatewayError::NotOpen { conn };
            self.core.report(&Diagnostic::Error { venue: V::NAME, error: &err });
            return;
        };
        if let Err(e) = ws.write(msg).and_then(|()| ws.flush()) {
            let err = ws_error(conn, e);
            self.fail(idx, err);
        }
    }

    /// Writes the next queued request if none is in flight.
    fn pump_http(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        if c.in_flight.is_some() || c.phase != Phase::Open {
            return;
        }
        let Some(req) = c.queue.pop_front() else { return };
        c.session.pipe().tx.extend_from_slice(&req.bytes);
        c.in_flight = Some(InFlight { tag: req.tag, head_request: req.head_request });
        self.core.wire.recycle(req.bytes);
    }

    fn connect(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        // From here a failure is this attempt's, so `fail` schedules the next one.
        c.phase = Phase::Connecting;
        c.session.reset();
        c.reader.reset();
        let (host, port) = (c.endpoint.host.clone(), c.endpoint.port);
        self.core.report(&Diagnostic::Connecting { venue: V::NAME, conn: c.id, endpoint: &c.endpoint });
        let addr = match (host.as_str(), port).to_socket_addrs().map(|mut a| a.next()) {
            Ok(Some(addr)) => addr,
            Ok(None) | Err(_) => {
                let err =
                    GatewayError::Connectivity { conn: c.id, reason: Connectivity::Resolve { host, port } };
                return self.fail(idx, err);
            }
        };
        let conn = c.id;
        let result =
            TcpStream::connect(addr).map_err(|e| Connectivity::Connect(e.kind())).and_then(|mut sock| {
                let _ = sock.set_nodelay(true);
                self.poll
                    .registry()
                    .register(&mut sock, Token(idx), Interest::READABLE | Interest::WRITABLE)
                    .map_err(|e| Connectivity::Connect(e.kind()))?;
                let tls = c.endpoint.tls.then_some((&self.tls, host.as_str()));
                Transport::new(sock, tls)
            });
        match result {
            Ok(t) => c.transport = Some(t),
            Err(reason) => self.fail(idx, GatewayError::Connectivity { conn, reason }),
        }
    }

    /// Handles readiness of connection `idx`.
    fn service(&mut self, idx: usize) {
        if idx >= self.conns.len() {
            return;
        }
        if let Err(err) = self.service_inner(idx) {
            self.fail(idx, err);
        }
        self.settle();
        self.flush(idx);
    }

    fn service_inner(&mut self, idx: usize) -> Result<(), GatewayError> {
        let c = &mut self.conns[idx];
        let conn = c.id;
        let Some(t) = c.transport.as_mut() else { return Ok(()) };
        if c.phase == Phase::Connecting {
            if let Ok(Some(e)) | Err(e) = t.sock.take_error() {
                return Err(GatewayError::Connectivity { conn, reason: Connectivity::Connect(e.kind()) });
            }
            match t.sock.peer_addr() {
                Ok(_) => c.phase = Phase::Securing,
                Err(e) if e.kind() == std::io::ErrorKind::NotConnected => return Ok(()),
                Err(e) => {
                    return Err(GatewayError::Connectivity { conn, reason: Connectivity::Connect(e.kind()) });
                }
            }
        }
        t.read(c.session.pipe()).map_err(|reason| GatewayError::Connectivity { conn, reason })?;
        // Write too: the TLS handshake and the upgrade request go out as soon as they can.
        t.write(c.session.pipe()).map_err(|reason| GatewayError::Connectivity { conn, reason })?;
        self.progress(idx)
    }

    /// Moves connection `idx` through its phases and hands complete messages to the venue.
    fn progress(&mut self, idx: usize) -> Result<(), GatewayError> {
        let c = &mut self.conns[idx];
        let conn = c.id;
        if c.phase == Phase::Securing {
            if c.transport.as_ref().is_some_and(Transport::handshaking) {
                if c.session.pipe().eof {
                    return Err(GatewayError::Connectivity { conn, reason: Connectivity::PeerClosed });
                }
                return Ok(());
            }
            match &c.endpoint.kind {
                EndpointKind::Http => self.opened(idx),
                EndpointKind::WebSocket { .. } => {
                    let url = c.endpoint.ws_url().unwrap_or_default();
                    let pipe = std::mem::take(c.session.pipe());
                    c.phase = Phase::Upgrading;
                    let started = tungstenite::client::client_with_config(url, pipe, Some(self.ws_config));
                    self.upgraded(idx, started)?;
                }
            }
        } else if c.phase == Phase::Upgrading {
            let Session::Upgrading(_) = &c.session else { return Ok(()) };
            let Session::Upgrading(mid) = std::mem::replace(&mut c.session, Session::Raw(Pipe::default()))
            else {
                return Ok(());
            };
            self.upgraded(idx, mid.handshake())?;
        }
        let c = &mut self.conns[idx];
        if c.phase != Phase::Open {
            return Ok(());
        }
        match c.session {
            Session::Ws(_) => self.read_ws(idx),
            _ => self.read_http(idx),
        }
    }

    fn upgraded(
        &mut self,
        idx: usize,
        result: Result<
            (WebSocket<Pipe>, tungstenite::handshake::client::Response),
            HandshakeError<ClientHandshake<Pipe>>,
        >,
    ) -> Result<(), GatewayError> {
        let c = &mut self.conns[idx];
        let conn = c.id;
        match result {
            Ok((ws, _response)) => {
                c.session = Session::Ws(Box::new(ws));
                self.opened(idx);
                Ok(())
            }
            Err(HandshakeError::Interrupted(mid)) => {
                let eof = mid.get_ref().get_ref().eof;
                c.session = Session::Upgrading(Box::new(mid));
                if eof {
                    return Err(GatewayError::Connectivity {
                        conn,
                        reason: Connectivity::PeerClosedMidMessage,
                    });
                }
                Ok(())
            }
            Err(HandshakeError::Failure(tungstenite::Error::Http(resp))) => Err(GatewayError::Connectivity {
                conn,
                reason: Connectivity::UpgradeRefused { status: resp.status().as_u16() },
            }),
            Err(HandshakeError::Failure(e)) => Err(ws_error(conn, e)),
        }
    }

    fn opened(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        c.phase = Phase::Open;
        c.announced = true;
        self.core.wire.set_open(c.id, true);
        self.core.report(&Diagnostic::Opened { venue: V::NAME, conn: c.id, endpoint: &c.endpoint });
        let conn = c.id;
        self.core.input(Input::Opened(conn));
    }

    fn read_http(&mut self, idx: usize) -> Result<(), GatewayError> {
        loop {
            let c = &mut self.conns[idx];
            let conn = c.id;
            let Session::Raw(pipe) = &mut c.session else { return Ok(()) };
            if pipe.rx.is_empty() && !pipe.eof {
                return Ok(());
            }
            if c.in_flight.is_none() {
                let reason = if pipe.rx.is_empty() {
                    Connectivity::PeerClosed
                } else {
                    return Err(GatewayError::Malformed {
                        conn,
                        layer: Layer::Http,
                        reason: format!("{} bytes arrived with no request outstanding", pipe.rx.len()),
                    });
                };
                return Err(GatewayError::Connectivity { conn, reason });
            }
            let head_request = c.in_flight.as_ref().is_some_and(|f| f.head_request);
            let progress = c.reader.advance(&pipe.rx, pipe.eof, head_request).map_err(|e| match e {
                ReadError::Malformed(reason) => GatewayError::Malformed { conn, layer: Layer::Http, reason },
                ReadError::Truncated => {
                    GatewayError::Connectivity { conn, reason: Connectivity::PeerClosedMidMessage }
                }
            })?;
            match progress {
                Progress::NeedMore => return Ok(()),
                Progress::Interim(n) => pipe.consume(n),
                Progress::Complete(n) => {
                    let tag = c.in_flight.take().map_or(0, |f| f.tag);
                    let response = c.reader.response(&pipe.rx, tag);
                    let status = response.status();
                    if status == 429 || status == 418 {
                        let secs = response.header("retry-after").and_then(|v| v.trim().parse::<i64>().ok());
                        let wait = secs.map_or(self.core.default_retry_after, |s| {
                            TimeSpan::from_nanos(s.saturating_mul(1_000_000_000))
                        });
                        let until = Timestamp::from_nanos(self.core.now.nanos().saturating_add(wait.nanos()));
                        self.core.wire.limits_mut().pause_until(until);
                        (self.core.diag)(&Diagnostic::Paused { venue: V::NAME, status, until });
                    }
                    c.backoff.reset();
                    let keep_alive = c.reader.keep_alive();
                    let delivered = self.core.deliver(conn, Input::Http { conn, response: &response });
                    pipe.consume(n);
                    c.reader.reset();
                    delivered?;
                    if !keep_alive {
                        return Err(GatewayError::Connectivity { conn, reason: Connectivity::PeerClosed });
                    }
                    self.pump_http(idx);
                }
            }
        }
    }

    fn read_ws(&mut self, idx: usize) -> Result<(), GatewayError> {
        let c = &mut self.conns[idx];
        let conn = c.id;
        let Session::Ws(ws) = &mut c.session else { return Ok(()) };
        loop {
            match ws.read() {
                Ok(Message::Text(text)) => {
                    c.backoff.reset();
                    self.core.deliver(conn, Input::Ws { conn, message: WsMessage::Text(text.as_str()) })?;
                }
                Ok(Message::Binary(bytes)) => {
                    c.backoff.reset();
                    self.core.deliver(conn, Input::Ws { conn, message: WsMessage::Binary(&bytes) })?;
                }
                // Pings are answered by tungstenite (queued, sent with the next flush).
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Ok(Message::Close(_)) => {
                    // Answer the close (tungstenite queued the reply) before the socket goes.
                    let _ = ws.flush();
                    if let Some(t) = c.transport.as_mut() {
                        let _ = t.write(ws.get_mut());
                    }
                    return Err(GatewayError::Connectivity { conn, reason: Connectivity::PeerClosed });
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(ws_error(conn, e)),
            }
        }
        if let Err(e) = ws.flush() {
            return Err(ws_error(conn, e));
        }
        Ok(())
    }

    /// Sends what connection `idx` has pending.
    fn flush(&mut self, idx: usize) {
        let Some(c) = self.conns.get_mut(idx) else { return };
        let conn = c.id;
        let Some(t) = c.transport.as_mut() else { return };
        if c.phase == Phase::Connecting {
            return;
        }
        let pipe = c.session.pipe();
        if pipe.tx.is_empty() && !t.wants_write() {
            return;
        }
        if let Err(reason) = t.write(pipe) {
            self.fail(idx, GatewayError::Connectivity { conn, reason });
        }
    }

    /// Tears connection `idx` down after `err`, tells the venue, schedules the reconnect.
    fn fail(&mut self, idx: usize, err: GatewayError) {
        let Some(c) = self.conns.get_mut(idx) else {
            return self.core.report(&Diagnostic::Error { venue: V::NAME, error: &err });
        };
        if matches!(c.phase, Phase::Down | Phase::Waiting(_)) {
            // Already down (a late error about it): say so, change nothing.
            return self.core.report(&Diagnostic::Error { venue: V::NAME, error: &err });
        }
        self.core.report(&Diagnostic::Closed {
            venue: V::NAME,
            conn: c.id,
            endpoint: &c.endpoint,
            error: Some(&err),
        });
        self.teardown(idx, false);
        let c = &mut self.conns[idx];
        if c.wanted {
            let after = c.backoff.next_delay();
            c.phase =
                Phase::Waiting(Timestamp::from_nanos(self.core.now.nanos().saturating_add(after.nanos())));
            let attempt = c.backoff.attempt();
            self.core.report(&Diagnostic::Reconnecting { venue: V::NAME, conn: c.id, after, attempt });
        }
        self.announce_closed(idx, Some(&err));
    }

    fn close_by_venue(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        c.wanted = false;
        if c.phase == Phase::Down {
            return;
        }
        self.core.report(&Diagnostic::Closed {
            venue: V::NAME,
            conn: c.id,
            endpoint: &c.endpoint,
            error: None,
        });
        self.teardown(idx, true);
        self.announce_closed(idx, None);
    }

    /// Closes the socket (politely if `graceful`), empties the buffers, fails unanswered requests.
    fn teardown(&mut self, idx: usize, graceful: bool) {
        let c = &mut self.conns[idx];
        if let Some(mut t) = c.transport.take() {
            if graceful {
                if let Session::Ws(ws) = &mut c.session {
                    let _ = ws.close(None);
                    let _ = ws.flush();
                }
                let _ = t.write(c.session.pipe());
                t.close();
            }
            let _ = self.poll.registry().deregister(&mut t.sock);
        }
        c.session.reset();
        c.reader.reset();
        c.phase = Phase::Down;
        self.core.wire.set_open(c.id, false);
        let conn = c.id;
        if let Some(f) = c.in_flight.take() {
            self.core.input(Input::HttpFailed { conn, tag: f.tag, sent: true });
        }
        while let Some(req) = self.conns[idx].queue.pop_front() {
            self.core.wire.recycle(req.bytes);
            self.core.input(Input::HttpFailed { conn, tag: req.tag, sent: false });
        }
    }

    fn announce_closed(&mut self, idx: usize, error: Option<&GatewayError>) {
        let c = &mut self.conns[idx];
        if std::mem::take(&mut c.announced) {
            let conn = c.id;
            self.core.input(Input::Closed { conn, error });
        }
    }

    fn shutdown(&mut self) {
        for idx in 0..self.conns.len() {
            let c = &mut self.conns[idx];
            c.wanted = false;
            if let Some(mut t) = c.transport.take() {
                if let Session::Ws(ws) = &mut c.session {
                    let _ = ws.close(None);
                    let _ = ws.flush();
                }
                let _ = t.write(c.session.pipe());
                t.close();
                let _ = self.poll.registry().deregister(&mut t.sock);
            }
            c.phase = Phase::Down;
            self.core.wire.set_open(c.id, false);
        }
    }
}

/// A tungstenite error as a gateway error: the peer's disconnects are connectivity, the rest is
/// malformed input (reasons are tungstenite's fixed texts, never frame contents).
fn ws_error(conn: ConnId, e: tungstenite::Error) -> GatewayError {
    use tungstenite::Error as E;
    use tungstenite::error::ProtocolError;
    let reason = match e {
        E::ConnectionClosed | E::AlreadyClosed | E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            Connectivity::PeerClosed
        }
        E::Io(e) => Connectivity::Io(e.kind()),
        E::Http(resp) => Connectivity::UpgradeRefused { status: resp.status().as_u16() },
        E::Capacity(c) => {
            return GatewayError::Malformed { conn, layer: Layer::WebSocket, reason: c.to_string() };
        }
        E::Protocol(p) => {
            return GatewayError::Malformed { conn, layer: Layer::WebSocket, reason: p.to_string() };
        }
        E::Utf8(_) => {
            return GatewayError::Malformed {
                conn,
                layer: Layer::WebSocket,
                reason: "text message is not UTF-8".into(),
            };
        }
        other => {
            let reason = match other {
                E::Tls(_) => "TLS error in the WebSocket layer",
                E::WriteBufferFull(_) => "send buffer full",
                E::Url(_) => "bad WebSocket URL",
                E::HttpFormat(_) => "bad upgrade request",
                E::AttackAttempt => "attack attempt detected",
                _ => "WebSocket error",
            };
            return GatewayError::Malformed { conn, layer: Layer::WebSocket, reason: reason.into() };
        }
    };
    GatewayError::Connectivity { conn, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnects_are_connectivity_and_bad_frames_are_malformed() {
        let c = ConnId(3);
        assert_eq!(
            ws_error(c, tungstenite::Error::ConnectionClosed),
            GatewayError::Connectivity { conn: c, reason: Connectivity::PeerClosed }
        );
        let bad =
            ws_error(c, tungstenite::Error::Protocol(tungstenite::error::ProtocolError::NonZeroReservedBits));
        assert!(
            matches!(bad, GatewayError::Malformed { conn, layer: Layer::WebSocket, .. } if conn == c),
            "{bad:?}"
        );
        assert_eq!(bad.faulty_conn(), Some(c));
    }
}
