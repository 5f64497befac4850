//! The Binance gateway (`BinanceVenue` on a real `GatewayThread`) against `kestrel sim binance`
//! (in process, on loopback), plain and TLS, with every fault the simulator injects. The test
//! thread plays the engine: it sends orders down the request ring and books what comes back up the
//! event ring. After each run every order must have ended, and the position booked from the
//! gateway's fills must equal the simulator's own account change: no fill lost, none duplicated.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kestrel_engine::engine::{OrderKind, OrderRequest, RequestKind, VenueRequest};
use kestrel_engine::order::{Side, Status};
use kestrel_gateway::{BackoffPolicy, GatewayConfig, GatewayThread, Secrets, SystemClock};
use kestrel_gw_binance::session::{BinanceConfig, BinanceVenue};
use kestrel_sim_binance::{Credentials, SimConfig, Simulator};
use kestrel_types::{Event, InstrumentId, OrderId, Payload, Price, Qty, TimeSpan, Timestamp};

const KEY: &str = "gw-sim-key";
const SECRET: &str = "gw-sim-secret";

/// The simulator, the gateway thread, and the engine's two ring ends.
struct Rig {
    sim: Simulator,
    events: rtrb::Consumer<Event>,
    requests: rtrb::Producer<VenueRequest>,
    stop: Arc<AtomicBool>,
    gateway: Option<JoinHandle<()>>,
    next: u64,
    /// Per order: side, size, filled, final status.
    orders: BTreeMap<u64, (Side, Qty, Qty, Option<Status>)>,
    position: i128,
    quotes: u64,
    /// The last best bid seen.
    bid: Price,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(g) = self.gateway.take() {
            let _ = g.join();
        }
        self.sim.stop();
    }
}

fn rig(tls: bool) -> Rig {
    let creds = Credentials { api_key: Some(KEY.into()), secret: Some(SECRET.into()), ed25519: None };
    let mut config = SimConfig::new("127.0.0.1:0".parse().unwrap(), creds);
    config.tls = tls;
    config.step_every = Duration::from_millis(50);
    let sim = Simulator::start(config).unwrap();
    let port = sim.addr().port();
    let (http, ws) = if tls { ("https", "wss") } else { ("http", "ws") };
    let mut cfg = serde_json::json!({
        "mode": "paper",
        "rest_url": format!("{http}://127.0.0.1:{port}"),
        "stream_url": format!("{ws}://127.0.0.1:{port}"),
        "ws_api_url": format!("{ws}://127.0.0.1:{port}/ws-api/v3"),
        "symbols": [{"symbol": "BTCUSDT", "instrument": 0}],
    });
    if let Some(cert) = sim.cert_path() {
        cfg["ca_file"] = serde_json::json!(cert);
    }
    let config: BinanceConfig = serde_json::from_value(cfg).unwrap();
    let secrets =
        Secrets::from_values([("api_key", KEY.to_owned()), ("api_secret", SECRET.to_owned())]).unwrap();
    let venue = BinanceVenue::new(config, &secrets).unwrap();
    let backoff = BackoffPolicy {
        initial: TimeSpan::from_nanos(20_000_000),
        max: TimeSpan::from_nanos(500_000_000),
        seed: 7,
    };
    let gw = venue.gateway_config(GatewayConfig { backoff, ..GatewayConfig::default() });
    let (events_tx, events) = rtrb::RingBuffer::new(1 << 14);
    let (requests, requests_rx) = rtrb::RingBuffer::new(1 << 10);
    let stop = Arc::new(AtomicBool::new(false));
    let mut thread =
        GatewayThread::new(venue, gw, SystemClock, events_tx, requests_rx).unwrap().with_diagnostics(|_| {});
    let s = Arc::clone(&stop);
    let gateway = Some(std::thread::spawn(move || thread.run(&s)));
    Rig {
        sim,
        events,
        requests,
        stop,
        gateway,
        next: 1,
        orders: BTreeMap::new(),
        position: 0,
        quotes: 0,
        bid: Price::ZERO,
    }
}

