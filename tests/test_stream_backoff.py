"""Backoff bounds, jitter and cap; retry classification."""

from __future__ import annotations

import random

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus, InvalidURI
from websockets.http11 import Response

from perpcli.domain.errors import AuthError, NetworkError, RateLimited, VenueRejected
from perpcli.net.backoff import Backoff, RetryDecision, classify_exception, classify_http_status
from perpcli.net.clock import ManualClock


class FixedDraw:
    """A 'random' source that always returns the same fraction."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_ceiling_grows_exponentially_then_caps():
    b = Backoff(base=0.5, factor=2.0, cap=5.0, jitter=0.0)
    assert [b.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_huge_attempt_counts_still_return_the_cap():
    b = Backoff(base=0.1, factor=3.0, cap=7.0)
    assert b.ceiling(100_000) == 7.0


def test_no_jitter_gives_exact_ceiling():
    b = Backoff(base=1.0, factor=2.0, cap=8.0, jitter=0.0, rng=FixedDraw(0.123))
    assert [b.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_full_jitter_scales_the_draw_over_the_whole_ceiling():
    assert Backoff(base=1.0, cap=8.0, jitter=1.0, rng=FixedDraw(0.25)).delay(3) == 2.0
    assert Backoff(base=1.0, cap=8.0, jitter=1.0, rng=FixedDraw(0.0)).delay(3) == 0.0


def test_partial_jitter_keeps_a_fixed_floor():
    # jitter 0.5: the delay lies in [ceiling/2, ceiling]
    assert Backoff(base=1.0, cap=8.0, jitter=0.5, rng=FixedDraw(0.0)).delay(2) == 2.0
    assert Backoff(base=1.0, cap=8.0, jitter=0.5, rng=FixedDraw(0.5)).delay(2) == 3.0


def test_min_delay_is_a_floor_even_for_a_zero_draw():
    assert Backoff(base=1.0, cap=8.0, min_delay=0.2, rng=FixedDraw(0.0)).delay(0) == 0.2


def test_seeded_delays_are_within_bounds_spread_and_reproducible():
    def run(seed: int) -> list[float]:
        b = Backoff(base=0.1, factor=2.0, cap=3.0, jitter=1.0, rng=random.Random(seed))
        return [b.next_delay() for _ in range(200)]

    delays = run(7)
    assert delays == run(7)
    assert delays != run(8)
    for n, d in enumerate(delays):
        assert 0.0 <= d <= min(3.0, 0.1 * 2**n)
    capped = delays[10:]
    assert max(capped) <= 3.0
    assert len({round(d, 6) for d in capped}) > 150  # really jittered, not a constant


def test_reset_starts_over():
    b = Backoff(base=1.0, cap=8.0, jitter=0.0)
    for _ in range(4):
        b.next_delay()
    b.reset()
    assert b.next_delay() == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [dict(base=0), dict(factor=0.5), dict(base=2, cap=1), dict(jitter=1.5), dict(min_delay=100)],
)
def test_rejects_nonsense_settings(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_http_status_classification():
    assert classify_http_status(429) is RetryDecision.RETRY_SLOWLY
    for status in (408, 500, 502, 503, 504, 599):
        assert classify_http_status(status) is RetryDecision.RETRY
    for status in (400, 401, 403, 404):
        assert classify_http_status(status) is RetryDecision.GIVE_UP


def test_exception_classification():
    assert classify_exception(ConnectionRefusedError()) is RetryDecision.RETRY
    assert classify_exception(TimeoutError()) is RetryDecision.RETRY
    assert classify_exception(ConnectionClosedError(None, None)) is RetryDecision.RETRY
    assert classify_exception(NetworkError("down")) is RetryDecision.RETRY
    assert classify_exception(RateLimited("slow down")) is RetryDecision.RETRY_SLOWLY
    assert classify_exception(AuthError("bad key")) is RetryDecision.GIVE_UP
    assert classify_exception(VenueRejected("no")) is RetryDecision.GIVE_UP
    assert classify_exception(InvalidURI("x", "not a ws url")) is RetryDecision.GIVE_UP
    assert classify_exception(ValueError("bug")) is RetryDecision.GIVE_UP
    refused = InvalidStatus(Response(429, "Too Many Requests", Headers()))
    assert classify_exception(refused) is RetryDecision.RETRY_SLOWLY
    forbidden = InvalidStatus(Response(403, "Forbidden", Headers()))
    assert classify_exception(forbidden) is RetryDecision.GIVE_UP


def test_manual_clock_moves_only_forward():
    clock = ManualClock(now=5.0)
    clock.advance(1.5)
    assert clock.monotonic() == 6.5
    assert clock.epoch() == clock.epoch_offset + 6.5
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(1.0)
