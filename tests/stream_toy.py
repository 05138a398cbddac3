"""A toy venue for stream tests: its wire protocol (client side) and a loopback server.

The protocol borrows the two book schemes perpcli must handle:
- `l2Book` (Hyperliquid): every message is a full top-N snapshot, first one right after the ack.
- `depth` (Binance/Aster): diffs only, chained by U/u/pu; the snapshot comes from "REST"
  (`ToyMarket.rest_snapshot`, served in-process with a little latency) with `lastUpdateId`.
Heartbeat is Hyperliquid's: `{"method":"ping"}` -> `{"channel":"pong"}`.

The server mutates its books with a seeded random walk that never crosses (bids below 100,
asks above 100), drops connections at seeded random moments (clean closes and aborts), refuses
reconnects with 503 for a short while after a drop, and can lose diffs on purpose (gaps).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from perpcli.domain.events import BookDiff, BookSnapshot, Event
from perpcli.net.stream import FrameKind, Inbound, Resync, Subscription

VENUE = "toy"
TOP_N = 10


# ---------------------------------------------------------------- client-side protocol


def l2book_sub(coin: str) -> Subscription:
    return Subscription(("l2Book", coin), {"type": "l2Book", "coin": coin}, f"l2Book:{coin}", Resync.NEXT_MESSAGE)


def depth_sub(coin: str) -> Subscription:
    return Subscription(("depth", coin), {"type": "depth", "coin": coin}, f"depth:{coin}", Resync.REST_SNAPSHOT)


def orderbook_sub(coin: str) -> Subscription:
    return Subscription(("orderbook", coin), {"type": "orderbook", "coin": coin}, f"orderbook:{coin}", Resync.RESUBSCRIBE)


def _levels(pairs: Sequence[Sequence[str]]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((Decimal(p), Decimal(q)) for p, q in pairs)


class ToyProtocol:
    """The client half of the toy venue: what an adapter's stream codec looks like."""

    def __init__(self, venue: str = VENUE) -> None:
        self.venue = venue  # one toy server can stand in for two venues feeding one store

    def subscribe_frames(self, sub: Subscription) -> Sequence[str]:
        return [json.dumps({"method": "subscribe", "subscription": sub.params})]

    def unsubscribe_frames(self, sub: Subscription) -> Sequence[str]:
        return [json.dumps({"method": "unsubscribe", "subscription": sub.params})]

    def ping_frame(self) -> str | None:
        return '{"method":"ping"}'

    def decode(self, text: str) -> Sequence[Inbound]:
        if not text.startswith("{"):
            return [Inbound(FrameKind.IGNORE, detail=text)]
        msg = json.loads(text)
        channel = msg.get("channel")
        data = msg.get("data")
        if channel == "pong":
            return [Inbound(FrameKind.PONG)]
        if channel == "ping":
            return [Inbound(FrameKind.PING, reply='{"method":"pong"}')]
        if channel == "post":  # Hyperliquid-style request/response over the socket
            return [Inbound(FrameKind.RESPONSE, request_id=data["id"], payload=data["response"])]
        if channel == "subscriptionResponse":
            s = data["subscription"]
            return [Inbound(FrameKind.ACK, key=(s["type"], s["coin"]))]
        if channel == "error":
            return [Inbound(FrameKind.ERROR, detail=str(data))]
        if channel == "l2Book":
            bids, asks = data["levels"]
            event = BookSnapshot(
                self.venue,
                data["coin"],
                tuple((Decimal(x["px"]), Decimal(x["sz"])) for x in bids),
                tuple((Decimal(x["px"]), Decimal(x["sz"])) for x in asks),
                time_ms=data["time"],
            )
            return [Inbound(FrameKind.DATA, key=("l2Book", data["coin"]), events=(event,))]
        if channel == "orderbook":  # Lighter-style: snapshot on subscribe, then begin/nonce chain
            bids, asks = _levels(data["b"]), _levels(data["a"])
            if data.get("snapshot"):
                event: Event = BookSnapshot(self.venue, data["coin"], bids, asks, sequence=data["nonce"])
            else:
                event = BookDiff(self.venue, data["coin"], bids, asks, first_seq=data["begin"], last_seq=data["nonce"])
            return [Inbound(FrameKind.DATA, key=("orderbook", data["coin"]), events=(event,))]
        if channel == "depth":
            event = BookDiff(
                self.venue,
                data["s"],
                _levels(data["b"]),
                _levels(data["a"]),
                first_seq=data["U"],
                last_seq=data["u"],
                prev_seq=data["pu"],
                time_ms=data["E"],
            )
            return [Inbound(FrameKind.DATA, key=("depth", data["s"]), events=(event,))]
        return [Inbound(FrameKind.IGNORE, detail=str(channel))]

    def decode_snapshot(self, sub: Subscription, text: str) -> Sequence[Event]:
        body = json.loads(text)
        coin = sub.params["coin"]
        return [
            BookSnapshot(
                self.venue, coin, _levels(body["bids"]), _levels(body["asks"]), time_ms=body["T"],
                sequence=body["lastUpdateId"],
            )
        ]


