"""Store -> screen: what the TUI reads, and the coalescing that bounds how often it repaints.

The feed (websocket workers) changes the store many hundreds of times a second; a terminal
cannot and need not repaint that often. The store's change feed calls `Bridge.notify(topic)`
for each change; the bridge only records the topic in a set (O(1), never blocks the feed)
and a timer at `tui.refresh_hz` (20 Hz by default) posts ONE `StoreChanged` message with
every topic that changed since the last one. However fast the feed, the screen repaints at
most `hz` times a second, and it always shows the newest state (widgets read the store when
they repaint, not the history of changes). `coalesce=False` posts a message per change: the
benchmark's baseline, and nothing else.

Topics are strings: "book:<symbol>", "trades:<symbol>", "mark:<symbol>", "account", "status".

`WatchSource` is what the screens need from the store, in domain types only; the concrete
source for a live venue is built in perpcli/tui/live.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from textual.message import Message

from perpcli.domain.events import AccountSnapshot, Level, MarkPrice, Trade
from perpcli.domain.instrument import Instrument
from perpcli.ledger.book import OrderBook
from perpcli.ledger.fees import FeeRates
from perpcli.ledger.margin_rules import MarginRules
from perpcli.tui.widgets.account import StreamHealth


class WatchSource(Protocol):
    """Read-only view of the store for one venue (all calls are cheap and never do I/O)."""

    venue: str

    def markets(self) -> Sequence[str]: ...
    def instrument(self, symbol: str) -> Instrument: ...
    def book(self, symbol: str) -> OrderBook | None: ...
    def book_usable(self, symbol: str) -> bool: ...
    def trades(self, symbol: str, limit: int) -> list[Trade]: ...  # newest first
    def mark(self, symbol: str) -> MarkPrice | None: ...
    def account(self) -> AccountSnapshot | None: ...
    def leverage(self, symbol: str) -> tuple[int | None, bool]: ...  # (set leverage, is cross)
    def margin_rules(self, symbol: str) -> MarginRules: ...  # the venue's rules for the market
    def fees(self) -> FeeRates: ...  # the account's rates once known, else the public schedule
    def streams(self) -> list[StreamHealth]: ...
    def add_listener(self, listener: Callable[[str], None]) -> None: ...


def top_levels(book: OrderBook | None, depth: int) -> tuple[list[Level], list[Level]]:
    if book is None:
        return [], []
    return book.top(depth)


class StoreChanged(Message):
    """Topics that changed since the previous message (one message per repaint tick)."""

    def __init__(self, topics: frozenset[str]) -> None:
        super().__init__()
        self.topics = topics


class Bridge:
    """Collects change topics from the feed; `flush` posts them as one message.

    `notify` may be called from the event loop or from a feed thread (the set update happens
    under a lock; the app's timer calls `flush` on the loop).
    """

    def __init__(self, post: Callable[[Message], object], *, coalesce: bool = True) -> None:
        self._post = post
        self.coalesce = coalesce
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self.notified = 0  # changes seen
        self.posted = 0  # messages posted (repaint ticks with news)

    def notify(self, topic: str) -> None:
        self.notified += 1
        if not self.coalesce:
            self.posted += 1
            self._post(StoreChanged(frozenset((topic,))))
            return
        with self._lock:
            self._dirty.add(topic)

    def flush(self) -> frozenset[str]:
        with self._lock:
            if not self._dirty:
                return frozenset()
            topics = frozenset(self._dirty)
            self._dirty.clear()
        self.posted += 1
        self._post(StoreChanged(topics))
        return topics
