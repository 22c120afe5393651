# pragma version ~=0.4.3
# pragma evm-version prague
# pragma optimize codesize
"""
@title Session Network service-node staking
@custom:contract-name ServiceNodeStaking
@license GNU General Public License v3.0 or later
@notice Operators register service nodes and stake SESH; delegators fill the
        rest of the stake. A full stake activates the node: its BLS key joins
        the network's aggregate key and it earns an equal share of the reward
        pool's daily releases, split by the operator's fee and then by stake.
        Nodes leave by request (after `exit_delay`), by a fast exit signed by
        the network, or are removed (or liquidated) by an aggregate BLS
        signature of at least two thirds of the active nodes.
@dev Node life: Open -> Active -> Exiting -> Exited; Open -> Cancelled;
     Active/Exiting -> Exited by a network signature. Rewards: each pool
     day's release is streamed evenly over the following pool day, and every
     second of the stream is shared equally by the nodes active in it, through
     a global per-node accumulator (`reward_per_node`) that every node's
     accrual is a difference of, so `distribute` and `claim` cost the same with
     10 or with 2,000 active nodes. Each contributor's part of an accrual is a
     floor of its own (never decreasing). Token amounts fit in 64 bits (the whole supply is
     2.4e17 units < 2**64), so each node keeps its state in three packed words,
     each contributor in one, and a BLS key in three.
     Every state change first calls `_distribute`, which brings the stream up
     to date and pulls the pool at most once per pool day.
"""


from ethereum.ercs import IERC20

import interfaces.IServiceNodeStaking as IServiceNodeStaking
implements: IServiceNodeStaking

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

from snekmate.utils import pausable
initializes: pausable

from .modules import bls12_381


interface IRewardRatePool:
    def release() -> uint256: nonpayable
    def START() -> uint256: view


interface IBLSVerifier:
    def verify(pubkey: Bytes[128], message: bytes32, signature: Bytes[256]) -> bool: view
    def verify_possession(pubkey: Bytes[128], message: bytes32, proof: Bytes[256]) -> bool: view
    def check_pubkey(pubkey: Bytes[128]) -> bool: view


interface IServiceNodeStakingExtension:
    def TOKEN() -> address: view
    def POOL() -> address: view
    def VERIFIER() -> address: view


interface IERC20Permit:
    def permit(
        owner: address,
        spender: address,
        amount: uint256,
        deadline: uint256,
        v: uint8,
        r: bytes32,
        s: bytes32,
    ): nonpayable


exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    # `renounce_ownership` is left out: an ownerless contract could never be
    # unpaused (docs/decisions.md).
    pausable.paused,
)


# The structs `Reservation`, `NodeView` and `ContributionView` are the interface's.


# @dev Node statuses (`node(id).status`).
STATUS_NONE: constant(uint8) = 0
STATUS_OPEN: public(constant(uint8)) = 1
STATUS_ACTIVE: public(constant(uint8)) = 2
STATUS_EXITING: public(constant(uint8)) = 3
STATUS_EXITED: public(constant(uint8)) = 4
STATUS_CANCELLED: public(constant(uint8)) = 5

# @dev `NodeExited.reason` values.
EXIT_FINALIZED: public(constant(uint8)) = 0
EXIT_NETWORK: public(constant(uint8)) = 1
EXIT_REMOVED: public(constant(uint8)) = 2
EXIT_LIQUIDATED: constant(uint8) = 3
EXIT_CANCELLED: public(constant(uint8)) = 4

# @dev Contributors per node, the operator included.
MAX_CONTRIBUTORS: public(constant(uint256)) = 10
# @dev A contributor may withdraw from an open node this long after contributing.
WITHDRAW_DELAY: public(constant(uint256)) = 86400
# @dev A network-signed fast exit needs the node to have been active this long.
MIN_EXIT_AGE: public(constant(uint256)) = 7200
# @dev ... and its exit requested this long before the network signed it: time for
#      the network to see a node that stops serving after its request (and refuse).
MIN_EXIT_NOTICE: public(constant(uint256)) = 7200
# @dev Network signatures older than this are refused.
SIGNATURE_EXPIRY: public(constant(uint256)) = 600
# @dev Contributors of less than a quarter of the stake may request an exit after this.
SMALL_CONTRIBUTOR_EXIT_AGE: public(constant(uint256)) = 30 * 86400
# @dev Activations allowed per block: max(MIN_ACTIVATIONS_PER_BLOCK, 2 % of active nodes).
MIN_ACTIVATIONS_PER_BLOCK: public(constant(uint256)) = 20
# @dev Of a liquidation penalty, 3/20 to the caller and 17/20 to the reward pool.
LIQUIDATOR_SHARE_NUMERATOR: constant(uint256) = 3
LIQUIDATOR_SHARE_DENOMINATOR: constant(uint256) = 20
# @dev The most non-signers one network signature may list (supports 3,072 nodes).
MAX_NON_SIGNERS: constant(uint256) = 1024
# @dev Nodes one `claim_many` call may claim.
MAX_CLAIMS: constant(uint256) = 64
# @dev Activations remembered for network signatures: a signature is checked against
#      the nodes active before its timestamp, so those activated since (at most this
#      many) are left out of the aggregate key.
RECENT_ACTIVATIONS: public(constant(uint256)) = 32

_BPS: constant(uint256) = 10_000
_DAY: constant(uint256) = 86400
_MASK64: constant(uint256) = 2**64 - 1
_MASK128: constant(uint256) = 2**128 - 1
_MASK160: constant(uint256) = 2**160 - 1
_TAG_POP: constant(bytes32) = 0x534553485f504f50000000000000000000000000000000000000000000000000  # "SESH_POP"
_TAG_EXIT: constant(bytes32) = 0x534553485f455849540000000000000000000000000000000000000000000000  # "SESH_EXIT"
_TAG_REMOVE: constant(bytes32) = 0x534553485f52454d4f5645000000000000000000000000000000000000000000  # "SESH_REMOVE"
_TAG_LIQUIDATE: constant(bytes32) = 0x534553485f4c4951554944415445000000000000000000000000000000000000  # "SESH_LIQUIDATE"
# @dev `last_update` of the rewards word in the seeding phase (before `start`).
_NOT_STARTED: constant(uint256) = 2**64 - 1


# @dev SESH.
TOKEN: public(immutable(IERC20))
# @dev The reward pool this contract is the beneficiary of.
POOL: public(immutable(IRewardRatePool))
# @dev The stateless BLS verifier (hash-to-curve and pairing live there).
VERIFIER: public(immutable(IBLSVerifier))
# @dev The pool's day zero (its days are counted from it).
_POOL_START: immutable(uint256)
# @dev The extension (`ServiceNodeStakingExtension`) this contract delegates the calls it
#      does not know to: the owner's setters and the seeding phase.
EXTENSION: public(immutable(address))


