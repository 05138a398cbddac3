"""The single mutable holder of live state, and a coalescing change feed for its readers.

Streams write domain events in with `apply`; the CLI and the TUI read books, marks,
accounts and connection health from here and nothing else. Synchronous and pure (no asyncio,
no clock): the stream layer calls `apply` from its loop, and a reader learns what changed by
polling its `Subscription` (optionally woken by a callback; the TUI's bridge turns that into
a Textual message, an asyncio reader into an Event).

Why coalescing: a book changes many times a second while a screen redraws ten times. Each
subscription keeps a *set of changed keys* (insertion-ordered), not a queue of events, so a
slow reader finds every key that changed since it last looked exactly once and reads the
latest state of each; memory is bounded by the number of keys, whatever the update rate.
Events that must each be seen (fills, order updates) are folded into the Account first; the
account key changes, and its state carries them.

Keys are tuples: ("book", venue, symbol), ("mark", venue, symbol), ("trades", venue, symbol),
("account", venue, account), ("conn", venue, stream), ("instruments", venue).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from perpcli.domain.events import (
    AccountSnapshot,
    BalanceUpdate,
    BookDiff,
    BookSnapshot,
    ConnectionState,
    ConnectionStatus,
    Fill,
    FundingPayment,
    MarkPrice,
    OrderUpdate,
    Trade,
)
from perpcli.domain.instrument import Instrument
from perpcli.ledger.account import Account
from perpcli.ledger.book import OrderBook, SyncAction, SyncRule
from perpcli.ledger.portfolio import Portfolio, PortfolioTracker

Key = tuple[str, ...]
_APPLY = SyncAction.APPLY


@dataclass(frozen=True, slots=True)
class Applied:
    """What `Store.apply` did: the key that changed (None if nothing did) and, for book
    events, the book's verdict (RESYNC means: fetch a fresh snapshot)."""

    key: Key | None
    book_action: SyncAction | None = None


class Subscription:
    """A reader's view of the change feed. Not thread-safe (neither is the store)."""

    __slots__ = ("_store", "_changed", "_kinds", "_notify", "closed")

    def __init__(
        self, store: Store, kinds: frozenset[str] | None, notify: Callable[[], None] | None
    ) -> None:
        self._store = store
        self._changed: dict[Key, None] = {}
        self._kinds = kinds
        self._notify = notify
        self.closed = False

    def _mark(self, key: Key) -> None:
        kinds = self._kinds
        if kinds is not None and key[0] not in kinds:
            return
        changed = self._changed
        if changed:
            changed.pop(key, None)  # re-insert: order follows the latest change
            changed[key] = None
            return
        changed[key] = None
        if self._notify is not None:
            self._notify()  # edge-triggered: once per batch until the reader polls

    @property
    def pending(self) -> int:
        return len(self._changed)

    def poll(self) -> list[Key]:
        """Keys changed since the last poll, each once, oldest change first."""
        changed = list(self._changed)
        self._changed.clear()
        return changed

    def close(self) -> None:
        self.closed = True
        self._store._unsubscribe(self)


