//! Broker rules on small hand-made bars; the conformance suite checks them against backtrader.

use kestrel_types::{Bar, InstrumentId, Money, Price, Qty, Timestamp};

use super::*;
use crate::backtest;
use crate::order::{ExecType, Side, Status};
use crate::scheme::{CommissionParams, CommissionScheme};
use crate::strategy::{Context, OrderArgs, Strategy};
use crate::trade::{TradeBook, TradeEvent};

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn bar(day: i64, o: &str, h: &str, l: &str, c: &str) -> Bar {
    Bar {
        ts: Timestamp::from_nanos(day * kestrel_types::NANOS_PER_DAY + SESSION_END_NANOS),
        open: p(o),
        high: p(h),
        low: p(l),
        close: p(c),
        volume: Qty::try_from_units(1000).unwrap(),
        open_interest: Qty::ZERO,
    }
}

/// Places scripted orders at given steps and records what it is told.
#[derive(Default)]
struct Script {
    at: Vec<(u64, Side, &'static str, ExecType, Option<&'static str>)>,
    notices: Vec<(u64, Status)>,
    trades: Vec<TradeEvent>,
    cash: Vec<Money>,
}

impl Strategy for Script {
    type Error = BrokerError;
    fn on_bar(&mut self, ctx: &mut Context<'_>) -> Result<(), BrokerError> {
        self.cash.push(ctx.broker().cash());
        for (step, side, size, et, price) in self.at.clone() {
            if step == ctx.step() {
                let args = OrderArgs { exec_type: Some(et), price: price.map(p), ..OrderArgs::default() };
                let size = Some(size.parse().unwrap());
                match side {
                    Side::Buy => ctx.buy(InstrumentId(0), size, &args)?,
                    Side::Sell => ctx.sell(InstrumentId(0), size, &args)?,
                };
            }
        }
        Ok(())
    }
    fn on_order(&mut self, ctx: &Context<'_>, n: &OrderNotice) -> Result<(), BrokerError> {
        self.notices.push((ctx.step(), n.status));
        Ok(())
    }
    fn on_trade(&mut self, _ctx: &Context<'_>, e: &TradeEvent) -> Result<(), BrokerError> {
        self.trades.push(*e);
        Ok(())
    }
}

fn broker(config: BrokerConfig) -> SimBroker {
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: "0.001".parse().unwrap(),
        ..CommissionParams::setcommission()
    })
    .unwrap();
    SimBroker::new(config, vec![scheme], 64).unwrap()
}

fn bars() -> Vec<Bar> {
    vec![
        bar(0, "100", "101", "99", "100"),
        bar(1, "100", "102", "99", "101"),
        bar(2, "102", "104", "101", "103"),
        bar(3, "103", "106", "102", "105"),
        bar(4, "105", "105", "95", "96"),
    ]
}

#[test]
fn market_round_trip_books_cash_commission_and_one_trade() {
    let mut b = broker(BrokerConfig { cash: "10000".parse().unwrap(), ..BrokerConfig::default() });
    let mut s = Script {
        at: vec![(1, Side::Buy, "10", ExecType::Market, None), (3, Side::Sell, "10", ExecType::Market, None)],
        ..Script::default()
    };
    let mut trades = TradeBook::with_capacity(1, 8);
    let bars = bars();
    backtest::run(&[&bars], &mut b, &mut trades, &mut s).unwrap();
    // Submitted and Accepted on step 2, then Completed at step 2's open (100).
    assert_eq!(s.notices[..3], [(2, Status::Submitted), (2, Status::Accepted), (2, Status::Completed)]);
    // 10 × 100 = 1000 plus 1.00 commission.
    assert_eq!(s.cash[1], "8999".parse().unwrap());
    // Sold at step 4's open 103: +1030 − 1.03.
    assert_eq!(b.cash(), "10027.97".parse().unwrap());
    assert_eq!(b.value(), b.cash());
    assert_eq!(s.trades.len(), 2);
    let closed = s.trades[1].trade;
    assert_eq!(closed.pnl(), "30".parse().unwrap());
    assert_eq!(closed.pnl_comm(), "27.97".parse().unwrap());
}

#[test]
fn a_limit_buy_fills_at_its_limit_when_the_low_reaches_it_and_expires_otherwise() {
    let mut b = broker(BrokerConfig::default());
    let mut s = Script { at: vec![(1, Side::Buy, "1", ExecType::Limit, Some("99.5"))], ..Script::default() };
    let mut trades = TradeBook::with_capacity(1, 8);
    let bars = bars();
    backtest::run(&[&bars], &mut b, &mut trades, &mut s).unwrap();
    assert_eq!(b.position(InstrumentId(0)).price(), p("99.5"));
    assert_eq!(s.notices.last().unwrap(), &(2, Status::Completed));
}

#[test]
fn short_of_cash_is_margin_not_an_error() {
    let mut b = broker(BrokerConfig { cash: "100".parse().unwrap(), ..BrokerConfig::default() });
    let mut s = Script { at: vec![(1, Side::Buy, "10", ExecType::Market, None)], ..Script::default() };
    let mut trades = TradeBook::with_capacity(1, 8);
    let bars = bars();
    backtest::run(&[&bars], &mut b, &mut trades, &mut s).unwrap();
    assert_eq!(s.notices, [(2, Status::Submitted), (2, Status::Margin)]);
    assert_eq!(b.cash(), "100".parse().unwrap());
}
