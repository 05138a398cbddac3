"""The session agent's live market data: one websocket stream per venue, into one Store.

Algos in the agent read the touch from here instead of asking the venue over REST each step.
Each venue gets one `StreamSession` (the same machinery the TUI and `perp stream` use: reconnect,
STALE detection, book resync) writing through a `StoreSink` into the agent's one `Store`; a
market's book is subscribed the first time an algo trades it.

The rule that keeps algos honest: a touch is handed out only while the venue's connection and
that market's book feed are both CONNECTED and the book is in sync (`Store.usable_book`), or,
when they are only silent past `stream.stale_after_seconds` (STALE: a quiet market), after one
REST read of the venue's book agrees with it. Anything else (RECONNECTING, DOWN, a book awaiting
its snapshot, a silent book the venue contradicts) raises `NotFresh`, which the host turns into
a pause; the first fresh read resumes the algo after looking its children up. A quiet book must
not pause an algo: a trailing stop watches the mark, which moves with the oracle while the book
sleeps.
A venue without a stream (its adapter has no websocket feed) gets None: the algo reads REST, as
without a session.

The streams run on their own asyncio loop in one thread; algo threads read through
`run_coroutine_threadsafe`, so the books are only ever touched on that loop.

`perp watch` attaches to these same connections (`attach`, app/feed_taps.py): each client gets
the frames of what it subscribed, and the agent keeps one connection per venue for everyone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perpcli.app import feed_taps
from perpcli.domain.errors import NetworkError
from perpcli.domain.events import ConnectionState
from perpcli.ledger.book import BookState
from perpcli.ledger.store import Store
from perpcli.net.sink import StoreSink
from perpcli.net.stream import FeedState, Resync, StreamSession, StreamSettings

FIRST_BOOK_WAIT_S = 5.0  # a market just subscribed: how long the first read waits for its book
READ_TIMEOUT_S = 2.0
ACCOUNT_RECONCILE_S = 10.0  # how often the live account model is checked against a REST snapshot
ATTACH_WAIT_S = 3.0  # a client attaching while the venue connection opens: how long it waits for it


class NotFresh(NetworkError):
    """The venue's stream cannot vouch for the book right now: pause, never trade on it."""


SILENT = "stale"


@dataclass(frozen=True)
class _Read:
    touch: tuple[Decimal | None, Decimal | None] | None
    word: str | None  # None: fresh; SILENT: in sync but quiet past stale_after; else why not usable


def _verified(market: Any, symbol: str, touch: Any, venue: str) -> tuple[Decimal | None, Decimal | None]:
    """A silent stream's touch, if the venue's REST book agrees with it."""
    book = market.book(symbol, depth=1)
    rest = (book.bids[0][0] if book.bids else None, book.asks[0][0] if book.asks else None)
    if rest != touch:
        raise NotFresh(f"{venue} {symbol} stream stale: its touch {_fmt(touch)} is not the venue's {_fmt(rest)}")
    return rest


def _fmt(touch: Any) -> str:
    return "/".join("-" if p is None else str(p) for p in touch)


class _TappedSink(StoreSink):
    """StoreSink that also tells the connection's attached clients when it drops."""

    def __init__(self, store: Store, venue: str, taps: feed_taps.Taps) -> None:
        super().__init__(store, venue)
        self.taps = taps

    def status(self, key: Any, status: Any) -> None:
        if key is None:
            self.taps.connection(status.state, status.detail)
        super().status(key, status)


class _AccountSink(_TappedSink):
    """StoreSink for an account stream: facts into the store; its connection health kept off
    the store's venue health (which gates the venue's books: an account socket prices nothing)."""

    def status(self, key: Any, status: Any) -> None:
        if key is not None:
            StoreSink.status(self, key, status)
        else:
            self.taps.connection(status.state, status.detail)


@dataclass
class _AccountStream:
    venue: str
    address: str
    session: StreamSession
    kinds: dict[str, Any] = field(default_factory=dict)  # what a client may subscribe: name -> f(address)
    taps: feed_taps.Taps = field(default_factory=feed_taps.Taps)
    keyed: bool = False  # an authenticated socket, opened with the held key (closed by drop_keyed)
    reconciler: Any = None  # the task keeping the model reconciled with REST snapshots


