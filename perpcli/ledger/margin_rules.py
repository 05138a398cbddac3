"""Margin rules per venue behind one interface: Hyperliquid's, Binance-style brackets, and
per-trade isolated collateral (Ostium).

WHY an interface and not `if venue == ...`: the account model, previews, liquidation prices,
the TUI's risk column and the devnet all need the same few answers about one market — how
much margin a position needs to open and to stay open, where it is liquidated, what may be
withdrawn, how much leverage a notional allows, what a new position defaults to — and the
venues differ only in those answers. A venue adapter builds one `MarginRules` per instrument
(`MarketData.margin_rules(instrument)`); everything else asks it.

The account-level definitions of ledger/margin.py hold for every rule set here: `cash`
includes margin moved into isolated positions and excludes uPnL; a position's equity is its
isolated margin + uPnL (isolated) or the cross account value (cross); liquidation is equity
below the maintenance margin. What differs is the maintenance margin, the liquidation price
that follows from it, the leverage caps and the withdraw rule.

Three rule sets:

- `HyperliquidRules` (Hyperliquid docs: margining, liquidations; see ledger/margin.py): MM
  rate of a tier = 1 / (2 × the tier's max leverage), tier deductions keep MM continuous;
  withdrawals must leave max(initial margin, 10% of cross notional); a new position is cross
  at min(20, max leverage) unless the market is isolated-only.

- `BracketRules` (Binance USDⓈ-M style, Aster: maintenance brackets): each bracket has a
  notional floor, the max leverage allowed there, a maintenance rate `mmr` and a cumulative
  maintenance amount `cum` (the venue publishes both; `cum` is what keeps MM continuous,
  cum(n) = cum(n−1) + floor(n) × (mmr(n) − mmr(n−1))). MM = notional × mmr − cum.
  Liquidation price, one-way mode, with WB the wallet balance backing the position (isolated:
  its isolated margin; cross: cross equity less the other positions' uPnL and MM), Q = |size|,
  EP = entry, side = +1 long / −1 short: equity at price P is WB + side·Q·(P − EP); setting it
  equal to MM(P) = Q·P·mmr − cum gives

      P = (WB + cum − side·Q·EP) / (Q·mmr − side·Q)

  which is Binance's published one-way formula (its LP = (WB − TMM + UPNL + cumB − Side·Q·EP)
  / (Q·MMR − Side·Q) with the cross terms folded into WB). mmr and cum are those of the bracket
  the liquidation notional Q·P falls in (a falling long may leave its current bracket; the
  equation is solved per bracket and the consistent answer taken). Withdrawable: margin balance less
  initial margin, and never more than the wallet (unrealised profit is not withdrawable).

- `PerTradeIsolatedRules` (Ostium, a Gains fork): every trade is its own isolated position,
  collateral × leverage = position size at open; it is liquidated when its loss reaches the
  pair's liquidation threshold θ of the collateral C, i.e. when C + uPnL ≤ (1 − θ)·C. So the
  maintenance margin is (1 − θ)·C and the liquidation price is EP − side·θ·C/Q (the Ostium
  SDK's EP × (1 − side·θ/leverage) when C = Q·EP/leverage). Trades never net: a second buy is
  a second position. No cross margin: all free collateral is the wallet.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from perpcli.domain.errors import ValidationError
from perpcli.domain.instrument import Instrument, MarginMode, MarginTable
from perpcli.ledger import margin as hl
from perpcli.ledger.margin import PositionRisk, tiered_liquidation_price

ZERO = Decimal(0)
ONE = Decimal(1)
HYPERLIQUID_DEFAULT_LEVERAGE = 20  # a new position: cross at min(20, the market's max)


@runtime_checkable
class MarginRules(Protocol):
    """One market's margin rules on one venue (pure; no I/O)."""

    kind: str  # "hyperliquid" | "brackets" | "per-trade isolated"
    nets_positions: bool  # False: every trade is its own position (Ostium)
    pnl_in_margin_used: bool  # an isolated position's margin used: allocation + uPnL, else the allocation
    only_isolated: bool

    def max_leverage(self, notional: Decimal) -> int: ...
    def default_leverage(self) -> int: ...
    def default_mode(self) -> MarginMode: ...
    def initial_margin(self, notional: Decimal, leverage: int) -> Decimal: ...
    def maintenance_margin(self, position: PositionRisk) -> Decimal: ...
    def liquidation_price(
        self, position: PositionRisk, equity: Decimal, other_maintenance: Decimal = ZERO
    ) -> Decimal | None: ...
    def withdrawable(
        self, *, cross_value: Decimal, cross_initial_margin: Decimal, cross_notional: Decimal,
        cross_unrealized_pnl: Decimal,
    ) -> Decimal: ...


