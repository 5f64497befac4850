//! The matcher: one [`L3Book`] per symbol holding a seeded synthetic book and the client's resting
//! orders; incoming orders walk the opposite side in price-time priority; balances move exactly;
//! every change feeds the streams (trades, bookTicker, depth diffs with one update-id counter per
//! symbol, so `/api/v3/depth`'s `lastUpdateId` and the diffs' `U`/`u` line up) and the user data
//! (executionReport, outboundAccountPosition).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use kestrel_engine::book::{FillMode, L3Book, L3Config};
use kestrel_types::{BookSide, Price, Qty};
use serde_json::{Value, json};

use crate::error::{ApiError, SimError};
use crate::faults::Faults;
use crate::hub::Hub;
use crate::market::SymbolSpec;
use crate::num::{self, px, qty};
use crate::order::{Fill, OrdType, Order, Report, Side, Status, Tif};

/// Synthetic orders' ids start here; client order ids stay far below.
const SYNTH_BASE: u64 = 1 << 48;
/// Synthetic levels kept on each side.
const LEVELS: i64 = 20;

/// A small seeded generator (splitmix64): the synthetic market is the same run after run for a
/// seed, and a crate for this would be larger than the function.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1).max(1) as u64;
        lo + (self.next_u64() % span) as i64
    }

    /// `n` alphanumerics (Binance-style generated client order ids, listenKeys).
    pub fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n).map(|_| A[(self.next_u64() % A.len() as u64) as usize] as char).collect()
    }
}

/// Free and locked amounts of one asset, nano units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Available.
    pub free: i64,
    /// Held by open orders.
    pub locked: i64,
}

/// Levels changed since the last diff of one depth stream.
#[derive(Clone, Debug, Default)]
struct Pending {
    first: Option<u64>,
    levels: BTreeSet<(bool, i64)>,
}

/// Statistics since start (the 24hr ticker's window is the simulator's life).
#[derive(Clone, Debug, Default)]
struct Stats {
    open: Price,
    high: Price,
    low: Price,
    last: Price,
    last_qty: Qty,
    volume: i128,
    quote_volume: i128,
    count: u64,
    first_id: Option<u64>,
    last_id: Option<u64>,
    open_time: i64,
}

/// Best bid and best ask with their sizes.
type Top = (Option<(Price, Qty)>, Option<(Price, Qty)>);

/// One symbol's live state.
#[derive(Debug)]
struct Market {
    spec: SymbolSpec,
    stream: String,
    book: L3Book,
    mid: Price,
    update_id: u64,
    next_trade_id: u64,
    synth: HashMap<u64, (BookSide, Price)>,
    fast: Pending,
    slow: Pending,
    top: Top,
    stats: Stats,
}

/// A planned fill against one resting order.
#[derive(Clone, Copy, Debug)]
struct Leg {
    maker: u64,
    price: Price,
    qty: Qty,
}

/// A new order as the request gives it (parsed and typed).
#[derive(Clone, Debug)]
pub struct NewOrder {
    /// Symbol name.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub kind: OrdType,
    /// Time in force (LIMIT).
    pub tif: Tif,
    /// Limit price (LIMIT, LIMIT_MAKER).
    pub price: Option<Price>,
    /// Quantity.
    pub qty: Qty,
    /// `newClientOrderId`.
    pub client_id: Option<String>,
}

/// What placing an order did.
#[derive(Clone, Debug)]
pub struct Placed {
    /// The order after matching.
    pub order: Order,
    /// Its fills.
    pub fills: Vec<Fill>,
}

/// The venue: books, orders, balances, listenKeys, faults.
#[derive(Debug)]
pub struct Venue {
    markets: Vec<Market>,
    orders: BTreeMap<u64, Order>,
    balances: BTreeMap<String, Balance>,
    next_order_id: u64,
    next_exec_id: u64,
    next_synth_id: u64,
    next_sub_id: u64,
    rng: Rng,
    listen_keys: HashSet<String>,
    /// Fault injection state.
    pub faults: Faults,
    hub: Arc<Hub>,
    events: Vec<Value>,
    touched: BTreeSet<String>,
    account_update: i64,
    /// The account's trades, oldest first (`GET /api/v3/myTrades`).
    trades: Vec<Value>,
}

/// A `<symbol>@bookTicker` stream frame of `mk`'s top of book.
fn ticker_frame(mk: &Market) -> Value {
    let (b, a) = (mk.book.best_bid(), mk.book.best_ask());
    json!({
        "u": mk.update_id, "s": mk.spec.name,
        "b": px(b.map_or(Price::ZERO, |x| x.0)), "B": qty(b.map_or(Qty::ZERO, |x| x.1)),
        "a": px(a.map_or(Price::ZERO, |x| x.0)), "A": qty(a.map_or(Qty::ZERO, |x| x.1))
    })
}

fn side_of(s: Side) -> BookSide {
    match s {
        Side::Buy => BookSide::Bid,
        Side::Sell => BookSide::Ask,
    }
}

fn opposite(s: BookSide) -> BookSide {
    match s {
        BookSide::Bid => BookSide::Ask,
        BookSide::Ask => BookSide::Bid,
    }
}

