"""The message store: one SQLite database per node (`data_dir/messages.sqlite3`), apart
from the registry's, bounded in size.

Every change gets a sequence number from one counter (`seq`): a message's seq is its
arrival order here (what `last_hash` paging follows), and the signed deletions and expiry
changes a node applied are kept in `ops` with theirs, so a peer can ask for "everything
after seq S" and catch up. `tombstones` remembers deleted hashes until the message would
have expired, so a copy arriving from a peer that missed the deletion is not taken back;
a tombstone belongs to the account that signed the deletion and blocks only that
account's messages.
`revoked` holds each account's revoked subaccount tokens, the latest 50 (by the order
they were revoked here); `revocation_times` the signed time of the latest revocation or
unrevocation of each token (for 30 days), so a change replayed from a peer never undoes a
later one.
An epoch (random, fixed at creation) tells peers when their cursor into this database no
longer means anything (the database was replaced).

The size bound is SQLite's `max_page_count`: a store that would grow the file past it
fails with `StorageFull` and changes nothing; dropping expired messages frees pages.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from sesh.protocol.storage_rpc import MAX_REVOKED_TOKENS, RpcError, parse_delete

# 2: tombstones belong to the account whose signed delete made them (1: any hash).
SCHEMA_VERSION = 2
_NO_CAP = 1 << 62
# JSON a catch-up entry adds besides its data (keys, hash, account, numbers).
_ENTRY_OVERHEAD = 256

_INSERT = (
    "INSERT OR IGNORE INTO messages (seq, hash, pubkey, namespace, timestamp, expiry, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

# A retrieve: the owner index, always (a scan in arrival order would cross other accounts);
# after `last_hash` if given and known here, else from the start.
_RETRIEVE_COLUMNS = (
    "SELECT hash, timestamp, expiry, data FROM messages INDEXED BY messages_by_owner"
    " WHERE pubkey = ?1 AND namespace = ?2 AND expiry > ?4"
)
_RETRIEVE_AFTER = (
    _RETRIEVE_COLUMNS + " AND seq > COALESCE("
    "(SELECT seq FROM messages WHERE hash = ?3 AND pubkey = ?1 AND namespace = ?2), 0)"
    " ORDER BY seq LIMIT ?5"
)
_RETRIEVE_ALL = _RETRIEVE_COLUMNS + " ORDER BY seq LIMIT ?5"
# Newest first: before `last_hash` if known here, else from the newest.
_RETRIEVE_BEFORE = (
    _RETRIEVE_COLUMNS + " AND seq < COALESCE("
    "(SELECT seq FROM messages WHERE hash = ?3 AND pubkey = ?1 AND namespace = ?2), 1 << 62)"
    " ORDER BY seq DESC LIMIT ?5"
)
_RETRIEVE_NEWEST = _RETRIEVE_COLUMNS + " ORDER BY seq DESC LIMIT ?5"

_TOMBSTONES = """CREATE TABLE IF NOT EXISTS tombstones (
    pubkey BLOB NOT NULL, hash TEXT NOT NULL, keep_until INTEGER NOT NULL,
    PRIMARY KEY (pubkey, hash)
) WITHOUT ROWID"""
_TOMBSTONE = (
    "INSERT INTO tombstones (pubkey, hash, keep_until) VALUES (?, ?, ?) "
    "ON CONFLICT (pubkey, hash) DO UPDATE SET keep_until = MAX(keep_until, excluded.keep_until)"
)

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, pubkey BLOB NOT NULL,
    namespace INTEGER NOT NULL, timestamp INTEGER NOT NULL, expiry INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_owner ON messages (pubkey, namespace, seq);
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expiry);
CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, method TEXT NOT NULL,
    params TEXT NOT NULL, applied_at INTEGER NOT NULL, keep_until INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ops_by_keep ON ops (keep_until);
"""
    + _TOMBSTONES
    + """;
CREATE TABLE IF NOT EXISTS cursors (
    peer BLOB PRIMARY KEY, epoch TEXT NOT NULL, seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revoked (
    pubkey BLOB NOT NULL, token BLOB NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (pubkey, token)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revocation_times (
    pubkey BLOB NOT NULL, token BLOB NOT NULL, signed_at INTEGER NOT NULL,
    keep_until INTEGER NOT NULL, PRIMARY KEY (pubkey, token)
) WITHOUT ROWID;
"""
)


