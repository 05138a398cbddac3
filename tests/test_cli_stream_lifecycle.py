"""`perp stream` from start to Ctrl-C (issue 13, item 9): the first status says `connecting`
(nothing has failed, so not `reconnecting`), and an interrupt ends with `down`/`closed` lines
and exit 130 — never a `stale … connection lost` line, which a script would read as an outage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from perpcli.devnet.server import start_in_thread
from tests.cli_devnet import wait_for_books
from tests.support import REPO

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=13, market_interval=0.2)
    wait_for_books(h.url)
    yield h
    h.stop()


def _read_until(p: subprocess.Popen, predicate, timeout: float = 20.0) -> list[dict]:
    lines: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = p.stdout.readline()
        if not raw:
            break
        lines.append(json.loads(raw))
        if predicate(lines[-1]):
            return lines
    raise AssertionError(f"never saw the line waited for; got {lines}")


@pytest.mark.parametrize("kind", ["book", "trades"])
def test_stream_starts_connecting_and_ctrl_c_reports_closed_not_lost(devnet, kind):
    p = subprocess.Popen(
        [sys.executable, "-m", "perpcli", "--url", devnet.url, "--network", "testnet", "stream", kind, "btc"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO), env=dict(os.environ), text=True,
    )
    try:
        head = _read_until(p, lambda d: d["event"] in ("book", "trade"))
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    tail = [json.loads(line) for line in out.splitlines() if line.strip()]
    statuses = [d for d in head if d["event"] == "status"]
    assert statuses[0]["state"] == "connecting", statuses
    assert all(d["state"] != "reconnecting" for d in statuses), statuses
    assert all(d["market"] == "BTC" for d in head if d["event"] in ("book", "trade"))  # `btc` names BTC
    assert p.returncode == 130, err
    ending = [d for d in tail if d["event"] == "status"]
    assert ending and ending[-1]["state"] == "down", "the interrupt reports that the streams closed"
    assert not [d for d in ending if d["state"] in ("stale", "reconnecting")], ending
    assert all(d["detail"] == "closed" for d in ending if d["state"] == "down"), ending
    assert "connection lost" not in out + err and "stale" not in out + err
