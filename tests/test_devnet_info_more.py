"""The venue's remaining reads and actions on the devnet answer JSON in the venue's shapes
(info_more.py, exchange_more.py, subaccounts.py), driven through the official SDK where it
offers the call and through perpcli's own signing otherwise."""

from __future__ import annotations

import time
from decimal import Decimal as D

import pytest

from perpcli.devnet.server import DevnetConfig, start_in_thread
from tests.devnet_helpers import Http, address, limit_order, signed_l1
from tests.support import register_secret

pytest.importorskip("hyperliquid")

import eth_account  # noqa: E402
from hyperliquid.exchange import Exchange  # noqa: E402
from hyperliquid.info import Info  # noqa: E402

pytestmark = pytest.mark.timeout(90)

MASTER_KEY = "0x" + "8c" * 32
OTHER_KEY = "0x" + "9d" * 32
register_secret(MASTER_KEY)
register_secret(OTHER_KEY)


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def http(devnet):
    h = Http(devnet.url)
    yield h
    h.close()


@pytest.fixture(scope="module")
def master(devnet, http):
    wallet = eth_account.Account.from_key(MASTER_KEY)
    http.control("fund", {"user": wallet.address.lower(), "amount": "100000"})
    return Exchange(wallet, devnet.url)


@pytest.fixture(scope="module")
def info(devnet):
    return Info(devnet.url, skip_ws=True)


def _ok(res):
    assert res["status"] == "ok", res
    return res["response"]


def test_unknown_info_type_still_answers_as_the_venue(http):
    status, ctype, body = http.post_raw("/info", b'{"type":"noSuchRead","user":"0x' + b"0" * 40 + b'"}')
    assert status == 422 and ctype.startswith("text/plain")
    assert b"unknown variant `noSuchRead`" in body and b"`portfolio`" in body


def test_sdk_reads_answer_the_venue_shapes(info, master):
    user = master.wallet.address.lower()
    ref = info.query_referral_state(user)
    assert ref["referredBy"] is None and ref["referrerState"] == {"stage": "needToTrade", "data": {"required": "10000.0"}}
    assert set(ref) >= {"cumVlm", "unclaimedRewards", "claimedRewards", "builderRewards", "rewardHistory"}
    periods = info.portfolio(user)
    assert [p[0] for p in periods] == ["day", "week", "month", "allTime", "perpDay", "perpWeek", "perpMonth", "perpAllTime"]
    assert set(periods[0][1]) == {"accountValueHistory", "pnlHistory", "vlm"}
    assert info.user_twap_slice_fills(user) == []
    assert info.user_vault_equities(user) == []
    assert info.query_user_abstraction_state(user) == "default"
    assert info.query_user_dex_abstraction_state(user) is False
    assert info.user_staking_summary(user) == {
        "delegated": "0.0", "undelegated": "0.0", "totalPendingWithdrawal": "0.0", "nPendingWithdrawals": 0
    }
    assert info.user_staking_delegations(user) == [] and info.user_staking_rewards(user) == []


def test_raw_reads_answer_json(http, master):
    user = master.wallet.address.lower()
    predicted = http.info({"type": "predictedFundings"})
    coins = [row[0] for row in predicted]
    assert coins[:2] == ["BTC", "ETH"] and "xyz:GOLD" not in coins
    venue, row = predicted[0][1][0]
    assert venue == "HlPerp" and set(row) == {"fundingRate", "nextFundingTime", "fundingIntervalHours"}
    assert row["nextFundingTime"] % 3_600_000 == 0
    assert http.info({"type": "perpsAtOpenInterestCap"}) == []
    assert http.info({"type": "perpsAtOpenInterestCap", "dex": "xyz"}) == []
    ntls = http.info({"type": "maxMarketOrderNtls"})
    assert all(isinstance(lev, int) and D(ntl) > 0 for lev, ntl in ntls)
    assert http.info({"type": "approvedBuilders", "user": user}) == []
    assert http.info({"type": "vaultDetails", "vaultAddress": "0x" + "1" * 40}) is None
    assert http.info({"type": "twapHistory", "user": user}) == []
    web = http.info({"type": "webData2", "user": user})
    assert web["user"] == user and web["serverTime"] > 0
    assert {"clearinghouseState", "openOrders", "meta", "assetCtxs", "spotState", "spotAssetCtxs", "twapStates"} <= set(web)
    assert len(web["assetCtxs"]) == len(web["meta"]["universe"])


