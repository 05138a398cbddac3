"""What a market is: the venue-neutral spec every other layer reads.

An `Instrument` carries the venue's symbol, what it tracks (a canonical underlying such as
BTC, XAU, EURUSD, TSLA, and how many units of it one contract is), the quote/collateral
asset, and the venue's order rules as data: tick or significant figures, lot, minimum value,
price band, leverage (with tiers) and trading hours. So exposure in "BTC" on two venues, or
gold as "xyz:GOLD" on a builder dex and as "XAU" elsewhere, nets in one model, and one set
of rules (domain/order_rules.py) validates and rounds every venue's orders.

Venues build these from their metadata in their codec; nothing here knows a venue's JSON.
All arithmetic is Decimal; rounding direction is always explicit because a wrong direction
turns a reduce-only close into an over-close.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

from perpcli.domain import order_rules as _rules
from perpcli.domain.order_rules import Rounding

if TYPE_CHECKING:
    from perpcli.domain.trading_hours import TradingHours

ZERO = Decimal(0)
ONE = Decimal(1)


class MarginMode(str, Enum):
    """How a position is margined: shared account collateral, or its own isolated pot."""

    CROSS = "cross"
    ISOLATED = "isolated"


@dataclass(frozen=True, slots=True)
class MarginTier:
    """From `lower_bound` of position notional upwards, leverage is capped at `max_leverage`."""

    lower_bound: Decimal
    max_leverage: int


@dataclass(frozen=True, slots=True)
class MarginTable:
    """Ordered tiers (ascending lower bounds, the first starting at 0).

    Hyperliquid publishes these as `marginTables`; a market without one is a single tier at
    its max leverage (`MarginTable.single(max_leverage)`).
    """

    tiers: tuple[MarginTier, ...]

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("a margin table needs at least one tier")
        if self.tiers[0].lower_bound != ZERO:
            raise ValueError("the first margin tier must start at notional 0")
        for lower, upper in zip(self.tiers, self.tiers[1:], strict=False):
            if upper.lower_bound <= lower.lower_bound:
                raise ValueError("margin tier lower bounds must increase")
        for tier in self.tiers:
            if tier.max_leverage < 1:
                raise ValueError("max leverage must be at least 1")

    @classmethod
    def single(cls, max_leverage: int) -> MarginTable:
        return cls((MarginTier(ZERO, max_leverage),))

    def tier_index(self, notional: Decimal) -> int:
        """Index of the tier that applies to a position of this absolute notional."""
        notional = abs(notional)
        index = 0
        for i, tier in enumerate(self.tiers):
            if notional >= tier.lower_bound:
                index = i
            else:
                break
        return index

    def tier_for(self, notional: Decimal) -> MarginTier:
        return self.tiers[self.tier_index(notional)]


@dataclass(frozen=True, slots=True)
class PriceBand:
    """Limit prices must lie within [reference x (1 - below), reference x (1 + above)].

    Hyperliquid refuses a price more than 80% away from its reference price (below = above =
    0.8); Binance-style PERCENT_PRICE filters give multiplierDown / multiplierUp around the
    mark (below = 1 - multiplierDown, above = multiplierUp - 1).
    """

    below: Decimal
    above: Decimal

    def __post_init__(self) -> None:
        if self.below < 0 or self.above < 0:
            raise ValueError("a price band's widths must not be negative")

    def bounds(self, reference: Decimal) -> tuple[Decimal, Decimal]:
        return reference * (ONE - self.below), reference * (ONE + self.above)

    def describe(self) -> str:
        below, above = _rules.plain(self.below * 100), _rules.plain(self.above * 100)
        return f"±{below}%" if below == above else f"-{below}%/+{above}%"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable market on one venue.

    Price grid: if `tick_size` is set, prices must be multiples of it. If instead
    `price_sig_figs` / `price_max_decimals` are set (Hyperliquid: 5 and 6 − szDecimals for
    perps, 8 − szDecimals for spot), a price is valid when it is an integer, or has at most
    that many significant figures and decimals. Both may be set; both then apply.
    Size grid: multiples of `lot_size` (Hyperliquid: 10^-szDecimals).

    `underlying` is the canonical name of what the market tracks, the same on every venue
    ("BTC", "XAU", "WTI", "EURUSD", "TSLA"); one contract is `multiplier` units of it
    (Hyperliquid's kPEPE is 1000 PEPE), so exposure nets as size x multiplier. `aliases` are
    other names the venue itself gives the market that a user may type ("GOLD" for
    "xyz:GOLD"). `quote` is the asset prices are quoted in and margin is held in.
    """

    venue: str
    symbol: str  # the venue's market name: "BTC", "xyz:GOLD", "BTCUSDT"
    underlying: str  # canonical, for netting across venues: "BTC", "XAU", "EURUSD"
    asset_id: int
    lot_size: Decimal
    max_leverage: int
    tick_size: Decimal | None = None
    price_sig_figs: int | None = None
    price_max_decimals: int | None = None
    min_notional: Decimal = ZERO
    margin_table: MarginTable | None = None
    only_isolated: bool = False
    is_spot: bool = False
    quote: str = "USDC"
    multiplier: Decimal = ONE  # units of the underlying per contract
    aliases: tuple[str, ...] = ()
    price_band: PriceBand | None = None  # None: the venue enforces no band
    trading_hours: TradingHours | None = None  # None: trades around the clock

    # ----- derived facts --------------------------------------------------------------------

    @property
    def size_decimals(self) -> int:
        """Decimal places a size may have (szDecimals on Hyperliquid)."""
        return _rules.decimal_places(self.lot_size)

    @property
    def margin_tiers(self) -> MarginTable:
        """The margin table, or a single tier at `max_leverage` when none was published."""
        return self.margin_table or MarginTable.single(self.max_leverage)

    @property
    def price_decimals(self) -> int:
        """The most decimal places any valid price can have (used to scale integer ticks)."""
        candidates = []
        if self.tick_size is not None:
            candidates.append(_rules.decimal_places(self.tick_size))
        if self.price_max_decimals is not None:
            candidates.append(self.price_max_decimals)
        return min(candidates) if candidates else 8

    def underlying_units(self, size: Decimal) -> Decimal:
        """A size in contracts as units of the underlying (what nets across venues)."""
        return size * self.multiplier

    def is_open(self, time_ms: int) -> bool:
        """Whether the market trades at `time_ms`; markets without hours always do."""
        return self.trading_hours is None or self.trading_hours.is_open(time_ms)

    # ----- the grids (domain/order_rules.py holds the one implementation) --------------------

    def round_size(self, size: Decimal, rounding: Rounding = Rounding.TOWARD_ZERO) -> Decimal:
        """Snap a size onto the lot grid (default toward zero: never more than asked); may be 0."""
        return _rules.snap_size(self, size, rounding)

    def is_valid_size(self, size: Decimal) -> bool:
        return _rules.is_valid_size(self, size)

    def is_valid_price(self, price: Decimal) -> bool:
        return _rules.is_valid_price(self, price)

    def round_price(self, price: Decimal, rounding: Rounding) -> Decimal:
        """The valid price nearest to `price` in the given direction.

        Buys that must not pay more round DOWN; sells that must not receive less round UP.
        """
        return _rules.conform_price(self, price, rounding)

    def validate_order(self, price: Decimal, size: Decimal, *, reduce_only: bool = False) -> None:
        """Raise ValidationError naming the broken rule and the nearest valid value (see
        `order_rules.check_order` for the band and trading hours)."""
        _rules.check_order(self, price=price, size=size, reduce_only=reduce_only)


__all__ = [
    "Instrument",
    "MarginMode",
    "MarginTable",
    "MarginTier",
    "PriceBand",
    "Rounding",
]
