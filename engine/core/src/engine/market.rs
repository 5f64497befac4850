//! Per-instrument market state: what the engine knows of one instrument after each event.

use kestrel_types::{Bar, Event, Payload, Price, Qty, Quote, Timestamp};

/// The last trade print of an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastTrade {
    /// Its price.
    pub price: Price,
    /// Its size.
    pub size: Qty,
    /// When the venue says it happened (the event's `ts_event`): the market's time, not ours.
    pub ts: Timestamp,
}

/// The best bid and ask of an instrument, from its last quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BestQuote {
    /// Best bid, size at the best bid, best ask, size at the best ask, as the venue quoted them
    /// (a side with size 0 is a side the venue reported empty).
    pub quote: Quote,
    /// When the venue says it quoted (the event's `ts_event`).
    pub ts: Timestamp,
}

/// How many events of each kind an instrument received: the run's evidence of what it saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketCounters {
    /// Trade prints.
    pub trades: u64,
    /// Quotes.
    pub quotes: u64,
    /// Book clears.
    pub clears: u64,
    /// Bars.
    pub bars: u64,
    /// Market-by-price level changes (the engine's L2 book takes them).
    pub levels: u64,
    /// Market-by-order events (the engine's L3 book takes them).
    pub book_orders: u64,
    /// Snapshot begin and end markers.
    pub snapshots: u64,
    /// Journal records (executions, commands, timers): not market data, counted so none is lost.
    pub journal: u64,
    /// Changes of the top of the market-by-price book the engine rebuilds.
    pub book_tops: u64,
}

/// What the engine knows of one instrument: last trade, best bid and ask, last bar, counters.
///
/// Plain `Copy` data kept in a dense `Vec` indexed by [`kestrel_types::InstrumentId`], so updating it
/// is a store into memory sized at start-up: nothing to look up, nothing to allocate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketState {
    /// The last trade, if any traded yet.
    pub last_trade: Option<LastTrade>,
    /// The best bid and ask, if quoted since the start or the last book clear.
    pub best: Option<BestQuote>,
    /// The last bar, if any.
    pub last_bar: Option<Bar>,
    /// Events per kind.
    pub counters: MarketCounters,
}

impl MarketState {
    /// The best quote, or an empty one (zero prices and sizes) before the first: what a book's
    /// new top is written over, side by side.
    #[inline]
    pub fn top_quote(&self) -> kestrel_types::Quote {
        self.best.map_or(
            kestrel_types::Quote {
                bid: Price::ZERO,
                bid_size: Qty::ZERO,
                ask: Price::ZERO,
                ask_size: Qty::ZERO,
            },
            |b| b.quote,
        )
    }

    /// Applies one event of this instrument: the market-state step of [`super::Engine::on_event`].
    /// Returns whether the top of the book changed.
    #[inline(always)]
    pub(crate) fn apply(&mut self, ev: &Event) -> bool {
        let c = &mut self.counters;
        let mut top_changed = false;
        match ev.payload {
            Payload::Trade(t) => {
                self.last_trade = Some(LastTrade { price: t.price, size: t.size, ts: ev.ts_event });
                c.trades += 1;
            }
            Payload::Quote(quote) => {
                top_changed = self.best.is_none_or(|b| b.quote != quote);
                self.best = Some(BestQuote { quote, ts: ev.ts_event });
                c.quotes += 1;
            }
            Payload::BookClear => {
                top_changed = self.best.is_some();
                self.best = None;
                c.clears += 1;
            }
            Payload::Bar(bar) => {
                self.last_bar = Some(bar);
                c.bars += 1;
            }
            Payload::Level(_) => c.levels += 1,
            Payload::Order(_) => c.book_orders += 1,
            Payload::SnapshotBegin | Payload::SnapshotEnd => c.snapshots += 1,
            Payload::Exec(_) | Payload::Command(_) | Payload::Timer { .. } => c.journal += 1,
        }
        top_changed
    }

    /// Whether quotes (or a rebuilt book's top) ever came: then they drive market orders (the L1
    /// fill rules).
    #[inline]
    pub fn is_quoted(&self) -> bool {
        self.counters.quotes != 0 || self.counters.book_tops != 0
    }

    /// The top of the rebuilt book becomes the best bid and ask (a side with size 0 is empty).
    pub(crate) fn set_book_top(&mut self, quote: Quote, ts: Timestamp) {
        self.best = Some(BestQuote { quote, ts });
        self.counters.book_tops += 1;
    }

    /// The price positions are valued at: the mid when both sides are quoted, else the last
    /// trade, else the last bar's close. The mid of two prices on a grid may be half a tick.
    pub fn mark(&self) -> Option<Price> {
        if let (Some((bid, _)), Some((ask, _))) = (self.best_bid(), self.best_ask()) {
            // Half the sum, in i128 so the sum cannot overflow; the result lies between the two.
            let mid = (i128::from(bid.raw()) + i128::from(ask.raw())).div_euclid(2);
            return i64::try_from(mid).ok().map(Price::from_raw);
        }
        self.last_trade.map(|t| t.price).or(self.last_bar.map(|b| b.close))
    }

    /// The best bid and its size, when the last quote had a bid with a positive size.
    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.best.map(|b| (b.quote.bid, b.quote.bid_size)).filter(|(_, s)| s.is_positive())
    }

    /// The best ask and its size, when the last quote had an ask with a positive size.
    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.best.map(|b| (b.quote.ask, b.quote.ask_size)).filter(|(_, s)| s.is_positive())
    }
}
