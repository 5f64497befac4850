//! The bar strategy API: a trait the backtest calls at each step, and a [`Context`] with read access
//! to the broker and backtrader's order helpers (buy, sell, close, cancel, brackets, OCO, and the
//! three target orders).
//!
//! The helpers keep backtrader's strategy-side rules (strategy.py): a zero size places no order,
//! `close` on a flat position places none, target orders compute their size from the position (and,
//! for values, from backtrader's binary64 floor).

pub mod quoter;
pub mod sma_cross;

use kestrel_types::{Bar, InstrumentId, Money, OrderId, Price, Qty, Ratio, Rounding, Timestamp};

use crate::broker::{BrokerError, OrderNotice, SimBroker};
use crate::order::{ExecType, OrderSpec, OrderStore, Side, Trail, Validity};
use crate::position::Position;
use crate::trade::TradeEvent;

/// A strategy driven by bars. Every callback may fail with the strategy's own error type, which
/// stops the run and is returned by the backtest.
pub trait Strategy {
    /// The strategy's error (it must carry broker errors).
    type Error: From<BrokerError>;

    /// Before the first bar.
    ///
    /// # Errors
    /// The strategy's error stops the run.
    fn on_start(&mut self, _ctx: &mut Context<'_>) -> Result<(), Self::Error> {
        Ok(())
    }

    /// With cheat-on-open only: the new bars are in, the broker has not processed them yet.
    ///
    /// # Errors
    /// The strategy's error stops the run.
    fn on_bar_open(&mut self, _ctx: &mut Context<'_>) -> Result<(), Self::Error> {
        Ok(())
    }

    /// After the broker processed the step's bars and the notifications were delivered.
    ///
    /// # Errors
    /// The strategy's error stops the run.
    fn on_bar(&mut self, ctx: &mut Context<'_>) -> Result<(), Self::Error>;

    /// An order notification (delivered before the step's trade notifications).
    ///
    /// # Errors
    /// The strategy's error stops the run.
    fn on_order(&mut self, _ctx: &Context<'_>, _notice: &OrderNotice) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A trade opened or closed.
    ///
    /// # Errors
    /// The strategy's error stops the run.
    fn on_trade(&mut self, _ctx: &Context<'_>, _event: &TradeEvent) -> Result<(), Self::Error> {
        Ok(())
    }

    /// After the last bar.
    ///
    /// # Errors
    /// The strategy's error stops the run.
    fn on_stop(&mut self, _ctx: &mut Context<'_>) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// What an order helper needs beyond side and size (backtrader's order keyword arguments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderArgs {
    /// Exec type (`None`: Market).
    pub exec_type: Option<ExecType>,
    /// Price (limit, trigger, trail reference).
    pub price: Option<Price>,
    /// Limit of stop-limits.
    pub price_limit: Option<Price>,
    /// Trailing distance.
    pub trail: Option<Trail>,
    /// Validity (`None`: good till canceled).
    pub validity: Option<Validity>,
    /// OCO group to join.
    pub oco: Option<OrderId>,
    /// Bracket parent.
    pub parent: Option<OrderId>,
    /// `Some(false)` holds the order until its chain is transmitted.
    pub transmit: Option<bool>,
}

/// The legs of a bracket (backtrader's `buy_bracket` / `sell_bracket`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BracketArgs {
    /// Size of every leg (`None`: the default stake of 1).
    pub size: Option<Qty>,
    /// The main order (default exec type Limit).
    pub main: OrderArgs,
    /// The stop leg, `None` for no stop leg (default exec type Stop at `stop_price`).
    pub stop: Option<OrderArgs>,
    /// The limit leg, `None` for no limit leg (default exec type Limit at `limit_price`).
    pub limit: Option<OrderArgs>,
}

/// The orders a bracket placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bracket {
    /// The main order.
    pub main: Option<OrderId>,
    /// The stop leg.
    pub stop: Option<OrderId>,
    /// The limit leg.
    pub limit: Option<OrderId>,
}

/// What a strategy sees and can do at a step.
#[derive(Debug)]
pub struct Context<'a> {
    pub(crate) broker: &'a mut SimBroker,
    pub(crate) step: u64,
    pub(crate) now: Timestamp,
}

/// backtrader's default sizer stake: one unit.
const DEFAULT_STAKE: Qty = Qty::ONE;

impl<'a> Context<'a> {
    /// A context over `broker` at step `step` (1-based) and time `now`.
    pub fn new(broker: &'a mut SimBroker, step: u64, now: Timestamp) -> Self {
        Self { broker, step, now }
    }

