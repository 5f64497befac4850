//! `kestrel diff`: the same bars through Kestrel's two matching modes, and where their fills differ.
//!
//! The bar broker ([`kestrel_engine::broker::SimBroker`], backtrader's semantics) sees each bar as
//! one OHLC record and never knows in which order the high and the low came. The tick engine
//! ([`kestrel_engine::engine::Engine`] with its simulated venue) sees prices one at a time. Running
//! both on the same bars shows where backtrader's bar rules and a tick-level matcher disagree, and
//! running the tick engine on both orders a bar can have been traded in shows which fills no bar
//! model can decide: a fill whose outcome depends on the order of the high and the low is
//! *intrabar-ambiguous*.
//!
//! # The three runs
//! - **bar broker**: the strategy on [`kestrel_engine::backtest::run`]; market orders placed at a
//!   bar's close fill at the next bar's open, bracket legs are backtrader's (`Context::bracket`:
//!   active from the bar after the entry filled, one leg's fill cancels the other).
//! - **path A** and **path B**: each bar becomes four trade ticks, `O→H→L→C` (A) or `O→L→H→C`
//!   (B), stamped 4, 3, 2 and 1 ns before the bar's time, then the bar itself
//!   ([`kestrel_types::Payload::Bar`]), on which the strategy decides, as backtrader's `next()`
//!   does at the close. Latency is zero: an order sent at a bar's close reaches the venue before
//!   the next bar's open tick, which fills a market order at the open, as the bar broker does. Each
//!   tick's size is 1000 × the order size: liquidity never limits a fill. Four ticks, not a walk
//!   over every price in the range, because they are exactly what the two candidate paths claim
//!   and nothing more: a finer walk would invent prices the data does not have.
//!
//! Both sides get the same cash (large enough for every order), the same commission scheme, and
//! the instrument grid of the data: the tick size from the most decimals its prices have (0.01 for
//! the backtrader samples), lot 1; for a Kestrel tick file, its instrument's grid.
//!
//! # Strategies
//! - `sma-cross`: backtrader's SMA crossover, long only (the crossover rule of
//!   [`kestrel_engine::strategy::sma_cross`]): buy `size` at market on a cross up when flat, sell
//!   the position at market on a cross down. Market orders at the next open: all three runs should
//!   agree on every fill.
//! - `sma-bracket`: the same entries with a protective stop `stop` below and a take-profit limit
//!   `target` above the entry price (fractions), rounded to the tick *away* from the entry (the stop
//!   down, the target up: never closer than asked, never at the entry). On the bar broker it is
//!   `Context::bracket` with a market main order; on the tick engine a market entry and, once it
//!   filled, a stop and a limit where the first fill of one cancels the other (the OCO is the
//!   tick strategy's). The tick legs go out at the close of the bar the entry filled on, when
//!   backtrader activates bracket legs: sent at the fill, their first look at the market would be
//!   the high or low print, which a trades-only venue takes as the touch (a target would fill at
//!   the high, as if the market had gapped there), an artifact of four prints that would count as
//!   ambiguity on bars covering one exit only (see `tick_side`). A cross down while in the
//!   position cancels the legs and sells at market.
//!   The entry price is the entry's fill: the tick strategy reads it from the fill, the bar strategy
//!   reads the next bar's open when it places the bracket (a look-ahead, but exactly the price its
//!   market entry fills at, so both sides put their exits at the same prices and every difference
//!   left is a matching difference).
//!
//! # What differs, by design
//! Beyond the intrabar order, the two modes differ in documented ways, which the report lists as
//! bar-vs-tick differences: a stop on ticks fills at the print that triggers it (the low, when the
//! path jumps there), backtrader at the stop price (slippage a bar cannot show); a resting limit
//! on ticks fills only on a print through it unless `--optimistic` (backtrader: at the limit when
//! the bar touches it).
//!
//! # Comparing
//! Orders are matched across runs by what the strategy meant, not by their sequence numbers (which
//! drift as soon as one run places an order another does not): an [`OrderKey`] is the bar whose
//! close decided it and its role (entry, stop, target, exit). Two runs *agree* on an order when it
//! has the same fills (bar, side, quantity, price) in both; an order neither filled agrees whether
//! it was placed or not. An intrabar-ambiguous **case** is a bar on which path A's fills (order,
//! side, quantity, price, in sequence) are not path B's: filled or not, price, or order of fills.
//! A bracket whose legs' bar covers both exits is one case (A takes the target at the high, B the
//! stop at the low), not two.
//!
//! # Output
//! Text: a header, the counts, one line per intrabar-ambiguous case (bar date, the orders, what
//! path A, path B and the bar broker did), then one line per order where the bar broker and a
//! tick path differ. `--json` prints one JSON object instead, with these keys:
//! - `data`, `format`, `bars`, `first`, `last`, `strategy`, `params` (object of strings), `tick`,
//!   `lot`, `cash`, `commission`, `optimistic`, `paths` (`{"path_a": "O-H-L-C", "path_b": "O-L-H-C"}`);
//! - `orders`, `fills`: `{"bar_broker": n, "path_a": n, "path_b": n}`;
//! - `compared`: orders compared (placed in at least one run);
//! - `bar_vs_a`, `bar_vs_b`, `a_vs_b`: `{"agree": n, "differ": n}`;
//! - `ambiguous`: the number of intrabar-ambiguous cases;
//! - `cases`: one object per case: `bar` (0-based index), `date`, `open`, `high`, `low`, `close`,
//!   `orders` (order objects), `path_a`, `path_b`, `bar_broker` (fill lists; the bar broker's are
//!   every fill of those orders, on whatever bar);
//! - `differences`: one object per order where the bar broker and a path differ: `order`, and
//!   `bar_broker`, `path_a`, `path_b`, each `{"status": s, "fills": [...]}` (`status` is the order's
//!   last status, lowercase, or `not placed`).
//!
//! An order object is `{"signal_bar", "signal_date", "role", "side"}`; a fill is `{"role",
//! "signal_bar", "seq" (the order's number in its run), "side", "qty", "price", "bar", "date",
//! "tick" ("O", "H", "L", "C"; null on the bar broker)}`. Prices and quantities are exact decimal
//! strings.

