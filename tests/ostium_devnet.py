"""Helpers for tests against the Ostium devnet on a real EVM node (not a test module itself).

A test module writes `ostium = ostium_devnet_fixture()` and gets, once per module, a devnet
(anvil + perpcli's Ostium contracts at the mainnet addresses + the keeper + the funding proxy)
on free loopback ports, every market open (hours "always") and prices that move only when a
test sets them. `ostium.rpc_url` / `ostium.prices_url` are what `--venue ostium-devnet` needs
(`--url RPC` and venues.ostium-devnet.price_url / PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL);
`ostium.new_key()` is a fresh key funded with USDC and gas. Without anvil the module skips with
one line saying what to install.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpcli.keys.signer import Signer
from tests.support import register_secret


def control(url: str, command: str, body: dict) -> dict:
    req = urllib.request.Request(f"{url}/devnet/{command}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@dataclass
class OstiumDevnetSession:
    devnet: Any  # perpcli.devnet.ostium.node.OstiumDevnet

    @property
    def rpc_url(self) -> str:
        return self.devnet.url

    @property
    def prices_url(self) -> str:
        return self.devnet.prices_url

    @property
    def node_url(self) -> str:
        """anvil's private port (anvil_* methods; the proxy refuses them)."""
        return self.devnet.node_url

    def env(self) -> dict[str, str]:
        """Environment that points `--venue ostium-devnet` at this devnet."""
        return {"PERPCLI_VENUES_OSTIUM_DEVNET_URL": self.rpc_url,
                "PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL": self.prices_url}

    def new_key(self, fund: str | None = "10000") -> tuple[str, str]:
        """A fresh (private key hex, address); funded with `fund` USDC and gas unless None (an
        unfunded address is still funded with the initial balance when its state is first read)."""
        hexkey = "0x" + secrets.token_hex(32)
        register_secret(hexkey)
        address = Signer.from_hex(hexkey).address
        if fund is not None:
            control(self.rpc_url, "fund", {"user": address, "amount": fund})
        return hexkey, address

    def set_price(self, symbol: str, mid: str | Decimal) -> dict:
        return control(self.rpc_url, "price", {"symbol": symbol, "mid": str(mid)})

    def set_open(self, symbol: str, is_open: bool | None) -> dict:
        return control(self.rpc_url, "market", {"symbol": symbol, "open": is_open})

    def pause_keeper(self, paused: bool = True) -> dict:
        """A stuck keeper: orders stay `accepted` until resumed (or reclaimed after the timeout)."""
        return control(self.rpc_url, "keeper", {"paused": paused})

    def mine(self, blocks: int) -> None:
        """Advance the chain (marketOrdersTimeout counts blocks)."""
        from perpcli.venues.ostium.rpc import JsonRpc

        rpc = JsonRpc(self.node_url)
        try:
            rpc.call("anvil_mine", [hex(blocks)])
        finally:
            rpc.close()

    def wait_until(self, check: Callable[[], Any], timeout_s: float = 10.0, what: str = "the keeper") -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not act within {timeout_s:.0f} s")
            time.sleep(0.05)


def skip_without_anvil() -> None:
    import pytest

    from perpcli.devnet.ostium.anvil import INSTALL_HINT, anvil_binary

    if anvil_binary() is None:
        pytest.skip(INSTALL_HINT, allow_module_level=True)


def start_ostium_devnet(**overrides: Any):
    """A started OstiumDevnet on free ports for tests (stop it with .stop())."""
    from perpcli.devnet.ostium.node import OstiumDevnet, OstiumDevnetConfig

    options = {"port": 0, "hours": "always", "walk": False, "keeper_interval_s": 0.1, **overrides}
    return OstiumDevnet(OstiumDevnetConfig(**options)).start()


def ostium_devnet_fixture(**overrides: Any):
    """A module-scoped fixture yielding an OstiumDevnetSession (one chain per test module)."""
    import pytest

    @pytest.fixture(scope="module")
    def fixture():
        skip_without_anvil()
        devnet = start_ostium_devnet(**overrides)
        try:
            yield OstiumDevnetSession(devnet)
        finally:
            devnet.stop()

    return fixture
