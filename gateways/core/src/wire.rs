//! `Wire`: what a venue asks the gateway to do, collected during a callback and carried out by the
//! thread right after it returns.
//!
//! Open or close a connection, send an HTTP request or a WebSocket message, set a timer. Requests
//! are checked here, synchronously, so a venue learns at once (and can tell the engine) that an
//! order will not go out: wrong connection, connection down, or over the rate budget with the hold
//! queue full. Over-budget requests are held in FIFO order, serialised, and released by the thread
//! when the budget allows; a request never jumps ahead of one held before it.
//!
//! A request or message accepted while its connection is open but whose connection fails before
//! it is written does not go out: an HTTP request comes back as `Input::HttpFailed { sent: false }`,
//! a WebSocket message is lost with the connection, which the venue learns from `Input::Closed`
//! (stream subscriptions are re-sent on `Input::Opened` anyway).
//!
//! # Performance
//! HTTP requests are serialised once, into buffers taken from a pool that sent requests return to,
//! so a steady request stream allocates nothing. WebSocket sends copy the text once into the
//! message tungstenite frames.

use std::collections::VecDeque;

use kestrel_types::Timestamp;

use crate::endpoint::{ConnId, Endpoint, EndpointKind};
use crate::error::GatewayError;
use crate::http::{HttpRequest, write_request};
use crate::rate_limit::RateLimits;
use crate::timer::Timers;

/// Where an accepted HTTP request went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// Within budget: written to the connection after the callback (or after the response to the
    /// request before it, one at a time per connection).
    Queued,
    /// Over budget or paused: held, sent when the budget allows, in order.
    Held,
}

/// A serialised request on its way.
#[derive(Debug)]
pub(crate) struct OutRequest {
    pub(crate) conn: ConnId,
    pub(crate) tag: u64,
    pub(crate) head_request: bool,
    pub(crate) bytes: Vec<u8>,
    pub(crate) cost: crate::rate_limit::Cost,
}

/// One thing the venue asked for.
#[derive(Debug)]
pub(crate) enum Action {
    Open(ConnId),
    Close(ConnId),
    Http(OutRequest),
    WsText(ConnId, String),
    WsBinary(ConnId, Vec<u8>),
}

#[derive(Debug)]
struct ConnInfo {
    http: bool,
    open: bool,
    host: String,
}

/// The venue's way out: open and close connections, send HTTP requests and WebSocket messages, set
/// timers, read and update the rate budgets. Each call is checked at once (a refusal is an `Err`
/// the venue can turn into a rejected report); accepted actions are carried out by the thread when
/// the callback returns. HTTP requests over budget are held in order ([`Dispatch::Held`]) and sent
/// when the budget allows, or refused with [`GatewayError::HoldQueueFull`] when the hold queue is
/// full.
#[derive(Debug)]
pub struct Wire {
    now: Timestamp,
    conns: Vec<ConnInfo>,
    pub(crate) actions: VecDeque<Action>,
    limits: RateLimits,
    held: VecDeque<OutRequest>,
    hold_capacity: usize,
    pub(crate) timers: Timers,
    spare: Vec<Vec<u8>>,
}

impl Wire {
    pub(crate) fn new(endpoints: &[Endpoint], limits: RateLimits, hold_capacity: usize) -> Self {
        let conns = endpoints
            .iter()
            .map(|e| ConnInfo { http: e.kind == EndpointKind::Http, open: false, host: e.host_header() })
            .collect();
        Self {
            now: Timestamp::EPOCH,
            conns,
            actions: VecDeque::with_capacity(64),
            limits,
            held: VecDeque::with_capacity(hold_capacity),
            hold_capacity,
            timers: Timers::with_capacity(64),
            spare: Vec::new(),
        }
    }