impl Market {
    fn new(spec: SymbolSpec, now: i64) -> Result<Self, SimError> {
        // The window must hold a side from the band's edge to the mid after the walk (±2%).
        let span = spec.seed_mid.raw() / 100 * (spec.band_pct * 2 + 4) / spec.tick.raw().max(1);
        let window = (span.max(64) as usize).next_power_of_two().min(1 << 24);
        let config = L3Config { tick: spec.tick, window, max_orders: 1 << 16, fills: FillMode::Reduce };
        let book = L3Book::new(config)
            .map_err(|e| SimError::Book { symbol: spec.name.clone(), reason: e.to_string() })?;
        let stats = Stats {
            open: spec.seed_mid,
            high: spec.seed_mid,
            low: spec.seed_mid,
            last: spec.seed_mid,
            open_time: now,
            ..Stats::default()
        };
        Ok(Self {
            stream: spec.name.to_lowercase(),
            mid: spec.seed_mid,
            book,
            update_id: 1_000_000,
            next_trade_id: 1,
            synth: HashMap::new(),
            fast: Pending::default(),
            slow: Pending::default(),
            top: (None, None),
            stats,
            spec,
        })
    }

    fn changed(&mut self, side: BookSide, price: Price) {
        self.update_id += 1;
        let key = (side == BookSide::Bid, price.raw());
        for p in [&mut self.fast, &mut self.slow] {
            p.first.get_or_insert(self.update_id);
            p.levels.insert(key);
        }
    }

    fn add(&mut self, id: u64, side: BookSide, price: Price, size: Qty) -> bool {
        let ok = self.book.add(id, side, price, size).is_ok();
        if ok {
            self.changed(side, price);
        }
        ok
    }

    fn remove(&mut self, id: u64, side: BookSide, price: Price) {
        if self.book.cancel(id, side, price, Qty::ZERO).is_ok() {
            self.changed(side, price);
        }
    }

    fn take(&mut self, id: u64, side: BookSide, price: Price, size: Qty) {
        if self.book.fill(id, side, price, size).is_ok() {
            self.changed(side, price);
        }
    }

    /// Fills a taker of `side` up to `size` at prices no worse than `limit` would get.
    fn plan(&self, side: BookSide, limit: Option<Price>, size: Qty) -> Vec<Leg> {
        let opp = opposite(side);
        let mut left = size.raw();
        let mut legs = Vec::new();
        for level in self.book.depth(opp, usize::MAX) {
            let crosses = match (limit, side) {
                (None, _) => true,
                (Some(l), BookSide::Bid) => level.price <= l,
                (Some(l), BookSide::Ask) => level.price >= l,
            };
            if !crosses || left == 0 {
                break;
            }
            for o in self.book.orders_at(opp, level.price) {
                let q = o.size.raw().min(left);
                legs.push(Leg { maker: o.id, price: level.price, qty: Qty::from_raw(q) });
                left -= q;
                if left == 0 {
                    break;
                }
            }
        }
        legs
    }

    fn depth_json(&self, side: BookSide, n: usize) -> Vec<Value> {
        self.book.depth(side, n).map(|l| json!([px(l.price), qty(l.size)])).collect()
    }
}

impl Venue {
    /// A venue listing `specs`, with the seeded synthetic books and the account's starting balances.
    ///
    /// # Errors
    /// [`SimError::Book`] when a symbol's book cannot be built.
    pub fn new(specs: Vec<SymbolSpec>, seed: u64, hub: Arc<Hub>, now: i64) -> Result<Self, SimError> {
        let markets = specs.into_iter().map(|s| Market::new(s, now)).collect::<Result<Vec<_>, _>>()?;
        let mut balances = BTreeMap::new();
        for (asset, amount) in [("BNB", 10), ("BTC", 1), ("ETH", 10), ("USDT", 100_000)] {
            balances.insert(asset.to_owned(), Balance { free: amount * kestrel_types::NANO, locked: 0 });
        }
        let mut v = Self {
            markets,
            orders: BTreeMap::new(),
            balances,
            next_order_id: 1,
            next_exec_id: 1,
            next_synth_id: SYNTH_BASE,
            next_sub_id: 0,
            rng: Rng::new(seed),
            listen_keys: HashSet::new(),
            faults: Faults::default(),
            hub,
            events: Vec::new(),
            touched: BTreeSet::new(),
            account_update: now,
            trades: Vec::new(),
        };
        for m in 0..v.markets.len() {
            v.refresh_synthetic(m);
            let mk = &mut v.markets[m];
            mk.top = (mk.book.best_bid(), mk.book.best_ask());
            mk.fast = Pending::default();
            mk.slow = Pending::default();
        }
        Ok(v)
    }

    /// The index of `symbol`, or -1121.
    pub fn market(&self, symbol: &str) -> Result<usize, ApiError> {
        self.markets.iter().position(|m| m.spec.name == symbol).ok_or_else(ApiError::symbol)
    }

    /// The synthetic mid of market `m` (the filters' reference price).
    pub fn mid(&self, m: usize) -> Price {
        self.markets[m].mid
    }

    /// The listed symbols' specs.
    pub fn specs(&self) -> Vec<&SymbolSpec> {
        self.markets.iter().map(|m| &m.spec).collect()
    }

    /// Whether `name` is a lower-case stream this venue serves (`btcusdt@trade`, …) or a live listenKey.
    pub fn is_stream(&self, name: &str) -> bool {
        if self.listen_keys.contains(name) {
            return true;
        }
        let Some((sym, kind)) = name.split_once('@') else { return false };
        self.markets.iter().any(|m| m.stream == sym)
            && matches!(kind, "trade" | "bookTicker" | "depth" | "depth@100ms" | "depth@1000ms")
    }

