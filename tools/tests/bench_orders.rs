//! `kestrel bench orders` prints its contract line, and refuses a count below two windows.

use std::process::Command;

#[test]
fn the_orders_benchmark_prints_its_contract_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["bench", "orders", "--orders", "30000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["orders", "orders_per_sec", "ns_per_order_first_10k", "ns_per_order_last_10k"]);
    assert_eq!(v["orders"], 30_000);
    assert!(v["orders_per_sec"].as_f64().unwrap() > 0.0);
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["bench", "orders", "--orders", "100"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 20000"));
}
