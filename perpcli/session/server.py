"""The session agent: holds unlocked keys and warm venue connections, runs commands for thin clients.

It is the `perp session start` process, forked into the background after the key is unlocked
(the key crosses no pipe and no file: the child simply has the parent's memory). It listens on a
Unix socket (0600, in a 0700 folder) and serves only connections from its own uid (SO_PEERCRED).

A "run" request is a command line. The agent runs it with the very code the CLI runs — the
Typer-free fast path (cli/fast.py) for the plain forms it takes, else the whole Typer CLI
(cli/main.main) — with stdout, stderr and stdin replaced by buffers that report the client's
terminal flags, the client's working folder and PERPCLI_*/display variables, and answers with the
captured output and exit code: so what the client prints is what it would have printed without a
session. Which commands come here at all is the client's list (session/client.py DELEGABLE).

A connection that starts with a frame instead of a JSON request is a `perp watch` attaching to
the agent's venue streams (session/feed.py); the same peer check comes first. A "trade" request
is one keyed Trading call of a `perp watch` (session/trade_ops.py).

Commands run one at a time, fast path and full CLI alike: a command runs with the process's
sys.stdout/stderr/stdin, os.environ and working folder swapped for the client's, and with the
process-wide global options and settings (cli/context.py, config/settings.py), none of which two
commands can share at once. Each is a few round trips on a warm connection; nonces come from the
same file-locked allocator every perp process uses, so commands with and without a session never
clash. Each full-CLI run starts from a fresh process's defaults (global options, the thread's
Decimal context); rich consoles are made per call on the captured stream.

The agent declines (and the client runs the command itself, as without a session) whatever it
cannot do exactly: a command that may need to ask the person at the terminal (one that sends or
changes something, on a terminal, without --yes/--dry-run/--preview: the prompt stays with the
terminal, where it is today), or a key it does not hold (locked, or another key) — in that last
case before anything is signed.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from perpcli.session import protocol

ACCEPT_POLL_S = 0.5


class _Capture(io.StringIO):
    """A stdout/stderr stand-in that answers isatty() as the client's stream would."""

    def __init__(self, tty: bool, initial: str = "") -> None:
        super().__init__(initial)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


