//! The expected-output document (`FORMAT.md` §2) in exact Kestrel numbers, and its JSON writer.
//!
//! The runner fills an [`Output`] with what the broker did; [`Output::to_json`] prints it the way
//! the oracle does (keys in `FORMAT.md`'s order, one-space indent, a final newline), except that
//! every number is the exact decimal text of the Kestrel value behind it (`3667.1`, `36671`,
//! `-0.25`), never a float's approximation. JSON itself (escaping, layout) is `serde_json`'s.
//!
//! # Number types
//! Sizes are [`Qty`], prices (fill, average, position) [`Price`], cash, value, commission and pnl
//! [`Money`] — each already rounded once by the engine (`FORMAT.md` §2.2). Fund shares are a
//! [`Notional`] (10^-18): they are a running sum of quotients (cash ÷ fund value) with no finite
//! decimal form, so the broker keeps them with 18 places (rounding each quotient once there), and
//! printing them costs nothing against the comparison band (10^-6). Fund value is money per share:
//! [`Money`].

use std::io;
use std::str::FromStr;

use kestrel_engine::order::{ExecType, Side, Status};
use kestrel_engine::trade::TradeStatus;
use kestrel_types::{Money, Notional, Price, Qty, TimeSpan, Timestamp};
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// The `format` tag of every output document: what `compare.py` and the oracle agree on.
pub const FORMAT_TAG: &str = "kestrel-conformance/1";

/// The `backtrader` field: the reference version the semantics are copied from (informational).
pub const BACKTRADER_VERSION: &str = "1.9.78.123";

/// A whole expected-output document (`FORMAT.md` §2).
///
/// Exists as the runner's result: built while the scenario runs, printed once at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The scenario's name (the `scenario` field; informational, not compared).
    pub scenario: String,
    /// Every order notification, in delivery order.
    pub orders: Vec<OrderNote>,
    /// Every trade event, in delivery order.
    pub trades: Vec<TradeNote>,
    /// One record per strategy-clock step.
    pub bars: Vec<BarNote>,
    /// The state after the last bar (the `final` field).
    pub final_note: FinalNote,
}

/// One order notification (ORDER_NOTE).
///
/// Exists to snapshot an order at the moment the broker produced the notification: later fills do
/// not change what was notified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderNote {
    /// Strategy-clock bar at delivery.
    pub bar: u64,
    /// The clock's datetime at delivery, as [`format_dt`] prints it.
    pub dt: String,
    /// The scenario id of the order (`id.stop` / `id.limit` for bracket legs).
    pub id: String,
    /// The order's feed name.
    pub data: String,
    /// Buy or sell.
    pub side: Side,
    /// The order's exec type.
    pub exectype: ExecType,
    /// The signed order size (negative for sells).
    pub size: Qty,
    /// The status notified (`Created` never is).
    pub status: Status,
    /// The cumulative execution at that moment.
    pub executed: ExecutedNote,
    /// Only on `Partial` and `Completed`: the fills since the previous notification of this order.
    pub fills: Option<Vec<FillNote>>,
}

/// An order's cumulative execution (`executed` in ORDER_NOTE).
///
/// Exists because backtrader reports these totals on every notification, fills or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecutedNote {
    /// Total signed size executed.
    pub size: Qty,
    /// Size-weighted average price (0 before any fill).
    pub price: Price,
    /// Total value (`FORMAT.md` §4.8).
    pub value: Money,
    /// Total commission.
    pub comm: Money,
    /// Total realised pnl.
    pub pnl: Money,
    /// Remaining signed size.
    pub remsize: Qty,
}

/// One execution bit of an order (an element of `fills`).
///
/// Exists to show each fill with the position right after it (`psize`, `pprice`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillNote {
    /// Signed size of this fill.
    pub size: Qty,
    /// Its price.
    pub price: Price,
    /// Closed value + opened value (`FORMAT.md` §4.8).
    pub value: Money,
    /// Its commission (+ interest booked into it).
    pub comm: Money,
    /// Realised pnl of the closed part.
    pub pnl: Money,
    /// Position size right after the fill.
    pub psize: Qty,
    /// Position average price right after the fill.
    pub pprice: Price,
}

