"""Pure pieces of the devnet server: decimals, nonce window, expiresAfter, envelope parsing, faults."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from perpcli.devnet import faults
from perpcli.devnet.auth import NONCE_SET_SIZE, NonceBook, NonceWindow, check_expires_after
from perpcli.devnet.exchange import DESERIALIZE, BadBody, parse_envelope, parse_order
from perpcli.devnet.records import ActionError
from perpcli.devnet.render import dec

NOW = 1_760_000_000_000
DAY = 86_400_000


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("2397"), "2397.0"),
        (Decimal("2397.000"), "2397.0"),
        (Decimal(0), "0.0"),
        (Decimal("-0"), "0.0"),
        (Decimal("2.1110"), "2.111"),
        (Decimal("1E+2"), "100.0"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("-3.625312"), "-3.625312"),
    ],
)
def test_server_style_decimals(value, text):
    assert dec(value) == text


def test_nonce_window_keeps_the_100_highest():
    w = NonceWindow()
    for n in range(NOW, NOW + NONCE_SET_SIZE):
        w.check(n, NOW)
        w.use(n)
    with pytest.raises(ActionError, match=f"^Invalid nonce: duplicate nonce {NOW + 5}$"):
        w.check(NOW + 5, NOW)
    with pytest.raises(ActionError, match="^Invalid nonce"):
        w.check(NOW - 1, NOW)  # set full and not above its smallest element
    w.check(NOW + 1000, NOW)  # unused and larger than the minimum: fine, even out of order
    w.use(NOW + 1000)
    assert NOW not in w and len(w.to_list()) == NONCE_SET_SIZE  # the smallest was dropped


def test_nonce_window_time_bounds():
    w = NonceWindow()
    with pytest.raises(ActionError, match="^Invalid nonce"):
        w.check(NOW - 2 * DAY, NOW)
    with pytest.raises(ActionError, match="^Invalid nonce"):
        w.check(NOW + DAY, NOW)
    w.check(NOW - 2 * DAY + 1, NOW)
    w.check(NOW + DAY - 1, NOW)


def test_nonce_book_is_per_signer_and_round_trips():
    book = NonceBook()
    book.check_and_use("0xa", NOW, NOW)
    book.check_and_use("0xb", NOW, NOW)  # another signer may use the same nonce
    with pytest.raises(ActionError):
        book.check_and_use("0xa", NOW, NOW)
    again = NonceBook.from_json(json.loads(json.dumps(book.to_json())))
    with pytest.raises(ActionError):
        again.check_and_use("0xb", NOW, NOW)


def test_expires_after():
    check_expires_after(None, NOW, user_signed=False)
    check_expires_after(NOW, NOW, user_signed=False)
    with pytest.raises(ActionError):
        check_expires_after(NOW - 1, NOW, user_signed=False)
    with pytest.raises(ActionError):
        check_expires_after(NOW + 1000, NOW, user_signed=True)


def _body(**over) -> bytes:
    env = {"action": {"type": "noop"}, "nonce": NOW, "signature": {"r": "0x1", "s": "0x2", "v": 27}}
    env.update(over)
    return json.dumps(env).encode()


def test_envelope_parsing_accepts_sdk_and_bare_shapes():
    env = parse_envelope(_body(vaultAddress=None, expiresAfter=None))
    assert env.action_type == "noop" and env.vault_address is None and env.expires_after is None
    env = parse_envelope(_body(vaultAddress="0x" + "AB" * 20, expiresAfter=NOW + 5))
    assert env.vault_address == "0x" + "ab" * 20 and env.expires_after == NOW + 5


@pytest.mark.parametrize(
    "body",
    [b"[1]", b"{", _body(nonce="1"), _body(signature={"r": "0x1"}), _body(action={"x": 1}), _body(vaultAddress="0x12")],
)
def test_envelope_parsing_refuses_malformed(body):
    with pytest.raises(BadBody) as e:
        parse_envelope(body)
    assert e.value.text.startswith(DESERIALIZE)


def test_order_wire_parsing():
    spec = parse_order({"a": 1, "b": True, "p": "100.5", "s": "2", "r": False, "t": {"limit": {"tif": "Alo"}},
                        "c": "0x" + "AA" * 16})
    assert (spec.asset, spec.is_buy, spec.px, spec.sz, spec.tif, spec.cloid) == (
        1, True, Decimal("100.5"), Decimal(2), "Alo", "0x" + "aa" * 16)
    spec = parse_order({"a": 0, "b": False, "p": "90", "s": "1", "r": True,
                        "t": {"trigger": {"isMarket": True, "triggerPx": "95", "tpsl": "sl"}}})
    assert spec.trigger is not None and spec.trigger.trigger_px == 95 and spec.reduce_only
    for bad in ({"a": 0}, {"a": 0, "b": 1, "p": "1", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}},
                {"a": 0, "b": True, "p": "x", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}},
                {"a": 0, "b": True, "p": "1", "s": "1", "r": False, "t": {"limit": {"tif": "Day"}}}):
        with pytest.raises(BadBody):
            parse_order(bad)


def test_fault_config_validates_updates():
    cfg = faults.FaultConfig()
    assert not cfg.any_active()
    cfg.update({"rate_429": 0.5, "delay_ms": 20})
    assert cfg.rate_429 == 0.5 and cfg.any_active()
    for bad in ({"nope": 1}, {"rate_5xx": 2}, {"delay_ms": -1}, {"rate_429": "x"}, {"rate_429": True}):
        with pytest.raises(ValueError):
            cfg.update(bad)


def test_request_fates_follow_rates():
    inj = faults.FaultInjector(faults.FaultConfig(), seed=1)
    assert {inj.request_fate(is_action=True) for _ in range(50)} == {faults.PASS}
    inj.config.update({"rate_429": 1})
    assert inj.request_fate(is_action=False) == faults.REJECT_429
    inj.config.update({"rate_429": 0, "rate_5xx": 1})
    assert inj.request_fate(is_action=False) == faults.REJECT_5XX
    inj.config.update({"rate_5xx": 0, "rate_timeout": 1})
    assert inj.request_fate(is_action=True) == faults.EXECUTE_THEN_HANG
    assert inj.request_fate(is_action=False) == faults.PASS  # reads are never "executed then lost"
    inj.config.update({"rate_timeout": 0, "rate_429": 0.5})
    fates = [inj.request_fate(is_action=False) for _ in range(400)]
    assert 120 < fates.count(faults.REJECT_429) < 280


def test_frame_duplication_and_reordering():
    inj = faults.FaultInjector(faults.FaultConfig(ws_duplicate=1), seed=1)
    out, held = inj.disturb_frames([b"1", b"2"], [])
    assert out == [b"1", b"1", b"2", b"2"] and held == []
    inj = faults.FaultInjector(faults.FaultConfig(ws_reorder=1), seed=1)
    out, held = inj.disturb_frames([b"1", b"2", b"3"], [])
    assert out == [b"2", b"1"] and held == [b"3"]  # 1 is late by one frame; 3 waits for the next push
    out, held = inj.disturb_frames([b"4"], held)
    assert out == [b"4", b"3"] and held == []
    inj.config.update({"ws_reorder": 0})
    out, held = inj.disturb_frames([b"5"], [b"x"])
    assert out == [b"5", b"x"] and held == []


def test_weight_budget_per_ip_sliding_minute():
    from perpcli.devnet.ratelimit import WeightBudget, exchange_weight, info_weight

    assert info_weight("l2Book") == 2 and info_weight("userRole") == 60 and info_weight("meta") == 20
    assert exchange_weight({"orders": [{}] * 39}) == 1 and exchange_weight({"orders": [{}] * 80}) == 3
    assert exchange_weight({"type": "noop"}) == 1
    budget = WeightBudget(10)
    assert all(budget.allow("1.1.1.1", 2, NOW) for _ in range(5))
    assert not budget.allow("1.1.1.1", 2, NOW + 1000)
    assert budget.allow("2.2.2.2", 2, NOW + 1000)  # per IP
    assert budget.allow("1.1.1.1", 2, NOW + 60_001)  # the first spend left the window
    assert WeightBudget(0).allow("1.1.1.1", 10**6, NOW)  # 0 = unlimited
