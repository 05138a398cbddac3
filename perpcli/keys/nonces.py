"""Nonces that never collide, also across many `perp` processes sharing one key.

Hyperliquid keeps the 100 highest nonces per *signer* and refuses a duplicate; the usual bug
is two actions signed in the same millisecond (by one process, or by two scripts using one
agent key). The allocator hands out `max(now_ms, last + 1)`: strictly increasing and never
behind the clock, so the venue's time window is respected too.

Processes coordinate through two files per signer address under `state_dir()/nonces/`: a lock
file held with `fcntl.flock` for the few microseconds of read-compute-write, and a file with
the last nonce given out. The write is not fsynced: a process crash keeps the page cache, and
after an OS crash the clock has moved past anything that was lost.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from perpcli.config import paths


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _address_key(address: str) -> str:
    a = address.lower()
    if not (a.startswith("0x") and len(a) == 42 and all(c in "0123456789abcdef" for c in a[2:])):
        raise ValueError("nonce allocator needs a 0x-address")
    return a


class NonceAllocator:
    """One allocator per signer address; safe across threads and processes."""

    def __init__(
        self,
        address: str,
        *,
        clock_ms: Callable[[], int] = wall_clock_ms,
        directory: Path | None = None,
    ) -> None:
        self.address = _address_key(address)
        self._clock_ms = clock_ms
        self._dir = directory if directory is not None else paths.state_dir() / "nonces"
        self._last_path = self._dir / f"{self.address}.last"
        self._lock_path = self._dir / f"{self.address}.lock"

    def next(self) -> int:
        """The next nonce for this signer (reserves it for good)."""
        return self.reserve(1)[0]

    def reserve(self, count: int) -> list[int]:
        """`count` consecutive fresh nonces, e.g. for a user-signed action plus its retry guard."""
        if count < 1:
            raise ValueError("count must be >= 1")
        paths.ensure_private_dir(self._dir)
        lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            last_fd = os.open(self._last_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                raw = os.pread(last_fd, 32, 0).strip()
                last = int(raw) if raw else 0
                first = max(self._clock_ms(), last + 1)
                new_last = first + count - 1
                data = str(new_last).encode()
                os.pwrite(last_fd, data, 0)
                os.ftruncate(last_fd, len(data))
            finally:
                os.close(last_fd)
        finally:
            os.close(lock_fd)  # closing releases the flock
        return list(range(first, first + count))

    def last(self) -> int:
        """The last nonce handed out (0 if none); for diagnostics."""
        try:
            raw = self._last_path.read_bytes().strip()
        except FileNotFoundError:
            return 0
        return int(raw) if raw else 0
