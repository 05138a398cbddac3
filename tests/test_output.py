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
