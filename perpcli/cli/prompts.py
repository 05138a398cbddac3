"""Confirmation that never hangs a script: off a terminal, --yes is required (exit 2 without it)."""

from __future__ import annotations

import sys

from perpcli.cli import context
from perpcli.domain.errors import ExitCode, PerpError, UsageError


class Declined(PerpError):
    """The person at the terminal said no: nothing was done."""

    exit_code = ExitCode.USAGE


def confirm(question: str, *, action: str) -> None:
    """Return if confirmed (or --yes); raise otherwise. Never prompts when nobody can answer.

    `action` completes "refusing to ..." in the error shown off a terminal.
    """
    opts = context.current()
    if opts.yes:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(f"refusing to {action} without --yes (no terminal to confirm on)")
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise Declined("not confirmed; nothing was done")
