//! The listener: one port for REST, streams and the WebSocket API, plain or TLS; a thread per
//! connection (see `http.rs` for why), and timer threads that move the synthetic market and flush
//! the depth diffs.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use tungstenite::protocol::Role;

use crate::api::{Shared, now_ms};
use crate::auth::Credentials;
use crate::error::SimError;
use crate::faults::Fault;
use crate::http::{self, ReadOutcome, Response};
use crate::hub::Hub;
use crate::market::SymbolSpec;
use crate::probe::{ProbeConfig, TickProbe};
use crate::rest::{self, Outcome};
use crate::venue::Venue;
use crate::ws::{self, SessionConfig};

/// How to run the simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Serve TLS with a fresh self-signed certificate.
    pub tls: bool,
    /// Where the certificate PEM is written (default: the temp dir).
    pub cert_dir: Option<PathBuf>,
    /// Seed of the synthetic market.
    pub seed: u64,
    /// The account's keys.
    pub creds: Credentials,
    /// Faults armed at start.
    pub faults: Vec<Fault>,
    /// Server ping interval on WebSocket connections.
    pub ping_every: Duration,
    /// Synthetic market step interval.
    pub step_every: Duration,
    /// Arms the measurement probe ([`crate::probe`]): the synthetic market holds still and
    /// WebSocket connections poll faster. `None` (the default): a normal venue.
    pub probe: Option<ProbeConfig>,
}

impl SimConfig {
    /// Defaults for `listen`: no TLS, seed 1, 20 s pings, 250 ms market steps, keys from `creds`.
    pub fn new(listen: SocketAddr, creds: Credentials) -> Self {
        Self {
            listen,
            tls: false,
            cert_dir: None,
            seed: 1,
            creds,
            faults: Vec::new(),
            ping_every: Duration::from_secs(20),
            step_every: Duration::from_millis(250),
            probe: None,
        }
    }
}

/// Anything a connection reads and writes (plain TCP or rustls over it).
trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

