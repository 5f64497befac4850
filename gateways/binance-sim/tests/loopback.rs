//! The simulator over real loopback sockets, as a client sees it: plain HTTP/1.1, tungstenite
//! WebSockets and a rustls client trusting the generated certificate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use kestrel_sim_binance::auth::hmac_hex;
use kestrel_sim_binance::{Credentials, SimConfig, Simulator};
use kestrel_types::{Price, Qty};
use ring::signature::KeyPair;
use serde_json::{Value, json};
use tungstenite::Message;

const KEY: &str = "test-key";
const SECRET: &str = "test-secret";

fn start(tls: bool, ed25519: Option<[u8; 32]>, dir: Option<&std::path::Path>) -> Simulator {
    let creds = Credentials { api_key: Some(KEY.into()), secret: Some(SECRET.into()), ed25519 };
    let mut cfg = SimConfig::new("127.0.0.1:0".parse().unwrap(), creds);
    cfg.tls = tls;
    cfg.cert_dir = dir.map(std::path::Path::to_path_buf);
    cfg.step_every = Duration::from_millis(50);
    Simulator::start(cfg).unwrap()
}

fn now() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// Status, lower-cased headers, JSON body.
type Answer = (u16, Vec<(String, String)>, Value);

/// One HTTP exchange on an open connection: status, lower-cased headers, JSON body.
fn exchange(
    s: &mut (impl Read + Write),
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<Answer> {
    let mut req =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let parsed = {
            let mut hs = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut hs);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(n)) => Some((
                    n,
                    resp.code.unwrap(),
                    resp.headers
                        .iter()
                        .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
                        .collect::<Vec<(String, String)>>(),
                )),
                _ => None,
            }
        };
        if let Some((n, code, headers)) = parsed {
            let len: usize =
                headers.iter().find(|(k, _)| k == "content-length").map(|(_, v)| v.parse().unwrap()).unwrap();
            while buf.len() < n + len {
                let k = s.read(&mut chunk).ok()?;
                if k == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..k]);
            }
            let body: Value = serde_json::from_slice(&buf[n..n + len]).unwrap();
            return Some((code, headers, body));
        }
        let k = s.read(&mut chunk).ok()?;
        if k == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..k]);
    }
}

struct Client {
    s: TcpStream,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Self { s }
    }

    fn public(&mut self, target: &str) -> (u16, Value) {
        let (st, _, b) = exchange(&mut self.s, "GET", target, &[], "").unwrap();
        (st, b)
    }

    /// Arms a fault through the control endpoint.
    fn fault(&mut self, spec: &str) -> (u16, Value) {
        let (st, _, b) = exchange(&mut self.s, "POST", &format!("/sim/fault?fault={spec}"), &[], "").unwrap();
        (st, b)
    }

    /// A signed call with every parameter in the query (binance-connector style).
    fn signed(&mut self, method: &str, path: &str, params: &str) -> (u16, Value) {
        let q = format!("{params}{}timestamp={}", if params.is_empty() { "" } else { "&" }, now());
        let sig = hmac_hex(SECRET, &q);
        let (st, _, b) = exchange(
            &mut self.s,
            method,
            &format!("{path}?{q}&signature={sig}"),
            &[("X-MBX-APIKEY", KEY)],
            "",
        )
        .unwrap();
        (st, b)
    }

    /// A signed POST with everything in a form body (ccxt style).
    fn signed_form(&mut self, path: &str, params: &str) -> (u16, Value) {
        let body = format!("timestamp={}&{params}&recvWindow=10000", now());
        let body = format!("{body}&signature={}", hmac_hex(SECRET, &body));
        let h = [("x-mbx-apikey", KEY), ("Content-Type", "application/x-www-form-urlencoded")];
        let (st, _, b) = exchange(&mut self.s, "POST", path, &h, &body).unwrap();
        (st, b)
    }
}

fn dec(v: &Value) -> i64 {
    v.as_str().unwrap().parse::<Qty>().unwrap().raw()
}

fn balance(acct: &Value, asset: &str) -> (i64, i64) {
    let b = acct["balances"].as_array().unwrap().iter().find(|b| b["asset"] == asset).unwrap();
    (dec(&b["free"]), dec(&b["locked"]))
}

