//! `BinanceVenue`: a Binance spot session on the gateway framework ([`kestrel_gateway::Venue`]).
//!
//! # Connections
//! - `rest` ([`REST`]): exchangeInfo at start (cached per symbol, for the filter checks), depth
//!   snapshots for the book sync, signed orders, cancels, order queries and `myTrades`.
//! - `market` ([`MARKET`]): one combined stream,
//!   `/stream?streams=<sym>@trade/<sym>@bookTicker/<sym>@depth@100ms` for every configured symbol.
//!   Trades become `Payload::Trade`, book tickers `Payload::Quote`, depth diffs go through
//!   [`crate::depth::BookSync`] with a REST snapshot (`SnapshotBegin`, levels, `SnapshotEnd`, then
//!   `Level`s; `BookClear` on a gap or when the stream drops).
//! - `user` ([`USER`]): the WebSocket API, `userDataStream.subscribe.signature`; its events
//!   (`{"subscriptionId":N,"event":{…}}`) give the order reports.
//!
//! # Orders
//! - New: mapped ([`crate::orders::map_order`]) and checked against the symbol's filters
//!   ([`crate::orders::check_filters`]) before a byte is sent; then a signed `POST /api/v3/order`
//!   with `newClientOrderId` from [`crate::orders::ClientIds`] (prefix [`CLIENT_ID_PREFIX`]) and
//!   `newOrderRespType=RESULT`. Orders that arrive before exchangeInfo (or while REST is down) wait
//!   in a queue of [`WAITING_CAPACITY`]; past it they are rejected. Every refusal before sending,
//!   every Binance error answer and every transport failure before sending becomes a `Rejected`
//!   report. When the outcome is unknown (a 5xx, a connection lost after the request was written, an
//!   answer that does not decode) the order is reconciled (below).
//! - Cancel: signed `DELETE /api/v3/order` by `origClientOrderId`. A cancel that cannot act (-2011
//!   unknown order, any other refusal, a transport failure before sending, an order the session no
//!   longer tracks) is reported as `Completed` with no quantity: the engine's cancel-too-late path,
//!   which clears its pending cancel and leaves the order as the other reports say. After -2011
//!   the order is also reconciled, to collect its final state.
//! - Amend: the engine's `on_exec` has no report that answers an amend for a live venue (its
//!   `Replaced` / `AmendTooLate` only come from the simulated venue), so the request is refused in
//!   `on_request` with [`SessionError::Unsupported`] and nothing is sent; the engine's order keeps
//!   `replace_pending`. Strategies on Binance cancel and place instead.
//!
//! # Fills exactly once
//! Fills come from executionReports ([`crate::user::UserMapper`], deduplicated on (symbol, trade
//! id)) and from `GET /api/v3/myTrades?orderId=` during reconciliation, through the same dedupe
//! window. The session tracks each order the engine still holds open, with the quantity reported
//! to the engine. A final state (canceled, expired) is reported only once every fill Binance counts
//! (`executedQty`, `z`) has been reported, so no fill can arrive after the engine freed the order.
//!
//! Reconciliation (`GET /api/v3/order` by client id, then `myTrades` when Binance counts more fills
//! than were reported) runs for one order after an unknown outcome, and for every tracked order
//! each time the user data subscription is (re)established: the subscription comes first, so a
//! fill lands either in the query's answer or on the new stream, or both (deduplicated).
//!
//! # Rate limits
//! Two budgets, Binance's published defaults: request weight 6000 per minute and 100 orders per
//! 10 s ([`BinanceVenue::budgets`]). `X-MBX-USED-WEIGHT-1M` and `X-MBX-ORDER-COUNT-10S` from every
//! answer update them; a 429/418 pauses requests until `Retry-After` (the framework reads it), and
//! the refused order is rejected.
//!
//! # Malformed input
//! A frame or answer that does not decode is a [`GatewayError::Malformed`] naming its connection,
//! which the framework closes and reconnects; an order whose answer was malformed is reconciled.

