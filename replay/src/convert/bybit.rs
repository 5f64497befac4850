//! Bybit public order-book archives (`2024-12-01_XRPUSDT_ob500.data.zip`, or the `.data` member
//! itself): JSON lines `{"topic","type":"snapshot"|"delta","ts","data":{"s","b":[[price,size]…],
//! "a":[…],"u","seq"},"cts"}`, one websocket message per line.
//!
//! # What it becomes
//! - `snapshot`: `SnapshotBegin`, the bid levels, the ask levels, `SnapshotEnd` (the book is
//!   replaced, as Bybit says a client must do on every snapshot, including one mid-file after a
//!   service restart).
//! - `delta`: one level update per `[price, size]`, bids then asks in message order, with the
//!   absolute size; size `"0"` removes the level.
//!
//! # Time, symbol, order
//! `ts_recv = ts` (when Bybit's system generated the message, ms) and `ts_event = cts` (the
//! matching engine's time, ms; `ts` when an older file has no `cts`). The symbol is `data.s`. Lines
//! are kept in file order; a `ts` earlier than the previous line's is a malformed line.
//!
//! # Strictness
//! `u` must rise by exactly 1 from one message to the next (a snapshot restarts the chain): a gap
//! or a repeat is a malformed line naming it (with `--skip-malformed` that message is skipped and
//! counted, and the chain goes on from it). A line that is not such a JSON object, a bad number, a
//! non-positive price or a negative size is malformed too; a message is taken whole or not at all.

use std::path::Path;

use kestrel_types::{BookSide, Event, InstrumentId, LevelUpdate, Payload, Price, Qty, Timestamp, VenueId};
use serde::Deserialize;

use super::binance::input::Input;
use super::{Collector, ConvertError, Format};

/// The venue every converted instrument is put on (one conversion, one venue).
const VENUE: VenueId = VenueId(0);

/// One line of the archive, borrowing its strings from the line.
#[derive(Deserialize)]
struct Message<'a> {
    /// `orderbook.<depth>.<symbol>`.
    topic: &'a str,
    /// `snapshot` or `delta`.
    #[serde(rename = "type")]
    kind: &'a str,
    /// System time, ms.
    ts: i64,
    /// The book data.
    data: Data<'a>,
    /// Matching-engine time, ms (absent in older files).
    cts: Option<i64>,
}

