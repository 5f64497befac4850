//! Scenario files (`FORMAT.md` §1) read into exact, typed values.
//!
//! A scenario is refused — with a [`ScenarioError`] naming the file, the JSON path of the field and
//! the reason — wherever backtrader's oracle (`oracle.py`: `validate`, then `run_scenario` and the
//! builders it calls) refuses it with exit 3: an unknown key in any object, an unknown op, exec type,
//! filler kind, bar format, timeframe or commtype, a `bar` that is not an integer ≥ 1, duplicate feed
//! names, a commission or an action naming an unknown feed, a `tradeid` other than 0, a missing data
//! file, a feed without `name` or `file`. Numbers are read from the JSON text itself, never through a
//! float: `1e-05` is exactly 0.00001, and a number needing more than 9 decimals, or out of range, is
//! refused naming its field.
//!
//! What the oracle only finds out while running is left to the runner: unknown or duplicate order
//! ids (a `close` on a flat position creates no order, so a later `cancel` of its id is an error only
//! then), and an order without an `id` (the oracle fails on that order's first notification).
//!
//! # Where this reader is stricter than the oracle
//! The oracle passes some values to backtrader unchecked, which then crashes (exit 1) or does
//! something the format does not define; this reader refuses them up front (exit 3), naming the
//! field:
//! - a value of the wrong JSON type (a string where a number goes, `1` where a boolean goes, `false`
//!   as a `tradeid`), and `null` where the format gives no meaning to it (broker keys, `commission`,
//!   `mult`, `percabs`, … — the oracle would pass `None` on, which for `percabs` silently means
//!   false);
//! - a non-positive order `size` (the format says positive; backtrader would drop a zero-size order
//!   and take the absolute value of a negative one), a negative filler parameter, a zero or negative
//!   `fundstartval`, and a commission scheme Kestrel cannot build (negative commission, interest or
//!   margin; `mult` or `leverage` ≤ 0);
//! - a fractional `compression` or `valid` span (backtrader truncates or rounds them), an unknown key
//!   in a `valid` object (the oracle ignores it), an empty date string;
//! - a `null` `transmit` (the oracle reads it as false), and a `null` price, plimit, trail amount or
//!   percent inside bracket leg args (the oracle would override the bracket's own value with
//!   "none", e.g. move the stop leg's price to the creation close).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use kestrel_engine::broker::BrokerConfig;
use kestrel_engine::order::{ExecType, Validity};
use kestrel_engine::scheme::{CommType, CommissionParams, CommissionScheme, SchemeError};
use kestrel_replay::bars::{BarFormat, DateWindow};
use kestrel_types::{Money, ParseDecimalError, Price, Qty, Ratio, TimeSpan, Timestamp};
use serde_json::{Map, Value};

/// Why a scenario was refused: which file, which field, why.
///
/// Exists so the runner can exit 3 with one line naming the scenario and the field, as `FORMAT.md` §5
/// asks and as the oracle does. `Display` is `"<scenario>: <field>: <reason>"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{scenario}: {field}: {reason}")]
pub struct ScenarioError {
    /// The scenario file (as given) or its name.
    pub scenario: String,
    /// A JSON path into the scenario: `actions[3].exectype`, `broker.filler.kind`, `data[0].file`;
    /// `$` for the document as a whole (unreadable file, invalid JSON, not an object).
    pub field: String,
    /// What is wrong, in words.
    pub reason: String,
}

/// A scenario file, parsed and checked: everything a runner needs, in exact numbers.
///
/// Exists so that the runner never looks at JSON: every default of `FORMAT.md` §1 is applied here
/// and every value has its Kestrel type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The scenario's `name`, or the file's stem when it has none (informational: the output's
    /// `scenario` field).
    pub name: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// The feeds, in file order; the first is the default feed, and outputs list positions in this
    /// order. Never empty.
    pub data: Vec<DataSpec>,
    /// The broker's configuration, defaults applied.
    pub broker: BrokerSpec,
    /// The commission schemes, in file order (a later entry for the same feed replaces an earlier
    /// one when installed in this order).
    pub commission: Vec<CommissionSpec>,
    /// The actions, in file order (so actions of one bar are in the order they must run).
    pub actions: Vec<Action>,
}

impl Scenario {
    /// The index in [`Scenario::data`] of the feed `name` names (`None`: the default feed, 0).
    ///
    /// Exists because actions and commissions refer to feeds by name; every name in a loaded
    /// scenario resolves, so `None` back means a name from elsewhere.
    pub fn feed_index(&self, name: Option<&str>) -> Option<usize> {
        match name {
            None => Some(0),
            Some(n) => self.data.iter().position(|d| d.name == n),
        }
    }

    /// Whether outputs print `dt` with a time (`YYYY-MM-DDTHH:MM:SS`): as the oracle decides it, when
    /// any feed's timeframe is not `days`.
    pub fn intraday(&self) -> bool {
        self.data.iter().any(|d| d.timeframe != Timeframe::Days)
    }
}

/// One feed of a scenario (`FORMAT.md` §1.1).
///
/// Exists to hand the bar reader ([`kestrel_replay::bars::read_bars`]) exactly what it needs: a
/// resolved path, the layout and the date window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSpec {
    /// The feed's name: what actions, commissions and outputs call it.
    pub name: String,
    /// The bar file, resolved against the data root; it existed when the scenario was loaded.
    pub file: PathBuf,
    /// The file's layout (default `btcsv`).
    pub format: BarFormat,
    /// The inclusive calendar-date window (`fromdate`/`todate`).
    pub window: DateWindow,
    /// The bar period (default days).
    pub timeframe: Timeframe,
    /// Period units per bar (default 1).
    pub compression: u32,
}

/// A feed's bar period: the two timeframes the format defines.
///
/// Exists because the period decides how `dt` is printed and whether a bar is stamped at session end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timeframe {
    /// Daily bars (`"days"`).
    Days,
    /// Intraday bars of `compression` minutes (`"minutes"`).
    Minutes,
}

impl Timeframe {
    /// The name scenarios use.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Days => "days",
            Self::Minutes => "minutes",
        }
    }
}

/// The broker's configuration (`FORMAT.md` §1.2), every key with its default applied.
///
/// Exists so the runner can build Kestrel's simulated broker without knowing the defaults.
/// `Default` is the format's defaults (backtrader's `BackBroker()` with `cash` 10000).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerSpec {
    /// Starting cash (default 10000).
    pub cash: Money,
    /// Check cash/margin at submission (default true).
    pub checksubmit: bool,
    /// Cheat-on-close (default false).
    pub coc: bool,
    /// Cheat-on-open (default false).
    pub coo: bool,
    /// Relative slippage (default 0; 0.01 is 1%).
    pub slip_perc: Ratio,
    /// Absolute slippage in price units (default 0).
    pub slip_fixed: Price,
    /// Slip fills at the bar's open too (default false).
    pub slip_open: bool,
    /// Cap a slipped price to the bar instead of not filling (default true).
    pub slip_match: bool,
    /// Cap limit-type fills even without `slip_match` (default true).
    pub slip_limit: bool,
    /// Use the slipped price even outside the bar (default false).
    pub slip_out: bool,
    /// A stock-like short credits its proceeds to cash (default true).
    pub shortcash: bool,
    /// Track fund value and shares (default false).
    pub fundmode: bool,
    /// Initial fund share value (default 100; always > 0).
    pub fundstartval: Money,
    /// Book credit interest into the closing fill's commission (default true).
    pub int2pnl: bool,
    /// The volume filler (default none: the whole remaining size fills).
    pub filler: Option<FillerSpec>,
}

impl Default for BrokerSpec {
    /// FORMAT §1.2's defaults, which are backtrader's `BackBroker()` defaults: taken from
    /// [`BrokerConfig::default`] so that the two cannot drift apart.
    fn default() -> Self {
        let c = BrokerConfig::default();
        Self {
            cash: c.cash,
            checksubmit: c.checksubmit,
            coc: c.coc,
            coo: c.coo,
            slip_perc: c.slippage.perc,
            slip_fixed: c.slippage.fixed,
            slip_open: c.slippage.open,
            slip_match: c.slippage.matched,
            slip_limit: c.slippage.limit,
            slip_out: c.slippage.out,
            shortcash: c.shortcash,
            fundmode: c.fundmode,
            fundstartval: c.fundstartval,
            int2pnl: c.int2pnl,
            filler: None,
        }
    }
}

