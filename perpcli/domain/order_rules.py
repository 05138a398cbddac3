"""The order rules every venue shares: one place that validates and rounds prices and sizes.

Venues differ in their rules only as data on the `Instrument` (tick, sig figs + max decimals,
lot, minimum notional, price band, leverage, hours), so one implementation serves them all:
the order planner rounds with it, each venue adapter re-checks what it is about to sign with
it, and a rejection always names the rule and the nearest valid value (`ValidationError(
rule=..., nearest=...)`), which is what the CLI shows and scripts read.

Each quantity has one function that both checks and rounds (`conform_price`, `conform_size`):
with `rounding=None` the value must already be valid (the user typed it: never move it
silently), otherwise it is snapped in the given direction (the value was computed, e.g. mid
+ 1%). Snapping and checking share the same grid, so a rounded value always passes its check.

Price grid. A price is valid when it is a positive multiple of the spacing of its decade:
- a fixed `tick_size` (Binance-style PRICE_FILTER) makes every price a multiple of the tick;
- `price_sig_figs` / `price_max_decimals` (Hyperliquid: 5 and 6 - szDecimals for perps,
  8 - szDecimals for spot) make the spacing in [10^e, 10^(e+1)) the coarser of 10^(e-sf+1)
  and 10^-max_decimals, and never coarser than 1, because integers are always valid.
Rounding snaps once, onto the spacing of the value's own decade. Rounding in two steps (sig
figs, then decimals) would round twice and could land one step off (0.01234549 -> 0.012345
-> 0.01234 instead of 0.01235).

Pure: Decimal in, Decimal out; no venue, no clock (the caller passes time for trading hours).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import Enum
from math import lcm
from typing import TYPE_CHECKING

from perpcli.domain.errors import ValidationError

if TYPE_CHECKING:
    from perpcli.domain.instrument import Instrument

ZERO = Decimal(0)
ONE = Decimal(1)


class Rounding(str, Enum):
    """Direction for snapping a value onto a grid.

    DOWN/UP are toward -inf/+inf (floor/ceiling) — what a buy/sell limit wants;
    TOWARD_ZERO is what a size wants (never exceed the position); NEAREST is for display.
    """

    DOWN = "down"
    UP = "up"
    TOWARD_ZERO = "toward_zero"
    NEAREST = "nearest"


DECIMAL_ROUNDING = {
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.UP: ROUND_CEILING,
    Rounding.TOWARD_ZERO: ROUND_DOWN,
    Rounding.NEAREST: ROUND_HALF_EVEN,  # ties to even, as the venues' own SDKs round
}


def safe_price_rounding(is_buy: bool, *, passive: bool = True) -> Rounding:
    """The direction that never makes an order worse than asked.

    A passive (resting) buy rounds down and a passive sell rounds up, so the order never pays
    more / receives less than the trader's limit. An aggressive limit (meant to cross, e.g. a
    market order's worst price) rounds the other way so it still reaches the price it must.
    """
    if passive:
        return Rounding.DOWN if is_buy else Rounding.UP
    return Rounding.UP if is_buy else Rounding.DOWN


# ----- small exact helpers -----------------------------------------------------------------


def plain(value: Decimal) -> str:
    """Plain notation, no exponent, no trailing zeros, never '-0' (for messages)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def canonical(value: Decimal) -> Decimal:
    """The same value without trailing zeros or exponent (Decimal('65000'), not '6.5E+4')."""
    return Decimal(plain(value))


def decimal_places(value: Decimal) -> int:
    """Decimal places of the exact value, trailing zeros not counted: 1.50 -> 1, 100 -> 0."""
    if value == 0:
        return 0
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def significant_figures(value: Decimal) -> int:
    """Significant figures of the exact value, trailing zeros dropped: 1200 -> 2, 0.00120 -> 2."""
    if value == 0:
        return 0
    return len(value.normalize().as_tuple().digits)


def _common_multiple(a: Decimal, b: Decimal) -> Decimal:
    """The least common multiple of two positive decimal steps (0.5 and 0.1 -> 0.5)."""
    places = max(decimal_places(a), decimal_places(b))
    scale = Decimal(10) ** places
    return Decimal(lcm(int(a * scale), int(b * scale))) / scale


def snap(value: Decimal, step: Decimal, rounding: Rounding) -> Decimal:
    """`value` moved onto the multiples of `step` in the given direction."""
    steps = (value / step).to_integral_value(rounding=DECIMAL_ROUNDING[rounding])
    return canonical(steps * step)


# ----- the price grid ----------------------------------------------------------------------


def price_step(inst: Instrument, price: Decimal) -> Decimal | None:
    """The spacing of valid prices in `price`'s decade, or None when any price is valid."""
    grid = None
    if inst.price_sig_figs is not None or inst.price_max_decimals is not None:
        exponents = []
        if inst.price_sig_figs is not None:
            exponents.append(price.adjusted() - inst.price_sig_figs + 1)
        if inst.price_max_decimals is not None:
            exponents.append(-inst.price_max_decimals)
        grid = ONE.scaleb(min(max(exponents), 0))  # integers are always valid
    if inst.tick_size is None:
        return grid
    return inst.tick_size if grid is None else _common_multiple(inst.tick_size, grid)


