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


def test_terminal_tables_right_align_numbers_with_separators_and_colour_side_and_pnl(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    rows = [{"market": "BTC", "side": "buy", "size": Decimal("0.5"), "entry_price": Decimal("94619.4"),
             "unrealized_pnl": Decimal("-1234.56"), "oid": "77738308"},
            {"market": "xyz:GOLD", "side": "sell", "size": Decimal("12.25"), "entry_price": Decimal("2650"),
             "unrealized_pnl": Decimal("15.2"), "oid": "5"}]
    out = _FakeTerminal()
    output.emit_table(rows, ["market", "side", "size", "entry_price", "unrealized_pnl", "oid"], stream=out)
    text = out.getvalue()
    assert "94,619.4" in text and "-1,234.56" in text and "77738308" in text  # ids keep their digits
    assert "\x1b[32mbuy" in text and "\x1b[31msell" in text  # side coloured
    import re

    assert re.search(r"\x1b\[31m\s*-1,234\.56", text) and re.search(r"\x1b\[32m\s*15\.2", text)  # PnL by sign

    plain = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()
    size_col = [ln for ln in plain if "BTC" in ln or "GOLD" in ln]
    # right-aligned: the shorter number ends where the longer one ends
    assert size_col[0].index("0.5") + len("0.5") == size_col[1].index("12.25") + len("12.25")
    monkeypatch.setenv("NO_COLOR", "1")
    nocolor = _FakeTerminal()
    output.emit_table(rows, ["side", "unrealized_pnl"], stream=nocolor)
    assert "\x1b[31m" not in nocolor.getvalue() and "-1,234.56" in nocolor.getvalue()
