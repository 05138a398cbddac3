"""Chase: a post-only limit order that follows the touch until the size is filled.

A buy rests at the best bid (a sell at the best ask) and is moved whenever the touch has gone
`ticks` ticks or more away from it: cancel first, then place the remainder at the new touch
(never two children at once, so the algo can never hold more than its size). It never
follows past `cap` (the start touch moved by --max-distance): beyond it the order waits at the
cap. A post-only refusal (the book moved between the read and the order) is simply retried at
the next quote; too many in a row end the chase as failed.

spec: market, side, size, tick, ticks, cap (or None).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpcli.app.algos.core import Action, Algo, Cancel, ChildUpdate, Quote, register

MAX_REFUSALS = 50


@register
class Chase(Algo):
    kind = "chase"

    def initial_state(self) -> dict[str, Any]:
        return {**super().initial_state(), "child": None, "refusals": 0}

    @property
    def buying(self) -> bool:
        return self.spec["side"] == "buy"

    def target(self, quote: Quote) -> Decimal | None:
        touch = quote.bid if self.buying else quote.ask
        if touch is None:
            return None
        cap = self.spec.get("cap")
        if cap is None:
            return touch
        return min(touch, Decimal(cap)) if self.buying else max(touch, Decimal(cap))

    def decide(self, quote: Quote) -> list[Action]:
        remaining = self.d("size") - self.filled
        child_id = self.state["child"]
        if child_id is None and remaining <= 0:
            self.finish("done", "filled")
            return []
        target = self.target(quote)
        if target is None:
            return []
        if child_id is None:
            p = self.place(side=self.spec["side"], size=remaining, kind="post", price=target, role="chase")
            self.state["child"] = p.cloid
            return [p]
        child = self.state["children"][child_id]
        if child["state"] != "open" or child.get("cancel_sent"):
            return []  # its fate is not known yet: never a second child meanwhile
        if abs(target - Decimal(child["price"])) >= self.d("tick") * int(self.spec.get("ticks") or 1):
            child["cancel_sent"] = True
            return [Cancel(child_id)]
        return []

    def child_changed(self, cloid: str, child: dict[str, Any], u: ChildUpdate) -> list[Action]:
        if u.state != "done":
            return []
        if cloid == self.state["child"]:
            self.state["child"] = None
        if Decimal(child["filled"]) == 0 and u.error and not child.get("cancel_sent"):
            self.state["refusals"] += 1  # e.g. post-only would have taken: retried at the next quote
            if self.state["refusals"] >= MAX_REFUSALS:
                self.finish("failed", f"{MAX_REFUSALS} refusals in a row, the last: {u.error}")
        else:
            self.state["refusals"] = 0
        if self.filled >= self.d("size"):
            self.finish("done", "filled")
        return []

    def summary(self) -> dict[str, Any]:
        child = self.state["children"].get(self.state["child"] or "")
        return {"working_price": child["price"] if child else None, "cap": self.spec.get("cap")}
