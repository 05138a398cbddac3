"""Render the commented config file (config.example.toml and `perp config init`) from the schema."""

from __future__ import annotations

import textwrap
from decimal import Decimal

from perpcli.config.schema import SETTINGS

HEADER = """\
# perpcli configuration. Every setting is listed with its default, commented out.
# Precedence: defaults < this file < PERPCLI_* environment variables < command-line flags.
# Where this file lives: `perp config path` (PERPCLI_HOME relocates it with all other state).
# See each value and where it came from: `perp config show`.
# Decimal values are written as strings so they stay exact.
"""


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Decimal):
        return f'"{v}"'
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _section_name(section: str) -> str:
    parts = section.split(".")
    return ".".join(f'"{p}"' if "-" in p else p for p in parts)


def render() -> str:
    out = [HEADER, "\n"]
    current = None
    for s in SETTINGS:
        section, _, name = s.key.rpartition(".")
        if section != current:
            out.append(f"[{_section_name(section)}]\n")
            current = section
        for line in textwrap.wrap(s.doc, 96):
            out.append(f"# {line}\n")
        out.append(f"# env: {s.env_var}\n")
        out.append(f"# {name} = {_toml_value(s.default)}\n\n")
    return "".join(out).rstrip("\n") + "\n"
