"""The ticket of a venue that trades by collateral x leverage (Ostium): its fields turned into
the app layer's CollateralOrder, and the venue's quote of it laid out for the ticket.

WHY the CLI's grammar: the ticket must open exactly the trade `perp --venue ostium buy XAU
--collateral 500 --leverage 10 --market [--limit P | --stop P] [--usd N | SIZE] [--tp P --sl P]`
opens, so its text goes through the same parsers (app/order_plan.py) into the same
`collateral.order_of`. Fields that mean nothing on such a venue (reduce-only, post-only, a size
as a % of free collateral or of risk) are refused with one plain sentence, as the CLI refuses
their flags. The preview is `collateral.collateral_preview`'s document (what `perp buy
--preview --json` prints), so the liquidation price on the ticket is the CLI's.

Pure: no textual, no I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.text import Text

from perpcli.app import collateral
from perpcli.app.order_plan import parse_decimal
from perpcli.domain.errors import UsageError
from perpcli.tui.ticket_model import TicketForm
from perpcli.tui.viewmodel import fmt_num
from perpcli.venues.base import CollateralOrder

SIZE_MODES = ("collateral", "usd", "units")  # collateral in USDC (x leverage), a USD notional, base units
SIZE_MODE_LABELS = {"collateral": "USDC coll.", "usd": "USD notional", "units": "units"}


def order_of_form(form: TicketForm) -> CollateralOrder:
    """The form as a CollateralOrder; UsageError names the field that is not valid (yet)."""
    if form.reduce_only:
        raise UsageError("reduce-only does not apply here: each trade is its own isolated position "
                         "(close it with x)")
    if form.post_only:
        raise UsageError("post-only does not apply here: a limit order opens at market when the price reaches it")
    if form.size_mode not in SIZE_MODES:
        raise UsageError("a size as a % does not apply here: give the collateral (USDC), a USD notional or units")
    text = form.size.strip()
    if not text:
        raise UsageError({"collateral": "enter the collateral (USDC)", "usd": "enter the notional (USD)",
                          "units": "enter a size"}[form.size_mode])
    amount = parse_decimal(text.lstrip("$"), what={"collateral": "collateral", "usd": "notional (USD)",
                                                   "units": "size"}[form.size_mode])
    leverage = parse_decimal(form.leverage, what="leverage") if form.leverage.strip() else None
    price: Decimal | None = None
    if form.order_type in ("limit", "stop"):
        if not form.price.strip():
            raise UsageError("enter the limit price" if form.order_type == "limit" else "enter the stop's trigger price")
        price = parse_decimal(form.price, what="price" if form.order_type == "limit" else "trigger price")
    elif form.order_type != "market":
        raise UsageError(f"unknown order type {form.order_type!r}")
    return collateral.order_of(
        market=form.market, side=form.side, kind=form.order_type, leverage=leverage,
        collateral=amount if form.size_mode == "collateral" else None,
        usd=amount if form.size_mode == "usd" else None,
        size=amount if form.size_mode == "units" else None,
        price=price, tp=_opt(form.tp, "TP"), sl=_opt(form.sl, "SL"), slippage_pct=None,
    )


def _opt(text: str, what: str) -> Decimal | None:
    return parse_decimal(text, what=what) if text.strip() else None


def preview_text(doc: dict[str, Any], *, warning: str | None = None) -> Text:
    """`collateral_preview`'s document for the ticket, most important first: a refusal, then the
    trade, its liquidation price, collateral x leverage, the price, fees, TP/SL, the wallet.
    Prices are shown exactly as the document has them (on the market's grid)."""
    buy = doc["side"] == "buy"
    t = Text(no_wrap=False)
    t.append(f"{doc['side'].upper()} {fmt_num(doc['size'])} {doc['market']} {fmt_num(doc['leverage'])}x isolated\n",
             style=f"bold {'green' if buy else 'red'}")
    if warning:
        t.append(f"refused: {warning}\n", style="bold red")
    t.append("liq ", style="dim")
    t.append(f"{fmt_num(doc['liquidation_price'])}\n", style="bold")
    t.append(f"{fmt_num(doc['collateral'])} USDC x {fmt_num(doc['leverage'])} = {fmt_num(doc['notional'])} USD\n")
    at = "at" if doc["type"] == "market" else "opens at" if doc["type"] == "limit" else "triggers at"
    t.append(f"{at} ~{fmt_num(doc['expected_price'])}", style="")
    if doc.get("worst_price") is not None:
        t.append(f" (worst {fmt_num(doc['worst_price'])})", style="dim")
    t.append("\n")
    fees = [f"{name} {fmt_num(doc[key])}" for name, key in (("opening", "opening_fee"), ("oracle", "oracle_fee"))
            if doc.get(key) is not None]
    t.append(f"fees {', '.join(fees)} USDC\n" if fees else "fees: not reported by the venue\n", style="dim")
    if doc.get("tp") is not None or doc.get("sl") is not None:
        t.append(f"TP {fmt_num(doc.get('tp'))}  SL {fmt_num(doc.get('sl'))}\n")
    t.append(f"wallet {fmt_num(doc['wallet'], 2)} -> {fmt_num(doc['wallet_after'], 2)} USDC\n", style="dim")
    if doc.get("approval_needed"):
        t.append("a USDC approval is sent first (allowance short)\n", style="yellow")
    if doc["type"] == "market":
        t.append("the keeper fills it in its own transaction", style="dim")
    return t


def confirm_question(doc: dict[str, Any], venue: str) -> Text:
    """What a yes opens, in the words `perp buy` asks with, the liquidation price included."""
    fee = f", opening fee {fmt_num(doc['opening_fee'])} USDC" if doc.get("opening_fee") is not None else ""
    approval = "\nA USDC approval is sent first (the allowance is short)." if doc.get("approval_needed") else ""
    return Text(f"Open {doc['side']} {doc['market']} {doc['type']} on {venue}: {fmt_num(doc['collateral'])} USDC x "
                f"{fmt_num(doc['leverage'])} = {fmt_num(doc['notional'])} USD at ~{fmt_num(doc['expected_price'])}, "
                f"liquidation {fmt_num(doc['liquidation_price'])}{fee}?{approval}", style="bold")
