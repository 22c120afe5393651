# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock USD stablecoin with 6 decimals and EIP-2612 permit (tests only)
@custom:contract-name MockStablecoin
@notice Stands in for USDC on Arbitrum: 6 decimals and `permit`. Anyone may
        mint, so tests fund their actors directly.
"""


from ethereum.ercs import IERC20
implements: IERC20

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]


exports: (
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
)


@deploy
def __init__():
    ownable.__init__()
    erc20.__init__("Mock USD Coin", "mUSDC", 6, "Mock USD Coin", "2")


@external
def mint(to: address, amount: uint256):
    """
    @notice Mints `amount` units to `to` (anyone may call: tests only).
    @param to The receiver.
    @param amount The amount in units (6 decimals).
    """
    erc20._mint(to, amount)
