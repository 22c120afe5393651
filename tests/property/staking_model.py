"""A plain-Python reference model of ServiceNodeStaking (and the pool feeding it).

Written from the specification (DESIGN §3–§4, docs/staking.md), not from the contract:
it keeps per-node, per-contributor state as dictionaries, and predicts for every action
whether it succeeds (with the contract's reason otherwise) and every amount it moves.

Rewards are modelled from the economic rule, in exact fractions and with no
accumulator: a pool day's release is paid evenly over the following pool day (a
release covering several days, over those days); every second of it is shared equally
by the nodes active in that second, and with no node active it is kept for the next
release. A node's rewards go to its operator as the fee, the rest by stake. The
contract rounds (to token units, per update); the model does not, so rewards are
compared within a tolerance (`reward_tolerance`) and stakes exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from sesh.rules.economics import DAY, releasable

BPS = 10_000
MAX_CONTRIBUTORS = 10
WITHDRAW_DELAY = DAY
MIN_EXIT_AGE = 2 * 3600
MIN_EXIT_NOTICE = 2 * 3600
SIGNATURE_EXPIRY = 600
SMALL_CONTRIBUTOR_EXIT_AGE = 30 * DAY
MIN_ACTIVATIONS_PER_BLOCK = 20
# The contract remembers this many activations to know who was in the network when a
# signature was made (docs/protocol.md).
RECENT_ACTIVATIONS = 32

OPEN, ACTIVE, EXITING, EXITED, CANCELLED = 1, 2, 3, 4, 5
FINALIZED, NETWORK, REMOVED, LIQUIDATED, CANCELLED_REASON = 0, 1, 2, 3, 4


class Refused(Exception):
    """The action must revert with `reason`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise Refused(reason)


@dataclass
class Contribution:
    stake: int = 0
    reserved: int = 0
    contributed_at: int = 0
    claimed_rewards: int = 0
    stake_claimed: bool = False


@dataclass
class Node:
    node_id: int
    operator: str
    fee_bps: int
    requirement: int
    bls_key: bytes
    penalty_bps: int  # fixed at registration
    exit_delay: int  # fixed at registration
    status: int = OPEN
    reason: int | None = None
    delegators: list[str] = field(default_factory=list)
    contributions: dict[str, Contribution] = field(default_factory=dict)
    activated_at: int = 0
    exit_requested_at: int = 0
    unlock_time: int = 0
    # Rewards the node earned (exact): its share of every second it was in the network.
    earned: Fraction = Fraction(0)

    @property
    def total(self) -> int:
        return sum(c.stake for c in self.contributions.values())

    @property
    def unfilled_reserved(self) -> int:
        return sum(
            self.contributions[a].reserved
            for a in self.delegators
            if self.contributions[a].reserved and not self.contributions[a].stake
        )

    def public_room(self) -> tuple[int, int]:
        left = self.requirement - self.total - self.unfilled_reserved
        return left, MAX_CONTRIBUTORS - 1 - len(self.delegators)


