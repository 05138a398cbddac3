"""Verifying a received /exchange request the way the venue does (§b.5).

The venue does not hash the JSON it receives: it deserialises the action into its own typed
structure and re-serialises it in canonical key order with canonical values (decimals without
trailing zeros, lowercase hex, optional flags only when true), then hashes that and recovers
the signer. `canonicalize_l1_action` reproduces that; the devnet uses the recover_* functions
to learn who signed, and `perp sign` uses the strict mode to refuse, before signing, any action
the venue would hash differently from the client (the "User or API Wallet … does not exist"
bug class). User-signed actions are hashed from their field values exactly as received.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import AuthError, ValidationError
from perpcli.keys.signer import SECP256K1_N, Signature, recover_address
from perpcli.venues.hyperliquid import signing
from perpcli.venues.hyperliquid.actions import (
    GROUPINGS,
    TIFS,
    TPSLS,
    USER_SIGNED_TYPES,
    check_address,
    check_cloid,
    check_uint,
    is_spot_asset,
)
from perpcli.venues.hyperliquid.numbers import check_price, to_decimal, to_wire

# --- canonical L1 actions ------------------------------------------------------------------------


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where} must be an object, got {type(value).__name__}", rule="action-shape")
    return value


def _list(value: object, where: str) -> list:
    if not isinstance(value, list):
        raise ValidationError(f"{where} must be a list, got {type(value).__name__}", rule="action-shape")
    return value


def _keys(obj: Mapping[str, Any], where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    missing = [k for k in required if k not in obj]
    if missing:
        raise ValidationError(f"{where} is missing {', '.join(missing)}", rule="action-shape")
    extra = [k for k in obj if k not in required and k not in optional]
    if extra:
        raise ValidationError(f"{where} has unexpected key(s) {', '.join(map(repr, extra))}", rule="action-shape")


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{where} must be true or false, got {value!r}", rule="action-shape")
    return value


def _int(value: object, where: str, *, signed: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{where} must be an integer, got {value!r}", rule="action-shape")
    if signed:
        if not -(2**63) <= value < 2**63:
            raise ValidationError(f"{where} {value} does not fit in 64 bits", rule="action-shape")
        return value
    return check_uint(value, what=where)


def _dec(value: object, where: str) -> str:
    """A decimal field: must arrive as a string; rendered canonically ("2000.0" -> "2000")."""
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be a decimal string, got {value!r}", rule="action-shape")
    return to_wire(value, what=where)


def _amount_as_sent(value: object, where: str) -> str:
    """A decimal the venue keeps as a string: checked, then hashed exactly as received."""
    _dec(value, where)
    return value  # type: ignore[return-value]  # _dec proved it is a str


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be a string, got {value!r}", rule="action-shape")
    return value


def _flag(obj: Mapping[str, Any], key: str, out: dict, where: str) -> None:
    """Optional flags ("f", "a") are hashed only when true; false/null means absent."""
    if key in obj and obj[key] is not None and _bool(obj[key], f"{where}.{key}"):
        out[key] = True


def canonical_order_wire(order: object, where: str = "order") -> dict:
    o = _obj(order, where)
    _keys(o, where, ("a", "b", "p", "s", "r", "t"), ("c",))
    t = _obj(o["t"], f"{where}.t")
    if len(t) != 1 or next(iter(t)) not in ("limit", "trigger"):
        raise ValidationError(f"{where}.t must be {{\"limit\": …}} or {{\"trigger\": …}}", rule="action-shape")
    if "limit" in t:
        lim = _obj(t["limit"], f"{where}.t.limit")
        _keys(lim, f"{where}.t.limit", ("tif",))
        if lim["tif"] not in TIFS:
            raise ValidationError(f"{where}.t.limit.tif {lim['tif']!r} is not Gtc, Ioc or Alo", rule="tif")
        t_out: dict = {"limit": {"tif": lim["tif"]}}
    else:
        trg = _obj(t["trigger"], f"{where}.t.trigger")
        _keys(trg, f"{where}.t.trigger", ("isMarket", "triggerPx", "tpsl"))
        if trg["tpsl"] not in TPSLS:
            raise ValidationError(f"{where}.t.trigger.tpsl {trg['tpsl']!r} is not tp or sl", rule="tpsl")
        t_out = {
            "trigger": {
                "isMarket": _bool(trg["isMarket"], f"{where}.t.trigger.isMarket"),
                "triggerPx": _dec(trg["triggerPx"], f"{where} trigger price"),
                "tpsl": trg["tpsl"],
            }
        }
    out = {
        "a": _int(o["a"], f"{where}.a (asset)"),
        "b": _bool(o["b"], f"{where}.b (isBuy)"),
        "p": _dec(o["p"], f"{where} price"),
        "s": _dec(o["s"], f"{where} size"),
        "r": _bool(o["r"], f"{where}.r (reduceOnly)"),
        "t": t_out,
    }
    if o.get("c") is not None:
        out["c"] = check_cloid(o["c"], what=f"{where} cloid")
    return out


def _oid(value: object, where: str) -> int | str:
    if isinstance(value, str):
        return check_cloid(value, what=f"{where} (cloid)")
    return _int(value, where)


def _c_order(a: Mapping[str, Any]) -> dict:
    _keys(a, "order action", ("type", "orders", "grouping"), ("builder",))
    orders = _list(a["orders"], "orders")
    if a["grouping"] not in GROUPINGS:
        raise ValidationError(f"grouping {a['grouping']!r} is not na, normalTpsl or positionTpsl", rule="grouping")
    out: dict = {
        "type": "order",
        "orders": [canonical_order_wire(o, f"order {i}") for i, o in enumerate(orders)],
        "grouping": a["grouping"],
    }
    if a.get("builder") is not None:
        b = _obj(a["builder"], "builder")
        _keys(b, "builder", ("b", "f"))
        out["builder"] = {"b": check_address(b["b"], what="builder address"), "f": _int(b["f"], "builder fee")}
    return out


def _c_cancel(a: Mapping[str, Any]) -> dict:
    _keys(a, "cancel action", ("type", "cancels"), ("f",))
    items = []
    for i, c in enumerate(_list(a["cancels"], "cancels")):
        c = _obj(c, f"cancel {i}")
        _keys(c, f"cancel {i}", ("a", "o"))
        items.append({"a": _int(c["a"], f"cancel {i} asset"), "o": _int(c["o"], f"cancel {i} oid")})
    out: dict = {"type": "cancel", "cancels": items}
    _flag(a, "f", out, "cancel")
    return out


def _c_cancel_by_cloid(a: Mapping[str, Any]) -> dict:
    _keys(a, "cancelByCloid action", ("type", "cancels"), ("f",))
    items = []
    for i, c in enumerate(_list(a["cancels"], "cancels")):
        c = _obj(c, f"cancel {i}")
        _keys(c, f"cancel {i}", ("asset", "cloid"))
        items.append({"asset": _int(c["asset"], f"cancel {i} asset"), "cloid": check_cloid(c["cloid"])})
    out: dict = {"type": "cancelByCloid", "cancels": items}
    _flag(a, "f", out, "cancelByCloid")
    return out


def _c_modify(a: Mapping[str, Any]) -> dict:
    _keys(a, "modify action", ("type", "oid", "order"), ("a",))
    out: dict = {"type": "modify", "oid": _oid(a["oid"], "modify oid"), "order": canonical_order_wire(a["order"])}
    _flag(a, "a", out, "modify")
    return out


def _c_batch_modify(a: Mapping[str, Any]) -> dict:
    _keys(a, "batchModify action", ("type", "modifies"), ("a",))
    items = []
    for i, m in enumerate(_list(a["modifies"], "modifies")):
        m = _obj(m, f"modify {i}")
        _keys(m, f"modify {i}", ("oid", "order"))
        items.append({"oid": _oid(m["oid"], f"modify {i} oid"), "order": canonical_order_wire(m["order"], f"modify {i} order")})
    out: dict = {"type": "batchModify", "modifies": items}
    _flag(a, "a", out, "batchModify")
    return out


def _c_schedule_cancel(a: Mapping[str, Any]) -> dict:
    _keys(a, "scheduleCancel action", ("type",), ("time",))
    out: dict = {"type": "scheduleCancel"}
    if a.get("time") is not None:
        out["time"] = _int(a["time"], "scheduleCancel time")
    return out


def _c_update_leverage(a: Mapping[str, Any]) -> dict:
    _keys(a, "updateLeverage action", ("type", "asset", "isCross", "leverage"))
    return {
        "type": "updateLeverage",
        "asset": _int(a["asset"], "asset"),
        "isCross": _bool(a["isCross"], "isCross"),
        "leverage": _int(a["leverage"], "leverage"),
    }


def _c_update_isolated_margin(a: Mapping[str, Any]) -> dict:
    _keys(a, "updateIsolatedMargin action", ("type", "asset", "isBuy", "ntli"))
    return {
        "type": "updateIsolatedMargin",
        "asset": _int(a["asset"], "asset"),
        "isBuy": _bool(a["isBuy"], "isBuy"),
        "ntli": _int(a["ntli"], "ntli", signed=True),
    }


def _c_top_up_isolated(a: Mapping[str, Any]) -> dict:
    _keys(a, "topUpIsolatedOnlyMargin action", ("type", "asset", "leverage"))
    return {"type": "topUpIsolatedOnlyMargin", "asset": _int(a["asset"], "asset"), "leverage": _dec(a["leverage"], "leverage")}


def _c_twap_order(a: Mapping[str, Any]) -> dict:
    _keys(a, "twapOrder action", ("type", "twap"))
    t = _obj(a["twap"], "twap")
    _keys(t, "twap", ("a", "b", "s", "r", "m", "t"))
    return {
        "type": "twapOrder",
        "twap": {
            "a": _int(t["a"], "twap asset"),
            "b": _bool(t["b"], "twap isBuy"),
            "s": _dec(t["s"], "twap size"),
            "r": _bool(t["r"], "twap reduceOnly"),
            "m": _int(t["m"], "twap minutes"),
            "t": _bool(t["t"], "twap randomize"),
        },
    }


def _c_twap_cancel(a: Mapping[str, Any]) -> dict:
    _keys(a, "twapCancel action", ("type", "a", "t"))
    return {"type": "twapCancel", "a": _int(a["a"], "asset"), "t": _int(a["t"], "twapId")}


def _c_noop(a: Mapping[str, Any]) -> dict:
    _keys(a, "noop action", ("type",))
    return {"type": "noop"}


def _c_create_sub_account(a: Mapping[str, Any]) -> dict:
    _keys(a, "createSubAccount action", ("type", "name"))
    return {"type": "createSubAccount", "name": _str(a["name"], "name")}


def _c_sub_account_transfer(a: Mapping[str, Any]) -> dict:
    _keys(a, "subAccountTransfer action", ("type", "subAccountUser", "isDeposit", "usd"))
    return {
        "type": "subAccountTransfer",
        "subAccountUser": check_address(a["subAccountUser"], what="subAccountUser"),
        "isDeposit": _bool(a["isDeposit"], "isDeposit"),
        "usd": _int(a["usd"], "usd"),
    }


def _c_sub_account_spot_transfer(a: Mapping[str, Any]) -> dict:
    _keys(a, "subAccountSpotTransfer action", ("type", "subAccountUser", "isDeposit", "token", "amount"))
    return {
        "type": "subAccountSpotTransfer",
        "subAccountUser": check_address(a["subAccountUser"], what="subAccountUser"),
        "isDeposit": _bool(a["isDeposit"], "isDeposit"),
        "token": _str(a["token"], "token"),
        # A string field on the venue, hashed as sent: the official SDK sends str(1.0) = "1.0".
        "amount": _amount_as_sent(a["amount"], "amount"),
    }


def _c_vault_transfer(a: Mapping[str, Any]) -> dict:
    _keys(a, "vaultTransfer action", ("type", "vaultAddress", "isDeposit", "usd"))
    return {
        "type": "vaultTransfer",
        "vaultAddress": check_address(a["vaultAddress"], what="vaultAddress"),
        "isDeposit": _bool(a["isDeposit"], "isDeposit"),
        "usd": _int(a["usd"], "usd"),
    }


_CANONICALIZERS: dict[str, Callable[[Mapping[str, Any]], dict]] = {
    "order": _c_order,
    "cancel": _c_cancel,
    "cancelByCloid": _c_cancel_by_cloid,
    "modify": _c_modify,
    "batchModify": _c_batch_modify,
    "scheduleCancel": _c_schedule_cancel,
    "updateLeverage": _c_update_leverage,
    "updateIsolatedMargin": _c_update_isolated_margin,
    "topUpIsolatedOnlyMargin": _c_top_up_isolated,
    "twapOrder": _c_twap_order,
    "twapCancel": _c_twap_cancel,
    "noop": _c_noop,
    "createSubAccount": _c_create_sub_account,
    "subAccountTransfer": _c_sub_account_transfer,
    "subAccountSpotTransfer": _c_sub_account_spot_transfer,
    "vaultTransfer": _c_vault_transfer,
}


def _reject_floats(value: object, where: str) -> None:
    """Floats would hash as msgpack float64, which the venue never produces."""
    if isinstance(value, (float, Decimal)):
        raise ValidationError(f"{where} is a JSON number with a fraction; decimals go as strings", rule="action-shape")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValidationError(f"{where} has a non-string key {k!r}", rule="action-shape")
            _reject_floats(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _reject_floats(v, f"{where}[{i}]")


def _first_difference(given: object, canon: object, where: str) -> str | None:
    """Where `given` differs from the canonical form, key order included (None when identical)."""
    if isinstance(canon, dict):
        if not isinstance(given, Mapping):
            return f"{where} should be an object"
        gk, ck = list(given.keys()), list(canon.keys())
        if gk != ck:
            if set(gk) == set(ck):
                return f"{where} keys are {gk}, the venue hashes them in the order {ck}"
            extra = [k for k in gk if k not in canon]
            if extra:
                return f"{where} has {extra} which the venue drops (optional flags go only when true)"
            return f"{where} keys are {gk}, the venue expects {ck}"
        for k in ck:
            diff = _first_difference(given[k], canon[k], f"{where}.{k}")
            if diff:
                return diff
        return None
    if isinstance(canon, list):
        if not isinstance(given, list) or len(given) != len(canon):
            return f"{where} should be a list of {len(canon)}"
        for i, (g, c) in enumerate(zip(given, canon, strict=True)):
            diff = _first_difference(g, c, f"{where}[{i}]")
            if diff:
                return diff
        return None
    if type(given) is not type(canon) or given != canon:
        return f"{where} is {given!r}; the venue hashes {canon!r}"
    return None


def canonicalize_l1_action(action: object, *, strict: bool = False) -> dict:
    """The action as the venue re-serialises it before hashing.

    Known types are rebuilt in §a.2.4 order with canonical values; unknown types keep their
    received key order (floats refused). With `strict`, any difference between the given action
    and its canonical form (key order, "2000.0", upper-case hex, explicit false flags) raises
    ValidationError(rule="canonical-action") naming the first difference: signing such an
    action would produce a signature the venue attributes to a different address.
    """
    a = _obj(action, "action")
    t = a.get("type")
    if not isinstance(t, str):
        raise ValidationError("action has no string 'type'", rule="action-type")
    if t in USER_SIGNED_TYPES:
        raise ValidationError(f"{t} is a user-signed action, not an L1 action", rule="action-type")
    fn = _CANONICALIZERS.get(t)
    if fn is None:
        _reject_floats(a, "action")
        return dict(a)
    canon = fn(a)
    if strict:
        diff = _first_difference(a, canon, "action")
        if diff:
            raise ValidationError(f"not in the venue's canonical form: {diff} (rule canonical-action)", rule="canonical-action")
    return canon


def check_order_prices(action: Mapping[str, Any]) -> None:
    """Offline price sanity for order/modify/batchModify wires (no market metadata at hand).

    Without szDecimals only the necessary conditions can be checked: ≤ 5 significant figures
    unless an integer, and ≤ 6 decimals for perps / 8 for spot (the limits at szDecimals 0).
    """
    t = action.get("type")
    if t == "order":
        wires = list(action.get("orders", []))
    elif t == "modify":
        wires = [action.get("order")]
    elif t == "batchModify":
        wires = [m.get("order") for m in action.get("modifies", []) if isinstance(m, Mapping)]
    else:
        return
    for i, w in enumerate(wires):
        if not isinstance(w, Mapping):
            continue
        spot = isinstance(w.get("a"), int) and is_spot_asset(w["a"])
        check_price(w["p"], 0, spot=spot, what=f"order {i} price")
        trig = w.get("t", {}).get("trigger") if isinstance(w.get("t"), Mapping) else None
        if isinstance(trig, Mapping):
            check_price(trig["triggerPx"], 0, spot=spot, what=f"order {i} trigger price")
        if to_decimal(w["s"], what=f"order {i} size") <= 0:
            raise ValidationError(f"order {i} size must be positive (rule size-positive)", rule="size-positive")


# --- signatures and recovery ---------------------------------------------------------------------


def _sig_int(value: object, name: str) -> int:
    if not (isinstance(value, str) and value[:2] in ("0x", "0X") and 2 < len(value) <= 66):
        raise ValidationError(f"signature.{name} must be 0x + up to 64 hex digits", rule="signature")
    try:
        n = int(value, 16)
    except ValueError:
        raise ValidationError(f"signature.{name} is not hexadecimal", rule="signature") from None
    if not 0 < n < SECP256K1_N:
        raise AuthError(f"signature.{name} is outside the secp256k1 range")
    return n


def parse_signature(signature: object) -> Signature:
    """{"r": "0x…", "s": "0x…", "v": 27|28} → Signature; r/s with or without leading zeros."""
    if not isinstance(signature, Mapping) or not {"r", "s", "v"} <= set(signature):
        raise ValidationError('signature must be an object {"r","s","v"}', rule="signature")
    v = signature["v"]
    if isinstance(v, bool) or v not in (27, 28):
        raise ValidationError(f"signature.v must be 27 or 28, got {v!r}", rule="signature")
    return Signature(_sig_int(signature["r"], "r"), _sig_int(signature["s"], "s"), v)


def _recover(digest: bytes, sig: Signature) -> str:
    try:
        return recover_address(digest, sig.r, sig.s, sig.v)
    except Exception:  # coincurve raises plain Exception for unrecoverable points
        raise AuthError("signature does not recover to any address") from None


def recover_l1_signer(
    action: object,
    nonce: int,
    signature: object,
    vault_address: str | None,
    expires_after: int | None,
    is_mainnet: bool,
) -> str:
    """The lowercase address that signed an L1 action, as the venue computes it."""
    canon = canonicalize_l1_action(action)
    if vault_address is not None:
        vault_address = check_address(vault_address, what="vaultAddress")
    digest = signing.l1_digest(
        canon, nonce=nonce, vault_address=vault_address, expires_after=expires_after, is_mainnet=is_mainnet
    )
    return _recover(digest, parse_signature(signature))


def recover_user_signed_signer(
    action: object,
    signature: object,
    *,
    is_mainnet: bool | None = None,
    nonce: int | None = None,
    action_type: str | None = None,
) -> str:
    """The lowercase address that signed a user-signed action (fields hashed exactly as received).

    With `is_mainnet`, the action's hyperliquidChain must name that network; with `nonce`, the
    action's own time/nonce field must equal it (the envelope nonce). `action_type` is for
    actions that carry no "type" key (old SDK test payloads); the venue itself needs the key.
    """
    a = _obj(action, "action")
    t = action_type if action_type is not None else a.get("type")
    if t not in USER_SIGNED_TYPES:
        raise ValidationError(f"{t!r} is not a user-signed action type", rule="action-type")
    chain = a.get("hyperliquidChain")
    if chain not in ("Mainnet", "Testnet"):
        raise ValidationError(f"hyperliquidChain must be Mainnet or Testnet, got {chain!r}", rule="hyperliquid-chain")
    if is_mainnet is not None and chain != signing.hyperliquid_chain(is_mainnet):
        raise ValidationError(
            f"action is for {chain} but this venue is {signing.hyperliquid_chain(is_mainnet)}", rule="hyperliquid-chain"
        )
    if nonce is not None and signing.user_signed_nonce(a, t) != nonce:
        field = USER_SIGNED_TYPES[t].nonce_field
        raise ValidationError(f"action {field} {a.get(field)!r} differs from the envelope nonce {nonce}", rule="nonce")
    return _recover(signing.user_signed_digest(a, t), parse_signature(signature))


def recover_exchange_signer(body: object, *, is_mainnet: bool) -> str:
    """Signer of a whole /exchange body {"action","nonce","signature","vaultAddress"?,"expiresAfter"?}."""
    b = _obj(body, "request body")
    for k in ("action", "nonce", "signature"):
        if k not in b:
            raise ValidationError(f"request body is missing {k!r}", rule="request-shape")
    action = _obj(b["action"], "action")
    nonce = _int(b["nonce"], "nonce")
    vault = b.get("vaultAddress")
    expires = b.get("expiresAfter")
    if expires is not None:
        expires = _int(expires, "expiresAfter")
    if action.get("type") in USER_SIGNED_TYPES:
        if expires is not None:
            raise ValidationError("user-signed actions take no expiresAfter", rule="expires-after")
        return recover_user_signed_signer(action, b["signature"], is_mainnet=is_mainnet, nonce=nonce)
    return recover_l1_signer(action, nonce, b["signature"], vault, expires, is_mainnet)
