"""What each Hyperliquid market tracks, in the canonical names every venue shares.

Netting across venues needs one name per underlying: gold is "XAU" whether a venue lists it as
XAU (Ostium), XAUUSDT or a builder dex's "xyz:GOLD". Hyperliquid's names need two fixes:
- builder-deployed (HIP-3) dexes name real-world assets their own way ("GOLD", "CL", "EUR"):
  the table below maps those names; names not in it (TSLA, NVDA...) already are canonical;
- default-dex names with a lower-case "k" prefix are quoted per 1000 units ("kPEPE" is 1000
  PEPE, likewise kSHIB, kBONK...), so they carry a multiplier of 1000.
Pure data and functions; the codec calls `canonical_underlying` when it builds Instruments.
"""

from __future__ import annotations

import re
from decimal import Decimal

ONE = Decimal(1)
THOUSAND = Decimal(1000)

# Builder-dex asset name -> canonical underlying. Only names whose meaning is certain: an FX
# pair is quoted as USD per unit of the named currency (xyz:EUR trades near 1.16 = EURUSD);
# an inverse quote (JPY per USD) or a unit in doubt (copper per pound or per tonne) stays out.
BUILDER_DEX_NAMES: dict[str, str] = {
    "GOLD": "XAU",
    "SILVER": "XAG",
    "CL": "WTI",
    "BRENTOIL": "BRENT",
    "EUR": "EURUSD",
    "GBP": "GBPUSD",
}

_PER_THOUSAND = re.compile(r"^k([A-Z0-9]{2,})$")


def canonical_underlying(symbol: str) -> tuple[str, Decimal, tuple[str, ...]]:
    """(underlying, units of it per contract, aliases a user may type) for a market name.

    "BTC" -> ("BTC", 1, ()); "kPEPE" -> ("PEPE", 1000, ()); "xyz:GOLD" -> ("XAU", 1, ("GOLD",));
    "xyz:TSLA" -> ("TSLA", 1, ("TSLA",)).
    """
    dex, _, name = symbol.rpartition(":")
    aliases: tuple[str, ...] = (name,) if dex else ()
    if m := _PER_THOUSAND.match(name):
        return m.group(1), THOUSAND, aliases
    if dex:
        return BUILDER_DEX_NAMES.get(name.upper(), name), ONE, aliases
    return name, ONE, aliases


__all__ = ["BUILDER_DEX_NAMES", "canonical_underlying"]
