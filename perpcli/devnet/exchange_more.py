"""More /exchange actions: sub-accounts, referrals, isolated-only top-ups and vault transfers.

Kept apart from exchange.py (the envelope, authorisation and the trading actions) so each file
holds one job; exchange.py adds `HANDLERS` to its dispatch table. Each handler takes the desk,
the account acted for, the envelope, the time and whether an agent signed, and returns the
venue's JSON answer or raises ActionError with the venue's text.
"""

from __future__ import annotations

from perpcli.devnet.exchange import DEFAULT_OK, _address, _bool, _decimal, _int, _need, _str, ok
from perpcli.devnet.records import ActionError

VAULT_MISSING = "Vault does not exist."


def _create_sub_account(desk, user: str, env, now: int, _agent: bool) -> dict:
    name = _str(_need(env.action, "name", "createSubAccount"), "name")
    address = desk.engine.create_sub_account(user, name, now)
    return ok({"type": "createSubAccount", "data": address})


def _sub_account_transfer(desk, user: str, env, now: int, _agent: bool) -> dict:
    a = env.action
    sub = _address(_need(a, "subAccountUser", "subAccountTransfer"), "subAccountUser")
    is_deposit = _bool(_need(a, "isDeposit", "subAccountTransfer"), "isDeposit")
    usd = _int(_need(a, "usd", "subAccountTransfer"), "usd")
    desk.engine.sub_account_transfer(user, sub, is_deposit, usd, now)
    return DEFAULT_OK


def _sub_account_spot_transfer(desk, user: str, env, now: int, _agent: bool) -> dict:
    a = env.action
    sub = _address(_need(a, "subAccountUser", "subAccountSpotTransfer"), "subAccountUser")
    is_deposit = _bool(_need(a, "isDeposit", "subAccountSpotTransfer"), "isDeposit")
    token = _str(_need(a, "token", "subAccountSpotTransfer"), "token").split(":", 1)[0]
    amount = _decimal(_need(a, "amount", "subAccountSpotTransfer"), "amount")
    desk.engine.sub_account_spot_transfer(user, sub, is_deposit, token, amount, now)
    return DEFAULT_OK


def _set_referrer(desk, user: str, env, now: int, _agent: bool) -> dict:
    desk.engine.set_referrer(user, _str(_need(env.action, "code", "setReferrer"), "code"), now)
    return DEFAULT_OK


def _register_referrer(desk, user: str, env, now: int, _agent: bool) -> dict:
    desk.engine.register_referrer(user, _str(_need(env.action, "code", "registerReferrer"), "code"), now)
    return DEFAULT_OK


def _top_up_isolated_only_margin(desk, user: str, env, now: int, _agent: bool) -> dict:
    a = env.action
    asset = _int(_need(a, "asset", "topUpIsolatedOnlyMargin"), "asset")
    leverage = _decimal(_need(a, "leverage", "topUpIsolatedOnlyMargin"), "leverage")
    desk.engine.top_up_isolated_only_margin(user, asset, leverage, now)
    return DEFAULT_OK


def _vault_transfer(desk, user: str, env, now: int, _agent: bool) -> dict:
    a = env.action
    _address(_need(a, "vaultAddress", "vaultTransfer"), "vaultAddress")
    _bool(_need(a, "isDeposit", "vaultTransfer"), "isDeposit")
    _int(_need(a, "usd", "vaultTransfer"), "usd")
    raise ActionError(VAULT_MISSING)  # the devnet lists no vaults (vaultDetails answers null)


HANDLERS = {
    "createSubAccount": _create_sub_account,
    "subAccountTransfer": _sub_account_transfer,
    "subAccountSpotTransfer": _sub_account_spot_transfer,
    "setReferrer": _set_referrer,
    "registerReferrer": _register_referrer,
    "topUpIsolatedOnlyMargin": _top_up_isolated_only_margin,
    "vaultTransfer": _vault_transfer,
}
