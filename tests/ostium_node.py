"""A scripted JSON-RPC node for Ostium: eth_calls answered from a table built with the deployed
ABIs (what the adapter would ask, what the contract would return), and — in ScriptedChain —
transactions: nonces, gas, broadcast, receipts and logs, with a hook that says what a mined
transaction emitted and a switch that holds broadcasts unmined (a process killed before its
receipt). The oracle's latest-prices feed is served on GET /prices."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_abi import encode

from perpcli.keys.hashing import keccak256
from perpcli.venues.ostium import abi

TRADING = "0x6d0ba1f9996dbd8885827e1b2e8f6593e7702411"
TRADING_STORAGE = "0xccd5891083a8acd2074690f65d3024e7d13d66e7"
REGISTRY = "0x" + "aa" * 20
PAIRS_STORAGE = "0x" + "bb" * 20
PAIR_INFOS = "0x" + "cc" * 20
CALLBACKS = "0x" + "dd" * 20


class ScriptedNode:
    def __init__(self, chain_id: int = 31337) -> None:
        self.chain_id = chain_id
        self.table: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str]] = []
        get_address = keccak256(b"getContractAddress(bytes32)")[:4]
        self.table[(TRADING, "0x" + abi.function("trading", "registry").selector.hex())] = _words(["address"], [REGISTRY])
        self.prices: list[dict] = []
        for name, where in (("pairsStorage", PAIRS_STORAGE), ("pairInfos", PAIR_INFOS), ("callbacks", CALLBACKS)):
            data = get_address + encode(["bytes32"], [name.encode().ljust(32, b"\0")])
            self.table[(REGISTRY, "0x" + data.hex())] = _words(["address"], [where])

    def expect(self, to: str, contract: str, name: str, args: tuple, returns: list[Any]) -> None:
        fn = abi.function(contract, name)
        self.table[(to.lower(), "0x" + fn.encode(*args).hex())] = _words(list(fn.output_types), returns)

    lock = threading.RLock()

    def answer(self, method: str, params: list) -> Any:
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_call":
            key = (params[0]["to"].lower(), params[0]["data"])
            self.calls.append(key)
            return self.table[key]
        raise KeyError(method)


def _words(types: list[str], values: list[Any]) -> str:
    return "0x" + encode(types, values).hex()


@contextmanager
def serving(node: ScriptedNode) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name: the oracle feed
            data = json.dumps(node.prices, default=str).encode()  # Decimal prices as JSON strings
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802 - http.server's name
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                with node.lock:
                    body = {"jsonrpc": "2.0", "id": req["id"], "result": node.answer(req["method"], req["params"])}
            except KeyError as e:
                body = {"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": f"unscripted {e}"}}
            except Reverted as e:
                body = {"jsonrpc": "2.0", "id": req["id"],
                        "error": {"code": 3, "message": "execution reverted", "data": "0x" + e.data.hex()}}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Reverted(Exception):
    def __init__(self, data: bytes) -> None:
        super().__init__("reverted")
        self.data = data


def custom_error(name: str, *args: Any) -> bytes:
    """Revert data for one of the ABIs' custom errors."""
    for sel, err in abi.errors_by_selector().items():
        if err.name == name:
            return sel + encode(list(err.input_types), list(args))
    raise KeyError(name)


def event_log(contract: str, name: str, address: str, **args: Any) -> dict:
    """A JSON-RPC log of one ABI event, its indexed arguments in topics (blockNumber set when mined)."""
    for topic, entry in abi.event_topics(contract).items():
        if entry["name"] != name:
            continue
        topics = ["0x" + topic.hex()]
        plain_types, plain_values = [], []
        for i, p in enumerate(entry["inputs"]):
            value = args[p["name"] or f"arg{i}"]
            if p["indexed"]:
                topics.append("0x" + encode([abi.canonical_type(p)], [value]).hex())
            else:
                plain_types.append(abi.canonical_type(p))
                plain_values.append(value)
        return {"address": address, "topics": topics, "data": "0x" + encode(plain_types, plain_values).hex()}
    raise KeyError(f"{contract} has no event {name}")