class StakingModel:
    def __init__(self, requirement: int, pool_balance: int, pool_start: int, now: int):
        self.requirement = requirement
        self.exit_delay = 30 * DAY
        self.penalty_bps = 20
        self.paused = False
        self.nodes: dict[int, Node] = {}
        self.pool_start = pool_start
        self.pool_balance = pool_balance
        # The pool pays for days from its start (the beneficiary set at deployment) on
        # what it held then; tokens arriving later earn from the release after.
        self.pool_earning = pool_balance
        self.pool_released_days = (now - pool_start) // DAY
        # The release being paid out: `stream_amount` evenly over [start, end).
        today = (now - pool_start) // DAY
        self.pulled_day = today
        self.stream_end = pool_start + (today + 1) * DAY
        self.stream_start = self.stream_end - DAY
        self.stream_amount = Fraction(0)
        # Paid out while no node was active: joins the next release.
        self.kept = Fraction(0)
        self.updated_at = now
        self.activation_block = -1
        self.activations_in_block = 0
        # When each activation happened, in order (nodes that left since included).
        self.activation_times: list[int] = []
        # SESH sent to the staking contract by plain transfer: owed to nobody.
        self.stray = 0
        self.payouts: dict[str, int] = {}

    # ------------------------------------------------------------- helpers

    @property
    def active(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.status in (ACTIVE, EXITING)]

    def _pay(self, account: str, amount: int) -> None:
        self.payouts[account] = self.payouts.get(account, 0) + amount

    def _pay_out_stream(self, until: int) -> None:
        """Every second from the last update to `until` (within the stream) goes in
        equal parts to the nodes in the network during it."""
        until = min(until, self.stream_end)
        if until <= self.updated_at:
            return
        paid = (
            self.stream_amount * (until - self.updated_at) / (self.stream_end - self.stream_start)
        )
        active = self.active
        if active:
            for node in active:
                node.earned += paid / len(active)
        else:
            self.kept += paid
        self.updated_at = until

    def distribute(self, now: int) -> None:
        today = (now - self.pool_start) // DAY
        if today > self.pulled_day:
            self._pay_out_stream(self.stream_end)
            released = releasable(self.pool_earning, today - self.pool_released_days)
            self.pool_released_days = today
            self.pool_balance -= released
            self.pool_earning = self.pool_balance
            self.pulled_day = today
            self.stream_start = self.stream_end
            self.stream_end = self.pool_start + (today + 1) * DAY
            self.stream_amount = released + self.kept
            self.kept = Fraction(0)
        self._pay_out_stream(now)

    def fee_arrives(self, amount: int) -> None:
        self.pool_balance += amount

    def stray_arrives(self, amount: int) -> None:
        self.stray += amount

    def sweep(self) -> int:
        """Anyone sends the stray SESH to the pool, which pays it out like a fee."""
        swept, self.stray = self.stray, 0
        self.fee_arrives(swept)
        return swept

    def earned_now(self, node: Node, now: int) -> Fraction:
        """What the node has earned up to `now`, counting only releases already pulled
        (what the contract's views show)."""
        earned = node.earned
        if node.status in (ACTIVE, EXITING):
            until = min(now, self.stream_end)
            if until > self.updated_at:
                paid = (
                    self.stream_amount
                    * (until - self.updated_at)
                    / (self.stream_end - self.stream_start)
                )
                earned += paid / len(self.active)
        return earned

    def _node(self, node_id: int) -> Node:
        require(node_id in self.nodes, "staking: unknown node")
        return self.nodes[node_id]

    def _activate(self, node: Node, now: int) -> None:
        limit = max(MIN_ACTIVATIONS_PER_BLOCK, len(self.active) * 2 // 100)
        if self.activation_block == now:
            require(self.activations_in_block < limit, "staking: block activation limit")
            self.activations_in_block += 1
        else:
            self.activation_block, self.activations_in_block = now, 1
        node.status = ACTIVE
        node.activated_at = now
        self.activation_times.append(now)

    def _deactivate(self, node: Node, reason: int, unlock_time: int) -> None:
        node.status = EXITED
        node.reason = reason
        node.unlock_time = unlock_time

    # ------------------------------------------------------------- actions
    # Each action mutates a copy-free model only after every check has passed.

    def register(
        self, operator: str, fee_bps: int, stake: int, reserved: list[tuple[str, int]],
        bls_key: bytes, valid_pop: bool, now: int, node_id: int,
    ) -> None:  # fmt: skip
        require(not self.paused, "pausable: contract is paused")
        requirement = self.requirement
        require(fee_bps <= BPS, "staking: fee above 100 %")
        require(stake * 4 >= requirement, "staking: operator stake < 25%")
        require(stake <= requirement, "staking: stake above requirement")
        seen = set()
        for account, amount in reserved:
            require(account != operator, "staking: reserved for operator")
            require(amount != 0, "staking: empty reservation")
            require(account not in seen, "staking: duplicate reservation")
            seen.add(account)
        total_reserved = sum(a for _, a in reserved)
        require(stake + total_reserved <= requirement, "staking: reservations too large")
        if len(reserved) + 1 == MAX_CONTRIBUTORS:
            require(stake + total_reserved == requirement, "staking: reservations too small")
        require(valid_pop, "staking: bad proof of possession")
        self.distribute(now)
        node = Node(
            node_id, operator, fee_bps, requirement, bls_key, self.penalty_bps, self.exit_delay
        )
        node.contributions[operator] = Contribution(stake=stake, contributed_at=now)
        for account, amount in reserved:
            node.delegators.append(account)
            node.contributions[account] = Contribution(reserved=amount)
        if stake == requirement:
            limit = max(MIN_ACTIVATIONS_PER_BLOCK, len(self.active) * 2 // 100)
            if self.activation_block == now:
                require(self.activations_in_block < limit, "staking: block activation limit")
        self.nodes[node_id] = node
        if stake == requirement:
            self._activate(node, now)

    def contribute(self, node_id: int, account: str, amount: int, now: int) -> None:
        node = self._node(node_id)
        require(node.status == OPEN, "staking: node not open")
        require(amount != 0, "staking: zero amount")
        mine = node.contributions.get(account, Contribution())
        public_left, slots_left = node.public_room()
        new_delegator = False
        if mine.reserved and not mine.stake:
            require(amount >= mine.reserved, "staking: below reserved amount")
            require(amount - mine.reserved <= public_left, "staking: above what is left")
        elif mine.stake:
            require(amount <= public_left, "staking: above what is left")
        else:
            require(slots_left != 0, "staking: no slot left")
            require(amount >= -(-public_left // slots_left), "staking: below min contribution")
            require(amount <= public_left, "staking: above what is left")
            new_delegator = True
        filling = node.total + amount == node.requirement
        if filling:
            limit = max(MIN_ACTIVATIONS_PER_BLOCK, len(self.active) * 2 // 100)
            if self.activation_block == now:
                require(self.activations_in_block < limit, "staking: block activation limit")
        self.distribute(now)
        if new_delegator:
            node.delegators.append(account)
        mine.stake += amount
        mine.contributed_at = now
        node.contributions[account] = mine
        if filling:
            self._activate(node, now)

    def withdraw(self, node_id: int, account: str, now: int) -> int:
        node = self._node(node_id)
        require(node.status == OPEN, "staking: node not open")
        require(account != node.operator, "staking: operator must cancel")
        mine = node.contributions.get(account, Contribution())
        require(mine.stake != 0, "staking: nothing contributed")
        require(now >= mine.contributed_at + WITHDRAW_DELAY, "staking: withdrawal too early")
        self.distribute(now)
        amount = mine.stake
        if mine.reserved:
            node.contributions[account] = Contribution(reserved=mine.reserved)
        else:
            del node.contributions[account]
            # The contract swaps the last delegator into the freed place.
            index = node.delegators.index(account)
            node.delegators[index] = node.delegators[-1]
            node.delegators.pop()
        self._pay(account, amount)
        return amount

    def cancel(self, node_id: int, caller: str, now: int) -> None:
        node = self._node(node_id)
        require(caller == node.operator, "staking: not the operator")
        require(node.status == OPEN, "staking: node not open")
        self.distribute(now)
        node.status = CANCELLED
        node.reason = CANCELLED_REASON
        node.unlock_time = now

    def request_exit(self, node_id: int, caller: str, now: int) -> None:
        node = self._node(node_id)
        require(node.status == ACTIVE, "staking: node not active")
        if caller != node.operator:
            stake = node.contributions.get(caller, Contribution()).stake
            require(stake != 0, "staking: not a contributor")
            if stake * 4 < node.total:
                require(
                    now >= node.activated_at + SMALL_CONTRIBUTOR_EXIT_AGE,
                    "staking: stake < 25%: wait 30d",
                )
        self.distribute(now)
        node.status = EXITING
        node.exit_requested_at = now
        node.unlock_time = now + node.exit_delay

    def finalize_exit(self, node_id: int, now: int) -> None:
        node = self._node(node_id)
        require(node.status == EXITING, "staking: no exit requested")
        require(now >= node.unlock_time, "staking: exit delay not over")
        self.distribute(now)
        self._deactivate(node, FINALIZED, now)

    def members_at(self, timestamp: int) -> list[Node]:
        """Who a signature made at `timestamp` speaks for: the nodes in the network now
        that were already in it then (activated strictly before)."""
        return [n for n in self.active if n.activated_at < timestamp]

    def check_network_signature(
        self, node_id: int, timestamp: int, non_signers: list[int], signers_valid: bool, now: int
    ) -> None:
        """`signers_valid`: the signature is by exactly the members at `timestamp` that are
        not listed (the caller builds it; a wrong set or tag makes it invalid)."""
        require(timestamp <= now, "staking: signature from future")
        require(now - timestamp <= SIGNATURE_EXPIRY, "staking: signature expired")
        since = sum(1 for at in self.activation_times if at >= timestamp)
        require(since < RECENT_ACTIVATIONS, "staking: too many activations since signing")
        members = self.members_at(timestamp)
        require(len(non_signers) * 3 <= len(members), "staking: too many non-signers")
        previous = 0
        for non_signer in non_signers:
            require(non_signer > previous, "staking: non-signers not sorted")
            previous = non_signer
            require(
                non_signer in self.nodes and self.nodes[non_signer].status in (ACTIVE, EXITING),
                "staking: node not active",
            )
            require(
                self.nodes[non_signer].activated_at < timestamp,
                "staking: non-signer joined after signing",
            )
        require(signers_valid, "staking: bad network signature")

    def network_exit(self, node_id, timestamp, non_signers, signers_valid, now) -> None:
        node = self._node(node_id)
        require(node.status == EXITING, "staking: no exit requested")
        require(now >= node.activated_at + MIN_EXIT_AGE, "staking: node too young to exit")
        require(
            timestamp >= node.exit_requested_at + MIN_EXIT_NOTICE, "staking: exit notice not over"
        )
        self.distribute(now)
        self.check_network_signature(node_id, timestamp, non_signers, signers_valid, now)
        self._deactivate(node, NETWORK, now)

    def remove(self, node_id, timestamp, non_signers, signers_valid, now) -> None:
        node = self._node(node_id)
        require(node.status in (ACTIVE, EXITING), "staking: node not active")
        self.distribute(now)
        self.check_network_signature(node_id, timestamp, non_signers, signers_valid, now)
        self._deactivate(node, REMOVED, now + node.exit_delay)

    def liquidate(self, node_id, timestamp, non_signers, signers_valid, now, caller) -> int:
        node = self._node(node_id)
        require(node.status in (ACTIVE, EXITING), "staking: node not active")
        self.distribute(now)
        self.check_network_signature(node_id, timestamp, non_signers, signers_valid, now)
        self._deactivate(node, LIQUIDATED, now + node.exit_delay)
        penalty = sum(c.stake * node.penalty_bps // BPS for c in node.contributions.values())
        to_caller = penalty * 3 // 20
        self._pay(caller, to_caller)
        self.fee_arrives(penalty - to_caller)
        return penalty

    # ------------------------------------------------------------- rewards

    def entitlement(self, node: Node, account: str, now: int) -> Fraction:
        """The account's exact part of the node's rewards: the fee (operator), and the
        rest by stake."""
        mine = node.contributions.get(account)
        if mine is None or node.total == 0:
            return Fraction(0)
        after_fee = Fraction(BPS - node.fee_bps, BPS)
        share = after_fee * mine.stake / node.total
        if account == node.operator:
            share += Fraction(node.fee_bps, BPS)
        return self.earned_now(node, now) * share

    def stake_claimable(self, node_id: int, account: str, now: int) -> int:
        node = self.nodes.get(node_id)
        if node is None:
            return 0
        mine = node.contributions.get(account, Contribution())
        if mine.stake_claimed or node.status not in (EXITED, CANCELLED) or now < node.unlock_time:
            return 0
        if node.reason == LIQUIDATED:
            return mine.stake - mine.stake * node.penalty_bps // BPS
        return mine.stake

    def claim(self, node_id: int, account: str, rewards: int, now: int) -> int:
        """Records a claim paying `rewards` (the contract's figure, checked by the caller
        against `entitlement`) and the stake the rules unlock; returns the stake."""
        self.distribute(now)
        stake = self.stake_claimable(node_id, account, now)
        require(rewards or stake, "staking: nothing to claim")
        mine = self.nodes[node_id].contributions[account]
        mine.claimed_rewards += rewards
        if stake:
            mine.stake_claimed = True
        self._pay(account, rewards + stake)
        return stake

    def require_unknown_claim(self) -> None:
        raise Refused("staking: nothing to claim")

    def unclaimed_stakes(self) -> int:
        total = 0
        for node in self.nodes.values():
            for mine in node.contributions.values():
                if not mine.stake_claimed:
                    total += mine.stake
                    if node.reason == LIQUIDATED:
                        total -= mine.stake * node.penalty_bps // BPS
        return total


def reward_tolerance(updates: int) -> int:
    """How far (in token units) the contract's rounded rewards may stray from the exact
    rule after `updates` state changes: each update rounds the stream's payout and each
    node's share down (under a unit each), and what rounding keeps joins the next
    release; a contributor's part rounds down once more."""
    return 2 * updates + 4
