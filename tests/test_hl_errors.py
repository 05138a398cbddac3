"""Hyperliquid's refusal messages -> ErrorKind (venues/hyperliquid/errors.py), and local rule
names -> the same kinds (domain/errors.py), so a script sees one vocabulary.

Every message the devnet can send is read from its source, so a new devnet message without a
mapping fails here rather than reaching scripts as `other`.
"""

from __future__ import annotations

import ast
import string
from decimal import Decimal
from pathlib import Path

import pytest

from perpcli.devnet.errors import Errors
from perpcli.domain.errors import (
    AuthError,
    ErrorKind,
    RateLimited,
    RiskRefused,
    UsageError,
    ValidationError,
    VenueRejected,
    rule_kind,
)
from perpcli.domain.instrument import Instrument
from perpcli.venues.base import AckStatus
from perpcli.venues.hyperliquid import codec, numbers
from perpcli.venues.hyperliquid.errors import (
    PATTERNS,
    STATUS_KINDS,
    error_kind,
    is_nonce_refusal,
    is_unknown_signer,
    status_kind,
)

K = ErrorKind
DEVNET = Path(__file__).resolve().parents[1] / "perpcli" / "devnet"

# The venue's own texts (protocol notes §a.2.2, "Error strings seen in the wild") and their kinds.
VENUE_MESSAGES = [
    ("User or API Wallet 0x5e9ee1089755c3435139848e47e6635505d5a13a does not exist.", K.AUTH),
    ("L1 error: User or API Wallet 0x5e9ee1089755c3435139848e47e6635505d5a13a does not exist.", K.AUTH),
    ("Must deposit before performing actions. User: 0x5e9ee1089755c3435139848e47e6635505d5a13a", K.AUTH),
    ("Invalid nonce: duplicate nonce 1788895523507", K.NONCE),
    ("Price must be divisible by tick size.", K.PRICE_TICK),
    ("Price must be divisible by tick size. asset=3", K.PRICE_TICK),
    ("Order has invalid price.", K.PRICE_TICK),
    ("Order has invalid size.", K.SIZE_LOT),
    ("Order has zero size.", K.SIZE_LOT),
    ("Order must have minimum value of $10.", K.MIN_NOTIONAL),
    ("Order must have minimum value of 10 USDC.", K.MIN_NOTIONAL),
    ("Insufficient margin to place order.", K.INSUFFICIENT_MARGIN),
    ("Insufficient margin to place order. asset=0", K.INSUFFICIENT_MARGIN),
    ("Reduce only order would increase position.", K.REDUCE_ONLY),
    ("Post only order would have immediately matched, bbo was 1891.4@1891.5.", K.POST_ONLY_WOULD_CROSS),
    ("Order could not immediately match against any resting orders.", K.NO_LIQUIDITY),
    ("Invalid TP/SL price.", K.INVALID_TRIGGER),
    ("No liquidity available for market order.", K.NO_LIQUIDITY),
    ("Order price cannot be more than 80% away from the reference price", K.PRICE_BAND),
    ("Order would increase open interest while open interest is capped", K.POSITION_LIMIT),
    ("Order rejected due to price more aggressive than oracle while at open interest cap", K.POSITION_LIMIT),
    ("Order would increase open interest too quickly", K.POSITION_LIMIT),
    ("Order price too far from oracle", K.PRICE_BAND),
    ("Order would cause position to exceed margin tier limit at current leverage", K.POSITION_LIMIT),
    ("Insufficient spot balance asset=10001", K.INSUFFICIENT_MARGIN),
    ("Order was never placed, already canceled, or filled.", K.ORDER_NOT_FOUND),
    ("Invalid leverage value", K.MAX_LEVERAGE),
    ("Cannot set scheduled cancel time until enough volume traded. Required: $1000000.", K.ACCOUNT_LIMIT),
    ("Too many cumulative requests sent", K.RATE_LIMITED),
    ("Vault may not perform this action.", K.AUTH),
    ("TWAP order value too small. Min is $1200, which is $10 per minute.", K.MIN_NOTIONAL),
    ("Invalid TWAP duration: 1 min(s)", K.INVALID_REQUEST),
    ("TWAP was never placed, already canceled, or filled.", K.ORDER_NOT_FOUND),
    ("Insufficient balance for withdrawal", K.INSUFFICIENT_MARGIN),
    ("Insufficient balance for token transfer", K.INSUFFICIENT_MARGIN),
    ("Failed to deserialize the JSON body into the target type: orders[0]: missing field `a`", K.INVALID_REQUEST),
    ("429 Too Many Requests", K.RATE_LIMITED),
    ("too many pending post requests id=1234", K.RATE_LIMITED),
]

