"""The devnet's history before launch: seeded minute candles and hourly funding per market.

A devnet that starts empty gives charts nothing to warm up on and backfills nothing. So each
market gets a past: `days` of one-minute prices that end exactly at the market's listing price
at the launch minute, which is where the live synthetic market starts. Coarser candles are
aggregated from those minutes, and each past hour has a funding row whose premium follows
that hour's move, put through the ledger's hourly rate formula (as live funding is).

Nothing is stored but the recipe (seed, launch time, length), so the state file stays small:
a market's minute prices (one float each) are drawn the first time its history is read, and
everything else about a minute (wicks, volume, trade count) is a pure hash of (seed, market,
minute), recomputed when asked. The walk is drawn backwards from the listing price as a
mean-reverting log random walk (reversible, so backwards is as plausible as forwards) with the
market's own volatility. Floats stay inside this module: every price leaving it is a Decimal
rounded to a valid price of the market, every size to its lot.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from perpcli.devnet import margin_rules as mr
from perpcli.devnet.amounts import RATE_QUANTUM
from perpcli.devnet.records import Candle, FundingRate
from perpcli.venues.hyperliquid.numbers import round_price

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DEFAULT_DAYS = 30
_HALF_LIFE_MINUTES = 5 * 1440  # how fast the walk forgets the listing price, going backwards
_MASK = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class HistorySpec:
    """What the history needs to know of one market."""

    coin: str
    start_px: Decimal  # the listing price: where the history ends and the live market begins
    volatility: Decimal  # fraction per sqrt(hour), as the synthetic market uses it
    sz_decimals: int
    spot: bool = False
    funding_multiplier: Decimal = Decimal(1)
    minute_notional: int = 300_000  # typical USDC traded per minute


def _mix(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of an integer, fast in pure Python."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class _Series:
    """One market's minute prices: `levels[i]` is the price at the start of minute i, and
    `levels[n]` (the launch minute's start) is the listing price."""

    __slots__ = ("spec", "key", "levels", "wick", "lots_per_unit", "_px_memo")

    def __init__(self, spec: HistorySpec, seed: int, minutes: int) -> None:
        self.spec = spec
        self.key = _mix(int.from_bytes(f"{seed}:{spec.coin}".encode(), "little") & _MASK)
        rng = random.Random(f"perpcli-devnet-history:{seed}:{spec.coin}")
        sigma = float(spec.volatility) / math.sqrt(60.0)  # per minute
        keep = 1.0 - math.log(2.0) / _HALF_LIFE_MINUTES
        x = 0.0  # log(price / listing price)
        logs = array("d", bytes(8 * (minutes + 1)))
        gauss = rng.gauss
        for i in range(minutes - 1, -1, -1):
            x = x * keep + gauss(0.0, sigma)
            logs[i] = x
        start = float(spec.start_px)
        exp = math.exp
        self.levels = array("d", (start * exp(v) for v in logs))
        self.levels[minutes] = start
        self.wick = sigma * 0.8
        self.lots_per_unit = 10**spec.sz_decimals
        self._px_memo: dict[float, Decimal] = {}

    def px(self, value: float) -> Decimal:
        memo = self._px_memo
        out = memo.get(value)
        if out is None:
            if len(memo) > 2048:
                memo.clear()
            out = memo[value] = round_price(Decimal(repr(value)), self.spec.sz_decimals, spot=self.spec.spot)
        return out

    def minute(self, i: int) -> tuple[float, float, float, float, int, int]:
        """(open, close, high, low, base volume in lots, trades) of minute i; prices as floats.
        Volume counts whole lots so coarse candles sum their minutes exactly."""
        o, c = self.levels[i], self.levels[i + 1]
        h = _mix(self.key ^ (i + 1))  # by position before launch: the same past for a seed, whenever launched
        u1 = (h & 0x1FFFFF) / 0x200000
        u2 = ((h >> 21) & 0x1FFFFF) / 0x200000
        u3 = (h >> 42) / 0x400000
        hi = (o if o > c else c) * (1.0 + u1 * u1 * self.wick)
        lo = (c if o > c else o) * (1.0 - u2 * u2 * self.wick)
        mid = (o + c) / 2
        lots = int(self.spec.minute_notional * (0.2 + 1.6 * u3) / mid * self.lots_per_unit)
        return o, c, hi, lo, lots, 1 + int(u3 * 60)


class SeededHistory:
    """The past of every market before `launch_ms`: deterministic for (seed, launch, days)."""

    def __init__(
        self, specs: Iterable[HistorySpec], seed: int, launch_ms: int, days: int = DEFAULT_DAYS
    ) -> None:
        self.seed = seed
        self.launch_ms = launch_ms
        self.days = days
        self.end_ms = launch_ms - launch_ms % MINUTE_MS  # the first minute that is not history
        self.minutes = days * 1440
        self.start_ms = self.end_ms - self.minutes * MINUTE_MS
        self._specs = {s.coin: s for s in specs}
        self._series: dict[str, _Series] = {}

    def covers(self, coin: str) -> bool:
        return coin in self._specs

    def to_json(self) -> dict:
        return {"seed": self.seed, "launch_ms": self.launch_ms, "days": self.days}

    def _of(self, coin: str) -> _Series | None:
        series = self._series.get(coin)
        if series is None:
            spec = self._specs.get(coin)
            if spec is None:
                return None
            series = self._series[coin] = _Series(spec, self.seed, self.minutes)
        return series

    # -- candles -------------------------------------------------------------------------------

    def candles(self, coin: str, interval: str, length: int, start_ms: int, end_ms: int) -> list[Candle]:
        """Candles of `length` ms (a whole number of minutes, on the epoch grid) overlapping
        [start_ms, end_ms] and the history. The bucket holding the launch minute is partial:
        it holds only the minutes before launch (the engine merges its live part)."""
        lo = max(start_ms, self.start_ms)
        hi = min(end_ms, self.end_ms - 1)
        if lo > hi or length % MINUTE_MS:
            return []
        s = self._of(coin)
        if s is None:
            return []
        out: list[Candle] = []
        bucket = lo - lo % length
        while bucket <= hi:
            first = max(bucket, self.start_ms)
            last = min(bucket + length, self.end_ms)  # exclusive
            i0 = (first - self.start_ms) // MINUTE_MS
            i1 = (last - self.start_ms) // MINUTE_MS
            top = bottom = None
            v = 0
            n = 0
            for i in range(i0, i1):
                _o, _c, mh, ml, mv, mn = s.minute(i)
                if top is None or mh > top:
                    top = mh
                if bottom is None or ml < bottom:
                    bottom = ml
                v += mv
                n += mn
            if top is not None:
                o_px, c_px = s.px(s.levels[i0]), s.px(s.levels[i1])
                out.append(
                    Candle(
                        coin,
                        interval,
                        bucket,
                        bucket + length - 1,
                        o_px,
                        c_px,
                        max(s.px(top), o_px, c_px),
                        min(s.px(bottom), o_px, c_px),
                        Decimal(v).scaleb(-s.spec.sz_decimals),
                        n,
                    )
                )
            bucket += length
        return out

    def close_before(self, coin: str, ms: int) -> Decimal | None:
        """The price at the start of the minute holding `ms` (None outside the history)."""
        if not self.start_ms <= ms < self.end_ms:
            return None
        s = self._of(coin)
        if s is None:
            return None
        return s.px(s.levels[(ms - self.start_ms) // MINUTE_MS])

    # -- funding -------------------------------------------------------------------------------

    def funding(self, coin: str, start_ms: int, end_ms: int | None) -> list[FundingRate]:
        """Hourly funding rows in [start_ms, end_ms] up to launch (live funding comes after).
        A row's premium follows its hour's move plus a little hashed noise."""
        s = self._of(coin)
        if s is None or s.spec.spot:
            return []
        first = max(start_ms, self.start_ms)
        first += -first % HOUR_MS
        last = self.launch_ms if end_ms is None else min(end_ms, self.launch_ms)
        out: list[FundingRate] = []
        t = first
        mult = s.spec.funding_multiplier
        while t <= last:
            i1 = min((t - self.start_ms) // MINUTE_MS, self.minutes)
            i0 = max(i1 - 60, 0)
            move = s.levels[i1] / s.levels[i0] - 1.0
            noise = (_mix(s.key ^ ((self.end_ms - t) // HOUR_MS) ^ 0x5EED) >> 11) / float(1 << 53) - 0.5
            raw = 0.05 * move + 0.0002 * noise
            premium = Decimal(repr(raw)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
            rate = mr.hourly_funding_rate(premium, mult).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
            out.append(FundingRate(coin, rate, premium, t))
            t += HOUR_MS
        return out


SPOT_VOLATILITY = Decimal("0.01")  # the synthetic market's spot walk (market.FlowConfig.spot_volatility)


def history_specs(markets) -> list[HistorySpec]:
    """One spec per listed perp and spot pair (a `markets.MarketSet`); delisted perps have no
    past to show."""
    out = []
    for m in markets.perps:
        if m.is_delisted:
            continue
        minute_ntl = int(m.impact_notional) * 20
        out.append(HistorySpec(m.name, m.start_px, m.volatility, m.sz_decimals, False, m.funding_multiplier, minute_ntl))
    tokens = {t.index: t for t in markets.spot_tokens}
    for p in markets.spot_pairs:
        base = tokens[p.base]
        out.append(HistorySpec(p.name, p.start_px, SPOT_VOLATILITY, base.sz_decimals, True, minute_notional=20_000))
    return out
