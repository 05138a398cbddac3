"""The devnet's own conversation with its anvil: placing code, sending as the accounts it
impersonates (governance, the keeper), funding traders. One `NodeClient` per thread (the
JSON-RPC connection underneath is not shared)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from perpcli.devnet.ostium import artifacts
from perpcli.venues.ostium.rpc import JsonRpc

ETH = 10**18
USDC_UNIT = Decimal(10**6)


class NodeError(RuntimeError):
    pass


class NodeClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.rpc = JsonRpc(url)

    def close(self) -> None:
        self.rpc.close()

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        return self.rpc.call(method, params or [])

    def eth_call(self, to: str, data: bytes) -> bytes:
        out = self.call("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
        return bytes.fromhex(out[2:])

    def view(self, artifact: str, name: str, *args: Any) -> tuple[Any, ...]:
        fn = artifacts.fn(artifact, name)
        return fn.decode(self.eth_call(artifacts.PLACEMENT[artifact], fn.encode(*args)))

    def send_as(self, sender: str, to: str, data: bytes, *, gas: int = 3_000_000) -> dict[str, Any]:
        """A transaction from an impersonated account, mined at once (automine); its receipt.
        A revert raises NodeError (anvil refuses the transaction in its gas estimate, or mines
        it with status 0)."""
        tx = {"from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(gas)}
        tx_hash = self.call("eth_sendTransaction", [tx])
        receipt = self.receipt(tx_hash)
        if int(receipt.get("status", "0x0"), 16) != 1:
            raise NodeError(f"transaction {tx_hash} to {to} reverted")
        return receipt

    def receipt(self, tx_hash: str, timeout_s: float = 10.0) -> dict[str, Any]:
        """anvil mines at once but may answer eth_sendTransaction a moment before the receipt exists."""
        deadline = time.monotonic() + timeout_s
        while True:
            receipt = self.call("eth_getTransactionReceipt", [tx_hash])
            if isinstance(receipt, dict) and receipt.get("blockNumber"):
                return receipt
            if time.monotonic() > deadline:
                raise NodeError(f"no receipt for {tx_hash} within {timeout_s:.0f} s")
            time.sleep(0.005)

    def send_fn(self, sender: str, artifact: str, name: str, *args: Any) -> dict[str, Any]:
        fn = artifacts.fn(artifact, name)
        return self.send_as(sender, artifacts.PLACEMENT[artifact], fn.encode(*args))

    def eth_balance(self, who: str) -> int:
        return int(self.call("eth_getBalance", [who, "latest"]), 16)

    def add_eth(self, who: str, wei: int) -> None:
        self.call("anvil_setBalance", [who, hex(self.eth_balance(who) + wei)])

    def mint_usdc(self, who: str, amount: Decimal) -> None:
        raw = int(amount * USDC_UNIT)
        if raw != amount * USDC_UNIT or raw < 0:
            raise ValueError("a USDC amount has at most 6 decimals and is not negative")
        if raw:
            self.send_fn(artifacts.GOV, "usdc", "mint", who, raw)

    def usdc_balance(self, who: str) -> Decimal:
        (raw,) = self.view("usdc", "balanceOf", who)
        return Decimal(raw) / USDC_UNIT
