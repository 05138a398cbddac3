"""Pre-trade guards from the [risk] settings. A refusal names the guard and sends nothing (exit 7).

The guards catch what a tired person or a buggy script does: a notional with an extra zero, a
leverage far above what was meant, a limit price typed 10x away from the market (fat finger).
They run after the order is fully resolved (size, price, leverage) and before it is signed.
Pure: the caller supplies the mark price.

- max_leverage covers the leverage the order will actually be margined at: what it sets, else
  the account's setting for the market or the venue's default for a new position.
- price_band guards the side that executes: a buy priced above mark, or a sell below it, by
  more than the band. A passive order far from the market rests; its price cannot hurt.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import RiskRefused
from perpcli.domain.orders import Side

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass
class RiskLimits:
    max_order_notional: Decimal = Decimal(1_000_000)  # 0 disables
    max_leverage: int = 20  # 0 disables
    price_band_pct: Decimal = Decimal(5)  # 0 disables
    confirm_above_notional: Decimal = Decimal(1000)
    on_bracket_failure: str = "retry"  # warn | retry | close: a filled parent whose TP/SL was refused

    @classmethod
    def from_settings(cls, settings: Any) -> RiskLimits:
        policy = str(settings.get("risk.on_bracket_failure")).strip().lower()
        if policy not in BRACKET_POLICIES:
            from perpcli.domain.errors import ConfigError

            raise ConfigError(f"risk.on_bracket_failure: expected one of {', '.join(BRACKET_POLICIES)}, got {policy!r}")
        return cls(
            max_order_notional=Decimal(settings.get("risk.max_order_notional")),
            max_leverage=int(settings.get("risk.max_leverage")),
            price_band_pct=Decimal(settings.get("risk.price_band_pct")),
            confirm_above_notional=Decimal(settings.get("risk.confirm_above_notional")),
            on_bracket_failure=policy,
        )


BRACKET_POLICIES = ("warn", "retry", "close")


@dataclass
class OrderCheck:
    """What the guards look at for one order."""

    market: str
    notional: Decimal  # |size| x price
    price: Decimal | None  # the limit (or worst) price; None for a trigger-market order
    mark: Decimal | None
    leverage: int | None = None  # the leverage the order is margined at
    reduce_only: bool = False
    side: Side | None = None  # None: the band applies both ways
    leverage_set: bool = True  # the order sets `leverage`; False: the account's setting / venue default


def check_order(limits: RiskLimits, order: OrderCheck) -> None:
    """Raise RiskRefused(guard=...) when an order breaks a guard."""
    if limits.max_order_notional > 0 and order.notional > limits.max_order_notional and not order.reduce_only:
        raise RiskRefused(
            f"order notional {_fmt(order.notional.quantize(Decimal('0.01')))} USD on {order.market} is above"
            f" risk.max_order_notional {_fmt(limits.max_order_notional)} (guard max_order_notional)",
            guard="max_order_notional",
        )
    # A reduce-only order that changes no leverage setting adds no exposure at any leverage.
    if order.leverage is not None and (order.leverage_set or not order.reduce_only):
        check_leverage(limits, order.market, order.leverage, set_by_order=order.leverage_set)
    if limits.price_band_pct > 0 and order.price is not None and order.mark:
        above = (order.price - order.mark) / order.mark * HUNDRED  # > 0: priced above mark
        away = abs(above) if order.side is None else above if order.side is Side.BUY else -above
        if away > limits.price_band_pct:
            where = "from" if order.side is None else "above" if order.side is Side.BUY else "below"
            raise RiskRefused(
                f"{order.side.value + ' ' if order.side else ''}price {_fmt(order.price)} is"
                f" {_fmt(away.quantize(Decimal('0.01')))}% {where} mark {_fmt(order.mark)} on {order.market},"
                f" beyond risk.price_band_pct {_fmt(limits.price_band_pct)}% (guard price_band)",
                guard="price_band",
            )


def check_leverage(limits: RiskLimits, market: str, leverage: int, *, set_by_order: bool = True) -> None:
    if limits.max_leverage > 0 and leverage > limits.max_leverage:
        if set_by_order:
            raise RiskRefused(
                f"leverage {leverage}x on {market} is above risk.max_leverage {limits.max_leverage}x"
                " (guard max_leverage)",
                guard="max_leverage",
            )
        raise RiskRefused(
            f"this order would be margined at {leverage}x on {market} (the account's setting, or the venue's"
            f" default for a new position), above risk.max_leverage {limits.max_leverage}x: add --leverage N"
            f" or run `perp leverage {market} N` first (guard max_leverage)",
            guard="max_leverage",
        )


def needs_confirmation(limits: RiskLimits, notional: Decimal) -> bool:
    """On a terminal, ask before orders above this notional (off a terminal --yes is needed anyway)."""
    return notional > limits.confirm_above_notional


def _fmt(d: Decimal) -> str:
    if d == 0:
        return "0"
    return format(d.normalize(), "f")
