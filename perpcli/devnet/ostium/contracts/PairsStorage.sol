// SPDX-License-Identifier: MIT
// Ostium's PairsStorage views that perpcli reads: listing, leverage range, minimum position.
pragma solidity ^0.8.24;

contract OstiumPairsStorage {
    struct PairLimits {
        bool listed;
        uint16 minLeverage; // x100
        uint32 maxLeverage; // x100
        uint32 overnightMaxLeverage; // x100, 0: none
        uint64 minLevPos; // USDC, 6 decimals
    }

    address public gov;
    address public registry;
    uint16 public pairsCount;
    mapping(uint16 => PairLimits) internal limits;

    error NotGov(address a);
    error WrongParams();

    function initialize(address registry_) external {
        if (gov != address(0) && msg.sender != gov) revert NotGov(msg.sender);
        gov = msg.sender;
        registry = registry_;
    }

    function setPairs(uint16[] calldata indices, uint16[] calldata minLev, uint32[] calldata maxLev,
                      uint64[] calldata minLevPos) external {
        if (msg.sender != gov) revert NotGov(msg.sender);
        if (indices.length != minLev.length || indices.length != maxLev.length || indices.length != minLevPos.length) {
            revert WrongParams();
        }
        for (uint256 i = 0; i < indices.length; i++) {
            limits[indices[i]] = PairLimits(true, minLev[i], maxLev[i], 0, minLevPos[i]);
            if (indices[i] >= pairsCount) pairsCount = indices[i] + 1;
        }
    }

    function isPairIndexListed(uint16 pairIndex) external view returns (bool) {
        return limits[pairIndex].listed;
    }

    function pairMinLeverage(uint16 pairIndex) external view returns (uint16) {
        return limits[pairIndex].minLeverage;
    }

    function pairMaxLeverage(uint16 pairIndex) external view returns (uint32) {
        return limits[pairIndex].maxLeverage;
    }

    function pairOvernightMaxLeverage(uint16 pairIndex) external view returns (uint32) {
        return limits[pairIndex].overnightMaxLeverage;
    }

    function pairMinLevPos(uint16 pairIndex) external view returns (uint64) {
        return limits[pairIndex].minLevPos;
    }

    function getAllPairsMaxLeverage() external view returns (uint32[] memory out) {
        out = new uint32[](pairsCount);
        for (uint16 i = 0; i < pairsCount; i++) out[i] = limits[i].maxLeverage;
    }
}
