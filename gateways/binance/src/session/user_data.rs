//! The user data subscription on the WebSocket API and its executionReports.

use super::*;

impl BinanceVenue {
    pub(super) fn subscribe(&mut self, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let n = self.next_ws_id;
        self.next_ws_id += 1;
        let id = format!("kst-sub-{n}");
        let recv = self.recv_window_ms.map(|w| w.to_string());
        let params: Vec<(&str, &str)> = recv.as_deref().map(|w| ("recvWindow", w)).into_iter().collect();
        let frame = ws_api_request(
            &id,
            "userDataStream.subscribe.signature",
            &params,
            &self.api_key,
            Self::now_ms(cx),
            &self.signer,
        );
        cx.wire.send_text(USER, &frame)?;
        self.subscription = Subscription::Requested(n);
        self.stats.subscribes += 1;
        Ok(())
    }

    pub(super) fn on_user(&mut self, text: &str, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(default)]
            event: Option<IgnoredAny>,
            #[serde(default)]
            status: Option<IgnoredAny>,
        }
        let bad = |e: crate::DecodeError| GatewayError::malformed_venue(USER, e.to_string());
        let probe: Probe = codec::decode("user connection frame", text).map_err(bad)?;
        if probe.event.is_some() {
            let frame = codec::decode_user(text).map_err(bad)?;
            if let UserSource::Subscription(id) = frame.source
                && self.subscription != Subscription::Active(id)
            {
                // A subscription this session does not hold (an old one): not ours to act on.
                return Ok(());
            }
            return match frame.event {
                UserEvent::Execution(r) => self.on_execution(&r, cx),
                UserEvent::EventStreamTerminated(_) => {
                    self.subscription = Subscription::None;
                    self.subscribe(cx)
                }
                _ => Ok(()),
            };
        }
        if probe.status.is_none() {
            return Err(GatewayError::malformed_venue(USER, "neither an event nor a WebSocket API answer"));
        }
        let answer = codec::decode_wsapi(text).map_err(bad)?;
        let Subscription::Requested(n) = self.subscription else { return Ok(()) };
        let want = format!("kst-sub-{n}");
        if answer.id != WsApiId::Text(&want) {
            return Ok(());
        }
        if let Some(e) = &answer.error {
            // Without the subscription no fill arrives: reconnect (with backoff) and try again.
            return Err(GatewayError::malformed_venue(
                USER,
                format!(
                    "userDataStream.subscribe.signature refused: HTTP {} code {}: {}",
                    answer.status, e.code, e.msg
                ),
            ));
        }
        let result = answer.result_as::<SubscribeResult>("userDataStream.subscribe result").map_err(bad)?;
        let Some(result) = result else {
            return Err(GatewayError::malformed_venue(USER, "subscribe answer without result"));
        };
        self.subscription = Subscription::Active(result.subscription_id);
        // Events from here on reach us; whatever happened before is in the orders' state.
        let mut ids: Vec<u64> = self.orders.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(t) = self.orders.get_mut(&id)
                && t.reconcile == Reconcile::Idle
            {
                t.reconcile = Reconcile::Wanted;
            }
        }
        self.send_wanted(cx)
    }

    pub(super) fn on_execution(
        &mut self,
        r: &ExecutionReport<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), GatewayError> {
        let Some(sym) = self.symbol_named(r.symbol) else { return Ok(()) };
        let quote = self.symbols[sym].info.as_ref().map_or("", |i| i.quote_asset.as_str()).to_owned();
        let instrument = self.symbols[sym].instrument;
        let outcome = self
            .mapper
            .on_execution(r, &quote)
            .map_err(|e| GatewayError::malformed_venue(USER, e.to_string()))?;
        let ev = match outcome {
            Outcome::Report(ev) => ev,
            Outcome::Duplicate { .. } => {
                self.stats.duplicates += 1;
                return Ok(());
            }
            Outcome::Triggered { .. } | Outcome::Ignored { .. } | Outcome::Foreign => return Ok(()),
        };
        let order = ev.order;
        if let Some(t) = self.orders.get_mut(&order.0) {
            t.venue_id = Some(r.order_id);
        }
        if ev.trade_id.is_some() {
            self.fill(cx, order, instrument, ev.record, ev.venue_time)?;
            // A fill missing before this one (`z` counts more than was reported): backfill.
            return self.settle(order, r.status, r.cum_qty, false, cx);
        }
        let status = Status::ALL.get(usize::from(ev.record.status)).copied();
        match status {
            Some(Status::Accepted) => self.acknowledge(cx, instrument, order, ev.venue_time),
            _ if self.orders.contains_key(&order.0) => self.settle(order, r.status, r.cum_qty, false, cx),
            // Ended here already: the stream repeats what an answer said.
            _ if self.ended.contains(&order.0) => {
                self.stats.stale += 1;
                Ok(())
            }
            // Not tracked: placed before this session; the engine decides.
            _ => Self::event(cx, ev.venue_time, instrument, Payload::Exec(ev.record)),
        }
    }
}
