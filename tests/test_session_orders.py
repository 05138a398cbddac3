"""100 orders one after another through one session agent: all accepted, no nonce used twice,
and whom the key signs for asked once (not once per order).

The agent runs in this process (the real Agent, its Unix socket and the run protocol a thin
client speaks), so the test can widen the agent's client-side weight budget: the devnet does
not limit weight, and at the venue's 1200/minute a hundred orders take minutes (bench/session.py
shows that steady rate with real processes).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from perpcli.devnet.server import start_in_thread
from perpcli.session import protocol
from tests import session_helpers as sh
from tests.cli_devnet import control, info

ORDERS = 100


@pytest.fixture
def devnet():
    h = start_in_thread(port=0, seed=23, market_interval=0)
    yield h
    h.stop()


def _run(argv: list[str]) -> dict:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with sock:
        sock.connect(protocol.socket_path())
        request = {"v": protocol.VERSION, "op": "run", "argv": argv, "cwd": os.getcwd(),
                   "env": protocol.forwarded_env(os.environ), "tty": {}}
        sock.sendall(protocol.encode(request))
        sock.shutdown(socket.SHUT_WR)
        return protocol.decode(protocol.read_all(sock))


def test_hundred_sequential_orders_through_one_session(perpcli_home, devnet):
    from perpcli.app import session as app_session
    from perpcli.app.session import Session
    from perpcli.config import settings
    from perpcli.keys import sources
    from perpcli.session.server import Agent, AgentState, bind_socket
    from perpcli.venues.hyperliquid.rest import TokenBucket

    address, pw = sh.stored_key(perpcli_home)
    control(devnet.url, "fund", {"user": address, "amount": "100000"})
    settings.configure()
    sources.configure()
    signer = sources.resolve_signer(None, passphrase_file=str(pw), warn=False)
    now = time.time()
    agent = Agent(bind_socket(), AgentState(started_at=now, expires_at=now + 600, idle_lock_s=0, venues=[]))
    agent.hold(signer)
    app_session.share_markets(True)
    # The market data the agent will share across commands: counted, with the budget widened.
    shared = Session.open(settings.current(), url=devnet.url, network="testnet").market
    shared.rest.bucket = TokenBucket(capacity=10**9, per_second=10**9)
    asked: list[str] = []
    nonces: list[int] = []
    info_, exchange_ = shared.rest.info, shared.rest.exchange

    def counted_info(payload):
        asked.append(str(payload.get("type")))
        return info_(payload)

    def counted_exchange(body):
        nonces.append(int(body["nonce"]))
        return exchange_(body)

    shared.rest.info, shared.rest.exchange = counted_info, counted_exchange
    server = threading.Thread(target=agent.serve_forever, daemon=True)
    server.start()
    try:
        argv = ["--url", devnet.url, "--network", "testnet", "--json", "buy", "BTC", "0.001", "--limit", "80000",
                "--yes"]
        replies = [_run(argv) for _ in range(ORDERS)]
    finally:
        agent.stop()
        server.join(10)
        app_session.share_markets(False)
        sources.serve_held_only(False)
    assert all(r["handled"] for r in replies), [r.get("reason") for r in replies if not r["handled"]]
    assert [r["code"] for r in replies] == [0] * ORDERS, [r["err"] for r in replies if r["code"]][:3]
    docs = [json.loads(r["out"]) for r in replies]
    assert {d["status"] for d in docs} == {"resting"}
    assert len({d["oid"] for d in docs}) == ORDERS
    assert len(nonces) == len(set(nonces)) == ORDERS  # one signed request each, no nonce reused
    assert asked.count("userRole") == 1  # not one per order
    resting = [o for o in info(devnet.url, {"type": "openOrders", "user": address})
               if o["limitPx"] in ("80000", "80000.0")]
    assert len(resting) == ORDERS
