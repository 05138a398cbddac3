"""The on-disk journal of one algo: an append-only JSON-lines file, fsynced record by record.

Records (`t`): `start` (the spec and where the venue is reached), `before` (an action about to
be sent, with the algo's state as it decided it), `after` (what came back: the child's update),
`state` (the state after an answer or a status change), `log` (a line for people). A step is a
`before` and its `after`, numbered `n`. Whatever happens to the process, the last state-bearing
record plus the `after`s that follow it rebuild the algo; a `before` with no `after` is a step
whose outcome is unknown, which the host settles by client order id before going on.

Files live in PERPCLI_HOME/session/algos/ (0700 folder, 0600 files): they name markets and
sizes, never keys.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def folder() -> Path:
    from perpcli.config import paths
    from perpcli.session import protocol

    path = Path(protocol.session_dir()) / "algos"
    paths.ensure_private_dir(path)
    return path


def new_id() -> str:
    """Short, sortable by start time, unique enough per user: a-<ms base36>-<4 hex>."""
    ms = time.time_ns() // 1_000_000
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while ms:
        ms, r = divmod(ms, 36)
        text = digits[r] + text
    return f"a-{text}-{os.urandom(2).hex()}"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.step = 0

    @classmethod
    def create(cls, algo_id: str) -> Journal:
        path = folder() / f"{algo_id}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        return cls(path)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({"ts": int(time.time() * 1000), "pid": os.getpid(), **record}, separators=(",", ":"), default=str) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def before(self, action: dict[str, Any], state: dict[str, Any]) -> int:
        self.step += 1
        self.write({"t": "before", "n": self.step, "action": action, "state": state})
        return self.step

    def after(self, n: int, update: dict[str, Any], *, settled: bool = False) -> None:
        self.write({"t": "after", "n": n, "update": update, **({"settled": True} if settled else {})})

    def state(self, state: dict[str, Any], status: str | None = None) -> None:
        self.write({"t": "state", "state": state, **({"status": status} if status else {})})

    def log(self, message: str) -> None:
        self.write({"t": "log", "msg": message})


@dataclass
class Replay:
    """What a journal says: the spec, the last known state, and the steps after it."""

    algo_id: str
    start: dict[str, Any]
    state: dict[str, Any] | None
    status: str  # the state's status, or the host status written last (paused, suspended)
    replay: list[dict[str, Any]] = field(default_factory=list)  # `after` records to apply again
    unknown: list[dict[str, Any]] = field(default_factory=list)  # `before` records with no `after`
    logs: list[dict[str, Any]] = field(default_factory=list)
    last_step: int = 0
    updated_ms: int = 0
    writer_pid: int = 0  # the process that wrote last (a session agent, or a foreground command)


def read(path: Path) -> Replay | None:
    """The journal at path, rebuilt; None for a file that is not one (or has no start)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a torn last line (the process died mid-write): the record never happened
    if not records or records[0].get("t") != "start":
        return None
    r = Replay(algo_id=path.stem, start=records[0], state=None, status="running")
    befores: dict[int, dict[str, Any]] = {}
    for rec in records[1:]:
        t = rec.get("t")
        r.updated_ms = int(rec.get("ts", 0))
        r.writer_pid = int(rec.get("pid", 0))
        if t == "log":
            r.logs.append(rec)
            continue
        if t == "before":
            r.last_step = max(r.last_step, int(rec["n"]))
            r.state, r.replay, r.status = rec["state"], [], rec["state"]["status"]
            befores = {int(rec["n"]): rec}
        elif t == "after":
            befores.pop(int(rec["n"]), None)
            r.replay.append(rec)
        elif t == "state":
            r.state, r.replay = rec["state"], []
            r.status = rec.get("status") or rec["state"]["status"]
    r.unknown = list(befores.values())
    return r


def all_journals() -> list[Replay]:
    out = []
    for p in sorted(folder().glob("*.jsonl")):
        r = read(p)
        if r is not None:
            out.append(r)
    return out


def find(algo_id: str) -> Replay | None:
    if "/" in algo_id or algo_id.startswith(".") or not algo_id:
        return None
    return read(folder() / f"{algo_id}.jsonl")
