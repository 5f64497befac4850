//! Seeded synthetic tick data of any length, streamed straight into a tick file.
//!
//! Benchmarks, soak tests and demos need realistic market data at sizes no repository should ship
//! (a replay benchmark reads 100 million events), and they need the same bytes on every machine so
//! that recorded figures stay comparable. [`generate`] therefore draws everything from
//! [`SplitMix64`] (whose stream is fixed by its definition) with integer arithmetic only, and writes
//! each event as it is drawn: memory stays constant whatever the count.
//!
//! # The models
//! - `trades`, `quotes`, `mixed` ([`GenKind::Trades`], [`GenKind::Quotes`], [`GenKind::Mixed`]) are
//!   three views of one market: a best bid and ask in whole ticks, 1 to 3 ticks apart, with resting
//!   sizes in whole lots. Each step of the market either prints a trade (a quarter of the steps) or
//!   changes the touch: orders join or cancel at the best prices, a level that runs out of size
//!   moves the price one tick away, and a new order can improve a wide spread. A trade takes size
//!   from the opposite side at its best price (buyers lift the ask, sellers hit the bid), so prices
//!   move because of order flow, and the aggressor side persists as real order flow does. Trade sizes
//!   are heavy-tailed (a discrete power law with tail exponent 1.5, most prints a single lot, some
//!   rounded to tens). Every step changes the touch, so `mixed` has about one trade per four quotes;
//!   a trade and the quote it causes share one timestamp, as one venue packet would.
//! - `l2` ([`GenKind::L2`]): a market-by-price book of up to 64 ticks per side. It opens with a
//!   snapshot (begin, 10 levels a side, end); then come level updates near the touch (new levels,
//!   size changes, a size of 0 removing a level), depletion of the best level, improvements inside
//!   the spread, and, every few hundred thousand steps, a book clear and a fresh snapshot, as after a
//!   feed recovery. Replaying the updates never crosses the book.
//! - `bars` ([`GenKind::Bars`]): one-minute OHLCV bars drawn exactly as
//!   [`synth::random_walk`](crate::synth::random_walk) draws them (same seed, same prices), streamed
//!   instead of collected.
//!
//! # Time
//! Gaps between market steps are roughly exponential (integer arithmetic: a geometric whole part
//! from the leading zeros of a draw plus a uniform fraction), with a mean that changes every few
//! thousand steps between a quarter and eight times its base, so activity comes in bursts and lulls.
//! `ts_recv` is `ts_event` plus a feed latency of 15–55 µs with rare spikes of up to 0.4 ms, and never
//! goes back (a feed delivers in order). The feed's draws come from a second generator, so the prices
//! of a seed do not depend on the timing model.

use std::path::Path;

use kestrel_types::{
    Aggressor, Bar, BookSide, Currency, Event, Instrument, InstrumentError, InstrumentId, InstrumentSpec,
    LevelUpdate, NANOS_PER_SEC, Payload, Price, Qty, Quote, Ratio, Timestamp, Trade, VenueId,
};

use crate::error::ReplayError;
use crate::format::{Header, RECORD_SIZE};
use crate::synth::SplitMix64;
use crate::tick::TickWriter;

/// What to generate: the record kinds of the file and the model behind them (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GenKind {
    /// Trade prints only: the `trade` records of the market that `mixed` shows.
    Trades,
    /// Best bid and ask only: the `quote` records of that market.
    Quotes,
    /// Trades and quotes interleaved (about one trade per four quotes): what the replay benchmark reads.
    Mixed,
    /// A market-by-price book: snapshots and level updates.
    L2,
    /// One-minute OHLCV bars.
    Bars,
}

impl GenKind {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: [Self; 5] = [Self::Trades, Self::Quotes, Self::L2, Self::Bars, Self::Mixed];

    /// The name the CLI and reports use (`trades`, `quotes`, `l2`, `bars`, `mixed`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Trades => "trades",
            Self::Quotes => "quotes",
            Self::Mixed => "mixed",
            Self::L2 => "l2",
            Self::Bars => "bars",
        }
    }
}

