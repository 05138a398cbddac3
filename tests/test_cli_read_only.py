"""Reads need only an address (issue 13, item 4) and key selection keeps the default (item 5).

Every read command runs from --address, from a configured watch-only account, or from the
address a stored keystore declares, without a passphrase and without decrypting anything;
a watched address can never sign. Agent keys are bound to their master and venue and never
take the default away from the master key."""

from __future__ import annotations

import json

import pytest

from perpcli.keys import keystore
from tests.cli_devnet import devnet_fixture, new_key

READS = (["account"], ["positions"], ["orders"], ["fills"], ["funding-history"], ["agent", "list"], ["twap", "list"])


devnet = devnet_fixture(seed=11)


@pytest.fixture
def no_decrypt(monkeypatch):
    """Fail the test if anything decrypts a keystore (scrypt) or asks for a passphrase."""
    def refuse(*a, **k):
        raise AssertionError("a read decrypted a keystore")

    monkeypatch.setattr(keystore, "decrypt", refuse)
    monkeypatch.delenv("PERPCLI_PASSPHRASE", raising=False)


def _store_key(perp, monkeypatch, name: str, key: str) -> None:
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    r = perp("keys", "import", name, stdin=key + "\n")
    assert r.code == 0, r.err
    monkeypatch.delenv("PERPCLI_PASSPHRASE")


def exchange_count(devnet, address: str) -> int:
    return devnet.call(lambda: devnet.devnet.desk.requests_used.get(address.lower(), 0))


def test_every_read_works_from_an_address_alone(perp, devnet, no_decrypt):
    key, addr = new_key(devnet.url)
    for cmd in READS:
        r = perp("--json", "--address", addr, *cmd)
        assert r.code == 0, (cmd, r.err)
        assert isinstance(r.json(), (list, dict))
    acct = perp("--json", "account", "--address", addr).json()
    assert acct["account"] == addr
    assert perp("positions", "--address", "0x1234").code == 2  # not an address: usage error


def test_a_stored_keystore_is_read_without_its_passphrase(perp, devnet, monkeypatch):
    key, addr = new_key(devnet.url)
    _store_key(perp, monkeypatch, "main", key)
    monkeypatch.setattr(keystore, "decrypt", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decrypted")))
    for cmd in READS:
        r = perp("--json", *cmd)
        assert r.code == 0, (cmd, r.err)
    assert perp("--json", "account").json()["account"] == addr


def test_a_watched_address_never_signs(perp, devnet, no_decrypt):
    key, addr = new_key(devnet.url)
    before = exchange_count(devnet, addr)
    r = perp("--address", addr, "buy", "BTC", "0.001", "--market", "--slippage", "3%", "--yes")
    assert r.code == 4 and "watch-only" in r.err, r.err
    r = perp("--address", addr, "leverage", "BTC", "3", "--yes")
    assert r.code == 4
    assert exchange_count(devnet, addr) == before


def test_a_configured_watch_only_account(perp, devnet, monkeypatch, no_decrypt):
    key, addr = new_key(devnet.url)
    monkeypatch.setenv("PERPCLI_DEFAULT_ADDRESS", addr)
    r = perp("--json", "account")
    assert r.code == 0, r.err
    assert r.json()["account"] == addr
    assert perp("--json", "positions").json() == []


def test_agent_key_does_not_take_the_default_and_revoke_archives_it(perp, devnet, monkeypatch, perpcli_home):
    key, master = new_key(devnet.url)
    _store_key(perp, monkeypatch, "main", key)
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    a = perp("--json", "agent", "approve", "bot", "--yes")
    assert a.code == 0, a.err
    agent = a.json()["detail"]["agent"]
    doc = json.loads((perpcli_home / "keys" / "bot.json").read_text())
    assert doc["perpcli"] == {"role": "agent", "master": master, "venue": "devnet"}
    # The master stays the default: no --account needed, for reads and for trading.
    acct = perp("--json", "account")
    assert acct.code == 0, acct.err
    assert acct.json()["signer"] == master
    buy = perp("--json", "buy", "ETH", "0.01", "--market", "--slippage", "3%", "--yes")
    assert buy.code == 0, buy.err
    # The agent trades for its master when named; on another venue it is refused.
    by_agent = perp("--json", "--account", "bot", "account").json()
    assert by_agent["signer"] == agent and by_agent["account"] == master
    elsewhere = perp("--venue", "hyperliquid-testnet", "--account", "bot", "leverage", "BTC", "3", "--yes")
    assert elsewhere.code == 4 and "agent for" in elsewhere.err and "on devnet" in elsewhere.err
    keys = {k["name"]: k for k in perp("--json", "keys", "list").json()}
    assert keys["bot"]["agent_for"] == master and keys["main"]["agent_for"] is None
    rv = perp("--json", "agent", "revoke", "bot", "--yes")
    assert rv.code == 0, rv.err
    assert rv.json()["action"] == "agent_revoke"
    assert "bot" not in {k["name"] for k in perp("--json", "keys", "list").json()}
    assert list((perpcli_home / "keys" / ".removed").glob("bot-*.json"))


def _capture_watch(monkeypatch) -> dict:
    """Capture what `perp watch` hands the TUI, without starting it."""
    from perpcli.tui import run as tui_run

    seen: dict = {}

    class NoApp:
        def run(self):
            pass

    def fake_build_app(market_data, *, markets, trading=None, settings, read_only=False, **kw):
        seen.update(trading=trading, read_only=read_only,
                    account=trading.account_address if trading is not None else None)
        return NoApp(), None

    monkeypatch.setattr(tui_run, "build_app", fake_build_app)
    return seen


def _watch(devnet, monkeypatch, *args: str):
    """`perp ARGS` in-process with terminals for stdin and stdout."""
    import io
    import sys
    from contextlib import redirect_stderr, redirect_stdout

    from perpcli.cli.main import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    out, err = Terminal(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--url", devnet.url, "--network", "testnet", *args])
    return code, err.getvalue()


def test_watch_no_trading_reads_the_stored_address_without_decrypting(perp, devnet, monkeypatch):
    key, addr = new_key(devnet.url)
    _store_key(perp, monkeypatch, "main", key)
    monkeypatch.setattr(keystore, "decrypt", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decrypted")))
    seen = _capture_watch(monkeypatch)
    code, err = _watch(devnet, monkeypatch, "watch", "BTC", "--no-trading")
    assert code == 0, err
    assert seen["read_only"] is True and seen["account"] == addr


def test_watch_with_an_address_is_read_only(perp, devnet, monkeypatch, no_decrypt):
    key, addr = new_key(devnet.url)
    seen = _capture_watch(monkeypatch)
    code, err = _watch(devnet, monkeypatch, "--address", addr, "watch", "BTC")
    assert code == 0, err
    assert seen["read_only"] is True and seen["account"] == addr
