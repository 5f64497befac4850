//! Trades: the life of a position in one instrument from flat to flat (backtrader's `Trade`).
//!
//! A trade opens when an execution takes the instrument's position away from zero, grows and
//! shrinks with later executions, and closes when the position is back at zero. The [`TradeBook`]
//! receives each execution already split into its closed and opened parts with their separate
//! commissions (what backtrader's strategy does with `exbit.closed` / `exbit.opened`), applies the
//! closed part to the open trade, then the opened part to the same trade or, after a close, to a new
//! one, and returns the trade events to deliver: one when a trade opens, one when it closes, never
//! on growth or shrinkage. A reversal closes one trade and opens the next in the same call.
//!
//! # Invariants
//! * At most one open trade per instrument; trade ids are dense and follow opening order across
//!   all instruments (the conformance output's `t1`, `t2`, … are numbered by first appearance).
//! * A trade's pnl is realised from its own exact cost basis (not from a rounded average) and kept
//!   at 10^-18; it is rounded to money once, when read.
//! * A call that fails changes nothing.
//!
//! # Limitations
//! backtrader's per-`tradeid` buckets on one feed are not modelled (FORMAT.md §1.4: only tradeid 0).
//! Trade history (`historyon`) is not kept: the events are the history.
//!
//! # Performance
//! [`TradeBook::apply`] returns its events in a fixed two-slot [`TradeEvents`] value, so delivering
//! them allocates nothing; the book's own vectors grow only when a trade or an instrument is new
//! (reserve with [`TradeBook::with_capacity`]).

use kestrel_types::{
    ArithError, Exact, InstrumentId, Money, Notional, Price, Qty, Rounding, Timestamp, TradeId,
};

use crate::position::{Position, PositionUpdate};
use crate::scheme::CommissionScheme;

const MODE: Rounding = Rounding::HalfEven;

/// Whether a trade is still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TradeStatus {
    /// The trade holds a non-zero size.
    Open,
    /// The trade went back to zero; it never reopens (the next execution starts a new trade).
    Closed,
}

/// One trade: size, exact entry cost, commission and realised pnl of a position's life from flat to
/// flat. A `Copy` snapshot of it travels in each [`TradeEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    id: TradeId,
    instrument: InstrumentId,
    status: TradeStatus,
    held: Position,
    price: Price,
    commission: Money,
    pnl: Notional,
    pnl_comm: Money,
    value: Money,
    long: bool,
    just_opened: bool,
    bar_open: u64,
    opened_at: Timestamp,
    bar_close: u64,
    closed_at: Option<Timestamp>,
    bar_len: u64,
}

impl Trade {
    fn new(id: TradeId, instrument: InstrumentId) -> Self {
        Self {
            id,
            instrument,
            status: TradeStatus::Open,
            held: Position::new(),
            price: Price::ZERO,
            commission: Money::ZERO,
            pnl: Notional::ZERO,
            pnl_comm: Money::ZERO,
            value: Money::ZERO,
            long: false,
            just_opened: false,
            bar_open: 0,
            opened_at: Timestamp::EPOCH,
            bar_close: 0,
            closed_at: None,
            bar_len: 0,
        }
    }

    /// The trade's id (dense, in opening order).
    pub const fn id(&self) -> TradeId {
        self.id
    }

    /// The instrument traded.
    pub const fn instrument(&self) -> InstrumentId {
        self.instrument
    }

    /// Open or closed.
    pub const fn status(&self) -> TradeStatus {
        self.status
    }

    /// Current signed size (0 once closed).
    pub const fn size(&self) -> Qty {
        self.held.size()
    }

    /// Average entry price as backtrader reports it: moved by increases, kept by reduces, and kept
    /// after the close (a closed trade still shows the price it was held at).
    pub const fn price(&self) -> Price {
        self.price
    }

    /// The exact entry cost of the size still held (`Σ size·price`, signed).
    pub const fn cost_basis(&self) -> Notional {
        self.held.cost_basis()
    }

    /// All commission charged on the trade so far (including credit interest the broker folds into
    /// the closing commission with `int2pnl`).
    pub const fn commission(&self) -> Money {
        self.commission
    }