class StorageFull(Exception):
    """The database reached its configured size; nothing was written."""


class MessageDBError(Exception):
    """The database cannot be used; the message says what to do."""


class Message(NamedTuple):
    hash: str
    pubkey: bytes  # 33 bytes: type prefix ‖ 32-byte key
    namespace: int
    timestamp: int  # ms
    expiry: int  # ms
    data: bytes
    seq: int = 0


@dataclass(frozen=True)
class Op:
    """A signed deletion or expiry change as applied here (its request, verbatim)."""

    seq: int
    id: str
    method: str
    params: str
    applied_at: int


class MessageDB:
    """Messages, ops and tombstones of one node; used from one thread."""

    def __init__(self, path: Path | str, max_bytes: int):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit survives the process being killed (not a power cut).
        self.db.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints are the only fsyncs in WAL mode: fewer, larger ones make a store
        # (one commit) about half as expensive.
        self.db.execute("PRAGMA wal_autocheckpoint=8192")
        version = self._meta_if_any("schema_version")
        if version == "1":
            self._migrate_from_1()
        self.db.executescript(_SCHEMA)
        self.page_size = self.db.execute("PRAGMA page_size").fetchone()[0]
        self.set_max_bytes(max_bytes)
        self.epoch = self._meta("epoch")
        version = self._meta("schema_version")
        if self.epoch is None:
            self.epoch = os.urandom(16).hex()
            self._set_meta("epoch", self.epoch)
            self._set_meta("schema_version", str(SCHEMA_VERSION))
        elif version != str(SCHEMA_VERSION):
            raise MessageDBError(
                f"{self.path} has schema version {version}, this node uses {SCHEMA_VERSION}; "
                "move it away (the swarm peers hold copies of its messages)"
            )
        (top,) = self.db.execute(
            "SELECT MAX(COALESCE((SELECT MAX(seq) FROM messages), 0),"
            " COALESCE((SELECT MAX(seq) FROM ops), 0))"
        ).fetchone()
        self._next_seq = top + 1
        # Whether any tombstone exists (stores skip looking for one otherwise).
        self._tombstones = self._count_tombstones()

    def _meta_if_any(self, name: str) -> str | None:
        exists = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        return self._meta(name) if exists else None

    def _migrate_from_1(self) -> None:
        """Version 1 kept tombstones by hash alone, so any account's signed delete could
        block another account's message. Rebuild them from the deletions logged in `ops`
        (each names its account), which is what the account really deleted."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DROP TABLE IF EXISTS tombstones")
            db.execute(_TOMBSTONES)
            for params, keep_until in db.execute(
                "SELECT params, keep_until FROM ops WHERE method = 'delete'"
            ).fetchall():
                for pubkey, hash_ in _deleted_by(params):
                    db.execute(_TOMBSTONE, (pubkey, hash_, keep_until))
            self._set_meta("schema_version", str(SCHEMA_VERSION))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _count_tombstones(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM tombstones").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    def set_max_bytes(self, max_bytes: int) -> None:
        """Bound the file; a bound below the current size stops new writes until expired
        messages free pages."""
        pages = max(1, max_bytes // self.page_size)
        self.db.execute(f"PRAGMA max_page_count = {int(pages)}")

    def _meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, name: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def _seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _write(self, work) -> object:
        """Run `work()` in one transaction; SQLITE_FULL becomes StorageFull (rolled back)."""
        return self._guarded(self._transaction, work)

    def _transaction(self, work) -> object:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            db.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (SQLITE_FULL among them).
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    def _guarded(self, call, *args):
        try:
            return call(*args)
        except sqlite3.OperationalError as exc:
            if "full" in str(exc):
                raise StorageFull(f"message database is full ({self.path})") from None
            raise

    # ----- messages

    def store(
        self,
        message: Message,
        outbox: bool = False,
        respect_tombstone: bool = False,
        extend: bool = True,
    ) -> tuple[bool, int] | None:
        """Store a message: (True, expiry) if new; (False, expiry) if already here (its
        expiry extended if the new one is later, unless `extend` is false). In an `outbox`
        namespace the account's other messages there are replaced. With
        `respect_tombstone`, a deleted hash is not taken back (None); a client's own store
        lifts the tombstone. A copy from a peer (catch-up, handoff) neither lifts a
        tombstone nor extends: it may be older than a shortening `expire` applied here, and
        must not undo it (as Session's replication inserts and otherwise does nothing)."""
        return self.store_many([(message, outbox)], respect_tombstone, extend)[0]

    def store_many(
        self,
        items: list[tuple[Message, bool]],
        respect_tombstone: bool = False,
        extend: bool = True,
    ) -> list[tuple[bool, int] | None]:
        """Store several messages (each with its outbox flag) in one transaction: a
        commit costs more than the inserts, so concurrent stores share one."""

        def work() -> list[tuple[bool, int] | None]:
            return [self._store_one(m, outbox, respect_tombstone, extend) for m, outbox in items]

        return self._write(work)  # type: ignore[return-value]

    def _store_one(
        self, message: Message, outbox: bool, respect_tombstone: bool, extend: bool = True
    ) -> tuple[bool, int] | None:
        db = self.db
        key = (message.pubkey, message.hash)
        if (
            self._tombstones
            and db.execute("SELECT 1 FROM tombstones WHERE pubkey = ? AND hash = ?", key).fetchone()
        ):
            if respect_tombstone:
                return None
            db.execute("DELETE FROM tombstones WHERE pubkey = ? AND hash = ?", key)
        if outbox:
            db.execute(
                "DELETE FROM messages WHERE pubkey = ? AND namespace = ? AND hash != ?",
                (message.pubkey, message.namespace, message.hash),
            )
        row = (
            self._next_seq,
            message.hash,
            message.pubkey,
            message.namespace,
            message.timestamp,
            message.expiry,
            message.data,
        )
        if db.execute(_INSERT, row).rowcount:
            self._next_seq += 1
            return True, message.expiry
        (expiry,) = db.execute(
            "SELECT expiry FROM messages WHERE hash = ?", (message.hash,)
        ).fetchone()
        if extend and expiry < message.expiry:
            db.execute(
                "UPDATE messages SET expiry = ? WHERE hash = ?", (message.expiry, message.hash)
            )
            return False, message.expiry
        return False, expiry

    def retrieve(
        self,
        pubkey: bytes,
        namespace: int,
        last_hash: str | None,
        now: int,
        max_count: int | None,
        max_size: int | None,
        reverse: bool = False,
    ) -> tuple[list[tuple[str, int, int, bytes]], bool]:
        """The account's unexpired messages of a namespace that arrived here after
        `last_hash` (all of them if that hash is unknown), oldest first, within the count
        and size limits (base64 size of the data plus the hash; always at least one
        message); and whether more remain. Each message as (hash, timestamp, expiry,
        data): what a retrieve answers, without building a Message for each. `reverse`:
        newest first, those that arrived before `last_hash` (from the newest if unknown)."""
        limit = -1 if max_count is None else max_count + 1
        cap = _NO_CAP if max_count is None else max_count
        if last_hash:
            query = _RETRIEVE_BEFORE if reverse else _RETRIEVE_AFTER
            rows = self.db.execute(query, (pubkey, namespace, last_hash, now, limit))
        else:
            # Unused ?3: numbered parameters keep one binding for both queries.
            query = _RETRIEVE_NEWEST if reverse else _RETRIEVE_ALL
            rows = self.db.execute(query, (pubkey, namespace, None, now, limit))
        found: list[tuple[str, int, int, bytes]] = []
        size = 0
        for row in rows:
            if len(found) >= cap:
                return found, True
            if max_size is not None:
                size += len(row[0]) + (len(row[3]) + 2) // 3 * 4
                if found and size > max_size:
                    return found, True
            found.append(row)
        return found, False

    def delete(self, pubkey: bytes, hashes: Iterable[str], keep_until: int) -> list[str]:
        """Delete the account's messages among `hashes`; tombstone every requested hash for
        this account (only its own messages can be blocked by them) until `keep_until`.
        Returns the hashes actually deleted, sorted."""
        db = self.db
        wanted = sorted(set(hashes))

        def work() -> list[str]:
            deleted = []
            for hash_ in wanted:
                cursor = db.execute(
                    "DELETE FROM messages WHERE hash = ? AND pubkey = ?", (hash_, pubkey)
                )
                if cursor.rowcount:
                    deleted.append(hash_)
                db.execute(_TOMBSTONE, (pubkey, hash_, keep_until))
            self._tombstones += len(wanted)
            return deleted

        return self._write(work)  # type: ignore[return-value]

    def _account_where(self, namespace: int | None, before: int | None) -> tuple[str, tuple]:
        """The account's messages (after `pubkey = ?`): of one namespace (all if None), with
        a timestamp at or before `before` if given."""
        where, args = "pubkey = ?", ()
        if namespace is not None:
            where, args = where + " AND namespace = ?", (namespace,)
        if before is not None:
            where, args = where + " AND timestamp <= ?", (*args, before)
        return where, args

    def delete_where(
        self, pubkey: bytes, namespace: int | None, before: int | None, keep_until: int
    ) -> list[tuple[int, str]]:
        """Delete the account's messages of one namespace (every namespace if None), those
        with a timestamp at or before `before` if given; tombstone them until `keep_until`.
        Returns (namespace, hash) of each deleted."""
        db = self.db
        where, args = self._account_where(namespace, before)

        def work() -> list[tuple[int, str]]:
            rows = db.execute(
                f"DELETE FROM messages WHERE {where} RETURNING namespace, hash",  # noqa: S608
                (pubkey, *args),
            ).fetchall()
            for _, hash_ in rows:
                db.execute(_TOMBSTONE, (pubkey, hash_, keep_until))
            self._tombstones += len(rows)
            return [(ns, h) for ns, h in rows]

        return self._write(work)  # type: ignore[return-value]

    def shorten_all(
        self, pubkey: bytes, namespace: int | None, expiry: int, before: int | None = None
    ) -> list[tuple[int, str]]:
        """Bring every later expiry of the account's messages (one namespace, or all; those
        with a timestamp at or before `before` if given) down to `expiry`: (namespace, hash)
        of each changed."""
        db = self.db
        where, args = self._account_where(namespace, before)

        def work() -> list[tuple[int, str]]:
            rows = db.execute(
                f"UPDATE messages SET expiry = ? WHERE {where} AND expiry > ?"  # noqa: S608
                " RETURNING namespace, hash",
                (expiry, pubkey, *args, expiry),
            ).fetchall()
            return [(ns, h) for ns, h in rows]

        return self._write(work)  # type: ignore[return-value]

    # ----- revoked subaccount tokens

    def revoke(self, pubkey: bytes, tokens: list[bytes]) -> int:
        """Add tokens to the account's revoked list (one already there counts as revoked
        anew); only the latest MAX_REVOKED_TOKENS are kept. Returns how many were new."""
        db = self.db

        def work() -> int:
            known = set(self.revoked_tokens(pubkey))
            for token in tokens:
                db.execute(
                    "INSERT INTO revoked (pubkey, token, seq) VALUES (?1, ?2,"
                    " (SELECT COALESCE(MAX(seq), 0) + 1 FROM revoked WHERE pubkey = ?1))"
                    " ON CONFLICT (pubkey, token) DO UPDATE SET seq = excluded.seq",
                    (pubkey, token),
                )
            db.execute(
                "DELETE FROM revoked WHERE pubkey = ?1 AND token NOT IN"
                " (SELECT token FROM revoked WHERE pubkey = ?1 ORDER BY seq DESC LIMIT ?2)",
                (pubkey, MAX_REVOKED_TOKENS),
            )
            return len(set(tokens) - known)

        return self._write(work)  # type: ignore[return-value]

    def unrevoke(self, pubkey: bytes, tokens: list[bytes]) -> int:
        """Take tokens off the account's revoked list: how many were on it."""
        db = self.db

        def work() -> int:
            return sum(
                db.execute(
                    "DELETE FROM revoked WHERE pubkey = ? AND token = ?", (pubkey, token)
                ).rowcount
                for token in dict.fromkeys(tokens)
            )

        return self._write(work)  # type: ignore[return-value]

    def revocation_time(self, pubkey: bytes, token: bytes) -> int | None:
        """The signed time of the latest (un)revocation of the token applied here."""
        row = self.db.execute(
            "SELECT signed_at FROM revocation_times WHERE pubkey = ? AND token = ?",
            (pubkey, token),
        ).fetchone()
        return row[0] if row else None

    def note_revocation_time(
        self, pubkey: bytes, tokens: list[bytes], signed_at: int, keep_until: int
    ) -> None:
        db = self.db

        def work() -> None:
            for token in tokens:
                db.execute(
                    "INSERT INTO revocation_times (pubkey, token, signed_at, keep_until)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (pubkey, token) DO UPDATE SET"
                    " signed_at = MAX(signed_at, excluded.signed_at),"
                    " keep_until = MAX(keep_until, excluded.keep_until)",
                    (pubkey, token, signed_at, keep_until),
                )

        self._write(work)

    def is_revoked(self, pubkey: bytes, token: bytes) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM revoked WHERE pubkey = ? AND token = ?", (pubkey, token)
            ).fetchone()
            is not None
        )

    def revoked_tokens(self, pubkey: bytes) -> list[bytes]:
        """The account's revoked tokens, latest revocation first."""
        return [
            bytes(row[0])
            for row in self.db.execute(
                "SELECT token FROM revoked WHERE pubkey = ? ORDER BY seq DESC", (pubkey,)
            )
        ]

    def expiries(self, pubkey: bytes, hashes: Iterable[str]) -> dict[str, int]:
        """hash -> expiry of the account's messages among `hashes`."""
        found = {}
        for hash_ in set(hashes):
            row = self.db.execute(
                "SELECT expiry FROM messages WHERE hash = ? AND pubkey = ?", (hash_, pubkey)
            ).fetchone()
            if row:
                found[hash_] = row[0]
        return found

    def set_expiries(self, pubkey: bytes, changes: dict[str, int]) -> None:
        """Set the expiry of the account's messages (hash -> new expiry)."""
        db = self.db

        def work() -> None:
            for hash_, expiry in changes.items():
                db.execute(
                    "UPDATE messages SET expiry = ? WHERE hash = ? AND pubkey = ?",
                    (expiry, hash_, pubkey),
                )

        self._write(work)

    def drop_expired(self, now: int) -> int:
        """Delete messages whose expiry has passed, and ops and tombstones past their
        keeping time. Returns the number of messages dropped."""
        db = self.db

        def work() -> int:
            dropped = db.execute("DELETE FROM messages WHERE expiry <= ?", (now,)).rowcount
            db.execute("DELETE FROM ops WHERE keep_until <= ?", (now,))
            db.execute("DELETE FROM tombstones WHERE keep_until <= ?", (now,))
            db.execute("DELETE FROM revocation_times WHERE keep_until <= ?", (now,))
            self._tombstones = self._count_tombstones()
            return dropped

        return self._write(work)  # type: ignore[return-value]

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]

    def size_bytes(self) -> int:
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        return pages * self.page_size

    def all_hashes(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT hash FROM messages")}

    # ----- ops (signed deletions and expiry changes, for peers catching up)

    def has_op(self, op_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM ops WHERE id = ?", (op_id,)).fetchone() is not None

    def log_op(
        self, op_id: str, method: str, params: str, applied_at: int, keep_until: int
    ) -> bool:
        """Record an applied op once (False if it was already recorded)."""
        db = self.db

        def work() -> bool:
            cursor = db.execute(
                "INSERT OR IGNORE INTO ops (seq, id, method, params, applied_at, keep_until)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (self._next_seq, op_id, method, params, applied_at, keep_until),
            )
            if cursor.rowcount:
                self._seq()
                return True
            return False

        return self._write(work)  # type: ignore[return-value]

    # ----- catching up and handing off

    def changes_since(
        self, since: int, now: int, max_bytes: int, max_items: int = 1000
    ) -> tuple[list[Message | Op], int, bool]:
        """Unexpired messages and ops with seq > `since`, in seq order, up to `max_bytes` as
        peers send them (base64 data, JSON fields; always at least one entry): (entries,
        last seq included, whether more remain)."""
        messages = self.db.execute(
            "SELECT seq, hash, pubkey, namespace, timestamp, expiry, data FROM messages"
            " WHERE seq > ? AND expiry > ? ORDER BY seq LIMIT ?",
            (since, now, max_items + 1),
        ).fetchall()
        ops = self.db.execute(
            "SELECT seq, id, method, params, applied_at FROM ops"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            (since, max_items + 1),
        ).fetchall()
        merged: list[Message | Op] = [
            Message(h, bytes(pk), ns, ts, exp, bytes(data), seq)
            for seq, h, pk, ns, ts, exp, data in messages
        ] + [Op(seq, op_id, method, params, at) for seq, op_id, method, params, at in ops]
        merged.sort(key=lambda entry: entry.seq)
        entries: list[Message | Op] = []
        size = 0
        for entry in merged:
            if isinstance(entry, Message):
                size += (len(entry.data) + 2) // 3 * 4 + _ENTRY_OVERHEAD
            else:
                size += len(entry.params) * 2 + _ENTRY_OVERHEAD
            if len(entries) >= max_items or (entries and size > max_bytes):
                return entries, entries[-1].seq, True
            entries.append(entry)
        last = entries[-1].seq if entries else since
        return entries, last, False

    def head(self) -> int:
        """The seq of the latest change here (0 in a new database): where a peer's cursor
        into this database ends once it has caught up."""
        return self._next_seq - 1

    def owners(self) -> list[bytes]:
        """Every account with messages here."""
        return [bytes(row[0]) for row in self.db.execute("SELECT DISTINCT pubkey FROM messages")]

    def messages_of(self, pubkey: bytes, now: int) -> Iterator[Message]:
        for seq, h, ns, ts, exp, data in self.db.execute(
            "SELECT seq, hash, namespace, timestamp, expiry, data FROM messages"
            " WHERE pubkey = ? AND expiry > ? ORDER BY seq",
            (pubkey, now),
        ).fetchall():
            yield Message(h, pubkey, ns, ts, exp, bytes(data), seq)

    def forget(self, hashes: Iterable[str]) -> None:
        """Drop messages handed off to the swarm now responsible for them."""
        db = self.db
        wanted = list(hashes)

        def work() -> None:
            db.executemany("DELETE FROM messages WHERE hash = ?", [(h,) for h in wanted])

        self._write(work)

    def cursor(self, peer: bytes) -> tuple[str | None, int]:
        row = self.db.execute("SELECT epoch, seq FROM cursors WHERE peer = ?", (peer,)).fetchone()
        return (row[0], row[1]) if row else (None, 0)

    def set_cursor(self, peer: bytes, epoch: str, seq: int) -> None:
        self.db.execute(
            "INSERT INTO cursors (peer, epoch, seq) VALUES (?, ?, ?) "
            "ON CONFLICT (peer) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq",
            (peer, epoch, seq),
        )


def _deleted_by(params: str) -> list[tuple[bytes, str]]:
    """(account, hash) of each message a logged delete names; none if unreadable."""
    try:
        request = parse_delete(json.loads(params))
    except (RpcError, ValueError, TypeError, AttributeError):
        return []
    return [(request.account, h) for h in request.hashes]
