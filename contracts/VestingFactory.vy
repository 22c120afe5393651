# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Session Network vesting factory
@custom:contract-name VestingFactory
@license GNU General Public License v3.0 or later
@notice Deploys one `VestingStaking` per allocation from a blueprint and funds
        it from the caller in the same transaction, so an allocation never
        exists unfunded. Keeps the list of what it made, so anyone can tell a
        genuine allocation contract from a look-alike.
@dev Anyone may create an allocation: it is funded from the caller's own SESH.
"""


from ethereum.ercs import IERC20

import interfaces.IVestingFactory as IVestingFactory
implements: IVestingFactory


# @dev SESH.
TOKEN: public(immutable(IERC20))
# @dev ServiceNodeStaking, handed to every allocation.
STAKING: public(immutable(address))
# @dev Where allocations read `claimable` (the staking contract, or its reader).
STAKING_VIEWS: public(immutable(address))
# @dev The `VestingStaking` blueprint.
BLUEPRINT: public(immutable(address))


# @dev Whether an address is an allocation this factory made.
is_vesting: public(HashMap[address, bool])
# @dev Allocations made, in order.
vestings: public(DynArray[address, 2**32])


# @dev One allocation made and funded.
event VestingCreated:
    vesting: indexed(address)
    beneficiary: indexed(address)
    revoker: indexed(address)
    funder: address
    amount: uint256
    start: uint256
    cliff: uint256
    end: uint256
    transferable: bool


@deploy
def __init__(token: IERC20, staking: address, staking_views: address, blueprint: address):
    """
    @param token SESH.
    @param staking ServiceNodeStaking.
    @param staking_views Where allocations read `claimable`; the zero address means `staking`.
    @param blueprint The `VestingStaking` blueprint (EIP-5202).
    """
    assert token.address != empty(address), "vesting factory: token is the zero address"
    assert staking != empty(address), "vesting factory: staking is the zero address"
    assert blueprint.codesize != 0, "vesting factory: no blueprint"
    TOKEN = token
    STAKING = staking
    STAKING_VIEWS = staking_views if staking_views != empty(address) else staking
    BLUEPRINT = blueprint


@external
@nonreentrant
def create_vesting(
    beneficiary: address,
    revoker: address,
    start: uint256,
    cliff: uint256,
    end: uint256,
    transferable: bool,
    amount: uint256,
) -> address:
    """
    @notice Deploys an allocation and funds it with `amount` SESH of the caller.
    @dev The caller must have approved `amount` to this factory. The schedule's
         bounds are checked by the allocation's constructor.
    @param beneficiary Who receives the vested SESH and the rewards.
    @param revoker Who may revoke; the zero address for an irrevocable allocation.
    @param start Start of the linear schedule.
    @param cliff Nothing is released before it.
    @param end Everything is released from it.
    @param transferable Whether the beneficiary may hand the allocation on.
    @param amount SESH units to lock.
    @return The allocation's address.
    """
    assert amount != 0, "vesting factory: zero amount"
    vesting: address = create_from_blueprint(
        BLUEPRINT,
        TOKEN,
        STAKING,
        STAKING_VIEWS,
        beneficiary,
        revoker,
        start,
        cliff,
        end,
        transferable,
    )
    self.is_vesting[vesting] = True
    self.vestings.append(vesting)
    log VestingCreated(
        vesting=vesting,
        beneficiary=beneficiary,
        revoker=revoker,
        funder=msg.sender,
        amount=amount,
        start=start,
        cliff=cliff,
        end=end,
        transferable=transferable,
    )
    assert extcall TOKEN.transferFrom(msg.sender, vesting, amount), "vesting factory: transfer failed"
    return vesting


@view
@external
def vesting_count() -> uint256:
    """
    @notice How many allocations this factory made.
    @return The count.
    """
    return len(self.vestings)
