//! The listed symbols: their grids, exchangeInfo filters (enforced on every order) and the
//! exchangeInfo document built from them.

use kestrel_types::{NANO, Price, Qty, Ratio};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::num::{self, px, qty};

/// Order types this venue matches (exchangeInfo `orderTypes`; others are refused with -1116).
pub const ORDER_TYPES: [&str; 3] = ["LIMIT", "LIMIT_MAKER", "MARKET"];

/// One symbol's static description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolSpec {
    /// `BTCUSDT`.
    pub name: String,
    /// `BTC`.
    pub base: String,
    /// `USDT`.
    pub quote: String,
    /// PRICE_FILTER tickSize (also the book's tick).
    pub tick: Price,
    /// PRICE_FILTER minPrice / maxPrice.
    pub min_price: Price,
    /// PRICE_FILTER maxPrice.
    pub max_price: Price,
    /// LOT_SIZE stepSize.
    pub step: Qty,
    /// LOT_SIZE minQty.
    pub min_qty: Qty,
    /// LOT_SIZE maxQty.
    pub max_qty: Qty,
    /// MARKET_LOT_SIZE maxQty (minQty and stepSize are 0, as on Binance).
    pub market_max_qty: Qty,
    /// NOTIONAL minNotional (applied to MARKET orders too, at the mid).
    pub min_notional: Price,
    /// NOTIONAL maxNotional (not applied to MARKET orders).
    pub max_notional: Price,
    /// PERCENT_PRICE_BY_SIDE: a limit price must lie within ±this many percent of the mid. Kept
    /// narrow (Binance: 0.2×–5×) so that every resting order fits the L3 book's window.
    pub band_pct: i64,
    /// The seeded synthetic book's starting mid.
    pub seed_mid: Price,
    /// Distance between the synthetic book's levels.
    pub spacing: Price,
}

fn p(s: &str) -> Price {
    s.parse().unwrap_or(Price::ZERO)
}

fn q(s: &str) -> Qty {
    s.parse().unwrap_or(Qty::ZERO)
}

impl SymbolSpec {
    /// The default listing: BTCUSDT and ETHUSDT with Binance's 2025 grids.
    pub fn defaults() -> Vec<Self> {
        vec![
            Self {
                name: "BTCUSDT".into(),
                base: "BTC".into(),
                quote: "USDT".into(),
                tick: p("0.01"),
                min_price: p("0.01"),
                max_price: p("1000000"),
                step: q("0.00001"),
                min_qty: q("0.00001"),
                max_qty: q("9000"),
                market_max_qty: q("97.09521512"),
                min_notional: p("5"),
                max_notional: p("9000000"),
                band_pct: 5,
                seed_mid: p("60000"),
                spacing: p("0.5"),
            },
            Self {
                name: "ETHUSDT".into(),
                base: "ETH".into(),
                quote: "USDT".into(),
                tick: p("0.01"),
                min_price: p("0.01"),
                max_price: p("1000000"),
                step: q("0.0001"),
                min_qty: q("0.0001"),
                max_qty: q("9000"),
                market_max_qty: q("3000"),
                min_notional: p("5"),
                max_notional: p("9000000"),
                band_pct: 5,
                seed_mid: p("3000"),
                spacing: p("0.05"),
            },
        ]
    }

    /// The PERCENT_PRICE_BY_SIDE bounds around `mid`.
    pub fn band(&self, mid: Price) -> (Price, Price) {
        let d = mid.raw() / 100 * self.band_pct;
        (Price::from_raw(mid.raw() - d), Price::from_raw(mid.raw() + d))
    }

