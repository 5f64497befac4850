//! The backtest report folder as a person meets it: `index.html` opened from disk in a real browser
//! (headless Chromium), and the PNG charts decoded and checked for a drawn curve.
//!
//! Chromium is `$CHROMIUM` or `/usr/bin/chromium` (`tools/test` installs it with apt where it can).
//! Without it the browser test fails under CI (`$CI` set) and is skipped loudly elsewhere.
//! Set `KESTREL_REPORT_OUT=DIR` to also write the sample report to DIR, to look at it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kestrel_cli::report::{
    EquityPoint, FillRow, Metrics, OrderRow, Report, RunInfo, TradeRow, summary_lines, write_report,
};
use kestrel_types::{Money, NANOS_PER_DAY, Price, Qty, Timestamp};

/// The equity line's colour in the PNG (`chart.rs`).
const EQUITY_RGB: [u8; 3] = [31, 119, 180];
/// The drawdown border's colour in the PNG (`chart.rs`).
const DRAWDOWN_RGB: [u8; 3] = [214, 39, 40];

/// A small deterministic generator (xorshift64*): the same seed, the same report.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

fn money_cents(cents: i64) -> Money {
    Money::from_raw(i128::from(cents) * 10_000_000)
}

fn price_cents(cents: i64) -> Price {
    Price::from_raw(cents * 10_000_000)
}

/// A realistic run: `days` equity points `step` ns apart (a day unless said) of a seeded random walk
/// with drift, and a round-trip trade (two orders, their state changes and fills) every 10 points.
fn sample_report(seed: u64, days: i64) -> Report {
    sample_report_every(seed, days, NANOS_PER_DAY)
}

fn sample_report_every(seed: u64, days: i64, step: i64) -> Report {
    let mut rng = Rng(seed);
    let start: Timestamp = "2023-01-02".parse().unwrap();
    let at = |day: i64, hour: i64| Timestamp::from_nanos(start.nanos() + day * step + hour * (step / 24));
    let instrument = "BTCUSDT".to_owned();
    let (mut orders, mut fills, mut trades, mut equity) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut cents, mut fee_cents, mut turnover_cents) = (10_000_000i64, 0i64, 0i64);
    let mut order_id = 0;
    for day in 0..days {
        // A daily return between −1.5% and +1.6% in basis points, exact in cents.
        let bp = rng.range(-150, 160);
        cents += cents * bp / 10_000;
        equity.push(EquityPoint { ts: at(day, 0), cash: money_cents(cents / 2), equity: money_cents(cents) });
        if day % 10 == 3 && day + 5 < days {
            let entry = 2_000_000 + rng.range(-100_000, 100_000);
            let exit = entry + rng.range(-60_000, 80_000);
            let size = Qty::from_raw(500_000_000);
            let fee = 1_000 + rng.range(0, 500);
            for (side, px, d) in [("buy", entry, day), ("sell", exit, day + 5)] {
                order_id += 1;
                for status in ["submitted", "accepted", "completed"] {
                    let done = status == "completed";
                    orders.push(OrderRow {
                        ts: at(d, 1),
                        order: order_id,
                        instrument: instrument.clone(),
                        side,
                        kind: "market",
                        status,
                        size,
                        filled: if done { size } else { Qty::ZERO },
                        price: None,
                        avg_price: done.then(|| price_cents(px)),
                        reason: String::new(),
                    });
                }
                fills.push(FillRow {
                    ts: at(d, 1),
                    order: order_id,
                    instrument: instrument.clone(),
                    side,
                    qty: if side == "buy" { size } else { Qty::from_raw(-size.raw()) },
                    price: price_cents(px),
                    commission: money_cents(fee),
                    liquidity: "taker",
                });
                fee_cents += fee;
                turnover_cents += px / 2;
            }
            let pnl = (exit - entry) / 2;
            trades.push(TradeRow {
                id: trades.len() as u64 + 1,
                instrument: instrument.clone(),
                direction: "long",
                opened: at(day, 1),
                closed: Some(at(day + 5, 1)),
                size,
                entry_price: price_cents(entry),
                exit_price: Some(price_cents(exit)),
                pnl: money_cents(pnl),
                pnl_net: money_cents(pnl - 2 * fee),
                commission: money_cents(2 * fee),
            });
        }
    }
    // One order refused, with a reason that needs quoting and escaping.
    order_id += 1;
    orders.push(OrderRow {
        ts: at(days - 1, 2),
        order: order_id,
        instrument: instrument.clone(),
        side: "buy",
        kind: "limit",
        status: "rejected",
        size: Qty::from_raw(9_000_000_000),
        filled: Qty::ZERO,
        price: Some(price_cents(1_950_000)),
        avg_price: None,
        reason: "not enough cash: <needs 175,500 USDT>".into(),
    });
    Report {
        info: RunInfo {
            strategy: "sma_cross <fast & slow>".into(),
            params: vec![("fast".into(), "10".into()), ("slow".into(), "30".into())],
            inputs: vec!["data/btcusdt-1d.csv".into()],
            events: days as u64 * 24,
            orders: order_id,
            fills: fills.len() as u64,
            start_value: money_cents(10_000_000),
            final_value: money_cents(cents),
            fees: money_cents(fee_cents),
            turnover: money_cents(turnover_cents),
            first_ts: Some(at(0, 0)),
            last_ts: Some(at(days - 1, 23)),
            currency: "USDT".into(),
        },
        orders,
        fills,
        trades,
        equity,
    }
}

