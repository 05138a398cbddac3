"""L2 book: sequencing rules (shared vectors), reads, and properties of apply."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.domain.events import BookDiff, BookSnapshot
from perpcli.domain.orders import Side
from perpcli.ledger.book import (
    BookState,
    MessageIdTracker,
    OrderBook,
    ResyncReason,
    SyncAction,
    SyncRule,
)

VECTORS = Path(__file__).resolve().parent / "vectors"


def _cases() -> dict:
    return json.loads((VECTORS / "venues_book_sync_cases.json").read_text())


def _snap(bids, asks, seq=None, t=0, symbol="BTC"):
    return BookSnapshot("v", symbol, tuple((D(p), D(s)) for p, s in bids), tuple((D(p), D(s)) for p, s in asks), t, seq)


def _diff(first, last, prev=None, bids=(), asks=()):
    return BookDiff(
        "v", "BTC", tuple((D(p), D(s)) for p, s in bids), tuple((D(p), D(s)) for p, s in asks), first, last, prev
    )


BASE_BIDS = [("100", "1"), ("99", "2"), ("98", "3")]
BASE_ASKS = [("101", "1"), ("102", "2"), ("103", "3")]


# ----- shared vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases()["aster_binance_style"]["cases"], ids=lambda c: c["name"])
def test_aster_vectors(case):
    book = OrderBook("aster", "BTC", SyncRule.PREV_CHAIN)
    assert book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=case["snapshot_lastUpdateId"])) is SyncAction.APPLY
    got = [book.apply_diff(_diff(e["U"], e["u"], e["pu"])).value for e in case["events"]]
    assert got == case["expect"]
    assert book.is_usable == (case["expect"][-1] != "resync")


@pytest.mark.parametrize("case", _cases()["lighter"]["cases"], ids=lambda c: c["name"])
def test_lighter_vectors(case):
    book = OrderBook("lighter", "BTC", SyncRule.BEGIN_CHAIN)
    if case["snapshot_nonce"] is not None:
        assert book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=case["snapshot_nonce"])) is SyncAction.APPLY
    got = [book.apply_diff(_diff(u["begin_nonce"], u["nonce"])).value for u in case["updates"]]
    assert got == case["expect"]


@pytest.mark.parametrize("case", _cases()["dydx_indexer"]["cases"], ids=lambda c: c["name"])
def test_dydx_message_id_vectors(case):
    tracker = MessageIdTracker()
    ok = all([tracker.observe(m) for m in case["message_ids"]])
    assert ("ok" if ok else "resubscribe_all") == case["expect"]


# ----- sequencing beyond the vectors -------------------------------------------------------------


def test_prev_chain_buffers_diffs_until_the_snapshot_then_replays_them():
    book = OrderBook("aster", "BTC", SyncRule.PREV_CHAIN)
    assert book.apply_diff(_diff(90, 99, 89, bids=[("100", "9")])) is SyncAction.BUFFERED
    assert book.apply_diff(_diff(100, 104, 99, bids=[("100", "5")])) is SyncAction.BUFFERED
    assert book.apply_diff(_diff(105, 107, 104, asks=[("101", "0")])) is SyncAction.BUFFERED
    assert book.state is BookState.EMPTY
    assert book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=102)) is SyncAction.APPLY
    assert book.state is BookState.LIVE and book.sequence == 107
    assert book.best_bid() == (D(100), D(5))  # the u=99 diff was dropped, the others applied
    assert book.best_ask() == (D(102), D(2))


def test_prev_chain_duplicate_diff_is_dropped_not_a_gap():
    book = OrderBook("aster", "BTC", SyncRule.PREV_CHAIN)
    book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=100))
    assert book.apply_diff(_diff(99, 105, 98)) is SyncAction.APPLY_FIRST
    assert book.apply_diff(_diff(106, 110, 105)) is SyncAction.APPLY
    assert book.apply_diff(_diff(106, 110, 105)) is SyncAction.DROP
    assert book.is_usable


def test_resynced_book_recovers_with_a_new_snapshot():
    book = OrderBook("lighter", "BTC", SyncRule.BEGIN_CHAIN)
    book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=10))
    assert book.apply_diff(_diff(11, 12)) is SyncAction.RESYNC
    assert book.resync_reason is ResyncReason.GAP and not book.is_usable
    assert book.apply_diff(_diff(12, 13)) is SyncAction.WAIT_SNAPSHOT
    assert book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=20)) is SyncAction.APPLY
    assert book.apply_diff(_diff(20, 21, bids=[("100", "0")])) is SyncAction.APPLY
    assert book.best_bid() == (D(99), D(2)) and book.is_usable


def test_contiguous_rule():
    book = OrderBook("dydx", "BTC", SyncRule.CONTIGUOUS)
    book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=5))
    assert book.apply_diff(_diff(5, 5)) is SyncAction.DROP
    assert book.apply_diff(_diff(6, 6)) is SyncAction.APPLY_FIRST
    assert book.apply_diff(_diff(7, 8)) is SyncAction.APPLY
    assert book.apply_diff(_diff(10, 10)) is SyncAction.RESYNC


def test_buffer_overflow_asks_for_resync():
    book = OrderBook("aster", "BTC", SyncRule.PREV_CHAIN, max_buffer=2)
    book.apply_diff(_diff(1, 1, 0))
    book.apply_diff(_diff(2, 2, 1))
    assert book.apply_diff(_diff(3, 3, 2)) is SyncAction.RESYNC
    assert book.resync_reason is ResyncReason.BUFFER_OVERFLOW


def test_snapshot_only_book_drops_older_snapshots():
    book = OrderBook("hyperliquid", "BTC")
    assert book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, t=2000)) is SyncAction.APPLY
    assert book.apply_snapshot(_snap([("50", "1")], [("60", "1")], t=1000)) is SyncAction.DROP
    assert book.best_bid() == (D(100), D(1))
    assert book.apply_snapshot(_snap([("50", "1")], [("60", "1")], t=3000)) is SyncAction.APPLY
    assert book.best_bid() == (D(50), D(1))
    with pytest.raises(ValueError):
        book.apply_diff(_diff(1, 2))


def test_chained_snapshot_needs_a_sequence():
    with pytest.raises(ValueError):
        OrderBook("aster", "BTC", SyncRule.PREV_CHAIN).apply_snapshot(_snap(BASE_BIDS, BASE_ASKS))


# ----- crossed books ------------------------------------------------------------------------------


def test_crossed_snapshot_is_flagged():
    book = OrderBook("hyperliquid", "BTC")
    assert book.apply_snapshot(_snap([("101", "1")], [("101", "1")])) is SyncAction.RESYNC
    assert book.resync_reason is ResyncReason.CROSSED and book.is_crossed() and not book.is_usable


def test_diff_that_crosses_is_flagged_even_after_the_best_ask_was_deleted():
    book = OrderBook("lighter", "BTC", SyncRule.BEGIN_CHAIN)
    book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=1))
    # best ask 101 goes away: bids may now move up to 101 without crossing...
    assert book.apply_diff(_diff(1, 2, asks=[("101", "0")])) is SyncAction.APPLY
    assert book.apply_diff(_diff(2, 3, bids=[("101", "1")])) is SyncAction.APPLY
    # ...but a bid at the new best ask crosses
    assert book.apply_diff(_diff(3, 4, bids=[("102", "1")])) is SyncAction.RESYNC
    assert book.resync_reason is ResyncReason.CROSSED


# ----- reads ------------------------------------------------------------------------------------


def _hl_book() -> OrderBook:
    book = OrderBook("hyperliquid", "BTC")
    book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS))
    return book


def test_reads():
    book = _hl_book()
    assert book.best_bid() == (D(100), D(1))
    assert book.best_ask() == (D(101), D(1))
    assert book.mid() == D("100.5") and book.spread() == D(1)
    bids, asks = book.top(2)
    assert bids == ((D(100), D(1)), (D(99), D(2)))
    assert asks == ((D(101), D(1)), (D(102), D(2)))
    assert book.bbo() == ((D(100), D(1)), (D(101), D(1)))
    assert len(book) == 6
    depth = book.depth_within(Side.SELL, D("0.01"))  # asks within 1% of 101 -> 101, 102
    assert (depth.size, depth.notional, depth.levels) == (D(3), D(305), 2)
    depth = book.depth_within(Side.BUY, D("0.015"))  # bids >= 98.5 -> 100, 99
    assert (depth.size, depth.levels) == (D(3), 2)


def test_execution_walks_the_book():
    book = _hl_book()
    ex = book.execution(Side.BUY, D(2))
    assert ex.average_price == D("101.5") and ex.worst_price == D(102) and ex.complete
    assert ex.slippage == (D("101.5") - D("100.5")) / D("100.5")
    ex = book.execution(Side.SELL, D(4))  # 1@100 + 2@99 + 1@98
    assert ex.average_price == D(396) / 4 and ex.worst_price == D(98)
    assert ex.slippage == (D("100.5") - D(99)) / D("100.5")  # positive = cost to the seller
    ex = book.execution(Side.BUY, D(10))
    assert not ex.complete and ex.filled == D(6)
    assert book.vwap(Side.BUY, D(1)) == D(101)
    assert OrderBook("x", "y").vwap(Side.BUY, D(1)) is None


def test_checksum_ignores_spelling_and_history():
    a = OrderBook("hyperliquid", "BTC")
    a.apply_snapshot(_snap([("100.0", "1.50")], [("101", "2")]))
    b = OrderBook("lighter", "BTC", SyncRule.BEGIN_CHAIN)
    b.apply_snapshot(_snap([("100", "9"), ("90", "1")], [("101", "2")], seq=1))
    assert a.checksum() != b.checksum()
    b.apply_diff(_diff(1, 2, bids=[("90", "0"), ("100", "1.5")]))
    assert a.checksum() == b.checksum()
    assert a.checksum(depth=1) == b.checksum(depth=1)


# ----- properties ---------------------------------------------------------------------------------

_bid_px = st.integers(min_value=900, max_value=999).map(lambda i: D(i) / 10)
_ask_px = st.integers(min_value=1001, max_value=1100).map(lambda i: D(i) / 10)
_size = st.one_of(st.just(D(0)), st.integers(min_value=1, max_value=500).map(lambda i: D(i) / 100))
_diff_levels = st.tuples(
    st.lists(st.tuples(_bid_px, _size), max_size=60), st.lists(st.tuples(_ask_px, _size), max_size=60), st.booleans()
)


@settings(max_examples=60, deadline=None)
@given(initial=_diff_levels, diffs=st.lists(_diff_levels, max_size=40))
def test_applying_diffs_equals_rebuilding_from_the_final_snapshot(initial, diffs):
    model = {"b": {}, "a": {}}

    def fold(bids, asks):
        for key, levels in (("b", bids), ("a", asks)):
            for px, sz in levels:
                if sz:
                    model[key][px] = sz
                else:
                    model[key].pop(px, None)

    fold(initial[0], initial[1])
    snap_bids = sorted(model["b"].items(), reverse=True)
    snap_asks = sorted(model["a"].items())
    book = OrderBook("lighter", "BTC", SyncRule.BEGIN_CHAIN)
    book.apply_snapshot(BookSnapshot("v", "BTC", tuple(snap_bids), tuple(snap_asks), 0, 0))
    for n, (bids, asks, read_now) in enumerate(diffs):
        fold(bids, asks)
        assert book.apply_diff(BookDiff("v", "BTC", tuple(bids), tuple(asks), n, n + 1)) is SyncAction.APPLY
        if read_now:  # interleave reads so the lazy sorting and the top-N cache are exercised
            # bbo first: it answers from the top-N cache of an earlier read when still valid
            expect_bbo = (
                max(model["b"].items()) if model["b"] else None,
                min(model["a"].items()) if model["a"] else None,
            )
            assert book.bbo() == expect_bbo
            best = book.best_bid()
            assert best == (max(model["b"].items()) if model["b"] else None)
            best = book.best_ask()
            assert best == (min(model["a"].items()) if model["a"] else None)
            bids, asks = book.top(3)
            assert bids == tuple(sorted(model["b"].items(), reverse=True)[:3])
            assert asks == tuple(sorted(model["a"].items())[:3])
            assert book.bbo() == (bids[0] if bids else None, asks[0] if asks else None)
    expected_bids = sorted(model["b"].items(), reverse=True)
    expected_asks = sorted(model["a"].items())
    assert book.levels(Side.BUY) == tuple(expected_bids)
    assert book.levels(Side.SELL) == tuple(expected_asks)
    rebuilt = OrderBook("hyperliquid", "BTC")
    rebuilt.apply_snapshot(BookSnapshot("v", "BTC", tuple(expected_bids), tuple(expected_asks)))
    assert rebuilt.checksum() == book.checksum()
    assert rebuilt.top(5) == book.top(5)


@settings(max_examples=60, deadline=None)
@given(
    rule=st.sampled_from([SyncRule.PREV_CHAIN, SyncRule.BEGIN_CHAIN, SyncRule.CONTIGUOUS]),
    lengths=st.lists(st.integers(min_value=1, max_value=5), min_size=3, max_size=30),
    data=st.data(),
)
def test_every_injected_gap_is_detected(rule, lengths, data):
    """Build a continuous chain of diffs, drop one (not the first), and the book must say
    RESYNC exactly at the diff after the hole, having applied everything before it."""
    start = 1000
    diffs = []
    seq = start
    for length in lengths:
        first, last = seq + 1, seq + length
        if rule is SyncRule.BEGIN_CHAIN:
            diffs.append(_diff(seq, last))
        elif rule is SyncRule.PREV_CHAIN:
            diffs.append(_diff(first - 1 if seq == start else first, last, seq))  # U <= L <= u
        else:
            diffs.append(_diff(first, last))
        seq = last
    hole = data.draw(st.integers(min_value=1, max_value=len(diffs) - 2))
    if data.draw(st.booleans()):  # out of order instead of missing: swap it with the next
        diffs[hole], diffs[hole + 1] = diffs[hole + 1], diffs[hole]
        diffs.insert(hole, None)  # the position where the early diff now arrives
    book = OrderBook("v", "BTC", rule)
    book.apply_snapshot(_snap(BASE_BIDS, BASE_ASKS, seq=start))
    for i, diff in enumerate(diffs):
        if i == hole:
            continue
        action = book.apply_diff(diff)
        if i < hole:
            assert action in (SyncAction.APPLY, SyncAction.APPLY_FIRST)
        else:
            assert action is SyncAction.RESYNC
            assert book.resync_reason is ResyncReason.GAP
            break
    assert not book.is_usable


@settings(max_examples=60, deadline=None)
@given(bid=st.integers(min_value=95, max_value=110), ask=st.integers(min_value=95, max_value=110))
def test_crossed_books_are_always_flagged(bid, ask):
    book = OrderBook("lighter", "BTC", SyncRule.BEGIN_CHAIN)
    book.apply_snapshot(_snap([("90", "1")], [("120", "1")], seq=0))
    book.apply_diff(_diff(0, 1, bids=[(str(bid), "1")]))
    action = book.apply_diff(_diff(1, 2, asks=[(str(ask), "1")]))
    crossed = bid >= ask
    assert (action is SyncAction.RESYNC) == crossed
    assert book.is_crossed() == crossed
    assert (book.resync_reason is ResyncReason.CROSSED) == crossed


# ----- Hyperliquid l2Book fast decoder ------------------------------------------------------------

from perpcli.venues.hyperliquid.codec_book import (  # noqa: E402
    BookFrameError,
    decode_l2book,
    decode_l2book_levels,
    decode_l2book_text,
    encode_l2book_frame,
)

HL_FRAME = (
    '{"channel":"l2Book","data":{"coin":"BTC","time":1754450974231,"levels":['
    '[{"px":"113377.0","sz":"7.6699","n":17},{"px":"113376.0","sz":"0.5","n":2}],'
    '[{"px":"113397.0","sz":"0.11543","n":3}]]}}'
)


def test_decoder_fast_path_matches_json_path():
    snap = decode_l2book(HL_FRAME)
    assert snap == decode_l2book(json.loads(HL_FRAME))  # the dict path
    assert snap == decode_l2book(json.loads(HL_FRAME)["data"])  # /info l2Book answer shape
    assert snap == decode_l2book(HL_FRAME.encode())
    assert snap.symbol == "BTC" and snap.time_ms == 1754450974231
    assert snap.bids == ((D("113377.0"), D("7.6699")), (D("113376.0"), D("0.5")))
    assert snap.asks == ((D("113397.0"), D("0.11543")),)
    assert decode_l2book_levels(HL_FRAME) is not None


@pytest.mark.parametrize(
    "frame",
    [
        # keys in another order, spaces, an extra key: the fast path declines, json decides
        HL_FRAME.replace('{"px":"113376.0","sz":"0.5","n":2}', '{"sz":"0.5","px":"113376.0","n":2}'),
        json.dumps(json.loads(HL_FRAME)),
        HL_FRAME.replace('"n":3}', '"n":3,"x":"y"}'),
        HL_FRAME.replace('"levels":[[{"px"', '"levels":[ [{"px"'),
    ],
)
def test_decoder_falls_back_on_unexpected_shapes(frame):
    assert decode_l2book(frame) == decode_l2book(json.loads(frame)) == decode_l2book(HL_FRAME)


def test_decoder_empty_sides_and_hostile_numbers():
    empty = '{"channel":"l2Book","data":{"coin":"ETH","time":5,"levels":[[],[]]}}'
    assert decode_l2book(empty).bids == () and decode_l2book(empty).asks == ()
    for bad in ("-1.0", "1e5", "NaN", "1_000", "1..2", "", "1.", ".5", " 1", "\u0661"):
        frame = HL_FRAME.replace('"sz":"0.5"', f'"sz":"{bad}"')
        assert decode_l2book_levels(frame) is None  # never silently accepted by the fast path
        assert decode_l2book_text(frame) is None
        last = HL_FRAME.replace('"sz":"0.11543"', f'"sz":"{bad}"')
        assert decode_l2book_text(last) is None
    # two dots pass the cheap text check; parsing refuses them (eagerly: None; lazily: MALFORMED)
    two_dots = HL_FRAME.replace('"sz":"0.5"', '"sz":"1.2.3"')
    assert decode_l2book_levels(two_dots) is None
    lazy = decode_l2book_text(two_dots)  # the cheap text check passes it: the parse refuses it
    assert lazy is not None
    book = OrderBook("hyperliquid", "BTC")
    book.load_text(lazy[2], lazy[3], time_ms=lazy[1])
    assert not book.is_usable and book.resync_reason is ResyncReason.MALFORMED
    with pytest.raises(BookFrameError):
        decode_l2book(two_dots)
    with pytest.raises(BookFrameError):
        decode_l2book('{"channel":"trades","data":[]}')
    with pytest.raises(BookFrameError):
        decode_l2book("not json")
    with pytest.raises(BookFrameError):
        decode_l2book('{"channel":"l2Book","data":{"coin":"X","levels":[[{"px":"x","sz":"1","n":1}],[]]}}')


def test_encode_then_decode_round_trips_and_applies():
    snap = BookSnapshot("hyperliquid", "ETH", ((D("2397"), D("1.25")),), ((D("2397.5"), D("3")),), 42)
    frame = encode_l2book_frame(snap)
    assert '"px":"2397.0"' in frame  # server style: whole numbers keep ".0"
    assert decode_l2book(frame) == snap
    book = OrderBook("hyperliquid", "ETH")
    _coin, t, bids, asks = decode_l2book_levels(frame)
    assert book.load(bids, asks, time_ms=t) is SyncAction.APPLY
    assert book.bbo() == ((D(2397), D("1.25")), (D("2397.5"), D(3)))


def test_unread_changes_stay_bounded_and_reads_still_agree():
    """Thousands of new levels and deletions with nobody reading: the pending change lists
    are capped (the next read re-sorts), and the answer is the same as a fresh book's."""
    book = OrderBook("lighter", "BTC", SyncRule.BEGIN_CHAIN)
    book.apply_snapshot(_snap([("1", "1")], [("100000", "1")], seq=0))
    prices = [D(2 + i) for i in range(6000)]
    book.apply_diff(BookDiff("v", "BTC", tuple((p, D(1)) for p in prices), (), 0, 1))
    book.apply_diff(BookDiff("v", "BTC", tuple((p, D(0)) for p in prices[::2]), (), 1, 2))
    assert len(book._bids.added) + len(book._bids.removed) <= book._bids.pending_cap
    expected = tuple((p, D(1)) for p in reversed(prices[1::2])) + ((D(1), D(1)),)
    assert book.levels(Side.BUY) == expected
    assert book.best_bid() == (D(6001), D(1))