mod bar_side;
mod compare;
mod input;
mod report;
mod strategy;
mod tick_side;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use kestrel_engine::order::{Side, Status};
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_types::{Money, Price, Qty, Ratio};

use input::Format;
use strategy::{Spec, StrategyName};

/// Options of `kestrel diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The bars: a backtrader CSV (`btcsv`), a Yahoo CSV, or a Kestrel tick file with bar records.
    #[arg(long)]
    data: PathBuf,
    /// The strategy: `sma-cross` (market orders) or `sma-bracket` (market entry with a stop and a
    /// take-profit, one cancels the other).
    #[arg(long, default_value = "sma-cross")]
    strategy: String,
    /// A strategy parameter, `key=value` (repeatable); `--param help` lists them.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// The data's layout; `auto` reads a tick file's magic bytes, else the CSV header.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// The instrument of a tick file whose bars are used (index in its table).
    #[arg(long, default_value_t = 0)]
    instrument: u16,
    /// Starting cash of every run.
    #[arg(long, default_value = "1000000")]
    cash: Money,
    /// Commission as a fraction of each fill's value, the same in every run.
    #[arg(long, default_value = "0")]
    commission: Ratio,
    /// On ticks, a print exactly at a resting limit fills it (backtrader fills a limit the bar
    /// touches); default: only a print through it does.
    #[arg(long)]
    optimistic: bool,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

/// What an order was for in the strategy's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Role {
    /// The position's opening order.
    Entry,
    /// The protective stop of a bracket.
    Stop,
    /// The take-profit limit of a bracket.
    Target,
    /// The crossover's closing order.
    Exit,
}

impl Role {
    /// Lowercase name for reports.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Entry => "entry",
            Self::Stop => "stop",
            Self::Target => "target",
            Self::Exit => "exit",
        }
    }
}

/// One order as the strategy meant it, the same in every run: the bar whose close decided it (for
/// bracket legs, their entry's) and its role. Sequence numbers are not comparable across runs (one
/// run may place an order another does not); this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct OrderKey {
    /// 0-based index of the deciding bar.
    pub(crate) signal: usize,
    /// What the order is for.
    pub(crate) role: Role,
}

/// Where in a tick path a fill happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tick {
    Open,
    High,
    Low,
    Close,
}

impl Tick {
    /// `O`, `H`, `L` or `C`.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Open => "O",
            Self::High => "H",
            Self::Low => "L",
            Self::Close => "C",
        }
    }
}

/// An order a run placed, and its last status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OrderRec {
    pub(crate) key: OrderKey,
    /// Its id in the run (dense from 1 in both the bar broker and the tick engine).
    pub(crate) seq: u64,
    pub(crate) side: Side,
    pub(crate) status: Status,
}

