"""The official Hyperliquid SDK, unchanged, against a devnet on a free port.

If the devnet's JSON shapes, signature checks or websocket frames drift from the venue's,
the SDK (which was written against the real exchange) is what notices. The SDK is a
test-only dependency; perpcli itself never imports it.
"""

from __future__ import annotations

import queue
import threading
import time
from decimal import Decimal

import pytest

pytest.importorskip("hyperliquid")

import eth_account  # noqa: E402
from hyperliquid.exchange import Exchange  # noqa: E402
from hyperliquid.info import Info  # noqa: E402
from hyperliquid.utils.types import Cloid  # noqa: E402

from perpcli.devnet.server import DevnetConfig, start_in_thread  # noqa: E402
from tests.support import register_secret  # noqa: E402

pytestmark = pytest.mark.timeout(90)

MAKER_KEY = "0x" + "5a" * 32
TAKER_KEY = "0x" + "6b" * 32
register_secret(MAKER_KEY)
register_secret(TAKER_KEY)


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    # Each wallet looks at its own account first, as a client does: that funds it (auto-fund).
    info = Info(handle.url, skip_ws=True)
    for key in (MAKER_KEY, TAKER_KEY):
        info.user_state(eth_account.Account.from_key(key).address)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def maker(devnet):
    return Exchange(eth_account.Account.from_key(MAKER_KEY), devnet.url)


@pytest.fixture(scope="module")
def taker(devnet):
    return Exchange(eth_account.Account.from_key(TAKER_KEY), devnet.url)


@pytest.fixture(scope="module")
def info(devnet):
    info = Info(devnet.url, skip_ws=False)
    yield info
    info.disconnect_websocket()


def _ok(res):
    assert res["status"] == "ok", res
    return res["response"]


def test_info_reads_parse(info, devnet):
    assert info.name_to_asset("BTC") == 0
    meta = info.meta()
    assert meta["universe"][0]["name"] == "BTC"
    meta_ctx = info.meta_and_asset_ctxs()
    assert len(meta_ctx[1]) == len(meta["universe"])
    assert info.spot_meta()["tokens"][0]["name"] == "USDC"
    info.spot_meta_and_asset_ctxs()
    assert all(isinstance(v, str) for v in info.all_mids().values())  # mids need books (no flow here)
    assert info.l2_snapshot("BTC")["coin"] == "BTC"
    assert info.perp_dexs()[0] is None
    now = int(time.time() * 1000)
    assert isinstance(info.candles_snapshot("BTC", "1m", now - 3_600_000, now), list)
    assert isinstance(info.funding_history("BTC", now - 86_400_000), list)
    addr = eth_account.Account.from_key(MAKER_KEY).address
    state = info.user_state(addr)
    assert set(state) >= {"assetPositions", "marginSummary", "crossMarginSummary", "withdrawable"}
    assert info.user_role(addr)["role"] in ("user", "missing")
    assert isinstance(info.user_rate_limit(addr)["nRequestsCap"], int)
    hip3 = Info(devnet.url, skip_ws=True, perp_dexs=["", "xyz"])
    assert hip3.name_to_asset("xyz:GOLD") == 110000


