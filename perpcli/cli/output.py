"""Everything a command prints goes through here.

stdout is data, stderr is for people. With --json a command prints exactly one JSON document
(or NDJSON lines for streams) and nothing else on stdout. Decimals are written as strings,
never floats. Human output is a rich table on a terminal and plain tab-separated text when
piped; NO_COLOR is honoured (rich reads it). rich is imported only when a human table is drawn.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Convert domain values into JSON-ready ones: Decimal -> str, Enum -> value, dataclass -> dict."""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        # Floats never carry money here; this guards non-money values (e.g. seconds).
        return value
    return value


def format_decimal(d: Decimal) -> str:
    """Plain positional notation, no exponent, no trailing zeros ("1E+1" -> "10")."""
    if d.is_nan() or d.is_infinite():
        return str(d)
    if d == 0:
        return "0"
    s = format(d.normalize(), "f")
    return s


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), separators=(",", ":"), ensure_ascii=False)


def emit_json(value: Any, stream=None) -> None:
    """Print one JSON document on stdout."""
    out = stream or sys.stdout
    out.write(dumps(value) + "\n")
    out.flush()


def emit_ndjson(value: Any, stream=None) -> None:
    """Print one NDJSON line and flush, so a reader sees it at once."""
    emit_json(value, stream)


def quiet() -> bool:
    """-q/--quiet: scripts want errors only on stderr."""
    from perpcli.cli import context

    return context.current().quiet


def info(message: str) -> None:
    """A note for people, on stderr (not with --quiet)."""
    if not quiet():
        sys.stderr.write(message + "\n")


def warn(message: str) -> None:
    """A warning for people, on stderr (not with --quiet; errors always print)."""
    if not quiet():
        sys.stderr.write(f"perp: warning: {message}\n")


# Fields holding a time as Unix ms. JSON keeps the ms; people read a local date-time.
TIME_FIELDS = frozenset({"time", "open_time", "close_time", "next_time", "valid_until", "cancel_at",
                         "expires", "created", "updated"})


def is_time_field(key: str) -> bool:
    name = key.rsplit(".", 1)[-1]
    return name in TIME_FIELDS or name.endswith(("_time", "_at", "_until"))


def local_time(ms: int) -> str:
    """Unix ms as this machine's local date-time, to the second ("2026-12-06 10:41:03")."""
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def _cell(v: Any, key: str = "") -> str:
    v = to_jsonable(v)
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) and key and is_time_field(key) and v > 10**11:  # ms since 1973: not a count
        return local_time(v)
    if isinstance(v, (dict, list)) and not v:
        return "-"
    if isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v):
        return ",".join(_cell(x) for x in v) if v else "-"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v).replace("\t", " ").replace("\n", " ")  # one cell, one line


def flatten(pairs: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested records as dotted keys (`detail.amount`), so human output never embeds JSON."""
    out: dict[str, Any] = {}
    for k, v in pairs.items():
        key = f"{prefix}{k}"
        v = to_jsonable(v)
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def emit_table(
    rows: Sequence[Mapping[str, Any]] | Iterable[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    stream=None,
) -> None:
    """Human output: a rich table on a terminal, tab-separated lines when piped."""
    out = stream or sys.stdout
    rows = list(rows)
    if columns is None:
        columns = list(rows[0].keys()) if rows else []
    names = [(headers or {}).get(c, c) for c in columns]
    if not out.isatty():
        out.write("\t".join(names) + "\n")
        for r in rows:
            out.write("\t".join(_cell(r.get(c), c) for c in columns) + "\n")
        out.flush()
        return
    from rich.console import Console  # only drawn on a terminal
    from rich.table import Table
    from rich.text import Text

    cells = [[_cell(r.get(c), c) for c in columns] for r in rows]
    numeric = [_is_numeric_column(c, [row[i] for row in cells]) for i, c in enumerate(columns)]
    table = Table(title=title, show_edge=False, header_style="bold cyan")
    for n, num in zip(names, numeric, strict=True):
        table.add_column(n, justify="right" if num else "left")
    for row in cells:
        shown = []
        for c, v, num in zip(columns, row, numeric, strict=True):
            text = _thousands(v) if num and not _is_id(c) else v
            shown.append(Text(text, style=_style(c, v)))
        table.add_row(*shown)
    Console(file=out).print(table)


def _is_id(column: str) -> bool:
    """Ids and counts are copied, not read as amounts: no thousands separators in them."""
    name = column.rsplit(".", 1)[-1]
    return name in ("oid", "cloid", "line", "count", "leverage") or name.endswith(("_id", "id"))


def _is_numeric_column(column: str, values: list[str]) -> bool:
    """A column whose every shown value is a number (or '-') is right-aligned on a terminal."""
    seen = False
    for v in values:
        if v == "-":
            continue
        try:
            Decimal(v)
        except ArithmeticError:
            return False
        seen = True
    return seen and not column.endswith("cloid")


def _thousands(value: str) -> str:
    """'94619.44' -> '94,619.44': separators in the whole part, the digits otherwise as given
    (the value is already rounded to its market's rules; nothing is rounded here)."""
    if value == "-" or "e" in value.lower():
        return value
    sign = "-" if value.startswith("-") else ""
    whole, dot, frac = value.lstrip("+-").partition(".")
    if not whole.isdigit():
        return value
    return f"{sign}{int(whole):,}{dot}{frac}"


def _style(column: str, value: str) -> str:
    """Side and PnL coloured on a terminal (rich drops colour under NO_COLOR)."""
    name = column.rsplit(".", 1)[-1]
    if name == "side":
        return {"buy": "green", "sell": "red", "long": "green", "short": "red"}.get(value, "")
    if "pnl" in name and value not in ("-", "0"):
        try:
            d = Decimal(value)
        except ArithmeticError:
            return ""
        return "green" if d > 0 else "red" if d < 0 else ""
    return ""


def emit_kv(pairs: Mapping[str, Any], *, title: str | None = None, stream=None) -> None:
    """Human output for one record: aligned `key  value` lines on a terminal, `key<TAB>value`
    when piped (as tables are). Nested records become dotted keys."""
    out = stream or sys.stdout
    flat = flatten(pairs)
    if not out.isatty():
        for k, v in flat.items():
            out.write(f"{k}\t{_cell(v, k)}\n")
        out.flush()
        return
    width = max((len(k) for k in flat), default=0)
    if title:
        out.write(title + "\n")
    for k, v in flat.items():
        out.write(f"{k.ljust(width)}  {_cell(v, k)}\n")
    out.flush()
