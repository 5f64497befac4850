//! `kestrel demo`: the domain model end to end on a small, readable example.
//!
//! A long-only SMA crossover on daily bars: when the fast average crosses above the slow one it buys,
//! when it crosses below it sells what it holds. Orders are market orders created on a bar's close
//! and filled at the next bar's open, as backtrader fills them. Every step goes through the model:
//! the order store and state machine, exact position accounting, the commission scheme, the cash
//! account's named operations, and the trade book.
//!
//! # Limitations
//! This is a demonstration of the model, not the simulated broker: it knows market orders only
//! and skips backtrader's submission check. The bar-driven `SimBroker` is issue #10's.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use kestrel_engine::account::Account;
use kestrel_engine::order::{Fill, OrderSpec, OrderStore, Released, Side};
use kestrel_engine::position::Position;
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_engine::trade::{TradeBook, TradeEventKind, TradeExecution};
use kestrel_replay::bars::{Bar, BarFormat, DateWindow, SESSION_END_NANOS, read_bars};
use kestrel_types::{
    Currency, ExecId, Instrument, InstrumentId, InstrumentSpec, Money, NANOS_PER_DAY, Notional, Price, Qty,
    Ratio, Rounding, Timestamp, VenueId,
};

/// Options of `kestrel demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// A backtrader CSV file (daily `Date,Open,High,Low,Close,Volume,OpenInterest`) instead of
    /// generated bars.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Seed of the generated bars (same seed, same bars, same output).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// How many bars to generate.
    #[arg(long, default_value_t = 250)]
    bars: usize,
    /// Fast moving-average length.
    #[arg(long, default_value_t = 10)]
    fast: usize,
    /// Slow moving-average length.
    #[arg(long, default_value_t = 30)]
    slow: usize,
    /// Units per order.
    #[arg(long, default_value = "100")]
    size: Qty,
    /// Starting cash.
    #[arg(long, default_value = "100000")]
    cash: Money,
    /// Commission rate of the traded value (0.001 is 0.1%).
    #[arg(long, default_value = "0.001")]
    commission: Ratio,
}

/// SplitMix64: a tiny, fully specified generator, so the generated data never changes with a
/// dependency's version (the `rand` crates do not promise stable streams across releases).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `-span..=span`.
    fn step(&mut self, span: i64) -> i64 {
        let width = u64::try_from(2 * span + 1).unwrap_or(1);
        i64::try_from(self.next() % width).unwrap_or(0) - span
    }
}

/// Daily bars from a random walk in whole cents, starting at 100.00 on 2020-01-01 (weekdays only).
fn generate_bars(seed: u64, count: usize) -> Result<Vec<Bar>> {
    let mut rng = SplitMix64(seed);
    let cent = Price::from_raw(10_000_000);
    let mut close: i64 = 10_000; // cents
    let mut day = Timestamp::from_ymd_hms_nano(2020, 1, 1, 0, 0, 0, 0).context("start date")?.day_number();
    let mut bars = Vec::with_capacity(count);
    while bars.len() < count {
        // 1970-01-01 was a Thursday: day 2 is Saturday, day 3 Sunday.
        if !matches!(day.rem_euclid(7), 2 | 3) {
            let open = (close + rng.step(60)).max(100);
            let end = (open + rng.step(150)).max(100);
            let high = open.max(end) + rng.step(80).abs();
            let low = (open.min(end) - rng.step(80).abs()).max(50);
            let p = |cents: i64| Price::from_raw(cents * cent.raw());
            bars.push(Bar {
                ts: Timestamp::from_nanos(day * NANOS_PER_DAY + SESSION_END_NANOS),
                open: p(open),
                high: p(high),
                low: p(low),
                close: p(end),
                volume: Qty::try_from_units(10_000 + rng.step(5_000)).context("volume")?,
                open_interest: Qty::ZERO,
            });
            close = end;
        }
        day += 1;
    }
    Ok(bars)
}

/// Whether the fast average is above the slow one at bar `i`, compared exactly
/// (`Σfast × slow` against `Σslow × fast`, no division).
fn fast_above(closes: &[Price], i: usize, fast: usize, slow: usize) -> Option<bool> {
    if i + 1 < slow {
        return None;
    }
    let sum = |n: usize| closes[i + 1 - n..=i].iter().map(|p| i128::from(p.raw())).sum::<i128>();
    let (f, s) = (sum(fast) * i128::try_from(slow).ok()?, sum(slow) * i128::try_from(fast).ok()?);
    Some(f > s)
}

