//! What a backtest records for its report: order state changes, fills, round-trip trades and the
//! equity curve, taken from the engine's callbacks by a wrapper around the strategy.
//!
//! The wrapper runs on the engine's thread and pushes rows into `Vec`s: recording allocates (it is
//! the report's price), the engine itself does not.

use kestrel_engine::engine::{OrderUpdate, TickContext, TickFill, TickStrategy, Timer};
use kestrel_engine::order::{Side, Status};
use kestrel_types::{
    Bar, Event, InstrumentId, Money, Notional, Price, Qty, Quote, Rounding, TimeSpan, Timestamp, Trade,
};

use kestrel_cli::report::{EquityPoint, FillRow, OrderRow, TradeRow};

/// backtrader-style status names in lower case, as the report's CSV files spell them.
pub(crate) fn status_name(s: Status) -> &'static str {
    match s {
        Status::Created => "created",
        Status::Submitted => "submitted",
        Status::Accepted => "accepted",
        Status::Partial => "partial",
        Status::Completed => "completed",
        Status::Canceled => "canceled",
        Status::Expired => "expired",
        Status::Margin => "margin",
        Status::Rejected => "rejected",
    }
}

/// One instrument's open round trip, from flat to flat.
#[derive(Clone, Copy, Debug)]
struct OpenTrade {
    id: u64,
    long: bool,
    opened: Timestamp,
    max_size: Qty,
    /// `Σ qty × price` of the fills that opened or added, and their quantity.
    entry_cost: Notional,
    entry_qty: Qty,
    exit_cost: Notional,
    exit_qty: Qty,
    pnl: Money,
    commission: Money,
}

/// Round trips built from fills: a trade opens when a position leaves zero and closes when it
/// returns there; a fill that reverses the position closes one trade and opens the next with the
/// rest (its commission is split by quantity, rounded half-even, the closing part first).
#[derive(Debug, Default)]
pub(crate) struct TradeTracker {
    open: Vec<Option<OpenTrade>>,
    next_id: u64,
    pub(crate) rows: Vec<TradeRow>,
}

impl TradeTracker {
    pub(crate) fn new(instruments: usize) -> Self {
        Self { open: vec![None; instruments], next_id: 1, rows: Vec::new() }
    }

    /// Applies one fill: `position` is the signed size after it, `realized` its realised pnl.
    #[expect(clippy::too_many_arguments, reason = "the fields of one fill, named at the call")]
    pub(crate) fn fill(
        &mut self,
        symbol: &str,
        instrument: InstrumentId,
        side: Side,
        qty: Qty,
        price: Price,
        commission: Money,
        realized: Money,
        position: Qty,
        at: Timestamp,
    ) {
        let Some(slot) = self.open.get_mut(instrument.index()) else { return };
        let signed = if side == Side::Buy { qty } else { -qty };
        let before = position.checked_sub(signed).unwrap_or(Qty::ZERO);
        // The part that reduced the open trade, and the part that opened or added.
        let closing = if before.is_zero() || before.signum() == signed.signum() {
            Qty::ZERO
        } else {
            qty.min(before.abs())
        };
        let opening = qty.checked_sub(closing).unwrap_or(Qty::ZERO);
        let close_comm = if opening.is_zero() {
            commission
        } else {
            commission
                .to_notional()
                .and_then(|c| c.scale_by_qty(closing, qty, Rounding::HalfEven))
                .map_or(Money::ZERO, |c| c.to_money(Rounding::HalfEven))
        };
        let open_comm = commission.checked_sub(close_comm).unwrap_or(Money::ZERO);
        if closing.is_positive()
            && let Some(t) = slot.as_mut()
        {
            t.exit_cost = t.exit_cost.checked_add(closing.notional(price)).unwrap_or(t.exit_cost);
            t.exit_qty = t.exit_qty.checked_add(closing).unwrap_or(t.exit_qty);
            t.pnl = t.pnl.checked_add(realized).unwrap_or(t.pnl);
            t.commission = t.commission.checked_add(close_comm).unwrap_or(t.commission);
            if before.abs() == closing {
                let t = *t;
                *slot = None;
                self.rows.push(row(symbol, &t, Some(at)));
            }
        }
        if opening.is_positive() {
            let t = slot.get_or_insert_with(|| {
                let id = self.next_id;
                self.next_id += 1;
                OpenTrade {
                    id,
                    long: side == Side::Buy,
                    opened: at,
                    max_size: Qty::ZERO,
                    entry_cost: Notional::ZERO,
                    entry_qty: Qty::ZERO,
                    exit_cost: Notional::ZERO,
                    exit_qty: Qty::ZERO,
                    pnl: Money::ZERO,
                    commission: Money::ZERO,
                }
            });
            t.entry_cost = t.entry_cost.checked_add(opening.notional(price)).unwrap_or(t.entry_cost);
            t.entry_qty = t.entry_qty.checked_add(opening).unwrap_or(t.entry_qty);
            t.commission = t.commission.checked_add(open_comm).unwrap_or(t.commission);
        }
        if let Some(t) = slot.as_mut() {
            t.max_size = t.max_size.max(position.abs());
        }
    }

