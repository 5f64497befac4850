//! The summary as text: one list of `(label, value)` rows that both the command line
//! ([`super::summary_lines`]) and `index.html` show, so the two cannot disagree.

use kestrel_types::{Money, NANOS_PER_SEC, Timestamp};

use super::{Metrics, Report};

/// How many rows: the command line prints a short list, the page the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Detail {
    /// The figures a person checks after a run.
    Brief,
    /// Everything: parameters, inputs and the time range too.
    Full,
}

/// The summary rows, in display order.
pub(super) fn summary_rows(report: &Report, m: &Metrics, detail: Detail) -> Vec<(&'static str, String)> {
    let info = &report.info;
    let cur = info.currency.as_str();
    let full = detail == Detail::Full;
    let mut rows = vec![("strategy", info.strategy.clone())];
    if full {
        let params: Vec<String> = info.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        rows.push(("parameters", if params.is_empty() { "none".into() } else { params.join(", ") }));
        rows.push(("inputs", if info.inputs.is_empty() { "none".into() } else { info.inputs.join(", ") }));
        rows.push(("time range", time_range(info.first_ts, info.last_ts)));
    }
    rows.push(("events", info.events.to_string()));
    rows.push(("orders", info.orders.to_string()));
    rows.push(("fills", info.fills.to_string()));
    if full {
        rows.push(("start value", money(info.start_value, cur)));
    }
    rows.push(("final value", money(info.final_value, cur)));
    rows.push(("return", signed_pct(m.total_return)));
    rows.push(("max drawdown", format!("{} ({})", pct(m.max_drawdown), money(m.max_drawdown_money, cur))));
    rows.push(("sharpe", sharpe(m, full)));
    rows.push(("fees", money(info.fees, cur)));
    rows.push(("turnover", money(info.turnover, cur)));
    rows.push(("trades closed", m.trades_closed.to_string()));
    rows.push(("win rate", win_rate(m)));
    rows
}

/// Exact money with its currency code: `101200.5 USD`.
pub(super) fn money(value: Money, currency: &str) -> String {
    if currency.is_empty() { value.to_string() } else { format!("{value} {currency}") }
}

/// A fraction as a percentage with two places (`0.0456` → `4.56%`); `n/a` when undefined.
pub(super) fn pct(fraction: f64) -> String {
    if fraction.is_finite() { format!("{:.2}%", fraction * 100.0) } else { "n/a".into() }
}

/// A return with its sign: `+1.20%`, `-3.00%`; `n/a` when undefined.
pub(super) fn signed_pct(fraction: f64) -> String {
    if fraction.is_finite() { format!("{:+.2}%", fraction * 100.0) } else { "n/a".into() }
}

fn sharpe(m: &Metrics, full: bool) -> String {
    match (m.sharpe, m.periods_per_year) {
        (Some(s), Some(ppy)) if full => {
            format!("{s:.3} (annualised from {} returns, {ppy:.1} periods a year)", m.samples)
        }
        (Some(s), _) => format!("{s:.3}"),
        (None, _) => "n/a".into(),
    }
}

fn win_rate(m: &Metrics) -> String {
    match m.win_rate {
        Some(w) => format!("{} ({} of {})", pct(w), m.trades_won, m.trades_closed),
        None => "n/a".into(),
    }
}

/// `first – last (span)`, or why there is none.
fn time_range(first: Option<Timestamp>, last: Option<Timestamp>) -> String {
    match (first, last) {
        (Some(a), Some(b)) => {
            let span = i128::from(b.nanos()) - i128::from(a.nanos());
            format!("{a} – {b} ({})", duration(span))
        }
        (Some(a), None) | (None, Some(a)) => a.to_string(),
        (None, None) => "no events".into(),
    }
}

/// A span as days, hours, minutes and seconds (`2d 3h 0m 5s`, `12m 30.5s`), exactly.
pub(super) fn duration(ns: i128) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    let sec = u128::try_from(NANOS_PER_SEC).unwrap_or(1_000_000_000);
    let (whole, frac) = (ns / sec, ns % sec);
    let (d, h, m, s) = (whole / 86_400, whole / 3_600 % 24, whole / 60 % 60, whole % 60);
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        let digits = format!("{frac:09}");
        format!("{s}.{}s", digits.trim_end_matches('0'))
    };
    let text = if d > 0 {
        format!("{d}d {h}h {m}m {secs}")
    } else if h > 0 {
        format!("{h}h {m}m {secs}")
    } else if m > 0 {
        format!("{m}m {secs}")
    } else {
        secs
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_text_percentages_and_durations() {
        assert_eq!(pct(0.04561), "4.56%");
        assert_eq!(pct(f64::NAN), "n/a");
        assert_eq!(signed_pct(0.012), "+1.20%");
        assert_eq!(signed_pct(-0.03), "-3.00%");
        assert_eq!(money("-0.5".parse().unwrap(), "USD"), "-0.5 USD");
        assert_eq!(money("7".parse().unwrap(), ""), "7");
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(1_500_000_000), "1.5s");
        assert_eq!(duration(750_000_000_000), "12m 30s");
        assert_eq!(duration((2 * 86_400 + 3 * 3_600 + 5) * 1_000_000_000), "2d 3h 0m 5s");
        assert_eq!(duration(-1), "-0.000000001s");
    }
}
