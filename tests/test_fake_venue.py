"""The fake venue's own rules, checked by hand so the contract suite stands on a venue that is
itself right: bracket margin, its error table, its request signatures, and a cheap plugin entry."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from perpcli.domain.errors import ErrorKind
from perpcli.keys.signer import Signer
from tests.fake_venue import wire
from tests.fake_venue.brackets import bracket_for, liquidation_price, maintenance_margin
from tests.fake_venue.exchange import ERRORS, MARKETS, FakeExchange, request_digest

ETH = next(m for m in MARKETS if m.symbol == "ETHUSDT")
KEY = "0x" + "42" * 32


def test_maintenance_margin_is_continuous_across_brackets():
    for b in ETH.table[1:]:
        below = maintenance_margin(ETH.table, b.floor)  # the previous bracket's rate at its cap
        above = b.floor * b.maint_rate - b.cum
        assert below == above


def test_liquidation_price_by_hand():
    # 1 ETH long at 3000 with 1000 of wallet: first bracket (0.5%, cum 0):
    # 1000 + (P - 3000) = 0.005 P  ->  P = 2000 / 0.995
    lp = liquidation_price(ETH.table, wallet=Decimal(1000), size=Decimal(1), entry=Decimal(3000), mark=Decimal(3000))
    assert lp == Decimal(2000) / Decimal("0.995")
    # 5 ETH (15000 notional): second bracket (0.65%, cum 10000 x 0.15% = 15):
    # 1000 + 5 (P - 3000) = 0.0325 P - 15  ->  P = 13985 / 4.9675
    assert bracket_for(ETH.table, Decimal(15000)).cum == Decimal(15)
    lp = liquidation_price(ETH.table, wallet=Decimal(1000), size=Decimal(5), entry=Decimal(3000), mark=Decimal(3000))
    assert lp == Decimal(13985) / Decimal("4.9675")
    # a short liquidates above: 1000 - (P - 3000) = 0.005 P  ->  P = 4000 / 1.005
    lp = liquidation_price(ETH.table, wallet=Decimal(1000), size=Decimal(-1), entry=Decimal(3000), mark=Decimal(3000))
    assert lp == Decimal(4000) / Decimal("1.005")


def test_every_refusal_the_venue_makes_has_a_kind_or_is_deliberately_other():
    unmapped = {code for code in ERRORS if code not in wire.ERROR_KINDS}
    assert unmapped == {-1102, -4015}  # malformed requests: nothing a script can branch on
    assert wire.error_kind({"code": -5022, "msg": "x"}) is ErrorKind.POST_ONLY_WOULD_CROSS
    assert wire.error_kind({"code": -9999, "msg": "new"}) is ErrorKind.OTHER


def _signed(signer: Signer, **body) -> dict:
    body = {"account": signer.address, **body}
    body["signature"] = signer.sign_digest(request_digest(body)).to_wire()
    return body


def _order(cid: str, side: str, qty: str, price: str, **extra) -> dict:
    return {"symbol": "ETHUSDT", "side": side, "type": "LIMIT", "timeInForce": "GTC", "quantity": qty,
            "price": price, "reduceOnly": False, "newClientOrderId": cid, **extra}


def test_requests_must_be_signed_by_their_account():
    ex = FakeExchange()
    signer = Signer.from_hex(KEY)
    ex.fund(signer.address, Decimal(1000))
    body = _signed(signer, type="order", requestId=1, orders=[_order("pc-A", "BUY", "0.01", "2900")])
    body["orders"][0]["price"] = "2800"  # tampered after signing
    assert wire.error_kind(ex.handle(body)) is ErrorKind.AUTH


def test_a_retired_request_can_never_execute_and_an_executed_one_cannot_be_retired():
    ex = FakeExchange()
    signer = Signer.from_hex(KEY)
    ex.fund(signer.address, Decimal(1000))
    held = _signed(signer, type="order", requestId=10, orders=[_order("pc-A", "BUY", "0.01", "2900")])
    assert ex.handle(_signed(signer, type="retire", requestId=11, target=10)) == {"retired": 10}
    assert wire.error_kind(ex.handle(held)) is ErrorKind.NONCE
    assert ex.query_order(signer.address, client_id="pc-A") is None
    done = _signed(signer, type="order", requestId=12, orders=[_order("pc-B", "BUY", "0.01", "2900")])
    assert ex.handle(done)[0]["status"] == "NEW"
    assert wire.error_kind(ex.handle(_signed(signer, type="retire", requestId=13, target=12))) is ErrorKind.NONCE


def test_brackets_cap_exposure_at_the_chosen_leverage():
    ex = FakeExchange()
    signer = Signer.from_hex(KEY)
    ex.fund(signer.address, Decimal(1_000_000))
    # 50x is allowed up to 10000 of notional only: a 40 ETH (~116k) order at 50x exceeds it.
    assert ex.handle(_signed(signer, type="leverage", requestId=1, symbol="ETHUSDT", leverage=50))["leverage"] == 50
    big = _signed(signer, type="order", requestId=2, orders=[_order("pc-C", "BUY", "40", "2900")])
    assert wire.error_kind(ex.handle(big)[0]) is ErrorKind.POSITION_LIMIT
    assert ex.handle(_signed(signer, type="leverage", requestId=3, symbol="ETHUSDT", leverage=5))["leverage"] == 5
    again = _signed(signer, type="order", requestId=4, orders=[_order("pc-C", "BUY", "40", "2900")])
    assert ex.handle(again)[0]["status"] == "NEW"


def test_reduce_only_must_reduce():
    ex = FakeExchange()
    signer = Signer.from_hex(KEY)
    ex.fund(signer.address, Decimal(1000))
    body = _signed(signer, type="order", requestId=1, orders=[_order("pc-D", "SELL", "0.01", "3100", reduceOnly=True)])
    assert wire.error_kind(ex.handle(body)[0]) is ErrorKind.REDUCE_ONLY


def test_the_depth_feed_chains_and_a_snapshot_is_bridged_by_the_next_diff():
    """The feed's numbering is what ledger/book.py's PREV_CHAIN rule expects of Binance."""
    from perpcli.ledger.book import OrderBook, SyncAction, SyncRule

    ex = FakeExchange()
    frames: list[dict] = []
    ex.publish = lambda stream, data: frames.append(data) if stream == "ethusdt@depth" else None
    book = OrderBook("fakex", "ETHUSDT", SyncRule.PREV_CHAIN)
    ex.tick()
    snap = wire.book_snapshot(ex.depth("ETHUSDT"), "ETHUSDT", venue="fakex")
    assert book.apply_snapshot(snap) is SyncAction.APPLY
    ex.tick()
    ex.tick()
    actions = [book.apply_diff(wire.FakeProtocol("fakex").decode(_frame(f))[0].events[0]) for f in frames]
    assert actions == [SyncAction.DROP, SyncAction.APPLY_FIRST, SyncAction.APPLY]
    assert book.is_usable and book.to_snapshot().bids[:9] == wire.book_snapshot(
        ex.depth("ETHUSDT"), "ETHUSDT", venue="fakex").bids[:9]


def _frame(data: dict) -> str:
    import json

    return json.dumps({"stream": "ethusdt@depth", "data": data})


def test_the_plugin_entry_is_cheap(tmp_path):
    """Listing the plugin venue and its capabilities imports neither its adapter nor the network."""
    from tests.test_venue_contract import install_plugin

    install_plugin(tmp_path)
    sys.path.remove(str(tmp_path))
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys; from perpcli.venues import registry\n"
        "e = registry.get_entry('fakex'); assert not e.builtin and e.load_capabilities().modify is False\n"
        "assert 'fakex' in registry.all_venues()\n"
        "bad = [m for m in ('tests.fake_venue.adapter', 'tests.fake_venue.exchange', 'websockets') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(tmp_path)])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
