"""The pure parts of an Ostium tab's ticket: the form read as `perp buy --collateral` reads its
flags (tui/collateral_ticket.py), the guards a quoted open is held to (app/collateral.check_risk),
the open crossing to a session agent as explicit JSON, and an agent that dies mid-open."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from perpcli.app import collateral
from perpcli.app.preview import collateral_preview
from perpcli.app.risk import RiskLimits
from perpcli.domain.errors import RiskRefused, UsageError
from perpcli.domain.orders import Side
from perpcli.session import seam_codec
from perpcli.tui.collateral_ticket import confirm_question, order_of_form, preview_text
from perpcli.tui.ticket_model import TicketForm
from perpcli.venues.base import CollateralOrder, OpenQuote, TradingOptions
from perpcli.venues.ostium import instruments
from tests import session_helpers as sh

LIMITS = instruments.PairLimits(min_leverage=D("2"), max_leverage=D("100"), min_position_usd=D("100"),
                                liq_margin_threshold_pct=D("25"))


def form(**kw) -> TicketForm:
    base = {"market": "XAU-USD", "size": "500", "size_mode": "collateral", "order_type": "market", "leverage": "10"}
    return TicketForm(**{**base, **kw})


def test_the_form_is_the_order_perp_buy_builds_from_the_same_flags():
    # perp buy XAU --collateral 500 --leverage 10 --market --tp 2800 --sl 2500
    want = collateral.order_of(market="XAU-USD", side=Side.BUY, kind="market", leverage=D(10), collateral=D(500),
                               usd=None, size=None, price=None, tp=D(2800), sl=D(2500), slippage_pct=None)
    assert order_of_form(form(tp="2800", sl="2500")) == want
    assert want.slippage_pct == D(1)
    sell = order_of_form(form(side=Side.SELL, size_mode="usd", size="$2000", order_type="limit", price="2700",
                              leverage=""))
    assert (sell.side, sell.kind, sell.notional, sell.collateral, sell.price, sell.leverage) == (
        Side.SELL, "limit", D(2000), None, D(2700), None)  # no leverage: the venue's default, as the CLI's
    stop = order_of_form(form(size_mode="units", size="0.5", order_type="stop", price="2600"))
    assert (stop.kind, stop.size, stop.price) == ("stop", D("0.5"), D(2600))


@pytest.mark.parametrize(("changes", "said"), [
    ({"reduce_only": True}, "reduce-only does not apply here"),
    ({"post_only": True}, "post-only does not apply here"),
    ({"size_mode": "pct", "size": "10"}, "a size as a % does not apply here"),
    ({"size_mode": "risk", "size": "1"}, "a size as a % does not apply here"),
    ({"size": ""}, "enter the collateral (USDC)"),
    ({"size_mode": "usd", "size": " "}, "enter the notional (USD)"),
    ({"order_type": "limit"}, "enter the limit price"),
    ({"order_type": "stop"}, "enter the stop's trigger price"),
    ({"leverage": "ten"}, "leverage: 'ten' is not a positive decimal"),
    ({"size": "-5"}, "collateral: '-5' is not a positive decimal"),
    ({"tp": "0"}, "TP must be positive"),
])
def test_what_means_nothing_here_or_is_not_typed_yet_is_one_sentence(changes, said):
    with pytest.raises(UsageError) as e:
        order_of_form(form(**changes))
    assert said in str(e.value)


def quote(*, leverage: D = D(10), kind: str = "market", collateral_usdc: D = D(100)) -> OpenQuote:
    inst = instruments.to_instrument("ostium-devnet", instruments.spec_for_symbol("XAU-USD"), LIMITS)
    order = CollateralOrder("XAU-USD", Side.BUY, leverage, kind, collateral=collateral_usdc,
                            price=None if kind == "market" else D(2000))
    notional = collateral_usdc * leverage
    return OpenQuote(order=order, instrument=inst, reference_price=D(2000), oracle_price=D("1999.9"),
                     collateral=collateral_usdc, leverage=leverage, notional=notional, size=notional / D(2000),
                     rules=instruments.margin_rules(LIMITS, leverage), opening_fee=D("2.5"), oracle_fee=D("0.1"),
                     wallet=D(1000), approval_needed=True)


def test_the_guards_of_perp_buy_hold_a_quoted_open():
    limits = RiskLimits(max_order_notional=D(5000), max_leverage=20)
    collateral.check_risk(limits, quote())
    with pytest.raises(RiskRefused) as e:
        collateral.check_risk(limits, quote(leverage=D(25)))
    assert e.value.guard == "max_leverage"
    with pytest.raises(RiskRefused) as e:
        collateral.check_risk(limits, quote(collateral_usdc=D(600)))
    assert e.value.guard == "max_order_notional"


def test_the_preview_and_the_question_name_the_liquidation_price_of_the_document():
    doc = collateral_preview(quote())
    text = preview_text(doc).plain
    assert f"liq {doc['liquidation_price']:,f}" in text and "100 USDC x 10 = 1,000 USD" in text
    assert "approval is sent first" in text and "refused" not in text
    assert preview_text(doc, warning="too big (guard max_order_notional)").plain.splitlines()[1] == (
        "refused: too big (guard max_order_notional)")
    asked = confirm_question(doc, "ostium-devnet").plain
    assert f"liquidation {doc['liquidation_price']:,f}" in asked and "approval is sent first" in asked


def test_an_open_crosses_to_the_agent_as_explicit_json():
    order = order_of_form(form(tp="2800"))
    limits = RiskLimits(max_order_notional=D(5000), max_leverage=20, confirm_above_notional=D(1500))
    for value in (order, limits):
        assert seam_codec.decode(json.loads(json.dumps(seam_codec.encode(value)))) == value


class _Reader:
    venue = "ostium-devnet"


def test_an_open_the_agent_died_on_comes_back_unknown_and_is_not_sent_again(perpcli_home):
    from perpcli.tui import session_trading

    link = session_trading._Link({"venue": "ostium-devnet"}, "main", TradingOptions())
    trading = session_trading.SessionCollateral(_Reader(), link, "0xabc")
    sh.fake_agent(answer=False)
    [result] = trading.collateral_open(order_of_form(form()), RiskLimits())
    assert (result.status, result.market, result.side, result.collateral) == ("unknown", "XAU-USD", "buy", D(500))
    assert "may have been sent" in result.error
    assert collateral.exit_code_for([result], waited=True) == 6
    with pytest.raises(AttributeError):  # nothing of the open is signed or sent from the watch itself
        trading.send_order([])


def test_an_open_the_keeper_refunded_or_left_unsettled_is_an_error_notice():
    """The watch's notice of a ticket open: filled is news, a keeper's refund or no settlement
    within the wait is not what was asked for (exit 3 / 6 in the CLI) and is shown as an error."""
    from perpcli.app.collateral import TradeResult
    from perpcli.tui.app import WatchApp

    app = WatchApp({}, [])
    said: list[tuple[str, str]] = []
    app.notify = lambda message, *, title="", severity="information", **_: said.append((severity, message))
    for status in ("filled", "canceled", "accepted", "unknown"):
        app._action_done("open", [TradeResult(venue="ostium-devnet", market="XAU-USD", side="buy", type="market",
                                              status=status)], None)
    assert [s for s, _ in said] == ["information", "error", "error", "error"]
    assert said[1][1].startswith("XAU-USD canceled")
    assert app.last_action_result[0] == "open"
