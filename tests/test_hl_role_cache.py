"""Whom a key signs for is asked once per market-data object, not once per command.

The session agent keeps one HyperliquidMarketData per venue across commands; every order used
to ask `userRole` again (the heaviest /info weight). The role is now kept until the venue
refuses a signed request as not authorised, or an agent's approval expires.
"""

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

KEY = "0x" + "22" * 32
SIGNER = Signer.from_hex(KEY)
MASTER = "0x" + "ab" * 20
META = {"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 50}]}
CTX = [{"funding": "0", "markPx": "65000", "midPx": "65000", "oraclePx": "65000", "openInterest": "1",
        "dayNtlVlm": "0", "prevDayPx": "65000", "premium": None, "impactPxs": None}]
RESTING = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 7}}]}}}


class CountingRest:
    def __init__(self, role: dict, answers: list[dict] | None = None) -> None:
        self.role = role
        self.answers = list(answers or [])
        self.asked: list[str] = []

    def info(self, body):
        t = body["type"]
        self.asked.append(t)
        if t == "userRole":
            return self.role
        if t == "extraAgents":
            return [{"address": SIGNER.address, "name": "bot", "validUntil": 5_000}]
        if t == "metaAndAssetCtxs":
            return [META, CTX]
        if t == "perpDexs":
            return [None]
        raise AssertionError(f"unexpected info {t}")

    def exchange(self, body):
        return self.answers.pop(0)

    def close(self):
        pass


def market(rest, now=lambda: 1_000):
    return HyperliquidMarketData(endpoint("http://127.0.0.1:1", "testnet"), venue="devnet", rest=rest,
                                 sleep=lambda s: None, clock_ms=now)


def trading(md, tmp_path):
    return md.trading(SIGNER, nonces=NonceAllocator(SIGNER.address, clock_ms=lambda: 1_000, directory=tmp_path))


def intent():
    return OrderIntent(venue="devnet", symbol="BTC", side=Side.BUY, size=Decimal("0.001"),
                       order_type=OrderType.LIMIT, price=Decimal("64000"), tif=TimeInForce.GTC,
                       cloid="0x" + "cd" * 16)


def role_reads(rest) -> int:
    return rest.asked.count("userRole")


def test_one_role_read_serves_every_command_on_the_same_market_data(tmp_path):
    rest = CountingRest({"role": "user"})
    md = market(rest)
    for _ in range(5):
        md.begin_command()  # what the session agent does between commands
        assert trading(md, tmp_path).require_registered().account == SIGNER.address.lower()
    assert role_reads(rest) == 1


def test_a_separate_market_data_asks_again(tmp_path):
    rest = CountingRest({"role": "user"})
    trading(market(rest), tmp_path).require_registered()
    trading(market(rest), tmp_path).require_registered()
    assert role_reads(rest) == 2


def test_an_unknown_key_is_not_remembered(tmp_path):
    rest = CountingRest({"role": "missing"})
    md = market(rest)
    with pytest.raises(AuthError):
        trading(md, tmp_path).require_registered()
    rest.role = {"role": "user"}  # funded meanwhile
    assert trading(md, tmp_path).require_registered().registered
    assert role_reads(rest) == 2


def test_a_role_error_from_the_venue_forgets_the_role(tmp_path):
    refused = {"status": "err", "response": f"User or API Wallet {SIGNER.address.lower()} does not exist."}
    rest = CountingRest({"role": "user"}, [refused, RESTING])
    md = market(rest)
    t = trading(md, tmp_path)
    t.require_registered()
    with pytest.raises(AuthError):
        t.submit([intent()])
    assert trading(md, tmp_path).require_registered().registered
    assert role_reads(rest) == 2  # asked again after the refusal
    trading(md, tmp_path).require_registered()
    assert role_reads(rest) == 2


def test_an_order_refused_as_unauthorised_forgets_the_role(tmp_path):
    per_order = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
        {"error": "Builder fee has not been approved."}]}}}
    rest = CountingRest({"role": "user"}, [per_order])
    md = market(rest)
    t = trading(md, tmp_path)
    t.require_registered()
    [ack] = t.submit([intent()])
    assert ack.status is AckStatus.REJECTED
    trading(md, tmp_path).require_registered()
    assert role_reads(rest) == 2


def test_an_agent_role_is_kept_only_until_its_approval_expires(tmp_path):
    now = [1_000]
    rest = CountingRest({"role": "agent", "data": {"user": MASTER}})
    md = market(rest, now=lambda: now[0])
    assert trading(md, tmp_path).require_registered().account == MASTER
    trading(md, tmp_path).require_registered()
    assert role_reads(rest) == 1
    now[0] = 5_000  # validUntil of the approval (extraAgents)
    trading(md, tmp_path).require_registered()
    assert role_reads(rest) == 2
