"""The deployed Ostium ABIs, read as package data, and calls/errors/events encoded from them.

Ostium's public source is older than its deployed contracts (openTrade and closeTradeMarket
gained arguments), so every selector here comes from the ABI JSON shipped beside this module,
never from hand-written signatures. abicodec (perpcli's own, for its import cost) does the
byte layout.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from perpcli.keys.hashing import keccak256
from perpcli.venues.ostium import abicodec

CONTRACTS = ("trading", "trading_storage", "callbacks", "pairs_storage", "pairs_info", "usdc", "faucet")


@functools.cache
def load(contract: str) -> tuple[dict[str, Any], ...]:
    """One contract's ABI entries (package data under abi/)."""
    if contract not in CONTRACTS:
        raise KeyError(f"no Ostium ABI named {contract!r}")
    text = resources.files(__package__).joinpath("abi", f"{contract}.json").read_text()
    return tuple(json.loads(text))


def canonical_type(param: dict[str, Any]) -> str:
    """The ABI type string used in signatures: tuples spelled out as (t1,t2,...)."""
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(canonical_type(p) for p in entry['inputs'])})"


@dataclass(frozen=True, slots=True)
class Function:
    contract: str
    name: str
    input_types: tuple[str, ...]
    input_names: tuple[str, ...]
    output_types: tuple[str, ...]
    selector: bytes

    def encode(self, *args: Any) -> bytes:
        """Selector + ABI-encoded arguments (tuples as Python tuples, in ABI component order)."""
        if len(args) != len(self.input_types):
            raise TypeError(f"{self.name} takes {len(self.input_types)} arguments, got {len(args)}")
        return self.selector + abicodec.encode(self.input_types, args)

    def decode_output(self, data: bytes) -> tuple[Any, ...]:
        return abicodec.decode(self.output_types, data)


@functools.cache
def function(contract: str, name: str) -> Function:
    """The one function `name` of `contract` (the deployed ABIs have no overloads we call)."""
    found = [e for e in load(contract) if e.get("type") == "function" and e["name"] == name]
    if len(found) != 1:
        raise KeyError(f"{contract}.{name}: {len(found)} ABI entries")
    entry = found[0]
    return Function(
        contract=contract,
        name=name,
        input_types=tuple(canonical_type(p) for p in entry["inputs"]),
        input_names=tuple(p["name"] for p in entry["inputs"]),
        output_types=tuple(canonical_type(p) for p in entry.get("outputs", ())),
        selector=keccak256(signature(entry).encode())[:4],
    )


@dataclass(frozen=True, slots=True)
class CustomError:
    contract: str
    name: str
    input_types: tuple[str, ...]
    input_names: tuple[str, ...]


@functools.cache
def errors_by_selector() -> dict[bytes, CustomError]:
    """Every custom error of every Ostium ABI, keyed by its 4-byte selector.

    A revert may come from any contract the call passes through (Trading calls TradingStorage,
    PairsStorage, the USDC token...), so the lookup spans all of them.
    """
    out: dict[bytes, CustomError] = {}
    for contract in CONTRACTS:
        for e in load(contract):
            if e.get("type") != "error":
                continue
            sel = keccak256(signature(e).encode())[:4]
            out.setdefault(sel, CustomError(contract, e["name"], tuple(canonical_type(p) for p in e["inputs"]),
                                            tuple(p["name"] for p in e["inputs"])))
    return out


@dataclass(frozen=True, slots=True)
class DecodedRevert:
    name: str  # custom error name, "Error" (require string), "Panic", or "" when unknown
    args: tuple[Any, ...]
    raw: bytes

    def describe(self) -> str:
        if not self.name:
            return f"reverted with unknown data 0x{self.raw.hex()}" if self.raw else "reverted without a reason"
        if self.name == "Error" and self.args:
            return str(self.args[0])
        shown = ", ".join(str(a) for a in self.args)
        return f"{self.name}({shown})"


_ERROR_STRING = keccak256(b"Error(string)")[:4]
_PANIC = keccak256(b"Panic(uint256)")[:4]


def decode_revert(data: bytes) -> DecodedRevert:
    """Name and arguments of revert data: a custom error from the ABIs, Error(string) or Panic."""
    sel, body = data[:4], data[4:]
    try:
        if sel == _ERROR_STRING:
            return DecodedRevert("Error", tuple(abicodec.decode(["string"], body)), data)
        if sel == _PANIC:
            return DecodedRevert("Panic", tuple(abicodec.decode(["uint256"], body)), data)
        err = errors_by_selector().get(sel)
        if err is not None:
            return DecodedRevert(err.name, tuple(abicodec.decode(list(err.input_types), body)), data)
    except abicodec.AbiDecodeError:  # data shorter than (or shaped unlike) what the error declares
        pass
    return DecodedRevert("", (), data)


@functools.cache
def event_topics(contract: str) -> dict[bytes, dict[str, Any]]:
    """topic0 -> event ABI entry, for reading receipts and logs."""
    return {keccak256(signature(e).encode()): e for e in load(contract) if e.get("type") == "event"}
