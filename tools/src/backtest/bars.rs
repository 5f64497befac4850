//! The bar path of `kestrel backtest`: bar strategies run on the bar broker (`SimBroker`), which
//! keeps backtrader's semantics (orders placed on a bar's close fill at the next bar's open, cash
//! checked at submission), and report through the same files as tick strategies.

use anyhow::{Result, bail};
use kestrel_engine::backtest;
use kestrel_engine::broker::{BrokerConfig, BrokerError, OrderNotice, SimBroker};
use kestrel_engine::order::{ExecType, Side};
use kestrel_engine::scheme::CommissionScheme;
use kestrel_engine::strategy::sma_cross::SmaCross;
use kestrel_engine::strategy::{Context, Strategy};
use kestrel_types::{Bar, InstrumentId, Money, Rounding};

use super::record::{TradeTracker, status_name};
use kestrel_cli::report::{EquityPoint, FillRow, OrderRow, TradeRow};

/// What a bar run hands to the report.
pub(crate) struct BarRun {
    pub(crate) orders: Vec<OrderRow>,
    pub(crate) fills: Vec<FillRow>,
    pub(crate) trades: Vec<TradeRow>,
    pub(crate) equity: Vec<EquityPoint>,
    pub(crate) order_count: u64,
    pub(crate) final_value: Money,
    pub(crate) fees: Money,
    pub(crate) turnover: Money,
}

fn kind_name(e: ExecType) -> &'static str {
    match e {
        ExecType::Market => "market",
        ExecType::Close => "close",
        ExecType::Limit => "limit",
        ExecType::Stop => "stop",
        ExecType::StopLimit => "stop_limit",
        ExecType::StopTrail => "stop_trail",
        ExecType::StopTrailLimit => "stop_trail_limit",
    }
}

/// The crossover with every notification recorded.
struct Recording {
    inner: SmaCross,
    symbol: String,
    orders: Vec<OrderRow>,
    fills: Vec<FillRow>,
    trades: TradeTracker,
    equity: Vec<EquityPoint>,
    fees: Money,
    turnover: kestrel_types::Notional,
}

impl Strategy for Recording {
    type Error = BrokerError;

    fn on_bar(&mut self, ctx: &mut Context<'_>) -> Result<(), BrokerError> {
        self.inner.on_bar(ctx)?;
        let b = ctx.broker();
        self.equity.push(EquityPoint { ts: ctx.now(), cash: b.cash(), equity: b.value() });
        Ok(())
    }

    fn on_order(&mut self, ctx: &Context<'_>, n: &OrderNotice) -> Result<(), BrokerError> {
        let order = ctx.orders().order(n.order)?;
        let price = Some(order.price()).filter(|p| !p.is_zero());
        let filled = n.executed.size.abs();
        let avg = if filled.is_zero() {
            None
        } else {
            n.executed.cost.abs().average_price(filled, Rounding::HalfEven).ok()
        };
        self.orders.push(OrderRow {
            ts: ctx.now(),
            order: n.order.0,
            instrument: self.symbol.clone(),
            side: n.side.name(),
            kind: kind_name(n.exec_type),
            status: status_name(n.status),
            size: n.size.abs(),
            filled,
            price,
            avg_price: avg,
            reason: if n.status == kestrel_engine::order::Status::Margin {
                "insufficient cash".to_owned()
            } else {
                String::new()
            },
        });
        let liquidity = if n.exec_type == ExecType::Limit { "maker" } else { "taker" };
        for f in n.new_fills(ctx.orders()) {
            let comm = f.comm()?;
            let qty = f.size.abs();
            self.fees = self.fees.try_add(comm)?;
            self.turnover = self.turnover.try_add(qty.notional(f.price))?;
            self.fills.push(FillRow {
                ts: f.at,
                order: n.order.0,
                instrument: self.symbol.clone(),
                side: n.side.name(),
                qty,
                price: f.price,
                commission: comm,
                liquidity,
            });
            let side = if f.size.is_negative() { Side::Sell } else { Side::Buy };
            self.trades.fill(&self.symbol, n.instrument, side, qty, f.price, comm, f.pnl, f.psize, f.at);
        }
        Ok(())
    }
}

/// Runs an SMA crossover over `bars` of one instrument.
pub(crate) fn run_sma(
    bars: &[Bar],
    symbol: &str,
    fast: usize,
    slow: usize,
    size: kestrel_types::Qty,
    cash: Money,
    scheme: CommissionScheme,
) -> Result<BarRun> {
    if fast == 0 || fast >= slow {
        bail!("sma-cross: fast must be at least 1 and below slow (got {fast} and {slow})");
    }
    if bars.len() <= slow {
        bail!("sma-cross: {} bars, need more than slow = {slow}", bars.len());
    }
    let mut broker =
        SimBroker::new(BrokerConfig { cash, ..BrokerConfig::default() }, vec![scheme], bars.len() + 16)?;
    let mut trade_book = kestrel_engine::trade::TradeBook::with_capacity(1, bars.len() / 2 + 16);
    let mut s = Recording {
        inner: SmaCross::new(InstrumentId(0), fast, slow, size),
        symbol: symbol.to_owned(),
        orders: Vec::new(),
        fills: Vec::new(),
        trades: TradeTracker::new(1),
        equity: Vec::new(),
        fees: Money::ZERO,
        turnover: kestrel_types::Notional::ZERO,
    };
    backtest::run(&[bars], &mut broker, &mut trade_book, &mut s)?;
    s.trades.finish(&[symbol.to_owned()]);
    Ok(BarRun {
        orders: s.orders,
        fills: s.fills,
        trades: s.trades.rows,
        equity: s.equity,
        order_count: broker.orders().len() as u64,
        final_value: broker.value(),
        fees: s.fees,
        turnover: s.turnover.to_money(Rounding::HalfEven),
    })
}
