// SPDX-License-Identifier: MIT
// perpcli's Ostium devnet: the structs, enums and custom errors of the deployed Ostium ABIs
// (perpcli/venues/ostium/abi/), written for this project. Field order is the ABI's tuple order.
pragma solidity ^0.8.24;

struct Trade {
    uint256 collateral; // USDC, 6 decimals
    uint192 openPrice; // 1e18
    uint192 tp;
    uint192 sl;
    address trader;
    uint32 leverage; // x100
    uint16 pairIndex;
    uint8 index;
    bool buy;
    bool isDayTrade;
}

struct BuilderFee {
    address builder;
    uint32 builderFee;
}

struct TradeInfo {
    uint256 tradeId;
    uint256 oiNotional;
    uint32 initialLeverage;
    uint32 tpLastUpdated;
    uint32 slLastUpdated;
    uint32 createdAt;
    bool deprecatedBeingMarketClosed;
}

struct OpenLimitOrder {
    uint256 collateral;
    uint192 targetPrice;
    uint192 tp;
    uint192 sl;
    address trader;
    uint32 leverage;
    uint32 createdAt;
    uint32 lastUpdated;
    uint16 pairIndex;
    uint8 orderType; // OpenOrderType: 1 LIMIT, 2 STOP
    uint8 index;
    bool buy;
    bool isDayTrade;
}

struct PendingMarketOrder {
    uint256 block;
    uint192 wantedPrice;
    uint32 slippageP; // percent x100
    Trade trade;
    uint16 percentage; // a close's percentage x100; 0 for an open
}

struct PendingMarketOrderV1 {
    uint256 block;
    uint192 wantedPrice;
    uint32 slippageP;
    Trade trade;
}

struct PendingAutomationOrder {
    address trader;
    uint16 pairIndex;
    uint8 index;
    uint8 orderType; // LimitOrder: 0 TP, 1 SL, 2 LIQ, 3 OPEN
    uint256 block;
}

struct PendingRemoveCollateral {
    uint256 removeAmount;
    address trader;
    uint16 pairIndex;
    uint8 index;
    uint256 block;
}

struct PriceUpKeepAnswer {
    uint256 orderId;
    int192 price; // 0: the market is closed
    int192 bid;
    int192 ask;
    bool isDayTradingClosed;
}

// What a settlement did, handed from TradingStorage to Callbacks, which emits the event.
struct OpenResult {
    bool executed;
    uint8 cancelReason;
    Trade trade;
    uint256 tradeNotional;
    uint256 limitIndex;
}

struct CloseResult {
    bool executed;
    uint8 cancelReason;
    uint256 tradeId;
    address trader;
    uint16 pairIndex;
    uint8 index;
    uint8 orderType;
    uint256 price;
    int256 percentProfit;
    uint256 usdcSentToTrader;
    uint16 percentage;
}

struct RemoveResult {
    bool executed;
    uint8 reason;
    uint256 tradeId;
    address trader;
    uint16 pairIndex;
    uint256 removeAmount;
    uint32 leverage;
    uint192 tp;
    uint192 sl;
}

library Ostium {
    uint8 constant MARKET = 0;
    uint8 constant LIMIT = 1;
    uint8 constant STOP = 2;

    uint8 constant TP = 0;
    uint8 constant SL = 1;
    uint8 constant LIQ = 2;
    uint8 constant OPEN = 3;

    // Callbacks' CancelReason, in the deployed order.
    uint8 constant NONE = 0;
    uint8 constant MARKET_CLOSED = 2;
    uint8 constant SLIPPAGE = 3;
    uint8 constant TP_REACHED = 4;
    uint8 constant SL_REACHED = 5;
    uint8 constant NO_TRADE = 9;
    uint8 constant UNDER_LIQUIDATION = 10;
    uint8 constant NOT_HIT = 11;
    uint8 constant MAX_LEVERAGE_REASON = 8;
}

// Trading's custom errors, declared where they can be raised (Trading forwards to
// TradingStorage, whose revert data reaches the trader unchanged).
abstract contract TradingErrors {
    error AboveMaxAllowedCollateral();
    error AlreadyMarketClosed(address trader, uint16 pairIndex, uint8 index);
    error BelowMinLevPos();
    error DelegateReentrant();
    error DelegatedActionFailed();
    error IsPaused();
    error MaxPendingMarketOrdersReached(address trader);
    error MaxTradesPerPairReached(address trader, uint16 pairIndex);
    error NoDelegate(address a);
    error NoLimitFound(address trader, uint16 pairIndex, uint8 index);
    error NoTradeFound(address trader, uint16 pairIndex, uint8 index);
    error NoTradeToTimeoutFound(uint256 orderId);
    error NotCloseMarketTimeoutOrder(uint256 orderId);
    error NotDelegate(address trader, address caller);
    error NotGov(address a);
    error NotOpenMarketTimeoutOrder(uint256 orderId);
    error NotTradesUpKeep(address a);
    error NotYourOrder(uint256 orderId, address trader);
    error NullAddr();
    error PairNotListed(uint16 index);
    error WaitTimeout(uint256 orderId);
    error WrongLeverage(uint32 leverage);
    error WrongParams();
    error WrongSL();
    error WrongTP();
}

interface IERC20Min {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

interface IPairsStorageMin {
    function isPairIndexListed(uint16 pairIndex) external view returns (bool);
    function pairMinLeverage(uint16 pairIndex) external view returns (uint16);
    function pairMaxLeverage(uint16 pairIndex) external view returns (uint32);
    function pairMinLevPos(uint16 pairIndex) external view returns (uint64);
}

interface IPairInfosMin {
    function getTradeLiquidationPrice(address trader, uint16 pairIndex, uint8 index, uint256 openPrice, bool buy,
        uint256 collateral, uint32 leverage, uint32 maxLeverage) external view returns (uint256);
}
