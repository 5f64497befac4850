//! A port of `compare.py`'s comparison rules (`FORMAT.md` §2.1), for tests and for
//! `kestrel conform --expected`.
//!
//! `compare.py` is the judge; this port exists so that Rust tests can hold an output against an
//! expected file with the same verdict and the same first-difference message, without Python.
//! Numbers are compared as binary64 here, as `compare.py` does: this is a test comparator mirroring
//! a float comparison, not money arithmetic.
//!
//! Rules, as in `compare.py`:
//! - numbers (JSON numbers, or the strings `"inf"`, `"-inf"`, `"nan"`) are equal when equal as
//!   floats (two NaNs are equal); otherwise fields in [`EXACT_FIELDS`] differ, fields in
//!   [`SIZE_FIELDS`] are equal within [`SIZE_TOL`], and every other number within
//!   `max(MONEY_ABS_TOL, MONEY_REL_TOL·max(|a|, |b|))`. A list's elements are compared under the
//!   key that holds the list;
//! - objects must have the same keys (the top-level [`IGNORED_TOP`] keys are skipped), walked in
//!   the expected document's order, then unexpected keys; lists must have the same length, walked
//!   in order before the length is checked;
//! - anything else is compared with Python's `==` (so `true == 1` and `false == 0`, as there).

use serde_json::Value;

/// Fields compared as sizes (share or contract counts): near-exact.
pub const SIZE_FIELDS: [&str; 3] = ["size", "remsize", "psize"];
/// Tolerance of [`SIZE_FIELDS`].
pub const SIZE_TOL: f64 = 1e-9;
/// Absolute tolerance of every other non-exact number (cash, value, prices, commission, pnl, fund).
pub const MONEY_ABS_TOL: f64 = 1e-6;
/// Relative tolerance of every other non-exact number.
pub const MONEY_REL_TOL: f64 = 1e-12;
/// Fields whose numbers must be equal exactly.
pub const EXACT_FIELDS: [&str; 4] = ["bar", "baropen", "barclose", "tradeid"];
/// Top-level keys that are informational only.
pub const IGNORED_TOP: [&str; 2] = ["backtrader", "scenario"];

/// The first difference between a runner's document `got` and the oracle's `expected`, as
/// `compare.py` reports it (`orders[7].fills[0].price: got 3667.11, expected 3667.1`), or `None`
/// when they are equal under `FORMAT.md` §2.1.
///
/// Exists so tests and the runner can check a result with the judge's own rules.
pub fn first_difference(got: &Value, expected: &Value) -> Option<String> {
    diff("", None, got, expected).map(|d| d.trim_start_matches('.').to_owned())
}

/// The float a number (or an `"inf"`/`"-inf"`/`"nan"` string) stands for; `None` for anything else.
fn as_num(v: &Value) -> Option<f64> {
    match v {
        // The JSON text (kept as written), parsed as Python's float() would: huge → inf.
        Value::Number(n) => n.to_string().parse::<f64>().ok(),
        Value::String(s) => match s.as_str() {
            "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            "nan" => Some(f64::NAN),
            _ => None,
        },
        _ => None,
    }
}

fn num_equal(field: Option<&str>, a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let field = field.unwrap_or("");
    if EXACT_FIELDS.contains(&field) {
        return false;
    }
    let d = (a - b).abs();
    if SIZE_FIELDS.contains(&field) {
        return d <= SIZE_TOL;
    }
    d <= MONEY_ABS_TOL.max(MONEY_REL_TOL * a.abs().max(b.abs()))
}

