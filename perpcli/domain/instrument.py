"""What a market is: the venue-neutral spec every other layer reads.

An `Instrument` says how prices and sizes may be written (tick / lot / significant figures),
the smallest order value, how much leverage each notional tier allows, and which underlying
it tracks (so exposure in "BTC" on two venues, or "GOLD" on a builder dex, can be netted).

Venues build these from their metadata in their codec; nothing here knows a venue's JSON.
The rounding helpers are generic: a fixed tick (Binance-style `tickSize`) or Hyperliquid's
"≤ N significant figures and ≤ D decimals, integers always valid" rule, expressed with two
optional fields instead of venue code. All arithmetic is Decimal; rounding direction is
always explicit because a wrong direction turns a reduce-only close into an over-close.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import Enum

from perpcli.domain.errors import ValidationError

ZERO = Decimal(0)


class MarginMode(str, Enum):
    """How a position is margined: shared account collateral, or its own isolated pot."""

    CROSS = "cross"
    ISOLATED = "isolated"


class Rounding(str, Enum):
    """Direction for snapping a value onto a grid.

    DOWN/UP are toward -inf/+inf (floor/ceiling) — what a buy/sell limit wants;
    TOWARD_ZERO is what a size wants (never exceed the position); NEAREST is for display.
    """

    DOWN = "down"
    UP = "up"
    TOWARD_ZERO = "toward_zero"
    NEAREST = "nearest"


_DECIMAL_ROUNDING = {
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.UP: ROUND_CEILING,
    Rounding.TOWARD_ZERO: ROUND_DOWN,
    Rounding.NEAREST: ROUND_HALF_EVEN,
}


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
class Instrument:
    """One tradable market on one venue.

    Price grid: if `tick_size` is set, prices must be multiples of it. If instead
    `price_sig_figs` / `price_max_decimals` are set (Hyperliquid: 5 and 6 − szDecimals for
    perps, 8 − szDecimals for spot), a price is valid when it is an integer, or has at most
    that many significant figures and decimals. Both may be set; both then apply.
    Size grid: multiples of `lot_size` (Hyperliquid: 10^-szDecimals).
    """

    venue: str
    symbol: str  # the venue's market name: "BTC", "xyz:GOLD", "BTCUSDT"
    underlying: str  # what it tracks, for netting across venues: "BTC", "GOLD"
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

    # ----- derived facts --------------------------------------------------------------------

    @property
    def size_decimals(self) -> int:
        """Decimal places a size may have (szDecimals on Hyperliquid)."""
        exponent = self.lot_size.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        return max(0, -exponent)

    @property
    def margin_tiers(self) -> MarginTable:
        """The margin table, or a single tier at `max_leverage` when none was published."""
        return self.margin_table or MarginTable.single(self.max_leverage)

    @property
    def price_decimals(self) -> int:
        """The most decimal places any valid price can have (used to scale integer ticks)."""
        candidates = []
        if self.tick_size is not None:
            exp = self.tick_size.normalize().as_tuple().exponent
            assert isinstance(exp, int)
            candidates.append(max(0, -exp))
        if self.price_max_decimals is not None:
            candidates.append(self.price_max_decimals)
        return min(candidates) if candidates else 8

    # ----- sizes ----------------------------------------------------------------------------

    def round_size(self, size: Decimal, rounding: Rounding = Rounding.TOWARD_ZERO) -> Decimal:
        """Snap a size onto the lot grid (default toward zero: never more than asked)."""
        lots = (size / self.lot_size).to_integral_value(rounding=_DECIMAL_ROUNDING[rounding])
        return (lots * self.lot_size).quantize(self.lot_size)

    def is_valid_size(self, size: Decimal) -> bool:
        return size > 0 and size % self.lot_size == 0

    # ----- prices ---------------------------------------------------------------------------

    def is_valid_price(self, price: Decimal) -> bool:
        if price <= 0:
            return False
        if self.tick_size is not None and price % self.tick_size != 0:
            return False
        if price == price.to_integral_value():
            return True  # integers are always valid under the sig-fig rule
        if self.price_sig_figs is not None and _significant_figures(price) > self.price_sig_figs:
            return False
        if self.price_max_decimals is not None and _decimal_places(price) > self.price_max_decimals:
            return False
        return True

    def round_price(self, price: Decimal, rounding: Rounding) -> Decimal:
        """The valid price nearest to `price` in the given direction.

        Buys that must not pay more round DOWN; sells that must not receive less round UP.
        """
        if price <= 0:
            raise ValidationError("price must be positive", rule="price_positive")
        mode = _DECIMAL_ROUNDING[rounding]
        out = price
        if self.tick_size is not None:
            ticks = (out / self.tick_size).to_integral_value(rounding=mode)
            out = (ticks * self.tick_size).quantize(self.tick_size)
        if out != out.to_integral_value():
            if self.price_sig_figs is not None:
                if out.adjusted() + 1 >= self.price_sig_figs:
                    out = out.to_integral_value(rounding=mode)  # integers are always valid
                else:
                    out = _round_sig_figs(out, self.price_sig_figs, mode)
            if self.price_max_decimals is not None and _decimal_places(out) > self.price_max_decimals:
                out = out.quantize(Decimal(1).scaleb(-self.price_max_decimals), rounding=mode)
        if out <= 0:
            raise ValidationError(
                f"price {price} rounds to zero on {self.symbol}", rule="price_positive"
            )
        return out.quantize(Decimal(1)) if out == out.to_integral_value() else out

    # ----- whole-order validation -----------------------------------------------------------

    def validate_order(self, price: Decimal, size: Decimal, *, is_buy: bool) -> None:
        """Raise ValidationError naming the broken rule and the nearest valid value.

        `price` is the limit price (or the worst price of a market order): the venue checks
        the minimum order value against it.
        """
        if size <= 0:
            raise ValidationError("order size must be positive", rule="size_positive")
        if not self.is_valid_size(size):
            nearest = self.round_size(size)
            raise ValidationError(
                f"size {size} is not a multiple of the lot {self.lot_size} on {self.symbol}",
                rule="lot_size",
                nearest=nearest,
            )
        if not self.is_valid_price(price):
            nearest = self.round_price(price, Rounding.DOWN if is_buy else Rounding.UP)
            raise ValidationError(
                f"price {price} is not a valid price on {self.symbol}", rule="tick_size", nearest=nearest
            )
        if price * size < self.min_notional:
            nearest = self.round_size(self.min_notional / price, Rounding.UP)
            raise ValidationError(
                f"order value {price * size} is below the minimum {self.min_notional} on {self.symbol}",
                rule="min_notional",
                nearest=nearest,
            )


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _significant_figures(value: Decimal) -> int:
    digits = value.normalize().as_tuple().digits
    return len(digits)


def _round_sig_figs(value: Decimal, sig_figs: int, mode: str) -> Decimal:
    """Round to `sig_figs` significant figures, in direction `mode` (a decimal rounding)."""
    if value == 0:
        return value
    magnitude = value.adjusted()  # exponent of the leading digit
    quantum = Decimal(1).scaleb(magnitude - sig_figs + 1)
    return value.quantize(quantum, rounding=mode)


__all__ = [
    "Instrument",
    "MarginMode",
    "MarginTable",
    "MarginTier",
    "Rounding",
]
