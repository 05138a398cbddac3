"""HTTP/1.1 and websocket on one loopback port, in one asyncio loop.

Why not the `websockets` server alone: its HTTP parser accepts only GET, and Hyperliquid's
REST API is POST /info and POST /exchange on the same host and port as /ws (the SDK derives
the ws URL from the REST base). So this module reads HTTP/1.1 itself (keep-alive,
Content-Length bodies — all that JSON clients send) and, for an upgrade request on /ws, hands
the socket to `websockets`' sans-I/O `ServerProtocol`, which does the handshake and framing.
Everything else (what a request means) lives in the application object passed in.
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
    411: "Length Required",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    peer_host: str


@dataclass
class HttpResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    hang: bool = False  # fault injection: close the connection without answering


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


class HttpWsServer:
    """The listening socket and per-connection loops; the app decides every answer."""

    def __init__(self, http_handler: HttpHandler, ws_app: WsApp, *, ws_path: str = "/ws") -> None:
        self.http_handler = http_handler
        self.ws_app = ws_app
        self.ws_path = ws_path
        self.server: asyncio.base_events.Server | None = None
        self.ws_connections: set[WsConnection] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._serve_connection, host, port, limit=MAX_HEAD * 4)
        return self.server.sockets[0].getsockname()[1]

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
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        peer = writer.get_extra_info("peername") or ("?", 0)
        peer_host = str(peer[0])
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                parsed = _parse_head(head)
                if parsed is None:
                    await _write_response(writer, HttpResponse(400, b"bad request", "text/plain"), close=True)
                    return
                method, path, headers = parsed
                if headers.get("upgrade", "").lower() == "websocket":
                    if path.split("?", 1)[0] != self.ws_path or method != "GET":
                        await _write_response(writer, HttpResponse(404, b"not found", "text/plain"), close=True)
                        return
                    await self._serve_websocket(head, reader, writer, peer_host)
                    return
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for this on big bodies
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    body = await _read_chunked(reader)
                    if body is None:
                        await _write_response(writer, HttpResponse(413, b"body too large", "text/plain"), close=True)
                        return
                else:
                    try:
                        length = int(headers.get("content-length", "0"))
                    except ValueError:
                        length = -1
                    if length < 0 or length > MAX_BODY:
                        await _write_response(writer, HttpResponse(413, b"bad content-length", "text/plain"), close=True)
                        return
                    try:
                        body = await reader.readexactly(length) if length else b""
                    except (asyncio.IncompleteReadError, ConnectionError):
                        return
                request = HttpRequest(method, path.split("?", 1)[0], headers, body, peer_host)
                try:
                    response = await self.http_handler(request)
                except Exception:  # a devnet bug must not kill the connection loop silently
                    log.exception("devnet: unhandled error serving %s %s", method, path)
                    response = HttpResponse(500, b"internal error", "text/plain")
                if response.hang:
                    writer.transport.abort()
                    return
                close = headers.get("connection", "").lower() == "close"
                await _write_response(writer, response, close=close)
                if close:
                    writer.close()
                    return
        finally:
            self._writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def _serve_websocket(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer_host: str
    ) -> None:
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
        self.ws_connections.add(conn)
        fragments: list[bytes] = []
        try:
            self.ws_app.on_open(conn)
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
                            await self.ws_app.on_text(conn, text)
                    elif frame.opcode is OP_CLOSE:
                        pass  # the protocol queued the echo close frame
                conn._flush()
                if not data or protocol.state is CLOSED or protocol.close_expected():
                    break
        finally:
            conn.closed = True
            self.ws_connections.discard(conn)
            self.ws_app.on_close(conn)
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


async def _read_chunked(reader: asyncio.StreamReader) -> bytes | None:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        if len(body) + size > MAX_BODY:
            return None
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def _write_response(writer: asyncio.StreamWriter, response: HttpResponse, *, close: bool) -> None:
    reason = _REASONS.get(response.status, "Status")
    head = (
        f"HTTP/1.1 {response.status} {reason}\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n"
    ).encode()
    writer.write(head + response.body)
    try:
        await writer.drain()
    except ConnectionError:
        pass
