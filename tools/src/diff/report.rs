//! The report of `kestrel diff`: text for a person, or one JSON object (keys in the
//! [module docs](super)).

use std::io::Write;

use anyhow::Result;
use kestrel_types::{Bar, Price, Rounding, Timestamp};
use serde_json::{Value, json};

use super::compare::{Diff, PairCount};
use super::input::Data;
use super::{DiffArgs, FillRec, OrderKey, Path, RunLog, Setup};

/// Everything a report shows besides the comparison.
pub(crate) struct Context<'a> {
    pub(crate) args: &'a DiffArgs,
    pub(crate) data: &'a Data,
    pub(crate) setup: &'a Setup,
    /// Bar broker, path A, path B.
    pub(crate) runs: [&'a RunLog; 3],
}

const RUN_NAMES: [&str; 3] = ["bar broker", "path A", "path B"];
const RUN_KEYS: [&str; 3] = ["bar_broker", "path_a", "path_b"];

impl Context<'_> {
    /// Decimals of the tick: prices print with exactly these.
    fn decimals(&self) -> u8 {
        let mut d = 0u8;
        while d < 9 && !self.data.tick.is_multiple_of(Price::from_raw(10i64.pow(9 - u32::from(d)))) {
            d += 1;
        }
        d
    }

    fn price(&self, p: Price) -> String {
        p.to_fixed(self.decimals(), Rounding::HalfEven)
    }

    fn when(&self, ts: Timestamp) -> String {
        if self.data.daily {
            ts.date_string()
        } else {
            ts.to_datetime().format("%Y-%m-%d %H:%M:%S").to_string()
        }
    }

    fn bar(&self, i: usize) -> Option<&Bar> {
        self.data.bars.get(i)
    }

    fn date(&self, i: usize) -> String {
        self.bar(i).map_or_else(String::new, |b| self.when(b.ts))
    }

    /// `stop [signal 2006-03-01]`: the role, and the bar whose close decided the order (a bracket
    /// leg: its entry's).
    fn order_label(&self, k: OrderKey) -> String {
        format!("{} [signal {}]", k.role.name(), self.date(k.signal))
    }

    /// `target sell 1 @ 3708.00 (H)`, with the date when it is not `on`.
    fn fill_text(&self, f: &FillRec, on: Option<usize>) -> String {
        let mut s = format!("{} {} {} @ {}", f.key.role.name(), f.side.name(), f.qty, self.price(f.price));
        if let Some(t) = f.tick {
            s.push_str(&format!(" ({})", t.name()));
        }
        if on != Some(f.bar) {
            s.push_str(&format!(" on {}", self.date(f.bar)));
        }
        s
    }

    fn fills_text(&self, fills: &[FillRec], on: Option<usize>) -> String {
        if fills.is_empty() {
            return "no fill".to_owned();
        }
        fills.iter().map(|f| self.fill_text(f, on)).collect::<Vec<_>>().join(", ")
    }

    /// The last status of `key` in a run, lowercase, `not placed` when it was not.
    fn status(run: &RunLog, key: OrderKey) -> String {
        run.order(key).map_or_else(|| "not placed".to_owned(), |o| o.status.name().to_ascii_lowercase())
    }

    /// What a run did with `key`: its fills, or its status.
    fn outcome_text(&self, run: &RunLog, key: OrderKey) -> String {
        let fills: Vec<FillRec> = run.fills.iter().filter(|f| f.key == key).copied().collect();
        if fills.is_empty() {
            let s = Self::status(run, key);
            let alive = run.order(key).is_some_and(|o| o.status.is_alive());
            return if alive { format!("no fill ({s} at the end)") } else { format!("no fill ({s})") };
        }
        fills.iter().map(|f| self.fill_text(f, None)).collect::<Vec<_>>().join(", ")
    }

    fn fill_json(&self, f: &FillRec) -> Value {
        json!({
            "role": f.key.role.name(),
            "signal_bar": f.key.signal,
            "seq": f.seq,
            "side": f.side.name(),
            "qty": f.qty.to_string(),
            "price": self.price(f.price),
            "bar": f.bar,
            "date": self.date(f.bar),
            "tick": f.tick.map(|t| t.name()),
        })
    }

    fn order_json(&self, k: OrderKey) -> Value {
        let side = self.runs.iter().find_map(|r| r.order(k)).map(|o| o.side.name());
        json!({
            "signal_bar": k.signal,
            "signal_date": self.date(k.signal),
            "role": k.role.name(),
            "side": side,
        })
    }

    fn outcome_json(&self, run: &RunLog, key: OrderKey) -> Value {
        let fills: Vec<Value> =
            run.fills.iter().filter(|f| f.key == key).map(|f| self.fill_json(f)).collect();
        json!({ "status": Self::status(run, key), "fills": fills })
    }
}

