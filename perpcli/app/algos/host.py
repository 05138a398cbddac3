"""Runs algos: one thread each, every step journalled, paused while the venue cannot be read.

The host is the algos' only I/O. In the session agent it runs them in the background and
serialises every step with the commands the agent serves (one lock: the CLI bodies share
process-wide state). A foreground `perp chase` without a session runs the same host in its
own process, for as long as that process lives.

One step: read the market (a failure pauses the algo: it never trades on a read that did not
come back; the first good read after a pause first looks up every working child again, then
resumes), look up the working children by client order id, hand both to the algo, and carry
out what it asks. Each order or cancel is journalled before it is sent and after its answer.

Resuming (session start): the journal gives the last state; answers recorded after it are
applied again; a step sent but never answered is settled by client order id (found: adopted;
unknown to the venue: it was never placed) before the algo goes on — so a restart never
places a second child for one the venue already holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import asdict
from typing import Any

from perpcli.app.algos import journal as J
from perpcli.app.algos.core import Action, Algo, Cancel, ChildUpdate, Place, build
from perpcli.app.algos.link import VenueLink, update_of

MIN_POLL_S = 0.05
RESUMABLE = ("running", "paused", "suspended", "unwatched")
_session_host: Host | None = None


def session_host() -> Host | None:
    """The session agent's host (None in any other process)."""
    return _session_host


def serve_in_session(lock: Any) -> Host:
    """Called once by the agent: algos started from now on run in it; left ones resume."""
    global _session_host
    _session_host = Host(owner="session", lock=lock)
    return _session_host


def _update_json(u: ChildUpdate) -> dict[str, Any]:
    return {k: (str(v) if v is not None and k in ("filled", "avg_price") else v) for k, v in asdict(u).items()}


def _update_from(d: dict[str, Any]) -> ChildUpdate:
    from decimal import Decimal

    return ChildUpdate(d["cloid"], d["state"], Decimal(d.get("filled") or 0),
                       Decimal(d["avg_price"]) if d.get("avg_price") else None, d.get("error"))


