//! HTTP over the gateway thread, against loopback servers: keep-alive with several requests and a
//! chunked body on one connection, a server dropping mid-response, a malformed status line, and a
//! 429 `Retry-After` that holds requests until the pause ends.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kestrel_gateway::{
    Connectivity, Dispatch, Endpoint, GatewayConfig, GatewayError, HttpRequest, Input, Layer,
};
use support::*;

/// Sends requests tagged `tags` on connection 0 each time it opens.
fn send_on_open(
    tags: &'static [u64],
) -> impl FnMut(&Input<'_>, &mut kestrel_gateway::Context<'_>, &mut Vec<Seen>) -> Result<(), GatewayError> + Send
{
    move |input, cx, _| {
        match input {
            Input::Started => cx.wire.open(conn(0))?,
            Input::Opened(c) => {
                for &tag in tags {
                    let target = format!("/q/{tag}");
                    let req = HttpRequest { headers: &[("X-Test", "yes")], ..HttpRequest::get(&target, tag) };
                    assert_eq!(cx.wire.http(*c, &req)?, Dispatch::Queued);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[test]
fn keep_alive_serves_several_requests_and_a_chunked_body_on_one_connection() {
    let (listener, addr) = listener();
    let connections = Arc::new(AtomicUsize::new(0));
    let heads = Arc::new(Mutex::new(Vec::new()));
    {
        let (connections, heads) = (Arc::clone(&connections), Arc::clone(&heads));
        std::thread::spawn(move || {
            let sock = accept(&listener);
            connections.fetch_add(1, Ordering::SeqCst);
            let (mut r, mut w) = split(sock);
            let answers = [
                ok("one"),
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n2;x=y\r\n!!\r\n0\r\n\r\n"
                    .to_owned(),
                "HTTP/1.1 201 Created\r\nX-MBX-USED-WEIGHT-1M: 42\r\nContent-Length: 5\r\n\r\nthree"
                    .to_owned(),
            ];
            for answer in answers {
                let Some(req) = read_request(&mut r) else { return };
                heads.lock().unwrap().push(req.head);
                // Written in two pieces, so the client must reassemble the response.
                let (a, b) = answer.as_bytes().split_at(answer.len() / 2);
                send(&mut w, a);
                std::thread::sleep(Duration::from_millis(5));
                send(&mut w, b);
            }
            // Stay open: another connection would show keep-alive was not used.
            connections.fetch_add(usize::from(listener.accept().is_ok()), Ordering::SeqCst);
        });
    }
    let venue = TestVenue::new(
        vec![Endpoint::http("rest", "127.0.0.1", addr.port(), false)],
        send_on_open(&[1, 2, 3]),
    );
    let gw = Running::start(venue, test_config());
    gw.wait_for("three responses", |s| count(s, |x| matches!(x, Seen::Http { .. })) == 3);
    let seen = gw.seen();
    let responses: Vec<_> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Http { tag, status, body, .. } => {
                Some((*tag, *status, String::from_utf8(body.clone()).unwrap()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(responses, [(1, 200, "one".into()), (2, 200, "two!!".into()), (3, 201, "three".into())]);
    let weight = seen.iter().find_map(|s| match s {
        Seen::Http { tag: 3, headers, .. } => headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-mbx-used-weight-1m"))
            .map(|(_, v)| v.clone()),
        _ => None,
    });
    assert_eq!(weight.as_deref(), Some(&b"42"[..]));
    assert_eq!(count(&seen, |s| matches!(s, Seen::Opened(0))), 1);
    assert_eq!(connections.load(Ordering::SeqCst), 1, "all three on one kept-alive connection");
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3);
    for (head, tag) in heads.iter().zip(1..) {
        assert!(head.starts_with(&format!("GET /q/{tag} HTTP/1.1\r\n")), "{head}");
        assert!(head.contains(&format!("Host: 127.0.0.1:{}\r\n", addr.port())), "{head}");
        assert!(head.contains("X-Test: yes\r\n"), "{head}");
    }
    drop(gw.stop());
}

#[test]
fn a_drop_mid_response_fails_the_request_and_reconnects_after_backoff() {
    let (listener, addr) = listener();
    std::thread::spawn(move || {
        let (mut r, mut w) = split(accept(&listener));
        if read_request(&mut r).is_some() {
            send(&mut w, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
        }
        drop((r, w));
        let (mut r, mut w) = split(accept(&listener));
        while let Some(req) = read_request(&mut r) {
            send(&mut w, ok(req.target()).as_bytes());
        }
    });
    let opens = Arc::new(AtomicUsize::new(0));
    let venue =
        TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", addr.port(), false)], move |input, cx, _| {
            match input {
                Input::Started => cx.wire.open(conn(0))?,
                Input::Opened(c) => {
                    let n = opens.fetch_add(1, Ordering::SeqCst) as u64 + 1;
                    let target = format!("/attempt/{n}");
                    cx.wire.http(*c, &HttpRequest::get(&target, n))?;
                }
                _ => {}
            }
            Ok(())
        });
    let gw = Running::start(venue, test_config());
    gw.wait_for("the answer on the second connection", |s| {
        s.iter().any(|x| matches!(x, Seen::Http { tag: 2, .. }))
    });
    let log = gw.log.lock().unwrap().clone();
    let events: Vec<_> = log.iter().map(|(_, s)| s.clone()).filter(|s| !matches!(s, Seen::Started)).collect();
    let dropped = GatewayError::Connectivity { conn: conn(0), reason: Connectivity::PeerClosedMidMessage };
    assert_eq!(
        events[..4],
        [
            Seen::Opened(0),
            Seen::HttpFailed { conn: 0, tag: 1, sent: true },
            Seen::Closed(0, Some(dropped.clone())),
            Seen::Opened(0),
        ]
    );
    assert!(matches!(&events[4], Seen::Http { tag: 2, status: 200, body, .. } if body == b"/attempt/2"));
    // The reconnect waited at least half the initial backoff (equal jitter: [100, 200] ms).
    let at = |want: &Seen| log.iter().find(|(_, s)| s == want).map(|(t, _)| t.nanos()).unwrap();
    let closed = at(&Seen::Closed(0, Some(dropped)));
    let reopened = log.iter().filter(|(_, s)| *s == Seen::Opened(0)).nth(1).unwrap().0.nanos();
    assert!(reopened - closed >= 100_000_000, "reconnected after {} ns", reopened - closed);
    let diagnostics = gw.diagnostics();
    assert!(
        diagnostics.iter().any(|d| d.contains("connection 0 reconnecting in") && d.contains("(attempt 1)")),
        "{diagnostics:#?}"
    );
    assert!(diagnostics.iter().any(|d| d.contains("closed by the peer in the middle of a message")));
    drop(gw.stop());
}

#[test]
fn a_malformed_status_line_closes_and_reconnects_without_panicking() {
    let (listener, addr) = listener();
    std::thread::spawn(move || {
        let (mut r, mut w) = split(accept(&listener));
        if read_request(&mut r).is_some() {
            send(&mut w, b"HTTX/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nhi");
        }
        drain(&mut r);
        let (mut r, mut w) = split(accept(&listener));
        while let Some(req) = read_request(&mut r) {
            send(&mut w, ok(req.target()).as_bytes());
        }
    });
    let venue =
        TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", addr.port(), false)], send_on_open(&[5]));
    let gw = Running::start(venue, test_config());
    gw.wait_for("a good answer after the reconnect", |s| {
        s.iter().any(|x| matches!(x, Seen::Http { tag: 5, status: 200, .. }))
    });
    let seen = gw.seen();
    let closed = seen.iter().find_map(|s| if let Seen::Closed(0, e) = s { e.clone() } else { None });
    assert!(
        matches!(&closed, Some(GatewayError::Malformed { conn: c, layer: Layer::Http, reason }) if *c == conn(0) && reason.starts_with("bad response head")),
        "{closed:?}"
    );
    assert_eq!(count(&seen, |s| matches!(s, Seen::Opened(0))), 2);
    assert!(seen.contains(&Seen::HttpFailed { conn: 0, tag: 5, sent: true }));
    let gw = gw.stop();
    assert!(!format!("{gw:?}").is_empty());
}

#[test]
fn a_429_with_retry_after_holds_requests_until_the_pause_ends_and_refuses_past_the_hold_queue() {
    let (listener, addr) = listener();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    {
        let arrivals = Arc::clone(&arrivals);
        std::thread::spawn(move || {
            let (mut r, mut w) = split(accept(&listener));
            while let Some(req) = read_request(&mut r) {
                let target = req.target().to_owned();
                arrivals.lock().unwrap().push((target.clone(), Instant::now()));
                if target == "/q/1" {
                    send(
                        &mut w,
                        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
                    );
                } else {
                    send(&mut w, ok(&target).as_bytes());
                }
                w.flush().unwrap();
            }
        });
    }
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let venue = {
        let outcomes = Arc::clone(&outcomes);
        TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", addr.port(), false)], move |input, cx, _| {
            match input {
                Input::Started => cx.wire.open(conn(0))?,
                Input::Opened(c) => {
                    cx.wire.http(*c, &HttpRequest::get("/q/1", 1))?;
                }
                Input::Http { conn: c, response } if response.status() == 429 => {
                    let mut out = outcomes.lock().unwrap();
                    out.push(cx.wire.limits().paused(cx.now).is_some());
                    for tag in [2, 3] {
                        let target = format!("/q/{tag}");
                        out.push(cx.wire.http(*c, &HttpRequest::get(&target, tag)) == Ok(Dispatch::Held));
                    }
                }
                _ => {}
            }
            Ok(())
        })
    };
    let config = GatewayConfig { hold_capacity: 1, ..test_config() };
    let gw = Running::start(venue, config);
    gw.wait_for("the held request's answer", |s| s.iter().any(|x| matches!(x, Seen::Http { tag: 2, .. })));
    // The pause started when the 429 arrived; the held request went out a second later, the
    // refused one never.
    assert_eq!(*outcomes.lock().unwrap(), [true, true, false]);
    let arrivals = arrivals.lock().unwrap().clone();
    let targets: Vec<_> = arrivals.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(targets, ["/q/1", "/q/2"]);
    let waited = arrivals[1].1 - arrivals[0].1;
    assert!(waited >= Duration::from_millis(900), "held only {waited:?}");
    assert!(waited < Duration::from_secs(5), "held {waited:?}");
    let diagnostics = gw.diagnostics();
    assert!(diagnostics.iter().any(|d| d.contains("HTTP 429: requests held until")), "{diagnostics:#?}");
    drop(gw.stop());
}

#[test]
fn the_hold_queue_full_refusal_is_typed() {
    // The refusal path of the test above, as the venue receives it.
    let (listener, addr) = listener();
    std::thread::spawn(move || {
        let (mut r, mut w) = split(accept(&listener));
        while read_request(&mut r).is_some() {
            send(&mut w, b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let refusals = Arc::new(Mutex::new(Vec::new()));
    let venue = {
        let refusals = Arc::clone(&refusals);
        TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", addr.port(), false)], move |input, cx, _| {
            match input {
                Input::Started => cx.wire.open(conn(0))?,
                Input::Opened(c) => {
                    cx.wire.http(*c, &HttpRequest::get("/ban", 1))?;
                }
                Input::Http { conn: c, .. } => {
                    let _ = cx.wire.http(*c, &HttpRequest::get("/held", 2));
                    refusals.lock().unwrap().push(cx.wire.http(*c, &HttpRequest::get("/refused", 3)));
                }
                _ => {}
            }
            Ok(())
        })
    };
    let config = GatewayConfig { hold_capacity: 1, ..test_config() };
    let gw = Running::start(venue, config);
    gw.wait_for("the 418", |s| s.iter().any(|x| matches!(x, Seen::Http { tag: 1, status: 418, .. })));
    std::thread::sleep(Duration::from_millis(20));
    let refusals = refusals.lock().unwrap().clone();
    assert_eq!(refusals, [Err(GatewayError::HoldQueueFull { conn: conn(0), tag: 3, held: 1 })]);
    assert!(refusals[0].as_ref().unwrap_err().to_string().contains("request 3 refused"));
    drop(gw.stop());
}

#[test]
fn a_refused_connect_is_retried_on_the_backoff_schedule() {
    // A port nobody listens on: bind, note it, close.
    let port = listener().1.port();
    let venue = TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", port, false)], |input, cx, _| {
        if let Input::Started = input {
            cx.wire.open(conn(0))?;
        }
        Ok(())
    });
    let config = GatewayConfig {
        backoff: kestrel_gateway::BackoffPolicy {
            initial: kestrel_types::TimeSpan::from_nanos(20_000_000),
            max: kestrel_types::TimeSpan::from_nanos(80_000_000),
            seed: 5,
        },
        ..test_config()
    };
    let started = Instant::now();
    let gw = Running::start(venue, config);
    let attempts =
        |gw: &Running| gw.diagnostics().iter().filter(|d| d.contains("reconnecting in")).count() / 2;
    while attempts(&gw) < 5 && started.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    let diagnostics = gw.diagnostics();
    assert!(attempts(&gw) >= 5, "{diagnostics:#?}");
    // Waits of at least 10 + 20 + 40 + 40 ms (half of each capped base) came before the fifth.
    assert!(elapsed >= Duration::from_millis(110), "five attempts in {elapsed:?}: no backoff");
    assert!(diagnostics.iter().any(|d| d.contains("connect failed: ConnectionRefused")), "{diagnostics:#?}");
    for n in 1..=5 {
        assert!(
            diagnostics.iter().any(|d| d.contains(&format!("(attempt {n})"))),
            "attempt {n}: {diagnostics:#?}"
        );
    }
    assert_eq!(count(&gw.seen(), |s| matches!(s, Seen::Opened(_) | Seen::Closed(..))), 0);
    drop(gw.stop());
}

#[test]
fn usage_the_venue_reads_from_headers_holds_requests_until_the_window_rolls() {
    let (listener, addr) = listener();
    std::thread::spawn(move || {
        let (mut r, mut w) = split(accept(&listener));
        while let Some(req) = read_request(&mut r) {
            let body = req.target().to_owned();
            let answer = format!(
                "HTTP/1.1 200 OK\r\nX-Used-Weight-1S: 10\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            send(&mut w, answer.as_bytes());
        }
    });
    let dispatches = Arc::new(Mutex::new(Vec::new()));
    let mut venue = {
        let dispatches = Arc::clone(&dispatches);
        TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", addr.port(), false)], move |input, cx, _| {
            match input {
                Input::Started => cx.wire.open(conn(0))?,
                Input::Opened(c) => {
                    cx.wire.http(*c, &HttpRequest::get("/first", 1))?;
                }
                Input::Http { conn: c, response } if response.tag() == 1 => {
                    // What a venue crate does with e.g. X-MBX-USED-WEIGHT-1M: the server's count wins.
                    let used = response.header("x-used-weight-1s").and_then(|v| v.parse().ok()).unwrap_or(0);
                    assert!(cx.wire.limits_mut().observe_used(0, used, cx.now));
                    dispatches.lock().unwrap().push(cx.wire.http(*c, &HttpRequest::get("/second", 2))?);
                }
                _ => {}
            }
            Ok(())
        })
    };
    venue.budgets = vec![kestrel_gateway::Budget {
        kind: kestrel_gateway::BudgetKind::Weight,
        limit: 10,
        interval: kestrel_types::TimeSpan::from_nanos(1_000_000_000),
    }];
    let gw = Running::start(venue, test_config());
    gw.wait_for("the second answer", |s| s.iter().any(|x| matches!(x, Seen::Http { tag: 2, .. })));
    assert_eq!(*dispatches.lock().unwrap(), [Dispatch::Held]);
    let log = gw.log.lock().unwrap().clone();
    let when = |tag: u64| {
        log.iter()
            .find(|(_, s)| matches!(s, Seen::Http { tag: t, .. } if *t == tag))
            .map(|(t, _)| t.nanos())
            .unwrap()
    };
    let second = 1_000_000_000_i64;
    assert!(when(2) / second > when(1) / second, "sent in the same one-second window as the spent budget");
    assert!(when(2) - when(1) < 2 * second);
    drop(gw.stop());
}
