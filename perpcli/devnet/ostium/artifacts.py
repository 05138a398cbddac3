"""The compiled devnet contracts (package data under artifacts/, built by `make ostium-contracts`)
and where the devnet places them.

Trading, TradingStorage and USDC sit at Ostium's mainnet addresses, so the signed transactions
Ostium's SDK produces for mainnet replay on a devnet started with chain id 42161. Registry,
Callbacks, PairsStorage and PairInfos are found through the registry, as on the real chain, so
their devnet addresses are free: short, recognisable ones.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from perpcli.keys.hashing import keccak256
from perpcli.venues.ostium import abicodec
from perpcli.venues.ostium.abi import canonical_type, signature
from perpcli.venues.ostium.networks import MAINNET

TRADING = MAINNET.trading.lower()
TRADING_STORAGE = MAINNET.trading_storage.lower()
USDC = MAINNET.usdc.lower()
REGISTRY = "0x0000000000000000000000000000000000571001"
CALLBACKS = "0x0000000000000000000000000000000000571002"
PAIRS_STORAGE = "0x0000000000000000000000000000000000571003"
PAIR_INFOS = "0x0000000000000000000000000000000000571004"
# Accounts the devnet impersonates on its own node (no key exists for them).
GOV = "0x00000000000000000000000000000000005710a0"
KEEPER = "0x00000000000000000000000000000000005710b0"

# artifact name -> address
PLACEMENT = {
    "usdc": USDC,
    "registry": REGISTRY,
    "pairs_storage": PAIRS_STORAGE,
    "pairs_info": PAIR_INFOS,
    "trading_storage": TRADING_STORAGE,
    "trading": TRADING,
    "callbacks": CALLBACKS,
}
CONTRACT_ADDRESSES = frozenset(PLACEMENT.values()) | {GOV, KEEPER}


@functools.cache
def load(name: str) -> dict[str, Any]:
    """One artifact: {contract, abi, runtime_bytecode, ...}."""
    text = resources.files(__package__).joinpath("artifacts", f"{name}.json").read_text()
    return json.loads(text)


@dataclass(frozen=True, slots=True)
class Fn:
    name: str
    input_types: tuple[str, ...]
    output_types: tuple[str, ...]
    selector: bytes

    def encode(self, *args: Any) -> bytes:
        return self.selector + abicodec.encode(self.input_types, args)

    def decode(self, data: bytes) -> tuple[Any, ...]:
        return abicodec.decode(self.output_types, data)


@functools.cache
def fn(artifact: str, name: str) -> Fn:
    """A function of a devnet artifact by name (the devnet's own entry points included)."""
    found = [e for e in load(artifact)["abi"] if e.get("type") == "function" and e["name"] == name]
    if len(found) != 1:
        raise KeyError(f"{artifact}.{name}: {len(found)} entries")
    e = found[0]
    return Fn(name, tuple(canonical_type(p) for p in e["inputs"]),
              tuple(canonical_type(p) for p in e.get("outputs", ())), keccak256(signature(e).encode())[:4])
