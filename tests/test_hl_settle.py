"""Settling orders whose answer never came: query by cloid, then burn the nonce; never resend."""

from __future__ import annotations

from decimal import Decimal

import pytest

from perpcli.domain.errors import AuthError
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.keys.nonces import NonceAllocator
from perpcli.keys.signer import Signer
from perpcli.venues.base import AckStatus
from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData
from perpcli.venues.hyperliquid.endpoints import endpoint
from perpcli.venues.hyperliquid.rest import SentNoAnswer

META = {"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 50}]}
CTX = [{"funding": "0.0000125", "markPx": "65000", "midPx": "65000", "oraclePx": "65000", "openInterest": "1",
        "dayNtlVlm": "0", "prevDayPx": "65000", "premium": None, "impactPxs": None}]
KEY = "0x" + "11" * 32


class FakeRest:
    """Scripted /info and /exchange; records every /exchange body."""

    def __init__(self, exchange_script, status_script, role="user"):
        self.exchange_script = list(exchange_script)
        self.status_script = list(status_script)
        self.sent: list[dict] = []
        self.status_queries = 0
        self.role = role

    def info(self, body):
        t = body["type"]
        if t == "metaAndAssetCtxs":
            return [META, CTX]
        if t == "userRole":
            return {"role": self.role}
        if t == "clearinghouseState":  # an account with no position (read for the order's guards)
            return {"assetPositions": [], "marginSummary": {"accountValue": "1000", "totalMarginUsed": "0",
                                                            "totalNtlPos": "0", "totalRawUsd": "1000"},
                    "withdrawable": "1000"}
        if t == "activeAssetData":
            return {"leverage": {"type": "cross", "value": 20}}
        if t == "perpDexs":
            return [None]  # the main dex only
        if t == "orderStatus":
            self.status_queries += 1
            item = self.status_script.pop(0) if self.status_script else {"status": "unknownOid"}
            if isinstance(item, Exception):
                raise item
            return item
        raise AssertionError(f"unexpected info {t}")

    def exchange(self, body):
        self.sent.append(body)
        item = self.exchange_script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        pass


def trading(rest, tmp_path):
    md = HyperliquidMarketData(endpoint("http://127.0.0.1:1", "testnet"), venue="devnet", rest=rest,
                               sleep=lambda s: None)
    signer = Signer.from_hex(KEY)
    return md.trading(signer, nonces=NonceAllocator(signer.address, clock_ms=lambda: 1_000, directory=tmp_path))


def intent(cloid="0x" + "cd" * 16):
    return OrderIntent(venue="devnet", symbol="BTC", side=Side.BUY, size=Decimal("0.001"),
                       order_type=OrderType.LIMIT, price=Decimal("64000"), tif=TimeInForce.GTC, cloid=cloid)


def resting_status(cloid):
    row = {"coin": "BTC", "side": "B", "limitPx": "64000", "sz": "0.001", "origSz": "0.001", "oid": 77,
           "timestamp": 1, "cloid": cloid}
    return {"status": "order", "order": {"order": row, "status": "open", "statusTimestamp": 2}}


def test_answer_lost_but_order_landed_is_found_by_cloid(tmp_path):
    cl = "0x" + "cd" * 16
    rest = FakeRest([SentNoAnswer("timed out")], [resting_status(cl)])
    acks = trading(rest, tmp_path).submit([intent(cl)])
    assert acks[0].status is AckStatus.RESTING and acks[0].oid == "77"
    assert [b["action"]["type"] for b in rest.sent][:1] == ["order"]  # never resent:
    assert all(b["action"] == {"type": "noop"} and b["nonce"] == rest.sent[0]["nonce"] for b in rest.sent[1:])


def test_order_never_seen_is_killed_with_a_noop_on_the_same_nonce(tmp_path):
    rest = FakeRest([SentNoAnswer("timed out"), {"status": "ok", "response": {"type": "default"}}], [])
    acks = trading(rest, tmp_path).submit([intent()])
    assert acks[0].status is AckStatus.REJECTED and "nonce spent" in acks[0].error
    assert acks[0].error_kind == "nonce"  # a script may sign it again: the original can never execute
    order_body, noop_body = rest.sent
    assert noop_body["action"] == {"type": "noop"}
    assert noop_body["nonce"] == order_body["nonce"]
    assert rest.status_queries == 3


def test_noop_refused_as_duplicate_means_the_order_landed(tmp_path):
    cl = "0x" + "cd" * 16
    dup = {"status": "err", "response": "Invalid nonce: duplicate nonce 1000"}
    rest = FakeRest([SentNoAnswer("timed out"), dup], [{"status": "unknownOid"}] * 3 + [resting_status(cl)])
    acks = trading(rest, tmp_path).submit([intent(cl)])
    assert acks[0].status is AckStatus.RESTING
    assert [b["action"]["type"] for b in rest.sent] == ["order", "noop"]


def test_still_unknown_after_everything(tmp_path):
    rest = FakeRest([SentNoAnswer("timed out"), SentNoAnswer("again")], [ConnectionError("x")] * 3)
    acks = trading(rest, tmp_path).submit([intent()])
    assert acks[0].status is AckStatus.UNKNOWN
    assert [b["action"]["type"] for b in rest.sent] == ["order", "noop"]


def test_unknown_signer_error_from_exchange_is_auth(tmp_path):
    rest = FakeRest([{"status": "err", "response": "User or API Wallet 0xabc does not exist."}], [])
    with pytest.raises(AuthError):
        trading(rest, tmp_path).submit([intent()])


def test_missing_role_is_refused_before_signing(tmp_path):
    rest = FakeRest([], [], role="missing")
    t = trading(rest, tmp_path)
    with pytest.raises(AuthError, match="is not registered on devnet"):
        t.require_registered()
    assert rest.sent == []


def test_cli_exit_6_when_outcome_stays_unknown(monkeypatch, tmp_path):
    """The whole CLI path: the adapter reports UNKNOWN, the command exits 6 with one stderr line."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from perpcli.cli.main import main
    from perpcli.venues.hyperliquid import adapter

    rest = FakeRest([SentNoAnswer("timed out"), SentNoAnswer("again")], [ConnectionError("x")] * 3)
    real_init = adapter.HyperliquidMarketData.__init__

    def init(self, ep, **kw):
        kw["rest"] = rest
        kw["sleep"] = lambda s: None
        real_init(self, ep, **kw)

    monkeypatch.setattr(adapter.HyperliquidMarketData, "__init__", init)
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", KEY)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--json", "--venue", "devnet", "buy", "BTC", "0.001", "--limit", "64000", "--yes"])
    assert code == 6
    assert '"status":"unknown"' in out.getvalue()
    assert err.getvalue().count("perp: error:") == 1 and "outcome unknown" in err.getvalue()


def test_bracket_children_follow_a_parent_found_by_cloid(tmp_path):
    parent = "0x" + "cd" * 16
    rest = FakeRest([SentNoAnswer("timed out")], [resting_status(parent), {"status": "unknownOid"}])
    child = OrderIntent(venue="devnet", symbol="BTC", side=Side.SELL, size=Decimal("0.001"),
                        order_type=OrderType.TAKE_PROFIT_MARKET, price=Decimal("60000"),
                        trigger_price=Decimal("70000"), reduce_only=True, cloid="0x" + "ce" * 16)
    acks = trading(rest, tmp_path).submit([intent(parent), child], grouping="normalTpsl")
    assert [a.status for a in acks] == [AckStatus.RESTING, AckStatus.ACCEPTED]
    # the parent is there: nothing is resent (a noop on the same nonce may ask whose order it is)
    assert [b["action"]["type"] for b in rest.sent if b["action"]["type"] != "noop"] == ["order"]


def test_wrong_network_symptom_is_named(tmp_path):
    """The venue recovers a different address when it verifies another network's signature."""
    other = "0x" + "ab" * 20
    rest = FakeRest([{"status": "err", "response": f"User or API Wallet {other} does not exist."}], [])
    with pytest.raises(AuthError, match="check --network") as e:
        trading(rest, tmp_path).submit([intent()])
    assert other in e.value.message


# ----- modifies and non-order actions: the request's nonce settles them ------------------------

OK = {"status": "ok", "response": {"type": "default"}}
DUP = {"status": "err", "response": "Invalid nonce: duplicate nonce 1000"}


def resting_with_oid(cloid, oid):
    status = resting_status(cloid)
    status["order"]["order"]["oid"] = oid
    return status


def test_lost_modify_whose_nonce_a_noop_takes_left_the_order_unchanged(tmp_path):
    """The old order is still found by its (unchanged) cloid: that must not read as 'modified'."""
    cl = "0x" + "cd" * 16
    rest = FakeRest([SentNoAnswer("timed out"), OK], [resting_status(cl)] * 5)
    ack = trading(rest, tmp_path).modify("77", intent(cl))
    assert ack.status is AckStatus.REJECTED and "unchanged" in ack.error and ack.oid == "77"
    assert ack.error_kind == "nonce"
    modify_body, noop_body = rest.sent
    assert modify_body["action"]["type"] == "batchModify" and noop_body["action"] == {"type": "noop"}
    assert noop_body["nonce"] == modify_body["nonce"]


def test_lost_modify_that_landed_reports_the_replacement(tmp_path):
    cl = "0x" + "cd" * 16
    rest = FakeRest([SentNoAnswer("timed out"), DUP], [resting_with_oid(cl, 78)])
    ack = trading(rest, tmp_path).modify("77", intent(cl))
    assert ack.status is AckStatus.RESTING and ack.oid == "78"
    assert [b["action"]["type"] for b in rest.sent] == ["batchModify", "noop"]


def test_lost_modify_stays_unknown_when_the_noop_is_lost_too(tmp_path):
    rest = FakeRest([SentNoAnswer("timed out"), SentNoAnswer("again")], [])
    ack = trading(rest, tmp_path).modify("77", intent())
    assert ack.status is AckStatus.UNKNOWN and "perp orders" in ack.error


def test_lost_withdrawal_is_settled_by_its_nonce_never_resent(tmp_path):
    dest = "0x" + "ab" * 20
    t = trading(FakeRest([SentNoAnswer("timed out"), OK], []), tmp_path)
    res = t.transfer("withdraw", Decimal(100), destination=dest)
    assert not res.ok and "nothing changed" in res.error and res.error_kind == "nonce"
    withdraw_body, noop_body = t.rest.sent
    assert withdraw_body["action"]["type"] == "withdraw3" and noop_body["nonce"] == withdraw_body["nonce"]

    t = trading(FakeRest([SentNoAnswer("timed out"), DUP], []), tmp_path)
    res = t.transfer("withdraw", Decimal(100), destination=dest)
    assert res.ok and res.detail["settled"] == "executed"
    assert [b["action"]["type"] for b in t.rest.sent] == ["withdraw3", "noop"]


def test_lost_withdrawal_with_a_lost_noop_is_unknown_and_says_what_to_check(tmp_path):
    from perpcli.domain.errors import OutcomeUnknown

    t = trading(FakeRest([SentNoAnswer("timed out"), SentNoAnswer("again")], []), tmp_path)
    with pytest.raises(OutcomeUnknown, match="ledger"):
        t.transfer("withdraw", Decimal(100), destination="0x" + "ab" * 20)
    assert len(t.rest.sent) == 2


def test_order_behind_an_unknown_leverage_update_is_not_sent(tmp_path):
    from perpcli.app import actions, order_plan
    from perpcli.domain.instrument import Instrument

    t = trading(FakeRest([SentNoAnswer("timed out"), SentNoAnswer("again")], []), tmp_path)
    plan = order_plan.OrderPlan(venue="devnet", market="BTC", side=Side.BUY, intents=[intent()], grouping="na",
                                reference_price=Decimal(64000), mark=Decimal(65000), leverage=5, isolated=False,
                                labels=["limit"])

    class Session:
        venue = "devnet"

    assert isinstance(t.market.instrument("BTC"), Instrument)
    outcome = actions.place(Session(), t, plan, dry_run=False)
    assert outcome.unknown_step and "not sent" in outcome.unknown_step
    assert [r.status for r in outcome.results] == ["rejected"] and "not sent" in outcome.results[0].error
    assert [b["action"]["type"] for b in t.rest.sent] == ["updateLeverage", "noop"]  # the order never left


# ----- a bracket whose TP/SL the venue refuses after the entry filled ---------------------------

def _bracket_plan():
    from perpcli.app import order_plan

    parent = intent()
    sl = OrderIntent(venue="devnet", symbol="BTC", side=Side.SELL, size=Decimal("0.001"),
                     order_type=OrderType.STOP_MARKET, price=Decimal("56000"), trigger_price=Decimal("60000"),
                     reduce_only=True, cloid="0x" + "ce" * 16)
    return order_plan.OrderPlan(venue="devnet", market="BTC", side=Side.BUY, intents=[parent, sl],
                                grouping="normalTpsl", reference_price=Decimal(64000), mark=Decimal(65000),
                                leverage=None, isolated=False, labels=["limit", "stop_market"])


FILLED_BUT_SL_REFUSED = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
    {"filled": {"totalSz": "0.001", "avgPx": "64000", "oid": 5}}, {"error": "Invalid TP/SL price."}]}}}