    /// Realised gross pnl, rounded once from its exact (10^-18) running sum.
    pub fn pnl(&self) -> Money {
        self.pnl.to_money(MODE)
    }

    /// Realised gross pnl at 10^-18, before the rounding of [`Trade::pnl`].
    pub const fn pnl_exact(&self) -> Notional {
        self.pnl
    }

    /// Realised pnl minus commission, rounded once.
    pub const fn pnl_comm(&self) -> Money {
        self.pnl_comm
    }

    /// Value of the current size at the trade's average, by the scheme's rule (signed `size·price`
    /// stock-like, `|size|·margin` futures-like); 0 once closed.
    pub const fn value(&self) -> Money {
        self.value
    }

    /// Whether the trade was opened by a buy.
    pub const fn is_long(&self) -> bool {
        self.long
    }

    /// Whether the last update opened the trade.
    pub const fn just_opened(&self) -> bool {
        self.just_opened
    }

    /// Whether the trade holds a size.
    pub const fn is_open(&self) -> bool {
        matches!(self.status, TradeStatus::Open)
    }

    /// Whether the last update closed the trade.
    pub const fn is_closed(&self) -> bool {
        matches!(self.status, TradeStatus::Closed)
    }

    /// The instrument's bar count when the trade opened (backtrader's `baropen`).
    pub const fn bar_open(&self) -> u64 {
        self.bar_open
    }

    /// When the trade opened.
    pub const fn opened_at(&self) -> Timestamp {
        self.opened_at
    }

    /// The instrument's bar count when the trade closed; 0 while open (backtrader's `barclose`).
    pub const fn bar_close(&self) -> u64 {
        self.bar_close
    }

    /// When the trade closed; `None` while open.
    pub const fn closed_at(&self) -> Option<Timestamp> {
        self.closed_at
    }

    /// Bars between the opening and the last update (backtrader's `barlen`).
    pub const fn bar_len(&self) -> u64 {
        self.bar_len
    }

    /// Applies one part (closed or opened) of an execution.
    // backtrader: trade.py Trade.update
    fn update(
        &mut self,
        part: Qty,
        price: Price,
        commission: Money,
        bar: u64,
        at: Timestamp,
        scheme: &CommissionScheme,
    ) -> Result<(), ArithError> {
        if part.is_zero() {
            return Ok(());
        }
        self.commission = self.commission.try_add(commission)?;
        let up: PositionUpdate = self.held.update(part, price, at)?;
        self.just_opened = up.size_before.is_zero();
        if self.just_opened {
            self.bar_open = bar;
            self.opened_at = at;
            self.long = up.size.is_positive();
        }
        self.bar_len = bar.saturating_sub(self.bar_open);
        if up.size.is_zero() {
            self.status = TradeStatus::Closed;
            self.bar_close = bar;
            self.closed_at = Some(at);
        } else {
            self.status = TradeStatus::Open;
            self.price = up.price;
        }
        // Zero for an opening part; exact from the trade's own cost basis for a closing one.
        let realised = scheme.closed_pnl_exact(&up, price)?;
        let pnl = Exact::notional(self.pnl).try_add(realised)?;
        self.pnl = pnl.to_notional(MODE)?;
        self.pnl_comm = pnl.try_sub(Exact::money(self.commission))?.to_money(MODE)?;
        self.value = scheme.value_at_cost(up.size, up.cost)?;
        Ok(())
    }
}

/// One execution as the trade book needs it: the closed and opened parts (both with the sign of the
/// execution), their separate commissions, and where it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeExecution {
    /// The part that reduced or closed the position.
    pub closed: Qty,
    /// Commission charged on the closed part (plus any interest the broker books into it).
    pub closed_commission: Money,
    /// The part that opened or increased the position.
    pub opened: Qty,
    /// Commission charged on the opened part.
    pub opened_commission: Money,
    /// Execution price.
    pub price: Price,
    /// The instrument's bar count at the execution (backtrader's `len(data)`).
    pub bar: u64,
    /// Instant of the execution.
    pub at: Timestamp,
}

