"""Faults on demand do what they say, and --state round-trips the whole exchange."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from perpcli.devnet.server import DevnetConfig, start_in_thread
from tests.devnet_helpers import (
    KEY_A,
    KEY_AGENT,
    KEY_B,
    NONCES,
    Http,
    address,
    first_look,
    limit_order,
    signed_l1,
    signed_user,
)

pytestmark = pytest.mark.timeout(60)
A = address(KEY_A)


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    first_look(handle.url, A, address(KEY_B))  # the wallets look at themselves first: funded
    yield handle
    handle.stop()


@pytest.fixture()
def http(devnet):
    client = Http(devnet.url)
    yield client
    client.control("faults", {k: 0 for k in ("drop_ws_every", "delay_ms", "rate_429", "rate_5xx", "rate_timeout",
                                             "rate_silence", "ws_duplicate", "ws_reorder")})
    client.close()


def test_429_and_5xx(http):
    http.control("faults", {"rate_429": 1})
    assert http.post_raw("/info", b'{"type":"meta"}')[0] == 429
    http.control("faults", {"rate_429": 0, "rate_5xx": 1})
    assert http.post_raw("/info", b'{"type":"meta"}')[0] == 502
    body = json.dumps(signed_l1(KEY_A, limit_order(0, True, "50000", "0.001"))).encode()
    assert http.post_raw("/exchange", body)[0] == 502
    http.control("faults", {"rate_5xx": 0})
    assert http.info({"type": "openOrders", "user": A}) == []  # a 5xx never executed anything
    http.control("faults", {"rate_429": 1})
    with connect(http_ws(http)) as ws:
        ws.send(json.dumps({"method": "post", "id": 1, "request": {"type": "info", "payload": {"type": "meta"}}}))
        msg = next_channel(ws, "post")
        assert msg["data"] == {"id": 1, "response": {"type": "error", "payload": "429 Too Many Requests"}}


def test_delay(http):
    http.control("faults", {"delay_ms": 150})
    t0 = time.monotonic()
    http.info({"type": "meta"})
    assert time.monotonic() - t0 >= 0.15


def test_timeout_after_execute(http, devnet):
    http.control("faults", {"rate_timeout": 1})
    body = signed_l1(KEY_B, limit_order(0, True, "51000", "0.001", cloid="0x" + "cd" * 16))
    with pytest.raises(Exception):  # noqa: B017 - the connection is closed without an answer
        http.post_raw("/exchange", json.dumps(body).encode())
    assert http.info({"type": "meta"})  # reads still answer
    http.control("faults", {"rate_timeout": 0})
    status = http.info({"type": "orderStatus", "user": address(KEY_B), "oid": "0x" + "cd" * 16})
    assert status["order"]["status"] == "open"  # it executed although no answer came


def test_silence_after_execute(http, devnet):
    http.control("faults", {"rate_silence": 1})
    body = signed_l1(KEY_B, limit_order(0, True, "51500", "0.001", cloid="0x" + "ce" * 16))
    slow = Http(devnet.url, timeout=0.3)
    try:
        with pytest.raises(TimeoutError):
            slow.post_raw("/exchange", json.dumps(body).encode())
    finally:
        slow.close()
    http.control("faults", {"rate_silence": 0})
    status = http.info({"type": "orderStatus", "user": address(KEY_B), "oid": "0x" + "ce" * 16})
    assert status["order"]["status"] == "open"  # it executed although the socket stayed silent


def test_ws_post_action_executes_but_is_never_answered(http):
    http.control("faults", {"rate_timeout": 1})
    cloid = "0x" + "cf" * 16
    body = signed_l1(KEY_B, limit_order(0, True, "51600", "0.001", cloid=cloid))
    with connect(http_ws(http)) as ws:
        ws.send(json.dumps({"method": "post", "id": 5, "request": {"type": "action", "payload": body}}))
        with pytest.raises(TimeoutError):
            next_channel(ws, "post", timeout=0.4)
    http.control("faults", {"rate_timeout": 0})
    assert http.info({"type": "orderStatus", "user": address(KEY_B), "oid": cloid})["order"]["status"] == "open"


def test_ws_drop_every(http):
    http.control("faults", {"drop_ws_every": 0.3})
    with connect(http_ws(http)) as ws:
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=3)
        assert time.monotonic() - t0 < 2.5


def test_ws_duplicate_and_reorder(http, devnet):
    with connect(http_ws(http)) as ws:
        ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "orderUpdates", "user": A}}))
        next_channel(ws, "subscriptionResponse")
        http.control("faults", {"ws_duplicate": 1})
        oid1 = place(http, "40000")
        first, second = next_channel(ws, "orderUpdates"), next_channel(ws, "orderUpdates")
        assert first == second and first["data"][0]["order"]["oid"] == oid1
        http.control("faults", {"ws_duplicate": 0, "ws_reorder": 1})
        oid2 = place(http, "40001")  # held back
        oid3 = place(http, "40002")  # goes out first, then the held one
        got = [next_channel(ws, "orderUpdates")["data"][0]["order"]["oid"] for _ in range(2)]
        assert got == [oid3, oid2]


def test_state_saved_and_reloaded_is_identical(tmp_path):
    state = tmp_path / "devnet.json"
    first = start_in_thread(DevnetConfig(port=0, market_interval=0, state_file=state))
    first_look(first.url, A, address(KEY_B))
    http = Http(first.url)
    try:
        place(http, "45000")
        http.post("/exchange", signed_l1(KEY_B, limit_order(0, False, "45000", "0.001", tif="Ioc")))
        place(http, "44000")
        approve = signed_user(KEY_A, {"type": "approveAgent", "agentAddress": address(KEY_AGENT),
                                      "agentName": "x", "nonce": NONCES.next()})
        assert http.post("/exchange", approve)["status"] == "ok"
        http.control("fund", {"user": "0x" + "99" * 20, "amount": "42"})
        replay = signed_l1(KEY_A, limit_order(0, True, "43000", "0.001"))
        assert http.post("/exchange", replay)["status"] == "ok"
        queries = [{"type": t, "user": A} for t in ("clearinghouseState", "openOrders", "userFills",
                                                    "historicalOrders", "extraAgents", "spotClearinghouseState")]
        before = [http.info(q) for q in queries]
        before_state = first.call(first.devnet.state_json)
    finally:
        http.close()
        first.stop()
    assert state.exists()
    second = start_in_thread(DevnetConfig(port=0, market_interval=0, state_file=state))
    http = Http(second.url)
    try:
        after_state = second.call(second.devnet.state_json)
        assert json.dumps(after_state["engine"], sort_keys=True) == json.dumps(before_state["engine"], sort_keys=True)
        assert after_state["desk"] == before_state["desk"]
        after = [http.info(q) for q in queries]
        for b, a in zip(before, after, strict=True):
            if isinstance(b, dict):
                b.pop("time", None)
                a.pop("time", None)
            assert a == b
        res = http.post("/exchange", replay)  # nonces survive a restart: the replay is still refused
        assert res["response"].startswith("Invalid nonce: duplicate nonce")
    finally:
        http.close()
        second.stop()


# -- helpers ---------------------------------------------------------------------------------------


def http_ws(http: Http) -> str:
    return f"ws://{http.host}:{http.port}/ws"


def next_channel(ws, channel: str, timeout: float = 3.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if msg.startswith("{"):
            data = json.loads(msg)
            if data["channel"] == channel:
                return data


def place(http: Http, px: str) -> int:
    res = http.post("/exchange", signed_l1(KEY_A, limit_order(0, True, px, "0.001")))
    return res["response"]["data"]["statuses"][0]["resting"]["oid"]


def test_ip_weight_limit_answers_429():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, ip_weight_limit=10))
    http = Http(handle.url)
    try:
        for _ in range(5):
            assert http.post_raw("/info", b'{"type":"l2Book","coin":"BTC"}')[0] == 200
        assert http.post_raw("/info", b'{"type":"l2Book","coin":"BTC"}')[0] == 429
    finally:
        http.close()
        handle.stop()
