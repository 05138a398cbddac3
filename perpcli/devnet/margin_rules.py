"""The devnet's door to the venue's margin rules: the ledger's `HyperliquidRules` and
`BracketRules` (through the `MarginRules` interface every venue implements) and
`perpcli.ledger.margin`, nothing else.

The engine must use the *same* margin math as the client's local model so that a preview in
the terminal and what the devnet then does cannot disagree. This module only adapts the
devnet's records (a margin table with an id and a description; positions kept as mutable
engine state) to the ledger's rules and holds no rule of its own. Positions carry their
market's rules object, so summaries, maintenance margin and liquidation prices are asked of
the interface, as the client asks it.

One engine serves two faces. An account margined by Aster's rules (`ASTER`: the Aster face
marks the accounts it serves) is valued under Binance-style maintenance brackets
(`aster_brackets`): the same brackets the face publishes at GET /fapi/v3/leverageBracket, so
a client that reads them computes what the engine enforces.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from perpcli.devnet.markets import MarginTable
from perpcli.domain.instrument import MarginMode
from perpcli.domain.instrument import MarginTable as LedgerTable
from perpcli.domain.instrument import MarginTier as LedgerTier
from perpcli.ledger import margin as lm
from perpcli.ledger.margin_rules import (
    Bracket,
    BracketRules,
    HyperliquidRules,
    MarginRules,
    cumulative_amounts,
)

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


# ----- Aster: Binance-style maintenance brackets --------------------------------------------

HYPERLIQUID = ""
ASTER = "aster"
MARGIN_VENUES = (HYPERLIQUID, ASTER)

# Where each bracket starts (position notional, USDT). The devnet's own ladder, Binance-shaped
# (BTCUSDT's first bracket ends at 50k there too), small enough that a devnet account's
# positions reach the higher brackets.
BRACKET_FLOORS = (0, 50_000, 250_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000)
LAST_NOTIONAL_CAP = Decimal(1_000_000_000)
RATE_STEP = Decimal("0.0001")  # published rates are finite decimals, as the venue's are

_brackets: dict[tuple[int, bool], BracketRules] = {}


def aster_brackets(max_leverage: int, only_isolated: bool = False) -> BracketRules:
    """A market's brackets: the leverage halves from the market's max at each floor, down to
    1x; each maintenance rate is half the initial rate there, 1 / (2 × max leverage) to four
    decimals, as in Binance's tables (125x -> 0.4%, 20x -> 2.5%, 1x -> 50%); `cum` keeps MM
    continuous."""
    key = (max_leverage, only_isolated)
    hit = _brackets.get(key)
    if hit is not None:
        return hit
    levs: list[int] = []
    lev = max_leverage
    while len(levs) < len(BRACKET_FLOORS):
        levs.append(lev)
        if lev == 1:
            break
        lev = max(1, lev // 2)
    floors = [Decimal(f) for f in BRACKET_FLOORS[: len(levs)]]
    rates = [(Decimal(1) / (2 * x)).quantize(RATE_STEP, ROUND_HALF_UP) for x in levs]
    cums = cumulative_amounts(floors, rates)
    out = BracketRules(tuple(Bracket(f, x, r, c) for f, x, r, c in zip(floors, levs, rates, cums, strict=True)),
                       only_isolated=only_isolated)
    _brackets[key] = out
    return out


def notional_cap(rules: BracketRules, index: int) -> Decimal:
    """Where bracket `index` ends (the next floor; the last one's cap)."""
    return rules.brackets[index + 1].floor if index + 1 < len(rules.brackets) else LAST_NOTIONAL_CAP


def max_notional_at(rules: BracketRules, leverage: int) -> Decimal:
    """The largest position notional `leverage` is allowed for (Binance's maxNotionalValue)."""
    best = ZERO
    for i, b in enumerate(rules.brackets):
        if b.max_leverage >= leverage:
            best = notional_cap(rules, i)
    return best


def venue_rules(venue: str, table: MarginTable, max_leverage: int, only_isolated: bool = False) -> MarginRules:
    """The rules an account of `venue` is margined by on one market."""
    if venue == ASTER:
        return aster_brackets(max_leverage, only_isolated)
    return rules_of(table, only_isolated)


# |size| × price / leverage — the ledger's function itself (no wrapper: it runs per order).
initial_margin = lm.initial_margin


def max_leverage_at(table: MarginTable, notional: Decimal, rules: MarginRules | None = None) -> int:
    return (rules or rules_of(table)).max_leverage(notional)


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
    rules: MarginRules | None = None,
) -> lm.PositionRisk:
    """One engine position as the ledger sees it; `rules` = the account's venue's rules for the
    market (None: Hyperliquid's over `table`)."""
    hl = rules_of(table)
    rules = rules or hl
    return lm.PositionRisk(
        coin,
        szi,
        entry_px,
        mark_px,
        leverage,
        hl.table,
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
