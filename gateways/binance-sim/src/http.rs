//! HTTP/1.1 on a blocking stream, hand-written over `httparse`.
//!
//! Why not a server framework: this is a loopback test venue, not the hot path; a thread per
//! connection with blocking reads is simple to reason about, keeps the WebSocket upgrade on the
//! same port trivial (the stream is handed to tungstenite as is), and adds no async runtime.

use std::io::{self, Read, Write};

use serde_json::Value;

/// Read timeouts in a row after which a half-received request is abandoned (with the server's
/// 20 ms read timeout: about 12 s).
const STALL_READS: u32 = 600;

/// Largest head or body accepted (a test venue's requests are small).
const MAX_REQUEST: usize = 1 << 20;

/// A parsed request.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The raw query string (still percent-encoded), without `?`.
    pub query: String,
    /// Header names lower-cased, values as sent.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether this asks for a WebSocket upgrade.
    pub fn is_upgrade(&self) -> bool {
        self.header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    }

    /// The body as form text when it is one (form content type, or none given); empty otherwise.
    pub fn form_body(&self) -> String {
        let ct = self.header("content-type").unwrap_or("");
        if self.body.is_empty() || (!ct.is_empty() && !ct.contains("x-www-form-urlencoded")) {
            return String::new();
        }
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What reading a request gave.
#[derive(Debug)]
pub enum ReadOutcome {
    /// A whole request.
    Request(Request),
    /// The peer closed between requests.
    Closed,
    /// Nothing arrived before the read timeout (the caller decides whether to wait on).
    Idle,
}

/// Reads one request; `buf` keeps bytes that belong to the next one (pipelining).
///
/// # Errors
/// I/O errors, and `InvalidData` for a malformed or oversized request.
pub fn read_request(s: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<ReadOutcome> {
    let mut chunk = [0u8; 8192];
    let mut stalls = 0u32;
    loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let target = req.path.unwrap_or("/");
                    let (path, query) = target.split_once('?').unwrap_or((target, ""));
                    let mut r = Request {
                        method: req.method.unwrap_or("").to_owned(),
                        path: path.to_owned(),
                        query: query.to_owned(),
                        headers: req
                            .headers
                            .iter()
                            .map(|h| {
                                (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned())
                            })
                            .collect(),
                        body: Vec::new(),
                    };
                    let len: usize = match r.header("content-length") {
                        Some(v) => v.trim().parse().map_err(|_| invalid("bad Content-Length"))?,
                        None => 0,
                    };
                    if len > MAX_REQUEST {
                        return Err(invalid("body too large"));
                    }
                    while buf.len() < n + len {
                        let k = read_some(s, &mut chunk)?;
                        if k == 0 {
                            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body cut short"));
                        }
                        buf.extend_from_slice(&chunk[..k]);
                    }
                    r.body = buf[n..n + len].to_vec();
                    buf.drain(..n + len);
                    return Ok(ReadOutcome::Request(r));
                }
                Ok(httparse::Status::Partial) if buf.len() > MAX_REQUEST => {
                    return Err(invalid("head too large"));
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(invalid(&e.to_string())),
            }
        }
        match s.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Ok(ReadOutcome::Closed),
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "request cut short")),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) if is_timeout(&e) && buf.is_empty() => return Ok(ReadOutcome::Idle),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                // A head that stops arriving half-way: give up after as long as a stalled body.
                stalls += 1;
                if stalls > STALL_READS {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "request stalled"));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A read that waits through timeouts (mid-request the rest is coming).
fn read_some(s: &mut impl Read, chunk: &mut [u8]) -> io::Result<usize> {
    for _ in 0..STALL_READS {
        match s.read(chunk) {
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
    Err(io::Error::new(io::ErrorKind::TimedOut, "request stalled"))
}

/// Whether an error is a read timeout (`WouldBlock` on Unix, `TimedOut` elsewhere).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// An answer.
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
    /// `x-mbx-used-weight(-1m)`.
    pub weight: u64,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        _ => "Error",
    }
}

/// Writes `r` with `Content-Type: application/json` and a correct `Content-Length`.
///
/// # Errors
/// I/O errors.
pub fn write_response(s: &mut impl Write, r: &Response, close: bool) -> io::Result<()> {
    let body = r.body.to_string();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nx-mbx-used-weight: {}\r\nx-mbx-used-weight-1m: {}\r\n",
        r.status,
        reason(r.status),
        body.len(),
        r.weight,
        r.weight
    );
    if let Some(secs) = r.retry_after {
        head.push_str(&format!("Retry-After: {secs}\r\n"));
    }
    head.push_str(if close { "Connection: close\r\n\r\n" } else { "Connection: keep-alive\r\n\r\n" });
    s.write_all(head.as_bytes())?;
    s.write_all(body.as_bytes())?;
    s.flush()
}
