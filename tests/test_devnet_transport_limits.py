"""The devnet's HTTP transport against hostile sockets: idle floods, slowloris heads, bad chunks.

The clients are plain loopback sockets; the faults are real (a devnet process with a small
open-file limit, sockets that never finish their request), not mocked.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import select
import socket
import subprocess
import sys
import time

import pytest

from perpcli.devnet.server import DevnetConfig, start_in_thread
from tests.support import REPO

pytestmark = pytest.mark.timeout(90)

INFO = b'{"type":"meta"}'
INFO_REQUEST = (b"POST /info HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(INFO), INFO))


def info_roundtrip(port: int, timeout: float) -> tuple[int, float]:
    """A fresh connection, one /info request: (status, seconds it took)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(INFO_REQUEST)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]), time.monotonic() - t0


def closed_by_peer(s: socket.socket, wait: float) -> bool:
    """True if the server closed (or reset) this socket within `wait` seconds."""
    ready, _, _ = select.select([s], [], [], wait)
    if not ready:
        return False
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
            ready, _, _ = select.select([s], [], [], wait)
            if not ready:
                return False
    except OSError:
        return True


def open_idle_sockets(port: int, count: int) -> list[socket.socket]:
    """`count` connections; every other one sends half a request head and stops (slowloris)."""
    out = []
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            s.sendall(b"POST /info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        out.append(s)
    return out


def test_idle_flood_beyond_the_fd_limit_does_not_starve_info():
    """A devnet process limited to 1024 open files gets 1,100 idle sockets, then a real client."""
    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 1300:  # this test process holds the 1,100 sockets
        if hard != resource.RLIM_INFINITY and hard < 1300:
            pytest.skip("the open-file hard limit is too low to hold 1,100 test sockets")
        resource.setrlimit(resource.RLIMIT_NOFILE, (1300, hard))
    proc = subprocess.Popen(
        [sys.executable, "-m", "perpcli", "devnet", "--port", "0", "--market-interval", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=low_fd_limit,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    sockets: list[socket.socket] = []
    try:
        url = proc.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1])
        sockets = open_idle_sockets(port, 1100)
        for _ in range(3):
            status, took = info_roundtrip(port, timeout=5)
            assert status == 200 and took < 2.0, (status, took)
        # the server made room by closing the longest-idle sockets, not by refusing newcomers
        assert closed_by_peer(sockets[0], 2.0)
    finally:
        for s in sockets:
            s.close()
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err, err


def test_connection_cap_evicts_the_longest_idle_socket():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, max_connections=20,
                                          request_timeout=30, keepalive_timeout=30))
    sockets: list[socket.socket] = []
    try:
        port = handle.devnet.port
        sockets = open_idle_sockets(port, 200)
        status, took = info_roundtrip(port, timeout=5)
        assert status == 200 and took < 2.0
        assert handle.call(lambda: handle.devnet.server.open_connections) <= 20
        assert sum(closed_by_peer(s, 0.5) for s in sockets[:150]) == 150  # evicted, oldest first
        assert not closed_by_peer(sockets[-1], 0.2)  # the newest idle ones still hold a slot
    finally:
        for s in sockets:
            s.close()
        handle.stop()


def test_idle_and_half_sent_requests_are_closed_after_their_timeouts():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, request_timeout=0.5, keepalive_timeout=0.5))
    sockets: list[socket.socket] = []
    try:
        port = handle.devnet.port
        sockets = open_idle_sockets(port, 40)
        kept_alive = socket.create_connection(("127.0.0.1", port), timeout=5)
        sockets.append(kept_alive)
        kept_alive.sendall(INFO_REQUEST)
        assert kept_alive.recv(65536).startswith(b"HTTP/1.1 200 OK")  # then it goes quiet
        assert all(closed_by_peer(s, 5.0) for s in sockets)
        assert handle.call(lambda: handle.devnet.server.open_connections) == 0
        status, _ = info_roundtrip(port, timeout=5)
        assert status == 200
    finally:
        for s in sockets:
            s.close()
        handle.stop()


def test_a_slow_reader_of_responses_is_cut_off():
    """A client that sends requests but never reads the answers cannot pin a connection."""
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, request_timeout=0.5, keepalive_timeout=30))
    try:
        port = handle.devnet.port
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            big = b'{"type":"l2Book","coin":"BTC"}'
            request = (b"POST /info HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big))
            deadline = time.monotonic() + 20
            cut = False
            while time.monotonic() < deadline:
                try:
                    s.sendall(request * 50)
                except OSError:
                    cut = True
                    break
                if handle.call(lambda: handle.devnet.server.open_connections) == 0:
                    cut = True
                    break
            assert cut
    finally:
        handle.stop()


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not hex
        b"-5\r\n{}\r\n0\r\n\r\n",  # negative
        b"0x2\r\n{}\r\n0\r\n\r\n",  # a prefix int() would accept
        b"\r\n",  # empty size line
        b"2\r\n{}XX0\r\n\r\n",  # data not followed by CRLF
        b"ffffffffffffffffffff\r\n",  # absurd size
    ],
)
def test_bad_chunked_bodies_get_a_clean_400(chunks, caplog):
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0))
    try:
        port = handle.devnet.port
        caplog.set_level(logging.DEBUG)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
            reply = s.recv(65536)
        assert reply.split(b"\r\n", 1)[0] in (b"HTTP/1.1 400 Bad Request", b"HTTP/1.1 413 Payload Too Large")
        status, _ = info_roundtrip(port, timeout=5)  # the server is unharmed
        assert status == 200
    finally:
        handle.stop()
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


def test_conflicting_body_framing_is_refused():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0))
    try:
        port = handle.devnet.port
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                      b"2\r\n{}\r\n0\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 400")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /info HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 400")
        body = json.dumps({"type": "meta"}).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: y\r\n\r\n" % (len(body), body))
            assert s.recv(65536).startswith(b"HTTP/1.1 200 OK")
    finally:
        handle.stop()


def test_when_every_slot_is_a_live_websocket_a_newcomer_is_refused_not_left_hanging():
    from websockets.sync.client import connect

    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, max_connections=3))
    try:
        port = handle.devnet.port
        sockets = [connect(handle.ws_url) for _ in range(3)]
        try:
            for ws in sockets:
                assert ws.recv(timeout=3) == "Websocket connection established."
            status, took = info_roundtrip(port, timeout=5)
            assert status == 503 and took < 2.0
            for ws in sockets:  # the websockets themselves were not touched
                ws.send(json.dumps({"method": "ping"}))
                assert json.loads(ws.recv(timeout=3)) == {"channel": "pong"}
        finally:
            for ws in sockets:
                ws.close()
        assert info_roundtrip(port, timeout=5)[0] == 200  # slots free again
    finally:
        handle.stop()


@pytest.mark.parametrize(
    "args",
    [["--max-connections", "0"], ["--request-timeout", "0"], ["--keepalive-timeout", "-1"]],
)
def test_devnet_cli_refuses_nonsense_limits(args, capsys):
    from tests.support import invoke

    result = invoke(["devnet", "--port", "0", *args], capsys)
    assert result.code == 2 and "must be" in result.err
