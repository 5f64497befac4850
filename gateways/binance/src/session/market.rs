//! Market data: trades, book tickers, and the depth book synced from diffs and a REST snapshot.

use super::*;

impl BinanceVenue {
    pub(super) fn on_market(&mut self, text: &str, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let frame =
            codec::decode_market(text).map_err(|e| GatewayError::malformed_venue(MARKET, e.to_string()))?;
        let now = cx.now;
        let ts = |ms: u64| millis_to_timestamp(ms).unwrap_or(now);
        match frame.msg {
            MarketMsg::Trade(t) => {
                let Some(sym) = self.symbol_named(t.symbol) else { return Ok(()) };
                self.symbols[sym].last_trade = Some(t.price);
                let instrument = self.symbols[sym].instrument;
                Self::event(cx, ts(t.event_time), instrument, Payload::Trade(t.to_trade()))
            }
            MarketMsg::BookTicker(b) => {
                let Some(sym) = self.symbol_named(b.symbol) else { return Ok(()) };
                // Spot book tickers carry no event time: the receive time stands in.
                Self::event(cx, cx.now, self.symbols[sym].instrument, Payload::Quote(b.to_quote()))
            }
            MarketMsg::Depth(d) => {
                let Some(sym) = self.symbol_named(d.symbol) else { return Ok(()) };
                let mut payloads = std::mem::take(&mut self.payloads);
                payloads.clear();
                // A gap clears the book and restarts buffering (the diff is kept); the snapshot
                // request below rebuilds it, so the error needs no further handling.
                let _ = self.symbols[sym].book.on_diff(&d, &mut |p| payloads.push(p));
                let instrument = self.symbols[sym].instrument;
                let at = ts(d.event_time);
                let pushed = payloads.iter().try_for_each(|p| Self::event(cx, at, instrument, *p));
                self.payloads = payloads;
                pushed?;
                self.request_snapshot(sym, cx)
            }
            MarketMsg::AggTrade(_) | MarketMsg::Control(_) | MarketMsg::Other { .. } => Ok(()),
        }
    }

    pub(super) fn request_snapshot(&mut self, sym: usize, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let s = &self.symbols[sym];
        if !s.book.needs_snapshot() || s.depth_in_flight || !cx.wire.is_open(REST) {
            return Ok(());
        }
        let http = self.rest.depth(&s.name, DEPTH_LIMIT);
        if self.send_rest(&http, Purpose::Depth(sym), 0, cx).is_ok() {
            self.symbols[sym].depth_in_flight = true;
        }
        Ok(())
    }

    pub(super) fn on_snapshot(
        &mut self,
        sym: usize,
        snapshot: &DepthSnapshot,
        cx: &mut Context<'_>,
    ) -> Result<(), GatewayError> {
        let mut payloads = std::mem::take(&mut self.payloads);
        payloads.clear();
        let result = self.symbols[sym].book.on_snapshot(snapshot, &mut |p| payloads.push(p));
        let instrument = self.symbols[sym].instrument;
        let pushed = payloads.iter().try_for_each(|p| Self::event(cx, cx.now, instrument, *p));
        self.payloads = payloads;
        pushed?;
        match result {
            // Older than the buffered diffs: fetch again at once (DIGEST §10 step 3).
            Err(SnapshotError::TooOld { .. } | SnapshotError::Resync(_)) => self.request_snapshot(sym, cx),
            _ => Ok(()),
        }
    }

    /// The market stream dropped: every book is stale until a new snapshot.
    pub(super) fn market_closed(&mut self, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        for sym in 0..self.symbols.len() {
            let was_live = self.symbols[sym].book.book_id().is_some();
            self.symbols[sym].book = BookSync::new(DEPTH_BUFFER);
            if was_live {
                Self::event(cx, cx.now, self.symbols[sym].instrument, Payload::BookClear)?;
            }
        }
        Ok(())
    }
}
