"""Config precedence and provenance, validation messages, and the example file's sync with the schema."""

from __future__ import annotations

from decimal import Decimal

import pytest

from perpcli.cli.exit_codes import ExitCode
from perpcli.config.schema import SETTINGS
from perpcli.config.settings import Settings
from perpcli.config.template import render
from perpcli.domain.errors import ConfigError
from tests.support import REPO, invoke


def write(home, text):
    p = home / "config.toml"
    p.write_text(text)
    return p


def test_precedence_default_file_env_flag(perpcli_home, monkeypatch):
    monkeypatch.delenv("PERPCLI_KEYS_SCRYPT_N", raising=False)
    s = Settings.load()
    assert s.get("risk.max_leverage") == 20 and s.source("risk.max_leverage") == "default"
    path = write(perpcli_home, '[risk]\nmax_leverage = 10\nmax_order_notional = "2500.50"\n[default]\nvenue = "hyperliquid"\n')
    s = Settings.load()
    assert s.get("risk.max_leverage") == 10 and s.source("risk.max_leverage") == f"file:{path}"
    assert s.get("risk.max_order_notional") == Decimal("2500.50")
    monkeypatch.setenv("PERPCLI_RISK_MAX_LEVERAGE", "5")
    s = Settings.load()
    assert s.get("risk.max_leverage") == 5 and s.source("risk.max_leverage") == "env:PERPCLI_RISK_MAX_LEVERAGE"
    s = Settings.load(flags={"default.venue": "devnet"})
    assert s.get("default.venue") == "devnet" and s.source("default.venue") == "flag:default.venue"


def test_config_show_json_lists_every_setting_with_source(capsys, perpcli_home):
    write(perpcli_home, '[stream]\nstale_after_seconds = "3"\n')
    r = invoke(["config", "show", "--json"], capsys)
    assert r.code == 0
    data = r.json()
    rows = {row["key"]: row for row in data["settings"]}
    assert set(rows) == {s.key for s in SETTINGS}
    assert rows["stream.stale_after_seconds"]["value"] == "3"
    assert rows["stream.stale_after_seconds"]["source"].startswith("file:")


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[risk\n", "invalid TOML"),
        ("[risk]\nmax_leverage = \"abc\"\n", "risk.max_leverage: expected a whole number"),
        ("[risk]\nprice_band_pct = 0.1\n", "write decimals as strings"),
        ("[nope]\nx = 1\n", "unknown setting 'nope.x'"),
        ("[venues.hyperliquid]\nvault_address = \"0x12\"\n", "expected an address"),
        ("[devnet]\nauto_fund = \"maybe\"\n", "expected true or false"),
    ],
)
def test_bad_file_names_file_key_and_expectation(capsys, perpcli_home, text, needle):
    path = write(perpcli_home, text)
    r = invoke(["config", "show"], capsys)
    assert r.code == ExitCode.USAGE
    assert r.out == ""
    assert r.err.count("\n") == 1
    assert str(path) in r.err and needle in r.err


def test_bad_env_value_is_named(capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_DEVNET_PORT", "eighty")
    r = invoke(["config", "show"], capsys)
    assert r.code == ExitCode.USAGE
    assert "PERPCLI_DEVNET_PORT" in r.err and "devnet.port" in r.err


def test_explicit_config_must_exist(capsys, tmp_path):
    r = invoke(["--config", str(tmp_path / "missing.toml"), "config", "show"], capsys)
    assert r.code == ExitCode.USAGE and "does not exist" in r.err


def test_example_file_matches_schema_and_parses_to_defaults():
    import tomllib

    example = (REPO / "config.example.toml").read_text()
    assert example == render(), "config.example.toml is stale: regenerate it from perpcli.config.template.render()"
    # Uncommenting every setting gives exactly the defaults.
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") and " = " in line and not line.startswith("# env") else line
        for line in example.splitlines()
    )
    data = tomllib.loads(uncommented)
    from perpcli.config.settings import _flatten, coerce

    flat = _flatten(data)
    assert set(flat) == {s.key for s in SETTINGS}
    for s in SETTINGS:
        assert coerce(s, flat[s.key], "example") == s.default


def test_init_writes_then_refuses_to_overwrite(capsys, perpcli_home):
    r = invoke(["config", "init"], capsys)
    assert r.code == 0
    assert (perpcli_home / "config.toml").read_text() == render()
    r = invoke(["config", "init"], capsys)
    assert r.code == ExitCode.USAGE and "already exists" in r.err
    r = invoke(["config", "path", "--json"], capsys)
    assert r.json() == {"path": str(perpcli_home / "config.toml"), "exists": True}


def test_config_error_is_a_usage_error():
    assert issubclass(ConfigError, Exception)
    assert ConfigError("x").exit_code == ExitCode.USAGE


def test_config_file_not_utf8_is_one_line_exit_2(capsys, perpcli_home):
    path = perpcli_home / "config.toml"
    path.write_bytes(b'[default]\nvenue = "caf\xe9"\n')
    r = invoke(["config", "show"], capsys)
    assert r.code == ExitCode.USAGE
    assert r.err.count("\n") == 1 and str(path) in r.err and "UTF-8" in r.err


@pytest.mark.parametrize("var, value", [
    ("PERPCLI_RISK_MAX_LEVERAGE", "\u09ea"),  # ৪, the Bengali digit four
    ("PERPCLI_RISK_MAX_LEVERAGE", "9" * 5000),
    ("PERPCLI_RISK_MAX_ORDER_NOTIONAL", "\U0001d7d7000"),  # 𝟗000
])
def test_env_numbers_take_ascii_digits_only(capsys, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    r = invoke(["config", "show"], capsys)
    assert r.code == ExitCode.USAGE, r.err[:200]
    assert r.err.count("\n") == 1 and var in r.err and len(r.err) < 300


def test_file_decimal_strings_take_ascii_digits_only(capsys, perpcli_home):
    path = write(perpcli_home, '[risk]\nmax_order_notional = "\u09ea000"\n')
    r = invoke(["config", "show"], capsys)
    assert r.code == ExitCode.USAGE and str(path) in r.err and "ASCII" in r.err


@pytest.mark.parametrize("digits", [300, 5000])
def test_absurdly_long_numbers_in_the_file_are_one_short_line(capsys, perpcli_home, digits):
    path = write(perpcli_home, "[risk]\nmax_leverage = " + "9" * digits + "\n")
    r = invoke(["config", "show"], capsys)
    assert r.code == ExitCode.USAGE and r.out == ""
    assert r.err.count("\n") == 1 and str(path) in r.err and len(r.err) < 300
