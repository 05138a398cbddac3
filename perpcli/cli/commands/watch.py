"""`perp watch [MARKET...]`: the live trading terminal (Textual).

Market data needs no key. With a key (--account, PERPCLI_PRIVATE_KEY, or the only stored key)
the ticket, the hotkeys and the account panels come alive; without one the terminal says
"market data only" and every order action is refused before anything is signed.
`--no-trading` (or `--address 0x...`) shows the account panels read-only, from the address
alone: no passphrase is asked and no key is decrypted.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("watch", help="Live terminal: order book, chart, trades, positions, orders and an order ticket.")
    def watch(
        markets: list[str] = typer.Argument(None, help="Markets to open as tabs (default: the first three)."),
        no_trading: bool = typer.Option(
            False, "--no-trading",
            help="Read-only: account panels from --address or the stored key's address; never decrypt a key."),
    ) -> None:
        import sys

        from perpcli.cli import output, venue_cmd
        from perpcli.config import settings
        from perpcli.domain.errors import AuthError, UsageError

        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UsageError("perp watch needs a terminal (stdin and stdout must be a TTY)")
        session = venue_cmd.session()  # global options -> Session (app/ must not read the CLI context)
        trading = None
        read_only = no_trading or session.watch_only
        try:
            trading = session.reader() if read_only else session.trading()
        except (AuthError, UsageError) as e:
            output.warn(f"market data only: {e}")
        # textual is imported here, not at module level: `perp --help` must not pay for it.
        from perpcli.tui.run import build_app

        app, _ = build_app(session.market, markets=markets or [], trading=trading, settings=settings.current(),
                           read_only=read_only)
        try:
            app.run()
        finally:
            session.close()
