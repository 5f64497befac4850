//! `GET /api/v3/exchangeInfo`: symbols, their trading rules (filters) and the rate limits.
//!
//! Owned (`String`) rather than borrowed: it is read once at start-up and kept. Filters Binance adds
//! later must not stop a gateway from starting, so an unknown `filterType` is kept as
//! [`Filter::Other`] with its raw JSON; a known filter with a malformed value is an error.

use kestrel_types::{Money, Price, Qty, Ratio};
use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::num;

/// The whole answer.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeInfo {
    /// `UTC`.
    pub timezone: String,
    /// Server time, epoch ms.
    pub server_time: u64,
    /// The request and order limits in force.
    pub rate_limits: Vec<RateLimit>,
    /// Exchange-wide filters.
    #[serde(default)]
    pub exchange_filters: Vec<Filter>,
    /// One entry per symbol asked for.
    pub symbols: Vec<SymbolInfo>,
}

impl ExchangeInfo {
    /// The entry of `symbol`, if listed.
    pub fn symbol(&self, symbol: &str) -> Option<&SymbolInfo> {
        self.symbols.iter().find(|s| s.symbol == symbol)
    }
}

/// A rate limit definition (also the entries of WS-API `rateLimits`, which add `count`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// `REQUEST_WEIGHT`, `ORDERS` or `RAW_REQUESTS`.
    pub rate_limit_type: String,
    /// `SECOND`, `MINUTE` or `DAY`.
    pub interval: String,
    /// How many intervals the window spans.
    pub interval_num: u32,
    /// The limit.
    pub limit: u64,
    /// Usage so far (WS-API answers only).
    #[serde(default)]
    pub count: Option<u64>,
}

/// One symbol's trading rules.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    /// Symbol (`BTCUSDT`).
    pub symbol: String,
    /// `TRADING`, `BREAK`, `HALT`, `END_OF_DAY`, `CANCEL_ONLY`.
    pub status: String,
    /// Base asset (`BTC`).
    pub base_asset: String,
    /// Quote asset (`USDT`): the asset a fill's money and fee are counted in.
    pub quote_asset: String,
    /// Decimals of the base asset.
    pub base_asset_precision: u32,
    /// Decimals of the quote asset.
    #[serde(default)]
    pub quote_asset_precision: Option<u32>,
    /// Order types accepted, as wire text (unknown future types kept as text).
    pub order_types: Vec<String>,
    /// Whether icebergs are allowed.
    #[serde(default)]
    pub iceberg_allowed: bool,
    /// Whether MARKET orders by quote amount are allowed.
    #[serde(default)]
    pub quote_order_qty_market_allowed: bool,
    /// Whether cancel-replace is allowed.
    #[serde(default)]
    pub cancel_replace_allowed: bool,
    /// Whether spot trading is allowed.
    #[serde(default)]
    pub is_spot_trading_allowed: bool,
    /// The trading rules.
    pub filters: Vec<Filter>,
}

/// A trading rule. Numeric bounds that are `0` are off where Binance documents it (DIGEST §6).
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Price bounds and tick.
    PriceFilter {
        /// Lowest price (0 = off).
        min_price: Price,
        /// Highest price (0 = off).
        max_price: Price,
        /// Tick (0 = off).
        tick_size: Price,
    },
    /// Quantity bounds and step for every order.
    LotSize(LotSize),
    /// Quantity bounds and step for MARKET orders.
    MarketLotSize(LotSize),
    /// Notional bounds.
    Notional {
        /// Lowest price × qty.
        min_notional: Money,
        /// Whether the minimum applies to MARKET orders.
        apply_min_to_market: bool,
        /// Highest price × qty.
        max_notional: Money,
        /// Whether the maximum applies to MARKET orders.
        apply_max_to_market: bool,
        /// Minutes of the average price used for MARKET orders (0 = last price).
        avg_price_mins: u32,
    },
    /// Legacy minimum notional (pre-2023 symbols).
    MinNotional {
        /// Lowest price × qty.
        min_notional: Money,
        /// Whether it applies to MARKET orders.
        apply_to_market: bool,
        /// Minutes of the average price used for MARKET orders.
        avg_price_mins: u32,
    },
    /// Price band around the average price, per side.
    PercentPriceBySide {
        /// BUY: highest price over average.
        bid_multiplier_up: Ratio,
        /// BUY: lowest price over average.
        bid_multiplier_down: Ratio,
        /// SELL: highest price over average.
        ask_multiplier_up: Ratio,
        /// SELL: lowest price over average.
        ask_multiplier_down: Ratio,
        /// Minutes of the average price.
        avg_price_mins: u32,
    },
    /// Legacy price band around the average price.
    PercentPrice {
        /// Highest price over average.
        multiplier_up: Ratio,
        /// Lowest price over average.
        multiplier_down: Ratio,
        /// Minutes of the average price.
        avg_price_mins: u32,
    },
    /// Most parts an iceberg may show.
    IcebergParts {
        /// The limit.
        limit: u32,
    },
    /// Most open orders on the symbol.
    MaxNumOrders {
        /// The limit.
        max_num_orders: u32,
    },
    /// Most open conditional orders on the symbol.
    MaxNumAlgoOrders {
        /// The limit.
        max_num_algo_orders: u32,
    },
    /// A filter this crate does not know: kept, not refused.
    Other {
        /// Its `filterType`.
        filter_type: String,
        /// The whole filter object.
        raw: serde_json::Value,
    },
}

