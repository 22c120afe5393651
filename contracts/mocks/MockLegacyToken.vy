# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock old-chain token with chosen decimals (tests only)
@custom:contract-name MockLegacyToken
@notice Stands in for a token converted to SESH (e.g. wrapped OXEN): any
        decimals, and anyone may mint, so tests fund their actors directly.
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
)


@deploy
def __init__(decimals: uint8):
    """
    @param decimals The token's decimals.
    """
    ownable.__init__()
    erc20.__init__("Mock Wrapped Oxen", "wOXEN", decimals, "Mock Wrapped Oxen", "1")


@external
def mint(to: address, amount: uint256):
    """
    @notice Mints `amount` units to `to` (anyone may call: tests only).
    @param to The receiver.
    @param amount The amount in units.
    """
    erc20._mint(to, amount)
