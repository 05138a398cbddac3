"""`perp buy/sell/close/tpsl/cancel` on Ostium against a scripted chain: what is signed, the
honest states (accepted -> filled / canceled, resting, unknown), exit codes and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from perpcli.venues.ostium import abi, quoting
from tests.anvil_node import DEV_KEY
from tests.ostium_node import serving
from tests.ostium_trading_node import E18, TRADER, TradingChain
from tests.support import invoke

TUESDAY_MS = int(datetime(2026, 3, 10, 15, tzinfo=UTC).timestamp() * 1000)
SATURDAY_MS = int(datetime(2026, 3, 14, 12, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def chain(perpcli_home, monkeypatch):
    node = TradingChain()
    with serving(node) as url:
        monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_URL", url)
        monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL", url + "/prices")
        monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_RECEIPT_TIMEOUT_S", "3")
        monkeypatch.setenv("PERPCLI_PRIVATE_KEY", DEV_KEY)
        at(monkeypatch, TUESDAY_MS)
        yield node


def at(monkeypatch, ms: int) -> None:
    """The clock the order path checks trading hours against (that module's only)."""
    monkeypatch.setattr(quoting, "time", SimpleNamespace(time_ns=lambda: ms * 1_000_000))


def perp(capsys, monkeypatch, *args):
    return invoke(["--venue", "ostium-devnet", "--yes", "--json", *args], capsys, monkeypatch=monkeypatch)


def sent_calls(node, name, contract="trading"):
    fn = abi.function(contract, name)
    return [s for s in node.sent if s.tx.data[:4] == fn.selector]


def test_market_open_with_tp_sl_is_accepted_then_executed_into_a_position(chain, capsys, monkeypatch):
    r = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "500", "--leverage", "10", "--market",
             "--tp", "2800", "--sl", "2500")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["status"], doc["order_id"], doc["trade_id"]) == ("filled", "42", "5:0")
    assert (D(doc["collateral"]), D(doc["leverage"]), D(doc["avg_price"])) == (D(500), D(10), D("2650.1"))
    assert D(doc["liquidation_price"]) == D("2411.591") and D(doc["tp"]) == D(2800) and D(doc["sl"]) == D(2500)
    [tx] = sent_calls(chain, "openTrade")
    trade, builder, kind, slippage = abi_args(tx)
    assert trade[:4] == (500 * 10**6, 26501 * E18 // 10, 2800 * E18, 2500 * E18) and trade[5] == 1000
    assert builder == ("0x" + "00" * 20, 0) and kind == 0 and slippage == 100  # 1% default; never a builder fee
    assert doc["tx_hash"] == tx.hash_hex and doc["nonce"] == 0 and doc["approved"] is None


def abi_args(signed):
    from eth_abi import decode

    fn = abi.function("trading", "openTrade")
    return decode(list(fn.input_types), signed.tx.data[4:])


def test_no_wait_returns_at_accepted_with_the_order_id(chain, capsys, monkeypatch):
    r = perp(capsys, monkeypatch, "sell", "BTC", "--usd", "5000", "--leverage", "5", "--market", "--no-wait")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["status"], doc["order_id"], doc["trade_id"]) == ("accepted", "42", None)
    trade, *_ = abi_args(sent_calls(chain, "openTrade")[0])
    assert trade[0] == 1000 * 10**6 and trade[8] is False  # 5000 USD at 5x: 1000 USDC collateral


def test_keeper_cancellation_is_reported_with_its_reason_and_exit_3(chain, capsys, monkeypatch):
    chain.keeper_cancels = 2  # MARKET_CLOSED
    r = perp(capsys, monkeypatch, "buy", "BTC", "--collateral", "200", "--leverage", "10", "--market")
    assert r.code == 3
    doc = json.loads(r.out)
    assert (doc["status"], doc["reason"], doc["error_kind"]) == ("canceled", "market closed", "market_closed")
    assert "refunded" in doc["error"]


