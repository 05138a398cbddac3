"""The store holds each print once: a resubscribe re-sends recent trades, and neither the tape
nor the candles may count them twice (they read the ring without deduplicating it again)."""

from __future__ import annotations

from decimal import Decimal as D

from perpcli.domain.events import Trade
from perpcli.domain.orders import Side
from perpcli.ledger.store import Store

V = "hyperliquid"


def _trade(i: int, time_ms: int | None = None) -> Trade:
    return Trade(V, "BTC", Side.BUY, D(100 + i), D(1), i if time_ms is None else time_ms, i)


def test_a_resent_print_is_held_once_and_is_no_change():
    store = Store(trades_kept=10)
    sub = store.subscribe()
    for i in range(5):
        store.apply(_trade(i))
    sub.poll()
    for i in range(2, 5):  # the venue re-sends its last prints after a resubscribe
        assert store.apply(_trade(i)).key is None
    assert sub.poll() == []
    assert [t.trade_id for t in store.trades[(V, "BTC")]] == [0, 1, 2, 3, 4]
    store.apply(_trade(3, time_ms=99))  # the same id at another time is another print
    assert [t.trade_id for t in store.trades[(V, "BTC")]] == [0, 1, 2, 3, 4, 3]


def test_the_memory_of_prints_is_bounded_by_the_ring():
    store = Store(trades_kept=3)
    for i in range(10):
        store.apply(_trade(i))
    assert [t.trade_id for t in store.trades[(V, "BTC")]] == [7, 8, 9]
    assert len(store._trade_ids[(V, "BTC")]) == 3
    store.apply(_trade(2))  # fell out of the ring long ago: held again, as the ring is all there is
    assert [t.trade_id for t in store.trades[(V, "BTC")]] == [8, 9, 2]
