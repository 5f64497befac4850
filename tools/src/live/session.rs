//! One live session: the engine on its thread (the runtime loop of `kestrel-runtime`, venue mode
//! `External`), the gateway on another (`kestrel_gateway::GatewayThread` over a venue), two SPSC
//! rings between them, and a clean end: when the time is up the engine cancels every open order
//! (its kill switch), keeps running while the answers come back, then both threads stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use kestrel_engine::engine::{Engine, EngineConfig, EngineCounters, TickStrategy, VenueMode, VenueRequest};
use kestrel_gateway::{Diagnostic, GatewayConfig, GatewayThread, InboxStats, SystemClock, Venue};
use kestrel_runtime::clock::TscClock;
use kestrel_runtime::{NoTap, RuntimeConfig, RuntimeStats, run};
use kestrel_types::{Event, Instrument, Money, Qty};

/// Ring sizes: a burst of market data while the engine is busy must not stall the gateway.
const EVENTS_RING: usize = 1 << 14;
const REQUESTS_RING: usize = 1 << 12;

/// The longest the engine waits for the answers to its final cancels (a venue holding requests for
/// its rate limit answers late), checking every `WIND_DOWN_STEP` whether anything is still open.
const WIND_DOWN: Duration = Duration::from_secs(15);
const WIND_DOWN_STEP: Duration = Duration::from_millis(100);

/// What a session did.
#[derive(Debug)]
pub(crate) struct SessionReport {
    pub(crate) counters: EngineCounters,
    pub(crate) runtime: RuntimeStats,
    pub(crate) inbox: InboxStats,
    /// `(symbol, position)` per instrument.
    pub(crate) positions: Vec<(String, Qty)>,
    pub(crate) cash: Money,
    pub(crate) fees: Money,
    /// Orders still open when the session ended (their cancels unanswered): id, status, whether a
    /// cancel is pending.
    pub(crate) open_at_end: Vec<(u64, kestrel_engine::order::Status, bool)>,
    /// What the gateway reported (reconnects, refusals), one line each.
    pub(crate) diagnostics: Vec<String>,
}

/// What the session needs besides the venue.
pub(crate) struct SessionSetup {
    pub(crate) instruments: Vec<Instrument>,
    pub(crate) cash: Money,
    pub(crate) seconds: f64,
    pub(crate) engine_core: Option<usize>,
    pub(crate) gateway: GatewayConfig,
    /// The engine's pre-trade limits (an order rate under the venue's own limit, say).
    pub(crate) risk: kestrel_engine::engine::RiskLimits,
}

