"""`perp sign` / `perp submit` end to end: vectors through the CLI, bad input, and a loopback POST."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from perpcli.cli.main import main
from perpcli.venues.hyperliquid import verify as V

VECTORS_FILE = Path(__file__).resolve().parent / "vectors" / "hyperliquid_signing.json"
DATA = json.loads(VECTORS_FILE.read_text())
BY_ID = {v["id"]: v for v in DATA["vectors"]}
DEV_KEY = DATA["keys"]["dev_user"]["private_key"]
DEV_ADDRESS = DATA["keys"]["dev_user"]["address"].lower()

CLI_VECTORS = [
    "sdk.order_gtc.mainnet",
    "sdk.order_gtc_cloid.testnet",
    "gen.order_vault_expires_after.testnet",
    "gen.order_with_builder.mainnet",
    "gen.batch_modify.mainnet",
    "gen.cancel_vault.mainnet",
    "gen.noop.mainnet",
    "gen.usd_send.testnet",
    "gen.usd_send_arbitrum_chain.mainnet",
    "gen.approve_agent_unnamed.testnet",
    "gen.usd_class_transfer_subaccount.mainnet",
    "gen.send_asset.mainnet",
]


def _ordered(obj) -> str:
    return json.dumps(obj)


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _vector_cli_input(vec: dict) -> tuple[dict, list[str]]:
    """The action file a user would write for this vector, and the flags."""
    i = vec["inputs"]
    flags = ["--mainnet" if i["is_mainnet"] else "--testnet"]
    if vec["scheme"] == "l1":
        flags += ["--nonce", str(i["nonce"])]
        if i["vault_address"]:
            flags += ["--vault-address", i["vault_address"]]
        if i["expires_after"] is not None:
            flags += ["--expires-after", str(i["expires_after"])]
        return i["action"], flags
    action = dict(i["action_before_signing"])
    if action.get("type") == "approveAgent" and action.get("agentName") == "":
        del action["agentName"]
    chain_id = vec["outputs"]["action_after_signing_fields_added"]["signatureChainId"]
    if chain_id != "0x66eee":
        action["signatureChainId"] = chain_id
    return action, flags


@pytest.mark.parametrize("vid", CLI_VECTORS)
def test_sign_reproduces_vectors_in_process(vid, tmp_path, capsys, monkeypatch):
    vec = BY_ID[vid]
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", vec["inputs"]["private_key"])
    action, flags = _vector_cli_input(vec)
    f = tmp_path / "action.json"
    f.write_text(json.dumps(action))
    code, out, err = _run(capsys, ["--json", "sign", str(f), *flags])
    assert code == 0, err
    body = json.loads(out)
    assert _ordered(body) == _ordered(vec["request_body_as_sdk_posts"])
    assert out.count("\n") == 1


def test_sign_reads_stdin_and_keeps_key_order(capsys, monkeypatch):
    vec = BY_ID["nktkas.usd_send.mainnet"]  # hyperliquidChain/signatureChainId already first
    action = {"type": "usdSend", **vec["inputs"]["action_before_signing"]}
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", vec["inputs"]["private_key"])
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(json.dumps(action)))
    code, out, err = _run(capsys, ["sign", "-", "--mainnet"])
    assert code == 0, err
    body = json.loads(out)
    assert list(body["action"]) == list(action)
    sig = vec["outputs"]["signature_padded"]
    assert int(body["signature"]["r"], 16) == int(sig["r"], 16)
    assert int(body["signature"]["s"], 16) == int(sig["s"], 16)
    assert "PERPCLI_PRIVATE_KEY" in err  # human mode says which key signed, on stderr


def test_sign_without_nonce_allocates_fresh_increasing_nonces(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", DEV_KEY)
    f = tmp_path / "a.json"
    f.write_text(json.dumps(BY_ID["gen.order_limit_gtc.mainnet"]["inputs"]["action"]))
    nonces = []
    for _ in range(3):
        code, out, err = _run(capsys, ["--json", "sign", str(f), "--testnet"])
        assert code == 0, err
        body = json.loads(out)
        nonces.append(body["nonce"])
        assert V.recover_exchange_signer(body, is_mainnet=False) == DEV_ADDRESS
    assert nonces == sorted(set(nonces)) and nonces[0] > 1_600_000_000_000


def test_sign_as_a_real_subprocess(tmp_path):
    vec = BY_ID["gen.order_limit_ioc_cloid.mainnet"]
    f = tmp_path / "a.json"
    f.write_text(json.dumps(vec["inputs"]["action"]))
    env = {**os.environ, "PERPCLI_PRIVATE_KEY": vec["inputs"]["private_key"], "PERPCLI_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "perpcli", "sign", str(f), "--nonce", str(vec["inputs"]["nonce"]), "--mainnet", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert _ordered(json.loads(proc.stdout)) == _ordered(vec["request_body_as_sdk_posts"])
    assert vec["inputs"]["private_key"][2:] not in proc.stdout + proc.stderr


ORDER = {"type": "order", "orders": [{"a": 1, "b": True, "p": "100", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
         "grouping": "na"}


def _order_with(**changes):
    o = json.loads(json.dumps(ORDER))
    o["orders"][0].update(changes)
    return json.dumps(o)


@pytest.mark.parametrize(
    "text, flags, needle",
    [
        (json.dumps(ORDER), [], "--mainnet or --testnet"),
        (json.dumps(ORDER), ["--mainnet", "--testnet"], "--mainnet or --testnet"),
        ('{"type": "order", "orders": [', ["--mainnet"], "not valid JSON"),
        ('{"type": "noop", "type": "noop"}', ["--mainnet"], "duplicate key"),
        ('{"type": "teleport"}', ["--mainnet"], "action-type"),
        ('{"orders": []}', ["--mainnet"], "type"),
        ("[1, 2]", ["--mainnet"], "JSON object"),
        (_order_with(c="0x1234"), ["--mainnet"], "cloid"),
        (_order_with(c="0x" + "z" * 32), ["--mainnet"], "cloid"),
        (_order_with(p="1234.56"), ["--mainnet"], "price-sig-figs"),
        (_order_with(p="0.0012345"), ["--mainnet"], "price-decimals"),
        (_order_with(p="0.123456789"), ["--mainnet"], "wire-max-8-decimals"),
        (_order_with(p="2000.0"), ["--mainnet"], "canonical-action"),
        (_order_with(p=100.5), ["--mainnet"], "decimal string"),
        (_order_with(p="NaN"), ["--mainnet"], "number-finite"),
        (json.dumps({"type": "cancel", "cancels": [{"o": 1, "a": 1}]}), ["--mainnet"], "canonical-action"),
        (json.dumps({"type": "cancel", "cancels": [{"a": 1, "o": 1}], "f": False}), ["--mainnet"], "canonical-action"),
        (json.dumps(ORDER), ["--mainnet", "--vault-address", "0x1234"], "address"),
        (json.dumps({"type": "usdSend", "destination": "0xabc", "amount": "1", "time": 1}), ["--mainnet"], "address"),
        (json.dumps({"type": "usdSend", "destination": "0x" + "A" * 40, "amount": "1", "time": 1}), ["--mainnet"],
         "address-lowercase"),
        (json.dumps({"type": "usdSend", "destination": "0x" + "a" * 40, "amount": "1.0", "time": 1}), ["--mainnet"],
         "canonical-amount"),
        (json.dumps({"type": "usdSend", "destination": "0x" + "a" * 40, "amount": "1", "time": 1}),
         ["--mainnet", "--expires-after", "5"], "expires-after"),
        (json.dumps({"type": "usdSend", "destination": "0x" + "a" * 40, "amount": "1", "time": 1}),
         ["--mainnet", "--nonce", "2"], "differs"),
        (json.dumps({"type": "usdSend", "destination": "0x" + "a" * 40, "amount": "1", "time": 1,
                     "hyperliquidChain": "Testnet"}), ["--mainnet"], "hyperliquid-chain"),
        (json.dumps({"type": "usdSend", "destination": "0x" + "a" * 40, "amount": "1"}), ["--mainnet"], "time"),
        (json.dumps({"type": "usdClassTransfer", "amount": "1", "toPerp": True, "nonce": 1}),
         ["--mainnet", "--vault-address", "0x" + "1" * 40], "subaccount"),
    ],
)
def test_bad_input_exits_2_with_one_line(text, flags, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", DEV_KEY)
    f = tmp_path / "bad.json"
    f.write_text(text)
    code, out, err = _run(capsys, ["--json", "sign", str(f), *flags])
    assert code == 2, (out, err)
    assert json.loads(out)["error"]["exit_code"] == 2  # --json: the error object is all of stdout
    assert err.count("\n") == 1 and err.startswith("perp: error: ")
    assert needle in err
    assert "Traceback" not in err and DEV_KEY[2:] not in err


def test_missing_file_and_missing_key(tmp_path, capsys, monkeypatch):
    code, out, err = _run(capsys, ["sign", str(tmp_path / "nope.json"), "--mainnet"])
    assert code == 2 and out == "" and "cannot read" in err
    f = tmp_path / "a.json"
    f.write_text(json.dumps(ORDER))
    code, out, err = _run(capsys, ["sign", str(f), "--mainnet"])  # no key anywhere
    assert code == 4 and out == ""


# --- submit -------------------------------------------------------------------------------------


class _Venue(BaseHTTPRequestHandler):
    answer: bytes = b'{"status":"ok","response":{"type":"default"}}'
    status: int = 200
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def venue():
    handler = type("Handler", (_Venue,), {"seen": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _signed_file(tmp_path) -> Path:
    f = tmp_path / "signed.json"
    f.write_text(json.dumps(BY_ID["gen.noop.mainnet"]["request_body_as_sdk_posts"]))
    return f


def test_submit_posts_the_body_and_prints_the_answer(venue, tmp_path, capsys):
    handler, url = venue
    code, out, err = _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", url + "/"])
    assert code == 0, err
    assert json.loads(out) == {"status": "ok", "response": {"type": "default"}}
    path, ctype, body = handler.seen[0]
    assert path == "/exchange" and ctype == "application/json"
    assert _ordered(body) == _ordered(BY_ID["gen.noop.mainnet"]["request_body_as_sdk_posts"])


def test_submit_venue_refusal_exits_3(venue, tmp_path, capsys):
    handler, url = venue
    handler.answer = b'{"status":"err","response":"Invalid nonce: duplicate nonce 1"}'
    code, out, err = _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", url])
    assert code == 3
    assert json.loads(out)["status"] == "err"
    assert "duplicate nonce" in err and err.count("\n") == 1


def test_submit_rate_limited_and_server_error(venue, tmp_path, capsys):
    handler, url = venue
    handler.status, handler.answer = 429, b"null"
    assert _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", url])[0] == 5
    handler.status, handler.answer = 502, b"bad gateway"
    assert _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", url])[0] == 6


def test_submit_connection_refused_exits_5(tmp_path, capsys):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    code, out, err = _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", f"http://127.0.0.1:{port}"])
    assert code == 5 and out == "" and "nothing was sent" in err


def test_submit_timeout_after_sending_exits_6(tmp_path, capsys):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection in the backlog, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        code, out, err = _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", url, "--timeout", "0.3"])
    finally:
        silent.close()
    assert code == 6 and out == ""
    assert "may have been executed" in err


def test_submit_rejects_non_bodies_and_bad_urls(tmp_path, capsys):
    f = tmp_path / "x.json"
    f.write_text('{"type": "noop"}')
    assert _run(capsys, ["submit", str(f), "--url", "http://127.0.0.1:1"])[0] == 2
    assert _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", "ftp://x"])[0] == 2


# --- sign offline, submit online: the devnet verifies what perp sign produced ---------------------


@pytest.fixture(scope="module")
def devnet():
    server = pytest.importorskip("perpcli.devnet.server")
    handle = server.start_in_thread(server.DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    from perpcli.keys.signer import Signer
    from tests.devnet_helpers import first_look

    first_look(handle.url, Signer.from_hex(DEV_KEY).address)  # the key exists before it signs, as on the venue
    yield handle
    handle.stop()


def test_sign_then_submit_to_the_devnet(devnet, tmp_path, capsys, monkeypatch):
    import time

    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", DEV_KEY)
    action = tmp_path / "noop.json"
    action.write_text('{"type": "noop"}')
    code, out, err = _run(capsys, ["--json", "sign", str(action), "--testnet"])  # fresh nonce from the allocator
    assert code == 0, err
    signed = tmp_path / "signed.json"
    signed.write_text(out)
    code, out, err = _run(capsys, ["submit", str(signed), "--url", devnet.url])
    assert code == 0, err
    assert json.loads(out) == {"status": "ok", "response": {"type": "default"}}
    # The same body again: its nonce is spent, the venue refuses (exit 3), nothing else happens.
    code, out, err = _run(capsys, ["submit", str(signed), "--url", devnet.url])
    assert code == 3 and "nonce" in err
    # A user-signed transfer, its nonce inside the action.
    transfer = tmp_path / "transfer.json"
    transfer.write_text(json.dumps(
        {"type": "usdClassTransfer", "amount": "1", "toPerp": False, "nonce": time.time_ns() // 1_000_000}
    ))
    code, out, err = _run(capsys, ["--json", "sign", str(transfer), "--testnet"])
    assert code == 0, err
    signed.write_text(out)
    code, out, err = _run(capsys, ["submit", str(signed), "--url", devnet.url])
    assert code == 0, err
    assert json.loads(out)["status"] == "ok"


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://[::1", "ftp://example.com"])
def test_submit_unusable_url_is_exit_2_naming_it(tmp_path, capsys, url):
    code, out, err = _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", url])
    assert code == 2 and out == "" and url in err and err.count("\n") == 1, err


def test_submit_against_a_dripping_server_ends_at_its_timeout(tmp_path, capsys):
    """--timeout bounds the whole answer, not each read: a byte every 50 ms cannot hold it."""
    import time

    from tests.hostile_http import HostileServer, drip

    with HostileServer(drip(interval=0.05, length=200)) as srv:
        started = time.monotonic()
        code, out, err = _run(capsys, ["submit", str(_signed_file(tmp_path)), "--url", srv.url, "--timeout", "1"])
        elapsed = time.monotonic() - started
    assert code == 6 and out == "" and "may have been executed" in err, err
    assert elapsed < 4, elapsed