    /// The strategy clock: 1 on the first step.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The step's time (the latest of the feeds' current bars).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The broker, read-only.
    pub fn broker(&self) -> &SimBroker {
        self.broker
    }

    /// The order store.
    pub fn orders(&self) -> &OrderStore {
        self.broker.orders()
    }

    /// The current bar of a feed.
    pub fn bar(&self, ins: InstrumentId) -> Option<Bar> {
        self.broker.bar(ins)
    }

    /// The position in a feed.
    pub fn position(&self, ins: InstrumentId) -> Position {
        self.broker.position(ins)
    }

    fn place(
        &mut self,
        ins: InstrumentId,
        side: Side,
        size: Qty,
        args: &OrderArgs,
    ) -> Result<Option<OrderId>, BrokerError> {
        // backtrader: strategy.py Strategy.buy — `if size:` places nothing for a zero size.
        if size.is_zero() {
            return Ok(None);
        }
        let exec_type = args.exec_type.unwrap_or(ExecType::Market);
        // backtrader: order.py OrderBase.__init__ / OrderData.__init__ — a price or plimit of 0 is
        // "not given" (Python truthiness); trailamount/trailpercent are only read by the trailing
        // exec types (any other type ignores them); a validity span is added to the creation
        // time whatever its sign (a negative one expires the order at its first broker step).
        let validity = match args.validity.unwrap_or(Validity::Gtc) {
            Validity::For(span) if span.nanos() < 0 => {
                let created = self.broker.bar(ins).ok_or(BrokerError::NoBar(ins))?.ts;
                Validity::Until(created.checked_add(span).unwrap_or(Timestamp::EPOCH))
            }
            v => v,
        };
        let spec = OrderSpec {
            instrument: ins,
            side,
            size: size.abs(),
            exec_type,
            price: args.price.filter(|p| !p.is_zero()),
            price_limit: args.price_limit.filter(|p| !p.is_zero()),
            trail: args.trail.filter(|_| exec_type.is_trailing()),
            validity,
            oco: args.oco,
            parent: args.parent,
            transmit: args.transmit.unwrap_or(true),
            client_id: None,
        };
        self.broker.submit(spec).map(Some)
    }

    /// Buys `size` (`None`: one unit); a zero size places nothing.
    ///
    /// # Errors
    /// [`BrokerError`] for an impossible request.
    pub fn buy(
        &mut self,
        ins: InstrumentId,
        size: Option<Qty>,
        args: &OrderArgs,
    ) -> Result<Option<OrderId>, BrokerError> {
        self.place(ins, Side::Buy, size.unwrap_or(DEFAULT_STAKE), args)
    }

    /// Sells `size` (`None`: one unit); a zero size places nothing.
    ///
    /// # Errors
    /// [`BrokerError`] for an impossible request.
    pub fn sell(
        &mut self,
        ins: InstrumentId,
        size: Option<Qty>,
        args: &OrderArgs,
    ) -> Result<Option<OrderId>, BrokerError> {
        self.place(ins, Side::Sell, size.unwrap_or(DEFAULT_STAKE), args)
    }

    /// Closes the position (or `size` of it): sells when long, buys when short, nothing when flat.
    ///
    /// # Errors
    /// [`BrokerError`] for an impossible request.
    // backtrader: strategy.py Strategy.close
    pub fn close(
        &mut self,
        ins: InstrumentId,
        size: Option<Qty>,
        args: &OrderArgs,
    ) -> Result<Option<OrderId>, BrokerError> {
        let possize = self.position(ins).size();
        // `abs(size if size is not None else possize)`: an explicit 0 places nothing.
        let size = size.unwrap_or(possize).abs();
        if possize.is_positive() {
            self.place(ins, Side::Sell, size, args)
        } else if possize.is_negative() {
            self.place(ins, Side::Buy, size, args)
        } else {
            Ok(None)
        }
    }

    /// Cancels an order if it is pending (see FORMAT.md §4.13); `false` when nothing was done.
    ///
    /// # Errors
    /// [`BrokerError`] on a broken invariant.
    pub fn cancel(&mut self, id: OrderId) -> Result<bool, BrokerError> {
        self.broker.cancel(id)
    }

