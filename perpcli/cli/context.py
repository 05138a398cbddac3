"""Global options shared by every command, and how commands reach them.

The options may be written anywhere on the command line (`perp --json keys list` and
`perp keys list --json` mean the same): `hoist_global_options` moves them in front of the
subcommand before Typer parses, so Typer's root callback is the one place they are defined.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GlobalFlag:
    """One global option, defined once: the Typer root callback, the Typer-free fast path
    (cli/fast.py) and `hoist_global_options` are all generated from GLOBALS."""

    dest: str  # the GlobalOptions field, or the key in GlobalOptions.extra
    flags: tuple[str, ...]
    takes_value: bool
    help: str
    extra: bool = False  # venue reach: stored in GlobalOptions.extra, read by venue commands


GLOBALS: tuple[GlobalFlag, ...] = (
    GlobalFlag("venue", ("--venue",), True, "Venue to use (default from config)."),
    GlobalFlag("account", ("--account",), True, "Key name (or address) to act as (default from config)."),
    GlobalFlag("address", ("--address",), True,
               "Read this account (0x...) without any key: for account, positions, orders, fills, "
               "funding-history, agent list, stream fills|orders and watch. Nothing can be signed."),
    GlobalFlag("json", ("--json",), False, "Print machine-readable JSON on stdout."),
    GlobalFlag("quiet", ("--quiet", "-q"), False,
               "No notes or warnings on stderr (errors still print); for scripts."),
    GlobalFlag("yes", ("--yes", "-y"), False, "Do not ask for confirmation."),
    GlobalFlag("dry_run", ("--dry-run",), False, "Show what would be signed and sent; send nothing."),
    GlobalFlag("debug", ("--debug",), False, "Show tracebacks and debug logs."),
    GlobalFlag("config", ("--config",), True, "Config file to use instead of the default."),
    GlobalFlag("passphrase_file", ("--passphrase-file",), True,
               "Read the keystore passphrase from this file (first line)."),
    GlobalFlag("url", ("--url", "--rpc-url"), True, "Venue base URL; for Ostium its JSON-RPC node (needs --network).",
               extra=True),
    GlobalFlag("network", ("--network",), True, "mainnet or testnet: what signatures are for.", extra=True),
    GlobalFlag("vault_address", ("--vault-address",), True,
               "Trade for this vault or sub-account (signed by your key).", extra=True),
)

# flag -> takes a value?
GLOBAL_FLAGS: dict[str, bool] = {flag: g.takes_value for g in GLOBALS for flag in g.flags}


@dataclass
class GlobalOptions:
    """What the user asked for on the command line, before config is merged in."""

    venue: str | None = None
    account: str | None = None
    address: str | None = None
    config: str | None = None
    json: bool = False
    quiet: bool = False
    yes: bool = False
    dry_run: bool = False
    debug: bool = False
    passphrase_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def interactive(self) -> bool:
        """True when a person can answer a prompt: stdin and stderr are both terminals."""
        return sys.stdin.isatty() and sys.stderr.isatty()


def options_from(values: dict[str, Any]) -> GlobalOptions:
    """GlobalOptions from parsed values keyed by `GlobalFlag.dest` (missing = not given)."""
    opts = GlobalOptions(extra={})
    for g in GLOBALS:
        value = values.get(g.dest)
        if g.extra:
            opts.extra[g.dest] = value
        else:
            setattr(opts, g.dest, bool(value) if not g.takes_value else value)
    return opts


def apply(opts: GlobalOptions) -> None:
    """What every entry path does with the global options before running a command: make them
    current, layer config (defaults < file < env < flags), and set up the passphrase source."""
    from perpcli.config import settings

    set_current(opts)
    settings.configure(config_path=opts.config, flags={"default.venue": opts.venue, "default.account": opts.account})
    from perpcli.keys import sources

    sources.configure(passphrase_file=opts.passphrase_file, human=not (opts.json or opts.quiet))


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
