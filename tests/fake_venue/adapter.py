"""The fake venue's adapter: `MarketData` and `Trading` exactly as perpcli/venues/base.py says.

Everything a caller gets is a domain type; ids are the venue's opaque strings; client ids
have the venue's own format (`pc-` + 12 of [0-9A-Z]); refusals carry the venue's words and
an `ErrorKind` from its own table (wire.ERROR_KINDS). What it does not support (capabilities
False) is refused with a UsageError before anything is signed.

Settling a request whose answer was lost: query each order by client id; if the venue has
never seen one, *retire* the request id (a signed request of its own) so the original can
never execute, and report "not placed"; if retiring is refused because the request already
executed, query again. The original is never resent.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import count
from typing import Any

from perpcli.domain.errors import AuthError, ErrorKind, OutcomeUnknown, UsageError, ValidationError
from perpcli.domain.events import (
    AccountSnapshot,
    Balance,
    BookSnapshot,
    Fill,
    FundingPayment,
    MarkPrice,
    OrderUpdate,
    PositionSnapshot,
    Trade,
)
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import Order, OrderIntent, OrderType, Side
from perpcli.ledger.book import SyncRule
from perpcli.ledger.fees import ACCOUNT, PUBLIC_SCHEDULE, FeeRates
from perpcli.ledger.margin_rules import Bracket, BracketRules
from perpcli.net.stream import StreamProtocol, Subscription
from perpcli.venues.base import (
    Ack,
    AckStatus,
    ActionResult,
    AgentKey,
    CancelResult,
    CancelTarget,
    Candle,
    FundingRate,
    KeyRole,
    LeverageSetting,
    MarginAccount,
    Positions,
    Prepared,
    TradingOptions,
)
from tests.fake_venue import wire
from tests.fake_venue.brackets import margin_table
from tests.fake_venue.capabilities import fake_capabilities
from tests.fake_venue.exchange import MAKER_FEE, RUNNING, TAKER_FEE, FakeExchange, NoAnswer, request_digest

CLIENT_ID = re.compile(r"pc-[0-9A-Z]{12}")
ADDRESS = re.compile(r"0x[0-9a-f]{40}")
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def open_venue(config: Any) -> FakeMarketData:
    """Registry factory: the running fake exchange named by the config's URL."""
    try:
        exchange, ws_url = RUNNING[config.url]
    except KeyError:
        raise UsageError(f"no fake venue is running at {config.url}") from None
    return FakeMarketData(exchange, ws_url, venue=config.name, network=config.network)


def _unsupported(venue: str, what: str) -> UsageError:
    return UsageError(f"{venue} does not support {what} (see `perp venues`)")


@dataclass
class FakeLiveFeed:
    """`LiveFeed`: the websocket URL, the protocol and subscriptions.

    Beyond base.LiveFeed (a seam gap the contract suite records as a strict xfail): a diff
    feed's callers also need `snapshot`, the REST depth a REST_SNAPSHOT feed resyncs from
    (StreamSession's snapshot_fetcher). `iterate` below passes it; cli/live_stream.py and
    tui/live.py cannot yet.
    """

    ws_url: str
    protocol: StreamProtocol
    exchange: FakeExchange
    book_sync_rule: SyncRule = SyncRule.PREV_CHAIN  # Binance-style U/u/pu chaining
    account_socket: None = None  # account events ride the market socket
    marks: None = None  # no mark stream: algos read the mark over REST

    def book(self, symbol: str) -> Subscription:
        return wire.depth_subscription(symbol)

    def trades(self, symbol: str) -> Subscription:
        return wire.trades_subscription(symbol)

    def fills(self, account: str) -> Subscription:
        return wire.account_subscription(account)

    def orders(self, account: str) -> Subscription:
        return wire.account_subscription(account)

    async def snapshot(self, sub: Subscription) -> str:
        await asyncio.sleep(0.02)  # a REST round trip: let the subscribe land first
        return json.dumps(self.exchange.depth(sub.key[1]))


