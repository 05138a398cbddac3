"""Between an algo and its venue: actions become signed orders, answers become child updates.

`intent_for` and `update_of` are pure (tested on their own); `VenueLink` is the I/O: one
Session for the algo's venue, reached as the command that started it reached it (venue, URL,
network, account), with the same risk guards as `perp buy` on every child before it is signed.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from perpcli.app.algos.core import ChildUpdate, Place, Quote
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.venues.base import Ack, AckStatus, CancelTarget

TRIGGER_WORST_PCT = Decimal(10)  # a TP/SL leg executes as market: its worst price, as `perp buy --tp`
LIVE_KINDS = ("post", "entry", "take_profit", "stop")  # children that may rest (an IOC never does)


def intent_for(venue: str, inst: Any, p: Place) -> OrderIntent:
    """The order a Place asks for, on the market's grid (a limit is never made worse than asked)."""
    from perpcli.domain import order_rules as rules

    is_buy = p.side == "buy"
    side = Side.BUY if is_buy else Side.SELL
    size = rules.conform_size(inst, p.size, rules.Rounding.TOWARD_ZERO)
    if p.kind in ("post", "ioc"):
        assert p.price is not None
        # An IOC's price is its worst price: rounded inside the slippage bound, as `perp buy --market`.
        price = rules.conform_price(inst, p.price, rules.safe_price_rounding(is_buy, passive=True))
        return OrderIntent(venue=venue, symbol=inst.symbol, side=side, size=size, order_type=OrderType.LIMIT,
                           price=price, tif=TimeInForce.ALO if p.kind == "post" else TimeInForce.IOC,
                           reduce_only=p.reduce_only, cloid=p.cloid)
    assert p.trigger is not None
    trigger = rules.conform_price(inst, p.trigger, rules.Rounding.NEAREST)
    worst_raw = trigger * (100 + TRIGGER_WORST_PCT) / 100 if is_buy else trigger * (100 - TRIGGER_WORST_PCT) / 100
    worst = rules.conform_price(inst, worst_raw, rules.safe_price_rounding(is_buy, passive=True))
    kind = OrderType.TAKE_PROFIT_MARKET if p.kind == "take_profit" else OrderType.STOP_MARKET
    return OrderIntent(venue=venue, symbol=inst.symbol, side=side, size=size, order_type=kind, price=worst,
                       trigger_price=trigger, reduce_only=True, cloid=p.cloid, close_position=True)


def update_of(cloid: str, ack: Ack | None, *, kind: str) -> ChildUpdate:
    """What an answer (or a status look-up) says of a child. None: the venue never saw it."""
    if ack is None:
        return ChildUpdate(cloid, "done", error="the venue has no such order (never placed)")
    s = ack.status
    if s is AckStatus.UNKNOWN:
        return ChildUpdate(cloid, "unknown", ack.filled, ack.avg_price, ack.error)
    if s is AckStatus.FILLED:
        return ChildUpdate(cloid, "done", ack.filled or ack.size or Decimal(0), ack.avg_price)
    live = kind in LIVE_KINDS
    if s in (AckStatus.RESTING, AckStatus.ACCEPTED):
        return ChildUpdate(cloid, "open" if live else "done", ack.filled, ack.avg_price)
    if s is AckStatus.PARTIALLY_FILLED:
        # Filled in part: still resting, unless the venue says the rest was cancelled (an IOC
        # always; a resting order when the answer carries the cancellation's word).
        still = live and not ack.error and not ack.note
        return ChildUpdate(cloid, "open" if still else "done", ack.filled, ack.avg_price, ack.error)
    return ChildUpdate(cloid, "done", ack.filled, ack.avg_price, ack.error or s.value)


class VenueLink:
    """One algo's venue: quotes, placing, cancelling and looking up its children."""

    def __init__(self, reach: dict[str, Any], symbol: str, limits: Any, streams: Any = None) -> None:
        self.reach = reach
        self.symbol = symbol
        self.limits = limits
        self.streams = streams  # the session's LiveStreams (app/algos/streams.py), or None: REST
        self._session: Any = None
        self._trading: Any = None
        self.mark_streamed = False  # the last quote's mark came from the stream (no REST weight)

    @property
    def session(self) -> Any:
        if self._session is None:
            from perpcli.app.session import Session
            from perpcli.config import settings

            r = self.reach
            self._session = Session.open(settings.current(), venue=r.get("venue"), url=r.get("url"),
                                         network=r.get("network"), vault_address=r.get("vault_address"),
                                         account=r.get("account"))
        return self._session

    @property
    def trading(self) -> Any:
        if self._trading is None:
            self._trading = self.session.trading()
            if self.streams is not None:  # the session keeps this account's live model from its stream
                # With the keyed side: where the account's events need a socket opened with the key
                # (Aster's listenKey), the agent opens it, and closes it when the key is dropped.
                self.streams.follow_account(self.session.market, self._trading.account_address, self._trading)
        return self._trading

    def drop(self) -> None:
        """Forget the keyed side (the key is locked, or the connection is suspect)."""
        self._trading = None
        if self._session is not None:
            self._session.close()
        self._session = None

    def quote(self, *, with_mark: bool) -> Quote:
        """The touch from the venue's stream where the session streams it (raising while the
        stream is not fresh: the host pauses), else from a REST read. The mark likewise: the
        streamed one while its feed is fresh, else a REST read."""
        touch = self.streams.touch(self.session.market, self.symbol) if self.streams is not None else None
        if touch is None:
            book = self.session.market.book(self.symbol, depth=1)
            touch = (book.bids[0][0] if book.bids else None, book.asks[0][0] if book.asks else None)
        mark = None
        if with_mark:
            mark = self.streams.mark(self.session.market, self.symbol) if self.streams is not None else None
            self.mark_streamed = mark is not None
            if mark is None:
                mark = self.mark()
        return Quote(now_ms=time.time_ns() // 1_000_000, bid=touch[0], ask=touch[1], mark=mark)

    def mark(self) -> Decimal:
        # fresh: an adapter caches marks for one command's life; an algo lives longer than that
        (mp,) = self.session.market.mark_prices([self.symbol], fresh=True)
        return mp.mark_price

    def intent(self, p: Place) -> OrderIntent:
        return intent_for(self.session.venue, self.session.market.instrument(self.symbol), p)

    def check(self, intent: OrderIntent, mark: Decimal | None) -> None:
        """The [risk] guards `perp buy` applies (RiskRefused, exit 7 for a command)."""
        from perpcli.app.risk import OrderCheck, check_order

        price = intent.price if intent.order_type is OrderType.LIMIT else None
        basis = intent.price or intent.trigger_price or mark or Decimal(0)
        check_order(self.limits, OrderCheck(intent.symbol, intent.size * basis, price, mark,
                                            reduce_only=intent.reduce_only, side=intent.side))

    def place(self, intent: OrderIntent) -> Ack:
        return self.trading.submit([intent])[0]

    def cancel(self, cloid: str) -> bool:
        return bool(self.trading.cancel(CancelTarget(self.symbol, cloid=cloid)).ok)

    def status(self, cloid: str) -> Ack | None:
        return self.trading.order_status(cloid=cloid, market=self.symbol)
