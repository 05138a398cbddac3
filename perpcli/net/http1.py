"""A minimal HTTP/1.1 client connection: POST a JSON body, read one response, keep the socket.

WHY not http.client: it imports `email.parser` and `ssl` at module level (~40 ms of a ~300 ms
`perp` process on this machine), and the venue protocols need only POST with a
Content-Length body and a response framed by Content-Length or chunked encoding. ssl is
imported here only for https URLs. Nothing here is venue-specific: every REST adapter
(Hyperliquid, Aster, ...) posts through it.

Errors are split by *when* they happen, because that decides whether an order may have run:
`ConnectFailed` (nothing sent; `TlsFailed` when the TLS handshake is what failed),
`SendFailed` (the request was not fully written, so the server cannot have acted on it),
`ReceiveFailed` (written, but no complete, well-framed answer).

Every request is bounded, so a hostile or broken server cannot hold a process forever or fill
its memory: one deadline covers connect, TLS handshake, send and the whole answer (a body
dripped a byte at a time still ends at the deadline); the handshake has its own shorter
bound (an https URL pointed at a plain-HTTP port never answers the ClientHello); the body
has a size cap checked before it is buffered; interim 1xx answers are counted.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any


class ConnectFailed(OSError):
    """No connection. `refused`: the host answered that nothing listens on the port."""

    refused = False


class TlsFailed(ConnectFailed):
    """TCP connected but the TLS handshake failed or timed out: nothing was sent. Retrying
    the same URL rarely helps (wrong scheme, wrong port, bad certificate)."""


class SendFailed(OSError):
    pass


class ReceiveFailed(OSError):
    pass


MAX_HEADER_BYTES = 64 * 1024
MAX_INTERIM_RESPONSES = 8  # 100 Continue, 103 Early Hints...: a real server sends one or two
_RECV_BYTES = 65536


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one request. Defaults suit a venue API on the internet; settings override
    them (net.request_timeout_s, net.connect_timeout_s, net.max_body_bytes)."""

    request_timeout_s: float = 10.0  # connect + handshake + send + the complete answer
    connect_timeout_s: float = 5.0  # TCP connect, and again the TLS handshake
    max_body_bytes: int = 32 * 1024 * 1024  # the venues' largest answers are a few MB

    def __post_init__(self) -> None:
        if not (self.request_timeout_s > 0 and self.connect_timeout_s > 0 and self.max_body_bytes > 0):
            raise ValueError(f"HTTP limits must be positive: {self}")

    @classmethod
    def from_settings(cls, get: Any) -> Limits:
        """From a settings lookup (`Settings.get`): net.request_timeout_s, net.connect_timeout_s,
        net.max_body_bytes. Zero is not "off" here: a request without a bound is the bug."""
        from perpcli.domain.errors import ConfigError

        values = {
            "request_timeout_s": float(get("net.request_timeout_s")),
            "connect_timeout_s": float(get("net.connect_timeout_s")),
            "max_body_bytes": int(get("net.max_body_bytes")),
        }
        for name, value in values.items():
            if value <= 0:
                raise ConfigError(f"net.{name} must be greater than 0, got {value:g}")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class HttpTarget:
    """Where an http(s) base URL points: checked once, so a bad URL is a usage error up front
    instead of an exception deep in a request."""

    scheme: str
    host: str
    port: int
    path: str  # without a trailing slash

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


def parse_http_url(url: str) -> HttpTarget:
    """Split and check an http(s) base URL; ValueError saying what is wrong with it."""
    from urllib.parse import urlsplit  # already loaded by the CLI; kept off net import

    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises for a non-number or one out of range
    except ValueError as e:
        raise ValueError(f"malformed URL ({e})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the scheme must be http or https")
    if not parts.hostname:
        raise ValueError("it names no host")
    if port == 0:
        raise ValueError("port 0 is not a port one can connect to")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return HttpTarget(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))


