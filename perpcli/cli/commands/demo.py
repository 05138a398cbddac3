"""`perp demo`: the product in one command (make demo).

Until the devnet and the TUI land, it prints what is coming and how to try what exists.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo", help="Try perpcli against a local exchange, with no money at risk.")
    def demo() -> None:
        from perpcli.cli import output

        output.info(
            "perpcli demo\n"
            "The local exchange (perp devnet) and the live terminal (perp watch) are being built.\n"
            "What works today:\n"
            "  perp --help                 all commands\n"
            "  perp keys new trading       create an encrypted key\n"
            "  perp keys list              your keys (names and addresses)\n"
            "  perp config show            every setting and where it came from\n"
        )