class Store:
    def __init__(self, *, book_rules: dict[str, SyncRule] | None = None, trades_kept: int = 200) -> None:
        """`book_rules` says how each venue sequences its book feed (default: snapshots)."""
        self.book_rules = dict(book_rules or {})
        self.trades_kept = trades_kept
        self.books: dict[tuple[str, str], OrderBook] = {}
        self.marks: dict[tuple[str, str], MarkPrice] = {}
        self.trades: dict[tuple[str, str], deque[Trade]] = {}  # each print once, oldest first
        self._trade_ids: dict[tuple[str, str], set[tuple[int, str]]] = {}  # (time, id) of the prints held
        self.accounts: dict[tuple[str, str], Account] = {}
        self.connections: dict[tuple[str, str], ConnectionStatus] = {}
        self.instruments: dict[tuple[str, str], Instrument] = {}
        self.version = 0
        self._key_versions: dict[Key, int] = {}
        self._subscriptions: tuple[Subscription, ...] = ()  # a tuple: `_changed` walks it per change
        # Per book (venue, symbol): its change-feed key and the `Applied` of a plain apply,
        # built once: a book feed publishes many times a second and both are immutable.
        self._book_applied: dict[tuple[str, str], Applied] = {}
        self._portfolio = PortfolioTracker()

    # ----- the change feed ----------------------------------------------------------------------

    def subscribe(
        self, kinds: Iterable[str] | None = None, notify: Callable[[], None] | None = None
    ) -> Subscription:
        """A new reader. `kinds` limits it to some key kinds ("book", "account", ...);
        `notify` is called (synchronously, from `apply`) when its first pending change
        arrives, and again only after the reader has polled."""
        sub = Subscription(self, frozenset(kinds) if kinds is not None else None, notify)
        self._subscriptions = (*self._subscriptions, sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions = tuple(s for s in self._subscriptions if s is not sub)

    def key_version(self, key: Key) -> int:
        """The store version at this key's last change (0 = never): a cheap "did it change?"."""
        return self._key_versions.get(key, 0)

    def _changed(self, key: Key) -> Key:
        version = self.version = self.version + 1
        self._key_versions[key] = version
        for sub in self._subscriptions:  # a tuple: a reader closing meanwhile swaps it, not edits it
            sub._mark(key)
        return key

    # ----- writes -------------------------------------------------------------------------------

    def set_instruments(self, venue: str, instruments: Iterable[Instrument]) -> Key:
        for inst in instruments:
            self.instruments[(venue, inst.symbol)] = inst
        return self._changed(("instruments", venue))

    def book(self, venue: str, symbol: str) -> OrderBook:
        """The book for a market, created empty on first use."""
        book = self.books.get((venue, symbol))
        if book is None:
            rule = self.book_rules.get(venue, SyncRule.SNAPSHOTS_ONLY)
            book = self.books[(venue, symbol)] = OrderBook(venue, symbol, rule)
        return book

    def account(self, venue: str, account: str) -> Account:
        """The account model, created empty on first use."""
        acct = self.accounts.get((venue, account))
        if acct is None:
            acct = self.accounts[(venue, account)] = Account(venue, account)
        return acct

    def apply(self, event: object) -> Applied:
        """Route one domain event to its holder; report the changed key (if any)."""
        if isinstance(event, (BookSnapshot, BookDiff)):
            where = (event.venue, event.symbol)
            book = self.books.get(where)
            if book is None:
                book = self.book(*where)
            before = book.state
            if isinstance(event, BookSnapshot):
                action = book.apply_snapshot(event)
            else:
                action = book.apply_diff(event)
            if action is _APPLY:  # the usual frame: its key and answer are built once per book
                applied = self._book_applied.get(where)
                if applied is None:
                    applied = self._book_applied[where] = Applied(("book", *where), _APPLY)
                self._changed(applied.key)  # type: ignore[arg-type]
                return applied
            key = ("book", event.venue, event.symbol)
            changed = action is SyncAction.APPLY_FIRST or book.state is not before
            return Applied(self._changed(key) if changed else None, action)
        if isinstance(event, MarkPrice):
            self.marks[(event.venue, event.symbol)] = event
            return Applied(self._changed(("mark", event.venue, event.symbol)))
        if isinstance(event, Trade):
            where = (event.venue, event.symbol)
            ring = self.trades.get(where)
            if ring is None:
                ring = self.trades[where] = deque(maxlen=self.trades_kept)
                self._trade_ids[where] = set()
            ids = self._trade_ids[where]
            tid = (event.time_ms, str(event.trade_id))
            if tid in ids:
                return Applied(None)  # a print re-sent after a resubscribe: already held
            if len(ring) == ring.maxlen:
                old = ring[0]
                ids.discard((old.time_ms, str(old.trade_id)))
            ring.append(event)
            ids.add(tid)
            return Applied(self._changed(("trades", event.venue, event.symbol)))
        if isinstance(event, (Fill, OrderUpdate, FundingPayment, BalanceUpdate, AccountSnapshot)):
            acct = self.account(event.venue, event.account)
            changed = acct.apply(event)
            key = ("account", event.venue, event.account)
            return Applied(self._changed(key) if changed else None)
        if isinstance(event, ConnectionStatus):
            key2 = (event.venue, event.stream)
            if self.connections.get(key2) == event:
                return Applied(None)
            self.connections[key2] = event
            return Applied(self._changed(("conn", event.venue, event.stream)))
        raise TypeError(f"the store does not take {type(event).__name__} events")

    def reconcile(self, snapshot: AccountSnapshot) -> list:
        """Reconcile an account with a REST snapshot; returns its discrepancies."""
        found = self.account(snapshot.venue, snapshot.account).reconcile(snapshot)
        self._changed(("account", snapshot.venue, snapshot.account))
        return found

    def mark_book_changed(self, venue: str, symbol: str) -> Key:
        """For writers that changed a book in place (e.g. the stream marking it stale)."""
        return self._changed(("book", venue, symbol))

    # ----- reads --------------------------------------------------------------------------------

    def venue_healthy(self, venue: str) -> bool:
        """Every known stream of the venue is connected (no status yet counts as healthy)."""
        return all(
            status.state is ConnectionState.CONNECTED for (v, _), status in self.connections.items() if v == venue
        )

    def usable_book(self, venue: str, symbol: str) -> OrderBook | None:
        """The book, only if it may price an order: synced, not crossed, its venue connected."""
        book = self.books.get((venue, symbol))
        if book is None or not book.is_usable or not self.venue_healthy(venue):
            return None
        return book

    def mark_price(self, venue: str, symbol: str) -> Decimal | None:
        mark = self.marks.get((venue, symbol))
        return None if mark is None else mark.mark_price

    def portfolio(self) -> Portfolio:
        """Every account valued at the store's marks (ledger/portfolio.py); only the accounts
        whose account, instruments or held markets' marks changed since the last call are
        valued again."""
        return self._portfolio.portfolio(self.accounts, self._mark_of, self.instruments, self.key_version)

    def _mark_of(self, key: tuple[str, str]) -> Decimal | None:
        mark = self.marks.get(key)
        return None if mark is None else mark.mark_price
