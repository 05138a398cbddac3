"""The lazy l2Book path (levels kept as the venue's text, parsed when read, repeated texts
parsed once) must leave exactly the book the eager path leaves, frame after frame."""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import asdict
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.domain.events import BookSnapshot, BookSnapshotText
from perpcli.ledger.book import BookState, OrderBook, ResyncReason
from perpcli.ledger.store import Store
from perpcli.net.sink import StoreSink
from perpcli.venues.hyperliquid.codec_book import (
    BookFrameError,
    _levels_one_by_one,
    decode_l2book,
    decode_l2book_lazy,
    levels_of_texts,
    split_l2book,
)
from perpcli.venues.hyperliquid.stream import HyperliquidProtocol, book_subscription

VENUE = "hyperliquid"

numbers = st.builds(
    lambda whole, frac: f"{whole}.{frac}" if frac else str(whole),
    st.integers(0, 120), st.one_of(st.just(""), st.sampled_from(["0", "5", "25", "125", "00", "10"])),
)
level = st.tuples(numbers, numbers, st.integers(0, 30))
side = st.lists(level, max_size=8)


def frame(coin: str, time_ms: int, bids, asks) -> str:
    def render(levels):
        return [{"px": px, "sz": sz, "n": n} for px, sz, n in levels]

    data = {"coin": coin, "time": time_ms, "levels": [render(bids), render(asks)]}
    return json.dumps({"channel": "l2Book", "data": data}, separators=(",", ":"))


def state_of(book: OrderBook) -> tuple:
    return (book.is_usable, book.state, book.resync_reason, book.top(20), book.bbo(), len(book), book.time_ms)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(side, side, st.booleans()), min_size=1, max_size=12))
def test_lazy_book_equals_eager_book_after_every_frame(frames):
    """Random sides (unordered, repeated prices, zero sizes, crossed) with levels that repeat
    from frame to frame; the lazy book is read after some frames only, as a screen reads."""
    store = Store()
    sink = StoreSink(store, VENUE)
    key = book_subscription("BTC").key
    lazy = sink.track_book(key, "BTC")
    sink.feed_states[key] = None  # no stream health involved: only the book's own verdicts
    lazy.stale = False
    eager = OrderBook(VENUE, "BTC")
    decode = HyperliquidProtocol(VENUE).decode
    for i, (bids, asks, read) in enumerate(frames):
        text = frame("BTC", 1_000 + i, bids, asks)
        inbound = decode(text)[0]
        assert isinstance(inbound.events[0], BookSnapshotText)
        assert inbound.events[0] == decode_l2book(text)
        sink.apply(inbound.key, inbound.events)
        eager.apply_snapshot(decode_l2book(text))
        if read or i == len(frames) - 1:
            assert state_of(lazy) == state_of(eager)


def test_the_lazy_snapshot_is_the_eager_snapshot_for_every_reader():
    text = frame("ETH", 7, [("2397.5", "1.25", 3), ("2397", "0.5", 1)], [("2398", "3", 2)])
    lazy = decode_l2book_lazy(text)
    eager = decode_l2book(text)
    assert isinstance(lazy, BookSnapshotText) and lazy == eager and eager == lazy and hash(lazy) == hash(eager)
    assert lazy.bids == ((Decimal("2397.5"), Decimal("1.25")), (Decimal("2397"), Decimal("0.5")))
    assert lazy.asks == ((Decimal("2398"), Decimal("3")),) and lazy.time_ms == 7 and lazy.symbol == "ETH"
    assert isinstance(lazy, BookSnapshot)
    assert copy.copy(lazy) == eager and pickle.loads(pickle.dumps(lazy)) == eager
    assert asdict(lazy) == asdict(eager)


@pytest.mark.parametrize("odd", [
    # valid JSON with another head: the lazy decoder declines and the json path decides
    lambda f: json.dumps(json.loads(f)),
    lambda f: f.replace('"data":{"coin":"ETH","time":7', '"data":{"time":7,"coin":"ETH"'),
    lambda f: f.replace('"coin":"ETH"', '"coin":"E\\u0054H"'),
])
def test_frames_with_an_unusual_head_take_the_json_path(odd):
    text = odd(frame("ETH", 7, [("2397.5", "1.25", 3), ("2397", "0.5", 1)], [("2398", "3", 2)]))
    assert split_l2book(text) is None
    assert decode_l2book_lazy(text) == decode_l2book(text)


