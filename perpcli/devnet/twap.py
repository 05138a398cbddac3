"""TWAP orders for the devnet: the venue's `twapOrder` / `twapCancel` on top of the engine.

The engine matches single orders; a TWAP is a schedule of them. Every 30 s a running TWAP
sends one IOC slice of (remaining size / remaining slices), priced at most 3% through the mid
(§a.2.4: "suborders every ≥30 s with max 3% slippage"). Pure: time is an argument; the server
calls `step(engine, now_ms)` on its timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from perpcli.devnet.records import ActionError, Filled, OrderSpec

SLICE_MS = 30_000
MAX_SLIPPAGE = Decimal("0.03")
MIN_MINUTES = 5
MAX_MINUTES = 1440
MIN_USD_PER_MINUTE = Decimal(10)


@dataclass
class Twap:
    twap_id: int
    user: str
    asset: int
    coin: str
    is_buy: bool
    sz: Decimal
    reduce_only: bool
    minutes: int
    started_ms: int
    executed_sz: Decimal = Decimal(0)
    slices_done: int = 0
    next_ms: int = 0
    executed_ntl: Decimal = Decimal(0)
    randomize: bool = False

    @property
    def slices_total(self) -> int:
        return max(1, self.minutes * 60_000 // SLICE_MS)


HISTORY_KEPT = 2000  # twapHistory events and slice fills kept (all users together)


def twap_state(t: Twap) -> dict:
    """The venue's TWAP state object (twapHistory, twapStates)."""
    from perpcli.devnet import render

    return {
        "coin": t.coin,
        "executedNtl": render.dec(t.executed_ntl),
        "executedSz": render.dec(t.executed_sz),
        "minutes": t.minutes,
        "randomize": t.randomize,
        "reduceOnly": t.reduce_only,
        "side": "B" if t.is_buy else "A",
        "sz": render.dec(t.sz),
        "timestamp": t.started_ms,
        "user": t.user,
    }


