"""Aster diff book (U/u/pu depth diffs): ours beside ccxt.pro's, per update, in the same run.

    .venv/bin/python bench/aster_book.py [--json] [--updates N] [--seed S] [--levels-per-message K]

One deterministic stream of level updates (bench/book.py's simulated market, seeded) is cut
into `depthUpdate` frames as Aster sends them on `<symbol>@depth@100ms`: U = u = the frame's
id, pu = the previous frame's u, prices and sizes as strings. Each side starts from the same
empty snapshot (lastUpdateId 1) and applies every frame, checking the chain the venue's sync
recipe asks for (the first frame bridges the snapshot, then every pu equals the previous u).

- frame -> book: the whole per-update path from the frame's text. Ours:
  `AsterProtocol.decode` (json with Decimal numbers -> BookDiff) then `OrderBook.apply_diff`
  under SyncRule.PREV_CHAIN. ccxt: `json.loads`, then ccxt.pro's `binance.handle_order_book`
  (ccxt.pro's U/u/pu diff handler: the futures chain check, `safe_float` per level, the
  order book side's `store`; ccxt.pro's own `aster` class watches `@depth20` partial snapshots
  instead, so it has no diff apply to compare with).
- apply: the chain check and the level updates alone, numbers already parsed (Decimal
  BookDiffs for ours; floats into ccxt's order book sides with the same pu check for ccxt).

Times are best-of-N process CPU time, interleaved, ours and ccxt alike. The bench checks that
both books end equal (top 20 a side). ccxt is optional (`pip install -e '.[bench]'`): without
it the ccxt rows say so and are skipped.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import metric, report  # noqa: E402
from book import best_of_interleaved, generate_stream  # noqa: E402

from perpcli.domain.events import BookSnapshot  # noqa: E402
from perpcli.ledger.book import OrderBook, SyncRule  # noqa: E402
from perpcli.venues.aster.stream import AsterProtocol  # noqa: E402

LEVELS_PER_MESSAGE = 20
SYMBOL = "BTCUSDT"
TICK = Decimal("0.1")
LOT = Decimal("0.001")
SNAPSHOT_ID = 1  # the REST snapshot's lastUpdateId: frame 1 bridges it (U <= lastUpdateId <= u)


def _arg(name: str, default: int) -> int:
    argv = sys.argv[1:]
    return int(argv[argv.index(name) + 1]) if name in argv else default


def depth_frames(messages: list[list[tuple[bool, int, int]]]) -> list[str]:
    """Aster `depthUpdate` frames, U = u = n, pu = n - 1, numbers as the venue writes them."""
    frames = []
    for n, msg in enumerate(messages, start=1):
        bids = [[str(p * TICK), str(s * LOT)] for b, p, s in msg if b]
        asks = [[str(p * TICK), str(s * LOT)] for b, p, s in msg if not b]
        frames.append(json.dumps({"e": "depthUpdate", "E": 1_754_556_878_284 + n, "T": 1_754_556_878_031 + n,
                                  "s": SYMBOL, "U": n, "u": n, "pu": n - 1, "b": bids, "a": asks},
                                 separators=(",", ":")))
    return frames


# ----- ours --------------------------------------------------------------------------------------


def new_book() -> OrderBook:
    book = OrderBook("aster", SYMBOL, SyncRule.PREV_CHAIN)
    book.apply_snapshot(BookSnapshot("aster", SYMBOL, (), (), 0, SNAPSHOT_ID))
    return book


def ours_frames(frames: list[str]) -> OrderBook:
    protocol = AsterProtocol("aster")
    decode = protocol.decode
    book = new_book()
    apply = book.apply_diff
    for text in frames:
        (inbound,) = decode(text)
        for diff in inbound.events:
            apply(diff)
    return book


def decoded(frames: list[str]) -> list:
    protocol = AsterProtocol("aster")
    return [diff for text in frames for inbound in protocol.decode(text) for diff in inbound.events]


def ours_apply(diffs: list) -> OrderBook:
    book = new_book()
    apply = book.apply_diff
    for diff in diffs:
        apply(diff)
    return book


# ----- ccxt.pro ------------------------------------------------------------------------------------


class _Client:
    """What ccxt.pro's handler reads of its websocket client: the URL (a futures one, so the
    pu rule applies) and the futures it resolves (nobody waits on them here)."""

    url = "wss://fstream.binance.com/ws"
    subscriptions: dict = {}

    def resolve(self, result: object, message_hash: str) -> None:
        pass

    def reject(self, error: Exception, message_hash: str) -> None:
        raise error


def load_ccxt():
    try:
        import ccxt.pro as ccxtpro
    except ImportError:
        return None
    return ccxtpro


def ccxt_frames(ccxtpro, frames: list[str]):
    ex = ccxtpro.binance()
    book = ex.order_book()
    book["nonce"] = SNAPSHOT_ID
    ex.orderbooks[SYMBOL] = book
    client = _Client()
    handle = ex.handle_order_book
    loads = json.loads
    for text in frames:
        handle(client, loads(text))
    return ex.orderbooks[SYMBOL]


def ccxt_apply(ccxtpro, parsed: list[tuple[int, int, int, list, list]]):
    """The same chain check as ccxt.pro's futures handler, then the stores, on parsed floats."""
    ex = ccxtpro.binance()
    book = ex.order_book()
    bids, asks = book["bids"], book["asks"]
    nonce = SNAPSHOT_ID
    for first, last, prev, b, a in parsed:
        if last < nonce or not (first <= nonce or prev == nonce):
            raise AssertionError("gap")
        for px, sz in a:
            asks.store(px, sz)
        for px, sz in b:
            bids.store(px, sz)
        nonce = last
    return book