mod config;
mod trades;

use std::collections::{HashMap, VecDeque};

use kestrel_engine::engine::{OrderRequest, RequestKind, VenueRequest};
use kestrel_engine::order::Status;
use kestrel_gateway::{
    Budget, BudgetKind, ConnId, Context, Cost, Endpoint, GatewayConfig, GatewayError, HttpRequest,
    HttpResponse, Input, Secrets, Venue, WsMessage,
};
use kestrel_types::{Event, ExecRecord, InstrumentId, OrderId, Payload, Price, Qty, TimeSpan, Timestamp};
use serde::Deserialize;
use serde::de::IgnoredAny;
use zeroize::Zeroizing;

pub use config::{BinanceConfig, Mode, OrderPlacement, SessionError, SymbolConfig};

use crate::codec::{self, MarketMsg};
use crate::depth::{BookSync, SnapshotError};
use crate::msg::{
    CancelResponse, DepthSnapshot, ExchangeInfo, ExecutionReport, OrderStatus, QueriedOrder, SubscribeResult,
    SymbolInfo, UserEvent, UserSource, WsApiId, millis_to_timestamp,
};
use crate::orders::{ClientIds, check_filters, map_order};
use crate::rest::{
    BinanceError, OrderRef, RespType, RestClient, RestError, RestRequest, Usage, parse_answer,
};
use crate::sign::{Ed25519Key, HmacKey, Signer, ws_api_request};
use crate::user::{Outcome, UserMapper, status_code};
use trades::{MY_TRADES_WEIGHT, MyTrade, my_trades_target};

/// The REST connection.
pub const REST: ConnId = ConnId(0);
/// The combined market stream.
pub const MARKET: ConnId = ConnId(1);
/// The WebSocket API (user data subscription).
pub const USER: ConnId = ConnId(2);

/// The `newClientOrderId` prefix: `kst-<engine order id>`.
pub const CLIENT_ID_PREFIX: &str = "kst";
/// Orders kept while exchangeInfo is awaited or REST is down; later ones are rejected.
pub const WAITING_CAPACITY: usize = 64;
/// Fills remembered for deduplication.
const DEDUPE_WINDOW: usize = 4096;
/// Depth diffs buffered per symbol while its snapshot is fetched.
const DEPTH_BUFFER: usize = 4096;
/// `limit` of the depth snapshot (weight 50).
const DEPTH_LIMIT: u16 = 1000;
/// Rejection reasons kept for inspection.
const REJECTIONS_KEPT: usize = 64;
/// The retry timer's token (exchangeInfo, reconciliation queries that failed).
const RETRY_TIMER: u64 = 1;
/// How long after a failed query or exchangeInfo the next try is.
const RETRY_AFTER: TimeSpan = TimeSpan::from_nanos(1_000_000_000);

/// One configured symbol's state.
#[derive(Debug)]
struct Symbol {
    name: String,
    instrument: InstrumentId,
    /// From exchangeInfo: `None` until it arrives, or when Binance does not list the symbol.
    info: Option<SymbolInfo>,
    book: BookSync,
    depth_in_flight: bool,
    last_trade: Option<Price>,
}

/// Where an order's reconciliation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reconcile {
    /// Nothing to check.
    Idle,
    /// A query is due (sent once REST is open).
    Wanted,
    /// The query or the `myTrades` request is on its way.
    InFlight,
}

/// An order the engine holds open, as the session knows it.
#[derive(Debug)]
struct Tracked {
    sym: usize,
    request: OrderRequest,
    /// Binance's order id, once an answer or event named it.
    venue_id: Option<u64>,
    /// Quantity reported to the engine (absolute).
    filled: Qty,
    /// A cancel was sent and its outcome is unknown (reconciliation says what happened).
    cancel_in_doubt: bool,
    reconcile: Reconcile,
    /// A final state Binance reported that waits for missing fills before it is reported.
    final_wanted: Option<Status>,
}