def test_lazy_text_snapshot_reads_like_a_parsed_one():
    eager = OrderBook("hyperliquid", "BTC")
    _coin, t, bids, asks = decode_l2book_levels(HL_FRAME)
    eager.load(bids, asks, time_ms=t)
    lazy = OrderBook("hyperliquid", "BTC")
    coin, t, bids, asks = decode_l2book_text(HL_FRAME)
    assert coin == "BTC" and bids == [("113377.0", "7.6699"), ("113376.0", "0.5")]
    assert asks == [("113397.0", "0.11543")]
    assert lazy.load_text(bids, asks, time_ms=t) is SyncAction.APPLY
    assert lazy.bbo() == eager.bbo()
    lazy.load_text(bids, asks, time_ms=t)
    assert lazy.levels(Side.BUY) == eager.levels(Side.BUY)
    lazy.load_text(bids, asks, time_ms=t)
    assert lazy.checksum() == eager.checksum() and len(lazy) == len(eager)
    lazy.load_text(bids, asks, time_ms=t)
    assert lazy.execution(Side.SELL, D(8)) == eager.execution(Side.SELL, D(8))
    lazy.load_text(bids, asks, time_ms=t)
    assert lazy.to_snapshot() == eager.to_snapshot()
    assert lazy.load_text([("1", "1")], [("2", "1")], time_ms=t - 1) is SyncAction.DROP  # older


