"""Decimal helpers shared by the devnet engine's modules: venue-style USDC precision and
canonical (plain, no trailing zeros, never exponent) decimal values."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

ZERO = Decimal(0)
USD_QUANTUM = Decimal("0.000001")  # USDC amounts are shown to 6 decimals, as the venue does
RATE_QUANTUM = Decimal("0.00000001")  # rates, prices derived by division: 8 decimals


def usd(x: Decimal) -> Decimal:
    return x.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)


def canon(d: Decimal) -> Decimal:
    """Same value, no trailing zeros, never exponent form (95100, not 9.51E+4)."""
    return Decimal(format(d.normalize(), "f")) if d else ZERO


def plain(d: Decimal | None) -> str:
    """The value as plain text ("null" for None), as it appears inside venue error messages."""
    if d is None:
        return "null"
    if d == 0:
        return "0"
    return format(d.normalize(), "f")
