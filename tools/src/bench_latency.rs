//! `kestrel bench latency`: the live runtime's tick-to-order latency on two threads, against the
//! bare ring round trip measured in the same process on the same cores (see
//! `kestrel_runtime::harness` for the layout). Prints one JSON line and writes a report folder:
//! `.hgrm` files of every distribution and stage, and a percentile plot (PNG and SVG).
//!
//! With `--gateway binance`, it measures through the gateway instead: the venue simulator's tick
//! send to its read of the order, through `BinanceVenue`, the gateway thread and the engine
//! (`crate::bench_latency_gateway`); the default run is unchanged.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use hdrhistogram::Histogram;
use kestrel_cli::report::latency::write_latency_report;
use kestrel_runtime::harness::{HarnessConfig, run_harness};

use crate::bench_latency_gateway::{GatewayBench, GatewayKind, run_gateway};

/// Options of `kestrel bench latency`.
#[derive(Debug, Args)]
pub(crate) struct LatencyArgs {
    /// Quotes per second the venue thread plans.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Quotes measured after the warm-up [default: 1000000; with --gateway: 2000 ticks].
    #[arg(long)]
    samples: Option<u64>,
    /// Quotes sent first and not measured [default: 100000; with --gateway: 500 ticks].
    #[arg(long)]
    warmup: Option<u64>,
    /// Measure tick-to-order through this venue's gateway on loopback (against its simulator)
    /// instead of the bare runtime.
    #[arg(long, value_enum)]
    gateway: Option<GatewayKind>,
    /// With --gateway: ticks per second at most (one tick in flight at a time).
    #[arg(long, default_value_t = 1_000)]
    gateway_rate: u64,
    /// With --gateway: the engine and gateway threads busy-spin without yielding (only with
    /// cores to spare for the simulator's threads; on two cores it starves them).
    #[arg(long)]
    gateway_spin: bool,
    /// Bare ring round trips measured before and after the engine run, each.
    #[arg(long, default_value_t = 200_000)]
    rtt_samples: u64,
    /// Run both threads unpinned.
    #[arg(long)]
    no_pin: bool,
    /// The report folder.
    #[arg(long, default_value = "reports/latency")]
    out: PathBuf,
}

fn p(h: &Histogram<u64>, q: f64) -> u64 {
    h.value_at_quantile(q)
}

/// Runs the harness, prints the JSON line, writes the report.
pub(crate) fn run(args: &LatencyArgs, out: &mut impl Write) -> Result<()> {
    if let Some(gateway) = args.gateway {
        let bench = GatewayBench {
            gateway,
            samples: args.samples.unwrap_or(2_000),
            warmup: args.warmup.unwrap_or(500),
            rate: args.gateway_rate,
            pin: !args.no_pin,
            spin: args.gateway_spin,
            out: &args.out,
        };
        return run_gateway(&bench, out);
    }
    let config = HarnessConfig {
        rate: args.rate,
        samples: args.samples.unwrap_or(1_000_000),
        warmup: args.warmup.unwrap_or(100_000),
        rtt_samples: args.rtt_samples,
        engine_core: (!args.no_pin).then_some(0),
        venue_core: (!args.no_pin).then_some(1),
        // Unpinned (tests, shared machines): yield when idle rather than spin.
        spin: !args.no_pin,
        ..HarnessConfig::default()
    };
    let r = run_harness(&config)?;
    let t = &r.tick_to_order;
    let rtt = r.rtt()?;
    let allocations = r.allocations.map_or_else(|| "null".to_owned(), |a| a.to_string());
    writeln!(
        out,
        "{{\"samples\":{},\"p50_ns\":{},\"p99_ns\":{},\"p999_ns\":{},\"p9999_ns\":{},\"max_ns\":{},\
         \"ring_rtt_p50_ns\":{},\"ring_rtt_p99_ns\":{},\"ring_rtt_p999_ns\":{},\"allocations\":{allocations}}}",
        t.len(),
        p(t, 0.5),
        p(t, 0.99),
        p(t, 0.999),
        p(t, 0.9999),
        t.max(),
        p(&rtt, 0.5),
        p(&rtt, 0.99),
        p(&rtt, 0.999),
    )?;
    let mut series: Vec<(&str, &Histogram<u64>)> =
        vec![("tick_to_order", t), ("ring_rtt_before", &r.rtt_before), ("ring_rtt_after", &r.rtt_after)];
    series.extend(r.stages.iter().map(|(n, h)| (*n, h)));
    let title = format!("tick-to-order vs bare ring round trip ({} quotes/s)", args.rate);
    write_latency_report(&args.out, "latency", &title, &series[..3])
        .with_context(|| format!("writing {}", args.out.display()))?;
    write_latency_report(&args.out, "stages", "tick-to-order by stage", &series[3..])
        .with_context(|| format!("writing {}", args.out.display()))?;
    let summary = format!(
        "engine pinned: {}, venue pinned: {}, late sends: {}, engine refusals: {}, loop: {:?}\n",
        r.runtime.pinned, r.venue_pinned, r.late_sends, r.engine.refused, r.runtime
    );
    std::fs::write(args.out.join("run.txt"), summary.as_bytes())
        .with_context(|| format!("writing {}", args.out.join("run.txt").display()))?;
    eprintln!("kestrel bench latency: report in {}", args.out.display());
    Ok(())
}
