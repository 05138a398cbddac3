"""`perp portfolio`: the user's whole book across venues, as one account.

Exit codes: 0 when every venue answered. When one did not, the full answer is still printed
(that venue shown as unreachable, totals marked partial) and the command ends with the exit
code of the first venue in portfolio order that did not answer (5: unreachable, 4: the key
has no account there, 2: the venue is not set up), with one stderr line naming each missing
venue.
"""

from __future__ import annotations

import typer


def venue_list(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def open_session_for(name: str, *, many: bool):
    """The Session for one venue of the book, from the global options and the settings."""
    from perpcli.app.session import Session
    from perpcli.cli import context
    from perpcli.config import settings
    from perpcli.domain.errors import UsageError

    opts = context.current()
    extra = opts.extra or {}
    if many and (extra.get("url") or extra.get("vault_address")):
        raise UsageError("--url and --vault apply to one venue: set venues.<name>.url (or --venues NAME)")
    return Session.open(settings.current(), venue=name, url=extra.get("url"), network=extra.get("network"),
                        vault_address=extra.get("vault_address"), account=opts.account,
                        passphrase_file=opts.passphrase_file, address=opts.address)


def chosen_venues(venues: str | None) -> list[str]:
    """--venues, else the global --venue, else the configured portfolio."""
    from perpcli.app.portfolio import portfolio_venues
    from perpcli.cli import context
    from perpcli.config import settings

    named = venue_list(venues) or ([context.current().venue] if context.current().venue else [])
    return portfolio_venues(settings.current(), named)


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def show_portfolio(venues: str | None) -> None:
    from perpcli.app import portfolio, portfolio_views
    from perpcli.cli import output, venue_cmd
    from perpcli.config import settings

    names = chosen_venues(venues)
    book = portfolio.gather(lambda n: open_session_for(n, many=len(names) > 1), names, _now_ms)
    stale_after_ms = int(settings.current().get("stream.stale_after_seconds") * 1000)
    doc = portfolio_views.portfolio_doc(book, stale_after_ms=stale_after_ms)
    if venue_cmd.json_mode():
        output.emit_json(doc)
    else:
        _print_human(doc)
    if book.partial:
        venue_cmd.exit_with(book.exit_code(), book.missing_line())


def _print_human(doc: dict) -> None:
    import sys

    from perpcli.cli import output

    output.emit_table(doc["venues"], ["venue", "status", "equity", "margin_used", "free_collateral", "leverage",
                                      "unrealized_pnl", "positions", "closest_liquidation_distance_pct",
                                      "data_age_ms"], title="Venues")
    sys.stdout.write("\n")
    output.emit_table(doc["positions"], ["venue", "market", "underlying", "side", "size", "notional", "entry_price",
                                         "mark_price", "unrealized_pnl", "liquidation_price",
                                         "liquidation_distance_pct", "funding_apr"], title="Positions")
    sys.stdout.write("\n")
    output.emit_table(doc["exposure"], ["underlying", "net_size", "net_notional", "gross_notional", "venues"],
                      title="Net exposure by underlying")
    sys.stdout.write("\n")
    totals = dict(doc["totals"])
    output.emit_kv(totals, title="Totals (USD)" + (" - PARTIAL" if totals["partial"] else ""))


def show_funding_compare(underlyings: list[str] | None, venues: str | None, *, watch: bool = False,
                         every: float = 5.0, count: int | None = None) -> None:
    """`perp funding --compare`: exit codes as for `perp portfolio` (a venue that does not
    answer is listed under `missing` and its code ends the command). With --watch, a new board
    every `every` seconds (--json: one document per line) until Ctrl-C or `count` boards."""
    import time

    from perpcli.app import funding_board, portfolio_views
    from perpcli.cli import output, venue_cmd
    from perpcli.domain.errors import UsageError

    if every <= 0:
        raise UsageError("--every must be a positive number of seconds")
    if count is not None and count < 1:
        raise UsageError("--count must be 1 or more")
    names = chosen_venues(venues)
    shown = 0
    while True:
        board = funding_board.gather(lambda n: open_session_for(n, many=len(names) > 1), names,
                                     underlyings or [], _now_ms)
        doc = portfolio_views.funding_board_doc(board)
        if venue_cmd.json_mode():
            (output.emit_ndjson if watch else output.emit_json)(doc)
        else:
            _print_board(doc, clear=watch)
        shown += 1
        if not watch or (count is not None and shown >= count):
            break
        time.sleep(every)
    if board.missing:
        venue_cmd.exit_with(board.exit_code(), board.missing_line())


def _print_board(doc: dict, *, clear: bool) -> None:
    import sys

    from perpcli.cli import output

    if clear and sys.stdout.isatty():
        sys.stdout.write("\x1b[2J\x1b[H")
    output.emit_table(doc["quotes"], ["underlying", "venue", "market", "interval_hours", "apr", "predicted_apr",
                                      "mark_price", "basis_pct"], title="Funding by venue (APR)")
    sys.stdout.write("\n")
    output.emit_table(doc["pairs"], ["underlying", "long_venue", "long_apr", "short_venue", "short_apr",
                                     "carry_apr", "basis_pct"], title="Best long/short pair")
    if doc["missing"]:
        sys.stdout.write("missing\t" + ", ".join(m["venue"] for m in doc["missing"]) + "\n")
    sys.stdout.flush()


def run_all_venues(action: str, *, underlying: str | None = None, slippage: str = "1%") -> None:
    """`flatten --all-venues`, `cancel --all --all-venues`, `close UNDERLYING --all-venues`: one
    confirmation listing what each venue will do, then every venue at once. Each venue is
    reported on its own; the exit code is the worst venue's (6 over 1 over 5, 4, 3, 7, 2)."""
    from perpcli.app import cross_venue, order_plan
    from perpcli.cli import context, output, venue_cmd
    from perpcli.domain.errors import UsageError

    opts = context.current()
    if opts.venue:
        raise UsageError("--all-venues acts on the portfolio's venues (portfolio.venues): drop --venue")
    slip = order_plan.parse_percent(slippage, what="--slippage")
    names = chosen_venues(None)
    plans = cross_venue.plan(lambda n: open_session_for(n, many=len(names) > 1), names,
                             cancel_orders=action in ("flatten", "cancel"),
                             close_positions=action in ("flatten", "close"), underlying=underlying)
    try:
        for vp in plans:
            output.info(vp.describe())
        work = sum(vp.work for vp in plans)
        if work and not opts.dry_run:
            venue_cmd.require_yes_or_confirm(f"{action} on {len(plans)} venue(s) as listed")
        outcomes = cross_venue.execute(plans, slippage_pct=slip, dry_run=opts.dry_run)
    finally:
        cross_venue.close_all(plans)
    doc = {"action": action, "venues": [o.to_json() for o in outcomes]}
    if opts.dry_run:
        venue_cmd.emit_dry_run([r for o in outcomes for r in o.requests], doc)
    elif venue_cmd.json_mode():
        output.emit_json(doc)
    else:
        output.emit_table([{"venue": v["venue"], "status": v["status"], "exit_code": v["exit_code"],
                            "canceled": sum(c["status"] == "canceled" for c in v["cancels"]),
                            "closed": sum(c["status"] == "filled" for c in v["closes"]),
                            "error": v["error"] or next((c["error"] for c in v["closes"] + v["cancels"]
                                                         if c["error"]), None)}
                           for v in doc["venues"]], ["venue", "status", "exit_code", "canceled", "closed", "error"])
    code = cross_venue.worst([o.exit_code for o in outcomes])
    if code:
        failed = ", ".join(f"{o.venue} (exit {int(o.exit_code)})" for o in outcomes if o.exit_code)
        venue_cmd.exit_with(code, f"{action} incomplete on {failed}: see the results above")


def register(app: typer.Typer) -> None:
    @app.command("portfolio", help="Your book across venues: equity, margin, positions, net exposure.")
    def portfolio_cmd(
        venues: str = typer.Option(None, "--venues", help="Comma-separated venues (default: portfolio.venues)."),
    ) -> None:
        show_portfolio(venues)
