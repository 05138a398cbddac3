"""Fast decoding of Hyperliquid `l2Book` frames into BookSnapshots. Pure: no I/O, no clock.

The book channel is the busiest one a terminal subscribes to, and a generic `json.loads`
builds ~40 dicts per frame only for us to pick two strings out of each. The text paths
decode with msgspec into typed structs (C; no dict per level, types checked as it goes) and
then check that every price and size is a plain decimal with a few C passes over the level
arrays' text (see `_decode_frame`); the frame's shape is fixed by the venue (serde struct
order: `coin`, `time`, `levels`; each level `px`, `sz`, `n`) and any surprise (other key
order, spaces, extra keys, odd numbers) falls back to the generic `json.loads` path, so an
unusual frame is slower, never wrong.

Where the time goes (bench/book.py prints the figures, ours beside a bare `json.loads`): the
80 `Decimal(str)` calls dominate the eager paths, so `decode_l2book_text` +
`OrderBook.load_text` defers them to the first read; `decode_l2book_levels` + `OrderBook.load`
parses eagerly. A string -> Decimal memo across frames was tried and dropped (hashing fresh
strings cost about as much as parsing them).

The stream path (`decode_l2book_lazy`, bench/ingest.py) skips the JSON parser altogether: it
cuts the frame into level texts (`split_l2book`) and hands the store a BookSnapshotText; the
book parses levels when read, and a whole level text (price, size and count) that repeats a
recent snapshot's reuses its parse (ledger/book.py), which, unlike a memo per number, saves
two parses for one lookup. The new level texts are checked and parsed together
(`levels_of_texts`: one C pass proves the venue's layout, msgspec makes the Decimals).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from perpcli.domain.events import BookSnapshot, BookSnapshotText, Level

VENUE = "hyperliquid"

class BookFrameError(ValueError):
    """The frame is not an l2Book message we can read."""


def decode_l2book(frame: str | bytes | dict, *, venue: str = VENUE) -> BookSnapshot:
    """One l2Book websocket message (text, or already parsed) -> BookSnapshot.

    Accepts the full message `{"channel":"l2Book","data":{...}}` or just its `data` (the
    `/info` l2Book answer has the same shape as `data`).
    """
    if isinstance(frame, dict):
        return _from_dict(frame, venue)
    if isinstance(frame, bytes):
        frame = frame.decode()
    fast = decode_l2book_levels(frame)
    if fast is None:
        try:
            parsed = json.loads(frame)
        except ValueError as exc:
            raise BookFrameError(f"l2Book frame is not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise BookFrameError("l2Book frame is not a JSON object")
        return _from_dict(parsed, venue)
    coin, time_ms, bids, asks = fast
    return BookSnapshot(venue, coin, tuple(bids), tuple(asks), time_ms)


def decode_l2book_text(
    frame: str,
) -> tuple[str, int, list[tuple[str, str]], list[tuple[str, str]]] | None:
    """(coin, time, bids, asks) with each level a checked (price, size) decimal-string pair.

    For `OrderBook.load_text`, which parses them only when the book is read. Every string
    is a plain decimal (digits, optionally one dot and more digits; a second dot further on,
    as in "1.2.3", is left for the parse to refuse) or the result is None.
    """
    decoded = _decode_frame(frame)
    if decoded is None:
        return None
    data, bid_levels, ask_levels = decoded
    return (
        data.coin,
        data.time,
        [(lv.px, lv.sz) for lv in bid_levels],
        [(lv.px, lv.sz) for lv in ask_levels],
    )


def decode_l2book_levels(frame: str) -> tuple[str, int, list[Level], list[Level]] | None:
    """The text fast path without building a BookSnapshot: (coin, time, bids, asks).

    None when the frame is not in the expected shape (`decode_l2book` then falls back to
    json). A stream feeding `OrderBook.load` directly uses this.
    """
    decoded = _decode_frame(frame)
    if decoded is None:
        return None
    data, bid_levels, ask_levels = decoded
    # A comprehension, not map(Decimal, ...): calling the type through map measured
    # slower here (no vectorcall).
    dec = Decimal
    try:
        bids = [(dec(lv.px), dec(lv.sz)) for lv in bid_levels]
        asks = [(dec(lv.px), dec(lv.sz)) for lv in ask_levels]
    except InvalidOperation:  # "1.2.3" passes the text check; json decides (and refuses)
        return None
    return data.coin, data.time, bids, asks


# gc=False: these short-lived decode results hold strings, ints and the level lists and are
# never put in a cycle, so the collector need not track them (measured faster in bench/book.py).
class _WireLevel(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    px: str
    sz: str
    n: int


class _WireBook(msgspec.Struct, gc=False):
    coin: str
    time: int
    levels: tuple[list[_WireLevel], list[_WireLevel]]


class _WireMessage(msgspec.Struct, gc=False):
    channel: str
    data: _WireBook


_DECODE_MESSAGE = msgspec.json.Decoder(_WireMessage).decode
# Everything a level array may hold except the key letters: deleting it must leave exactly
# the keys' letters, level after level ("pxszn" per level), so no value holds a sign, an
# exponent, NaN, an underscore, a space or a non-ASCII digit (all of which Decimal() accepts).
_LEVEL_PUNCTUATION = b'0123456789.,:{}[]"'
_KEY_LETTERS = b"pxszn"
# '.' -> '"': then '""' appears exactly where a value is empty or a dot touches a quote or
# another dot ("", ".5", "1.", "1..2"); valid JSON here has no '""' and dots only in numbers.
_DOT_AS_QUOTE = bytes.maketrans(b".", b'"')


def _decode_frame(frame: str) -> tuple[_WireBook, list[_WireLevel], list[_WireLevel]] | None:
    """Decode an l2Book message with msgspec (C, typed: no dict per level) and check every
    price and size is a plain decimal, or None (the caller falls back to json).

    msgspec checks the shape and the types (strings for px/sz, an int for n, no other level
    keys); the checks on the text of the level arrays (from `"levels":` to the end, which
    must then hold nothing but the levels: the venue's key order) cover the numbers with
    three C passes instead of a regular expression per level.
    """
    try:
        message = _DECODE_MESSAGE(frame)
    except msgspec.DecodeError:
        return None
    if message.channel != "l2Book":
        return None
    data = message.data
    bid_levels, ask_levels = data.levels
    at = frame.find('"levels":')
    if at < 0:  # cannot happen after a successful decode; keeps the check honest
        return None
    body = frame[at + 9 :].encode()
    if body.translate(None, _LEVEL_PUNCTUATION) != _KEY_LETTERS * (len(bid_levels) + len(ask_levels)):
        return None
    if b'""' in body.translate(_DOT_AS_QUOTE):
        return None
    return data, bid_levels, ask_levels


def _from_dict(message: dict, venue: str) -> BookSnapshot:
    data = message["data"] if "channel" in message else message
    if message.get("channel", "l2Book") != "l2Book":
        raise BookFrameError(f"not an l2Book message: channel {message.get('channel')!r}")
    try:
        levels = data["levels"]
        bids = tuple((_number(lv["px"], "px"), _number(lv["sz"], "sz")) for lv in levels[0])
        asks = tuple((_number(lv["px"], "px"), _number(lv["sz"], "sz")) for lv in levels[1])
        return BookSnapshot(venue, str(data["coin"]), bids, asks, int(data.get("time", 0)))
    except (KeyError, IndexError, TypeError, ValueError, InvalidOperation) as exc:
        raise BookFrameError(f"malformed l2Book data: {exc!r}") from None


def _number(text: object, field: str) -> Decimal:
    """A level's price or size from the slow path: a finite, non-negative decimal string.
    (The fast path's text check admits only plain digits and one dot, so it needs no such
    test; this path sees whatever else arrives, signs, exponents, NaN and Infinity included.)"""
    if not isinstance(text, str):
        raise BookFrameError(f"malformed l2Book data: {field} {text!r:.40} is not a string")
    value = Decimal(text)
    if not value.is_finite() or value < 0 or (value and not -40 <= value.adjusted() <= 40):
        raise BookFrameError(f"malformed l2Book data: {field} {text!r:.40} is not a sane non-negative number")
    return value


def encode_l2book_frame(snapshot: BookSnapshot, counts: Any = None) -> str:
    """The websocket text frame the venue would send for this book (tests, bench, devnet).

    `counts` optionally gives the order count `n` per level as (bid counts, ask counts).
    """

    def side(levels: tuple[Level, ...], ns: Any) -> list[dict]:
        return [
            {"px": _render(px), "sz": _render(sz), "n": (ns[i] if ns else 1)} for i, (px, sz) in enumerate(levels)
        ]

    bid_n, ask_n = counts if counts else (None, None)
    data = {
        "coin": snapshot.symbol,
        "time": snapshot.time_ms,
        "levels": [side(snapshot.bids, bid_n), side(snapshot.asks, ask_n)],
    }
    return json.dumps({"channel": "l2Book", "data": data}, separators=(",", ":"))


def _render(value: Decimal) -> str:
    """Server-style decimal text: whole numbers keep `.0` (`"2397.0"`), others are minimal."""
    text = f"{value.normalize():f}"
    return text if "." in text else text + ".0"


# ----- a stream's decoder: levels kept as the venue's text until read -----------------------------

# The venue's fixed head, up to the level arrays: one C match finds the coin (no quote, no
# escape) and the time (a plain integer) where a dozen Python-level finds and checks did.
_HEAD = re.compile(r'\{"channel":"l2Book","data":\{"coin":"([^"\\]+)","time":([0-9]{1,19}),"levels":\[\[')
# A plain decimal as Decimal() and the json path read it: ASCII digits with at most one dot.
_PLAIN = r"([0-9]+\.?[0-9]*|\.[0-9]+)"
_LEVEL_TEXT = re.compile(f'"px":"{_PLAIN}","sz":"{_PLAIN}","n":[0-9]+')


def split_l2book(frame: str) -> tuple[str, int, list[str], list[str]] | None:
    """(coin, time, bid texts, ask texts), each level's text (`"px":"P","sz":"S","n":N` in the
    venue's layout) best first, cut out of the frame but neither checked nor parsed, or None
    when the frame's head or tail is not the venue's (the caller then takes the json path).

    No JSON parser and no pass per level: the frame must have the fixed head, a printable coin
    without escapes, a plain integer time and `"levels":[[{...}],[{...}]]}}`. The levels are
    checked when parsed, by `levels_of_texts`: the venue's own layout by one regular
    expression, anything else (another key order, an extra key, spaces) as JSON with the json
    path's checks, and what is not a level at all makes the book MALFORMED when read. So an
    unusual level is slower, never wrong, and a frame nobody reads is never checked at all.
    """
    head = _HEAD.match(frame)
    if head is None or not frame.endswith("]]}}"):
        return None
    coin, when = head.groups()
    if not coin.isprintable():
        return None
    start = head.end()  # just after "[["
    end = len(frame) - 4  # at "]]}}"
    cut = frame.find("],[", start, end)
    if cut < 0:
        return None
    if cut > start:
        if frame[start] != "{" or frame[cut - 1] != "}":
            return None
        bids = frame[start + 1 : cut - 1].split("},{")
    else:
        bids = []
    if cut + 3 < end:
        if frame[cut + 3] != "{" or frame[end - 1] != "}":
            return None
        asks = frame[cut + 4 : end - 1].split("},{")
    else:
        asks = []
    return coin, int(when), bids, asks


def levels_of_texts(texts: list[str]) -> list[Level]:
    """Level texts from `split_l2book` -> exact (price, size) levels, else BookFrameError.

    Texts all in the venue's layout (`"px":"<decimal>","sz":"<decimal>","n":<digits>`) are
    read in one go: one C pass over the joined texts proves the layout (with the digits and
    dots taken out, exactly the keys and punctuation, level after level), then msgspec reads
    them as one JSON array, making each Decimal in C (a number that is not one, as "1..2" or
    "", fails there). Anything else is read level by level: the venue's layout by a regular
    expression, any other text as the JSON object it should be, with the json path's checks
    (`_number`), so a level the json path would accept reads the same here and one it would
    refuse raises.
    """
    if len(texts) < 3:  # a level or two (the best level, parsed at load): the regex is cheaper
        return _levels_one_by_one(texts)
    joined = "},{".join(texts)
    if joined.encode().translate(None, _DIGITS_AND_DOT) == _skeleton(len(texts)):
        try:
            return [(level.px, level.sz) for level in _DECODE_LEVELS("[{" + joined + "}]")]
        except msgspec.DecodeError:  # ValidationError is one: a value that is not a decimal
            pass
    return _levels_one_by_one(texts)


_DIGITS_AND_DOT = b"0123456789."
_LEVEL_SKELETON = b'"px":"","sz":"","n":'
_SKELETONS: dict[int, bytes] = {}


def _skeleton(count: int) -> bytes:
    """What `count` level texts joined by "},{" leave when their digits and dots are taken out."""
    skeleton = _SKELETONS.get(count)
    if skeleton is None:
        skeleton = b"},{".join([_LEVEL_SKELETON] * count)
        if len(_SKELETONS) < 256:  # level counts repeat; the cache stays small
            _SKELETONS[count] = skeleton
    return skeleton


class _DecimalLevel(msgspec.Struct, gc=False):
    px: Decimal
    sz: Decimal


_DECODE_LEVELS = msgspec.json.Decoder(list[_DecimalLevel]).decode


def _levels_one_by_one(texts: list[str]) -> list[Level]:
    dec = Decimal
    match = _LEVEL_TEXT.fullmatch
    out = []
    for text in texts:
        m = match(text)
        if m is None:
            out.append(_level_of_json(text))
            continue
        px, sz = m.groups()
        out.append((dec(px), dec(sz)))
    return out


def _level_of_json(text: str) -> Level:
    """One level text not in the venue's layout, read as JSON (slow; never the venue's frames)."""
    try:
        level = json.loads("{" + text + "}")
    except ValueError:
        raise BookFrameError(f"malformed l2Book level {text!r:.80}") from None
    if not isinstance(level, dict) or "px" not in level or "sz" not in level:
        raise BookFrameError(f"malformed l2Book level {text!r:.80}")
    try:
        return _number(level["px"], "px"), _number(level["sz"], "sz")
    except InvalidOperation:
        raise BookFrameError(f"malformed l2Book level {text!r:.80}") from None


def decode_l2book_lazy(frame: str, *, venue: str = VENUE) -> BookSnapshot:
    """Like `decode_l2book`, with the levels left as the venue's text until read
    (BookSnapshotText): what a stream feeding the store uses. A frame whose head or tail is
    unusual takes the eager path (and a malformed one raises BookFrameError there); a level
    that is not one makes the book MALFORMED when read."""
    fast = split_l2book(frame)
    if fast is None:
        return decode_l2book(frame, venue=venue)
    coin, time_ms, bids, asks = fast
    return BookSnapshotText(venue, coin, bids, asks, time_ms, parse_levels=levels_of_texts)
