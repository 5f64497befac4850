//! Running a scenario: feeds into the bar backtest, actions into strategy calls, notifications
//! into the expected-output document.
//!
//! The scenario strategy is a plain [`Strategy`]: at each step it records the bar (cash, value, fund
//! figures) and runs the actions whose `bar` is the step (with cheat-on-open, before the broker
//! step), mapping scenario order ids to Kestrel's. Runtime mistakes the oracle also refuses at run
//! time — a reference to an unknown order id, an id used twice — stop the run with a
//! [`ScenarioError`] naming the action.

use std::collections::BTreeMap;

use kestrel_engine::backtest::{self, RunError};
use kestrel_engine::broker::{BrokerConfig, BrokerError, Filler, OrderNotice, SimBroker, Slippage};
use kestrel_engine::order::{Status, Trail};
use kestrel_engine::scheme::{CommissionParams, CommissionScheme};
use kestrel_engine::strategy::{self, Context, Strategy};
use kestrel_engine::trade::{TradeBook, TradeEvent};
use kestrel_replay::bars::read_bars;
use kestrel_types::{Bar, InstrumentId, OrderId, Price, Ratio, TradeId};

use super::output::{
    BarNote, ExecutedNote, FillNote, FinalNote, FundNote, OrderNote, Output, PositionNote, TradeNote,
    format_dt,
};
use super::scenario::{Action, BracketArgs, FillerSpec, LegArgs, Op, OrderArgs, Scenario, ScenarioError};

/// Why a scenario could not be run to the end.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    /// The scenario is not one the format defines (the runner exits 3).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The engine failed (overflow or a broken invariant: a bug, not the scenario's fault).
    #[error("{scenario}: engine: {reason}")]
    Engine {
        /// The scenario.
        scenario: String,
        /// What failed.
        reason: String,
    },
}

/// The strategy's error: a scenario mistake found at run time, or an engine failure.
#[derive(Debug)]
enum StepError {
    Scenario { field: String, reason: String },
    Broker(BrokerError),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scenario { field, reason } => write!(f, "{field}: {reason}"),
            Self::Broker(e) => write!(f, "{e}"),
        }
    }
}

impl From<BrokerError> for StepError {
    fn from(e: BrokerError) -> Self {
        Self::Broker(e)
    }
}

/// Runs `scenario` and returns its output document.
///
/// # Errors
/// [`RunFailure::Scenario`] for what the format does not define (unreadable data, unknown order
/// ids); [`RunFailure::Engine`] for an engine failure.
pub fn run(scenario: &Scenario) -> Result<Output, RunFailure> {
    let name = scenario.name.clone();
    let scenario_err =
        |field: String, reason: String| ScenarioError { scenario: name.clone(), field, reason };
    let engine_err = |reason: String| RunFailure::Engine { scenario: name.clone(), reason };

    let mut feeds: Vec<Vec<Bar>> = Vec::with_capacity(scenario.data.len());
    for (i, d) in scenario.data.iter().enumerate() {
        let file = read_bars(&d.file, d.format, d.window)
            .map_err(|e| scenario_err(format!("data[{i}].file"), e.to_string()))?;
        feeds.push(file.bars);
    }
    let schemes = schemes(scenario).map_err(|(field, reason)| scenario_err(field, reason))?;
    let b = &scenario.broker;
    let config = BrokerConfig {
        cash: b.cash,
        checksubmit: b.checksubmit,
        coc: b.coc,
        coo: b.coo,
        slippage: Slippage {
            perc: b.slip_perc,
            fixed: b.slip_fixed,
            open: b.slip_open,
            matched: b.slip_match,
            limit: b.slip_limit,
            out: b.slip_out,
        },
        shortcash: b.shortcash,
        fundmode: b.fundmode,
        fundstartval: b.fundstartval,
        int2pnl: b.int2pnl,
        filler: b.filler.map(|f| match f {
            FillerSpec::FixedSize { size } => Filler::FixedSize { size },
            FillerSpec::FixedBarPerc { perc } => Filler::FixedBarPerc { perc },
            FillerSpec::BarPointPerc { minmov, perc } => Filler::BarPointPerc { minmov, perc },
        }),
    };
    let capacity = scenario.actions.len() * 3 + 16;
    let mut broker = SimBroker::new(config, schemes, capacity).map_err(|e| engine_err(e.to_string()))?;
    let mut trades = TradeBook::with_capacity(scenario.data.len(), capacity);
    let mut by_bar: BTreeMap<u64, Vec<&Action>> = BTreeMap::new();
    for a in &scenario.actions {
        by_bar.entry(a.bar).or_default().push(a);
    }
    let mut strategy = ScenarioStrategy {
        scenario,
        by_bar,
        ids: BTreeMap::new(),
        names: BTreeMap::new(),
        trade_names: BTreeMap::new(),
        intraday: scenario.intraday(),
        out: Output::new(scenario.name.clone()),
    };
    let slices: Vec<&[Bar]> = feeds.iter().map(Vec::as_slice).collect();
    match backtest::run(&slices, &mut broker, &mut trades, &mut strategy) {
        Ok(_) => {}
        Err(RunError::Strategy(StepError::Scenario { field, reason })) => {
            return Err(scenario_err(field, reason).into());
        }
        Err(RunError::Strategy(StepError::Broker(e))) => return Err(engine_err(e.to_string())),
        Err(e) => return Err(engine_err(e.to_string())),
    }
    let mut out = strategy.out;
    out.final_note = FinalNote {
        cash: broker.cash(),
        value: broker.value(),
        positions: scenario
            .data
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let p = broker.position(feed_id(i));
                (d.name.clone(), PositionNote { size: p.size(), price: p.price() })
            })
            .collect(),
        fund: fund(&broker, b.fundmode),
    };
    Ok(out)
}

