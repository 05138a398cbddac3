"""The agent's side of algos: start the host (resuming what the last session left), and answer
the `algo` op (launch an algo a command planned, cancel one) for clients.

A command plans an algo in its own process (grammar, market rules, risk guards, confirmation)
and hands the plan here; the agent checks it holds a key the venue knows for it, journals it
and runs it in the background, so it outlives the terminal that started it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

CANCEL_WAIT_S = 10.0


def serve(agent: Any) -> None:
    """Algos run in this agent from now on, their steps serialised with its commands."""
    from perpcli.app.algos import host

    agent.algos = host.serve_in_session(agent._run_lock)
    agent.algos.streams = agent.streams
    threading.Thread(target=agent.algos.resume_all, name="algo-resume", daemon=True).start()


def answer(agent: Any, request: dict) -> dict:
    host = agent.algos
    if host is None:
        return {"handled": False}
    action = request.get("action")
    if action == "launch":
        return _launch(agent, host, request)
    if action == "cancel":
        return _cancel(host, str(request.get("id", "")))
    if action == "list":
        return {"handled": True, "algos": listing(host, include_ended=bool(request.get("all")))}
    return {"handled": False}


def listing(host: Any, *, include_ended: bool) -> list[dict]:
    """`perp algo list`'s rows, with this agent's own algos at their live status (paused,
    canceling) rather than the journal's last word: what a TUI attached to the session shows."""
    from perpcli.app.algos import views
    from perpcli.app.algos.core import TERMINAL

    live = {run_id: run.status for run_id, run in list(host.runs.items())}
    out = []
    for row in views.rows(True):
        if row["id"] in live:
            row["status"] = live[row["id"]]
        if include_ended or row["status"] not in TERMINAL:
            out.append(row)
    return out


def _launch(agent: Any, host: Any, request: dict) -> dict:
    spec, reach = request.get("spec"), request.get("reach")
    if not isinstance(spec, dict) or not isinstance(reach, dict):
        return {"handled": False}
    with agent._run_lock:
        agent.state.last_used = time.time()
        return _launch_here(host, spec, reach, _first(request))


def _launch_here(host: Any, spec: dict, reach: dict, first: list | None = None) -> dict:
    """Launch in this agent; the caller holds the agent's command lock (a command running in
    the agent calls this directly)."""
    from perpcli.app.algos import journal, views
    from perpcli.app.algos.link import VenueLink
    from perpcli.domain.errors import PerpError

    probe = VenueLink(reach, spec["market"], host._limits())
    try:
        probe.trading  # noqa: B018 - the held key must be one the venue knows, before anything is journalled
    except PerpError as e:
        return {"handled": True, "error": e.message, "code": int(e.exit_code)}
    finally:
        probe.drop()
    run = host.launch(spec, reach, first=first or [], background=False)
    run.step()  # what the algo does at once (the first child, an OCO's legs) is in the answer
    if not run.algo.finished:
        host._spawn(run)
    return {"handled": True, "algo": views.doc(journal.read(run.journal.path), live_status=run.status),
            "sent": [_sent(p, i, a) for p, i, a in run.sent]}


def _first(request: dict) -> list:
    from perpcli.app.algos.host import _update_from

    return [_update_from(u) for u in request.get("first") or []]


def _sent(p: Any, intent: Any, ack: Any) -> dict:
    return {"role": p.role, "kind": intent.order_type.value, "cloid": p.cloid, "status": ack.status.value,
            "oid": ack.oid, "filled": str(ack.filled), "trigger_price": str(intent.trigger_price)
            if intent.trigger_price is not None else None, "error": ack.error}


def _cancel(host: Any, algo_id: str) -> dict:
    from perpcli.app.algos import journal, views

    run = host.cancel(algo_id)
    if run is None:
        return {"handled": False}  # not one of this session's: the client deals with its journal
    deadline = time.monotonic() + CANCEL_WAIT_S
    while not run.algo.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"handled": True, "algo": views.doc(journal.read(run.journal.path), live_status=run.status)}