# ---------------------------------------------------------------- server-side market


@dataclass
class ToyBook:
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)
    seq: int = 1000
    time_ms: int = 1_764_000_000_000  # when it last changed

    def sorted_bids(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.bids.items(), key=lambda kv: kv[0], reverse=True)

    def sorted_asks(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.asks.items(), key=lambda kv: kv[0])


TICK = Decimal("0.1")


class ToyMarket:
    """Seeded random walk of uncrossed books: bids in [90, 99.9], asks in [100.1, 110]."""

    def __init__(self, coins: Sequence[str], rng: random.Random) -> None:
        self.rng = rng
        self.books = {c: ToyBook() for c in coins}
        self.time_ms = 1_764_000_000_000
        for book in self.books.values():
            for i in range(1, 16):
                book.bids[Decimal(100) - TICK * i] = Decimal(rng.randint(1, 50))
                book.asks[Decimal(100) + TICK * i] = Decimal(rng.randint(1, 50))

    def step(self) -> list[dict[str, Any]]:
        """Change a few levels of one or two books; returns the depth diffs (U/u/pu)."""
        self.time_ms += 7
        diffs = []
        for coin in self.rng.sample(sorted(self.books), k=self.rng.randint(1, len(self.books))):
            book = self.books[coin]
            changes: dict[str, dict[Decimal, Decimal]] = {"b": {}, "a": {}}
            for _ in range(self.rng.randint(1, 4)):
                side = self.rng.choice("ba")
                offset = TICK * self.rng.randint(1, 100)
                price = Decimal(100) - offset if side == "b" else Decimal(100) + offset
                levels = book.bids if side == "b" else book.asks
                if price in levels and self.rng.random() < 0.4:
                    size = Decimal(0)
                    del levels[price]
                else:
                    size = Decimal(self.rng.randint(1, 80)) / 4
                    levels[price] = size
                changes[side][price] = size
            count = self.rng.randint(1, 3)  # one event may stand for several update ids
            diffs.append(
                {
                    "e": "depthUpdate",
                    "E": self.time_ms,
                    "s": coin,
                    "U": book.seq + 1,
                    "u": book.seq + count,
                    "pu": book.seq,
                    "b": [[str(p), str(q)] for p, q in changes["b"].items()],
                    "a": [[str(p), str(q)] for p, q in changes["a"].items()],
                }
            )
            book.seq += count
            book.time_ms = self.time_ms
        return diffs

    def l2book(self, coin: str) -> dict[str, Any]:
        book = self.books[coin]
        return {
            "coin": coin,
            "time": book.time_ms,
            "levels": [
                [{"px": str(p), "sz": str(q), "n": 1} for p, q in book.sorted_bids()[:TOP_N]],
                [{"px": str(p), "sz": str(q), "n": 1} for p, q in book.sorted_asks()[:TOP_N]],
            ],
        }

    def rest_snapshot(self, coin: str) -> str:
        book = self.books[coin]
        return json.dumps(
            {
                "lastUpdateId": book.seq,
                "T": book.time_ms,
                "bids": [[str(p), str(q)] for p, q in book.sorted_bids()],
                "asks": [[str(p), str(q)] for p, q in book.sorted_asks()],
            }
        )


# ---------------------------------------------------------------- server


@dataclass
class ToyServerSettings:
    tick: float = 0.003  # seconds between market steps (0 = the test steps by hand)
    drop_after: tuple[int, int] | None = None  # drop a connection after this many frames (range)
    refuse_for: float = 0.0  # after a drop, answer 503 to new connections for this long
    lose_diff_probability: float = 0.0  # drop a diff on purpose (the client must see a gap)
    answer_pings: bool = True
    send_data: bool = True
    greeting: str = "Websocket connection established."
    reject_with: int | None = None  # answer every upgrade with this HTTP status (e.g. 403)


