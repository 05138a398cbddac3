"""anvil, Foundry's local EVM node, as the devnet runs it: found, started on a loopback port,
stopped.

`make install` / `make demo` put the binary (from the npm package @foundry-rs/anvil-linux-amd64)
under the repository's .tools/anvil; $PERPCLI_ANVIL or an anvil on PATH work too. Without one,
the devnet says in one line what to install and serves everything else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

NPM_PACKAGE = "@foundry-rs/anvil-linux-amd64@1.7.1"
_REPO = Path(__file__).resolve().parents[3]
_BIN = Path("node_modules") / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
LOCAL_BINARIES = (_REPO / ".tools" / "anvil" / _BIN, _REPO / ".tools" / _BIN)
INSTALL_HINT = (f"anvil not found: run `make install` (or `make demo`) with node/npm present, or "
                f"`npm install --no-save --prefix .tools/anvil {NPM_PACKAGE}`, or put anvil on PATH")


def anvil_binary() -> Path | None:
    configured = os.environ.get("PERPCLI_ANVIL")
    candidates = [Path(configured)] if configured else []
    candidates += list(LOCAL_BINARIES)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which("anvil")
    return Path(found) if found else None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: anvil gets SIGTERM when the thread that started it dies, so a devnet killed with
    SIGKILL (or a crashed test run) leaves no node behind. Elsewhere a no-op."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class AnvilError(RuntimeError):
    pass


class AnvilProcess:
    """One anvil child process on a loopback port (ours, stopped by `stop()`)."""

    def __init__(self, binary: Path, *, chain_id: int, base_fee_wei: int, port: int = 0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.chain_id = chain_id
        self._proc = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(chain_id),
             "--base-fee", str(base_fee_wei), "--accounts", "0", "--silent"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent)
        try:
            self._wait_listening(15.0)
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace")[-300:] if self._proc.stderr else ""
                raise AnvilError(f"anvil exited at start: {err.strip() or 'no message'}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            if time.monotonic() > deadline:
                raise AnvilError(f"anvil did not listen on port {self.port} within {timeout_s:.0f} s")
            time.sleep(0.02)

    def alive(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stderr:
            self._proc.stderr.close()
