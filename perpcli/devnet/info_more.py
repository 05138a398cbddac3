"""More /info reads in the venue's shapes: referral, portfolio, TWAP history and slice fills,
predicted fundings, open-interest caps, market-order limits, abstraction, builders, vaults,
staking, sub-accounts and the REST `webData2` aggregate.

Kept apart from info.py (the dispatcher and the core reads) so each file holds one job;
`HANDLERS` maps a request `type` to `handler(desk, req)` where `desk` is the InfoDesk. What
the devnet does not model answers as an account with none of it would (no vaults, no
stake), never with invented activity.
"""

from __future__ import annotations

from decimal import Decimal

from perpcli.devnet import render
from perpcli.devnet.deploy_auction import PERP_DEX_AUCTION, SPOT_TOKEN_AUCTION
from perpcli.devnet.exchange import BadBody
from perpcli.devnet.info import _dex, _field, _user
from perpcli.devnet.markets import MAX_MARKET_ORDER_NTLS
from perpcli.devnet.subaccounts import REFERRER_VOLUME
from perpcli.devnet.twap import twap_state

ZERO = Decimal(0)
_DAY = 86_400_000
# portfolio periods and their windows (None = all time); "perp…" count perp collateral only
_PERIODS = (("day", _DAY), ("week", 7 * _DAY), ("month", 30 * _DAY), ("allTime", None))


def _referral(desk, req):
    user = _user(req)
    engine = desk.engine
    by = engine.referred_by(user)
    code = engine.referral_code_of(user)
    vlm = engine.cum_volume(user)
    earned, unclaimed = engine.builder_rewards(user)  # builders are paid through this claim
    if code is not None:
        states = [
            {
                "cumVlm": render.dec(engine.cum_volume(u)),
                "cumRewardedFeesSinceReferred": "0.0",
                "cumFeesRewardedToReferrer": "0.0",
                "timeJoined": joined,
                "user": u,
                "tokenToState": [],
            }
            for u, joined in engine.referrals_of(user)
        ]
        state = {"stage": "ready", "data": {"code": code, "nReferrals": len(states), "referralStates": states}}
    elif vlm < REFERRER_VOLUME:
        state = {"stage": "needToTrade", "data": {"required": render.dec(REFERRER_VOLUME)}}
    else:
        state = {"stage": "needToCreateCode"}
    return {
        "referredBy": None if by is None else {"referrer": by[0], "code": by[1]},
        "cumVlm": render.dec(vlm),
        "unclaimedRewards": render.dec(unclaimed),
        "claimedRewards": render.dec(engine.claimed_rewards(user)),
        "builderRewards": render.dec(earned),
        "referrerState": state,
        "rewardHistory": [],
        "tokenToState": [],
    }


def _portfolio(desk, req):
    """Per period: the account value now, PnL over the period (realised, fees and funding
    within it, plus open uPnL) and traded volume. The devnet keeps no value snapshots, so each
    history holds the one point it can vouch for: now."""
    user = _user(req)
    engine = desk.engine
    now = desk.now_ms()
    dexs = [d.name for d in engine.markets.dexs]
    perp_value = ZERO
    upnl = ZERO
    for dex in dexs:
        view = engine.clearinghouse_state(user, dex)
        perp_value += view.margin_summary.account_value
        upnl += sum((p.unrealized_pnl for p in view.asset_positions), ZERO)
    spot_usdc = next((b.total for b in engine.spot_balances(user) if b.coin == "USDC"), ZERO)
    fills = engine.user_fills(user, 0, None, limit=10**9)
    funding = engine.user_funding(user, 0, None)
    out = []
    for prefix, value in (("", perp_value + spot_usdc), ("perp", perp_value)):
        for name, window in _PERIODS:
            since = 0 if window is None else now - window
            pnl = upnl + sum((p.usdc for p in funding if p.time >= since), ZERO)
            vlm = ZERO
            for f in fills:
                if f.time < since:
                    continue
                vlm += f.px * f.sz
                opening = f.dir.startswith("Open") or f.dir in ("Buy", "Sell")
                pnl += -f.fee if opening else f.closed_pnl
            period = prefix + (name[0].upper() + name[1:] if prefix else name)
            out.append(
                [
                    period,
                    {
                        "accountValueHistory": [[now, render.dec(value)]],
                        "pnlHistory": [[now, render.dec(pnl)]],
                        "vlm": render.dec(vlm),
                    },
                ]
            )
    return out


def _twapHistory(desk, req):  # noqa: N802 - venue name
    user = _user(req)
    return [] if desk.desk.twaps is None else desk.desk.twaps.history_of(user)


def _userTwapSliceFills(desk, req):  # noqa: N802
    user = _user(req)
    if desk.desk.twaps is None:
        return []
    return [{"fill": f["fill"], "twapId": f["twapId"]} for f in desk.desk.twaps.slice_fills_of(user)][:2000]


