"""The ticket's live preview: app/preview.py's one preview (the same as `perp buy --preview`),
with its inputs read from the store, and laid out for the ticket.

This module only gathers the inputs the screen already holds (instrument, mark, the store's
account, the local book, the account's leverage setting, the venue's margin rules and the
account's fee rates) and renders the answer. A stale or resyncing book never prices a market
order: the model refuses, and the ticket says why.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from rich.text import Text

from perpcli.app.order_plan import MarketContext, OrderPlan
from perpcli.app.preview import Preview, PreviewInputs, preview, sizing_context
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import Side, TimeInForce
from perpcli.tui.bridge import WatchSource
from perpcli.tui.viewmodel import fmt_num

OrderPreview = Preview  # the ticket shows exactly what the CLI's --preview computes


def source_inputs(
    source: WatchSource,
    instrument: Instrument,
    mark: Decimal,
    *,
    instrument_of: Callable[[str], Instrument | None],
    mark_of: Callable[[str], Decimal | None],
) -> PreviewInputs:
    """A preview's inputs from the store: no I/O."""
    return PreviewInputs(
        instrument=instrument, mark=mark, account=source.account(), instrument_of=instrument_of,
        mark_of=mark_of, rules_of=lambda inst: source.margin_rules(inst.symbol), fees=source.fees(),
        # A book on a stale or resyncing feed is no book: it never prices an order.
        book=source.book(instrument.symbol) if source.book_usable(instrument.symbol) else None,
        leverage_setting=source.leverage(instrument.symbol),
    )


def ticket_context(inputs: PreviewInputs, mid: Decimal) -> MarketContext:
    """What the ticket sizes from (% of free collateral, risk to the stop): the preview's own."""
    return sizing_context(inputs, mid)


def compute_preview(plan: OrderPlan, inputs: PreviewInputs) -> OrderPreview:
    """Raises PerpError (RiskRefused / ValidationError) when the model cannot price the order."""
    return preview(plan, inputs)


def preview_text(p: OrderPreview, price_places: int | None = None, *, warning: str | None = None) -> Text:
    """The preview laid out for the ticket; prices at the market's `price_places` (its tick).

    Most important first, so a short terminal that shows only the top lines still shows what
    matters: a refusal (`warning`) or a margin shortfall, the fill, the resulting position and
    its liquidation price, margin; then fee and slippage.
    """
    m = p.model
    pp = price_places
    t = Text(no_wrap=False)
    side_style = "green" if p.side is Side.BUY else "red"
    t.append(f"{p.side.value.upper()} {p.size} {p.market} {p.leverage}x {p.mode.value}\n",
             style=f"bold {side_style}")
    if warning:
        t.append(f"refused: {warning}\n", style="bold red")
    if not m.sufficient_margin:
        t.append("not enough margin at this leverage\n", style="bold red")
    if p.takes:
        filled = m.filled if m.filled is not None else p.size
        t.append("fill ", style="dim")
        if filled < p.size:  # an IOC (or a market order on a thin book) fills only this much
            t.append(f"{fmt_num(filled)} of {fmt_num(p.size)} @ {fmt_num(m.average_price, pp)}\n", style="bold yellow")
            t.append(f"{fmt_num(p.size - filled)} not filled: cancelled\n", style="yellow")
        else:
            t.append(f"@ {fmt_num(m.average_price, pp)}\n")
    else:
        t.append(f"rests at {fmt_num(p.price, pp)} (maker)\n", style="dim")
    t.append("pos ", style="dim")
    t.append(f"{fmt_num(m.resulting_size)}  ")
    t.append("liq ", style="dim")
    t.append(f"{fmt_num(m.liquidation_price, 2 if pp is None else pp)}\n", style="bold")
    t.append("margin ", style="dim")
    t.append(f"{fmt_num(m.margin_required, 2)}  ")
    t.append("lev after ", style="dim")
    t.append(f"{fmt_num(m.account_leverage, 2)}x\n")
    t.append("fee ", style="dim")
    t.append(f"{fmt_num(m.fee, 4)} ")
    t.append(f"({'taker' if p.takes else 'maker'} {fmt_num(p.fee_rate * 100, 4)}%, {p.fee_source})\n", style="dim")
    if p.takes:
        t.append("slippage ", style="dim")
        t.append(f"{fmt_num(p.slippage_pct)}%\n")
    return t


def order_words(plan: OrderPlan) -> str:
    """The order as a trader reads it: "BUY 0.25 BTC limit IOC at 100.5 reduce-only"."""
    main = plan.main
    kind = plan.labels[0] if plan.labels else main.order_type.value
    tif = f" {main.tif.value.upper()}" if main.tif is not None and main.tif is not TimeInForce.GTC else ""
    where = f" at {fmt_num(main.price)}" if main.price is not None else ""
    trigger = f" trigger {fmt_num(main.trigger_price)}" if main.trigger_price is not None else ""
    ro = " reduce-only" if main.reduce_only else ""
    return f"{main.side.value.upper()} {fmt_num(main.size)} {plan.market} {kind}{tif}{trigger}{where}{ro}"


def order_question(plan: OrderPlan, p: OrderPreview, price_places: int | None = None) -> Text:
    """A confirmation: exactly the order a yes sends, and what it would do."""
    t = Text(f"{order_words(plan)} (notional {fmt_num(plan.notional, 2)} USD)?\n\n", style="bold")
    t.append_text(preview_text(p, price_places))
    return t
