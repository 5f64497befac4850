//! `kestrel backtest` as a person runs it: the demo with no data, converted real vendor files,
//! bar strategies on the bar broker, byte-identical reruns, and located refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// Runs `kestrel` with its cache in `cache` (the demo dataset goes there).
fn kestrel(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel")).env("KESTREL_CACHE", cache).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The value printed after `label` in the summary.
fn figure(stdout: &str, label: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("{label}: {stdout}"));
    line.trim_start()[label.len()..].trim().to_owned()
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

const FILES: [&str; 10] = [
    "index.html",
    "summary.json",
    "orders.csv",
    "fills.csv",
    "trades.csv",
    "equity.csv",
    "equity.png",
    "equity.svg",
    "drawdown.png",
    "drawdown.svg",
];

#[test]
fn the_demo_runs_with_no_arguments_and_two_runs_write_identical_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let args = |out: &Path| {
        ["backtest", "--demo-events", "100000", "--out", out.to_str().unwrap()].map(str::to_owned)
    };
    let first = ok(&kestrel(tmp.path(), &args(&a).iter().map(String::as_str).collect::<Vec<_>>()));
    let second = ok(&kestrel(tmp.path(), &args(&b).iter().map(String::as_str).collect::<Vec<_>>()));
    assert!(first.starts_with("kestrel backtest: quoter on demo-mixed-n100000-seed7"), "{first}");
    // The same summary both times, but for the wall-clock rate and the folder.
    let stable = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("events/s") && !l.contains("report "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(stable(&first), stable(&second));
    assert_eq!(figure(&first, "events"), "100000");
    assert!(figure(&first, "fills").parse::<u64>().unwrap() > 10, "{first}");
    assert!(figure(&first, "events/s").split_whitespace().next().unwrap().parse::<f64>().unwrap() > 0.0);
    let latency =
        ["latency/order_ack.hgrm", "latency/fill_report.hgrm", "latency/latency.png", "latency/latency.svg"];
    for f in FILES.into_iter().chain(latency) {
        let (x, y) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        assert!(!x.is_empty(), "{f} is empty");
        assert!(x == y, "{f} differs between two runs of the same backtest");
    }
    // The second run reused the cached dataset; the summary matches what was printed.
    assert_eq!(
        std::fs::read_dir(tmp.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "kt"))
            .count(),
        1
    );
    let s = summary(&a);
    assert_eq!(s["events"], 100_000);
    assert_eq!(s["strategy"], "quoter");
    assert_eq!(s["final_value"].as_str().unwrap(), figure(&first, "final value").trim_end_matches(" USD"));
    // orders.csv is every state change in time order; fills.csv agrees with the count printed.
    let orders = std::fs::read_to_string(a.join("orders.csv")).unwrap();
    let ts: Vec<i64> =
        orders.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "orders.csv is in time order");
    for status in ["submitted", "accepted", "canceled", "completed"] {
        assert!(orders.contains(&format!(",{status},")), "no {status} row");
    }
    let fills = std::fs::read_to_string(a.join("fills.csv")).unwrap();
    assert_eq!((fills.lines().count() - 1).to_string(), figure(&first, "fills"));
    // Modelled latency in the live harness's format: 50 µs each way, so acknowledgements come
    // 100 µs after submission and fill reports 50 µs after the fill.
    let ack = std::fs::read_to_string(a.join("latency/order_ack.hgrm")).unwrap();
    assert!(ack.contains("#[Max     =   100031.000"), "{ack}");
    let fill = std::fs::read_to_string(a.join("latency/fill_report.hgrm")).unwrap();
    assert!(fill.contains("#[Max     =    50015.000"), "{fill}");
}

