"""`perp stream book|trades|fills|orders MARKET`: NDJSON on stdout until interrupted.

One line per book update (top levels), trade, fill or order update; connection health changes
are lines with "event":"status". Reconnects are automatic; fills and order updates re-sent by
the venue after a reconnect are printed once.
"""

from __future__ import annotations

import typer

from perpcli.cli.number_params import real, whole

KINDS = ("book", "trades", "fills", "orders")


def register(app: typer.Typer) -> None:
    @app.command("stream", help="Stream book|trades|fills|orders for MARKET as NDJSON until interrupted.")
    def stream(
        kind: str = typer.Argument(..., help="book, trades, fills or orders"),
        market: str = typer.Argument(None, help="Market (fills/orders: optional filter)."),
        depth: int = typer.Option(10, "--depth", click_type=whole(1, 20), help="Book levels per side."),
        seconds: float = typer.Option(
            0, "--seconds", click_type=real(), help="Stop after this many seconds (0 = until Ctrl-C)."
        ),
    ) -> None:
        from perpcli.domain.errors import UsageError

        if kind not in KINDS:
            raise UsageError(f"stream kind must be one of {', '.join(KINDS)}")
        if kind in ("book", "trades") and not market:
            raise UsageError(f"stream {kind} needs a MARKET")
        import asyncio

        from perpcli.cli.live_stream import run_stream  # websockets: only for this command

        asyncio.run(run_stream(kind, market, depth=depth, seconds=seconds))
