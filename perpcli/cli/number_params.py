"""Click types for numbers on the command line: ASCII digits only, and a bounded length.

Python's int() and float() accept any Unicode decimal digit, so `--leverage 𝟗` is 9 and a
Bengali ৪ (which looks like 8) is 4: a number the user did not see would be signed. They also
take 4,000-digit integers, "inf" and "nan". Every int or float option and argument of the CLI
uses `whole()` or `real()` (tests/test_cli_numbers.py walks the command tree to keep it so).
"""

from __future__ import annotations

import re
from typing import Any

try:
    from typer._click import types as _types  # Typer >= 0.22 vendors click
except ImportError:  # pragma: no cover - older typer
    from click import types as _types

MAX_INT_DIGITS = 18  # fits a signed 64-bit integer, as every venue field does
_INT = re.compile(rf"[+-]?[0-9]{{1,{MAX_INT_DIGITS}}}")
_REAL = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})")


def shown(text: str, limit: int = 24) -> str:
    """`text` quoted for an error line, cut short so a 5,000-digit input stays a short line."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Ascii:
    """Mixin: refuse a string that is not a plain ASCII number before click converts it."""

    pattern: re.Pattern[str]
    expected: str

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and not self.pattern.fullmatch(value.strip()):
            self.fail(f"{shown(value)} is not {self.expected}", param, ctx)  # type: ignore[attr-defined]
        return super().convert(value, param, ctx)  # type: ignore[misc]


class AsciiInt(_Ascii, _types.IntParamType):
    pattern = _INT
    expected = f"a whole number (ASCII digits 0-9, at most {MAX_INT_DIGITS})"


class AsciiIntRange(_Ascii, _types.IntRange):
    pattern = _INT
    expected = AsciiInt.expected


class AsciiFloat(_Ascii, _types.FloatParamType):
    pattern = _REAL
    expected = "a plain decimal number (ASCII digits 0-9, e.g. 2.5)"


class AsciiFloatRange(_Ascii, _types.FloatRange):
    pattern = _REAL
    expected = AsciiFloat.expected


def whole(min: int | None = None, max: int | None = None) -> _types.ParamType:  # noqa: A002 - click's names
    """An integer option type: ASCII digits only, optionally within [min, max]."""
    if min is None and max is None:
        return AsciiInt()
    return AsciiIntRange(min=min, max=max)


def real(min: float | None = None, max: float | None = None) -> _types.ParamType:  # noqa: A002
    """A float option type (seconds, fault rates; never money): ASCII digits only."""
    if min is None and max is None:
        return AsciiFloat()
    return AsciiFloatRange(min=min, max=max)
