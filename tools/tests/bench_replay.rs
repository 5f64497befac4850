//! `kestrel bench replay` as other tools call it: one JSON line whose keys and their order are a
//! contract, and a generated file that is cached and reused.

use std::process::Command;

fn bench_replay(cache: &std::path::Path) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["bench", "replay", "--events", "200000"])
        .env("KESTREL_CACHE", cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

#[test]
fn bench_replay_prints_the_contract_line_and_reuses_its_file() {
    let cache = tempfile::tempdir().unwrap();
    let (stdout, stderr) = bench_replay(cache.path());
    assert!(stderr.contains("generating"), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    let line = stdout.trim_end();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["events", "events_per_sec", "trivial_per_sec", "anon_rss_bytes", "file_bytes"],
        "key order is part of the contract: {line}"
    );
    assert!(line.starts_with("{\"events\":200000,\"events_per_sec\":"), "{line}");
    assert!(v["events_per_sec"].as_f64().unwrap() > 0.0, "{line}");
    assert!(v["trivial_per_sec"].as_f64().unwrap() > 0.0, "{line}");
    assert!(v["anon_rss_bytes"].as_u64().unwrap() > 0, "{line}");
    // A header, one instrument entry and 64 bytes per event.
    let file_bytes = v["file_bytes"].as_u64().unwrap();
    assert!((200_000 * 64..200_000 * 64 + 4096).contains(&file_bytes), "{line}");
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].to_string_lossy();
    assert!(name.contains("200000") && name.contains("seed1"), "the name holds N and the seed: {name}");

    let (again, stderr) = bench_replay(cache.path());
    assert!(stderr.contains("reusing"), "the second run reuses the file: {stderr}");
    assert!(again.starts_with("{\"events\":200000,"), "{again}");
}