/// One fill of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FillRec {
    pub(crate) key: OrderKey,
    pub(crate) seq: u64,
    pub(crate) side: Side,
    pub(crate) qty: Qty,
    pub(crate) price: Price,
    /// 0-based index of the bar it happened on.
    pub(crate) bar: usize,
    /// The tick of the path (tick runs only).
    pub(crate) tick: Option<Tick>,
}

impl FillRec {
    /// What two runs compare: everything but the run's own numbering and the tick.
    pub(crate) fn essence(&self) -> (OrderKey, Side, Qty, Price, usize) {
        (self.key, self.side, self.qty, self.price, self.bar)
    }
}

/// What one run did: its orders in submission order and its fills in time order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RunLog {
    pub(crate) orders: Vec<OrderRec>,
    pub(crate) fills: Vec<FillRec>,
}

impl RunLog {
    /// Records a placed order.
    pub(crate) fn placed(&mut self, key: OrderKey, seq: u64, side: Side) {
        self.orders.push(OrderRec { key, seq, side, status: Status::Submitted });
    }

    /// The order with id `seq`.
    pub(crate) fn order_mut(&mut self, seq: u64) -> Option<&mut OrderRec> {
        self.orders.iter_mut().rev().find(|o| o.seq == seq)
    }

    /// The order placed for `key`.
    pub(crate) fn order(&self, key: OrderKey) -> Option<&OrderRec> {
        self.orders.iter().find(|o| o.key == key)
    }
}

/// The path of ticks a bar becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// Open, high, low, close.
    A,
    /// Open, low, high, close.
    B,
}

impl Path {
    /// The ticks in the order the path visits them.
    pub(crate) const fn ticks(self) -> [Tick; 4] {
        match self {
            Self::A => [Tick::Open, Tick::High, Tick::Low, Tick::Close],
            Self::B => [Tick::Open, Tick::Low, Tick::High, Tick::Close],
        }
    }

    /// `O-H-L-C` or `O-L-H-C`.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::A => "O-H-L-C",
            Self::B => "O-L-H-C",
        }
    }
}

/// The run's settings shared by both sides.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Setup {
    pub(crate) spec: Spec,
    pub(crate) grid: kestrel_engine::engine::Grid,
    pub(crate) cash: Money,
    pub(crate) scheme: CommissionScheme,
    pub(crate) optimistic: bool,
}

/// Runs the diff and writes the report to `out`.
pub(crate) fn run(args: &DiffArgs, out: &mut impl Write) -> Result<()> {
    let name: StrategyName = args.strategy.parse()?;
    if args.params.iter().any(|p| p == "help") {
        writeln!(out, "{}", strategy::help(name))?;
        return Ok(());
    }
    let spec = Spec::parse(name, &args.params)?;
    if !args.cash.is_positive() {
        bail!("--cash must be > 0 (got {})", args.cash);
    }
    if args.commission.is_negative() {
        bail!("--commission must not be negative (got {})", args.commission);
    }
    let data = input::load(&args.data, args.format, args.instrument)?;
    let path = args.data.display();
    if data.bars.len() <= spec.slow {
        bail!("{path}: {} bars, need more than slow = {}", data.bars.len(), spec.slow);
    }
    if !spec.size.is_multiple_of(data.lot) {
        bail!("size {} is not a multiple of the data's lot {}", spec.size, data.lot);
    }
    let scheme = CommissionScheme::try_new(CommissionParams {
        commission: args.commission,
        ..CommissionParams::setcommission()
    })?;
    let setup = Setup {
        spec,
        grid: kestrel_engine::engine::Grid { tick: data.tick, lot: data.lot },
        cash: args.cash,
        scheme,
        optimistic: args.optimistic,
    };
    let bar = bar_side::run(&data.bars, &setup).map_err(|e| anyhow::anyhow!("{path}: bar broker: {e:#}"))?;
    let a = tick_side::run(&data.bars, &setup, Path::A)
        .map_err(|e| anyhow::anyhow!("{path}: tick engine, path {}: {e:#}", Path::A.name()))?;
    let b = tick_side::run(&data.bars, &setup, Path::B)
        .map_err(|e| anyhow::anyhow!("{path}: tick engine, path {}: {e:#}", Path::B.name()))?;
    let diff = compare::compare(&bar, &a, &b);
    let ctx = report::Context { args, data: &data, setup: &setup, runs: [&bar, &a, &b] };
    if args.json { report::write_json(&ctx, &diff, out) } else { report::write_text(&ctx, &diff, out) }
}
