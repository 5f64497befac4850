//! Matching on OHLC bars: when and at what price each exec type fills, with slippage.
//!
//! Each function mirrors one `bbroker.py` method and decides a price; [`super::execute`] does the
//! money. FORMAT.md §4.2–4.5 states the rules in prose.

use kestrel_types::{Bar, Exact, OrderId, Price, Rounding, Timestamp};

use super::{BrokerError, SimBroker};
use crate::order::ExecType;

/// Where an execution's price comes from: this bar, or (a `Close` order after its session) the
/// previous bar, whose close was annotated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ago {
    /// The current bar (backtrader's `ago=0`).
    Current,
    /// The previous bar (backtrader's `ago=-1`).
    Previous,
}

impl SimBroker {
    /// Tries to execute a pending, active order against its feed's current bar.
    // backtrader: bbroker.py BackBroker._try_exec
    pub(super) fn try_exec(&mut self, id: OrderId) -> Result<(), BrokerError> {
        let order = self.orders.order(id)?;
        let Some(bar) = self.feed(order.instrument())?.bar else { return Ok(()) };
        let (created, limit) = (order.price(), order.price_limit());
        match order.exec_type() {
            ExecType::Market => self.try_market(id, bar),
            ExecType::Close => self.try_close(id, bar),
            ExecType::Limit => self.try_limit(id, bar, created),
            ExecType::StopLimit | ExecType::StopTrailLimit if order.is_triggered() => {
                self.try_limit(id, bar, limit)
            }
            ExecType::Stop | ExecType::StopTrail => self.try_stop(id, bar, created),
            ExecType::StopLimit | ExecType::StopTrailLimit => self.try_stop_limit(id, bar, created, limit),
        }
    }

    // backtrader: bbroker.py BackBroker._try_exec_market
    fn try_market(&mut self, id: OrderId, bar: Bar) -> Result<(), BrokerError> {
        let order = self.orders.order(id)?;
        let (price, dtcoc) = if self.config.coc {
            (order.pclose(), Some(order.created_at()))
        } else {
            if !self.config.coo && bar.ts <= order.created_at() {
                return Ok(()); // only after the creation bar
            }
            (bar.open, None)
        };
        let doslip = self.config.slippage.open;
        let p = if order.is_buy() {
            self.slip_up(bar.high, price, doslip, false)?
        } else {
            self.slip_down(bar.low, price, doslip, false)?
        };
        self.execute(id, p, dtcoc, Ago::Current)
    }

    // backtrader: bbroker.py BackBroker._try_exec_close
    fn try_close(&mut self, id: OrderId, bar: Bar) -> Result<(), BrokerError> {
        let created = self.orders.order(id)?.created_at();
        let sim = self.sim(id)?;
        if bar.ts > created && bar.ts >= sim.dteos {
            return match sim.pannotated {
                Some(p) if bar.ts > sim.dteos => self.execute(id, Some(p), None, Ago::Previous),
                _ => self.execute(id, Some(bar.close), None, Ago::Current),
            };
        }
        self.sim_mut(id)?.pannotated = Some(bar.close);
        Ok(())
    }

    // backtrader: bbroker.py BackBroker._try_exec_limit
    fn try_limit(&mut self, id: OrderId, bar: Bar, limit: Price) -> Result<(), BrokerError> {
        let doslip = self.config.slippage.open;
        if self.orders.order(id)?.is_buy() {
            if limit >= bar.open {
                let p = self.slip_up(bar.high.min(limit), bar.open, doslip, true)?;
                self.execute(id, p, None, Ago::Current)?;
            } else if limit >= bar.low {
                self.execute(id, Some(limit), None, Ago::Current)?;
            }
        } else if limit <= bar.open {
            // backtrader passes the limit itself as the floor here, not max(low, limit).
            let p = self.slip_down(limit, bar.open, doslip, true)?;
            self.execute(id, p, None, Ago::Current)?;
        } else if limit <= bar.high {
            self.execute(id, Some(limit), None, Ago::Current)?;
        }
        Ok(())
    }

    // backtrader: bbroker.py BackBroker._try_exec_stop
    fn try_stop(&mut self, id: OrderId, bar: Bar, trigger: Price) -> Result<(), BrokerError> {
        let doslip = self.config.slippage.open;
        if self.orders.order(id)?.is_buy() {
            if bar.open >= trigger {
                let p = self.slip_up(bar.high, bar.open, doslip, false)?;
                self.execute(id, p, None, Ago::Current)?;
            } else if bar.high >= trigger {
                let p = self.slip_up(bar.high, trigger, true, false)?;
                self.execute(id, p, None, Ago::Current)?;
            }
        } else if bar.open <= trigger {
            let p = self.slip_down(bar.low, bar.open, doslip, false)?;
            self.execute(id, p, None, Ago::Current)?;
        } else if bar.low <= trigger {
            let p = self.slip_down(bar.low, trigger, true, false)?;
            self.execute(id, p, None, Ago::Current)?;
        }
        self.trail_if_alive(id, ExecType::StopTrail, bar.close)
    }

