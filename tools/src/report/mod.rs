//! The report folder of `kestrel backtest`: what a person opens after a run.
//!
//! The engine hands over a finished run as a [`Report`] (the run's facts, every order state change,
//! every fill, every trade and the equity curve); [`write_report`] turns it into a folder:
//!
//! | file | what it holds |
//! |---|---|
//! | `index.html` | the summary table and both charts; opens from disk (`file://`), no server, no network |
//! | `summary.json` | the same summary for programs: money as exact decimal strings, ratios as numbers |
//! | `orders.csv`, `fills.csv`, `trades.csv`, `equity.csv` | the raw rows, money and sizes exact |
//! | `equity.png`, `equity.svg` | the equity curve |
//! | `drawdown.png`, `drawdown.svg` | the drawdown from the running peak, in percent |
//!
//! Every file is a pure function of the [`Report`]: no wall-clock time, host name or path goes into
//! any of them, so the same run gives byte-identical folders (the project's promise for all output).
//! Money, prices and sizes are printed with their exact `Display`; floats appear only in statistics
//! (ratios, Sharpe) and chart coordinates. How the statistics are defined: [`Metrics`].

mod chart;
mod files;
mod html;
pub mod latency;
mod metrics;
mod summary;
mod text;
mod typeset;

use std::path::{Path, PathBuf};

use kestrel_types::{Money, Price, Qty, Timestamp};

pub use metrics::{DrawdownPoint, Metrics, drawdowns};

/// One state change of one order: `orders.csv` has one row per change, in the order they happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderRow {
    /// When the change happened.
    pub ts: Timestamp,
    /// The order's number in this run.
    pub order: u64,
    /// The instrument's name.
    pub instrument: String,
    /// `"buy"` or `"sell"`.
    pub side: &'static str,
    /// `"market"`, `"limit"`, `"stop"`, `"stop_limit"`, …
    pub kind: &'static str,
    /// `"submitted"`, `"accepted"`, `"partial"`, `"completed"`, `"canceled"`, `"expired"`, `"margin"`
    /// or `"rejected"`.
    pub status: &'static str,
    /// The size ordered.
    pub size: Qty,
    /// The size filled so far.
    pub filled: Qty,
    /// The limit or trigger price, if the kind has one.
    pub price: Option<Price>,
    /// The average fill price so far, once something filled.
    pub avg_price: Option<Price>,
    /// Why (a rejection's or a margin call's reason); empty otherwise.
    pub reason: String,
}

/// One execution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FillRow {
    /// When it executed.
    pub ts: Timestamp,
    /// The order it belongs to.
    pub order: u64,
    /// The instrument's name.
    pub instrument: String,
    /// `"buy"` or `"sell"`.
    pub side: &'static str,
    /// The size executed.
    pub qty: Qty,
    /// The execution price.
    pub price: Price,
    /// The commission charged for it.
    pub commission: Money,
    /// `"maker"` or `"taker"`.
    pub liquidity: &'static str,
}

/// One trade: a position from flat back to flat (or still open at the end).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TradeRow {
    /// The trade's number in this run.
    pub id: u64,
    /// The instrument's name.
    pub instrument: String,
    /// `"long"` or `"short"`.
    pub direction: &'static str,
    /// When the position left flat.
    pub opened: Timestamp,
    /// When it came back to flat; `None` while open.
    pub closed: Option<Timestamp>,
    /// The largest absolute size reached.
    pub size: Qty,
    /// The average entry price.
    pub entry_price: Price,
    /// The average exit price, once something was closed.
    pub exit_price: Option<Price>,
    /// Gross profit and loss.
    pub pnl: Money,
    /// Profit and loss after commission.
    pub pnl_net: Money,
    /// Commission paid over the trade.
    pub commission: Money,
}

/// One point of the equity curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EquityPoint {
    /// When it was measured.
    pub ts: Timestamp,
    /// Cash at that time.
    pub cash: Money,
    /// Cash plus open positions marked to market.
    pub equity: Money,
}

