"""Aster's market streams: the protocol's frames, and the diff book kept in sync with U/u/pu.

Faults on the diff stream (dropped, duplicated, reordered, gapped frames) must leave the book
equal to what a fresh snapshot says afterwards, and unusable (STALE) while it was not. The end
to end test runs the real StreamSession against a loopback websocket server and the scripted
REST server for the snapshots.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from perpcli.domain.events import BookSnapshot, ConnectionState, ConnectionStatus, Trade
from perpcli.ledger.book import SyncRule
from perpcli.net.stream import FrameKind, SyncVerdict
from perpcli.venues.aster.adapter import AsterMarketData
from perpcli.venues.aster.rest import AsterRest
from perpcli.venues.aster.stream import AsterFeed, AsterProtocol, depth_subscription, ws_endpoint
from perpcli.venues.live import LiveModel
from tests.aster_loopback import ScriptedAster

D = Decimal
KEY = ("depth", "BTCUSDT")


def diff(first: int, last: int, prev: int, bids=(), asks=(), *, wrapped: bool = False) -> str:
    event = {"e": "depthUpdate", "E": last, "T": last, "s": "BTCUSDT", "U": first, "u": last, "pu": prev,
             "b": [[p, q] for p, q in bids], "a": [[p, q] for p, q in asks]}
    return json.dumps({"stream": "btcusdt@depth@100ms", "data": event} if wrapped else event)


def snapshot_text(last_update_id: int, bids, asks) -> str:
    return json.dumps({"lastUpdateId": last_update_id, "E": 1, "T": 1, "bids": [list(b) for b in bids],
                       "asks": [list(a) for a in asks]})


def test_frames_out_and_in():
    proto = AsterProtocol("aster")
    sub = depth_subscription("BTCUSDT")
    assert json.loads(proto.subscribe_frames(sub)[0]) == {"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"],
                                                          "id": 1}
    assert json.loads(proto.unsubscribe_frames(sub)[0])["method"] == "UNSUBSCRIBE"
    assert proto.ping_frame() is None
    assert proto.decode('{"result": null, "id": 1}')[0].kind is FrameKind.ACK
    err = proto.decode('{"code": 2, "msg": "Invalid request", "id": 3}')[0]
    assert err.kind is FrameKind.ERROR and "Invalid request" in err.detail
    for wrapped in (False, True):
        (inbound,) = proto.decode(diff(5, 7, 4, bids=[("100.0", "1")], wrapped=wrapped))
        assert inbound.kind is FrameKind.DATA and inbound.key == KEY
        (d,) = inbound.events
        assert (d.first_seq, d.last_seq, d.prev_seq, d.bids) == (5, 7, 4, ((D("100.0"), D(1)),))
    trade = proto.decode('{"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": 9, "p": "1.5", "q": "2", "f": 1, "l": 1,'
                         ' "T": 5, "m": false}')[0]
    assert trade.key == ("aggTrade", "BTCUSDT") and isinstance(trade.events[0], Trade)
    mark = proto.decode('{"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "1", "i": "1", "P": "1",'
                        ' "r": "0.0001", "T": 2}')[0]
    assert mark.key == ("markPrice", "BTCUSDT")
    assert proto.decode('{"e": "bookTicker", "s": "BTCUSDT"}')[0].kind is FrameKind.IGNORE
    (snap,) = proto.decode_snapshot(sub, snapshot_text(10, [("1", "2")], [("3", "4")]))
    assert isinstance(snap, BookSnapshot) and snap.sequence == 10 and snap.symbol == "BTCUSDT"


def test_ws_endpoint():
    assert ws_endpoint("wss://fstream.asterdex.com") == "wss://fstream.asterdex.com/ws"
    assert ws_endpoint("ws://127.0.0.1:8787/ws") == "ws://127.0.0.1:8787/ws"


def _model():
    model = LiveModel()
    model.book("aster", "BTCUSDT", KEY, AsterFeed.book_sync_rule)
    model.status(KEY, ConnectionStatus("aster", "depth:BTCUSDT", ConnectionState.CONNECTED, 0))
    return model


def _apply(model, proto, text):
    return model.apply(KEY, proto.decode(text)[0].events)


def test_prev_chain_sync_and_faults():
    """Buffer before the snapshot, bridge it, drop stale/duplicate diffs, resync on a gap."""
    assert AsterFeed.book_sync_rule is SyncRule.PREV_CHAIN
    proto = AsterProtocol("aster")
    sub = depth_subscription("BTCUSDT")
    model = _model()
    book = model.books[KEY]
    # diffs arrive before the snapshot: buffered
    assert _apply(model, proto, diff(95, 99, 90, bids=[("99", "1")])) is SyncVerdict.WAITING
    assert _apply(model, proto, diff(100, 104, 99, bids=[("100", "2")])) is SyncVerdict.WAITING
    # the snapshot (lastUpdateId 101) lands between them: the 95-99 diff is older, 100-104 bridges it
    assert model.apply(KEY, proto.decode_snapshot(sub, snapshot_text(101, [("100", "1"), ("98", "5")],
                                                                     [("101", "3")]))) is SyncVerdict.IN_SYNC
    assert book.is_usable and book.best_bid() == (D(100), D(2))
    # a duplicated frame is dropped, the book unchanged
    assert _apply(model, proto, diff(100, 104, 99, bids=[("100", "9")])) is not SyncVerdict.OUT_OF_SYNC
    assert book.best_bid() == (D(100), D(2))
    assert _apply(model, proto, diff(105, 106, 104, asks=[("101", "0"), ("102", "1")])) is SyncVerdict.IN_SYNC
    assert book.best_ask() == (D(102), D(1))  # size 0 deleted the level
    # a frame went missing (pu 110 != last u 106): out of sync, not usable until a fresh snapshot
    assert _apply(model, proto, diff(111, 112, 110, bids=[("100.5", "1")])) is SyncVerdict.OUT_OF_SYNC
    assert not book.is_usable
    model.begin_sync(KEY)
    fresh_bids, fresh_asks = [("100.5", "1"), ("100", "2")], [("102", "1")]
    model.apply(KEY, proto.decode_snapshot(sub, snapshot_text(112, fresh_bids, fresh_asks)))
    assert _apply(model, proto, diff(112, 113, 112, asks=[("103", "4")])) is SyncVerdict.IN_SYNC
    got = book.to_snapshot()
    assert got.bids == ((D("100.5"), D(1)), (D(100), D(2)))
    assert got.asks == ((D(102), D(1)), (D(103), D(4)))


def test_reordered_frames_are_a_gap():
    proto = AsterProtocol("aster")
    model = _model()
    model.apply(KEY, proto.decode_snapshot(depth_subscription("BTCUSDT"), snapshot_text(10, [("1", "1")],
                                                                                         [("2", "1")])))
    assert _apply(model, proto, diff(9, 11, 8)) is SyncVerdict.IN_SYNC
    assert _apply(model, proto, diff(14, 15, 13)) is SyncVerdict.OUT_OF_SYNC  # 12-13 came late
    assert not model.books[KEY].is_usable


# --- end to end: StreamSession + loopback websocket + scripted REST snapshots ----------------------


async def _serve_ws(frames_after_subscribe: list[str], later: list[str], ready_for_later):
    """Send `frames_after_subscribe` at once, then `later` once `ready_for_later()` (a venue
    keeps streaming: the diffs after a resync's fresh snapshot are still to come)."""
    from websockets.asyncio.server import serve

    async def handler(ws):
        async for message in ws:
            msg = json.loads(message)
            if msg.get("method") == "SUBSCRIBE":
                await ws.send(json.dumps({"result": None, "id": msg["id"]}))
                for frame in frames_after_subscribe:
                    await ws.send(frame)
                while not ready_for_later():
                    await asyncio.sleep(0.02)
                for frame in later:
                    await asyncio.sleep(0.1)
                    await ws.send(frame)

    return await serve(handler, "127.0.0.1", 0)


@pytest.mark.timeout(60)
async def test_stream_book_heals_a_gap_with_a_fresh_snapshot():
    first = json.loads(snapshot_text(100, [("100", "1")], [("101", "1")]))
    fresh = json.loads(snapshot_text(120, [("99", "7")], [("104", "2")]))
    frames = [
        diff(99, 102, 98, bids=[("100", "3")]),  # bridges the first snapshot (U <= 100 <= u)
        diff(99, 102, 98, bids=[("100", "3")]),  # duplicated
        diff(110, 111, 109, bids=[("100", "4")]),  # gap: 103-109 never came -> resync
    ]
    later = [diff(118, 122, 117, asks=[("105", "1")]),  # bridges the fresh snapshot (U <= 120 <= u)
             diff(123, 124, 122, bids=[("99", "8")]),
             diff(125, 125, 124, bids=[("98", "1")])]
    with ScriptedAster() as rest_server:
        answers = [(200, first, {}), (200, fresh, {})]
        rest_server.routes["/fapi/v3/depth"] = answers
        ws_server = await _serve_ws(
            frames, later, lambda: sum(1 for x in rest_server.seen if x[1] == "/fapi/v3/depth") >= 2)
        port = ws_server.sockets[0].getsockname()[1]
        md = AsterMarketData(rest_server.url, venue="aster-devnet", network="testnet",
                             ws_url=f"ws://127.0.0.1:{port}", rest=AsterRest(rest_server.url, sleep=lambda s: None))
        books: list[BookSnapshot] = []
        saw_not_connected = False
        stream = md.stream_book("BTC")
        try:
            async with asyncio.timeout(30):
                async for event in stream:
                    if isinstance(event, BookSnapshot):
                        books.append(event)
                        if event.bids[-1:] == ((D(98), D(1)),):
                            break
                    elif isinstance(event, ConnectionStatus) and event.state is not ConnectionState.CONNECTED:
                        saw_not_connected = True
        finally:
            await stream.aclose()
            ws_server.close()
            await ws_server.wait_closed()
        final = books[-1]
        assert final.bids == ((D(99), D(8)), (D(98), D(1))) and final.asks == ((D(104), D(2)), (D(105), D(1)))
        assert not any(b.bids and b.bids[0] == (D(100), D(4)) for b in books)  # the gapped diff never showed
        assert saw_not_connected  # the feed was reported not live while it resynced
        depth_calls = [s for s in rest_server.seen if s[1] == "/fapi/v3/depth"]
        assert len(depth_calls) == 2 and "limit=1000" in depth_calls[0][2]


def test_the_feed_streams_marks_for_algos_that_trail_them():
    """LiveFeed.marks: the markPrice stream, whose frames arrive under the subscription's key."""
    feed = AsterFeed("ws://127.0.0.1:9", "aster", snapshot=None)  # type: ignore[arg-type]
    sub = feed.marks("BTCUSDT")
    assert sub.params == "btcusdt@markPrice@1s"
    (inbound,) = feed.protocol.decode('{"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "101.5", "i": "1",'
                                      ' "P": "1", "r": "0.0001", "T": 2}')
    assert inbound.key == sub.key and inbound.events[0].mark_price == Decimal("101.5")
