"""The Ostium devnet's synthetic oracle: a price for each listed pair, a seeded random walk, the
pairs' trading hours, and the latest-prices feed shaped like Ostium's own.

Prices are Decimal with Ostium's 5-decimal grid; the walk moves each mid by a whole number of
tenths of a basis point per step, so no float ever touches a price. A market is open when its
session (markets.json, via perpcli's instrument data) says so, unless the devnet was started
with hours "always" or a control request pinned it open or closed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from perpcli.venues.ostium import instruments

GRID = Decimal("0.00001")


@dataclass(frozen=True, slots=True)
class DevnetPair:
    """One pair the devnet lists: its starting mid, spread and the contract's limits."""

    pair_index: int
    mid: Decimal
    spread_bps: Decimal
    max_leverage: int
    min_leverage: int = 2


# Every pair up to the highest one the devnet must serve (TSLA, 22), so that the chain's
# pairsCount names only pairs that trade here.
PAIRS: tuple[DevnetPair, ...] = (
    DevnetPair(0, Decimal("97000"), Decimal("2"), 50),  # BTC
    DevnetPair(1, Decimal("3400"), Decimal("2"), 50),  # ETH
    DevnetPair(2, Decimal("1.08500"), Decimal("0.5"), 100),  # EURUSD
    DevnetPair(3, Decimal("1.27000"), Decimal("0.5"), 100),  # GBPUSD
    DevnetPair(4, Decimal("150.200"), Decimal("0.5"), 100),  # USDJPY
    DevnetPair(5, Decimal("2650"), Decimal("1"), 100),  # XAU
    DevnetPair(6, Decimal("4.3000"), Decimal("3"), 50),  # HG
    DevnetPair(7, Decimal("71.50"), Decimal("3"), 50),  # CL
    DevnetPair(8, Decimal("31.200"), Decimal("3"), 50),  # XAG
    DevnetPair(9, Decimal("190"), Decimal("3"), 50),  # SOL
    DevnetPair(10, Decimal("6000"), Decimal("1"), 100),  # SPX
    DevnetPair(11, Decimal("44000"), Decimal("1"), 100),  # DJI
    DevnetPair(12, Decimal("21000"), Decimal("1"), 100),  # NDX
    DevnetPair(13, Decimal("39000"), Decimal("2"), 50),  # NIK
    DevnetPair(14, Decimal("8300"), Decimal("2"), 50),  # FTSE
    DevnetPair(15, Decimal("20000"), Decimal("2"), 50),  # DAX
    DevnetPair(16, Decimal("1.36000"), Decimal("0.5"), 100),  # USDCAD
    DevnetPair(17, Decimal("20.1000"), Decimal("1"), 100),  # USDMXN
    DevnetPair(18, Decimal("140"), Decimal("3"), 10),  # NVDA
    DevnetPair(19, Decimal("175"), Decimal("3"), 10),  # GOOG
    DevnetPair(20, Decimal("210"), Decimal("3"), 10),  # AMZN
    DevnetPair(21, Decimal("600"), Decimal("3"), 10),  # META
    DevnetPair(22, Decimal("350"), Decimal("3"), 10),  # TSLA
)
MIN_POSITION_USDC = Decimal(100)
STEP_TENTHS_BPS = 5  # each walk step moves a mid by at most 0.5 bp


@dataclass(frozen=True, slots=True)
class Quote:
    pair_index: int
    symbol: str
    bid: Decimal
    mid: Decimal
    ask: Decimal
    market_open: bool
    time_s: int


