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
//!   in a queue of [`WAITING_CAPACITY`], in order; past it they are rejected. A new order under an
//!   id the session already tracks is refused in `on_request` without a report (one would land on
//!   the live order). Every refusal before sending,
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
//! # Malformed input, lost answers
//! A frame or answer that does not decode is a [`GatewayError::Malformed`] naming its connection,
//! which the framework closes and reconnects; an order whose answer was malformed is reconciled.
//! The framework has no response timeout, so the session keeps one (`rest_timeout_ms`, 10 s): an
//! overdue REST answer is a connectivity fault on REST (reconnected; its requests come back as
//! failed and are resolved as above). Not while requests are held by the rate budget.
//!
//! # Modules
//! `config` (config and errors), `orders` (the order flow out), `answers` (REST answers),
//! `reconcile` (reports owed after what Binance says), `market` (market data and book sync),
//! `user_data` (the subscription and executionReports), `trades` (`myTrades`).
//!
//! # Known limits
//! - Reconciliation answers a working order with `Accepted` again; the engine ignores it unless
//!   the order was still `Submitted` (it counts it as an unknown report).
//! - After a 5xx on a new order, a query that finds no order (-2013) rejects it; Binance documents
//!   that such an order may still appear later, which this session would then report as foreign.
//! - Orders wait for REST without a time limit (only the queue is bounded); a cancel takes them
//!   out.
//! - The client id prefix is fixed ([`CLIENT_ID_PREFIX`]): two sessions on one account must not
//!   share engine order ids.
//! - Commissions in another asset than the quote (BNB, the base asset) are not in the report's
//!   fee (see [`crate::user`]); exchangeInfo is read once, at start.

mod answers;
mod config;
mod market;
mod orders;
mod reconcile;
mod trades;
mod user_data;

use std::collections::{HashMap, VecDeque};

use kestrel_engine::engine::{OrderRequest, RequestKind, VenueRequest};
use kestrel_engine::order::Status;
use kestrel_gateway::{
    Budget, BudgetKind, ConnId, Connectivity, Context, Cost, Endpoint, GatewayConfig, GatewayError,
    HttpRequest, HttpResponse, Input, Secrets, Venue, WsMessage,
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
/// Ended orders remembered, so the stream's late copies of their final state are recognised.
const ENDED_KEPT: usize = 4096;
/// The retry timer's token (exchangeInfo, reconciliation queries that failed).
const RETRY_TIMER: u64 = 1;
/// The REST answer timeout's token.
const TIMEOUT_TIMER: u64 = 2;
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
    /// The most Binance said had filled (`executedQty`, `z`): fills up to it are owed.
    executed: Qty,
    /// A cancel was sent and its outcome is unknown (reconciliation says what happened).
    cancel_in_doubt: bool,
    reconcile: Reconcile,
    /// A final state Binance reported that waits for missing fills before it is reported.
    final_wanted: Option<Status>,
    /// The engine was told the order is working: the REST answer and the user stream both say
    /// so, and a second acknowledgement would only be counted by the engine as an unknown report.
    acked: bool,
}

