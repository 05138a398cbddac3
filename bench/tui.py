"""`perp watch` with three venues x three markets streaming: CPU share and key-to-screen latency.

Feeders (two separate processes, so their CPU is not ours): devnet A runs its synthetic market
on BTC, ETH and SOL and serves it through two faces, Hyperliquid (`/ws` l2Book snapshots and
trades, venue "devnet") and Aster (`/aster` depth diffs and aggTrades, venue "aster-devnet");
devnet B runs another market (another seed) behind a Hyperliquid face, opened as a third venue
("devnet-b"). Each feeder publishes after every market step, `--steps` steps a second (every
step moves every book), so 3 venues x 3 markets x steps book updates a second: about 300 at the
default 36 (the feeders' loops lag their nominal rate a little); the rate actually received is
measured and printed. Marks come from each venue's
REST face (polled every 2 s, as the live source does). Everything goes through the real ingest
path: StreamSession -> venue protocol -> StoreSink -> the shared Store -> the app's bridge.

This process runs the real app (WatchApp over three LiveSources and one Store, the real
widgets) headless at 160x48 for `--seconds` per run (default 30), twice in one run:
  ours     - coalesced repaints (tui.refresh_hz = 20, the default)
  baseline - the same app with coalescing off (a message and a repaint per change)
CPU share = process CPU time (all threads) / wall time over the window, in % of one core.
Key latency = time from pressing `]` (next market tab) to the new tab's ladder being drawn,
median and p95 of presses every 0.5 s. Targets: < 25 % of one core, p95 < 50 ms.

Also the portfolio's cost per update: a store holding an account with positions on each of the
three venues takes a stream of mark changes (random venue and market) and answers
`Store.portfolio()` after each (incremental: only the account whose held market moved is
valued again), beside `build_portfolio` over every account (the full recomputation) on the same
state.

    .venv/bin/python bench/tui.py [--seconds N] [--steps S] [--json]
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import metric, report  # noqa: E402

COINS = ["BTC", "ETH", "SOL"]
CPU_TARGET = 25.0
P95_TARGET = 50.0
FEEDER = """
import sys, threading, time
from perpcli.devnet.market import SyntheticMarket
from perpcli.devnet.server import start_in_thread

STEPS_PER_S, SEED = float(sys.argv[1]), int(sys.argv[2])
# The devnet's own ticker sleeps a fixed tick after each step; for a steady feed this drives the
# same synthetic market (three coins) and publishes after every step, on the devnet's loop.
h = start_in_thread(market_interval=0, tick_interval=1.0, seed=SEED)
market = SyntheticMarket(h.devnet.engine, seed=SEED, coins=["BTC", "ETH", "SOL"])
done = threading.Event()

def step():
    now = h.devnet.now_ms()
    h.devnet.engine.advance(now)
    market.step(now)
    h.devnet.publish()

def drive():
    period = 1.0 / STEPS_PER_S
    nxt = time.monotonic()
    while not done.is_set():
        h.call(step)
        nxt += period
        time.sleep(max(0.0, nxt - time.monotonic()))

for _ in range(20):  # books and trades before anyone subscribes
    h.call(step)
