"""Aster's keyed side: signed v3 requests, orders and their settlement, account reads.

- Who trades. A key signs either for its own account or, as an approved agent (API wallet),
  for the account named by `TradingOptions.account_override` (config `venues.aster.vault_address`
  / --vault-address): every request carries `user` (the account) and `signer` (the key).
- Every keyed action is first `prepare`d into the exact signed requests (what --dry-run
  prints: the same layout as `perp sign --venue aster`), then sent. A prepared body is
  `{"requests": [...]}`: Aster needs one request per symbol for some actions (leverage and
  margin type, the dead-man switch), each with its own nonce.
- How an unanswered order is settled. Nothing is resent. The order is looked up by its client
  order id; if the venue has never heard of it, `POST /fapi/v3/noop` is sent with the *same
  nonce*: accepted, the original can never execute (reported as not placed); refused as a
  used nonce, the original landed and is looked up again. Only then does an Ack stay UNKNOWN.

- The account stream is the listenKey user-data stream, kept alive and re-created on expiry.

- Aster looks an order up per symbol. The symbol of every order this process placed, modified
  or listed is remembered; an order it never saw is searched for among the symbols the account
  touched (open orders, positions, and income of the last 7 days).

Refused (exit 2): TWAP (Aster has none) and transfers (not part of the v3 futures API).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import ErrorKind, UsageError, ValidationError, VenueRejected
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.keys.nonces import MicrosecondNonceAllocator
from perpcli.venues.aster import codec_account as codec
from perpcli.venues.aster.rest import SentNoAnswer
from perpcli.venues.base import (
    Ack,
    AckStatus,
    ActionResult,
    CancelResult,
    CancelTarget,
    KeyRole,
    LeverageSetting,
    MarginAccount,
    Positions,
    Prepared,
    TradingOptions,
)
from perpcli.venues.settle import settle_unanswered, unanswered_acks

if TYPE_CHECKING:
    from perpcli.venues.aster.adapter import AsterMarketData

MAX_BATCH_ORDERS = 5
MAX_BATCH_CANCELS = 10
SETTLE_POLLS = 3
SETTLE_POLL_INTERVAL_S = 0.3
_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK", TimeInForce.ALO: "GTX"}
_TRIGGER_TYPES = {
    OrderType.STOP_MARKET: "STOP_MARKET",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT_MARKET",
    OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT",
}


def _plain(value: Decimal) -> str:
    from perpcli.domain.order_rules import plain

    return plain(value)


class AsterTrading:
    """The keyed side. Build with `AsterMarketData.trading(signer)`."""

    def __init__(self, market: AsterMarketData, signer: Any, *, options: TradingOptions | None = None,
                 nonces: Any = None) -> None:
        from perpcli.venues.aster.signing import checksum_address

        options = options or TradingOptions()
        self.market = market
        self.venue = market.venue
        self.rest = market.rest
        self._signer = signer
        self._signer_cs = checksum_address(signer.address)
        account = options.account_override or _bound_master(signer, market.venue) or signer.address
        self._account_cs = checksum_address(account)
        self.nonces = nonces if nonces is not None else MicrosecondNonceAllocator(signer.address)
        self._fees: Any = None
        self.sleep = market.sleep
        market.bracket_source = lambda: self._read("/fapi/v3/leverageBracket")  # the full bracket table
        self._symbol_of: dict[str, str] = {}  # order id or client order id -> symbol, as seen

    @property
    def capabilities(self) -> Any:
        return self.market.capabilities

    # ----- who is trading -------------------------------------------------------------------

    @property
    def signer_address(self) -> str:
        return self._signer.address

    @property
    def account_address(self) -> str:
        return self._account_cs.lower()

    def resolve_account(self) -> KeyRole:
        """Aster names the account in every request: the key acts for itself, or as an agent
        for the configured account (the venue refuses a key that is not approved for it)."""
        role = "user" if self.account_address == self.signer_address else "agent"
        return KeyRole(signer=self.signer_address, role=role, account=self.account_address)

    def require_registered(self) -> KeyRole:
        return self.resolve_account()

    # ----- the account stream (listenKey) -----------------------------------------------------

    listen_key_keepalive_s = 30 * 60.0  # the key lives 60 min; a PUT every 30 keeps it

    def listen_key(self) -> str:
        """POST /fapi/v3/listenKey: a new key, or the active one extended."""
        answer = self._send_one(self._request("POST", "/fapi/v3/listenKey", {}))
        key = answer.get("listenKey") if isinstance(answer, dict) else None
        if not isinstance(key, str) or not key.isalnum():
            raise VenueRejected(f"the venue answered no usable listenKey: {str(answer)[:200]}")
        return key

    def keep_listen_key_alive(self) -> None:
        self._send_one(self._request("PUT", "/fapi/v3/listenKey", {}))

    def stream_account(self) -> Any:
        """This account's order updates, fills and balances from the user-data stream, plus
        ConnectionStatus events. The listenKey is kept alive (PUT every 30 min) and created
        anew when the venue says it expired (user_stream.py); after each reconnect what the
        socket missed is read back over REST. Facts come once each across reconnects."""
        import time

        from perpcli.venues.live import iterate

        feed = self.market.live_feed(self.account_address)
        socket = feed.account_socket(self)
        started_ms = time.time_ns() // 1_000_000

        async def backfill() -> list[Any]:
            import asyncio

            updates = await asyncio.to_thread(self.order_updates_since, started_ms)
            fills = await asyncio.to_thread(self.fills, started_ms)
            return [*updates, *fills]

        return iterate(feed, self.venue, [socket.subscription], socket=socket, backfill=backfill)

    # ----- signing and sending --------------------------------------------------------------

    def _request(self, method: str, path: str, params: Sequence[tuple[str, object]] | dict[str, object],
                 *, nonce: int | None = None) -> dict[str, object]:
        from perpcli.venues.aster.offline import build_signed_request

        doc = {"method": method, "path": path, "params": dict(params)}
        return build_signed_request(doc, self._signer, base_url=self.market.url,
                                    is_mainnet=self.market.network == "mainnet",
                                    nonce=self.nonces.next() if nonce is None else nonce, user=self._account_cs)

    def _send_one(self, request: dict[str, object]) -> Any:
        method, path = str(request["method"]), str(request["path"])
        wire = request["query"] if method == "GET" else request["body"]
        return self.rest.signed(method, path, str(wire))

    def _read(self, path: str, params: dict[str, object] | None = None) -> Any:
        return self._send_one(self._request("GET", path, params or {}))

    # ----- reads ----------------------------------------------------------------------------

    def _position_rows(self) -> list[Any]:
        return list(self._read("/fapi/v3/positionRisk") or [])

    def margin_accounts(self) -> list[MarginAccount]:
        return [MarginAccount("", self.account())]  # one account per key on Aster

    def account(self, market: str | None = None) -> Any:
        totals = self._read("/fapi/v3/accountWithJoinMargin") or {}
        orders = self._read("/fapi/v3/openOrders") or []
        self._remember_rows(orders)
        return codec.account_totals(totals, self._position_rows(), venue=self.venue, account=self.account_address,
                                    time_ms=self.market.now_ms(), open_order_rows=orders)

    def positions(self, *, all_dexes: bool = True) -> Positions:
        pos, marks = codec.positions(self._position_rows())
        return Positions(pos, marks)

    def open_orders(self, *, all_dexes: bool = True) -> list[Any]:
        rows = self._read("/fapi/v3/openOrders") or []
        self._remember_rows(rows)
        return codec.open_orders(rows, venue=self.venue)

    def note_order(self, symbol: str, *ids: str | None) -> None:
        """Remember the symbol of an order id / client order id (Aster looks orders up per symbol)."""
        for i in ids:
            if i:
                self._symbol_of[str(i)] = symbol

    def _remember_rows(self, rows: Sequence[Any]) -> None:
        for r in rows:
            if isinstance(r, dict) and r.get("symbol"):
                self.note_order(str(r["symbol"]), str(r.get("orderId") or ""), str(r.get("clientOrderId") or ""))

    def _income(self, since_ms: int | None, end_ms: int | None = None, income_type: str | None = None) -> list[Any]:
        """Income rows from `since_ms` (the venue's default: the last 7 days), oldest first,
        paged by time (1000 rows a page)."""
        out: list[Any] = []
        seen: set[tuple] = set()
        start = since_ms
        while True:
            params: dict[str, object] = {"limit": 1000}
            if income_type:
                params["incomeType"] = income_type
            if start is not None:
                params["startTime"] = start
            if end_ms is not None:
                params["endTime"] = end_ms
            rows = list(self._read("/fapi/v3/income", params) or [])
            for r in rows:
                key = (r.get("tranId"), r.get("incomeType"), r.get("time"), r.get("symbol"))
                if key not in seen:
                    seen.add(key)
                    out.append(r)
            if len(rows) < 1000 or start is None:
                return out
            last = max(int(r["time"]) for r in rows)
            if last == start:
                return out
            start = last

    def _account_symbols(self, since_ms: int | None = None) -> list[str]:
        """The symbols this account touched: orders seen by this process, open orders,
        positions, and income (fills, funding) since `since_ms` (default: the last 7 days)."""
        symbols = set(self._symbol_of.values())
        symbols.update(o.symbol for o in self.open_orders())
        symbols.update(str(r["symbol"]) for r in self._position_rows() if codec.D(r.get("positionAmt", "0")) != 0)
        symbols.update(str(r["symbol"]) for r in self._income(since_ms) if r.get("symbol"))
        return sorted(symbols)

    def fills(self, since_ms: int | None = None) -> list[Any]:
        """userTrades needs a symbol: the symbols come from the account's commission income
        (one row per trade) since `since_ms` (default: the venue's last 7 days)."""
        params: dict[str, object] = {"incomeType": "COMMISSION", "limit": 1000}
        if since_ms is not None:
            params["startTime"] = since_ms
        symbols = sorted({str(r["symbol"]) for r in self._read("/fapi/v3/income", params) or [] if r.get("symbol")})
        out = []
        for symbol in symbols:
            q: dict[str, object] = {"symbol": symbol, "limit": 1000}
            if since_ms is not None:
                q["startTime"] = since_ms
            out.extend(codec.fills(self._read("/fapi/v3/userTrades", q) or [], venue=self.venue,
                                   account=self.account_address))
        return sorted(out, key=lambda f: f.time_ms)

    def funding_history(self, since_ms: int, end_ms: int | None = None) -> list[Any]:
        """FUNDING_FEE income since `since_ms`, each with the rate of that funding (fundingRate)
        and the position size that amount means at that rate (the price is the fundingRate
        row's markPrice where the venue sends it, else the 1h candle opening at that time)."""
        rows = [r for r in self._income(since_ms, end_ms, "FUNDING_FEE") if r.get("incomeType") == "FUNDING_FEE"]
        if not rows:
            return []
        rates: dict[tuple[str, int], Decimal] = {}
        prices: dict[tuple[str, int], Decimal] = {}
        lots: dict[str, Decimal] = {}
        for symbol in sorted({str(r["symbol"]) for r in rows}):
            times = sorted(int(r["time"]) for r in rows if r["symbol"] == symbol)
            window = {"symbol": symbol, "startTime": times[0] - 60_000, "endTime": times[-1] + 60_000, "limit": 1000}
            history = self.rest.public("/fapi/v3/fundingRate", window) or []
            for h in history:
                rates[(symbol, int(h["fundingTime"]))] = codec.D(h["fundingRate"])
                if codec.D_or_none(h.get("markPrice")):
                    prices[(symbol, int(h["fundingTime"]))] = codec.D(h["markPrice"])
            _match_times(rates, prices, symbol, times)
            if any((symbol, t) not in prices for t in times):
                for c in self.market.candles(symbol, "1h", times[0] - 3_600_000, times[-1] + 3_600_000):
                    for t in times:
                        if c.open_ms <= t < c.close_ms + 1 and (symbol, t) not in prices:
                            prices[(symbol, t)] = c.open
            try:
                lots[symbol] = self.market.instrument(symbol).lot_size
            except ValidationError:
                pass  # a delisted market: sizes off the grid
        return codec.funding_payments(rows, rates, prices, lots, venue=self.venue, account=self.account_address)

    def order_updates_since(self, since_ms: int) -> list[Any]:
        """Each order of the account that changed since `since_ms`, in its latest state
        (allOrders per symbol the account touched; what a stream missed while it was down)."""
        out = []
        for symbol in self._account_symbols(min(since_ms, self.market.now_ms() - 7 * 86_400_000)):
            rows = self._read("/fapi/v3/allOrders", {"symbol": symbol, "limit": 1000}) or []
            self._remember_rows(rows)
            out.extend(codec.order_updates(rows, venue=self.venue, account=self.account_address, since_ms=since_ms))
        return sorted(out, key=lambda u: (u.time_ms, u.order.oid))

    def agents(self) -> list[Any]:
        """The API wallets (agents) approved for the account: GET /fapi/v3/agent."""
        return codec.agents(self._read("/fapi/v3/agent") or [])

    def _order_row(self, symbol: str, *, oid: str | None = None, cloid: str | None = None) -> dict | None:
        """GET /fapi/v3/order by order id or client id; None when the venue knows no such order."""
        params: dict[str, object] = {"symbol": symbol}
        if oid is not None:
            params["orderId"] = oid
        else:
            params["origClientOrderId"] = cloid
        try:
            return self._read("/fapi/v3/order", params)
        except VenueRejected as e:
            if e.error_kind is ErrorKind.ORDER_NOT_FOUND:
                return None
            raise

    def _status(self, symbol: str, *, oid: str | None = None, cloid: str | None = None) -> Ack | None:
        row = self._order_row(symbol, oid=oid, cloid=cloid)
        return None if row is None else codec.order_ack(row, cloid=cloid)

    def order_status(self, *, oid: str | None = None, cloid: str | None = None,
                     market: str | None = None) -> Ack | None:
        """An order's status, open or finished (filled, cancelled, expired). Aster looks orders
        up per symbol: `market` when the caller knows it, else the one remembered for this id,
        else each symbol the account touched."""
        if (oid is None) == (cloid is None):
            raise UsageError("give exactly one of oid or cloid")
        if oid is not None and not str(oid).isdigit():
            return None  # not an Aster order id: no order has it
        if market is not None:
            return self._lookup(self.market.instrument(market).symbol, oid=oid, cloid=cloid)
        known = self._symbol_of.get(str(oid if oid is not None else cloid))
        candidates = [known] if known else self._account_symbols()
        for symbol in candidates:
            ack = self._lookup(symbol, oid=oid, cloid=cloid)
            if ack is not None:
                return ack
        return None

    def _lookup(self, symbol: str, *, oid: str | None = None, cloid: str | None = None) -> Ack | None:
        row = self._order_row(symbol, oid=oid, cloid=cloid)
        if row is None:
            return None
        self._remember_rows([row])
        return codec.lookup_ack(row)

    def leverage_setting(self, market: str) -> LeverageSetting:
        symbol = self.market.instrument(market).symbol
        rows = self._read("/fapi/v3/positionRisk", {"symbol": symbol}) or []
        lev, cross = codec.leverage_settings(rows).get(symbol, (None, True))
        return LeverageSetting(lev, cross)

    def fee_rates(self) -> Any:
        """The account's own rates (commissionRate, asked once for one symbol); the public
        schedule, marked as such, when the venue does not say them."""
        if self._fees is None:
            from perpcli.ledger.fees import ACCOUNT, FeeRates

            fees = None
            insts = self.market.instruments()
            if insts:
                try:
                    row = self._read("/fapi/v3/commissionRate", {"symbol": insts[0].symbol})
                    fees = FeeRates(maker=Decimal(str(row["makerCommissionRate"])),
                                    taker=Decimal(str(row["takerCommissionRate"])), source=ACCOUNT)
                except (VenueRejected, KeyError, TypeError, ArithmeticError):
                    fees = None
            self._fees = fees or self.market.default_fees()
        return self._fees

    # ----- orders ---------------------------------------------------------------------------

    def order_params(self, intent: OrderIntent) -> dict[str, object]:
        """Domain intent -> Aster order parameters, re-checked by the shared order rules."""
        from perpcli.domain.order_rules import check_order

        inst = self.market.instrument(intent.symbol)
        ot = intent.order_type
        price = intent.price
        if ot is OrderType.LIMIT and price is None:
            raise ValidationError("a limit order needs a price", rule="price-required")
        if ot.is_trigger and intent.trigger_price is None:
            raise ValidationError(f"{ot.value} order needs a trigger price", rule="trigger-required")
        basis = price if price is not None else intent.trigger_price  # a trigger's notional is at its trigger
        if basis is None:  # a true market order: only the size grid can be checked here
            from perpcli.domain.order_rules import conform_size

            checked_price, size = Decimal(0), conform_size(inst, intent.size)
        else:
            checked_price, size = check_order(inst, price=basis, size=intent.size, reduce_only=intent.reduce_only,
                                              trigger_price=intent.trigger_price if ot.is_trigger else None)
        p: dict[str, object] = {"symbol": inst.symbol, "side": "BUY" if intent.side is Side.BUY else "SELL"}
        if ot is OrderType.LIMIT:
            p.update(type="LIMIT", timeInForce=_TIF[intent.tif], quantity=_plain(size), price=_plain(checked_price))
        elif ot is OrderType.MARKET:
            if price is not None:  # a worst price: a marketable IOC limit keeps the slippage bound
                p.update(type="LIMIT", timeInForce="IOC", quantity=_plain(size), price=_plain(checked_price))
            else:
                p.update(type="MARKET", quantity=_plain(size))
        else:
            assert intent.trigger_price is not None
            p.update(type=_TRIGGER_TYPES[ot], quantity=_plain(size), stopPrice=_plain(intent.trigger_price),
                     workingType="MARK_PRICE")
            if intent.close_position and ot in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
                del p["quantity"]  # closes the whole position when it fires; no size, no reduceOnly
                p["closePosition"] = "true"
            if ot in (OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT):
                p.update(price=_plain(checked_price), timeInForce=_TIF.get(intent.tif, "GTC"))
        if intent.reduce_only and "closePosition" not in p:
            p["reduceOnly"] = "true"
        if intent.cloid:
            p["newClientOrderId"] = self.market.check_client_id(intent.cloid)
        p["newOrderRespType"] = "RESULT"
        return p

    def prepare_orders(self, intents: Sequence[OrderIntent], *, grouping: str = "na") -> Prepared:
        if grouping != "na":
            raise UsageError("Aster has no native TP/SL grouping: brackets are placed after the entry fills")
        if not intents:
            raise ValidationError("no orders to place", rule="empty-batch")
        if len(intents) > MAX_BATCH_ORDERS:
            raise ValidationError(f"Aster takes at most {MAX_BATCH_ORDERS} orders per batch, got {len(intents)}",
                                  rule="batch-size")
        params = [self.order_params(i) for i in intents]
        if len(params) == 1:
            request = self._request("POST", "/fapi/v3/order", params[0])
        else:
            request = self._request("POST", "/fapi/v3/batchOrders", {"batchOrders": params})
        return Prepared(kind="order", body={"requests": [request]},
                        requests=[(str(p.get("newClientOrderId")) if p.get("newClientOrderId") else None,
                                   Decimal(str(p.get("quantity", "0")))) for p in params],
                        markets=[str(p["symbol"]) for p in params])

    def submit(self, intents: Sequence[OrderIntent], *, grouping: str = "na") -> list[Ack]:
        return self.send_orders(self.prepare_orders(intents, grouping=grouping))

    def send_orders(self, prepared: Prepared) -> list[Ack]:
        (request,) = prepared.body["requests"]  # type: ignore[misc]
        cloids = [c for c, _ in prepared.requests]
        try:
            answer = self._send_one(request)
        except SentNoAnswer:
            return self.settle(prepared)
        except VenueRejected as e:  # the whole request was refused
            return [Ack(AckStatus.REJECTED, cloid=c, error=e.message, error_kind=e.error_kind) for c in cloids]
        acks = [codec.order_ack(answer, cloid=cloids[0])] if len(cloids) == 1 else codec.batch_acks(answer, cloids)
        for ack, symbol in zip(acks, prepared.markets, strict=False):
            self.note_order(symbol, ack.oid, ack.cloid)
        return acks

    def settle(self, prepared: Prepared) -> list[Ack]:
        """Find out what happened to orders whose answer never came. Never resends them."""
        cloids = [cloid for cloid, _ in prepared.requests]
        nonce = int(prepared.body["requests"][0]["nonce"])  # type: ignore[index]
        acks, burned = settle_unanswered(
            cloids, lambda i, cloid: self._status(prepared.markets[i], cloid=cloid),
            lambda: self._burn_nonce(nonce), self.sleep, polls=SETTLE_POLLS, interval_s=SETTLE_POLL_INTERVAL_S)
        return unanswered_acks(
            acks, cloids, burned,
            rejected="no answer came; the request was cancelled before it executed (its nonce was spent with "
                     "a noop): not placed",
            unknown="no answer from the venue; the order may or may not be placed (check `perp orders`)")

    def _burn_nonce(self, nonce: int) -> bool | None:
        """POST /fapi/v3/noop with the same nonce: True = spent (the original can never run),
        False = already used (the original landed), None = no answer either."""
        try:
            self._send_one(self._request("POST", "/fapi/v3/noop", {}, nonce=nonce))
        except VenueRejected as e:
            return False if e.error_kind is ErrorKind.NONCE else None
        except Exception:  # noqa: BLE001 - no answer to the noop either
            return None
        return True

    # ----- cancel and modify -----------------------------------------------------------------

    def _cancel_params(self, target: CancelTarget) -> dict[str, object]:
        symbol = self.market.instrument(target.market).symbol
        if (target.oid is None) == (target.cloid is None):
            raise UsageError("give exactly one of an order id or a client order id")
        if target.oid is not None:
            if not str(target.oid).isdigit():
                raise UsageError(f"order id {str(target.oid)[:40]!r} is not an Aster order id (a whole number)")
            return {"symbol": symbol, "orderId": str(target.oid)}
        return {"symbol": symbol, "origClientOrderId": self.market.check_client_id(str(target.cloid))}

    def prepare_cancel(self, targets: Sequence[CancelTarget]) -> Prepared:
        if not targets:
            raise ValidationError("no orders to cancel", rule="empty-batch")
        return Prepared(kind="cancel", body={"requests": [self._request("DELETE", "/fapi/v3/order",
                                                                        self._cancel_params(t)) for t in targets]},
                        markets=[t.market for t in targets])

    def send_cancel(self, prepared: Prepared, targets: Sequence[CancelTarget]) -> list[CancelResult]:
        out = []
        for request, target in zip(prepared.body["requests"], targets, strict=True):  # type: ignore[call-overload]
            try:
                row = self._send_one(request)
            except VenueRejected as e:
                out.append(CancelResult(False, oid=target.oid, cloid=target.cloid, error=e.message,
                                        error_kind=e.error_kind))
                continue
            out.append(CancelResult(True, oid=str(row.get("orderId", target.oid)),
                                    cloid=row.get("clientOrderId") or target.cloid))
        return out

    def cancel(self, target: CancelTarget) -> CancelResult:
        return self.send_cancel(self.prepare_cancel([target]), [target])[0]

    def prepare_modify(self, oid: str, intent: OrderIntent) -> Prepared:
        """PUT /order: a resting LIMIT order's price and quantity (Aster modifies in place)."""
        if intent.order_type is not OrderType.LIMIT or intent.price is None:
            raise UsageError("Aster modifies only limit orders (price and size)")
        p = self.order_params(intent)
        params = {"symbol": p["symbol"], "side": p["side"], "quantity": p["quantity"], "price": p["price"]}
        params.update(self._cancel_params(CancelTarget(intent.symbol, oid=oid)))
        return Prepared(kind="modify", body={"requests": [self._request("PUT", "/fapi/v3/order", params)]},
                        requests=[(intent.cloid, intent.size)], markets=[str(p["symbol"])], extra={"old_oid": oid})

    def modify(self, oid: str, intent: OrderIntent) -> Ack:
        prepared = self.prepare_modify(oid, intent)
        try:
            answer = self._send_one(prepared.body["requests"][0])  # type: ignore[index]
        except SentNoAnswer:
            return Ack(AckStatus.UNKNOWN, oid=oid, error="no answer from the venue: the order may or may not have "
                       "its new price and size (check `perp orders`)")
        except VenueRejected as e:
            return Ack(AckStatus.REJECTED, oid=oid, error=e.message, error_kind=e.error_kind)
        ack = codec.order_ack(answer, cloid=intent.cloid)
        self.note_order(str(prepared.markets[0]), ack.oid, ack.cloid)
        return ack

    # ----- other actions ---------------------------------------------------------------------

    def prepare_leverage(self, market: str, leverage: int, *, cross: bool) -> Prepared:
        inst = self.market.instrument(market)
        if not 1 <= leverage <= inst.max_leverage:
            raise ValidationError(f"leverage {leverage} is outside 1..{inst.max_leverage} for {inst.symbol}",
                                  rule="max-leverage")
        requests = [self._request("POST", "/fapi/v3/marginType",
                                  {"symbol": inst.symbol, "marginType": "CROSSED" if cross else "ISOLATED"}),
                    self._request("POST", "/fapi/v3/leverage", {"symbol": inst.symbol, "leverage": leverage})]
        return Prepared(kind="leverage", body={"requests": requests}, markets=[inst.symbol])

    def set_leverage(self, market: str, leverage: int, *, cross: bool) -> ActionResult:
        return self.send(self.prepare_leverage(market, leverage, cross=cross))

    def prepare_margin(self, market: str, amount: Decimal) -> Prepared:
        symbol = self.market.instrument(market).symbol
        if amount == 0:
            raise ValidationError("the margin change must not be zero", rule="positive-amount")
        params = {"symbol": symbol, "amount": _plain(abs(amount)), "type": 1 if amount > 0 else 2}
        return Prepared(kind="margin", body={"requests": [self._request("POST", "/fapi/v3/positionMargin", params)]},
                        markets=[symbol])

    def prepare_schedule_cancel(self, time_ms: int | None) -> Prepared:
        """countdownCancelAll per symbol with open orders: every order there is cancelled when
        the countdown (ms from now) runs out; None (or a past time) switches it off."""
        countdown = 0 if time_ms is None else max(0, time_ms - self.market.now_ms())
        symbols = sorted({o.symbol for o in self.open_orders()})
        requests = [self._request("POST", "/fapi/v3/countdownCancelAll",
                                  {"symbol": s, "countdownTime": countdown}) for s in symbols]
        extra: dict[str, object] = {"countdown_ms": countdown}
        if countdown and not symbols:
            extra["note"] = ("no open orders, so nothing was armed: Aster's countdown runs per market that has "
                             "open orders; arm it again after placing orders")
        return Prepared(kind="schedule_cancel", body={"requests": requests}, markets=symbols, extra=extra)

    def prepare_twap(self, market: str, **kwargs: Any) -> Prepared:
        raise UsageError("Aster has no TWAP orders")

    def prepare_twap_cancel(self, market: str, twap_id: int) -> Prepared:
        raise UsageError("Aster has no TWAP orders")

    def twaps(self, *, include_ended: bool = False) -> list[Any]:
        raise UsageError("Aster has no TWAP orders")

    def prepare_transfer(self, kind: str, amount: Decimal, **kwargs: Any) -> Prepared:
        raise UsageError("transfers are not part of Aster's v3 futures API; use the Aster app")

    def transfer(self, kind: str, amount: Decimal, **kwargs: Any) -> ActionResult:
        raise UsageError("transfers are not part of Aster's v3 futures API; use the Aster app")

    def prepare_approve_agent(self, agent_address: str, name: str | None, valid_until_ms: int | None = None) -> Prepared:
        """registerAndApproveAgent, signed by this (main) key on chain 56; perps only, no withdrawals."""
        from perpcli.venues.aster import signing

        if self.account_address != self.signer_address:
            raise UsageError("an agent is approved by the main account's own key, not by another agent")
        expired = valid_until_ms if valid_until_ms is not None else self.market.now_ms() + 180 * 86_400_000
        fields = signing.agent_approval_params(
            user=self._account_cs, nonce=self.nonces.next(), agent_name=name or "perpcli",
            agent_address=signing.checksum_address(agent_address), expired_ms=expired)
        wire = signing.query_string([*fields, ("signature", signing.sign_agent_approval(self._signer, fields))])
        request = {"method": "POST", "path": "/fapi/v3/registerAndApproveAgent", "url": self.market.url +
                   "/fapi/v3/registerAndApproveAgent", "query": None, "body": wire,
                   "content_type": "application/x-www-form-urlencoded", "nonce": int(fields[1][1])}
        return Prepared(kind="approve_agent", body={"requests": [request]})

    def send(self, prepared: Prepared) -> ActionResult:
        """Send every request of a prepared action in order; the first refusal stops it.
        A margin type already set (-4046) is not a refusal."""
        answers = []
        for request in prepared.body["requests"]:  # type: ignore[union-attr]
            try:
                answers.append(self._send_one(request))
            except VenueRejected as e:
                if e.message.endswith("(-4046)"):
                    answers.append({"code": -4046, "msg": "no need to change margin type"})
                    continue
                return ActionResult(False, error=e.message, error_kind=e.error_kind, detail={"answers": answers})
        return ActionResult(True, detail={"answers": answers, **prepared.extra})


def _bound_master(signer: Any, venue: str) -> str | None:
    """The account a stored agent key was approved for here (`perp agent approve` records it in
    the key file): Aster names the account in every request and has no look-up of an agent's
    account, so without this an agent key would act for its own, empty, address."""
    from perpcli.keys import sources, store

    name = getattr(signer, "name", "")
    if not name or name == sources.ENV_KEY:
        return None
    try:
        master, bound = store.binding_of(store.read(name))
    except Exception:  # noqa: BLE001 - not a stored key (a session's, a test's): no binding
        return None
    return master if master and bound == venue else None


def _match_times(rates: dict[tuple[str, int], Decimal], prices: dict[tuple[str, int], Decimal], symbol: str,
                 times: Sequence[int]) -> None:
    """Income is booked a few milliseconds after the funding time the rate is quoted for: key
    each payment's rate (and price) by the payment's own time, from the nearest funding time
    within a minute."""
    quoted = sorted(t for s, t in rates if s == symbol)
    for t in times:
        if (symbol, t) in rates or not quoted:
            continue
        nearest = min(quoted, key=lambda q: abs(q - t))
        if abs(nearest - t) <= 60_000:
            rates[(symbol, t)] = rates[(symbol, nearest)]
            if (symbol, nearest) in prices:
                prices[(symbol, t)] = prices[(symbol, nearest)]
