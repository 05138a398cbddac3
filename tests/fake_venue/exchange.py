"""The fake venue's server side: an in-memory exchange with its own conventions.

Deliberately unlike Hyperliquid, so the contract suite proves the seam carries the
differences as data: symbols "BTCUSDT", order ids opaque strings ("F-000017"), Binance-style
numeric error codes, requests identified by a per-account `requestId` (a request id can be
*retired* so a request still in flight can never execute later), a diff-based depth feed with
U/u/pu sequence numbers, one-way positions margined by maintenance brackets.

Matching is a tiny price-time book per market. A seeded market maker ("mm", unlimited
collateral, never margin-checked) quotes a ladder around a fixed fair price and nudges its
deepest levels on `tick()` so the depth feed always moves, as a real one does.

The network face is `post(body)`; its `faults` make it lose an answer after executing, or hold
a request that never reached the venue (delivered later with `deliver_held()`), or skip one
depth diff (a gap). Everything is guarded by one lock: tests call in from executor threads
while the websocket face (server.py) reads snapshots from its own thread.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perpcli.keys.signer import recover_address
from tests.fake_venue.brackets import Bracket, bracket_for, brackets, liquidation_price, maintenance_margin

ZERO = Decimal(0)
MM = "mm"
TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal("0.0002")
DEFAULT_LEVERAGE = 20
FUNDING_RATE = Decimal("0.0001")  # per 8 hours


class NoAnswer(Exception):
    """The request left and no answer came back (it may or may not have executed)."""


@dataclass(frozen=True)
class MarketSpec:
    symbol: str
    base: str
    tick: Decimal
    lot: Decimal
    min_notional: Decimal
    fair: Decimal
    step: Decimal  # maker ladder spacing
    quote_size: Decimal
    table: tuple[Bracket, ...]


MARKETS = (
    MarketSpec("BTCUSDT", "BTC", Decimal("0.1"), Decimal("0.001"), Decimal("50"), Decimal("100000"),
               Decimal("10"), Decimal("0.5"),
               brackets([(0, 50_000, 50, "0.004"), (50_000, 250_000, 20, "0.005"),
                         (250_000, 1_000_000, 10, "0.01"), (1_000_000, 10_000_000, 5, "0.025")])),
    MarketSpec("ETHUSDT", "ETH", Decimal("0.01"), Decimal("0.001"), Decimal("20"), Decimal("3000"),
               Decimal("1"), Decimal("5"),
               brackets([(0, 10_000, 50, "0.005"), (10_000, 100_000, 25, "0.0065"),
                         (100_000, 500_000, 10, "0.01"), (500_000, 5_000_000, 5, "0.02")])),
)

# The venue's own words; the adapter maps the codes (wire.ERROR_KINDS), nothing else reads them.
ERRORS = {
    -1021: "Request id already used or retired.",
    -1022: "Request {rid} was already executed.",
    -1102: "Mandatory parameter was not sent, was empty/null, or malformed.",
    -1111: "Precision is over the maximum defined for this asset.",
    -1121: "Invalid symbol.",
    -2011: "Unknown order sent.",
    -2014: "Signature for this request is not valid.",
    -2015: "Unknown account {account}.",
    -2019: "Margin is insufficient.",
    -2022: "ReduceOnly Order is rejected.",
    -2027: "Exceeded the maximum allowable position at current leverage.",
    -4014: "Price not increased by tick size.",
    -4015: "Client order id is not valid.",
    -4028: "Leverage {lev} is not valid.",
    -4116: "ClientOrderId is duplicated.",
    -4164: "Order's notional must be no smaller than {min} (unless you choose reduce only).",
    -5022: "Due to the order could not be executed as maker, the Post Only order will be rejected.",
}


def error(code: int, **fmt: Any) -> dict[str, Any]:
    return {"code": code, "msg": ERRORS[code].format(**fmt)}


def request_digest(body: dict[str, Any]) -> bytes:
    """What a request's signature covers: its canonical JSON without the signature."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return hashlib.sha256(json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()).digest()


