"""The Ostium devnet on a real EVM node: orders sent with perpcli's own transaction code are
settled by the devnet's keeper into positions perpcli reads back; limits rest then trigger; TP,
SL and liquidation fire from the synthetic prices; a closed market cancels with a reason; a
wrong leverage reverts with the deployed custom error; funding (explicit and on first sight);
USDC on chain equals what the adapter reports. One devnet (one anvil) for the whole module."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal as D

import pytest

from perpcli.domain.errors import ErrorKind, VenueRejected
from perpcli.keys.signer import Signer
from perpcli.venues import registry
from perpcli.venues.ostium import adapter, calls, events, settlement
from perpcli.venues.ostium.calls import OpenTrade, OrderType
from perpcli.venues.ostium.chain import FeePolicy
from perpcli.venues.ostium.networks import DEVNET
from perpcli.venues.ostium.nonces import EvmNonceAllocator
from perpcli.venues.ostium.prices import parse_latest_prices
from tests.ostium_devnet import control, ostium_devnet_fixture, skip_without_anvil

skip_without_anvil()

ostium = ostium_devnet_fixture()
XAU, XAG, CL, EURUSD, GBPUSD = 5, 8, 7, 2, 3


class Trader:
    """One funded key driving the devnet through perpcli's adapter and chain code."""

    def __init__(self, session, tmp_path, fund: str | None = "10000") -> None:
        key, self.address = session.new_key(fund)
        self.signer = Signer.from_hex(key)
        conf = adapter.OstiumSettings(fees=FeePolicy(max_fee_gwei=D(1)), receipt_timeout_s=15,
                                      price_url=session.prices_url, request_timeout_s=5)
        self.market = registry.open_venue(registry.get_entry("ostium-devnet").config(url=session.rpc_url, ostium=conf))
        self.chain = self.market.chain
        self.chain.poll_s = 0.02
        self.reads = self.market.reads
        self.nonces = EvmNonceAllocator(DEVNET.chain_id, self.address, directory=tmp_path)
        self.trading = self.market.trading(self.signer)

    def send(self, to: str, data: bytes):
        return self.chain.send_and_wait(self.chain.prepare(self.signer, to, data, self.nonces), nonces=self.nonces)

    def approve(self, amount: D = D(1_000_000)) -> None:
        self.send(DEVNET.usdc, calls.approve(DEVNET.trading_storage, amount))

    def open(self, **kw) -> int:
        """openTrade; the orderId (market) from the receipt, or the block for a limit order."""
        order = OpenTrade(trader=self.address, **kw)
        done = self.send(DEVNET.trading, calls.open_trade(order))
        self.last_block = done.receipt.block_number
        return events.initiated_order_id(done.receipt.logs) or 0

    def outcome(self, order_id: int, timeout_s: float = 10) -> events.OrderOutcome | None:
        return settlement.await_outcome(self.chain, self.reads.contract("callbacks"), order_id, self.last_block,
                                        timeout_s, poll_s=0.02)

    def settled_events(self, name: str) -> list[events.Event]:
        logs = self.chain.logs(self.reads.contract("callbacks"), [events.event_topic(name)], 0)
        return events.decode_logs(logs)


def market_order(pair: int, price: str, **kw) -> dict:
    return dict(pair_index=pair, buy=kw.pop("buy", True), collateral=kw.pop("collateral", D(100)),
                leverage=kw.pop("leverage", D(10)), order_type=OrderType.MARKET, price=D(price),
                slippage_pct=kw.pop("slippage_pct", D(1)), **kw)


