//! The bars of `kestrel diff`: a backtrader or Yahoo CSV, or a Kestrel tick file's bar records, and
//! the instrument grid orders are placed on.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use kestrel_replay::bars::{BarFormat, DateWindow, SESSION_END_NANOS, read_bars};
use kestrel_replay::tick::TickFile;
use kestrel_types::{Bar, Payload, Price, Qty};

/// The layouts `kestrel diff` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A tick file by its magic bytes, else a CSV by its header (`Adj Close`: Yahoo).
    Auto,
    /// backtrader's CSV, daily or intraday.
    Btcsv,
    /// Yahoo Finance's daily CSV.
    Yahoo,
    /// A Kestrel tick file with bar records.
    Kt,
}

/// The bars and the grid they trade on.
#[derive(Clone, Debug)]
pub(crate) struct Data {
    pub(crate) bars: Vec<Bar>,
    /// The layout read: `btcsv`, `yahoo` or `kt`.
    pub(crate) format: &'static str,
    pub(crate) tick: Price,
    pub(crate) lot: Qty,
    /// Every bar is stamped at session end: dates alone name them.
    pub(crate) daily: bool,
}

/// Reads `path` as `format` (instrument `instrument` of a tick file).
///
/// # Errors
/// The file cannot be read, is not in the layout, or has no bars; every message names the file.
pub(crate) fn load(path: &Path, format: Format, instrument: u16) -> Result<Data> {
    let format = match format {
        Format::Auto => detect(path)?,
        f => f,
    };
    let (bars, name, grid) = match format {
        Format::Btcsv | Format::Auto => {
            (read_bars(path, BarFormat::BtCsv, DateWindow::ALL)?.bars, "btcsv", None)
        }
        Format::Yahoo => (read_bars(path, BarFormat::Yahoo, DateWindow::ALL)?.bars, "yahoo", None),
        Format::Kt => {
            let (bars, tick, lot) = tick_file_bars(path, instrument)?;
            (bars, "kt", Some((tick, lot)))
        }
    };
    if bars.is_empty() {
        bail!("{}: no bars", path.display());
    }
    // Four ticks go 4..1 ns before each bar's time, after the previous bar.
    if let Some(w) = bars.windows(2).find(|w| w[1].ts.nanos() - w[0].ts.nanos() <= 4) {
        bail!(
            "{}: bars at {} and {} are too close to put four ticks between them",
            path.display(),
            w[0].ts,
            w[1].ts
        );
    }
    let (tick, lot) = grid.unwrap_or_else(|| (data_tick(&bars), Qty::ONE));
    if let Some(b) =
        bars.iter().find(|b| ![b.open, b.high, b.low, b.close].iter().all(|p| p.is_multiple_of(tick)))
    {
        bail!("{}: the bar at {} has a price off the instrument's tick {tick}", path.display(), b.ts);
    }
    if let Some(b) = bars.iter().find(|b| !b.open.is_positive() || !b.low.is_positive()) {
        bail!("{}: the bar at {} has a price at or below zero", path.display(), b.ts);
    }
    let daily = bars.iter().all(|b| b.ts.nanos() - b.ts.start_of_day().nanos() == SESSION_END_NANOS);
    Ok(Data { bars, format: name, tick, lot, daily })
}

/// A tick file by its magic, else Yahoo when the header has `Adj Close`, else btcsv.
fn detect(path: &Path) -> Result<Format> {
    let mut head = [0u8; 256];
    let mut file = std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let n = file.read(&mut head).with_context(|| format!("{}: cannot read", path.display()))?;
    let head = &head[..n];
    if head.starts_with(&kestrel_replay::format::MAGIC) {
        return Ok(Format::Kt);
    }
    let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first).to_ascii_lowercase();
    Ok(if first.contains("adj close") { Format::Yahoo } else { Format::Btcsv })
}

/// The bar records of instrument `instrument` in a tick file, with its grid.
fn tick_file_bars(path: &Path, instrument: u16) -> Result<(Vec<Bar>, Price, Qty)> {
    let file = TickFile::open(path).with_context(|| format!("opening tick file {}", path.display()))?;
    let Some(ins) = file.header().instruments.get(usize::from(instrument)).cloned() else {
        bail!(
            "{}: instrument {instrument} is not in the file ({} instruments)",
            path.display(),
            file.header().instruments.len()
        );
    };
    let mut bars = Vec::new();
    for ev in file.events() {
        let ev = ev.with_context(|| format!("reading {}", path.display()))?;
        if let Payload::Bar(b) = ev.payload
            && ev.instrument.0 == instrument
        {
            bars.push(b);
        }
    }
    if bars.is_empty() {
        bail!("{}: no bar records for {} (convert a bar file, e.g. btcsv)", path.display(), ins.symbol());
    }
    if let Some(i) = bars.windows(2).position(|w| w[1].ts <= w[0].ts) {
        bail!("{}: bar {} at {} is not after the previous bar", path.display(), i + 1, bars[i + 1].ts);
    }
    Ok((bars, ins.tick_size(), ins.lot_size()))
}

/// The coarsest decimal tick every price of the bars is a multiple of: the data's decimals (0.01
/// for the backtrader samples, 0.000001 for the Yahoo ones).
fn data_tick(bars: &[Bar]) -> Price {
    let mut tick = Price::ONE;
    for p in bars.iter().flat_map(|b| [b.open, b.high, b.low, b.close]) {
        while !p.is_multiple_of(tick) && tick.raw() > 1 {
            tick = Price::from_raw(tick.raw() / 10);
        }
    }
    tick
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_data_tick_is_the_most_decimals() {
        let bar = |o: &str, c: &str| Bar {
            ts: kestrel_types::Timestamp::EPOCH,
            open: o.parse().unwrap(),
            high: o.parse().unwrap(),
            low: c.parse().unwrap(),
            close: c.parse().unwrap(),
            volume: Qty::ZERO,
            open_interest: Qty::ZERO,
        };
        assert_eq!(data_tick(&[bar("3578.73", "3604.3")]).to_string(), "0.01");
        assert_eq!(data_tick(&[bar("15", "16")]).to_string(), "1");
        assert_eq!(data_tick(&[bar("15.92", "16.040001")]).to_string(), "0.000001");
    }
}
