//! User data → engine order reports: executionReport (and FULL order answers) become
//! [`ExecRecord`]s the engine's `on_exec` consumes, each fill exactly once.
//!
//! # Mapping (`status` is the index in [`Status::ALL`])
//! | Binance `x` / `X` | report |
//! |---|---|
//! | NEW | Accepted, no quantity |
//! | NEW again for a triggered stop (`w` true on a conditional type) | nothing: [`Outcome::Triggered`] |
//! | TRADE / PARTIALLY_FILLED | Partial, `qty` = `l` signed by side, `price` = `L` |
//! | TRADE / FILLED | Completed, as above |
//! | CANCELED | Canceled (the order is `C`, the original client id, when set) |
//! | EXPIRED, TRADE_PREVENTION ending the order | Expired |
//! | REJECTED | Rejected |
//! | REPLACED, TRADE_PREVENTION leaving the order working | nothing: [`Outcome::Ignored`] |
//!
//! # Fees
//! The engine books `fee` in nano-units of the settlement (quote) currency. Binance charges the
//! commission in BNB, the base asset (buys) or the quote asset (sells). Only a quote-asset
//! commission is put in the record; any other asset is never converted (that would need a price
//! this crate does not have): the record's fee is 0 and the charge is kept aside as
//! [`Fee::Other`] for the account to book in that asset.

use kestrel_engine::order::Status;
use kestrel_types::{ExecRecord, InlineStr, OrderId, Price, Qty, Timestamp};

use crate::msg::{ExecType, ExecutionReport, OrderResult, OrderStatus, Side, millis_to_timestamp};
use crate::orders::ClientIds;

/// Why a user data event could not become a report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// A TRADE event that carries no quantity.
    #[error("executionReport {exec_id}: TRADE with zero quantity")]
    EmptyFill {
        /// Binance's execution id.
        exec_id: u64,
    },
    /// A TRADE event without a trade id.
    #[error("executionReport {exec_id}: TRADE without a trade id (t = {trade_id})")]
    NoTradeId {
        /// Binance's execution id.
        exec_id: u64,
        /// What `t` said.
        trade_id: i64,
    },
    /// A symbol or asset code longer than the inline capacity.
    #[error("{kind} {text:?} longer than {max} bytes")]
    TooLong {
        /// `symbol` or `commission asset`.
        kind: &'static str,
        /// The text.
        text: String,
        /// The capacity.
        max: usize,
    },
    /// A non-zero commission without its asset (`N` null).
    #[error("commission {amount} without a commission asset")]
    FeeWithoutAsset {
        /// The commission.
        amount: Qty,
    },
    /// A time beyond Kestrel's range (year 2262).
    #[error("time {millis} ms is out of range")]
    Time {
        /// The value.
        millis: u64,
    },
}

/// The fee of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fee {
    /// No commission (not a fill, or a zero commission).
    None,
    /// Charged in the quote asset: it is the record's `fee`.
    Quote,
    /// Charged in another asset (BNB, the base asset): kept aside, the record's `fee` is 0.
    Other {
        /// The asset charged.
        asset: InlineStr<16>,
        /// The amount charged, in that asset.
        amount: Qty,
    },
}

/// A report for the engine, with what the record itself cannot carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderEvent {
    /// The engine order.
    pub order: OrderId,
    /// What the engine consumes.
    pub record: ExecRecord,
    /// Binance's transaction time.
    pub venue_time: Timestamp,
    /// The fill's trade id (fills only).
    pub trade_id: Option<u64>,
    /// Whether the fill was maker (fills only; the record has no liquidity flag).
    pub maker: bool,
    /// Where the commission went.
    pub fee: Fee,
}

/// What one executionReport gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A report for the engine.
    Report(OrderEvent),
    /// A fill already reported (by an earlier event or a FULL order answer): dropped.
    Duplicate {
        /// Its trade id.
        trade_id: u64,
    },
    /// A stop's second NEW when it triggers: the order was already accepted.
    Triggered {
        /// The engine order.
        order: OrderId,
    },
    /// An event that changes nothing the engine holds (REPLACED; STP leaving the order working).
    Ignored {
        /// The engine order.
        order: OrderId,
        /// What Binance reported.
        exec_type: ExecType,
    },
    /// An order Kestrel did not place (another client, the web UI): not ours to report.
    Foreign,
}