    /// Whether `key` is a live listenKey.
    pub fn is_listen_key(&self, key: &str) -> bool {
        self.listen_keys.contains(key)
    }

    /// `POST /api/v3/userDataStream`: the account's key (the same one while it lives).
    pub fn listen_key(&mut self) -> String {
        if let Some(k) = self.listen_keys.iter().next() {
            return k.clone();
        }
        let k = self.rng.alnum(60);
        self.listen_keys.insert(k.clone());
        k
    }

    /// `PUT`/`DELETE /api/v3/userDataStream`: -1125 for an unknown key.
    pub fn touch_listen_key(&mut self, key: &str, delete: bool) -> Result<(), ApiError> {
        if !self.listen_keys.contains(key) {
            return Err(ApiError::bad(-1125, "This listenKey does not exist."));
        }
        if delete {
            self.listen_keys.remove(key);
        }
        Ok(())
    }

    /// A new WebSocket API user-data subscription id.
    pub fn next_subscription(&mut self) -> u64 {
        let id = self.next_sub_id;
        self.next_sub_id += 1;
        id
    }

    /// Fault: ends every user-data stream (listenKeyExpired / eventStreamTerminated).
    pub fn expire_user_streams(&mut self, now: i64) {
        let keys = std::mem::take(&mut self.listen_keys);
        self.hub.terminate_user(&keys, now);
    }

    /// `GET /api/v3/depth`.
    pub fn depth(&self, m: usize, limit: usize) -> Value {
        let mk = &self.markets[m];
        json!({
            "lastUpdateId": mk.update_id,
            "bids": mk.depth_json(BookSide::Bid, limit),
            "asks": mk.depth_json(BookSide::Ask, limit)
        })
    }

    /// `GET /api/v3/ticker/bookTicker` for one symbol.
    pub fn book_ticker(&self, m: usize) -> Value {
        let mk = &self.markets[m];
        let (b, a) = (mk.book.best_bid(), mk.book.best_ask());
        json!({
            "symbol": mk.spec.name,
            "bidPrice": px(b.map_or(Price::ZERO, |x| x.0)),
            "bidQty": qty(b.map_or(Qty::ZERO, |x| x.1)),
            "askPrice": px(a.map_or(Price::ZERO, |x| x.0)),
            "askQty": qty(a.map_or(Qty::ZERO, |x| x.1))
        })
    }

    /// The `<symbol>@bookTicker` stream name of market `m` and a frame of its current top: what
    /// the measurement probe ([`crate::probe`]) publishes as a tick.
    pub fn book_ticker_frame(&self, m: usize) -> (String, Value) {
        let mk = &self.markets[m];
        (format!("{}@bookTicker", mk.stream), ticker_frame(mk))
    }

    /// `GET /api/v3/ticker/24hr` for one symbol (window: since start).
    pub fn ticker_24hr(&self, m: usize, now: i64) -> Value {
        let mk = &self.markets[m];
        let s = &mk.stats;
        let (b, a) = (mk.book.best_bid(), mk.book.best_ask());
        let change = s.last.raw() - s.open.raw();
        // Percent with 3 places, exact integer arithmetic (Binance prints "-0.950").
        let pct_milli =
            if s.open.raw() == 0 { 0 } else { i128::from(change) * 100_000 / i128::from(s.open.raw()) };
        let pct = format!(
            "{}{}.{:03}",
            if pct_milli < 0 { "-" } else { "" },
            pct_milli.abs() / 1000,
            pct_milli.abs() % 1000
        );
        let wavg =
            if s.volume == 0 { s.last.raw() } else { (s.quote_volume * 1_000_000_000 / s.volume) as i64 };
        json!({
            "symbol": mk.spec.name,
            "priceChange": px(Price::from_raw(change)),
            "priceChangePercent": pct,
            "weightedAvgPrice": px(Price::from_raw(wavg)),
            "prevClosePrice": px(s.open),
            "lastPrice": px(s.last),
            "lastQty": qty(s.last_qty),
            "bidPrice": px(b.map_or(Price::ZERO, |x| x.0)),
            "bidQty": qty(b.map_or(Qty::ZERO, |x| x.1)),
            "askPrice": px(a.map_or(Price::ZERO, |x| x.0)),
            "askQty": qty(a.map_or(Qty::ZERO, |x| x.1)),
            "openPrice": px(s.open),
            "highPrice": px(s.high),
            "lowPrice": px(s.low),
            "volume": qty(Qty::from_raw(i64::try_from(s.volume).unwrap_or(i64::MAX))),
            "quoteVolume": qty(Qty::from_raw(i64::try_from(s.quote_volume).unwrap_or(i64::MAX))),
            "openTime": s.open_time,
            "closeTime": now,
            "firstId": s.first_id.map_or(-1, |v| v as i64),
            "lastId": s.last_id.map_or(-1, |v| v as i64),
            "count": s.count
        })
    }

