//! `kestrel diff` as a person runs it: the backtrader samples through the bar broker and the two
//! tick paths, the intrabar-ambiguous cases checked against the data, the JSON keys, and refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn backtrader(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/backtrader").join(name)
}

fn kestrel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel")).args(args).output().unwrap()
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

/// `kestrel diff --json` on `data` with `extra` arguments.
fn diff_json(data: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["diff", "--data", data.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&kestrel(&args))).unwrap()
}

fn count(v: &Value, path: &[&str]) -> u64 {
    path.iter().fold(v, |v, k| &v[*k]).as_u64().unwrap_or_else(|| panic!("{path:?} in {v}"))
}

/// A price in hundredths (the backtrader samples have two decimals).
fn cents(s: &str) -> i64 {
    let (units, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<2}");
    units.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap()
}

/// The bars of a btcsv daily file as (date, open, high, low, close) in hundredths.
fn bars(path: &Path) -> Vec<(String, [i64; 4])> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), [cents(f[1]), cents(f[2]), cents(f[3]), cents(f[4])])
        })
        .collect()
}

#[test]
fn sma_cross_fills_agree_everywhere_market_orders_at_the_next_open() {
    let path = backtrader("2006-day-001.txt");
    let v = diff_json(&path, &["--strategy", "sma-cross"]);
    let fills = count(&v, &["fills", "bar_broker"]);
    assert!(fills >= 4, "{v}");
    assert_eq!(count(&v, &["fills", "path_a"]), fills);
    assert_eq!(count(&v, &["fills", "path_b"]), fills);
    for pair in ["bar_vs_a", "bar_vs_b", "a_vs_b"] {
        assert_eq!(count(&v, &[pair, "differ"]), 0, "{pair}: {v}");
        assert_eq!(count(&v, &[pair, "agree"]), count(&v, &["compared"]));
    }
    assert_eq!(count(&v, &["ambiguous"]), 0);
    assert_eq!(v["differences"].as_array().unwrap().len(), 0);
    // And the text report says so.
    let text = ok(&kestrel(&["diff", "--data", path.to_str().unwrap(), "--strategy", "sma-cross"]));
    assert!(text.contains("intrabar-ambiguous     0"), "{text}");
    assert!(text.contains("bar broker vs path A   agree 7, differ 0"), "{text}");
}

#[test]
fn sma_bracket_ambiguous_cases_are_bars_covering_both_exits() {
    let path = backtrader("2006-day-001.txt");
    let params =
        ["--param", "fast=2", "--param", "slow=5", "--param", "stop=0.003", "--param", "target=0.003"];
    let mut args = vec!["--strategy", "sma-bracket"];
    args.extend_from_slice(&params);
    let v = diff_json(&path, &args);
    let data = bars(&path);
    let cases = v["cases"].as_array().unwrap();
    assert!(!cases.is_empty(), "{v}");
    assert_eq!(count(&v, &["ambiguous"]), cases.len() as u64);
    for c in cases {
        let i = count(c, &["bar"]) as usize;
        let (date, [o, h, l, _]) = &data[i];
        assert_eq!(c["date"].as_str(), Some(date.as_str()));
        // The bracket's entry filled at the open after its signal; the exits are 0.3% away,
        // rounded to the cent away from the entry.
        let signal = count(&c["orders"][0], &["signal_bar"]) as usize;
        let entry = data[signal + 1].1[0];
        let stop = (entry * 997).div_euclid(1000);
        let target = -(-(entry * 1003)).div_euclid(1000);
        assert!(*l <= stop && *h >= target, "{date}: range {l}..{h} does not cover {stop} and {target}");
        assert!(stop < *o && *o < target, "{date}: the open {o} is beyond an exit");
        // Path A reaches the high first and takes the target; path B the low and is stopped out.
        assert_eq!(c["path_a"][0]["role"], "target", "{c}");
        assert_eq!(c["path_a"][0]["tick"], "H");
        assert_eq!(c["path_b"][0]["role"], "stop", "{c}");
        assert_eq!(c["path_b"][0]["tick"], "L");
        assert_eq!(cents(c["path_b"][0]["price"].as_str().unwrap()), *l);
        assert_eq!(cents(c["path_a"][0]["price"].as_str().unwrap()), target);
    }
    // The default distances run too, with a readable report.
    let text = ok(&kestrel(&["diff", "--data", path.to_str().unwrap(), "--strategy", "sma-bracket"]));
    assert!(text.contains("intrabar-ambiguous cases"), "{text}");
}

#[test]
fn one_bar_covering_stop_and_target_is_one_case_stopped_on_the_low_first_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.txt");
    std::fs::write(
        &path,
        "Date,Open,High,Low,Close,Volume,OpenInterest
2024-01-01,100,100,100,100,0,0
2024-01-02,99,99,99,99,0,0
2024-01-03,101,101,101,101,0,0
2024-01-04,100,102.5,99.8,102,0,0
2024-01-05,100.5,104,97,103.5,0,0
2024-01-06,103,103.6,102.8,103.2,0,0
",
    )
    .unwrap();
    let params = ["fast=1", "slow=2", "stop=0.02", "target=0.03"];
    let mut args = vec!["--strategy", "sma-bracket"];
    for p in &params {
        args.extend_from_slice(&["--param", p]);
    }
    let v = diff_json(&path, &args);
    assert_eq!(v["tick"], "0.1");
    assert_eq!(count(&v, &["ambiguous"]), 1, "{v}");
    let c = &v["cases"][0];
    assert_eq!(c["date"], "2024-01-05");
    assert_eq!((c["high"].as_str(), c["low"].as_str()), (Some("104.0"), Some("97.0")));
    // Long from 100: stop 98, target 103. O-L-H-C visits the low first: the stop fills there.
    assert_eq!(v["paths"]["path_b"], "O-L-H-C");
    let fill = |run: &str| {
        let f = &c[run][0];
        (f["role"].as_str().unwrap().to_owned(), f["price"].as_str().unwrap().to_owned(), f["tick"].clone())
    };
    assert_eq!(fill("path_b"), ("stop".to_owned(), "97.0".to_owned(), Value::from("L")));
    assert_eq!(fill("path_a"), ("target".to_owned(), "103.0".to_owned(), Value::from("H")));
    // backtrader's bar broker checks the legs in submission order: the stop, at its price.
    assert_eq!(fill("bar_broker"), ("stop".to_owned(), "98.0".to_owned(), Value::Null));
    assert_eq!(c["path_a"].as_array().unwrap().len(), 1);
    assert_eq!(c["path_b"].as_array().unwrap().len(), 1);
}

