"""What `perp algo list|show|logs` print, from the journals (the one source of truth on disk).

A journal says what its writer last knew. When that writer is gone (a session stopped or
killed, a foreground command closed) a live-looking status is shown as what it now is:
`suspended` (a session's algo: the next `perp session start` resumes it) or `abandoned` (a
foreground run's: nothing will resume it; its orders are as it left them).
"""

from __future__ import annotations

import os
import time
from typing import Any

from perpcli.app.algos import journal as J
from perpcli.app.algos.core import TERMINAL, build

LIVE = ("running", "paused", "canceling")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _iso(ms: int) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000)) if ms else None


def status_of(rep: J.Replay) -> str:
    state_status = (rep.state or {}).get("status", "running")
    if state_status in TERMINAL:
        return state_status
    if rep.status in LIVE and not _alive(rep.writer_pid):
        return "suspended" if rep.start.get("owner") == "session" else "abandoned"
    return rep.status


def doc(rep: J.Replay, *, live_status: str | None = None) -> dict[str, Any]:
    spec = rep.start["spec"]
    algo = build(spec, rep.state, lambda: "")
    avg = algo.avg_price
    working = [{"cloid": c, **{k: v for k, v in algo.state["children"][c].items() if k in ("role", "price", "size",
                                                                                          "filled", "state")}}
               for c in algo.working()]
    return {
        "id": rep.algo_id, "kind": spec["kind"], "venue": rep.start["reach"].get("venue"), "market": spec["market"],
        "side": spec["side"], "size": spec["size"], "filled": str(algo.filled),
        "avg_price": str(avg) if avg is not None else None,
        "status": live_status or status_of(rep), "reason": algo.state.get("reason"),
        "started_at": _iso(int(rep.start.get("ts", 0))), "updated_at": _iso(rep.updated_ms),
        "owner": rep.start.get("owner"), "detail": algo.summary(), "working": working,
    }


def rows(include_ended: bool) -> list[dict[str, Any]]:
    out = [doc(r) for r in J.all_journals()]
    if not include_ended:
        out = [d for d in out if d["status"] not in TERMINAL]
    return out


def logs(rep: J.Replay) -> list[dict[str, Any]]:
    return [{"time": _iso(int(r.get("ts", 0))), "message": r["msg"]} for r in rep.logs]
