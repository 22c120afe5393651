# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Session Token (SESH), bridged to Arbitrum
@custom:contract-name SessionTokenL2
@license GNU General Public License v3.0 or later
@notice SESH as an Arbitrum custom-gateway token: the same name, symbol,
        9 decimals, permit and EIP-5267 as `SessionToken`, with no supply of
        its own. Arbitrum's L2 custom gateway mints what is deposited on L1
        (`bridgeMint`) and burns what is withdrawn to L1 (`bridgeBurn`);
        nobody else can mint. Holders may burn their own tokens.
"""


from ethereum.ercs import IERC20
implements: IERC20

from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed

from snekmate.tokens.interfaces import IERC20Permit
implements: IERC20Permit

from snekmate.utils.interfaces import IERC5267
implements: IERC5267

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
    erc20.burn,
    erc20.burn_from,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    # Nothing of `ownable` is exported and `erc20.mint`/`erc20.set_minter` are left
    # out: the bridged token has no owner and only the gateway changes its supply.
)


# @dev 1 SESH = 10**9 units, as on L1.
DECIMALS: constant(uint8) = 9


# @dev Arbitrum's L2 custom gateway, the only account that may mint or burn.
l2Gateway: public(immutable(address))
# @dev The `SessionToken` on L1 this token is the bridged twin of.
l1Address: public(immutable(address))


@deploy
def __init__(l2_gateway: address, l1_token: address):
    """
    @param l2_gateway Arbitrum's L2 custom gateway.
    @param l1_token The `SessionToken` deployed on L1.
    """
    assert l2_gateway != empty(address), "token: L2 gateway is the zero address"
    assert l1_token != empty(address), "token: L1 token is the zero address"
    ownable.__init__()
    erc20.__init__("Session Token", "SESH", DECIMALS, "Session Token", "1")
    erc20.is_minter[msg.sender] = False
    l2Gateway = l2_gateway
    l1Address = l1_token


@external
def bridgeMint(account: address, amount: uint256):
    """
    @notice Mints tokens deposited on L1.
    @dev Only the L2 custom gateway.
    @param account The receiver on L2.
    @param amount The amount in token units.
    """
    assert msg.sender == l2Gateway, "token: only the L2 gateway"
    erc20._mint(account, amount)


@external
def bridgeBurn(account: address, amount: uint256):
    """
    @notice Burns tokens being withdrawn to L1.
    @dev Only the L2 custom gateway, which has checked that `account` asked.
    @param account The holder on L2.
    @param amount The amount in token units.
    """
    assert msg.sender == l2Gateway, "token: only the L2 gateway"
    erc20._burn(account, amount)
