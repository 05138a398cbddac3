"""Console-script entry point, kept tiny: `perp --version` answers before Typer is even imported."""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        from perpcli import __version__

        sys.stdout.write(f"perp {__version__}\n")
        raise SystemExit(0)
    # A running `perp session` agent runs these commands itself (the key unlocked, connections
    # warm): this process then only prints its answer. One stat when no agent runs.
    from perpcli.session.client import try_delegate

    code = try_delegate(sys.argv[1:])
    if code is None:
        # The hottest commands (buy/sell/positions/account/orders in plain form) skip Typer.
        from perpcli.cli.fast import try_run

        code = try_run(sys.argv[1:])
    if code is not None:
        try:
            sys.stdout.flush()
        except Exception:
            pass
        raise SystemExit(code)
    from perpcli.cli.main import run as full_run

    full_run()
