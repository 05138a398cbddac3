"""Market data commands (no key needed): markets, price, book, trades, candles, funding."""

from __future__ import annotations

import typer

from perpcli.cli.number_params import real, whole


def register(app: typer.Typer) -> None:
    @app.command("markets", help="List tradable markets with their rules and prices.")
    def markets(
        all_dexes: bool = typer.Option(False, "--all", help="Include builder-deployed (HIP-3) dexes."),
    ) -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        with venue_cmd.session() as s:
            md = s.market
            insts = md.instruments(include_builder_dexes=all_dexes)
            marks = {mp.symbol: mp for mp in md.mark_prices([i.symbol for i in insts])}
            rows = []
            for inst in insts:
                mp = marks.get(inst.symbol)
                rows.append(views.market_row(
                    inst, venue=s.venue, mark=mp.mark_price if mp else None, mid=mp.mid_price if mp else None,
                    funding=mp.funding_rate if mp else None, open_interest=mp.open_interest if mp else None))
        venue_cmd.emit_rows(rows, ["market", "underlying", "mark_price", "mid_price", "funding_rate", "max_leverage",
                                   "size_decimals", "min_notional", "open_interest"])

    @app.command("price", help="Mid and mark prices for some or all markets.")
    def price(markets: list[str] = typer.Argument(None, help="Markets (default: all).")) -> None:
        from perpcli.cli import venue_cmd

        with venue_cmd.session() as s:
            md = s.market
            if markets:
                rows = []
                for m in markets:
                    mid, mark = md.reference_prices(m)
                    rows.append({"venue": s.venue, "market": md.instrument(m).symbol, "mid": mid, "mark": mark})
            else:
                mids = md.mids()
                marks = {mp.symbol: mp.mark_price for mp in md.mark_prices()}
                rows = [{"venue": s.venue, "market": k, "mid": v, "mark": marks.get(k)} for k, v in sorted(mids.items())]
        venue_cmd.emit_rows(rows, ["market", "mid", "mark"])

    @app.command("book", help="The order book of one market.")
    def book(
        market: str = typer.Argument(..., help="Market, e.g. BTC or xyz:GOLD."),
        depth: int = typer.Option(10, "--depth", click_type=whole(1, 100), help="Levels per side."),
    ) -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        with venue_cmd.session() as s:
            snap = s.market.book(market, depth)
        if venue_cmd.json_mode():
            venue_cmd.emit_doc(views.book_doc(snap, depth))
        else:
            venue_cmd.emit_rows(views.book_rows(snap, depth), ["bid_size", "bid", "ask", "ask_size"],
                                title=f"{snap.symbol} on {snap.venue}")

    @app.command("trades", help="Recent public trades of one market.")
    def trades(
        market: str = typer.Argument(...),
        limit: int = typer.Option(20, "--limit", click_type=whole(1, 1000), help="How many (newest first)."),
    ) -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        with venue_cmd.session() as s:
            ts = s.market.recent_trades(market)
        ts = sorted(ts, key=lambda t: t.time_ms, reverse=True)[:limit]
        venue_cmd.emit_rows([views.trade_row(t) for t in ts], ["time", "side", "price", "size"])

    @app.command("candles", help="OHLCV candles of one market.")
    def candles(
        market: str = typer.Argument(...),
        interval: str = typer.Option("1m", "--interval", help="1m 3m 5m 15m 30m 1h 2h 4h 8h 12h 1d 3d 1w 1M"),
        count: int = typer.Option(30, "--count", click_type=whole(1, 5000), help="How many candles."),
    ) -> None:
        import time

        from perpcli.app import views
        from perpcli.cli import venue_cmd

        seconds = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200,
                   "4h": 14400, "8h": 28800, "12h": 43200, "1d": 86400, "3d": 259200, "1w": 604800,
                   "1M": 2592000}
        if interval not in seconds:
            from perpcli.domain.errors import UsageError

            raise UsageError(f"--interval must be one of {' '.join(seconds)}")
        end = time.time_ns() // 1_000_000
        start = end - seconds[interval] * 1000 * count
        with venue_cmd.session() as s:
            cs = s.market.candles(market, interval, start, end)
        venue_cmd.emit_rows([views.candle_row(c) for c in cs[-count:]],
                            ["open_time", "open", "high", "low", "close", "volume", "trades"])

    @app.command("funding", help="Current and predicted funding (per interval and as APR); "
                 "--compare: across venues.")
    def funding(
        markets: list[str] = typer.Argument(None, help="Markets (with --compare: underlyings; default: all)."),
        compare: bool = typer.Option(False, "--compare", help="Compare venues: APR, mark, basis, best pair."),
        venues: str = typer.Option(None, "--venues", help="With --compare: comma-separated venues "
                                   "(default: portfolio.venues)."),
        watch: bool = typer.Option(False, "--watch", help="With --compare: refresh until Ctrl-C."),
        every: float = typer.Option(5.0, "--every", click_type=real(0.01, 86400),
                                    help="With --watch: seconds between refreshes."),
        count: int = typer.Option(None, "--count", click_type=whole(1),
                                  help="With --watch: stop after this many boards."),
    ) -> None:
        from perpcli.app import views
        from perpcli.cli import venue_cmd

        if compare:
            from perpcli.cli.commands.portfolio import show_funding_compare

            return show_funding_compare(markets, venues, watch=watch, every=every, count=count)
        if watch or venues:
            from perpcli.domain.errors import UsageError

            raise UsageError("--watch and --venues go with --compare")

        with venue_cmd.session() as s:
            rates = s.market.funding(markets or None)
            rows = [views.funding_row(r, venue=s.venue) for r in rates]
        venue_cmd.emit_rows(rows, ["market", "rate", "apr", "predicted_rate", "predicted_apr", "interval_hours"])
