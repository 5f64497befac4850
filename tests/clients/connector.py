"""binance-connector 3.13.0 (legacy official client) against the simulator: REST with every
parameter in the query, unsigned listenKey calls, bare /ws with SUBSCRIBE, user data by listenKey."""

import time

from binance.error import ClientError
from binance.spot import Spot
from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient

from common import HTTP, KEY, SECRET, WS, check, done, is_dec, is_int, wait_for
import json

client = Spot(api_key=KEY, api_secret=SECRET, base_url=HTTP)

check(client.ping() == {}, "ping")
check(is_int(client.time()["serverTime"]), "time")
info = client.exchange_info(symbol="BTCUSDT")
sym = info["symbols"][0]
check(sym["symbol"] == "BTCUSDT" and sym["status"] == "TRADING", "exchange_info(symbol)")
filters = {f["filterType"]: f for f in sym["filters"]}
check(filters["LOT_SIZE"]["stepSize"] == "0.00001000", "LOT_SIZE stepSize", filters["LOT_SIZE"])
depth = client.depth("BTCUSDT", limit=5)
check(is_int(depth["lastUpdateId"]) and len(depth["bids"]) == 5 and is_dec(depth["asks"][0][0]), "depth", depth)
bt = client.book_ticker(symbol="BTCUSDT")
check(is_dec(bt["bidPrice"]) and bt["bidPrice"] < bt["askPrice"], "book_ticker", bt)
t24 = client.ticker_24hr(symbol="BTCUSDT")
check(is_int(t24["count"]) and is_dec(t24["lastPrice"]), "ticker_24hr", t24)
acct = client.account()
bal = {b["asset"]: b for b in acct["balances"]}
check(is_dec(bal["USDT"]["free"]) and acct["canTrade"] is True, "account", acct)

# User data by listenKey, streamed over bare /ws with SUBSCRIBE (what the connector does).
lk = client.new_listen_key()["listenKey"]
check(isinstance(lk, str) and len(lk) >= 60, "new_listen_key", lk)
check(client.renew_listen_key(lk) == {}, "renew_listen_key")
messages = []
ws = SpotWebsocketStreamClient(stream_url=WS, on_message=lambda _, m: messages.append(json.loads(m)))
ws.trade(symbol="btcusdt")
ws.user_data(listen_key=lk)
wait_for(lambda: sum(1 for m in messages if m.get("result", 1) is None) >= 2, "SUBSCRIBE replies {result:null,id}")

bid = float(bt["bidPrice"])
far = f"{round(bid * 0.97, 2):.2f}"
placed = client.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001", price=far)
check(placed["status"] == "NEW" and placed["fills"] == [] and is_int(placed["orderId"]), "new_order LIMIT rests", placed)
oid = placed["orderId"]
q = client.get_order("BTCUSDT", orderId=oid)
check(q["status"] == "NEW" and q["price"] == f"{float(far):.8f}" and q["isWorking"] is True, "get_order", q)
opens = client.get_open_orders("BTCUSDT")
check(any(o["orderId"] == oid for o in opens), "get_open_orders", opens)
locked = {b["asset"]: b for b in client.account()["balances"]}["USDT"]["locked"]
check(locked == f"{float(far) * 0.001:.8f}", "limit buy locks price x qty", locked)
canceled = client.cancel_order("BTCUSDT", orderId=oid)
check(canceled["status"] == "CANCELED" and canceled["origClientOrderId"] == placed["clientOrderId"], "cancel_order", canceled)

mkt = client.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.002")
check(mkt["status"] == "FILLED" and mkt["executedQty"] == "0.00200000" and len(mkt["fills"]) >= 1, "new_order MARKET fills", mkt)
check(all(is_int(f["tradeId"]) and is_dec(f["price"]) for f in mkt["fills"]), "fills types", mkt["fills"])
sell = client.new_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.002", newOrderRespType="RESULT")
check(sell["status"] == "FILLED" and "fills" not in sell, "MARKET sell RESULT", sell)


def refused(call, status, code, what, msg=None):
    try:
        r = call()
    except ClientError as e:
        check(e.status_code == status and e.error_code == code and (msg is None or e.error_message == msg), what, (e.status_code, e.error_code, e.error_message))
        return
    check(False, what, r)


refused(lambda: Spot(api_key=KEY, api_secret="wrong", base_url=HTTP).account(), 400, -1022, "bad signature -1022", "Signature for this request is not valid.")
refused(lambda: Spot(api_key="unknownkey", api_secret=SECRET, base_url=HTTP).account(), 401, -2015, "unknown key -2015")
refused(lambda: client.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.000001", price=far), 400, -1013, "LOT_SIZE -1013", "Filter failure: LOT_SIZE")
refused(lambda: client.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001", price="100.001"), 400, -1013, "PRICE_FILTER -1013", "Filter failure: PRICE_FILTER")
refused(lambda: client.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="5", price=far), 400, -2010, "insufficient balance -2010", "Account has insufficient balance for requested action.")
refused(lambda: client.cancel_order("BTCUSDT", orderId=987654), 400, -2011, "cancel unknown -2011", "Unknown order sent.")
refused(lambda: client.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.001", price=far), 400, -1102, "missing timeInForce -1102")

reports = lambda: [m for m in messages if m.get("e") == "executionReport"]
wait_for(lambda: {(r["i"], r["x"]) for r in reports()} >= {(oid, "NEW"), (oid, "CANCELED"), (mkt["orderId"], "TRADE")}, "executionReports NEW/CANCELED/TRADE by listenKey")
trade_r = next(r for r in reports() if r["i"] == mkt["orderId"] and r["x"] == "TRADE")
check(is_int(trade_r["t"]) and trade_r["t"] == mkt["fills"][0]["tradeId"] and is_dec(trade_r["L"]) and trade_r["N"] == "BTC", "executionReport TRADE fields", trade_r)
cancel_r = next(r for r in reports() if r["i"] == oid and r["x"] == "CANCELED")
check(cancel_r["C"] == placed["clientOrderId"] and cancel_r["c"] == canceled["clientOrderId"], "CANCELED c/C", cancel_r)
wait_for(lambda: any(m.get("e") == "outboundAccountPosition" for m in messages), "outboundAccountPosition")
wait_for(lambda: any(m.get("e") == "trade" and m.get("t") == mkt["fills"][0]["tradeId"] for m in messages), "trade stream carries our fill")
ws.stop()
check(client.close_listen_key(lk) == {}, "close_listen_key")
done("binance-connector 3.13.0")
