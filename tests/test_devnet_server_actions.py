"""The rest of the /exchange catalogue: cancelByCloid, modify, isolated margin, scheduleCancel,
TWAP, spotSend, sendAsset, approveBuilderFee (+ builder-coded orders), and the HIP-3 `dex` reads."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

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
    wait_for,
)

pytestmark = pytest.mark.timeout(60)
A = address(KEY_A)
B = address(KEY_B)
BUILDER = "0x" + "be" * 20
OK = {"status": "ok", "response": {"type": "default"}}


@pytest.fixture(scope="module")
def devnet():
    # deadman_min_volume=0: `perp devnet --no-deadman-volume`, so scheduleCancel can be exercised.
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.02, deadman_min_volume=Decimal(0)))
    first_look(handle.url, A, B)  # what a client reads first; funds both (auto-fund)
    yield handle
    handle.stop()


@pytest.fixture()
def http(devnet):
    client = Http(devnet.url)
    yield client
    client.close()


def test_cancel_by_cloid_and_single_modify(http):
    cloid = "0x" + "0e" * 16
    res = http.post("/exchange", signed_l1(KEY_A, limit_order(1, True, "3000", "0.01", cloid=cloid)))
    oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
    replacement = actions.OrderSpec(1, True, Decimal("3001"), Decimal("0.01"), cloid=cloid)
    assert http.post("/exchange", signed_l1(KEY_A, actions.modify_action(oid, replacement))) == OK
    status = http.info({"type": "orderStatus", "user": A, "oid": cloid})
    assert status["order"]["order"]["limitPx"] == "3001.0"
    res = http.post("/exchange", signed_l1(KEY_A, actions.cancel_by_cloid_action([(1, cloid)])))
    assert res == {"status": "ok", "response": {"type": "cancel", "data": {"statuses": ["success"]}}}
    res = http.post("/exchange", signed_l1(KEY_A, actions.modify_action(oid, replacement)))
    assert res["status"] == "err"


def test_isolated_margin_and_schedule_cancel(http):
    assert http.post("/exchange", signed_l1(KEY_B, actions.update_leverage_action(1, 5, is_cross=False))) == OK
    http.post("/exchange", signed_l1(KEY_A, limit_order(1, False, "3100", "0.1")))
    res = http.post("/exchange", signed_l1(KEY_B, limit_order(1, True, "3100", "0.1", tif="Ioc")))
    assert "filled" in res["response"]["data"]["statuses"][0]
    margin = lambda: next(  # noqa: E731
        p["position"] for p in http.info({"type": "clearinghouseState", "user": B})["assetPositions"]
        if p["position"]["coin"] == "ETH")["marginUsed"]
    before = Decimal(margin())
    assert http.post("/exchange", signed_l1(KEY_B, actions.update_isolated_margin_action(1, Decimal(10)))) == OK
    assert Decimal(margin()) - before == 10

    res = http.post("/exchange", signed_l1(KEY_B, limit_order(1, True, "2000", "0.01")))
    assert "resting" in res["response"]["data"]["statuses"][0]
    soon = time.time_ns() // 1_000_000 + 5200
    assert http.post("/exchange", signed_l1(KEY_B, actions.schedule_cancel_action(soon))) == OK
    assert http.info({"type": "openOrders", "user": B}) != []
    http.control("advance", {"ms": 6000})  # the devnet clock jumps past the switch
    wait_for(lambda: http.info({"type": "openOrders", "user": B}) == [])
    assert http.post("/exchange", signed_l1(KEY_B, actions.schedule_cancel_action(None))) == OK


def test_twap_runs_and_cancels(http):
    for i in range(3):
        http.post("/exchange", signed_l1(KEY_B, limit_order(2, False, str(180 + i), "100")))
    twap = actions.twap_order_action(2, is_buy=True, size=Decimal("30"), reduce_only=False, minutes=5,
                                     randomize=False)
    res = http.post("/exchange", signed_l1(KEY_A, twap))
    twap_id = res["response"]["data"]["status"]["running"]["twapId"]
    assert res["response"]["type"] == "twapOrder"
    wait_for(lambda: any(f["coin"] == "SOL" for f in http.info({"type": "userFills", "user": A})))
    res = http.post("/exchange", signed_l1(KEY_A, actions.twap_cancel_action(2, twap_id)))
    assert res == {"status": "ok", "response": {"type": "twapCancel", "data": {"status": "success"}}}
    res = http.post("/exchange", signed_l1(KEY_A, actions.twap_cancel_action(2, twap_id)))
    assert res["response"]["data"]["status"] == {"error": "TWAP was never placed, already canceled, or filled."}
    short = actions.twap_order_action(2, is_buy=True, size=Decimal("30"), reduce_only=False, minutes=1,
                                      randomize=False)
    res = http.post("/exchange", signed_l1(KEY_A, short))
    assert res["response"]["data"]["status"] == {"error": "Invalid TWAP duration: 1 min(s)"}


def test_spot_send_and_send_asset(http):
    assert http.post("/exchange", signed_user(KEY_A, actions.usd_class_transfer_action(
        Decimal(20), to_perp=False, nonce=NONCES.next()))) == OK
    spot_usdc = lambda who: next(  # noqa: E731
        (Decimal(b["total"]) for b in http.info({"type": "spotClearinghouseState", "user": who})["balances"]
         if b["coin"] == "USDC"), Decimal(0))
    before_b = spot_usdc(B)
    send = actions.spot_send_action(B, "USDC:0x6d1e7cde53ba9467b783cb7c530ce054", Decimal(3), time_ms=NONCES.next())
    assert http.post("/exchange", signed_user(KEY_A, send)) == OK
    assert spot_usdc(B) - before_b == 3
    perp_b = lambda: Decimal(http.info({"type": "clearinghouseState", "user": B})["marginSummary"]["accountValue"])  # noqa: E731
    before = perp_b()
    move = actions.send_asset_action(B, source_dex="spot", destination_dex="", token="USDC:0x6d1e7cde53ba9467b783cb7c530ce054",
                                     amount=Decimal(2), nonce=NONCES.next())
    assert http.post("/exchange", signed_user(KEY_A, move)) == OK
    assert perp_b() - before == 2
    # One `send` row on each side, as the venue logs a sendAsset to another user.
    for who in (A, B):
        row = http.info({"type": "userNonFundingLedgerUpdates", "user": who})[-1]["delta"]
        assert row == {"type": "send", "user": A, "destination": B, "sourceDex": "spot", "destinationDex": "",
                       "token": "USDC", "amount": "2.0", "usdcValue": "2.0", "fee": "0.0", "nativeTokenFee": "0.0",
                       "nonce": move["nonce"], "feeToken": ""}


def test_builder_fee_approval_gates_builder_orders(http):
    order = actions.order_action([actions.OrderSpec(0, True, Decimal(50000), Decimal("0.001"))],
                                 builder=actions.BuilderFee(BUILDER, 10))
    res = http.post("/exchange", signed_l1(KEY_A, order))
    assert res["status"] == "err"
    approve = actions.approve_builder_fee_action(BUILDER, Decimal("0.01"), nonce=NONCES.next())
    assert http.post("/exchange", signed_user(KEY_A, approve)) == OK
    assert http.info({"type": "maxBuilderFee", "user": A, "builder": BUILDER}) == 10
    res = http.post("/exchange", signed_l1(KEY_A, order))
    oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
    res = http.post("/exchange", signed_l1(KEY_B, limit_order(0, False, "50000", "0.001", tif="Ioc")))
    assert "filled" in res["response"]["data"]["statuses"][0], res
    # The builder's 10 tenths of a bp on $50 (0.005) is charged on top of the maker fee (0.0075).
    mine = next(f for f in http.info({"type": "userFills", "user": A}) if f["oid"] == oid)
    assert mine["builderFee"] == "0.005" and mine["fee"] == "0.0125"
    theirs = http.info({"type": "userFills", "user": B})[0]
    assert "builderFee" not in theirs and theirs["fee"] == "0.0225"


def test_builder_fees_are_credited_to_the_builder_and_claimed_by_it(http, devnet):
    """The fee a fill charges for a builder reaches the builder, through the referral reward
    claim as on the venue: unclaimed until `claimRewards`, then in its perp balance."""
    builder_key = "0x" + "e5" * 32
    builder = address(builder_key)
    first_look(devnet.url, builder)
    approve = actions.approve_builder_fee_action(builder, Decimal("0.1"), nonce=NONCES.next())
    assert http.post("/exchange", signed_user(KEY_B, approve)) == OK
    order = actions.order_action([actions.OrderSpec(2, True, Decimal(200), Decimal(1))],
                                 builder=actions.BuilderFee(builder, 50))  # 5 bp
    oid = http.post("/exchange", signed_l1(KEY_B, order))["response"]["data"]["statuses"][0]["resting"]["oid"]
    res = http.post("/exchange", signed_l1(KEY_A, limit_order(2, False, "200", "1", tif="Ioc")))
    assert "filled" in res["response"]["data"]["statuses"][0], res
    fill = next(f for f in http.info({"type": "userFills", "user": B}) if f["oid"] == oid)
    assert fill["builderFee"] == "0.1"  # 5 bp of $200
    referral = http.info({"type": "referral", "user": builder})
    assert (referral["builderRewards"], referral["unclaimedRewards"], referral["claimedRewards"]) == ("0.1", "0.1", "0.0")
    value = lambda: Decimal(http.info({"type": "clearinghouseState", "user": builder})["withdrawable"])  # noqa: E731
    before = value()
    assert http.post("/exchange", signed_l1(builder_key, {"type": "claimRewards"})) == OK
    assert value() - before == Decimal("0.1")
    referral = http.info({"type": "referral", "user": builder})
    assert (referral["builderRewards"], referral["unclaimedRewards"], referral["claimedRewards"]) == ("0.1", "0.0", "0.1")
    row = http.info({"type": "userNonFundingLedgerUpdates", "user": builder})[-1]["delta"]
    assert row == {"type": "rewardsClaim", "amount": "0.1"}
    again = http.post("/exchange", signed_l1(builder_key, {"type": "claimRewards"}))
    assert again == {"status": "err", "response": "No rewards to claim"}


def test_hip3_dex_reads_and_orders(http):
    meta = http.info({"type": "meta", "dex": "xyz"})
    gold = next(i for i, u in enumerate(meta["universe"]) if u["name"] == "xyz:GOLD")
    asset = 110000 + gold
    res = http.post("/exchange", signed_l1(KEY_A, limit_order(asset, True, "3900", "0.01")))
    oid = res["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert [o["oid"] for o in http.info({"type": "openOrders", "user": A, "dex": "xyz"})] == [oid]
    assert all(o["oid"] != oid for o in http.info({"type": "openOrders", "user": A, "dex": ""}))
    ctxs = http.info({"type": "metaAndAssetCtxs", "dex": "xyz"})
    assert len(ctxs[1]) == len(meta["universe"])
    assert http.info({"type": "l2Book", "coin": "xyz:GOLD"})["levels"][0][0]["px"] == "3900.0"
