"""The live WatchSource and Trader for one venue: the ledger Store fed by a stream session, and
the app layer's order actions.

Everything the screen reads lives in one `ledger.store.Store`: books, trades and connection
health arrive through `net.sink.StoreSink` from one `StreamSession`; fills and order updates
from the account stream are folded into the store's Account; marks come from the venue's asset
contexts (REST, every 2 s); the Account is reconciled with a REST snapshot on connect, after
each reconnect, after every order action and every 10 s, so the tables never drift from the
venue. The store's coalescing change feed is drained once per loop turn into topics for the
bridge (see bridge.py), which coalesces again to the repaint rate.

With a `perp session` agent running (`attach`: how the agent reaches this venue), books, trades
and the account's events come from the agent's own venue connections instead (tui/attached.py):
the same frames, decoded and applied here by the same code. If the agent is gone or does not
stream this venue, the source opens its own sockets and says so in its stream line; streaming on
its own, it looks for an agent every few seconds and attaches to one that serves the venue, make
before break (`_try_attach`).

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
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import islice
from typing import Any, NamedTuple

from perpcli.app.collateral import in_margin_model_terms, uses_collateral_orders
from perpcli.domain.errors import UsageError
from perpcli.domain.events import (
    AccountSnapshot,
    Balance,
    BookDiff,
    BookSnapshot,
    ConnectionState,
    MarkPrice,
    PositionSnapshot,
    Trade,
)
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import Order, OrderStatus
from perpcli.ledger.account import Account
from perpcli.ledger.book import OrderBook
from perpcli.ledger.store import Store
from perpcli.net.sink import StoreSink
from perpcli.net.stream import FeedState, StreamSession, StreamSettings, SyncVerdict
from perpcli.tui import attached as session_feed
from perpcli.tui.widgets.account import StreamHealth
from perpcli.venues import live as live_venue
from perpcli.venues.base import CancelTarget, FundingRate, MarketData, Trading

log = logging.getLogger("perpcli.tui.live")

ZERO = Decimal(0)
TRADES_KEPT = 500
MARK_REFRESH_S = 2.0
ACCOUNT_REFRESH_S = 10.0
ACCOUNT_DEBOUNCE_S = 0.15
FUNDING_REFRESH_S = 15.0  # funding moves slowly; the board needs no more
ATTACH_EVERY_S = 3.0  # streaming on its own: how often to look for a session agent (or ask a refusing one again)
ATTACH_SYNC_S = 10.0  # how long an agent's streams may take to sync before the attempt is given up
# Orders a venue itself reports as not settled yet (a keeper-filled market order; a transaction
# not mined): the store keeps only live ones as open orders, so the view adds these back.
_VENUE_PENDING = frozenset({OrderStatus.PENDING, OrderStatus.UNKNOWN})


# ----------------------------------------------------------------------------- venue streams


# ----------------------------------------------------------------------------- the source


class _CountingStoreSink(StoreSink):
    """StoreSink that also counts book messages (the status line and bench/tui.py show the rate)."""

    def __init__(self, store: Store, venue: str) -> None:
        super().__init__(store, venue)
        self.book_messages = 0

    def apply(self, key: Any, events: Any) -> SyncVerdict:
        for event in events:
            if isinstance(event, (BookSnapshot, BookDiff)):
                self.book_messages += 1
        return super().apply(key, events)


class _AccountStoreSink(StoreSink):
    """StoreSink for an account socket: its facts go to the store; its connection health is
    kept to itself (shown as its own stream line), because `Store.venue_healthy` gates the
    venue's books on every connection it knows and an account socket never prices an order."""

    def __init__(self, store: Store, venue: str, on_fact: Callable[[], None]) -> None:
        super().__init__(store, venue)
        self._on_fact = on_fact

    def apply(self, key: Any, events: Any) -> SyncVerdict:
        verdict = super().apply(key, events)
        if events:
            self._on_fact()  # the venue's positions (liquidation price...) follow over REST
        return verdict

    def status(self, key: Any, status: Any) -> None:
        if key is not None:
            super().status(key, status)


