# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Session Token (SESH)
@custom:contract-name SessionToken
@license GNU General Public License v3.0 or later
@notice The SESH token: ERC-20 with EIP-2612 permit and EIP-5267 domain
        introspection, 9 decimals and a fixed supply of 240,000,000 SESH
        minted once, at deployment, to a genesis receiver. Nothing this
        contract exposes can mint afterwards; holders may burn their own
        tokens (or tokens they are allowed to spend).
        When deployed on Ethereum (L1) with the addresses of Arbitrum's L1
        custom gateway and gateway router, the owner can register the
        bridged twin (`SessionTokenL2`) with the gateway. The gateway asks
        `isArbitrumEnabled()` during that registration, and only then does
        the token answer `0xb1`.
"""


from ethereum.ercs import IERC20
implements: IERC20

from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed

from snekmate.tokens.interfaces import IERC20Permit
implements: IERC20Permit

from snekmate.utils.interfaces import IERC5267
implements: IERC5267

import interfaces.ISessionToken as ISessionToken
implements: ISessionToken

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]


interface IL1CustomGateway:
    def registerTokenToL2(
        l2_address: address,
        max_gas: uint256,
        gas_price_bid: uint256,
        max_submission_cost: uint256,
        credit_back_address: address,
    ) -> uint256: payable


interface IL1GatewayRouter:
    def setGateway(
        gateway: address,
        max_gas: uint256,
        gas_price_bid: uint256,
        max_submission_cost: uint256,
        credit_back_address: address,
    ) -> uint256: payable


exports: (
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.transfer,
    erc20.approve,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.burn,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    # `erc20.transferFrom` and `erc20.burn_from` are replaced below: spending an
    # allowance logs no `Approval`, as in OpenZeppelin 5 (EIP-20 asks for `Approval`
    # only on `approve`), which saves ~1,300 gas per pull.
    # `erc20.mint`, `erc20.set_minter` and `erc20.is_minter` are deliberately not
    # exported: the supply is fixed at deployment. `erc20.transfer_ownership` and
    # `erc20.renounce_ownership` are replaced by the two-step versions, which only
    # guard the Arbitrum registration.
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    ownable_2step.renounce_ownership,
)


# @dev 1 SESH = 10**9 units.
DECIMALS: constant(uint8) = 9
# @dev The whole supply, minted once: 240,000,000 SESH.
TOTAL_SUPPLY: constant(uint256) = 240_000_000 * 10**9
# @dev The answer Arbitrum's L1 gateways expect from a token they register.
_ARBITRUM_ENABLED: constant(uint8) = 177  # 0xb1


# @dev Arbitrum's L1 custom gateway (zero where the token is not bridged from here).
L1_CUSTOM_GATEWAY: public(immutable(address))
# @dev Arbitrum's L1 gateway router (zero where the token is not bridged from here).
L1_ROUTER: public(immutable(address))


# @dev True only for the duration of `registerTokenOnL2`.
_registering_on_l2: transient(bool)


# @dev Emitted once the token has asked the gateway and the router to register it.
event RegisteredOnL2:
    l2_token: indexed(address)
    gateway: indexed(address)


@deploy
def __init__(genesis_receiver: address, l1_custom_gateway: address, l1_router: address):
    """
    @dev Mints the whole supply to `genesis_receiver`. The deployer becomes the
         owner, whose only power is the Arbitrum registration below.
    @param genesis_receiver The account receiving all 240,000,000 SESH.
    @param l1_custom_gateway Arbitrum's L1 custom gateway, or the zero address.
    @param l1_router Arbitrum's L1 gateway router, or the zero address.
    """
    assert genesis_receiver != empty(address), "token: genesis receiver is the zero address"
    assert (l1_custom_gateway == empty(address)) == (l1_router == empty(address)), (
        "token: set both the gateway and the router, or neither"
    )
    ownable.__init__()
    ownable_2step.__init__()
    erc20.__init__("Session Token", "SESH", DECIMALS, "Session Token", "1")
    erc20._mint(genesis_receiver, TOTAL_SUPPLY)
    # The erc20 module made the deployer a minter; nothing exported can mint, and
    # clearing the role leaves no trace of a minting power in storage either.
    erc20.is_minter[msg.sender] = False
    L1_CUSTOM_GATEWAY = l1_custom_gateway
    L1_ROUTER = l1_router


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` units from `owner` to `to` using the caller's allowance.
    @dev An allowance of `max_value(uint256)` is never decreased. Spending an
         allowance logs no `Approval` (the new allowance is `allowance()`).
    @param owner The account the tokens come from.
    @param to The receiver.
    @param amount The amount in token units.
    @return Always True (failures revert).
    """
    self._spend_allowance(owner, amount)
    erc20._transfer(owner, to, amount)
    return True