def test_a_keeper_that_never_answers_leaves_the_order_accepted_exit_6(chain, capsys, monkeypatch):
    chain.keeper_away = True
    monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_RECEIPT_TIMEOUT_S", "0.3")
    r = perp(capsys, monkeypatch, "buy", "BTC", "--collateral", "200", "--leverage", "10", "--market")
    assert r.code == 6
    assert json.loads(r.out)["status"] == "accepted" and "has not settled order 42" in r.err


def test_base_size_is_converted_exactly_at_the_oracle_ask(chain, capsys, monkeypatch):
    r = perp(capsys, monkeypatch, "buy", "BTC", "0.05", "--leverage", "3", "--market")  # the plain form
    assert r.code == 0, r.err
    assert json.loads(r.out)["status"] == "filled"
    trade, *_ = abi_args(sent_calls(chain, "openTrade")[0])
    # 0.05 x 100010 = 5000.5 USD at 3x: 1666.833333 USDC, rounded down to the micro-USDC
    assert trade[0] == 1_666_833_333 and trade[1] == 100_010 * E18


def test_short_allowance_sends_an_exact_approval_first(chain, capsys, monkeypatch):
    chain.set_allowance(0)
    r = perp(capsys, monkeypatch, "buy", "BTC", "--collateral", "300", "--leverage", "10", "--market", "--no-wait")
    assert r.code == 0, r.err
    approve, open_ = chain.sent
    assert approve.tx.data[:4] == abi.function("usdc", "approve").selector and approve.tx.nonce == 0
    assert open_.tx.nonce == 1
    assert D(json.loads(r.out)["approved"]) == D("300.1")  # collateral + the pair's oracle fee
    assert "allowance is short" in r.err


def test_limit_order_rests_with_its_pair_and_index(chain, capsys, monkeypatch):
    r = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "500", "--leverage", "10", "--limit", "2600")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["status"], doc["order_id"], D(doc["price"])) == ("resting", "5:0", D(2600))
    trade, _b, kind, slippage = abi_args(sent_calls(chain, "openTrade")[0])
    assert kind == 1 and slippage == 0 and trade[1] == 2600 * E18


def test_stop_order_is_a_stop(chain, capsys, monkeypatch):
    r = perp(capsys, monkeypatch, "sell", "XAU", "--collateral", "500", "--leverage", "10", "--stop", "2600")
    assert r.code == 0, r.err
    assert abi_args(sent_calls(chain, "openTrade")[0])[2] == 2


@pytest.mark.parametrize(("args", "rule_words"), [
    (("--leverage", "150"), "outside this pair's 2x-100x"),
    (("--leverage", "2"), "below XAU-USD's minimum of 1500"),
])
def test_local_refusals_exit_2_before_any_transaction(chain, capsys, monkeypatch, args, rule_words):
    r = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "500", "--market", *args)
    assert r.code == 2 and rule_words in r.err
    assert chain.sent == []


def test_closed_market_is_refused_locally_naming_the_next_open(chain, capsys, monkeypatch):
    at(monkeypatch, SATURDAY_MS)
    r = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "500", "--leverage", "10", "--market")
    assert r.code == 2 and "closed" in r.err and "2026-03-15" in r.err
    assert chain.sent == []


def test_oracle_says_closed_is_refused_locally(chain, capsys, monkeypatch):
    chain.prices[1]["isMarketOpen"] = False
    r = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "500", "--leverage", "10", "--market")
    assert r.code == 2 and "closed now, says Ostium's oracle" in r.err and chain.sent == []


def test_a_revert_in_simulation_is_rejected_with_its_kind_and_nothing_sent(chain, capsys, monkeypatch):
    from tests.ostium_node import custom_error

    chain.estimate_revert = custom_error("WrongLeverage", 20000)
    r = perp(capsys, monkeypatch, "buy", "BTC", "--collateral", "500", "--leverage", "10", "--market")
    assert r.code == 3 and "WrongLeverage" in r.err
    doc = json.loads(r.out)
    assert (doc["status"], doc["error_kind"]) == ("rejected", "max_leverage") and chain.sent == []