class _Session:
    venue = "devnet"

    def __init__(self, md):
        self.market = md


def test_refused_stop_loss_after_a_fill_is_placed_again_by_default(tmp_path):
    from perpcli.app import actions

    again = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 6}}]}}}
    t = trading(FakeRest([FILLED_BUT_SL_REFUSED, again], []), tmp_path)
    out = actions.place(_Session(t.market), t, _bracket_plan(), dry_run=False)
    assert [r.status for r in out.results] == ["filled", "resting"]
    assert "placed again" in out.results[1].note and not out.warnings
    assert actions.exit_code_for(out.results) == 0
    second = t.rest.sent[1]["action"]
    assert second["grouping"] == "na" and second["orders"][0]["r"] is True  # reduce-only, on its own
    assert second["orders"][0]["c"] != "0x" + "ce" * 16  # a fresh client id


def test_refused_stop_loss_that_is_refused_again_warns_loudly(tmp_path):
    from perpcli.app import actions

    refused = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"error": "Invalid TP/SL price."}]}}}
    t = trading(FakeRest([FILLED_BUT_SL_REFUSED, refused], []), tmp_path)
    out = actions.place(_Session(t.market), t, _bracket_plan(), dry_run=False)
    assert out.warnings and "OPEN WITHOUT" in out.warnings[0] and out.results[0].note == out.warnings[0]
    assert actions.exit_code_for(out.results) == 3

    t = trading(FakeRest([FILLED_BUT_SL_REFUSED], []), tmp_path)
    out = actions.place(_Session(t.market), t, _bracket_plan(), dry_run=False, bracket_policy="warn")
    assert "OPEN WITHOUT" in out.warnings[0] and len(t.rest.sent) == 1  # warn: nothing more is sent


