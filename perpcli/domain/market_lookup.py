"""From the name a user types to one market: the venue's symbol or what it tracks.

`perp --venue aster buy BTC` means BTCUSDT there, `perp price GOLD` means xyz:GOLD on the
devnet, and `perp buy kpepe` means kPEPE. One resolver serves every venue, in a fixed order:
1. the exact symbol ("kPEPE", "xyz:GOLD");
2. the symbol ignoring case ("kpepe", "XYZ:gold");
3. the canonical underlying or a venue alias ("BTC" -> BTCUSDT, "XAU" or "GOLD" -> xyz:GOLD),
   ignoring case, when exactly one market matches.
Several matches at one step is a usage error listing the candidates: guessing which market a
trader meant is how money goes to the wrong market.

A market whose contract is not one unit of its underlying (kPEPE = 1000 PEPE) is never found
by its underlying: `buy PEPE 1000` would otherwise buy a million PEPE. The error names the
symbol to use instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from perpcli.domain.errors import UsageError
from perpcli.domain.instrument import Instrument
from perpcli.domain.order_rules import plain


def find_market(name: str, instruments: Iterable[Instrument]) -> Instrument | None:
    """The one market `name` designates among `instruments`, or None when none matches.

    Raises UsageError (exit 2) when the name is ambiguous, or names a multi-unit market only
    by its underlying.
    """
    insts = list(instruments)
    for inst in insts:
        if inst.symbol == name:
            return inst
    folded = name.casefold()
    by_symbol = [i for i in insts if i.symbol.casefold() == folded]
    if by_symbol:
        return _one(name, by_symbol, "symbol")
    by_underlying = [
        i for i in insts
        if i.underlying.casefold() == folded or any(a.casefold() == folded for a in i.aliases)
    ]
    if not by_underlying:
        return None
    chosen = _one(name, by_underlying, "underlying")
    if chosen.multiplier != 1 and not any(a.casefold() == folded for a in chosen.aliases):
        raise UsageError(
            f"{name} trades as {chosen.symbol} on {chosen.venue}, where one contract is"
            f" {plain(chosen.multiplier)} {chosen.underlying}: name the market {chosen.symbol}"
            " so the size is read in its units"
        )
    return chosen


def resolve_market(name: str, instruments: Iterable[Instrument], *, venue: str) -> Instrument:
    """Like `find_market`, but an unknown name is a usage error pointing at `perp markets`."""
    inst = find_market(name, instruments)
    if inst is None:
        raise UsageError(f"unknown market {name!r} on {venue} (see `perp markets`)")
    return inst


def _one(name: str, matches: list[Instrument], how: str) -> Instrument:
    if len(matches) == 1:
        return matches[0]
    symbols = ", ".join(sorted(i.symbol for i in matches))
    raise UsageError(f"market {name!r} is ambiguous on {matches[0].venue} (same {how}: {symbols}); name one of them")


__all__ = ["find_market", "resolve_market"]
