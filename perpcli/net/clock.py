"""Clocks as arguments.

WHY: staleness ("no message for 5 s"), heartbeats and recordings all depend on time. Passing a
clock in lets tests move time by hand instead of sleeping, and keeps the pure layers free of
clock reads. `monotonic` measures ages and timeouts (never jumps); `epoch` stamps recordings
so a bug report can be lined up with venue timestamps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def epoch(self) -> float: ...


class SystemClock:
    """The real clocks of this process."""

    def monotonic(self) -> float:
        return time.monotonic()

    def epoch(self) -> float:
        return time.time()


@dataclass
class ManualClock:
    """A clock that only moves when told to; for tests and for replaying recordings."""

    now: float = 0.0
    epoch_offset: float = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.now

    def epoch(self) -> float:
        return self.epoch_offset + self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        self.now += seconds

    def set(self, monotonic: float) -> None:
        if monotonic < self.now:
            raise ValueError("a monotonic clock never goes back")
        self.now = monotonic


SYSTEM_CLOCK = SystemClock()
