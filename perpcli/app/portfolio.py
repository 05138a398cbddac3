"""One account across venues: read every venue of the user's book, side by side.

Each venue is read through the seam only (Session.reader(): an address, no key decrypted), in
parallel, so one slow venue costs its own time and not the sum. A venue that does not answer
is kept in the answer as missing, with its error, and the totals say they are partial: a
total silently short of one venue would tell a trader they hold less than they do.

Money is summed as the venues report it, in their quote stablecoins (USDC, USDT) taken at par
with USD.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import ExitCode, PerpError, UsageError
from perpcli.domain.events import AccountSnapshot
from perpcli.domain.instrument import Instrument
from perpcli.ledger.portfolio import Exposure, net_exposures, underlying_of

ZERO = Decimal(0)


def portfolio_venues(settings: Any, chosen: Sequence[str] | None = None) -> list[str]:
    """The venues of the user's book: those named on the command line, else portfolio.venues,
    else every venue with an account configured (venues.<name>.account), else default.venue."""
    from perpcli.config.schema import VENUE_NAMES
    from perpcli.venues import registry

    names = list(dict.fromkeys(chosen or ())) or list(settings.get("portfolio.venues"))
    if not names:
        names = [v for v in (*VENUE_NAMES, *registry.plugin_venues()) if _get(settings, f"venues.{v}.account")]
    if not names:
        names = [settings.get("default.venue")]
    for name in names:
        registry.get_entry(name)  # an unknown venue is a usage error before anything is read
    return names


def _get(settings: Any, key: str) -> Any:
    try:
        return settings.get(key)
    except KeyError:
        return None


@dataclass(frozen=True)
class HeldPosition:
    """A position as its venue reports it, with what the cross-venue view adds."""

    venue: str
    symbol: str
    underlying: str
    size: Decimal  # signed, in the venue's contracts
    units: Decimal  # signed, in units of the underlying (size x multiplier): what nets
    entry_price: Decimal
    mark: Decimal | None
    notional: Decimal  # signed, at the venue's mark (entry when no mark)
    unrealized_pnl: Decimal | None
    liquidation_price: Decimal | None
    funding_apr: Decimal | None  # the market's current funding as APR (> 0: longs pay)
    instrument: Instrument | None = None

    @property
    def liquidation_distance_pct(self) -> Decimal | None:
        """How far (% of mark) the mark may move against the position before liquidation."""
        if not self.mark or self.liquidation_price is None or not self.size:
            return None
        away = self.mark - self.liquidation_price if self.size > 0 else self.liquidation_price - self.mark
        return away / self.mark * 100


@dataclass(frozen=True)
class VenueBook:
    """One venue's answer, or why there is none (`error`)."""

    venue: str
    account: str | None = None
    snapshot: AccountSnapshot | None = None
    positions: tuple[HeldPosition, ...] = ()
    read_ms: int = 0  # when the answer arrived (local clock)
    error: PerpError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def equity(self) -> Decimal:
        return (self.snapshot.account_value if self.snapshot else None) or ZERO

    @property
    def margin_used(self) -> Decimal:
        return (self.snapshot.margin_used if self.snapshot else None) or ZERO

    @property
    def free_collateral(self) -> Decimal:
        return (self.snapshot.withdrawable if self.snapshot else None) or ZERO

    @property
    def unrealized_pnl(self) -> Decimal:
        return sum((p.unrealized_pnl or ZERO for p in self.positions), ZERO)

    @property
    def gross_notional(self) -> Decimal:
        return sum((abs(p.notional) for p in self.positions), ZERO)

    @property
    def leverage(self) -> Decimal | None:
        return self.gross_notional / self.equity if self.equity > 0 else None

    @property
    def closest(self) -> HeldPosition | None:
        at_risk = [p for p in self.positions if p.liquidation_distance_pct is not None]
        return min(at_risk, key=lambda p: p.liquidation_distance_pct) if at_risk else None  # type: ignore[arg-type,return-value]

    def age_ms(self, now_ms: int) -> int | None:
        """How old the venue's figures are: from the venue's own timestamp when it sent one."""
        if self.snapshot is None:
            return None
        return max(0, now_ms - self.snapshot.time_ms)


@dataclass(frozen=True)
class Book:
    """Every venue's answer, and what they add up to."""

    venues: tuple[VenueBook, ...]
    now_ms: int
    exposures: tuple[Exposure, ...] = field(default=())

    @property
    def answered(self) -> tuple[VenueBook, ...]:
        return tuple(v for v in self.venues if v.ok)

    @property
    def missing(self) -> tuple[VenueBook, ...]:
        return tuple(v for v in self.venues if not v.ok)

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    @property
    def positions(self) -> tuple[HeldPosition, ...]:
        return tuple(p for v in self.answered for p in v.positions)

    def total(self, what: str) -> Decimal:
        return sum((getattr(v, what) for v in self.answered), ZERO)

    @property
    def closest(self) -> HeldPosition | None:
        at_risk = [p for p in self.positions if p.liquidation_distance_pct is not None]
        return min(at_risk, key=lambda p: p.liquidation_distance_pct) if at_risk else None  # type: ignore[arg-type,return-value]

    def exit_code(self) -> ExitCode:
        """0 when every venue answered; else the exit code of the first venue (in portfolio
        order) that did not: 5 unreachable, 4 key unknown there, 2 not configured, ..."""
        for v in self.missing:
            return ExitCode(int(v.error.exit_code))  # type: ignore[union-attr]
        return ExitCode.OK

    def missing_line(self) -> str:
        """One line naming each venue left out, and why."""
        parts = [f"{v.venue} ({_short(v.error)})" for v in self.missing]
        return ("partial portfolio: no answer from " + ", ".join(parts)
                + "; totals cover " + (", ".join(v.venue for v in self.answered) or "no venue"))


