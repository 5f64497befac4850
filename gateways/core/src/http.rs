//! The HTTP/1.1 client codec, sans-I/O: a request writer and an incremental response reader.
//!
//! httparse parses heads (and chunk-size lines); what it leaves to its caller is written here:
//! body framing (`Content-Length`, `chunked` with extensions and trailers, read-until-close),
//! interim `1xx` answers, keep-alive and size limits. No HTTP client crate fits a loop that owns its
//! sockets and buffers (they bring their own I/O and runtime), hence the hand-written framing.
//!
//! # Performance
//! The reader works on the connection's receive buffer in place: a head is parsed once, its header
//! positions are kept in a reused vector, a `Content-Length` body is handed to the venue as a slice
//! of the receive buffer (no copy), and a chunked body is decoded once into a reused buffer.
//!
//! # Limitations
//! One request at a time per connection (no pipelining); no `Expect: 100-continue` on the sending
//! side (an unsolicited `100 Continue` is skipped); no compression (the venue does not ask for it).

use std::io::Write as _;

use crate::rate_limit::Cost;

/// The most header lines a response may have.
const MAX_HEADERS: usize = 64;
/// The longest chunk-size line (with extensions) accepted.
const MAX_CHUNK_LINE: usize = 1024;

/// One HTTP request a venue asks the gateway to send (see [`crate::Wire::http`]).
#[derive(Clone, Copy, Debug)]
pub struct HttpRequest<'a> {
    /// `GET`, `POST`, `DELETE`, …
    pub method: &'a str,
    /// Path and query (`/api/v3/order?symbol=…`), already encoded.
    pub target: &'a str,
    /// Extra header lines; `Host` and `Content-Length` are written by the gateway.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body (may be empty).
    pub body: &'a [u8],
    /// The venue's tag, handed back with the response or the failure (e.g. the engine order id).
    pub tag: u64,
    /// What it costs against the venue's budgets.
    pub cost: Cost,
}

impl<'a> HttpRequest<'a> {
    /// A `GET` of `target` without headers, weight 1.
    pub const fn get(target: &'a str, tag: u64) -> Self {
        Self { method: "GET", target, headers: &[], body: &[], tag, cost: Cost::weight(1) }
    }
}

/// Writes `req` to `out` as an HTTP/1.1 request for `host`.
///
/// # Errors
/// A fixed reason when a method, target or header would break the request's framing (a space,
/// CR, LF or control character where it cannot be): header injection is refused, not escaped.
pub(crate) fn write_request(
    out: &mut Vec<u8>,
    host: &str,
    req: &HttpRequest<'_>,
) -> Result<(), &'static str> {
    if req.method.is_empty() || !req.method.bytes().all(is_token) {
        return Err("method is not an HTTP token");
    }
    if req.target.is_empty() || !req.target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("target is empty or has a space or control character");
    }
    for (name, value) in req.headers {
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err("a header name is not an HTTP token");
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err("a header value has CR, LF or NUL");
        }
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("host") {
            return Err("Host and Content-Length are written by the gateway");
        }
    }
    // Writes to a Vec cannot fail.
    let _ = write!(out, "{} {} HTTP/1.1\r\nHost: {host}\r\n", req.method, req.target);
    for (name, value) in req.headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    let needs_length = !req.body.is_empty() || matches!(req.method, "POST" | "PUT" | "PATCH");
    if needs_length {
        let _ = write!(out, "Content-Length: {}\r\n", req.body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(req.body);
    Ok(())
}

/// RFC 9110 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header's name and value as byte ranges of the receive buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeaderSpan {
    name: (usize, usize),
    value: (usize, usize),
}

/// A complete response as the venue sees it: borrowed from the connection's buffers, valid for
/// the call it is handed to.
#[derive(Clone, Copy)]
pub struct HttpResponse<'a> {
    status: u16,
    tag: u64,
    head: &'a [u8],
    spans: &'a [HeaderSpan],
    body: &'a [u8],
}

