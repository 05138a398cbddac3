"""The live WatchSource and Trader for one venue: stream session + books + account, and the app
layer's order actions.

What it holds (the TUI's read side of the store): a `BookSink` (net/sink.py) with one ledger
book per market fed by one `StreamSession` (net/stream.py); the recent public trades; marks
from the venue's asset contexts; the account snapshot. Account state is reconciled from a REST
snapshot on connect, after each reconnect, after every order action, and whenever the account
stream reports an order update or a fill (debounced), so the tables never drift from the
venue. Every change calls the listeners with a topic (see bridge.py); the bridge coalesces.

All network work happens in `run()` (an asyncio task the app starts as a worker) and in
`asyncio.to_thread` for the blocking REST client, so nothing here blocks the screen.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpcli.domain.events import (
    AccountSnapshot,
    ConnectionState,
    ConnectionStatus,
    Event,
    Fill,
    MarkPrice,
    OrderUpdate,
    Trade,
)
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import Order
from perpcli.ledger.book import OrderBook, SyncRule
from perpcli.net.stream import StreamSession, StreamSettings, Subscription
from perpcli.tui.widgets.account import StreamHealth
from perpcli.venues.live import LiveModel

log = logging.getLogger("perpcli.tui.live")

ZERO = Decimal(0)
TRADES_KEPT = 500
MARK_REFRESH_S = 2.0
ACCOUNT_REFRESH_S = 10.0
ACCOUNT_DEBOUNCE_S = 0.15


# ----------------------------------------------------------------------------- venue streams


def venue_streams(venue: str, account: str) -> tuple[Any, Callable[[str], list[Subscription]],
                                                     Callable[[str], list[Subscription]]]:
    """(protocol, market subscriptions, account subscriptions) from the venue's stream module.

    Every venue on the registry today speaks Hyperliquid's protocol (mainnet, testnet, devnet).
    """
    from perpcli.venues.hyperliquid import stream as hl  # venue code: only when streaming

    def market(coin: str) -> list[Subscription]:
        return [hl.book_subscription(coin), hl.trades_subscription(coin)]

    def user(address: str) -> list[Subscription]:
        return [hl.order_updates_subscription(address), hl.fills_subscription(address)]

    return hl.HyperliquidProtocol(venue=venue, account=account), market, user


# ----------------------------------------------------------------------------- the source


class LiveSource:
    """WatchSource over a live venue. Build, then `await run()` in a worker until cancelled."""

    def __init__(
        self,
        market_data: Any,
        *,
        ws_url: str,
        trading: Any = None,
        protocol: Any = None,
        settings: StreamSettings | None = None,
        markets: Sequence[str] = (),
    ) -> None:
        self.md = market_data
        self.venue: str = market_data.venue
        self.trading = trading
        self.ws_url = ws_url
        self.account_address = trading.account_address if trading is not None else ""
        default_protocol, self._market_subs, self._user_subs = venue_streams(self.venue, self.account_address)
        self.protocol = protocol or default_protocol
        # Books in sync plus facts deduplicated (trades and fills repeat after resubscribes).
        self.sink = LiveModel(on_new=self._on_event, on_status=self._on_status)
        self.session = StreamSession(ws_url, self.protocol, self.sink, name=f"{self.venue}-ws",
                                     settings=settings, on_reconnect=self._on_reconnect)
        self._instruments: dict[str, Instrument] = {}
        self._trades: dict[str, deque[Trade]] = {}
        self._marks: dict[str, MarkPrice] = {}
        self._latency_ms: dict[str, int] = {}
        self._snapshot: AccountSnapshot | None = None
        self._leverage: dict[str, tuple[int | None, bool]] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._wanted: list[str] = list(markets)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._account_due: asyncio.Event | None = None
        self.errors: deque[str] = deque(maxlen=20)
        # The venue's REST client keeps one connection and is not thread-safe; marks, account
        # reconciles and order actions run in different threads, so every REST call holds this.
        self.rest_lock = threading.Lock()

    # ----- WatchSource (reads; cheap, no I/O) ---------------------------------------------------

    def markets(self) -> list[str]:
        try:
            return [i.symbol for i in self.md.instruments()]
        except Exception as e:  # noqa: BLE001 - the palette shows what is known
            self.errors.append(f"markets: {e}")
            return list(self._instruments)

    def instrument(self, symbol: str) -> Instrument:
        inst = self._instruments.get(symbol)
        if inst is None:
            inst = self.md.instrument(symbol)  # cached by the adapter after the first load
            self._instruments[inst.symbol] = inst
            self._instruments[symbol] = inst
        return inst

    def book(self, symbol: str) -> OrderBook | None:
        return self.sink.books.get(("l2Book", symbol))

    def book_usable(self, symbol: str) -> bool:
        return self.sink.usable(("l2Book", symbol))

    def trades(self, symbol: str, limit: int) -> list[Trade]:
        trades = self._trades.get(symbol)
        if not trades:
            return []
        return list(trades)[:limit]

    def mark(self, symbol: str) -> MarkPrice | None:
        return self._marks.get(symbol)

    def account(self) -> AccountSnapshot | None:
        return self._snapshot

    def candles(self, symbol: str, interval: str, start_ms: int, end_ms: int) -> list[Any]:
        """Past candles from the venue (blocking REST: call it from a worker thread)."""
        with self.rest_lock:
            return list(self.md.candles(symbol, interval, start_ms, end_ms))

    def leverage(self, symbol: str) -> tuple[int | None, bool]:
        """The account's leverage setting for a market (None: the venue default)."""
        return self._leverage.get(symbol, (None, True))

    def streams(self) -> list[StreamHealth]:
        s = self.session
        out = [StreamHealth(f"{self.venue} ws", s.connection_state, _age_ms(s.age()), detail=s.stats.last_error)]
        for key, sub in list(s.subscriptions.items()):
            if key[0] != "l2Book":
                continue
            state = self.sink.stream_states.get(key, ConnectionState.DOWN)
            if s.connection_state is not ConnectionState.CONNECTED and state is ConnectionState.CONNECTED:
                state = ConnectionState.STALE
            out.append(StreamHealth(sub.name, state, _age_ms(s.age(key)), self._latency_ms.get(key[1])))
        return out

    def add_listener(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _notify(self, topic: str) -> None:
        for fn in self._listeners:
            fn(topic)

    # ----- subscriptions ------------------------------------------------------------------------

    def ensure_market(self, symbol: str) -> None:
        """Start streaming a market (safe before or after `run` started)."""
        if symbol not in self._wanted:
            self._wanted.append(symbol)
        if self._loop is not None:
            self._loop.create_task(self._subscribe_market(symbol))

    async def _subscribe_market(self, symbol: str) -> None:
        self.sink.add_book(("l2Book", symbol), self.venue, symbol, SyncRule.SNAPSHOTS_ONLY)
        self._trades.setdefault(symbol, deque(maxlen=TRADES_KEPT))
        for sub in self._market_subs(symbol):
            await self.session.subscribe(sub)

    # ----- the feed -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Stream until cancelled: books/trades over the socket, marks and account over REST."""
        self._loop = asyncio.get_running_loop()
        self._account_due = asyncio.Event()
        for symbol in list(self._wanted):
            await self._subscribe_market(symbol)
        if self.trading is not None and self.account_address:
            for sub in self._user_subs(self.account_address):
                await self.session.subscribe(sub)
            self._account_due.set()
        tasks = [
            asyncio.create_task(self._pump_books(), name="tui:books"),
            asyncio.create_task(self._poll_marks(), name="tui:marks"),
            asyncio.create_task(self._reconcile_account(), name="tui:account"),
        ]
        self.session.start()
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.session.aclose()

    async def _pump_books(self) -> None:
        """Latest-wins book views from the sink -> "book:<symbol>" topics (plus feed latency)."""
        async for batch in self.sink.views:
            now_ms = time.time_ns() // 1_000_000
            for view in batch.values():
                if view.book is None:
                    continue  # a feed without a book (orders, fills): its health goes via "status"
                symbol = view.book.symbol
                if view.book.time_ms:
                    self._latency_ms[symbol] = max(0, now_ms - view.book.time_ms)
                self._notify(f"book:{symbol}")

    async def _poll_marks(self) -> None:
        while True:
            try:
                marks = await asyncio.to_thread(self._fetch_marks)
            except Exception as e:  # noqa: BLE001 - keep polling; shown in the status line
                self.errors.append(f"marks: {e}")
                log.warning("%s marks: %s", self.venue, e)
            else:
                self._marks.update({m.symbol: m for m in marks})
                for m in marks:
                    if m.symbol in self._wanted or self._holds(m.symbol):
                        self._notify(f"mark:{m.symbol}")
            await asyncio.sleep(MARK_REFRESH_S)

    def _holds(self, symbol: str) -> bool:
        snap = self._snapshot
        return snap is not None and any(p.symbol == symbol and p.size for p in snap.positions)

    def _fetch_marks(self) -> list[MarkPrice]:
        with self.rest_lock:
            return self._fetch_marks_locked()

    def _fetch_marks_locked(self) -> list[MarkPrice]:
        fresh = getattr(self.md, "fresh_mark_prices", None)
        if fresh is not None:
            return list(fresh())
        # The adapter caches asset contexts for one-shot commands; a live view needs new ones.
        cache = getattr(self.md, "_meta_ctx", None)
        if isinstance(cache, dict):
            cache.pop("", None)
        return list(self.md.mark_prices(""))

    async def _reconcile_account(self) -> None:
        assert self._account_due is not None
        while True:
            if self.trading is None:
                return
            try:
                await asyncio.wait_for(self._account_due.wait(), ACCOUNT_REFRESH_S)
            except TimeoutError:
                pass
            self._account_due.clear()
            await asyncio.sleep(ACCOUNT_DEBOUNCE_S)  # a burst of fills -> one snapshot
            try:
                snap = await asyncio.to_thread(self._fetch_account)
            except Exception as e:  # noqa: BLE001 - keep the last snapshot, say why
                self.errors.append(f"account: {e}")
                log.warning("%s account: %s", self.venue, e)
                continue
            self._snapshot = snap
            self._notify("account")

    def _fetch_account(self) -> AccountSnapshot:
        with self.rest_lock:
            snap = self.trading.account()
            setting = getattr(self.trading, "asset_leverage", None)
            if setting is not None:
                for symbol in list(self._wanted):
                    self._leverage[symbol] = setting(symbol)
        return snap

    def request_account_refresh(self) -> None:
        """Reconcile the account soon (after an action, a fill, an order update)."""
        loop, due = self._loop, self._account_due
        if loop is None or due is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            due.set()
        else:
            loop.call_soon_threadsafe(due.set)

    async def _on_reconnect(self) -> None:
        self.request_account_refresh()

    def _on_event(self, event: Event) -> None:
        """A new fact from the account or trade feeds (duplicates already dropped)."""
        if isinstance(event, Trade):
            self._trades.setdefault(event.symbol, deque(maxlen=TRADES_KEPT)).appendleft(event)
            self._notify(f"trades:{event.symbol}")
        elif isinstance(event, (OrderUpdate, Fill)):
            self.request_account_refresh()

    def _on_status(self, status: ConnectionStatus) -> None:
        self._notify("status")
        if status.state is ConnectionState.CONNECTED:
            self.request_account_refresh()


def _age_ms(age_s: float) -> int | None:
    if age_s == float("inf"):
        return None
    return int(age_s * 1000)


# ----------------------------------------------------------------------------- the trader


@dataclass
class _VenueRef:
    """What app.actions needs of a session: the venue name and its keyless side."""

    venue: str
    market: Any


class LiveTrader:
    """Trader over app/actions.py (blocking REST; the app calls it from thread workers)."""

    def __init__(self, source: LiveSource, trading: Any, limits: Any) -> None:
        self.source = source
        self.trading = trading
        self.limits = limits
        self.session = _VenueRef(source.venue, source.md)

    def new_cloid(self) -> str:
        from perpcli.venues.hyperliquid.adapter import new_cloid

        return new_cloid()

    def check_risk(self, plan: Any) -> None:
        from perpcli.app import actions

        actions.check_risk(self.limits, plan)

    def needs_confirmation(self, notional: Decimal) -> bool:
        from perpcli.app.risk import needs_confirmation

        return needs_confirmation(self.limits, notional)

    def place(self, plan: Any) -> list[Any]:
        from perpcli.app import actions

        try:
            with self.source.rest_lock:
                return actions.place(self.session, self.trading, plan, dry_run=False).results
        finally:
            self.source.request_account_refresh()

    def cancel(self, orders: Sequence[Order]) -> list[Any]:
        from perpcli.app import actions

        targets = [(o.symbol, o.oid, None if o.oid is not None else o.cloid) for o in orders]
        by_oid = [t for t in targets if t[1] is not None]
        by_cloid = [t for t in targets if t[1] is None]
        out: list[Any] = []
        try:
            with self.source.rest_lock:
                for group in (by_oid, by_cloid):
                    if group:
                        results, _ = actions.cancel(self.trading, group, dry_run=False)
                        out.extend(results)
        finally:
            self.source.request_account_refresh()
        return out

    def cancel_all(self) -> list[Any]:
        from perpcli.app import actions

        try:
            with self.source.rest_lock:
                targets = [(o.symbol, o.oid, None) for o in self.trading.open_orders()]
                if not targets:
                    return []
                results, _ = actions.cancel(self.trading, targets, dry_run=False)
                return results
        finally:
            self.source.request_account_refresh()

    def close(self, symbol: str) -> list[Any]:
        from perpcli.app import actions

        try:
            with self.source.rest_lock:
                plan = actions.close_plan(self.session, self.trading, symbol, size=None, limit=None,
                                          slippage_pct=Decimal(1))
                return actions.place(self.session, self.trading, plan, dry_run=False).results
        finally:
            self.source.request_account_refresh()

    def flatten(self) -> list[Any]:
        from perpcli.app import actions

        out: list[Any] = []
        try:
            with self.source.rest_lock:
                targets = [(o.symbol, o.oid, None) for o in self.trading.open_orders()]
                if targets:
                    results, _ = actions.cancel(self.trading, targets, dry_run=False)
                    out.extend(results)
                for pos in actions.open_positions(self.trading):
                    plan = actions.close_plan(self.session, self.trading, pos.symbol, size=None, limit=None,
                                              slippage_pct=Decimal(1))
                    out.extend(actions.place(self.session, self.trading, plan, dry_run=False).results)
        finally:
            self.source.request_account_refresh()
        return out

