"""The Aster face's REST answers: `/fapi/v3/...` over the devnet's one engine.

Public reads (exchangeInfo, depth, tickers, premiumIndex, klines, aggTrades, funding) need no
signature. Every other call is a signed v3 request, checked by auth.py over the bytes
received (query for GET, form body otherwise) before it touches the engine.

The face has its own accounts (faces.py): a request for `user` acts on the engine account
`aster:<user>`, never on the Hyperliquid face's account of the same address, and is always
margined by Aster's brackets. The books are the engine's, shared with the Hyperliquid face
(one liquidity). Every handler below takes that engine account id, not the address. USDT
collateral is the account's perp balance: `perp devnet fund` credits it beside the
Hyperliquid face's account, and an address never seen is funded the first time it reads its
own state (balance, account, positions), as on the Hyperliquid face. Agents approved here
act here only.

The engine knows orders by oid; Aster's client order ids (any 1-36 characters, case kept) and
order types live here, per account, beside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from perpcli.devnet import margin_rules as mr
from perpcli.devnet.aster.auth import NonceBook, parse_params, verify
from perpcli.devnet.aster.errors import AsterError, from_engine
from perpcli.devnet.aster.markets import QUOTE, AsterMarkets, symbol_of
from perpcli.devnet.faces import address_of, aster_account
from perpcli.devnet.records import ActionError, Filled, OrderError, OrderSpec, Resting, TriggerSpec
from perpcli.ledger.margin_rules import BracketRules

ZERO = Decimal(0)
V3 = "/fapi/v3/"
SPOT_V3 = "/api/v3/"
WEIGHT_LIMIT = 2400
WEIGHTS = {"depth": 10, "ticker/24hr": 40, "ticker/bookTicker": 5, "klines": 5, "aggTrades": 20,
           "batchOrders": 5, "countdownCancelAll": 10, "openOrders": 40, "positionRisk": 5, "balance": 5,
           "account": 5, "userTrades": 5, "income": 30, "registerAndApproveAgent": 50}
_TIF_IN = {"GTC": "Gtc", "IOC": "Ioc", "GTX": "Alo"}
_TIF_OUT = {"Gtc": "GTC", "Ioc": "IOC", "Alo": "GTX"}
_TRIGGER_TYPES = {"STOP": "sl", "STOP_MARKET": "sl", "TAKE_PROFIT": "tp", "TAKE_PROFIT_MARKET": "tp"}
_HL_TRIGGER_TYPES = {"Stop Market": "STOP_MARKET", "Stop Limit": "STOP", "Take Profit Market": "TAKE_PROFIT_MARKET",
                     "Take Profit Limit": "TAKE_PROFIT"}
MARKET_SLIPPAGE = Decimal("0.05")


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value else "0"
    return text


def _dec(params: dict, key: str, *, required: bool = True) -> Decimal | None:
    text = params.get(key)
    if text is None or text == "":
        if required:
            raise AsterError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed.")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise AsterError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed.") from None
    if not value.is_finite():
        raise AsterError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed.")
    return value


def _int(params: dict, key: str, default: int | None = None) -> int | None:
    text = params.get(key)
    if text is None or text == "":
        return default
    if not text.lstrip("-").isdigit():
        raise AsterError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed.")
    return int(text)


@dataclass
class OrderMeta:
    """What Aster says about an order that the engine does not keep."""

    symbol: str
    client_id: str
    type: str
    time_in_force: str
    close_position: bool = False
    stop_price: Decimal = ZERO
    time: int = 0


@dataclass
class AccountBook:
    client_ids: dict[str, int] = field(default_factory=dict)  # clientOrderId -> oid
    leverage_mode: dict[str, bool] = field(default_factory=dict)


class AsterDesk:
    """Answers one Aster REST request: (status, JSON payload, extra headers)."""

    def __init__(self, engine, *, is_mainnet: bool = False, listen_keys=None) -> None:
        self.engine = engine
        self.markets = AsterMarkets(engine)
        self.chain_id = 1666 if is_mainnet else 714
        self.nonces = NonceBook()
        self.orders: dict[int, OrderMeta] = {}
        self.accounts: dict[str, AccountBook] = {}
        self.listen_keys = listen_keys if listen_keys is not None else {}  # key -> (account, expiry ms)
        self.depth_ids = None  # set by the stream hub: symbol -> lastUpdateId for a snapshot

    # ----- entry -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, body: bytes, now_ms: int) -> tuple[int, object]:
        if path.startswith(SPOT_V3):
            return self._spot(method, path[len(SPOT_V3):], now_ms)
        name = path[len(V3):]
        try:
            public = getattr(self, "get_" + name.replace("/", "_"), None) if method == "GET" else None
            if public is not None and name in PUBLIC:
                return 200, public(parse_params(query), now_ms)
            wire = query if method == "GET" else (body.decode("utf-8", "replace") or query)
            if (method, name) == ("POST", "registerAndApproveAgent"):  # the main wallet's signature, not v3's
                return 200, self.register_agent(wire, now_ms)
            handler = getattr(self, f"{method.lower()}_{name.replace('/', '_')}", None)
            if handler is None or name in PUBLIC:
                raise AsterError(-1000, f"Unknown endpoint {method} {path}.", status=404)
            req = verify(wire, chain_id=self.chain_id, now_ms=now_ms, nonces=self.nonces, may_sign=self._may_sign)
            account = self.account(req.user)
            self.engine.ensure_account(account, now_ms)
            return 200, handler(req.params, account, now_ms)
        except AsterError as e:
            return e.status, e.body()
        except ActionError as e:
            err = from_engine(str(e))
            return err.status, err.body()

    def _spot(self, method: str, name: str, now: int) -> tuple[int, object]:
        """Aster's spot API (`/api/v3/...`, the venue's sapi host) lists no market on the
        devnet: its exchangeInfo is empty, so a client that loads both APIs (ccxt's
        load_markets) sees the perps alone; everything else there is unknown."""
        if method == "GET" and name == "exchangeInfo":
            return 200, {"timezone": "UTC", "serverTime": now, "rateLimits": [], "exchangeFilters": [],
                         "assets": [], "symbols": []}
        if method == "GET" and name in ("ping", "time"):
            return 200, {} if name == "ping" else {"serverTime": now}
        return 404, AsterError(-1000, f"Unknown endpoint {method} {SPOT_V3}{name}: the devnet has no "
                                      f"Aster spot markets.").body()

    @staticmethod
    def account(address: str) -> str:
        """This face's engine account for `address` (what every handler's `user` is)."""
        return aster_account(address)

    def brackets(self, m) -> BracketRules:
        return mr.aster_brackets(m.max_leverage, m.only_isolated)

    def _may_sign(self, signer: str, user: str) -> bool:
        """The user itself, or an agent approved on this face (registerAndApproveAgent)."""
        if signer == user:
            return True
        return self.engine.resolve_signer(aster_account(signer), self.engine.now_ms) == aster_account(user)

    def _book(self, user: str) -> AccountBook:
        book = self.accounts.get(user)
        if book is None:
            book = self.accounts[user] = AccountBook()
        return book

    # ----- public ------------------------------------------------------------------------------

    def get_ping(self, params, now):
        return {}

    def get_time(self, params, now):
        return {"serverTime": now}

    def get_exchangeInfo(self, params, now):  # noqa: N802 - the venue's name
        return {
            "timezone": "UTC",
            "serverTime": now,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": WEIGHT_LIMIT},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            ],
            "exchangeFilters": [],
            "assets": [{"asset": QUOTE, "marginAvailable": True, "autoAssetExchange": "0"}],
            "symbols": [self.markets.symbol_row(m) for m in self.markets.by_symbol.values()],
        }

    def get_depth(self, params, now):
        m = self.markets.market(params.get("symbol"))
        limit = _int(params, "limit", 500)
        if limit not in (5, 10, 20, 50, 100, 500, 1000):
            raise AsterError(-1130, "Data sent for parameter 'limit' is not valid.")
        last_id = self.depth_ids(m.name) if self.depth_ids is not None else self.engine.now_ms
        snap = self.engine.l2_book(m.name, depth=limit)
        return {"lastUpdateId": last_id, "E": now, "T": now,
                "bids": [[_plain(lv.px), _plain(lv.sz)] for lv in snap.bids],
                "asks": [[_plain(lv.px), _plain(lv.sz)] for lv in snap.asks]}

    def _book_ticker(self, m, now) -> dict:
        snap = self.engine.l2_book(m.name, depth=1)
        bid = snap.bids[0] if snap.bids else None
        ask = snap.asks[0] if snap.asks else None
        return {"symbol": symbol_of(m.name), "bidPrice": _plain(bid.px) if bid else "0",
                "bidQty": _plain(bid.sz) if bid else "0", "askPrice": _plain(ask.px) if ask else "0",
                "askQty": _plain(ask.sz) if ask else "0", "time": now}

    def _each(self, params, row):
        m = self.markets.market(params.get("symbol"), required=False)
        if m is not None:
            return row(m)
        return [row(x) for x in self.markets.by_symbol.values()]

    def get_ticker_bookTicker(self, params, now):  # noqa: N802
        return self._each(params, lambda m: self._book_ticker(m, now))

    def get_ticker_price(self, params, now):
        return self._each(params, lambda m: {"symbol": symbol_of(m.name), "time": now,
                                             "price": _plain(self.engine.mid_price(m.name) or self.engine.mark_price(m.name))})

    def get_ticker_24hr(self, params, now):
        def row(m):
            ctx = self.engine.asset_ctx(m.name)
            last = self.engine.mid_price(m.name) or ctx.mark_px
            change = last - ctx.prev_day_px
            pct = (change / ctx.prev_day_px * 100) if ctx.prev_day_px else ZERO
            return {"symbol": symbol_of(m.name), "priceChange": _plain(change),
                    "priceChangePercent": f"{pct:.3f}", "weightedAvgPrice": _plain(last),
                    "lastPrice": _plain(last), "lastQty": "0", "openPrice": _plain(ctx.prev_day_px),
                    "highPrice": _plain(max(last, ctx.prev_day_px)), "lowPrice": _plain(min(last, ctx.prev_day_px)),
                    "volume": _plain(ctx.day_base_vlm), "quoteVolume": _plain(ctx.day_ntl_vlm),
                    "openTime": now - 86_400_000, "closeTime": now, "firstId": 0, "lastId": 0, "count": 0}
        return self._each(params, row)

    def _premium(self, m, now) -> dict:
        ctx = self.engine.asset_ctx(m.name)
        interval = self.engine.config.funding_interval_ms
        return {"symbol": symbol_of(m.name), "markPrice": _plain(ctx.mark_px), "indexPrice": _plain(ctx.oracle_px),
                "estimatedSettlePrice": _plain(ctx.oracle_px), "lastFundingRate": f"{ctx.funding:.8f}",
                "interestRate": "0.00010000", "nextFundingTime": (now // interval + 1) * interval, "time": now}

    def get_premiumIndex(self, params, now):  # noqa: N802
        return self._each(params, lambda m: self._premium(m, now))

    def get_fundingInfo(self, params, now):  # noqa: N802
        hours = self.engine.config.funding_interval_ms // 3_600_000
        return [{"symbol": symbol_of(m.name), "interestRate": "0.00010000", "time": now,
                 "fundingIntervalHours": hours, "fundingFeeCap": 0.04, "fundingFeeFloor": -0.04}
                for m in self.markets.by_symbol.values()]

    def get_fundingRate(self, params, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        start = _int(params, "startTime", now - 30 * 86_400_000)
        rows = self.engine.funding_history(m.name, start, _int(params, "endTime"))
        limit = min(_int(params, "limit", 100), 1000)
        return [{"symbol": symbol_of(m.name), "fundingRate": f"{r.funding_rate:.8f}", "fundingTime": r.time}
                for r in rows][-limit:]

    def get_klines(self, params, now):
        m = self.markets.market(params.get("symbol"))
        interval = params.get("interval")
        from perpcli.domain.candles import CANDLE_INTERVALS_MS

        if interval not in CANDLE_INTERVALS_MS:
            raise AsterError(-1120, "Invalid interval.")
        limit = min(_int(params, "limit", 500), 1500)
        span = CANDLE_INTERVALS_MS[interval]
        end = _int(params, "endTime", now)
        start = _int(params, "startTime", end - span * limit)
        rows = self.engine.candles(m.name, interval, start, end)
        return [[c.t, _plain(c.o), _plain(c.h), _plain(c.l), _plain(c.c), _plain(c.v), c.t + span - 1,
                 _plain(c.v * c.c), c.n, "0", "0", "0"] for c in rows][:limit]

    def get_aggTrades(self, params, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        limit = min(_int(params, "limit", 500), 1000)
        trades = self.engine.recent_trades(m.name, limit)
        return [agg_trade(t) for t in sorted(trades, key=lambda t: t.tid)]

    get_trades = get_aggTrades

    # ----- signed: orders ------------------------------------------------------------------------

    def post_order(self, params, user, now):
        return self._place(params, user, now)

    def _place(self, params: dict, user: str, now: int) -> dict:
        m = self.markets.market(params.get("symbol"))
        side = params.get("side")
        if side not in ("BUY", "SELL"):
            raise AsterError(-1117, "Invalid side.")
        is_buy = side == "BUY"
        kind = params.get("type", "")
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        close_position = params.get("closePosition", "false").lower() == "true"
        client_id = params.get("newClientOrderId") or f"devnet{os.urandom(8).hex()}"
        if len(client_id) > 36:
            raise AsterError(-4015, "Client order id is not valid.")
        book = self._book(user)
        live = book.client_ids.get(client_id)
        if live is not None and live in self.engine._orders:
            raise AsterError(-4116, "ClientOrderId is duplicated.")
        tif = params.get("timeInForce", "GTC")
        stop = ZERO
        trigger = None
        if close_position:
            if kind not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
                raise AsterError(-1106, "Parameter 'closePosition' sent when not required.")
            held = self.engine.position(user, m.name)
            if held == 0 or (held > 0) == is_buy:
                raise AsterError(-2022, "ReduceOnly Order is rejected.")
            qty, reduce_only = abs(held), True
        else:
            qty = _dec(params, "quantity")
        if kind == "LIMIT":
            px = _dec(params, "price")
            if tif not in _TIF_IN:
                raise AsterError(-1115, "Invalid timeInForce.")
            engine_tif = _TIF_IN[tif]
        elif kind == "MARKET":
            px = self.engine.market_order_px(m.name, is_buy, MARKET_SLIPPAGE)
            engine_tif, tif = "Ioc", "GTC"
        elif kind in _TRIGGER_TYPES:
            stop = _dec(params, "stopPrice")
            self.markets.check_grid(m, stop, Decimal(1).scaleb(-m.sz_decimals))
            is_market = kind.endswith("_MARKET")
            if is_market:
                px = self.markets.round_price(m, stop * (1 + MARKET_SLIPPAGE if is_buy else 1 - MARKET_SLIPPAGE),
                                              down=not is_buy)
            else:
                px = _dec(params, "price")
            trigger = TriggerSpec(is_market=is_market, trigger_px=stop, tpsl=_TRIGGER_TYPES[kind])
            engine_tif = "Gtc"
        else:
            raise AsterError(-1116, "Invalid orderType.")
        self.markets.check_grid(m, px if kind != "MARKET" else None, qty)
        spec = OrderSpec(m.asset, is_buy, px, qty, reduce_only, engine_tif, trigger, None)
        (result,) = self.engine.place_orders(user, [spec], "na", now)
        if isinstance(result, OrderError):
            if result.error.startswith("Order could not immediately match") or result.error.startswith("No liquidity"):
                if kind == "MARKET" and result.error.startswith("No liquidity"):
                    raise from_engine(result.error)
                return self._expired_row(m, params, client_id, kind, tif, qty, px, reduce_only, now)
            raise from_engine(result.error)
        oid = result.oid if isinstance(result, Resting | Filled) else self._last_oid_of(user)
        self.orders[oid] = OrderMeta(symbol_of(m.name), client_id, kind, tif, close_position, stop, now)
        book.client_ids[client_id] = oid
        return self.order_row(user, oid)

    def _last_oid_of(self, user: str) -> int:
        return list(self.engine._accounts[user].open_oids)[-1]

    def _expired_row(self, m, params, client_id, kind, tif, qty, px, reduce_only, now) -> dict:
        self.engine._next_oid += 1
        oid = self.engine._next_oid
        return {"orderId": oid, "symbol": symbol_of(m.name), "status": "EXPIRED", "clientOrderId": client_id,
                "price": _plain(px) if kind != "MARKET" else "0", "avgPrice": "0", "origQty": _plain(qty),
                "executedQty": "0", "cumQty": "0", "cumQuote": "0", "timeInForce": tif, "type": kind,
                "origType": kind, "reduceOnly": reduce_only, "closePosition": False, "side": params["side"],
                "positionSide": "BOTH", "stopPrice": "0", "workingType": "CONTRACT_PRICE", "priceProtect": False,
                "time": now, "updateTime": now}

    def post_batchOrders(self, params, user, now):  # noqa: N802
        import json

        try:
            orders = json.loads(params.get("batchOrders", ""))
        except ValueError:
            raise AsterError(-1102, "Mandatory parameter 'batchOrders' was not sent, was empty/null, or malformed.") from None
        if not isinstance(orders, list) or not orders or len(orders) > 5:
            raise AsterError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
        out = []
        for o in orders:
            try:
                if not isinstance(o, dict):
                    raise AsterError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
                out.append(self._place({k: str(v) if not isinstance(v, bool) else str(v).lower()
                                        for k, v in o.items()}, user, now))
            except AsterError as e:
                out.append(e.body())
            except ActionError as e:
                out.append(from_engine(str(e)).body())
        return out

    def _find(self, params: dict, user: str) -> int:
        m = self.markets.market(params.get("symbol"))
        oid = _int(params, "orderId")
        if oid is None:
            cid = params.get("origClientOrderId")
            if not cid:
                raise AsterError(-1102, "Either orderId or origClientOrderId must be sent.")
            oid = self._book(user).client_ids.get(cid)
            if oid is None:
                raise AsterError(-2013, "Order does not exist.")
        if self.engine._owner.get(oid) != user or self.engine.order_status(user, oid) is None:
            raise AsterError(-2013, "Order does not exist.")
        if self.engine.order_status(user, oid).order.coin != m.name:
            raise AsterError(-2013, "Order does not exist.")
        return oid

    def get_order(self, params, user, now):
        return self.order_row(user, self._find(params, user))

    def delete_order(self, params, user, now):
        oid = self._find(params, user)
        m = self.markets.market(params.get("symbol"))
        (result,) = self.engine.cancel(user, [(m.asset, oid)], now)
        if isinstance(result, OrderError):
            raise AsterError(-2011, "Unknown order sent.")
        return self.order_row(user, oid)

    def delete_batchOrders(self, params, user, now):  # noqa: N802
        import json

        out = []
        ids = json.loads(params.get("orderIdList") or "null") or json.loads(params.get("origClientOrderIdList") or "[]")
        key = "orderId" if params.get("orderIdList") else "origClientOrderId"
        for one in ids[:10]:
            try:
                out.append(self.delete_order({"symbol": params.get("symbol", ""), key: str(one)}, user, now))
            except AsterError as e:
                out.append(e.body())
        return out

    def delete_allOpenOrders(self, params, user, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        oids = [o.oid for o in self.engine.open_orders(user) if o.coin == m.name]
        if oids:
            self.engine.cancel(user, [(m.asset, oid) for oid in oids], now)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def put_order(self, params, user, now):
        oid = self._find(params, user)
        m = self.markets.market(params.get("symbol"))
        meta = self.orders.get(oid)
        status = self.engine.order_status(user, oid)
        if status.status != "open" or (meta is not None and meta.type != "LIMIT"):
            raise AsterError(-2013, "Order does not exist.")
        px, qty = _dec(params, "price"), _dec(params, "quantity")
        self.markets.check_grid(m, px, qty)
        rec = status.order
        spec = OrderSpec(m.asset, rec.side == "B", px, qty, rec.reduce_only, rec.tif or "Gtc", None, None)
        result = self.engine.modify(user, oid, spec, now)
        if isinstance(result, OrderError):
            raise from_engine(result.error)
        new_oid = result.oid if isinstance(result, Resting | Filled) else oid
        if new_oid != oid and meta is not None:  # the engine re-keys a modified order
            self.orders[new_oid] = meta
            self._book(user).client_ids[meta.client_id] = new_oid
        return self.order_row(user, new_oid)

    def get_openOrders(self, params, user, now):  # noqa: N802
        self.engine.ensure_account(user, now)
        m = self.markets.market(params.get("symbol"), required=False)
        rows = [self.order_row(user, o.oid) for o in reversed(self.engine.open_orders(user))
                if symbol_of(o.coin) in self.markets.by_symbol and (m is None or o.coin == m.name)]
        return rows

    def get_openOrder(self, params, user, now):  # noqa: N802
        row = self.get_order(params, user, now)
        if row["status"] not in ("NEW", "PARTIALLY_FILLED"):
            raise AsterError(-2013, "Order does not exist.")
        return row

    def get_allOrders(self, params, user, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        rows = [self.order_row(user, s.order.oid) for s in self.engine.historical_orders(user)
                if s.order.coin == m.name]
        return sorted(rows, key=lambda r: r["orderId"])[-min(_int(params, "limit", 500), 1000):]

    def order_row(self, user: str, oid: int) -> dict:
        status = self.engine.order_status(user, oid)
        rec = status.order
        meta = self.orders.get(oid)
        fills = [f for f in self.engine.user_fills(user) if f.oid == oid]
        executed = sum((f.sz for f in fills), ZERO)
        quote = sum((f.sz * f.px for f in fills), ZERO)
        orig = rec.orig_sz if rec.orig_sz else rec.sz
        live = status.status == "open"
        if live:
            word = "PARTIALLY_FILLED" if executed > 0 else "NEW"
        elif status.status == "filled" or (executed >= orig and executed > 0):
            word = "FILLED"
        elif status.status == "triggered":
            word = "FILLED" if executed >= orig else "NEW"
        elif status.status == "rejected":
            word = "REJECTED"
        else:
            word = "EXPIRED" if (meta and meta.time_in_force == "IOC") or status.status.endswith("Canceled") \
                and status.status != "canceled" else "CANCELED"
        kind = meta.type if meta else (_HL_TRIGGER_TYPES.get(rec.order_type) if rec.is_trigger else "LIMIT")
        tif = meta.time_in_force if meta else _TIF_OUT.get(rec.tif or "Gtc", "GTC")
        return {
            "orderId": oid, "symbol": symbol_of(rec.coin), "status": word,
            "clientOrderId": meta.client_id if meta else (rec.cloid or f"hl{oid}"),
            "price": "0" if kind in ("MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET") else _plain(rec.limit_px),
            "avgPrice": _plain(quote / executed) if executed else "0",
            "origQty": _plain(orig), "executedQty": _plain(executed), "cumQty": _plain(executed),
            "cumQuote": _plain(quote), "timeInForce": tif, "type": kind, "origType": kind,
            "reduceOnly": rec.reduce_only, "closePosition": bool(meta and meta.close_position),
            "side": "BUY" if rec.side == "B" else "SELL", "positionSide": "BOTH",
            "stopPrice": _plain(rec.trigger_px) if rec.is_trigger else "0",
            "workingType": "MARK_PRICE" if rec.is_trigger else "CONTRACT_PRICE", "priceProtect": False,
            "time": rec.timestamp, "updateTime": status.status_timestamp,
        }

    # ----- signed: account -------------------------------------------------------------------

    def get_balance(self, params, user, now):
        self.engine.ensure_account(user, now)
        view = self.engine.clearinghouse_state(user)
        cross_wallet = self.engine.perp_balance(user)
        # The wallet balance counts the isolated positions' wallets too (Binance's `balance`);
        # crossWalletBalance is what is left outside them.
        isolated = sum((_isolated_wallet(p) for p in view.asset_positions if p.leverage_type == "isolated"), ZERO)
        cross_upnl = sum((p.unrealized_pnl for p in view.asset_positions if p.leverage_type == "cross"), ZERO)
        free = max(self.engine.margin_available(user), ZERO)
        return [{"accountAlias": "devnet", "asset": QUOTE, "balance": _plain(cross_wallet + isolated),
                 "crossWalletBalance": _plain(cross_wallet), "crossUnPnl": _plain(cross_upnl),
                 "availableBalance": _plain(free), "maxWithdrawAmount": _plain(view.withdrawable),
                 "marginAvailable": True, "updateTime": now}]

    def get_positionRisk(self, params, user, now):  # noqa: N802
        self.engine.ensure_account(user, now)
        m = self.markets.market(params.get("symbol"), required=False)
        view = {p.coin: p for p in self.engine.clearinghouse_state(user).asset_positions}
        rows = []
        for market in ([m] if m is not None else self.markets.by_symbol.values()):
            p = view.get(market.name)
            mark = self.engine.mark_price(market.name)
            if p is None:
                data = self.engine.active_asset_data(user, market.name)
                rows.append({"symbol": symbol_of(market.name), "positionAmt": "0", "entryPrice": "0",
                             "markPrice": _plain(mark), "unRealizedProfit": "0", "liquidationPrice": "0",
                             "leverage": str(data.leverage_value),
                             "maxNotionalValue": self._max_notional(market, data.leverage_value),
                             "marginType": "cross" if data.leverage_type == "cross" else "isolated",
                             "isolatedMargin": "0", "isAutoAddMargin": "false", "positionSide": "BOTH",
                             "notional": "0", "isolatedWallet": "0", "updateTime": 0})
                continue
            iso = p.leverage_type == "isolated"
            rows.append({"symbol": symbol_of(market.name), "positionAmt": _plain(p.szi),
                         "entryPrice": _plain(p.entry_px), "markPrice": _plain(mark),
                         "unRealizedProfit": _plain(p.unrealized_pnl),
                         "liquidationPrice": _plain(p.liquidation_px) if p.liquidation_px is not None else "0",
                         "leverage": str(p.leverage_value),
                         "maxNotionalValue": self._max_notional(market, p.leverage_value),
                         "marginType": "isolated" if iso else "cross",
                         "isolatedMargin": _plain(p.margin_used) if iso else "0", "isAutoAddMargin": "false",
                         "positionSide": "BOTH", "notional": _plain(p.szi * mark),
                         "isolatedWallet": _plain(_isolated_wallet(p)) if iso else "0",
                         "updateTime": now})
        return rows

    def _max_notional(self, m, leverage: int) -> str:
        return _plain(mr.max_notional_at(self.brackets(m), leverage))

    def get_account(self, params, user, now):
        """Binance's v2 account: totals, the USDT asset and every symbol's margin figures (each
        position's initial margin at its leverage, maintenance by the symbol's brackets)."""
        balance = self.get_balance(params, user, now)[0]
        view = self.engine.clearinghouse_state(user)
        held = {p.coin: p for p in view.asset_positions}
        upnl = sum((p.unrealized_pnl for p in view.asset_positions), ZERO)
        reserved = self.engine.margin_reserved(user)
        positions, total_im, total_mm = [], ZERO, ZERO
        for r in self.get_positionRisk({}, user, now):
            m = self.markets.by_symbol[r["symbol"]]
            p = held.get(m.name)
            notional = abs(Decimal(r["notional"]))
            im = notional / int(r["leverage"]) if p is not None else ZERO
            b = self.brackets(m).bracket(notional)
            mm = notional * b.mmr - b.cum if p is not None else ZERO
            total_im += im
            total_mm += mm
            positions.append({"symbol": r["symbol"], "initialMargin": _plain(im), "maintMargin": _plain(mm),
                              "unrealizedProfit": r["unRealizedProfit"], "positionInitialMargin": _plain(im),
                              "openOrderInitialMargin": "0", "leverage": r["leverage"],
                              "isolated": r["marginType"] == "isolated", "entryPrice": r["entryPrice"],
                              "maxNotional": r["maxNotionalValue"], "positionSide": "BOTH",
                              "positionAmt": r["positionAmt"], "notional": r["notional"],
                              "isolatedWallet": r["isolatedWallet"], "updateTime": r["updateTime"]})
        margin_balance = view.margin_summary.account_value
        asset = {"asset": QUOTE, "walletBalance": balance["balance"], "unrealizedProfit": _plain(upnl),
                 "marginBalance": _plain(margin_balance), "maintMargin": _plain(total_mm),
                 "initialMargin": _plain(total_im + reserved), "positionInitialMargin": _plain(total_im),
                 "openOrderInitialMargin": _plain(reserved), "crossWalletBalance": balance["crossWalletBalance"],
                 "crossUnPnl": balance["crossUnPnl"], "availableBalance": balance["availableBalance"],
                 "maxWithdrawAmount": balance["maxWithdrawAmount"], "marginAvailable": True, "updateTime": now}
        return {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True, "updateTime": now,
                "totalInitialMargin": asset["initialMargin"], "totalMaintMargin": asset["maintMargin"],
                "totalWalletBalance": balance["balance"], "totalUnrealizedProfit": _plain(upnl),
                "totalMarginBalance": _plain(margin_balance), "totalPositionInitialMargin": _plain(total_im),
                "totalOpenOrderInitialMargin": _plain(reserved), "totalCrossWalletBalance": balance["crossWalletBalance"],
                "totalCrossUnPnl": balance["crossUnPnl"], "availableBalance": balance["availableBalance"],
                "maxWithdrawAmount": balance["maxWithdrawAmount"], "assets": [asset], "positions": positions}

    get_accountWithJoinMargin = get_account  # noqa: N815

    def get_userTrades(self, params, user, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        limit = min(_int(params, "limit", 500), 1000)
        fills = self.engine.user_fills(user, _int(params, "startTime"), _int(params, "endTime"))
        rows = [user_trade(f) for f in fills if f.coin == m.name]
        return sorted(rows, key=lambda r: (r["time"], r["id"]))[-limit:]

    def get_income(self, params, user, now):
        start = _int(params, "startTime", 0)
        end = _int(params, "endTime")
        limit = min(_int(params, "limit", 100), 1000)
        wanted = params.get("incomeType")
        m = self.markets.market(params.get("symbol"), required=False)
        rows = []
        for f in self.engine.user_fills(user, start, end):
            if symbol_of(f.coin) not in self.markets.by_symbol:
                continue
            if f.closed_pnl:
                rows.append(income(f.coin, "REALIZED_PNL", f.closed_pnl, f.time, f.tid))
            if f.fee:
                rows.append(income(f.coin, "COMMISSION", -f.fee, f.time, f.tid))
        for p in self.engine.user_funding(user, start, end):
            if symbol_of(p.coin) in self.markets.by_symbol:
                rows.append(income(p.coin, "FUNDING_FEE", p.usdc, p.time, 0))
        rows = [r for r in rows if (wanted is None or r["incomeType"] == wanted)
                and (m is None or r["symbol"] == symbol_of(m.name))]
        return sorted(rows, key=lambda r: r["time"])[:limit]

    def get_commissionRate(self, params, user, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        return {"symbol": symbol_of(m.name), "makerCommissionRate": _plain(self.engine.config.maker_fee),
                "takerCommissionRate": _plain(self.engine.config.taker_fee)}

    def get_leverageBracket(self, params, user, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"), required=False)
        def row(market):
            rules = self.brackets(market)
            return {"symbol": symbol_of(market.name), "brackets": [
                {"bracket": str(i + 1), "initialLeverage": str(b.max_leverage),
                 "notionalCap": _plain(mr.notional_cap(rules, i)), "notionalFloor": _plain(b.floor),
                 "maintMarginRatio": _plain(b.mmr), "cum": _plain(b.cum)}
                for i, b in enumerate(rules.brackets)]}
        return row(m) if m is not None else [row(x) for x in self.markets.by_symbol.values()]

    def post_leverage(self, params, user, now):
        m = self.markets.market(params.get("symbol"))
        lev = _int(params, "leverage")
        if lev is None or lev < 1 or lev > m.max_leverage:
            raise AsterError(-4028, f"Leverage {params.get('leverage')} is not valid")
        data = self.engine.active_asset_data(user, m.name)
        self.engine.update_leverage(user, m.asset, data.leverage_type == "cross", lev, now)
        return {"leverage": lev, "maxNotionalValue": self._max_notional(m, lev), "symbol": symbol_of(m.name)}

    def post_marginType(self, params, user, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        kind = params.get("marginType", "").upper()
        if kind not in ("ISOLATED", "CROSSED"):
            raise AsterError(-1130, "Data sent for parameter 'marginType' is not valid.")
        data = self.engine.active_asset_data(user, m.name)
        if (data.leverage_type == "cross") == (kind == "CROSSED"):
            raise AsterError(-4046, "No need to change margin type.")
        if self.engine.position(user, m.name) != 0:
            raise AsterError(-4048, "Margin type cannot be changed if there exists position.")
        if any(o.coin == m.name for o in self.engine.open_orders(user)):
            raise AsterError(-4047, "Margin type cannot be changed if there exists open orders.")
        self.engine.update_leverage(user, m.asset, kind == "CROSSED", data.leverage_value, now)
        return {"code": 200, "msg": "success"}

    def post_positionMargin(self, params, user, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        amount = _dec(params, "amount")
        kind = _int(params, "type")
        if kind not in (1, 2) or amount <= 0:
            raise AsterError(-1130, "Data sent for parameter 'type' is not valid.")
        self.engine.update_isolated_margin(user, m.asset, amount if kind == 1 else -amount, now)
        return {"amount": float(amount), "code": 200, "msg": "Successfully modify position margin.", "type": kind}

    def post_countdownCancelAll(self, params, user, now):  # noqa: N802
        m = self.markets.market(params.get("symbol"))
        ms = _int(params, "countdownTime")
        if ms is None or ms < 0:
            raise AsterError(-1102, "Mandatory parameter 'countdownTime' was not sent, was empty/null, or malformed.")
        self.engine.schedule_cancel(user, now + ms if ms else None, now)
        return {"symbol": symbol_of(m.name), "countdownTime": str(ms)}

    # ----- agents (API wallets) ---------------------------------------------------------------

    def register_agent(self, wire: str, now: int) -> dict:
        """POST registerAndApproveAgent: the main wallet signs the literal fields (decoded, in
        the order sent) on chain `signatureChainId` (56); the agent may then sign for it."""
        from perpcli.devnet.aster.auth import parse_params
        from perpcli.venues.aster.signing import recover_signer

        msg, sep, signature = wire.rpartition("&signature=")
        if not sep or not signature:
            raise AsterError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
        params = parse_params(msg)
        missing = [k for k in ("user", "nonce", "agentName", "agentAddress", "expired", "signatureChainId")
                   if not params.get(k)]
        if missing:
            raise AsterError(-1102, f"Mandatory parameter '{missing[0]}' was not sent, was empty/null, or malformed.")
        if not params["nonce"].isdigit() or not params["expired"].isdigit() or params["signatureChainId"] != "56":
            raise AsterError(-1130, "Data sent for parameter 'nonce', 'expired' or 'signatureChainId' is not valid.")
        literal = "&".join(f"{k}={v}" for k, v in params.items())
        user = params["user"].lower()
        try:
            recovered = recover_signer(literal, signature, chain_id=56)
        except ValueError:
            raise AsterError(-1022, "Signature for this request is not valid.") from None
        if recovered != user:
            raise AsterError(-1022, "Signature for this request is not valid.")
        if params.get("canWithdraw") == "true" and not params.get("ipWhitelist", "").strip():
            raise AsterError(-1130, "An agent allowed to withdraw needs an IP whitelist.")
        nonce = int(params["nonce"])
        self.nonces.check(user, nonce, now)
        self.nonces.spend(user, nonce)
        self.engine.approve_agent(aster_account(user), aster_account(params["agentAddress"]),
                                  f"{params['agentName']} valid_until {params['expired']}", now)
        return {"code": 200, "msg": "success"}

    def get_agent(self, params, user, now):
        return [{"agentAddress": address_of(a.address), "agentName": a.name, "ipWhitelist": "", "expired": a.valid_until or 0,
                 "source": "api", "canRead": True, "canSpotTrade": False, "canPerpTrade": True, "canWithdraw": False}
                for a in self.engine.agents_of(user, now)]

    def post_noop(self, params, user, now):
        return {"code": 200, "msg": "success"}

    # ----- signed: the user-data stream's key --------------------------------------------------

    def post_listenKey(self, params, user, now):  # noqa: N802
        key = next((k for k, (u, _) in self.listen_keys.items() if u == user), None) or os.urandom(32).hex()
        self.listen_keys[key] = (user, now + 3_600_000)
        return {"listenKey": key}

    def put_listenKey(self, params, user, now):  # noqa: N802
        key = next((k for k, (u, _) in self.listen_keys.items() if u == user), None)
        if key is None:
            raise AsterError(-1125, "This listenKey does not exist.")
        self.listen_keys[key] = (user, now + 3_600_000)
        return {}

    def delete_listenKey(self, params, user, now):  # noqa: N802
        for k in [k for k, (u, _) in self.listen_keys.items() if u == user]:
            del self.listen_keys[k]
        return {}


PUBLIC = frozenset({"ping", "time", "exchangeInfo", "depth", "ticker/bookTicker", "ticker/price", "ticker/24hr",
                    "premiumIndex", "fundingInfo", "fundingRate", "klines", "aggTrades", "trades"})


def _isolated_wallet(p) -> Decimal:
    """An isolated position's wallet: its margin excluding uPnL (isolatedMargin = this + uPnL)."""
    return p.margin_used - p.unrealized_pnl


def agg_trade(t) -> dict:
    return {"a": t.tid, "p": _plain(t.px), "q": _plain(t.sz), "f": t.tid, "l": t.tid, "T": t.time,
            "m": t.side == "A"}


def user_trade(f) -> dict:
    return {"symbol": symbol_of(f.coin), "id": f.tid, "orderId": f.oid, "side": "BUY" if f.side == "B" else "SELL",
            "price": _plain(f.px), "qty": _plain(f.sz), "realizedPnl": _plain(f.closed_pnl), "marginAsset": QUOTE,
            "quoteQty": _plain(f.px * f.sz), "commission": _plain(f.fee), "commissionAsset": QUOTE, "time": f.time,
            "positionSide": "BOTH", "buyer": f.side == "B", "maker": not f.crossed}


def income(coin: str, kind: str, amount: Decimal, time: int, trade_id: int) -> dict:
    return {"symbol": symbol_of(coin), "incomeType": kind, "income": _plain(amount), "asset": QUOTE,
            "info": kind, "time": time, "tranId": time * 1000 + trade_id % 1000, "tradeId": str(trade_id or "")}


def weight(method: str, path: str) -> int:
    return WEIGHTS.get(path[len(V3):], 1)
