"""A latest-wins mailbox between a fast producer (the socket) and a slow reader (a screen, a script).

WHY: a book stream pushes many updates a second; a reader that redraws at 10 Hz must not make
the receive loop wait (the venue would drop us) and must not build an unbounded queue (memory
grows, and the reader falls further behind reality). Only the newest value per key matters for a
book or a status, so a newer value replaces an unread older one. Memory is bounded by the number
of distinct keys, whatever the producer's rate.

Not for fills or order updates: those are events, each one must be seen; they go to the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class MailboxClosed(Exception):
    """The producer closed the mailbox and everything in it has been read."""


class LatestByKey(Generic[K, V]):
    """Keyed, latest-wins, asyncio-side mailbox. `put` never blocks; `take` waits for news."""

    def __init__(self) -> None:
        self._pending: dict[K, V] = {}
        self._ready = asyncio.Event()
        self._closed = False
        self.superseded = 0  # values replaced before anyone read them (how much was coalesced)
        self.delivered = 0

    def put(self, key: K, value: V) -> None:
        if self._closed:
            return
        if key in self._pending:
            self.superseded += 1
            # Re-insert so the dict order reflects the latest change (fair to other keys).
            del self._pending[key]
        self._pending[key] = value
        self._ready.set()

    def __len__(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """No more values; readers drain what is left, then get MailboxClosed."""
        self._closed = True
        self._ready.set()

    @property
    def closed(self) -> bool:
        return self._closed

    async def take(self) -> dict[K, V]:
        """Wait until something changed, then return the latest value of every changed key."""
        while not self._pending:
            if self._closed:
                raise MailboxClosed()
            self._ready.clear()
            await self._ready.wait()
        batch, self._pending = self._pending, {}
        self.delivered += len(batch)
        return batch

    def __aiter__(self) -> LatestByKey[K, V]:
        return self

    async def __anext__(self) -> dict[K, V]:
        try:
            return await self.take()
        except MailboxClosed:
            raise StopAsyncIteration from None
