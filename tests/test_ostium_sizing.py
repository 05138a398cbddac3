"""From what a trader types to one exact, checked openTrade — refusals before any gas is spent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from perpcli.domain.errors import ValidationError
from perpcli.venues.ostium import calls, instruments
from perpcli.venues.ostium.calls import OrderType
from perpcli.venues.ostium.sizing import Sizing, collateral_for, plan_open

NY = ZoneInfo("America/New_York")
TUESDAY_NOON = int(datetime(2026, 3, 10, 12, tzinfo=NY).timestamp() * 1000)
SATURDAY = int(datetime(2026, 3, 14, 12, tzinfo=NY).timestamp() * 1000)
TRADER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
GOLD = instruments.spec_for_symbol("XAU-USD")
LIMITS = instruments.PairLimits(min_leverage=D("2"), max_leverage=D("100"), min_position_usd=D("1500"),
                                liq_margin_threshold_pct=D("25"), overnight_max_leverage=D("50"))


def plan(**over):
    args = dict(venue="ostium", spec=GOLD, limits=LIMITS, trader=TRADER, buy=True, sizing=Sizing(collateral=D("500")),
                leverage=D("10"), order_type=OrderType.MARKET, now_ms=TUESDAY_NOON, price=D("2650.2"))
    args.update(over)
    return plan_open(**args)


def test_ostiums_natural_form_collateral_times_leverage():
    p = plan(tp=D("2800"), sl=D("2600"))
    assert (p.collateral, p.notional, p.size) == (D("500"), D("5000"), D("5000") / D("2650.2"))
    assert p.call.slippage_pct == D("1") and p.call.builder is None
    assert calls.open_trade(p.call)[:4].hex() == "1365e4e4"  # the deployed openTrade


def test_usd_and_base_size_convert_to_collateral_rounding_down():
    assert plan(sizing=Sizing(notional=D("5000"))).collateral == D("500")
    p = plan(sizing=Sizing(size=D("0.7")), leverage=D("3"))  # 0.7 x 2650.2 = 1855.14 -> 618.38 at 3x
    assert p.collateral == D("618.38") and p.notional == D("1855.14")
    assert collateral_for(Sizing(notional=D("1000")), D("3"), D("1")) == D("333.333333")  # down, never up


def test_a_closed_market_is_refused_naming_the_next_open():
    with pytest.raises(ValidationError) as info:
        plan(now_ms=SATURDAY)
    assert info.value.rule == "market-closed" and "opens at 2026-03-15 22:00 UTC" in info.value.message
    with pytest.raises(ValidationError, match="says Ostium's oracle"):
        plan(oracle_open=False)  # a holiday the schedule does not know


@pytest.mark.parametrize(("over", "rule"), [
    (dict(leverage=D("1")), "leverage"),
    (dict(leverage=D("60")), "leverage"),  # above the overnight maximum of a non-day trade
    (dict(sizing=Sizing(collateral=D("100"))), "min-notional"),  # 1000 USD < 1500
    (dict(tp=D("2600")), "invalid-trigger"),  # a long's TP below the price
    (dict(sl=D("2700")), "invalid-trigger"),
    (dict(buy=False, tp=D("2700")), "invalid-trigger"),
    (dict(order_type=OrderType.LIMIT, price=D("2650.123456")), "price-decimals"),
    (dict(sizing=Sizing(collateral=D("500.0000001"))), "size-decimals"),
])
def test_what_the_contract_would_refuse_is_refused_first(over, rule):
    with pytest.raises(ValidationError) as info:
        plan(**over)
    assert info.value.rule == rule


def test_a_day_trade_may_use_the_full_leverage():
    assert plan(leverage=D("60"), day_trade=True).call.leverage == D("60")


def test_limit_and_stop_orders_carry_no_slippage():
    p = plan(order_type=OrderType.LIMIT, price=D("2600.5"), slippage_pct=D("3"))
    assert p.call.slippage_pct == 0 and p.call.order_type is OrderType.LIMIT


def test_one_sizing_exactly():
    with pytest.raises(ValidationError):
        Sizing(collateral=D("1"), notional=D("2"))
    with pytest.raises(ValidationError):
        Sizing()
    with pytest.raises(ValidationError):
        Sizing(size=D("-1"))
