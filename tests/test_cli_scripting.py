"""The scripting contract (issue 13, item 6) and the smaller items of item 9.

Pipes that close early end quietly, piped human output is tab-separated with local times,
--json failures are a JSON object on stdout too, -q silences notes, misspelled PERPCLI_*
variables are refused, every command's --help has an example, completion scripts exist, and
the devnet is easy to reach (and fast to report when it is not running)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from perpcli.devnet.server import start_in_thread
from tests.cli_devnet import devnet_fixture, new_key, run
from tests.support import REPO

LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


devnet = devnet_fixture(seed=5, deadman_min_volume=Decimal(0))  # `perp deadman` works


def _perp_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "perpcli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=str(REPO), env=dict(os.environ))


# ----- closed pipes --------------------------------------------------------------------------


def test_a_stream_piped_into_head_ends_quietly_with_exit_0(devnet):
    p = _perp_process("--url", devnet.url, "--network", "testnet", "stream", "trades", "BTC")
    first = p.stdout.readline()
    assert json.loads(first)["event"] in ("status", "trade")
    p.stdout.close()  # what `head -1` does after its line
    try:
        code = p.wait(timeout=20)
    finally:
        p.kill()
    err = p.stderr.read().decode()
    assert code == 0, err
    assert err == ""


# ----- human output when piped ---------------------------------------------------------------


def test_piped_records_are_tab_separated_without_embedded_json(perp, devnet):
    key, addr = new_key(devnet.url)
    for args in (["account"], ["leverage", "BTC", "3", "--yes"], ["transfer", "5", "--to", "spot", "--yes"],
                 ["deadman", "60s", "--yes"]):
        r = perp(*args, key=key)
        assert r.code == 0, (args, r.err)
        for line in r.out.splitlines():
            assert line.count("\t") == 1, (args, line)
            assert "{" not in line, (args, line)
    lev = dict(line.split("\t") for line in perp("leverage", "BTC", "4", "--yes", key=key).out.splitlines())
    assert lev["action"] == "leverage" and lev["detail.leverage"] == "4"


def test_human_times_are_local_date_times_and_json_keeps_ms(perp, devnet):
    key, _ = new_key(devnet.url)
    assert perp("buy", "ETH", "0.01", "--market", "--slippage", "3%", "--yes", key=key).code == 0
    human = perp("fills", key=key).out.splitlines()
    header, row = human[0].split("\t"), human[1].split("\t")
    when = row[header.index("time")]
    assert LOCAL_TIME.match(when), when
    ms = perp("--json", "fills", key=key).json()[0]["time"]
    assert isinstance(ms, int)
    assert when == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))
    trades = perp("trades", "BTC", "--limit", "2").out.splitlines()[1].split("\t")
    assert LOCAL_TIME.match(trades[0]), trades


def test_send_and_withdraw_report_their_own_action_and_the_fee(perp, devnet):
    key, addr = new_key(devnet.url)
    _, other = new_key(devnet.url)
    send = perp("--json", "send", other, "3", "--yes", key=key).json()
    assert send["action"] == "send" and send["status"] == "ok"
    w = perp("--json", "withdraw", "10", "--yes", key=key).json()
    assert w["action"] == "withdraw" and w["detail"]["destination"] == addr
    assert Decimal(w["detail"]["fee"]) == 1 and Decimal(w["detail"]["arrives"]) == 9
    assert perp("--json", "transfer", "1", "--to", "spot", "--yes", key=key).json()["action"] == "transfer"


def test_spot_balances_show_after_a_transfer_to_spot(perp, devnet):
    key, _ = new_key(devnet.url)
    assert perp("transfer", "25", "--to", "spot", "--yes", key=key).code == 0
    doc = perp("--json", "account", key=key).json()
    assert Decimal(doc["spot"]["USDC"]) == 25
    assert "spot.USDC\t25" in perp("account", key=key).out


def test_positions_show_return_on_margin_and_distance_to_liquidation(perp, devnet):
    key, _ = new_key(devnet.url, fund="1000")
    assert perp("leverage", "BTC", "20", "--yes", key=key).code == 0
    assert perp("buy", "BTC", "0.1", "--market", "--slippage", "3%", "--yes", key=key).code == 0
    row = perp("--json", "positions", key=key).json()[0]
    mark, liq = Decimal(row["mark_price"]), Decimal(row["liquidation_price"])
    assert Decimal(row["liquidation_distance_pct"]) == ((mark - liq) / mark * 100).quantize(Decimal("0.01"))
    roe = Decimal(row["unrealized_pnl"]) / Decimal(row["margin_used"]) * 100
    assert Decimal(row["return_on_margin_pct"]) == roe.quantize(Decimal("0.01"))
    assert "liquidation_distance_pct" in perp("positions", key=key).out.splitlines()[0]


def test_cancel_results_carry_the_cloid(perp, devnet):
    key, _ = new_key(devnet.url)
    cloid = "0x" + "ab" * 16
    placed = perp("buy", "BTC", "0.001", "--limit", "-5%", "--cloid", cloid, "--yes", key=key)
    assert placed.code == 0, placed.err
    oid = perp("--json", "orders", key=key).json()[0]["oid"]
    r = perp("--json", "cancel", oid, "--yes", key=key)
    assert r.code == 0, r.err
    assert r.json()[0]["cloid"] == cloid


# ----- errors for scripts --------------------------------------------------------------------


def test_json_errors_are_a_json_object_on_stdout_too(perp, devnet, monkeypatch):
    r = perp("--json", "price", "NOPE")
    assert r.code == 2
    assert r.err.startswith("perp: error:")
    doc = r.json()
    assert set(doc["error"]) == {"kind", "message", "exit_code"} and doc["error"]["exit_code"] == 2
    assert doc["error"]["kind"] == "unknown_market"  # the error_kind a venue would report
    bad_flag = perp("positions", "--no-such-flag", "--json")
    assert bad_flag.code == 2 and bad_flag.json()["error"]["kind"] == "usage"
    closed = start_in_thread(port=0, market_interval=0, auto_fund=False)  # the default devnet funds any key
    try:
        unknown_key = run(closed.url, "--json", "account", key="0x" + "43" * 32, monkeypatch=monkeypatch)
    finally:
        closed.stop()
    assert unknown_key.code == 4 and unknown_key.json()["error"]["kind"] == "auth"
    assert perp("price", "NOPE").out == ""  # human mode: stderr only


def test_quiet_silences_notes_and_warnings_but_not_errors(perp, devnet, monkeypatch):
    key, _ = new_key(devnet.url)
    loud = perp("cancel", "--all", "--yes", key=key)
    assert loud.code == 0 and "no open orders to cancel" in loud.err
    quiet = perp("-q", "cancel", "--all", "--yes", key=key)
    assert quiet.code == 0 and quiet.err == "" and quiet.out == loud.out
    # The key in PERPCLI_PRIVATE_KEY (with that variable set a session client runs the command itself).
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", key)
    warned = run(devnet.url, "leverage", "BTC", "3", "--yes")
    assert warned.code == 0 and "warning: signing with the key in PERPCLI_PRIVATE_KEY" in warned.err
    silent = run(devnet.url, "-q", "leverage", "BTC", "3", "--yes")
    assert silent.code == 0 and silent.err == "" and silent.out == warned.out
    failed = perp("--quiet", "price", "NOPE")
    assert failed.code == 2 and failed.err.startswith("perp: error:")


def test_a_misspelled_environment_variable_is_refused_like_a_misspelled_file_key(perp, monkeypatch):
    monkeypatch.setenv("PERPCLI_RISK_MAX_LEVRAGE", "5")
    r = perp("positions", "--address", "0x" + "11" * 20)
    assert r.code == 2
    assert "PERPCLI_RISK_MAX_LEVRAGE" in r.err and "PERPCLI_RISK_MAX_LEVERAGE" in r.err


def test_a_refused_connection_says_to_start_the_devnet_at_once(monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    r = run(f"http://127.0.0.1:{port}", "price", "BTC", monkeypatch=monkeypatch)
    assert time.monotonic() - started < 0.5
    assert r.code == 5 and "is `perp devnet` running?" in r.err


# ----- help, completion, devnet reach --------------------------------------------------------


def test_every_command_help_has_an_example_and_batch_documents_its_fields(capsys):
    from perpcli.cli.main import app, command_paths
    from tests.support import invoke

    paths = [p for p, _ in command_paths(app)]
    assert "buy" in paths and "keys list" in paths
    for path in paths:
        r = invoke([*path.split(), "--help"], capsys)
        assert r.code == 0, path
        assert "Example:" in r.out and "perp " + path.split()[0] in r.out.split("Example:")[1], path
    batch = invoke(["batch", "--help"], capsys).out
    for field in ("side", "market", "size", "usd", "risk", "limit", "market_order", "stop", "slippage", "tp",
                  "sl", "reduce_only", "post_only", "ioc", "cloid"):
        assert re.search(rf"^\s+{field}\b", batch, re.M), field


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_and_answers(shell, capsys):
    from tests.support import invoke

    r = invoke(["completion", shell], capsys)
    assert r.code == 0 and "_PERP_COMPLETE" in r.out
    if shell == "bash":
        env = dict(os.environ, _PERP_COMPLETE="complete_bash", COMP_WORDS="perp posi", COMP_CWORD="1")
        p = subprocess.run([sys.executable, "-m", "perpcli"], capture_output=True, text=True, env=env,
                           cwd=str(REPO), timeout=30)
        assert p.stdout.split() == ["positions"], p.stderr
    assert invoke(["completion", "tcsh"], capsys).code == 2


def test_devnet_fund_and_venues_use_the_configured_devnet_url(devnet, monkeypatch, capsys):
    from tests.support import invoke

    monkeypatch.setenv("PERPCLI_VENUES_DEVNET_URL", devnet.url)
    r = invoke(["--json", "devnet", "fund", "0x" + "12" * 20, "50"], capsys)
    assert r.code == 0, r.err
    venues = {v["name"]: v for v in invoke(["--json", "venues"], capsys).json()}
    assert venues["devnet"]["url"] == devnet.url


def test_devnet_on_another_port_says_how_to_reach_it(monkeypatch):
    from perpcli.cli.commands.devnet import reach_hint
    from perpcli.config import settings

    settings.configure()
    hint = reach_hint("http://127.0.0.1:9999")
    assert "export PERPCLI_VENUES_DEVNET_URL=http://127.0.0.1:9999" in hint
    assert "--url http://127.0.0.1:9999 --network testnet" in hint
    assert reach_hint("http://127.0.0.1:8787") is None


def test_make_demo_installs_no_test_tools():
    def dry(target: str) -> str:
        return subprocess.run(["make", "-n", target, "VENV=/nonexistent-venv"], capture_output=True, text=True,
                              cwd=str(REPO), timeout=30).stdout

    demo, test = dry("demo"), dry("test")
    assert "perp demo" in demo and ".[test]" not in demo and "-e ." in demo
    assert ".[test]" in test
    assert "echo" in demo  # each step says what it is doing
