"""Aster venues take their settings like every other venue: url, account, vault_address."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

from perpcli.cli.main import main
from perpcli.venues import registry
from tests.cli_devnet import devnet_fixture

devnet = devnet_fixture(seed=41, coins=("BTC",))


def _perp(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_a_configured_url_reaches_a_devnet_aster_face_on_another_port(devnet, monkeypatch):
    assert not devnet.url.endswith(":8787")
    monkeypatch.setenv("PERPCLI_VENUES_ASTER_DEVNET_URL", devnet.url)
    code, out, err = _perp("--venue", "aster-devnet", "--json", "price", "BTCUSDT")
    assert code == 0, err
    assert [row["market"] for row in json.loads(out)] == ["BTCUSDT"]


def test_the_venues_own_url_keeps_its_own_websocket_host():
    aster = registry.get_entry("aster")
    # The config default names the venue's own REST URL: its stream host is another one.
    assert aster.config(url="https://fapi.asterdex.com").ws_url == aster.config().ws_url == "wss://fstream.asterdex.com"
    assert registry.get_entry("aster-devnet").config(url="http://127.0.0.1:9999").ws_url == "ws://127.0.0.1:9999/aster"


def test_an_aster_account_puts_aster_in_the_portfolio(monkeypatch):
    from perpcli.app.portfolio import portfolio_venues
    from perpcli.config import settings

    monkeypatch.setenv("PERPCLI_VENUES_ASTER_DEVNET_ACCOUNT", "trader")
    monkeypatch.setenv("PERPCLI_VENUES_DEVNET_ACCOUNT", "trader")
    monkeypatch.setenv("PERPCLI_VENUES_ASTER_VAULT_ADDRESS", "0x" + "12" * 20)
    settings.configure()
    assert portfolio_venues(settings.current()) == ["devnet", "aster-devnet"]
    assert settings.current().get("venues.aster.vault_address") == "0x" + "12" * 20
