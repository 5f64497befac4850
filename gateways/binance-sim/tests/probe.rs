//! The measurement probe over real loopback sockets: ticks reach a `/stream` client as bookTicker
//! frames, new orders are stamped whether they come by REST or the WebSocket API (test orders are
//! not), and the correlation rule measures, flags and skips as documented.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kestrel_sim_binance::auth::hmac_hex;
use kestrel_sim_binance::{Credentials, Pace, ProbeConfig, SimConfig, SimError, Simulator};
use kestrel_types::Price;
use serde_json::{Value, json};
use tungstenite::Message;

const KEY: &str = "probe-key";
const SECRET: &str = "probe-secret";

fn start(probe: bool) -> Simulator {
    let creds = Credentials { api_key: Some(KEY.into()), secret: Some(SECRET.into()), ed25519: None };
    let mut cfg = SimConfig::new("127.0.0.1:0".parse().unwrap(), creds);
    cfg.probe = probe.then(ProbeConfig::default);
    Simulator::start(cfg).unwrap()
}

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// A signed REST POST (parameters in the query); the answer's status.
fn rest_post(s: &mut TcpStream, path: &str, params: &str) -> u16 {
    let q = format!("{params}&timestamp={}", now_ms());
    let sig = hmac_hex(SECRET, &q);
    let req = format!(
        "POST {path}?{q}&signature={sig} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-MBX-APIKEY: {KEY}\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "REST connection closed");
        buf.extend_from_slice(&chunk[..n]);
        let mut hs = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut hs);
        if let Ok(httparse::Status::Complete(head)) = resp.parse(&buf) {
            let len: usize = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                .unwrap();
            if buf.len() >= head + len {
                return resp.code.unwrap();
            }
        }
    }
}

/// A signed WebSocket API `order.place`.
fn ws_order(price: &str) -> String {
    let mut params = vec![
        ("apiKey", KEY.to_owned()),
        ("price", price.to_owned()),
        ("quantity", "0.001".to_owned()),
        ("side", "BUY".to_owned()),
        ("symbol", "BTCUSDT".to_owned()),
        ("timeInForce", "IOC".to_owned()),
        ("timestamp", now_ms().to_string()),
        ("type", "LIMIT".to_owned()),
    ];
    params.sort();
    let payload = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut obj: serde_json::Map<String, Value> =
        params.into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
    obj.insert("signature".into(), json!(hmac_hex(SECRET, &payload)));
    json!({"id": "o", "method": "order.place", "params": obj}).to_string()
}

type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

fn ws(addr: SocketAddr, path: &str) -> Ws {
    let (ws, _) = tungstenite::connect(format!("ws://{addr}{path}")).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    ws
}

fn next_json(ws: &mut Ws) -> Value {
    loop {
        if let Message::Text(t) = ws.read().unwrap() {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

#[test]
fn ticks_reach_a_stream_client_and_its_orders_are_correlated_by_the_rule() {
    let sim = start(true);
    let probe = sim.probe("BTCUSDT").unwrap();
    let mut market = ws(sim.addr(), "/stream?streams=btcusdt@bookTicker");
    let mut api = ws(sim.addr(), "/ws-api/v3");
    let mut rest = TcpStream::connect(sim.addr()).unwrap();
    rest.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..500 {
        if probe.followers() == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(probe.followers(), 1);

    // The client: tick 0 → a test order (not stamped), then a REST order; tick 1 → a WebSocket
    // API order; tick 2 → nothing; tick 3 → a REST order (ambiguous: tick 2 went unanswered).
    let client = std::thread::spawn(move || {
        let mut frames = Vec::new();
        for i in 0..4 {
            let f = next_json(&mut market);
            let price = f["data"]["b"].as_str().unwrap().to_owned();
            let order =
                format!("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.001&price={price}");
            match i {
                0 => {
                    assert_eq!(rest_post(&mut rest, "/api/v3/order/test", &order), 200);
                    assert_eq!(rest_post(&mut rest, "/api/v3/order", &order), 200);
                }
                1 => {
                    api.send(Message::text(ws_order(&price))).unwrap();
                    let r = next_json(&mut api);
                    assert_eq!(r["status"], 200, "{r}");
                }
                3 => assert_eq!(rest_post(&mut rest, "/api/v3/order", &order), 200),
                _ => {}
            }
            frames.push(f);
        }
        frames
    });
    let pace = Pace {
        ticks: 4,
        min_gap: Duration::from_millis(1),
        answer_timeout: Duration::from_millis(300),
        give_up_after: 4,
    };
    let c = probe.run(&pace);
    let frames = client.join().unwrap();

    for f in &frames {
        assert_eq!(f["stream"], "btcusdt@bookTicker", "{f}");
        let d = &f["data"];
        assert_eq!(d["s"], "BTCUSDT", "{f}");
        let px = |k: &str| d[k].as_str().unwrap().parse::<Price>().unwrap();
        assert!(px("b").is_positive() && px("b") < px("a"), "{f}");
    }
    // The market holds still while the probe is armed: the same top every tick.
    assert!(frames.windows(2).all(|w| w[0]["data"] == w[1]["data"]), "{frames:?}");
    assert_eq!(
        (c.ticks, c.samples.len(), c.unanswered, c.ambiguous, c.extra, c.orphan, c.undelivered, c.gave_up),
        (4, 2, 1, 1, 0, 0, 0, false),
        "{c:?}"
    );
    assert!(c.samples.iter().all(|ns| *ns > 0 && *ns < 300_000_000), "{c:?}");
    assert_eq!(probe.orders_read(), 3, "the test order is not stamped");
}

#[test]
fn the_probe_needs_arming_and_a_listed_symbol() {
    let plain = start(false);
    assert!(matches!(plain.probe("BTCUSDT"), Err(SimError::Probe(_))));
    let armed = start(true);
    let err = armed.probe("DOGEUSDT").unwrap_err().to_string();
    assert!(err.contains("DOGEUSDT"), "{err}");
}
