"""SQLite of the network votes (`data_dir/votes.sqlite3`): what this node saw of its peers'
tests, the votes it led, and every transaction it sent for them.

- `peer_state`: per tested node, the current failure streak (`failing_since`, the first
  failed test since the last passed one), counts, the last reason, and whether the node is
  *watched* (tested every round until it passes: after a failure, or once asked to sign
  its removal). Streaks are measured on this machine's clock: they are observations.
- `peer_tests`: one row per test (kept `votes.history_hours`).
- `votes`: the state of the last vote per (action, node), for `/votes` and the operator.
- `submissions`: the transaction log that keeps a node from submitting twice. A row is
  written (`sending`) and committed *before* a transaction is broadcast, updated with its
  hash (`sent`), then with its receipt (`mined` / `reverted`). A restarted aggregator
  reads it: a row that may still be mined blocks any new submission for its action and node
  until its signature has expired on chain.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS peer_state (
    node_id INTEGER PRIMARY KEY,
    last_test REAL,
    last_ok REAL,
    failing_since REAL,
    failures INTEGER NOT NULL DEFAULT 0,
    tests INTEGER NOT NULL DEFAULT 0,
    passed INTEGER NOT NULL DEFAULT 0,
    last_reason TEXT,
    watched_since REAL
);
CREATE TABLE IF NOT EXISTS peer_tests (
    id INTEGER PRIMARY KEY,
    node_id INTEGER NOT NULL,
    at REAL NOT NULL,
    ok INTEGER NOT NULL,
    reason TEXT,
    ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS peer_tests_at ON peer_tests (at);
CREATE TABLE IF NOT EXISTS votes (
    action TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    timestamp INTEGER,
    signed INTEGER NOT NULL DEFAULT 0,
    needed INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 0,
    rounds INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    opened REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (action, node_id)
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    sender TEXT NOT NULL,
    non_signers TEXT NOT NULL,
    status TEXT NOT NULL,
    tx_hash TEXT,
    detail TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_action_node ON submissions (action, node_id);
"""

# Submission statuses: `sending` (recorded, maybe broadcast), `sent` (broadcast, hash known),
# `mined` (succeeded), `reverted`, `expired` (its signature can no longer be accepted).
OPEN_SUBMISSIONS = ("sending", "sent")


class VotesDBError(Exception):
    """The votes database cannot be used; the message says why."""


@dataclass(frozen=True)
class PeerState:
    node_id: int
    last_test: float | None
    last_ok: float | None
    failing_since: float | None
    failures: int
    tests: int
    passed: int
    last_reason: str | None
    watched_since: float | None

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def failing_for(self, now: float) -> float:
        """Seconds of the current failure streak (0 when passing)."""
        return 0.0 if self.failing_since is None else max(0.0, now - self.failing_since)

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "last_test": self.last_test,
            "last_ok": self.last_ok,
            "failing_since": self.failing_since,
            "failing_for": round(self.failing_for(now), 1),
            "failures": self.failures,
            "tests": self.tests,
            "passed": self.passed,
            "last_reason": self.last_reason,
            "watched": self.watched_since is not None,
        }


@dataclass(frozen=True)
class Submission:
    id: int
    action: str
    node_id: int
    timestamp: int
    sender: str
    non_signers: list[int]
    status: str
    tx_hash: str | None
    detail: str | None
    created: float
    updated: float

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "node_id": self.node_id,
            "timestamp": self.timestamp,
            "sender": self.sender,
            "non_signers": self.non_signers,
            "status": self.status,
            "tx_hash": self.tx_hash,
            "detail": self.detail,
            "created": self.created,
            "updated": self.updated,
        }