@dataclass
class AgentState:
    """What `perp session status` shows; never the key itself."""

    started_at: float
    expires_at: float
    idle_lock_s: float  # 0: never
    venues: list[str]
    keys: dict[str, str] = field(default_factory=dict)  # name -> address, while unlocked
    last_used: float = 0.0
    served: int = 0
    declined: int = 0
    locked_reason: str = ""

    def due(self, now: float, *, algos_running: bool = False) -> str | None:
        """What the clock asks for now: "expire" (past --for), "lock" (idle too long with a key held), or None.
        Running algos are use: an idle lock would silently pause a trailing stop."""
        if now >= self.expires_at:
            return "expire"
        if self.idle_lock_s and self.keys and not algos_running and now - self.last_used >= self.idle_lock_s:
            return "lock"
        return None

    def doc(self) -> dict[str, Any]:
        now = time.time()
        return {"running": True, "pid": os.getpid(), "socket": protocol.socket_path(),
                "started_at": _iso(self.started_at), "expires_at": _iso(self.expires_at),
                "expires_in_s": max(0, int(self.expires_at - now)),
                "idle_lock_s": int(self.idle_lock_s), "idle_s": int(now - self.last_used),
                "locked": not self.keys, "locked_reason": self.locked_reason or None,
                "keys": [{"name": n, "address": a} for n, a in sorted(self.keys.items())],
                "venues": self.venues, "commands_served": self.served, "commands_declined": self.declined}


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Agent:
    def __init__(self, listener: socket.socket, state: AgentState) -> None:
        self.listener = listener
        self.state = state
        self._run_lock = threading.Lock()  # one command at a time: CLI bodies use process-wide state
        self._stop = threading.Event()
        self._base_env = {k: v for k, v in os.environ.items() if k not in protocol.SECRET_ENV}
        self._inode = os.stat(protocol.socket_path()).st_ino
        self.on_stop = "cancel"  # what a stop does with algo-owned orders (`session stop --on-stop`)
        self.algos: Any = None  # the algo host (perpcli/app/algos/host.py), once serving
        self.streams: Any = None  # the venues' websocket streams and their Store (app/algos/streams.py)

    # ----- keys ---------------------------------------------------------------------------------

    def hold(self, signer: Any) -> None:
        from perpcli.keys import sources

        sources.hold(signer)
        sources.serve_held_only()
        self.state.keys[signer.name] = signer.address
        self.state.locked_reason = ""

    def lock(self, reason: str) -> None:
        """Drop every key at once; reads keep working, orders fall back to the client."""
        from perpcli.keys import sources

        sources.drop_held()
        if self.algos is not None:
            self.algos.drop_keys()  # no algo keeps a signing session past a lock
        if self.streams is not None:
            self.streams.drop_keyed()  # nor an account socket opened with the key (Aster's listenKey)
        if self.state.keys:
            self.state.locked_reason = reason
        self.state.keys.clear()

    # ----- serving ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        threading.Thread(target=self._watch, name="session-watch", daemon=True).start()
        self.listener.settimeout(ACCEPT_POLL_S)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            threading.Thread(target=self._serve_one, args=(conn,), daemon=True).start()
        self._shutdown()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        """Idle lock and end of life, checked once a second."""
        while not self._stop.wait(1.0):
            due = self.state.due(time.time(), algos_running=self.algos is not None and self.algos.busy())
            if due == "expire":
                if self.algos is not None:
                    self.algos.stop(self.on_stop)  # while the key is still held: it cancels their orders
                self.lock("session expired")
                self.stop()
            elif due == "lock":
                self.lock(f"idle for {int(self.state.idle_lock_s)} s")

    def _shutdown(self) -> None:
        if self.algos is not None:
            self.algos.stop(self.on_stop)
        self.lock("session stopped")
        if self.streams is not None:
            self.streams.close()
        try:
            self.listener.close()
            if os.stat(protocol.socket_path()).st_ino == self._inode:  # still ours, not a successor's
                os.unlink(protocol.socket_path())
        except OSError:
            pass
        from perpcli.app import session as app_session

        app_session.share_markets(False)

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            if (protocol.peer_allowed(protocol.peer_uid(conn), os.getuid())
                    and protocol.is_framed(conn.recv(1, socket.MSG_PEEK))):
                from perpcli.session import feed

                if feed.attach(self, conn):
                    return  # `perp watch` attached: the streams loop owns the connection now
                conn.close()
                return
        except (OSError, ValueError):
            conn.close()
            return
        with conn:
            try:
                if not protocol.peer_allowed(protocol.peer_uid(conn), os.getuid()):
                    return  # another user: not a word
                request = protocol.decode(protocol.read_all(conn))
                reply = self.answer(request)
                conn.sendall(protocol.encode({"v": protocol.VERSION, **reply}))
            except (OSError, ValueError):
                return  # the client went away or sent nonsense: nothing was run for it
            if request.get("op") == "stop":
                self.stop()

    def answer(self, request: dict) -> dict:
        op = request.get("op")
        if op == "status":
            doc = self.state.doc()
            if self.algos is not None:
                doc["algos_running"] = sum(not r.algo.finished for r in list(self.algos.runs.values()))
            if self.streams is not None:
                doc["streams"] = self.streams.health()
            return doc
        if op == "lock":
            had = bool(self.state.keys)
            self.lock("locked by request")
            return {"locked": True, "dropped": had}
        if op == "stop":
            if request.get("on_stop") in ("cancel", "leave"):
                self.on_stop = request["on_stop"]
            # The algos stop before the answer (the rest of the agent after it): whoever asked
            # hears which orders a failed cancel left working.
            left = self.algos.stop(self.on_stop) if self.algos is not None else []
            return {"stopping": True, "on_stop": self.on_stop, "not_cancelled": left}
        if op == "algo":
            from perpcli.session import algo_ops

            return algo_ops.answer(self, request)
        if op == "trade":  # `perp watch` signing and sending with the key held here
            from perpcli.session import trade_ops

            return trade_ops.answer(self, request)
        if op == "run":
            with self._run_lock:
                self.state.last_used = time.time()
                reply = self.run(request)
                self.state.last_used = time.time()
            if reply.get("handled"):
                self.state.served += 1
            else:
                self.state.declined += 1
            return reply
        return {"error": f"unknown op {op!r}"}

    def warm(self) -> None:
        """Open each venue's connection now, so the first command finds it warm."""
        from perpcli.app.session import Session
        from perpcli.config import settings

        for name in self.state.venues:
            with self._run_lock:
                try:
                    with Session.open(settings.current(), venue=name) as s:
                        s.market.instruments()
                except Exception as e:  # noqa: BLE001 - a venue down now is reported by the command that needs it
                    sys.stderr.write(f"perp session: warming {name}: {type(e).__name__}\n")

    # ----- running a command --------------------------------------------------------------------

    def run(self, request: dict) -> dict:
        """Run one client command line here, as the client would have: the fast path when it takes
        the form, else the full Typer CLI (cli/main.main), both with captured streams."""
        from perpcli.cli import fast
        from perpcli.keys import sources
        from perpcli.session import client

        argv = [str(a) for a in request.get("argv", [])]
        tty = request.get("tty") or {}
        path = client.command_path(argv)
        if path is None:
            return {"handled": False, "reason": "not a command the session runs"}
        parsed = fast.parse(argv)
        if tty.get("stdin") and tty.get("stderr") and path[0] in client.CONFIRMING and not (
                {"--yes", "-y", "--dry-run", "--preview"} & set(argv)):
            # It may ask the person at the terminal: the client runs it itself, where the prompt is.
            return {"handled": False, "reason": "may need to ask at the terminal"}
        saved = (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr)
        out, err = _Capture(bool(tty.get("stdout"))), _Capture(bool(tty.get("stderr")))
        try:
            self._client_env(request.get("env") or {}, tty)
            os.chdir(str(request.get("cwd") or "/"))
            sys.stdin, sys.stdout, sys.stderr = _Capture(bool(tty.get("stdin"))), out, err
            sources.missed_key(reset=True)
            code = fast.try_run(argv) if parsed is not None else _run_full(argv)
        except OSError as e:  # the client's folder is gone: let it run the command itself
            return {"handled": False, "reason": f"cannot run here: {e.strerror}"}
        finally:
            environ, cwd, sys.stdin, sys.stdout, sys.stderr = saved
            os.environ.clear()
            os.environ.update(environ)
            os.chdir(cwd)
        if sources.missed_key():
            return {"handled": False, "reason": "key not held by the session"}
        return {"handled": True, "code": int(code if code is not None else 1),
                "out": out.getvalue(), "err": err.getvalue()}

    def _client_env(self, env: dict, tty: dict) -> None:
        """The agent's own environment, with the client's settings and display variables instead."""
        os.environ.clear()
        os.environ.update({k: v for k, v in self._base_env.items()
                           if not k.startswith("PERPCLI_") and k not in protocol.DISPLAY_ENV})
        os.environ["PERPCLI_HOME"] = self._base_env.get("PERPCLI_HOME", "")
        if not os.environ["PERPCLI_HOME"]:
            del os.environ["PERPCLI_HOME"]
        os.environ.update({str(k): str(v) for k, v in env.items()
                           if str(k) not in protocol.SECRET_ENV and str(k) != "PERPCLI_HOME"})
        if tty.get("columns") and "COLUMNS" not in env:
            os.environ["COLUMNS"] = str(int(tty["columns"]))


