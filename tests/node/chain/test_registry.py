"""The registry (pure): each event's rule, the signature check, swarms following the
serving set, and unexpected events changing nothing."""

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sesh.node.chain.registry import Node, Registry, verify_registration
from tests.node.driver import NodeKeys
from tests.node.helpers import DELEGATOR, OPERATOR, block_hash, event, full_node, registered


def apply(registry, block, events):
    return registry.apply_block(block, block_hash(block), events)


def snapshot(registry):
    return list(registry.entities())


def test_signature__verifies_the_key_over_key_and_bls_key_and_says_why_not():
    keys = NodeKeys.derive("x")
    sig = keys.registration_sig()
    assert verify_registration(keys.ed25519_pubkey, sig, keys.bls_pubkey) is None
    assert "does not verify" in verify_registration(keys.ed25519_pubkey, sig, b"\x00" * 128)
    assert "64" in verify_registration(keys.ed25519_pubkey, sig[:63], keys.bls_pubkey)
    assert "128" in verify_registration(keys.ed25519_pubkey, sig, keys.bls_pubkey[:96])


def test_registration__node_is_open_with_the_operator_stake_and_not_in_swarms():
    registry = Registry()
    apply(registry, 1, full_node(1, 1)[:2])
    node = registry.nodes[1]
    assert (node.status, node.operator, node.stake) == ("open", OPERATOR, 100)
    assert node.contributions == {OPERATOR: 100}
    assert node.excluded is None
    assert registry.swarms == {}


def test_activation__puts_the_node_in_a_swarm_and_exit_takes_it_out():
    registry = Registry()
    apply(registry, 1, full_node(1, 1))
    assert registry.nodes[1].status == "active"
    assert registry.swarms == {0: [1]}
    apply(registry, 2, [event("ExitRequested", 2, node_id=1, requester=OPERATOR, unlock_time=99)])
    assert registry.nodes[1].status == "exiting"
    assert registry.swarms == {0: [1]}, "an exiting node still serves"
    apply(registry, 3, [event("NodeExited", 3, node_id=1, reason=0)])
    assert (registry.nodes[1].status, registry.nodes[1].exit_reason) == ("exited", 0)
    assert registry.swarms == {}


def test_bad_signature__node_activates_but_stays_out_of_swarms():
    registry = Registry()
    apply(registry, 1, full_node(1, 1) + [e for e in full_node(2, 1, bad_signature=True)])
    assert registry.nodes[2].status == "active"
    assert "does not verify" in registry.nodes[2].excluded
    assert registry.swarms == {0: [1]}


def test_duplicate_key__second_node_with_a_held_key_stays_out_until_reregistered_after_exit():
    keys = NodeKeys.derive("shared")
    registry = Registry()
    apply(registry, 1, full_node(1, 1, keys=keys))
    apply(registry, 2, full_node(2, 2, keys=keys))
    assert "held by node 1" in registry.nodes[2].excluded
    assert registry.swarms == {0: [1]}
    apply(registry, 3, [event("NodeExited", 3, node_id=1, reason=1)])
    apply(registry, 4, full_node(3, 4, keys=keys))
    assert registry.nodes[3].excluded is None
    assert registry.swarms == {0: [3]}


def test_contributions__sum_and_withdrawals_subtract():
    registry = Registry()
    apply(registry, 1, full_node(1, 1)[:2])
    apply(
        registry,
        2,
        [event("Contributed", 2, node_id=1, contributor=DELEGATOR, amount=50, total=150)],
    )
    assert registry.nodes[1].stake == 150
    apply(
        registry,
        3,
        [event("ContributionWithdrawn", 3, node_id=1, contributor=DELEGATOR, amount=50)],
    )
    assert registry.nodes[1].contributions == {OPERATOR: 100}


def test_cancellation__ends_an_open_node_as_cancelled():
    registry = Registry()
    apply(registry, 1, full_node(1, 1)[:2])
    apply(registry, 2, [event("NodeExited", 2, node_id=1, reason=4)])
    assert registry.nodes[1].status == "cancelled"


def test_endpoint_claims_rewards_and_requirement__are_recorded():
    registry = Registry()
    apply(registry, 1, full_node(1, 1))
    apply(
        registry,
        2,
        [
            event("EndpointUpdated", 2, 0, node_id=1, endpoint="new.example:1"),
            event("Claimed", 2, 1, node_id=1, account=OPERATOR, rewards=7, stake=0),
            event("RewardsDistributed", 2, 2, amount=10, active_nodes=1, reward_per_node=10),
            event("StakingRequirementUpdated", 2, 3, amount=5),
        ],
    )
    assert registry.nodes[1].endpoint == "new.example:1"
    assert registry.nodes[1].rewards_claimed == 7
    assert registry.meta == {
        "rewards_distributed": 10,
        "reward_per_node_last": 10,
        "active_nodes_last": 1,
        "staking_requirement": 5,
    }


