//! A quoting (market-making) strategy on quotes: the tick engine's example strategy.
//!
//! On every quote it wants one bid and one ask around the mid: `half_spread` ticks away from it,
//! rounded outward to the tick grid, both shifted against the inventory by `skew` ticks per order
//! size held (a long position lowers both prices, so the ask is likelier to fill than the bid),
//! and never at or through the opposite touch (it only posts: a skewed ask below the bid would
//! cross the spread and pay it).
//! Exposure is capped: no bid while a full fill of it would take the position above
//! `max_position`, no ask while one would take it below `-max_position` (with one order a side at
//! most, that bounds the position whatever fills).
//!
//! Cancel and replace: each side has at most one order. When the wanted price moves, or the side
//! must stop quoting, the order is canceled, and a new one is sent only once the cancel's answer
//! arrived (the venue may fill the old order meanwhile: replacing first would double the exposure
//! for the length of a round trip).

use kestrel_types::{InstrumentId, OrderId, Price, Qty, Quote};

use crate::engine::{BestQuote, OrderKind, OrderUpdate, TickContext, TickStrategy};
use crate::order::Side;

/// The quoter's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuoterParams {
    /// The instrument quoted.
    pub instrument: InstrumentId,
    /// Size of each order (on the lot grid).
    pub size: Qty,
    /// Distance of each side from the mid, in ticks (at least 1).
    pub half_spread: i64,
    /// Price shift per order size of inventory, in ticks (0: no skew).
    pub skew: i64,
    /// The largest position, long or short, working orders included.
    pub max_position: Qty,
}

impl Default for QuoterParams {
    /// Instrument 0, one unit a side, one tick from the mid, no skew, at most ten units long or
    /// short.
    fn default() -> Self {
        Self {
            instrument: InstrumentId(0),
            size: Qty::ONE,
            half_spread: 1,
            skew: 0,
            max_position: Qty::from_raw(10 * Qty::ONE.raw()),
        }
    }
}

/// One side's order and whether its cancel is on the way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SideState {
    order: Option<OrderId>,
    price: Option<Price>,
    canceling: bool,
}

/// What the quoter did: the run's evidence that it quoted, replaced and respected its limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuoterStats {
    /// Orders sent.
    pub placed: u64,
    /// Cancels sent.
    pub canceled: u64,
    /// Submissions or cancels the engine refused.
    pub refused: u64,
    /// The largest absolute position seen.
    pub max_abs_position: Qty,
}

/// The quoting strategy (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct Quoter {
    params: QuoterParams,
    bid: SideState,
    ask: SideState,
    stats: QuoterStats,
}

impl Quoter {
    /// A quoter with `params`; a half spread below one tick is taken as one.
    pub fn new(params: QuoterParams) -> Self {
        let params = QuoterParams { half_spread: params.half_spread.max(1), ..params };
        Self { params, bid: SideState::default(), ask: SideState::default(), stats: QuoterStats::default() }
    }

    /// Its parameters.
    pub fn params(&self) -> &QuoterParams {
        &self.params
    }

    /// What it did so far.
    pub fn stats(&self) -> QuoterStats {
        self.stats
    }

    /// The (bid, ask) it wants for `quote` given `position`; `None` for a side it must not quote.
    fn wanted(&self, ctx: &TickContext<'_>, quote: &Quote, position: Qty) -> (Option<Price>, Option<Price>) {
        if !quote.bid_size.is_positive() || !quote.ask_size.is_positive() || quote.ask < quote.bid {
            return (None, None);
        }
        let grid = ctx.grid(self.params.instrument);
        let tick = grid.tick.raw();
        let size = self.params.size.raw().max(1);
        // Inventory in order sizes, rounded toward zero; the skew in ticks, bounded so the i64
        // arithmetic below stays far from overflow whatever the parameters.
        let held = position.raw() / size;
        let shift = held.saturating_mul(self.params.skew).clamp(-1_000_000, 1_000_000).saturating_mul(tick);
        let mid2 = i128::from(quote.bid.raw()) + i128::from(quote.ask.raw());
        let offset = i128::from(self.params.half_spread.saturating_mul(tick));
        let raw = |v: i128| i64::try_from(v).ok().map(Price::from_raw);
        // Passive always: never at or through the other side's touch, whatever the skew.
        let bid = raw((mid2 - 2 * offset).div_euclid(2) - i128::from(shift))
            .map(|p| grid.floor(p).min(Price::from_raw(quote.ask.raw().saturating_sub(tick))));
        let ask = raw((mid2 + 2 * offset + 1).div_euclid(2) - i128::from(shift))
            .map(|p| grid.ceil(p).max(Price::from_raw(quote.bid.raw().saturating_add(tick))));
        let max = self.params.max_position;
        let bid_room = position.checked_add(self.params.size).is_some_and(|after| after <= max);
        let ask_room = position.checked_sub(self.params.size).is_some_and(|after| -after <= max);
        (bid.filter(|p| bid_room && p.is_positive()), ask.filter(|p| ask_room && p.is_positive()))
    }

