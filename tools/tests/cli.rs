//! The `kestrel` binary as other tools call it: exit statuses and output contracts.

use std::path::{Path, PathBuf};
use std::process::Command;

fn kestrel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// Writes `text` as a scenario next to nothing: data paths resolve through `$KESTREL_DATA_ROOT`.
fn scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, text).unwrap();
    p
}

const VALID: &str = r#"{"name": "probe", "data": [{"name": "d0", "file": "backtrader/2006-day-001.txt", "format": "btcsv"}],
  "broker": {"cash": 100000.0}, "commission": [], "actions": [ACTION]}"#;

#[test]
fn conform_refuses_what_the_format_does_not_define_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown_key",
            VALID.replace("ACTION", r#"{"bar": 2, "op": "buy", "id": "o1", "colour": "red"}"#),
            "actions[0]",
        ),
        (
            "tradeid",
            VALID.replace("ACTION", r#"{"bar": 2, "op": "buy", "id": "o1", "tradeid": 1}"#),
            "tradeid",
        ),
        (
            "exectype",
            VALID.replace("ACTION", r#"{"bar": 2, "op": "buy", "id": "o1", "exectype": "Iceberg"}"#),
            "exectype",
        ),
        // Only found at run time, as in the oracle: the cancel names an order never placed.
        (
            "unknown_id",
            VALID.replace("ACTION", r#"{"bar": 2, "op": "cancel", "id": "nope"}"#),
            "actions[0].id",
        ),
        (
            "duplicate_id",
            VALID.replace(
                "ACTION",
                r#"{"bar": 2, "op": "buy", "id": "o1"}, {"bar": 3, "op": "buy", "id": "o1"}"#,
            ),
            "actions[1].id",
        ),
    ];
    for (name, text, field) in cases {
        let path = scenario(dir.path(), name, &text);
        let out = kestrel()
            .arg("conform")
            .arg(&path)
            .env("KESTREL_DATA_ROOT", shared().join("data"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        assert!(stderr.contains(field), "{name}: the message names the field {field}: {stderr}");
        assert!(
            stderr.contains("probe") || stderr.contains(&format!("{name}.json")),
            "{name}: the message names the scenario: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
    }
}

#[test]
fn conform_prints_one_json_document_for_a_valid_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), "ok", &VALID.replace("ACTION", r#"{"bar": 2, "op": "buy", "id": "o1"}"#));
    let out =
        kestrel().arg("conform").arg(&path).env("KESTREL_DATA_ROOT", shared().join("data")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format"], "kestrel-conformance/1");
    assert_eq!(doc["orders"][2]["status"], "Completed");
}

#[test]
fn bench_bars_prints_the_contract_line() {
    let out = kestrel().args(["bench", "bars", "--bars", "20000"]).output().unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["bars"], 20_000);
    assert!(v["orders"].as_u64().unwrap() > 0);
    assert!(v["bars_per_sec"].as_f64().unwrap() > 0.0);
}
