//! Reconciliation: what Binance says about an order (query, `myTrades`, a cancel's answer, a
//! stream event) turned into the engine reports still owed, fills before final states.

use super::*;

impl BinanceVenue {
    /// Starts reconciling `order` (a query once REST is open).
    pub(super) fn reconcile(&mut self, order: OrderId, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let Some(t) = self.orders.get_mut(&order.0) else { return Ok(()) };
        if t.reconcile == Reconcile::InFlight {
            // Already on its way: its answer is at least as recent as this need.
            return Ok(());
        }
        t.reconcile = Reconcile::Wanted;
        self.send_wanted(cx)
    }

    /// Sends the due reconciliation queries, oldest order first.
    pub(super) fn send_wanted(&mut self, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        if !cx.wire.is_open(REST) {
            return Ok(());
        }
        let mut due: Vec<u64> =
            self.orders.iter().filter(|(_, t)| t.reconcile == Reconcile::Wanted).map(|(k, _)| *k).collect();
        due.sort_unstable();
        for id in due {
            let order = OrderId(id);
            let Some(t) = self.orders.get(&id) else { continue };
            let client_id = self.ids.encode(order);
            let http = self.rest.query_order(
                &self.symbols[t.sym].name,
                OrderRef::ClientId(client_id.as_str()),
                Self::now_ms(cx),
            );
            if self.send_rest(&http, Purpose::Query(order), 0, cx).is_err() {
                // Over budget with the hold queue full, or REST just closed: try again later.
                cx.wire.set_timer(Timestamp::from_nanos(cx.now.nanos() + RETRY_AFTER.nanos()), RETRY_TIMER);
                break;
            }
            self.stats.reconciles += 1;
            if let Some(t) = self.orders.get_mut(&id) {
                t.reconcile = Reconcile::InFlight;
            }
        }
        Ok(())
    }

    /// Asks for the fills of `order` (Binance counts more than were reported).
    pub(super) fn fetch_trades(&mut self, order: OrderId, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let Some(t) = self.orders.get_mut(&order.0) else { return Ok(()) };
        let Some(venue_id) = t.venue_id else {
            // Only reached with an order id from Binance; without one, query first.
            t.reconcile = Reconcile::Wanted;
            return self.send_wanted(cx);
        };
        t.reconcile = Reconcile::InFlight;
        let target = my_trades_target(
            &self.symbols[t.sym].name,
            venue_id,
            self.recv_window_ms,
            Self::now_ms(cx),
            &self.signer,
        );
        let key = self.api_key.clone();
        let tag = self.tag(Purpose::Trades(order), cx);
        let http = HttpRequest {
            method: "GET",
            target: &target,
            headers: &[("X-MBX-APIKEY", key.as_str())],
            body: &[],
            tag,
            cost: Cost::weight(MY_TRADES_WEIGHT),
        };
        if cx.wire.http(REST, &http).is_err() {
            self.pending.remove(&tag);
            if let Some(t) = self.orders.get_mut(&order.0) {
                t.reconcile = Reconcile::Wanted;
            }
            cx.wire.set_timer(Timestamp::from_nanos(cx.now.nanos() + RETRY_AFTER.nanos()), RETRY_TIMER);
        }
        Ok(())
    }

    /// A reconciliation step failed without an answer: query again later.
    pub(super) fn retry_later(&mut self, order: OrderId, cx: &mut Context<'_>) {
        if let Some(t) = self.orders.get_mut(&order.0) {
            t.reconcile = Reconcile::Wanted;
        }
        cx.wire.set_timer(Timestamp::from_nanos(cx.now.nanos() + RETRY_AFTER.nanos()), RETRY_TIMER);
    }

    /// Binance says `order` is in `status` with `executed` filled: report the missing fills first
    /// (via `myTrades`), then the state. `queried`: the answer to a reconciliation query.
    pub(super) fn settle(
        &mut self,
        order: OrderId,
        status: OrderStatus,
        executed: Qty,
        queried: bool,
        cx: &mut Context<'_>,
    ) -> Result<(), GatewayError> {
        let Some(t) = self.orders.get_mut(&order.0) else { return Ok(()) };
        // A final state stays final: a later, older view (a stream event behind a query) must not
        // undo it.
        t.final_wanted = final_status(status).or(t.final_wanted);
        t.executed = t.executed.max(executed);
        if t.executed > t.filled {
            return self.fetch_trades(order, cx);
        }
        self.conclude(order, queried, cx)
    }

