# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Emitter of the staking and Pro events (tests only)
@custom:contract-name MockStakingEvents
@notice Emits exactly the events of `ServiceNodeStaking.vy` and `SessionPro.vy`
        listed in docs/interfaces.md (same names, types and indexing), on
        request and without any rule, so the node bridge can be tested before
        those contracts exist, and fed what they would never emit
        (out-of-order or inconsistent events, logs that do not decode).
@dev One function per event, batch functions that emit many events in one
     transaction (catch-up benchmarks, crash tests), and `emit_raw` for
     malformed logs. Anyone may call anything: it holds no tokens and no state
     but a counter.
"""


# @dev A node registration as `register_many` takes it.
struct Registration:
    node_id: uint64
    operator: address
    ed25519_pubkey: bytes32
    ed25519_sig: Bytes[64]
    bls_pubkey: Bytes[128]
    endpoint: String[64]
    fee_bps: uint16
    operator_stake: uint256


# @dev A contribution as `contribute_many` takes it.
struct Contribution:
    node_id: uint64
    contributor: address
    amount: uint256
    total: uint256


# @dev A claim as `claim_many` takes it.
struct ClaimEntry:
    node_id: uint64
    account: address
    rewards: uint256
    stake: uint256


# @dev A Pro subscription as `subscribe_many` takes it.
struct Subscription:
    pro_pubkey: bytes32
    payer: address
    plan_id: uint256
    token: address
    amount: uint256
    expiry: uint256


# @dev Most entries one batch call accepts (bounded by the block gas limit anyway).
MAX_BATCH: constant(uint256) = 256


# @dev How many events this contract has emitted (a cross-check for tests).
events_emitted: public(uint256)


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

event StakingRequirementUpdated:
    amount: uint256

event ProSubscribed:
    pro_pubkey: indexed(bytes32)
    payer: indexed(address)
    plan_id: uint256
    token: address
    amount: uint256
    expiry: uint256

event ProGranted:
    pro_pubkey: indexed(bytes32)
    receipt_id: indexed(bytes32)
    duration: uint256
    expiry: uint256

event ProRevoked:
    pro_pubkey: indexed(bytes32)
    receipt_id: indexed(bytes32)
    expiry: uint256


@external
def register(registration: Registration):
    """
    @notice Emit `NodeRegistered`, then the operator's `Contributed`, as the
            staking contract does in one transaction.
    @param registration The node's fields and the operator's stake.
    """
    self._register(registration)


@external
def register_many(registrations: DynArray[Registration, MAX_BATCH], activate: bool):
    """
    @notice Emit a registration (and the operator's contribution) for each
            entry, then `NodeActivated` for each if `activate`.
    @param registrations The nodes, in the order their events are emitted.
    @param activate Whether to activate every node in the same transaction.
    """
    for registration: Registration in registrations:
        self._register(registration)
    if activate:
        for registration: Registration in registrations:
            log NodeActivated(node_id=registration.node_id)
            self.events_emitted += 1


@external
def contribute(node_id: uint64, contributor: address, amount: uint256, total: uint256):
    """
    @notice Emit `Contributed`.
    @param node_id The node.
    @param contributor The contributing account.
    @param amount The amount contributed.
    @param total The node's total stake after the contribution, as logged.
    """
    log Contributed(node_id=node_id, contributor=contributor, amount=amount, total=total)
    self.events_emitted += 1


@external
def contribute_many(contributions: DynArray[Contribution, MAX_BATCH]):
    """
    @notice Emit `Contributed` for each entry, in order.
    @param contributions The contributions.
    """
    for c: Contribution in contributions:
        log Contributed(node_id=c.node_id, contributor=c.contributor, amount=c.amount, total=c.total)
    self.events_emitted += len(contributions)


@external
def withdraw_contribution(node_id: uint64, contributor: address, amount: uint256):
    """
    @notice Emit `ContributionWithdrawn`.
    @param node_id The node.
    @param contributor The withdrawing contributor.
    @param amount The amount withdrawn.
    """
    log ContributionWithdrawn(node_id=node_id, contributor=contributor, amount=amount)
    self.events_emitted += 1


@external
def activate(node_id: uint64):
    """
    @notice Emit `NodeActivated`.
    @param node_id The node.
    """
    log NodeActivated(node_id=node_id)
    self.events_emitted += 1


@external
def activate_many(node_ids: DynArray[uint64, MAX_BATCH]):
    """
    @notice Emit `NodeActivated` for each node, in order.
    @param node_ids The nodes.
    """
    for node_id: uint64 in node_ids:
        log NodeActivated(node_id=node_id)
    self.events_emitted += len(node_ids)


@external
def request_exit(node_id: uint64, requester: address, unlock_time: uint256):
    """
    @notice Emit `ExitRequested`.
    @param node_id The node.
    @param requester Who asked.
    @param unlock_time When the exit may be finalized.
    """
    log ExitRequested(node_id=node_id, requester=requester, unlock_time=unlock_time)
    self.events_emitted += 1


@external
def exit_node(node_id: uint64, reason: uint8):
    """
    @notice Emit `NodeExited`.
    @param node_id The node.
    @param reason 0 finalized, 1 network exit, 2 removed, 3 liquidated, 4 cancelled.
    """
    log NodeExited(node_id=node_id, reason=reason)
    self.events_emitted += 1


@external
def exit_many(node_ids: DynArray[uint64, MAX_BATCH], reason: uint8):
    """
    @notice Emit `NodeExited` with the same reason for each node, in order.
    @param node_ids The nodes.
    @param reason The reason code of every exit.
    """
    for node_id: uint64 in node_ids:
        log NodeExited(node_id=node_id, reason=reason)
    self.events_emitted += len(node_ids)


@external
def update_endpoint(node_id: uint64, endpoint: String[64]):
    """
    @notice Emit `EndpointUpdated`.
    @param node_id The node.
    @param endpoint The new "host:port".
    """
    log EndpointUpdated(node_id=node_id, endpoint=endpoint)
    self.events_emitted += 1


@external
def distribute(amount: uint256, active_nodes: uint256, reward_per_node: uint256):
    """
    @notice Emit `RewardsDistributed`.
    @param amount The amount released by the pool.
    @param active_nodes The active node count.
    @param reward_per_node What each active node accrued.
    """
    log RewardsDistributed(amount=amount, active_nodes=active_nodes, reward_per_node=reward_per_node)
    self.events_emitted += 1


@external
def claim(node_id: uint64, account: address, rewards: uint256, stake: uint256):
    """
    @notice Emit `Claimed`.
    @param node_id The node.
    @param account The claiming account.
    @param rewards The rewards paid.
    @param stake The stake paid back.
    """
    log Claimed(node_id=node_id, account=account, rewards=rewards, stake=stake)
    self.events_emitted += 1


@external
def claim_many(claims: DynArray[ClaimEntry, MAX_BATCH]):
    """
    @notice Emit `Claimed` for each entry, in order.
    @param claims The claims.
    """
    for c: ClaimEntry in claims:
        log Claimed(node_id=c.node_id, account=c.account, rewards=c.rewards, stake=c.stake)
    self.events_emitted += len(claims)


@external
def set_staking_requirement(amount: uint256):
    """
    @notice Emit `StakingRequirementUpdated`.
    @param amount The new requirement.
    """
    log StakingRequirementUpdated(amount=amount)
    self.events_emitted += 1


@external
def subscribe(subscription: Subscription):
    """
    @notice Emit `ProSubscribed`.
    @param subscription The subscription's fields.
    """
    self._subscribe(subscription)


@external
def subscribe_many(subscriptions: DynArray[Subscription, MAX_BATCH]):
    """
    @notice Emit `ProSubscribed` for each entry, in order.
    @param subscriptions The subscriptions.
    """
    for s: Subscription in subscriptions:
        self._subscribe(s)


@external
def grant(pro_pubkey: bytes32, receipt_id: bytes32, duration: uint256, expiry: uint256):
    """
    @notice Emit `ProGranted`.
    @param pro_pubkey The Pro key.
    @param receipt_id The payment provider's receipt.
    @param duration The granted duration in seconds.
    @param expiry The key's expiry after the grant.
    """
    log ProGranted(pro_pubkey=pro_pubkey, receipt_id=receipt_id, duration=duration, expiry=expiry)
    self.events_emitted += 1


@external
def revoke(pro_pubkey: bytes32, receipt_id: bytes32, expiry: uint256):
    """
    @notice Emit `ProRevoked`.
    @param pro_pubkey The Pro key.
    @param receipt_id The refunded receipt.
    @param expiry The key's expiry after the revocation.
    """
    log ProRevoked(pro_pubkey=pro_pubkey, receipt_id=receipt_id, expiry=expiry)
    self.events_emitted += 1


@external
def emit_raw(topics: DynArray[bytes32, 4], data: Bytes[1024]):
    """
    @notice Emit an arbitrary log: a known event's topic with data that does
            not decode, or an event the bridge does not know.
    @param topics The log's topics (topic 0 first), 0 to 4 of them.
    @param data The log's data.
    """
    # raw_log takes a literal list, so one branch per topic count.
    if len(topics) == 0:
        raw_log([], data)
    elif len(topics) == 1:
        raw_log([topics[0]], data)
    elif len(topics) == 2:
        raw_log([topics[0], topics[1]], data)
    elif len(topics) == 3:
        raw_log([topics[0], topics[1], topics[2]], data)
    else:
        raw_log([topics[0], topics[1], topics[2], topics[3]], data)
    self.events_emitted += 1


def _register(r: Registration):
    log NodeRegistered(
        node_id=r.node_id,
        operator=r.operator,
        ed25519_pubkey=r.ed25519_pubkey,
        ed25519_sig=r.ed25519_sig,
        bls_pubkey=r.bls_pubkey,
        endpoint=r.endpoint,
        fee_bps=r.fee_bps,
    )
    log Contributed(
        node_id=r.node_id, contributor=r.operator, amount=r.operator_stake, total=r.operator_stake
    )
    self.events_emitted += 2


def _subscribe(s: Subscription):
    log ProSubscribed(
        pro_pubkey=s.pro_pubkey,
        payer=s.payer,
        plan_id=s.plan_id,
        token=s.token,
        amount=s.amount,
        expiry=s.expiry,
    )
    self.events_emitted += 1