def test_approved_builders_lists_what_was_approved(http, master):
    builder = "0x" + "b" * 40
    _ok(master.approve_builder_fee(builder, "0.01%"))
    assert http.info({"type": "approvedBuilders", "user": master.wallet.address.lower()}) == [builder]


def test_sub_account_is_created_funded_traded_by_its_master_and_listed(devnet, http, info, master):
    user = master.wallet.address.lower()
    assert info.query_sub_accounts(user) is None
    res = _ok(master.create_sub_account("desk1"))
    sub = res["data"]
    assert res["type"] == "createSubAccount" and sub.startswith("0x") and len(sub) == 42
    assert http.info({"type": "userRole", "user": sub}) == {"role": "subAccount", "data": {"master": user}}
    _ok(master.sub_account_transfer(sub, True, 2_000_000_000))  # $2,000 in millionths
    assert D(info.user_state(sub)["withdrawable"]) == D(2000)
    # the master trades for it: vaultAddress = the sub-account
    as_sub = Exchange(master.wallet, devnet.url, vault_address=sub)
    placed = _ok(as_sub.order("BTC", True, 0.1, 80000.0, {"limit": {"tif": "Gtc"}}))
    assert "resting" in placed["data"]["statuses"][0]
    assert [o["coin"] for o in info.open_orders(sub)] == ["BTC"] and info.open_orders(user) == []
    listed = info.query_sub_accounts(user)
    assert [(s["name"], s["subAccountUser"], s["master"]) for s in listed] == [("desk1", sub, user)]
    assert set(listed[0]) == {"name", "subAccountUser", "master", "clearinghouseState", "spotState"}
    _ok(master.sub_account_transfer(sub, False, 500_000_000))
    rows = http.info({"type": "userNonFundingLedgerUpdates", "user": sub, "startTime": 0})
    assert [r["delta"]["type"] for r in rows] == ["subAccountTransfer", "subAccountTransfer"]
    # another user may not act for it
    other = Exchange(eth_account.Account.from_key(OTHER_KEY), devnet.url, vault_address=sub)
    http.control("fund", {"user": address(OTHER_KEY), "amount": "100000"})
    refused = other.order("BTC", True, 0.001, 80000.0, {"limit": {"tif": "Gtc"}})
    assert refused == {"status": "err", "response": "Vault may not perform this action."}


def test_referral_codes_follow_the_venue_stages(devnet, http, master):
    other = Exchange(eth_account.Account.from_key(OTHER_KEY), devnet.url)
    res = other.set_referrer("NOPE")
    assert res["status"] == "err" and "does not exist" in res["response"]
    # the master trades $10,000+ (against the other account), then registers a code
    _ok(other.order("ETH", False, 4.0, 3200.0, {"limit": {"tif": "Gtc"}}))
    _ok(master.order("ETH", True, 4.0, 3200.0, {"limit": {"tif": "Ioc"}}))
    user = master.wallet.address.lower()
    state = http.info({"type": "referral", "user": user})["referrerState"]
    assert state == {"stage": "needToCreateCode"}
    nonce = int(time.time() * 1000)
    _ok(http.post("/exchange", signed_l1(MASTER_KEY, {"type": "registerReferrer", "code": "DESK"}, nonce=nonce)))
    _ok(other.set_referrer("DESK"))
    assert http.info({"type": "referral", "user": address(OTHER_KEY)})["referredBy"] == {"referrer": user, "code": "DESK"}
    again = other.set_referrer("DESK")
    assert again["status"] == "err"
    ready = http.info({"type": "referral", "user": user})["referrerState"]
    assert ready["stage"] == "ready" and ready["data"]["code"] == "DESK" and ready["data"]["nReferrals"] == 1


