//! `Account`: cash balances per currency, moved only by named operations, each one journalled.
//!
//! A backtest holds one currency; live accounts (Binance, IB, OANDA) hold several. Balances live in
//! a small vector sorted by currency code (no hash map: iteration order must be deterministic, and
//! `clippy.toml` bans `HashMap`). The balance fields are private: cash changes only through
//! [`Account::settle_fill`], [`Account::charge_commission`], [`Account::charge_interest`],
//! [`Account::mark_to_market`], [`Account::deposit`] and [`Account::withdraw`], each of which
//! returns the new balance and appends a [`CashMove`] to the account's journal.
//!
//! # The journal: bounded, owned by the account
//! The journal is a vector whose capacity is fixed when the account is built and never grows.
//! Chosen over a caller-supplied sink because the account alone then guarantees that no move goes
//! unrecorded (a caller cannot forget to pass the sink), and over a ring that overwrites because an
//! audit trail with holes is worse than a refusal. The engine drains it ([`Account::drain_moves`])
//! once per batch, as it publishes its outbox; if it is full, the operation is refused with
//! [`AccountError::JournalFull`] *before* the balance changes (ARCHITECTURE.md §6: running out of a
//! start-up capacity is a refusal, never a reallocation). A caller that must apply several moves
//! atomically (a fill: settlement, then commission) checks [`Account::journal_free`] first.
//!
//! # Invariants
//! * Each balance equals the sum of the journalled moves of its currency (including moves already
//!   drained).
//! * A refused operation changes nothing.
//! * Zero amounts are not journalled (they move nothing); the balance is still returned.
//!
//! # Limitations
//! Balances may go below zero: backtrader's `add_cash` with a negative amount takes cash below zero
//! without complaint, and fills are checked against cash by the broker, not here.

use kestrel_types::{ArithError, Currency, Money, Timestamp};

/// Why cash moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CashMoveKind {
    /// Cash paid for or received from an execution (value, leverage share, realised pnl of stocks).
    FillSettlement,
    /// Commission charged on an execution.
    Commission,
    /// Credit interest charged on a held position.
    CreditInterest,
    /// Futures-like variation: the position marked from its last base to a new price.
    MarkToMarket,
    /// Cash added from outside (starting cash, backtrader's `add_cash` with a positive amount).
    Deposit,
    /// Cash taken out (backtrader's `add_cash` with a negative amount).
    Withdrawal,
}

/// One journalled change of a balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CashMove {
    /// Why.
    pub kind: CashMoveKind,
    /// Which balance.
    pub currency: Currency,
    /// The signed change of the balance (a commission of 3 is −3).
    pub amount: Money,
    /// When.
    pub at: Timestamp,
    /// The balance right after the move, so a journal reader can check continuity.
    pub balance: Money,
}

/// Why an account operation was refused; the account is then unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The new balance is outside money's range.
    #[error("account {currency}: {kind:?} of {amount} overflows the balance")]
    Overflow {
        /// The balance.
        currency: Currency,
        /// The operation.
        kind: CashMoveKind,
        /// The signed amount refused.
        amount: Money,
    },
    /// An operation that takes a non-negative amount (commission, interest, deposit, withdrawal) got
    /// a negative one; the sign is in the operation's name.
    #[error("account {currency}: {kind:?} needs a non-negative amount, got {amount}")]
    NegativeAmount {
        /// The balance.
        currency: Currency,
        /// The operation.
        kind: CashMoveKind,
        /// The amount refused.
        amount: Money,
    },
    /// The journal holds `capacity` undrained moves; drain it first.
    #[error("account journal full ({capacity} moves): drain it before moving more cash")]
    JournalFull {
        /// The fixed capacity.
        capacity: usize,
    },
}

/// Cash per currency, changed only by named, journalled operations.
#[derive(Clone, Debug)]
pub struct Account {
    balances: Vec<(Currency, Money)>,
    journal: Vec<CashMove>,
    capacity: usize,
}

impl Account {
    /// An account with no balances and a journal of `journal_capacity` moves (allocated now, never
    /// grown).
    pub fn new(journal_capacity: usize) -> Self {
        Self {
            balances: Vec::with_capacity(1),
            journal: Vec::with_capacity(journal_capacity),
            capacity: journal_capacity,
        }
    }

    /// The balance of `currency` (zero if it never moved).
    pub fn balance(&self, currency: Currency) -> Money {
        self.find(currency).map_or(Money::ZERO, |i| self.balances[i].1)
    }

