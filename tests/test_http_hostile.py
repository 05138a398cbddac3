"""`perp` against hostile HTTP servers: every request ends within its deadline and size cap,
with the contract's exit code; an order the venue executed is reported by its true status
whatever garbage comes back; tampered venue numbers are refused, never shown or priced from.

The hostile servers are small asyncio servers on loopback (tests/hostile_http.py). Where an
order must really execute, the server wraps a real devnet and mangles only its answer.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from perpcli.devnet.server import start_in_thread
from tests.cli_devnet import new_key, run, wait_for_books
from tests.hostile_http import (
    HostileServer,
    Request,
    SilentTcp,
    continue_flood,
    drip,
    huge_body,
    proxy,
)
from tests.support import run_perp

FAST = {"PERPCLI_NET_REQUEST_TIMEOUT_S": "1.5", "PERPCLI_NET_CONNECT_TIMEOUT_S": "1"}


def one_line_error(r, code: int) -> None:
    assert r.code == code, (r.code, r.err)
    lines = [ln for ln in r.err.splitlines() if not ln.startswith("perp: warning: ")]
    assert len(lines) == 1 and lines[0].startswith("perp: error: "), r.err
    assert "Traceback" not in r.err


def timed_perp(args: list[str], *, budget: float, env: dict[str, str] | None = None):
    started = time.monotonic()
    try:
        r = run_perp(args, env={**FAST, **(env or {})}, timeout=budget)
    except subprocess.TimeoutExpired:
        pytest.fail(f"perp {' '.join(args)} still running after {budget}s")
    return r, time.monotonic() - started


# ----- B: every request is bounded ----------------------------------------------------------


@pytest.mark.parametrize("behaviour", [
    pytest.param(drip(interval=0.05), id="slow-drip-body"),
    pytest.param(continue_flood(interval=0.001), id="flood-of-100-continue"),
    pytest.param(huge_body(512 * 1024 * 1024), id="512MB-body"),
    pytest.param(huge_body(512 * 1024 * 1024, chunked=True), id="512MB-chunked-body"),
])
def test_price_against_a_hostile_server_fails_within_its_deadline(behaviour):
    with HostileServer(behaviour) as srv:
        r, elapsed = timed_perp(["--url", srv.url, "--network", "testnet", "price", "BTC"], budget=20)
    one_line_error(r, 5)
    assert elapsed < 8, elapsed


def test_https_against_a_plain_http_port_fails_fast_with_exit_5():
    with SilentTcp() as srv:
        r, elapsed = timed_perp(["--url", f"https://127.0.0.1:{srv.port}", "--network", "testnet", "price", "BTC"],
                                budget=20)
    one_line_error(r, 5)
    assert "TLS handshake" in r.err and elapsed < 5, (elapsed, r.err)


def test_request_deadline_is_a_setting():
    """The same drip with a longer deadline takes longer: the bound is the setting, not a constant."""
    with HostileServer(drip(interval=0.05)) as srv:
        r, elapsed = timed_perp(["--url", srv.url, "--network", "testnet", "price", "BTC"], budget=20,
                                env={"PERPCLI_NET_REQUEST_TIMEOUT_S": "3"})
    one_line_error(r, 5)
    assert 2.5 < elapsed < 9, elapsed


# ----- D: a URL that cannot be used is a usage error ------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://[::1"])
@pytest.mark.parametrize("args", [["price", "BTC"], ["buy", "BTC", "0.001", "--market", "--yes"]])
def test_unusable_url_is_exit_2_naming_it(url, args, monkeypatch):
    r = run(url, *args, key="0x" + "11" * 32, monkeypatch=monkeypatch)
    one_line_error(r, 2)
    assert url in r.err


# ----- C: the order ran; the answer is garbage; the CLI reports the truth ---------------------


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=11, market_interval=0.2)
    wait_for_books(h.url)
    yield h
    h.stop()


def is_order(request: Request) -> bool:
    return request.path == "/exchange" and json.loads(request.body)["action"]["type"] == "order"


def mangle_orders(answer: bytes):
    """Replace the devnet's answer to an order (it did execute) with `answer`, HTTP 200."""
    return lambda request, status, body: (200, answer) if is_order(request) else None


MANGLED_ORDER_ANSWERS = {
    "html": b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    "garbage": b"\x00\xff\xfe garbage \x89PNG",
    "deeply-nested-json": b"[" * 100_000 + b"]" * 100_000,
    "deeply-nested-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "empty-object": b"{}",
    "ok-without-data": b'{"status":"ok","response":{"type":"order"}}',
    "ok-without-response": b'{"status":"ok"}',
    "wrong-shape": b'{"status":"ok","response":{"type":"order","data":{"statuses":[{"weird":1}]}}}',
    "no-statuses": b'{"status":"ok","response":{"type":"order","data":{"statuses":[]}}}',
    "not-an-object": b"[1,2,3]",
    "status-is-a-number": b'{"status":5,"response":"x"}',
}


