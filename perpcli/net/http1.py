"""A minimal HTTP/1.1 client connection: POST a JSON body, read one response, keep the socket.

WHY not http.client: it imports `email.parser` and `ssl` at module level (~40 ms of a ~300 ms
`perp` process on this machine), and the venue protocol needs only POST with a
Content-Length body and a response framed by Content-Length or chunked encoding. ssl is
imported here only for https URLs.

Errors are split by *when* they happen, because that decides whether an order may have run:
`ConnectFailed` (nothing sent), `SendFailed` (the request was not fully written, so the
server cannot have acted on it), `ReceiveFailed` (written, but no complete answer).
"""

from __future__ import annotations

import socket


class ConnectFailed(OSError):
    pass


class SendFailed(OSError):
    pass


class ReceiveFailed(OSError):
    pass


MAX_HEADER_BYTES = 64 * 1024


class Http1Connection:
    """One keep-alive connection to host:port (TLS when `tls`)."""

    def __init__(self, host: str, port: int, *, tls: bool, timeout: float) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls:
                import ssl  # only for real venues; the loopback devnet is plain http

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except OSError as e:
            raise ConnectFailed(str(e) or type(e).__name__) from None
        self._sock = sock
        self._buf = b""

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = b""

    def post(self, path: str, body: bytes) -> tuple[int, bytes, bool]:
        """(status, body, server_will_close)."""
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        host = self.host if self.port in (80, 443) else f"{self.host}:{self.port}"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n"
        ).encode("ascii")
        try:
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

    def _fill(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ReceiveFailed("connection closed before a complete answer")
        self._buf += chunk

    def _read_until(self, marker: bytes, limit: int) -> bytes:
        while True:
            i = self._buf.find(marker)
            if i >= 0:
                out, self._buf = self._buf[:i], self._buf[i + len(marker):]
                return out
            if len(self._buf) > limit:
                raise ValueError("response header too large")
            self._fill()

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill()
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _read_response(self) -> tuple[int, bytes, bool]:
        while True:
            head = self._read_until(b"\r\n\r\n", MAX_HEADER_BYTES).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
                raise ValueError(f"bad status line {lines[0][:80]!r}")
            status = int(parts[1])
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if 100 <= status < 200:
                continue  # 100 Continue and friends: the real answer follows
            break
        will_close = headers.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:  # framed by close
            will_close = True
            assert self._sock is not None
            chunks = [self._buf]
            self._buf = b""
            while True:
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            body = b"".join(chunks)
        if will_close:
            self.close()
        return status, body, will_close

    def _read_chunked(self) -> bytes:
        out = []
        while True:
            size_line = self._read_until(b"\r\n", 1024).split(b";", 1)[0].strip()
            size = int(size_line, 16)
            if size == 0:
                while self._read_until(b"\r\n", MAX_HEADER_BYTES):  # trailers, up to an empty line
                    pass
                return b"".join(out)
            out.append(self._read_exact(size))
            self._read_exact(2)
