//! `kestrel bench latency --gateway binance`: tick-to-trade latency through the whole live path on
//! loopback, measured by the venue.
//!
//! # Layout
//! - **Simulator** (`kestrel sim binance`, in process, plain HTTP/WS on `127.0.0.1:0`) with its
//!   measurement probe armed ([`kestrel_sim_binance::probe`]): a still synthetic market, ticks
//!   (bookTicker frames of the book's top) published closed-loop by the caller's thread.
//! - **Gateway thread** (core 1 unless `--no-pin`): [`GatewayThread`] over [`BinanceVenue`] in
//!   paper mode at the simulator, polling without waiting (`poll_timeout` 0: a blocking poll
//!   would hold the engine's order until the next socket event or the poll's millisecond
//!   timeout) and yielding between passes.
//! - **Engine thread** (core 0 unless `--no-pin`): the runtime's `run()` loop,
//!   `VenueMode::External`, backing off to yields when idle, with [`OnePerTick`]: one IOC limit
//!   order per quote, 1 % away from the touch on alternating sides, so it never fills and nothing
//!   rests.
//!
//! # Why both threads yield by default
//! The simulator's threads (the stream writer, the REST reader that stamps the order) share the
//! machine. On two cores with both threads spinning, a simulator thread that wakes waits for the
//! scheduler's tick (4 ms at HZ=250) before it runs, and that wait lands in the measurement (on
//! a 2-core box under the same build load: p99 12–31 ms spinning, ≈ 4 ms yielding).
//! `--gateway-spin` spins, for hosts with cores to spare.
//!
//! # What is measured
//! `gateway_tick_to_order` = the instant the simulator hands a tick's WebSocket frame to the
//! kernel → the instant it has read and parsed the signed `POST /api/v3/order` that answers it.
//! Both are `std::time::Instant` (the monotonic clock) in the simulator's connection threads.
//! The path in between: loopback TCP, the gateway's WebSocket read and decode, the inbound ring,
//! the engine and strategy, the outbound ring, the gateway's order mapping, filter checks,
//! HMAC signing and HTTP write, loopback TCP again. Ticks follow the probe's closed-loop
//! correlation rule (one tick in flight, paced no faster than `--gateway-rate`), so there is no
//! queueing between samples and no coordinated omission to correct.
//!
//! # Rate budgets
//! `BinanceVenue` declares Binance's budgets (100 orders per 10 s): the bench would measure the
//! throttle's hold queue. The simulator enforces no order-rate limit, so the bench wraps the
//! venue ([`Unthrottled`]) with the same budgets at a limit no run reaches.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use hdrhistogram::Histogram;
use kestrel_cli::report::latency::write_latency_report;
use kestrel_engine::engine::{
    Engine, EngineConfig, EngineCounters, OrderKind, OrderRequest, TickContext, TickStrategy, TimeInForce,
    VenueMode, VenueRequest,
};
use kestrel_engine::order::Side;
use kestrel_gateway::{
    Budget, Context, Diagnostic, Endpoint, GatewayConfig, GatewayError, GatewayThread, Input, Secrets,
    SystemClock, Venue,
};
use kestrel_gw_binance::session::{BinanceConfig, BinanceVenue, Mode, SymbolConfig};
use kestrel_runtime::clock::TscClock;
use kestrel_runtime::{NoTap, RuntimeConfig, RuntimeStats, run};
use kestrel_sim_binance::{Correlation, Credentials, Pace, ProbeConfig, SimConfig, Simulator};
use kestrel_types::{
    Event, Instrument, InstrumentId, InstrumentSpec, Money, Price, Qty, Quote, Ratio, VenueId,
};

/// The traded symbol and its grid (the simulator's BTCUSDT listing).
const SYMBOL: &str = "BTCUSDT";
/// Ring sizes, as a live session's.
const EVENTS_RING: usize = 1 << 14;
const REQUESTS_RING: usize = 1 << 12;
/// How long the gateway may take to connect, subscribe and load exchangeInfo.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// How long a tick waits for its order before the next goes anyway (a lost order, not latency).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);
/// Unanswered ticks in a row after which the run stops with an error.
const GIVE_UP_AFTER: u64 = 5;

/// What `kestrel bench latency --gateway` measures through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GatewayKind {
    /// `BinanceVenue` against `kestrel sim binance`.
    Binance,
}

/// The gateway run's settings (from `kestrel bench latency`'s flags).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GatewayBench<'a> {
    pub(crate) gateway: GatewayKind,
    pub(crate) samples: u64,
    pub(crate) warmup: u64,
    /// Ticks per second at most (the closed loop may be slower).
    pub(crate) rate: u64,
    pub(crate) pin: bool,
    /// Both threads busy-spin without yielding (cores of their own, the simulator elsewhere).
    pub(crate) spin: bool,
    pub(crate) out: &'a Path,
}

