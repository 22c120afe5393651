"""The votes database (real SQLite files): failure streaks and their periods, the watch
list, pruning, the votes' records, and the submission log committed before a transaction
goes out and still there when the file is opened again."""

from __future__ import annotations

import pytest

from sesh.node.votes.db import OPEN_SUBMISSIONS, VotesDB, VotesDBError

T0 = 1_700_000_000.0
SENDER = "0x" + "5a" * 20


class Clock:
    """A clock the test sets."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def db(tmp_path, clock):
    opened = VotesDB(tmp_path / "votes.sqlite3", clock)
    yield opened
    opened.close()


# ----- failure streaks


def test_streak__starts_at_the_first_failure_and_lasts_until_now(db):
    db.record_test(7, False, "unreachable", 3.0, at=T0)
    state = db.record_test(7, False, "info: not synced", 4.0, at=T0 + 100)
    assert state.failing and state.failing_since == T0
    assert (state.failures, state.tests, state.passed) == (2, 2, 0)
    assert state.last_reason == "info: not synced"
    assert state.failing_for(T0 + 250) == 250
    assert state.failing_for(T0 - 10) == 0, "never negative on a clock set back"


def test_streak__a_pass_ends_it_and_the_next_failure_starts_a_new_one(db):
    db.record_test(7, False, "unreachable", 1.0, at=T0)
    db.record_test(7, False, "unreachable", 1.0, at=T0 + 600)
    recovered = db.record_test(7, True, None, 1.0, at=T0 + 700)
    assert not recovered.failing
    assert (recovered.failures, recovered.failing_for(T0 + 10_000)) == (0, 0.0)
    assert (recovered.last_ok, recovered.last_reason) == (T0 + 700, None)
    again = db.record_test(7, False, "store: HTTP 500", 1.0, at=T0 + 800)
    assert (again.failing_since, again.failures) == (T0 + 800, 1)
    assert again.failing_for(T0 + 900) == 100, "measured from the new streak, not the old"
    assert (again.tests, again.passed) == (4, 1)


def test_streak__is_kept_per_node(db):
    db.record_test(7, False, "unreachable", 1.0, at=T0)
    db.record_test(8, True, None, 1.0, at=T0)
    assert db.peer(7).failing and not db.peer(8).failing
    assert db.peer(9) is None
    assert sorted(s.node_id for s in db.peers()) == [7, 8]


def test_streak__without_a_time__is_stamped_with_the_databases_clock(db, clock):
    clock.now = T0 + 42
    assert db.record_test(7, False, "unreachable", 1.0).failing_since == T0 + 42


def test_state__to_json_reports_the_streak_and_the_watch(db):
    db.record_test(7, False, "unreachable", 1.0, at=T0)
    shown = db.peer(7).to_json(T0 + 30)
    assert (shown["failing_for"], shown["failures"], shown["watched"]) == (30.0, 1, True)
    db.record_test(7, True, None, 1.0, at=T0 + 40)
    shown = db.peer(7).to_json(T0 + 50)
    assert (shown["failing_for"], shown["failures"], shown["watched"]) == (0.0, 0, False)


# ----- the watch list


def test_watch__a_failure_or_a_request_watches_a_node_until_it_passes(db, clock):
    db.record_test(7, False, "unreachable", 1.0, at=T0)
    clock.now = T0 + 5
    db.watch(9)
    db.watch(9)
    assert db.watched() == [7, 9]
    assert db.peer(9).watched_since == T0 + 5, "watching again keeps the first time"
    assert db.peer(9).tests == 0, "a watch is not a test"
    db.record_test(9, True, None, 1.0, at=T0 + 10)
    db.record_test(7, False, "unreachable", 1.0, at=T0 + 10)
    assert db.watched() == [7]


def test_watch__a_passing_node_is_not_watched(db):
    db.record_test(7, True, None, 1.0, at=T0)
    assert db.watched() == []


# ----- history


def test_history__newest_first_limited_and_pruned_by_age(db):
    for i in range(5):
        db.record_test(7, i % 2 == 0, None if i % 2 == 0 else f"fail {i}", 1.0 + i, at=T0 + i)
    db.record_test(8, True, None, 1.0, at=T0)
    latest = db.tests_of(7, limit=2)
    assert latest == [
        {"at": T0 + 4, "ok": True, "reason": None, "ms": 5.0},
        {"at": T0 + 3, "ok": False, "reason": "fail 3", "ms": 4.0},
    ]
    db.prune_tests(older_than=T0 + 3)
    assert [t["at"] for t in db.tests_of(7)] == [T0 + 4, T0 + 3]
    assert db.tests_of(8) == []
    assert db.peer(7).tests == 5, "pruning the history keeps the streak and counts"


def test_forget_peers__drops_the_nodes_that_left_and_keeps_the_others(db):
    for node_id in (3, 7, 8):
        db.record_test(node_id, False, "unreachable", 1.0, at=T0)
    db.forget_peers(keep={3, 8, 11})
    assert sorted(s.node_id for s in db.peers()) == [3, 8]
    assert db.watched() == [3, 8]


# ----- votes


def test_vote__updates_its_state_and_counts_rounds_and_reopening_starts_over(db, clock):
    db.vote_update("remove", 7, "collecting", timestamp=100, new_round=True)
    clock.now = T0 + 30
    db.vote_update("remove", 7, "no quorum", 100, signed=5, needed=7, active=10, new_round=True)
    db.vote_update("remove", 7, "no quorum", 100, signed=5, needed=7, active=10)
    db.vote_update("exit", 3, "collecting")
    [remove] = [v for v in db.votes() if v["action"] == "remove"]
    assert (remove["state"], remove["signed"], remove["needed"], remove["active"]) == (
        "no quorum",
        5,
        7,
        10,
    )
    assert (remove["rounds"], remove["opened"], remove["updated"]) == (2, T0, T0 + 30)
    clock.now = T0 + 60
    db.vote_reopen("remove", 7)
    [remove] = [v for v in db.votes() if v["action"] == "remove"]
    assert (remove["rounds"], remove["opened"]) == (0, T0 + 60)
    assert len(db.votes()) == 2, "one record per (action, node)"


# ----- submissions


def test_submission__is_committed_before_it_is_sent_and_seen_by_another_connection(tmp_path, db):
    row = db.submission_begin("remove", 7, 1234, SENDER, [2, 9])
    other = VotesDB(tmp_path / "votes.sqlite3")
    try:
        [seen] = other.submissions("remove", 7)
        assert (seen.id, seen.status, seen.tx_hash) == (row, "sending", None)
        assert seen.status in OPEN_SUBMISSIONS
        assert (seen.timestamp, seen.sender, seen.non_signers) == (1234, SENDER, [2, 9])
    finally:
        other.close()


def test_submission__status_updates_keep_the_hash_and_detail_once_known(db, clock):
    row = db.submission_begin("remove", 7, 1234, SENDER, [])
    clock.now = T0 + 1
    db.submission_update(row, "sent", tx_hash="0x" + "ab" * 32)
    clock.now = T0 + 2
    db.submission_update(row, "mined")
    [done] = db.submissions()
    assert (done.status, done.tx_hash, done.created, done.updated) == (
        "mined",
        "0x" + "ab" * 32,
        T0,
        T0 + 2,
    )
    assert done.to_json()["tx_hash"] == "0x" + "ab" * 32


def test_submission__is_filtered_by_action_and_node(db):
    db.submission_begin("remove", 7, 1, SENDER, [])
    db.submission_begin("liquidate", 7, 2, SENDER, [])
    db.submission_begin("remove", 8, 3, SENDER, [])
    assert [s.timestamp for s in db.submissions("remove", 7)] == [1]
    assert [s.timestamp for s in db.submissions("liquidate", 7)] == [2]
    assert db.submissions("exit", 7) == []
    assert [s.timestamp for s in db.submissions()] == [1, 2, 3]


def test_reopened__the_log_streaks_and_votes_are_all_still_there(tmp_path, clock):
    path = tmp_path / "votes.sqlite3"
    first = VotesDB(path, clock)
    first.record_test(7, False, "unreachable", 1.0, at=T0)
    first.record_test(7, False, "unreachable", 1.0, at=T0 + 60)
    first.vote_update("remove", 7, "submitted", timestamp=1234)
    row = first.submission_begin("remove", 7, 1234, SENDER, [3])
    first.close()

    reopened = VotesDB(path, clock)
    try:
        assert reopened.peer(7).failing_for(T0 + 90) == 90
        assert reopened.watched() == [7]
        assert [v["state"] for v in reopened.votes()] == ["submitted"]
        [logged] = reopened.submissions("remove", 7)
        assert (logged.id, logged.status, logged.non_signers) == (row, "sending", [3])
    finally:
        reopened.close()


def test_open__a_path_that_is_not_a_database__names_the_file(tmp_path):
    path = tmp_path / "votes.sqlite3"
    path.write_bytes(b"this is not SQLite, it is a text file long enough to be read" * 20)
    with pytest.raises(VotesDBError, match=f"cannot open {path}"):
        VotesDB(path)
    assert path.read_bytes().startswith(b"this is not SQLite"), "the file is left as it was"
