"""Test helpers: run `perp` in-process or as a process, and the secret-leak transcript.

Every CLI output the suite sees is appended to a transcript file (also the output read through
capsys/capfd and of perp subprocesses, via hooks in conftest.py); the last test of the session
(test_zz_secret_leak.py) checks that no private key used by any test appears in it, in any
log file under a test's PERPCLI_HOME, or in any exception text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO / "tests" / "vectors"  # copies of the venues' published vectors (data only)

# Keys the tests use; generated keys are registered at run time with register_secret().
SDK_TEST_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
ALICE_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

TRANSCRIPT = Path(os.environ.get("PERPCLI_TEST_TRANSCRIPT", "/tmp/perpcli-test-transcript.log"))
SECRETS_FILE = TRANSCRIPT.with_suffix(".secrets")


def record(label: str, *texts: object) -> None:
    """Append outputs to the transcript (cheap; the file lives for the session)."""
    parts = []
    for t in texts:
        if t is None:
            continue
        if isinstance(t, bytes):
            t = t.decode("utf-8", "replace")
        parts.append(str(t))
    if not parts:
        return
    TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
    with open(TRANSCRIPT, "a", encoding="utf-8") as f:
        f.write(f"=== {label}\n")
        f.write("\n".join(parts))
        f.write("\n")


_registered: set[str] = set()


def register_secret(hex_key: str) -> None:
    """Remember a private key the suite used, so the final leak check looks for it."""
    key = hex_key.strip().lower().removeprefix("0x")
    if len(key) != 64 or key in _registered:
        return
    _registered.add(key)
    SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(SECRETS_FILE, "a") as f:
        f.write(key + "\n")


def known_secrets() -> set[str]:
    """Every private key any test uses: the vectors' keys, ours, and those registered at run time."""
    found: set[str] = {SDK_TEST_KEY[2:], ALICE_KEY[2:]}
    for path in VECTORS.glob("*.json"):
        text = path.read_text()
        for m in re.finditer(r'"[A-Za-z_]*(?:private_?key|priv|secret)[A-Za-z_]*"\s*:\s*"(?:0x)?([0-9a-fA-F]{64})"', text):
            found.add(m.group(1).lower())
    if SECRETS_FILE.exists():
        found.update(line.strip() for line in SECRETS_FILE.read_text().splitlines() if line.strip())
    return found


def find_leaks(text: str, secrets: set[str]) -> list[str]:
    """Secrets present in `text` in any case, with or without 0x (returned truncated)."""
    low = text.lower()
    return [s[:8] + "…" for s in secrets if s in low]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_perp(args: list[str], *, input: str | None = None, env: dict[str, str] | None = None,
             timeout: float = 60) -> Result:
    """Run `python -m perpcli ARGS` as a real process (stdin not a terminal)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run([sys.executable, "-m", "perpcli", *args], input=input, capture_output=True,
                       text=True, env=full_env, timeout=timeout, cwd=str(REPO))
    record("perp " + " ".join(args), p.stdout, p.stderr)
    return Result(p.returncode, p.stdout, p.stderr)


def invoke(args: list[str], capsys, *, monkeypatch=None, stdin: str | None = None) -> Result:
    """Run the CLI in-process (fast) and capture its output; resets per-process CLI state."""
    import io

    from perpcli.cli import context, main
    from perpcli.config import settings
    from perpcli.keys import sources

    context.set_current(context.GlobalOptions())
    settings.configure()
    sources.configure()
    if stdin is not None:
        assert monkeypatch is not None, "stdin needs monkeypatch"
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main.main(args)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