fn diff(path: &str, field: Option<&str>, got: &Value, exp: &Value) -> Option<String> {
    if let (Some(g), Some(e)) = (as_num(got), as_num(exp)) {
        return if num_equal(field, g, e) {
            None
        } else {
            Some(format!("{path}: got {}, expected {}", repr(got), repr(exp)))
        };
    }
    match exp {
        Value::Object(em) => {
            let Value::Object(gm) = got else {
                return Some(format!("{path}: got {}, expected an object", type_name(got)));
            };
            let top = path.is_empty();
            for (key, ev) in em {
                if top && IGNORED_TOP.contains(&key.as_str()) {
                    continue;
                }
                let Some(gv) = gm.get(key) else {
                    return Some(format!("{path}.{key}: missing"));
                };
                if let Some(d) = diff(&format!("{path}.{key}"), Some(key), gv, ev) {
                    return Some(d);
                }
            }
            gm.keys()
                .find(|k| !(em.contains_key(*k) || (top && IGNORED_TOP.contains(&k.as_str()))))
                .map(|k| format!("{path}.{k}: unexpected field"))
        }
        Value::Array(ea) => {
            let Value::Array(ga) = got else {
                return Some(format!("{path}: got {}, expected a list", type_name(got)));
            };
            for (i, (g, e)) in ga.iter().zip(ea).enumerate() {
                if let Some(d) = diff(&format!("{path}[{i}]"), field, g, e) {
                    return Some(d);
                }
            }
            (ga.len() != ea.len()).then(|| format!("{path}: got {} entries, expected {}", ga.len(), ea.len()))
        }
        _ => (!py_eq(got, exp)).then(|| format!("{path}: got {}, expected {}", repr(got), repr(exp))),
    }
}

/// Python's `==` on the values `json.loads` gives (numbers here are never both numbers: that case
/// is handled as numbers above).
fn py_eq(a: &Value, b: &Value) -> bool {
    let bool_num = |flag: bool, n: &Value| as_num(n).is_some_and(|x| x == if flag { 1.0 } else { 0.0 });
    match (a, b) {
        (Value::Bool(x), Value::Number(_)) => bool_num(*x, b),
        (Value::Number(_), Value::Bool(y)) => bool_num(*y, a),
        _ => a == b,
    }
}

/// Python's `type(x).__name__` of what `json.loads` gives.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if is_int_text(&n.to_string()) => "int",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn is_int_text(t: &str) -> bool {
    !t.contains(['.', 'e', 'E'])
}

/// Python's `repr` of what `json.loads` gives, close enough for messages: ints as written, floats
/// in Python's shortest form (`3667.1`, `36671.0`, `1e-05`), strings quoted, `True`/`False`/`None`.
fn repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            let t = n.to_string();
            if is_int_text(&t) {
                if t == "-0" { "0".into() } else { t }
            } else {
                t.parse::<f64>().map_or(t, py_float_repr)
            }
        }
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        other => other.to_string(),
    }
}

