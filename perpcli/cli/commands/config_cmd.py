"""`perp config ...`: show effective settings with their source, the file path, and a starter file."""

from __future__ import annotations

import sys

import typer

config_app = typer.Typer(help="Show and create the configuration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("show", help="Print every effective setting and where its value came from.")
def show() -> None:
    from perpcli.cli import context, output
    from perpcli.config import settings

    s = settings.current().include_plugins()  # a venue plugin's settings are settings too
    rows = []
    for setting, value in s.items():
        shown = "<set>" if setting.secret and value.value else value.value
        rows.append({"key": setting.key, "value": shown, "source": value.source, "env": setting.env_var})
    if context.current().json:
        output.emit_json({"file": str(s.file), "settings": rows})
    else:
        output.emit_table(rows, ["key", "value", "source"])


@config_app.command("path", help="Print the path of the config file in use.")
def path() -> None:
    from perpcli.cli import context, output
    from perpcli.config import paths

    opts = context.current()
    import os
    from pathlib import Path

    explicit = opts.config or os.environ.get("PERPCLI_CONFIG")
    p = Path(explicit).expanduser() if explicit else paths.config_file()
    if opts.json:
        output.emit_json({"path": str(p), "exists": p.exists()})
    else:
        sys.stdout.write(f"{p}\n")


@config_app.command("init", help="Write a commented config file with every default (refuses to overwrite).")
def init(force: bool = typer.Option(False, "--force", help="Overwrite an existing file.")) -> None:
    from perpcli.cli import context, output
    from perpcli.config import paths
    from perpcli.config.template import render
    from perpcli.domain.errors import UsageError

    opts = context.current()
    from pathlib import Path

    p = Path(opts.config).expanduser() if opts.config else paths.config_file()
    if p.exists() and not force:
        raise UsageError(f"{p} already exists (use --force to overwrite)")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render())
    if opts.json:
        output.emit_json({"path": str(p), "written": True})
    else:
        sys.stdout.write(f"{p}\n")
        output.info(f"wrote {p}")
