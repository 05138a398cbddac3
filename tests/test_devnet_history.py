"""The devnet's seeded history before launch (devnet/history.py): candles and funding that a
chart can warm up on, deterministic for a seed, ending where the live market starts."""

from __future__ import annotations

import json
import time
from decimal import ROUND_HALF_EVEN, Decimal
from decimal import Decimal as D

import pytest

from perpcli.devnet.engine import Engine
from perpcli.devnet.market import SyntheticMarket
from perpcli.devnet.server import DevnetConfig, start_in_thread
from perpcli.ledger.margin import hourly_funding_rate
from tests.devnet_helpers import Http

T0 = 1_700_000_012_345
MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000


def _engine(seed: int = 7, launch: int = T0) -> Engine:
    eng = Engine(start_ms=launch)
    eng.seed_history(seed)
    return eng


def test_a_bare_engine_has_no_past_and_a_seeded_one_has_thirty_days():
    assert Engine(start_ms=T0).candles("BTC", "1d", 0, T0) == []
    days = _engine().candles("BTC", "1d", 0, T0)
    assert days[0].t <= T0 - 30 * DAY < days[0].T
    assert len(days) == 31  # 30 days on the epoch grid: the first and the launch day are partial


def test_same_seed_same_past_other_seed_other_past():
    a = _engine(7).candles("ETH", "1h", 0, T0)
    b = _engine(7).candles("ETH", "1h", 0, T0)
    c = _engine(8).candles("ETH", "1h", 0, T0)
    assert a == b
    assert [k.c for k in a] != [k.c for k in c]


def test_the_past_ends_at_the_listing_price_where_the_live_market_starts():
    eng = _engine()
    for m in eng.markets.perps:
        last = eng.candles(m.name, "1m", T0 - 2 * MIN, T0)[-1]
        assert last.t == T0 - T0 % MIN - MIN
        assert last.c == m.start_px
        assert eng.oracle_price(m.name) == m.start_px


def test_candles_are_valid_and_coarse_ones_aggregate_the_minutes():
    eng = _engine()
    minutes = eng.candles("SOL", "1m", T0 - 3 * HOUR, T0)
    for k in minutes:
        assert k.l <= min(k.o, k.c) <= max(k.o, k.c) <= k.h
        assert k.v > 0 and k.n > 0
        assert k.T == k.t + MIN - 1
    for a, b in zip(minutes, minutes[1:], strict=False):
        assert b.o == a.c and b.t == a.t + MIN  # one continuous path
    hour_start = T0 - T0 % HOUR - 2 * HOUR
    hour = next(k for k in eng.candles("SOL", "1h", hour_start, hour_start) if k.t == hour_start)
    inside = [k for k in minutes if hour_start <= k.t < hour_start + HOUR]
    assert len(inside) == 60
    assert hour.o == inside[0].o and hour.c == inside[-1].c
    assert hour.h == max(k.h for k in inside) and hour.l == min(k.l for k in inside)
    assert hour.n == sum(k.n for k in inside)
    assert hour.v == sum(k.v for k in inside)


def test_only_the_5000_most_recent_candles_of_an_interval_exist():
    eng = _engine()
    minutes = eng.candles("BTC", "1m", 0, T0)
    assert len(minutes) == 4999  # the 5000th is the launch minute, which has no trade yet
    assert eng.candles("BTC", "1m", 0, T0 - 5000 * MIN) == []


def test_the_launch_candle_joins_the_past_minutes_and_the_live_trades():
    eng = _engine()
    market = SyntheticMarket(eng, seed=1, coins=["BTC"])
    for i in range(30):
        market.step(T0 + i * 500)
    hours = eng.candles("BTC", "1h", T0 - HOUR, T0 + DAY)
    launch_hour = T0 - T0 % HOUR
    joint = [k for k in hours if k.t == launch_hour]
    assert len(joint) == 1  # one candle, not a past half and a live half
    past_minutes = eng.candles("BTC", "1m", launch_hour, T0 - T0 % MIN - 1)
    live = eng._candles["BTC"]["1h"][-1]
    assert joint[0].o == past_minutes[0].o
    assert joint[0].c == live.c
    assert joint[0].n == sum(k.n for k in past_minutes) + live.n


