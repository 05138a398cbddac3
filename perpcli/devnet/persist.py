"""The devnet's whole state to and from JSON (Decimals as strings), for `perp devnet --state`.

Saving then loading gives an identical exchange: same books in the same time priority, same
accounts, histories, candles, funding samples, counters (tests compare `to_json` outputs).
Records are encoded field by field and rebuilt from their dataclass annotations.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from decimal import Decimal

from perpcli.devnet.accounts import Account, Position, Wallet
from perpcli.devnet.markets import (
    MarginTable,
    MarginTier,
    MarketSet,
    PerpDex,
    PerpMarket,
    SpotPair,
    SpotToken,
)
from perpcli.devnet.matching import BookOrder
from perpcli.devnet.records import (
    AgentRecord,
    Candle,
    Fill,
    FundingPayment,
    FundingRate,
    LedgerUpdate,
    LiquidationInfo,
    OrderRecord,
    OrderStatusRecord,
    Trade,
    TriggerSpec,
)

STATE_VERSION = 1


def state_to_json(self) -> dict:
    """The whole exchange state as JSON-able data (Decimals as strings)."""
    orders = []
    for o in self._orders.values():
        orders.append(_order_to_json(o))
    books = {coin: [o.oid for o in book.orders_in_priority()] for coin, book in self._books.items()}
    return {
        "version": STATE_VERSION,
        "now_ms": self.now_ms,
        "config": self.config.to_json(),
        "markets": _markets_to_json(self.markets),
        "oracle": {k: str(v) for k, v in self._oracle.items()},
        "mark": {k: str(v) for k, v in self._mark.items()},
        "last_px": {k: str(v) for k, v in self._last_px.items()},
        "orders": orders,
        "books": books,
        "triggers": {c: list(t) for c, t in self._triggers.items()},
        "status": [[oid, _enc(rec)] for oid, rec in self._status.items()],
        "owner": [[oid, u] for oid, u in self._owner.items()],
        "accounts": [_account_to_json(a) for a in self._accounts.values()],
        "agents": [_enc(a) for a in self._agents.values()],
        "trades": {c: [_enc(t) for t in ts] for c, ts in self._trades.items()},
        "candles": {c: {iv: [_enc(k) for k in s] for iv, s in ivs.items()} for c, ivs in self._candles.items()},
        "hour_volume": {c: [[h, str(b), str(n)] for h, (b, n) in hv.items()] for c, hv in self._hour_volume.items()},
        "funding_hist": {c: [_enc(r) for r in rs] for c, rs in self._funding_hist.items()},
        "premium": {c: [str(s), str(n)] for c, (s, n) in self._premium.items()},
        "oi": {c: str(v) for c, v in self._oi.items()},
        "holders": {c: list(h) for c, h in self._holders.items()},
        "last_sample_ms": self._last_sample_ms,
        "next_funding_ms": self._next_funding_ms,
        "next_oid": self._next_oid,
        "seq": self._seq,
        "lid": self._lid,
        "history": self.history.to_json() if self.history is not None else None,
        "sub_accounts": self.sub_state_json(),
    }


def state_from_json(cls, config_cls, data: dict):
    markets = _markets_from_json(data["markets"])
    eng = cls(markets, config_cls.from_json(data["config"]), start_ms=data["now_ms"])
    eng._oracle = {k: Decimal(v) for k, v in data["oracle"].items()}
    eng._mark = {k: Decimal(v) for k, v in data["mark"].items()}
    eng._last_px = {k: Decimal(v) for k, v in data["last_px"].items()}
    eng._orders = {}
    for od in data["orders"]:
        o = _order_from_json(od)
        eng._orders[o.oid] = o
    for coin, oids in data["books"].items():
        for oid in oids:
            eng._books[coin].add(eng._orders[oid])
    eng._triggers = {c: {oid: eng._orders[oid] for oid in oids} for c, oids in data["triggers"].items()}
    eng._status = {oid: _dec(OrderStatusRecord, rec) for oid, rec in data["status"]}
    eng._owner = {oid: u for oid, u in data["owner"]}
    eng._accounts = {}
    for ad in data["accounts"]:
        a = _account_from_json(ad)
        eng._accounts[a.address] = a
        if a.schedule_cancel_ms is not None:
            eng._scheduled[a.address] = None
    eng._agents = {}
    for ad in data["agents"]:
        a = _dec(AgentRecord, ad)
        eng._agents[a.address] = a
    eng._trades = {c: [_dec(Trade, t) for t in ts] for c, ts in data["trades"].items()}
    eng._candles = {c: {iv: [_dec(Candle, k) for k in s] for iv, s in ivs.items()} for c, ivs in data["candles"].items()}
    eng._candle_slots = {}
    eng._hour_volume = {c: {h: [Decimal(b), Decimal(n)] for h, b, n in hv} for c, hv in data["hour_volume"].items()}
    eng._funding_hist = {c: [_dec(FundingRate, r) for r in rs] for c, rs in data["funding_hist"].items()}
    eng._premium = {c: [Decimal(s), Decimal(n)] for c, (s, n) in data["premium"].items()}
    eng._oi = {c: Decimal(v) for c, v in data["oi"].items()}
    eng._holders = {c: dict.fromkeys(h) for c, h in data["holders"].items()}
    eng._last_sample_ms = data["last_sample_ms"]
    eng._next_funding_ms = data["next_funding_ms"]
    eng._next_oid = data["next_oid"]
    eng._seq = data["seq"]
    eng._lid = data["lid"]
    for ad in data["accounts"]:
        if "wallets" not in ad:  # saved when every perp dex shared the default dex's balance
            _split_legacy_collateral(eng, eng._accounts[ad["address"]])
    eng.load_sub_state(data.get("sub_accounts"))
    past = data.get("history")  # absent in states saved before seeded history existed
    if past:
        eng.seed_history(past["seed"], past["launch_ms"], past["days"])
    return eng


def _split_legacy_collateral(eng, acct: Account) -> None:
    """Give each builder dex of an account saved before dexs had their own collateral what
    its positions and orders use (initial margin, any unrealised loss, order margin), taken
    from the default dex's balance, so loading an old state liquidates nobody."""
    from perpcli.devnet import margin_rules as mr

    for pos in acct.positions.values():
        dex = eng._dex_of.get(pos.coin, "")
        if not dex or not pos.is_cross:
            continue  # an isolated position carries its own margin
        mark = eng._mark[pos.coin]
        need = mr.initial_margin(abs(pos.szi) * mark, pos.leverage) + max(-pos.szi * (mark - pos.entry_px), Decimal(0))
        acct.usdc -= need
        eng._dex_wallet(acct, dex).usdc += need
    if any(eng._dex_of.get(eng._orders[oid].coin, "") for oid in acct.open_oids if oid in eng._orders):
        eng._rereserve(acct)
        for w in acct.wallets.values():
            acct.usdc -= w.reserved
            w.usdc += w.reserved


