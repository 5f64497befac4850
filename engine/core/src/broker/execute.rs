//! The money of an execution: sizes (fillers), cash for the closed and the opened parts, margin
//! failure, futures cash adjustment, interest booked into commission — backtrader's `_execute`,
//! exact. FORMAT.md §4.7, §4.8 and §4.11 state the rules in prose.

use kestrel_types::{Exact, Money, OrderId, Price, Qty, Timestamp};

use super::matching::{Ago, exec_time};
use super::{BrokerError, Filler, MODE, SimBroker};
use crate::order::{ExecType, Fill};
use crate::position::{Position, PositionUpdate};
use crate::scheme::{CommissionScheme, compat};

impl SimBroker {
    /// `value / leverage` when the value is positive (cash for longs is levered), else the value.
    fn levered(value: Money, scheme: &CommissionScheme) -> Result<Money, BrokerError> {
        if value.is_positive() {
            Ok(Exact::money(value).try_div(Exact::ratio(scheme.leverage()))?.to_money(MODE)?)
        } else {
            Ok(value)
        }
    }

    /// Value of the closed part at the position's average (its exact cost basis).
    fn closed_value(&self, scheme: &CommissionScheme, update: &PositionUpdate) -> Result<Money, BrokerError> {
        let cost = (-update.closed_cost).to_notional(MODE)?;
        let v = scheme.value_at_cost(-update.closed, cost)?;
        // shortcash=false: getoperationcost, always positive.
        Ok(if self.config.shortcash { v } else { v.abs() })
    }

    /// Value of the opened part at the execution price.
    fn opened_value(
        &self,
        scheme: &CommissionScheme,
        opened: Qty,
        price: Price,
    ) -> Result<Money, BrokerError> {
        Ok(if self.config.shortcash {
            scheme.value_size(opened, price)?
        } else {
            scheme.operation_cost(opened, price)?
        })
    }

    /// The submission check's dry run of a whole order against a running `cash` and `position`
    /// copy; returns the cash left (negative: the order fails with `Margin`).
    // backtrader: bbroker.py BackBroker._execute (ago=None, the pseudo-execution)
    pub(super) fn pseudo_execute(
        &self,
        id: OrderId,
        cash: Money,
        position: &mut Position,
    ) -> Result<Money, BrokerError> {
        let order = self.orders.order(id)?;
        let feed = self.feed(order.instrument())?;
        let scheme = &feed.scheme;
        let size = order.remaining();
        let price = match (self.config.coo, order.exec_type(), feed.bar) {
            (true, ExecType::Market, Some(bar)) => bar.open,
            _ => order.price(),
        };
        let at = feed.bar.map_or(Timestamp::EPOCH, |b| b.ts);
        // backtrader values the closed part at the order's price here, not the position's.
        let update = position.update(size, price, at)?;
        let mut cash = cash;
        if !update.closed.is_zero() {
            let v = self.opened_value(scheme, -update.closed, price)?;
            cash =
                cash.try_add(Self::levered(v, scheme)?)?.try_sub(scheme.commission(update.closed, price)?)?;
        }
        if !update.opened.is_zero() {
            let v = self.opened_value(scheme, update.opened, price)?;
            cash =
                cash.try_sub(Self::levered(v, scheme)?)?.try_sub(scheme.commission(update.opened, price)?)?;
        }
        Ok(cash)
    }

    /// The size one bar can fill: the remaining size, or the filler's answer with the order's sign.
    fn fill_size(&self, id: OrderId, ago: Ago) -> Result<Qty, BrokerError> {
        let order = self.orders.order(id)?;
        let remaining = order.remaining();
        let Some(filler) = self.config.filler else { return Ok(remaining) };
        let feed = self.feed(order.instrument())?;
        let bar = match ago {
            Ago::Current => feed.bar,
            Ago::Previous => feed.prev.or(feed.bar),
        };
        let Some(bar) = bar else { return Ok(Qty::ZERO) };
        let rem = remaining.abs();
        // backtrader: fillers.py FixedSize / FixedBarPerc / BarPointPerc
        let cap = match filler {
            Filler::FixedSize { size } => {
                size.filter(|s| !s.is_zero()).map_or(bar.volume, |s| s.min(bar.volume))
            }
            Filler::FixedBarPerc { perc } => compat::fixed_bar_perc(bar.volume, perc)?,
            Filler::BarPointPerc { minmov, perc } => {
                compat::bar_point_perc(bar.volume, bar.high, bar.low, minmov, perc)?
            }
        };
        let size = cap.min(rem).max(Qty::ZERO);
        Ok(if order.is_buy() { size } else { -size })
    }