def test_bracket_policy_is_validated_from_config():
    from perpcli.app.risk import RiskLimits
    from perpcli.domain.errors import ConfigError

    class S:
        def __init__(self, policy):
            self.values = {"risk.max_order_notional": "1", "risk.max_leverage": 1, "risk.price_band_pct": "1",
                           "risk.confirm_above_notional": "1", "risk.on_bracket_failure": policy}

        def get(self, key):
            return self.values[key]

    assert RiskLimits.from_settings(S("Close")).on_bracket_failure == "close"
    with pytest.raises(ConfigError, match="risk.on_bracket_failure"):
        RiskLimits.from_settings(S("pray"))


def test_bracket_policy_close_closes_the_unprotected_position(tmp_path):
    from perpcli.app import actions

    class WithPosition(FakeRest):
        def info(self, body):
            if body["type"] == "clearinghouseState":
                return {"assetPositions": [{"type": "oneWay", "position": {
                    "coin": "BTC", "szi": "0.001", "entryPx": "64000", "positionValue": "65", "unrealizedPnl": "1",
                    "returnOnEquity": "0", "liquidationPx": None, "marginUsed": "3", "maxLeverage": 50,
                    "leverage": {"type": "cross", "value": 20}, "cumFunding": {"allTime": "0", "sinceOpen": "0",
                                                                              "sinceChange": "0"}}}],
                    "marginSummary": {"accountValue": "1000", "totalNtlPos": "65", "totalRawUsd": "935",
                                      "totalMarginUsed": "3"},
                    "crossMarginSummary": {"accountValue": "1000", "totalNtlPos": "65", "totalRawUsd": "935",
                                           "totalMarginUsed": "3"},
                    "crossMaintenanceMarginUsed": "1", "withdrawable": "990", "time": 1}
            if body["type"] == "perpDexs":
                return [None]  # the default dex only
            return super().info(body)

    closed = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
        {"filled": {"totalSz": "0.001", "avgPx": "64900", "oid": 7}}]}}}
    t = trading(WithPosition([FILLED_BUT_SL_REFUSED, closed], []), tmp_path)
    out = actions.place(_Session(t.market), t, _bracket_plan(), dry_run=False, bracket_policy="close")
    assert [r.status for r in out.results] == ["filled", "rejected", "filled"]
    assert out.results[2].side == "sell" and "closed at market" in out.warnings[0]
    close_order = t.rest.sent[1]["action"]["orders"][0]
    assert close_order["r"] is True and close_order["b"] is False