threading.Thread(target=drive, daemon=True).start()
print(h.url, flush=True)
sys.stdin.read()
done.set()
h.stop()
"""


def arg(name: str, default: float) -> float:
    if name in sys.argv:
        return float(sys.argv[sys.argv.index(name) + 1])
    return default


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def start_feeder(steps: float, seed: int, env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", FEEDER, str(steps), str(seed)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit("bench: a devnet feeder did not start")
    return proc, url


def market_data(url_a: str, url_b: str) -> list:
    from perpcli.venues.aster.adapter import AsterMarketData
    from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData
    from perpcli.venues.hyperliquid.endpoints import endpoint

    ws_a = "ws" + url_a[len("http"):]
    return [
        HyperliquidMarketData(endpoint(url_a, "testnet"), venue="devnet"),
        AsterMarketData(url_a, venue="aster-devnet", network="testnet", ws_url=ws_a + "/aster"),
        HyperliquidMarketData(endpoint(url_b, "testnet"), venue="devnet-b"),
    ]


async def run_once(urls: tuple[str, str], seconds: float, *, coalesce: bool) -> dict:
    from perpcli.config import settings
    from perpcli.ledger.store import Store
    from perpcli.net.stream import StreamSettings
    from perpcli.tui.app import WatchApp
    from perpcli.tui.live import TRADES_KEPT, LiveSource
    from perpcli.tui.run import watch_config

    settings.configure()
    store = Store(trades_kept=TRADES_KEPT)
    sources = {}
    views = []
    for md in market_data(*urls):
        source = LiveSource(md, settings=StreamSettings(stale_after=5.0), store=store)
        sources[md.venue] = source
        views += [(md.venue, md.instrument(coin).symbol) for coin in COINS]

    def start_feed(app, src) -> None:
        app.run_worker(src.run(), name=f"feed:{src.venue}", group="feeds", exit_on_error=False)

    app = WatchApp(sources, views, config=watch_config(settings.current(), coalesce=coalesce),
                   start_feed=start_feed)
    latencies: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + 30
        while not all(sources[v].book_usable(m) for v, m in views):
            if time.monotonic() > deadline:
                missing = [f"{v}:{m}" for v, m in views if not sources[v].book_usable(m)]
                raise SystemExit(f"bench: books never became usable: {missing}")
            await pilot.pause(0.05)
        await pilot.pause(1.0)  # warm: first renders, caches
        counts0 = {v: s.sink.book_messages for v, s in sources.items()}
        repaints0 = app.repaints
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        end = wall0 + seconds
        while time.perf_counter() < end:
            await asyncio.sleep(0.5)
            tabs = list(app.views.values())
            target = tabs[(tabs.index(app.active_view) + 1) % len(tabs)]
            drawn_before = target.ladder.renders
            t0 = time.perf_counter()
            app.post_message(_key("right_square_bracket", "]"))
            while target.ladder.renders == drawn_before or app.active_view is not target:
                await asyncio.sleep(0.001)
                if time.perf_counter() - t0 > 5:
                    break
            latencies.append((target.ladder.rendered_at - t0) * 1000)
        wall = time.perf_counter() - wall0
        cpu = cpu_seconds() - cpu0
        per_venue = {v: (s.sink.book_messages - counts0[v]) / wall for v, s in sources.items()}
        repaints = app.repaints - repaints0
    latencies.sort()
    return {
        "cpu_pct": cpu / wall * 100,
        "updates_per_s": sum(per_venue.values()),
        "per_venue": per_venue,
        "repaints_per_s": repaints / wall,
        "latency_median_ms": statistics.median(latencies),
        "latency_p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)],
        "presses": len(latencies),
    }


def _key(key: str, char: str):
    from textual import events

    return events.Key(key, char)


def portfolio_cost(updates: int = 3000, seed: int = 5) -> tuple[float, float]:
    """Per mark update: Store.portfolio() (incremental) and build_portfolio (full), in us."""
    from perpcli.domain.events import BalanceUpdate, Fill, MarkPrice
    from perpcli.domain.instrument import Instrument, MarginTable
    from perpcli.domain.orders import Side
    from perpcli.ledger.portfolio import build_portfolio
    from perpcli.ledger.store import Store

    rng = random.Random(seed)
    venues = ["devnet", "aster-devnet", "devnet-b"]
    store = Store()
    for v in venues:
        store.set_instruments(v, [Instrument(v, c, c, 1, Decimal("0.001"), 20, margin_table=MarginTable.single(20))
                                  for c in COINS])
        store.apply(BalanceUpdate(v, "0xa", "USDC", 0, total=Decimal(100_000)))
        for i, c in enumerate(COINS):
            store.apply(Fill(v, "0xa", c, i, str(i), rng.choice(list(Side)), Decimal(1000 + i), Decimal(2), Decimal(0),
                             i))
            store.apply(MarkPrice(v, c, Decimal(1000 + i), 1))
    stream = [MarkPrice(rng.choice(venues), rng.choice(COINS), Decimal(rng.randint(900, 1100)), n + 2)
              for n in range(updates)]

    def incremental() -> None:
        for m in stream:
            store.apply(m)
            store.portfolio()

    def full() -> None:
        for m in stream:
            store.apply(m)
            marks = {key: mk.mark_price for key, mk in store.marks.items()}
            build_portfolio(store.accounts.values(), marks, store.instruments)

    assert store.portfolio() == build_portfolio(store.accounts.values(),
                                                {k: m.mark_price for k, m in store.marks.items()}, store.instruments)
    best = [float("inf"), float("inf")]
    for _ in range(5):
        for i, fn in enumerate((incremental, full)):
            t = time.process_time()
            fn()
            best[i] = min(best[i], time.process_time() - t)
    return best[0] / updates * 1e6, best[1] / updates * 1e6


def main() -> None:
    seconds = arg("--seconds", 30.0)
    steps = arg("--steps", 36.0)  # the feeders lag their nominal rate a little: ~300/s received
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    feeder_a, url_a = start_feeder(steps, 3, env)
    try:
        feeder_b, url_b = start_feeder(steps, 11, env)
        try:
            ours = asyncio.run(run_once((url_a, url_b), seconds, coalesce=True))
            base = asyncio.run(run_once((url_a, url_b), seconds, coalesce=False))
        finally:
            feeder_b.stdin.close()
            feeder_b.wait(10)
    finally:
        feeder_a.stdin.close()
        feeder_a.wait(10)
    inc_us, full_us = portfolio_cost()
    rates = ", ".join(f"{v} {r:.0f}/s" for v, r in ours["per_venue"].items())
    print(f"feeders: devnet A (Hyperliquid face 'devnet' + Aster face 'aster-devnet'), devnet B (Hyperliquid face "
          f"'devnet-b'); {', '.join(COINS)} on each; real ingest path (websockets -> venue protocol -> store). "
          f"Book updates received: {ours['updates_per_s']:.0f}/s coalesced run ({rates}), "
          f"{base['updates_per_s']:.0f}/s baseline run; repaint messages/s: {ours['repaints_per_s']:.1f} vs "
          f"{base['repaints_per_s']:.1f}; {ours['presses']} key presses each; {seconds:.0f} s per run",
          file=sys.stderr)
    metrics = [
        metric("tui cpu share, 3 venues x 3 markets", "% of one core", ours["cpu_pct"], base["cpu_pct"],
               "same app, coalescing off"),
        metric("tui cpu share vs target", "% of one core", ours["cpu_pct"], CPU_TARGET, f"target {CPU_TARGET:g}%"),
        metric("key press -> screen, median", "ms", ours["latency_median_ms"], base["latency_median_ms"],
               "same app, coalescing off"),
        metric("key press -> screen, p95", "ms", ours["latency_p95_ms"], base["latency_p95_ms"],
               "same app, coalescing off"),
        metric("key press -> screen p95 vs target", "ms", ours["latency_p95_ms"], P95_TARGET,
               f"target {P95_TARGET:g} ms"),
        metric("book updates received", "updates/s", ours["updates_per_s"], 300.0, "required feed rate 300/s",
               higher_is_better=True),
        metric("portfolio per mark update (3 venues x 3 positions)", "us", inc_us, full_us,
               "build_portfolio over every account"),
    ]
    report("perp watch, 3 venues x 3 markets from local feeders (headless 160x48)", metrics)


if __name__ == "__main__":
    main()
