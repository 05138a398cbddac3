"""POST /exchange: parse the envelope, authenticate the signer, route the action to the engine.

The order of checks follows the venue (protocol notes §b.5): malformed body → HTTP 422;
recover the signer from the canonicalised action; resolve it to an account (agent → master);
user-signed checks (network, inner nonce, no expiresAfter); expiresAfter; the signer's nonce
window; then execute and render per-item statuses in the venue's shapes (§a.2.2). The nonce
is consumed once the action is accepted for execution, even if every item is rejected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from perpcli.devnet import render
from perpcli.devnet.auth import USER_SIGNED_TYPES, NonceBook, SignatureShapeError, check_expires_after
from perpcli.devnet.records import ActionError, OrderError, OrderSpec, TriggerSpec

DESERIALIZE = "Failed to deserialize the JSON body into the target type: "

# Signature recovery: (envelope dict, is_mainnet) -> lowercase signer address, or raises.
Recover = Callable[[dict, bool], str]


class BadBody(Exception):
    """The body does not deserialize into the venue's types: HTTP 422, text/plain."""

    def __init__(self, detail: str) -> None:
        super().__init__(DESERIALIZE + detail)
        self.text = DESERIALIZE + detail


def ok(response: dict) -> dict:
    return {"status": "ok", "response": response}


def err(message: str) -> dict:
    return {"status": "err", "response": message}


DEFAULT_OK = ok({"type": "default"})


# ---------------------------------------------------------------------------------------------
# Field parsing: every failure is a 422 with a serde-like description, as the venue answers.


def _need(obj: dict, key: str, where: str):
    if not isinstance(obj, dict):
        raise BadBody(f"invalid type: expected struct {where}")
    if key not in obj:
        raise BadBody(f"missing field `{key}` in {where}")
    return obj[key]


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadBody(f"invalid type: {json.dumps(value)}, expected u64 for `{what}`")
    return value


def _bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadBody(f"invalid type: {json.dumps(value)}, expected a boolean for `{what}`")
    return value


def _str(value, what: str) -> str:
    if not isinstance(value, str):
        raise BadBody(f"invalid type: {json.dumps(value)}, expected a string for `{what}`")
    return value


def _decimal(value, what: str) -> Decimal:
    text = _str(value, what)
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise BadBody(f"invalid decimal {text!r} for `{what}`") from None
    if not d.is_finite() or text.strip() != text or not text:
        raise BadBody(f"invalid decimal {text!r} for `{what}`")
    return d


def _address(value, what: str) -> str:
    text = _str(value, what)
    if len(text) != 42 or not text.startswith("0x"):
        raise BadBody(f"invalid address {text!r} for `{what}`")
    try:
        int(text[2:], 16)
    except ValueError:
        raise BadBody(f"invalid address {text!r} for `{what}`") from None
    return text.lower()


def _cloid(value, what: str = "cloid") -> str:
    text = _str(value, what)
    if len(text) != 34 or not text.startswith("0x"):
        raise BadBody(f"invalid cloid {text!r}")
    try:
        int(text[2:], 16)
    except ValueError:
        raise BadBody(f"invalid cloid {text!r}") from None
    return text.lower()


def parse_order(wire: dict) -> OrderSpec:
    asset = _int(_need(wire, "a", "order"), "a")
    is_buy = _bool(_need(wire, "b", "order"), "b")
    px = _decimal(_need(wire, "p", "order"), "p")
    sz = _decimal(_need(wire, "s", "order"), "s")
    reduce_only = _bool(_need(wire, "r", "order"), "r")
    t = _need(wire, "t", "order")
    if not isinstance(t, dict) or len(t) != 1:
        raise BadBody("invalid order type `t`: expected `limit` or `trigger`")
    tif = "Gtc"
    trigger = None
    if "limit" in t:
        tif = _str(_need(t["limit"], "tif", "limit"), "tif")
        if tif not in ("Gtc", "Ioc", "Alo", "FrontendMarket", "LiquidationMarket"):
            raise BadBody(f"unknown variant `{tif}`, expected one of `Alo`, `Ioc`, `Gtc`, `FrontendMarket`")
    elif "trigger" in t:
        tr = t["trigger"]
        tpsl = _str(_need(tr, "tpsl", "trigger"), "tpsl")
        if tpsl not in ("tp", "sl"):
            raise BadBody(f"unknown variant `{tpsl}`, expected `tp` or `sl`")
        trigger = TriggerSpec(
            is_market=_bool(_need(tr, "isMarket", "trigger"), "isMarket"),
            trigger_px=_decimal(_need(tr, "triggerPx", "trigger"), "triggerPx"),
            tpsl=tpsl,
        )
    else:
        raise BadBody("invalid order type `t`: expected `limit` or `trigger`")
    cloid = _cloid(wire["c"]) if wire.get("c") is not None else None
    return OrderSpec(asset, is_buy, px, sz, reduce_only, tif, trigger, cloid)


