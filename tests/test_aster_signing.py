"""Aster v3 request signing: every shared vector byte for byte, and ccxt's `aster` signer as an oracle.

The vectors (tests/vectors/aster_vectors.json) carry the docs' parameter order with
checksummed addresses; the ccxt cross-check file carries ccxt's order (nonce, user, signer
first, lowercase addresses). The server verifies the signature over the string it receives, so
the property that matters is: given the same string, the same signature.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpcli.domain.errors import ValidationError
from perpcli.keys.signer import Signer
from perpcli.venues.aster import signing as S

VECTORS = json.loads((Path(__file__).parent / "vectors" / "aster_vectors.json").read_text())
CROSS = json.loads((Path(__file__).parent / "vectors" / "aster_ccxt_crosscheck.json").read_text())
DEMO = VECTORS["demo"]
DEMO_SIGNER = Signer.from_hex(DEMO["signer_private_key"])
V3 = VECTORS["v3_eip712"]["vectors"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _business(vector: dict) -> list[tuple[str, str]]:
    return [(k, v) for k, v in vector["params_in_order"] if k not in ("nonce", "user", "signer")]


def _param(vector: dict, name: str) -> str:
    return dict(vector["params_in_order"])[name]


# --- the shared vectors ------------------------------------------------------------------------


def test_demo_key_is_the_demo_signer():
    assert DEMO_SIGNER.address == DEMO["signer"].lower()
    assert S.checksum_address(DEMO_SIGNER.address) == DEMO["signer"]


@pytest.mark.parametrize("vector", V3, ids=[v["name"] for v in V3])
def test_v3_vector_intermediates_byte_for_byte(vector):
    cid = vector["chain_id"]
    assert S.query_string(vector["params_in_order"]) == vector["msg"]
    assert "0x" + S.domain_separator(cid).hex() == vector["domain_separator"]
    assert "0x" + S.message_struct_hash(vector["msg"]).hex() == vector["message_struct_hash"]
    assert "0x" + S.message_digest(vector["msg"], cid).hex() == vector["eip712_digest"]
    assert S.signature_hex(S.sign_message(DEMO_SIGNER, vector["msg"], chain_id=cid)) == vector["signature"]


@pytest.mark.parametrize("vector", V3, ids=[v["name"] for v in V3])
def test_v3_vector_signed_query_is_the_wire_string(vector):
    signed = S.signed_query(
        DEMO_SIGNER,
        _business(vector),
        nonce=int(_param(vector, "nonce")),
        user=_param(vector, "user"),
        signer_address=_param(vector, "signer"),
        chain_id=vector["chain_id"],
    )
    assert signed.msg == vector["msg"]
    assert signed.signature == vector["signature"]
    assert signed.wire == vector["wire"]
    assert S.recover_signer(signed.msg, signed.signature, chain_id=vector["chain_id"]) == DEMO_SIGNER.address


def test_batch_cancel_list_is_compact_json_url_encoded():
    vector = next(v for v in V3 if v["name"] == "batch_cancel_client_ids")
    ids = json.loads(_param(vector, "origClientOrderIdList"))
    params = [("symbol", "BTCUSDT"), ("origClientOrderIdList", ids)]  # a list, encoded by the signer
    signed = S.signed_query(DEMO_SIGNER, params, nonce=int(_param(vector, "nonce")), user=DEMO["user"],
                            signer_address=DEMO["signer"], chain_id=S.MAINNET_CHAIN_ID)
    assert signed.wire == vector["wire"]


def test_network_picks_the_chain_and_the_chains_differ():
    main = next(v for v in V3 if v["name"] == "place_limit_order_mainnet")
    test = next(v for v in V3 if v["name"] == "place_limit_order_testnet")
    assert S.chain_id(is_mainnet=True) == main["chain_id"] == 1666
    assert S.chain_id(is_mainnet=False) == test["chain_id"] == 714
    assert main["msg"] == test["msg"] and main["signature"] != test["signature"]
    with pytest.raises(TypeError):
        S.chain_id(is_mainnet="mainnet")  # type: ignore[arg-type]


def test_register_and_approve_agent_vector():
    vector = VECTORS["register_and_approve_agent"]
    fields = dict(pair.split("=", 1) for pair in vector["msg"].split("&"))
    built = S.agent_approval_params(
        user=fields["user"], nonce=int(fields["nonce"]), agent_name=fields["agentName"],
        agent_address=fields["agentAddress"], expired_ms=int(fields["expired"]),
        can_spot_trade=False, can_perp_trade=True, can_withdraw=False, ip_whitelist="",
    )
    assert S.agent_approval_message(built) == vector["msg"]
    assert vector["chain_id"] == S.AGENT_APPROVAL_CHAIN_ID
    assert S.sign_agent_approval(DEMO_SIGNER, built) == vector["signature"]


def test_agent_with_withdraw_rights_needs_an_ip_allow_list():
    with pytest.raises(ValidationError):
        S.agent_approval_params(user=DEMO["user"], nonce=1, agent_name="x", agent_address=DEMO["signer"],
                                expired_ms=1, can_withdraw=True)


@pytest.mark.parametrize("case", CROSS["cases"], ids=[f"{c['method']} {c['path']}" for c in CROSS["cases"]])
def test_ccxt_crosscheck_cases(case):
    signer = Signer.from_hex(CROSS["key"])
    assert signer.address == CROSS["address"].lower()
    # our encoder writes ccxt's string from the same parameters in ccxt's order
    head = [("nonce", CROSS["nonce_us"]), ("user", signer.address), ("signer", signer.address)]
    assert S.query_string(head + list(case["params"].items())) == case["msg_signed"]
    ours = S.signature_hex(S.sign_message(signer, case["msg_signed"], chain_id=CROSS["chain_id"]))
    assert ours == case["eth_account_signature"]
    assert ours == case["ccxt_signature"].lower()  # ccxt prints v as 1B/1C


# --- value encoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.50", "0.50"),  # strings are sent as written
        (Decimal("0.50"), "0.5"),
        (Decimal("20"), "20"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.00000001"), "0.00000001"),
        (Decimal("-0"), "0"),
        (True, "true"),
        (False, "false"),
        (123456789012345678, "123456789012345678"),
        (["a", "b"], '["a","b"]'),
        ([{"p": Decimal("1.10"), "q": "2"}], '[{"p":"1.1","q":"2"}]'),
    ],
)
def test_encode_value(value, text):
    assert S.encode_value(value) == text


def test_money_as_float_is_refused():
    with pytest.raises(ValidationError) as e:
        S.query_string({"price": 0.1})
    assert e.value.rule == "no-float"
    with pytest.raises(ValidationError):
        S.encode_value(Decimal("NaN"))


@pytest.mark.parametrize("name", ["nonce", "user", "signer", "signature"])
def test_signer_owned_params_cannot_be_passed(name):
    with pytest.raises(ValidationError) as e:
        S.signed_query(DEMO_SIGNER, {"symbol": "BTCUSDT", name: "1"}, nonce=1, user=DEMO["user"],
                       signer_address=DEMO["signer"], chain_id=S.MAINNET_CHAIN_ID)
    assert e.value.rule == "reserved-param"


@pytest.mark.parametrize("nonce", [0, -1, 1.5, "1", True])
def test_nonce_must_be_a_positive_int(nonce):
    with pytest.raises(ValidationError):
        S.signed_query(DEMO_SIGNER, {}, nonce=nonce, user=DEMO["user"], signer_address=DEMO["signer"],
                       chain_id=S.MAINNET_CHAIN_ID)


def test_signature_hex_round_trip_and_v_forms():
    sig = S.sign_message(DEMO_SIGNER, "a=1", chain_id=S.TESTNET_CHAIN_ID)
    text = S.signature_hex(sig)
    assert len(text) == 132 and text == text.lower()
    assert S.parse_signature_hex(text) == (sig.r, sig.s, sig.v)
    assert S.parse_signature_hex(text.upper().replace("0X", "0x")) == (sig.r, sig.s, sig.v)
    assert S.recover_signer("a=1", text[2:], chain_id=S.TESTNET_CHAIN_ID) == DEMO_SIGNER.address
    assert S.recover_signer("a=2", text, chain_id=S.TESTNET_CHAIN_ID) != DEMO_SIGNER.address
    with pytest.raises(ValueError):
        S.parse_signature_hex("0x1234")


# --- properties against independent implementations --------------------------------------------

keys = st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b, "big") < 2**256 - 2**129)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
param_names = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12).filter(
    lambda k: k not in S.RESERVED_PARAMS
)
param_values = st.one_of(
    st.text(max_size=24),
    st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-(10**9), max_value=10**9),
    st.integers(-(10**18), 10**18),
    st.booleans(),
    st.lists(st.text("abc123-_.", min_size=1, max_size=8), max_size=4),
)
params = st.dictionaries(param_names, param_values, max_size=8)


@given(addr=addresses)
def test_checksum_address_matches_eth_utils(addr):
    from eth_utils import to_checksum_address  # test-only cross-check

    assert S.checksum_address(addr) == to_checksum_address(addr)
    assert S.checksum_address(addr.upper().replace("0X", "0x")) == to_checksum_address(addr)


@SETTINGS
@given(key=keys, params=params, nonce=st.integers(1, 2**63), user=addresses, mainnet=st.booleans())
def test_signed_query_recovers_with_eth_account(key, params, nonce, user, mainnet):
    """eth-account's generic typed-data encoder, fed the string we send, recovers our signer."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signer = Signer(key)
    cid = S.chain_id(is_mainnet=mainnet)
    signed = S.signed_query(signer, params, nonce=nonce, user=user, signer_address=signer.address, chain_id=cid)
    assert signed.wire.endswith("&signature=" + signed.signature)
    assert signed.wire.count("&signature=") == 1 + signed.msg.count("&signature=")
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Message": [{"name": "msg", "type": "string"}],
        },
        "primaryType": "Message",
        "domain": {"name": "AsterSignTransaction", "version": "1", "chainId": cid,
                   "verifyingContract": "0x0000000000000000000000000000000000000000"},
        "message": {"msg": signed.msg},
    }
    recovered = Account.recover_message(encode_typed_data(full_message=typed), signature=signed.signature)
    assert recovered.lower() == signer.address


