"""Margin rules per venue (ledger/margin_rules.py), on hand-worked examples.

Binance-style brackets are checked against the one-way liquidation formula worked by hand,
P = (WB + cum − side·Q·EP) / (Q·mmr − side·Q); Ostium-style per-trade isolated collateral
against its rule "liquidated when the loss reaches θ of the collateral" (P = EP·(1 − side·θ/L));
Hyperliquid's rules object against ledger/margin.py's functions, which it must reproduce.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.domain.instrument import Instrument, MarginMode, MarginTable, MarginTier
from perpcli.domain.orders import Side
from perpcli.ledger import margin as lm
from perpcli.ledger.margin_rules import (
    Bracket,
    BracketRules,
    HyperliquidRules,
    MarginRules,
    PerTradeIsolatedRules,
    cumulative_amounts,
)

# A Binance-like BTCUSDT bracket table: floors, max leverage, maintenance rate, cum amount.
BTC_BRACKETS = BracketRules((
    Bracket(D(0), 125, D("0.004"), D(0)),
    Bracket(D(50_000), 100, D("0.005"), D(50)),
    Bracket(D(250_000), 50, D("0.01"), D(1_300)),
))
GOLD = PerTradeIsolatedRules(max_leverage_value=100, liquidation_threshold=D("0.9"), default_leverage_value=10)


def inst(symbol: str = "BTC", max_leverage: int = 125, table: MarginTable | None = None) -> Instrument:
    return Instrument("v", symbol, symbol, 0, D("0.001"), max_leverage, price_sig_figs=5, price_max_decimals=5,
                      margin_table=table)


def pos(size, entry, mark, lev, rules, mode=MarginMode.ISOLATED, iso=D(0), symbol="BTC") -> lm.PositionRisk:
    return lm.PositionRisk(symbol, D(size), D(entry), D(mark), lev, MarginTable.single(lev), mode, D(iso), rules)


def test_every_rule_set_satisfies_the_protocol():
    table = MarginTable.single(40)
    for rules in (HyperliquidRules(table), BTC_BRACKETS, GOLD):
        assert isinstance(rules, MarginRules)


# ----- Binance-style brackets -------------------------------------------------------------------


def test_bracket_cum_amounts_keep_maintenance_continuous():
    assert cumulative_amounts([D(0), D(50_000), D(250_000)], [D("0.004"), D("0.005"), D("0.01")]) == [
        D(0), D(50), D(1_300)]
    for boundary in (D(50_000), D(250_000)):
        below = BTC_BRACKETS.maintenance_margin(pos("1", boundary - D("0.01"), boundary - D("0.01"), 10, BTC_BRACKETS))
        at = BTC_BRACKETS.maintenance_margin(pos("1", boundary, boundary, 10, BTC_BRACKETS))
        assert abs(at - below) < D("0.001")
    # 2 BTC at 50,000: notional 100,000 in bracket 2 -> 100,000 × 0.5% − 50
    assert BTC_BRACKETS.maintenance_margin(pos("2", "50000", "50000", 10, BTC_BRACKETS)) == D(450)
    assert [BTC_BRACKETS.max_leverage(D(n)) for n in (0, 49_999, 50_000, 300_000)] == [125, 125, 100, 50]


@pytest.mark.parametrize(("size", "entry", "wallet", "expected"), [
    # isolated long 1 BTC @ 40,000 with 4,000: (4000 + 0 − 40000) / (0.004 − 1)
    ("1", "40000", "4000", D(-36000) / D("-0.996")),
    # isolated short: (4000 + 0 + 40000) / (0.004 + 1)
    ("-1", "40000", "4000", D(44000) / D("1.004")),
    # 2 BTC @ 50,000 (bracket 2, cum 50) with 10,000: (10000 + 50 − 100000) / (2·0.005 − 2)
    ("2", "50000", "10000", D(-89950) / D("-1.99")),
])
def test_bracket_isolated_liquidation_price_is_the_one_way_formula(size, entry, wallet, expected):
    p = pos(size, entry, entry, 10, BTC_BRACKETS, iso=D(wallet))
    summary = lm.summarize(D(wallet), [p])
    assert summary.positions[0].liquidation_price == expected
    # and at that price the position's equity is exactly its maintenance margin
    at_liq = pos(size, entry, expected, 10, BTC_BRACKETS, iso=D(wallet))
    assert abs(at_liq.isolated_margin + at_liq.unrealized_pnl - at_liq.maintenance_margin) < D("1e-20")


def test_bracket_cross_liquidation_price_uses_the_whole_wallet():
    # cross long 1 BTC @ 40,000, wallet 10,000: (10000 + 0 − 40000) / (0.004 − 1)
    p = pos("1", "40000", "40000", 10, BTC_BRACKETS, mode=MarginMode.CROSS)
    assert lm.summarize(D(10_000), [p]).positions[0].liquidation_price == D(30_000) / D("0.996")


def test_bracket_withdrawable_excludes_unrealised_profit():
    long = pos("1", "40000", "41000", 10, BTC_BRACKETS, mode=MarginMode.CROSS)  # uPnL 1,000, IM 4,100
    assert lm.summarize(D(10_000), [long]).withdrawable == D(6_900)  # 11,000 − 4,100
    rich = pos("1", "40000", "60000", 10, BTC_BRACKETS, mode=MarginMode.CROSS)  # uPnL 20,000, IM 6,000
    assert lm.summarize(D(10_000), [rich]).withdrawable == D(10_000)  # capped at the wallet


def test_bracket_preview_refuses_leverage_above_the_bracket():
    instrument = inst()
    common = dict(instrument=instrument, side=Side.BUY, mark_price=D(50_000), cash=D(100_000),
                  fee_rate=D("0.0004"), limit_price=D(50_000), rules=BTC_BRACKETS)
    small = lm.preview_order(size=D("0.5"), leverage=125, **common)  # 25,000: bracket 1 allows 125x
    assert small.sufficient_margin and small.max_leverage == 125
    big = lm.preview_order(size=D(6), leverage=125, **common)  # 300,000: bracket 3 allows 50x
    assert big.max_leverage == 50 and not big.sufficient_margin


# ----- per-trade isolated (Ostium) ---------------------------------------------------------------


def test_ostium_liquidation_at_ninety_percent_loss_of_collateral():
    # 100 USDC at 10x on gold @ 2,000: size 0.5; liquidated 90 USDC of loss away = 180 per unit
    long = pos("0.5", "2000", "1950", 10, GOLD, iso=D(100), symbol="XAU")
    short = pos("-0.5", "2000", "2050", 10, GOLD, iso=D(100), symbol="XAU")
    summary = lm.summarize(D(1_000), [long, short])
    assert [r.liquidation_price for r in summary.positions] == [D(1_820), D(2_180)]  # EP·(1 ∓ 0.9/10)
    assert GOLD.maintenance_margin(long) == D(10)  # (1 − 0.9) × 100
    assert summary.withdrawable == D(800)  # the wallet outside both trades' collateral
    assert not summary.liquidatable


def test_ostium_trades_do_not_net_and_keep_their_own_liquidation_price():
    held = pos("0.5", "2000", "2100", 10, GOLD, iso=D(100), symbol="XAU")
    pv = lm.preview_order(
        instrument=inst("XAU", 100), side=Side.BUY, size=D("0.25"), mark_price=D(2_100), cash=D(1_000),
        positions=[held], leverage=5, mode=MarginMode.ISOLATED, fee_rate=D(0), limit_price=D(2_100), rules=GOLD,
    )
    assert pv.resulting_size == D("0.25") and pv.resulting_entry == D(2_100)  # a second trade, not 0.75
    assert pv.margin_required == D(105)  # collateral = 525 / 5
    assert pv.liquidation_price == D(2_100) * (1 - D("0.9") / 5)  # 1,722, untouched by the held trade


def test_ostium_rules_refuse_nonsense():
    with pytest.raises(ValueError):
        PerTradeIsolatedRules(max_leverage_value=50, liquidation_threshold=D("1.5"), default_leverage_value=5)
    with pytest.raises(ValueError):
        PerTradeIsolatedRules(max_leverage_value=50, liquidation_threshold=D("0.9"), default_leverage_value=60)


# ----- Hyperliquid --------------------------------------------------------------------------------

TABLES = [
    MarginTable.single(50),
    MarginTable.single(3),
    MarginTable((MarginTier(D(0), 40), MarginTier(D(150_000_000), 20))),
    MarginTable((MarginTier(D(0), 10), MarginTier(D(3_000_000), 5), MarginTier(D(20_000_000), 3))),
]


def test_hyperliquid_default_is_cross_at_twenty_or_the_max_if_lower():
    assert [HyperliquidRules(t).default_leverage() for t in TABLES] == [20, 3, 20, 10]
    assert HyperliquidRules(TABLES[0]).default_mode() is MarginMode.CROSS
    assert HyperliquidRules(TABLES[0], only_isolated=True).default_mode() is MarginMode.ISOLATED


@settings(max_examples=200, deadline=None)
@given(
    table=st.sampled_from(TABLES),
    size=st.decimals("-500", "500", places=3).filter(lambda x: x != 0),
    mark=st.decimals("1", "100000", places=2),
    cash=st.decimals("0", "10000000", places=2),
    lev=st.integers(1, 3),
    isolated=st.booleans(),
)
def test_hyperliquid_rules_reproduce_the_margin_module(table, size, mark, cash, lev, isolated):
    rules = HyperliquidRules(table)
    mode = MarginMode.ISOLATED if isolated else MarginMode.CROSS
    iso = abs(size) * mark / lev if isolated else D(0)
    bare = lm.PositionRisk("X", size, mark, mark, lev, table, mode, iso)
    ruled = lm.PositionRisk("X", size, mark, mark, lev, table, mode, iso, rules)
    assert rules.maintenance_margin(ruled) == lm.maintenance_margin(bare.notional, table)
    assert lm.summarize(cash, [ruled]) == lm.summarize(cash, [bare])
