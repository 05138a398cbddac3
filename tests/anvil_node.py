"""A real local EVM node (anvil, from npm) for the Ostium chain-side tests.

`make install` puts the binary under .tools/anvil when node/npm are present; anvil on PATH
works too (perpcli.devnet.ostium.anvil finds it, for the devnet and these tests alike).
Without it the tests that need it skip with one line saying what to install.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perpcli.devnet.ostium.anvil import INSTALL_HINT, anvil_binary

SKIP_REASON = INSTALL_HINT

# anvil's (and hardhat's) first dev account: public, funded with 10000 ETH on every anvil.
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
DEV_KEY_2 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def require_anvil() -> Path:
    binary = anvil_binary()
    if binary is None:
        pytest.skip(SKIP_REASON)
    return binary


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_anvil(*, chain_id: int = 31337, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """An anvil on a free loopback port; yields its URL and stops it afterwards."""
    binary = require_anvil()
    port = _free_port()
    proc = subprocess.Popen([str(binary), "--port", str(port), "--host", "127.0.0.1", "--chain-id", str(chain_id),
                             "--silent", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"anvil exited: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("anvil did not start within 15 s")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