#[test]
fn json_has_the_documented_keys() {
    let v = diff_json(
        &backtrader("2006-day-001.txt"),
        &[
            "--strategy",
            "sma-bracket",
            "--param",
            "fast=2",
            "--param",
            "slow=5",
            "--param",
            "stop=0.003",
            "--param",
            "target=0.003",
        ],
    );
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "data",
            "format",
            "bars",
            "first",
            "last",
            "strategy",
            "params",
            "tick",
            "lot",
            "cash",
            "commission",
            "optimistic",
            "paths",
            "orders",
            "fills",
            "compared",
            "bar_vs_a",
            "bar_vs_b",
            "a_vs_b",
            "ambiguous",
            "cases",
            "differences",
        ]
    );
    for per_run in ["orders", "fills"] {
        let k: Vec<&str> = v[per_run].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(k, ["bar_broker", "path_a", "path_b"]);
    }
    let case: Vec<&str> = v["cases"][0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        case,
        ["bar", "date", "open", "high", "low", "close", "orders", "path_a", "path_b", "bar_broker"]
    );
    let order: Vec<&str> =
        v["cases"][0]["orders"][0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(order, ["signal_bar", "signal_date", "role", "side"]);
    let fill: Vec<&str> =
        v["cases"][0]["path_a"][0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fill, ["role", "signal_bar", "seq", "side", "qty", "price", "bar", "date", "tick"]);
    let d: Vec<&str> = v["differences"][0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(d, ["order", "bar_broker", "path_a", "path_b"]);
    let outcome: Vec<&str> =
        v["differences"][0]["path_a"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(outcome, ["status", "fills"]);
    assert_eq!((v["format"].as_str(), count(&v, &["bars"])), (Some("btcsv"), 255));
}

#[test]
fn other_backtrader_files_run_yahoo_and_intraday() {
    // Yahoo prices with six decimals (16.040001): the grid is the data's.
    let v = diff_json(&backtrader("nvda-2014.txt"), &["--strategy", "sma-cross"]);
    assert_eq!((v["format"].as_str(), v["tick"].as_str()), (Some("yahoo"), Some("0.000001")));
    assert_eq!(count(&v, &["bar_vs_a", "differ"]), 0, "{v}");
    let v = diff_json(&backtrader("2006-min-005.txt"), &["--strategy", "sma-bracket"]);
    assert_eq!(count(&v, &["bars"]), 2142);
    assert!(v["first"].as_str().unwrap().starts_with("2006-01-02 09:05"), "{}", v["first"]);
}

#[test]
fn a_tick_file_of_the_bars_gives_the_csvs_figures() {
    let dir = tempfile::tempdir().unwrap();
    let csv = backtrader("2006-day-001.txt");
    let kt = dir.path().join("2006.kt");
    ok(&kestrel(&["convert", "--from", "btcsv", csv.to_str().unwrap(), "-o", kt.to_str().unwrap()]));
    let args =
        ["--strategy", "sma-bracket", "--param", "fast=2", "--param", "slow=5", "--param", "stop=0.003"];
    let (a, b) = (diff_json(&csv, &args), diff_json(&kt, &args));
    assert_eq!(b["format"], "kt");
    for key in ["bars", "tick", "orders", "fills", "bar_vs_a", "bar_vs_b", "a_vs_b", "cases", "differences"] {
        assert_eq!(a[key], b[key], "{key}");
    }
}

#[test]
fn bad_input_exits_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "Date,Open,High,Low,Close,Volume,OpenInterest\n2024-01-01,100,x,99,100,0,0\n")
        .unwrap();
    let err = failed(&kestrel(&["diff", "--data", bad.to_str().unwrap()]));
    assert!(err.contains("bad.txt") && err.contains("bad number"), "{err}");

    let missing = dir.path().join("missing.txt");
    let err = failed(&kestrel(&["diff", "--data", missing.to_str().unwrap()]));
    assert!(err.contains("missing.txt"), "{err}");

    let short = dir.path().join("short.txt");
    std::fs::write(&short, "Date,Open,High,Low,Close,Volume,OpenInterest\n2024-01-01,100,101,99,100,0,0\n")
        .unwrap();
    let err = failed(&kestrel(&["diff", "--data", short.to_str().unwrap()]));
    assert!(err.contains("short.txt") && err.contains("1 bars"), "{err}");

    let good = backtrader("2006-day-001.txt");
    let err = failed(&kestrel(&["diff", "--data", good.to_str().unwrap(), "--strategy", "nope"]));
    assert!(err.contains("unknown strategy"), "{err}");
    let err = failed(&kestrel(&["diff", "--data", good.to_str().unwrap(), "--param", "stop=0.01"]));
    assert!(err.contains("sma-cross has no parameter \"stop\""), "{err}");
}