def test_a_market_open_is_settled_into_a_position_with_a_liquidation_price(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    me.approve()
    ostium.set_price("XAU", "2650")
    order_id = me.open(**market_order(XAU, "2650", tp=D(2800), sl=D(2500)))
    assert order_id > 0  # accepted, with its orderId
    outcome = me.outcome(order_id)
    assert outcome is not None and outcome.executed and outcome.event == "MarketOpenExecuted"
    assert outcome.trade.open_price == D("2650.1325")  # the ask: mid 2650, 1 bp spread
    (position,) = me.trading.positions().positions
    assert position.symbol == "XAU-USD" and position.size > 0
    assert position.liquidation_price == D("2391.74458125")  # 97.5% of 100 USDC lost at 10x of a 100x pair
    assert position.isolated_margin == D(100)
    assert me.reads.usdc_balance(me.address) == D(9900)

    # A partial close: half the collateral comes back with its PnL at the bid.
    ostium.set_price("XAU", "2700")
    done = me.send(DEVNET.trading, calls.close_trade_market(XAU, 0, D(50), D(2700), D(1)))
    close_id = events.initiated_order_id(done.receipt.logs)
    me.last_block = done.receipt.block_number
    closed = me.outcome(close_id)
    assert closed.executed and closed.event == "MarketCloseExecutedV2" and closed.percent_closed == D(50)
    assert closed.price == D("2699.865")
    (trade,) = me.reads.open_trades(me.address, [XAU])
    assert trade.trade.collateral == D(50)
    profit = D(50) * (D("2699.865") - D("2650.1325")) * 10 / D("2650.1325")
    assert closed.usdc_to_trader == (D(50) + profit).quantize(D("0.000001"), rounding="ROUND_DOWN")


def test_a_limit_order_rests_then_the_keeper_triggers_it(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    me.approve()
    ostium.set_price("XAG", "31.2")
    me.open(pair_index=XAG, buy=True, collateral=D(200), leverage=D(5), order_type=OrderType.LIMIT, price=D("30.5"))
    (order,) = me.trading.open_orders()
    assert (order.symbol, order.price, order.oid) == ("XAG-USD", D("30.5"), f"{XAG}:0")
    assert me.reads.open_trades(me.address, [XAG]) == []  # resting, not a trade
    ostium.set_price("XAG", "30.4")
    ostium.wait_until(lambda: me.reads.open_trades(me.address, [XAG]), what="the limit trigger")
    assert me.trading.open_orders() == []
    (trade,) = me.reads.open_trades(me.address, [XAG])
    assert trade.trade.open_price <= D("30.5") and trade.trade.collateral == D(200)
    executed = [e for e in me.settled_events("LimitOpenExecuted") if e.args["t"][4].lower() == me.address]
    assert len(executed) == 1


def test_the_keeper_takes_profit_at_the_tp(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    me.approve()
    ostium.set_price("EURUSD", "1.085")
    me.outcome(me.open(**market_order(EURUSD, "1.085", tp=D("1.095"), leverage=D(20))))
    (trade,) = me.reads.open_trades(me.address, [EURUSD])
    before = me.reads.usdc_balance(me.address)
    ostium.set_price("EURUSD", "1.1")
    ostium.wait_until(lambda: not me.reads.open_trades(me.address, [EURUSD]), what="the TP trigger")
    (tp,) = [e for e in me.settled_events("LimitCloseExecuted") if e.args["tradeId"] == trade.trade_id]
    assert tp.args["orderType"] == 0 and tp.args["price"] == 1095 * 10**15  # a TP, filled at the TP price
    assert me.reads.usdc_balance(me.address) > before + D(100)


def test_the_keeper_stops_out_a_short_and_fills_a_stop_order(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    me.approve()
    ostium.set_price("GBPUSD", "1.27")
    me.outcome(me.open(**market_order(GBPUSD, "1.27", buy=False, sl=D("1.28"), leverage=D(20))))
    (trade,) = me.reads.open_trades(me.address, [GBPUSD])
    me.open(pair_index=GBPUSD, buy=True, collateral=D(100), leverage=D(10), order_type=OrderType.STOP, price=D("1.29"))
    ostium.set_price("GBPUSD", "1.285")  # through the short's SL, below the buy stop
    ostium.wait_until(lambda: not any(t.trade_id == trade.trade_id
                                      for t in me.reads.open_trades(me.address, [GBPUSD])), what="the SL trigger")
    (sl,) = [e for e in me.settled_events("LimitCloseExecuted") if e.args["tradeId"] == trade.trade_id]
    assert sl.args["orderType"] == 1 and sl.args["price"] == 128 * 10**16  # an SL, filled at the SL price
    assert len(me.trading.open_orders()) == 1  # the stop still rests
    ostium.set_price("GBPUSD", "1.295")
    ostium.wait_until(lambda: me.reads.open_trades(me.address, [GBPUSD]), what="the stop trigger")
    (opened,) = me.reads.open_trades(me.address, [GBPUSD])
    assert opened.trade.buy and opened.trade.open_price >= D("1.29") and me.trading.open_orders() == []


def test_a_stuck_order_is_reclaimed_after_the_timeout(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    me.approve()
    ostium.pause_keeper()
    try:
        order_id = me.open(**market_order(XAU, "2650"))
        assert me.outcome(order_id, timeout_s=0.5) is None  # still accepted: nobody answered
        with pytest.raises(VenueRejected) as early:
            me.send(DEVNET.trading, calls.open_trade_market_timeout(order_id))
        assert f"WaitTimeout({order_id})" in str(early.value) and early.value.error_kind is ErrorKind.INVALID_REQUEST
        ostium.mine(30)
        done = me.send(DEVNET.trading, calls.open_trade_market_timeout(order_id))
    finally:
        ostium.pause_keeper(False)
    assert [e.name for e in events.decode_logs(done.receipt.logs) if e.name.startswith("MarketOpenTimeout")] == [
        "MarketOpenTimeoutExecutedV2"]
    assert me.reads.usdc_balance(me.address) == D(10000)  # the collateral came back
    assert me.reads.open_trades(me.address, [XAU]) == []


def test_the_keeper_liquidates_past_the_liquidation_price(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    me.approve()
    ostium.set_price("CL", "71.5")
    me.outcome(me.open(**market_order(CL, "71.5", buy=False, leverage=D(50))))
    (trade,) = me.reads.open_trades(me.address, [CL])
    assert trade.liquidation_price > D("71.5")  # a short is liquidated above
    ostium.set_price("CL", str(trade.liquidation_price + 1))
    ostium.wait_until(lambda: not me.reads.open_trades(me.address, [CL]), what="the liquidation")
    assert me.reads.usdc_balance(me.address) == D(9900)  # nothing comes back
    (liquidation,) = [e for e in me.settled_events("LimitCloseExecuted") if e.args["tradeId"] == trade.trade_id]
    assert liquidation.args["orderType"] == 2 and liquidation.args["usdcSentToTrader"] == 0


def test_an_order_on_a_closed_market_is_cancelled_by_the_keeper_with_the_reason(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    me.approve()
    ostium.set_open("XAG", False)
    try:
        outcome = me.outcome(me.open(**market_order(XAG, "31.2")))
    finally:
        ostium.set_open("XAG", None)
    assert outcome is not None and not outcome.executed
    assert outcome.cancel_reason is events.CancelReason.MARKET_CLOSED
    assert outcome.cancel_reason.kind is ErrorKind.MARKET_CLOSED
    assert me.reads.usdc_balance(me.address) == D(10000)  # the collateral is refunded


def test_a_wrong_leverage_reverts_with_the_deployed_custom_error(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    me.approve()
    with pytest.raises(VenueRejected) as refused:
        me.open(**market_order(XAU, "2650", leverage=D(500)))
    assert refused.value.error_kind is ErrorKind.MAX_LEVERAGE
    assert "WrongLeverage(50000)" in str(refused.value)
    with pytest.raises(VenueRejected) as refused:
        me.open(**market_order(XAU, "2650", tp=D(2600)))  # a long's TP below the price
    assert refused.value.error_kind is ErrorKind.INVALID_TRIGGER and "WrongTP" in str(refused.value)


def test_without_an_allowance_the_usdc_pull_fails_with_the_tokens_reason(ostium, tmp_path):
    me = Trader(ostium, tmp_path)
    with pytest.raises(VenueRejected) as refused:
        me.open(**market_order(XAU, "2650"))
    assert refused.value.error_kind is ErrorKind.INSUFFICIENT_MARGIN and "exceeds allowance" in str(refused.value)


def rpc(url: str, method: str, params: list) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def usdc_by_plain_eth_call(url: str, who: str) -> D:
    data = "0x70a08231" + who[2:].rjust(64, "0")
    raw = rpc(url, "eth_call", [{"to": DEVNET.usdc, "data": data}, "latest"])["result"]
    return D(int(raw, 16)) / D(10**6)


def test_an_address_never_seen_is_funded_when_its_own_state_is_first_read(ostium, tmp_path):
    _key, fresh = ostium.new_key(fund=None)
    # Its gas balance is the first thing read: it is funded before the answer.
    assert int(rpc(ostium.rpc_url, "eth_getBalance", [fresh, "latest"])["result"], 16) == 10 * 10**18
    assert usdc_by_plain_eth_call(ostium.rpc_url, fresh) == D(100_000)
    assert usdc_by_plain_eth_call(ostium.rpc_url, fresh) == D(100_000)  # once only
    _key, other = ostium.new_key(fund=None)
    assert usdc_by_plain_eth_call(ostium.rpc_url, other) == D(100_000)  # balanceOf(it) counts as its state


def test_fund_credits_usdc_and_gas_on_the_local_chain(ostium):
    _key, who = ostium.new_key(fund=None)
    answer = control(ostium.rpc_url, "fund", {"user": who, "amount": "1234.5"})
    assert D(answer["usdc"]) == D("1234.5") and D(answer["eth"]) == 1  # funded explicitly: no first-sight grant
    assert usdc_by_plain_eth_call(ostium.rpc_url, who) == D("1234.5")
    control(ostium.rpc_url, "fund", {"user": who, "amount": "0.5"})
    assert usdc_by_plain_eth_call(ostium.rpc_url, who) == D("1235")


def test_usdc_on_chain_equals_the_adapters_account_to_the_cent(ostium, tmp_path):
    me = Trader(ostium, tmp_path, fund="2500.37")
    me.approve()
    ostium.set_price("XAU", "2650")
    me.outcome(me.open(**market_order(XAU, "2650", collateral=D("123.45"))))
    snapshot = me.trading.account()
    on_chain = usdc_by_plain_eth_call(ostium.rpc_url, me.address)
    assert on_chain == D("2376.92")
    assert snapshot.balances[0].total == on_chain and snapshot.withdrawable == on_chain
    assert snapshot.margin_used == D("123.45")


def test_the_proxy_serves_only_the_standard_methods_and_the_price_feed(ostium):
    answer = rpc(ostium.rpc_url, "eth_sendTransaction", [{"from": "0x" + "00" * 19 + "01", "to": DEVNET.trading}])
    assert "does not serve" in answer["error"]["message"]
    assert "does not serve" in rpc(ostium.rpc_url, "anvil_setBalance", ["0x" + "11" * 20, "0x1"])["error"]["message"]
    with urllib.request.urlopen(ostium.prices_url, timeout=10) as r:
        quotes = parse_latest_prices(r.read())
    for symbol in ("XAU-USD", "XAG-USD", "CL-USD", "EUR-USD", "GBP-USD", "SPX-USD", "NDX-USD", "TSLA-USD", "NVDA-USD"):
        q = quotes[symbol]
        assert q.bid < q.mid < q.ask and q.market_open  # hours "always" in tests
    req = urllib.request.Request(f"{ostium.rpc_url}/devnet/fund", data=b"{}",
                                 headers={"Content-Type": "application/json", "Origin": "http://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=10)
    assert refused.value.code == 403


def test_markets_follow_their_trading_hours():
    from perpcli.devnet.ostium.prices import SyntheticPrices

    saturday_noon_utc = 1_797_076_800.0  # 2026-12-12 12:00 UTC, a Saturday
    prices = SyntheticPrices(walk=False, clock=lambda: saturday_noon_utc)
    assert not prices.quote(XAU).market_open and not prices.quote(22).market_open
    assert prices.quote(0).market_open  # BTC trades around the clock
    wednesday_3pm_new_york = 1_796_846_400.0  # 2026-12-09 20:00 UTC
    assert SyntheticPrices(walk=False, clock=lambda: wednesday_3pm_new_york).quote(22).market_open
