"""One line of health per venue: is it connected, how old is what the screen shows of it.

WHY per venue and not only per stream: with several venues on screen, a trader needs to see at
a glance which venue's numbers can be trusted (a stopped venue's last figures stay on screen,
marked STALE, and the portfolio totals say they include it) and which never answered at all
(unreachable: its account is missing from the totals). Pure: stream states in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perpcli.domain.events import ConnectionState
from perpcli.tui.widgets.account import StreamHealth

CONNECTED, STALE, UNREACHABLE, CONNECTING = "connected", "STALE", "unreachable", "connecting"
_WORST_FIRST = (ConnectionState.DOWN, ConnectionState.RECONNECTING, ConnectionState.STALE,
                ConnectionState.CONNECTING, ConnectionState.CONNECTED)


@dataclass(frozen=True, slots=True)
class VenueHealth:
    venue: str
    status: str  # connected | STALE | unreachable | connecting
    age_ms: int | None  # age of the venue connection's last message (None: never heard from)
    detail: str = ""

    @property
    def trusted(self) -> bool:
        return self.status == CONNECTED


def venue_health(venue: str, streams: Sequence[StreamHealth], *, has_data: bool) -> VenueHealth:
    """The venue's verdict from its streams (the first is its connection). `has_data`: the
    screen holds figures of this venue (an account or a book) — a venue that drops after
    that is STALE (its figures are old), one that never answered is unreachable."""
    if not streams:
        return VenueHealth(venue, CONNECTING, None)
    worst = min(streams, key=lambda s: _WORST_FIRST.index(s.state))
    age = streams[0].age_ms
    detail = next((s.detail for s in streams if s.detail), "")
    if worst.state is ConnectionState.CONNECTED:
        return VenueHealth(venue, CONNECTED, age)
    if worst.state is ConnectionState.CONNECTING:
        return VenueHealth(venue, CONNECTING, age, detail)
    heard = has_data or age is not None
    return VenueHealth(venue, STALE if heard else UNREACHABLE, age, detail)
