"""The store routes events, and its change feed coalesces for slow readers."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.domain.events import (
    BookDiff,
    BookSnapshot,
    ConnectionState,
    ConnectionStatus,
    Fill,
    MarkPrice,
    Trade,
)
from perpcli.domain.orders import Side
from perpcli.ledger.book import SyncAction, SyncRule
from perpcli.ledger.store import Store

V = "hyperliquid"


def _snap(bid, ask, t, symbol="BTC"):
    return BookSnapshot(V, symbol, ((D(bid), D(1)),), ((D(ask), D(1)),), t)


def test_slow_reader_sees_each_changed_key_once_with_the_latest_state():
    store = Store()
    sub = store.subscribe()
    for t in range(1, 1001):  # 1000 book updates before the reader looks
        store.apply(_snap(100 + t, 10_000, t))
    store.apply(MarkPrice(V, "BTC", D(1050), 5))
    store.apply(_snap(5, 6, 1, symbol="ETH"))
    assert sub.pending == 3  # bounded by keys, not by updates
    assert sub.poll() == [("book", V, "BTC"), ("mark", V, "BTC"), ("book", V, "ETH")]
    assert store.book(V, "BTC").best_bid() == (D(1100), D(1))  # the latest state
    assert sub.poll() == []
    store.apply(_snap(2000, 10_000, 2000))
    assert sub.poll() == [("book", V, "BTC")]


def test_order_follows_latest_change_and_kinds_filter():
    store = Store()
    books = store.subscribe(kinds=["book"])
    everything = store.subscribe()
    store.apply(_snap(1, 2, 1, symbol="A"))
    store.apply(_snap(1, 2, 1, symbol="B"))
    store.apply(MarkPrice(V, "A", D(1), 1))
    store.apply(_snap(1, 3, 2, symbol="A"))
    assert books.poll() == [("book", V, "B"), ("book", V, "A")]
    assert everything.poll() == [("book", V, "B"), ("mark", V, "A"), ("book", V, "A")]
    everything.close()
    store.apply(_snap(1, 4, 3, symbol="A"))
    assert everything.poll() == [] and books.poll() == [("book", V, "A")]


def test_notify_is_edge_triggered():
    store = Store()
    calls = []
    sub = store.subscribe(notify=lambda: calls.append(1))
    store.apply(_snap(1, 2, 1))
    store.apply(_snap(1, 2, 2))
    store.apply(MarkPrice(V, "BTC", D(1), 1))
    assert len(calls) == 1  # one wake-up for the whole batch
    sub.poll()
    store.apply(_snap(1, 2, 3))
    assert len(calls) == 2


def test_unchanged_events_do_not_wake_readers():
    store = Store(book_rules={"lighter": SyncRule.BEGIN_CHAIN})
    sub = store.subscribe()
    store.apply(_snap(1, 2, 5))
    sub.poll()
    assert store.apply(_snap(1, 2, 4)).key is None  # an older book: dropped
    fill = Fill(V, "0xa", "BTC", 1, 1, Side.BUY, D(1), D(1), D(0), 1)
    assert store.apply(fill).key == ("account", V, "0xa")
    assert store.apply(fill).key is None  # duplicate fill
    status = ConnectionStatus(V, "market", ConnectionState.CONNECTED, 1, 10)
    assert store.apply(status).key == ("conn", V, "market")
    assert store.apply(status).key is None
    sub.poll()
    # a gapped diff changes the book's state, so readers hear about it, with the verdict
    diff = BookDiff("lighter", "BTC", (), (), 1, 2)
    assert store.apply(diff).book_action is SyncAction.WAIT_SNAPSHOT
    store.apply(BookSnapshot("lighter", "BTC", ((D(1), D(1)),), ((D(2), D(1)),), 0, 10))
    result = store.apply(BookDiff("lighter", "BTC", (), (), 11, 12))
    assert result.book_action is SyncAction.RESYNC and result.key == ("book", "lighter", "BTC")
    assert store.key_version(("book", "lighter", "BTC")) == store.version


def test_usable_book_needs_a_live_book_and_a_healthy_venue():
    store = Store()
    store.apply(_snap(1, 2, 1))
    assert store.usable_book(V, "BTC") is not None
    store.apply(ConnectionStatus(V, "market", ConnectionState.STALE, 2, 45_000))
    assert store.usable_book(V, "BTC") is None
    store.apply(ConnectionStatus(V, "market", ConnectionState.CONNECTED, 3, 10))
    assert store.usable_book(V, "BTC") is not None
    store.apply(_snap(3, 2, 4))  # crossed
    assert store.usable_book(V, "BTC") is None


def test_trades_ring_marks_and_portfolio():
    store = Store(trades_kept=3)
    for i in range(5):
        store.apply(Trade(V, "BTC", Side.BUY, D(100 + i), D(1), i, i))
    assert [t.trade_id for t in store.trades[(V, "BTC")]] == [2, 3, 4]
    store.apply(MarkPrice(V, "BTC", D(110), 9))
    assert store.mark_price(V, "BTC") == D(110) and store.mark_price(V, "ETH") is None
    store.apply(Fill(V, "0xa", "BTC", 1, 1, Side.BUY, D(100), D(1), D(0), 1))
    p = store.portfolio()
    assert p.positions[0].unrealized_pnl == D(10)
    with pytest.raises(TypeError):
        store.apply("not an event")


def test_a_reader_closing_from_its_wake_up_misses_nothing_for_the_others():
    """Closing a subscription while the store is publishing (from its own notify) takes effect
    for the next change; the readers after it in the same publication still get the key."""
    store = Store()
    first = store.subscribe(notify=lambda: first.close())
    second = store.subscribe()
    store.apply(_snap(1, 2, 1))
    assert first.closed and second.poll() == [("book", V, "BTC")]
    store.apply(_snap(1, 2, 2))
    assert first.poll() == [("book", V, "BTC")]  # what came before the close, nothing after
    assert second.poll() == [("book", V, "BTC")]
    first.close()  # twice is harmless
    store.apply(_snap(1, 2, 3))
    assert second.poll() == [("book", V, "BTC")]


def test_book_answers_name_their_own_book_and_verdict():
    """Plain applies of one book share one immutable answer; other books and other verdicts
    get their own."""
    store = Store()
    a1, a2 = store.apply(_snap(1, 2, 1)), store.apply(_snap(1, 3, 2))
    eth = store.apply(_snap(1, 2, 1, symbol="ETH"))
    assert a1 == a2 == store.apply(_snap(1, 4, 3)) and a1.key == ("book", V, "BTC")
    assert a1.book_action is SyncAction.APPLY and eth.key == ("book", V, "ETH")
    assert store.apply(_snap(1, 2, 0, symbol="ETH")) == type(eth)(None, SyncAction.DROP)  # older
    crossed = store.apply(_snap(5, 4, 9))
    assert crossed == type(a1)(("book", V, "BTC"), SyncAction.RESYNC)
    assert store.key_version(("book", V, "BTC")) == store.version  # the crossing was published
