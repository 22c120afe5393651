// SPDX-License-Identifier: MIT
// Baseline for bench/gas.py only: OpenZeppelin 5 with the same features as SessionToken
// (ERC20, permit, burn, two-step ownership, Arbitrum L1 custom-gateway registration), so
// deployment gas can be compared like for like. Never deployed outside benchmarks.
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

interface IL1CustomGateway {
    function registerTokenToL2(address, uint256, uint256, uint256, address) external payable returns (uint256);
}

interface IL1GatewayRouter {
    function setGateway(address, uint256, uint256, uint256, address) external payable returns (uint256);
}

contract OZTokenFull is ERC20, ERC20Burnable, ERC20Permit, Ownable2Step {
    address public immutable L1_CUSTOM_GATEWAY;
    address public immutable L1_ROUTER;
    bool transient registering;

    event RegisteredOnL2(address indexed l2Token, address indexed gateway);

    constructor(address genesisReceiver, address gateway, address router)
        ERC20("Session Token", "SESH")
        ERC20Permit("Session Token")
        Ownable(msg.sender)
    {
        require(genesisReceiver != address(0), "token: genesis receiver is the zero address");
        require((gateway == address(0)) == (router == address(0)), "token: set both the gateway and the router, or neither");
        L1_CUSTOM_GATEWAY = gateway;
        L1_ROUTER = router;
        _mint(genesisReceiver, 240_000_000 * 10 ** 9);
    }

    function decimals() public pure override returns (uint8) {
        return 9;
    }

    function isArbitrumEnabled() external view returns (uint8) {
        require(registering, "token: not registering on L2");
        return 0xb1;
    }

    function registerTokenOnL2(
        address l2Token,
        uint256 maxSubmissionCostForGateway,
        uint256 maxSubmissionCostForRouter,
        uint256 maxGasForGateway,
        uint256 maxGasForRouter,
        uint256 gasPriceBid,
        uint256 valueForGateway,
        uint256 valueForRouter,
        address creditBackAddress
    ) external payable onlyOwner {
        require(L1_CUSTOM_GATEWAY != address(0), "token: no L1 gateway configured");
        require(l2Token != address(0), "token: L2 token is the zero address");
        require(msg.value == valueForGateway + valueForRouter, "token: value does not match the two tickets");
        registering = true;
        IL1CustomGateway(L1_CUSTOM_GATEWAY).registerTokenToL2{value: valueForGateway}(
            l2Token, maxGasForGateway, gasPriceBid, maxSubmissionCostForGateway, creditBackAddress
        );
        IL1GatewayRouter(L1_ROUTER).setGateway{value: valueForRouter}(
            L1_CUSTOM_GATEWAY, maxGasForRouter, gasPriceBid, maxSubmissionCostForRouter, creditBackAddress
        );
        registering = false;
        emit RegisteredOnL2(l2Token, L1_CUSTOM_GATEWAY);
    }
}
