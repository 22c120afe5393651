// SPDX-License-Identifier: MIT
// Baseline for bench/gas.py only: OpenZeppelin 5's ERC20 + ERC20Permit configured like SESH
// (same name, symbol, decimals and genesis mint). Never deployed outside benchmarks.
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

contract OZToken is ERC20, ERC20Permit {
    constructor(address genesisReceiver) ERC20("Session Token", "SESH") ERC20Permit("Session Token") {
        _mint(genesisReceiver, 240_000_000 * 10 ** 9);
    }

    function decimals() public pure override returns (uint8) {
        return 9;
    }
}
