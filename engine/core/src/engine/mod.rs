//! The tick-driven engine core: [`Engine::on_event`] is the one entry point, the same for a live
//! runtime draining its rings and for the replayer reading tick files (ARCHITECTURE.md §1, §6, §7).
//!
//! Per event, in this order:
//! 1. **market state**: the instrument's [`MarketState`] (last trade, best bid/ask, last bar,
//!    counters) takes the event;
//! 2. **resting orders**: the instrument's resting limit orders are checked against a quote or a
//!    trade with the L1 fill model below, and each fill goes to [`TickStrategy::on_fill`];
//! 3. **strategy**: [`TickStrategy::on_event`] sees the event, with a [`TickContext`] to read the
//!    market and place or cancel resting orders (which can fill from the next event on).
//!
//! The engine is a plain struct: it spawns no thread, does no I/O, reads no clock (its time is the
//! last event's `ts_recv`) and allocates nothing after [`Engine::try_new`]: market state is a dense
//! `Vec` indexed by instrument, resting orders a slab of fixed capacity per instrument.
//!
//! # The L1 fill model (version 1; issue 13 refines it)
//! Only the top of the book and the trade prints are known, so an order rests outside the book and
//! fills when the market shows it would have traded:
//! - a **buy** limit fills when a quote's ask crosses it (`ask ≤ limit`) or a trade prints strictly
//!   below it (`price < limit`);
//! - a **sell** limit fills when a quote's bid crosses it (`bid ≥ limit`) or a trade prints strictly
//!   above it (`price > limit`);
//! - it fills at its limit price (no price improvement: the conservative choice);
//! - never more than the quote's size on the crossing side, or the trade's size, in total over all
//!   of the instrument's orders that one event fills; orders fill in placement order;
//! - a partial fill leaves the rest resting; a completed order leaves the resting set.
//!
//! A trade *at* the limit does not fill: the queue ahead of the order is unknown, and assuming it
//! was first is the optimistic error. Queue position, latency and price improvement are issue 13's.
//!
//! # Invariants
//! Resting orders never exceed their instrument's capacity; an order's `filled` stays below its
//! size while it rests; every event is counted once in [`EngineCounters::events`].
//!
//! # Limitations
//! Market-by-price levels and market-by-order events are counted, not yet applied to a book; bars
//! update the market state but fill nothing. Orders are limit orders only, with no venue, latency
//! or account behind them: the SimBroker path of ARCHITECTURE.md §7 comes later.
//!
//! # Performance
//! An instrument without resting orders skips the fill check with one load and compare; the
//! strategy call is static dispatch (`Engine<S>` is generic), so a [`NoopStrategy`] costs nothing.

mod market;
mod resting;
mod strategy;
#[cfg(test)]
mod tests;

pub use market::{BestQuote, LastTrade, MarketCounters, MarketState};
pub use resting::{CancelError, PlaceError, RestingOrder, TickFill};
pub use strategy::{NoopStrategy, TickContext, TickStrategy};

use kestrel_types::{Event, InstrumentId, Payload, Timestamp};

use resting::{RestingBook, Trigger};

/// How big the engine is: fixed at construction, since it never grows afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Instruments in the run's table (a tick file's instrument count): instrument ids
    /// `0..instruments` are known, any other is counted in
    /// [`EngineCounters::unknown_instrument`] and skipped.
    pub instruments: usize,
    /// Room for resting orders per instrument; a place beyond it is refused.
    pub resting_per_instrument: usize,
}

impl EngineConfig {
    /// The most instruments an [`InstrumentId`] (`u16`) can name.
    pub const MAX_INSTRUMENTS: usize = 1 << 16;
    /// The most resting orders per instrument: the fill check scans them, so they must stay few.
    pub const MAX_RESTING_PER_INSTRUMENT: usize = 1024;

    /// `instruments` instruments with room for 16 resting orders each: enough for quoting
    /// strategies, small enough that a scan stays within a few cache lines.
    pub const fn new(instruments: usize) -> Self {
        Self { instruments, resting_per_instrument: 16 }
    }
}

/// Why an engine could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// More instruments than an [`InstrumentId`] can name.
    #[error("{instruments} instruments: at most {max} can be named by an instrument id")]
    TooManyInstruments {
        /// Asked for.
        instruments: usize,
        /// The limit.
        max: usize,
    },
    /// More resting orders per instrument than the fill check is meant to scan.
    #[error("{resting} resting orders per instrument: at most {max}")]
    TooManyResting {
        /// Asked for.
        resting: usize,
        /// The limit.
        max: usize,
    },
}

/// What the engine counted over its life: the run's evidence that nothing was silently dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// Events received, known instrument or not.
    pub events: u64,
    /// Events for an instrument outside the table: counted as errors and skipped.
    pub unknown_instrument: u64,
    /// Fills of resting orders.
    pub fills: u64,
    /// Places refused (unknown instrument, size, capacity).
    pub refused: u64,
}

