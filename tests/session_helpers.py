"""Helpers for tests that run a `perp session` agent (not a test module itself).

The agent is a real background process (forked by `perp session start`), so everything here runs
`perp` as processes. Keys are keystore keys (scrypt kept cheap) unlocked with a passphrase file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
from pathlib import Path

from perpcli.keys.signer import Signer
from tests.support import Result, register_secret, run_perp

CHEAP_SCRYPT = {"PERPCLI_KEYS_SCRYPT_N": "1024"}


def stored_key(home: Path, name: str = "main") -> tuple[str, Path]:
    """A fresh key saved as keystore NAME in home; returns (address, passphrase file)."""
    hexkey = "0x" + secrets.token_hex(32)
    register_secret(hexkey)
    pw = home / "passphrase.txt"
    pw.write_text("correct horse\n")
    os.chmod(pw, 0o600)
    r = run_perp(["--passphrase-file", str(pw), "keys", "import", name], input=hexkey + "\n", env=CHEAP_SCRYPT)
    assert r.code == 0, r.err
    return Signer.from_hex(hexkey).address, pw


def start(passphrase_file: Path, *extra: str, env: dict | None = None) -> dict:
    r = run_perp(["--passphrase-file", str(passphrase_file), "--json", "session", "start", *extra], env=env)
    assert r.code == 0, r.err
    return r.json()


def status() -> dict:
    r = run_perp(["--json", "session", "status"])
    assert r.code == 0, r.err
    return r.json()


def perp(*args: str, env: dict | None = None) -> Result:
    return run_perp(list(args), env=env)


@contextlib.contextmanager
def running(passphrase_file: Path, *extra: str, env: dict | None = None):
    """A session for the block; stopped (or killed) after it."""
    doc = start(passphrase_file, *extra, env=env)
    try:
        yield doc
    finally:
        run_perp(["session", "stop"])
        kill(doc["pid"])


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
