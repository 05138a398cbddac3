"""Numbers from the command line and batch input: ASCII digits only, and bounded, or one exit-2 line.

int(), float(), Decimal() and `\\d` all take any Unicode decimal digit: the Bengali ৪ (which
looks like 8) is 4 and the mathematical 𝟗 is 9, so a number the user did not see would be
signed. Huge inputs must be a usage error too, never a traceback or an exit 1.
"""

from __future__ import annotations

import json

import pytest

from perpcli.app import order_plan
from perpcli.cli import fast
from perpcli.cli.exit_codes import ExitCode
from perpcli.domain.errors import UsageError
from tests.support import invoke, run_perp

BENGALI_8 = "\u09ea"  # ৪, the digit four
MATH_9 = "\U0001d7d7"  # 𝟗
ARABIC_12 = "\u0661\u0662"
HUGE = "9" * 5000


def _one_line_usage_error(r) -> None:
    assert r.code == ExitCode.USAGE, (r.code, r.err[:300])
    assert r.err.count("\n") == 1 and r.err.startswith("perp: error: ") and "Traceback" not in r.err
    assert len(r.err) < 400


@pytest.mark.parametrize("text", [BENGALI_8, MATH_9, ARABIC_12, "1" + BENGALI_8, "0." + MATH_9, "\u00b2"])
def test_parse_decimal_takes_ascii_digits_only(text):
    with pytest.raises(UsageError, match="ASCII"):
        order_plan.parse_decimal(text, what="SIZE")


@pytest.mark.parametrize("text", ["9" * 38, "1" * 16, "0." + "1" * 19, HUGE])
def test_parse_decimal_refuses_more_digits_than_the_math_can_carry(text):
    with pytest.raises(UsageError, match="too many digits") as e:
        order_plan.parse_decimal(text, what="--usd")
    assert len(e.value.message) < 200


def test_parse_decimal_still_takes_ordinary_numbers():
    assert order_plan.parse_decimal("65000", what="x") == 65000
    assert order_plan.parse_decimal(" 1_000.5 ", what="x") == order_plan.Decimal("1000.5")
    assert order_plan.parse_decimal("0" * 30 + "1", what="x") == 1  # leading zeros do not count
    assert order_plan.parse_decimal("9" * 15 + "." + "9" * 18, what="x") > 0


@pytest.mark.parametrize("args", [
    ["buy", "BTC", BENGALI_8, "--limit", "1", "--dry-run"],
    ["buy", "BTC", "1", "--limit", MATH_9 + "0000", "--dry-run"],
    ["buy", "BTC", "--usd", "9" * 38, "--limit", "1", "--dry-run"],
    ["buy", "BTC", "1", "--limit", "1", "--leverage", MATH_9, "--dry-run"],
    ["buy", "BTC", "1", "--limit", "1", "--leverage", BENGALI_8, "--dry-run"],
    ["buy", "BTC", "1", "--limit", "1", "--leverage", HUGE, "--dry-run"],
    ["scale", "buy", "BTC", "1", "--from", "1", "--to", "2", "--count", MATH_9, "--dry-run"],
    ["leverage", "BTC", MATH_9, "--dry-run"],
    ["deadman", HUGE],
    ["deadman", BENGALI_8 + "0s"],
    ["fills", "--since", "\u00b2"],
    ["fills", "--since", HUGE + "h"],
    ["fills", "--since", HUGE],
    ["fills", "--since", BENGALI_8 + "h"],
    ["candles", "BTC", "--count", MATH_9],
    ["sign", "-", "--testnet", "--nonce", BENGALI_8],
    ["devnet", "--port", ARABIC_12],
    ["demo", "--seconds", MATH_9],
])
def test_non_ascii_or_huge_numbers_are_one_usage_line(capsys, args):
    _one_line_usage_error(invoke(args, capsys))


@pytest.mark.parametrize("lev", [HUGE, MATH_9, BENGALI_8, "1" * 19])
def test_fast_path_hands_odd_leverage_to_typer(lev):
    assert fast.parse(["buy", "BTC", "1", "--limit", "1", "--leverage", lev]) is None
    assert fast.parse(["buy", "BTC", "1", "--limit", "1", "--leverage", "9"])[2]["leverage"] == 9


def test_whole_process_huge_leverage_is_one_line():
    """The console entry goes through the fast path first: no traceback there either."""
    r = run_perp(["buy", "BTC", "1", "--limit", "1", "--leverage", HUGE, "--dry-run"])
    _one_line_usage_error(r)
    assert "--leverage" in r.err


def test_every_numeric_option_of_the_cli_takes_ascii_only():
    """Each int or float parameter uses cli/number_params (so a new option cannot forget it)."""
    import typer.main

    from perpcli.cli import number_params
    from perpcli.cli.main import app

    ascii_types = (number_params.AsciiInt, number_params.AsciiIntRange, number_params.AsciiFloat,
                   number_params.AsciiFloatRange)
    numeric = (number_params._types.IntParamType, number_params._types.FloatParamType)

    def walk(cmd, path):
        for p in cmd.params:
            if isinstance(p.type, numeric):
                yield path, p.name, isinstance(p.type, ascii_types)
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    found = list(walk(typer.main.get_command(app), "perp"))
    assert len(found) > 20
    assert [f for f in found if not f[2]] == []


def test_batch_line_fields_take_ascii_digits_only():
    from perpcli.cli.batch import request_from_json

    with pytest.raises(UsageError, match="ASCII"):
        request_from_json({"side": "buy", "market": "BTC", "size": BENGALI_8, "limit": "1"}, str)
    with pytest.raises(UsageError, match="too many digits"):
        request_from_json({"side": "buy", "market": "BTC", "usd": int("9" * 38), "limit": "1"}, str)


def test_batch_line_with_a_5000_digit_integer_is_an_invalid_line(monkeypatch, capsys):
    """json.loads refuses integers over 4,300 digits with ValueError (not JSONDecodeError)."""
    from contextlib import contextmanager

    from perpcli.cli import batch, context, venue_cmd

    class Trading:
        pass

    class Session:
        def trading(self):
            return Trading()

    @contextmanager
    def fake_session():
        yield Session()

    monkeypatch.setattr(venue_cmd, "session", fake_session)
    context.set_current(context.GlobalOptions(dry_run=True))
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO('{"side": "buy", "market": "BTC", "size": ' + HUGE + "}\n"))
    with pytest.raises(venue_cmd.CommandFailed) as e:
        batch.run_batch()
    assert e.value.exit_code == ExitCode.USAGE
    line = json.loads(capsys.readouterr().out)
    assert line["line"] == 1 and line["status"] == "invalid"


@pytest.mark.parametrize("args", [
    ["devnet", "--initial-balance", BENGALI_8 + "000"],
    ["devnet", "fund", "0x" + "88" * 20, MATH_9],
    ["devnet", "fund", "0x" + "\u0661" * 40, "1"],
])
def test_devnet_amounts_and_addresses_take_ascii_only(capsys, args):
    _one_line_usage_error(invoke(args, capsys))


def test_sign_action_with_a_5000_digit_number_is_one_usage_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", "0x" + "11" * 32)
    action = tmp_path / "a.json"
    action.write_text('{"type": "scheduleCancel", "time": ' + HUGE + "}")
    r = invoke(["sign", str(action), "--testnet"], capsys)
    _one_line_usage_error(r)
    assert str(action) in r.err