    /// Queues a cash addition (negative withdraws), applied at the end of the next step.
    pub fn add_cash(&mut self, amount: Money) {
        self.broker.add_cash(amount);
    }

    /// Places a bracket: main order, then its stop and limit legs, held until the last is placed.
    ///
    /// # Errors
    /// [`BrokerError`] for an impossible request.
    // backtrader: strategy.py Strategy.buy_bracket / sell_bracket
    pub fn bracket(
        &mut self,
        ins: InstrumentId,
        side: Side,
        b: &BracketArgs,
    ) -> Result<Bracket, BrokerError> {
        let exit = match side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        let mut main = b.main;
        main.exec_type = main.exec_type.or(Some(ExecType::Limit));
        main.transmit = Some(b.stop.is_none() && b.limit.is_none());
        let size = b.size.unwrap_or(DEFAULT_STAKE);
        let Some(main_id) = self.place(ins, side, size, &main)? else {
            return Ok(Bracket { main: None, stop: None, limit: None });
        };
        // Legs take the main order's size.
        let leg_size = self.orders().order(main_id)?.size().abs();
        let stop = match b.stop {
            Some(mut a) => {
                a.exec_type = a.exec_type.or(Some(ExecType::Stop));
                a.parent = Some(main_id);
                a.transmit = Some(b.limit.is_none());
                self.place(ins, exit, leg_size, &a)?
            }
            None => None,
        };
        let limit = match b.limit {
            Some(mut a) => {
                a.exec_type = a.exec_type.or(Some(ExecType::Limit));
                a.parent = Some(main_id);
                a.transmit = Some(true);
                self.place(ins, exit, leg_size, &a)?
            }
            None => None,
        };
        Ok(Bracket { main: Some(main_id), stop, limit })
    }

    /// Orders the difference to reach `target` units (closing when the target is 0).
    ///
    /// # Errors
    /// [`BrokerError`] for an impossible request.
    // backtrader: strategy.py Strategy.order_target_size
    pub fn order_target_size(
        &mut self,
        ins: InstrumentId,
        target: Qty,
        args: &OrderArgs,
    ) -> Result<Option<OrderId>, BrokerError> {
        let possize = self.position(ins).size();
        if target.is_zero() && !possize.is_zero() {
            return self.close(ins, Some(possize), args);
        }
        if target > possize {
            self.place(ins, Side::Buy, target.try_sub(possize)?, args)
        } else if target < possize {
            self.place(ins, Side::Sell, possize.try_sub(target)?, args)
        } else {
            Ok(None)
        }
    }

    /// Orders what reaches a position value of `target` (closing when the target is 0).
    ///
    /// The size is backtrader's binary64 `getsize` floor; the order carries the price used (the
    /// given one, else the current close). Reading the feed's value applies queued cash additions,
    /// as backtrader's does.
    ///
    /// # Errors
    /// [`BrokerError`] for an impossible request or a size backtrader's floor cannot give.
    // backtrader: strategy.py Strategy.order_target_value
    pub fn order_target_value(
        &mut self,
        ins: InstrumentId,
        target: Money,
        args: &OrderArgs,
    ) -> Result<Option<OrderId>, BrokerError> {
        let possize = self.position(ins).size();
        if target.is_zero() && !possize.is_zero() {
            return self.close(ins, Some(possize), args);
        }
        let value = self.broker.feed_position_value(ins)?;
        let bar = self.bar(ins).ok_or(BrokerError::NoBar(ins))?;
        let price = args.price.unwrap_or(bar.close);
        let priced = OrderArgs { price: Some(price), ..*args };
        let scheme = *self.broker.scheme(ins)?;
        if target > value {
            let size = scheme.getsize(price, target.try_sub(value)?)?;
            self.place(ins, Side::Buy, size, &priced)
        } else if target < value {
            let size = scheme.getsize(price, value.try_sub(target)?)?;
            self.place(ins, Side::Sell, size, &priced)
        } else {
            Ok(None)
        }
    }

    /// Orders what reaches `target` × the portfolio value.
    ///
    /// # Errors
    /// As [`Context::order_target_value`].
    // backtrader: strategy.py Strategy.order_target_percent
    pub fn order_target_percent(
        &mut self,
        ins: InstrumentId,
        target: Ratio,
        args: &OrderArgs,
    ) -> Result<Option<OrderId>, BrokerError> {
        let value = self.broker.value().mul_ratio(target, Rounding::HalfEven)?;
        self.order_target_value(ins, value, args)
    }
}
