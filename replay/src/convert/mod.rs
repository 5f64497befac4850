//! `kestrel convert`: vendor tick and bar formats into Kestrel tick files.
//!
//! Each format has a reader module of its own that parses its input and hands events to a
//! [`Collector`]; the collector infers what the input lacks (tick and lot sizes from the finest
//! decimals seen, unless the user gave them), counts rows, malformed rows and off-grid prices, and
//! writes the tick file at the end. Readers are strict by default: a malformed row is a
//! [`ConvertError::Row`] naming the file, the line (or record index) and the reason; with
//! `skip_malformed` the collector counts it and keeps the first examples instead.

mod binance;
mod bybit;
mod collector;
mod csv_bars;
mod dbn;
mod hftbacktest;
mod histdata;
mod nautilus;
mod tardis;

pub use collector::{Collector, ConvertOptions, Counted, InstrumentHint, Progress, Summary};

use std::path::{Path, PathBuf};

use crate::error::ReplayError;

/// The input formats, with the names `--from` takes (a contract: other tools pass them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// backtrader CSV, daily or intraday.
    BtCsv,
    /// Yahoo Finance CSV.
    Yahoo,
    /// CSV with backtrader `GenericCSVData` parameters.
    GenericCsv,
    /// Binance public data: trades.
    BinanceTrades,
    /// Binance public data: aggTrades.
    BinanceAggTrades,
    /// Binance public data: klines.
    BinanceKlines,
    /// Binance public data: futures bookTicker.
    BinanceBookTicker,
    /// Binance futures order-book depth files.
    BinanceDepth,
    /// Tardis.dev trades CSV.
    TardisTrades,
    /// Tardis.dev quotes CSV.
    TardisQuotes,
    /// Tardis.dev incremental_book_L2 CSV.
    TardisL2,
    /// Tardis.dev book_snapshot_25 / _5 CSV.
    TardisSnapshot,
    /// Databento DBN (v1–v3, plain or zstd).
    Dbn,
    /// hftbacktest `.npz` event arrays.
    HftbacktestNpz,
    /// NautilusTrader catalog Parquet.
    NautilusParquet,
    /// HistData.com ASCII FX ticks.
    HistData,
    /// Bybit order-book snapshot/delta archives.
    BybitOb,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Self; 17] = [
        Self::BtCsv,
        Self::Yahoo,
        Self::GenericCsv,
        Self::BinanceTrades,
        Self::BinanceAggTrades,
        Self::BinanceKlines,
        Self::BinanceBookTicker,
        Self::BinanceDepth,
        Self::TardisTrades,
        Self::TardisQuotes,
        Self::TardisL2,
        Self::TardisSnapshot,
        Self::Dbn,
        Self::HftbacktestNpz,
        Self::NautilusParquet,
        Self::HistData,
        Self::BybitOb,
    ];

    /// The `--from` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::BtCsv => "btcsv",
            Self::Yahoo => "yahoo",
            Self::GenericCsv => "generic-csv",
            Self::BinanceTrades => "binance-trades",
            Self::BinanceAggTrades => "binance-aggtrades",
            Self::BinanceKlines => "binance-klines",
            Self::BinanceBookTicker => "binance-bookticker",
            Self::BinanceDepth => "binance-depth",
            Self::TardisTrades => "tardis-trades",
            Self::TardisQuotes => "tardis-quotes",
            Self::TardisL2 => "tardis-l2",
            Self::TardisSnapshot => "tardis-snapshot",
            Self::Dbn => "dbn",
            Self::HftbacktestNpz => "hftbacktest-npz",
            Self::NautilusParquet => "nautilus-parquet",
            Self::HistData => "histdata",
            Self::BybitOb => "bybit-ob",
        }
    }

    /// The format a `--from` name names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_name(s).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format {s:?}; one of: {}", names.join(", "))
        })
    }
}

/// A row (or record) that is not what its format says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct RowError {
    /// The input file.
    pub file: PathBuf,
    /// 1-based line, or record index for binary formats.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The input could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A malformed row (strict mode).
    #[error(transparent)]
    Row(#[from] RowError),
    /// The file as a whole is not in the format (bad header, wrong magic, bad checksum…).
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The format could not be told from the name and first bytes.
    #[error("{path}: cannot tell the format from its name or first bytes; give --from")]
    Undetected {
        /// The file.
        path: PathBuf,
    },
    /// Writing the tick file failed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// Reads the first bytes of a file (for detection).
///
/// # Errors
/// [`ConvertError::Io`].
pub fn head(path: &Path, n: usize) -> Result<Vec<u8>, ConvertError> {
    use std::io::Read;
    let mut f =
        std::fs::File::open(path).map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
    let mut buf = vec![0u8; n];
    let mut len = 0;
    while len < n {
        let k = f
            .read(&mut buf[len..])
            .map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
        if k == 0 {
            break;
        }
        len += k;
    }
    buf.truncate(len);
    Ok(buf)
}

/// Tells the format of `path` from its name and first bytes, when it can.
pub fn detect(path: &Path, head: &[u8]) -> Option<Format> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    dbn::detect(&name, head)
        .or_else(|| hftbacktest::detect(&name, head))
        .or_else(|| nautilus::detect(&name, head))
        .or_else(|| bybit::detect(&name, head))
        .or_else(|| tardis::detect(&name, head))
        .or_else(|| binance::detect(&name, head))
        .or_else(|| histdata::detect(&name, head))
        .or_else(|| csv_bars::detect(&name, head))
}

/// Reads one input file of `format` into `coll`.
///
/// # Errors
/// [`ConvertError`] naming the file and, for rows, the line and the reason.
pub fn read(format: Format, path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    coll.set_file(path);
    match format {
        Format::BtCsv | Format::Yahoo | Format::GenericCsv => csv_bars::read(format, path, coll),
        Format::BinanceTrades
        | Format::BinanceAggTrades
        | Format::BinanceKlines
        | Format::BinanceBookTicker
        | Format::BinanceDepth => binance::read(format, path, coll),
        Format::TardisTrades | Format::TardisQuotes | Format::TardisL2 | Format::TardisSnapshot => {
            tardis::read(format, path, coll)
        }
        Format::Dbn => dbn::read(path, coll),
        Format::HftbacktestNpz => hftbacktest::read(path, coll),
        Format::NautilusParquet => nautilus::read(path, coll),
        Format::HistData => histdata::read(path, coll),
        Format::BybitOb => bybit::read(path, coll),
    }
}

/// Converts `inputs` (in order: their events must not go back in time across files) into the tick
/// file `output`, detecting each input's format unless `format` is given.
///
/// # Errors
/// [`ConvertError`]; the output is untouched unless everything succeeded.
pub fn convert(
    format: Option<Format>,
    inputs: &[PathBuf],
    output: &Path,
    opts: ConvertOptions,
    progress: Option<Box<dyn FnMut(u64, u64)>>,
) -> Result<Summary, ConvertError> {
    let mut coll = Collector::new(output, opts)?;
    if let Some(p) = progress {
        coll.set_progress(p);
    }
    for input in inputs {
        let f = match format {
            Some(f) => f,
            None => detect(input, &head(input, 4096)?)
                .ok_or_else(|| ConvertError::Undetected { path: input.clone() })?,
        };
        read(f, input, &mut coll)?;
    }
    coll.finish()
}
