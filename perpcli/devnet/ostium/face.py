"""The Ostium face's HTTP side: a JSON-RPC proxy in front of anvil, the latest-prices feed, and
loopback-only control endpoints.

Why a proxy and not anvil's own port: so that an address is funded the first time its own
state is read (eth_getBalance / eth_getTransactionCount of it, USDC.balanceOf(it), or a call or
gas estimate *from* it), exactly as the Hyperliquid face funds a new user — `perp --venue
ostium-devnet account` with a fresh key shows a funded account. The proxy forwards the
standard eth_/net_/web3_ methods only: eth_sendTransaction and the node's anvil_* controls stay
on anvil's private port (the keeper's and governance's impersonated accounts live there).

Routes: POST / (JSON-RPC, single or batch); GET /latest-prices (Ostium's feed shape); POST
/devnet/fund {"user", "amount"} (USDC and gas); POST /devnet/price {"symbol", "mid"|null};
POST /devnet/market {"symbol", "open": true|false|null}; POST /devnet/keeper {"paused": bool} (a
stuck keeper: orders stay accepted, so the timeout refunds can be tried); GET /devnet/status.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from perpcli.devnet.control_guard import control_refusal
from perpcli.devnet.ostium import artifacts

if TYPE_CHECKING:
    from perpcli.devnet.ostium.node import OstiumDevnet

log = logging.getLogger("perpcli.devnet.ostium")

MAX_BODY = 4 * 1024 * 1024
FORWARDED_PREFIXES = ("eth_", "net_", "web3_")
REFUSED = frozenset({"eth_sendTransaction", "eth_sign", "eth_signTransaction", "eth_signTypedData",
                     "eth_signTypedData_v3", "eth_signTypedData_v4"})
_BALANCE_OF = "0x70a08231"


def owners_read(method: str, params: Any) -> list[str]:
    """The addresses whose own state this request reads (candidates for funding on first sight)."""
    if not isinstance(params, list) or not params:
        return []
    first = params[0]
    if method in ("eth_getBalance", "eth_getTransactionCount") and isinstance(first, str):
        return [first]
    if method in ("eth_call", "eth_estimateGas") and isinstance(first, dict):
        found = [first["from"]] if isinstance(first.get("from"), str) else []
        data = first.get("data") or first.get("input") or ""
        to = str(first.get("to") or "").lower()
        if to == artifacts.USDC and isinstance(data, str) and data.startswith(_BALANCE_OF) and len(data) == 74:
            found.append("0x" + data[-40:])
        return found
    return []


def _is_address(text: str) -> bool:
    if not (isinstance(text, str) and len(text) == 42 and text[:2] in ("0x", "0X")):
        return False
    try:
        return int(text[2:], 16) != 0
    except ValueError:
        return False


class Forwarder:
    """One keep-alive connection to anvil per proxy thread."""

    def __init__(self, node_url: str) -> None:
        parts = urlsplit(node_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()

    def post(self, body: bytes) -> bytes:
        for attempt in (0, 1):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                conn.request("POST", "/", body, {"Content-Type": "application/json"})
                return conn.getresponse().read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def _rpc_error(req_id: Any, message: str, code: int = -32601) -> dict:
    return {"jsonrpc": "2.0", "id": req_id, "error": {"code": code, "message": message}}


class FaceServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], devnet: OstiumDevnet) -> None:
        self.devnet = devnet
        self.forwarder = Forwarder(devnet.node_url)
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in two writes: no 40 ms delayed-ACK stall
    server: FaceServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        log.debug("ostium face: " + format, *args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value, separators=(",", ":")).encode())

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._json(413, {"error": "body missing or too large"})
            return None
        return self.rfile.read(length)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path.rstrip("/")
        devnet = self.server.devnet
        if path == "/latest-prices":
            self._send(200, devnet.prices.latest_prices())
        elif path == "/devnet/status":
            self._json(200, devnet.status())
        else:
            self._json(404, {"error": f"no route {path or '/'}; JSON-RPC is POST /, prices GET /latest-prices"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path.rstrip("/")
        body = self._body()
        if body is None:
            return
        if path.startswith("/devnet/"):
            self._control(path[len("/devnet/"):], body)
            return
        try:
            request = json.loads(body)
        except ValueError:
            self._json(200, _rpc_error(None, "parse error: the body is not JSON", -32700))
            return
        batch = request if isinstance(request, list) else [request]
        refused = [r for r in batch if not self._allowed(r)]
        if refused:
            first = refused[0] if isinstance(refused[0], dict) else {}
            self._json(200, _rpc_error(first.get("id"), f"the perp devnet's Ostium proxy does not serve "
                                                      f"{str(first.get('method'))[:60]!r} (standard eth_ methods only)"))
            return
        devnet = self.server.devnet
        for r in batch:
            for owner in owners_read(r.get("method", ""), r.get("params")):
                if _is_address(owner):
                    devnet.fund_on_first_sight(owner)
        try:
            answer = self.server.forwarder.post(body)
        except (http.client.HTTPException, OSError) as e:
            self._json(502, {"error": f"the devnet's anvil did not answer: {e}"})
            return
        if any(r.get("method") == "eth_sendRawTransaction" for r in batch):
            devnet.keeper_poke()
        self._send(200, answer)

    @staticmethod
    def _allowed(r: Any) -> bool:
        if not isinstance(r, dict) or not isinstance(r.get("method"), str):
            return False
        method = r["method"]
        return method.startswith(FORWARDED_PREFIXES) and method not in REFUSED

    def _control(self, command: str, body: bytes) -> None:
        refusal = control_refusal({k.lower(): v for k, v in self.headers.items()}, self.server.server_address[1])
        if refusal is not None:
            status, why = refusal
            self._json(status, {"error": why})
            return
        try:
            args = json.loads(body or b"{}", parse_float=Decimal)
            if not isinstance(args, dict):
                raise ValueError("the body must be a JSON object")
            self._json(200, self.server.devnet.control(command, args))
        except KeyError as e:
            self._json(404, {"error": str(e).strip("'\"")})
        except (ValueError, InvalidOperation, TypeError) as e:
            self._json(400, {"error": str(e) or "bad request"})
