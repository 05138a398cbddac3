"""`perp devnet` as a user runs it: a foreground process that prints its URL and stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from decimal import Decimal

import pytest

from perpcli.devnet.server import DevnetConfig, start_in_thread
from tests.support import REPO, invoke

pytestmark = pytest.mark.timeout(60)


def _post(url: str, path: str, body: dict):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_devnet_starts_prints_url_serves_and_stops_on_sigint(tmp_path):
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "perpcli", "devnet", "--port", "0", "--market-interval", "0", "--state", str(state),
         "--no-deadman-volume"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        meta = _post(url, "/info", {"type": "meta"})
        assert meta["universe"][0]["name"] == "BTC"
        user = "0x" + "77" * 20
        _post(url, "/devnet/fund", {"user": user, "amount": "5"})
        assert _post(url, "/devnet/status", {})["deadmanMinVolume"] == "0"  # the flag lifts the rule
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # both faces, one port: the Aster face's REST and websocket are named beside Hyperliquid's
    assert f"Aster face {url}/fapi/v3 (--venue aster-devnet), websocket ws{url[4:]}/aster" in err
    assert state.exists()  # saved on shutdown
    saved = json.loads(state.read_text())
    assert saved["version"] == 1 and "engine" in saved


def test_devnet_refuses_non_loopback_without_public(capsys):
    result = invoke(["devnet", "--host", "0.0.0.0", "--port", "0"], capsys)
    assert result.code == 2
    assert "--public" in result.err


def test_devnet_rejects_bad_fault_rate(capsys):
    result = invoke(["devnet", "--port", "0", "--rate-429", "3"], capsys)
    assert result.code == 2


def test_devnet_fund_command_credits_a_running_devnet(capsys):
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0))
    try:
        user = "0x" + "88" * 20
        result = invoke(["devnet", "fund", user, "123.5", "--url", handle.url, "--json"], capsys)
        assert result.code == 0, result.err
        assert result.json()["status"] == "ok"
        state = _post(handle.url, "/info", {"type": "clearinghouseState", "user": user})
        assert Decimal(state["marginSummary"]["accountValue"]) >= Decimal("123.5")
    finally:
        handle.stop()


def test_devnet_fund_reports_unreachable_devnet_as_network_error(capsys):
    result = invoke(["devnet", "fund", "0x" + "88" * 20, "1", "--url", "http://127.0.0.1:9"], capsys)
    assert result.code == 5


def test_devnet_refuses_a_state_file_that_is_not_a_devnet_state(tmp_path, capsys):
    bad = tmp_path / "state.json"
    bad.write_text('{"version": 99}')
    result = invoke(["devnet", "--port", "0", "--state", str(bad)], capsys)
    assert result.code == 2 and "state" in result.err
    bad.write_text("not json")
    result = invoke(["devnet", "--port", "0", "--state", str(bad)], capsys)
    assert result.code == 2


def test_devnet_public_listens_with_a_warning():
    proc = subprocess.Popen(
        [sys.executable, "-m", "perpcli", "devnet", "--host", "0.0.0.0", "--public", "--port", "0",
         "--market-interval", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://0.0.0.0:")
        port = url.rsplit(":", 1)[1]
        assert _post(f"http://127.0.0.1:{port}", "/info", {"type": "perpDexs"})[0] is None
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "warning" in err and "0.0.0.0" in err


def test_devnet_history_days_sets_the_seeded_past_and_is_bounded(capsys):
    result = invoke(["devnet", "--port", "0", "--history-days", "366"], capsys)
    assert result.code == 2 and "--history-days" in result.err
    proc = subprocess.Popen(
        [sys.executable, "-m", "perpcli", "devnet", "--port", "0", "--market-interval", "0", "--history-days", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = proc.stdout.readline().strip()
        days = _post(url, "/info", {"type": "candleSnapshot", "req": {"coin": "BTC", "interval": "1h", "startTime": 0}})
        assert 47 <= len(days) <= 49  # two days of hours, the first partial
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_devnet(*args: str, env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "perpcli", "devnet", "--market-interval", "0", "--history-days", "0", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )
    return proc, proc.stdout.readline().strip()


def _stop(proc: subprocess.Popen) -> str:
    try:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err


def test_devnet_listens_where_the_devnet_settings_say_unless_a_flag_says_otherwise():
    """Issue 13: `devnet.host`, `devnet.port`, `devnet.initial_balance` and `devnet.auto_fund`
    were documented settings that `perp devnet` ignored (its flags had their own defaults)."""
    port = _free_port()
    env = {"PERPCLI_DEVNET_PORT": str(port), "PERPCLI_DEVNET_HOST": "127.0.0.1",
           "PERPCLI_DEVNET_INITIAL_BALANCE": "250"}
    proc, url = _start_devnet(env=env)
    try:
        assert url == f"http://127.0.0.1:{port}", proc.stderr.read() if not url else url
        fresh = _post(url, "/info", {"type": "clearinghouseState", "user": "0x" + "61" * 20})
        assert Decimal(fresh["marginSummary"]["accountValue"]) == 250  # devnet.initial_balance
    finally:
        err = _stop(proc)
    assert proc.returncode == 0, err

    proc, url = _start_devnet("--port", "0", "--initial-balance", "7", env=env)  # flags win
    try:
        assert url.startswith("http://127.0.0.1:") and url != f"http://127.0.0.1:{port}"
        fresh = _post(url, "/info", {"type": "clearinghouseState", "user": "0x" + "62" * 20})
        assert Decimal(fresh["marginSummary"]["accountValue"]) == 7
    finally:
        _stop(proc)

    proc, url = _start_devnet("--port", "0", env={**env, "PERPCLI_DEVNET_AUTO_FUND": "false"})
    try:
        fresh = _post(url, "/info", {"type": "clearinghouseState", "user": "0x" + "63" * 20})
        assert Decimal(fresh["marginSummary"]["accountValue"]) == 0  # devnet.auto_fund = false
    finally:
        _stop(proc)


def test_devnet_help_names_the_settings_behind_its_defaults(capsys):
    out = invoke(["devnet", "--help"], capsys).out
    assert "devnet.port" in out and "devnet.host" in out and "devnet.initial_balance" in out
