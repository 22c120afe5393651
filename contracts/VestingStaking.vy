# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Session Network vesting allocation that can stake
@custom:contract-name VestingStaking
@license GNU General Public License v3.0 or later
@notice Holds one beneficiary's SESH allocation and releases it on a schedule:
        nothing before `CLIFF`, then linearly from `START` to `END` (what
        accrued between `START` and `CLIFF` arrives at the cliff), everything
        from `END` on. Meanwhile the locked SESH can work: the beneficiary
        registers solo nodes, contributes to open nodes, withdraws, exits and
        claims through `ServiceNodeStaking` with this contract as the staker.
        Rewards go to the beneficiary as they are claimed; stakes come back here
        and stay under the schedule.
        An optional revoker may revoke: what had vested by then stays the
        beneficiary's, the rest goes to the revoker, including stakes still out,
        which the revoker (or the beneficiary) brings back by exiting and claiming.
@dev The allocation is everything the contract holds or has out:
     `total = balance + staked + released + recovered`, where `staked` is SESH
     out in ServiceNodeStaking (each node's principal, kept in `stake_of`).
     A liquidated stake comes back short and the allocation shrinks with it.
     Before revocation the beneficiary may release `vested(now) - released`,
     at most the balance on hand. Revocation at time T fixes the beneficiary's
     share at `vested(T)` (an amount); the revoker may take whatever the
     balance holds beyond what the beneficiary is still owed, so nothing the
     beneficiary vested ever reaches the revoker, and staked SESH reaches the
     revoker only after it has come back. A claim is split with the staking
     contract's own `claimable` read in the same transaction (its rewards
     leave, its stake stays); the contract checks the SESH that arrived is
     exactly their sum.