class _Streams(NamedTuple):
    """A source's connections: the market session, the account's own (if any), what that one
    subscribes, and the sink the market session writes through."""

    session: StreamSession
    account_session: StreamSession | None
    account_subs: tuple[Any, ...]
    sink: _CountingStoreSink


def snapshot_view(acct: Account, time_ms: int = 0) -> AccountSnapshot:
    """The store's Account as the read model the panels take (positions, orders, cash)."""
    positions = tuple(
        PositionSnapshot(
            p.symbol, p.size, p.entry_price or Decimal(0), p.margin_mode, p.leverage,
            p.isolated_margin or None, funding_since_open=-p.funding,  # Account: > 0 received
        )
        for p in acct.positions.values() if p.size
    )
    # Every balance the account holds: the preview picks the market's quote (collateral) asset.
    balances = tuple(Balance(asset, total) for asset, total in acct.balances.items()) or (Balance(acct.quote, acct.cash),)
    return AccountSnapshot(acct.venue, acct.account, time_ms, balances=balances,
                           positions=positions, open_orders=tuple(acct.open_orders()), reserved=acct.reserved)


class LiveSource:
    """WatchSource over a live venue. Build, then `await run()` in a worker until cancelled.

    Its account, marks and funding side serves every venue; the book stream is what a venue
    without a book (tui/oracle_source.py) replaces."""

    has_book = True
    attach_every = ATTACH_EVERY_S

    def __init__(
        self,
        market_data: MarketData,
        *,
        trading: Trading | None = None,
        protocol: Any = None,
        settings: StreamSettings | None = None,
        markets: Sequence[str] = (),
        store: Store | None = None,
        attach: dict[str, str] | None = None,
    ) -> None:
        self.md = market_data
        self.venue: str = market_data.venue
        self.trading = trading
        self.account_address = trading.account_address if trading is not None else ""
        # One store for every venue on screen (the app passes it in); this source writes its
        # venue's keys and reads only those.
        self.store = store if store is not None else Store(trades_kept=TRADES_KEPT)
        self._feed = self.store.subscribe(notify=self._store_changed)
        self._drain_scheduled = False
        self.account_session: StreamSession | None = None
        self._settings = settings
        self._reach = attach  # venue, url, network: how the session agent opens this venue
        # Streaming through the session agent (while it serves this venue; see _follow_session).
        self.attached = attach is not None and session_feed.available()
        self.stream_note = ""  # why the source streams on its own although a session was asked
        self._specs: dict[Any, tuple[str, str]] = {}  # subscription key -> (LiveFeed member, argument)
        self._account_subs: tuple[Any, ...] = ()
        self._attach_stream(protocol, settings)
        self._instruments: dict[str, Instrument] = {}
        self._latency_ms: dict[str, int] = {}
        self._reconciled = False  # the Account has seen one REST snapshot: show it from then on
        self._unsettled: tuple[Order, ...] = ()  # orders the venue reports pending (Ostium's keeper)
        self._account_key = self.account_address
        self._leverage: dict[str, tuple[int | None, bool]] = {}
        self._fees: Any = None  # the account's fee rates, read once by the account worker
        self._fees_unknown = False  # the venue has no account fee rates to read
        self._rules: dict[str, Any] = {}
        self._funding: dict[str, FundingRate] = {}
        self.funding_error = ""
        self.account_read_ms = 0  # when the venue last confirmed the account (local clock)
        self._listeners: list[Callable[[str], None]] = []
        self._wanted: list[str] = list(markets)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._account_due: asyncio.Event | None = None
        self.errors: deque[str] = deque(maxlen=20)
        # The REST client serialises single requests itself. This lock serialises whole order
        # actions (cancel-all lists then cancels; flatten cancels then closes), so two actions
        # started from the keyboard never interleave their steps. Reads do not take it.
        self.action_lock = threading.Lock()

    def _attach_stream(self, protocol: Any, settings: StreamSettings | None) -> None:
        """The venue's book, trade and account streams, into the store."""
        self.feed = self.md.live_feed(self.account_address)  # protocol + subscriptions, as data
        self.ws_url = self.feed.ws_url
        self.protocol = protocol or self.feed.protocol
        self._book_keys: set[Any] = set()
        self.sink = _CountingStoreSink(self.store, self.venue)
        self.store.book_rules[self.venue] = self.feed.book_sync_rule  # the venue's continuity rule
        self._open_sessions(settings)

    def _open_sessions(self, settings: StreamSettings | None) -> None:
        """The market session (and the account's, where it has its own), through the session
        agent while attached, else on sockets of our own."""
        self.session, self.account_session, self._account_subs, _ = self._build_streams(
            self.attached, self.sink, self.store, settings)

    def _build_streams(self, via_agent: bool, sink: _CountingStoreSink, store: Store,
                       settings: StreamSettings | None, trial: Callable[[Any], Any] | None = None) -> _Streams:
        """The streams into `store` (not started): through the session agent, or on our own sockets.
        `trial` wraps the agent connectors of streams on trial (see `_try_attach`)."""
        # Venues that keep account events off the market socket give them their own (Aster's
        # listenKey stream): a second session into the same store, reconciled the same way.
        # Attached, the agent opens it with the key it holds, and this process decodes its frames.
        socket = live_venue.account_socket(self.feed, self.trading) if self.trading is not None else None
        account_sink = _AccountStoreSink(store, self.venue, self.request_account_refresh)
        if via_agent:
            hello = {**(self._reach or {}), "ws_url": self.ws_url}

            def connector(account: str) -> Any:
                connect = session_feed.connector({**hello, "account": account})
                return trial(connect) if trial is not None else connect

            # Named as its own sockets would be: the store's health of the venue is per stream name,
            # so a fallback's own socket takes the attached one's place there.
            session = StreamSession(
                self.ws_url, session_feed.AttachedProtocol(self.protocol, self._specs), sink,
                name=f"{self.venue}-ws", settings=settings, on_reconnect=self._on_reconnect,
                snapshot_fetcher=self.feed.snapshot, connector=connector(""))
            if self.trading is None or not self.account_address:
                return _Streams(session, None, (), sink)
            # One connection of the agent's per account: the venue's market socket carrying
            # that account's channels, or the account's own socket (Aster's listenKey).
            if socket is None:
                subs, inner = self._account_feeds(), self.protocol
            else:
                subs, inner = (socket.subscription,), socket.protocol
                self._specs[socket.subscription.key] = ("account", self.account_address)
            account = StreamSession(
                self.ws_url, session_feed.AttachedProtocol(inner, self._specs), account_sink,
                name=f"{self.venue}-account", settings=settings, on_reconnect=self._on_reconnect,
                connector=connector(self.account_address)) if subs else None
            return _Streams(session, account, subs, sink)
        session = StreamSession(self.ws_url, self.protocol, sink, name=f"{self.venue}-ws",
                                settings=settings, on_reconnect=self._on_reconnect,
                                snapshot_fetcher=self.feed.snapshot)
        if socket is None:
            return _Streams(session, None, (), sink)
        account = live_venue.account_session(socket, account_sink, name=f"{self.venue}-account",
                                             settings=settings, on_reconnect=self._on_reconnect)
        return _Streams(session, account, (socket.subscription,), sink)

    def _account_feeds(self) -> tuple[Any, ...]:
        """The account's order updates and fills on the venue's socket (none: REST alone keeps it)."""
        try:
            subs = (self.feed.orders(self.account_address), self.feed.fills(self.account_address))
        except UsageError as e:  # no account stream: REST snapshots alone keep the account
            self.errors.append(f"account stream: {e}")
            return ()
        self._specs[subs[0].key] = ("orders", self.account_address)
        self._specs[subs[1].key] = ("fills", self.account_address)
        return subs

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
        return self.store.books.get((self.venue, symbol))

    def book_usable(self, symbol: str) -> bool:
        return self.store.usable_book(self.venue, symbol) is not None

    def trades(self, symbol: str, limit: int) -> list[Trade]:
        """Newest first (the store holds each print once, a resubscribe's re-sends dropped)."""
        ring = self.store.trades.get((self.venue, symbol))
        return list(islice(reversed(ring), limit)) if ring else []

    def mark(self, symbol: str) -> MarkPrice | None:
        return self.store.marks.get((self.venue, symbol))

    def account(self) -> AccountSnapshot | None:
        """The store's Account (stream-folded, REST-reconciled), once it has been reconciled."""
        if not self._reconciled:
            return None
        acct = self.store.accounts.get((self.venue, self._account_key))
        if acct is None:
            return None
        view = snapshot_view(acct)
        return replace(view, open_orders=view.open_orders + self._unsettled) if self._unsettled else view

    def candles(self, symbol: str, interval: str, start_ms: int, end_ms: int) -> list[Any]:
        """Past candles from the venue (blocking REST: call it from a worker thread)."""
        return list(self.md.candles(symbol, interval, start_ms, end_ms))

    def leverage(self, symbol: str) -> tuple[int | None, bool]:
        """The account's leverage setting for a market (None: the venue default)."""
        return self._leverage.get(symbol, (None, True))

    def margin_rules(self, symbol: str) -> Any:
        """The venue's margin rules for a market (built by the adapter; kept per market)."""
        rules = self._rules.get(symbol)
        if rules is None:
            rules = self._rules[symbol] = self.md.margin_rules(self.instrument(symbol))
        return rules

    def fees(self) -> Any:
        """The account's fee rates once the account worker has read them, else the venue's
        public schedule (which the preview labels as such)."""
        return self._fees if self._fees is not None else self.md.default_fees()

    def streams(self) -> list[StreamHealth]:
        s = self.session
        label = f"{self.venue} via session" if self.attached else f"{self.venue} ws"
        out = [StreamHealth(label, s.connection_state, _age_ms(s.age()), detail=s.stats.last_error or self.stream_note)]
        a = self.account_session
        if a is not None:
            out.append(StreamHealth(f"{self.venue} account", a.connection_state, None, detail=a.stats.last_error))
        for key, sub in list(s.subscriptions.items()):
            if key not in self._book_keys:
                continue
            state = self.sink.feed_states.get(key, ConnectionState.DOWN)
            if s.connection_state is not ConnectionState.CONNECTED and state is ConnectionState.CONNECTED:
                state = ConnectionState.STALE
            out.append(StreamHealth(sub.name, state, _age_ms(s.age(key)), self._latency_ms.get(self._book_symbol(key))))
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

    async def _subscribe_market(self, symbol: str, on: _Streams | None = None) -> None:
        on = self._current() if on is None else on
        book, trades = self.feed.book(symbol), self.feed.trades(symbol)
        self._book_keys.add(book.key)
        self._specs[book.key] = ("book", symbol)
        self._specs[trades.key] = ("trades", symbol)
        on.sink.track_book(book.key, symbol)
        for sub in (book, trades):
            await on.session.subscribe(sub)

    def _current(self) -> _Streams:
        return _Streams(self.session, self.account_session, self._account_subs, self.sink)

    def _book_symbol(self, key: Any) -> str | None:
        where = self.sink.feed_books.get(key)
        return where[1] if where is not None else None

    # ----- the feed -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Stream until cancelled: books/trades over the socket, marks and account over REST."""
        self._loop = asyncio.get_running_loop()
        self._account_due = asyncio.Event()
        self.store.set_instruments(self.venue, self.md.instruments())  # cached by the adapter
        await self._subscribe_all()
        if self.trading is not None and self.account_address:
            self._account_due.set()
        tasks = self._background()
        self._start_sessions()
        if self._reach is not None:  # through the session agent whenever one serves this venue
            tasks.append(asyncio.create_task(self._follow_session(), name=f"tui:session:{self.venue}"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.session.aclose()
            if self.account_session is not None:
                await self.account_session.aclose()

    async def _subscribe_all(self, on: _Streams | None = None) -> None:
        on = self._current() if on is None else on
        for symbol in list(self._wanted):
            await self._subscribe_market(symbol, on)
        if self.trading is None or not self.account_address:
            return
        if on.account_session is not None:
            for sub in on.account_subs:
                await on.account_session.subscribe(sub)
        else:
            for sub in self._account_feeds():
                await on.session.subscribe(sub)

    def _start_sessions(self) -> list[asyncio.Task]:
        return [s.start() for s in (self.session, self.account_session) if s is not None]

    async def _follow_session(self) -> None:
        """Through the session agent while it serves this venue; on our own sockets otherwise,
        looking for an agent (a new one, or the one that came back) every `attach_every`: the
        socket file first, then one attempt."""
        while True:
            if self.attached:
                if not await self._keep_attached():
                    return  # closed on purpose
            else:
                await asyncio.sleep(self.attach_every)
                if not session_feed.available():
                    continue
                try:
                    await self._try_attach()
                except Exception as e:  # noqa: BLE001 - our own sockets stream on; say why, try again later
                    self._on_own(f"cannot attach to the session: {type(e).__name__}: {e}")

    async def _keep_attached(self) -> bool:
        """While attached: if the session agent goes (or cannot serve this venue), stream on our
        own at once, so the screen never sits on data nobody updates. False: closed on purpose."""
        runners = [s.start() for s in (self.session, self.account_session) if s is not None]
        await asyncio.wait(runners, return_when=asyncio.FIRST_COMPLETED)
        failed = next((s.failure for s in (self.session, self.account_session) if s is not None and s.failure), None)
        if failed is None:
            return False
        await self._fall_back(str(failed))
        return True

    async def _fall_back(self, reason: str) -> None:
        old = [s for s in (self.session, self.account_session) if s is not None]
        self.attached = False
        self._on_own(reason)
        for s in old:
            await s.aclose()
        self._open_sessions(self._settings)
        await self._subscribe_all()
        self._start_sessions()
        self.request_account_refresh()  # whatever happened while switching: the venue says

    def _on_own(self, reason: str) -> None:
        """Say why the venue streams on its own (the status line, the errors, the log), once per reason."""
        note = f"own stream: {reason}"
        if note != self.stream_note:
            self.stream_note = note
            self.errors.append(f"{self.venue}: {note}")
            log.warning("%s: %s", self.venue, note)

    async def _try_attach(self) -> None:
        """Make before break: the agent's streams open beside our own, into a store of their own,
        and take over only once every book on them is in sync (see `_take_over`), so the screen
        never shows data nobody updates. A refusal, a stream the agent drops, or one not in sync
        within ATTACH_SYNC_S leaves our own sockets as they are and says why; the next attempt
        is `attach_every` away (a trial connector never asks the agent twice)."""
        staging = Store(book_rules=dict(self.store.book_rules), trades_kept=self.store.trades_kept)
        trials: list[session_feed.Trial] = []

        def on_trial(connect: Any) -> session_feed.Trial:
            trials.append(session_feed.Trial(connect))
            return trials[-1]

        new = self._build_streams(True, _CountingStoreSink(staging, self.venue), staging, self._settings, on_trial)
        candidates = [s for s in (new.session, new.account_session) if s is not None]
        old: list[StreamSession] = []  # once `new` took over: the streams it replaced
        try:
            await self._subscribe_all(new)
            for s in candidates:
                s.start()
            why = await self._trial_outcome(new, trials)
            if why:
                self._on_own(why)
                return
            old = self._take_over(new, staging)
            for t in trials:
                t.taken = True  # from now on it reconnects through the agent, as attached streams do
        finally:  # shielded: a watch closing meanwhile leaves no socket open
            await asyncio.shield(asyncio.gather(*(s.aclose() for s in (old or candidates))))
        log.info("%s: streaming through the session", self.venue)
        await self._subscribe_all()  # markets opened while the agent's streams were syncing
        self.request_account_refresh()  # whatever happened while switching: the venue says

    async def _trial_outcome(self, new: _Streams, trials: Sequence[session_feed.Trial]) -> str:
        """'' once the agent's streams are connected and every book on them is in sync; else why not."""
        sessions = [s for s in (new.session, new.account_session) if s is not None]
        deadline = time.monotonic() + ATTACH_SYNC_S
        while True:
            why = next((t.refusal for t in trials if t.refusal), "") or next(
                (str(s.failure) for s in sessions if s.failure is not None), "")
            if why:
                return why
            books = [k for k in self._book_keys if k in new.session.subscriptions]
            if all(s.connection_state is ConnectionState.CONNECTED for s in sessions) and all(
                    new.session.feed_states.get(k) is FeedState.LIVE for k in books):
                return ""
            if time.monotonic() >= deadline:
                return f"the session's streams were not in sync within {ATTACH_SYNC_S:g}s"
            await asyncio.sleep(0.05)

    def _take_over(self, new: _Streams, staging: Store) -> list[StreamSession]:
        """Switch to `new` in one step (no await in here): its in-sync books, as they are, and the
        prints it saw move into the shared store; the old streams' sinks now write into the
        staging store, so their closing marks nothing here stale; `new` writes here from its next
        frame. Returns the old streams, for the caller to close."""
        old = [s for s in (self.session, self.account_session) if s is not None]
        for s in old:
            s.sink.store = staging  # type: ignore[attr-defined] - StoreSinks, all of them
        for where in set(new.sink.feed_books.values()):
            book = staging.books.pop(where, None)
            if book is not None:
                self.store.books[where] = book
                self.store.mark_book_changed(*where)
        for ring in staging.trades.values():
            for trade in ring:
                self.store.apply(trade)  # each print once: the store drops those it holds
        for s in (new.session, new.account_session):
            if s is not None:
                s.sink.store = self.store  # type: ignore[attr-defined]
        status = staging.connections.get((self.venue, new.session.name))
        if status is not None:
            self.store.apply(status)
        new.sink.book_messages = self.sink.book_messages
        self.session, self.account_session, self._account_subs, self.sink = new
        self.attached, self.stream_note = True, ""
        return old

    # ----- the store's change feed -> topics ------------------------------------------------------

    def _store_changed(self) -> None:
        """Edge-triggered by the store inside `apply`: drain once, at the end of this loop turn."""
        if self._drain_scheduled:
            return
        self._drain_scheduled = True
        loop = self._loop
        if loop is None:
            self._drain()
        else:
            loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        now_ms = time.time_ns() // 1_000_000
        for key in self._feed.poll():
            if len(key) < 2 or key[1] != self.venue:
                continue  # another venue's change: its own source reports it
            kind = key[0]
            if kind == "book":
                symbol = key[2]
                book = self.store.books.get((self.venue, symbol))
                if book is not None and book.time_ms:
                    self._latency_ms[symbol] = max(0, now_ms - book.time_ms)
                self._notify(f"book:{symbol}")
            elif kind in ("trades", "mark"):
                self._notify(f"{kind}:{key[2]}")
            elif kind == "account":
                self._notify("account")
            elif kind == "conn":
                self._notify("status")

    def _background(self) -> list[asyncio.Task]:
        """The REST pollers beside the market feed: marks, the account, funding."""
        return [
            asyncio.create_task(self._poll_marks(), name=f"tui:marks:{self.venue}"),
            asyncio.create_task(self._reconcile_account(), name=f"tui:account:{self.venue}"),
            asyncio.create_task(self._poll_funding(), name=f"tui:funding:{self.venue}"),
        ]

    def funding_rates(self) -> dict[str, FundingRate]:
        """The venue's funding per market, as last polled (empty until the first answer)."""
        return dict(self._funding)

    async def _poll_funding(self) -> None:
        """Funding for every market of the venue (one REST call), for the funding board."""
        while True:
            try:
                rates = await asyncio.to_thread(self.md.funding)
            except Exception as e:  # noqa: BLE001 - the board says why this venue has no rates
                self.funding_error = str(e).splitlines()[0] if str(e) else type(e).__name__
            else:
                self._funding = {r.symbol: r for r in rates}
                self.funding_error = ""
                self._notify("funding")
            await asyncio.sleep(FUNDING_REFRESH_S)

    async def _poll_marks(self) -> None:
        while True:
            try:
                marks = await asyncio.to_thread(self._fetch_marks, self.mark_symbols())
            except Exception as e:  # noqa: BLE001 - keep polling; shown in the status line
                self.errors.append(f"marks: {e}")
                log.warning("%s marks: %s", self.venue, e)
            else:
                for m in marks:
                    self.store.apply(m)
            await asyncio.sleep(MARK_REFRESH_S)

    def mark_symbols(self) -> list[str]:
        """The markets whose marks the screen values something at: every open tab's, and every
        market the account holds a position in — the positions table and the portfolio show
        each position at its mark, tab or no tab. Read on the loop (the store is not shared
        with the fetching thread)."""
        symbols = list(self._wanted)
        acct = self.store.accounts.get((self.venue, self._account_key))
        if acct is not None:
            symbols.extend(s for s, p in acct.positions.items() if p.size and s not in symbols)
        return symbols

    def _fetch_marks(self, symbols: list[str]) -> list[MarkPrice]:
        # A live view needs new marks each time (one-shot commands may use the adapter's cache).
        return list(self.md.mark_prices(symbols or None, fresh=True))

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
            self._account_key = snap.account  # the venue's spelling: stream events use the same
            self.account_read_ms = time.time_ns() // 1_000_000
            self._unsettled = tuple(o for o in snap.open_orders if o.status in _VENUE_PENDING)
            self.store.reconcile(snap)  # the venue's truth wins; the store's feed says "account"
            self._reconciled = True

    def _fetch_account(self) -> AccountSnapshot:
        snap = self.trading.account()
        if uses_collateral_orders(getattr(self.md, "capabilities", None)):  # the wallet, and each trade's collateral
            snap = in_margin_model_terms(snap)
        if self._fees is None and not self._fees_unknown:
            try:
                self._fees = self.trading.fee_rates()  # cached by the adapter: asked once
            except UsageError as e:  # the venue cannot say (Ostium: per pair and trade): not asked again
                self._fees_unknown = True
                self.errors.append(f"fees: {e}")
        for symbol in list(self._wanted):
            setting = self.trading.leverage_setting(symbol)
            self._leverage[symbol] = (setting.leverage, setting.cross)
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
        return self.source.md.new_client_id()

    def check_risk(self, plan: Any) -> None:
        from perpcli.app import actions

        actions.check_risk(self.limits, plan)

    def needs_confirmation(self, notional: Decimal) -> bool:
        from perpcli.app.risk import needs_confirmation

        return needs_confirmation(self.limits, notional)

    def place(self, plan: Any) -> list[Any]:
        from perpcli.app import actions

        try:
            with self.source.action_lock:
                return actions.place(self.session, self.trading, plan, dry_run=False,
                                     bracket_policy=self.limits.on_bracket_failure).results
        finally:
            self.source.request_account_refresh()

    def cancel(self, orders: Sequence[Order]) -> list[Any]:
        from perpcli.app import actions

        targets = [CancelTarget(o.symbol, oid=o.oid) if o.oid is not None else CancelTarget(o.symbol, cloid=o.cloid)
                   for o in orders]
        by_oid = [t for t in targets if t.oid is not None]
        by_cloid = [t for t in targets if t.oid is None]
        out: list[Any] = []
        try:
            with self.source.action_lock:
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
            with self.source.action_lock:
                targets = actions.targets_for_all(self.trading.open_orders())
                if not targets:
                    return []
                results, _ = actions.cancel(self.trading, targets, dry_run=False)
                return results
        finally:
            self.source.request_account_refresh()

    def close(self, symbol: str) -> list[Any]:
        from perpcli.app import actions

        try:
            with self.source.action_lock:
                plan = actions.close_plan(self.session, self.trading, symbol, size=None, limit=None,
                                          slippage_pct=Decimal(1))
                return actions.place(self.session, self.trading, plan, dry_run=False).results
        finally:
            self.source.request_account_refresh()

    def flatten(self) -> list[Any]:
        from perpcli.app import actions

        out: list[Any] = []
        try:
            with self.source.action_lock:
                targets = actions.targets_for_all(self.trading.open_orders())
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