class TwapBook:
    """Running TWAPs by id, plus what twapHistory and userTwapSliceFills read: each TWAP's
    activation and end (as the venue's history rows) and the fills of its slices."""

    def __init__(self) -> None:
        self.running: dict[int, Twap] = {}
        self.next_id = 1
        self.history: list[dict] = []  # {"time" (s), "state", "status", "twapId"}, oldest first
        self.slice_fills: list[dict] = []  # {"fill", "twapId"}, oldest first

    def _log(self, t: Twap, status: str, now_ms: int) -> None:
        self.history.append({"time": now_ms // 1000, "state": twap_state(t), "status": {"status": status}, "twapId": t.twap_id})
        if len(self.history) > HISTORY_KEPT:
            del self.history[0]

    def history_of(self, user: str) -> list[dict]:
        return [h for h in self.history if h["state"]["user"] == user]

    def slice_fills_of(self, user: str) -> list[dict]:
        """Newest first, as userTwapSliceFills lists them."""
        return [f for f in reversed(self.slice_fills) if f["user"] == user]

    def start(self, engine, user, asset, is_buy, sz, reduce_only, minutes, randomize, now_ms) -> dict:
        """Start a TWAP; returns the `status` object of the venue's twapOrder answer."""
        market = engine.market(asset)
        if market is None:
            raise ActionError(f"Invalid asset {asset}")
        if not MIN_MINUTES <= minutes <= MAX_MINUTES:
            return {"error": f"Invalid TWAP duration: {minutes} min(s)"}
        lot = Decimal(1).scaleb(-market.sz_decimals)
        if sz <= 0 or sz != sz.quantize(lot):
            return {"error": "Order has invalid size."}
        min_value = MIN_USD_PER_MINUTE * minutes
        if sz * engine.mark_price(market.name) < min_value:
            return {
                "error": f"TWAP order value too small. Min is ${min_value}, which is ${MIN_USD_PER_MINUTE} per minute."
            }
        twap = Twap(
            self.next_id, user, asset, market.name, is_buy, sz, reduce_only, minutes, now_ms, next_ms=now_ms,
            randomize=bool(randomize),
        )
        self.next_id += 1
        self.running[twap.twap_id] = twap
        self._log(twap, "activated", now_ms)
        return {"running": {"twapId": twap.twap_id}}

    def cancel(self, user: str, asset: int, twap_id: int, now_ms: int) -> bool:
        twap = self.running.get(twap_id)
        if twap is None or twap.user != user or twap.asset != asset:
            return False
        del self.running[twap_id]
        self._log(twap, "terminated", now_ms)
        return True

    def step(self, engine, now_ms: int) -> None:
        """Send every slice that is due."""
        from perpcli.venues.hyperliquid.numbers import Rounding, round_price

        for twap in list(self.running.values()):
            if now_ms < twap.next_ms:
                continue
            market = engine.market(twap.asset)
            remaining = twap.sz - twap.executed_sz
            slices_left = max(1, twap.slices_total - twap.slices_done)
            lot = Decimal(1).scaleb(-market.sz_decimals)
            slice_sz = (remaining / slices_left).quantize(lot, rounding=ROUND_DOWN)
            if slices_left == 1 or slice_sz <= 0:
                slice_sz = remaining
            ref = engine.mid_price(market.name) or engine.mark_price(market.name)
            worst = ref * (1 + MAX_SLIPPAGE) if twap.is_buy else ref * (1 - MAX_SLIPPAGE)
            px = round_price(worst, market.sz_decimals, rounding=Rounding.DOWN if twap.is_buy else Rounding.UP)
            spec = OrderSpec(twap.asset, twap.is_buy, px, slice_sz, twap.reduce_only, "Ioc")
            try:
                results = engine.place_orders(twap.user, [spec], "na", now_ms)
            except ActionError:
                results = []
            for res in results:
                if isinstance(res, Filled):
                    twap.executed_sz += res.total_sz
                    twap.executed_ntl += res.total_sz * res.avg_px
                    self._record_slice_fills(engine, twap, res.oid, now_ms)
            twap.slices_done += 1
            twap.next_ms = now_ms + SLICE_MS
            if twap.slices_done >= twap.slices_total or twap.executed_sz >= twap.sz:
                del self.running[twap.twap_id]
                self._log(twap, "finished", now_ms)

    def _record_slice_fills(self, engine, twap: Twap, oid: int, now_ms: int) -> None:
        from perpcli.devnet import render

        for f in reversed(engine.user_fills(twap.user, now_ms, now_ms, limit=2000)):
            if f.oid != oid:
                continue
            row = render.fill(f)
            row["hash"] = "0x" + "0" * 64  # TWAP slice fills carry the zero hash (§a.1)
            row["twapId"] = twap.twap_id
            self.slice_fills.append({"fill": row, "twapId": twap.twap_id, "user": twap.user})
        if len(self.slice_fills) > HISTORY_KEPT:
            del self.slice_fills[: len(self.slice_fills) - HISTORY_KEPT]

    def to_json(self) -> dict:
        return {
            "next_id": self.next_id,
            "running": [
                {
                    "twap_id": t.twap_id,
                    "user": t.user,
                    "asset": t.asset,
                    "coin": t.coin,
                    "is_buy": t.is_buy,
                    "sz": str(t.sz),
                    "reduce_only": t.reduce_only,
                    "minutes": t.minutes,
                    "started_ms": t.started_ms,
                    "executed_sz": str(t.executed_sz),
                    "slices_done": t.slices_done,
                    "next_ms": t.next_ms,
                    "executed_ntl": str(t.executed_ntl),
                    "randomize": t.randomize,
                }
                for t in self.running.values()
            ],
            "history": self.history,
            "slice_fills": self.slice_fills,
        }

    def load_json(self, data: dict) -> None:
        self.next_id = int(data.get("next_id", 1))
        self.running = {}
        for row in data.get("running", []):
            t = Twap(
                row["twap_id"],
                row["user"],
                row["asset"],
                row["coin"],
                row["is_buy"],
                Decimal(row["sz"]),
                row["reduce_only"],
                row["minutes"],
                row["started_ms"],
                Decimal(row["executed_sz"]),
                row["slices_done"],
                row["next_ms"],
                Decimal(row.get("executed_ntl", "0")),
                bool(row.get("randomize", False)),
            )
            self.running[t.twap_id] = t
        self.history = list(data.get("history", []))
        self.slice_fills = list(data.get("slice_fills", []))
