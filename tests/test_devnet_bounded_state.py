"""A long-running devnet keeps bounded memory: every per-order structure has a ceiling.

Count-based, never timed: the engine is stepped directly with a made-up clock, and each
structure's size is checked against its bound.
"""

from __future__ import annotations

from decimal import Decimal as D

from perpcli.devnet.engine import Engine, EngineConfig
from perpcli.devnet.records import Filled, OrderSpec, Resting

T0 = 1_700_000_000_000
A = "0x" + "a" * 40
B = "0x" + "b" * 40
BTC = 0


def cloid(i: int) -> str:
    return "0x" + f"{i:032x}"


def test_cloid_map_keeps_live_orders_and_the_recent_finished_ones_only():
    limit = 50
    e = Engine(config=EngineConfig(history_limit=limit), start_ms=T0)
    # Two old resting orders that outlive thousands of later ones.
    old = [e.place_orders(A, [OrderSpec(BTC, True, D(40000 + i), D("0.001"), cloid=cloid(i))], "na", T0)[0]
           for i in range(2)]
    assert all(isinstance(r, Resting) for r in old)
    e.place_orders(B, [OrderSpec(BTC, False, D(60000), D(5))], "na", T0)  # liquidity for A's IOCs
    n = 3000
    for i in range(2, n):
        r = e.place_orders(A, [OrderSpec(BTC, True, D(60000), D("0.001"), tif="Ioc", cloid=cloid(i))], "na", T0 + i)[0]
        assert isinstance(r, Filled)
    acct = e._accounts[A]
    assert len(acct.cloids) <= limit + limit // 10 + 2
    assert len(acct.order_history) <= limit + limit // 10 + 2
    assert len(e._status) <= len(acct.order_history) + len(e._accounts[B].order_history)
    # The live ones stay known: queryable, cancelable by cloid, and their cloid stays taken.
    assert e.order_status(A, cloid(0)).status == "open"
    dup = e.place_orders(A, [OrderSpec(BTC, True, D(40000), D("0.001"), cloid=cloid(1))], "na", T0 + n)[0]
    assert "cloid" in getattr(dup, "error", "").lower()
    assert e.cancel_by_cloid(A, [(BTC, cloid(0))], T0 + n) == ["success"]
    # The recent finished ones stay queryable by cloid; the long-finished ones are forgotten.
    assert e.order_status(A, cloid(n - 1)).status == "filled"
    assert e.order_status(A, cloid(5)) is None


def test_an_order_that_finishes_after_leaving_the_history_window_leaves_nothing_behind():
    limit = 20
    e = Engine(config=EngineConfig(history_limit=limit), start_ms=T0)
    first = e.place_orders(A, [OrderSpec(BTC, True, D(40000), D("0.001"), cloid=cloid(1))], "na", T0)[0]
    for i in range(200):  # push it far out of the window while it rests
        e.place_orders(A, [OrderSpec(BTC, True, D(41000), D("0.001"))], "na", T0 + i)
        e.cancel(A, [(BTC, first.oid + 1 + i)], T0 + i)
    assert e.order_status(A, first.oid).status == "open"
    e.cancel(A, [(BTC, first.oid)], T0 + 300)
    for i in range(200):
        r = e.place_orders(A, [OrderSpec(BTC, True, D(41000), D("0.001"))], "na", T0 + 400 + i)[0]
        e.cancel(A, [(BTC, r.oid)], T0 + 400 + i)
    assert first.oid not in e._status and first.oid not in e._owner
    assert cloid(1) not in e._accounts[A].cloids
    assert len(e._status) <= limit + limit // 10