    // backtrader: bbroker.py BackBroker._try_exec_stoplimit
    fn try_stop_limit(
        &mut self,
        id: OrderId,
        bar: Bar,
        trigger: Price,
        limit: Price,
    ) -> Result<(), BrokerError> {
        let buy = self.orders.order(id)?.is_buy();
        let (o, c) = (bar.open, bar.close);
        if buy {
            if o >= trigger {
                self.orders.order_mut(id)?.trigger();
                self.try_limit(id, bar, limit)?;
            } else if bar.high >= trigger {
                self.orders.order_mut(id)?.trigger();
                if limit >= trigger {
                    let p = self.slip_up(bar.high, trigger, true, true)?;
                    self.execute(id, p, None, Ago::Current)?;
                } else if o > c && limit >= c {
                    self.execute(id, Some(limit), None, Ago::Current)?;
                }
            }
        } else if o <= trigger {
            self.orders.order_mut(id)?.trigger();
            self.try_limit(id, bar, limit)?;
        } else if bar.low <= trigger {
            self.orders.order_mut(id)?.trigger();
            if limit <= trigger {
                let p = self.slip_down(bar.low, trigger, true, true)?;
                self.execute(id, p, None, Ago::Current)?;
            } else if o <= c && limit <= c {
                self.execute(id, Some(limit), None, Ago::Current)?;
            }
        }
        self.trail_if_alive(id, ExecType::StopTrailLimit, c)
    }

    /// Ratchets a trailing order with the bar's close if it is of `kind` and still alive.
    fn trail_if_alive(&mut self, id: OrderId, kind: ExecType, close: Price) -> Result<(), BrokerError> {
        let order = self.orders.order_mut(id)?;
        if order.is_alive() && order.exec_type() == kind {
            order.trail_adjust(close)?;
        }
        Ok(())
    }

    /// The slipped price, `None` when slipping leaves the bar and no cap applies.
    fn slipped(&self, price: Price, up: bool) -> Result<Option<Price>, BrokerError> {
        let s = self.config.slippage;
        if !s.perc.is_zero() {
            let factor = if up {
                Exact::ONE.try_add(Exact::ratio(s.perc))?
            } else {
                Exact::ONE.try_sub(Exact::ratio(s.perc))?
            };
            return Ok(Some(Exact::price(price).try_mul(factor)?.to_price(Rounding::HalfEven)?));
        }
        if !s.fixed.is_zero() {
            return Ok(Some(if up { price.try_add(s.fixed)? } else { price.try_sub(s.fixed)? }));
        }
        Ok(None)
    }

    // backtrader: bbroker.py BackBroker._slip_up
    pub(super) fn slip_up(
        &self,
        pmax: Price,
        price: Price,
        doslip: bool,
        lim: bool,
    ) -> Result<Option<Price>, BrokerError> {
        if !doslip {
            return Ok(Some(price));
        }
        let Some(pslip) = self.slipped(price, true)? else { return Ok(Some(price)) };
        Ok(self.cap(pslip, pmax, pslip <= pmax, lim))
    }

    // backtrader: bbroker.py BackBroker._slip_down
    pub(super) fn slip_down(
        &self,
        pmin: Price,
        price: Price,
        doslip: bool,
        lim: bool,
    ) -> Result<Option<Price>, BrokerError> {
        if !doslip {
            return Ok(Some(price));
        }
        let Some(pslip) = self.slipped(price, false)? else { return Ok(Some(price)) };
        Ok(self.cap(pslip, pmin, pslip >= pmin, lim))
    }

    fn cap(&self, pslip: Price, bound: Price, inside: bool, lim: bool) -> Option<Price> {
        let s = self.config.slippage;
        if inside {
            Some(pslip)
        } else if s.matched || (lim && s.limit) {
            Some(if s.out { pslip } else { bound })
        } else {
            None
        }
    }
}

/// The timestamp of the bar an execution is booked at.
pub(super) fn exec_time(bar: Option<Bar>, prev: Option<Bar>, ago: Ago) -> Timestamp {
    match ago {
        Ago::Current => bar.map_or(Timestamp::EPOCH, |b| b.ts),
        Ago::Previous => prev.or(bar).map_or(Timestamp::EPOCH, |b| b.ts),
    }
}
