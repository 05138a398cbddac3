"""Liveness: pings on a silent socket, reconnect on a missing pong, staleness on a manual clock,
venue pings answered, non-retryable refusals stop the session, and shutdown leaves nothing behind."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import random

import pytest
from websockets.exceptions import InvalidStatus

from perpcli.domain.events import ConnectionState
from perpcli.ledger.book import BookState, SyncRule
from perpcli.net.clock import ManualClock
from perpcli.net.recorder import RecordedFrame
from perpcli.net.sink import BookSink
from perpcli.net.stream import FeedState, StreamSession
from tests.stream_toy import ToyMarket, ToyProtocol, ToyServer, ToyServerSettings, l2book_sub
from tests.test_stream_session import eventually, fast_settings


def quiet_server(**overrides) -> ToyServer:
    settings = ToyServerSettings(tick=0.0, send_data=False, **overrides)
    return ToyServer(ToyMarket(("ETH",), random.Random(1)), settings, random.Random(2))


async def test_a_silent_server_still_gets_pings_and_the_connection_stays_up():
    sink = BookSink()
    async with quiet_server() as server:
        session = StreamSession(server.url, ToyProtocol(), sink, settings=fast_settings(1, ping_interval=0.02))
        await session.subscribe(l2book_sub("ETH"))
        async with session:
            await eventually(lambda: server.pings_received >= 5, timeout=5, what="pings")
            assert session.stats.connects == 1
            # Pongs prove the connection alive; the feed itself is silent, hence stale.
            assert session.connection_state is ConnectionState.CONNECTED
            await eventually(lambda: session.feed_states[("l2Book", "ETH")] is FeedState.STALE, what="stale")


async def test_a_server_that_stops_answering_pings_causes_a_reconnect():
    sink = BookSink()
    reconciles = 0

    async def reconcile() -> None:
        nonlocal reconciles
        reconciles += 1

    async with quiet_server(answer_pings=False) as server:
        session = StreamSession(
            server.url,
            ToyProtocol(),
            sink,
            settings=fast_settings(2, ping_interval=0.01, pong_timeout=0.02),
            on_reconnect=reconcile,
        )
        async with session:
            await eventually(lambda: session.stats.connects >= 3, timeout=5, what="reconnects")
            await eventually(lambda: reconciles >= 2, what="reconcile hook after each reconnect")
        assert "no pong" in session.stats.last_error
        assert server.connections_accepted >= 3
        assert any(
            s.state is ConnectionState.RECONNECTING and "HeartbeatTimeout" in s.detail for s in sink.statuses
        )
        assert reconciles <= session.stats.connects - 1  # never on the first connect


async def test_a_failing_reconcile_hook_is_reported_not_fatal():
    async def broken() -> None:
        raise RuntimeError("REST down")

    async with quiet_server(answer_pings=False) as server:
        session = StreamSession(
            server.url, ToyProtocol(), BookSink(),
            settings=fast_settings(4, ping_interval=0.01, pong_timeout=0.02), on_reconnect=broken,
        )
        async with session:
            await eventually(lambda: session.stats.connects >= 3, timeout=5, what="reconnects")
        assert session.failure is None


async def test_venue_pings_are_answered():
    session = StreamSession("ws://unused", ToyProtocol(), BookSink())
    assert list(session.handle_frame('{"channel":"ping"}')) == ['{"method":"pong"}']
    assert list(session.handle_frame("Websocket connection established.")) == []
    assert session.stats.ignored == 1


async def test_a_refused_upgrade_that_retrying_cannot_fix_stops_the_session():
    sink = BookSink()
    async with quiet_server(reject_with=403) as server:
        session = StreamSession(server.url, ToyProtocol(), sink, settings=fast_settings(3))
        with pytest.raises(InvalidStatus):
            await asyncio.wait_for(session.run(), 5)
        assert server.connections_refused == 1  # no retry storm against a 403
        assert isinstance(session.failure, InvalidStatus)
        assert session.connection_state is ConnectionState.DOWN
        assert sink.connection is not None and "403" in sink.connection.detail


async def test_staleness_follows_a_manual_clock_without_sleeping():
    clock = ManualClock(now=50.0)
    sink = BookSink()
    key = ("l2Book", "ETH")
    sink.add_book(key, "toy", "ETH", SyncRule.SNAPSHOTS_ONLY)
    session = StreamSession("ws://unused", ToyProtocol(), sink, settings=fast_settings(5, stale_after=2.0), clock=clock)
    await session.subscribe(l2book_sub("ETH"))
    market = ToyMarket(("ETH",), random.Random(9))
    frame = json.dumps({"channel": "l2Book", "data": market.l2book("ETH")})
    session.replay(
        [RecordedFrame(0, "connect", 50.0, 0.0, 1, None, "ws://x"), RecordedFrame(1, "in", 50.5, 0.0, 1, None, frame)],
        clock=clock,
    )
    assert session.feed_states[key] is FeedState.LIVE and sink.usable(key)
    clock.advance(1.9)
    session.check_staleness()
    assert sink.usable(key)
    assert session.age(key) == pytest.approx(1.9)
    clock.advance(0.2)
    session.check_staleness()
    assert session.feed_states[key] is FeedState.STALE
    assert not sink.usable(key)  # a stale book never prices an order...
    assert not sink.books[key].is_usable  # ...also for code that only holds the book
    assert sink.books[key].state is BookState.LIVE  # its levels are intact, just not trusted
    stale = [s for s in sink.statuses if s.stream == "l2Book:ETH" and s.state is ConnectionState.STALE]
    assert stale and stale[-1].last_message_age_ms == 2100
    session.handle_frame(frame)
    assert session.feed_states[key] is FeedState.LIVE and sink.usable(key)
    assert sink.books[key].is_usable


async def test_shutdown_leaves_no_task_and_no_warning(caplog):
    caplog.set_level(logging.ERROR, logger="asyncio")
    market = ToyMarket(("ETH",), random.Random(1))
    async with ToyServer(market, ToyServerSettings(tick=0.002, drop_after=(5, 10)), random.Random(2)) as server:
        for delay in (0.0, 0.005, 0.02, 0.05):  # close while connecting, serving and backing off
            session = StreamSession(server.url, ToyProtocol(), BookSink(), settings=fast_settings(6))
            await session.subscribe(l2book_sub("ETH"))
            session.start()
            await asyncio.sleep(delay)
            await session.aclose()
            await session.aclose()  # twice is fine
            assert session.connection_state is ConnectionState.DOWN
            assert all(state is FeedState.CLOSED for state in session.feed_states.values())
            mine = [t for t in asyncio.all_tasks() if t.get_name().startswith(("toy-ws", "stream:"))]
            assert mine == []
    gc.collect()
    assert not [r for r in caplog.records if "destroyed" in r.getMessage() or "never retrieved" in r.getMessage()]


class _WebsocketPingProtocol(ToyProtocol):
    """A venue without an app-level ping (Aster): the websocket library pings instead."""

    def ping_frame(self) -> str | None:
        return None


async def test_a_quiet_socket_with_websocket_pings_is_not_stale():
    # Aster's user-data stream says nothing between account events; its feed never goes stale
    # (stale_after=inf), and no app-level frame can prove the link alive: it must stay
    # CONNECTED (a dead link is closed by the websocket library's own ping timeout).
    import dataclasses
    import math

    quiet_feed = dataclasses.replace(l2book_sub("ETH"), stale_after=math.inf)
    async with quiet_server() as server:
        session = StreamSession(server.url, _WebsocketPingProtocol(), BookSink(),
                                settings=fast_settings(5, ping_interval=0.02, pong_timeout=0.02))
        await session.subscribe(quiet_feed)
        async with session:
            await eventually(lambda: session.connection_state is ConnectionState.CONNECTED, what="connected")
            await asyncio.sleep(0.5)  # many times every silence limit of the settings
            assert session.connection_state is ConnectionState.CONNECTED
            assert session.stats.connects == 1
