"""Devnet engine fast paths: remembered state on the order path must match a recomputation.

The engine keeps the open candles of a coin's current minute (and their CandleUpdated events)
so a trade in the same minute skips the per-interval window arithmetic. These tests drive
trades across minute, hour and day boundaries and through a save/load, and check every
candle series against one rebuilt from the trade tape, and every candle event against the
series' newest candle — so a stale remembered candle or event would fail them.
"""

from __future__ import annotations

from decimal import Decimal as D

from perpcli.devnet.engine import CANDLE_INTERVALS, Engine
from perpcli.devnet.records import CandleUpdated, OrderSpec

T0 = 1_700_000_000_000
MAKER = "0x" + "a" * 40
TAKER = "0x" + "b" * 40
# gaps between trades (ms): same minute, next minute, across hours and a day
GAPS = [1, 5, 50, 1000, 20_000, 61_000, 3_600_000, 1, 7, 86_400_000, 2, 59_999, 1]


def _trade(e: Engine, px: int, sz: str, now: int) -> list:
    e.place_orders(MAKER, [OrderSpec(0, False, D(px), D(sz))], "na", now)
    e.place_orders(TAKER, [OrderSpec(0, True, D(px), D(sz), False, "Ioc")], "na", now)
    return e.drain_events()


def _rebuilt(trades, length: int) -> list[tuple]:
    """Candles of one interval recomputed from the tape: (t, o, h, l, c, v, n)."""
    out: dict[int, list] = {}
    for tr in trades:
        t0 = tr.time - tr.time % length
        c = out.get(t0)
        if c is None:
            out[t0] = [t0, tr.px, tr.px, tr.px, tr.px, tr.sz, 1]
        else:
            c[2] = max(c[2], tr.px)
            c[3] = min(c[3], tr.px)
            c[4] = tr.px
            c[5] += tr.sz
            c[6] += 1
    return [tuple(c) for c in out.values()]


def _check(e: Engine, events: list) -> None:
    trades = e.recent_trades("BTC")[::-1]  # newest first -> oldest first
    for iv, length in CANDLE_INTERVALS.items():
        got = [(c.t, c.o, c.h, c.l, c.c, c.v, c.n) for c in e.candles("BTC", iv, 0, 2**62)]
        assert got == _rebuilt(trades, length), iv
    pushed = [ev.candle for ev in events if isinstance(ev, CandleUpdated)]
    newest = [e.candles("BTC", iv, 0, 2**62)[-1] for iv in CANDLE_INTERVALS]
    assert pushed == newest and all(a is b for a, b in zip(pushed, newest, strict=True))


def test_candles_and_candle_events_match_the_tape_across_boundaries_and_a_reload():
    e = Engine(start_ms=T0)
    now = T0
    for i, gap in enumerate(GAPS * 2):
        now += gap
        events = _trade(e, 95_000 + (i * 37) % 11 - 5, f"0.0{1 + i % 4}", now)
        _check(e, events)
        if i == len(GAPS):  # reload mid-minute: remembered candles must not outlive the old engine
            e = Engine.from_json(e.to_json())
            now += 1
            _check(e, _trade(e, 95_001, "0.01", now))


def test_same_minute_trades_resend_the_same_candle_events():
    e = Engine(start_ms=T0)
    minute = (T0 // 300_000 + 1) * 300_000  # a 5m start: the next minute is in the same 5m candle
    first = [ev for ev in _trade(e, 95_000, "0.01", minute) if isinstance(ev, CandleUpdated)]
    again = [ev for ev in _trade(e, 95_002, "0.02", minute + 10) if isinstance(ev, CandleUpdated)]
    assert len(first) == len(CANDLE_INTERVALS) and all(a is b for a, b in zip(first, again, strict=True))
    assert again[0].candle.n == 2 and again[0].candle.c == D(95_002) and again[0].candle.v == D("0.03")
    later = [ev for ev in _trade(e, 95_001, "0.01", minute + 60_000) if isinstance(ev, CandleUpdated)]
    assert later[0] is not first[0] and later[0].candle.t == minute + 60_000  # a new 1m candle
    assert later[1] is first[1] and later[1].candle.n == 3  # the 5m candle goes on
