"""Hyperliquid's numbers: the canonical wire string, and the price (tick) and size (lot) rules.

Why this module exists: the venue does not hash the JSON a client sends. It parses the action,
re-renders every decimal in its own canonical form (no trailing zeros, no exponent, at most 8
decimals) and hashes that. A client that signs "2000.0" while the venue hashes "2000" gets a
signature for some other address ("User or API Wallet 0x… does not exist"). So every decimal
that reaches the wire goes through `to_wire`, and values that cannot be written exactly are
refused here rather than silently rounded.

The official SDK renders Python floats (`float_to_wire`) and tolerates binary noise below
1e-12. perpcli never uses floats for money: inputs are Decimal (or int, or decimal strings) and
are taken at their exact value, so an input with more than 8 decimals is an error whose
`nearest` is what the SDK would have sent.

Price rule (§d.2): integer prices are always valid; other prices need at most 5 significant
figures and at most MAX - szDecimals decimals (MAX = 6 perps, 8 spot). Size rule (§d.3): at
most szDecimals decimals, and positive. Rejections raise `ValidationError(rule=…, nearest=…)`.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    Decimal,
    InvalidOperation,
)

from perpcli.domain.errors import ValidationError
from perpcli.domain.order_rules import DECIMAL_ROUNDING, Rounding, safe_price_rounding

WIRE_MAX_DECIMALS = 8
PRICE_MAX_SIG_FIGS = 5
PERP_MAX_DECIMALS = 6
SPOT_MAX_DECIMALS = 8

_ONE = Decimal(1)
_WIRE_QUANTUM = Decimal(1).scaleb(-WIRE_MAX_DECIMALS)


# One rounding vocabulary for every venue (domain/order_rules.py); the wire rules below only
# add Hyperliquid's formatting.
_DECIMAL_MODE = DECIMAL_ROUNDING


def to_decimal(value: Decimal | int | str, *, what: str = "value") -> Decimal:
    """An exact Decimal from a Decimal, int or decimal string; floats are refused (inexact)."""
    if isinstance(value, bool):
        raise ValidationError(f"{what} must be a number, not a boolean", rule="number-type")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if text != value or not text or text.startswith("+") or "_" in text:
            raise ValidationError(f"{what} {value!r} is not a decimal number", rule="number-syntax")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValidationError(f"{what} {value!r} is not a decimal number", rule="number-syntax") from None
    elif isinstance(value, float):
        raise ValidationError(
            f"{what} {value!r} is a binary float; pass a Decimal or a decimal string", rule="number-type"
        )
    else:
        raise ValidationError(f"{what} must be a decimal number, got {type(value).__name__}", rule="number-type")
    if not d.is_finite():
        raise ValidationError(f"{what} {value} is not a finite number", rule="number-finite")
    return d


def decimal_places(d: Decimal) -> int:
    """Decimal places of the exact value (trailing zeros do not count): 1.50 -> 1, 100 -> 0."""
    if d == 0:
        return 0
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp)  # type: ignore[operator]


def significant_figures(d: Decimal) -> int:
    """Significant figures of the exact value, trailing zeros dropped: 1200 -> 2, 0.00120 -> 2."""
    if d == 0:
        return 0
    return len(d.normalize().as_tuple().digits)


def _plain(d: Decimal) -> str:
    """Plain notation, no exponent, no trailing zeros, never '-0'."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def _canon(d: Decimal) -> Decimal:
    """The same value with a plain-notation repr (Decimal('65000'), never Decimal('6.5E+4'))."""
    return Decimal(_plain(d))


def to_wire(value: Decimal | int | str, *, what: str = "value") -> str:
    """The venue's canonical decimal string for an exact value.

    "2000.0" -> "2000", Decimal("1E-7") -> "0.0000001", -0 -> "0". More than 8 decimals cannot
    be represented: ValidationError(rule="wire-max-8-decimals", nearest=<rounded to 8 places>).
    """
    d = to_decimal(value, what=what)
    if decimal_places(d) > WIRE_MAX_DECIMALS:
        nearest = d.quantize(_WIRE_QUANTUM, rounding=ROUND_HALF_EVEN)
        raise ValidationError(
            f"{what} {_plain(d)} has more than {WIRE_MAX_DECIMALS} decimals and cannot be sent exactly"
            f" (rule wire-max-8-decimals; nearest {_plain(nearest)})",
            rule="wire-max-8-decimals",
            nearest=_canon(nearest),
        )
    return _plain(d)