/// The tick-driven engine core hosting one strategy (see the [module docs](self)).
#[derive(Debug)]
pub struct Engine<S: TickStrategy> {
    strategy: S,
    markets: Vec<MarketState>,
    resting: RestingBook,
    /// The fills of the event being processed, delivered after the check; room for a whole lane.
    fills: Vec<TickFill>,
    counters: EngineCounters,
    now: Timestamp,
}

impl<S: TickStrategy> Engine<S> {
    /// An engine for `config`'s instruments hosting `strategy`; everything it will ever need is
    /// allocated here.
    ///
    /// # Errors
    /// [`ConfigError`] when the configuration exceeds the engine's limits.
    pub fn try_new(config: EngineConfig, strategy: S) -> Result<Self, ConfigError> {
        if config.instruments > EngineConfig::MAX_INSTRUMENTS {
            return Err(ConfigError::TooManyInstruments {
                instruments: config.instruments,
                max: EngineConfig::MAX_INSTRUMENTS,
            });
        }
        if config.resting_per_instrument > EngineConfig::MAX_RESTING_PER_INSTRUMENT {
            return Err(ConfigError::TooManyResting {
                resting: config.resting_per_instrument,
                max: EngineConfig::MAX_RESTING_PER_INSTRUMENT,
            });
        }
        Ok(Self {
            strategy,
            markets: vec![MarketState::default(); config.instruments],
            resting: RestingBook::new(config.instruments, config.resting_per_instrument),
            fills: Vec::with_capacity(config.resting_per_instrument),
            counters: EngineCounters::default(),
            now: Timestamp::EPOCH,
        })
    }

    /// Processes one event: market state, resting-order check, strategy (see the
    /// [module docs](self)). An event for an unknown instrument is counted and skipped.
    ///
    /// Always inlined: a driver that builds the event from a record (the replayer) then hands its
    /// fields over in registers, and the `match` on a payload whose kind the driver knows folds
    /// away; the body is small because the resting-order check is out of line.
    #[inline(always)]
    pub fn on_event(&mut self, ev: &Event) {
        self.counters.events += 1;
        let i = ev.instrument.index();
        let Some(market) = self.markets.get_mut(i) else {
            self.counters.unknown_instrument += 1;
            return;
        };
        market.apply(ev);
        self.now = ev.ts_recv;
        if self.resting.len(i) != 0 {
            self.check_resting(i, ev);
        }
        let mut ctx = TickContext {
            markets: &self.markets,
            resting: &mut self.resting,
            now: self.now,
            refused: &mut self.counters.refused,
        };
        self.strategy.on_event(&mut ctx, ev);
    }

    /// The slow path: the instrument has resting orders.
    #[inline(never)]
    fn check_resting(&mut self, i: usize, ev: &Event) {
        let trigger = match ev.payload {
            Payload::Quote(q) => {
                Trigger::Quote { bid: q.bid, bid_size: q.bid_size, ask: q.ask, ask_size: q.ask_size }
            }
            Payload::Trade(t) => Trigger::Trade { price: t.price, size: t.size },
            _ => return,
        };
        self.fills.clear();
        self.resting.check(i, trigger, self.now, &mut self.fills);
        self.counters.fills += self.fills.len() as u64;
        for k in 0..self.fills.len() {
            let fill = self.fills[k];
            let mut ctx = TickContext {
                markets: &self.markets,
                resting: &mut self.resting,
                now: self.now,
                refused: &mut self.counters.refused,
            };
            self.strategy.on_fill(&mut ctx, &fill);
        }
    }

    /// A context between events, for a driver that places or cancels on the strategy's behalf
    /// (a runtime's command path, a test); its time is the last event's `ts_recv`.
    pub fn context(&mut self) -> TickContext<'_> {
        TickContext {
            markets: &self.markets,
            resting: &mut self.resting,
            now: self.now,
            refused: &mut self.counters.refused,
        }
    }

    /// The market state of `instrument`, `None` when it is not in the table.
    pub fn market(&self, instrument: InstrumentId) -> Option<&MarketState> {
        self.markets.get(instrument.index())
    }

    /// Every instrument's market state, indexed by instrument.
    pub fn markets(&self) -> &[MarketState] {
        &self.markets
    }

    /// The resting orders of `instrument`, in placement order.
    pub fn resting(&self, instrument: InstrumentId) -> &[RestingOrder] {
        self.resting.lane(instrument.index())
    }

    /// Room for resting orders per instrument.
    pub fn resting_capacity(&self) -> usize {
        self.resting.capacity()
    }

    /// What the engine counted so far.
    pub fn counters(&self) -> EngineCounters {
        self.counters
    }

    /// The engine's time: the last processed event's `ts_recv` (the epoch before the first).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The hosted strategy.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// The hosted strategy, mutably (to configure it between runs).
    pub fn strategy_mut(&mut self) -> &mut S {
        &mut self.strategy
    }

    /// The strategy back, when the run is over (to read what it recorded).
    pub fn into_strategy(self) -> S {
        self.strategy
    }
}
