"""The account's TWAPs from two documented reads: `twapHistory` and `userTwapSliceFills`. Pure.

`twapHistory` lists each TWAP's events (`activated`, then `finished`, `terminated` or `error`)
with the TWAP's state as of that event; a TWAP whose last event is its activation still runs.
The state of a running TWAP is only its activation snapshot (nothing executed), so its
progress comes from its slice fills (`userTwapSliceFills`, each tagged with its `twapId`).
For an ended TWAP the state of its last event has the final executed size and notional,
which stays right after its fills have aged out of the venue's 2000-fill window. The
websocket's `twapStates` (and the frontend aggregate `webData2`) are not used: undocumented.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from perpcli.venues.base import TwapState
from perpcli.venues.hyperliquid.codec import P, answer_of, side_of

# The venue's event words -> TwapState.status
_STATUS = {"activated": "running", "finished": "finished", "terminated": "terminated", "error": "error"}


@answer_of("TWAP history")
def twap_states(history: Iterable[dict], slice_fills: Iterable[dict], *, venue: str) -> list[TwapState]:
    """Every TWAP the history names, newest first, with its progress."""
    executed: dict[int, tuple[Decimal, Decimal]] = {}
    for row in slice_fills:
        if row.get("twapId") is None:
            continue
        fill = row["fill"]
        sz, px = P(fill["sz"], "sz"), P(fill["px"], "px")
        done_sz, done_ntl = executed.get(int(row["twapId"]), (Decimal(0), Decimal(0)))
        executed[int(row["twapId"])] = (done_sz + sz, done_ntl + sz * px)

    latest: dict[int, dict] = {}
    for row in history:
        if row.get("twapId") is None:
            continue  # an event the venue did not tie to an id cannot be shown or canceled
        twap_id = int(row["twapId"])
        if twap_id not in latest or int(row["time"]) >= int(latest[twap_id]["time"]):
            latest[twap_id] = row

    out: list[TwapState] = []
    for twap_id, row in latest.items():
        state = row["state"]
        word = row["status"]["status"] if isinstance(row["status"], dict) else str(row["status"])
        status = _STATUS.get(word, word)
        if status == "running":
            done_sz, done_ntl = executed.get(twap_id, (Decimal(0), Decimal(0)))
        else:
            done_sz, done_ntl = P(state["executedSz"], "executedSz"), P(state["executedNtl"], "executedNtl")
        out.append(TwapState(
            venue=venue,
            twap_id=twap_id,
            symbol=str(state["coin"]),
            side=side_of(state["side"]),
            size=P(state["sz"], "sz"),
            executed_size=done_sz,
            executed_notional=done_ntl,
            minutes=int(state["minutes"]),
            started_ms=int(state["timestamp"]),
            status=status,
            reduce_only=bool(state.get("reduceOnly")),
            randomize=bool(state.get("randomize")),
            # the event's time is in whole seconds: never show a TWAP ending before it started
            ended_ms=None if status == "running" else max(int(row["time"]) * 1000, int(state["timestamp"])),
        ))
    out.sort(key=lambda t: (t.started_ms, t.twap_id), reverse=True)
    return out
