"""End to end: StreamSession + the Hyperliquid protocol against `perp devnet`'s /ws, which speaks
Hyperliquid's own frames (greeting, subscriptionResponse, l2Book, ping/pong) and drops every
websocket on demand. The session must ride through the drops and end with the venue's book."""

from __future__ import annotations

import asyncio

import pytest

from perpcli.devnet.server import DevnetConfig, start_in_thread
from perpcli.domain.events import ConnectionState
from perpcli.ledger.book import OrderBook, SyncRule
from perpcli.net.sink import BookSink
from perpcli.net.stream import StreamSession
from perpcli.venues.hyperliquid import codec
from perpcli.venues.hyperliquid.stream import HyperliquidProtocol, book_subscription
from tests.devnet_helpers import Http
from tests.test_stream_session import eventually, fast_settings

pytestmark = pytest.mark.timeout(60)


@pytest.fixture()
def devnet():
    # Market steps are slow (0.3 s) so the book holds still between them long enough to compare
    # the streamed book with /info; engine ticks (which push ws frames) are fast.
    handle = start_in_thread(DevnetConfig(port=0, seed=11, market_interval=0.3, tick_interval=0.02))
    http = Http(handle.url)
    yield handle, http
    http.close()
    handle.stop()


def venue_book(http: Http, coin: str) -> OrderBook:
    snap = codec.book_snapshot(http.info({"type": "l2Book", "coin": coin}), venue="hyperliquid")
    book = OrderBook("hyperliquid", coin)
    book.load(snap.bids, snap.asks)
    return book


async def test_session_rides_through_devnet_websocket_drops(devnet):
    handle, http = devnet
    sink = BookSink()
    key = ("l2Book", "BTC")
    sink.add_book(key, "hyperliquid", "BTC", SyncRule.SNAPSHOTS_ONLY)
    settings = fast_settings(11, ping_interval=0.05, pong_timeout=1.0, stale_after=2.0)
    session = StreamSession(handle.ws_url, HyperliquidProtocol(), sink, settings=settings)
    await session.subscribe(book_subscription("BTC"))

    async def local_matches_venue() -> bool:
        theirs = await asyncio.to_thread(venue_book, http, "BTC")
        return len(theirs) > 0 and sink.books[key].checksum() == theirs.checksum(depth=20)

    async def eventually_matches() -> None:
        for _ in range(300):
            if sink.usable(key) and await local_matches_venue():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the streamed book never matched /info")

    async with session:
        await eventually(lambda: sink.usable(key) and len(sink.books[key]) > 0, what="a live book")
        await eventually_matches()

        await asyncio.to_thread(http.control, "faults", {"drop_ws_every": 0.15})
        await eventually(lambda: session.stats.connects >= 4, timeout=15, what="several drops")
        await asyncio.to_thread(http.control, "faults", {"drop_ws_every": 0})

        await eventually_matches()
        assert session.connection_state is ConnectionState.CONNECTED

    assert session.stats.disconnects >= 4
    assert session.failure is None
    assert not [s for s in sink.statuses if "HeartbeatTimeout" in s.detail]  # the devnet answers pings
    assert any(s.stream == "l2Book:BTC" and s.state is ConnectionState.STALE for s in sink.statuses)