#[test]
fn signatures_keys_and_timestamps_are_checked_like_binance() {
    let sim = start(false, None, None);
    let mut c = Client::new(sim.addr());
    assert_eq!(c.public("/api/v3/ping"), (200, json!({})));
    assert_eq!(c.signed("GET", "/api/v3/account", "").0, 200);

    let q = format!("timestamp={}", now());
    let bad = format!("/api/v3/account?{q}&signature={}", hmac_hex("other", &q));
    let (st, h, b) = exchange(&mut c.s, "GET", &bad, &[("X-MBX-APIKEY", KEY)], "").unwrap();
    assert_eq!((st, b), (400, json!({"code": -1022, "msg": "Signature for this request is not valid."})));
    assert!(h.iter().any(|(k, v)| k == "content-type" && v.starts_with("application/json")));

    let good = format!("/api/v3/account?{q}&signature={}", hmac_hex(SECRET, &q));
    let (st, _, b) = exchange(&mut c.s, "GET", &good, &[], "").unwrap();
    assert_eq!((st, b["code"].clone()), (401, json!(-2014)));
    let (st, _, b) = exchange(&mut c.s, "GET", &good, &[("X-MBX-APIKEY", "someone-else")], "").unwrap();
    assert_eq!((st, b["code"].clone()), (401, json!(-2015)));

    let old = format!("timestamp={}", now() - 10_000);
    let stale = format!("/api/v3/account?{old}&signature={}", hmac_hex(SECRET, &old));
    let (st, _, b) = exchange(&mut c.s, "GET", &stale, &[("X-MBX-APIKEY", KEY)], "").unwrap();
    assert_eq!(
        (st, b),
        (400, json!({"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}))
    );
    let (st, _, b) =
        exchange(&mut c.s, "GET", "/api/v3/account?signature=00", &[("X-MBX-APIKEY", KEY)], "").unwrap();
    assert_eq!((st, b["code"].clone()), (400, json!(-1102)));
    // Unsigned listenKey calls: key header only.
    let (st, _, b) =
        exchange(&mut c.s, "POST", "/api/v3/userDataStream", &[("X-MBX-APIKEY", KEY)], "").unwrap();
    assert_eq!(st, 200);
    assert_eq!(b["listenKey"].as_str().unwrap().len(), 60);
}

#[test]
fn filters_market_fill_and_resting_limit_with_cancel() {
    let sim = start(false, None, None);
    let mut c = Client::new(sim.addr());
    let (st, b) = c.signed(
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000001&price=59000",
    );
    assert_eq!((st, b), (400, json!({"code": -1013, "msg": "Filter failure: LOT_SIZE"})));
    let (_, b) = c.signed(
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=59000.001",
    );
    assert_eq!(b["msg"], "Filter failure: PRICE_FILTER");
    let (_, b) = c.signed(
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00001&price=59000",
    );
    assert_eq!(b["msg"], "Filter failure: NOTIONAL");
    let (_, b) = c.signed(
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=5&price=59000",
    );
    assert_eq!(b, json!({"code": -2010, "msg": "Account has insufficient balance for requested action."}));
    let (_, b) = c.signed(
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1e-05&price=59000",
    );
    assert_eq!(b["code"], -1100);

    // A market buy walks the asks: fills add up exactly, balances move by exactly that much.
    let (_, before) = c.signed("GET", "/api/v3/account", "");
    let (st, o) = c.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.25");
    assert_eq!((st, &o["status"]), (200, &json!("FILLED")));
    let fills = o["fills"].as_array().unwrap();
    let qty: i64 = fills.iter().map(|f| dec(&f["qty"])).sum();
    let cost: i128 = fills
        .iter()
        .map(|f| {
            i128::from(dec(&f["qty"]))
                * i128::from(f["price"].as_str().unwrap().parse::<Price>().unwrap().raw())
                / 1_000_000_000
        })
        .sum();
    assert_eq!(qty, dec(&o["executedQty"]));
    assert_eq!(cost, i128::from(dec(&o["cummulativeQuoteQty"])));
    assert!(
        fills.windows(2).all(|w| dec(&w[0]["price"]) <= dec(&w[1]["price"])),
        "price priority: {fills:?}"
    );
    assert!(fills.iter().all(|f| f["tradeId"].is_u64() && f["commissionAsset"] == "BTC"));
    // The account's trades of that order (`myTrades`, what a gateway reconciles fills from): one
    // per fill, same trade ids, Binance's JSON types.
    let oid = o["orderId"].as_u64().unwrap();
    let (st, mine) = c.signed("GET", "/api/v3/myTrades", &format!("symbol=BTCUSDT&orderId={oid}"));
    assert_eq!(st, 200, "{mine}");
    let mine = mine.as_array().unwrap();
    let ids = |v: &[Value], k: &str| v.iter().map(|t| t[k].as_u64().unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(mine, "id"), ids(fills, "tradeId"));
    assert!(mine.iter().all(|t| t["orderId"] == oid && t["isBuyer"] == true && t["isMaker"] == false));
    assert_eq!(mine.iter().map(|t| dec(&t["qty"])).sum::<i64>(), qty);
    let (_, unsigned) = c.public("/api/v3/myTrades?symbol=BTCUSDT");
    assert_eq!(unsigned["code"], -2014, "myTrades is signed (no key: Binance's -2014): {unsigned}");
    let (_, after) = c.signed("GET", "/api/v3/account", "");
    assert_eq!(balance(&after, "BTC").0 - balance(&before, "BTC").0, qty);
    assert_eq!(i128::from(balance(&before, "USDT").0 - balance(&after, "USDT").0), cost);

    // A far limit rests (form body, ccxt style), locks price × qty, shows in openOrders, cancels.
    let (st, o) = c.signed_form("/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=58000.5&newClientOrderId=x-test-1&newOrderRespType=RESULT");
    assert_eq!(st, 200, "{o}");
    assert_eq!(
        (o["status"].as_str(), o["clientOrderId"].as_str(), o.get("fills")),
        (Some("NEW"), Some("x-test-1"), None)
    );
    let id = o["orderId"].as_u64().unwrap();
    let (_, acct) = c.signed("GET", "/api/v3/account", "");
    assert_eq!(balance(&acct, "USDT").1, 580_005_000_000);
    let (_, open) = c.signed("GET", "/api/v3/openOrders", "symbol=BTCUSDT");
    assert_eq!(open.as_array().unwrap().iter().filter(|x| x["orderId"] == id).count(), 1);
    let (_, q) = c.signed("GET", "/api/v3/order", &format!("symbol=BTCUSDT&orderId={id}"));
    assert_eq!(
        (q["status"].as_str(), q["price"].as_str(), q["isWorking"].as_bool()),
        (Some("NEW"), Some("58000.50000000"), Some(true))
    );
    let (st, x) = c.signed(
        "DELETE",
        "/api/v3/order",
        "symbol=BTCUSDT&origClientOrderId=x-test-1&newClientOrderId=cxl-1",
    );
    assert_eq!(
        (st, x["status"].as_str(), x["clientOrderId"].as_str(), x["origClientOrderId"].as_str()),
        (200, Some("CANCELED"), Some("cxl-1"), Some("x-test-1"))
    );
    let (_, acct) = c.signed("GET", "/api/v3/account", "");
    assert_eq!(balance(&acct, "USDT").1, 0);
    let (st, x) = c.signed("DELETE", "/api/v3/order", &format!("symbol=BTCUSDT&orderId={id}"));
    assert_eq!((st, x), (400, json!({"code": -2011, "msg": "Unknown order sent."})));
    let (_, x) = c.signed("GET", "/api/v3/order", "symbol=BTCUSDT&orderId=999999");
    assert_eq!(x["code"], -2013);

    // Query wins over body; the signature covers query + body as sent.
    let q = "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001";
    let body = format!("symbol=ETHUSDT&timestamp={}", now());
    let sig = hmac_hex(SECRET, &format!("{q}{body}"));
    let h = [("X-MBX-APIKEY", KEY), ("Content-Type", "application/x-www-form-urlencoded")];
    let (st, _, o) =
        exchange(&mut c.s, "POST", &format!("/api/v3/order?{q}"), &h, &format!("{body}&signature={sig}"))
            .unwrap();
    assert_eq!((st, o["symbol"].as_str()), (200, Some("BTCUSDT")), "{o}");
}

fn ws(
    addr: SocketAddr,
    path: &str,
) -> tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>> {
    let (ws, _) = tungstenite::connect(format!("ws://{addr}{path}")).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    ws
}

fn next_json(ws: &mut tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>) -> Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            _ => continue,
        }
    }
}

