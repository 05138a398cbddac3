"""One central limit order book with price-time priority.

Why this shape: matching is the devnet's hot loop. A side is a dict price -> level plus a
sorted list of prices (bisect), so the best level is O(1) and inserting a new price is a
binary search; a level is an insertion-ordered dict oid -> order, so time priority is the
dict's order and cancelling from the middle is O(1). The book only stores and orders resting
orders; *what happens* at a match (fees, margin, self-trade prevention, reduce-only) is the
engine's business, so the book exposes best-level iteration rather than a match routine.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from decimal import Decimal

_ZERO = Decimal(0)  # Decimals are immutable: one shared zero serves every new order


class BookOrder:
    """A resting limit order (also used, unbooked, for untriggered triggers)."""

    __slots__ = (
        "oid",
        "user",
        "coin",
        "is_buy",
        "px",
        "sz",
        "orig_sz",
        "timestamp",
        "cloid",
        "reduce_only",
        "tif",
        "trigger",
        "order_type",
        "is_position_tpsl",
        "group",
        "children",
        "parent",
        "reserved",
        "triggered",
        "builder",
    )

    def __init__(
        self,
        oid: int,
        user: str,
        coin: str,
        is_buy: bool,
        px: Decimal,
        sz: Decimal,
        timestamp: int,
        cloid: str | None = None,
        reduce_only: bool = False,
        tif: str | None = "Gtc",
        trigger=None,
        order_type: str = "Limit",
        is_position_tpsl: bool = False,
        orig_sz: Decimal | None = None,
    ) -> None:
        self.oid = oid
        self.user = user
        self.coin = coin
        self.is_buy = is_buy
        self.px = px
        self.sz = sz
        self.orig_sz = sz if orig_sz is None else orig_sz
        self.timestamp = timestamp
        self.cloid = cloid
        self.reduce_only = reduce_only
        self.tif = tif
        self.trigger = trigger  # records.TriggerSpec | None
        self.order_type = order_type
        self.is_position_tpsl = is_position_tpsl
        self.group: int | None = None  # TP/SL siblings share a group id
        self.children: list[int] = []  # normalTpsl children waiting for this parent to fill
        self.parent: int | None = None
        self.reserved = _ZERO  # initial margin held for this order while it rests
        self.triggered = False
        self.builder: tuple[str, int] | None = None  # (address, tenths of a bp) charged on fills


class Level:
    __slots__ = ("px", "orders", "total")

    def __init__(self, px: Decimal) -> None:
        self.px = px
        self.orders: dict[int, BookOrder] = {}
        self.total = Decimal(0)


class BookSide:
    """Bids (best = highest) or asks (best = lowest).

    `version` grows whenever a price level appears or disappears: the best price can only
    change then, so readers that derive something from the top of book (the mark price) can
    skip the work while the version stands still.
    """

    __slots__ = ("is_bid", "levels", "prices", "version")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[Decimal, Level] = {}
        self.prices: list[Decimal] = []  # ascending
        self.version = 0

    def best(self) -> Level | None:
        if not self.prices:
            return None
        return self.levels[self.prices[-1] if self.is_bid else self.prices[0]]

    def best_px(self) -> Decimal | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.is_bid else self.prices[0]

    def add(self, order: BookOrder) -> None:
        level = self.levels.get(order.px)
        if level is None:
            level = Level(order.px)
            self.levels[order.px] = level
            insort(self.prices, order.px)
            self.version += 1
        level.orders[order.oid] = order
        level.total += order.sz

    def remove(self, order: BookOrder) -> None:
        level = self.levels[order.px]
        del level.orders[order.oid]
        level.total -= order.sz
        if not level.orders:
            del self.levels[order.px]
            i = bisect_left(self.prices, order.px)
            del self.prices[i]
            self.version += 1

    def reduce(self, order: BookOrder, by: Decimal) -> None:
        """Take `by` off a resting order's size (a partial fill)."""
        order.sz -= by
        self.levels[order.px].total -= by

    def levels_best_first(self):
        seq = reversed(self.prices) if self.is_bid else iter(self.prices)
        for px in seq:
            yield self.levels[px]

    def crosses(self, px: Decimal, taker_is_buy: bool) -> bool:
        """Would a taker limit at `px` on the other side reach this side's best level?"""
        best = self.best_px()
        if best is None:
            return False
        return px >= best if taker_is_buy else px <= best


class OrderBook:
    __slots__ = ("coin", "bids", "asks")

    def __init__(self, coin: str) -> None:
        self.coin = coin
        self.bids = BookSide(True)
        self.asks = BookSide(False)

    def side(self, is_buy: bool) -> BookSide:
        return self.bids if is_buy else self.asks

    def opposite(self, is_buy: bool) -> BookSide:
        return self.asks if is_buy else self.bids

    def add(self, order: BookOrder) -> None:
        self.side(order.is_buy).add(order)

    def remove(self, order: BookOrder) -> None:
        self.side(order.is_buy).remove(order)

    def levels_version(self) -> int:
        """Grows with every level added or removed on either side (both counters only grow)."""
        return self.bids.version + self.asks.version

    def bbo(self) -> tuple[Decimal | None, Decimal | None]:
        return self.bids.best_px(), self.asks.best_px()

    def orders_in_priority(self):
        """Every resting order, bids then asks, best price first, oldest first (for saving)."""
        for side in (self.bids, self.asks):
            for level in side.levels_best_first():
                yield from level.orders.values()

    def vwap_for_notional(self, is_buy: bool, notional: Decimal) -> Decimal | None:
        """Average execution price of a taker buying (or selling) `notional` USDC, or None if
        the book is too thin (the venue's impact price)."""
        side = self.opposite(is_buy)
        remaining = notional
        base = Decimal(0)
        for level in side.levels_best_first():
            level_ntl = level.total * level.px
            if level_ntl >= remaining:
                base += remaining / level.px
                return notional / base
            remaining -= level_ntl
            base += level.total
        return None
