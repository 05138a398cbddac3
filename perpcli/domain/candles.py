"""Candle intervals the whole program shares: the devnet engine aggregates these, the TUI's chart
switches between them, and each is a whole number of minutes (Hyperliquid's spelling)."""

from __future__ import annotations

CANDLE_INTERVALS_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}
