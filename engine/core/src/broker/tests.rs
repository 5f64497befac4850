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

/// Submits `spec` with its links and transmit flag.
fn linked(mut spec: OrderSpec, oco: Option<OrderId>, parent: Option<OrderId>) -> OrderSpec {
    spec.oco = oco;
    spec.parent = parent;
    spec
}

fn limit(side: Side, price: &str) -> OrderSpec {
    OrderSpec::priced(InstrumentId(0), side, Qty::ONE, ExecType::Limit, p(price))
}

/// The notifications since the last call, as (order, status).
fn told(b: &mut SimBroker) -> Vec<(OrderId, Status)> {
    b.drain_notices().map(|n| (n.order, n.status)).collect()
}

/// Moves to day `day`'s bar (open 100, high 102, low 98, close 101) and steps the broker.
fn step_day(b: &mut SimBroker, day: i64) {
    b.set_bar(InstrumentId(0), bar(day, "100", "102", "98", "101")).unwrap();
    b.step().unwrap();
}

#[test]
fn a_leg_of_a_completed_standalone_order_joins_its_chain_and_never_activates() {
    // backtrader keeps `_pchildren[ref]` of an order that completed without legs (its parent is
    // popped, the deque stays): a leg placed later is taken into it, and nothing activates it.
    let ins = InstrumentId(0);
    let mut b = broker(BrokerConfig::default());
    step_day(&mut b, 0);
    let a = b.submit(OrderSpec::market(ins, Side::Buy, Qty::ONE)).unwrap();
    step_day(&mut b, 1);
    assert_eq!(told(&mut b), [(a, Status::Submitted), (a, Status::Accepted), (a, Status::Completed)]);
    // A sell limit at 99 would fill at any of these bars' opens, if it were active.
    let leg = b.submit(linked(limit(Side::Sell, "99"), None, Some(a))).unwrap();
    for day in 2..6 {
        step_day(&mut b, day);
    }
    assert_eq!(told(&mut b), [(leg, Status::Submitted), (leg, Status::Accepted)]);
    assert!(b.is_pending(leg));
    assert!(!b.orders().order(leg).unwrap().is_active());
    assert_eq!(b.position(ins).size(), Qty::ONE);
    // Cancelling the leg deletes the chain (its root is the completed order): a further leg is
    // rejected at once.
    assert!(b.cancel(leg).unwrap());
    let late = b.submit(linked(limit(Side::Sell, "99"), None, Some(a))).unwrap();
    assert_eq!(told(&mut b), [(leg, Status::Canceled), (late, Status::Rejected)]);
}

#[test]
fn a_leg_of_a_cancelled_refused_or_expired_parent_is_rejected() {
    let ins = InstrumentId(0);
    // Cancelled.
    let mut b = broker(BrokerConfig::default());
    step_day(&mut b, 0);
    let a = b.submit(limit(Side::Buy, "50")).unwrap();
    step_day(&mut b, 1);
    assert!(b.cancel(a).unwrap());
    let leg = b.submit(linked(limit(Side::Sell, "60"), None, Some(a))).unwrap();
    assert_eq!(
        told(&mut b),
        [(a, Status::Submitted), (a, Status::Accepted), (a, Status::Canceled), (leg, Status::Rejected)]
    );
    // Refused for cash at the submission check.
    let mut b = broker(BrokerConfig { cash: "10".parse().unwrap(), ..BrokerConfig::default() });
    step_day(&mut b, 0);
    let a = b.submit(OrderSpec::market(ins, Side::Buy, Qty::ONE)).unwrap();
    step_day(&mut b, 1);
    let leg = b.submit(linked(limit(Side::Sell, "60"), None, Some(a))).unwrap();
    assert_eq!(told(&mut b), [(a, Status::Submitted), (a, Status::Margin), (leg, Status::Rejected)]);
    // Expired.
    let mut b = broker(BrokerConfig::default());
    step_day(&mut b, 0);
    let a = b.submit(OrderSpec { validity: crate::order::Validity::Day, ..limit(Side::Buy, "50") }).unwrap();
    step_day(&mut b, 1);
    step_day(&mut b, 2);
    let leg = b.submit(linked(limit(Side::Sell, "60"), None, Some(a))).unwrap();
    assert_eq!(
        told(&mut b),
        [(a, Status::Submitted), (a, Status::Accepted), (a, Status::Expired), (leg, Status::Rejected)]
    );
}