/// The bench's strategy: one IOC limit per quote, 1 % outside the touch (never fills, never
/// rests), alternating buy and sell.
#[derive(Debug)]
struct OnePerTick {
    size: Qty,
    tick: Price,
    buy: bool,
    /// Submissions the engine refused.
    refused: u64,
}

impl OnePerTick {
    /// `touch` moved 1 % away from the market, onto the tick grid.
    fn away(&self, touch: Price, buy: bool) -> Price {
        let step = touch.raw() / 100;
        let step = step - step % self.tick.raw();
        Price::from_raw(if buy { touch.raw() - step } else { touch.raw() + step })
    }
}

impl TickStrategy for OnePerTick {
    const ON_BOOK: bool = false;

    fn on_quote(&mut self, ctx: &mut TickContext<'_>, ins: InstrumentId, quote: &Quote) {
        let (side, touch) = if self.buy { (Side::Buy, quote.bid) } else { (Side::Sell, quote.ask) };
        let limit = self.away(touch, self.buy);
        self.buy = !self.buy;
        let request =
            OrderRequest::new(ins, side, self.size, OrderKind::Limit { limit }).with_tif(TimeInForce::Ioc);
        self.refused += u64::from(ctx.submit(request).is_err());
    }
}

/// [`BinanceVenue`] with its rate budgets lifted (module docs): same kinds and windows, so the
/// venue's `observe_used` indices still match.
struct Unthrottled {
    inner: BinanceVenue,
    budgets: Vec<Budget>,
}

impl Unthrottled {
    /// A limit no bench run reaches in one window.
    const LIMIT: u32 = 1 << 30;

    fn new(inner: BinanceVenue) -> Self {
        let budgets = inner.budgets().iter().map(|b| Budget { limit: Self::LIMIT, ..*b }).collect();
        Self { inner, budgets }
    }
}

impl Venue for Unthrottled {
    const NAME: &'static str = BinanceVenue::NAME;

    fn endpoints(&self) -> &[Endpoint] {
        self.inner.endpoints()
    }

    fn budgets(&self) -> &[Budget] {
        &self.budgets
    }

    fn on_input(&mut self, input: Input<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        self.inner.on_input(input, cx)
    }

    fn on_request(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        self.inner.on_request(req, cx)
    }
}

/// Loopback-only throwaway credentials, fresh per run (the simulator accepts exactly these).
fn throwaway_keys() -> (String, String) {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let pid = std::process::id();
    (format!("bench{pid:x}k{nanos:x}"), format!("bench{pid:x}s{nanos:x}"))
}

fn instrument() -> Result<Instrument> {
    let spec = InstrumentSpec {
        symbol: SYMBOL.into(),
        venue: VenueId(0),
        tick_size: "0.01".parse().map_err(|e| anyhow!("tick size: {e:?}"))?,
        lot_size: "0.00001".parse().map_err(|e| anyhow!("lot size: {e:?}"))?,
        display_decimals: 2,
        multiplier: Ratio::ONE,
        quote_currency: "USDT".parse().map_err(|e| anyhow!("currency: {e:?}"))?,
        settlement_currency: "USDT".parse().map_err(|e| anyhow!("currency: {e:?}"))?,
    };
    Instrument::try_new(InstrumentId(0), spec).map_err(|e| anyhow!("instrument: {e:?}"))
}

fn venue_at(addr: SocketAddr, key: String, secret: String) -> Result<Unthrottled> {
    let config = BinanceConfig {
        mode: Mode::Paper,
        rest_url: Some(format!("http://{addr}")),
        stream_url: Some(format!("ws://{addr}")),
        ws_api_url: Some(format!("ws://{addr}/ws-api/v3")),
        symbols: vec![SymbolConfig { symbol: SYMBOL.into(), instrument: 0 }],
        ..BinanceConfig::default()
    };
    let secrets = Secrets::from_values([("api_key", key), ("api_secret", secret)])?;
    Ok(Unthrottled::new(BinanceVenue::new(config, &secrets)?))
}

/// What the two threads did.
#[derive(Debug)]
struct Threads {
    engine: EngineCounters,
    runtime: RuntimeStats,
    refused: u64,
    gateway_pinned: bool,
    rejections: Vec<String>,
    diagnostics: Vec<String>,
}

/// The measured run.
struct Measured {
    run: Correlation,
    warmup: Correlation,
    threads: Threads,
}

