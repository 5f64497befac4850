//! `GET /api/v3/myTrades?orderId=`: the fills of one order with their trade ids, for reconciliation.
//!
//! The codec's `GET /api/v3/order` says how much filled but not which trades; only trade ids make
//! a backfill safe against the user stream delivering the same fill too (dedupe on
//! (symbol, trade id), DIGEST §12). Written here because the codec has no request or type for it.

use kestrel_types::{Price, Qty};
use serde::Deserialize;

use crate::msg::num;
use crate::sign::{Query, Signer};

/// One element of the `myTrades` answer (fields the session uses; others ignored).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MyTrade<'a> {
    /// Symbol.
    pub(crate) symbol: &'a str,
    /// Trade id (= executionReport `t`).
    pub(crate) id: u64,
    /// Binance's order id.
    pub(crate) order_id: u64,
    /// Fill price.
    #[serde(deserialize_with = "num::price")]
    pub(crate) price: Price,
    /// Fill quantity.
    #[serde(deserialize_with = "num::qty")]
    pub(crate) qty: Qty,
    /// Commission, in `commission_asset`.
    #[serde(deserialize_with = "num::qty")]
    pub(crate) commission: Qty,
    /// The asset charged.
    pub(crate) commission_asset: &'a str,
    /// Trade time, epoch ms.
    pub(crate) time: u64,
    /// Whether we bought.
    pub(crate) is_buyer: bool,
}

/// The signed target (`/api/v3/myTrades?symbol=…&orderId=…&timestamp=…&signature=…`), weight 5.
pub(crate) fn my_trades_target(
    symbol: &str,
    order_id: u64,
    recv_window_ms: Option<u32>,
    timestamp_ms: u64,
    signer: &Signer,
) -> String {
    let mut q = Query::new();
    q.push("symbol", symbol).push_u64("orderId", order_id);
    if let Some(w) = recv_window_ms {
        q.push_u64("recvWindow", u64::from(w));
    }
    q.push_u64("timestamp", timestamp_ms);
    let sig = signer.sign(q.as_str().as_bytes());
    q.push("signature", sig.as_str());
    format!("/api/v3/myTrades?{}", q.as_str())
}

/// `myTrades` weight with `orderId` (DIGEST §3).
pub(crate) const MY_TRADES_WEIGHT: u32 = 5;
