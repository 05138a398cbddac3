"""Console-script entry point, kept tiny: `perp --version` answers before Typer is even imported."""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        from perpcli import __version__

        sys.stdout.write(f"perp {__version__}\n")
        raise SystemExit(0)
    from perpcli.cli.main import run as full_run

    full_run()
