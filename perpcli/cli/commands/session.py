"""`perp session start|status|stop|lock`: a background agent that holds an unlocked key and warm
venue connections; while it runs, `perp buy|sell|positions|orders|account` are thin clients of it.

The passphrase is asked once, here (hidden prompt, --passphrase-file or PERPCLI_PASSPHRASE), and
the key then lives only in the agent's memory (perpcli/session/server.py).
"""

from __future__ import annotations

import typer

# How long `session stop` waits for the agent's answer: its algos cancel their orders first, a
# venue's round trips each (an algo thread is given 10 s to finish its step).
STOP_ANSWER_S = 120.0

session_app = typer.Typer(help="Unlock a key once; later commands run through a background agent.",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(session_app, name="session")


def parse_duration(text: str) -> float:
    """'8h', '30m', '90s', '2d' (or a bare number of hours) in seconds."""
    import re

    from perpcli.domain.errors import UsageError

    m = re.fullmatch(r"([0-9]{1,6})([smhd]?)", text.strip())
    if not m or int(m.group(1)) == 0:
        raise UsageError(f"--for {text!r}: use a positive duration such as 8h, 30m, 90s or 2d")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 3600}[m.group(2)]


@session_app.command("start", help="Unlock the key once and start the session agent in the background.")
def start(
    for_: str = typer.Option(None, "--for", help="How long the agent runs (8h, 30m...; default session.max_hours)."),
    venues: str = typer.Option(None, "--venues", help="Venues to keep warm, comma-separated (default: default.venue)."),
) -> None:
    import time

    from perpcli.app.session import choose_venue
    from perpcli.cli import context, venue_cmd
    from perpcli.config import settings
    from perpcli.domain.errors import UsageError
    from perpcli.keys import sources
    from perpcli.session import client, server

    opts = context.current()
    cfg = settings.current()
    running = client.call("status")
    if running is not None:
        raise UsageError(f"a session is already running (pid {running.get('pid')}): `perp session stop` first")
    lifetime = parse_duration(for_) if for_ else float(cfg.get("session.max_hours")) * 3600
    names = [v.strip() for v in (venues or cfg.get("default.venue")).split(",") if v.strip()]
    for name in names:
        choose_venue(cfg, venue=name)  # an unknown venue is a usage error now, not in the background
    if not opts.account and sources.ENV_KEY in __import__("os").environ:
        raise UsageError(f"a session holds keystore keys; {sources.ENV_KEY} is already unlocked "
                         "(unset it, or name a stored key with --account)")
    signer = sources.resolve_signer(opts.account, passphrase_file=opts.passphrase_file, warn=False)
    now = time.time()
    state = server.AgentState(started_at=now, expires_at=now + lifetime, last_used=now, venues=names,
                              idle_lock_s=float(cfg.get("session.idle_lock_minutes")) * 60)
    listener = server.bind_socket()
    pid = server.detach_and_serve(listener, state, signer)
    doc = {**state.doc(), "pid": pid, "keys": [{"name": signer.name, "address": signer.address}], "locked": False}
    venue_cmd.emit_doc(doc)


@session_app.command("status", help="Show whether a session runs, its keys (names and addresses), venues and timers.")
def status() -> None:
    from perpcli.cli import venue_cmd
    from perpcli.session import client

    doc = client.call("status") or {"running": False}
    human = None
    if "streams" in doc:
        human = {**doc, "streams": "; ".join(_stream_line(v) for v in doc["streams"]) or "none yet (opened for algos)"}
    venue_cmd.emit_doc(doc, human=human)


def _stream_line(v: dict) -> str:
    """One venue's stream health: `devnet connected 120 ms, BTC connected 340 ms, BTC mark 95012.0
    connected 800 ms`."""
    def age(ms: int | None) -> str:
        return "no message yet" if ms is None else f"{ms} ms"

    parts = [f"{v['venue']} {v['state']} {age(v.get('age_ms'))}"]
    parts += [f"{b['market']} {b['state']} {age(b.get('age_ms'))}" for b in v.get("books", [])]
    parts += [f"{m['market']} mark {m['mark'] or '-'} {m['state']} {age(m.get('age_ms'))}" for m in v.get("marks", [])]
    parts += [f"account {a['account'][:10]} {a['state']} ({a['open_orders']} open orders, {a['positions']} positions)"
              for a in v.get("accounts", [])]
    return ", ".join(parts)


@session_app.command("lock", help="Drop the session's unlocked keys now (reads keep working through it).")
def lock() -> None:
    from perpcli.cli import output, venue_cmd
    from perpcli.session import client

    reply = client.call("lock")
    if reply is None:
        output.info("no session is running")
    venue_cmd.emit_doc({"running": reply is not None, "locked": True})


@session_app.command("stop", help="Stop the session agent (its keys go with it); its algos are suspended and "
                     "resume at the next start. An algo order a failed cancel left working is named, with the "
                     "command that cancels it, and the exit code is the failure's.")
def stop(
    on_stop: str = typer.Option("cancel", "--on-stop", help="cancel (default): cancel the orders algos own "
                                "(not an OCO's TP/SL); leave: leave them working."),
) -> None:
    import os
    import time

    from perpcli.cli import output, venue_cmd
    from perpcli.domain.errors import UsageError
    from perpcli.session import client, protocol

    if on_stop not in ("cancel", "leave"):
        raise UsageError(f"--on-stop must be cancel or leave, got {on_stop!r}")
    # The agent answers once its algos have stopped (cancelling their orders first): that can
    # take a venue's round trips per algo.
    reply = client.request({"op": "stop", "on_stop": on_stop}, timeout_s=STOP_ANSWER_S)
    if reply is None:
        output.info("no session is running")
        venue_cmd.emit_doc({"stopped": False, "running": False})
        return
    deadline = time.monotonic() + 30
    while os.path.exists(protocol.socket_path()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the agent removes its socket as its last act
    left = reply.get("not_cancelled") or []
    for algo in left:
        reach = "".join(f"--{k} {algo[k]} " for k in ("venue", "url", "network") if algo.get(k))
        output.warn(f"algo {algo['id']} ({algo['algo']}): not cancelled, may still be working: {algo['why']}; "
                    + "; ".join(f"`perp {reach}cancel --cloid {c}`" for c in algo["cloids"]))
    doc = {"stopped": True, "running": False, "not_cancelled": left}
    # The human view: the warning lines above already name each algo and order left working.
    venue_cmd.emit_doc(doc, human={"stopped": True, "running": False,
                                   **({"not_cancelled": ", ".join(a["id"] for a in left)} if left else {})})
    if left:  # the stop happened; what was asked of the orders did not: scripts must see it
        raise typer.Exit(left[0]["exit_code"])
