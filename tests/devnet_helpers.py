"""Test helpers for the devnet server tests: a tiny keep-alive HTTP client and signed actions.

Signing goes through perpcli's own venue signing module (the SDK is exercised separately in
test_devnet_sdk_conformance.py), so these tests prove the devnet accepts what perpcli sends.
"""

from __future__ import annotations

import http.client
import json
import time
from decimal import Decimal
from urllib.parse import urlparse

from perpcli.keys.signer import Signer
from perpcli.venues.hyperliquid import actions, signing
from tests.support import register_secret

KEY_A = "0x" + "a1" * 32
KEY_B = "0x" + "b2" * 32
KEY_AGENT = "0x" + "c3" * 32
KEY_STRANGER = "0x" + "d4" * 32
for _key in (KEY_A, KEY_B, KEY_AGENT, KEY_STRANGER):
    register_secret(_key)  # the suite's leak check must know every key these tests use


class Http:
    """One keep-alive HTTP/1.1 connection to a devnet."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        u = urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def post_raw(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        try:
            self.conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            raise
        data = resp.read()
        return resp.status, resp.getheader("Content-Type", ""), data

    def post(self, path: str, payload) -> object:
        status, _, data = self.post_raw(path, json.dumps(payload).encode())
        assert status == 200, (status, data)
        return json.loads(data)

    def info(self, payload: dict) -> object:
        return self.post("/info", payload)

    def control(self, command: str, payload: dict) -> dict:
        return self.post(f"/devnet/{command}", payload)

    def close(self) -> None:
        self.conn.close()


def first_look(url: str, *addresses: str) -> None:
    """Read each address's own account state once, as a client does before trading: on an
    auto-funding devnet that is what creates and funds an address it has never seen."""
    client = Http(url)
    try:
        for addr in addresses:
            client.info({"type": "clearinghouseState", "user": addr})
    finally:
        client.close()


class Nonces:
    """Strictly increasing ms nonces (several signers share it; uniqueness is all that matters)."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last = max(time.time_ns() // 1_000_000, self.last + 1)
        return self.last


NONCES = Nonces()


def signed_l1(key: str, action: dict, *, nonce: int | None = None, vault: str | None = None,
              expires_after: int | None = None, is_mainnet: bool = False) -> dict:
    signer = Signer.from_hex(key)
    nonce = NONCES.next() if nonce is None else nonce
    sig = signing.sign_l1_action(
        signer, action, nonce=nonce, vault_address=vault, expires_after=expires_after, is_mainnet=is_mainnet
    )
    return signing.exchange_request_body(
        action, nonce=nonce, signature=sig, vault_address=vault, expires_after=expires_after
    )


def signed_user(key: str, action: dict, *, is_mainnet: bool = False) -> dict:
    signer = Signer.from_hex(key)
    posted, sig = signing.sign_user_signed_action(signer, action, is_mainnet=is_mainnet)
    nonce = signing.user_signed_nonce(posted)
    return signing.exchange_request_body(posted, nonce=nonce, signature=sig)


def address(key: str) -> str:
    return Signer.from_hex(key).address


def limit_order(asset: int, is_buy: bool, px: str, sz: str, tif: str = "Gtc", cloid: str | None = None,
                reduce_only: bool = False) -> dict:
    spec = actions.OrderSpec(asset, is_buy, Decimal(px), Decimal(sz), actions.Limit(tif), reduce_only, cloid)
    return actions.order_action([spec])


def wait_for(predicate, timeout: float = 3.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