/// The facts of the run: what ran, on what, and the totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// The strategy's name.
    pub strategy: String,
    /// Its parameters as `(name, value)` text, in the order to show them.
    pub params: Vec<(String, String)>,
    /// The input files, as the user named them (never resolved: no host paths in the report).
    pub inputs: Vec<String>,
    /// Market events processed.
    pub events: u64,
    /// Orders submitted.
    pub orders: u64,
    /// Executions.
    pub fills: u64,
    /// Account value at the start.
    pub start_value: Money,
    /// Account value at the end.
    pub final_value: Money,
    /// Commission paid in total.
    pub fees: Money,
    /// Σ |size × price| over all fills.
    pub turnover: Money,
    /// The first event's time, if there was one.
    pub first_ts: Option<Timestamp>,
    /// The last event's time, if there was one.
    pub last_ts: Option<Timestamp>,
    /// The account currency's code (`"USD"`, `"USDT"`, …).
    pub currency: String,
}

/// A finished backtest: everything the report folder is made of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The run's facts and totals.
    pub info: RunInfo,
    /// Every order state change, in the order they happened.
    pub orders: Vec<OrderRow>,
    /// Every execution, in time order.
    pub fills: Vec<FillRow>,
    /// Every trade, closed or still open.
    pub trades: Vec<TradeRow>,
    /// The equity curve, in time order.
    pub equity: Vec<EquityPoint>,
}

/// Why the report folder could not be written: always names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder could not be created.
    #[error("cannot create the report folder {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A CSV table could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// A chart could not be drawn or encoded.
    #[error("cannot draw {}: {message}", path.display())]
    Chart {
        /// The file.
        path: PathBuf,
        /// What plotters or the PNG encoder said.
        message: String,
    },
    /// `summary.json` could not be serialised.
    #[error("cannot write {}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

/// What [`write_report`] wrote.
#[derive(Clone, Debug)]
pub struct Written {
    /// The report folder.
    pub dir: PathBuf,
    /// Every file written, in the order written (`index.html` last).
    pub files: Vec<PathBuf>,
    /// The statistics shown in the report.
    pub metrics: Metrics,
}

impl Written {
    /// The page to open: `index.html` in the folder.
    pub fn index(&self) -> PathBuf {
        self.dir.join(html::INDEX)
    }
}

/// Writes the report folder `dir` (created if needed; files of the same names are replaced).
///
/// The CSV tables first, then the charts, `summary.json`, and `index.html` last, so that a folder with
/// an `index.html` is complete.
///
/// # Errors
/// [`ReportError`] naming the file that could not be written and why.
pub fn write_report(report: &Report, dir: &Path) -> Result<Written, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir { path: dir.to_owned(), source })?;
    let metrics = Metrics::compute(report);
    let dd = drawdowns(&report.equity);
    let mut written = vec![
        files::write_orders(&dir.join(files::ORDERS), &report.orders)?,
        files::write_fills(&dir.join(files::FILLS), &report.fills)?,
        files::write_trades(&dir.join(files::TRADES), &report.trades)?,
        files::write_equity(&dir.join(files::EQUITY), &report.equity, &dd)?,
    ];

    for (name, bytes) in chart::render_all(report, &dd, dir)? {
        written.push(write_file(&dir.join(name), &bytes)?);
    }

    let json = summary::to_json(report, &metrics)
        .map_err(|source| ReportError::Json { path: dir.join(summary::SUMMARY), source })?;
    written.push(write_file(&dir.join(summary::SUMMARY), &json)?);
    written.push(write_file(&dir.join(html::INDEX), html::index(report, &metrics).as_bytes())?);

    Ok(Written { dir: dir.to_owned(), files: written, metrics })
}

