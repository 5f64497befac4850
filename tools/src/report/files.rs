//! The CSV tables: `orders.csv`, `fills.csv`, `trades.csv`, `equity.csv`.
//!
//! One header row, then one row per record in the order given. Every instant appears twice: as RFC 3339
//! UTC text with nanoseconds (for people and spreadsheets) and as the raw integer of nanoseconds since
//! the epoch in the column after it (`ts_ns`, `opened_ns`, …: for programs, no parsing ambiguity).
//! Money, prices and sizes are their exact decimal text; an absent value is an empty field. Streamed
//! to the file, so a run with millions of order changes does not need them all in memory twice.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use kestrel_types::Timestamp;

use super::{DrawdownPoint, EquityPoint, FillRow, OrderRow, ReportError, TradeRow};

/// Every order state change.
pub(super) const ORDERS: &str = "orders.csv";
/// Every execution.
pub(super) const FILLS: &str = "fills.csv";
/// Every trade.
pub(super) const TRADES: &str = "trades.csv";
/// The equity curve with its running peak and drawdown.
pub(super) const EQUITY: &str = "equity.csv";

type Writer = csv::Writer<BufWriter<File>>;

/// Opens `path`, writes the header and every row with `row`, and flushes; errors name `path`.
fn write_table<T>(
    path: &Path,
    header: &[&str],
    rows: &[T],
    mut row: impl FnMut(&mut Writer, &T) -> csv::Result<()>,
) -> Result<PathBuf, ReportError> {
    let csv_err = |source| ReportError::Csv { path: path.to_owned(), source };
    let file = File::create(path).map_err(|source| ReportError::Io { path: path.to_owned(), source })?;
    let mut w =
        csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(BufWriter::new(file));
    w.write_record(header).map_err(csv_err)?;
    for r in rows {
        row(&mut w, r).map_err(csv_err)?;
    }
    w.flush().map_err(|source| ReportError::Io { path: path.to_owned(), source })?;
    Ok(path.to_owned())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn ns(t: Timestamp) -> String {
    t.nanos().to_string()
}

/// Writes `orders.csv`.
pub(super) fn write_orders(path: &Path, rows: &[OrderRow]) -> Result<PathBuf, ReportError> {
    let header = [
        "ts",
        "ts_ns",
        "order",
        "instrument",
        "side",
        "kind",
        "status",
        "size",
        "filled",
        "price",
        "avg_price",
        "reason",
    ];
    write_table(path, &header, rows, |w, r| {
        w.write_record([
            &r.ts.to_string(),
            &ns(r.ts),
            &r.order.to_string(),
            &r.instrument,
            r.side,
            r.kind,
            r.status,
            &r.size.to_string(),
            &r.filled.to_string(),
            &opt(r.price),
            &opt(r.avg_price),
            &r.reason,
        ])
    })
}

/// Writes `fills.csv`.
pub(super) fn write_fills(path: &Path, rows: &[FillRow]) -> Result<PathBuf, ReportError> {
    let header = ["ts", "ts_ns", "order", "instrument", "side", "qty", "price", "commission", "liquidity"];
    write_table(path, &header, rows, |w, r| {
        w.write_record([
            &r.ts.to_string(),
            &ns(r.ts),
            &r.order.to_string(),
            &r.instrument,
            r.side,
            &r.qty.to_string(),
            &r.price.to_string(),
            &r.commission.to_string(),
            r.liquidity,
        ])
    })
}

/// Writes `trades.csv`.
pub(super) fn write_trades(path: &Path, rows: &[TradeRow]) -> Result<PathBuf, ReportError> {
    let header = [
        "id",
        "instrument",
        "direction",
        "opened",
        "opened_ns",
        "closed",
        "closed_ns",
        "size",
        "entry_price",
        "exit_price",
        "pnl",
        "pnl_net",
        "commission",
    ];
    write_table(path, &header, rows, |w, r| {
        w.write_record([
            &r.id.to_string(),
            &r.instrument,
            r.direction,
            &r.opened.to_string(),
            &ns(r.opened),
            &opt(r.closed),
            &opt(r.closed.map(ns)),
            &r.size.to_string(),
            &r.entry_price.to_string(),
            &opt(r.exit_price),
            &r.pnl.to_string(),
            &r.pnl_net.to_string(),
            &r.commission.to_string(),
        ])
    })
}

/// Writes `equity.csv`: `peak` is the running maximum of equity, `drawdown` is `peak − equity` (≥ 0),
/// both exact money (`dd` from [`super::drawdowns`], one per point).
pub(super) fn write_equity(
    path: &Path,
    rows: &[EquityPoint],
    dd: &[DrawdownPoint],
) -> Result<PathBuf, ReportError> {
    let header = ["ts", "ts_ns", "cash", "equity", "peak", "drawdown"];
    let paired: Vec<_> = rows.iter().zip(dd).collect();
    write_table(path, &header, &paired, |w, (p, d)| {
        w.write_record([
            &p.ts.to_string(),
            &ns(p.ts),
            &p.cash.to_string(),
            &p.equity.to_string(),
            &d.peak.to_string(),
            &d.drawdown.to_string(),
        ])
    })
}

#[cfg(test)]
mod tests {
    use kestrel_types::Money;

    use super::super::drawdowns;
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn report_csv_tables_are_exact_and_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let order = OrderRow {
            ts: "2024-01-02T03:04:05.000000006Z".parse().unwrap(),
            order: 7,
            instrument: "EUR,USD".into(),
            side: "sell",
            kind: "stop_limit",
            status: "rejected",
            size: "-0.000000001".parse().unwrap(),
            filled: "0".parse().unwrap(),
            price: Some("1.23456789".parse().unwrap()),
            avg_price: None,
            reason: "margin \"call\"".into(),
        };
        write_orders(&dir.path().join(ORDERS), &[order]).unwrap();
        assert_eq!(
            read(&dir.path().join(ORDERS)),
            "ts,ts_ns,order,instrument,side,kind,status,size,filled,price,avg_price,reason\n\
             2024-01-02T03:04:05.000000006Z,1704164645000000006,7,\"EUR,USD\",sell,stop_limit,rejected,\
             -0.000000001,0,1.23456789,,\"margin \"\"call\"\"\"\n"
        );

        let fill = FillRow {
            ts: Timestamp::from_nanos(-1),
            order: 1,
            instrument: "X".into(),
            side: "buy",
            qty: "3".parse().unwrap(),
            price: "0.5".parse().unwrap(),
            commission: "170141183460.469231731".parse().unwrap(),
            liquidity: "maker",
        };
        write_fills(&dir.path().join(FILLS), &[fill]).unwrap();
        assert_eq!(
            read(&dir.path().join(FILLS)),
            "ts,ts_ns,order,instrument,side,qty,price,commission,liquidity\n\
             1969-12-31T23:59:59.999999999Z,-1,1,X,buy,3,0.5,170141183460.469231731,maker\n"
        );

        let trade = TradeRow {
            id: 2,
            instrument: "X".into(),
            direction: "short",
            opened: Timestamp::from_nanos(1_000_000_000),
            closed: None,
            size: "2".parse().unwrap(),
            entry_price: "10".parse().unwrap(),
            exit_price: None,
            pnl: "-1.5".parse().unwrap(),
            pnl_net: "-2".parse().unwrap(),
            commission: "0.5".parse().unwrap(),
        };
        write_trades(&dir.path().join(TRADES), &[trade]).unwrap();
        assert_eq!(
            read(&dir.path().join(TRADES)),
            "id,instrument,direction,opened,opened_ns,closed,closed_ns,size,entry_price,exit_price,pnl,pnl_net,commission\n\
             2,X,short,1970-01-01T00:00:01.000000000Z,1000000000,,,2,10,,-1.5,-2,0.5\n"
        );
    }

    #[test]
    fn report_equity_csv_has_peak_and_drawdown() {
        let dir = tempfile::tempdir().unwrap();
        let pts: Vec<EquityPoint> = ["100", "120.5", "90"]
            .iter()
            .enumerate()
            .map(|(i, e)| EquityPoint {
                ts: Timestamp::from_nanos(i as i64),
                cash: Money::ZERO,
                equity: e.parse().unwrap(),
            })
            .collect();
        let path = dir.path().join(EQUITY);
        write_equity(&path, &pts, &drawdowns(&pts)).unwrap();
        assert_eq!(
            read(&path),
            "ts,ts_ns,cash,equity,peak,drawdown\n\
             1970-01-01T00:00:00.000000000Z,0,0,100,100,0\n\
             1970-01-01T00:00:00.000000001Z,1,0,120.5,120.5,0\n\
             1970-01-01T00:00:00.000000002Z,2,0,90,120.5,30.5\n"
        );
    }
}