    /// Every fill is reported: report the state Binance gave and forget a finished order. For a
    /// working order only a reconciliation (`queried`) has something to say: the acknowledgement
    /// (ignored by the engine if it had one) or that a cancel in doubt did not happen.
    pub(super) fn conclude(
        &mut self,
        order: OrderId,
        queried: bool,
        cx: &mut Context<'_>,
    ) -> Result<(), GatewayError> {
        let Some(t) = self.orders.get_mut(&order.0) else { return Ok(()) };
        t.reconcile = Reconcile::Idle;
        let instrument = t.request.instrument;
        match t.final_wanted.take() {
            // The fills completed it in the engine already.
            Some(Status::Completed) => {
                self.forget(order);
                Ok(())
            }
            Some(status) => {
                self.forget(order);
                Self::report(cx, instrument, order, status)
            }
            None if !queried => Ok(()),
            None => {
                // Working: the cancel that was in doubt did not happen.
                if t.cancel_in_doubt {
                    return self.cancel_did_nothing(cx, instrument, order);
                }
                self.acknowledge(cx, instrument, order, cx.now)
            }
        }
    }

    /// Reports one fill to the engine and counts it against the tracked order.
    pub(super) fn fill(
        &mut self,
        cx: &mut Context<'_>,
        order: OrderId,
        instrument: InstrumentId,
        record: ExecRecord,
        ts: Timestamp,
    ) -> Result<(), GatewayError> {
        if let Some(t) = self.orders.get_mut(&order.0) {
            t.filled = t.filled.checked_add(record.qty.abs()).unwrap_or(t.filled);
        }
        Self::event(cx, ts, instrument, Payload::Exec(record))
    }

    pub(super) fn on_trades(
        &mut self,
        order: OrderId,
        trades: &[MyTrade<'_>],
        cx: &mut Context<'_>,
    ) -> Result<(), GatewayError> {
        let Some(t) = self.orders.get(&order.0) else { return Ok(()) };
        let (instrument, venue_id, sym) = (t.request.instrument, t.venue_id, t.sym);
        let quote = self.symbols[sym].info.as_ref().map_or("", |i| i.quote_asset.as_str()).to_owned();
        for tr in trades.iter().filter(|tr| Some(tr.order_id) == venue_id) {
            let new = self
                .mapper
                .dedupe_mut()
                .insert(tr.symbol, tr.id)
                .map_err(|e| GatewayError::malformed_venue(REST, e.to_string()))?;
            if !new {
                self.stats.duplicates += 1;
                continue;
            }
            self.stats.backfilled += 1;
            let qty = if tr.is_buyer { tr.qty } else { -tr.qty };
            let fee = if tr.commission_asset == quote { tr.commission.raw() } else { 0 };
            let record = ExecRecord {
                order: order.0,
                exec: tr.id,
                status: status_code(Status::Partial),
                qty,
                price: tr.price,
                fee,
            };
            let ts = millis_to_timestamp(tr.time).unwrap_or(cx.now);
            self.fill(cx, order, instrument, record, ts)?;
        }
        if self.orders.get(&order.0).is_some_and(|t| t.filled < t.executed) {
            // myTrades lags what the order query counted: ask again before any final state.
            self.retry_later(order, cx);
            return Ok(());
        }
        self.conclude(order, true, cx)
    }
}

/// The engine's final status for a Binance status (`None` while the order works).
fn final_status(status: OrderStatus) -> Option<Status> {
    match status {
        OrderStatus::Filled => Some(Status::Completed),
        OrderStatus::Canceled => Some(Status::Canceled),
        OrderStatus::Expired | OrderStatus::ExpiredInMatch => Some(Status::Expired),
        OrderStatus::Rejected => Some(Status::Rejected),
        OrderStatus::New
        | OrderStatus::PendingNew
        | OrderStatus::PartiallyFilled
        | OrderStatus::PendingCancel => None,
    }
}
