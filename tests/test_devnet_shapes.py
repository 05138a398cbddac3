"""Smaller venue shapes the devnet must match: computed prices, token ledger rows, webData2's
spot contexts, and the frontend websocket channels (webData3, twapStates, userHistoricalOrders,
userTwapSliceFills, userTwapHistory) that third-party clients subscribe to."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from websockets.sync.client import connect

from perpcli.devnet import render
from perpcli.devnet.engine import Engine, EngineConfig
from perpcli.devnet.records import AssetCtx
from perpcli.devnet.server import DevnetConfig, start_in_thread
from perpcli.venues.hyperliquid import actions
from tests.devnet_helpers import (
    KEY_A,
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
A, B = address(KEY_A), address(KEY_B)
T0 = 1_700_000_000_000


@pytest.mark.parametrize(
    ("vwap", "shown"),
    [
        (Decimal(95123) + Decimal(1) / Decimal(3), "95123.0"),
        (Decimal(3200) + Decimal(2) / Decimal(7), "3200.3"),
        (Decimal("0.0112") + Decimal(1) / Decimal(3_000_000), "0.0112"),
        (Decimal(123456) + Decimal(1) / Decimal(3), "123456.0"),
    ],
)
def test_impact_prices_print_like_prices(vwap, shown):
    ctx = AssetCtx("X", Decimal(0), Decimal(0), Decimal(1), Decimal(1), None, (vwap, vwap), None, Decimal(1),
                   Decimal(0), Decimal(0))
    assert render.asset_ctx(ctx)["impactPxs"] == [shown, shown]


def test_spot_transfer_ledger_rows_have_the_venues_fields():
    e = Engine(config=EngineConfig(), start_ms=T0)
    e.fund_spot(A, "USDC", Decimal(10), T0)
    e.spot_send(A, B, "USDC", Decimal(4), T0, nonce=T0 - 5)
    for user in (A, B):
        row = render.ledger_row(e.user_ledger(user, 0)[-1])["delta"]
        assert row == {
            "type": "spotTransfer",
            "token": "USDC",
            "amount": "4.0",
            "usdcValue": "4.0",
            "user": A,
            "destination": B,
            "fee": "0.0",
            "nativeTokenFee": "0.0",
            "nonce": T0 - 5,
            "feeToken": "",
        }


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    first_look(handle.url, A, B)
    yield handle
    handle.stop()


def _frames(ws, wanted: set[str], timeout: float = 5.0) -> dict[str, dict]:
    got: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while not wanted <= set(got):
        msg = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if msg == "Websocket connection established.":
            continue
        m = json.loads(msg)
        assert m["channel"] != "error", m
        if m["channel"] in wanted and m["channel"] not in got:
            got[m["channel"]] = m["data"]
    return got


def test_frontend_channels_are_served(devnet):
    subs = [
        {"type": "webData2", "user": A},
        {"type": "webData3", "user": A},
        {"type": "twapStates", "user": A},
        {"type": "userTwapSliceFills", "user": A},
        {"type": "userTwapHistory", "user": A},
        {"type": "userHistoricalOrders", "user": A},
    ]
    http = Http(devnet.url)
    try:
        twap = actions.twap_order_action(2, is_buy=True, size=Decimal("5"), reduce_only=False, minutes=30, randomize=False)
        assert http.post("/exchange", signed_l1(KEY_A, twap))["status"] == "ok"
        with connect(devnet.ws_url) as ws:
            for s in subs:
                ws.send(json.dumps({"method": "subscribe", "subscription": s}))
            first = _frames(ws, {"webData2", "webData3", "twapStates", "userTwapSliceFills", "userTwapHistory",
                                 "userHistoricalOrders"})
            spot_ctxs = first["webData2"]["spotAssetCtxs"]
            assert spot_ctxs and {"coin", "markPx", "midPx", "circulatingSupply"} <= set(spot_ctxs[0])
            web3 = first["webData3"]
            assert web3["userState"]["user"] == A
            assert len(web3["perpDexStates"]) == 2  # the main dex and xyz
            assert "marginSummary" in web3["perpDexStates"][0]["clearinghouseState"]
            states = first["twapStates"]["states"]
            assert len(states) == 1 and states[0][1]["coin"] == "SOL" and states[0][1]["sz"] == "5.0"
            assert first["userTwapSliceFills"] == {"isSnapshot": True, "user": A, "twapSliceFills": []}
            assert first["userTwapHistory"] == {"isSnapshot": True, "user": A, "history": []}
            assert first["userHistoricalOrders"]["isSnapshot"] is True
            res = http.post("/exchange", signed_l1(KEY_A, limit_order(2, True, "150", "0.1")))
            oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
            deadline = time.monotonic() + 5
            while True:
                m = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
                if m["channel"] == "userHistoricalOrders" and not m["data"].get("isSnapshot"):
                    # TWAP slices push their own history rows too: wait for this order's row
                    if any(h["order"]["oid"] == oid and h["status"] == "open" for h in m["data"]["orderHistory"]):
                        break
        send = actions.spot_send_action(B, "USDC:0x6d1e7cde53ba9467b783cb7c530ce054", Decimal(1), time_ms=NONCES.next())
        to_spot = actions.usd_class_transfer_action(Decimal(5), to_perp=False, nonce=NONCES.next())
        assert http.post("/exchange", signed_user(KEY_A, to_spot))["status"] == "ok"
        assert http.post("/exchange", signed_user(KEY_A, send))["status"] == "ok"
        row = http.info({"type": "userNonFundingLedgerUpdates", "user": B})[-1]["delta"]
        assert row["type"] == "spotTransfer" and "usdc" not in row and row["nonce"] == send["time"]
    finally:
        http.close()