class FakeMarketData:
    def __init__(self, exchange: FakeExchange, ws_url: str, *, venue: str = "fakex", network: str = "testnet") -> None:
        self.exchange = exchange
        self.ws_url = ws_url
        self.venue = venue
        self._network = network
        self._instruments: dict[str, Instrument] | None = None

    @property
    def capabilities(self) -> Any:
        return fake_capabilities()

    @property
    def network(self) -> str:
        return self._network

    def close(self) -> None:
        pass

    # ----- markets and prices

    def _load(self) -> dict[str, Instrument]:
        if self._instruments is None:
            self._instruments = {}
            for i, row in enumerate(self.exchange.exchange_info()["symbols"]):
                spec = self.exchange.markets[row["symbol"]]
                self._instruments[row["symbol"]] = Instrument(
                    venue=self.venue, symbol=row["symbol"], underlying=row["baseAsset"], asset_id=i,
                    lot_size=Decimal(row["stepSize"]), max_leverage=spec.table[0].max_leverage,
                    tick_size=Decimal(row["tickSize"]), min_notional=Decimal(row["minNotional"]),
                    margin_table=margin_table(spec.table), quote="USDT")
        return self._instruments

    def instruments(self, *, include_builder_dexes: bool = False) -> list[Instrument]:
        return list(self._load().values())

    def margin_rules(self, instrument: Instrument) -> BracketRules:
        """Binance-style maintenance brackets, from the venue's bracket table for the symbol."""
        table = self.exchange.markets[instrument.symbol].table
        return BracketRules(tuple(Bracket(b.floor, b.max_leverage, b.maint_rate, b.cum) for b in table))

    def default_fees(self) -> FeeRates:
        return FeeRates(MAKER_FEE, TAKER_FEE, source=PUBLIC_SCHEDULE)

    def instrument(self, market: str) -> Instrument:
        insts = self._load()
        name = market.upper()
        if name not in insts:  # users may type the underlying ("BTC")
            name = next((s for s, i in insts.items() if i.underlying == name), name)
        if name not in insts:
            raise UsageError(f"unknown market {market!r} on {self.venue} (see `perp markets`)")
        return insts[name]

    def mark_prices(self, markets: Sequence[str] | None = None, *, fresh: bool = False) -> list[MarkPrice]:
        wanted = {self.instrument(m).symbol for m in markets} if markets else None
        out = []
        for row in self.exchange.premium_index():
            if wanted is None or row["symbol"] in wanted:
                book = self.exchange.depth(row["symbol"], 1)
                mid = (Decimal(book["bids"][0][0]) + Decimal(book["asks"][0][0])) / 2
                out.append(MarkPrice(self.venue, row["symbol"], Decimal(row["markPrice"]), row["time"],
                                     oracle_price=Decimal(row["indexPrice"]), mid_price=mid,
                                     funding_rate=Decimal(row["lastFundingRate"])))
        return out

    def mids(self, markets: Sequence[str] | None = None) -> dict[str, Decimal]:
        return {m.symbol: m.mid_price or m.mark_price for m in self.mark_prices(markets)}

    def reference_prices(self, market: str) -> tuple[Decimal, Decimal]:
        mp = self.mark_prices([market])[0]
        return mp.mid_price or mp.mark_price, mp.mark_price

    def book(self, market: str, depth: int = 20) -> BookSnapshot:
        symbol = self.instrument(market).symbol
        return wire.book_snapshot(self.exchange.depth(symbol, depth), symbol, venue=self.venue)

    def recent_trades(self, market: str) -> list[Trade]:
        symbol = self.instrument(market).symbol
        return [Trade(self.venue, symbol, Side.SELL if t["m"] else Side.BUY, Decimal(t["p"]), Decimal(t["q"]),
                      int(t["T"]), t["a"]) for t in self.exchange.recent_trades(symbol)]

    def candles(self, market: str, interval: str, start_ms: int, end_ms: int) -> list[Candle]:
        self.instrument(market)
        if interval not in ("1m", "5m", "1h"):
            raise UsageError(f"interval must be one of 1m 5m 1h, got {interval!r}")
        return []  # the fake keeps no history

    def funding(self, markets: Sequence[str] | None = None) -> list[FundingRate]:
        return [FundingRate(m.symbol, m.funding_rate or Decimal(0), 8) for m in self.mark_prices(markets)]

    # ----- streams

    def live_feed(self, account: str = "") -> FakeLiveFeed:
        return FakeLiveFeed(self.ws_url, wire.FakeProtocol(self.venue, account), self.exchange)

    def stream_book(self, market: str) -> AsyncIterator[Any]:
        symbol = self.instrument(market).symbol
        feed = self.live_feed()
        return iterate(feed, [feed.book(symbol)], books={feed.book(symbol).key: symbol})

    def stream_trades(self, market: str) -> AsyncIterator[Any]:
        feed = self.live_feed()
        return iterate(feed, [feed.trades(self.instrument(market).symbol)])

    # ----- ids, addresses, offline signing

    def new_client_id(self) -> str:
        n = int.from_bytes(os.urandom(8), "big")
        return "pc-" + "".join(_B36[(n // 36**i) % 36] for i in range(12))

    def check_client_id(self, text: str, *, what: str = "cloid") -> str:
        if not CLIENT_ID.fullmatch(text):
            raise UsageError(f"{what} must be pc- followed by 12 of 0-9 A-Z on {self.venue}, got {text!r}")
        return text

    def check_address(self, text: str, *, what: str = "address") -> str:
        if not ADDRESS.fullmatch(text.lower()):
            raise UsageError(f"{what} must be 0x followed by 40 hex digits, got {text!r}")
        return text.lower()

    def offline(self) -> Any:
        raise _unsupported(self.venue, "offline signing")

    def trading(self, signer: Any, *, options: TradingOptions | None = None, nonces: Any = None) -> FakeTrading:
        return FakeTrading(self, signer, options=options or TradingOptions(), nonces=nonces)


def iterate(feed: FakeLiveFeed, subs: Sequence[Subscription], *,
            books: dict[Any, str] | None = None) -> AsyncIterator[Any]:
    """Domain events through perpcli's own venue-neutral iterator (StreamSession and the book's
    PREV_CHAIN sequencing): a plugin venue needs nothing of its own here but its LiveFeed."""
    from perpcli.venues.live import iterate as live_iterate

    return live_iterate(feed, feed.protocol.venue, subs, books=books)


class FakeTrading:
    def __init__(self, market: FakeMarketData, signer: Any, *, options: TradingOptions, nonces: Any = None) -> None:
        if options.builder or options.account_override:
            raise _unsupported(market.venue, "builder fees or trading for another account")
        self.market = market
        self.venue = market.venue
        self.exchange = market.exchange
        self._signer = signer
        self._nonces = nonces
        self._counter = count(self.exchange.clock_ms())

    @property
    def capabilities(self) -> Any:
        return self.market.capabilities

    def fee_rates(self) -> FeeRates:
        return FeeRates(MAKER_FEE, TAKER_FEE, source=ACCOUNT)  # the fake charges every account alike

    # ----- who is trading

    @property
    def signer_address(self) -> str:
        return self._signer.address

    @property
    def account_address(self) -> str:
        return self._signer.address

    def resolve_account(self) -> KeyRole:
        known = self.exchange.account_info(self.signer_address) is not None
        return KeyRole(self.signer_address, "user" if known else "missing", self.signer_address if known else None)

    def require_registered(self) -> KeyRole:
        role = self.resolve_account()
        if not role.registered:
            raise AuthError(f"key {self.signer_address} has no account on {self.venue}")
        return role

    # ----- reads

    def _info(self) -> dict[str, Any]:
        info = self.exchange.account_info(self.account_address)
        if info is None:
            raise AuthError(f"key {self.signer_address} has no account on {self.venue}")
        return info

    def _positions(self, info: dict[str, Any]) -> list[PositionSnapshot]:
        return [PositionSnapshot(p["symbol"], Decimal(p["positionAmt"]), Decimal(p["entryPrice"]),
                                 leverage=int(p["leverage"]), unrealized_pnl=Decimal(p["unRealizedProfit"]),
                                 liquidation_price=Decimal(p["liquidationPrice"]) or None)
                for p in info["positions"]]

    def margin_accounts(self) -> list[MarginAccount]:
        return [MarginAccount("", self.account())]

    def account(self, market: str | None = None) -> AccountSnapshot:
        info = self._info()
        return AccountSnapshot(
            venue=self.venue, account=self.account_address, time_ms=self.exchange.clock_ms(),
            balances=(Balance("USDT", Decimal(info["totalWalletBalance"])),),
            positions=tuple(self._positions(info)), open_orders=tuple(self.open_orders()),
            account_value=Decimal(info["totalMarginBalance"]), withdrawable=Decimal(info["availableBalance"]),
            margin_used=Decimal(info["totalInitialMargin"]))

    def positions(self) -> Positions:
        info = self._info()
        return Positions(self._positions(info), {p["symbol"]: Decimal(p["markPrice"]) for p in info["positions"]})

    def open_orders(self) -> list[Order]:
        return [wire.order(r, venue=self.venue) for r in self.exchange.open_orders(self.account_address)]

    def fills(self, since_ms: int | None = None) -> list[Fill]:
        return [wire.fill(r, venue=self.venue, account=self.account_address)
                for r in self.exchange.user_trades(self.account_address, since_ms)]

    def funding_history(self, since_ms: int, end_ms: int | None = None) -> list[FundingPayment]:
        return []  # the fake never settles funding

    def order_updates_since(self, since_ms: int) -> list[OrderUpdate]:
        rows = self.exchange.orders_changed_since(self.account_address, since_ms)
        return [OrderUpdate(self.venue, self.account_address, wire.order(r, venue=self.venue), int(r["updateTime"]),
                            reason=r["status"]) for r in rows]

    def order_status(self, *, oid: str | None = None, cloid: str | None = None,
                     market: str | None = None) -> Ack | None:
        if (oid is None) == (cloid is None):
            raise UsageError("give exactly one of oid or cloid")
        row = self.exchange.query_order(self.account_address, oid=oid, client_id=cloid)
        return None if row is None else wire.order_ack(row, cloid)

    def leverage_setting(self, market: str) -> LeverageSetting:
        symbol = self.market.instrument(market).symbol
        lev = self._info()["leverage"].get(symbol)
        return LeverageSetting(int(lev) if lev is not None else None, cross=True)

    def agents(self) -> list[AgentKey]:
        return []

    def stream_account(self) -> AsyncIterator[Any]:
        feed = self.market.live_feed(self.account_address)
        return iterate(feed, [feed.fills(self.account_address)])

    # ----- signing

    def _signed(self, kind: str, **fields: Any) -> dict[str, Any]:
        rid = self._nonces.next() if self._nonces is not None else next(self._counter)
        body = {"type": kind, "account": self.account_address, "requestId": rid, **fields}
        body["signature"] = self._signer.sign_digest(request_digest(body)).to_wire()
        return body

    # ----- orders

    def _order_wire(self, intent: OrderIntent) -> dict[str, Any]:
        if intent.order_type not in (OrderType.LIMIT, OrderType.MARKET):
            raise _unsupported(self.venue, f"{intent.order_type.value} orders")
        inst = self.market.instrument(intent.symbol)
        if intent.price is None:
            raise ValidationError("a market order needs a worst price on this venue", rule="price-required")
        if not intent.reduce_only:
            inst.validate_order(intent.price, intent.size)
        cid = self.market.check_client_id(intent.cloid) if intent.cloid else self.market.new_client_id()
        tif = "IOC" if intent.order_type is OrderType.MARKET else wire.TIFS[intent.tif]
        return {"symbol": inst.symbol, "side": intent.side.value.upper(), "type": "LIMIT", "timeInForce": tif,
                "quantity": str(intent.size), "price": str(intent.price), "reduceOnly": intent.reduce_only,
                "newClientOrderId": cid}

    def prepare_orders(self, intents: Sequence[OrderIntent], *, grouping: str = "na") -> Prepared:
        if grouping != "na":
            raise _unsupported(self.venue, "bracket (TP/SL) groups")
        orders = [self._order_wire(i) for i in intents]
        return Prepared(kind="order", body=self._signed("order", orders=orders),
                        requests=[(o["newClientOrderId"], Decimal(o["quantity"])) for o in orders],
                        markets=[o["symbol"] for o in orders])

    def send_orders(self, prepared: Prepared) -> list[Ack]:
        try:
            answers = self.exchange.post(prepared.body)
        except NoAnswer:
            return self.settle(prepared)
        if wire.is_error(answers):  # the whole request was refused
            return [wire.order_ack(answers, c) for c, _ in prepared.requests]
        return [wire.order_ack(a, c) for a, (c, _) in zip(answers, prepared.requests, strict=True)]

    def submit(self, intents: Sequence[OrderIntent], *, grouping: str = "na") -> list[Ack]:
        return self.send_orders(self.prepare_orders(intents, grouping=grouping))

    def settle(self, prepared: Prepared) -> list[Ack]:
        """The answer never came: find each order by client id; retire the request if unseen."""
        acks = [self.order_status(cloid=c) if c else None for c, _ in prepared.requests]
        if all(a is not None for a in acks):
            return [a for a in acks if a is not None]
        try:
            answer = self.exchange.post(self._signed("retire", target=prepared.body["requestId"]))
            retired = not wire.is_error(answer)
            if not retired and wire.error_kind(answer) is not ErrorKind.NONCE:
                retired = None
        except NoAnswer:
            retired = None
        if retired is False:  # it had executed after all
            acks = [a or self.order_status(cloid=c) for a, (c, _) in zip(acks, prepared.requests, strict=True)]
        out = []
        for a, (c, _) in zip(acks, prepared.requests, strict=True):
            if a is not None:
                out.append(a)
            elif retired:
                out.append(Ack(AckStatus.REJECTED, cloid=c,
                               error="no answer came; the request was retired before it executed"))
            elif retired is False:  # executed, yet the venue kept no order: it refused this one
                out.append(Ack(AckStatus.REJECTED, cloid=c, error="the venue executed the request but kept no order"))
            else:
                out.append(Ack(AckStatus.UNKNOWN, cloid=c, error="no answer and no trace of the order"))
        return out

    def prepare_cancel(self, targets: Sequence[CancelTarget]) -> Prepared:
        cancels = []
        for t in targets:
            if (t.oid is None) == (t.cloid is None):
                raise UsageError("cancel by oid or by cloid (one of the two)")
            symbol = self.market.instrument(t.market).symbol
            cancels.append({"symbol": symbol, "orderId": t.oid} if t.oid is not None
                           else {"symbol": symbol, "origClientOrderId": self.market.check_client_id(t.cloid)})
        return Prepared(kind="cancel", body=self._signed("cancel", cancels=cancels),
                        markets=[c["symbol"] for c in cancels])

    def send_cancel(self, prepared: Prepared, targets: Sequence[CancelTarget]) -> list[CancelResult]:
        try:
            answers = self.exchange.post(prepared.body)
        except NoAnswer:
            raise OutcomeUnknown("cancel: no answer from the venue; check with `perp orders`") from None
        if wire.is_error(answers):
            answers = [answers] * len(targets)
        out = []
        for t, a in zip(targets, answers, strict=True):
            if wire.is_error(a):
                out.append(CancelResult(False, oid=t.oid, cloid=t.cloid, error=wire.error_text(a),
                                        error_kind=wire.error_kind(a)))
            else:
                out.append(CancelResult(True, oid=a["orderId"], cloid=a["clientOrderId"]))
        return out

    def cancel(self, target: CancelTarget) -> CancelResult:
        return self.send_cancel(self.prepare_cancel([target]), [target])[0]

    def prepare_modify(self, oid: str, intent: OrderIntent) -> Prepared:
        raise _unsupported(self.venue, "modifying an order (cancel it and place a new one)")

    def modify(self, oid: str, intent: OrderIntent) -> Ack:
        raise _unsupported(self.venue, "modifying an order (cancel it and place a new one)")

    # ----- other actions

    def prepare_leverage(self, market: str, leverage: int, *, cross: bool) -> Prepared:
        inst = self.market.instrument(market)
        if not cross:
            raise _unsupported(self.venue, "isolated margin")
        if not 1 <= leverage <= inst.max_leverage:
            raise ValidationError(f"leverage {leverage} is not within 1..{inst.max_leverage} on {inst.symbol}",
                                  rule="max-leverage", nearest=inst.max_leverage)
        return Prepared(kind="leverage", body=self._signed("leverage", symbol=inst.symbol, leverage=leverage),
                        markets=[inst.symbol])

    def set_leverage(self, market: str, leverage: int, *, cross: bool) -> ActionResult:
        return self.send(self.prepare_leverage(market, leverage, cross=cross))

    def prepare_margin(self, market: str, amount: Decimal) -> Prepared:
        raise _unsupported(self.venue, "isolated margin transfers")

    def prepare_schedule_cancel(self, time_ms: int | None) -> Prepared:
        raise _unsupported(self.venue, "a dead man's switch")

    def prepare_twap(self, market: str, *, is_buy: bool, size: Decimal, minutes: int,
                     reduce_only: bool = False, randomize: bool = False) -> Prepared:
        raise _unsupported(self.venue, "TWAP orders")

    def prepare_twap_cancel(self, market: str, twap_id: int) -> Prepared:
        raise _unsupported(self.venue, "TWAP orders")

    def twaps(self, *, include_ended: bool = False) -> list:
        raise _unsupported(self.venue, "TWAP orders")

    def prepare_transfer(self, kind: str, amount: Decimal, *, destination: str | None = None,
                         to_perp: bool = True) -> Prepared:
        raise _unsupported(self.venue, f"{kind} transfers")

    def transfer(self, kind: str, amount: Decimal, *, destination: str | None = None,
                 to_perp: bool = True) -> ActionResult:
        return self.send(self.prepare_transfer(kind, amount, destination=destination, to_perp=to_perp))

    def prepare_approve_agent(self, agent_address: str, name: str | None,
                              valid_until_ms: int | None = None) -> Prepared:
        raise _unsupported(self.venue, "agent (API) keys")

    def send(self, prepared: Prepared) -> ActionResult:
        try:
            answer = self.exchange.post(prepared.body)
        except NoAnswer:
            raise OutcomeUnknown(f"{prepared.kind}: no answer from the venue") from None
        if wire.is_error(answer):
            return ActionResult(False, error=wire.error_text(answer), error_kind=wire.error_kind(answer))
        return ActionResult(True, detail=dict(answer))