# The devnet's table (perpcli/devnet/errors.py), attribute by attribute.
DEVNET_TABLE = {
    "TICK": K.PRICE_TICK, "INVALID_PRICE": K.PRICE_TICK, "INVALID_SIZE": K.SIZE_LOT, "ZERO_SIZE": K.SIZE_LOT,
    "MIN_VALUE": K.MIN_NOTIONAL, "MARGIN": K.INSUFFICIENT_MARGIN, "REDUCE_ONLY": K.REDUCE_ONLY,
    "ALO_CROSS": K.POST_ONLY_WOULD_CROSS, "IOC_NO_MATCH": K.NO_LIQUIDITY, "TPSL_PRICE": K.INVALID_TRIGGER,
    "NO_LIQUIDITY": K.NO_LIQUIDITY, "PRICE_BAND": K.PRICE_BAND, "TIER_LIMIT": K.POSITION_LIMIT,
    "CANCEL_MISSING": K.ORDER_NOT_FOUND, "LEVERAGE": K.MAX_LEVERAGE, "SCHEDULE_VOLUME": K.ACCOUNT_LIMIT,
    "WITHDRAW_BALANCE": K.INSUFFICIENT_MARGIN, "TRANSFER_BALANCE": K.INSUFFICIENT_MARGIN,
    "INVALID_ASSET": K.UNKNOWN_MARKET, "DUPLICATE_CLOID": K.DUPLICATE_CLIENT_ID, "TOO_MANY_ORDERS": K.ACCOUNT_LIMIT,
    "SCHEDULE_TOO_EARLY": K.INVALID_REQUEST, "SCHEDULE_TOO_MANY": K.ACCOUNT_LIMIT, "EMPTY_BATCH": K.INVALID_REQUEST,
    "TPSL_NOT_TRIGGER": K.INVALID_TRIGGER, "TPSL_NOT_REDUCE_ONLY": K.INVALID_TRIGGER,
    "CROSS_NOT_ALLOWED": K.MARGIN_MODE, "SWITCH_WITH_POSITION": K.MARGIN_MODE, "NO_ISOLATED_POSITION": K.MARGIN_MODE,
    "ISOLATED_MARGIN": K.INSUFFICIENT_MARGIN, "LEVERAGE_MARGIN": K.INSUFFICIENT_MARGIN,
    "AGENT_LIMIT": K.ACCOUNT_LIMIT, "AMOUNT": K.INVALID_REQUEST,
    "AGENT_VALID_UNTIL": K.OTHER,  # [devnet] wording: the venue's text for it is not known
    "INVALID_DEX": K.UNKNOWN_MARKET, "SPOT_BALANCE": K.INSUFFICIENT_MARGIN, "REFERRER_VOLUME": K.ACCOUNT_LIMIT,
    # sub-account, referral and spot-order refusals whose exact venue wording is not recorded:
    # the client must not claim a kind for them
    "SEND_NOT_COLLATERAL": K.OTHER, "SPOT_ORDER_KIND": K.OTHER, "SUB_OF_SUB": K.OTHER, "SUB_NAME": K.OTHER,
    "SUB_NAME_TAKEN": K.OTHER, "SUB_TOO_MANY": K.OTHER, "SUB_NOT_YOURS": K.OTHER, "REFERRAL_CODE_INVALID": K.OTHER,
    "REFERRER_HAS_CODE": K.OTHER, "REFERRAL_CODE_TAKEN": K.OTHER, "REFERRAL_CODE_UNKNOWN": K.OTHER,
    "REFERRAL_SELF": K.OTHER, "REFERRAL_ALREADY": K.OTHER, "NO_REWARDS": K.OTHER,
    "ABSTRACTION_NOT_MODELLED": K.OTHER, "ABSTRACTION_USER": K.OTHER,
}

# Devnet texts for features this emulator lacks: the real venue never says them, so they
# stay `other` (the message says what is missing).
DEVNET_ONLY_GAPS = {
    "TWAP orders are not available on this devnet",
}


