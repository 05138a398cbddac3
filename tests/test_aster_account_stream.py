"""Aster's account socket (the listenKey user-data stream) through the venue seam, against the
devnet's Aster face: `perp stream orders|fills`, the adapter's stream_account, and the key's
expiry -> a new key, a new connection, and what the socket missed read back over REST."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from perpcli.domain.events import ConnectionState, ConnectionStatus, Fill, OrderUpdate
from perpcli.domain.instrument import Rounding
from perpcli.domain.orders import OrderIntent, OrderStatus, Side
from perpcli.keys.nonces import MicrosecondNonceAllocator
from perpcli.keys.signer import Signer
from perpcli.venues import registry
from perpcli.venues.base import AckStatus, CancelTarget
from tests.cli_devnet import control, devnet_fixture, run
from tests.support import REPO, record, register_secret

devnet = devnet_fixture(seed=23)


def fresh_key() -> tuple[str, Signer]:
    key = "0x" + secrets.token_hex(32)
    register_secret(key)
    return key, Signer.from_hex(key)


@pytest.fixture
def aster(devnet, tmp_path):
    md = registry.open_venue(registry.get_entry("aster-devnet").config(url=devnet.url))
    _, signer = fresh_key()
    t = md.trading(signer, nonces=MicrosecondNonceAllocator(signer.address, directory=tmp_path))
    yield t
    md.close()


def resting(t, cloid: str) -> OrderIntent:
    inst = t.market.instrument("ETH")
    bid = t.market.book("ETH", 5).bids[0][0]
    price = inst.round_price(bid * Decimal("0.95"), Rounding.DOWN)
    return OrderIntent(venue=t.venue, symbol=inst.symbol, side=Side.BUY, size=inst.round_size(Decimal(150) / price,
                       Rounding.UP), price=price, cloid=cloid)


def test_listen_key_expiry_recreates_the_key_and_nothing_is_missed(devnet, aster):
    """The key expires; while the new connection is not up yet an order is placed and
    cancelled: the reconnect's REST reconcile delivers it, and every fact comes once."""
    t = aster
    real_listen_key = t.listen_key
    created: list[str] = []
    slow = {"on": False}

    def listen_key() -> str:
        if slow["on"]:
            time.sleep(1.0)  # the new connection comes up late: what happens now only REST can tell
        key = real_listen_key()
        created.append(key)
        return key

    t.listen_key = listen_key

    async def scenario() -> list:
        loop = asyncio.get_running_loop()
        stream = t.stream_account()
        events: list = []

        async def consume() -> None:
            async for ev in stream:
                events.append(ev)

        async def until(pred, timeout: float = 10.0) -> None:
            deadline = loop.time() + timeout
            while not pred():
                assert loop.time() < deadline, events
                await asyncio.sleep(0.05)

        task = asyncio.create_task(consume())
        try:
            await until(lambda: any(isinstance(e, ConnectionStatus) and e.state is ConnectionState.CONNECTED
                                    for e in events))
            before = await loop.run_in_executor(None, t.submit, [resting(t, "before-expiry")])
            assert before[0].status is AckStatus.RESTING
            await until(lambda: any(isinstance(e, OrderUpdate) and e.order.cloid == "before-expiry" for e in events))
            slow["on"] = True
            ended = await loop.run_in_executor(None, control, devnet.url, "aster_expire_listen_key",
                                               {"user": t.account_address})
            assert ended["ended"] == 1
            await asyncio.sleep(0.1)  # the socket heard listenKeyExpired and is reconnecting
            gap = await loop.run_in_executor(None, t.submit, [resting(t, "in-the-gap")])
            assert gap[0].status is AckStatus.RESTING
            assert (await loop.run_in_executor(None, t.cancel, CancelTarget("ETH", cloid="in-the-gap"))).ok
            await until(lambda: any(isinstance(e, OrderUpdate) and e.order.cloid == "in-the-gap"
                                    and e.status is OrderStatus.CANCELED for e in events))
            slow["on"] = False
            after = await loop.run_in_executor(None, t.submit, [resting(t, "after-expiry")])
            assert after[0].status is AckStatus.RESTING
            await until(lambda: any(isinstance(e, OrderUpdate) and e.order.cloid == "after-expiry" for e in events))
            await asyncio.sleep(0.3)  # anything repeated would arrive by now
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await stream.aclose()
        for cloid in ("before-expiry", "after-expiry"):
            await loop.run_in_executor(None, t.cancel, CancelTarget("ETH", cloid=cloid))
        return events

    events = asyncio.run(scenario())
    assert len(created) == 2 and created[0] != created[1]  # the expired key was replaced by a new one
    updates = [e for e in events if isinstance(e, OrderUpdate)]
    seen = [(u.order.cloid, u.status) for u in updates]
    assert ("in-the-gap", OrderStatus.CANCELED) in seen
    assert len(set(seen)) == len(seen)  # once each, across the reconnect and the REST reconcile
    states = [e.state for e in events if isinstance(e, ConnectionStatus)]
    assert ConnectionState.RECONNECTING in states


