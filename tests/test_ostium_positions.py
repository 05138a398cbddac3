"""Open Ostium trades read back from chain views into the shared position shape."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.domain.instrument import MarginMode
from perpcli.venues.ostium import networks
from perpcli.venues.ostium.chain import Chain
from perpcli.venues.ostium.positions import parse_order_id
from perpcli.venues.ostium.reads import ChainReads
from perpcli.venues.ostium.rpc import JsonRpc
from tests.ostium_node import PAIR_INFOS, PAIRS_STORAGE, TRADING_STORAGE, ScriptedNode, serving

TRADER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
EMPTY = (0, 0, 0, 0, "0x" + "00" * 20, 0, 0, 0, False, False)
GOLD = (100_000_000, 2650 * 10**18, 2800 * 10**18, 0, TRADER, 1000, 5, 1, True, False)  # slot 1, 10x long
OIL = (50_000_000, 71_5 * 10**17, 0, 80 * 10**18, TRADER, 500, 7, 0, False, True)  # 5x short, day trade


def scripted() -> ScriptedNode:
    node = ScriptedNode()
    node.expect(TRADING_STORAGE, "trading_storage", "maxTradesPerPair", (), [3])
    counts = {5: 1, 7: 1, 8: 0}
    for pair, count in counts.items():
        node.expect(TRADING_STORAGE, "trading_storage", "openTradesCount", (TRADER, pair), [count])
    node.expect(TRADING_STORAGE, "trading_storage", "getOpenTrade", (TRADER, 5, 0), [EMPTY])  # a freed slot
    node.expect(TRADING_STORAGE, "trading_storage", "getOpenTrade", (TRADER, 5, 1), [GOLD])
    node.expect(TRADING_STORAGE, "trading_storage", "getOpenTrade", (TRADER, 7, 0), [OIL])
    for trade, trade_id, liq, rollover, funding in ((GOLD, 31, 2410 * 10**18, 120_000, -30_000),
                                                   (OIL, 32, 78 * 10**18, 0, 45_000)):
        pair, index = trade[6], trade[7]
        node.expect(TRADING_STORAGE, "trading_storage", "getOpenTradeInfo", (TRADER, pair, index),
                    [(trade_id, 0, trade[5], 0, 0, 1773100000, False)])
        node.expect(PAIRS_STORAGE, "pairs_storage", "pairMaxLeverage", (pair,), [10000])
        node.expect(PAIR_INFOS, "pairs_info", "getTradeLiquidationPrice",
                    (TRADER, pair, index, trade[1], trade[8], trade[0], trade[5], 10000), [liq])
        node.expect(PAIR_INFOS, "pairs_info", "getTradeRolloverFee",
                    (TRADER, pair, index, trade[8], trade[0], trade[5]), [rollover])
        node.expect(PAIR_INFOS, "pairs_info", "getTradeFundingFee",
                    (TRADER, pair, index, trade[8], trade[0], trade[5]), [funding, 0])
    return node


def test_open_trades_are_read_per_slot_with_the_chains_liquidation_and_fees():
    node = scripted()
    with serving(node) as url:
        reads = ChainReads(Chain(JsonRpc(url), networks.DEVNET))
        trades = reads.open_trades(TRADER, [5, 7, 8])
    assert [t.order_id for t in trades] == ["5:1", "7:0"]
    gold, oil = trades
    assert (gold.trade.collateral, gold.trade.leverage, gold.trade.tp, gold.trade.sl) == (D("100"), D("10"), D("2800"),
                                                                                          None)
    assert (gold.trade_id, gold.liquidation_price, gold.rollover_fee, gold.funding_fee) == (31, D("2410"), D("0.12"),
                                                                                            D("-0.03"))
    assert oil.trade.size == -(D("250") / D("71.5")) and oil.trade.day_trade and oil.trade.sl == D("80")


def test_a_trade_as_a_position_snapshot():
    node = scripted()
    with serving(node) as url:
        [gold, _] = ChainReads(Chain(JsonRpc(url), networks.DEVNET)).open_trades(TRADER, [5, 7])
    snap = gold.to_snapshot("XAU-USD", D("2676.5"))  # +1%: 10x -> +10% of collateral
    assert (snap.size, snap.entry_price, snap.margin_mode, snap.leverage, snap.isolated_margin) == (
        D("1000") / D("2650"), D("2650"), MarginMode.ISOLATED, 10, D("100"))
    assert snap.unrealized_pnl == D("10") and snap.liquidation_price == D("2410")
    assert snap.funding_since_open == D("0.09")
    assert gold.unrealized_pnl(D("100000")) == D("900")  # capped at +900% of the collateral


def test_trade_ids():
    assert parse_order_id("5:1") == (5, 1)
    for bad in ("5", "x:1", "70000:0", "5:300", "-1:0"):
        with pytest.raises(ValueError):
            parse_order_id(bad)