/// Starts the simulator, the gateway and the engine, runs the probe, stops everything.
fn measure(bench: &GatewayBench<'_>) -> Result<Measured> {
    let (key, secret) = throwaway_keys();
    let creds = Credentials { api_key: Some(key.clone()), secret: Some(secret.clone()), ed25519: None };
    let mut sim_config = SimConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), creds);
    sim_config.probe = Some(ProbeConfig::default());
    let sim = Simulator::start(sim_config).context("starting the simulator")?;
    let probe = sim.probe(SYMBOL)?;
    let venue = venue_at(sim.addr(), key, secret)?;
    let instruments = vec![instrument()?];
    let strategy = OnePerTick {
        size: "0.001".parse().map_err(|e| anyhow!("size: {e:?}"))?,
        tick: instruments[0].tick_size(),
        buy: true,
        refused: 0,
    };

    let (events_tx, mut events_rx) = rtrb::RingBuffer::<Event>::new(EVENTS_RING);
    let (mut requests_tx, requests_rx) = rtrb::RingBuffer::<VenueRequest>::new(REQUESTS_RING);
    let stop_engine = Arc::new(AtomicBool::new(false));
    let stop_gateway = Arc::new(AtomicBool::new(false));
    let diagnostics = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&diagnostics);
    let gateway_config = GatewayConfig { poll_timeout: Duration::ZERO, ..GatewayConfig::default() };
    let mut gateway = GatewayThread::new(venue, gateway_config, SystemClock, events_tx, requests_rx)
        .map_err(|e| anyhow!("gateway: {e}"))?
        // Diagnostics never carry secrets (kestrel-gateway's rule); they go to the run file.
        .with_diagnostics(move |d: &Diagnostic<'_>| {
            if let Ok(mut all) = sink.lock() {
                all.push(d.to_string());
            }
        });
    let gateway_core = bench.pin.then_some(1);
    let spin = bench.spin;
    let stop = Arc::clone(&stop_gateway);
    let gateway_thread = std::thread::Builder::new()
        .name("kestrel-gateway".into())
        .spawn(move || {
            let pinned = gateway_core.is_some_and(kestrel_runtime::pin_or_warn);
            while !stop.load(Ordering::Relaxed) {
                gateway.turn();
                if !spin {
                    std::thread::yield_now();
                }
            }
            // Stop is set: `run` only closes the connections.
            gateway.run(&stop);
            let rejections = gateway
                .venue()
                .inner
                .recent_rejections()
                .map(|(id, why)| format!("order {}: {why}", id.0))
                .collect();
            (pinned, rejections)
        })
        .context("starting the gateway thread")?;

    let stop = Arc::clone(&stop_engine);
    let runtime =
        RuntimeConfig { core: bench.pin.then_some(0), spin: bench.spin, ..RuntimeConfig::default() };
    let engine_thread = std::thread::Builder::new()
        .name("kestrel-engine".into())
        .spawn(move || -> Result<_> {
            let config = EngineConfig {
                venue: VenueMode::External,
                cash: Money::try_from_units(100_000).map_err(|e| anyhow!("cash: {e:?}"))?,
                resting_per_instrument: 64,
                max_orders: 1024,
                ..EngineConfig::new(instruments.len())
            };
            let mut engine = Engine::try_new(config, strategy).map_err(|e| anyhow!("engine: {e}"))?;
            engine.set_instruments(&instruments);
            engine.start();
            let clock = TscClock::new();
            let inputs = std::slice::from_mut(&mut events_rx);
            let stats = run(&mut engine, inputs, &mut requests_tx, &clock, &runtime, &stop, &mut NoTap);
            Ok((engine.counters(), stats, engine.strategy().refused))
        })
        .context("starting the engine thread")?;

    let probed = drive(&probe, bench);
    stop_engine.store(true, Ordering::Release);
    let engine = engine_thread.join().map_err(|_| anyhow!("the engine thread panicked"))?;
    stop_gateway.store(true, Ordering::Release);
    let (gateway_pinned, rejections) =
        gateway_thread.join().map_err(|_| anyhow!("the gateway thread panicked"))?;
    let diagnostics = diagnostics.lock().map(|d| d.clone()).unwrap_or_default();
    let (engine, runtime, refused) = engine?;
    let threads = Threads { engine, runtime, refused, gateway_pinned, rejections, diagnostics };
    sim.stop();
    match probed {
        Ok((warmup, run)) => Ok(Measured { run, warmup, threads }),
        Err(e) => Err(e.context(format!(
            "gateway diagnostics: {:?}; rejections: {:?}",
            threads.diagnostics, threads.rejections
        ))),
    }
}

