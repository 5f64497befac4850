//! The tick strategy API: the callbacks the engine makes, and the [`TickContext`] through which a
//! strategy reads the market and its account and sends orders, cancels and timers.

use kestrel_types::{
    ArithError, Bar, Event, InstrumentId, Money, OrderId, Payload, Price, Qty, Quote, Timestamp, Trade,
};

use super::Core;
use super::ledger::Ledger;
use super::market::{BestQuote, MarketState};
use super::order::{
    AmendError, CancelError, OrderKind, OrderRequest, OrderUpdate, SubmitError, TickFill, TickOrder,
};
use super::timer::{Timer, TimerError};
use crate::order::Side;

/// A strategy driven by events (ticks), called on the engine's thread.
///
/// Callbacks return nothing: they run once per event on a path that must not allocate or branch on
/// errors, and every refusal a strategy can meet comes back as data from the [`TickContext`] call
/// that caused it. Within one event the order is: timers and venue reports that fell due before it
/// ([`TickStrategy::on_timer`], [`TickStrategy::on_order`], [`TickStrategy::on_fill`]), then the
/// event itself ([`TickStrategy::on_event`], which by default calls the typed callback), then
/// [`TickStrategy::on_book`] when the top of the book changed.
pub trait TickStrategy {
    /// Whether the engine calls [`TickStrategy::on_book`]; a strategy that does not use it says
    /// `false`, and the engine skips comparing tops of book (a compile-time constant: the test
    /// folds away).
    const ON_BOOK: bool = true;