def _predictedFundings(desk, req):  # noqa: N802
    """The default dex's coins, each with the devnet's own venue row ("HlPerp") only."""
    engine = desk.engine
    interval = engine.config.funding_interval_ms
    next_time = (engine.now_ms // interval + 1) * interval
    out = []
    for m in engine.markets.perps_of_dex(""):
        if m.is_delisted:
            continue
        rate = engine.asset_ctx(m.name).funding
        row = {"fundingRate": render.dec(rate), "nextFundingTime": next_time, "fundingIntervalHours": interval // 3_600_000}
        out.append([m.name, [["HlPerp", row]]])
    return out


def _perpsAtOpenInterestCap(desk, req):  # noqa: N802
    engine = desk.engine
    d = engine.markets.dex_by_name(_dex(req))
    if d is None:
        return []
    caps = dict(d.streaming_oi_caps)
    out = []
    for m in engine.markets.perps_of_dex(d.name):
        cap = caps.get(m.name)
        if cap is not None and engine.open_interest(m.name) * engine.mark_price(m.name) >= cap:
            out.append(m.name)
    return out


def _maxMarketOrderNtls(desk, req):  # noqa: N802
    return [[lev, render.dec(ntl)] for lev, ntl in MAX_MARKET_ORDER_NTLS]


def _userAbstraction(desk, req):  # noqa: N802
    # Each perp dex keeps its own collateral: "default" until the user picks "disabled", which
    # is the same thing said explicitly (the pooled modes are refused by the devnet).
    return desk.desk.abstraction.get(_user(req), "default")


def _approvedBuilders(desk, req):  # noqa: N802
    user = _user(req)
    return [b for b, pct in desk.desk.builder_approvals.get(user, {}).items() if pct > 0]


def _userVaultEquities(desk, req):  # noqa: N802
    _user(req)
    return []  # the devnet lists no vaults


def _vaultDetails(desk, req):  # noqa: N802
    vault = _field(req, "vaultAddress", str)
    if len(vault) != 42 or not vault.startswith("0x"):
        raise BadBody(f"invalid address {vault!r}: expected 0x + 40 hex digits")
    if req.get("user") is not None:
        _user(req)
    return None  # no vault exists on the devnet: the venue answers null for an unknown vault


def _delegatorSummary(desk, req):  # noqa: N802
    _user(req)
    return {"delegated": "0.0", "undelegated": "0.0", "totalPendingWithdrawal": "0.0", "nPendingWithdrawals": 0}


def _userDexAbstraction(desk, req):  # noqa: N802
    _user(req)
    return False


def _empty_list_of_user(desk, req):
    """Reads of what the devnet does not model (staking): an account that has none of it."""
    _user(req)
    return []


def _perpDeployAuctionStatus(desk, req):  # noqa: N802
    return PERP_DEX_AUCTION.status(desk.now_ms())


def _spotDeployState(desk, req):  # noqa: N802
    _user(req)
    # Token deployments the user has in progress: none can be started on the devnet.
    return {"states": [], "gasAuction": SPOT_TOKEN_AUCTION.status(desk.now_ms())}


def _userToMultiSigSigners(desk, req):  # noqa: N802
    _user(req)
    return None  # the venue answers null for a user that is not multi-sig (the devnet has none)


def _webData2(desk, req):  # noqa: N802
    user = _user(req)
    engine = desk.engine
    now = desk.now_ms()
    agents = [a for a in engine.agents_of(user, now) if not a.name]
    twaps = desk.desk.twaps
    running = [] if twaps is None else [t for t in twaps.running.values() if t.user == user]
    spot_meta_and_ctxs = desk.handle({"type": "spotMetaAndAssetCtxs"})
    return {
        "clearinghouseState": render.clearinghouse(engine.clearinghouse_state(user, "")),
        "leadingVaults": [],
        "totalVaultEquity": "0.0",
        "openOrders": [render.order_frontend(o) for o in engine.open_orders(user, "")],
        "agentAddress": agents[0].address if agents else None,
        "agentValidUntil": agents[0].valid_until if agents else None,
        "cumLedger": "0.0",
        "meta": desk.handle({"type": "meta"}),
        "assetCtxs": [render.asset_ctx(engine.asset_ctx(m.name)) for m in engine.markets.perps_of_dex("")],
        "serverTime": now,
        "isVault": False,
        "user": user,
        "twapStates": [[t.twap_id, twap_state(t)] for t in running],
        "spotState": render.spot_balances(engine.spot_balances(user)),
        "spotAssetCtxs": spot_meta_and_ctxs[1],
        "perpsAtOpenInterestCap": _perpsAtOpenInterestCap(desk, {}),
    }


def sub_accounts(desk, req):
    """`subAccounts`: the master's sub-accounts with their states, or null when it has none."""
    user = _user(req)
    engine = desk.engine
    subs = engine.sub_accounts_of(user)
    if not subs:
        return None
    return [
        {
            "name": name,
            "subAccountUser": address,
            "master": user,
            "clearinghouseState": render.clearinghouse(engine.clearinghouse_state(address, "")),
            "spotState": render.spot_balances(engine.spot_balances(address)),
        }
        for name, address in subs
    ]


HANDLERS = {
    "referral": _referral,
    "portfolio": _portfolio,
    "twapHistory": _twapHistory,
    "userTwapSliceFills": _userTwapSliceFills,
    "predictedFundings": _predictedFundings,
    "perpsAtOpenInterestCap": _perpsAtOpenInterestCap,
    "maxMarketOrderNtls": _maxMarketOrderNtls,
    "userAbstraction": _userAbstraction,
    "approvedBuilders": _approvedBuilders,
    "userVaultEquities": _userVaultEquities,
    "vaultDetails": _vaultDetails,
    "delegatorSummary": _delegatorSummary,
    "delegations": _empty_list_of_user,
    "delegatorRewards": _empty_list_of_user,
    "delegatorHistory": _empty_list_of_user,
    "userDexAbstraction": _userDexAbstraction,
    "webData2": _webData2,
    "perpDeployAuctionStatus": _perpDeployAuctionStatus,
    "spotDeployState": _spotDeployState,
    "userToMultiSigSigners": _userToMultiSigSigners,
}