/// One trade event (TRADE_NOTE): a trade opened or closed.
///
/// Exists to snapshot the trade at the event, as backtrader delivers a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeNote {
    /// Strategy-clock bar at delivery.
    pub bar: u64,
    /// The clock's datetime at delivery.
    pub dt: String,
    /// `t1`, `t2`, … numbered by first appearance.
    pub trade: String,
    /// The trade's feed name.
    pub data: String,
    /// Always 0 in the format.
    pub tradeid: u64,
    /// `Open` or `Closed`.
    pub status: TradeStatus,
    /// Whether this event is the opening one.
    pub justopened: bool,
    /// Whether this event is the closing one.
    pub isclosed: bool,
    /// Whether the trade is long.
    pub long: bool,
    /// Current size (0 once closed).
    pub size: Qty,
    /// Average entry price.
    pub price: Price,
    /// Size·price (stock-like) or |size|·margin (futures-like).
    pub value: Money,
    /// All commission so far (interest included with `int2pnl`).
    pub commission: Money,
    /// Realised pnl.
    pub pnl: Money,
    /// `pnl − commission`.
    pub pnlcomm: Money,
    /// The feed's bar count at open.
    pub baropen: u64,
    /// The feed's bar count at close (0 while open).
    pub barclose: u64,
}

/// The broker's state after one step (BAR).
///
/// Exists because cash and value are compared bar by bar, not just at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarNote {
    /// Strategy-clock bar.
    pub bar: u64,
    /// Its datetime.
    pub dt: String,
    /// Cash.
    pub cash: Money,
    /// Portfolio value.
    pub value: Money,
    /// Fund figures, present exactly when the scenario has `fundmode`.
    pub fund: Option<FundNote>,
}

/// Fund value and fund shares (`fundvalue`, `fundshares`), printed only with `fundmode`.
///
/// Exists as one optional group because the two always appear together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundNote {
    /// Value per fund share.
    pub value: Money,
    /// Fund shares outstanding (18 places: see the module docs).
    pub shares: Notional,
}

/// The state after the last bar (FINAL).
///
/// Exists for the end-of-run comparison of cash, value and every feed's position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalNote {
    /// Cash.
    pub cash: Money,
    /// Portfolio value.
    pub value: Money,
    /// One position per feed, keyed by feed name, in the scenario's feed order.
    pub positions: Vec<(String, PositionNote)>,
    /// Fund figures, present exactly when the scenario has `fundmode`.
    pub fund: Option<FundNote>,
}

/// One feed's final position.
///
/// Exists because the format prints a position as `{size, price}` (price 0 when flat).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionNote {
    /// Signed size.
    pub size: Qty,
    /// Average price (0 when flat).
    pub price: Price,
}

/// Prints an output datetime as the oracle does: `YYYY-MM-DD` for daily scenarios, and
/// `YYYY-MM-DDTHH:MM:SS` rounded to the nearest second for intraday ones.
///
/// Exists so every note prints `dt` the same way; `intraday` is
/// [`Scenario::intraday`](crate::conform::scenario::Scenario::intraday).
pub fn format_dt(ts: Timestamp, intraday: bool) -> String {
    if !intraday {
        return ts.date_string();
    }
    let rounded = ts.checked_add(TimeSpan::from_nanos(500_000_000)).unwrap_or(ts);
    rounded.to_datetime().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A JSON number holding `text` exactly (arbitrary precision). Every Kestrel `Display` is a valid
/// JSON number; if one ever were not, the text is kept as a string, which the comparison reports
/// instead of this function panicking.
fn num(text: impl ToString) -> Value {
    let text = text.to_string();
    match Number::from_str(&text) {
        Ok(n) => Value::Number(n),
        Err(_) => Value::String(text),
    }
}

fn obj(entries: Vec<(&str, Value)>) -> Value {
    Value::Object(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<String, Value>>())
}

fn trade_status_name(s: TradeStatus) -> &'static str {
    match s {
        TradeStatus::Open => "Open",
        TradeStatus::Closed => "Closed",
    }
}

