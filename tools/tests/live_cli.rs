//! `kestrel live` end to end, as the README runs it: `kestrel sim binance` on loopback, then the
//! quoter through the Binance gateway in paper mode; the position the engine reports must be the
//! simulator's own account change (positions converge), nothing may stay open, and bad
//! configurations are refused with the file and the reason.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const KEY: &str = "live-test-key";
const SECRET: &str = "live-test-secret";

/// A simulator process on a free port, killed on drop.
struct Sim {
    child: Child,
    port: u16,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim() -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["sim", "binance", "--listen", "127.0.0.1:0"])
        .env("BINANCE_API_KEY", KEY)
        .env("BINANCE_API_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let banner: serde_json::Value = serde_json::from_str(&line).unwrap();
    let port = banner["listening"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
    Sim { child, port }
}

fn config(port: u16, extra: &str) -> String {
    format!(
        r#"
[venue]
name = "binance"

[binance]
mode = "paper"
rest_url = "http://127.0.0.1:{port}"
stream_url = "ws://127.0.0.1:{port}"
ws_api_url = "ws://127.0.0.1:{port}/ws-api/v3"
{extra}

[[instruments]]
symbol = "BTCUSDT"
tick = "0.01"
lot = "0.00001"

[strategy]
name = "quoter"
params = {{ size = "0.001", half_spread = "1", max_position = "0.003" }}

[run]
seconds = 4
cash = "100000"
"#
    )
}

fn live(dir: &Path, text: &str) -> Output {
    let path = dir.join("live.toml");
    std::fs::write(&path, text).unwrap();
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["live", "--config", path.to_str().unwrap()])
        .env("BINANCE_API_KEY", KEY)
        .env("BINANCE_API_SECRET", SECRET)
        .output()
        .unwrap()
}

/// A signed `GET` on the simulator (HMAC over the query, Binance's rule).
fn signed_get(port: u16, path: &str) -> serde_json::Value {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let query = format!("timestamp={ms}");
    let sig = kestrel_gw_binance::sign::HmacKey::new(SECRET).sign(query.as_bytes());
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path}?{query}&signature={} HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: {KEY}\r\nConnection: close\r\n\r\n",
        sig.as_str()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The account's BTC, free plus locked, in nano units.
fn btc(account: &serde_json::Value) -> i64 {
    let b = account["balances"].as_array().unwrap().iter().find(|b| b["asset"] == "BTC").unwrap();
    let nano = |k: &str| b[k].as_str().unwrap().parse::<kestrel_types::Qty>().unwrap().raw();
    nano("free") + nano("locked")
}

/// The value printed after `label`.
fn figure<'a>(stdout: &'a str, label: &str) -> &'a str {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("{label}: {stdout}"));
    line.trim_start()[label.len()..].trim()
}

#[test]
fn the_quoter_trades_the_simulator_in_paper_mode_and_positions_converge() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let before = btc(&signed_get(sim.port, "/api/v3/account"));
    let out = live(tmp.path(), &config(sim.port, ""));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(figure(&stdout, "orders").parse::<u64>().unwrap() > 0, "{stdout}");
    assert_eq!(figure(&stdout, "open at end"), "0", "every order canceled or done: {stdout}");
    // The engine's position is what the simulator's account gained or lost.
    let position: kestrel_types::Qty =
        figure(&stdout, "position").split_whitespace().nth(1).unwrap().parse().unwrap();
    let after = btc(&signed_get(sim.port, "/api/v3/account"));
    assert_eq!(after - before, position.raw(), "{stdout}");
    // Nothing left open at the venue either.
    let open = signed_get(sim.port, "/api/v3/openOrders");
    assert_eq!(open.as_array().map(Vec::len), Some(0), "{open}");
}

#[test]
fn live_mode_needs_an_explicit_flag_and_bad_files_name_the_place() {
    let tmp = tempfile::tempdir().unwrap();
    let out = live(tmp.path(), &config(9, "").replace("mode = \"paper\"", "mode = \"live\""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("allow_live"), "{stderr}");
    let out = live(tmp.path(), &config(9, "colour = \"red\""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("colour"), "{stderr}");
    let out = live(tmp.path(), &config(9, "").replace("seconds = 4", "seconds = 0"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("live.toml") && stderr.contains("seconds"), "{stderr}");
}