@pytest.mark.parametrize("oid", ["9" * 5000, "18446744073709551616", "12a", "৪", "-1"])
def test_an_order_id_that_is_not_a_venue_id_is_a_usage_error(tmp_path, oid):
    from perpcli.domain.errors import UsageError, ValidationError

    t = trading(FakeRest([], []), tmp_path)
    with pytest.raises((UsageError, ValidationError)) as e:
        t.order_status(oid=oid)
    assert len(str(e.value)) < 200 and t.rest.sent == []


def test_a_lost_answer_that_finds_an_older_order_says_so(tmp_path):
    """A retry with the same cloid whose own answer is lost finds the order an earlier command
    placed: its status is reported, with the note that it already existed."""
    from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData

    cl = "0x" + "cd" * 16
    old = resting_status(cl)
    old["order"]["order"]["timestamp"] = 1_000  # placed long before this request's nonce
    rest = FakeRest([SentNoAnswer("timed out")], [old])
    md = HyperliquidMarketData(endpoint("http://127.0.0.1:1", "testnet"), venue="devnet", rest=rest,
                               sleep=lambda s: None)
    signer = Signer.from_hex(KEY)
    t = md.trading(signer, nonces=NonceAllocator(signer.address, clock_ms=lambda: 60_000, directory=tmp_path))
    ack = t.submit([intent(cl)])[0]
    assert ack.status is AckStatus.RESTING and ack.note and "already exists" in ack.note
    assert ack.price == Decimal("64000") and ack.size == Decimal("0.001")

    fresh = resting_status(cl)
    fresh["order"]["order"]["timestamp"] = 60_100  # stamped after the nonce: placed by this request
    md2 = HyperliquidMarketData(endpoint("http://127.0.0.1:1", "testnet"), venue="devnet",
                                rest=FakeRest([SentNoAnswer("timed out"), DUP], [fresh]), sleep=lambda s: None)
    t2 = md2.trading(signer, nonces=NonceAllocator(signer.address, clock_ms=lambda: 60_000, directory=tmp_path / "b"))
    assert t2.submit([intent(cl)])[0].note is None  # the noop found the nonce used: this request placed it


