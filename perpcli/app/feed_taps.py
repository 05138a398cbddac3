"""Clients tapping one of the session agent's venue connections (`perp watch` attached).

WHY raw frames: each attached client gets the text frames the venue sent, exactly as sent, and
decodes them with the same venue protocol code and StreamSession it would run on its own socket;
so its Store is fed through the very path it uses without a session, its staleness and resync
rules are its own, and nothing is re-encoded here. The agent decodes each frame once for itself
anyway; `TeeProtocol.decode` reads the routing keys of that decode and sends the frame to every
client that subscribed one of them. A frame whose data no client asked for is not sent.

Connection health: when the agent's venue connection drops, every client on it is told "down"
(with the reason) and disconnected: its StreamSession sees a lost connection, marks its feeds
stale and reconnects through the agent, exactly as it would after losing its own socket. The
agent takes a client back only while its own connection is up; a newcomer subscribing a feed the
agent already streams gets the venue's fresh answer to a subscription (the agent subscribes it
again at the venue), as it would on a socket of its own; REST-snapshot feeds fetch their own.

Bounded: frames are written without waiting; a client whose unread backlog passes MAX_BACKLOG
is cut off at once (drop-and-resync: it reconnects and resynchronises every feed, as after any
lost connection). One slow TUI never grows the agent's memory nor slows the venue's reader.

Everything here runs on the agent's streams loop (app/algos/streams.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any

from perpcli.domain.events import ConnectionState
from perpcli.net.stream import FrameKind, Inbound
from perpcli.session import protocol

MAX_BACKLOG = 4 * 1024 * 1024  # bytes written to one client and not yet read by it
_DATA = FrameKind.DATA
_DOWN = (ConnectionState.RECONNECTING, ConnectionState.DOWN)


class Tap:
    """One attached client: the routing keys it subscribed, and its socket's writer."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.keys: set[Hashable] = set()
        self.closed = False

    def send(self, kind: bytes, body: bytes) -> None:
        if self.closed:
            return
        transport = self.writer.transport
        if transport.get_write_buffer_size() > MAX_BACKLOG:
            self.closed = True
            transport.abort()  # too slow: cut off; it reconnects and resyncs
            return
        self.writer.write(protocol.frame(kind, body))

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.send(protocol.FRAME_JSON, json.dumps({"down": reason}).encode())
        self.closed = True
        self.writer.close()


class Taps:
    """The clients on one venue connection of the agent."""

    def __init__(self) -> None:
        self.clients: set[Tap] = set()

    def forward(self, text: str, inbounds: Sequence[Inbound]) -> None:
        body: bytes | None = None
        for tap in list(self.clients):
            keys = tap.keys
            if any(i.kind is _DATA and i.key in keys for i in inbounds):
                if body is None:
                    body = text.encode()
                tap.send(protocol.FRAME_TEXT, body)

    def connection(self, state: ConnectionState, detail: str) -> None:
        """The agent's own connection changed state: a lost one takes its clients with it."""
        if state in _DOWN and self.clients:
            for tap in list(self.clients):
                tap.close(detail or state.value)
            self.clients.clear()


class TeeProtocol:
    """The venue's StreamProtocol, handing each decoded frame to the taps as well."""

    def __init__(self, inner: Any, taps: Taps) -> None:
        self.inner = inner
        self.venue = inner.venue
        self.taps = taps

    def decode(self, text: str) -> Sequence[Inbound]:
        inbounds = self.inner.decode(text)
        if self.taps.clients:
            self.taps.forward(text, inbounds)
        return inbounds

    def subscribe_frames(self, sub: Any) -> Sequence[str]:
        return self.inner.subscribe_frames(sub)

    def unsubscribe_frames(self, sub: Any) -> Sequence[str]:
        return self.inner.unsubscribe_frames(sub)

    def ping_frame(self) -> str | None:
        return self.inner.ping_frame()

    def decode_snapshot(self, sub: Any, text: str) -> Sequence[Any]:
        return self.inner.decode_snapshot(sub, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# subscribe(kind, argument): make sure the agent streams that feed
Subscriber = Callable[[str, str], Awaitable[Any]]


async def serve(sock: Any, taps: Taps, kinds: Mapping[str, Callable[[str], Any]], subscribe: Subscriber) -> None:
    """One attached client until it goes: accept, then follow its `sub`/`unsub` requests.
    `kinds`: what it may ask for on this connection, each building the Subscription from its
    argument (the LiveFeed's book, trades; or an account's orders, fills, or its one socket feed)."""
    reader, writer = await asyncio.open_connection(sock=sock)
    tap = Tap(writer)
    taps.clients.add(tap)
    try:
        tap.send(protocol.FRAME_JSON, b'{"ok":true}')
        while not tap.closed:
            size = protocol.frame_length(await reader.readexactly(protocol.HEADER_SIZE))
            body = await reader.readexactly(size)
            if body[:1] != protocol.FRAME_JSON:
                break
            doc = json.loads(body[1:])
            spec = doc.get("feed")
            if not (isinstance(spec, list) and len(spec) == 2 and spec[0] in kinds and isinstance(spec[1], str)):
                break
            key = kinds[spec[0]](spec[1]).key
            if doc.get("op") == "sub":
                tap.keys.add(key)  # before subscribing: the venue's first answer is for this client too
                await subscribe(spec[0], spec[1])
            elif doc.get("op") == "unsub":
                tap.keys.discard(key)  # the agent keeps streaming it (warm for the next client, algos)
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, TypeError):
        pass  # the client went away, or sent what no client of ours sends
    finally:
        taps.clients.discard(tap)
        tap.closed = True
        writer.close()