/// A volume filler (`FORMAT.md` §1.2 `filler`, §4.11): how much of an order one bar can fill.
///
/// Exists as its own type because each kind has its own parameters; zero values that backtrader
/// tests for truth are normalised to `None` here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillerSpec {
    /// `min(V, |remaining|, size)`.
    FixedSize {
        /// Units per bar; `None` (absent, null or 0) is unlimited.
        size: Option<Qty>,
    },
    /// `min((V·perc) // 100, |remaining|)`.
    FixedBarPerc {
        /// Percent of the bar's volume (required; 100 = all).
        perc: Ratio,
    },
    /// `min(((V / parts)·perc) // 100, |remaining|)` with `parts = (H − L + minmov) // minmov`.
    BarPointPerc {
        /// The price step; `None` (absent, null or 0) means one part.
        minmov: Option<Price>,
        /// Percent of one part's volume (required).
        perc: Ratio,
    },
}

/// One commission entry (`FORMAT.md` §1.3): the feed it applies to and the scheme's parameters.
///
/// Exists so the runner installs schemes in file order without re-reading defaults: `params` starts
/// from [`CommissionParams::setcommission`] (percabs true, as the oracle's `broker.setcommission`)
/// with the entry's keys applied, and [`CommissionScheme::try_new`] accepted it at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommissionSpec {
    /// The feed's name (known to exist), or `None` (absent or null) for the default scheme.
    pub data: Option<String>,
    /// The scheme's parameters as given (`margin: null` or absent is `None`).
    pub params: CommissionParams,
}

/// One scripted action (`FORMAT.md` §1.4).
///
/// Exists to carry the strategy-clock bar it runs at and its place in the file (actions of one bar
/// run in file order) beside what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// The strategy-clock bar (1-based) at which it runs.
    pub bar: u64,
    /// Its position in the file's `actions` list (0-based): the tie-break within a bar, and what
    /// error messages name (`actions[index]`).
    pub index: usize,
    /// What it does.
    pub op: Op,
}

/// What an action does: one variant per `op` of `FORMAT.md` §1.4.
///
/// Exists so the runner dispatches on a closed set of typed operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `buy`: a new buy order.
    Buy(OrderArgs),
    /// `sell`: a new sell order.
    Sell(OrderArgs),
    /// `close`: an order of size −position (its `size`, when given, replaces |position|); no order
    /// and no id when the position is flat.
    Close(OrderArgs),
    /// `cancel`: cancel the order `id` if it is still in the broker's pending queue.
    Cancel {
        /// The order to cancel; `None` (absent or null) cancels nothing (the oracle cancels `None`,
        /// which is never pending). An id never registered is a run-time error.
        id: Option<String>,
    },
    /// `buy_bracket`: main buy, sell stop leg `id.stop`, sell limit leg `id.limit`.
    BuyBracket(BracketArgs),
    /// `sell_bracket`: main sell, buy stop leg `id.stop`, buy limit leg `id.limit`.
    SellBracket(BracketArgs),
    /// `order_target_size`: trade to hold `target` units.
    OrderTargetSize {
        /// The id of the order it creates (none is created when already at target).
        id: Option<String>,
        /// The feed (`None`: the default feed).
        data: Option<String>,
        /// The signed size to hold.
        target: Qty,
        /// The order's exec type (`None`: Market).
        exectype: Option<ExecType>,
        /// The order's price.
        price: Option<Price>,
    },
    /// `order_target_value`: trade to hold `target` of value (§4.10).
    OrderTargetValue {
        /// The id of the order it creates.
        id: Option<String>,
        /// The feed (`None`: the default feed).
        data: Option<String>,
        /// The signed position value to hold.
        target: Money,
        /// The order's exec type (`None`: Market).
        exectype: Option<ExecType>,
        /// The order's price, also the unit price for the size (`None`: the bar's close).
        price: Option<Price>,
    },
    /// `order_target_percent`: trade to hold `target` × portfolio value.
    OrderTargetPercent {
        /// The id of the order it creates.
        id: Option<String>,
        /// The feed (`None`: the default feed).
        data: Option<String>,
        /// The fraction of the broker's value to hold (signed: negative is short).
        target: Ratio,
        /// The order's exec type (`None`: Market).
        exectype: Option<ExecType>,
        /// The order's price.
        price: Option<Price>,
    },
    /// `add_cash`: queued; applied at the end of the next broker step (§4.9).
    AddCash {
        /// The amount (negative withdraws).
        amount: Money,
    },
}

/// The keys of a `buy`, `sell` or `close` action (`FORMAT.md` §1.4 "Order keys").
///
/// Exists to keep "not given" distinct from every value: `None` is the backtrader default. A `null`
/// is the same as absent for every key here except `transmit`, where it is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderArgs {
    /// The scenario id naming the order in outputs. `None`: backtrader registers the order under
    /// `None` and the oracle fails (exit 3) on its first notification.
    pub id: Option<String>,
    /// The feed (`None`: the default feed; a given name is known to exist).
    pub data: Option<String>,
    /// Units, strictly positive (`None`: 1 for buy/sell — backtrader's default sizer —, |position|
    /// for close).
    pub size: Option<Qty>,
    /// Exec type (`None`: Market).
    pub exectype: Option<ExecType>,
    /// Limit / trigger / trail reference price (`None`: `plimit`, else the creation close).
    pub price: Option<Price>,
    /// The limit of a StopLimit / StopTrailLimit.
    pub plimit: Option<Price>,
    /// Trailing distance as an amount (wins over `trailpercent`).
    pub trailamount: Option<Price>,
    /// Trailing distance as a fraction of the price (0.01 = 1%).
    pub trailpercent: Option<Ratio>,
    /// Validity; `None` (absent or null) is good till cancelled. Never `Some(Validity::Gtc)`; a zero
    /// span is read as `Some(Validity::Day)`.
    pub valid: Option<Validity>,
    /// An earlier order's id whose OCO group this one joins (resolved at run time).
    pub oco: Option<String>,
    /// The bracket parent's id (resolved at run time).
    pub parent: Option<String>,
    /// `Some(false)` holds the order until a later order of its chain transmits; `None` is true.
    pub transmit: Option<bool>,
}

/// The keys of a `buy_bracket` / `sell_bracket` action.
///
/// Exists because a bracket builds three orders the way backtrader's `buy_bracket` does, and the
/// runner must reproduce which keys reach which leg:
/// - main: `size`, `price`, `plimit`, `exectype`, `valid`, `trailamount`, `trailpercent`, then
///   `oargs` on top;
/// - stop leg (`id.stop`, when `stopexec` is not `None`): price `stopprice`, exec type `stopexec`,
///   `valid`, then `stopargs` on top (so `plimit` and trails reach it only through `stopargs`);
/// - limit leg (`id.limit`, when `limitexec` is not `None`): price `limitprice`, exec type
///   `limitexec`, `valid`, then `limitargs` on top;
/// - both legs have the main order's size and the opposite side, parent = main; transmit is false
///   on all but the last order created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BracketArgs {
    /// The main order's id; the legs are `id.stop` and `id.limit` (required: the oracle cannot name
    /// the legs without it).
    pub id: String,
    /// The feed (`None`: the default feed).
    pub data: Option<String>,
    /// Units, strictly positive (`None`: 1).
    pub size: Option<Qty>,
    /// The main order's exec type: default **Limit** (an explicit `null` is refused, as by the
    /// oracle).
    pub exectype: ExecType,
    /// The main order's price.
    pub price: Option<Price>,
    /// The main order's plimit.
    pub plimit: Option<Price>,
    /// The main order's trailing amount.
    pub trailamount: Option<Price>,
    /// The main order's trailing percent.
    pub trailpercent: Option<Ratio>,
    /// Validity of all three orders (`None`: good till cancelled).
    pub valid: Option<Validity>,
    /// The stop leg's price.
    pub stopprice: Option<Price>,
    /// The stop leg's exec type: default `Some(Stop)`; an explicit `null` is `None`, no stop leg.
    pub stopexec: Option<ExecType>,
    /// The limit leg's price.
    pub limitprice: Option<Price>,
    /// The limit leg's exec type: default `Some(Limit)`; an explicit `null` is `None`, no limit leg.
    pub limitexec: Option<ExecType>,
    /// Overrides for the main order (`oargs`).
    pub oargs: LegArgs,
    /// Overrides for the stop leg (`stopargs`).
    pub stopargs: LegArgs,
    /// Overrides for the limit leg (`limitargs`).
    pub limitargs: LegArgs,
}

/// Per-leg overrides of a bracket (`oargs`, `stopargs`, `limitargs`): `None` keeps what the bracket
/// gives the leg, `Some` replaces it.
///
/// Exists because backtrader applies these dictionaries on top of each leg's arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegArgs {
    /// Replaces the leg's exec type.
    pub exectype: Option<ExecType>,
    /// Replaces the leg's price.
    pub price: Option<Price>,
    /// Replaces (or gives) the leg's plimit.
    pub plimit: Option<Price>,
    /// Replaces (or gives) the leg's trailing amount.
    pub trailamount: Option<Price>,
    /// Replaces (or gives) the leg's trailing percent.
    pub trailpercent: Option<Ratio>,
    /// Replaces the leg's validity; an explicit `null` is `Some(Validity::Gtc)`.
    pub valid: Option<Validity>,
}

