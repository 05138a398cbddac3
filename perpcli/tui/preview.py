"""The ticket's live preview: what the order would do, computed from the store (no network).

Fill estimate and slippage walk the local book (ledger/book.py `execution`); fee, margin,
resulting leverage and liquidation price come from the ledger's margin model. A stale or
resyncing book is never used to estimate a fill: the preview says so instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rich.text import Text

from perpcli.app.order_plan import MarketContext, OrderPlan
from perpcli.domain.events import AccountSnapshot
from perpcli.domain.orders import OrderType, Side, TimeInForce
from perpcli.ledger.book import OrderBook
from perpcli.tui.viewmodel import fmt_num

ZERO = Decimal(0)
# Hyperliquid base-tier fees (protocol notes §d.11), used until the account's own tier is known.
TAKER_FEE = Decimal("0.00045")
MAKER_FEE = Decimal("0.00015")


@dataclass(frozen=True)
class OrderPreview:
    market: str
    side: Side
    size: Decimal
    price: Decimal  # limit / worst price
    takes: bool  # crosses the book now (taker) vs rests (maker)
    fill_size: Decimal  # what the book can fill now at or better than the price
    avg_price: Decimal | None
    slippage_pct: Decimal | None  # vs mid, > 0 is worse for us
    fee: Decimal
    notional: Decimal
    margin: Decimal  # initial margin the order adds (0 when it only reduces)
    leverage_after: Decimal | None  # account notional / equity after the fill
    position_after: Decimal
    liquidation_price: Decimal | None
    note: str = ""


def compute_preview(plan: OrderPlan, ctx: MarketContext, book: OrderBook | None,
                    account: AccountSnapshot | None) -> OrderPreview:
    main = plan.main
    price = main.price or plan.reference_price
    is_buy = main.side is Side.BUY
    note = ""
    fill = ZERO
    avg = slip = None
    trigger = main.order_type not in (OrderType.LIMIT, OrderType.MARKET)
    best = None
    if book is not None:
        best = book.best_ask() if is_buy else book.best_bid()
    takes = (not trigger and main.tif is not TimeInForce.ALO and best is not None
             and (best[0] <= price if is_buy else best[0] >= price))
    if takes:
        if book is None or not book.is_usable:
            note = "book not usable: no fill estimate"
        else:
            ex = book.execution(main.side, main.size)
            # only levels at or better than our price fill
            if ex.worst_price is not None and (ex.worst_price > price if is_buy else ex.worst_price < price):
                fill = sum((sz for px, sz in book.levels(main.side.opposite)
                            if (px <= price if is_buy else px >= price)), ZERO)
                fill = min(fill, main.size)
                ex = book.execution(main.side, fill) if fill > 0 else ex
            else:
                fill = ex.filled
            avg = ex.average_price
            if avg is not None and ctx.mid:
                raw = (avg - ctx.mid) / ctx.mid if is_buy else (ctx.mid - avg) / ctx.mid
                slip = (raw * 100).quantize(Decimal("0.0001"))
    exec_price = avg or price
    notional = main.size * exec_price
    fee = (notional * (TAKER_FEE if takes else MAKER_FEE)).quantize(Decimal("0.0001"))
    current = ZERO
    lev = ctx.current_leverage or 1
    total_notional = ZERO
    equity = ctx.equity
    if account is not None:
        for p in account.positions:
            if p.symbol == plan.market:
                current = p.size
                lev = p.leverage or lev
            else:
                total_notional += abs(p.size) * p.entry_price
    if plan.leverage:
        lev = plan.leverage
    after = current + (main.size if is_buy else -main.size)
    grows = abs(after) > abs(current)
    margin = ((abs(after) - abs(current)) * exec_price / lev).quantize(Decimal("0.01")) if grows else ZERO
    total_notional += abs(after) * exec_price
    lev_after = (total_notional / equity).quantize(Decimal("0.01")) if equity > 0 else None
    liq = _liquidation(plan, ctx, account, after, exec_price, lev)
    return OrderPreview(plan.market, main.side, main.size, price, takes, fill, avg, slip, fee, notional,
                        margin, lev_after, after, liq, note)


def _liquidation(plan: OrderPlan, ctx: MarketContext, account: AccountSnapshot | None, after: Decimal,
                 price: Decimal, leverage: int) -> Decimal | None:
    """Liquidation price of the resulting position, from the ledger's margin model."""
    if after == 0:
        return None
    try:
        from perpcli.ledger import margin  # the one margin model (initial/maintenance, liq price)
    except ImportError:
        return None
    return margin.preview_liquidation_price(
        instrument=ctx.instrument, account=account, symbol=plan.market, size_after=after, price=price,
        leverage=leverage, equity=ctx.equity,
    )


def preview_text(p: OrderPreview) -> Text:
    t = Text(no_wrap=False)
    side_style = "green" if p.side is Side.BUY else "red"
    t.append(f"{p.side.value.upper()} {p.size} {p.market}\n", style=f"bold {side_style}")
    if p.takes:
        t.append("fill ", style="dim")
        t.append(f"{fmt_num(p.fill_size)} @ {fmt_num(p.avg_price)}\n")
        t.append("slippage ", style="dim")
        t.append(f"{fmt_num(p.slippage_pct)}%\n")
    else:
        t.append(f"rests at {fmt_num(p.price)} (maker)\n", style="dim")
    t.append("fee ", style="dim")
    t.append(f"{fmt_num(p.fee, 4)}  ")
    t.append("margin ", style="dim")
    t.append(f"{fmt_num(p.margin, 2)}\n")
    t.append("lev after ", style="dim")
    t.append(f"{fmt_num(p.leverage_after)}x\n")
    t.append("position ", style="dim")
    t.append(f"{fmt_num(p.position_after)}\n")
    t.append("liq ", style="dim")
    t.append(f"{fmt_num(p.liquidation_price, 2)}\n", style="bold")
    if p.note:
        t.append(p.note, style="yellow")
    return t