/// Decodes an 8-bit RGB PNG: `(width, height, pixels)`.
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert_eq!((frame.color_type, frame.bit_depth), (png::ColorType::Rgb, png::BitDepth::Eight));
    buf.truncate(frame.buffer_size());
    (frame.width, frame.height, buf)
}

/// Pixels within a small distance of `rgb`.
fn count_near(pixels: &[u8], rgb: [u8; 3]) -> usize {
    pixels.chunks_exact(3).filter(|p| p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 24)).count()
}

#[test]
fn report_pngs_are_real_charts() {
    let report = sample_report(7, 400);
    let dir = tempfile::tempdir().unwrap();
    write_report(&report, dir.path()).unwrap();
    if let Some(out) = std::env::var_os("KESTREL_REPORT_OUT") {
        write_report(&report, Path::new(&out)).unwrap();
    }
    for (name, rgb) in [("equity.png", EQUITY_RGB), ("drawdown.png", DRAWDOWN_RGB)] {
        let (w, h, px) = decode_png(&dir.path().join(name));
        assert_eq!((w, h), (1200, 500), "{name}");
        let white = px.chunks_exact(3).filter(|p| *p == [255, 255, 255]).count();
        let total = (w * h) as usize;
        assert!(white > total / 2, "{name}: mostly background ({white} of {total} white)");
        assert!(total - white > 10_000, "{name}: axes, labels and the curve drawn ({} inked)", total - white);
        let line = count_near(&px, rgb);
        assert!(line > 1_500, "{name}: the curve in its colour ({line} pixels)");
        // The curve spans the plot: its colour appears in most columns of the middle of the image.
        let columns = (200..1100)
            .filter(|x| (0..h as usize).any(|y| count_near(&px[(y * w as usize + x) * 3..][..3], rgb) == 1));
        assert!(columns.count() > 800, "{name}: the curve crosses the chart");
    }
}

#[test]
fn report_folder_is_byte_identical_for_the_same_run() {
    let report = sample_report(42, 300);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let wa = write_report(&report, a.path()).unwrap();
    let wb = write_report(&sample_report(42, 300), b.path()).unwrap();
    assert_eq!(wa.files.len(), 10);
    for (fa, fb) in wa.files.iter().zip(&wb.files) {
        assert_eq!(fa.file_name(), fb.file_name());
        assert!(std::fs::read(fa).unwrap() == std::fs::read(fb).unwrap(), "{} differs", fa.display());
    }
    let other = tempfile::tempdir().unwrap();
    let wc = write_report(&sample_report(43, 300), other.path()).unwrap();
    assert!(
        std::fs::read(&wc.files[4]).unwrap() != std::fs::read(&wa.files[4]).unwrap(),
        "another seed, another chart"
    );
}

#[test]
fn report_of_a_long_run_stays_small() {
    // 100,000 minutes: thinned to ~4,000 points for drawing; the CSV keeps them all.
    let report = sample_report_every(1, 100_000, 60_000_000_000);
    let dir = tempfile::tempdir().unwrap();
    let w = write_report(&report, dir.path()).unwrap();
    let svg = std::fs::metadata(dir.path().join("equity.svg")).unwrap().len();
    assert!(svg < 400_000, "equity.svg is {svg} bytes");
    let rows = std::fs::read_to_string(dir.path().join("equity.csv")).unwrap().lines().count();
    assert_eq!(rows, 100_001);
    assert!(w.metrics.sharpe.is_some());
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    path.is_file().then_some(path)
}

