"""Margin math against the protocol notes' worked numbers and its defining equations."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.domain.errors import RiskRefused, ValidationError
from perpcli.domain.events import BookSnapshot
from perpcli.domain.instrument import Instrument, MarginMode, MarginTable, MarginTier
from perpcli.domain.orders import Side
from perpcli.ledger.book import OrderBook
from perpcli.ledger.margin import (
    PositionRisk,
    funding_payment,
    hourly_funding_rate,
    liquidation_price,
    maintenance_margin,
    max_leverage,
    preview_order,
    resulting_position,
    size_for_risk,
    summarize,
)

SINGLE_50 = MarginTable.single(50)
TIERED_10X = MarginTable((MarginTier(D(0), 10), MarginTier(D(3_000_000), 5)))  # §a.1 "tiered 10x"
BTC = Instrument("hyperliquid", "BTC", "BTC", 0, D("0.00001"), 50, price_sig_figs=5, price_max_decimals=1,
                 min_notional=D(10), margin_table=SINGLE_50)


# ----- §a.1 clearinghouseState example (isolated ETH), reproduced from cash + position -----------


def _hl_isolated_eth():
    # rawUsd + szi * entryPx = margin allocated to the isolated position (excl. uPnL)
    isolated_margin = D("-95.059824") + D("0.0335") * D("2986.3")
    position = PositionRisk("ETH", D("0.0335"), D("2986.3"), D("2985.9"), 20, SINGLE_50, MarginMode.ISOLATED,
                            isolated_margin)
    cash = D("13109.482328") + D("0.0134")  # accountValue - uPnL, as the codec derives it
    return cash, position


def test_clearinghouse_example_margin_used_account_value_withdrawable():
    cash, position = _hl_isolated_eth()
    s = summarize(cash, [position])
    assert position.unrealized_pnl == D("-0.0134")
    assert position.notional == D("100.02765")  # positionValue
    assert s.account_value == D("13109.482328")  # marginSummary.accountValue
    assert s.cross_account_value == D("13104.514502")  # crossMarginSummary.accountValue
    assert s.margin_used == D("4.967826")  # marginSummary.totalMarginUsed == position marginUsed
    assert s.positions[0].margin_used == D("4.967826")
    assert s.withdrawable == D("13104.514502")
    assert cash - position.size * position.entry_price == D("13009.454678")  # marginSummary.totalRawUsd
    assert s.total_notional == D("100.02765")


def test_clearinghouse_example_isolated_liquidation_price():
    cash, position = _hl_isolated_eth()
    liq = summarize(cash, [position]).positions[0].liquidation_price
    # The venue reported 2866.26936529 (computed in floats); the exact answer differs by 1.5e-5.
    assert abs(liq - D("2866.26936529")) < D("0.0001")


# ----- maintenance tiers ------------------------------------------------------------------------


def test_maintenance_rate_is_half_the_initial_rate_at_max_leverage():
    assert maintenance_margin(D(10_000), SINGLE_50) == D(100)  # 50x -> 1%
    assert maintenance_margin(D(10_000), MarginTable.single(20)) == D(250)  # 20x -> 2.5%
    assert maintenance_margin(D(-10_000), MarginTable.single(3)).quantize(D("0.01")) == D("1666.67")  # 3x -> 16.7%


def test_tier_deduction_keeps_maintenance_continuous():
    assert maintenance_margin(D(1_000_000), TIERED_10X) == D(50_000)
    assert maintenance_margin(D(3_000_000), TIERED_10X) == D(150_000)  # = 3M * 5%, from either side
    assert maintenance_margin(D(4_000_000), TIERED_10X) == D(250_000)  # 4M * 10% - 150k
    below = maintenance_margin(D("2999999.99"), TIERED_10X)
    assert D(150_000) - below < D("0.001")
    assert max_leverage(D(2_000_000), TIERED_10X) == 10 and max_leverage(D(5_000_000), TIERED_10X) == 5


# ----- liquidation prices -----------------------------------------------------------------------


def test_cross_liquidation_price_single_position():
    p = PositionRisk("BTC", D(1), D(50_000), D(50_000), 50, SINGLE_50)
    s = summarize(D(1000), [p])
    # §d.8: px - side * margin_available / size / (1 - l*side), margin_available = 1000 - 500
    assert s.positions[0].liquidation_price == D(50_000) - D(500) / (1 - D("0.01"))
    short = PositionRisk("BTC", D(-1), D(50_000), D(50_000), 50, SINGLE_50)
    assert summarize(D(1000), [short]).positions[0].liquidation_price == D(50_000) + D(500) / (1 + D("0.01"))


def _equity_minus_mm_at(price, target, others, cash):
    moved = PositionRisk(target.symbol, target.size, target.entry_price, price, target.leverage, target.margin_table)
    s = summarize(cash, [moved, *others])
    return s.cross_account_value - s.cross_maintenance_margin


@settings(max_examples=80, deadline=None)
@given(
    size=st.integers(min_value=-400, max_value=400).filter(bool),
    other=st.integers(min_value=-50, max_value=50),
    cash=st.integers(min_value=20_000, max_value=2_000_000),
    mark=st.integers(min_value=5_000, max_value=20_000),
)
def test_cross_liquidation_price_solves_equity_equals_maintenance(size, other, cash, mark):
    """At the computed price (tiers included) the cross account sits exactly at maintenance."""
    target = PositionRisk("X", D(size), D(mark), D(mark), 5, TIERED_10X)
    others = [PositionRisk("Y", D(other), D(100), D(101), 10, SINGLE_50)] if other else []
    s = summarize(D(cash), [target, *others])
    liq = s.positions[0].liquidation_price
    if liq is None:  # a long backed by more than its notional cannot be liquidated
        assert size > 0
        assert _equity_minus_mm_at(D("0.000001"), target, others, D(cash)) > 0
        return
    assert abs(_equity_minus_mm_at(liq, target, others, D(cash))) < D("1e-12")


def test_isolated_liquidation_depends_on_leverage_cross_does_not():
    iso_10 = PositionRisk("BTC", D(1), D(50_000), D(50_000), 10, SINGLE_50, MarginMode.ISOLATED, D(5000))
    iso_20 = PositionRisk("BTC", D(1), D(50_000), D(50_000), 20, SINGLE_50, MarginMode.ISOLATED, D(2500))
    assert liquidation_price(iso_10, D(5000)) < liquidation_price(iso_20, D(2500))
    cross_10 = PositionRisk("BTC", D(1), D(50_000), D(50_000), 10, SINGLE_50)
    cross_20 = PositionRisk("BTC", D(1), D(50_000), D(50_000), 20, SINGLE_50)
    assert summarize(D(8000), [cross_10]).positions[0].liquidation_price == summarize(
        D(8000), [cross_20]
    ).positions[0].liquidation_price


def test_liquidatable_flag_and_distance():
    p = PositionRisk("BTC", D(1), D(50_000), D(49_000), 50, SINGLE_50)
    s = summarize(D(1000), [p])  # equity 0 < MM 490
    assert s.liquidatable and s.positions[0].liquidation_distance == 0
    healthy = summarize(D(10_000), [PositionRisk("BTC", D(1), D(50_000), D(50_000), 50, SINGLE_50)])
    assert not healthy.liquidatable and D(0) < healthy.positions[0].liquidation_distance < 1


def test_withdrawable_keeps_initial_margin_or_ten_percent_of_notional():
    p = PositionRisk("BTC", D(1), D(50_000), D(50_000), 50, SINGLE_50)  # IM 1000, 10% notional 5000
    assert summarize(D(20_000), [p]).withdrawable == D(15_000)
    p5 = PositionRisk("BTC", D(1), D(50_000), D(50_000), 5, SINGLE_50)  # IM 10000 > 5000
    assert summarize(D(20_000), [p5]).withdrawable == D(10_000)
    assert summarize(D(3_000), [p5]).withdrawable == 0


# ----- funding (§d.9) ---------------------------------------------------------------------------


def test_funding_rate_and_payment():
    assert hourly_funding_rate(D(0)) == D("0.0000125")  # neutral premium: 0.01%/8h -> 0.00125%/h
    assert hourly_funding_rate(D("0.001")) == D("0.0000625")  # clamp(r - P) at -0.05%
    assert hourly_funding_rate(D("-0.001")) == D("-0.0000625")  # clamp(r - P) at +0.05%
    assert hourly_funding_rate(D("0.0003")) == D("0.0000125")  # inside the clamp: r wins
    assert hourly_funding_rate(D("0.5")) == D("0.04")  # 4%/h cap
    assert funding_payment(D(10), D(2000), D("0.0000125")) == D("-0.25")  # long pays
    assert funding_payment(D(-10), D(2000), D("0.0000125")) == D("0.25")  # short receives
    # userFunding example: szi 49.1477 at rate 0.0000417 paid 3.625312 -> oracle ~1768.9
    paid = funding_payment(D("49.1477"), D("1768.9"), D("0.0000417"))
    assert paid < 0 and abs(paid + D("3.625312")) < D("0.001")


# ----- positions, preview and sizing ------------------------------------------------------------


def test_resulting_position_entry_and_realised_pnl():
    assert resulting_position(D(0), D(0), D(2), D(100)) == (D(2), D(100), D(0))
    assert resulting_position(D(2), D(100), D(2), D(110)) == (D(4), D(105), D(0))
    assert resulting_position(D(4), D(105), D(-1), D(115)) == (D(3), D(105), D(10))  # entry unchanged
    assert resulting_position(D(3), D(105), D(-3), D(95)) == (D(0), None, D(-30))
    assert resulting_position(D(1), D(100), D(-3), D(90)) == (D(-2), D(90), D(-10))  # flip
    assert resulting_position(D(-2), D(90), D(1), D(80)) == (D(-1), D(90), D(10))


def _book():
    book = OrderBook("hyperliquid", "BTC")
    book.apply_snapshot(BookSnapshot("hyperliquid", "BTC", ((D(49_990), D(1)), (D(49_980), D(2))),
                                     ((D(50_010), D("0.5")), (D(50_020), D(2)))))
    return book


def test_preview_market_order_from_the_book():
    pv = preview_order(instrument=BTC, side=Side.BUY, size=D(1), mark_price=D(50_000), cash=D(10_000),
                       leverage=10, fee_rate=D("0.00045"), book=_book())
    assert pv.average_price == D(50_015) and pv.worst_price == D(50_020) and pv.fillable
    assert pv.slippage == (D(50_015) - D(50_000)) / D(50_000)
    assert pv.fee == D(50_015) * D("0.00045")
    assert pv.margin_required == D(5_000) and pv.margin_change == D(5_000)
    assert pv.resulting_size == D(1) and pv.resulting_entry == D(50_015)
    assert pv.sufficient_margin and pv.max_leverage == 50
    # cross liq: cash after fee, uPnL at mark (50000 - 50015), MM 500 at 1%
    equity = D(10_000) - pv.fee + (D(50_000) - D(50_015))
    assert pv.liquidation_price == D(50_000) - (equity - D(500)) / (1 - D("0.01"))
    assert pv.account_leverage == D(50_000) / equity


def test_preview_refuses_unusable_book_and_flags_insufficient_margin():
    crossed = OrderBook("hyperliquid", "BTC")
    crossed.apply_snapshot(BookSnapshot("hyperliquid", "BTC", ((D(2), D(1)),), ((D(1), D(1)),)))
    with pytest.raises(RiskRefused):
        preview_order(instrument=BTC, side=Side.BUY, size=D(1), mark_price=D(1), cash=D(100), leverage=5,
                      fee_rate=D(0), book=crossed)
    pv = preview_order(instrument=BTC, side=Side.BUY, size=D(1), mark_price=D(50_000), cash=D(1_000),
                       leverage=10, fee_rate=D(0), book=_book())
    assert not pv.sufficient_margin
    too_much = preview_order(instrument=BTC, side=Side.BUY, size=D("0.1"), mark_price=D(50_000),
                             cash=D(100_000), leverage=60, fee_rate=D(0), limit_price=D(49_000))
    assert too_much.max_leverage == 50 and not too_much.sufficient_margin


def test_preview_resting_limit_and_reducing_order():
    pv = preview_order(instrument=BTC, side=Side.BUY, size=D("0.2"), mark_price=D(50_000), cash=D(10_000),
                       leverage=10, fee_rate=D("0.00015"), limit_price=D(49_000), book=_book())
    assert pv.average_price == D(49_000) and pv.slippage is None  # rests: priced at its limit
    long = PositionRisk("BTC", D(1), D(48_000), D(50_000), 10, SINGLE_50)
    pv = preview_order(instrument=BTC, side=Side.SELL, size=D(1), mark_price=D(50_000), cash=D(10_000),
                       positions=[long], leverage=10, fee_rate=D(0), book=_book())
    assert pv.resulting_size == 0 and pv.liquidation_price is None and pv.margin_change == D(-5_000)


def test_size_for_risk_rounds_down_and_counts_fees():
    inst = Instrument("v", "X", "X", 1, D("0.01"), 20)
    size = size_for_risk(instrument=inst, entry_price=D(100), stop_price=D(95), risk=D(100), fee_rate=D("0.00045"))
    assert size == D("19.65")
    loss = lambda s: s * D(5) + s * D("0.00045") * (D(100) + D(95))  # noqa: E731
    assert loss(size) <= D(100) < loss(size + D("0.01"))
    short = size_for_risk(instrument=inst, entry_price=D(100), stop_price=D(110), risk_fraction=D("0.01"),
                          equity=D(10_000), fee_rate=D(0))
    assert short == D(10)
    with pytest.raises(ValidationError):
        size_for_risk(instrument=inst, entry_price=D(100), stop_price=D(100), risk=D(1), fee_rate=D(0))