    fn side_mut(&mut self, side: Side) -> &mut SideState {
        match side {
            Side::Buy => &mut self.bid,
            Side::Sell => &mut self.ask,
        }
    }

    /// Brings one side to `want`: cancel what is wrong, send what is missing.
    fn steer(&mut self, ctx: &mut TickContext<'_>, side: Side, want: Option<Price>) {
        let ins = self.params.instrument;
        let size = self.params.size;
        let state = *self.side_mut(side);
        match (state.order, want) {
            (Some(id), _) if state.price != want && !state.canceling => {
                let ok = ctx.cancel(id).is_ok();
                let s = self.side_mut(side);
                s.canceling = ok;
                if ok {
                    self.stats.canceled += 1;
                } else {
                    self.stats.refused += 1;
                }
            }
            (None, Some(price)) => {
                let kind = OrderKind::Limit { limit: price };
                let sent = match side {
                    Side::Buy => ctx.buy(ins, size, kind),
                    Side::Sell => ctx.sell(ins, size, kind),
                };
                match sent {
                    Ok(id) => {
                        *self.side_mut(side) =
                            SideState { order: Some(id), price: Some(price), canceling: false };
                        self.stats.placed += 1;
                    }
                    Err(_) => self.stats.refused += 1,
                }
            }
            _ => {}
        }
    }
}

impl TickStrategy for Quoter {
    fn on_quote(&mut self, ctx: &mut TickContext<'_>, instrument: InstrumentId, quote: &Quote) {
        if instrument != self.params.instrument {
            return;
        }
        let position = ctx.position(instrument);
        self.stats.max_abs_position = self.stats.max_abs_position.max(position.abs());
        // One order a side at most, so a side is allowed when its full fill stays within the cap.
        let (bid, ask) = self.wanted(ctx, quote, position);
        self.steer(ctx, Side::Buy, bid);
        self.steer(ctx, Side::Sell, ask);
    }

    /// Books (market-by-price or market-by-order data) quote through their top; data with quotes
    /// quotes through [`TickStrategy::on_quote`] alone, so a quote is acted on once.
    fn on_book(&mut self, ctx: &mut TickContext<'_>, instrument: InstrumentId, top: Option<&BestQuote>) {
        let booked = ctx.market(instrument).is_some_and(|m| {
            m.counters.quotes == 0 && (m.counters.levels != 0 || m.counters.book_orders != 0)
        });
        if let Some(top) = top.filter(|_| booked) {
            self.on_quote(ctx, instrument, &top.quote);
        }
    }