@dataclass
class _VenueStream:
    venue: str
    ws_url: str
    feed: Any
    sink: StoreSink
    session: StreamSession
    market: Any  # the agent's shared MarketData the stream was opened for
    taps: feed_taps.Taps = field(default_factory=feed_taps.Taps)  # attached `perp watch` clients
    books: dict[str, Hashable] = field(default_factory=dict)  # symbol -> subscription key
    marks: dict[str, Hashable] = field(default_factory=dict)  # symbol -> its mark feed's key


class LiveStreams:
    """The agent's streams and their Store. `start()` once; `close()` at the end."""

    def __init__(self, settings: StreamSettings | None = None) -> None:
        self.settings = settings
        self.store = Store()
        self._venues: dict[str, _VenueStream] = {}
        self._accounts: dict[tuple[str, str], _AccountStream | None] = {}  # None: not streamable
        self._no_stream: set[str] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ----- life -----------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="session-streams", daemon=True)
        self._thread.start()

    def close(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._loop = None

        async def close_all() -> None:
            for vs in list(self._venues.values()):
                await vs.session.aclose()
            for acc in list(self._accounts.values()):
                if acc is not None:
                    if acc.reconciler is not None:
                        acc.reconciler.cancel()
                    await acc.session.aclose()

        try:
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)
        except Exception:  # noqa: BLE001, S110 - closing anyway: the process is ending
            pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ----- what algos call ------------------------------------------------------------------

    def touch(self, market: Any, symbol: str) -> tuple[Decimal | None, Decimal | None] | None:
        """The best bid and ask of `symbol` from the venue's stream (None where the venue has no
        stream: read REST). Raises NotFresh when the stream cannot vouch for them.

        A feed that is only silent (STALE while its book is still in sync: a quiet market, a
        venue that pushes a book only when it changes) is checked against one REST read of the
        venue's book: the same touch is used; a different one means the stream missed something,
        and the algo pauses. A connection that is down or reconnecting, or a book awaiting its
        snapshot, always pauses."""
        vs, fresh = self._ensure(market, symbol)
        if vs is None:
            return None
        deadline = time.monotonic() + (FIRST_BOOK_WAIT_S if fresh else 0)
        while True:
            read = self._call(self._read_touch(vs, symbol))
            if read.word is None:
                return read.touch
            if read.word == SILENT:
                return _verified(market, symbol, read.touch, vs.venue)
            if time.monotonic() >= deadline:
                raise NotFresh(f"{vs.venue} {symbol} stream {read.word}")
            time.sleep(0.02)

    def mark(self, market: Any, symbol: str) -> Decimal | None:
        """The mark of `symbol` from the venue's stream while that feed is live and heard from
        within `stream.stale_after_seconds`; else None, and the algo reads the venue's REST mark
        (a mark feed just subscribed, down, reconnecting or silent is never used). None too
        where the venue's feed has no mark channel."""
        vs, _ = self._ensure(market, None)
        if vs is None or getattr(vs.feed, "marks", None) is None:  # LiveFeed.marks: None, no mark stream
            return None
        with self._lock:
            if symbol not in vs.marks:
                self._call(self._subscribe_mark(vs, symbol))
        return self._call(self._read_mark(vs, symbol))

    def follow_account(self, market: Any, address: str, trading: Any = None) -> None:
        """Keep the live account model of `address` on this venue in the store: its order updates
        and fills from the venue's stream, reconciled with a REST snapshot once its feeds are live,
        after every reconnect and every ACCOUNT_RECONCILE_S.
        Read with a keyless reader (the address alone): the stream never holds a key past a lock.
        Venues whose account events need an authenticated socket (Aster's listenKey), or whose
        account reads are signed, are left to REST, unless `trading` (the held key's keyed side)
        is given: then the authenticated socket is opened with it, and `drop_keyed` closes it
        when the key is dropped."""
        venue = market.venue
        with self._lock:
            known = self._accounts.get((venue, address), False)
            if self._loop is None or venue in self._no_stream or known or (known is None and trading is None):
                return
            self._accounts[(venue, address)] = None
            socket = None
            try:
                feed = market.live_feed(address)
                build = getattr(feed, "account_socket", None)
                if build is not None and trading is not None:
                    socket = build(trading)
                    reader, subs = trading, (socket.subscription,)
                elif build is not None or market.capabilities.signed_reads:
                    return
                else:
                    from perpcli.keys import sources

                    reader = market.trading(sources.resolve_reader(address=address))
                    subs = (feed.orders(address), feed.fills(address))
            except Exception:  # noqa: BLE001 - no account stream here: algos look their orders up over REST
                return
            store = self.store

            async def reconcile() -> None:
                try:
                    snap = await asyncio.to_thread(reader.account)
                except Exception:  # noqa: BLE001 - the stream's facts stand; the next reconnect tries again
                    return
                store.reconcile(snap)

            taps = feed_taps.Taps()
            if socket is None:
                session = StreamSession(feed.ws_url, feed_taps.TeeProtocol(feed.protocol, taps),
                                        _AccountSink(store, venue, taps), name=f"{venue}-account",
                                        settings=self.settings, on_reconnect=reconcile)
                kinds = {"orders": feed.orders, "fills": feed.fills}
            else:
                session = StreamSession(socket.ws_url, feed_taps.TeeProtocol(socket.protocol, taps),
                                        _AccountSink(store, venue, taps), name=f"{venue}-account",
                                        settings=self.settings, on_reconnect=reconcile, connector=socket.connector)
                kinds = {"account": lambda _address, sub=socket.subscription: sub}
            acc = self._accounts[(venue, address)] = _AccountStream(venue, address, session, kinds, taps,
                                                                    keyed=socket is not None)
            self._call(self._open_account(acc, subs, reconcile))

    async def _open_account(self, acc: _AccountStream, subs: Any, reconcile: Any) -> None:
        for sub in subs:
            await acc.session.subscribe(sub)
        acc.session.start()
        acc.reconciler = asyncio.get_running_loop().create_task(self._keep_reconciled(acc, reconcile))

    async def _keep_reconciled(self, acc: _AccountStream, reconcile: Any) -> None:
        """The first snapshot once the account feeds are live (an order placed while they were
        still subscribing is then in the snapshot), and one every ACCOUNT_RECONCILE_S after,
        as `perp watch` does, so the model never drifts from the venue."""
        s = acc.session
        deadline = time.monotonic() + FIRST_BOOK_WAIT_S
        while time.monotonic() < deadline and not (
                s.feed_states and all(st is FeedState.LIVE for st in s.feed_states.values())):
            await asyncio.sleep(0.05)
        while True:
            await reconcile()
            await asyncio.sleep(ACCOUNT_RECONCILE_S)

    def attach(self, market: Any, account: str, sock: Any, ws_url: str,
               trading: Any = None) -> tuple[str, bool] | None:
        """Serve one `perp watch` client on this venue's connection (`account` empty: its books
        and trades) or on `account`'s stream (its order updates and fills). None once it is
        being served; else why not, and whether asking again later may work (the connection is
        not up right now) or not (nothing streamed here for it: the client streams on its own).
        `ws_url` is the endpoint the client would connect to itself: another one is refused.
        `trading`: the held key's keyed side, for an account whose events need a socket opened
        with it (Aster's listenKey)."""
        if account:
            self.follow_account(market, account, trading)
            with self._lock:
                acc = self._accounts.get((market.venue, account))
            if acc is None:
                return f"the session keeps no account stream of {account} on {market.venue}", False
            session, taps, kinds = acc.session, acc.taps, acc.kinds
            streamed = market.live_feed(account).ws_url

            async def subscribe(kind: str, arg: str) -> None:
                await self._tap_subscribe(session, kinds[kind](arg))
        else:
            vs, _ = self._ensure(market, None)
            if vs is None:
                return f"the session does not stream {market.venue}", False
            session, taps, streamed = vs.session, vs.taps, vs.ws_url
            kinds = {"book": vs.feed.book, "trades": vs.feed.trades}

            async def subscribe(kind: str, arg: str) -> None:
                if kind == "book" and arg not in vs.books:
                    await self._subscribe(vs, arg)
                else:
                    await self._tap_subscribe(session, kinds[kind](arg))
        if streamed != ws_url:
            return f"the session streams {market.venue} from {streamed}, not {ws_url}", False
        if session.failure is not None:  # it gave up on the venue: asking again will not help
            return f"the session's {market.venue} stream failed: {session.failure}", False
        deadline = time.monotonic() + ATTACH_WAIT_S
        while session.connection_state not in (ConnectionState.CONNECTED, ConnectionState.STALE):
            if time.monotonic() >= deadline:
                return f"the session's {market.venue} connection is {session.connection_state.value}", True
            time.sleep(0.05)
        loop = self._loop
        if loop is None:
            return "the session is stopping", False
        asyncio.run_coroutine_threadsafe(feed_taps.serve(sock, taps, kinds, subscribe), loop)
        return None

    async def _tap_subscribe(self, session: StreamSession, sub: Any) -> None:
        """A feed a client asked for: subscribed at the venue if new; if the agent streams it
        already, subscribed again there so the venue's first answer (a snapshot) reaches the
        newcomer. Feeds resynced from REST need not: the client fetches its own snapshot."""
        if sub.key not in session.subscriptions:
            await session.subscribe(sub)
        elif sub.resync is not Resync.REST_SNAPSHOT:
            await session.resend(sub.key)

    def drop_keyed(self) -> None:
        """Close every account socket opened with a held key (the key was just dropped); their
        attached clients are told it went down. Keyless streams go on."""
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            keyed = [(k, a) for k, a in self._accounts.items() if a is not None and a.keyed]
            for k, _ in keyed:
                del self._accounts[k]

        async def close(accounts: list) -> None:
            for _, acc in accounts:
                if acc.reconciler is not None:
                    acc.reconciler.cancel()
                await acc.session.aclose()

        if keyed:
            try:
                asyncio.run_coroutine_threadsafe(close(keyed), loop).result(timeout=5)
            except Exception:  # noqa: BLE001, S110 - the key is gone either way; its socket dies with the listenKey
                pass

    def warm(self, market: Any) -> None:
        """Connect the venue's stream now (no market yet), so the first algo finds it open."""
        self._ensure(market, None)

    def health(self) -> list[dict[str, Any]]:
        """Per venue: the connection, each book and mark feed, with the age of their last message,
        and the account streams."""
        if self._loop is None:
            return []
        try:
            return self._call(self._health())
        except NotFresh:
            return []

    # ----- on the streams' loop -------------------------------------------------------------

    async def _read_touch(self, vs: _VenueStream, symbol: str) -> _Read:
        """The touch, or the one word on why the stream cannot give it (reconnecting, down...)."""
        s = vs.session
        state = vs.sink.feed_states.get(vs.books[symbol], ConnectionState.DOWN)
        silent = ConnectionState.STALE in (s.connection_state, state)
        if s.connection_state not in (ConnectionState.CONNECTED, ConnectionState.STALE):
            return _Read(None, s.connection_state.value)
        if state not in (ConnectionState.CONNECTED, ConnectionState.STALE):
            return _Read(None, state.value)
        book = self.store.books.get((vs.venue, symbol))
        if book is None or book.state is not BookState.LIVE or not (silent or book.is_usable):
            return _Read(None, "out of sync")
        bid, ask = book.best_bid(), book.best_ask()
        return _Read(((bid[0] if bid else None), (ask[0] if ask else None)), SILENT if silent else None)

    async def _read_mark(self, vs: _VenueStream, symbol: str) -> Decimal | None:
        s, key = vs.session, vs.marks[symbol]
        if s.connection_state is not ConnectionState.CONNECTED or \
                vs.sink.feed_states.get(key) is not ConnectionState.CONNECTED or s.age(key) > s.settings.stale_after:
            return None
        mark = self.store.marks.get((vs.venue, symbol))
        return None if mark is None else mark.mark_price

    async def _subscribe_mark(self, vs: _VenueStream, symbol: str) -> None:
        sub = vs.feed.marks(symbol)
        vs.marks[symbol] = sub.key
        await vs.session.subscribe(sub)

    async def _health(self) -> list[dict[str, Any]]:
        out = []
        for vs in self._venues.values():
            s = vs.session
            books = []
            for symbol, key in vs.books.items():
                state = vs.sink.feed_states.get(key, ConnectionState.DOWN)
                if s.connection_state is not ConnectionState.CONNECTED and state is ConnectionState.CONNECTED:
                    state = s.connection_state
                books.append({"market": symbol, "state": state.value, "age_ms": _age_ms(s.age(key)),
                              "usable": self.store.usable_book(vs.venue, symbol) is not None})
            marks = []
            for symbol, key in vs.marks.items():  # the mark feeds trails price from (`_read_mark`)
                state = vs.sink.feed_states.get(key, ConnectionState.DOWN)
                if s.connection_state is not ConnectionState.CONNECTED and state is ConnectionState.CONNECTED:
                    state = s.connection_state
                mark = self.store.marks.get((vs.venue, symbol))
                marks.append({"market": symbol, "state": state.value, "age_ms": _age_ms(s.age(key)),
                              "mark": None if mark is None else str(mark.mark_price)})
            out.append({"venue": vs.venue, "url": vs.ws_url, "state": s.connection_state.value,
                        "age_ms": _age_ms(s.age()), "reconnects": max(0, s.stats.connects - 1),
                        "last_error": s.stats.last_error or None, "books": books, "marks": marks,
                        "accounts": [self._account_health(a) for a in self._accounts.values()
                                     if a is not None and a.venue == vs.venue]})
        return out

    def _account_health(self, acc: _AccountStream) -> dict[str, Any]:
        """The account stream and what the live account model holds (order, position counts)."""
        s = acc.session
        model = next((a for (v, who), a in self.store.accounts.items()
                      if v == acc.venue and who.lower() == acc.address.lower()), None)
        return {"account": acc.address, "state": s.connection_state.value, "age_ms": _age_ms(s.age()),
                "reconnects": max(0, s.stats.connects - 1),
                "open_orders": None if model is None else len(model.open_orders()),
                "positions": None if model is None else sum(1 for p in model.positions.values() if p.size)}

    async def _open(self, vs: _VenueStream) -> None:
        vs.session.start()

    async def _subscribe(self, vs: _VenueStream, symbol: str) -> None:
        if symbol in vs.books:  # a client subscribed it first (attach)
            return
        sub = vs.feed.book(symbol)
        vs.books[symbol] = sub.key
        vs.sink.track_book(sub.key, symbol)
        await vs.session.subscribe(sub)

    # ----- plumbing -------------------------------------------------------------------------

    def _ensure(self, market: Any, symbol: str | None) -> tuple[_VenueStream | None, bool]:
        """The venue's stream (opened on first use) with `symbol`'s book subscribed; True when
        the book was subscribed just now. (None, False) where the venue has no stream."""
        venue = market.venue
        with self._lock:
            if venue in self._no_stream or self._loop is None:
                return None, False
            vs = self._venues.get(venue)
            if vs is None:
                try:
                    feed = market.live_feed("")
                except Exception:  # noqa: BLE001 - no websocket feed on this venue: REST it is
                    self._no_stream.add(venue)
                    return None, False
                taps = feed_taps.Taps()
                sink = _TappedSink(self.store, venue, taps)
                self.store.book_rules[venue] = feed.book_sync_rule
                session = StreamSession(feed.ws_url, feed_taps.TeeProtocol(feed.protocol, taps), sink,
                                        name=f"{venue}-session", settings=self.settings,
                                        snapshot_fetcher=feed.snapshot)
                vs = self._venues[venue] = _VenueStream(venue, feed.ws_url, feed, sink, session, market, taps)
                self._call(self._open(vs))
            elif vs.market is not market and vs.ws_url != market.live_feed("").ws_url:
                return None, False  # a second endpoint of one venue (the store keys books by venue)
            if symbol is None or symbol in vs.books:
                return vs, False
            self._call(self._subscribe(vs, symbol))
            return vs, True

    def _call(self, coro: Any) -> Any:
        loop = self._loop
        if loop is None:
            coro.close()
            raise NotFresh("the session's streams are closed")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=READ_TIMEOUT_S)


def stream_settings() -> StreamSettings:
    """The [stream] settings, as the TUI takes them."""
    from perpcli.config import settings

    cfg = settings.current()
    return StreamSettings(stale_after=float(cfg.get("stream.stale_after_seconds")),
                          ping_interval=float(cfg.get("stream.ping_interval_seconds")))


def _age_ms(age: float) -> int | None:
    return None if age == float("inf") else int(age * 1000)