class ScriptedChain(ScriptedNode):
    """ScriptedNode plus the transaction side of a chain.

    `on_mined(signed)` returns (succeeded, logs) for a trader's transaction when it is mined;
    `keeper(signed, logs)` returns the keeper's settlement logs, mined one block later (None: it
    never answers). With `hold` set, broadcasts stay pending until `mine()`.
    """

    def __init__(self, chain_id: int = 31337) -> None:
        super().__init__(chain_id)
        self.block = 100
        self.base_fee = 10**7
        self.sent: list[Any] = []  # every eth_sendRawTransaction, decoded, in order (repeats included)
        self.pending: list[Any] = []
        self.receipts: dict[str, dict] = {}
        self.logs: list[dict] = []
        self.mined_nonce: dict[str, int] = {}
        self.hold = False
        self.estimate_revert: bytes | None = None
        self.on_mined = lambda signed: (True, [])
        self.keeper = lambda signed, logs: None

    def answer(self, method: str, params: list) -> Any:
        from perpcli.venues.ostium.transactions import decode

        if method == "eth_blockNumber":
            return hex(self.block)
        if method == "eth_getBlockByNumber":
            return {"number": hex(self.block), "baseFeePerGas": hex(self.base_fee)}
        if method == "eth_estimateGas":
            if self.estimate_revert is not None:
                raise Reverted(self.estimate_revert)
            return hex(200_000)
        if method == "eth_getTransactionCount":
            who = params[0].lower()
            mined = self.mined_nonce.get(who, 0)
            if params[1] == "pending":
                return hex(mined + sum(1 for p in self.pending if p.sender == who))
            return hex(mined)
        if method == "eth_sendRawTransaction":
            signed = decode(bytes.fromhex(params[0][2:]))
            self.sent.append(signed)
            if signed.hash_hex in self.receipts or any(p.hash_hex == signed.hash_hex for p in self.pending):
                return signed.hash_hex
            # a same-nonce transaction from the same sender replaces the one in the pool
            self.pending = [p for p in self.pending if (p.sender, p.tx.nonce) != (signed.sender, signed.tx.nonce)]
            self.pending.append(signed)
            if not self.hold:
                self.mine()
            return signed.hash_hex
        if method == "eth_getTransactionReceipt":
            return self.receipts.get(params[0])
        if method == "eth_getTransactionByHash":
            known = params[0] in self.receipts or any(p.hash_hex == params[0] for p in self.pending)
            return {"hash": params[0]} if known else None
        if method == "eth_getLogs":
            q = params[0]
            start = int(q["fromBlock"], 16)
            out = []
            for log in self.logs:
                if log["address"].lower() != q["address"].lower() or int(log["blockNumber"], 16) < start:
                    continue
                if all(want is None or (i < len(log["topics"]) and log["topics"][i] == want)
                       for i, want in enumerate(q["topics"])):
                    out.append(log)
            return out
        return super().answer(method, params)

    def mine(self) -> None:
        """Mine every pending transaction, each in its own block, then the keeper's answers."""
        settle = []
        for signed in self.pending:
            self.block += 1
            ok, logs = self.on_mined(signed)
            stamped = [{**log, "blockNumber": hex(self.block), "transactionHash": signed.hash_hex} for log in logs]
            self.logs.extend(stamped)
            self.receipts[signed.hash_hex] = {"transactionHash": signed.hash_hex, "blockNumber": hex(self.block),
                                              "status": "0x1" if ok else "0x0", "gasUsed": hex(150_000),
                                              "effectiveGasPrice": hex(self.base_fee), "logs": stamped}
            self.mined_nonce[signed.sender] = signed.tx.nonce + 1
            settle.append((signed, logs))
        self.pending = []
        for signed, logs in settle:
            answer = self.keeper(signed, logs)
            if answer:
                self.block += 1
                self.logs.extend({**log, "blockNumber": hex(self.block), "transactionHash": "0x" + "ee" * 32}
                                 for log in answer)
