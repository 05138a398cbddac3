"""A scripted Ostium chain that trades: the views an order reads, and contracts that answer the
trader's transactions with the deployed events (an orderId, a resting limit, a TP update), plus
a keeper that executes or cancels market orders one block later.

Not the devnet: no margin, no prices moving, no state beyond what one test scripts. It proves
the client's order path — what it signs, what it waits for, what it reports — event by event.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eth_abi import decode

from perpcli.venues.ostium import abi
from tests.anvil_node import DEV_ADDRESS
from tests.ostium_node import (
    CALLBACKS,
    PAIR_INFOS,
    PAIRS_STORAGE,
    TRADING,
    TRADING_STORAGE,
    ScriptedChain,
    event_log,
)

TRADER = DEV_ADDRESS
USDC = "0xaf88d065e77c8cc2239327c5edb3a432268e5831"
E18 = 10**18
EMPTY = (0, 0, 0, 0, "0x" + "00" * 20, 0, 0, 0, False, False)


def quote(base: str, bid: str, mid: str, ask: str, *, open_: bool = True) -> dict:
    return {"from": base, "to": "USD", "bid": Decimal(bid), "mid": Decimal(mid), "ask": Decimal(ask),
            "isMarketOpen": open_, "isDayTradingClosed": False, "timestampSeconds": 1773100000}


class TradingChain(ScriptedChain):
    """Pairs 0 (BTC-USD) and 5 (XAU-USD): 2x-100x, minimum position 1500 USD, threshold 25%."""

    def __init__(self, *, wallet: int = 10_000 * 10**6, allowance: int = 10**30) -> None:
        super().__init__()
        self.next_order_id = 41
        self.fill_price: dict[int, int] = {0: 100_010 * E18, 5: 2650_1 * E18 // 10}
        self.keeper_cancels: int | None = None  # a CancelReason the keeper answers with
        self.keeper_away = False
        self.trades: dict[tuple[int, int], tuple] = {}
        for pair in (0, 5):
            for fn, value in (("pairMinLeverage", 200), ("pairMaxLeverage", 10000), ("pairMinLevPos", 1500 * 10**6),
                              ("pairOvernightMaxLeverage", 0), ("pairOracleFee", 100_000)):
                self.expect(PAIRS_STORAGE, "pairs_storage", fn, (pair,), [value])
        self.expect(PAIRS_STORAGE, "pairs_storage", "pairsCount", (), [10])
        for pair in range(10):
            self.expect(TRADING_STORAGE, "trading_storage", "openTradesCount", (TRADER, pair), [0])
            self.expect(TRADING_STORAGE, "trading_storage", "openLimitOrdersCount", (TRADER, pair), [0])
        self.expect(PAIR_INFOS, "pairs_info", "liqMarginThresholdP", (), [25])
        self.expect(TRADING_STORAGE, "trading_storage", "maxTradesPerPair", (), [3])
        self.expect(TRADING_STORAGE, "trading_storage", "getPendingOrderIds", (TRADER,), [[]])
        self.expect(USDC, "usdc", "balanceOf", (TRADER,), [wallet])
        self.set_allowance(allowance)
        self.prices = [quote("BTC", "100000", "100005", "100010"), quote("XAU", "2650", "2650.05", "2650.1")]
        self.on_mined = self._contracts
        self.keeper = self._keep

    def set_allowance(self, raw: int) -> None:
        self.expect(USDC, "usdc", "allowance", (TRADER, TRADING_STORAGE), [raw])

    def opening_fee(self, pair: int, notional: int, leverage: int, buy: bool, dev: int, vault: int) -> None:
        self.expect(PAIR_INFOS, "pairs_info", "getOpeningFee", (pair, notional, leverage, notional if buy else -notional),
                    [dev, vault])

    def hold_trade(self, trade: tuple, liq: int) -> None:
        """The views of one open trade (what `perp positions` and the liquidation read)."""
        pair, index = trade[6], trade[7]
        self.trades[(pair, index)] = trade
        self.expect(TRADING_STORAGE, "trading_storage", "openTradesCount", (TRADER, pair), [1])
        for i in range(3):
            self.expect(TRADING_STORAGE, "trading_storage", "getOpenTrade", (TRADER, pair, i),
                        [trade if i == index else EMPTY])
        self.expect(TRADING_STORAGE, "trading_storage", "getOpenTradeInfo", (TRADER, pair, index),
                    [(77, 0, trade[5], 0, 0, 1773100000, False)])
        self.expect(PAIR_INFOS, "pairs_info", "getTradeLiquidationPrice",
                    (TRADER, pair, index, trade[1], trade[8], trade[0], trade[5], 10000), [liq])
        self.expect(PAIR_INFOS, "pairs_info", "getTradeRolloverFee", (TRADER, pair, index, trade[8], trade[0], trade[5]),
                    [0])
        self.expect(PAIR_INFOS, "pairs_info", "getTradeFundingFee", (TRADER, pair, index, trade[8], trade[0], trade[5]),
                    [0, 0])

    # ----- the contracts' side ------------------------------------------------------------------

    def _contracts(self, signed: Any) -> tuple[bool, list[dict]]:
        data = signed.tx.data
        selector, args = data[:4], data[4:]

        def fn(contract: str, name: str) -> Any:
            f = abi.function(contract, name)
            return f if f.selector == selector else None

        if (f := fn("usdc", "approve")) is not None:
            _spender, amount = decode(list(f.input_types), args)
            self.set_allowance(amount)
            return True, []
        if (f := fn("trading", "openTrade")) is not None:
            trade, _builder, kind, _slip = decode(list(f.input_types), args)
            if kind == 0:
                self.next_order_id += 1
                return True, [event_log("trading", "MarketOpenOrderInitiated", TRADING, orderId=self.next_order_id,
                                        trader=TRADER, pairIndex=trade[6])]
            return True, [event_log("trading", "OpenLimitPlaced", TRADING, trader=TRADER, pairIndex=trade[6], index=0)]
        if (f := fn("trading", "closeTradeMarket")) is not None:
            pair, index, pct, _price, _slip = decode(list(f.input_types), args)
            self.next_order_id += 1
            return True, [event_log("trading", "MarketCloseOrderInitiatedV2", TRADING, orderId=self.next_order_id,
                                    tradeId=77, trader=TRADER, pairIndex=pair, closePercentage=pct)]
        if (f := fn("trading", "updateTp")) is not None:
            pair, index, tp = decode(list(f.input_types), args)
            return True, [event_log("trading", "TpUpdated", TRADING, tradeId=77, trader=TRADER, pairIndex=pair,
                                    index=index, newTp=tp)]
        if (f := fn("trading", "removeCollateral")) is not None:
            pair, index, amount = decode(list(f.input_types), args)
            self.next_order_id += 1
            return True, [event_log("trading", "RemoveCollateralInitiated", TRADING, tradeId=77,
                                    orderId=self.next_order_id, trader=TRADER, pairIndex=pair, removeAmount=amount)]
        if (f := fn("trading", "cancelOpenLimitOrder")) is not None:
            pair, index = decode(list(f.input_types), args)
            return True, [event_log("trading", "OpenLimitCanceled", TRADING, trader=TRADER, pairIndex=pair, index=index)]
        return True, []

    def _keep(self, signed: Any, logs: list[dict]) -> list[dict] | None:
        if self.keeper_away:
            return None
        f = abi.function("trading", "openTrade")
        for log in logs:
            if log["topics"][0] == "0x" + _topic("trading", "MarketOpenOrderInitiated"):
                order_id = int(log["topics"][1], 16)
                trade, *_ = decode(list(f.input_types), signed.tx.data[4:])
                if self.keeper_cancels is not None:
                    return [event_log("callbacks", "MarketOpenCanceled", CALLBACKS, orderId=order_id, trader=TRADER,
                                      pairIndex=trade[6], cancelReason=self.keeper_cancels)]
                opened = (trade[0], self.fill_price[trade[6]], trade[2], trade[3], TRADER, trade[5], trade[6], 0,
                          trade[8], False)
                self.hold_trade(opened, liq=(self.fill_price[trade[6]] * 91) // 100)
                return [event_log("callbacks", "MarketOpenExecuted", CALLBACKS, orderId=order_id, t=opened,
                                  priceImpactP=0, tradeNotional=trade[0] * trade[5] // 100)]
            if log["topics"][0] == "0x" + _topic("trading", "MarketCloseOrderInitiatedV2"):
                order_id = int(log["topics"][1], 16)
                return [event_log("callbacks", "MarketCloseExecutedV2", CALLBACKS, orderId=order_id, tradeId=77,
                                  price=self.fill_price[0], priceImpactP=0, percentProfit=0,
                                  usdcSentToTrader=250 * 10**6, percentageClosed=5000)]
        return None


def _topic(contract: str, name: str) -> str:
    for topic, entry in abi.event_topics(contract).items():
        if entry["name"] == name:
            return topic.hex()
    raise KeyError(name)
