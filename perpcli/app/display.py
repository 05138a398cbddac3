"""How many digits each kind of number deserves, on a screen and in --json alike.

Figures perpcli computes (an average entry, a VWAP, a margin, a ratio) come out of Decimal
division with 28 significant digits, and a venue's own figures carry whatever precision its
wire uses; neither is what a trader should read. One rule per kind of number, decided here
and used by the CLI's tables, its JSON (app/views.py, app/preview.py, app/actions.py) and the
TUI, so they agree to the digit:

- a price sits on the market's price grid (its tick, or its significant figures and
  decimals: domain/order_rules.py), rounded to the nearest valid price; a mid between two
  valid prices keeps its half step;
- a size sits on the market's lot;
- a USD valuation (equity, margin, notional, PnL at marks) is shown to the cent;
- a ledger amount the venue books (a fee, realised PnL, a funding payment) keeps the
  collateral's unit, 6 decimals (USDC on Hyperliquid), so it reconciles with the venue;
- a ratio (leverage, margin ratio) has 4 decimals; a rate (funding, fee rate, slippage as a
  fraction) has 8.

Values stay Decimal: exact, just no longer than they deserve. Without an instrument (a
market the caller could not look up) prices and sizes keep 10 significant figures.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from perpcli.domain import order_rules as rules

if TYPE_CHECKING:
    from perpcli.domain.instrument import Instrument

USD_PLACES = 2
AMOUNT_PLACES = 6
RATIO_PLACES = 4
RATE_PLACES = 8
FALLBACK_SIG_FIGS = 10


def _places(value: Decimal | None, places: int) -> Decimal | None:
    """`value` rounded half-even to `places` decimals, trailing zeros dropped."""
    if value is None or not value.is_finite():
        return value
    try:
        return rules.canonical(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))
    except InvalidOperation:  # more integer digits than the context holds: nothing to trim
        return value


def _sig_figs(value: Decimal, figures: int) -> Decimal:
    if value == 0 or not value.is_finite():
        return value
    return _places(value, max(0, figures - 1 - value.adjusted())) or value


def price(inst: Instrument | None, value: Decimal | None) -> Decimal | None:
    """The nearest valid price on the market's grid (a valid price is returned unchanged)."""
    if value is None or not value.is_finite():
        return value
    if inst is None:
        return _sig_figs(value, FALLBACK_SIG_FIGS)
    if value <= 0:  # a computed liquidation price may be; show it at the grid's finest decimals
        return _places(value, inst.price_decimals)
    return rules.canonical(rules.conform_price(inst, value, rules.Rounding.NEAREST))


def mid(inst: Instrument | None, value: Decimal | None) -> Decimal | None:
    """A mid price: on the half steps of the price grid (between two valid prices)."""
    if value is None or not value.is_finite():
        return value
    if inst is None or value <= 0:
        return price(inst, value)
    step = rules.price_step(inst, value)
    if step is None:
        return _places(value, inst.price_decimals + 1)
    return rules.snap(value, step / 2, rules.Rounding.NEAREST)


def size(inst: Instrument | None, value: Decimal | None) -> Decimal | None:
    """A size on the market's lot (signed sizes keep their sign)."""
    if value is None or not value.is_finite():
        return value
    if inst is None:
        return _sig_figs(value, FALLBACK_SIG_FIGS)
    return rules.snap_size(inst, value, rules.Rounding.NEAREST)


def usd(value: Decimal | None) -> Decimal | None:
    """A valuation in USD (the quote asset): to the cent."""
    return _places(value, USD_PLACES)


def amount(value: Decimal | None) -> Decimal | None:
    """A ledger amount the venue books (fee, realised PnL, funding): the collateral's unit."""
    return _places(value, AMOUNT_PLACES)


def ratio(value: Decimal | None) -> Decimal | None:
    """Leverage, margin ratio: 4 decimals."""
    return _places(value, RATIO_PLACES)


def rate(value: Decimal | None) -> Decimal | None:
    """A funding or fee rate, a slippage as a fraction of price: 8 decimals."""
    return _places(value, RATE_PLACES)