def test_account_stream_carries_fills_and_the_keepalive_renews_the_key(devnet, aster):
    t = aster
    t.listen_key_keepalive_s = 0.2
    renewed: list[int] = []
    real_keepalive = t.keep_listen_key_alive
    t.keep_listen_key_alive = lambda: (renewed.append(1), real_keepalive())[1]
    inst = t.market.instrument("ETH")

    async def scenario() -> list:
        loop = asyncio.get_running_loop()
        stream = t.stream_account()
        events: list = []

        async def consume() -> None:
            async for ev in stream:
                events.append(ev)

        task = asyncio.create_task(consume())
        try:
            await asyncio.sleep(0.6)
            ask = t.market.book("ETH", 5).asks[0][0]
            size = inst.round_size(Decimal(150) / ask, Rounding.UP)
            buy = OrderIntent(venue=t.venue, symbol=inst.symbol, side=Side.BUY, size=size,
                              price=inst.round_price(ask * Decimal("1.01"), Rounding.UP), cloid="taker-1")
            ack = (await loop.run_in_executor(None, t.submit, [buy]))[0]
            assert ack.status is AckStatus.FILLED
            deadline = loop.time() + 5
            while loop.time() < deadline and not any(isinstance(e, Fill) and e.oid == ack.oid for e in events):
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await stream.aclose()
        return events

    events = asyncio.run(scenario())
    assert any(isinstance(e, Fill) and e.cloid == "taker-1" for e in events)
    assert renewed  # PUT listenKey ran while connected
    assert not any(isinstance(e, ConnectionStatus) and e.state is ConnectionState.RECONNECTING for e in events)


def test_perp_stream_orders_on_aster_survives_a_listen_key_expiry(devnet, monkeypatch):
    key, signer = fresh_key()
    env = {**__import__("os").environ, "PERPCLI_PRIVATE_KEY": key}
    base = ["--venue", "aster-devnet", "--url", devnet.url, "--network", "testnet"]
    proc = subprocess.Popen([sys.executable, "-m", "perpcli", *base, "--json", "stream", "orders", "--seconds", "7"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO))
    cloids = [f"cli-{i}" for i in range(4)]
    try:
        time.sleep(2.5)  # connected and listening
        for i, cloid in enumerate(cloids):
            if i == 2:
                assert control(devnet.url, "aster_expire_listen_key", {"user": signer.address})["ended"] == 1
            placed = run(devnet.url, *base[4:], "--venue", "aster-devnet", "--json", "--yes", "buy", "ETH", "0.05",
                         "--limit", "-4%", "--cloid", cloid, key=key, monkeypatch=monkeypatch)
            assert placed.code == 0, placed.err
            cancelled = run(devnet.url, *base[4:], "--venue", "aster-devnet", "--json", "--yes", "cancel", "--cloid",
                            cloid, "--market", "ETH", key=key, monkeypatch=monkeypatch)
            assert cancelled.code == 0, cancelled.err
            time.sleep(0.4)
    finally:
        out, err = proc.communicate(timeout=30)
        record("perp --venue aster-devnet stream orders", out, err)
    assert proc.returncode == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    orders = [(e["cloid"], e["status"]) for e in lines if e["event"] == "order"]
    for cloid in cloids:  # one placed and cancelled while the socket was down shows its latest state, once
        assert orders.count((cloid, "open")) <= 1 and orders.count((cloid, "canceled")) == 1, orders
    connected = [e for e in lines if e["event"] == "status" and e["state"] == "connected"
                 and e["stream"] == "aster-devnet-orders"]
    assert len(connected) >= 2, out  # the expired key's socket was replaced
    assert "listenKey=" not in out + err and "/ws/" not in out + err  # the key is a credential: never shown


def test_an_unanswered_listen_key_request_is_retried_not_fatal():
    """POST listenKey is idempotent (it returns the live key or a new one): a request without an
    answer makes the session reconnect (NetworkError, retryable), never end the stream."""
    from perpcli.domain.errors import NetworkError
    from perpcli.net.backoff import RetryDecision, classify_exception
    from perpcli.venues.aster.rest import SentNoAnswer
    from perpcli.venues.aster.user_stream import ListenKeyConnector

    class Lost:
        listen_key_keepalive_s = 1800.0

        def listen_key(self) -> str:
            raise SentNoAnswer("no answer after sending")

    connector = ListenKeyConnector(Lost(), "ws://127.0.0.1:1")
    with pytest.raises(NetworkError) as caught:
        asyncio.run(connector("ws://127.0.0.1:1/ws/<listenKey>"))
    assert classify_exception(caught.value) is RetryDecision.RETRY

