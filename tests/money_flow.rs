//! No money is lost or made up: under random executions, cash plus the marked position always
//! equals the deposit plus realised and unrealised pnl minus commission. Cash and commission are
//! exact here (whole-cent prices); each realised pnl of a partial close, and the unrealised pnl, is
//! rounded once to the nano-unit, so the two sides may differ by at most half a nano-unit per
//! rounded pnl — never more, whatever the sequence.

use kestrel_engine::account::Account;
use kestrel_engine::position::Position;
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_types::{Currency, Money, Price, Qty, Rounding, Timestamp};
use proptest::prelude::*;

fn scheme() -> CommissionScheme {
    CommissionScheme::try_new(CommissionParams {
        commission: "0.0005".parse().unwrap(),
        ..CommissionParams::setcommission()
    })
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn cash_and_position_balance_within_a_rounding_per_pnl(
        steps in proptest::collection::vec((-50i64..=50, 1i64..=500_000), 1..60),
        mark in 1i64..=500_000,
    ) {
        let usd = Currency::USD;
        let scheme = scheme();
        let mut account = Account::new(1024);
        let mut position = Position::new();
        let deposit: Money = "1000000".parse().unwrap();
        account.deposit(usd, deposit, Timestamp::EPOCH).unwrap();
        let mut realised = Money::ZERO;
        let mut roundings: i128 = 1;
        let mut commission = Money::ZERO;
        for (i, (units, cents)) in steps.into_iter().enumerate() {
            if units == 0 { continue; }
            let at = Timestamp::from_nanos(i64::try_from(i).unwrap());
            let size = Qty::try_from_units(units).unwrap();
            let price = Price::from_raw(cents * 10_000_000);
            let update = position.update(size, price, at).unwrap();
            let comm = scheme.commission(update.closed, price).unwrap()
                .try_add(scheme.commission(update.opened, price).unwrap()).unwrap();
            realised = realised.try_add(scheme.closed_pnl(&update, price).unwrap()).unwrap();
            roundings += i128::from(!update.closed.is_zero());
            commission = commission.try_add(comm).unwrap();
            account.settle_fill(usd, -size.notional(price).to_money(Rounding::HalfEven), at).unwrap();
            account.charge_commission(usd, comm, at).unwrap();
        }
        let mark = Price::from_raw(mark * 10_000_000);
        let unrealised = scheme.unrealized_pnl(&position, mark).unwrap();
        // Stock-like, cash-settled: cash + size × mark = deposit + realised + unrealised − commission.
        let held = position.size().notional(mark).to_money(Rounding::HalfEven);
        let lhs = account.balance(usd).try_add(held).unwrap();
        let rhs = deposit.try_add(realised).unwrap().try_add(unrealised).unwrap().try_sub(commission).unwrap();
        let gap = lhs.try_sub(rhs).unwrap().raw().abs();
        prop_assert!(2 * gap <= roundings, "off by {} nano-units after {} roundings", gap, roundings);
        // And the journal holds every move: its sum is the balance.
        let sum = account.moves().iter().try_fold(Money::ZERO, |a, m| a.try_add(m.amount)).unwrap();
        prop_assert_eq!(sum, account.balance(usd));
    }
}