impl core::fmt::Display for GenKind {
    /// The kind's [`GenKind::name`].
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A kind name that is not one of [`GenKind::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind {0:?} (want trades, quotes, l2, bars or mixed)")]
pub struct UnknownGenKind(pub String);

impl core::str::FromStr for GenKind {
    type Err = UnknownGenKind;

    /// Parses a [`GenKind::name`], so that configuration files and flags name kinds as reports do.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| UnknownGenKind(s.to_owned()))
    }
}

/// Everything that decides a generated file: the same spec gives the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenSpec {
    /// The model and record kinds.
    pub kind: GenKind,
    /// Exactly how many records to write.
    pub events: u64,
    /// Seed of the market and feed generators.
    pub seed: u64,
    /// The instrument: its tick and lot size set the price and size grids, its id the records'
    /// instrument field (which must index the writer's table).
    pub instrument: Instrument,
    /// `ts_event` of the first market step (of the first bar, for bars).
    pub start: Timestamp,
}

impl GenSpec {
    /// Bytes of the finished single-instrument file (header, table and records), so that a caller
    /// can check free disk space before writing; `None` when it would not fit a `u64`.
    pub fn file_bytes(&self) -> Option<u64> {
        let header = Header {
            kind: crate::format::FileKind::Tick,
            instruments: vec![self.instrument.clone()],
            record_count: 0,
        };
        self.events.checked_mul(RECORD_SIZE as u64)?.checked_add(header.len_bytes() as u64)
    }
}

/// A plain instrument for synthetic data: `symbol` on venue 0, the given tick and lot, multiplier 1,
/// quoted and settled in USD, shown with the tick's decimal places. `kestrel generate` uses it so
/// that generated files need no instrument definitions.
///
/// # Errors
/// [`InstrumentError`] for an empty symbol or a tick or lot that is not positive.
pub fn plain_instrument(symbol: &str, tick: Price, lot: Qty) -> Result<Instrument, InstrumentError> {
    let mut places = 9u8;
    let mut raw = tick.raw();
    while places > 0 && raw != 0 && raw % 10 == 0 {
        raw /= 10;
        places -= 1;
    }
    Instrument::try_new(
        InstrumentId(0),
        InstrumentSpec {
            symbol: symbol.to_owned(),
            venue: VenueId(0),
            tick_size: tick,
            lot_size: lot,
            display_decimals: places,
            multiplier: Ratio::ONE,
            quote_currency: Currency::USD,
            settlement_currency: Currency::USD,
        },
    )
}

/// Generates `spec.events` records into `writer`, one at a time (constant memory), and returns how
/// many were written. The writer's table must hold `spec.instrument` at its id; finishing the file
/// is the caller's ([`TickWriter::finish`]), so that several streams can share a writer.
///
/// # Errors
/// What [`TickWriter::push`] refuses (I/O, an instrument not in the table).
pub fn generate(spec: &GenSpec, writer: &mut TickWriter) -> Result<u64, ReplayError> {
    stream(spec, |ev| writer.push(ev))
}

/// Generates `spec` into a finished tick file at `path` whose table is the spec's instrument alone
/// (renumbered to id 0), and returns the number of records.
///
/// # Errors
/// As [`TickWriter::create`], [`generate`] and [`TickWriter::finish`]; an unfinished file leaves
/// nothing at `path`.
pub fn generate_file(spec: &GenSpec, path: impl AsRef<Path>) -> Result<u64, ReplayError> {
    let path = path.as_ref();
    let ins = &spec.instrument;
    let instrument = Instrument::try_new(
        InstrumentId(0),
        InstrumentSpec {
            symbol: ins.symbol().to_owned(),
            venue: ins.venue(),
            tick_size: ins.tick_size(),
            lot_size: ins.lot_size(),
            display_decimals: ins.display_decimals(),
            multiplier: ins.multiplier(),
            quote_currency: ins.quote_currency(),
            settlement_currency: ins.settlement_currency(),
        },
    )
    .map_err(|e| ReplayError::Table { path: path.to_path_buf(), reason: e.to_string() })?;
    let spec = GenSpec { instrument, ..spec.clone() };
    let mut writer = TickWriter::create(path, vec![spec.instrument.clone()])?;
    generate(&spec, &mut writer)?;
    writer.finish()
}

/// Generates `spec` into any sink, one event at a time, and returns how many it took: for tests and
/// in-memory benchmarks that want the events without a file. [`generate`] is this with a
/// [`TickWriter`] as the sink.
///
/// # Errors
/// The sink's first error, which stops the stream.
pub fn stream<E>(spec: &GenSpec, sink: impl FnMut(&Event) -> Result<(), E>) -> Result<u64, E> {
    let grid = Grid { tick: spec.instrument.tick_size().raw(), lot: spec.instrument.lot_size().raw() };
    let mut out = Out { sink, left: spec.events, instrument: spec.instrument.id() };
    let mut market = SplitMix64::new(spec.seed);
    let mut clock = Clock::new(spec.start, spec.kind, SplitMix64::new(spec.seed ^ FEED_SALT));
    match spec.kind {
        GenKind::Bars => bars(&grid, &mut market, &mut clock, &mut out)?,
        GenKind::L2 => l2(&grid, &mut market, &mut clock, &mut out)?,
        kind @ (GenKind::Trades | GenKind::Quotes | GenKind::Mixed) => {
            touch(kind, &grid, &mut market, &mut clock, &mut out)?;
        }
    }
    Ok(spec.events - out.left)
}

/// Separates the feed generator's stream from the market's (the first 64 bits of √2's fraction).
const FEED_SALT: u64 = 0x6A09_E667_F3BC_C908;
/// Where prices start, in ticks: 100.00 at a cent tick, 1.0000 at 0.0001, 2500 at 0.25.
const START_TICKS: i64 = 10_000;
/// Largest resting size at one price, in lots (keeps sizes far from overflow).
const MAX_LOTS: i64 = 1_000_000;
/// Widest spread of the touch model, in ticks.
const MAX_SPREAD: i64 = 3;
/// Largest bar body and open gap of the bar walk, in ticks: 0.08% of the start price, as
/// [`WalkSpec::minutes`](crate::synth::WalkSpec::minutes).
const BAR_VOLATILITY: u32 = 8;
/// Levels a side in a fresh book (a snapshot).
const BOOK_DEPTH: i64 = 10;
/// Ticks a side the book keeps; a level pushed further out is removed (a depth-limited feed).
const WINDOW: i64 = 64;

/// Prices and sizes on the instrument's grid, from whole ticks and lots.
struct Grid {
    tick: i64,
    lot: i64,
}

impl Grid {
    fn price(&self, ticks: i64) -> Price {
        Price::from_raw(ticks.saturating_mul(self.tick))
    }

    fn qty(&self, lots: i64) -> Qty {
        Qty::from_raw(lots.saturating_mul(self.lot))
    }

    /// The band prices stay in, in ticks: a quarter to four times the start (a bounded walk never
    /// reaches zero or overflows, whatever the count).
    fn band(&self) -> (i64, i64) {
        let start = START_TICKS.min(i64::MAX / self.tick.max(1) / 8).max(4 * WINDOW);
        (start / 4, start * 4)
    }
}

/// The sink with a budget: records past `left` are dropped, so a step may emit several records and
/// the file still holds exactly the count asked for.
struct Out<F> {
    sink: F,
    left: u64,
    instrument: InstrumentId,
}

impl<F> Out<F> {
    fn emit<E>(&mut self, at: Stamp, payload: Payload) -> Result<(), E>
    where
        F: FnMut(&Event) -> Result<(), E>,
    {
        if self.left == 0 {
            return Ok(());
        }
        self.left -= 1;
        (self.sink)(&Event { ts_event: at.event, ts_recv: at.recv, instrument: self.instrument, payload })
    }
}

/// The two timestamps of one venue packet.
#[derive(Clone, Copy)]
struct Stamp {
    event: Timestamp,
    recv: Timestamp,
}

/// Venue time (bursty, roughly exponential gaps) and recorder time (venue time plus feed latency).
struct Clock {
    rng: SplitMix64,
    now: i64,
    last_recv: i64,
    base_gap: u64,
    mean_gap: u64,
    regime_left: u32,
}

/// Multipliers of the base gap, in quarters, one drawn per regime: lulls and bursts.
const REGIMES: [u64; 8] = [1, 2, 4, 4, 4, 8, 16, 32];

impl Clock {
    fn new(start: Timestamp, kind: GenKind, rng: SplitMix64) -> Self {
        // Mean gap of one market step at the base rate, in ns (regimes average 2.2 times this).
        let base_gap = match kind {
            GenKind::L2 => 25_000,
            _ => 50_000,
        };
        Self { rng, now: start.nanos(), last_recv: i64::MIN, base_gap, mean_gap: base_gap, regime_left: 0 }
    }

    /// The stamp of the next market step.
    fn next(&mut self) -> Stamp {
        if self.regime_left == 0 {
            let u = self.rng.next_u64();
            self.mean_gap = self.base_gap * REGIMES[(u & 7) as usize] / 4;
            self.regime_left = 2_000 + ((u >> 32) % 30_000) as u32;
        }
        self.regime_left -= 1;
        let u = self.rng.next_u64();
        // −ln U = ln 2 · (−log2 U); −log2 U ≈ its leading zeros (geometric) plus a uniform fraction.
        let whole = u64::from(u.leading_zeros().min(40));
        let frac = u & 0xFFFF;
        let ln2_q16 = 45_426u128; // ln 2 · 2^16
        let gap = (u128::from(self.mean_gap) * u128::from((whole << 16) | frac) * ln2_q16) >> 32;
        self.now = self.now.saturating_add(i64::try_from(gap).unwrap_or(i64::MAX));
        self.at(self.now)
    }

    /// The stamp of something the venue timestamped at `event`: the feed latency is added here.
    fn at(&mut self, event: i64) -> Stamp {
        let v = self.rng.next_u64();
        let mut latency = 15_000 + ((v >> 32) % 40_000) as i64;
        if v & 0x3FF == 0 {
            latency += ((v >> 10) % 400_000) as i64;
        }
        let recv = event.saturating_add(latency).max(self.last_recv);
        self.last_recv = recv;
        Stamp { event: Timestamp::from_nanos(event), recv: Timestamp::from_nanos(recv) }
    }
}

/// `2^-1.5 · 2^64`, for the power-law thresholds.
const INV_SQRT2_SHR1: u64 = 0x5A82_7999_FCEF_3242;

/// `TAIL[k]`: a uniform 64-bit draw is below it with probability `2^(-1.5k)`.
const TAIL: [u64; 13] = {
    let mut t = [u64::MAX; 13];
    let mut k = 1;
    while k < 13 {
        let s = 3 * k;
        t[k] = if s % 2 == 0 { 1u64 << (64 - s / 2) } else { INV_SQRT2_SHR1 >> ((s - 3) / 2) };
        k += 1;
    }
    t
};

/// A trade size in lots: `P(size ≥ 2^k) = 2^(-1.5k)` up to 8191 lots, about 65% single lots, and a
/// quarter of the sizes from 10 up rounded down to tens (round lots are over-represented in real
/// prints).
fn trade_lots(u: u64) -> i64 {
    let mut k = 0;
    while k + 1 < TAIL.len() && u < TAIL[k + 1] {
        k += 1;
    }
    let base = 1i64 << k;
    // Below the leading bits the draw is uniform: the low 20 bits place the size in its octave.
    let lots = base + (u & 0xF_FFFF) as i64 % base;
    if lots >= 10 && (u >> 20) & 3 == 0 { lots / 10 * 10 } else { lots }
}

/// Size resting at a new price level, in lots: several typical trades' worth.
fn depth_lots(rng: &mut SplitMix64) -> i64 {
    let u = rng.next_u64();
    (trade_lots(u) * (3 + ((u >> 24) % 12) as i64)).min(MAX_LOTS)
}

/// The best bid and ask, in ticks and lots: the market behind `trades`, `quotes` and `mixed`.
struct Touch {
    bid: i64,
    ask: i64,
    bid_lots: i64,
    ask_lots: i64,
    floor: i64,
    ceil: i64,
    buying: bool,
    trade_id: u64,
}

/// A trade the touch printed: price in ticks, size in lots, whether a buyer was the aggressor.
struct Print {
    ticks: i64,
    lots: i64,
    buy: bool,
}

impl Touch {
    fn new(grid: &Grid, rng: &mut SplitMix64) -> Self {
        let (floor, ceil) = grid.band();
        let bid = START_TICKS.clamp(floor + 8, ceil - 8);
        Self {
            bid,
            ask: bid + 1,
            bid_lots: depth_lots(rng),
            ask_lots: depth_lots(rng),
            floor,
            ceil,
            buying: true,
            trade_id: 0,
        }
    }

    /// One market step: the touch changes, and a quarter of the time a trade prints first.
    fn step(&mut self, rng: &mut SplitMix64) -> Option<Print> {
        let u = rng.next_u64();
        let r = u & 0xFF;
        if r < 64 {
            // Order flow persists: 5 times in 8 the aggressor is the previous one's side.
            let buy = if (u >> 8) % 8 < 5 { self.buying } else { (u >> 11) & 1 == 1 };
            self.buying = buy;
            let want = trade_lots(rng.next_u64());
            self.trade_id += 1;
            let print = if buy {
                let lots = want.min(self.ask_lots);
                let ticks = self.ask;
                self.ask_lots -= lots;
                if self.ask_lots == 0 {
                    self.ask_gone(rng);
                }
                Print { ticks, lots, buy }
            } else {
                let lots = want.min(self.bid_lots);
                let ticks = self.bid;
                self.bid_lots -= lots;
                if self.bid_lots == 0 {
                    self.bid_gone(rng);
                }
                Print { ticks, lots, buy }
            };
            return Some(print);
        }
        let bid_side = (u >> 8) & 1 == 0;
        if self.ask - self.bid > 1 && r < 128 {
            // A new order inside the spread becomes the best price.
            if bid_side {
                self.bid += 1;
                self.bid_lots = depth_lots(rng);
            } else {
                self.ask -= 1;
                self.ask_lots = depth_lots(rng);
            }
        } else if (u >> 9) & 1 == 0 {
            let add = trade_lots(rng.next_u64()) * (1 + ((u >> 12) % 4) as i64);
            let lots = if bid_side { &mut self.bid_lots } else { &mut self.ask_lots };
            *lots = (*lots + add).min(MAX_LOTS);
        } else {
            let cancel = trade_lots(rng.next_u64()) * (1 + ((u >> 12) % 4) as i64);
            if bid_side {
                self.bid_lots -= cancel.min(self.bid_lots);
                if self.bid_lots == 0 {
                    self.bid_gone(rng);
                }
            } else {
                self.ask_lots -= cancel.min(self.ask_lots);
                if self.ask_lots == 0 {
                    self.ask_gone(rng);
                }
            }
        }
        None
    }

    /// The best bid ran out: the next bid a tick lower becomes the best (the ask follows down when
    /// the spread would pass its maximum); at the floor, new size arrives at the same price instead.
    fn bid_gone(&mut self, rng: &mut SplitMix64) {
        self.bid_lots = depth_lots(rng);
        if self.bid - 1 < self.floor {
            return;
        }
        self.bid -= 1;
        if self.ask - self.bid > MAX_SPREAD {
            self.ask -= 1;
            self.ask_lots = depth_lots(rng);
        }
    }

    /// The best ask ran out: as [`Touch::bid_gone`], upwards, with the ceiling.
    fn ask_gone(&mut self, rng: &mut SplitMix64) {
        self.ask_lots = depth_lots(rng);
        if self.ask + 1 > self.ceil {
            return;
        }
        self.ask += 1;
        if self.ask - self.bid > MAX_SPREAD {
            self.bid += 1;
            self.bid_lots = depth_lots(rng);
        }
    }

    fn quote(&self, grid: &Grid) -> Payload {
        Payload::Quote(Quote {
            bid: grid.price(self.bid),
            bid_size: grid.qty(self.bid_lots),
            ask: grid.price(self.ask),
            ask_size: grid.qty(self.ask_lots),
        })
    }
}

/// The `trades`, `quotes` and `mixed` streams: one market, filtered.
fn touch<F, E>(
    kind: GenKind,
    grid: &Grid,
    rng: &mut SplitMix64,
    clock: &mut Clock,
    out: &mut Out<F>,
) -> Result<(), E>
where
    F: FnMut(&Event) -> Result<(), E>,
{
    let trades = matches!(kind, GenKind::Trades | GenKind::Mixed);
    let quotes = matches!(kind, GenKind::Quotes | GenKind::Mixed);
    let mut book = Touch::new(grid, rng);
    while out.left > 0 {
        let print = book.step(rng);
        let at = clock.next();
        if let (Some(p), true) = (&print, trades) {
            let trade = Trade {
                price: grid.price(p.ticks),
                size: grid.qty(p.lots),
                aggressor: if p.buy { Aggressor::Buy } else { Aggressor::Sell },
                trade_id: book.trade_id,
            };
            out.emit(at, Payload::Trade(trade))?;
        }
        if quotes {
            out.emit(at, book.quote(grid))?;
        }
    }
    Ok(())
}

/// A market-by-price book a window of [`WINDOW`] ticks deep on each side, sizes in lots indexed by
/// price modulo the window (every price of a side's window has its own slot).
struct Book {
    bids: [i64; WINDOW as usize],
    asks: [i64; WINDOW as usize],
    best_bid: i64,
    best_ask: i64,
    floor: i64,
    ceil: i64,
    depth: i64,
}

fn slot(ticks: i64) -> usize {
    (ticks & (WINDOW - 1)) as usize
}

impl Book {
    /// A fresh book of `depth` levels a side around `bid` (a spread of 1 or 2 ticks).
    fn fresh(&mut self, bid: i64, rng: &mut SplitMix64) {
        self.bids = [0; WINDOW as usize];
        self.asks = [0; WINDOW as usize];
        self.best_bid = bid.clamp(self.floor + WINDOW, self.ceil - WINDOW);
        self.best_ask = self.best_bid + 1 + (rng.next_u64() & 1) as i64;
        for i in 0..self.depth {
            self.bids[slot(self.best_bid - i)] = depth_lots(rng);
            self.asks[slot(self.best_ask + i)] = depth_lots(rng);
        }
    }

    /// Records a fresh book's snapshot takes: begin, the levels, end.
    fn snapshot_len(&self) -> u64 {
        2 + 2 * self.depth as u64
    }

    /// Emits the whole book as a snapshot: begin, bids best first, asks best first, end.
    fn snapshot<F, E>(&self, grid: &Grid, at: Stamp, out: &mut Out<F>) -> Result<(), E>
    where
        F: FnMut(&Event) -> Result<(), E>,
    {
        out.emit(at, Payload::SnapshotBegin)?;
        for i in 0..WINDOW {
            let p = self.best_bid - i;
            if self.bids[slot(p)] != 0 {
                out.emit(at, level(grid, BookSide::Bid, p, self.bids[slot(p)]))?;
            }
        }
        for i in 0..WINDOW {
            let p = self.best_ask + i;
            if self.asks[slot(p)] != 0 {
                out.emit(at, level(grid, BookSide::Ask, p, self.asks[slot(p)]))?;
            }
        }
        out.emit(at, Payload::SnapshotEnd)
    }

    /// One book step: an improvement inside a wide spread, size taken from the best level (which
    /// may empty it), or a change to a level near the touch.
    fn step<F, E>(&mut self, grid: &Grid, rng: &mut SplitMix64, at: Stamp, out: &mut Out<F>) -> Result<(), E>
    where
        F: FnMut(&Event) -> Result<(), E>,
    {
        let u = rng.next_u64();
        let bid = u & 1 == 0;
        let r = (u >> 1) & 0xFF;
        if self.best_ask - self.best_bid > 1 && r < 40 {
            return self.improve(bid, grid, rng, at, out);
        }
        if r < 100 {
            return self.hit(bid, grid, rng, at, out);
        }
        // Distance from the touch: the smaller of two uniform draws, so near levels change most.
        let k = ((u >> 16) % 12).min((u >> 24) % 12) as i64;
        let (side, p, sizes) = if bid {
            (BookSide::Bid, self.best_bid - k, &mut self.bids)
        } else {
            (BookSide::Ask, self.best_ask + k, &mut self.asks)
        };
        let cur = sizes[slot(p)];
        let new = if cur == 0 {
            depth_lots(rng)
        } else if k > 0 && (u >> 32) & 3 == 0 {
            0
        } else {
            let change = trade_lots(rng.next_u64());
            if (u >> 34) & 1 == 0 { (cur + change).min(MAX_LOTS) } else { (cur - change).max(1) }
        };
        sizes[slot(p)] = new;
        out.emit(at, level(grid, side, p, new))
    }

    /// A new best price one tick inside the spread. The slot it takes held the deepest price of the
    /// window, which leaves the book first (a removal).
    fn improve<F, E>(
        &mut self,
        bid: bool,
        grid: &Grid,
        rng: &mut SplitMix64,
        at: Stamp,
        out: &mut Out<F>,
    ) -> Result<(), E>
    where
        F: FnMut(&Event) -> Result<(), E>,
    {
        let (side, p, dropped, sizes) = if bid {
            self.best_bid += 1;
            (BookSide::Bid, self.best_bid, self.best_bid - WINDOW, &mut self.bids)
        } else {
            self.best_ask -= 1;
            (BookSide::Ask, self.best_ask, self.best_ask + WINDOW, &mut self.asks)
        };
        if sizes[slot(p)] != 0 {
            sizes[slot(p)] = 0;
            out.emit(at, level(grid, side, dropped, 0))?;
        }
        let lots = depth_lots(rng);
        sizes[slot(p)] = lots;
        out.emit(at, level(grid, side, p, lots))
    }

    /// Size taken from the best level (a trade or a cancel). When it empties, the next level
    /// becomes the best, or a new one a tick further out when the window holds none; at the floor
    /// or ceiling the best level keeps a lot instead.
    fn hit<F, E>(
        &mut self,
        bid: bool,
        grid: &Grid,
        rng: &mut SplitMix64,
        at: Stamp,
        out: &mut Out<F>,
    ) -> Result<(), E>
    where
        F: FnMut(&Event) -> Result<(), E>,
    {
        let take = trade_lots(rng.next_u64());
        let (side, best, dir, sizes, pinned) = if bid {
            (BookSide::Bid, self.best_bid, -1, &mut self.bids, self.best_bid - 1 < self.floor)
        } else {
            (BookSide::Ask, self.best_ask, 1, &mut self.asks, self.best_ask + 1 > self.ceil)
        };
        let cur = sizes[slot(best)];
        if take < cur || pinned {
            let left = (cur - take).max(1);
            sizes[slot(best)] = left;
            return out.emit(at, level(grid, side, best, left));
        }
        sizes[slot(best)] = 0;
        out.emit(at, level(grid, side, best, 0))?;
        let next = (1..WINDOW).map(|i| best + dir * i).find(|p| sizes[slot(*p)] != 0);
        let new_best = match next {
            Some(p) => p,
            None => {
                let p = best + dir;
                let lots = depth_lots(rng);
                sizes[slot(p)] = lots;
                out.emit(at, level(grid, side, p, lots))?;
                p
            }
        };
        if bid {
            self.best_bid = new_best;
        } else {
            self.best_ask = new_best;
        }
        Ok(())
    }
}

fn level(grid: &Grid, side: BookSide, ticks: i64, lots: i64) -> Payload {
    Payload::Level(LevelUpdate { side, price: grid.price(ticks), size: grid.qty(lots) })
}

/// The `l2` stream: an opening snapshot, then book steps, with a clear and a fresh snapshot every
/// 250,000–750,000 steps (when the budget still holds the whole snapshot).
fn l2<F, E>(grid: &Grid, rng: &mut SplitMix64, clock: &mut Clock, out: &mut Out<F>) -> Result<(), E>
where
    F: FnMut(&Event) -> Result<(), E>,
{
    let (floor, ceil) = grid.band();
    // A short file still gets a whole opening snapshot: fewer levels when the budget is small.
    let depth = i64::try_from(out.left.saturating_sub(2) / 2).unwrap_or(BOOK_DEPTH).clamp(1, BOOK_DEPTH);
    let mut book = Book {
        bids: [0; WINDOW as usize],
        asks: [0; WINDOW as usize],
        best_bid: 0,
        best_ask: 0,
        floor,
        ceil,
        depth,
    };
    book.fresh(START_TICKS, rng);
    book.snapshot(grid, clock.next(), out)?;
    book.depth = BOOK_DEPTH;
    let mut until_recovery = recovery_interval(rng);
    while out.left > 0 {
        let at = clock.next();
        until_recovery -= 1;
        if until_recovery == 0 {
            until_recovery = recovery_interval(rng);
            if out.left > book.snapshot_len() {
                // A feed gap: the book is cleared and resent; the market moved meanwhile.
                out.emit(at, Payload::BookClear)?;
                let moved = book.best_bid + rng.step(8);
                book.fresh(moved, rng);
                book.snapshot(grid, at, out)?;
                continue;
            }
        }
        book.step(grid, rng, at, out)?;
    }
    Ok(())
}

fn recovery_interval(rng: &mut SplitMix64) -> u64 {
    250_000 + rng.next_u64() % 500_000
}

/// The `bars` stream: [`synth::random_walk`](crate::synth::random_walk)'s walk with
/// [`BarClock::Every`](crate::synth::BarClock::Every) one minute, from [`START_TICKS`] with a
/// volatility of [`BAR_VOLATILITY`] ticks, volumes in lots; `ts_recv` adds the feed latency.
fn bars<F, E>(grid: &Grid, rng: &mut SplitMix64, clock: &mut Clock, out: &mut Out<F>) -> Result<(), E>
where
    F: FnMut(&Event) -> Result<(), E>,
{
    let v = BAR_VOLATILITY.max(1);
    let mut close = START_TICKS.max(10 * i64::from(v));
    let floor = i64::from(v) + 1;
    let mut t = clock.now;
    while out.left > 0 {
        let ts = t;
        t = t.saturating_add(60 * NANOS_PER_SEC);
        let open = (close + rng.step(v / 2)).max(floor);
        let end = (open + rng.step(v)).max(floor);
        let high = open.max(end) + rng.step(v / 2).abs();
        let low = (open.min(end) - rng.step(v / 2).abs()).max(1);
        let volume = 1_000 + rng.step(500);
        let at = clock.at(ts);
        let bar = Bar {
            ts: at.event,
            open: grid.price(open),
            high: grid.price(high),
            low: grid.price(low),
            close: grid.price(end),
            volume: grid.qty(volume),
            open_interest: Qty::ZERO,
        };
        out.emit(at, Payload::Bar(bar))?;
        close = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
