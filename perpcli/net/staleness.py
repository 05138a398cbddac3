"""How old is the last message of each feed, and which feeds just went stale or came back.

WHY a separate, pure tracker: "staleness is a state" (DESIGN.md). A book whose feed has gone
quiet must be flagged before anyone prices an order from it. Keeping the bookkeeping free of
sockets and clock reads (time is an argument) lets tests walk time forward by hand and check
every transition without sleeping.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FreshnessChange:
    """One feed crossed the staleness line (`stale=True`) or came back (`stale=False`)."""

    key: Hashable
    stale: bool
    age: float  # seconds since its last message at the time of the check (inf if none yet)


class StalenessTracker:
    """Per-feed last-message times and a silence threshold.

    A feed that has been registered but never heard from counts its age from registration,
    so "subscribed but the snapshot never came" also turns stale.
    """

    def __init__(self, stale_after: float) -> None:
        if stale_after <= 0:
            raise ValueError("stale_after must be positive")
        self.stale_after = stale_after
        # Public for the receive loop's hot path, which inlines `touch` (see StreamSession):
        # last message time per feed, and the feeds currently reported stale.
        self.last: dict[Hashable, float] = {}
        self._limits: dict[Hashable, float] = {}
        self.stale: set[Hashable] = set()

    def watch(self, key: Hashable, now: float, stale_after: float | None = None) -> None:
        """Start (or restart, e.g. after a reconnect) the silence timer of `key`.

        `stale_after` overrides the default for this feed: a fills channel is quiet for hours
        and `math.inf` says its silence means nothing; a book feed may be judged tighter.
        """
        self.last[key] = now
        self.stale.discard(key)  # a restarted timer reports a new silence again
        if stale_after is not None:
            if stale_after <= 0:
                raise ValueError("stale_after must be positive")
            self._limits[key] = stale_after

    def forget(self, key: Hashable) -> None:
        self.last.pop(key, None)
        self._limits.pop(key, None)
        self.stale.discard(key)

    def touch(self, key: Hashable, now: float) -> FreshnessChange | None:
        """Record a message for `key`; returns the change if the feed was stale until now."""
        self.last[key] = now
        if key in self.stale:
            self.stale.discard(key)
            return FreshnessChange(key, stale=False, age=0.0)
        return None

    def age(self, key: Hashable, now: float) -> float:
        last = self.last.get(key)
        return float("inf") if last is None else max(0.0, now - last)

    def is_stale(self, key: Hashable) -> bool:
        return key in self.stale

    def keys(self) -> Iterable[Hashable]:
        return self.last.keys()

    def check(self, now: float) -> list[FreshnessChange]:
        """Mark feeds silent for longer than `stale_after`; returns only the new transitions."""
        changes = []
        default = self.stale_after
        limits = self._limits
        for key, last in self.last.items():
            age = now - last
            if age > limits.get(key, default) and key not in self.stale:
                self.stale.add(key)
                changes.append(FreshnessChange(key, stale=True, age=age))
        return changes

    def mark_all_stale(self, now: float) -> list[FreshnessChange]:
        """The connection dropped: every feed is stale at once, whatever its age."""
        changes = []
        for key, last in self.last.items():
            if key not in self.stale:
                self.stale.add(key)
                changes.append(FreshnessChange(key, stale=True, age=now - last))
        return changes

    def next_deadline(self) -> float | None:
        """The earliest monotonic time at which a fresh feed could turn stale (for a timer)."""
        default = self.stale_after
        fresh = [last + self._limits.get(key, default) for key, last in self.last.items() if key not in self.stale]
        return min(fresh) if fresh else None