def _initial_margin(notional: Decimal, leverage: int) -> Decimal:
    return hl.initial_margin(notional, leverage)


# ----- Hyperliquid ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HyperliquidRules:
    """Hyperliquid's rules over one market's margin table (ledger/margin.py's functions)."""

    table: MarginTable
    only_isolated: bool = False
    kind: str = "hyperliquid"
    nets_positions: bool = True
    pnl_in_margin_used: bool = True

    @classmethod
    def for_instrument(cls, instrument: Instrument) -> HyperliquidRules:
        return cls(instrument.margin_tiers, instrument.only_isolated)

    def max_leverage(self, notional: Decimal) -> int:
        return hl.max_leverage(notional, self.table)

    def default_leverage(self) -> int:
        """The venue's leverage for a market the account never set: 20, or the max if lower."""
        return min(HYPERLIQUID_DEFAULT_LEVERAGE, self.table.tiers[0].max_leverage)

    def default_mode(self) -> MarginMode:
        return MarginMode.ISOLATED if self.only_isolated else MarginMode.CROSS

    def initial_margin(self, notional: Decimal, leverage: int) -> Decimal:
        return _initial_margin(notional, leverage)

    def maintenance_margin(self, position: PositionRisk) -> Decimal:
        return hl.maintenance_margin(position.notional, self.table)

    def liquidation_price(
        self, position: PositionRisk, equity: Decimal, other_maintenance: Decimal = ZERO
    ) -> Decimal | None:
        return hl.liquidation_price(position, equity, other_maintenance)

    def withdrawable(
        self, *, cross_value: Decimal, cross_initial_margin: Decimal, cross_notional: Decimal,
        cross_unrealized_pnl: Decimal,
    ) -> Decimal:
        return hl.hyperliquid_withdrawable(cross_value, cross_initial_margin, cross_notional)


# ----- Binance-style maintenance brackets ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bracket:
    """From `floor` of position notional upwards: up to `max_leverage`, MM = notional × mmr − cum."""

    floor: Decimal
    max_leverage: int
    mmr: Decimal
    cum: Decimal


def cumulative_amounts(floors: list[Decimal], rates: list[Decimal]) -> list[Decimal]:
    """The `cum` of each bracket that keeps MM continuous (for venues that omit it)."""
    out = [ZERO]
    for i in range(1, len(floors)):
        out.append(out[-1] + floors[i] * (rates[i] - rates[i - 1]))
    return out


