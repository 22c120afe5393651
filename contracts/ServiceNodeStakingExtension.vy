# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Extension of the service-node staking contract: owner's setters and seeding
@custom:contract-name ServiceNodeStakingExtension
@license GNU General Public License v3.0 or later
@notice The owner's setters of a `ServiceNodeStaking` (staking requirement, exit delay,
        liquidation penalty, pause), and the seeding phase of one deployed to seed: it
        imports the running network's nodes, then starts. Never used on its own: the
        staking contract delegates the calls it does not know to it (`__default__`), so
        this code runs in the staking contract's storage and its events are the staking
        contract's.
@dev The staking contract would not fit the 24 KiB code limit (EIP-170) with this code.
     The storage below repeats the staking contract's, declaration by declaration, in
     the same order (tests/unit/seeding checks the two layouts slot by slot);
     `last_seeded_key` comes after all of them.
     Seeding writes each node as `register_node` and `contribute` would have (same
     words, same events), without the activation limit and with one batch check of
     the proofs of possession (`BLSVerifier.verify_possessions`).
"""


from ethereum.ercs import IERC20

import interfaces.IServiceNodeStaking as IServiceNodeStaking

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

from snekmate.utils import pausable
initializes: pausable

from .modules import bls12_381


interface IRewardRatePool:
    def START() -> uint256: view
    def beneficiary() -> address: view


interface IBLSVerifier:
    def verify_possessions(
        pubkeys: DynArray[Bytes[128], MAX_SEED_BATCH],
        messages: DynArray[bytes32, MAX_SEED_BATCH],
        proofs: DynArray[Bytes[256], MAX_SEED_BATCH],
    ) -> bool: view


# @dev Nodes one `seed_nodes` call may import (the verifier's `MAX_POSSESSIONS`).
MAX_SEED_BATCH: public(constant(uint256)) = 100
# @dev As in the staking contract.
MAX_CONTRIBUTORS: constant(uint256) = 10
RECENT_ACTIVATIONS: constant(uint256) = 32
STATUS_OPEN: constant(uint256) = 1
STATUS_ACTIVE: constant(uint256) = 2
_BPS: constant(uint256) = 10_000
_DAY: constant(uint256) = 86400
_MASK64: constant(uint256) = 2**64 - 1
_TAG_POP: constant(bytes32) = 0x534553485f504f50000000000000000000000000000000000000000000000000  # "SESH_POP"
_NOT_STARTED: constant(uint256) = 2**64 - 1
# @dev Bounds of the owner's setters.
MIN_STAKING_REQUIREMENT: constant(uint256) = 1_000 * 10**9
MAX_STAKING_REQUIREMENT: constant(uint256) = 1_000_000 * 10**9
MIN_EXIT_DELAY: constant(uint256) = 86400
MAX_EXIT_DELAY: constant(uint256) = 90 * 86400
MAX_LIQUIDATION_PENALTY_BPS: constant(uint256) = 1_000


# @dev SESH (the staking contract's `TOKEN`; checked when the staking contract is deployed).
TOKEN: public(immutable(IERC20))
# @dev The reward pool (the staking contract's `POOL`).
POOL: public(immutable(IRewardRatePool))
# @dev The BLS verifier (the staking contract's `VERIFIER`).
VERIFIER: public(immutable(IBLSVerifier))


# The staking contract's storage, in its order (see ServiceNodeStaking.vy for each word).
staking_requirement: uint256
exit_delay: uint256
liquidation_penalty_bps: uint256
node_count: uint64
_rewards: uint256
_stream: uint256
_activation_block: uint256
_activation_counts: uint256
_aggregate_key: bytes32[3]
_node_meta: HashMap[uint64, uint256]
_node_stake: HashMap[uint64, uint256]
_node_exit: HashMap[uint64, uint256]
_node_bls: HashMap[uint64, bytes32[3]]
_delegators: HashMap[uint64, DynArray[address, 9]]
_contribution: HashMap[uint64, HashMap[address, uint256]]
_recent_activations: uint64[RECENT_ACTIVATIONS]
_held: uint256
# @dev keccak256 of the last seeded BLS key: keys are seeded in strictly ascending
#      order of their hash, so none is seeded twice.
_last_seeded_key: uint256


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


event NodeActivated:
    node_id: indexed(uint64)


event Started:
    nodes: uint256
    active_nodes: uint256


event StakingRequirementUpdated:
    amount: uint256


event ExitDelayUpdated:
    delay: uint256


event LiquidationPenaltyUpdated:
    penalty_bps: uint256


event Swept:
    caller: indexed(address)
    amount: uint256


@deploy
def __init__(token: IERC20, pool: IRewardRatePool, verifier: IBLSVerifier):
    """
    @param token SESH.
    @param pool The reward pool.
    @param verifier The deployed `BLSVerifier`.
    """
    ownable.__init__()
    ownable_2step.__init__()
    pausable.__init__()
    TOKEN = token
    POOL = pool
    VERIFIER = verifier


@external
@nonreentrant
def seed_nodes(nodes: DynArray[IServiceNodeStaking.SeedNode, MAX_SEED_BATCH]):
    """
    @notice Imports a batch of the running network's nodes, before `start`: each with
            its operator, keys, fee, contributors and stakes; the SESH of every stake
            is pulled from the owner. A node whose stake is full is Active at once.
    @dev Owner only, in the seeding phase. All or nothing: any refusal reverts the
         batch. Every proof of possession (of the `SESH_POP` digest for the node's
         operator, as `register_node` checks it) is checked in one batch verification.
         BLS keys come in strictly ascending order of keccak256, across batches too,
         so none repeats. Each node gets the words `register_node` and `contribute`
         would have written and logs their events (`NodeRegistered`, a `Contributed`
         per stake in order, `NodeActivated`). No activation limit applies.
    @param nodes The nodes; a contributor with amount 0 holds a reserved slot.
    """
    ownable._check_owner()
    rewards: uint256 = self._rewards
    assert (rewards >> 128) & _MASK64 == _NOT_STARTED, "staking: not seeding"
    assert len(nodes) != 0, "staking: empty batch"
    requirement: uint256 = self.staking_requirement
    exit_word: uint256 = (self.liquidation_penalty_bps << 128) | (self.exit_delay << 208)
    last_key: uint256 = self._last_seeded_key
    node_id: uint64 = self.node_count
    aggregate: Bytes[128] = bls12_381._g1_unpack(self._aggregate_key)
    pulled: uint256 = 0
    keys: DynArray[Bytes[128], MAX_SEED_BATCH] = []
    digests: DynArray[bytes32, MAX_SEED_BATCH] = []
    proofs: DynArray[Bytes[256], MAX_SEED_BATCH] = []
    for node: IServiceNodeStaking.SeedNode in nodes:
        key_hash: uint256 = convert(keccak256(node.bls_pubkey), uint256)
        assert key_hash > last_key, "staking: BLS key repeated/unsorted"
        last_key = key_hash
        assert len(node.bls_pubkey) == 128, "bls: public key is not 128 bytes"
        assert convert(node.fee_bps, uint256) <= _BPS, "staking: fee above 100 %"
        assert len(node.ed25519_sig) == 64, "staking: bad Ed25519 sig length"
        assert node.ed25519_pubkey != empty(bytes32), "staking: empty Ed25519 key"
        assert len(node.endpoint) != 0, "staking: empty endpoint"
        assert node.operator != empty(address), "staking: zero operator"
        assert node.operator_stake * 4 >= requirement, "staking: operator stake < 25%"
        node_id += 1
        total: uint256 = node.operator_stake
        unfilled: uint256 = 0
        log NodeRegistered(
            node_id=node_id,
            operator=node.operator,
            ed25519_pubkey=node.ed25519_pubkey,
            ed25519_sig=node.ed25519_sig,
            bls_pubkey=node.bls_pubkey,
            endpoint=node.endpoint,
            fee_bps=node.fee_bps,
        )
        log Contributed(node_id=node_id, contributor=node.operator, amount=total, total=total)
        self._contribution[node_id][node.operator] = total | (block.timestamp << 192)
        for i: uint256 in range(len(node.contributors), bound=9):
            slot: IServiceNodeStaking.SeedStake = node.contributors[i]
            assert slot.account != empty(address), "staking: zero contributor"
            assert slot.account != node.operator, "staking: operator twice"
            for j: uint256 in range(i + 1, len(node.contributors), bound=9):
                assert node.contributors[j].account != slot.account, (
                    "staking: duplicate contributor"
                )
            if slot.amount == 0:
                # A reserved slot its delegator has not filled yet.
                assert slot.reserved != 0, "staking: empty contribution"
                unfilled += slot.reserved
            else:
                assert slot.amount >= slot.reserved, "staking: below reserved amount"
                total += slot.amount
                log Contributed(
                    node_id=node_id, contributor=slot.account, amount=slot.amount, total=total
                )
            self._delegators[node_id].append(slot.account)
            self._contribution[node_id][slot.account] = (
                slot.amount | (slot.reserved << 64) | (block.timestamp << 192)
            )
        assert total + unfilled <= requirement, "staking: stake above requirement"
        if len(node.contributors) + 1 == MAX_CONTRIBUTORS:
            assert total + unfilled == requirement, "staking: reservations too small"
        pulled += total
        meta: uint256 = convert(node.operator, uint256) | (convert(node.fee_bps, uint256) << 168)
        if total == requirement:
            meta |= (STATUS_ACTIVE << 160) | (block.timestamp << 192)
            aggregate = bls12_381._g1_add(aggregate, node.bls_pubkey)
            rewards += 1 << 192
            log NodeActivated(node_id=node_id)
        else:
            meta |= STATUS_OPEN << 160
        self._node_meta[node_id] = meta
        # reward_start is 0: no reward streams before `start`.
        self._node_stake[node_id] = requirement | (total << 64)
        self._node_exit[node_id] = exit_word | (unfilled << 144)
        self._node_bls[node_id] = bls12_381._g1_pack(node.bls_pubkey)
        keys.append(node.bls_pubkey)
        digests.append(
            keccak256(
                abi_encode(
                    _TAG_POP, chain.id, self, node.operator, node.ed25519_pubkey, node.bls_pubkey
                )
            )
        )
        proofs.append(node.bls_pop)
    self.node_count = node_id
    self._last_seeded_key = last_key
    self._aggregate_key = bls12_381._g1_pack(aggregate)
    self._rewards = rewards
    assert staticcall VERIFIER.verify_possessions(keys, digests, proofs), (
        "staking: bad proof of possession"
    )
    self._held += pulled
    assert extcall TOKEN.transferFrom(msg.sender, self, pulled), "staking: transfer failed"


@external
def start():
    """
    @notice Ends the seeding phase: rewards start streaming (the first release is
            pulled on the next pool day) and registrations open. Seeded nodes are
            ordinary nodes from now on.
    @dev Owner only, once. The pool pays for the days since its `set_beneficiary`, so
         a seeding deployment sets it just before this call (docs/migration.md); without
         it the first release (a day later) would revert every state change.
    """
    ownable._check_owner()
    rewards: uint256 = self._rewards
    assert (rewards >> 128) & _MASK64 == _NOT_STARTED, "staking: not seeding"
    assert staticcall POOL.beneficiary() == self, "staking: pool beneficiary not set"
    pool_start: uint256 = staticcall POOL.START()
    today: uint256 = (block.timestamp - pool_start) // _DAY
    end: uint256 = pool_start + (today + 1) * _DAY
    self._stream = (today << 192) | (end << 128) | ((end - _DAY) << 64)
    self._rewards = (rewards & ~(_MASK64 << 128)) | (block.timestamp << 128)
    log Started(nodes=convert(self.node_count, uint256), active_nodes=rewards >> 192)



# --------------------------------------------------------------------- owner


@external
def set_staking_requirement(amount: uint256):
    """
    @notice Sets the stake that nodes registered from now on need.
    @dev Owner only; between 1,000 and 1,000,000 SESH. Registered nodes keep theirs.
    @param amount The requirement in token units.
    """
    ownable._check_owner()
    assert amount >= MIN_STAKING_REQUIREMENT and amount <= MAX_STAKING_REQUIREMENT, (
        "staking: invalid requirement"
    )
    self.staking_requirement = amount
    log StakingRequirementUpdated(amount=amount)


@external
def set_exit_delay(delay: uint256):
    """
    @notice Sets the wait between an exit request (or a removal or liquidation) and
            the unlock, for nodes registered from now on.
    @dev Owner only; between 1 and 90 days. Registered nodes keep theirs.
    @param delay Seconds.
    """
    ownable._check_owner()
    assert delay >= MIN_EXIT_DELAY and delay <= MAX_EXIT_DELAY, "staking: delay out of bounds"
    self.exit_delay = delay
    log ExitDelayUpdated(delay=delay)


@external
def set_liquidation_penalty_bps(penalty_bps: uint256):
    """
    @notice Sets the share of each stake a liquidation takes, for nodes registered
            from now on.
    @dev Owner only; at most 1,000 (10 %). Registered nodes keep theirs.
    @param penalty_bps Basis points.
    """
    ownable._check_owner()
    assert penalty_bps <= MAX_LIQUIDATION_PENALTY_BPS, "staking: penalty out of bounds"
    self.liquidation_penalty_bps = penalty_bps
    log LiquidationPenaltyUpdated(penalty_bps=penalty_bps)


@external
def pause():
    """
    @notice Stops new registrations. Contributions, exits, withdrawals and claims go on.
    @dev Owner only.
    """
    ownable._check_owner()
    pausable._pause()


@external
def unpause():
    """
    @notice Allows registrations again.
    @dev Owner only.
    """
    ownable._check_owner()
    pausable._unpause()


# ---------------------------------------------------------------------- anyone


@external
@nonreentrant
def sweep():
    """
    @notice Sends the SESH that reached the staking contract by plain transfer (owed to
            nobody) to the reward pool, which pays it out as rewards.
    @dev Anyone, any time after seeding. What the contract owes (stakes, rewards, the
         stream) is never touched: only the balance above it moves. No return value
         (the staking contract's fallback forwards none); the `Swept` event says how much.
    """
    assert (self._rewards >> 128) & _MASK64 != _NOT_STARTED, "staking: not started"
    stray: uint256 = staticcall TOKEN.balanceOf(self) - self._held
    if stray != 0:
        assert extcall TOKEN.transfer(POOL.address, stray), "staking: transfer failed"
    log Swept(caller=msg.sender, amount=stray)