    /// Closes the books: trades still open are reported with no close.
    pub(crate) fn finish(&mut self, symbols: &[String]) {
        for (i, slot) in self.open.iter_mut().enumerate() {
            if let Some(t) = slot.take() {
                let symbol = symbols.get(i).map_or("", String::as_str);
                self.rows.push(row(symbol, &t, None));
            }
        }
        self.rows.sort_by_key(|r| r.id);
    }
}

fn avg(cost: Notional, qty: Qty) -> Option<Price> {
    if qty.is_zero() { None } else { cost.average_price(qty, Rounding::HalfEven).ok() }
}

fn row(symbol: &str, t: &OpenTrade, closed: Option<Timestamp>) -> TradeRow {
    TradeRow {
        id: t.id,
        instrument: symbol.to_owned(),
        direction: if t.long { "long" } else { "short" },
        opened: t.opened,
        closed,
        size: t.max_size,
        entry_price: avg(t.entry_cost, t.entry_qty).unwrap_or(Price::ZERO),
        exit_price: avg(t.exit_cost, t.exit_qty),
        pnl: t.pnl,
        pnl_net: t.pnl.checked_sub(t.commission).unwrap_or(t.pnl),
        commission: t.commission,
    }
}

/// The strategy under test, wrapped so that every callback is also recorded.
#[derive(Debug)]
pub(crate) struct Recorded<S> {
    pub(crate) inner: S,
    symbols: Vec<String>,
    pub(crate) orders: Vec<OrderRow>,
    pub(crate) fills: Vec<FillRow>,
    pub(crate) trades: TradeTracker,
    pub(crate) equity: Vec<EquityPoint>,
    /// Equity is sampled at the first event of each interval of this length.
    interval: TimeSpan,
    next_sample: Option<Timestamp>,
    /// Submissions seen (the `submitted` rows are written when the acknowledgement arrives).
    seen_orders: u64,
    /// Modelled latency, in the live harness's schema: submission → acknowledgement at the engine,
    /// and fill at the venue → its report at the engine (nanoseconds).
    pub(crate) order_ack: hdrhistogram::Histogram<u64>,
    pub(crate) fill_report: hdrhistogram::Histogram<u64>,
}

/// Nanoseconds from 1 ns to an hour, 3 significant digits (the live harness's precision).
fn latency_histogram() -> Result<hdrhistogram::Histogram<u64>, hdrhistogram::CreationError> {
    hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
}

/// Records `ns` (at least 1: a zero latency is the histogram's lowest value).
fn record_latency(h: &mut hdrhistogram::Histogram<u64>, ns: i64) {
    h.saturating_record(u64::try_from(ns.max(1)).unwrap_or(1));
}

