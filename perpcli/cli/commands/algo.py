"""`perp chase`, `perp trail` and `perp algo list|show|cancel|logs`: algos that run in the
session agent (surviving the terminal) or, without one, in the foreground. The client-side
TWAP is `perp twap buy|sell --client` (cli/commands/trade.py)."""

from __future__ import annotations

import typer

from perpcli.cli.number_params import whole

algo_app = typer.Typer(help="Algos (chase, trail, client-side TWAP, one-cancels-other brackets): list, show, "
                            "cancel, logs.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    @app.command("chase", help="A post-only limit that follows the touch until SIZE fills "
                 "(--max-distance caps how far it follows from the start).")
    def chase(
        side: str = typer.Argument(..., help="buy or sell"),
        market: str = typer.Argument(...),
        size: str = typer.Argument(..., help="Size in base units."),
        max_distance: str = typer.Option(None, "--max-distance", help="Follow at most this far from the start "
                                         "touch, e.g. 0.3%."),
        ticks: int = typer.Option(1, "--ticks", click_type=whole(), help="Move the order once the touch is N ticks "
                                  "away (default 1)."),
    ) -> None:
        from perpcli.cli.algo_cmd import start_chase

        start_chase(side, market, size, max_distance, ticks)

    @app.command("trail", help="Trailing stop: close SIZE at market once the mark moves --distance from its best.")
    def trail(
        side: str = typer.Argument(..., help="sell (protects a long) or buy (protects a short)"),
        market: str = typer.Argument(...),
        size: str = typer.Argument(..., help="Size in base units (reduce-only)."),
        distance: str = typer.Option(..., "--distance", help="How far behind the best mark, e.g. 1%."),
        slippage: str = typer.Option("1%", "--slippage", help="Worst price when it fires, from the touch."),
    ) -> None:
        from perpcli.cli.algo_cmd import start_trail

        start_trail(side, market, size, distance, slippage)

    app.add_typer(algo_app, name="algo")


@algo_app.command("list", help="Algos that are running, paused or suspended (--all: also ended ones).")
def algo_list(include_ended: bool = typer.Option(False, "--all", help="Also done, canceled and failed algos.")) -> None:
    from perpcli.cli.algo_cmd import algo_list as body

    body(include_ended)


@algo_app.command("show", help="One algo: progress, working orders and its own figures.")
def algo_show(algo_id: str = typer.Argument(..., metavar="ID")) -> None:
    from perpcli.cli.algo_cmd import algo_show as body

    body(algo_id)


@algo_app.command("logs", help="What one algo did, step by step.")
def algo_logs(algo_id: str = typer.Argument(..., metavar="ID")) -> None:
    from perpcli.cli.algo_cmd import algo_logs as body

    body(algo_id)


@algo_app.command("cancel", help="Cancel an algo and its working orders (its fills stand).")
def algo_cancel(algo_id: str = typer.Argument(..., metavar="ID")) -> None:
    from perpcli.cli.algo_cmd import algo_cancel as body

    body(algo_id)
