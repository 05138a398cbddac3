"""The order ticket's fields, turned into the app layer's `OrderRequest`.

WHY reuse the CLI grammar: `perp buy` and the ticket must size and price an order the same
way (units, USD, % of free collateral, or risk to a stop; limit, market or stop), so the
ticket's text fields go through the very parsers of app/order_plan.py. A field that does not
parse yet (the user is still typing) raises the same UsageError the CLI would print; the
ticket shows it instead of a preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perpcli.app.order_plan import (
    OrderRequest,
    PriceSpec,
    SizeSpec,
    parse_decimal,
    parse_percent,
)
from perpcli.domain.errors import UsageError
from perpcli.domain.orders import Side

SIZE_MODES = ("units", "usd", "pct", "risk")
ORDER_TYPES = ("limit", "market", "stop")


@dataclass(frozen=True)
class TicketForm:
    market: str
    side: Side = Side.BUY
    size: str = ""
    size_mode: str = "units"  # units | usd | pct (of free collateral) | risk (% of equity to the stop)
    order_type: str = "limit"  # limit | market | stop
    price: str = ""  # limit price, or the trigger price of a stop
    tp: str = ""
    sl: str = ""
    reduce_only: bool = False
    post_only: bool = False
    leverage: str = ""  # a collateral x leverage venue's ticket only (tui/collateral_ticket.py); blank: its default


def _size(form: TicketForm) -> SizeSpec:
    if not form.size.strip():
        raise UsageError("enter a size")
    if form.size_mode == "units":
        return SizeSpec("base", parse_decimal(form.size, what="size"))
    if form.size_mode == "usd":
        return SizeSpec("usd", parse_decimal(form.size.lstrip("$"), what="size (USD)"))
    pct = parse_percent(form.size, what="size (%)")
    if pct > 100:
        raise UsageError("size: at most 100%")
    if form.size_mode == "pct":
        return SizeSpec("pct", pct)
    if form.size_mode == "risk":
        if not form.sl.strip():
            raise UsageError("risk sizing needs a stop loss (SL)")
        return SizeSpec("risk", pct)
    raise UsageError(f"unknown size mode {form.size_mode!r}")


def _opt(text: str, what: str) -> Decimal | None:
    return parse_decimal(text, what=what) if text.strip() else None


def to_request(form: TicketForm) -> OrderRequest:
    """The ticket as an OrderRequest; UsageError names the field that is not valid yet."""
    size = _size(form)
    if form.order_type == "limit":
        if not form.price.strip():
            raise UsageError("enter a limit price (or click a book level)")
        price = PriceSpec("limit", limit=parse_decimal(form.price, what="price"))
    elif form.order_type == "market":
        price = PriceSpec("market")
    elif form.order_type == "stop":
        if not form.price.strip():
            raise UsageError("enter the stop's trigger price")
        price = PriceSpec("stop", trigger=parse_decimal(form.price, what="trigger price"))
    else:
        raise UsageError(f"unknown order type {form.order_type!r}")
    if form.post_only and form.order_type != "limit":
        raise UsageError("post-only applies to limit orders")
    return OrderRequest(
        market=form.market,
        side=form.side,
        size=size,
        price=price,
        tp=_opt(form.tp, "TP"),
        sl=_opt(form.sl, "SL"),
        reduce_only=form.reduce_only,
        post_only=form.post_only,
    )
