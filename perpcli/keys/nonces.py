"""Nonces that never collide, also across many `perp` processes sharing one key.

Hyperliquid keeps the 100 highest nonces per *signer* and refuses a duplicate; the usual bug
is two actions signed in the same millisecond (by one process, or by two scripts using one
agent key). The allocator hands out `max(now_ms, last + 1)`: strictly increasing and never
behind the clock, so the venue's time window is respected too.

Processes coordinate through two files per signer address under `state_dir()/nonces/`: a lock
file held with `fcntl.flock` for the few microseconds of read-compute-write, and a file with
the last nonce given out. The write is not fsynced: a process crash keeps the page cache, and
after an OS crash the clock has moved past anything that was lost.

Because the allocator never goes backwards, one clock jump far ahead would block the key for
good: every later nonce follows the far-future one, and Hyperliquid refuses a nonce outside
(T - 2 days, T + 1 day) of its own time T. So a stored nonce more than a day ahead of the clock
(or a file that is not a number) is refused with an explanation, and `perp keys reset-nonce`
sets the state back to the clock under the same lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from perpcli.config import paths
from perpcli.domain.errors import AuthError

# Hyperliquid accepts a nonce only within (T - 2 days, T + 1 day) of its time T: a stored nonce
# further ahead of our clock than this can never be used again.
MAX_AHEAD_MS = 86_400_000
_MAX_DIGITS = 19  # Unix ms for the next few hundred million years


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def wall_clock_us() -> int:
    return time.time_ns() // 1_000


def _address_key(address: str) -> str:
    a = address.lower()
    if not (a.startswith("0x") and len(a) == 42 and all(c in "0123456789abcdef" for c in a[2:])):
        raise ValueError("nonce allocator needs a 0x-address")
    return a


class NonceAllocator:
    """One allocator per signer address; safe across threads and processes.

    Counts milliseconds (Hyperliquid). A venue that counts in other units subclasses this with
    its own `suffix` (its state never mixes with another unit's), `max_ahead` and `units_per_ms`.
    """

    suffix = ""  # state file name: <address><suffix>.last
    max_ahead = MAX_AHEAD_MS  # in this allocator's units
    units_per_ms = 1
    window_note = "Hyperliquid refuses nonces more than 1 day ahead of its time"

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
        self._last_path = self._dir / f"{self.address}{self.suffix}.last"
        self._lock_path = self._dir / f"{self.address}{self.suffix}.lock"

    def next(self) -> int:
        """The next nonce for this signer (reserves it for good)."""
        return self.reserve(1)[0]

    def reserve(self, count: int) -> list[int]:
        """`count` consecutive fresh nonces, e.g. for a user-signed action plus its retry guard."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._locked() as last_fd:
            last = self._read(last_fd)
            now = self._clock_ms()
            if last > now + self.max_ahead:
                raise AuthError(self._far_ahead_message(last, now))
            first = max(now, last + 1)
            self._write(last_fd, first + count - 1)
        return list(range(first, first + count))

    def reset(self) -> tuple[int | None, int, bool]:
        """Set a far-ahead or unreadable state back to the clock, under the lock.

        Returns (old last nonce or None if unreadable, last nonce now, whether it changed). A state
        within MAX_AHEAD_MS of the clock is left alone: the venue may have accepted those nonces,
        and going back below them would only get the next actions refused as reused.
        """
        with self._locked() as last_fd:
            now = self._clock_ms()
            try:
                old: int | None = self._read(last_fd)
            except AuthError:
                old = None
            if old is not None and old <= now + self.max_ahead:
                return old, old, False
            self._write(last_fd, now)
        return old, now, True

    def last(self) -> int:
        """The last nonce handed out (0 if none); for diagnostics."""
        try:
            raw = self._last_path.read_bytes()
        except FileNotFoundError:
            return 0
        return self._parse(raw)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """The state file's descriptor, held under the signer's exclusive lock."""
        paths.ensure_private_dir(self._dir)
        lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            last_fd = os.open(self._last_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                yield last_fd
            finally:
                os.close(last_fd)
        finally:
            os.close(lock_fd)  # closing releases the flock

    def _read(self, fd: int) -> int:
        return self._parse(os.pread(fd, _MAX_DIGITS + 8, 0))

    @staticmethod
    def _write(fd: int, last: int) -> None:
        data = str(last).encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))

    def _parse(self, raw: bytes) -> int:
        text = raw.strip()
        if not text:
            return 0
        if len(text) > _MAX_DIGITS or not text.isdigit():  # bytes.isdigit: ASCII digits only
            raise AuthError(
                f"nonce file {self._last_path} does not hold a nonce (corrupt); "
                f"reset it with `perp keys reset-nonce {self.address}`"
            )
        return int(text)

    def _far_ahead_message(self, last: int, now: int) -> str:
        ahead_s = (last - now) / (1000 * self.units_per_ms)
        ahead = f"{ahead_s / 86_400:.1f} days" if ahead_s >= 86_400 else f"{ahead_s:.0f} seconds"
        try:
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(last / (1000 * self.units_per_ms)))
        except (OverflowError, ValueError, OSError):  # beyond what the platform's time functions take
            when = f"nonce {last}"
        return (
            f"the last nonce used for {self.address} is {when}, {ahead} ahead of this "
            f"computer's clock (a clock jump?), and {self.window_note}, "
            f"so every action would be refused; if the clock is right now, run "
            f"`perp keys reset-nonce {self.address}` (state in {self._last_path})"
        )


class MicrosecondNonceAllocator(NonceAllocator):
    """Nonces in microseconds (Aster v3): `max(now_us, last + 1)`, same locking and files.

    Aster keeps each user's last 100 nonces and takes a nonce only within seconds of its own
    clock (10 s, widened to 60 s per signer in 2026), so a state more than a minute ahead of
    ours can never be used: it is refused with the same explanation as a far-ahead ms state.
    """

    suffix = ".us"
    max_ahead = 60_000_000
    units_per_ms = 1000
    window_note = "Aster refuses nonces more than 60 seconds away from its time"

    def __init__(
        self,
        address: str,
        *,
        clock_us: Callable[[], int] = wall_clock_us,
        directory: Path | None = None,
    ) -> None:
        super().__init__(address, clock_ms=clock_us, directory=directory)
