"""The body of `perp buy` / `perp sell`, free of Typer so the fast entry path can call it too.

Steps: parse and validate locally (exit 2), check the key (exit 4), plan, risk guards (exit 7),
--preview or --dry-run (nothing sent), --yes off a terminal (exit 2), send, settle, report
(0 ok, 3 rejected, 6 unknown).
"""

from __future__ import annotations

from dataclasses import dataclass

from perpcli.domain.errors import UsageError
from perpcli.venues.base import CollateralTrading


@dataclass
class OrderArgs:
    """`perp buy|sell` as typed: strings exactly as given (parsed and checked in place_order),
    flags as booleans. The Typer command and the fast path both build one of these."""

    side: str
    market: str
    size: str | None = None
    limit: str | None = None
    market_order: bool = False
    stop: str | None = None
    slippage: str | None = None
    tp: str | None = None
    sl: str | None = None
    reduce_only: bool = False
    post_only: bool = False
    ioc: bool = False
    cloid: str | None = None
    leverage: int | None = None
    isolated: bool = False
    preview: bool = False
    usd: str | None = None
    risk: str | None = None
    collateral: str | None = None  # venues that margin each trade on its own (Ostium)
    no_wait: bool = False  # keeper venues: return once accepted


def place_order(args: OrderArgs) -> None:
    from perpcli.app import actions, order_plan
    from perpcli.app.risk import RiskLimits
    from perpcli.cli import context, output, venue_cmd
    from perpcli.config import settings
    from perpcli.domain.orders import Side

    a = args
    if a.collateral is not None or a.no_wait:  # only a collateral x leverage venue (Ostium) takes these
        return _collateral_order(a)
    # 1. Grammar first: nothing touches the network until the request is well formed.
    size_spec = order_plan.parse_size(a.size, usd=a.usd, risk=a.risk)
    price_spec = order_plan.parse_price_flags(limit=a.limit, market=a.market_order, stop=a.stop, slippage=a.slippage)
    req = order_plan.OrderRequest(
        market=a.market, side=Side(a.side), size=size_spec, price=price_spec,
        tp=order_plan.parse_decimal(a.tp, what="--tp") if a.tp is not None else None,
        sl=order_plan.parse_decimal(a.sl, what="--sl") if a.sl is not None else None,
        reduce_only=a.reduce_only, post_only=a.post_only, ioc=a.ioc,
        cloid=a.cloid, leverage=a.leverage, isolated=a.isolated,
    )
    if a.isolated and a.leverage is None:
        raise UsageError("--isolated needs --leverage N (the mode is set together with the leverage)")
    opts = context.current()
    limits = RiskLimits.from_settings(settings.current())
    with venue_cmd.session() as s:
        if req.cloid is not None:  # the venue's client-id rule, before any key is read
            req.cloid = s.market.check_client_id(req.cloid, what="--cloid")
        trading = s.trading()
        if isinstance(trading, CollateralTrading):  # a venue whose orders are collateral x leverage
            from perpcli.cli.collateral_cmd import place_collateral_order

            return place_collateral_order(a, s)
        plan = actions.plan(s, trading, req)
        actions.check_risk(limits, plan)
        if a.preview:
            venue_cmd.emit_doc(actions.preview(s, trading, plan))
            output.info("preview: nothing was sent")
            return
        if not opts.dry_run:
            venue_cmd.require_yes_or_confirm(
                f"{a.side} {plan.main.size} {plan.market} (~{plan.notional.quantize(1)} USD) on {s.venue}",
                notional=plan.notional, threshold=limits.confirm_above_notional,
            )
        if plan.grouping != "na" and not trading.capabilities.bracket_orders:
            from perpcli.app.algos import bracket
            from perpcli.cli.algo_cmd import launch_in_session, reach_of

            outcome = bracket.place_with_oco(s, trading, plan, dry_run=opts.dry_run, reach=reach_of(s),
                                             launch=launch_in_session)
        else:
            outcome = actions.place(s, trading, plan, dry_run=opts.dry_run, bracket_policy=limits.on_bracket_failure)
    if opts.dry_run:
        main, *children = outcome.results
        venue_cmd.emit_dry_run(outcome.requests, {"order": _with_children(main, children)})
        return
    emit_results(outcome.results, unknown_step=outcome.unknown_step, warnings=outcome.warnings)


def _collateral_order(a: OrderArgs) -> None:
    from perpcli.app.collateral import uses_collateral_orders
    from perpcli.cli import venue_cmd
    from perpcli.cli.collateral_cmd import place_collateral_order
    from perpcli.venues import registry

    with venue_cmd.session() as s:
        if not uses_collateral_orders(registry.get_entry(s.venue).load_capabilities()):
            raise UsageError(f"--collateral and --no-wait apply to venues that margin each trade on its own "
                             f"(Ostium), not {s.venue}")
        place_collateral_order(a, s)


def _with_children(main, children) -> dict:
    doc = main.to_json()
    if children:
        doc["children"] = [c.to_json() for c in children]
    return doc


def emit_results(results, *, as_list: bool = False, unknown_step: str | None = None,
                 warnings: list[str] | None = None) -> None:
    from perpcli.app import actions
    from perpcli.cli import output, venue_cmd

    if venue_cmd.json_mode():
        if as_list:
            output.emit_json([r.to_json() for r in results])
        else:
            main, *children = results
            output.emit_json(_with_children(main, children))
    else:
        output.emit_table([r.to_json() for r in results],
                          ["market", "side", "size", "type", "trigger_price", "price", "status", "filled", "avg_price",
                           "oid", "error"])
    for w in warnings or []:
        output.warn(w)
    for r in results:
        if r.note and r.note not in (warnings or []):
            output.info(f"{r.market} {r.cloid}: {r.note}")
    if unknown_step is not None:
        venue_cmd.exit_with(6, unknown_step)
    code = actions.exit_code_for(results)
    if code:
        bad = next((r for r in results if r.status in ("unknown", "rejected")), results[0])
        what = "outcome unknown" if code == 6 else "rejected"
        venue_cmd.exit_with(code, f"order {what} on {bad.venue}: {bad.error or bad.status}"
                                  + (f" (cloid {bad.cloid}; check `perp orders`)" if code == 6 else ""))