ccxt = pytest.importorskip("ccxt")  # test-only oracle; perpcli never imports it

_PATHS = [("POST", "v3/order"), ("DELETE", "v3/order"), ("GET", "v3/openOrders"), ("POST", "v3/leverage"),
          ("DELETE", "v3/batchOrders"), ("PUT", "v3/order"), ("GET", "v3/positionRisk")]
_exchanges: dict[bytes, object] = {}


def _ccxt_exchange(key: bytes, mainnet: bool):
    ex = _exchanges.get(key + bytes([mainnet]))
    if ex is None:
        ex = ccxt.aster({"privateKey": "0x" + key.hex(), "options": {"v3ChainId": S.chain_id(is_mainnet=mainnet)}})
        _exchanges[key + bytes([mainnet])] = ex
    return ex


def _ccxt_msg_and_signature(answer: dict) -> tuple[str, str]:
    wire = answer["body"] if answer["method"] != "GET" else answer["url"].split("?", 1)[1]
    msg, _, signature = wire.rpartition("&signature=")
    return msg, signature


@SETTINGS
@given(key=keys, params=params, ms=st.integers(1_000_000_000_000, 4_000_000_000_000), route=st.sampled_from(_PATHS),
       mainnet=st.booleans())
def test_same_string_same_signature_as_ccxt(key, params, ms, route, mainnet):
    """ccxt builds and signs its own string (nonce/user/signer first); ours over it is identical."""
    ex = _ccxt_exchange(key, mainnet)
    ex.milliseconds = lambda: ms
    method, path = route
    answer = ex.sign(path, ["fapiPrivate"], method, dict(params))
    msg, theirs = _ccxt_msg_and_signature(answer)
    signer = Signer(key)
    assert f"nonce={ms * 1000}&user={signer.address}&signer={signer.address}" in msg
    ours = S.signature_hex(S.sign_message(signer, msg, chain_id=S.chain_id(is_mainnet=mainnet)))
    assert ours == theirs.lower()


@SETTINGS
@given(key=keys, msg=st.text(max_size=300), mainnet=st.booleans())
def test_any_string_same_signature_as_ccxt_typed_data_path(key, msg, mainnet):
    """Arbitrary text (unicode included) through ccxt's own EIP-712 encoder and signer."""
    ex = _ccxt_exchange(key, mainnet)
    cid = S.chain_id(is_mainnet=mainnet)
    domain = {"name": "AsterSignTransaction", "version": "1", "chainId": cid,
              "verifyingContract": "0x0000000000000000000000000000000000000000"}
    encoded = ex.eth_encode_structured_data(domain, {"Message": [{"name": "msg", "type": "string"}]}, {"msg": msg})
    theirs = ex.sign_message(encoded, "0x" + key.hex())
    ours = S.signature_hex(S.sign_message(Signer(key), msg, chain_id=cid))
    assert ours == theirs.lower()


@given(st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=6))
def test_query_string_is_urlencode_for_text(pairs):
    """The fast path for plain text must agree with the docs' demos' urllib.parse.urlencode."""
    from urllib.parse import urlencode

    assert S.query_string(pairs) == urlencode(pairs)
