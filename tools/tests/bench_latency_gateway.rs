//! `kestrel bench latency --gateway binance` as a script runs it: the simulator, the Binance
//! gateway and the engine on loopback; one JSON line with the contract's keys and the report.

use std::process::Command;

#[test]
fn a_short_gateway_run_prints_the_contract_line_and_writes_the_histogram() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["bench", "latency", "--gateway", "binance", "--samples", "200", "--warmup", "50"])
        .args(["--no-pin", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["gateway"], "binance", "{v}");
    // Closed loop on loopback: every tick is answered by exactly one order.
    assert_eq!(v["samples"], 200, "{v}");
    assert_eq!(
        (v["ticks"].as_u64(), v["unanswered"].as_u64(), v["extra_orders"].as_u64()),
        (Some(200), Some(0), Some(0)),
        "{v}"
    );
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} missing: {v}"));
    let (p50, p99, p999) = (
        n("gateway_tick_to_order_p50_ns"),
        n("gateway_tick_to_order_p99_ns"),
        n("gateway_tick_to_order_p999_ns"),
    );
    assert!(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= n("gateway_tick_to_order_max_ns"), "{v}");
    // A tick crosses loopback twice and the whole stack: a microsecond at the very least, and
    // on loopback well under the probe's two-second answer timeout.
    assert!(p50 >= 1_000 && p999 < 2_000_000_000, "{v}");
    let hgrm = std::fs::read_to_string(dir.path().join("gateway_tick_to_order.hgrm")).unwrap();
    assert!(hgrm.contains("Total count    =          200"), "{hgrm}");
    for f in ["gateway_latency.png", "gateway_latency.svg", "gateway_run.txt"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
}

#[test]
fn an_unknown_gateway_is_refused_naming_the_known_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["bench", "latency", "--gateway", "kraken", "--samples", "10"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("binance"), "{err}");
}
