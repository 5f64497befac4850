//! The order flow out: new orders (mapped, checked, signed, sent or queued) and cancels.

use super::*;

impl BinanceVenue {
    pub(super) fn place(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let (order, instrument) = (req.order, req.request.instrument);
        let Some(sym) = self.symbol_of(instrument) else {
            return self.reject(cx, instrument, order, format!("{instrument} is not a configured symbol"));
        };
        if self.orders.contains_key(&order.0) || self.waiting.iter().any(|w| w.order == order) {
            // A report under this id would land on the live order: refuse without one.
            return Err(GatewayError::Venue {
                reason: SessionError::Unsupported {
                    kind: req.kind,
                    order,
                    reason: "the order id is already in use by an open order",
                }
                .to_string(),
            });
        }
        let params = match map_order(&req.request) {
            Ok(p) => p,
            Err(e) => return self.reject(cx, instrument, order, e.to_string()),
        };
        if !self.info_loaded || !cx.wire.is_open(REST) {
            if self.waiting.len() >= WAITING_CAPACITY {
                return self.reject(
                    cx,
                    instrument,
                    order,
                    format!("{WAITING_CAPACITY} orders already wait for REST"),
                );
            }
            self.waiting.push_back(*req);
            return Ok(());
        }
        let s = &self.symbols[sym];
        let Some(info) = &s.info else {
            return self.reject(cx, instrument, order, format!("{} is not listed by exchangeInfo", s.name));
        };
        if let Err(e) = check_filters(&params, info, s.last_trade) {
            return self.reject(cx, instrument, order, e.to_string());
        }
        let client_id = self.ids.encode(order);
        let http = self.rest.new_order(
            &s.name,
            client_id.as_str(),
            &params,
            Some(RespType::Result),
            Self::now_ms(cx),
        );
        if let Err(e) = self.send_rest(&http, Purpose::New(order), 1, cx) {
            return self.reject(cx, instrument, order, e.to_string());
        }
        self.orders.insert(
            order.0,
            Tracked {
                sym,
                request: req.request,
                venue_id: None,
                filled: Qty::ZERO,
                executed: Qty::ZERO,
                cancel_in_doubt: false,
                reconcile: Reconcile::Idle,
                final_wanted: None,
            },
        );
        Ok(())
    }

    pub(super) fn cancel(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let (order, instrument) = (req.order, req.request.instrument);
        if let Some(i) = self.waiting.iter().position(|w| w.order == order) {
            self.waiting.remove(i);
            return Self::report(cx, instrument, order, Status::Canceled);
        }
        let Some(t) = self.orders.get_mut(&order.0) else {
            return self.cancel_did_nothing(cx, instrument, order);
        };
        let name = &self.symbols[t.sym].name;
        let client_id = self.ids.encode(order);
        let http = self.rest.cancel_order(name, OrderRef::ClientId(client_id.as_str()), Self::now_ms(cx));
        if self.send_rest(&http, Purpose::Cancel(order, instrument), 0, cx).is_err() {
            return self.cancel_did_nothing(cx, instrument, order);
        }
        Ok(())
    }

    /// Sends the orders that waited for exchangeInfo or REST.
    pub(super) fn release_waiting(&mut self, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let waiting: Vec<VenueRequest> = self.waiting.drain(..).collect();
        // Every order gets its turn even if one report cannot be delivered.
        let mut first_error = None;
        for req in &waiting {
            if let Err(e) = self.place(req, cx) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
