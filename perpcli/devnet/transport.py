"""HTTP/1.1 and websocket on one loopback port, in one asyncio loop.

Why not the `websockets` server alone: its HTTP parser accepts only GET, and Hyperliquid's
REST API is POST /info and POST /exchange on the same host and port as /ws (the SDK derives
the ws URL from the REST base). So this module reads HTTP/1.1 itself (keep-alive,
Content-Length or chunked bodies — all that JSON clients send) and, for an upgrade request on
/ws, hands the socket to `websockets`' sans-I/O `ServerProtocol`, which does the handshake and
framing. Everything else (what a request means) lives in the application object passed in.

Every socket is someone else's to misuse, so nothing here waits unbounded: `ConnectionLimits`
times out idle and slow requests and caps open sockets, and malformed framing is a clean 400.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from websockets.frames import OP_BINARY, OP_CLOSE, OP_CONT, OP_TEXT
from websockets.protocol import CLOSED, OPEN
from websockets.server import ServerProtocol

log = logging.getLogger("perpcli.devnet")

MAX_HEAD = 16 * 1024
MAX_BODY = 4 * 1024 * 1024
MAX_WS_BACKLOG = 16 * 1024 * 1024  # bytes queued for a websocket reader that stopped reading
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    peer_host: str
    query: str = ""  # the raw query string (after "?"), for faces that read GET parameters


@dataclass
class HttpResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    hang: bool = False  # fault injection: close the connection without answering
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers (a face's rate-limit counters)


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


class WsConnection:
    """One accepted websocket: send text frames, close, remember when it last spoke."""

    _ids = 0

    def __init__(self, protocol: ServerProtocol, writer: asyncio.StreamWriter, peer_host: str) -> None:
        WsConnection._ids += 1
        self.id = WsConnection._ids
        self.protocol = protocol
        self.writer = writer
        self.peer_host = peer_host
        self.last_activity = time.monotonic()
        self.closed = False
        self.held_frames: list[bytes] = []  # fault injection: frames held back for reordering
        self.subscriptions: dict = {}  # owned by the ws hub (identifier -> subscription)
        self.path = ""  # the request target it was opened with (path and query)

    def send_text(self, data: bytes | str) -> None:
        if self.closed or self.protocol.state is not OPEN:
            return
        if isinstance(data, str):
            data = data.encode()
        self.protocol.send_text(data)
        self._flush()
        self.last_activity = time.monotonic()

    def _flush(self) -> None:
        out = self.protocol.data_to_send()
        if out and not self.writer.is_closing():
            self.writer.write(b"".join(out))
            transport = self.writer.transport
            if transport is not None and transport.get_write_buffer_size() > MAX_WS_BACKLOG:
                self.drop()  # a reader this far behind is gone; the venue disconnects it too

    def close(self, code: int = 1000, reason: str = "") -> None:
        """A clean close handshake (idle timeout, shutdown)."""
        if self.closed:
            return
        try:
            if self.protocol.state is OPEN:
                self.protocol.send_close(code, reason)
                self._flush()
        finally:
            self.closed = True
            self.writer.close()

    def drop(self) -> None:
        """An abrupt disconnect with no close frame, like a load balancer cutting the socket."""
        self.closed = True
        transport = self.writer.transport
        if transport is not None:
            transport.abort()


class WsApp:
    """What the transport needs from the websocket side of the application."""

    def on_open(self, conn: WsConnection) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    async def on_text(self, conn: WsConnection, text: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def on_close(self, conn: WsConnection) -> None:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class ConnectionLimits:
    """What one client may hold of the server, so idle or slow sockets cannot starve the rest.

    `max_connections` counts every open socket (HTTP and websocket). A new connection beyond
    it first evicts the connection that has waited longest for a request (idle keep-alive or a
    half-sent head: a slowloris socket), and is refused with 503 only when every slot is busy
    with a request in flight or a websocket. The cap is also held below the process's file
    descriptor limit, because an accept() that fails for lack of descriptors stops the
    listener for everyone. `request_timeout` bounds receiving one request (head and body) and
    writing its answer; `keepalive_timeout` bounds the silence before a new connection's first
    request or between requests on a kept-alive one.
    """

    max_connections: int = 512
    request_timeout: float = 10.0
    keepalive_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if not self.request_timeout > 0 or not self.keepalive_timeout > 0:
            raise ValueError("timeouts must be positive")


LISTEN_BACKLOG = 128
# Descriptors kept free below the open-file limit. asyncio accepts up to a whole backlog of
# pending connections per loop pass, and an accepted socket reaches `_admit` (which evicts an
# idle one) and the evicted socket's descriptor is released only a few passes later, so up to
# about four backlogs can be open beyond the cap in a flood; plus the listener, the loop's own
# descriptors, state saves and logs.
FD_HEADROOM = 4 * LISTEN_BACKLOG + 64


def connection_cap(wanted: int) -> int:
    """`wanted`, lowered to fit the process's open-file limit with some headroom."""
    try:
        import resource  # Unix only
    except ImportError:  # pragma: no cover - non-Unix
        return wanted
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return min(wanted, max(8, soft - FD_HEADROOM))