@dataclass
class RestingOrder:
    oid: str
    account: str
    symbol: str
    side: str  # "BUY" | "SELL"
    price: Decimal
    orig_qty: Decimal
    client_id: str
    tif: str  # GTC | IOC | GTX | FOK
    reduce_only: bool
    seq: int
    time_ms: int
    executed: Decimal = ZERO
    notional: Decimal = ZERO  # executed notional, for the average price
    status: str = "NEW"
    updated_ms: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed

    def to_wire(self) -> dict[str, Any]:
        avg = self.notional / self.executed if self.executed else ZERO
        return {"orderId": self.oid, "clientOrderId": self.client_id, "symbol": self.symbol, "side": self.side,
                "price": str(self.price), "origQty": str(self.orig_qty), "executedQty": str(self.executed),
                "avgPrice": str(avg), "status": self.status, "timeInForce": self.tif,
                "reduceOnly": self.reduce_only, "time": self.time_ms, "updateTime": self.updated_ms or self.time_ms}


@dataclass
class Position:
    qty: Decimal = ZERO  # signed
    entry: Decimal = ZERO


@dataclass
class Account:
    address: str
    wallet: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    used_requests: set[int] = field(default_factory=set)
    executed_requests: set[int] = field(default_factory=set)


@dataclass
class Faults:
    """Switches for the network face; each counts down as it fires."""

    drop_answers: int = 0  # execute, then lose the answer
    hold_requests: int = 0  # never reaches the venue (held; `deliver_held` sends it late)
    skip_depth_diffs: int = 0  # a depth diff is computed but never published (a gap)


