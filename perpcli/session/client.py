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

# Commands the agent runs (the first word after the global options; a group names its
# subcommands): every command that signs with the user's key or reads an account or a venue.
# Everything else — watch, demo, devnet, session, keys, config, completion, sign, stream, algo
# commands (they talk to the agent themselves), `--help` — never touches the socket.
DELEGABLE = frozenset((
    "buy", "sell", "cancel", "modify", "close", "flatten", "scale", "leverage", "margin", "tpsl",
    "deadman", "transfer", "send", "withdraw",
    "positions", "orders", "account", "fills", "funding-history", "portfolio",
    "price", "book", "markets", "funding", "trades", "candles",
))
# Groups whose listed subcommands go through. `agent approve` stays here: it writes a new
# keystore and asks for its passphrase. `twap` is the venue's native TWAP (signed orders);
# `twap --client` is a session algo, which talks to the agent its own way (cli/algo_cmd.py).
DELEGABLE_GROUPS = {"agent": frozenset(("list", "revoke")), "twap": frozenset(("buy", "sell", "cancel", "list"))}
# Commands that send or change something: on a terminal they may ask to confirm, which needs the
# person at it. Without --yes (or --dry-run) the client runs them itself, where the prompt is.
CONFIRMING = frozenset(("buy", "sell", "cancel", "modify", "close", "flatten", "scale", "leverage", "margin",
                        "tpsl", "deadman", "transfer", "send", "withdraw", "portfolio", "agent", "twap"))
# Commands that change nothing at a venue (reads; and anything under --dry-run, which signs but
# sends nothing, or buy/sell --preview): if the agent goes away before answering one, its outcome
# is never unknown, so the client runs it itself. Everything else may have been sent (exit 6).
READ_ONLY = frozenset((
    ("positions",), ("orders",), ("account",), ("fills",), ("funding-history",), ("portfolio",),
    ("price",), ("book",), ("markets",), ("funding",), ("trades",), ("candles",),
    ("agent", "list"), ("twap", "list"),
))
# The global options that take a value (cli/context.py GLOBALS; tests/test_session.py keeps the
# two in step): not imported, since this module must stay import-free.
GLOBAL_VALUE_FLAGS = frozenset(("--venue", "--account", "--address", "--config", "--passphrase-file", "--url",
                                "--rpc-url", "--network", "--vault-address"))
CONNECT_TIMEOUT_S = 2.0


def try_delegate(argv: list[str]) -> int | None:
    """The command's exit code when a session ran it, else None (run it here, as without one)."""
    if command_path(argv) is None or protocol.SECRET_ENV[0] in os.environ:
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


def command_path(argv: list[str]) -> tuple[str, ...] | None:
    """The command (and subcommand, for a group) argv names when the agent may run it, else None.
    Help anywhere, `--`, or a `--flag=value` global keeps it here: Typer's own path handles those."""
    words, flags = _scan(argv)
    if flags & {"--", "-h", "--help", "--version", "--watch"} or not words:
        return None  # help, or a view that refreshes until Ctrl-C: it stays with the terminal
    if words[0] in DELEGABLE:
        return (words[0],)
    group = DELEGABLE_GROUPS.get(words[0])
    if group is not None and len(words) >= 2 and words[1] in group and "--client" not in argv:
        return (words[0], words[1])
    return None


def _scan(argv: list[str]) -> tuple[list[str], set[str]]:
    """The first two words and every flag typed, never counting a global option's value as either
    (`--venue aster` is one flag; `--venue=aster` is the flag `--venue`)."""
    words: list[str] = []
    flags: set[str] = set()
    i = 0
    while i < len(argv):
        tok = argv[i]
        name = tok.split("=", 1)[0]
        if name in GLOBAL_VALUE_FLAGS and "=" not in tok:
            i += 2
            continue
        if tok.startswith("-"):
            flags.add(name)
        elif len(words) < 2:
            words.append(tok)
        i += 1
    return words, flags


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
    """The agent went away without answering. A command that changes nothing at a venue is run
    here, as without a session (None), after one warning line; anything else may have been sent,
    so it is never sent again: the outcome is unknown (exit 6), as for a lost connection."""
    path = command_path(argv) or ("",)
    if changes_nothing(argv, path):
        if not {"-q", "--quiet"} & _scan(argv)[1]:
            sys.stderr.write("perp: warning: the session agent ended before answering; "
                             "running the command without it\n")
        return None
    from perpcli.cli.failures import fail

    what = "the order" if path[0] in ("buy", "sell") else f"`perp {' '.join(path)}`"
    return fail(f"the session agent ended before answering: {what} may have been sent; "
                "check `perp orders` and `perp fills` before retrying", 6, json_out="--json" in argv)


def changes_nothing(argv: list[str], path: tuple[str, ...]) -> bool:
    """Whether the command, as typed, can change nothing at a venue (so running it again is safe)."""
    flags = _scan(argv)[1]
    return path in READ_ONLY or "--dry-run" in flags or (path[0] in ("buy", "sell") and "--preview" in flags)


def _interrupted(argv: list[str]) -> int:
    from perpcli.cli.failures import fail

    path = command_path(argv) or ("",)
    note = " (the session finishes an order it already started: check `perp orders`)" \
        if path[0] in CONFIRMING else ""
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