/// Runs `strategy` against `venue` for `setup.seconds`, then winds down (module docs).
pub(crate) fn run_session<V: Venue, S: TickStrategy + Send + 'static>(
    venue: V,
    strategy: S,
    setup: SessionSetup,
) -> Result<SessionReport> {
    let (events_tx, mut events_rx) = rtrb::RingBuffer::<Event>::new(EVENTS_RING);
    let (mut requests_tx, requests_rx) = rtrb::RingBuffer::<VenueRequest>::new(REQUESTS_RING);
    let gateway_stop = Arc::new(AtomicBool::new(false));
    let trading_stop = Arc::new(AtomicBool::new(false));
    let diagnostics = Arc::new(std::sync::Mutex::new(Vec::new()));

    let sink = Arc::clone(&diagnostics);
    let mut gateway = GatewayThread::new(venue, setup.gateway, SystemClock, events_tx, requests_rx)
        .map_err(|e| anyhow!("gateway: {e}"))?
        // Diagnostics never carry secrets (kestrel-gateway's rule); they are shown after the run
        // and as they come, on stderr.
        .with_diagnostics(move |d: &Diagnostic<'_>| {
            let line = d.to_string();
            eprintln!("kestrel live: gateway: {line}");
            if let Ok(mut all) = sink.lock() {
                all.push(line);
            }
        });
    let stop = Arc::clone(&gateway_stop);
    let gateway_thread = std::thread::Builder::new()
        .name("kestrel-gateway".into())
        .spawn(move || {
            gateway.run(&stop);
            gateway.inbox_stats()
        })
        .context("starting the gateway thread")?;

    let instruments = setup.instruments.clone();
    let trading = Arc::clone(&trading_stop);
    let core = setup.engine_core;
    let (cash, risk) = (setup.cash, setup.risk);
    let engine_thread = std::thread::Builder::new()
        .name("kestrel-engine".into())
        .spawn(move || -> Result<_> {
            let config = EngineConfig {
                venue: VenueMode::External,
                cash,
                risk,
                ..EngineConfig::new(instruments.len())
            };
            let mut engine = Engine::try_new(config, strategy).map_err(|e| anyhow!("engine: {e}"))?;
            engine.set_instruments(&instruments);
            engine.start();
            let clock = TscClock::new();
            // Shared cores (the gateway runs beside it): back off when idle rather than spin.
            let runtime = RuntimeConfig { core, ..RuntimeConfig::default() };
            let inputs = std::slice::from_mut(&mut events_rx);
            let mut stats =
                run(&mut engine, inputs, &mut requests_tx, &clock, &runtime, &trading, &mut NoTap);
            // Time is up: cancel everything and keep the loop running, in short steps, until
            // nothing is open or the wind-down time is over.
            engine.context().kill_switch();
            let deadline = Instant::now() + WIND_DOWN;
            loop {
                let step = AtomicBool::new(false);
                let wind = std::thread::scope(|s| {
                    s.spawn(|| {
                        std::thread::sleep(WIND_DOWN_STEP);
                        step.store(true, Ordering::Release);
                    });
                    run(&mut engine, &mut *inputs, &mut requests_tx, &clock, &runtime, &step, &mut NoTap)
                });
                stats.events += wind.events;
                stats.requests += wind.requests;
                stats.unsent = wind.unsent;
                if engine.context().open_orders().next().is_none() || Instant::now() >= deadline {
                    break;
                }
            }
            let open = engine
                .context()
                .open_orders()
                .map(|o| (o.id.0, o.status, o.cancel_pending))
                .collect::<Vec<_>>();
            Ok((engine, stats, open))
        })
        .context("starting the engine thread")?;

    let started = Instant::now();
    let until = Duration::from_secs_f64(setup.seconds.max(0.0));
    while started.elapsed() < until && !engine_thread.is_finished() {
        std::thread::sleep(Duration::from_millis(20).min(until.saturating_sub(started.elapsed())));
    }
    trading_stop.store(true, Ordering::Release);
    let joined = engine_thread.join();
    gateway_stop.store(true, Ordering::Release);
    let inbox = gateway_thread.join().map_err(|_| anyhow!("the gateway thread panicked"))?;
    let (engine, runtime, open_at_end) = joined.map_err(|_| anyhow!("the engine thread panicked"))??;
    let ledger = engine.ledger();
    let positions = setup
        .instruments
        .iter()
        .map(|ins| (ins.symbol().to_owned(), ledger.position(ins.id()).size()))
        .collect();
    let diagnostics = diagnostics.lock().map(|d| d.clone()).unwrap_or_default();
    Ok(SessionReport {
        counters: engine.counters(),
        runtime,
        inbox,
        positions,
        cash: ledger.cash(),
        fees: ledger.fees(),
        open_at_end,
        diagnostics,
    })
}

#[cfg(test)]
mod tests {
    use kestrel_engine::engine::RequestKind;
    use kestrel_engine::order::Status;
    use kestrel_engine::strategy::quoter::{Quoter, QuoterParams};
    use kestrel_gateway::{Context, Endpoint, GatewayError, Input};
    use kestrel_types::{
        ExecRecord, InstrumentId, InstrumentSpec, Payload, Price, Quote, Ratio, TimeSpan, VenueId,
    };

    use super::*;

    /// A venue inside the gateway thread with no connection: a quote every millisecond around 100,
    /// orders acknowledged at once, limits filled when the next quote crosses them, cancels
    /// answered. Enough to prove the session's threads, rings and wind-down.
    #[derive(Default)]
    struct Loopback {
        tick: i64,
        open: Vec<(u64, bool, Price, Qty)>,
        exec: u64,
    }

    fn code(s: Status) -> u8 {
        Status::ALL.iter().position(|x| *x == s).and_then(|i| u8::try_from(i).ok()).unwrap()
    }