impl<S> Recorded<S> {
    pub(crate) fn new(
        inner: S,
        symbols: Vec<String>,
        interval: TimeSpan,
    ) -> Result<Self, hdrhistogram::CreationError> {
        let n = symbols.len();
        Ok(Self {
            inner,
            symbols,
            orders: Vec::new(),
            fills: Vec::new(),
            trades: TradeTracker::new(n),
            equity: Vec::new(),
            interval: TimeSpan::from_nanos(interval.nanos().max(1)),
            next_sample: None,
            seen_orders: 0,
            order_ack: latency_histogram()?,
            fill_report: latency_histogram()?,
        })
    }

    fn symbol(&self, ins: InstrumentId) -> String {
        self.symbols.get(ins.index()).cloned().unwrap_or_else(|| ins.to_string())
    }

    fn sample(&mut self, ctx: &TickContext<'_>, force: bool) {
        let now = ctx.now();
        if !force && self.next_sample.is_some_and(|t| now < t) {
            return;
        }
        let Ok(equity) = ctx.equity() else { return };
        let point = EquityPoint { ts: now, cash: ctx.cash(), equity };
        match self.equity.last_mut() {
            Some(last) if last.ts == now => *last = point,
            _ => self.equity.push(point),
        }
        // The next interval boundary after now: samples fall on a regular grid of the data's time.
        let step = self.interval.nanos();
        let next = (now.nanos() / step).saturating_add(1).saturating_mul(step);
        self.next_sample = Some(Timestamp::from_nanos(next));
    }

    fn order_row(
        &self,
        ts: Timestamp,
        o: &kestrel_engine::engine::TickOrder,
        status: Status,
        reason: &str,
    ) -> OrderRow {
        OrderRow {
            ts,
            order: o.id.0,
            instrument: self.symbol(o.request.instrument),
            side: o.request.side.name(),
            kind: o.request.kind.name(),
            status: status_name(status),
            size: o.request.size,
            filled: o.filled,
            price: o.request.kind.price(),
            avg_price: o.avg_price(),
            reason: reason.to_owned(),
        }
    }
}

impl<S: TickStrategy> TickStrategy for Recorded<S> {
    const ON_BOOK: bool = S::ON_BOOK;

    fn on_start(&mut self, ctx: &mut TickContext<'_>) {
        self.inner.on_start(ctx);
    }

    fn on_event(&mut self, ctx: &mut TickContext<'_>, ev: &Event) {
        self.inner.on_event(ctx, ev);
        self.sample(ctx, false);
    }

    fn on_trade_tick(&mut self, ctx: &mut TickContext<'_>, instrument: InstrumentId, trade: &Trade) {
        self.inner.on_trade_tick(ctx, instrument, trade);
    }

    fn on_quote(&mut self, ctx: &mut TickContext<'_>, instrument: InstrumentId, quote: &Quote) {
        self.inner.on_quote(ctx, instrument, quote);
    }

    fn on_book(
        &mut self,
        ctx: &mut TickContext<'_>,
        instrument: InstrumentId,
        top: Option<&kestrel_engine::engine::BestQuote>,
    ) {
        self.inner.on_book(ctx, instrument, top);
    }

    fn on_bar(&mut self, ctx: &mut TickContext<'_>, instrument: InstrumentId, bar: &Bar) {
        self.inner.on_bar(ctx, instrument, bar);
    }

    fn on_timer(&mut self, ctx: &mut TickContext<'_>, timer: &Timer) {
        self.inner.on_timer(ctx, timer);
    }

    fn on_order(&mut self, ctx: &mut TickContext<'_>, update: &OrderUpdate) {
        let o = &update.order;
        if o.id.0 > self.seen_orders {
            // The order's first report: its submission comes first in the log, at its own time.
            self.seen_orders = o.id.0;
            record_latency(&mut self.order_ack, update.ts.nanos() - o.submitted_at.nanos());
            let mut submitted = self.order_row(o.submitted_at, o, Status::Submitted, "");
            submitted.filled = Qty::ZERO;
            submitted.avg_price = None;
            self.orders.push(submitted);
        }
        self.orders.push(self.order_row(update.ts, o, o.status, update.reason.text()));
        self.inner.on_order(ctx, update);
    }