    /// The time of the current pass.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub(crate) fn set_now(&mut self, now: Timestamp) {
        self.now = now;
    }

    fn info(&self, conn: ConnId) -> Result<&ConnInfo, GatewayError> {
        self.conns.get(conn.index()).ok_or(GatewayError::Misuse { conn, reason: "no such endpoint" })
    }

    /// Opens `conn` (no-op if open or opening); from then on the gateway keeps it open,
    /// reconnecting with backoff, until [`Wire::close`].
    ///
    /// # Errors
    /// [`GatewayError::Misuse`] for an id that is not one of the venue's endpoints.
    pub fn open(&mut self, conn: ConnId) -> Result<(), GatewayError> {
        self.info(conn)?;
        self.actions.push_back(Action::Open(conn));
        Ok(())
    }

    /// Closes `conn` and stops reconnecting it.
    ///
    /// # Errors
    /// [`GatewayError::Misuse`] for an unknown id.
    pub fn close(&mut self, conn: ConnId) -> Result<(), GatewayError> {
        self.info(conn)?;
        self.actions.push_back(Action::Close(conn));
        Ok(())
    }

    /// Whether `conn` is open (between `Input::Opened` and `Input::Closed`).
    pub fn is_open(&self, conn: ConnId) -> bool {
        self.conns.get(conn.index()).is_some_and(|c| c.open)
    }

    pub(crate) fn set_open(&mut self, conn: ConnId, open: bool) {
        if let Some(c) = self.conns.get_mut(conn.index()) {
            c.open = open;
        }
    }

    /// Sends an HTTP request on `conn`, or holds it if the rate budget is spent.
    ///
    /// # Errors
    /// [`GatewayError::Misuse`] (unknown id, not an HTTP endpoint, a request that would break HTTP
    /// framing), [`GatewayError::NotOpen`], [`GatewayError::OverBudget`] (costs more than a
    /// whole interval allows), [`GatewayError::HoldQueueFull`]. In every case nothing was sent.
    pub fn http(&mut self, conn: ConnId, req: &HttpRequest<'_>) -> Result<Dispatch, GatewayError> {
        let info = self.info(conn)?;
        if !info.http {
            return Err(GatewayError::Misuse { conn, reason: "HTTP request on a WebSocket endpoint" });
        }
        if !info.open {
            return Err(GatewayError::NotOpen { conn });
        }
        if let Some((cost, limit)) = self.limits.never_fits(req.cost) {
            return Err(GatewayError::OverBudget { conn, tag: req.tag, cost, limit });
        }
        // Serialised before the budget is charged, so a refused request costs nothing.
        let mut bytes = self.spare.pop().unwrap_or_default();
        bytes.clear();
        if let Err(reason) = write_request(&mut bytes, &self.conns[conn.index()].host, req) {
            self.recycle(bytes);
            return Err(GatewayError::Misuse { conn, reason });
        }
        let must_hold = !self.held.is_empty() || !self.limits.try_take(req.cost, self.now);
        if must_hold && self.held.len() >= self.hold_capacity {
            self.recycle(bytes);
            return Err(GatewayError::HoldQueueFull { conn, tag: req.tag, held: self.hold_capacity });
        }
        let out =
            OutRequest { conn, tag: req.tag, head_request: req.method == "HEAD", bytes, cost: req.cost };
        if must_hold {
            self.held.push_back(out);
            Ok(Dispatch::Held)
        } else {
            self.actions.push_back(Action::Http(out));
            Ok(Dispatch::Queued)
        }
    }

    /// Sends a WebSocket text message on `conn`.
    ///
    /// # Errors
    /// [`GatewayError::Misuse`] (unknown id or an HTTP endpoint), [`GatewayError::NotOpen`].
    pub fn send_text(&mut self, conn: ConnId, text: &str) -> Result<(), GatewayError> {
        self.check_ws(conn)?;
        self.actions.push_back(Action::WsText(conn, text.to_owned()));
        Ok(())
    }

    /// Sends a WebSocket binary message on `conn`.
    ///
    /// # Errors
    /// As [`Wire::send_text`].
    pub fn send_binary(&mut self, conn: ConnId, bytes: &[u8]) -> Result<(), GatewayError> {
        self.check_ws(conn)?;
        self.actions.push_back(Action::WsBinary(conn, bytes.to_vec()));
        Ok(())
    }

    fn check_ws(&self, conn: ConnId) -> Result<(), GatewayError> {
        let info = self.info(conn)?;
        if info.http {
            return Err(GatewayError::Misuse { conn, reason: "WebSocket message on an HTTP endpoint" });
        }
        if !info.open {
            return Err(GatewayError::NotOpen { conn });
        }
        Ok(())
    }

    /// Calls the venue back with `Input::Timer { token }` once the clock reaches `at`.
    pub fn set_timer(&mut self, at: Timestamp, token: u64) {
        self.timers.set(at, token);
    }

    /// The rate budgets, to read.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The rate budgets, to update from what the venue reports (used weight, `Retry-After`).
    pub fn limits_mut(&mut self) -> &mut RateLimits {
        &mut self.limits
    }

    /// Requests held for budget.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Moves held requests that now fit the budget to the action queue, oldest first; held requests
    /// for a connection that closed are handed to `failed` (they were never sent).
    pub(crate) fn release_held(&mut self, mut failed: impl FnMut(ConnId, u64)) {
        while let Some(front) = self.held.front() {
            if !self.is_open(front.conn) {
                if let Some(r) = self.held.pop_front() {
                    failed(r.conn, r.tag);
                    self.recycle(r.bytes);
                }
                continue;
            }
            if !self.limits.try_take(front.cost, self.now) {
                break;
            }
            if let Some(r) = self.held.pop_front() {
                self.actions.push_back(Action::Http(r));
            }
        }
    }

    /// When held requests may next be released (for the poll timeout).
    pub(crate) fn next_release(&self) -> Option<Timestamp> {
        if self.held.is_empty() { None } else { self.limits.next_change(self.now) }
    }

    /// Returns a request buffer to the pool.
    pub(crate) fn recycle(&mut self, mut bytes: Vec<u8>) {
        if self.spare.len() < 64 {
            bytes.clear();
            self.spare.push(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::{Budget, BudgetKind, Cost};
    use kestrel_types::TimeSpan;

    fn wire(hold: usize) -> Wire {
        let limits = RateLimits::new(&[Budget {
            kind: BudgetKind::Weight,
            limit: 2,
            interval: TimeSpan::from_nanos(1_000_000_000),
        }])
        .unwrap();
        let eps = [
            Endpoint::http("rest", "127.0.0.1", 8080, false),
            Endpoint::websocket("ws", "h", 80, false, "/"),
        ];
        let mut w = Wire::new(&eps, limits, hold);
        w.set_now(Timestamp::from_nanos(10));
        w
    }

    #[test]
    fn over_budget_requests_are_held_in_order_then_refused_when_the_queue_is_full() {
        let mut w = wire(2);
        let rest = ConnId(0);
        assert_eq!(w.http(rest, &HttpRequest::get("/a", 1)), Err(GatewayError::NotOpen { conn: rest }));
        w.set_open(rest, true);
        assert_eq!(w.http(rest, &HttpRequest::get("/a", 1)), Ok(Dispatch::Queued));
        assert_eq!(w.http(rest, &HttpRequest::get("/b", 2)), Ok(Dispatch::Queued));
        assert_eq!(w.http(rest, &HttpRequest::get("/c", 3)), Ok(Dispatch::Held));
        assert_eq!(w.http(rest, &HttpRequest::get("/d", 4)), Ok(Dispatch::Held));
        assert_eq!(
            w.http(rest, &HttpRequest::get("/e", 5)),
            Err(GatewayError::HoldQueueFull { conn: rest, tag: 5, held: 2 })
        );
        let big = HttpRequest { cost: Cost::weight(3), ..HttpRequest::get("/big", 6) };
        assert_eq!(
            w.http(rest, &big),
            Err(GatewayError::OverBudget { conn: rest, tag: 6, cost: 3, limit: 2 })
        );

        let tags = |w: &mut Wire| {
            w.actions
                .drain(..)
                .filter_map(|a| if let Action::Http(r) = a { Some(r.tag) } else { None })
                .collect::<Vec<_>>()
        };
        assert_eq!(tags(&mut w), [1, 2]);
        w.release_held(|_, _| panic!("nothing fails"));
        assert!(tags(&mut w).is_empty(), "still the same window");
        w.set_now(Timestamp::from_nanos(1_000_000_000));
        w.release_held(|_, _| panic!("nothing fails"));
        assert_eq!(tags(&mut w), [3, 4]);
        assert_eq!(w.held(), 0);
    }

    #[test]
    fn held_requests_for_a_closed_connection_fail_back() {
        let mut w = wire(4);
        w.set_open(ConnId(0), true);
        w.limits_mut().pause_until(Timestamp::from_nanos(100));
        assert_eq!(w.http(ConnId(0), &HttpRequest::get("/a", 7)), Ok(Dispatch::Held));
        w.set_open(ConnId(0), false);
        let mut failed = Vec::new();
        w.release_held(|c, t| failed.push((c, t)));
        assert_eq!(failed, [(ConnId(0), 7)]);
    }

    #[test]
    fn misuse_is_refused_with_the_reason() {
        let mut w = wire(1);
        w.set_open(ConnId(0), true);
        w.set_open(ConnId(1), true);
        assert!(matches!(w.http(ConnId(1), &HttpRequest::get("/", 1)), Err(GatewayError::Misuse { .. })));
        assert!(matches!(w.send_text(ConnId(0), "x"), Err(GatewayError::Misuse { .. })));
        assert!(matches!(w.open(ConnId(9)), Err(GatewayError::Misuse { reason: "no such endpoint", .. })));
        let injected = HttpRequest { headers: &[("X-A", "1\r\nEvil: 1")], ..HttpRequest::get("/", 1) };
        assert!(matches!(w.http(ConnId(0), &injected), Err(GatewayError::Misuse { .. })));
        assert!(w.send_text(ConnId(1), "hello").is_ok());
    }
}