/// A running simulator; dropping it (or [`Simulator::stop`]) stops every thread.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    cert: Option<PathBuf>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Simulator {
    /// Binds, seeds the books and starts serving.
    ///
    /// # Errors
    /// [`SimError`] when the port, the certificate or a book cannot be set up.
    pub fn start(config: SimConfig) -> Result<Self, SimError> {
        let listener = TcpListener::bind(config.listen)
            .map_err(|source| SimError::Listen { addr: config.listen.to_string(), source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimError::Listen { addr: config.listen.to_string(), source })?;
        let tls = if config.tls {
            let dir = config.cert_dir.clone().unwrap_or_else(std::env::temp_dir);
            Some(crate::tls::server_config(&dir)?)
        } else {
            None
        };
        let hub = Arc::new(Hub::default());
        let venue = Venue::new(SymbolSpec::defaults(), config.seed, Arc::clone(&hub), now_ms())?;
        let shared = Arc::new(Shared::new(venue, hub, config.creds.clone()).with_probe(config.probe));
        for f in &config.faults {
            if *f == Fault::ExpireUserStream {
                continue;
            }
            shared.venue().faults.arm(*f);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let session = SessionConfig { ping_every: config.ping_every };
        {
            let (shared, stop, tls) =
                (Arc::clone(&shared), Arc::clone(&stop), tls.as_ref().map(|t| Arc::clone(&t.0)));
            threads.push(std::thread::spawn(move || accept_loop(&listener, &shared, &stop, tls, session)));
        }
        for (every, job) in [
            (config.step_every, Job::Step),
            (Duration::from_millis(100), Job::FastDepth),
            (Duration::from_secs(1), Job::SlowDepth),
        ] {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            threads.push(std::thread::spawn(move || timer(&shared, &stop, every, job)));
        }
        Ok(Self { addr, cert: tls.map(|t| t.1), shared, stop, threads: Mutex::new(threads) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The certificate PEM file when serving TLS.
    pub fn cert_path(&self) -> Option<&std::path::Path> {
        self.cert.as_deref()
    }

    /// The one JSON line printed at start: `{"listening":…,"tls":…,"cert":…}`.
    pub fn banner(&self) -> String {
        serde_json::json!({
            "listening": self.addr.to_string(),
            "tls": self.cert.is_some(),
            "cert": self.cert.as_ref().map(|p| p.display().to_string())
        })
        .to_string()
    }

    /// The measurement probe's handle for `symbol`.
    ///
    /// # Errors
    /// [`SimError::Probe`] when the probe is not armed or the symbol is not listed.
    pub fn probe(&self, symbol: &str) -> Result<TickProbe, SimError> {
        TickProbe::new(Arc::clone(&self.shared), symbol)
    }

    /// A balance of the account (free, locked), nano units.
    pub fn balance(&self, asset: &str) -> (i64, i64) {
        let b = self.shared.venue().balance(asset);
        (b.free, b.locked)
    }

    /// Blocks until stopped (the command line's main loop).
    pub fn wait(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops serving and joins the threads.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept.
        let _ = TcpStream::connect(self.addr);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Clone, Copy, Debug)]
enum Job {
    Step,
    FastDepth,
    SlowDepth,
}

fn timer(shared: &Shared, stop: &AtomicBool, every: Duration, job: Job) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(every);
        // Probe hook: a still market, so the probe's ticks are the only quotes.
        if matches!(job, Job::Step) && shared.probe.is_armed() {
            continue;
        }
        let now = now_ms();
        let mut v = shared.venue();
        match job {
            Job::Step => v.step(now),
            Job::FastDepth => v.flush_depth(true, now),
            Job::SlowDepth => v.flush_depth(false, now),
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    stop: &Arc<AtomicBool>,
    tls: Option<Arc<ServerConfig>>,
    session: SessionConfig,
) {
    static NEXT_CONN: AtomicU64 = AtomicU64::new(1);
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    for stream in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(tcp) = stream else { continue };
        let (shared, stop, tls) = (Arc::clone(shared), Arc::clone(stop), tls.clone());
        let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
        conns.retain(|h| !h.is_finished());
        conns.push(std::thread::spawn(move || serve(tcp, &shared, &stop, tls, session, id)));
    }
    for c in conns {
        let _ = c.join();
    }
}

/// Serves one connection: HTTP requests on keep-alive until it upgrades, closes or idles out.
fn serve(
    tcp: TcpStream,
    shared: &Shared,
    stop: &AtomicBool,
    tls: Option<Arc<ServerConfig>>,
    session: SessionConfig,
    id: u64,
) {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(20)));
    let Ok(raw) = tcp.try_clone() else { return };
    let mut io: Box<dyn Io> = match tls {
        Some(cfg) => match ServerConnection::new(cfg) {
            Ok(c) => Box::new(StreamOwned::new(c, tcp)),
            Err(_) => return,
        },
        None => Box::new(tcp),
    };
    let mut buf = Vec::new();
    let mut idle = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let req = match http::read_request(&mut io, &mut buf) {
            Ok(ReadOutcome::Request(r)) => r,
            Ok(ReadOutcome::Idle) => {
                idle += 1;
                // About two minutes without a request: the client is gone.
                if idle > 6000 {
                    break;
                }
                continue;
            }
            Ok(ReadOutcome::Closed) | Err(_) => break,
        };
        idle = 0;
        // Probe hook: the instant a new order is read.
        shared.probe.rest_request(&req);
        if req.is_upgrade() {
            // Probe hook: faster polls, so queued ticks leave soon after they are published.
            if let Some(poll) = shared.probe.ws_poll() {
                let _ = raw.set_read_timeout(Some(poll));
            }
            upgrade(io, buf, &req, shared, stop, session, id);
            return;
        }
        let close = req.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        match rest::route(shared, &req) {
            Outcome::Reply(r) => {
                if http::write_response(&mut io, &r, close).is_err() || close {
                    break;
                }
            }
            Outcome::Drop => {
                let _ = raw.shutdown(Shutdown::Both);
                return;
            }
        }
    }
    let _ = raw.shutdown(Shutdown::Both);
}

/// Completes the WebSocket handshake by hand (the request is already read) and runs the session.
fn upgrade(
    mut io: Box<dyn Io>,
    rest: Vec<u8>,
    req: &http::Request,
    shared: &Shared,
    stop: &AtomicBool,
    session: SessionConfig,
    id: u64,
) {
    let Some(kind) = ws::kind_of(&req.path, &req.query) else {
        let r = Response {
            status: 404,
            body: serde_json::json!({"code": -1000, "msg": "Unknown stream path."}),
            retry_after: None,
            weight: 0,
        };
        let _ = http::write_response(&mut io, &r, true);
        return;
    };
    let Some(key) = req.header("sec-websocket-key") else { return };
    let accept = tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if io.write_all(head.as_bytes()).and_then(|()| io.flush()).is_err() {
        return;
    }
    let socket = tungstenite::WebSocket::from_partially_read(io, rest, Role::Server, None);
    ws::run(shared, socket, &kind, id, session, stop);
}
