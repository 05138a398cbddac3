"""Websocket receive: our StreamSession beside the raw `websockets` client it is built on.

    .venv/bin/python bench/stream.py [--json] [--frames N]

A server in another process sends N small text frames on loopback as fast as it can. The
baseline counts them with a bare `async for message in ws`; ours receives them through a
StreamSession (routing, staleness timestamps, sync verdicts, statuses) with a protocol whose
decode costs nothing, so the figure is the session's own overhead, which DESIGN.md budgets at
<= 20% over the raw library. A third row adds the NDJSON frame recorder.

Rates are frames per second of the CLIENT's CPU time (process_time, connect included), not of
wall time: on a shared 2-core box the wall rate mostly measures the sender and the neighbours.
Best of 3 runs each, interleaved.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import metric, report  # noqa: E402

from perpcli.net.recorder import FrameRecorder  # noqa: E402
from perpcli.net.stream import FrameKind, Inbound, StreamSession, Subscription, SyncVerdict  # noqa: E402

FRAME = '{"channel":"trades","data":[{"coin":"ETH","px":"3000.1","sz":"0.5","tid":1}]}'


def _arg(name: str, default: int) -> int:
    argv = sys.argv[1:]
    return int(argv[argv.index(name) + 1]) if name in argv else default


def _serve(port_queue: mp.Queue, frames: int) -> None:
    from websockets.asyncio.server import serve

    async def handler(ws) -> None:
        await ws.recv()  # "go" (the subscribe frame)
        for _ in range(frames):
            await ws.send(FRAME)
        await ws.close()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
            port_queue.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


class _Protocol:
    venue = "bench"
    _data = (Inbound(FrameKind.DATA, key="trades"),)

    def subscribe_frames(self, sub):
        return ["go"]

    def unsubscribe_frames(self, sub):
        return []

    def ping_frame(self):
        return '{"method":"ping"}'

    def decode(self, text):
        return self._data

    def decode_snapshot(self, sub, text):
        return []


class _CountingSink:
    def __init__(self, target: int) -> None:
        self.target = target
        self.count = 0
        self.done = asyncio.Event()

    def begin_sync(self, key) -> None:
        pass

    def apply(self, key, events):
        self.count += 1
        if self.count == self.target:
            self.done.set()
        return SyncVerdict.IN_SYNC

    def status(self, key, status) -> None:
        pass


async def _raw(url: str, frames: int) -> float:
    from websockets.asyncio.client import connect

    t = time.process_time()
    async with connect(url, compression=None, ping_interval=None) as ws:
        await ws.send("go")
        n = 0
        async for _ in ws:
            n += 1
            if n == frames:
                break
        elapsed = time.process_time() - t
    assert n == frames
    return frames / elapsed


async def _ours(url: str, frames: int, record: bool) -> float:
    sink = _CountingSink(frames)
    with tempfile.TemporaryDirectory() as tmp:
        recorder = FrameRecorder(Path(tmp) / "frames.ndjson") if record else None
        session = StreamSession(url, _Protocol(), sink, recorder=recorder)
        await session.subscribe(Subscription("trades", None, "trades"))
        t = time.process_time()
        async with session:
            await sink.done.wait()
            rate = frames / (time.process_time() - t)
        if recorder is not None:
            recorder.close()
    return rate


def main() -> None:
    frames = _arg("--frames", 100_000)
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(q, frames), daemon=True)
    server.start()
    try:
        url = f"ws://127.0.0.1:{q.get(timeout=20)}/"

        async def run() -> tuple[float, float, float]:
            raw, ours, rec = [], [], []
            for _ in range(3):
                raw.append(await _raw(url, frames))
                ours.append(await _ours(url, frames, record=False))
                rec.append(await _ours(url, frames, record=True))
            return max(raw), max(ours), max(rec)

        raw, ours, rec = asyncio.run(run())
    finally:
        server.terminate()
        server.join()
    report(
        f"websocket receive on loopback, {frames} small frames (best of 3)",
        [
            metric("stream session receive", "msg/s", ours, raw, "raw websockets client", higher_is_better=True),
            metric("stream session + recorder", "msg/s", rec, raw, "raw websockets client", higher_is_better=True),
        ],
    )


if __name__ == "__main__":
    main()