/// Python's `repr(float)`: the shortest round-trip digits, positional for exponents −4 ≤ e < 16
/// (with at least one decimal, `36671.0`), scientific otherwise (`1e-05`, `1.5e+16`).
fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `3.6671e4`, `-1e-5`.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let body = if exp < 0 {
            format!("0.{}{digits}", "0".repeat(usize::try_from(-exp - 1).unwrap_or(0)))
        } else {
            let int_len = usize::try_from(exp + 1).unwrap_or(1);
            if digits.len() <= int_len {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        };
        format!("{sign}{body}")
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn d(got: &str, exp: &str) -> Option<String> {
        first_difference(&v(got), &v(exp))
    }

    #[test]
    fn equal_documents_and_ignored_top_keys() {
        let doc =
            r#"{"format": "f", "scenario": "a", "backtrader": "1", "orders": [{"bar": 1, "size": 10}]}"#;
        assert_eq!(d(doc, doc), None);
        assert_eq!(
            d(r#"{"format": "f", "scenario": "b", "orders": [{"bar": 1.0, "size": 1e1}]}"#, doc),
            None
        );
        assert_eq!(d(r#"{"format": "f", "orders": [{"bar": 1, "size": 10}], "backtrader": 2}"#, doc), None);
        // Only at the top level.
        assert_eq!(
            d(r#"{"o": {"scenario": 1}}"#, r#"{"o": {}}"#).as_deref(),
            Some("o.scenario: unexpected field")
        );
    }

    #[test]
    fn sizes_are_near_exact() {
        let exp = r#"{"orders": [{"size": 10, "executed": {"remsize": 0}, "fills": [{"psize": 10}]}]}"#;
        let ok = r#"{"orders": [{"size": 10.0000000005, "executed": {"remsize": -0.0000000009}, "fills": [{"psize": 9.9999999991}]}]}"#;
        assert_eq!(d(ok, exp), None);
        let bad =
            r#"{"orders": [{"size": 10.000000002, "executed": {"remsize": 0}, "fills": [{"psize": 10}]}]}"#;
        assert_eq!(d(bad, exp).as_deref(), Some("orders[0].size: got 10.000000002, expected 10"));
        let bad =
            r#"{"orders": [{"size": 10, "executed": {"remsize": 0}, "fills": [{"psize": 10.00000001}]}]}"#;
        assert_eq!(d(bad, exp).as_deref(), Some("orders[0].fills[0].psize: got 10.00000001, expected 10"));
        let bad = r#"{"orders": [{"size": 10, "executed": {"remsize": 1e-8}, "fills": [{"psize": 10}]}]}"#;
        assert_eq!(d(bad, exp).as_deref(), Some("orders[0].executed.remsize: got 1e-08, expected 0"));
    }

    #[test]
    fn exact_fields_are_exact() {
        for key in EXACT_FIELDS {
            let exp = format!(r#"{{"trades": [{{"{key}": 6}}]}}"#);
            assert_eq!(d(&format!(r#"{{"trades": [{{"{key}": 6.0}}]}}"#), &exp), None, "6.0 is 6");
            let bad = format!(r#"{{"trades": [{{"{key}": 6.000000000001}}]}}"#);
            assert_eq!(d(&bad, &exp), Some(format!("trades[0].{key}: got 6.000000000001, expected 6")));
        }
    }

    #[test]
    fn money_and_prices_have_an_absolute_and_a_relative_band() {
        let exp = r#"{"orders": [{"fills": [{"price": 3667.1}]}]}"#;
        assert_eq!(d(r#"{"orders": [{"fills": [{"price": 3667.1000009}]}]}"#, exp), None);
        assert_eq!(
            d(r#"{"orders": [{"fills": [{"price": 3667.11}]}]}"#, exp).as_deref(),
            Some("orders[0].fills[0].price: got 3667.11, expected 3667.1")
        );
        assert_eq!(
            d(r#"{"orders": [{"fills": [{"price": 3667.100002}]}]}"#, exp).as_deref(),
            Some("orders[0].fills[0].price: got 3667.100002, expected 3667.1")
        );
        // 1e-12 relative: 1e12 may move by 1.
        assert_eq!(d(r#"{"final": {"cash": 1000000000000.9}}"#, r#"{"final": {"cash": 1e12}}"#), None);
        assert_eq!(
            d(r#"{"final": {"cash": 1000000000001.5}}"#, r#"{"final": {"cash": 1e12}}"#).as_deref(),
            Some("final.cash: got 1000000000001.5, expected 1000000000000.0")
        );
        assert_eq!(
            d(
                r#"{"bars": [{"fundshares": 1154.21613}]}"#,
                r#"{"bars": [{"fundshares": 1154.216126291511}]}"#
            )
            .as_deref(),
            Some("bars[0].fundshares: got 1154.21613, expected 1154.216126291511")
        );
    }

    #[test]
    fn inf_and_nan_strings_are_numbers() {
        assert_eq!(d(r#"{"v": "nan"}"#, r#"{"v": "nan"}"#), None);
        assert_eq!(d(r#"{"v": "inf"}"#, r#"{"v": "inf"}"#), None);
        assert_eq!(d(r#"{"v": 1e400}"#, r#"{"v": "inf"}"#), None, "a float overflow is inf, as in Python");
        // compare.py's quirk, kept: |inf − x| ≤ 1e-12·inf, so an infinity matches any number in a
        // money field (not in size or exact fields).
        assert_eq!(d(r#"{"v": "-inf"}"#, r#"{"v": "inf"}"#), None);
        assert_eq!(d(r#"{"cash": 5}"#, r#"{"cash": "inf"}"#), None);
        assert_eq!(
            d(r#"{"size": "-inf"}"#, r#"{"size": "inf"}"#).as_deref(),
            Some("size: got '-inf', expected 'inf'")
        );
        assert_eq!(d(r#"{"bar": 5}"#, r#"{"bar": "inf"}"#).as_deref(), Some("bar: got 5, expected 'inf'"));
        assert_eq!(d(r#"{"v": 1}"#, r#"{"v": "nan"}"#).as_deref(), Some("v: got 1, expected 'nan'"));
    }

    #[test]
    fn missing_extra_keys_lengths_and_types() {
        let exp = r#"{"orders": [{"id": "o1", "status": "Completed"}], "final": {"cash": 1}}"#;
        assert_eq!(
            d(r#"{"orders": [{"id": "o1"}], "final": {"cash": 1}}"#, exp).as_deref(),
            Some("orders[0].status: missing")
        );
        assert_eq!(
            d(r#"{"orders": [{"id": "o1", "status": "Completed", "fills": []}], "final": {"cash": 1}}"#, exp)
                .as_deref(),
            Some("orders[0].fills: unexpected field")
        );
        assert_eq!(
            d(
                r#"{"orders": [{"id": "o1", "status": "Completed"}, {"id": "o2"}], "final": {"cash": 1}}"#,
                exp
            )
            .as_deref(),
            Some("orders: got 2 entries, expected 1")
        );
        assert_eq!(
            d(r#"{"orders": [], "final": {"cash": 1}}"#, exp).as_deref(),
            Some("orders: got 0 entries, expected 1")
        );
        assert_eq!(d(r#"{"final": {"cash": 1}}"#, exp).as_deref(), Some("orders: missing"));
        assert_eq!(
            d(r#"{"orders": [{"id": "o1", "status": "Canceled"}], "final": {"cash": 1}}"#, exp).as_deref(),
            Some("orders[0].status: got 'Canceled', expected 'Completed'")
        );
        assert_eq!(
            d(r#"{"orders": {}, "final": {"cash": 1}}"#, exp).as_deref(),
            Some("orders: got dict, expected a list")
        );
        assert_eq!(
            d(r#"{"orders": [{"id": "o1", "status": "Completed"}], "final": [1]}"#, exp).as_deref(),
            Some("final: got list, expected an object")
        );
        assert_eq!(d(r#"{"x": null}"#, r#"{"x": 0}"#).as_deref(), Some("x: got None, expected 0"));
        assert_eq!(d(r#"{"x": "1"}"#, r#"{"x": 1}"#).as_deref(), Some("x: got '1', expected 1"));
        assert_eq!(
            d(r#"{"long": false}"#, r#"{"long": true}"#).as_deref(),
            Some("long: got False, expected True")
        );
        assert_eq!(d(r#"{"long": true}"#, r#"{"long": 1}"#), None, "Python: True == 1");
        // The first difference in the expected document's key order, not alphabetical.
        assert_eq!(d(r#"{"z": 1, "a": 1}"#, r#"{"z": 2, "a": 2}"#).as_deref(), Some("z: got 1, expected 2"));
    }

    #[test]
    fn floats_print_like_python() {
        for (x, s) in [
            (3667.1, "3667.1"),
            (36671.0, "36671.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-0.25, "-0.25"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1e100, "1e+100"),
            (-0.0, "-0.0"),
            (102.25021753871505, "102.25021753871505"),
        ] {
            assert_eq!(py_float_repr(x), s);
        }
    }
}
