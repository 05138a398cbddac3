"""Aster's keyed side against the scripted loopback server: what is signed and sent, what the
answers become, and how an unanswered order is settled (by client order id, then a noop on the
same nonce). Every signed request is checked the way the venue checks it: its signature
recovers to the key over exactly the bytes received."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from perpcli.domain.errors import ErrorKind, UsageError, ValidationError
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.keys.nonces import MicrosecondNonceAllocator
from perpcli.keys.signer import Signer
from perpcli.venues.aster.adapter import AsterMarketData
from perpcli.venues.aster.rest import AsterRest
from perpcli.venues.base import AckStatus, CancelTarget, TradingOptions
from tests.aster_loopback import ScriptedAster

D = Decimal
KEY = "0x4fd0a42218f3eae43a6ce26d22544e986139a01e5b34a62db53757ffca81bae1"
SIGNER = Signer.from_hex(KEY)
MAIN = "0x63dd5acc6b1aa0f563956c0e534dd30b6dcf7c4e"
NOW_US = 1_780_000_000_000_000


def order_answer(status="NEW", executed="0", cloid="perp-1", oid=42, **extra):
    row = {"orderId": oid, "clientOrderId": cloid, "symbol": "BTCUSDT", "status": status, "price": "60000",
           "avgPrice": "60000" if executed != "0" else "0", "origQty": "0.010", "executedQty": executed,
           "cumQuote": "0", "timeInForce": "GTC", "type": "LIMIT", "origType": "LIMIT", "reduceOnly": False,
           "closePosition": False, "side": "BUY", "positionSide": "BOTH", "stopPrice": "0", "updateTime": 1}
    row.update(extra)
    return row


@pytest.fixture
def aster():
    with ScriptedAster() as server:
        yield server


def trading(server, *, options=None):
    md = AsterMarketData(server.url, venue="aster-devnet", network="testnet",
                         rest=AsterRest(server.url, sleep=lambda s: None), sleep=lambda s: None,
                         clock_ms=lambda: NOW_US // 1000)
    return md.trading(SIGNER, options=options, nonces=MicrosecondNonceAllocator(SIGNER.address,
                                                                                 clock_us=lambda: NOW_US))


def sent(server, path):
    return [(m, dict(parse_qsl(q or b or "", keep_blank_values=True))) for m, p, q, b in server.seen if p == path]


def limit(size="0.01", price="60000", **kw):
    return OrderIntent(venue="aster-devnet", symbol="BTC", side=kw.pop("side", Side.BUY), size=D(size),
                       price=D(price), cloid=kw.pop("cloid", "perp-1"), **kw)


def test_place_a_limit_order(aster):
    aster.routes["/fapi/v3/order"] = (200, order_answer(), {})
    t = trading(aster)
    (ack,) = t.submit([limit(tif=TimeInForce.ALO, reduce_only=True)])
    assert (ack.status, ack.oid, ack.cloid) == (AckStatus.RESTING, "42", "perp-1")
    ((method, params),) = sent(aster, "/fapi/v3/order")
    assert method == "POST"
    assert params["symbol"] == "BTCUSDT" and params["side"] == "BUY" and params["type"] == "LIMIT"
    assert params["timeInForce"] == "GTX" and params["price"] == "60000" and params["quantity"] == "0.01"
    assert params["reduceOnly"] == "true" and params["newClientOrderId"] == "perp-1"
    assert params["nonce"] == str(NOW_US) and params["user"].lower() == params["signer"].lower() == SIGNER.address
    assert aster.signed_by == [SIGNER.address]


def test_an_agent_key_trades_for_its_account(aster):
    aster.routes["/fapi/v3/order"] = (200, order_answer(), {})
    t = trading(aster, options=TradingOptions(account_override=MAIN))
    assert t.resolve_account().role == "agent" and t.account_address == MAIN
    t.submit([limit()])
    ((_, params),) = sent(aster, "/fapi/v3/order")
    assert params["user"].lower() == MAIN and params["signer"].lower() == SIGNER.address


def test_market_with_worst_price_is_an_ioc_limit_and_triggers_use_mark(aster):
    aster.routes["/fapi/v3/batchOrders"] = (200, [order_answer(status="FILLED", executed="0.010", cloid="a"),
                                                  {"code": -2021, "msg": "Order would immediately trigger."}], {})
    t = trading(aster)
    acks = t.submit([
        OrderIntent(venue="aster-devnet", symbol="BTC", side=Side.BUY, size=D("0.01"), order_type=OrderType.MARKET,
                    price=D("60600"), cloid="a"),
        OrderIntent(venue="aster-devnet", symbol="BTC", side=Side.SELL, size=D("0.01"),
                    order_type=OrderType.STOP_MARKET, trigger_price=D("58000"), reduce_only=True, cloid="b"),
    ])
    assert [a.status for a in acks] == [AckStatus.FILLED, AckStatus.REJECTED]
    assert acks[1].error_kind is ErrorKind.INVALID_TRIGGER
    ((_, params),) = sent(aster, "/fapi/v3/batchOrders")
    import json

    batch = json.loads(params["batchOrders"])
    assert batch[0]["type"] == "LIMIT" and batch[0]["timeInForce"] == "IOC" and batch[0]["price"] == "60600"
    assert batch[1]["type"] == "STOP_MARKET" and batch[1]["stopPrice"] == "58000"
    assert batch[1]["workingType"] == "MARK_PRICE" and batch[1]["reduceOnly"] == "true"


def test_order_rules_are_checked_before_signing(aster):
    t = trading(aster)
    with pytest.raises(ValidationError):
        t.prepare_orders([limit(price="60000.05")])  # tick 0.10
    with pytest.raises(ValidationError):
        t.prepare_orders([limit(size="0.0001")])  # lot 0.001
    with pytest.raises(ValidationError) as e:
        t.prepare_orders([limit(cloid=f"c{i}") for i in range(6)])
    assert e.value.rule == "batch-size"
    with pytest.raises(UsageError):
        t.prepare_orders([limit()], grouping="normalTpsl")
    assert aster.signed_by == []  # nothing was signed, nothing sent


def test_unanswered_order_found_by_client_id(aster):
    answers = {"POST": (503, {"code": -1000, "msg": "busy"}, {}), "GET": (200, order_answer(), {})}
    aster.routes["/fapi/v3/order"] = lambda q: answers["GET" if q else "POST"]
    (ack,) = trading(aster).submit([limit()])
    assert ack.status is AckStatus.RESTING and ack.oid == "42"
    lookups = [p for m, p in sent(aster, "/fapi/v3/order") if m == "GET"]
    assert lookups and lookups[0]["origClientOrderId"] == "perp-1"
    assert not sent(aster, "/fapi/v3/noop")


def test_unanswered_and_unknown_order_is_burned_with_a_noop(aster):
    answers = {"POST": (503, {"code": -1000, "msg": "busy"}, {}),
               "GET": (400, {"code": -2013, "msg": "Order does not exist."}, {})}
    aster.routes["/fapi/v3/order"] = lambda q: answers["GET" if q else "POST"]
    aster.routes["/fapi/v3/noop"] = (200, {"code": 200, "msg": "success"}, {})
    (ack,) = trading(aster).submit([limit()])
    assert ack.status is AckStatus.REJECTED and ack.error_kind is ErrorKind.NONCE and "not placed" in ack.error
    ((_, noop),) = sent(aster, "/fapi/v3/noop")
    ((_, original),) = [x for x in sent(aster, "/fapi/v3/order") if x[0] == "POST"]
    assert noop["nonce"] == original["nonce"]  # the same nonce: the original can never run now
    assert set(aster.signed_by) == {SIGNER.address}


def test_noop_refused_as_used_nonce_means_the_order_landed(aster):
    lookups = iter([(400, {"code": -2013, "msg": "Order does not exist."}, {})] * 3 + [(200, order_answer(), {})])
    aster.routes["/fapi/v3/order"] = lambda q: next(lookups) if q else (503, {"code": -1000, "msg": "busy"}, {})
    aster.routes["/fapi/v3/noop"] = (400, {"code": -4225, "msg": "Nonce Expired"}, {})
    (ack,) = trading(aster).submit([limit()])
    assert ack.status is AckStatus.RESTING


def test_cancel_modify_leverage_margin_and_dead_man_switch(aster):
    t = trading(aster)
    aster.routes["/fapi/v3/order"] = (200, order_answer(status="CANCELED"), {})
    result = t.cancel(CancelTarget("BTC", cloid="perp-1"))
    assert result.ok and result.oid == "42"
    assert sent(aster, "/fapi/v3/order")[-1] == ("DELETE", sent(aster, "/fapi/v3/order")[-1][1])
    assert sent(aster, "/fapi/v3/order")[-1][1]["origClientOrderId"] == "perp-1"
    aster.routes["/fapi/v3/order"] = (400, {"code": -2011, "msg": "Unknown order sent."}, {})
    assert t.cancel(CancelTarget("BTC", oid="7")).error_kind is ErrorKind.ORDER_NOT_FOUND
    aster.routes["/fapi/v3/order"] = (200, order_answer(price="60100"), {})
    ack = t.modify("42", limit(price="60100"))
    assert ack.status is AckStatus.RESTING
    method, params = sent(aster, "/fapi/v3/order")[-1]
    assert method == "PUT" and params["orderId"] == "42" and params["price"] == "60100"
    aster.routes["/fapi/v3/marginType"] = (400, {"code": -4046, "msg": "No need to change margin type."}, {})
    aster.routes["/fapi/v3/leverage"] = (200, {"leverage": 10, "maxNotionalValue": "1000000", "symbol": "BTCUSDT"},
                                         {})
    assert t.set_leverage("BTC", 10, cross=True).ok
    assert sent(aster, "/fapi/v3/marginType")[0][1]["marginType"] == "CROSSED"
    with pytest.raises(ValidationError):
        t.prepare_leverage("BTC", 500, cross=True)
    aster.routes["/fapi/v3/positionMargin"] = (200, {"amount": 5, "code": 200, "msg": "ok", "type": 2}, {})
    assert t.send(t.prepare_margin("BTC", D("-5"))).ok
    assert sent(aster, "/fapi/v3/positionMargin")[0][1]["type"] == "2"
    aster.routes["/fapi/v3/openOrders"] = (200, [order_answer(), order_answer(oid=43, cloid="x")], {})
    aster.routes["/fapi/v3/countdownCancelAll"] = (200, {"symbol": "BTCUSDT", "countdownTime": "60000"}, {})
    result = t.send(t.prepare_schedule_cancel(NOW_US // 1000 + 60_000))
    assert result.ok and result.detail["countdown_ms"] == 60_000
    ((_, armed),) = sent(aster, "/fapi/v3/countdownCancelAll")  # one symbol with open orders: one request
    assert armed["symbol"] == "BTCUSDT" and armed["countdownTime"] == "60000"
    assert "note" not in result.detail
    aster.routes["/fapi/v3/openOrders"] = (200, [], {})
    idle = t.send(t.prepare_schedule_cancel(NOW_US // 1000 + 60_000))
    assert idle.ok and "nothing was armed" in idle.detail["note"]  # said, not implied
    assert set(aster.signed_by) == {SIGNER.address}


def test_account_reads(aster):
    aster.routes["/fapi/v3/accountWithJoinMargin"] = (200, ACCOUNT_TOTALS, {})
    aster.routes["/fapi/v3/positionRisk"] = (200, [{"symbol": "BTCUSDT", "positionAmt": "0.010", "entryPrice": "60000",
                                                    "markPrice": "59000", "unRealizedProfit": "-10",
                                                    "liquidationPrice": "30000", "leverage": "10",
                                                    "marginType": "cross", "isolatedMargin": "0"}], {})
    aster.routes["/fapi/v3/openOrders"] = (200, [order_answer()], {})
    t = trading(aster)
    snap = t.account()
    assert snap.account_value == D(990) and snap.withdrawable == D(900) and len(snap.open_orders) == 1
    assert snap.margin_used == D(60) and [(b.asset, b.total) for b in snap.balances] == [("USDT", D(1000))]
    pos = t.positions()
    assert pos.positions[0].liquidation_price == D(30000) and pos.marks == {"BTCUSDT": D(59000)}
    assert t.leverage_setting("BTC").leverage == 10
    aster.routes["/fapi/v3/income"] = (200, [{"symbol": "BTCUSDT", "incomeType": "COMMISSION", "income": "-0.1",
                                              "asset": "USDT", "time": 5}], {})
    aster.routes["/fapi/v3/userTrades"] = (200, [{"symbol": "BTCUSDT", "id": 9, "orderId": 42, "side": "BUY",
                                                  "price": "60000", "qty": "0.010", "commission": "0.1",
                                                  "commissionAsset": "USDT", "time": 5, "maker": False}], {})
    (f,) = t.fills(since_ms=1)
    assert f.trade_id == 9 and f.oid == "42"
    aster.routes["/fapi/v3/order"] = (200, order_answer(), {})
    assert t.order_status(cloid="perp-1").oid == "42"
    aster.routes["/fapi/v3/order"] = (400, {"code": -2013, "msg": "Order does not exist."}, {})
    assert t.order_status(cloid="nope") is None


ACCOUNT_TOTALS = {"totalInitialMargin": "60", "totalMaintMargin": "3", "totalWalletBalance": "1000",
                  "totalUnrealizedProfit": "-10", "totalMarginBalance": "990", "availableBalance": "930",
                  "maxWithdrawAmount": "900",
                  "assets": [{"asset": "USDT", "walletBalance": "1000", "unrealizedProfit": "-10",
                              "marginBalance": "990", "maxWithdrawAmount": "900"},
                             {"asset": "BNB", "walletBalance": "0"}]}


def test_a_finished_order_is_found_in_a_fresh_process(aster):
    """A process that never saw the order finds it among the symbols the account touched,
    finished orders included (GET /order answers those too)."""
    aster.routes["/fapi/v3/openOrders"] = (200, [], {})
    aster.routes["/fapi/v3/positionRisk"] = (200, [], {})
    aster.routes["/fapi/v3/income"] = (200, [{"symbol": "ETHUSDT", "incomeType": "COMMISSION", "income": "-0.1",
                                              "time": 5, "tranId": 1}], {})
    aster.routes["/fapi/v3/order"] = (200, order_answer(status="CANCELED", symbol="ETHUSDT"), {})
    ack = trading(aster).order_status(oid="42")
    assert ack.status is AckStatus.CANCELED and ack.oid == "42" and ack.price == D(60000) and ack.size == D("0.010")
    ((_, asked),) = sent(aster, "/fapi/v3/order")
    assert asked["symbol"] == "ETHUSDT" and asked["orderId"] == "42"
    aster.routes["/fapi/v3/order"] = (200, order_answer(status="FILLED", executed="0.010"), {})
    assert trading(aster).order_status(cloid="perp-1").status is AckStatus.FILLED
    assert trading(aster).order_status(oid="not-a-number") is None


def test_order_history_is_each_changed_order_in_its_latest_state(aster):
    from perpcli.domain.orders import OrderStatus

    aster.routes["/fapi/v3/openOrders"] = (200, [order_answer(oid=7, cloid="a", updateTime=NOW_US // 1000)], {})
    aster.routes["/fapi/v3/positionRisk"] = (200, [], {})
    aster.routes["/fapi/v3/income"] = (200, [], {})
    aster.routes["/fapi/v3/allOrders"] = (200, [
        order_answer(oid=5, cloid="old", status="FILLED", executed="0.010", updateTime=100),
        order_answer(oid=6, cloid="b", status="CANCELED", updateTime=NOW_US // 1000 - 500),
        order_answer(oid=7, cloid="a", updateTime=NOW_US // 1000)], {})
    updates = trading(aster).order_updates_since(NOW_US // 1000 - 1000)
    assert [(u.order.oid, u.status) for u in updates] == [("6", OrderStatus.CANCELED), ("7", OrderStatus.OPEN)]
    assert [q["symbol"] for _, q in sent(aster, "/fapi/v3/allOrders")] == ["BTCUSDT"]


def test_funding_history_pairs_each_payment_with_its_rate_and_size(aster):
    hour = 3_600_000
    t0 = 1_780_000_000_000 // hour * hour
    aster.routes["/fapi/v3/income"] = (200, [
        {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE", "income": "-0.6", "asset": "USDT", "time": t0 + 3,
         "tranId": 1},
        {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE", "income": "0.3", "asset": "USDT", "time": t0 + 8 * hour,
         "tranId": 2}], {})
    aster.routes["/fapi/v3/fundingRate"] = (200, [
        {"symbol": "BTCUSDT", "fundingRate": "0.0001", "fundingTime": t0, "markPrice": "60000"},
        {"symbol": "BTCUSDT", "fundingRate": "-0.00005", "fundingTime": t0 + 8 * hour}], {})
    aster.routes["/fapi/v3/klines"] = (200, [[t0 + 8 * hour, "60000.0", "60010", "59990", "60005", "1", t0 + 9 * hour - 1,
                                              "1", 1, "1", "1", "0"]], {})
    first, second = trading(aster).funding_history(t0 - hour)
    assert (first.amount, first.rate, first.position_size, first.time_ms) == (D("-0.6"), D("0.0001"), D("0.1"), t0 + 3)
    # no markPrice in the row: the 1h candle opening at the funding time prices it
    assert (second.amount, second.rate, second.position_size) == (D("0.3"), D("-0.00005"), D("0.1"))
    ((_, asked),) = sent(aster, "/fapi/v3/income")
    assert asked["incomeType"] == "FUNDING_FEE" and asked["startTime"] == str(t0 - hour)


def test_agent_list(aster):
    aster.routes["/fapi/v3/agent"] = (200, [{"agentAddress": "0x2610D3935A008036AF0AE12D014C8904b75fC5E9",
                                             "agentName": "bot", "ipWhitelist": "", "expired": 1867945395040,
                                             "canPerpTrade": True, "canWithdraw": False}], {})
    (agent,) = trading(aster).agents()
    assert (agent.name, agent.address, agent.valid_until_ms) == (
        "bot", "0x2610d3935a008036af0ae12d014c8904b75fc5e9", 1867945395040)


def test_agent_approval_is_signed_by_the_main_key_on_chain_56(aster):
    aster.routes["/fapi/v3/registerAndApproveAgent"] = (200, {"code": 200, "msg": "success"}, {})
    t = trading(aster)
    agent = "0x" + "22" * 20
    result = t.send(t.prepare_approve_agent(agent, "bot", valid_until_ms=1_798_761_600_000))
    assert result.ok
    ((_, params),) = sent(aster, "/fapi/v3/registerAndApproveAgent")
    assert params["agentAddress"].lower() == agent and params["signatureChainId"] == "56"
    assert params["canWithdraw"] == "false" and params["canPerpTrade"] == "true"
    assert aster.signed_by == [SIGNER.address]
    with pytest.raises(UsageError):
        trading(aster, options=TradingOptions(account_override=MAIN)).prepare_approve_agent(agent, "x")


def test_perp_buy_and_account_through_the_cli(aster, capsys, monkeypatch):
    import json

    from tests.support import invoke

    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", KEY)
    aster.routes["/fapi/v3/order"] = lambda q: (200, order_answer(), {})
    aster.routes["/fapi/v3/accountWithJoinMargin"] = (200, {"totalMarginBalance": "1000", "maxWithdrawAmount": "1000",
                                                            "totalInitialMargin": "0",
                                                            "assets": [{"asset": "USDT", "walletBalance": "1000"}]}, {})
    aster.routes["/fapi/v3/positionRisk"] = (200, [], {})
    aster.routes["/fapi/v3/openOrders"] = (200, [], {})
    aster.routes["/fapi/v3/leverageBracket"] = (200, [{"symbol": "BTCUSDT", "brackets": [  # a keyed preview reads it
        {"bracket": "1", "initialLeverage": "20", "notionalCap": "1000000", "notionalFloor": "0",
         "maintMarginRatio": "0.025", "cum": "0"}]}], {})
    base = ["--venue", "aster", "--url", aster.url, "--network", "testnet", "--json"]
    r = invoke([*base, "--yes", "buy", "BTC", "0.01", "--limit", "60000"], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["status"] == "resting" and out["oid"] == "42" and out["market"] == "BTCUSDT"
    ((_, params),) = [x for x in sent(aster, "/fapi/v3/order") if x[0] == "POST"]
    assert params["price"] == "60000" and params["quantity"] == "0.01" and params["newClientOrderId"]
    r = invoke([*base, "account"], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    assert json.loads(r.out)["equity"] == "1000"
    assert set(aster.signed_by) == {SIGNER.address}


# --- the account stream: listenKey, keepalive, re-creation on expiry -----------------------------

ORDER_UPDATE = ('{"e": "ORDER_TRADE_UPDATE", "E": 1568879465651, "T": 1568879465650, "o": {"s": "BTCUSDT",'
                ' "c": "perp-7", "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.002", "p": "60000", "ap": "60000",'
                ' "sp": "0", "x": "TRADE", "X": "FILLED", "i": %d, "l": "0.002", "z": "0.002", "L": "60000",'
                ' "N": "USDT", "n": "0.04", "T": 1568879465650, "t": %d, "m": false, "R": false, "ot": "LIMIT",'
                ' "ps": "BOTH", "cp": false, "rp": "0"}}')


@pytest.mark.timeout(60)
async def test_account_stream_follows_the_listen_key_and_recreates_it(aster):
    import asyncio

    from websockets.asyncio.server import serve

    from perpcli.domain.events import Fill, OrderUpdate

    keys = iter(["key1", "key2"])
    aster.routes["/fapi/v3/listenKey"] = lambda q: (200, {"listenKey": next(keys, "key2")}, {})
    paths = []

    async def handler(ws):
        paths.append(ws.request.path)
        if ws.request.path == "/ws/key1":
            await ws.send(ORDER_UPDATE % (1, 11))
            await ws.send(ORDER_UPDATE % (1, 11))  # a repeat is delivered once
            await asyncio.sleep(0.2)
            await ws.send('{"e": "listenKeyExpired", "E": 1576653824250}')
        else:
            await ws.send(ORDER_UPDATE % (2, 22))
        await ws.wait_closed()  # held open until the client (or the server's close) ends it

    server = await serve(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    t = trading(aster)
    t.market.ws_url = f"ws://127.0.0.1:{port}"
    t.listen_key_keepalive_s = 0.1
    events = []
    stream = t.stream_account()
    try:
        async with asyncio.timeout(20):
            async for event in stream:
                if isinstance(event, OrderUpdate | Fill):
                    events.append(event)
                if sum(isinstance(e, Fill) for e in events) == 2:
                    break
    finally:
        await stream.aclose()
        server.close()
        await server.wait_closed()
    fills = [e for e in events if isinstance(e, Fill)]
    assert [f.trade_id for f in fills] == [11, 22] and fills[0].price == D(60000)
    assert paths == ["/ws/key1", "/ws/key2"]
    methods = [m for m, p, _, _ in aster.seen if p == "/fapi/v3/listenKey"]
    assert methods.count("POST") == 2 and "PUT" in methods  # created twice, kept alive meanwhile
    assert set(aster.signed_by) == {SIGNER.address}


def test_a_close_position_exit_sends_closeposition_without_a_size(aster):
    """An OCO leg (app/algos/oco.py): it closes whatever position is held when it fires."""
    aster.routes["/fapi/v3/order"] = (200, order_answer(), {})
    t = trading(aster)
    t.submit([OrderIntent(venue="aster-devnet", symbol="BTC", side=Side.SELL, size=D("0.01"),
                          order_type=OrderType.TAKE_PROFIT_MARKET, price=D("54000"), trigger_price=D("62000"),
                          reduce_only=True, cloid="tp-1", close_position=True)])
    ((_, params),) = sent(aster, "/fapi/v3/order")
    assert params["type"] == "TAKE_PROFIT_MARKET" and params["stopPrice"] == "62000"
    assert params["closePosition"] == "true" and "quantity" not in params and "reduceOnly" not in params


def test_order_status_with_a_market_finds_a_finished_order(aster):
    aster.routes["/fapi/v3/order"] = (200, order_answer(status="FILLED", executed="0.010", cloid="tp-1"), {})
    t = trading(aster)
    ack = t.order_status(cloid="tp-1", market="BTC")
    assert ack.status is AckStatus.FILLED and ack.filled == D("0.010")
    ((method, params),) = sent(aster, "/fapi/v3/order")
    assert method == "GET" and params["origClientOrderId"] == "tp-1" and params["symbol"] == "BTCUSDT"
