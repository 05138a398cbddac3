"""`perp buy|sell ... --tp P --sl P` on a venue that cannot group a bracket with its entry.

The entry is placed alone; the TP and SL become an OCO algo (app/algos/oco.py) that places
them once the entry fills and cancels one when the other executes. Where it runs decides what
survives this process, and the result says so:

- in a session (the command runs in the agent, or hands the algo to it): the agent watches the
  bracket for as long as it runs, and the next session resumes it;
- without one: this process places the legs if the entry filled at once, then exits. Nothing
  watches them afterwards (when one executes, the other stays on the book); the journal marks
  the bracket `unwatched`, and a session started later adopts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from perpcli.app import actions
from perpcli.app.algos.core import ChildUpdate
from perpcli.domain.orders import OrderType, TimeInForce
from perpcli.venues.base import Ack, AckStatus

UNWATCHED = ("one-cancels-other is NOT watched after this process exits: when the TP or SL executes, the other "
             "stays on the book until you cancel it; start `perp session` to have it watched (it adopts {id})")
RESTS = ("the entry rests: its TP/SL are placed only once it fills, and nothing watches it after this process "
         "exits; start `perp session` to have it watched (it adopts {id})")
IN_SESSION = "TP/SL one-cancels-other runs in the session as {id} (`perp algo show {id}`)"


def entry_update(result: actions.OrderResult, tif: TimeInForce) -> ChildUpdate:
    """The entry's first answer, as the OCO algo reads its children."""
    done = {"filled": True, "canceled": True, "rejected": True}.get(result.status, False)
    if result.status == "partially_filled":
        done = tif is not TimeInForce.GTC and tif is not TimeInForce.ALO  # an IOC's rest is gone
    return ChildUpdate(result.cloid or "", "done" if done else "open", result.filled, result.avg_price, result.error)


def place_with_oco(session: Any, trading: Any, p: Any, *, dry_run: bool, reach: dict[str, Any],
                   launch: Callable[[dict, dict, list[ChildUpdate]], dict | None]) -> actions.PlaceOutcome:
    """Place the entry, then hand its TP/SL to an OCO algo (`launch` runs it in a session, or
    answers None when none runs: then it runs here, once)."""
    entry_plan = replace(p, intents=p.intents[:1], labels=p.labels[:1], grouping="na")
    legs = {i.order_type: i for i in p.intents[1:]}
    tp = legs.get(OrderType.TAKE_PROFIT_MARKET)
    sl = legs.get(OrderType.STOP_MARKET)
    out = actions.place(session, trading, entry_plan, dry_run=dry_run)
    if dry_run:
        out.warnings.append("dry run: on this venue the TP/SL are placed after the entry fills (one-cancels-other)")
        return out
    entry = out.results[0]
    if out.unknown_step or entry.status in ("rejected", "unknown"):
        return out
    spec = {"kind": "oco", "market": p.market, "side": p.side.value, "size": str(p.main.size),
            "entry_cloid": entry.cloid, "tp": str(tp.trigger_price) if tp else None,
            "sl": str(sl.trigger_price) if sl else None}
    first = [entry_update(entry, p.main.tif)]
    reply = launch(spec, reach, first)
    if reply is not None:
        if reply.get("error"):
            out.warnings.append(f"the bracket was not handed to the session ({reply['error']}): "
                                "the position has NO TP/SL — place them yourself")
            return out
        algo_id = reply["algo"]["id"]
        out.results.extend(_leg_result(session, p, d) for d in reply.get("sent", []))
        note = IN_SESSION.format(id=algo_id)
    else:
        from perpcli.app.algos.host import Host

        run = Host(owner="process").launch(spec, reach, first=first, background=False)
        run.step()
        out.results.extend(_leg_result(session, p, {"role": pl.role, "cloid": pl.cloid}, intent, ack)
                           for pl, intent, ack in run.sent)
        algo_id = run.id
        if not run.algo.finished:
            run.journal.state(run.algo.state, status="unwatched")
            run.journal.log("this process exits: nobody watches the bracket until a session adopts it")
        note = (RESTS if not run.sent and not run.algo.finished else UNWATCHED).format(id=algo_id)
    rejected = [r for r in out.results[1:] if r.status == "rejected"]
    if rejected:
        out.warnings.append(f"{p.market} position is OPEN WITHOUT its {', '.join(r.type for r in rejected)}: "
                            f"the venue refused it ({rejected[0].error}) — place the protection yourself")
    out.warnings.append(note)
    entry.note = note
    return out


def _leg_result(session: Any, p: Any, d: dict[str, Any], intent: Any = None, ack: Ack | None = None
                ) -> actions.OrderResult:
    """A leg's result in the order JSON shape (from this process's answer, or the session's)."""
    kind = OrderType.TAKE_PROFIT_MARKET if d["role"] == "tp" else OrderType.STOP_MARKET
    leg = next(i for i in p.intents[1:] if i.order_type is kind)
    if ack is None:
        ack = Ack(AckStatus(d["status"]), cloid=d["cloid"], oid=d.get("oid"), filled=Decimal(d.get("filled") or 0),
                  error=d.get("error"))
    return actions.result_of(replace(intent or leg, cloid=d["cloid"]), kind.value, ack, venue=session.venue,
                             inst=p.instrument)
