"""Transactions broadcast but not yet settled, kept on disk per (chain, sender).

Written *before* the bytes leave, so a `perp` killed between broadcast and receipt leaves a
record the next command settles by hash and nonce (chain.Chain.settle) instead of guessing —
and nothing is ever sent twice. Each line is one JSON record: hash, nonce, raw bytes, label.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perpcli.venues.ostium.transactions import SignedTx


class TxJournal:
    def __init__(self, chain_id: int, sender: str, *, directory: Path | None = None) -> None:
        if directory is None:
            from perpcli.config import paths

            directory = paths.state_dir() / "evm-journal"
        self._dir = directory
        self.path = directory / f"{chain_id}-{sender.lower()}.jsonl"
        self._lock_path = directory / f"{chain_id}-{sender.lower()}.lock"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Processes sharing a key append and rewrite one file: one at a time."""
        self._dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self._dir, 0o700)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def record(self, signed: SignedTx, label: str = "") -> None:
        line = json.dumps({"hash": signed.hash_hex, "nonce": signed.tx.nonce, "raw": signed.raw_hex,
                           "label": label, "at": int(time.time())}) + "\n"
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)  # the record must survive a kill -9 right after the broadcast
            finally:
                os.close(fd)

    def entries(self) -> list[dict]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line from a crash mid-write: that broadcast never happened
            if isinstance(entry, dict) and isinstance(entry.get("hash"), str) and isinstance(entry.get("raw"), str):
                out.append(entry)
        return out

    def transactions(self) -> list[tuple[dict, SignedTx]]:
        """Each entry with its decoded transaction; an entry that does not decode is skipped (it
        cannot be one this journal recorded before broadcasting)."""
        from perpcli.venues.ostium.transactions import decode

        out = []
        for entry in self.entries():
            try:
                out.append((entry, decode(bytes.fromhex(entry["raw"][2:]))))
            except ValueError:
                continue
        return out

    def unsettled(self) -> list[SignedTx]:
        from perpcli.venues.ostium.transactions import decode

        return [decode(bytes.fromhex(e["raw"][2:])) for e in self.entries()]

    def forget(self, tx_hash: str) -> None:
        """Drop a settled transaction (rewritten atomically under the lock)."""
        with self._locked():
            keep = [e for e in self.entries() if e["hash"] != tx_hash]
            if not keep:
                self.path.unlink(missing_ok=True)
                return
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, "".join(json.dumps(e) + "\n" for e in keep).encode())
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