fn feed_id(i: usize) -> InstrumentId {
    InstrumentId(u16::try_from(i).unwrap_or(u16::MAX))
}

fn fund(broker: &SimBroker, fundmode: bool) -> Option<FundNote> {
    fundmode.then(|| FundNote { value: broker.fund_value(), shares: broker.fund_shares() })
}

/// One scheme per feed: the feed's own entry, else the default (`data: null`) entry, else
/// backtrader's default scheme. Later entries for the same key replace earlier ones.
fn schemes(sc: &Scenario) -> Result<Vec<CommissionScheme>, (String, String)> {
    let mut default = CommissionParams::setcommission();
    let mut per_feed: Vec<Option<CommissionParams>> = vec![None; sc.data.len()];
    for c in &sc.commission {
        match &c.data {
            None => default = c.params,
            Some(name) => {
                let i = sc
                    .feed_index(Some(name))
                    .ok_or_else(|| ("commission.data".to_owned(), format!("unknown data {name:?}")))?;
                per_feed[i] = Some(c.params);
            }
        }
    }
    per_feed
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            CommissionScheme::try_new(p.unwrap_or(default))
                .map_err(|e| (format!("commission (data {})", sc.data[i].name), e.to_string()))
        })
        .collect()
}

struct ScenarioStrategy<'s> {
    scenario: &'s Scenario,
    by_bar: BTreeMap<u64, Vec<&'s Action>>,
    ids: BTreeMap<String, OrderId>,
    names: BTreeMap<OrderId, String>,
    trade_names: BTreeMap<TradeId, String>,
    intraday: bool,
    out: Output,
}

fn at(action: &Action, key: &str) -> String {
    format!("actions[{}].{key}", action.index)
}

fn scenario_error(action: &Action, key: &str, reason: String) -> StepError {
    StepError::Scenario { field: at(action, key), reason }
}

