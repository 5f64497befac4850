//! `kestrel bench book` as other tools call it: exactly `{"events":N,"events_per_sec":X}` on one
//! line, and a generated file that is cached and reused.

use std::process::Command;

fn bench_book(cache: &std::path::Path, events: u64) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["bench", "book", "--events", &events.to_string()])
        .env("KESTREL_CACHE", cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

#[test]
fn bench_book_prints_the_contract_line_and_reuses_its_file() {
    let cache = tempfile::tempdir().unwrap();
    let (stdout, stderr) = bench_book(cache.path(), 100_000);
    assert!(stderr.contains("generating"), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    let line = stdout.trim_end();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["events", "events_per_sec"], "exactly these keys, in this order: {line}");
    assert_eq!(v["events"], 100_000, "{line}");
    assert!(v["events_per_sec"].as_f64().unwrap() > 0.0, "{line}");
    assert!(line.starts_with("{\"events\":100000,\"events_per_sec\":"), "{line}");
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].to_string_lossy();
    assert!(name.contains("l2") && name.contains("100000") && name.contains("seed1"), "{name}");

    let (again, stderr) = bench_book(cache.path(), 100_000);
    assert!(stderr.contains("reusing"), "the second run reuses the file: {stderr}");
    assert!(again.starts_with("{\"events\":100000,"), "{again}");
}

/// A count smaller than the opening snapshot still replays exactly N events.
#[test]
fn bench_book_takes_tiny_counts() {
    let cache = tempfile::tempdir().unwrap();
    for n in [1, 7] {
        let (stdout, _) = bench_book(cache.path(), n);
        let v: serde_json::Value = serde_json::from_str(stdout.trim_end()).unwrap();
        assert_eq!(v["events"], n, "{stdout}");
    }
}
