"""The order grammar and planner (pure): parsing, rounding direction, stop vs take-profit, brackets,
sizing, and the risk guards."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.app import order_plan as op
from perpcli.app.risk import OrderCheck, RiskLimits, check_order, needs_confirmation
from perpcli.domain.errors import RiskRefused, UsageError, ValidationError
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import OrderType, Side, TimeInForce
from perpcli.ledger.fees import FeeRates

BTC = Instrument(venue="hl", symbol="BTC", underlying="BTC", asset_id=0, lot_size=D("0.00001"), max_leverage=40,
                 price_sig_figs=5, price_max_decimals=1, min_notional=D(10))
FEES = FeeRates(maker=D("0.0001"), taker=D("0.0004"), source="account")
CTX = op.MarketContext(instrument=BTC, mid=D("65000.5"), mark=D("65010"), free_collateral=D(10000), equity=D(12000),
                       current_leverage=10, fees=FEES, best_bid=D(65000), best_ask=D(65001))
n = iter(range(10**6))


def cloid():
    return f"0x{next(n):032x}"


def plan(side="buy", size="0.1", **kw):
    price = kw.pop("price")
    req = op.OrderRequest(market="BTC", side=Side(side), size=op.parse_size(size, usd=kw.pop("usd", None),
                                                                            risk=kw.pop("risk", None)),
                          price=price, **kw)
    return op.plan_order("hl", req, CTX, new_cloid=cloid)


def test_parse_size_forms():
    assert op.parse_size("0.5") == op.SizeSpec("base", D("0.5"))
    assert op.parse_size("25%") == op.SizeSpec("pct", D(25))
    assert op.parse_size(None, usd="$500") == op.SizeSpec("usd", D(500))
    assert op.parse_size(None, risk="1%") == op.SizeSpec("risk", D(1))
    for bad in (dict(size=None), dict(size="1", usd="2"), dict(size="-1"), dict(size="1e3"), dict(size="abc"),
                dict(size="150%"), dict(size="0")):
        with pytest.raises(UsageError):
            op.parse_size(bad.pop("size"), **bad)


def test_parse_price_flags():
    assert op.parse_limit("-0.5%") == (None, D("-0.5"))
    assert op.parse_limit("+1%") == (None, D(1))
    assert op.parse_limit("65000") == (D(65000), None)
    assert op.parse_price_flags(limit=None, market=True, stop=None, slippage=None).slippage_pct == D(1)
    s = op.parse_price_flags(limit="60000", market=False, stop="61000", slippage=None)
    assert (s.kind, s.limit, s.trigger) == ("stop", D(60000), D(61000))
    for kw in (dict(limit=None, market=False, stop=None), dict(limit="1", market=True, stop=None),
               dict(limit=None, market=True, stop="1"), dict(limit="-1%", market=False, stop="5"),
               dict(limit="1", market=False, stop=None, slippage="1%"), dict(limit=None, market=True, stop=None,
                                                                                slippage="100%")):
        kw.setdefault("slippage", None)
        with pytest.raises(UsageError):
            op.parse_price_flags(**kw)


def test_market_worst_price_never_beyond_the_slippage_bound():
    buy = plan(price=op.PriceSpec("market", slippage_pct=D(1)))
    assert buy.main.order_type is OrderType.MARKET and buy.main.tif is TimeInForce.IOC
    assert buy.main.price <= D("65000.5") * D("1.01") and buy.main.price == D(65650)
    sell = plan("sell", price=op.PriceSpec("market", slippage_pct=D(1)))
    assert sell.main.price >= D("65000.5") * D("0.99")


def test_relative_limit_rounds_passively():
    b = plan(price=op.PriceSpec("limit", limit_offset_pct=D("-0.5")))
    assert b.main.price == D(64675)  # 64675.4975 rounded down (5 significant figures)
    s = plan("sell", price=op.PriceSpec("limit", limit_offset_pct=D("0.5")))
    assert s.main.price == D(65326)  # 65325.5025 rounded up


def test_absolute_limit_must_already_be_valid():
    with pytest.raises(ValidationError) as e:
        plan(price=op.PriceSpec("limit", limit=D("65000.5")))
    assert e.value.rule == "price-sig-figs" and e.value.nearest == D(65000)  # ties to even


def test_the_plan_checks_the_venue_band_minimum_value_and_hours():
    from dataclasses import replace

    from perpcli.domain.instrument import PriceBand
    from perpcli.domain.trading_hours import TradingHours

    banded = replace(CTX, instrument=replace(BTC, price_band=PriceBand(D("0.8"), D("0.8"))))

    def plan_on(ctx, side="buy", size="0.1", **kw):
        req = op.OrderRequest(market="BTC", side=Side(side), size=op.parse_size(size), **kw)
        return op.plan_order("hl", req, ctx, new_cloid=cloid)

    with pytest.raises(ValidationError) as e:
        plan_on(banded, "sell", price=op.PriceSpec("market", slippage_pct=D(90)))
    assert e.value.rule == "price-band" and e.value.nearest == D(13002)  # 20% of the mark 65010, on the grid
    with pytest.raises(ValidationError) as e:
        plan_on(banded, price=op.PriceSpec("limit", limit=D(60000)), tp=D(200000))
    assert e.value.rule == "price-band" and "--tp" in str(e.value)
    with pytest.raises(ValidationError) as e:
        plan_on(CTX, size="0.0001", price=op.PriceSpec("limit", limit=D(60000)))
    assert e.value.rule == "min-notional" and e.value.nearest == D("0.00017")
    assert plan_on(CTX, size="0.0001", price=op.PriceSpec("limit", limit=D(60000)), reduce_only=True).main.size \
        == D("0.0001")
    weekdays = TradingHours.parse("UTC", "Mon-Fri 00:00-24:00")
    hours = replace(CTX, instrument=replace(BTC, trading_hours=weekdays), now_ms=1_783_771_200_000)  # a Saturday
    with pytest.raises(ValidationError) as e:
        plan_on(hours, price=op.PriceSpec("limit", limit=D(60000)))
    assert e.value.rule == "market-closed" and e.value.nearest == 1_783_900_800_000  # Monday 00:00 UTC
    assert plan_on(replace(hours, now_ms=1_783_900_800_000), price=op.PriceSpec("limit", limit=D(60000))).intents


def test_stop_or_take_profit_from_the_side_of_mark():
    assert plan(price=op.PriceSpec("stop", trigger=D(66000), slippage_pct=D(10))).main.order_type \
        is OrderType.STOP_MARKET
    assert plan(price=op.PriceSpec("stop", trigger=D(64000), slippage_pct=D(10))).main.order_type \
        is OrderType.TAKE_PROFIT_MARKET
    sl = plan("sell", price=op.PriceSpec("stop", trigger=D(60000), limit=D(59000)))
    assert sl.main.order_type is OrderType.STOP_LIMIT and sl.main.price == D(59000)
    assert plan("sell", price=op.PriceSpec("stop", trigger=D(60000), slippage_pct=D(10))).main.price == D(54000)


def test_bracket_children_are_reduce_only_on_the_other_side():
    p = plan(price=op.PriceSpec("limit", limit=D(65000)), tp=D(70000), sl=D(60000))
    assert p.grouping == "normalTpsl" and p.labels == ["limit", "take_profit_market", "stop_market"]
    tp, sl = p.intents[1:]
    assert tp.side is Side.SELL and tp.reduce_only and tp.trigger_price == D(70000) and tp.size == p.main.size
    assert sl.trigger_price == D(60000) and sl.price < D(60000)
    with pytest.raises(UsageError, match="--tp"):
        plan(price=op.PriceSpec("limit", limit=D(65000)), tp=D(60000))
    with pytest.raises(UsageError, match="--sl"):
        plan("sell", price=op.PriceSpec("limit", limit=D(65000)), sl=D(60000))


def test_sizes_from_usd_percent_and_risk():
    assert plan(size=None, usd="1000", price=op.PriceSpec("limit", limit=D(50000))).main.size == D("0.02")
    pct = plan(size="10%", price=op.PriceSpec("limit", limit=D(50000)))
    assert pct.main.size == D("0.2")  # 10% of 10000 x 10 (current leverage) / 50000
    risk = plan(size=None, risk="1%", sl=D(49000), price=op.PriceSpec("limit", limit=D(50000)))
    # the bid at 50,000 rests below the 65,001 ask: maker to enter; the stop fires: taker to exit
    loss = risk.main.size * (D(50000) - D(49000) + D(50000) * FEES.maker + D(49000) * FEES.taker)
    assert D("119.99") < loss <= D(120)  # 1% of 12000 equity, fees counted, rounded down
    with pytest.raises(UsageError):
        plan(size=None, risk="1%", price=op.PriceSpec("limit", limit=D(50000)))


def test_risk_sizing_pays_taker_to_enter_when_the_entry_takes():
    crossing = plan(size=None, risk="1%", sl=D(64000), price=op.PriceSpec("limit", limit=D(65100)))
    taker_loss = crossing.main.size * (D(65100) - D(64000) + (D(65100) + D(64000)) * FEES.taker)
    assert D("119.9") < taker_loss <= D(120)
    market = plan(size=None, risk="1%", sl=D(64000), price=op.PriceSpec("market"))
    assert market.main.size == (D(120) / (D("1000.5") + (D("65000.5") + D(64000)) * FEES.taker)).quantize(
        D("0.00001"), rounding="ROUND_DOWN")
    no_fees = op.MarketContext(instrument=BTC, mid=CTX.mid, mark=CTX.mark, equity=D(12000))
    req = op.OrderRequest(market="BTC", side=Side.BUY, size=op.SizeSpec("risk", D(1)), sl=D(64000),
                          price=op.PriceSpec("market"))
    with pytest.raises(ValidationError, match="fee"):
        op.plan_order("hl", req, no_fees, new_cloid=cloid)


def test_flag_conflicts():
    with pytest.raises(UsageError):
        plan(price=op.PriceSpec("market"), post_only=True)
    with pytest.raises(UsageError):
        plan(price=op.PriceSpec("limit", limit=D(1)), post_only=True, ioc=True)
    with pytest.raises(ValidationError):
        plan(price=op.PriceSpec("limit", limit=D(65000)), leverage=41)
    assert plan(price=op.PriceSpec("limit", limit=D(65000)), post_only=True).main.tif is TimeInForce.ALO


def test_scale_prices_even_and_valid():
    prices = op.scale_prices(BTC, D(65000), D(64000), 5, is_buy=True)
    assert prices == [D(65000), D(64750), D(64500), D(64250), D(64000)]
    with pytest.raises(UsageError):
        op.scale_prices(BTC, D(1), D(2), 1, is_buy=True)


def test_risk_guards():
    limits = RiskLimits(max_order_notional=D(1000), max_leverage=10, price_band_pct=D(5),
                        confirm_above_notional=D(100))
    check_order(limits, OrderCheck("BTC", D(999), D(100), D(100), leverage=10))
    for check, guard in (
        (OrderCheck("BTC", D(1001), D(100), D(100)), "max_order_notional"),
        (OrderCheck("BTC", D(10), D(100), D(100), leverage=11), "max_leverage"),
        (OrderCheck("BTC", D(10), D("94.9"), D(100)), "price_band"),
    ):
        with pytest.raises(RiskRefused) as e:
            check_order(limits, check)
        assert e.value.guard == guard and f"guard {guard}" in e.value.message
    check_order(limits, OrderCheck("BTC", D(5000), D(100), D(100), reduce_only=True))  # closing is allowed
    off = RiskLimits(max_order_notional=D(0), max_leverage=0, price_band_pct=D(0))
    check_order(off, OrderCheck("BTC", D(10**9), D(1), D(100), leverage=100))
    assert needs_confirmation(limits, D(101)) and not needs_confirmation(limits, D(100))