impl std::fmt::Debug for HttpResponse<'_> {
    /// Status, tag and sizes only: headers and body may carry account data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("tag", &self.tag)
            .field("headers", &self.spans.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl<'a> HttpResponse<'a> {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The tag of the request this answers.
    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// The body, de-chunked.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The first header named `name` (case-insensitive), as bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&'a [u8]> {
        self.headers().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// The first header named `name` (case-insensitive), if its value is UTF-8.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_bytes(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every header in order: name (a token, so ASCII) and value.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let head = self.head;
        self.spans.iter().filter_map(move |s| {
            let name = std::str::from_utf8(head.get(s.name.0..s.name.1)?).ok()?;
            Some((name, head.get(s.value.0..s.value.1)?))
        })
    }
}

/// Why a response could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not HTTP/1.x: the reason, never the bytes.
    #[error("{0}")]
    Malformed(String),
    /// The bytes ended before the response did.
    #[error("the response is incomplete")]
    Truncated,
}

/// A complete response parsed from bytes held in memory: for venue crates' tests, which feed a
/// captured answer to their handler exactly as the gateway would hand it over.
#[derive(Debug)]
pub struct RawResponse {
    buf: Vec<u8>,
    reader: ResponseReader,
}

impl RawResponse {
    /// Parses one whole response (head and body; the bytes end where the connection would close).
    ///
    /// # Errors
    /// [`ReadError`] as the gateway's reader would report it.
    pub fn parse(bytes: &[u8]) -> Result<Self, ReadError> {
        let mut reader = ResponseReader::new(bytes.len().max(1), bytes.len().max(1));
        let mut start = 0;
        loop {
            match reader.advance(&bytes[start..], true, false)? {
                Progress::Interim(n) => start += n,
                Progress::Complete(_) => break,
                Progress::NeedMore => return Err(ReadError::Truncated),
            }
        }
        Ok(Self { buf: bytes[start..].to_vec(), reader })
    }

    /// The response as a venue receives it, answering the request tagged `tag`.
    pub fn view(&self, tag: u64) -> HttpResponse<'_> {
        self.reader.response(&self.buf, tag)
    }
}

/// How the body of the response being read is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data { remaining: usize },
    DataEnd,
    Trailers,
}

/// What [`ResponseReader::advance`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// More bytes are needed.
    NeedMore,
    /// An interim `1xx` answer of this many bytes: drop them and read on.
    Interim(usize),
    /// A response of this many bytes is complete: hand it over, then drop them.
    Complete(usize),
}

/// Reads one response at a time from the front of a receive buffer (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct ResponseReader {
    head_len: usize,
    status: u16,
    keep_alive: bool,
    framing: Framing,
    spans: Vec<HeaderSpan>,
    body: Vec<u8>,
    chunk_pos: usize,
    chunk: ChunkState,
    max_head: usize,
    max_body: usize,
}

impl ResponseReader {
    pub(crate) fn new(max_head: usize, max_body: usize) -> Self {
        Self {
            head_len: 0,
            status: 0,
            keep_alive: true,
            framing: Framing::None,
            spans: Vec::with_capacity(MAX_HEADERS),
            body: Vec::new(),
            chunk_pos: 0,
            chunk: ChunkState::Size,
            max_head,
            max_body,
        }
    }

    /// Forgets the response read, keeping the buffers.
    pub(crate) fn reset(&mut self) {
        self.head_len = 0;
        self.status = 0;
        self.keep_alive = true;
        self.framing = Framing::None;
        self.spans.clear();
        self.body.clear();
        self.chunk_pos = 0;
        self.chunk = ChunkState::Size;
    }

    /// Whether the connection may carry another request after the complete response.
    pub(crate) fn keep_alive(&self) -> bool {
        self.keep_alive && self.framing != Framing::UntilClose
    }

    /// Reads on from `buf`, which starts at the response's first byte; `eof` says the peer closed;
    /// `head_request` says the request was a `HEAD` (no body whatever the headers say).
    pub(crate) fn advance(
        &mut self,
        buf: &[u8],
        eof: bool,
        head_request: bool,
    ) -> Result<Progress, ReadError> {
        if self.head_len == 0 {
            match self.parse_head(buf, head_request)? {
                Some(Progress::Interim(n)) => {
                    self.reset();
                    return Ok(Progress::Interim(n));
                }
                Some(_) => {}
                // The peer closed before the head was whole, or before it began: the answer is lost
                // either way (an empty buffer at EOF used to wait forever for bytes that could not come).
                None if eof => return Err(ReadError::Truncated),
                None => return Ok(Progress::NeedMore),
            }
        }
        let progress = match self.framing {
            Framing::None => Progress::Complete(self.head_len),
            Framing::Length(n) => {
                if buf.len() >= self.head_len + n {
                    Progress::Complete(self.head_len + n)
                } else {
                    Progress::NeedMore
                }
            }
            Framing::Chunked => self.read_chunks(buf)?,
            Framing::UntilClose => {
                if buf.len() - self.head_len > self.max_body {
                    return Err(ReadError::Malformed(format!("body longer than {} bytes", self.max_body)));
                }
                if eof { Progress::Complete(buf.len()) } else { Progress::NeedMore }
            }
        };
        if progress == Progress::NeedMore && eof {
            return Err(ReadError::Truncated);
        }
        Ok(progress)
    }

