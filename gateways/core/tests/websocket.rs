//! WebSocket over the gateway thread, against tungstenite servers on loopback: echo of text and
//! binary messages with a server ping answered, over plain TCP and over TLS; a garbage frame closes
//! and reconnects; TLS to a server whose certificate is not trusted fails as connectivity.

mod support;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use kestrel_gateway::{Endpoint, GatewayConfig, GatewayError, Input, Layer};
use support::*;
use tungstenite::Message;

type Pongs = Arc<Mutex<Vec<Vec<u8>>>>;

/// Accepts the upgrade, pings, then echoes until the client closes; records pong payloads.
fn echo<S: Read + Write>(stream: S, pongs: &Pongs) {
    let mut ws = tungstenite::accept(stream).unwrap();
    ws.send(Message::Ping(b"heartbeat".to_vec().into())).unwrap();
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => ws.send(Message::Text(format!("echo:{t}").into())).unwrap(),
            Ok(Message::Binary(b)) => ws.send(Message::Binary(b)).unwrap(),
            Ok(Message::Pong(p)) => pongs.lock().unwrap().push(p.to_vec()),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// A venue that opens connection 0 and sends a text and a binary message each time it opens.
fn chatty()
-> impl FnMut(&Input<'_>, &mut kestrel_gateway::Context<'_>, &mut Vec<Seen>) -> Result<(), GatewayError> + Send
{
    |input, cx, _| {
        match input {
            Input::Started => cx.wire.open(conn(0))?,
            Input::Opened(c) => {
                cx.wire.send_text(*c, "hello")?;
                cx.wire.send_binary(*c, &[1, 2, 3])?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn check_echo(gw: &Running, pongs: &Pongs) {
    gw.wait_for("both echoes", |s| {
        s.contains(&Seen::WsText(0, "echo:hello".into())) && s.contains(&Seen::WsBinary(0, vec![1, 2, 3]))
    });
    let start = std::time::Instant::now();
    while pongs.lock().unwrap().is_empty() && start.elapsed() < DEADLINE {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(*pongs.lock().unwrap(), [b"heartbeat".to_vec()], "the server's ping was answered");
    assert_eq!(count(&gw.seen(), |s| matches!(s, Seen::Opened(0))), 1);
    assert_eq!(count(&gw.seen(), |s| matches!(s, Seen::Closed(..))), 0);
}

#[test]
fn echo_and_ping_over_plain_tcp() {
    let (listener, addr) = listener();
    let pongs = Pongs::default();
    {
        let pongs = Arc::clone(&pongs);
        std::thread::spawn(move || echo(accept(&listener), &pongs));
    }
    let venue = TestVenue::new(
        vec![Endpoint::websocket("market", "127.0.0.1", addr.port(), false, "/ws?x=1")],
        chatty(),
    );
    let gw = Running::start(venue, test_config());
    check_echo(&gw, &pongs);
    drop(gw.stop());
}

#[test]
fn echo_and_ping_over_tls() {
    let (listener, addr) = listener();
    let (server, ca) = tls_server();
    let pongs = Pongs::default();
    {
        let pongs = Arc::clone(&pongs);
        std::thread::spawn(move || echo(tls_accept(&server, accept(&listener)), &pongs));
    }
    let venue =
        TestVenue::new(vec![Endpoint::websocket("market", "127.0.0.1", addr.port(), true, "/ws")], chatty());
    let gw = Running::start(venue, GatewayConfig { extra_ca_pem: Some(ca), ..test_config() });
    check_echo(&gw, &pongs);
    drop(gw.stop());
}

#[test]
fn https_request_over_tls() {
    let (listener, addr) = listener();
    let (server, ca) = tls_server();
    std::thread::spawn(move || {
        let mut r = std::io::BufReader::new(tls_accept(&server, accept(&listener)));
        while let Some(req) = read_request(&mut r) {
            send(r.get_mut(), ok(&format!("secure {}", req.target())).as_bytes());
        }
    });
    let venue =
        TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", addr.port(), true)], |input, cx, _| {
            match input {
                Input::Started => cx.wire.open(conn(0))?,
                Input::Opened(c) => {
                    cx.wire.http(*c, &kestrel_gateway::HttpRequest::get("/time", 1))?;
                    cx.wire.http(*c, &kestrel_gateway::HttpRequest::get("/depth", 2))?;
                }
                _ => {}
            }
            Ok(())
        });
    let gw = Running::start(venue, GatewayConfig { extra_ca_pem: Some(ca), ..test_config() });
    gw.wait_for("two answers", |s| count(s, |x| matches!(x, Seen::Http { .. })) == 2);
    let bodies: Vec<_> = gw
        .seen()
        .into_iter()
        .filter_map(|s| if let Seen::Http { body, .. } = s { Some(body) } else { None })
        .collect();
    assert_eq!(bodies, [b"secure /time".to_vec(), b"secure /depth".to_vec()]);
    drop(gw.stop());
}

#[test]
fn an_untrusted_certificate_is_a_connectivity_failure_and_is_retried() {
    let (listener, addr) = listener();
    let (server, _ca) = tls_server();
    std::thread::spawn(move || {
        for _ in 0..2 {
            let mut s = tls_accept(&server, accept(&listener));
            let _ = s.flush();
            drain(&mut s);
        }
    });
    let venue =
        TestVenue::new(vec![Endpoint::websocket("market", "127.0.0.1", addr.port(), true, "/")], chatty());
    // Public roots only: the self-signed certificate is refused.
    let gw = Running::start(venue, test_config());
    let start = std::time::Instant::now();
    while start.elapsed() < DEADLINE {
        if gw.diagnostics().iter().filter(|d| d.contains("connection 0 connecting")).count() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let diagnostics = gw.diagnostics();
    assert!(diagnostics.iter().any(|d| d.contains("TLS: invalid peer certificate")), "{diagnostics:#?}");
    assert!(diagnostics.iter().filter(|d| d.contains("connection 0 connecting")).count() >= 2, "retried");
    assert_eq!(count(&gw.seen(), |s| matches!(s, Seen::Opened(_))), 0, "never opened, so never announced");
    drop(gw.stop());
}

#[test]
fn a_garbage_frame_closes_and_reconnects() {
    let (listener, addr) = listener();
    std::thread::spawn(move || {
        let mut ws = tungstenite::accept(accept(&listener)).unwrap();
        // FIN with all three reserved bits set: no extension was negotiated, so this is not WebSocket.
        ws.get_mut().write_all(&[0xff, 0x00]).unwrap();
        drain(ws.get_mut());
        let mut ws = tungstenite::accept(accept(&listener)).unwrap();
        ws.send(Message::Text("fine now".into())).unwrap();
        while ws.read().is_ok() {}
    });
    let venue = TestVenue::new(
        vec![Endpoint::websocket("market", "127.0.0.1", addr.port(), false, "/")],
        |input, cx, _| {
            if let Input::Started = input {
                cx.wire.open(conn(0))?;
            }
            Ok(())
        },
    );
    let gw = Running::start(venue, test_config());
    gw.wait_for("the message on the second connection", |s| s.contains(&Seen::WsText(0, "fine now".into())));
    let seen = gw.seen();
    let closed = seen.iter().find_map(|s| if let Seen::Closed(0, e) = s { e.clone() } else { None });
    assert!(matches!(&closed, Some(GatewayError::Malformed { layer: Layer::WebSocket, .. })), "{closed:?}");
    assert_eq!(count(&seen, |s| matches!(s, Seen::Opened(0))), 2);
    drop(gw.stop());
}

#[test]
fn a_server_close_is_answered_and_reconnected_and_a_venue_close_is_final() {
    let (listener, addr) = listener();
    let replies = Arc::new(Mutex::new(Vec::new()));
    {
        let replies = Arc::clone(&replies);
        std::thread::spawn(move || {
            // First connection: the server closes; the client must answer with a close frame.
            let mut ws = tungstenite::accept(accept(&listener)).unwrap();
            ws.close(None).unwrap();
            loop {
                match ws.read() {
                    Ok(Message::Close(_)) => replies.lock().unwrap().push("close answered"),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            // Second connection: the client (the venue) closes.
            let mut ws = tungstenite::accept(accept(&listener)).unwrap();
            ws.send(Message::Text("bye".into())).unwrap();
            loop {
                match ws.read() {
                    Ok(Message::Close(_)) => replies.lock().unwrap().push("client closed"),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
    }
    let venue = TestVenue::new(
        vec![Endpoint::websocket("market", "127.0.0.1", addr.port(), false, "/")],
        |input, cx, _| {
            match input {
                Input::Started => cx.wire.open(conn(0))?,
                Input::Ws { conn: c, .. } => cx.wire.close(*c)?,
                _ => {}
            }
            Ok(())
        },
    );
    let gw = Running::start(venue, test_config());
    gw.wait_for("the venue's close", |s| s.contains(&Seen::Closed(0, None)));
    let start = std::time::Instant::now();
    while replies.lock().unwrap().len() < 2 && start.elapsed() < DEADLINE {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(*replies.lock().unwrap(), ["close answered", "client closed"]);
    let peer_closed =
        GatewayError::Connectivity { conn: conn(0), reason: kestrel_gateway::Connectivity::PeerClosed };
    let seen: Vec<_> = gw.seen().into_iter().filter(|s| *s != Seen::Started).collect();
    assert_eq!(
        seen,
        [
            Seen::Opened(0),
            Seen::Closed(0, Some(peer_closed)),
            Seen::Opened(0),
            Seen::WsText(0, "bye".into()),
            Seen::Closed(0, None),
        ]
    );
    // Closed by the venue: not reconnected.
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(count(&gw.seen(), |s| matches!(s, Seen::Opened(_))), 2);
    drop(gw.stop());
}
