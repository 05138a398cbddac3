"""From what a trader types to one exact openTrade: size, price, leverage, TP/SL, hours.

Ostium sizes a trade by its USDC collateral (6 decimals) times leverage, so every other way to
say the size is converted into collateral, rounded *down* to a micro-USDC (never more than
asked), and the size the trade really gets is reported back:
- `--collateral 500 --leverage 10`: notional 5000, as typed;
- `--usd 5000 --leverage 10`: collateral 500;
- a base size (0.5 XAU at 2650): notional 1325, collateral 132.5 at 10x.

Then the rules Ostium would enforce on chain are checked here first, where a refusal costs no
gas and names the fix: leverage within the pair's range, the pair's minimum position, TP and
SL on the right side of the price, and the market open now (by its hours and, when known, the
oracle's own flag). Pure: the caller passes the time, the limits and the quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from perpcli.domain.errors import ValidationError
from perpcli.domain.order_rules import check_open, plain
from perpcli.venues.ostium.calls import BuilderFee, OpenTrade, OrderType
from perpcli.venues.ostium.instruments import PRICE_MAX_DECIMALS, PairLimits, PairSpec, to_instrument

MICRO_USDC = Decimal("0.000001")
PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_MAX_DECIMALS)
DEFAULT_SLIPPAGE_PCT = Decimal("1")


@dataclass(frozen=True, slots=True)
class Sizing:
    """Exactly one of collateral, notional (USD) or base size."""

    collateral: Decimal | None = None
    notional: Decimal | None = None
    size: Decimal | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.collateral, self.notional, self.size) if v is not None]
        if len(given) != 1:
            raise ValidationError("give exactly one of collateral, a USD amount or a size", rule="size-zero")
        if given[0] <= 0:
            raise ValidationError("the size must be above 0", rule="size-zero")


@dataclass(frozen=True, slots=True)
class PlannedTrade:
    """The openTrade to sign, and what it amounts to in the trader's terms."""

    call: OpenTrade
    collateral: Decimal
    notional: Decimal
    size: Decimal  # units of the underlying at the reference price
    reference_price: Decimal


def collateral_for(sizing: Sizing, leverage: Decimal, price: Decimal) -> Decimal:
    """USDC collateral for the sizing at this leverage and price, rounded down to 1e-6."""
    if sizing.collateral is not None:
        exact = sizing.collateral
        if exact != exact.quantize(MICRO_USDC, rounding=ROUND_DOWN):
            raise ValidationError(f"collateral {plain(exact)} has more than 6 decimals (USDC)", rule="size-decimals")
        return exact
    notional = sizing.notional if sizing.notional is not None else sizing.size * price  # type: ignore[operator]
    return (notional / leverage).quantize(MICRO_USDC, rounding=ROUND_DOWN)


def check_leverage(limits: PairLimits, leverage: Decimal, *, day_trade: bool) -> None:
    top = limits.max_leverage if day_trade or limits.overnight_max_leverage is None else min(
        limits.max_leverage, limits.overnight_max_leverage)
    if not limits.min_leverage <= leverage <= top:
        kind = "" if day_trade or top == limits.max_leverage else " (held overnight; a day trade may go higher)"
        raise ValidationError(f"leverage {plain(leverage)}x is outside this pair's {plain(limits.min_leverage)}x-"
                              f"{plain(top)}x{kind}", rule="leverage",
                              nearest=min(max(leverage, limits.min_leverage), top))


def check_brackets(buy: bool, price: Decimal, tp: Decimal | None, sl: Decimal | None) -> None:
    """A long's take-profit above the price and stop-loss below it; a short's the other way."""
    side = "long" if buy else "short"
    if tp is not None and (tp <= price if buy else tp >= price):
        raise ValidationError(f"a {side}'s take-profit {plain(tp)} must be {'above' if buy else 'below'} the price "
                              f"{plain(price)}", rule="invalid-trigger")
    if sl is not None and (sl >= price if buy else sl <= price):
        raise ValidationError(f"a {side}'s stop-loss {plain(sl)} must be {'below' if buy else 'above'} the price "
                              f"{plain(price)}", rule="invalid-trigger")


def plan_open(
    *, venue: str, spec: PairSpec, limits: PairLimits, trader: str, buy: bool, sizing: Sizing, leverage: Decimal,
    order_type: OrderType, now_ms: int, price: Decimal, tp: Decimal | None = None, sl: Decimal | None = None,
    slippage_pct: Decimal = DEFAULT_SLIPPAGE_PCT, day_trade: bool = False, builder: BuilderFee | None = None,
    oracle_open: bool | None = None,
) -> PlannedTrade:
    """The checked openTrade. `price` is the oracle reference (bid for a sell, ask for a buy) for a
    market order, the trigger for a limit or stop; `oracle_open` is the feed's flag when known."""
    inst = to_instrument(venue, spec, limits)
    check_open(inst, now_ms)
    if oracle_open is False:
        raise ValidationError(f"{spec.symbol} is closed now, says Ostium's oracle (a holiday or halt)",
                              rule="market-closed")
    if price <= 0:
        raise ValidationError("the price must be above 0", rule="price-positive")
    price = price.quantize(PRICE_QUANTUM, rounding=ROUND_DOWN) if order_type is OrderType.MARKET else price
    if order_type is not OrderType.MARKET and price != price.quantize(PRICE_QUANTUM):
        raise ValidationError(f"price {plain(price)} has more than {PRICE_MAX_DECIMALS} decimals", rule="price-decimals",
                              nearest=price.quantize(PRICE_QUANTUM, rounding=ROUND_DOWN))
    check_leverage(limits, leverage, day_trade=day_trade)
    check_brackets(buy, price, tp, sl)
    collateral = collateral_for(sizing, leverage, price)
    notional = collateral * leverage
    if collateral <= 0:
        raise ValidationError("the trade rounds to no collateral at all", rule="size-zero")
    if notional < limits.min_position_usd:
        raise ValidationError(f"position {plain(notional)} USD is below {spec.symbol}'s minimum of "
                              f"{plain(limits.min_position_usd)} USD (collateral x leverage)", rule="min-notional",
                              nearest=limits.min_position_usd)
    call = OpenTrade(trader=trader, pair_index=spec.pair_index, buy=buy, collateral=collateral, leverage=leverage,
                     order_type=order_type, price=price, tp=tp, sl=sl,
                     slippage_pct=slippage_pct if order_type is OrderType.MARKET else Decimal(0),
                     day_trade=day_trade, builder=builder)
    return PlannedTrade(call=call, collateral=collateral, notional=notional, size=notional / price,
                        reference_price=price)
