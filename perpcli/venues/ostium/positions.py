"""Open Ostium trades, as read back from the chain, in the shared position shape.

Every Ostium trade is its own isolated position, addressed by (pair, index): two gold longs
are two trades with their own collateral, leverage, TP/SL and liquidation price. The numbers
here are the chain's (TradingStorage and PairsInfo views); only unrealised PnL is computed,
from the oracle mark, the way Ostium does: percent profit = (mark / open - 1) x leverage,
capped at +900% of the collateral.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perpcli.domain.events import PositionSnapshot
from perpcli.domain.instrument import MarginMode
from perpcli.venues.ostium.events import TradeTuple

MAX_GAIN_MULTIPLE = Decimal(9)  # Ostium caps a trade's profit at +900% of its collateral


@dataclass(frozen=True, slots=True)
class OpenTrade:
    trade: TradeTuple
    trade_id: int
    created_at_s: int
    liquidation_price: Decimal | None
    rollover_fee: Decimal  # accrued, USDC, > 0 owed by the trader
    funding_fee: Decimal  # accrued, USDC, > 0 owed by the trader

    @property
    def order_id(self) -> str:
        """The opaque id the seam shows: pair and index ("5:0")."""
        return f"{self.trade.pair_index}:{self.trade.index}"

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """Price PnL before fees, capped as Ostium caps it."""
        t = self.trade
        move = (mark - t.open_price) / t.open_price
        pnl = t.notional * (move if t.buy else -move)
        return min(pnl, t.collateral * MAX_GAIN_MULTIPLE)

    def to_snapshot(self, symbol: str, mark: Decimal | None) -> PositionSnapshot:
        t = self.trade
        leverage = int(t.leverage) if t.leverage == t.leverage.to_integral_value() else None
        return PositionSnapshot(
            symbol=symbol,
            size=t.size,
            entry_price=t.open_price,
            margin_mode=MarginMode.ISOLATED,
            leverage=leverage,
            isolated_margin=t.collateral,
            unrealized_pnl=self.unrealized_pnl(mark) if mark is not None else None,
            liquidation_price=self.liquidation_price,
            funding_since_open=self.rollover_fee + self.funding_fee,
            position_id=self.order_id,
        )


def parse_order_id(text: str) -> tuple[int, int]:
    """"5:0" -> (pair index, trade index); ValueError otherwise."""
    pair, sep, index = text.partition(":")
    if not sep or not pair.isdigit() or not index.isdigit():
        raise ValueError(f"an Ostium trade id is PAIR:INDEX (e.g. 5:0), got {text!r}")
    p, i = int(pair), int(index)
    if p > 0xFFFF or i > 0xFF:
        raise ValueError(f"an Ostium trade id is PAIR:INDEX within uint16:uint8, got {text!r}")
    return p, i
