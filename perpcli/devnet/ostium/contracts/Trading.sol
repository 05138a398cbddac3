// SPDX-License-Identifier: MIT
// perpcli's Ostium devnet: Trading, the contract a trader (or their delegate) sends to, with
// the deployed selectors and events. The rules and the state live in TradingStorage; a refusal
// there reaches the trader as the same custom error the deployed contract raises.
pragma solidity ^0.8.24;

import "./OstiumTypes.sol";
import "./TradingStorage.sol";

contract OstiumTrading is TradingErrors {
    address public gov;
    address public registry;
    address public keeper;
    OstiumTradingStorage internal store;
    uint16 public marketOrdersTimeout; // blocks
    uint16 public triggerTimeout;
    mapping(address => address) public delegations;
    address internal acting; // the trader a delegate acts for, during delegatedAction

    event MarketOpenOrderInitiated(uint256 indexed orderId, address indexed trader, uint16 indexed pairIndex);
    event MarketCloseOrderInitiatedV2(uint256 indexed orderId, uint256 indexed tradeId, address indexed trader,
                                      uint16 pairIndex, uint16 closePercentage);
    event OpenLimitPlacedV2(address indexed trader, uint16 indexed pairIndex, uint8 index, Trade trade, uint8 orderType,
                            BuilderFee builderFee);
    event OpenLimitUpdated(address indexed trader, uint16 indexed pairIndex, uint8 index, uint192 newPrice,
                           uint192 newTp, uint192 newSl);
    event OpenLimitCanceled(address indexed trader, uint16 indexed pairIndex, uint8 index);
    event TpUpdated(uint256 indexed tradeId, address indexed trader, uint16 indexed pairIndex, uint8 index, uint192 newTp);
    event SlUpdated(uint256 indexed tradeId, address indexed trader, uint16 indexed pairIndex, uint8 index, uint192 newSl);
    event TopUpCollateralExecuted(uint256 indexed tradeId, address indexed trader, uint16 indexed pairIndex,
                                  uint256 topUpAmount, uint32 newLeverage);
    event RemoveCollateralInitiated(uint256 indexed tradeId, uint256 indexed orderId, address indexed trader,
                                    uint16 pairIndex, uint256 removeAmount);
    event MarketOpenTimeoutExecutedV2(uint256 indexed orderId, PendingMarketOrder order);
    event MarketCloseTimeoutExecutedV2(uint256 indexed orderId, uint256 indexed tradeId, PendingMarketOrder order);
    event AutomationOpenOrderInitiated(uint256 indexed orderId, address indexed trader, uint16 indexed pairIndex,
                                       uint8 index);
    event AutomationCloseOrderInitiated(uint256 indexed orderId, uint256 indexed tradeId, address indexed trader,
                                        uint16 pairIndex, uint8);
    event DelegateAdded(address indexed delegator, address indexed delegate);
    event DelegateRemoved(address indexed delegator, address indexed delegate);

    function initialize(address registry_, address storage_, address keeper_, uint16 marketOrdersTimeout_) external {
        if (gov != address(0) && msg.sender != gov) revert NotGov(msg.sender);
        gov = msg.sender;
        registry = registry_;
        store = OstiumTradingStorage(storage_);
        keeper = keeper_;
        marketOrdersTimeout = marketOrdersTimeout_;
        triggerTimeout = marketOrdersTimeout_;
    }

    function _msgSender() public view returns (address) {
        return acting != address(0) && msg.sender == address(this) ? acting : msg.sender;
    }

    function isPaused() external view returns (bool) {
        return store.isPaused();
    }

    function maxAllowedCollateral() external view returns (uint256) {
        return store.maxAllowedCollateral();
    }

    // ----- the trader's calls ---------------------------------------------------------------------

    function openTrade(Trade calldata t, BuilderFee calldata bf, uint8 orderType, uint256 slippageP) external {
        address sender = _msgSender();
        (uint256 orderId, uint8 limitIndex) = store.openTrade(sender, t, orderType, orderType == 0 ? slippageP : 0);
        if (orderType == 0) {
            emit MarketOpenOrderInitiated(orderId, sender, t.pairIndex);
        } else {
            Trade memory placed = t;
            placed.index = limitIndex;
            emit OpenLimitPlacedV2(sender, t.pairIndex, limitIndex, placed, orderType, bf);
        }
    }

    function closeTradeMarket(uint16 pairIndex, uint8 index, uint16 closePercentage, uint192 marketPrice,
                              uint32 slippageP) external {
        address sender = _msgSender();
        (uint256 orderId, uint256 tradeId) = store.closeTradeMarket(sender, pairIndex, index, closePercentage,
                                                                     marketPrice, slippageP);
        emit MarketCloseOrderInitiatedV2(orderId, tradeId, sender, pairIndex, closePercentage);
    }

    function updateTp(uint16 pairIndex, uint8 index, uint192 newTp) external {
        address sender = _msgSender();
        uint256 tradeId = store.updateTp(sender, pairIndex, index, newTp);
        emit TpUpdated(tradeId, sender, pairIndex, index, newTp);
    }

    function updateSl(uint16 pairIndex, uint8 index, uint192 newSl) external {
        address sender = _msgSender();
        uint256 tradeId = store.updateSl(sender, pairIndex, index, newSl);
        emit SlUpdated(tradeId, sender, pairIndex, index, newSl);
    }

    function topUpCollateral(uint16 pairIndex, uint8 index, uint256 topUpAmount) external {
        address sender = _msgSender();
        (uint256 tradeId, uint32 newLeverage) = store.topUpCollateral(sender, pairIndex, index, topUpAmount);
        emit TopUpCollateralExecuted(tradeId, sender, pairIndex, topUpAmount, newLeverage);
    }

    function removeCollateral(uint16 pairIndex, uint8 index, uint256 removeAmount) external {
        address sender = _msgSender();
        (uint256 tradeId, uint256 orderId) = store.removeCollateral(sender, pairIndex, index, removeAmount);
        emit RemoveCollateralInitiated(tradeId, orderId, sender, pairIndex, removeAmount);
    }

    function updateOpenLimitOrder(uint16 pairIndex, uint8 index, uint192 price, uint192 tp, uint192 sl) external {
        address sender = _msgSender();
        store.updateOpenLimitOrder(sender, pairIndex, index, price, tp, sl);
        emit OpenLimitUpdated(sender, pairIndex, index, price, tp, sl);
    }

    function cancelOpenLimitOrder(uint16 pairIndex, uint8 index) external {
        address sender = _msgSender();
        store.cancelOpenLimitOrder(sender, pairIndex, index);
        emit OpenLimitCanceled(sender, pairIndex, index);
    }

    function openTradeMarketTimeout(uint256 _order) external {
        PendingMarketOrder memory o = store.openTradeMarketTimeout(_msgSender(), _order, marketOrdersTimeout);
        emit MarketOpenTimeoutExecutedV2(_order, o);
    }

    function closeTradeMarketTimeout(uint256 _order, bool retry) external {
        address sender = _msgSender();
        (PendingMarketOrder memory o, uint256 tradeId, uint256 newOrderId) =
            store.closeTradeMarketTimeout(sender, _order, retry, marketOrdersTimeout);
        if (retry) {
            emit MarketCloseOrderInitiatedV2(newOrderId, tradeId, sender, o.trade.pairIndex, o.percentage);
        } else {
            emit MarketCloseTimeoutExecutedV2(_order, tradeId, o);
        }
    }

    // ----- delegation -------------------------------------------------------------------------------

    function setDelegate(address delegate) external {
        if (delegate == address(0)) revert NullAddr();
        address sender = _msgSender();
        delegations[sender] = delegate;
        emit DelegateAdded(sender, delegate);
    }

    function removeDelegate() external {
        address sender = _msgSender();
        address delegate = delegations[sender];
        if (delegate == address(0)) revert NoDelegate(sender);
        delete delegations[sender];
        emit DelegateRemoved(sender, delegate);
    }

    /// The delegate acts as `trader`: the inner call runs with _msgSender() == trader; any
    /// failure inside is DelegatedActionFailed (as deployed).
    function delegatedAction(address trader, bytes calldata call_data) external returns (bytes memory) {
        if (delegations[trader] != msg.sender) revert NotDelegate(trader, msg.sender);
        if (acting != address(0)) revert DelegateReentrant();
        acting = trader;
        (bool ok, bytes memory result) = address(this).call(call_data);
        acting = address(0);
        if (!ok) revert DelegatedActionFailed();
        return result;
    }

    // ----- the keeper's trigger ---------------------------------------------------------------------

    /// A limit/stop open, TP, SL or liquidation the keeper saw hit: an order the Callbacks
    /// contract settles at the keeper's price in the next transaction.
    function executeAutomationOrder(uint8 orderType, address trader, uint16 pairIndex, uint8 index, uint256)
        external returns (uint8)
    {
        if (msg.sender != keeper) revert NotTradesUpKeep(msg.sender);
        (uint256 orderId, uint256 tradeId) = store.registerAutomation(orderType, trader, pairIndex, index);
        if (orderType == Ostium.OPEN) {
            emit AutomationOpenOrderInitiated(orderId, trader, pairIndex, index);
        } else {
            emit AutomationCloseOrderInitiated(orderId, tradeId, trader, pairIndex, orderType);
        }
        return 0;
    }
}
