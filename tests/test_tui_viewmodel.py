"""The numbers the TUI panels show: ladder depth, candles, position and account figures, the ticket grammar.

Pure functions, no terminal: each test would fail if a figure a trader acts on were wrong.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.config.tui_keys import BY_ID, KEYS, keymap_from_settings
from perpcli.domain.errors import UsageError
from perpcli.domain.orders import Side
from perpcli.tui.ticket_model import TicketForm, to_request
from perpcli.tui.viewmodel import (
    Bar,
    CandleSeries,
    account_view,
    build_ladder,
    fmt_num,
    gauge,
    position_view,
    render_candles,
)


def test_ladder_cumulates_from_the_best_level_and_scales_bars():
    bids = [(D("100"), D("1")), (D("99"), D("3"))]
    asks = [(D("101"), D("2")), (D("102"), D("4")), (D("103"), D("9"))]
    lad = build_ladder(bids, asks, depth=2)
    assert [r.price for r in lad.asks] == [D("101"), D("102")]  # depth cuts the third ask
    assert [r.cum_size for r in lad.asks] == [D("2"), D("6")]
    assert [r.cum_notional for r in lad.bids] == [D("100"), D("397")]
    assert lad.mid == D("100.5") and lad.spread == D("1")
    assert lad.spread_bps == D("99.50")
    assert lad.asks[1].bar == 1.0 and lad.bids[0].bar == 0.25  # size / largest level shown
    assert lad.asks[1].depth_bar == 1.0 and lad.bids[1].depth_bar == pytest.approx(4 / 6)


def test_ladder_one_sided_has_no_mid():
    lad = build_ladder([(D("1"), D("1"))], [], 5)
    assert lad.mid is None and lad.spread is None and len(lad.bids) == 1


def test_candles_aggregate_trades_per_interval_and_rebuild_on_switch():
    s = CandleSeries("1m")
    t0 = 1_700_000_140_000  # 40 s into the first minute of a 5-minute bucket
    s.add_trade(D("10"), D("1"), t0)
    s.add_trade(D("12"), D("2"), t0 + 10_000)
    s.add_trade(D("9"), D("1"), t0 + 15_000)
    s.add_price(D("11"), t0 + 19_000)  # mid sample: moves close, adds no volume
    s.add_trade(D("13"), D("5"), t0 + 30_000)  # next minute
    bars = s.bars()
    assert len(bars) == 2
    b = bars[0]
    assert (b.open, b.high, b.low, b.close, b.volume) == (D("10"), D("12"), D("9"), D("11"), D("4"))
    assert bars[1].open_ms - b.open_ms == 60_000
    v = s.version
    s.set_interval("5m")
    assert s.version > v
    merged = s.bars()
    assert len(merged) == 1 and merged[0].volume == D("9") and merged[0].high == D("13")


def test_candles_backfill_then_live_ticks_extend_the_last_bar():
    s = CandleSeries("1m")
    s.load("1m", [Bar(60_000, D("5"), D("6"), D("4"), D("5.5"), D("10"))])
    s.add_trade(D("7"), D("1"), 90_000)  # same minute as the backfilled bar
    s.add_trade(D("1"), D("1"), 30_000)  # older than the newest bar: ignored
    (b,) = s.bars()
    assert b.high == D("7") and b.close == D("7") and b.volume == D("11") and b.low == D("4")


def test_render_candles_draws_wicks_bodies_and_volume():
    bars = [
        Bar(0, D("10"), D("14"), D("10"), D("13"), D("1")),  # up
        Bar(60_000, D("13"), D("13"), D("8"), D("9"), D("2")),  # down
    ]
    rows, colors = render_candles(bars, width=4, height=8, volume_rows=2)
    assert len(rows) == 8 and all(len(r) == 4 for r in rows)
    assert colors == ["", "", "up", "down"]
    price_col_up = [r[2] for r in rows[:6]]
    assert price_col_up[0] == "│"  # the high (14) is a wick above the body
    assert "█" in price_col_up
    assert rows[5][3] == "│"  # the low (8) of the down bar: wick at the bottom row of the pane
    assert rows[7][3] == "█" and rows[6][3] == "█"  # largest volume fills the volume pane
    assert rows[7][2] == "█" and rows[6][2] == " "  # half the volume: one of two rows


def test_position_figures_long_and_short():
    long = position_view("BTC", D("2"), D("100"), D("110"), leverage=10, liq_price=D("91"), funding=D("0.5"))
    assert long.upnl == D("20")
    assert long.roe_pct == D("100.00")  # 20 / (2 * 100 / 10)
    assert long.liq_distance_pct == D("17.27")  # (110 - 91) / 110
    short = position_view("ETH", D("-1"), D("50"), D("55"), leverage=5, liq_price=D("59"), margin=D("12.5"))
    assert short.upnl == D("-5")
    assert short.roe_pct == D("-40.00")  # isolated margin wins over notional / leverage
    assert short.liq_distance_pct == D("7.27")  # (59 - 55) / 55
    unknown = position_view("SOL", D("1"), D("1"), None, leverage=3, liq_price=None)
    assert unknown.upnl is None and unknown.liq_distance_pct is None


def test_account_figures_and_gauge():
    v = account_view(D("1000"), D("200"), D("3000"), maintenance=D("50"))
    assert v.free_collateral == D("800") and v.leverage == D("3.00") and v.margin_ratio == D("0.05")
    broke = account_view(D("0"), D("0"), D("0"), maintenance=D("1"))
    assert broke.margin_ratio == D("1") and broke.leverage == D("0")
    assert gauge(D("0.5"), 4) == "██  "
    assert gauge(1.7, 3) == "███"
    assert gauge(None, 2) == "  "
    assert gauge(D("0.0625"), 2) == "▏ "  # 1/16 of 2 cells = one eighth of a cell
    assert fmt_num(D("1234.5"), 2) == "1,234.50" and fmt_num(D("-3"), sign=True) == "-3"


def test_ticket_fields_become_the_cli_order_request():
    req = to_request(TicketForm("BTC", Side.SELL, size="0.5", price="101.5", tp="90", sl="105", reduce_only=True))
    assert req.size.kind == "base" and req.size.value == D("0.5")
    assert req.price.kind == "limit" and req.price.limit == D("101.5")
    assert (req.tp, req.sl, req.reduce_only, req.side) == (D("90"), D("105"), True, Side.SELL)
    assert to_request(TicketForm("BTC", size="250", size_mode="usd", order_type="market")).size.kind == "usd"
    assert to_request(TicketForm("BTC", size="10%", size_mode="pct", price="1")).size.value == D("10")
    risk = to_request(TicketForm("BTC", size="1", size_mode="risk", price="100", sl="95"))
    assert risk.size.kind == "risk" and risk.sl == D("95")
    stop = to_request(TicketForm("BTC", size="1", order_type="stop", price="90"))
    assert stop.price.kind == "stop" and stop.price.trigger == D("90")


@pytest.mark.parametrize("form, needle", [
    (TicketForm("BTC", size=""), "enter a size"),
    (TicketForm("BTC", size="abc", price="1"), "not a positive decimal"),
    (TicketForm("BTC", size="1"), "enter a limit price"),
    (TicketForm("BTC", size="1", size_mode="risk", price="1"), "needs a stop loss"),
    (TicketForm("BTC", size="101", size_mode="pct", price="1"), "at most 100%"),
    (TicketForm("BTC", size="1", order_type="market", post_only=True), "post-only"),
])
def test_ticket_says_which_field_is_not_valid_yet(form, needle):
    with pytest.raises(UsageError, match=needle):
        to_request(form)


def test_key_table_ids_are_unique_and_remapping_reads_settings():
    assert len(BY_ID) == len(KEYS)
    settings = {"tui.keys.buy_best": "B", "tui.keys.quit": "q", "tui.keys.help": ""}
    got = keymap_from_settings(lambda k: settings[k] if k in settings else BY_ID[k.rsplit(".", 1)[1]].key)
    assert got == {"buy_best": "B"}  # unchanged and empty values keep the default


def test_outcome_line_shows_the_kind_before_the_venue_words():
    from perpcli.app.actions import ActionOutcome, CancelOutcome, OrderResult
    from perpcli.domain.errors import ErrorKind
    from perpcli.tui.viewmodel import outcome_line

    rejected = OrderResult(venue="devnet", market="ETH", side="buy", size=D("0.01"), price=D("2000"), type="limit",
                           status="rejected", error="Post only order would have immediately matched, bbo was 1@2.",
                           error_kind=ErrorKind.POST_ONLY_WOULD_CROSS)
    assert outcome_line(rejected) == ("ETH rejected [post_only_would_cross]: Post only order would have immediately"
                                      " matched, bbo was 1@2.")
    assert outcome_line(CancelOutcome("BTC", "7", None, "canceled")) == "BTC canceled"
    assert outcome_line(ActionOutcome("leverage", "rejected", "Invalid leverage value",
                                      error_kind=ErrorKind.MAX_LEVERAGE)) == (
        "leverage rejected [max_leverage]: Invalid leverage value")


def test_outcome_line_shows_an_ostium_trade_with_its_id_price_and_liquidation():
    from perpcli.app.collateral import TradeResult
    from perpcli.tui.viewmodel import outcome_line

    opened = TradeResult(venue="ostium-devnet", market="XAU-USD", side="buy", type="market", status="filled",
                         size=D("0.754717"), avg_price=D("2650.1325"), trade_id="5:0",
                         liquidation_price=D("2391.74458"))
    assert outcome_line(opened, 2) == "XAU-USD filled 0.754717 @ 2,650.13 (trade 5:0), liquidation 2,391.74"
    refunded = TradeResult(venue="ostium-devnet", market="XAU-USD", side="buy", type="market", status="canceled",
                           reason="MARKET_CLOSED")
    assert outcome_line(refunded) == "XAU-USD canceled (MARKET_CLOSED)"  # the keeper's reason for the refund


def test_outcome_line_shows_a_partial_fill_as_what_traded_and_what_did_not():
    from perpcli.app.actions import OrderResult
    from perpcli.tui.viewmodel import outcome_line

    partial = OrderResult(venue="devnet", market="BTC", side="buy", size=D("3"), price=D("100.5"), type="limit",
                          status="filled", filled=D("1.5"), avg_price=D("100.5"))
    assert outcome_line(partial) == "BTC filled 1.5 of 3 @ 100.5; 1.5 not filled (cancelled)"
    full = OrderResult(venue="devnet", market="BTC", side="buy", size=D("3"), price=D("101"), type="limit",
                       status="filled", filled=D("3"), avg_price=D("100.75"))
    assert outcome_line(full) == "BTC filled 3 @ 100.75"
    vwap = OrderResult(venue="devnet", market="BTC", side="sell", size=D("0.31576"), price=D("94000"), type="market",
                       status="filled", filled=D("0.31576"), avg_price=D("95011.85697998"))
    assert outcome_line(vwap, 1) == "BTC filled 0.31576 @ 95,011.9"


def test_the_tape_prints_trade_times_on_the_local_clock(monkeypatch):
    import time

    from perpcli.domain.events import Trade
    from perpcli.domain.orders import Side
    from perpcli.tui.widgets.tape import TapeWidget

    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9, no daylight saving
    time.tzset()
    try:
        tape = TapeWidget()
        tape.trades = [Trade("fake", "BTC", Side.BUY, D("100.5"), D("0.2"), 1_700_000_000_000, 1)]
        rows = tape.build_rows(40, 3)
        assert "07:13:20" in "".join(text for text, _ in rows[1])  # 22:13:20 UTC
    finally:
        monkeypatch.undo()
        time.tzset()
