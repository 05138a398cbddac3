"""The ticket's live preview: the ledger margin model's pre-trade preview, from the store.

`margin.preview_order` walks the local book for the fill estimate and slippage and computes
fee, margin, resulting leverage and liquidation price; this module only gathers its inputs
(instrument, mark, cash, marked positions, leverage setting) and lays the answer out. A stale
or resyncing book never prices a market order: the model refuses, and the ticket says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from rich.text import Text

from perpcli.app.order_plan import MarketContext, OrderPlan
from perpcli.domain.events import AccountSnapshot
from perpcli.domain.instrument import Instrument, MarginMode
from perpcli.domain.orders import OrderType, Side, TimeInForce
from perpcli.ledger import margin
from perpcli.ledger.book import OrderBook
from perpcli.tui.risk_view import cash_of, position_risks
from perpcli.tui.viewmodel import fmt_num

ZERO = Decimal(0)
# Hyperliquid base-tier fees (protocol notes §d.11): the account's own tier is not known here.
TAKER_FEE = Decimal("0.00045")
MAKER_FEE = Decimal("0.00015")


@dataclass(frozen=True)
class OrderPreview:
    market: str
    side: Side
    size: Decimal
    price: Decimal  # limit / worst price sent
    takes: bool  # expected to take liquidity now (taker fee) rather than rest (maker)
    leverage: int
    model: margin.OrderPreview

    # the figures the ticket shows, named for the tests and the screen
    @property
    def avg_price(self) -> Decimal:
        return self.model.average_price

    @property
    def slippage_pct(self) -> Decimal | None:
        s = self.model.slippage
        return None if s is None else (s * 100).quantize(Decimal("0.0001"))

    @property
    def fee(self) -> Decimal:
        return self.model.fee

    @property
    def margin(self) -> Decimal:
        return self.model.margin_required

    @property
    def leverage_after(self) -> Decimal:
        return self.model.account_leverage

    @property
    def liquidation_price(self) -> Decimal | None:
        return self.model.liquidation_price


def compute_preview(
    plan: OrderPlan,
    ctx: MarketContext,
    book: OrderBook | None,
    account: AccountSnapshot | None,
    *,
    instrument_of: Callable[[str], Instrument | None],
    mark_of: Callable[[str], Decimal | None],
    leverage_setting: tuple[int | None, bool] = (None, True),
) -> OrderPreview:
    """Raises PerpError (RiskRefused / ValidationError) when the model cannot price the order."""
    main = plan.main
    is_buy = main.side is Side.BUY
    price = main.price or plan.reference_price
    best = None
    if book is not None:
        best = book.best_ask() if is_buy else book.best_bid()
    is_market = main.order_type is OrderType.MARKET
    trigger = main.order_type.is_trigger
    takes = is_market or (not trigger and main.tif is not TimeInForce.ALO and best is not None
                          and (best[0] <= price if is_buy else best[0] >= price))
    positions = position_risks(account, instrument_of, mark_of) if account is not None else []
    held = next((p for p in positions if p.symbol == plan.market), None)
    set_lev, is_cross = leverage_setting
    leverage = plan.leverage or (held.leverage if held else None) or set_lev or ctx.instrument.max_leverage
    mode = held.mode if held else (MarginMode.ISOLATED if (plan.isolated or not is_cross) else MarginMode.CROSS)
    model = margin.preview_order(
        instrument=ctx.instrument, side=main.side, size=main.size, mark_price=ctx.mark,
        cash=cash_of(account) if account is not None else ZERO, positions=positions, leverage=leverage,
        mode=mode, fee_rate=TAKER_FEE if takes else MAKER_FEE, book=book,
        limit_price=None if is_market else (main.trigger_price if trigger else price),
    )
    return OrderPreview(plan.market, main.side, main.size, price, takes, leverage, model)


def preview_text(p: OrderPreview) -> Text:
    m = p.model
    t = Text(no_wrap=False)
    side_style = "green" if p.side is Side.BUY else "red"
    t.append(f"{p.side.value.upper()} {p.size} {p.market} {p.leverage}x\n", style=f"bold {side_style}")
    if p.takes:
        t.append("fill ", style="dim")
        t.append(f"@ {fmt_num(m.average_price)}" + ("" if m.fillable else " (book too thin)") + "\n")
        t.append("slippage ", style="dim")
        t.append(f"{fmt_num(p.slippage_pct)}%\n")
    else:
        t.append(f"rests at {fmt_num(p.price)} (maker)\n", style="dim")
    t.append("fee ", style="dim")
    t.append(f"{fmt_num(m.fee, 4)}  ")
    t.append("margin ", style="dim")
    t.append(f"{fmt_num(m.margin_required, 2)}\n")
    t.append("lev after ", style="dim")
    t.append(f"{fmt_num(m.account_leverage, 2)}x  ")
    t.append("pos ", style="dim")
    t.append(f"{fmt_num(m.resulting_size)}\n")
    t.append("liq ", style="dim")
    t.append(f"{fmt_num(m.liquidation_price, 2)}\n", style="bold")
    if not m.sufficient_margin:
        t.append("not enough margin at this leverage\n", style="bold red")
    return t
