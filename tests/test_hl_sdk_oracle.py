"""Property tests against the official hyperliquid-python-sdk (test-only oracle).

Random orders, cancels, modifies, leverage and margin updates and transfers, both networks,
with and without vaultAddress and expiresAfter: our builders must produce the SDK's action dicts
(key order included) and our signer the SDK's exact signatures. The SDK takes floats; inputs are
drawn as decimal strings the SDK's float path renders exactly, so both sides see one value.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sdk_signing = pytest.importorskip("hyperliquid.utils.signing")
from eth_account import Account  # noqa: E402  (test-only cross-check)
from hyperliquid.utils.types import Cloid  # noqa: E402

from perpcli.keys.signer import Signer  # noqa: E402
from perpcli.venues.hyperliquid import actions as A  # noqa: E402
from perpcli.venues.hyperliquid import signing as S  # noqa: E402
from perpcli.venues.hyperliquid import verify as V  # noqa: E402
from perpcli.venues.hyperliquid.numbers import to_wire  # noqa: E402

KEY = "0xad2f1ede9b99ab40518cb5f4f3bb05fbe32cde798501f3a01c88ed49d7d49a6b"
SIGNER = Signer.from_hex(KEY)
WALLET = Account.from_key(KEY)
D = Decimal

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sdk_sig(d: dict) -> tuple[int, int, int]:
    return int(d["r"], 16), int(d["s"], 16), d["v"]


def ours(sig) -> tuple[int, int, int]:
    return sig.r, sig.s, sig.v


# --- strategies ---------------------------------------------------------------------------------


@st.composite
def decimal_text(draw, *, max_places=6, max_int_digits=6, positive=True):
    """A canonical decimal string the SDK's float path renders identically."""
    places = draw(st.integers(0, max_places))
    units = draw(st.integers(1 if positive else -(10 ** (max_int_digits + places)), 10 ** (max_int_digits + places)))
    return to_wire(D(units).scaleb(-places))


addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
cloids = st.binary(min_size=16, max_size=16).map(lambda b: "0x" + b.hex())
assets = st.one_of(st.integers(0, 300), st.integers(10000, 10500), st.integers(110000, 130000))
nonces = st.integers(1, 2**63)
vaults = st.none() | addresses
expiries = st.none() | st.integers(1, 2**63)


@st.composite
def orders(draw):
    px = draw(decimal_text())
    sz = draw(decimal_text(max_places=5))
    if draw(st.booleans()):
        kind = A.Limit(draw(st.sampled_from(["Gtc", "Ioc", "Alo"])))
        sdk_type = {"limit": {"tif": kind.tif}}
    else:
        tpx = draw(decimal_text())
        kind = A.Trigger(D(tpx), draw(st.booleans()), draw(st.sampled_from(["tp", "sl"])))
        sdk_type = {"trigger": {"triggerPx": float(tpx), "isMarket": kind.is_market, "tpsl": kind.tpsl}}
    spec = A.OrderSpec(
        asset=draw(assets),
        is_buy=draw(st.booleans()),
        price=D(px),
        size=D(sz),
        kind=kind,
        reduce_only=draw(st.booleans()),
        cloid=draw(st.none() | cloids),
    )
    request = {
        "coin": "ignored",
        "is_buy": spec.is_buy,
        "sz": float(sz),
        "limit_px": float(px),
        "order_type": sdk_type,
        "reduce_only": spec.reduce_only,
    }
    if spec.cloid is not None:
        request["cloid"] = Cloid.from_str(spec.cloid)
    return spec, request


# --- L1 --------------------------------------------------------------------------------------------