@dataclass
class _Conn:
    ws: ServerConnection
    subs: set[tuple[str, str]] = field(default_factory=set)
    frames_left: int | None = None


class ToyServer:
    def __init__(self, market: ToyMarket, settings: ToyServerSettings, rng: random.Random) -> None:
        self.market = market
        self.settings = settings
        self.rng = rng
        self.conns: list[_Conn] = []
        self.pings_received = 0
        self.connections_accepted = 0
        self.connections_refused = 0
        self.drops = 0
        self.diffs_lost = 0
        self.frozen = False
        self._refuse_until = 0.0
        self._server: Any = None
        self._ticker: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def __aenter__(self) -> ToyServer:
        self._server = await serve(
            self._handler, "127.0.0.1", 0, process_request=self._gate, ping_interval=None, compression=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.settings.tick > 0:
            self._ticker = asyncio.create_task(self._run_market())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self._server.close()
        await self._server.wait_closed()

    def _gate(self, connection: ServerConnection, request: Any) -> Any:
        if self.settings.reject_with is not None:
            self.connections_refused += 1
            return connection.respond(HTTPStatus(self.settings.reject_with), "no\n")
        loop = asyncio.get_running_loop()
        if loop.time() < self._refuse_until:
            self.connections_refused += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down for maintenance\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        conn = _Conn(ws)
        if self.settings.drop_after is not None:
            conn.frames_left = self.rng.randint(*self.settings.drop_after)
        self.connections_accepted += 1
        self.conns.append(conn)
        try:
            await ws.send(self.settings.greeting)
            async for text in ws:
                msg = json.loads(text)
                method = msg.get("method")
                if method == "ping":
                    self.pings_received += 1
                    if self.settings.answer_pings:
                        await ws.send('{"channel":"pong"}')
                elif method in ("subscribe", "unsubscribe"):
                    sub = msg["subscription"]
                    key = (sub["type"], sub["coin"])
                    (conn.subs.add if method == "subscribe" else conn.subs.discard)(key)
                    await ws.send(json.dumps({"channel": "subscriptionResponse", "data": msg}))
                    if method == "subscribe" and sub["type"] == "l2Book" and self.settings.send_data:
                        await self._send(conn, {"channel": "l2Book", "data": self.market.l2book(sub["coin"])})
        except Exception:
            pass  # the client vanished or we dropped it: nothing to clean up but the list
        finally:
            if conn in self.conns:
                self.conns.remove(conn)

    async def _send(self, conn: _Conn, msg: dict[str, Any]) -> None:
        await conn.ws.send(json.dumps(msg))
        if conn.frames_left is not None and not self.frozen:
            conn.frames_left -= 1
            if conn.frames_left <= 0:
                await self.drop(conn)

    async def drop(self, conn: _Conn) -> None:
        """Cut one connection, half the time politely and half the time abruptly."""
        self.drops += 1
        if conn in self.conns:
            self.conns.remove(conn)
        self._refuse_until = asyncio.get_running_loop().time() + self.settings.refuse_for
        if self.rng.random() < 0.5:
            conn.ws.transport.abort()
        else:
            await conn.ws.close(1012, "service restart")

    async def publish_step(self) -> None:
        """One market step, sent to every subscriber."""
        diffs = self.market.step()
        if not self.settings.send_data:
            return
        for conn in list(self.conns):
            try:
                for diff in diffs:
                    coin = diff["s"]
                    if ("depth", coin) in conn.subs:
                        if self.rng.random() < self.settings.lose_diff_probability and not self.frozen:
                            self.diffs_lost += 1
                            continue
                        await self._send(conn, {"channel": "depth", "data": diff})
                    if ("l2Book", coin) in conn.subs and conn in self.conns:
                        await self._send(conn, {"channel": "l2Book", "data": self.market.l2book(coin)})
                    if conn not in self.conns:
                        break
            except Exception:
                if conn in self.conns:
                    self.conns.remove(conn)

    async def _run_market(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick)
            if not self.frozen:
                await self.publish_step()

    async def fetch_snapshot(self, sub: Subscription) -> str:
        """The toy's REST depth endpoint: a little latency, then the book as it is now."""
        await asyncio.sleep(self.rng.uniform(0.001, 0.006))
        return self.market.rest_snapshot(sub.params["coin"])
