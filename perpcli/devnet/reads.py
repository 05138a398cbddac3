"""The devnet engine's read side: books, market contexts, account views, histories.

A mixin of `Engine` (kept apart so engine.py holds the behaviour that changes state and this
module the queries the server renders). Account numbers come from the ledger's margin model
via `margin_rules`; views round USDC to 6 decimals as the venue shows them.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from perpcli.devnet import margin_rules as mr
from perpcli.devnet.amounts import RATE_QUANTUM, ZERO
from perpcli.devnet.amounts import canon as _canon
from perpcli.devnet.amounts import usd as _usd
from perpcli.devnet.records import (
    ActiveAssetData,
    AssetCtx,
    BookLevel,
    Candle,
    ClearinghouseView,
    Fill,
    FundingPayment,
    FundingRate,
    L2Snapshot,
    LedgerUpdate,
    MarginSummaryView,
    OrderRecord,
    OrderStatusRecord,
    PositionView,
    SpotBalance,
    Trade,
)
from perpcli.domain.candles import CANDLE_INTERVALS_MS

_DAY = 86_400_000


class EngineReads:
    """Queries over an Engine's state; never mutates it."""


    def l2_book(
        self, coin: str, depth: int = 20, n_sig_figs: int | None = None, mantissa: int | None = None
    ) -> L2Snapshot:
        book = self._books[coin]
        sides = []
        for side in (book.bids, book.asks):
            levels: list[BookLevel] = []
            if n_sig_figs is None:
                for lvl in side.levels_best_first():
                    levels.append(BookLevel(lvl.px, lvl.total, len(lvl.orders)))
                    if len(levels) >= depth:
                        break
            else:
                levels = _aggregate(side, n_sig_figs, depth, mantissa)
            sides.append(tuple(levels))
        return L2Snapshot(coin, self.now_ms, sides[0], sides[1])

    def asset_ctx(self, coin: str) -> AssetCtx:
        m = self.markets.perp_by_name(coin)
        book = self._books[coin]
        bid, ask = book.bbo()
        mid = (bid + ask) / 2 if bid is not None and ask is not None else None
        ib = book.vwap_for_notional(False, m.impact_notional)
        ia = book.vwap_for_notional(True, m.impact_notional)
        impact = (ib, ia) if ib is not None and ia is not None else None
        rate, premium = self._funding_rate(m)
        vol_base = vol_ntl = ZERO
        for hour, (b, n) in self._hour_volume[coin].items():
            if hour > self.now_ms - _DAY:
                vol_base += b
                vol_ntl += n
        return AssetCtx(
            coin,
            rate,
            self._oi[coin],
            self._oracle[coin],
            self._mark[coin],
            mid,
            impact,
            premium if impact is not None else None,
            self._prev_day_px(coin),
            vol_ntl,
            vol_base,
        )

    def _prev_day_px(self, coin: str) -> Decimal:
        cutoff = self.now_ms - _DAY
        if self.history is not None:
            past = self.history.close_before(coin, cutoff)
            if past is not None:
                return past
        prev = None
        for c in self._candles[coin]["1h"]:
            if c.t <= cutoff:
                prev = c.c
            else:
                if prev is None:
                    prev = c.o
                break
        if prev is None:
            m = self.markets.perp_by_name(coin) or self._spot_markets[coin]
            return m.start_px
        return prev

    def all_mids(self, dex: str = "") -> dict[str, Decimal]:
        """Mid of the book, else the last trade, else (devnet: a market never traded) the mark,
        so clients that price market orders from allMids work on a fresh devnet too."""
        out: dict[str, Decimal] = {}
        for m in self.markets.perps_of_dex(dex):
            if m.is_delisted:
                continue
            mid = self.mid_price(m.name)
            out[m.name] = mid if mid is not None else self._mark[m.name]
        if not dex:  # spot mids list with the default dex only
            for s in self._spot_markets.values():
                mid = self.mid_price(s.name)
                out[s.name] = mid if mid is not None else self._mark[s.name]
        return out

    def spot_ctx(self, coin: str) -> tuple[Decimal, Decimal | None, Decimal, Decimal, Decimal]:
        """(mark, mid or None, prevDayPx, dayNtlVlm, dayBaseVlm) of a spot pair."""
        bid, ask = self._books[coin].bbo()
        mid = (bid + ask) / 2 if bid is not None and ask is not None else None
        vol_base = vol_ntl = ZERO
        for hour, (b, n) in self._hour_volume[coin].items():
            if hour > self.now_ms - _DAY:
                vol_base += b
                vol_ntl += n
        return self._mark[coin], mid, self._prev_day_px(coin), vol_ntl, vol_base

    def clearinghouse_state(self, user: str, dex: str = "") -> ClearinghouseView:
        acct = self._accounts.get(user.lower())
        if acct is None:
            zero = MarginSummaryView(ZERO, ZERO, ZERO, ZERO)
            return ClearinghouseView((), zero, zero, ZERO, ZERO, self.now_ms)
        summary = self._summary(acct, dex)  # each perp dex has its own collateral
        rows = {r.symbol: r for r in summary.positions}
        views: list[PositionView] = []
        cross_ntl = signed_cross = signed_all = ZERO
        for coin in sorted(acct.positions, key=lambda c: self.markets.perp_by_name(c).asset):
            pos = acct.positions[coin]
            m = self.markets.perp_by_name(coin)
            if m.dex != dex:
                continue
            row = rows[coin]
            signed = pos.szi * self._mark[coin]
            signed_all += signed
            if pos.is_cross:
                signed_cross += signed
                cross_ntl += row.notional
            entry_ntl = abs(pos.szi) * pos.entry_px
            roe = row.unrealized_pnl / (entry_ntl / pos.leverage) if entry_ntl else ZERO
            liq = row.liquidation_price
            views.append(
                PositionView(
                    coin,
                    pos.szi,
                    _canon(pos.entry_px.quantize(RATE_QUANTUM)),
                    _usd(row.notional),
                    _usd(row.unrealized_pnl),
                    _canon(roe.quantize(RATE_QUANTUM)),
                    None if liq is None else _canon(liq.quantize(RATE_QUANTUM)),
                    _usd(row.margin_used),
                    mr.max_leverage_at(self._table(m), ZERO),
                    "cross" if pos.is_cross else "isolated",
                    pos.leverage,
                    None if pos.is_cross else _usd(pos.iso_margin - pos.szi * pos.entry_px),
                    pos.cum_funding_all_time,
                    pos.cum_funding_since_open,
                    pos.cum_funding_since_change,
                )
            )
        # Views show USDC to 6 decimals, as the venue does; the state itself stays exact.
        cav = summary.cross_account_value
        cross = MarginSummaryView(_usd(cav), _usd(cross_ntl), _usd(cav - signed_cross), _usd(summary.cross_margin_used))
        av = summary.account_value
        total = MarginSummaryView(_usd(av), _usd(summary.total_notional), _usd(av - signed_all), _usd(summary.margin_used))
        withdrawable = mr.withdrawable(summary, self._balance(acct, dex)[1])
        return ClearinghouseView(
            tuple(views), total, cross, _usd(summary.cross_maintenance_margin), _usd(withdrawable), self.now_ms
        )

    def spot_balances(self, user: str) -> list[SpotBalance]:
        acct = self._accounts.get(user.lower())
        if acct is None:
            return []
        out = []
        holds = self.spot_holds(acct)
        for tok in self.markets.spot_tokens:
            total = acct.spot.get(tok.name)
            if total is None:
                continue
            out.append(SpotBalance(tok.name, tok.index, total, holds.get(tok.name, ZERO), ZERO))
        return out

    def open_orders(self, user: str, dex: str = "") -> list[OrderRecord]:
        """Resting and untriggered trigger orders, newest first (frontendOpenOrders rows)."""
        acct = self._accounts.get(user.lower())
        if acct is None:
            return []
        out = []
        for oid in reversed(acct.open_oids):
            o = self._orders.get(oid)
            if o is None:
                continue
            if self._dex_of.get(o.coin, "") != dex:  # spot orders list with the default dex
                continue
            out.append(self._order_record(o, with_children=True))
        return out

    def order_status(self, user: str, oid_or_cloid: int | str) -> OrderStatusRecord | None:
        acct = self._accounts.get(user.lower())
        if acct is None:
            return None
        oid = acct.cloids.get(oid_or_cloid.lower()) if isinstance(oid_or_cloid, str) else oid_or_cloid
        if oid is None or self._owner.get(oid) != acct.address:
            return None
        live = self._orders.get(oid)
        rec = self._status.get(oid)
        if rec is not None and live is not None and rec.status == "open":
            return OrderStatusRecord(self._order_record(live, with_children=True), "open", rec.status_timestamp)
        return rec

    def historical_orders(self, user: str, limit: int = 2000) -> list[OrderStatusRecord]:
        acct = self._accounts.get(user.lower())
        if acct is None:
            return []
        out = []
        for oid in reversed(acct.order_history):
            rec = self._status.get(oid)
            if rec is not None:
                out.append(rec)
                if len(out) >= limit:
                    break
        return out

    def user_fills(self, user: str, start_ms: int | None = None, end_ms: int | None = None, limit: int = 2000) -> list[Fill]:
        """Newest first (userFills); with start_ms, oldest first from start_ms (userFillsByTime)."""
        acct = self._accounts.get(user.lower())
        if acct is None:
            return []
        if start_ms is None:
            return list(reversed(acct.fills[-limit:]))
        rows = [f for f in acct.fills if f.time >= start_ms and (end_ms is None or f.time <= end_ms)]
        return rows[:limit]

    def recent_trades(self, coin: str, limit: int = 100) -> list[Trade]:
        return list(reversed(self._trades[coin][-limit:]))

    def funding_history(self, coin: str, start_ms: int, end_ms: int | None = None) -> list[FundingRate]:
        """Oldest first from start_ms, at most 500 rows: the seeded past, then live funding."""
        past = self.history.funding(coin, start_ms, end_ms) if self.history is not None else []
        live = [r for r in self._funding_hist.get(coin, ()) if r.time >= start_ms and (end_ms is None or r.time <= end_ms)]
        return (past[:500] + live)[:500]

    def user_funding(self, user: str, start_ms: int, end_ms: int | None = None) -> list[FundingPayment]:
        acct = self._accounts.get(user.lower())
        if acct is None:
            return []
        return [p for p in acct.funding if p.time >= start_ms and (end_ms is None or p.time <= end_ms)][:500]

    def user_ledger(self, user: str, start_ms: int, end_ms: int | None = None) -> list[LedgerUpdate]:
        acct = self._accounts.get(user.lower())
        if acct is None:
            return []
        return [u for u in acct.ledger if u.time >= start_ms and (end_ms is None or u.time <= end_ms)][:500]

    def candles(self, coin: str, interval: str, start_ms: int, end_ms: int) -> list[Candle]:
        """Candles overlapping [start_ms, end_ms]: the seeded past, then live ones. As on the
        venue only the `candles_kept` most recent candles of an interval exist; the candle
        holding the launch minute joins the past minutes with the live trades."""
        series = self._candles.get(coin, {}).get(interval)
        if series is None:
            return []
        live = [c for c in series if c.T >= start_ms and c.t <= end_ms]
        if self.history is None or not self.history.covers(coin):
            return live
        length = CANDLE_INTERVALS_MS[interval]
        oldest = self.now_ms - self.now_ms % length - (self.config.candles_kept - 1) * length
        past = self.history.candles(coin, interval, length, max(start_ms, oldest), end_ms)
        if past and live and past[-1].t == live[0].t:
            joint, now = past.pop(), live[0]
            live[0] = Candle(
                coin, interval, joint.t, joint.T, joint.o, now.c, max(joint.h, now.h), min(joint.l, now.l),
                joint.v + now.v, joint.n + now.n,
            )
        return past + live

    def active_asset_data(self, user: str, coin: str) -> ActiveAssetData:
        acct = self._accounts.get(user.lower())
        m = self.markets.perp_by_name(coin)
        mark = self._mark[coin]
        if acct is None:
            lev_cross, lev = mr.default_leverage(self._table(m), m.only_isolated)
            return ActiveAssetData(user.lower(), coin, "cross" if lev_cross else "isolated", lev, None, (ZERO, ZERO), (ZERO, ZERO), mark)
        is_cross, lev = self._leverage_of(acct, m)
        avail = max(self._available(acct, m.dex), ZERO)
        pos = acct.positions.get(coin)
        szi = pos.szi if pos is not None else ZERO
        lot = Decimal(1).scaleb(-m.sz_decimals)
        base = (avail * lev / mark).quantize(lot, rounding=ROUND_DOWN)
        buy = base + (abs(szi) if szi < 0 else ZERO)
        sell = base + (szi if szi > 0 else ZERO)
        raw = None if pos is None or pos.is_cross else pos.iso_margin - pos.szi * pos.entry_px
        return ActiveAssetData(
            acct.address,
            coin,
            "cross" if is_cross else "isolated",
            lev,
            raw,
            (buy, sell),
            (avail * lev, avail * lev),
            mark,
        )

    def open_interest(self, coin: str) -> Decimal:
        """Open interest in coin units (the long side)."""
        return self._oi[coin]

    def cum_volume(self, user: str) -> Decimal:
        acct = self._accounts.get(user.lower())
        return acct.cum_volume if acct else ZERO

    def position(self, user: str, coin: str) -> Decimal:
        """Signed size of the user's position in `coin` (0 when flat)."""
        acct = self._accounts.get(user.lower())
        pos = acct.positions.get(coin) if acct else None
        return pos.szi if pos is not None else ZERO

    def perp_balance(self, user: str, dex: str = "") -> Decimal:
        acct = self._accounts.get(user.lower())
        return self._balance(acct, dex)[0] if acct else ZERO


def _aggregate(side, n_sig_figs: int, depth: int, mantissa: int | None = None) -> list[BookLevel]:
    """Group levels to `n_sig_figs` significant figures (bids round down, asks up), as l2Book's
    nSigFigs does; with `mantissa` (2 or 5, only at 5 figures) the last figure moves in steps
    of that size. Display only."""
    out: list[BookLevel] = []
    mode = ROUND_FLOOR if side.is_bid else ROUND_CEILING
    for lvl in side.levels_best_first():
        q = Decimal(1).scaleb(lvl.px.adjusted() - n_sig_figs + 1)
        if mantissa is None or mantissa == 1:
            px = _canon(lvl.px.quantize(q, rounding=mode))
        else:
            step = q * mantissa
            px = _canon((lvl.px / step).to_integral_value(rounding=mode) * step)
        if out and out[-1].px == px:
            last = out[-1]
            out[-1] = BookLevel(px, last.sz + lvl.total, last.n + len(lvl.orders))
        else:
            if len(out) >= depth:
                break
            out.append(BookLevel(px, lvl.total, len(lvl.orders)))
    return out