impl ExecutedNote {
    /// The `executed` object.
    pub fn to_value(&self) -> Value {
        obj(vec![
            ("size", num(self.size)),
            ("price", num(self.price)),
            ("value", num(self.value)),
            ("comm", num(self.comm)),
            ("pnl", num(self.pnl)),
            ("remsize", num(self.remsize)),
        ])
    }
}

impl FillNote {
    /// One element of `fills`.
    pub fn to_value(&self) -> Value {
        obj(vec![
            ("size", num(self.size)),
            ("price", num(self.price)),
            ("value", num(self.value)),
            ("comm", num(self.comm)),
            ("pnl", num(self.pnl)),
            ("psize", num(self.psize)),
            ("pprice", num(self.pprice)),
        ])
    }
}

impl OrderNote {
    /// The ORDER_NOTE object, keys in `FORMAT.md`'s order.
    pub fn to_value(&self) -> Value {
        let mut entries = vec![
            ("bar", num(self.bar)),
            ("dt", Value::from(self.dt.as_str())),
            ("id", Value::from(self.id.as_str())),
            ("data", Value::from(self.data.as_str())),
            ("side", Value::from(self.side.name())),
            ("exectype", Value::from(self.exectype.name())),
            ("size", num(self.size)),
            ("status", Value::from(self.status.name())),
            ("executed", self.executed.to_value()),
        ];
        if let Some(fills) = &self.fills {
            entries.push(("fills", Value::Array(fills.iter().map(FillNote::to_value).collect())));
        }
        obj(entries)
    }
}

impl TradeNote {
    /// The TRADE_NOTE object, keys in `FORMAT.md`'s order.
    pub fn to_value(&self) -> Value {
        obj(vec![
            ("bar", num(self.bar)),
            ("dt", Value::from(self.dt.as_str())),
            ("trade", Value::from(self.trade.as_str())),
            ("data", Value::from(self.data.as_str())),
            ("tradeid", num(self.tradeid)),
            ("status", Value::from(trade_status_name(self.status))),
            ("justopened", Value::Bool(self.justopened)),
            ("isclosed", Value::Bool(self.isclosed)),
            ("long", Value::Bool(self.long)),
            ("size", num(self.size)),
            ("price", num(self.price)),
            ("value", num(self.value)),
            ("commission", num(self.commission)),
            ("pnl", num(self.pnl)),
            ("pnlcomm", num(self.pnlcomm)),
            ("baropen", num(self.baropen)),
            ("barclose", num(self.barclose)),
        ])
    }
}

impl FundNote {
    fn push(&self, entries: &mut Vec<(&str, Value)>) {
        entries.push(("fundvalue", num(self.value)));
        entries.push(("fundshares", num(self.shares)));
    }
}

impl BarNote {
    /// The BAR object (`fundvalue`/`fundshares` last, when present).
    pub fn to_value(&self) -> Value {
        let mut entries = vec![
            ("bar", num(self.bar)),
            ("dt", Value::from(self.dt.as_str())),
            ("cash", num(self.cash)),
            ("value", num(self.value)),
        ];
        if let Some(f) = &self.fund {
            f.push(&mut entries);
        }
        obj(entries)
    }
}

impl FinalNote {
    /// The FINAL object: `cash`, `value`, `positions`, then the fund figures (the oracle's order).
    pub fn to_value(&self) -> Value {
        let positions: Map<String, Value> = self
            .positions
            .iter()
            .map(|(name, p)| (name.clone(), obj(vec![("size", num(p.size)), ("price", num(p.price))])))
            .collect();
        let mut entries = vec![
            ("cash", num(self.cash)),
            ("value", num(self.value)),
            ("positions", Value::Object(positions)),
        ];
        if let Some(f) = &self.fund {
            f.push(&mut entries);
        }
        obj(entries)
    }
}

