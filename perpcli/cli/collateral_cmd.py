"""`perp buy/sell/close/tpsl` on a venue whose trades each carry their own collateral and are
filled by a keeper (Ostium), free of Typer like order_cmd.

Steps, as for book venues: grammar (exit 2), what an earlier interrupted command left (settled
by hash and nonce, reported first, never resent), the venue's own rules checked locally (exit
2, before any transaction is built), the risk guards (exit 7), --preview / --dry-run (nothing
sent), --yes off a terminal, send, then wait for the keeper unless --no-wait. Exit: 0 done (or
accepted with --no-wait), 3 refused/reverted/cancelled by the keeper, 6 sent but not settled.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perpcli.domain.errors import UsageError

RESULT_COLUMNS = ["market", "side", "type", "status", "collateral", "leverage", "size", "avg_price", "order_id",
                  "trade_id", "liquidation_price", "error"]


def place_collateral_order(a: Any, s: Any) -> None:
    """`a` is order_cmd.OrderArgs; `s` the open Session."""
    from perpcli.app import collateral, order_plan
    from perpcli.app import preview as pv
    from perpcli.app.risk import RiskLimits
    from perpcli.cli import context, output, venue_cmd
    from perpcli.config import settings
    from perpcli.domain.orders import Side

    for flag, given in (("--reduce-only", a.reduce_only), ("--post-only", a.post_only), ("--ioc", a.ioc),
                        ("--cloid", a.cloid is not None), ("--risk", a.risk is not None)):
        if given:
            raise UsageError(f"{flag} does not apply on {s.venue}: each trade is its own isolated position sized "
                             "by collateral x leverage (close with `perp close`)")
    if a.size is not None and a.size.strip().endswith("%"):
        raise UsageError(f"SIZE as a % of free collateral does not apply on {s.venue}: use --collateral USDC")
    price_spec = order_plan.parse_price_flags(limit=a.limit, market=a.market_order, stop=a.stop, slippage=a.slippage)
    if price_spec.kind == "limit" and price_spec.limit is None:
        raise UsageError(f"--limit on {s.venue} is an absolute price (Ostium limit orders trigger at a price)")
    if price_spec.kind == "stop" and price_spec.limit is not None:
        raise UsageError(f"{s.venue} has no stop-limit orders: --stop PX alone opens at market when crossed")
    kind = price_spec.kind
    order = collateral.order_of(
        market=a.market, side=Side(a.side), kind=kind,
        leverage=Decimal(a.leverage) if a.leverage is not None else None,
        collateral=order_plan.parse_decimal(a.collateral, what="--collateral") if a.collateral is not None else None,
        usd=order_plan.parse_decimal(a.usd.lstrip("$"), what="--usd") if a.usd is not None else None,
        size=order_plan.parse_decimal(a.size, what="SIZE") if a.size is not None else None,
        price=price_spec.limit if kind == "limit" else price_spec.trigger,
        tp=order_plan.parse_decimal(a.tp, what="--tp") if a.tp is not None else None,
        sl=order_plan.parse_decimal(a.sl, what="--sl") if a.sl is not None else None,
        slippage_pct=price_spec.slippage_pct if kind == "market" else None,
    )
    opts = context.current()
    limits = RiskLimits.from_settings(settings.current())
    trading = collateral.collateral_side(s.reader() if a.preview else s.trading())
    earlier = [] if a.preview else report_earlier(trading, s.venue)
    q = collateral.quote(trading, order)
    collateral.check_risk(limits, q)
    shown = pv.collateral_preview(q)
    if a.preview:
        venue_cmd.emit_doc(shown)
        output.info("preview: nothing was sent")
        return
    if not opts.dry_run:
        venue_cmd.require_yes_or_confirm(confirm_text(shown, s.venue), notional=q.notional,
                                         threshold=limits.confirm_above_notional)
        if q.approval_needed:
            output.info(f"USDC allowance is short: an approval for {q.collateral + (q.oracle_fee or 0)} USDC is "
                        "sent first")
    outcome = collateral.open_trade(trading, q, venue=s.venue, dry_run=opts.dry_run, wait=not a.no_wait)
    if opts.dry_run:
        venue_cmd.emit_dry_run(outcome.requests, {"order": outcome.results[0].to_json(), "preview": shown})
        output.info("gas, fees and the nonce are set when sending (a transaction is simulated first)")
        return
    emit(outcome.results, earlier=earlier, waited=not a.no_wait)


def confirm_text(p: dict, venue: str) -> str:
    liq = f", liquidation {p['liquidation_price']}" if p.get("liquidation_price") is not None else ""
    fee = f", opening fee {p['opening_fee']} USDC" if p.get("opening_fee") is not None else ""
    return (f"{p['side']} {p['market']} {p['type']}: {p['collateral']} USDC x {p['leverage']} = {p['notional']} USD "
            f"at ~{p['expected_price']}{liq}{fee} on {venue}")


def report_earlier(trading: Any, venue: str) -> list:
    """Settle what an interrupted command left, and say what it became (stderr, one line each)."""
    from perpcli.app import collateral
    from perpcli.cli import output

    found = collateral.earlier(trading, venue)
    for r in found:
        what = r.label or r.type
        if r.status == "unknown":
            output.warn(f"earlier transaction {r.tx_hash} ({what}): {r.error}")
        else:
            tail = f"; trade {r.trade_id} at {r.avg_price}" if r.trade_id else ""
            why = f": {r.error}" if r.error else ""
            output.info(f"earlier transaction {r.tx_hash} (nonce {r.nonce}, {what}): {r.status}"
                        f"{' order ' + r.order_id if r.order_id else ''}{tail}{why}")
    return found


def emit(results: list, *, earlier: list, waited: bool, as_list: bool = False) -> None:
    from perpcli.app import collateral
    from perpcli.cli import output, venue_cmd

    if venue_cmd.json_mode():
        if as_list:
            doc: Any = [r.to_json() for r in results]
        else:
            doc = results[0].to_json()
            if earlier:
                doc["earlier"] = [r.to_json() for r in earlier]
        output.emit_json(doc)
    else:
        output.emit_table([r.to_json() for r in results], RESULT_COLUMNS)
    for r in results:
        if r.note:
            output.info(f"{r.market} {r.order_id or ''}: {r.note}".replace("  ", " "))
        if r.approved is not None:
            output.info(f"approved {r.approved} USDC for the collateral (the allowance was short)")
    code = collateral.exit_code_for(results, waited=waited)
    if code:
        bad = next(r for r in results if r.status not in ("filled", "resting", "ok"))
        if code == 6:
            where = f" (tx {bad.tx_hash}, nonce {bad.nonce})" if bad.tx_hash else ""
            venue_cmd.exit_with(code, f"order outcome unknown on {bad.venue}{where}: {bad.error or bad.note}")
        venue_cmd.exit_with(code, f"{bad.type} {bad.status} on {bad.venue}: {bad.error}")


def close_collateral(s: Any, market: str, *, percent: Decimal, slippage_pct: Decimal, trade_id: str | None,
                     wait: bool) -> None:
    from perpcli.app import collateral
    from perpcli.cli import context, venue_cmd

    opts = context.current()
    trading = collateral.collateral_side(s.trading())
    earlier = report_earlier(trading, s.venue)
    if not opts.dry_run:
        venue_cmd.require_yes_or_confirm(f"close {percent}% of the {market} trade on {s.venue}")
    outcome = collateral.close_trade(trading, market, percent=percent, slippage_pct=slippage_pct, trade_id=trade_id,
                                     venue=s.venue, dry_run=opts.dry_run, wait=wait)
    if opts.dry_run:
        venue_cmd.emit_dry_run(outcome.requests, {"order": outcome.results[0].to_json()})
        return
    emit(outcome.results, earlier=earlier, waited=wait)


def tpsl_collateral(s: Any, market: str, *, tp: str | None, sl: str | None, trade_id: str | None) -> None:
    from perpcli.app import collateral, order_plan
    from perpcli.cli import context, venue_cmd

    def price(text: str | None, what: str) -> tuple[Decimal | None, bool]:
        if text is None:
            return None, False
        if text.strip().lower() == "none":
            return None, True
        return order_plan.parse_decimal(text, what=what), False

    tp_px, clear_tp = price(tp, "--tp")
    sl_px, clear_sl = price(sl, "--sl")
    opts = context.current()
    trading = collateral.collateral_side(s.trading())
    earlier = report_earlier(trading, s.venue)
    if not opts.dry_run:
        venue_cmd.require_yes_or_confirm(f"set {market} take-profit/stop-loss on {s.venue}")
    outcome = collateral.update_tpsl(trading, market, tp=tp_px, sl=sl_px, clear_tp=clear_tp, clear_sl=clear_sl,
                                     trade_id=trade_id, venue=s.venue, dry_run=opts.dry_run)
    if opts.dry_run:
        venue_cmd.emit_dry_run(outcome.requests, {"updates": [r.to_json() for r in outcome.results]})
        return
    emit(outcome.results, earlier=earlier, waited=False, as_list=True)


def flatten_collateral(s: Any, *, slippage_pct: Decimal) -> None:
    """Cancel every resting order (one transaction each) and close every trade at market."""
    from perpcli.app import collateral
    from perpcli.cli import context, output, venue_cmd

    opts = context.current()
    trading = collateral.collateral_side(s.trading())
    earlier = report_earlier(trading, s.venue)
    plan = collateral.flatten_plan(trading)
    if not opts.dry_run:
        venue_cmd.require_yes_or_confirm(f"cancel {len(plan.resting)} order(s) and close {len(plan.trades)} "
                                         f"trade(s) on {s.venue}")
    done = collateral.flatten(trading, plan, venue=s.venue, slippage_pct=slippage_pct, dry_run=opts.dry_run)
    cancels, closes = done.cancels, done.closes
    doc: dict[str, Any] = {"cancels": [c.to_json() for c in cancels], "closes": [r.to_json() for r in closes]}
    if opts.dry_run:
        venue_cmd.emit_dry_run(done.requests, doc)
        return
    if earlier:
        doc["earlier"] = [r.to_json() for r in earlier]
    if venue_cmd.json_mode():
        output.emit_json(doc)
    else:
        output.info(f"canceled {sum(c.status == 'canceled' for c in cancels)} order(s)")
        if closes:
            output.emit_table(doc["closes"], RESULT_COLUMNS)
    if done.exit_code:
        venue_cmd.exit_with(done.exit_code, "flatten incomplete: see the results above")
