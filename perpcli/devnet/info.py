"""POST /info: read queries answered from engine state in the venue's exact JSON (§a.1).

Reads are unsigned and public by address, as on the venue: any client may query any user.
Unknown users get empty structures; an agent address gets empty results (query the master).
With auto-fund on, a read of an address's own state (userRole, clearinghouseState,
spotClearinghouseState) is what creates and funds a never-seen address (`_own_state`).
A body that does not deserialize (unknown `type`, missing or mistyped field) raises
`BadBody`, which the server turns into HTTP 422 text/plain.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from perpcli.devnet import render
from perpcli.devnet.exchange import BadBody

INFO_TYPES = (
    "meta",
    "metaAndAssetCtxs",
    "spotMeta",
    "spotMetaAndAssetCtxs",
    "perpDexs",
    "allMids",
    "l2Book",
    "clearinghouseState",
    "spotClearinghouseState",
    "openOrders",
    "frontendOpenOrders",
    "userFills",
    "userFillsByTime",
    "orderStatus",
    "historicalOrders",
    "userFunding",
    "userNonFundingLedgerUpdates",
    "fundingHistory",
    "candleSnapshot",
    "userRateLimit",
    "userRole",
    "extraAgents",
    "activeAssetData",
    "recentTrades",
    "maxBuilderFee",
    "exchangeStatus",
    "userFees",
    "subAccounts",
)

INTERVAL_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 2_592_000_000,
}


def _field(req: dict, key: str, kind: type | tuple, *, optional: bool = False):
    if key not in req or (optional and req[key] is None):
        if optional:
            return None
        raise BadBody(f"missing field `{key}` at line 1 column {len(json.dumps(req))}")
    value = req[key]
    if isinstance(value, bool) and kind is not bool:
        raise BadBody(f"invalid type: boolean `{str(value).lower()}`, expected {_kind_name(kind)}")
    if not isinstance(value, kind):
        raise BadBody(f"invalid type: {json.dumps(value)}, expected {_kind_name(kind)}")
    return value


def _kind_name(kind) -> str:
    return {str: "a string", int: "u64", bool: "a boolean", dict: "a map", list: "a sequence"}.get(kind, "a value")


def _user(req: dict) -> str:
    user = _field(req, "user", str)
    if len(user) != 42 or not user.startswith("0x"):
        raise BadBody(f"invalid address {user!r}: expected 0x + 40 hex digits")
    try:
        int(user[2:], 16)
    except ValueError:
        raise BadBody(f"invalid address {user!r}: expected 0x + 40 hex digits") from None
    return user.lower()


def _dex(req: dict) -> str:
    dex = req.get("dex")
    if dex is None:
        return ""
    if not isinstance(dex, str):
        raise BadBody(f"invalid type: {json.dumps(dex)}, expected a string")
    return dex


class InfoDesk:
    """Answers /info bodies. `engine` is a devnet Engine; `desk` the ExchangeDesk (rate limits,
    builder approvals); `now_ms` is read through the callable so answers carry the server time."""

    def __init__(self, engine, desk, now_ms: Callable[[], int]) -> None:
        self.engine = engine
        self.desk = desk
        self.now_ms = now_ms

    def handle_body(self, body: bytes):
        try:
            req = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise BadBody(f"{e}") from None
        return self.handle(req)

    def handle(self, req):
        if not isinstance(req, dict):
            raise BadBody("invalid type: expected internally tagged enum InfoRequest")
        kind = req.get("type")
        if not isinstance(kind, str):
            raise BadBody("missing field `type`")
        method = getattr(self, "_" + kind, None) if kind in INFO_TYPES else None
        if method is None:
            more = _MORE_HANDLERS.get(kind)  # info_more.py
            if more is not None:
                return more(self, req)
            known = (*INFO_TYPES, *_MORE_HANDLERS)
            raise BadBody(f"unknown variant `{kind}`, expected one of {', '.join('`' + t + '`' for t in known)}")
        return method(req)

    # -- helpers -----------------------------------------------------------------------------

    def _own_state(self, req: dict) -> str:
        """The `user` of a read of that address's own state: with auto-fund on, an address the
        devnet has never seen is created and funded here (its first look at itself), so a
        fresh key works without a deposit while a mis-signed action still meets an unknown
        signer."""
        user = _user(req)
        self.engine.ensure_account(user, self.now_ms())
        return user

    def _is_agent(self, user: str) -> bool:
        return self.engine.is_agent(user, self.now_ms())

    def _coin_or_422(self, coin: str):
        m = self.engine.market(coin)
        if m is None:
            raise BadBody(f"unknown coin `{coin}`")
        return m

    def _meta_obj(self, dex: str) -> dict | None:
        markets = self.engine.markets
        if dex and markets.dex_by_name(dex) is None:
            return None
        universe = []
        table_ids = set()
        for m in markets.perps_of_dex(dex):
            row: dict = {"name": m.name, "szDecimals": m.sz_decimals, "maxLeverage": m.max_leverage}
            if m.margin_table_id >= 50:
                row["marginTableId"] = m.margin_table_id
            table_ids.add(m.margin_table_id)
            if m.only_isolated or m.margin_mode:
                row["onlyIsolated"] = True
            if m.margin_mode:
                row["marginMode"] = m.margin_mode
            if m.is_delisted:
                row["isDelisted"] = True
            if m.growth_mode:
                row["growthMode"] = m.growth_mode
            universe.append(row)
        tables = []
        for tid in sorted(table_ids):
            t = markets.margin_table(tid)
            tables.append(
                [
                    tid,
                    {
                        "description": t.description,
                        "marginTiers": [
                            {"lowerBound": render.dec(x.lower_bound), "maxLeverage": x.max_leverage} for x in t.tiers
                        ],
                    },
                ]
            )
        return {"universe": universe, "marginTables": tables, "collateralToken": markets.collateral_token}

    def _spot_meta_obj(self) -> dict:
        markets = self.engine.markets
        return {
            "tokens": [
                {
                    "name": t.name,
                    "szDecimals": t.sz_decimals,
                    "weiDecimals": t.wei_decimals,
                    "index": t.index,
                    "tokenId": t.token_id,
                    "isCanonical": t.is_canonical,
                    "evmContract": None,
                    "fullName": t.full_name,
                }
                for t in markets.spot_tokens
            ],
            "universe": [
                {"name": p.name, "tokens": [p.base, p.quote], "index": p.index, "isCanonical": p.is_canonical}
                for p in markets.spot_pairs
            ],
        }

    # -- market data ---------------------------------------------------------------------------

    def _meta(self, req):
        return self._meta_obj(_dex(req))

    def _metaAndAssetCtxs(self, req):  # noqa: N802 - venue name
        dex = _dex(req)
        meta = self._meta_obj(dex)
        if meta is None:
            return None
        ctxs = [render.asset_ctx(self.engine.asset_ctx(m.name)) for m in self.engine.markets.perps_of_dex(dex)]
        return [meta, ctxs]

    def _spotMeta(self, req):  # noqa: N802
        return self._spot_meta_obj()

    def _spotMetaAndAssetCtxs(self, req):  # noqa: N802
        markets = self.engine.markets
        ctxs = []
        for p in markets.spot_pairs:
            mark, mid, prev, day_ntl, day_base = self.engine.spot_ctx(p.name)  # the pair's own book
            ctxs.append(
                {
                    "dayNtlVlm": render.dec(day_ntl),
                    "markPx": render.dec(mark),
                    "midPx": render.opt_dec(mid),
                    "prevDayPx": render.dec(prev),
                    "circulatingSupply": "1000000000.0",
                    "coin": p.name,
                    "totalSupply": "1000000000.0",
                    "dayBaseVlm": render.dec(day_base),
                }
            )
        return [self._spot_meta_obj(), ctxs]

    def _perpDexs(self, req):  # noqa: N802
        out: list = []
        for d in sorted(self.engine.markets.dexs, key=lambda d: d.index):
            if d.index == 0:
                out.append(None)
                continue
            coins = [m.name for m in self.engine.markets.perps_of_dex(d.name)]
            out.append(
                {
                    "name": d.name,
                    "fullName": d.full_name,
                    "deployer": d.deployer,
                    "oracleUpdater": d.oracle_updater,
                    "feeRecipient": d.fee_recipient,
                    "assetToStreamingOiCap": [[c, render.dec(v)] for c, v in d.streaming_oi_caps],
                    "assetToFundingMultiplier": [
                        [c, render.dec(self.engine.market(c).funding_multiplier)] for c in coins
                    ],
                }
            )
        return out

    def _allMids(self, req):  # noqa: N802
        return {coin: render.dec(px) for coin, px in self.engine.all_mids(_dex(req)).items()}

    def _l2Book(self, req):  # noqa: N802
        coin = _field(req, "coin", str)
        n_sig = _field(req, "nSigFigs", int, optional=True)
        if n_sig is not None and n_sig not in (2, 3, 4, 5):
            raise BadBody(f"invalid value: integer `{n_sig}`, expected nSigFigs in 2..=5")
        mantissa = _field(req, "mantissa", int, optional=True)
        if mantissa is not None and (n_sig != 5 or mantissa not in (1, 2, 5)):
            raise BadBody(f"invalid value: integer `{mantissa}`, expected mantissa 1, 2 or 5 with nSigFigs 5")
        if not self.engine.has_book(coin):  # a perp or a spot pair
            return None
        return render.l2_book(self.engine.l2_book(coin, 20, n_sig, mantissa))

    def _recentTrades(self, req):  # noqa: N802
        coin = _field(req, "coin", str)
        if not self.engine.has_book(coin):
            return []
        return [render.trade(t) for t in self.engine.recent_trades(coin)]

    def _fundingHistory(self, req):  # noqa: N802
        coin = _field(req, "coin", str)
        start = _field(req, "startTime", int)
        end = _field(req, "endTime", int, optional=True)
        if self.engine.market(coin) is None:
            return []
        return [render.funding_rate_row(f) for f in self.engine.funding_history(coin, start, end)][:500]

    def _candleSnapshot(self, req):  # noqa: N802
        inner = _field(req, "req", dict)
        coin = _field(inner, "coin", str)
        interval = _field(inner, "interval", str)
        if interval not in INTERVAL_MS:
            raise BadBody(f"unknown variant `{interval}`, expected one of {', '.join(INTERVAL_MS)}")
        start = _field(inner, "startTime", int)
        end = _field(inner, "endTime", int, optional=True)
        if not self.engine.has_book(coin):
            return []
        end = self.now_ms() if end is None else end
        return [render.candle(c) for c in self.engine.candles(coin, interval, start, end)][-5000:]

    def _exchangeStatus(self, req):  # noqa: N802
        return {"time": self.now_ms(), "specialStatuses": None}

    # -- accounts ------------------------------------------------------------------------------

    def _clearinghouseState(self, req):  # noqa: N802
        user = self._own_state(req)
        return render.clearinghouse(self.engine.clearinghouse_state(user, _dex(req)))

    def _spotClearinghouseState(self, req):  # noqa: N802
        return render.spot_balances(self.engine.spot_balances(self._own_state(req)))

    def _openOrders(self, req):  # noqa: N802
        user = _user(req)
        return [render.order_basic(o) for o in self.engine.open_orders(user, _dex(req))]

    def _frontendOpenOrders(self, req):  # noqa: N802
        user = _user(req)
        return [render.order_frontend(o) for o in self.engine.open_orders(user, _dex(req))]

    def _userFills(self, req):  # noqa: N802
        user = _user(req)
        return [render.fill(f) for f in self.engine.user_fills(user, limit=2000)]

    def _userFillsByTime(self, req):  # noqa: N802
        user = _user(req)
        start = _field(req, "startTime", int)
        end = _field(req, "endTime", int, optional=True)
        return [render.fill(f) for f in self.engine.user_fills(user, start, end, limit=2000)]

    def _orderStatus(self, req):  # noqa: N802
        user = _user(req)
        oid = req.get("oid")
        if isinstance(oid, str):
            if len(oid) != 34 or not oid.startswith("0x"):
                raise BadBody(f"invalid cloid {oid!r}")
            target: int | str = oid.lower()
        elif isinstance(oid, int) and not isinstance(oid, bool):
            target = oid
        else:
            raise BadBody("missing field `oid`" if oid is None else f"invalid type: {json.dumps(oid)}, expected u64")
        status = self.engine.order_status(user, target)
        if status is None:
            return {"status": "unknownOid"}
        return {"status": "order", "order": render.order_status_entry(status)}

    def _historicalOrders(self, req):  # noqa: N802
        user = _user(req)
        return [render.order_status_entry(s) for s in self.engine.historical_orders(user, 2000)]

    def _userFunding(self, req):  # noqa: N802
        user = _user(req)
        start = _field(req, "startTime", int, optional=True) or 0  # optional on the venue
        end = _field(req, "endTime", int, optional=True)
        return [render.user_funding_row(p) for p in self.engine.user_funding(user, start, end)][:500]

    def _userNonFundingLedgerUpdates(self, req):  # noqa: N802
        user = _user(req)
        start = _field(req, "startTime", int, optional=True) or 0  # optional on the venue
        end = _field(req, "endTime", int, optional=True)
        return [render.ledger_row(u) for u in self.engine.user_ledger(user, start, end)][:500]

    def _userRateLimit(self, req):  # noqa: N802
        return self.desk.rate_limit_view(_user(req))

    def _userRole(self, req):  # noqa: N802
        user = self._own_state(req)
        role, master = self.engine.user_role(user, self.now_ms())
        sub_master = self.engine.master_of(user)
        if sub_master is not None:
            return {"role": "subAccount", "data": {"master": sub_master}}
        if role == "agent":
            return {"role": "agent", "data": {"user": master}}
        return {"role": role}

    def _extraAgents(self, req):  # noqa: N802
        user = _user(req)
        return [
            {"name": a.name, "address": a.address, "validUntil": a.valid_until}
            for a in self.engine.agents_of(user, self.now_ms())
            if a.name
        ]

    def _activeAssetData(self, req):  # noqa: N802
        user = _user(req)
        coin = _field(req, "coin", str)
        self._coin_or_422(coin)
        return render.active_asset_data(self.engine.active_asset_data(user, coin))

    def _maxBuilderFee(self, req):  # noqa: N802
        user = _user(req)
        builder = _field(req, "builder", str).lower()
        pct = self.desk.builder_approvals.get(user, {}).get(builder, Decimal(0))
        return int(pct * 1000)  # percent -> tenths of a basis point

    def _userFees(self, req):  # noqa: N802
        _user(req)
        cfg = self.engine.config
        return {
            "dailyUserVlm": [],
            "feeSchedule": {
                "cross": render.dec(cfg.taker_fee),
                "add": render.dec(cfg.maker_fee),
                "spotCross": "0.0007",
                "spotAdd": "0.0004",
                "tiers": {"vip": [], "mm": []},
                "referralDiscount": "0.0",
            },
            "userCrossRate": render.dec(cfg.taker_fee),
            "userAddRate": render.dec(cfg.maker_fee),
            "userSpotCrossRate": "0.0007",
            "userSpotAddRate": "0.0004",
            "activeReferralDiscount": "0.0",
        }

    def _subAccounts(self, req):  # noqa: N802
        return _sub_accounts(self, req)


# The rest of the venue's reads (info_more.py); imported last: it uses this module's helpers.
from perpcli.devnet.info_more import HANDLERS as _MORE_HANDLERS  # noqa: E402
from perpcli.devnet.info_more import sub_accounts as _sub_accounts  # noqa: E402