#[test]
fn a_bracket_activates_its_legs_when_the_parent_fills_and_one_leg_cancels_the_other() {
    let ins = InstrumentId(0);
    let mut b = broker(BrokerConfig::default());
    step_day(&mut b, 0);
    let held = |s: OrderSpec| OrderSpec { transmit: false, ..s };
    let main = b.submit(held(OrderSpec::market(ins, Side::Buy, Qty::ONE))).unwrap();
    let stop = b
        .submit(held(linked(
            OrderSpec::priced(ins, Side::Sell, Qty::ONE, ExecType::Stop, p("90")),
            None,
            Some(main),
        )))
        .unwrap();
    assert!(told(&mut b).is_empty(), "held until the last leg");
    let take = b.submit(linked(limit(Side::Sell, "101.5"), None, Some(main))).unwrap();
    assert_eq!(
        told(&mut b),
        [(main, Status::Submitted), (stop, Status::Submitted), (take, Status::Submitted)]
    );
    step_day(&mut b, 1);
    assert_eq!(
        told(&mut b),
        [
            (main, Status::Accepted),
            (stop, Status::Accepted),
            (take, Status::Accepted),
            (main, Status::Completed)
        ]
    );
    // Activated at the next step, where the take-profit fills (high 102) and cancels the stop.
    step_day(&mut b, 2);
    assert_eq!(told(&mut b), [(take, Status::Completed), (stop, Status::Canceled)]);
    assert!(b.position(ins).is_flat());
    // The chain is gone: a leg placed now is rejected.
    let late = b.submit(linked(limit(Side::Sell, "101.5"), None, Some(main))).unwrap();
    assert_eq!(told(&mut b), [(late, Status::Rejected)]);
}

#[test]
fn an_oco_group_is_popped_on_its_first_check_and_a_later_joiner_starts_a_fresh_one() {
    let mut b = broker(BrokerConfig::default());
    step_day(&mut b, 0);
    let a = b.submit(limit(Side::Buy, "50")).unwrap();
    let a2 = b.submit(linked(limit(Side::Buy, "51"), Some(a), None)).unwrap();
    step_day(&mut b, 1);
    told(&mut b);
    assert!(b.cancel(a).unwrap());
    assert_eq!(told(&mut b), [(a, Status::Canceled), (a2, Status::Canceled)]);
    // backtrader's `_ocol[a]` was popped: joining `a` (or a member of its old group) starts a new
    // group under the same leader, which only its own members share.
    let c = b.submit(linked(limit(Side::Buy, "52"), Some(a), None)).unwrap();
    let d = b.submit(linked(limit(Side::Buy, "53"), Some(a2), None)).unwrap();
    let e = b.submit(limit(Side::Buy, "54")).unwrap();
    step_day(&mut b, 2);
    told(&mut b);
    assert!(b.cancel(c).unwrap());
    assert_eq!(told(&mut b), [(c, Status::Canceled), (d, Status::Canceled)]);
    assert!(b.is_pending(e));

    // A member that was not pending when its group was popped (still awaiting the submission
    // check) survives it, and belongs to no later group of the same leader.
    let g = b.submit(limit(Side::Buy, "50")).unwrap();
    step_day(&mut b, 3);
    let h = b.submit(linked(limit(Side::Buy, "50"), Some(g), None)).unwrap();
    assert!(b.cancel(g).unwrap());
    step_day(&mut b, 4);
    assert!(b.is_pending(h));
    let i = b.submit(linked(limit(Side::Buy, "50"), Some(g), None)).unwrap();
    step_day(&mut b, 5);
    told(&mut b);
    assert!(b.cancel(i).unwrap());
    assert_eq!(told(&mut b), [(i, Status::Canceled)], "h is not in i's group");
    assert!(b.is_pending(h));
    // The leader's group was popped by i's check and nobody joined since: cancelling h is alone.
    assert!(b.cancel(h).unwrap());
    assert_eq!(told(&mut b), [(h, Status::Canceled)]);
    assert!(b.is_pending(e));
}

#[test]
fn a_fill_cancels_the_pending_members_of_its_group() {
    let mut b = broker(BrokerConfig::default());
    step_day(&mut b, 0);
    let near = b.submit(limit(Side::Buy, "99")).unwrap();
    let far = b.submit(linked(limit(Side::Buy, "50"), Some(near), None)).unwrap();
    let other = b.submit(limit(Side::Buy, "50")).unwrap();
    step_day(&mut b, 1);
    let notes = told(&mut b);
    assert_eq!(notes[notes.len() - 2..], [(near, Status::Completed), (far, Status::Canceled)]);
    assert!(b.is_pending(other));
}

#[test]
fn a_resubmitted_request_is_the_same_order_and_submits_nothing() {
    let ins = InstrumentId(0);
    let mut b = broker(BrokerConfig::default());
    step_day(&mut b, 0);
    let mut spec = limit(Side::Buy, "50");
    spec.client_id = Some(kestrel_types::ClientOrderId::try_new("mine-1").unwrap());
    let first = b.submit(spec).unwrap();
    assert_eq!(b.submit(spec).unwrap(), first);
    assert_eq!(told(&mut b), [(first, Status::Submitted)]);
    // The next order is the store's second, with the broker's state of its own.
    let next = b.submit(OrderSpec::market(ins, Side::Buy, Qty::ONE)).unwrap();
    assert_eq!(next, OrderId(2));
    step_day(&mut b, 1);
    assert_eq!(
        told(&mut b),
        [
            (next, Status::Submitted),
            (first, Status::Accepted),
            (next, Status::Accepted),
            (next, Status::Completed)
        ]
    );
    assert_eq!(b.orders().len(), 2);
}