    fn on_order(&mut self, _ctx: &mut TickContext<'_>, update: &OrderUpdate) {
        let o = &update.order;
        if !o.status.is_final() {
            return;
        }
        let s = self.side_mut(o.request.side);
        if s.order == Some(o.id) {
            *s = SideState::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use kestrel_types::{Aggressor, Event, Money, Payload, Timestamp, Trade};

    use super::*;
    use crate::engine::{Engine, EngineConfig};

    fn p(cents: i64) -> Price {
        Price::from_raw(cents * Price::SCALE / 100)
    }

    fn q(units: i64) -> Qty {
        Qty::from_raw(units * Qty::SCALE)
    }

    fn quote(ts: i64, bid: i64, ask: i64) -> Event {
        Event {
            ts_event: Timestamp::from_nanos(ts),
            ts_recv: Timestamp::from_nanos(ts),
            instrument: InstrumentId(0),
            payload: Payload::Quote(Quote { bid: p(bid), bid_size: q(5), ask: p(ask), ask_size: q(5) }),
        }
    }

    fn trade(ts: i64, price: i64) -> Event {
        Event {
            payload: Payload::Trade(Trade {
                price: p(price),
                size: q(100),
                aggressor: Aggressor::Unknown,
                trade_id: 0,
            }),
            ..quote(ts, 0, 0)
        }
    }

    fn engine(params: QuoterParams) -> Engine<Quoter> {
        let config = EngineConfig { cash: Money::try_from_units(1_000_000).unwrap(), ..EngineConfig::new(1) };
        let mut e = Engine::try_new(config, Quoter::new(params)).unwrap();
        let ins = kestrel_types::Instrument::try_new(
            InstrumentId(0),
            kestrel_types::InstrumentSpec {
                symbol: "X".into(),
                venue: kestrel_types::VenueId(0),
                tick_size: p(1),
                lot_size: q(1),
                display_decimals: 2,
                multiplier: kestrel_types::Ratio::ONE,
                quote_currency: "USD".parse().unwrap(),
                settlement_currency: "USD".parse().unwrap(),
            },
        )
        .unwrap();
        e.set_instruments(&[ins]);
        e
    }

    /// (side, limit) of the open orders, bids first.
    fn book(e: &Engine<Quoter>) -> Vec<(Side, Price, bool)> {
        let mut v: Vec<_> = e
            .open_orders()
            .map(|o| (o.request.side, o.request.kind.price().unwrap(), o.cancel_pending))
            .collect();
        v.sort_by_key(|(s, p, _)| (*s != Side::Buy, *p));
        v
    }

    #[test]
    fn it_quotes_around_the_mid_and_replaces_only_after_the_cancel_is_answered() {
        let mut e = engine(QuoterParams { half_spread: 2, skew: 1, ..QuoterParams::default() });
        e.on_event(&quote(1, 10_000, 10_003)); // mid 100.015: bid 99.99 (floor), ask 100.04 (ceil)
        assert_eq!(book(&e), vec![(Side::Buy, p(9_999), false), (Side::Sell, p(10_004), false)]);
        e.on_event(&quote(2, 10_002, 10_005)); // mid 100.035: both sides canceled first
        assert_eq!(book(&e), vec![(Side::Buy, p(9_999), true), (Side::Sell, p(10_004), true)]);
        e.on_event(&quote(3, 10_002, 10_005)); // cancels answered, then replaced at the new prices
        assert_eq!(book(&e), vec![(Side::Buy, p(10_001), false), (Side::Sell, p(10_006), false)]);
        assert_eq!(e.strategy().stats().placed, 4);
        assert_eq!(e.strategy().stats().canceled, 2);
    }

    #[test]
    fn inventory_skews_prices_and_the_cap_stops_the_side_that_would_pass_it() {
        let params = QuoterParams { max_position: q(2), skew: 3, ..QuoterParams::default() };
        let mut e = engine(params);
        e.on_event(&quote(1, 10_000, 10_002)); // mid 100.01: bid 100.00, ask 100.02
        assert_eq!(book(&e), vec![(Side::Buy, p(10_000), false), (Side::Sell, p(10_002), false)]);
        // Prints through the bid fill it twice over two rounds: long 2, at the cap.
        for k in 0..6 {
            e.on_event(&trade(10 + 2 * k, 9_950));
            e.on_event(&quote(11 + 2 * k, 10_000, 10_002));
        }
        assert_eq!(e.ledger().position(InstrumentId(0)).size(), q(2));
        // Long 2 units: the ask wants 6 ticks lower (99.96) but stays a tick above the bid; no bid
        // at the cap.
        let b = book(&e);
        assert_eq!(b, vec![(Side::Sell, p(10_001), false)]);
        assert_eq!(e.strategy().stats().max_abs_position, q(2));
    }
}