def smallest_price(inst: Instrument) -> Decimal | None:
    """The smallest positive valid price, or None when prices may be arbitrarily small."""
    decimals = None if inst.price_max_decimals is None else ONE.scaleb(min(-inst.price_max_decimals, 0))
    if inst.tick_size is None:
        return decimals
    return inst.tick_size if decimals is None else _common_multiple(inst.tick_size, decimals)


def price_violation(inst: Instrument, price: Decimal) -> str | None:
    """The rule a positive price breaks, or None.

    "price-tick" (not a multiple of the fixed tick), "price-sig-figs" (too many significant
    figures for a non-integer), "price-decimals" (too many decimals).
    """
    if inst.tick_size is not None and price % inst.tick_size != 0:
        return "price-tick"
    if price == price.to_integral_value():
        return None
    if inst.price_sig_figs is not None and significant_figures(price) > inst.price_sig_figs:
        return "price-sig-figs"
    if inst.price_max_decimals is not None and decimal_places(price) > inst.price_max_decimals:
        return "price-decimals"
    return None


def _snap_price(inst: Instrument, price: Decimal, rounding: Rounding) -> Decimal:
    """`price` (> 0) on the grid in the given direction; may be 0 when it lies below the grid."""
    out = price
    for _ in range(3):  # a move into the next decade may need the new decade's spacing
        step = price_step(inst, out)
        if step is None:
            return canonical(out)
        out = snap(out, step, rounding)
        if out <= 0 or price_violation(inst, out) is None:
            return out
    raise AssertionError(f"no valid price near {price} on {inst.symbol}")  # pragma: no cover


def _why_price(inst: Instrument, price: Decimal, rule: str) -> str:
    if rule == "price-tick":
        return f"is not a multiple of the tick {plain(inst.tick_size or ONE)}"
    if rule == "price-sig-figs":
        return (f"has {significant_figures(price)} significant figures; at most {inst.price_sig_figs}"
                " unless it is an integer")
    return f"has {decimal_places(price)} decimals; at most {inst.price_max_decimals}"


def conform_price(
    inst: Instrument, price: Decimal, rounding: Rounding | None = None, *, what: str = "price"
) -> Decimal:
    """A valid price for `inst`: `price` itself when `rounding` is None (else an error naming
    the rule and the nearest valid price), or `price` snapped in the `rounding` direction.

    DOWN never returns more than `price`, UP never less. A price below the smallest valid one
    cannot round DOWN to a positive price: that is rule price-min-tick.
    """
    smallest = smallest_price(inst)
    if price <= 0:
        raise ValidationError(
            f"{what} must be positive, got {plain(price)}"
            + (f" (rule price-positive; nearest valid {plain(smallest)})" if smallest else " (rule price-positive)"),
            rule="price-positive", nearest=smallest,
        )
    rule = price_violation(inst, price)
    if rule is None:
        return price
    if rounding is None:
        nearest = _snap_price(inst, price, Rounding.NEAREST)
        if nearest <= 0:
            nearest = smallest or nearest
        raise ValidationError(
            f"{what} {plain(price)} {_why_price(inst, price, rule)} on {inst.symbol}"
            f" (rule {rule}; nearest valid {plain(nearest)})",
            rule=rule, nearest=nearest,
        )
    if rounding is Rounding.TOWARD_ZERO:
        rounding = Rounding.DOWN
    out = _snap_price(inst, price, rounding)
    if out <= 0:
        assert smallest is not None  # only a bounded grid can round a positive price to zero
        if rounding is Rounding.DOWN:
            raise ValidationError(
                f"{what} {plain(price)} is below the smallest valid price {plain(smallest)} on {inst.symbol}"
                f" (rule price-min-tick; nearest valid {plain(smallest)})",
                rule="price-min-tick", nearest=smallest,
            )
        out = smallest
    return out


def is_valid_price(inst: Instrument, price: Decimal) -> bool:
    return price > 0 and price_violation(inst, price) is None


# ----- the size grid -----------------------------------------------------------------------


def snap_size(inst: Instrument, size: Decimal, rounding: Rounding = Rounding.TOWARD_ZERO) -> Decimal:
    """`size` on the lot grid (either sign; zero allowed): the plain grid operation, for
    callers that size positions rather than orders (risk sizing may legitimately give 0)."""
    return snap(size, inst.lot_size, rounding)


