"""Aster's nonces: microseconds, from the one allocator, unique per signer across processes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from perpcli.domain.errors import AuthError
from perpcli.keys.nonces import MicrosecondNonceAllocator, NonceAllocator, wall_clock_us

ADDR = "0x21cf8ae13bb72632562c6fff438652ba1a151bb0"
NOW_US = 1_780_000_000_000_000


def test_same_microsecond_gives_increasing_nonces():
    alloc = MicrosecondNonceAllocator(ADDR, clock_us=lambda: NOW_US)
    assert [alloc.next() for _ in range(3)] == [NOW_US, NOW_US + 1, NOW_US + 2]


def test_default_clock_is_microseconds():
    before = time.time_ns() // 1_000
    got = MicrosecondNonceAllocator(ADDR).next()
    assert before <= got <= wall_clock_us()


def test_microsecond_state_never_mixes_with_the_millisecond_state():
    """One key may sign for Hyperliquid (ms) and Aster (µs): neither state may block the other."""
    us = MicrosecondNonceAllocator(ADDR, clock_us=lambda: NOW_US)
    ms = NonceAllocator(ADDR, clock_ms=lambda: NOW_US // 1000)
    assert us.next() == NOW_US
    assert ms.next() == NOW_US // 1000  # not pushed to last µs + 1
    assert us.next() == NOW_US + 1


def test_a_state_more_than_a_minute_ahead_is_explained():
    MicrosecondNonceAllocator(ADDR, clock_us=lambda: NOW_US + 120_000_000).next()
    with pytest.raises(AuthError) as e:
        MicrosecondNonceAllocator(ADDR, clock_us=lambda: NOW_US).next()
    msg = e.value.message
    assert "120 seconds ahead" in msg and "Aster" in msg and "\n" not in msg
    # within the window it is still used
    MicrosecondNonceAllocator(ADDR, clock_us=lambda: NOW_US + 120_000_000 - 59_000_000).next()


def test_reset_brings_a_far_ahead_microsecond_state_back():
    MicrosecondNonceAllocator(ADDR, clock_us=lambda: NOW_US + 10**9).next()
    alloc = MicrosecondNonceAllocator(ADDR, clock_us=lambda: NOW_US)
    assert alloc.reset() == (NOW_US + 10**9, NOW_US, True)
    assert alloc.next() == NOW_US + 1


CHILD = """
import sys
from perpcli.keys.nonces import MicrosecondNonceAllocator
alloc = MicrosecondNonceAllocator(sys.argv[1], clock_us=lambda: 1_780_000_000_000_000)
sys.stdin.readline()  # start together
print("\\n".join(str(alloc.next()) for _ in range(int(sys.argv[2]))))
"""


def test_many_processes_on_a_frozen_clock_never_collide(perpcli_home):
    """A frozen clock is the worst case: every nonce comes from the shared state alone."""
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, ADDR, "100"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    nonces: list[int] = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        seq = [int(x) for x in out.split()]
        assert seq == sorted(seq)
        nonces.extend(seq)
    assert sorted(nonces) == list(range(NOW_US, NOW_US + 600))


def test_reset_nonce_command_also_resets_the_microsecond_state(capsys):
    from tests.support import invoke

    far = wall_clock_us() + 10**12  # ~11 days ahead
    MicrosecondNonceAllocator(ADDR, clock_us=lambda: far).next()
    with pytest.raises(AuthError):
        MicrosecondNonceAllocator(ADDR).next()
    r = invoke(["keys", "reset-nonce", ADDR, "--yes", "--json"], capsys)
    assert r.code == 0, r.err
    import json

    out = json.loads(r.out)
    assert out["microseconds"]["previous_last_nonce"] == far and out["microseconds"]["reset"] is True
    assert out["reset"] is False  # the millisecond state was fine and is left alone
    assert MicrosecondNonceAllocator(ADDR).next() < far