def _oid_or_cloid(value) -> int | str:
    if isinstance(value, str):
        return _cloid(value, "oid")
    return _int(value, "oid")


def _list(value, what: str) -> list:
    if not isinstance(value, list):
        raise BadBody(f"invalid type: expected a sequence for `{what}`")
    return value


def _usd_amount(value, what: str = "amount") -> Decimal:
    d = _decimal(value, what)
    if d <= 0:
        raise ActionError("Invalid amount")
    return d


# ---------------------------------------------------------------------------------------------


@dataclass
class Envelope:
    action: dict
    action_type: str
    nonce: int
    signature: dict
    vault_address: str | None
    expires_after: int | None
    raw: dict


def parse_envelope(body: bytes) -> Envelope:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadBody(f"{e}") from None
    if not isinstance(data, dict):
        raise BadBody("invalid type: expected struct ExchangeRequest")
    action = _need(data, "action", "ExchangeRequest")
    if not isinstance(action, dict) or not isinstance(action.get("type"), str):
        raise BadBody("missing field `type` in action")
    nonce = _int(_need(data, "nonce", "ExchangeRequest"), "nonce")
    sig = _need(data, "signature", "ExchangeRequest")
    for key in ("r", "s", "v"):
        _need(sig, key, "signature")
    if not isinstance(sig["r"], str) or not isinstance(sig["s"], str):
        raise BadBody("invalid type: expected a hex string for signature `r`/`s`")
    _int(sig["v"], "v")
    vault = data.get("vaultAddress")
    vault = _address(vault, "vaultAddress") if vault is not None else None
    expires = data.get("expiresAfter")
    if expires is not None:
        expires = _int(expires, "expiresAfter")
    return Envelope(action, action["type"], nonce, sig, vault, expires, data)