def test_pro__expiry_is_the_last_logged_one():
    registry = Registry()
    key = b"\x42" * 32
    apply(
        registry,
        1,
        [
            event(
                "ProSubscribed",
                1,
                pro_pubkey=key,
                payer=OPERATOR,
                plan_id=1,
                token=OPERATOR,
                amount=1,
                expiry=1000,
            )
        ],
    )
    apply(
        registry,
        2,
        [event("ProGranted", 2, pro_pubkey=key, receipt_id=b"\x01" * 32, duration=50, expiry=1050)],
    )
    apply(
        registry, 3, [event("ProRevoked", 3, pro_pubkey=key, receipt_id=b"\x01" * 32, expiry=1000)]
    )
    assert registry.pro == {key: 1000}


@pytest.mark.parametrize(
    "unexpected",
    [
        lambda: registered(1, 5),  # the id is taken
        lambda: event("Contributed", 5, node_id=9, contributor=OPERATOR, amount=1, total=1),
        lambda: event("ContributionWithdrawn", 5, node_id=1, contributor=DELEGATOR, amount=1),
        lambda: event("NodeActivated", 5, node_id=1),  # already active
        lambda: event("NodeActivated", 5, node_id=9),  # unknown
        lambda: event("NodeExited", 5, node_id=2, reason=0),  # already exited
        lambda: event("ExitRequested", 5, node_id=2, requester=OPERATOR, unlock_time=1),
        lambda: event("EndpointUpdated", 5, node_id=2, endpoint="x:1"),  # exited
        lambda: event("Claimed", 5, node_id=9, account=OPERATOR, rewards=1, stake=1),
    ],
    ids=[
        "id-taken",
        "contribute-unknown",
        "withdraw-more",
        "activate-twice",
        "activate-unknown",
        "exit-twice",
        "exit-request-exited",
        "endpoint-exited",
        "claim-unknown",
    ],
)
def test_unexpected_event__is_counted_and_changes_nothing(unexpected):
    registry = Registry()
    apply(registry, 1, full_node(1, 1) + [e for e in full_node(2, 1)])
    apply(registry, 2, [event("NodeExited", 2, node_id=2, reason=0)])
    before = copy.deepcopy(snapshot(registry))
    changes = apply(registry, 5, [unexpected()])
    assert changes.rejected == 1
    assert snapshot(registry) == before


def test_entities__round_trip_through_the_store_format():
    registry = Registry()
    for n in range(1, 16):
        apply(registry, n, full_node(n, n))
    apply(registry, 20, [event("NodeExited", 20, node_id=3, reason=2)])
    loaded = Registry.from_entities(registry.entities())
    assert list(loaded.entities()) == list(registry.entities())
    # The loaded registry goes on exactly as the original does.
    more = full_node(40, 21)
    apply(registry, 21, more)
    apply(loaded, 21, more)
    assert list(loaded.entities()) == list(registry.entities())


_texts = st.text(max_size=70)
_ints = st.integers(min_value=0, max_value=2**256 - 1)


@given(
    endpoint=_texts,
    status=st.sampled_from(["open", "active", "exiting", "exited", "cancelled"]),
    contributions=st.dictionaries(_texts, _ints, max_size=5),
    excluded=st.none() | _texts,
    optionals=st.lists(st.none() | _ints, min_size=5, max_size=5),
    claimed=st.tuples(_ints, _ints),
)
def test_node_json_text__is_exactly_what_json_dumps_writes(
    endpoint, status, contributions, excluded, optionals, claimed
):
    keys = NodeKeys.derive("text")
    node = Node(
        node_id=7,
        operator=OPERATOR,
        ed25519_pubkey=keys.ed25519_pubkey,
        ed25519_sig=keys.registration_sig(),
        bls_pubkey=keys.bls_pubkey,
        endpoint=endpoint,
        fee_bps=250,
        registered_block=3,
        status=status,
        contributions=contributions,
        excluded=excluded,
    )
    (
        node.activated_block,
        node.exit_requested_block,
        node.exit_unlock_time,
        node.exited_block,
        node.exit_reason,
    ) = optionals
    node.rewards_claimed, node.stake_claimed = claimed
    assert node.json_text() == json.dumps(node.to_json())
    # The fixed part is cached: a later change of the variable fields still shows.
    node.endpoint, node.status = endpoint + "!", "exited"
    assert node.json_text() == json.dumps(node.to_json())


def test_entity_text__is_exactly_what_json_dumps_writes_and_none_when_absent():
    registry = Registry()
    for n in range(1, 12):
        apply(registry, n, full_node(n, n))
    apply(registry, 20, [event("NodeExited", 20, node_id=3, reason=2)])
    pro = {"pro_pubkey": b"\x42" * 32, "payer": OPERATOR, "plan_id": 1, "token": OPERATOR}
    apply(registry, 21, [event("ProSubscribed", 21, amount=1, expiry=1000, **pro)])
    rewards = {"amount": 9, "active_nodes": 3, "reward_per_node": 3}
    apply(registry, 22, [event("RewardsDistributed", 22, **rewards)])
    entities = list(registry.entities())
    assert {kind for kind, _, _ in entities} == {"node", "swarm", "pro", "meta"}
    for kind, key, value in entities:
        assert registry.entity_text(kind, key) == json.dumps(value)
    for kind, key in [("node", "99"), ("swarm", "12345"), ("pro", "00" * 32), ("meta", "none")]:
        assert registry.entity(kind, key) is None
        assert registry.entity_text(kind, key) is None
