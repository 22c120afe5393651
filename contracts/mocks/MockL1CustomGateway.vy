# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock of Arbitrum's L1 custom gateway (tests only)
@custom:contract-name MockL1CustomGateway
@notice Stands in for Arbitrum's `L1CustomGateway` on a single local chain,
        with the real gateway's rules: registration is asked by the token
        itself (`isArbitrumEnabled() == 0xb1`, which our token answers only
        inside its own `registerTokenOnL2`), and once a token has an L2
        address it can never be moved to another (the same one may be sent
        again); only the counterpart gateway finalizes a withdrawal.
        Deposits escrow the L1 token and deliver the mint to the paired L2
        gateway mock directly (standing in for a retryable ticket).
"""

from ethereum.ercs import IERC20


interface IArbitrumEnabledToken:
    def isArbitrumEnabled() -> uint8: view


interface IMockL2Gateway:
    def register_token(l1_token: address, l2_token: address): nonpayable
    def finalize_inbound_transfer(l1_token: address, sender: address, to: address, amount: uint256): nonpayable


# @dev The L2 gateway mock this gateway talks to.
counterpart: public(address)
# @dev L1 token => its registered L2 token.
l1_to_l2_token: public(HashMap[address, address])
# @dev Retryable ticket ids handed out, counting up from 1.
ticket_count: public(uint256)


event TokenSet:
    l1_token: indexed(address)
    l2_token: indexed(address)


event DepositInitiated:
    l1_token: indexed(address)
    sender: indexed(address)
    to: indexed(address)
    amount: uint256


@external
def set_counterpart(l2_gateway: address):
    assert self.counterpart == empty(address), "gateway: counterpart already set"
    self.counterpart = l2_gateway


@external
@payable
def registerTokenToL2(
    l2_address: address,
    max_gas: uint256,
    gas_price_bid: uint256,
    max_submission_cost: uint256,
    credit_back_address: address,
) -> uint256:
    assert staticcall IArbitrumEnabledToken(msg.sender).isArbitrumEnabled() == 177, (
        "gateway: NOT_ARB_ENABLED"
    )
    current: address = self.l1_to_l2_token[msg.sender]
    # As the real gateway: the first registration is permanent.
    assert current == empty(address) or current == l2_address, (
        "gateway: NO_UPDATE_TO_DIFFERENT_ADDR"
    )
    self.l1_to_l2_token[msg.sender] = l2_address
    self.ticket_count += 1
    if self.counterpart != empty(address):
        extcall IMockL2Gateway(self.counterpart).register_token(msg.sender, l2_address)
    log TokenSet(l1_token=msg.sender, l2_token=l2_address)
    return self.ticket_count


@external
@view
def calculateL2TokenAddress(l1_token: address) -> address:
    """
    @notice The L2 address registered for `l1_token` (zero if none), as the
            real gateway's address oracle; the router checks it.
    """
    return self.l1_to_l2_token[l1_token]


@external
def deposit(l1_token: address, to: address, amount: uint256):
    assert self.l1_to_l2_token[l1_token] != empty(address), "gateway: token not registered"
    assert extcall IERC20(l1_token).transferFrom(msg.sender, self, amount)
    extcall IMockL2Gateway(self.counterpart).finalize_inbound_transfer(l1_token, msg.sender, to, amount)
    log DepositInitiated(l1_token=l1_token, sender=msg.sender, to=to, amount=amount)


@external
def finalize_withdrawal(l1_token: address, to: address, amount: uint256):
    assert msg.sender == self.counterpart, "gateway: only the L2 counterpart"
    assert extcall IERC20(l1_token).transfer(to, amount)