@SETTINGS
@given(
    items=st.lists(orders(), min_size=1, max_size=3),
    grouping=st.sampled_from(["na", "normalTpsl", "positionTpsl"]),
    builder=st.none() | st.tuples(addresses, st.integers(0, 100)),
    nonce=nonces,
    vault=vaults,
    expires=expiries,
    is_mainnet=st.booleans(),
)
def test_orders_match_sdk(items, grouping, builder, nonce, vault, expires, is_mainnet):
    specs = [s for s, _ in items]
    ours_action = A.order_action(
        specs, grouping=grouping, builder=None if builder is None else A.BuilderFee(builder[0], builder[1])
    )
    wires = [sdk_signing.order_request_to_order_wire(r, s.asset) for s, r in items]
    sdk_builder = None if builder is None else {"b": builder[0].lower(), "f": builder[1]}
    sdk_action = sdk_signing.order_wires_to_order_action(wires, sdk_builder, grouping)
    assert json.dumps(ours_action) == json.dumps(sdk_action)
    assert json.dumps(V.canonicalize_l1_action(ours_action, strict=True)) == json.dumps(ours_action)
    sig = S.sign_l1_action(
        SIGNER, ours_action, nonce=nonce, vault_address=vault, expires_after=expires, is_mainnet=is_mainnet
    )
    expected = sdk_signing.sign_l1_action(WALLET, sdk_action, vault, nonce, expires, is_mainnet)
    assert ours(sig) == sdk_sig(expected)
    recovered = V.recover_l1_signer(ours_action, nonce, expected, vault, expires, is_mainnet)
    assert recovered == SIGNER.address
    assert recovered == sdk_signing.recover_agent_or_user_from_l1_action(
        sdk_action, expected, vault, nonce, expires, is_mainnet
    ).lower()


@SETTINGS
@given(
    by_cloid=st.booleans(),
    targets=st.lists(st.tuples(assets, st.integers(0, 2**64 - 1), cloids), min_size=1, max_size=4),
    nonce=nonces,
    vault=vaults,
    expires=expiries,
    is_mainnet=st.booleans(),
)
def test_cancels_match_sdk(by_cloid, targets, nonce, vault, expires, is_mainnet):
    if by_cloid:
        action = A.cancel_by_cloid_action([(a, c) for a, _, c in targets])
        sdk_action = {"type": "cancelByCloid", "cancels": [{"asset": a, "cloid": Cloid(c).to_raw()} for a, _, c in targets]}
    else:
        action = A.cancel_action([(a, o) for a, o, _ in targets])
        sdk_action = {"type": "cancel", "cancels": [{"a": a, "o": o} for a, o, _ in targets]}
    assert json.dumps(action) == json.dumps(sdk_action)
    assert json.dumps(V.canonicalize_l1_action(action, strict=True)) == json.dumps(action)
    sig = S.sign_l1_action(SIGNER, action, nonce=nonce, vault_address=vault, expires_after=expires, is_mainnet=is_mainnet)
    assert ours(sig) == sdk_sig(sdk_signing.sign_l1_action(WALLET, sdk_action, vault, nonce, expires, is_mainnet))


@SETTINGS
@given(
    mods=st.lists(st.tuples(st.one_of(st.integers(0, 2**64 - 1), cloids), orders()), min_size=1, max_size=3),
    nonce=nonces,
    vault=vaults,
    expires=expiries,
    is_mainnet=st.booleans(),
)
def test_batch_modify_matches_sdk(mods, nonce, vault, expires, is_mainnet):
    action = A.batch_modify_action([(oid, spec) for oid, (spec, _) in mods])
    sdk_action = {
        "type": "batchModify",
        "modifies": [
            {
                "oid": Cloid(oid).to_raw() if isinstance(oid, str) else oid,
                "order": sdk_signing.order_request_to_order_wire(req, spec.asset),
            }
            for oid, (spec, req) in mods
        ],
    }
    assert json.dumps(action) == json.dumps(sdk_action)
    assert json.dumps(V.canonicalize_l1_action(action, strict=True)) == json.dumps(action)
    sig = S.sign_l1_action(SIGNER, action, nonce=nonce, vault_address=vault, expires_after=expires, is_mainnet=is_mainnet)
    assert ours(sig) == sdk_sig(sdk_signing.sign_l1_action(WALLET, sdk_action, vault, nonce, expires, is_mainnet))