fn pair_json(p: PairCount) -> Value {
    json!({ "agree": p.agree, "differ": p.differ })
}

/// Writes the text report.
pub(crate) fn write_text(ctx: &Context<'_>, diff: &Diff, out: &mut impl Write) -> Result<()> {
    let (args, data, setup) = (ctx.args, ctx.data, ctx.setup);
    let spec = setup.spec;
    let params: Vec<String> = spec.describe().iter().map(|(k, v)| format!("{k}={v}")).collect();
    writeln!(out, "kestrel diff: {} on {}", spec.name, args.data.display())?;
    writeln!(
        out,
        "  data        {}, {} bars, {} .. {}, tick {}, lot {}",
        data.format,
        data.bars.len(),
        ctx.date(0),
        ctx.date(data.bars.len() - 1),
        data.tick,
        data.lot
    )?;
    writeln!(out, "  strategy    {} {}", spec.name, params.join(" "))?;
    writeln!(
        out,
        "  runs        bar broker (backtrader's rules); tick engine on path A {} and path B {}",
        Path::A.name(),
        Path::B.name()
    )?;
    writeln!(
        out,
        "              (4 trades a bar, zero latency, {} queue), cash {}, commission {}",
        if setup.optimistic { "optimistic" } else { "pessimistic" },
        setup.cash,
        args.commission
    )?;
    writeln!(out)?;
    writeln!(out, "  {:<22} {:>10} {:>10} {:>10}", "", RUN_NAMES[0], RUN_NAMES[1], RUN_NAMES[2])?;
    let [bar, a, b] = ctx.runs;
    writeln!(
        out,
        "  {:<22} {:>10} {:>10} {:>10}",
        "orders",
        bar.orders.len(),
        a.orders.len(),
        b.orders.len()
    )?;
    writeln!(out, "  {:<22} {:>10} {:>10} {:>10}", "fills", bar.fills.len(), a.fills.len(), b.fills.len())?;
    writeln!(out)?;
    writeln!(out, "  {:<22} {}", "orders compared", diff.keys.len())?;
    for (label, p) in [
        ("bar broker vs path A", diff.bar_vs_a),
        ("bar broker vs path B", diff.bar_vs_b),
        ("path A vs path B", diff.a_vs_b),
    ] {
        writeln!(out, "  {label:<22} agree {}, differ {}", p.agree, p.differ)?;
    }
    writeln!(out, "  {:<22} {}", "intrabar-ambiguous", diff.cases.len())?;

    writeln!(out)?;
    writeln!(
        out,
        "intrabar-ambiguous cases: bars where path A ({}) and path B ({}) fill differently",
        Path::A.name(),
        Path::B.name()
    )?;
    if diff.cases.is_empty() {
        writeln!(out, "  none")?;
    }
    for c in &diff.cases {
        let range = ctx.bar(c.bar).map_or_else(String::new, |b| {
            format!(
                "O {} H {} L {} C {}",
                ctx.price(b.open),
                ctx.price(b.high),
                ctx.price(b.low),
                ctx.price(b.close)
            )
        });
        let orders: Vec<String> = c.orders.iter().map(|k| ctx.order_label(*k)).collect();
        writeln!(
            out,
            "  {}  {range}  {}  | A: {}  | B: {}  | bar broker: {}",
            ctx.date(c.bar),
            orders.join(", "),
            ctx.fills_text(&c.a, Some(c.bar)),
            ctx.fills_text(&c.b, Some(c.bar)),
            ctx.fills_text(&c.broker, Some(c.bar)),
        )?;
    }

    writeln!(out)?;
    writeln!(out, "orders where the bar broker and a tick path differ")?;
    if diff.differences.is_empty() {
        writeln!(out, "  none")?;
    }
    for k in &diff.differences {
        writeln!(
            out,
            "  {}  | bar broker: {}  | A: {}  | B: {}",
            ctx.order_label(*k),
            ctx.outcome_text(bar, *k),
            ctx.outcome_text(a, *k),
            ctx.outcome_text(b, *k),
        )?;
    }
    Ok(())
}

