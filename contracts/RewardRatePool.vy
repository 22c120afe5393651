# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Session Network reward pool
@custom:contract-name RewardRatePool
@license GNU General Public License v3.0 or later
@notice Holds the network's reward pool (40,000,000 SESH at launch) and releases
        exactly 14 % of its balance per year, in daily steps, to the staking
        contract. Releasing after `d` whole days since the last release pays
        `balance * (1 - F**d)` with `F = 0.86 ** (1 / 365)`, so a year of
        releases pays 14.000 % of the balance whatever the call pattern (one
        call a year, or one a day). Anyone may send SESH in: name and Pro fees
        arrive this way and grow the rewards.
@dev Days count from deployment (`START`), releases from the day the
     beneficiary was set; a partial day waits for the next call.
     Only tokens the pool held at its last release (or when the beneficiary
     was set) earn: tokens that arrive later start earning at the next
     release, so a pool funded late, or fees arriving while releases lag,
     are never paid for days before they arrived (`earning_balance`).
     `F` is a 36-decimal fixed-point constant; `F**d` is computed by
     exponentiation by squaring, rounding every product up so the payout
     (rounded down) never exceeds the exact figure.
"""


from ethereum.ercs import IERC20

import interfaces.IRewardRatePool as IRewardRatePool
implements: IRewardRatePool

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]


exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    # `renounce_ownership` is left out: an ownerless pool could never get its
    # beneficiary set (docs/decisions.md).
)


# @dev Fixed-point one: 36 decimals.
ONE: public(constant(uint256)) = 10**36
# @dev 0.86 ** (1/365) to 36 decimals, rounded down (the 37th digit is 0).
DAILY_FACTOR: public(constant(uint256)) = 999586871964364604355980143256095640
# @dev The length of a release step.
DAY: public(constant(uint256)) = 86400


# @dev The token released (SESH).
TOKEN: public(immutable(IERC20))
# @dev The timestamp days are counted from (deployment).
START: public(immutable(uint256))


# @dev The only account that may call `release` (the staking contract); set once.
beneficiary: public(address)
# @dev Whole days since `START` already released.
released_days: public(uint256)
# @dev The balance that earns: what the pool held at its last release (or when the
#      beneficiary was set), less that release. Later arrivals earn from the next release.
earning_balance: public(uint256)
# @dev Everything released so far, in token units.
total_released: public(uint256)


# @dev Emitted once, when the beneficiary is fixed.
event BeneficiarySet:
    beneficiary: indexed(address)


# @dev Emitted on every release that pays something or covers at least a day.
event Released:
    beneficiary: indexed(address)
    amount: uint256
    days: uint256
    balance_after: uint256


@deploy
def __init__(token: IERC20):
    """
    @param token SESH. The pool is funded by plain transfers after deployment.
    """
    assert token.address != empty(address), "pool: token is the zero address"
    ownable.__init__()
    ownable_2step.__init__()
    TOKEN = token
    START = block.timestamp


@external
def set_beneficiary(beneficiary: address):
    """
    @notice Fixes the account releases go to (the staking contract), once only,
            and starts the pool's clock: no day before this one is ever paid.
    @dev Owner only. The beneficiary can never change afterwards
         (docs/decisions.md). What the pool holds now earns from today.
    @param beneficiary The staking contract.
    """
    ownable._check_owner()
    assert beneficiary != empty(address), "pool: beneficiary is the zero address"
    assert self.beneficiary == empty(address), "pool: beneficiary already set"
    self.beneficiary = beneficiary
    self.released_days = self._today()
    self.earning_balance = staticcall TOKEN.balanceOf(self)
    log BeneficiarySet(beneficiary=beneficiary)


@external
@nonreentrant
def release() -> uint256:
    """
    @notice Pays the beneficiary what the whole days since the last release earned:
            `earning_balance * (1 - F**days)`, rounded down; then everything the
            pool holds earns from today.
    @dev Beneficiary only. Returns 0 (and pays nothing) within the same day.
    @return The amount paid, in token units.
    """
    assert msg.sender == self.beneficiary, "pool: caller is not the beneficiary"
    today: uint256 = self._today()
    days: uint256 = today - self.released_days
    if days == 0:
        return 0
    balance: uint256 = staticcall TOKEN.balanceOf(self)
    amount: uint256 = self._releasable(self.earning_balance, days)
    self.released_days = today
    self.earning_balance = balance - amount
    self.total_released += amount
    log Released(beneficiary=msg.sender, amount=amount, days=days, balance_after=balance - amount)
    if amount != 0:
        assert extcall TOKEN.transfer(msg.sender, amount, default_return_value=True), (
            "pool: transfer failed"
        )
    return amount


@external
@view
def preview_release() -> uint256:
    """
    @notice What `release()` would pay now.
    @return The amount in token units.
    """
    days: uint256 = self._today() - self.released_days
    if days == 0:
        return 0
    return self._releasable(self.earning_balance, days)


@external
@view
def pending_days() -> uint256:
    """
    @notice Whole days not yet released.
    @return The number of days `release()` would cover now.
    """
    return self._today() - self.released_days


@external
@pure
def retained_fraction(days: uint256) -> uint256:
    """
    @notice `F**days` in 36-decimal fixed point (what stays in the pool).
    @param days The number of whole days.
    @return `F**days * 10**36`, rounded up.
    """
    return self._pow_up(DAILY_FACTOR, days)


@internal
@view
def _today() -> uint256:
    return (block.timestamp - START) // DAY


@internal
@pure
def _releasable(balance: uint256, days: uint256) -> uint256:
    # Safe: _pow_up of a factor below ONE is at most ONE.
    return balance * unsafe_sub(ONE, self._pow_up(DAILY_FACTOR, days)) // ONE


@internal
@pure
def _mul_up(a: uint256, b: uint256) -> uint256:
    # Both operands are at most ONE (10**36): the product fits in 2**256.
    product: uint256 = a * b
    return product // ONE + convert(product % ONE != 0, uint256)


@internal
@pure
def _pow_up(base: uint256, exponent: uint256) -> uint256:
    """
    @dev `base**exponent` in fixed point by squaring, every product rounded up.
         `base` must not exceed `ONE`.
    """
    result: uint256 = ONE
    square: uint256 = base
    remaining: uint256 = exponent
    # 256 rounds cover every uint256 exponent; the loop ends as soon as it is consumed.
    for _: uint256 in range(256):
        if remaining == 0:
            break
        if remaining & 1 == 1:
            result = self._mul_up(result, square)
        remaining >>= 1
        if remaining != 0:
            square = self._mul_up(square, square)
    return result