    impl Loopback {
        fn report(&mut self, cx: &mut Context<'_>, order: u64, status: Status, qty: Qty, price: Price) {
            self.exec += 1;
            let r = ExecRecord { order, exec: self.exec, status: code(status), qty, price, fee: 0 };
            let ev = Event {
                ts_event: cx.now,
                ts_recv: cx.now,
                instrument: InstrumentId(0),
                payload: Payload::Exec(r),
            };
            cx.inbox.push(ev).unwrap();
        }
    }

    impl Venue for Loopback {
        const NAME: &'static str = "loopback";

        fn endpoints(&self) -> &[Endpoint] {
            &[]
        }

        fn on_input(&mut self, input: Input<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError> {
            if matches!(input, Input::Started | Input::Timer { .. }) {
                self.tick += 1;
                // A mid jumping 100.00 ↔ 100.05: each jump crosses the quoter's last quotes.
                let bid = Price::from_raw(100_000_000_000 + (self.tick % 2) * 50_000_000);
                let ask = Price::from_raw(bid.raw() + 10_000_000);
                let size = Qty::from_raw(5_000_000_000);
                let q = Quote { bid, bid_size: size, ask, ask_size: size };
                let ev = Event {
                    ts_event: cx.now,
                    ts_recv: cx.now,
                    instrument: InstrumentId(0),
                    payload: Payload::Quote(q),
                };
                cx.inbox.push(ev).map_err(GatewayError::from)?;
                let crossed: Vec<_> = self
                    .open
                    .iter()
                    .filter(|(_, buy, limit, _)| if *buy { ask <= *limit } else { bid >= *limit })
                    .copied()
                    .collect();
                for (id, _, limit, size) in crossed {
                    self.open.retain(|o| o.0 != id);
                    self.report(cx, id, Status::Completed, size, limit);
                }
                let next = cx.now.checked_add(TimeSpan::from_nanos(1_000_000)).unwrap_or(cx.now);
                cx.wire.set_timer(next, 0);
            }
            Ok(())
        }

        fn on_request(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
            let id = req.order.0;
            match req.kind {
                RequestKind::New => {
                    let limit = req.request.kind.price().unwrap_or(Price::ZERO);
                    let buy = req.request.side == kestrel_engine::order::Side::Buy;
                    self.open.push((id, buy, limit, req.request.size));
                    self.report(cx, id, Status::Accepted, Qty::ZERO, Price::ZERO);
                }
                RequestKind::Cancel => {
                    let was_open = self.open.iter().any(|o| o.0 == id);
                    self.open.retain(|o| o.0 != id);
                    let status = if was_open { Status::Canceled } else { Status::Completed };
                    self.report(cx, id, status, Qty::ZERO, Price::ZERO);
                }
                RequestKind::Amend => self.report(cx, id, Status::Rejected, Qty::ZERO, Price::ZERO),
            }
            Ok(())
        }
    }

    #[test]
    fn a_session_trades_then_cancels_everything_and_reports_what_it_did() {
        let spec = InstrumentSpec {
            symbol: "TEST".into(),
            venue: VenueId(0),
            tick_size: Price::from_raw(10_000_000),
            lot_size: Qty::from_raw(1_000_000),
            display_decimals: 2,
            multiplier: Ratio::ONE,
            quote_currency: "USD".parse().unwrap(),
            settlement_currency: "USD".parse().unwrap(),
        };
        let instrument = Instrument::try_new(InstrumentId(0), spec).unwrap();
        let params = QuoterParams {
            size: Qty::from_raw(10_000_000),
            max_position: Qty::from_raw(50_000_000),
            ..QuoterParams::default()
        };
        let setup = SessionSetup {
            instruments: vec![instrument],
            cash: Money::try_from_units(10_000).unwrap(),
            seconds: 0.5,
            engine_core: None,
            gateway: GatewayConfig::default(),
            risk: kestrel_engine::engine::RiskLimits::default(),
        };
        let report = run_session(Loopback::default(), Quoter::new(params), setup).unwrap();
        assert!(report.counters.orders > 0, "{report:?}");
        assert!(report.counters.fills > 0, "{report:?}");
        assert!(report.open_at_end.is_empty(), "every order canceled or done at the end: {report:?}");
        assert_eq!(report.counters.unknown_reports, 0, "{report:?}");
        assert!(report.positions[0].1.abs() <= Qty::from_raw(50_000_000), "{report:?}");
    }
}
