"""The `perp` entry point: global options, command registration and the error contract.

Command modules in perpcli/cli/commands/ import only typer (and cheap stdlib) at top level;
anything heavy is imported inside the command that needs it, so `perp --help` stays fast.
Each module exposes `register(app)`, listed once in COMMAND_MODULES below.
"""

from __future__ import annotations

import importlib
import sys

import typer

from perpcli import __version__
from perpcli.cli import context
from perpcli.cli.failures import exit_code_for, fail
from perpcli.domain.errors import ExitCode

# Modules that add commands to the root app, in help order.
COMMAND_MODULES: list[str] = [
    "perpcli.cli.commands.config_cmd",
    "perpcli.cli.commands.keys",
    "perpcli.cli.commands.devnet",
    "perpcli.cli.commands.demo",
    "perpcli.cli.commands.watch",
    "perpcli.cli.commands.venues",
    "perpcli.cli.commands.market",
    "perpcli.cli.commands.account",
    "perpcli.cli.commands.portfolio",
    "perpcli.cli.commands.trade",
    "perpcli.cli.commands.funds",
    "perpcli.cli.commands.stream",
    "perpcli.cli.commands.sign",
    "perpcli.cli.commands.session",
    "perpcli.cli.commands.algo",
    "perpcli.cli.commands.completion",
]

app = typer.Typer(
    name="perp",
    help="perpcli: trade on-chain perpetual futures from the terminal with your own key.\n\n"
    "Global options may be given before or after the command.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"perp {__version__}\n")
        raise typer.Exit(0)


def _root_callback():
    """The root callback, generated from context.GLOBALS (the one definition of the global
    options; the fast path reads the same table)."""
    import inspect
    from typing import Optional

    params = []
    for g in context.GLOBALS:
        default = typer.Option(None if g.takes_value else False, *g.flags, help=g.help)
        annotation = Optional[str] if g.takes_value else bool  # noqa: UP045 - typer reads typing.Optional
        params.append(inspect.Parameter(g.dest, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=annotation))
    params.append(inspect.Parameter(
        "version", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
        default=typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit.")))

    def root(**values: object) -> None:
        values.pop("version", None)
        context.apply(context.options_from(values))

    root.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    root.__annotations__ = {p.name: p.annotation for p in params}
    return root


app.callback()(_root_callback())


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def command_paths(typer_app: typer.Typer, prefix: str = ""):
    """(path, info) for every command and command group under typer_app ("keys list", ...)."""
    for c in typer_app.registered_commands:
        yield prefix + (c.name or c.callback.__name__.replace("_", "-")), c
    for g in typer_app.registered_groups:
        yield prefix + g.name, g
        yield from command_paths(g.typer_instance, prefix + g.name + " ")


def _add_examples() -> None:
    """Every command's --help ends with an example (cli/examples.py)."""
    from perpcli.cli.examples import epilog

    for path, info in command_paths(app):
        text = epilog(path)
        if text is None:
            continue
        if hasattr(info, "typer_instance"):  # a group (`perp keys`, `perp devnet`)
            info.epilog = text
            info.typer_instance.info.epilog = text
        else:
            info.epilog = text


_add_examples()


def _click_exceptions():
    """Typer >= 0.22 vendors click as typer._click; older releases use click itself."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions
    return exceptions


COMPLETE_VAR = "_PERP_COMPLETE"  # set by the shell scripts `perp completion SHELL` prints


def completion_script(shell: str) -> str:
    """The script a shell sources to complete `perp` (bash, zsh, fish); it calls `perp` back
    with COMPLETE_VAR set, and `main` answers from the command tree."""
    from typer import _completion_shared

    return _completion_shared.get_completion_script(prog_name="perp", complete_var=COMPLETE_VAR, shell=shell)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (never raises, except SystemExit from run())."""
    import os

    if COMPLETE_VAR in os.environ:  # a shell asking for completions: typer's machinery answers
        from typer.completion import completion_init

        completion_init()
    cx = _click_exceptions()
    args = context.hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args
    json_out = "--json" in args[:args.index("--")] if "--" in args else "--json" in args
    try:
        rv = app(args=args, prog_name="perp", standalone_mode=False)
        return int(rv) if isinstance(rv, int) else 0
    except typer.Exit as e:
        return int(e.exit_code)
    except typer.Abort:
        return fail("aborted", ExitCode.INTERRUPTED, json_out=json_out)
    except cx.NoArgsIsHelpError as e:
        # `perp` or `perp keys` alone: show the help (for people, so on stderr); it is a usage error.
        sys.stderr.write(e.ctx.get_help() + "\n")
        return int(ExitCode.USAGE)
    except cx.ClickException as e:
        # Usage errors: unknown flag, missing argument, bad value.
        return fail(e.format_message(), ExitCode.USAGE, json_out=json_out)
    except (Exception, KeyboardInterrupt) as e:
        return exit_code_for(e, debug=debug, json_out=json_out)


def run() -> None:
    """Console-script entry point."""
    code = main()
    try:
        sys.stdout.flush()
    except Exception:
        pass
    raise SystemExit(code)