def test_top_up_isolated_only_margin_and_vault_transfer(http, master):
    user = master.wallet.address.lower()
    _ok(master.update_leverage(10, "SOL", is_cross=False))
    http.info({"type": "clearinghouseState", "user": address(OTHER_KEY)})  # a client looks before it trades
    _ok(http.post("/exchange", signed_l1(OTHER_KEY, limit_order(2, False, "180", "10"))))
    _ok(master.order("SOL", True, 10.0, 180.0, {"limit": {"tif": "Ioc"}}))
    pos = next(p["position"] for p in http.info({"type": "clearinghouseState", "user": user})["assetPositions"] if p["position"]["coin"] == "SOL")
    before = D(pos["marginUsed"])
    action = {"type": "topUpIsolatedOnlyMargin", "asset": 2, "leverage": "5"}
    # The SDK's nonces are the current millisecond too: step off the ones it used or will use.
    time.sleep(0.003)
    _ok(http.post("/exchange", signed_l1(MASTER_KEY, action, nonce=int(time.time() * 1000))))
    time.sleep(0.003)
    info_pos = next(p["position"] for p in http.info({"type": "clearinghouseState", "user": user})["assetPositions"] if p["position"]["coin"] == "SOL")
    assert D(info_pos["marginUsed"]) > before
    assert D(info_pos["marginUsed"]) == pytest.approx(D(info_pos["positionValue"]) / 5, abs=D("0.01"))
    res = master.vault_usd_transfer("0x" + "1" * 40, True, 1_000_000)
    assert res == {"status": "err", "response": "Vault does not exist."}


def test_twap_history_and_slice_fills_are_recorded():
    from perpcli.devnet.engine import Engine
    from perpcli.devnet.records import OrderSpec
    from perpcli.devnet.twap import SLICE_MS, TwapBook

    t0 = 1_700_000_000_000
    maker, taker = "0x" + "a" * 40, "0x" + "b" * 40
    eng = Engine(start_ms=t0)
    eng.place_orders(maker, [OrderSpec(1, False, D(3200), D(10), False, "Gtc")], "na", t0)
    book = TwapBook()
    status = book.start(eng, taker, 1, True, D("0.2"), False, 5, False, t0)
    twap_id = status["running"]["twapId"]
    for k in range(10):
        book.step(eng, t0 + k * SLICE_MS)
    rows = book.history_of(taker)
    assert [r["status"] for r in rows] == [{"status": "activated"}, {"status": "finished"}]
    assert rows[-1]["twapId"] == twap_id and rows[-1]["time"] == (t0 + 9 * SLICE_MS) // 1000
    assert rows[-1]["state"]["executedSz"] == "0.2" and rows[-1]["state"]["executedNtl"] == "640.0"
    fills = book.slice_fills_of(taker)
    assert len(fills) == 10 and all(f["twapId"] == twap_id and f["fill"]["hash"] == "0x" + "0" * 64 for f in fills)
    assert sum(D(f["fill"]["sz"]) for f in fills) == D("0.2")
    again = TwapBook()
    again.load_json(book.to_json())
    assert again.history_of(taker) == rows and again.slice_fills_of(taker) == fills


def test_a_master_moves_funds_inside_and_into_its_sub_account(devnet, http, info, master):
    user = master.wallet.address.lower()
    sub = _ok(master.create_sub_account("desk2"))["data"]
    _ok(master.sub_account_transfer(sub, True, 300_000_000))  # $300 to its perp balance
    as_sub = Exchange(master.wallet, devnet.url, vault_address=sub)
    _ok(as_sub.usd_class_transfer(100, False))  # "100 subaccount:0x…": perp -> spot inside the sub
    spot = {b["coin"]: b["total"] for b in info.spot_user_state(sub)["balances"]}
    assert D(spot["USDC"]) == D(100) and D(info.user_state(sub)["withdrawable"]) == D(200)
    # back to the master's spot; a whole 40.0 would be signed as "40.0", re-serialised as "40"
    _ok(master.sub_account_spot_transfer(sub, False, "USDC", 40.5))
    assert D({b["coin"]: b["total"] for b in info.spot_user_state(sub)["balances"]}["USDC"]) == D("59.5")
    # sendAsset from the sub-account, signed by the master (fromSubAccount)
    action = {
        "type": "sendAsset", "hyperliquidChain": "Testnet", "signatureChainId": "0x66eee",
        "destination": user, "sourceDex": "", "destinationDex": "xyz", "token": "USDC", "amount": "50",
        "fromSubAccount": sub, "nonce": int(time.time() * 1000),
    }
    from tests.devnet_helpers import signed_user

    _ok(http.post("/exchange", signed_user(MASTER_KEY, action)))
    assert D(info.user_state(sub)["withdrawable"]) == D(150)
    stranger = dict(action, nonce=int(time.time() * 1000) + 1)
    refused = http.post("/exchange", signed_user(OTHER_KEY, stranger))
    assert refused == {"status": "err", "response": "Vault may not perform this action."}
