"""binance-sdk-spot 13.3.0 (current official client) against the simulator: REST into strict typed
models, combined market streams over bare /stream, the WebSocket API, and user data through
userDataStream.subscribe.signature."""

import asyncio

from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketAPI, ConfigurationWebSocketStreams
from binance_common.errors import BadRequestError, ClientError, UnauthorizedError
from binance_sdk_spot.spot import Spot

from common import HTTP, KEY, SECRET, WS, check, done, is_dec, is_int

rest_cfg = ConfigurationRestAPI(api_key=KEY, api_secret=SECRET, base_path=HTTP)
client = Spot(
    config_rest_api=rest_cfg,
    config_ws_api=ConfigurationWebSocketAPI(api_key=KEY, api_secret=SECRET, stream_url=f"{WS}/ws-api/v3"),
    config_ws_streams=ConfigurationWebSocketStreams(stream_url=WS),
)
rest = client.rest_api

# REST: every typed model must come back filled (a JSON type unlike Binance's would lose it).
check(rest.ping().status == 200, "ping")
check(is_int(rest.time().data().server_time), "time")
info = rest.exchange_info(symbol="BTCUSDT").data()
check(info.symbols[0].symbol == "BTCUSDT" and len(info.symbols[0].filters) >= 4, "exchange_info typed", info.symbols[0])
depth = rest.depth(symbol="BTCUSDT", limit=5).data()
check(is_int(depth.last_update_id) and len(depth.bids) == 5, "depth typed", depth)
t24 = rest.ticker24hr(symbol="BTCUSDT").data()
t24 = t24.actual_instance if hasattr(t24, "actual_instance") else t24
check(is_dec(t24.last_price) and is_int(t24.count), "ticker24hr typed", t24)
bt = rest.ticker_book_ticker(symbol="BTCUSDT").data()
bt = bt.actual_instance if hasattr(bt, "actual_instance") else bt
check(is_dec(bt.bid_price) and is_dec(bt.ask_qty), "ticker_book_ticker typed", bt)
acct = rest.get_account().data()
check(acct.can_trade is True and any(b.asset == "USDT" for b in acct.balances), "get_account typed", acct)

bid = float(bt.bid_price)
far = round(bid * 0.97, 2)
new = rest.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.001, price=far).data()
check(new.status == "NEW" and is_int(new.order_id) and new.fills == [], "new_order LIMIT typed", new)
got = rest.get_order(symbol="BTCUSDT", order_id=new.order_id).data()
check(got.status == "NEW" and got.is_working is True, "get_order typed", got)
opens = rest.get_open_orders(symbol="BTCUSDT").data()
check(any(o.order_id == new.order_id for o in opens), "get_open_orders typed", opens)
gone = rest.delete_order(symbol="BTCUSDT", order_id=new.order_id).data()
check(gone.status == "CANCELED" and gone.orig_client_order_id == new.client_order_id, "delete_order typed", gone)
mkt = rest.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.001).data()
check(mkt.status == "FILLED" and mkt.fills and is_int(mkt.fills[0].trade_id), "new_order MARKET typed fills", mkt)

try:
    Spot(config_rest_api=ConfigurationRestAPI(api_key=KEY, api_secret="wrong", base_path=HTTP)).rest_api.get_account()
    check(False, "bad signature refused")
except (BadRequestError, ClientError, UnauthorizedError) as e:
    check("-1022" in str(e) or "Signature for this request is not valid" in str(e), "bad signature -1022 reaches the caller", str(e))
try:
    rest.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.0001, price=int(far) + 0.125)
    check(False, "PRICE_FILTER refused")
except (BadRequestError, ClientError) as e:
    check("Filter failure: PRICE_FILTER" in str(e), "PRICE_FILTER -1013 reaches the caller", str(e))


async def streams_and_ws_api():
    # Market streams: bare /stream, SUBSCRIBE with UUID ids, wrapped frames.
    conn = await client.websocket_streams.create_connection()
    trades, tickers, depths = [], [], []
    (await conn.trade(symbol="btcusdt")).on("message", trades.append)
    (await conn.book_ticker(symbol="btcusdt")).on("message", tickers.append)
    (await conn.diff_book_depth(symbol="btcusdt", update_speed="100ms")).on("message", depths.append)
    for _ in range(100):
        if trades and tickers and depths:
            break
        await asyncio.sleep(0.1)
    check(trades and is_int(trades[0].t) and is_dec(trades[0].p) and isinstance(trades[0].m, bool), "trade stream typed", trades[:1])
    check(tickers and is_int(tickers[0].u) and is_dec(tickers[0].b), "bookTicker stream typed", tickers[:1])
    check(depths and is_int(depths[0].U) and depths[0].u >= depths[0].U, "depth@100ms stream typed", depths[:1])
    await conn.close_connection(close_session=True)

    # WebSocket API: HMAC-signed requests, user data by subscribe.signature.
    api = await client.websocket_api.create_connection()
    status = (await api.account_status()).data().result
    check(status.can_trade is True, "account.status typed", status)
    sub = await api.user_data_stream_subscribe_signature()
    sub_result = sub.response.data().result
    check(is_int(sub_result.subscription_id), "userDataStream.subscribe.signature subscriptionId", sub_result)
    events = []
    sub.stream.on("message", lambda e: events.append(e.actual_instance if hasattr(e, "actual_instance") else e))
    placed = (await api.order_place(symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.001, price=far)).data().result
    check(placed.status == "NEW", "order.place typed", placed)
    st = (await api.order_status(symbol="BTCUSDT", order_id=placed.order_id)).data().result
    check(st.status == "NEW", "order.status typed", st)
    oo = (await api.open_orders_status(symbol="BTCUSDT")).data().result
    check(any(o.order_id == placed.order_id for o in oo), "openOrders.status typed", oo)
    cancel = (await api.order_cancel(symbol="BTCUSDT", order_id=placed.order_id)).data().result
    check(cancel.status == "CANCELED", "order.cancel typed", cancel)
    filled = (await api.order_place(symbol="BTCUSDT", side="SELL", type="MARKET", quantity=0.001)).data().result
    check(filled.status == "FILLED" and filled.fills, "order.place MARKET typed", filled)
    for _ in range(50):
        kinds = {(getattr(e, "i", None), getattr(e, "x", None)) for e in events}
        if {(placed.order_id, "NEW"), (placed.order_id, "CANCELED"), (filled.order_id, "TRADE")} <= kinds:
            break
        await asyncio.sleep(0.1)
    check({(placed.order_id, "NEW"), (placed.order_id, "CANCELED"), (filled.order_id, "TRADE")} <= kinds, "user data executionReports typed", events[:3])
    trade = next(e for e in events if getattr(e, "x", None) == "TRADE" and e.i == filled.order_id)
    check(trade.t == filled.fills[0].trade_id and trade.N == "USDT", "executionReport TRADE t/N", trade)
    check(any(type(e).__name__ == "OutboundAccountPosition" for e in events), "outboundAccountPosition typed", [type(e).__name__ for e in events])
    await api.close_connection(close_session=True)


asyncio.run(streams_and_ws_api())
done("binance-sdk-spot 13.3.0")
