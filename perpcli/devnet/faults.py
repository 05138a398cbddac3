"""Faults on demand: the devnet misbehaves the way real venues do, so clients can prove they survive.

One `FaultConfig` (plain settings, set by CLI flags or the loopback control endpoint
POST /devnet/faults) and one `FaultInjector` that answers "should this request / frame be
disturbed, and how?". The injector draws from its own seeded RNG, so a fault pattern is
reproducible for a given seed; it never sleeps or touches sockets itself (the server does).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields

# What the server does with one HTTP request (or ws post) after asking the injector.
PASS = "pass"
REJECT_429 = "429"
REJECT_5XX = "5xx"
EXECUTE_THEN_HANG = "execute_then_hang"  # executed, then the connection is closed unanswered
EXECUTE_THEN_SILENCE = "execute_then_silence"  # executed, then no answer and the socket stays open


@dataclass
class FaultConfig:
    """Every fault is off by default. Rates are fractions in [0, 1]."""

    drop_ws_every: float = 0.0  # seconds between forced drops of every websocket (0 = never)
    delay_ms: float = 0.0  # added before every HTTP response and ws post answer
    rate_429: float = 0.0  # fraction of requests answered 429 without executing
    rate_5xx: float = 0.0  # fraction of requests answered 502 without executing
    rate_timeout: float = 0.0  # fraction of /exchange requests executed, then closed unanswered
    rate_silence: float = 0.0  # fraction of /exchange requests executed, then never answered (socket open)
    ws_duplicate: float = 0.0  # fraction of pushed ws frames sent twice
    ws_reorder: float = 0.0  # fraction of pushed ws frames held back and sent after the next one
    ws_down: float = 0.0  # 1: the /ws endpoint is down (open sockets cut, new ones at once); REST works

    def update(self, changes: dict) -> FaultConfig:
        """Apply a partial update from JSON; unknown keys or bad values raise ValueError."""
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(known))}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"fault {key} must be a number")
            if value < 0 or (key.startswith(("rate_", "ws_")) and value > 1):
                raise ValueError(f"fault {key} out of range: {value}")
        for key, value in changes.items():
            setattr(self, key, float(value))
        return self

    def to_json(self) -> dict:
        return asdict(self)

    def any_active(self) -> bool:
        return any(v for v in asdict(self).values())


class FaultInjector:
    """Decides, per request and per pushed frame, which fault (if any) applies."""

    def __init__(self, config: FaultConfig | None = None, *, seed: int = 0) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(seed ^ 0x5EED_FA17)

    def request_fate(self, *, is_action: bool) -> str:
        """PASS, REJECT_429, REJECT_5XX or (actions only) EXECUTE_THEN_HANG / EXECUTE_THEN_SILENCE."""
        c = self.config
        if c.rate_429 and self._rng.random() < c.rate_429:
            return REJECT_429
        if c.rate_5xx and self._rng.random() < c.rate_5xx:
            return REJECT_5XX
        if is_action and c.rate_timeout and self._rng.random() < c.rate_timeout:
            return EXECUTE_THEN_HANG
        if is_action and c.rate_silence and self._rng.random() < c.rate_silence:
            return EXECUTE_THEN_SILENCE
        return PASS

    def delay_seconds(self) -> float:
        return self.config.delay_ms / 1000.0

    def disturb_frames(self, frames: list[bytes], held: list[bytes]) -> tuple[list[bytes], list[bytes]]:
        """Apply duplicate/reorder faults to frames about to be pushed on one socket.

        `held` is what this socket held back last time; returns (frames to send now, frames to
        hold for the next push). A held frame goes out right after the next frame, so a
        reordered frame is late by exactly one message, never lost.
        """
        c = self.config
        if not (c.ws_duplicate or c.ws_reorder or held):
            return frames, []
        out: list[bytes] = []
        pending = list(held)
        for frame in frames:
            if c.ws_reorder and not pending and self._rng.random() < c.ws_reorder:
                pending.append(frame)  # goes out right after the next frame
                continue
            out.append(frame)
            if c.ws_duplicate and self._rng.random() < c.ws_duplicate:
                out.append(frame)
            out.extend(pending)
            pending = []
        # A frame still held (nothing followed it in this batch) waits for the next push.
        return out, pending