impl Output {
    /// An empty document for `scenario`, to be filled while the scenario runs.
    pub fn new(scenario: impl Into<String>) -> Self {
        Self {
            scenario: scenario.into(),
            orders: Vec::new(),
            trades: Vec::new(),
            bars: Vec::new(),
            final_note: FinalNote {
                cash: Money::ZERO,
                value: Money::ZERO,
                positions: Vec::new(),
                fund: None,
            },
        }
    }

    /// The whole document as a JSON value, keys in `FORMAT.md`'s order.
    pub fn to_value(&self) -> Value {
        obj(vec![
            ("format", Value::from(FORMAT_TAG)),
            ("scenario", Value::from(self.scenario.as_str())),
            ("backtrader", Value::from(BACKTRADER_VERSION)),
            ("orders", Value::Array(self.orders.iter().map(OrderNote::to_value).collect())),
            ("trades", Value::Array(self.trades.iter().map(TradeNote::to_value).collect())),
            ("bars", Value::Array(self.bars.iter().map(BarNote::to_value).collect())),
            ("final", self.final_note.to_value()),
        ])
    }

    /// The document as the runner prints it: see [`to_json`].
    pub fn to_json(&self) -> String {
        to_json(&self.to_value())
    }

    /// Writes [`Output::to_json`] to `w`.
    ///
    /// # Errors
    /// What `w` reports.
    pub fn write_to(&self, w: &mut impl io::Write) -> io::Result<()> {
        w.write_all(self.to_json().as_bytes())
    }
}

