//! The gateway thread with a clock the test moves by hand: venue timers fire exactly when the
//! clock reaches them, and reconnects follow the seeded backoff schedule to the nanosecond.

mod support;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use kestrel_gateway::{
    Backoff, BackoffPolicy, Clock, Diagnostic, Endpoint, GatewayConfig, GatewayThread, Input, Venue,
};
use kestrel_types::{TimeSpan, Timestamp};
use support::*;

const SEC: i64 = 1_000_000_000;

/// A clock that moves only when the test says.
#[derive(Clone, Default)]
struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    fn advance(&self, ns: i64) {
        self.0.fetch_add(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

fn gateway<V: Venue>(venue: V, config: GatewayConfig, clock: ManualClock) -> GatewayThread<V, ManualClock> {
    let (events, _events_rx) = rtrb::RingBuffer::new(8);
    let (_requests_tx, requests) = rtrb::RingBuffer::new(8);
    GatewayThread::new(venue, config, clock, events, requests).unwrap()
}

fn timers_fired(venue: &TestVenue) -> Vec<(i64, u64)> {
    venue
        .log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(t, s)| if let Seen::Timer(token) = s { Some((t.nanos(), *token)) } else { None })
        .collect()
}

#[test]
fn timers_fire_when_the_given_clock_reaches_them() {
    let clock = ManualClock::default();
    clock.advance(1_000 * SEC);
    let venue = TestVenue::new(Vec::new(), |input, cx, _| {
        if let Input::Started = input {
            let at = |s: i64| Timestamp::from_nanos(cx.now.nanos() + s);
            cx.wire.set_timer(at(5 * SEC), 1);
            cx.wire.set_timer(at(2 * SEC), 2);
            cx.wire.set_timer(at(2 * SEC), 3);
        }
        if let Input::Timer { token: 2 } = input {
            cx.wire.set_timer(cx.now, 4);
        }
        Ok(())
    });
    let mut gw = gateway(venue, GatewayConfig::default(), clock.clone());
    gw.turn();
    assert!(timers_fired(gw.venue()).is_empty());
    clock.advance(2 * SEC - 1);
    gw.turn();
    assert!(timers_fired(gw.venue()).is_empty(), "one nanosecond early");
    clock.advance(1);
    gw.turn();
    let t2 = 1_002 * SEC;
    assert_eq!(timers_fired(gw.venue()), [(t2, 2), (t2, 3), (t2, 4)], "equal deadlines in the order set");
    clock.advance(3 * SEC);
    gw.turn();
    assert_eq!(timers_fired(gw.venue()).last(), Some(&(1_005 * SEC, 1)));
}

#[test]
fn reconnects_follow_the_seeded_backoff_schedule_exactly() {
    let port = listener().1.port();
    let policy =
        BackoffPolicy { initial: TimeSpan::from_nanos(SEC), max: TimeSpan::from_nanos(8 * SEC), seed: 99 };
    let clock = ManualClock::default();
    clock.advance(50 * SEC);
    let venue = TestVenue::new(vec![Endpoint::http("rest", "127.0.0.1", port, false)], |input, cx, _| {
        if let Input::Started = input {
            cx.wire.open(conn(0))?;
        }
        Ok(())
    });
    let delays: Arc<Mutex<Vec<(i64, u32)>>> = Arc::default();
    let connects = Arc::new(AtomicI64::new(0));
    let mut gw = {
        let (delays, connects) = (Arc::clone(&delays), Arc::clone(&connects));
        gateway(venue, GatewayConfig { backoff: policy, ..GatewayConfig::default() }, clock.clone())
            .with_diagnostics(move |d| match d {
                Diagnostic::Reconnecting { after, attempt, .. } => {
                    delays.lock().unwrap().push((after.nanos(), *attempt))
                }
                Diagnostic::Connecting { .. } => {
                    connects.fetch_add(1, Ordering::SeqCst);
                }
                _ => {}
            })
    };
    let mut expected = Backoff::new(policy);
    for attempt in 1..=7u32 {
        // Turn (real sockets: the refusal arrives as an event) until this attempt has failed.
        for _ in 0..5_000 {
            if delays.lock().unwrap().len() == attempt as usize {
                break;
            }
            gw.turn();
        }
        let (after, n) = *delays.lock().unwrap().last().unwrap();
        assert_eq!((after, n), (expected.next_delay().nanos(), attempt));
        // Nothing happens a nanosecond before the deadline; the attempt comes at it.
        let before = connects.load(Ordering::SeqCst);
        clock.advance(after - 1);
        for _ in 0..3 {
            gw.turn();
        }
        assert_eq!(connects.load(Ordering::SeqCst), before, "attempt {attempt} came early");
        clock.advance(1);
        gw.turn();
        assert_eq!(connects.load(Ordering::SeqCst), before + 1, "attempt {attempt} did not come");
    }
    let delays = delays.lock().unwrap().clone();
    assert!(delays.iter().skip(4).all(|(d, _)| *d <= 8 * SEC && *d >= 4 * SEC), "capped: {delays:?}");
}
