"""Account commands: account, positions, orders, fills, funding-history.

They read the account the key trades for (an agent key reads its master's account), and say
which is which.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("account", help="Equity, margin used, withdrawable, leverage and margin ratio.")
    def account() -> None:
        from perpcli.cli.read_cmd import show_account

        show_account()

    @app.command("positions", help="Open positions (every perp dex).")
    def positions() -> None:
        from perpcli.cli.read_cmd import show_positions

        show_positions()

    @app.command("orders", help="Open orders (including untriggered stops and take-profits).")
    def orders(market: str = typer.Option(None, "--market", help="Only this market.")) -> None:
        from perpcli.cli.read_cmd import show_orders

        show_orders(market)

    @app.command("fills", help="Your recent fills.")
    def fills(
        since: str = typer.Option(None, "--since", help="1h, 2d, an ISO time, or Unix ms."),
        market: str = typer.Option(None, "--market", help="Only this market."),
    ) -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        since_ms = venue_cmd.parse_time_ms(since)
        with venue_cmd.session() as s:
            t = s.reader()
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
            rows = [views.funding_payment_row(f) for f in s.reader().funding_history(since_ms or 0)]
        venue_cmd.emit_rows(rows, ["time", "market", "amount", "rate", "position_size"])
