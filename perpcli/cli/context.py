"""Global options shared by every command, and how commands reach them.

The options may be written anywhere on the command line (`perp --json keys list` and
`perp keys list --json` mean the same): `hoist_global_options` moves them in front of the
subcommand before Typer parses, so Typer's root callback is the one place they are defined.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

# flag -> takes a value?
GLOBAL_FLAGS: dict[str, bool] = {
    "--venue": True,
    "--account": True,
    "--config": True,
    "--json": False,
    "--yes": False,
    "-y": False,
    "--dry-run": False,
    "--debug": False,
    "--passphrase-file": True,
    # venue reach (used by venue commands; stored in GlobalOptions.extra)
    "--url": True,
    "--network": True,
    "--vault-address": True,
}


@dataclass
class GlobalOptions:
    """What the user asked for on the command line, before config is merged in."""

    venue: str | None = None
    account: str | None = None
    config: str | None = None
    json: bool = False
    yes: bool = False
    dry_run: bool = False
    debug: bool = False
    passphrase_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def interactive(self) -> bool:
        """True when a person can answer a prompt: stdin and stderr are both terminals."""
        return sys.stdin.isatty() and sys.stderr.isatty()


def hoist_global_options(argv: list[str]) -> list[str]:
    """Return argv with every global flag (and its value) moved to the front.

    Stops at `--`, after which everything is positional. `--flag=value` is kept whole.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_FLAGS:
            takes_value = GLOBAL_FLAGS[name]
            front.append(arg)
            if takes_value and "=" not in arg and i + 1 < len(argv):
                front.append(argv[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


_current = GlobalOptions()


def current() -> GlobalOptions:
    """The options of this process's command; set once by the root callback."""
    return _current


def set_current(opts: GlobalOptions) -> None:
    global _current
    _current = opts
