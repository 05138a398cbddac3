"""`perp watch` on the session agent's venue connections instead of sockets of its own.

The TUI keeps its own StreamSession, sink and venue protocol; only the connection changes: the
connector opens the agent's Unix socket (session/feed.py) instead of the venue's websocket, and
the frames that come back are the venue's own text frames (app/feed_taps.py), decoded here by
the same venue code as ever. So books, trades, fills and order updates reach the Store by the
same path, and staleness (a silent feed), resync and reconnects work as with its own socket:
when the agent loses the venue, the TUI's connection is dropped with the reason and it
reconnects through the agent (which takes it back once it is connected again).

What goes up differs: a subscription is named by its LiveFeed member and argument (("book",
"BTC"), ("fills", "0x...")), which the agent subscribes on its own connection; pings are the
agent's business. `SessionGone` (no agent, another user's, or one that does not stream this
venue at this endpoint) is not retried by the stream: the source then streams on its own and
tries the agent again every few seconds (tui/live.py, through a `Trial` connector).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Hashable, Sequence
from typing import Any

from perpcli.domain.errors import NetworkError, PerpError
from perpcli.net.stream import Inbound, Subscription
from perpcli.session import protocol


class SessionGone(PerpError):
    """The session cannot serve this stream (gone, or not streaming it): stream on our own."""

    retryable = False


class AgentDown(NetworkError):
    """The agent's own connection to the venue is down: reconnect through it, as to a venue."""


def available() -> bool:
    """A session agent's socket exists (it may still refuse or be gone: the connector finds out)."""
    return os.path.exists(protocol.socket_path())


class AttachedProtocol:
    """The venue's StreamProtocol, with subscriptions sent as requests to the agent."""

    def __init__(self, inner: Any, specs: dict[Hashable, tuple[str, str]]) -> None:
        self.inner = inner
        self.venue = inner.venue
        self.specs = specs  # subscription key -> (LiveFeed member, argument), filled by the source

    def _frames(self, op: str, sub: Subscription) -> Sequence[str]:
        kind, arg = self.specs[sub.key]
        return [json.dumps({"op": op, "feed": [kind, arg]})]

    def subscribe_frames(self, sub: Subscription) -> Sequence[str]:
        return self._frames("sub", sub)

    def unsubscribe_frames(self, sub: Subscription) -> Sequence[str]:
        return self._frames("unsub", sub)

    def ping_frame(self) -> str | None:
        return None  # the agent pings the venue; a silent feed is still caught by its own limit

    def decode(self, text: str) -> Sequence[Inbound]:
        return self.inner.decode(text)

    def decode_snapshot(self, sub: Subscription, text: str) -> Sequence[Any]:
        return self.inner.decode_snapshot(sub, text)


class _AgentSocket:
    """The websocket-shaped end of a feed connection that StreamSession reads and writes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def __aiter__(self) -> _AgentSocket:
        return self

    async def __anext__(self) -> str:
        while True:
            kind, body = await _read_frame(self.reader, eof=StopAsyncIteration)
            if kind == protocol.FRAME_TEXT:
                return body.decode()
            doc = json.loads(body)
            if "down" in doc:
                raise AgentDown(f"session: {doc['down']}")

    async def send(self, text: str) -> None:
        self.writer.write(protocol.frame(protocol.FRAME_JSON, text.encode()))
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def _read_frame(reader: asyncio.StreamReader, *, eof: type[BaseException]) -> tuple[bytes, bytes]:
    try:
        size = protocol.frame_length(await reader.readexactly(protocol.HEADER_SIZE))
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise eof() from None
    return body[:1], body[1:]


class Trial:
    """A connector on trial (a watch streaming on its own, trying the agent): one attempt only.
    Its refusal is kept for the watch to show; a second attempt before the watch took the stream
    on (the agent dropped it while it synced) is refused here without asking the agent again, so
    an agent that refuses is asked once per try, whatever the stream's backoff. Once `taken`, it
    reconnects through the agent as any attached stream does."""

    def __init__(self, connect: Any) -> None:
        self.connect = connect
        self.tried = False
        self.taken = False
        self.refusal = ""

    async def __call__(self, url: str, **options: Any) -> _AgentSocket:
        if self.tried and not self.taken:
            raise SessionGone("the session dropped the stream before it was in sync")
        self.tried = True
        try:
            return await self.connect(url, **options)
        except PerpError as e:
            if not self.taken:
                self.refusal = str(e)
            raise


def connector(hello: dict[str, Any]) -> Any:
    """A StreamSession connector to the agent for the stream `hello` names (venue, url,
    network, ws_url, account)."""

    async def connect(_url: str, **_options: Any) -> _AgentSocket:
        path = protocol.socket_path()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), 2.0)
        except (OSError, TimeoutError) as e:
            raise SessionGone(f"no session agent ({type(e).__name__})") from None
        try:
            sock = writer.get_extra_info("socket")
            if not protocol.peer_allowed(protocol.peer_uid(sock), os.getuid()):
                raise SessionGone("the session socket is another user's")
            writer.write(protocol.frame(protocol.FRAME_JSON, json.dumps({"v": protocol.VERSION, "op": "watch",
                                                                          **hello}).encode()))
            try:
                kind, body = await asyncio.wait_for(_read_frame(reader, eof=ConnectionResetError), 10.0)
            except (OSError, TimeoutError) as e:
                raise SessionGone(f"the session agent did not answer ({type(e).__name__})") from None
            answer = json.loads(body) if kind == protocol.FRAME_JSON else {}
            if answer.get("ok") is not True:
                why = str(answer.get("why") or "refused")
                raise (AgentDown if answer.get("retry") else SessionGone)(f"session: {why}")
        except BaseException:
            writer.close()
            raise
        return _AgentSocket(reader, writer)

    return connect
