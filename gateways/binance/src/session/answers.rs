//! REST answers, by what each request was for.

use super::*;

/// A REST answer as the session acts on it.
enum Answer<T> {
    /// A 2xx that decoded.
    Ok(T),
    /// Binance (or something in front of it) refused: nothing happened.
    Refused(BinanceError),
    /// A 5xx: Binance may or may not have acted.
    Unknown,
    /// An answer that does not decode: malformed input (the outcome is unknown too).
    Broken(String),
}

impl BinanceVenue {
    pub(super) fn on_http(
        &mut self,
        response: &HttpResponse<'_>,
        cx: &mut Context<'_>,
    ) -> Result<(), GatewayError> {
        let Some((purpose, _)) = self.pending.remove(&response.tag()) else { return Ok(()) };
        let headers: Vec<(&str, &str)> =
            response.headers().filter_map(|(n, v)| std::str::from_utf8(v).ok().map(|v| (n, v))).collect();
        if let Ok(usage) = Usage::from_headers(headers.iter().copied()) {
            let limits = cx.wire.limits_mut();
            if let Some(w) = usage.used_weight_1m {
                limits.observe_used(0, w, cx.now);
            }
            if let Some(o) = usage.order_count_10s {
                limits.observe_used(1, o, cx.now);
            }
        }
        let status = response.status();
        let body = std::str::from_utf8(response.body());
        let mut broken = None;
        macro_rules! answer {
            ($decode:expr) => {{
                let a = match body {
                    Err(_) => Answer::Broken("answer body is not UTF-8".to_owned()),
                    Ok(body) => classify(parse_answer(status, headers.iter().copied(), body, $decode)),
                };
                if let Answer::Broken(reason) = &a {
                    broken = Some(reason.clone());
                }
                a
            }};
        }
        match purpose {
            Purpose::ExchangeInfo => {
                self.info_in_flight = false;
                match answer!(|b| codec::decode::<ExchangeInfo>("exchangeInfo", b)) {
                    Answer::Ok(info) => {
                        for s in &mut self.symbols {
                            s.info = info.symbol(&s.name).cloned();
                        }
                        self.info_loaded = true;
                        self.release_waiting(cx)?;
                    }
                    _ => cx
                        .wire
                        .set_timer(Timestamp::from_nanos(cx.now.nanos() + RETRY_AFTER.nanos()), RETRY_TIMER),
                }
            }
            Purpose::Depth(sym) => {
                self.symbols[sym].depth_in_flight = false;
                if let Answer::Ok(snapshot) = answer!(|b| codec::decode::<DepthSnapshot>("depth snapshot", b))
                {
                    self.on_snapshot(sym, &snapshot, cx)?;
                }
            }
            Purpose::New(order) => {
                let instrument = self.orders.get(&order.0).map(|t| t.request.instrument);
                let Some(instrument) = instrument else { return Ok(()) };
                match answer!(codec::decode_order_response) {
                    Answer::Ok(resp) => {
                        if let Some(t) = self.orders.get_mut(&order.0) {
                            t.venue_id = Some(resp.ack().order_id);
                        }
                        self.acknowledge(cx, instrument, order, cx.now)?;
                    }
                    Answer::Refused(e) => self.reject(cx, instrument, order, e.to_string())?,
                    Answer::Unknown | Answer::Broken(_) => self.reconcile(order, cx)?,
                }
            }
            Purpose::Cancel(order, instrument) => {
                let tracked = self.orders.contains_key(&order.0);
                match answer!(|b| codec::decode::<CancelResponse<'_>>("cancel answer", b)) {
                    Answer::Ok(c) => {
                        if let Some(t) = self.orders.get_mut(&order.0) {
                            t.venue_id = Some(c.order_id);
                        }
                        // Untracked: the stream's CANCELED already answered the engine.
                        self.settle(order, c.state.status, c.state.executed_qty, false, cx)?;
                    }
                    // The order ended (filled) before the answer: the engine still awaits one.
                    _ if !tracked => self.cancel_did_nothing(cx, instrument, order)?,
                    Answer::Refused(e) if e.code == -2011 => {
                        self.cancel_did_nothing(cx, instrument, order)?;
                        self.reconcile(order, cx)?;
                    }
                    Answer::Refused(_) => self.cancel_did_nothing(cx, instrument, order)?,
                    Answer::Unknown | Answer::Broken(_) => {
                        if let Some(t) = self.orders.get_mut(&order.0) {
                            t.cancel_in_doubt = true;
                        }
                        self.reconcile(order, cx)?;
                    }
                }
            }
            Purpose::Query(order) => {
                let instrument = self.orders.get(&order.0).map(|t| t.request.instrument);
                let Some(instrument) = instrument else { return Ok(()) };
                match answer!(|b| codec::decode::<QueriedOrder<'_>>("order query", b)) {
                    Answer::Ok(q) => {
                        if let Some(t) = self.orders.get_mut(&order.0) {
                            t.venue_id = Some(q.order_id);
                        }
                        self.settle(order, q.state.status, q.state.executed_qty, true, cx)?;
                    }
                    // -2013: Binance never took the order.
                    Answer::Refused(e) if e.code == -2013 => {
                        let filled = self.orders.get(&order.0).map_or(Qty::ZERO, |t| t.filled);
                        if filled.is_zero() {
                            self.reject(cx, instrument, order, e.to_string())?;
                        } else {
                            self.forget(order);
                            Self::report(cx, instrument, order, Status::Expired)?;
                        }
                    }
                    _ => self.retry_later(order, cx),
                }
            }
            Purpose::Trades(order) => match answer!(|b| codec::decode::<Vec<MyTrade<'_>>>("myTrades", b)) {
                Answer::Ok(mut trades) => {
                    trades.sort_by_key(|t| t.id);
                    self.on_trades(order, &trades, cx)?;
                }
                _ => self.retry_later(order, cx),
            },
        }
        match broken {
            Some(reason) => Err(GatewayError::malformed_venue(REST, reason)),
            None => Ok(()),
        }
    }
}

fn classify<T>(r: Result<(T, Usage), RestError>) -> Answer<T> {
    match r {
        Ok((v, _)) => Answer::Ok(v),
        Err(RestError::Venue(e)) => Answer::Refused(e),
        Err(RestError::Unexpected { http_status, .. }) => Answer::Refused(BinanceError {
            http_status,
            code: 0,
            msg: format!("HTTP {http_status} without a Binance error body"),
            retry_after_secs: None,
        }),
        Err(RestError::OutcomeUnknown { .. }) => Answer::Unknown,
        Err(e @ (RestError::Decode(_) | RestError::Header { .. })) => Answer::Broken(e.to_string()),
    }
}
