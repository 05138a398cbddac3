"""The shared order rules beyond the price/size grids: band, leverage, minimum value, trading
hours, fixed-tick venues, and every rejection naming its rule and nearest valid value."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.domain import order_rules as rules
from perpcli.domain.errors import ExitCode, ValidationError
from perpcli.domain.instrument import Instrument, PriceBand, Rounding
from perpcli.domain.trading_hours import TradingHours, WeeklyWindow

BAND = PriceBand(D("0.8"), D("0.8"))
BTC = Instrument("hyperliquid", "BTC", "BTC", 0, D("0.00001"), 40, price_sig_figs=5, price_max_decimals=1,
                 min_notional=D(10), price_band=BAND)
# A Binance-style market: fixed tick and step, PERCENT_PRICE up 1.05 / down 0.95.
ASTER = Instrument("aster", "BTCUSDT", "BTC", 1, D("0.001"), 125, tick_size=D("0.1"), min_notional=D(5),
                   quote="USDT", price_band=PriceBand(D("0.05"), D("0.05")))


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def rejection(fn) -> ValidationError:
    with pytest.raises(ValidationError) as e:
        fn()
    assert e.value.exit_code is ExitCode.USAGE
    return e.value


def test_price_band_names_the_edge_on_the_grid():
    rules.check_price_band(BTC, D(20000), D(100000))  # exactly 80% below is allowed
    rules.check_price_band(BTC, D(180000), D(100000))
    e = rejection(lambda: rules.check_price_band(BTC, D(19999), D(100000)))
    assert e.rule == "price-band" and e.nearest == D(20000)
    assert "rule price-band; nearest valid 20000" in str(e) and "±80%" in str(e)
    e = rejection(lambda: rules.check_price_band(BTC, D("18.4"), D("10.17")))
    assert e.nearest == D("18.3")  # the edge 18.306, rounded down onto the grid (1 decimal)
    e = rejection(lambda: rules.check_price_band(ASTER, D("94.9"), D(100)))
    assert e.nearest == D(95) and "±5%" in str(e)
    rules.check_price_band(Instrument("x", "X", "X", 0, D(1), 5), D(1), D(1000))  # no band: anything goes


def test_asymmetric_band_describes_both_sides():
    inst = Instrument("v", "X", "X", 0, D(1), 5, tick_size=D("0.01"),
                      price_band=PriceBand(D("0.15"), D("0.05")))
    e = rejection(lambda: rules.check_price_band(inst, D("106"), D(100)))
    assert e.nearest == D(105) and "-15%/+5%" in str(e)
    with pytest.raises(ValueError):
        PriceBand(D("-0.1"), D("0.1"))


def test_check_order_runs_every_rule_and_returns_the_order():
    assert rules.check_order(BTC, price=D(65000), size=D("0.001"), reference=D(65000)) == (D(65000), D("0.001"))
    assert rejection(lambda: rules.check_order(BTC, price=D("65000.5"), size=D("0.001"))).rule == "price-sig-figs"
    assert rejection(lambda: rules.check_order(BTC, price=D(65000), size=D("0.000001"))).rule == "size-lot"
    e = rejection(lambda: rules.check_order(BTC, price=D(10000), size=D("0.001"), reference=D(65000)))
    assert e.rule == "price-band" and e.nearest == D(13000)
    # a trigger order's band is on the trigger; its limit may sit anywhere the venue allows
    e = rejection(lambda: rules.check_order(BTC, price=D(60000), size=D("0.001"), trigger_price=D(200000),
                                            reference=D(65000)))
    assert e.rule == "price-band" and "trigger price" in str(e) and e.nearest == D(117000)
    e = rejection(lambda: rules.check_order(BTC, price=D(60000), size=D("0.001"), trigger_price=D("60000.5")))
    assert e.rule == "price-sig-figs" and "trigger price" in str(e)
    e = rejection(lambda: rules.check_order(ASTER, price=D("100.0"), size=D("0.01")))
    assert e.rule == "min-notional" and e.nearest == D("0.05")
    assert rules.check_order(ASTER, price=D("100.0"), size=D("0.01"), reduce_only=True) == (D(100), D("0.01"))


def test_leverage_rule():
    rules.check_leverage(BTC, 40)
    e = rejection(lambda: rules.check_leverage(BTC, 41))
    assert e.rule == "max-leverage" and e.nearest == 40 and "nearest valid 40" in str(e)
    assert rejection(lambda: rules.check_leverage(BTC, 0)).nearest == 1


def test_fixed_tick_rounding_and_nearest():
    assert rules.conform_price(ASTER, D("100.04"), Rounding.DOWN) == D(100)
    assert rules.conform_price(ASTER, D("100.04"), Rounding.UP) == D("100.1")
    assert rules.conform_price(ASTER, D("0.01"), Rounding.UP) == D("0.1")
    e = rejection(lambda: rules.conform_price(ASTER, D("0.01"), Rounding.DOWN))
    assert e.rule == "price-min-tick" and e.nearest == D("0.1")
    e = rejection(lambda: rules.conform_price(ASTER, D("-1")))
    assert e.rule == "price-positive" and e.nearest == D("0.1")
    e = rejection(lambda: rules.conform_size(ASTER, D("0.0015")))
    assert e.rule == "size-lot" and e.nearest == D("0.002")  # ties to even
    e = rejection(lambda: rules.conform_size(ASTER, D("0.0004"), Rounding.TOWARD_ZERO))
    assert e.rule == "size-zero" and e.nearest == D("0.001")
    assert rules.conform_size(ASTER, D("0.0004"), Rounding.UP) == D("0.001")


def test_a_half_tick_grid_with_sig_figs_keeps_both_rules():
    """Both grids set (a venue with a 0.5 tick and 5 significant figures): valid prices obey both."""
    inst = Instrument("v", "X", "X", 0, D(1), 5, tick_size=D("0.5"), price_sig_figs=5)
    assert rules.conform_price(inst, D("1234.7"), Rounding.DOWN) == D("1234.5")
    assert rules.conform_price(inst, D("12345.3"), Rounding.UP) == D(12346)  # 5 s.f. forces integers
    assert rules.conform_price(inst, D("12345.3"), Rounding.DOWN) == D(12345)
    assert rules.price_violation(inst, D("1234.6")) == "price-tick"


@settings(max_examples=400, deadline=None)
@given(px=st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=4, allow_nan=False, allow_infinity=False),
       tick=st.sampled_from([D("0.01"), D("0.1"), D("0.5"), D("0.25"), D(1), D(5)]),
       sig=st.sampled_from([None, 4, 5, 6]), rounding=st.sampled_from([Rounding.DOWN, Rounding.UP]))
def test_rounded_prices_always_pass_their_own_check(px, tick, sig, rounding):
    inst = Instrument("v", "X", "X", 0, D(1), 5, tick_size=tick, price_sig_figs=sig)
    try:
        out = rules.conform_price(inst, px, rounding)
    except ValidationError as e:
        assert e.rule == "price-min-tick" and rounding is Rounding.DOWN
        return
    assert rules.conform_price(inst, out) == out
    assert (out <= px) if rounding is Rounding.DOWN else (out >= px)


# ----- trading hours --------------------------------------------------------------------------

# Oil on Ostium: Mon-Thu 00:00-17:00 and 18:10-24:00, Fri 00:00-17:00, Sun 18:00-24:00, New York time.
OIL_HOURS = TradingHours.parse(
    "America/New_York",
    "Mon-Thu 00:00-17:00; Mon-Thu 18:10-24:00; Fri 00:00-17:00; Sun 18:00-24:00",
    closed_dates=frozenset({date(2026, 12, 25)}),
)
FX_HOURS = TradingHours.parse("America/New_York", "Sun 17:00 - Fri 17:00")


@pytest.mark.parametrize("utc, is_open", [
    ("2026-07-06T13:30", True),   # Monday 09:30 New York (EDT, UTC-4)
    ("2026-07-06T21:00", False),  # Monday 17:00: the daily break starts (half-open window)
    ("2026-07-06T22:09", False),  # 18:09
    ("2026-07-06T22:10", True),   # 18:10 reopens
    ("2026-07-10T20:59", True),   # Friday 16:59
    ("2026-07-10T21:00", False),  # Friday 17:00: weekend
    ("2026-07-12T21:59", False),  # Sunday 17:59
    ("2026-07-12T22:00", True),   # Sunday 18:00
    ("2026-01-05T14:30", True),   # Monday 09:30 New York in winter (EST, UTC-5)
    ("2026-01-05T22:00", False),  # Monday 17:00 EST
    ("2026-12-25T15:00", False),  # a Friday, but a holiday
])
def test_oil_sessions_in_new_york_time(utc, is_open):
    assert OIL_HOURS.is_open(ms(utc)) is is_open


def test_wrapping_session_and_next_open():
    assert FX_HOURS.windows == (WeeklyWindow(6 * 1440 + 17 * 60, 4 * 1440 + 17 * 60),)
    assert FX_HOURS.is_open(ms("2026-07-08T12:00"))  # Wednesday
    assert not FX_HOURS.is_open(ms("2026-07-11T12:00"))  # Saturday
    assert FX_HOURS.next_open(ms("2026-07-11T12:00")) == ms("2026-07-12T21:00")  # Sunday 17:00 EDT
    assert FX_HOURS.next_open(ms("2026-07-08T12:00")) == ms("2026-07-08T12:00")  # already open
    assert OIL_HOURS.next_open(ms("2026-12-24T23:00")) == ms("2026-12-24T23:10")  # Thursday 18:10 EST
    assert OIL_HOURS.next_open(ms("2026-12-25T15:00")) == ms("2026-12-27T23:00")  # past the holiday and Saturday
    assert [w.describe() for w in FX_HOURS.windows] == ["Sun 17:00 - Fri 17:00"]
    assert OIL_HOURS.windows[4].describe() == "Mon 18:10 - Mon 24:00"


def test_check_open_names_the_next_opening():
    inst = Instrument("ostium", "CLUSD", "WTI", 7, D("0.01"), 50, trading_hours=OIL_HOURS)
    saturday = ms("2026-07-11T12:00")
    assert not inst.is_open(saturday) and inst.is_open(ms("2026-07-07T12:00"))
    e = rejection(lambda: rules.check_order(inst, price=D(62), size=D(1), time_ms=saturday))
    assert e.rule == "market-closed" and e.nearest == ms("2026-07-12T22:00")
    assert "opens at 2026-07-12 22:00 UTC" in str(e)
    assert rules.check_order(inst, price=D(62), size=D(1), time_ms=ms("2026-07-07T12:00")) == (D(62), D(1))
    assert BTC.is_open(saturday)  # no hours: around the clock


def test_bad_session_text_is_refused():
    for spec in ("Mon 09:00", "Fun 09:00-10:00", "Mon 25:00-26:00", "Mon 09:60-10:00", ""):
        with pytest.raises(ValueError):
            TradingHours.parse("UTC", spec)
    with pytest.raises(ValueError):
        WeeklyWindow(10, 10)
