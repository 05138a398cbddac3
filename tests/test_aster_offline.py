"""`perp sign --venue aster` / `perp submit`: the printed request is exactly what was signed.

Recovery is checked with eth-account, independently of perpcli's signer: for random requests
the signature in the printed query/body recovers to the signing key over exactly the string
that is sent (every parameter in order, then the given nonce, user and signer).
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from eth_account import Account  # test-only, independent recovery
from eth_account.messages import encode_typed_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpcli.keys.signer import Signer
from perpcli.venues.aster import offline as O
from perpcli.venues.aster import signing as S
from tests.support import invoke

VECTORS = json.loads((Path(__file__).parent / "vectors" / "aster_vectors.json").read_text())
DEMO = VECTORS["demo"]
V3 = {v["name"]: v for v in VECTORS["v3_eip712"]["vectors"]}
KEY = DEMO["signer_private_key"]
SIGNER = Signer.from_hex(KEY)
NONCE = 1767225600000000


def recovered(msg: str, signature: str, chain_id: int) -> str:
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Message": [{"name": "msg", "type": "string"}],
        },
        "primaryType": "Message",
        "domain": {"name": "AsterSignTransaction", "version": "1", "chainId": chain_id,
                   "verifyingContract": "0x" + "00" * 20},
        "message": {"msg": msg},
    }
    return Account.recover_message(encode_typed_data(full_message=typed), signature=signature).lower()


def sent_string(request: dict) -> str:
    return request["query"] if request["method"] == "GET" else request["body"]


# --- the offline side, directly -----------------------------------------------------------------

names = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10).filter(
    lambda k: k not in S.RESERVED_PARAMS)
values = st.one_of(
    st.text(max_size=20),
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=0, max_value=10**6),
    st.lists(st.text("abcXYZ019-_", min_size=1, max_size=6), max_size=3),
)
requests = st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "post"]),
    "path": st.sampled_from(["/fapi/v3/order", "/fapi/v3/batchOrders", "/fapi/v3/openOrders",
                             "/fapi/v3/leverage", "/fapi/v3/listenKey", "/fapi/v3/countdownCancelAll"]),
    "params": st.dictionaries(names, values, max_size=7),
})
keys = st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b, "big") < 2**255)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=keys, request=requests, nonce=st.integers(10**15, 10**16 - 1), mainnet=st.booleans(),
       user=st.none() | st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()))
def test_random_requests_recover_over_exactly_the_string_sent(key, request, nonce, mainnet, user):
    signer = Signer(key)
    offline = O.AsterOffline("https://fapi.asterdex.com", "mainnet")
    options = {"is_mainnet": mainnet, **({"user": user} if user else {})}
    out = offline.sign(request, signer, nonce=nonce, next_nonce=None, options=options)
    wire = sent_string(out)
    msg, _, signature = wire.rpartition("&signature=")
    assert signature == out["signature"] and "&signature=" not in signature
    assert recovered(msg, signature, 1666 if mainnet else 714) == signer.address
    # every parameter, in order, then the nonce, the account and the signer
    pairs = parse_qsl(msg, keep_blank_values=True)
    expected = [(k, S.encode_value(v)) for k, v in request["params"].items()]
    account = S.checksum_address(user or signer.address)
    assert pairs == [*expected, ("nonce", str(nonce)), ("user", account),
                     ("signer", S.checksum_address(signer.address))]
    assert out["nonce"] == nonce and out["user"] == account
    host = "https://fapi.asterdex.com" if mainnet else "https://fapi.asterdex-testnet.com"
    if out["method"] == "GET":
        assert out["url"] == f"{host}{request['path']}?{wire}" and out["body"] is None
    else:
        assert out["url"] == f"{host}{request['path']}" and out["query"] is None
        assert out["content_type"] == "application/x-www-form-urlencoded"
    assert out["method"] == request["method"].upper()


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        ([], "request-shape"),
        ({"method": "GET", "path": "/fapi/v3/order", "params": {}, "x": 1}, "request-shape"),
        ({"method": "PATCH", "path": "/fapi/v3/order", "params": {}}, "request-method"),
        ({"method": "GET", "path": "/fapi/v1/order", "params": {}}, "request-path"),
        ({"method": "GET", "path": "https://evil/fapi/v3/order", "params": {}}, "request-path"),
        ({"method": "GET", "path": "/fapi/v3/order?x=1", "params": {}}, "request-path"),
        ({"method": "GET", "path": "/fapi/v3/order", "params": []}, "request-params"),
        ({"method": "GET", "path": "/fapi/v3/order", "params": {"a": None}}, "request-params"),
        ({"method": "GET", "path": "/fapi/v3/order", "params": {"nonce": "1"}}, "reserved-param"),
        ({"method": "GET", "path": "/fapi/v3/order", "params": {"signature": "0x"}}, "reserved-param"),
    ],
)
def test_bad_documents_are_refused_with_their_rule(document, rule):
    from perpcli.domain.errors import ValidationError

    with pytest.raises(ValidationError) as e:
        O.check_document(document)
    assert e.value.rule == rule


# --- through the CLI ----------------------------------------------------------------------------


def _request_file(tmp_path, vector: dict) -> Path:
    params = {k: v for k, v in vector["params_in_order"] if k not in ("nonce", "user", "signer")}
    f = tmp_path / "request.json"
    f.write_text(json.dumps({"method": vector["method"], "path": vector["path"], "params": params}))
    return f


@pytest.mark.parametrize(("name", "flag", "host"), [
    ("place_limit_order_mainnet", "--mainnet", "https://fapi.asterdex.com"),
    ("place_limit_order_testnet", "--testnet", "https://fapi.asterdex-testnet.com"),
    ("cancel_order_mainnet", "--mainnet", "https://fapi.asterdex.com"),
])
def test_cli_sign_reproduces_the_vectors(name, flag, host, tmp_path, capsys, monkeypatch):
    vector = V3[name]
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", KEY)
    nonce = dict(vector["params_in_order"])["nonce"]
    r = invoke(["--venue", "aster", "--json", "sign", str(_request_file(tmp_path, vector)), flag,
                "--nonce", nonce, "--user", DEMO["user"]], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["body"] == vector["wire"]
    assert out["url"] == host + vector["path"] and out["method"] == vector["method"]
    assert out["chain_id"] == vector["chain_id"] and out["signature"] == vector["signature"]
    assert r.out.count("\n") == 1 and KEY[2:] not in r.out + r.err


def test_cli_sign_without_nonce_allocates_fresh_microsecond_nonces(tmp_path, capsys, monkeypatch):
    import time

    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", KEY)
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"method": "GET", "path": "/fapi/v3/openOrders", "params": {"symbol": "BTCUSDT"}}))
    nonces = []
    for _ in range(3):
        before = time.time_ns() // 1000
        r = invoke(["--venue", "aster-testnet", "--json", "sign", str(f), "--testnet"], capsys, monkeypatch=monkeypatch)
        assert r.code == 0, r.err
        out = json.loads(r.out)
        assert out["nonce"] >= before
        msg, _, sig = out["query"].rpartition("&signature=")
        assert recovered(msg, sig, 714) == SIGNER.address
        assert out["user"] == out["signer"] == DEMO["signer"]  # the key signs for itself by default
        nonces.append(out["nonce"])
    assert nonces == sorted(set(nonces))


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ([], "exactly one of --mainnet or --testnet"),
        (["--mainnet", "--nonce", "1767225600000"], "microseconds"),
        (["--mainnet", "--user", "0x1234"], "0x-address"),
        (["--mainnet", "--vault-address", "0x" + "11" * 20], "--vault-address does not apply to Aster"),
        (["--mainnet", "--expires-after", "5"], "--expires-after does not apply to Aster"),
    ],
)
def test_cli_sign_usage_errors_exit_2(extra, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", KEY)
    f = _request_file(tmp_path, V3["leverage"])
    r = invoke(["--venue", "aster", "sign", str(f), *extra], capsys, monkeypatch=monkeypatch)
    assert r.code == 2, r.err
    errors = [line for line in r.err.splitlines() if line.startswith("perp: error:")]
    assert len(errors) == 1 and needle in errors[0] and r.out == ""


def test_cli_sign_refuses_user_on_hyperliquid(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", KEY)
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"type": "noop"}))
    r = invoke(["--venue", "hyperliquid", "sign", str(f), "--mainnet", "--user", DEMO["user"]], capsys,
               monkeypatch=monkeypatch)
    assert r.code == 2 and "--user does not apply to Hyperliquid" in r.err


def test_perp_venues_lists_aster(capsys, monkeypatch):
    r = invoke(["venues", "--json"], capsys, monkeypatch=monkeypatch)
    rows = {row["name"]: row for row in json.loads(r.out)}
    assert {"aster", "aster-testnet", "aster-devnet"} <= set(rows)
    caps = rows["aster"]["capabilities"]
    assert caps["book_stream"] == "diff" and caps["dead_man_switch"] and not caps["bracket_orders"]
    assert "gtx" in caps["time_in_force"] and caps["collateral"] == "USDT"


# --- submit -------------------------------------------------------------------------------------


class _Aster(BaseHTTPRequestHandler):
    status: int = 200
    answer: bytes = b'{"orderId":1,"status":"NEW"}'
    seen: list = []

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        type(self).seen.append((self.command, self.path, self.headers.get("Content-Type"), body))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.answer)

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def aster():
    handler = type("Handler", (_Aster,), {"seen": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _signed(tmp_path, method="POST", path="/fapi/v3/order", params=None) -> tuple[Path, dict]:
    doc = {"method": method, "path": path, "params": params if params is not None else
           {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": Decimal("0.01"),
            "price": "60000"}}
    out = O.build_signed_request(doc, SIGNER, base_url="https://fapi.asterdex.com", is_mainnet=True, nonce=NONCE,
                                 user=None)
    f = tmp_path / "signed.json"
    f.write_text(json.dumps(out))
    return f, out


def test_submit_sends_the_printed_bytes(aster, tmp_path, capsys, monkeypatch):
    handler, url = aster
    f, out = _signed(tmp_path)
    r = invoke(["--venue", "aster", "submit", str(f), "--url", url + "/"], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"orderId": 1, "status": "NEW"}
    assert handler.seen == [("POST", "/fapi/v3/order", "application/x-www-form-urlencoded", out["body"])]


def test_submit_get_sends_the_query(aster, tmp_path, capsys, monkeypatch):
    handler, url = aster
    handler.answer = b"[]"
    f, out = _signed(tmp_path, "GET", "/fapi/v3/openOrders", {"symbol": "BTCUSDT"})
    r = invoke(["--venue", "aster", "submit", str(f), "--url", url], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    assert handler.seen == [("GET", "/fapi/v3/openOrders?" + out["query"], None, None)]


def test_submit_refusal_exits_3_with_its_kind(aster, tmp_path, capsys, monkeypatch):
    handler, url = aster
    handler.status, handler.answer = 400, b'{"code":-2019,"msg":"Margin is insufficient."}'
    f, _ = _signed(tmp_path)
    r = invoke(["--venue", "aster", "--json", "submit", str(f), "--url", url], capsys, monkeypatch=monkeypatch)
    assert r.code == 3
    assert json.loads(r.out.splitlines()[0]) == {"code": -2019, "msg": "Margin is insufficient."}
    assert "(-2019): Margin is insufficient." in r.err and r.err.count("\n") == 1
    answer = O.AsterOffline(url, "mainnet").submit(json.loads(f.read_text()), url=url, timeout_s=5)
    from perpcli.domain.errors import ErrorKind, VenueRejected

    with pytest.raises(VenueRejected) as e:
        answer.raise_for_refusal()
    assert e.value.error_kind is ErrorKind.INSUFFICIENT_MARGIN


@pytest.mark.parametrize(("status", "answer", "code"), [
    (429, b'{"code":-1003,"msg":"Too many requests"}', 5),
    (418, b'{"code":-1003,"msg":"banned"}', 5),
    (503, b'{"code":-1000,"msg":"Unknown error, please check your request or try again later."}', 6),
    (502, b"bad gateway", 6),
    (400, b'{"code":-1007,"msg":"Timeout waiting for response from backend server."}', 6),
    (200, b"not json", 6),
])
def test_submit_rate_limits_and_unknown_outcomes(aster, tmp_path, capsys, monkeypatch, status, answer, code):
    handler, url = aster
    handler.status, handler.answer = status, answer
    f, _ = _signed(tmp_path)
    r = invoke(["--venue", "aster", "submit", str(f), "--url", url], capsys, monkeypatch=monkeypatch)
    assert r.code == code, r.err
    assert r.err.count("\n") == 1


def test_submit_refuses_a_document_that_is_not_a_signed_aster_request(tmp_path, capsys, monkeypatch):
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"method": "POST", "path": "/fapi/v3/order", "body": "symbol=BTCUSDT"}))
    r = invoke(["--venue", "aster", "submit", str(f), "--url", "http://127.0.0.1:9"], capsys, monkeypatch=monkeypatch)
    assert r.code == 2 and "no signed body" in r.err
