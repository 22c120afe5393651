# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Session Network token converter
@custom:contract-name TokenConverter
@license GNU General Public License v3.0 or later
@notice Converts an existing ERC-20 (the old token, e.g. wrapped OXEN) into SESH
        at a rate fixed at deployment, `RATE_NUMERATOR / RATE_DENOMINATOR` SESH
        units per old unit, from a SESH balance the owner funds. The owner may
        pause conversions; a pause never touches what was already converted.
@dev Accounting, every unit of both tokens:
     - old tokens: every conversion pulls exactly `amount_in` (a token that keeps
       a fee on transfer is refused), and nothing ever sends old tokens out, so
       `OLD_TOKEN.balanceOf(self) >= total_in` (equal unless someone sent old
       tokens directly). Converted old tokens stay locked here for good: they
       leave circulation exactly as if burnt (an old token need not be burnable).
     - SESH: `balanceOf(self) = total_funded - total_out - total_withdrawn`
       (plus anything sent directly, which is then convertible or withdrawable
       like funding).
     - each conversion: `amount_out = floor(amount_in * N / D)`, and of the old
       tokens offered only the smallest `amount_in` that still buys `amount_out`
       is taken, so the rounding never costs the holder a unit more than the
       SESH they get is worth; a conversion worth less than one SESH unit is refused.
     The owner can take unconverted SESH back only while conversions are
     paused, so nobody is surprised by a withdrawal in the middle of a run.
