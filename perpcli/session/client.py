"""The thin client: when a session agent is running, hand the command line to it.

The entry point calls `try_delegate` before anything else is imported. It costs one stat when no
agent runs (None: the normal path runs the command). With an agent, the command runs there and
this process only prints what the agent captured and exits with its code, so what a user or a
script sees is the same as without a session.

Imports: os, sys, socket, json and struct only (no Typer, no venue code, no perpcli package
beyond perpcli.session.protocol); tests/test_import_hygiene.py holds that.
"""

from __future__ import annotations

import os
import socket
import sys

from perpcli.session import protocol

# Commands the agent runs (cli/fast.py's set); anything else never touches the socket.
DELEGABLE = frozenset(("buy", "sell", "positions", "account", "orders"))
ORDER_COMMANDS = frozenset(("buy", "sell"))
CONNECT_TIMEOUT_S = 2.0


def try_delegate(argv: list[str]) -> int | None:
    """The command's exit code when a session ran it, else None (run it here, as without one)."""
    if not DELEGABLE.intersection(argv) or protocol.SECRET_ENV[0] in os.environ:
        return None  # not a session command, or the user named a raw key for this command
    path = protocol.socket_path()
    if not os.path.exists(path):
        return None
    sock = _connect(path)
    if sock is None:
        return None
    with sock:
        request = {"v": protocol.VERSION, "op": "run", "argv": list(argv), "cwd": os.getcwd(),
                   "env": protocol.forwarded_env(os.environ), "tty": _ttys()}
        try:
            sock.sendall(protocol.encode(request))
            sock.shutdown(socket.SHUT_WR)
            reply = protocol.decode(protocol.read_all(sock))
        except KeyboardInterrupt:
            return _interrupted(argv)
        except (OSError, ValueError):
            return _lost(argv)
    if not reply.get("handled"):
        return None  # the agent declined before sending anything (e.g. a key it does not hold)
    sys.stdout.write(reply.get("out", ""))
    sys.stderr.write(reply.get("err", ""))
    return int(reply["code"])


def _connect(path: str) -> socket.socket | None:
    """A connection to a live agent of this user, or None (no agent, a stale socket, another owner)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.connect(path)
        if not protocol.peer_allowed(protocol.peer_uid(sock), os.getuid()):
            sock.close()
            return None  # never hand a command line to someone else's process
        sock.settimeout(None)  # an order may take as long as the venue does
        return sock
    except OSError:
        sock.close()
        return None


def _ttys() -> dict[str, bool]:
    flags = {}
    for name in ("stdin", "stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            flags[name] = bool(stream is not None and stream.isatty())
        except (ValueError, AttributeError):
            flags[name] = False
    if flags["stdout"] and "COLUMNS" not in os.environ:
        try:  # the agent has no terminal: tell it this one's width, as rich would measure it
            flags["columns"] = os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            pass
    return flags


def _lost(argv: list[str]) -> int | None:
    """The agent went away without answering. A read is simply run here; an order may have been
    sent, so it is never sent again: the outcome is unknown (exit 6), as for a lost connection."""
    if not ORDER_COMMANDS.intersection(argv):
        return None
    from perpcli.cli.failures import fail

    return fail("the session agent ended before answering: the order may have been sent; "
                "check `perp orders` and `perp fills` before retrying", 6, json_out="--json" in argv)


def _interrupted(argv: list[str]) -> int:
    from perpcli.cli.failures import fail

    note = " (the session finishes an order it already started: check `perp orders`)" \
        if ORDER_COMMANDS.intersection(argv) else ""
    return fail("interrupted" + note, 130, json_out="--json" in argv)


def call(op: str) -> dict | None:
    """A control request (status, lock, stop) to this user's agent; None when none is running."""
    return request({"op": op})


def request(doc: dict, *, timeout_s: float = CONNECT_TIMEOUT_S * 5) -> dict | None:
    """One control document (an op and its fields) to this user's agent; its answer, or None
    when no agent runs (or it went away without answering)."""
    path = protocol.socket_path()
    if not os.path.exists(path):
        return None
    sock = _connect(path)
    if sock is None:
        return None
    with sock:
        try:
            sock.settimeout(timeout_s)
            sock.sendall(protocol.encode({**doc, "v": protocol.VERSION}))
            sock.shutdown(socket.SHUT_WR)
            reply = protocol.decode(protocol.read_all(sock))
        except (OSError, ValueError):
            return None
    reply.pop("v", None)
    return reply
