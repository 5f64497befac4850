//! A live session through the runtime (engine thread, venue on the test's thread, SPSC rings),
//! journaled by the tap, then replayed from the journal: the replay reaches the live session's
//! state hash after every event, and a journal cut at a random record (a torn write) replays to
//! the hash the live session had at that record.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kestrel_engine::engine::{
    Engine, EngineConfig, OrderKind, OrderUpdate, RequestKind, StateHash, TickContext, TickStrategy, Timer,
    VenueMode, VenueRequest,
};
use kestrel_engine::order::{Side, Status};
use kestrel_replay::generate::plain_instrument;
use kestrel_replay::journal::{Journal, JournalWriter, segment_path};
use kestrel_runtime::clock::{Clock, TscClock};
use kestrel_runtime::{JournalTap, RuntimeConfig, Tap, run};
use kestrel_types::{
    Event, ExecRecord, Instrument, InstrumentId, Money, OrderId, Payload, Price, Qty, Quote, Timestamp,
};

/// Quotes in the live session.
const QUOTES: u64 = 600;

/// The last timer is due this long after the last quote; the venue falls silent
/// `QUIET_MARGIN_NS` before it.
const LAST_TIMER_NS: i64 = 200_000_000;
const QUIET_MARGIN_NS: i64 = 50_000_000;

/// Alternates limit buys at the bid and sells at the ask; every fifth quote sets a timer 30 µs
/// ahead that cancels the oldest open order. Deterministic given its events.
#[derive(Debug, Default)]
struct Session {
    quotes: u64,
    /// Raised when the last timer (token 0) fires, so the live session's venue can wait for it
    /// however slowly a loaded machine runs the engine thread (the replays have none).
    last_timer: Option<Arc<AtomicBool>>,
}

impl TickStrategy for Session {
    fn on_quote(&mut self, ctx: &mut TickContext<'_>, ins: InstrumentId, q: &Quote) {
        self.quotes += 1;
        let _ = if self.quotes.is_multiple_of(2) {
            ctx.buy(ins, Qty::ONE, OrderKind::Limit { limit: q.bid })
        } else {
            ctx.sell(ins, Qty::ONE, OrderKind::Limit { limit: q.ask })
        };
        if self.quotes.is_multiple_of(5) {
            let _ = ctx.set_timer(Timestamp::from_nanos(ctx.now().nanos() + 30_000), self.quotes);
        }
        if self.quotes == QUOTES {
            // Due in the quiet end of the session, when the venue sends nothing more (from
            // `LAST_TIMER_NS − QUIET_MARGIN_NS` after the last quote on): no event can fire it,
            // the loop's own timer event must.
            let _ = ctx.set_timer(Timestamp::from_nanos(ctx.now().nanos() + LAST_TIMER_NS), 0);
        }
    }

    fn on_timer(&mut self, ctx: &mut TickContext<'_>, timer: &Timer) {
        if timer.token == 0
            && let Some(flag) = &self.last_timer
        {
            flag.store(true, Ordering::Release);
        }
        let oldest = ctx.open_orders().filter(|o| !o.cancel_pending).map(|o| o.id).min();
        if let Some(id) = oldest {
            let _ = ctx.cancel(id);
        }
    }

    fn on_order(&mut self, _ctx: &mut TickContext<'_>, _update: &OrderUpdate) {}
}

fn instrument() -> Instrument {
    plain_instrument("SES", Price::from_raw(10_000_000), Qty::ONE).unwrap()
}

fn engine() -> Engine<Session> {
    engine_with(Session::default())
}

fn engine_with(session: Session) -> Engine<Session> {
    let config = EngineConfig {
        venue: VenueMode::External,
        cash: Money::try_from_units(1_000_000).unwrap(),
        resting_per_instrument: 1024,
        max_orders: 4096,
        queue: 4096,
        ..EngineConfig::new(1)
    };
    let mut e = Engine::try_new(config, session).unwrap();
    e.set_instruments(&[instrument()]);
    e.start();
    e
}

/// The journal tap, plus the state hash after every event.
struct Recording {
    journal: JournalTap,
    hashes: Vec<StateHash>,
}

impl Tap<Session> for Recording {
    fn inbound(&mut self, ev: &Event) {
        Tap::<Session>::inbound(&mut self.journal, ev);
    }