def _run_full(argv: list[str]) -> int:
    """The whole Typer CLI, in this process, as `perp ARGV` would run it (cli/main.main never
    raises; a SystemExit from a command body is its exit code, as in a process of its own).
    Each run starts from the defaults a fresh process has: the global options, and Python's
    default Decimal context for this thread (a command may change its own)."""
    import decimal

    from perpcli.cli import context
    from perpcli.cli.main import main

    context.set_current(context.GlobalOptions())
    decimal.setcontext(decimal.Context())
    try:
        return main(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


# ----- starting -----------------------------------------------------------------------------------

def bind_socket() -> socket.socket:
    """The listening socket: folder 0700, socket 0600 from the moment it exists."""
    from pathlib import Path

    from perpcli.config import paths

    path = protocol.socket_path()
    paths.ensure_private_dir(Path(path).parent)
    if os.path.exists(path):
        os.unlink(path)  # the caller checked no live agent answers on it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock


def detach_and_serve(listener: socket.socket, state: AgentState, signer: Any) -> int:
    """Fork: the child becomes the agent (own session, no terminal) and never returns; the parent
    gets the child's pid. The key reaches the child as the parent's memory, nothing else."""
    log_path = os.path.join(protocol.session_dir(), "agent.log")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        listener.close()
        return pid
    code = 0
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(log, 2)
        os.close(devnull)
        os.close(log)
        for var in protocol.SECRET_ENV:
            os.environ.pop(var, None)
        agent = Agent(listener, state)
        agent.hold(signer)
        signal.signal(signal.SIGTERM, lambda *_: agent.stop())
        signal.signal(signal.SIGINT, lambda *_: agent.stop())
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        from perpcli.app import session as app_session

        app_session.share_markets(True)
        from perpcli.app.algos import streams

        agent.streams = streams.LiveStreams(streams.stream_settings())
        agent.streams.start()
        threading.Thread(target=agent.warm, daemon=True).start()
        from perpcli.session import algo_ops

        algo_ops.serve(agent)
        agent.serve_forever()
    except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)

