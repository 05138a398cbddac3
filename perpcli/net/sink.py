"""The bridge from a stream session to the ledger: books kept in sync, health as state.

WHY here and not in the session: the session only moves frames and knows nothing about books;
the book (ledger/book.py) only knows sequencing and levels and nothing about sockets or time.
This sink puts the two together: it applies decoded book events to one `OrderBook` per book
subscription, answers the session's "still in sync?" from the book's own state, combines the
book's verdict (gapped, crossed, awaiting a snapshot) with the stream's (stale, down) into one
`usable` flag, and publishes a small `FeedView` per change into a latest-wins mailbox so slow
readers (screens, scripts) get the newest state without ever queueing the history.

Non-book events (trades, fills, order updates, funding...) go to `on_event` unchanged: the
store folds them; they are facts, never coalesced here.

`StoreSink` (below) is the same bridge onto the ledger's `Store`, the application's single
mutable holder; `BookSink` serves readers that keep their own books (a TUI view, `perp stream`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from perpcli.domain.events import BookDiff, BookSnapshot, ConnectionState, ConnectionStatus, Event
from perpcli.ledger.book import BookState, OrderBook, SyncAction, SyncRule
from perpcli.ledger.store import Store
from perpcli.net.coalesce import LatestByKey
from perpcli.net.stream import SyncVerdict

_RESYNC = SyncAction.RESYNC
_IN_SYNC = SyncVerdict.IN_SYNC
_LIVE = BookState.LIVE


@dataclass(frozen=True, slots=True)
class FeedView:
    """What a reader needs to know about one feed right now.

    `book` is the live object (read it on the event loop, do not keep references across
    awaits expecting it to stand still). `usable` is the only flag that may gate pricing.
    """

    key: Hashable
    book: OrderBook | None
    usable: bool
    stream_state: ConnectionState
    book_state: BookState | None
    updates: int


class BookSink:
    """A `StreamSink` keeping books and feed health; see the module docstring."""

    def __init__(self, on_event: Callable[[Event], None] | None = None) -> None:
        self.books: dict[Hashable, OrderBook] = {}
        self.stream_states: dict[Hashable, ConnectionState] = {}
        self.connection: ConnectionStatus | None = None
        self.views: LatestByKey[Hashable, FeedView] = LatestByKey()
        self.statuses: list[ConnectionStatus] = []  # every health change, in order (bounded below)
        self.max_statuses = 1000
        self.on_event = on_event
        self._updates: dict[Hashable, int] = {}

    def add_book(self, key: Hashable, venue: str, symbol: str, rule: SyncRule) -> OrderBook:
        """Declare that subscription `key` feeds a book with sequencing `rule`."""
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = OrderBook(venue, symbol, rule)
            # Not fresh until its stream says so: a book nobody has heard about is not priced.
            book.stale = self.stream_states.get(key) is not ConnectionState.CONNECTED
        return book

    # ----------------------------------------------------------------- queries

    def usable(self, key: Hashable) -> bool:
        """May this book price an order? Only when in sync, uncrossed and fresh.

        The same answer is on the book itself (`OrderBook.is_usable`, via its `stale` flag
        kept here), so code handed only the book (margin previews, risk checks) is safe too.
        """
        book = self.books.get(key)
        return (
            book is not None
            and book.is_usable
            and self.stream_states.get(key) is ConnectionState.CONNECTED
        )

    def view(self, key: Hashable) -> FeedView:
        book = self.books.get(key)
        return FeedView(
            key=key,
            book=book,
            usable=self.usable(key),
            stream_state=self.stream_states.get(key, ConnectionState.DOWN),
            book_state=None if book is None else book.state,
            updates=self._updates.get(key, 0),
        )

    # ----------------------------------------------------------------- StreamSink

    def begin_sync(self, key: Hashable) -> None:
        book = self.books.get(key)
        if book is not None and book.state is not BookState.EMPTY:
            # Keep the levels on screen, but nothing may price from them until a snapshot
            # (and, for chained feeds, a bridging diff) lands. Diffs arriving meanwhile are
            # buffered by the book for chained feeds.
            book.state = BookState.RESYNC
        self._publish(key)

    def apply(self, key: Hashable, events: Sequence[Event]) -> SyncVerdict:
        book = self.books.get(key)
        if book is None:
            if self.on_event is not None:
                for event in events:
                    self.on_event(event)
            return SyncVerdict.IN_SYNC
        out_of_sync = False
        for event in events:
            if isinstance(event, BookDiff):
                action = book.apply_diff(event)
            elif isinstance(event, BookSnapshot):
                action = book.apply_snapshot(event)
            else:
                if self.on_event is not None:
                    self.on_event(event)
                continue
            if action is SyncAction.RESYNC:
                out_of_sync = True
        self._updates[key] = self._updates.get(key, 0) + 1
        self._publish(key)
        if out_of_sync:
            return SyncVerdict.OUT_OF_SYNC  # a gap or a crossed book, found just now
        # Buffered or dropped while a resync is under way is waiting, not a new gap.
        return SyncVerdict.IN_SYNC if book.state is BookState.LIVE else SyncVerdict.WAITING

    def status(self, key: Hashable | None, status: ConnectionStatus) -> None:
        self.statuses.append(status)
        if len(self.statuses) > self.max_statuses:
            del self.statuses[: len(self.statuses) - self.max_statuses]
        if key is None:
            self.connection = status
        else:
            self.stream_states[key] = status.state
            book = self.books.get(key)
            if book is not None:
                book.stale = status.state is not ConnectionState.CONNECTED
            self._publish(key)
        if self.on_event is not None:
            self.on_event(status)

    def _publish(self, key: Hashable) -> None:
        self.views.put(key, self.view(key))


class StoreSink:
    """A `StreamSink` writing into the ledger `Store` (the single mutable holder).

    Every decoded event goes through `Store.apply`, so books, marks, trades and accounts change
    in one place and readers learn about it from the store's coalescing change feed. Feed
    health is kept where readers look for it: the connection's status in `store.connections`
    (what `usable_book` and `venue_healthy` consult), and each book feed's freshness on the
    book itself (`OrderBook.stale`, folded into `is_usable`), so one silent market does not
    condemn the venue's other books, and a silent one is never used to price an order.

    Declare each book feed with `track_book(key, symbol)`, so a resync can invalidate the right
    book before any of its events has arrived. The venue's sequencing rule comes from the
    store's `book_rules`.
    """

    def __init__(self, store: Store, venue: str) -> None:
        self.store = store
        self.venue = venue
        self.feed_books: dict[Hashable, tuple[str, str]] = {}
        self.feed_states: dict[Hashable, ConnectionState] = {}

    def track_book(self, key: Hashable, symbol: str, venue: str | None = None) -> OrderBook:
        """Subscription `key` feeds the store's book for (venue, symbol). One feed per book:
        the store holds one book per market, sequenced by the venue's rule."""
        where = (venue or self.venue, symbol)
        self.feed_books[key] = where
        book = self.store.book(*where)
        book.stale = self.feed_states.get(key) is not ConnectionState.CONNECTED
        return book

    def book(self, key: Hashable) -> OrderBook | None:
        where = self.feed_books.get(key)
        return None if where is None else self.store.books.get(where)

    def begin_sync(self, key: Hashable) -> None:
        where = self.feed_books.get(key)
        if where is None:
            return
        book = self.store.book(*where)
        if book.state is not BookState.EMPTY and book.state is not BookState.RESYNC:
            book.state = BookState.RESYNC  # keep the levels on screen; price nothing from them
            self.store.mark_book_changed(*where)

    def apply(self, key: Hashable, events: Sequence[Event]) -> SyncVerdict:
        store_apply = self.store.apply
        out_of_sync = False
        for event in events:
            if store_apply(event).book_action is _RESYNC:
                out_of_sync = True
        if out_of_sync:
            return SyncVerdict.OUT_OF_SYNC
        where = self.feed_books.get(key)
        if where is None:
            return _IN_SYNC
        book = self.store.books.get(where)
        return _IN_SYNC if book is not None and book.state is _LIVE else SyncVerdict.WAITING

    def status(self, key: Hashable | None, status: ConnectionStatus) -> None:
        if key is None:
            self.store.apply(status)
            return
        self.feed_states[key] = status.state
        where = self.feed_books.get(key)
        if where is not None:
            book = self.store.book(*where)
            stale = status.state is not ConnectionState.CONNECTED
            if book.stale is not stale:
                book.stale = stale
                self.store.mark_book_changed(*where)
