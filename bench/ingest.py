"""Hyperliquid l2Book ingest, per frame: what the session and the TUI pay for each book message.

    .venv/bin/python bench/ingest.py [--json] [--frames N] [--seed S]

One frame's path, as the stream session runs it: the venue protocol decodes the text
(HyperliquidProtocol.decode), the sink applies it to the store's book and publishes the change
to the store's subscribers (StoreSink.apply -> Store.apply), then a reader takes the top 20
levels a side (OrderBook.top(20): every level of a Hyperliquid frame, as exact Decimals).
Rows, all in the same run, best-of CPU time, interleaved:

- ours: that path (levels kept as the venue's text, checked and parsed when read, both sides
  in one pass; a level whose text repeats a recent frame's reuses its parse);
- the eager path it replaced: the same, with every level parsed at decode (decode_l2book ->
  BookSnapshot), as the stream did before;
- baseline: plain `json.loads` of the frame and its levels into Decimal pairs (no book, no store).

Also ours without the read (a frame superseded before anyone looks: the common case for a
screen redrawing at 20 Hz). Frames: a walking Hyperliquid-style book (bench/book.py's
generator, 20 levels a side, a few sizes changing per frame, the mid moving now and then),
replayed with rising times so none is dropped as old. A second workload changes every level's
size in every frame (nothing of the previous frame's parse can be reused): ours, the eager
path and the baseline again, on those frames.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import metric, report  # noqa: E402
from book import best_of_interleaved, l2book_frames  # noqa: E402

from perpcli.ledger.store import Store  # noqa: E402
from perpcli.net.sink import StoreSink  # noqa: E402
from perpcli.venues.hyperliquid.codec_book import decode_l2book  # noqa: E402
from perpcli.venues.hyperliquid.stream import HyperliquidProtocol, book_subscription  # noqa: E402

TARGET_US = 15.0
VENUE = "hyperliquid"


def _arg(name: str, default: int) -> int:
    argv = sys.argv[1:]
    return int(argv[argv.index(name) + 1]) if name in argv else default


def frames_of(count: int, seed: int, *, every_level: bool = False) -> list[str]:
    base = l2book_frames(200, seed, every_level=every_level)
    out = []
    for round_ in range((count + len(base) - 1) // len(base)):
        for i, frame in enumerate(base):
            t = 1_754_450_974_231 + i * 500
            out.append(frame.replace(f'"time":{t},', f'"time":{t + round_ * 100_000},'))
    return out[:count]


def _store() -> tuple[StoreSink, object, object]:
    store = Store()
    sink = StoreSink(store, VENUE)
    key = book_subscription("BTC").key
    book = sink.track_book(key, "BTC")
    store.subscribe()  # one reader of the change feed, as the TUI and the session have
    return sink, key, book


def ours(frames: list[str], *, read: bool) -> None:
    sink, key, book = _store()
    decode = HyperliquidProtocol(VENUE).decode
    apply = sink.apply
    top = book.top
    for frame in frames:
        inbound = decode(frame)[0]
        apply(inbound.key, inbound.events)
        if read:
            top(20)


def eager(frames: list[str]) -> None:
    sink, key, book = _store()
    apply = sink.apply
    top = book.top
    for frame in frames:
        apply(key, (decode_l2book(frame, venue=VENUE),))
        top(20)


def plain_json(frames: list[str]) -> None:
    loads = json.loads
    dec = Decimal
    for frame in frames:
        levels = loads(frame)["data"]["levels"]
        [(dec(lv["px"]), dec(lv["sz"])) for lv in levels[0]]
        [(dec(lv["px"]), dec(lv["sz"])) for lv in levels[1]]


def check_same_book(frames: list[str]) -> None:
    """Ours and the eager path must leave the same book after every frame, or nothing counts."""
    lazy_sink, key, lazy_book = _store()
    eager_sink, _, eager_book = _store()
    decode = HyperliquidProtocol(VENUE).decode
    for frame in frames:
        inbound = decode(frame)[0]
        lazy_sink.apply(inbound.key, inbound.events)
        eager_sink.apply(key, (decode_l2book(frame, venue=VENUE),))
        if lazy_book.top(20) != eager_book.top(20) or lazy_book.is_usable != eager_book.is_usable:
            raise SystemExit("bench: the lazy and the eager book disagree")


def main() -> None:
    count = _arg("--frames", 2000)
    seed = _arg("--seed", 7)
    frames = frames_of(count, seed)
    churn = frames_of(count, seed, every_level=True)
    check_same_book(frames)
    check_same_book(churn)
    ours_us, unread_us, eager_us, json_us, churn_us, churn_eager_us, churn_json_us = (
        t / len(frames) * 1e6
        for t in best_of_interleaved(
            [lambda: ours(frames, read=True), lambda: ours(frames, read=False), lambda: eager(frames),
             lambda: plain_json(frames), lambda: ours(churn, read=True), lambda: eager(churn),
             lambda: plain_json(churn)],
            repeat=7,
        )
    )
    metrics = [
        metric("l2Book ingest: decode + apply + publish + top-20 read", "us/frame", ours_us, json_us,
               "json.loads + Decimal levels"),
        metric("l2Book ingest: the same, eager path (before)", "us/frame", eager_us, json_us,
               "json.loads + Decimal levels"),
        metric("l2Book ingest: ours vs the eager path", "us/frame", ours_us, eager_us, "eager decode (before)"),
        metric("l2Book ingest: ours vs target", "us/frame", ours_us, TARGET_US, f"target {TARGET_US:g} us"),
        metric("l2Book ingest without a read (frame superseded unread)", "us/frame", unread_us, json_us,
               "json.loads + Decimal levels"),
        metric("every level changing: ours, with the top-20 read", "us/frame", churn_us, churn_json_us,
               "json.loads + Decimal levels"),
        metric("every level changing: ours vs the eager path", "us/frame", churn_us, churn_eager_us,
               "eager decode (before)"),
    ]
    report(f"Hyperliquid l2Book ingest, {len(frames)} frames of 20+20 levels (seed {seed}; CPython "
           f"{sys.version.split()[0]}; best-of-7 CPU time, interleaved)", metrics)


if __name__ == "__main__":
    main()
