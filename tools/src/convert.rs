//! `kestrel convert`: vendor files into a Kestrel tick file, with a progress bar and a summary.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kestrel_replay::convert::{self, ConvertOptions, Format, InstrumentHint, Summary};

/// Options of `kestrel convert`.
#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// Input format (detected from the name and first bytes when absent).
    #[arg(long = "from")]
    from: Option<Format>,
    /// What the input lacks: `tick=0.01,lot=0.001,decimals=2,symbol=X,mult=1,currency=USD`.
    #[arg(long)]
    instrument: Option<InstrumentHint>,
    /// Skip malformed rows (counted; the first examples are printed) instead of stopping.
    #[arg(long)]
    skip_malformed: bool,
    /// generic-csv layout as backtrader's GenericCSVData params:
    /// `dtformat=%Y-%m-%d,datetime=0,open=1,high=2,low=3,close=4,volume=5,openinterest=-1,headers=true,separator=comma`.
    #[arg(long = "generic-csv", value_name = "KEY=VALUE,...")]
    generic_csv: Option<String>,
    /// Output tick file.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Input files, converted in order.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// Runs the conversion and writes the summary to `out`.
pub(crate) fn run(args: &ConvertArgs, out: &mut impl Write) -> Result<()> {
    let total: u64 = args.inputs.iter().map(|p| std::fs::metadata(p).map_or(0, |m| m.len())).sum();
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let start = Instant::now();
    let progress: Option<Box<dyn FnMut(u64, u64)>> = bar.clone().map(|b| {
        let start = Instant::now();
        Box::new(move |rows: u64, bytes: u64| {
            b.set_position(bytes);
            #[expect(clippy::cast_precision_loss, reason = "a display rate")]
            let rate = rows as f64 / start.elapsed().as_secs_f64().max(1e-9);
            b.set_message(format!("{rows} rows, {rate:.0} rows/s"));
        }) as Box<dyn FnMut(u64, u64)>
    });
    let opts = ConvertOptions {
        instrument: args.instrument.clone().unwrap_or_default(),
        skip_malformed: args.skip_malformed,
        generic_csv: args.generic_csv.clone(),
    };
    let result = convert::convert(args.from, &args.inputs, &args.output, opts, progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = result?;
    print_summary(&summary, args, start.elapsed().as_secs_f64(), out)?;
    if summary.records_out == 0 {
        bail!("no records converted");
    }
    Ok(())
}

fn print_summary(s: &Summary, args: &ConvertArgs, secs: f64, out: &mut impl Write) -> Result<()> {
    #[expect(clippy::cast_precision_loss, reason = "a display rate")]
    let rate = s.rows_in as f64 / secs.max(1e-9);
    let range = match (s.first, s.last) {
        (Some(a), Some(b)) => format!("{a} .. {b}"),
        _ => "empty".to_owned(),
    };
    writeln!(
        out,
        "converted {} rows into {} records ({} skipped, {} off-grid) -> {} in {:.2}s ({:.0} rows/s); time range {}",
        s.rows_in,
        s.records_out,
        s.skipped,
        s.off_grid,
        args.output.display(),
        secs,
        rate,
        range
    )?;
    for (ins, inferred) in &s.instruments {
        writeln!(
            out,
            "  instrument {} {}: tick {} lot {} decimals {}{}",
            ins.id().0,
            ins.symbol(),
            ins.tick_size(),
            ins.lot_size(),
            ins.display_decimals(),
            if *inferred { " (inferred from the data: give --instrument to set them)" } else { "" }
        )?;
    }
    for e in &s.examples {
        writeln!(out, "  skipped: {e}")?;
    }
    Ok(())
}
