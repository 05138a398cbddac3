"""http1.py: framing by Content-Length, chunked, close; 1xx skipped; failures split by phase."""

from __future__ import annotations

import socket
import threading

import pytest

from perpcli.net.http1 import ConnectFailed, Http1Connection, ReceiveFailed


def serve(responses: list[bytes]):
    """A raw server answering each request on one connection with the next canned bytes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    seen: list[bytes] = []

    def run():
        conn, _ = srv.accept()
        with conn:
            for resp in responses:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = int([ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")][0]
                             .split(b":")[1])
                while len(rest) < length:
                    rest += conn.recv(65536)
                seen.append(head + b"\r\n\r\n" + rest)
                if resp == b"DROP":
                    return
                conn.sendall(resp)
        srv.close()

    threading.Thread(target=run, daemon=True).start()
    return srv.getsockname()[1], seen


def test_content_length_chunked_and_continue_on_one_connection():
    port, seen = serve([
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        b"HTTP/1.1 422 Unprocessable\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad",
    ])
    c = Http1Connection("127.0.0.1", port, tls=False, timeout=5)
    assert c.post("/info", b'{"a":1}') == (200, b"hello", False)
    assert c.post("/info", b"{}") == (200, b"abcde", False)
    assert c.post("/exchange", b"{}") == (422, b"bad", True)
    assert not c.connected
    assert seen[0].startswith(b"POST /info HTTP/1.1\r\n") and seen[0].endswith(b'{"a":1}')
    assert b"Content-Type: application/json" in seen[0]


def test_close_framed_body():
    port, _ = serve([b"HTTP/1.0 200 OK\r\n\r\nuntil close"])
    c = Http1Connection("127.0.0.1", port, tls=False, timeout=5)
    assert c.post("/info", b"{}") == (200, b"until close", True)


def test_dropped_after_send_is_receive_failed():
    port, seen = serve([b"DROP"])
    c = Http1Connection("127.0.0.1", port, tls=False, timeout=5)
    with pytest.raises(ReceiveFailed):
        c.post("/exchange", b"{}")
    assert len(seen) == 1  # the request did arrive


def test_refused_is_connect_failed():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectFailed):
        Http1Connection("127.0.0.1", port, tls=False, timeout=2).post("/info", b"{}")
