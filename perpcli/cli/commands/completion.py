"""`perp completion bash|zsh|fish`: the shell script that completes perp's commands and options."""

from __future__ import annotations

import typer

SHELLS = ("bash", "zsh", "fish")


def register(app: typer.Typer) -> None:
    @app.command(
        "completion",
        help="Print the shell completion script for bash, zsh or fish.\n\n"
        "Install it once, e.g. bash: perp completion bash >> ~/.bashrc ; "
        "zsh: perp completion zsh > \"${fpath[1]}/_perp\" ; "
        "fish: perp completion fish > ~/.config/fish/completions/perp.fish",
    )
    def completion(shell: str = typer.Argument(..., help="bash, zsh or fish.")) -> None:
        import sys

        from perpcli.cli.main import completion_script
        from perpcli.domain.errors import UsageError

        if shell not in SHELLS:
            raise UsageError(f"shell must be one of {', '.join(SHELLS)}, got {shell!r}")
        sys.stdout.write(completion_script(shell) + "\n")