/// The engine's code for a status: its index in [`Status::ALL`].
pub fn status_code(status: Status) -> u8 {
    // `ALL` has 9 entries; the fallback is unreachable and would read as "unknown" to the engine.
    Status::ALL.iter().position(|s| *s == status).and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
}

/// Remembers the last `capacity` fills by (symbol, trade id), the key Binance guarantees unique
/// (DIGEST §12). A fixed ring allocated once: nothing is allocated per fill. Lookups scan the ring,
/// which at a few hundred entries is cheaper than hashing a symbol, and fills are rare next to
/// market data.
#[derive(Clone, Debug)]
pub struct FillDedupe {
    keys: Box<[Option<(InlineStr<32>, u64)>]>,
    next: usize,
    len: usize,
}

impl FillDedupe {
    /// A window of `capacity` fills (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self { keys: vec![None; capacity.max(1)].into_boxed_slice(), next: 0, len: 0 }
    }

    /// Records a fill; `Ok(true)` when it is new, `Ok(false)` when it was seen within the window.
    ///
    /// # Errors
    /// [`UserError::TooLong`] for a symbol over 32 bytes.
    pub fn insert(&mut self, symbol: &str, trade_id: u64) -> Result<bool, UserError> {
        let key = InlineStr::<32>::try_new("symbol", symbol).map_err(|_| UserError::TooLong {
            kind: "symbol",
            text: symbol.to_owned(),
            max: 32,
        })?;
        if self.keys.iter().take(self.len).flatten().any(|k| k.1 == trade_id && k.0 == key) {
            return Ok(false);
        }
        let cap = self.keys.len();
        if let Some(slot) = self.keys.get_mut(self.next) {
            *slot = Some((key, trade_id));
        }
        self.next = (self.next + 1) % cap;
        self.len = (self.len + 1).min(cap);
        Ok(true)
    }
}

/// Turns user data into engine reports.
#[derive(Clone, Debug)]
pub struct UserMapper {
    ids: ClientIds,
    dedupe: FillDedupe,
}

impl UserMapper {
    /// A mapper for orders named by `ids`, remembering the last `window` fills.
    pub fn new(ids: ClientIds, window: usize) -> Self {
        Self { ids, dedupe: FillDedupe::new(window) }
    }

    /// The fill window (shared by executionReports and FULL answers).
    pub fn dedupe_mut(&mut self) -> &mut FillDedupe {
        &mut self.dedupe
    }

