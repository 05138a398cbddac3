"""`PERPCLI_TEST_VIA_SESSION=1`: the in-process CLI tests run their commands through a session agent.

With the variable set, `tests.cli_devnet.run` (and so the `perp` fixture) hands every command the
thin client would hand over to a real `perpcli.session.server.Agent`, forked from the test process
for the test's PERPCLI_HOME and holding the test's keys, exactly as `perp session start` holds an
unlocked keystore key; the test then sees what the thin client prints. Everything else runs
in-process as without a session. The same test module, run both ways (`make test` does it for a
representative set), so checks that the output and exit codes are the same with and without one.

How a test's raw key (`key=`, PERPCLI_PRIVATE_KEY without a session) reaches the agent: a session
holds keystore keys, so the key is a keystore named after its address, held by the agent, named
by PERPCLI_DEFAULT_ACCOUNT for that one command, and its file is in the home only during that
command (so a later command without `key=` finds no stored key, as it would without a session).
A command given `key=` must be answered by the agent (a decline fails the test), unless it names
another key with --account; without `key=`, a command needing a keystore the test stored itself
(which the agent does not hold) is declined and runs in-process, as a session client would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

from perpcli.keys.signer import Signer

ENABLED = os.environ.get("PERPCLI_TEST_VIA_SESSION") == "1"
PASSPHRASE = "via session"

_agents: dict[str, tuple[int, frozenset[str]]] = {}  # PERPCLI_HOME -> (agent pid, hex keys it holds)
_keys: dict[str, dict[str, str]] = {}  # PERPCLI_HOME -> {hex key: key name}
_docs: dict[str, dict] = {}  # hex key -> its keystore document


def delegate(argv: list[str], key: str | None) -> int | None:
    """The exit code when the command went through the home's agent (its output already written
    to sys.stdout/sys.stderr), else None: the caller runs it in-process."""
    from perpcli.session import client

    if client.command_path(argv) is None:
        return None
    if key is None and os.environ.get("PERPCLI_PRIVATE_KEY"):
        return None  # a raw key named in the environment: the client runs the command itself
    home = os.environ["PERPCLI_HOME"]
    known = _keys.setdefault(home, {})
    name = None
    if key is not None:
        name = known.setdefault(key, "via" + Signer.from_hex(key).address[2:12])
    _ensure_agent(home, known)
    saved = {v: os.environ.get(v) for v in ("PERPCLI_PRIVATE_KEY", "PERPCLI_DEFAULT_ACCOUNT")}
    os.environ.pop("PERPCLI_PRIVATE_KEY", None)
    if name is not None:
        os.environ["PERPCLI_DEFAULT_ACCOUNT"] = name
    placed = _place_keystore(key, name) if name is not None else None
    try:
        code = client.try_delegate(argv)
    finally:
        if placed is not None:
            placed.unlink(missing_ok=True)
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    if code is None and key is not None and not any(a.split("=", 1)[0] == "--account" for a in argv):
        # Only a command that may need a key the agent does not hold (one the test stored itself,
        # an agent key named with --account) may be declined: the client then runs it itself.
        raise AssertionError(f"the session agent declined `perp {' '.join(argv)}`: it runs every such command")
    return code


def _place_keystore(key: str, name: str):
    from perpcli.keys import keystore, store

    doc = _docs.get(key)
    if doc is None:
        signer = Signer.from_hex(key)
        doc = _docs[key] = keystore.encrypt(bytes.fromhex(key.removeprefix("0x")), PASSPHRASE,
                                            address=signer.address, scrypt_n=2)
    return store.write(name, doc, overwrite=True)


def _ensure_agent(home: str, known: dict[str, str]) -> None:
    """An agent for home holding every key its tests named so far (a new key: a new agent)."""
    held = frozenset(known)
    running = _agents.get(home)
    if running is not None and running[1] == held:
        return
    if running is not None:
        _kill(running[0])
    signers = [Signer(bytes.fromhex(k.removeprefix("0x")), name=n) for k, n in known.items()]
    _agents[home] = (_fork_agent(signers), held)


def _fork_agent(signers: list[Signer]) -> int:
    """The real Agent in a child of this process (its modules already imported), serving the
    socket of this PERPCLI_HOME; no streams, no algos, no warm-up: the commands are the point."""
    from perpcli.session import protocol
    from perpcli.session.server import Agent, AgentState, bind_socket

    listener = bind_socket()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        listener.close()
        _wait_for(protocol.socket_path())
        return pid
    code = 0
    try:
        # The parent's objects stay as they are (never collected here), and its descriptors are
        # closed: a connection the devnet (a thread of the parent) drops must not live on in
        # this copy, or its client would never see the drop.
        import gc

        gc.freeze()
        keep = listener.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, 65536)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        for var in protocol.SECRET_ENV:
            os.environ.pop(var, None)
        now = time.time()
        agent = Agent(listener, AgentState(started_at=now, expires_at=now + 3600, idle_lock_s=0, venues=[]))
        for signer in signers:
            agent.hold(signer)
        from perpcli.keys import sources

        sources.serve_held_only()  # as an agent whose keys are locked: it never asks for a passphrase
        from perpcli.app import session as app_session

        app_session.share_markets(True)
        agent.serve_forever()
    except BaseException:  # noqa: BLE001 - the child must never return into pytest
        code = 1
    finally:
        os._exit(code)


def _wait_for(path: str) -> None:
    from perpcli.session import client

    deadline = time.monotonic() + 10
    while client.call("status") is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no session agent answered on {path}")
        time.sleep(0.01)


def stop(home: str) -> None:
    """End the agent of home (after its test)."""
    _keys.pop(home, None)
    running = _agents.pop(home, None)
    if running is not None:
        _kill(running[0])


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