@external
def burn_from(owner: address, amount: uint256):
    """
    @notice Burns `amount` units of `owner`'s tokens using the caller's allowance.
    @param owner The account whose tokens are burnt.
    @param amount The amount in token units.
    """
    self._spend_allowance(owner, amount)
    erc20._burn(owner, amount)


@external
@view
def isArbitrumEnabled() -> uint8:
    """
    @notice Arbitrum's custom gateway calls this while registering the token.
    @dev Answers `0xb1` only inside `registerTokenOnL2`, so nobody else can
         register this token with a gateway of their choosing.
    @return The magic value `0xb1`.
    """
    assert self._registering_on_l2, "token: not registering on L2"
    return _ARBITRUM_ENABLED


@external
@payable
@nonreentrant
def registerTokenOnL2(
    l2_token: address,
    max_submission_cost_for_gateway: uint256,
    max_submission_cost_for_router: uint256,
    max_gas_for_gateway: uint256,
    max_gas_for_router: uint256,
    gas_price_bid: uint256,
    value_for_gateway: uint256,
    value_for_router: uint256,
    credit_back_address: address,
):
    """
    @notice Registers `l2_token` as this token's bridged twin with Arbitrum's L1
            custom gateway and points the gateway router at that gateway.
            Named and shaped as Arbitrum's `ICustomToken.registerTokenOnL2`,
            which the Arbitrum SDK's `registerCustomToken` calls.
    @dev Owner only. The value sent pays both retryable tickets and must equal
         `value_for_gateway + value_for_router`.
    @param l2_token The `SessionTokenL2` deployed on Arbitrum.
    @param max_submission_cost_for_gateway Submission cost of the gateway's ticket.
    @param max_submission_cost_for_router Submission cost of the router's ticket.
    @param max_gas_for_gateway L2 gas limit of the gateway's ticket.
    @param max_gas_for_router L2 gas limit of the router's ticket.
    @param gas_price_bid L2 gas price bid for both tickets.
    @param value_for_gateway Wei forwarded to the gateway.
    @param value_for_router Wei forwarded to the router.
    @param credit_back_address Receives any excess L2 fees.
    """
    ownable._check_owner()
    assert L1_CUSTOM_GATEWAY != empty(address), "token: no L1 gateway configured"
    assert l2_token != empty(address), "token: L2 token is the zero address"
    assert msg.value == value_for_gateway + value_for_router, (
        "token: value does not match the two tickets"
    )
    self._registering_on_l2 = True
    extcall IL1CustomGateway(L1_CUSTOM_GATEWAY).registerTokenToL2(
        l2_token,
        max_gas_for_gateway,
        gas_price_bid,
        max_submission_cost_for_gateway,
        credit_back_address,
        value=value_for_gateway,
    )
    extcall IL1GatewayRouter(L1_ROUTER).setGateway(
        L1_CUSTOM_GATEWAY,
        max_gas_for_router,
        gas_price_bid,
        max_submission_cost_for_router,
        credit_back_address,
        value=value_for_router,
    )
    self._registering_on_l2 = False
    log RegisteredOnL2(l2_token=l2_token, gateway=L1_CUSTOM_GATEWAY)


@internal
def _spend_allowance(owner: address, amount: uint256):
    """
    @dev Decreases the caller's allowance over `owner`'s tokens by `amount`; an
         allowance of `max_value(uint256)` is never decreased.
    """
    current_allowance: uint256 = erc20.allowance[owner][msg.sender]
    if current_allowance != max_value(uint256):
        assert current_allowance >= amount, "erc20: insufficient allowance"
        # Safe: checked on the line above.
        erc20.allowance[owner][msg.sender] = unsafe_sub(current_allowance, amount)
