//! Pre-send checks against the real BTCUSDT exchangeInfo (2025 capture): each filter refuses with
//! its reason, and orders on the grid pass.

mod common;

use common::fixture;
use kestrel_engine::engine::{OrderKind, OrderRequest};
use kestrel_engine::order::Side;
use kestrel_gw_binance::codec::decode;
use kestrel_gw_binance::msg::{ExchangeInfo, SymbolInfo};
use kestrel_gw_binance::orders::{FilterReject, check_filters, map_order};
use kestrel_types::{InstrumentId, Money, Price, Qty};

fn btcusdt() -> SymbolInfo {
    let info: ExchangeInfo = decode("exchangeInfo", &fixture("rest_exchangeInfo_BTCUSDT.json")).unwrap();
    info.symbol("BTCUSDT").unwrap().clone()
}

fn q(s: &str) -> Qty {
    s.parse().unwrap()
}
fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn check(size: &str, kind: OrderKind, market: Option<&str>) -> Result<(), FilterReject> {
    let req = OrderRequest::new(InstrumentId(0), Side::Buy, q(size), kind);
    check_filters(&map_order(&req).unwrap(), &btcusdt(), market.map(p))
}

fn limit(price: &str) -> OrderKind {
    OrderKind::Limit { limit: p(price) }
}

#[test]
fn orders_on_the_grid_pass() {
    assert_eq!(check("0.001", limit("90000.01"), None), Ok(()));
    assert_eq!(check("0.00006", limit("90000"), None), Ok(()), "5.4 USDT ≥ minNotional 5");
    assert_eq!(check("0.001", OrderKind::Market, Some("90000")), Ok(()));
    assert_eq!(check("0.001", OrderKind::StopLimit { stop: p("95000"), limit: p("95000.5") }, None), Ok(()));
}

#[test]
fn each_filter_refuses_with_its_reason() {
    assert_eq!(
        check("0.001", limit("90000.005"), None),
        Err(FilterReject::PriceOffTick { field: "price", value: p("90000.005"), tick: p("0.01") })
    );
    assert_eq!(
        check("0.001", limit("0.001"), None),
        Err(FilterReject::PriceBelowMin { field: "price", value: p("0.001"), min: p("0.01") })
    );
    assert_eq!(
        check("0.001", limit("1000000.01"), None),
        Err(FilterReject::PriceAboveMax { field: "price", value: p("1000000.01"), max: p("1000000") })
    );
    let stop = OrderKind::StopLimit { stop: p("95000.001"), limit: p("95000") };
    assert!(matches!(check("0.001", stop, None), Err(FilterReject::PriceOffTick { field: "stopPrice", .. })));
    let e = check("0.000015", limit("90000"), None).unwrap_err();
    assert_eq!(e, FilterReject::QtyOffStep { filter: "LOT_SIZE", value: q("0.000015"), step: q("0.00001") });
    assert_eq!(e.filter_type(), Some("LOT_SIZE"));
    assert!(matches!(check("0.000001", limit("90000"), None), Err(FilterReject::QtyBelowMin { .. })));
    assert!(matches!(check("9000.00001", limit("0.01"), None), Err(FilterReject::QtyAboveMax { .. })));
    // MARKET_LOT_SIZE: maxQty 97.09521512 for MARKET only; its stepSize 0 is off (no division).
    let e = check("100", OrderKind::Market, None).unwrap_err();
    assert_eq!(
        e,
        FilterReject::QtyAboveMax { filter: "MARKET_LOT_SIZE", value: q("100"), max: q("97.09521512") }
    );
    assert_eq!(check("100", limit("1000"), None), Ok(()), "MARKET_LOT_SIZE does not bound a LIMIT order");
}

#[test]
fn notional_bounds_use_the_limit_price_or_the_callers_market_price() {
    let e = check("0.00005", limit("90000"), None).unwrap_err();
    assert_eq!(
        e,
        FilterReject::NotionalBelowMin {
            filter: "NOTIONAL",
            notional: "4.5".parse::<Money>().unwrap(),
            min: "5".parse().unwrap()
        }
    );
    assert_eq!(e.filter_type(), Some("NOTIONAL"));
    assert!(matches!(check("1000", limit("10000"), None), Err(FilterReject::NotionalAboveMax { .. })));
    // MARKET: minimum applies (applyMinToMarket), maximum does not (applyMaxToMarket false).
    assert!(matches!(
        check("0.00005", OrderKind::Market, Some("90000")),
        Err(FilterReject::NotionalBelowMin { .. })
    ));
    assert_eq!(check("0.00005", OrderKind::Market, None), Ok(()), "no reference price: left to Binance");
    assert_eq!(check("97", OrderKind::Market, Some("100000")), Ok(()));
}

#[test]
fn symbol_status_and_order_types_are_checked() {
    let mut s = btcusdt();
    let req = OrderRequest::new(InstrumentId(0), Side::Sell, q("0.001"), limit("90000")).post_only();
    let params = map_order(&req).unwrap();
    assert_eq!(check_filters(&params, &s, None), Ok(()));
    s.order_types.retain(|t| t != "LIMIT_MAKER");
    assert_eq!(check_filters(&params, &s, None), Err(FilterReject::OrderType { order_type: "LIMIT_MAKER" }));
    s.status = "BREAK".to_owned();
    assert_eq!(check_filters(&params, &s, None), Err(FilterReject::NotTrading));
}
