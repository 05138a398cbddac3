"""Hostile HTTP servers for tests (not a test module): small asyncio servers on loopback whose
answers drip, flood, balloon, never come, or wrap a real devnet and mangle what it said.

Each server runs its own event loop in a daemon thread. A behaviour is a coroutine
`handler(request, writer)` called once per request; the faults are real bytes on a real
socket, so the client under test meets them exactly as it would meet a broken venue.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class HostileServer:
    handler: Handler
    port: int = 0
    seen: list[Request] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _main: asyncio.Task | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HostileServer:
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._main = asyncio.current_task()
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            async with server:
                try:
                    await server.serve_forever()
                except asyncio.CancelledError:
                    pass  # stop(): asyncio.run then cancels the handlers still running

        self._thread = threading.Thread(target=lambda: asyncio.run(main()), name="hostile-http", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("hostile server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._main is not None:
            self._loop.call_soon_threadsafe(self._main.cancel)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    return
                self.seen.append(request)
                await self.handler(request, writer)
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:  # stop(): end quietly (a cancelled handler task would log)
            return
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body)


def response(status: int, body: bytes, *, content_type: str = "application/json", extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


# ----- behaviours ----------------------------------------------------------------------------


def drip(interval: float = 0.05, length: int = 100_000) -> Handler:
    """Promise a body, then send it one byte per `interval`: each read succeeds, none ends."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n".encode())
        for _ in range(length):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(interval)

    return handler


def continue_flood(interval: float = 0.001) -> Handler:
    """`100 Continue`, forever."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(interval)

    return handler


def huge_body(size: int = 512 * 1024 * 1024, *, chunked: bool = False) -> Handler:
    """A body of `size` bytes sent as fast as the client reads (Content-Length or chunked)."""
    block = b"[" * 65536

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        if chunked:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        else:
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        sent = 0
        while sent < size:
            writer.write(b"10000\r\n" + block + b"\r\n" if chunked else block)
            await writer.drain()
            sent += len(block)

    return handler


def silent() -> Handler:
    """Read the request and never answer."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    return handler


def answer(status: int, body: bytes, *, content_type: str = "application/json") -> Handler:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(status, body, content_type=content_type))
        await writer.drain()

    return handler


Mangle = Callable[[Request, int, bytes], "tuple[int, bytes] | Handler | None"]


def proxy(upstream: str, mangle: Mangle) -> Handler:
    """Forward each request to `upstream` (a real devnet), then answer what `mangle` makes of
    its answer: None (unchanged), (status, body), or a behaviour to run instead (a drip...).
    The action really runs upstream either way."""

    def forward(request: Request) -> tuple[int, bytes]:
        req = urllib.request.Request(upstream + request.path, data=request.body,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        status, body = await asyncio.to_thread(forward, request)
        mangled = mangle(request, status, body)
        if callable(mangled):
            await mangled(request, writer)
            return
        if mangled is not None:
            status, body = mangled
        writer.write(response(status, body))
        await writer.drain()

    return handler


class SilentTcp:
    """Accept TCP connections, read whatever comes, never write (a plain-HTTP port as TLS sees
    it: the ClientHello has no blank line, so an HTTP server keeps waiting for the request)."""

    def __init__(self) -> None:
        self._server = HostileServer(silent())

    def __enter__(self) -> HostileServer:
        async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while await reader.read(65536):
                    pass
            finally:
                writer.close()

        self._server._serve = never  # type: ignore[method-assign]
        return self._server.start()

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
