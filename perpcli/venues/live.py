"""A live model fed by a stream session: books kept in sync, fills and order updates deduplicated.

Websocket feeds repeat themselves: Hyperliquid re-sends recent fills as a snapshot after every
(re)subscription, and a dropped connection may have delivered a frame twice. The model keeps
each fill once (by `Fill.key`), each trade once, and each order status change once, and calls
`on_new` only for what is new, so a printer or a ledger downstream sees every fact exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any

from perpcli.domain.events import ConnectionStatus, Event, Fill, OrderUpdate, Trade
from perpcli.ledger.book import OrderBook, SyncRule
from perpcli.net.sink import BookSink
from perpcli.net.stream import SyncVerdict

MAX_REMEMBERED = 100_000


class LiveModel(BookSink):
    """BookSink plus fact deduplication; `on_new(event)` for each new fact, `on_book(book)` per
    applied book update, `on_status(status)` per health change."""

    def __init__(
        self,
        *,
        on_new: Callable[[Event], None] | None = None,
        on_book: Callable[[Hashable, OrderBook], None] | None = None,
        on_status: Callable[[ConnectionStatus], None] | None = None,
    ) -> None:
        super().__init__(on_event=self._fact)
        self.fills: dict[Any, Fill] = {}
        self.fill_deliveries = 0  # how many fill events arrived, duplicates included
        self.order_updates: list[OrderUpdate] = []
        self._seen_updates: set[tuple] = set()
        self._seen_trades: set[tuple] = set()
        self._on_new = on_new
        self._on_book = on_book
        self._on_status = on_status

    def book(self, venue: str, symbol: str, key: Hashable, rule: SyncRule = SyncRule.SNAPSHOTS_ONLY) -> OrderBook:
        """Keep a book for a feed; `rule` is the venue's continuity rule (its LiveFeed says)."""
        return self.add_book(key, venue, symbol, rule)

    def apply(self, key: Hashable, events: Sequence[Event]) -> SyncVerdict:
        verdict = super().apply(key, events)
        book = self.books.get(key)
        if book is not None and self._on_book is not None and book.is_usable:
            self._on_book(key, book)
        return verdict

    def status(self, key: Hashable | None, status: ConnectionStatus) -> None:
        super().status(key, status)
        if self._on_status is not None:
            self._on_status(status)

    def _fact(self, event: Event) -> None:
        if isinstance(event, ConnectionStatus):
            return  # reported through on_status
        if isinstance(event, Fill):
            self.fill_deliveries += 1
            if event.key in self.fills:
                return
            self.fills[event.key] = event
        elif isinstance(event, Trade):
            k = (event.symbol, event.trade_id, event.time_ms)
            if k in self._seen_trades:
                return
            if len(self._seen_trades) > MAX_REMEMBERED:
                self._seen_trades.clear()
            self._seen_trades.add(k)
        elif isinstance(event, OrderUpdate):
            o = event.order
            k = (o.oid, o.status, o.size, event.time_ms)
            if k in self._seen_updates:
                return
            self._seen_updates.add(k)
            self.order_updates.append(event)
        if self._on_new is not None:
            self._on_new(event)


def account_socket(feed: Any, trading: Any) -> Any:
    """The separate authenticated socket `feed`'s venue carries `trading`'s account events on
    (base.AccountSocket), or None when fills and order updates ride the market socket. A feed
    written before the seam had this member counts as the latter."""
    build = getattr(feed, "account_socket", None)
    return build(trading) if build is not None and trading is not None else None


def account_session(socket: Any, sink: Any, *, name: str, settings: Any = None,
                    on_reconnect: Callable[[], Awaitable[None]] | None = None) -> Any:
    """A StreamSession on an AccountSocket (its connector authenticates each connection)."""
    from perpcli.net.stream import StreamSession

    return StreamSession(socket.ws_url, socket.protocol, sink, name=name, settings=settings,
                         on_reconnect=on_reconnect, connector=socket.connector)


async def iterate(feed: Any, venue: str, subs: Sequence[Any], *, books: Mapping[Hashable, str] | None = None,
                  socket: Any = None, backfill: Callable[[], Awaitable[Sequence[Event]]] | None = None
                  ) -> AsyncIterator[Event]:
    """Domain events from a venue's live subscriptions, as an async iterator (what the venue
    protocol's `stream_*` methods return). `feed` is the venue's LiveFeed; `books` names the
    subscriptions that are book feeds (key -> symbol): each yields a fresh BookSnapshot per
    applied update, sequenced by the feed's own rule and resynced from its REST snapshot when
    it has one. Facts (trades, fills, order updates) come once each across reconnects; health
    changes come as ConnectionStatus. Closing the iterator closes the socket.

    `socket` (a base.AccountSocket) runs the subscriptions on that authenticated socket instead
    of the feed's; `backfill`, called after every reconnect, returns what the account did while
    the socket was down (fills, order updates from REST): each fact not seen yet is yielded.

    One implementation for every adapter: they differ only in their LiveFeed."""
    import asyncio

    from perpcli.net.stream import StreamSession

    queue: asyncio.Queue[Event] = asyncio.Queue()
    model = LiveModel(on_new=queue.put_nowait, on_status=queue.put_nowait,
                      on_book=(lambda key, book: queue.put_nowait(book.to_snapshot())) if books else None)
    for key, symbol in (books or {}).items():
        model.book(venue, symbol, key, feed.book_sync_rule)

    async def reconcile() -> None:
        assert backfill is not None
        seen = {(u.order.oid, u.order.status, u.order.size) for u in model.order_updates}
        for event in await backfill():
            if isinstance(event, OrderUpdate):
                o = event.order
                if (o.oid, o.status, o.size) in seen:
                    continue
                seen.add((o.oid, o.status, o.size))
            model.on_event(event)

    hook = reconcile if backfill is not None else None
    if socket is not None:
        session = account_session(socket, model, name=f"{venue}-account", on_reconnect=hook)
    else:
        session = StreamSession(feed.ws_url, feed.protocol, model, name=f"{venue}-iter",
                                snapshot_fetcher=feed.snapshot, on_reconnect=hook)
    for sub in subs:
        await session.subscribe(sub)
    async with session:
        runner = session.start()
        while True:
            get = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({get, runner}, return_when=asyncio.FIRST_COMPLETED)
            if get in done:
                yield get.result()
                continue
            get.cancel()
            runner.result()  # re-raises a non-retryable failure
            return
