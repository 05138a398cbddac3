"""Devnet benchmarks. Sections: engine (in-process matching), http and ws (the server faces:
signed order round trips on loopback); more are added by appending a `bench_<name>()` function
and listing it in SECTIONS.

    .venv/bin/python bench/devnet.py [--json] [--section engine|http|ws] [--orders N] [--requests N]

Engine workload (deterministic): one BTC book with 200 resting orders per side kept far from
the touch (depth a scan must walk past), 40 maker accounts and 40 taker accounts. Each round
a maker posts a GTC order at the touch and a taker sends an IOC that fills it completely,
so half the orders rest and half match. Every order passes the engine's full path: venue
price/size rules, margin check, price-time matching, fees, positions, fills, order history,
candles and websocket events (drained each round, as the server does).

Baseline, measured in the same run on the same order stream: a naive matcher that keeps
resting orders in one list and scans it for the best price on every match (Decimal prices,
price-time priority, no margin, fees or history). The 20,000 orders/s target is printed too.
Times are CPU time of this process (time.process_time), runs of ours and of the baseline
interleaved, best of three each: the machine is shared, and wall time swings with its load.
"""

from __future__ import annotations

import statistics
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


def _run_engine(stream) -> tuple[float, float]:
    """(seconds for the whole stream, seconds spent in the matching IOC orders alone)."""
    eng = Engine(start_ms=T0)
    t = T0
    for who, is_buy, px, sz in _depth():
        eng.place_orders(_addr(who), [OrderSpec(0, is_buy, px, sz)], "na", t)
    eng.drain_events()
    addrs = [_addr(i) for i in range(80)]
    clock = time.process_time
    taking = 0.0
    start = clock()
    for n, (who, is_buy, px, sz, tif) in enumerate(stream):
        t = T0 + n  # one ms per order: the clock moves like a live venue's
        spec = OrderSpec(0, is_buy, px, sz, False, tif)
        if n % 2:
            t0 = clock()
            eng.place_orders(addrs[who], [spec], "na", t)
            taking += clock() - t0
            eng.drain_events()
        else:
            eng.place_orders(addrs[who], [spec], "na", t)
    return clock() - start, taking


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


def _run_naive(stream) -> tuple[float, float]:
    book = _NaiveBook()
    for who, is_buy, px, sz in _depth():
        book.place(who, is_buy, px, sz, "Gtc")
    clock = time.process_time
    taking = 0.0
    start = clock()
    for n, (who, is_buy, px, sz, tif) in enumerate(stream):
        if n % 2:
            t0 = clock()
            book.place(who, is_buy, px, sz, tif)
            taking += clock() - t0
        else:
            book.place(who, is_buy, px, sz, tif)
    return clock() - start, taking


def bench_engine(argv: list[str] | None = None) -> list[dict]:
    """Engine section: metric records (see the module docstring). `--orders N` sets the size."""
    argv = sys.argv[1:] if argv is None else argv
    n = 20_000
    if "--orders" in argv:
        n = int(argv[argv.index("--orders") + 1])
    stream = _order_stream(n // 2)
    _run_engine(stream[:2000])  # warm-up
    # Interleave the runs so both sides see the same machine load; keep each side's best.
    ours_runs, naive_runs = [], []
    for _ in range(3):
        ours_runs.append(_run_engine(stream))
        naive_runs.append(_run_naive(stream))
    ours = len(stream) / min(r[0] for r in ours_runs)
    naive = len(stream) / min(r[0] for r in naive_runs)
    takers = len(stream) // 2
    ours_match = takers / min(r[1] for r in ours_runs)
    naive_match = takers / min(r[1] for r in naive_runs)
    return [
        metric("engine orders/s (50% rest, 50% match)", "orders/s", ours, naive, "naive list-scan matcher",
               higher_is_better=True),
        metric("engine orders/s vs target", "orders/s", ours, TARGET_ORDERS_PER_S, "target 20,000 orders/s",
               higher_is_better=True),
        metric("engine matching orders/s (IOC that fills)", "orders/s", ours_match, naive_match,
               "naive list-scan matcher", higher_is_better=True),
    ]


# ----- the server faces: HTTP and websocket round trips (devnet server engineer) ------------------


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * q))]


def _signed_order_bodies(n: int) -> list[bytes]:
    """Pre-signed resting orders (so only the server is timed, not the client's signing)."""
    import json as _json

    from perpcli.keys.signer import Signer
    from perpcli.venues.hyperliquid import actions, signing

    signer = Signer.from_hex("0x" + "be" * 32)
    base = time.time_ns() // 1_000_000
    bodies = []
    for i in range(n):
        spec = actions.OrderSpec(0, True, Decimal(60000 + i), Decimal("0.001"))
        action = actions.order_action([spec])
        nonce = base + i
        sig = signing.sign_l1_action(signer, action, nonce=nonce, is_mainnet=False)
        bodies.append(_json.dumps(signing.exchange_request_body(action, nonce=nonce, signature=sig)).encode())
    return bodies


