"""The funding board: one underlying's funding on every venue that lists it, side by side.

Venues quote funding per their own interval (Hyperliquid hourly, Binance-style venues every
8 hours), so rates are compared as APR (FundingRate.apr: rate x periods per year). For each
underlying the board names the pair an arbitrageur would hold: long where funding is lowest
(longs pay least, or are paid most), short where it is highest; the carry is the difference
in APR, and the basis is how far the two venues' marks stand apart.

Keyless: market data only, read through the seam, every venue at once. A venue that does not
answer is named in `missing` with its error, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import ExitCode, PerpError
from perpcli.domain.instrument import Instrument
from perpcli.venues.base import FundingRate


@dataclass(frozen=True)
class Quote:
    """One market's funding and mark on one venue."""

    venue: str
    underlying: str
    rate: FundingRate
    mark: Decimal | None
    instrument: Instrument | None = None

    @property
    def symbol(self) -> str:
        return self.rate.symbol


@dataclass(frozen=True)
class Line:
    """Every venue's quote for one underlying, and the best long/short pair among them."""

    underlying: str
    quotes: tuple[Quote, ...]  # lowest APR first

    @property
    def best_long(self) -> Quote | None:
        """Where a long pays least: the lowest APR (needs two venues to be a choice)."""
        return self.quotes[0] if len({q.venue for q in self.quotes}) > 1 else None

    @property
    def best_short(self) -> Quote | None:
        """Where a short earns most: the highest APR, on another venue than the best long."""
        if self.best_long is None:
            return None
        others = [q for q in self.quotes if q.venue != self.best_long.venue]
        return others[-1]

    @property
    def carry_apr(self) -> Decimal | None:
        """APR earned on the notional holding the pair (before fees and basis moves)."""
        if self.best_long is None or self.best_short is None:
            return None
        return self.best_short.rate.apr - self.best_long.rate.apr

    @property
    def pair_basis_pct(self) -> Decimal | None:
        """The short venue's mark above the long venue's, % of the long venue's mark."""
        long, short = self.best_long, self.best_short
        if long is None or short is None or not long.mark or short.mark is None:
            return None
        return (short.mark - long.mark) / long.mark * 100

    def basis_pct(self, q: Quote) -> Decimal | None:
        """This venue's mark against the average of the venues' marks, %."""
        marks = [x.mark for x in self.quotes if x.mark]
        if not marks or not q.mark:
            return None
        mean = sum(marks, Decimal(0)) / len(marks)
        return (q.mark - mean) / mean * 100


@dataclass(frozen=True)
class Board:
    lines: tuple[Line, ...]
    venues: tuple[str, ...]
    missing: tuple[tuple[str, PerpError], ...]
    time_ms: int

    def exit_code(self) -> ExitCode:
        """0 when every venue answered; else the first missing venue's own code."""
        return ExitCode(int(self.missing[0][1].exit_code)) if self.missing else ExitCode.OK

    def missing_line(self) -> str:
        named = ", ".join(f"{v} ({str(e).splitlines()[0][:120]})" for v, e in self.missing)
        return f"partial funding board: no answer from {named}"


def read_quotes(market: Any) -> list[Quote]:
    """Every perp market of one venue with its funding and mark."""
    insts = {i.symbol: i for i in market.instruments()}
    marks = {mp.symbol: mp.mark_price for mp in market.mark_prices()}
    out = []
    for rate in market.funding():
        inst = insts.get(rate.symbol)
        if inst is None:
            continue
        out.append(Quote(market.venue, inst.underlying, rate, marks.get(rate.symbol), inst))
    return out


def build(quotes: Sequence[Quote], wanted: Sequence[str] = ()) -> tuple[Line, ...]:
    """Group quotes by underlying. With `wanted`, those underlyings (even on one venue);
    without, every underlying listed on two venues or more. Pure."""
    groups: dict[str, list[Quote]] = {}
    for q in quotes:
        groups.setdefault(q.underlying.upper(), []).append(q)
    if wanted:
        names = [w.upper() for w in dict.fromkeys(wanted)]
    else:
        names = sorted(u for u, g in groups.items() if len({q.venue for q in g}) > 1)
    return tuple(Line(u, tuple(sorted(groups.get(u, []), key=lambda q: (q.rate.apr, q.venue, q.symbol))))
                 for u in names)


def gather(open_session: Callable[[str], Any], venues: Sequence[str], wanted: Sequence[str],
           clock_ms: Callable[[], int]) -> Board:
    def one(name: str) -> tuple[str, list[Quote] | PerpError]:
        try:
            with open_session(name) as s:
                return name, read_quotes(s.market)
        except PerpError as e:
            return name, e

    with ThreadPoolExecutor(max_workers=min(8, max(1, len(venues))), thread_name_prefix="funding") as pool:
        answers = list(pool.map(one, venues))
    quotes = [q for _, got in answers if isinstance(got, list) for q in got]
    missing = tuple((name, got) for name, got in answers if isinstance(got, PerpError))
    return Board(build(quotes, wanted), tuple(venues), missing, clock_ms())