/// The run's summary as aligned `label  value` lines, for the command line to print.
///
/// The same figures and the same formatting as the report's summary table.
pub fn summary_lines(report: &Report, metrics: &Metrics) -> Vec<String> {
    let rows = text::summary_rows(report, metrics, text::Detail::Brief);
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    rows.into_iter().map(|(label, value)| format!("{label:<width$}  {value}")).collect()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    std::fs::write(path, bytes).map_err(|source| ReportError::Io { path: path.to_owned(), source })?;
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A small but complete report: every file has rows, a name with characters to escape.
    fn small_report() -> Report {
        let equity = ["100000", "100500.5", "99800.25", "101200"]
            .iter()
            .enumerate()
            .map(|(i, e)| EquityPoint {
                ts: Timestamp::from_nanos(ts("2024-01-02").nanos() + i as i64 * 86_400_000_000_000),
                cash: m("50000"),
                equity: m(e),
            })
            .collect();
        Report {
            info: RunInfo {
                strategy: "sma <cross> & \"co\"".into(),
                params: vec![("fast".into(), "10".into()), ("slow".into(), "30".into())],
                inputs: vec!["data/btc,usd.csv".into()],
                events: 4,
                orders: 1,
                fills: 1,
                start_value: m("100000"),
                final_value: m("101200"),
                fees: m("1.5"),
                turnover: m("5000"),
                first_ts: Some(ts("2024-01-02")),
                last_ts: Some(ts("2024-01-05")),
                currency: "USD".into(),
            },
            orders: vec![OrderRow {
                ts: ts("2024-01-02"),
                order: 1,
                instrument: "BTC,USD".into(),
                side: "buy",
                kind: "limit",
                status: "rejected",
                size: "0.5".parse().unwrap(),
                filled: Qty::ZERO,
                price: Some("10000.25".parse().unwrap()),
                avg_price: None,
                reason: "not enough cash, \"really\"".into(),
            }],
            fills: vec![FillRow {
                ts: ts("2024-01-03T10:00:00.000000001Z"),
                order: 1,
                instrument: "BTC,USD".into(),
                side: "buy",
                qty: "0.5".parse().unwrap(),
                price: "10000.25".parse().unwrap(),
                commission: m("1.5"),
                liquidity: "taker",
            }],
            trades: vec![TradeRow {
                id: 1,
                instrument: "BTC,USD".into(),
                direction: "long",
                opened: ts("2024-01-03"),
                closed: None,
                size: "0.5".parse().unwrap(),
                entry_price: "10000.25".parse().unwrap(),
                exit_price: None,
                pnl: m("0"),
                pnl_net: m("-1.5"),
                commission: m("1.5"),
            }],
            equity,
        }
    }

    #[test]
    fn report_folder_has_every_file_and_is_byte_identical_across_runs() {
        let report = small_report();
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let wa = write_report(&report, a.path()).unwrap();
        let wb = write_report(&report, &b.path().join("nested/dir")).unwrap();
        let names: Vec<_> =
            wa.files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(
            names,
            [
                "orders.csv",
                "fills.csv",
                "trades.csv",
                "equity.csv",
                "equity.png",
                "equity.svg",
                "drawdown.png",
                "drawdown.svg",
                "summary.json",
                "index.html"
            ]
        );
        assert_eq!(wa.index(), a.path().join("index.html"));
        for (fa, fb) in wa.files.iter().zip(&wb.files) {
            let (x, y) = (std::fs::read(fa).unwrap(), std::fs::read(fb).unwrap());
            assert!(!x.is_empty(), "{} is empty", fa.display());
            assert!(x == y, "{} differs between two runs", fa.display());
        }
    }

    #[test]
    fn report_of_an_empty_run_still_writes_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let w = write_report(&Report::default(), dir.path()).unwrap();
        assert_eq!(w.files.len(), 10);
        assert_eq!(w.metrics.sharpe, None);
        let csv = std::fs::read_to_string(dir.path().join("equity.csv")).unwrap();
        assert_eq!(csv, "ts,ts_ns,cash,equity,peak,drawdown\n");
    }

    #[test]
    fn report_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = write_report(&Report::default(), &blocker.join("sub")).unwrap_err();
        assert!(matches!(err, ReportError::CreateDir { .. }));
        assert!(err.to_string().contains("file/sub"), "{err}");

        std::fs::create_dir(dir.path().join("r")).unwrap();
        std::fs::create_dir(dir.path().join("r/equity.svg")).unwrap();
        let err = write_report(&Report::default(), &dir.path().join("r")).unwrap_err();
        assert!(err.to_string().contains("equity.svg"), "{err}");
    }

    #[test]
    fn report_summary_lines_are_aligned_and_exact() {
        let report = small_report();
        let metrics = Metrics::compute(&report);
        let lines = summary_lines(&report, &metrics);
        let text = lines.join("\n");
        assert!(text.contains("\nfinal value    101200 USD\n"), "{text}");
        assert!(text.contains("\nreturn         +1.20%\n"), "{text}");
        assert!(text.contains("\nmax drawdown   0.70% (700.25 USD)\n"), "{text}");
        assert!(text.contains("\nfees           1.5 USD\n"), "{text}");
        let col = lines[0].find("sma").unwrap();
        assert!(lines.iter().all(|l| l.len() > col && l.as_bytes()[col - 1] == b' '), "{text}");
    }
}