def _enc(v):
    if isinstance(v, Decimal):
        return str(v)
    if is_dataclass(v) and not isinstance(v, type):
        return {f.name: _enc(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, list | tuple):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        return {k: _enc(x) for k, x in v.items()}
    return v


_NESTED = {
    "OrderRecord": OrderRecord,
    "LiquidationInfo": LiquidationInfo,
    "TriggerSpec": TriggerSpec,
    "MarginTier": MarginTier,
}


def _dec(cls, d: dict):
    """Rebuild a record dataclass from `_enc` output using its field annotations."""
    kwargs = {}
    for f in fields(cls):
        if f.name not in d and f.default is not MISSING:
            continue  # a field added since the state was saved keeps its default
        raw = d[f.name]
        t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        kwargs[f.name] = _dec_value(t, raw)
    return cls(**kwargs)


def _dec_value(t: str, raw):
    if raw is None:
        return None
    base = t.replace(" | None", "")
    if base == "Decimal":
        return Decimal(raw)
    if base == "tuple[Decimal, Decimal]":
        return (Decimal(raw[0]), Decimal(raw[1]))
    if base == "list[OrderRecord]":
        return [_dec(OrderRecord, x) for x in raw]
    if base.startswith("tuple[MarginTier"):
        return tuple(_dec(MarginTier, x) for x in raw)
    if base.startswith("tuple[tuple[str, object]"):
        return tuple((k, _dec_tagged(v)) for k, v in raw)
    if base.startswith("tuple[tuple[str, Decimal]"):
        return tuple((k, Decimal(v)) for k, v in raw)
    if base in _NESTED:
        return _dec(_NESTED[base], raw)
    return raw


def _dec_tagged(v):
    if isinstance(v, dict) and "$d" in v:
        return Decimal(v["$d"])
    return v


def _enc_details(details) -> list:
    return [[k, {"$d": str(v)} if isinstance(v, Decimal) else v] for k, v in details]


def _order_to_json(o: BookOrder) -> dict:
    return {
        "oid": o.oid,
        "user": o.user,
        "coin": o.coin,
        "is_buy": o.is_buy,
        "px": str(o.px),
        "sz": str(o.sz),
        "orig_sz": str(o.orig_sz),
        "timestamp": o.timestamp,
        "cloid": o.cloid,
        "reduce_only": o.reduce_only,
        "tif": o.tif,
        "trigger": _enc(o.trigger) if o.trigger is not None else None,
        "order_type": o.order_type,
        "is_position_tpsl": o.is_position_tpsl,
        "group": o.group,
        "children": o.children,
        "parent": o.parent,
        "reserved": str(o.reserved),
        "triggered": o.triggered,
        "builder": list(o.builder) if o.builder is not None else None,
    }


def _order_from_json(d: dict) -> BookOrder:
    o = BookOrder(
        d["oid"],
        d["user"],
        d["coin"],
        d["is_buy"],
        Decimal(d["px"]),
        Decimal(d["sz"]),
        d["timestamp"],
        d["cloid"],
        d["reduce_only"],
        d["tif"],
        _dec(TriggerSpec, d["trigger"]) if d["trigger"] is not None else None,
        d["order_type"],
        d["is_position_tpsl"],
        Decimal(d["orig_sz"]),
    )
    o.group = d["group"]
    o.children = list(d["children"])
    o.parent = d["parent"]
    o.reserved = Decimal(d["reserved"])
    o.triggered = d["triggered"]
    b = d.get("builder")
    o.builder = (b[0], int(b[1])) if b else None
    return o


def _account_to_json(a: Account) -> dict:
    return {
        "address": a.address,
        "usdc": str(a.usdc),
        "spot": {k: str(v) for k, v in a.spot.items()},
        "leverage": {k: [c, lev] for k, (c, lev) in a.leverage.items()},
        "positions": [p.to_json() for p in a.positions.values()],
        "open_oids": list(a.open_oids),
        "cloids": a.cloids,
        "reserved": str(a.reserved),
        "cum_volume": str(a.cum_volume),
        "schedule_cancel": [a.schedule_cancel_ms, a.schedule_cancel_day, a.schedule_cancel_count],
        "order_history": a.order_history,
        "fills": [_enc(f) for f in a.fills],
        "funding": [_enc(f) for f in a.funding],
        "ledger": [{**_enc(u), "details": _enc_details(u.details)} for u in a.ledger],
        "created_ms": a.created_ms,
        "history_limit": a.history_limit,
        "wallets": {dex: [str(w.usdc), str(w.reserved)] for dex, w in a.wallets.items()},
    }


def _account_from_json(d: dict) -> Account:
    a = Account(d["address"], d["created_ms"])
    a.usdc = Decimal(d["usdc"])
    a.spot = {k: Decimal(v) for k, v in d["spot"].items()}
    a.leverage = {k: (c, lev) for k, (c, lev) in d["leverage"].items()}
    for pd in d["positions"]:
        p = Position.from_json(pd)
        a.positions[p.coin] = p
    a.open_oids = dict.fromkeys(d["open_oids"])
    a.cloids = dict(d["cloids"])
    a.reserved = Decimal(d["reserved"])
    a.cum_volume = Decimal(d["cum_volume"])
    a.schedule_cancel_ms, a.schedule_cancel_day, a.schedule_cancel_count = d["schedule_cancel"]
    a.order_history = list(d["order_history"])
    a.fills = [_dec(Fill, f) for f in d["fills"]]
    a.funding = [_dec(FundingPayment, f) for f in d["funding"]]
    a.ledger = [_dec(LedgerUpdate, u) for u in d["ledger"]]
    a.history_limit = d.get("history_limit")
    # The margin rules follow the account's face (faces.py), not a saved flag. States saved
    # while both faces shared one account per address carry `margin_venue: "aster"` on the
    # accounts the Aster face had served: such an account loads as what its id says, the
    # Hyperliquid face's, valued by Hyperliquid's tiers again; the Aster face starts with
    # no account for that address and funds one the first time the address reads its state.
    for dex, (usdc, reserved) in d.get("wallets", {}).items():
        w = a.wallets[dex] = Wallet()
        w.usdc, w.reserved = Decimal(usdc), Decimal(reserved)
    return a


def _markets_to_json(ms: MarketSet) -> dict:
    return {
        "dexs": [_enc(d) for d in ms.dexs],
        "perps": [_enc(p) for p in ms.perps],
        "margin_tables": [_enc(t) for t in ms.margin_tables.values()],
        "spot_tokens": [_enc(t) for t in ms.spot_tokens],
        "spot_pairs": [_enc(p) for p in ms.spot_pairs],
        "collateral_token": ms.collateral_token,
    }


def _markets_from_json(d: dict) -> MarketSet:
    tables = [_dec(MarginTable, t) for t in d["margin_tables"]]
    return MarketSet(
        [_dec(PerpDex, x) for x in d["dexs"]],
        [_dec(PerpMarket, x) for x in d["perps"]],
        {t.id: t for t in tables},
        [_dec(SpotToken, x) for x in d["spot_tokens"]],
        [_dec(SpotPair, x) for x in d["spot_pairs"]],
        d["collateral_token"],
    )