/// The `data` object of a message.
#[derive(Deserialize)]
struct Data<'a> {
    /// Symbol.
    s: &'a str,
    /// Bid levels, `[price, size]` as strings.
    #[serde(borrow)]
    b: Vec<[&'a str; 2]>,
    /// Ask levels, `[price, size]` as strings.
    #[serde(borrow)]
    a: Vec<[&'a str; 2]>,
    /// Update id: rises by 1 per message.
    u: u64,
    /// Cross sequence (checked to be a number, not used).
    #[allow(dead_code, reason = "validated by deserialising; the chain is checked with `u`")]
    seq: Option<u64>,
}

/// Tells a Bybit order-book archive from its name (`…_ob500.data.zip`, `…_ob200.data`), its zip
/// member's name, or its first bytes (`{"topic":"orderbook.`).
pub(super) fn detect(name: &str, head: &[u8]) -> Option<Format> {
    let is_ob_name = |n: &str| {
        let stem = n.strip_suffix(".zip").unwrap_or(n);
        stem.strip_suffix(".data").is_some_and(|s| s.rsplit('_').next().is_some_and(|k| k.starts_with("ob")))
    };
    if is_ob_name(name) || head.starts_with(b"{\"topic\":\"orderbook.") {
        return Some(Format::BybitOb);
    }
    if head.starts_with(b"PK\x03\x04") && head.len() >= 30 {
        let len = usize::from(u16::from_le_bytes([head[26], head[27]]));
        let member = head.get(30..30 + len)?;
        return is_ob_name(&String::from_utf8_lossy(member).to_ascii_lowercase()).then_some(Format::BybitOb);
    }
    None
}

/// Reads one Bybit order-book archive into `coll`.
///
/// # Errors
/// [`ConvertError`] naming the file and, for lines, the 1-based line and the reason.
pub(super) fn read(path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    let mut input = Input::open(coll, path)?;
    let result = read_lines(&mut input, coll);
    input.finish(result)
}

/// A `[price, size]` pair as a level update on `side`.
fn level(side: BookSide, [p, q]: [&str; 2]) -> Result<LevelUpdate, String> {
    let price: Price = p.parse().map_err(|e| format!("price {p:?}: {e}"))?;
    let size: Qty = q.parse().map_err(|e| format!("size {q:?}: {e}"))?;
    if !price.is_positive() {
        return Err(format!("price {price} is not positive"));
    }
    if size.is_negative() {
        return Err(format!("size {size} is negative"));
    }
    Ok(LevelUpdate { side, price, size })
}

/// The reader's state across lines.
struct State {
    /// `u` of the last message taken.
    last_u: Option<u64>,
    /// `ts` of the last message taken (ns).
    last_ts: i64,
    /// The last symbol and its instrument.
    symbol: Option<(String, InstrumentId)>,
    /// The message's events, reused across lines.
    events: Vec<Event>,
}

/// ms since the epoch as a timestamp, refusing what would overflow.
fn millis(v: i64, what: &str) -> Result<Timestamp, String> {
    v.checked_mul(1_000_000)
        .filter(|_| v >= 0)
        .map(Timestamp::from_nanos)
        .ok_or_else(|| format!("{what} {v} is not a time in milliseconds"))
}

impl State {
    /// Parses and checks one line into `self.events`; nothing is pushed unless all of it is good.
    fn parse(&mut self, line: &[u8], coll: &mut Collector) -> Result<u64, String> {
        let m: Message<'_> = serde_json::from_slice(line).map_err(|e| format!("not a Bybit message: {e}"))?;
        if !m.topic.starts_with("orderbook.") {
            return Err(format!("topic {:?} is not an order book", m.topic));
        }
        let snapshot = match m.kind {
            "snapshot" => true,
            "delta" => false,
            k => return Err(format!("type {k:?} is neither snapshot nor delta")),
        };
        let ts_recv = millis(m.ts, "ts")?;
        let ts_event = match m.cts {
            Some(c) => millis(c, "cts")?,
            None => ts_recv,
        };
        if ts_recv.nanos() < self.last_ts {
            return Err(format!(
                "time goes backwards: ts {ts_recv} after {} (lines are kept in file order)",
                Timestamp::from_nanos(self.last_ts)
            ));
        }
        if !snapshot
            && let Some(prev) = self.last_u
            && prev.checked_add(1) != Some(m.data.u)
        {
            return Err(format!(
                "update id u {} after {prev}: expected u to rise by 1 (data missing)",
                m.data.u
            ));
        }
        if m.data.s.is_empty() {
            return Err("empty symbol".into());
        }
        let id = match &self.symbol {
            Some((s, id)) if s == m.data.s => *id,
            _ => {
                let id = coll.instrument(m.data.s, VENUE);
                self.symbol = Some((m.data.s.to_owned(), id));
                id
            }
        };
        let at = |payload| Event { ts_event, ts_recv, instrument: id, payload };
        self.events.clear();
        if snapshot {
            self.events.push(at(Payload::SnapshotBegin));
        }
        for (side, levels) in [(BookSide::Bid, &m.data.b), (BookSide::Ask, &m.data.a)] {
            for &l in levels {
                self.events.push(at(Payload::Level(level(side, l)?)));
            }
        }
        if snapshot {
            self.events.push(at(Payload::SnapshotEnd));
        }
        self.last_ts = ts_recv.nanos();
        Ok(m.data.u)
    }
}

/// Every line: parse whole, then push its events, or report it.
fn read_lines(input: &mut Input, coll: &mut Collector) -> Result<(), ConvertError> {
    let mut st = State { last_u: None, last_ts: i64::MIN, symbol: None, events: Vec::new() };
    while let Some((line, bytes)) = input.next_line()? {
        coll.row();
        match st.parse(bytes, coll) {
            Ok(u) => {
                st.last_u = Some(u);
                for ev in &st.events {
                    coll.push(ev, line)?;
                }
            }
            Err(reason) => {
                // A gap is reported once: the chain goes on from the skipped message.
                if let Ok(m) = serde_json::from_slice::<Message<'_>>(bytes) {
                    st.last_u = Some(m.data.u);
                }
                coll.malformed(coll.row_error(line, reason))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
