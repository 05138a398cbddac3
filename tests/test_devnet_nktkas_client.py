"""The npm client @nktkas/hyperliquid, unchanged, against a devnet.

A TypeScript client with its own request schemas, canonical key order and signing (through
viem): tests/nktkas_driver.mjs makes its main reads, actions and websocket subscriptions
against a devnet in one node run and prints one JSON line per call; each call is a case here. `make install` puts the
client into .tools when node/npm are present; without them this file skips with one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from perpcli.devnet.server import DevnetConfig, start_in_thread
from tests.support import register_secret

REPO = Path(__file__).resolve().parent.parent
MODULES = REPO / ".tools" / "node_modules"
DRIVER = Path(__file__).resolve().parent / "nktkas_driver.mjs"
NODE = shutil.which("node")
if NODE is None or not (MODULES / "@nktkas" / "hyperliquid").is_dir() or not (MODULES / "viem").is_dir():
    pytest.skip("node or the npm client not found: run `make install` with node/npm present", allow_module_level=True)

pytestmark = pytest.mark.timeout(120)
TRADER_KEY = "0x" + "4f" * 32
MAKER_KEY = "0x" + "5f" * 32
register_secret(TRADER_KEY)
register_secret(MAKER_KEY)


@pytest.fixture(scope="module")
def calls() -> dict[str, dict]:
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    try:
        env = {"PATH": os.environ.get("PATH", ""), "NKTKAS_MODULES": str(MODULES),
               "TRADER_KEY": TRADER_KEY, "MAKER_KEY": MAKER_KEY}  # keys by environment, never argv
        run = subprocess.run([NODE, str(DRIVER), handle.url], capture_output=True, text=True, timeout=100, env=env)
    finally:
        handle.stop()
    assert run.returncode == 0, run.stderr[-2000:]
    return {rec["name"]: rec for rec in map(json.loads, run.stdout.splitlines())}


def _value(calls, name):
    rec = calls[name]
    assert rec["ok"], rec
    return rec["value"]


READS = [
    "clearinghouseState", "meta", "metaAndAssetCtxs", "meta_dex", "allMids", "l2Book", "candleSnapshot",
    "fundingHistory", "recentTrades", "perpDexs", "spotMeta", "spotMetaAndAssetCtxs", "spotClearinghouseState",
    "openOrders", "frontendOpenOrders", "userFills", "userFillsByTime", "userFunding",
    "userNonFundingLedgerUpdates", "historicalOrders", "userRateLimit", "userRole", "userFees", "portfolio",
    "referral", "subAccounts", "extraAgents", "maxBuilderFee", "approvedBuilders", "predictedFundings",
    "perpsAtOpenInterestCap", "maxMarketOrderNtls", "perpDeployAuctionStatus", "spotDeployState",
    "userToMultiSigSigners", "userAbstraction", "userDexAbstraction", "userVaultEquities", "delegatorSummary",
    "twapHistory", "userTwapSliceFills", "webData2", "activeAssetData", "exchangeStatus",
]


@pytest.mark.parametrize("name", READS)
def test_read_is_answered(calls, name):
    _value(calls, name)


def test_reads_carry_the_venues_values(calls):
    assert _value(calls, "clearinghouseState")["withdrawable"] == "100000.0"  # first look funds it
    assert _value(calls, "meta")["universe"][0]["name"] == "BTC"
    assert _value(calls, "perpDexs")[0] is None
    assert _value(calls, "userRole") == {"role": "user"}
    assert _value(calls, "userToMultiSigSigners") is None
    assert _value(calls, "spotDeployState")["states"] == []
    assert len(_value(calls, "candleSnapshot")) >= 23  # seeded history before launch


ACTIONS = [
    "order_maker_ask", "order_maker_bid", "updateLeverage", "order_ioc_fill", "updateIsolatedMargin",
    "topUpIsolatedOnlyMargin", "order_rest", "modify", "batchModify", "cancelByCloid", "order_rest_again",
    "cancel", "order_positionTpsl", "twapOrder", "usdClassTransfer", "usdSend", "spotSend", "sendAsset",
    "approveAgent", "approveBuilderFee", "createSubAccount", "subAccountTransfer", "subAccountSpotTransfer",
    "evmUserModify", "userSetAbstraction", "noop", "withdraw3",
]


@pytest.mark.parametrize("name", ACTIONS)
def test_action_is_signed_recovered_and_accepted(calls, name):
    """Each answer is `ok`: the client's signature recovered to its own, funded account."""
    assert _value(calls, name)["status"] == "ok"


def test_actions_moved_the_account(calls):
    fill = _value(calls, "order_ioc_fill")["response"]["data"]["statuses"][0]["filled"]
    assert (fill["totalSz"], fill["avgPx"]) == ("0.1", "3020.0")
    after = _value(calls, "clearinghouseState_after")
    pos = after["assetPositions"][0]["position"]
    assert (pos["coin"], pos["leverage"]["type"]) == ("ETH", "isolated")
    assert Decimal("0.1") <= Decimal(pos["szi"]) <= Decimal("0.15")  # the fill, and any TWAP slice since
    xyz = _value(calls, "clearinghouseState_xyz_after")  # sendAsset moved 3 USDC to the xyz dex
    assert Decimal(xyz["withdrawable"]) == Decimal(100_003)


SUBSCRIPTIONS = [
    "l2Book", "trades", "allMids", "bbo", "candle", "activeAssetCtx", "activeAssetData", "clearinghouseState",
    "openOrders", "orderUpdates", "userEvents", "userFills", "userFundings", "userNonFundingLedgerUpdates",
    "userHistoricalOrders", "twapStates", "spotState",
]


@pytest.mark.parametrize("name", SUBSCRIPTIONS)
def test_subscription_delivers(calls, name):
    """Each subscription is acknowledged and delivers a message its listener receives (a
    snapshot, or the push the driver's SOL trade causes) within five seconds."""
    _value(calls, f"ws_{name}")


def test_subscriptions_carry_the_trade(calls):
    assert _value(calls, "ws_trades")[0]["px"] == "181.5"
    assert _value(calls, "ws_orderUpdates")[0]["status"] == "filled"


# VENUE_REFUSES: the client raises the venue's own text for these, as it would against the venue.
REFUSED = {
    "scheduleCancel": "Cannot set scheduled cancel time until enough volume traded. Required: $1000000.",
    "setReferrer": "Referral code does not exist",
    "vaultTransfer": "Vault does not exist.",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_the_venue_refuses(calls, name):
    assert calls[name]["ok"] is False and REFUSED[name] in calls[name]["error"], calls[name]