#[test]
fn combined_frames_and_depth_diffs_chain_onto_the_snapshot() {
    let sim = start(false, None, None);
    let mut s = ws(sim.addr(), "/stream?streams=btcusdt@trade/btcusdt@depth@100ms");
    let mut events = Vec::new();
    let mut trade = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = Client::new(sim.addr());
    let mut snapshot = None;
    while (trade.is_none() || events.len() < 6) && Instant::now() < deadline {
        let f = next_json(&mut s);
        let obj = f.as_object().unwrap();
        assert_eq!(obj.keys().collect::<Vec<_>>(), ["stream", "data"], "{f}");
        match f["stream"].as_str().unwrap() {
            "btcusdt@trade" => {
                let d = &f["data"];
                assert!(
                    d["t"].is_u64()
                        && d["E"].is_i64()
                        && d["T"].is_i64()
                        && d["p"].is_string()
                        && d["q"].is_string()
                        && d["m"].is_boolean()
                );
                assert_eq!((d["e"].as_str(), d["s"].as_str()), (Some("trade"), Some("BTCUSDT")));
                trade = Some(d.clone());
            }
            "btcusdt@depth@100ms" => {
                events.push(f["data"].clone());
                if snapshot.is_none() {
                    snapshot = Some(c.public("/api/v3/depth?symbol=BTCUSDT&limit=1000").1);
                }
            }
            other => panic!("unexpected stream {other}"),
        }
    }
    assert!(trade.is_some(), "no trade within 10 s");
    // DIGEST §10: drop u ≤ lastUpdateId; the first kept has U ≤ id+1 ≤ u; then U = previous u + 1.
    let last = snapshot.unwrap()["lastUpdateId"].as_u64().unwrap();
    let kept: Vec<&Value> = events.iter().filter(|e| e["u"].as_u64().unwrap() > last).collect();
    assert!(!kept.is_empty());
    let (u0, u1) = (kept[0]["U"].as_u64().unwrap(), kept[0]["u"].as_u64().unwrap());
    assert!(u0 <= last + 1 && last < u1, "U {u0} u {u1} snapshot {last}");
    for w in kept.windows(2) {
        assert_eq!(w[1]["U"].as_u64().unwrap(), w[0]["u"].as_u64().unwrap() + 1);
    }
    assert_eq!(events[0]["e"], "depthUpdate");

    // Bare /ws: SUBSCRIBE answered {"result":null,"id":…}; raw (unwrapped) frames follow.
    let mut raw = ws(sim.addr(), "/ws");
    raw.send(Message::text(r#"{"method": "SUBSCRIBE", "params": ["ethusdt@bookTicker"], "id": 7}"#)).unwrap();
    assert_eq!(next_json(&mut raw), json!({"result": null, "id": 7}));
    let f = next_json(&mut raw);
    assert_eq!((f["s"].as_str(), f["u"].is_u64(), f["b"].is_string()), (Some("ETHUSDT"), true, true), "{f}");
    raw.send(Message::text(r#"{"method":"LIST_SUBSCRIPTIONS","id":"a"}"#)).unwrap();
    loop {
        let f = next_json(&mut raw);
        if f.get("id").is_some() {
            assert_eq!(f, json!({"result": ["ethusdt@bookTicker"], "id": "a"}));
            break;
        }
    }
}

fn ws_signed(method: &str, id: &str, mut params: Vec<(&str, String)>) -> String {
    params.push(("apiKey", KEY.into()));
    params.push(("timestamp", now().to_string()));
    params.sort();
    let payload = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut obj = serde_json::Map::new();
    for (k, v) in &params {
        obj.insert((*k).into(), if *k == "timestamp" { json!(v.parse::<u64>().unwrap()) } else { json!(v) });
    }
    obj.insert("signature".into(), json!(hmac_hex(SECRET, &payload)));
    json!({"id": id, "method": method, "params": obj}).to_string()
}

#[test]
fn ws_api_logon_subscribe_and_user_events() {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let mut pk = [0u8; 32];
    pk.copy_from_slice(pair.public_key().as_ref());
    let sim = start(false, Some(pk), None);

    // Ed25519 session.logon, then userDataStream.subscribe and an unsigned order.place.
    let mut api = ws(sim.addr(), "/ws-api/v3");
    let ts = now();
    let payload = format!("apiKey={KEY}&timestamp={ts}");
    let sig = base64::engine::general_purpose::STANDARD.encode(pair.sign(payload.as_bytes()).as_ref());
    api.send(Message::text(json!({"id": "logon-1", "method": "session.logon", "params": {"apiKey": KEY, "timestamp": ts, "signature": sig}}).to_string())).unwrap();
    let r = next_json(&mut api);
    assert_eq!((r["id"].as_str(), r["status"].as_u64()), (Some("logon-1"), Some(200)), "{r}");
    assert!(r["rateLimits"].is_array() && r["result"]["apiKey"] == KEY);
    api.send(Message::text(r#"{"id":2,"method":"userDataStream.subscribe"}"#)).unwrap();
    let r = next_json(&mut api);
    assert_eq!(
        (r["id"].as_u64(), r["status"].as_u64(), r["result"]["subscriptionId"].is_u64()),
        (Some(2), Some(200), true),
        "{r}"
    );
    let sub = r["result"]["subscriptionId"].clone();

    let place = json!({"id": "p", "method": "order.place", "params": {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.002"}});
    api.send(Message::text(place.to_string())).unwrap();
    let mut reply = None;
    let mut user = Vec::new();
    while reply.is_none() || !user.iter().any(|e: &Value| e["e"] == "outboundAccountPosition") {
        let f = next_json(&mut api);
        if f.get("subscriptionId").is_some() {
            assert_eq!(f["subscriptionId"], sub);
            user.push(f["event"].clone());
        } else if f["id"] == "p" {
            reply = Some(f);
        }
    }
    let reply = reply.unwrap();
    assert_eq!(reply["result"]["status"], "FILLED", "{reply}");
    let order_id = &reply["result"]["orderId"];
    let x: Vec<&str> =
        user.iter().filter(|e| e["i"] == *order_id).map(|e| e["x"].as_str().unwrap()).collect();
    assert_eq!(x.first(), Some(&"NEW"));
    assert!(x[1..].iter().all(|k| *k == "TRADE") && x.len() >= 2, "{x:?}");
    let t = user.iter().find(|e| e["x"] == "TRADE").unwrap();
    assert!(
        t["t"].is_i64()
            && t["I"].is_u64()
            && t["E"].is_i64()
            && t["w"].is_boolean()
            && t["N"] == "USDT"
            && t["n"].is_string()
    );
    let new = user.iter().find(|e| e["x"] == "NEW").unwrap();
    assert_eq!((new["N"].clone(), new["n"].clone(), new["t"].clone()), (Value::Null, json!("0"), json!(-1)));
    let pos = user.iter().find(|e| e["e"] == "outboundAccountPosition").unwrap();
    assert!(pos["B"].as_array().unwrap().iter().any(|b| b["a"] == "BTC" && b["f"].is_string()));

    // HMAC userDataStream.subscribe.signature on a second connection, and a signed order.cancel refusal.
    let mut api2 = ws(sim.addr(), "/ws-api/v3");
    api2.send(Message::text(ws_signed("userDataStream.subscribe.signature", "s2", vec![]))).unwrap();
    let r = next_json(&mut api2);
    assert_eq!((r["status"].as_u64(), r["result"]["subscriptionId"].is_u64()), (Some(200), true), "{r}");
    api2.send(Message::text(ws_signed(
        "order.cancel",
        "c",
        vec![("symbol", "BTCUSDT".into()), ("orderId", "424242".into())],
    )))
    .unwrap();
    let r = next_json(&mut api2);
    assert_eq!(
        (r["id"].as_str(), r["status"].as_u64(), r["error"]["code"].as_i64()),
        (Some("c"), Some(400), Some(-2011)),
        "{r}"
    );
    let mut tampered: Value = serde_json::from_str(&ws_signed("account.status", "a", vec![])).unwrap();
    tampered["params"]["timestamp"] = json!(1);
    api2.send(Message::text(tampered.to_string())).unwrap();
    assert_eq!(next_json(&mut api2)["error"]["code"], -1022);

    // The WebSocket API answers the rate-limit fault with its status and a retryAfter.
    let mut c = Client::new(sim.addr());
    c.fault("rate-limit=429:1:2");
    api2.send(Message::text(r#"{"id":"t","method":"time"}"#)).unwrap();
    let r = next_json(&mut api2);
    assert_eq!(
        (r["id"].as_str(), r["status"].as_u64(), r["error"]["code"].as_i64()),
        (Some("t"), Some(429), Some(-1003)),
        "{r}"
    );
    assert!(r["retryAfter"].is_i64());

    // Expiry ends both subscriptions with eventStreamTerminated.
    c.fault("expire-user-stream");
    for conn in [&mut api, &mut api2] {
        loop {
            let f = next_json(conn);
            if f["event"]["e"] == "eventStreamTerminated" {
                assert!(f["subscriptionId"].is_u64() && f["event"]["E"].is_i64());
                break;
            }
        }
    }
}

#[test]
fn the_server_pings_stream_clients() {
    let creds = Credentials { api_key: Some(KEY.into()), secret: Some(SECRET.into()), ed25519: None };
    let mut cfg = SimConfig::new("127.0.0.1:0".parse().unwrap(), creds);
    cfg.ping_every = Duration::from_millis(100);
    let sim = Simulator::start(cfg).unwrap();
    let mut s = ws(sim.addr(), "/ws");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no ping");
        if let Message::Ping(_) = s.read().unwrap() {
            break;
        }
    }
}

#[test]
fn faults_rate_limit_drop_duplicate_and_expiry() {
    let sim = start(false, None, None);
    let mut c = Client::new(sim.addr());
    let (st, b) = c.fault("rate-limit%3D429%3A1%3A3");
    assert_eq!((st, b), (200, json!({})));
    let (st, h, b) = exchange(&mut c.s, "GET", "/api/v3/ping", &[], "").unwrap();
    assert_eq!((st, b["code"].as_i64()), (429, Some(-1003)));
    assert!(h.iter().any(|(k, v)| k == "retry-after" && v == "3"));
    assert_eq!(c.public("/api/v3/ping").0, 200);
    c.fault("rate-limit=418:1:9");
    let (st, h, b) = exchange(&mut c.s, "GET", "/api/v3/time", &[], "").unwrap();
    assert!(
        st == 418
            && b["msg"].as_str().unwrap().starts_with("Way too much request weight used; IP banned until")
    );
    assert!(h.iter().any(|(k, v)| k == "retry-after" && v == "9"));
    assert_eq!(c.fault("bogus").1["code"], -1100);

    // A listenKey stream sees reports twice under duplicate-reports, then listenKeyExpired.
    let (_, _, lk) =
        exchange(&mut c.s, "POST", "/api/v3/userDataStream", &[("X-MBX-APIKEY", KEY)], "").unwrap();
    let key = lk["listenKey"].as_str().unwrap().to_owned();
    let mut stream = ws(sim.addr(), &format!("/ws/{key}"));
    c.fault("duplicate-reports=1");
    let (_, o) = c.signed(
        "POST",
        "/api/v3/order",
        "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=2900",
    );
    let id = o["orderId"].clone();
    let a = next_json(&mut stream);
    let b = next_json(&mut stream);
    assert_eq!(
        (a["e"].as_str(), a["i"].clone(), a["x"].as_str()),
        (Some("executionReport"), id, Some("NEW"))
    );
    assert_eq!(a, b);
    assert_eq!(next_json(&mut stream)["e"], "outboundAccountPosition");
    c.fault("expire-user-stream");
    let f = next_json(&mut stream);
    assert_eq!(
        (f["e"].as_str(), f["listenKey"].as_str(), f["E"].is_i64()),
        (Some("listenKeyExpired"), Some(key.as_str()), true)
    );
    let (_, _, b) = exchange(
        &mut c.s,
        "PUT",
        &format!("/api/v3/userDataStream?listenKey={key}"),
        &[("X-MBX-APIKEY", KEY)],
        "",
    )
    .unwrap();
    assert_eq!(b["code"], -1125);

    // A deposit reaches the user streams as balanceUpdate (a fresh key: the old one expired).
    let (_, _, lk) =
        exchange(&mut c.s, "POST", "/api/v3/userDataStream", &[("X-MBX-APIKEY", KEY)], "").unwrap();
    let mut stream = ws(sim.addr(), &format!("/stream?streams={}", lk["listenKey"].as_str().unwrap()));
    let (st, _, b) = exchange(&mut c.s, "POST", "/sim/transfer?asset=USDT&amount=-12.5", &[], "").unwrap();
    assert_eq!((st, b["asset"].as_str()), (200, Some("USDT")), "{b}");
    let f = next_json(&mut stream);
    assert_eq!(f["stream"], lk["listenKey"]);
    let d = &f["data"];
    assert_eq!(
        (d["e"].as_str(), d["a"].as_str(), d["d"].as_str(), d["E"].is_i64(), d["T"].is_i64()),
        (Some("balanceUpdate"), Some("USDT"), Some("-12.50000000"), true, true)
    );
    assert_eq!(next_json(&mut stream)["data"]["e"], "outboundAccountPosition");
    let (st, _, b) =
        exchange(&mut c.s, "POST", "/sim/transfer?asset=USDT&amount=-1000000000", &[], "").unwrap();
    assert_eq!((st, b["code"].as_i64()), (400, Some(-2010)));

    // drop-mid-fill: the order fills, the socket closes with no answer; the fill is real.
    c.fault("drop-mid-fill");
    let (before, _) = sim.balance("ETH");
    let q = format!("symbol=ETHUSDT&side=BUY&type=MARKET&quantity=0.1&timestamp={}", now());
    let target = format!("/api/v3/order?{q}&signature={}", hmac_hex(SECRET, &q));
    assert!(exchange(&mut c.s, "POST", &target, &[("X-MBX-APIKEY", KEY)], "").is_none());
    assert_eq!(sim.balance("ETH").0 - before, 100_000_000);
}

#[test]
fn tls_handshake_with_the_generated_certificate() {
    use rustls::pki_types::pem::PemObject;
    let dir = tempfile::tempdir().unwrap();
    let sim = start(true, None, Some(dir.path()));
    let cert_path = sim.cert_path().unwrap().to_owned();
    assert!(cert_path.starts_with(dir.path()));
    let banner: Value = serde_json::from_str(&sim.banner()).unwrap();
    assert_eq!((banner["tls"].as_bool(), banner["cert"].as_str()), (Some(true), cert_path.to_str()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(&cert_path).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(&config), name.clone()).unwrap();
    let tcp = TcpStream::connect(sim.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let (st, _, b) = exchange(&mut tls, "GET", "/api/v3/ping", &[], "").unwrap();
    assert_eq!((st, b), (200, json!({})));
    let (st, _, b) = exchange(&mut tls, "GET", "/api/v3/time", &[], "").unwrap();
    assert!(st == 200 && b["serverTime"].is_i64(), "keep-alive over TLS");

    // wss on the same port.
    let conn = rustls::ClientConnection::new(Arc::clone(&config), name).unwrap();
    let tcp = TcpStream::connect(sim.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (mut w, _) = tungstenite::client(
        format!("wss://127.0.0.1:{}/ws", sim.addr().port()),
        rustls::StreamOwned::new(conn, tcp),
    )
    .unwrap();
    w.send(Message::text(r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#)).unwrap();
    loop {
        if let Message::Text(t) = w.read().unwrap() {
            assert_eq!(serde_json::from_str::<Value>(t.as_str()).unwrap(), json!({"result": null, "id": 1}));
            break;
        }
    }
}
