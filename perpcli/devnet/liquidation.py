"""Liquidation for the devnet engine (protocol notes §d.8).

A mixin of `Engine`. Whether an account is liquidatable is the ledger's rule
(`perpcli.ledger.margin.summarize`): cross when the cross account value is below the cross
maintenance margin, isolated when a position's margin plus uPnL is below its maintenance.
The engine then cancels the account's orders, sends a reduce-only market order through the
book (fills carry a `liquidation` record, method "market"), and when the book cannot absorb
the position the liquidator account takes it over at the mark ("backstop"): the user keeps
nothing of a backstopped cross account, or of a backstopped isolated position's margin.
Simplification: the whole position is closed at once (the venue does 20% slices above $100k).
"""

from __future__ import annotations

from decimal import Decimal
from hashlib import blake2b

from perpcli.devnet.accounts import Account, Position
from perpcli.devnet.amounts import ZERO
from perpcli.devnet.matching import BookOrder
from perpcli.devnet.records import Liquidated, LiquidationInfo
from perpcli.venues.hyperliquid.numbers import Rounding, round_price

_TID_MASK = (1 << 50) - 1


class EngineLiquidation:
    """Liquidation checks and execution; mixed into Engine (uses its state and matching)."""

    def _check_liquidations(self, coin: str) -> None:
        for user in list(self._holders[coin]):
            acct = self._accounts[user]
            pos = acct.positions.get(coin)
            if pos is None:
                continue
            dex = self._dex_of[coin]
            summary = self._summary(acct, dex)  # each perp dex margins on its own collateral
            if pos.is_cross:
                if summary.liquidatable:
                    coins = [p.coin for p in acct.positions.values() if p.is_cross and self._dex_of[p.coin] == dex]
                    self._liquidate(acct, coins, True, summary.cross_account_value)
            else:
                row = next(r for r in summary.positions if r.symbol == coin)
                if row.margin_used < row.maintenance_margin:  # isolated equity below maintenance
                    self._liquidate(acct, [coin], False, row.margin_used)

    def _liquidate(self, acct: Account, coins: list[str], cross: bool, account_value: Decimal) -> None:
        now = self.now_ms
        self._lid += 1
        ntl_total = sum((abs(acct.positions[c].szi) * self._mark[c] for c in coins), ZERO)
        for oid in list(acct.open_oids):
            o = self._orders.get(oid)
            if o is not None and (o.coin in coins or cross and self._dex_of[o.coin] == self._dex_of[coins[0]]):
                self._cancel_order(o, "liquidatedCanceled", now)
        for coin in coins:
            pos = acct.positions.get(coin)
            if pos is None:
                continue
            mark = self._mark[coin]
            info = LiquidationInfo(acct.address, mark, "market")
            is_buy = pos.szi < 0
            slip = self.config.liquidation_slippage
            bound = mark * (1 + slip) if is_buy else mark * (1 - slip)
            m = self.markets.perp_by_name(coin)
            bound = round_price(bound, m.sz_decimals, rounding=Rounding.UP if is_buy else Rounding.DOWN)
            o = BookOrder(self._next_oid, acct.address, coin, is_buy, bound, abs(pos.szi), now, None, True, "LiquidationMarket")
            self._next_oid += 1
            self._liquidation_sweep(acct, o, info, now)
            pos = acct.positions.get(coin)
            if pos is not None and pos.szi != 0:
                self._backstop(acct, pos, now)
        self._events.append(Liquidated(acct.address, self._lid, self.config.liquidator, ntl_total, account_value))
        self._ledger(
            acct,
            "liquidation",
            ZERO,
            (
                ("liquidatedNtlPos", ntl_total),
                ("accountValue", account_value),
                ("leverageType", "Cross" if cross else "Isolated"),
            ),
        )
        self._buf_accounts[acct.address] = None

    def _liquidation_sweep(self, acct: Account, o: BookOrder, info: LiquidationInfo, now_ms: int) -> None:
        book = self._books[o.coin]
        opposite = book.opposite(o.is_buy)
        while o.sz > 0:
            level = opposite.best()
            if level is None or (level.px > o.px if o.is_buy else level.px < o.px):
                break
            maker = next(iter(level.orders.values()))
            if maker.user == o.user:
                self._cancel_order(maker, "selfTradeCanceled", now_ms)
                continue
            macct = self._accounts[maker.user]
            mpos = macct.positions.get(o.coin)
            mszi = mpos.szi if mpos is not None else ZERO
            qty = min(o.sz, maker.sz)
            if maker.reduce_only:
                if mszi == 0 or (mszi > 0) == maker.is_buy:
                    self._cancel_order(maker, "reduceOnlyCanceled", now_ms)
                    continue
                qty = min(qty, abs(mszi))
            self._match(o, maker, qty, now_ms, liquidation=info)
            self._buf_books[o.coin] = None
            if maker.sz == 0:
                self._maker_done(macct, maker, now_ms, {})

    def _backstop(self, acct: Account, pos: Position, now_ms: int) -> None:
        """No book liquidity: the liquidator takes the position over at the mark price."""
        liq = self._account(self.config.liquidator, now_ms, auto=False)
        mark = self._mark[pos.coin]
        is_buy = pos.szi < 0
        qty = abs(pos.szi)
        info = LiquidationInfo(acct.address, mark, "backstop")
        taker = BookOrder(self._next_oid, acct.address, pos.coin, is_buy, mark, qty, now_ms, None, True, "LiquidationMarket")
        maker = BookOrder(self._next_oid + 1, liq.address, pos.coin, not is_buy, mark, qty, now_ms, None, False, "Gtc")
        self._next_oid += 2
        self._seq += 1
        digest = blake2b(b"backstop:%d" % self._seq, digest_size=32).digest()
        txhash = "0x" + digest.hex()
        tid = int.from_bytes(digest[:8], "big") & _TID_MASK
        is_cross = pos.is_cross
        pot = ZERO if is_cross else pos.iso_margin + self._upnl(pos)  # what is left of the isolated pot
        self._apply_fill(acct.address, taker, mark, qty, ZERO, True, txhash, tid, now_ms, info)
        self._apply_fill(liq.address, maker, mark, qty, ZERO, False, txhash, tid, now_ms, None)
        # The user keeps nothing of a backstopped cross account, or of the isolated position's
        # margin; a negative balance (bad debt) is absorbed by the liquidator.
        w, lw = self._wallet(acct, pos.coin), self._wallet(liq, pos.coin)
        taken = w.usdc if is_cross else min(pot, w.usdc)
        if taken > 0 or w.usdc < 0:
            taken = taken if taken > 0 else w.usdc
            w.usdc -= taken
            lw.usdc += taken