impl TradeExecution {
    /// The parts of a position update with their commissions, so the trade book sees exactly the
    /// split the position made.
    pub fn from_update(
        update: &PositionUpdate,
        price: Price,
        closed_commission: Money,
        opened_commission: Money,
        bar: u64,
        at: Timestamp,
    ) -> Self {
        Self {
            closed: update.closed,
            closed_commission,
            opened: update.opened,
            opened_commission,
            price,
            bar,
            at,
        }
    }
}

/// What happened to a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TradeEventKind {
    /// The trade opened (backtrader delivers it with `justopened`).
    Opened,
    /// The trade closed (`isclosed`).
    Closed,
}

/// A trade notification: the kind and a snapshot of the trade right after the change (backtrader
/// delivers a copy of the trade, so later updates do not alter what was notified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeEvent {
    /// Opened or closed.
    pub kind: TradeEventKind,
    /// The trade as it was right after the change.
    pub trade: Trade,
}

/// The up to two events of one execution, in delivery order (a close before the open of a
/// reversal), in a fixed-size value so that returning them allocates nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TradeEvents {
    slots: [Option<TradeEvent>; 2],
}

impl TradeEvents {
    fn push(&mut self, ev: TradeEvent) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.is_none()) {
            *slot = Some(ev);
        }
    }

    /// How many events (0, 1 or 2).
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether there is nothing to deliver.
    pub fn is_empty(&self) -> bool {
        self.slots[0].is_none()
    }

    /// The events in delivery order.
    pub fn iter(&self) -> impl Iterator<Item = &TradeEvent> {
        self.slots.iter().flatten()
    }
}

impl IntoIterator for TradeEvents {
    type Item = TradeEvent;
    type IntoIter = core::iter::Flatten<core::array::IntoIter<Option<TradeEvent>, 2>>;

    fn into_iter(self) -> Self::IntoIter {
        self.slots.into_iter().flatten()
    }
}

/// Why an execution could not be applied to the trades; the book is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TradeError {
    /// A closed part arrived while the instrument has no open trade.
    #[error("{instrument}: closed part {closed} but no open trade")]
    NothingToClose {
        /// The instrument.
        instrument: InstrumentId,
        /// The closed part.
        closed: Qty,
    },
    /// A closed part larger than the open trade (a reversal must arrive split).
    #[error("{instrument}: closed part {closed} exceeds {trade} of size {size}")]
    CloseExceedsTrade {
        /// The instrument.
        instrument: InstrumentId,
        /// The open trade.
        trade: TradeId,
        /// Its size.
        size: Qty,
        /// The closed part.
        closed: Qty,
    },
    /// A closed part on the trade's own side, or an opened part against it.
    #[error("{instrument}: part {part} is on the wrong side of {trade} of size {size}")]
    WrongSide {
        /// The instrument.
        instrument: InstrumentId,
        /// The open trade.
        trade: TradeId,
        /// Its size.
        size: Qty,
        /// The offending part.
        part: Qty,
    },
    /// More than `u32::MAX` trades in one book.
    #[error("trade ids exhausted")]
    IdsExhausted,
    /// Money or size arithmetic out of range.
    #[error("trade: {0}")]
    Arith(#[from] ArithError),
}

/// Every trade of a run, in opening order, with the open trade of each instrument.
#[derive(Clone, Debug, Default)]
pub struct TradeBook {
    trades: Vec<Trade>,
    open: Vec<Option<TradeId>>,
}

impl TradeBook {
    /// An empty book.
    pub const fn new() -> Self {
        Self { trades: Vec::new(), open: Vec::new() }
    }

    /// An empty book with room for `instruments` instruments and `trades` trades, so that a run of
    /// known size does not grow it.
    pub fn with_capacity(instruments: usize, trades: usize) -> Self {
        Self { trades: Vec::with_capacity(trades), open: vec![None; instruments] }
    }

    /// All trades, in opening order (the index is the id).
    pub fn trades(&self) -> &[Trade] {
        &self.trades
    }

    /// One trade by id.
    pub fn get(&self, id: TradeId) -> Option<&Trade> {
        self.trades.get(id.index())
    }