def is_canonical_wire(text: str) -> bool:
    """True when `text` is exactly what `to_wire` would write for its own value."""
    try:
        return to_wire(text) == text
    except ValidationError:
        return False


def _scaled_int(value: Decimal | int | str, power: int, *, what: str, rule: str) -> int:
    d = to_decimal(value, what=what)
    scaled = d.scaleb(power)
    if scaled != scaled.to_integral_value():
        nearest_units = int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))
        raise ValidationError(
            f"{what} {_plain(d)} has more than {power} decimals (rule {rule}; nearest"
            f" {_plain(Decimal(nearest_units).scaleb(-power))})",
            rule=rule,
            nearest=_canon(Decimal(nearest_units).scaleb(-power)),
        )
    return int(scaled)


def to_usd_int(value: Decimal | int | str, *, what: str = "USD amount") -> int:
    """USD amount in micro-dollars (×1e6) as an exact int, e.g. `ntli` of updateIsolatedMargin."""
    return _scaled_int(value, 6, what=what, rule="usd-max-6-decimals")


def to_int_for_hashing(value: Decimal | int | str, *, what: str = "value") -> int:
    """Value ×1e8 as an exact int (the SDK's float_to_int_for_hashing, without float noise)."""
    return _scaled_int(value, 8, what=what, rule="int-max-8-decimals")


# --- price rule -------------------------------------------------------------------------------


def max_price_decimals(sz_decimals: int, *, spot: bool) -> int:
    """MAX - szDecimals, with MAX 8 for spot and 6 for perps (default dex and HIP-3)."""
    if sz_decimals < 0:
        raise ValueError("szDecimals must be >= 0")
    return (SPOT_MAX_DECIMALS if spot else PERP_MAX_DECIMALS) - sz_decimals


def _price_quantum(px: Decimal, max_decimals: int) -> Decimal:
    """The spacing of valid prices in px's decade [10^e, 10^(e+1)).

    5 significant figures give a step of 10^(e-4); the decimal cap gives 10^-max_decimals; the
    coarser wins. Integers are always valid, so the step never exceeds 1.
    """
    e = px.adjusted()  # floor(log10(px)) for px > 0
    step_exp = max(e - (PRICE_MAX_SIG_FIGS - 1), -max_decimals)
    return _ONE.scaleb(min(step_exp, 0))


def _round_price_unchecked(px: Decimal, max_decimals: int, rounding: Rounding) -> Decimal:
    q = _price_quantum(px, max_decimals)
    return _canon(px.quantize(q, rounding=_DECIMAL_MODE[rounding]))


def price_violation(px: Decimal, sz_decimals: int, *, spot: bool) -> str | None:
    """The rule a positive price breaks ("price-sig-figs" | "price-decimals"), or None."""
    if px == px.to_integral_value():
        return None
    if significant_figures(px) > PRICE_MAX_SIG_FIGS:
        return "price-sig-figs"
    if decimal_places(px) > max_price_decimals(sz_decimals, spot=spot):
        return "price-decimals"
    return None


def check_price(
    value: Decimal | int | str, sz_decimals: int, *, spot: bool = False, what: str = "price"
) -> Decimal:
    """Return the price if valid for the asset; else ValidationError naming the rule and nearest."""
    px = to_decimal(value, what=what)
    if px <= 0:
        raise ValidationError(f"{what} must be positive, got {_plain(px)}", rule="price-positive")
    rule = price_violation(px, sz_decimals, spot=spot)
    if rule is None:
        return px
    max_dec = max_price_decimals(sz_decimals, spot=spot)
    nearest = _round_price_unchecked(px, max_dec, Rounding.NEAREST)
    if nearest == 0:
        nearest = _ONE.scaleb(-max_dec) if max_dec > 0 else _ONE
    if rule == "price-sig-figs":
        why = f"has {significant_figures(px)} significant figures; at most {PRICE_MAX_SIG_FIGS} unless it is an integer"
    else:
        market = "spot" if spot else "perp"
        why = (
            f"has {decimal_places(px)} decimals; at most {max_dec} for a {market} with szDecimals {sz_decimals}"
        )
    raise ValidationError(
        f"{what} {_plain(px)} {why} (rule {rule}; nearest valid {_plain(nearest)})", rule=rule, nearest=nearest
    )