@pytest.mark.parametrize("odd", [
    # valid JSON levels in another layout: cut as usual, each such level read as JSON
    lambda f: f.replace('{"px":"2397","sz":"0.5","n":1}', '{"sz":"0.5","px":"2397","n":1}'),
    lambda f: f.replace('"n":2}', '"n":2,"x":"y"}'),
    lambda f: f.replace('{"px":"2397","sz":"0.5","n":1}', '{"px": "2397", "sz": "0.5", "n": 1}'),
    lambda f: f.replace('"n":1}', '"n":1.5}'),
])
def test_levels_in_another_layout_read_as_the_json_path_reads_them(odd):
    text = odd(frame("ETH", 7, [("2397.5", "1.25", 3), ("2397", "0.5", 1)], [("2398", "3", 2)]))
    assert text != frame("ETH", 7, [("2397.5", "1.25", 3), ("2397", "0.5", 1)], [("2398", "3", 2)])
    assert split_l2book(text) is not None
    lazy, eager = OrderBook(VENUE, "ETH"), OrderBook(VENUE, "ETH")
    lazy.apply_snapshot(decode_l2book_lazy(text))
    eager.apply_snapshot(decode_l2book(text))
    assert state_of(lazy) == state_of(eager) and lazy.is_usable
    assert decode_l2book_lazy(text) == decode_l2book(text)


@pytest.mark.parametrize("odd", ["-1.0", "1e5", "NaN", "1_000", " 1", "\u0661", "+1", "-0", "Infinity", "1e999"])
def test_numbers_outside_the_plain_form_read_as_the_json_path_reads_them(odd):
    """Whatever the json path makes of a number (a value, or a refusal of the frame), the lazy
    book makes the same: the value, or a MALFORMED book that prices nothing."""
    text = frame("ETH", 7, [("2397", "1", 1), ("2396", odd, 1)], [("2398", "3", 2)])
    lazy = OrderBook(VENUE, "ETH")
    lazy.apply_snapshot(decode_l2book_lazy(text))
    try:
        want = decode_l2book(text)
    except BookFrameError:
        assert not lazy.is_usable and lazy.resync_reason is ResyncReason.MALFORMED
        return
    eager = OrderBook(VENUE, "ETH")
    eager.apply_snapshot(want)
    assert state_of(lazy) == state_of(eager)


plain = st.from_regex(r"\A([0-9]{1,12}(\.[0-9]{0,10})?|\.[0-9]{1,10})\Z")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(plain, plain, st.integers(0, 10**6)), min_size=1, max_size=25))
def test_level_texts_read_exactly_as_decimal_reads_them(levels):
    """The batched read (msgspec making the Decimals) and the one-by-one read give the very
    Decimal that Decimal(text) gives: same value, same exponent."""
    texts = [f'"px":"{px}","sz":"{sz}","n":{n}' for px, sz, n in levels]
    got = levels_of_texts(texts)
    want = [(Decimal(px), Decimal(sz)) for px, sz, _ in levels]
    assert [(str(px), str(sz)) for px, sz in got] == [(str(px), str(sz)) for px, sz in want]
    assert [(str(px), str(sz)) for px, sz in _levels_one_by_one(texts)] == [(str(px), str(sz)) for px, sz in want]


@pytest.mark.parametrize("bad", ["1..2", "", ".", "1.2.3"])
def test_a_malformed_number_makes_the_book_malformed_never_a_price(bad):
    text = frame("ETH", 7, [("2397", "1", 1), ("2396", bad, 1)], [("2398", "3", 2)])
    snap = decode_l2book_lazy(text)  # the cut passes it (digits and dots only)
    book = OrderBook(VENUE, "ETH")
    book.apply_snapshot(snap)
    assert not book.is_usable and book.state is BookState.RESYNC
    assert book.resync_reason is ResyncReason.MALFORMED
    with pytest.raises(BookFrameError):
        snap.bids  # noqa: B018 - a reader of the event itself gets the codec's error
    with pytest.raises(BookFrameError):
        decode_l2book(text)


@pytest.mark.parametrize("odd", [".5", "5."])
def test_odd_but_valid_numbers_read_as_the_json_path_reads_them(odd):
    text = frame("ETH", 7, [("2397", "1", 1), ("2396", odd, 1)], [("2398", "3", 2)])
    lazy, eager = OrderBook(VENUE, "ETH"), OrderBook(VENUE, "ETH")
    lazy.apply_snapshot(decode_l2book_lazy(text))
    eager.apply_snapshot(decode_l2book(text))
    assert state_of(lazy) == state_of(eager) and lazy.is_usable


def test_a_crossed_lazy_book_is_caught_on_load():
    text = frame("ETH", 7, [("2399", "1", 1)], [("2398", "3", 2)])
    book = OrderBook(VENUE, "ETH")
    book.apply_snapshot(decode_l2book_lazy(text))
    assert not book.is_usable and book.resync_reason is ResyncReason.CROSSED


def _counting(parse):
    calls: list[str] = []

    def counted(texts):
        calls.extend(texts)
        return parse(texts)

    return counted, calls


