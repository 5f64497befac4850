//! Secrets never reach the gateway's output: a venue sends its API key and a signature made with
//! its secret on the wire, the server echoes them back inside malformed and refused answers, and
//! nothing the gateway reports (diagnostics in Display and Debug form, the errors the venue is
//! handed, the thread's and the venue's `Debug`) contains either.

mod support;

use std::sync::{Arc, Mutex};

use kestrel_gateway::{Endpoint, GatewayError, HttpRequest, Input, Secrets};
use support::*;

const KEY: &str = "KEY-4f1c9a-very-identifiable";
const SECRET: &str = "SECRET-77d2e0/with+symbols=";

#[test]
fn no_output_contains_a_secret() {
    let (listener, addr) = listener();
    let received = Arc::new(Mutex::new(Vec::new()));
    {
        let received = Arc::clone(&received);
        std::thread::spawn(move || {
            // First connection: a malformed head that echoes the key and the secret.
            let (mut r, mut w) = split(accept(&listener));
            if let Some(req) = read_request(&mut r) {
                received.lock().unwrap().push(format!("{}{}", req.head, String::from_utf8_lossy(&req.body)));
                let echo = format!("HTTP/1.1 2OO {KEY}\r\nX-Echo: {SECRET}\r\nContent-Length: 0\r\n\r\n");
                send(&mut w, echo.as_bytes());
            }
            drain(&mut r);
            // Second connection: a well-formed refusal whose body echoes them.
            let (mut r, mut w) = split(accept(&listener));
            while let Some(req) = read_request(&mut r) {
                received.lock().unwrap().push(format!("{}{}", req.head, String::from_utf8_lossy(&req.body)));
                let body = format!("{{\"code\":-2015,\"msg\":\"Invalid API-key {KEY} {SECRET}\"}}");
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\nX-Echo: {KEY}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                send(&mut w, answer.as_bytes());
            }
        });
    }
    let secrets =
        Secrets::from_values([("api_key", KEY.to_owned()), ("api_secret", SECRET.to_owned())]).unwrap();
    let venue =
        TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", addr.port(), false)], move |input, cx, _| {
            match input {
                Input::Started => cx.wire.open(conn(0))?,
                Input::Opened(c) => {
                    let key =
                        secrets.get("api_key").map_err(|e| GatewayError::Config { reason: e.to_string() })?;
                    let secret = secrets
                        .get("api_secret")
                        .map_err(|e| GatewayError::Config { reason: e.to_string() })?;
                    // A stand-in signature: the test needs the secret's text on the wire, not HMAC.
                    let body = format!("symbol=X&signature={}", secret.expose());
                    let req = HttpRequest {
                        method: "POST",
                        headers: &[("X-MBX-APIKEY", key.expose())],
                        body: body.as_bytes(),
                        ..HttpRequest::get("/api/v3/order", 1)
                    };
                    cx.wire.http(*c, &req)?;
                    // Secrets print as `***` when a venue formats them by mistake.
                    return Err(GatewayError::Venue { reason: format!("debug: {secrets:?} {key}") });
                }
                Input::Http { response, .. } if response.status() == 401 => {
                    // The venue reports the refusal by status, and a typed error for its parse failure.
                    let _ = format!("{response:?}");
                    return Err(GatewayError::Venue {
                        reason: format!("refused with HTTP {}", response.status()),
                    });
                }
                _ => {}
            }
            Ok(())
        });
    let gw = Running::start(venue, test_config());
    gw.wait_for("the refusal on the second connection", |s| {
        s.iter().any(|x| matches!(x, Seen::Http { status: 401, .. }))
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    let seen = gw.seen();
    let diagnostics = gw.diagnostics();
    let gw = gw.stop();

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert!(r.contains(KEY) && r.contains(SECRET), "the credentials were on the wire: {r}");
    }
    assert!(
        seen.iter().any(|s| matches!(s, Seen::Closed(0, Some(GatewayError::Malformed { .. })))),
        "the malformed echo was refused: {seen:?}"
    );
    assert!(diagnostics.iter().any(|d| d.contains("refused by the venue: refused with HTTP 401")));
    assert!(diagnostics.iter().any(|d| {
        d.contains("Secrets { origin: Memory, entries: {\"api_key\": ***, \"api_secret\": ***} } ***")
    }));

    let errors: Vec<String> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Closed(_, Some(e)) => Some(format!("{e} {e:?}")),
            _ => None,
        })
        .collect();
    let mut outputs = diagnostics;
    outputs.extend(errors);
    outputs.push(format!("{gw:?}"));
    outputs.push(format!("{:?}", gw.venue().endpoints));
    assert!(outputs.len() > 6, "{outputs:#?}");
    for out in &outputs {
        for needle in [KEY, SECRET, "4f1c9a", "77d2e0"] {
            assert!(!out.contains(needle), "{needle} leaked in: {out}");
        }
    }
}