/// Prints a JSON value as the oracle's `json.dump(indent=1)` lays it out (one-space indent, `": "`
/// after keys), followed by a newline; numbers keep their text.
///
/// Exists so every document (an [`Output`], or an expected file re-printed) has one deterministic
/// text form.
pub fn to_json(value: &Value) -> String {
    let mut buf = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut buf, serde_json::ser::PrettyFormatter::with_indent(b" "));
    // Serialising a `Value` into memory cannot fail (its keys are strings, the writer is a Vec), and
    // serde_json writes UTF-8; the compact form below is a fallback that never loses data.
    match value.serialize(&mut ser).ok().and_then(|()| String::from_utf8(buf).ok()) {
        Some(mut text) => {
            text.push('\n');
            text
        }
        None => format!("{value}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::compare::first_difference;

    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }
    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }
    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn sample() -> Output {
        let executed = ExecutedNote {
            size: q("10"),
            price: p("3667.1"),
            value: m("36671"),
            comm: m("36.671"),
            pnl: Money::ZERO,
            remsize: Qty::ZERO,
        };
        let mut out = Output::new("p01_market_roundtrip");
        out.orders.push(OrderNote {
            bar: 6,
            dt: "2006-01-09".into(),
            id: "o1".into(),
            data: "d0".into(),
            side: Side::Buy,
            exectype: ExecType::Market,
            size: q("10"),
            status: Status::Submitted,
            executed: ExecutedNote {
                size: Qty::ZERO,
                price: Price::ZERO,
                value: Money::ZERO,
                comm: Money::ZERO,
                pnl: Money::ZERO,
                remsize: q("10"),
            },
            fills: None,
        });
        out.orders.push(OrderNote {
            status: Status::Completed,
            executed,
            fills: Some(vec![FillNote {
                size: q("10"),
                price: p("3667.1"),
                value: m("36671"),
                comm: m("36.671"),
                pnl: Money::ZERO,
                psize: q("10"),
                pprice: p("3667.1"),
            }]),
            ..out.orders[0].clone()
        });
        out.trades.push(TradeNote {
            bar: 21,
            dt: "2006-01-30".into(),
            trade: "t1".into(),
            data: "d0".into(),
            tradeid: 0,
            status: TradeStatus::Closed,
            justopened: false,
            isclosed: true,
            long: true,
            size: Qty::ZERO,
            price: p("3667.1"),
            value: Money::ZERO,
            commission: m("73.5"),
            pnl: m("172.8"),
            pnlcomm: m("99.3"),
            baropen: 6,
            barclose: 21,
        });
        let fund = FundNote { value: m("102.250217539"), shares: "1154.216126291511".parse().unwrap() };
        out.bars.push(BarNote {
            bar: 5,
            dt: "2006-01-06".into(),
            cash: m("100000"),
            value: m("-0.25"),
            fund: None,
        });
        out.bars.push(BarNote {
            bar: 6,
            dt: "2006-01-09".into(),
            cash: m("0.000000001"),
            value: m("1"),
            fund: Some(fund),
        });
        out.final_note = FinalNote {
            cash: m("100099.3"),
            value: m("100099.3"),
            positions: vec![
                ("zz".into(), PositionNote { size: q("-3"), price: p("12.5") }),
                ("aa".into(), PositionNote { size: Qty::ZERO, price: Price::ZERO }),
            ],
            fund: Some(fund),
        };
        out
    }

    const SAMPLE_BY_HAND: &str = r#"{
 "format": "kestrel-conformance/1",
 "scenario": "p01_market_roundtrip",
 "backtrader": "1.9.78.123",
 "orders": [
  {"bar": 6, "dt": "2006-01-09", "id": "o1", "data": "d0", "side": "buy", "exectype": "Market",
   "size": 10, "status": "Submitted",
   "executed": {"size": 0, "price": 0.0, "value": 0.0, "comm": 0.0, "pnl": 0.0, "remsize": 10}},
  {"bar": 6, "dt": "2006-01-09", "id": "o1", "data": "d0", "side": "buy", "exectype": "Market",
   "size": 10, "status": "Completed",
   "executed": {"size": 10, "price": 3667.1, "value": 36671.0, "comm": 36.671, "pnl": 0.0, "remsize": 0},
   "fills": [{"size": 10, "price": 3667.1, "value": 36671.0, "comm": 36.671, "pnl": 0.0,
              "psize": 10, "pprice": 3667.1}]}
 ],
 "trades": [
  {"bar": 21, "dt": "2006-01-30", "trade": "t1", "data": "d0", "tradeid": 0, "status": "Closed",
   "justopened": false, "isclosed": true, "long": true, "size": 0, "price": 3667.1, "value": 0.0,
   "commission": 73.5, "pnl": 172.8, "pnlcomm": 99.3, "baropen": 6, "barclose": 21}
 ],
 "bars": [
  {"bar": 5, "dt": "2006-01-06", "cash": 100000.0, "value": -0.25},
  {"bar": 6, "dt": "2006-01-09", "cash": 1e-9, "value": 1.0,
   "fundvalue": 102.25021753871505, "fundshares": 1154.216126291511}
 ],
 "final": {"cash": 100099.3, "value": 100099.3,
           "positions": {"zz": {"size": -3, "price": 12.5}, "aa": {"size": 0, "price": 0.0}},
           "fundvalue": 102.25021753871505, "fundshares": 1154.216126291511}
}"#;

    #[test]
    fn a_built_output_equals_the_same_document_written_by_hand() {
        let text = sample().to_json();
        let got: Value = serde_json::from_str(&text).unwrap();
        let expected: Value = serde_json::from_str(SAMPLE_BY_HAND).unwrap();
        assert_eq!(first_difference(&got, &expected), None, "{text}");
        // And a change is seen: the writer is not trivially equal to anything.
        let mut other = sample();
        other.final_note.positions[0].1.price = p("12.6");
        let got: Value = serde_json::from_str(&other.to_json()).unwrap();
        assert_eq!(
            first_difference(&got, &expected).as_deref(),
            Some("final.positions.zz.price: got 12.6, expected 12.5")
        );
    }

    #[test]
    fn the_text_is_laid_out_like_the_oracle_with_exact_numbers() {
        let text = sample().to_json();
        assert!(text.starts_with("{\n \"format\": \"kestrel-conformance/1\",\n \"scenario\": "), "{text}");
        assert!(text.ends_with("}\n"));
        for key in ["\"orders\"", "\"trades\"", "\"bars\"", "\"final\""] {
            assert!(
                text.contains(&format!("\n {key}: [")) || text.contains(&format!("\n {key}: {{")),
                "{key}"
            );
        }
        // Keys in FORMAT's order, positions in feed order (not sorted).
        let order = [
            "\"format\"",
            "\"scenario\"",
            "\"backtrader\"",
            "\"orders\"",
            "\"trades\"",
            "\"bars\"",
            "\"final\"",
        ];
        let at: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.find("\"zz\"").unwrap() < text.find("\"aa\"").unwrap());
        assert!(text.find("\"positions\"").unwrap() < text.rfind("\"fundvalue\"").unwrap());
        // Exact texts: no float rounding, no `+`, no `.5`, no trailing `.`.
        for s in [
            "\"price\": 3667.1,",
            "\"comm\": 36.671,",
            "\"cash\": 0.000000001,",
            "\"value\": -0.25",
            "\"fundshares\": 1154.216126291511",
        ] {
            assert!(text.contains(s), "{s} in {text}");
        }
        assert!(!text.contains('+') && !text.contains(" .") && !text.contains(" -.") && !text.contains(".,"));
    }

    #[test]
    fn every_kestrel_display_is_a_json_number() {
        let texts = [
            Qty::MAX.to_string(),
            Qty::MIN.to_string(),
            Qty::from_raw(1).to_string(),
            Qty::from_raw(-1).to_string(),
            Price::from_raw(500_000_000).to_string(),
            Price::from_raw(-500_000_000).to_string(),
            Price::ZERO.to_string(),
            (-Price::ZERO).to_string(),
            Money::MAX.to_string(),
            Money::MIN.to_string(),
            Money::from_raw(10).to_string(),
            Notional::from_raw(1).to_string(),
            Notional::from_raw(-123_000_000_000_000_000_000).to_string(),
            u64::MAX.to_string(),
        ];
        for t in texts {
            let v = num(&t);
            assert!(v.is_number(), "{t}");
            assert_eq!(v.to_string(), t, "the text is kept as is");
            assert!(
                !t.starts_with('+') && !t.starts_with('.') && !t.starts_with("-.") && !t.ends_with('.'),
                "{t}"
            );
            assert_eq!(serde_json::from_str::<Value>(&t).unwrap(), v);
        }
        assert!(
            num("+1").is_string() && num(".5").is_string() && num("1.").is_string() && num("1x").is_string()
        );
    }

    #[test]
    fn dt_is_printed_like_the_oracle() {
        let daily: Timestamp = "2006-01-09 23:59:59.999989".parse().unwrap();
        assert_eq!(format_dt(daily, false), "2006-01-09");
        let t: Timestamp = "2006-01-02 10:05:00".parse().unwrap();
        assert_eq!(format_dt(t, true), "2006-01-02T10:05:00");
        let almost: Timestamp = "2006-01-02 10:04:59.9999".parse().unwrap();
        assert_eq!(format_dt(almost, true), "2006-01-02T10:05:00", "rounded to the nearest second");
    }

    fn expected_files() -> Vec<std::path::PathBuf> {
        let root = kestrel_replay::data_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let dir = root.parent().unwrap().join("conformance").join("scenarios");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_public_expected_file_round_trips() {
        let files = expected_files();
        assert_eq!(files.len(), 56);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(first_difference(&v, &v), None, "{}", f.display());
            let rewritten = to_json(&v);
            assert_eq!(rewritten, text, "the oracle's layout, byte for byte: {}", f.display());
            let back: Value = serde_json::from_str(&rewritten).unwrap();
            assert_eq!(first_difference(&back, &v), None, "{}", f.display());
        }
    }
}
