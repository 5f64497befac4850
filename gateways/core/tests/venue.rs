//! A small venue implemented against the `Venue` trait, end to end: engine requests come in on the
//! request ring, go out as HTTP orders, their answers come back as execution events on the engine's
//! ring; WebSocket trades become trade events; a message the venue cannot parse closes and
//! reconnects its connection; a timer fires; a request that arrives before its connection is up
//! waits instead of being dropped.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kestrel_engine::engine::{OrderKind, OrderRequest, RequestKind, VenueRequest};
use kestrel_engine::order::Side;
use kestrel_gateway::{ConnId, Context, Endpoint, GatewayError, HttpRequest, Input, Layer, Venue, WsMessage};
use kestrel_types::{
    Aggressor, Event, ExecRecord, InstrumentId, OrderId, Payload, Price, Qty, Timestamp, Trade,
};
use support::*;
use tungstenite::Message;

const REST: ConnId = ConnId(0);
const MARKET: ConnId = ConnId(1);

/// A toy venue: orders are `POST /order` with `id=…&price=…&qty=…` (nano-units), answered with
/// `filled <id> <price> <qty>`; the market stream sends `trade <price> <qty>`.
struct Mini {
    endpoints: Vec<Endpoint>,
    log: Log,
    waiting: Vec<VenueRequest>,
}

impl Mini {
    fn event(now: Timestamp, payload: Payload) -> Event {
        Event { ts_event: now, ts_recv: now, instrument: InstrumentId(0), payload }
    }

    fn send_order(req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let price = req.request.kind.price().map_or(0, Price::raw);
        let body = format!("id={}&price={price}&qty={}", req.order.0, req.request.size.raw());
        let http = HttpRequest {
            method: "POST",
            target: "/order",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: body.as_bytes(),
            tag: req.order.0,
            cost: kestrel_gateway::Cost { weight: 1, orders: 1 },
        };
        cx.wire.http(REST, &http).map(|_| ())
    }

    fn numbers<const N: usize>(text: &str, word: &str) -> Option<[i64; N]> {
        let mut parts = text.strip_prefix(word)?.split_whitespace().map(|p| p.parse::<i64>().ok());
        let mut out = [0; N];
        for slot in &mut out {
            *slot = parts.next()??;
        }
        parts.next().is_none().then_some(out)
    }
}

impl Venue for Mini {
    const NAME: &'static str = "mini";

    fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    fn on_input(&mut self, input: Input<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let seen = match input {
            Input::Opened(c) => Some(Seen::Opened(c.0)),
            Input::Closed { conn, error } => Some(Seen::Closed(conn.0, error.cloned())),
            Input::Timer { token } => Some(Seen::Timer(token)),
            _ => None,
        };
        if let Some(seen) = seen {
            self.log.lock().unwrap().push((cx.now, seen));
        }
        match input {
            Input::Started => {
                cx.wire.open(REST)?;
                cx.wire.open(MARKET)?;
                cx.wire.set_timer(Timestamp::from_nanos(cx.now.nanos() + 20_000_000), 77);
            }
            Input::Opened(REST) => {
                for req in std::mem::take(&mut self.waiting) {
                    Self::send_order(&req, cx)?;
                }
            }
            Input::Http { conn, response } => {
                let text = std::str::from_utf8(response.body())
                    .map_err(|_| GatewayError::malformed_venue(conn, "not UTF-8"))?;
                let [id, price, qty] = Self::numbers::<3>(text, "filled")
                    .ok_or_else(|| GatewayError::malformed_venue(conn, "not a fill"))?;
                if u64::try_from(id).ok() != Some(response.tag()) {
                    return Err(GatewayError::malformed_venue(conn, "fill for another order"));
                }
                let exec = ExecRecord {
                    order: response.tag(),
                    exec: 1,
                    status: 0,
                    qty: Qty::from_raw(qty),
                    price: Price::from_raw(price),
                    fee: 0,
                };
                cx.inbox.push(Self::event(cx.now, Payload::Exec(exec)))?;
            }
            Input::Ws { conn, message: WsMessage::Text(text) } => {
                let [price, qty] = Self::numbers::<2>(text, "trade")
                    .ok_or_else(|| GatewayError::malformed_venue(conn, "not a trade"))?;
                let trade = Trade {
                    price: Price::from_raw(price),
                    size: Qty::from_raw(qty),
                    aggressor: Aggressor::Unknown,
                    trade_id: 0,
                };
                cx.inbox.push(Self::event(cx.now, Payload::Trade(trade)))?;
            }
            Input::Timer { token } => cx.inbox.push(Self::event(cx.now, Payload::Timer { id: token }))?,
            _ => {}
        }
        Ok(())
    }

    fn on_request(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        self.log.lock().unwrap().push((cx.now, Seen::Request(req.order.0)));
        if req.kind != RequestKind::New {
            return Err(GatewayError::Venue { reason: "mini only places orders".into() });
        }
        if cx.wire.is_open(REST) {
            Self::send_order(req, cx)
        } else {
            self.waiting.push(*req);
            Ok(())
        }
    }
}