@dataclass(frozen=True, slots=True)
class BracketRules:
    """Binance-style brackets (Aster). `default_leverage` is the venue's for a new symbol."""

    brackets: tuple[Bracket, ...]
    default_leverage_value: int = 20
    only_isolated: bool = False
    kind: str = "brackets"
    nets_positions: bool = True
    pnl_in_margin_used: bool = True

    def __post_init__(self) -> None:
        if not self.brackets or self.brackets[0].floor != ZERO:
            raise ValueError("brackets must start at notional 0")
        for lower, upper in zip(self.brackets, self.brackets[1:], strict=False):
            if upper.floor <= lower.floor:
                raise ValueError("bracket floors must increase")

    def _index(self, notional: Decimal) -> int:
        notional = abs(notional)
        index = 0
        for i, b in enumerate(self.brackets):
            if notional >= b.floor:
                index = i
            else:
                break
        return index

    def bracket(self, notional: Decimal) -> Bracket:
        return self.brackets[self._index(notional)]

    def max_leverage(self, notional: Decimal) -> int:
        return self.bracket(notional).max_leverage

    def default_leverage(self) -> int:
        return min(self.default_leverage_value, self.brackets[0].max_leverage)

    def default_mode(self) -> MarginMode:
        return MarginMode.ISOLATED if self.only_isolated else MarginMode.CROSS

    def initial_margin(self, notional: Decimal, leverage: int) -> Decimal:
        return _initial_margin(notional, leverage)

    def maintenance_margin(self, position: PositionRisk) -> Decimal:
        b = self.bracket(position.notional)
        return position.notional * b.mmr - b.cum

    def liquidation_price(
        self, position: PositionRisk, equity: Decimal, other_maintenance: Decimal = ZERO
    ) -> Decimal | None:
        return tiered_liquidation_price(
            position, equity, other_maintenance,
            [b.floor for b in self.brackets], [b.mmr for b in self.brackets], [b.cum for b in self.brackets],
        )

    def withdrawable(
        self, *, cross_value: Decimal, cross_initial_margin: Decimal, cross_notional: Decimal,
        cross_unrealized_pnl: Decimal,
    ) -> Decimal:
        wallet = cross_value - cross_unrealized_pnl
        return max(ZERO, min(wallet, cross_value - cross_initial_margin))


# ----- per-trade isolated collateral (Ostium) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class PerTradeIsolatedRules:
    """Ostium-style: each trade isolated, liquidated at a loss of `liquidation_threshold` × collateral.

    The threshold is the pair's (read from the venue; 0.9 on Ostium's pairs today), never a
    constant here. `default_leverage_value` is what the adapter opens with when none is asked.
    """

    max_leverage_value: int
    liquidation_threshold: Decimal
    default_leverage_value: int
    min_leverage: int = 1
    only_isolated: bool = True
    kind: str = "per-trade isolated"
    nets_positions: bool = False
    pnl_in_margin_used: bool = False  # the venue's margin used is the trades' collateral

    def __post_init__(self) -> None:
        if not ZERO < self.liquidation_threshold <= ONE:
            raise ValueError("the liquidation threshold is a fraction of the collateral in (0, 1]")
        if not self.min_leverage <= self.default_leverage_value <= self.max_leverage_value:
            raise ValueError("default leverage must lie within the pair's leverage range")

    def max_leverage(self, notional: Decimal) -> int:
        return self.max_leverage_value

    def default_leverage(self) -> int:
        return self.default_leverage_value

    def default_mode(self) -> MarginMode:
        return MarginMode.ISOLATED

    def initial_margin(self, notional: Decimal, leverage: int) -> Decimal:
        """The collateral a trade of this size needs: size / leverage."""
        if leverage < self.min_leverage:
            raise ValidationError(f"leverage must be at least {self.min_leverage}", rule="leverage")
        return _initial_margin(notional, leverage)

    def maintenance_margin(self, position: PositionRisk) -> Decimal:
        """What the trade's equity may not fall to: (1 − θ) × its collateral."""
        return (ONE - self.liquidation_threshold) * position.isolated_margin

    def liquidation_price(
        self, position: PositionRisk, equity: Decimal, other_maintenance: Decimal = ZERO
    ) -> Decimal | None:
        """Solves equity + side·Q·(P − mark) = (1 − θ)·C; with equity = C + uPnL this is
        EP − side·θ·C/Q. None when no positive price liquidates."""
        size = abs(position.size)
        if not size:
            return None
        side = ONE if position.size > 0 else -ONE
        price = position.mark_price + (self.maintenance_margin(position) - equity) / (side * size)
        return price if price > 0 else None

    def withdrawable(
        self, *, cross_value: Decimal, cross_initial_margin: Decimal, cross_notional: Decimal,
        cross_unrealized_pnl: Decimal,
    ) -> Decimal:
        """The wallet's collateral outside every trade (there is no cross margin)."""
        return max(ZERO, cross_value - cross_initial_margin)
