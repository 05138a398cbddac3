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

from collections.abc import Iterable, Mapping
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
    positions: list[PortfolioPosition] = []
    lines: list[AccountLine] = []
    for account in accounts:
        venue = account.venue
        venue_marks = {sym: px for (v, sym), px in marks.items() if v == venue}
        tables: dict[str, MarginTable] = {
            sym: inst.margin_tiers for (v, sym), inst in instruments.items() if v == venue
        }
        venue_rules = {sym: r for (v, sym), r in rules.items() if v == venue}
        summary = account.margin_summary(venue_marks, tables, venue_rules)
        by_symbol = {p.symbol: p for p in summary.positions}
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
        lines.append(
            AccountLine(
                venue, account.account, summary.account_value, summary.margin_used, summary.withdrawable,
                tuple(sorted(unmarked)),
            )
        )
    exposures = net_exposures(positions)
    at_risk = [p for p in positions if p.liquidation_distance is not None]
    closest = min(at_risk, key=lambda p: p.liquidation_distance) if at_risk else None  # type: ignore[arg-type,return-value]
    return Portfolio(
        total_equity=sum((line.equity for line in lines), ZERO),
        total_margin_used=sum((line.margin_used for line in lines), ZERO),
        exposures=exposures,
        positions=tuple(positions),
        accounts=tuple(lines),
        closest_to_liquidation=closest,
    )