def test_hourly_funding_before_launch_follows_the_ledger_formula():
    eng = _engine()
    rows = eng.funding_history("BTC", 0)
    assert len(rows) == 500  # one page, as the venue caps it
    assert rows[0].time == T0 - T0 % HOUR - 30 * DAY + HOUR
    assert all(b.time - a.time == HOUR for a, b in zip(rows, rows[1:], strict=False))
    for r in rows:
        assert r.funding_rate == hourly_funding_rate(r.premium).quantize(Decimal("1e-8"), rounding=ROUND_HALF_EVEN)
    assert len({r.funding_rate for r in rows}) > 20  # it moves (outside the clamp, as on the venue)
    # paging by time reaches the launch hour, then live funding continues after it
    tail = eng.funding_history("BTC", T0 - 3 * HOUR)
    assert [r.time for r in tail] == [T0 - T0 % HOUR - 2 * HOUR, T0 - T0 % HOUR - HOUR, T0 - T0 % HOUR]
    eng.advance(T0 + 2 * HOUR)
    tail = eng.funding_history("BTC", T0 - HOUR)
    assert [r.time for r in tail] == [T0 - T0 % HOUR, T0 - T0 % HOUR + HOUR, T0 - T0 % HOUR + 2 * HOUR]


def test_prev_day_px_comes_from_the_past():
    eng = _engine()
    ctx = eng.asset_ctx("BTC")
    day_ago = eng.candles("BTC", "1m", T0 - DAY, T0 - DAY)[0]
    assert ctx.prev_day_px == day_ago.o


def test_the_state_file_keeps_the_recipe_not_the_candles(tmp_path):
    eng = _engine()
    before = eng.candles("ETH", "4h", 0, T0)
    path = tmp_path / "state.json"
    eng.save(path)
    assert path.stat().st_size < 20_000
    assert json.loads(path.read_text())["history"] == {"seed": 7, "launch_ms": T0, "days": 30}
    again = Engine.load(path)
    assert again.candles("ETH", "4h", 0, T0) == before


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, seed=3, market_interval=0, tick_interval=0.05))
    yield handle
    handle.stop()


def test_served_candles_and_funding_reach_back_thirty_days(devnet):
    http = Http(devnet.url)
    now = int(time.time() * 1000)
    days = http.info(
        {
            "type": "candleSnapshot",
            "req": {"coin": "xyz:GOLD", "interval": "1d", "startTime": 0, "endTime": now},
        }
    )
    assert len(days) >= 30
    assert days[0]["t"] <= now - 29 * DAY
    assert set(days[0]) == {"t", "T", "s", "i", "o", "c", "h", "l", "v", "n"}
    assert days[0]["s"] == "xyz:GOLD" and days[0]["i"] == "1d"
    rows = http.info({"type": "fundingHistory", "coin": "ETH", "startTime": now - 2 * DAY})
    assert 47 <= len(rows) <= 49
    assert set(rows[0]) == {"coin", "fundingRate", "premium", "time"}
    http.close()


def test_official_sdk_reads_the_past():
    pytest.importorskip("hyperliquid")
    from hyperliquid.info import Info

    handle = start_in_thread(DevnetConfig(port=0, seed=3, market_interval=0, tick_interval=0.05))
    try:
        info = Info(handle.url, skip_ws=True)
        now = int(time.time() * 1000)
        candles = info.candles_snapshot("BTC", "1h", now - 7 * DAY, now)
        assert len(candles) >= 7 * 24
        assert Decimal(candles[-1]["c"]) == Decimal(95000)  # nothing traded yet: the listing price
        funding = info.funding_history("SOL", now - DAY)
        assert len(funding) >= 23
    finally:
        handle.stop()


def test_devnet_with_history_starts_fast():
    t = time.perf_counter()
    handle = start_in_thread(DevnetConfig(port=0, seed=5, tick_interval=0.05))
    try:
        assert time.perf_counter() - t < 1.0
    finally:
        handle.stop()


def test_spot_pairs_have_a_past_too_and_no_funding():
    eng = _engine()
    minutes = eng.candles("PURR/USDC", "1m", T0 - 10 * MIN, T0)
    assert len(minutes) == 10 and minutes[-1].c == D("0.2")
    assert all(k.v == k.v.to_integral_value() for k in minutes)  # PURR trades in whole tokens
    assert eng.funding_history("PURR/USDC", 0) == []


def test_a_seed_gives_the_same_minutes_whenever_the_devnet_launches():
    a = _engine(7, T0).candles("ETH", "1m", 0, T0)
    later = T0 + 3 * DAY + 17 * MIN
    b = _engine(7, later).candles("ETH", "1m", 0, later)
    assert [(k.o, k.c, k.h, k.l, k.v, k.n) for k in a] == [(k.o, k.c, k.h, k.l, k.v, k.n) for k in b]
    assert b[-1].t - a[-1].t == later - later % MIN - (T0 - T0 % MIN)