def test_preview_shows_oracle_price_liquidation_fees_and_sends_nothing(chain, capsys, monkeypatch):
    chain.opening_fee(5, 5000 * 10**6, 1000, True, 2_000_000, 500_000)
    r = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "500", "--leverage", "10", "--market", "--preview")
    assert r.code == 0, r.err
    p = json.loads(r.out)
    assert (D(p["oracle_price"]), D(p["expected_price"]), D(p["worst_price"])) == (D("2650.05"), D("2650.1"),
                                                                                  D("2676.601"))
    assert (D(p["opening_fee"]), D(p["oracle_fee"]), D(p["collateral"]), D(p["notional"])) == (
        D("2.5"), D("0.1"), D(500), D(5000))
    # kept after the fee 497.5; threshold 1 - 25% x 10/100 = 0.975; size 5000/2650.1
    size = D(5000) / D("2650.1")
    assert D(p["liquidation_price"]) == (D("2650.1") - D("0.975") * D("497.5") / size).quantize(D("0.00001"))
    assert chain.sent == []


def test_close_a_share_at_market_then_the_keepers_payout(chain, capsys, monkeypatch):
    chain.hold_trade((500 * 10**6, 100_000 * E18, 0, 0, TRADER, 1000, 0, 0, True, False), 91_000 * E18)
    r = perp(capsys, monkeypatch, "close", "BTC", "--percent", "50")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["status"], doc["trade_id"], D(doc["usdc_to_trader"])) == ("filled", "0:0", D(250))
    [tx] = sent_calls(chain, "closeTradeMarket")
    fn = abi.function("trading", "closeTradeMarket")
    from eth_abi import decode

    pair, index, pct, price, slip = decode(list(fn.input_types), tx.tx.data[4:])
    assert (pair, index, pct, price, slip) == (0, 0, 5000, 100_005 * E18, 100)


def test_a_close_above_100_percent_is_refused_before_any_read(chain, capsys, monkeypatch):
    calls = len(chain.calls)
    r = perp(capsys, monkeypatch, "close", "BTC", "--percent", "150")
    assert r.code == 2 and r.err.strip() == "perp: error: --percent closes at most 100% of a trade, got '150'"
    assert chain.sent == [] and len(chain.calls) == calls  # nothing read from the chain, nothing sent


def test_tp_update_and_cancel_of_a_resting_order(chain, capsys, monkeypatch):
    chain.hold_trade((500 * 10**6, 2650 * E18, 0, 0, TRADER, 1000, 5, 0, True, False), 2400 * E18)
    r = perp(capsys, monkeypatch, "tpsl", "XAU", "--tp", "2900")
    assert r.code == 0, r.err
    assert [(x["type"], x["status"], D(x["tp"])) for x in json.loads(r.out)] == [("tp", "ok", D(2900))]
    r = perp(capsys, monkeypatch, "tpsl", "XAU", "--tp", "2000")
    assert r.code == 2 and "take-profit 2000 must be above" in r.err
    r = perp(capsys, monkeypatch, "cancel", "5:1", "--market", "XAU")
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["status"] == "canceled" and len(sent_calls(chain, "cancelOpenLimitOrder")) == 1


def test_book_venue_flags_do_not_apply_and_say_so(chain, capsys, monkeypatch):
    r = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "500", "--market", "--reduce-only")
    assert r.code == 2 and "--reduce-only does not apply" in r.err


def test_collateral_flag_on_a_book_venue_is_refused(perpcli_home, capsys, monkeypatch):
    r = invoke(["--venue", "hyperliquid", "--json", "buy", "BTC", "--collateral", "5", "--market"], capsys,
               monkeypatch=monkeypatch)
    assert r.code == 2 and "--collateral and --no-wait apply to venues" in r.err