fn order(id: u64, price: i64, qty: i64) -> VenueRequest {
    let t = Timestamp::from_nanos(1);
    VenueRequest {
        kind: RequestKind::New,
        order: OrderId(id),
        request: OrderRequest::new(
            InstrumentId(0),
            Side::Buy,
            Qty::from_raw(qty),
            OrderKind::Limit { limit: Price::from_raw(price) },
        ),
        sent: t,
        cause: t,
        published: t,
    }
}

#[test]
fn requests_in_orders_out_fills_and_trades_back_on_the_engine_ring() {
    let (rest_listener, rest) = listener();
    let (market_listener, market) = listener();
    // REST is HTTPS and its server answers the TLS handshake late, so the first request reaches
    // the venue before REST is open (TCP alone would be up at once: the kernel accepts).
    let (tls, ca) = tls_server();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut r = std::io::BufReader::new(tls_accept(&tls, accept(&rest_listener)));
        while let Some(req) = read_request(&mut r) {
            let w = r.get_mut();
            assert!(req.head.starts_with("POST /order HTTP/1.1\r\n"), "{}", req.head);
            let body = String::from_utf8(req.body).unwrap();
            let fields: Vec<&str> = body.split('&').map(|kv| kv.split_once('=').unwrap().1).collect();
            send(w, ok(&format!("filled {} {} {}", fields[0], fields[1], fields[2])).as_bytes());
        }
    });
    std::thread::spawn(move || {
        let mut ws = tungstenite::accept(accept(&market_listener)).unwrap();
        ws.send(Message::Text("trade 100500000000 2000000000".into())).unwrap();
        ws.send(Message::Text("trade at noon".into())).unwrap();
        while ws.read().is_ok() {}
        let mut ws = tungstenite::accept(accept(&market_listener)).unwrap();
        ws.send(Message::Text("trade 100600000000 1000000000".into())).unwrap();
        while ws.read().is_ok() {}
    });
    let log = Log::default();
    let venue = Mini {
        endpoints: vec![
            Endpoint::http("rest", "127.0.0.1", rest.port(), true),
            Endpoint::websocket("market", "127.0.0.1", market.port(), false, "/stream"),
        ],
        log: Arc::clone(&log),
        waiting: Vec::new(),
    };
    let config = kestrel_gateway::GatewayConfig { extra_ca_pem: Some(ca), ..test_config() };
    let mut gw = Running::start_venue(venue, log, config);
    gw.requests.push(order(7, 100_250_000_000, 1_500_000_000)).unwrap();
    let mut events = Vec::new();
    let mut second_sent = false;
    let start = Instant::now();
    while events.len() < 5 && start.elapsed() < DEADLINE {
        match gw.events.pop() {
            Ok(ev) => events.push(ev),
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
        // Once the first fill is back, a second order goes straight out on the open connection.
        if !second_sent && events.iter().any(|e| matches!(e.payload, Payload::Exec(_))) {
            gw.requests.push(order(8, 99_000_000_000, 250_000_000)).unwrap();
            second_sent = true;
        }
    }
    let fills: Vec<_> = events
        .iter()
        .filter_map(|e| {
            if let Payload::Exec(x) = e.payload { Some((x.order, x.price.raw(), x.qty.raw())) } else { None }
        })
        .collect();
    assert_eq!(fills, [(7, 100_250_000_000, 1_500_000_000), (8, 99_000_000_000, 250_000_000)]);
    let trades: Vec<_> = events
        .iter()
        .filter_map(|e| {
            if let Payload::Trade(t) = e.payload { Some((t.price.raw(), t.size.raw())) } else { None }
        })
        .collect();
    assert_eq!(trades, [(100_500_000_000, 2_000_000_000), (100_600_000_000, 1_000_000_000)]);
    assert!(events.iter().any(|e| e.payload == Payload::Timer { id: 77 }));
    for e in &events {
        assert!(e.ts_recv.nanos() > 0 && e.ts_event == e.ts_recv, "stamped with the gateway clock");
    }

    // The unparsable trade closed the market connection as malformed venue input, and it came back.
    let seen = gw.seen();
    let closed = seen.iter().find_map(|s| if let Seen::Closed(1, e) = s { e.clone() } else { None });
    assert_eq!(closed, Some(GatewayError::malformed_venue(MARKET, "not a trade")));
    assert!(matches!(closed, Some(GatewayError::Malformed { layer: Layer::Venue, .. })));
    assert_eq!(count(&seen, |s| *s == Seen::Opened(1)), 2);
    assert_eq!(count(&seen, |s| *s == Seen::Opened(0)), 1);
    // The first request was taken before REST opened and sent once it did.
    let first_request = seen.iter().position(|s| *s == Seen::Request(7)).unwrap();
    let rest_open = seen.iter().position(|s| *s == Seen::Opened(0)).unwrap();
    assert!(first_request < rest_open, "{seen:?}");
    let gw = gw.stop();
    assert_eq!(gw.inbox_stats().accepted, 5);
    assert_eq!(gw.inbox_stats().refused, 0);
}
