"""Order commands: buy, sell, scale, twap, cancel, modify, close, flatten, leverage, margin, deadman.

Every one of them: parses and validates locally first (exit 2 names the rule and the nearest
valid value), asks the venue whom the key trades for (exit 4 if nobody), applies the risk
guards (exit 7), refuses off a terminal without --yes (exit 2), and with --dry-run prints the
exact signed request instead of sending it. Results: 0 ok, 3 rejected, 6 outcome unknown.
"""

from __future__ import annotations

import typer

from perpcli.cli.number_params import whole

SIDES = ("buy", "sell")


def raise_usage(message: str) -> None:
    from perpcli.domain.errors import UsageError

    raise UsageError(message)


def _emit_results(results, *, as_list: bool = False) -> None:
    from perpcli.cli.order_cmd import emit_results

    emit_results(results, as_list=as_list)


def _is_collateral_venue(venue: str) -> bool:
    from perpcli.app.collateral import uses_collateral_orders
    from perpcli.venues import registry

    return uses_collateral_orders(registry.get_entry(venue).load_capabilities())


def _collateral_close(market, size, limit, slippage, percent, trade, no_wait) -> bool:
    """`perp close` on a collateral venue (a share of one trade at market); False elsewhere."""
    from perpcli.app import order_plan
    from perpcli.cli import venue_cmd
    from perpcli.cli.collateral_cmd import close_collateral

    with venue_cmd.session() as s:
        if not _is_collateral_venue(s.venue):
            if percent is not None or trade is not None or no_wait:
                raise_usage("--percent, --trade and --no-wait apply to venues that margin each trade on its own")
            return False
        if size is not None or limit is not None:
            raise_usage(f"{s.venue} closes a trade at market by percentage: use --percent N, not --size/--limit")
        pct = order_plan.parse_percent(percent, what="--percent") if percent is not None else None
        if pct is not None and pct > order_plan.HUNDRED:
            raise_usage(f"--percent closes at most 100% of a trade, got {percent!r}")
        close_collateral(s, market, percent=pct if pct is not None else order_plan.HUNDRED,
                         slippage_pct=order_plan.parse_percent(slippage, what="--slippage"), trade_id=trade,
                         wait=not no_wait)
    return True


def _make_order_command(app: typer.Typer, side: str) -> None:
    @app.command(side, help=f"{side.capitalize()} MARKET SIZE with exactly one of --limit, --market or --stop.")
    def order_cmd(
        market: str = typer.Argument(..., help="Market, e.g. BTC or xyz:GOLD."),
        size: str = typer.Argument(None, help="Size in base units, or N% of free collateral."),
        limit: str = typer.Option(None, "--limit", help="Limit price, absolute or relative to mid (-0.5%)."),
        market_order: bool = typer.Option(False, "--market", help="Market order (IOC at mid +/- slippage)."),
        stop: str = typer.Option(None, "--stop", help="Trigger price (stop or take-profit by side of mark)."),
        slippage: str = typer.Option(None, "--slippage", help="Worst-price bound for --market/--stop (1%)."),
        tp: str = typer.Option(None, "--tp", help="Take-profit trigger (bracket)."),
        sl: str = typer.Option(None, "--sl", help="Stop-loss trigger (bracket; with --risk, the loss bound)."),
        reduce_only: bool = typer.Option(False, "--reduce-only", help="Only reduce a position."),
        post_only: bool = typer.Option(False, "--post-only", help="Add liquidity only (rejected if it would cross)."),
        ioc: bool = typer.Option(False, "--ioc", help="Immediate or cancel."),
        cloid: str = typer.Option(None, "--cloid", help="Client order id (0x + 32 hex); generated if absent."),
        leverage: int = typer.Option(
            None, "--leverage", click_type=whole(), help="Set leverage for this market first."
        ),
        isolated: bool = typer.Option(False, "--isolated", help="With --leverage: isolated margin."),
        preview: bool = typer.Option(False, "--preview", help="Show margin impact; send nothing."),
        usd: str = typer.Option(None, "--usd", help="Size as USD notional."),
        risk: str = typer.Option(None, "--risk", help="Size so that hitting --sl loses this % of equity."),
        collateral: str = typer.Option(None, "--collateral", help="Size as USDC collateral x --leverage (Ostium)."),
        no_wait: bool = typer.Option(False, "--no-wait", help="Keeper venues: return once accepted."),
    ) -> None:
        from perpcli.cli.order_cmd import OrderArgs, place_order

        place_order(OrderArgs(
            side=side, market=market, size=size, limit=limit, market_order=market_order, stop=stop, slippage=slippage,
            tp=tp, sl=sl, reduce_only=reduce_only, post_only=post_only, ioc=ioc, cloid=cloid, leverage=leverage,
            isolated=isolated, preview=preview, usd=usd, risk=risk, collateral=collateral, no_wait=no_wait))


