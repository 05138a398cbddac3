// SPDX-License-Identifier: MIT
// perpcli's Ostium devnet: Callbacks, where the keeper answers an order with a price and
// exactly one settlement event whose first topic is the orderId is emitted (executed, or
// cancelled with a reason), with the deployed selectors and events.
pragma solidity ^0.8.24;

import "./OstiumTypes.sol";
import "./TradingStorage.sol";

contract OstiumCallbacks {
    address public gov;
    address public registry;
    address public keeper;
    OstiumTradingStorage internal store;

    error NotGov(address a);
    error NotPriceUpKeep(address a);
    error WrongParams();

    event MarketOpenExecuted(uint256 indexed orderId, Trade t, uint256 priceImpactP, uint256 tradeNotional);
    event MarketOpenCanceled(uint256 indexed orderId, address indexed trader, uint256 indexed pairIndex,
                             uint8 cancelReason);
    event MarketCloseExecutedV2(uint256 indexed orderId, uint256 indexed tradeId, uint256 price, uint256 priceImpactP,
                                int256 percentProfit, uint256 usdcSentToTrader, uint256 percentageClosed);
    event MarketCloseCanceled(uint256 indexed orderId, uint256 indexed tradeId, address indexed trader,
                              uint256 pairIndex, uint256 index, uint8 cancelReason);
    event LimitOpenExecuted(uint256 indexed orderId, uint256 limitIndex, Trade t, uint256 priceImpactP,
                            uint256 tradeNotional);
    event LimitCloseExecuted(uint256 indexed orderId, uint256 indexed tradeId, uint8 orderType, uint256 price,
                             uint256 priceImpactP, int256 percentProfit, uint256 usdcSentToTrader);
    event AutomationOpenOrderCanceled(uint256 indexed orderId, address indexed trader, uint256 indexed pairIndex,
                                      uint8 cancelReason);
    event AutomationCloseOrderCanceled(uint256 indexed orderId, uint256 indexed tradeId, address indexed trader,
                                       uint256 pairIndex, uint8 orderType, uint8 cancelReason);
    event RemoveCollateralExecuted(uint256 indexed orderId, uint256 indexed tradeId, address indexed trader,
                                   uint16 pairIndex, uint256 removeAmount, uint32 leverage, uint192 tp, uint192 sl);
    event RemoveCollateralRejected(uint256 indexed orderId, uint256 indexed tradeId, address indexed trader,
                                   uint16 pairIndex, uint256 removeAmount, uint8 reason);

    function initialize(address registry_, address storage_, address keeper_) external {
        if (gov != address(0) && msg.sender != gov) revert NotGov(msg.sender);
        gov = msg.sender;
        registry = registry_;
        store = OstiumTradingStorage(storage_);
        keeper = keeper_;
    }

    modifier onlyKeeper() {
        if (msg.sender != keeper) revert NotPriceUpKeep(msg.sender);
        _;
    }

    function isPaused() external view returns (bool) {
        return store.isPaused();
    }

    function _prices(PriceUpKeepAnswer calldata a) internal pure returns (uint256 bid, uint256 ask) {
        if (a.price <= 0) return (0, 0); // a closed market: the order is cancelled
        if (a.bid <= 0 || a.ask < a.bid) revert WrongParams();
        return (uint256(int256(a.bid)), uint256(int256(a.ask)));
    }

    function openTradeMarketCallback(PriceUpKeepAnswer calldata a) external onlyKeeper {
        (uint256 bid, uint256 ask) = _prices(a);
        OpenResult memory r = store.settleMarketOpen(a.orderId, bid, ask);
        if (r.executed) {
            emit MarketOpenExecuted(a.orderId, r.trade, 0, r.tradeNotional);
        } else {
            emit MarketOpenCanceled(a.orderId, r.trade.trader, r.trade.pairIndex, r.cancelReason);
        }
    }

    function closeTradeMarketCallback(PriceUpKeepAnswer calldata a) external onlyKeeper {
        (uint256 bid, uint256 ask) = _prices(a);
        CloseResult memory r = store.settleMarketClose(a.orderId, bid, ask);
        if (r.executed) {
            emit MarketCloseExecutedV2(a.orderId, r.tradeId, r.price, 0, r.percentProfit, r.usdcSentToTrader,
                                       r.percentage);
        } else {
            emit MarketCloseCanceled(a.orderId, r.tradeId, r.trader, r.pairIndex, r.index, r.cancelReason);
        }
    }

    function executeAutomationOpenOrderCallback(PriceUpKeepAnswer calldata a) external onlyKeeper {
        (uint256 bid, uint256 ask) = _prices(a);
        OpenResult memory r = store.settleAutomationOpen(a.orderId, bid, ask);
        if (r.executed) {
            emit LimitOpenExecuted(a.orderId, r.limitIndex, r.trade, 0, r.tradeNotional);
        } else {
            emit AutomationOpenOrderCanceled(a.orderId, r.trade.trader, r.trade.pairIndex, r.cancelReason);
        }
    }

    function executeAutomationCloseOrderCallback(PriceUpKeepAnswer calldata a) external onlyKeeper {
        (uint256 bid, uint256 ask) = _prices(a);
        CloseResult memory r = store.settleAutomationClose(a.orderId, bid, ask);
        if (r.executed) {
            emit LimitCloseExecuted(a.orderId, r.tradeId, r.orderType, r.price, 0, r.percentProfit, r.usdcSentToTrader);
        } else {
            emit AutomationCloseOrderCanceled(a.orderId, r.tradeId, r.trader, r.pairIndex, r.orderType, r.cancelReason);
        }
    }

    function handleRemoveCollateral(PriceUpKeepAnswer calldata a) external onlyKeeper {
        (uint256 bid, uint256 ask) = _prices(a);
        RemoveResult memory r = store.settleRemoveCollateral(a.orderId, bid, ask);
        if (r.executed) {
            emit RemoveCollateralExecuted(a.orderId, r.tradeId, r.trader, r.pairIndex, r.removeAmount, r.leverage, r.tp,
                                          r.sl);
        } else {
            emit RemoveCollateralRejected(a.orderId, r.tradeId, r.trader, r.pairIndex, r.removeAmount, r.reason);
        }
    }
}