class SyntheticPrices:
    """Thread-safe: the keeper reads quotes while the HTTP face serves them and sets prices."""

    def __init__(self, *, seed: int = 0, walk: bool = True, hours: str = "real",
                 clock: Callable[[], float] = time.time) -> None:
        if hours not in ("real", "always"):
            raise ValueError("hours must be 'real' or 'always'")
        self._rng = random.Random(seed)
        self._walk = walk
        self._hours = hours
        self._clock = clock
        self._lock = threading.Lock()
        self._pairs = {p.pair_index: p for p in PAIRS}
        self._mids = {p.pair_index: p.mid for p in PAIRS}
        self._pinned: set[int] = set()
        self._open_override: dict[int, bool] = {}
        self._last_step = clock()

    @property
    def pairs(self) -> tuple[DevnetPair, ...]:
        return PAIRS

    def pair_index(self, symbol: str) -> int:
        """By Ostium's name ("XAU-USD"), underlying or alias ("XAU", "GOLD", "CL")."""
        spec = instruments.spec_for_symbol(symbol)
        if spec is None:
            folded = symbol.strip().upper()
            spec = next((s for s in instruments.catalogue()
                         if folded == s.underlying or folded in s.aliases), None)
        if spec is None or spec.pair_index not in self._pairs:
            raise KeyError(f"the devnet lists no pair {symbol!r}")
        return spec.pair_index

    def set_mid(self, pair_index: int, mid: Decimal) -> None:
        """Pins a pair's mid (the walk leaves it alone until unpinned with None)."""
        with self._lock:
            if mid is None:
                self._pinned.discard(pair_index)
                return
            if not mid > 0:
                raise ValueError("a price must be above 0")
            self._mids[pair_index] = mid.quantize(GRID, rounding=ROUND_HALF_EVEN)
            self._pinned.add(pair_index)

    def set_open(self, pair_index: int, is_open: bool | None) -> None:
        """Forces a market open or closed; None goes back to its trading hours."""
        with self._lock:
            if is_open is None:
                self._open_override.pop(pair_index, None)
            else:
                self._open_override[pair_index] = bool(is_open)

    def _step(self, now: float) -> None:
        if not self._walk:
            return
        steps = min(int(now - self._last_step), 60)
        if steps <= 0:
            return
        self._last_step += steps
        for _ in range(steps):
            for index, mid in self._mids.items():
                if index in self._pinned:
                    continue
                move = Decimal(self._rng.randint(-STEP_TENTHS_BPS, STEP_TENTHS_BPS)) / Decimal(100_000)
                self._mids[index] = (mid * (1 + move)).quantize(GRID, rounding=ROUND_HALF_EVEN)

    def is_open(self, pair_index: int, now: float | None = None) -> bool:
        if pair_index in self._open_override:
            return self._open_override[pair_index]
        if self._hours == "always":
            return True
        spec = instruments.spec_for_index(pair_index)
        hours = instruments.trading_hours(spec.session) if spec else None
        return True if hours is None else hours.is_open(int((self._clock() if now is None else now) * 1000))

    def quote(self, pair_index: int) -> Quote:
        with self._lock:
            now = self._clock()
            self._step(now)
            mid = self._mids[pair_index]
            half = (mid * self._pairs[pair_index].spread_bps / Decimal(20_000)).quantize(GRID, rounding=ROUND_HALF_EVEN)
            half = max(half, GRID)
            spec = instruments.spec_for_index(pair_index)
            return Quote(pair_index, spec.symbol if spec else str(pair_index), mid - half, mid, mid + half,
                         self.is_open(pair_index, now), int(now))

    def quotes(self) -> list[Quote]:
        return [self.quote(p.pair_index) for p in PAIRS]

    def latest_prices(self) -> bytes:
        """The feed as Ostium's latest-prices endpoint shapes it (numbers as JSON numbers)."""
        entries = []
        for q in self.quotes():
            base, _, quote = q.symbol.partition("-")
            entries.append(
                f'{{"feed_id":"devnet-{q.pair_index}","from":"{base}","to":"{quote}","bid":{q.bid},"mid":{q.mid},'
                f'"ask":{q.ask},"isMarketOpen":{str(q.market_open).lower()},"isDayTradingClosed":false,'
                f'"timestampSeconds":{q.time_s}}}')
        return ("[" + ",".join(entries) + "]").encode()
