"""Actions on every venue of the book at once: flatten, cancel all, close one underlying.

Two steps, so one confirmation can list everything that will be done: `plan` reads each venue
(what orders rest, what positions are open) and `execute` then acts on every venue in
parallel. Each venue succeeds or fails on its own: one that cannot be reached, or refuses, is
reported with its exit code while the others are still flattened. The command's exit code is
the worst venue's (see `worst`).

A venue whose trades each carry their own collateral and settle through a keeper (Ostium) is
flattened its own way, by the same use case as `perp --venue ostium flatten`
(app/collateral.py: cancel each resting order, close each trade at market and await the keeper).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perpcli.app import actions, collateral
from perpcli.domain.errors import ExitCode, PerpError
from perpcli.domain.events import PositionSnapshot
from perpcli.venues.base import CancelTarget

# Which exit code dominates when venues end differently: an unknown outcome first (something
# may have happened that the trader must check), then a bug, then failures to reach or use a
# venue, then refusals.
_SEVERITY = (ExitCode.UNKNOWN_OUTCOME, ExitCode.INTERNAL, ExitCode.NETWORK, ExitCode.AUTH, ExitCode.REJECTED,
             ExitCode.RISK, ExitCode.USAGE)


def worst(codes: Sequence[int]) -> ExitCode:
    """The exit code that stands for several venues' outcomes (0 when all are 0)."""
    present = {int(c) for c in codes}
    for code in _SEVERITY:
        if int(code) in present:
            return code
    return ExitCode.OK if not present - {0} else ExitCode(max(present))


@dataclass
class VenuePlan:
    """What will be done on one venue (or why nothing can be: `error`)."""

    venue: str
    session: Any = None
    trading: Any = None
    cancels: list[CancelTarget] = field(default_factory=list)
    closes: list[PositionSnapshot] = field(default_factory=list)
    error: PerpError | None = None
    by_trade: collateral.FlattenPlan | None = None  # a collateral venue's own plan (Ostium)
    earlier: list[collateral.TradeResult] = field(default_factory=list)  # what an interrupted command left

    @property
    def work(self) -> int:
        if self.by_trade is not None:
            return len(self.by_trade.resting) + len(self.by_trade.trades)
        return len(self.cancels) + len(self.closes)

    def describe(self) -> str:
        if self.error is not None:
            return f"{self.venue}: cannot act ({str(self.error).splitlines()[0]})"
        if self.by_trade is not None:
            return f"{self.venue}: {self.by_trade.describe()}"
        parts = []
        if self.cancels:
            parts.append(f"cancel {len(self.cancels)} order(s)")
        for p in self.closes:
            parts.append(f"close {'long' if p.size > 0 else 'short'} {abs(p.size)} {p.symbol} at market")
        return f"{self.venue}: " + ("; ".join(parts) if parts else "nothing to do")


@dataclass
class VenueOutcome:
    venue: str
    cancels: list[actions.CancelOutcome] = field(default_factory=list)
    closes: list[Any] = field(default_factory=list)  # actions.OrderResult, or collateral.TradeResult
    requests: list[dict] = field(default_factory=list)  # --dry-run: the signed bodies
    error: PerpError | None = None
    by_trade: collateral.FlattenOutcome | None = None
    earlier: list[collateral.TradeResult] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if self.error is not None:
            return ExitCode(int(self.error.exit_code))
        if self.by_trade is not None:
            return self.by_trade.exit_code
        code = actions.exit_code_for(self.closes)
        if not code and any(c.status not in ("canceled", "dry_run") for c in self.cancels):
            return ExitCode.REJECTED
        return code

    def to_json(self) -> dict[str, Any]:
        code = int(self.exit_code)
        return {"venue": self.venue, "status": "ok" if code == 0 else "failed", "exit_code": code,
                "error": str(self.error) if self.error is not None else None,
                "cancels": [c.to_json() for c in self.cancels], "closes": [r.to_json() for r in self.closes],
                **({"earlier": [r.to_json() for r in self.earlier]} if self.earlier else {})}


def plan(open_session: Callable[[str], Any], venues: Sequence[str], *, cancel_orders: bool,
         close_positions: bool, underlying: str | None = None) -> list[VenuePlan]:
    """Read each venue (in parallel; keys are unlocked one at a time) and say what will be done."""
    from perpcli.app.session import KEY_LOCK

    unlocked: dict[str | None, Any] = {}  # the session's --account (None: default rules) -> its key

    def one(name: str) -> VenuePlan:
        vp = VenuePlan(name)
        try:
            vp.session = open_session(name)
            with KEY_LOCK:  # each key unlocked once (the lock is re-entrant: signer() takes it too)
                who = vp.session.account
                if who in unlocked and not vp.session.watch_only:
                    vp.session.adopt_signer(unlocked[who])
                unlocked.setdefault(who, vp.session.signer())
            vp.trading = vp.session.trading()  # asks the venue whom the key trades for (exit 4)
            if collateral.uses_collateral_orders(vp.trading.capabilities):
                side = collateral.collateral_side(vp.trading)
                vp.earlier = collateral.earlier(side, name)  # settled by hash and nonce, never resent
                vp.by_trade = collateral.flatten_plan(side, underlying=underlying)
                if not cancel_orders:
                    vp.by_trade.resting = []
                if not close_positions:
                    vp.by_trade.trades = []
                return vp
            if cancel_orders:
                vp.cancels = actions.cancel_targets(vp.trading, oid=None, cloid=None, market=None, everything=True)
            if close_positions:
                vp.closes = [p for p in actions.open_positions(vp.trading)
                             if p.size and collateral.belongs_to(underlying, vp.session.market, p.symbol)]
        except PerpError as e:
            vp.error = e
        return vp

    with ThreadPoolExecutor(max_workers=min(8, max(1, len(venues))), thread_name_prefix="plan") as pool:
        return list(pool.map(one, venues))


def execute(plans: Sequence[VenuePlan], *, slippage_pct: Decimal, dry_run: bool) -> list[VenueOutcome]:
    """Act on every venue in parallel; one venue's failure never stops another's."""

    def one(vp: VenuePlan) -> VenueOutcome:
        out = VenueOutcome(vp.venue, error=vp.error, earlier=vp.earlier)
        if vp.error is not None:
            return out
        try:
            if vp.by_trade is not None:
                out.by_trade = collateral.flatten(collateral.collateral_side(vp.trading), vp.by_trade,
                                                  venue=vp.venue, slippage_pct=slippage_pct, dry_run=dry_run)
                out.cancels, out.closes, out.requests = (out.by_trade.cancels, out.by_trade.closes,
                                                         out.by_trade.requests)
                return out
            out.cancels, reqs = actions.cancel(vp.trading, vp.cancels, dry_run=dry_run)
            out.requests.extend(reqs)
            for pos in vp.closes:
                p = actions.close_plan(vp.session, vp.trading, pos.symbol, size=None, limit=None,
                                       slippage_pct=slippage_pct)
                placed = actions.place(vp.session, vp.trading, p, dry_run=dry_run)
                out.closes.extend(placed.results)
                out.requests.extend(placed.requests)
        except PerpError as e:
            out.error = e
        return out

    with ThreadPoolExecutor(max_workers=min(8, max(1, len(plans))), thread_name_prefix="act") as pool:
        return list(pool.map(one, plans))


def close_all(plans: Sequence[VenuePlan]) -> None:
    for vp in plans:
        if vp.session is not None:
            vp.session.close()