class Run:
    """One algo in this host: its state machine, journal and venue."""

    def __init__(self, host: Host, algo_id: str, algo: Algo, journal: J.Journal, link: VenueLink) -> None:
        self.host = host
        self.id = algo_id
        self.algo = algo
        self.journal = journal
        self.link = link
        self.paused: str | None = None
        self.cancel_requested = False
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.last_quote: Any = None
        self.pending: list[Action] = []  # decided before a restart, never sent: sent first
        self.sent: list[Any] = []  # (Place, OrderIntent, Ack) of what this process placed

    # ----- the loop -------------------------------------------------------------------------

    def loop(self) -> None:
        while not self.stopping and not self.algo.finished:
            with self.host.lock:
                if self.stopping:
                    break
                self.step()
            if not self.algo.finished:  # a streamed mark costs no REST weight: no need to step less often
                time.sleep(self.host.poll_s * (1 if getattr(self.link, "mark_streamed", False) else self.algo.poll_every))

    def step(self) -> None:
        try:
            q = self.link.quote(with_mark=self.algo.needs_mark)
        except Exception as e:  # noqa: BLE001 - any failed read pauses; the next step retries
            self.pause(f"no fresh market data from {self.link.reach.get('venue')}: {_why(e)}")
            return
        try:
            if self.paused is not None:
                self.resync()
            self.last_quote = q
            if self.pending:
                pending, self.pending = self.pending, []
                self.execute(pending)
            if self.cancel_requested and not self.algo.finished:
                self.execute(self.algo.cancel())
            for cloid in self.algo.working():
                self.poll(cloid)
            seen = json.dumps(self.algo.state, sort_keys=True)
            actions = self.algo.on_quote(q)
            if not actions and json.dumps(self.algo.state, sort_keys=True) != seen:
                self.journal.state(self.algo.state)  # e.g. a trailing stop that moved
            self.execute(actions)
        except Exception as e:  # noqa: BLE001 - a keyed call failed (network, key locked): pause, retry
            self.pause(f"venue call failed: {_why(e)}")
            return
        if self.algo.finished:
            self.journal.state(self.algo.state)
            self.journal.log(f"{self.algo.status}: {self.algo.state.get('reason') or ''}".rstrip(": "))

    def pause(self, why: str) -> None:
        self.link.drop()
        if self.paused != why:
            self.paused = why
            self.journal.state(self.algo.state, status="paused")
            self.journal.log(f"paused: {why}")

    def resync(self) -> None:
        """Back after a pause: what happened to the working children meanwhile, then go on."""
        for cloid in self.algo.working():
            self.poll(cloid)
        self.journal.log(f"resumed after: {self.paused}")
        self.paused = None
        self.journal.state(self.algo.state, status="running")

    def poll(self, cloid: str) -> None:
        child = self.algo.state["children"][cloid]
        upd = update_of(cloid, self.link.status(cloid), kind=child.get("kind", ""))
        if upd.state == "open":
            child.pop("cancel_sent", None)  # a cancel that never took (e.g. across a pause): it may be asked again
        before = (child["state"], child["filled"])
        actions = self.algo.on_child(upd)
        if (child["state"], child["filled"]) != before or actions:
            self.journal.state(self.algo.state)
        self.execute(actions)

    # ----- carrying out actions -------------------------------------------------------------

    def execute(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Place):
                self.place(a)
            else:
                self.cancel(a)

    def place(self, p: Place) -> None:
        from perpcli.domain.errors import OutcomeUnknown, PerpError

        try:
            intent = self.link.intent(p)
            mark = self.last_quote.mark if self.last_quote and self.last_quote.mark else self.link.mark()
            self.link.check(intent, mark)
        except PerpError as e:  # refused here (a guard, the market's rules): never sent
            self.journal.log(f"not sent ({p.role} {p.side} {p.size}): {e}")
            self.apply(ChildUpdate(p.cloid, "done", error=f"refused locally: {e}"))
            self.algo.finish("failed", f"refused locally: {e}")
            return
        n = self.journal.before({**p.to_json(), "price": str(intent.price) if intent.price else None}, self.algo.state)
        try:
            ack = self.link.place(intent)
        except OutcomeUnknown as e:  # it may have landed: settled by client order id at the next step
            upd = ChildUpdate(p.cloid, "unknown", error=_why(e))
        except PerpError as e:  # raised before anything was sent (network, key): not placed
            upd = ChildUpdate(p.cloid, "done", error=f"not sent: {_why(e)}")
        else:
            upd = update_of(p.cloid, ack, kind=p.kind)
            self.sent.append((p, intent, ack))
        self.journal.after(n, _update_json(upd))
        self.journal.log(f"{p.role}: {p.side} {intent.size} {p.kind} @ {intent.trigger_price or intent.price}"
                         f" -> {upd.state}{' filled ' + str(upd.filled) if upd.filled else ''}"
                         f"{' (' + upd.error + ')' if upd.error else ''}")
        self.apply(upd)

    def cancel(self, c: Cancel) -> None:
        child = self.algo.state["children"][c.cloid]
        n = self.journal.before(c.to_json(), self.algo.state)
        ok = False
        with contextlib.suppress(Exception):
            ok = self.link.cancel(c.cloid)
        upd = update_of(c.cloid, self.link.status(c.cloid), kind=child.get("kind", ""))
        if upd.state != "done":
            child.pop("cancel_sent", None)  # still there: the algo may ask again
        self.journal.after(n, _update_json(upd))
        self.journal.log(f"cancel {child['role']} {c.cloid}: {'ok' if ok else 'refused'} -> {upd.state}")
        self.apply(upd)

    def apply(self, upd: ChildUpdate) -> None:
        actions = self.algo.on_child(upd)
        self.journal.state(self.algo.state)
        self.execute(actions)

    # ----- what people see --------------------------------------------------------------------

    @property
    def status(self) -> str:
        if self.algo.finished:
            return self.algo.status
        if self.cancel_requested:
            return "canceling"
        return "paused" if self.paused else "running"