# @dev Stake a node needs to activate (for nodes registered from now on).
staking_requirement: public(uint256)
# @dev Wait between an exit request (or a removal, or a liquidation) and the unlock
#      of the stakes, for nodes registered from now on (each node keeps its own).
exit_delay: public(uint256)
# @dev Share of each stake a liquidation takes, in basis points, for nodes
#      registered from now on (each node keeps its own).
liquidation_penalty_bps: public(uint256)

# @dev The last node id handed out (ids count up from 1).
node_count: public(uint64)
# @dev reward_per_node (64) | undistributed (64) | last_update (64) | active_nodes (64):
#      rewards streamed to every active node since deployment, streamed rewards not yet
#      credited (rounding remainders, time without active nodes), when the two were
#      last brought up to date, and the nodes Active or Exiting.
_rewards: uint256
# @dev amount (64) | start (64) | end (64) | pool_day (64): the release being streamed,
#      evenly over [start, end), and the pool day it was pulled on.
_stream: uint256
# @dev The block (timestamp) of the last activation; activations since deployment (128) |
#      activations in that block (128).
_activation_block: uint256
_activation_counts: uint256

# @dev The sum of the BLS keys of all Active/Exiting nodes, packed (`bls12_381._g1_pack`).
_aggregate_key: bytes32[3]
# @dev Node id => operator (160) | status (8) | fee_bps (16) | exit_reason (8) | activated_at (64).
_node_meta: HashMap[uint64, uint256]
# @dev Node id => requirement (64) | total stake (64) | reward_start (64) | reward_end (64).
_node_stake: HashMap[uint64, uint256]
# @dev Node id => exit_requested_at (64) | unlock_time (64) | penalty_bps (16) |
#      unfilled reservations (64) | exit_delay (32); penalty and delay fixed at registration.
_node_exit: HashMap[uint64, uint256]
# @dev Node id => its BLS key, packed.
_node_bls: HashMap[uint64, bytes32[3]]
# @dev Node id => its contributors other than the operator (reservations included).
_delegators: HashMap[uint64, DynArray[address, 9]]
# @dev Node id => account => stake (64) | reserved (64) | claimed rewards (64) | contributed_at (56) | stake claimed (1).
_contribution: HashMap[uint64, HashMap[address, uint256]]
# @dev The ids of the last `RECENT_ACTIVATIONS` nodes activated live (not seeded), a ring:
#      activation number n (from 0) is at n % RECENT_ACTIVATIONS.
#      Everything above and this are the extension's storage too, in the same order.
_recent_activations: uint64[RECENT_ACTIVATIONS]
# @dev The SESH this contract owes (stakes, rewards, the stream): what it pulled and was
#      released, less what it sent. SESH above it arrived by plain transfer (`sweep`).
_held: uint256


event NodeRegistered:
    node_id: indexed(uint64)
    operator: indexed(address)
    ed25519_pubkey: bytes32
    ed25519_sig: Bytes[64]
    bls_pubkey: Bytes[128]
    endpoint: String[64]
    fee_bps: uint16


event Contributed:
    node_id: indexed(uint64)
    contributor: indexed(address)
    amount: uint256
    total: uint256


event ContributionWithdrawn:
    node_id: indexed(uint64)
    contributor: indexed(address)
    amount: uint256


event NodeActivated:
    node_id: indexed(uint64)


event ExitRequested:
    node_id: indexed(uint64)
    requester: indexed(address)
    unlock_time: uint256


event NodeExited:
    node_id: indexed(uint64)
    reason: uint8


event EndpointUpdated:
    node_id: indexed(uint64)
    endpoint: String[64]


event RewardsDistributed:
    amount: uint256
    active_nodes: uint256
    reward_per_node: uint256


event Claimed:
    node_id: indexed(uint64)
    account: indexed(address)
    rewards: uint256
    stake: uint256


event Liquidated:
    node_id: indexed(uint64)
    liquidator: indexed(address)
    penalty: uint256
    to_liquidator: uint256
    to_pool: uint256


@deploy
def __init__(
    token: IERC20, pool: IRewardRatePool, verifier: IBLSVerifier, extension: address, seeding: bool
):
    """
    @param token SESH.
    @param pool The reward pool; its owner must then `set_beneficiary` to this contract.
    @param verifier The deployed `BLSVerifier`.
    @param extension The deployed `ServiceNodeStakingExtension` for this token, pool and
           verifier: the owner's setters and the seeding phase run in its code.
    @param seeding False for a contract live at once; true to start in the seeding phase,
           in which the owner imports the running network's nodes (`seed_nodes`) until
           `start`, and nothing else happens.
    """
    assert token.address != empty(address), "staking: token is the zero address"
    assert pool.address != empty(address), "staking: pool is the zero address"
    assert verifier.address != empty(address), "staking: verifier is the zero address"
    assert (
        extension.is_contract
        and staticcall IServiceNodeStakingExtension(extension).TOKEN() == token.address
        and staticcall IServiceNodeStakingExtension(extension).POOL() == pool.address
        and staticcall IServiceNodeStakingExtension(extension).VERIFIER() == verifier.address
    ), "staking: extension for other contracts"
    ownable.__init__()
    ownable_2step.__init__()
    pausable.__init__()
    TOKEN = token
    POOL = pool
    VERIFIER = verifier
    EXTENSION = extension
    _POOL_START = staticcall pool.START()
    self.staking_requirement = 25_000 * 10**9
    self.exit_delay = 30 * 86400
    self.liquidation_penalty_bps = 20
    # An empty stream ending at the next pool day, where the first release starts.
    today: uint256 = (block.timestamp - _POOL_START) // _DAY
    end: uint256 = _POOL_START + (today + 1) * _DAY
    self._stream = (today << 192) | (end << 128) | ((end - _DAY) << 64)
    self._rewards = block.timestamp << 128
    if seeding:
        self._rewards = _NOT_STARTED << 128


# ---------------------------------------------------------------- registration


