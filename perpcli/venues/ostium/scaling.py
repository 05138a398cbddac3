"""Decimal amounts <-> the integers Ostium's contracts take, exactly or not at all.

Prices are 18-decimal fixed point (uint192), USDC 6 decimals, leverage x100 (uint32), close
percentage and slippage x100, builder fee in percent x1e6. A value that does not fit its wire
unit exactly is refused rather than rounded: rounding money silently is how a terminal sends
an order the trader did not type. Rounding to a market's tick happens earlier, in the
instrument rules, where the trader can see it.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation

from perpcli.domain.errors import ValidationError

PRICE_DECIMALS = 18
USDC_DECIMALS = 6
LEVERAGE_DECIMALS = 2
PERCENT_DECIMALS = 2  # closePercentage and slippageP
BUILDER_FEE_DECIMALS = 6
# Wide enough for any uint256 at any of the scales above, so shifting never rounds.
_EXACT = Context(prec=120, Emax=999_999, Emin=-999_999)
MAX_BUILDER_FEE_PCT = Decimal("0.5")  # what Ostium's own SDK allows; a higher fee is a typo or a trap

UINT16_MAX = 2**16 - 1
UINT32_MAX = 2**32 - 1
UINT192_MAX = 2**192 - 1
UINT256_MAX = 2**256 - 1


def _scaled(value: Decimal, decimals: int, what: str, *, bits_max: int, rule: str) -> int:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValidationError(f"{what} must be a finite number", rule=rule)
    if value < 0:
        raise ValidationError(f"{what} must not be negative (got {value})", rule=rule)
    if value.adjusted() > 80:  # far beyond any uint256 once scaled; refuse before the arithmetic
        raise ValidationError(f"{what} {value} is too large for the contract", rule=rule)
    try:
        scaled = value.scaleb(decimals, _EXACT)
        whole = scaled.to_integral_value(context=_EXACT)
    except InvalidOperation:
        raise ValidationError(f"{what} {value} is out of range", rule=rule) from None
    if scaled != whole:
        raise ValidationError(f"{what} {value} has more than {decimals} decimals, more than Ostium accepts",
                              rule=rule)
    out = int(whole)
    if out > bits_max:
        raise ValidationError(f"{what} {value} is too large for the contract", rule=rule)
    return out


def price_to_wire(price: Decimal, what: str = "price") -> int:
    """1e18 fixed point; Decimal("0") means 'none' for TP/SL."""
    return _scaled(price, PRICE_DECIMALS, what, bits_max=UINT192_MAX, rule="price-decimals")


def usdc_to_wire(amount: Decimal, what: str = "USDC amount") -> int:
    return _scaled(amount, USDC_DECIMALS, what, bits_max=UINT256_MAX, rule="size-decimals")


def leverage_to_wire(leverage: Decimal) -> int:
    out = _scaled(leverage, LEVERAGE_DECIMALS, "leverage", bits_max=UINT32_MAX, rule="leverage")
    if out == 0:
        raise ValidationError("leverage must be above 0", rule="leverage")
    return out


def close_percentage_to_wire(pct: Decimal) -> int:
    out = _scaled(pct, PERCENT_DECIMALS, "close percentage", bits_max=UINT16_MAX, rule="close-percentage")
    if not 0 < out <= 100 * 10**PERCENT_DECIMALS:
        raise ValidationError(f"close percentage must be above 0 and at most 100 (got {pct})", rule="close-percentage")
    return out


def slippage_to_wire(pct: Decimal, *, bits_max: int = UINT32_MAX) -> int:
    return _scaled(pct, PERCENT_DECIMALS, "slippage %", bits_max=bits_max, rule="slippage")


def builder_fee_to_wire(pct: Decimal) -> int:
    if pct > MAX_BUILDER_FEE_PCT:
        raise ValidationError(f"builder fee {pct}% is above the {MAX_BUILDER_FEE_PCT}% cap", rule="builder-fee")
    return _scaled(pct, BUILDER_FEE_DECIMALS, "builder fee %", bits_max=UINT32_MAX, rule="builder-fee")


def _from_wire(raw: int, decimals: int) -> Decimal:
    """Exact, without trailing zeros (2650.123450000000000000 -> 2650.12345)."""
    value = Decimal(raw).scaleb(-decimals, _EXACT)
    return value.normalize(_EXACT) if value != value.to_integral_value() else value.quantize(Decimal(1), context=_EXACT)


def price_from_wire(raw: int) -> Decimal:
    return _from_wire(raw, PRICE_DECIMALS)


def usdc_from_wire(raw: int) -> Decimal:
    return _from_wire(raw, USDC_DECIMALS)


def leverage_from_wire(raw: int) -> Decimal:
    return _from_wire(raw, LEVERAGE_DECIMALS)