def _why(e: BaseException) -> str:
    text = getattr(e, "message", None) or str(e) or type(e).__name__
    return text.splitlines()[0][:200]


class Host:
    def __init__(self, *, owner: str = "session", lock: Any = None, poll_s: float | None = None) -> None:
        self.owner = owner
        self.lock = lock if lock is not None else threading.RLock()
        if poll_s is None:
            from perpcli.config import settings

            poll_s = int(settings.current().get("session.algo_poll_ms")) / 1000
        self.poll_s = max(MIN_POLL_S, poll_s)
        self.stopped = False
        self._stopping = threading.Lock()
        self.runs: dict[str, Run] = {}
        self.streams: Any = None  # the session's LiveStreams: algos read the touch from them

    def _limits(self) -> Any:
        from perpcli.app.risk import RiskLimits
        from perpcli.config import settings

        return RiskLimits.from_settings(settings.current())

    def launch(self, spec: dict[str, Any], reach: dict[str, Any], *, first: list[ChildUpdate] = (),
               background: bool = True) -> Run:
        """A new algo: journal its start, apply what is already known of its children (an OCO's
        entry answer), and (background) start its thread."""
        algo_id = J.new_id()
        journal = J.Journal.create(algo_id)
        journal.write({"t": "start", "spec": spec, "reach": reach, "owner": self.owner, "pid": os.getpid()})
        link = VenueLink(reach, spec["market"], self._limits(), self.streams)
        algo = build(spec, None, link_cloids(link))
        run = Run(self, algo_id, algo, journal, link)
        journal.state(algo.state)
        journal.log(f"started: {describe(spec)}")
        for u in first:
            run.pending.extend(algo.on_child(u))
        journal.state(algo.state)
        self.runs[algo_id] = run
        if background:
            self._spawn(run)
        return run

    def _spawn(self, run: Run) -> None:
        run.thread = threading.Thread(target=run.loop, name=f"algo-{run.id}", daemon=True)
        run.thread.start()

    def resume_all(self) -> list[str]:
        """Every algo a previous session left running (or a process left unwatched), again."""
        resumed = []
        for rep in J.all_journals():
            if rep.algo_id in self.runs or rep.status not in RESUMABLE:
                continue
            if rep.start.get("owner") != "session" and rep.status != "unwatched":
                continue  # a foreground run's own business
            try:
                run = self.rebuild(rep)
            except Exception as e:  # noqa: BLE001 - one broken journal must not stop the others
                J.Journal(J.folder() / f"{rep.algo_id}.jsonl").log(f"not resumed: {_why(e)}")
                continue
            self.runs[run.id] = run
            self._spawn(run)
            resumed.append(run.id)
        return resumed

    def rebuild(self, rep: J.Replay) -> Run:
        spec, reach = rep.start["spec"], rep.start["reach"]
        journal = J.Journal(J.folder() / f"{rep.algo_id}.jsonl")
        journal.step = rep.last_step
        link = VenueLink(reach, spec["market"], self._limits(), self.streams)
        algo = build(spec, rep.state, link_cloids(link))
        run = Run(self, rep.algo_id, algo, journal, link)
        with self.lock:
            for rec in rep.replay:  # answers recorded after the last state: their consequences were never sent
                run.pending.extend(algo.on_child(_update_from(rec["update"])))
            for rec in rep.unknown:  # sent, never answered: ask the venue by client order id
                cloid = rec["action"]["cloid"]
                child = algo.state["children"].get(cloid, {})
                upd = update_of(cloid, link.status(cloid), kind=child.get("kind", ""))
                journal.after(int(rec["n"]), _update_json(upd), settled=True)
                journal.log(f"settled {rec['action']['op']} {cloid} after the restart: {upd.state}")
                if rec["action"]["op"] == "cancel" and upd.state != "done":
                    child.pop("cancel_sent", None)
                run.pending.extend(algo.on_child(upd))
            journal.state(algo.state, status="running")
            journal.log("resumed from the journal")
        return run

    def cancel(self, algo_id: str) -> Run | None:
        run = self.runs.get(algo_id)
        if run is None or run.algo.finished:
            return run
        run.cancel_requested = True
        return run

    def stop(self, on_stop: str = "cancel") -> list[dict[str, Any]]:
        """The session ends: `cancel` takes down the orders each algo owns (an OCO's legs stay:
        they protect a position), `leave` leaves them; either way the algo is suspended and the
        next session resumes it from its journal. Once: later calls do nothing.

        Returns, with `cancel`, the algos whose orders may still be working because their cancel
        failed (the key locked, the venue down or refusing): the person who asked for the stop
        must hear it, not find it in a log (`perp session stop` prints them and exits non-zero)."""
        with self._stopping:  # the agent's stop request and its expiry may come at once: one stop
            if self.stopped:
                return []
            self.stopped = True
        for run in self.runs.values():
            run.stopping = True
        for run in self.runs.values():
            if run.thread is not None:
                run.thread.join(timeout=10)
        left: list[dict[str, Any]] = []
        with self.lock:
            for run in self.runs.values():
                if run.algo.finished:
                    continue
                if on_stop == "cancel":
                    failure: Exception | None = None
                    try:
                        run.execute([Cancel(c) for c in run.algo.working() if run.algo.cancelable(c)])
                    except Exception as e:  # noqa: BLE001 - say so; the next session looks them up again
                        failure = e
                        run.journal.log(f"could not cancel its orders at the stop: {_why(e)}")
                    still = [c for c in run.algo.working() if run.algo.cancelable(c)]
                    if still:
                        left.append(_not_cancelled(run, still, failure))
                run.journal.state(run.algo.state, status="suspended")
                run.journal.log(f"suspended: the session stopped (--on-stop {on_stop})")
                run.link.drop()
        return left

    def busy(self) -> bool:
        """Whether any algo still runs here."""
        return any(not r.algo.finished and not r.stopping for r in list(self.runs.values()))

    def drop_keys(self) -> None:
        with self.lock:
            for run in self.runs.values():
                run.link.drop()