impl Filter {
    /// Binance's `filterType` text (what a -1013 "Filter failure: X" names).
    pub fn filter_type(&self) -> &str {
        match self {
            Self::PriceFilter { .. } => "PRICE_FILTER",
            Self::LotSize(_) => "LOT_SIZE",
            Self::MarketLotSize(_) => "MARKET_LOT_SIZE",
            Self::Notional { .. } => "NOTIONAL",
            Self::MinNotional { .. } => "MIN_NOTIONAL",
            Self::PercentPriceBySide { .. } => "PERCENT_PRICE_BY_SIDE",
            Self::PercentPrice { .. } => "PERCENT_PRICE",
            Self::IcebergParts { .. } => "ICEBERG_PARTS",
            Self::MaxNumOrders { .. } => "MAX_NUM_ORDERS",
            Self::MaxNumAlgoOrders { .. } => "MAX_NUM_ALGO_ORDERS",
            Self::Other { filter_type, .. } => filter_type,
        }
    }
}

/// Quantity bounds and step (`LOT_SIZE`, `MARKET_LOT_SIZE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LotSize {
    /// Smallest quantity (0 = off).
    #[serde(deserialize_with = "num::qty")]
    pub min_qty: Qty,
    /// Largest quantity (0 = off).
    #[serde(deserialize_with = "num::qty")]
    pub max_qty: Qty,
    /// Step (0 = off: never divided by).
    #[serde(deserialize_with = "num::qty")]
    pub step_size: Qty,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceFilterWire {
    #[serde(deserialize_with = "num::price")]
    min_price: Price,
    #[serde(deserialize_with = "num::price")]
    max_price: Price,
    #[serde(deserialize_with = "num::price")]
    tick_size: Price,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotionalWire {
    #[serde(deserialize_with = "num::money")]
    min_notional: Money,
    apply_min_to_market: bool,
    #[serde(deserialize_with = "num::money")]
    max_notional: Money,
    apply_max_to_market: bool,
    avg_price_mins: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MinNotionalWire {
    #[serde(deserialize_with = "num::money")]
    min_notional: Money,
    apply_to_market: bool,
    avg_price_mins: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PercentPriceBySideWire {
    #[serde(deserialize_with = "num::ratio")]
    bid_multiplier_up: Ratio,
    #[serde(deserialize_with = "num::ratio")]
    bid_multiplier_down: Ratio,
    #[serde(deserialize_with = "num::ratio")]
    ask_multiplier_up: Ratio,
    #[serde(deserialize_with = "num::ratio")]
    ask_multiplier_down: Ratio,
    avg_price_mins: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PercentPriceWire {
    #[serde(deserialize_with = "num::ratio")]
    multiplier_up: Ratio,
    #[serde(deserialize_with = "num::ratio")]
    multiplier_down: Ratio,
    avg_price_mins: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IcebergWire {
    limit: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaxNumOrdersWire {
    max_num_orders: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaxNumAlgoOrdersWire {
    max_num_algo_orders: u32,
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(d)?;
        let filter_type = raw
            .get("filterType")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| de::Error::missing_field("filterType"))?
            .to_owned();
        // The filter's own fields; `filterType` is ignored by each wire struct.
        fn known<T: serde::de::DeserializeOwned, E: de::Error>(
            filter_type: &str,
            raw: &serde_json::Value,
        ) -> Result<T, E> {
            T::deserialize(raw).map_err(|e| E::custom(format_args!("{filter_type}: {e}")))
        }
        Ok(match filter_type.as_str() {
            "PRICE_FILTER" => {
                let w: PriceFilterWire = known(&filter_type, &raw)?;
                Self::PriceFilter { min_price: w.min_price, max_price: w.max_price, tick_size: w.tick_size }
            }
            "LOT_SIZE" => Self::LotSize(known(&filter_type, &raw)?),
            "MARKET_LOT_SIZE" => Self::MarketLotSize(known(&filter_type, &raw)?),
            "NOTIONAL" => {
                let w: NotionalWire = known(&filter_type, &raw)?;
                Self::Notional {
                    min_notional: w.min_notional,
                    apply_min_to_market: w.apply_min_to_market,
                    max_notional: w.max_notional,
                    apply_max_to_market: w.apply_max_to_market,
                    avg_price_mins: w.avg_price_mins,
                }
            }
            "MIN_NOTIONAL" => {
                let w: MinNotionalWire = known(&filter_type, &raw)?;
                Self::MinNotional {
                    min_notional: w.min_notional,
                    apply_to_market: w.apply_to_market,
                    avg_price_mins: w.avg_price_mins,
                }
            }
            "PERCENT_PRICE_BY_SIDE" => {
                let w: PercentPriceBySideWire = known(&filter_type, &raw)?;
                Self::PercentPriceBySide {
                    bid_multiplier_up: w.bid_multiplier_up,
                    bid_multiplier_down: w.bid_multiplier_down,
                    ask_multiplier_up: w.ask_multiplier_up,
                    ask_multiplier_down: w.ask_multiplier_down,
                    avg_price_mins: w.avg_price_mins,
                }
            }
            "PERCENT_PRICE" => {
                let w: PercentPriceWire = known(&filter_type, &raw)?;
                Self::PercentPrice {
                    multiplier_up: w.multiplier_up,
                    multiplier_down: w.multiplier_down,
                    avg_price_mins: w.avg_price_mins,
                }
            }
            "ICEBERG_PARTS" => {
                Self::IcebergParts { limit: known::<IcebergWire, _>(&filter_type, &raw)?.limit }
            }
            "MAX_NUM_ORDERS" => Self::MaxNumOrders {
                max_num_orders: known::<MaxNumOrdersWire, _>(&filter_type, &raw)?.max_num_orders,
            },
            "MAX_NUM_ALGO_ORDERS" => Self::MaxNumAlgoOrders {
                max_num_algo_orders: known::<MaxNumAlgoOrdersWire, _>(&filter_type, &raw)?
                    .max_num_algo_orders,
            },
            _ => Self::Other { filter_type, raw },
        })
    }
}