    /// The open trade of `instrument`, if any.
    pub fn open_trade(&self, instrument: InstrumentId) -> Option<&Trade> {
        self.open.get(instrument.index()).copied().flatten().and_then(|id| self.get(id))
    }

    /// Applies one execution of `instrument`, closed part first, and returns the events to deliver.
    ///
    /// # Errors
    /// [`TradeError`] when the parts do not fit the open trade (nothing to close, a closed part that
    /// is larger than or on the side of the trade, an opened part against it) or on arithmetic
    /// overflow; the book is then unchanged.
    // backtrader: strategy.py Strategy._addnotification (the exbit loop)
    pub fn apply(
        &mut self,
        instrument: InstrumentId,
        exec: &TradeExecution,
        scheme: &CommissionScheme,
    ) -> Result<TradeEvents, TradeError> {
        let mut events = TradeEvents::default();
        let mut current = self.open_trade(instrument).copied();

        if !exec.closed.is_zero() {
            let Some(trade) = current.as_mut() else {
                return Err(TradeError::NothingToClose { instrument, closed: exec.closed });
            };
            let size = trade.size();
            if exec.closed.signum() == size.signum() {
                return Err(TradeError::WrongSide { instrument, trade: trade.id, size, part: exec.closed });
            }
            if exec.closed.abs() > size.abs() {
                return Err(TradeError::CloseExceedsTrade {
                    instrument,
                    trade: trade.id,
                    size,
                    closed: exec.closed,
                });
            }
            trade.update(exec.closed, exec.price, exec.closed_commission, exec.bar, exec.at, scheme)?;
            if trade.is_closed() {
                events.push(TradeEvent { kind: TradeEventKind::Closed, trade: *trade });
            }
        }

        let mut opened_new = None;
        if !exec.opened.is_zero() {
            let trade = match current.as_mut().filter(|t| t.is_open()) {
                Some(trade) => {
                    if exec.opened.signum() != trade.size().signum() {
                        let size = trade.size();
                        return Err(TradeError::WrongSide {
                            instrument,
                            trade: trade.id,
                            size,
                            part: exec.opened,
                        });
                    }
                    trade
                }
                None => {
                    let id = u32::try_from(self.trades.len()).map_err(|_| TradeError::IdsExhausted)?;
                    opened_new.insert(Trade::new(TradeId(id), instrument))
                }
            };
            trade.update(exec.opened, exec.price, exec.opened_commission, exec.bar, exec.at, scheme)?;
            if trade.just_opened() {
                events.push(TradeEvent { kind: TradeEventKind::Opened, trade: *trade });
            }
        }

        // Everything computed: commit.
        if let Some(trade) = current
            && let Some(slot) = self.trades.get_mut(trade.id.index())
        {
            *slot = trade;
        }
        let slot = instrument.index();
        if self.open.len() <= slot {
            self.open.resize(slot + 1, None);
        }
        if let Some(trade) = opened_new {
            self.open[slot] = Some(trade.id);
            self.trades.push(trade);
        } else if current.is_some_and(|t| t.is_closed()) {
            self.open[slot] = None;
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::CommissionParams;
    use kestrel_types::Ratio;

    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }
    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }
    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }
    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const D0: InstrumentId = InstrumentId(0);
    const D1: InstrumentId = InstrumentId(1);

    fn stock() -> CommissionScheme {
        let mut c = CommissionParams::setcommission();
        c.commission = "0.001".parse().unwrap();
        CommissionScheme::try_new(c).unwrap()
    }

    /// Runs an execution through a position and the book, the way the broker and strategy do.
    fn exec(
        book: &mut TradeBook,
        pos: &mut Position,
        inst: InstrumentId,
        size: &str,
        price: &str,
        bar: u64,
        s: &CommissionScheme,
    ) -> TradeEvents {
        let at = Timestamp::from_nanos(i64::try_from(bar).unwrap() * kestrel_types::NANOS_PER_DAY);
        let up = pos.update(q(size), p(price), at).unwrap();
        let cc = s.commission(up.closed, p(price)).unwrap();
        let oc = s.commission(up.opened, p(price)).unwrap();
        book.apply(inst, &TradeExecution::from_update(&up, p(price), cc, oc, bar, at), s).unwrap()
    }

    #[test]
    fn open_then_close_delivers_two_events_with_exact_pnl() {
        let s = stock();
        let (mut book, mut pos) = (TradeBook::new(), Position::new());
        let ev = exec(&mut book, &mut pos, D0, "10", "3667.1", 6, &s);
        assert_eq!(ev.len(), 1);
        let open = ev.iter().next().unwrap();
        assert_eq!(open.kind, TradeEventKind::Opened);
        assert!(open.trade.just_opened() && open.trade.is_open() && open.trade.is_long());
        assert_eq!(
            (open.trade.size(), open.trade.price(), open.trade.value()),
            (q("10"), p("3667.1"), m("36671"))
        );
        assert_eq!(
            (open.trade.commission(), open.trade.pnl(), open.trade.pnl_comm()),
            (m("36.671"), m("0"), m("-36.671"))
        );
        assert_eq!((open.trade.bar_open(), open.trade.bar_close()), (6, 0));

        let ev = exec(&mut book, &mut pos, D0, "-10", "3684.38", 21, &s);
        let closed = ev.iter().next().unwrap().trade;
        assert_eq!(ev.len(), 1);
        assert_eq!(ev.iter().next().unwrap().kind, TradeEventKind::Closed);
        assert!(closed.is_closed() && !closed.just_opened() && closed.is_long());
        assert_eq!((closed.size(), closed.price(), closed.value()), (Qty::ZERO, p("3667.1"), Money::ZERO));
        assert_eq!(closed.commission(), m("73.5148")); // 36.671 + 36.8438
        assert_eq!(closed.pnl(), m("172.8"));
        assert_eq!(closed.pnl_comm(), m("99.2852"));
        assert_eq!((closed.bar_open(), closed.bar_close(), closed.bar_len()), (6, 21, 15));
        assert_eq!(closed.status(), TradeStatus::Closed);
        assert!(book.open_trade(D0).is_none());
        assert_eq!(book.trades().len(), 1);
    }

    #[test]
    fn growth_and_shrinkage_deliver_nothing() {
        let s = stock();
        let (mut book, mut pos) = (TradeBook::new(), Position::new());
        exec(&mut book, &mut pos, D0, "-10", "50", 1, &s);
        assert!(exec(&mut book, &mut pos, D0, "-5", "56", 2, &s).is_empty(), "add to a short");
        assert!(exec(&mut book, &mut pos, D0, "3", "40", 3, &s).is_empty(), "partial cover");
        let tr = book.open_trade(D0).unwrap();
        assert_eq!(tr.size(), q("-12"));
        assert_eq!(tr.price(), p("52"), "(500 + 280) / 15");
        // Cover 3 of 15 bought back at 40 against an average of 52: +36.
        assert_eq!(tr.pnl(), m("36"));
        assert_eq!(tr.value(), m("-624"), "signed size × average, stock-like");
        assert!(!tr.is_long());
    }

    #[test]
    fn reversal_closes_one_trade_and_opens_the_next() {
        let s = stock();
        let (mut book, mut pos) = (TradeBook::new(), Position::new());
        exec(&mut book, &mut pos, D0, "10", "100", 1, &s);
        let ev = exec(&mut book, &mut pos, D0, "-25", "110", 2, &s);
        let evs: Vec<_> = ev.into_iter().collect();
        assert_eq!(evs.len(), 2);
        assert_eq!((evs[0].kind, evs[0].trade.id()), (TradeEventKind::Closed, TradeId(0)));
        assert_eq!((evs[1].kind, evs[1].trade.id()), (TradeEventKind::Opened, TradeId(1)));
        // Each part carries its own commission: 10 × 110 × 0.001 to the old, 15 × 110 × 0.001 to the new.
        assert_eq!(evs[0].trade.commission(), m("2.1"));
        assert_eq!(evs[0].trade.pnl(), m("100"));
        assert_eq!(evs[1].trade.commission(), m("1.65"));
        assert_eq!((evs[1].trade.size(), evs[1].trade.price()), (q("-15"), p("110")));
        assert!(!evs[1].trade.is_long() && evs[1].trade.just_opened());
        assert_eq!(book.open_trade(D0).unwrap().id(), TradeId(1));
    }

    #[test]
    fn ids_are_dense_in_opening_order_across_instruments() {
        let s = stock();
        let mut book = TradeBook::with_capacity(2, 4);
        let (mut p0, mut p1) = (Position::new(), Position::new());
        exec(&mut book, &mut p1, D1, "1", "10", 1, &s);
        exec(&mut book, &mut p0, D0, "1", "10", 1, &s);
        exec(&mut book, &mut p1, D1, "-1", "11", 2, &s);
        exec(&mut book, &mut p1, D1, "2", "12", 3, &s);
        let ids: Vec<_> = book.trades().iter().map(|t| (t.id().0, t.instrument().0)).collect();
        assert_eq!(ids, [(0, 1), (1, 0), (2, 1)]);
        assert_eq!(book.get(TradeId(2)).unwrap().size(), q("2"));
        assert!(book.get(TradeId(3)).is_none());
    }

    #[test]
    fn inconsistent_parts_are_refused_and_change_nothing() {
        let s = stock();
        let mut book = TradeBook::new();
        let part = |closed: &str, opened: &str| TradeExecution {
            closed: q(closed),
            closed_commission: Money::ZERO,
            opened: q(opened),
            opened_commission: Money::ZERO,
            price: p("10"),
            bar: 1,
            at: t("2006-01-02"),
        };
        assert!(matches!(book.apply(D0, &part("-1", "0"), &s), Err(TradeError::NothingToClose { .. })));
        book.apply(D0, &part("0", "5"), &s).unwrap();
        let before = book.trades().to_vec();
        assert!(matches!(book.apply(D0, &part("1", "0"), &s), Err(TradeError::WrongSide { .. })));
        assert!(matches!(book.apply(D0, &part("-6", "0"), &s), Err(TradeError::CloseExceedsTrade { .. })));
        assert!(matches!(book.apply(D0, &part("-1", "-1"), &s), Err(TradeError::WrongSide { .. })));
        assert_eq!(book.trades(), &before[..]);
        assert!(book.apply(D0, &part("0", "0"), &s).unwrap().is_empty());
    }

    #[test]
    fn futures_trade_value_is_size_times_margin() {
        let mut c = CommissionParams::setcommission();
        c.commission = "2".parse().unwrap();
        c.margin = Some(p("2000"));
        c.mult = Ratio::try_from_units(10).unwrap();
        let s = CommissionScheme::try_new(c).unwrap();
        let (mut book, mut pos) = (TradeBook::new(), Position::new());
        let ev = exec(&mut book, &mut pos, D0, "-2", "3600", 1, &s);
        let tr = ev.iter().next().unwrap().trade;
        assert_eq!((tr.value(), tr.commission()), (m("4000"), m("4")));
        let ev = exec(&mut book, &mut pos, D0, "2", "3590.5", 2, &s);
        let tr = ev.iter().next().unwrap().trade;
        assert_eq!((tr.pnl(), tr.pnl_comm(), tr.value()), (m("190"), m("182"), Money::ZERO));
    }

    #[test]
    fn three_buys_then_one_sell_is_exact() {
        // FORMAT.md §2.2: buy 3000, 4000, 6000 ORCL (opens of 1995-01-04/05/06), sell 13000 at
        // 2.135803. By hand, exactly: cost = 3000·2.123457 + 4000·2.141975 + 6000·2.092592
        //   = 6370.371 + 8567.9 + 12555.552 = 27493.823;
        // proceeds = 13000·2.135803 = 27765.439; pnl = 27765.439 − 27493.823 = 271.616.
        // (The average 2.114909461538… rounded to 2.114909462 and multiplied back gives 271.615994.)
        let s = CommissionScheme::try_new(CommissionParams::setcommission()).unwrap();
        let (mut book, mut pos) = (TradeBook::new(), Position::new());
        let mut cash = m("100000");
        for (size, price, bar) in [("3000", "2.123457", 2), ("4000", "2.141975", 3), ("6000", "2.092592", 4)]
        {
            exec(&mut book, &mut pos, D0, size, price, bar, &s);
            cash = cash.try_sub(s.value_size(q(size), p(price)).unwrap()).unwrap();
        }
        assert_eq!(pos.cost_basis(), "27493.823".parse().unwrap());
        assert_eq!(pos.price(), p("2.114909462"), "reported average, rounded once");
        let up = pos.preview(q("-13000"), p("2.135803")).unwrap();
        assert_eq!(s.closed_pnl(&up, p("2.135803")).unwrap(), m("271.616"));
        // Cash for a closed stock-like long: value at the old average + pnl = proceeds, exactly.
        let closed_value = Exact::qty(-up.closed).try_mul(Exact::notional(up.cost_before)).unwrap();
        let closed_value = closed_value.try_div(Exact::qty(up.size_before)).unwrap();
        let back = closed_value.try_add(s.closed_pnl_exact(&up, p("2.135803")).unwrap()).unwrap();
        cash = cash.try_add(back.to_money(Rounding::HalfEven).unwrap()).unwrap();
        assert_eq!(cash, m("100271.616"));
        let ev = exec(&mut book, &mut pos, D0, "-13000", "2.135803", 5, &s);
        let tr = ev.iter().next().unwrap().trade;
        assert_eq!(tr.pnl(), m("271.616"));
        assert_eq!(tr.pnl_exact(), "271.616".parse().unwrap());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// The book follows the position flat to flat: its open trade has the position's size,
            /// events come only on opening and closing (one `Opened` per trade, one `Closed` per
            /// closed trade), and the trades' realised pnl adds up to the position's, exactly.
            #[test]
            fn trades_follow_the_position(
                execs in prop::collection::vec(((-20i64..=20).prop_filter("non-zero", |u| *u != 0), 1i64..=1_000_000), 1..40)
            ) {
                let s = stock();
                let (mut book, mut pos) = (TradeBook::new(), Position::new());
                let (mut opened, mut closed) = (0usize, 0usize);
                let mut realised = Notional::ZERO;
                for (i, (units, cents)) in execs.iter().enumerate() {
                    let (size, price) = (Qty::try_from_units(*units).unwrap(), Price::from_raw(cents * 10_000_000));
                    let bar = u64::try_from(i).unwrap() + 1;
                    let at = Timestamp::from_nanos(i64::try_from(i).unwrap());
                    let up = pos.update(size, price, at).unwrap();
                    let pnl = s.closed_pnl_exact(&up, price).unwrap();
                    // Accumulated as a trade does: the running sum plus the exact part, rounded once.
                    realised = Exact::notional(realised).try_add(pnl).unwrap().to_notional(Rounding::HalfEven).unwrap();
                    let ev = book
                        .apply(D0, &TradeExecution::from_update(&up, price, Money::ZERO, Money::ZERO, bar, at), &s)
                        .unwrap();
                    let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
                    let flipped = up.size_before.signum() * up.size.signum() < 0;
                    let expect: &[TradeEventKind] = match (up.size_before.is_zero(), up.size.is_zero(), flipped) {
                        (true, _, _) => &[TradeEventKind::Opened],
                        (false, true, _) => &[TradeEventKind::Closed],
                        (false, false, true) => &[TradeEventKind::Closed, TradeEventKind::Opened],
                        (false, false, false) => &[],
                    };
                    prop_assert_eq!(&kinds[..], expect);
                    opened += kinds.iter().filter(|k| **k == TradeEventKind::Opened).count();
                    closed += kinds.iter().filter(|k| **k == TradeEventKind::Closed).count();
                    prop_assert_eq!(book.open_trade(D0).map_or(Qty::ZERO, Trade::size), pos.size());
                }
                prop_assert_eq!(opened, book.trades().len());
                prop_assert_eq!(closed, book.trades().iter().filter(|t| t.is_closed()).count());
                let sum = book.trades().iter().try_fold(Notional::ZERO, |a, t| a.try_add(t.pnl_exact())).unwrap();
                prop_assert_eq!(sum, realised);
            }
        }
    }
}
