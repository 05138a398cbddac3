"""`perp watch` under load: CPU share of the TUI process and key-press-to-screen latency.

A devnet runs in a separate process, pushing full l2Book snapshots on three markets
(>= 100 book updates a second in total; the rate actually received is printed and reported).
This process runs the real app (LiveSource over websockets + the real widgets) headless at a
fixed 160x48 size for `--seconds` (default 60), twice:
  ours     - coalesced repaints (tui.refresh_hz = 20, the default)
  baseline - the same app with coalescing off (a message and a repaint per book update)
CPU share = process CPU time (all threads) / wall time over the window, in % of one core.
Key latency = time from pressing `]` (next market tab) to the new tab's ladder being drawn,
median and p95 of presses every 0.5 s during the window. Targets: <= 35 % and <= 100 ms.

    .venv/bin/python bench/tui.py [--seconds N] [--steps S] [--json]

The devnet subprocess drives its synthetic market at S steps a second (default 40; every step
moves all three books, so up to 3 x S = 120 book updates a second reach the TUI; try --steps 60).
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import metric, report  # noqa: E402

MARKETS = ["BTC", "ETH", "SOL"]
DEVNET = """
import sys, threading, time
from perpcli.devnet.market import SyntheticMarket
from perpcli.devnet.server import start_in_thread

STEPS_PER_S = float(sys.argv[1])
# The devnet's own ticker sleeps a fixed tick after each step; for a steady, faster feed this
# drives the same synthetic market (three coins) and publishes after every step, on its loop.
h = start_in_thread(market_interval=0, tick_interval=1.0, seed=3)
market = SyntheticMarket(h.devnet.engine, seed=3, coins=["BTC", "ETH", "SOL"])
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


async def run_once(url: str, seconds: float, *, coalesce: bool) -> dict:
    from perpcli.config import settings
    from perpcli.net.stream import StreamSettings
    from perpcli.tui.run import build_app, watch_config
    from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData
    from perpcli.venues.hyperliquid.endpoints import endpoint

    settings.configure()
    md = HyperliquidMarketData(endpoint(url, "testnet"), venue="devnet")
    app, source = build_app(md, markets=MARKETS, settings=settings.current(),
                            config=watch_config(settings.current(), coalesce=coalesce),
                            stream=StreamSettings(stale_after=5.0))
    latencies: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + 15
        while not all(source.book_usable(m) for m in MARKETS):
            if time.monotonic() > deadline:
                raise SystemExit("bench: the devnet books never became usable")
            await pilot.pause(0.05)
        await pilot.pause(1.0)  # warm: first renders, caches
        updates0 = source.sink.book_messages
        repaints0 = app.repaints
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        end = wall0 + seconds
        while time.perf_counter() < end:
            await asyncio.sleep(0.5)
            views = list(app.views.values())
            current = app.active_view
            target = views[(views.index(current) + 1) % len(views)]
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
        updates = source.sink.book_messages - updates0
        repaints = app.repaints - repaints0
    latencies.sort()
    return {
        "cpu_pct": cpu / wall * 100,
        "updates_per_s": updates / wall,
        "repaints_per_s": repaints / wall,
        "latency_median_ms": statistics.median(latencies),
        "latency_p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)],
        "presses": len(latencies),
    }


def _key(key: str, char: str):
    from textual import events

    return events.Key(key, char)


def main() -> None:
    seconds = arg("--seconds", 60.0)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    steps = arg("--steps", 40.0)  # market steps a second; each moves all three books
    dev = subprocess.Popen([sys.executable, "-c", DEVNET, str(steps)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True, env=env)
    try:
        url = dev.stdout.readline().strip()
        if not url.startswith("http"):
            raise SystemExit("bench: the devnet did not start")
        ours = asyncio.run(run_once(url, seconds, coalesce=True))
        base = asyncio.run(run_once(url, seconds, coalesce=False))
    finally:
        dev.stdin.close()
        dev.wait(10)
    if "--json" not in sys.argv:
        print(f"feed: {ours['updates_per_s']:.0f} book updates/s (coalesced run), "
              f"{base['updates_per_s']:.0f}/s (baseline run) on {', '.join(MARKETS)}; "
              f"repaint messages/s: {ours['repaints_per_s']:.1f} vs {base['repaints_per_s']:.1f}; "
              f"{ours['presses']} key presses each; {seconds:.0f} s per run")
    metrics = [
        metric("tui cpu share, 3 live books", "% of one core", ours["cpu_pct"], base["cpu_pct"],
               "same app, coalescing off"),
        metric("tui cpu share vs target", "% of one core", ours["cpu_pct"], 35.0, "target 35%"),
        metric("key press -> screen, median", "ms", ours["latency_median_ms"], base["latency_median_ms"],
               "same app, coalescing off"),
        metric("key press -> screen, p95", "ms", ours["latency_p95_ms"], base["latency_p95_ms"],
               "same app, coalescing off"),
        metric("key press -> screen p95 vs target", "ms", ours["latency_p95_ms"], 100.0, "target 100 ms"),
        metric("book updates received", "updates/s", ours["updates_per_s"], 100.0, "required feed rate 100/s",
               higher_is_better=True),
    ]
    report("perp watch under a live devnet feed (headless 160x48)", metrics)


if __name__ == "__main__":
    main()