def test_each_new_level_text_is_parsed_once_the_best_level_included():
    """The best level is parsed at load (the crossed check needs it); the read reuses that
    parse instead of parsing the same text again."""
    from perpcli.venues.hyperliquid.codec_book import levels_of_texts

    counted, calls = _counting(levels_of_texts)
    book = OrderBook(VENUE, "ETH")
    for t, (best_bid, best_ask) in enumerate([("2397", "2398"), ("2397.5", "2398"), ("2397.5", "2398.5")]):
        _, _, bids, asks = split_l2book(frame("ETH", t, [(best_bid, "1", 1), ("2396", "2", 1)],
                                              [(best_ask, "3", 2), ("2399", "4", 1)]))
        book.load_text(bids, asks, time_ms=t, parse_levels=counted)
        assert book.top(20)[0][0] == (Decimal(best_bid), Decimal(1)) and book.is_usable
    assert len(calls) == len(set(calls)) == 6  # 4 texts, then one new best per frame


def test_unread_snapshots_keep_the_memo_bounded():
    book = OrderBook(VENUE, "ETH")
    for t in range(2_000):  # a new best level each frame, never read
        book.apply_snapshot(decode_l2book_lazy(frame("ETH", t, [(f"{1000 + t}", "1", 1)], [("99999", "1", 1)])))
    assert len(book._bids.memo) <= 8 + 128 + 1
    assert book.best_bid() == (Decimal(2999), Decimal(1))


@pytest.mark.parametrize("reads", [(True, True, True), (False, False, True), (True, False, True)])
def test_an_empty_level_is_dropped_every_time_its_text_repeats(reads):
    """A level of size 0 (first or deeper) is not a level; it never enters the parse memo, so a
    later frame repeating its text drops it again rather than trusting it."""
    frames = [
        frame("ETH", 1, [("2397", "0", 1), ("2396", "2", 1)], [("2398", "3", 2), ("2399", "0", 1)]),
        frame("ETH", 2, [("2397", "0", 1), ("2396", "2", 1)], [("2398", "3", 2), ("2399", "0", 1)]),
        frame("ETH", 3, [("2397", "0", 1), ("2396", "5", 1)], [("2398", "0", 2), ("2399", "0", 1)]),
    ]
    lazy, eager = OrderBook(VENUE, "ETH"), OrderBook(VENUE, "ETH")
    for text, read in zip(frames, reads, strict=True):
        lazy.apply_snapshot(decode_l2book_lazy(text))
        eager.apply_snapshot(decode_l2book(text))
        if read:
            assert state_of(lazy) == state_of(eager)
    assert lazy.top(20) == (((Decimal(2396), Decimal(5)),), ())


@pytest.mark.parametrize(("levels", "want"), [
    ("[[],[]]", ([], [])),
    ('[[{"px":"1","sz":"2","n":3}],[]]', (['"px":"1","sz":"2","n":3'], [])),
    ('[[],[{"px":"1","sz":"2","n":3}]]', ([], ['"px":"1","sz":"2","n":3'])),
    ('[[{"px":"2","sz":"1","n":1},{"px":"1","sz":"2","n":3}],[{"px":"4","sz":"5","n":6}]]',
     (['"px":"2","sz":"1","n":1', '"px":"1","sz":"2","n":3'], ['"px":"4","sz":"5","n":6'])),
    ("[[{}],[]]", ([""], [])), ("[[{],[]]", None), ("[[}],[]]", None), ("[[],[{]]", None), ("[[],[}]]", None),
    ("[[]]", None), ('[[{"px":"1","sz":"2","n":3}]]', None),
])
def test_the_cut_of_the_level_arrays(levels, want):
    text = '{"channel":"l2Book","data":{"coin":"ETH","time":7,"levels":' + levels + "}}"
    got = split_l2book(text)
    assert (None if got is None else got[2:]) == want
    if want is not None:
        assert got[:2] == ("ETH", 7)
        try:
            eager = decode_l2book(text)
        except BookFrameError:  # cut, but not levels: the book prices nothing
            book = OrderBook(VENUE, "ETH")
            book.apply_snapshot(decode_l2book_lazy(text))
            assert not book.is_usable and book.resync_reason is ResyncReason.MALFORMED
        else:
            assert decode_l2book_lazy(text) == eager


def test_prices_seen_in_order_before_are_trusted_only_when_all_equal():
    """A frame with the last in-order frame's prices skips the order check; any other (the same
    prices reordered, one repeated, one more) is checked and sorted as the eager book is."""
    sides = [
        ["3", "2", "1"], ["3", "2", "1"], ["3", "1", "2"], ["3", "2", "1"], ["3", "2", "2"], ["3", "2", "1", "0.5"],
        ["2", "3", "1"], ["3", "2", "1"],
    ]
    lazy, eager = OrderBook(VENUE, "ETH"), OrderBook(VENUE, "ETH")
    for t, prices in enumerate(sides):
        bids = [(px, str(t + i + 1), 1) for i, px in enumerate(prices)]  # new sizes every frame
        text = frame("ETH", t, bids, [("9", "1", 1)])
        lazy.apply_snapshot(decode_l2book_lazy(text))
        eager.apply_snapshot(decode_l2book(text))
        assert state_of(lazy) == state_of(eager)
        assert [px for px, _ in lazy.top(20)[0]] == sorted({Decimal(p) for p in prices}, reverse=True)
