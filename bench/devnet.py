"""Devnet benchmarks. Sections: engine (in-process matching); more sections (HTTP, websocket)
are added by appending a `bench_<name>()` function and listing it in SECTIONS.

    .venv/bin/python bench/devnet.py [--json] [--section engine] [--orders N]

Engine workload (deterministic): one BTC book with 200 resting orders per side kept far from
the touch (depth a scan must walk past), 40 maker accounts and 40 taker accounts. Each round
a maker posts a GTC order at the touch and a taker sends an IOC that fills it completely,
so half the orders rest and half match. Every order passes the engine's full path: venue
price/size rules, margin check, price-time matching, fees, positions, fills, order history,
candles and websocket events (drained each round, as the server does).

Baseline, measured in the same run on the same order stream: a naive matcher that keeps
resting orders in one list and scans it for the best price on every match (Decimal prices,
price-time priority, no margin, fees or history). The 20,000 orders/s target is printed too.
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import metric, report  # noqa: E402

from perpcli.devnet.engine import Engine  # noqa: E402
from perpcli.devnet.records import OrderSpec  # noqa: E402

TARGET_ORDERS_PER_S = 20_000.0
T0 = 1_700_000_000_000


def _order_stream(rounds: int) -> list[tuple[int, bool, Decimal, Decimal, str]]:
    """(account index, is_buy, px, sz, tif) for maker-then-taker pairs around 95,000."""
    out = []
    for i in range(rounds):
        maker_buys = i % 2 == 0
        px = Decimal(95000 + (i % 7) - 3)
        sz = Decimal("0.01") * (1 + i % 5)
        out.append((i % 40, maker_buys, px, sz, "Gtc"))
        out.append((40 + (i % 40), not maker_buys, px, sz, "Ioc"))
    return out


def _addr(i: int) -> str:
    return "0x" + f"{i + 1:040x}"


def _depth() -> list[tuple[int, bool, Decimal, Decimal]]:
    rows = []
    for k in range(200):
        rows.append((k % 40, True, Decimal(94000 - k), Decimal("0.05")))
        rows.append((k % 40, False, Decimal(96000 + k), Decimal("0.05")))
    return rows


def _run_engine(stream) -> float:
    eng = Engine(start_ms=T0)
    t = T0
    for who, is_buy, px, sz in _depth():
        eng.place_orders(_addr(who), [OrderSpec(0, is_buy, px, sz)], "na", t)
    eng.drain_events()
    addrs = [_addr(i) for i in range(80)]
    start = time.process_time()
    for n, (who, is_buy, px, sz, tif) in enumerate(stream):
        t = T0 + n  # one ms per order: the clock moves like a live venue's
        eng.place_orders(addrs[who], [OrderSpec(0, is_buy, px, sz, False, tif)], "na", t)
        if n % 2:
            eng.drain_events()
    return time.process_time() - start


class _NaiveBook:
    """The baseline: one list of resting orders, scanned on every match."""

    def __init__(self) -> None:
        self.orders: list[list] = []  # [seq, user, is_buy, px, sz]
        self.seq = 0

    def place(self, user: int, is_buy: bool, px: Decimal, sz: Decimal, tif: str) -> Decimal:
        filled = Decimal(0)
        while sz > 0:
            best = None
            for o in self.orders:
                if o[2] == is_buy:
                    continue
                if best is None or (o[3] < best[3] if is_buy else o[3] > best[3]) or (o[3] == best[3] and o[0] < best[0]):
                    best = o
            if best is None or (best[3] > px if is_buy else best[3] < px):
                break
            q = min(sz, best[4])
            best[4] -= q
            sz -= q
            filled += q
            if best[4] == 0:
                self.orders.remove(best)
        if sz > 0 and tif == "Gtc":
            self.seq += 1
            self.orders.append([self.seq, user, is_buy, px, sz])
        return filled


def _run_naive(stream) -> float:
    book = _NaiveBook()
    for who, is_buy, px, sz in _depth():
        book.place(who, is_buy, px, sz, "Gtc")
    start = time.process_time()
    for who, is_buy, px, sz, tif in stream:
        book.place(who, is_buy, px, sz, tif)
    return time.process_time() - start


def bench_engine(argv: list[str]) -> list[dict]:
    n = 20_000
    if "--orders" in argv:
        n = int(argv[argv.index("--orders") + 1])
    stream = _order_stream(n // 2)
    _run_engine(stream[:2000])  # warm-up
    ours = len(stream) / min(_run_engine(stream) for _ in range(3))
    naive = len(stream) / min(_run_naive(stream) for _ in range(3))
    return [
        metric("engine orders/s (50% rest, 50% match)", "orders/s", ours, naive, "naive list-scan matcher",
               higher_is_better=True),
        metric("engine orders/s vs target", "orders/s", ours, TARGET_ORDERS_PER_S, "target 20,000 orders/s",
               higher_is_better=True),
    ]


SECTIONS = {"engine": bench_engine}


def main(argv: list[str]) -> None:
    chosen = list(SECTIONS)
    if "--section" in argv:
        chosen = [argv[argv.index("--section") + 1]]
    metrics: list[dict] = []
    for name in chosen:
        metrics.extend(SECTIONS[name](argv))
    report("devnet", metrics, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