/// What an HTTP request was for (its tag's meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    ExchangeInfo,
    Depth(usize),
    New(OrderId),
    Cancel(OrderId),
    Query(OrderId),
    Trades(OrderId),
}

/// The user data subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subscription {
    None,
    /// `userDataStream.subscribe.signature` sent with this request number.
    Requested(u64),
    /// Events carry this subscription id.
    Active(u64),
}

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

/// Counters of what the session did, for tests and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// `userDataStream.subscribe.signature` requests sent.
    pub subscribes: u64,
    /// Orders reconciled by query.
    pub reconciles: u64,
    /// Fills reported from `myTrades` (missed by the stream).
    pub backfilled: u64,
    /// Fills dropped as already reported.
    pub duplicates: u64,
}

/// A Binance spot session: see the module docs for the connections and the order flow.
pub struct BinanceVenue {
    endpoints: Vec<Endpoint>,
    budgets: [Budget; 2],
    rest: RestClient,
    /// Signs WS-API requests and `myTrades` (the [`RestClient`] holds its own copy).
    signer: Signer,
    api_key: Zeroizing<String>,
    recv_window_ms: Option<u32>,
    ids: ClientIds,
    mapper: UserMapper,
    symbols: Vec<Symbol>,
    info_loaded: bool,
    info_in_flight: bool,
    orders: HashMap<u64, Tracked>,
    waiting: VecDeque<VenueRequest>,
    pending: HashMap<u64, Purpose>,
    next_tag: u64,
    subscription: Subscription,
    next_ws_id: u64,
    extra_ca: Option<Vec<u8>>,
    rejections: VecDeque<(OrderId, String)>,
    payloads: Vec<Payload>,
    stats: SessionStats,
}