/// Runs the demo and writes its report to `out`.
pub(crate) fn run(args: &DemoArgs, out: &mut impl Write) -> Result<()> {
    if args.fast == 0 || args.fast >= args.slow {
        bail!("--fast must be at least 1 and below --slow (got {} and {})", args.fast, args.slow);
    }
    if !args.size.is_positive() {
        bail!("--size must be > 0 (got {})", args.size);
    }
    let (bars, source) = match &args.data {
        Some(path) => {
            let file = read_bars(path, BarFormat::BtCsv, DateWindow::ALL)?;
            if file.intraday {
                bail!("{}: the demo takes daily bars", path.display());
            }
            (file.bars, format!("{}", path.display()))
        }
        None => (
            generate_bars(args.seed, args.bars)?,
            format!("{} generated daily bars (seed {})", args.bars, args.seed),
        ),
    };
    if bars.len() <= args.slow {
        bail!("{} bars: need more than --slow = {}", bars.len(), args.slow);
    }

    let usd = Currency::USD;
    let ins = Instrument::try_new(
        InstrumentId(0),
        InstrumentSpec {
            symbol: "DEMO".into(),
            venue: VenueId(0),
            tick_size: "0.01".parse()?,
            lot_size: Qty::ONE,
            display_decimals: 2,
            multiplier: Ratio::ONE,
            quote_currency: usd,
            settlement_currency: usd,
        },
    )?;
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: args.commission,
        ..CommissionParams::setcommission()
    })?;
    let mut orders = OrderStore::new(1024, "demo")?;
    let mut position = Position::new();
    let mut account = Account::new(4096);
    let mut trades = TradeBook::with_capacity(1, 512);
    let start = Timestamp::EPOCH;
    account.deposit(usd, args.cash, start)?;

    let money = |m: Money| m.to_fixed(2, Rounding::HalfEven);
    writeln!(out, "Kestrel demo: SMA({}/{}) crossover on {source}", args.fast, args.slow)?;
    writeln!(
        out,
        "instrument {} · commission {} of value · orders of {} at the next open\n",
        ins.symbol(),
        args.commission,
        args.size
    )?;
    writeln!(
        out,
        "{:>4}  {:<10}  {:<8}  {:<4}  {:>6}  {:>10}  {:>9}  {:>8}  {:>13}",
        "bar", "date", "order", "side", "size", "price", "comm", "position", "cash"
    )?;

    let closes: Vec<Price> = bars.iter().map(|b| b.close).collect();
    let mut waiting: Option<kestrel_types::OrderId> = None;
    let mut fills = 0u32;
    let mut was_above = None;
    let mut trade_lines = String::new();
    for (i, bar) in bars.iter().enumerate() {
        let n = u64::try_from(i + 1)?;
        // 1. The order created on the previous close fills at this open.
        if let Some(id) = waiting.take() {
            let order = orders.order(id)?;
            let (size, price) = (order.remaining(), bar.open);
            let update = position.preview(size, price)?;
            let closed_comm = scheme.commission(update.closed, price)?;
            let opened_comm = scheme.commission(update.opened, price)?;
            let pnl = scheme.closed_pnl(&update, price)?;
            fills += 1;
            let fill = Fill {
                exec_id: ExecId::try_new(&format!("demo-fill-{fills}"))?,
                at: bar.ts,
                size,
                price,
                closed: update.closed,
                closed_value: scheme.value_at_cost(-update.closed, closed_cost(&update)?)?,
                closed_comm,
                opened: update.opened,
                opened_value: scheme.value_size(update.opened, price)?,
                opened_comm,
                pnl,
                psize: update.size,
                pprice: update.price,
            };
            // Stock-like cash: pay size × price for what was bought, receive it for what was sold.
            account.settle_fill(usd, -size.notional(price).to_money(Rounding::HalfEven), bar.ts)?;
            account.charge_commission(usd, closed_comm.try_add(opened_comm)?, bar.ts)?;
            position.update(size, price, bar.ts)?;
            orders.apply_fill(id, &fill)?;
            let exec = TradeExecution::from_update(&update, price, closed_comm, opened_comm, n, bar.ts);
            for ev in trades.apply(ins.id(), &exec, &scheme)? {
                if ev.kind == TradeEventKind::Closed {
                    let t = ev.trade;
                    writeln!(
                        trade_lines,
                        "  trade {:>3}  bars {:>4}..{:<4}  entry {:>10}  pnl {:>10}  after commission {:>10}",
                        t.id().0 + 1,
                        t.bar_open(),
                        t.bar_close(),
                        ins.fmt_price(t.price()),
                        money(t.pnl()),
                        money(t.pnl_comm())
                    )?;
                }
            }
            let order = orders.order(id)?;
            writeln!(
                out,
                "{:>4}  {:<10}  {:<8}  {:<4}  {:>6}  {:>10}  {:>9}  {:>8}  {:>13}",
                n,
                bar.ts.date_string(),
                order.client_id(),
                order.side().name(),
                ins.fmt_qty(size.abs()),
                ins.fmt_price(price),
                money(fill.comm()?),
                ins.fmt_qty(position.size()),
                money(account.balance(usd)),
            )?;
        }
        // 2. Decide on this bar's close.
        let Some(above) = fast_above(&closes, i, args.fast, args.slow) else { continue };
        let crossed = was_above.is_some_and(|w| w != above);
        was_above = Some(above);
        if !crossed || i + 1 == bars.len() {
            continue;
        }
        let spec = match (above, position.size().is_positive()) {
            (true, false) => OrderSpec::market(ins.id(), Side::Buy, args.size),
            (false, true) => OrderSpec::market(ins.id(), Side::Sell, position.size()),
            _ => continue,
        };
        let id = orders.create(spec, bar.ts, bar.close)?.id();
        match orders.transmit(id, bar.ts)? {
            Released::Send(ids) => {
                for id in ids {
                    let o = orders.order_mut(id)?;
                    o.submit()?;
                    o.accept()?;
                }
            }
            other => bail!("a standalone order was not released: {other:?}"),
        }
        waiting = Some(id);
    }

    let last = bars.last().context("no bars")?;
    let cash = account.balance(usd);
    let value = cash.try_add(scheme.position_value(&position, last.close)?)?;
    let ret = kestrel_types::Exact::money(value)
        .try_div(kestrel_types::Exact::money(args.cash))?
        .try_sub(kestrel_types::Exact::ONE)?
        .try_mul(kestrel_types::Exact::int(100))?
        .to_money(Rounding::HalfEven)?;
    let commission: Money = account
        .moves()
        .iter()
        .filter(|m| m.kind == kestrel_engine::account::CashMoveKind::Commission)
        .try_fold(Money::ZERO, |acc, m| acc.try_add(m.amount))?;
    writeln!(out, "\nclosed trades")?;
    if trade_lines.is_empty() {
        writeln!(out, "  none")?;
    }
    write!(out, "{trade_lines}")?;
    writeln!(
        out,
        "\nsummary over {} bars ({} .. {})",
        bars.len(),
        bars[0].ts.date_string(),
        last.ts.date_string()
    )?;
    writeln!(
        out,
        "  orders {}  fills {}  closed trades {}",
        orders.len(),
        fills,
        trades.trades().iter().filter(|t| t.is_closed()).count()
    )?;
    writeln!(out, "  commission paid {}", money(commission.abs()))?;
    writeln!(out, "  open position {} @ {}", ins.fmt_qty(position.size()), ins.fmt_price(position.price()))?;
    writeln!(
        out,
        "  cash {}  value {}  return {}%",
        money(cash),
        money(value),
        ret.to_fixed(2, Rounding::HalfEven)
    )?;
    writeln!(out, "  cash moves journalled: {}", account.moves().len())?;
    Ok(())
}

