"""The devnet's HTTP and websocket faces, end to end on a free loopback port.

Signed with perpcli's own signing code; checks shapes, exact error strings, security (wrong
key, replayed nonce, agents, expiresAfter, vaults), websocket channels and privacy routing.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from perpcli.devnet.server import DevnetConfig, start_in_thread
from perpcli.venues.hyperliquid import actions
from tests.devnet_helpers import (
    KEY_A,
    KEY_AGENT,
    KEY_B,
    KEY_STRANGER,
    NONCES,
    Http,
    address,
    first_look,
    limit_order,
    signed_l1,
    signed_user,
    wait_for,
)

pytestmark = pytest.mark.timeout(60)

A = address(KEY_A)
B = address(KEY_B)
AGENT = address(KEY_AGENT)
STRANGER = address(KEY_STRANGER)
BTC = 0
DESERIALIZE = "Failed to deserialize the JSON body into the target type: "


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    first_look(handle.url, A, B)  # what a client reads first; funds both (auto-fund)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def closed_devnet():
    """auto-fund off: only funded addresses exist, as on the venue."""
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, auto_fund=False, tick_interval=0.05))
    yield handle
    handle.stop()


@pytest.fixture()
def http(devnet):
    client = Http(devnet.url)
    yield client
    client.close()


def ws_recv_json(ws, timeout=3.0):
    """Next JSON frame (skipping the greeting)."""
    while True:
        msg = ws.recv(timeout=timeout)
        if msg == "Websocket connection established.":
            continue
        return json.loads(msg)


def ws_until(ws, predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no matching ws frame")
        msg = ws_recv_json(ws, timeout=left)
        if predicate(msg):
            return msg


# -- /info ---------------------------------------------------------------------------------------


def test_info_market_shapes(http):
    meta = http.info({"type": "meta", "dex": ""})
    names = [u["name"] for u in meta["universe"]]
    assert names[0] == "BTC" and meta["universe"][0]["szDecimals"] == 5
    assert isinstance(meta["marginTables"], list) and meta["collateralToken"] == 0
    meta_ctx = http.info({"type": "metaAndAssetCtxs"})
    assert len(meta_ctx) == 2 and len(meta_ctx[1]) == len(meta_ctx[0]["universe"])
    ctx = meta_ctx[1][0]
    assert set(ctx) >= {"funding", "openInterest", "oraclePx", "markPx", "midPx", "impactPxs", "premium", "prevDayPx"}
    assert Decimal(ctx["markPx"]) > 0 and isinstance(ctx["markPx"], str)
    dexs = http.info({"type": "perpDexs"})
    assert dexs[0] is None and dexs[1]["name"] == "xyz"
    xyz = http.info({"type": "meta", "dex": "xyz"})
    assert all(u["name"].startswith("xyz:") for u in xyz["universe"])
    assert http.info({"type": "meta", "dex": "nope"}) is None
    spot = http.info({"type": "spotMeta"})
    assert spot["tokens"][0]["name"] == "USDC" and spot["universe"][0]["name"] == "PURR/USDC"
    smc = http.info({"type": "spotMetaAndAssetCtxs"})
    assert len(smc[1]) == len(smc[0]["universe"])
    mids = http.info({"type": "allMids"})
    assert isinstance(mids, dict) and all(isinstance(v, str) for v in mids.values())
    book = http.info({"type": "l2Book", "coin": "BTC"})
    assert book["coin"] == "BTC" and len(book["levels"]) == 2 and isinstance(book["time"], int)


def test_info_unknown_user_is_empty_not_an_error(http):
    nobody = "0x" + "00" * 19 + "01"
    assert http.info({"type": "openOrders", "user": nobody}) == []
    assert http.info({"type": "userFills", "user": nobody}) == []
    assert http.info({"type": "orderStatus", "user": nobody, "oid": 1}) == {"status": "unknownOid"}
    # Reading those lists creates nothing; the address's own state is what funds it (below).
    assert http.info({"type": "userRole", "user": nobody}) == {"role": "user"}


def test_user_funding_and_ledger_start_time_is_optional(http):
    http.info({"type": "userRole", "user": A})
    rows = http.info({"type": "userNonFundingLedgerUpdates", "user": A})
    assert rows and rows[0]["delta"]["type"] == "deposit"
    assert rows == http.info({"type": "userNonFundingLedgerUpdates", "user": A, "startTime": 0})
    assert isinstance(http.info({"type": "userFunding", "user": A}), list)
    assert isinstance(http.info({"type": "userFunding", "user": A, "endTime": None}), list)


@pytest.mark.parametrize("extra", [{"nSigFigs": 4, "mantissa": 2}, {"nSigFigs": 5, "mantissa": 3}, {"mantissa": 5}])
def test_l2_book_mantissa_needs_five_sig_figs(http, extra):
    status, ctype, _ = http.post_raw("/info", json.dumps({"type": "l2Book", "coin": "BTC", **extra}).encode())
    assert status == 422 and ctype.startswith("text/plain")


def test_l2_book_mantissa_groups_levels(http):
    for px in ("91001", "91003"):
        assert http.post("/exchange", signed_l1(KEY_B, limit_order(BTC, False, px, "0.001")))["status"] == "ok"
    book = http.info({"type": "l2Book", "coin": "BTC", "nSigFigs": 5, "mantissa": 5})
    asks = [(lv["px"], lv["n"]) for lv in book["levels"][1] if lv["px"].startswith("910")]
    assert asks == [("91005.0", 2)]


def test_unknown_user_role_is_missing_without_auto_fund(closed_devnet):
    http = Http(closed_devnet.url)
    try:
        nobody = "0x" + "00" * 19 + "02"
        assert http.info({"type": "userRole", "user": nobody}) == {"role": "missing"}
        state = http.info({"type": "clearinghouseState", "user": nobody})
        assert state["marginSummary"]["accountValue"] == "0.0"
        assert http.info({"type": "userRole", "user": nobody}) == {"role": "missing"}
    finally:
        http.close()


@pytest.mark.parametrize("is_mainnet", [False, True], ids=["default", "mainnet"])
def test_auto_fund_never_turns_a_bad_signature_into_an_account(is_mainnet):
    """A tampered action or one signed for the other network recovers a random address: the
    venue answers "does not exist", and so must an auto-funding devnet."""
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, is_mainnet=is_mainnet))
    http = Http(handle.url)
    try:
        assert http.info({"type": "userRole", "user": A}) == {"role": "user"}  # first look funds A
        good = signed_l1(KEY_A, limit_order(BTC, True, "50000", "0.001"), is_mainnet=is_mainnet)
        tampered = json.loads(json.dumps(good))
        tampered["action"]["orders"][0]["p"] = "50001"
        other_net = signed_l1(KEY_A, actions.noop_action(), is_mainnet=not is_mainnet)
        for bad in (tampered, other_net):
            res = http.post("/exchange", bad)
            assert res["status"] == "err", res
            msg = res["response"]
            assert msg.startswith("User or API Wallet 0x") and msg.endswith(" does not exist.") and A not in msg
            ghost = msg[len("User or API Wallet ") : -len(" does not exist.")]
            assert http.info({"type": "userRole", "user": A}) == {"role": "user"}
            assert http.info({"type": "openOrders", "user": ghost}) == []
        # a signer never seen at all is refused too, auto-fund or not, until it looks at itself
        res = http.post("/exchange", signed_l1(KEY_STRANGER, actions.noop_action(), is_mainnet=is_mainnet))
        assert res == {"status": "err", "response": f"User or API Wallet {STRANGER} does not exist."}
        send = actions.usd_send_action(A, Decimal(1), time_ms=NONCES.next())
        res = http.post("/exchange", signed_user(KEY_STRANGER, send, is_mainnet=is_mainnet))
        assert res == {"status": "err", "response": f"Must deposit before performing actions. User: {STRANGER}"}
        assert http.post("/exchange", good)["status"] == "ok"
    finally:
        http.close()
        handle.stop()


def test_schedule_cancel_needs_the_venues_traded_volume_by_default(http):
    soon = int(time.time() * 1000) + 60_000
    res = http.post("/exchange", signed_l1(KEY_A, actions.schedule_cancel_action(soon)))
    assert res == {
        "status": "err",
        "response": "Cannot set scheduled cancel time until enough volume traded. Required: $1000000.",
    }


def test_auto_fund_on_first_look_and_recipients_hold_what_was_sent():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, initial_balance=Decimal(1000)))
    http = Http(handle.url)
    try:
        recipient = "0x" + "5e" * 20
        state = http.info({"type": "clearinghouseState", "user": A})
        assert state["marginSummary"]["accountValue"] == "1000.0"
        send = actions.usd_send_action(recipient, Decimal(1), time_ms=NONCES.next())
        assert http.post("/exchange", signed_user(KEY_A, send))["status"] == "ok"
        for kind in ("userRole", "clearinghouseState", "spotClearinghouseState"):
            http.info({"type": kind, "user": recipient})  # already exists: reading funds nothing
        state = http.info({"type": "clearinghouseState", "user": recipient})
        assert state["marginSummary"]["accountValue"] == "1.0"
        spot_first = "0x" + "5f" * 20
        assert http.info({"type": "spotClearinghouseState", "user": spot_first}) == {"balances": []}
        assert http.info({"type": "clearinghouseState", "user": spot_first})["withdrawable"] == "1000.0"
        ws_first = "0x" + "60" * 20
        with connect(handle.ws_url) as ws:
            ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "webData2", "user": ws_first}}))
            msg = ws_until(ws, lambda m: m.get("channel") == "webData2")
            assert msg["data"]["clearinghouseState"]["marginSummary"]["accountValue"] == "1000.0"
        # an approved agent exists already: looking at it funds nothing and it stays an agent
        approve = actions.approve_agent_action(AGENT, nonce=NONCES.next(), agent_name="")
        assert http.post("/exchange", signed_user(KEY_A, approve))["status"] == "ok"
        state = http.info({"type": "clearinghouseState", "user": AGENT})
        assert state["marginSummary"]["accountValue"] == "0.0"
        assert http.info({"type": "userRole", "user": AGENT}) == {"role": "agent", "data": {"user": A}}
    finally:
        http.close()
        handle.stop()


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"type":"noSuchThing"}',
        b'{"type":"clearinghouseState"}',
        b'{"type":"l2Book","coin":5}',
        b'{"type":"candleSnapshot","req":{"coin":"BTC","interval":"7m","startTime":0}}',
    ],
)
def test_info_malformed_body_is_422_text(http, body):
    status, ctype, data = http.post_raw("/info", body)
    assert status == 422
    assert ctype.startswith("text/plain")
    assert data.decode().startswith(DESERIALIZE)


def test_exchange_malformed_body_is_422_text(http):
    status, ctype, data = http.post_raw("/exchange", b'{"action":{"type":"order"},"nonce":1}')
    assert status == 422 and data.decode().startswith(DESERIALIZE)
    status, _, data = http.post_raw("/exchange", json.dumps({"action": {"type": "bogus"}, "nonce": 1,
                                                             "signature": {"r": "0x1", "s": "0x1", "v": 27}}).encode())
    assert status == 422 and data.decode().startswith(DESERIALIZE)


def test_unknown_path_and_method(http):
    status, _, _ = http.post_raw("/nope", b"{}")
    assert status == 404


# -- trading round trip ---------------------------------------------------------------------------


def test_order_rests_then_fills_with_venue_shapes(http):
    cloid = "0x" + "ab" * 16
    res = http.post("/exchange", signed_l1(KEY_A, limit_order(BTC, True, "90000", "0.001", cloid=cloid)))
    assert res["status"] == "ok" and res["response"]["type"] == "order"
    (status,) = res["response"]["data"]["statuses"]
    assert set(status) == {"resting"} and status["resting"]["cloid"] == cloid
    oid = status["resting"]["oid"]

    orders = http.info({"type": "openOrders", "user": A})
    row = next(o for o in orders if o["oid"] == oid)
    assert row["coin"] == "BTC" and row["side"] == "B" and row["limitPx"] == "90000.0" and row["sz"] == "0.001"
    front = http.info({"type": "frontendOpenOrders", "user": A})
    assert next(o for o in front if o["oid"] == oid)["orderType"] == "Limit"
    by_cloid = http.info({"type": "orderStatus", "user": A, "oid": cloid})
    assert by_cloid["status"] == "order" and by_cloid["order"]["status"] == "open"

    res = http.post("/exchange", signed_l1(KEY_B, limit_order(BTC, False, "90000", "0.001", tif="Ioc")))
    (filled,) = res["response"]["data"]["statuses"]
    assert filled["filled"]["totalSz"] == "0.001" and filled["filled"]["avgPx"] == "90000.0"

    fills_a = http.info({"type": "userFills", "user": A})
    assert fills_a[0]["oid"] == oid and fills_a[0]["side"] == "B" and fills_a[0]["crossed"] is False
    assert fills_a[0]["px"] == "90000.0" and fills_a[0]["cloid"] == cloid
    state = http.info({"type": "clearinghouseState", "user": A})
    pos = next(p["position"] for p in state["assetPositions"] if p["position"]["coin"] == "BTC")
    assert Decimal(pos["szi"]) >= Decimal("0.001")
    assert http.info({"type": "orderStatus", "user": A, "oid": oid})["order"]["status"] == "filled"
    trades = http.info({"type": "recentTrades", "coin": "BTC"})
    assert trades[0]["px"] == "90000.0" and trades[0]["users"] == [A, B]


def test_cancel_modify_leverage_and_errors(http):
    res = http.post("/exchange", signed_l1(KEY_A, limit_order(BTC, True, "80000", "0.001")))
    oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
    new_order = actions.OrderSpec(BTC, True, Decimal("80001"), Decimal("0.002"))
    res = http.post("/exchange", signed_l1(KEY_A, actions.batch_modify_action([(oid, new_order)])))
    assert res["status"] == "ok" and res["response"]["type"] == "order"
    new_oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert new_oid != oid  # a modify re-issues the oid, as on the venue
    res = http.post("/exchange", signed_l1(KEY_A, actions.cancel_action([(BTC, new_oid)])))
    assert res == {"status": "ok", "response": {"type": "cancel", "data": {"statuses": ["success"]}}}
    res = http.post("/exchange", signed_l1(KEY_A, actions.cancel_action([(BTC, new_oid)])))
    assert res["response"]["data"]["statuses"] == [{"error": "Order was never placed, already canceled, or filled."}]

    res = http.post("/exchange", signed_l1(KEY_A, actions.update_leverage_action(2, 7, is_cross=False)))
    assert res == {"status": "ok", "response": {"type": "default"}}
    data = http.info({"type": "activeAssetData", "user": A, "coin": "SOL"})
    assert data["leverage"]["type"] == "isolated" and data["leverage"]["value"] == 7
    res = http.post("/exchange", signed_l1(KEY_A, actions.update_leverage_action(BTC, 1000, is_cross=True)))
    assert res["status"] == "err"

    res = http.post("/exchange", signed_l1(KEY_A, limit_order(BTC, True, "80000", "0.00001")))
    assert res["response"]["data"]["statuses"] == [{"error": "Order must have minimum value of $10."}]
    res = http.post("/exchange", signed_l1(KEY_A, actions.noop_action()))
    assert res == {"status": "ok", "response": {"type": "default"}}


def test_transfers_and_user_signed_actions(http):
    before = Decimal(http.info({"type": "clearinghouseState", "user": B})["withdrawable"])
    action = actions.usd_send_action(B, Decimal("12.5"), time_ms=NONCES.next())
    assert http.post("/exchange", signed_user(KEY_A, action)) == {"status": "ok", "response": {"type": "default"}}
    after = Decimal(http.info({"type": "clearinghouseState", "user": B})["withdrawable"])
    assert after - before == Decimal("12.5")
    action = actions.usd_class_transfer_action(Decimal(5), to_perp=False, nonce=NONCES.next())
    assert http.post("/exchange", signed_user(KEY_A, action))["status"] == "ok"
    spot = http.info({"type": "spotClearinghouseState", "user": A})
    assert any(b["coin"] == "USDC" and Decimal(b["total"]) >= 5 for b in spot["balances"])


def test_user_signed_for_the_other_network_is_refused(http):
    action = actions.usd_send_action(B, Decimal(1), time_ms=NONCES.next())
    res = http.post("/exchange", signed_user(KEY_A, action, is_mainnet=True))
    assert res["status"] == "err"


# -- security ---------------------------------------------------------------------------------------


def test_replayed_nonce_is_refused(http):
    body = signed_l1(KEY_A, limit_order(BTC, True, "70000", "0.001"))
    assert http.post("/exchange", body)["status"] == "ok"
    res = http.post("/exchange", body)
    assert res == {"status": "err", "response": f"Invalid nonce: duplicate nonce {body['nonce']}"}


def test_nonce_time_bounds(http):
    now = time.time_ns() // 1_000_000
    res = http.post("/exchange", signed_l1(KEY_A, actions.noop_action(), nonce=now - 3 * 86_400_000))
    assert res["status"] == "err" and res["response"].startswith("Invalid nonce")
    res = http.post("/exchange", signed_l1(KEY_A, actions.noop_action(), nonce=now + 2 * 86_400_000))
    assert res["status"] == "err" and res["response"].startswith("Invalid nonce")


def test_expires_after(http):
    now = time.time_ns() // 1_000_000
    res = http.post("/exchange", signed_l1(KEY_A, actions.noop_action(), expires_after=now - 1000))
    assert res["status"] == "err"
    res = http.post("/exchange", signed_l1(KEY_A, actions.noop_action(), expires_after=now + 60_000))
    assert res["status"] == "ok"


def test_vault_address_that_is_not_yours_is_refused(http):
    res = http.post("/exchange", signed_l1(KEY_A, actions.noop_action(), vault=B))
    assert res == {"status": "err", "response": "Vault may not perform this action."}


def test_agent_trades_for_master_but_cannot_move_money(http):
    approve = actions.approve_agent_action(AGENT, nonce=NONCES.next(), agent_name="bot")
    assert http.post("/exchange", signed_user(KEY_A, approve))["status"] == "ok"
    assert http.info({"type": "userRole", "user": AGENT}) == {"role": "agent", "data": {"user": A}}
    agents = http.info({"type": "extraAgents", "user": A})
    assert any(a["address"] == AGENT and a["name"] == "bot" for a in agents)

    res = http.post("/exchange", signed_l1(KEY_AGENT, limit_order(BTC, True, "60000", "0.001")))
    oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert any(o["oid"] == oid for o in http.info({"type": "openOrders", "user": A}))
    assert http.info({"type": "openOrders", "user": AGENT}) == []  # reads by agent address are empty

    withdraw = actions.withdraw3_action(AGENT, Decimal(10), time_ms=NONCES.next())
    res = http.post("/exchange", signed_user(KEY_AGENT, withdraw))
    assert res == {"status": "err", "response": f"Must deposit before performing actions. User: {AGENT}"}
    send = actions.usd_send_action(AGENT, Decimal(10), time_ms=NONCES.next())
    res = http.post("/exchange", signed_user(KEY_AGENT, send))
    assert res == {"status": "err", "response": f"Must deposit before performing actions. User: {AGENT}"}


def test_wrong_key_and_unknown_signer_are_refused(closed_devnet):
    http = Http(closed_devnet.url)
    try:
        assert http.control("fund", {"user": A, "amount": "1000"})["status"] == "ok"
        good = signed_l1(KEY_A, limit_order(BTC, True, "50000", "0.001"))
        tampered = json.loads(json.dumps(good))
        tampered["action"]["orders"][0]["p"] = "50001"  # signed one thing, sent another
        res = http.post("/exchange", tampered)
        assert res["status"] == "err"
        msg = res["response"]
        assert msg.startswith("User or API Wallet 0x") and msg.endswith(" does not exist.")
        assert A not in msg
        res = http.post("/exchange", signed_l1(KEY_STRANGER, actions.noop_action()))
        assert res == {"status": "err", "response": f"User or API Wallet {STRANGER} does not exist."}
        res = http.post("/exchange", good)
        assert res["status"] == "ok"
        send = actions.usd_send_action(A, Decimal(1), time_ms=NONCES.next())
        res = http.post("/exchange", signed_user(KEY_STRANGER, send))
        assert res == {"status": "err", "response": f"Must deposit before performing actions. User: {STRANGER}"}
    finally:
        http.close()


def test_control_endpoint_refuses_non_loopback_peers(devnet):
    import asyncio

    from perpcli.devnet.transport import HttpRequest

    req = HttpRequest("POST", "/devnet/fund", {}, json.dumps({"user": A, "amount": "5"}).encode(), "10.1.2.3")
    fut = asyncio.run_coroutine_threadsafe(devnet.devnet.handle_http(req), devnet.loop)
    assert fut.result(5).status == 403


def test_fund_control_endpoint(http):
    target = "0x" + "12" * 20
    http.control("fund", {"user": target, "amount": "250"})
    state = http.info({"type": "clearinghouseState", "user": target})
    assert Decimal(state["marginSummary"]["accountValue"]) >= 250
    status, _, _ = http.post_raw("/devnet/fund", b'{"user":"0x12","amount":"1"}')
    assert status == 400


# -- websocket ---------------------------------------------------------------------------------------


def test_ws_greeting_ping_subscribe_unsubscribe(devnet):
    with connect(devnet.ws_url) as ws:
        assert ws.recv(timeout=3) == "Websocket connection established."
        ws.send(json.dumps({"method": "ping"}))
        assert json.loads(ws.recv(timeout=3)) == {"channel": "pong"}
        sub = {"type": "l2Book", "coin": "BTC"}
        ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
        ack = ws_recv_json(ws)
        assert ack == {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": sub}}
        book = ws_recv_json(ws)
        assert book["channel"] == "l2Book" and book["data"]["coin"] == "BTC" and len(book["data"]["levels"]) == 2
        ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
        err = ws_until(ws, lambda m: m["channel"] == "error")
        assert err["data"].startswith("Already subscribed")
        ws.send(json.dumps({"method": "unsubscribe", "subscription": sub}))
        ack = ws_until(ws, lambda m: m["channel"] == "subscriptionResponse")
        assert ack["data"]["method"] == "unsubscribe"
        ws.send(json.dumps({"method": "unsubscribe", "subscription": sub}))
        assert ws_until(ws, lambda m: m["channel"] == "error")["data"].startswith("Already unsubscribed")
        ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "NOPE"}}))
        assert ws_until(ws, lambda m: m["channel"] == "error")["data"].startswith("Invalid subscription")
        ws.send("not json")
        err = ws_until(ws, lambda m: m["channel"] == "error")
        assert err["data"].startswith("Error parsing JSON into valid websocket request")


def test_ws_l2_book_fast_sends_five_levels_a_side(devnet, http):
    for i in range(7):
        res = http.post("/exchange", signed_l1(KEY_B, limit_order(BTC, False, str(91101 + i), "0.001")))
        assert res["status"] == "ok", res
    with connect(devnet.ws_url) as ws:
        for sub in ({"type": "l2Book", "coin": "BTC", "fast": True}, {"type": "l2Book", "coin": "BTC"}):
            ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
        books = [ws_until(ws, lambda m: m["channel"] == "l2Book")["data"] for _ in range(2)]
        assert sorted(len(b["levels"][1]) for b in books)[0] == 5  # fast: the best five
        assert sorted(len(b["levels"][1]) for b in books)[1] >= 7
        ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "ETH", "fast": 1}}))
        assert ws_until(ws, lambda m: m["channel"] == "error")["data"].startswith("Invalid subscription")


def test_ws_post_info_and_action(devnet):
    with connect(devnet.ws_url) as ws:
        ws.send(json.dumps({"method": "post", "id": 7, "request": {"type": "info", "payload": {"type": "allMids"}}}))
        msg = ws_until(ws, lambda m: m["channel"] == "post")
        assert msg["data"]["id"] == 7
        assert msg["data"]["response"]["type"] == "info"
        assert msg["data"]["response"]["payload"]["type"] == "allMids"
        assert isinstance(msg["data"]["response"]["payload"]["data"], dict)
        body = signed_l1(KEY_A, limit_order(BTC, True, "61000", "0.001"))
        ws.send(json.dumps({"method": "post", "id": 8, "request": {"type": "action", "payload": body}}))
        msg = ws_until(ws, lambda m: m["channel"] == "post")
        assert msg["data"]["id"] == 8 and msg["data"]["response"]["type"] == "action"
        assert msg["data"]["response"]["payload"]["status"] == "ok"
        ws.send(json.dumps({"method": "post", "id": 9, "request": {"type": "info", "payload": {"type": "zzz"}}}))
        msg = ws_until(ws, lambda m: m["channel"] == "post")
        assert msg["data"]["id"] == 9 and msg["data"]["response"]["type"] == "error"


def test_ws_user_channels_snapshot_then_updates_and_privacy(devnet):
    with connect(devnet.ws_url) as ws_a, connect(devnet.ws_url) as ws_b:
        ws_a.send(json.dumps({"method": "subscribe", "subscription": {"type": "userFills", "user": A}}))
        ws_a.send(json.dumps({"method": "subscribe", "subscription": {"type": "orderUpdates", "user": A}}))
        ws_a.send(json.dumps({"method": "subscribe", "subscription": {"type": "userEvents", "user": A}}))
        ws_a.send(json.dumps({"method": "subscribe", "subscription": {"type": "trades", "coin": "ETH"}}))
        snap = ws_until(ws_a, lambda m: m["channel"] == "userFills")
        assert snap["data"]["isSnapshot"] is True and snap["data"]["user"] == A
        ws_b.send(json.dumps({"method": "subscribe", "subscription": {"type": "orderUpdates", "user": B}}))
        ws_until(ws_b, lambda m: m["channel"] == "subscriptionResponse")

        # B rests an ETH ask: only B's connection hears about it.
        res = Http(devnet.url).post("/exchange", signed_l1(KEY_B, limit_order(1, False, "3300", "0.01")))
        b_oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
        upd = ws_until(ws_b, lambda m: m["channel"] == "orderUpdates")
        assert upd["data"][0]["order"]["oid"] == b_oid and upd["data"][0]["status"] == "open"
        assert "user" not in upd["data"][0]

        # A lifts it: A gets its own orderUpdates, fills (userFills and channel "user") and trades.
        Http(devnet.url).post("/exchange", signed_l1(KEY_A, limit_order(1, True, "3300", "0.01", tif="Ioc")))
        seen: dict[str, dict] = {}
        while not {"orderUpdates", "userFills", "user", "trades"} <= set(seen):
            m = ws_recv_json(ws_a)
            seen.setdefault(m["channel"], m)
        assert all(u["order"]["oid"] != b_oid for u in seen["orderUpdates"]["data"])
        fill = seen["userFills"]["data"]["fills"][0]
        assert seen["userFills"]["data"]["user"] == A and not seen["userFills"]["data"].get("isSnapshot")
        assert fill["coin"] == "ETH" and fill["crossed"] is True
        assert seen["user"]["data"]["fills"][0]["tid"] == fill["tid"]
        assert seen["trades"]["data"][0]["coin"] == "ETH"


def test_ws_user_limit_per_ip(devnet):
    with connect(devnet.ws_url) as ws:
        users = ["0x" + f"{i:040x}" for i in range(1, 12)]
        errors = []
        for u in users:
            ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "userFundings", "user": u}}))
        for _ in users:
            m = ws_until(ws, lambda m: m["channel"] in ("subscriptionResponse", "error"))
            if m["channel"] == "error":
                errors.append(m["data"])
        assert len(errors) == 1 and "10" in errors[0]


def test_ws_idle_sockets_are_closed():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, ws_idle_timeout=0.3, tick_interval=0.05))
    try:
        with connect(handle.ws_url) as ws:
            ws.recv(timeout=2)
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosed):
                while True:
                    ws.recv(timeout=3)
            assert time.monotonic() - t0 < 2.5
    finally:
        handle.stop()


def test_synthetic_market_moves_books():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0.05, tick_interval=0.02, seed=3))
    http = Http(handle.url)
    try:
        wait_for(lambda: http.info({"type": "l2Book", "coin": "BTC"})["levels"][0], timeout=5)
        with connect(handle.ws_url) as ws:
            ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}}))
            books = [ws_until(ws, lambda m: m["channel"] == "l2Book") for _ in range(3)]
            assert all(b["data"]["levels"][0] and b["data"]["levels"][1] for b in books)
    finally:
        http.close()
        handle.stop()


def test_ws_state_channels_snapshot_and_update(devnet):
    subs = [
        {"type": "clearinghouseState", "user": A},
        {"type": "openOrders", "user": A},
        {"type": "webData2", "user": A},
        {"type": "spotState", "user": A},
        {"type": "activeAssetData", "user": A, "coin": "SOL"},
        {"type": "activeAssetCtx", "coin": "SOL"},
        {"type": "allMids"},
        {"type": "bbo", "coin": "SOL"},
        {"type": "candle", "coin": "SOL", "interval": "1m"},
        {"type": "userFundings", "user": A},
        {"type": "userNonFundingLedgerUpdates", "user": A},
        {"type": "notification", "user": A},
    ]
    with connect(devnet.ws_url) as ws:
        for s in subs:
            ws.send(json.dumps({"method": "subscribe", "subscription": s}))
        first: dict[str, dict] = {}
        acks = 0
        while acks < len(subs) or len(first) < 10:
            m = ws_recv_json(ws)
            if m["channel"] == "subscriptionResponse":
                acks += 1
            else:
                first.setdefault(m["channel"], m)
        assert first["clearinghouseState"]["data"]["user"] == A
        assert "marginSummary" in first["clearinghouseState"]["data"]["clearinghouseState"]
        assert first["openOrders"]["data"]["dex"] == "" and isinstance(first["openOrders"]["data"]["orders"], list)
        assert first["webData2"]["data"]["user"] == A and "clearinghouseState" in first["webData2"]["data"]
        assert "balances" in first["spotState"]["data"]["spotState"]
        assert first["activeAssetData"]["data"]["coin"] == "SOL"
        assert first["activeAssetCtx"]["data"]["coin"] == "SOL" and "markPx" in first["activeAssetCtx"]["data"]["ctx"]
        assert isinstance(first["allMids"]["data"]["mids"], dict)
        assert first["bbo"]["data"]["coin"] == "SOL" and len(first["bbo"]["data"]["bbo"]) == 2
        assert first["userFundings"]["data"]["isSnapshot"] is True
        assert first["userNonFundingLedgerUpdates"]["data"]["isSnapshot"] is True

        # A new resting SOL bid changes A's open orders and the SOL bbo: both are pushed.
        Http(devnet.url).post("/exchange", signed_l1(KEY_A, limit_order(2, True, "150", "1")))
        got = set()
        while not {"openOrders", "bbo"} <= got:
            m = ws_recv_json(ws)
            if m["channel"] == "openOrders" and any(o["limitPx"] == "150.0" for o in m["data"]["orders"]):
                got.add("openOrders")
            if m["channel"] == "bbo" and m["data"]["bbo"][0] and m["data"]["bbo"][0]["px"] == "150.0":
                got.add("bbo")


def test_mainnet_setting_changes_what_signatures_mean():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, auto_fund=False, is_mainnet=True))
    http = Http(handle.url)
    try:
        http.control("fund", {"user": A, "amount": "1000"})
        res = http.post("/exchange", signed_l1(KEY_A, actions.noop_action(), is_mainnet=False))
        assert res["status"] == "err" and res["response"].endswith("does not exist.") and A not in res["response"]
        assert http.post("/exchange", signed_l1(KEY_A, actions.noop_action(), is_mainnet=True))["status"] == "ok"
        send = actions.usd_send_action(B, Decimal(1), time_ms=NONCES.next())
        assert http.post("/exchange", signed_user(KEY_A, send, is_mainnet=False))["status"] == "err"
        send = actions.usd_send_action(B, Decimal(1), time_ms=NONCES.next())
        assert http.post("/exchange", signed_user(KEY_A, send, is_mainnet=True))["status"] == "ok"
    finally:
        http.close()
        handle.stop()


def test_http_expect_continue_and_chunked_bodies(devnet):
    import socket

    host, port = devnet.url[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=3) as s:
        body = b'{"type":"perpDexs"}'
        s.sendall(b"POST /info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
        s.sendall(body)
        assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
        s.sendall(b"POST /info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"8\r\n{\"type\":\r\nb\r\n\"perpDexs\"}\r\n0\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.endswith(b"]"):
            reply += s.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200 OK") and b'"xyz"' in reply
