"""Helpers for CLI tests against an in-process devnet (not a test module itself)."""

from __future__ import annotations

import io
import json
import secrets
import sys
import urllib.request
from contextlib import redirect_stderr, redirect_stdout

from perpcli.cli.main import main
from perpcli.keys.signer import Signer
from tests.support import Result, record, register_secret


def control(url: str, command: str, body: dict) -> dict:
    req = urllib.request.Request(f"{url}/devnet/{command}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def info(url: str, body: dict):
    req = urllib.request.Request(f"{url}/info", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def wait_for_books(url: str, coins=("BTC", "ETH"), timeout: float = 15.0) -> None:
    """Block until the synthetic market has quoted every coin (a fresh devnet starts empty)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        books = [info(url, {"type": "l2Book", "coin": c}) for c in coins]
        if all(len(b["levels"][0]) >= 5 and len(b["levels"][1]) >= 5 for b in books):
            return
        time.sleep(0.1)
    raise TimeoutError(f"devnet books for {coins} not ready after {timeout}s")


def new_key(url: str, fund: str | None = "10000") -> tuple[str, str]:
    """A fresh (private key hex, address), funded on the devnet unless fund is None."""
    hexkey = "0x" + secrets.token_hex(32)
    register_secret(hexkey)
    addr = Signer.from_hex(hexkey).address
    if fund is not None:
        control(url, "fund", {"user": addr, "amount": fund})
    return hexkey, addr


def run(url: str, *args: str, key: str | None = None, stdin: str | None = None, monkeypatch=None) -> Result:
    """Run `perp --url URL --network testnet ARGS` in-process and capture stdout/stderr (with
    PERPCLI_TEST_VIA_SESSION=1, through a session agent when a session would run it: tests/via_session.py)."""
    from tests import via_session

    if monkeypatch is not None:
        if key is None:
            monkeypatch.delenv("PERPCLI_PRIVATE_KEY", raising=False)
        else:
            monkeypatch.setenv("PERPCLI_PRIVATE_KEY", key)
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            argv = ["--url", url, "--network", "testnet", *args]
            code = via_session.delegate(argv, key) if via_session.ENABLED else None
            if code is None:
                code = main(argv)
    finally:
        sys.stdin = old_stdin
    record("perp " + " ".join(args), out.getvalue(), err.getvalue())
    return Result(code, out.getvalue(), err.getvalue())


def devnet_fixture(seed: int, *, coins=("BTC", "ETH"), market_interval: float = 0.2, **options):
    """A module-scoped `devnet` fixture: a devnet on a free loopback port, its books ready.
    Test modules write `devnet = devnet_fixture(seed=7)`; the `perp` fixture (conftest.py) runs
    the CLI in-process against it."""
    import pytest

    from perpcli.devnet.server import start_in_thread

    @pytest.fixture(scope="module")
    def devnet():
        h = start_in_thread(port=0, seed=seed, market_interval=market_interval, **options)
        wait_for_books(h.url, coins=coins)
        yield h
        h.stop()

    return devnet