class BadRequest(Exception):
    """The client sent something that is not HTTP/1.1 as this server reads it (answered 400)."""


class HttpWsServer:
    """The listening socket and per-connection loops; the app decides every answer."""

    def __init__(
        self,
        http_handler: HttpHandler,
        ws_app: WsApp,
        *,
        ws_path: str = "/ws",
        limits: ConnectionLimits | None = None,
        ws_route: Callable[[str], WsApp | None] | None = None,
    ) -> None:
        self.http_handler = http_handler
        self.ws_app = ws_app
        self.ws_path = ws_path
        # Other websocket paths (a second venue face): path -> the app serving it, or None.
        self.ws_route = ws_route
        self.limits = limits or ConnectionLimits()
        self.max_connections = self.limits.max_connections
        self.server: asyncio.base_events.Server | None = None
        self.ws_connections: set[WsConnection] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        # connections waiting for a request or still receiving one (head or body), longest-
        # waiting first: the ones evicted when a new connection needs a slot
        self._waiting: dict[asyncio.StreamWriter, None] = {}

    @property
    def open_connections(self) -> int:
        return len(self._writers)

    async def start(self, host: str, port: int) -> int:
        self.max_connections = connection_cap(self.limits.max_connections)
        self.server = await asyncio.start_server(
            self._serve_connection, host, port, limit=MAX_HEAD * 4, backlog=LISTEN_BACKLOG
        )
        return self.server.sockets[0].getsockname()[1]

    def _admit(self, writer: asyncio.StreamWriter) -> bool:
        """Make room for a new connection: evict the longest-waiting idle one if at the cap."""
        while len(self._writers) >= self.max_connections and self._waiting:
            oldest = next(iter(self._waiting))
            self._waiting.pop(oldest)
            self._writers.discard(oldest)
            oldest.transport.abort()
        if len(self._writers) >= self.max_connections:
            return False
        self._writers.add(writer)
        return True

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for conn in list(self.ws_connections):
            conn.close(1001, "server shutting down")
        for writer in list(self._writers):
            writer.close()
        if self.server is not None:
            try:
                await asyncio.wait_for(self.server.wait_closed(), 2)
            except TimeoutError:
                pass

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._admit(writer):
            await _answer_and_close(writer, HttpResponse(503, b"too many connections", "text/plain"), 1.0)
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        peer = writer.get_extra_info("peername") or ("?", 0)
        peer_host = str(peer[0])
        limits = self.limits
        try:
            while True:
                self._waiting[writer] = None  # evictable until its request is fully read
                try:
                    async with asyncio.timeout(limits.keepalive_timeout):
                        first = await reader.readexactly(1)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    return  # idle too long, or the client left: close without a word
                try:
                    async with asyncio.timeout(limits.request_timeout):
                        head = first + await reader.readuntil(b"\r\n\r\n")
                        parsed = _parse_head(head)
                        if parsed is None:
                            raise BadRequest("bad request")
                        method, path, headers = parsed
                        upgrade = headers.get("upgrade", "").lower() == "websocket"
                        body = b"" if upgrade else await self._read_body(reader, writer, headers)
                except TimeoutError:
                    await _answer_and_close(writer, HttpResponse(408, b"request timeout", "text/plain"), 1.0)
                    return
                except BadRequest as e:
                    await _answer_and_close(writer, HttpResponse(400, str(e).encode(), "text/plain"), 1.0)
                    return
                except _TooLarge as e:
                    await _answer_and_close(writer, HttpResponse(413, str(e).encode(), "text/plain"), 1.0)
                    return
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                self._waiting.pop(writer, None)
                if upgrade:
                    app = self._ws_app_for(path) if method == "GET" else None
                    if app is None:
                        not_found = HttpResponse(404, b"not found", "text/plain")
                        await _answer_and_close(writer, not_found, limits.request_timeout)
                        return
                    await self._serve_websocket(head, reader, writer, peer_host, app, path)
                    return
                bare, _, query = path.partition("?")
                request = HttpRequest(method, bare, headers, body, peer_host, query)
                try:
                    response = await self.http_handler(request)
                except Exception:  # a devnet bug must not kill the connection loop silently
                    log.exception("devnet: unhandled error serving %s %s", method, path)
                    response = HttpResponse(500, b"internal error", "text/plain")
                if response.hang:
                    writer.transport.abort()
                    return
                if headers.get("connection", "").lower() == "close":
                    await _answer_and_close(writer, response, limits.request_timeout)
                    return
                try:
                    async with asyncio.timeout(limits.request_timeout):
                        await _write_response(writer, response, close=False)
                except TimeoutError:  # a client that does not read its answers holds nothing
                    writer.transport.abort()
                    return
        finally:
            self._waiting.pop(writer, None)
            self._writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def _read_body(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]
    ) -> bytes:
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for this on big bodies
        encoding = headers.get("transfer-encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise BadRequest(f"unsupported transfer-encoding {encoding!r}")
            if "content-length" in headers:  # both: the request-smuggling shape; refuse it
                raise BadRequest("both content-length and transfer-encoding")
            return await _read_chunked(reader)
        text = headers.get("content-length", "0").strip()
        if not text.isdigit():
            raise BadRequest("bad content-length")
        length = int(text)
        if length > MAX_BODY:
            raise _TooLarge("body too large")
        return await reader.readexactly(length) if length else b""

    def _ws_app_for(self, path: str) -> WsApp | None:
        if path.split("?", 1)[0] == self.ws_path:
            return self.ws_app
        return self.ws_route(path) if self.ws_route is not None else None

    async def _serve_websocket(
        self,
        head: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer_host: str,
        app: WsApp | None = None,
        path: str = "",
    ) -> None:
        app = app or self.ws_app
        protocol = ServerProtocol(max_size=2**20)
        protocol.receive_data(head)
        events = protocol.events_received()
        if not events:
            writer.close()
            return
        response = protocol.accept(events[0])
        protocol.send_response(response)
        out = protocol.data_to_send()
        writer.write(b"".join(out))
        if response.status_code != 101:
            writer.close()
            return
        conn = WsConnection(protocol, writer, peer_host)
        conn.path = path
        self.ws_connections.add(conn)
        fragments: list[bytes] = []
        try:
            app.on_open(conn)
            while not conn.closed:
                try:
                    data = await reader.read(65536)
                except ConnectionError:
                    break
                if not data:
                    protocol.receive_eof()
                else:
                    protocol.receive_data(data)
                conn.last_activity = time.monotonic()
                for frame in protocol.events_received():
                    if frame.opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                        fragments.append(frame.data)
                        if frame.fin:
                            message = b"".join(fragments)
                            fragments.clear()
                            try:
                                text = message.decode()
                            except UnicodeDecodeError:
                                continue
                            await app.on_text(conn, text)
                    elif frame.opcode is OP_CLOSE:
                        pass  # the protocol queued the echo close frame
                conn._flush()
                if not data or protocol.state is CLOSED or protocol.close_expected():
                    break
        finally:
            conn.closed = True
            self.ws_connections.discard(conn)
            app.on_close(conn)
            if not writer.is_closing():
                writer.close()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]] | None:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, path, version = lines[0].split(" ", 2)
    except ValueError:
        return None
    if not version.startswith("HTTP/1."):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None
        headers[name.strip().lower()] = value.strip()
    return method, path, headers