/// Reads the scenario at `path`, resolving data files against the shared data folder:
/// `$KESTREL_DATA_ROOT` when set, else the nearest `shared/data` above the scenario's folder
/// ([`kestrel_replay::data_root`]).
///
/// Exists as the runner's one entry point: `kestrel conform SCENARIO` exits 3 with the error.
///
/// # Errors
/// A [`ScenarioError`] naming the field for everything the format does not define.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let root = kestrel_replay::data_root(&dir).map_err(|e| e.to_string());
    let text = read(path)?;
    parse_with_root(&text, path, root)
}

/// [`load`] with the data folder given: for tools with a `--data-root` option and for tests that
/// must not depend on the environment.
///
/// # Errors
/// As [`load`].
pub fn load_with_data_root(path: &Path, data_root: &Path) -> Result<Scenario, ScenarioError> {
    let text = read(path)?;
    parse_with_root(&text, path, Ok(data_root.to_path_buf()))
}

/// Parses scenario text; `path` names it in errors (and its stem is the fallback name), data files
/// resolve against `data_root`.
///
/// # Errors
/// As [`load`].
pub fn parse(text: &str, path: &Path, data_root: &Path) -> Result<Scenario, ScenarioError> {
    parse_with_root(text, path, Ok(data_root.to_path_buf()))
}

fn read(path: &Path) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path).map_err(|e| ScenarioError {
        scenario: path.display().to_string(),
        field: "$".into(),
        reason: format!("cannot read the scenario: {e}"),
    })
}

const TOP_KEYS: &[&str] = &["name", "description", "features", "data", "broker", "commission", "actions"];
const DATA_KEYS: &[&str] = &["name", "file", "format", "fromdate", "todate", "timeframe", "compression"];
const BROKER_KEYS: &[&str] = &[
    "cash",
    "checksubmit",
    "coc",
    "coo",
    "slip_perc",
    "slip_fixed",
    "slip_open",
    "slip_match",
    "slip_limit",
    "slip_out",
    "shortcash",
    "fundmode",
    "fundstartval",
    "int2pnl",
    "filler",
];
const COMMISSION_KEYS: &[&str] = &[
    "data",
    "commission",
    "margin",
    "mult",
    "commtype",
    "percabs",
    "stocklike",
    "interest",
    "interest_long",
    "leverage",
    "automargin",
];
const ORDER_KEYS: &[&str] = &[
    "id",
    "data",
    "size",
    "exectype",
    "price",
    "plimit",
    "trailamount",
    "trailpercent",
    "valid",
    "oco",
    "parent",
    "transmit",
    "tradeid",
];
const BRACKET_KEYS: &[&str] = &[
    "id",
    "data",
    "size",
    "exectype",
    "price",
    "plimit",
    "stopprice",
    "stopexec",
    "limitprice",
    "limitexec",
    "valid",
    "tradeid",
    "trailamount",
    "trailpercent",
    "oargs",
    "stopargs",
    "limitargs",
];
const TARGET_KEYS: &[&str] = &["id", "data", "target", "exectype", "price"];
const LEG_KEYS: &[&str] = &["exectype", "price", "plimit", "trailamount", "trailpercent", "valid"];
const VALID_KEYS: &[&str] = &["days", "hours", "minutes"];
const OPS: &[&str] = &[
    "buy",
    "sell",
    "close",
    "cancel",
    "buy_bracket",
    "sell_bracket",
    "order_target_size",
    "order_target_value",
    "order_target_percent",
    "add_cash",
];

/// The keys an action of `op` may carry besides `bar` and `op`.
fn action_keys(op: &str) -> &'static [&'static str] {
    match op {
        "buy" | "sell" | "close" => ORDER_KEYS,
        "cancel" => &["id"],
        "buy_bracket" | "sell_bracket" => BRACKET_KEYS,
        "order_target_size" | "order_target_value" | "order_target_percent" => TARGET_KEYS,
        _ => &["amount"],
    }
}

fn parse_with_root(
    text: &str,
    path: &Path,
    root: Result<PathBuf, String>,
) -> Result<Scenario, ScenarioError> {
    let r = Reader { scenario: path.display().to_string(), root };
    let doc: Value = serde_json::from_str(text).map_err(|e| r.err("$", format!("not valid JSON: {e}")))?;
    let top = r.object(&doc, "", TOP_KEYS)?;

    let name = match top.given("name") {
        None => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        Some(v) => r.string(v, "name")?,
    };

    let data = r.data(&top)?;
    let names: Vec<&str> = data.iter().map(|d| d.name.as_str()).collect();
    let broker = match top.get("broker") {
        None => BrokerSpec::default(),
        Some(v) => r.broker(v)?,
    };
    let commission = match top.get("commission") {
        None => Vec::new(),
        Some(v) => r
            .list(v, "commission")?
            .iter()
            .enumerate()
            .map(|(i, c)| r.commission(c, i, &names))
            .collect::<Result<_, _>>()?,
    };
    let actions = match top.get("actions") {
        None => Vec::new(),
        Some(v) => r
            .list(v, "actions")?
            .iter()
            .enumerate()
            .map(|(i, a)| r.action(a, i, &names))
            .collect::<Result<_, _>>()?,
    };
    Ok(Scenario { name, path: path.to_path_buf(), data, broker, commission, actions })
}

/// `path.key`, or `key` at the top level.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// A short rendering of a JSON value for messages.
fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 { format!("{}…", text.chars().take(60).collect::<String>()) } else { text }
}

/// One object of the scenario, its keys checked.
struct Obj<'v> {
    map: &'v Map<String, Value>,
    path: String,
}

