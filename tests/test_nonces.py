"""The nonce allocator: strictly increasing, never behind the clock, unique across processes."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from perpcli.keys.nonces import NonceAllocator

ADDR = "0x14791697260e4c9a71f18484c9f997b308e59325"


def test_same_millisecond_gives_increasing_nonces():
    alloc = NonceAllocator(ADDR, clock_ms=lambda: 1_000)
    assert [alloc.next() for _ in range(3)] == [1_000, 1_001, 1_002]


def test_never_behind_the_clock_and_never_backwards_when_clock_jumps_back():
    now = [5_000]
    alloc = NonceAllocator(ADDR, clock_ms=lambda: now[0])
    assert alloc.next() == 5_000
    now[0] = 9_000
    assert alloc.next() == 9_000
    now[0] = 2_000  # clock stepped back: still strictly increasing
    assert alloc.next() == 9_001


def test_state_is_shared_between_allocators_of_one_address_but_not_others():
    a1 = NonceAllocator(ADDR, clock_ms=lambda: 10)
    a2 = NonceAllocator(ADDR.upper().replace("0X", "0x"), clock_ms=lambda: 10)
    other = NonceAllocator("0x" + "11" * 20, clock_ms=lambda: 10)
    assert a1.next() == 10
    assert a2.next() == 11
    assert other.next() == 10
    assert a1.last() == 11


def test_reserve_gives_consecutive_block():
    alloc = NonceAllocator(ADDR, clock_ms=lambda: 100)
    assert alloc.reserve(3) == [100, 101, 102]
    assert alloc.next() == 103


def test_rejects_non_address():
    with pytest.raises(ValueError):
        NonceAllocator("trading")


def test_threads_never_collide():
    alloc = NonceAllocator(ADDR, clock_ms=lambda: 7)
    got: list[int] = []
    lock = threading.Lock()

    def work():
        mine = [alloc.next() for _ in range(200)]
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len(set(got)) == 1600


CHILD = """
import sys
from perpcli.keys.nonces import NonceAllocator
alloc = NonceAllocator(sys.argv[1])
sys.stdin.readline()  # start together
print("\\n".join(str(alloc.next()) for _ in range(int(sys.argv[2]))))
"""


def test_many_processes_at_once_never_collide(perpcli_home):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, ADDR, "150"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(10)
    ]
    for p in procs:  # release them all at once
        p.stdin.write("go\n")
        p.stdin.flush()
    nonces: list[int] = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        seq = [int(x) for x in out.split()]
        assert seq == sorted(seq) and len(set(seq)) == len(seq)  # increasing within a process
        nonces.extend(seq)
    assert len(nonces) == 1500
    assert len(set(nonces)) == 1500