class _TooLarge(Exception):
    """A body over MAX_BODY (answered 413)."""


_HEX = frozenset(b"0123456789abcdefABCDEF")


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body. Raises BadRequest for a malformed chunk, _TooLarge over MAX_BODY."""
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        digits = size_line[:-2].split(b";", 1)[0].strip()
        if not digits or len(digits) > 8 or not _HEX.issuperset(digits):
            raise BadRequest("bad chunk size")
        size = int(digits, 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, ignored
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise _TooLarge("body too large")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise BadRequest("chunk data not followed by CRLF")


def _response_bytes(response: HttpResponse, *, close: bool) -> bytes:
    reason = _REASONS.get(response.status, "Status")
    head = (
        f"HTTP/1.1 {response.status} {reason}\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in response.headers)
        + f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n"
    ).encode()
    return head + response.body


async def _write_response(writer: asyncio.StreamWriter, response: HttpResponse, *, close: bool) -> None:
    writer.write(_response_bytes(response, close=close))
    try:
        await writer.drain()
    except ConnectionError:
        pass


async def _answer_and_close(writer: asyncio.StreamWriter, response: HttpResponse, timeout: float) -> None:
    """Send a last answer and close; a client that will not read it within `timeout` is cut."""
    try:
        async with asyncio.timeout(timeout):
            await _write_response(writer, response, close=True)
    except TimeoutError:
        writer.transport.abort()
        return
    writer.close()
