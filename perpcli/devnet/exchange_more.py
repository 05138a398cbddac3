"""More /exchange actions: sub-accounts, referrals, isolated-only top-ups and vault transfers.

Kept apart from exchange.py (the envelope, authorisation and the trading actions) so each file
holds one job; exchange.py adds `HANDLERS` to its dispatch table. Each handler takes the desk,
the account acted for, the envelope, the time and whether an agent signed, and returns the
venue's JSON answer or raises ActionError with the venue's text.
"""

from __future__ import annotations

from perpcli.devnet.errors import Errors
from perpcli.devnet.exchange import DEFAULT_OK, BadBody, _address, _bool, _decimal, _int, _need, _str, ok
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


# Account abstraction. The devnet keeps each perp dex's collateral apart (the venue's
# "disabled" mode); the modes that pool collateral across dexs or with spot are not modelled,
# and are refused in one line rather than accepted and silently ignored.
_AGENT_MODES = {"i": "disabled", "u": "unifiedAccount", "p": "portfolioMargin"}
_USER_MODES = frozenset(_AGENT_MODES.values())


def _set_mode(desk, user: str, mode: str) -> dict:
    if mode != "disabled":
        raise ActionError(Errors.ABSTRACTION_NOT_MODELLED.format(mode=mode))
    desk.abstraction[user] = mode
    return DEFAULT_OK


def _acting_user(env, user: str, action_type: str) -> None:
    """User-signed abstraction actions name the user; only that user may sign them."""
    named = _address(_need(env.action, "user", action_type), "user")
    if named != user:
        raise ActionError(Errors.ABSTRACTION_USER.format(user=named, signer=user))


def _user_set_abstraction(desk, user: str, env, now: int, _agent: bool) -> dict:
    _acting_user(env, user, "userSetAbstraction")
    mode = _str(_need(env.action, "abstraction", "userSetAbstraction"), "abstraction")
    if mode not in _USER_MODES:
        raise BadBody(f"unknown variant `{mode}`, expected one of `unifiedAccount`, `portfolioMargin`, `disabled`")
    return _set_mode(desk, user, mode)


def _agent_set_abstraction(desk, user: str, env, now: int, _agent: bool) -> dict:
    code = _str(_need(env.action, "abstraction", "agentSetAbstraction"), "abstraction")
    if code not in _AGENT_MODES:
        raise BadBody(f"unknown variant `{code}`, expected one of `i`, `u`, `p`")
    return _set_mode(desk, user, _AGENT_MODES[code])


def _user_dex_abstraction(desk, user: str, env, now: int, _agent: bool) -> dict:
    _acting_user(env, user, "userDexAbstraction")
    if _bool(_need(env.action, "enabled", "userDexAbstraction"), "enabled"):
        raise ActionError(Errors.ABSTRACTION_NOT_MODELLED.format(mode="Dex abstraction"))
    return DEFAULT_OK  # disabling what is already off


def _agent_enable_dex_abstraction(desk, user: str, env, now: int, _agent: bool) -> dict:
    raise ActionError(Errors.ABSTRACTION_NOT_MODELLED.format(mode="Dex abstraction"))


def _evm_user_modify(desk, user: str, env, now: int, _agent: bool) -> dict:
    """`evmUserModify` (the SDK's use_big_blocks): the user's HyperEVM block-size choice.
    The devnet runs no EVM; the choice is kept, as the venue keeps it, and changes nothing."""
    desk.big_blocks[user] = _bool(_need(env.action, "usingBigBlocks", "evmUserModify"), "usingBigBlocks")
    return DEFAULT_OK


def _claim_rewards(desk, user: str, env, now: int, _agent: bool) -> dict:
    desk.engine.claim_rewards(user, now)
    return DEFAULT_OK


HANDLERS = {
    "claimRewards": _claim_rewards,
    "userSetAbstraction": _user_set_abstraction,
    "agentSetAbstraction": _agent_set_abstraction,
    "userDexAbstraction": _user_dex_abstraction,
    "agentEnableDexAbstraction": _agent_enable_dex_abstraction,
    "evmUserModify": _evm_user_modify,
    "createSubAccount": _create_sub_account,
    "subAccountTransfer": _sub_account_transfer,
    "subAccountSpotTransfer": _sub_account_spot_transfer,
    "setReferrer": _set_referrer,
    "registerReferrer": _register_referrer,
    "topUpIsolatedOnlyMargin": _top_up_isolated_only_margin,
    "vaultTransfer": _vault_transfer,
}
