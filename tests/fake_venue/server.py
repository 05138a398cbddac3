"""The fake venue's websocket face on a loopback port, so its `LiveFeed` is reached exactly as a
real venue's is: `net.stream.StreamSession` with the default connector.

Binance-style framing: `{"method":"SUBSCRIBE","params":[stream],"id":n}` is answered
`{"result":null,"id":n}`; data arrives as `{"stream": name, "data": {...}}`. Streams are
`<symbol>@depth` (diffs), `<symbol>@aggTrade`, and the account address (its user-data stream).
A ticker nudges the maker every `tick_s` so depth always moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from tests.fake_venue.exchange import FakeExchange


class FakeVenueServer:
    def __init__(self, exchange: FakeExchange, *, tick_s: float = 0.05) -> None:
        self.exchange = exchange
        self.tick_s = tick_s
        self.loop = asyncio.new_event_loop()
        self.clients: dict[ServerConnection, tuple[set[str], asyncio.Queue[str]]] = {}
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._run, name="fake-venue-ws", daemon=True)
        exchange.publish = self._publish

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> FakeVenueServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake venue websocket face did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)

    def drop_all(self) -> None:
        """Close every client socket (a venue restart); clients reconnect and resync."""
        def close() -> None:
            for ws in list(self.clients):
                self.loop.create_task(ws.close())
        self.loop.call_soon_threadsafe(close)

    def _publish(self, stream: str, data: dict[str, Any]) -> None:
        """Called with the exchange lock held, from any thread: frames keep the engine's order."""
        text = json.dumps({"stream": stream, "data": data}, separators=(",", ":"))
        for streams, queue in list(self.clients.values()):
            if stream in streams:
                self.loop.call_soon_threadsafe(queue.put_nowait, text)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        self._stop = self.loop.create_future()
        async with serve(self._handler, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            ticker = asyncio.create_task(self._ticker())
            await self._stop
            ticker.cancel()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self.exchange.tick()

    async def _handler(self, ws: ServerConnection) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        streams: set[str] = set()

        async def sender() -> None:
            while True:
                await ws.send(await queue.get())

        task = asyncio.create_task(sender())
        self.clients[ws] = (streams, queue)
        try:
            async for message in ws:
                msg = json.loads(message)
                params = [str(p) for p in msg.get("params", [])]
                with self.exchange.lock:  # no frame of a stream slips between subscribe and its ack
                    if msg.get("method") == "SUBSCRIBE":
                        streams.update(params)
                    elif msg.get("method") == "UNSUBSCRIBE":
                        streams.difference_update(params)
                    queue.put_nowait(json.dumps({"result": None, "id": msg.get("id")}))
        except Exception:  # noqa: BLE001 - a client going away is normal
            pass
        finally:
            self.clients.pop(ws, None)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
