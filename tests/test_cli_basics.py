"""The CLI's contract: version, help, one-line errors, exit codes, global options anywhere."""

from __future__ import annotations

import json

import pytest

from perpcli import __version__
from perpcli.cli.context import hoist_global_options
from perpcli.cli.exit_codes import ExitCode
from tests.support import invoke, run_perp


def test_version_in_process(capsys):
    r = invoke(["--version"], capsys)
    assert r.code == 0
    assert r.out == f"perp {__version__}\n"


def test_python_dash_m_and_help_list_groups():
    r = run_perp(["--help"])
    assert r.code == 0
    for word in ("keys", "config", "demo", "--json", "--yes", "--dry-run", "--venue", "--account", "--config"):
        assert word in r.out


def test_no_command_shows_help_on_stderr_and_exits_2(capsys):
    r = invoke([], capsys)
    assert r.code == ExitCode.USAGE
    assert r.out == ""
    assert "Usage:" in r.err


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--bogus"], "No such option: --bogus"),
        (["keys", "list", "--nope"], "No such option: --nope"),
        (["keys", "frobnicate"], "No such command"),
        (["--venue"], "requires an argument"),
        (["keys", "address"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, args, needle):
    r = invoke(args, capsys)
    assert r.code == ExitCode.USAGE
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith("perp: error: ")
    assert needle in lines[0]
    assert "Traceback" not in r.err


def test_exit_codes_are_the_documented_contract():
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "INTERNAL": 1, "USAGE": 2, "REJECTED": 3, "AUTH": 4, "NETWORK": 5,
        "UNKNOWN_OUTCOME": 6, "RISK": 7, "INTERRUPTED": 130,
    }


def test_global_options_may_follow_the_command(capsys):
    a = invoke(["keys", "list", "--json"], capsys)
    b = invoke(["--json", "keys", "list"], capsys)
    assert a.code == b.code == 0
    assert json.loads(a.out) == json.loads(b.out) == []


def test_hoisting_keeps_values_and_stops_at_double_dash():
    assert hoist_global_options(["buy", "BTC", "1", "--venue", "devnet", "--json"]) == [
        "--venue", "devnet", "--json", "buy", "BTC", "1"]
    assert hoist_global_options(["x", "--account=bob"]) == ["--account=bob", "x"]
    assert hoist_global_options(["x", "--", "--json"]) == ["x", "--", "--json"]


def test_internal_error_is_one_line_without_debug_and_traceback_with(capsys, monkeypatch):
    from perpcli.cli.commands import config_cmd

    def boom():
        raise RuntimeError("kaput")

    monkeypatch.setattr("perpcli.config.paths.config_file", boom)
    r = invoke(["config", "path"], capsys)
    assert r.code == ExitCode.INTERNAL
    assert r.err.count("\n") == 1 and "internal error: RuntimeError: kaput" in r.err
    r = invoke(["config", "path", "--debug"], capsys)
    assert r.code == ExitCode.INTERNAL
    assert "Traceback" in r.err
    assert config_cmd  # imported for the monkeypatch target to exist


def test_demo_runs():
    r = run_perp(["demo", "--help"])
    assert r.code == 0
