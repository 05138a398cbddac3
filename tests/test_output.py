"""Output rules: decimals as strings in JSON, tab-separated text when piped."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from perpcli.cli import output


def test_json_writes_decimals_as_plain_strings():
    buf = io.StringIO()
    output.emit_json({"px": Decimal("1E+1"), "sz": Decimal("0.00010"), "n": 3, "z": Decimal("-0")}, buf)
    assert json.loads(buf.getvalue()) == {"px": "10", "sz": "0.0001", "n": 3, "z": "0"}


def test_table_is_tab_separated_when_not_a_terminal():
    buf = io.StringIO()
    output.emit_table([{"a": Decimal("1.50"), "b": None}, {"a": True, "b": "x"}], ["a", "b"], stream=buf)
    assert buf.getvalue() == "a\tb\n1.5\t-\nyes\tx\n"


class _FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_tables_on_a_terminal_are_drawn_and_no_color_strips_colour(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    colored = _FakeTerminal()
    output.emit_table([{"a": Decimal("1.5")}], ["a"], stream=colored)
    assert "1.5" in colored.getvalue() and "36m" in colored.getvalue()  # cyan headers
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _FakeTerminal()
    output.emit_table([{"a": Decimal("1.5")}], ["a"], stream=plain)
    assert "1.5" in plain.getvalue() and "36m" not in plain.getvalue()  # bold stays; colour goes
