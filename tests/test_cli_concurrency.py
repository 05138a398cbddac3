"""20 `perp buy` processes started at the same moment with one key: none rejected for nonce."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from perpcli.devnet.server import start_in_thread
from tests.cli_devnet import new_key, wait_for_books


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=3, market_interval=0.2)
    wait_for_books(h.url)
    yield h
    h.stop()


GO = """
import sys
from perpcli.cli.main import main
sys.stdin.readline()  # wait for the starting gun
raise SystemExit(main(sys.argv[1:]))
"""


def test_twenty_processes_one_key_all_accepted(devnet, perpcli_home):
    key, addr = new_key(devnet.url)
    env = dict(os.environ, PERPCLI_PRIVATE_KEY=key, PERPCLI_HOME=str(perpcli_home))
    args = ["--url", devnet.url, "--network", "testnet", "--json", "buy", "ETH", "0.01", "--limit", "-2%", "--yes"]
    procs = [subprocess.Popen([sys.executable, "-c", GO, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(20)]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert all(r["status"] == "resting" for r in results)
    assert len({r["oid"] for r in results}) == 20
    orders = devnet.call(lambda: len([o for o in devnet.devnet.engine.open_orders(addr)]))
    assert orders == 20
