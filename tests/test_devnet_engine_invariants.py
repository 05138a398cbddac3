"""Random action sequences against the devnet engine; exchange-wide invariants must hold.

- the book is never crossed; level totals equal the sizes resting there; every resting
  order is in its owner's open set and vice versa; reserved margin is the sum over orders;
- positions net to zero per coin and open interest is the long side;
- money is conserved: the accounts' total value (cash + uPnL, the ledger's account value)
  equals deposits minus fees paid (trading and liquidation only move money between users);
- the state reached survives a JSON save/load unchanged.
"""

from __future__ import annotations

import json
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpcli.devnet.engine import Engine, EngineConfig
from perpcli.devnet.records import OrderSpec, TriggerSpec

T0 = 1_700_000_000_000
USERS = ["0x" + c * 40 for c in "abc"]
COINS = {"BTC": (0, D("0.001"), D(95000)), "xyz:TSLA": (110003, D("0.1"), D(430))}

place = st.tuples(
    st.just("place"),
    st.integers(0, 2),
    st.sampled_from(sorted(COINS)),
    st.booleans(),
    st.integers(-30, 30),  # price offset from the mid, 0.1% steps
    st.integers(1, 120),  # size in lots of COINS[coin][1]
    st.sampled_from(["Gtc", "Ioc", "Alo"]),
    st.booleans(),  # reduce only
    st.sampled_from([None, "tp", "sl"]),
)
cancel = st.tuples(st.just("cancel"), st.integers(0, 2), st.integers(0, 10))
modify = st.tuples(st.just("modify"), st.integers(0, 2), st.integers(0, 10), st.integers(-20, 20))
oracle = st.tuples(st.just("oracle"), st.sampled_from(sorted(COINS)), st.integers(-150, 150))
advance = st.tuples(st.just("advance"), st.integers(1, 4 * 3_600_000))
actions = st.lists(st.one_of(place, place, place, cancel, modify, oracle, advance), min_size=10, max_size=40)


def px_near(engine: Engine, coin: str, offset: int) -> D:
    """A valid price `offset` × 0.1% above (> 0) or below the mid (or mark)."""
    slip = D(abs(offset)) / 1000
    return engine.market_order_px(coin, offset > 0, slip) if offset else engine.market_order_px(coin, True, D(0))


def check(engine: Engine, deposits: D) -> None:
    fees = D(0)
    for user in engine._accounts:
        fees += sum((f.fee for f in engine._accounts[user].fills), D(0))
    dexs = [d.name for d in engine.markets.dexs]  # each perp dex holds its own collateral
    total_value = sum((engine._summary(a, dex).account_value for a in engine._accounts.values() for dex in dexs), D(0))
    assert abs(total_value - (deposits - fees)) < D("1e-9"), (total_value, deposits, fees)
    for coin, book in engine._books.items():
        bid, ask = book.bbo()
        assert bid is None or ask is None or bid < ask
        for side in (book.bids, book.asks):
            for lvl in side.levels.values():
                assert lvl.orders and lvl.total == sum((o.sz for o in lvl.orders.values()), D(0))
                for o in lvl.orders.values():
                    assert o.sz > 0 and o.oid in engine._accounts[o.user].open_oids
        net = sum((a.positions[coin].szi for a in engine._accounts.values() if coin in a.positions), D(0))
        longs = sum((a.positions[coin].szi for a in engine._accounts.values() if coin in a.positions and a.positions[coin].szi > 0), D(0))
        assert net == 0 and engine._oi[coin] == longs
    for acct in engine._accounts.values():
        reserved = {dex: D(0) for dex in dexs}
        for oid in acct.open_oids:
            o = engine._orders[oid]
            reserved[engine.market(o.coin).dex] += o.reserved
            if o.trigger is None or o.triggered:
                assert oid in engine._books[o.coin].side(o.is_buy).levels[o.px].orders
            else:
                assert oid in engine._triggers[o.coin]
        for dex in dexs:
            assert abs(engine._balance(acct, dex)[1] - reserved[dex]) < D("1e-18")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(funds=st.integers(150, 5_000), steps=actions)
def test_random_sessions_keep_the_exchange_consistent(funds, steps):
    engine = Engine(config=EngineConfig(auto_fund_usdc=D(funds)), start_ms=T0)
    deposits = D(0)
    t = T0
    for u in USERS:
        engine.ensure_account(u, t)
        deposits += D(funds) * len(engine.markets.dexs)  # auto-fund credits every perp dex
    # a market maker with a ladder on both sides, so random orders have something to hit
    mm = "0x" + "d" * 40
    for dex in engine.markets.dexs:
        engine.fund(mm, D(1_000_000), t, dex.name)
        deposits += D(1_000_000)
    for coin, (asset, lot, _) in COINS.items():
        for k in range(1, 6):
            engine.place_orders(mm, [OrderSpec(asset, True, px_near(engine, coin, -2 * k), lot * 20, False, "Gtc")], "na", t)
            engine.place_orders(mm, [OrderSpec(asset, False, px_near(engine, coin, 2 * k), lot * 20, False, "Gtc")], "na", t)
    for step in steps:
        t += 1000
        kind = step[0]
        if kind == "place":
            _, ui, coin, is_buy, off, lots, tif, ro, tpsl = step
            asset, lot, _ = COINS[coin]
            px = px_near(engine, coin, off)
            trigger = None
            if tpsl is not None:
                trigger = TriggerSpec(True, px, tpsl)
                px = engine.market_order_px(coin, is_buy, D("0.1"))
            spec = OrderSpec(asset, is_buy, px, lot * lots, ro, tif, trigger)
            engine.place_orders(USERS[ui], [spec], "na", t)
        elif kind == "cancel":
            _, ui, k = step
            rows = engine.open_orders(USERS[ui]) + engine.open_orders(USERS[ui], "xyz")
            if rows:
                o = rows[k % len(rows)]
                engine.cancel(USERS[ui], [(engine.market(o.coin).asset, o.oid)], t)
        elif kind == "modify":
            _, ui, k, off = step
            rows = [r for r in engine.open_orders(USERS[ui]) + engine.open_orders(USERS[ui], "xyz") if not r.is_trigger]
            if rows:
                o = rows[k % len(rows)]
                m = engine.market(o.coin)
                spec = OrderSpec(m.asset, o.side == "B", px_near(engine, o.coin, off), o.sz, o.reduce_only, "Gtc")
                engine.batch_modify(USERS[ui], [(o.oid, spec)], t)
        elif kind == "oracle":
            _, coin, move = step
            engine.set_oracle_price(coin, engine.market_order_px(coin, move > 0, D(abs(move)) / 1000), t)
        else:
            t += step[1]
            engine.advance(t)
        engine.drain_events()
        # funding moves money between longs and shorts, but each payment is rounded to 1e-6
        funding = sum((p.usdc for a in engine._accounts.values() for p in a.funding), D(0))
        check(engine, deposits + funding)
    # and whatever state the session reached survives a JSON save/load unchanged
    saved = engine.to_json()
    assert Engine.from_json(json.loads(json.dumps(saved))).to_json() == saved
