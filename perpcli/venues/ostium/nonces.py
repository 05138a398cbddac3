"""EVM account nonces shared by every `perp` process using one key on one chain.

An EVM nonce is a strict sequence per account: two processes that both ask the node for the
pending count before either broadcast get the same number, and the second transaction
replaces or bounces off the first. So, as keys/nonces.py does for Hyperliquid, processes
coordinate through a lock file and a state file per (chain id, address) under
`state_dir()/evm-nonces/`: under the lock, the next nonce is the larger of the node's pending
count and one past the last nonce handed out here.

The local record can run ahead of the chain only while our own transactions are in flight. If
one was allocated but never broadcast (the process died first), the chain would wait forever
for the gap; so a local record older than `stale_after_s` that the node's pending count has
not reached is dropped in favour of the node's count, and a caller that failed before
broadcasting gives its nonce back with `release`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

STALE_AFTER_S = 120.0


class EvmNonceAllocator:
    def __init__(self, chain_id: int, address: str, *, directory: Path | None = None,
                 clock: Callable[[], float] = time.time, stale_after_s: float = STALE_AFTER_S) -> None:
        a = address.lower()
        if not (a.startswith("0x") and len(a) == 42 and all(c in "0123456789abcdef" for c in a[2:])):
            raise ValueError("nonce allocator needs a 0x-address")
        if directory is None:
            from perpcli.config import paths

            directory = paths.state_dir() / "evm-nonces"
        self.chain_id = chain_id
        self.address = a
        self._dir = directory
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._state_path = directory / f"{chain_id}-{a}.json"
        self._lock_path = directory / f"{chain_id}-{a}.lock"

    def allocate(self, pending_count: Callable[[], int]) -> int:
        """The next nonce; `pending_count` asks the node (called under the lock, so a process
        that broadcasts meanwhile cannot be missed)."""
        with self._locked() as fd:
            state = self._read(fd)
            chain_next = pending_count()
            local_next = state["last"] + 1 if state else 0
            if state and local_next > chain_next and self._clock() - state["at"] > self._stale_after_s:
                local_next = chain_next  # our in-flight record is old and the node never saw it
            nonce = max(chain_next, local_next)
            self._write(fd, {"last": nonce, "at": self._clock()})
        return nonce

    def release(self, nonce: int) -> bool:
        """Give back a nonce that was never broadcast, if nothing was handed out after it."""
        with self._locked() as fd:
            state = self._read(fd)
            if not state or state["last"] != nonce:
                return False
            self._write(fd, {"last": nonce - 1, "at": state["at"]})
        return True

    def last(self) -> int | None:
        try:
            return int(json.loads(self._state_path.read_text())["last"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        self._dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self._dir, 0o700)
        lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            fd = os.open(self._state_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                yield fd
            finally:
                os.close(fd)
        finally:
            os.close(lock_fd)

    @staticmethod
    def _read(fd: int) -> dict | None:
        raw = os.pread(fd, 4096, 0).strip()
        if not raw:
            return None
        try:
            state = json.loads(raw)
            if isinstance(state["last"], int) and state["last"] >= -1 and isinstance(state["at"], (int, float)):
                return state
        except (ValueError, KeyError, TypeError):
            pass
        return None  # unreadable: fall back to the node's count, which is always safe to start from

    @staticmethod
    def _write(fd: int, state: dict) -> None:
        data = json.dumps(state).encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