def _short(error: PerpError | None) -> str:
    text = str(error or "").strip().splitlines()[0] if error else ""
    return text if len(text) <= 120 else text[:117] + "..."


def read_venue(session: Any, clock_ms: Callable[[], int]) -> VenueBook:
    """One venue's account, positions, marks and funding, read through the seam."""
    name = session.venue
    try:
        reader = session.reader()  # keys are resolved one at a time (session.KEY_LOCK)
        snap = reader.account()
        held = reader.positions()
        open_positions = [p for p in held.positions if p.size]
        symbols = [p.symbol for p in open_positions]
        marks = dict(held.marks)
        missing_marks = [s for s in symbols if s not in marks]
        if missing_marks:
            marks.update({mp.symbol: mp.mark_price for mp in session.market.mark_prices(missing_marks)})
        aprs = _funding_aprs(session.market, symbols)
        rows = []
        for p in open_positions:
            inst = _instrument(session.market, p.symbol)
            mark = marks.get(p.symbol)
            rows.append(HeldPosition(
                venue=name, symbol=p.symbol,
                underlying=inst.underlying if inst else underlying_of(p.symbol),
                size=p.size, units=inst.underlying_units(p.size) if inst else p.size,
                entry_price=p.entry_price, mark=mark, notional=p.size * (mark if mark is not None else p.entry_price),
                unrealized_pnl=p.unrealized_pnl, liquidation_price=p.liquidation_price,
                funding_apr=aprs.get(p.symbol), instrument=inst))
        return VenueBook(name, account=snap.account, snapshot=snap, positions=tuple(rows), read_ms=clock_ms())
    except PerpError as e:
        return VenueBook(name, read_ms=clock_ms(), error=e)


def _funding_aprs(market: Any, symbols: list[str]) -> dict[str, Decimal]:
    """Funding as APR per market; a venue that cannot say (Ostium's rollover is per trade) leaves
    it unknown rather than dropping the venue's positions from the book."""
    if not symbols:
        return {}
    try:
        return {r.symbol: r.apr for r in market.funding(symbols)}
    except UsageError:
        return {}


def _instrument(market: Any, symbol: str) -> Instrument | None:
    try:
        return market.instrument(symbol)
    except PerpError:
        return None  # a market the venue no longer lists: shown by its symbol


def gather(open_session: Callable[[str], Any], venues: Sequence[str], clock_ms: Callable[[], int]) -> Book:
    """Read every venue at once; each keeps its own error. `open_session(name)` builds the
    venue's Session (a failure there, e.g. a bad URL, is that venue's error too)."""
    if not venues:
        raise UsageError("no venue to read: set portfolio.venues or venues.<name>.account")

    def one(name: str) -> VenueBook:
        try:
            session = open_session(name)
        except PerpError as e:
            return VenueBook(name, read_ms=clock_ms(), error=e)
        with session:
            return read_venue(session, clock_ms)

    with ThreadPoolExecutor(max_workers=min(8, len(venues)), thread_name_prefix="portfolio") as pool:
        books = tuple(pool.map(one, venues))
    return book_of(books, clock_ms())


def book_of(books: Sequence[VenueBook], now_ms: int) -> Book:
    """The venues' answers as one book: exposure netted over the venues that answered."""
    positions = [p for b in books if b.ok for p in b.positions]
    return Book(venues=tuple(books), now_ms=now_ms, exposures=net_exposures(positions))


def live_venue_book(
    venue: str,
    snapshot: AccountSnapshot,
    *,
    instrument_of: Callable[[str], Instrument | None],
    mark_of: Callable[[str], Decimal | None],
    rules_of: Callable[[Instrument], Any],
    quote: str,
    apr_of: Callable[[str], Decimal | None] = lambda symbol: None,
    read_ms: int = 0,
) -> VenueBook:
    """One venue's figures from a live account (the TUI's store) at live marks.

    WHY recompute rather than take the snapshot's figures: a streamed account carries cash
    and positions, not the venue's equity; the margin model (the one the preview and the
    account bar use) values them at the marks of this moment, so the portfolio moves with
    the market. `read_ms` is when the account was last confirmed by the venue: the data age.
    """
    from dataclasses import replace

    from perpcli.app.preview import cash_of, position_risks
    from perpcli.ledger import margin

    risks = position_risks(snapshot, instrument_of, mark_of, rules_of)
    summary = margin.summarize(cash_of(snapshot, quote), risks, snapshot.reserved)
    rows = {r.symbol: r for r in summary.positions}
    held = []
    for p in snapshot.positions:
        if not p.size:
            continue
        inst = instrument_of(p.symbol)
        mark = mark_of(p.symbol)
        row = rows.get(p.symbol)
        held.append(HeldPosition(
            venue=venue, symbol=p.symbol,
            underlying=inst.underlying if inst else underlying_of(p.symbol),
            size=p.size, units=inst.underlying_units(p.size) if inst else p.size,
            entry_price=p.entry_price, mark=mark,
            notional=p.size * (mark if mark is not None else p.entry_price),
            unrealized_pnl=row.unrealized_pnl if row else None,
            liquidation_price=row.liquidation_price if row else p.liquidation_price,
            funding_apr=apr_of(p.symbol), instrument=inst))
    valued = replace(snapshot, time_ms=read_ms, account_value=summary.account_value,
                     margin_used=summary.margin_used, withdrawable=summary.withdrawable)
    return VenueBook(venue, account=snapshot.account, snapshot=valued, positions=tuple(held), read_ms=read_ms)