class Http1Connection:
    """One keep-alive connection to host:port (TLS when `tls`)."""

    def __init__(self, host: str, port: int, *, tls: bool, limits: Limits | None = None) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.limits = limits or Limits()
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self._deadline = 0.0
        self.last_headers: dict[str, str] = {}

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def deadline(self) -> float:
        """A fresh request deadline (monotonic seconds) from the limits."""
        return time.monotonic() + self.limits.request_timeout_s

    def _remaining(self, deadline: float) -> float:
        return deadline - time.monotonic()

    def connect(self, deadline: float | None = None) -> None:
        deadline = self.deadline() if deadline is None else deadline
        where = f"{self.host}:{self.port}"
        remaining = self._remaining(deadline)
        if remaining <= 0:
            raise ConnectFailed(f"no time left to connect to {where}")
        try:
            sock = socket.create_connection(
                (self.host, self.port), timeout=min(self.limits.connect_timeout_s, remaining)
            )
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            failed = ConnectFailed(str(e) or type(e).__name__)
            failed.refused = isinstance(e, ConnectionRefusedError)
            raise failed from None
        if self.tls:
            sock = self._handshake(sock, deadline)
        self._sock = sock
        self._buf = bytearray()

    def _handshake(self, sock: socket.socket, deadline: float) -> socket.socket:
        import ssl  # only for real venues; the loopback devnet is plain http

        bound = max(0.001, min(self.limits.connect_timeout_s, self._remaining(deadline)))
        sock.settimeout(bound)
        try:
            return ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except TimeoutError:
            sock.close()
            raise TlsFailed(
                f"TLS handshake with {self.host}:{self.port} got no answer within {bound:g}s"
                " (is this an https server? check the URL's scheme and port)"
            ) from None
        except OSError as e:  # ssl.SSLError is an OSError; also a reset mid-handshake
            sock.close()
            raise TlsFailed(f"TLS handshake with {self.host}:{self.port} failed: {e}") from None

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = bytearray()

    def post(self, path: str, body: bytes, *, deadline: float | None = None) -> tuple[int, bytes, bool]:
        """(status, body, server_will_close), all within `deadline` (monotonic seconds;
        default: now + limits.request_timeout_s)."""
        return self.request("POST", path, body, content_type="application/json", deadline=deadline)

    def request(self, method: str, path: str, body: bytes | None = None, *, content_type: str | None = None,
                deadline: float | None = None) -> tuple[int, bytes, bool]:
        """Any method; `body` None sends none (GET). The answer's headers are in `last_headers`
        (lower-case names): venues report rate-limit use there."""
        deadline = self.deadline() if deadline is None else deadline
        if self._sock is None:
            self.connect(deadline)
        assert self._sock is not None
        self._deadline = deadline
        host = self.host if self.port in (80, 443) else f"{self.host}:{self.port}"
        framing = "" if body is None else (
            (f"Content-Type: {content_type}\r\n" if content_type else "") + f"Content-Length: {len(body)}\r\n")
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{framing}"
            "Accept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n"
        ).encode("ascii")
        body = body or b""
        try:
            remaining = self._remaining(deadline)
            if remaining <= 0:
                raise TimeoutError("no time left to send")
            self._sock.settimeout(remaining)
            self._sock.sendall(head + body)
        except OSError as e:
            self.close()
            raise SendFailed(str(e) or type(e).__name__) from None
        try:
            return self._read_response()
        except (OSError, ValueError) as e:
            self.close()
            raise ReceiveFailed(str(e) or type(e).__name__) from None

    # ----- response parsing -------------------------------------------------------------

    def _recv(self) -> bytes:
        assert self._sock is not None
        remaining = self._remaining(self._deadline)
        if remaining <= 0:
            raise ReceiveFailed(f"no complete answer within {self.limits.request_timeout_s:g}s")
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(_RECV_BYTES)
        except TimeoutError:
            raise ReceiveFailed(f"no complete answer within {self.limits.request_timeout_s:g}s") from None

    def _fill(self) -> None:
        chunk = self._recv()
        if not chunk:
            raise ReceiveFailed("connection closed before a complete answer")
        self._buf += chunk

    def _read_until(self, marker: bytes, limit: int) -> bytes:
        start = 0
        while True:
            i = self._buf.find(marker, start)
            if i >= 0:
                out = bytes(self._buf[:i])
                del self._buf[: i + len(marker)]
                return out
            if len(self._buf) > limit:
                raise ValueError("response header too large")
            start = max(0, len(self._buf) - len(marker) + 1)
            self._fill()

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill()
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _too_large(self, size: int) -> ValueError:
        return ValueError(f"answer body of {size} bytes or more exceeds the limit of {self.limits.max_body_bytes}")

    def _read_head(self) -> tuple[str, int, dict[str, str]]:
        head = self._read_until(b"\r\n\r\n", MAX_HEADER_BYTES).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not (len(parts[1]) == 3 and parts[1].isdigit()):
            raise ValueError(f"bad status line {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return parts[0], int(parts[1]), headers

    def _read_response(self) -> tuple[int, bytes, bool]:
        interim = 0
        while True:
            version, status, headers = self._read_head()
            if not 100 <= status < 200:
                self.last_headers = headers
                break
            interim += 1  # 100 Continue and friends: the real answer follows, but not forever
            if interim > MAX_INTERIM_RESPONSES:
                raise ValueError(f"more than {MAX_INTERIM_RESPONSES} interim (1xx) answers")
        will_close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        limit = self.limits.max_body_bytes
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            text = headers["content-length"]
            if not text.isdigit():
                raise ValueError(f"bad Content-Length {text[:40]!r}")
            length = int(text)
            if length > limit:
                raise self._too_large(length)
            body = self._read_exact(length)
        else:  # framed by close
            will_close = True
            while len(self._buf) <= limit:
                chunk = self._recv()
                if not chunk:
                    break
                self._buf += chunk
            if len(self._buf) > limit:
                raise self._too_large(len(self._buf))
            body = bytes(self._buf)
            self._buf = bytearray()
        if will_close:
            self.close()
        return status, body, will_close

    def _read_chunked(self) -> bytes:
        out = bytearray()
        limit = self.limits.max_body_bytes
        while True:
            size_text = self._read_until(b"\r\n", 1024).split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 16 or size_text.strip(b"0123456789abcdefABCDEF"):
                raise ValueError(f"bad chunk size {size_text[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                trailer_bytes = 0
                while line := self._read_until(b"\r\n", MAX_HEADER_BYTES):  # trailers, up to an empty line
                    trailer_bytes += len(line)
                    if trailer_bytes > MAX_HEADER_BYTES:
                        raise ValueError("response trailers too large")
                return bytes(out)
            if len(out) + size > limit:
                raise self._too_large(len(out) + size)
            out += self._read_exact(size)
            if self._read_exact(2) != b"\r\n":
                raise ValueError("chunk not followed by CRLF")
