"""Ostium calldata and signed transactions, byte for byte against the SDK-produced vectors."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from perpcli.domain.errors import ValidationError
from perpcli.keys.signer import Signer
from perpcli.venues.ostium import abi, calls, scaling
from perpcli.venues.ostium import transactions as txs
from tests.support import REPO

VECTORS = json.loads((REPO / "tests" / "vectors" / "ostium_vectors.json").read_text())
BY_NAME = {v["name"]: v for v in VECTORS["calldata_vectors"]}
TRADER = VECTORS["test_account"]["address"]
CONTRACTS = VECTORS["network"]["contracts"]


def _abi_args(fn: abi.Function, args: list) -> list:
    """The vector's JSON args in eth-abi's shape: struct dicts as tuples in ABI component order."""
    entry = next(e for e in abi.load(fn.contract) if e.get("type") == "function" and e["name"] == fn.name)
    out = []
    for param, value in zip(entry["inputs"], args, strict=True):
        if param["type"] == "tuple":
            value = tuple(value[c["name"]] for c in param["components"])
        elif param["type"] == "bytes":
            value = bytes.fromhex(BY_NAME["updateTp"]["calldata"][2:])  # the vector's inner call (a bytes repr)
        out.append(value)
    return out


@pytest.mark.parametrize("vector", VECTORS["calldata_vectors"], ids=lambda v: v["name"])
def test_every_calldata_vector_from_the_deployed_abi(vector):
    fn = abi.function("trading", vector["function"])
    assert "0x" + fn.encode(*_abi_args(fn, vector["args"])).hex() == vector["calldata"]


def test_selectors_match_the_vectors_for_every_function_and_error():
    tables = {"trading": "trading", "tradingStorage": "trading_storage", "callbacks": "callbacks",
              "pairsStorage": "pairs_storage", "pairsInfo": "pairs_info"}
    for key, contract in tables.items():
        for sig, sel in VECTORS["selectors"][key]["functions"].items():
            assert "0x" + abi.function(contract, sig.split("(")[0]).selector.hex() == sel, sig
        for sig, sel in VECTORS["selectors"][key].get("errors", {}).items():
            assert abi.errors_by_selector()[bytes.fromhex(sel[2:])].name == sig.split("(")[0]
    topics = {"0x" + t.hex(): e["name"] for t, e in abi.event_topics("trading").items()}
    for sig, topic in VECTORS["selectors"]["trading"]["events"].items():
        assert topics[topic] == sig.split("(")[0]


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def test_market_open_from_decimals_matches_vector():
    order = calls.OpenTrade(trader=TRADER, pair_index=5, buy=True, collateral=D("100"), leverage=D("10"),
                            order_type=calls.OrderType.MARKET, price=D("2650.12345"), tp=D("2800"), sl=D("2600"),
                            slippage_pct=D("2"))
    assert _hex(calls.open_trade(order)) == BY_NAME["openTrade_market_long_xau_10x"]["calldata"]


def test_limit_open_without_brackets_matches_vector():
    order = calls.OpenTrade(trader=TRADER, pair_index=7, buy=False, collateral=D("100"), leverage=D("10"),
                            order_type=calls.OrderType.LIMIT, price=D("71.5"))
    assert _hex(calls.open_trade(order)) == BY_NAME["openTrade_limit_short_cl_nobrackets"]["calldata"]


def test_stop_open_with_configured_builder_fee_matches_vector():
    order = calls.OpenTrade(trader=TRADER, pair_index=2, buy=True, collateral=D("100"), leverage=D("50"),
                            order_type=calls.OrderType.STOP, price=D("1.08765"), tp=D("2800"), sl=D("2600"),
                            builder=calls.BuilderFee("0x1111111111111111111111111111111111111111", D("0.05")))
    assert _hex(calls.open_trade(order)) == BY_NAME["openTrade_stop_long_eurusd_builderfee"]["calldata"]


def test_no_builder_fee_unless_configured():
    order = calls.OpenTrade(trader=TRADER, pair_index=5, buy=True, collateral=D("1"), leverage=D("2"),
                            order_type=calls.OrderType.MARKET, price=D("2000"), slippage_pct=D("1"))
    assert order.builder_tuple() == (calls.ZERO_ADDRESS, 0)


def test_every_other_trader_call_from_decimals():
    cases = {
        "closeTradeMarket_full": calls.close_trade_market(5, 0, D("100"), D("2700.5"), D("2")),
        "closeTradeMarket_partial_25": calls.close_trade_market(5, 0, D("25"), D("2700.5"), D("2")),
        "updateTp": calls.update_tp(5, 0, D("2900")),
        "updateSl": calls.update_sl(5, 0, D("2550")),
        "cancelOpenLimitOrder": calls.cancel_open_limit_order(7, 0),
        "updateOpenLimitOrder": calls.update_open_limit_order(7, 0, D("70"), None, D("75")),
        "topUpCollateral": calls.top_up_collateral(5, 0, D("25")),
        "removeCollateral": calls.remove_collateral(5, 0, D("10")),
        "openTradeMarketTimeout": calls.open_trade_market_timeout(123456),
        "closeTradeMarketTimeout": calls.close_trade_market_timeout(123456, False),
        "setDelegate": calls.set_delegate("0x2222222222222222222222222222222222222222"),
        "delegatedAction_updateTp": calls.delegated_action(TRADER, calls.update_tp(5, 0, D("2900"))),
    }
    for name, data in cases.items():
        assert _hex(data) == BY_NAME[name]["calldata"], name


def test_usdc_approve_matches_the_signed_vectors_calldata():
    vector = next(v for v in VECTORS["signed_tx_vectors"] if v["name"] == "usdc_approve_tradingStorage")
    assert _hex(calls.approve(CONTRACTS["tradingStorage"], D("100"))) == vector["tx"]["data"]


def _tx(fields: dict) -> txs.Eip1559Tx:
    return txs.Eip1559Tx(chain_id=fields["chainId"], nonce=fields["nonce"],
                         max_priority_fee_per_gas=fields["maxPriorityFeePerGas"],
                         max_fee_per_gas=fields["maxFeePerGas"], gas=fields["gas"], to=fields["to"],
                         data=bytes.fromhex(fields["data"][2:]), value=fields["value"])


@pytest.mark.parametrize("vector", VECTORS["signed_tx_vectors"], ids=lambda v: v["name"])
def test_signed_eip1559_vectors_byte_for_byte(vector):
    signer = Signer.from_hex(VECTORS["test_account"]["private_key"])
    signed = txs.sign(_tx(vector["tx"]), signer)
    assert signed.raw_hex == vector["raw_tx"]
    if "tx_hash" in vector:
        assert signed.hash_hex == vector["tx_hash"]
    back = txs.decode(signed.raw)
    assert back.sender == TRADER.lower() and back.tx == signed.tx


def test_signing_agrees_with_eth_account_on_other_transactions():
    from eth_account import Account

    key = VECTORS["test_account"]["private_key"]
    signer = Signer.from_hex(key)
    for nonce, tip, fee, value in [(0, 0, 1, 0), (1, 10**9, 3 * 10**9, 5), (2**40, 7, 2**70, 10**18)]:
        tx = txs.Eip1559Tx(chain_id=421614, nonce=nonce, max_priority_fee_per_gas=tip, max_fee_per_gas=fee,
                           gas=300_000, to=CONTRACTS["trading"], data=calls.cancel_open_limit_order(7, nonce % 3),
                           value=value)
        oracle = Account.sign_transaction({"type": 2, "chainId": 421614, "nonce": nonce, "maxPriorityFeePerGas": tip,
                                           "maxFeePerGas": fee, "gas": 300_000, "to": calls.checksum(tx.to),
                                           "value": value, "data": tx.data}, key)
        assert txs.sign(tx, signer).raw == bytes(oracle.raw_transaction)


def test_decode_refuses_other_transaction_types_and_tampering():
    vector = VECTORS["signed_tx_vectors"][0]
    raw = bytes.fromhex(vector["raw_tx"][2:])
    with pytest.raises(ValueError):
        txs.decode(b"\x01" + raw[1:])
    tampered = txs.decode(raw[:-1] + bytes([raw[-1] ^ 1]))  # another s: recovers someone else
    assert tampered.sender != TRADER.lower()


@pytest.mark.parametrize("bad", [
    lambda: calls.OpenTrade(trader=TRADER, pair_index=7, buy=False, collateral=D("100"), leverage=D("10"),
                            order_type=calls.OrderType.LIMIT, price=D("71.5"), slippage_pct=D("1")),
    lambda: calls.OpenTrade(trader=TRADER, pair_index=5, buy=True, collateral=D("100"), leverage=D("10"),
                            order_type=calls.OrderType.MARKET, price=D("2650.1234512345123451234"),
                            slippage_pct=D("1")),
    lambda: calls.OpenTrade(trader=TRADER, pair_index=5, buy=True, collateral=D("100.0000001"), leverage=D("10"),
                            order_type=calls.OrderType.MARKET, price=D("2650"), slippage_pct=D("1")),
    lambda: calls.OpenTrade(trader=TRADER, pair_index=5, buy=True, collateral=D("100"), leverage=D("10.001"),
                            order_type=calls.OrderType.MARKET, price=D("2650"), slippage_pct=D("1")),
    lambda: calls.OpenTrade(trader=TRADER, pair_index=5, buy=True, collateral=D("100"), leverage=D("10"),
                            order_type=calls.OrderType.MARKET, price=D("2650"), slippage_pct=D("1"),
                            builder=calls.BuilderFee("0x1111111111111111111111111111111111111111", D("0.6"))),
    lambda: calls.OpenTrade(trader=TRADER.replace("f39F", "F39f"), pair_index=5, buy=True, collateral=D("100"),
                            leverage=D("10"), order_type=calls.OrderType.MARKET, price=D("2650"),
                            slippage_pct=D("1")),
    lambda: calls.OpenTrade(trader=TRADER, pair_index=70000, buy=True, collateral=D("100"), leverage=D("10"),
                            order_type=calls.OrderType.MARKET, price=D("2650"), slippage_pct=D("1")),
    lambda: calls.OpenTrade(trader=TRADER, pair_index=5, buy=True, collateral=D("0"), leverage=D("10"),
                            order_type=calls.OrderType.MARKET, price=D("2650"), slippage_pct=D("1")),
], ids=["limit-slippage", "price-decimals", "collateral-decimals", "leverage-decimals", "builder-cap",
        "bad-checksum", "pair-range", "zero-collateral"])
def test_open_trade_refuses_what_it_cannot_send_exactly(bad):
    with pytest.raises(ValidationError):
        calls.open_trade(bad())


def test_close_percentage_bounds():
    for pct in (D("0"), D("100.01"), D("-1")):
        with pytest.raises(ValidationError):
            calls.close_trade_market(5, 0, pct, D("2700"), D("1"))


def test_delegated_open_must_name_the_trader_not_the_delegate():
    delegate = "0x2222222222222222222222222222222222222222"
    inner = calls.open_trade(calls.OpenTrade(trader=delegate, pair_index=5, buy=True, collateral=D("10"),
                                             leverage=D("5"), order_type=calls.OrderType.MARKET, price=D("2650"),
                                             slippage_pct=D("1")))
    with pytest.raises(ValidationError, match="trader, not the delegate"):
        calls.delegated_action(TRADER, inner)
    good = calls.open_trade(calls.OpenTrade(trader=TRADER, pair_index=5, buy=True, collateral=D("10"),
                                            leverage=D("5"), order_type=calls.OrderType.MARKET, price=D("2650"),
                                            slippage_pct=D("1")))
    assert calls.delegated_action(TRADER, good)[:4] == abi.function("trading", "delegatedAction").selector


def test_revert_data_decodes_to_the_custom_error():
    from eth_abi import encode

    from perpcli.keys.hashing import keccak256

    data = keccak256(b"WrongLeverage(uint32)")[:4] + encode(["uint32"], [20000])
    got = abi.decode_revert(data)
    assert (got.name, got.args) == ("WrongLeverage", (20000,))
    assert got.describe() == "WrongLeverage(20000)"
    assert abi.decode_revert(bytes.fromhex("08c379a0") + encode(["string"], ["paused"])).describe() == "paused"
    assert abi.decode_revert(b"").describe() == "reverted without a reason"
    assert abi.decode_revert(data[:6]).name == ""  # truncated arguments: unknown, not a crash


def test_wire_values_read_back_exactly():
    assert scaling.price_from_wire(2650123450000000000000) == D("2650.12345")
    assert str(scaling.price_from_wire(2800 * 10**18)) == "2800"
    assert scaling.usdc_from_wire(100_000_001) == D("100.000001")
    assert scaling.leverage_from_wire(1000) == D("10")
    big = 2**192 - 1
    assert scaling.price_to_wire(scaling.price_from_wire(big)) == big
