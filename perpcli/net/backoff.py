"""Capped, jittered exponential backoff and retry classification.

WHY jitter: when a venue drops every client at once (an upgrade, a load-balancer flip), clients
that all wait exactly 1 s, 2 s, 4 s reconnect in synchronized waves and get rate-limited
together (Hyperliquid allows 30 new connections per minute per IP). "Full jitter" (a uniform
draw between a floor and the exponential ceiling) spreads them out.

WHY a cap: a terminal must come back within seconds of the venue returning, not minutes later.

Randomness is an argument (`rng`, anything with `.random() -> [0, 1)`), so tests pin it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from perpcli.domain.errors import PerpError, RateLimited


class UnitRandom(Protocol):
    def random(self) -> float: ...


@dataclass
class Backoff:
    """Delays for successive retry attempts: attempt n waits in [floor_n, min(cap, base * factor**n)].

    `jitter` is the fraction of the ceiling that is randomized: 1.0 = full jitter (uniform in
    [0, ceiling]), 0.0 = no jitter (exactly the ceiling). `min_delay` keeps even a lucky draw
    from hammering the venue in a tight loop.
    """

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 1.0
    min_delay: float = 0.0
    rng: UnitRandom = field(default_factory=random.Random)
    attempt: int = 0

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.cap < self.base:
            raise ValueError("backoff needs base > 0, factor >= 1 and cap >= base")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter is a fraction in [0, 1]")
        if self.min_delay < 0 or self.min_delay > self.cap:
            raise ValueError("min_delay must be in [0, cap]")

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay for `attempt` (0-based), already capped.

        Computed without overflow for large attempt counts: a connection that has been down
        for a day has tried thousands of times and must still get `cap`, not an OverflowError.
        """
        value = self.base
        for _ in range(attempt):
            value *= self.factor
            if value >= self.cap:
                return self.cap
        return min(value, self.cap)

    def delay(self, attempt: int) -> float:
        """The jittered delay for `attempt`; pure apart from one draw from `rng`."""
        ceiling = self.ceiling(attempt)
        fixed = ceiling * (1.0 - self.jitter)
        value = fixed + (ceiling - fixed) * self.rng.random()
        return max(self.min_delay, value)

    def next_delay(self) -> float:
        """The delay for the next attempt, then count that attempt."""
        value = self.delay(self.attempt)
        self.attempt += 1
        return value

    def reset(self) -> None:
        """Forget past failures (call after a connection proved healthy)."""
        self.attempt = 0


class RetryDecision(Enum):
    """What a reconnect or request loop should do after an error."""

    RETRY = "retry"  # transient: back off, then try again
    RETRY_SLOWLY = "retry_slowly"  # the venue asked us to slow down (429): back off at the cap
    GIVE_UP = "give_up"  # retrying the same thing cannot help (bad URL, auth refused, a bug)


RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 500, 502, 503, 504})


def classify_http_status(status: int) -> RetryDecision:
    """Retry policy for an HTTP status (also used for a refused websocket upgrade)."""
    if status == 429:
        return RetryDecision.RETRY_SLOWLY
    if status in RETRYABLE_HTTP_STATUSES or 500 <= status <= 599:
        return RetryDecision.RETRY
    return RetryDecision.GIVE_UP


def classify_exception(exc: BaseException) -> RetryDecision:
    """Whether a failed connect/send/receive is worth retrying.

    Cancellation is never classified here: callers must let CancelledError propagate.
    """
    if isinstance(exc, RateLimited):
        return RetryDecision.RETRY_SLOWLY
    if isinstance(exc, PerpError):
        return RetryDecision.RETRY if exc.retryable else RetryDecision.GIVE_UP
    # websockets is the only websocket client we use; its exceptions are classified by type.
    from websockets import exceptions as ws_exc

    if isinstance(exc, ws_exc.InvalidStatus):
        return classify_http_status(exc.response.status_code)
    if isinstance(exc, ws_exc.InvalidURI):
        return RetryDecision.GIVE_UP
    if isinstance(exc, ws_exc.ConnectionClosed | ws_exc.InvalidHandshake):
        # Closed mid-stream, or a garbled handshake (a proxy, a half-deployed server): transient.
        return RetryDecision.RETRY
    if isinstance(exc, OSError | TimeoutError | EOFError):
        # Refused, reset, DNS failure, timeouts: the network, not us.
        return RetryDecision.RETRY
    return RetryDecision.GIVE_UP
