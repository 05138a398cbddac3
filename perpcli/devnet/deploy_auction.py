"""The venue's deploy gas auctions (HIP-1 spot tokens, HIP-3 perp dexs) as the devnet shows them.

The venue sells the right to deploy through a Dutch auction that restarts every 31 hours; its
reads (`perpDeployAuctionStatus`, `spotDeployState.gasAuction`) tell a deployer the current
price. Nobody deploys on a devnet, so every auction runs its whole course: the price falls
linearly from the start to the floor and no auction ever ends with a winner (`endGas` null).
Pure: the time is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from perpcli.devnet.render import dec

DURATION_SECONDS = 111_600  # 31 hours, as on the venue
_GAS_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class GasAuction:
    start_gas: Decimal  # HYPE asked when an auction opens
    floor_gas: Decimal  # HYPE asked when it closes unsold

    def status(self, now_ms: int) -> dict:
        """The auction running at `now_ms` in the venue's shape (decimals as strings)."""
        now_s = now_ms // 1000
        start = now_s - now_s % DURATION_SECONDS
        elapsed = Decimal(now_s - start) / DURATION_SECONDS
        current = self.start_gas - (self.start_gas - self.floor_gas) * elapsed
        return {
            "startTimeSeconds": start,
            "durationSeconds": DURATION_SECONDS,
            "startGas": dec(self.start_gas),
            "currentGas": dec(current.quantize(_GAS_QUANTUM, rounding=ROUND_DOWN)),
            "endGas": None,
        }


PERP_DEX_AUCTION = GasAuction(start_gas=Decimal(1000), floor_gas=Decimal(500))
SPOT_TOKEN_AUCTION = GasAuction(start_gas=Decimal(2000), floor_gas=Decimal(500))
