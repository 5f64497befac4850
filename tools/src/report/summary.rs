//! `summary.json`: the run's summary for programs.
//!
//! Field order is the struct's declaration order (serde), so the bytes are fixed for a given run.
//! Money, prices and sizes are exact decimal strings (a JSON number would invite a float parse);
//! ratios are numbers, `null` where undefined. Nothing about the machine or the wall clock.

use serde::Serialize;
use serde::ser::SerializeMap;

use super::{Metrics, Report, files, html};

/// The file name.
pub(super) const SUMMARY: &str = "summary.json";

/// Bumped when a field changes meaning or disappears (adding one does not).
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Summary<'a> {
    format_version: u32,
    strategy: &'a str,
    params: Params<'a>,
    inputs: &'a [String],
    currency: &'a str,
    first_ts: Option<String>,
    first_ts_ns: Option<i64>,
    last_ts: Option<String>,
    last_ts_ns: Option<i64>,
    events: u64,
    orders: u64,
    fills: u64,
    start_value: String,
    final_value: String,
    fees: String,
    turnover: String,
    total_return: Option<f64>,
    max_drawdown: f64,
    max_drawdown_money: String,
    sharpe: Option<f64>,
    sharpe_samples: usize,
    periods_per_year: Option<f64>,
    trades: usize,
    trades_closed: usize,
    trades_won: usize,
    win_rate: Option<f64>,
    equity_points: usize,
    files: Files,
}

/// The parameters as one JSON object, in the order given (a map would sort or hash them).
struct Params<'a>(&'a [(String, String)]);

impl Serialize for Params<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Files {
    index: &'static str,
    orders: &'static str,
    fills: &'static str,
    trades: &'static str,
    equity: &'static str,
    equity_chart: [&'static str; 2],
    drawdown_chart: [&'static str; 2],
}

/// The pretty-printed JSON with a final newline.
pub(super) fn to_json(report: &Report, m: &Metrics) -> Result<Vec<u8>, serde_json::Error> {
    let info = &report.info;
    let summary = Summary {
        format_version: FORMAT_VERSION,
        strategy: &info.strategy,
        params: Params(&info.params),
        inputs: &info.inputs,
        currency: &info.currency,
        first_ts: info.first_ts.map(|t| t.to_string()),
        first_ts_ns: info.first_ts.map(|t| t.nanos()),
        last_ts: info.last_ts.map(|t| t.to_string()),
        last_ts_ns: info.last_ts.map(|t| t.nanos()),
        events: info.events,
        orders: info.orders,
        fills: info.fills,
        start_value: info.start_value.to_string(),
        final_value: info.final_value.to_string(),
        fees: info.fees.to_string(),
        turnover: info.turnover.to_string(),
        total_return: Some(m.total_return).filter(|r| r.is_finite()),
        max_drawdown: m.max_drawdown,
        max_drawdown_money: m.max_drawdown_money.to_string(),
        sharpe: m.sharpe,
        sharpe_samples: m.samples,
        periods_per_year: m.periods_per_year,
        trades: report.trades.len(),
        trades_closed: m.trades_closed,
        trades_won: m.trades_won,
        win_rate: m.win_rate,
        equity_points: report.equity.len(),
        files: Files {
            index: html::INDEX,
            orders: files::ORDERS,
            fills: files::FILLS,
            trades: files::TRADES,
            equity: files::EQUITY,
            equity_chart: [super::chart::EQUITY_PNG, super::chart::EQUITY_SVG],
            drawdown_chart: [super::chart::DRAWDOWN_PNG, super::chart::DRAWDOWN_SVG],
        },
    };
    let mut out = serde_json::to_vec_pretty(&summary)?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use kestrel_types::{Money, Timestamp};

    use super::super::{EquityPoint, RunInfo};
    use super::*;

    #[test]
    fn report_summary_json_is_exact_and_ordered() {
        let mut report = Report {
            info: RunInfo {
                strategy: "sma".into(),
                params: vec![("slow".into(), "30".into()), ("fast".into(), "10".into())],
                start_value: "100000".parse().unwrap(),
                final_value: "100000.000000001".parse().unwrap(),
                currency: "USD".into(),
                first_ts: Some(Timestamp::from_nanos(5)),
                ..RunInfo::default()
            },
            ..Report::default()
        };
        report.equity =
            vec![EquityPoint { ts: Timestamp::from_nanos(5), cash: Money::ZERO, equity: Money::ZERO }];
        let m = Metrics::compute(&report);
        let text = String::from_utf8(to_json(&report, &m).unwrap()).unwrap();
        assert!(text.starts_with("{\n  \"format_version\": 1,\n  \"strategy\": \"sma\",\n"), "{text}");
        assert!(text.contains("\"params\": {\n    \"slow\": \"30\",\n    \"fast\": \"10\"\n  }"), "{text}");
        assert!(text.contains("\"final_value\": \"100000.000000001\""), "{text}");
        assert!(text.contains("\"first_ts\": \"1970-01-01T00:00:00.000000005Z\",\n  \"first_ts_ns\": 5,"));
        assert!(text.contains("\"last_ts\": null"), "{text}");
        assert!(text.contains("\"sharpe\": null"), "{text}");
        assert!(
            text.contains("\"equity_chart\": [\n      \"equity.png\",\n      \"equity.svg\"\n    ]"),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v["total_return"].as_f64().unwrap() > 0.0);

        report.info.start_value = Money::ZERO;
        let text = String::from_utf8(to_json(&report, &Metrics::compute(&report)).unwrap()).unwrap();
        assert!(text.contains("\"total_return\": null"), "{text}");
    }
}
