"""JSON-RPC transport: failures classified by when they happened; errors mapped to ErrorKind."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from perpcli.domain.errors import ErrorKind, NetworkError, RateLimited, UsageError
from perpcli.venues.ostium import abi, errors
from perpcli.venues.ostium.rpc import JsonRpc, NoAnswer, RpcError


class Script:
    """What the scripted node answers next: (status, body) or "drop" (close without answering)."""

    def __init__(self) -> None:
        self.answers: list = []
        self.seen: list[dict] = []


@pytest.fixture
def scripted():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.seen.append(body)
            answer = script.answers.pop(0)
            if answer == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status, payload = answer
            if callable(payload):
                payload = payload(body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield script, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def ok(result):
    return 200, lambda body: {"jsonrpc": "2.0", "id": body["id"], "result": result}


def test_result_and_error_answers(scripted):
    script, url = scripted
    script.answers = [ok("0x7a69"), (200, lambda b: {"jsonrpc": "2.0", "id": b["id"], "error": {
        "code": 3, "message": "execution reverted", "data": "0x35fe85c50000000000000000000000000000000000000000000000000000000000004e20"}})]
    rpc = JsonRpc(url)
    assert rpc.call("eth_chainId") == "0x7a69"
    with pytest.raises(RpcError) as info:
        rpc.call("eth_call", [{}])
    revert = abi.decode_revert(info.value.revert_data() or b"")
    assert (revert.name, revert.args) == ("WrongLeverage", (20000,))
    assert script.seen[0]["method"] == "eth_chainId"


def test_a_lost_read_answer_is_retried_once_then_a_network_error(scripted):
    script, url = scripted
    script.answers = ["drop", ok("0x1")]
    assert JsonRpc(url).call("eth_blockNumber") == "0x1"
    script.answers = ["drop", "drop"]
    with pytest.raises(NetworkError, match="no answer"):
        JsonRpc(url).call("eth_blockNumber")


def test_a_lost_send_answer_is_never_retried(scripted):
    script, url = scripted
    script.answers = ["drop", ok("0x00")]
    with pytest.raises(NoAnswer):
        JsonRpc(url).call("eth_sendRawTransaction", ["0x02"], retry_read=False)
    assert len(script.seen) == 1


def test_rate_limit_and_http_errors(scripted):
    script, url = scripted
    script.answers = [(429, {}), (403, {})]
    with pytest.raises(RateLimited):
        JsonRpc(url).call("eth_blockNumber")
    with pytest.raises(NetworkError, match="HTTP 403"):
        JsonRpc(url).call("eth_blockNumber")


def test_an_answer_for_another_request_is_not_believed(scripted):
    script, url = scripted
    script.answers = [(200, {"jsonrpc": "2.0", "id": 999, "result": "0x1"})] * 2
    with pytest.raises(NetworkError):
        JsonRpc(url).call("eth_blockNumber")


def test_nothing_listening_is_exit_5_before_sending():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError) as info:
        JsonRpc(f"http://127.0.0.1:{port}").call("eth_chainId")
    assert info.value.exit_code == 5


def test_a_bad_rpc_url_is_a_usage_error():
    with pytest.raises(UsageError):
        JsonRpc("ftp://example")


@pytest.mark.parametrize(("name", "kind"), [
    ("WrongLeverage", ErrorKind.MAX_LEVERAGE), ("WrongTP", ErrorKind.INVALID_TRIGGER),
    ("BelowMinLevPos", ErrorKind.MIN_NOTIONAL), ("PairNotListed", ErrorKind.UNKNOWN_MARKET),
    ("MaxTradesPerPairReached", ErrorKind.ACCOUNT_LIMIT), ("NoTradeFound", ErrorKind.ORDER_NOT_FOUND),
    ("DelegatedActionFailed", ErrorKind.AUTH), ("IsPaused", ErrorKind.MARKET_CLOSED),
])
def test_custom_errors_map_to_kinds(name, kind):
    assert errors.kind_of_revert(abi.DecodedRevert(name, (), b"")) is kind


def test_every_mapped_error_exists_in_the_abis():
    known = {e.name for e in abi.errors_by_selector().values()}
    assert set(errors.CUSTOM_ERRORS) <= known


def test_require_strings_and_node_messages_map_to_kinds():
    usdc = abi.DecodedRevert("Error", ("ERC20: transfer amount exceeds allowance",), b"")
    assert errors.kind_of_revert(usdc) is ErrorKind.INSUFFICIENT_MARGIN
    assert errors.kind_of_message("nonce too low: next nonce 5, tx nonce 4") is ErrorKind.NONCE
    assert errors.kind_of_message("something new") is ErrorKind.OTHER
