"""Venue registry: built-ins listed without importing adapters; plugins via entry points."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from perpcli.domain.errors import UsageError
from perpcli.venues import registry
from perpcli.venues.base import Capabilities


def test_builtins_have_explicit_networks():
    assert registry.get_entry("hyperliquid").network == "mainnet"
    assert registry.get_entry("hyperliquid-testnet").network == "testnet"
    dev = registry.get_entry("devnet")
    assert dev.network == "testnet" and dev.url == "http://127.0.0.1:8787"


def test_config_derives_ws_url_and_keeps_network_explicit():
    cfg = registry.get_entry("devnet").config(url="http://127.0.0.1:9999/")
    assert cfg.url == "http://127.0.0.1:9999"
    assert cfg.ws_url == "ws://127.0.0.1:9999/ws"
    assert not cfg.is_mainnet
    main = registry.get_entry("hyperliquid").config()
    assert main.is_mainnet and main.ws_url == "wss://api.hyperliquid.xyz/ws"


def test_unknown_venue_is_usage_error():
    with pytest.raises(UsageError, match="unknown venue"):
        registry.get_entry("nope")


def test_capabilities_are_frozen_and_jsonable():
    caps = registry.get_entry("hyperliquid").load_capabilities()
    assert isinstance(caps, Capabilities)
    with pytest.raises(AttributeError):
        caps.name = "x"  # type: ignore[misc]
    data = caps.to_json()
    assert data["book_stream"] == "snapshot" and "gtc" in data["time_in_force"]
    json.dumps(data)


def test_plugin_entry_points_are_merged(monkeypatch):
    plugin = registry.VenueEntry(
        name="fakevenue",
        factory="x:y",
        capabilities="perpcli.venues.hyperliquid.capabilities:hyperliquid_capabilities",
        capability_args=("fakevenue", "Fake", "testnet"),
        network="testnet",
        url="http://x",
    )

    class EP:
        name = "fakevenue"

        def load(self):
            return lambda: plugin

    class Broken:
        name = "broken"

        def load(self):
            raise ImportError("nope")

    import importlib.metadata as md

    monkeypatch.setattr(md, "entry_points", lambda group: [EP(), Broken()] if group == "perpcli.venues" else [])
    venues = registry.all_venues()
    assert venues["fakevenue"].builtin is False
    assert registry.get_entry("fakevenue").url == "http://x"


def test_perp_venues_json_imports_no_adapter():
    code = (
        "import sys; from perpcli.cli.main import main; rc = main(['venues','--json']);"
        "bad=[m for m in sys.modules if m.startswith(('perpcli.venues.hyperliquid.adapter','perpcli.venues.ostium.adapter','websockets','textual','web3','eth_abi'))];"
        "sys.stderr.write(repr(bad)); sys.exit(rc if not bad else 99)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert {r["name"] for r in rows} >= {"hyperliquid", "hyperliquid-testnet", "devnet", "ostium", "ostium-testnet",
                                        "ostium-devnet"}
    assert all("capabilities" in r for r in rows)