def _not_cancelled(run: Run, cloids: list[str], failure: Exception | None) -> dict[str, Any]:
    """One algo whose orders a stop could not take down: which, why, and the exit code it means
    (the failure's own: a locked key is 4, a venue not answering 5; a cancel the venue answered
    but whose order still shows open, 3; an order whose fate is unknown, 6)."""
    from perpcli.domain.errors import ExitCode

    children = run.algo.state["children"]
    if failure is not None:
        why, code = _why(failure), int(getattr(failure, "exit_code", ExitCode.INTERNAL))
    elif any(children[c]["state"] == "unknown" for c in cloids):
        why, code = "the outcome of an order is unknown", int(ExitCode.UNKNOWN_OUTCOME)
    else:
        why, code = "the venue did not take the cancel", int(ExitCode.REJECTED)
    reach = run.link.reach
    return {"id": run.id, "algo": describe(run.algo.spec), "venue": reach.get("venue"), "url": reach.get("url"),
            "network": reach.get("network"), "cloids": cloids, "why": why, "exit_code": code}


def link_cloids(link: VenueLink) -> Any:
    """Fresh client order ids in the algo's venue's own format."""
    return lambda: link.session.market.new_client_id()


def describe(spec: dict[str, Any]) -> str:
    bits = [spec["kind"], spec["side"], str(spec["size"]), spec["market"]]
    for key in ("max_distance", "distance", "minutes", "tp", "sl"):
        if spec.get(key) is not None:
            bits.append(f"{key}={spec[key]}")
    return " ".join(bits)
