"""Trigger orders for the devnet engine: TP/SL fired by the mark price (protocol notes §a.2.4).

A mixin of `Engine`. A sell take-profit or a buy stop fires when the mark rises to the
trigger price, a sell stop or a buy take-profit when it falls to it. When one order of a TP/SL
group fires, its siblings are canceled ("siblingFilledCanceled"). A fired market trigger runs
as an aggressive IOC bounded by its limit price; a fired limit trigger rests at its price.
Position TP/SL orders close the whole position, whatever size they were written with.
"""

from __future__ import annotations

from decimal import Decimal

from perpcli.devnet.amounts import ZERO
from perpcli.devnet.matching import BookOrder


class EngineTriggers:
    """Trigger checks and firing; mixed into Engine."""


    @staticmethod
    def _trigger_due(o: BookOrder, mark: Decimal) -> bool:
        t = o.trigger
        fire_on_rise = (t.tpsl == "tp") != o.is_buy
        return mark >= t.trigger_px if fire_on_rise else mark <= t.trigger_px

    def _check_triggers(self, coin: str) -> None:
        pending = self._triggers[coin]
        if not pending:
            return
        mark = self._mark[coin]
        due = [o for o in pending.values() if self._trigger_due(o, mark)]
        touched: dict[str, None] = {}
        for o in due:
            if o.oid in pending:
                self._fire_trigger(o, self.now_ms, touched)

    def _fire_trigger(self, o: BookOrder, now_ms: int, touched: dict[str, None]) -> None:
        acct = self._accounts[o.user]
        self._triggers[o.coin].pop(o.oid, None)
        o.triggered = True
        # TP and SL of one group are alternatives: the first to fire cancels the others.
        if o.group is not None:
            for oid in list(acct.open_oids):
                s = self._orders.get(oid)
                if s is not None and s is not o and s.group == o.group and s.trigger is not None and not s.triggered:
                    self._cancel_order(s, "siblingFilledCanceled", now_ms)
        acct.open_oids.pop(o.oid, None)
        self._set_status(o, "triggered", now_ms)
        pos = acct.positions.get(o.coin)
        szi = pos.szi if pos is not None else ZERO
        if o.reduce_only:
            if szi == 0 or (szi > 0) == o.is_buy:
                self._orders.pop(o.oid, None)
                self._set_status(o, "reduceOnlyCanceled", now_ms)
                return
            if o.is_position_tpsl or o.sz > abs(szi):
                o.sz = abs(szi)
        o.orig_sz = o.sz
        o.tif = "Ioc" if o.trigger.is_market else "Gtc"
        if o.trigger.is_market:
            o.tif = "FrontendMarket"
        touched[o.coin] = None
        self._execute(acct, o, now_ms, touched)