@external
@nonreentrant
def register_node(
    ed25519_pubkey: bytes32,
    ed25519_sig: Bytes[64],
    bls_pubkey: Bytes[128],
    bls_pop: Bytes[256],
    endpoint: String[64],
    fee_bps: uint16,
    operator_stake: uint256,
    reserved: DynArray[IServiceNodeStaking.Reservation, 9],
) -> uint64:
    """
    @notice Registers a service node and stakes the operator's part. A stake that
            covers the whole requirement activates the node at once.
    @dev The caller is the operator and must have approved `operator_stake`.
         `ed25519_sig` signs `ed25519_pubkey || bls_pubkey` and is checked by the
         nodes (the EVM cannot check Ed25519); `bls_pop` is a BLS signature with
         the POP DST of the `SESH_POP` message and is checked here.
    @param ed25519_pubkey The node's Ed25519 key (its identity in the network).
    @param ed25519_sig The Ed25519 signature of `ed25519_pubkey || bls_pubkey`.
    @param bls_pubkey The node's BLS key, EIP-2537 G1 encoding.
    @param bls_pop The proof of possession, EIP-2537 G2 encoding.
    @param endpoint "host:port" of the node's public API.
    @param fee_bps The operator's fee on the node's rewards, at most 10,000.
    @param operator_stake The operator's stake, at least a quarter of the requirement.
    @param reserved Slots held for named delegators: (account, amount).
    @return The new node id.
    """
    return self._register(
        ed25519_pubkey, ed25519_sig, bls_pubkey, bls_pop, endpoint, fee_bps, operator_stake, reserved
    )


@external
@nonreentrant
def register_node_with_permit(
    ed25519_pubkey: bytes32,
    ed25519_sig: Bytes[64],
    bls_pubkey: Bytes[128],
    bls_pop: Bytes[256],
    endpoint: String[64],
    fee_bps: uint16,
    operator_stake: uint256,
    reserved: DynArray[IServiceNodeStaking.Reservation, 9],
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
) -> uint64:
    """
    @notice `register_node` with an EIP-2612 permit for the operator's stake.
    @dev A permit already used (front-run) is ignored when the allowance suffices.
    @param ed25519_pubkey See `register_node`.
    @param ed25519_sig See `register_node`.
    @param bls_pubkey See `register_node`.
    @param bls_pop See `register_node`.
    @param endpoint See `register_node`.
    @param fee_bps See `register_node`.
    @param operator_stake See `register_node`.
    @param reserved See `register_node`.
    @param deadline The permit's deadline.
    @param v The permit signature's v.
    @param r The permit signature's r.
    @param s The permit signature's s.
    @return The new node id.
    """
    self._permit(operator_stake, deadline, v, r, s)
    return self._register(
        ed25519_pubkey, ed25519_sig, bls_pubkey, bls_pop, endpoint, fee_bps, operator_stake, reserved
    )


@external
@nonreentrant
def contribute(node_id: uint64, amount: uint256):
    """
    @notice Adds `amount` to an open node's stake; the contribution that fills
            the stake activates the node.
    @dev A new public contributor must bring at least ceil(remaining / free
         slots); a reserved delegator at least their reservation; a contributor
         already in may top up by any amount up to what is left.
    @param node_id The node.
    @param amount The amount in token units.
    """
    self._contribute(node_id, amount)


@external
@nonreentrant
def contribute_with_permit(
    node_id: uint64, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32
):
    """
    @notice `contribute` with an EIP-2612 permit.
    @param node_id The node.
    @param amount The amount in token units.
    @param deadline The permit's deadline.
    @param v The permit signature's v.
    @param r The permit signature's r.
    @param s The permit signature's s.
    """
    self._permit(amount, deadline, v, r, s)
    self._contribute(node_id, amount)


@external
@nonreentrant
def withdraw_contribution(node_id: uint64):
    """
    @notice Takes back the caller's whole contribution to an open node.
    @dev Not the operator (who cancels instead); `WITHDRAW_DELAY` after the
         caller's last contribution. A reserved delegator's slot stays reserved.
    @param node_id The node.
    """
    self._distribute()
    meta: uint256 = self._existing_meta(node_id)
    assert self._status(meta) == STATUS_OPEN, "staking: node not open"
    assert msg.sender != self._operator(meta), "staking: operator must cancel"
    word: uint256 = self._contribution[node_id][msg.sender]
    amount: uint256 = word & _MASK64
    assert amount != 0, "staking: nothing contributed"
    assert block.timestamp >= ((word >> 192) & (2**56 - 1)) + WITHDRAW_DELAY, (
        "staking: withdrawal too early"
    )
    reserved: uint256 = (word >> 64) & _MASK64
    stake_word: uint256 = self._node_stake[node_id]
    self._node_stake[node_id] = stake_word - (amount << 64)
    if reserved != 0:
        # The slot stays held for the named delegator.
        self._contribution[node_id][msg.sender] = reserved << 64
        self._node_exit[node_id] = self._node_exit[node_id] + (reserved << 144)
    else:
        self._contribution[node_id][msg.sender] = 0
        self._remove_delegator(node_id, msg.sender)
    log ContributionWithdrawn(node_id=node_id, contributor=msg.sender, amount=amount)
    self._send(msg.sender, amount)


@external
@nonreentrant
def cancel_node(node_id: uint64):
    """
    @notice Cancels an open node; every contributor can then claim their stake back.
    @dev Operator only.
    @param node_id The node.
    """
    self._distribute()
    meta: uint256 = self._existing_meta(node_id)
    assert msg.sender == self._operator(meta), "staking: not the operator"
    assert self._status(meta) == STATUS_OPEN, "staking: node not open"
    self._node_meta[node_id] = self._with_status(meta, STATUS_CANCELLED) | (
        convert(EXIT_CANCELLED, uint256) << 184
    )
    exit_word: uint256 = self._node_exit[node_id]
    self._node_exit[node_id] = (exit_word & ~(_MASK64 << 64)) | (block.timestamp << 64)
    log NodeExited(node_id=node_id, reason=EXIT_CANCELLED)


@external
@nonreentrant
def set_endpoint(node_id: uint64, endpoint: String[64]):
    """
    @notice Changes the address of a node's public API.
    @dev Operator only, while the node is Open, Active or Exiting.
    @param node_id The node.
    @param endpoint The new "host:port".
    """
    meta: uint256 = self._existing_meta(node_id)
    assert msg.sender == self._operator(meta), "staking: not the operator"
    status: uint8 = self._status(meta)
    assert status != STATUS_EXITED and status != STATUS_CANCELLED, "staking: node has left"
    assert len(endpoint) != 0, "staking: empty endpoint"
    log EndpointUpdated(node_id=node_id, endpoint=endpoint)


# ---------------------------------------------------------------------- exits