def test_lost_cancel_is_settled_by_its_nonce(tmp_path):
    from perpcli.venues.base import CancelTarget

    t = trading(FakeRest([SentNoAnswer("timed out"), OK], []), tmp_path)
    (res,) = t.send_cancel(t.prepare_cancel([CancelTarget("BTC", oid="77")]), [CancelTarget("BTC", oid="77")])
    assert not res.ok and "unchanged" in res.error
    cancel_body, noop_body = t.rest.sent
    assert noop_body["nonce"] == cancel_body["nonce"]

    canceled = {"status": "order", "order": {"status": "canceled", "statusTimestamp": 2, "order": {
        "coin": "BTC", "side": "B", "limitPx": "64000", "sz": "0.001", "origSz": "0.001", "oid": 77, "timestamp": 1}}}
    t = trading(FakeRest([SentNoAnswer("timed out"), DUP], [canceled]), tmp_path / "b")
    (res,) = t.send_cancel(t.prepare_cancel([CancelTarget("BTC", oid="77")]), [CancelTarget("BTC", oid="77")])
    assert res.ok and [b["action"]["type"] for b in t.rest.sent] == ["cancel", "noop"]

    from perpcli.domain.errors import OutcomeUnknown

    t = trading(FakeRest([SentNoAnswer("timed out"), SentNoAnswer("again")], []), tmp_path / "c")
    with pytest.raises(OutcomeUnknown, match="perp orders"):
        t.send_cancel(t.prepare_cancel([CancelTarget("BTC", oid="77")]), [CancelTarget("BTC", oid="77")])


def test_a_lost_answer_within_the_clock_allowance_asks_the_nonce_whose_order_it_is(tmp_path):
    """A retry right after the first command: the order found is only ms older than the request.
    A noop that takes the request's nonce proves the request never executed: the order is older."""
    from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData

    cl = "0x" + "cd" * 16
    recent = resting_status(cl)
    recent["order"]["order"]["timestamp"] = 59_700
    md = HyperliquidMarketData(endpoint("http://127.0.0.1:1", "testnet"), venue="devnet",
                               rest=FakeRest([SentNoAnswer("timed out"), OK], [recent]), sleep=lambda s: None)
    signer = Signer.from_hex(KEY)
    t = md.trading(signer, nonces=NonceAllocator(signer.address, clock_ms=lambda: 60_000, directory=tmp_path))
    ack = t.submit([intent(cl)])[0]
    assert ack.status is AckStatus.RESTING and ack.note and "already exists" in ack.note
    assert [b["action"]["type"] for b in md.rest.sent] == ["order", "noop"]