impl ScenarioStrategy<'_> {
    fn feed(&self, action: &Action, name: Option<&String>) -> Result<InstrumentId, StepError> {
        self.scenario
            .feed_index(name.map(String::as_str))
            .map(feed_id)
            .ok_or_else(|| scenario_error(action, "data", format!("unknown data {name:?}")))
    }

    fn order_ref(
        &self,
        action: &Action,
        key: &str,
        id: Option<&String>,
    ) -> Result<Option<OrderId>, StepError> {
        match id {
            None => Ok(None),
            Some(name) => self
                .ids
                .get(name)
                .copied()
                .map(Some)
                .ok_or_else(|| scenario_error(action, key, format!("unknown order id {name:?}"))),
        }
    }

    fn register(
        &mut self,
        action: &Action,
        name: Option<&str>,
        id: Option<OrderId>,
    ) -> Result<(), StepError> {
        let (Some(id), Some(name)) = (id, name) else { return Ok(()) };
        if self.ids.contains_key(name) {
            return Err(scenario_error(action, "id", format!("duplicate order id {name:?}")));
        }
        self.ids.insert(name.to_owned(), id);
        self.names.insert(id, name.to_owned());
        Ok(())
    }

    fn trail(amount: Option<Price>, percent: Option<Ratio>) -> Option<Trail> {
        // backtrader: order.py Order.trailadjust — a non-zero amount wins over the percent.
        match (amount, percent) {
            (Some(a), _) if !a.is_zero() => Some(Trail::Amount(a)),
            (_, Some(p)) if !p.is_zero() => Some(Trail::Percent(p)),
            _ => None,
        }
    }

    fn args(&self, action: &Action, a: &OrderArgs) -> Result<strategy::OrderArgs, StepError> {
        Ok(strategy::OrderArgs {
            exec_type: a.exectype,
            price: a.price,
            price_limit: a.plimit,
            trail: Self::trail(a.trailamount, a.trailpercent),
            validity: a.valid,
            oco: self.order_ref(action, "oco", a.oco.as_ref())?,
            parent: self.order_ref(action, "parent", a.parent.as_ref())?,
            transmit: a.transmit,
        })
    }

    fn leg(base: strategy::OrderArgs, leg: &LegArgs) -> strategy::OrderArgs {
        strategy::OrderArgs {
            exec_type: leg.exectype.or(base.exec_type),
            price: leg.price.or(base.price),
            price_limit: leg.plimit.or(base.price_limit),
            trail: Self::trail(leg.trailamount, leg.trailpercent).or(base.trail),
            validity: leg.valid.or(base.validity),
            ..base
        }
    }

    fn bracket(
        &mut self,
        ctx: &mut Context<'_>,
        action: &Action,
        b: &BracketArgs,
        side: kestrel_engine::order::Side,
    ) -> Result<(), StepError> {
        let ins = self.feed(action, b.data.as_ref())?;
        let main = strategy::OrderArgs {
            exec_type: Some(b.exectype),
            price: b.price,
            price_limit: b.plimit,
            trail: Self::trail(b.trailamount, b.trailpercent),
            validity: b.valid,
            ..strategy::OrderArgs::default()
        };
        // Legs carry their own price and validity, not the main order's trail (backtrader's kargs).
        let leg_base = |price: Option<Price>, exec| strategy::OrderArgs {
            exec_type: exec,
            price,
            validity: b.valid,
            ..strategy::OrderArgs::default()
        };
        let args = strategy::BracketArgs {
            size: b.size,
            main: Self::leg(main, &b.oargs),
            stop: b.stopexec.map(|e| Self::leg(leg_base(b.stopprice, Some(e)), &b.stopargs)),
            limit: b.limitexec.map(|e| Self::leg(leg_base(b.limitprice, Some(e)), &b.limitargs)),
        };
        let placed = ctx.bracket(ins, side, &args)?;
        self.register(action, Some(&b.id), placed.main)?;
        self.register(action, Some(&format!("{}.stop", b.id)), placed.stop)?;
        self.register(action, Some(&format!("{}.limit", b.id)), placed.limit)?;
        Ok(())
    }

    fn run_actions(&mut self, ctx: &mut Context<'_>) -> Result<(), StepError> {
        let Some(actions) = self.by_bar.get(&ctx.step()).cloned() else { return Ok(()) };
        for action in actions {
            self.run_action(ctx, action)?;
        }
        Ok(())
    }

    fn run_action(&mut self, ctx: &mut Context<'_>, action: &Action) -> Result<(), StepError> {
        use kestrel_engine::order::Side;
        match &action.op {
            Op::AddCash { amount } => ctx.add_cash(*amount),
            Op::Cancel { id } => {
                let Some(order) = self.order_ref(action, "id", id.as_ref())? else {
                    return Err(scenario_error(action, "id", "cancel needs an order id".to_owned()));
                };
                ctx.cancel(order)?;
            }
            Op::Buy(a) | Op::Sell(a) | Op::Close(a) => {
                let ins = self.feed(action, a.data.as_ref())?;
                let args = self.args(action, a)?;
                let placed = match &action.op {
                    Op::Buy(_) => ctx.buy(ins, a.size, &args)?,
                    Op::Sell(_) => ctx.sell(ins, a.size, &args)?,
                    _ => ctx.close(ins, a.size, &args)?,
                };
                self.register(action, a.id.as_deref(), placed)?;
            }
            Op::BuyBracket(b) => self.bracket(ctx, action, b, Side::Buy)?,
            Op::SellBracket(b) => self.bracket(ctx, action, b, Side::Sell)?,
            Op::OrderTargetSize { id, data, target, exectype, price } => {
                let ins = self.feed(action, data.as_ref())?;
                let args = strategy::OrderArgs {
                    exec_type: *exectype,
                    price: *price,
                    ..strategy::OrderArgs::default()
                };
                let placed = ctx.order_target_size(ins, *target, &args)?;
                self.register(action, id.as_deref(), placed)?;
            }
            Op::OrderTargetValue { id, data, target, exectype, price } => {
                let ins = self.feed(action, data.as_ref())?;
                let args = strategy::OrderArgs {
                    exec_type: *exectype,
                    price: *price,
                    ..strategy::OrderArgs::default()
                };
                let placed = ctx.order_target_value(ins, *target, &args)?;
                self.register(action, id.as_deref(), placed)?;
            }
            Op::OrderTargetPercent { id, data, target, exectype, price } => {
                let ins = self.feed(action, data.as_ref())?;
                let args = strategy::OrderArgs {
                    exec_type: *exectype,
                    price: *price,
                    ..strategy::OrderArgs::default()
                };
                let placed = ctx.order_target_percent(ins, *target, &args)?;
                self.register(action, id.as_deref(), placed)?;
            }
        }
        Ok(())
    }
}