@SETTINGS
@given(
    asset=assets,
    leverage=st.integers(1, 100),
    is_cross=st.booleans(),
    margin=decimal_text(max_places=6, max_int_digits=5, positive=False).filter(lambda t: D(t) != 0),
    nonce=nonces,
    vault=vaults,
    expires=expiries,
    is_mainnet=st.booleans(),
)
def test_leverage_and_margin_match_sdk(asset, leverage, is_cross, margin, nonce, vault, expires, is_mainnet):
    lev = A.update_leverage_action(asset, leverage, is_cross=is_cross)
    sdk_lev = {"type": "updateLeverage", "asset": asset, "isCross": is_cross, "leverage": leverage}
    iso = A.update_isolated_margin_action(asset, D(margin))
    sdk_iso = {"type": "updateIsolatedMargin", "asset": asset, "isBuy": True, "ntli": sdk_signing.float_to_usd_int(float(margin))}
    for mine, theirs in ((lev, sdk_lev), (iso, sdk_iso)):
        assert json.dumps(mine) == json.dumps(theirs)
        sig = S.sign_l1_action(SIGNER, mine, nonce=nonce, vault_address=vault, expires_after=expires, is_mainnet=is_mainnet)
        assert ours(sig) == sdk_sig(sdk_signing.sign_l1_action(WALLET, theirs, vault, nonce, expires, is_mainnet))


@SETTINGS
@given(time_ms=st.none() | nonces, nonce=nonces, is_mainnet=st.booleans())
def test_schedule_cancel_and_noop_match_sdk(time_ms, nonce, is_mainnet):
    for mine in (A.schedule_cancel_action(time_ms), A.noop_action()):
        sig = S.sign_l1_action(SIGNER, mine, nonce=nonce, is_mainnet=is_mainnet)
        assert ours(sig) == sdk_sig(sdk_signing.sign_l1_action(WALLET, dict(mine), None, nonce, None, is_mainnet))


@settings(max_examples=200, deadline=None)
@given(text=decimal_text(max_places=8, max_int_digits=6, positive=False))
def test_wire_strings_match_sdk_float_to_wire(text):
    sdk = sdk_signing.float_to_wire(float(text))
    assert to_wire(D(text)) == ("0" if sdk == "-0" else sdk)


# --- user-signed ------------------------------------------------------------------------------------

amounts = decimal_text(max_places=6, max_int_digits=7)


