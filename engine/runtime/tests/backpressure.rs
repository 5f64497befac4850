//! A full outbound ring: requests wait in the engine's bounded queue, in order, the loop counts
//! the stalls, nothing is dropped; once the queue is full new orders are refused with the reason;
//! when the gateway drains the ring, every kept request goes out, in order. Shutdown drains what
//! the inbound rings hold.

use std::sync::atomic::AtomicBool;

use kestrel_engine::engine::{
    Engine, EngineConfig, OrderKind, SubmitError, TickContext, TickStrategy, VenueMode,
};
use kestrel_runtime::clock::TscClock;
use kestrel_runtime::{NoTap, RuntimeConfig, run};
use kestrel_types::{Event, InstrumentId, Money, Payload, Price, Qty, Quote, Timestamp};

/// A buy for every quote; remembers the refusals.
#[derive(Default)]
struct Eager {
    refusals: Vec<SubmitError>,
}

impl TickStrategy for Eager {
    fn on_quote(&mut self, ctx: &mut TickContext<'_>, ins: InstrumentId, _q: &Quote) {
        if let Err(e) = ctx.buy(ins, Qty::ONE, OrderKind::Market) {
            self.refusals.push(e);
        }
    }
}

fn quote(k: i64) -> Event {
    let t = Timestamp::from_nanos(1_000 + k);
    let q = Quote {
        bid: Price::from_raw(100),
        bid_size: Qty::ONE,
        ask: Price::from_raw(200),
        ask_size: Qty::ONE,
    };
    Event { ts_event: t, ts_recv: t, instrument: InstrumentId(0), payload: Payload::Quote(q) }
}

#[test]
fn a_full_outbound_ring_keeps_requests_in_order_and_then_refuses_with_the_reason() {
    let config = EngineConfig {
        venue: VenueMode::External,
        queue: 4,
        cash: Money::try_from_units(1_000).unwrap(),
        ..EngineConfig::new(1)
    };
    let mut engine = Engine::try_new(config, Eager::default()).unwrap();
    let (mut md_tx, md_rx) = rtrb::RingBuffer::<Event>::new(64);
    let (mut out_tx, mut out_rx) = rtrb::RingBuffer::new(2);
    for k in 0..10 {
        md_tx.push(quote(k)).unwrap();
    }
    // Stop is already set: the loop drains the inbound ring, then returns.
    let stop = AtomicBool::new(true);
    let clock = TscClock::new();
    let mut inputs = [md_rx];
    let stats =
        run(&mut engine, &mut inputs, &mut out_tx, &clock, &RuntimeConfig::default(), &stop, &mut NoTap);
    assert_eq!(stats.events, 10, "every queued event was processed before the shutdown");
    // Two on the ring, four kept in the engine's queue, four refused.
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.unsent, 4);
    assert!(stats.stalls >= 1);
    assert_eq!(engine.strategy().refusals, vec![SubmitError::QueueFull { capacity: 4 }; 4]);
    assert_eq!(engine.counters().orders, 6);
    // The gateway catches up: everything kept goes out, in submission order.
    let mut ids = Vec::new();
    while let Ok(r) = out_rx.pop() {
        ids.push(r.order.0);
    }
    while engine.pending_requests() > 0 {
        engine.drain_requests(|r| out_tx.push(*r).is_ok());
        while let Ok(r) = out_rx.pop() {
            ids.push(r.order.0);
        }
    }
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6]);
}