class VotesDB:
    """The votes database of one node (one connection, used from the event loop)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise VotesDBError(f"cannot open {path}: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ----- peer tests

    def record_test(
        self, node_id: int, ok: bool, reason: str | None, ms: float, at: float | None = None
    ) -> PeerState:
        """One test's result: a pass ends the streak (and the watch); a failure starts or
        extends it and watches the node."""
        at = self.clock() if at is None else at
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO peer_tests (node_id, at, ok, reason, ms) VALUES (?, ?, ?, ?, ?)",
                (node_id, at, int(ok), reason, ms),
            )
            conn.execute("INSERT OR IGNORE INTO peer_state (node_id) VALUES (?)", (node_id,))
            if ok:
                conn.execute(
                    "UPDATE peer_state SET last_test = ?, last_ok = ?, failing_since = NULL, "
                    "failures = 0, tests = tests + 1, passed = passed + 1, last_reason = NULL, "
                    "watched_since = NULL WHERE node_id = ?",
                    (at, at, node_id),
                )
            else:
                conn.execute(
                    "UPDATE peer_state SET last_test = ?, "
                    "failing_since = COALESCE(failing_since, ?), failures = failures + 1, "
                    "tests = tests + 1, last_reason = ?, "
                    "watched_since = COALESCE(watched_since, ?) WHERE node_id = ?",
                    (at, at, reason, at, node_id),
                )
        state = self.peer(node_id)
        assert state is not None
        return state

    def watch(self, node_id: int) -> None:
        """Test `node_id` every round from now on (until it passes a test)."""
        now = self.clock()
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO peer_state (node_id) VALUES (?)", (node_id,))
            conn.execute(
                "UPDATE peer_state SET watched_since = COALESCE(watched_since, ?) "
                "WHERE node_id = ?",
                (now, node_id),
            )

    def watched(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT node_id FROM peer_state WHERE watched_since IS NOT NULL ORDER BY node_id"
        )
        return [row[0] for row in rows]

    def peer(self, node_id: int) -> PeerState | None:
        row = self.conn.execute("SELECT * FROM peer_state WHERE node_id = ?", (node_id,)).fetchone()
        return PeerState(*row) if row else None

    def peers(self) -> list[PeerState]:
        return [PeerState(*row) for row in self.conn.execute("SELECT * FROM peer_state")]

    def forget_peers(self, keep: set[int]) -> None:
        """Drop the state of nodes that left the network."""
        with self._transaction() as conn:
            for state in self.peers():
                if state.node_id not in keep:
                    conn.execute("DELETE FROM peer_state WHERE node_id = ?", (state.node_id,))

    def prune_tests(self, older_than: float) -> None:
        self.conn.execute("DELETE FROM peer_tests WHERE at < ?", (older_than,))

    def tests_of(self, node_id: int, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT at, ok, reason, ms FROM peer_tests WHERE node_id = ? ORDER BY id DESC LIMIT ?",
            (node_id, limit),
        )
        return [
            {"at": at, "ok": bool(ok), "reason": reason, "ms": round(ms, 1)}
            for at, ok, reason, ms in rows
        ]

    # ----- votes

    def vote_update(
        self,
        action: str,
        node_id: int,
        state: str,
        timestamp: int | None = None,
        signed: int = 0,
        needed: int = 0,
        active: int = 0,
        detail: str | None = None,
        new_round: bool = False,
    ) -> None:
        now = self.clock()
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO votes (action, node_id, state, opened, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (action, node_id) DO NOTHING",
                (action, node_id, state, now, now),
            )
            conn.execute(
                "UPDATE votes SET state = ?, timestamp = ?, signed = ?, needed = ?, active = ?, "
                "detail = ?, updated = ?, rounds = rounds + ? WHERE action = ? AND node_id = ?",
                (state, timestamp, signed, needed, active, detail, now, int(new_round), action,
                 node_id),
            )  # fmt: skip

    def vote_reopen(self, action: str, node_id: int) -> None:
        """A new vote on (action, node): the previous one's record starts over."""
        now = self.clock()
        self.conn.execute(
            "UPDATE votes SET opened = ?, updated = ?, rounds = 0 WHERE action = ? AND node_id = ?",
            (now, now, action, node_id),
        )

    def votes(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT action, node_id, state, timestamp, signed, needed, active, rounds, detail, "
            "opened, updated FROM votes ORDER BY updated DESC"
        )
        keys = (
            "action", "node_id", "state", "timestamp", "signed", "needed", "active", "rounds",
            "detail", "opened", "updated",
        )  # fmt: skip
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # ----- submissions

    def submission_begin(
        self, action: str, node_id: int, timestamp: int, sender: str, non_signers: list[int]
    ) -> int:
        """Record a transaction about to be broadcast (committed before it is)."""
        now = self.clock()
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO submissions (action, node_id, timestamp, sender, non_signers, status, "
                "created, updated) VALUES (?, ?, ?, ?, ?, 'sending', ?, ?)",
                (action, node_id, timestamp, sender, json.dumps(non_signers), now, now),
            )
            return int(cursor.lastrowid)

    def submission_update(
        self, row_id: int, status: str, tx_hash: str | None = None, detail: str | None = None
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE submissions SET status = ?, tx_hash = COALESCE(?, tx_hash), "
                "detail = COALESCE(?, detail), updated = ? WHERE id = ?",
                (status, tx_hash, detail, self.clock(), row_id),
            )

    def submissions(
        self, action: str | None = None, node_id: int | None = None
    ) -> list[Submission]:
        query = "SELECT * FROM submissions"
        args: list[Any] = []
        if action is not None:
            query += " WHERE action = ? AND node_id = ?"
            args = [action, node_id]
        rows = self.conn.execute(query + " ORDER BY id", args)
        return [
            Submission(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), *row[6:])
            for row in rows
        ]