@external
@nonreentrant
def request_exit(node_id: uint64):
    """
    @notice Starts an active node's exit; its stakes unlock `exit_delay` later.
    @dev The operator or a contributor of at least a quarter of the stake, at any
         time while Active; smaller contributors once the node has been active
         for `SMALL_CONTRIBUTOR_EXIT_AGE`. The node keeps serving and earning.
    @param node_id The node.
    """
    self._distribute()
    meta: uint256 = self._existing_meta(node_id)
    assert self._status(meta) == STATUS_ACTIVE, "staking: node not active"
    if msg.sender != self._operator(meta):
        stake: uint256 = self._contribution[node_id][msg.sender] & _MASK64
        assert stake != 0, "staking: not a contributor"
        total: uint256 = (self._node_stake[node_id] >> 64) & _MASK64
        if stake * 4 < total:
            assert block.timestamp >= self._activated_at(meta) + SMALL_CONTRIBUTOR_EXIT_AGE, (
                "staking: stake < 25%: wait 30d"
            )
    exit_word: uint256 = self._node_exit[node_id] & ~(2**128 - 1)
    unlock_time: uint256 = block.timestamp + self._exit_delay_of(exit_word)
    self._node_meta[node_id] = self._with_status(meta, STATUS_EXITING)
    self._node_exit[node_id] = exit_word | (unlock_time << 64) | block.timestamp
    log ExitRequested(node_id=node_id, requester=msg.sender, unlock_time=unlock_time)


@external
@nonreentrant
def finalize_exit(node_id: uint64):
    """
    @notice Completes an exit whose delay has passed; the stakes unlock at once.
    @dev Anyone.
    @param node_id The node.
    """
    self._distribute()
    meta: uint256 = self._existing_meta(node_id)
    assert self._status(meta) == STATUS_EXITING, "staking: no exit requested"
    unlock_time: uint256 = (self._node_exit[node_id] >> 64) & _MASK64
    assert block.timestamp >= unlock_time, "staking: exit delay not over"
    self._deactivate(node_id, meta, EXIT_FINALIZED, block.timestamp)


@external
@nonreentrant
def exit_with_signature(
    node_id: uint64,
    timestamp: uint256,
    signature: Bytes[256],
    non_signers: DynArray[uint64, MAX_NON_SIGNERS],
):
    """
    @notice Completes a requested exit at once, with the network's signature of
            `SESH_EXIT` for this node.
    @dev Anyone may submit. The node must have been active for `MIN_EXIT_AGE` and
         the network must have signed at least `MIN_EXIT_NOTICE` after the node's
         exit request. Stakes unlock at once.
    @param node_id The node.
    @param timestamp When the network signed (at most `SIGNATURE_EXPIRY` ago).
    @param signature The aggregate signature, EIP-2537 G2 encoding.
    @param non_signers Active node ids that did not sign, ascending.
    """
    self._distribute()
    meta: uint256 = self._existing_meta(node_id)
    assert self._status(meta) == STATUS_EXITING, "staking: no exit requested"
    assert block.timestamp >= self._activated_at(meta) + MIN_EXIT_AGE, (
        "staking: node too young to exit"
    )
    assert timestamp >= (self._node_exit[node_id] & _MASK64) + MIN_EXIT_NOTICE, (
        "staking: exit notice not over"
    )
    self._verify_network_signature(_TAG_EXIT, node_id, timestamp, signature, non_signers)
    self._deactivate(node_id, meta, EXIT_NETWORK, block.timestamp)


@external
@nonreentrant
def remove_with_signature(
    node_id: uint64,
    timestamp: uint256,
    signature: Bytes[256],
    non_signers: DynArray[uint64, MAX_NON_SIGNERS],
):
    """
    @notice Removes a failing node with the network's signature of `SESH_REMOVE`;
            its stakes unlock after the node's exit delay.
    @dev Anyone may submit.
    @param node_id The node.
    @param timestamp When the network signed (at most `SIGNATURE_EXPIRY` ago).
    @param signature The aggregate signature, EIP-2537 G2 encoding.
    @param non_signers Active node ids that did not sign, ascending.
    """
    self._distribute()
    meta: uint256 = self._existing_meta(node_id)
    self._assert_in_network(meta)
    self._verify_network_signature(_TAG_REMOVE, node_id, timestamp, signature, non_signers)
    delay: uint256 = self._exit_delay_of(self._node_exit[node_id])
    self._deactivate(node_id, meta, EXIT_REMOVED, block.timestamp + delay)


@external
@nonreentrant
def liquidate_with_signature(
    node_id: uint64,
    timestamp: uint256,
    signature: Bytes[256],
    non_signers: DynArray[uint64, MAX_NON_SIGNERS],
):
    """
    @notice Liquidates a failing node with the network's signature of
            `SESH_LIQUIDATE`: the penalty fixed at its registration is taken from
            every stake, 3/20 of it to the caller and 17/20 to the reward pool; the
            rest unlocks after the node's exit delay, as after a removal.
    @dev Anyone may submit.
    @param node_id The node.
    @param timestamp When the network signed (at most `SIGNATURE_EXPIRY` ago).
    @param signature The aggregate signature, EIP-2537 G2 encoding.
    @param non_signers Active node ids that did not sign, ascending.
    """
    self._distribute()
    meta: uint256 = self._existing_meta(node_id)
    self._assert_in_network(meta)
    self._verify_network_signature(_TAG_LIQUIDATE, node_id, timestamp, signature, non_signers)
    exit_word: uint256 = self._node_exit[node_id]
    penalty_bps: uint256 = (exit_word >> 128) & 65535
    self._deactivate(
        node_id, meta, EXIT_LIQUIDATED, block.timestamp + self._exit_delay_of(exit_word)
    )
    # Each stake's penalty rounds down, so no contributor pays more than the rate;
    # the caller's share rounds down and the pool takes the rest: nothing is left over.
    penalty: uint256 = self._penalty(
        self._contribution[node_id][self._operator(meta)] & _MASK64, penalty_bps
    )
    for delegator: address in self._delegators[node_id]:
        penalty += self._penalty(self._contribution[node_id][delegator] & _MASK64, penalty_bps)
    to_liquidator: uint256 = penalty * LIQUIDATOR_SHARE_NUMERATOR // LIQUIDATOR_SHARE_DENOMINATOR
    to_pool: uint256 = penalty - to_liquidator
    log Liquidated(
        node_id=node_id,
        liquidator=msg.sender,
        penalty=penalty,
        to_liquidator=to_liquidator,
        to_pool=to_pool,
    )
    if to_liquidator != 0:
        self._send(msg.sender, to_liquidator)
    if to_pool != 0:
        self._send(POOL.address, to_pool)


# -------------------------------------------------------------------- rewards


@external
@nonreentrant
def distribute():
    """
    @notice Brings the rewards up to date: streams the current release to the
            active nodes for the time since the last update, and on a new pool
            day pulls the pool's release and starts streaming it.
    @dev Anyone. Every state change does it first.
    """
    self._distribute()