class FakeExchange:
    def __init__(self, *, venue: str = "fake", clock_ms: Callable[[], int] | None = None) -> None:
        self.venue = venue
        self.lock = threading.RLock()
        self.clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.markets = {m.symbol: m for m in MARKETS}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, RestingOrder] = {}  # every order ever accepted, by oid
        self.books: dict[str, dict[str, list[RestingOrder]]] = {s: {"BUY": [], "SELL": []} for s in self.markets}
        self.update_ids = dict.fromkeys(self.markets, 1000)  # per market; a snapshot consumes one
        self.last_diff_u = dict.fromkeys(self.markets, 1000)
        self.trades: dict[str, list[dict[str, Any]]] = {s: [] for s in self.markets}
        self.faults = Faults()
        self.held: list[dict[str, Any]] = []
        self.requests_handled = 0
        self.publish: Callable[[str, dict[str, Any]], None] = lambda stream, data: None
        self._next_oid = 0
        self._seq = 0
        self._tick = 0
        self._changed: dict[str, set[tuple[str, Decimal]]] = {}
        for spec in MARKETS:
            for i in range(1, 11):
                self._rest(MM, spec.symbol, "BUY", spec.fair - spec.step * i, spec.quote_size, f"mm-b{i}")
                self._rest(MM, spec.symbol, "SELL", spec.fair + spec.step * i, spec.quote_size, f"mm-a{i}")
        self._changed.clear()

    # ----- the network face ---------------------------------------------------------------

    def post(self, body: dict[str, Any]) -> Any:
        """A signed request as it arrives over the network, subject to the fault switches."""
        with self.lock:
            if self.faults.hold_requests:
                self.faults.hold_requests -= 1
                self.held.append(body)
                raise NoAnswer("request held in flight")
            answer = self.handle(body)
            if self.faults.drop_answers:
                self.faults.drop_answers -= 1
                raise NoAnswer("answer lost after executing")
            return answer

    def deliver_held(self) -> list[Any]:
        """Deliver requests that were held in flight, late (as a slow network would)."""
        with self.lock:
            held, self.held = self.held, []
            return [self.handle(b) for b in held]

    def fund(self, address: str, amount: Decimal) -> None:
        with self.lock:
            acct = self.accounts.setdefault(address.lower(), Account(address.lower(), ZERO))
            acct.wallet += amount

    # ----- requests -----------------------------------------------------------------------

    def handle(self, body: dict[str, Any]) -> Any:
        with self.lock:
            self.requests_handled += 1
            account = str(body.get("account", "")).lower()
            sig = body.get("signature") or {}
            try:
                signer = recover_address(request_digest(body), int(sig["r"], 16), int(sig["s"], 16), int(sig["v"]))
            except (KeyError, ValueError, TypeError):
                return error(-2014)
            if signer != account:
                return error(-2014)
            acct = self.accounts.get(account)
            if acct is None:
                return error(-2015, account=account)
            rid = body.get("requestId")
            if not isinstance(rid, int) or rid in acct.used_requests:
                return error(-1021)
            acct.used_requests.add(rid)
            kind = body.get("type")
            if kind == "retire":
                target = body.get("target")
                if target in acct.executed_requests:
                    return error(-1022, rid=target)
                acct.used_requests.add(target)  # can never execute now
                return {"retired": target}
            acct.executed_requests.add(rid)
            try:
                if kind == "order":
                    return [self._place(acct, o) for o in body["orders"]]
                if kind == "cancel":
                    return [self._cancel(acct, c) for c in body["cancels"]]
                if kind == "leverage":
                    return self._set_leverage(acct, body["symbol"], body["leverage"])
            finally:
                self._flush_depth()
            return error(-1102)

    def _set_leverage(self, acct: Account, symbol: str, lev: Any) -> dict[str, Any]:
        spec = self.markets.get(symbol)
        if spec is None:
            return error(-1121)
        if not isinstance(lev, int) or not 1 <= lev <= spec.table[0].max_leverage:
            return error(-4028, lev=lev)
        acct.leverage[symbol] = lev
        return {"symbol": symbol, "leverage": lev}

    def _cancel(self, acct: Account, c: dict[str, Any]) -> dict[str, Any]:
        oid, cid = c.get("orderId"), c.get("origClientOrderId")
        order = self.orders.get(oid) if oid else self._by_client_id(acct.address, cid)
        if order is None or order.account != acct.address or order.symbol != c.get("symbol"):
            return error(-2011)
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            return error(-2011)
        self._unrest(order)
        order.status = "CANCELED"
        self._order_event(order, "CANCELED")
        return order.to_wire()

    def _by_client_id(self, account: str, cid: str | None) -> RestingOrder | None:
        if not cid:
            return None
        found = [o for o in self.orders.values() if o.account == account and o.client_id == cid]
        return found[-1] if found else None

    # ----- orders -------------------------------------------------------------------------

    def _place(self, acct: Account, o: dict[str, Any]) -> dict[str, Any]:
        spec = self.markets.get(o.get("symbol", ""))
        if spec is None:
            return error(-1121)
        try:
            side, tif, cid = o["side"], o["timeInForce"], o["newClientOrderId"]
            qty, price = Decimal(o["quantity"]), Decimal(o["price"])
        except (KeyError, ArithmeticError):
            return error(-1102)
        reduce_only = bool(o.get("reduceOnly"))
        if side not in ("BUY", "SELL") or tif not in ("GTC", "IOC", "GTX", "FOK"):
            return error(-1102)
        if not isinstance(cid, str) or not cid or len(cid) > 36:
            return error(-4015)
        if price <= 0 or price % spec.tick:
            return error(-4014)
        if qty <= 0 or qty % spec.lot:
            return error(-1111)
        existing = self._by_client_id(acct.address, cid)
        if existing is not None and existing.status in ("NEW", "PARTIALLY_FILLED"):
            return error(-4116)
        if price * qty < spec.min_notional and not reduce_only:
            return error(-4164, min=spec.min_notional)
        opposite = self.books[spec.symbol]["SELL" if side == "BUY" else "BUY"]
        crosses = bool(opposite) and (price >= opposite[0].price if side == "BUY" else price <= opposite[0].price)
        if tif == "GTX" and crosses:
            return error(-5022)
        pos = acct.positions.get(spec.symbol, Position())
        signed = qty if side == "BUY" else -qty
        if reduce_only and (pos.qty == 0 or (pos.qty > 0) == (signed > 0) or qty > abs(pos.qty)):
            return error(-2022)
        if not reduce_only:
            refusal = self._margin_refusal(acct, spec, signed, price)
            if refusal is not None:
                return refusal
        if tif == "FOK" and self._fillable(opposite, side, price) < qty:
            order = self._new_order(acct.address, spec.symbol, side, price, qty, cid, tif, reduce_only)
            order.status = "EXPIRED"
            return order.to_wire()
        order = self._new_order(acct.address, spec.symbol, side, price, qty, cid, tif, reduce_only)
        self._match(order)
        if order.remaining > 0:
            if tif in ("GTC", "GTX"):
                order.status = "PARTIALLY_FILLED" if order.executed else "NEW"
                self._book_insert(order)
                if not order.executed:
                    self._order_event(order, "NEW")
            else:
                order.status = "EXPIRED"
                self._order_event(order, "EXPIRED")
        return order.to_wire()

    def _fillable(self, opposite: list[RestingOrder], side: str, price: Decimal) -> Decimal:
        total = ZERO
        for m in opposite:
            if (m.price > price) if side == "BUY" else (m.price < price):
                break
            total += m.remaining
        return total

    def _margin_refusal(self, acct: Account, spec: MarketSpec, signed: Decimal, price: Decimal) -> dict | None:
        """Binance-style: the exposure after this order must fit the bracket at the account's
        leverage, and its initial margin must fit what the account has available."""
        lev = acct.leverage.get(spec.symbol, DEFAULT_LEVERAGE)
        pos = acct.positions.get(spec.symbol, Position())
        mark = self.mark(spec.symbol)
        same_side_open = sum((o.remaining for o in self._open_of(acct.address, spec.symbol)
                              if (o.side == "BUY") == (signed > 0)), ZERO)
        exposure = abs(pos.qty + signed) * mark + same_side_open * price
        if bracket_for(spec.table, exposure).max_leverage < lev:
            return error(-2027)
        added = abs(signed) * price
        if (pos.qty > 0) != (signed > 0) and pos.qty != 0:  # closing first frees margin
            added = max(ZERO, abs(signed) - abs(pos.qty)) * price
        if added / lev + self.margin_used(acct) > self.margin_balance(acct):
            return error(-2019)
        return None

    def _new_order(self, account: str, symbol: str, side: str, price: Decimal, qty: Decimal, cid: str,
                   tif: str, reduce_only: bool) -> RestingOrder:
        self._next_oid += 1
        self._seq += 1
        order = RestingOrder(f"F-{self._next_oid:06d}", account, symbol, side, price, qty, cid, tif, reduce_only,
                             self._seq, self.clock_ms())
        self.orders[order.oid] = order
        return order

    def _rest(self, account: str, symbol: str, side: str, price: Decimal, qty: Decimal, cid: str) -> RestingOrder:
        order = self._new_order(account, symbol, side, price, qty, cid, "GTC", False)
        self._book_insert(order)
        return order

    def _book_insert(self, order: RestingOrder) -> None:
        book = self.books[order.symbol][order.side]
        book.append(order)
        if order.side == "BUY":
            book.sort(key=lambda o: (-o.price, o.seq))
        else:
            book.sort(key=lambda o: (o.price, o.seq))
        self._touch(order)

    def _unrest(self, order: RestingOrder) -> None:
        book = self.books[order.symbol][order.side]
        if order in book:
            book.remove(order)
            self._touch(order)

    def _touch(self, order: RestingOrder) -> None:
        self._changed.setdefault(order.symbol, set()).add((order.side, order.price))

    def _match(self, taker: RestingOrder) -> None:
        opposite = self.books[taker.symbol]["SELL" if taker.side == "BUY" else "BUY"]
        while taker.remaining > 0 and opposite:
            maker = opposite[0]
            if (maker.price > taker.price) if taker.side == "BUY" else (maker.price < taker.price):
                break
            qty = min(taker.remaining, maker.remaining)
            px = maker.price
            for order, is_taker in ((maker, False), (taker, True)):
                order.executed += qty
                order.notional += qty * px
                order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
                self._settle_fill(order, qty, px, is_taker)
            self._touch(maker)
            if maker.remaining == 0:
                opposite.pop(0)
            trade = {"e": "aggTrade", "s": taker.symbol, "a": len(self.trades[taker.symbol]) + 1, "p": str(px),
                     "q": str(qty), "m": taker.side == "SELL", "T": self.clock_ms()}
            self.trades[taker.symbol].append(trade)
            self.publish(f"{taker.symbol.lower()}@aggTrade", trade)

    def _settle_fill(self, order: RestingOrder, qty: Decimal, px: Decimal, is_taker: bool) -> None:
        if order.account == MM:
            return
        acct = self.accounts[order.account]
        pos = acct.positions.setdefault(order.symbol, Position())
        signed = qty if order.side == "BUY" else -qty
        realized = ZERO
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            new = pos.qty + signed
            pos.entry = (pos.entry * abs(pos.qty) + px * qty) / abs(new)
            pos.qty = new
        else:
            closing = min(qty, abs(pos.qty))
            realized = closing * (px - pos.entry) * (1 if pos.qty > 0 else -1)
            pos.qty += signed
            if pos.qty == 0:
                pos.entry = ZERO
            elif (pos.qty > 0) == (signed > 0):  # flipped: the rest opened at px
                pos.entry = px
        fee = qty * px * (TAKER_FEE if is_taker else MAKER_FEE)
        acct.wallet += realized - fee
        fill = {"symbol": order.symbol, "id": sum(len(t) for t in self.trades.values()) + 1, "orderId": order.oid,
                "clientOrderId": order.client_id, "side": order.side, "price": str(px), "qty": str(qty),
                "commission": str(fee), "realizedPnl": str(realized), "maker": not is_taker, "time": self.clock_ms()}
        acct.fills.append(fill)
        self._order_event(order, "TRADE", fill)

    def _order_event(self, order: RestingOrder, execution: str, fill: dict[str, Any] | None = None) -> None:
        if order.account == MM:
            return
        order.updated_ms = self.clock_ms()
        data = {"e": "ORDER_TRADE_UPDATE", "E": self.clock_ms(), "x": execution, "o": order.to_wire(),
                "t": fill}
        self.publish(order.account, data)

    # ----- depth --------------------------------------------------------------------------

    def _level(self, symbol: str, side: str, price: Decimal) -> Decimal:
        return sum((o.remaining for o in self.books[symbol][side] if o.price == price), ZERO)

    def _flush_depth(self) -> None:
        """One diff per market that changed, chained by U/u/pu (u jumps by one per level)."""
        changed, self._changed = self._changed, {}
        for symbol, levels in changed.items():
            if not levels:
                continue
            bids = [[str(p), str(self._level(symbol, s, p))] for s, p in sorted(levels) if s == "BUY"]
            asks = [[str(p), str(self._level(symbol, s, p))] for s, p in sorted(levels) if s == "SELL"]
            first = self.last_diff_u[symbol] + 1  # ids a snapshot consumed fall inside this range
            self.update_ids[symbol] += len(levels)
            diff = {"e": "depthUpdate", "E": self.clock_ms(), "s": symbol, "U": first,
                    "u": self.update_ids[symbol], "pu": self.last_diff_u[symbol], "b": bids, "a": asks}
            self.last_diff_u[symbol] = self.update_ids[symbol]
            if self.faults.skip_depth_diffs:
                self.faults.skip_depth_diffs -= 1
                continue
            self.publish(f"{symbol.lower()}@depth", diff)

    def tick(self) -> None:
        """The maker nudges its deepest level on each side, so the depth feed keeps moving."""
        with self.lock:
            self._tick += 1
            for spec in MARKETS:
                for side in ("BUY", "SELL"):
                    deepest = [o for o in self.books[spec.symbol][side] if o.account == MM]
                    if deepest:
                        o = deepest[-1]
                        o.orig_qty = o.executed + spec.quote_size + spec.lot * (self._tick % 2)
                        self._touch(o)
            self._flush_depth()

    def depth(self, symbol: str, limit: int = 100) -> dict[str, Any]:
        """The REST depth snapshot; taking it consumes an update id, so the next diff bridges it
        (U <= lastUpdateId <= u), as Binance's engine-wide ids do."""
        with self.lock:
            if symbol not in self.markets:
                return error(-1121)
            self.update_ids[symbol] += 1
            out = {"lastUpdateId": self.update_ids[symbol], "T": self.clock_ms()}
            for side, key in (("BUY", "bids"), ("SELL", "asks")):
                levels: dict[Decimal, Decimal] = {}
                for o in self.books[symbol][side]:
                    levels[o.price] = levels.get(o.price, ZERO) + o.remaining
                ordered = sorted(levels.items(), reverse=side == "BUY")[:limit]
                out[key] = [[str(p), str(q)] for p, q in ordered]
            return out

    # ----- reads (answers as the venue's JSON) --------------------------------------------

    def mark(self, symbol: str) -> Decimal:
        book = self.books[symbol]
        if book["BUY"] and book["SELL"]:
            return (book["BUY"][0].price + book["SELL"][0].price) / 2
        return self.markets[symbol].fair

    def _open_of(self, account: str, symbol: str | None = None) -> list[RestingOrder]:
        return [o for o in self.orders.values() if o.account == account and o.status in ("NEW", "PARTIALLY_FILLED")
                and (symbol is None or o.symbol == symbol)]

    def unrealized(self, acct: Account) -> Decimal:
        return sum(((self.mark(s) - p.entry) * p.qty for s, p in acct.positions.items() if p.qty), ZERO)

    def margin_balance(self, acct: Account) -> Decimal:
        return acct.wallet + self.unrealized(acct)

    def margin_used(self, acct: Account) -> Decimal:
        used = ZERO
        for s, p in acct.positions.items():
            used += abs(p.qty) * self.mark(s) / acct.leverage.get(s, DEFAULT_LEVERAGE)
        for o in self._open_of(acct.address):
            if not o.reduce_only:
                used += o.remaining * o.price / acct.leverage.get(o.symbol, DEFAULT_LEVERAGE)
        return used

    def account_info(self, account: str) -> dict[str, Any] | None:
        with self.lock:
            acct = self.accounts.get(account.lower())
            if acct is None:
                return None
            positions = []
            for s, p in acct.positions.items():
                if p.qty == 0:
                    continue
                mark = self.mark(s)
                table = self.markets[s].table
                liq = liquidation_price(table, wallet=acct.wallet, size=p.qty, entry=p.entry, mark=mark)
                positions.append({"symbol": s, "positionAmt": str(p.qty), "entryPrice": str(p.entry),
                                  "markPrice": str(mark), "unRealizedProfit": str((mark - p.entry) * p.qty),
                                  "liquidationPrice": str(liq) if liq is not None else "0",
                                  "leverage": str(acct.leverage.get(s, DEFAULT_LEVERAGE)),
                                  "maintMargin": str(maintenance_margin(table, p.qty * mark))})
            balance = self.margin_balance(acct)
            used = self.margin_used(acct)
            return {"totalWalletBalance": str(acct.wallet), "totalMarginBalance": str(balance),
                    "totalInitialMargin": str(used), "availableBalance": str(balance - used),
                    "positions": positions, "leverage": {s: str(v) for s, v in acct.leverage.items()}}

    def open_orders(self, account: str) -> list[dict[str, Any]]:
        with self.lock:
            return [o.to_wire() for o in self._open_of(account.lower())]

    def query_order(self, account: str, *, oid: str | None = None, client_id: str | None = None) -> dict | None:
        with self.lock:
            order = self.orders.get(oid) if oid else self._by_client_id(account.lower(), client_id)
            if order is None or order.account != account.lower():
                return None
            return order.to_wire()

    def orders_changed_since(self, account: str, since_ms: int) -> list[dict[str, Any]]:
        """Each order's latest state, for orders that changed at or after `since_ms`."""
        with self.lock:
            rows = [o.to_wire() for o in self.orders.values() if o.account == account.lower()]
            return sorted((r for r in rows if r["updateTime"] >= since_ms), key=lambda r: r["updateTime"])

    def user_trades(self, account: str, since_ms: int | None = None) -> list[dict[str, Any]]:
        with self.lock:
            acct = self.accounts.get(account.lower())
            rows = list(acct.fills) if acct else []
            return [r for r in rows if since_ms is None or r["time"] >= since_ms]

    def exchange_info(self) -> dict[str, Any]:
        return {"symbols": [
            {"symbol": m.symbol, "baseAsset": m.base, "quoteAsset": "USDT", "tickSize": str(m.tick),
             "stepSize": str(m.lot), "minNotional": str(m.min_notional),
             "brackets": [[str(b.floor), str(b.cap), b.max_leverage, str(b.maint_rate)] for b in m.table]}
            for m in MARKETS]}

    def premium_index(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.clock_ms()
            return [{"symbol": s, "markPrice": str(self.mark(s)), "indexPrice": str(self.markets[s].fair),
                     "lastFundingRate": str(FUNDING_RATE), "nextFundingTime": now - now % 28_800_000 + 28_800_000,
                     "time": now} for s in self.markets]

    def recent_trades(self, symbol: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.trades.get(symbol, []))[-100:]


# A running fake, found by the registry factory from the URL in the VenueConfig.
RUNNING: dict[str, Any] = {}
