"""The fast entry path: takes only argv it can run exactly as Typer would, and then agrees with it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from perpcli.cli import fast
from perpcli.cli.main import main
from perpcli.devnet.server import start_in_thread
from tests.cli_devnet import new_key


@pytest.mark.parametrize("argv", [
    ["buy", "BTC", "0.1", "--limit", "-0.5%"],
    ["--json", "sell", "ETH", "--usd", "100", "--market", "--slippage", "1%", "--yes"],
    ["buy", "BTC", "0.1", "--stop", "90000", "--limit", "89000", "--reduce-only", "--dry-run"],
    ["buy", "BTC", "25%", "--market", "--leverage", "5", "--isolated", "--preview", "--venue", "devnet"],
    ["positions", "--json"], ["--url", "http://x", "--network", "testnet", "account"], ["orders", "--market", "BTC"],
])
def test_fast_path_takes_plain_forms(argv):
    assert fast.parse(argv) is not None


@pytest.mark.parametrize("argv", [
    [], ["--help"], ["buy", "--help"], ["buy", "BTC", "1", "--limit=100"], ["buy", "BTC", "1", "--nope", "x"],
    ["buy", "BTC", "1", "--limit", "1", "--limit", "2"], ["buy"], ["buy", "BTC", "1", "2"],
    ["buy", "BTC", "1", "--leverage", "x"], ["buy", "BTC", "-1"], ["positions", "BTC"], ["price", "BTC"],
    ["buy", "BTC", "1", "--limit"], ["--venue"], ["orders", "--market"], ["keys", "list"], ["buy", "BTC", "--", "1"],
])
def test_fast_path_leaves_everything_else_to_typer(argv):
    assert fast.parse(argv) is None


@pytest.fixture(scope="module")
def quiet_devnet():
    h = start_in_thread(port=0, seed=9, market_interval=0)
    yield h
    h.stop()


def _both(argv):
    """(code, out, err) from the fast path and from Typer, in-process."""
    results = []
    for runner in (fast.try_run, main):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = runner(list(argv))
        results.append((code, out.getvalue(), err.getvalue()))
    return results


def _stable(text: str) -> str:
    """Dry-run bodies differ only in nonce and signature (time-based nonces)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    for body in doc.get("requests", []) if isinstance(doc, dict) else []:
        body.pop("nonce"), body.pop("signature")
    return json.dumps(doc, sort_keys=True)


def test_fast_and_typer_paths_agree(quiet_devnet, monkeypatch):
    key, _ = new_key(quiet_devnet.url)
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", key)
    reach = ["--url", quiet_devnet.url, "--network", "testnet"]
    cloid = "0x" + "12" * 16
    cases = [
        [*reach, "--json", "positions"], [*reach, "positions"], [*reach, "--json", "account"],
        [*reach, "--json", "orders"], [*reach, "orders", "--market", "BTC"],
        [*reach, "--json", "buy", "BTC", "0.01", "--limit", "90000", "--cloid", cloid, "--dry-run"],
        [*reach, "buy", "BTC", "0.01", "--limit", "90000", "--cloid", cloid, "--dry-run"],
        [*reach, "buy", "BTC", "0.01"], [*reach, "buy", "BTC", "0.0000001", "--limit", "90000"],
        [*reach, "buy", "BTC", "0.01", "--limit", "90000"],  # no --yes off a terminal
        [*reach, "buy", "BTC", "3", "--limit", "90000", "--yes"],  # risk guard
        [*reach, "buy", "NOPE", "1", "--limit", "1", "--yes"],
        ["--url", quiet_devnet.url, "positions"],  # --url without --network
    ]
    for argv in cases:
        (fc, fo, fe), (tc, to, te) = _both(argv)
        assert fc == tc, (argv, fe, te)
        assert _stable(fo) == _stable(to), argv
        assert fe == te, argv


def test_fast_path_does_not_import_typer(quiet_devnet, perpcli_home):
    key, _ = new_key(quiet_devnet.url)
    code = ("import sys\nfrom perpcli.cli.entry import run\n"
            "try:\n    run()\nfinally:\n    sys.stderr.write('TYPER=%s\\n' % ('typer' in sys.modules))\n")
    env = dict(os.environ, PERPCLI_PRIVATE_KEY=key, PERPCLI_HOME=str(perpcli_home))
    argv = ["perp", "--url", quiet_devnet.url, "--network", "testnet", "--json", "positions"]
    p = subprocess.run([sys.executable, "-c", f"import sys; sys.argv={argv!r}\n" + code], capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == [] and "TYPER=False" in p.stderr
    p = subprocess.run([sys.executable, "-c", f"import sys; sys.argv={['perp', 'venues']!r}\n" + code],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0 and "TYPER=True" in p.stderr  # everything else goes through Typer
