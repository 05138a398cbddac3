"""The cross-venue view: what a trader is exposed to, everywhere at once.

Positions from every account on every venue are marked, run through the margin model of
their venue, and grouped by underlying ("BTC" on Hyperliquid and "BTCUSDT" on Aster are both
BTC; "xyz:GOLD" on a builder dex is GOLD), so opposite positions net out and the position
nearest its liquidation price stands out. Pure: accounts, marks and instruments in, a frozen
Portfolio out.

Sizes are netted in units of the underlying: a contract is `Instrument.multiplier` units
(1 for most markets; Hyperliquid's kPEPE is 1000 PEPE). Notional uses each venue's own mark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from perpcli.domain.instrument import Instrument, MarginTable
from perpcli.ledger.account import Account
from perpcli.ledger.margin_rules import MarginRules

ZERO = Decimal(0)
_QUOTE_SUFFIXES = ("-PERP", "-USD", "USDT", "USDC", "USD", "/USDC", "/USDT")


def underlying_of(symbol: str) -> str:
    """Best guess when no Instrument says it: drop a dex prefix and a quote suffix."""
    name = symbol.split(":", 1)[-1]
    for suffix in _QUOTE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True, slots=True)
class PortfolioPosition:
    venue: str
    account: str
    symbol: str
    underlying: str
    size: Decimal  # in the venue's contracts
    mark: Decimal
    notional: Decimal  # signed: size × mark
    unrealized_pnl: Decimal
    liquidation_price: Decimal | None
    liquidation_distance: Decimal | None  # fraction of the mark; 0 = liquidatable now
    units: Decimal  # signed size in units of the underlying: size × the contract's multiplier


@dataclass(frozen=True, slots=True)
class Exposure:
    underlying: str
    net_size: Decimal  # in units of the underlying
    net_notional: Decimal
    gross_notional: Decimal
    venues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccountLine:
    venue: str
    account: str
    equity: Decimal
    margin_used: Decimal
    withdrawable: Decimal
    unmarked: tuple[str, ...]  # open positions left out for want of a mark


@dataclass(frozen=True, slots=True)
class Portfolio:
    total_equity: Decimal
    total_margin_used: Decimal
    exposures: tuple[Exposure, ...]  # largest gross notional first
    positions: tuple[PortfolioPosition, ...]
    accounts: tuple[AccountLine, ...]
    closest_to_liquidation: PortfolioPosition | None


class Held(Protocol):
    """What netting needs of a position, wherever it was read from."""

    @property
    def venue(self) -> str: ...
    @property
    def underlying(self) -> str: ...
    @property
    def units(self) -> Decimal: ...  # signed, in units of the underlying
    @property
    def notional(self) -> Decimal: ...  # signed, at the venue's own mark


def net_exposures(positions: Iterable[Held]) -> tuple[Exposure, ...]:
    """Group positions by canonical underlying so opposite ones net (long 1 BTC on one venue and
    short 0.4 on another is +0.6 BTC); largest gross notional first."""
    groups: dict[str, list[Held]] = {}
    for p in positions:
        groups.setdefault(p.underlying, []).append(p)
    exposures = [
        Exposure(
            underlying,
            sum((p.units for p in group), ZERO),
            sum((p.notional for p in group), ZERO),
            sum((abs(p.notional) for p in group), ZERO),
            tuple(sorted({p.venue for p in group})),
        )
        for underlying, group in groups.items()
    ]
    exposures.sort(key=lambda e: (-e.gross_notional, e.underlying))
    return tuple(exposures)


def build_portfolio(
    accounts: Iterable[Account],
    marks: Mapping[tuple[str, str], Decimal],
    instruments: Mapping[tuple[str, str], Instrument] | None = None,
    rules: Mapping[tuple[str, str], MarginRules] | None = None,
) -> Portfolio:
    """`marks`, `instruments` and `rules` (each market's venue margin rules) are keyed by
    (venue, symbol)."""
    instruments = instruments or {}
    rules = rules or {}
    return combine([account_part(a, marks.get, instruments, rules) for a in accounts])


@dataclass(frozen=True, slots=True)
class AccountPart:
    """One account's share of the portfolio: its line and its marked positions."""

    line: AccountLine
    positions: tuple[PortfolioPosition, ...]


def account_part(
    account: Account,
    mark_of: Callable[[tuple[str, str]], Decimal | None],
    instruments: Mapping[tuple[str, str], Instrument],
    rules: Mapping[tuple[str, str], MarginRules],
) -> AccountPart:
    """One account valued at its venue's marks. Only its open positions' markets are read
    (what the margin model reads), so its cost does not grow with the markets watched."""
    venue = account.venue
    held = [pos.symbol for pos in account.positions.values() if pos.size]
    venue_marks = {}
    for sym in held:
        mark = mark_of((venue, sym))
        if mark is not None:
            venue_marks[sym] = mark
    tables: dict[str, MarginTable] = {}
    venue_rules = {}
    for sym in held:
        inst = instruments.get((venue, sym))
        if inst is not None:
            tables[sym] = inst.margin_tiers
        market_rules = rules.get((venue, sym))
        if market_rules is not None:
            venue_rules[sym] = market_rules
    summary = account.margin_summary(venue_marks, tables, venue_rules)
    by_symbol = {p.symbol: p for p in summary.positions}
    positions: list[PortfolioPosition] = []
    unmarked = []
    for pos in account.positions.values():
        if not pos.size:
            continue
        mark = venue_marks.get(pos.symbol)
        margin_row = by_symbol.get(pos.symbol)
        if mark is None or margin_row is None:
            unmarked.append(pos.symbol)
            continue
        inst = instruments.get((venue, pos.symbol))
        positions.append(
            PortfolioPosition(
                venue,
                account.account,
                pos.symbol,
                inst.underlying if inst else underlying_of(pos.symbol),
                pos.size,
                mark,
                pos.size * mark,
                margin_row.unrealized_pnl,
                margin_row.liquidation_price,
                margin_row.liquidation_distance,
                inst.underlying_units(pos.size) if inst else pos.size,
            )
        )
    line = AccountLine(venue, account.account, summary.account_value, summary.margin_used, summary.withdrawable,
                       tuple(sorted(unmarked)))
    return AccountPart(line, tuple(positions))


def combine(parts: Sequence[AccountPart]) -> Portfolio:
    """The portfolio of some accounts' parts, in their order: totals, netting, the closest."""
    positions = [p for part in parts for p in part.positions]
    at_risk = [p for p in positions if p.liquidation_distance is not None]
    closest = min(at_risk, key=lambda p: p.liquidation_distance) if at_risk else None  # type: ignore[arg-type,return-value]
    return Portfolio(
        total_equity=sum((part.line.equity for part in parts), ZERO),
        total_margin_used=sum((part.line.margin_used for part in parts), ZERO),
        exposures=net_exposures(positions),
        positions=tuple(positions),
        accounts=tuple(part.line for part in parts),
        closest_to_liquidation=closest,
    )


class PortfolioTracker:
    """`build_portfolio` for a live holder of accounts and marks (the store), recomputing
    only the accounts whose inputs changed since the last call.

    A mark moves many times a second and a screen asks for the portfolio at every repaint;
    valuing every account on every venue each time costs as much as the accounts held. An
    account's part depends on the account itself, its venue's instruments, and the marks of
    the markets it holds (cross margin ties its positions together, so the account is the unit
    recomputed). The caller says when each of those last changed (`version_of(key)`, keys as the
    store's: ("account", venue, account), ("instruments", venue), ("mark", venue, symbol)); a
    part whose versions are unchanged is reused, and only the totals and the netting, which
    are sums over parts, are redone. The result equals `build_portfolio` on the same inputs.
    """

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], tuple[tuple, AccountPart]] = {}
        self.recomputed = 0  # account parts valued (the rest were reused)

    def portfolio(
        self,
        accounts: Mapping[tuple[str, str], Account],
        mark_of: Callable[[tuple[str, str]], Decimal | None],
        instruments: Mapping[tuple[str, str], Instrument],
        version_of: Callable[[tuple[str, ...]], int],
        rules: Mapping[tuple[str, str], MarginRules] | None = None,
    ) -> Portfolio:
        rules = rules or {}
        kept = self._parts
        parts: list[AccountPart] = []
        now: dict[tuple[str, str], tuple[tuple, AccountPart]] = {}
        for key, account in accounts.items():
            venue = account.venue
            signature = (
                version_of(("account", venue, account.account)),
                version_of(("instruments", venue)),
                account.version,
                tuple((sym, version_of(("mark", venue, sym))) for sym, pos in account.positions.items() if pos.size),
            )
            cached = kept.get(key)
            if cached is not None and cached[0] == signature:
                part = cached[1]
            else:
                part = account_part(account, mark_of, instruments, rules)
                self.recomputed += 1
            now[key] = (signature, part)
            parts.append(part)
        self._parts = now
        return combine(parts)
