"""Streams feeding the ledger Store (the single holder): two venues, one store, random drops.

"toy-aster" streams Binance-style depth diffs (U/u/pu + REST snapshots), "toy-hl" streams
Hyperliquid-style full l2Book snapshots; both come from one toy server. Readers use only the
store: its coalescing change feed and `usable_book`, the gate every pricing path goes through.
"""

from __future__ import annotations

import asyncio
import json
import math
import random

from perpcli.domain.events import ConnectionState
from perpcli.ledger.book import BookState, SyncRule
from perpcli.ledger.store import Store
from perpcli.net.clock import ManualClock
from perpcli.net.recorder import FrameRecorder, RecordedFrame, read_recording
from perpcli.net.sink import StoreSink
from perpcli.net.stream import FeedState, StreamSession, Subscription
from tests.stream_toy import ToyMarket, ToyProtocol, ToyServer, ToyServerSettings, depth_sub, l2book_sub
from tests.test_stream_resync import FakeVenue
from tests.test_stream_session import COINS, eventually, fast_settings, server_book

ASTER, HL = "toy-aster", "toy-hl"


def store_converged(store: Store, market: ToyMarket) -> bool:
    for coin in COINS:
        depth = store.books.get((ASTER, coin))
        l2 = store.books.get((HL, coin))
        if depth is None or depth.state is not BookState.LIVE or depth.sequence != market.books[coin].seq:
            return False
        if l2 is None or l2.state is not BookState.LIVE or l2.time_ms != market.books[coin].time_ms:
            return False
    return True


async def test_two_venues_feed_one_store_through_drops_and_gaps(tmp_path):
    seed = 4242
    market = ToyMarket(COINS, random.Random(seed))
    settings = ToyServerSettings(tick=0.002, drop_after=(15, 60), refuse_for=0.02, lose_diff_probability=0.03)
    store = Store(book_rules={ASTER: SyncRule.PREV_CHAIN, HL: SyncRule.SNAPSHOTS_ONLY})
    aster_sink, hl_sink = StoreSink(store, ASTER), StoreSink(store, HL)
    woken = asyncio.Event()
    reader = store.subscribe(kinds={"book", "conn"}, notify=woken.set)
    max_pending = 0
    polls = 0
    down_samples = 0
    priced_while_down = 0

    async with ToyServer(market, settings, random.Random(seed + 1)) as server:
        recorder = FrameRecorder(tmp_path / "aster.ndjson")
        aster = StreamSession(server.url, ToyProtocol(ASTER), aster_sink, name="aster-ws",
                              settings=fast_settings(seed), snapshot_fetcher=server.fetch_snapshot,
                              recorder=recorder)
        hl = StreamSession(server.url, ToyProtocol(HL), hl_sink, name="hl-ws", settings=fast_settings(seed + 2))
        for coin in COINS:
            aster_sink.track_book(("depth", coin), coin)
            hl_sink.track_book(("l2Book", coin), coin)
            await aster.subscribe(depth_sub(coin))
            await hl.subscribe(l2book_sub(coin))

        async def slow_reader() -> None:
            nonlocal max_pending, polls
            while True:
                await woken.wait()
                await asyncio.sleep(0.02)  # a screen at ~50 Hz, slower than the feeds
                max_pending = max(max_pending, reader.pending)
                woken.clear()
                reader.poll()
                polls += 1

        async def sample_gate() -> None:
            nonlocal down_samples, priced_while_down
            while True:
                for session, venue in ((aster, ASTER), (hl, HL)):
                    if session.connection_state is not ConnectionState.CONNECTED:
                        down_samples += 1
                        if any(store.usable_book(venue, c) is not None for c in COINS):
                            priced_while_down += 1
                await asyncio.sleep(0.001)

        tasks = [asyncio.create_task(slow_reader()), asyncio.create_task(sample_gate())]
        async with aster, hl:
            await eventually(lambda: server.drops >= 8 and server.diffs_lost >= 3, what="faults")
            server.settings.lose_diff_probability = 0.0
            server.settings.drop_after = None
            for conn in server.conns:
                conn.frames_left = None
            marks = {coin: market.books[coin].seq for coin in COINS}

            def all_usable() -> bool:
                return all(
                    store.usable_book(v, c) is not None for v in (ASTER, HL) for c in COINS
                ) and all(store.books[(ASTER, c)].sequence > marks[c] for c in COINS)

            while True:
                await eventually(all_usable, what="every book usable once faults stop")
                drops = server.drops
                await asyncio.sleep(0.03)
                if drops == server.drops and all_usable():
                    break
            server.frozen = True
            await eventually(lambda: store_converged(store, market), what="store caught up")
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    for coin in COINS:
        expected = server_book(market, coin)
        assert store.books[(ASTER, coin)].checksum() == expected.checksum()
        assert store.books[(HL, coin)].checksum() == expected.checksum(depth=10)
    assert aster.stats.resyncs >= 1 and aster.stats.connects >= 3 and hl.stats.connects >= 3
    assert down_samples > 0 and priced_while_down == 0  # never priced while its venue was down
    assert max_pending <= 2 * len(COINS) + 2  # 4 books + 2 connections, whatever the rate
    assert polls > 0
    assert store.connections[(ASTER, "aster-ws")].state is ConnectionState.DOWN  # closed at the end
    assert store.usable_book(ASTER, "BTC") is None

    # The recording of the diff venue rebuilds the same books in a fresh store.
    recorder.close()
    replayed = Store(book_rules={ASTER: SyncRule.PREV_CHAIN})
    again = StoreSink(replayed, ASTER)
    offline = StreamSession("ws://unused", ToyProtocol(ASTER), again, settings=fast_settings(seed))
    for coin in COINS:
        again.track_book(("depth", coin), coin)
        await offline.subscribe(depth_sub(coin))
    offline.replay(read_recording(tmp_path / "aster.ndjson"))
    for coin in COINS:
        live_book, replayed_book = store.books[(ASTER, coin)], replayed.books[(ASTER, coin)]
        assert (replayed_book.checksum(), replayed_book.sequence) == (live_book.checksum(), live_book.sequence)


