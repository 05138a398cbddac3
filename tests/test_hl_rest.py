"""rest.py: keep-alive POSTs, info retries, never retrying /exchange, the weight bucket."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from perpcli.domain.errors import NetworkError, RateLimited, VenueRejected
from perpcli.net.http1 import Limits
from perpcli.venues.hyperliquid.endpoints import endpoint
from perpcli.venues.hyperliquid.rest import (
    RestClient,
    SentNoAnswer,
    TokenBucket,
    exchange_weight,
    info_weight,
)


class Script:
    """What the fake server answers, one entry per request (status, body) or "hang"/"drop"."""

    def __init__(self):
        self.answers: list = []
        self.seen: list[tuple[str, dict]] = []
        self.connections = 0


@pytest.fixture
def server():
    script = Script()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            script.connections += 1

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            script.seen.append((self.path, json.loads(body)))
            ans = script.answers.pop(0) if script.answers else (200, {"ok": True})
            if ans == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, payload = ans
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    yield script, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def client(url, **kw):
    return RestClient(endpoint(url, "testnet"), limits=Limits(request_timeout_s=5), sleep=lambda s: None, **kw)


def test_info_keeps_connection_alive_and_decodes_decimals(server):
    script, url = server
    script.answers = [(200, {"x": 1.5}), (200, [1, 2])]
    c = client(url)
    assert str(c.info({"type": "meta"})["x"]) == "1.5"
    assert c.info({"type": "allMids"}) == [1, 2]
    assert script.connections == 1
    assert [p for p, _ in script.seen] == ["/info", "/info"]


def test_info_retries_on_5xx_429_and_drop(server):
    script, url = server
    script.answers = [(502, b"bad gateway"), (429, b""), "drop", (200, {"ok": 1})]
    assert client(url).info({"type": "meta"}) == {"ok": 1}
    assert len(script.seen) == 4


def test_info_gives_up_after_retries(server):
    script, url = server
    script.answers = [(503, b"")] * 10
    with pytest.raises(NetworkError):
        client(url, info_retries=2).info({"type": "meta"})
    assert len(script.seen) == 3


def test_info_422_is_rejected_not_retried(server):
    script, url = server
    script.answers = [(422, b"Failed to deserialize the JSON body into the target type: x")]
    with pytest.raises(VenueRejected, match="Failed to deserialize"):
        client(url).info({"type": "nope"})
    assert len(script.seen) == 1


def test_exchange_is_never_retried_and_reports_unknown(server):
    script, url = server
    script.answers = ["drop"]
    with pytest.raises(SentNoAnswer):
        client(url).exchange({"action": {"type": "noop"}, "nonce": 1})
    assert len(script.seen) == 1
    script.answers = [(502, b"")]
    with pytest.raises(SentNoAnswer):
        client(url).exchange({"action": {"type": "noop"}, "nonce": 2})
    assert len(script.seen) == 2


def test_exchange_429_means_nothing_executed(server):
    script, url = server
    script.answers = [(429, b"")]
    with pytest.raises(RateLimited):
        client(url).exchange({"action": {"type": "noop"}, "nonce": 1})


def test_connect_failure_is_network_error_before_sending():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(NetworkError) as e:
        client(f"http://127.0.0.1:{port}").exchange({"action": {"type": "noop"}, "nonce": 1})
    assert not isinstance(e.value, SentNoAnswer)


def test_weights():
    assert info_weight({"type": "l2Book"}) == 2
    assert info_weight({"type": "userRole"}) == 60
    assert info_weight({"type": "meta"}) == 20
    assert exchange_weight({"type": "order", "orders": [0] * 79}) == 2
    assert exchange_weight({"type": "noop"}) == 1


def test_token_bucket_sleeps_when_spent():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    b = TokenBucket(100, 10.0, clock=lambda: now[0], sleep=sleep)
    assert b.acquire(60) == 0
    assert b.acquire(40) == 0
    waited = b.acquire(20)
    assert waited == pytest.approx(2.0)
    now[0] += 100
    assert b.available == 100


@pytest.fixture
def echo_server():
    """Answers each /info with the request's own `type`, after a short pause (widens races)."""

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            threading.Event().wait(0.002)
            data = json.dumps({"echo": body["type"]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_one_client_shared_by_threads_never_swaps_answers(echo_server):
    c = client(echo_server, bucket=TokenBucket(capacity=10**9, per_second=10**9))
    wrong: list = []

    def work(tag: str):
        for i in range(25):
            kind = f"{tag}-{i}"
            got = c.info({"type": kind})
            if got != {"echo": kind}:
                wrong.append((kind, got))

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
