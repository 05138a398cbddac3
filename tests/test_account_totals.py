"""Totals (`perp account`, `perp portfolio`) are the sum of their breakdown exactly as shown."""

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


def test_portfolio_totals_add_up_the_venue_rows_to_the_cent():
    from perpcli.app.portfolio import Book, VenueBook
    from perpcli.app.portfolio_views import portfolio_doc

    venues = tuple(VenueBook(venue=name, account="0xabc", snapshot=_snap("14.755", "1.005"))
                   for name in ("devnet", "aster-devnet"))
    doc = portfolio_doc(Book(venues=venues, now_ms=0))
    for field in ("equity", "margin_used", "free_collateral"):
        assert doc["totals"][field] == sum((Decimal(v[field]) for v in doc["venues"]), Decimal(0)), field
    assert doc["totals"]["equity"] == Decimal("29.52")
