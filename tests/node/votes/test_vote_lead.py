"""Who leads a removal vote, and when: one aggregator at a time, the next in line only
after the one ahead had its chance (sesh.node.votes.rules.takes_the_lead)."""

from __future__ import annotations

import pytest

from sesh.node.votes.rules import aggregator_rank, refused_registration_rank, takes_the_lead

REMOVE_AFTER, DELAY = 15.0, 10.0


def test_rank__in_ascending_id_without_the_failing_and_the_unhealthy():
    swarm = [9, 3, 7, 5, 1]
    assert aggregator_rank(3, swarm, failing_node=1, unhealthy=[]) == 0
    assert aggregator_rank(7, swarm, failing_node=1, unhealthy=[3]) == 1
    assert aggregator_rank(1, swarm, failing_node=1, unhealthy=[]) is None
    assert aggregator_rank(3, swarm, failing_node=1, unhealthy=[3]) is None
    assert aggregator_rank(4, swarm, failing_node=1, unhealthy=[]) is None


def test_lead__the_first_in_line__leads_as_soon_as_it_sees_the_failure():
    assert takes_the_lead(0, 0.0, 0.0, REMOVE_AFTER, DELAY)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_lead__the_next_in_line__waits_for_the_vote_to_have_had_its_chance(rank):
    wait = rank * DELAY
    assert not takes_the_lead(rank, REMOVE_AFTER + wait - 0.1, 10 * wait, REMOVE_AFTER, DELAY)
    assert takes_the_lead(rank, REMOVE_AFTER + wait, wait, REMOVE_AFTER, DELAY)


def test_lead__a_node_that_just_moved_up__waits_again_at_its_new_place():
    # The failure is old (any rank would qualify by it), but the node became second in
    # line a moment ago, when the first died: the new first leads, the second waits.
    old = REMOVE_AFTER + 100 * DELAY
    assert takes_the_lead(0, old, 0.0, REMOVE_AFTER, DELAY)
    assert not takes_the_lead(1, old, DELAY - 0.1, REMOVE_AFTER, DELAY)
    assert takes_the_lead(1, old, DELAY, REMOVE_AFTER, DELAY)


def test_refused_rank__the_lowest_id_serving_node_leads_and_the_unhealthy_are_skipped():
    serving = [9, 3, 7, 5]
    assert refused_registration_rank(3, serving, unhealthy=[]) == 0
    assert refused_registration_rank(9, serving, unhealthy=[]) == 3
    # The first in line seen failing: the next one moves up.
    assert refused_registration_rank(5, serving, unhealthy=[3]) == 0


def test_refused_rank__a_node_that_does_not_serve_or_fails__is_not_in_line():
    serving = [9, 3, 7, 5]
    assert refused_registration_rank(4, serving, unhealthy=[]) is None  # excluded itself
    assert refused_registration_rank(3, serving, unhealthy=[3]) is None


def test_refused_lead__the_first_leads_at_once_the_next_after_its_takeover_delay():
    # A refused registration needs no failure period: remove_after is 0.
    assert takes_the_lead(0, 0.0, 0.0, 0.0, DELAY)
    assert not takes_the_lead(1, DELAY - 0.1, DELAY, 0.0, DELAY)
    assert takes_the_lead(1, DELAY, DELAY, 0.0, DELAY)