/// Runs headless Chromium on `page` and returns the DOM after load (and the page's scripts).
fn dump_dom(chromium: &Path, page: &Path, work: &Path) -> String {
    let profile = work.join("chromium-profile");
    let out_path = work.join("dom.html");
    let err_path = work.join("chromium.stderr");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--virtual-time-budget=5000")
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish in 120 s; stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        status.success() && !dom.is_empty(),
        "chromium failed ({status}); stderr:\n{}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    dom
}

#[test]
fn report_html_opens_in_chromium_with_both_charts() {
    let Some(chromium) = chromium() else {
        let msg = "chromium not found at $CHROMIUM or /usr/bin/chromium: the report's browser test cannot run \
                   (install it: apt-get install -y --no-install-recommends chromium; tools/test does this as root)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("\n!!!!!!!! WARNING: {msg}; SKIPPED !!!!!!!!\n");
        return;
    };
    let report = sample_report(11, 365);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("report");
    let written = write_report(&report, &dir).unwrap();
    let page = std::fs::canonicalize(written.index()).unwrap();
    let dom = dump_dom(&chromium, &page, work.path());

    assert!(dom.contains("data-charts-loaded=\"2\""), "both chart images loaded:\n{dom}");
    assert!(dom.contains("data-charts-failed=\"\""), "no chart image failed:\n{dom}");
    let final_value = format!("{} USDT", report.info.final_value);
    assert!(dom.contains(&final_value), "final value {final_value} shown:\n{dom}");
    assert!(dom.contains("sma_cross &lt;fast &amp; slow&gt;"), "strategy name shown, escaped:\n{dom}");
    assert!(dom.contains("fast=10, slow=30") && dom.contains("data/btcusdt-1d.csv"));
    let m: &Metrics = &written.metrics;
    let ret = format!("{:+.2}%", m.total_return * 100.0);
    assert!(dom.contains(&ret), "return {ret} shown");
    assert!(dom.contains(&format!("{:.3}", m.sharpe.unwrap())), "sharpe shown");
    for line in summary_lines(&report, m) {
        let value = line.split_once("  ").map(|(_, v)| v.trim()).unwrap();
        assert!(
            dom.contains(&value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")),
            "{line}"
        );
    }
}

/// Equity points from `(ns since 2024-03-05 09:30 UTC, equity)`.
fn curve(points: &[(i64, Money)]) -> Vec<EquityPoint> {
    let t0: Timestamp = "2024-03-05T09:30:00Z".parse().unwrap();
    points
        .iter()
        .map(|&(dt, equity)| EquityPoint { ts: Timestamp::from_nanos(t0.nanos() + dt), cash: equity, equity })
        .collect()
}

#[test]
fn report_charts_draw_the_edge_cases() {
    let m = |s: &str| s.parse::<Money>().unwrap();
    let minute = 60_000_000_000;
    let intraday: Vec<(i64, Money)> =
        (0..390).map(|i| (i * minute, money_cents(10_000_000 + (i * 37 % 101) * 100))).collect();
    let cases = [
        ("empty", Vec::new()),
        ("single", curve(&[(0, m("100000"))])),
        ("flat", curve(&[(0, m("100000")), (minute, m("100000")), (2 * minute, m("100000"))])),
        ("intraday", curve(&intraday)),
        (
            "huge",
            curve(&[
                (0, Money::MAX),
                (minute, Money::from_raw(Money::MAX.raw() / 2)),
                (2 * minute, Money::MIN),
            ]),
        ),
        ("negative", curve(&[(0, m("-5")), (minute, m("-20.5")), (2 * minute, m("3"))])),
    ];
    let out = std::env::var_os("KESTREL_REPORT_OUT").map(PathBuf::from);
    for (name, equity) in cases {
        let report = Report {
            info: RunInfo { strategy: format!("edge {name}"), currency: "USD".into(), ..RunInfo::default() },
            equity,
            ..Report::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let written = write_report(&report, dir.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for png in ["equity.png", "drawdown.png"] {
            let (w, h, px) = decode_png(&dir.path().join(png));
            assert_eq!((w, h), (1200, 500), "{name} {png}");
            assert!(px.chunks_exact(3).any(|p| p != [255, 255, 255]), "{name} {png}: something drawn");
        }
        let svg = std::fs::read_to_string(dir.path().join("equity.svg")).unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("NaN") && !svg.contains("inf"), "{name}: {svg}");
        assert_eq!(written.files.len(), 10);
        if let Some(out) = &out {
            write_report(&report, &out.join(format!("edge-{name}"))).unwrap();
        }
    }
}