/// Waits for the gateway's market stream, then runs the warm-up and the measured ticks.
fn drive(
    probe: &kestrel_sim_binance::TickProbe,
    bench: &GatewayBench<'_>,
) -> Result<(Correlation, Correlation)> {
    let began = Instant::now();
    while probe.followers() == 0 {
        if began.elapsed() > CONNECT_WITHIN {
            bail!("the gateway did not subscribe to {SYMBOL}'s bookTicker within {CONNECT_WITHIN:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let min_gap = Duration::from_nanos(1_000_000_000 / bench.rate.max(1));
    // The first order waits for exchangeInfo (the gateway checks filters before sending).
    let first = probe.run(&Pace {
        ticks: 1,
        min_gap,
        answer_timeout: CONNECT_WITHIN.saturating_sub(began.elapsed()),
        give_up_after: 1,
    });
    if first.unanswered != 0 {
        bail!("the gateway sent no order for the first tick within {CONNECT_WITHIN:?}");
    }
    let pace = |ticks| Pace { ticks, min_gap, answer_timeout: ANSWER_TIMEOUT, give_up_after: GIVE_UP_AFTER };
    let warmup = probe.run(&pace(bench.warmup));
    let run = probe.run(&pace(bench.samples));
    for (what, c) in [("warm-up", &warmup), ("measured run", &run)] {
        if c.gave_up {
            bail!("{what}: {GIVE_UP_AFTER} ticks in a row got no order: {c:?}");
        }
    }
    Ok((warmup, run))
}

fn histogram(samples: &[u64]) -> Result<Histogram<u64>> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
    for s in samples {
        // Saturates at the top bound rather than fail: the max is reported, never dropped.
        h.saturating_record((*s).max(1));
    }
    Ok(h)
}

/// Runs the gateway bench, prints its JSON line, writes the report.
pub(crate) fn run_gateway(bench: &GatewayBench<'_>, out: &mut impl Write) -> Result<()> {
    let GatewayKind::Binance = bench.gateway;
    if bench.samples == 0 {
        bail!("--samples must be positive");
    }
    let m = measure(bench)?;
    let c = &m.run;
    if c.samples.is_empty() {
        bail!("no tick was measured: {c:?}");
    }
    let h = histogram(&c.samples)?;
    let q = |x: f64| h.value_at_quantile(x);
    writeln!(
        out,
        "{{\"gateway\":\"binance\",\"samples\":{},\"gateway_tick_to_order_p50_ns\":{},\
         \"gateway_tick_to_order_p99_ns\":{},\"gateway_tick_to_order_p999_ns\":{},\
         \"gateway_tick_to_order_max_ns\":{},\"ticks\":{},\"unanswered\":{},\"ambiguous\":{},\
         \"extra_orders\":{},\"rate_limit_per_s\":{},\"pinned\":{}}}",
        h.len(),
        q(0.5),
        q(0.99),
        q(0.999),
        h.max(),
        c.ticks,
        c.unanswered,
        c.ambiguous,
        c.extra,
        bench.rate,
        m.threads.runtime.pinned && m.threads.gateway_pinned,
    )?;
    let title = format!("gateway tick-to-order, Binance on loopback (≤ {} ticks/s, closed loop)", bench.rate);
    write_latency_report(bench.out, "gateway_latency", &title, &[("gateway_tick_to_order", &h)])
        .with_context(|| format!("writing {}", bench.out.display()))?;
    let t = &m.threads;
    let summary = format!(
        "clock: std::time::Instant (monotonic) in the simulator, both ends\n\
         engine pinned: {}, gateway pinned: {}, spin (no yield when idle): {}, gateway poll_timeout: 0\n\
         warm-up: {:?}\nmeasured: ticks {}, samples {}, unanswered {}, ambiguous {}, extra {}, orphan {}, undelivered {}\n\
         engine: {:?}\nstrategy refusals: {}\nloop: {:?}\ngateway rejections: {:?}\ngateway diagnostics: {:?}\n",
        t.runtime.pinned,
        t.gateway_pinned,
        bench.spin,
        Correlation { samples: Vec::new(), ..m.warmup.clone() },
        c.ticks,
        c.samples.len(),
        c.unanswered,
        c.ambiguous,
        c.extra,
        c.orphan,
        c.undelivered,
        t.engine,
        t.refused,
        t.runtime,
        t.rejections,
        t.diagnostics,
    );
    let path = bench.out.join("gateway_run.txt");
    std::fs::write(&path, summary.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("kestrel bench latency --gateway binance: report in {}", bench.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strategy_prices_one_percent_outside_the_touch_on_the_grid() {
        let s = OnePerTick { size: Qty::ONE, tick: Price::from_raw(10_000_000), buy: true, refused: 0 };
        let touch: Price = "60000.37".parse().unwrap();
        assert_eq!(s.away(touch, true), "59400.37".parse::<Price>().unwrap());
        assert_eq!(s.away(touch, false), "60600.37".parse::<Price>().unwrap());
        let odd: Price = "12345.67".parse().unwrap();
        // 1 % is 123.4567: 123.45 on the cent grid.
        assert_eq!(s.away(odd, true), "12222.22".parse::<Price>().unwrap());
    }
}
