"""The venue's per-IP REST weight budget (§d.6), optional on the devnet.

Hyperliquid gives each IP 1200 weight per minute: /exchange costs 1 + floor(items / 40);
/info costs 2 for the cheap reads, 60 for userRole and 20 for everything else. Over budget →
HTTP 429. Off by default on the devnet (tests and benches hammer loopback); `perp devnet
--ip-weight-limit 1200` turns on the venue's number. Time is an argument.
"""

from __future__ import annotations

from collections import deque

VENUE_WEIGHT_PER_MINUTE = 1200
WINDOW_MS = 60_000
CHEAP_INFO = frozenset(
    {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"}
)


def info_weight(info_type: object) -> int:
    if info_type in CHEAP_INFO:
        return 2
    if info_type == "userRole":
        return 60
    return 20


def exchange_weight(action: object) -> int:
    items = 1
    if isinstance(action, dict):
        for key in ("orders", "cancels", "modifies"):
            if isinstance(action.get(key), list):
                items = len(action[key])
                break
    return 1 + items // 40


class WeightBudget:
    """Sliding one-minute window of spent weight per IP."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._spent: dict[str, deque[tuple[int, int]]] = {}
        self._totals: dict[str, int] = {}

    def allow(self, ip: str, weight: int, now_ms: int) -> bool:
        """Spend `weight` for `ip` if the budget allows; False means answer 429."""
        if self.per_minute <= 0:
            return True
        window = self._spent.setdefault(ip, deque())
        total = self._totals.get(ip, 0)
        while window and window[0][0] <= now_ms - WINDOW_MS:
            total -= window.popleft()[1]
        if total + weight > self.per_minute:
            self._totals[ip] = total
            return False
        window.append((now_ms, weight))
        self._totals[ip] = total + weight
        return True
