"""The nonce allocator: strictly increasing, never behind the clock, unique across processes."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from perpcli.cli.exit_codes import ExitCode
from perpcli.domain.errors import AuthError
from perpcli.keys.nonces import NonceAllocator, wall_clock_ms

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


# --- a state far ahead of the clock, or garbage: explained, and fixable with reset-nonce ----------

DAY_MS = 86_400_000
NOW = 1_780_000_000_000  # 2026-05-28


def _state(perpcli_home, address=ADDR):
    return perpcli_home / "state" / "nonces" / f"{address}.last"


def test_a_state_far_ahead_of_the_clock_is_explained(perpcli_home):
    ahead = NonceAllocator(ADDR, clock_ms=lambda: NOW + 30 * DAY_MS)
    ahead.next()  # the clock jumped a month ahead once
    back = NonceAllocator(ADDR, clock_ms=lambda: NOW)
    with pytest.raises(AuthError) as e:
        back.next()
    msg = e.value.message
    assert "30.0 days ahead" in msg and "1 day ahead" in msg and f"perp keys reset-nonce {ADDR}" in msg
    assert e.value.exit_code == 4 and "\n" not in msg


def test_a_state_less_than_a_day_ahead_is_still_used(perpcli_home):
    NonceAllocator(ADDR, clock_ms=lambda: NOW + DAY_MS - 1).next()
    assert NonceAllocator(ADDR, clock_ms=lambda: NOW).next() == NOW + DAY_MS


@pytest.mark.parametrize("garbage", [b"garbage", b"12ab", b"\xff\xfe", b"-5", "\u0661\u0662".encode(),
                                     b"9" * 40])
def test_a_garbage_state_is_one_clear_error(perpcli_home, garbage):
    path = _state(perpcli_home)
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    with pytest.raises(AuthError) as e:
        NonceAllocator(ADDR, clock_ms=lambda: NOW).next()
    assert str(path) in e.value.message and "reset-nonce" in e.value.message


def test_reset_sets_a_far_ahead_state_back_to_the_clock_and_leaves_a_sane_one(perpcli_home):
    NonceAllocator(ADDR, clock_ms=lambda: NOW + 400 * DAY_MS).next()
    alloc = NonceAllocator(ADDR, clock_ms=lambda: NOW)
    assert alloc.reset() == (NOW + 400 * DAY_MS, NOW, True)
    assert alloc.next() == NOW + 1
    assert alloc.reset() == (NOW + 1, NOW + 1, False)  # not ahead: nothing to do
    _state(perpcli_home).write_bytes(b"junk")
    assert alloc.reset() == (None, NOW, True)


def _far_ahead_key(capsys, monkeypatch, perpcli_home):
    from perpcli.keys.signer import Signer
    from tests.support import ALICE_KEY, invoke

    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    monkeypatch.setenv("PERPCLI_KEYS_SCRYPT_N", "1024")
    assert invoke(["keys", "import", "alice"], capsys, monkeypatch=monkeypatch, stdin=ALICE_KEY + "\n").code == 0
    address = Signer.from_hex(ALICE_KEY).address
    path = _state(perpcli_home, address)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(wall_clock_ms() + 365 * DAY_MS))
    return address, path


def test_signing_with_a_far_ahead_state_says_why_and_reset_nonce_fixes_it(capsys, monkeypatch, perpcli_home):
    from tests.support import invoke

    address, path = _far_ahead_key(capsys, monkeypatch, perpcli_home)
    action = perpcli_home / "action.json"
    action.write_text('{"type": "scheduleCancel"}')
    r = invoke(["sign", str(action), "--testnet", "--account", "alice"], capsys)
    assert r.code == ExitCode.AUTH and r.err.count("\n") == 1
    assert "days ahead" in r.err and "reset-nonce" in r.err

    r = invoke(["keys", "reset-nonce", "alice"], capsys)  # off a terminal: needs --yes
    assert r.code == ExitCode.USAGE and "--yes" in r.err
    before = wall_clock_ms()
    r = invoke(["keys", "reset-nonce", "alice", "--yes", "--json"], capsys)
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["address"] == address and doc["reset"] is True and before <= doc["last_nonce"] <= wall_clock_ms()
    r = invoke(["sign", str(action), "--testnet", "--account", "alice", "--json"], capsys)
    assert r.code == 0, r.err
    assert before < r.json()["nonce"] <= wall_clock_ms() + 1
    r = invoke(["keys", "reset-nonce", address, "--yes"], capsys)
    assert r.code == 0 and "nothing to reset" in r.err


def test_reset_nonce_takes_the_allocator_lock(perpcli_home):
    """A reset waits for a process that holds the signer's lock, as reserve() does."""
    import fcntl
    import os

    NonceAllocator(ADDR, clock_ms=lambda: NOW + 9 * DAY_MS).next()
    lock = perpcli_home / "state" / "nonces" / f"{ADDR}.lock"
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    done = threading.Event()
    t = threading.Thread(target=lambda: (NonceAllocator(ADDR, clock_ms=lambda: NOW).reset(), done.set()))
    t.start()
    try:
        assert not done.wait(0.3)
    finally:
        os.close(fd)
    assert done.wait(5)
    t.join()
    assert NonceAllocator(ADDR, clock_ms=lambda: NOW).last() == NOW