def _bare_http_floor():
    """A minimal asyncio HTTP/1.1 responder (fixed answer) in a thread: the loopback floor."""
    import asyncio
    import threading

    started = threading.Event()
    box: dict = {}

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                body = b'{"status":"ok"}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        box["port"] = server.sockets[0].getsockname()[1]
        box["loop"] = asyncio.get_running_loop()
        box["stop"] = asyncio.Event()
        started.set()
        await box["stop"].wait()
        server.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    started.wait(10)
    return box["port"], lambda: (box["loop"].call_soon_threadsafe(box["stop"].set), thread.join(5))


def bench_http(argv: list[str]) -> list[dict]:
    """p50/p99 of a signed order round trip (verify + nonce + match + render) on loopback keep-alive.

    Bodies are pre-signed, so only the server is timed; the baseline is a bare asyncio HTTP
    responder (fixed answer) driven by the same client over the same kind of connection.
    """
    n = int(argv[argv.index("--requests") + 1]) if "--requests" in argv else 400
    import http.client

    from perpcli.devnet.server import DevnetConfig, start_in_thread

    bodies = _signed_order_bodies(n)
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0))
    port_floor, stop_floor = _bare_http_floor()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(handle.url.rsplit(":", 1)[1]))
        ours = []
        for body in bodies:
            t = time.perf_counter()
            conn.request("POST", "/exchange", body=body, headers={"Content-Type": "application/json"})
            data = conn.getresponse().read()
            ours.append((time.perf_counter() - t) * 1000)
            assert b'"resting"' in data, data
        floor_conn = http.client.HTTPConnection("127.0.0.1", port_floor)
        floor = []
        for body in bodies:
            t = time.perf_counter()
            floor_conn.request("POST", "/exchange", body=body, headers={"Content-Type": "application/json"})
            floor_conn.getresponse().read()
            floor.append((time.perf_counter() - t) * 1000)
        info = []
        for _ in range(n):
            t = time.perf_counter()
            conn.request("POST", "/info", body=b'{"type":"l2Book","coin":"BTC"}',
                         headers={"Content-Type": "application/json"})
            conn.getresponse().read()
            info.append((time.perf_counter() - t) * 1000)
        conn.close()
        floor_conn.close()
    finally:
        stop_floor()
        handle.stop()
    floor_name = "bare asyncio HTTP responder, same client"
    return [
        metric("HTTP order round trip p50", "ms", statistics.median(ours), statistics.median(floor), floor_name),
        metric("HTTP order round trip p99", "ms", _pct(ours, 0.99), _pct(floor, 0.99), floor_name),
        metric("HTTP order round trip p50 vs target", "ms", statistics.median(ours), 3.0, "target p50 3 ms"),
        metric("HTTP l2Book info p50", "ms", statistics.median(info), statistics.median(floor), floor_name),
    ]


def bench_ws(argv: list[str]) -> list[dict]:
    """ws `post` action round trip on the devnet beside a raw `websockets` echo server's round trip."""
    n = int(argv[argv.index("--requests") + 1]) if "--requests" in argv else 400
    import asyncio
    import json as _json
    import threading

    from websockets.asyncio.server import serve as ws_serve
    from websockets.sync.client import connect

    from perpcli.devnet.server import DevnetConfig, start_in_thread

    bodies = _signed_order_bodies(n)
    started = threading.Event()
    box: dict = {}

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async def main():
        async with ws_serve(echo, "127.0.0.1", 0) as server:
            box["port"] = server.sockets[0].getsockname()[1] if hasattr(server, "sockets") else None
            box["loop"] = asyncio.get_running_loop()
            box["stop"] = asyncio.Event()
            started.set()
            await box["stop"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    started.wait(10)
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0))
    try:
        with connect(handle.ws_url) as ws:
            ws.recv(timeout=5)  # greeting
            ours = []
            for i, body in enumerate(bodies):
                msg = f'{{"method":"post","id":{i},"request":{{"type":"action","payload":{body.decode()}}}}}'
                t = time.perf_counter()
                ws.send(msg)
                reply = ws.recv(timeout=5)
                ours.append((time.perf_counter() - t) * 1000)
                assert _json.loads(reply)["data"]["id"] == i
        floor = []
        with connect(f"ws://127.0.0.1:{box['port']}") as ws:
            for body in bodies:
                t = time.perf_counter()
                ws.send(body.decode())
                ws.recv(timeout=5)
                floor.append((time.perf_counter() - t) * 1000)
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(5)
        handle.stop()
    name = "raw websockets echo server, same frames"
    return [
        metric("ws post order round trip p50", "ms", statistics.median(ours), statistics.median(floor), name),
        metric("ws post order round trip p99", "ms", _pct(ours, 0.99), _pct(floor, 0.99), name),
    ]


SECTIONS = {"engine": bench_engine, "http": bench_http, "ws": bench_ws}


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