def round_price(
    value: Decimal | int | str,
    sz_decimals: int,
    *,
    spot: bool = False,
    rounding: Rounding = Rounding.NEAREST,
    what: str = "price",
) -> Decimal:
    """The valid price nearest to `value` in the given direction (value itself if valid).

    DOWN never returns more than value, UP never less. Use `safe_price_rounding(is_buy, …)` to
    pick the direction for an order. A price below the smallest tick cannot be rounded DOWN to
    a positive price: that raises with `nearest` = the smallest tick.
    """
    px = to_decimal(value, what=what)
    if px <= 0:
        raise ValidationError(f"{what} must be positive, got {_plain(px)}", rule="price-positive")
    if price_violation(px, sz_decimals, spot=spot) is None:
        return px
    max_dec = max_price_decimals(sz_decimals, spot=spot)
    if rounding is Rounding.TOWARD_ZERO:
        rounding = Rounding.DOWN
    out = _round_price_unchecked(px, max_dec, rounding)
    if out <= 0:
        smallest = _ONE.scaleb(-max_dec) if max_dec > 0 else _ONE
        if rounding is Rounding.DOWN:
            raise ValidationError(
                f"{what} {_plain(px)} is below the smallest valid price {_plain(smallest)}"
                f" (rule price-min-tick; nearest valid {_plain(smallest)})",
                rule="price-min-tick",
                nearest=smallest,
            )
        out = smallest
    return out


def round_order_price(
    value: Decimal | int | str,
    sz_decimals: int,
    *,
    is_buy: bool,
    passive: bool = True,
    spot: bool = False,
) -> Decimal:
    """Round an order's limit price in the safe direction for its side (see safe_price_rounding)."""
    return round_price(value, sz_decimals, spot=spot, rounding=safe_price_rounding(is_buy, passive=passive))


def round_price_sdk_recipe(value: Decimal | int | str, sz_decimals: int, *, spot: bool = False) -> Decimal:
    """The official SDK's rounding, exactly: 5 significant figures (ties to even), then
    MAX - szDecimals decimals. It differs from `round_price` only above 99,999, where the SDK
    rounds to 5 significant figures although any integer is valid (117365.5 -> 117370, where
    `round_price` gives 117366). Kept to reproduce the SDK's market-order prices.
    """
    px = to_decimal(value, what="price")
    if px <= 0:
        raise ValidationError(f"price must be positive, got {_plain(px)}", rule="price-positive")
    five_sf = px.quantize(_ONE.scaleb(px.adjusted() - (PRICE_MAX_SIG_FIGS - 1)), rounding=ROUND_HALF_EVEN)
    out = five_sf.quantize(_ONE.scaleb(-max_price_decimals(sz_decimals, spot=spot)), rounding=ROUND_HALF_EVEN)
    return _canon(out)


# --- size rule --------------------------------------------------------------------------------


def check_size(value: Decimal | int | str, sz_decimals: int, *, what: str = "size") -> Decimal:
    """Return the size if it is positive with at most szDecimals decimals; else ValidationError."""
    sz = to_decimal(value, what=what)
    lot = _ONE.scaleb(-sz_decimals)
    if sz <= 0:
        raise ValidationError(
            f"{what} must be positive, got {_plain(sz)} (rule size-positive; nearest valid {_plain(lot)})",
            rule="size-positive",
            nearest=lot,
        )
    if decimal_places(sz) > sz_decimals:
        nearest = sz.quantize(lot, rounding=ROUND_HALF_EVEN)
        if nearest <= 0:
            nearest = lot
        nearest = _canon(nearest)
        raise ValidationError(
            f"{what} {_plain(sz)} has {decimal_places(sz)} decimals; at most {sz_decimals} (szDecimals)"
            f" (rule size-decimals; nearest valid {_plain(nearest)})",
            rule="size-decimals",
            nearest=nearest,
        )
    return sz


def round_size(
    value: Decimal | int | str,
    sz_decimals: int,
    *,
    rounding: Rounding = Rounding.TOWARD_ZERO,
    what: str = "size",
) -> Decimal:
    """The size rounded to szDecimals. Default toward zero: a close never exceeds the position.

    A result of zero is refused (rule size-zero, nearest = one lot): the venue rejects zero size.
    """
    sz = to_decimal(value, what=what)
    if sz <= 0:
        raise ValidationError(f"{what} must be positive, got {_plain(sz)}", rule="size-positive")
    lot = _ONE.scaleb(-sz_decimals)
    out = sz.quantize(lot, rounding=_DECIMAL_MODE[rounding])
    if out <= 0:
        raise ValidationError(
            f"{what} {_plain(sz)} rounds to zero at {sz_decimals} decimals (rule size-zero; nearest valid {_plain(lot)})",
            rule="size-zero",
            nearest=lot,
        )
    return _canon(out)
