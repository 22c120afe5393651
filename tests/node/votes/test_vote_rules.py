"""What a node agrees to sign (sesh.node.votes.rules.refusal, parse_sign_request), pure: each action
signed when the node's view supports it and refused, with the reason, when it does not;
the digest of each action is the DESIGN §4 message; who is in line to aggregate."""

from __future__ import annotations

import pytest

from sesh.crypto import bls
from sesh.node.votes.rules import (
    ACTIONS,
    EXIT,
    LIQUIDATE,
    MIN_EXIT_AGE,
    MIN_FAILED_TESTS,
    REMOVE,
    Observation,
    SignPolicy,
    SignRequest,
    VoteRequestError,
    action_message,
    aggregator_rank,
    network_members,
    parse_sign_request,
    refusal,
)

NOW = 1_700_000_000
SIGNER = 1  # the node asked to sign
TARGET = 7  # the node the vote is about
POLICY = SignPolicy(remove_after=600.0, liquidate_after=3600.0, clock_tolerance=180.0)
CHAIN_ID = 412346
STAKING = "0x" + "5e" * 20


def seen(
    status: str | None = "active",
    failures: int = 0,
    failing_for: float = 0.0,
    activated_at: int | None = None,
    excluded: str | None = None,
) -> Observation:
    return Observation(status, activated_at, failing_for, failures, excluded)


def judge(action: str, observed: Observation, timestamp: int = NOW, node_id: int = TARGET):
    return refusal(SignRequest(action, node_id, timestamp), observed, SIGNER, NOW, POLICY)


def failing(seconds: float, failures: int = MIN_FAILED_TESTS) -> Observation:
    return seen(failures=failures, failing_for=seconds)


# ----- exit


def test_exit__requested_and_old_enough__is_signed():
    assert judge(EXIT, seen("exiting", activated_at=NOW - MIN_EXIT_AGE)) is None
    assert judge(EXIT, seen("exiting", activated_at=NOW - 10 * MIN_EXIT_AGE)) is None


def test_exit__not_requested__is_refused():
    reason = judge(EXIT, seen("active", activated_at=NOW - 10 * MIN_EXIT_AGE))
    assert reason == f"node {TARGET} has not requested its exit"


def test_exit__requested_but_one_second_too_young__is_refused():
    activated = NOW - MIN_EXIT_AGE + 1
    reason = judge(EXIT, seen("exiting", activated_at=activated))
    assert reason is not None and "too young to exit" in reason
    assert str(activated) in reason and str(MIN_EXIT_AGE) in reason


def test_exit__activation_time_unknown__is_refused():
    reason = judge(EXIT, seen("exiting", activated_at=None))
    assert reason == f"node {TARGET}'s activation time is unknown"


def test_exit__of_the_signer_itself__is_signed_when_old_enough():
    observed = seen("exiting", activated_at=NOW - MIN_EXIT_AGE)
    assert judge(EXIT, observed, node_id=SIGNER) is None


def test_exit__of_a_node_this_node_sees_failing__is_refused():
    observed = seen("exiting", failures=1, failing_for=5.0, activated_at=NOW - MIN_EXIT_AGE)
    reason = judge(EXIT, observed)
    assert reason is not None and "no fast exit for a failing node" in reason


# ----- remove


def test_remove__failing_for_exactly_the_period__is_signed():
    assert judge(REMOVE, failing(POLICY.remove_after)) is None
    assert judge(REMOVE, failing(POLICY.remove_after * 5, failures=40)) is None


def test_remove__failing_for_less_than_the_period__is_refused_with_what_was_seen():
    reason = judge(REMOVE, failing(POLICY.remove_after - 1))
    assert reason is not None
    assert f"has failed {MIN_FAILED_TESTS} test(s) over {POLICY.remove_after - 1:.0f} s" in reason
    assert f"remove needs {MIN_FAILED_TESTS} over {POLICY.remove_after:g} s" in reason


def test_remove__a_single_failure_however_long_ago__is_refused():
    reason = judge(REMOVE, failing(POLICY.liquidate_after * 2, failures=MIN_FAILED_TESTS - 1))
    assert reason is not None and f"has failed {MIN_FAILED_TESTS - 1} test(s)" in reason


def test_remove__a_node_that_passes__is_refused():
    assert judge(REMOVE, seen(failures=0)) == f"node {TARGET} passes this node's tests"


def test_remove__of_the_signer_itself__is_refused():
    reason = judge(REMOVE, failing(POLICY.liquidate_after), node_id=SIGNER)
    assert reason == "a node does not sign its own removal"


def test_remove__of_an_exiting_node_that_fails__is_signed():
    observed = seen("exiting", failures=MIN_FAILED_TESTS, failing_for=POLICY.remove_after)
    assert judge(REMOVE, observed) is None