def same_books(ours: OrderBook, theirs) -> bool:
    bids, asks = ours.top(20)
    return ([(float(p), float(s)) for p, s in bids] == [tuple(x) for x in theirs["bids"][:20]]
            and [(float(p), float(s)) for p, s in asks] == [tuple(x) for x in theirs["asks"][:20]])


def main() -> None:
    n_updates = _arg("--updates", 500_000)
    seed = _arg("--seed", 7)
    per_message = _arg("--levels-per-message", LEVELS_PER_MESSAGE)
    messages = generate_stream(n_updates, seed, per_message)
    frames = depth_frames(messages)
    diffs = decoded(frames)
    n_frames = len(frames)
    ccxtpro = load_ccxt()
    metrics = []
    if ccxtpro is None:
        print("ccxt is not installed (pip install -e '.[bench]'): no baseline to measure", file=sys.stderr)
        t_ours, = best_of_interleaved([lambda: ours_frames(frames)], repeat=3)
        print(f"frame -> book: {n_frames / t_ours:,.0f} updates/s (no baseline)")
        return
    parsed = []
    for text in frames:
        msg = json.loads(text)
        parsed.append((msg["U"], msg["u"], msg["pu"], [(float(p), float(s)) for p, s in msg["b"]],
                       [(float(p), float(s)) for p, s in msg["a"]]))
    if not same_books(ours_frames(frames), ccxt_frames(ccxtpro, frames)):
        raise SystemExit("the two books differ after the same frames: the comparison would mean nothing")
    t_ours, t_ccxt = best_of_interleaved([lambda: ours_frames(frames), lambda: ccxt_frames(ccxtpro, frames)],
                                         repeat=3)
    metrics.append(metric(f"frame -> book, {per_message} levels per depthUpdate", "updates/s",
                          n_frames / t_ours, n_frames / t_ccxt, "ccxt.pro binance.handle_order_book (+ json.loads)",
                          higher_is_better=True))
    a_ours, a_ccxt = best_of_interleaved([lambda: ours_apply(diffs), lambda: ccxt_apply(ccxtpro, parsed)], repeat=3)
    metrics.append(metric("apply only (chain check + levels, numbers parsed)", "updates/s", n_frames / a_ours,
                          n_frames / a_ccxt, "ccxt OrderBook sides (floats)", higher_is_better=True))
    metrics.append(metric("frame -> book, per update", "us", t_ours / n_frames * 1e6, t_ccxt / n_frames * 1e6,
                          "ccxt.pro binance.handle_order_book (+ json.loads)"))
    report(f"Aster diff book: {n_frames} depthUpdate frames ({sum(len(m) for m in messages)} level updates), "
           "best-of-3 CPU time", metrics)


if __name__ == "__main__":
    main()
