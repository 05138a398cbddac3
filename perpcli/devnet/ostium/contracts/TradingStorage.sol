// SPDX-License-Identifier: MIT
// perpcli's Ostium devnet: TradingStorage holds every trade, order and the traders' USDC (it
// is the spender a trader approves), and carries the rules. Trading (the trader's entry) and
// Callbacks (the keeper's) call it and emit the deployed events; its views are the deployed
// TradingStorage views perpcli reads. Written for this project; not Ostium's code.
pragma solidity ^0.8.24;

import "./OstiumTypes.sol";

contract OstiumTradingStorage is TradingErrors {
    error NotTrading(address a);
    error NotCallbacks(address a);
    error NoOpenLimitOrder(address _trader, uint16 _pairIndex, uint8 _index);

    struct Key {
        address trader;
        uint16 pairIndex;
        uint8 index;
    }

    address public gov;
    address public registry;
    address public trading;
    address public callbacks;
    address public usdc;
    address public pairsStorage;
    address public pairInfos;
    uint8 public maxTradesPerPair;
    uint8 public maxPendingMarketOrders;
    uint256 public maxAllowedCollateral;
    bool public isPaused;

    uint256 public lastOrderId;
    uint256 public lastTradeId;

    mapping(address => mapping(uint16 => mapping(uint8 => Trade))) public openTrades;
    mapping(address => mapping(uint16 => mapping(uint8 => TradeInfo))) public openTradesInfo;
    mapping(address => mapping(uint16 => uint32)) public openTradesCount;
    mapping(address => mapping(uint16 => mapping(uint8 => OpenLimitOrder))) internal limitOrders;
    mapping(address => mapping(uint16 => uint8)) public openLimitOrdersCount;
    mapping(address => mapping(uint16 => uint8)) public pendingMarketOpenCount;
    mapping(address => mapping(uint16 => uint8)) public pendingMarketCloseCount;
    mapping(address => mapping(uint16 => mapping(uint8 => uint256))) internal closingOrder; // trade -> pending close

    mapping(uint256 => PendingMarketOrder) internal pendingMarket;
    mapping(uint256 => bool) internal pendingIsOpen;
    mapping(uint256 => PendingAutomationOrder) internal pendingAutomation;
    mapping(uint256 => PendingRemoveCollateral) internal pendingRemove;
    mapping(address => uint256[]) internal traderPending;

    // Enumerations for the devnet keeper (one view call per tick instead of a scan).
    uint256[] internal pendingIds;
    mapping(uint256 => uint256) internal pendingPos; // id -> position + 1
    mapping(uint256 => uint8) internal pendingKind; // 1 market open, 2 market close, 3 automation, 4 remove collateral
    Key[] internal tradeKeys;
    mapping(bytes32 => uint256) internal tradePos;
    Key[] internal limitKeys;
    mapping(bytes32 => uint256) internal limitPos;

    modifier onlyTrading() {
        if (msg.sender != trading) revert NotTrading(msg.sender);
        _;
    }

    modifier onlyCallbacks() {
        if (msg.sender != callbacks) revert NotCallbacks(msg.sender);
        _;
    }

    function initialize(address registry_, address trading_, address callbacks_, address usdc_, address pairsStorage_,
                        address pairInfos_, uint8 maxTradesPerPair_, uint8 maxPendingMarketOrders_,
                        uint256 maxAllowedCollateral_) external {
        if (gov != address(0) && msg.sender != gov) revert NotGov(msg.sender);
        gov = msg.sender;
        registry = registry_;
        trading = trading_;
        callbacks = callbacks_;
        usdc = usdc_;
        pairsStorage = pairsStorage_;
        pairInfos = pairInfos_;
        maxTradesPerPair = maxTradesPerPair_;
        maxPendingMarketOrders = maxPendingMarketOrders_;
        maxAllowedCollateral = maxAllowedCollateral_;
    }

    function setPaused(bool paused) external {
        if (msg.sender != gov) revert NotGov(msg.sender);
        isPaused = paused;
    }

    // ----- views (deployed TradingStorage selectors) --------------------------------------------

    function getOpenTrade(address trader, uint16 pairIndex, uint8 index) external view returns (Trade memory) {
        return openTrades[trader][pairIndex][index];
    }

    function getOpenTradeInfo(address trader, uint16 pairIndex, uint8 index) external view returns (TradeInfo memory) {
        return openTradesInfo[trader][pairIndex][index];
    }

    function hasOpenLimitOrder(address trader, uint16 pairIndex, uint8 index) public view returns (bool) {
        return limitOrders[trader][pairIndex][index].trader != address(0);
    }

    function getOpenLimitOrder(address trader, uint16 pairIndex, uint8 index)
        external view returns (OpenLimitOrder memory)
    {
        if (!hasOpenLimitOrder(trader, pairIndex, index)) revert NoOpenLimitOrder(trader, pairIndex, index);
        return limitOrders[trader][pairIndex][index];
    }

    function firstEmptyTradeIndex(address trader, uint16 pairIndex) public view returns (uint8) {
        for (uint8 i = 0; i < maxTradesPerPair; i++) {
            if (openTrades[trader][pairIndex][i].trader == address(0)) return i;
        }
        return 0;
    }

    function firstEmptyOpenLimitIndex(address trader, uint16 pairIndex) public view returns (uint8) {
        for (uint8 i = 0; i < maxTradesPerPair; i++) {
            if (!hasOpenLimitOrder(trader, pairIndex, i)) return i;
        }
        return 0;
    }

    function reqID_pendingMarketOrder(uint256 orderId)
        external view returns (uint256 block_, uint192 wantedPrice, uint32 slippageP, Trade memory trade, uint16 percentage)
    {
        PendingMarketOrder storage o = pendingMarket[orderId];
        return (o.block, o.wantedPrice, o.slippageP, o.trade, o.percentage);
    }

    function reqID_pendingAutomationOrder(uint256 orderId)
        external view returns (address trader, uint16 pairIndex, uint8 index, uint8 orderType, uint256 block_)
    {
        PendingAutomationOrder storage o = pendingAutomation[orderId];
        return (o.trader, o.pairIndex, o.index, o.orderType, o.block);
    }

    function getPendingOrderIds(address trader) external view returns (uint256[] memory) {
        return traderPending[trader];
    }

    function pendingOrderIdsCount(address trader) external view returns (uint256) {
        return traderPending[trader].length;
    }

    function totalOpenTradesCount() external view returns (uint32) {
        return uint32(tradeKeys.length);
    }

    // ----- what the devnet keeper reads each tick -----------------------------------------------

    /// Orders awaiting the keeper: ids, kind (1 open, 2 close, 3 automation, 4 remove collateral), pair.
    function devnetPendingOrders() external view returns (uint256[] memory ids, uint8[] memory kinds,
                                                          uint16[] memory pairs) {
        uint256 n = pendingIds.length;
        ids = new uint256[](n);
        kinds = new uint8[](n);
        pairs = new uint16[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 id = pendingIds[i];
            ids[i] = id;
            kinds[i] = pendingKind[id];
            if (kinds[i] == 3) pairs[i] = pendingAutomation[id].pairIndex;
            else if (kinds[i] == 4) pairs[i] = pendingRemove[id].pairIndex;
            else pairs[i] = pendingMarket[id].trade.pairIndex;
        }
    }

    /// Every open trade with its liquidation price.
    function devnetOpenTrades() external view returns (Trade[] memory trades, uint256[] memory liquidationPrices) {
        uint256 n = tradeKeys.length;
        trades = new Trade[](n);
        liquidationPrices = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            Key storage k = tradeKeys[i];
            Trade storage t = openTrades[k.trader][k.pairIndex][k.index];
            trades[i] = t;
            liquidationPrices[i] = _liquidationPrice(t);
        }
    }

    /// Every resting limit or stop order.
    function devnetOpenLimitOrders() external view returns (OpenLimitOrder[] memory orders) {
        uint256 n = limitKeys.length;
        orders = new OpenLimitOrder[](n);
        for (uint256 i = 0; i < n; i++) {
            Key storage k = limitKeys[i];
            orders[i] = limitOrders[k.trader][k.pairIndex][k.index];
        }
    }

    // ----- the trader's actions (through Trading) -----------------------------------------------

    function openTrade(address sender, Trade memory t, uint8 orderType, uint256 slippageP)
        external onlyTrading returns (uint256 orderId, uint8 limitIndex)
    {
        if (isPaused) revert IsPaused();
        if (t.trader != sender) revert WrongParams();
        if (orderType > Ostium.STOP) revert WrongParams();
        IPairsStorageMin pairs = IPairsStorageMin(pairsStorage);
        if (!pairs.isPairIndexListed(t.pairIndex)) revert PairNotListed(t.pairIndex);
        if (t.collateral > maxAllowedCollateral) revert AboveMaxAllowedCollateral();
        if (t.leverage < pairs.pairMinLeverage(t.pairIndex) || t.leverage > pairs.pairMaxLeverage(t.pairIndex)) {
            revert WrongLeverage(t.leverage);
        }
        if (t.collateral * t.leverage / 100 < pairs.pairMinLevPos(t.pairIndex)) revert BelowMinLevPos();
        if (uint256(openTradesCount[sender][t.pairIndex]) + pendingMarketOpenCount[sender][t.pairIndex]
            + openLimitOrdersCount[sender][t.pairIndex] >= maxTradesPerPair) {
            revert MaxTradesPerPairReached(sender, t.pairIndex);
        }
        if (traderPending[sender].length >= maxPendingMarketOrders) revert MaxPendingMarketOrdersReached(sender);
        if (t.openPrice == 0) revert WrongParams();
        _checkTpSl(t.buy, t.openPrice, t.tp, t.sl);
        _pull(sender, t.collateral);
        if (orderType == Ostium.MARKET) {
            orderId = ++lastOrderId;
            t.index = 0;
            pendingMarket[orderId] = PendingMarketOrder(block.number, t.openPrice, uint32(slippageP), t, 0);
            pendingIsOpen[orderId] = true;
            pendingMarketOpenCount[sender][t.pairIndex] += 1;
            _addPending(orderId, 1, sender);
        } else {
            limitIndex = firstEmptyOpenLimitIndex(sender, t.pairIndex);
            limitOrders[sender][t.pairIndex][limitIndex] = OpenLimitOrder(
                t.collateral, t.openPrice, t.tp, t.sl, sender, t.leverage, uint32(block.timestamp),
                uint32(block.timestamp), t.pairIndex, orderType, limitIndex, t.buy, t.isDayTrade);
            openLimitOrdersCount[sender][t.pairIndex] += 1;
            _addKey(limitKeys, limitPos, sender, t.pairIndex, limitIndex);
        }
    }

    function closeTradeMarket(address sender, uint16 pairIndex, uint8 index, uint16 closePercentage,
                              uint192 marketPrice, uint32 slippageP)
        external onlyTrading returns (uint256 orderId, uint256 tradeId)
    {
        if (isPaused) revert IsPaused();
        Trade memory t = _trade(sender, pairIndex, index);
        if (closePercentage == 0 || closePercentage > 10000 || marketPrice == 0) revert WrongParams();
        if (closingOrder[sender][pairIndex][index] != 0) revert AlreadyMarketClosed(sender, pairIndex, index);
        if (traderPending[sender].length >= maxPendingMarketOrders) revert MaxPendingMarketOrdersReached(sender);
        orderId = ++lastOrderId;
        tradeId = openTradesInfo[sender][pairIndex][index].tradeId;
        pendingMarket[orderId] = PendingMarketOrder(block.number, marketPrice, slippageP, t, closePercentage);
        closingOrder[sender][pairIndex][index] = orderId;
        pendingMarketCloseCount[sender][pairIndex] += 1;
        _addPending(orderId, 2, sender);
    }

    function updateTp(address sender, uint16 pairIndex, uint8 index, uint192 newTp)
        external onlyTrading returns (uint256 tradeId)
    {
        Trade storage t = _tradeRef(sender, pairIndex, index);
        _checkTpSl(t.buy, t.openPrice, newTp, 0);
        t.tp = newTp;
        openTradesInfo[sender][pairIndex][index].tpLastUpdated = uint32(block.number);
        return openTradesInfo[sender][pairIndex][index].tradeId;
    }

    function updateSl(address sender, uint16 pairIndex, uint8 index, uint192 newSl)
        external onlyTrading returns (uint256 tradeId)
    {
        Trade storage t = _tradeRef(sender, pairIndex, index);
        _checkTpSl(t.buy, t.openPrice, 0, newSl);
        t.sl = newSl;
        openTradesInfo[sender][pairIndex][index].slLastUpdated = uint32(block.number);
        return openTradesInfo[sender][pairIndex][index].tradeId;
    }

    function topUpCollateral(address sender, uint16 pairIndex, uint8 index, uint256 amount)
        external onlyTrading returns (uint256 tradeId, uint32 newLeverage)
    {
        if (amount == 0) revert WrongParams();
        Trade storage t = _tradeRef(sender, pairIndex, index);
        if (t.collateral + amount > maxAllowedCollateral) revert AboveMaxAllowedCollateral();
        uint256 notional = t.collateral * t.leverage;
        newLeverage = uint32(notional / (t.collateral + amount));
        if (newLeverage < IPairsStorageMin(pairsStorage).pairMinLeverage(pairIndex)) revert WrongLeverage(newLeverage);
        _pull(sender, amount);
        t.collateral += amount;
        t.leverage = newLeverage;
        tradeId = openTradesInfo[sender][pairIndex][index].tradeId;
    }

    function removeCollateral(address sender, uint16 pairIndex, uint8 index, uint256 amount)
        external onlyTrading returns (uint256 tradeId, uint256 orderId)
    {
        if (isPaused) revert IsPaused();
        Trade storage t = _tradeRef(sender, pairIndex, index);
        if (amount == 0 || amount >= t.collateral) revert WrongParams();
        uint32 newLeverage = uint32(t.collateral * t.leverage / (t.collateral - amount));
        if (newLeverage > IPairsStorageMin(pairsStorage).pairMaxLeverage(pairIndex)) revert WrongLeverage(newLeverage);
        orderId = ++lastOrderId;
        tradeId = openTradesInfo[sender][pairIndex][index].tradeId;
        pendingRemove[orderId] = PendingRemoveCollateral(amount, sender, pairIndex, index, block.number);
        _addPending(orderId, 4, sender);
    }

    function updateOpenLimitOrder(address sender, uint16 pairIndex, uint8 index, uint192 price, uint192 tp, uint192 sl)
        external onlyTrading
    {
        if (!hasOpenLimitOrder(sender, pairIndex, index)) revert NoLimitFound(sender, pairIndex, index);
        if (price == 0) revert WrongParams();
        OpenLimitOrder storage o = limitOrders[sender][pairIndex][index];
        _checkTpSl(o.buy, price, tp, sl);
        o.targetPrice = price;
        o.tp = tp;
        o.sl = sl;
        o.lastUpdated = uint32(block.timestamp);
    }

    function cancelOpenLimitOrder(address sender, uint16 pairIndex, uint8 index) external onlyTrading {
        if (!hasOpenLimitOrder(sender, pairIndex, index)) revert NoLimitFound(sender, pairIndex, index);
        uint256 collateral = limitOrders[sender][pairIndex][index].collateral;
        _removeLimit(sender, pairIndex, index);
        _pay(sender, collateral);
    }

    function openTradeMarketTimeout(address sender, uint256 orderId, uint16 timeoutBlocks)
        external onlyTrading returns (PendingMarketOrder memory o)
    {
        o = pendingMarket[orderId];
        if (o.trade.trader == address(0)) revert NoTradeToTimeoutFound(orderId);
        if (!pendingIsOpen[orderId]) revert NotOpenMarketTimeoutOrder(orderId);
        if (o.trade.trader != sender) revert NotYourOrder(orderId, sender);
        if (block.number < o.block + timeoutBlocks) revert WaitTimeout(orderId);
        _unregisterMarket(orderId);
        _pay(sender, o.trade.collateral);
    }

    function closeTradeMarketTimeout(address sender, uint256 orderId, bool retry, uint16 timeoutBlocks)
        external onlyTrading returns (PendingMarketOrder memory o, uint256 tradeId, uint256 newOrderId)
    {
        o = pendingMarket[orderId];
        if (o.trade.trader == address(0)) revert NoTradeToTimeoutFound(orderId);
        if (pendingIsOpen[orderId]) revert NotCloseMarketTimeoutOrder(orderId);
        if (o.trade.trader != sender) revert NotYourOrder(orderId, sender);
        if (block.number < o.block + timeoutBlocks) revert WaitTimeout(orderId);
        tradeId = openTradesInfo[sender][o.trade.pairIndex][o.trade.index].tradeId;
        _unregisterMarket(orderId);
        if (retry) {
            newOrderId = ++lastOrderId;
            PendingMarketOrder memory again = o;
            again.block = block.number;
            pendingMarket[newOrderId] = again;
            closingOrder[sender][o.trade.pairIndex][o.trade.index] = newOrderId;
            pendingMarketCloseCount[sender][o.trade.pairIndex] += 1;
            _addPending(newOrderId, 2, sender);
        }
    }

    /// Trading.executeAutomationOrder (keeper): a trigger for a limit open, TP, SL or liquidation.
    function registerAutomation(uint8 orderType, address trader, uint16 pairIndex, uint8 index)
        external onlyTrading returns (uint256 orderId, uint256 tradeId)
    {
        if (orderType > Ostium.OPEN) revert WrongParams();
        if (orderType == Ostium.OPEN) {
            if (!hasOpenLimitOrder(trader, pairIndex, index)) revert NoLimitFound(trader, pairIndex, index);
        } else {
            _trade(trader, pairIndex, index);
            tradeId = openTradesInfo[trader][pairIndex][index].tradeId;
        }
        orderId = ++lastOrderId;
        pendingAutomation[orderId] = PendingAutomationOrder(trader, pairIndex, index, orderType, block.number);
        _addPending(orderId, 3, address(0));
    }

    function automationKind(uint256 orderId) external view returns (uint8) {
        return pendingAutomation[orderId].orderType;
    }

    // ----- the keeper's settlements (through Callbacks) -----------------------------------------

    function settleMarketOpen(uint256 orderId, uint256 bid, uint256 ask)
        external onlyCallbacks returns (OpenResult memory r)
    {
        PendingMarketOrder memory o = pendingMarket[orderId];
        if (o.trade.trader == address(0) || !pendingIsOpen[orderId]) {
            r.cancelReason = Ostium.NO_TRADE;
            return r;
        }
        Trade memory t = o.trade;
        _unregisterMarket(orderId);
        uint256 price = t.buy ? ask : bid;
        r.trade = t;
        r.cancelReason = _openRefusal(t, price, o.wantedPrice, o.slippageP);
        if (r.cancelReason != Ostium.NONE) {
            _pay(t.trader, t.collateral);
            return r;
        }
        (r.trade, r.tradeNotional) = _storeTrade(t, price);
        r.executed = true;
    }

    function settleMarketClose(uint256 orderId, uint256 bid, uint256 ask)
        external onlyCallbacks returns (CloseResult memory r)
    {
        PendingMarketOrder memory o = pendingMarket[orderId];
        r.percentage = o.percentage;
        if (o.trade.trader == address(0) || pendingIsOpen[orderId]) {
            r.cancelReason = Ostium.NO_TRADE;
            return r;
        }
        _unregisterMarket(orderId);
        Trade storage t = openTrades[o.trade.trader][o.trade.pairIndex][o.trade.index];
        r.trader = o.trade.trader;
        r.pairIndex = o.trade.pairIndex;
        r.index = o.trade.index;
        r.tradeId = openTradesInfo[r.trader][r.pairIndex][r.index].tradeId;
        if (t.trader == address(0)) {
            r.cancelReason = Ostium.NO_TRADE;
            return r;
        }
        uint256 price = t.buy ? bid : ask;
        if (price == 0) {
            r.cancelReason = Ostium.MARKET_CLOSED;
            return r;
        }
        uint256 worst = t.buy ? uint256(o.wantedPrice) * (10000 - _min(o.slippageP, 10000)) / 10000
                              : uint256(o.wantedPrice) * (10000 + o.slippageP) / 10000;
        if (t.buy ? price < worst : price > worst) {
            r.cancelReason = Ostium.SLIPPAGE;
            return r;
        }
        r.executed = true;
        r.price = price;
        (r.percentProfit, r.usdcSentToTrader) = _close(t, price, o.percentage, false);
    }

    function settleAutomationOpen(uint256 orderId, uint256 bid, uint256 ask)
        external onlyCallbacks returns (OpenResult memory r)
    {
        PendingAutomationOrder memory a = pendingAutomation[orderId];
        if (a.trader == address(0) || a.orderType != Ostium.OPEN) {
            r.cancelReason = Ostium.NO_TRADE;
            return r;
        }
        _removePending(orderId);
        delete pendingAutomation[orderId];
        r.limitIndex = a.index;
        r.trade.trader = a.trader;
        r.trade.pairIndex = a.pairIndex;
        if (!hasOpenLimitOrder(a.trader, a.pairIndex, a.index)) {
            r.cancelReason = Ostium.NO_TRADE;
            return r;
        }
        OpenLimitOrder memory l = limitOrders[a.trader][a.pairIndex][a.index];
        uint256 price = l.buy ? ask : bid;
        if (price == 0) {
            r.cancelReason = Ostium.MARKET_CLOSED;
            return r;
        }
        bool hit = l.orderType == Ostium.LIMIT ? (l.buy ? price <= l.targetPrice : price >= l.targetPrice)
                                              : (l.buy ? price >= l.targetPrice : price <= l.targetPrice);
        if (!hit) {
            r.cancelReason = Ostium.NOT_HIT;
            return r;
        }
        Trade memory t = Trade(l.collateral, l.targetPrice, l.tp, l.sl, l.trader, l.leverage, l.pairIndex, 0, l.buy,
                               l.isDayTrade);
        if (openTradesCount[a.trader][a.pairIndex] >= maxTradesPerPair) {
            r.cancelReason = Ostium.NO_TRADE;
            return r;
        }
        _removeLimit(a.trader, a.pairIndex, a.index);
        (r.trade, r.tradeNotional) = _storeTrade(t, price);
        r.executed = true;
    }

    function settleAutomationClose(uint256 orderId, uint256 bid, uint256 ask)
        external onlyCallbacks returns (CloseResult memory r)
    {
        PendingAutomationOrder memory a = pendingAutomation[orderId];
        r.orderType = a.orderType;
        r.percentage = 10000;
        if (a.trader == address(0) || a.orderType == Ostium.OPEN) {
            r.cancelReason = Ostium.NO_TRADE;
            return r;
        }
        _removePending(orderId);
        delete pendingAutomation[orderId];
        r.trader = a.trader;
        r.pairIndex = a.pairIndex;
        r.index = a.index;
        r.tradeId = openTradesInfo[a.trader][a.pairIndex][a.index].tradeId;
        Trade storage t = openTrades[a.trader][a.pairIndex][a.index];
        if (t.trader == address(0)) {
            r.cancelReason = Ostium.NO_TRADE;
            return r;
        }
        uint256 price = t.buy ? bid : ask;
        if (price == 0) {
            r.cancelReason = Ostium.MARKET_CLOSED;
            return r;
        }
        bool hit;
        uint256 fill = price;
        if (a.orderType == Ostium.TP) {
            hit = t.tp != 0 && (t.buy ? price >= t.tp : price <= t.tp);
            fill = t.tp;
        } else if (a.orderType == Ostium.SL) {
            hit = t.sl != 0 && (t.buy ? price <= t.sl : price >= t.sl);
            fill = t.sl;
        } else {
            uint256 liq = _liquidationPrice(t);
            hit = liq != 0 && (t.buy ? price <= liq : price >= liq);
        }
        if (!hit) {
            r.cancelReason = Ostium.NOT_HIT;
            return r;
        }
        r.executed = true;
        r.price = fill;
        (r.percentProfit, r.usdcSentToTrader) = _close(t, fill, 10000, a.orderType == Ostium.LIQ);
    }

    function settleRemoveCollateral(uint256 orderId, uint256 bid, uint256 ask)
        external onlyCallbacks returns (RemoveResult memory r)
    {
        PendingRemoveCollateral memory p = pendingRemove[orderId];
        if (p.trader == address(0)) {
            r.reason = Ostium.NO_TRADE;
            return r;
        }
        _removePending(orderId);
        delete pendingRemove[orderId];
        r.trader = p.trader;
        r.pairIndex = p.pairIndex;
        r.removeAmount = p.removeAmount;
        r.tradeId = openTradesInfo[p.trader][p.pairIndex][p.index].tradeId;
        Trade storage t = openTrades[p.trader][p.pairIndex][p.index];
        if (t.trader == address(0) || p.removeAmount >= t.collateral) {
            r.reason = Ostium.NO_TRADE;
            return r;
        }
        uint256 price = t.buy ? bid : ask;
        if (price == 0) {
            r.reason = Ostium.MARKET_CLOSED;
            return r;
        }
        uint32 newLeverage = uint32(t.collateral * t.leverage / (t.collateral - p.removeAmount));
        if (newLeverage > IPairsStorageMin(pairsStorage).pairMaxLeverage(p.pairIndex)) {
            r.reason = Ostium.MAX_LEVERAGE_REASON;
            return r;
        }
        uint256 liq = IPairInfosMin(pairInfos).getTradeLiquidationPrice(
            t.trader, t.pairIndex, t.index, t.openPrice, t.buy, t.collateral - p.removeAmount, newLeverage,
            IPairsStorageMin(pairsStorage).pairMaxLeverage(t.pairIndex));
        if (liq != 0 && (t.buy ? price <= liq : price >= liq)) {
            r.reason = Ostium.UNDER_LIQUIDATION;
            return r;
        }
        t.collateral -= p.removeAmount;
        t.leverage = newLeverage;
        _pay(p.trader, p.removeAmount);
        r.executed = true;
        r.leverage = newLeverage;
        r.tp = t.tp;
        r.sl = t.sl;
    }

    // ----- internals -----------------------------------------------------------------------------

    function _openRefusal(Trade memory t, uint256 price, uint256 wanted, uint32 slippageP)
        internal pure returns (uint8)
    {
        if (price == 0) return Ostium.MARKET_CLOSED;
        uint256 worst = t.buy ? wanted * (10000 + slippageP) / 10000 : wanted * (10000 - _min(slippageP, 10000)) / 10000;
        if (t.buy ? price > worst : price < worst) return Ostium.SLIPPAGE;
        if (t.tp != 0 && (t.buy ? price >= t.tp : price <= t.tp)) return Ostium.TP_REACHED;
        if (t.sl != 0 && (t.buy ? price <= t.sl : price >= t.sl)) return Ostium.SL_REACHED;
        return Ostium.NONE;
    }

    function _storeTrade(Trade memory t, uint256 price) internal returns (Trade memory, uint256 notional) {
        t.openPrice = uint192(price);
        t.index = firstEmptyTradeIndex(t.trader, t.pairIndex);
        openTrades[t.trader][t.pairIndex][t.index] = t;
        notional = t.collateral * t.leverage / 100;
        openTradesInfo[t.trader][t.pairIndex][t.index] = TradeInfo(
            ++lastTradeId, notional, t.leverage, uint32(block.number), uint32(block.number), uint32(block.timestamp),
            false);
        openTradesCount[t.trader][t.pairIndex] += 1;
        _addKey(tradeKeys, tradePos, t.trader, t.pairIndex, t.index);
        return (t, notional);
    }

    /// Closes `percentage` (x100) of a trade at `price`; a liquidation pays nothing back.
    function _close(Trade storage t, uint256 price, uint16 percentage, bool liquidation)
        internal returns (int256 percentProfit, uint256 sent)
    {
        uint256 portion = t.collateral * percentage / 10000;
        int256 move = int256(price) - int256(uint256(t.openPrice));
        if (!t.buy) move = -move;
        int256 profit = int256(portion) * move * int256(uint256(t.leverage)) / (int256(uint256(t.openPrice)) * 100);
        if (profit > int256(portion) * 9) profit = int256(portion) * 9; // profit capped at 900%
        percentProfit = portion == 0 ? int256(0) : profit * 100e6 / int256(portion);
        int256 back = int256(portion) + profit;
        sent = liquidation || back <= 0 ? 0 : uint256(back);
        address trader = t.trader;
        uint16 pairIndex = t.pairIndex;
        uint8 index = t.index;
        if (percentage >= 10000 || portion >= t.collateral) {
            _removeTrade(trader, pairIndex, index);
        } else {
            t.collateral -= portion;
        }
        if (sent > 0) _pay(trader, sent);
    }

    function _liquidationPrice(Trade storage t) internal view returns (uint256) {
        if (t.trader == address(0)) return 0;
        return IPairInfosMin(pairInfos).getTradeLiquidationPrice(
            t.trader, t.pairIndex, t.index, t.openPrice, t.buy, t.collateral, t.leverage,
            IPairsStorageMin(pairsStorage).pairMaxLeverage(t.pairIndex));
    }

    function _checkTpSl(bool buy, uint256 price, uint256 tp, uint256 sl) internal pure {
        if (tp != 0 && (buy ? tp <= price : tp >= price)) revert WrongTP();
        if (sl != 0 && (buy ? sl >= price : sl <= price)) revert WrongSL();
    }

    function _trade(address trader, uint16 pairIndex, uint8 index) internal view returns (Trade memory t) {
        t = openTrades[trader][pairIndex][index];
        if (t.trader == address(0)) revert NoTradeFound(trader, pairIndex, index);
    }

    function _tradeRef(address trader, uint16 pairIndex, uint8 index) internal view returns (Trade storage t) {
        t = openTrades[trader][pairIndex][index];
        if (t.trader == address(0)) revert NoTradeFound(trader, pairIndex, index);
    }

    function _removeTrade(address trader, uint16 pairIndex, uint8 index) internal {
        delete openTrades[trader][pairIndex][index];
        delete openTradesInfo[trader][pairIndex][index];
        openTradesCount[trader][pairIndex] -= 1;
        _removeKey(tradeKeys, tradePos, trader, pairIndex, index);
    }

    function _removeLimit(address trader, uint16 pairIndex, uint8 index) internal {
        delete limitOrders[trader][pairIndex][index];
        openLimitOrdersCount[trader][pairIndex] -= 1;
        _removeKey(limitKeys, limitPos, trader, pairIndex, index);
    }

    function _unregisterMarket(uint256 orderId) internal {
        PendingMarketOrder storage o = pendingMarket[orderId];
        address trader = o.trade.trader;
        uint16 pairIndex = o.trade.pairIndex;
        if (pendingIsOpen[orderId]) {
            pendingMarketOpenCount[trader][pairIndex] -= 1;
        } else {
            pendingMarketCloseCount[trader][pairIndex] -= 1;
            if (closingOrder[trader][pairIndex][o.trade.index] == orderId) delete closingOrder[trader][pairIndex][o.trade.index];
        }
        delete pendingMarket[orderId];
        delete pendingIsOpen[orderId];
        _removePending(orderId);
        uint256[] storage mine = traderPending[trader];
        for (uint256 i = 0; i < mine.length; i++) {
            if (mine[i] == orderId) {
                mine[i] = mine[mine.length - 1];
                mine.pop();
                break;
            }
        }
    }

    function _addPending(uint256 orderId, uint8 kind, address trader) internal {
        pendingIds.push(orderId);
        pendingPos[orderId] = pendingIds.length;
        pendingKind[orderId] = kind;
        if (kind <= 2) traderPending[trader].push(orderId);
    }

    function _removePending(uint256 orderId) internal {
        uint256 pos = pendingPos[orderId];
        if (pos == 0) return;
        uint256 last = pendingIds[pendingIds.length - 1];
        pendingIds[pos - 1] = last;
        pendingPos[last] = pos;
        pendingIds.pop();
        delete pendingPos[orderId];
        delete pendingKind[orderId];
    }

    function _addKey(Key[] storage keys, mapping(bytes32 => uint256) storage pos, address trader, uint16 pairIndex,
                     uint8 index) internal {
        keys.push(Key(trader, pairIndex, index));
        pos[keccak256(abi.encode(trader, pairIndex, index))] = keys.length;
    }

    function _removeKey(Key[] storage keys, mapping(bytes32 => uint256) storage pos, address trader, uint16 pairIndex,
                        uint8 index) internal {
        bytes32 id = keccak256(abi.encode(trader, pairIndex, index));
        uint256 p = pos[id];
        if (p == 0) return;
        Key memory last = keys[keys.length - 1];
        keys[p - 1] = last;
        pos[keccak256(abi.encode(last.trader, last.pairIndex, last.index))] = p;
        keys.pop();
        delete pos[id];
    }

    /// The trader's collateral into this contract: a failed pull bubbles the token's own reason
    /// ("ERC20: transfer amount exceeds allowance"), as a SafeERC20 call does.
    function _pull(address from, uint256 amount) internal {
        IERC20Min(usdc).transferFrom(from, address(this), amount);
    }

    function _pay(address to, uint256 amount) internal {
        IERC20Min(usdc).transfer(to, amount);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
