"""Client-side TWAP: SIZE in N slices over M minutes, each a marketable IOC limit.

For venues without a native TWAP (and for `perp twap --client` anywhere). Slice i is due at
start + i x interval; what has not filled by then (an IOC remainder, a slice missed while the
venue was unreachable) rolls into the next one, so the schedule catches up instead of drifting.
Each slice is priced at the far touch moved by `slippage` percent (the worst price it accepts).
After the last slice is due, the remainder is tried `retries` more times, then the TWAP ends
(done, with what filled).

spec: market, side, size, slices (sizes on the lot grid), interval_ms, start_ms, slippage,
reduce_only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpcli.app.algos.core import ZERO, Action, Algo, ChildUpdate, Quote, pct_of, register

RETRIES_AFTER_END = 3


@register
class Twap(Algo):
    kind = "twap"

    def initial_state(self) -> dict[str, Any]:
        return {**super().initial_state(), "due": 0, "sent": 0, "extra_tries": 0}

    def slices(self) -> list[Decimal]:
        return [Decimal(s) for s in self.spec["slices"]]

    def decide(self, quote: Quote) -> list[Action]:
        if self.working():
            return []  # one slice at a time
        slices = self.slices()
        due = min(len(slices), 1 + max(0, (quote.now_ms - int(self.spec["start_ms"])) // int(self.spec["interval_ms"])))
        self.state["due"] = due
        want = sum(slices[:due], ZERO) - self.filled
        if want <= 0:
            if due == len(slices):
                self.finish("done", "all slices filled")
            return []
        if self.state["sent"] >= due:  # this slice was sent and came back short
            if due < len(slices):
                return []  # the rest rolls into the next slice
            if self.state["extra_tries"] >= RETRIES_AFTER_END:
                self.finish("done", f"schedule ended with {want} unfilled")
                return []
            self.state["extra_tries"] += 1
        buying = self.spec["side"] == "buy"
        touch = quote.ask if buying else quote.bid
        if touch is None:
            return []
        self.state["sent"] = due
        worst = pct_of(touch, self.d("slippage"), up=buying)
        return [self.place(side=self.spec["side"], size=want, kind="ioc", price=worst,
                           reduce_only=bool(self.spec.get("reduce_only")), role=f"slice {due}/{len(slices)}")]

    def child_changed(self, cloid: str, child: dict[str, Any], u: ChildUpdate) -> list[Action]:
        if u.state == "open":
            return []  # an IOC never rests; the host's next poll sees it done
        if self.filled >= self.d("size"):
            self.finish("done", "all slices filled")
        return []

    def summary(self) -> dict[str, Any]:
        return {"slices_due": self.state["due"], "slices": len(self.spec["slices"]),
                "interval_s": int(self.spec["interval_ms"]) // 1000}
