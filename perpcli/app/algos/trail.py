"""Trailing stop: close SIZE at market once the mark falls `distance` percent from its best.

A sell trails the highest mark seen since start (a buy the lowest); its stop is that extreme
moved by the distance, and it only ever moves in the position's favour. When the mark reaches
the stop, a reduce-only marketable IOC limit (worst price: the near touch moved by `slippage`
percent) closes the size; a short fill is retried a few times, then the trail ends.
Marks come from the venue (what its own triggers use), never from a stale read: the host
pauses the algo instead of feeding it old quotes.

spec: market, side, size, distance (percent), slippage (percent).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpcli.app.algos.core import Action, Algo, ChildUpdate, Quote, pct_of, register

MAX_TRIES = 5


@register
class Trail(Algo):
    kind = "trail"
    needs_mark = True
    poll_every = 3  # a mark read weighs five times a book read: fewer, so a trail fits the venue's budget

    def initial_state(self) -> dict[str, Any]:
        return {**super().initial_state(), "extreme": None, "stop": None, "triggered": False, "tries": 0}

    @property
    def selling(self) -> bool:
        return self.spec["side"] == "sell"

    def decide(self, quote: Quote) -> list[Action]:
        if self.working():
            return []
        if not self.state["triggered"]:
            if quote.mark is None:
                return []
            ext = self.state["extreme"]
            best = quote.mark if ext is None else (max if self.selling else min)(Decimal(ext), quote.mark)
            self.state["extreme"] = str(best)
            stop = pct_of(best, self.d("distance"), up=not self.selling)
            self.state["stop"] = str(stop)
            if (quote.mark > stop) if self.selling else (quote.mark < stop):
                return []
            self.state["triggered"] = True
        remaining = self.d("size") - self.filled
        if remaining <= 0:
            self.finish("done", "closed")
            return []
        if self.state["tries"] >= MAX_TRIES:
            self.finish("done", f"triggered; {remaining} left unfilled after {MAX_TRIES} tries")
            return []
        touch = quote.bid if self.selling else quote.ask
        if touch is None:
            return []
        self.state["tries"] += 1
        worst = pct_of(touch, self.d("slippage"), up=not self.selling)
        return [self.place(side=self.spec["side"], size=remaining, kind="ioc", price=worst, reduce_only=True,
                           role="stop")]

    def child_changed(self, cloid: str, child: dict[str, Any], u: ChildUpdate) -> list[Action]:
        if u.state == "done" and u.error and Decimal(child["filled"]) == 0 and "reduce" in u.error.lower():
            self.finish("done", f"nothing left to close ({u.error})")
        elif self.filled >= self.d("size"):
            self.finish("done", "closed")
        return []

    def summary(self) -> dict[str, Any]:
        return {"extreme_mark": self.state["extreme"], "stop": self.state["stop"],
                "triggered": self.state["triggered"], "distance_pct": self.spec["distance"]}