impl std::fmt::Debug for BinanceVenue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceVenue")
            .field("endpoints", &self.endpoints)
            .field("api_key", &"***")
            .field("symbols", &self.symbols.iter().map(|s| s.name.as_str()).collect::<Vec<_>>())
            .field("open_orders", &self.orders.len())
            .field("waiting", &self.waiting.len())
            .field("subscription", &self.subscription)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Builds a signer: Ed25519 when `ed25519_key` (a PKCS#8 PEM) is among the secrets, else HMAC
/// with `api_secret`.
fn signer(secrets: &Secrets) -> Result<Signer, SessionError> {
    match secrets.get("ed25519_key") {
        Ok(pem) => Ok(Signer::Ed25519(Ed25519Key::from_pkcs8_pem(pem.expose())?)),
        Err(_) => Ok(Signer::Hmac(HmacKey::new(secrets.get("api_secret")?.expose()))),
    }
}

impl BinanceVenue {
    /// A session for `config`, with the API key from `secrets` (`api_key`) and the signing key:
    /// `ed25519_key` (PKCS#8 PEM) when present, else the HMAC secret `api_secret`.
    ///
    /// # Errors
    /// [`SessionError`]: live mode without `allow_live`, a bad URL or symbol list, an unreadable
    /// CA file, a missing credential or a bad Ed25519 key.
    pub fn new(config: BinanceConfig, secrets: &Secrets) -> Result<Self, SessionError> {
        let urls = config.validate()?;
        let extra_ca = match &config.ca_file {
            Some(path) => Some(
                std::fs::read(path).map_err(|source| SessionError::CaFile { path: path.clone(), source })?,
            ),
            None => None,
        };
        let api_key = Zeroizing::new(secrets.get("api_key")?.expose().to_owned());
        let mut rest =
            RestClient::new(&api_key, signer(secrets)?).with_placement(config.order_placement.placement());
        if let Some(w) = config.recv_window_ms {
            rest = rest.with_recv_window(w);
        }
        let ids = ClientIds::new(CLIENT_ID_PREFIX)
            .map_err(|e| SessionError::Config { field: "client id prefix", reason: e.to_string() })?;
        let symbols = config
            .symbols
            .iter()
            .map(|s| Symbol {
                name: s.symbol.clone(),
                instrument: InstrumentId(s.instrument),
                info: None,
                book: BookSync::new(DEPTH_BUFFER),
                depth_in_flight: false,
                last_trade: None,
            })
            .collect();
        Ok(Self {
            endpoints: config.endpoints(&urls),
            budgets: [
                Budget {
                    kind: BudgetKind::Weight,
                    limit: 6000,
                    interval: TimeSpan::from_nanos(60_000_000_000),
                },
                Budget {
                    kind: BudgetKind::Orders,
                    limit: 100,
                    interval: TimeSpan::from_nanos(10_000_000_000),
                },
            ],
            rest,
            signer: signer(secrets)?,
            api_key,
            recv_window_ms: config.recv_window_ms,
            ids,
            mapper: UserMapper::new(ids, DEDUPE_WINDOW),
            symbols,
            info_loaded: false,
            info_in_flight: false,
            orders: HashMap::new(),
            waiting: VecDeque::with_capacity(WAITING_CAPACITY),
            pending: HashMap::new(),
            next_tag: 1,
            subscription: Subscription::None,
            next_ws_id: 1,
            extra_ca,
            rejections: VecDeque::with_capacity(REJECTIONS_KEPT),
            payloads: Vec::with_capacity(256),
            stats: SessionStats::default(),
        })
    }

    /// The gateway settings this session needs: `base` with the config's CA file trusted.
    pub fn gateway_config(&self, base: GatewayConfig) -> GatewayConfig {
        let mut config = base;
        if let Some(ca) = &self.extra_ca {
            config.extra_ca_pem = Some(ca.clone());
        }
        config
    }

    /// The latest rejections with their reasons, oldest first (the engine's report has no text).
    pub fn recent_rejections(&self) -> impl Iterator<Item = &(OrderId, String)> {
        self.rejections.iter()
    }

    /// What the session did so far.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Orders the session tracks as open (the engine's view, as far as reports went).
    pub fn open_orders(&self) -> usize {
        self.orders.len()
    }

    fn now_ms(cx: &Context<'_>) -> u64 {
        u64::try_from(cx.now.nanos() / 1_000_000).unwrap_or(0)
    }

    fn tag(&mut self, purpose: Purpose) -> u64 {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.pending.insert(tag, purpose);
        tag
    }

    /// Sends a codec-built request on REST.
    fn send_rest(
        &mut self,
        req: &RestRequest,
        purpose: Purpose,
        orders: u32,
        cx: &mut Context<'_>,
    ) -> Result<(), GatewayError> {
        let target = req.target();
        let headers: Vec<(&str, &str)> = req.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let tag = self.tag(purpose);
        let http = HttpRequest {
            method: req.method.as_str(),
            target: &target,
            headers: &headers,
            body: req.body.as_bytes(),
            tag,
            cost: Cost { weight: req.weight, orders },
        };
        cx.wire.http(REST, &http).map(|_| ()).inspect_err(|_| {
            self.pending.remove(&tag);
        })
    }

    fn event(
        cx: &mut Context<'_>,
        ts_event: Timestamp,
        instrument: InstrumentId,
        payload: Payload,
    ) -> Result<(), GatewayError> {
        cx.inbox.push(Event { ts_event, ts_recv: cx.now, instrument, payload }).map_err(GatewayError::from)
    }

    /// Reports `status` (no quantity) for `order`.
    fn report(
        cx: &mut Context<'_>,
        instrument: InstrumentId,
        order: OrderId,
        status: Status,
    ) -> Result<(), GatewayError> {
        let record = ExecRecord {
            order: order.0,
            exec: 0,
            status: status_code(status),
            qty: Qty::ZERO,
            price: Price::ZERO,
            fee: 0,
        };
        Self::event(cx, cx.now, instrument, Payload::Exec(record))
    }

    /// Rejects `order` with `reason`: a `Rejected` report, the reason kept, the order forgotten.
    fn reject(
        &mut self,
        cx: &mut Context<'_>,
        instrument: InstrumentId,
        order: OrderId,
        reason: String,
    ) -> Result<(), GatewayError> {
        self.orders.remove(&order.0);
        if self.rejections.len() >= REJECTIONS_KEPT {
            self.rejections.pop_front();
        }
        self.rejections.push_back((order, reason));
        Self::report(cx, instrument, order, Status::Rejected)
    }

    /// The engine's cancel-too-late answer: `Completed` with no quantity.
    fn cancel_did_nothing(
        &mut self,
        cx: &mut Context<'_>,
        instrument: InstrumentId,
        order: OrderId,
    ) -> Result<(), GatewayError> {
        if let Some(t) = self.orders.get_mut(&order.0) {
            t.cancel_in_doubt = false;
        }
        Self::report(cx, instrument, order, Status::Completed)
    }

    fn symbol_of(&self, instrument: InstrumentId) -> Option<usize> {
        self.symbols.iter().position(|s| s.instrument == instrument)
    }

    fn symbol_named(&self, name: &str) -> Option<usize> {
        self.symbols.iter().position(|s| s.name == name)
    }

    // ---- orders -------------------------------------------------------------------------------

    fn place(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let (order, instrument) = (req.order, req.request.instrument);
        let Some(sym) = self.symbol_of(instrument) else {
            return self.reject(cx, instrument, order, format!("{instrument} is not a configured symbol"));
        };
        if self.orders.contains_key(&order.0) || self.waiting.iter().any(|w| w.order == order) {
            return self.reject(cx, instrument, order, "order id already in use".into());
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
                cancel_in_doubt: false,
                reconcile: Reconcile::Idle,
                final_wanted: None,
            },
        );
        Ok(())
    }

    fn cancel(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
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
        if self.send_rest(&http, Purpose::Cancel(order), 0, cx).is_err() {
            return self.cancel_did_nothing(cx, instrument, order);
        }
        Ok(())
    }

    /// Sends the orders that waited for exchangeInfo or REST.
    fn release_waiting(&mut self, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let waiting: Vec<VenueRequest> = self.waiting.drain(..).collect();
        for req in &waiting {
            self.place(req, cx)?;
        }
        Ok(())
    }

    /// Starts reconciling `order` (a query once REST is open).
    fn reconcile(&mut self, order: OrderId, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let Some(t) = self.orders.get_mut(&order.0) else { return Ok(()) };
        if t.reconcile == Reconcile::InFlight {
            // Already on its way: its answer is at least as recent as this need.
            return Ok(());
        }
        t.reconcile = Reconcile::Wanted;
        self.send_wanted(cx)
    }

    /// Sends the due reconciliation queries, oldest order first.
    fn send_wanted(&mut self, cx: &mut Context<'_>) -> Result<(), GatewayError> {
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
    fn fetch_trades(&mut self, order: OrderId, cx: &mut Context<'_>) -> Result<(), GatewayError> {
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
        let tag = self.tag(Purpose::Trades(order));
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
    fn retry_later(&mut self, order: OrderId, cx: &mut Context<'_>) {
        if let Some(t) = self.orders.get_mut(&order.0) {
            t.reconcile = Reconcile::Wanted;
        }
        cx.wire.set_timer(Timestamp::from_nanos(cx.now.nanos() + RETRY_AFTER.nanos()), RETRY_TIMER);
    }

    /// Binance says `order` is in `status` with `executed` filled: report the missing fills first
    /// (via `myTrades`), then the state. `queried`: the answer to a reconciliation query.
    fn settle(
        &mut self,
        order: OrderId,
        status: OrderStatus,
        executed: Qty,
        queried: bool,
        cx: &mut Context<'_>,
    ) -> Result<(), GatewayError> {
        let Some(t) = self.orders.get_mut(&order.0) else { return Ok(()) };
        t.final_wanted = final_status(status);
        if executed > t.filled {
            return self.fetch_trades(order, cx);
        }
        self.conclude(order, queried, cx)
    }

    /// Every fill is reported: report the state Binance gave and forget a finished order. For a
    /// working order only a reconciliation (`queried`) has something to say: the acknowledgement
    /// (ignored by the engine if it had one) or that a cancel in doubt did not happen.
    fn conclude(&mut self, order: OrderId, queried: bool, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let Some(t) = self.orders.get_mut(&order.0) else { return Ok(()) };
        t.reconcile = Reconcile::Idle;
        let instrument = t.request.instrument;
        match t.final_wanted.take() {
            // The fills completed it in the engine already.
            Some(Status::Completed) => {
                self.orders.remove(&order.0);
                Ok(())
            }
            Some(status) => {
                self.orders.remove(&order.0);
                Self::report(cx, instrument, order, status)
            }
            None if !queried => Ok(()),
            None => {
                // Working: the cancel that was in doubt did not happen.
                if t.cancel_in_doubt {
                    return self.cancel_did_nothing(cx, instrument, order);
                }
                Self::report(cx, instrument, order, Status::Accepted)
            }
        }
    }

    /// Reports one fill to the engine and counts it against the tracked order.
    fn fill(
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

    // ---- REST answers ----------------------------------------------------------------------------

    fn on_http(&mut self, response: &HttpResponse<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        let Some(purpose) = self.pending.remove(&response.tag()) else { return Ok(()) };
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
                        Self::report(cx, instrument, order, Status::Accepted)?;
                    }
                    Answer::Refused(e) => self.reject(cx, instrument, order, e.to_string())?,
                    Answer::Unknown | Answer::Broken(_) => self.reconcile(order, cx)?,
                }
            }
            Purpose::Cancel(order) => {
                let instrument = self.orders.get(&order.0).map(|t| t.request.instrument);
                let Some(instrument) = instrument else { return Ok(()) };
                match answer!(|b| codec::decode::<CancelResponse<'_>>("cancel answer", b)) {
                    Answer::Ok(c) => {
                        if let Some(t) = self.orders.get_mut(&order.0) {
                            t.venue_id = Some(c.order_id);
                        }
                        self.settle(order, c.state.status, c.state.executed_qty, false, cx)?;
                    }
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
                            self.orders.remove(&order.0);
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

    fn on_trades(
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
        self.conclude(order, true, cx)
    }

    // ---- market data ---------------------------------------------------------------------------

    fn on_market(&mut self, text: &str, cx: &mut Context<'_>) -> Result<(), GatewayError> {
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

    fn request_snapshot(&mut self, sym: usize, cx: &mut Context<'_>) -> Result<(), GatewayError> {
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

    fn on_snapshot(
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
    fn market_closed(&mut self, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        for sym in 0..self.symbols.len() {
            let was_live = self.symbols[sym].book.book_id().is_some();
            self.symbols[sym].book = BookSync::new(DEPTH_BUFFER);
            if was_live {
                Self::event(cx, cx.now, self.symbols[sym].instrument, Payload::BookClear)?;
            }
        }
        Ok(())
    }

    // ---- user data -------------------------------------------------------------------------------

    fn subscribe(&mut self, cx: &mut Context<'_>) -> Result<(), GatewayError> {
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

    fn on_user(&mut self, text: &str, cx: &mut Context<'_>) -> Result<(), GatewayError> {
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

    fn on_execution(&mut self, r: &ExecutionReport<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError> {
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
            Some(Status::Accepted) => Self::event(cx, ev.venue_time, instrument, Payload::Exec(ev.record)),
            _ if self.orders.contains_key(&order.0) => self.settle(order, r.status, r.cum_qty, false, cx),
            // Not tracked: already ended, or placed before this session; the engine decides.
            _ => Self::event(cx, ev.venue_time, instrument, Payload::Exec(ev.record)),
        }
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

impl Venue for BinanceVenue {
    const NAME: &'static str = "binance";

    fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    fn budgets(&self) -> &[Budget] {
        &self.budgets
    }

    fn on_input(&mut self, input: Input<'_>, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        match input {
            Input::Started => {
                cx.wire.open(REST)?;
                cx.wire.open(MARKET)?;
                cx.wire.open(USER)
            }
            Input::Opened(REST) => {
                if !self.info_loaded && !self.info_in_flight {
                    let names: Vec<&str> = self.symbols.iter().map(|s| s.name.as_str()).collect();
                    let http = self.rest.exchange_info(&names);
                    self.send_rest(&http, Purpose::ExchangeInfo, 0, cx)?;
                    self.info_in_flight = true;
                }
                for sym in 0..self.symbols.len() {
                    self.request_snapshot(sym, cx)?;
                }
                self.send_wanted(cx)?;
                if self.info_loaded { self.release_waiting(cx) } else { Ok(()) }
            }
            Input::Opened(USER) => self.subscribe(cx),
            Input::Opened(_) => Ok(()),
            Input::Closed { conn, .. } => {
                if conn == USER {
                    self.subscription = Subscription::None;
                } else if conn == MARKET {
                    self.market_closed(cx)?;
                }
                Ok(())
            }
            Input::Http { response, .. } => self.on_http(response, cx),
            Input::HttpFailed { tag, sent, .. } => {
                let Some(purpose) = self.pending.remove(&tag) else { return Ok(()) };
                match purpose {
                    Purpose::ExchangeInfo => self.info_in_flight = false,
                    Purpose::Depth(sym) => self.symbols[sym].depth_in_flight = false,
                    Purpose::New(order) => {
                        let instrument = self.orders.get(&order.0).map(|t| t.request.instrument);
                        if let Some(instrument) = instrument {
                            if sent {
                                // Binance may have it: ask once REST is back.
                                self.retry_later(order, cx);
                            } else {
                                self.reject(
                                    cx,
                                    instrument,
                                    order,
                                    "connection lost before the order was sent".into(),
                                )?;
                            }
                        }
                    }
                    Purpose::Cancel(order) => {
                        let instrument = self.orders.get(&order.0).map(|t| t.request.instrument);
                        if let Some(instrument) = instrument {
                            if sent {
                                if let Some(t) = self.orders.get_mut(&order.0) {
                                    t.cancel_in_doubt = true;
                                }
                                self.retry_later(order, cx);
                            } else {
                                self.cancel_did_nothing(cx, instrument, order)?;
                            }
                        }
                    }
                    Purpose::Query(order) | Purpose::Trades(order) => self.retry_later(order, cx),
                }
                Ok(())
            }
            Input::Ws { conn, message } => {
                let WsMessage::Text(text) = message else {
                    return Err(GatewayError::malformed_venue(conn, "binary WebSocket message"));
                };
                if conn == MARKET { self.on_market(text, cx) } else { self.on_user(text, cx) }
            }
            Input::Timer { .. } => {
                if !self.info_loaded && !self.info_in_flight && cx.wire.is_open(REST) {
                    let names: Vec<&str> = self.symbols.iter().map(|s| s.name.as_str()).collect();
                    let http = self.rest.exchange_info(&names);
                    if self.send_rest(&http, Purpose::ExchangeInfo, 0, cx).is_ok() {
                        self.info_in_flight = true;
                    }
                }
                self.send_wanted(cx)
            }
        }
    }

    fn on_request(&mut self, req: &VenueRequest, cx: &mut Context<'_>) -> Result<(), GatewayError> {
        match req.kind {
            RequestKind::New => self.place(req, cx),
            RequestKind::Cancel => self.cancel(req, cx),
            RequestKind::Amend => Err(GatewayError::Venue {
                reason: SessionError::Unsupported {
                    kind: req.kind,
                    order: req.order,
                    reason: "the engine has no report for a live amend's answer; cancel and place instead",
                }
                .to_string(),
            }),
        }
    }
}