def test_lazy_snapshot_is_checked_when_parsed():
    book = OrderBook("hyperliquid", "BTC")
    # a venue sending bids out of order: the first level is not the best, the book crosses
    assert book.load_text([("99", "1"), ("105", "1")], [("100", "1")], time_ms=1) is SyncAction.APPLY
    assert not book.is_usable and book.resync_reason is ResyncReason.CROSSED
    assert book.best_bid() == (D(105), D(1))
    # crossed already at its first levels: flagged at load
    assert book.load_text([("101", "1")], [("100", "1")], time_ms=2) is SyncAction.RESYNC


def test_lazy_snapshot_with_a_malformed_number_is_never_usable():
    book = OrderBook("hyperliquid", "BTC")
    book.load_text([("100", "1.2.3")], [("101", "1")], time_ms=1)
    assert not book.is_usable and book.resync_reason is ResyncReason.MALFORMED
    assert book.best_bid() is None
    book.load_text([("1.2.3", "1")], [("101", "1")], time_ms=2)
    assert not book.is_usable
    assert book.load_text([("100", "1")], [("101", "1")], time_ms=3) is SyncAction.APPLY and book.is_usable


def test_back_to_back_lazy_snapshots_without_reads_read_like_the_last_one():
    """A feed of snapshots nobody reads keeps only the newest; nothing of an older parsed
    form (levels, cached top-N, pending changes) leaks into it."""
    book = OrderBook("hyperliquid", "BTC")
    book.load([(D(100), D(1)), (D(99), D(2))], [(D(101), D(1)), (D(102), D(2))], time_ms=1)
    book.apply_levels([(D("100.5"), D(3))], [])  # dict form, with pending changes
    assert book.top(2) == (((D("100.5"), D(3)), (D(100), D(1))), ((D(101), D(1)), (D(102), D(2))))
    book.load_text([("90", "1"), ("89", "2")], [("91", "1")], time_ms=2)
    book.load_text([("80", "5"), ("79", "6")], [("81", "7"), ("82", "8")], time_ms=3)
    assert book.top(2) == (((D(80), D(5)), (D(79), D(6))), ((D(81), D(7)), (D(82), D(8))))
    assert book.bbo() == ((D(80), D(5)), (D(81), D(7)))
    assert book.is_usable and len(book) == 4
    book.load_text([("70", "1")], [("71", "1")], time_ms=4)
    book.load_text([("60", "1")], [("61", "1")], time_ms=5)
    assert book.levels(Side.BUY) == ((D(60), D(1)),) and book.levels(Side.SELL) == ((D(61), D(1)),)