@external
@nonreentrant
def claim(node_id: uint64):
    """
    @notice Pays the caller's rewards from `node_id`, and their stake once unlocked.
    @param node_id The node.
    """
    self._distribute()
    rewards: uint256 = 0
    stake: uint256 = 0
    rewards, stake = self._claim(node_id, msg.sender)
    assert rewards != 0 or stake != 0, "staking: nothing to claim"
    self._send(msg.sender, rewards + stake)


@external
@nonreentrant
def claim_many(node_ids: DynArray[uint64, MAX_CLAIMS]):
    """
    @notice `claim` for several nodes in one transfer; nodes with nothing to claim
            are skipped.
    @param node_ids The nodes.
    """
    self._distribute()
    total: uint256 = 0
    for node_id: uint64 in node_ids:
        rewards: uint256 = 0
        stake: uint256 = 0
        rewards, stake = self._claim(node_id, msg.sender)
        total += rewards + stake
    assert total != 0, "staking: nothing to claim"
    self._send(msg.sender, total)


# --------------------------------------------------------------------- owner


@external
def __default__():
    """
    @notice The extension's functions (`ServiceNodeStakingExtension`), run in this
            contract's storage: the owner's `set_staking_requirement`, `set_exit_delay`,
            `set_liquidation_penalty_bps`, `pause`, `unpause`; `sweep` (anyone); and the
            seeding phase's `seed_nodes` and `start`. None returns a value.
    @dev Their code would not fit in this contract (EIP-170). An unknown function
         reverts there, as with no fallback at all.
    """
    raw_call(EXTENSION, msg.data, is_delegate_call=True)


@external
@view
def seeding() -> bool:
    """
    @notice Whether the contract is in its seeding phase (deployed to seed, before `start`).
    @return True while nodes may be seeded and nothing else happens.
    """
    return (self._rewards >> 128) & _MASK64 == _NOT_STARTED


# ---------------------------------------------------------------------- views


@external
@view
def node(node_id: uint64) -> IServiceNodeStaking.NodeView:
    """
    @notice Everything the contract knows of a node.
    @param node_id The node.
    @return The node, unpacked (status 0 for an unknown id).
    """
    meta: uint256 = self._node_meta[node_id]
    stake_word: uint256 = self._node_stake[node_id]
    exit_word: uint256 = self._node_exit[node_id]
    bls_key: Bytes[128] = b""
    if meta != 0:
        bls_key = bls12_381._g1_unpack(self._node_bls[node_id])
    return IServiceNodeStaking.NodeView(
        operator=self._operator(meta),
        status=self._status(meta),
        fee_bps=self._fee_bps(meta),
        exit_reason=convert((meta >> 184) & 255, uint8),
        requirement=stake_word & _MASK64,
        total_stake=(stake_word >> 64) & _MASK64,
        contributors=len(self._delegators[node_id]) + convert(meta != 0, uint256),
        activated_at=self._activated_at(meta),
        exit_requested_at=exit_word & _MASK64,
        unlock_time=(exit_word >> 64) & _MASK64,
        penalty_bps=convert((exit_word >> 128) & 65535, uint16),
        accrued_rewards=self._accrued(meta, stake_word, self._rewards_now() & _MASK64),
        bls_pubkey=bls_key,
    )


@external
@view
def contributors(node_id: uint64) -> DynArray[address, MAX_CONTRIBUTORS]:
    """
    @notice A node's contributors: the operator first, then delegators and
            reserved slots (a reserved slot not yet filled has stake 0).
    @param node_id The node.
    @return The accounts.
    """
    meta: uint256 = self._node_meta[node_id]
    accounts: DynArray[address, MAX_CONTRIBUTORS] = []
    if meta == 0:
        return accounts
    accounts.append(self._operator(meta))
    for delegator: address in self._delegators[node_id]:
        accounts.append(delegator)
    return accounts


@external
@view
def contribution(node_id: uint64, account: address) -> IServiceNodeStaking.ContributionView:
    """
    @notice One account's part in one node.
    @param node_id The node.
    @param account The contributor.
    @return The contribution, unpacked.
    """
    word: uint256 = self._contribution[node_id][account]
    return IServiceNodeStaking.ContributionView(
        stake=word & _MASK64,
        reserved=(word >> 64) & _MASK64,
        contributed_at=(word >> 192) & (2**56 - 1),
        claimed_rewards=(word >> 128) & _MASK64,
        stake_claimed=(word >> 255) == 1,
    )


@external
@view
def claimable(node_id: uint64, account: address) -> (uint256, uint256):
    """
    @notice What `claim(node_id)` would pay `account` now.
    @dev Counts only rewards already distributed (call `distribute` first for
         a figure that includes the pool's pending release).
    @param node_id The node.
    @param account The contributor.
    @return (rewards, stake) in token units.
    """
    return self._claimable(node_id, account)


@external
@view
def min_contribution(node_id: uint64) -> uint256:
    """
    @notice The least a new public contributor may bring to an open node now.
    @param node_id The node.
    @return Token units; 0 when no public slot or stake is left.
    """
    meta: uint256 = self._node_meta[node_id]
    if self._status(meta) != STATUS_OPEN:
        return 0
    public_left: uint256 = 0
    slots_left: uint256 = 0
    public_left, slots_left = self._public_room(node_id)
    if slots_left == 0:
        return 0
    return self._ceil_div(public_left, slots_left)


@external
@view
def active_nodes() -> uint256:
    """
    @notice The nodes Active or Exiting: the members of the aggregate key.
    @return Their number.
    """
    return self._rewards >> 192


@external
@view
def reward_per_node() -> uint256:
    """
    @notice What the pool's releases have streamed to a node active since deployment,
            up to now (a node's accrual is this figure's growth while it is active).
    @dev Excludes a release not pulled yet (`distribute` pulls it).
    @return Token units.
    """
    return self._rewards_now() & _MASK64


@external
@view
def undistributed() -> uint256:
    """
    @notice Streamed rewards not credited to any node (rounding remainders, time with
            no node active); they join the next release's stream.
    @return Token units.
    """
    return (self._rewards_now() >> 64) & _MASK64


@external
@view
def unstreamed() -> uint256:
    """
    @notice What the current stream has yet to pay out.
    @return Token units.
    """
    stream: uint256 = self._stream
    amount: uint256 = stream & _MASK64
    start: uint256 = (stream >> 64) & _MASK64
    end: uint256 = (stream >> 128) & _MASK64
    until: uint256 = min(block.timestamp, end)
    return amount - amount * (until - start) // (end - start)


@external
@view
def last_pool_day() -> uint256:
    """
    @notice The pool day whose release is being streamed (the last one pulled).
    @return Days since the pool's `START`.
    """
    return self._stream >> 192


