"""The devnet's compiled Ostium contracts speak the deployed ABIs: every call perpcli makes has
the deployed selector and output types, every event the devnet can emit has the deployed topic
and indexed layout, every custom error it can raise is a deployed one, and the committed
artifacts were built from the committed sources. No node or compiler needed."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from perpcli.devnet.ostium import artifacts
from perpcli.keys.hashing import keccak256
from perpcli.venues.ostium import abi, events

# What perpcli's client calls or reads on each contract (calls.py, reads.py, trading.py).
CLIENT_CALLS = {
    "trading": ("openTrade", "closeTradeMarket", "updateTp", "updateSl", "topUpCollateral", "removeCollateral",
                "updateOpenLimitOrder", "cancelOpenLimitOrder", "openTradeMarketTimeout", "closeTradeMarketTimeout",
                "setDelegate", "removeDelegate", "delegatedAction", "registry", "executeAutomationOrder",
                "marketOrdersTimeout", "maxAllowedCollateral", "delegations", "isPaused"),
    "trading_storage": ("maxTradesPerPair", "openTradesCount", "getOpenTrade", "getOpenTradeInfo", "openTrades",
                        "openTradesInfo", "openLimitOrdersCount", "hasOpenLimitOrder", "getOpenLimitOrder",
                        "maxPendingMarketOrders", "reqID_pendingMarketOrder", "getPendingOrderIds", "usdc",
                        "firstEmptyTradeIndex", "firstEmptyOpenLimitIndex", "pendingMarketOpenCount"),
    "pairs_storage": ("pairsCount", "pairMinLeverage", "pairMaxLeverage", "pairMinLevPos", "pairOvernightMaxLeverage",
                      "isPairIndexListed"),
    "pairs_info": ("liqMarginThresholdP", "getTradeLiquidationPrice", "getTradeRolloverFee", "getTradeFundingFee"),
    "usdc": ("approve", "allowance", "balanceOf", "transfer", "transferFrom", "decimals", "mint", "totalSupply"),
    "callbacks": ("openTradeMarketCallback", "closeTradeMarketCallback", "executeAutomationOpenOrderCallback",
                  "executeAutomationCloseOrderCallback", "handleRemoveCollateral", "registry"),
}
DEPLOYED_NAME = {"registry": None}  # the registry's ABI is not published (reads.py encodes its one getter)


def entries(artifact: str, kind: str) -> dict[str, dict]:
    return {abi.signature(e): e for e in artifacts.load(artifact)["abi"] if e.get("type") == kind}


def deployed(artifact: str, kind: str) -> dict[str, dict]:
    return {abi.signature(e): e for e in abi.load(artifact) if e.get("type") == kind}


@pytest.mark.parametrize("artifact", sorted(CLIENT_CALLS))
def test_every_call_perpcli_makes_has_the_deployed_selector_and_outputs(artifact):
    ours = entries(artifact, "function")
    for name in CLIENT_CALLS[artifact]:
        fn = abi.function(artifact, name)
        matching = [e for sig, e in ours.items() if keccak256(sig.encode())[:4] == fn.selector]
        assert matching, f"{artifact}.{name}: selector 0x{fn.selector.hex()} missing from the devnet contract"
        outputs = tuple(abi.canonical_type(p) for p in matching[0].get("outputs", ()))
        assert outputs == fn.output_types, f"{artifact}.{name} returns {outputs}, deployed {fn.output_types}"


@pytest.mark.parametrize("artifact", sorted(set(artifacts.PLACEMENT) - {"registry"}))
def test_every_event_the_devnet_emits_is_a_deployed_event(artifact):
    theirs = deployed(artifact, "event")
    for sig, ours in entries(artifact, "event").items():
        assert sig in theirs, f"{artifact} emits {sig}, which the deployed ABI does not have"
        assert [p["indexed"] for p in ours["inputs"]] == [p["indexed"] for p in theirs[sig]["inputs"]], sig


@pytest.mark.parametrize("artifact", sorted(artifacts.PLACEMENT))
def test_every_custom_error_is_a_deployed_error(artifact):
    known = abi.errors_by_selector()
    for sig, entry in entries(artifact, "error").items():
        selector = keccak256(sig.encode())[:4]
        assert selector in known and known[selector].name == entry["name"], f"{artifact}: {sig} is not deployed"


def test_the_trading_errors_perpcli_maps_are_raised_by_the_devnet():
    """The errors the adapter turns into an ErrorKind for an order are all in the devnet's Trading ABI."""
    ours = {e["name"] for e in artifacts.load("trading")["abi"] if e.get("type") == "error"}
    for name in ("WrongLeverage", "WrongTP", "WrongSL", "BelowMinLevPos", "PairNotListed", "NoTradeFound",
                 "NoLimitFound", "MaxTradesPerPairReached", "MaxPendingMarketOrdersReached", "WaitTimeout",
                 "NotYourOrder", "NoTradeToTimeoutFound", "NotDelegate", "DelegatedActionFailed", "IsPaused",
                 "AboveMaxAllowedCollateral", "AlreadyMarketClosed"):
        assert name in ours, name


def test_the_callbacks_contract_emits_every_settlement_event_the_client_waits_for():
    ours = {e["name"] for e in artifacts.load("callbacks")["abi"] if e.get("type") == "event"}
    settlement = events.SETTLEMENT_EVENTS - {"MarketCloseExecuted"}  # the pre-V2 close event, superseded
    assert settlement <= ours


def test_artifacts_carry_runtime_code_and_were_built_from_these_sources():
    folder = resources.files("perpcli.devnet.ostium").joinpath("contracts")
    digest = hashlib.sha256()
    for path in sorted((p for p in folder.iterdir() if p.name.endswith(".sol")), key=lambda p: p.name):
        digest.update((path.name + "\n" + path.read_text()).encode())
    for name in artifacts.PLACEMENT:
        art = artifacts.load(name)
        assert art["runtime_bytecode"].startswith("0x") and len(art["runtime_bytecode"]) > 200
        assert art["sources_sha256"] == digest.hexdigest(), (
            f"{name}.json is stale: run `make ostium-contracts` after editing the Solidity sources")


def test_the_devnet_places_the_traders_contracts_at_the_mainnet_addresses():
    from perpcli.venues.ostium.networks import MAINNET

    assert artifacts.PLACEMENT["trading"] == MAINNET.trading.lower()
    assert artifacts.PLACEMENT["trading_storage"] == MAINNET.trading_storage.lower()
    assert artifacts.PLACEMENT["usdc"] == MAINNET.usdc.lower()
