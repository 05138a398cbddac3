"""Bodies of `perp chase|trail|twap --client` and `perp algo ...`, free of Typer.

Starting an algo: plan it here (grammar, the market's rules, the [risk] guards, confirmation;
only reads, so a keystore key needs no passphrase yet), then run it where it can outlive this
process: in the session agent when one runs (this command returns at once with the algo's id),
else in the foreground of this process, until it ends or Ctrl-C cancels it.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import UsageError

COLUMNS = ["id", "kind", "market", "side", "size", "filled", "avg_price", "status", "venue", "started_at"]


def reach_of(s: Any) -> dict[str, Any]:
    """How the algo reaches its venue again (in the agent, or after a restart): as this command did."""
    from perpcli.cli import context

    opts = context.current()
    extra = opts.extra or {}
    return {"venue": s.venue, "url": extra.get("url"), "network": extra.get("network"),
            "vault_address": extra.get("vault_address"), "account": opts.account}


def _pct(text: str | None, what: str) -> Decimal | None:
    from perpcli.app import order_plan

    if text is None:
        return None
    value = order_plan.parse_percent(text if text.endswith("%") else text + "%", what=what)
    if value <= 0:
        raise UsageError(f"{what} must be above 0%")
    return value


def _plan_common(s: Any, side: str, market: str, size: str) -> tuple[Any, Decimal, Any, Decimal]:
    """(instrument, size on the lot grid, top-of-book snapshot, mark) for a new algo."""
    from perpcli.app import order_plan
    from perpcli.domain import order_rules as rules

    if side not in ("buy", "sell"):
        raise UsageError(f"side must be buy or sell, got {side!r}")
    sz = order_plan.parse_decimal(size, what="SIZE")
    inst = s.market.instrument(market)
    sz = rules.conform_size(inst, sz, what="SIZE")
    book = s.market.book(inst.symbol, depth=1)
    _mid, mark = s.market.reference_prices(inst.symbol)
    return inst, sz, book, mark


def _guards(s: Any, inst: Any, side: str, size: Decimal, price: Decimal, mark: Decimal, *, reduce_only: bool) -> None:
    from perpcli.app import actions
    from perpcli.app.risk import RiskLimits
    from perpcli.config import settings
    from perpcli.domain import order_rules as rules
    from perpcli.domain.orders import Side

    rules.check_order(inst, price=price, size=size, reduce_only=reduce_only, reference=mark)
    actions.check_standing_order(RiskLimits.from_settings(settings.current()), s.reader(), inst.symbol, Side(side),
                                 notional=size * price, prices=[price], mark=mark, reduce_only=reduce_only)


def start_chase(side: str, market: str, size: str, max_distance: str | None, ticks: int) -> None:
    from perpcli.app.algos.core import pct_of
    from perpcli.cli import venue_cmd
    from perpcli.domain import order_rules as rules

    if ticks < 1:
        raise UsageError("--ticks must be at least 1")
    dist = _pct(max_distance, "--max-distance")
    with venue_cmd.session() as s:
        inst, sz, book, mark = _plan_common(s, side, market, size)
        levels = book.bids if side == "buy" else book.asks
        if not levels:
            raise UsageError(f"the {inst.symbol} book has no {'bids' if side == 'buy' else 'asks'} to follow")
        touch = levels[0][0]
        cap = None
        if dist is not None:
            cap = rules.conform_price(inst, pct_of(touch, dist, up=side == "buy"),
                                      rules.safe_price_rounding(side == "buy", passive=True))
        _guards(s, inst, side, sz, cap or touch, mark, reduce_only=False)
        tick = rules.price_step(inst, touch) or inst.tick_size or inst.lot_size
        spec = {"kind": "chase", "market": inst.symbol, "side": side, "size": str(sz), "tick": str(tick),
                "ticks": ticks, "cap": str(cap) if cap is not None else None,
                "max_distance": f"{dist}%" if dist is not None else None}
        _launch(s, spec, f"chase: {side} {sz} {inst.symbol} from {rules.plain(touch)}"
                + (f" up to {rules.plain(cap)}" if cap else ""),
                notional=sz * (cap or touch))


def start_trail(side: str, market: str, size: str, distance: str, slippage: str) -> None:
    from perpcli.cli import venue_cmd

    dist = _pct(distance, "--distance")
    slip = _pct(slippage, "--slippage")
    with venue_cmd.session() as s:
        inst, sz, _book, mark = _plan_common(s, side, market, size)
        _guards(s, inst, side, sz, mark, mark, reduce_only=True)
        spec = {"kind": "trail", "market": inst.symbol, "side": side, "size": str(sz), "distance": str(dist),
                "slippage": str(slip)}
        _launch(s, spec, f"trail: {side} {sz} {inst.symbol} {dist}% behind the best mark (now {mark})",
                notional=sz * mark)


def start_twap(side: str, market: str, size: str, minutes: int, slices: int | None, reduce_only: bool,
               slippage: str) -> None:
    from perpcli.cli import venue_cmd
    from perpcli.domain import order_rules as rules

    if not 1 <= minutes <= 1440:
        raise UsageError("--minutes must be between 1 and 1440 for a client-side TWAP")
    n = slices if slices is not None else max(2, min(minutes * 2, 200))
    if not 1 <= n <= 1000 or n > minutes * 60:
        raise UsageError("--slices must be between 1 and 1000, at most one per second")
    slip = _pct(slippage, "--slippage")
    with venue_cmd.session() as s:
        inst, sz, _book, mark = _plan_common(s, side, market, size)
        each = rules.conform_size(inst, sz / n, rules.Rounding.TOWARD_ZERO, what="size per slice")
        parts = [each] * (n - 1) + [sz - each * (n - 1)]
        for part in set(parts):
            rules.check_order(inst, price=mark, size=part, reduce_only=reduce_only, reference=mark)
        _guards(s, inst, side, sz, mark, mark, reduce_only=reduce_only)
        interval_ms = minutes * 60_000 // n
        spec = {"kind": "twap", "market": inst.symbol, "side": side, "size": str(sz),
                "slices": [str(p) for p in parts], "interval_ms": interval_ms, "start_ms": time.time_ns() // 1_000_000,
                "slippage": str(slip), "reduce_only": reduce_only, "minutes": minutes}
        _launch(s, spec, f"client-side TWAP: {side} {sz} {inst.symbol} in {n} slices over {minutes} min",
                notional=sz * mark)


def _launch(s: Any, spec: dict[str, Any], what: str, *, notional: Decimal) -> None:
    from perpcli.app.algos import host, journal, views
    from perpcli.cli import context, output, venue_cmd

    opts = context.current()
    reach = reach_of(s)
    if opts.dry_run:
        venue_cmd.emit_doc({"dry_run": True, "algo": spec})
        output.info("dry run: nothing was started")
        return
    venue_cmd.require_yes_or_confirm(f"start {what}")
    if spec["kind"] == "twap":
        spec["start_ms"] = time.time_ns() // 1_000_000  # the schedule starts when confirmed
    reply = launch_in_session(spec, reach, [])
    if reply is not None and reply.get("handled"):
        if reply.get("error"):
            venue_cmd.exit_with(int(reply["code"]), reply["error"])
        venue_cmd.emit_doc(reply["algo"])
        output.info(f"{reply['algo']['id']} runs in the session: `perp algo show|logs|cancel "
                    f"{reply['algo']['id']}`")
        return
    _foreground(host.Host(owner="process"), spec, reach, journal, views)


def launch_in_session(spec: dict[str, Any], reach: dict[str, Any], first: list) -> dict | None:
    """Run the algo in the session agent: directly when this command runs in it, else by asking
    it over the socket. None when no session runs."""
    from perpcli.app.algos import host
    from perpcli.session import client

    h = host.session_host()
    if h is not None:  # this command runs inside the session agent (it holds the command lock)
        from perpcli.session import algo_ops

        return algo_ops._launch_here(h, spec, reach, first)
    reply = client.request({"op": "algo", "action": "launch", "spec": spec, "reach": reach,
                            "first": [host._update_json(u) for u in first]}, timeout_s=60)
    return reply if reply is not None and reply.get("handled") else None


def _foreground(h: Any, spec: dict[str, Any], reach: dict[str, Any], journal: Any, views: Any) -> None:
    """No session: run the algo here until it ends; Ctrl-C cancels it (its orders with it)."""
    from perpcli.cli import output, venue_cmd

    run = h.launch(spec, reach, background=False)
    output.info(f"{run.id} runs in this process until it ends (Ctrl-C cancels it); "
                "start `perp session` to run algos in the background")
    interrupted = False
    try:
        run.loop()
    except KeyboardInterrupt:
        interrupted = True
        run.cancel_requested = True
        deadline = time.monotonic() + 10
        while not run.algo.finished and time.monotonic() < deadline:
            run.step()
            time.sleep(0.2)
    doc = views.doc(journal.read(run.journal.path), live_status=run.status)
    venue_cmd.emit_doc(doc)
    if interrupted:
        venue_cmd.exit_with(130, f"interrupted: {run.id} canceled")
    if run.algo.status == "failed":
        reason = run.algo.state.get("reason") or "failed"
        venue_cmd.exit_with(7 if "guard" in reason else 3, f"{run.id} failed: {reason}")


# ----- perp algo ----------------------------------------------------------------------------

def _find(algo_id: str) -> Any:
    from perpcli.app.algos import journal

    rep = journal.find(algo_id)
    if rep is None:
        raise UsageError(f"no algo {algo_id!r} (see `perp algo list --all`)")
    return rep


def algo_list(include_ended: bool) -> None:
    from perpcli.app.algos import views
    from perpcli.cli import output, venue_cmd

    rows = views.rows(include_ended)
    if not rows and not venue_cmd.json_mode():
        output.info("no running algos" if not include_ended else "no algos")
        return
    venue_cmd.emit_rows(rows, COLUMNS)


def algo_show(algo_id: str) -> None:
    from perpcli.app.algos import views
    from perpcli.cli import venue_cmd

    venue_cmd.emit_doc(views.doc(_find(algo_id)))


def algo_logs(algo_id: str) -> None:
    from perpcli.app.algos import views
    from perpcli.cli import output, venue_cmd

    lines = views.logs(_find(algo_id))
    if venue_cmd.json_mode():
        output.emit_json(lines)
        return
    import sys

    for line in lines:
        sys.stdout.write(f"{line['time']}  {line['message']}\n")


def algo_cancel(algo_id: str) -> None:
    """Through the session that runs it; else here, from its journal (its working orders are
    cancelled with this process's key)."""
    from perpcli.app.algos import host, journal, views
    from perpcli.app.algos.core import TERMINAL
    from perpcli.cli import context, venue_cmd
    from perpcli.session import client

    rep = _find(algo_id)
    if views.status_of(rep) in TERMINAL:
        venue_cmd.emit_doc(views.doc(rep))
        return
    if not context.current().dry_run:
        venue_cmd.require_yes_or_confirm(f"cancel algo {algo_id} and its working orders")
    h = host.session_host()
    if h is not None:
        from perpcli.session import algo_ops

        reply = algo_ops._cancel(h, algo_id)
    else:
        reply = client.request({"op": "algo", "action": "cancel", "id": algo_id}, timeout_s=30)
    if reply is not None and reply.get("handled"):
        venue_cmd.emit_doc(reply["algo"])
        return
    here = host.Host(owner="process")
    run = here.rebuild(rep)
    run.execute(run.algo.cancel())
    run.journal.state(run.algo.state)
    run.journal.log("canceled from the command line (no session ran it)")
    venue_cmd.emit_doc(views.doc(journal.read(run.journal.path)))
