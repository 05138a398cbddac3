"""Resync paths and failure routing, driven frame by frame through an in-memory connection.

The connector is injectable, so these tests hand the session a fake socket and decide exactly
which frame arrives when: no server, no timing luck.
"""

from __future__ import annotations

import asyncio
import json
import math
from decimal import Decimal

import pytest
from websockets.exceptions import ConnectionClosedError

from perpcli.domain.errors import AuthError, NetworkError, OutcomeUnknown
from perpcli.ledger.book import BookState, SyncRule
from perpcli.net.sink import BookSink
from perpcli.net.stream import FeedState, StreamDecodeError, StreamSession, Subscription
from tests.stream_toy import ToyProtocol, depth_sub, orderbook_sub
from tests.test_stream_session import eventually, fast_settings

_END = object()


class FakeConnection:
    """Just enough of a websockets client connection: send, async iteration, close."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.inbox: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    async def send(self, text: str) -> None:
        if self.closed:
            raise ConnectionClosedError(None, None)
        self.sent.append(text)

    def push(self, msg: dict | str) -> None:
        self.inbox.put_nowait(msg if isinstance(msg, str) else json.dumps(msg))

    def drop(self) -> None:
        self.inbox.put_nowait(_END)

    def __aiter__(self) -> FakeConnection:
        return self

    async def __anext__(self) -> str:
        item = await self.inbox.get()
        if item is _END:
            self.closed = True
            raise ConnectionClosedError(None, None)
        return item  # type: ignore[return-value]

    async def close(self) -> None:
        self.closed = True

    def sent_methods(self) -> list[tuple[str, str]]:
        out = []
        for text in self.sent:
            msg = json.loads(text)
            if msg["method"] in ("subscribe", "unsubscribe"):
                out.append((msg["method"], msg["subscription"]["type"]))
        return out


class FakeVenue:
    """Hands out a fresh FakeConnection per connect and remembers them."""

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        self.connected = asyncio.Event()

    async def connect(self, url: str, **kwargs) -> FakeConnection:
        self.kwargs = kwargs
        conn = FakeConnection()
        self.connections.append(conn)
        self.connected.set()
        return conn

    @property
    def current(self) -> FakeConnection:
        return self.connections[-1]


def book_frame(coin: str, *, nonce: int, begin: int | None = None, bid: str = "99", ask: str = "101") -> dict:
    data = {"coin": coin, "nonce": nonce, "b": [[bid, "1"]], "a": [[ask, "2"]]}
    if begin is None:
        data["snapshot"] = True
    else:
        data["begin"] = begin
    return {"channel": "orderbook", "data": data}


async def test_a_gap_on_a_snapshot_on_subscribe_feed_resubscribes_once():
    venue = FakeVenue()
    sink = BookSink()
    key = ("orderbook", "SOL")
    sink.add_book(key, "toy", "SOL", SyncRule.BEGIN_CHAIN)
    session = StreamSession("ws://fake", ToyProtocol(), sink, settings=fast_settings(1), connector=venue.connect)
    await session.subscribe(orderbook_sub("SOL"))
    async with session:
        await eventually(lambda: venue.connections and venue.current.sent, what="subscribed")
        conn = venue.current
        assert conn.sent_methods() == [("subscribe", "orderbook")]
        conn.push(book_frame("SOL", nonce=10))
        conn.push(book_frame("SOL", begin=10, nonce=12, bid="99.5"))
        await eventually(lambda: sink.books[key].sequence == 12, what="applied")
        assert sink.usable(key)

        conn.push(book_frame("SOL", begin=13, nonce=15))  # begin != 12: a gap
        conn.push(book_frame("SOL", begin=15, nonce=16))  # more diffs while resyncing
        conn.push(book_frame("SOL", begin=16, nonce=18))
        await eventually(lambda: len(conn.sent) == 3, what="resubscribe")
        await asyncio.sleep(0.01)
        assert conn.sent_methods() == [("subscribe", "orderbook"), ("unsubscribe", "orderbook"), ("subscribe", "orderbook")]
        assert session.stats.resyncs == 1
        assert not sink.usable(key)
        assert session.feed_states[key] is FeedState.SYNCING

        conn.push(book_frame("SOL", nonce=30, bid="98"))  # the snapshot after resubscribing
        conn.push(book_frame("SOL", begin=30, nonce=31, bid="98.5"))
        await eventually(lambda: sink.books[key].sequence == 31, what="healed")
        assert sink.usable(key)
        assert sink.books[key].best_bid() == (Decimal("98.5"), Decimal(1))
        assert session.stats.connects == 1


async def test_reconnect_resubscribes_everything_and_the_old_book_is_not_trusted():
    venue = FakeVenue()
    sink = BookSink()
    key = ("orderbook", "SOL")
    sink.add_book(key, "toy", "SOL", SyncRule.BEGIN_CHAIN)
    session = StreamSession("ws://fake", ToyProtocol(), sink, settings=fast_settings(2), connector=venue.connect)
    await session.subscribe(orderbook_sub("SOL"))
    async with session:
        await eventually(lambda: venue.connections and venue.current.sent, what="subscribed")
        first = venue.current
        first.push(book_frame("SOL", nonce=10))
        await eventually(lambda: sink.usable(key), what="live")
        first.drop()
        await eventually(lambda: not sink.books[key].is_usable, what="flagged when the connection drops")
        await eventually(lambda: len(venue.connections) == 2 and venue.current.sent, what="reconnected")
        second = venue.current
        assert second.sent_methods() == [("subscribe", "orderbook")]
        # A diff that happens to chain onto the old book is still not trusted after a reconnect:
        second.push(book_frame("SOL", begin=10, nonce=11))
        await asyncio.sleep(0.01)
        assert not sink.usable(key)
        assert sink.books[key].state is BookState.RESYNC
        second.push(book_frame("SOL", nonce=50))
        await eventually(lambda: sink.usable(key), what="live again")
        assert sink.books[key].is_usable


async def test_an_undecodable_frame_restarts_the_connection():
    venue = FakeVenue()
    session = StreamSession("ws://fake", ToyProtocol(), BookSink(), settings=fast_settings(3), connector=venue.connect)
    async with session:
        await eventually(lambda: venue.connections, what="connected")
        venue.current.push("{this is not json")
        await eventually(lambda: len(venue.connections) == 2, what="reconnect")
        assert session.stats.decode_errors == 1
        assert "StreamDecodeError" in session.stats.last_error
        assert session.failure is None


def test_decode_errors_are_raised_not_swallowed_by_the_synchronous_path():
    session = StreamSession("ws://fake", ToyProtocol(), BookSink())
    with pytest.raises(StreamDecodeError):
        session.handle_frame("{broken")


async def test_transient_snapshot_failures_are_retried_and_fatal_ones_stop_the_session():
    venue = FakeVenue()
    sink = BookSink()
    sink.add_book(("depth", "BTC"), "toy", "BTC", SyncRule.PREV_CHAIN)
    calls = 0

    async def flaky(sub: Subscription) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionResetError("REST hiccup")
        raise AuthError("REST says the key is not allowed")

    session = StreamSession(
        "ws://fake", ToyProtocol(), sink, settings=fast_settings(4), connector=venue.connect, snapshot_fetcher=flaky
    )
    await session.subscribe(depth_sub("BTC"))
    with pytest.raises(AuthError):
        await asyncio.wait_for(session.run(), 5)
    assert calls == 3
    assert isinstance(session.failure, AuthError)
    assert len(venue.connections) == 1  # not retried: retrying cannot fix a refused key
    assert venue.current.closed


async def test_rest_feed_without_a_fetcher_is_refused_up_front():
    session = StreamSession("ws://fake", ToyProtocol(), BookSink())
    await session.subscribe(depth_sub("BTC"))
    with pytest.raises(ValueError, match="snapshot_fetcher"):
        session.start()


async def test_a_quiet_account_feed_can_opt_out_of_silence_staleness():
    from perpcli.net.clock import ManualClock
    from perpcli.net.recorder import RecordedFrame

    clock = ManualClock()
    sink = BookSink()
    session = StreamSession("ws://fake", ToyProtocol(), sink, settings=fast_settings(5, stale_after=1.0), clock=clock)
    fills = Subscription(("fills", "me"), {"type": "fills", "coin": "me"}, "fills", stale_after=math.inf)
    await session.subscribe(fills)
    await session.subscribe(orderbook_sub("SOL"))
    session.replay([RecordedFrame(0, "connect", 0.0, 0.0, 1, None, "")], clock=clock)
    clock.advance(3600)
    session.check_staleness()
    assert session.feed_states[("orderbook", "SOL")] is FeedState.STALE
    assert session.feed_states[("fills", "me")] is FeedState.SYNCING  # not stale: silence is normal


def post_frame(request_id: int) -> str:
    return json.dumps({"method": "post", "id": request_id, "request": {"type": "info", "payload": {"type": "meta"}}})


async def test_requests_are_answered_by_id_and_late_answers_are_ignored():
    venue = FakeVenue()
    session = StreamSession("ws://fake", ToyProtocol(), BookSink(), settings=fast_settings(6), connector=venue.connect)
    async with session:
        first = asyncio.create_task(session.request(post_frame(1), 1, timeout=2))
        second = asyncio.create_task(session.request(post_frame(2), 2, timeout=2))
        await eventually(lambda: venue.connections and len(venue.current.sent) == 2, what="both sent")
        venue.current.push({"channel": "post", "data": {"id": 2, "response": {"type": "info", "n": 2}}})
        venue.current.push({"channel": "post", "data": {"id": 1, "response": {"type": "info", "n": 1}}})
        assert await first == {"type": "info", "n": 1}
        assert await second == {"type": "info", "n": 2}

        with pytest.raises(OutcomeUnknown, match="no answer"):
            await session.request(post_frame(3), 3, timeout=0.02)  # sent, never answered
        ignored = session.stats.ignored
        venue.current.push({"channel": "post", "data": {"id": 3, "response": {}}})
        await eventually(lambda: session.stats.ignored == ignored + 1, what="late answer dropped")


async def test_a_request_in_flight_when_the_connection_drops_has_an_unknown_outcome():
    venue = FakeVenue()
    session = StreamSession("ws://fake", ToyProtocol(), BookSink(), settings=fast_settings(7), connector=venue.connect)
    async with session:
        pending = asyncio.create_task(session.request(post_frame(9), 9, timeout=5))
        await eventually(lambda: venue.connections and venue.current.sent, what="sent")
        venue.current.drop()
        with pytest.raises(OutcomeUnknown, match="connection lost"):
            await asyncio.wait_for(pending, 2)


async def test_a_request_that_could_not_leave_is_a_network_error():
    never = asyncio.Event()

    async def unreachable(url: str, **kwargs):
        await never.wait()

    session = StreamSession("ws://fake", ToyProtocol(), BookSink(), settings=fast_settings(8), connector=unreachable)
    async with session:
        with pytest.raises(NetworkError, match="nothing was sent"):
            await session.request(post_frame(1), 1, timeout=0.02)

    venue = FakeVenue()
    session = StreamSession("ws://fake", ToyProtocol(), BookSink(), settings=fast_settings(9), connector=venue.connect)
    async with session:
        await eventually(lambda: venue.connections, what="connected")
        venue.current.closed = True  # the socket is closing: send raises before writing
        with pytest.raises(NetworkError, match="send failed"):
            await session.request(post_frame(2), 2, timeout=1)


async def test_a_garbled_rest_snapshot_is_fetched_again():
    venue = FakeVenue()
    sink = BookSink()
    key = ("depth", "BTC")
    sink.add_book(key, "toy", "BTC", SyncRule.PREV_CHAIN)
    answers = ["<html>502 Bad Gateway</html>",
               json.dumps({"lastUpdateId": 100, "T": 1, "bids": [["99", "1"]], "asks": [["101", "1"]]})]

    async def fetch(sub: Subscription) -> str:
        return answers.pop(0)

    session = StreamSession("ws://fake", ToyProtocol(), sink, settings=fast_settings(10),
                            connector=venue.connect, snapshot_fetcher=fetch)
    await session.subscribe(depth_sub("BTC"))
    async with session:
        await eventually(lambda: not answers, what="both answers used")
        venue.current.push({"channel": "depth", "data": {"s": "BTC", "E": 2, "U": 99, "u": 101, "pu": 98,
                                                          "b": [["99.5", "2"]], "a": []}})
        await eventually(lambda: sink.usable(key), what="bridged")
    assert session.stats.decode_errors == 1 and session.stats.snapshots_fetched == 2
    assert "cannot decode" in session.stats.last_error and session.stats.connects == 1
    assert session.failure is None


async def test_keys_a_recording_cannot_hold_are_refused_at_subscribe_time(tmp_path):
    from perpcli.net.recorder import FrameRecorder

    with FrameRecorder(tmp_path / "r.ndjson") as rec:
        session = StreamSession("ws://fake", ToyProtocol(), BookSink(), recorder=rec)
        with pytest.raises(TypeError):
            await session.subscribe(Subscription(frozenset({"x"}), {}, "odd"))
        assert session.subscriptions == {}


class NoAppPing(ToyProtocol):
    def ping_frame(self) -> str | None:
        return None


async def test_websocket_level_pings_when_the_venue_has_no_app_ping_and_venue_pings_answered():
    venue = FakeVenue()
    settings = fast_settings(11, ping_interval=0.01)
    async with StreamSession("ws://fake", NoAppPing(), BookSink(), settings=settings, connector=venue.connect):
        await eventually(lambda: venue.connections, what="connected")
        assert venue.kwargs["ping_interval"] == 0.01 and venue.kwargs["ping_timeout"] == settings.pong_timeout
        venue.current.push({"channel": "ping"})  # Lighter-style: the venue pings, we answer
        await eventually(lambda: '{"method":"pong"}' in venue.current.sent, what="pong sent")
        await asyncio.sleep(0.05)
        assert '{"method":"ping"}' not in venue.current.sent  # no app-level pings of our own

    venue = FakeVenue()
    async with StreamSession("ws://fake", ToyProtocol(), BookSink(), settings=settings, connector=venue.connect):
        await eventually(lambda: venue.connections and '{"method":"ping"}' in venue.current.sent, what="app ping")
        assert venue.kwargs["ping_interval"] is None  # the app-level ping replaces the library's