    /// Executes (part of) an order at `price` (`None`: slippage left no price, nothing happens).
    // backtrader: bbroker.py BackBroker._execute (ago=0 / -1, the real execution)
    pub(super) fn execute(
        &mut self,
        id: OrderId,
        price: Option<Price>,
        dtcoc: Option<Timestamp>,
        ago: Ago,
    ) -> Result<(), BrokerError> {
        let Some(price) = price else { return Ok(()) };
        let size = self.fill_size(id, ago)?;
        let ins = self.orders.order(id)?.instrument();
        let feed = self.feed(ins)?;
        let scheme = feed.scheme;
        let position = feed.position;
        let now = feed.bar.map_or(Timestamp::EPOCH, |b| b.ts);
        let at = dtcoc.unwrap_or_else(|| exec_time(feed.bar, feed.prev, ago));

        // What the whole size would do to the position (psize/pprice are reported from this even
        // when the opened part then fails for cash, as backtrader does).
        let update = position.preview(size, price)?;
        let pnl = if update.closed.is_zero() { Money::ZERO } else { scheme.closed_pnl(&update, price)? };
        let mut cash = self.cash;
        let adjbase = position.adjbase();

        let (mut closed_value, mut closed_comm) = (Money::ZERO, Money::ZERO);
        if !update.closed.is_zero() {
            closed_value = self.closed_value(&scheme, &update)?;
            cash = cash.try_add(Self::levered(closed_value, &scheme)?)?;
            if scheme.is_stocklike() {
                cash = cash.try_add(pnl)?;
            }
            closed_comm = scheme.commission(update.closed, price)?;
            cash = cash.try_sub(closed_comm)?;
            if let Some(base) = adjbase {
                cash = cash.try_add(scheme.cash_adjust(-update.closed, base, price)?)?;
            }
            self.cash = cash;
        }

        let mut opened = update.opened;
        let (mut opened_value, mut opened_comm) = (Money::ZERO, Money::ZERO);
        let mut new_adjbase = None;
        if !opened.is_zero() {
            opened_value = self.opened_value(&scheme, opened, price)?;
            cash = cash.try_sub(Self::levered(opened_value, &scheme)?)?;
            opened_comm = scheme.commission(opened, price)?;
            cash = cash.try_sub(opened_comm)?;
            if cash.is_negative() {
                // Not enough cash: the opened part does not execute.
                opened = Qty::ZERO;
                opened_value = Money::ZERO;
                opened_comm = Money::ZERO;
            } else {
                if update.size.abs() > opened.abs()
                    && let Some(base) = adjbase
                {
                    // Futures already held are marked to this price, the new common base.
                    let held = update.size.try_sub(opened)?;
                    cash = cash.try_add(scheme.cash_adjust(held, base, price)?)?;
                }
                new_adjbase = Some(price);
                self.cash = cash;
            }
        }

        let exec_size = update.closed.try_add(opened)?;
        if !exec_size.is_zero() {
            let int2pnl = self.config.int2pnl;
            let feed = self.feed_mut(ins)?;
            if let Some(base) = new_adjbase {
                feed.position.set_adjbase(base);
            }
            feed.position.update(exec_size, price, now)?;
            if !update.closed.is_zero() && int2pnl {
                closed_comm = closed_comm.try_add(core::mem::take(&mut feed.credit))?;
            }
            let fill = Fill {
                exec_id: self.next_exec_id()?,
                at,
                size: exec_size,
                price,
                closed: update.closed,
                closed_value,
                closed_comm,
                opened,
                opened_value,
                opened_comm,
                pnl,
                psize: update.size,
                pprice: update.price,
            };
            self.orders.order_mut(id)?.apply_fill(&fill)?;
            self.notify(id)?;
            self.oco_check(id)?;
        } else if let Some(base) = new_adjbase {
            self.feed_mut(ins)?.position.set_adjbase(base);
        }

        if !update.opened.is_zero() && opened.is_zero() {
            self.orders.order_mut(id)?.margin(now)?;
            self.notify(id)?;
            self.oco_check(id)?;
            self.bracketize(id, true)?;
        }
        Ok(())
    }
}