def test_place_modify_cancel_leverage_and_transfer(maker, taker, info):
    maker_addr = maker.wallet.address.lower()
    cloid = Cloid.from_str("0x" + "12" * 16)
    res = _ok(maker.order("BTC", True, 0.001, 90000, {"limit": {"tif": "Gtc"}}, cloid=cloid))
    oid = res["data"]["statuses"][0]["resting"]["oid"]
    assert any(o["oid"] == oid for o in info.open_orders(maker_addr))
    assert info.query_order_by_cloid(maker_addr, cloid)["order"]["status"] == "open"

    res = _ok(maker.modify_order(oid, "BTC", True, 0.002, 90500, {"limit": {"tif": "Gtc"}}, cloid=cloid))
    new_oid = res["data"]["statuses"][0]["resting"]["oid"]
    orders = info.frontend_open_orders(maker_addr)
    assert [o["limitPx"] for o in orders if o["oid"] == new_oid] == ["90500.0"]

    res = _ok(maker.cancel("BTC", new_oid))
    assert res["data"]["statuses"] == ["success"]
    assert info.open_orders(maker_addr) == []
    assert info.query_order_by_oid(maker_addr, new_oid)["order"]["status"] == "canceled"

    assert _ok(maker.update_leverage(5, "BTC", is_cross=True)) == {"type": "default"}
    taker_addr = taker.wallet.address
    _ok(taker.update_leverage(3, "ETH"))  # the taker's first action creates (auto-funds) its account
    before = Decimal(info.user_state(taker_addr)["withdrawable"])
    assert _ok(maker.usd_transfer(25.0, taker_addr)) == {"type": "default"}
    assert Decimal(info.user_state(taker_addr)["withdrawable"]) - before == 25
    assert _ok(maker.usd_class_transfer(10.0, False)) == {"type": "default"}
    assert any(b["coin"] == "USDC" for b in info.spot_user_state(maker_addr)["balances"])
    result, agent_key = maker.approve_agent("sdk-bot")
    register_secret(agent_key)
    _ok(result)
    agent = Exchange(eth_account.Account.from_key(agent_key), maker.base_url, account_address=maker_addr)
    res = _ok(agent.order("ETH", True, 0.01, 3000, {"limit": {"tif": "Gtc"}}))
    agent_oid = res["data"]["statuses"][0]["resting"]["oid"]
    assert any(o["oid"] == agent_oid for o in info.open_orders(maker_addr))
    assert _ok(agent.cancel("ETH", agent_oid))["data"]["statuses"] == ["success"]
    assert agent.withdraw_from_bridge(5.0, maker_addr)["status"] == "err"


def test_websocket_l2book_trades_and_user_fills(maker, taker, info):
    got: dict[str, queue.Queue] = {k: queue.Queue() for k in ("l2Book", "trades", "userFills")}
    lock = threading.Lock()

    def sink(kind):
        def cb(msg):
            with lock:
                got[kind].put(msg)

        return cb

    maker_addr = maker.wallet.address
    info.subscribe({"type": "l2Book", "coin": "SOL"}, sink("l2Book"))
    info.subscribe({"type": "trades", "coin": "SOL"}, sink("trades"))
    info.subscribe({"type": "userFills", "user": maker_addr}, sink("userFills"))
    book = got["l2Book"].get(timeout=5)
    assert book["channel"] == "l2Book" and book["data"]["coin"] == "SOL"
    snap = got["userFills"].get(timeout=5)
    assert snap["data"]["isSnapshot"] is True

    res = _ok(maker.order("SOL", False, 1.0, 181.5, {"limit": {"tif": "Gtc"}}))
    assert "resting" in res["data"]["statuses"][0]
    res = _ok(taker.order("SOL", True, 1.0, 181.5, {"limit": {"tif": "Ioc"}}))
    assert res["data"]["statuses"][0]["filled"]["totalSz"] == "1.0"

    trades = got["trades"].get(timeout=5)
    assert trades["data"][0]["coin"] == "SOL" and trades["data"][0]["px"] == "181.5"
    fills = got["userFills"].get(timeout=5)
    assert fills["data"]["fills"][0]["coin"] == "SOL" and fills["data"]["fills"][0]["side"] == "A"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        book = got["l2Book"].get(timeout=5)
        if not book["data"]["levels"][1]:
            break  # the ask was lifted: the pushed book shows it
    assert book["data"]["levels"][1] == []
    state = info.user_state(maker_addr)
    pos = next(p["position"] for p in state["assetPositions"] if p["position"]["coin"] == "SOL")
    assert Decimal(pos["szi"]) == -1
    assert info.user_fills(maker_addr)[0]["coin"] == "SOL"
