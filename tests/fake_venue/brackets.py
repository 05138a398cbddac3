"""Binance-style maintenance brackets, as the fake venue's own margin rules.

Each bracket covers position notional up to `cap` and says the most leverage allowed there,
the maintenance margin rate and the "maintenance amount" (`cum`) that makes the maintenance
margin continuous across bracket edges: MM = notional x rate - cum. The liquidation price of a
lone cross position follows Binance's published formula.

WHY a table here and not perpcli's: the margin engineer's venue-neutral `MarginRules` had not
landed on main when this fake was written; once it has, this table should be expressed with it
(only `FakeExchange` and `instrument_of` read this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perpcli.domain.instrument import MarginTable, MarginTier

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Bracket:
    floor: Decimal  # notional from which this bracket applies
    cap: Decimal  # notional up to which it applies
    max_leverage: int
    maint_rate: Decimal
    cum: Decimal  # maintenance amount


def brackets(rows: list[tuple[int, int, int, str]]) -> tuple[Bracket, ...]:
    """Rows of (floor, cap, max leverage, maintenance rate); `cum` is derived so MM is continuous."""
    out: list[Bracket] = []
    cum = ZERO
    prev_rate = ZERO
    for floor, cap, lev, rate in rows:
        r = Decimal(rate)
        cum += Decimal(floor) * (r - prev_rate)
        out.append(Bracket(Decimal(floor), Decimal(cap), lev, r, cum))
        prev_rate = r
    return tuple(out)


def bracket_for(table: tuple[Bracket, ...], notional: Decimal) -> Bracket:
    notional = abs(notional)
    for b in table:
        if notional <= b.cap:
            return b
    return table[-1]


def maintenance_margin(table: tuple[Bracket, ...], notional: Decimal) -> Decimal:
    b = bracket_for(table, notional)
    return abs(notional) * b.maint_rate - b.cum


def liquidation_price(table: tuple[Bracket, ...], *, wallet: Decimal, size: Decimal, entry: Decimal,
                      mark: Decimal) -> Decimal | None:
    """Binance's cross formula for one position: LP = (WB + cum - s*Q*EP) / (Q*MMR - s*Q)."""
    if size == 0:
        return None
    b = bracket_for(table, size * mark)
    q = abs(size)
    s = 1 if size > 0 else -1
    denom = q * b.maint_rate - s * q
    lp = (wallet + b.cum - s * q * entry) / denom
    return lp if lp > 0 else ZERO


def margin_table(table: tuple[Bracket, ...]) -> MarginTable:
    """The same brackets as perpcli's venue-neutral leverage tiers (lower bound, max leverage)."""
    return MarginTable(tuple(MarginTier(b.floor, b.max_leverage) for b in table))