def _fill(template: str) -> str:
    """A table text with its {placeholders} filled as the devnet would fill them."""
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    return template.format(**{n: "1" for n in names})


@pytest.mark.parametrize(("message", "kind"), VENUE_MESSAGES)
def test_every_documented_venue_message_has_its_kind(message, kind):
    assert error_kind(message) is kind


def test_the_devnet_table_is_covered_attribute_by_attribute():
    texts = {k: v for k, v in vars(Errors).items() if k.isupper() and isinstance(v, str)}
    assert set(texts) == set(DEVNET_TABLE), "a devnet error text was added or removed: map it here"
    for name, template in texts.items():
        assert error_kind(_fill(template)) is DEVNET_TABLE[name], (name, template)


def _devnet_literal_messages() -> set[str]:
    """Every literal message the devnet refuses with, read from its source: the first argument
    of ActionError(...)/OrderError(...) and the value of {"error": ...} in an answer."""
    out: set[str] = set()

    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):  # f-string: each {field} becomes a sample value
            return "".join(v.value if isinstance(v, ast.Constant) else "1" for v in node.values)
        return None

    for path in DEVNET.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("ActionError", "OrderError"):
                found = text(node.args[0]) if node.args else None
                if found is not None:
                    out.add(found)
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    if isinstance(k, ast.Constant) and k.value == "error" and (found := text(v)) is not None:
                        out.add(found)
    return out


def test_every_devnet_message_in_source_has_a_specific_kind():
    messages = _devnet_literal_messages()
    assert len(messages) > 20  # the scan found the devnet's messages at all
    assert DEVNET_ONLY_GAPS <= messages, "a devnet-only text changed: update DEVNET_ONLY_GAPS"
    unmapped = sorted(m for m in messages - DEVNET_ONLY_GAPS if error_kind(m) is K.OTHER)
    assert unmapped == []
    assert all(error_kind(m) is K.OTHER for m in DEVNET_ONLY_GAPS)


def test_unknown_text_is_other_and_no_text_is_no_kind():
    assert error_kind("Something new the venue says") is K.OTHER
    assert error_kind(None) is None


def test_patterns_are_lowercase_and_each_one_is_reachable():
    """A pattern shadowed by an earlier one would never classify anything."""
    for i, (pattern, kind) in enumerate(PATTERNS):
        assert pattern == pattern.lower()
        earlier = [p for p, _ in PATTERNS[:i] if p in pattern]
        assert earlier == [], (pattern, earlier)
        assert error_kind(f"x {pattern} y") is kind


@pytest.mark.parametrize(("word", "kind"), [
    ("perpMarginRejected", K.INSUFFICIENT_MARGIN), ("marginCanceled", K.INSUFFICIENT_MARGIN),
    ("reduceOnlyRejected", K.REDUCE_ONLY), ("badAloPxRejected", K.POST_ONLY_WOULD_CROSS),
    ("tickRejected", K.PRICE_TICK), ("minTradeNtlRejected", K.MIN_NOTIONAL),
    ("iocCancelRejected", K.NO_LIQUIDITY), ("badTriggerPxRejected", K.INVALID_TRIGGER),
    ("openInterestCapCanceled", K.POSITION_LIMIT), ("tooManyOpenOrdersRejected", K.ACCOUNT_LIMIT),
    ("delistedCanceled", K.MARKET_CLOSED), ("someNewRejected", K.OTHER), ("rejected", K.OTHER),
    ("canceled", None), ("selfTradeCanceled", None), ("siblingFilledCanceled", None), ("scheduledCancel", None),
])
def test_status_words(word, kind):
    assert status_kind(word) is kind


def test_every_status_word_in_the_table_ends_an_order():
    assert all(w.endswith(("Rejected", "Canceled")) for w in STATUS_KINDS)


def test_adapter_decisions_read_the_table_not_the_caller():
    assert is_nonce_refusal("Invalid nonce: duplicate nonce 17")
    assert not is_nonce_refusal("Insufficient margin to place order.")
    assert is_unknown_signer("L1 error: User or API Wallet 0xab does not exist.")
    assert is_unknown_signer("Must deposit before performing actions. User: 0xab")
    assert not is_unknown_signer("Invalid nonce: duplicate nonce 17")


