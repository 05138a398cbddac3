"""The NDJSON frame recorder: exact round trip, timing from the clock, flushing at boundaries."""

from __future__ import annotations

import json

import pytest

from perpcli.net.clock import ManualClock
from perpcli.net.recorder import FrameRecorder, RecordedFrame, read_recording

AWKWARD = 'héllo "quoted" \\ back\nnew line\r\u2028 sep \x00 nul \t tab 🚀'


def test_round_trip_is_exact(tmp_path):
    clock = ManualClock(now=10.0)
    path = tmp_path / "rec" / "frames.ndjson"  # the folder is created
    with FrameRecorder(path, clock=clock) as rec:
        rec.record("connect", "ws://127.0.0.1:1/ws")
        rec.record("out", '{"method":"ping"}')
        clock.advance(0.25)
        rec.record("in", AWKWARD)
        rec.record("snapshot", '{"lastUpdateId":7}', key=("depth", "BTC"))
        rec.record("in", "{}", key="plain")
        rec.record("disconnect", "closed by the server")
    frames = list(read_recording(path))
    assert frames == [
        RecordedFrame(0, "connect", 10.0, clock.epoch_offset + 10.0, 1, None, "ws://127.0.0.1:1/ws"),
        RecordedFrame(1, "out", 10.0, clock.epoch_offset + 10.0, 1, None, '{"method":"ping"}'),
        RecordedFrame(2, "in", 10.25, clock.epoch_offset + 10.25, 1, None, AWKWARD),
        RecordedFrame(3, "snapshot", 10.25, clock.epoch_offset + 10.25, 1, ("depth", "BTC"), '{"lastUpdateId":7}'),
        RecordedFrame(4, "in", 10.25, clock.epoch_offset + 10.25, 1, "plain", "{}"),
        RecordedFrame(5, "disconnect", 10.25, clock.epoch_offset + 10.25, 1, None, "closed by the server"),
    ]
    # one record per physical line, each valid JSON on its own
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 7
    assert [json.loads(line)["seq"] for line in lines[:-1]] == list(range(6))


def test_connection_boundaries_are_flushed_at_once(tmp_path):
    path = tmp_path / "frames.ndjson"
    rec = FrameRecorder(path, flush_every=1000)
    rec.record("connect", "ws://x")
    rec.record("in", "a")
    assert len(path.read_text().splitlines()) == 1  # the connect is on disk, the frame still buffered
    rec.record("disconnect", "gone")
    assert len(path.read_text().splitlines()) == 3
    rec.close()
    rec.record("in", "after close is ignored")
    assert len(path.read_text().splitlines()) == 3


def test_recorder_rejects_unknown_directions_and_keys(tmp_path):
    with FrameRecorder(tmp_path / "f.ndjson") as rec:
        with pytest.raises(ValueError):
            rec.record("sideways", "x")
        with pytest.raises(TypeError):
            rec.record("snapshot", "x", key=frozenset({1}))


def test_reader_rejects_unknown_directions(tmp_path):
    path = tmp_path / "f.ndjson"
    path.write_text('{"seq":0,"dir":"up","mono":1,"epoch":2,"text":"x"}\n')
    with pytest.raises(ValueError, match="f.ndjson:1: unknown direction"):
        list(read_recording(path))