def conform_size(
    inst: Instrument, size: Decimal, rounding: Rounding | None = None, *, what: str = "size"
) -> Decimal:
    """A valid order size for `inst`: `size` itself when `rounding` is None (else an error
    naming the rule and the nearest valid size), or `size` snapped to the lot in that
    direction (default for sizes: TOWARD_ZERO, so a close never exceeds the position).

    An order of zero is refused (rule size-zero; nearest one lot): the venue rejects it.
    """
    lot = canonical(inst.lot_size)
    if size <= 0:
        raise ValidationError(
            f"{what} must be positive, got {plain(size)} (rule size-positive; nearest valid {plain(lot)})",
            rule="size-positive", nearest=lot,
        )
    if size % inst.lot_size == 0:
        return size
    if rounding is None:
        nearest = snap_size(inst, size, Rounding.NEAREST)
        if nearest <= 0:
            nearest = lot
        raise ValidationError(
            f"{what} {plain(size)} is not a multiple of the lot {plain(lot)} on {inst.symbol}"
            f" (at most {inst.size_decimals} decimals) (rule size-lot; nearest valid {plain(nearest)})",
            rule="size-lot", nearest=nearest,
        )
    out = snap_size(inst, size, rounding)
    if out <= 0:
        raise ValidationError(
            f"{what} {plain(size)} rounds to zero at the lot {plain(lot)} on {inst.symbol}"
            f" (rule size-zero; nearest valid {plain(lot)})",
            rule="size-zero", nearest=lot,
        )
    return out


def is_valid_size(inst: Instrument, size: Decimal) -> bool:
    return size > 0 and size % inst.lot_size == 0


# ----- whole-order rules -------------------------------------------------------------------


def check_min_notional(inst: Instrument, price: Decimal, size: Decimal) -> None:
    """Order value (size x limit price) at least the market's minimum; nearest is the size."""
    if price * size >= inst.min_notional:
        return
    nearest = snap_size(inst, inst.min_notional / price, Rounding.UP)
    raise ValidationError(
        f"order value {plain(price * size)} is below the minimum {plain(inst.min_notional)} on {inst.symbol}"
        f" (rule min-notional; nearest valid size {plain(nearest)})",
        rule="min-notional", nearest=nearest,
    )


def check_price_band(inst: Instrument, price: Decimal, reference: Decimal, *, what: str = "price") -> None:
    """A price within the venue's band around the reference price; nearest is the band's edge
    on the grid (rounded inward, so it is accepted)."""
    band = inst.price_band
    if band is None or reference <= 0:
        return
    low, high = band.bounds(reference)
    if low <= price <= high:
        return
    above = price > high
    edge = conform_price(inst, high, Rounding.DOWN) if above else conform_price(inst, low, Rounding.UP)
    raise ValidationError(
        f"{what} {plain(price)} is {'above' if above else 'below'} the price band {plain(low)}..{plain(high)}"
        f" ({band.describe()} around the reference price {plain(reference)}) on {inst.symbol}"
        f" (rule price-band; nearest valid {plain(edge)})",
        rule="price-band", nearest=edge,
    )


def check_leverage(inst: Instrument, leverage: int) -> None:
    if not 1 <= leverage <= inst.max_leverage:
        nearest = max(1, min(leverage, inst.max_leverage))
        raise ValidationError(
            f"leverage {leverage} is outside 1..{inst.max_leverage} on {inst.symbol}"
            f" (rule max-leverage; nearest valid {nearest})",
            rule="max-leverage", nearest=nearest,
        )


def check_open(inst: Instrument, time_ms: int) -> None:
    """The market trades at `time_ms` (venues with hours); nearest is the next opening (ms)."""
    hours = inst.trading_hours
    if hours is None or hours.is_open(time_ms):
        return
    opens = hours.next_open(time_ms)
    when = f"; it opens at {_utc(opens)}" if opens is not None else ""
    raise ValidationError(
        f"{inst.symbol} is closed at {_utc(time_ms)}{when} (rule market-closed)",
        rule="market-closed", nearest=opens,
    )


def _utc(time_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_order(
    inst: Instrument,
    *,
    price: Decimal,
    size: Decimal,
    trigger_price: Decimal | None = None,
    reduce_only: bool = False,
    reference: Decimal | None = None,
    time_ms: int | None = None,
) -> tuple[Decimal, Decimal]:
    """Every local rule of one order, in the order a trader fixes them; returns (price, size).

    `price` is the limit (or a market order's worst) price, `trigger_price` a trigger order's.
    The band is checked against `reference` (the venue's reference or mark price) when given:
    the trigger price for trigger orders, the limit price otherwise. Reduce-only orders are
    exempt from the minimum value (they may close a small remainder). Hours are checked when
    `time_ms` is given.
    """
    if time_ms is not None:
        check_open(inst, time_ms)
    size = conform_size(inst, size)
    price = conform_price(inst, price)
    if trigger_price is not None:
        trigger_price = conform_price(inst, trigger_price, what="trigger price")
    if reference is not None:
        if trigger_price is not None:
            check_price_band(inst, trigger_price, reference, what="trigger price")
        else:
            check_price_band(inst, price, reference)
    if not reduce_only:
        check_min_notional(inst, price, size)
    return price, size


__all__ = [
    "Rounding",
    "check_leverage",
    "check_min_notional",
    "check_open",
    "check_order",
    "check_price_band",
    "conform_price",
    "conform_size",
    "is_valid_price",
    "is_valid_size",
    "price_step",
    "price_violation",
    "safe_price_rounding",
    "smallest_price",
    "snap_size",
]