@external
@view
def aggregate_pubkey() -> Bytes[128]:
    """
    @notice The sum of the BLS keys of all Active and Exiting nodes.
    @return The key, EIP-2537 G1 encoding (all zero when no node is active).
    """
    return bls12_381._g1_unpack(self._aggregate_key)


@external
@view
def activations_allowed_per_block() -> uint256:
    """
    @notice How many nodes may activate in one block now.
    @return max(20, 2 % of the active nodes).
    """
    return self._activation_limit()


@external
@view
def network_message(tag: bytes32, node_id: uint64, timestamp: uint256) -> bytes32:
    """
    @notice The digest the network signs for `tag` ("SESH_EXIT", "SESH_REMOVE" or
            "SESH_LIQUIDATE" as left-aligned bytes32) on this chain and contract.
    @param tag The action tag.
    @param node_id The node.
    @param timestamp The signing time.
    @return keccak256(abi_encode(tag, chain.id, self, node_id, timestamp)).
    """
    return keccak256(abi_encode(tag, chain.id, self, node_id, timestamp))


# ------------------------------------------------------------------ internals


@internal
def _register(
    ed25519_pubkey: bytes32,
    ed25519_sig: Bytes[64],
    bls_pubkey: Bytes[128],
    bls_pop: Bytes[256],
    endpoint: String[64],
    fee_bps: uint16,
    operator_stake: uint256,
    reserved: DynArray[IServiceNodeStaking.Reservation, 9],
) -> uint64:
    pausable._require_not_paused()
    self._distribute()
    requirement: uint256 = self.staking_requirement
    assert convert(fee_bps, uint256) <= _BPS, "staking: fee above 100 %"
    assert len(ed25519_sig) == 64, "staking: bad Ed25519 sig length"
    assert ed25519_pubkey != empty(bytes32), "staking: empty Ed25519 key"
    assert len(endpoint) != 0, "staking: empty endpoint"
    assert operator_stake * 4 >= requirement, "staking: operator stake < 25%"
    assert operator_stake <= requirement, "staking: stake above requirement"
    reserved_total: uint256 = 0
    for i: uint256 in range(len(reserved), bound=9):
        slot: IServiceNodeStaking.Reservation = reserved[i]
        assert slot.account != empty(address), "staking: reserved for zero addr"
        assert slot.account != msg.sender, "staking: reserved for operator"
        assert slot.amount != 0, "staking: empty reservation"
        for j: uint256 in range(i, bound=9):
            assert reserved[j].account != slot.account, "staking: duplicate reservation"
        reserved_total += slot.amount
    assert operator_stake + reserved_total <= requirement, (
        "staking: reservations too large"
    )
    if len(reserved) + 1 == MAX_CONTRIBUTORS:
        assert operator_stake + reserved_total == requirement, (
            "staking: reservations too small"
        )
    pop_message: bytes32 = keccak256(
        abi_encode(_TAG_POP, chain.id, self, msg.sender, ed25519_pubkey, bls_pubkey)
    )
    if not staticcall VERIFIER.verify_possession(bls_pubkey, pop_message, bls_pop):
        # Say what is wrong with the key if something is; else the proof is.
        assert staticcall VERIFIER.check_pubkey(bls_pubkey)
        raise "staking: bad proof of possession"

    node_id: uint64 = self.node_count + 1
    self.node_count = node_id
    self._node_meta[node_id] = (
        convert(msg.sender, uint256)
        | (convert(STATUS_OPEN, uint256) << 160)
        | (convert(fee_bps, uint256) << 168)
    )
    self._node_stake[node_id] = requirement | (operator_stake << 64)
    # What a liquidation takes and how long exits lock are fixed now, for good.
    self._node_exit[node_id] = (
        (self.liquidation_penalty_bps << 128) | (reserved_total << 144) | (self.exit_delay << 208)
    )
    self._node_bls[node_id] = bls12_381._g1_pack(bls_pubkey)
    self._contribution[node_id][msg.sender] = operator_stake | (block.timestamp << 192)
    for slot: IServiceNodeStaking.Reservation in reserved:
        self._delegators[node_id].append(slot.account)
        self._contribution[node_id][slot.account] = slot.amount << 64
    log NodeRegistered(
        node_id=node_id,
        operator=msg.sender,
        ed25519_pubkey=ed25519_pubkey,
        ed25519_sig=ed25519_sig,
        bls_pubkey=bls_pubkey,
        endpoint=endpoint,
        fee_bps=fee_bps,
    )
    log Contributed(node_id=node_id, contributor=msg.sender, amount=operator_stake, total=operator_stake)
    if operator_stake == requirement:
        self._activate(node_id)
    self._pull(operator_stake)
    return node_id


@internal
def _contribute(node_id: uint64, amount: uint256):
    self._distribute()
    meta: uint256 = self._existing_meta(node_id)
    assert self._status(meta) == STATUS_OPEN, "staking: node not open"
    assert amount != 0, "staking: zero amount"
    word: uint256 = self._contribution[node_id][msg.sender]
    stake: uint256 = word & _MASK64
    reserved: uint256 = (word >> 64) & _MASK64
    public_left: uint256 = 0
    slots_left: uint256 = 0
    public_left, slots_left = self._public_room(node_id)
    if reserved != 0 and stake == 0:
        # A named delegator filling their reserved slot.
        assert amount >= reserved, "staking: below reserved amount"
        assert amount - reserved <= public_left, "staking: above what is left"
        self._node_exit[node_id] = self._node_exit[node_id] - (reserved << 144)
    elif stake != 0:
        # A contributor already in (the operator included) topping up.
        assert amount <= public_left, "staking: above what is left"
    else:
        assert slots_left != 0, "staking: no slot left"
        assert amount >= self._ceil_div(public_left, slots_left), (
            "staking: below min contribution"
        )
        assert amount <= public_left, "staking: above what is left"
        self._delegators[node_id].append(msg.sender)
    stake_word: uint256 = self._node_stake[node_id]
    total: uint256 = ((stake_word >> 64) & _MASK64) + amount
    self._node_stake[node_id] = stake_word + (amount << 64)
    self._contribution[node_id][msg.sender] = (
        (word & ~(_MASK64 | ((2**56 - 1) << 192))) | (stake + amount) | (block.timestamp << 192)
    )
    log Contributed(node_id=node_id, contributor=msg.sender, amount=amount, total=total)
    if total == stake_word & _MASK64:
        self._activate(node_id)
    self._pull(amount)


