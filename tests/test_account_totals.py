"""`perp account`'s totals are the sum of its per-margin-account breakdown exactly as shown."""

from decimal import Decimal

from perpcli.app.views import account_row
from perpcli.domain.events import AccountSnapshot


def _snap(value: str, used: str) -> AccountSnapshot:
    return AccountSnapshot(venue="v", account="0xabc", time_ms=0, account_value=Decimal(value),
                           withdrawable=Decimal(value), margin_used=Decimal(used))


def test_totals_add_up_the_shown_parts_to_the_cent():
    # Each part shows 14.76 (half-even); the exact sum 29.51 would not match 14.76 + 14.76.
    row = account_row([("", _snap("14.755", "1.005")), ("xyz", _snap("14.755", "1.005"))],
                      venue="v", signer="0xabc", role="user", marks={})
    for field in ("equity", "margin_used", "withdrawable", "notional"):
        parts = sum((Decimal(a[field]) for a in row["margin_accounts"]), Decimal(0))
        assert Decimal(row[field]) == parts, field
    assert row["equity"] == Decimal("29.52")