@dataclass
class ExchangeDesk:
    """Everything /exchange needs besides the engine: signature recovery, nonces, approvals.

    `engine` is a `perpcli.devnet.engine.Engine`; `twaps` a TwapBook (or None to refuse TWAPs).
    """

    engine: object
    recover: Recover
    is_mainnet: bool = False
    nonces: NonceBook = field(default_factory=NonceBook)
    builder_approvals: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # user -> builder -> max pct
    requests_used: dict[str, int] = field(default_factory=dict)
    twaps: object | None = None
    abstraction: dict[str, str] = field(default_factory=dict)  # user -> mode set by an action
    big_blocks: dict[str, bool] = field(default_factory=dict)  # user -> evmUserModify choice

    # -- the whole request ---------------------------------------------------------------------

    def handle(self, body: bytes, now_ms: int) -> dict:
        """Answer one /exchange body. Raises BadBody (→ 422); everything else is a JSON answer."""
        env = parse_envelope(body)
        handler = _HANDLERS.get(env.action_type)
        if handler is None:
            raise BadBody(f"unknown variant `{env.action_type}` for action `type`")
        try:
            return self._authorised(env, handler, now_ms)
        except ActionError as e:
            return err(e.message)

    def _authorised(self, env: Envelope, handler, now_ms: int) -> dict:
        engine = self.engine
        user_signed = env.action_type in USER_SIGNED_TYPES
        if user_signed:
            self._check_user_signed(env)
        try:
            signer = self.recover(env.raw, self.is_mainnet).lower()
        except SignatureShapeError as e:
            raise BadBody(str(e)) from None
        if user_signed:
            # User-signed actions move the signer's own money: agents have none (§b.4).
            if engine.is_agent(signer, now_ms) or not engine.account_exists(signer):
                raise ActionError(f"Must deposit before performing actions. User: {signer}")
            account, is_agent = signer, False
        else:
            account = engine.resolve_signer(signer, now_ms)
            if account is None:
                raise ActionError(f"User or API Wallet {signer} does not exist.")
            is_agent = account != signer
        check_expires_after(env.expires_after, now_ms, user_signed=user_signed)
        if env.vault_address is not None and env.vault_address != account:
            # A master acts for its sub-accounts; the devnet has no vaults.
            if engine.master_of(env.vault_address) != account:
                raise ActionError("Vault may not perform this action.")
            account = env.vault_address
        self.nonces.check_and_use(signer, env.nonce, now_ms)
        self._count_request(account, env)
        return handler(self, account, env, now_ms, is_agent)

    def _check_user_signed(self, env: Envelope) -> None:
        action = env.action
        chain = action.get("hyperliquidChain")
        expected = "Mainnet" if self.is_mainnet else "Testnet"
        if chain != expected:
            raise ActionError(f"Invalid hyperliquidChain {chain!r}: this devnet is {expected}")
        if not isinstance(action.get("signatureChainId"), str):
            raise BadBody("missing field `signatureChainId` in action")
        inner_key = "time" if env.action_type in ("usdSend", "spotSend", "withdraw3") else "nonce"
        inner = _int(_need(action, inner_key, env.action_type), inner_key)
        if inner != env.nonce:
            raise ActionError(f"Invalid nonce: action {inner_key} {inner} does not match request nonce {env.nonce}")

    def _count_request(self, account: str, env: Envelope) -> None:
        """Per-address action budget (§d.6): 10,000 + 1 per USDC traded."""
        items = env.action.get("orders") or env.action.get("cancels") or env.action.get("modifies") or [None]
        used = self.requests_used.get(account, 0) + max(1, len(items) if isinstance(items, list) else 1)
        cap = 10_000 + int(self.engine.cum_volume(account))
        if used > cap and env.action_type not in ("cancel", "cancelByCloid"):
            raise ActionError("Too many cumulative requests sent")
        self.requests_used[account] = used

    def rate_limit_view(self, user: str) -> dict:
        used = self.requests_used.get(user, 0)
        cap = 10_000 + int(self.engine.cum_volume(user))
        return {
            "cumVlm": render.dec(self.engine.cum_volume(user)),
            "nRequestsUsed": used,
            "nRequestsCap": cap,
            "nRequestsSurplus": 0,
        }

    # -- persistence ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "nonces": self.nonces.to_json(),
            "builder_approvals": {
                u: {b: str(v) for b, v in m.items()} for u, m in self.builder_approvals.items()
            },
            "requests_used": dict(self.requests_used),
            "abstraction": dict(self.abstraction),
            "big_blocks": dict(self.big_blocks),
        }

    def load_json(self, data: dict) -> None:
        self.nonces = NonceBook.from_json(data.get("nonces", {}))
        self.builder_approvals = {
            u: {b: Decimal(v) for b, v in m.items()} for u, m in data.get("builder_approvals", {}).items()
        }
        self.requests_used = {k: int(v) for k, v in data.get("requests_used", {}).items()}
        self.abstraction = {k: str(v) for k, v in data.get("abstraction", {}).items()}
        self.big_blocks = {k: bool(v) for k, v in data.get("big_blocks", {}).items()}


# ---------------------------------------------------------------------------------------------
# One function per action type: (desk, account, envelope, now_ms, signed_by_agent) -> answer