impl Strategy for ScenarioStrategy<'_> {
    type Error = StepError;

    fn on_bar_open(&mut self, ctx: &mut Context<'_>) -> Result<(), StepError> {
        self.run_actions(ctx)
    }

    fn on_bar(&mut self, ctx: &mut Context<'_>) -> Result<(), StepError> {
        let broker = ctx.broker();
        self.out.bars.push(BarNote {
            bar: ctx.step(),
            dt: format_dt(ctx.now(), self.intraday),
            cash: broker.cash(),
            value: broker.value(),
            fund: fund(broker, broker.config().fundmode),
        });
        if broker.config().coo {
            return Ok(());
        }
        self.run_actions(ctx)
    }

    fn on_order(&mut self, ctx: &Context<'_>, n: &OrderNotice) -> Result<(), StepError> {
        let id = self.names.get(&n.order).cloned().ok_or_else(|| StepError::Scenario {
            field: "orders".to_owned(),
            reason: format!("notification for an unregistered order {}", n.order),
        })?;
        let e = &n.executed;
        let fills = matches!(n.status, Status::Partial | Status::Completed).then(|| {
            n.new_fills(ctx.orders())
                .iter()
                .map(|f| FillNote {
                    size: f.size,
                    price: f.price,
                    value: f.value().unwrap_or_default(),
                    comm: f.comm().unwrap_or_default(),
                    pnl: f.pnl,
                    psize: f.psize,
                    pprice: f.pprice,
                })
                .collect()
        });
        self.out.orders.push(OrderNote {
            bar: ctx.step(),
            dt: format_dt(ctx.now(), self.intraday),
            id,
            data: self.scenario.data.get(n.instrument.index()).map(|d| d.name.clone()).unwrap_or_default(),
            side: n.side,
            exectype: n.exec_type,
            size: n.size,
            status: n.status,
            executed: ExecutedNote {
                size: e.size,
                price: e.price()?,
                value: e.value,
                comm: e.comm,
                pnl: e.pnl,
                remsize: e.remaining,
            },
            fills,
        });
        Ok(())
    }

    fn on_trade(&mut self, ctx: &Context<'_>, ev: &TradeEvent) -> Result<(), StepError> {
        let t = &ev.trade;
        let next = self.trade_names.len() + 1;
        let name = self.trade_names.entry(t.id()).or_insert_with(|| format!("t{next}")).clone();
        self.out.trades.push(TradeNote {
            bar: ctx.step(),
            dt: format_dt(ctx.now(), self.intraday),
            trade: name,
            data: self.scenario.data.get(t.instrument().index()).map(|d| d.name.clone()).unwrap_or_default(),
            tradeid: 0,
            status: t.status(),
            justopened: t.just_opened(),
            isclosed: t.is_closed(),
            long: t.is_long(),
            size: t.size(),
            price: t.price(),
            value: t.value(),
            commission: t.commission(),
            pnl: t.pnl(),
            pnlcomm: t.pnl_comm(),
            baropen: t.bar_open(),
            barclose: t.bar_close(),
        });
        Ok(())
    }
}

impl From<kestrel_types::ArithError> for StepError {
    fn from(e: kestrel_types::ArithError) -> Self {
        Self::Broker(BrokerError::Arith(e))
    }
}