    fn processed(&mut self, engine: &Engine<Session>, _ev: &Event) {
        self.hashes.push(engine.state_hash());
    }
}

/// The venue's answer to a request: acknowledge every order; fill every third; a cancel cancels
/// what is not filled, and says "completed" for what is.
fn answer(req: &VenueRequest, filled: &mut Vec<OrderId>, n: u64, at: Timestamp) -> Vec<Event> {
    let code = |s: Status| u8::try_from(Status::ALL.iter().position(|x| *x == s).unwrap()).unwrap();
    let rec = |status, qty: Qty, price| ExecRecord {
        order: req.order.0,
        exec: n,
        status: code(status),
        qty,
        price,
        fee: 0,
    };
    let ev = |r| Event { ts_event: at, ts_recv: at, instrument: InstrumentId(0), payload: Payload::Exec(r) };
    match req.kind {
        RequestKind::New => {
            let mut out = vec![ev(rec(Status::Accepted, Qty::ZERO, Price::ZERO))];
            if n.is_multiple_of(3) {
                let qty = if req.request.side == Side::Buy { Qty::ONE } else { -Qty::ONE };
                let price = req.request.kind.price().unwrap_or(Price::ZERO);
                out.push(ev(rec(Status::Completed, qty, price)));
                filled.push(req.order);
            }
            out
        }
        RequestKind::Cancel if filled.contains(&req.order) => {
            vec![ev(rec(Status::Completed, Qty::ZERO, Price::ZERO))]
        }
        RequestKind::Cancel => vec![ev(rec(Status::Canceled, Qty::ZERO, Price::ZERO))],
        // The session never amends.
        RequestKind::Amend => Vec::new(),
    }
}

/// Runs a live session of `quotes` quotes, journaled at `base`; returns the hash after each event.
fn live_session(base: &std::path::Path, quotes: u64) -> Vec<StateHash> {
    let clock = TscClock::new();
    let (mut md_tx, md_rx) = rtrb::RingBuffer::<Event>::new(256);
    let (mut rep_tx, rep_rx) = rtrb::RingBuffer::<Event>::new(1024);
    let (out_tx, mut out_rx) = rtrb::RingBuffer::<VenueRequest>::new(256);
    let stop = Arc::new(AtomicBool::new(false));
    let engine_stop = Arc::clone(&stop);
    let writer = JournalWriter::create(base, vec![instrument()]).unwrap();
    let engine_clock = clock.clone();
    let last_timer = Arc::new(AtomicBool::new(false));
    let session = Session { last_timer: Some(Arc::clone(&last_timer)), ..Session::default() };
    let engine_thread = std::thread::spawn(move || {
        let mut e = engine_with(session);
        let mut tap = Recording { journal: JournalTap::new(writer), hashes: Vec::new() };
        let mut inputs = [md_rx, rep_rx];
        let mut out = out_tx;
        let stats = run(
            &mut e,
            &mut inputs,
            &mut out,
            &engine_clock,
            &RuntimeConfig::default(),
            &engine_stop,
            &mut tap,
        );
        let appended = tap.journal.finish().unwrap();
        assert_eq!(appended, stats.events);
        assert!(stats.timer_events > 0, "the last timer fired on a timer event: {stats:?}");
        tap.hashes
    });
    let mut filled = Vec::new();
    let mut answered = 0u64;
    let mut px = 10_000i64;
    let mut last_quote = 0i64;
    for k in 0..quotes {
        px += if k % 7 < 4 { 1 } else { -1 };
        let now = clock.now();
        last_quote = now.nanos();
        let q = Quote {
            bid: Price::from_raw(px * 10_000_000),
            bid_size: Qty::ONE,
            ask: Price::from_raw((px + 2) * 10_000_000),
            ask_size: Qty::ONE,
        };
        let ev =
            Event { ts_event: now, ts_recv: now, instrument: InstrumentId(0), payload: Payload::Quote(q) };
        while md_tx.push(ev).is_err() {
            std::thread::yield_now();
        }
        // Quotes 20 µs apart: timers (30 µs) fall between quotes as often as on them.
        while clock.now().nanos() < now.nanos() + 20_000 {
            while let Ok(req) = out_rx.pop() {
                answered += 1;
                for ev in answer(&req, &mut filled, answered, clock.now()) {
                    while rep_tx.push(ev).is_err() {
                        std::thread::yield_now();
                    }
                }
            }
            std::thread::yield_now();
        }
    }
    // Answer what is still coming until the last timer fired (the loop's own timer event fires it:
    // no event comes after the last quote) and 50 ms more, then stop. Waiting for the timer rather
    // than for a fixed time keeps the test true on a machine too loaded to run the engine thread.
    let deadline = clock.now().nanos() + 60_000_000_000;
    let silent_from = last_quote + LAST_TIMER_NS - QUIET_MARGIN_NS;
    let mut quiet = i64::MAX;
    while clock.now().nanos() < quiet.min(deadline) {
        if quiet == i64::MAX && last_timer.load(Ordering::Acquire) {
            quiet = clock.now().nanos() + 50_000_000;
        }
        if clock.now().nanos() >= silent_from {
            // Silent: whatever comes now stays unanswered (the journal ends before it).
            std::thread::yield_now();
            continue;
        }
        while let Ok(req) = out_rx.pop() {
            answered += 1;
            for ev in answer(&req, &mut filled, answered, clock.now()) {
                while rep_tx.push(ev).is_err() {
                    std::thread::yield_now();
                }
            }
        }
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Release);
    engine_thread.join().unwrap()
}

/// Replays the journal at `base` into a fresh engine; the hash after each event.
fn replay(base: &std::path::Path) -> (Vec<StateHash>, bool) {
    let journal = Journal::open_segments(base).unwrap();
    let mut e = engine();
    let mut hashes = Vec::new();
    for ev in journal.events() {
        e.on_event(&ev);
        // A replay sends nothing anywhere: the requests it makes again are dropped.
        e.drain_requests(|_| true);
        hashes.push(e.state_hash());
    }
    (hashes, journal.cut().is_some())
}

#[test]
fn a_journaled_live_session_replays_to_the_same_state_hash_event_by_event() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("session");
    let live = live_session(&base, QUOTES);
    assert!(live.len() > 1_000, "quotes, reports and timer events: {}", live.len());
    let (replayed, cut) = replay(&base);
    assert!(!cut);
    assert_eq!(replayed.len(), live.len());
    let first_diff = live.iter().zip(&replayed).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "the replay left the live session at event {first_diff:?}");
    // The session did something: the hash moved many times.
    let distinct = live.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(distinct > 500, "{distinct}");

    // Cut the journal at a random record, mid-record (a torn write): the replay stops at the last
    // whole record and its hash is the live session's there.
    let segment = segment_path(&base, 1);
    let len = std::fs::metadata(&segment).unwrap().len();
    let records = (len - Journal::open(&segment).unwrap().offset_of(0)) / 64;
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let keep = 1 + u64::from(seed) % (records - 1);
    let header = Journal::open(&segment).unwrap().offset_of(0);
    let file = std::fs::OpenOptions::new().write(true).open(&segment).unwrap();
    file.set_len(header + keep * 64 + 17).unwrap();
    drop(file);
    let (cut_hashes, cut) = replay(&base);
    assert!(cut, "the torn tail is reported");
    assert_eq!(cut_hashes.len() as u64, keep, "cut after record {keep} of {records}");
    assert_eq!(cut_hashes.last(), live.get(usize::try_from(keep).unwrap() - 1), "cut after record {keep}");
}