    /// `GET /api/v3/account`.
    pub fn account(&self) -> Value {
        let balances: Vec<Value> = self
            .balances
            .iter()
            .map(|(a, b)| json!({"asset": a, "free": qty(Qty::from_raw(b.free)), "locked": qty(Qty::from_raw(b.locked))}))
            .collect();
        json!({
            "makerCommission": 0,
            "takerCommission": 0,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": qty(Qty::ZERO), "taker": qty(Qty::ZERO), "buyer": qty(Qty::ZERO), "seller": qty(Qty::ZERO)},
            "canTrade": true,
            "canWithdraw": true,
            "canDeposit": true,
            "brokered": false,
            "requireSelfTradePrevention": false,
            "preventSor": false,
            "updateTime": self.account_update,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 354_937_868
        })
    }

    /// A balance (tests, fault tools).
    pub fn balance(&self, asset: &str) -> Balance {
        self.balances.get(asset).copied().unwrap_or_default()
    }

    /// An order by venue id or client id within `symbol`; -2013 when absent.
    pub fn find(&self, m: usize, id: Option<u64>, client: Option<&str>) -> Result<&Order, ApiError> {
        let missing = || ApiError::bad(-2013, "Order does not exist.");
        let o = match (id, client) {
            (Some(id), _) => self.orders.get(&id).filter(|o| o.market == m).ok_or_else(missing)?,
            (None, Some(c)) => {
                self.orders.values().rev().find(|o| o.market == m && o.client_id == c).ok_or_else(missing)?
            }
            (None, None) => return Err(ApiError::missing("orderId")),
        };
        if client.is_some_and(|c| c != o.client_id) {
            return Err(missing());
        }
        Ok(o)
    }

    /// Open orders, of one market or all, oldest first.
    pub fn open_orders(&self, m: Option<usize>) -> Vec<Value> {
        self.orders
            .values()
            .filter(|o| o.status.is_open() && m.is_none_or(|m| o.market == m))
            .map(Order::query)
            .collect()
    }

    fn bal(&mut self, asset: &str) -> &mut Balance {
        self.touched.insert(asset.to_owned());
        self.balances.entry(asset.to_owned()).or_default()
    }

    fn exec_id(&mut self) -> u64 {
        let id = self.next_exec_id;
        self.next_exec_id += 1;
        id
    }

    fn report(
        &mut self,
        o: &Order,
        exec: &str,
        fill: Option<(&Fill, bool)>,
        cancel_id: Option<&str>,
        now: i64,
    ) {
        let working = o.status.is_open() && o.kind != OrdType::Market;
        let r = Report { exec, now, exec_id: self.exec_id(), fill, cancel_id, working };
        self.events.push(o.report(&r));
    }

    /// A deposit (positive) or withdrawal (negative) of `asset`: the balance moves, a
    /// `balanceUpdate` and an `outboundAccountPosition` go to the user-data streams.
    ///
    /// # Errors
    /// -2010 when a withdrawal exceeds the free balance.
    pub fn transfer(&mut self, asset: &str, delta: i64, now: i64) -> Result<Balance, ApiError> {
        if self.balance(asset).free + delta < 0 {
            return Err(ApiError::insufficient());
        }
        self.bal(asset).free += delta;
        let sign = if delta < 0 { "-" } else { "" };
        self.events.push(json!({
            "e": "balanceUpdate", "E": now, "a": asset, "d": format!("{sign}{}", qty(Qty::from_raw(delta.abs()))), "T": now
        }));
        self.finish(now);
        Ok(self.balance(asset))
    }

    /// Places a client order: filters, balance, then matching (module docs).
    ///
    /// # Errors
    /// -1013 filters, -2010 duplicate id / would take (LIMIT_MAKER) / insufficient balance.
    pub fn place(&mut self, req: &NewOrder, now: i64) -> Result<Placed, ApiError> {
        let m = self.market(&req.symbol)?;
        let mk = &self.markets[m];
        mk.spec.check(req.price, req.qty, mk.mid)?;
        if let Some(c) = &req.client_id
            && self.orders.values().any(|o| o.status.is_open() && &o.client_id == c)
        {
            return Err(ApiError::rejected("Duplicate order sent."));
        }
        let side = side_of(req.side);
        let legs = mk.plan(side, req.price, req.qty);
        let planned: i64 = legs.iter().map(|l| l.qty.raw()).sum();
        if req.kind == OrdType::LimitMaker && !legs.is_empty() {
            return Err(ApiError::rejected("Order would immediately match and take."));
        }
        let (base, quote) = (mk.spec.base.clone(), mk.spec.quote.clone());
        let fok_kill = req.tif == Tif::Fok && req.kind != OrdType::Market && planned < req.qty.raw();
        let legs = if fok_kill { Vec::new() } else { legs };
        // What the order needs: LIMIT locks all of it at its price; MARKET spends as it fills.
        let lock = match (req.kind, req.side) {
            (OrdType::Market, _) => 0,
            (_, Side::Buy) => num::quote(req.qty, req.price.unwrap_or(Price::ZERO))
                .ok_or_else(|| ApiError::filter("NOTIONAL"))?,
            (_, Side::Sell) => req.qty.raw(),
        };
        let need = match (req.kind, req.side) {
            (OrdType::Market, Side::Buy) => legs.iter().filter_map(|l| num::quote(l.qty, l.price)).sum(),
            (OrdType::Market, Side::Sell) => req.qty.raw(),
            _ => lock,
        };
        let pay = if req.side == Side::Buy { &quote } else { &base };
        if self.balance(pay).free < need {
            return Err(ApiError::insufficient());
        }
        let id = self.next_order_id;
        self.next_order_id += 1;
        let client_id = req.client_id.clone().unwrap_or_else(|| self.rng.alnum(22));
        let mut order = Order {
            id,
            symbol: req.symbol.clone(),
            market: m,
            client_id,
            side: req.side,
            kind: req.kind,
            tif: if req.kind == OrdType::Market { Tif::Gtc } else { req.tif },
            price: req.price.unwrap_or(Price::ZERO),
            orig: req.qty,
            executed: Qty::ZERO,
            cum_quote: 0,
            status: Status::New,
            time: now,
            update: now,
        };
        if lock > 0 {
            let b = self.bal(pay);
            b.free -= lock;
            b.locked += lock;
        }
        self.report(&order, "NEW", None, None, now);
        let fills = self.cross(m, req.side, &legs, now, Some(&mut order));
        let left = order.remaining();
        let rests = left.is_positive() && order.kind != OrdType::Market && order.tif == Tif::Gtc;
        if rests && self.markets[m].add(id, side, order.price, left) {
            // resting; its lock stays
        } else if left.is_positive() {
            order.status = Status::Expired;
            self.unlock(&order);
            self.report(&order, "EXPIRED", None, None, now);
        }
        order.update = now;
        self.orders.insert(id, order.clone());
        self.touched.insert(base);
        self.touched.insert(quote);
        self.finish(now);
        Ok(Placed { order, fills })
    }

