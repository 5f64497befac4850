//! Broken input gets a typed error naming the message and the field; nothing panics.

mod common;

use common::{fixture, fixtures_dir};
use kestrel_gw_binance::DecodeError;
use kestrel_gw_binance::codec::{decode, decode_market, decode_order_response, decode_user, decode_wsapi};
use kestrel_gw_binance::msg::{DepthSnapshot, ExchangeInfo, QueriedOrder};
use kestrel_types::ParseDecimalError;
use proptest::prelude::*;

/// Runs every decoder on `text`; they may refuse it but must not panic.
fn all_decoders(text: &str) {
    let _ = decode_market(text);
    let _ = decode_user(text);
    let _ = decode_order_response(text);
    let _ = decode_wsapi(text);
    let _ = decode::<ExchangeInfo>("x", text);
    let _ = decode::<DepthSnapshot>("x", text);
    let _ = decode::<Vec<QueriedOrder<'_>>>("x", text);
}

fn json_fixtures() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "INDEX.json")
        .map(|n| {
            let t = fixture(&n);
            (n, t)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_truncation_of_every_fixture_is_a_truncation_error() {
    for (name, text) in json_fixtures() {
        let body = text.trim_end();
        let step = (body.len() / 400).max(1);
        for cut in (1..body.len()).step_by(step) {
            let Some(prefix) = body.get(..cut) else { continue };
            all_decoders(prefix);
            let e = decode::<serde::de::IgnoredAny>("fixture", prefix).unwrap_err();
            assert!(matches!(e, DecodeError::Truncated { what: "fixture", .. }), "{name} at {cut}: {e:?}");
        }
    }
}

#[test]
fn garbage_is_a_syntax_error() {
    for bad in ["nonsense", "{\"e\":}", "{\"a\" 1}", "\u{0}", "{\"e\":\"trade\"}}"] {
        let e = decode_user(bad).unwrap_err();
        assert!(matches!(e, DecodeError::Syntax { what: "user frame", .. }), "{bad:?}: {e:?}");
    }
    assert!(matches!(decode_user(""), Err(DecodeError::Truncated { .. })));
    // Not an object at all: refused as data.
    assert!(matches!(decode_user("[1,2]"), Err(DecodeError::Field { .. })));
}

fn field_path(e: &DecodeError) -> &str {
    match e {
        DecodeError::Decimal { path, .. } | DecodeError::Field { path, .. } => path,
        other => panic!("not a field error: {other:?}"),
    }
}

#[test]
fn wrong_types_name_the_field() {
    let text = fixture("user_executionReport_TRADE_FILLED.json");
    // A time as a string where Binance sends a number.
    let e = decode_user(&text.replace(r#""E":1616633041556"#, r#""E":"1616633041556""#)).unwrap_err();
    assert!(matches!(&e, DecodeError::Field { what: "executionReport", .. }), "{e:?}");
    assert_eq!(field_path(&e), "E");
    // A price as a JSON number (a float could not be exact).
    let e = decode_user(&text.replace(r#""L":"52436.85000000""#, r#""L":52436.85"#)).unwrap_err();
    assert_eq!(field_path(&e), "L");
    // An unknown side.
    let e = decode_user(&text.replace(r#""S":"BUY""#, r#""S":"BUYX""#)).unwrap_err();
    assert_eq!(field_path(&e), "S");
    assert!(e.to_string().contains("BUYX"));
    // A missing field.
    let e = decode_user(&text.replace(r#""i":5341783271,"#, "")).unwrap_err();
    assert!(e.to_string().contains("missing field `i`"), "{e}");
    // A WS-API status as a string.
    let e = decode_wsapi(&fixture("wsapi_userDataStream_subscribe_response.json").replace("200", "\"200\""))
        .unwrap_err();
    assert_eq!(field_path(&e), "status");
}

#[test]
fn inexact_decimals_are_typed_with_their_field() {
    let text = fixture("user_executionReport_TRADE_FILLED.json");
    let e = decode_user(&text.replace(r#""q":"0.00028600""#, r#""q":"0.0000000001""#)).unwrap_err();
    assert_eq!(
        e,
        DecodeError::Decimal {
            what: "executionReport",
            path: "q".into(),
            text: "0.0000000001".into(),
            source: ParseDecimalError::TooManyDecimals { max: 9, found: 10 },
        }
    );
    let e = decode_user(&text.replace(r#""n":"0.00000029""#, r#""n":"1e-7""#)).unwrap_err();
    assert!(
        matches!(&e, DecodeError::Decimal { path, source: ParseDecimalError::InvalidChar { .. }, .. } if path == "n"),
        "{e:?}"
    );
    // Inside a depth level: the element is named.
    let depth = fixture("ws_depthUpdate.json")
        .replace(r#"["0.34750000","5548.00000000"]"#, r#"["0.34750000","55x8"]"#);
    let e = decode_market(&depth).unwrap_err();
    assert!(
        matches!(&e, DecodeError::Decimal { what: "depthUpdate", path, .. } if path == "b[1][1]"),
        "{e:?}"
    );
    // In a FULL answer's fills.
    let full = fixture("rest_order_new_FULL_market_filled.json")
        .replace(r#""commission": "0.60000000""#, r#""commission": "0.6.0""#);
    let e = decode_order_response(&full).unwrap_err();
    assert!(matches!(&e, DecodeError::Decimal { path, .. } if path.ends_with("commission")), "{e:?}");
    // A known exchangeInfo filter with a broken value is an error (unknown filters are kept).
    let info = fixture("rest_exchangeInfo_BTCUSDT.json")
        .replace(r#""tickSize": "0.01000000""#, r#""tickSize": "0,01""#);
    let e = decode::<ExchangeInfo>("exchangeInfo", &info).unwrap_err();
    assert!(field_path(&e).starts_with("symbols[0].filters[0]"), "{e:?}");
    assert!(e.to_string().contains("PRICE_FILTER"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_arbitrary_text(text in "\\PC{0,200}") {
        all_decoders(&text);
    }

    #[test]
    fn decoders_never_panic_on_mutated_fixtures(
        which in 0usize..64,
        at in 0usize..4096,
        with in prop::sample::select(vec!["", "\"", "0", "-", ".", "}", "]", "null", "1e999", "\"x\"", "[", "{", ",", "99999999999999999999999"]),
    ) {
        let fixtures = json_fixtures();
        let (_, text) = &fixtures[which % fixtures.len()];
        let mut cut = at % text.len().max(1);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let mutated = format!("{}{}{}", &text[..cut], with, text.get(cut + 1..).unwrap_or(""));
        all_decoders(&mutated);
    }
}
