"""The venue protocol: what every adapter offers, in domain terms only.

A venue has two sides. The market-data side needs no key: instruments, snapshots of books,
trades, marks and funding, and live streams of the same. The trading side exists only once
built with a Signer: account snapshots and stream, submit, cancel, modify, leverage and
transfers. Keeping them apart means `perp price` never touches key material, and an adapter
for a venue without an order book (Ostium: transactions filled later by a keeper) or with
diff books and per-request signing (Aster) fits the same shape: the differences live in the
frozen `Capabilities` record, which scripts read through `perp venues --json`.

Records here are plain (not frozen) dataclasses on purpose: frozen ones cost several times
more to create at import, and every `perp` process imports this module. Treat them as values.

`submit` never raises for "no answer": it returns an `Ack` whose status may be UNKNOWN, because
a request that left the machine may have executed. The session settles UNKNOWN by client order
id (`order_status`) before telling the user anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from perpcli.domain.orders import OrderIntent

if TYPE_CHECKING:
    from perpcli.venues.capabilities import Capabilities


def __getattr__(name: str) -> Any:
    """`Capabilities` lives in its own module (a frozen record costs import time on every
    command); it is still reachable here for code that expects it beside the protocols."""
    if name == "Capabilities":
        from perpcli.venues.capabilities import Capabilities

        return Capabilities
    raise AttributeError(name)


class AckStatus(StrEnum):
    """What the venue said about one submitted order."""

    RESTING = "resting"  # accepted, resting on the book (or a trigger waiting)
    FILLED = "filled"  # fully filled at once
    PARTIALLY_FILLED = "partially_filled"  # filled in part; the rest rests or was cancelled
    CANCELED = "canceled"  # accepted, then cancelled with nothing filled (IOC remainder, margin...)
    REJECTED = "rejected"  # the venue refused it; `error` says why
    ACCEPTED = "accepted"  # accepted but not yet settled (keeper venues; grouped children)
    UNKNOWN = "unknown"  # the request left and no answer came; settle by cloid


@dataclass
class Ack:
    """The venue's answer to one order (or the lack of one)."""

    status: AckStatus
    cloid: str | None = None
    oid: int | None = None
    filled: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    error: str | None = None

    @property
    def settled(self) -> bool:
        return self.status is not AckStatus.UNKNOWN


@dataclass
class CancelResult:
    ok: bool
    oid: int | None = None
    cloid: str | None = None
    error: str | None = None


@dataclass
class ActionResult:
    """Answer to a non-order action (leverage, margin, transfer, agent approval...)."""

    ok: bool
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Candle:
    """One OHLCV bar (the domain has no candle type; venues produce these directly)."""

    symbol: str
    interval: str
    open_ms: int
    close_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # base units
    trades: int


@dataclass
class FundingRate:
    """Current (and, where the venue predicts it, next) funding for one market.

    `rate` is per `interval_hours` as the venue quotes it; `apr` annualises it (rate x periods
    per year) so venues with different intervals compare.
    """

    symbol: str
    rate: Decimal
    interval_hours: int
    predicted_rate: Decimal | None = None
    next_time_ms: int | None = None

    @property
    def apr(self) -> Decimal:
        return self.rate * (Decimal(24 * 365) / self.interval_hours)

    @property
    def predicted_apr(self) -> Decimal | None:
        if self.predicted_rate is None:
            return None
        return self.predicted_rate * (Decimal(24 * 365) / self.interval_hours)


@dataclass
class KeyRole:
    """Whom a signing key acts for on a venue.

    `role` is "user" (the key's own account), "agent" (an approved API key trading for
    `account`), "vault"/"subAccount" (not signers), or "missing" (unknown to the venue).
    """

    signer: str
    role: str
    account: str | None
    agent_name: str | None = None
    valid_until_ms: int | None = None

    @property
    def registered(self) -> bool:
        return self.role in ("user", "agent") and self.account is not None


@runtime_checkable
class MarketData(Protocol):
    """The keyless side of a venue."""

    capabilities: Capabilities

    def instruments(self) -> Sequence[Any]: ...
    def instrument(self, market: str) -> Any: ...
    def mids(self, markets: Sequence[str] | None = None) -> dict[str, Decimal]: ...
    def book(self, market: str, depth: int = 20) -> Any: ...
    def recent_trades(self, market: str) -> Sequence[Any]: ...
    def candles(self, market: str, interval: str, start_ms: int, end_ms: int) -> Sequence[Candle]: ...
    def funding(self, markets: Sequence[str] | None = None) -> Sequence[FundingRate]: ...
    def stream_book(self, market: str) -> AsyncIterator[Any]: ...
    def stream_trades(self, market: str) -> AsyncIterator[Any]: ...


@runtime_checkable
class Trading(Protocol):
    """The keyed side of a venue; constructed only with a Signer."""

    capabilities: Capabilities

    @property
    def account_address(self) -> str: ...
    @property
    def signer_address(self) -> str: ...
    def resolve_account(self) -> KeyRole: ...
    def account(self) -> Any: ...
    def open_orders(self) -> Sequence[Any]: ...
    def fills(self, since_ms: int | None = None) -> Sequence[Any]: ...
    def submit(self, orders: Sequence[OrderIntent], *, grouping: str = "na") -> list[Ack]: ...
    def order_status(self, *, oid: int | None = None, cloid: str | None = None) -> Ack | None: ...
    def cancel(self, market: str, *, oid: int | None = None, cloid: str | None = None) -> CancelResult: ...
    def modify(self, oid: int, order: OrderIntent) -> Ack: ...
    def set_leverage(self, market: str, leverage: int, *, cross: bool) -> ActionResult: ...
    def transfer(self, kind: str, amount: Decimal, **kwargs: Any) -> ActionResult: ...
    def stream_account(self) -> AsyncIterator[Any]: ...