    /// Gives back what an ended order still holds.
    fn unlock(&mut self, o: &Order) {
        if o.kind == OrdType::Market {
            return;
        }
        let spec = &self.markets[o.market].spec;
        let (asset, amount) = match o.side {
            Side::Buy => (spec.quote.clone(), num::quote(o.remaining(), o.price).unwrap_or(0)),
            Side::Sell => (spec.base.clone(), o.remaining().raw()),
        };
        let b = self.bal(&asset);
        b.locked -= amount;
        b.free += amount;
    }

    /// Applies planned fills: book, makers (client makers' state, balances and reports), the
    /// taker's balances and reports when it is a client order, trade stream and statistics.
    fn cross(
        &mut self,
        m: usize,
        taker_side: Side,
        legs: &[Leg],
        now: i64,
        mut taker: Option<&mut Order>,
    ) -> Vec<Fill> {
        let (base, quote) = (self.markets[m].spec.base.clone(), self.markets[m].spec.quote.clone());
        let mut fills = Vec::new();
        let maker_side = opposite(side_of(taker_side));
        for leg in legs {
            let mk = &mut self.markets[m];
            let trade_id = mk.next_trade_id;
            mk.next_trade_id += 1;
            mk.take(leg.maker, maker_side, leg.price, leg.qty);
            if mk.book.order(leg.maker).is_none() {
                mk.synth.remove(&leg.maker);
            }
            let s = &mut mk.stats;
            s.last = leg.price;
            s.last_qty = leg.qty;
            s.high = s.high.max(leg.price);
            s.low = s.low.min(leg.price);
            s.volume += i128::from(leg.qty.raw());
            s.quote_volume += i128::from(num::quote(leg.qty, leg.price).unwrap_or(0));
            s.count += 1;
            s.first_id.get_or_insert(trade_id);
            s.last_id = Some(trade_id);
            let amount = num::quote(leg.qty, leg.price).unwrap_or(0);
            let trade = json!({
                "e": "trade", "E": now, "s": mk.spec.name, "t": trade_id, "p": px(leg.price), "q": qty(leg.qty),
                "T": now, "m": taker_side == Side::Sell, "M": true
            });
            let stream = format!("{}@trade", mk.stream);
            self.hub.publish(&stream, &trade);
            // A client maker: its state, balances and report.
            if let Some(mut maker) = self.orders.get(&leg.maker).cloned() {
                maker.executed = Qty::from_raw(maker.executed.raw() + leg.qty.raw());
                maker.cum_quote += amount;
                maker.status =
                    if maker.remaining().is_zero() { Status::Filled } else { Status::PartiallyFilled };
                maker.update = now;
                let got = match maker.side {
                    Side::Buy => {
                        let b = self.bal(&quote);
                        b.locked -= amount;
                        base.clone()
                    }
                    Side::Sell => {
                        self.bal(&base).locked -= leg.qty.raw();
                        quote.clone()
                    }
                };
                match maker.side {
                    Side::Buy => self.bal(&base).free += leg.qty.raw(),
                    Side::Sell => self.bal(&quote).free += amount,
                }
                let f = Fill { price: leg.price, qty: leg.qty, trade_id, commission_asset: got };
                self.record_trade(&maker, &f, amount, true, now);
                self.report(&maker, "TRADE", Some((&f, true)), None, now);
                self.orders.insert(maker.id, maker);
            }
            if let Some(o) = taker.as_deref_mut() {
                o.executed = Qty::from_raw(o.executed.raw() + leg.qty.raw());
                o.cum_quote += amount;
                o.status = if o.remaining().is_zero() { Status::Filled } else { Status::PartiallyFilled };
                let limit_amount = num::quote(leg.qty, o.price).unwrap_or(0);
                let limit = o.kind != OrdType::Market;
                let got = match o.side {
                    Side::Buy => {
                        let b = self.bal(&quote);
                        if limit {
                            b.locked -= limit_amount;
                            b.free += limit_amount - amount;
                        } else {
                            b.free -= amount;
                        }
                        self.bal(&base).free += leg.qty.raw();
                        base.clone()
                    }
                    Side::Sell => {
                        let b = self.bal(&base);
                        if limit {
                            b.locked -= leg.qty.raw();
                        } else {
                            b.free -= leg.qty.raw();
                        }
                        self.bal(&quote).free += amount;
                        quote.clone()
                    }
                };
                let f = Fill { price: leg.price, qty: leg.qty, trade_id, commission_asset: got };
                let snapshot = o.clone();
                self.record_trade(&snapshot, &f, amount, false, now);
                self.report(&snapshot, "TRADE", Some((&f, false)), None, now);
                fills.push(f);
            }
        }
        fills
    }

