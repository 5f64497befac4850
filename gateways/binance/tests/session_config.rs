//! Session configuration: modes and their endpoints, live trading guarded, bad configs and missing
//! credentials as typed errors, secrets never printed.

use kestrel_gateway::{EndpointKind, GatewayConfig, Secrets, Venue};
use kestrel_gw_binance::session::{BinanceConfig, BinanceVenue, Mode, SessionError};

const SECRET: &str = "s3cr3t-value-never-printed";

fn secrets() -> Secrets {
    Secrets::from_values([("api_key", "key-never-printed".to_owned()), ("api_secret", SECRET.to_owned())])
        .unwrap()
}

fn parse(json: &str) -> BinanceConfig {
    serde_json::from_str(json).unwrap()
}

const BTC: &str = r#""symbols":[{"symbol":"BTCUSDT","instrument":0},{"symbol":"ETHUSDT","instrument":3}]"#;

#[test]
fn live_mode_is_refused_without_allow_live() {
    let live = parse(&format!(r#"{{"mode":"live",{BTC}}}"#));
    assert!(matches!(BinanceVenue::new(live.clone(), &secrets()), Err(SessionError::LiveNotAllowed)));
    let err = BinanceVenue::new(live, &secrets()).unwrap_err().to_string();
    assert!(err.contains("allow_live = true"), "{err}");
    let allowed = parse(&format!(r#"{{"mode":"live","allow_live":true,{BTC}}}"#));
    let venue = BinanceVenue::new(allowed, &secrets()).unwrap();
    let eps = venue.endpoints();
    assert_eq!((eps[0].host.as_str(), eps[0].port, eps[0].tls), ("api.binance.com", 443, true));
    assert_eq!((eps[1].host.as_str(), eps[1].port), ("stream.binance.com", 9443));
    assert_eq!(
        (eps[2].host.as_str(), eps[2].kind.clone()),
        ("ws-api.binance.com", EndpointKind::WebSocket { path: "/ws-api/v3".into() })
    );
}

#[test]
fn modes_default_to_the_local_simulator_and_testnet_urls() {
    let paper = parse(&format!("{{{BTC}}}"));
    assert_eq!(paper.mode, Mode::Paper);
    let venue = BinanceVenue::new(paper, &secrets()).unwrap();
    let eps = venue.endpoints();
    assert!(eps.iter().all(|e| e.host == "127.0.0.1" && e.port == 9443 && !e.tls));
    assert_eq!(
        eps[1].kind,
        EndpointKind::WebSocket {
            path: "/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms/ethusdt@trade/ethusdt@bookTicker/ethusdt@depth@100ms"
                .into()
        }
    );
    let testnet = BinanceVenue::new(parse(&format!(r#"{{"mode":"testnet",{BTC}}}"#)), &secrets()).unwrap();
    let hosts: Vec<(&str, bool)> = testnet.endpoints().iter().map(|e| (e.host.as_str(), e.tls)).collect();
    assert_eq!(
        hosts,
        [
            ("testnet.binance.vision", true),
            ("stream.testnet.binance.vision", true),
            ("ws-api.testnet.binance.vision", true)
        ]
    );
    // Overrides: ports, TLS and a stream path prefix.
    let custom = parse(&format!(
        r#"{{"rest_url":"https://sim.local:8443","stream_url":"wss://sim.local:8444/md/","ws_api_url":"ws://10.0.0.2:81/ws-api/v3",{BTC}}}"#
    ));
    let venue = BinanceVenue::new(custom, &secrets()).unwrap();
    let eps = venue.endpoints();
    assert_eq!((eps[0].port, eps[0].tls), (8443, true));
    assert!(
        matches!(&eps[1].kind, EndpointKind::WebSocket { path } if path.starts_with("/md/stream?streams="))
    );
    assert_eq!((eps[2].host.as_str(), eps[2].port, eps[2].tls), ("10.0.0.2", 81, false));
}

#[test]
fn bad_configs_are_typed_errors_naming_the_field() {
    let unknown: Result<BinanceConfig, _> = serde_json::from_str(&format!(r#"{{"mdoe":"live",{BTC}}}"#));
    assert!(unknown.unwrap_err().to_string().contains("unknown field `mdoe`"));
    let bad_mode: Result<BinanceConfig, _> = serde_json::from_str(&format!(r#"{{"mode":"prod",{BTC}}}"#));
    assert!(bad_mode.is_err());
    for (json, field) in [
        (format!(r#"{{"rest_url":"ftp://x",{BTC}}}"#), "rest_url"),
        (format!(r#"{{"rest_url":"http://x/api",{BTC}}}"#), "rest_url"),
        (format!(r#"{{"rest_url":"http://x:0",{BTC}}}"#), "rest_url"),
        (format!(r#"{{"stream_url":"http://x",{BTC}}}"#), "stream_url"),
        (format!(r#"{{"ws_api_url":"wss://x",{BTC}}}"#), "ws_api_url"),
        (format!(r#"{{"ws_api_url":"wss://u:p@x/ws-api/v3",{BTC}}}"#), "ws_api_url"),
        (format!(r#"{{"recv_window_ms":60001,{BTC}}}"#), "recv_window_ms"),
        (r#"{"symbols":[]}"#.to_owned(), "symbols"),
        (r#"{"symbols":[{"symbol":"btcusdt","instrument":0}]}"#.to_owned(), "symbols"),
        (
            r#"{"symbols":[{"symbol":"BTCUSDT","instrument":0},{"symbol":"ETHUSDT","instrument":0}]}"#
                .to_owned(),
            "symbols",
        ),
    ] {
        match BinanceVenue::new(parse(&json), &secrets()) {
            Err(SessionError::Config { field: f, .. }) => assert_eq!(f, field, "{json}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    let missing_ca = parse(&format!(r#"{{"ca_file":"/nonexistent/ca.pem",{BTC}}}"#));
    assert!(matches!(BinanceVenue::new(missing_ca, &secrets()), Err(SessionError::CaFile { .. })));
}

#[test]
fn credentials_are_required_and_never_printed() {
    let only_key = Secrets::from_values([("api_key", "k".to_owned())]).unwrap();
    let err = BinanceVenue::new(parse(&format!("{{{BTC}}}")), &only_key).unwrap_err();
    assert!(matches!(err, SessionError::Secrets(_)));
    assert!(err.to_string().contains("api_secret"), "{err}");
    let bad_ed =
        Secrets::from_values([("api_key", "k".to_owned()), ("ed25519_key", "not a pem".to_owned())]).unwrap();
    assert!(matches!(BinanceVenue::new(parse(&format!("{{{BTC}}}")), &bad_ed), Err(SessionError::Key(_))));
    let venue = BinanceVenue::new(parse(&format!("{{{BTC}}}")), &secrets()).unwrap();
    let shown = format!("{venue:?}");
    assert!(!shown.contains(SECRET) && !shown.contains("key-never-printed"), "{shown}");
    assert!(shown.contains("***"));
}

#[test]
fn the_ca_file_reaches_the_gateway_config() {
    let dir = std::env::temp_dir().join(format!("kestrel-session-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, b"-----BEGIN CERTIFICATE-----\n").unwrap();
    let json = format!(r#"{{"ca_file":{:?},{BTC}}}"#, path.to_str().unwrap());
    let venue = BinanceVenue::new(parse(&json), &secrets()).unwrap();
    let config = venue.gateway_config(GatewayConfig::default());
    assert_eq!(config.extra_ca_pem.as_deref(), Some(&b"-----BEGIN CERTIFICATE-----\n"[..]));
    std::fs::remove_dir_all(&dir).unwrap();
}
