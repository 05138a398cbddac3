"""Hyperliquid's fee rates: the account's own from `userFees`, the public schedule as fallback.

Pure (no I/O). `userFees` answers `{userCrossRate, userAddRate, feeSchedule{cross, add, ...},
...}`: `userCrossRate` is what the account pays to take (perps), `userAddRate` to add (negative:
a rebate), after its volume tier. Staking and referral discounts are reported beside them and
are not applied here, so the estimate never shows less than the account pays.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from perpcli.ledger.fees import ACCOUNT, PUBLIC_SCHEDULE, FeeRates

# The base tier of the public schedule (perps): taker 0.045%, maker 0.015%.
PUBLIC_RATES = FeeRates(maker=Decimal("0.00015"), taker=Decimal("0.00045"), source=PUBLIC_SCHEDULE)


def account_fee_rates(data: Any) -> FeeRates | None:
    """The account's perp rates from a `userFees` answer; None when it does not say them."""
    if not isinstance(data, dict):
        return None
    try:
        taker = Decimal(str(data["userCrossRate"]))
        maker = Decimal(str(data["userAddRate"]))
    except (KeyError, InvalidOperation, TypeError):
        return None
    if not taker.is_finite() or not maker.is_finite() or taker < 0:
        return None
    return FeeRates(maker=maker, taker=taker, source=ACCOUNT)
