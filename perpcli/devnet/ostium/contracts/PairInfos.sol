// SPDX-License-Identifier: MIT
// Ostium's PairInfos views that perpcli reads: the liquidation threshold and price. The devnet
// charges no rollover or funding, so those views answer 0 (what perpcli then shows).
pragma solidity ^0.8.24;

contract OstiumPairInfos {
    address public gov;
    address public registry;
    uint8 public liqMarginThresholdP; // whole percent of collateral kept at the pair's max leverage
    uint8 public maxNegativePnlOnOpenP;

    error NotGov(address a);

    function initialize(address registry_, uint8 liqMarginThresholdP_) external {
        if (gov != address(0) && msg.sender != gov) revert NotGov(msg.sender);
        gov = msg.sender;
        registry = registry_;
        liqMarginThresholdP = liqMarginThresholdP_;
        maxNegativePnlOnOpenP = 40;
    }

    /// The price at which the trade's loss reaches its liquidation threshold: the collateral less
    /// a liquidation margin of liqMarginThresholdP% x leverage / maxLeverage (to 1e-6 percent).
    function getTradeLiquidationPrice(address, uint16, uint8, uint256 openPrice, bool buy, uint256,
                                      uint32 leverage, uint32 maxLeverage) public view returns (uint256) {
        return getTradeLiquidationPricePure(openPrice, buy, 0, leverage, 0, 0, maxLeverage);
    }

    function getTradeLiquidationPricePure(uint256 openPrice, bool buy, uint256, uint32 leverage, int256, int256,
                                          uint32 maxLeverage) public view returns (uint256) {
        if (leverage == 0 || maxLeverage == 0) return 0;
        uint256 keptP = uint256(liqMarginThresholdP) * 1e6 * leverage / maxLeverage; // percent x1e6
        if (keptP >= 100e6) return 0;
        uint256 distance = openPrice * (100e6 - keptP) * 100 / (100e6 * uint256(leverage));
        if (buy) return distance >= openPrice ? 0 : openPrice - distance;
        return openPrice + distance;
    }

    function getTradeRolloverFee(address, uint16, uint8, bool, uint256, uint32) external pure returns (int256) {
        return 0;
    }

    function getTradeFundingFee(address, uint16, uint8, bool, uint256, uint32) external pure returns (int256, int256) {
        return (0, 0);
    }
}
