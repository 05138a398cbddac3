"""Funding for the devnet engine (protocol notes §d.9).

A mixin of `Engine`. Premiums are sampled from the book's impact prices (at most every 5 s
of engine time); at each funding time the average premium goes through the ledger's hourly
rate formula (interest, clamp, cap, HIP-3 multiplier), scaled to the configured interval,
and every position pays or receives `ledger.funding_payment` at the oracle price.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from hashlib import blake2b

from perpcli.devnet import margin_rules as mr
from perpcli.devnet.amounts import RATE_QUANTUM, ZERO
from perpcli.devnet.amounts import usd as _usd
from perpcli.devnet.markets import PerpMarket
from perpcli.devnet.records import FundingPayment, FundingRate, UserFunding

_HOUR = 3_600_000


class EngineFunding:
    """Premium sampling and funding payments; mixed into Engine (uses its state)."""

    def _premium_sample(self, m: PerpMarket) -> Decimal:
        book = self._books[m.name]
        oracle = self._oracle[m.name]
        impact_bid = book.vwap_for_notional(False, m.impact_notional)
        impact_ask = book.vwap_for_notional(True, m.impact_notional)
        if m.dex:
            if impact_bid is None or impact_ask is None:
                return ZERO
            return (impact_bid + impact_ask) / 2 / oracle - 1
        bid_term = max(impact_bid - oracle, ZERO) if impact_bid is not None else ZERO
        ask_term = max(oracle - impact_ask, ZERO) if impact_ask is not None else ZERO
        return (bid_term - ask_term) / oracle

    def _sample_premiums(self) -> None:
        for m in self.markets.perps:
            acc = self._premium[m.name]
            acc[0] += self._premium_sample(m)
            acc[1] += 1

    def _funding_rate(self, m: PerpMarket) -> tuple[Decimal, Decimal]:
        """(rate for one funding interval, average premium) from the premium samples so far."""
        s, n = self._premium[m.name]
        premium = s / n if n else self._premium_sample(m)
        hourly = mr.hourly_funding_rate(premium, m.funding_multiplier)
        rate = hourly * self.config.funding_interval_ms / _HOUR
        return rate.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN), premium.quantize(RATE_QUANTUM)

    def _pay_funding(self, t: int) -> None:
        for m in self.markets.perps:
            coin = m.name
            rate, premium = self._funding_rate(m)
            self._premium[coin] = [ZERO, ZERO]
            hist = self._funding_hist[coin]
            hist.append(FundingRate(coin, rate, premium, t))
            if len(hist) > self.config.candles_kept:
                del hist[0]
            oracle = self._oracle[coin]
            for user in list(self._holders[coin]):
                acct = self._accounts[user]
                pos = acct.positions.get(coin)
                if pos is None or pos.szi == 0:
                    continue
                usdc = _usd(mr.funding_payment(pos.szi, oracle, rate))
                if pos.is_cross:
                    self._wallet(acct, coin).usdc += usdc
                else:
                    pos.iso_margin += usdc
                pos.cum_funding_all_time -= usdc
                pos.cum_funding_since_open -= usdc
                pos.cum_funding_since_change -= usdc
                self._seq += 1
                h = "0x" + blake2b(b"fund%d" % self._seq, digest_size=32).hexdigest()
                pay = FundingPayment(user, coin, usdc, pos.szi, rate, t, h)
                acct.funding.append(pay)
                if len(acct.funding) > (acct.history_limit or self.config.history_limit):
                    del acct.funding[0]
                self._events.append(UserFunding(user, pay))
                self._buf_accounts[user] = None
        for m in self.markets.perps:
            self._check_liquidations(m.name)
