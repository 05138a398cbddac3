"""`perp demo`: the product in one command (make demo).

Starts a local devnet in this process, funds a demo key (created on first run, for the devnet
only, kept under PERPCLI_HOME), and prints a short tour of commands to run against it from
another terminal. It runs until Ctrl-C (or --seconds). On a terminal (and without --seconds) it opens
`perp watch` on that devnet with the demo key instead of printing the tour.
"""

from __future__ import annotations

import typer

from perpcli.cli.number_params import real, whole

DEMO_FUNDS = "10000"  # with leveraged positions (demo_setup.DEMO_POSITIONS): liquidation is in view


def register(app: typer.Typer) -> None:
    @app.command("demo", help="Try perpcli against a local exchange, with no money at risk.")
    def demo(
        port: int = typer.Option(
            None, "--port", click_type=whole(), help="Devnet port (default from config; a free one if taken)."
        ),
        seconds: float = typer.Option(
            0, "--seconds", click_type=real(), help="Stop after this many seconds (0 = until Ctrl-C)."
        ),
    ) -> None:
        import sys
        import time

        from perpcli.cli import output
        from perpcli.cli.demo_setup import demo_key, start_devnet, start_ostium, tour

        key_path, address = demo_key()
        ostium, skipped = start_ostium(address, DEMO_FUNDS)
        if skipped:
            output.warn(skipped)
        try:
            handle = start_devnet(port, address, DEMO_FUNDS)
        except BaseException:
            if ostium is not None:
                ostium.stop()
            raise
        try:
            if seconds == 0 and sys.stdin.isatty() and sys.stdout.isatty():
                # On a terminal the demo is the live terminal itself (textual loads only here).
                from perpcli.tui.run import watch_devnet

                watch_devnet(handle.url, key_path, ostium=ostium)
                return
            output.info(tour(handle.url, key_path, address, ostium))
            if seconds > 0:
                time.sleep(seconds)
            else:
                while True:
                    time.sleep(3600)
        finally:
            handle.stop()
            if ostium is not None:
                ostium.stop()