    /// Once, before the first event.
    fn on_start(&mut self, _ctx: &mut TickContext<'_>) {}

    /// Every event, after the market state took it. The default calls
    /// [`TickStrategy::on_trade_tick`], [`TickStrategy::on_quote`] or [`TickStrategy::on_bar`].
    #[inline]
    fn on_event(&mut self, ctx: &mut TickContext<'_>, ev: &Event) {
        match ev.payload {
            Payload::Trade(t) => self.on_trade_tick(ctx, ev.instrument, &t),
            Payload::Quote(q) => self.on_quote(ctx, ev.instrument, &q),
            Payload::Bar(b) => self.on_bar(ctx, ev.instrument, &b),
            _ => {}
        }
    }

    /// A trade print.
    fn on_trade_tick(&mut self, _ctx: &mut TickContext<'_>, _instrument: InstrumentId, _trade: &Trade) {}

    /// A best bid and ask.
    fn on_quote(&mut self, _ctx: &mut TickContext<'_>, _instrument: InstrumentId, _quote: &Quote) {}

    /// The top of the book changed (`None`: the book was cleared): from quotes, or from the
    /// instrument's rebuilt book (market-by-price or market-by-order data).
    fn on_book(&mut self, _ctx: &mut TickContext<'_>, _instrument: InstrumentId, _top: Option<&BestQuote>) {}

    /// A bar. In the tick engine bars fill nothing; bar strategies run on the bar broker, which
    /// keeps backtrader's semantics.
    fn on_bar(&mut self, _ctx: &mut TickContext<'_>, _instrument: InstrumentId, _bar: &Bar) {}

    /// A timer set with [`TickContext::set_timer`] fell due.
    fn on_timer(&mut self, _ctx: &mut TickContext<'_>, _timer: &Timer) {}

    /// An order changed state (or a cancel came back too late); fills come first through
    /// [`TickStrategy::on_fill`], then this with the order after the fill.
    fn on_order(&mut self, _ctx: &mut TickContext<'_>, _update: &OrderUpdate) {}

    /// A fill, booked into the account before this call.
    fn on_fill(&mut self, _ctx: &mut TickContext<'_>, _fill: &TickFill) {}

    /// Once, after the last event and after every report in flight was delivered.
    fn on_stop(&mut self, _ctx: &mut TickContext<'_>) {}
}

/// A strategy that does nothing: the engine's own cost, as the replay benchmark measures it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoopStrategy;

impl TickStrategy for NoopStrategy {
    const ON_BOOK: bool = false;

    #[inline]
    fn on_event(&mut self, _ctx: &mut TickContext<'_>, _ev: &Event) {}
}

/// An instrument's price and size grid: orders must be whole ticks and lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Price increment.
    pub tick: Price,
    /// Size increment.
    pub lot: Qty,
}

impl Grid {
    /// Any nano price and size: for instruments without a definition.
    pub const ANY: Self = Self { tick: Price::from_raw(1), lot: Qty::from_raw(1) };

    /// `price` rounded down to the grid (toward zero for positive prices).
    pub fn floor(&self, price: Price) -> Price {
        Price::from_raw(price.raw().div_euclid(self.tick.raw()) * self.tick.raw())
    }

    /// `price` rounded up to the grid.
    pub fn ceil(&self, price: Price) -> Price {
        let t = self.tick.raw();
        Price::from_raw(-((-price.raw()).div_euclid(t) * t))
    }
}

/// What a tick strategy sees and can do. It borrows the engine for one callback; nothing it does
/// allocates.
#[derive(Debug)]
pub struct TickContext<'a> {
    pub(crate) markets: &'a [MarketState],
    pub(crate) core: &'a mut Core,
}

impl TickContext<'_> {
    /// The engine's time: the event's `ts_recv`, or the due time of the timer or report being
    /// delivered (the engine reads no clock).
    pub fn now(&self) -> Timestamp {
        self.core.now
    }

    /// The market state of `instrument`, `None` when it is not in the engine's table.
    pub fn market(&self, instrument: InstrumentId) -> Option<&MarketState> {
        self.markets.get(instrument.index())
    }

    /// Every instrument's market state, indexed by instrument.
    pub fn markets(&self) -> &[MarketState] {
        self.markets
    }

    /// The instrument's price and size grid ([`Grid::ANY`] when unknown).
    pub fn grid(&self, instrument: InstrumentId) -> Grid {
        self.core.grids.get(instrument.index()).copied().unwrap_or(Grid::ANY)
    }

    /// The account as the engine knows it (fills booked when their report arrived).
    pub fn ledger(&self) -> &Ledger {
        &self.core.ledger
    }

    /// The signed position in `instrument`.
    pub fn position(&self, instrument: InstrumentId) -> Qty {
        self.core.ledger.position(instrument).size()
    }

    /// Cash.
    pub fn cash(&self) -> Money {
        self.core.ledger.cash()
    }

    /// Cash plus positions marked at the mid (else the last trade, else the last bar's close).
    ///
    /// # Errors
    /// [`ArithError`] out of range.
    pub fn equity(&self) -> Result<Money, ArithError> {
        self.core.ledger.equity(|ins| self.markets.get(ins.index()).and_then(MarketState::mark))
    }

    /// An open order (or one whose last reports are still in flight), by id.
    pub fn order(&self, id: OrderId) -> Option<&TickOrder> {
        self.core.order(id)
    }

    /// The open orders, in slot order.
    pub fn open_orders(&self) -> impl Iterator<Item = &TickOrder> {
        self.core.open_orders()
    }

    /// Sends an order to the venue; it arrives one entry latency later.
    ///
    /// # Errors
    /// [`SubmitError`] when the request is impossible (unknown instrument, size or price not
    /// positive or off the grid) or a capacity is reached; the engine counts the refusal and runs on.
    pub fn submit(&mut self, request: OrderRequest) -> Result<OrderId, SubmitError> {
        let reference = self.markets.get(request.instrument.index()).and_then(MarketState::mark);
        self.core.submit(request, reference)
    }

    /// Sends an amend of an open order: a new limit (limit and stop-limit orders) and/or a new
    /// size. The order works on unchanged (`replace_pending`) until the venue's answer; a price
    /// change or a size increase loses its queue priority, a size decrease keeps it.
    ///
    /// # Errors
    /// [`AmendError`] when the order is not open, a cancel or amend is on its way, the queue is
    /// full, or the new values are invalid.
    pub fn amend(&mut self, id: OrderId, limit: Option<Price>, size: Option<Qty>) -> Result<(), AmendError> {
        self.core.amend(id, limit, size)
    }

    /// Turns the kill switch on: cancels every open order and refuses every new one (each refusal
    /// a `Rejected` update with [`RiskReason::KillSwitch`]). Returns the cancels sent.
    pub fn kill_switch(&mut self) -> usize {
        self.core.kill()
    }

    /// [`TickContext::submit`] of a buy.
    ///
    /// # Errors
    /// As [`TickContext::submit`].
    pub fn buy(
        &mut self,
        instrument: InstrumentId,
        size: Qty,
        kind: OrderKind,
    ) -> Result<OrderId, SubmitError> {
        self.submit(OrderRequest::new(instrument, Side::Buy, size, kind))
    }

    /// [`TickContext::submit`] of a sell.
    ///
    /// # Errors
    /// As [`TickContext::submit`].
    pub fn sell(
        &mut self,
        instrument: InstrumentId,
        size: Qty,
        kind: OrderKind,
    ) -> Result<OrderId, SubmitError> {
        self.submit(OrderRequest::new(instrument, Side::Sell, size, kind))
    }

    /// Closes the position in `instrument` with an order of `kind` (a market order, say): sells
    /// when long, buys when short; `None` when flat (nothing is sent).
    ///
    /// Orders already working are not counted: a strategy with exits working cancels them first.
    ///
    /// # Errors
    /// As [`TickContext::submit`].
    pub fn close(
        &mut self,
        instrument: InstrumentId,
        kind: OrderKind,
    ) -> Result<Option<OrderId>, SubmitError> {
        self.order_target_size(instrument, Qty::ZERO, kind)
    }

    /// Sends the order that takes the position in `instrument` to `target` (signed): a buy of the
    /// difference below it, a sell above it; `None` when already there.
    ///
    /// # Errors
    /// As [`TickContext::submit`].
    pub fn order_target_size(
        &mut self,
        instrument: InstrumentId,
        target: Qty,
        kind: OrderKind,
    ) -> Result<Option<OrderId>, SubmitError> {
        let position = self.position(instrument);
        // Both within ±Qty::MAX: the difference of a target and a position can overflow only
        // for absurd targets, which the size check refuses.
        let Some(diff) = target.checked_sub(position) else {
            return Err(SubmitError::SizeNotPositive { size: target });
        };
        if diff.is_zero() {
            return Ok(None);
        }
        let side = if diff.is_positive() { Side::Buy } else { Side::Sell };
        self.submit(OrderRequest::new(instrument, side, diff.abs(), kind)).map(Some)
    }

    /// Sends a cancel; the order stays open (with `cancel_pending`) until the venue's answer
    /// arrives, and can still fill in between.
    ///
    /// # Errors
    /// [`CancelError`] when the order is not open, a cancel is already on its way, or the queue
    /// to the venue is full.
    pub fn cancel(&mut self, id: OrderId) -> Result<(), CancelError> {
        self.core.cancel(id)
    }

    /// Calls [`TickStrategy::on_timer`] back with `token` once the engine's time reaches `at`.
    ///
    /// # Errors
    /// [`TimerError::Full`] when the engine's timer capacity is reached.
    pub fn set_timer(&mut self, at: Timestamp, token: u64) -> Result<(), TimerError> {
        self.core.set_timer(at, token)
    }
}
