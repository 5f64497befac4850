//! `kestrel bench latency` as a script runs it: one JSON line with the contract's keys, and a
//! report folder with the `.hgrm` files and the plots.

use std::process::Command;

#[test]
fn a_short_latency_run_prints_the_contract_line_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["bench", "latency", "--rate", "50000", "--samples", "5000", "--warmup", "500"])
        .args(["--rtt-samples", "1000", "--no-pin", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "samples",
            "p50_ns",
            "p99_ns",
            "p999_ns",
            "p9999_ns",
            "max_ns",
            "ring_rtt_p50_ns",
            "ring_rtt_p99_ns",
            "ring_rtt_p999_ns",
            "allocations"
        ]
    );
    assert_eq!(v["samples"], 5000);
    assert_eq!(v["allocations"], 0, "the binary counts allocations and the engine thread made none");
    let n = |k: &str| v[k].as_u64().unwrap();
    assert!(n("p50_ns") > 0 && n("p50_ns") <= n("p99_ns") && n("p99_ns") <= n("p999_ns"));
    assert!(n("p999_ns") <= n("p9999_ns") && n("p9999_ns") <= n("max_ns"));
    for f in [
        "tick_to_order.hgrm",
        "ring_rtt_before.hgrm",
        "ring_rtt_after.hgrm",
        "ring_in.hgrm",
        "strategy.hgrm",
        "risk.hgrm",
        "ring_out.hgrm",
        "latency.png",
        "latency.svg",
        "stages.png",
        "stages.svg",
        "run.txt",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let hgrm = std::fs::read_to_string(dir.path().join("tick_to_order.hgrm")).unwrap();
    assert!(hgrm.contains("Total count    =         5000"), "{hgrm}");
}