@internal
@view
def _public_room(node_id: uint64) -> (uint256, uint256):
    """
    @dev (stake open to the public, slots open to the public): the stake left
         minus what unfilled reservations hold, and the free slots.
    """
    stake_word: uint256 = self._node_stake[node_id]
    left: uint256 = (stake_word & _MASK64) - ((stake_word >> 64) & _MASK64)
    unfilled: uint256 = (self._node_exit[node_id] >> 144) & _MASK64
    taken: uint256 = len(self._delegators[node_id]) + 1
    return left - unfilled, MAX_CONTRIBUTORS - taken


@internal
def _activate(node_id: uint64):
    limit: uint256 = self._activation_limit()
    count: uint256 = self._activation_counts
    if self._activation_block == block.timestamp:
        assert count & _MASK128 < limit, "staking: block activation limit"
        count += 1
    else:
        self._activation_block = block.timestamp
        count = (count & ~_MASK128) | 1
    self._recent_activations[(count >> 128) % RECENT_ACTIVATIONS] = node_id
    self._activation_counts = count + (1 << 128)
    meta: uint256 = self._node_meta[node_id]
    self._node_meta[node_id] = (
        self._with_status(meta, STATUS_ACTIVE) & ~(_MASK64 << 192)
    ) | (block.timestamp << 192)
    rewards: uint256 = self._rewards
    stake_word: uint256 = self._node_stake[node_id]
    self._node_stake[node_id] = (stake_word & (2**128 - 1)) | ((rewards & _MASK64) << 128)
    key: Bytes[128] = bls12_381._g1_unpack(self._node_bls[node_id])
    self._aggregate_key = bls12_381._g1_pack(
        bls12_381._g1_add(bls12_381._g1_unpack(self._aggregate_key), key)
    )
    self._rewards = rewards + (1 << 192)
    log NodeActivated(node_id=node_id)


@internal
def _deactivate(node_id: uint64, meta: uint256, reason: uint8, unlock_time: uint256):
    self._node_meta[node_id] = self._with_status(meta, STATUS_EXITED) | (
        convert(reason, uint256) << 184
    )
    rewards: uint256 = self._rewards
    stake_word: uint256 = self._node_stake[node_id]
    self._node_stake[node_id] = (stake_word & (2**192 - 1)) | ((rewards & _MASK64) << 192)
    exit_word: uint256 = self._node_exit[node_id]
    self._node_exit[node_id] = (exit_word & ~(_MASK64 << 64)) | (unlock_time << 64)
    self._aggregate_key = bls12_381._g1_pack(
        self._without(bls12_381._g1_unpack(self._aggregate_key), node_id)
    )
    self._rewards = rewards - (1 << 192)
    log NodeExited(node_id=node_id, reason=reason)


@internal
@view
def _verify_network_signature(
    tag: bytes32,
    node_id: uint64,
    timestamp: uint256,
    signature: Bytes[256],
    non_signers: DynArray[uint64, MAX_NON_SIGNERS],
):
    """
    @dev Checks the signature against the network as it stood at `timestamp`: the nodes
         active now that were activated before it. Those activated since (the newest
         entries of the ring) are taken out of the aggregate key and of the count; they
         neither sign nor may be listed as non-signers.
    """
    assert timestamp <= block.timestamp, "staking: signature from future"
    assert block.timestamp - timestamp <= SIGNATURE_EXPIRY, "staking: signature expired"
    key: Bytes[128] = bls12_381._g1_unpack(self._aggregate_key)
    members: uint256 = self._rewards >> 192
    count: uint256 = self._activation_counts >> 128
    for i: uint256 in range(RECENT_ACTIVATIONS):
        if i == count:
            break
        late: uint64 = self._recent_activations[(count - 1 - i) % RECENT_ACTIVATIONS]
        meta: uint256 = self._node_meta[late]
        if self._activated_at(meta) < timestamp:
            break
        # The oldest activation remembered is not before the signature: an older one,
        # forgotten, may not be either.
        assert i + 1 != RECENT_ACTIVATIONS, "staking: too many activations since signing"
        if self._in_network(meta):
            key = self._without(key, late)
            members -= 1
    assert len(non_signers) * 3 <= members, "staking: too many non-signers"
    previous: uint64 = 0
    for non_signer: uint64 in non_signers:
        assert non_signer > previous, "staking: non-signers not sorted"
        previous = non_signer
        meta: uint256 = self._node_meta[non_signer]
        self._assert_in_network(meta)
        assert self._activated_at(meta) < timestamp, "staking: non-signer joined after signing"
        key = self._without(key, non_signer)
    message: bytes32 = keccak256(abi_encode(tag, chain.id, self, node_id, timestamp))
    assert staticcall VERIFIER.verify(key, message, signature), "staking: bad network signature"


@internal
@view
def _without(key: Bytes[128], node_id: uint64) -> Bytes[128]:
    """@dev `key` minus the BLS key of `node_id`."""
    return bls12_381._g1_add(key, bls12_381._g1_negate(bls12_381._g1_unpack(self._node_bls[node_id])))


@internal
def _distribute():
    rewards: uint256 = self._rewards
    last: uint256 = (rewards >> 128) & _MASK64
    if last == block.timestamp:
        return
    assert last != _NOT_STARTED, "staking: not started"
    stream: uint256 = self._stream
    today: uint256 = (block.timestamp - _POOL_START) // _DAY
    if today > stream >> 192:
        # The stream being paid ended at the first second of pool day `pool_day + 1`,
        # before now: pay it out to its end, then stream the new release (and what
        # was left undistributed) from there to the end of today.
        rewards = self._streamed_to(rewards, stream, block.timestamp)
        carried: uint256 = (rewards >> 64) & _MASK64
        start: uint256 = (stream >> 128) & _MASK64
        stream = (
            (today << 192) | ((_POOL_START + (today + 1) * _DAY) << 128) | (start << 64) | carried
        )
        self._stream = stream
        rewards = rewards & ~(_MASK64 << 64)
        released: uint256 = extcall POOL.release()
        self._held += released
        stream += released
        self._stream = stream
        active: uint256 = rewards >> 192
        per_node: uint256 = 0
        if active != 0:
            per_node = (released + carried) // active
        log RewardsDistributed(amount=released, active_nodes=active, reward_per_node=per_node)
    self._rewards = self._streamed_to(rewards, stream, block.timestamp)


