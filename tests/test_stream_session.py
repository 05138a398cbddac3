"""StreamSession against a loopback toy venue that drops connections and loses diffs.

Both book schemes are exercised: `depth` (Binance/Aster U/u/pu diffs + REST snapshot) and
`l2Book` (Hyperliquid full snapshots). Intervals are tens of milliseconds so this stays fast.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import pytest

from perpcli.domain.events import ConnectionState
from perpcli.ledger.book import BookState, OrderBook, SyncRule
from perpcli.net.backoff import Backoff
from perpcli.net.recorder import FrameRecorder
from perpcli.net.sink import BookSink
from perpcli.net.stream import FeedState, StreamSession, StreamSettings
from tests.stream_toy import ToyMarket, ToyProtocol, ToyServer, ToyServerSettings, depth_sub, l2book_sub

COINS = ("BTC", "ETH")


def fast_settings(seed: int, **overrides: float) -> StreamSettings:
    values = dict(
        ping_interval=0.05,
        pong_timeout=0.05,
        stale_after=0.04,
        staleness_check_interval=0.005,
        open_timeout=1.0,
        close_timeout=0.05,
        healthy_after=60.0,
        snapshot_retry_delay=0.003,
    )
    values.update(overrides)
    return StreamSettings(
        **values, backoff=Backoff(base=0.004, factor=2.0, cap=0.03, min_delay=0.002, rng=random.Random(seed))
    )


def make_sink() -> BookSink:
    sink = BookSink()
    for coin in COINS:
        sink.add_book(("depth", coin), "toy", coin, SyncRule.PREV_CHAIN)
        sink.add_book(("l2Book", coin), "toy", coin, SyncRule.SNAPSHOTS_ONLY)
    return sink


async def subscribe_all(session: StreamSession) -> None:
    for coin in COINS:
        await session.subscribe(depth_sub(coin))
        await session.subscribe(l2book_sub(coin))


def server_book(market: ToyMarket, coin: str) -> OrderBook:
    book = OrderBook("toy", coin)
    src = market.books[coin]
    book.load(src.sorted_bids(), src.sorted_asks())
    return book


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.002)


def converged(sink: BookSink, market: ToyMarket) -> bool:
    """Every book in sync and caught up with the (frozen) server. Not `usable`: a frozen market
    is silent, so its feeds correctly turn stale."""
    for coin in COINS:
        depth = sink.books[("depth", coin)]
        if depth.state is not BookState.LIVE or depth.sequence != market.books[coin].seq:
            return False
        l2 = sink.books[("l2Book", coin)]
        if l2.state is not BookState.LIVE or l2.time_ms != market.books[coin].time_ms:
            return False
    return True


async def quiesce_and_converge(server: ToyServer, sink: BookSink) -> None:
    """Stop faults, let every feed come back, then freeze the market and wait for the tail."""
    server.settings.lose_diff_probability = 0.0
    server.settings.drop_after = None
    for conn in server.conns:
        conn.frames_left = None
    # A lost diff is only noticed when the next diff for that book arrives: wait until every
    # book has applied a diff sent after the faults stopped.
    marks = {coin: server.market.books[coin].seq for coin in COINS}
    while True:
        await eventually(
            lambda: all(sink.usable(k) for k in sink.books)
            and all(sink.books[("depth", c)].sequence > marks[c] for c in COINS),
            what="all feeds usable after the faults stop",
        )
        drops = server.drops
        await asyncio.sleep(0.03)  # a drop decided just before the faults stopped may still land
        if server.drops == drops and all(sink.usable(k) for k in sink.books):
            break
    server.frozen = True
    await eventually(lambda: converged(sink, server.market), what="books to reach the server's sequence")


def assert_books_match_server(sink: BookSink, market: ToyMarket) -> None:
    for coin in COINS:
        expected = server_book(market, coin)
        assert sink.books[("depth", coin)].checksum() == expected.checksum()
        assert sink.books[("l2Book", coin)].checksum() == expected.checksum(depth=10)


async def test_books_survive_random_drops_and_lost_diffs():
    seed = 20261125
    rng = random.Random(seed)
    market = ToyMarket(COINS, random.Random(seed + 1))
    settings = ToyServerSettings(tick=0.002, drop_after=(15, 60), refuse_for=0.03, lose_diff_probability=0.03)
    sink = make_sink()
    seen_unusable_while_stale = False

    async with ToyServer(market, settings, rng) as server:
        session = StreamSession(
            server.url, ToyProtocol(), sink, settings=fast_settings(seed), snapshot_fetcher=server.fetch_snapshot
        )
        await subscribe_all(session)

        async def watch_views() -> None:
            nonlocal seen_unusable_while_stale
            async for batch in sink.views:
                for view in batch.values():
                    if view.stream_state is ConnectionState.STALE:
                        assert not view.usable
                        seen_unusable_while_stale = True

        watcher = asyncio.create_task(watch_views())
        async with session:
            await eventually(lambda: server.drops >= 6 and server.diffs_lost >= 3, what="drops and losses")
            await quiesce_and_converge(server, sink)
            assert_books_match_server(sink, market)
            server.frozen = False
            await eventually(lambda: all(sink.usable(k) for k in sink.books), what="live again")
            assert all(session.feed_states[k] is FeedState.LIVE for k in sink.books)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    stats = session.stats
    assert stats.connects >= 7 and stats.disconnects == stats.connects
    assert server.connections_refused >= 1  # some reconnects met a 503 and backed off
    assert stats.resyncs >= 3  # lost diffs were noticed as gaps...
    assert stats.snapshots_fetched >= stats.connects  # ...and healed by fresh snapshots
    assert seen_unusable_while_stale
    feed_states = {(s.stream, s.state) for s in sink.statuses}
    assert ("depth:BTC", ConnectionState.STALE) in feed_states  # stale while down
    assert ("l2Book:ETH", ConnectionState.STALE) in feed_states
    assert any(s.stream == "toy-ws" and s.state is ConnectionState.RECONNECTING for s in sink.statuses)
    # closed cleanly: no task of ours is left behind
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("toy-ws")]


async def test_gap_in_diffs_is_healed_by_a_fresh_snapshot_without_reconnecting():
    rng = random.Random(7)
    market = ToyMarket(COINS, random.Random(8))
    sink = make_sink()
    async with ToyServer(market, ToyServerSettings(tick=0.002), rng) as server:
        session = StreamSession(
            server.url, ToyProtocol(), sink, settings=fast_settings(7), snapshot_fetcher=server.fetch_snapshot
        )
        await subscribe_all(session)
        async with session:
            await eventually(lambda: all(sink.usable(k) for k in sink.books), what="live")
            fetched = session.stats.snapshots_fetched
            server.settings.lose_diff_probability = 1.0  # lose the next diffs...
            await eventually(lambda: server.diffs_lost >= 2, what="a lost diff")
            server.settings.lose_diff_probability = 0.0  # ...then stream cleanly again
            await eventually(lambda: session.stats.resyncs >= 1, what="gap noticed")
            await quiesce_and_converge(server, sink)
            assert_books_match_server(sink, market)
            assert session.stats.connects == 1
            assert session.stats.snapshots_fetched > fetched


async def test_a_gapped_book_is_not_usable_until_resynced():
    """Step by step: the flag that gates pricing follows the book through a gap and its repair."""
    market = ToyMarket(("BTC",), random.Random(3))
    sink = BookSink()
    key = ("depth", "BTC")
    sink.add_book(key, "toy", "BTC", SyncRule.PREV_CHAIN)
    gate = asyncio.Event()
    asked = 0

    async with ToyServer(market, ToyServerSettings(tick=0.0), random.Random(4)) as server:

        async def gated_fetch(sub):
            """REST answers only when the test says so, so diffs can be published meanwhile."""
            nonlocal asked
            asked += 1
            await gate.wait()
            gate.clear()
            return market.rest_snapshot("BTC")

        session = StreamSession(
            server.url, ToyProtocol(), sink, settings=fast_settings(3, stale_after=5.0),
            snapshot_fetcher=gated_fetch,
        )
        await session.subscribe(depth_sub("BTC"))
        async with session:
            await eventually(lambda: asked == 1 and server.conns and server.conns[0].subs, what="subscribed")
            await server.publish_step()  # buffered: no snapshot yet
            await eventually(lambda: session.stats.frames_in >= 3, what="diff received")
            assert not sink.usable(key)
            gate.set()  # snapshot taken now; the buffered diff bridges it (U <= L <= u)
            await eventually(lambda: sink.usable(key), what="bridged")
            book = sink.books[key]
            assert book.checksum() == server_book(market, "BTC").checksum()

            market.step()  # a change nobody hears about: the next diff will not chain (pu != u)
            await server.publish_step()
            await eventually(lambda: session.stats.resyncs == 1, what="gap")
            assert not sink.usable(key)
            assert book.state is BookState.RESYNC
            assert session.feed_states[key] is FeedState.SYNCING
            await eventually(lambda: asked == 2, what="a fresh snapshot requested")
            await server.publish_step()
            gate.set()
            await eventually(lambda: sink.usable(key), what="usable again")
            assert book.checksum() == server_book(market, "BTC").checksum()
            assert session.stats.connects == 1


async def test_replayed_recording_reproduces_the_same_books(tmp_path):
    seed = 99
    market = ToyMarket(COINS, random.Random(seed))
    settings = ToyServerSettings(tick=0.002, drop_after=(20, 50), refuse_for=0.01, lose_diff_probability=0.03)
    live = make_sink()
    path = tmp_path / "frames.ndjson"
    recorder = FrameRecorder(path)
    async with ToyServer(market, settings, random.Random(seed + 1)) as server:
        session = StreamSession(
            server.url, ToyProtocol(), live, settings=fast_settings(seed),
            snapshot_fetcher=server.fetch_snapshot, recorder=recorder,
        )
        await subscribe_all(session)
        async with session:
            await eventually(lambda: server.drops >= 3 and server.diffs_lost >= 2, what="faults")
            await quiesce_and_converge(server, live)
    recorder.close()

    from perpcli.net.clock import ManualClock
    from perpcli.net.recorder import read_recording

    clock = ManualClock()
    replayed = make_sink()
    offline = StreamSession("ws://unused", ToyProtocol(), replayed, settings=fast_settings(seed), clock=clock)
    await subscribe_all(offline)
    frames = list(read_recording(path))
    assert {f.direction for f in frames} >= {"in", "out", "snapshot", "connect", "disconnect"}
    assert offline.replay(frames, clock=clock) == len(frames)
    for key, book in live.books.items():
        other = replayed.books[key]
        assert other.checksum() == book.checksum()
        assert other.sequence == book.sequence
        assert other.state is book.state
    assert offline.stats.resyncs >= 1  # the recorded gaps were seen again in the replay
    assert_books_match_server(replayed, market)


@pytest.mark.parametrize("bad", ["not json at all {", '{"channel": 5'])
def test_replay_rejects_a_malformed_recording(tmp_path, bad):
    from perpcli.net.recorder import read_recording

    path = tmp_path / "bad.ndjson"
    path.write_text('{"seq":0,"dir":"in","mono":1,"epoch":2,"conn":1,"key":null,"text":"x"}\n' + bad + "\n")
    with pytest.raises(ValueError, match="bad.ndjson:2"):
        list(read_recording(path))


async def test_first_connection_is_connecting_and_a_deliberate_close_is_not_a_lost_connection():
    """Issue 13: a stream starting up said `reconnecting` before anything had failed, and Ctrl-C
    printed `stale … connection lost` for every feed. Only a real loss is reported as one."""
    market = ToyMarket(COINS, random.Random(3))
    sink = make_sink()
    async with ToyServer(market, ToyServerSettings(tick=0.002), random.Random(4)) as server:
        session = StreamSession(
            server.url, ToyProtocol(), sink, settings=fast_settings(3, stale_after=5.0),
            snapshot_fetcher=server.fetch_snapshot,
        )
        await session.subscribe(depth_sub("BTC"))
        async with session:
            await eventually(lambda: sink.usable(("depth", "BTC")), what="live")
            started = list(sink.statuses)
            for conn in server.conns:  # now lose the connection for real
                conn.frames_left = 1
            await eventually(lambda: session.stats.connects >= 2 and sink.usable(("depth", "BTC")), what="back")
            recovered = list(sink.statuses[len(started):])
            closing_from = len(sink.statuses)
        closed = sink.statuses[closing_from:]

    before_live = [(s.stream, s.state) for s in started]
    assert ("toy-ws", ConnectionState.CONNECTING) in before_live
    assert ("depth:BTC", ConnectionState.CONNECTING) in before_live
    assert all(state is not ConnectionState.RECONNECTING for _, state in before_live), before_live
    # a real loss still says so: stale, then reconnecting
    assert any(s.stream == "depth:BTC" and s.state is ConnectionState.STALE for s in recovered)
    assert any(s.stream == "toy-ws" and s.state is ConnectionState.RECONNECTING for s in recovered)
    assert not any(s.state is ConnectionState.CONNECTING for s in recovered)
    # closing on purpose: every feed and the connection are DOWN ("closed"), none is stale
    assert closed and all(s.state is ConnectionState.DOWN and s.detail == "closed" for s in closed), closed