    /// Keeps one of the account's fills for `myTrades`, in Binance's shape and JSON types.
    fn record_trade(&mut self, o: &Order, f: &Fill, quote_amount: i64, maker: bool, now: i64) {
        self.trades.push(json!({
            "symbol": o.symbol, "id": f.trade_id, "orderId": o.id, "orderListId": -1,
            "price": px(f.price), "qty": qty(f.qty), "quoteQty": qty(Qty::from_raw(quote_amount)),
            "commission": "0.00000000", "commissionAsset": f.commission_asset, "time": now,
            "isBuyer": o.side == Side::Buy, "isMaker": maker, "isBestMatch": true
        }));
    }

    /// `GET /api/v3/myTrades`: the account's trades of market `m`, of one order or from a trade id
    /// on, oldest first, at most `limit` (Binance: default 500, at most 1000).
    pub fn my_trades(
        &self,
        m: usize,
        order_id: Option<u64>,
        from_id: Option<u64>,
        limit: usize,
    ) -> Vec<Value> {
        let symbol = &self.markets[m].spec.name;
        self.trades
            .iter()
            .filter(|t| t["symbol"].as_str() == Some(symbol.as_str()))
            .filter(|t| order_id.is_none_or(|id| t["orderId"].as_u64() == Some(id)))
            .filter(|t| from_id.is_none_or(|id| t["id"].as_u64().is_some_and(|t| t >= id)))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Cancels an open order; `cancel_id` names the cancel (generated when absent).
    ///
    /// # Errors
    /// -2011 "Unknown order sent." for an order that is absent or no longer open.
    pub fn cancel(
        &mut self,
        m: usize,
        id: Option<u64>,
        client: Option<&str>,
        cancel_id: Option<&str>,
        now: i64,
    ) -> Result<(Order, String), ApiError> {
        let unknown = || ApiError::bad(-2011, "Unknown order sent.");
        let found = match self.find(m, id, client) {
            Ok(o) => o.clone(),
            Err(e) if e.code == -1102 => return Err(e),
            Err(_) => return Err(unknown()),
        };
        if !found.status.is_open() {
            return Err(unknown());
        }
        let mut o = found;
        self.markets[m].remove(o.id, side_of(o.side), o.price);
        self.unlock(&o);
        o.status = Status::Canceled;
        o.update = now;
        let cid = cancel_id.map_or_else(|| self.rng.alnum(22), str::to_owned);
        self.report(&o, "CANCELED", None, Some(&cid), now);
        self.orders.insert(o.id, o.clone());
        self.finish(now);
        Ok((o, cid))
    }

    /// Ends one engine step: bookTicker where the top moved, then the user events (with the
    /// duplicate/reorder faults) followed by outboundAccountPosition for the assets touched.
    fn finish(&mut self, now: i64) {
        for mk in &mut self.markets {
            let top = (mk.book.best_bid(), mk.book.best_ask());
            if top != mk.top {
                mk.top = top;
                let ev = ticker_frame(mk);
                self.hub.publish(&format!("{}@bookTicker", mk.stream), &ev);
            }
        }
        let mut events = std::mem::take(&mut self.events);
        if !self.touched.is_empty() && !events.is_empty() {
            self.account_update = now;
            let b: Vec<Value> = std::mem::take(&mut self.touched)
                .iter()
                .map(|a| {
                    let x = self.balance(a);
                    json!({"a": a, "f": qty(Qty::from_raw(x.free)), "l": qty(Qty::from_raw(x.locked))})
                })
                .collect();
            self.faults.shape_reports(&mut events);
            events.push(json!({"e": "outboundAccountPosition", "E": now, "u": now, "B": b}));
        }
        self.touched.clear();
        if !events.is_empty() {
            self.hub.publish_user(&self.listen_keys, &events);
        }
    }

    /// One timer step of the synthetic market: the mid walks (bounded to ±2% of the seed), the
    /// synthetic levels follow it, and now and then a synthetic taker trades at the top (which may
    /// fill the client's resting orders).
    pub fn step(&mut self, now: i64) {
        for m in 0..self.markets.len() {
            let mk = &mut self.markets[m];
            let step = mk.spec.spacing.raw() * self.rng.range(-1, 1);
            let bound = mk.spec.seed_mid.raw() / 50;
            let mid =
                (mk.mid.raw() + step).clamp(mk.spec.seed_mid.raw() - bound, mk.spec.seed_mid.raw() + bound);
            mk.mid = Price::from_raw(mid - mid % mk.spec.tick.raw());
            self.refresh_synthetic(m);
            if self.rng.range(0, 1) == 0 {
                let side = if self.rng.range(0, 1) == 0 { Side::Buy } else { Side::Sell };
                let mk = &self.markets[m];
                let size = Qty::from_raw(mk.spec.step.raw() * self.rng.range(1, 50));
                let legs = mk.plan(side_of(side), None, size);
                self.cross(m, side, &legs, now, None);
                self.refresh_synthetic(m);
            }
        }
        self.finish(now);
    }

    /// Keeps `LEVELS` synthetic levels each side at `spacing` around the mid: drops those out of
    /// place, adds the missing ones where they do not cross the other side (a client order may
    /// sit inside the spread), and resizes one level at random for depth traffic.
    fn refresh_synthetic(&mut self, m: usize) {
        let mk = &mut self.markets[m];
        let (mid, sp) = (mk.mid.raw(), mk.spec.spacing.raw());
        let mut want: BTreeSet<(bool, i64)> = BTreeSet::new();
        for k in 1..=LEVELS {
            want.insert((true, mid - k * sp));
            want.insert((false, mid + k * sp));
        }
        let stale: Vec<(u64, BookSide, Price)> = mk
            .synth
            .iter()
            .filter(|(_, (s, p))| !want.contains(&(*s == BookSide::Bid, p.raw())))
            .map(|(id, (s, p))| (*id, *s, *p))
            .collect();
        for (id, s, p) in stale {
            mk.remove(id, s, p);
            mk.synth.remove(&id);
        }
        let have: BTreeSet<(bool, i64)> =
            mk.synth.values().map(|(s, p)| (*s == BookSide::Bid, p.raw())).collect();
        let resize = self.rng.range(0, LEVELS * 2 - 1);
        for (k, (bid, price)) in want.iter().enumerate() {
            let mk = &mut self.markets[m];
            let side = if *bid { BookSide::Bid } else { BookSide::Ask };
            let price = Price::from_raw(*price);
            if k as i64 == resize && have.contains(&(*bid, price.raw())) {
                let ids: Vec<u64> =
                    mk.synth.iter().filter(|(_, v)| **v == (side, price)).map(|(id, _)| *id).collect();
                for id in ids {
                    mk.remove(id, side, price);
                    mk.synth.remove(&id);
                }
            } else if have.contains(&(*bid, price.raw())) {
                continue;
            }
            let crosses = match (side, mk.book.best(opposite(side))) {
                (BookSide::Bid, Some((a, _))) => price >= a,
                (BookSide::Ask, Some((b, _))) => price <= b,
                _ => false,
            };
            if crosses || price.raw() <= 0 {
                continue;
            }
            let lots = match self.rng.range(0, 3) {
                0 => self.rng.range(1, 100),
                _ => self.rng.range(1_000, 200_000),
            };
            let id = self.next_synth_id;
            self.next_synth_id += 1;
            let mk = &mut self.markets[m];
            let size = Qty::from_raw(mk.spec.step.raw() * lots);
            if mk.add(id, side, price, size) {
                mk.synth.insert(id, (side, price));
            }
        }
    }

    /// Publishes the depth diffs gathered since the last call: `@depth@100ms` (`fast`) or
    /// `@depth` / `@depth@1000ms`.
    pub fn flush_depth(&mut self, fast: bool, now: i64) {
        for mk in &mut self.markets {
            let pending = std::mem::take(if fast { &mut mk.fast } else { &mut mk.slow });
            let Some(first) = pending.first else { continue };
            let mut bids = Vec::new();
            let mut asks = Vec::new();
            for (bid, raw) in pending.levels {
                let price = Price::from_raw(raw);
                let side = if bid { BookSide::Bid } else { BookSide::Ask };
                let lvl = json!([px(price), qty(mk.book.level(side, price))]);
                if bid { bids.push(lvl) } else { asks.push(lvl) }
            }
            bids.reverse();
            let ev = json!({"e": "depthUpdate", "E": now, "s": mk.spec.name, "U": first, "u": mk.update_id, "b": bids, "a": asks});
            if fast {
                self.hub.publish(&format!("{}@depth@100ms", mk.stream), &ev);
            } else {
                self.hub.publish(&format!("{}@depth", mk.stream), &ev);
                self.hub.publish(&format!("{}@depth@1000ms", mk.stream), &ev);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::hub::Outbound;

    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    fn q(s: &str) -> Qty {
        s.parse().unwrap()
    }

    /// A venue whose user events land in the returned receiver.
    fn venue() -> (Venue, mpsc::Receiver<Outbound>) {
        let hub = Arc::new(Hub::default());
        let (tx, rx) = mpsc::channel();
        hub.register(1, tx, false);
        hub.add_user_sub(1, 0);
        (Venue::new(SymbolSpec::defaults(), 7, hub, 1_000).unwrap(), rx)
    }

    fn events(rx: &mpsc::Receiver<Outbound>) -> Vec<Value> {
        rx.try_iter()
            .filter_map(|o| match o {
                Outbound::Text(t) => serde_json::from_str::<Value>(&t).ok().map(|v| v["event"].clone()),
                Outbound::Tick { .. } => None,
            })
            .collect()
    }

    fn limit(side: Side, tif: Tif, price: &str, size: &str) -> NewOrder {
        NewOrder {
            symbol: "BTCUSDT".into(),
            side,
            kind: OrdType::Limit,
            tif,
            price: Some(p(price)),
            qty: q(size),
            client_id: None,
        }
    }

    #[test]
    fn client_orders_match_each_other_first_by_price_and_money_is_exact() {
        let (mut v, rx) = venue();
        let ask = v.markets[0].book.best_ask().unwrap().0;
        let inside = Price::from_raw(ask.raw() - p("0.01").raw());
        let sell = v.place(&limit(Side::Sell, Tif::Gtc, &inside.to_string(), "0.1"), 2_000).unwrap();
        assert_eq!(sell.order.status, Status::New);
        assert_eq!(v.balance("BTC"), Balance { free: q("0.9").raw(), locked: q("0.1").raw() });
        let usdt = v.balance("USDT");
        let buy = NewOrder { kind: OrdType::Market, price: None, ..limit(Side::Buy, Tif::Gtc, "0", "0.05") };
        let b = v.place(&buy, 3_000).unwrap();
        assert_eq!(b.fills.len(), 1);
        assert_eq!((b.fills[0].price, b.fills[0].qty), (inside, q("0.05")));
        assert_eq!(b.order.status, Status::Filled);
        // The account bought from itself: USDT unchanged, 0.05 BTC moved from locked to free.
        assert_eq!(v.balance("USDT"), usdt);
        assert_eq!(v.balance("BTC"), Balance { free: q("0.95").raw(), locked: q("0.05").raw() });
        let maker = &v.orders[&sell.order.id];
        assert_eq!((maker.status, maker.executed), (Status::PartiallyFilled, q("0.05")));
        let ev = events(&rx);
        let kinds: Vec<(u64, &str, bool)> = ev
            .iter()
            .filter(|e| e["e"] == "executionReport")
            .map(|e| (e["i"].as_u64().unwrap(), e["x"].as_str().unwrap(), e["m"].as_bool().unwrap()))
            .collect();
        let (s, t) = (sell.order.id, b.order.id);
        assert_eq!(kinds, [(s, "NEW", false), (t, "NEW", false), (s, "TRADE", true), (t, "TRADE", false)]);
        assert_eq!(ev.iter().filter(|e| e["e"] == "outboundAccountPosition").count(), 2);
        let trade = ev.iter().find(|e| e["x"] == "TRADE" && e["i"] == t).unwrap();
        assert_eq!(
            (trade["X"].as_str(), trade["z"].as_str(), trade["N"].as_str()),
            (Some("FILLED"), Some("0.05000000"), Some("BTC"))
        );
        // Cancelling the rest gives back exactly the remaining lock.
        let (c, _) = v.cancel(0, Some(s), None, None, 4_000).unwrap();
        assert_eq!(c.status, Status::Canceled);
        assert_eq!(v.balance("BTC"), Balance { free: q("1").raw(), locked: 0 });
        assert_eq!(v.cancel(0, Some(s), None, None, 5_000).unwrap_err().code, -2011);
    }

    #[test]
    fn fok_kills_ioc_expires_the_rest_and_limit_maker_never_takes() {
        let (mut v, rx) = venue();
        let (ask, size) = v.markets[0].book.best_ask().unwrap();
        let before = v.balance("USDT");
        let too_much = Qty::from_raw(size.raw() + q("0.00001").raw());
        let fok =
            v.place(&limit(Side::Buy, Tif::Fok, &ask.to_string(), &too_much.to_string()), 2_000).unwrap();
        assert_eq!((fok.order.status, fok.fills.len()), (Status::Expired, 0));
        assert_eq!(v.balance("USDT"), before);
        let ioc =
            v.place(&limit(Side::Buy, Tif::Ioc, &ask.to_string(), &too_much.to_string()), 3_000).unwrap();
        assert_eq!((ioc.order.status, ioc.order.executed), (Status::Expired, size));
        let cost = num::quote(size, ask).unwrap();
        assert_eq!(v.balance("USDT"), Balance { free: before.free - cost, locked: 0 });
        let xs: Vec<String> = events(&rx).iter().filter_map(|e| e["x"].as_str().map(str::to_owned)).collect();
        assert_eq!(xs, ["NEW", "EXPIRED", "NEW", "TRADE", "EXPIRED"]);
        let bid = v.markets[0].book.best_bid().unwrap().0;
        let maker =
            NewOrder { kind: OrdType::LimitMaker, ..limit(Side::Sell, Tif::Gtc, &bid.to_string(), "0.001") };
        assert_eq!(v.place(&maker, 4_000).unwrap_err().msg, "Order would immediately match and take.");
        let dup = NewOrder { client_id: Some("same".into()), ..limit(Side::Buy, Tif::Gtc, "58000", "0.001") };
        v.place(&dup, 5_000).unwrap();
        assert_eq!(v.place(&dup, 6_000).unwrap_err().msg, "Duplicate order sent.");
    }

    #[test]
    fn the_synthetic_market_moves_and_stays_uncrossed_and_in_its_bounds() {
        let (mut v, _rx) = venue();
        let start = v.markets[0].update_id;
        for k in 0..400 {
            v.step(2_000 + k);
            for mk in &v.markets {
                assert!(!mk.book.is_crossed());
                let bound = mk.spec.seed_mid.raw() / 50;
                assert!((mk.mid.raw() - mk.spec.seed_mid.raw()).abs() <= bound);
            }
        }
        assert!(v.markets[0].update_id > start + 400);
        assert!(v.markets[0].stats.count > 0, "synthetic takers print trades");
    }
}