    /// All balances, sorted by currency code.
    pub fn balances(&self) -> impl Iterator<Item = (Currency, Money)> + '_ {
        self.balances.iter().copied()
    }

    /// Moves journalled and not yet drained, oldest first.
    pub fn moves(&self) -> &[CashMove] {
        &self.journal
    }

    /// Takes the journalled moves out, oldest first, freeing their room (allocates nothing).
    pub fn drain_moves(&mut self) -> impl Iterator<Item = CashMove> + '_ {
        self.journal.drain(..)
    }

    /// How many more moves fit before [`AccountError::JournalFull`].
    pub fn journal_free(&self) -> usize {
        self.capacity.saturating_sub(self.journal.len())
    }

    /// Cash paid (negative) or received (positive) for an execution.
    ///
    /// # Errors
    /// [`AccountError::Overflow`], [`AccountError::JournalFull`].
    pub fn settle_fill(
        &mut self,
        currency: Currency,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        self.apply(CashMoveKind::FillSettlement, currency, amount, at)
    }

    /// Charges `commission` (≥ 0): the balance goes down by it.
    ///
    /// # Errors
    /// [`AccountError::NegativeAmount`], [`AccountError::Overflow`], [`AccountError::JournalFull`].
    pub fn charge_commission(
        &mut self,
        currency: Currency,
        commission: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        self.debit(CashMoveKind::Commission, currency, commission, at)
    }

    /// Charges credit `interest` (≥ 0): the balance goes down by it.
    ///
    /// # Errors
    /// [`AccountError::NegativeAmount`], [`AccountError::Overflow`], [`AccountError::JournalFull`].
    // backtrader: brokers/bbroker.py BackBroker.next (`self.cash -= credit`)
    pub fn charge_interest(
        &mut self,
        currency: Currency,
        interest: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        self.debit(CashMoveKind::CreditInterest, currency, interest, at)
    }

    /// Books a futures-like mark-to-market variation (signed: gains in, losses out).
    ///
    /// # Errors
    /// [`AccountError::Overflow`], [`AccountError::JournalFull`].
    // backtrader: brokers/bbroker.py BackBroker.next (`self.cash += comminfo.cashadjust(...)`)
    pub fn mark_to_market(
        &mut self,
        currency: Currency,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        self.apply(CashMoveKind::MarkToMarket, currency, amount, at)
    }

    /// Adds `amount` (≥ 0) from outside the account.
    ///
    /// # Errors
    /// [`AccountError::NegativeAmount`], [`AccountError::Overflow`], [`AccountError::JournalFull`].
    pub fn deposit(
        &mut self,
        currency: Currency,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        if amount.is_negative() {
            return Err(AccountError::NegativeAmount { currency, kind: CashMoveKind::Deposit, amount });
        }
        self.apply(CashMoveKind::Deposit, currency, amount, at)
    }

    /// Takes `amount` (≥ 0) out of the account. The balance may go below zero, as with backtrader's
    /// `add_cash` of a negative amount.
    ///
    /// # Errors
    /// [`AccountError::NegativeAmount`], [`AccountError::Overflow`], [`AccountError::JournalFull`].
    pub fn withdraw(
        &mut self,
        currency: Currency,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        self.debit(CashMoveKind::Withdrawal, currency, amount, at)
    }

    /// backtrader's `add_cash`: a deposit when `amount ≥ 0`, else a withdrawal of `−amount`.
    ///
    /// # Errors
    /// As [`Account::deposit`] / [`Account::withdraw`].
    // backtrader: brokers/bbroker.py BackBroker.add_cash and _get_value (`self.cash += c`)
    pub fn add_cash(
        &mut self,
        currency: Currency,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        if amount.is_negative() {
            self.apply(CashMoveKind::Withdrawal, currency, amount, at)
        } else {
            self.apply(CashMoveKind::Deposit, currency, amount, at)
        }
    }

    fn debit(
        &mut self,
        kind: CashMoveKind,
        currency: Currency,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        if amount.is_negative() {
            return Err(AccountError::NegativeAmount { currency, kind, amount });
        }
        self.apply(kind, currency, -amount, at)
    }

    fn find(&self, currency: Currency) -> Option<usize> {
        self.balances.binary_search_by(|(c, _)| c.cmp(&currency)).ok()
    }

    fn apply(
        &mut self,
        kind: CashMoveKind,
        currency: Currency,
        amount: Money,
        at: Timestamp,
    ) -> Result<Money, AccountError> {
        let current = self.balance(currency);
        if amount.is_zero() {
            return Ok(current);
        }
        let balance = current.try_add(amount).map_err(|_: ArithError| AccountError::Overflow {
            currency,
            kind,
            amount,
        })?;
        if self.journal.len() >= self.capacity {
            return Err(AccountError::JournalFull { capacity: self.capacity });
        }
        match self.balances.binary_search_by(|(c, _)| c.cmp(&currency)) {
            Ok(i) => self.balances[i].1 = balance,
            Err(i) => self.balances.insert(i, (currency, balance)),
        }
        self.journal.push(CashMove { kind, currency, amount, at, balance });
        Ok(balance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }
    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn cur(s: &str) -> Currency {
        s.parse().unwrap()
    }

    #[test]
    fn named_operations_move_cash_and_journal_it() {
        let usd = Currency::USD;
        let at = t("2006-01-09");
        let mut acc = Account::new(16);
        assert_eq!(acc.deposit(usd, m("100000"), at).unwrap(), m("100000"));
        assert_eq!(acc.settle_fill(usd, m("-36671"), at).unwrap(), m("63329"));
        assert_eq!(acc.charge_commission(usd, m("36.671"), at).unwrap(), m("63292.329"));
        assert_eq!(acc.charge_interest(usd, m("0.821917808"), at).unwrap(), m("63291.507082192"));
        assert_eq!(acc.mark_to_market(usd, m("-400"), at).unwrap(), m("62891.507082192"));
        assert_eq!(acc.withdraw(usd, m("891.507082192"), at).unwrap(), m("62000"));
        let kinds: Vec<_> = acc.moves().iter().map(|mv| mv.kind).collect();
        assert_eq!(
            kinds,
            [
                CashMoveKind::Deposit,
                CashMoveKind::FillSettlement,
                CashMoveKind::Commission,
                CashMoveKind::CreditInterest,
                CashMoveKind::MarkToMarket,
                CashMoveKind::Withdrawal
            ]
        );
        assert_eq!(acc.moves()[2].amount, m("-36.671"), "moves carry the signed change");
        let sum = acc.moves().iter().try_fold(Money::ZERO, |s, mv| s.try_add(mv.amount)).unwrap();
        assert_eq!(sum, acc.balance(usd));
        assert_eq!(acc.moves().last().unwrap().balance, m("62000"));
    }

    #[test]
    fn add_cash_may_take_the_balance_below_zero() {
        // backtrader's add_cash(negative) has no floor.
        let mut acc = Account::new(4);
        acc.deposit(Currency::USD, m("100"), t("2006-01-02")).unwrap();
        assert_eq!(acc.add_cash(Currency::USD, m("-250"), t("2006-01-03")).unwrap(), m("-150"));
        assert_eq!(acc.moves()[1].kind, CashMoveKind::Withdrawal);
        assert_eq!(acc.add_cash(Currency::USD, m("50"), t("2006-01-04")).unwrap(), m("-100"));
        assert_eq!(acc.moves()[2].kind, CashMoveKind::Deposit);
    }

    #[test]
    fn balances_are_per_currency_and_sorted() {
        let at = t("2024-01-02");
        let mut acc = Account::new(8);
        acc.deposit(cur("USDT"), m("10"), at).unwrap();
        acc.deposit(cur("BTC"), m("0.5"), at).unwrap();
        acc.deposit(cur("EUR"), m("3"), at).unwrap();
        let codes: Vec<_> = acc.balances().map(|(c, _)| c.to_string()).collect();
        assert_eq!(codes, ["BTC", "EUR", "USDT"]);
        assert_eq!(acc.balance(cur("EUR")), m("3"));
        assert_eq!(acc.balance(cur("JPY")), Money::ZERO);
    }

    #[test]
    fn refusals_change_nothing() {
        let at = t("2006-01-02");
        let usd = Currency::USD;
        let mut acc = Account::new(2);
        acc.deposit(usd, Money::MAX, at).unwrap();
        assert!(matches!(acc.deposit(usd, m("1"), at), Err(AccountError::Overflow { .. })));
        assert!(matches!(
            acc.charge_commission(usd, m("-1"), at),
            Err(AccountError::NegativeAmount { kind: CashMoveKind::Commission, .. })
        ));
        assert!(matches!(acc.deposit(usd, m("-1"), at), Err(AccountError::NegativeAmount { .. })));
        assert_eq!(acc.balance(usd), Money::MAX);
        assert_eq!(acc.moves().len(), 1);
    }

    #[test]
    fn a_full_journal_refuses_until_drained() {
        let at = t("2006-01-02");
        let usd = Currency::USD;
        let mut acc = Account::new(2);
        acc.deposit(usd, m("1"), at).unwrap();
        acc.deposit(usd, m("1"), at).unwrap();
        assert_eq!(acc.journal_free(), 0);
        assert_eq!(acc.settle_fill(usd, m("-1"), at), Err(AccountError::JournalFull { capacity: 2 }));
        assert_eq!(acc.balance(usd), m("2"), "refused before the balance moved");
        // A zero move changes nothing and needs no room.
        assert_eq!(acc.charge_commission(usd, Money::ZERO, at).unwrap(), m("2"));
        let drained: Vec<_> = acc.drain_moves().collect();
        assert_eq!(drained.len(), 2);
        assert_eq!(acc.journal_free(), 2);
        assert_eq!(acc.settle_fill(usd, m("-1"), at).unwrap(), m("1"));
    }
}
