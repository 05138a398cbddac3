"""Helpers for tests that run a `perp session` agent (not a test module itself).

The agent is a real background process (forked by `perp session start`), so everything here runs
`perp` as processes. Keys are keystore keys (scrypt kept cheap) unlocked with a passphrase file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import threading
from pathlib import Path

from perpcli.keys.signer import Signer
from tests.support import Result, register_secret, run_perp

CHEAP_SCRYPT = {"PERPCLI_KEYS_SCRYPT_N": "1024"}


def stored_key(home: Path, name: str = "main", hexkey: str | None = None) -> tuple[str, Path]:
    """A fresh key (or `hexkey`) saved as keystore NAME in home; returns (address, passphrase file)."""
    hexkey = hexkey or "0x" + secrets.token_hex(32)
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


@contextlib.contextmanager
def agent_and_session(passphrase_file: Path, open_session):
    """A session agent on the devnet for the block, and the venue Session a watch opens beside
    it (`open_session()`), closed before the agent stops."""
    with running(passphrase_file, "--venues", "devnet") as doc:
        session = open_session()
        try:
            yield doc, session
        finally:
            session.close()


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def talk_as(uid: int, path: str, payload: bytes, *, until_closed: bool) -> bytes:
    """What the agent at `path` answers `payload` sent by a process running as `uid` (forked
    here: only stdlib socket calls run in the child), as b"ok:" + the answer or b"error:NAME".
    `until_closed`: a request, sent then half-closed, read until the agent hangs up; else one
    read (a feed hello, whose connection stays open once accepted)."""
    import socket

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become uid, ask, report through the pipe, and leave at once
        code = 0
        try:
            os.close(read_end)
            if uid != os.getuid():
                os.setgid(uid)
                os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(path)
            s.sendall(payload)
            if until_closed:
                s.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            else:
                data = s.recv(65536)
            os.write(write_end, b"ok:" + data)
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            os.write(write_end, f"error:{type(e).__name__}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks)


def fake_agent(*, answer: bool) -> threading.Thread:
    """An agent socket at this user's path that reads one request and then closes unanswered
    (an agent that died mid-call) or answers ok with no result."""
    from perpcli.session import protocol

    path = protocol.socket_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            protocol.read_all(conn)
            if answer:
                conn.sendall(protocol.encode({"v": protocol.VERSION, "ok": True, "result": None}))
        listener.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t
