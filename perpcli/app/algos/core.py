"""The vocabulary every algo shares: what it sees, what it asks for, and its base state machine.

An algo is a pure state machine. It sees the market (`Quote`) and its own child orders
(`ChildUpdate`), and answers with actions (`Place`, `Cancel`) for the host to carry out. It
never touches a venue, a clock or a file: time arrives in the quote, client order ids come from
the function it is given, and its whole state is a JSON-able dict the host journals. So every
algo is tested with plain synchronous calls, and a restarted host rebuilds it from its journal.

Statuses: running -> done | canceled | failed; the host adds `paused` (no fresh market data, or
no key) and `suspended` (the session stopped; resumes at the next start). Only the algo decides
done/failed; only the host pauses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
HUNDRED = Decimal(100)
TERMINAL = ("done", "canceled", "failed")


@dataclass
class Quote:
    """The market as the algo sees it at one moment (None: that side is empty or unknown)."""

    now_ms: int
    bid: Decimal | None
    ask: Decimal | None
    mark: Decimal | None


@dataclass
class ChildUpdate:
    """What is known of one child order. `state`: open (may still trade), done (never will
    again), unknown (no answer yet: the host settles it by client order id)."""

    cloid: str
    state: str
    filled: Decimal = ZERO  # cumulative, base units
    avg_price: Decimal | None = None
    error: str | None = None


@dataclass
class Place:
    """Send one child order. `kind`: post (post-only limit at `price`), ioc (marketable limit at
    the worst `price`), take_profit / stop (trigger-market at `trigger`, closing the position)."""

    cloid: str
    side: str
    size: Decimal
    kind: str
    price: Decimal | None = None
    trigger: Decimal | None = None
    reduce_only: bool = False
    role: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"op": "place", "cloid": self.cloid, "side": self.side, "size": str(self.size), "kind": self.kind,
                "price": _s(self.price), "trigger": _s(self.trigger), "reduce_only": self.reduce_only,
                "role": self.role}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Place:
        return cls(cloid=d["cloid"], side=d["side"], size=Decimal(d["size"]), kind=d["kind"],
                   price=_d(d.get("price")), trigger=_d(d.get("trigger")), reduce_only=bool(d.get("reduce_only")),
                   role=d.get("role", ""))


@dataclass
class Cancel:
    cloid: str

    def to_json(self) -> dict[str, Any]:
        return {"op": "cancel", "cloid": self.cloid}


Action = Place | Cancel


def _s(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _d(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def pct_of(price: Decimal, pct: Decimal, *, up: bool) -> Decimal:
    """price moved by pct percent up or down."""
    return price * (HUNDRED + pct) / HUNDRED if up else price * (HUNDRED - pct) / HUNDRED


class Algo:
    """Base of every algo. `spec` is fixed at start (strings for numbers); `state` changes.

    Children are tracked in state["children"]: cloid -> {role, size, filled, state, price}.
    Subclasses implement `decide(quote)` (new actions for this quote) and `child_changed(cloid,
    child, update)`; the base keeps the books on children and the status.
    """

    kind = ""
    needs_mark = False  # whether each quote must carry the venue's mark (a read that costs more)
    poll_every = 1  # steps every N poll intervals

    def __init__(self, spec: dict[str, Any], state: dict[str, Any] | None = None,
                 new_cloid: Callable[[], str] | None = None) -> None:
        self.spec = spec
        self.state = state if state is not None else self.initial_state()
        self.new_cloid = new_cloid or (lambda: "")

    # ----- state ----------------------------------------------------------------------------

    def initial_state(self) -> dict[str, Any]:
        return {"status": "running", "reason": None, "children": {}, "filled": "0", "notional": "0"}

    @property
    def status(self) -> str:
        return self.state["status"]

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def filled(self) -> Decimal:
        """Filled by children that are done, plus what live children have filled so far."""
        return Decimal(self.state["filled"]) + sum(
            (Decimal(c["filled"]) for c in self.state["children"].values() if c["state"] != "done"), ZERO)

    def d(self, key: str) -> Decimal:
        return Decimal(str(self.spec[key]))

    def working(self) -> list[str]:
        """Children that may still trade (or whose fate is not yet known): the host polls them."""
        return [c for c, ch in self.state["children"].items() if ch["state"] in ("open", "pending", "unknown")]

    def finish(self, status: str, reason: str | None = None) -> None:
        if not self.finished:
            self.state["status"] = status
            self.state["reason"] = reason

    # ----- what the host calls ----------------------------------------------------------------

    def on_quote(self, quote: Quote) -> list[Action]:
        if self.status != "running":
            return []
        return self.decide(quote)

    def on_child(self, u: ChildUpdate) -> list[Action]:
        ch = self.state["children"].get(u.cloid)
        if ch is None or ch["state"] == "done":
            return []
        ch["filled"] = str(max(Decimal(ch["filled"]), u.filled))
        if u.avg_price is not None:
            ch["avg_price"] = str(u.avg_price)
        elif ch.get("kind") == "post" and ch.get("price") and u.filled > 0:
            ch["avg_price"] = ch["price"]  # a post-only limit only ever fills at its own price
        if u.error:
            ch["error"] = u.error
        if u.state == "done":
            ch["state"] = "done"
            self.state["filled"] = str(Decimal(self.state["filled"]) + Decimal(ch["filled"]))
            if ch.get("avg_price") and Decimal(ch["filled"]) > 0:
                self.state["notional"] = str(Decimal(self.state["notional"])
                                             + Decimal(ch["filled"]) * Decimal(ch["avg_price"]))
        elif u.state == "open":
            ch["state"] = "open"
        else:
            ch["state"] = "unknown"
        return self.child_changed(u.cloid, ch, u)

    def cancel(self, reason: str = "canceled by request") -> list[Action]:
        """Stop: cancel every live child; the algo is canceled (its fills stand)."""
        actions: list[Action] = [Cancel(c) for c in self.working()]
        self.finish("canceled", reason)
        return actions

    def cancelable(self, cloid: str) -> bool:
        """Whether a session stop with --on-stop cancel takes this child down (a cancel of the
        algo itself takes down every child)."""
        return True

    # ----- for subclasses -------------------------------------------------------------------

    def place(self, **kw: Any) -> Place:
        p = Place(cloid=self.new_cloid(), **kw)
        self.state["children"][p.cloid] = {"role": p.role, "kind": p.kind, "size": str(p.size), "filled": "0",
                                           "state": "pending",
                                           "price": _s(p.price if p.price is not None else p.trigger)}
        return p

    def decide(self, quote: Quote) -> list[Action]:
        raise NotImplementedError

    def child_changed(self, cloid: str, child: dict[str, Any], u: ChildUpdate) -> list[Action]:
        return []

    def summary(self) -> dict[str, Any]:
        """The algo's own figures for `perp algo show` (beyond status and fills)."""
        return {}

    @property
    def avg_price(self) -> Decimal | None:
        filled, notional = Decimal(self.state["filled"]), Decimal(self.state["notional"])
        return notional / filled if filled and notional else None


KINDS: dict[str, type[Algo]] = {}


def register(cls: type[Algo]) -> type[Algo]:
    KINDS[cls.kind] = cls
    return cls


def build(spec: dict[str, Any], state: dict[str, Any] | None, new_cloid: Callable[[], str]) -> Algo:
    from perpcli.app.algos import chase, oco, trail, twap  # noqa: F401 - each registers its kind

    return KINDS[spec["kind"]](spec, state, new_cloid)
