"""The fast entry path: the hottest commands without Typer.

WHY: `perp buy` is a whole process per order, and importing Typer/click and building the
command tree is a third of its wall time. For `buy`, `sell`, `positions`, `account` and
`orders`, written in their plain form, this module parses argv itself and calls the same
command bodies the Typer commands call (cli/order_cmd.py, cli/read_cmd.py).

It is deliberately narrow: anything it is not certain about — `--help`, `--opt=value`
forms, an unknown or repeated flag, a missing argument, a non-integer `--leverage` — makes
`try_run` return None and the normal Typer path handles the command, with its own messages.
So for every input the fast path accepts, the result is what Typer would have produced.
"""

from __future__ import annotations

from perpcli.cli.context import GLOBALS

# Globals, from the one table in cli/context.py: flag -> destination.
_GLOBAL_VALUE = {flag: g.dest for g in GLOBALS if g.takes_value for flag in g.flags}
_GLOBAL_FLAG = {flag: g.dest for g in GLOBALS if not g.takes_value for flag in g.flags}

_ORDER_VALUE = {"--limit": "limit", "--stop": "stop", "--slippage": "slippage", "--tp": "tp", "--sl": "sl",
                "--cloid": "cloid", "--leverage": "leverage", "--usd": "usd", "--risk": "risk"}
_ORDER_FLAG = {"--market": "market_order", "--reduce-only": "reduce_only", "--post-only": "post_only",
               "--ioc": "ioc", "--isolated": "isolated", "--preview": "preview"}

FAST_COMMANDS = ("buy", "sell", "positions", "account", "orders")
MAX_INT_DIGITS = 18  # as cli/number_params.py (not imported: it loads click)


class _NotFast(Exception):
    """This argv is for the Typer path."""


def parse(argv: list[str]) -> tuple[dict, str, dict] | None:
    """(globals, command, parameters) for argv the fast path handles exactly, else None."""
    try:
        return _parse(argv)
    except _NotFast:
        return None


def _parse(argv: list[str]) -> tuple[dict, str, dict]:
    glob: dict = {}
    command: str | None = None
    positionals: list[str] = []
    params: dict = {}
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok in ("--", "-h", "--help") or (tok.startswith("--") and "=" in tok):
            raise _NotFast
        if tok in _GLOBAL_VALUE or tok in _GLOBAL_FLAG:
            key = _GLOBAL_VALUE.get(tok) or _GLOBAL_FLAG[tok]
            if key in glob and tok in _GLOBAL_VALUE:
                raise _NotFast
            if tok in _GLOBAL_VALUE:
                if i + 1 >= len(argv):
                    raise _NotFast
                glob[key] = argv[i + 1]
                i += 2
            else:
                glob[key] = True
                i += 1
            continue
        if command is None:
            if tok not in FAST_COMMANDS:
                raise _NotFast
            command = tok
            i += 1
            continue
        if command in ("buy", "sell") and (tok in _ORDER_VALUE or tok in _ORDER_FLAG):
            key = _ORDER_VALUE.get(tok) or _ORDER_FLAG[tok]
            if key in params:
                raise _NotFast
            if tok in _ORDER_VALUE:
                if i + 1 >= len(argv):
                    raise _NotFast
                params[key] = argv[i + 1]  # taken whatever it looks like ("-0.5%"), as click does
                i += 2
            else:
                params[key] = True
                i += 1
            continue
        if command == "orders" and tok == "--market":
            if "market" in params or i + 1 >= len(argv):
                raise _NotFast
            params["market"] = argv[i + 1]
            i += 2
            continue
        if tok.startswith("-") and len(tok) > 1:
            raise _NotFast  # an option we do not know here (or a negative positional: click refuses it)
        positionals.append(tok)
        i += 1
    if command is None:
        raise _NotFast
    if command in ("buy", "sell"):
        if not 1 <= len(positionals) <= 2:
            raise _NotFast
        params["market"] = positionals[0]
        params["size"] = positionals[1] if len(positionals) == 2 else None
        if "leverage" in params:
            lev = params["leverage"]
            if not (lev.isascii() and lev.isdigit() and len(lev) <= MAX_INT_DIGITS):
                raise _NotFast  # Typer's path refuses it with its one-line message
            params["leverage"] = int(lev)
    elif positionals:
        raise _NotFast
    return glob, command, params


def _run(glob: dict, command: str, params: dict) -> None:
    """What cli/main.root does with the globals, then the command body. Keep the two in step:
    tests/test_cli_fast.py runs both paths on the same argv and compares the results."""
    from perpcli.cli import context

    context.apply(context.options_from(glob))
    if command in ("buy", "sell"):
        from perpcli.cli.order_cmd import OrderArgs, place_order

        place_order(OrderArgs(side=command, **params))
        return
    from perpcli.cli import read_cmd

    if command == "positions":
        read_cmd.show_positions()
    elif command == "account":
        read_cmd.show_account()
    else:
        read_cmd.show_orders(params.get("market"))


def try_run(argv: list[str]) -> int | None:
    """Run argv on the fast path and return its exit code, or None to use the Typer path.

    The error contract is the same as cli/main.main: one `perp: error:` line and the code.
    """
    parsed = parse(argv)
    if parsed is None:
        return None
    glob, command, params = parsed
    from perpcli.cli.failures import exit_code_for
    from perpcli.domain.errors import ExitCode

    debug = bool(glob.get("debug"))
    try:
        _run(glob, command, params)
        return int(ExitCode.OK)
    except (Exception, KeyboardInterrupt) as e:
        return exit_code_for(e, debug=debug, json_out=bool(glob.get("json")))
