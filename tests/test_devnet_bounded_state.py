"""A long-running devnet keeps bounded memory: every per-order structure has a ceiling.

Count-based, never timed: the engine and the synthetic market are stepped directly with a
made-up clock, and each structure's size is checked against its bound.
"""

from __future__ import annotations

from decimal import Decimal as D

import perpcli.devnet.engine as engine_module
from perpcli.devnet.engine import Engine, EngineConfig
from perpcli.devnet.market import FlowConfig, SyntheticMarket
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


def structure_sizes(e: Engine, market: SyntheticMarket) -> dict[str, int]:
    accounts = e._accounts.values()
    return {
        "status": len(e._status),
        "owner": len(e._owner),
        "orders": len(e._orders),
        "history": max(len(a.order_history) for a in accounts),
        "finished_history": max(len(a.order_history) - len(a.open_oids) for a in accounts),
        "cloids": max(len(a.cloids) for a in accounts),
        "fills": max(len(a.fills) for a in accounts),
        "trades": max(len(t) for t in e._trades.values()),
        "candles": max(len(s) for per in e._candles.values() for s in per.values()),
        "hour_volume": max(len(v) for v in e._hour_volume.values()),
        "event_cache": len(e._event_cache),
        "size_memo": len(engine_module._SIZE_DECIMALS),
        "price_memo": len(engine_module._PRICE_RULES),
        "quotes": len(market.quotes),
    }


def test_synthetic_flow_keeps_every_structure_bounded():
    limit, trades_kept = 40, 30  # the engine keeps 10,000 rows per user; its own bots keep `limit`
    e = Engine(config=EngineConfig(trades_kept=trades_kept, candles_kept=20), start_ms=T0)
    market = SyntheticMarket(e, seed=3, config=FlowConfig(bot_history=limit), coins=["BTC", "ETH"])
    now = T0
    seen: list[dict[str, int]] = []
    for step in range(1, 801):
        now += 240_000  # four minutes a step: candles, hour buckets and funding all roll over
        e.advance(now)
        market.step(now)
        e.drain_events()
        if step in (400, 800):  # after more than a day, and after twice that
            seen.append(structure_sizes(e, market))
    assert not e.drain_events()
    for sizes in seen:
        assert sizes["finished_history"] <= limit + limit // 10
        assert sizes["cloids"] <= sizes["history"]
        assert sizes["fills"] <= limit + limit // 10
        assert sizes["trades"] <= trades_kept + trades_kept // 10
        assert sizes["candles"] <= 20
        assert sizes["hour_volume"] <= 25
        assert sizes["status"] == sizes["owner"] <= sizes["history"] * len(e._accounts)
        assert sizes["size_memo"] <= engine_module.MEMO_LIMIT
        assert sizes["price_memo"] <= engine_module.MEMO_LIMIT
        assert sizes["quotes"] <= 2 * 2
    restored = Engine.from_json(e.to_json())
    assert {a.history_limit for a in restored._accounts.values()} == {limit}
    # Twice as many steps, no more memory: everything had reached its ceiling.
    first, second = seen
    for name in ("status", "owner", "fills", "trades", "candles", "hour_volume", "event_cache", "quotes"):
        assert second[name] <= first[name] * 1.2 + 2, (name, first[name], second[name])


def test_memo_tables_are_emptied_when_full():
    assert engine_module.MEMO_LIMIT <= 10_000
    for i in range(engine_module.MEMO_LIMIT * 2 + 5):
        engine_module._size_decimals(D(i).scaleb(-3))
        engine_module._price_rule(D(1000 + i), 3)
        assert len(engine_module._SIZE_DECIMALS) <= engine_module.MEMO_LIMIT
        assert len(engine_module._PRICE_RULES) <= engine_module.MEMO_LIMIT
    assert engine_module._size_decimals(D("1.25")) == 2
