"""Devnet engine: matching, order rules, triggers, margin, liquidation, funding, fees.

Numbers in the margin tests are worked by hand in the comments; the engine must reproduce
them exactly (Decimal arithmetic, no tolerance).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.devnet.engine import Engine, EngineConfig, Errors
from perpcli.devnet.records import (
    WAITING_FOR_FILL,
    WAITING_FOR_TRIGGER,
    ActionError,
    Filled,
    OrderError,
    OrderSpec,
    Resting,
    TriggerSpec,
    UserFills,
)

T0 = 1_700_000_000_000  # an hour boundary minus nothing in particular; funding is at T0 // 1h + 1
A = "0x" + "a" * 40
B = "0x" + "b" * 40
C = "0x" + "c" * 40
BTC, TSLA = 0, 110003


def eng(**cfg) -> Engine:
    return Engine(config=EngineConfig(**cfg), start_ms=T0)


def lim(asset, is_buy, px, sz, tif="Gtc", **kw) -> OrderSpec:
    return OrderSpec(asset, is_buy, D(str(px)), D(str(sz)), tif=tif, **kw)


def place(e, user, spec, t=T0, grouping="na"):
    return e.place_orders(user, [spec], grouping, t)[0]


def status_of(e, user, oid):
    return e.order_status(user, oid).status


# ---------------------------------------------------------------------------------------- matching


def test_partial_fills_follow_price_then_time_priority():
    e = eng()
    a1 = place(e, A, lim(BTC, False, 95100, "0.1"))
    c1 = place(e, C, lim(BTC, False, 95100, "0.1"), T0 + 1)
    a2 = place(e, A, lim(BTC, False, 95050, "0.05"), T0 + 2)  # better price, later time
    r = place(e, B, lim(BTC, True, 95150, "0.2", "Ioc"), T0 + 3)
    assert r == Filled(D("0.2"), D("95087.5"), r.oid)  # 0.05@95050 + 0.1@95100 (A first) + 0.05@95100 (C)
    fills = e.user_fills(B)[::-1]
    assert [(f.px, f.sz) for f in fills] == [(D(95050), D("0.05")), (D(95100), D("0.1")), (D(95100), D("0.05"))]
    makers = [f.oid for f in e.user_fills(A)[::-1]] + [f.oid for f in e.user_fills(C)]
    assert makers == [a2.oid, a1.oid, c1.oid]
    assert status_of(e, A, a1.oid) == "filled" and status_of(e, C, c1.oid) == "open"
    book = e.l2_book("BTC")
    assert [(lv.px, lv.sz, lv.n) for lv in book.asks] == [(D(95100), D("0.05"), 1)]
    assert all(f.crossed for f in fills) and not any(f.crossed for f in e.user_fills(A))
    assert e.position(B, "BTC") == D("0.2") and e.position(A, "BTC") == D("-0.15")


def test_gtc_remainder_rests_and_reports_resting():
    e = eng()
    place(e, A, lim(BTC, False, 95100, "0.1"))
    r = place(e, B, lim(BTC, True, 95150, "0.3"), T0 + 1)
    assert isinstance(r, Resting)
    assert [(lv.px, lv.sz) for lv in e.l2_book("BTC").bids] == [(D(95150), D("0.2"))]
    assert e.open_orders(B)[0].sz == D("0.2") and e.open_orders(B)[0].orig_sz == D("0.3")


def test_alo_rejected_when_it_would_cross_with_the_venue_text():
    e = eng()
    place(e, A, lim(BTC, False, 95100, "0.1"))
    place(e, C, lim(BTC, True, 95000, "0.1"))
    r = place(e, B, lim(BTC, True, 95100, "0.1", "Alo"))
    assert r == OrderError("Post only order would have immediately matched, bbo was 95000@95100.")
    assert isinstance(place(e, B, lim(BTC, True, 95099, "0.1", "Alo")), Resting)
    rejected = e.historical_orders(B)[1]
    assert rejected.status == "badAloPxRejected"


def test_ioc_remainder_is_canceled_and_unmatched_ioc_is_an_error():
    e = eng()
    place(e, A, lim(BTC, False, 95100, "0.1"))
    r = place(e, B, lim(BTC, True, 95150, "0.3", "Ioc"))
    assert r == Filled(D("0.1"), D(95100), r.oid)
    assert status_of(e, B, r.oid) == "canceled"
    assert e.l2_book("BTC").bids == () and e.open_orders(B) == []
    r2 = place(e, B, lim(BTC, True, 95150, "0.1", "Ioc"))
    assert r2 == OrderError("Order could not immediately match against any resting orders.")


def test_market_order_stops_at_its_slippage_bound():
    e = eng()
    place(e, A, lim(BTC, False, 95100, "0.1"))
    place(e, A, lim(BTC, False, 97000, "0.1"))
    # no bids: reference is the mark (95000); 1% bound = 95950 -> only the first level fills
    assert e.market_order_px("BTC", True, D("0.01")) == D(95950)
    r = e.market_order(B, "BTC", True, D("0.2"), T0 + 1, slippage=D("0.01"))
    assert r == Filled(D("0.1"), D(95100), r.oid)
    assert [(lv.px, lv.sz) for lv in e.l2_book("BTC").asks] == [(D(97000), D("0.1"))]


def test_reduce_only_rejects_increase_and_clips_to_position():
    e = eng()
    assert place(e, B, lim(BTC, False, 95000, "0.1", "Ioc", reduce_only=True)) == OrderError(
        "Reduce only order would increase position."
    )
    place(e, A, lim(BTC, False, 95000, "0.1"))
    place(e, B, lim(BTC, True, 95000, "0.1", "Ioc"))
    assert place(e, B, lim(BTC, True, 95000, "0.1", reduce_only=True)) == OrderError(Errors.REDUCE_ONLY)
    place(e, C, lim(BTC, True, 94900, "1"))
    r = place(e, B, lim(BTC, False, 94900, "0.5", "Ioc", reduce_only=True))
    assert r == Filled(D("0.1"), D(94900), r.oid)
    assert e.position(B, "BTC") == 0
    assert e.l2_book("BTC").bids[0].sz == D("0.9")


def test_self_trade_prevention_cancels_the_resting_order():
    e = eng()
    ask = place(e, A, lim(BTC, False, 95100, "0.1"))
    place(e, C, lim(BTC, False, 95200, "0.1"))
    r = place(e, A, lim(BTC, True, 95200, "0.05", "Ioc"), T0 + 1)
    # A's own ask is expired (no trade with itself); the buy then takes C's ask.
    assert r == Filled(D("0.05"), D(95200), r.oid)
    assert status_of(e, A, ask.oid) == "selfTradeCanceled"
    assert e.recent_trades("BTC")[0].seller == C and len(e.recent_trades("BTC")) == 1


def test_cloid_is_unique_per_account_and_cancel_by_cloid_works():
    e = eng()
    cl = "0x" + "12" * 16
    r = place(e, A, lim(BTC, True, 94000, "0.1", cloid=cl))
    assert r == Resting(r.oid, cl)
    assert place(e, A, lim(BTC, True, 94000, "0.1", cloid=cl)) == OrderError(Errors.DUPLICATE_CLOID)
    assert isinstance(place(e, B, lim(BTC, True, 94000, "0.1", cloid=cl)), Resting)  # other account: fine
    assert e.cancel_by_cloid(A, [(BTC, cl)], T0 + 1) == ["success"]
    assert e.cancel_by_cloid(A, [(BTC, cl)], T0 + 2) == [OrderError(Errors.CANCEL_MISSING)]
    assert e.order_status(A, cl).status == "canceled"
    # even after cancel the cloid stays taken (it names that order in orderStatus)
    assert place(e, A, lim(BTC, True, 94000, "0.1", cloid=cl)) == OrderError(Errors.DUPLICATE_CLOID)


def test_modify_reissues_the_oid_and_keeps_the_cloid():
    e = eng()
    cl = "0x" + "ab" * 16
    r = place(e, A, lim(BTC, True, 94000, "0.1", cloid=cl))
    new = e.modify(A, cl, lim(BTC, True, 94500, "0.2", cloid=cl), T0 + 1)
    assert isinstance(new, Resting) and new.oid != r.oid and new.cloid == cl
    assert status_of(e, A, r.oid) == "canceled"
    assert e.order_status(A, cl).order.oid == new.oid
    assert [(lv.px, lv.sz) for lv in e.l2_book("BTC").bids] == [(D(94500), D("0.2"))]
    out = e.batch_modify(A, [(new.oid, lim(BTC, True, 94600, "0.2")), (123, lim(BTC, True, 1, 1))], T0 + 2)
    assert isinstance(out[0], Resting) and out[1] == OrderError(Errors.CANCEL_MISSING)
    with pytest.raises(ActionError, match="never placed"):
        e.modify(A, 999, lim(BTC, True, 94000, "0.1"), T0 + 3)


def test_schedule_cancel_dead_man_switch():
    e = eng()
    r = place(e, A, lim(BTC, True, 94000, "0.1"))
    with pytest.raises(ActionError, match="too early"):
        e.schedule_cancel(A, T0 + 1000, T0)
    e.schedule_cancel(A, T0 + 10_000, T0)
    e.advance(T0 + 9_999)
    assert status_of(e, A, r.oid) == "open"
    e.advance(T0 + 10_000)
    assert status_of(e, A, r.oid) == "scheduledCancel" and e.open_orders(A) == []
    e2 = eng(schedule_cancel_min_volume=D(1_000_000))
    with pytest.raises(ActionError) as err:
        e2.schedule_cancel(A, T0 + 10_000, T0)
    assert err.value.message == "Cannot set scheduled cancel time until enough volume traded. Required: $1000000."


def test_clearing_the_schedule_keeps_orders():
    e = eng()
    r = place(e, A, lim(BTC, True, 94000, "0.1"))
    e.schedule_cancel(A, T0 + 10_000, T0)
    e.schedule_cancel(A, None, T0 + 1)
    e.advance(T0 + 20_000)
    assert status_of(e, A, r.oid) == "open"


@pytest.mark.parametrize(
    "spec,error",
    [
        (lim(BTC, True, "95000.5", "0.1"), "Price must be divisible by tick size."),
        (lim(3, True, "0.0000001", "1000000"), "Order has invalid price."),  # kPEPE: 7 decimals > 6
        (lim(BTC, True, 95000, "0.000001"), "Order has invalid size."),
        (lim(BTC, True, 95000, "0"), "Order has zero size."),
        (lim(BTC, True, 95000, "0.0001"), "Order must have minimum value of $10."),
        (lim(BTC, True, 10000, "0.01"), "Order price cannot be more than 80% away from the reference price"),
        (lim(99, True, 1, 1), Errors.INVALID_ASSET),
    ],
)
def test_order_rule_rejections_use_venue_strings(spec, error):
    assert place(eng(), A, spec) == OrderError(error)


def test_insufficient_margin_to_place():
    e = eng(auto_fund_usdc=D(1000))
    e.update_leverage(A, BTC, True, 40, T0)  # BTC's max (the default for a new position is 20x)
    # BTC at 40x: 0.5 BTC @ 95000 needs 1187.5 > 1000; 0.4 needs 950 which fits.
    assert place(e, A, lim(BTC, True, 95000, "0.5")) == OrderError("Insufficient margin to place order.")
    assert isinstance(place(e, A, lim(BTC, True, 95000, "0.4")), Resting)
    # the resting order holds its margin: another 0.1 (237.5) no longer fits in the 50 left
    assert place(e, A, lim(BTC, True, 95000, "0.1")) == OrderError(Errors.MARGIN)
    assert e.historical_orders(A)[0].status == "perpMarginRejected"


def test_events_carry_fills_per_user_and_book_changes():
    e = eng()
    place(e, A, lim(BTC, False, 95100, "0.1"))
    e.drain_events()
    place(e, B, lim(BTC, True, 95100, "0.1", "Ioc"))
    ev = e.drain_events()
    kinds = {type(x).__name__ for x in ev}
    assert {"BookChanged", "TradesPrinted", "UserFills", "OrderUpdates", "CandleUpdated", "AccountChanged"} <= kinds
    assert {x.user for x in ev if isinstance(x, UserFills)} == {A, B}
    assert e.drain_events() == []


# ---------------------------------------------------------------------------------------- triggers


def _long_b(e, sz="0.1", px=95000):
    place(e, A, lim(BTC, False, px, sz))
    place(e, B, lim(BTC, True, px, sz, "Ioc"))


def test_stop_market_fires_on_mark_and_closes():
    e = eng()
    _long_b(e)
    sl = place(e, B, lim(BTC, False, 90000, "0.1", reduce_only=True, trigger=TriggerSpec(True, D(94000), "sl")))
    assert isinstance(sl, Resting)
    row = e.open_orders(B)[0]
    assert (row.order_type, row.trigger_condition, row.tif) == ("Stop Market", "Price below 94000", None)
    place(e, C, lim(BTC, True, 93500, "0.2"))
    e.set_oracle_price("BTC", D(94100), T0 + 1)
    assert e.position(B, "BTC") == D("0.1")
    e.set_oracle_price("BTC", D(93900), T0 + 2)
    assert e.position(B, "BTC") == 0
    assert [s.status for s in e.historical_orders(B) if s.order.oid == sl.oid] == ["filled"]
    assert e.user_fills(B)[0].px == D(93500) and e.user_fills(B)[0].dir == "Close Long"


def test_take_profit_limit_rests_after_trigger():
    e = eng()
    _long_b(e)
    tp = place(e, B, lim(BTC, False, 97000, "0.1", reduce_only=True, trigger=TriggerSpec(False, D(96900), "tp")))
    e.set_oracle_price("BTC", D(96800), T0 + 1)
    assert status_of(e, B, tp.oid) == "open" and e.l2_book("BTC").asks == ()
    e.set_oracle_price("BTC", D(96950), T0 + 2)
    assert [(lv.px, lv.sz) for lv in e.l2_book("BTC").asks] == [(D(97000), D("0.1"))]
    assert status_of(e, B, tp.oid) == "open" and e.order_status(B, tp.oid).order.trigger_condition == "Triggered"


def test_sell_stop_with_limit_above_trigger_is_invalid():
    e = eng()
    _long_b(e)
    bad = lim(BTC, False, 94500, "0.1", reduce_only=True, trigger=TriggerSpec(False, D(94000), "sl"))
    assert place(e, B, bad) == OrderError("Invalid TP/SL price.")


def test_normal_tpsl_children_wait_for_parent_fill_then_one_cancels_the_other():
    e = eng()
    parent = lim(BTC, True, 95000, "0.1")
    tp = lim(BTC, False, 99000, "0.1", reduce_only=True, trigger=TriggerSpec(True, D(98000), "tp"))
    sl = lim(BTC, False, 85000, "0.1", reduce_only=True, trigger=TriggerSpec(True, D(90000), "sl"))
    res = e.place_orders(B, [parent, tp, sl], "normalTpsl", T0)
    assert isinstance(res[0], Resting) and res[1:] == [WAITING_FOR_FILL, WAITING_FOR_FILL]
    rows = e.open_orders(B)
    assert len(rows) == 1 and len(rows[0].children) == 2
    place(e, A, lim(BTC, False, 95000, "0.1", "Ioc"), T0 + 1)  # fills the parent
    rows = e.open_orders(B)
    assert sorted(r.order_type for r in rows) == ["Stop Market", "Take Profit Market"]
    place(e, C, lim(BTC, True, 89000, "1"), T0 + 2)
    e.set_oracle_price("BTC", D(89900), T0 + 3)
    assert e.position(B, "BTC") == 0
    statuses = {s.order.order_type: s.status for s in e.historical_orders(B)}
    assert statuses["Take Profit Market"] == "siblingFilledCanceled"
    assert statuses["Stop Market"] == "filled"


def test_normal_tpsl_children_cancel_with_parent_and_go_live_on_immediate_fill():
    e = eng()
    tp = lim(BTC, False, 99000, "0.1", reduce_only=True, trigger=TriggerSpec(True, D(98000), "tp"))
    res = e.place_orders(B, [lim(BTC, True, 95000, "0.1"), tp], "normalTpsl", T0)
    e.cancel(B, [(BTC, res[0].oid)], T0 + 1)
    assert e.open_orders(B) == []
    place(e, A, lim(BTC, False, 95000, "0.1"))
    res = e.place_orders(B, [lim(BTC, True, 95000, "0.1", "Ioc"), tp], "normalTpsl", T0 + 2)
    assert isinstance(res[0], Filled) and res[1] == WAITING_FOR_TRIGGER
    assert [r.order_type for r in e.open_orders(B)] == ["Take Profit Market"]


def test_position_tpsl_follows_the_position_size():
    e = eng()
    _long_b(e, "0.3")
    sl = lim(BTC, False, 80000, "0.1", reduce_only=True, trigger=TriggerSpec(True, D(90000), "sl"))
    assert e.place_orders(B, [sl], "positionTpsl", T0 + 1) == [WAITING_FOR_TRIGGER]
    assert e.open_orders(B)[0].is_position_tpsl
    place(e, C, lim(BTC, True, 89000, "1"))
    e.set_oracle_price("BTC", D(89500), T0 + 2)
    assert e.position(B, "BTC") == 0  # the whole 0.3 closed, not the 0.1 written on the order


def test_tpsl_grouping_prevalidation_is_one_error_for_the_batch():
    e = eng()
    not_ro = lim(BTC, False, 85000, "0.1", trigger=TriggerSpec(True, D(90000), "sl"))
    assert e.place_orders(B, [lim(BTC, True, 95000, "0.1"), not_ro], "normalTpsl", T0) == [
        OrderError(Errors.TPSL_NOT_REDUCE_ONLY)
    ]


# ---------------------------------------------------------------------------------------- margin


def test_cross_margin_liquidation_price_withdrawable_and_liquidation():
    e = eng(auto_fund_usdc=D(1000))
    e.fund(A, D(100_000), T0)
    place(e, A, lim(BTC, False, 95000, "0.1"))
    e.update_leverage(B, BTC, True, 20, T0)
    r = place(e, B, lim(BTC, True, 95000, "0.1", "Ioc"))
    assert isinstance(r, Filled)
    # taker fee 9500 * 0.00045 = 4.275 -> balance 995.725; mark 95000 (book empty)
    cs = e.clearinghouse_state(B)
    p = cs.asset_positions[0]
    assert cs.margin_summary.account_value == D("995.725000")
    assert p.margin_used == D("475.000000")  # 9500 / 20
    assert cs.cross_maintenance_margin_used == D("118.750000")  # 9500 / (2 * 40)
    # withdrawable keeps max(IM 475, 10% of notional 950): 995.725 - 950
    assert cs.withdrawable == D("45.725000")
    # liq = 95000 - (995.725 - 118.75) / 0.1 / (1 - 0.0125) = 86119.24050633 (8 dp)
    assert p.liquidation_px == D("86119.24050633")
    place(e, A, lim(BTC, True, 86000, "0.5"), T0 + 1)
    e.set_oracle_price("BTC", D(86200), T0 + 2)
    assert e.position(B, "BTC") == D("0.1")
    e.set_oracle_price("BTC", D(86100), T0 + 3)
    assert e.position(B, "BTC") == 0
    f = e.user_fills(B)[0]
    assert f.liquidation is not None and f.liquidation.method == "market" and f.px == D(86000)
    # realised -900, fee 8600 * 0.00045 = 3.87: 995.725 - 900 - 3.87
    assert e.perp_balance(B) == D("91.855")
    assert f.closed_pnl == D("-903.870")


def test_isolated_margin_liquidation_price_and_margin_update():
    e = eng()
    place(e, A, lim(TSLA, False, 430, 10))
    r = place(e, B, lim(TSLA, True, 430, 10, "Ioc"))
    assert isinstance(r, Filled)
    p = e.clearinghouse_state(B, "xyz").asset_positions[0]
    # xyz:TSLA is isolated-only at 10x: pot 4300/10 = 430; MM 4300/20 = 215
    assert (p.leverage_type, p.leverage_value, p.margin_used) == ("isolated", 10, D("430.000000"))
    # liq = 430 - (430 - 215) / 10 / (1 - 0.05) = 407.36842105
    assert p.liquidation_px == D("407.36842105")
    assert e.perp_balance(B, "xyz") == D(100000) - D(430) - D("1.935")  # the xyz dex's own collateral
    assert e.perp_balance(B) == D(100000)  # the default dex's is untouched
    e.update_isolated_margin(B, TSLA, D(100), T0 + 1)
    p = e.clearinghouse_state(B, "xyz").asset_positions[0]
    # liq = 430 - (530 - 215) / 10 / 0.95 = 396.84210526
    assert p.liquidation_px == D("396.84210526")
    with pytest.raises(ActionError):
        e.update_isolated_margin(B, TSLA, D(-400), T0 + 2)  # would leave less than initial margin
    with pytest.raises(ActionError, match="Cross margin is not allowed"):
        e.update_leverage(B, TSLA, True, 5, T0 + 3)


def test_update_leverage_bounds():
    e = eng()
    with pytest.raises(ActionError, match="Invalid leverage value"):
        e.update_leverage(A, BTC, True, 41, T0)
    with pytest.raises(ActionError, match="Invalid leverage value"):
        e.update_leverage(A, BTC, True, 0, T0)
    e.update_leverage(A, BTC, False, 3, T0)
    assert e.active_asset_data(A, "BTC").leverage_type == "isolated"


def test_funding_is_paid_hourly_from_longs_to_shorts_at_the_oracle():
    e = eng()
    _long_b(e)  # B long 0.1, A short 0.1; the book is empty so the premium is 0
    before_a, before_b = e.perp_balance(A), e.perp_balance(B)
    first = (T0 // 3_600_000 + 1) * 3_600_000
    e.advance(first)
    # hourly rate = (0 + clamp(0.0001 - 0)) / 8 = 0.0000125; 0.1 * 95000 * 0.0000125 = 0.11875
    pay = e.user_funding(B, 0)
    assert [(p.usdc, p.funding_rate, p.time) for p in pay] == [(D("-0.118750"), D("0.0000125"), first)]
    assert e.perp_balance(B) == before_b - D("0.11875") and e.perp_balance(A) == before_a + D("0.11875")
    assert e.funding_history("BTC", 0)[0].funding_rate == D("0.0000125")
    assert e.clearinghouse_state(B).asset_positions[0].cum_funding_all_time == D("0.118750")


def test_maker_and_taker_fees_and_rebates():
    e = eng()
    place(e, A, lim(BTC, False, 95100, "0.1"))
    place(e, B, lim(BTC, True, 95100, "0.1", "Ioc"))
    assert e.user_fills(A)[0].fee == D("1.426500")  # 9510 * 0.00015
    assert e.user_fills(B)[0].fee == D("4.279500")  # 9510 * 0.00045
    e2 = eng(maker_fee=D("-0.0001"))
    place(e2, A, lim(BTC, False, 95100, "0.1"))
    place(e2, B, lim(BTC, True, 95100, "0.1", "Ioc"))
    assert e2.user_fills(A)[0].fee == D("-0.951000")
    assert e2.perp_balance(A) == D(100000) + D("0.951")


def test_transfers_and_withdraw_bookkeeping():
    e = eng()
    e.usd_class_transfer(A, D(300), False, T0)
    assert e.spot_balances(A)[0].total == D(300) and e.perp_balance(A) == D(99700)
    e.usd_class_transfer(A, D(100), True, T0)
    e.usd_send(A, B, D(50), T0)
    assert e.perp_balance(B) == D(50)  # a recipient the devnet never saw holds what was sent
    assert e.ensure_account(B, T0) and e.perp_balance(B) == D(50)  # ...and is never topped up
    e.withdraw(A, A, D(10), T0)
    assert e.perp_balance(A) == D(99740)
    with pytest.raises(ActionError, match="Insufficient balance for withdrawal"):
        e.withdraw(A, A, D(10**9), T0)
    kinds = [u.kind for u in e.user_ledger(A, 0)]
    # auto-fund deposits on the default dex and on builder dex xyz (each its own collateral)
    assert kinds == ["deposit", "deposit", "accountClassTransfer", "accountClassTransfer", "internalTransfer", "withdraw"]


def test_agents_replace_by_name_and_expire():
    e = eng()
    ag1, ag2, ag3 = ("0x" + c * 40 for c in "123")
    e.approve_agent(A, ag1, "", T0)
    e.approve_agent(A, ag2, "", T0)  # a new unnamed agent replaces the old one
    assert e.resolve_signer(ag2, T0) == A and not e.is_agent(ag1, T0)
    e.approve_agent(A, ag3, f"bot valid_until {T0 + 1000}", T0)
    assert e.user_role(ag3, T0) == ("agent", A)
    assert e.user_role(ag3, T0 + 1000)[0] != "agent"


def test_agent_approved_already_expired_is_refused():
    e = eng()
    ag = "0x" + "4" * 40
    with pytest.raises(ActionError, match="valid_until"):
        e.approve_agent(A, ag, f"bot valid_until {T0 - 1}", T0)
    with pytest.raises(ActionError, match="valid_until"):
        e.approve_agent(A, ag, f"bot valid_until {T0}", T0)
    assert not e.is_agent(ag, T0) and e.agents_of(A, T0) == []


def test_signers_are_never_created_even_with_auto_fund():
    e = eng()
    assert e.resolve_signer(C, T0) is None and not e.account_exists(C)
    assert e.ensure_account(C, T0) and e.resolve_signer(C, T0) == C and e.perp_balance(C) == D(100000)


def test_auto_fund_off_leaves_unknown_signers_unknown():
    e = eng(auto_fund=False)
    assert e.resolve_signer(A, T0) is None
    e.fund(A, D(5), T0)
    assert e.resolve_signer(A, T0) == A and e.perp_balance(A) == D(5)


# ---------------------------------------------------------------------------------------- market data


def test_candles_aggregate_trades_per_interval():
    e = eng()
    minute = (T0 // 60_000 + 1) * 60_000
    for i, (px, sz) in enumerate([(95100, "0.1"), (95300, "0.2"), (95000, "0.1")]):
        place(e, A, lim(BTC, False, px, sz), minute + i)
        place(e, B, lim(BTC, True, px, sz, "Ioc"), minute + i)
    place(e, A, lim(BTC, False, 95200, "0.1"), minute + 60_000)
    place(e, B, lim(BTC, True, 95200, "0.1", "Ioc"), minute + 60_000)
    ones = e.candles("BTC", "1m", minute, minute + 120_000)
    assert [(c.t, c.T, c.o, c.h, c.l, c.c, c.v, c.n) for c in ones] == [
        (minute, minute + 59_999, D(95100), D(95300), D(95000), D(95000), D("0.4"), 3),
        (minute + 60_000, minute + 119_999, D(95200), D(95200), D(95200), D(95200), D("0.1"), 1),
    ]
    day = e.candles("BTC", "1d", 0, minute + 120_000)
    assert len(day) == 1 and day[0].n == 4 and day[0].h == D(95300)
    ctx = e.asset_ctx("BTC")
    assert ctx.day_base_vlm == D("0.5") and ctx.open_interest == D("0.5")
    assert e.recent_trades("BTC")[0].px == D(95200) and e.recent_trades("BTC")[0].side == "B"


def test_l2_book_levels_count_orders_and_aggregate_by_sig_figs():
    e = eng()
    for px in (95001, 95012, 95049, 95160):
        place(e, A, lim(BTC, False, px, "0.1"))
    place(e, C, lim(BTC, False, 95012, "0.2"))
    full = e.l2_book("BTC")
    assert [(lv.px, lv.sz, lv.n) for lv in full.asks][:2] == [(D(95001), D("0.1"), 1), (D(95012), D("0.3"), 2)]
    agg = e.l2_book("BTC", n_sig_figs=3)  # asks round up to 100s
    assert [(lv.px, lv.sz, lv.n) for lv in agg.asks] == [(D(95100), D("0.5"), 4), (D(95200), D("0.1"), 1)]
    assert str(agg.asks[0].px) == "95100"
    five = e.l2_book("BTC", n_sig_figs=5, mantissa=5)  # the 5th figure moves in steps of 5
    assert [(lv.px, lv.n) for lv in five.asks] == [(D(95005), 1), (D(95015), 2), (D(95050), 1), (D(95160), 1)]
    two = e.l2_book("BTC", n_sig_figs=5, mantissa=2)
    assert [lv.px for lv in two.asks] == [D(95002), D(95012), D(95050), D(95160)]


def test_liquidation_without_book_liquidity_goes_to_the_backstop():
    e = eng(auto_fund_usdc=D(1000))
    e.fund(A, D(100_000), T0)
    place(e, A, lim(BTC, False, 95000, "0.1"))
    e.update_leverage(B, BTC, True, 20, T0)
    place(e, B, lim(BTC, True, 95000, "0.1", "Ioc"))
    e.drain_events()
    e.set_oracle_price("BTC", D(86000), T0 + 1)  # below the liquidation price, empty book
    assert e.position(B, "BTC") == 0
    liq = e.config.liquidator
    assert e.position(liq, "BTC") == D("0.1")
    assert e.user_fills(B)[0].liquidation.method == "backstop"
    assert e.perp_balance(B) == 0  # the user keeps nothing of a backstopped cross account
    kinds = [type(x).__name__ for x in e.drain_events()]
    assert "Liquidated" in kinds


def test_spot_send_moves_spot_tokens():
    e = eng()
    e.fund_spot(A, "PURR", D(500), T0)
    e.spot_send(A, B, "PURR", D(200), T0)
    assert {b.coin: b.total for b in e.spot_balances(B)} == {"PURR": D(200)}
    with pytest.raises(ActionError, match="Insufficient balance for token transfer"):
        e.spot_send(A, B, "PURR", D(301), T0)


def test_mids_and_mark_follow_the_book():
    e = eng()
    place(e, A, lim(BTC, False, 95100, "0.1"))
    place(e, C, lim(BTC, True, 94900, "0.1"))
    assert e.all_mids()["BTC"] == D(95000)
    assert "xyz:GOLD" not in e.all_mids() and e.all_mids("xyz")["xyz:GOLD"] == D(4000)  # never traded: mark
    e.set_oracle_price("BTC", D(96000), T0 + 1)
    assert e.mark_price("BTC") == D(95100)  # median(oracle 96000, bid 94900, ask 95100)


def test_isolated_backstop_takes_only_the_isolated_pot():
    e = eng()
    place(e, A, lim(TSLA, False, 430, 10))
    place(e, B, lim(TSLA, True, 430, 10, "Ioc"))
    assert e.perp_balance(B, "xyz") == D("99568.065")  # 100000 - 430 pot - 1.935 fee
    e.set_oracle_price("xyz:TSLA", D(400), T0 + 1)  # liq px 407.37; no bids: backstop
    assert e.position(B, "xyz:TSLA") == 0
    # the pot (430 - 300 loss = 130) goes to the liquidator; the cross balance is untouched
    assert e.perp_balance(B, "xyz") == D("99568.065")
    liq = e.clearinghouse_state(e.config.liquidator, "xyz")
    assert liq.margin_summary.account_value == D(130)  # it now holds the position (its own pot)
    assert liq.asset_positions[0].szi == D(10)


# ---------------------------------------------------------------------------------------- more rules


def test_named_agents_are_capped_at_three_and_replaced_by_name():
    e = eng()
    addrs = ["0x" + f"{i:040x}" for i in range(1, 6)]
    for i, a in enumerate(addrs[:3]):
        e.approve_agent(A, a, f"bot{i}", T0)
    e.approve_agent(A, addrs[3], "bot0", T0)  # same name: replaces bot0
    assert not e.is_agent(addrs[0], T0) and e.is_agent(addrs[3], T0)
    with pytest.raises(ActionError, match="Too many named agents"):
        e.approve_agent(A, addrs[4], "bot9", T0)
    assert sorted(a.name for a in e.agents_of(A, T0)) == ["bot0", "bot1", "bot2"]


def test_open_order_limit():
    e = eng(max_open_orders=3)
    for i in range(3):
        assert isinstance(place(e, A, lim(BTC, True, 90000 + i, "0.01")), Resting)
    assert place(e, A, lim(BTC, True, 90010, "0.01")) == OrderError(Errors.TOO_MANY_ORDERS)


def test_cancel_needs_the_right_asset_and_owner():
    e = eng()
    r = place(e, A, lim(BTC, True, 94000, "0.1"))
    assert e.cancel(A, [(1, r.oid)], T0) == [OrderError(Errors.CANCEL_MISSING)]  # ETH, not BTC
    assert e.cancel(B, [(BTC, r.oid)], T0) == [OrderError(Errors.CANCEL_MISSING)]  # not B's
    assert e.cancel(A, [(BTC, r.oid), (BTC, r.oid)], T0) == ["success", OrderError(Errors.CANCEL_MISSING)]


def test_frontend_rows_for_limit_orders():
    e = eng()
    cl = "0x" + "cd" * 16
    place(e, A, lim(BTC, True, 94000, "0.1", "Alo", cloid=cl, reduce_only=False))
    row = e.open_orders(A)[0]
    assert (row.coin, row.side, row.limit_px, row.tif, row.order_type, row.trigger_condition, row.cloid) == (
        "BTC",
        "B",
        D(94000),
        "Alo",
        "Limit",
        "N/A",
        cl,
    )
    assert not row.is_trigger and row.children == []


def test_position_tpsl_is_canceled_when_the_position_closes():
    e = eng()
    _long_b(e)
    sl = lim(BTC, False, 80000, "0.1", reduce_only=True, trigger=TriggerSpec(True, D(90000), "sl"))
    e.place_orders(B, [sl], "positionTpsl", T0 + 1)
    place(e, C, lim(BTC, True, 95000, "1"))
    place(e, B, lim(BTC, False, 95000, "0.1", "Ioc", reduce_only=True), T0 + 2)
    assert e.open_orders(B) == []
    assert e.historical_orders(B)[1].status == "canceled"


def test_isolated_leverage_change_tops_up_the_pot():
    e = eng()
    e.update_leverage(B, 1, False, 10, T0)  # ETH isolated 10x
    place(e, A, lim(1, False, 3200, 1))
    place(e, B, lim(1, True, 3200, 1, "Ioc"))
    before = e.perp_balance(B)
    e.update_leverage(B, 1, False, 5, T0 + 1)  # needs 640 instead of 320: 320 more from the balance
    assert e.perp_balance(B) == before - 320
    p = e.clearinghouse_state(B).asset_positions[0]
    assert (p.leverage_type, p.leverage_value, p.margin_used) == ("isolated", 5, D("640.000000"))
    with pytest.raises(ActionError, match="Cannot switch leverage type"):
        e.update_leverage(B, 1, True, 5, T0 + 2)


def test_funding_rate_follows_the_book_premium():
    e = eng()
    place(e, A, lim(BTC, True, 95500, "1"))  # impact bid 95500 for 20k USDC
    place(e, C, lim(BTC, False, 95600, "1"))  # impact ask 95600
    first = (T0 // 3_600_000 + 1) * 3_600_000
    e.advance(T0 + 5_000)
    e.advance(first)
    # premium = (95500 - 95000) / 95000; F8 = P + clamp(0.0001 - P, +-0.0005) = P - 0.0005; hourly = F8 / 8
    premium = D(500) / D(95000)
    expected = ((premium - D("0.0005")) / 8).quantize(D("0.00000001"))
    row = e.funding_history("BTC", 0)[0]
    assert row.funding_rate == expected == D("0.00059539")
    assert row.premium == premium.quantize(D("0.00000001"))


def test_scheduled_cancel_triggers_are_capped_per_day():
    e = eng()
    t = T0
    for _ in range(10):
        e.schedule_cancel(A, t + 5_000, t)
        t += 5_000
        e.advance(t)
    with pytest.raises(ActionError, match="Too many scheduled cancel triggers today"):
        e.schedule_cancel(A, t + 5_000, t)
    nxt = (t // 86_400_000 + 1) * 86_400_000
    e.schedule_cancel(A, nxt + 5_000, nxt)  # a new UTC day resets the count


def test_replaced_or_expired_agents_do_not_become_accounts():
    e = eng()
    old, new = "0x" + "7" * 40, "0x" + "8" * 40
    e.approve_agent(A, old, "", T0)
    e.approve_agent(A, new, "", T0 + 1)
    # the replaced agent's signatures no longer act for anyone, and no wallet is auto-funded for it
    assert e.resolve_signer(old, T0 + 2) is None and not e.account_exists(old)
    assert e.ensure_account(old, T0 + 2) is False
    assert e.resolve_signer(new, T0 + 2) == A
    timed = "0x" + "9" * 40
    e.approve_agent(A, timed, f"bot valid_until {T0 + 10}", T0)
    assert e.resolve_signer(timed, T0 + 10) is None


def test_histories_are_bounded():
    e = eng(history_limit=10, trades_kept=10)
    first = None
    for i in range(30):
        r = place(e, A, lim(BTC, False, 95000 + i, "0.01"), T0 + i)
        first = first or r.oid
        place(e, B, lim(BTC, True, 95000 + i, "0.01", "Ioc"), T0 + i)
    assert 10 <= len(e.historical_orders(A)) <= 11
    assert 10 <= len(e.user_fills(B)) <= 11 and len(e.recent_trades("BTC", 1000)) <= 11
    assert e.order_status(A, first) is None  # long gone from the history
    assert e.user_fills(B)[0].px == D(95029)  # the newest are kept


def test_batch_results_keep_order_and_mix_outcomes():
    e = eng()
    place(e, C, lim(BTC, False, 95100, "0.1"))
    res = e.place_orders(
        A,
        [lim(BTC, True, 94000, "0.1"), lim(BTC, True, "94000.5", "0.1"), lim(BTC, True, 95100, "0.1", "Ioc")],
        "na",
        T0,
    )
    assert isinstance(res[0], Resting)
    assert res[1] == OrderError("Price must be divisible by tick size.")
    assert res[2] == Filled(D("0.1"), D(95100), res[2].oid)


def test_frontend_market_without_liquidity():
    e = eng()
    r = place(e, A, lim(BTC, True, 95000, "0.1", "FrontendMarket"))
    assert r == OrderError("No liquidity available for market order.")
    assert e.historical_orders(A)[0].status == "marketOrderNoLiquidityRejected"


def test_modify_a_trigger_order():
    e = eng()
    _long_b(e)
    sl = place(e, B, lim(BTC, False, 85000, "0.1", reduce_only=True, trigger=TriggerSpec(True, D(90000), "sl")))
    new = e.modify(B, sl.oid, lim(BTC, False, 86000, "0.1", reduce_only=True, trigger=TriggerSpec(True, D(91000), "sl")), T0 + 1)
    assert isinstance(new, Resting) and new.oid != sl.oid
    rows = e.open_orders(B)
    assert [(r.oid, r.trigger_px) for r in rows] == [(new.oid, D(91000))]
    assert status_of(e, B, sl.oid) == "canceled"


def test_a_new_position_defaults_to_cross_at_twenty_or_the_max_if_lower():
    e = eng(auto_fund_usdc=D(1000))
    data = e.active_asset_data(A, "BTC")  # BTC allows 40x: the venue's default is 20x cross
    assert (data.leverage_type, data.leverage_value) == ("cross", 20)
    # 0.2 BTC @ 95000 at 20x needs 950 of 1000; 0.25 (1187.5) does not fit
    assert place(e, A, lim(BTC, True, 95000, "0.25")) == OrderError(Errors.MARGIN)
    assert isinstance(place(e, A, lim(BTC, True, 95000, "0.2")), Resting)
    low = next(m for m in e.markets.perps if m.max_leverage < 20 and not m.only_isolated)
    assert e.active_asset_data(A, low.name).leverage_value == low.max_leverage


def test_resting_maker_is_margin_checked_again_at_match_time():
    e = eng(auto_fund_usdc=D(1000))
    e.fund(C, D(1_000_000), T0)
    e.update_leverage(A, BTC, True, 40, T0)
    # A rests a bid that fits its margin now (0.3 BTC @ 95000 / 40 = 712.5 of 1000)
    bid = place(e, A, lim(BTC, True, 95000, "0.3"))
    assert isinstance(bid, Resting)
    # ...then loses money elsewhere: a 10x ETH long that the oracle marks down
    e.update_leverage(A, 1, True, 10, T0)
    place(e, C, lim(1, False, 3200, "0.3"))
    place(e, A, lim(1, True, 3200, "0.3", "Ioc"))
    # ETH at 2000: uPnL -360, ETH margin 60: free = 999.568 - 360 - 60 - 712.5 (the bid) < 0
    e.set_oracle_price("ETH", D(2000), T0 + 1)
    e.fund(B, D(1_000_000), T0 + 1)
    place(e, B, lim(BTC, True, 94000, "1"))
    r = place(e, C, lim(BTC, False, 94000, "0.3", "Ioc"), T0 + 2)
    assert status_of(e, A, bid.oid) == "marginCanceled"
    assert r == Filled(D("0.3"), D(94000), r.oid) and e.position(A, "BTC") == 0


def test_resting_reduce_only_is_canceled_when_the_position_closes():
    e = eng()
    _long_b(e)
    ro = place(e, B, lim(BTC, False, 99000, "0.1", reduce_only=True))
    place(e, C, lim(BTC, True, 95000, "1"))
    place(e, B, lim(BTC, False, 95000, "0.1", "Ioc"), T0 + 1)
    assert status_of(e, B, ro.oid) == "reduceOnlyCanceled"
    assert e.l2_book("BTC").asks == ()


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_non_finite_numbers_are_refused_not_crashing(bad):
    e = eng()
    assert place(e, A, OrderSpec(BTC, True, bad, D("0.1"))) == OrderError(Errors.INVALID_PRICE)
    assert place(e, A, OrderSpec(BTC, True, D(95000), bad)) == OrderError(Errors.INVALID_SIZE)
    for call in (
        lambda: e.fund(A, bad, T0),
        lambda: e.usd_send(A, B, bad, T0),
        lambda: e.withdraw(A, A, bad, T0),
        lambda: e.usd_class_transfer(A, bad, False, T0),
        lambda: e.set_oracle_price("BTC", bad, T0),
    ):
        with pytest.raises(ActionError):
            call()
