"""Spot trading for the devnet engine: books, matching and balances for the listed spot pairs.

A mixin of `Engine`. A spot pair trades on its own central limit order book (price-time
priority, self-trade prevention, Gtc/Ioc/Alo) through the same order ids, statuses, fills,
trades and candles as perps, but settles in token balances instead of positions: a buy
receives the base token and pays the quote (USDC), a sell the reverse. As on the venue the
taker and maker fees are spot rates, charged in the token received; prices follow the spot
price rule (8 − szDecimals decimals); size decimals are the base token's. What an open order
holds (quote for a bid, base for an ask) is the `hold` of spotClearinghouseState and cannot be
traded, sent or transferred twice. A pair has no oracle: its reference price (for the price
band and the mark) is the listing price, then the last trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from hashlib import blake2b

from perpcli.devnet.accounts import Account
from perpcli.devnet.amounts import ZERO
from perpcli.devnet.amounts import plain as _plain
from perpcli.devnet.errors import Errors
from perpcli.devnet.matching import BookOrder, OrderBook
from perpcli.devnet.records import (
    Fill,
    OrderError,
    OrderResult,
    OrderSpec,
    Trade,
)
from perpcli.domain.candles import CANDLE_INTERVALS_MS
from perpcli.venues.hyperliquid.numbers import decimal_places, price_violation

_TID_MASK = (1 << 50) - 1


@dataclass(frozen=True, slots=True)
class SpotMarket:
    """One tradable spot pair, with what its orders need from the two tokens."""

    name: str  # "PURR/USDC" or "@1": the coin of books, fills, trades and candles
    asset: int  # 10000 + pair index
    base: str  # token names
    quote: str
    sz_decimals: int  # the base token's
    base_quantum: Decimal  # fee rounding: the token's wei decimals
    quote_quantum: Decimal
    start_px: Decimal
    dex: str = ""  # spot open orders list with the default dex
    is_delisted: bool = False


def spot_markets(markets) -> list[SpotMarket]:
    tokens = {t.index: t for t in markets.spot_tokens}
    out = []
    for p in markets.spot_pairs:
        base, quote = tokens[p.base], tokens[p.quote]
        out.append(
            SpotMarket(
                p.name,
                p.asset,
                base.name,
                quote.name,
                base.sz_decimals,
                Decimal(1).scaleb(-base.wei_decimals),
                Decimal(1).scaleb(-quote.wei_decimals),
                p.start_px,
            )
        )
    return out


class EngineSpot:
    """Spot books and settlement; mixed into Engine (uses its books, orders and buffers)."""

    def _init_spot(self) -> None:
        self._spot_markets: dict[str, SpotMarket] = {}
        self._spot_by_asset: dict[int, SpotMarket] = {}
        for s in spot_markets(self.markets):
            self._spot_markets[s.name] = s
            self._spot_by_asset[s.asset] = s
            self._books[s.name] = OrderBook(s.name)
            self._oracle[s.name] = s.start_px  # the reference price: listing, then last trade
            self._mark[s.name] = s.start_px
            self._triggers[s.name] = {}
            self._holders[s.name] = {}
            self._oi[s.name] = ZERO
            self._trades[s.name] = []
            self._candles[s.name] = {iv: [] for iv in CANDLE_INTERVALS_MS}
            self._hour_volume[s.name] = {}

    def spot_market(self, coin_or_asset: str | int) -> SpotMarket | None:
        if isinstance(coin_or_asset, int):
            return self._spot_by_asset.get(coin_or_asset)
        return self._spot_markets.get(coin_or_asset)

    def spot_markets(self) -> list[SpotMarket]:
        return list(self._spot_markets.values())

    def has_book(self, coin: str) -> bool:
        """A perp or a spot pair: something with a book, trades and candles."""
        return coin in self._books

    # -- holds ---------------------------------------------------------------------------------

    def spot_holds(self, acct: Account) -> dict[str, Decimal]:
        """Token -> amount held by the account's open spot orders."""
        held: dict[str, Decimal] = {}
        spot = self._spot_markets
        for oid in acct.open_oids:
            o = self._orders.get(oid)
            if o is None:
                continue
            s = spot.get(o.coin)
            if s is None:
                continue
            token, amount = (s.quote, o.sz * o.px) if o.is_buy else (s.base, o.sz)
            held[token] = held.get(token, ZERO) + amount
        return held

    def spot_free(self, acct: Account, token: str) -> Decimal:
        """What the account may still trade, send or transfer of a spot token."""
        return acct.spot.get(token, ZERO) - self.spot_holds(acct).get(token, ZERO)

    # -- orders --------------------------------------------------------------------------------

    def _place_spot(self, acct: Account, spec: OrderSpec, s: SpotMarket, now_ms: int, touched) -> OrderResult:
        px, sz = spec.px, spec.sz
        if s.is_delisted:
            return OrderError(Errors.INVALID_ASSET)
        if not px.is_finite() or px <= 0:
            return OrderError(Errors.INVALID_PRICE)
        rule = price_violation(px, s.sz_decimals, spot=True)
        if rule is not None:
            return OrderError(Errors.TICK if rule == "price-sig-figs" else Errors.INVALID_PRICE)
        if spec.trigger is not None or spec.reduce_only:
            return OrderError(Errors.SPOT_ORDER_KIND)
        if not sz.is_finite():
            return OrderError(Errors.INVALID_SIZE)
        if sz <= 0:
            return OrderError(Errors.ZERO_SIZE)
        if decimal_places(sz) > s.sz_decimals:
            return OrderError(Errors.INVALID_SIZE)
        if spec.cloid is not None and self._cloid_taken(acct, spec.cloid):
            return OrderError(Errors.DUPLICATE_CLOID)
        ref = self._oracle[s.name]
        if abs(px - ref) > self.config.price_band * ref:
            return OrderError(Errors.PRICE_BAND)
        if px * sz < self.config.min_order_notional:
            return OrderError(Errors.MIN_VALUE)
        if len(acct.open_oids) >= self.config.max_open_orders:
            return OrderError(Errors.TOO_MANY_ORDERS)
        book = self._books[s.name]
        if spec.tif == "Alo" and book.opposite(spec.is_buy).crosses(px, spec.is_buy):
            bid, ask = book.bbo()
            msg = Errors.ALO_CROSS.format(bid=_plain(bid), ask=_plain(ask))
            return self._reject(acct, spec, s, now_ms, msg, "badAloPxRejected")
        token, need = (s.quote, px * sz) if spec.is_buy else (s.base, sz)
        if self.spot_free(acct, token) < need:
            msg = Errors.SPOT_BALANCE.format(asset=s.asset)
            return self._reject(acct, spec, s, now_ms, msg, "insufficientSpotBalanceRejected")
        o = self._new_order(acct, spec, s, now_ms)
        touched[s.name] = None
        return self._execute(acct, o, now_ms, touched)

    def _spot_maker_ok(self, macct: Account, maker: BookOrder, qty: Decimal) -> bool:
        """The resting side must still hold what the fill takes (a send may have moved it)."""
        s = self._spot_markets[maker.coin]
        if maker.is_buy:
            return macct.spot.get(s.quote, ZERO) >= qty * maker.px
        return macct.spot.get(s.base, ZERO) >= qty

    def _match_spot(self, taker: BookOrder, maker: BookOrder, qty: Decimal, now_ms: int) -> None:
        s = self._spot_markets[maker.coin]
        px = maker.px
        coin = s.name
        taker.sz -= qty
        maker.sz -= qty
        book = self._books[coin]
        (book.bids if maker.is_buy else book.asks).levels[px].total -= qty
        self._seq += 1
        buy_oid, sell_oid = (taker.oid, maker.oid) if taker.is_buy else (maker.oid, taker.oid)
        digest = blake2b(b"%d:%d:%d" % (buy_oid, sell_oid, self._seq), digest_size=32).digest()
        txhash = "0x" + digest.hex()
        tid = int.from_bytes(digest[:8], "big") & _TID_MASK
        cfg = self.config
        for o, rate, crossed in ((taker, cfg.spot_taker_fee, True), (maker, cfg.spot_maker_fee, False)):
            self._settle_spot(s, o, px, qty, rate, crossed, txhash, tid, now_ms)
        if taker.is_buy:
            trade = Trade(coin, "B", px, qty, now_ms, txhash, tid, taker.user, maker.user)
        else:
            trade = Trade(coin, "A", px, qty, now_ms, txhash, tid, maker.user, taker.user)
        self._oracle[coin] = px  # no oracle for spot: the last trade is the reference
        self._record_trade(trade)

    def _settle_spot(self, s: SpotMarket, o: BookOrder, px, qty, rate, crossed, txhash, tid, now_ms) -> None:
        """One side of a spot fill: tokens change hands, the fee comes out of what is received."""
        acct = self._accounts[o.user]
        bal = acct.spot
        start = bal.get(s.base, ZERO)
        quote_amt = px * qty
        if o.is_buy:
            fee = (qty * rate).quantize(s.base_quantum, rounding=ROUND_HALF_EVEN)
            bal[s.quote] = bal.get(s.quote, ZERO) - quote_amt
            bal[s.base] = start + qty - fee
            fee_token = s.base
        else:
            fee = (quote_amt * rate).quantize(s.quote_quantum, rounding=ROUND_HALF_EVEN)
            bal[s.base] = start - qty
            bal[s.quote] = bal.get(s.quote, ZERO) + quote_amt - fee
            fee_token = s.quote
        acct.cum_volume += quote_amt
        fill = Fill(
            acct.address, s.name, px, qty, "B" if o.is_buy else "A", now_ms, start,
            "Buy" if o.is_buy else "Sell", ZERO, txhash, o.oid, crossed, fee, tid, o.cloid, fee_token,
        )
        acct.fills.append(fill)
        limit = acct.history_limit or self.config.history_limit
        if len(acct.fills) > limit + limit // 10:
            del acct.fills[: len(acct.fills) - limit]
        self._buf_fills.setdefault(acct.address, []).append(fill)
        self._buf_accounts[acct.address] = None
