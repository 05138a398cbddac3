"""One account on one venue, folded from domain events; reconciled against REST snapshots.

Pure and synchronous: `apply(event)` changes the state and says whether anything changed;
no clock, no I/O. The stream delivers fills, order updates, funding and balance changes;
after every (re)connect the session fetches an `AccountSnapshot` and calls `reconcile`,
which reports every difference as a typed record and then adopts the venue's numbers —
the venue is the truth, our model is the fast path between snapshots.

Rules worth knowing:
- Fills are deduplicated by (venue, symbol, trade id, order id): streams replay fills after a
  reconnect (Hyperliquid's `isSnapshot` messages) and REST backfills overlap.
- Order status moves only through `domain.orders.transition` (the one table). A venue update
  that the table refuses (e.g. "open" arriving after we already saw the fill) is kept out of
  the state and recorded in `anomalies`; it is a stale message, not a crash.
- Orders are keyed by client order id when they have one (it exists before the venue's oid,
  and survives modify), else by oid.
- Perp fills settle realised PnL and fees into the quote balance ("USDC"); funding too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from perpcli.domain.events import (
    AccountSnapshot,
    BalanceUpdate,
    Fill,
    FundingPayment,
    OrderUpdate,
    PositionSnapshot,
)
from perpcli.domain.instrument import MarginTable
from perpcli.domain.orders import IllegalTransition, Order, OrderIntent, OrderStatus, transition
from perpcli.ledger.margin import MarginSummary, PositionRisk, summarize
from perpcli.ledger.margin_rules import MarginRules
from perpcli.ledger.positions import Position

ZERO = Decimal(0)
MONEY_TOLERANCE = Decimal("0.000001")  # venues round money to 6 decimals (USDC)


# ----- discrepancies (what reconcile reports) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    asset: str
    local: Decimal | None
    venue: Decimal | None


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    symbol: str
    local_size: Decimal
    venue_size: Decimal
    local_entry: Decimal | None
    venue_entry: Decimal | None


@dataclass(frozen=True, slots=True)
class OrderMissingLocally:
    """The venue lists an open order we did not know about (placed elsewhere, or missed)."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderNotAtVenue:
    """We thought this order was live; the venue does not list it (filled or canceled while
    we were not listening): its fate needs a status query."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderMismatch:
    key: str
    field: str
    local: object
    venue: object


Discrepancy = BalanceMismatch | PositionMismatch | OrderMissingLocally | OrderNotAtVenue | OrderMismatch


@dataclass(frozen=True, slots=True)
class Anomaly:
    """An event the model refused (kept for the debug log and tests), with the reason."""

    event: object
    reason: str


# ----- the account -----------------------------------------------------------------------------


def order_key(order: Order) -> str:
    if order.cloid:
        return f"c:{order.cloid}"
    if order.oid is not None:
        return f"o:{order.oid}"
    raise ValueError("an order needs a client order id or a venue order id")


class Account:
    __slots__ = (
        "venue",
        "account",
        "quote",
        "balances",
        "positions",
        "orders",
        "_oid_index",
        "_fill_keys",
        "_fill_order",
        "_funding_keys",
        "anomalies",
        "version",
        "max_remembered_fills",
        "snapshot_time_ms",
        "reserved",
    )

    def __init__(self, venue: str, account: str, *, quote: str = "USDC", max_remembered_fills: int = 100_000):
        self.venue = venue
        self.account = account
        self.quote = quote
        self.balances: dict[str, Decimal] = {}
        self.positions: dict[str, Position] = {}
        self.orders: dict[str, Order] = {}
        self._oid_index: dict[int, str] = {}
        self._fill_keys: set[tuple] = set()
        self._fill_order: deque[tuple] = deque()
        self._funding_keys: set[tuple[str, int]] = set()
        self.anomalies: deque[Anomaly] = deque(maxlen=1000)  # the latest refusals, bounded
        self.version = 0
        self.max_remembered_fills = max_remembered_fills
        # The venue time of the newest snapshot adopted: it already holds every fill up to then.
        self.snapshot_time_ms = 0
        self.reserved = ZERO  # cash held by open orders, as the last snapshot said (AccountSnapshot)

    # ----- reads ------------------------------------------------------------------------------

    def position(self, symbol: str) -> Position:
        return self.positions.get(symbol) or Position(symbol)

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.status.is_live]

    def order(self, *, cloid: str | None = None, oid: int | None = None) -> Order | None:
        if cloid is not None:
            return self.orders.get(f"c:{cloid}")
        if oid is not None:
            key = self._oid_index.get(oid)
            return self.orders.get(key) if key else None
        return None

    @property
    def cash(self) -> Decimal:
        return self.balances.get(self.quote, ZERO)

    def margin_inputs(
        self,
        marks: dict[str, Decimal],
        tables: dict[str, MarginTable],
        rules: Mapping[str, MarginRules] | None = None,
    ) -> list[PositionRisk]:
        """Open positions as the margin model wants them, each under its venue's `rules` for
        the market when given (else Hyperliquid's over `tables`); positions without a mark
        are skipped."""
        out = []
        for pos in self.positions.values():
            mark = marks.get(pos.symbol)
            if not pos.size or mark is None or pos.entry_price is None:
                continue
            table = tables.get(pos.symbol) or MarginTable.single(pos.leverage or 1)
            market_rules = rules.get(pos.symbol) if rules else None
            default = market_rules.default_leverage() if market_rules else table.tiers[0].max_leverage
            out.append(
                PositionRisk(
                    pos.symbol,
                    pos.size,
                    pos.entry_price,
                    mark,
                    pos.leverage or default,
                    table,
                    pos.margin_mode,
                    pos.isolated_margin,
                    market_rules,
                )
            )
        return out

    def margin_summary(
        self,
        marks: dict[str, Decimal],
        tables: dict[str, MarginTable],
        rules: Mapping[str, MarginRules] | None = None,
    ) -> MarginSummary:
        return summarize(self.cash, self.margin_inputs(marks, tables, rules), self.reserved)

    # ----- our own submissions ------------------------------------------------------------------

    def track_submission(self, intent: OrderIntent, *, time_ms: int) -> Order:
        """Record an order we are about to send (PENDING until the venue answers)."""
        if not intent.cloid:
            raise ValueError("every order carries a client order id")
        order = Order(
            venue=intent.venue,
            symbol=intent.symbol,
            side=intent.side,
            price=intent.price if intent.price is not None else ZERO,
            size=intent.size,
            orig_size=intent.size,
            status=OrderStatus.PENDING,
            cloid=intent.cloid,
            order_type=intent.order_type,
            tif=intent.tif,
            reduce_only=intent.reduce_only,
            trigger_price=intent.trigger_price,
            time_ms=time_ms,
        )
        self.orders[order_key(order)] = order
        self.version += 1
        return order

    def mark_unknown(self, cloid: str) -> Order:
        """The request left but no answer came: the order is UNKNOWN until settled."""
        key = f"c:{cloid}"
        order = self.orders[key]
        order = replace(order, status=transition(order.status, OrderStatus.UNKNOWN))
        self.orders[key] = order
        self.version += 1
        return order

    # ----- events -------------------------------------------------------------------------------

    def apply(self, event: object) -> bool:
        """Fold one event in; True when the state changed."""
        if isinstance(event, Fill):
            changed = self._apply_fill(event)
        elif isinstance(event, OrderUpdate):
            changed = self._apply_order_update(event)
        elif isinstance(event, FundingPayment):
            changed = self._apply_funding(event)
        elif isinstance(event, BalanceUpdate):
            changed = self._apply_balance(event)
        elif isinstance(event, AccountSnapshot):
            self.reconcile(event)
            changed = True
        else:
            raise TypeError(f"an account does not take {type(event).__name__} events")
        if changed:
            self.version += 1
        return changed

    def _apply_fill(self, fill: Fill) -> bool:
        key = fill.key
        if key in self._fill_keys:
            return False
        self._fill_keys.add(key)
        self._fill_order.append(key)
        if len(self._fill_order) > self.max_remembered_fills:
            self._fill_keys.discard(self._fill_order.popleft())
        if self.snapshot_time_ms and fill.time_ms <= self.snapshot_time_ms:
            # A fill replayed after the snapshot was adopted (Hyperliquid re-sends recent fills
            # when userFills is subscribed): the snapshot's positions already include it.
            return False
        position = self.position(fill.symbol)
        position, realised = position.with_fill(fill.size * fill.side.sign, fill.price, fill.fee)
        self.positions[fill.symbol] = position
        if fill.fee_token == self.quote:
            self.balances[self.quote] = self.cash + realised - fill.fee
        else:
            self.balances[self.quote] = self.cash + realised
            self.balances[fill.fee_token] = self.balances.get(fill.fee_token, ZERO) - fill.fee
        key_of_order = self._find_order_key(fill.cloid, fill.oid)
        if key_of_order is not None:
            order = self.orders[key_of_order]
            remaining = max(ZERO, order.size - fill.size)
            status = OrderStatus.FILLED if not remaining else OrderStatus.PARTIALLY_FILLED
            try:
                status = transition(order.status, status)
            except IllegalTransition as exc:
                self.anomalies.append(Anomaly(fill, str(exc)))
            else:
                oid = order.oid if order.oid is not None else fill.oid
                self.orders[key_of_order] = replace(order, size=remaining, status=status, oid=oid)
                if oid is not None:
                    self._oid_index[oid] = key_of_order
        return True

    def _find_order_key(self, cloid: str | None, oid: int | None) -> str | None:
        if cloid is not None and f"c:{cloid}" in self.orders:
            return f"c:{cloid}"
        if oid is not None:
            key = self._oid_index.get(oid)
            if key is None and f"o:{oid}" in self.orders:
                key = f"o:{oid}"
            return key
        return None

    def _apply_order_update(self, update: OrderUpdate) -> bool:
        incoming = update.order
        key = self._find_order_key(incoming.cloid, incoming.oid) or order_key(incoming)
        current = self.orders.get(key)
        status = incoming.status
        # A venue that reports a partly filled resting order as "open" (Hyperliquid) is
        # saying "partially filled" in our vocabulary.
        if status is OrderStatus.OPEN and incoming.size < incoming.orig_size:
            status = OrderStatus.PARTIALLY_FILLED
        if current is None:
            self.orders[key] = replace(incoming, status=status)
        else:
            try:
                status = transition(current.status, status)
            except IllegalTransition as exc:
                self.anomalies.append(Anomaly(update, str(exc)))
                return False
            size = incoming.size
            if current.status is status and size > current.size:
                size = current.size  # a stale repeat must not undo fills we already counted
            merged = replace(
                incoming,
                status=status,
                size=size,
                cloid=incoming.cloid or current.cloid,
                oid=incoming.oid if incoming.oid is not None else current.oid,
            )
            if merged == current:
                return False
            self.orders[key] = merged
        oid = self.orders[key].oid
        if oid is not None:
            self._oid_index[oid] = key
        return True

    def _apply_funding(self, payment: FundingPayment) -> bool:
        key = (payment.symbol, payment.time_ms)
        if key in self._funding_keys:
            return False
        self._funding_keys.add(key)
        self.positions[payment.symbol] = self.position(payment.symbol).with_funding(payment.amount)
        self.balances[self.quote] = self.cash + payment.amount
        return True

    def _apply_balance(self, update: BalanceUpdate) -> bool:
        before = self.balances.get(update.asset)
        if update.total is not None:
            after = update.total
        else:
            assert update.delta is not None
            after = (before or ZERO) + update.delta
        if after == before:
            return False
        self.balances[update.asset] = after
        return True

    # ----- reconcile ----------------------------------------------------------------------------

    def reconcile(self, snapshot: AccountSnapshot) -> list[Discrepancy]:
        """Compare with the venue's snapshot, return every difference, then adopt the venue's
        balances, positions (size, entry, margin settings) and open orders.

        Locally tracked cumulative figures the venue does not report (realised PnL, fees,
        funding) are kept. PENDING / UNKNOWN orders absent from the snapshot are kept: the
        session settles them by client order id.
        """
        found: list[Discrepancy] = []
        # balances
        venue_balances = {b.asset: b.total for b in snapshot.balances}
        for asset in sorted(set(venue_balances) | set(self.balances)):
            local = self.balances.get(asset)
            venue = venue_balances.get(asset)
            if local is None or venue is None:
                if (local or ZERO) != (venue or ZERO):
                    found.append(BalanceMismatch(asset, local, venue))
            elif abs(local - venue) > MONEY_TOLERANCE:
                found.append(BalanceMismatch(asset, local, venue))
        # positions
        venue_positions: dict[str, PositionSnapshot] = {p.symbol: p for p in snapshot.positions if p.size}
        for symbol in sorted(set(venue_positions) | {s for s, p in self.positions.items() if p.size}):
            local = self.positions.get(symbol)
            vp = venue_positions.get(symbol)
            local_size = local.size if local else ZERO
            local_entry = local.entry_price if local and local.size else None
            venue_size = vp.size if vp else ZERO
            venue_entry = vp.entry_price if vp else None
            entry_differs = (
                local_entry is not None
                and venue_entry is not None
                and abs(local_entry - venue_entry) > MONEY_TOLERANCE * max(Decimal(1), abs(venue_entry))
            )
            if local_size != venue_size or entry_differs:
                found.append(PositionMismatch(symbol, local_size, venue_size, local_entry, venue_entry))
        # orders
        venue_orders: dict[str, Order] = {}
        for order in snapshot.open_orders:
            status = order.status
            if status is OrderStatus.OPEN and order.size < order.orig_size:
                status = OrderStatus.PARTIALLY_FILLED
            key = self._find_order_key(order.cloid, order.oid) or order_key(order)
            known = self.orders.get(key)
            cloid = order.cloid or (known.cloid if known else None)
            venue_orders[key] = replace(order, status=status, cloid=cloid)
        for key, order in venue_orders.items():
            local = self.orders.get(key)
            if local is None or not (local.status.is_live or local.status in _UNSETTLED):
                found.append(OrderMissingLocally(order))
                continue
            for field in ("size", "price", "side"):
                if getattr(local, field) != getattr(order, field):
                    found.append(OrderMismatch(key, field, getattr(local, field), getattr(order, field)))
        for key, local in self.orders.items():
            if local.status.is_live and key not in venue_orders:
                found.append(OrderNotAtVenue(local))
        self._adopt(venue_balances, venue_positions, venue_orders)
        self.reserved = snapshot.reserved
        self.snapshot_time_ms = max(self.snapshot_time_ms, snapshot.time_ms)
        return found

    def _adopt(
        self,
        venue_balances: dict[str, Decimal],
        venue_positions: dict[str, PositionSnapshot],
        venue_orders: dict[str, Order],
    ) -> None:
        self.balances = dict(venue_balances)
        positions: dict[str, Position] = {}
        for symbol, vp in venue_positions.items():
            base = self.positions.get(symbol) or Position(symbol)
            positions[symbol] = replace(
                base,
                size=vp.size,
                entry_price=vp.entry_price,
                margin_mode=vp.margin_mode,
                leverage=vp.leverage,
                isolated_margin=_isolated_allocation(vp),
            )
        for symbol, pos in self.positions.items():  # keep closed positions' realised stats
            if symbol not in positions:
                positions[symbol] = replace(pos, size=ZERO, entry_price=None)
        self.positions = positions
        orders: dict[str, Order] = {}
        for key, local in self.orders.items():
            if local.status in _UNSETTLED and key not in venue_orders:
                orders[key] = local  # still to be settled by client order id
            elif not local.status.is_live and key not in venue_orders:
                orders[key] = local  # history (filled, canceled, rejected)
        orders.update(venue_orders)
        self.orders = orders
        self._oid_index = {o.oid: k for k, o in orders.items() if o.oid is not None}
        self.version += 1


_UNSETTLED = frozenset({OrderStatus.PENDING, OrderStatus.UNKNOWN})


def _isolated_allocation(vp: PositionSnapshot) -> Decimal:
    """Margin allocated to an isolated position, excluding its uPnL.

    Venues report isolated margin used (allocation + uPnL, Hyperliquid's marginUsed); the
    margin model wants the allocation, so the uPnL is taken back out.
    """
    if vp.isolated_margin is None:
        return ZERO
    return vp.isolated_margin - (vp.unrealized_pnl or ZERO)


__all__ = [
    "Account",
    "Anomaly",
    "BalanceMismatch",
    "Discrepancy",
    "OrderMismatch",
    "OrderMissingLocally",
    "OrderNotAtVenue",
    "PositionMismatch",
    "order_key",
]
