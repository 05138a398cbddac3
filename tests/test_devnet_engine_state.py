"""Devnet engine: determinism under a seed and a clock, and JSON save/load round trips."""

from __future__ import annotations

import json
from decimal import Decimal as D

from perpcli.devnet.engine import Engine
from perpcli.devnet.market import FlowConfig, SyntheticMarket
from perpcli.devnet.records import OrderSpec, TriggerSpec

T0 = 1_700_000_000_000
STEP = 1000
A = "0x" + "a" * 40
B = "0x" + "b" * 40

SMALL = FlowConfig(makers=1, levels=3)
COINS = ["BTC", "kPEPE", "xyz:GOLD", "xyz:TSLA"]


def run(seed: int, steps: int, start: int = 0, engine: Engine | None = None, market=None):
    engine = engine or Engine(start_ms=T0)
    market = market or SyntheticMarket(engine, seed=seed, config=SMALL, coins=COINS)
    for i in range(start, start + steps):
        market.step(T0 + i * STEP)
        engine.drain_events()
    return engine, market


def test_same_seed_and_clock_give_identical_state():
    e1, _ = run(3, 40)
    e2, _ = run(3, 40)
    assert e1.to_json() == e2.to_json()
    e3, _ = run(4, 40)
    assert e3.to_json() != e1.to_json()


def test_synthetic_market_makes_books_trades_candles_and_funding():
    e, m = run(5, 30)
    e.advance(T0 + 2 * 3_600_000)  # two funding intervals
    for coin in COINS:
        book = e.l2_book(coin)
        assert book.bids and book.asks and book.bids[0].px < book.asks[0].px
        assert abs(e.mark_price(coin) - m.fair[coin]) / m.fair[coin] < D("0.01")
    assert sum(len(e.recent_trades(c, 1000)) for c in COINS) > 5
    assert e.candles("BTC", "1m", T0 - 60_000, T0 + 10**8)
    assert e.funding_history("BTC", 0)
    assert any(e.user_funding(u, 0) for u in m.makers + m.takers)


def _busy_state() -> Engine:
    """A state touching every kind of record: resting, triggers, TP/SL children, positions
    (cross and isolated), fills, funding, ledger, agents, schedule, candles."""
    e, _ = run(9, 20)
    t = T0 + 20 * STEP
    e.place_orders(A, [OrderSpec(0, True, D(80000), D("0.01"), cloid="0x" + "01" * 16)], "na", t)
    parent = OrderSpec(0, True, D(81000), D("0.01"))
    tp = OrderSpec(0, False, D(99000), D("0.01"), True, "Gtc", TriggerSpec(True, D(98000), "tp"))
    e.place_orders(A, [parent, tp], "normalTpsl", t)
    e.market_order(B, "BTC", True, D("0.01"), t)
    e.market_order(B, "xyz:TSLA", True, D("1"), t)
    e.place_orders(B, [OrderSpec(0, False, D(80000), D("0.01"), True, "Gtc", TriggerSpec(True, D(85000), "sl"))], "na", t)
    e.approve_agent(A, "0x" + "9" * 40, "bot valid_until 1800000000000", t)
    e.schedule_cancel(A, t + 3_600_000, t)
    e.usd_class_transfer(B, D(10), False, t)
    e.advance(t + 3_600_000 - 1)
    return e


def test_save_then_load_is_identical_and_behaves_identically(tmp_path):
    e = _busy_state()
    path = tmp_path / "devnet.json"
    e.save(path)
    loaded = Engine.load(path)
    assert loaded.to_json() == e.to_json()
    # the file is plain JSON with decimals as strings
    raw = json.loads(path.read_text())
    assert isinstance(raw["accounts"][0]["usdc"], str)
    # and the two continue identically: orders, triggers, funding, the dead-man switch
    for eng in (e, loaded):
        t = eng.now_ms + 1
        eng.market_order(A, "BTC", False, D("0.02"), t)
        eng.set_oracle_price("BTC", D(84000), t + 1)
        eng.advance(t + 7_200_000)
    assert loaded.to_json() == e.to_json()
    assert loaded.historical_orders(A) == e.historical_orders(A)
    assert loaded.user_fills(B) == e.user_fills(B)


def test_market_state_round_trips_too():
    e, m = run(11, 10)
    saved_engine = json.loads(json.dumps(e.to_json()))
    saved_market = json.loads(json.dumps(m.to_json()))
    run(11, 10, start=10, engine=e, market=m)
    e2 = Engine.from_json(saved_engine)
    m2 = SyntheticMarket(e2, seed=11, config=SMALL, coins=COINS)
    m2.load_json(saved_market)
    run(11, 10, start=10, engine=e2, market=m2)
    assert e2.to_json() == e.to_json()


def test_replay_does_not_depend_on_string_hashing():
    """Two processes with different PYTHONHASHSEED reach the same state (no set ordering leaks)."""
    import hashlib
    import os
    import subprocess
    import sys

    script = (
        "import hashlib, json\n"
        "from perpcli.devnet.engine import Engine\n"
        "from perpcli.devnet.market import FlowConfig, SyntheticMarket\n"
        f"e = Engine(start_ms={T0})\n"
        "m = SyntheticMarket(e, seed=21, config=FlowConfig(makers=1, levels=2))\n"
        f"for i in range(12): m.step({T0} + i * 1000)\n"
        "print(hashlib.sha256(json.dumps(e.to_json(), sort_keys=True).encode()).hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1 and len(next(iter(digests))) == len(hashlib.sha256().hexdigest())