# ----- the codec stamps the kind on what it builds ------------------------------------------


def test_order_acks_carry_the_kind_of_each_status():
    resp = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
        {"error": "Post only order would have immediately matched, bbo was 1@2."},
        {"resting": {"oid": 7}},
        {"error": "Something new"},
    ]}}}
    acks = codec.order_acks(resp, [(None, Decimal(1))] * 3)
    assert [a.error_kind for a in acks] == [K.POST_ONLY_WOULD_CROSS, None, K.OTHER]
    assert acks[0].status is AckStatus.REJECTED and acks[0].error.startswith("Post only")


def test_whole_action_and_single_status_refusals_reach_every_ack():
    refused = {"status": "err", "response": "Invalid nonce: duplicate nonce 5"}
    assert [a.error_kind for a in codec.order_acks(refused, [(None, Decimal(1))] * 2)] == [K.NONCE, K.NONCE]
    one = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
        {"error": "Order price cannot be more than 80% away from the reference price"}]}}}
    assert [a.error_kind for a in codec.order_acks(one, [(None, Decimal(1))] * 2)] == [K.PRICE_BAND] * 2


def test_status_ack_kind_comes_from_the_status_word():
    def answer(word: str) -> dict:
        return {"status": "order", "order": {"status": word, "order": {"oid": 1, "origSz": "1", "sz": "1"}}}

    assert codec.status_ack(answer("perpMarginRejected")).error_kind is K.INSUFFICIENT_MARGIN
    canceled = codec.status_ack(answer("canceled"))
    assert canceled.status is AckStatus.CANCELED and canceled.error_kind is None
    assert codec.status_ack(answer("open")).error_kind is None


# ----- local refusals speak the same vocabulary ---------------------------------------------


def test_local_price_and_size_rules_have_the_venue_kinds():
    with pytest.raises(ValidationError) as e:
        numbers.check_price(Decimal("65000.5"), 5)  # 6 significant figures
    assert e.value.error_kind is K.PRICE_TICK
    with pytest.raises(ValidationError) as e:
        numbers.check_price(Decimal("1.2345"), 4)  # 4 decimals where 2 are allowed
    assert e.value.error_kind is K.PRICE_TICK
    with pytest.raises(ValidationError) as e:
        numbers.check_size(Decimal("0.000001"), 5)
    assert e.value.error_kind is K.SIZE_LOT


def test_instrument_rules_have_the_venue_kinds():
    inst = Instrument(venue="devnet", symbol="ETH", underlying="ETH", asset_id=1, lot_size=Decimal("0.0001"),
                      max_leverage=25, price_sig_figs=5, price_max_decimals=2, min_notional=Decimal(10))
    cases = [(Decimal("2000"), Decimal("0.00001"), K.SIZE_LOT), (Decimal("2000.123"), Decimal("1"), K.PRICE_TICK),
             (Decimal("2000"), Decimal("0.001"), K.MIN_NOTIONAL)]
    for price, size, kind in cases:
        with pytest.raises(ValidationError) as e:
            inst.validate_order(price, size)
        assert e.value.error_kind is kind, (price, size, e.value.rule)


@pytest.mark.parametrize(("rule", "kind"), [
    ("min-notional", K.MIN_NOTIONAL), ("min_notional", K.MIN_NOTIONAL), ("max-leverage", K.MAX_LEVERAGE),
    ("only-isolated", K.MARGIN_MODE), ("price-band", K.PRICE_BAND), ("order-not-found", K.ORDER_NOT_FOUND),
    ("unknown-market", K.UNKNOWN_MARKET), ("market-closed", K.MARKET_CLOSED),
    ("cloid", None), ("size-positive", None), ("", None),
])
def test_rule_kinds(rule, kind):
    assert rule_kind(rule) is kind
    assert ValidationError("x", rule=rule).error_kind is kind


def test_error_tree_kinds():
    assert AuthError("x").error_kind is K.AUTH
    assert RateLimited("x").error_kind is K.RATE_LIMITED
    assert VenueRejected("x").error_kind is K.OTHER
    assert VenueRejected("x", kind=K.INVALID_REQUEST).error_kind is K.INVALID_REQUEST
    assert UsageError("x").error_kind is None and RiskRefused("x").error_kind is None
