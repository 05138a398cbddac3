"""A scripted JSON-RPC node for Ostium reads: eth_calls answered from a table built with the
deployed ABIs (what the adapter would ask, what the contract would return)."""

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


class ScriptedNode:
    def __init__(self, chain_id: int = 31337) -> None:
        self.chain_id = chain_id
        self.table: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str]] = []
        get_address = keccak256(b"getContractAddress(bytes32)")[:4]
        self.table[(TRADING, "0x" + abi.function("trading", "registry").selector.hex())] = _words(["address"], [REGISTRY])
        for name, where in (("pairsStorage", PAIRS_STORAGE), ("pairInfos", PAIR_INFOS)):
            data = get_address + encode(["bytes32"], [name.encode().ljust(32, b"\0")])
            self.table[(REGISTRY, "0x" + data.hex())] = _words(["address"], [where])

    def expect(self, to: str, contract: str, name: str, args: tuple, returns: list[Any]) -> None:
        fn = abi.function(contract, name)
        self.table[(to.lower(), "0x" + fn.encode(*args).hex())] = _words(list(fn.output_types), returns)

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
        def do_POST(self):  # noqa: N802 - http.server's name
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                body = {"jsonrpc": "2.0", "id": req["id"], "result": node.answer(req["method"], req["params"])}
            except KeyError as e:
                body = {"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": f"unscripted {e}"}}
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
