//! Fault injection: what a venue does wrong on purpose, so clients' recovery paths are tested.
//!
//! Set at start with `--fault SPEC` (repeatable) or live with `POST /sim/fault?fault=SPEC` (no
//! signature: a loopback test venue). SPEC is one of:
//! - `drop-mid-fill`: the next order that fills is matched (fills, reports, balances all happen)
//!   and then its connection is closed without a reply;
//! - `expire-user-stream`: every user-data stream ends now (`listenKeyExpired` on listenKey
//!   streams, `eventStreamTerminated` on WebSocket API subscriptions);
//! - `duplicate-reports=N`: the next N engine steps send each executionReport twice;
//! - `reorder-reports=N`: the next N engine steps send their executionReports in reverse order;
//! - `rate-limit=429:N[:SECS]` / `rate-limit=418:N[:SECS]`: the next N requests (REST and
//!   WebSocket API) are refused with that status, -1003 and `Retry-After: SECS` (default 30).

use serde_json::Value;

use crate::error::{ApiError, SimError};

/// A parsed fault specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection of the next order that fills, after matching, before the reply.
    DropMidFill,
    /// End every user-data stream now.
    ExpireUserStream,
    /// Send each executionReport twice for the next N steps.
    DuplicateReports(u32),
    /// Reverse the executionReports of the next N steps.
    ReorderReports(u32),
    /// Refuse the next N requests with this status (429 or 418) and Retry-After seconds.
    RateLimit {
        /// 429 or 418.
        status: u16,
        /// How many requests.
        count: u32,
        /// Retry-After seconds.
        retry_after: u64,
    },
}

impl std::str::FromStr for Fault {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, SimError> {
        let bad = || SimError::Fault(s.to_owned());
        let (name, arg) = s.split_once('=').map_or((s, None), |(a, b)| (a, Some(b)));
        let n = |a: Option<&str>| a.and_then(|a| a.parse::<u32>().ok()).ok_or_else(bad);
        match name {
            "drop-mid-fill" if arg.is_none() => Ok(Self::DropMidFill),
            "expire-user-stream" if arg.is_none() => Ok(Self::ExpireUserStream),
            "duplicate-reports" => Ok(Self::DuplicateReports(n(arg)?)),
            "reorder-reports" => Ok(Self::ReorderReports(n(arg)?)),
            "rate-limit" => {
                let mut parts = arg.ok_or_else(bad)?.split(':');
                let status = parts
                    .next()
                    .and_then(|p| p.parse::<u16>().ok())
                    .filter(|s| *s == 429 || *s == 418)
                    .ok_or_else(bad)?;
                let count = n(parts.next())?;
                let retry_after = match parts.next() {
                    Some(p) => p.parse().map_err(|_| bad())?,
                    None => 30,
                };
                if parts.next().is_some() {
                    return Err(bad());
                }
                Ok(Self::RateLimit { status, count, retry_after })
            }
            _ => Err(bad()),
        }
    }
}

/// Faults armed now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Drop the next filling order's connection.
    pub drop_mid_fill: bool,
    /// Steps left whose reports are sent twice.
    pub duplicate: u32,
    /// Steps left whose reports are reversed.
    pub reorder: u32,
    /// (status, requests left, Retry-After).
    pub rate_limit: Option<(u16, u32, u64)>,
}

impl Faults {
    /// Arms `f` (ExpireUserStream is immediate and handled by the caller).
    pub fn arm(&mut self, f: Fault) {
        match f {
            Fault::DropMidFill => self.drop_mid_fill = true,
            Fault::ExpireUserStream => {}
            Fault::DuplicateReports(n) => self.duplicate += n,
            Fault::ReorderReports(n) => self.reorder += n,
            Fault::RateLimit { status, count, retry_after } => {
                self.rate_limit = Some((status, count, retry_after))
            }
        }
    }

    /// The refusal for this request, if a rate-limit fault is armed (counts it down).
    pub fn rate_limited(&mut self, now_ms: i64) -> Option<ApiError> {
        let (status, left, retry) = self.rate_limit?;
        self.rate_limit = (left > 1).then_some((status, left - 1, retry));
        let msg = if status == 418 {
            format!(
                "Way too much request weight used; IP banned until {}. Please use the websocket for live updates to avoid bans.",
                now_ms + i64::try_from(retry).unwrap_or(0) * 1000
            )
        } else {
            "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use the websocket for live updates to avoid polling the API.".to_owned()
        };
        Some(ApiError { status, code: -1003, msg, retry_after: Some(retry) })
    }

    /// Applies the duplicate/reorder faults to one step's executionReports.
    pub fn shape_reports(&mut self, events: &mut Vec<Value>) {
        if self.reorder > 0 && events.len() > 1 {
            self.reorder -= 1;
            events.reverse();
        }
        if self.duplicate > 0 {
            self.duplicate -= 1;
            *events = events.iter().flat_map(|e| [e.clone(), e.clone()]).collect();
        }
    }

    /// Whether this filled order's connection must drop (one-shot).
    pub fn take_drop(&mut self, filled: bool) -> bool {
        let d = self.drop_mid_fill && filled;
        if d {
            self.drop_mid_fill = false;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_are_typed_errors() {
        assert_eq!("drop-mid-fill".parse::<Fault>().unwrap(), Fault::DropMidFill);
        assert_eq!("duplicate-reports=2".parse::<Fault>().unwrap(), Fault::DuplicateReports(2));
        assert_eq!(
            "rate-limit=418:3:5".parse::<Fault>().unwrap(),
            Fault::RateLimit { status: 418, count: 3, retry_after: 5 }
        );
        for bad in ["rate-limit=500:1", "duplicate-reports", "nope", "rate-limit=429:1:2:3"] {
            assert!(matches!(bad.parse::<Fault>(), Err(SimError::Fault(_))), "{bad}");
        }
    }

    #[test]
    fn rate_limit_counts_down() {
        let mut f = Faults::default();
        f.arm(Fault::RateLimit { status: 429, count: 2, retry_after: 7 });
        assert_eq!(f.rate_limited(0).unwrap().retry_after, Some(7));
        assert_eq!(f.rate_limited(0).unwrap().status, 429);
        assert!(f.rate_limited(0).is_none());
    }
}

#[cfg(test)]
mod shape_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reorder_then_duplicate_apply_to_one_step_each() {
        let mut f = Faults::default();
        f.arm(Fault::ReorderReports(1));
        f.arm(Fault::DuplicateReports(1));
        let mut ev = vec![json!(1), json!(2)];
        f.shape_reports(&mut ev);
        assert_eq!(ev, [json!(2), json!(2), json!(1), json!(1)]);
        let mut ev = vec![json!(1), json!(2)];
        f.shape_reports(&mut ev);
        assert_eq!(ev, [json!(1), json!(2)]);
        assert!(!f.take_drop(true));
        f.arm(Fault::DropMidFill);
        assert!(!f.take_drop(false) && f.take_drop(true) && !f.take_drop(true));
    }
}
