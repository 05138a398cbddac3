"""The one preview for collateral x leverage venues (app/preview.collateral_preview): pure,
from a venue's OpenQuote — no book, the trade's own isolated liquidation price."""

from __future__ import annotations

from decimal import Decimal as D

from perpcli.app.preview import collateral_preview
from perpcli.domain.orders import Side
from perpcli.venues.base import CollateralOrder, OpenQuote
from perpcli.venues.ostium import instruments

LIMITS = instruments.PairLimits(min_leverage=D("2"), max_leverage=D("100"), min_position_usd=D("1500"),
                                liq_margin_threshold_pct=D("25"))


def quote(side: Side, *, kind: str = "market", fee: D | None = D("2.5"), leverage: D = D(10)) -> OpenQuote:
    spec = instruments.spec_for_symbol("XAU-USD")
    inst = instruments.to_instrument("ostium", spec, LIMITS)
    price = D("2000")
    order = CollateralOrder("XAU-USD", side, leverage, kind, collateral=D(100), price=None if kind == "market" else price)
    return OpenQuote(order=order, instrument=inst, reference_price=price, oracle_price=D("1999.9"), collateral=D(100),
                     leverage=leverage, notional=100 * leverage, size=100 * leverage / price,
                     rules=instruments.margin_rules(LIMITS, leverage), opening_fee=fee, oracle_fee=D("0.1"),
                     wallet=D(1000), approval_needed=False)


def test_long_liquidation_from_the_pairs_threshold_on_the_collateral_after_the_fee():
    p = collateral_preview(quote(Side.BUY, fee=None))
    # threshold at 10x of 100x with 25%: lose 97.5% of 100 over 0.5 XAU: 195 below 2000
    assert p["liquidation_price"] == D("1805") and p["loss_threshold"] == D("0.975")
    p = collateral_preview(quote(Side.BUY))
    assert p["liquidation_price"] == D("2000") - D("0.975") * D("97.5") / D("0.5")
    assert (p["opening_fee"], p["oracle_fee"], p["wallet_after"]) == (D("2.5"), D("0.1"), D("899.9"))


def test_short_liquidates_above_and_its_worst_price_is_below():
    p = collateral_preview(quote(Side.SELL, fee=None))
    assert p["liquidation_price"] == D("2195") and p["worst_price"] == D("1980")
    assert (p["side"], p["margin_mode"], p["notional"], p["size"]) == ("sell", "isolated", D("1000"), D("0.5"))


def test_limit_orders_have_no_slippage_and_higher_leverage_keeps_more_margin():
    p = collateral_preview(quote(Side.BUY, kind="limit", fee=None, leverage=D(100)))
    assert p["worst_price"] is None and p["slippage_pct"] is None
    assert p["liquidation_price"] == D("2000") - D("0.75") * D(100) / D(5)  # 75% of the collateral at max leverage
