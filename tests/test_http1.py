"""net/http1.py: framing by Content-Length, chunked, close; 1xx skipped; failures split by phase;
every request bounded in time and size against hostile servers; URLs checked up front."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from perpcli.net.http1 import ConnectFailed, Http1Connection, Limits, ReceiveFailed, TlsFailed, parse_http_url
from tests.hostile_http import HostileServer, SilentTcp, continue_flood, drip, huge_body


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
    c = Http1Connection("127.0.0.1", port, tls=False)
    assert c.post("/info", b'{"a":1}') == (200, b"hello", False)
    assert c.post("/info", b"{}") == (200, b"abcde", False)
    assert c.post("/exchange", b"{}") == (422, b"bad", True)
    assert not c.connected
    assert seen[0].startswith(b"POST /info HTTP/1.1\r\n") and seen[0].endswith(b'{"a":1}')
    assert b"Content-Type: application/json" in seen[0]


def test_close_framed_body():
    port, _ = serve([b"HTTP/1.0 200 OK\r\n\r\nuntil close"])
    c = Http1Connection("127.0.0.1", port, tls=False)
    assert c.post("/info", b"{}") == (200, b"until close", True)


def test_dropped_after_send_is_receive_failed():
    port, seen = serve([b"DROP"])
    c = Http1Connection("127.0.0.1", port, tls=False)
    with pytest.raises(ReceiveFailed):
        c.post("/exchange", b"{}")
    assert len(seen) == 1  # the request did arrive


def test_refused_is_connect_failed():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectFailed):
        Http1Connection("127.0.0.1", port, tls=False, limits=Limits(request_timeout_s=2)).post("/info", b"{}")


# ----- bounds: a hostile server cannot hold the client or fill its memory ----------------------


def within(seconds: float, fn):
    """Run fn in a thread; its result or exception, or a test failure if it is still running
    after `seconds` (the unbounded client this guards against would hang the suite)."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds}s"
    box["elapsed"] = time.monotonic() - started
    return box


def test_slow_drip_body_ends_at_the_request_deadline():
    with HostileServer(drip(interval=0.02)) as srv:
        c = Http1Connection("127.0.0.1", srv.port, tls=False, limits=Limits(request_timeout_s=1.0))
        box = within(5, lambda: c.post("/info", b"{}"))
    assert isinstance(box.get("error"), ReceiveFailed), box
    assert "within 1s" in str(box["error"])
    assert 0.9 < box["elapsed"] < 2.5
    assert not c.connected


def test_flood_of_100_continue_is_bounded():
    with HostileServer(continue_flood(interval=0.0)) as srv:
        c = Http1Connection("127.0.0.1", srv.port, tls=False, limits=Limits(request_timeout_s=30))
        box = within(5, lambda: c.post("/info", b"{}"))
    assert isinstance(box.get("error"), ReceiveFailed) and "interim" in str(box["error"]), box
    assert box["elapsed"] < 1.0


@pytest.mark.parametrize("chunked", [False, True])
def test_huge_body_is_refused_without_buffering_it(chunked):
    limits = Limits(request_timeout_s=30, max_body_bytes=1024 * 1024)
    with HostileServer(huge_body(512 * 1024 * 1024, chunked=chunked)) as srv:
        c = Http1Connection("127.0.0.1", srv.port, tls=False, limits=limits)
        box = within(10, lambda: c.post("/info", b"{}"))
    assert isinstance(box.get("error"), ReceiveFailed) and "exceeds the limit" in str(box["error"]), box
    assert box["elapsed"] < 2.0


def test_close_framed_body_is_capped_too():
    async def endless(request, writer):
        writer.write(b"HTTP/1.0 200 OK\r\n\r\n")
        while True:
            writer.write(b"x" * 65536)
            await writer.drain()

    with HostileServer(endless) as srv:
        c = Http1Connection("127.0.0.1", srv.port, tls=False, limits=Limits(max_body_bytes=256 * 1024))
        box = within(10, lambda: c.post("/info", b"{}"))
    assert isinstance(box.get("error"), ReceiveFailed) and "exceeds the limit" in str(box["error"]), box


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
])
def test_bad_framing_is_receive_failed(raw):
    port, _ = serve([raw])
    with pytest.raises(ReceiveFailed):
        Http1Connection("127.0.0.1", port, tls=False, limits=Limits(request_timeout_s=2)).post("/info", b"{}")


def test_https_against_a_plain_port_fails_fast_at_the_handshake():
    with SilentTcp() as srv:
        c = Http1Connection("127.0.0.1", srv.port, tls=True, limits=Limits(connect_timeout_s=0.5))
        box = within(5, lambda: c.post("/info", b"{}"))
    assert isinstance(box.get("error"), TlsFailed), box
    assert "TLS handshake" in str(box["error"]) and box["elapsed"] < 1.5


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:99999", "malformed URL"),
    ("http://[::1", "malformed URL"),
    ("ftp://example.com", "scheme"),
    ("http://127.0.0.1:0", "port 0"),
    ("http://:80", "no host"),
])
def test_bad_urls_are_refused_with_a_reason(url, why):
    with pytest.raises(ValueError, match=why):
        parse_http_url(url)


def test_url_defaults():
    t = parse_http_url("https://api.example.com/base/")
    assert (t.host, t.port, t.tls, t.path) == ("api.example.com", 443, True, "/base")
    assert parse_http_url("http://[::1]:8787").port == 8787


def test_limits_from_settings_refuse_zero():
    from decimal import Decimal

    from perpcli.domain.errors import ConfigError

    values = {"net.request_timeout_s": Decimal("2.5"), "net.connect_timeout_s": Decimal("1"), "net.max_body_bytes": 10}
    assert Limits.from_settings(values.__getitem__) == Limits(2.5, 1.0, 10)
    with pytest.raises(ConfigError, match="net.request_timeout_s must be greater than 0"):
        Limits.from_settings({**values, "net.request_timeout_s": Decimal(0)}.__getitem__)