def register(app: typer.Typer) -> None:
    for side in SIDES:
        _make_order_command(app, side)

    @app.command("scale", help="Ladder TOTAL into COUNT limit orders from --from to --to.")
    def scale(
        side: str = typer.Argument(..., help="buy or sell"),
        market: str = typer.Argument(...),
        total: str = typer.Argument(..., help="Total size in base units."),
        start: str = typer.Option(..., "--from", help="First price."),
        end: str = typer.Option(..., "--to", help="Last price."),
        count: int = typer.Option(..., "--count", click_type=whole(), help="Number of orders (2..100)."),
        reduce_only: bool = typer.Option(False, "--reduce-only"),
        post_only: bool = typer.Option(False, "--post-only"),
    ) -> None:
        from perpcli.app import actions, order_plan
        from perpcli.app.risk import RiskLimits
        from perpcli.cli import context, venue_cmd
        from perpcli.config import settings
        from perpcli.domain.orders import Side

        if side not in SIDES:
            raise_usage(f"side must be buy or sell, got {side!r}")
        total_d = order_plan.parse_decimal(total, what="TOTAL")
        p_from = order_plan.parse_decimal(start, what="--from")
        p_to = order_plan.parse_decimal(end, what="--to")
        opts = context.current()
        limits = RiskLimits.from_settings(settings.current())
        with venue_cmd.session() as s:
            trading = s.trading()
            plan = actions.scale_plan(s, Side(side), market, total_d, p_from, p_to, count,
                                      reduce_only=reduce_only, post_only=post_only)
            notional = actions.scale_notional(plan)
            actions.check_standing_order(limits, trading, plan.market, Side(side), notional=notional,
                                         prices=[i.price for i in plan.intents], mark=plan.mark,
                                         reduce_only=reduce_only)
            if not opts.dry_run:
                venue_cmd.require_yes_or_confirm(f"place {count} {side} orders on {plan.market} (~{notional.quantize(1)} USD)")
            outcome = actions.place(s, trading, plan, dry_run=opts.dry_run)
        if opts.dry_run:
            venue_cmd.emit_dry_run(outcome.requests, {"orders": [r.to_json() for r in outcome.results]})
            return
        _emit_results(outcome.results, as_list=True)

    twap = typer.Typer(help="Time-weighted orders: executed by the venue where it has a native TWAP, else (or with "
                            "--client) sliced by perpcli (in the session when one runs).", no_args_is_help=True)
    app.add_typer(twap, name="twap")

    def _twap(side: str, market: str, size: str, minutes: int, reduce_only: bool, randomize: bool,
              client: bool = False, slices: int | None = None, slippage: str = "1%") -> None:
        if client or slices is not None or not _native_twap():
            if randomize:
                raise_usage("--randomize is for the venue's native TWAP; a client-side TWAP slices evenly")
            from perpcli.cli.algo_cmd import start_twap

            return start_twap(side, market, size, minutes, slices, reduce_only, slippage)
        from perpcli.app import actions, order_plan
        from perpcli.app.risk import RiskLimits
        from perpcli.cli import context, venue_cmd
        from perpcli.config import settings
        from perpcli.domain.orders import Side

        sz = order_plan.parse_decimal(size, what="SIZE")
        if not 5 <= minutes <= 1440:
            raise_usage("--minutes must be between 5 and 1440")
        opts = context.current()
        with venue_cmd.session() as s:
            market = s.market.instrument(market).symbol  # `btc` is shown and confirmed as BTC
            trading = s.trading()
            mid, mark = s.market.reference_prices(market)
            actions.check_standing_order(RiskLimits.from_settings(settings.current()), trading, market, Side(side),
                                         notional=sz * mark, prices=[None], mark=mark, reduce_only=reduce_only)
            prepared = trading.prepare_twap(market, is_buy=side == "buy", size=sz, minutes=minutes,
                                            reduce_only=reduce_only, randomize=randomize)
            if not opts.dry_run:
                venue_cmd.require_yes_or_confirm(f"start a {minutes}-minute TWAP to {side} {sz} {market}")
            out, reqs = actions.run_prepared(trading, prepared, dry_run=opts.dry_run,
                                             detail={"market": market, "side": side, "size": sz, "minutes": minutes})
        _emit_action(out, reqs)

    @twap.command("buy", help="TWAP buy SIZE over --minutes.")
    def twap_buy(market: str = typer.Argument(...), size: str = typer.Argument(...),
                 minutes: int = typer.Option(..., "--minutes", click_type=whole()),
                 reduce_only: bool = typer.Option(False, "--reduce-only"),
                 randomize: bool = typer.Option(False, "--randomize"),
                 client: bool = typer.Option(False, "--client", help=CLIENT_HELP),
                 slices: int = typer.Option(None, "--slices", click_type=whole(), help="Client-side: how many slices."),
                 slippage: str = typer.Option("1%", "--slippage", help="Client-side: worst price of a slice.")) -> None:
        _twap("buy", market, size, minutes, reduce_only, randomize, client, slices, slippage)

    @twap.command("sell", help="TWAP sell SIZE over --minutes.")
    def twap_sell(market: str = typer.Argument(...), size: str = typer.Argument(...),
                  minutes: int = typer.Option(..., "--minutes", click_type=whole()),
                  reduce_only: bool = typer.Option(False, "--reduce-only"),
                  randomize: bool = typer.Option(False, "--randomize"),
                  client: bool = typer.Option(False, "--client", help=CLIENT_HELP),
                  slices: int = typer.Option(None, "--slices", click_type=whole(), help="Client-side: how many slices."),
                  slippage: str = typer.Option("1%", "--slippage", help="Client-side: worst price of a slice.")) -> None:
        _twap("sell", market, size, minutes, reduce_only, randomize, client, slices, slippage)

    @twap.command("list", help="Running TWAPs with their progress (--all: also those that ended).")
    def twap_list(include_ended: bool = typer.Option(False, "--all", help="Also finished and canceled TWAPs.")) -> None:
        import time

        from perpcli.app import views
        from perpcli.cli import venue_cmd

        with venue_cmd.session() as s:
            states = s.reader().twaps(include_ended=include_ended)  # a read: the address is enough
            now_ms = time.time_ns() // 1_000_000
            rows = [views.twap_row(t, s.market.instrument(t.symbol), now_ms=now_ms) for t in states]
        if not rows and not venue_cmd.json_mode():
            from perpcli.cli import output

            output.info("no running TWAPs" if not include_ended else "no TWAPs")
            return
        venue_cmd.emit_rows(rows, ["twap_id", "market", "side", "size", "executed_size", "executed_pct",
                                   "average_price", "time_elapsed_pct", "status", "started_at", "ends_at",
                                   *(["ended_at"] if include_ended else [])])

    @twap.command("cancel", help="Cancel a running TWAP.")
    def twap_cancel(market: str = typer.Argument(...),
                    twap_id: int = typer.Argument(..., click_type=whole())) -> None:
        from perpcli.app import actions
        from perpcli.cli import context, venue_cmd

        opts = context.current()
        with venue_cmd.session() as s:
            market = s.market.instrument(market).symbol
            trading = s.trading()
            prepared = trading.prepare_twap_cancel(market, twap_id)
            if not opts.dry_run:
                venue_cmd.require_yes_or_confirm(f"cancel TWAP {twap_id} on {market}")
            out, reqs = actions.run_prepared(trading, prepared, dry_run=opts.dry_run,
                                             detail={"market": market, "twap_id": twap_id})
        _emit_action(out, reqs)

    @app.command("cancel", help="Cancel by OID, --cloid, every order of --market, or --all. "
                 "OID or --cloid with --market is sent without reading open orders first.")
    def cancel(
        oid: str = typer.Argument(None, help="Order id (as `perp orders` shows it)."),
        cloid: str = typer.Option(None, "--cloid"),
        market: str = typer.Option(None, "--market"),
        everything: bool = typer.Option(False, "--all"),
        all_venues: bool = typer.Option(False, "--all-venues", help="With --all: on every venue of the portfolio."),
    ) -> None:
        from perpcli.app import actions
        from perpcli.cli import context, output, venue_cmd

        if all_venues:
            if not everything or oid is not None or cloid is not None or market is not None:
                raise_usage("--all-venues goes with --all alone")
            from perpcli.cli.commands.portfolio import run_all_venues

            return run_all_venues("cancel")
        by_id = oid is not None or cloid is not None
        chosen = [x for x in (oid is not None, cloid is not None, market is not None and not by_id, everything) if x]
        if len(chosen) != 1:
            raise_usage("give exactly one of OID, --cloid C, --market M or --all (OID/--cloid may add --market)")
        opts = context.current()
        with venue_cmd.session() as s:
            if cloid is not None:  # the venue's client-id rule, before any key is read
                cloid = s.market.check_client_id(cloid, what="--cloid")
            trading = s.trading()
            targets = actions.cancel_targets(trading, oid=oid, cloid=cloid, market=market, everything=everything)
            if targets and not opts.dry_run:
                venue_cmd.require_yes_or_confirm(f"cancel {len(targets)} order(s)")
            results, reqs = actions.cancel(trading, targets, dry_run=opts.dry_run)
        if opts.dry_run:
            venue_cmd.emit_dry_run(reqs, {"cancels": [r.to_json() for r in results]})
            return
        rows = [r.to_json() for r in results]
        if venue_cmd.json_mode():
            output.emit_json(rows)
        elif rows:
            output.emit_table(rows, ["market", "oid", "cloid", "status", "error"])
        else:
            output.info("no open orders to cancel")
        failed = [r for r in results if r.status != "canceled"]
        if failed:
            venue_cmd.exit_with(3, f"cancel rejected: {failed[0].error}")

    @app.command("modify", help="Change the price and/or size of an open order (it gets a new oid).")
    def modify(
        oid: str = typer.Argument(..., help="Order id (as `perp orders` shows it)."),
        price: str = typer.Option(None, "--price"),
        size: str = typer.Option(None, "--size"),
    ) -> None:
        from perpcli.app import actions, order_plan
        from perpcli.app.risk import OrderCheck, RiskLimits, check_order
        from perpcli.cli import context, venue_cmd
        from perpcli.config import settings
        from perpcli.domain.orders import OrderIntent, OrderType, TimeInForce

        if price is None and size is None:
            raise_usage("give --price and/or --size")
        new_px = order_plan.parse_decimal(price, what="--price") if price is not None else None
        new_sz = order_plan.parse_decimal(size, what="--size") if size is not None else None
        opts = context.current()
        with venue_cmd.session() as s:
            trading = s.trading()
            match = [o for o in trading.open_orders() if o.oid == oid]
            if not match:
                raise_usage(f"no open order with oid {oid} (see `perp orders`)")
            o = match[0]
            if o.order_type is not OrderType.LIMIT:
                raise_usage("only limit orders can be modified; cancel and re-place trigger orders")
            intent = OrderIntent(venue=s.venue, symbol=o.symbol, side=o.side, size=new_sz or o.size,
                                 price=new_px or o.price, tif=o.tif or TimeInForce.GTC, reduce_only=o.reduce_only,
                                 cloid=o.cloid)
            _, mark = s.market.reference_prices(o.symbol)
            check_order(RiskLimits.from_settings(settings.current()),
                        OrderCheck(o.symbol, intent.size * intent.price, intent.price, mark,
                                   reduce_only=o.reduce_only, side=o.side))
            prepared = trading.prepare_modify(oid, intent)
            if opts.dry_run:
                venue_cmd.emit_dry_run([prepared.body])
                return
            venue_cmd.require_yes_or_confirm(f"modify order {oid}")
            ack = trading.send_orders(prepared)[0]
        _emit_results([actions.result_of(intent, "limit", ack, venue=s.venue, inst=s.market.instrument(o.symbol))])

    @app.command("close", help="Close a position (reduce-only; market unless --limit).")
    def close(
        market: str = typer.Argument(...),
        size: str = typer.Option(None, "--size", help="Close only this much."),
        limit: str = typer.Option(None, "--limit", help="Limit price instead of market."),
        slippage: str = typer.Option("1%", "--slippage"),
        all_venues: bool = typer.Option(False, "--all-venues", help="Close MARKET's underlying on every venue."),
        percent: str = typer.Option(None, "--percent", help="Close this % of the trade (Ostium)."),
        trade: str = typer.Option(None, "--trade", help="Which trade, PAIR:INDEX, when a market has several."),
        no_wait: bool = typer.Option(False, "--no-wait", help="Keeper venues: return once accepted."),
    ) -> None:
        from perpcli.app import actions, order_plan
        from perpcli.cli import context, venue_cmd

        if not all_venues and _collateral_close(market, size, limit, slippage, percent, trade, no_wait):
            return
        if all_venues:
            if size is not None or limit is not None:
                raise_usage("--all-venues closes whole positions at market: drop --size and --limit")
            from perpcli.cli.commands.portfolio import run_all_venues

            return run_all_venues("close", underlying=market, slippage=slippage)
        sz = order_plan.parse_decimal(size, what="--size") if size is not None else None
        px = order_plan.parse_decimal(limit, what="--limit") if limit is not None else None
        slip = order_plan.parse_percent(slippage, what="--slippage")
        opts = context.current()
        with venue_cmd.session() as s:
            trading = s.trading()
            plan = actions.close_plan(s, trading, market, size=sz, limit=px, slippage_pct=slip)
            if not opts.dry_run:
                venue_cmd.require_yes_or_confirm(f"close {plan.main.size} {plan.market}")
            outcome = actions.place(s, trading, plan, dry_run=opts.dry_run)
        if opts.dry_run:
            venue_cmd.emit_dry_run(outcome.requests, {"order": outcome.results[0].to_json()})
            return
        _emit_results(outcome.results)

    @app.command("tpsl", help="Set or remove (`none`) a trade's take-profit and stop-loss (Ostium).")
    def tpsl(
        market: str = typer.Argument(...),
        tp: str = typer.Option(None, "--tp", help="Take-profit price, or none."),
        sl: str = typer.Option(None, "--sl", help="Stop-loss price, or none."),
        trade: str = typer.Option(None, "--trade", help="Which trade, PAIR:INDEX, when a market has several."),
    ) -> None:
        from perpcli.cli import venue_cmd
        from perpcli.cli.collateral_cmd import tpsl_collateral

        with venue_cmd.session() as s:
            if not _is_collateral_venue(s.venue):
                raise_usage(f"{s.venue}: place TP/SL as trigger orders (perp sell MARKET SIZE --stop PX --reduce-only)")
            tpsl_collateral(s, market, tp=tp, sl=sl, trade_id=trade)

    @app.command("flatten", help="Cancel every open order and close every position at market.")
    def flatten(
        slippage: str = typer.Option("1%", "--slippage"),
        all_venues: bool = typer.Option(False, "--all-venues", help="On every venue of the portfolio."),
    ) -> None:
        from perpcli.app import actions, order_plan
        from perpcli.cli import context, output, venue_cmd

        if all_venues:
            from perpcli.cli.commands.portfolio import run_all_venues

            return run_all_venues("flatten", slippage=slippage)

        slip = order_plan.parse_percent(slippage, what="--slippage")
        with venue_cmd.session() as s:
            if _is_collateral_venue(s.venue):  # trades closed one by one, at market
                from perpcli.cli.collateral_cmd import flatten_collateral

                return flatten_collateral(s, slippage_pct=slip)
        opts = context.current()
        with venue_cmd.session() as s:
            trading = s.trading()
            targets = actions.cancel_targets(trading, oid=None, cloid=None, market=None, everything=True)
            positions = actions.open_positions(trading)
            if not opts.dry_run:
                venue_cmd.require_yes_or_confirm(
                    f"cancel {len(targets)} order(s) and close {len(positions)} position(s) on {s.venue}")
            cancels, reqs = actions.cancel(trading, targets, dry_run=opts.dry_run)
            results = []
            for pos in positions:
                plan = actions.close_plan(s, trading, pos.symbol, size=None, limit=None, slippage_pct=slip)
                outcome = actions.place(s, trading, plan, dry_run=opts.dry_run)
                results.extend(outcome.results)
                reqs.extend(outcome.requests)
        doc = {"cancels": [c.to_json() for c in cancels], "closes": [r.to_json() for r in results]}
        if opts.dry_run:
            venue_cmd.emit_dry_run(reqs, doc)
            return
        if venue_cmd.json_mode():
            output.emit_json(doc)
        else:
            output.info(f"canceled {sum(c.status == 'canceled' for c in cancels)} order(s)")
            if results:
                output.emit_table(doc["closes"], ["market", "side", "size", "status", "filled", "avg_price", "error"])
        code = actions.exit_code_for(results)
        if any(c.status != "canceled" for c in cancels) and not code:
            code = 3
        if code:
            venue_cmd.exit_with(code, "flatten incomplete: see the results above")

    @app.command("leverage", help="Set leverage (and cross/isolated) for a market.")
    def leverage(
        market: str = typer.Argument(...),
        value: int = typer.Argument(..., click_type=whole(), help="Integer leverage."),
        cross: bool = typer.Option(False, "--cross"),
        isolated: bool = typer.Option(False, "--isolated"),
    ) -> None:
        from perpcli.app import actions
        from perpcli.app.risk import RiskLimits
        from perpcli.cli import context, venue_cmd
        from perpcli.config import settings

        if cross and isolated:
            raise_usage("--cross and --isolated are exclusive")
        if value < 1:
            raise_usage("leverage must be at least 1")
        opts = context.current()
        with venue_cmd.session() as s:
            market = s.market.instrument(market).symbol  # `btc` is guarded, confirmed and shown as BTC
            actions.leverage_guard(RiskLimits.from_settings(settings.current()), market, value)
            trading = s.trading()
            if not cross and not isolated:
                is_cross = trading.leverage_setting(market).cross
            else:
                is_cross = cross
            prepared = trading.prepare_leverage(market, value, cross=is_cross)
            if not opts.dry_run:
                venue_cmd.require_yes_or_confirm(f"set {market} leverage to {value}x")
            out, reqs = actions.run_prepared(trading, prepared, dry_run=opts.dry_run, detail={
                "market": market, "leverage": value,
                "margin_mode": "cross" if is_cross else "isolated"})
        _emit_action(out, reqs)

    @app.command("margin", help="Add or remove isolated margin: margin MARKET add|remove AMOUNT.")
    def margin(
        market: str = typer.Argument(...),
        direction: str = typer.Argument(..., help="add or remove"),
        amount: str = typer.Argument(..., help="USD amount."),
    ) -> None:
        from perpcli.app import actions, order_plan
        from perpcli.cli import context, venue_cmd

        if direction not in ("add", "remove"):
            raise_usage("direction must be add or remove")
        amt = order_plan.parse_decimal(amount, what="AMOUNT")
        opts = context.current()
        with venue_cmd.session() as s:
            market = s.market.instrument(market).symbol
            trading = s.trading()
            prepared = trading.prepare_margin(market, amt if direction == "add" else -amt)
            if not opts.dry_run:
                venue_cmd.require_yes_or_confirm(f"{direction} {amt} USD isolated margin on {market}")
            out, reqs = actions.run_prepared(trading, prepared, dry_run=opts.dry_run,
                                             detail={"market": market, "direction": direction, "amount": amt})
        _emit_action(out, reqs)

    @app.command("deadman", help="Cancel all orders after a delay unless renewed: deadman 60s | off.")
    def deadman(delay: str = typer.Argument(..., help="e.g. 60s, 5m, or off")) -> None:
        import re
        import time

        from perpcli.app import actions
        from perpcli.cli import context, venue_cmd

        if delay == "off":
            at = None
        else:
            # ASCII digits, at most 9 (int() takes any Unicode digit and refuses > 4300 digits)
            m = re.fullmatch(r"([0-9]{1,9})([smh]?)", delay.strip())
            if not m:
                raise_usage("delay must look like 60s, 5m, 1h or off (ASCII digits, at most 9)")
            secs = int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
            if secs < 5:
                raise_usage("the venue needs at least 5 seconds")
            at = time.time_ns() // 1_000_000 + secs * 1000
        opts = context.current()
        with venue_cmd.session() as s:
            trading = s.trading()
            prepared = trading.prepare_schedule_cancel(at)
            if not opts.dry_run:
                venue_cmd.require_yes_or_confirm("clear the dead man's switch" if at is None
                                                 else f"cancel all orders at {at} unless renewed")
            out, reqs = actions.run_prepared(trading, prepared, dry_run=opts.dry_run, detail={"cancel_at": at})
        _emit_action(out, reqs)

    @app.command("batch", help=BATCH_HELP)
    def batch() -> None:
        from perpcli.cli.batch import run_batch

        run_batch()