/// Converts a vendor file into a tick file in `dir`.
fn convert(dir: &Path, input: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let o = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["convert", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    ok(&o);
    out
}

#[test]
fn the_quoter_runs_over_converted_real_tardis_quotes_and_trades() {
    let tmp = tempfile::tempdir().unwrap();
    let tardis = shared_data().join("tardis");
    let q =
        convert(tmp.path(), &tardis.join("binance-futures_quotes_2020-02-22_BTCUSDT.rows1-5000.csv"), "q.kt");
    let t = convert(
        tmp.path(),
        &tardis.join("binance-futures_trades_2020-02-22_BTCUSDT.rows1-5000.csv.gz"),
        "t.kt",
    );
    let out = tmp.path().join("report");
    let stdout = ok(&kestrel(
        tmp.path(),
        &[
            "backtest",
            q.to_str().unwrap(),
            t.to_str().unwrap(),
            "--param",
            "size=0.01",
            "--param",
            "max_position=0.05",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert_eq!(figure(&stdout, "events"), "10000", "both files, merged: {stdout}");
    let s = summary(&out);
    assert!(s["fills"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["params"]["instrument"], "BTCUSDT");
    assert_eq!(s["params"]["size"], "0.01");
    // Every fill is on the data's grid and within the position cap.
    let fills = std::fs::read_to_string(out.join("fills.csv")).unwrap();
    let mut position = 0i64;
    for line in fills.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let qty: f64 = cols[5].parse().unwrap();
        let thousandths = (qty * 1000.0).round() as i64;
        position += if cols[4] == "buy" { thousandths } else { -thousandths };
        assert!(position.abs() <= 50, "position {position} thousandths beyond the cap: {line}");
        let price = cols[6];
        assert!(price.split('.').nth(1).is_none_or(|d| d.len() <= 2), "off the 0.01 grid: {line}");
    }
    for f in FILES {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}

/// `fills.csv` rows as (side, qty, price, commission, liquidity).
fn fill_rows(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("fills.csv")).unwrap();
    text.lines().skip(1).map(|l| l.split(',').skip(4).map(str::to_owned).collect()).collect()
}

#[test]
fn the_quoter_trades_a_real_depth_and_trades_file_against_the_book_with_a_seeded_queue_model() {
    let tmp = tempfile::tempdir().unwrap();
    let data = convert(
        tmp.path(),
        &shared_data().join("hftbacktest/usdm_btcusdt_20240808.first5000.npz"),
        "book.kt",
    );
    let run = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec!["backtest", data.to_str().unwrap(), "--param", "size=0.01", "--out"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(&["--commission", "0.0005", "--maker-commission", "0.0001"]);
        args.extend_from_slice(extra);
        ok(&kestrel(tmp.path(), &args));
        out
    };
    let probabilistic = ["--queue", "probabilistic", "--queue-power", "2", "--seed", "9"];
    let (a, b) = (run("a", &probabilistic), run("b", &probabilistic));
    // The same data and seed: the same fills, byte for byte.
    assert_eq!(std::fs::read(a.join("fills.csv")).unwrap(), std::fs::read(b.join("fills.csv")).unwrap());
    let s = summary(&a);
    assert_eq!(s["params"]["queue"], "probabilistic (power 2, seed 9)");
    assert_eq!(s["params"]["maker_commission"], "0.0001");
    let rows = fill_rows(&a);
    assert!(!rows.is_empty(), "the quoter's orders rest in the book and fill");
    // The quoter is passive: its fills provide liquidity and pay the maker's rate (0.01%).
    for r in &rows {
        assert_eq!(r[4], "maker", "{r:?}");
        let value: f64 = r[1].parse::<f64>().unwrap() * r[2].parse::<f64>().unwrap();
        let fee: f64 = r[3].parse().unwrap();
        assert!((fee - value * 0.0001).abs() < 1e-6, "maker commission: {r:?}");
    }
    // Risk-averse: prints still work off the queue ahead, so resting orders fill too.
    let averse = run("c", &["--queue", "risk-averse"]);
    assert!(!fill_rows(&averse).is_empty());
}

#[test]
fn the_quoter_runs_on_a_real_market_by_order_file_with_exact_queue_positions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = convert(tmp.path(), &shared_data().join("dbn/glbx-esm4-20240508.mbo.v1.dbn.zst"), "mbo.kt");
    let out = tmp.path().join("r");
    let stdout = ok(&kestrel(
        tmp.path(),
        &["backtest", data.to_str().unwrap(), "--param", "size=1", "--out", out.to_str().unwrap()],
    ));
    assert_eq!(figure(&stdout, "events"), "13798", "{stdout}");
    let rows = fill_rows(&out);
    assert!(!rows.is_empty() && rows.iter().all(|r| r[4] == "maker"), "{rows:?}");
}

#[test]
fn sma_cross_runs_on_converted_backtrader_bars_through_the_bar_broker() {
    let tmp = tempfile::tempdir().unwrap();
    let bars = tmp.path().join("b.kt");
    let o = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args([
            "convert",
            "--from",
            "btcsv",
            shared_data().join("backtrader/2006-day-001.txt").to_str().unwrap(),
            "-o",
            bars.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    ok(&o);
    let out = tmp.path().join("r");
    let args = ["backtest", bars.to_str().unwrap(), "--strategy", "sma-cross", "--param", "size=10", "--out"];
    let stdout = ok(&kestrel(tmp.path(), &[&args[..], &[out.to_str().unwrap()]].concat()));
    assert_eq!(figure(&stdout, "events"), "255");
    let s = summary(&out);
    assert_eq!(s["strategy"], "sma-cross");
    // 255 daily bars: one equity point per bar, and the crossover traded.
    assert_eq!(s["equity_points"], 255);
    assert!(s["trades_closed"].as_u64().unwrap() >= 2, "{s}");
    let trades = std::fs::read_to_string(out.join("trades.csv")).unwrap();
    assert!(trades.lines().skip(1).all(|l| l.contains(",long,")), "long only: {trades}");
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.kt");
    let e = failed(&kestrel(tmp.path(), &["backtest", missing.to_str().unwrap()]));
    assert!(e.contains("nope.kt"), "{e}");
    let e = failed(&kestrel(tmp.path(), &["backtest", "--strategy", "martingale"]));
    assert!(e.contains("unknown strategy \"martingale\""), "{e}");
    let e = failed(&kestrel(tmp.path(), &["backtest", "--param", "half_spread=0", "--demo-events", "1000"]));
    assert!(e.contains("half_spread must be at least 1"), "{e}");
    let garbage = tmp.path().join("garbage.kt");
    std::fs::write(&garbage, b"not a tick file at all").unwrap();
    let e = failed(&kestrel(tmp.path(), &["backtest", garbage.to_str().unwrap()]));
    assert!(e.contains("garbage.kt"), "{e}");
    // A bar strategy on tick data says what it needs.
    let e = failed(&kestrel(tmp.path(), &["backtest", "--strategy", "sma-cross", "--demo-events", "1000"]));
    assert!(e.contains("no bar records"), "{e}");
    let curve = tmp.path().join("latency.csv");
    std::fs::write(&curve, "0,100\n").unwrap();
    let e = failed(&kestrel(
        tmp.path(),
        &["backtest", "--demo-events", "1000", "--latency-file", curve.to_str().unwrap()],
    ));
    assert!(e.contains("latency.csv") && e.contains("line 1"), "{e}");
    let help = ok(&kestrel(tmp.path(), &["backtest", "--param", "help"]));
    assert!(help.contains("half_spread"), "{help}");
}