    /// The response completed by [`ResponseReader::advance`], over the same `buf`.
    pub(crate) fn response<'a>(&'a self, buf: &'a [u8], tag: u64) -> HttpResponse<'a> {
        let body = match self.framing {
            Framing::None => &[][..],
            Framing::Length(n) => buf.get(self.head_len..self.head_len + n).unwrap_or(&[]),
            Framing::Chunked => &self.body,
            Framing::UntilClose => buf.get(self.head_len..).unwrap_or(&[]),
        };
        HttpResponse { status: self.status, tag, head: buf, spans: &self.spans, body }
    }

    fn parse_head(&mut self, buf: &[u8], head_request: bool) -> Result<Option<Progress>, ReadError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let n = match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > self.max_head => {
                return Err(ReadError::Malformed(format!("head longer than {} bytes", self.max_head)));
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(ReadError::Malformed(format!("bad response head: {e}"))),
        };
        let status = resp.code.unwrap_or(0);
        let http11 = resp.version == Some(1);
        if (100..200).contains(&status) {
            if status == 101 {
                return Err(ReadError::Malformed("101 Switching Protocols on an HTTP connection".into()));
            }
            return Ok(Some(Progress::Interim(n)));
        }
        let base = buf.as_ptr() as usize;
        let at = |s: &[u8]| {
            let start = s.as_ptr() as usize - base;
            (start, start + s.len())
        };
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut other_coding = false;
        let mut keep_alive = http11;
        self.spans.clear();
        for h in resp.headers.iter() {
            self.spans.push(HeaderSpan { name: at(h.name.as_bytes()), value: at(h.value) });
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = parse_length(h.value)
                    .ok_or_else(|| ReadError::Malformed("Content-Length is not a decimal number".into()))?;
                if length.is_some_and(|l| l != v) {
                    return Err(ReadError::Malformed("two different Content-Length headers".into()));
                }
                length = Some(v);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // Only the last coding frames the message (RFC 9112 §6.3).
                let last = h.value.rsplit(|b| *b == b',').next().unwrap_or(&[]);
                chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
                other_coding = !chunked;
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|b| *b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive = true;
                    }
                }
            }
        }
        self.framing = if head_request || status == 204 || status == 304 {
            Framing::None
        } else if chunked {
            Framing::Chunked
        } else if other_coding {
            Framing::UntilClose
        } else if let Some(len) = length {
            if len > self.max_body {
                return Err(ReadError::Malformed(format!(
                    "Content-Length {len} over the limit {}",
                    self.max_body
                )));
            }
            Framing::Length(len)
        } else {
            Framing::UntilClose
        };
        self.status = status;
        self.keep_alive = keep_alive;
        self.head_len = n;
        self.chunk_pos = n;
        Ok(Some(Progress::NeedMore))
    }

    fn read_chunks(&mut self, buf: &[u8]) -> Result<Progress, ReadError> {
        loop {
            let rest = buf.get(self.chunk_pos..).unwrap_or(&[]);
            match self.chunk {
                ChunkState::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.chunk_pos += used;
                        let size = usize::try_from(size).unwrap_or(usize::MAX);
                        if size == 0 {
                            self.chunk = ChunkState::Trailers;
                        } else if size > self.max_body.saturating_sub(self.body.len()) {
                            return Err(ReadError::Malformed(format!(
                                "chunked body longer than {} bytes",
                                self.max_body
                            )));
                        } else {
                            self.chunk = ChunkState::Data { remaining: size };
                        }
                    }
                    Ok(httparse::Status::Partial) if rest.len() > MAX_CHUNK_LINE => {
                        return Err(ReadError::Malformed("chunk-size line too long".into()));
                    }
                    Ok(httparse::Status::Partial) => return Ok(Progress::NeedMore),
                    Err(_) => return Err(ReadError::Malformed("bad chunk size".into())),
                },
                ChunkState::Data { remaining } => {
                    let take = remaining.min(rest.len());
                    self.body.extend_from_slice(&rest[..take]);
                    self.chunk_pos += take;
                    if take < remaining {
                        self.chunk = ChunkState::Data { remaining: remaining - take };
                        return Ok(Progress::NeedMore);
                    }
                    self.chunk = ChunkState::DataEnd;
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(Progress::NeedMore);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(ReadError::Malformed("chunk data not followed by CRLF".into()));
                    }
                    self.chunk_pos += 2;
                    self.chunk = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                        if rest.len() > self.max_head {
                            return Err(ReadError::Malformed("trailer line too long".into()));
                        }
                        return Ok(Progress::NeedMore);
                    };
                    self.chunk_pos += end + 2;
                    if end == 0 {
                        return Ok(Progress::Complete(self.chunk_pos));
                    }
                }
            }
        }
    }
}

