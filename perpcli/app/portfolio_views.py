"""Read models of the cross-venue book (`perp portfolio`): one function per row kind, so the
--json schema (docs/json.md) is defined in one place. Same conventions as app/views.py: Decimals
at the precision of their kind; percentages to 2 places; APRs as fractions (0.1095 = 10.95%).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpcli.app import display as shown
from perpcli.app.portfolio import Book, HeldPosition, VenueBook
from perpcli.ledger.portfolio import Exposure

PCT = Decimal("0.01")


def _pct(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(PCT)


def venue_row(v: VenueBook, *, now_ms: int, stale_after_ms: int | None = None) -> dict[str, Any]:
    """One venue: its figures, or `status: "unreachable"` (or "error") and why. A missing
    venue's figures are null, never 0: nothing is known about them. Figures older than
    `stale_after_ms` (the venue's own timestamp) are `status: "stale"`: shown, and counted."""
    closest = v.closest
    if not v.ok:
        kind = "unreachable" if int(v.error.exit_code) == 5 else "error"  # type: ignore[union-attr]
        return {"venue": v.venue, "status": kind, "error": str(v.error), "exit_code": int(v.error.exit_code),  # type: ignore[union-attr]
                "account": None, "equity": None, "margin_used": None, "free_collateral": None, "leverage": None,
                "unrealized_pnl": None, "positions": None, "closest_liquidation_market": None,
                "closest_liquidation_distance_pct": None, "data_age_ms": None}
    age = v.age_ms(now_ms)
    stale = stale_after_ms is not None and age is not None and age > stale_after_ms
    return {
        "venue": v.venue,
        "status": "stale" if stale else "ok",
        "error": None,
        "exit_code": 0,
        "account": v.account,
        "equity": shown.usd(v.equity),
        "margin_used": shown.usd(v.margin_used),
        "free_collateral": shown.usd(v.free_collateral),
        "leverage": shown.ratio(v.leverage),
        "unrealized_pnl": shown.usd(v.unrealized_pnl),
        "positions": len(v.positions),
        "closest_liquidation_market": closest.symbol if closest else None,
        "closest_liquidation_distance_pct": _pct(closest.liquidation_distance_pct) if closest else None,
        "data_age_ms": age,
    }


def position_row(p: HeldPosition) -> dict[str, Any]:
    inst = p.instrument
    return {
        "venue": p.venue,
        "market": p.symbol,
        "underlying": p.underlying,
        "side": "long" if p.size > 0 else "short",
        "size": shown.size(inst, abs(p.size)),
        "units": p.units,
        "notional": shown.usd(abs(p.notional)),
        "entry_price": shown.price(inst, p.entry_price),
        "mark_price": shown.price(inst, p.mark),
        "unrealized_pnl": shown.usd(p.unrealized_pnl),
        "liquidation_price": shown.price(inst, p.liquidation_price),
        "liquidation_distance_pct": _pct(p.liquidation_distance_pct),
        "funding_apr": shown.rate(p.funding_apr),
    }


def exposure_row(e: Exposure) -> dict[str, Any]:
    """Net exposure to one underlying across venues (signed: + long)."""
    return {
        "underlying": e.underlying,
        "net_size": e.net_size,
        "net_notional": shown.usd(e.net_notional),
        "gross_notional": shown.usd(e.gross_notional),
        "venues": list(e.venues),
    }


def totals_row(book: Book) -> dict[str, Any]:
    """Sums over the venues that answered; `partial` and `missing` say which did not. A total
    adds up the venues' figures as shown (to the cent), so the rows always sum to it."""
    equity = _shown_total(book, "equity")
    gross = book.total("gross_notional")
    closest = book.closest
    return {
        "equity": equity,
        "margin_used": _shown_total(book, "margin_used"),
        "free_collateral": _shown_total(book, "free_collateral"),
        "unrealized_pnl": _shown_total(book, "unrealized_pnl"),
        "gross_notional": shown.usd(gross),
        "leverage": shown.ratio(gross / equity) if equity > 0 else None,
        "closest_liquidation": None if closest is None else {
            "venue": closest.venue, "market": closest.symbol,
            "distance_pct": _pct(closest.liquidation_distance_pct)},
        "venues": [v.venue for v in book.answered],
        "missing": [v.venue for v in book.missing],
        "partial": book.partial,
    }


def _shown_total(book: Book, what: str) -> Decimal:
    return sum((shown.usd(getattr(v, what)) or Decimal(0) for v in book.answered), Decimal(0))


def portfolio_doc(book: Book, *, stale_after_ms: int | None = None) -> dict[str, Any]:
    """The `perp portfolio --json` document."""
    venues = [venue_row(v, now_ms=book.now_ms, stale_after_ms=stale_after_ms) for v in book.venues]
    totals = totals_row(book)
    totals["stale"] = [v["venue"] for v in venues if v["status"] == "stale"]
    return {
        "time": book.now_ms,
        "totals": totals,
        "venues": venues,
        "positions": [position_row(p) for p in book.positions],
        "exposure": [exposure_row(e) for e in book.exposures],
    }


def funding_quote_row(line: Any, q: Any) -> dict[str, Any]:
    """One venue's funding for one underlying (`perp funding --compare`)."""
    inst = q.instrument
    return {
        "underlying": line.underlying,
        "venue": q.venue,
        "market": q.symbol,
        "interval_hours": q.rate.interval_hours,
        "rate": shown.rate(q.rate.rate),
        "apr": shown.rate(q.rate.apr),
        "predicted_apr": shown.rate(q.rate.predicted_apr),
        "mark_price": shown.price(inst, q.mark),
        "basis_pct": _basis(line.basis_pct(q)),
    }


def funding_pair_row(line: Any) -> dict[str, Any]:
    """The best long/short venue pair for one underlying; nulls when fewer than two venues."""
    long, short = line.best_long, line.best_short
    return {
        "underlying": line.underlying,
        "venues": len({q.venue for q in line.quotes}),
        "long_venue": long.venue if long else None,
        "long_market": long.symbol if long else None,
        "long_apr": shown.rate(long.rate.apr) if long else None,
        "short_venue": short.venue if short else None,
        "short_market": short.symbol if short else None,
        "short_apr": shown.rate(short.rate.apr) if short else None,
        "carry_apr": shown.rate(line.carry_apr),
        "basis_pct": _basis(line.pair_basis_pct),
    }


def _basis(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.0001"))


def funding_board_doc(board: Any) -> dict[str, Any]:
    """The `perp funding --compare --json` document."""
    return {
        "time": board.time_ms,
        "venues": list(board.venues),
        "missing": [{"venue": v, "error": str(e), "exit_code": int(e.exit_code)} for v, e in board.missing],
        "quotes": [funding_quote_row(line, q) for line in board.lines for q in line.quotes],
        "pairs": [funding_pair_row(line) for line in board.lines],
    }