    fn on_fill(&mut self, ctx: &mut TickContext<'_>, f: &TickFill) {
        let symbol = self.symbol(f.instrument);
        record_latency(&mut self.fill_report, f.ts.nanos() - f.venue_ts.nanos());
        self.fills.push(FillRow {
            ts: f.ts,
            order: f.order.0,
            instrument: symbol.clone(),
            side: f.side.name(),
            qty: f.qty,
            price: f.price,
            commission: f.commission,
            liquidity: f.liquidity.name(),
        });
        self.trades.fill(
            &symbol,
            f.instrument,
            f.side,
            f.qty,
            f.price,
            f.commission,
            f.realized,
            f.position,
            f.ts,
        );
        self.inner.on_fill(ctx, f);
    }

    fn on_stop(&mut self, ctx: &mut TickContext<'_>) {
        self.inner.on_stop(ctx);
        self.sample(ctx, true);
        self.trades.finish(&self.symbols);
        // A submission is logged when its first report arrives, behind later changes of other
        // orders: put the log in time order (stable, so one order's changes keep their order).
        self.orders.sort_by_key(|r| r.ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: i64) -> Qty {
        Qty::from_raw(v * Qty::SCALE)
    }

    fn p(v: i64) -> Price {
        Price::from_raw(v * Price::SCALE)
    }

    fn m(v: i64) -> Money {
        Money::try_from_units(v).unwrap()
    }

    #[test]
    fn round_trips_open_add_reduce_reverse_and_close() {
        let mut t = TradeTracker::new(1);
        let i = InstrumentId(0);
        let at = Timestamp::from_nanos;
        t.fill("X", i, Side::Buy, q(2), p(100), m(2), Money::ZERO, q(2), at(1));
        t.fill("X", i, Side::Buy, q(2), p(110), m(2), Money::ZERO, q(4), at(2));
        t.fill("X", i, Side::Sell, q(1), p(120), m(1), m(15), q(3), at(3));
        // Sells 5 with 3 held: closes the long (3 × 120 − 3 × 105 = 45) and opens a short of 2.
        t.fill("X", i, Side::Sell, q(5), p(120), m(5), m(45), q(-2), at(4));
        t.fill("X", i, Side::Buy, q(2), p(100), m(2), m(40), Qty::ZERO, at(5));
        t.finish(&["X".to_owned()]);
        let r = &t.rows;
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].id, r[0].direction, r[0].size), (1, "long", q(4)));
        assert_eq!((r[0].entry_price, r[0].exit_price), (p(105), Some(p(120))));
        assert_eq!((r[0].pnl, r[0].commission, r[0].pnl_net), (m(60), m(8), m(52)));
        assert_eq!((r[0].opened, r[0].closed), (at(1), Some(at(4))));
        assert_eq!((r[1].id, r[1].direction, r[1].size), (2, "short", q(2)));
        assert_eq!((r[1].entry_price, r[1].exit_price, r[1].pnl), (p(120), Some(p(100)), m(40)));
        assert_eq!(r[1].commission, m(4), "2 of the reversing fill's 5, then 2");
    }

    #[test]
    fn a_trade_still_open_at_the_end_is_reported_without_a_close() {
        let mut t = TradeTracker::new(1);
        t.fill(
            "X",
            InstrumentId(0),
            Side::Sell,
            q(1),
            p(10),
            Money::ZERO,
            Money::ZERO,
            q(-1),
            Timestamp::EPOCH,
        );
        t.finish(&["X".to_owned()]);
        assert_eq!(t.rows.len(), 1);
        assert_eq!((t.rows[0].closed, t.rows[0].exit_price), (None, None));
    }
}
