"""The devnet's door to the venue's margin rules.

The engine must use the *same* margin math as the client's local model
(`perpcli.ledger.margin`), so that a preview in the terminal and what the devnet then does
cannot disagree. This module only adapts the devnet's market records (a margin table with an
id and description) to the ledger's functions; it holds no rule of its own.
"""

from __future__ import annotations

from decimal import Decimal

from perpcli.devnet.markets import MarginTable

ZERO = Decimal(0)


def initial_margin(notional: Decimal, leverage: int) -> Decimal:
    """|size| × price / leverage (§d.7)."""
    return notional / leverage


def max_leverage_at(table: MarginTable, notional: Decimal) -> int:
    """Max leverage of the tier that applies to a position of this notional."""
    tiers = table.tiers
    best = tiers[0].max_leverage
    for tier in tiers:
        if notional >= tier.lower_bound:
            best = tier.max_leverage
        else:
            break
    return best


def maintenance_margin(table: MarginTable, notional: Decimal) -> Decimal:
    """notional × mmr(tier) − deduction(tier), mmr = 1 / (2 × tier max leverage) (§d.7)."""
    deduction = ZERO
    prev_rate = None
    rate = ZERO
    for tier in table.tiers:
        if notional < tier.lower_bound and prev_rate is not None:
            break
        rate = Decimal(1) / (2 * tier.max_leverage)
        if prev_rate is not None:
            deduction += tier.lower_bound * (rate - prev_rate)
        prev_rate = rate
    return notional * rate - deduction


def maintenance_rate(table: MarginTable, notional: Decimal) -> Decimal:
    return Decimal(1) / (2 * max_leverage_at(table, notional))


def unrealized_pnl(szi: Decimal, entry_px: Decimal, mark_px: Decimal) -> Decimal:
    return szi * (mark_px - entry_px)


def is_liquidatable(equity: Decimal, maintenance: Decimal) -> bool:
    """Liquidatable when equity falls below maintenance margin (and there is exposure)."""
    return maintenance > 0 and equity < maintenance


def withdrawable(account_value: Decimal, initial_margin_used: Decimal, total_notional: Decimal) -> Decimal:
    """A margin-removing transfer must leave max(initial margin, 10% of notional) (§d.7)."""
    keep = max(initial_margin_used, total_notional / 10)
    return max(account_value - keep, ZERO)


def liquidation_price(
    szi: Decimal, mark_px: Decimal, margin_available: Decimal, table: MarginTable, notional: Decimal
) -> Decimal | None:
    """px − side × margin_available / |size| / (1 − l × side), l = maintenance rate (§d.8).
    None when no positive price liquidates the position."""
    if szi == 0:
        return None
    side = 1 if szi > 0 else -1
    rate = maintenance_rate(table, notional)
    px = mark_px - side * margin_available / abs(szi) / (1 - rate * side)
    return px if px > 0 else None