    /// Checks a new order against the filters, in Binance's order: PRICE_FILTER, LOT_SIZE,
    /// MARKET_LOT_SIZE, NOTIONAL, PERCENT_PRICE_BY_SIDE. `price` is `None` for MARKET; `mid` is
    /// the reference price for MARKET notional and the band.
    pub fn check(&self, price: Option<Price>, size: Qty, mid: Price) -> Result<(), ApiError> {
        if let Some(price) = price
            && (price < self.min_price || price > self.max_price || !price.is_multiple_of(self.tick))
        {
            return Err(ApiError::filter("PRICE_FILTER"));
        }
        if size < self.min_qty || size > self.max_qty || !size.is_multiple_of(self.step) {
            return Err(ApiError::filter("LOT_SIZE"));
        }
        if price.is_none() && size > self.market_max_qty {
            return Err(ApiError::filter("MARKET_LOT_SIZE"));
        }
        let notional = num::quote(size, price.unwrap_or(mid)).ok_or_else(|| ApiError::filter("NOTIONAL"))?;
        if notional < self.min_notional.raw() || (price.is_some() && notional > self.max_notional.raw()) {
            return Err(ApiError::filter("NOTIONAL"));
        }
        if let Some(price) = price {
            let (lo, hi) = self.band(mid);
            if price < lo || price > hi {
                return Err(ApiError::filter("PERCENT_PRICE_BY_SIDE"));
            }
        }
        Ok(())
    }

    /// The symbol's exchangeInfo entry.
    pub fn info(&self) -> Value {
        let pct = self.band_pct * (NANO / 100);
        let up = Ratio::from_raw(NANO + pct).to_string();
        let down = Ratio::from_raw(NANO - pct).to_string();
        json!({
            "symbol": self.name,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ORDER_TYPES,
            "icebergAllowed": false,
            "ocoAllowed": false,
            "otoAllowed": false,
            "quoteOrderQtyMarketAllowed": false,
            "allowTrailingStop": false,
            "cancelReplaceAllowed": false,
            "amendAllowed": false,
            "isSpotTradingAllowed": true,
            "isMarginTradingAllowed": false,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": px(self.min_price), "maxPrice": px(self.max_price), "tickSize": px(self.tick)},
                {"filterType": "LOT_SIZE", "minQty": qty(self.min_qty), "maxQty": qty(self.max_qty), "stepSize": qty(self.step)},
                {"filterType": "MARKET_LOT_SIZE", "minQty": qty(Qty::ZERO), "maxQty": qty(self.market_max_qty), "stepSize": qty(Qty::ZERO)},
                {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": up, "bidMultiplierDown": down, "askMultiplierUp": up, "askMultiplierDown": down, "avgPriceMins": 0},
                {"filterType": "NOTIONAL", "minNotional": px(self.min_notional), "applyMinToMarket": true, "maxNotional": px(self.max_notional), "applyMaxToMarket": false, "avgPriceMins": 0},
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200}
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"]
        })
    }
}

/// Binance's rate limits as exchangeInfo lists them.
pub fn rate_limits() -> Value {
    json!([
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_refuse_like_binance() {
        let btc = &SymbolSpec::defaults()[0];
        let mid = p("60000");
        btc.check(Some(p("59000")), q("0.001"), mid).unwrap();
        let code = |r: Result<(), ApiError>| r.unwrap_err().msg;
        assert_eq!(code(btc.check(Some(p("59000.001")), q("0.001"), mid)), "Filter failure: PRICE_FILTER");
        assert_eq!(code(btc.check(Some(p("59000")), q("0.000001"), mid)), "Filter failure: LOT_SIZE");
        assert_eq!(code(btc.check(None, q("98"), mid)), "Filter failure: MARKET_LOT_SIZE");
        assert_eq!(code(btc.check(Some(p("59000")), q("0.00005"), mid)), "Filter failure: NOTIONAL");
        assert_eq!(code(btc.check(None, q("0.00005"), mid)), "Filter failure: NOTIONAL");
        assert_eq!(
            code(btc.check(Some(p("50000")), q("0.001"), mid)),
            "Filter failure: PERCENT_PRICE_BY_SIDE"
        );
    }

    #[test]
    fn info_has_binance_shapes() {
        let info = SymbolSpec::defaults()[0].info();
        let f = &info["filters"];
        assert_eq!(f[0]["tickSize"], "0.01000000");
        assert_eq!(f[1]["stepSize"], "0.00001000");
        assert_eq!(f[2]["maxQty"], "97.09521512");
        assert_eq!(f[3]["bidMultiplierUp"], "1.05");
        assert_eq!(info["baseAssetPrecision"], 8);
    }
}
