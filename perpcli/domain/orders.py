"""Orders: what the user asks for, and the one table of how an order's status may change.

`OrderIntent` is the user's wish before any venue rounding or signing. `Order` is what we
know about a live order (ours or the venue's view of it). `OrderStatus` + `TRANSITIONS` is the
single lifecycle every layer uses — the account model, the session settling unknown outcomes,
the devnet engine — so "can an order go from X to Y" has exactly one answer.

Why UNKNOWN is a status and not an exception: a request that left without an answer may or
may not have reached the venue. The order is tracked as UNKNOWN until the account stream or a
status query settles it, and every state it can settle into is a legal exit from UNKNOWN.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from perpcli.domain.errors import PerpError


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy (adds to a long), −1 for sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(str, Enum):
    LIMIT = "limit"
    MARKET = "market"  # an aggressive IOC at a worst price on venues without true market orders
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"

    @property
    def is_trigger(self) -> bool:
        return self not in (OrderType.LIMIT, OrderType.MARKET)


class TimeInForce(str, Enum):
    GTC = "gtc"  # rest until canceled
    IOC = "ioc"  # fill what you can now, cancel the rest
    ALO = "alo"  # add liquidity only (post-only): reject rather than take
    FOK = "fok"  # all or nothing, now


class OrderStatus(str, Enum):
    PENDING = "pending"  # built/sent, no answer yet
    UNKNOWN = "unknown"  # the answer never came; settle by client order id
    OPEN = "open"  # resting on the book (or waiting for its trigger)
    TRIGGERED = "triggered"  # a trigger order fired and became a live order
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"  # by us, by the venue (margin, reduce-only, expiry...), or IOC remainder
    REJECTED = "rejected"  # refused at entry; never rested

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_live(self) -> bool:
        """Could still trade (counts toward open orders and reserved margin)."""
        return self in (OrderStatus.OPEN, OrderStatus.TRIGGERED, OrderStatus.PARTIALLY_FILLED)


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED})

_S = OrderStatus
#: The ONE lifecycle table: current status -> statuses it may move to.
#: Re-delivery of the current status (X -> X) is always accepted as a no-op (streams repeat
#: themselves after reconnects); see `transition`.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.PENDING: frozenset(
        {_S.UNKNOWN, _S.OPEN, _S.TRIGGERED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.REJECTED}
    ),
    _S.UNKNOWN: frozenset(
        {_S.OPEN, _S.TRIGGERED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.REJECTED}
    ),
    _S.OPEN: frozenset({_S.TRIGGERED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED}),
    _S.TRIGGERED: frozenset({_S.OPEN, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED}),
    _S.PARTIALLY_FILLED: frozenset({_S.FILLED, _S.CANCELED}),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.REJECTED: frozenset(),
}


class IllegalTransition(PerpError):
    """An order status change that the lifecycle does not allow (a bug or a stale update)."""

    def __init__(self, current: OrderStatus, new: OrderStatus) -> None:
        super().__init__(f"order status cannot go from {current.value} to {new.value}")
        self.current = current
        self.new = new


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    return new is current or new in TRANSITIONS[current]


def transition(current: OrderStatus, new: OrderStatus) -> OrderStatus:
    """Return the new status if the lifecycle allows the move, else raise IllegalTransition."""
    if new is current or new in TRANSITIONS[current]:
        return new
    raise IllegalTransition(current, new)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the user wants, before venue rounding and signing.

    `price` is the limit price (for MARKET: an optional explicit worst price; otherwise the
    session derives one from the book and a slippage bound). `cloid` is mandatory by the
    time the order is sent (every order carries a client order id); intents may be built
    without one and receive it from the session.
    """

    venue: str
    symbol: str
    side: Side
    size: Decimal
    order_type: OrderType = OrderType.LIMIT
    price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    trigger_price: Decimal | None = None
    cloid: str | None = None
    # A trigger-market exit that closes whatever position is held when it fires (Aster's
    # closePosition); a venue without the notion sends it reduce-only with `size`.
    close_position: bool = False

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError("order size must be positive")
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise ValueError("a limit order needs a price")
        if self.order_type.is_trigger and self.trigger_price is None:
            raise ValueError("a trigger order needs a trigger price")


@dataclass(frozen=True, slots=True)
class Order:
    """What is known about one order at one moment (from the venue or our own bookkeeping).

    `oid` is the venue's id (None while pending/unknown); `cloid` is ours. `size` is the
    remaining size, `orig_size` the size first placed; filled = orig_size − size.
    """

    venue: str
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    orig_size: Decimal
    status: OrderStatus
    oid: str | None = None
    cloid: str | None = None
    order_type: OrderType = OrderType.LIMIT
    tif: TimeInForce | None = TimeInForce.GTC
    reduce_only: bool = False
    trigger_price: Decimal | None = None
    time_ms: int = 0
    parent_oid: str | None = None  # a bracket's TP/SL child still waiting for this order to fill

    @property
    def filled_size(self) -> Decimal:
        return self.orig_size - self.size