/// What an HTTP request was for (its tag's meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    ExchangeInfo,
    Depth(usize),
    New(OrderId),
    /// The order and its instrument (the cancel is answered even when the order ended meanwhile).
    Cancel(OrderId, InstrumentId),
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
    /// Status-only reports dropped for orders whose end was already reported.
    pub stale: u64,
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
    pending: HashMap<u64, (Purpose, Timestamp)>,
    rest_timeout: TimeSpan,
    next_tag: u64,
    subscription: Subscription,
    next_ws_id: u64,
    extra_ca: Option<Vec<u8>>,
    rejections: VecDeque<(OrderId, String)>,
    /// Orders that ended here lately (their final state was reported): later status-only reports
    /// about them are stale (the stream's copy of what an answer already said) and are dropped.
    ended: VecDeque<u64>,
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
            rest_timeout: TimeSpan::from_nanos(
                i64::from(config.rest_timeout_ms.unwrap_or(10_000)) * 1_000_000,
            ),
            next_tag: 1,
            subscription: Subscription::None,
            next_ws_id: 1,
            extra_ca,
            rejections: VecDeque::with_capacity(REJECTIONS_KEPT),
            ended: VecDeque::with_capacity(ENDED_KEPT),
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

    /// A tag for a request about to be sent, remembered with its purpose and time; the timeout
    /// check is due when it would be late.
    fn tag(&mut self, purpose: Purpose, cx: &mut Context<'_>) -> u64 {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.pending.insert(tag, (purpose, cx.now));
        cx.wire.set_timer(
            Timestamp::from_nanos(cx.now.nanos().saturating_add(self.rest_timeout.nanos())),
            TIMEOUT_TIMER,
        );
        tag
    }

    /// The REST connection's answer is overdue (the framework has no response timeout): a
    /// connectivity fault, so the framework closes and reconnects REST, and the requests on it come
    /// back as failed (sent or not) to be resolved as usual. Not while requests are held for the
    /// rate budget or a `Retry-After` pause: those are not late, only waiting.
    fn check_timeout(&self, cx: &Context<'_>) -> Result<(), GatewayError> {
        if !cx.wire.is_open(REST) || cx.wire.held() > 0 || cx.wire.limits().paused(cx.now).is_some() {
            return Ok(());
        }
        let late = self
            .pending
            .values()
            .any(|(_, at)| cx.now.nanos().saturating_sub(at.nanos()) >= self.rest_timeout.nanos());
        if late {
            return Err(GatewayError::Connectivity {
                conn: REST,
                reason: Connectivity::Io(std::io::ErrorKind::TimedOut),
            });
        }
        Ok(())
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
        let tag = self.tag(purpose, cx);
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

    /// Stops tracking `order`, whose final state the engine has (or is being sent), remembering it
    /// as ended for a while.
    fn forget(&mut self, order: OrderId) {
        self.orders.remove(&order.0);
        if self.ended.len() >= ENDED_KEPT {
            self.ended.pop_front();
        }
        self.ended.push_back(order.0);
    }

    /// Tells the engine `order` is working, once (whichever source says so first).
    fn acknowledge(
        &mut self,
        cx: &mut Context<'_>,
        instrument: InstrumentId,
        order: OrderId,
        ts_event: Timestamp,
    ) -> Result<(), GatewayError> {
        match self.orders.get_mut(&order.0) {
            Some(t) if !t.acked => {
                t.acked = true;
                let record = ExecRecord {
                    order: order.0,
                    exec: 0,
                    status: status_code(Status::Accepted),
                    qty: Qty::ZERO,
                    price: Price::ZERO,
                    fee: 0,
                };
                Self::event(cx, ts_event, instrument, Payload::Exec(record))
            }
            // Already acknowledged, or no longer tracked (ended): nothing new to tell.
            _ => Ok(()),
        }
    }

    /// Rejects `order` with `reason`: a `Rejected` report, the reason kept, the order forgotten.
    fn reject(
        &mut self,
        cx: &mut Context<'_>,
        instrument: InstrumentId,
        order: OrderId,
        reason: String,
    ) -> Result<(), GatewayError> {
        self.forget(order);
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
                let Some((purpose, _)) = self.pending.remove(&tag) else { return Ok(()) };
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
                    Purpose::Cancel(order, instrument) => match self.orders.get_mut(&order.0) {
                        Some(t) if sent => {
                            t.cancel_in_doubt = true;
                            self.retry_later(order, cx);
                        }
                        // Not sent, or the order ended meanwhile: the cancel did nothing.
                        _ => self.cancel_did_nothing(cx, instrument, order)?,
                    },
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
            Input::Timer { token: TIMEOUT_TIMER } => self.check_timeout(cx),
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