@internal
@pure
def _streamed_to(rewards: uint256, stream: uint256, until: uint256) -> uint256:
    """
    @dev `rewards` brought up to `until` (or the stream's end, if earlier): what the
         stream paid since the last update (each share of the stream counted from
         its start, so the shares add up to the stream exactly) split evenly among
         the active nodes, the remainder (all of it with no node active) kept in
         `undistributed` for the next stream.
    """
    last: uint256 = (rewards >> 128) & _MASK64
    end: uint256 = (stream >> 128) & _MASK64
    until_: uint256 = min(until, end)
    if until_ <= last:
        return rewards
    amount: uint256 = stream & _MASK64
    start: uint256 = (stream >> 64) & _MASK64
    length: uint256 = end - start
    paid: uint256 = (
        amount * (until_ - start) // length - amount * (last - start) // length
    )
    active: uint256 = rewards >> 192
    per_node: uint256 = rewards & _MASK64
    undistributed: uint256 = ((rewards >> 64) & _MASK64) + paid
    if active != 0:
        share: uint256 = paid // active
        per_node += share
        undistributed -= share * active
    return per_node | (undistributed << 64) | (until_ << 128) | (active << 192)


@internal
@view
def _rewards_now() -> uint256:
    """@dev The rewards word as `_distribute` would leave it now, short of a new pull."""
    return self._streamed_to(self._rewards, self._stream, block.timestamp)


@internal
def _claim(node_id: uint64, account: address) -> (uint256, uint256):
    rewards: uint256 = 0
    stake: uint256 = 0
    rewards, stake = self._claimable(node_id, account)
    if rewards == 0 and stake == 0:
        return 0, 0
    word: uint256 = self._contribution[node_id][account]
    claimed: uint256 = ((word >> 128) & _MASK64) + rewards
    word = (word & ~(_MASK64 << 128)) | (claimed << 128)
    if stake != 0:
        word = word | (1 << 255)
    self._contribution[node_id][account] = word
    log Claimed(node_id=node_id, account=account, rewards=rewards, stake=stake)
    return rewards, stake


@internal
@view
def _claimable(node_id: uint64, account: address) -> (uint256, uint256):
    meta: uint256 = self._node_meta[node_id]
    if meta == 0:
        return 0, 0
    word: uint256 = self._contribution[node_id][account]
    stake_word: uint256 = self._node_stake[node_id]
    accrued: uint256 = self._accrued(meta, stake_word, self._rewards_now() & _MASK64)
    entitled: uint256 = 0
    if accrued != 0:
        entitled = self._entitlement(
            accrued, meta, stake_word, word & _MASK64, account == self._operator(meta)
        )
    rewards: uint256 = entitled - ((word >> 128) & _MASK64)
    stake: uint256 = 0
    status: uint8 = self._status(meta)
    if (word >> 255) == 0 and (status == STATUS_EXITED or status == STATUS_CANCELLED):
        exit_word: uint256 = self._node_exit[node_id]
        if block.timestamp >= (exit_word >> 64) & _MASK64:
            stake = word & _MASK64
            if (meta >> 184) & 255 == convert(EXIT_LIQUIDATED, uint256):
                stake -= self._penalty(stake, (exit_word >> 128) & 65535)
    return rewards, stake


@internal
@pure
def _entitlement(
    accrued: uint256, meta: uint256, stake_word: uint256, stake: uint256, is_operator: bool
) -> uint256:
    """
    @dev One contributor's part of a node's accrual, rounded down: by stake after the
         fee, plus the fee for the operator. Each part is a floor of its own exact
         figure, so it never decreases as the accrual grows, and the parts add up to
         at most the accrual; what the floors leave (less than a unit per
         contributor) stays in the contract.
    """
    total: uint256 = (stake_word >> 64) & _MASK64
    fee: uint256 = convert(self._fee_bps(meta), uint256)
    weight: uint256 = (_BPS - fee) * stake
    if is_operator:
        weight += fee * total
    return accrued * weight // (_BPS * total)


@internal
@pure
def _accrued(meta: uint256, stake_word: uint256, reward_per_node: uint256) -> uint256:
    status: uint8 = self._status(meta)
    start: uint256 = (stake_word >> 128) & _MASK64
    if status == STATUS_ACTIVE or status == STATUS_EXITING:
        return reward_per_node - start
    if status == STATUS_EXITED:
        return (stake_word >> 192) - start
    return 0


@internal
def _send(to: address, amount: uint256):
    self._held -= amount
    assert extcall TOKEN.transfer(to, amount), "staking: transfer failed"


@internal
def _pull(amount: uint256):
    self._held += amount
    assert extcall TOKEN.transferFrom(msg.sender, self, amount), "staking: transfer failed"


@internal
def _permit(amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    # A permit front-run by someone else has already set the allowance: go on, and
    # let `transferFrom` decide.
    permitted: bool = raw_call(
        TOKEN.address,
        abi_encode(
            msg.sender, self, amount, deadline, v, r, s, method_id=method_id(
                "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"
            )
        ),
        revert_on_failure=False,
    )


@internal
def _remove_delegator(node_id: uint64, account: address):
    delegators: DynArray[address, 9] = self._delegators[node_id]
    last: uint256 = len(delegators) - 1
    for i: uint256 in range(len(delegators), bound=9):
        if delegators[i] == account:
            if i != last:
                self._delegators[node_id][i] = delegators[last]
            self._delegators[node_id].pop()
            return
    raise "staking: not a delegator"


@internal
@view
def _existing_meta(node_id: uint64) -> uint256:
    meta: uint256 = self._node_meta[node_id]
    assert meta != 0, "staking: unknown node"
    return meta


@internal
@pure
def _in_network(meta: uint256) -> bool:
    status: uint8 = self._status(meta)
    return status == STATUS_ACTIVE or status == STATUS_EXITING


@internal
@pure
def _assert_in_network(meta: uint256):
    assert self._in_network(meta), "staking: node not active"


@internal
@view
def _activation_limit() -> uint256:
    return max(MIN_ACTIVATIONS_PER_BLOCK, (self._rewards >> 192) * 2 // 100)


@internal
@pure
def _exit_delay_of(exit_word: uint256) -> uint256:
    return (exit_word >> 208) & (2**32 - 1)


@internal
@pure
def _penalty(amount: uint256, penalty_bps: uint256) -> uint256:
    return amount * penalty_bps // _BPS


@internal
@pure
def _ceil_div(a: uint256, b: uint256) -> uint256:
    return (a + b - 1) // b


@internal
@pure
def _operator(meta: uint256) -> address:
    return convert(meta & _MASK160, address)


@internal
@pure
def _status(meta: uint256) -> uint8:
    return convert((meta >> 160) & 255, uint8)


@internal
@pure
def _fee_bps(meta: uint256) -> uint16:
    return convert((meta >> 168) & 65535, uint16)


@internal
@pure
def _activated_at(meta: uint256) -> uint256:
    return meta >> 192


@internal
@pure
def _with_status(meta: uint256, status: uint8) -> uint256:
    return (meta & ~(255 << 160)) | (convert(status, uint256) << 160)