async def test_one_silent_market_does_not_condemn_the_venues_other_books():
    clock = ManualClock()
    store = Store()
    sink = StoreSink(store, HL)
    session = StreamSession("ws://x", ToyProtocol(HL), sink, settings=fast_settings(1, stale_after=2.0), clock=clock)
    for coin in COINS:
        sink.track_book(("l2Book", coin), coin)
        await session.subscribe(l2book_sub(coin))
    market = ToyMarket(COINS, random.Random(5))
    frames = [RecordedFrame(0, "connect", 0.0, 0.0, 1, None, "ws://x")] + [
        RecordedFrame(i + 1, "in", 0.1, 0.0, 1, None, json.dumps({"channel": "l2Book", "data": market.l2book(c)}))
        for i, c in enumerate(COINS)
    ]
    session.replay(frames, clock=clock)
    assert all(store.usable_book(HL, c) is not None for c in COINS)
    changes = store.subscribe(kinds={"book"})
    clock.advance(1.5)
    session.handle_frame(json.dumps({"channel": "l2Book", "data": market.l2book("BTC")}))
    clock.advance(1.0)  # ETH silent for 2.4 s, BTC for 1.0 s
    session.check_staleness()
    assert store.usable_book(HL, "ETH") is None
    assert store.books[(HL, "ETH")].state is BookState.LIVE  # levels kept for display
    assert store.usable_book(HL, "BTC") is not None
    assert ("book", HL, "ETH") in changes.poll()  # readers are told the flag changed


async def test_event_feeds_without_a_snapshot_are_live_once_subscribed():
    venue = FakeVenue()
    store = Store()
    sink = StoreSink(store, HL)
    orders = Subscription(("orderUpdates",), {"type": "orderUpdates", "coin": "-"}, "orderUpdates",
                          stale_after=math.inf, ready_on_subscribe=True)
    session = StreamSession("ws://x", ToyProtocol(HL), sink, settings=fast_settings(2), connector=venue.connect)
    await session.subscribe(orders)
    assert session.feed_states[("orderUpdates",)] is FeedState.SYNCING  # not connected yet
    async with session:
        await eventually(lambda: session.feed_states[("orderUpdates",)] is FeedState.LIVE, what="live")
        assert sink.feed_states[("orderUpdates",)] is ConnectionState.CONNECTED
        assert store.venue_healthy(HL)