@pytest.mark.parametrize("answer", MANGLED_ORDER_ANSWERS.values(), ids=MANGLED_ORDER_ANSWERS.keys())
def test_executed_order_with_a_mangled_answer_is_settled_by_cloid(devnet, monkeypatch, answer):
    key, _ = new_key(devnet.url)
    with HostileServer(proxy(devnet.url, mangle_orders(answer))) as srv:
        r = run(srv.url, "--json", "buy", "ETH", "0.01", "--limit", "-2%", "--yes", key=key, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["status"] == "resting" and doc["oid"], doc
    orders = run(devnet.url, "--json", "orders", key=key, monkeypatch=monkeypatch).json()
    assert [o["cloid"] for o in orders] == [doc["cloid"]]  # it ran, exactly once


def test_executed_market_order_answered_by_a_drip_is_settled_as_filled(devnet, monkeypatch):
    """The deadline ends the drip; settle finds the fill (before: a 20 s wait, then exit 1)."""
    key, _ = new_key(devnet.url)
    monkeypatch.setenv("PERPCLI_NET_REQUEST_TIMEOUT_S", "2")
    dripper = drip(interval=0.05, length=400)

    def mangle(request, status, body):
        return dripper if is_order(request) else None

    with HostileServer(proxy(devnet.url, mangle)) as srv:
        started = time.monotonic()
        r = run(srv.url, "--json", "buy", "BTC", "0.001", "--market", "--slippage", "3%", "--yes", key=key,
                monkeypatch=monkeypatch)
        elapsed = time.monotonic() - started
    assert r.code == 0, r.err
    assert r.json()["status"] == "filled" and elapsed < 10, (r.json(), elapsed)


def test_leverage_with_a_mangled_answer_is_an_unknown_outcome(devnet, monkeypatch):
    """No client order id to settle a leverage change by: exit 6, never 3 (\"{}\" is not a refusal)."""
    key, _ = new_key(devnet.url)
    mangle = lambda request, status, body: (200, b"{}") if request.path == "/exchange" else None  # noqa: E731
    with HostileServer(proxy(devnet.url, mangle)) as srv:
        r = run(srv.url, "leverage", "BTC", "5", "--yes", key=key, monkeypatch=monkeypatch)
    one_line_error(r, 6)


# ----- C, E: a malformed or tampered read is a clean exit 5 ----------------------------------


def mangle_info(kind: str, change):
    """Rewrite the devnet's answer to /info `kind` with change(parsed answer) -> bytes."""

    def mangle(request, status, body):
        if request.path == "/info" and json.loads(request.body).get("type") == kind:
            return 200, change(json.loads(body))
        return None

    return mangle


def tamper_level(side: int, field: str, value: str):
    def change(book):
        book["levels"][side][0][field] = value
        return json.dumps(book).encode()

    return change


def crossed(book):
    book["levels"][0][0]["px"] = str(float(book["levels"][1][0]["px"]) + 10)
    return json.dumps(book).encode()


def set_mark(value: str):
    def change(answer):
        answer[1][0]["markPx"] = value
        return json.dumps(answer).encode()

    return change


READS = {
    "book-html": (["book", "BTC"], "l2Book", lambda _: b"<html>oops</html>", "not JSON"),
    "book-deep": (["book", "BTC"], "l2Book", lambda _: b"[" * 100_000, "not JSON"),
    "book-nan-price": (["book", "BTC"], "l2Book", tamper_level(0, "px", "NaN"), "px"),
    "book-negative-size": (["book", "BTC"], "l2Book", tamper_level(1, "sz", "-3"), "sz"),
    "book-infinite-price": (["book", "BTC"], "l2Book", tamper_level(1, "px", "Infinity"), "px"),
    "book-crossed": (["book", "BTC"], "l2Book", crossed, "crossed"),
    "book-wrong-shape": (["book", "BTC"], "l2Book", lambda _: b'{"levels":7}', "l2Book"),
    "price-meta-empty": (["price", "BTC"], "metaAndAssetCtxs", lambda _: b"{}", "metaAndAssetCtxs"),
    "preview-nan-mark": (["buy", "BTC", "0.001", "--market", "--preview"], "metaAndAssetCtxs",
                         set_mark("NaN"), "markPx"),
    "buy-nan-mark": (["buy", "BTC", "0.001", "--market", "--yes"], "metaAndAssetCtxs", set_mark("NaN"), "markPx"),
    "buy-negative-mark": (["buy", "BTC", "0.001", "--market", "--yes"], "metaAndAssetCtxs", set_mark("-5"), "markPx"),
    "account-spot-not-an-object": (["account"], "spotClearinghouseState", lambda _: b'"x"', "spotClearinghouseState"),
    "orders-agent-role-without-data": (["orders"], "userRole", lambda _: b'{"role":"agent","data":7}', "userRole"),
}


@pytest.mark.parametrize(("args", "kind", "change", "names"), READS.values(), ids=READS.keys())
def test_malformed_or_tampered_read_is_one_line_exit_5(devnet, monkeypatch, args, kind, change, names):
    key, _ = new_key(devnet.url)
    with HostileServer(proxy(devnet.url, mangle_info(kind, change))) as srv:
        r = run(srv.url, *args, key=key, monkeypatch=monkeypatch)
        sent = [q for q in srv.seen if q.path == "/exchange"]
    one_line_error(r, 5)
    assert names in r.err, r.err
    assert not sent  # nothing was ordered from tampered data