def test_killed_after_broadcast_the_next_commands_settle_by_hash_and_send_nothing_twice(chain, capsys, monkeypatch):
    """The issue's done-when: `perp buy` killed between broadcast and receipt; `perp orders`
    shows the order as unknown (by hash), and once mined the next command reports it filled."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.support import REPO

    chain.hold = True
    monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_RECEIPT_TIMEOUT_S", "60")
    proc = subprocess.Popen([sys.executable, "-m", "perpcli", "--venue", "ostium-devnet", "--yes", "--json", "buy",
                             "BTC", "--collateral", "200", "--leverage", "10", "--market"], cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not chain.sent and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert chain.sent, proc.communicate(timeout=5)
        time.sleep(0.3)  # it is now waiting for the receipt
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    [first] = chain.sent

    r = perp(capsys, monkeypatch, "orders")
    assert r.code == 0, r.err
    [row] = json.loads(r.out)
    assert (row["status"], row["oid"], row["market"]) == ("unknown", first.hash_hex, "BTC-USD")

    chain.hold = False
    chain.mine()  # the node mines it, and the keeper executes it
    r = perp(capsys, monkeypatch, "buy", "BTC", "--collateral", "200", "--leverage", "10", "--market")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    [earlier] = doc["earlier"]
    assert (earlier["tx_hash"], earlier["status"], earlier["order_id"], earlier["trade_id"]) == (
        first.hash_hex, "filled", "42", "0:0")
    assert f"earlier transaction {first.hash_hex}" in r.err
    assert [s.hash_hex for s in chain.sent].count(first.hash_hex) == 1  # never broadcast again
    assert [s.tx.nonce for s in chain.sent] == [0, 1] and doc["order_id"] == "43"
    r = perp(capsys, monkeypatch, "orders")
    assert json.loads(r.out) == []


def test_portfolio_holds_ostium_trades_by_canonical_underlying(chain, capsys, monkeypatch):
    chain.hold_trade((500 * 10**6, 2650 * E18, 0, 0, TRADER, 1000, 5, 0, True, False), 2400 * E18)
    r = invoke(["--json", "portfolio", "--venues", "ostium-devnet"], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    [pos] = doc["positions"]
    assert (pos["market"], pos["underlying"], D(pos["liquidation_price"])) == ("XAU-USD", "XAU", D(2400))
    assert D(pos["units"]) == D(5000) / D(2650) and pos["funding_apr"] is None  # unknown, not a dropped venue
    [exposure] = doc["exposure"]
    assert exposure["underlying"] == "XAU" and D(exposure["net_notional"]) == D("5000.09")
    # the wallet holds the free USDC; each trade its own collateral: equity counts both
    assert (D(doc["totals"]["equity"]), D(doc["totals"]["margin_used"])) == (D("10500.09"), D(500))


def test_margin_add_is_a_top_up_and_remove_waits_for_the_keeper(chain, capsys, monkeypatch):
    chain.hold_trade((500 * 10**6, 2650 * E18, 0, 0, TRADER, 1000, 5, 0, True, False), 2400 * E18)
    r = perp(capsys, monkeypatch, "margin", "XAU", "add", "50")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["status"] == "ok" and doc["detail"]["tx_hash"] == chain.sent[-1].hash_hex
    fn = abi.function("trading", "topUpCollateral")
    assert chain.sent[-1].tx.data == fn.encode(5, 0, 50 * 10**6)
    r = perp(capsys, monkeypatch, "margin", "XAU", "remove", "600")
    assert r.code == 2 and "the trade holds 500" in r.err
    r = perp(capsys, monkeypatch, "margin", "XAU", "remove", "100")
    assert r.code == 0, r.err
    detail = json.loads(r.out)["detail"]
    assert detail["order_id"] == 42 and "keeper confirms" in detail["note"]


def test_dry_run_prints_the_calls_and_sends_nothing(chain, capsys, monkeypatch):
    chain.set_allowance(0)
    r = invoke(["--venue", "ostium-devnet", "--json", "--dry-run", "buy", "XAU", "--collateral", "500", "--leverage",
                "10", "--market"], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    approve, open_ = doc["requests"]
    assert (approve["function"], D(approve["amount"]), open_["function"]) == ("approve", D("500.1"), "openTrade")
    assert open_["data"].startswith("0x" + abi.function("trading", "openTrade").selector.hex())
    assert doc["order"]["status"] == "dry_run" and doc["preview"]["approval_needed"] is True
    assert chain.sent == []


def test_modify_moves_a_resting_orders_price_keeping_its_tp_sl(chain, capsys, monkeypatch):
    from tests.ostium_node import TRADING_STORAGE

    resting = (500 * 10**6, 2600 * E18, 2900 * E18, 0, TRADER, 1000, 1773000000, 1773000000, 5, 1, 0, True, False)
    chain.expect(TRADING_STORAGE, "trading_storage", "openLimitOrdersCount", (TRADER, 5), [1])
    chain.expect(TRADING_STORAGE, "trading_storage", "hasOpenLimitOrder", (TRADER, 5, 0), [True])
    chain.expect(TRADING_STORAGE, "trading_storage", "getOpenLimitOrder", (TRADER, 5, 0), [resting])
    r = perp(capsys, monkeypatch, "modify", "5:0", "--price", "2610.5")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["status"], doc["oid"], D(doc["price"])) == ("resting", "5:0", D("2610.5"))
    fn = abi.function("trading", "updateOpenLimitOrder")
    assert chain.sent[-1].tx.data == fn.encode(5, 0, 26105 * E18 // 10, 2900 * E18, 0)
    r = perp(capsys, monkeypatch, "modify", "5:0", "--size", "1")
    assert r.code == 2 and "cannot resize a resting order" in r.err


def test_flatten_cancels_resting_orders_and_closes_every_trade(chain, capsys, monkeypatch):
    from tests.ostium_node import TRADING_STORAGE

    chain.hold_trade((500 * 10**6, 2650 * E18, 0, 0, TRADER, 1000, 5, 0, True, False), 2400 * E18)
    resting = (500 * 10**6, 2600 * E18, 0, 0, TRADER, 1000, 1773000000, 1773000000, 5, 1, 1, True, False)
    chain.expect(TRADING_STORAGE, "trading_storage", "openLimitOrdersCount", (TRADER, 5), [1])
    chain.expect(TRADING_STORAGE, "trading_storage", "hasOpenLimitOrder", (TRADER, 5, 0), [False])
    chain.expect(TRADING_STORAGE, "trading_storage", "hasOpenLimitOrder", (TRADER, 5, 1), [True])
    chain.expect(TRADING_STORAGE, "trading_storage", "getOpenLimitOrder", (TRADER, 5, 1), [resting])
    r = perp(capsys, monkeypatch, "flatten")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert [(c["oid"], c["status"]) for c in doc["cancels"]] == [("5:1", "canceled")]
    assert [(c["trade_id"], c["status"], c["type"]) for c in doc["closes"]] == [("5:0", "filled", "close")]
    assert len(sent_calls(chain, "cancelOpenLimitOrder")) == 1 and len(sent_calls(chain, "closeTradeMarket")) == 1


def test_unmined_at_the_timeout_is_unknown_then_a_same_nonce_replacement_cancels_it(chain, capsys, monkeypatch):
    chain.hold = True
    monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_RECEIPT_TIMEOUT_S", "0.5")
    r = perp(capsys, monkeypatch, "buy", "BTC", "--collateral", "200", "--leverage", "10", "--market")
    [held] = chain.sent
    assert r.code == 6 and f"transaction {held.hash_hex} (nonce 0)" in r.err and "do not send the order again" in r.err
    assert json.loads(r.out)["status"] == "unknown"
    [row] = json.loads(perp(capsys, monkeypatch, "orders").out)
    assert (row["status"], row["oid"]) == ("unknown", held.hash_hex)

    chain.hold = False
    r = perp(capsys, monkeypatch, "cancel", held.hash_hex)
    assert r.code == 0, r.err
    _, replacement = chain.sent
    assert replacement.tx.nonce == 0 and replacement.tx.to == TRADER and replacement.tx.data == b""
    assert replacement.tx.max_fee_per_gas > held.tx.max_fee_per_gas
    assert chain.receipts.get(held.hash_hex) is None  # it can never execute now
    r = perp(capsys, monkeypatch, "buy", "BTC", "--collateral", "200", "--leverage", "10", "--market")
    assert r.code == 0, r.err
    earlier = json.loads(r.out)["earlier"]
    assert [(e["tx_hash"], e["status"], e["error_kind"]) for e in earlier] == [(held.hash_hex, "canceled", "nonce")]
    assert json.loads(r.out)["nonce"] == 1


def test_a_market_order_the_keeper_never_settles_is_reclaimed_after_its_timeout(chain, capsys, monkeypatch):
    from tests.ostium_node import TRADING_STORAGE, custom_error

    trade = (200 * 10**6, 0, 0, 0, TRADER, 1000, 0, 0, True, False)
    chain.expect(TRADING_STORAGE, "trading_storage", "getPendingOrderIds", (TRADER,), [[42]])
    chain.expect(TRADING_STORAGE, "trading_storage", "reqID_pendingMarketOrder", (42,),
                 [101, 100_010 * E18, 100, trade, 0])
    [row] = json.loads(perp(capsys, monkeypatch, "orders").out)
    assert (row["oid"], row["status"], row["market"], row["side"]) == ("42", "pending", "BTC-USD", "buy")
    account = json.loads(perp(capsys, monkeypatch, "account").out)  # the pending open holds 200 USDC
    assert (D(account["margin_used"]), D(account["equity"])) == (D(200), D(10200))
    chain.estimate_revert = custom_error("WaitTimeout", *[0] * len(_error_inputs("WaitTimeout")))
    r = perp(capsys, monkeypatch, "cancel", "42")
    assert r.code == 3 and "timeout has not passed" in r.err and chain.sent == []
    chain.estimate_revert = None
    r = perp(capsys, monkeypatch, "cancel", "42")
    assert r.code == 0, r.err
    assert chain.sent[-1].tx.data == abi.function("trading", "openTradeMarketTimeout").encode(42)


def _error_inputs(name):
    return next(e.input_types for e in abi.errors_by_selector().values() if e.name == name)


def test_each_trade_is_its_own_position_with_the_id_close_takes(chain, capsys, monkeypatch):
    chain.hold_trade((500 * 10**6, 2650 * E18, 0, 0, TRADER, 1000, 5, 1, True, False), 2400 * E18)
    [pos] = json.loads(perp(capsys, monkeypatch, "positions").out)
    assert (pos["market"], pos["position_id"], pos["margin_mode"]) == ("XAU-USD", "5:1", "isolated")
    r = invoke(["--venue", "ostium-devnet", "positions"], capsys, monkeypatch=monkeypatch)
    assert "position_id" in r.out.splitlines()[0] and "5:1" in r.out


def test_a_watched_address_previews_but_cannot_send(chain, capsys, monkeypatch):
    monkeypatch.delenv("PERPCLI_PRIVATE_KEY")
    args = ["--venue", "ostium-devnet", "--address", TRADER, "--json", "buy", "BTC", "--collateral", "200",
            "--leverage", "10", "--market"]
    r = invoke([*args, "--preview"], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    assert D(json.loads(r.out)["collateral"]) == D(200)
    r = invoke(["--yes", *args], capsys, monkeypatch=monkeypatch)
    assert r.code == 4 and chain.sent == []
