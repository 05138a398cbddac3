"""Record raw stream frames to NDJSON and read them back for replay.

WHY: a stream bug ("my book went crossed after a reconnect") is only fixable if we can see the
exact frames, in order, with their timing. A recording holds what crossed the wire (inbound and
outbound text), the REST snapshots fetched to resync a book, and connection boundaries; feeding
it back through the same codec and store path reproduces the same local state, in a test or on a
developer's machine, without a network.

One line per record:
    {"seq": 7, "dir": "in", "mono": 12.5, "epoch": 1764075000.1, "conn": 2, "key": null, "text": "..."}
`dir` is one of: "in" (frame received), "out" (frame sent), "snapshot" (a REST snapshot text for
subscription `key`), "connect" / "disconnect" (connection boundaries; `text` holds a reason).
Keys are stored as JSON (lists for tuples) and read back as tuples so they compare equal.

Recordings of public market data are safe to share. Recordings of account streams carry the
account address and its orders: say so before attaching one to a bug report. Nothing the
stream sends contains key material (signed `post` actions carry signatures, not keys).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from perpcli.net.clock import SYSTEM_CLOCK, Clock

_escape = json.encoder.encode_basestring  # the C escaper json.dumps uses for str (non-ASCII kept)

DIRECTIONS = frozenset({"in", "out", "snapshot", "connect", "disconnect"})


@dataclass(frozen=True)
class RecordedFrame:
    seq: int
    direction: str
    mono: float
    epoch: float
    conn: int
    key: Hashable | None
    text: str


def _key_to_json(key: Hashable | None) -> Any:
    if key is None or isinstance(key, str | int):
        return key
    if isinstance(key, tuple):
        return [_key_to_json(part) for part in key]
    raise TypeError(f"subscription keys must be str, int or tuples of them, not {type(key).__name__}")


def check_key(key: Hashable | None) -> None:
    """Raise TypeError now if `key` cannot be written to (and read back from) a recording."""
    _key_to_json(key)


def _key_from_json(value: Any) -> Hashable | None:
    if isinstance(value, list):
        return tuple(_key_from_json(part) for part in value)
    return value


class FrameRecorder:
    """Appends records to an NDJSON file. Not thread-safe; owned by one stream session."""

    def __init__(self, path: str | Path, *, clock: Clock = SYSTEM_CLOCK, flush_every: int = 256) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")
        self._flush_every = max(1, flush_every)
        self._seq = 0
        self._unflushed = 0
        self.conn = 0

    def record(self, direction: str, text: str, *, key: Hashable | None = None) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}")
        if self._file is None:
            return
        if direction == "connect":
            self.conn += 1
        # Formatted by hand (one C string escape) rather than json.dumps of a dict: this runs
        # for every frame while recording, and halved the receive rate the other way.
        key_json = "null" if key is None else json.dumps(_key_to_json(key), separators=(",", ":"))
        self._file.write(
            f'{{"seq":{self._seq},"dir":"{direction}","mono":{self._clock.monotonic()!r},'
            f'"epoch":{self._clock.epoch()!r},"conn":{self.conn},"key":{key_json},'
            f'"text":{_escape(text)}}}\n'
        )
        self._seq += 1
        self._unflushed += 1
        # A connection boundary is the moment a bug report is most likely to be cut: flush there.
        if self._unflushed >= self._flush_every or direction in ("connect", "disconnect"):
            self.flush()

    def flush(self) -> None:
        if self._file is not None and self._unflushed:
            self._file.flush()
            self._unflushed = 0

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None

    def __enter__(self) -> FrameRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_recording(path: str | Path) -> Iterator[RecordedFrame]:
    """Yield the records of a recording in file order; a malformed line is an error, named by line."""
    with Path(path).open(encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                frame = RecordedFrame(
                    seq=int(obj["seq"]),
                    direction=str(obj["dir"]),
                    mono=float(obj["mono"]),
                    epoch=float(obj["epoch"]),
                    conn=int(obj.get("conn", 0)),
                    key=_key_from_json(obj.get("key")),
                    text=str(obj["text"]),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a frame record ({exc})") from None
            if frame.direction not in DIRECTIONS:
                raise ValueError(f"{path}:{number}: unknown direction {frame.direction!r}")
            yield frame
