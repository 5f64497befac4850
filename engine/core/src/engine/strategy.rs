//! The tick strategy API: the trait the engine calls for every event, and the [`TickContext`] through
//! which a strategy reads the market and places or cancels resting limit orders.

use kestrel_types::{Event, InstrumentId, OrderId, Price, Qty, Timestamp};

use super::market::MarketState;
use super::resting::{CancelError, PlaceError, RestingBook, RestingOrder, TickFill};
use crate::order::Side;

/// A strategy driven by events (ticks), called on the engine's thread for every event.
///
/// Unlike the bar [`crate::strategy::Strategy`], callbacks return nothing: they run once per event
/// on a path that must not allocate or branch on errors, and every refusal a strategy can meet
/// (an unknown instrument, a full order slab) comes back as data from the [`TickContext`] call
/// that caused it.
pub trait TickStrategy {
    /// Called once per event, after the engine updated the market state and checked the
    /// instrument's resting orders against it (so [`TickContext::market`] already includes `ev`,
    /// and orders placed here can fill from the next event on, never from this one).
    fn on_event(&mut self, ctx: &mut TickContext<'_>, ev: &Event);

    /// Called for each fill of a resting order, before [`TickStrategy::on_event`] of the event that
    /// caused it (the strategy learns of its fills before it reacts to the event).
    fn on_fill(&mut self, _ctx: &mut TickContext<'_>, _fill: &TickFill) {}
}

/// A strategy that does nothing: the engine's own cost, as the replay benchmark measures it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoopStrategy;

impl TickStrategy for NoopStrategy {
    #[inline]
    fn on_event(&mut self, _ctx: &mut TickContext<'_>, _ev: &Event) {}
}

/// What a tick strategy sees and can do: read the market, place and cancel resting limit orders.
///
/// It borrows the engine's state for the length of one callback; nothing it does allocates.
#[derive(Debug)]
pub struct TickContext<'a> {
    pub(crate) markets: &'a [MarketState],
    pub(crate) resting: &'a mut RestingBook,
    pub(crate) now: Timestamp,
    pub(crate) refused: &'a mut u64,
}

impl TickContext<'_> {
    /// The engine's time: the `ts_recv` of the event being processed (of the last one, between
    /// events), since the engine reads no clock.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The market state of `instrument`, `None` when it is not in the engine's table.
    pub fn market(&self, instrument: InstrumentId) -> Option<&MarketState> {
        self.markets.get(instrument.index())
    }

    /// Every instrument's market state, indexed by instrument.
    pub fn markets(&self) -> &[MarketState] {
        self.markets
    }

    /// The resting orders of `instrument`, in placement order (which is fill priority).
    pub fn resting(&self, instrument: InstrumentId) -> &[RestingOrder] {
        self.resting.lane(instrument.index())
    }

    /// Places a resting limit order; it can fill from the next event on (the L1 model of
    /// [`crate::engine`]'s docs).
    ///
    /// # Errors
    /// [`PlaceError`] when the instrument is unknown, the size not positive, or the instrument's
    /// resting orders are at capacity; the engine counts the refusal and runs on.
    pub fn place_limit(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        size: Qty,
        limit: Price,
    ) -> Result<OrderId, PlaceError> {
        let placed = self.resting.place(instrument, side, size, limit, self.now);
        if placed.is_err() {
            *self.refused += 1;
        }
        placed
    }

    /// Cancels a resting order and returns it as it was.
    ///
    /// The instrument is named because the engine keeps no id → instrument map (one would either
    /// allocate or need a bound of its own); the caller always knows it.
    ///
    /// # Errors
    /// [`CancelError::NotResting`] when the order is not resting on that instrument.
    pub fn cancel(&mut self, instrument: InstrumentId, order: OrderId) -> Result<RestingOrder, CancelError> {
        self.resting.cancel(instrument, order)
    }
}