/// The exact cost basis of the closed part as a notional (it is a whole number of 10^-18 units
/// whenever the position's cost is, which the demo's whole-cent prices guarantee).
fn closed_cost(update: &kestrel_engine::position::PositionUpdate) -> Result<Notional> {
    Ok((-update.closed_cost).to_notional(Rounding::HalfEven)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> DemoArgs {
        DemoArgs {
            data: None,
            seed: 7,
            bars: 250,
            fast: 10,
            slow: 30,
            size: "100".parse().unwrap(),
            cash: "100000".parse().unwrap(),
            commission: "0.001".parse().unwrap(),
        }
    }

    fn report(a: &DemoArgs) -> String {
        let mut out = Vec::new();
        run(a, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_same_report_and_the_books_balance() {
        let a = report(&args());
        assert_eq!(a, report(&args()), "deterministic");
        assert!(a.contains("closed trades"));
        assert!(a.contains("fills"));
        // Every fill line's cash column is the account after that fill; the summary's cash is the last.
        let last_cash =
            a.lines().rfind(|l| l.contains("demo-")).unwrap().split_whitespace().last().unwrap().to_owned();
        assert!(a.contains(&format!("cash {last_cash}")), "{a}");
    }

    #[test]
    fn generated_bars_are_weekdays_and_consistent() {
        let bars = generate_bars(1, 100).unwrap();
        assert_eq!(bars.len(), 100);
        for b in &bars {
            assert!(b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close));
            assert!(!matches!(b.ts.day_number().rem_euclid(7), 2 | 3));
        }
        assert!(bars.windows(2).all(|w| w[0].ts < w[1].ts));
    }

    #[test]
    fn bad_arguments_are_refused() {
        let mut a = args();
        a.fast = 30;
        let mut out = Vec::new();
        assert!(run(&a, &mut out).unwrap_err().to_string().contains("--fast"));
        let mut a = args();
        a.bars = 10;
        assert!(run(&a, &mut out).unwrap_err().to_string().contains("need more than"));
    }
}
