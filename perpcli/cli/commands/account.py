"""Account commands: account, positions, orders, fills, funding-history.

They read the account the key trades for (an agent key reads its master's account), and say
which is which.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("account", help="Equity, margin used, withdrawable, leverage and margin ratio.")
    def account() -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        with venue_cmd.session() as s:
            t = s.trading()
            snap = t.account()
            marks = {mp.symbol: mp.mark_price for mp in s.market.mark_prices("")}
            row = views.account_row(snap, venue=s.venue, signer=t.signer_address, role=t.resolve_account().role,
                                    marks=marks)
        venue_cmd.emit_doc(row)

    @app.command("positions", help="Open positions.")
    def positions() -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        with venue_cmd.session() as s:
            positions, marks = s.trading().positions()
            rows = [views.position_row(p, venue=s.venue, mark=marks.get(p.symbol)) for p in positions]
        venue_cmd.emit_rows(rows, ["market", "size", "entry_price", "mark_price", "unrealized_pnl",
                                   "liquidation_price", "leverage", "margin_mode", "margin_used"])

    @app.command("orders", help="Open orders (including untriggered stops and take-profits).")
    def orders(market: str = typer.Option(None, "--market", help="Only this market.")) -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        with venue_cmd.session() as s:
            t = s.trading()
            os_ = t.open_orders()
            if market:
                sym = s.market.instrument(market).symbol
                os_ = [o for o in os_ if o.symbol == sym]
            rows = [views.order_row(o, venue=s.venue) for o in os_]
        venue_cmd.emit_rows(rows, ["oid", "market", "side", "size", "price", "type", "trigger_price",
                                   "reduce_only", "status", "cloid"])

    @app.command("fills", help="Your recent fills.")
    def fills(
        since: str = typer.Option(None, "--since", help="1h, 2d, an ISO time, or Unix ms."),
        market: str = typer.Option(None, "--market", help="Only this market."),
    ) -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        since_ms = venue_cmd.parse_time_ms(since)
        with venue_cmd.session() as s:
            t = s.trading()
            fs = t.fills(since_ms)
            if market:
                sym = s.market.instrument(market).symbol
                fs = [f for f in fs if f.symbol == sym]
        fs = sorted(fs, key=lambda f: f.time_ms)
        venue_cmd.emit_rows([views.fill_row(f) for f in fs],
                            ["time", "market", "side", "size", "price", "fee", "closed_pnl", "oid"])

    @app.command("funding-history", help="Funding paid and received on your positions.")
    def funding_history(since: str = typer.Option("7d", "--since", help="1h, 7d, an ISO time, or Unix ms.")) -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        since_ms = venue_cmd.parse_time_ms(since)
        with venue_cmd.session() as s:
            rows = [views.funding_payment_row(f) for f in s.trading().funding_history(since_ms or 0)]
        venue_cmd.emit_rows(rows, ["time", "market", "amount", "rate", "position_size"])
