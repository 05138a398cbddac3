"""Ethereum JSON-RPC over perpcli's own HTTP/1.1 client.

web3 would do this too, but it loads ~100 modules (aiohttp, pydantic...) for what is one POST
per call; the project's http1 client already bounds every request (deadline, body size) and
says *when* a failure happened, which is what decides the exit code here:
- connect or send failed: nothing reached the node (NetworkError, exit 5, safe to retry);
- the request was written but no answer came (`NoAnswer`): harmless for a read (retried once),
  but for eth_sendRawTransaction the transaction may be on its way, and the caller settles it
  by hash and nonce instead of sending again.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from perpcli.domain.errors import NetworkError, RateLimited
from perpcli.net.http1 import (
    ConnectFailed,
    Http1Connection,
    Limits,
    ReceiveFailed,
    SendFailed,
    parse_http_url,
)


class NoAnswer(Exception):
    """The request left but no complete answer came back."""


class RpcError(Exception):
    """The node answered with a JSON-RPC error (e.g. a revert in eth_call / eth_estimateGas)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def revert_data(self) -> bytes | None:
        """The revert payload nodes put in `data` ("0x..." or {"data": "0x..."}), if any."""
        data = self.data
        if isinstance(data, dict):
            data = data.get("data") or data.get("result")
        if isinstance(data, str) and data.startswith("0x"):
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                return None
        return None


class JsonRpc:
    """One keep-alive connection to one node; not thread-safe (one per command)."""

    def __init__(self, url: str, *, limits: Limits | None = None) -> None:
        try:
            self._target = parse_http_url(url)
        except ValueError as e:
            from perpcli.domain.errors import UsageError

            raise UsageError(f"RPC URL {url!r}: {e}") from None
        self.url = url
        self._conn = Http1Connection(self._target.host, self._target.port, tls=self._target.tls, limits=limits)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._conn.close()

    def call(self, method: str, params: list[Any] | None = None, *, retry_read: bool = True) -> Any:
        """The result of one call; RpcError for a JSON-RPC error answer."""
        try:
            return self._call_once(method, params or [])
        except NoAnswer:
            if not retry_read:
                raise
            try:
                return self._call_once(method, params or [])
            except NoAnswer as e:
                raise NetworkError(f"RPC {method}: no answer from {self._where()} ({e})", retryable=True) from None

    def _where(self) -> str:
        return f"{self._target.host}:{self._target.port}"

    def _call_once(self, method: str, params: list[Any]) -> Any:
        request_id = next(self._ids)
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
                          separators=(",", ":")).encode()
        try:
            status, raw, will_close = self._conn.post(self._target.path or "/", body)
        except (ConnectFailed, SendFailed) as e:
            raise NetworkError(f"cannot reach the RPC node at {self._where()}: {e}") from None
        except ReceiveFailed as e:
            raise NoAnswer(str(e)) from None
        if will_close:
            self._conn.close()
        if status == 429:
            raise RateLimited(f"RPC node at {self._where()} is rate limiting (HTTP 429)")
        if status != 200:
            raise NoAnswer(f"HTTP {status}") if status >= 500 else NetworkError(
                f"RPC node at {self._where()} answered HTTP {status}", retryable=False)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise NoAnswer("the answer is not JSON") from None
        if not isinstance(answer, dict) or answer.get("id") != request_id:
            raise NoAnswer("the answer is not for this request")
        if "error" in answer:
            err = answer["error"] if isinstance(answer["error"], dict) else {"message": str(answer["error"])}
            code = err.get("code")
            raise RpcError(code if isinstance(code, int) else 0, str(err.get("message", ""))[:500], err.get("data"))
        if "result" not in answer:
            raise NoAnswer("the answer has neither result nor error")
        return answer["result"]