BATCH_HELP = """Read NDJSON orders on stdin; write one result line per order.

Each input line is one JSON object with the fields of `perp buy/sell`. Prices and sizes are
strings ("0.01"), never JSON numbers (floats are inexact); flags are true/false.

\b
  side          "buy" or "sell" (required)
  market        "BTC", "xyz:GOLD" (required)
  size          base units "0.01", or "25%" of free collateral
  usd           size as USD notional instead: "500"
  risk          size so that hitting sl loses this % of equity: "1"
  limit         limit price "65000" or relative to mid "-0.5%"
  market_order  true: IOC at mid +/- slippage
  stop          trigger price (stop or take-profit by side of mark)
  slippage      worst-price bound for market_order/stop: "0.5%"
  tp            take-profit trigger (a bracket)
  sl            stop-loss trigger (a bracket; with risk, the loss bound)
  reduce_only   true: only reduce a position
  post_only     true: add liquidity only
  ioc           true: immediate or cancel
  cloid         client order id (0x + 32 hex); generated if absent

Exactly one of limit, market_order or stop. Each result line is an order result
(docs/json.md); a bad line n gets {"line": n, "status": "invalid", ...} and the rest go on.
Exit code: the worst outcome (6 unknown, 3 rejected, 2 invalid input, else 0)."""


CLIENT_HELP = ("Slice here (in the session when one runs) instead of the venue's native TWAP; "
               "the default on venues without one.")


def _native_twap() -> bool:
    """Whether the chosen venue runs TWAPs itself (Capabilities.twap; no adapter import)."""
    from perpcli.app.session import choose_venue
    from perpcli.cli import context
    from perpcli.config import settings
    from perpcli.venues import registry

    opts = context.current()
    name = choose_venue(settings.current(), venue=opts.venue, url=(opts.extra or {}).get("url"),
                        network=(opts.extra or {}).get("network")).name
    return bool(registry.get_entry(name).load_capabilities().twap)


def _emit_action(out, reqs) -> None:
    from perpcli.cli import venue_cmd

    if reqs:
        venue_cmd.emit_dry_run(reqs, {"action": out.to_json()})
        return
    venue_cmd.emit_doc(out.to_json())
    if out.status != "ok":
        venue_cmd.exit_with(3, f"{out.action} rejected: {out.error}")
