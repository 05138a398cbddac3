"""A perp position folded from fills and funding. Immutable: every change returns a new one.

Entry price is the size-weighted average of opening fills and does not move on closing
fills; a fill that flips the position opens the remainder at the fill price (§d.10).
Realised PnL here is price PnL only; fees and funding are kept apart so a user can see what
each cost (the venue's `closedPnl` mixes them differently per venue).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from perpcli.domain.instrument import MarginMode
from perpcli.ledger.margin import resulting_position

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    size: Decimal = ZERO  # signed: + long, − short
    entry_price: Decimal | None = None
    realized_pnl: Decimal = ZERO  # price PnL of closed size, before fees
    fees_paid: Decimal = ZERO  # > 0 paid, < 0 net rebates
    funding: Decimal = ZERO  # > 0 received, < 0 paid
    margin_mode: MarginMode = MarginMode.CROSS
    leverage: int | None = None
    isolated_margin: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return bool(self.size)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        if not self.size or self.entry_price is None:
            return ZERO
        return self.size * (mark - self.entry_price)

    def with_fill(self, signed_size: Decimal, price: Decimal, fee: Decimal) -> tuple[Position, Decimal]:
        """(position after the fill, realised price PnL of this fill)."""
        size, entry, realised = resulting_position(self.size, self.entry_price or ZERO, signed_size, price)
        return (
            replace(
                self,
                size=size,
                entry_price=entry,
                realized_pnl=self.realized_pnl + realised,
                fees_paid=self.fees_paid + fee,
            ),
            realised,
        )

    def with_funding(self, amount: Decimal) -> Position:
        return replace(self, funding=self.funding + amount)
