"""The devnet's door to the venue's margin rules: the ledger's `HyperliquidRules` (through the
`MarginRules` interface every venue implements) and `perpcli.ledger.margin`, nothing else.

The engine must use the *same* margin math as the client's local model so that a preview in
the terminal and what the devnet then does cannot disagree. This module only adapts the
devnet's records (a margin table with an id and a description; positions kept as mutable
engine state) to the ledger's rules and holds no rule of its own. Positions carry their
market's rules object, so summaries, maintenance margin and liquidation prices are asked of
the interface, as the client asks it.
"""

from __future__ import annotations

from decimal import Decimal

from perpcli.devnet.markets import MarginTable
from perpcli.domain.instrument import MarginMode
from perpcli.domain.instrument import MarginTable as LedgerTable
from perpcli.domain.instrument import MarginTier as LedgerTier
from perpcli.ledger import margin as lm
from perpcli.ledger.margin_rules import HyperliquidRules

ZERO = Decimal(0)

MarginSummary = lm.MarginSummary
PositionRisk = lm.PositionRisk

_converted: dict[int, tuple[MarginTable, LedgerTable]] = {}
_rules: dict[tuple[int, bool], tuple[MarginTable, HyperliquidRules]] = {}


def ledger_table(table: MarginTable) -> LedgerTable:
    """The domain margin table the ledger takes (cached per table object: tables are frozen)."""
    hit = _converted.get(id(table))
    if hit is not None and hit[0] is table:
        return hit[1]
    out = LedgerTable(tuple(LedgerTier(t.lower_bound, t.max_leverage) for t in table.tiers))
    _converted[id(table)] = (table, out)
    return out


def rules_of(table: MarginTable, only_isolated: bool = False) -> HyperliquidRules:
    """The market's rules object (cached per table object: tables are frozen)."""
    key = (id(table), only_isolated)
    hit = _rules.get(key)
    if hit is not None and hit[0] is table:
        return hit[1]
    out = HyperliquidRules(ledger_table(table), only_isolated)
    _rules[key] = (table, out)
    return out


# |size| × price / leverage — the ledger's function itself (no wrapper: it runs per order).
initial_margin = lm.initial_margin


def max_leverage_at(table: MarginTable, notional: Decimal) -> int:
    return rules_of(table).max_leverage(notional)


def default_leverage(table: MarginTable, only_isolated: bool) -> tuple[bool, int]:
    """(is_cross, leverage) of a market the account never set: the venue's default, from the
    ledger's Hyperliquid rules (cross at min(20, max leverage); isolated-only markets isolated)."""
    rules = rules_of(table, only_isolated)
    return rules.default_mode() is MarginMode.CROSS, rules.default_leverage()


def position_risk(
    coin: str,
    szi: Decimal,
    entry_px: Decimal,
    mark_px: Decimal,
    leverage: int,
    table: MarginTable,
    is_cross: bool,
    isolated_margin: Decimal,
) -> lm.PositionRisk:
    rules = rules_of(table)
    return lm.PositionRisk(
        coin,
        szi,
        entry_px,
        mark_px,
        leverage,
        rules.table,
        MarginMode.CROSS if is_cross else MarginMode.ISOLATED,
        ZERO if is_cross else isolated_margin,
        rules,
    )


def summarize(cash: Decimal, positions: list[lm.PositionRisk]) -> lm.MarginSummary:
    """Account value, cross value, margins, withdrawable, liquidation prices (the ledger's)."""
    return lm.summarize(cash, positions)


def free_collateral(positions, marks: dict, cross_cash: Decimal) -> Decimal:
    """Cross account value minus cross initial margin: what new orders may use.

    `positions` are the engine's positions (only cross ones count), `marks` coin -> mark and
    `cross_cash` the cash not allocated to isolated positions. This is the ledger's cross
    account value (cash − isolated + cross uPnL, uPnL = size × (mark − entry)) less its
    initial margin; it runs on every order, so it reads the positions directly rather than
    building a PositionRisk per position.
    """
    free = cross_cash
    im = lm.initial_margin
    for p in positions:
        if p.is_cross:
            mark = marks[p.coin]
            szi = p.szi
            free += szi * (mark - p.entry_px) - im(abs(szi) * mark, p.leverage)
    return free


def withdrawable(summary: lm.MarginSummary, reserved_by_orders: Decimal) -> Decimal:
    """The ledger's withdrawable, also holding the margin of resting orders:
    cross value − max(cross IM + order margin, 10% of cross notional)."""
    by_orders = summary.cross_account_value - summary.cross_margin_used - reserved_by_orders
    return max(ZERO, min(summary.withdrawable, by_orders))


def hourly_funding_rate(average_premium: Decimal, multiplier: Decimal) -> Decimal:
    return lm.hourly_funding_rate(average_premium, multiplier)


def funding_payment(szi: Decimal, oracle_px: Decimal, hourly_rate: Decimal) -> Decimal:
    return lm.funding_payment(szi, oracle_px, hourly_rate)
