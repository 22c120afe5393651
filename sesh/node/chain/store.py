"""The bridge's SQLite database: registry state, the undo journal, applied block hashes,
and the sync checkpoint — written together, one transaction per batch of blocks.

Crash safety comes from that one transaction: the events of a batch of whole blocks, the
hashes of those blocks and the checkpoint land together or not at all (WAL mode), so a
process killed at any point restarts from a checkpoint that matches the state exactly.

Reorg safety comes from the journal: the first time a committed range changes an entity,
the entity's previous value is journalled under the range's last block (a commit
boundary); rolling back to a boundary restores those values newest first. Block hashes
are kept for every block with events and every boundary, to find the fork point. Journal
rows and block hashes older than the retention window are pruned.

Layout (all values JSON):
  state(kind, key, value)          the registry's entities (see registry.KIND_*)
  journal(seq, block, kind, key, before)   block: the boundary of the commit
  blocks(number, hash, events, boundary)   applied blocks with events, and boundaries
  sync(name, value)                chain_id, contracts, start_block, checkpoint, counters
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sesh.node.chain.registry import Changes, Registry

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY, block INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    before TEXT
);
CREATE INDEX IF NOT EXISTS journal_by_block ON journal (block);
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY, hash BLOB NOT NULL, events INTEGER NOT NULL,
    boundary INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sync (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# An upsert updates the row in place; INSERT OR REPLACE would delete and re-insert it, which
# costs a third more when a catch-up writes thousands of entities per commit.
_UPSERT_STATE = (
    "INSERT INTO state (kind, key, value) VALUES (?, ?, ?) "
    "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value"
)


class StoreError(Exception):
    """The database cannot be used as configured; the message says what to do."""


@dataclass(frozen=True)
class Checkpoint:
    """The last block whose events are all applied (and its hash, if known)."""

    number: int
    hash: bytes | None


@dataclass(frozen=True)
class Identity:
    """What a database was synced from; a database is only reused for the same."""

    chain_id: int
    contracts: tuple[str, ...]
    start_block: int

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "contracts": list(self.contracts),
            "start_block": self.start_block,
        }


class Store:
    """One SQLite database file in WAL mode, used by one process."""

    def __init__(self, path: Path | str, identity: Identity, synchronous: str = "NORMAL"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # 8 KiB pages for a new database (an existing one keeps its own): a catch-up writes
        # node rows of about 1 KiB by the thousand, and half as many pages to split and
        # log makes its commits about a quarter cheaper.
        self.db.execute("PRAGMA page_size=8192")
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit survives the process being killed (the WAL is in the OS page
        # cache); FULL also survives power loss, at an fsync per commit.
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        # A catch-up writes tens of megabytes: a larger page cache and fewer WAL
        # checkpoints (each one an fsync) make its commits several times cheaper.
        self.db.execute("PRAGMA cache_size=-65536")
        self.db.execute("PRAGMA wal_autocheckpoint=8192")
        self.db.executescript(_SCHEMA)
        self.identity = identity
        self._check_identity()

    def close(self) -> None:
        self.db.close()

    # ----- identity and checkpoint

    def _sync_get(self, name: str) -> Any:
        row = self.db.execute("SELECT value FROM sync WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def _sync_set(self, name: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO sync (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )

    def _check_identity(self) -> None:
        stored = self._sync_get("identity")
        version = self._sync_get("schema_version")
        if stored is None:
            self.db.execute("BEGIN IMMEDIATE")
            self._sync_set("schema_version", SCHEMA_VERSION)
            self._sync_set("identity", self.identity.to_json())
            self._sync_set("checkpoint", [self.identity.start_block - 1, None])
            self._sync_set("events_applied", 0)
            self._sync_set("logs_rejected", 0)
            self.db.execute("COMMIT")
            return
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, this bridge uses {SCHEMA_VERSION}; "
                "move it away to resync from the chain"
            )
        if stored != self.identity.to_json():
            raise StoreError(
                f"{self.path} was synced from {stored}, but the configuration says "
                f"{self.identity.to_json()}; use another data directory or move it away"
            )

    def checkpoint(self) -> Checkpoint:
        number, hash_hex = self._sync_get("checkpoint")
        return Checkpoint(number, bytes.fromhex(hash_hex) if hash_hex else None)

    def counters(self) -> dict[str, int]:
        return {
            "events_applied": self._sync_get("events_applied"),
            "logs_rejected": self._sync_get("logs_rejected"),
        }

    # ----- reading the registry

    def load_registry(self) -> Registry:
        rows = self.db.execute("SELECT kind, key, value FROM state").fetchall()
        registry = Registry.from_entities((k, key, json.loads(v)) for k, key, v in rows)
        registry.persisted({(k, key): v for k, key, v in rows})
        return registry

    def block_hashes_desc(self, below_or_at: int) -> Iterable[tuple[int, bytes]]:
        """Applied block hashes, newest first, from `below_or_at` down."""
        cursor = self.db.execute(
            "SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC",
            (below_or_at,),
        )
        for number, hash_ in cursor:
            yield number, bytes(hash_)

    def oldest_block(self) -> int | None:
        row = self.db.execute("SELECT MIN(number) FROM blocks").fetchone()
        return row[0]

    # ----- writing

    def boundary_at_or_below(self, number: int) -> int | None:
        """The last commit boundary at or below `number` (where a rollback can stop)."""
        row = self.db.execute(
            "SELECT MAX(number) FROM blocks WHERE boundary = 1 AND number <= ?", (number,)
        ).fetchone()
        return row[0]

    def commit(
        self,
        registry: Registry,
        changes: Changes,
        checkpoint: Checkpoint,
        logs_rejected: int = 0,
    ) -> None:
        """Persist a range of blocks (already applied to `registry`) and move the checkpoint
        to its last block, in one transaction."""
        if checkpoint.hash is None:
            raise StoreError("a commit needs the hash of its last block")
        boundary = checkpoint.number
        journal_rows = [
            (boundary, kind, key, before) for (kind, key), before in changes.before.items()
        ]
        block_rows = [(n, h, count) for n, (h, count) in changes.blocks.items()]
        upserts = []
        deletes = []
        written: dict[tuple[str, str], str | None] = {}
        for kind, key in changes.before:
            text = registry.entity_text(kind, key)
            if text is None:
                deletes.append((kind, key))
            else:
                upserts.append((kind, key, text))
            written[(kind, key)] = text
        counters = self.counters()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO journal (block, kind, key, before) VALUES (?, ?, ?, ?)", journal_rows
            )
            db.executemany(
                "INSERT OR REPLACE INTO blocks (number, hash, events) VALUES (?, ?, ?)", block_rows
            )
            db.execute(
                "INSERT INTO blocks (number, hash, events, boundary) VALUES (?, ?, 0, 1) "
                "ON CONFLICT (number) DO UPDATE SET boundary = 1",
                (boundary, checkpoint.hash),
            )
            db.executemany(_UPSERT_STATE, upserts)
            db.executemany("DELETE FROM state WHERE kind = ? AND key = ?", deletes)
            self._sync_set("checkpoint", [boundary, checkpoint.hash.hex()])
            self._sync_set("events_applied", counters["events_applied"] + changes.events)
            self._sync_set("logs_rejected", counters["logs_rejected"] + logs_rejected)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        registry.persisted(written)

    def rollback_to(self, fork_block: int) -> Checkpoint:
        """Undo every commit above `fork_block` (which must be a commit boundary) and make
        it the checkpoint. Reload the registry afterwards."""
        db = self.db
        row = db.execute(
            "SELECT hash FROM blocks WHERE number = ? AND boundary = 1", (fork_block,)
        ).fetchone()
        if row is None:
            raise StoreError(f"block {fork_block} is not a commit boundary")
        db.execute("BEGIN IMMEDIATE")
        try:
            undo = db.execute(
                "SELECT kind, key, before FROM journal WHERE block > ? ORDER BY seq DESC",
                (fork_block,),
            ).fetchall()
            for kind, key, before in undo:
                if before is None:
                    db.execute("DELETE FROM state WHERE kind = ? AND key = ?", (kind, key))
                else:
                    db.execute(_UPSERT_STATE, (kind, key, before))
            (undone_events,) = db.execute(
                "SELECT COALESCE(SUM(events), 0) FROM blocks WHERE number > ?", (fork_block,)
            ).fetchone()
            db.execute("DELETE FROM journal WHERE block > ?", (fork_block,))
            db.execute("DELETE FROM blocks WHERE number > ?", (fork_block,))
            counters = self.counters()
            self._sync_set("events_applied", counters["events_applied"] - undone_events)
            self._sync_set("checkpoint", [fork_block, bytes(row[0]).hex()])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return self.checkpoint()

    def reset(self) -> Checkpoint:
        """Forget everything synced (a reorg deeper than the retained history)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM state")
        db.execute("DELETE FROM journal")
        db.execute("DELETE FROM blocks")
        self._sync_set("checkpoint", [self.identity.start_block - 1, None])
        self._sync_set("events_applied", 0)
        db.execute("COMMIT")
        return self.checkpoint()

    def prune(self, keep_from_block: int) -> None:
        """Drop journal rows and block hashes below `keep_from_block` (reorgs that deep
        are then handled by a full resync)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM journal WHERE block < ?", (keep_from_block,))
        db.execute("DELETE FROM blocks WHERE number < ?", (keep_from_block,))
        db.execute("COMMIT")

    def dump(self) -> dict[str, Any]:
        """The registry state and the exactly-once counters, for comparing two syncs."""
        rows = self.db.execute("SELECT kind, key, value FROM state ORDER BY kind, key").fetchall()
        return {
            "state": {f"{k}/{key}": json.loads(v) for k, key, v in rows},
            "checkpoint": self.checkpoint().number,
            "events_applied": self._sync_get("events_applied"),
        }