/// A `Content-Length` value: ASCII digits only (no sign, no spaces inside), no overflow.
fn parse_length(v: &[u8]) -> Option<usize> {
    let v = v.trim_ascii();
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0usize, |acc, d| acc.checked_mul(10)?.checked_add(usize::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` to a reader in pieces of `step` bytes, as a socket might deliver them; returns
    /// status, body and header count of the first response, and how many bytes it took.
    fn read_in_steps(bytes: &[u8], step: usize) -> Result<(u16, Vec<u8>, usize), ReadError> {
        let mut reader = ResponseReader::new(1024, 1024);
        let mut buf = Vec::new();
        let mut fed = 0;
        loop {
            let end = (fed + step).min(bytes.len());
            buf.extend_from_slice(&bytes[fed..end]);
            fed = end;
            let eof = fed == bytes.len();
            match reader.advance(&buf, eof, false)? {
                Progress::NeedMore if eof => return Err(ReadError::Truncated),
                Progress::NeedMore => {}
                Progress::Interim(n) => {
                    buf.drain(..n);
                }
                Progress::Complete(n) => {
                    let r = reader.response(&buf, 9);
                    assert_eq!(r.tag(), 9);
                    return Ok((r.status(), r.body().to_vec(), n));
                }
            }
        }
    }

    #[test]
    fn content_length_bodies_in_any_split() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b c\"}NEXT";
        for step in [1, 2, 7, raw.len()] {
            let (status, body, used) = read_in_steps(raw, step).unwrap();
            assert_eq!((status, body.as_slice()), (200, &b"{\"a\":\"b c\"}"[..]), "step {step}");
            assert_eq!(used, raw.len() - 4, "the next response's bytes are left");
        }
    }

    #[test]
    fn chunked_bodies_with_extensions_and_trailers() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
                    4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n";
        for step in [1, 3, raw.len()] {
            let (_, body, used) = read_in_steps(raw, step).unwrap();
            assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.", "step {step}");
            assert_eq!(used, raw.len());
        }
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n";
        assert!(matches!(read_in_steps(bad, 100), Err(ReadError::Malformed(r)) if r == "bad chunk size"));
        let no_crlf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n";
        assert!(matches!(read_in_steps(no_crlf, 100), Err(ReadError::Malformed(_))));
    }

    #[test]
    fn interim_answers_are_skipped_and_no_body_statuses_have_none() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
        let (status, body, _) = read_in_steps(raw, 4).unwrap();
        assert_eq!((status, body.len()), (204, 0));
    }

    #[test]
    fn read_until_close_and_keep_alive_rules() {
        let raw = b"HTTP/1.0 200 OK\r\n\r\nall of it";
        let (_, body, _) = read_in_steps(raw, 4).unwrap();
        assert_eq!(body, b"all of it");

        let mut reader = ResponseReader::new(1024, 1024);
        let close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(reader.advance(close, false, false), Ok(Progress::Complete(close.len())));
        assert!(!reader.keep_alive());
        reader.reset();
        let keep = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(reader.advance(keep, false, false), Ok(Progress::Complete(keep.len())));
        assert!(reader.keep_alive());
        reader.reset();
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n";
        assert_eq!(reader.advance(head, false, true), Ok(Progress::Complete(head.len())), "HEAD has no body");
    }

    #[test]
    fn malformed_and_truncated_responses_are_typed_errors() {
        let cases: [&[u8]; 5] = [
            b"HTTX/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 2OO OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n",
        ];
        for raw in cases {
            let err = read_in_steps(raw, raw.len()).unwrap_err();
            assert!(matches!(err, ReadError::Malformed(_)), "{:?}: {err:?}", String::from_utf8_lossy(raw));
        }
        let long_head = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; 2000]].concat();
        assert!(matches!(read_in_steps(&long_head, 100), Err(ReadError::Malformed(_))));
        let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert_eq!(read_in_steps(cut, 100), Err(ReadError::Truncated));
        assert_eq!(read_in_steps(b"HTTP/1.1 200", 100), Err(ReadError::Truncated));
        // The peer closed before the first byte of the answer: lost, not "need more" forever.
        let mut reader = ResponseReader::new(1024, 1024);
        assert_eq!(reader.advance(b"", true, false), Err(ReadError::Truncated));
        assert_eq!(reader.advance(b"", false, false), Ok(Progress::NeedMore));
    }

    #[test]
    fn headers_are_found_case_insensitively() {
        let raw = RawResponse::parse(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nx-mbx-used-weight-1m: 1200\r\nContent-Length: 2\r\n\r\n{}",
        )
        .unwrap();
        let r = raw.view(4);
        assert_eq!((r.status(), r.tag(), r.body()), (429, 4, &b"{}"[..]));
        assert_eq!(r.header("retry-after"), Some("3"));
        assert_eq!(r.header("X-MBX-USED-WEIGHT-1M"), Some("1200"));
        assert_eq!(r.header("absent"), None);
        assert_eq!(r.headers().count(), 3);
        assert_eq!(format!("{r:?}"), "HttpResponse { status: 429, tag: 4, headers: 3, body_bytes: 2 }");
        assert_eq!(
            RawResponse::parse(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab").unwrap_err(),
            ReadError::Truncated
        );
    }

    #[test]
    fn requests_are_written_with_host_and_length() {
        let mut out = Vec::new();
        let req = HttpRequest {
            method: "POST",
            target: "/api/v3/order?symbol=BTCUSDT",
            headers: &[("X-Key", "k")],
            body: b"a=1",
            tag: 1,
            cost: Cost::weight(1),
        };
        write_request(&mut out, "127.0.0.1:8080", &req).unwrap();
        assert_eq!(
            out,
            b"POST /api/v3/order?symbol=BTCUSDT HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Key: k\r\nContent-Length: 3\r\n\r\na=1"
        );
        out.clear();
        write_request(&mut out, "h", &HttpRequest::get("/x", 2)).unwrap();
        assert_eq!(out, b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
        for bad in [
            HttpRequest { method: "GE T", ..HttpRequest::get("/", 0) },
            HttpRequest::get("/a b", 0),
            HttpRequest { headers: &[("Bad Name", "v")], ..HttpRequest::get("/", 0) },
            HttpRequest { headers: &[("Content-Length", "1")], ..HttpRequest::get("/", 0) },
        ] {
            assert!(write_request(&mut Vec::new(), "h", &bad).is_err(), "{bad:?}");
        }
    }

    /// `body` as a chunked response, cut into chunks of the given sizes (cycled), with extensions.
    fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut rest = body;
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).min(rest.len()));
            out.extend_from_slice(format!("{:x};n=1\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
            rest = tail;
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_in_any_split_give_a_response_or_an_error(
            bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..600),
            step in 1usize..64,
        ) {
            if let Ok((_, body, used)) = read_in_steps(&bytes, step) {
                proptest::prop_assert!(used <= bytes.len() && body.len() <= used);
            }
        }

        #[test]
        fn chunked_bodies_decode_whatever_the_chunking_and_the_split(
            body in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..700),
            sizes in proptest::collection::vec(1usize..300, 1..5),
            step in 1usize..97,
        ) {
            let raw = chunked(&body, &sizes);
            let (status, got, used) = read_in_steps(&raw, step).unwrap();
            proptest::prop_assert_eq!((status, used), (200, raw.len()));
            proptest::prop_assert_eq!(got, body);
        }
    }
}
