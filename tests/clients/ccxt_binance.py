"""ccxt 4.5.90 (synchronous ccxt.binance) against the simulator: markets, ticker, order book,
balance, create/fetch/cancel orders (signed POSTs carry everything in a form body)."""

import ccxt

from common import HTTP, KEY, SECRET, check, done

ex = ccxt.binance({
    "apiKey": KEY,
    "secret": SECRET,
    "enableRateLimit": False,
    "options": {
        "fetchCurrencies": False,
        "fetchMargins": False,
        "fetchMarkets": {"types": ["spot"]},
        "defaultType": "spot",
        "adjustForTimeDifference": False,
    },
})


def rewrite(urls):
    """Every API URL to the simulator, keeping its path."""
    out = {}
    for k, v in urls.items():
        if isinstance(v, dict):
            out[k] = rewrite(v)
        elif isinstance(v, str) and "://" in v:
            rest = v.split("://", 1)[1]
            path = rest[rest.index("/"):] if "/" in rest else ""
            out[k] = HTTP + path
        else:
            out[k] = v
    return out


ex.urls["api"] = rewrite(ex.urls["api"])

markets = ex.load_markets()
btc = markets["BTC/USDT"]
check(btc["id"] == "BTCUSDT" and btc["active"] is True and btc["spot"] is True, "load_markets", btc)
check(btc["precision"]["amount"] == 0.00001 and btc["precision"]["price"] == 0.01, "market precision from filters", btc["precision"])
check(btc["limits"]["cost"]["min"] == 5.0, "NOTIONAL minNotional", btc["limits"])
check("ETH/USDT" in markets, "ETH/USDT listed")

ticker = ex.fetch_ticker("BTC/USDT")
check(ticker["bid"] and ticker["ask"] and ticker["bid"] < ticker["ask"] and ticker["last"], "fetch_ticker", ticker)
book = ex.fetch_order_book("BTC/USDT", limit=10)
check(len(book["bids"]) == 10 and book["bids"][0][0] < book["asks"][0][0] and book["nonce"], "fetch_order_book", book)
bal = ex.fetch_balance()
check(bal["USDT"]["free"] > 0 and "BTC" in bal, "fetch_balance", bal.get("USDT"))

far = round(book["bids"][0][0] * 0.97, 2)
o = ex.create_order("BTC/USDT", "limit", "buy", 0.001, far)
check(o["status"] == "open" and o["id"] and o["clientOrderId"], "create_order limit (open)", o)
f = ex.fetch_order(o["id"], "BTC/USDT")
check(f["status"] == "open" and f["price"] == far and f["amount"] == 0.001, "fetch_order", f)
opens = ex.fetch_open_orders("BTC/USDT")
check(any(x["id"] == o["id"] for x in opens), "fetch_open_orders", opens)
c = ex.cancel_order(o["id"], "BTC/USDT")
check(c["status"] == "canceled", "cancel_order", c)
check(ex.fetch_order(o["id"], "BTC/USDT")["status"] == "canceled", "fetch_order after cancel")

m = ex.create_order("BTC/USDT", "market", "buy", 0.001)
check(m["status"] == "closed" and m["filled"] == 0.001 and m["average"] and len(m["trades"]) >= 1, "create_order market (closed, trades)", m)
check(m["fee"] is not None or m["fees"], "market order fee from fills", m.get("fees"))
s = ex.create_order("BTC/USDT", "market", "sell", 0.001)
check(s["status"] == "closed" and s["filled"] == 0.001, "create_order market sell", s)

try:
    ex.create_order("BTC/USDT", "limit", "buy", 50, far)
    check(False, "insufficient balance refused")
except ccxt.InsufficientFunds as e:
    check(True, "insufficient balance -> InsufficientFunds")
try:
    ex.cancel_order("987654", "BTC/USDT")
    check(False, "unknown cancel refused")
except ccxt.OrderNotFound:
    check(True, "cancel unknown -> OrderNotFound")
bad = ccxt.binance({"apiKey": KEY, "secret": "wrong", "options": ex.options})
bad.urls["api"] = ex.urls["api"]
bad.markets, bad.markets_by_id, bad.symbols = ex.markets, ex.markets_by_id, ex.symbols
try:
    bad.fetch_balance()
    check(False, "bad signature refused")
except ccxt.AuthenticationError:
    check(True, "bad signature -> AuthenticationError")
done("ccxt 4.5.90")
