"""A usable book is never a wrong book: the whole sync path under seeded faults, without sockets.

Frames from the toy venue's depth feed (U/u/pu diffs) are lost, duplicated, reordered and cut by
disconnects before they reach a StreamSession (through `replay`, the exact path the socket
uses); REST snapshots answer its resync requests a few frames late, as a real fetch would.
After every single frame: whenever the sink says the book may price an order, the book must
equal the venue's book at the sequence it claims, and it must catch up once faults stop.
"""

from __future__ import annotations

import json
import random

import pytest

from perpcli.domain.orders import Side
from perpcli.ledger.book import OrderBook, SyncRule
from perpcli.net.clock import ManualClock
from perpcli.net.recorder import RecordedFrame
from perpcli.net.sink import BookSink
from perpcli.net.stream import FeedState, StreamSession
from tests.stream_toy import ToyMarket, ToyProtocol, depth_sub
from tests.test_stream_session import fast_settings

KEY = ("depth", "BTC")


def levels_of(market: ToyMarket) -> tuple[tuple, tuple]:
    """The venue's book as (bids best first, asks best first)."""
    src = market.books["BTC"]
    return tuple(src.sorted_bids()), tuple(src.sorted_asks())


def local_levels(book: OrderBook) -> tuple[tuple, tuple]:
    return tuple(book.levels(Side.BUY)), tuple(book.levels(Side.SELL))


def frame(direction: str, text: str = "", key=None) -> RecordedFrame:
    return RecordedFrame(0, direction, 0.0, 0.0, 0, key, text)


@pytest.mark.parametrize("seed", range(8))
async def test_usable_books_are_always_right_under_faults(seed):
    rng = random.Random(seed)
    market = ToyMarket(("BTC",), random.Random(seed + 1000))
    truth = {market.books["BTC"].seq: levels_of(market)}
    clock = ManualClock()
    sink = BookSink()
    book = sink.add_book(KEY, "toy", "BTC", SyncRule.PREV_CHAIN)
    session = StreamSession("ws://replay", ToyProtocol(), sink, settings=fast_settings(seed), clock=clock)
    await session.subscribe(depth_sub("BTC"))  # never started: frames arrive only via replay

    snapshot_due: int | None = None
    held = None  # a diff held back to be delivered after the next one (reordering)
    checks = usable_checks = 0

    def feed(f: RecordedFrame) -> None:
        nonlocal checks, usable_checks
        session.replay([f])
        checks += 1
        if sink.usable(KEY):
            usable_checks += 1
            assert book.sequence in truth
            assert local_levels(book) == truth[book.sequence], f"seed {seed}: wrong book at seq {book.sequence}"

    feed(frame("connect", "ws://replay"))
    steps = 400
    for step in range(steps):
        faults = step < steps - 100  # the last 100 steps are clean: the book must catch up
        diff = market.step()[0]
        truth[market.books["BTC"].seq] = levels_of(market)
        text = json.dumps({"channel": "depth", "data": diff})
        roll = rng.random() if faults else 1.0
        if roll < 0.03:
            pass  # lost
        elif roll < 0.06:
            feed(frame("in", text))
            feed(frame("in", text))  # duplicated
        elif roll < 0.09 and held is None:
            held = text  # delivered after the next one
        elif roll < 0.11:
            feed(frame("disconnect", "dropped"))
            feed(frame("connect", "ws://replay"))
            held = None
            snapshot_due = None
        else:
            feed(frame("in", text))
            if held is not None:
                feed(frame("in", held))
                held = None
        # The session asked for a REST snapshot (a resync or a new connection): answer a bit later.
        if session.feed_states.get(KEY) is FeedState.SYNCING and snapshot_due is None:
            snapshot_due = step + rng.randint(0, 4)
        if snapshot_due is not None and step >= snapshot_due:
            feed(frame("snapshot", market.rest_snapshot("BTC"), key=KEY))
            snapshot_due = None
    # clean tail: one more diff to bridge the last snapshot, then the book must be the venue's
    diff = market.step()[0]
    truth[market.books["BTC"].seq] = levels_of(market)
    feed(frame("in", json.dumps({"channel": "depth", "data": diff})))
    assert sink.usable(KEY), f"seed {seed}: did not recover ({book.state}, {session.feed_states[KEY]})"
    assert book.sequence == market.books["BTC"].seq and local_levels(book) == levels_of(market)
    assert session.stats.resyncs > 5 and session.stats.snapshots_fetched == 0  # (replay fetches nothing)
    assert usable_checks > checks // 3  # faults happened, yet the book was mostly usable