@st.composite
def transfers(draw):
    """(our action, the SDK signing helper, the SDK's action dict)."""
    which = draw(st.sampled_from(["usdSend", "spotSend", "withdraw3", "usdClassTransfer", "sendAsset", "approveAgent", "approveBuilderFee"]))
    dest = draw(addresses)
    amount = draw(amounts)
    n = draw(nonces)
    if which == "usdSend":
        return (A.usd_send_action(dest, D(amount), time_ms=n), sdk_signing.sign_usd_transfer_action,
                {"destination": dest, "amount": amount, "time": n, "type": "usdSend"})
    if which == "spotSend":
        token = "PURR:0xc1fb593aeffbeb02f85e0308e9956a90"
        return (A.spot_send_action(dest, token, D(amount), time_ms=n), sdk_signing.sign_spot_transfer_action,
                {"destination": dest, "amount": amount, "token": token, "time": n, "type": "spotSend"})
    if which == "withdraw3":
        return (A.withdraw3_action(dest, D(amount), time_ms=n), sdk_signing.sign_withdraw_from_bridge_action,
                {"destination": dest, "amount": amount, "time": n, "type": "withdraw3"})
    if which == "usdClassTransfer":
        to_perp = draw(st.booleans())
        sub = draw(st.none() | addresses)
        text = amount + ("" if sub is None else f" subaccount:{sub}")
        return (A.usd_class_transfer_action(D(amount), to_perp=to_perp, nonce=n, sub_account=sub),
                sdk_signing.sign_usd_class_transfer_action,
                {"type": "usdClassTransfer", "amount": text, "toPerp": to_perp, "nonce": n})
    if which == "sendAsset":
        src, dst = draw(st.sampled_from([("", "spot"), ("spot", ""), ("", "xyz")]))
        sub = draw(st.none() | addresses)
        token = "USDC:0x6d1e7cde53ba9467b783cb7c530ce054"
        return (A.send_asset_action(dest, source_dex=src, destination_dex=dst, token=token, amount=D(amount), nonce=n,
                                    from_sub_account=sub),
                sdk_signing.sign_send_asset_action,
                {"type": "sendAsset", "destination": dest, "sourceDex": src, "destinationDex": dst, "token": token,
                 "amount": amount, "fromSubAccount": sub or "", "nonce": n})
    if which == "approveAgent":
        name = draw(st.none() | st.text(alphabet="abcxyz 019_", min_size=1, max_size=16))
        return (A.approve_agent_action(dest, agent_name=name, nonce=n), sdk_signing.sign_agent,
                {"type": "approveAgent", "agentAddress": dest, "agentName": name or "", "nonce": n})
    rate = draw(st.sampled_from(["0.001", "0.01", "0.1", "1"]))
    return (A.approve_builder_fee_action(dest, D(rate), nonce=n), sdk_signing.sign_approve_builder_fee,
            {"maxFeeRate": rate + "%", "builder": dest, "nonce": n, "type": "approveBuilderFee"})


@SETTINGS
@given(t=transfers(), is_mainnet=st.booleans())
def test_transfers_match_sdk(t, is_mainnet):
    mine, sdk_fn, sdk_action = t
    expected_posted = dict(sdk_action)
    if mine["type"] == "approveAgent" and "agentName" not in mine:
        del expected_posted["agentName"]  # the SDK signs "" and posts without the key
    assert json.dumps(mine) == json.dumps(expected_posted)
    prepared, sig = S.sign_user_signed_action(SIGNER, mine, is_mainnet=is_mainnet)
    expected = sdk_fn(WALLET, sdk_action, is_mainnet)  # the SDK mutates sdk_action in place
    assert ours(sig) == sdk_sig(expected)
    assert prepared["hyperliquidChain"] == sdk_action["hyperliquidChain"]
    assert prepared["signatureChainId"] == sdk_action["signatureChainId"] == "0x66eee"
    assert V.recover_user_signed_signer(prepared, expected, is_mainnet=is_mainnet) == SIGNER.address


@pytest.mark.parametrize(
    "action, sdk_fn",
    [
        ({"type": "tokenDelegate", "validator": "0x" + "ab" * 20, "wei": 100, "isUndelegate": False, "nonce": 7},
         "sign_token_delegate_action"),
        ({"type": "userDexAbstraction", "user": "0x" + "ab" * 20, "enabled": True, "nonce": 7},
         "sign_user_dex_abstraction_action"),
        ({"type": "userSetAbstraction", "user": "0x" + "ab" * 20, "abstraction": "disabled", "nonce": 7},
         "sign_user_set_abstraction_action"),
        ({"type": "convertToMultiSigUser", "signers": '{"authorizedUsers":[],"threshold":1}', "nonce": 9},
         "sign_convert_to_multi_sig_user_action"),
    ],
)
@pytest.mark.parametrize("is_mainnet", [True, False])
def test_other_user_signed_types_match_sdk(action, sdk_fn, is_mainnet):
    """Every type in the scheme table signs as the SDK does, not just the ones perpcli builds."""
    expected = getattr(sdk_signing, sdk_fn)(WALLET, dict(action), is_mainnet)
    prepared, sig = S.sign_user_signed_action(SIGNER, action, is_mainnet=is_mainnet)
    assert ours(sig) == sdk_sig(expected)
    assert V.recover_user_signed_signer(prepared, expected) == SIGNER.address
