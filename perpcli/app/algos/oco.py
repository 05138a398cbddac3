"""TP/SL one-cancels-other, for venues that cannot group a bracket with its entry (Aster).

The entry is placed by `perp buy|sell ... --tp P --sl P` itself; this algo takes it over by its
client order id. As soon as the entry has filled (in part or whole), the take-profit and the
stop-loss are placed as trigger-market orders that close the whole position (closePosition on
Aster: they cover a position that grows while the entry fills). When one of them executes,
the other is cancelled, and so is what is left of the entry (it would reopen a position with
no protection). An entry that ends with nothing filled ends the algo; so do two legs that are
both gone.

A session stop never cancels the legs (--on-stop cancel takes down orders that trade, not the
protection of a position); the next session adopts them again by client order id. Cancelling
the algo itself (`perp algo cancel`) takes down the legs and what is left of the entry.

spec: market, side (the entry's), entry_cloid, tp, sl (either may be None).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpcli.app.algos.core import Action, Algo, Cancel, ChildUpdate, Quote, register


@register
class Oco(Algo):
    kind = "oco"

    def initial_state(self) -> dict[str, Any]:
        state = super().initial_state()
        state["children"][self.spec["entry_cloid"]] = {"role": "entry", "kind": "entry", "size": str(self.spec["size"]),
                                                       "filled": "0", "state": "open", "price": None}
        state.update(phase="entry", legs={}, legs_placed=False)
        return state

    def cancelable(self, cloid: str) -> bool:
        return self.state["children"][cloid]["role"] == "entry"

    def decide(self, quote: Quote) -> list[Action]:
        """Driven by the children; only a cancel that did not take (after a leg executed) is asked again."""
        if self.state["phase"] != "closing":
            return []
        out: list[Action] = []
        for c in self.working():
            if not self.state["children"][c].get("cancel_sent"):
                self.state["children"][c]["cancel_sent"] = True
                out.append(Cancel(c))
        return out

    def entry_filled(self) -> Decimal:
        return Decimal(self.state["children"][self.spec["entry_cloid"]]["filled"])

    def child_changed(self, cloid: str, child: dict[str, Any], u: ChildUpdate) -> list[Action]:
        role = child["role"]
        if role == "entry":
            if not self.state["legs_placed"] and self.entry_filled() > 0:
                return self._place_legs()
            if u.state == "done" and self.entry_filled() == 0:
                self.finish("done", "the entry ended unfilled: no bracket placed")
            return []
        if u.state != "done":
            return []
        legs = self.state["legs"]
        other = next((c for r, c in legs.items() if r != role), None)
        if Decimal(child["filled"]) > 0:  # this leg executed: the other and the entry's rest go
            self.state["phase"] = "closing"
            self.state["reason"] = f"{role} executed"
            out: list[Action] = []
            for c in [other, self.spec["entry_cloid"]]:
                if c and self.state["children"][c]["state"] != "done" and not self.state["children"][c].get("cancel_sent"):
                    self.state["children"][c]["cancel_sent"] = True
                    out.append(Cancel(c))
            if not out:
                self.finish("done", f"{role} executed")
            return out
        if self.state["phase"] == "closing":
            if not self.working():
                self.finish("done", self.state["reason"])
            return []
        if all(self.state["children"][c]["state"] == "done" for c in legs.values()):
            self.finish("failed" if u.error else "done", f"both legs gone without executing ({u.error or 'canceled'})")
        return []

    def _place_legs(self) -> list[Action]:
        self.state["legs_placed"] = True
        self.state["phase"] = "legs"
        exit_side = "sell" if self.spec["side"] == "buy" else "buy"
        out: list[Action] = []
        for role, key, kind in (("tp", "tp", "take_profit"), ("sl", "sl", "stop")):
            if self.spec.get(key) is None:
                continue
            p = self.place(side=exit_side, size=self.entry_filled(), kind=kind, trigger=Decimal(self.spec[key]),
                           reduce_only=True, role=role)
            self.state["legs"][role] = p.cloid
            out.append(p)
        return out

    def on_child(self, u: ChildUpdate) -> list[Action]:
        actions = super().on_child(u)
        if self.state["phase"] == "closing" and not self.working() and not self.finished:
            self.finish("done", self.state["reason"])
        return actions

    @property
    def filled(self) -> Decimal:
        return self.entry_filled()

    def summary(self) -> dict[str, Any]:
        legs = {r: {"cloid": c, "state": self.state["children"][c]["state"],
                    "filled": self.state["children"][c]["filled"]} for r, c in self.state["legs"].items()}
        return {"phase": self.state["phase"], "entry_cloid": self.spec["entry_cloid"], "tp": self.spec.get("tp"),
                "sl": self.spec.get("sl"), "legs": legs}