# ----- remove: a registration the network refuses to serve (issue #15, scenario 2)

REFUSED = "Ed25519 key already held by node 3"


@pytest.mark.parametrize("status", ["active", "exiting"])
def test_remove__a_refused_registration_never_tested__is_signed_at_once(status):
    # No failed test (the bridges never test a node they keep out of swarms), no wait.
    assert judge(REMOVE, seen(status, excluded=REFUSED)) is None
    assert judge(REMOVE, seen(status, excluded="bad registration signature: x")) is None


def test_remove__a_healthy_node_not_excluded__is_refused_on_that_ground():
    reason = judge(REMOVE, seen("active", excluded=None))
    assert reason == f"node {TARGET} passes this node's tests"


def test_remove__a_refused_registration_not_yet_in_the_network__is_refused():
    # Open (never activated), or already gone: nothing to remove on chain.
    for status in ("open", "exited", "cancelled"):
        reason = judge(REMOVE, seen(status, excluded=REFUSED))
        assert reason == f"node {TARGET} is {status}, not in the network"


def test_liquidate__a_refused_registration__is_not_liquidated_on_that_ground():
    # An exclusion may be an operator's mistake (keys reused): removed, not penalised.
    reason = judge(LIQUIDATE, seen("active", excluded=REFUSED))
    assert reason == f"node {TARGET} passes this node's tests"


def test_remove__a_refused_registration__still_needs_a_current_timestamp():
    stale = NOW - int(POLICY.clock_tolerance) - 1
    reason = judge(REMOVE, seen("active", excluded=REFUSED), timestamp=stale)
    assert reason is not None and "behind this node's clock" in reason


def test_remove__a_node_asked_about_its_own_refused_registration__does_not_sign():
    reason = judge(REMOVE, seen("active", excluded=REFUSED), node_id=SIGNER)
    assert reason == "a node does not sign its own removal"


# ----- liquidate


def test_liquidate__failing_for_the_longer_period__is_signed():
    assert judge(LIQUIDATE, failing(POLICY.liquidate_after)) is None


def test_liquidate__removal_criteria_met_but_not_the_longer_period__is_refused():
    observed = failing(POLICY.liquidate_after - 1)
    assert judge(REMOVE, observed) is None, "the same view supports a removal"
    reason = judge(LIQUIDATE, observed)
    assert reason is not None and f"liquidate needs {MIN_FAILED_TESTS} over" in reason
    assert f"{POLICY.liquidate_after:g} s" in reason


def test_liquidate__of_a_node_that_passes__is_refused():
    assert judge(LIQUIDATE, seen(failures=0)) == f"node {TARGET} passes this node's tests"


# ----- timestamps


@pytest.mark.parametrize("action", ACTIONS)
def test_timestamp__at_the_edges_of_the_tolerance__is_signed(action):
    # Failing, for a removal; passing, for an exit (no fast exit for a failing node).
    failures = 0 if action == EXIT else MIN_FAILED_TESTS
    observed = seen("exiting", failures, POLICY.liquidate_after, NOW - 2 * MIN_EXIT_AGE)
    tolerance = int(POLICY.clock_tolerance)
    assert judge(action, observed, timestamp=NOW - tolerance) is None
    assert judge(action, observed, timestamp=NOW + tolerance) is None


@pytest.mark.parametrize("action", ACTIONS)
def test_timestamp__one_second_too_old__is_refused(action):
    observed = seen("exiting", MIN_FAILED_TESTS, POLICY.liquidate_after, NOW - 2 * MIN_EXIT_AGE)
    stale = NOW - int(POLICY.clock_tolerance) - 1
    reason = judge(action, observed, timestamp=stale)
    assert reason == (
        f"timestamp {stale} is {int(POLICY.clock_tolerance) + 1} s behind this node's clock "
        f"(tolerance {POLICY.clock_tolerance:g} s)"
    )


@pytest.mark.parametrize("action", ACTIONS)
def test_timestamp__one_second_too_far_ahead__is_refused(action):
    observed = seen("exiting", MIN_FAILED_TESTS, POLICY.liquidate_after, NOW - 2 * MIN_EXIT_AGE)
    early = NOW + int(POLICY.clock_tolerance) + 1
    reason = judge(action, observed, timestamp=early)
    assert reason is not None and "ahead of this node's clock" in reason


# ----- the node asked about


@pytest.mark.parametrize("action", ACTIONS)
def test_unknown_node__is_refused(action):
    assert judge(action, seen(None)) == f"node {TARGET} is unknown"


