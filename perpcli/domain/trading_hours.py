"""When a market trades: weekly sessions in the market's own time zone, minus closed dates.

Crypto perps trade around the clock (an Instrument without hours). Ostium's equities, FX and
commodities follow their exchange's sessions ("CL Mon-Thu 00:00-17:00 & 18:10-24:00 New York",
FX "Sun 17:00 - Fri 17:00"), and an order sent while the market is closed is cancelled by the
venue after fees were paid, so the client checks first.

Sessions are written in local wall time of an IANA zone because that is how venues publish
them and because daylight saving moves them in UTC twice a year. Windows are half-open:
`Mon 09:30-16:00` is open at 09:30:00 and closed at 16:00:00.

Pure: the caller passes the time (ms since the epoch); the zone rules come from the standard
library's `zoneinfo`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEARCH_DAYS = 15  # next_open looks this far ahead (a week's sessions plus a long holiday)

_TIME = r"(\d{1,2}):(\d{2})"
_DAY = r"([A-Za-z]{3})"
_SPAN = re.compile(rf"^{_DAY}\s+{_TIME}\s*-\s*{_DAY}\s+{_TIME}$")  # Sun 17:00 - Fri 17:00
_DAILY = re.compile(rf"^{_DAY}(?:\s*-\s*{_DAY})?\s+{_TIME}\s*-\s*{_TIME}$")  # Mon-Thu 00:00-17:00


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Open from `start` (inclusive) to `end` (exclusive), in minutes after Monday 00:00 local
    time (0..10080). `end < start` wraps over the end of the week (FX: Sun 17:00 -> Fri 17:00)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < MINUTES_PER_WEEK and 0 < self.end <= MINUTES_PER_WEEK):
            raise ValueError(f"a weekly window must lie within one week, got {self.start}..{self.end}")
        if self.start == self.end:
            raise ValueError("a weekly window must not be empty")

    def describe(self) -> str:
        """"Sun 17:00 - Fri 17:00" (the end "24:00" of the day it starts when it ends at midnight)."""
        return f"{_when(self.start)} - {_when(self.end, end=True)}"

    def contains(self, minute_of_week: int) -> bool:
        if self.start < self.end:
            return self.start <= minute_of_week < self.end
        return minute_of_week >= self.start or minute_of_week < self.end


@dataclass(frozen=True, slots=True)
class TradingHours:
    """Weekly sessions in `zone` (an IANA name such as "America/New_York"), closed all day on
    `closed_dates` (local dates: exchange holidays)."""

    zone: str
    windows: tuple[WeeklyWindow, ...]
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("trading hours need at least one session (a market without hours has None)")

    @classmethod
    def parse(cls, zone: str, spec: str, closed_dates: frozenset[date] = frozenset()) -> TradingHours:
        """Sessions from text: windows separated by ';', each either a daily window over a
        range of days ("Mon-Thu 00:00-17:00", "Fri 00:00-16:00"; an end at or before the start
        runs past midnight; "24:00" ends at midnight) or one span ("Sun 17:00 - Fri 17:00")."""
        windows: list[WeeklyWindow] = []
        for part in (p.strip() for p in spec.split(";")):
            if not part:
                continue
            if m := _SPAN.match(part):
                start = _day(m.group(1)) * MINUTES_PER_DAY + _minutes(m.group(2), m.group(3))
                end = _day(m.group(4)) * MINUTES_PER_DAY + _minutes(m.group(5), m.group(6))
                windows.append(_window(start, end))
            elif m := _DAILY.match(part):
                first = _day(m.group(1))
                last = _day(m.group(2)) if m.group(2) else first
                open_at, close_at = _minutes(m.group(3), m.group(4)), _minutes(m.group(5), m.group(6))
                day = first
                while True:
                    base = day * MINUTES_PER_DAY
                    length = (close_at - open_at) % MINUTES_PER_DAY or MINUTES_PER_DAY
                    windows.append(_window(base + open_at, base + open_at + length))
                    if day == last:
                        break
                    day = (day + 1) % 7
            else:
                raise ValueError(f"cannot read trading session {part!r} (e.g. 'Mon-Fri 09:30-16:00')")
        return cls(zone, tuple(windows), closed_dates)

    def _local(self, time_ms: int) -> datetime:
        return datetime.fromtimestamp(time_ms / 1000, _zone(self.zone))

    def is_open(self, time_ms: int) -> bool:
        """Whether the market trades at `time_ms` (ms since the epoch)."""
        local = self._local(time_ms)
        if local.date() in self.closed_dates:
            return False
        minute = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
        return any(w.contains(minute) for w in self.windows)

    def next_open(self, time_ms: int) -> int | None:
        """The first time at or after `time_ms` the market trades (ms), or None if it does
        not open within the next two weeks."""
        if self.is_open(time_ms):
            return time_ms
        # Openness changes only where a session starts or a (closed) local date ends.
        zone = _zone(self.zone)
        today = self._local(time_ms).date()
        candidates: list[int] = []
        for offset in range(_SEARCH_DAYS):
            day = today + timedelta(days=offset)
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            candidates.append(_ms(midnight))
            for w in self.windows:
                if w.start // MINUTES_PER_DAY == day.weekday():
                    minute = w.start % MINUTES_PER_DAY
                    candidates.append(_ms(midnight.replace(hour=minute // 60, minute=minute % 60)))
        for candidate in sorted(c for c in candidates if c > time_ms):
            if self.is_open(candidate):
                return candidate
        return None


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    from zoneinfo import ZoneInfo  # only markets with hours need the zone database

    return ZoneInfo(name)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000


def _day(text: str) -> int:
    try:
        return DAYS.index(text.lower())
    except ValueError:
        raise ValueError(f"unknown day {text!r} (use Mon..Sun)") from None


def _minutes(hours: str, minutes: str) -> int:
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"bad time {hours}:{minutes}")
    return h * 60 + m


def _when(minute_of_week: int, *, end: bool = False) -> str:
    day, minute = divmod(minute_of_week, MINUTES_PER_DAY)
    if end and minute == 0:  # an end at midnight reads as 24:00 of the day before
        day, minute = day - 1, MINUTES_PER_DAY
    return f"{DAYS[day % 7].title()} {minute // 60:02d}:{minute % 60:02d}"


def _window(start: int, end: int) -> WeeklyWindow:
    """A window from absolute minutes (possibly past the week's end) folded into one week."""
    start %= MINUTES_PER_WEEK
    end = end % MINUTES_PER_WEEK or MINUTES_PER_WEEK
    return WeeklyWindow(start, end)


__all__ = ["TradingHours", "WeeklyWindow"]
