"""Trading fees as data: the rates an account pays, where they came from, and which one an
order pays.

WHY the source travels with the rates: a venue's public schedule is only the base tier; an
account with volume, staking or a referral pays less (or earns a maker rebate). A preview that
silently used the public schedule would show a fee the account never pays, so the rates say
whether they are the account's own ("account") or the fallback ("public schedule"), and the
preview prints that.

Which rate an order pays is decided here once, for the CLI preview, the TUI ticket and risk
sizing alike: an order that takes liquidity now (a market order, an IOC, a limit that crosses
the book, a trigger that fires into the book) pays taker; one that rests pays maker.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perpcli.domain.orders import OrderType, Side, TimeInForce

ACCOUNT = "account"
PUBLIC_SCHEDULE = "public schedule"


@dataclass(frozen=True, slots=True)
class FeeRates:
    """Fractions of notional (0.00045 = 0.045%); a negative maker rate is a rebate."""

    maker: Decimal
    taker: Decimal
    source: str = PUBLIC_SCHEDULE  # ACCOUNT | PUBLIC_SCHEDULE

    def rate(self, takes: bool) -> Decimal:
        return self.taker if takes else self.maker


def takes_liquidity(
    *,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    price: Decimal | None,
    best_opposite: Decimal | None,
) -> bool:
    """Whether an order is expected to take liquidity (pay taker) rather than rest (maker).

    `best_opposite` is the best ask for a buy, the best bid for a sell (None: no book known).
    A limit order with no book to compare against is counted as taking: the higher fee is the
    safe estimate. Post-only (ALO) orders never take: the venue rejects them instead.
    """
    if order_type is OrderType.MARKET or order_type.is_trigger:
        return True  # triggers fire into the book as market (or marketable limit) orders
    if tif is TimeInForce.ALO:
        return False
    if tif in (TimeInForce.IOC, TimeInForce.FOK):
        return True
    if price is None or best_opposite is None:
        return True
    return best_opposite <= price if side is Side.BUY else best_opposite >= price