    /// Maps one executionReport. `quote_asset` is the symbol's quote asset (from exchangeInfo),
    /// the only commission asset put in the record.
    ///
    /// # Errors
    /// [`UserError`] for a TRADE without quantity or trade id, or out-of-range text or time.
    pub fn on_execution(&mut self, r: &ExecutionReport<'_>, quote_asset: &str) -> Result<Outcome, UserError> {
        // On a cancel `c` names the cancel request and `C` the order.
        let client_id =
            if r.orig_client_order_id.is_empty() { &r.client_order_id } else { &r.orig_client_order_id };
        let Some(order) = self.ids.decode(client_id) else { return Ok(Outcome::Foreign) };
        let venue_time = millis(r.transact_time)?;
        let state = |status: Status| OrderEvent {
            order,
            record: ExecRecord {
                order: order.0,
                exec: r.exec_id,
                status: status_code(status),
                qty: Qty::ZERO,
                price: Price::ZERO,
                fee: 0,
            },
            venue_time,
            trade_id: None,
            maker: false,
            fee: Fee::None,
        };
        let ended = matches!(r.status, OrderStatus::Expired | OrderStatus::ExpiredInMatch);
        Ok(match r.exec_type {
            ExecType::New if r.order_type.is_conditional() && r.working => Outcome::Triggered { order },
            ExecType::New => Outcome::Report(state(Status::Accepted)),
            ExecType::Canceled => Outcome::Report(state(Status::Canceled)),
            ExecType::Expired => Outcome::Report(state(Status::Expired)),
            ExecType::TradePrevention if ended => Outcome::Report(state(Status::Expired)),
            ExecType::Rejected => Outcome::Report(state(Status::Rejected)),
            ExecType::Replaced | ExecType::TradePrevention => {
                Outcome::Ignored { order, exec_type: r.exec_type }
            }
            ExecType::Trade => {
                let trade_id = u64::try_from(r.trade_id)
                    .map_err(|_| UserError::NoTradeId { exec_id: r.exec_id, trade_id: r.trade_id })?;
                if !r.last_qty.is_positive() {
                    return Err(UserError::EmptyFill { exec_id: r.exec_id });
                }
                if !self.dedupe.insert(r.symbol, trade_id)? {
                    return Ok(Outcome::Duplicate { trade_id });
                }
                let status =
                    if r.status == OrderStatus::Filled { Status::Completed } else { Status::Partial };
                let (fee, fee_nanos) = fee(r.commission, r.commission_asset, quote_asset)?;
                let mut ev = state(status);
                ev.record.qty = signed(r.side, r.last_qty);
                ev.record.price = r.last_price;
                ev.record.fee = fee_nanos;
                ev.trade_id = Some(trade_id);
                ev.maker = r.maker;
                ev.fee = fee;
                Outcome::Report(ev)
            }
        })
    }

    /// The fills of a FULL new-order answer as reports, skipping those already reported, so that
    /// whichever of the answer and the executionReports arrives first books each fill once.
    /// The last fill of a FILLED order is Completed, the others Partial; `exec` is the trade id.
    ///
    /// # Errors
    /// [`UserError`] for out-of-range text or time.
    pub fn on_order_fills(
        &mut self,
        order: OrderId,
        r: &OrderResult<'_>,
        quote_asset: &str,
    ) -> Result<Vec<OrderEvent>, UserError> {
        let Some(fills) = &r.fills else { return Ok(Vec::new()) };
        let venue_time = millis(r.ack.transact_time)?;
        let mut out = Vec::new();
        for (i, f) in fills.iter().enumerate() {
            if !self.dedupe.insert(r.ack.symbol, f.trade_id)? {
                continue;
            }
            let last = i + 1 == fills.len();
            let status = if last && r.state.status == OrderStatus::Filled {
                Status::Completed
            } else {
                Status::Partial
            };
            let (fee, fee_nanos) = fee(f.commission, Some(f.commission_asset), quote_asset)?;
            out.push(OrderEvent {
                order,
                record: ExecRecord {
                    order: order.0,
                    exec: f.trade_id,
                    status: status_code(status),
                    qty: signed(r.state.side, f.qty),
                    price: f.price,
                    fee: fee_nanos,
                },
                venue_time,
                trade_id: Some(f.trade_id),
                maker: false,
                fee,
            });
        }
        Ok(out)
    }
}

fn signed(side: Side, qty: Qty) -> Qty {
    match side {
        Side::Buy => qty,
        Side::Sell => -qty,
    }
}

fn millis(ms: u64) -> Result<Timestamp, UserError> {
    millis_to_timestamp(ms).ok_or(UserError::Time { millis: ms })
}

/// The record's fee (nano-units of the quote asset) and where the commission went.
fn fee(amount: Qty, asset: Option<&str>, quote_asset: &str) -> Result<(Fee, i64), UserError> {
    match asset {
        _ if amount.is_zero() => Ok((Fee::None, 0)),
        Some(a) if a == quote_asset => Ok((Fee::Quote, amount.raw())),
        Some(a) => {
            let asset = InlineStr::try_new("asset", a).map_err(|_| UserError::TooLong {
                kind: "commission asset",
                text: a.to_owned(),
                max: 16,
            })?;
            Ok((Fee::Other { asset, amount }, 0))
        }
        // A commission with no asset named: refused rather than guessed.
        None => Err(UserError::FeeWithoutAsset { amount }),
    }
}
