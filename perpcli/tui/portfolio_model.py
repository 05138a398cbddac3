"""The TUI's portfolio and funding board, read from the shared store through the sources.

WHY here and not in the screens: the figures are app/portfolio.py's and app/funding_board.py's
(the very rows `perp portfolio --json` and `perp funding --compare --json` print, through
app/portfolio_views.py); this module only gathers their inputs from what is on screen (each
venue's store-held account at live marks, its funding rates) and says which venues are
missing or stale. No textual here, so tests check the numbers without a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpcli.app import funding_board, portfolio, portfolio_views
from perpcli.domain.errors import NetworkError, PerpError, UsageError
from perpcli.tui.venue_health import STALE, UNREACHABLE, VenueHealth


@dataclass(frozen=True)
class LivePortfolio:
    doc: dict[str, Any]  # portfolio_views.portfolio_doc: totals, venues, positions, exposure
    health: dict[str, VenueHealth]
    stale: tuple[str, ...]  # venues counted at their last figures while not connected

    @property
    def partial(self) -> bool:
        return bool(self.doc["totals"]["partial"] or self.stale)

    def partial_line(self) -> str:
        """Why the totals are not the whole, current book ("" when they are)."""
        parts = [f"{v['venue']} {v['status']}" + (f" ({v['error'][:80]})" if v["error"] else "")
                 for v in self.doc["venues"] if v["status"] in ("unreachable", "error")]
        parts += [f"{v} STALE (last figures counted)" for v in self.stale]
        return ("PARTIAL: " + "; ".join(parts)) if parts else ""


def book_venues(sources: Mapping[str, Any]) -> list[str]:
    """The venues whose account is on screen: those with an account (a key or an address)."""
    return [v for v, s in sources.items() if getattr(s, "trading", None) is not None or s.account() is not None]


def _instrument_of(source: Any) -> Callable[[str], Any]:
    def of(symbol: str) -> Any:
        try:
            return source.instrument(symbol)
        except (PerpError, KeyError):
            return None

    return of


def _mark_of(source: Any) -> Callable[[str], Decimal | None]:
    def of(symbol: str) -> Decimal | None:
        m = source.mark(symbol)
        return m.mark_price if m is not None else None

    return of


def _apr_of(source: Any) -> Callable[[str], Decimal | None]:
    rates = source.funding_rates() if hasattr(source, "funding_rates") else {}

    def of(symbol: str) -> Decimal | None:
        r = rates.get(symbol)
        return r.apr if r is not None else None

    return of


def live_portfolio(sources: Mapping[str, Any], health: Mapping[str, VenueHealth], now_ms: int,
                   quote_of: Callable[[Any], str]) -> LivePortfolio:
    """Every book venue's figures at live marks; a venue without an account yet is missing
    (unreachable, or still loading), one that dropped after answering is stale."""
    books = []
    stale = []
    for venue in book_venues(sources):
        source = sources[venue]
        h = health.get(venue)
        snap = source.account()
        if snap is None:
            why = h.detail if h is not None and h.detail else "no account snapshot yet"
            status = h.status if h is not None else "connecting"
            books.append(portfolio.VenueBook(venue, read_ms=now_ms, error=NetworkError(f"{status}: {why}")))
            continue
        read_ms = getattr(source, "account_read_ms", 0) or snap.time_ms or now_ms
        books.append(portfolio.live_venue_book(
            venue, snap, instrument_of=_instrument_of(source), mark_of=_mark_of(source),
            rules_of=lambda inst, s=source: s.margin_rules(inst.symbol), quote=quote_of(source),
            apr_of=_apr_of(source), read_ms=read_ms))
        if h is not None and h.status in (STALE, UNREACHABLE):  # (still connecting: nothing is old yet)
            stale.append(venue)
    doc = portfolio_views.portfolio_doc(portfolio.book_of(books, now_ms))
    for row in doc["venues"]:
        if row["venue"] in stale:
            row["status"] = "stale"
    doc["totals"]["stale"] = list(stale)
    return LivePortfolio(doc, dict(health), tuple(stale))


def live_funding_board(sources: Mapping[str, Any], now_ms: int, focus: Collection[str] = ()) -> dict[str, Any]:
    """The funding board over every venue on screen (portfolio_views.funding_board_doc):
    each underlying with its funding per venue as APR, the basis, the best long/short pair.
    Underlyings listed on two venues or more come first; then those in `focus` (open tabs,
    positions) that only one venue lists."""
    quotes: list[funding_board.Quote] = []
    missing: list[tuple[str, PerpError]] = []
    for venue, source in sources.items():
        rates = source.funding_rates() if hasattr(source, "funding_rates") else {}
        error = getattr(source, "funding_error", "")
        if not rates:
            missing.append((venue, UsageError(error or "no funding rates yet")))
            continue
        inst_of, mark_of = _instrument_of(source), _mark_of(source)
        for symbol, rate in rates.items():
            inst = inst_of(symbol)
            if inst is None:
                continue
            quotes.append(funding_board.Quote(venue, inst.underlying, rate, mark_of(symbol), inst))
    shared = funding_board.build(quotes)
    listed = {line.underlying for line in shared}
    wanted = {f.upper() for f in focus}
    single = sorted(({q.underlying.upper() for q in quotes} - listed) & wanted)
    lines = shared + (funding_board.build(quotes, single) if single else ())  # build([]) means "all shared"
    board = funding_board.Board(lines, tuple(sources), tuple(missing), now_ms)
    return portfolio_views.funding_board_doc(board)