/// Writes the JSON report: one object.
pub(crate) fn write_json(ctx: &Context<'_>, diff: &Diff, out: &mut impl Write) -> Result<()> {
    let (args, data, setup) = (ctx.args, ctx.data, ctx.setup);
    let mut params = serde_json::Map::new();
    for (k, v) in setup.spec.describe() {
        params.insert(k.to_owned(), Value::String(v));
    }
    let per_run = |f: &dyn Fn(&RunLog) -> usize| -> Value {
        let mut m = serde_json::Map::new();
        for (name, run) in RUN_KEYS.iter().zip(ctx.runs) {
            m.insert((*name).to_owned(), json!(f(run)));
        }
        Value::Object(m)
    };
    let cases: Vec<Value> = diff
        .cases
        .iter()
        .map(|c| {
            let b = ctx.bar(c.bar);
            let p = |f: fn(&Bar) -> Price| b.map(|b| ctx.price(f(b)));
            json!({
                "bar": c.bar,
                "date": ctx.date(c.bar),
                "open": p(|b| b.open),
                "high": p(|b| b.high),
                "low": p(|b| b.low),
                "close": p(|b| b.close),
                "orders": c.orders.iter().map(|k| ctx.order_json(*k)).collect::<Vec<_>>(),
                "path_a": c.a.iter().map(|f| ctx.fill_json(f)).collect::<Vec<_>>(),
                "path_b": c.b.iter().map(|f| ctx.fill_json(f)).collect::<Vec<_>>(),
                "bar_broker": c.broker.iter().map(|f| ctx.fill_json(f)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let differences: Vec<Value> = diff
        .differences
        .iter()
        .map(|k| {
            let mut m = serde_json::Map::new();
            m.insert("order".to_owned(), ctx.order_json(*k));
            for (name, run) in RUN_KEYS.iter().zip(ctx.runs) {
                m.insert((*name).to_owned(), ctx.outcome_json(run, *k));
            }
            Value::Object(m)
        })
        .collect();
    let doc = json!({
        "data": args.data.display().to_string(),
        "format": data.format,
        "bars": data.bars.len(),
        "first": ctx.date(0),
        "last": ctx.date(data.bars.len() - 1),
        "strategy": setup.spec.name.to_string(),
        "params": params,
        "tick": data.tick.to_string(),
        "lot": data.lot.to_string(),
        "cash": setup.cash.to_string(),
        "commission": args.commission.to_string(),
        "optimistic": setup.optimistic,
        "paths": { "path_a": Path::A.name(), "path_b": Path::B.name() },
        "orders": per_run(&|r| r.orders.len()),
        "fills": per_run(&|r| r.fills.len()),
        "compared": diff.keys.len(),
        "bar_vs_a": pair_json(diff.bar_vs_a),
        "bar_vs_b": pair_json(diff.bar_vs_b),
        "a_vs_b": pair_json(diff.a_vs_b),
        "ambiguous": diff.cases.len(),
        "cases": cases,
        "differences": differences,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}
