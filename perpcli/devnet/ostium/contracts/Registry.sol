// SPDX-License-Identifier: MIT
// Ostium's contract registry as the client resolves it: getContractAddress(bytes32 name).
pragma solidity ^0.8.24;

contract OstiumRegistry {
    address public gov;
    mapping(bytes32 => address) public getContractAddress;

    error NotGov(address a);

    function initialize(bytes32[] calldata names, address[] calldata addresses) external {
        if (gov != address(0) && msg.sender != gov) revert NotGov(msg.sender);
        gov = msg.sender;
        for (uint256 i = 0; i < names.length; i++) {
            getContractAddress[names[i]] = addresses[i];
        }
    }
}
