"""A slow reader gets the latest book, never a backlog, and the receive loop never waits for it."""

from __future__ import annotations

import asyncio
import random

from perpcli.net.sink import BookSink
from perpcli.net.stream import StreamSession
from tests.stream_toy import ToyMarket, ToyProtocol, ToyServer, ToyServerSettings
from tests.test_stream_session import (
    COINS,
    assert_books_match_server,
    fast_settings,
    make_sink,
    quiesce_and_converge,
    subscribe_all,
)


async def test_slow_consumer_sees_the_latest_book_with_bounded_memory():
    market = ToyMarket(COINS, random.Random(11))
    sink: BookSink = make_sink()
    keys = set(sink.books)
    max_pending = 0
    batches: list[dict] = []

    async with ToyServer(market, ToyServerSettings(tick=0.001), random.Random(12)) as server:
        session = StreamSession(
            server.url, ToyProtocol(), sink, settings=fast_settings(11), snapshot_fetcher=server.fetch_snapshot
        )
        await subscribe_all(session)

        async def sample_backlog() -> None:
            nonlocal max_pending
            while True:
                max_pending = max(max_pending, len(sink.views))
                await asyncio.sleep(0.001)

        async def slow_reader() -> None:
            for _ in range(5):
                batches.append(await sink.views.take())
                await asyncio.sleep(0.05)  # a screen redrawing at 20 Hz, far slower than the feed

        sampler = asyncio.create_task(sample_backlog())
        async with session:
            await slow_reader()
            frames_during_reads = session.stats.frames_in
            await quiesce_and_converge(server, sink)
            last = await sink.views.take()  # whatever changed since: only the newest views
            # (no await since take() returned: nothing can have changed in between)
            assert last and all(view.updates == sink.view(key).updates for key, view in last.items())
            assert all(view.book is sink.books[key] for key, view in last.items())
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)

    assert frames_during_reads > 5 * len(batches)  # the feed really outran the reader
    assert max_pending <= len(keys)  # bounded by the number of feeds, not by the feed's rate
    assert all(set(batch) <= keys for batch in batches)
    assert sink.views.superseded > sink.views.delivered  # most intermediate states were skipped
    assert_books_match_server(sink, market)


async def test_the_receive_path_never_blocks_on_an_absent_reader():
    """Nobody reads the views at all: the feed keeps going and the mailbox stays small."""
    market = ToyMarket(COINS, random.Random(21))
    sink = make_sink()
    async with ToyServer(market, ToyServerSettings(tick=0.001), random.Random(22)) as server:
        session = StreamSession(
            server.url, ToyProtocol(), sink, settings=fast_settings(21), snapshot_fetcher=server.fetch_snapshot
        )
        await subscribe_all(session)
        async with session:
            await quiesce_and_converge(server, sink)
            assert len(sink.views) <= len(sink.books)
    assert_books_match_server(sink, market)