impl<'v> Obj<'v> {
    /// The value of `key`, `None` when absent.
    fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key)
    }

    /// The value of `key`, `None` when absent or `null`.
    fn given(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The JSON path of `key`.
    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

/// The parsing context: which scenario (for errors) and where data files live.
struct Reader {
    scenario: String,
    root: Result<PathBuf, String>,
}

impl Reader {
    fn err(&self, field: &str, reason: impl Into<String>) -> ScenarioError {
        ScenarioError { scenario: self.scenario.clone(), field: field.to_owned(), reason: reason.into() }
    }

    /// `v` as an object whose keys are all in `allowed`; `path` is its JSON path (`""` at the top).
    fn object<'v>(&self, v: &'v Value, path: &str, allowed: &[&str]) -> Result<Obj<'v>, ScenarioError> {
        let field = if path.is_empty() { "$" } else { path };
        let map = v
            .as_object()
            .ok_or_else(|| self.err(field, format!("expected an object, got {}", describe(v))))?;
        if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(self.err(
                &join(path, key),
                format!("unknown key {key:?} (allowed here: {})", allowed.join(", ")),
            ));
        }
        Ok(Obj { map, path: path.to_owned() })
    }

    fn list<'v>(&self, v: &'v Value, field: &str) -> Result<&'v Vec<Value>, ScenarioError> {
        v.as_array().ok_or_else(|| self.err(field, format!("expected a list, got {}", describe(v))))
    }

    fn string(&self, v: &Value, field: &str) -> Result<String, ScenarioError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.err(field, format!("expected a string, got {}", describe(v))))
    }

    fn boolean(&self, v: &Value, field: &str) -> Result<bool, ScenarioError> {
        v.as_bool().ok_or_else(|| self.err(field, format!("expected true or false, got {}", describe(v))))
    }

    /// A JSON number read from its text into a Kestrel decimal, exactly.
    fn decimal<T: FromStr<Err = ParseDecimalError>>(
        &self,
        v: &Value,
        field: &str,
    ) -> Result<T, ScenarioError> {
        let Value::Number(n) = v else {
            return Err(self.err(field, format!("expected a number, got {}", describe(v))));
        };
        let text = n.to_string();
        text.parse::<T>().map_err(|e| self.err(field, format!("{text}: {e}")))
    }

    /// An optional decimal: absent or `null` is `None`.
    fn opt_decimal<T: FromStr<Err = ParseDecimalError>>(
        &self,
        o: &Obj<'_>,
        key: &str,
    ) -> Result<Option<T>, ScenarioError> {
        o.given(key).map(|v| self.decimal(v, &o.field(key))).transpose()
    }

    /// A decimal with a default when absent; `null` is refused (the format gives it no meaning).
    fn decimal_or<T: FromStr<Err = ParseDecimalError>>(
        &self,
        o: &Obj<'_>,
        key: &str,
        default: T,
    ) -> Result<T, ScenarioError> {
        o.get(key).map_or(Ok(default), |v| self.decimal(v, &o.field(key)))
    }

    /// A boolean with a default when absent; `null` is refused.
    fn bool_or(&self, o: &Obj<'_>, key: &str, default: bool) -> Result<bool, ScenarioError> {
        o.get(key).map_or(Ok(default), |v| self.boolean(v, &o.field(key)))
    }

    /// An optional string: absent or `null` is `None`.
    fn opt_string(&self, o: &Obj<'_>, key: &str) -> Result<Option<String>, ScenarioError> {
        o.given(key).map(|v| self.string(v, &o.field(key))).transpose()
    }

    /// A whole number, written as an integer or as a decimal with a zero fraction (`5`, `5.0`).
    fn whole(&self, v: &Value, field: &str) -> Result<i64, ScenarioError> {
        let q: Qty = self.decimal(v, field)?;
        if q.raw() % Qty::SCALE != 0 {
            return Err(self.err(field, format!("expected a whole number, got {}", describe(v))));
        }
        Ok(q.raw() / Qty::SCALE)
    }

    fn exectype(&self, v: &Value, field: &str) -> Result<ExecType, ScenarioError> {
        v.as_str().and_then(ExecType::from_name).ok_or_else(|| {
            let names: Vec<&str> = ExecType::ALL.iter().map(|e| e.name()).collect();
            self.err(field, format!("unknown exectype {} (want one of {})", describe(v), names.join(", ")))
        })
    }

    /// An optional exec type: absent or `null` is `None`.
    fn opt_exectype(&self, o: &Obj<'_>, key: &str) -> Result<Option<ExecType>, ScenarioError> {
        o.given(key).map(|v| self.exectype(v, &o.field(key))).transpose()
    }

    fn date(&self, v: &Value, field: &str) -> Result<NaiveDate, ScenarioError> {
        v.as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .ok_or_else(|| self.err(field, format!("expected a date \"YYYY-MM-DD\", got {}", describe(v))))
    }

    /// `valid`: `null` → GTC, `"DAY"`, `"YYYY-MM-DD"` (that date 00:00 UTC), or a span object
    /// (a zero span is DAY, as backtrader's `Order.DAY` is the empty timedelta).
    fn validity(&self, v: &Value, field: &str) -> Result<Validity, ScenarioError> {
        match v {
            Value::Null => Ok(Validity::Gtc),
            Value::String(s) if s == "DAY" => Ok(Validity::Day),
            Value::String(_) => {
                let d = self.date(v, field)?;
                Timestamp::from_ymd_hms_nano(d.year(), d.month(), d.day(), 0, 0, 0, 0)
                    .map(Validity::Until)
                    .ok_or_else(|| self.err(field, format!("{d}: date out of range")))
            }
            Value::Object(_) => {
                let o = self.object(v, field, VALID_KEYS)?;
                let part = |key: &str| -> Result<i64, ScenarioError> {
                    o.get(key).map_or(Ok(0), |x| self.whole(x, &o.field(key)))
                };
                let (days, hours, minutes) = (part("days")?, part("hours")?, part("minutes")?);
                let span = TimeSpan::from_dhms(days, hours, minutes, 0)
                    .ok_or_else(|| self.err(field, "span out of range"))?;
                Ok(if span == TimeSpan::ZERO { Validity::Day } else { Validity::For(span) })
            }
            _ => Err(self.err(
                field,
                format!(
                    "bad valid {} (want null, \"DAY\", \"YYYY-MM-DD\" or {{\"days\",\"hours\",\"minutes\"}})",
                    describe(v)
                ),
            )),
        }
    }

    /// An optional validity: absent or `null` is `None` (good till cancelled).
    fn opt_validity(&self, o: &Obj<'_>, key: &str) -> Result<Option<Validity>, ScenarioError> {
        o.given(key).map(|v| self.validity(v, &o.field(key))).transpose()
    }

    /// A feed reference: absent or `null` is the default feed; a name must be one of `names`.
    fn feed_ref(&self, o: &Obj<'_>, key: &str, names: &[&str]) -> Result<Option<String>, ScenarioError> {
        let Some(v) = o.given(key) else { return Ok(None) };
        match v.as_str() {
            Some(s) if names.contains(&s) => Ok(Some(s.to_owned())),
            _ => Err(self
                .err(&o.field(key), format!("unknown data {} (feeds: {})", describe(v), names.join(", ")))),
        }
    }

    fn data(&self, top: &Obj<'_>) -> Result<Vec<DataSpec>, ScenarioError> {
        let list = match top.given("data") {
            None => return Err(self.err("data", "no data: a scenario needs at least one feed")),
            Some(v) => self.list(v, "data")?,
        };
        if list.is_empty() {
            return Err(self.err("data", "no data: a scenario needs at least one feed"));
        }
        let mut out: Vec<DataSpec> = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let o = self.object(v, &format!("data[{i}]"), DATA_KEYS)?;
            let (Some(name_v), Some(file_v)) = (o.get("name"), o.get("file")) else {
                let missing = if o.get("name").is_none() { "name" } else { "file" };
                return Err(self.err(&o.field(missing), "missing: every feed needs a name and a file"));
            };
            let name = self.string(name_v, &o.field("name"))?;
            if out.iter().any(|d| d.name == name) {
                return Err(self.err(&o.field("name"), format!("duplicate feed name {name:?}")));
            }
            let file_text = self.string(file_v, &o.field("file"))?;
            let root = self.root.as_ref().map_err(|e| self.err(&o.field("file"), e.clone()))?;
            let file = root.join(&file_text);
            if !file.is_file() {
                return Err(self.err(&o.field("file"), format!("data file not found: {}", file.display())));
            }
            let format = match o.get("format") {
                None => BarFormat::BtCsv,
                Some(v) => v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                    self.err(&o.field("format"), format!("unknown data format {}", describe(v)))
                })?,
            };
            let date = |key: &str| o.given(key).map(|v| self.date(v, &o.field(key))).transpose();
            let window = DateWindow { from: date("fromdate")?, to: date("todate")? };
            let timeframe = match o.get("timeframe").map(|v| (v, v.as_str())) {
                None => Timeframe::Days,
                Some((_, Some("days"))) => Timeframe::Days,
                Some((_, Some("minutes"))) => Timeframe::Minutes,
                Some((v, _)) => {
                    return Err(self.err(
                        &o.field("timeframe"),
                        format!("unknown timeframe {} (want \"days\" or \"minutes\")", describe(v)),
                    ));
                }
            };
            let compression = match o.get("compression") {
                None => 1,
                Some(v) => {
                    let field = o.field("compression");
                    let n = self.whole(v, &field)?;
                    u32::try_from(n)
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| self.err(&field, format!("expected an integer >= 1, got {n}")))?
                }
            };
            out.push(DataSpec { name, file, format, window, timeframe, compression });
        }
        Ok(out)
    }

    fn broker(&self, v: &Value) -> Result<BrokerSpec, ScenarioError> {
        let o = self.object(v, "broker", BROKER_KEYS)?;
        let d = BrokerSpec::default();
        let fundstartval = self.decimal_or(&o, "fundstartval", d.fundstartval)?;
        if !fundstartval.is_positive() {
            return Err(self.err("broker.fundstartval", format!("must be > 0, got {fundstartval}")));
        }
        Ok(BrokerSpec {
            cash: self.decimal_or(&o, "cash", d.cash)?,
            checksubmit: self.bool_or(&o, "checksubmit", d.checksubmit)?,
            coc: self.bool_or(&o, "coc", d.coc)?,
            coo: self.bool_or(&o, "coo", d.coo)?,
            slip_perc: self.decimal_or(&o, "slip_perc", d.slip_perc)?,
            slip_fixed: self.decimal_or(&o, "slip_fixed", d.slip_fixed)?,
            slip_open: self.bool_or(&o, "slip_open", d.slip_open)?,
            slip_match: self.bool_or(&o, "slip_match", d.slip_match)?,
            slip_limit: self.bool_or(&o, "slip_limit", d.slip_limit)?,
            slip_out: self.bool_or(&o, "slip_out", d.slip_out)?,
            shortcash: self.bool_or(&o, "shortcash", d.shortcash)?,
            fundmode: self.bool_or(&o, "fundmode", d.fundmode)?,
            fundstartval,
            int2pnl: self.bool_or(&o, "int2pnl", d.int2pnl)?,
            filler: o.given("filler").map(|f| self.filler(f)).transpose()?,
        })
    }

    fn filler(&self, v: &Value) -> Result<FillerSpec, ScenarioError> {
        const PATH: &str = "broker.filler";
        let map = v
            .as_object()
            .ok_or_else(|| self.err(PATH, format!("expected an object with a kind, got {}", describe(v))))?;
        let kind = map.get("kind").and_then(Value::as_str);
        let allowed: &[&str] = match kind {
            Some("fixed_size") => &["kind", "size"],
            Some("fixed_bar_perc") => &["kind", "perc"],
            Some("bar_point_perc") => &["kind", "minmov", "perc"],
            _ => {
                let given = map.get("kind").map_or_else(|| "none".to_owned(), describe);
                return Err(self.err(
                    "broker.filler.kind",
                    format!(
                        "unknown filler kind {given} (want fixed_size, fixed_bar_perc or bar_point_perc)"
                    ),
                ));
            }
        };
        let o = self.object(v, PATH, allowed)?;
        let not_negative = |x: Ratio, key: &str| {
            if x.is_negative() {
                Err(self.err(&o.field(key), format!("must be >= 0, got {x}")))
            } else {
                Ok(x)
            }
        };
        let perc = || -> Result<Ratio, ScenarioError> {
            let v =
                o.get("perc").ok_or_else(|| self.err(&o.field("perc"), "missing: this filler needs perc"))?;
            not_negative(self.decimal(v, &o.field("perc"))?, "perc")
        };
        Ok(match kind {
            Some("fixed_size") => {
                let size: Option<Qty> = self.opt_decimal(&o, "size")?;
                if let Some(s) = size.filter(|s| s.is_negative()) {
                    return Err(self.err(&o.field("size"), format!("must be >= 0, got {s}")));
                }
                FillerSpec::FixedSize { size: size.filter(|s| !s.is_zero()) }
            }
            Some("fixed_bar_perc") => FillerSpec::FixedBarPerc { perc: perc()? },
            _ => {
                let minmov: Option<Price> = self.opt_decimal(&o, "minmov")?;
                if let Some(m) = minmov.filter(|m| m.is_negative()) {
                    return Err(self.err(&o.field("minmov"), format!("must be >= 0, got {m}")));
                }
                FillerSpec::BarPointPerc { minmov: minmov.filter(|m| !m.is_zero()), perc: perc()? }
            }
        })
    }

    fn commission(&self, v: &Value, i: usize, names: &[&str]) -> Result<CommissionSpec, ScenarioError> {
        let o = self.object(v, &format!("commission[{i}]"), COMMISSION_KEYS)?;
        let data = self.feed_ref(&o, "data", names)?;
        let d = CommissionParams::setcommission();
        let commtype = match o.given("commtype") {
            None => None,
            Some(v) => match v.as_str() {
                Some("perc") => Some(CommType::Perc),
                Some("fixed") => Some(CommType::Fixed),
                _ => {
                    return Err(self.err(
                        &o.field("commtype"),
                        format!("unknown commtype {} (want \"perc\", \"fixed\" or null)", describe(v)),
                    ));
                }
            },
        };
        let automargin = match o.get("automargin") {
            None => d.automargin,
            Some(Value::Bool(false)) => Ratio::ZERO,
            Some(Value::Bool(true)) => Ratio::ONE,
            Some(v) => self.decimal(v, &o.field("automargin"))?,
        };
        let params = CommissionParams {
            commission: self.decimal_or(&o, "commission", d.commission)?,
            mult: self.decimal_or(&o, "mult", d.mult)?,
            margin: self.opt_decimal(&o, "margin")?,
            commtype,
            stocklike: self.bool_or(&o, "stocklike", d.stocklike)?,
            percabs: self.bool_or(&o, "percabs", d.percabs)?,
            interest: self.decimal_or(&o, "interest", d.interest)?,
            interest_long: self.bool_or(&o, "interest_long", d.interest_long)?,
            leverage: self.decimal_or(&o, "leverage", d.leverage)?,
            automargin,
        };
        CommissionScheme::try_new(params).map_err(|e| {
            let key = match e {
                SchemeError::NotPositive { field, .. } | SchemeError::Negative { field, .. } => {
                    o.field(field)
                }
                SchemeError::NegativeMargin { .. } => o.field("margin"),
                SchemeError::Arith(_) => o.path.clone(),
            };
            self.err(&key, e.to_string())
        })?;
        Ok(CommissionSpec { data, params })
    }

    fn action(&self, v: &Value, i: usize, names: &[&str]) -> Result<Action, ScenarioError> {
        let path = format!("actions[{i}]");
        let map = v
            .as_object()
            .ok_or_else(|| self.err(&path, format!("expected an object with an op, got {}", describe(v))))?;
        let op_name = match map.get("op").and_then(Value::as_str) {
            Some(op) if OPS.contains(&op) => op,
            _ => {
                let given = map.get("op").map_or_else(|| "none".to_owned(), describe);
                return Err(self.err(
                    &join(&path, "op"),
                    format!("unknown op {given} (want one of {})", OPS.join(", ")),
                ));
            }
        };
        let mut allowed: Vec<&str> = vec!["bar", "op"];
        allowed.extend_from_slice(action_keys(op_name));
        let o = self.object(v, &path, &allowed)?;

        let bar = match o.get("bar") {
            Some(Value::Number(n)) => n.to_string().parse::<u64>().ok().filter(|b| *b >= 1),
            _ => None,
        }
        .ok_or_else(|| {
            let given = o.get("bar").map_or_else(|| "none".to_owned(), describe);
            self.err(&o.field("bar"), format!("expected an integer >= 1, got {given}"))
        })?;

        if let Some(t) = o.get("tradeid") {
            let zero = matches!(t, Value::Number(n) if n.to_string().parse::<Qty>().is_ok_and(Qty::is_zero));
            if !zero {
                return Err(self
                    .err(&o.field("tradeid"), format!("only 0 is part of the format, got {}", describe(t))));
            }
        }

        let op = match op_name {
            "buy" => Op::Buy(self.order_args(&o, names)?),
            "sell" => Op::Sell(self.order_args(&o, names)?),
            "close" => Op::Close(self.order_args(&o, names)?),
            "cancel" => Op::Cancel { id: self.opt_string(&o, "id")? },
            "buy_bracket" => Op::BuyBracket(self.bracket_args(&o, names)?),
            "sell_bracket" => Op::SellBracket(self.bracket_args(&o, names)?),
            "order_target_size" => Op::OrderTargetSize {
                id: self.opt_string(&o, "id")?,
                data: self.feed_ref(&o, "data", names)?,
                target: self.required_decimal(&o, "target")?,
                exectype: self.opt_exectype(&o, "exectype")?,
                price: self.opt_decimal(&o, "price")?,
            },
            "order_target_value" => Op::OrderTargetValue {
                id: self.opt_string(&o, "id")?,
                data: self.feed_ref(&o, "data", names)?,
                target: self.required_decimal(&o, "target")?,
                exectype: self.opt_exectype(&o, "exectype")?,
                price: self.opt_decimal(&o, "price")?,
            },
            "order_target_percent" => Op::OrderTargetPercent {
                id: self.opt_string(&o, "id")?,
                data: self.feed_ref(&o, "data", names)?,
                target: self.required_decimal(&o, "target")?,
                exectype: self.opt_exectype(&o, "exectype")?,
                price: self.opt_decimal(&o, "price")?,
            },
            _ => Op::AddCash { amount: self.required_decimal(&o, "amount")? },
        };
        Ok(Action { bar, index: i, op })
    }

    /// A decimal that must be given (not absent, not `null`).
    fn required_decimal<T: FromStr<Err = ParseDecimalError>>(
        &self,
        o: &Obj<'_>,
        key: &str,
    ) -> Result<T, ScenarioError> {
        let v = o.get(key).ok_or_else(|| self.err(&o.field(key), "missing: this op needs it"))?;
        self.decimal(v, &o.field(key))
    }

    /// An optional size: absent or `null` is `None`; a given size must be > 0.
    fn size(&self, o: &Obj<'_>) -> Result<Option<Qty>, ScenarioError> {
        let size: Option<Qty> = self.opt_decimal(o, "size")?;
        match size {
            Some(s) if !s.is_positive() => {
                Err(self.err(&o.field("size"), format!("expected a positive number of units, got {s}")))
            }
            _ => Ok(size),
        }
    }

    fn order_args(&self, o: &Obj<'_>, names: &[&str]) -> Result<OrderArgs, ScenarioError> {
        Ok(OrderArgs {
            id: self.opt_string(o, "id")?,
            data: self.feed_ref(o, "data", names)?,
            size: self.size(o)?,
            exectype: self.opt_exectype(o, "exectype")?,
            price: self.opt_decimal(o, "price")?,
            plimit: self.opt_decimal(o, "plimit")?,
            trailamount: self.opt_decimal(o, "trailamount")?,
            trailpercent: self.opt_decimal(o, "trailpercent")?,
            valid: self.opt_validity(o, "valid")?,
            oco: self.opt_string(o, "oco")?,
            parent: self.opt_string(o, "parent")?,
            transmit: o.get("transmit").map(|v| self.boolean(v, &o.field("transmit"))).transpose()?,
        })
    }

    fn bracket_args(&self, o: &Obj<'_>, names: &[&str]) -> Result<BracketArgs, ScenarioError> {
        let id = match o.given("id") {
            Some(v) => self.string(v, &o.field("id"))?,
            None => return Err(self.err(&o.field("id"), "missing: a bracket needs an id to name its legs")),
        };
        let leg_exec = |key: &str, default: ExecType| -> Result<Option<ExecType>, ScenarioError> {
            match o.get(key) {
                None => Ok(Some(default)),
                Some(Value::Null) => Ok(None),
                Some(v) => self.exectype(v, &o.field(key)).map(Some),
            }
        };
        Ok(BracketArgs {
            id,
            data: self.feed_ref(o, "data", names)?,
            size: self.size(o)?,
            exectype: match o.get("exectype") {
                None => ExecType::Limit,
                Some(v) => self.exectype(v, &o.field("exectype"))?,
            },
            price: self.opt_decimal(o, "price")?,
            plimit: self.opt_decimal(o, "plimit")?,
            trailamount: self.opt_decimal(o, "trailamount")?,
            trailpercent: self.opt_decimal(o, "trailpercent")?,
            valid: self.opt_validity(o, "valid")?,
            stopprice: self.opt_decimal(o, "stopprice")?,
            stopexec: leg_exec("stopexec", ExecType::Stop)?,
            limitprice: self.opt_decimal(o, "limitprice")?,
            limitexec: leg_exec("limitexec", ExecType::Limit)?,
            oargs: self.leg_args(o, "oargs")?,
            stopargs: self.leg_args(o, "stopargs")?,
            limitargs: self.leg_args(o, "limitargs")?,
        })
    }

    fn leg_args(&self, parent: &Obj<'_>, key: &str) -> Result<LegArgs, ScenarioError> {
        let Some(v) = parent.given(key) else { return Ok(LegArgs::default()) };
        let o = self.object(v, &parent.field(key), LEG_KEYS)?;
        let no_null = |k: &str| -> Result<(), ScenarioError> {
            if o.get(k).is_some_and(Value::is_null) {
                return Err(self.err(
                    &o.field(k),
                    "null is not part of the format here (it would clear the bracket's value); leave the key out",
                ));
            }
            Ok(())
        };
        for k in ["exectype", "price", "plimit", "trailamount", "trailpercent"] {
            no_null(k)?;
        }
        Ok(LegArgs {
            exectype: self.opt_exectype(&o, "exectype")?,
            price: self.opt_decimal(&o, "price")?,
            plimit: self.opt_decimal(&o, "plimit")?,
            trailamount: self.opt_decimal(&o, "trailamount")?,
            trailpercent: self.opt_decimal(&o, "trailpercent")?,
            valid: o.get("valid").map(|v| self.validity(v, &o.field("valid"))).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `shared/` beside the repository, found as the data root is (walking up from this crate).
    fn shared() -> PathBuf {
        let root = kestrel_replay::data_root(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("shared/data");
        root.parent().expect("shared").to_path_buf()
    }

    fn data_root() -> PathBuf {
        shared().join("data")
    }

    fn public_scenarios() -> Vec<PathBuf> {
        let dir = shared().join("conformance").join("scenarios");
        let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("scenarios folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                n.ends_with(".json") && !n.ends_with(".expected.json")
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_public_scenario_loads() {
        let files = public_scenarios();
        assert_eq!(files.len(), 56, "the public suite has 56 scenarios");
        for f in &files {
            let sc = load(f).unwrap_or_else(|e| panic!("{e}"));
            let sc2 = load_with_data_root(f, &data_root()).unwrap_or_else(|e| panic!("{e}"));
            // The same files, however each root was spelled (a symlinked shared/ resolves differently).
            let canon = |d: &[DataSpec]| {
                d.iter().map(|d| d.file.canonicalize().expect("data file")).collect::<Vec<_>>()
            };
            assert_eq!(canon(&sc.data), canon(&sc2.data));
            assert_eq!(Some(sc.name.as_str()), f.file_stem().and_then(|s| s.to_str()));
            assert!(!sc.data.is_empty());
            for (i, a) in sc.actions.iter().enumerate() {
                assert_eq!(a.index, i);
                assert!(a.bar >= 1);
            }
        }
    }

    #[test]
    fn public_scenarios_parse_to_the_expected_values() {
        let dir = shared().join("conformance").join("scenarios");
        let sc = load(&dir.join("p49_multi_data.json")).unwrap();
        assert_eq!(sc.data.len(), 2);
        assert_eq!(sc.data[1].name, "yhoo");
        assert_eq!(sc.data[1].format, BarFormat::Yahoo);
        assert_eq!(sc.data[0].window.from, NaiveDate::from_ymd_opt(2005, 1, 1));
        assert_eq!(sc.feed_index(Some("yhoo")), Some(1));
        assert_eq!(sc.feed_index(None), Some(0));
        assert_eq!(sc.commission.len(), 2);
        assert_eq!(sc.commission[0].data, None);
        assert_eq!(sc.commission[0].params.commission, "0.002".parse().unwrap());
        assert!(sc.commission[0].params.percabs, "setcommission defaults: percabs true");
        assert_eq!(sc.commission[1].data.as_deref(), Some("yhoo"));
        assert_eq!(sc.commission[1].params.commtype, Some(CommType::Fixed));
        assert!(sc.commission[1].params.stocklike);
        assert!(!sc.intraday());

        let sc = load(&dir.join("p50_intraday_day_valid.json")).unwrap();
        assert!(sc.intraday());
        assert_eq!(sc.data[0].timeframe, Timeframe::Minutes);
        assert_eq!(sc.data[0].compression, 5);
        let Op::Sell(a) = &sc.actions[3].op else { panic!("sell") };
        assert_eq!(a.valid, Some(Validity::For(TimeSpan::from_dhms(0, 0, 30, 0).unwrap())));

        let sc = load(&dir.join("p13_filler_fixed_size.json")).unwrap();
        assert_eq!(sc.broker.cash, "1000000".parse().unwrap());
        assert_eq!(sc.broker.filler, Some(FillerSpec::FixedSize { size: Some("10".parse().unwrap()) }));
        let sc = load(&dir.join("p15_filler_bar_point_perc.json")).unwrap();
        assert_eq!(
            sc.broker.filler,
            Some(FillerSpec::BarPointPerc { minmov: Some(Price::ONE), perc: "50".parse().unwrap() })
        );
        let sc = load(&dir.join("p39_futures_margin_mult.json")).unwrap();
        assert_eq!(sc.commission[0].params.margin, Some("2000".parse().unwrap()));
        assert_eq!(sc.commission[0].params.mult, "10".parse().unwrap());
        let sc = load(&dir.join("p46_add_cash.json")).unwrap();
        assert_eq!(sc.actions[2].op, Op::AddCash { amount: "-2500.5".parse().unwrap() });
        let sc = load(&dir.join("p48_target_percent.json")).unwrap();
        assert!(
            matches!(sc.actions[1].op, Op::OrderTargetPercent { target, .. } if target == "-0.2".parse().unwrap())
        );
        let sc = load(&dir.join("p27_manual_bracket_transmit.json")).unwrap();
        let Op::Sell(s) = &sc.actions[1].op else { panic!("sell") };
        assert_eq!((s.parent.as_deref(), s.transmit), (Some("m"), Some(false)));
    }

    /// A valid scenario with `actions`, `broker` and `commission` filled in, and optional extra
    /// top-level text (which must end with a comma).
    fn doc(extra_top: &str, broker: &str, commission: &str, actions: &str) -> String {
        format!(
            r#"{{ {extra_top}
              "name": "t",
              "data": [{{"name": "d0", "file": "backtrader/2006-day-001.txt", "format": "btcsv",
                         "fromdate": "2006-01-01", "todate": "2006-04-30"}}],
              "broker": {broker},
              "commission": {commission},
              "actions": {actions}
            }}"#
        )
    }

    fn parse_doc(text: &str) -> Result<Scenario, ScenarioError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.json");
        std::fs::write(&path, text).unwrap();
        load_with_data_root(&path, &data_root())
    }

    fn actions(list: &str) -> String {
        doc("", r#"{"cash": 100000.0}"#, "[]", list)
    }

    #[test]
    fn malformed_scenarios_are_refused_naming_the_field() {
        let two_feeds = r#"{"name": "t",
            "data": [{"name": "d0", "file": "backtrader/2006-day-001.txt"},
                     {"name": "d0", "file": "backtrader/2006-day-002.txt"}]}"#;
        let cases: Vec<(&str, String, &str)> = vec![
            ("unknown top key", doc(r#""colour": "red","#, "{}", "[]", "[]"), "colour"),
            ("unknown broker key", doc("", r#"{"cash": 1, "cheat": true}"#, "[]", "[]"), "broker.cheat"),
            (
                "unknown filler kind",
                doc("", r#"{"filler": {"kind": "all_at_once"}}"#, "[]", "[]"),
                "broker.filler.kind",
            ),
            (
                "filler extra key",
                doc("", r#"{"filler": {"kind": "fixed_size", "size": 3, "perc": 1}}"#, "[]", "[]"),
                "broker.filler.perc",
            ),
            (
                "filler missing perc",
                doc("", r#"{"filler": {"kind": "fixed_bar_perc"}}"#, "[]", "[]"),
                "broker.filler.perc",
            ),
            (
                "unknown commission key",
                doc("", "{}", r#"[{"commission": 0.001, "rebate": 1}]"#, "[]"),
                "commission[0].rebate",
            ),
            (
                "commission unknown feed",
                doc("", "{}", r#"[{"data": "d9", "commission": 0.001}]"#, "[]"),
                "commission[0].data",
            ),
            (
                "unknown commtype",
                doc("", "{}", r#"[{"commtype": "tiered"}]"#, "[]"),
                "commission[0].commtype",
            ),
            (
                "negative commission",
                doc("", "{}", r#"[{"commission": -0.001}]"#, "[]"),
                "commission[0].commission",
            ),
            ("zero leverage", doc("", "{}", r#"[{"leverage": 0}]"#, "[]"), "commission[0].leverage"),
            (
                "null percabs",
                doc("", "{}", r#"[{"commission": 0.1, "percabs": null}]"#, "[]"),
                "commission[0].percabs",
            ),
            ("unknown op", actions(r#"[{"bar": 1, "op": "short"}]"#), "actions[0].op"),
            ("missing op", actions(r#"[{"bar": 1}]"#), "actions[0].op"),
            (
                "extra action key",
                actions(r#"[{"bar": 1, "op": "cancel", "id": "x", "size": 1}]"#),
                "actions[0].size",
            ),
            ("bar 0", actions(r#"[{"bar": 0, "op": "buy", "id": "o"}]"#), "actions[0].bar"),
            ("bar true", actions(r#"[{"bar": true, "op": "buy", "id": "o"}]"#), "actions[0].bar"),
            ("bar 2.5", actions(r#"[{"bar": 2.5, "op": "buy", "id": "o"}]"#), "actions[0].bar"),
            ("bar 3.0", actions(r#"[{"bar": 3.0, "op": "buy", "id": "o"}]"#), "actions[0].bar"),
            ("bar missing", actions(r#"[{"op": "buy", "id": "o"}]"#), "actions[0].bar"),
            (
                "tradeid 1",
                actions(r#"[{"bar": 1, "op": "buy", "id": "o", "tradeid": 1}]"#),
                "actions[0].tradeid",
            ),
            (
                "tradeid null",
                actions(r#"[{"bar": 1, "op": "buy", "id": "o", "tradeid": null}]"#),
                "actions[0].tradeid",
            ),
            (
                "leg args extra key",
                actions(r#"[{"bar": 1, "op": "buy_bracket", "id": "b", "stopargs": {"size": 2}}]"#),
                "actions[0].stopargs.size",
            ),
            (
                "leg args null price",
                actions(r#"[{"bar": 1, "op": "buy_bracket", "id": "b", "limitargs": {"price": null}}]"#),
                "actions[0].limitargs.price",
            ),
            (
                "bracket null exectype",
                actions(r#"[{"bar": 1, "op": "sell_bracket", "id": "b", "exectype": null}]"#),
                "actions[0].exectype",
            ),
            ("bracket without id", actions(r#"[{"bar": 1, "op": "buy_bracket"}]"#), "actions[0].id"),
            (
                "unknown exectype",
                actions(r#"[{"bar": 1, "op": "buy", "exectype": "Iceberg"}]"#),
                "actions[0].exectype",
            ),
            ("bad valid", actions(r#"[{"bar": 1, "op": "buy", "valid": 3}]"#), "actions[0].valid"),
            (
                "bad valid date",
                actions(r#"[{"bar": 1, "op": "buy", "valid": "2006-02-30"}]"#),
                "actions[0].valid",
            ),
            (
                "valid extra key",
                actions(r#"[{"bar": 1, "op": "buy", "valid": {"weeks": 1}}]"#),
                "actions[0].valid.weeks",
            ),
            (
                "10-decimal number",
                actions(r#"[{"bar": 1, "op": "buy", "price": 0.1234567891}]"#),
                "actions[0].price",
            ),
            ("out of range number", actions(r#"[{"bar": 1, "op": "buy", "size": 1e30}]"#), "actions[0].size"),
            ("number as text", actions(r#"[{"bar": 1, "op": "buy", "size": "10"}]"#), "actions[0].size"),
            ("zero size", actions(r#"[{"bar": 1, "op": "sell", "size": 0}]"#), "actions[0].size"),
            (
                "null transmit",
                actions(r#"[{"bar": 1, "op": "sell", "transmit": null}]"#),
                "actions[0].transmit",
            ),
            (
                "action unknown feed",
                actions(r#"[{"bar": 1, "op": "close", "data": "d1"}]"#),
                "actions[0].data",
            ),
            (
                "target missing",
                actions(r#"[{"bar": 1, "op": "order_target_value", "id": "o"}]"#),
                "actions[0].target",
            ),
            (
                "add_cash text",
                actions(r#"[{"bar": 1, "op": "add_cash", "amount": "5"}]"#),
                "actions[0].amount",
            ),
            (
                "missing data file",
                r#"{"data": [{"name": "d0", "file": "backtrader/no-such-file.txt"}]}"#.into(),
                "data[0].file",
            ),
            ("duplicate data name", two_feeds.into(), "data[1].name"),
            (
                "missing data name",
                r#"{"data": [{"file": "backtrader/2006-day-001.txt"}]}"#.into(),
                "data[0].name",
            ),
            ("no data", r#"{"data": []}"#.into(), "data"),
            (
                "unknown format",
                r#"{"data": [{"name": "d", "file": "backtrader/2006-day-001.txt", "format": "csv"}]}"#.into(),
                "data[0].format",
            ),
            (
                "null timeframe",
                r#"{"data": [{"name": "d", "file": "backtrader/2006-day-001.txt", "timeframe": null}]}"#
                    .into(),
                "data[0].timeframe",
            ),
            (
                "unknown timeframe",
                r#"{"data": [{"name": "d", "file": "backtrader/2006-day-001.txt", "timeframe": "weeks"}]}"#
                    .into(),
                "data[0].timeframe",
            ),
            (
                "zero compression",
                r#"{"data": [{"name": "d", "file": "backtrader/2006-day-001.txt", "compression": 0}]}"#
                    .into(),
                "data[0].compression",
            ),
            (
                "data extra key",
                r#"{"data": [{"name": "d", "file": "backtrader/2006-day-001.txt", "sessionend": 1}]}"#.into(),
                "data[0].sessionend",
            ),
            ("zero fundstartval", doc("", r#"{"fundstartval": 0}"#, "[]", "[]"), "broker.fundstartval"),
            ("broker flag as number", doc("", r#"{"coc": 1}"#, "[]", "[]"), "broker.coc"),
            ("not json", "{ nope".into(), "$"),
            ("not an object", "[1, 2]".into(), "$"),
        ];
        for (what, text, field) in cases {
            match parse_doc(&text) {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => {
                    assert_eq!(e.field, field, "{what}: {e}");
                    assert!(e.to_string().starts_with(&e.scenario), "{what}: {e}");
                    assert!(e.to_string().contains(&format!(": {field}: ")), "{what}: {e}");
                }
            }
        }
    }

    #[test]
    fn error_display_is_scenario_field_reason() {
        let e = parse_doc(&actions(r#"[{"bar": 1, "op": "buy", "exectype": "Iceberg"}]"#)).unwrap_err();
        assert!(e.scenario.ends_with("case.json"));
        assert_eq!(e.to_string(), format!("{}: actions[0].exectype: {}", e.scenario, e.reason));
        assert!(e.reason.contains("Iceberg"), "{e}");
        let e = parse_doc(&actions(r#"[{"bar": 1, "op": "buy", "price": 0.1234567891}]"#)).unwrap_err();
        assert!(e.reason.contains("0.1234567891") && e.reason.contains("9"), "{e}");
        let missing = load(Path::new("/no/such/scenario.json")).unwrap_err();
        assert_eq!(missing.field, "$");
    }

    #[test]
    fn numbers_are_read_exactly_from_their_text() {
        let sc = parse_doc(&doc(
            "",
            r#"{"cash": 100000.0, "slip_perc": 1e-05, "slip_fixed": 2.5E-3, "fundstartval": 1E2}"#,
            r#"[{"commission": 1e-05, "margin": null, "automargin": true, "interest": 0.0000000010}]"#,
            r#"[{"bar": 1, "op": "buy", "id": "o", "size": 0.000000001, "price": 3667.10, "trailpercent": 0.01}]"#,
        ))
        .unwrap();
        assert_eq!(sc.broker.cash, Money::from_raw(100_000 * 1_000_000_000));
        assert_eq!(sc.broker.slip_perc, Ratio::from_raw(10_000));
        assert_eq!(sc.broker.slip_fixed, Price::from_raw(2_500_000));
        assert_eq!(sc.broker.fundstartval, Money::from_raw(100 * 1_000_000_000));
        let p = sc.commission[0].params;
        assert_eq!(p.commission, Ratio::from_raw(10_000));
        assert_eq!(p.margin, None);
        assert_eq!(p.automargin, Ratio::ONE);
        assert_eq!(p.interest, Ratio::from_raw(1));
        assert_eq!(p.mult, Ratio::ONE);
        assert!(p.percabs);
        let Op::Buy(a) = &sc.actions[0].op else { panic!("buy") };
        assert_eq!(a.size, Some(Qty::from_raw(1)));
        assert_eq!(a.price, Some(Price::from_raw(3_667_100_000_000)));
        assert_eq!(a.trailpercent, Some(Ratio::from_raw(10_000_000)));
        assert_eq!((a.exectype, a.valid, a.transmit, a.oco.as_deref()), (None, None, None, None));
    }

    #[test]
    fn defaults_apply_when_keys_are_absent() {
        let sc = parse_doc(r#"{"data": [{"name": "d0", "file": "backtrader/2006-day-001.txt"}]}"#).unwrap();
        assert_eq!(sc.name, "case", "no name: the file's stem");
        assert_eq!(sc.broker, BrokerSpec::default());
        assert_eq!(sc.broker.cash.to_string(), "10000");
        assert_eq!(sc.broker.fundstartval.to_string(), "100");
        assert!(sc.broker.checksubmit && sc.broker.slip_match && sc.broker.slip_limit && sc.broker.shortcash);
        assert!(sc.broker.int2pnl && !sc.broker.coc && !sc.broker.coo && !sc.broker.fundmode);
        let d = &sc.data[0];
        assert_eq!(
            (d.format, d.window, d.timeframe, d.compression),
            (BarFormat::BtCsv, DateWindow::ALL, Timeframe::Days, 1)
        );
        assert_eq!(d.file, data_root().join("backtrader/2006-day-001.txt"));
        assert!(sc.commission.is_empty() && sc.actions.is_empty());
    }

    #[test]
    fn validity_forms() {
        let sc = parse_doc(&actions(
            r#"[{"bar": 1, "op": "buy", "valid": null},
                {"bar": 1, "op": "buy", "valid": "DAY"},
                {"bar": 1, "op": "buy", "valid": "2006-01-18"},
                {"bar": 1, "op": "buy", "valid": {"days": 3}},
                {"bar": 1, "op": "buy", "valid": {"days": 0}},
                {"bar": 1, "op": "buy", "valid": {"days": 1, "hours": 2, "minutes": 30.0}},
                {"bar": 1, "op": "buy", "valid": {}},
                {"bar": 1, "op": "buy"}]"#,
        ))
        .unwrap();
        let valid: Vec<Option<Validity>> = sc
            .actions
            .iter()
            .map(|a| match &a.op {
                Op::Buy(o) => o.valid,
                _ => panic!("buy"),
            })
            .collect();
        let day = |d, h, m| Some(Validity::For(TimeSpan::from_dhms(d, h, m, 0).unwrap()));
        assert_eq!(
            valid,
            vec![
                None,
                Some(Validity::Day),
                Some(Validity::Until("2006-01-18".parse().unwrap())),
                day(3, 0, 0),
                Some(Validity::Day),
                day(1, 2, 30),
                Some(Validity::Day),
                None,
            ]
        );
        let e = parse_doc(&actions(r#"[{"bar": 1, "op": "buy", "valid": {"days": 1.5}}]"#)).unwrap_err();
        assert_eq!(e.field, "actions[0].valid.days");
    }

    #[test]
    fn bracket_defaults_and_leg_args() {
        let sc = parse_doc(&actions(
            r#"[{"bar": 2, "op": "buy_bracket", "id": "b1", "size": 10, "price": 3629.25,
                 "stopprice": 3479.25, "limitprice": 3669.25},
                {"bar": 3, "op": "sell_bracket", "id": "b2", "exectype": "Market", "stopexec": null,
                 "limitexec": "Stop", "valid": "DAY", "tradeid": 0,
                 "oargs": {"valid": null, "exectype": "Limit", "price": 1}, "stopargs": {},
                 "limitargs": {"trailamount": 5, "valid": {"days": 2}}}]"#,
        ))
        .unwrap();
        let Op::BuyBracket(b) = &sc.actions[0].op else { panic!("buy_bracket") };
        assert_eq!(b.id, "b1");
        assert_eq!(b.exectype, ExecType::Limit, "the main leg defaults to Limit");
        assert_eq!(b.stopexec, Some(ExecType::Stop));
        assert_eq!(b.limitexec, Some(ExecType::Limit));
        assert_eq!(b.stopprice, Some("3479.25".parse().unwrap()));
        assert_eq!(b.valid, None);
        assert_eq!(
            (b.oargs, b.stopargs, b.limitargs),
            (LegArgs::default(), LegArgs::default(), LegArgs::default())
        );
        let Op::SellBracket(b) = &sc.actions[1].op else { panic!("sell_bracket") };
        assert_eq!(b.exectype, ExecType::Market);
        assert_eq!(b.stopexec, None, "an explicit null means no stop leg");
        assert_eq!(b.limitexec, Some(ExecType::Stop));
        assert_eq!(b.valid, Some(Validity::Day));
        assert_eq!(b.oargs.valid, Some(Validity::Gtc), "a null valid in leg args overrides with GTC");
        assert_eq!(b.oargs.exectype, Some(ExecType::Limit));
        assert_eq!(b.oargs.price, Some(Price::ONE));
        assert_eq!(b.stopargs, LegArgs::default());
        assert_eq!(b.limitargs.trailamount, Some("5".parse().unwrap()));
        assert_eq!(b.limitargs.valid, Some(Validity::For(TimeSpan::from_dhms(2, 0, 0, 0).unwrap())));
        assert_eq!(b.limitargs.price, None);
    }

    #[test]
    fn null_means_absent_where_the_oracle_reads_it_so() {
        let sc = parse_doc(&doc(
            "",
            r#"{"filler": null}"#,
            r#"[{"data": null, "margin": null, "commtype": null}]"#,
            r#"[{"bar": 1, "op": "buy", "id": null, "data": null, "size": null, "exectype": null,
                 "price": null, "plimit": null, "trailamount": null, "trailpercent": null,
                 "oco": null, "parent": null, "tradeid": 0.0},
                {"bar": 1, "op": "cancel"},
                {"bar": 1, "op": "order_target_size", "target": -5, "exectype": null, "price": null},
                {"bar": 1, "op": "buy", "id": "o2", "transmit": false}]"#,
        ))
        .unwrap();
        assert_eq!(sc.broker.filler, None);
        assert_eq!(sc.actions[0].op, Op::Buy(OrderArgs::default()));
        assert_eq!(sc.actions[1].op, Op::Cancel { id: None });
        assert_eq!(
            sc.actions[2].op,
            Op::OrderTargetSize {
                id: None,
                data: None,
                target: "-5".parse().unwrap(),
                exectype: None,
                price: None
            }
        );
        let Op::Buy(o) = &sc.actions[3].op else { panic!("buy") };
        assert_eq!(o.transmit, Some(false));
    }

    #[test]
    fn fillers_normalise_zero_to_none() {
        let f = |filler: &str| {
            parse_doc(&doc("", &format!(r#"{{"filler": {filler}}}"#), "[]", "[]")).map(|s| s.broker.filler)
        };
        assert_eq!(f(r#"{"kind": "fixed_size"}"#).unwrap(), Some(FillerSpec::FixedSize { size: None }));
        assert_eq!(
            f(r#"{"kind": "fixed_size", "size": 0}"#).unwrap(),
            Some(FillerSpec::FixedSize { size: None })
        );
        assert_eq!(
            f(r#"{"kind": "bar_point_perc", "perc": 2.3}"#).unwrap(),
            Some(FillerSpec::BarPointPerc { minmov: None, perc: "2.3".parse().unwrap() })
        );
        assert_eq!(
            f(r#"{"kind": "fixed_bar_perc", "perc": 2.3}"#).unwrap(),
            Some(FillerSpec::FixedBarPerc { perc: "2.3".parse().unwrap() })
        );
        assert_eq!(f(r#"{"kind": "fixed_size", "size": -1}"#).unwrap_err().field, "broker.filler.size");
        assert_eq!(f(r#""fixed_size""#).unwrap_err().field, "broker.filler");
    }

    #[test]
    fn a_missing_data_root_is_reported_on_the_file() {
        let r = Reader { scenario: "s".into(), root: Err("no shared/data".into()) };
        let doc: Value = serde_json::from_str(r#"{"data": [{"name": "d", "file": "x.txt"}]}"#).unwrap();
        let top = r.object(&doc, "", TOP_KEYS).unwrap();
        let e = r.data(&top).unwrap_err();
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("data[0].file", "no shared/data"));
    }
}