"""


from ethereum.ercs import IERC20

import interfaces.ITokenConverter as ITokenConverter
implements: ITokenConverter

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

from snekmate.utils import pausable
initializes: pausable


exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    # `renounce_ownership` is left out: an ownerless converter could never be
    # unpaused nor have its unconverted SESH taken back.
    pausable.paused,
)


# @dev Bound of each rate term: a numerator and a denominator of at most 10**24
#      cover any decimals gap between 0 and 24 in either direction.
MAX_RATE_TERM: public(constant(uint256)) = 10**24


# @dev SESH, paid out.
SESH: public(immutable(IERC20))
# @dev The token converted from.
OLD_TOKEN: public(immutable(IERC20))
# @dev SESH units per old unit = RATE_NUMERATOR / RATE_DENOMINATOR.
RATE_NUMERATOR: public(immutable(uint256))
RATE_DENOMINATOR: public(immutable(uint256))


# @dev Old tokens taken in by conversions.
total_in: public(uint256)
# @dev SESH paid out by conversions.
total_out: public(uint256)
# @dev SESH the owner (or anyone) brought in through `fund`.
total_funded: public(uint256)
# @dev SESH the owner took back through `withdraw`.
total_withdrawn: public(uint256)


# @dev One conversion.
event Converted:
    account: indexed(address)
    receiver: indexed(address)
    amount_in: uint256
    amount_out: uint256


# @dev SESH brought in for conversions.
event Funded:
    funder: indexed(address)
    amount: uint256


# @dev Unconverted SESH taken back by the owner.
event Withdrawn:
    receiver: indexed(address)
    amount: uint256


@deploy
def __init__(sesh: IERC20, old_token: IERC20, rate_numerator: uint256, rate_denominator: uint256):
    """
    @param sesh SESH.
    @param old_token The token converted from.
    @param rate_numerator SESH units per `rate_denominator` old units; 1 to `MAX_RATE_TERM`.
    @param rate_denominator See `rate_numerator`; 1 to `MAX_RATE_TERM`.
    """
    assert sesh.address != empty(address), "converter: SESH is the zero address"
    assert old_token.address != empty(address), "converter: old token is the zero address"
    assert old_token.address != sesh.address, "converter: old token is SESH"
    assert rate_numerator != 0 and rate_numerator <= MAX_RATE_TERM, (
        "converter: numerator out of bounds"
    )
    assert rate_denominator != 0 and rate_denominator <= MAX_RATE_TERM, (
        "converter: denominator out of bounds"
    )
    ownable.__init__()
    ownable_2step.__init__()
    pausable.__init__()
    SESH = sesh
    OLD_TOKEN = old_token
    RATE_NUMERATOR = rate_numerator
    RATE_DENOMINATOR = rate_denominator


@external
@nonreentrant
def convert(amount: uint256, receiver: address) -> uint256:
    """
    @notice Converts up to `amount` old tokens of the caller into SESH paid to
            `receiver`.
    @dev The caller must have approved `amount` old tokens. Takes only the old
         units the SESH paid is worth (`preview`); the rest stays with the caller.
    @param amount The old tokens offered, in old units.
    @param receiver Who gets the SESH.
    @return The SESH paid, in units.
    """
    pausable._require_not_paused()
    assert receiver != empty(address), "converter: receiver is the zero address"
    # SESH paid to the converter itself would count as paid out yet stay here.
    assert receiver != self, "converter: receiver is the converter"
    amount_in: uint256 = 0
    amount_out: uint256 = 0
    amount_in, amount_out = self._quote(amount)
    assert amount_out != 0, "converter: amount too small"
    assert amount_out <= staticcall SESH.balanceOf(self), "converter: not enough SESH"
    self.total_in += amount_in
    self.total_out += amount_out
    log Converted(account=msg.sender, receiver=receiver, amount_in=amount_in, amount_out=amount_out)
    before: uint256 = staticcall OLD_TOKEN.balanceOf(self)
    assert extcall OLD_TOKEN.transferFrom(msg.sender, self, amount_in, default_return_value=True), (
        "converter: old token transfer failed"
    )
    assert staticcall OLD_TOKEN.balanceOf(self) == before + amount_in, (
        "converter: old token kept a fee"
    )
    assert extcall SESH.transfer(receiver, amount_out), "converter: SESH transfer failed"
    return amount_out


@external
@nonreentrant
def fund(amount: uint256):
    """
    @notice Brings `amount` SESH in for conversions.
    @dev Anyone (the owner, usually); the caller must have approved `amount`.
    @param amount SESH units.
    """
    assert amount != 0, "converter: zero amount"
    self.total_funded += amount
    log Funded(funder=msg.sender, amount=amount)
    assert extcall SESH.transferFrom(msg.sender, self, amount), "converter: SESH transfer failed"


@external
@nonreentrant
def withdraw(amount: uint256):
    """
    @notice Takes unconverted SESH back to the owner.
    @dev Owner only, and only while paused: holders see conversions stop
         before any funding leaves.
    @param amount SESH units, at most the balance.
    """
    ownable._check_owner()
    pausable._require_paused()
    assert amount != 0, "converter: zero amount"
    assert amount <= staticcall SESH.balanceOf(self), "converter: not enough SESH"
    self.total_withdrawn += amount
    log Withdrawn(receiver=msg.sender, amount=amount)
    assert extcall SESH.transfer(msg.sender, amount), "converter: SESH transfer failed"


@external
def pause():
    """
    @notice Stops conversions.
    @dev Owner only.
    """
    ownable._check_owner()
    pausable._pause()


@external
def unpause():
    """
    @notice Allows conversions again.
    @dev Owner only.
    """
    ownable._check_owner()
    pausable._unpause()


@view
@external
def preview(amount: uint256) -> (uint256, uint256):
    """
    @notice What `convert(amount, ...)` would take and pay.
    @param amount Old units offered.
    @return (old units taken, SESH units paid).
    """
    return self._quote(amount)


@view
@external
def available() -> uint256:
    """
    @notice SESH left for conversions.
    @return SESH units.
    """
    return staticcall SESH.balanceOf(self)


@internal
@view
def _quote(amount: uint256) -> (uint256, uint256):
    # floor(amount * N / D) SESH, for the fewest old units worth it: ceil(out * D / N),
    # which is at most `amount` since out * D <= amount * N.
    amount_out: uint256 = amount * RATE_NUMERATOR // RATE_DENOMINATOR
    if amount_out == 0:
        return 0, 0
    amount_in: uint256 = (amount_out * RATE_DENOMINATOR + RATE_NUMERATOR - 1) // RATE_NUMERATOR
    return amount_in, amount_out
