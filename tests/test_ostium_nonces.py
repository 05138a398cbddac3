"""EVM nonce allocation shared through files: never the same nonce twice before a broadcast,
never a permanent gap after a process died holding one."""

from __future__ import annotations

import json
import subprocess
import sys

from perpcli.venues.ostium.nonces import EvmNonceAllocator
from tests.support import REPO

ADDR = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allocations_before_any_broadcast_do_not_collide(tmp_path):
    a = EvmNonceAllocator(42161, ADDR, directory=tmp_path)
    b = EvmNonceAllocator(42161, ADDR, directory=tmp_path)  # a second process, same files
    assert [a.allocate(lambda: 5), b.allocate(lambda: 5), a.allocate(lambda: 5)] == [5, 6, 7]


def test_the_node_count_wins_when_it_is_ahead(tmp_path):
    a = EvmNonceAllocator(42161, ADDR, directory=tmp_path)
    assert a.allocate(lambda: 3) == 3
    assert a.allocate(lambda: 9) == 9  # sent from another wallet meanwhile


def test_chains_and_addresses_are_separate(tmp_path):
    assert EvmNonceAllocator(42161, ADDR, directory=tmp_path).allocate(lambda: 0) == 0
    assert EvmNonceAllocator(421614, ADDR, directory=tmp_path).allocate(lambda: 0) == 0
    assert EvmNonceAllocator(42161, "0x" + "11" * 20, directory=tmp_path).allocate(lambda: 0) == 0


def test_a_stale_unbroadcast_record_does_not_leave_a_gap_forever(tmp_path):
    clock = Clock()
    a = EvmNonceAllocator(42161, ADDR, directory=tmp_path, clock=clock, stale_after_s=120)
    assert a.allocate(lambda: 4) == 4  # this process then died before broadcasting
    clock.now += 60
    assert a.allocate(lambda: 4) == 5  # within the window: maybe still in flight, stay ahead
    clock.now += 121
    assert a.allocate(lambda: 4) == 4  # nothing reached the node for two minutes: fill the gap


def test_release_gives_back_only_the_last_nonce(tmp_path):
    a = EvmNonceAllocator(42161, ADDR, directory=tmp_path)
    first, second = a.allocate(lambda: 0), a.allocate(lambda: 0)
    assert not a.release(first)  # another nonce was handed out after it: keep the sequence
    assert a.release(second) and a.allocate(lambda: 0) == second


def test_a_corrupt_state_file_falls_back_to_the_node(tmp_path):
    a = EvmNonceAllocator(42161, ADDR, directory=tmp_path)
    a.allocate(lambda: 0)
    (tmp_path / f"42161-{ADDR}.json").write_text("garbage")
    assert a.allocate(lambda: 7) == 7


RACE = """
import json, sys, time
from pathlib import Path
from perpcli.venues.ostium.nonces import EvmNonceAllocator
a = EvmNonceAllocator(42161, sys.argv[1], directory=Path(sys.argv[2]))
print(json.dumps([a.allocate(lambda: 0) for _ in range(50)]))
"""


def test_processes_racing_on_one_key_get_distinct_nonces(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", RACE, ADDR, str(tmp_path)], cwd=str(REPO),
                              stdout=subprocess.PIPE, text=True) for _ in range(3)]
    got = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        got.extend(json.loads(out))
    assert sorted(got) == list(range(150))