def _order(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    orders = [parse_order(o) for o in _list(_need(a, "orders", "order"), "orders")]
    grouping = _str(a.get("grouping", "na"), "grouping")
    if grouping not in ("na", "normalTpsl", "positionTpsl"):
        raise BadBody(f"unknown variant `{grouping}`, expected one of `na`, `normalTpsl`, `positionTpsl`")
    builder = a.get("builder")
    if builder is not None:
        b = _address(_need(builder, "b", "builder"), "b")
        fee = _int(_need(builder, "f", "builder"), "f")
        approved = desk.builder_approvals.get(user, {}).get(b)
        # f is in tenths of a basis point; the approval is a percent (0.001% = 1 tenth-bp).
        if approved is None or Decimal(fee) / Decimal(1000) > approved:
            raise ActionError("Builder fee has not been approved.")
        for spec in orders:
            spec.builder = (b, fee)  # charged on every fill of these orders
    if not orders:
        raise ActionError("Order list is empty.")
    results = desk.engine.place_orders(user, orders, grouping, now)
    return ok({"type": "order", "data": {"statuses": [render.order_result(x) for x in results]}})


def _cancel(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    cancels = []
    for c in _list(_need(env.action, "cancels", "cancel"), "cancels"):
        cancels.append((_int(_need(c, "a", "cancel"), "a"), _int(_need(c, "o", "cancel"), "o")))
    results = desk.engine.cancel(user, cancels, now)
    return ok({"type": "cancel", "data": {"statuses": [render.cancel_result(x) for x in results]}})


def _cancel_by_cloid(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    cancels = []
    for c in _list(_need(env.action, "cancels", "cancelByCloid"), "cancels"):
        cancels.append((_int(_need(c, "asset", "cancel"), "asset"), _cloid(_need(c, "cloid", "cancel"))))
    results = desk.engine.cancel_by_cloid(user, cancels, now)
    return ok({"type": "cancel", "data": {"statuses": [render.cancel_result(x) for x in results]}})


def _modify(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    target = _oid_or_cloid(_need(a, "oid", "modify"))
    order = parse_order(_need(a, "order", "modify"))
    result = desk.engine.modify(user, target, order, now)
    if isinstance(result, OrderError):
        return err(result.error)
    return DEFAULT_OK


def _batch_modify(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    modifies = []
    for m in _list(_need(env.action, "modifies", "batchModify"), "modifies"):
        modifies.append((_oid_or_cloid(_need(m, "oid", "modify")), parse_order(_need(m, "order", "modify"))))
    results = desk.engine.batch_modify(user, modifies, now)
    return ok({"type": "order", "data": {"statuses": [render.order_result(x) for x in results]}})


def _update_leverage(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    asset = _int(_need(a, "asset", "updateLeverage"), "asset")
    is_cross = _bool(_need(a, "isCross", "updateLeverage"), "isCross")
    leverage = _int(_need(a, "leverage", "updateLeverage"), "leverage")
    desk.engine.update_leverage(user, asset, is_cross, leverage, now)
    return DEFAULT_OK


def _update_isolated_margin(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    asset = _int(_need(a, "asset", "updateIsolatedMargin"), "asset")
    _bool(_need(a, "isBuy", "updateIsolatedMargin"), "isBuy")
    ntli = _need(a, "ntli", "updateIsolatedMargin")
    if isinstance(ntli, bool) or not isinstance(ntli, int):
        raise BadBody(f"invalid type: {json.dumps(ntli)}, expected i64 for `ntli`")
    desk.engine.update_isolated_margin(user, asset, Decimal(ntli) / Decimal(1_000_000), now)
    return DEFAULT_OK


def _schedule_cancel(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    t = env.action.get("time")
    desk.engine.schedule_cancel(user, None if t is None else _int(t, "time"), now)
    return DEFAULT_OK


def _noop(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    return DEFAULT_OK


def _twap_order(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    tw = _need(env.action, "twap", "twapOrder")
    asset = _int(_need(tw, "a", "twap"), "a")
    is_buy = _bool(_need(tw, "b", "twap"), "b")
    sz = _decimal(_need(tw, "s", "twap"), "s")
    reduce_only = _bool(_need(tw, "r", "twap"), "r")
    minutes = _int(_need(tw, "m", "twap"), "m")
    randomize = _bool(_need(tw, "t", "twap"), "t")
    if desk.twaps is None:
        raise ActionError("TWAP orders are not available on this devnet")
    status = desk.twaps.start(desk.engine, user, asset, is_buy, sz, reduce_only, minutes, randomize, now)
    return ok({"type": "twapOrder", "data": {"status": status}})


def _twap_cancel(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    asset = _int(_need(a, "a", "twapCancel"), "a")
    twap_id = _int(_need(a, "t", "twapCancel"), "t")
    if desk.twaps is None or not desk.twaps.cancel(user, asset, twap_id, now):
        return ok(
            {"type": "twapCancel", "data": {"status": {"error": "TWAP was never placed, already canceled, or filled."}}}
        )
    return ok({"type": "twapCancel", "data": {"status": "success"}})


def _usd_send(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    destination = _address(_need(a, "destination", "usdSend"), "destination")
    desk.engine.usd_send(user, destination, _usd_amount(_need(a, "amount", "usdSend")), now)
    return DEFAULT_OK


def _withdraw(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    destination = _address(_need(a, "destination", "withdraw3"), "destination")
    desk.engine.withdraw(user, destination, _usd_amount(_need(a, "amount", "withdraw3")), now)
    return DEFAULT_OK


def _usd_class_transfer(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    amount_text = _str(_need(a, "amount", "usdClassTransfer"), "amount")
    if " subaccount:" in amount_text:  # the master moves funds inside its sub-account
        amount_text, sub = amount_text.split(" subaccount:", 1)
        user = _own_sub_account(desk, user, _address(sub, "subaccount"))
    to_perp = _bool(_need(a, "toPerp", "usdClassTransfer"), "toPerp")
    desk.engine.usd_class_transfer(user, _usd_amount(amount_text), to_perp, now)
    return DEFAULT_OK


def _own_sub_account(desk: ExchangeDesk, user: str, sub: str) -> str:
    """`sub` when it is a sub-account of `user` (who then acts for it), else refused."""
    if desk.engine.master_of(sub) != user:
        raise ActionError("Vault may not perform this action.")
    return sub


def _collateral_token(desk: ExchangeDesk, token: str) -> bool:
    name = token.split(":", 1)[0]
    return name == "USDC"


def _spot_send(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    destination = _address(_need(a, "destination", "spotSend"), "destination")
    token = _str(_need(a, "token", "spotSend"), "token")
    amount = _usd_amount(_need(a, "amount", "spotSend"))
    engine = desk.engine
    if hasattr(engine, "spot_send"):
        engine.spot_send(user, destination, token.split(":", 1)[0], amount, now, env.nonce)
    elif _collateral_token(desk, token):
        # Spot USDC: move it to perp, send it, and park it back in the receiver's spot balance.
        engine.usd_class_transfer(user, amount, True, now)
        engine.usd_send(user, destination, amount, now)
        engine.usd_class_transfer(destination, amount, False, now)
    else:
        raise ActionError("Insufficient balance for token transfer")
    return DEFAULT_OK


def _send_asset(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    destination = _address(_need(a, "destination", "sendAsset"), "destination")
    source = _str(_need(a, "sourceDex", "sendAsset"), "sourceDex")
    dest_dex = _str(_need(a, "destinationDex", "sendAsset"), "destinationDex")
    token = _str(_need(a, "token", "sendAsset"), "token")
    amount = _usd_amount(_need(a, "amount", "sendAsset"))
    from_sub = _str(a.get("fromSubAccount", ""), "fromSubAccount")
    if from_sub:
        user = _own_sub_account(desk, user, _address(from_sub, "fromSubAccount"))
    # Each perp dex has its own collateral (engine.send_asset moves it and logs `send` rows).
    desk.engine.send_asset(user, destination, source, dest_dex, token.split(":", 1)[0], amount, now, env.nonce)
    return DEFAULT_OK


def _approve_agent(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    agent = _address(_need(a, "agentAddress", "approveAgent"), "agentAddress")
    name = a.get("agentName")
    name = "" if name is None else _str(name, "agentName")
    if agent == user:
        raise ActionError("Agent address cannot be the user address")
    desk.engine.approve_agent(user, agent, name, now)
    return DEFAULT_OK


def _approve_builder_fee(desk: ExchangeDesk, user: str, env: Envelope, now: int, _agent: bool) -> dict:
    a = env.action
    builder = _address(_need(a, "builder", "approveBuilderFee"), "builder")
    rate = _str(_need(a, "maxFeeRate", "approveBuilderFee"), "maxFeeRate")
    if not rate.endswith("%"):
        raise ActionError("Invalid max fee rate")
    pct = _decimal(rate[:-1], "maxFeeRate")
    if pct < 0 or pct > Decimal("1"):
        raise ActionError("Max fee rate too high")
    approvals = desk.builder_approvals.setdefault(user, {})
    if builder not in approvals and len(approvals) >= 10:
        raise ActionError("Too many builder fee approvals")
    approvals[builder] = pct
    return DEFAULT_OK


_HANDLERS = {
    "order": _order,
    "cancel": _cancel,
    "cancelByCloid": _cancel_by_cloid,
    "modify": _modify,
    "batchModify": _batch_modify,
    "updateLeverage": _update_leverage,
    "updateIsolatedMargin": _update_isolated_margin,
    "scheduleCancel": _schedule_cancel,
    "twapOrder": _twap_order,
    "twapCancel": _twap_cancel,
    "noop": _noop,
    "usdSend": _usd_send,
    "spotSend": _spot_send,
    "sendAsset": _send_asset,
    "usdClassTransfer": _usd_class_transfer,
    "withdraw3": _withdraw,
    "approveAgent": _approve_agent,
    "approveBuilderFee": _approve_builder_fee,
}

# Sub-accounts, referrals, isolated-only top-ups, vault transfers (exchange_more.py).
from perpcli.devnet.exchange_more import HANDLERS as _MORE_HANDLERS  # noqa: E402 - needs this module's helpers

_HANDLERS.update(_MORE_HANDLERS)