impl Rig {
    /// Books what the gateway sent up, for `wait`.
    fn pump(&mut self, wait: Duration) {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            let Ok(ev) = self.events.pop() else {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            };
            match ev.payload {
                Payload::Quote(q) => {
                    self.quotes += 1;
                    self.bid = q.bid;
                }
                Payload::Trade(_) => self.quotes += 1,
                Payload::Exec(r) => {
                    let Some(o) = self.orders.get_mut(&r.order) else {
                        panic!("a report for an order never sent: {r:?}")
                    };
                    // Signed by side, as the engine reads it (`on_exec` takes the magnitude).
                    let qty = r.qty.abs();
                    if qty.is_positive() {
                        o.2 = o.2.checked_add(qty).unwrap();
                        assert!(o.2 <= o.1, "order {} filled {} of {}: a duplicated fill", r.order, o.2, o.1);
                        let q = i128::from(qty.raw());
                        self.position += if o.0 == Side::Buy { q } else { -q };
                    }
                    let status = Status::ALL.get(usize::from(r.status)).copied();
                    if let Some(s) = status.filter(|s| s.is_final()) {
                        o.3 = Some(s);
                    }
                    if qty.is_positive() && o.2 == o.1 {
                        o.3 = Some(Status::Completed);
                    }
                }
                _ => {}
            }
        }
    }

    /// Waits for market data: the streams are up.
    fn ready(&mut self) {
        let until = Instant::now() + Duration::from_secs(20);
        while (self.quotes < 3 || !self.bid.is_positive()) && Instant::now() < until {
            self.pump(Duration::from_millis(50));
        }
        assert!(self.quotes >= 3, "no market data from the simulator");
        // exchangeInfo and the user-data subscription settle.
        self.pump(Duration::from_millis(300));
    }

    fn send(&mut self, kind: RequestKind, order: u64, side: Side, size: Qty, what: OrderKind) {
        let request = OrderRequest::new(InstrumentId(0), side, size, what);
        let r = VenueRequest {
            kind,
            order: OrderId(order),
            request,
            sent: Timestamp::EPOCH,
            cause: Timestamp::EPOCH,
            published: Timestamp::EPOCH,
        };
        while self.requests.push(r).is_err() {
            self.pump(Duration::from_millis(1));
        }
    }

    fn place(&mut self, side: Side, size: &str, what: OrderKind) -> u64 {
        let id = self.next;
        self.next += 1;
        let size: Qty = size.parse().unwrap();
        self.orders.insert(id, (side, size, Qty::ZERO, None));
        self.send(RequestKind::New, id, side, size, what);
        id
    }

    fn cancel(&mut self, id: u64) {
        let (side, size, ..) = self.orders[&id];
        self.send(RequestKind::Cancel, id, side, size, OrderKind::Market);
    }

    /// Waits until every order ended.
    fn settle(&mut self) {
        let until = Instant::now() + Duration::from_secs(30);
        while self.orders.values().any(|o| o.3.is_none()) && Instant::now() < until {
            self.pump(Duration::from_millis(50));
        }
        let open: Vec<_> = self.orders.iter().filter(|(_, o)| o.3.is_none()).collect();
        assert!(open.is_empty(), "orders that never ended: {open:?}");
    }

    /// Arms a fault through the simulator's control endpoint.
    fn fault(&self, spec: &str) {
        let mut s = TcpStream::connect(self.sim.addr()).unwrap();
        write!(s, "POST /sim/fault?fault={spec} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{spec}: {answer}");
    }

    fn btc(&self) -> i128 {
        let (free, locked) = self.sim.balance("BTC");
        i128::from(free) + i128::from(locked)
    }
}

/// Market orders both ways and a resting limit canceled, around a fault armed after `arm` orders.
fn trade_through(tls: bool, fault: Option<&str>) -> Rig {
    let mut rig = rig(tls);
    rig.ready();
    let start = rig.btc();
    // 3% under the bid: rests (inside the venue's percent-price band), far from any fill.
    let tick = 10_000_000;
    let limit = Price::from_raw(rig.bid.raw() / 100 * 97 / tick * tick);
    let resting = rig.place(Side::Buy, "0.001", OrderKind::Limit { limit });
    rig.pump(Duration::from_millis(200));
    for k in 0..6 {
        if k == 2
            && let Some(f) = fault
        {
            rig.fault(f);
        }
        let side = if k % 2 == 0 { Side::Buy } else { Side::Sell };
        rig.place(side, "0.002", OrderKind::Market);
        rig.pump(Duration::from_millis(150));
    }
    rig.cancel(resting);
    rig.settle();
    assert_eq!(rig.position, rig.btc() - start, "position from the gateway's fills vs the venue's account");
    rig
}

fn filled(rig: &Rig) -> usize {
    rig.orders.values().filter(|o| o.3 == Some(Status::Completed)).count()
}

#[test]
fn plain_http_orders_fill_and_a_resting_order_cancels() {
    let rig = trade_through(false, None);
    assert_eq!(filled(&rig), 6, "{:?}", rig.orders);
    assert_eq!(rig.orders[&1].3, Some(Status::Canceled));
}

#[test]
fn over_tls_with_the_simulators_generated_certificate() {
    let rig = trade_through(true, None);
    assert_eq!(filled(&rig), 6, "{:?}", rig.orders);
}

#[test]
fn a_socket_dropped_mid_fill_loses_no_fill() {
    let rig = trade_through(false, Some("drop-mid-fill"));
    assert_eq!(filled(&rig), 6, "the dropped order is reconciled: {:?}", rig.orders);
}

#[test]
fn an_expired_user_data_subscription_is_renewed_without_losing_fills() {
    let rig = trade_through(false, Some("expire-user-stream"));
    assert_eq!(filled(&rig), 6, "{:?}", rig.orders);
}

#[test]
fn duplicated_and_reordered_execution_reports_book_each_fill_once() {
    let rig = trade_through(false, Some("duplicate-reports=20"));
    assert_eq!(filled(&rig), 6, "{:?}", rig.orders);
    let rig = trade_through(false, Some("reorder-reports=20"));
    assert_eq!(filled(&rig), 6, "{:?}", rig.orders);
}

#[test]
fn a_429_or_418_with_retry_after_rejects_or_delays_orders_and_the_books_still_agree() {
    for spec in ["rate-limit=429:2:1", "rate-limit=418:1:1"] {
        let rig = trade_through(false, Some(spec));
        let rejected = rig.orders.values().filter(|o| o.3 == Some(Status::Rejected)).count();
        assert!(filled(&rig) + rejected >= 6, "{spec}: {:?}", rig.orders);
    }
}