"""


from ethereum.ercs import IERC20

import interfaces.IVestingStaking as IVestingStaking
implements: IVestingStaking


# The struct `Reservation` is the interface's (ServiceNodeStaking's own shape).


interface IServiceNodeStaking:
    def register_node(
        ed25519_pubkey: bytes32,
        ed25519_sig: Bytes[64],
        bls_pubkey: Bytes[128],
        bls_pop: Bytes[256],
        endpoint: String[64],
        fee_bps: uint16,
        operator_stake: uint256,
        reserved: DynArray[IVestingStaking.Reservation, 9],
    ) -> uint64: nonpayable
    def contribute(node_id: uint64, amount: uint256): nonpayable
    def withdraw_contribution(node_id: uint64): nonpayable
    def cancel_node(node_id: uint64): nonpayable
    def set_endpoint(node_id: uint64, endpoint: String[64]): nonpayable
    def request_exit(node_id: uint64): nonpayable
    def claim(node_id: uint64): nonpayable
    def distribute(): nonpayable


interface IStakingViews:
    def claimable(node_id: uint64, account: address) -> (uint256, uint256): view


# @dev Longest schedule accepted.
MAX_DURATION: public(constant(uint256)) = 20 * 365 * 86400


# @dev SESH.
TOKEN: public(immutable(IERC20))
# @dev The staking contract this allocation may stake in.
STAKING: public(immutable(IServiceNodeStaking))
# @dev Where `claimable(node_id, account)` is read (the staking contract, or its reader).
STAKING_VIEWS: public(immutable(IStakingViews))
# @dev Linear vesting runs from START to END; nothing is released before CLIFF.
START: public(immutable(uint256))
CLIFF: public(immutable(uint256))
END: public(immutable(uint256))
# @dev Whether the beneficiary may hand the allocation to another address.
TRANSFERABLE: public(immutable(bool))


# @dev Who receives the vested SESH and the rewards, and drives the staking.
beneficiary: public(address)
# @dev Who may revoke (the zero address: nobody).
revoker: public(address)
# @dev When the allocation was revoked (0: not revoked).
revoked_at: public(uint256)
# @dev The beneficiary's share fixed at revocation.
vested_at_revocation: public(uint256)
# @dev SESH released to the beneficiary.
released: public(uint256)
# @dev SESH taken by the revoker after revocation.
recovered: public(uint256)
# @dev SESH out in the staking contract (principal, by `stake_of`).
staked: public(uint256)
# @dev Node id => the principal this contract has in it.
stake_of: public(HashMap[uint64, uint256])
# @dev Rewards claimed through this contract and paid to the beneficiary.
rewards_paid: public(uint256)


# @dev SESH released to the beneficiary.
event Released:
    beneficiary: indexed(address)
    amount: uint256


# @dev The allocation revoked; `vested` stays the beneficiary's.
event Revoked:
    revoker: indexed(address)
    vested: uint256


# @dev SESH taken by the revoker.
event Recovered:
    revoker: indexed(address)
    amount: uint256


# @dev SESH put into a node.
event Staked:
    node_id: indexed(uint64)
    amount: uint256


# @dev A node's principal back (`returned` is short of `principal` after a liquidation).
event Unstaked:
    node_id: indexed(uint64)
    principal: uint256
    returned: uint256


# @dev Rewards claimed from a node and paid to the beneficiary.
event RewardsPaid:
    node_id: indexed(uint64)
    beneficiary: indexed(address)
    amount: uint256


event BeneficiaryTransferred:
    previous: indexed(address)
    beneficiary: indexed(address)


event RevokerTransferred:
    previous: indexed(address)
    revoker: indexed(address)


@deploy
def __init__(
    token: IERC20,
    staking: IServiceNodeStaking,
    staking_views: IStakingViews,
    beneficiary: address,
    revoker: address,
    start: uint256,
    cliff: uint256,
    end: uint256,
    transferable: bool,
):
    """
    @param token SESH.
    @param staking ServiceNodeStaking.
    @param staking_views Where `claimable` is read (the staking contract itself, or its reader).
    @param beneficiary Who receives the vested SESH and the rewards.
    @param revoker Who may revoke; the zero address for an irrevocable allocation.
    @param start Start of the linear schedule (may be in the past).
    @param cliff Nothing is released before it; START <= CLIFF <= END.
    @param end Everything is released from it; END - START at most `MAX_DURATION`.
    @param transferable Whether the beneficiary may hand the allocation on.
    """
    assert token.address != empty(address), "vesting: token is the zero address"
    assert staking.address != empty(address), "vesting: staking is the zero address"
    assert staking_views.address != empty(address), "vesting: views is the zero address"
    assert beneficiary != empty(address), "vesting: beneficiary is the zero address"
    assert start < end, "vesting: start not before end"
    assert start <= cliff and cliff <= end, "vesting: cliff outside the schedule"
    assert end - start <= MAX_DURATION, "vesting: schedule too long"
    TOKEN = token
    STAKING = staking
    STAKING_VIEWS = staking_views
    START = start
    CLIFF = cliff
    END = end
    TRANSFERABLE = transferable
    self.beneficiary = beneficiary
    self.revoker = revoker


# ------------------------------------------------------------------ schedule


@external
@nonreentrant
def release() -> uint256:
    """
    @notice Pays the beneficiary what has vested and is on hand.
    @dev Beneficiary only. Staked SESH is released once it has come back.
    @return SESH units released.
    """
    assert msg.sender == self.beneficiary, "vesting: not the beneficiary"
    amount: uint256 = self._releasable()
    assert amount != 0, "vesting: nothing to release"
    self.released += amount
    log Released(beneficiary=msg.sender, amount=amount)
    self._send(msg.sender, amount)
    return amount


@external
@nonreentrant
def revoke():
    """
    @notice Revokes the allocation: the beneficiary keeps what has vested, the
            rest goes to the revoker as it is on hand.
    @dev Revoker only, once, before `END`. Pays the revoker what is on hand now.
    """
    assert msg.sender == self.revoker and msg.sender != empty(address), "vesting: not the revoker"
    assert self.revoked_at == 0, "vesting: already revoked"
    assert block.timestamp < END, "vesting: fully vested"
    vested: uint256 = self._vested(block.timestamp)
    self.revoked_at = block.timestamp
    self.vested_at_revocation = vested
    log Revoked(revoker=msg.sender, vested=vested)
    amount: uint256 = self._recoverable()
    if amount != 0:
        self.recovered += amount
        log Recovered(revoker=msg.sender, amount=amount)
        self._send(msg.sender, amount)


@external
@nonreentrant
def recover() -> uint256:
    """
    @notice Pays the revoker what has come back since the revocation.
    @dev Revoker only, after `revoke`.
    @return SESH units paid.
    """
    assert msg.sender == self.revoker and msg.sender != empty(address), "vesting: not the revoker"
    assert self.revoked_at != 0, "vesting: not revoked"
    amount: uint256 = self._recoverable()
    assert amount != 0, "vesting: nothing to recover"
    self.recovered += amount
    log Recovered(revoker=msg.sender, amount=amount)
    self._send(msg.sender, amount)
    return amount


@external
def transfer_beneficiary(new_beneficiary: address):
    """
    @notice Hands the allocation (vested, unvested and future rewards) to another address.
    @dev Beneficiary only, and only if the allocation was made transferable.
    @param new_beneficiary The new beneficiary.
    """
    assert msg.sender == self.beneficiary, "vesting: not the beneficiary"
    assert TRANSFERABLE, "vesting: beneficiary not transferable"
    assert new_beneficiary != empty(address), "vesting: beneficiary is the zero address"
    log BeneficiaryTransferred(previous=msg.sender, beneficiary=new_beneficiary)
    self.beneficiary = new_beneficiary


@external
def transfer_revoker(new_revoker: address):
    """
    @notice Hands the right to revoke to another address; the zero address gives it up.
    @dev Revoker only.
    @param new_revoker The new revoker.
    """
    assert msg.sender == self.revoker and msg.sender != empty(address), "vesting: not the revoker"
    log RevokerTransferred(previous=msg.sender, revoker=new_revoker)
    self.revoker = new_revoker


# ------------------------------------------------------------------- staking


@external
@nonreentrant
def register_node(
    ed25519_pubkey: bytes32,
    ed25519_sig: Bytes[64],
    bls_pubkey: Bytes[128],
    bls_pop: Bytes[256],
    endpoint: String[64],
    fee_bps: uint16,
    stake: uint256,
    reserved: DynArray[IVestingStaking.Reservation, 9],
) -> uint64:
    """
    @notice Registers a node operated by this contract with `stake` of the allocation.
    @dev Beneficiary only, not after revocation. The proof of possession must
         name this contract as the operator.
    @param ed25519_pubkey See ServiceNodeStaking.register_node.
    @param ed25519_sig See ServiceNodeStaking.register_node.
    @param bls_pubkey See ServiceNodeStaking.register_node.
    @param bls_pop See ServiceNodeStaking.register_node.
    @param endpoint See ServiceNodeStaking.register_node.
    @param fee_bps See ServiceNodeStaking.register_node.
    @param stake The operator stake, from this contract's balance.
    @param reserved See ServiceNodeStaking.register_node.
    @return The node id.
    """
    self._check_can_stake(stake)
    before: uint256 = staticcall TOKEN.balanceOf(self)
    assert extcall TOKEN.approve(STAKING.address, stake), "vesting: approve failed"
    node_id: uint64 = extcall STAKING.register_node(
        ed25519_pubkey, ed25519_sig, bls_pubkey, bls_pop, endpoint, fee_bps, stake, reserved
    )
    self._record_stake(node_id, stake, before)
    return node_id


@external
@nonreentrant
def contribute(node_id: uint64, amount: uint256):
    """
    @notice Contributes `amount` of the allocation to an open node.
    @dev Beneficiary only, not after revocation.
    @param node_id The node.
    @param amount SESH units.
    """
    self._check_can_stake(amount)
    before: uint256 = staticcall TOKEN.balanceOf(self)
    assert extcall TOKEN.approve(STAKING.address, amount), "vesting: approve failed"
    extcall STAKING.contribute(node_id, amount)
    self._record_stake(node_id, amount, before)


@external
@nonreentrant
def withdraw_contribution(node_id: uint64):
    """
    @notice Takes this contract's contribution back from an open node.
    @dev The beneficiary, or after revocation also the revoker.
    @param node_id The node.
    """
    self._check_driver()
    before: uint256 = staticcall TOKEN.balanceOf(self)
    extcall STAKING.withdraw_contribution(node_id)
    returned: uint256 = staticcall TOKEN.balanceOf(self) - before
    self._unstake(node_id, returned)


@external
@nonreentrant
def cancel_node(node_id: uint64):
    """
    @notice Cancels an open node this contract operates; `claim` then brings the stake back.
    @dev The beneficiary, or after revocation also the revoker.
    @param node_id The node.
    """
    self._check_driver()
    extcall STAKING.cancel_node(node_id)


@external
def set_endpoint(node_id: uint64, endpoint: String[64]):
    """
    @notice Changes the endpoint of a node this contract operates.
    @dev Beneficiary only.
    @param node_id The node.
    @param endpoint "host:port".
    """
    assert msg.sender == self.beneficiary, "vesting: not the beneficiary"
    extcall STAKING.set_endpoint(node_id, endpoint)


@external
@nonreentrant
def request_exit(node_id: uint64):
    """
    @notice Requests the exit of a node this contract operates or contributes to.
    @dev The beneficiary, or after revocation also the revoker.
    @param node_id The node.
    """
    self._check_driver()
    extcall STAKING.request_exit(node_id)


@external
@nonreentrant
def claim(node_id: uint64) -> (uint256, uint256):
    """
    @notice Claims from a node: the rewards go to the beneficiary, the stake
            (once unlocked) comes back here under the schedule.
    @dev The beneficiary, or after revocation also the revoker.
    @param node_id The node.
    @return (rewards paid to the beneficiary, stake returned here).
    """
    self._check_driver()
    # `claimable` counts what is distributed: bring the stream up to date first, so the
    # claim's own `distribute` (same block) adds nothing.
    extcall STAKING.distribute()
    rewards: uint256 = 0
    stake: uint256 = 0
    rewards, stake = staticcall STAKING_VIEWS.claimable(node_id, self)
    before: uint256 = staticcall TOKEN.balanceOf(self)
    extcall STAKING.claim(node_id)
    assert staticcall TOKEN.balanceOf(self) - before == rewards + stake, "vesting: claim mismatch"
    if stake != 0:
        self._unstake(node_id, stake)
    if rewards != 0:
        beneficiary: address = self.beneficiary
        self.rewards_paid += rewards
        log RewardsPaid(node_id=node_id, beneficiary=beneficiary, amount=rewards)
        self._send(beneficiary, rewards)
    return rewards, stake


# --------------------------------------------------------------------- views


@view
@external
def total_allocation() -> uint256:
    """
    @notice The allocation: on hand, staked, released and recovered.
    @return SESH units.
    """
    return self._total()


@view
@external
def vested() -> uint256:
    """
    @notice What the beneficiary has vested by now (fixed at revocation).
    @return SESH units.
    """
    return self._beneficiary_share()


@view
@external
def vested_at(timestamp: uint256) -> uint256:
    """
    @notice What the schedule vests by `timestamp` on today's allocation, ignoring revocation.
    @param timestamp A unix time.
    @return SESH units.
    """
    return self._vested(timestamp)


@view
@external
def releasable() -> uint256:
    """
    @notice What `release` would pay now.
    @return SESH units.
    """
    return self._releasable()


@view
@external
def recoverable() -> uint256:
    """
    @notice What `recover` would pay now (0 before revocation).
    @return SESH units.
    """
    if self.revoked_at == 0:
        return 0
    return self._recoverable()


# ------------------------------------------------------------------ internal


@internal
@view
def _total() -> uint256:
    return staticcall TOKEN.balanceOf(self) + self.staked + self.released + self.recovered


@internal
@view
def _vested(timestamp: uint256) -> uint256:
    if timestamp < CLIFF:
        return 0
    total: uint256 = self._total()
    if timestamp >= END:
        return total
    return total * (timestamp - START) // (END - START)


@internal
@view
def _beneficiary_share() -> uint256:
    if self.revoked_at != 0:
        return self.vested_at_revocation
    return self._vested(block.timestamp)


@internal
@view
def _owed_to_beneficiary() -> uint256:
    share: uint256 = self._beneficiary_share()
    if share <= self.released:
        return 0
    return share - self.released


@internal
@view
def _releasable() -> uint256:
    return min(self._owed_to_beneficiary(), staticcall TOKEN.balanceOf(self))


@internal
@view
def _recoverable() -> uint256:
    balance: uint256 = staticcall TOKEN.balanceOf(self)
    owed: uint256 = self._owed_to_beneficiary()
    if balance <= owed:
        return 0
    return balance - owed


@internal
@view
def _check_can_stake(amount: uint256):
    assert msg.sender == self.beneficiary, "vesting: not the beneficiary"
    assert self.revoked_at == 0, "vesting: revoked"
    assert amount != 0, "vesting: zero amount"
    assert amount <= staticcall TOKEN.balanceOf(self), "vesting: not enough on hand"


@internal
@view
def _check_driver():
    if msg.sender == self.beneficiary:
        return
    assert self.revoked_at != 0 and msg.sender == self.revoker, "vesting: not the beneficiary"


@internal
def _record_stake(node_id: uint64, amount: uint256, before: uint256):
    assert before - staticcall TOKEN.balanceOf(self) == amount, "vesting: stake not taken"
    self.stake_of[node_id] += amount
    self.staked += amount
    log Staked(node_id=node_id, amount=amount)


@internal
def _unstake(node_id: uint64, returned: uint256):
    principal: uint256 = self.stake_of[node_id]
    assert returned <= principal, "vesting: more stake than staked"
    self.stake_of[node_id] = 0
    self.staked -= principal
    log Unstaked(node_id=node_id, principal=principal, returned=returned)


@internal
def _send(to: address, amount: uint256):
    assert extcall TOKEN.transfer(to, amount), "vesting: transfer failed"
