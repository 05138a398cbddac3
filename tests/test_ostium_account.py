"""An Ostium account read from the chain by address: wallet USDC, trades, resting orders."""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from perpcli.domain.errors import UsageError
from perpcli.domain.orders import OrderType, Side
from perpcli.venues import registry
from perpcli.venues.ostium import adapter
from perpcli.venues.ostium.chain import FeePolicy
from tests.ostium_node import PAIRS_STORAGE, TRADING_STORAGE, ScriptedNode, serving
from tests.test_ostium_positions import TRADER, scripted

USDC = "0xaf88d065e77c8cc2239327c5edb3a432268e5831"


def account_node() -> ScriptedNode:
    node = scripted()  # gold long at 5:1, oil short at 7:0 (pairs 5, 7 and 8 scripted)
    node.expect(PAIRS_STORAGE, "pairs_storage", "pairsCount", (), [9])
    for pair in range(9):
        if pair not in (5, 7, 8):
            node.expect(TRADING_STORAGE, "trading_storage", "openTradesCount", (TRADER, pair), [0])
        node.expect(TRADING_STORAGE, "trading_storage", "openLimitOrdersCount", (TRADER, pair), [1 if pair == 7 else 0])
    node.expect(TRADING_STORAGE, "trading_storage", "hasOpenLimitOrder", (TRADER, 7, 0), [False])
    node.expect(TRADING_STORAGE, "trading_storage", "hasOpenLimitOrder", (TRADER, 7, 1), [True])
    limit = (100_000_000, 70 * 10**18, 0, 75 * 10**18, TRADER, 1000, 1773000000, 1773000000, 7, 2, 1, False, False)
    node.expect(TRADING_STORAGE, "trading_storage", "getOpenLimitOrder", (TRADER, 7, 1), [limit])
    node.expect(USDC, "usdc", "balanceOf", (TRADER,), [2_500_123_456])
    return node


def reader(url: str):
    market = registry.open_venue(registry.get_entry("ostium-devnet").config(
        url=url, ostium=adapter.OstiumSettings(fees=FeePolicy())))
    return market.trading(SimpleNamespace(address=TRADER))


def test_account_by_address_without_a_key():
    with serving(account_node()) as url:
        snap = reader(url).account()
    assert snap.balances[0].asset == "USDC" and snap.balances[0].total == D("2500.123456")
    # the two trades' collateral (100 + 50) and the 100 USDC the resting stop holds
    assert snap.withdrawable == D("2500.123456") and snap.margin_used == D("250")
    assert [p.symbol for p in snap.positions] == ["XAU-USD", "CL-USD"]
    assert snap.account_value is None  # no price feed on this devnet: equity is not guessed
    [order] = snap.open_orders
    assert (order.symbol, order.side, order.order_type, order.trigger_price, order.oid) == (
        "CL-USD", Side.SELL, OrderType.STOP_MARKET, D("70"), "7:1")
    assert order.size == D("1000") / D("70")


def test_positions_without_marks_still_show_the_chains_numbers():
    with serving(account_node()) as url:
        held = reader(url).positions()
    gold = held.positions[0]
    assert gold.unrealized_pnl is None and gold.liquidation_price == D("2410") and held.marks == {}


def test_book_style_orders_say_how_ostium_sizes_a_trade():
    with serving(account_node()) as url:
        t = reader(url)
        with pytest.raises(UsageError, match="size-only orders .* --collateral N --leverage L"):
            t.submit([])
        assert t.resolve_account().role == "user" and t.leverage_setting("XAU").leverage is None
