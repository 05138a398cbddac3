"""Hyperliquid signing against the shared vectors, byte for byte, plus builders and verification."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from perpcli.domain.errors import AuthError, ValidationError
from perpcli.keys.hashing import keccak256
from perpcli.keys.signer import Signer, recover_address
from perpcli.venues.hyperliquid import actions as A
from perpcli.venues.hyperliquid import signing as S
from perpcli.venues.hyperliquid import verify as V

VECTORS_FILE = Path(__file__).resolve().parent / "vectors" / "hyperliquid_signing.json"
DATA = json.loads(VECTORS_FILE.read_text())
VECTORS = DATA["vectors"]
BY_ID = {v["id"]: v for v in VECTORS}
TYPE_OF_PRIMARY = {u.primary_type: t for t, u in A.USER_SIGNED_TYPES.items()}


def _h(b: bytes) -> str:
    return "0x" + b.hex()


def _sig_ints(sig: dict) -> tuple[int, int, int]:
    return int(sig["r"], 16), int(sig["s"], 16), sig["v"]


def _user_input(vec: dict) -> tuple[dict, str]:
    """The action a caller builds (SDK quirk: an unnamed approveAgent posts without agentName)."""
    action = dict(vec["inputs"]["action_before_signing"])
    if action.get("type") == "approveAgent" and action.get("agentName") == "":
        del action["agentName"]
    return action, TYPE_OF_PRIMARY[vec["inputs"]["primary_type"]]


def test_vector_file_has_all_95():
    assert len(VECTORS) == 95
    assert len(BY_ID) == 95


@pytest.mark.parametrize("vec", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_reproduces_byte_for_byte(vec):
    i, o = vec["inputs"], vec["outputs"]
    signer = Signer.from_hex(i["private_key"])
    assert signer.address == o["signer_address_lower"]
    if vec["scheme"] == "l1":
        args = (i["action"], i["nonce"], i["vault_address"], i["expires_after"])
        preimage = S.l1_hash_preimage(*args)
        assert _h(preimage) == o["hash_preimage_hex"]
        assert preimage.startswith(bytes.fromhex(o["msgpack_hex"][2:]))
        assert len(preimage) > len(bytes.fromhex(o["msgpack_hex"][2:]))
        cid = S.connection_id(*args)
        assert _h(cid) == o["connection_id"]
        assert _h(S.agent_struct_hash(cid, is_mainnet=i["is_mainnet"])) == o["eip712_struct_hash"]
        assert _h(S.AGENT_DOMAIN_SEPARATOR) == o["eip712_domain_separator"]
        digest = S.l1_digest(
            i["action"],
            nonce=i["nonce"],
            vault_address=i["vault_address"],
            expires_after=i["expires_after"],
            is_mainnet=i["is_mainnet"],
        )
        sig = S.sign_l1_action(
            signer,
            i["action"],
            nonce=i["nonce"],
            vault_address=i["vault_address"],
            expires_after=i["expires_after"],
            is_mainnet=i["is_mainnet"],
        )
        body = S.exchange_request_body(
            i["action"], nonce=i["nonce"], signature=sig, vault_address=i["vault_address"],
            expires_after=i["expires_after"],
        )
    else:
        action, action_type = _user_input(vec)
        ust = A.USER_SIGNED_TYPES[action_type]
        assert ust.type_string == o["eip712_type_string"]
        assert [{"name": n, "type": t} for n, t in ust.fields] == i["types"]
        prepared, sig = S.sign_user_signed_action(
            signer, action, is_mainnet=i["is_mainnet"], action_type=action_type,
            signature_chain_id=o["action_after_signing_fields_added"]["signatureChainId"],
        )
        assert _h(S.user_signed_domain_separator(o["eip712_domain"]["chainId"])) == o["eip712_domain_separator"]
        assert _h(S.user_signed_struct_hash(prepared, action_type)) == o["eip712_struct_hash"]
        digest = S.user_signed_digest(prepared, action_type)
        body = S.exchange_request_body(prepared, nonce=S.user_signed_nonce(prepared, action_type), signature=sig)
    assert _h(digest) == o["eip712_digest"]
    assert (sig.r, sig.s, sig.v) == _sig_ints(o["signature_padded"])
    assert (sig.r, sig.s, sig.v) == _sig_ints(o["signature_sdk_format"])
    assert recover_address(digest, sig.r, sig.s, sig.v) == o["signer_address_lower"]
    # The whole body, key order included, is what the SDK posts.
    assert json.dumps(body) == json.dumps(vec["request_body_as_sdk_posts"])


# Rust-SDK vectors keep "2000.0": valid hashing vectors, but the venue canonicalises first.
NON_CANONICAL = {v["id"] for v in VECTORS if "notes" in v and "2000.0" in json.dumps(v["inputs"].get("action", {}))}


@pytest.mark.parametrize("vec", VECTORS, ids=[v["id"] for v in VECTORS])
def test_venue_side_recovery(vec):
    body = vec["request_body_as_sdk_posts"]
    expected = vec["outputs"]["signer_address_lower"]
    is_mainnet = vec["inputs"]["is_mainnet"]
    if vec["scheme"] == "user_signed":
        _, action_type = _user_input(vec)
        got = V.recover_user_signed_signer(
            body["action"], body["signature"], is_mainnet=is_mainnet, nonce=body["nonce"], action_type=action_type
        )
        assert got == expected
        if "type" in body["action"]:
            assert V.recover_exchange_signer(body, is_mainnet=is_mainnet) == expected
        return
    got = V.recover_exchange_signer(body, is_mainnet=is_mainnet)
    if vec["id"] in NON_CANONICAL:
        # The venue hashes "2000", so this signature belongs to nobody in particular.
        assert got != expected
        with pytest.raises(ValidationError) as e:
            V.canonicalize_l1_action(body["action"], strict=True)
        assert e.value.rule == "canonical-action" and "2000.0" in str(e.value)
    else:
        assert got == expected
        assert V.canonicalize_l1_action(body["action"], strict=True) == body["action"]
    assert V.recover_exchange_signer(body, is_mainnet=not is_mainnet) != expected


def test_non_canonical_vectors_were_found():
    assert len(NON_CANONICAL) == 8


def test_constants_match_the_protocol_notes():
    assert _h(S.EIP712_DOMAIN_TYPEHASH) == "0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f"
    assert _h(S.AGENT_DOMAIN_SEPARATOR) == "0xd79297fcdf2ffcd4ae223d01edaa2ba214ff8f401d7c9300d995d17c82aa4040"
    assert _h(S.AGENT_TYPEHASH) == "0x26f05c2f7239b6983075e58321292d77b3aa173d19b27257ac96ab362570f508"
    assert _h(S.user_signed_domain_separator(421614)) == (
        "0xfeb1393ca4412a4ca577bd51d04f0a77033514c602f4d0a11490fb95f7428df6"
    )
    assert _h(S.user_signed_domain_separator(42161)) == (
        "0x2f54e643b38c9c2b65cb731aaf11c54f01705ee0cdf45aea16e2ac0a5ce7531a"
    )
    assert _h(S.TYPE_HASHES["usdSend"]).startswith("0xc7410964")
    assert _h(S.TYPE_HASHES["withdraw3"]).startswith("0xdbde952f")
    assert _h(S.TYPE_HASHES["usdClassTransfer"]).startswith("0x7a3eebb1")
    assert _h(S.TYPE_HASHES["approveAgent"]).startswith("0x4464abf6")
    assert _h(S.TYPE_HASHES["approveBuilderFee"]).startswith("0x461684ea")
    assert _h(S.TYPE_HASHES["spotSend"]).startswith("0xd6d9472f")
    assert _h(S.TYPE_HASHES["sendAsset"]).startswith("0x5f7cf397")


def test_msgpack_worked_examples():
    pre = S.l1_hash_preimage({"type": "scheduleCancel"}, 0)
    assert pre.hex() == "81a474797065ae7363686564756c6543616e63656c" + "00" * 8 + "00"
    ntli = S.l1_hash_preimage({"ntli": -1000000}, 0)
    assert "d2fff0bdc0" in ntli.hex()
    oid = S.l1_hash_preimage({"o": 287286372177}, 0)
    assert "cf00000042e39a2751" in oid.hex()
    # Cloids (34 chars) use str8 (0xd9), not str16.
    assert "d922" in S.l1_hash_preimage({"c": "0x" + "0" * 32}, 0).hex()


def test_floats_and_bad_envelopes_are_refused():
    signer = Signer.from_hex(DATA["keys"]["dev_user"]["private_key"])
    with pytest.raises(ValidationError):
        S.sign_l1_action(signer, {"type": "x", "p": Decimal("1")}, nonce=1, is_mainnet=True)
    with pytest.raises(ValidationError):
        S.sign_l1_action(signer, {"type": "noop"}, nonce=-1, is_mainnet=True)
    with pytest.raises(ValidationError):
        S.sign_l1_action(signer, {"type": "noop"}, nonce=1, vault_address="0x1234", is_mainnet=True)
    with pytest.raises(ValidationError):  # 42 chars, but whitespace inside
        S.sign_l1_action(signer, {"type": "noop"}, nonce=1, vault_address="0x" + "ab " * 13 + "a", is_mainnet=True)
    with pytest.raises(ValidationError):
        S.sign_l1_action(signer, {"type": "noop"}, nonce=1, expires_after=2**64, is_mainnet=True)
    with pytest.raises(TypeError):
        S.sign_l1_action(signer, {"type": "noop"}, nonce=1, is_mainnet="yes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        S.exchange_request_body({"type": "usdSend"}, nonce=1, signature=S.sign_l1_action(
            signer, {"type": "noop"}, nonce=1, is_mainnet=True), expires_after=5)


def test_user_signed_network_mismatch_and_defaults():
    action = A.usd_send_action(DATA["keys"]["destination_address"], Decimal("1"), time_ms=5)
    prepared = S.prepare_user_signed_action(action, is_mainnet=False)
    assert list(prepared)[-2:] == ["signatureChainId", "hyperliquidChain"]
    assert prepared["signatureChainId"] == "0x66eee" and prepared["hyperliquidChain"] == "Testnet"
    with pytest.raises(ValidationError) as e:
        S.prepare_user_signed_action(prepared, is_mainnet=True)
    assert e.value.rule == "hyperliquid-chain"
    for bad in ("66eee", "0x", "0x_1", "0x-5", 421614):
        with pytest.raises(ValidationError):
            S.prepare_user_signed_action({**action, "signatureChainId": bad}, is_mainnet=True)
    with pytest.raises(ValidationError):
        S.user_signed_digest(action)  # not prepared


# --- builders reproduce the vectors' actions, key order included ----------------------------------

DEST = DATA["keys"]["destination_address"]
SUB = DATA["keys"]["vault_or_sub_address"]
BUILDER = DATA["keys"]["builder_address"]
AGENT = DATA["keys"]["dev_agent"]["address"]
D = Decimal


def _limit(asset, is_buy, px, sz, tif="Gtc", **kw):
    return A.OrderSpec(asset, is_buy, D(px), D(sz), A.Limit(tif), **kw)


def _trigger(asset, is_buy, px, sz, tpx, is_market, tpsl, **kw):
    return A.OrderSpec(asset, is_buy, D(px), D(sz), A.Trigger(D(tpx), is_market, tpsl), **kw)


BUILT = {
    "gen.order_limit_gtc.mainnet": lambda: A.order_action([_limit(0, True, "65000", "0.001")]),
    "gen.order_limit_ioc_cloid.mainnet": lambda: A.order_action(
        [_limit(1, False, "3412.50", "0.250", "Ioc", cloid="0x00000000000000000000000000ABCDEF")]
    ),
    "gen.order_limit_alo_reduce_only.testnet": lambda: A.order_action(
        [_limit(5, True, "142.37", "1.5", "Alo", reduce_only=True)]
    ),
    "gen.order_spot.mainnet": lambda: A.order_action([_limit(A.spot_asset_id(107), True, "38.123", "2.5")]),
    "gen.order_hip3.mainnet": lambda: A.order_action([_limit(A.hip3_asset_id(1, 0), True, "25372", "0.0353")]),
    "gen.order_trigger_sl_market.mainnet": lambda: A.order_action(
        [_trigger(1, False, "3000", "0.1", "3100.5", True, "sl", reduce_only=True)]
    ),
    "gen.order_trigger_tp_limit.testnet": lambda: A.order_action(
        [_trigger(1, False, "4100", "0.1", "4000", False, "tp", reduce_only=True)]
    ),
    "gen.order_batch3.mainnet": lambda: A.order_action(
        [_limit(0, True, p, "0.01") for p in ("60000", "60010", "60020")]
    ),
    "gen.order_normal_tpsl.mainnet": lambda: A.order_action(
        [
            _limit(1, True, "3500", "0.2"),
            _trigger(1, False, "3700", "0.2", "3700", True, "tp", reduce_only=True),
            _trigger(1, False, "3300", "0.2", "3300", True, "sl", reduce_only=True),
        ],
        grouping="normalTpsl",
    ),
    "gen.order_position_tpsl.testnet": lambda: A.order_action(
        [
            _trigger(1, False, "3700", "0.2", "3700", True, "tp", reduce_only=True),
            _trigger(1, False, "3300", "0.2", "3300", True, "sl", reduce_only=True),
        ],
        grouping="positionTpsl",
    ),
    "gen.order_with_builder.mainnet": lambda: A.order_action(
        [_limit(0, True, "64000", "0.001", "Ioc")], builder=A.BuilderFee(BUILDER, 10)
    ),
    "gen.order_small_price.mainnet": lambda: A.order_action([_limit(7, True, "0.00012345", "12345")]),
    "gen.order_integer_price.mainnet": lambda: A.order_action([_limit(2, True, "123456", "1")]),
    "gen.cancel_batch.testnet": lambda: A.cancel_action([(1, 77738308), (10107, 287286372177)]),
    "gen.cancel_by_cloid.mainnet": lambda: A.cancel_by_cloid_action([(1, "0x00000000000000000000000000abcdef")]),
    "gen.modify_single.mainnet": lambda: A.modify_action(77738308, _limit(1, True, "3390.5", "0.3")),
    "gen.modify_by_cloid.testnet": lambda: A.modify_action(
        "0x00000000000000000000000000000055",
        _limit(1, True, "3391", "0.3", "Alo", cloid="0x00000000000000000000000000000055"),
    ),
    "gen.batch_modify.mainnet": lambda: A.batch_modify_action(
        [
            (1001, _limit(0, True, "60010", "0.01")),
            ("0x00000000000000000000000000000066",
             _limit(0, False, "61000", "0.02", cloid="0x00000000000000000000000000000066")),
        ]
    ),
    "gen.update_leverage_cross.mainnet": lambda: A.update_leverage_action(0, 10, is_cross=True),
    "gen.update_leverage_isolated.testnet": lambda: A.update_leverage_action(1, 3, is_cross=False),
    "gen.update_isolated_margin_add.mainnet": lambda: A.update_isolated_margin_action(1, D("12.5")),
    "gen.update_isolated_margin_remove.mainnet": lambda: A.update_isolated_margin_action(1, D("-1")),
    "gen.schedule_cancel_set.mainnet": lambda: A.schedule_cancel_action(1760000060000),
    "gen.schedule_cancel_clear.testnet": lambda: A.schedule_cancel_action(None),
    "gen.twap_order.mainnet": lambda: A.twap_order_action(
        1, is_buy=True, size=D("2.5"), reduce_only=False, minutes=30, randomize=True
    ),
    "gen.twap_cancel.testnet": lambda: A.twap_cancel_action(1, 3156),
    "gen.noop.mainnet": A.noop_action,
    "gen.usd_send.mainnet": lambda: A.usd_send_action(DEST, D("12.50"), time_ms=1760000000595),
    "gen.withdraw3.mainnet": lambda: A.withdraw3_action(DEST, D("5"), time_ms=1760000000646),
    "gen.spot_send.mainnet": lambda: A.spot_send_action(
        DEST, "PURR:0xc1fb593aeffbeb02f85e0308e9956a90", D("10"), time_ms=1760000000765
    ),
    "gen.usd_class_transfer_to_perp.mainnet": lambda: A.usd_class_transfer_action(
        D("100"), to_perp=True, nonce=1760000000663
    ),
    "gen.usd_class_transfer_subaccount.mainnet": lambda: A.usd_class_transfer_action(
        D("2.5"), to_perp=True, nonce=1760000000697, sub_account=SUB
    ),
    "gen.approve_agent_unnamed.testnet": lambda: A.approve_agent_action(AGENT, nonce=1760000000731),
    "gen.approve_agent_valid_until.mainnet": lambda: A.approve_agent_action(
        AGENT, agent_name="bot valid_until 1762592000000", nonce=1760000000748
    ),
    "gen.approve_builder_fee.testnet": lambda: A.approve_builder_fee_action(BUILDER, D("0.01"), nonce=1760000000782),
    "gen.send_asset.mainnet": lambda: A.send_asset_action(
        DEST, source_dex="", destination_dex="spot", token="USDC:0x6d1e7cde53ba9467b783cb7c530ce054",
        amount=D("1.5"), nonce=1760000000799,
    ),
}


@pytest.mark.parametrize("vid", sorted(BUILT), ids=sorted(BUILT))
def test_builders_reproduce_vector_actions(vid):
    vec = BY_ID[vid]
    built = BUILT[vid]()
    i = vec["inputs"]
    if vec["scheme"] == "l1":
        assert json.dumps(built) == json.dumps(i["action"])
        assert A.scheme_of(built["type"]) == "l1"
        sig = S.sign_l1_action(Signer.from_hex(i["private_key"]), built, nonce=i["nonce"],
                               vault_address=i["vault_address"], expires_after=i["expires_after"],
                               is_mainnet=i["is_mainnet"])
    else:
        posted = dict(vec["request_body_as_sdk_posts"]["action"])
        posted.pop("signatureChainId")
        posted.pop("hyperliquidChain")
        if "agentAddress" in posted:
            posted["agentAddress"] = posted["agentAddress"].lower()  # address type: case is not hashed
        assert json.dumps(built) == json.dumps(posted)
        assert A.scheme_of(built["type"]) == "user_signed"
        _, sig = S.sign_user_signed_action(Signer.from_hex(i["private_key"]), built, is_mainnet=i["is_mainnet"])
    assert (sig.r, sig.s, sig.v) == _sig_ints(vec["outputs"]["signature_padded"])


def test_asset_ids():
    assert A.hip3_asset_id(1, 0) == 110000
    assert A.hip3_asset_id(1, 7) == 110007
    assert A.hip3_asset_id(2, 3) == 120003
    assert A.hip3_asset_id(0, 5) == 5
    assert A.spot_asset_id(0) == 10000
    assert A.is_spot_asset(10107) and not A.is_spot_asset(110000) and not A.is_spot_asset(3)
    with pytest.raises(ValidationError):
        A.hip3_asset_id(1, 10000)
    with pytest.raises(ValidationError):
        A.hip3_asset_id(-1, 0)


def test_scheme_table():
    assert not (A.L1_ACTION_TYPES & set(A.USER_SIGNED_TYPES))
    assert set(A.ACTION_SCHEMES) == A.L1_ACTION_TYPES | set(A.USER_SIGNED_TYPES)
    assert {t for t, s in A.ACTION_SCHEMES.items() if s == "user_signed"} == {
        "usdSend", "spotSend", "withdraw3", "usdClassTransfer", "sendAsset", "approveAgent", "approveBuilderFee",
        "tokenDelegate", "cDeposit", "cWithdraw", "userSetAbstraction", "userDexAbstraction", "convertToMultiSigUser",
    }
    assert A.scheme_of("order") == "l1"
    assert A.scheme_of("usdClassTransfer") == "user_signed"
    assert A.scheme_of("vaultTransfer") == "l1"  # python-sdk#55: signing it user-signed gives 422
    with pytest.raises(ValidationError) as e:
        A.scheme_of("teleport")
    assert e.value.rule == "action-type"


@pytest.mark.parametrize(
    "make, rule",
    [
        (lambda: A.order_action([_limit(0, True, "1", "1", cloid="0x1234")]), "cloid"),
        (lambda: A.order_action([_limit(0, True, "1", "1", cloid="0x" + "g" * 32)]), "cloid"),
        (lambda: A.order_action([_limit(0, True, "1", "1", "Fok")]), "tif"),
        (lambda: A.order_action([]), "order-empty"),
        (lambda: A.order_action([_limit(0, True, "1", "1")], grouping="all"), "grouping"),
        (lambda: A.order_action([_limit(0, True, "1.123456789", "1")]), "wire-max-8-decimals"),
        (lambda: A.order_action([A.OrderSpec(0, True, 1.5, D(1))]), "number-type"),  # type: ignore[arg-type]
        (lambda: A.usd_send_action("0xabc", D(1), time_ms=1), "address"),
        (lambda: A.usd_send_action(DEST, D(0), time_ms=1), "amount-positive"),
        (lambda: A.update_leverage_action(0, 0, is_cross=True), "leverage"),
        (lambda: A.update_isolated_margin_action(0, D("0.0000001")), "usd-max-6-decimals"),
        (lambda: A.cancel_action([(0, -1)]), "integer"),
        (lambda: A.order_action([_limit(0, True, "1", "1")], builder=A.BuilderFee("0x12", 1)), "address"),
    ],
)
def test_builders_refuse_bad_input(make, rule):
    with pytest.raises(ValidationError) as e:
        make()
    assert e.value.rule == rule


def test_optional_flags_only_when_true():
    assert "f" not in A.cancel_action([(0, 1)])
    assert A.cancel_action([(0, 1)], fast=True)["f"] is True
    assert list(A.modify_action(1, _limit(0, True, "1", "1"), always_place=True)) == ["type", "oid", "order", "a"]
    assert list(A.batch_modify_action([(1, _limit(0, True, "1", "1"))])) == ["type", "modifies"]
    assert list(A.cancel_by_cloid_action([(0, "0x" + "0" * 32)], fast=True)) == ["type", "cancels", "f"]


# --- verification ------------------------------------------------------------------------------


def _signed_order_body(price="3400", cloid="0x0000000000000000000000000000004d", **kw):
    key = DATA["keys"]["dev_user"]["private_key"]
    signer = Signer.from_hex(key)
    action = A.order_action([_limit(1, True, price, "0.2", cloid=cloid)])
    sig = S.sign_l1_action(signer, action, nonce=1760000000000, is_mainnet=False, **kw)
    return signer, S.exchange_request_body(action, nonce=1760000000000, signature=sig, **kw)


def test_canonicalisation_accepts_what_the_venue_would_rewrite():
    signer, body = _signed_order_body()
    messy = json.loads(json.dumps(body))
    messy["action"]["orders"][0]["p"] = "3400.000"
    messy["action"]["orders"][0]["c"] = messy["action"]["orders"][0]["c"].upper().replace("0X", "0x")
    messy["action"]["builder"] = None
    assert V.recover_exchange_signer(messy, is_mainnet=False) == signer.address
    with pytest.raises(ValidationError) as e:
        V.canonicalize_l1_action(messy["action"], strict=True)
    assert e.value.rule == "canonical-action"
    cancel = {"type": "cancel", "cancels": [{"a": 1, "o": 2}], "f": False}
    assert V.canonicalize_l1_action(cancel) == {"type": "cancel", "cancels": [{"a": 1, "o": 2}]}
    reordered = {"cancels": [{"a": 1, "o": 2}], "type": "cancel"}
    with pytest.raises(ValidationError, match="order"):
        V.canonicalize_l1_action(reordered, strict=True)


def test_tampering_changes_the_recovered_signer():
    signer, body = _signed_order_body(vault_address=SUB, expires_after=1760000060000)
    assert V.recover_exchange_signer(body, is_mainnet=False) == signer.address
    for mutate in (
        lambda b: b["action"]["orders"][0].__setitem__("p", "3401"),
        lambda b: b.__setitem__("nonce", b["nonce"] + 1),
        lambda b: b.__setitem__("vaultAddress", None),
        lambda b: b.__setitem__("expiresAfter", None),
    ):
        b = json.loads(json.dumps(body))
        mutate(b)
        assert V.recover_exchange_signer(b, is_mainnet=False) != signer.address
    assert V.recover_exchange_signer(body, is_mainnet=True) != signer.address


@pytest.mark.parametrize(
    "sig, exc",
    [
        ({"r": "0x1", "s": "0x1"}, ValidationError),
        ({"r": "0x1", "s": "0x1", "v": 29}, ValidationError),
        ({"r": "0x1", "s": "0x1", "v": True}, ValidationError),
        ({"r": "zz", "s": "0x1", "v": 27}, ValidationError),
        ({"r": "0x" + "1" * 65, "s": "0x1", "v": 27}, ValidationError),
        ({"r": "0x0", "s": "0x1", "v": 27}, AuthError),
        ({"r": "0x" + "f" * 64, "s": "0x1", "v": 27}, AuthError),
        ("0xdeadbeef", ValidationError),
    ],
)
def test_malformed_signatures(sig, exc):
    _, body = _signed_order_body()
    body["signature"] = sig
    with pytest.raises(exc):
        V.recover_exchange_signer(body, is_mainnet=False)


@pytest.mark.parametrize(
    "action, rule",
    [
        ([], "action-shape"),
        ({"orders": []}, "action-type"),
        ({"type": "order", "orders": [], "grouping": "na", "extra": 1}, "action-shape"),
        ({"type": "order", "orders": [{"a": 1}], "grouping": "na"}, "action-shape"),
        ({"type": "cancel", "cancels": [{"a": 1, "o": "x"}]}, "action-shape"),
        ({"type": "cancelByCloid", "cancels": [{"asset": 1, "cloid": "0x12"}]}, "cloid"),
        ({"type": "updateLeverage", "asset": 1, "isCross": 1, "leverage": 3}, "action-shape"),
        ({"type": "claimRewards", "x": 1.5}, "action-shape"),
        ({"type": "usdSend"}, "action-type"),
        ({"type": "subAccountTransfer", "subAccountUser": "nope", "isDeposit": True, "usd": 1}, "address"),
    ],
)
def test_canonicaliser_rejects_malformed_actions(action, rule):
    with pytest.raises(ValidationError) as e:
        V.canonicalize_l1_action(action)
    assert e.value.rule == rule


def test_user_signed_verification_checks_network_and_nonce():
    vec = BY_ID["gen.usd_send.testnet"]
    body = vec["request_body_as_sdk_posts"]
    signer = vec["outputs"]["signer_address_lower"]
    assert V.recover_user_signed_signer(body["action"], body["signature"]) == signer
    with pytest.raises(ValidationError) as e:
        V.recover_user_signed_signer(body["action"], body["signature"], is_mainnet=True)
    assert e.value.rule == "hyperliquid-chain"
    with pytest.raises(ValidationError) as e:
        V.recover_user_signed_signer(body["action"], body["signature"], nonce=body["nonce"] + 1)
    assert e.value.rule == "nonce"
    # A forged amount recovers someone else.
    forged = {**body["action"], "amount": "100"}
    assert V.recover_user_signed_signer(forged, body["signature"]) != signer
    with pytest.raises(ValidationError):
        V.recover_exchange_signer({**body, "expiresAfter": 5}, is_mainnet=False)


def test_check_order_prices_offline():
    V.check_order_prices(A.order_action([_limit(0, True, "123456", "1")]))
    with pytest.raises(ValidationError) as e:
        V.check_order_prices(A.order_action([_limit(0, True, "1234.56", "1")]))
    assert e.value.rule == "price-sig-figs" and e.value.nearest == D("1234.6")
    with pytest.raises(ValidationError) as e:
        V.check_order_prices(A.order_action([_limit(0, True, "0.0012345", "1")]))
    assert e.value.rule == "price-decimals"
    V.check_order_prices(A.order_action([_limit(10001, True, "0.00012345", "1")]))  # spot: 8 decimals
    with pytest.raises(ValidationError):
        V.check_order_prices(A.order_action([_trigger(0, True, "100", "1", "100.123456", True, "sl")]))


def test_keccak_is_keccak_not_sha3():
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