@pytest.mark.parametrize("status", ["open", "exited", "cancelled"])
@pytest.mark.parametrize("action", ACTIONS)
def test_node_out_of_the_network__is_refused(action, status):
    observed = seen(status, MIN_FAILED_TESTS, POLICY.liquidate_after, NOW - 2 * MIN_EXIT_AGE)
    assert judge(action, observed) == f"node {TARGET} is {status}, not in the network"


def test_unknown_action__built_without_the_parser__is_refused():
    observed = seen("exiting", MIN_FAILED_TESTS, POLICY.liquidate_after, NOW - 2 * MIN_EXIT_AGE)
    assert judge("slash", observed) == "unknown action 'slash'"


# ----- the request's shape


def test_parse__a_well_formed_request__gives_its_fields():
    body = {"action": LIQUIDATE, "node_id": 2**64 - 1, "timestamp": NOW}
    request = parse_sign_request(body)
    assert request == SignRequest(LIQUIDATE, 2**64 - 1, NOW)
    assert request.to_json() == body


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], "the body must be a JSON object"),
        ("remove", "the body must be a JSON object"),
        ({"node_id": 7, "timestamp": NOW}, "action must be one of exit, remove, liquidate"),
        ({"action": "slash", "node_id": 7, "timestamp": NOW}, "action must be one of"),
        ({"action": "REMOVE", "node_id": 7, "timestamp": NOW}, "action must be one of"),
        ({"action": REMOVE, "timestamp": NOW}, "node_id must be an unsigned 64-bit integer"),
        ({"action": REMOVE, "node_id": "7", "timestamp": NOW}, "node_id must be an unsigned"),
        ({"action": REMOVE, "node_id": 7.0, "timestamp": NOW}, "node_id must be an unsigned"),
        ({"action": REMOVE, "node_id": True, "timestamp": NOW}, "node_id must be an unsigned"),
        ({"action": REMOVE, "node_id": -1, "timestamp": NOW}, "node_id must be an unsigned"),
        ({"action": REMOVE, "node_id": 2**64, "timestamp": NOW}, "node_id must be an unsigned"),
        ({"action": REMOVE, "node_id": 0, "timestamp": NOW}, "node_id must be a registered"),
        ({"action": REMOVE, "node_id": 7}, "timestamp must be an unsigned 256-bit integer"),
        ({"action": REMOVE, "node_id": 7, "timestamp": str(NOW)}, "timestamp must be"),
        ({"action": REMOVE, "node_id": 7, "timestamp": NOW + 0.5}, "timestamp must be"),
        ({"action": REMOVE, "node_id": 7, "timestamp": NOW, "sig": "x"}, "unknown field 'sig'"),
    ],
)
def test_parse__malformed_requests__are_refused_with_the_reason(body, error):
    with pytest.raises(VoteRequestError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse_sign_request(body)


@pytest.mark.parametrize(
    ("action", "builder"),
    [(EXIT, bls.exit_message), (REMOVE, bls.remove_message), (LIQUIDATE, bls.liquidate_message)],
)
def test_message__of_each_action__is_its_design_message(action, builder):
    request = SignRequest(action, TARGET, NOW)
    assert request.message(CHAIN_ID, STAKING) == builder(CHAIN_ID, STAKING, TARGET, NOW)
    others = {action_message(a, CHAIN_ID, STAKING, TARGET, NOW) for a in ACTIONS if a != action}
    assert request.message(CHAIN_ID, STAKING) not in others
    assert request.message(CHAIN_ID, STAKING) != builder(CHAIN_ID, STAKING, TARGET, NOW + 1)


# ----- who aggregates


def test_aggregator_rank__the_lowest_healthy_member_leads_and_the_next_follows():
    swarm = [9, 3, 5, 12]
    assert aggregator_rank(3, swarm, failing_node=12, unhealthy=[]) == 0
    assert aggregator_rank(5, swarm, failing_node=12, unhealthy=[]) == 1
    # The leader itself failing: the next in line moves up.
    assert aggregator_rank(5, swarm, failing_node=3, unhealthy=[]) == 0
    assert aggregator_rank(9, swarm, failing_node=12, unhealthy=[3]) == 1


def test_aggregator_rank__outside_the_swarm_or_failing__is_not_in_line():
    swarm = [3, 5, 9]
    assert aggregator_rank(4, swarm, failing_node=9, unhealthy=[]) is None
    assert aggregator_rank(9, swarm, failing_node=9, unhealthy=[]) is None
    assert aggregator_rank(5, swarm, failing_node=9, unhealthy=[5]) is None


def test_network_members__are_the_active_and_exiting_nodes_in_order():
    statuses = {4: "exiting", 1: "active", 2: "open", 3: "exited", 9: "active", 5: "cancelled"}
    assert network_members(statuses) == [1, 4, 9]
