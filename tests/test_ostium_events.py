"""Ostium events: an order is accepted until its one settlement event, decoded from the ABIs."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from eth_abi import encode

from perpcli.domain.errors import ErrorKind
from perpcli.venues.ostium import events
from perpcli.venues.ostium.abi import event_topics

TRADER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
CALLBACKS = "0x" + "cc" * 20
TRADE_TYPE = "(uint256,uint192,uint192,uint192,address,uint32,uint16,uint8,bool,bool)"
GOLD_TRADE = (100_000_000, 2650_123450000000000000, 2800 * 10**18, 0, TRADER, 1000, 5, 0, True, False)


def topic(contract: str, name: str) -> str:
    return next("0x" + t.hex() for t, e in event_topics(contract).items() if e["name"] == name)


def word(value: int | str) -> str:
    if isinstance(value, str):
        value = int(value, 16)
    return "0x" + value.to_bytes(32, "big").hex()


def log(contract: str, name: str, indexed: list, types: list[str], values: list, *, block: int = 7) -> dict:
    return {"address": CALLBACKS, "topics": [topic(contract, name), *(word(v) for v in indexed)],
            "data": "0x" + encode(types, values).hex(), "blockNumber": hex(block), "transactionHash": "0x" + "ab" * 32}


def test_the_accepted_order_id_comes_from_the_traders_receipt():
    receipt_logs = [
        {"address": "0x" + "11" * 20, "topics": ["0x" + "ff" * 32], "data": "0x"},  # USDC Transfer or anything else
        log("trading", "MarketOpenOrderInitiated", [4242, TRADER, 5], [], []),
    ]
    assert events.initiated_order_id(receipt_logs) == 4242
    assert events.initiated_order_id(receipt_logs[:1]) is None


def test_an_executed_open_is_a_trade_with_its_price_and_size():
    settled = [log("callbacks", "MarketOpenExecuted", [4242], [TRADE_TYPE, "uint256", "uint256"],
                   [GOLD_TRADE, 0, 1000 * 10**18])]
    outcome = events.outcome_of(4242, events.decode_logs(settled))
    assert outcome is not None and outcome.executed and outcome.event == "MarketOpenExecuted"
    trade = outcome.trade
    assert (trade.collateral, trade.open_price, trade.tp, trade.sl, trade.leverage) == (
        D("100"), D("2650.12345"), D("2800"), None, D("10"))
    assert trade.notional == D("1000") and trade.size == D("1000") / D("2650.12345")
    assert "executed at 2650.12345" in outcome.describe()


def test_a_cancelled_open_says_why():
    settled = [log("callbacks", "MarketOpenCanceled", [77, TRADER, 5], ["uint8"], [2])]
    outcome = events.outcome_of(77, events.decode_logs(settled))
    assert outcome is not None and not outcome.executed
    assert outcome.cancel_reason is events.CancelReason.MARKET_CLOSED
    assert outcome.cancel_reason.kind is ErrorKind.MARKET_CLOSED
    assert outcome.describe() == "order 77 cancelled by the keeper: market closed"


def test_a_partial_close_reports_price_payout_and_share():
    settled = [log("callbacks", "MarketCloseExecutedV2", [9, 31],
                   ["uint256", "uint256", "int256", "uint256", "uint256"],
                   [2700_5 * 10**17, 0, 1_900_000, 25_475_000, 2500])]
    outcome = events.outcome_of(9, events.decode_logs(settled))
    assert outcome is not None and outcome.executed
    assert (outcome.price, outcome.usdc_to_trader, outcome.percent_closed) == (D("2700.5"), D("25.475"), D("25"))


def test_another_orders_settlement_is_not_this_ones():
    settled = [log("callbacks", "MarketOpenCanceled", [78, TRADER, 5], ["uint8"], [3])]
    assert events.outcome_of(77, events.decode_logs(settled)) is None


@pytest.mark.parametrize("bad", [
    {"topics": [], "data": "0x"},
    {"topics": ["nothex"], "data": "0x"},
    {"topics": [topic("callbacks", "MarketOpenCanceled")], "data": "0x"},  # indexed topics missing
    {"topics": [topic("callbacks", "MarketOpenCanceled"), word(1), word(2), word(3)], "data": "0x12"},  # short data
])
def test_malformed_logs_are_skipped_not_guessed(bad):
    assert events.decode_log({"address": CALLBACKS, **bad}) is None


def test_an_unknown_cancel_reason_is_kept_unknown():
    settled = [log("callbacks", "MarketOpenCanceled", [5, TRADER, 5], ["uint8"], [200])]
    outcome = events.outcome_of(5, events.decode_logs(settled))
    assert outcome is not None and outcome.cancel_reason is None and "no reason given" in outcome.describe()
