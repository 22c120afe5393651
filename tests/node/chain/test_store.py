"""The SQLite store: one transaction per batch, exact rollback to a fork point, and a
database is only reused for the chain and contracts it was synced from."""

import sqlite3

import pytest

from sesh.node.chain.registry import Changes, Registry
from sesh.node.chain.store import Checkpoint, Identity, Store, StoreError
from tests.node.helpers import block_hash, event, full_node

IDENTITY = Identity(chain_id=412346, contracts=("0x" + "ab" * 20,), start_block=1)


def commit_blocks(store, registry, blocks):
    """Apply `blocks` and commit them as one range."""
    changes = Changes()
    for n, events in blocks:
        registry.apply_block(n, block_hash(n), events, changes)
    last = blocks[-1][0]
    store.commit(registry, changes, Checkpoint(last, block_hash(last)))


def test_store__registry_survives_a_reopen(tmp_path):
    store = Store(tmp_path / "db", IDENTITY)
    registry = Registry()
    commit_blocks(store, registry, [(n, full_node(n, n)) for n in range(1, 8)])
    store.close()
    reopened = Store(tmp_path / "db", IDENTITY)
    assert list(reopened.load_registry().entities()) == list(registry.entities())
    assert reopened.checkpoint() == Checkpoint(7, block_hash(7))
    assert reopened.counters()["events_applied"] == 21


def test_store__a_new_database_has_8_kib_pages_and_an_older_one_keeps_its_own(tmp_path):
    new = Store(tmp_path / "new", IDENTITY)
    assert new.db.execute("PRAGMA page_size").fetchone() == (8192,)
    new.close()
    # A database made with SQLite's default pages (as before) opens and syncs on as it is.
    old_path = tmp_path / "old"
    old = sqlite3.connect(old_path)
    old.execute("PRAGMA page_size=4096")
    old.execute("PRAGMA journal_mode=WAL")
    old.close()
    store = Store(old_path, IDENTITY)
    assert store.db.execute("PRAGMA page_size").fetchone() == (4096,)
    registry = Registry()
    commit_blocks(store, registry, [(n, full_node(n, n)) for n in range(1, 4)])
    store.close()
    reopened = Store(old_path, IDENTITY)
    assert list(reopened.load_registry().entities()) == list(registry.entities())
    assert reopened.db.execute("PRAGMA page_size").fetchone() == (4096,)


def test_store__rollback_restores_the_state_at_the_fork_point(tmp_path):
    store = Store(tmp_path / "db", IDENTITY)
    registry = Registry()
    commit_blocks(store, registry, [(n, full_node(n, n)) for n in range(1, 7)])
    at_fork = list(registry.entities())
    commit_blocks(
        store,
        registry,
        [
            (7, full_node(7, 7)),
            (8, [event("NodeExited", 8, node_id=2, reason=2)]),
            (9, [event("EndpointUpdated", 9, node_id=1, endpoint="moved:1")]),
        ],
    )
    assert list(registry.entities()) != at_fork
    checkpoint = store.rollback_to(6)
    assert checkpoint == Checkpoint(6, block_hash(6))
    assert list(store.load_registry().entities()) == at_fork
    assert store.counters()["events_applied"] == 18
    assert [n for n, _ in store.block_hashes_desc(100)] == [6, 5, 4, 3, 2, 1]


def test_store__rollback_inside_a_committed_range_is_refused_and_changes_nothing(tmp_path):
    store = Store(tmp_path / "db", IDENTITY)
    registry = Registry()
    commit_blocks(store, registry, [(2, full_node(1, 2)), (5, full_node(2, 5))])
    commit_blocks(store, registry, [(8, full_node(3, 8))])
    before = store.dump()
    for inside in (2, 4):
        with pytest.raises(StoreError, match=f"block {inside} is not a commit boundary"):
            store.rollback_to(inside)
    assert store.dump() == before
    assert store.boundary_at_or_below(7) == 5
    assert store.boundary_at_or_below(4) is None


def test_store__refuses_a_database_synced_from_another_chain_or_contract(tmp_path):
    Store(tmp_path / "db", IDENTITY).close()
    other = Identity(chain_id=42161, contracts=IDENTITY.contracts, start_block=1)
    with pytest.raises(StoreError, match="was synced from"):
        Store(tmp_path / "db", other)


def test_store__reset_and_prune(tmp_path):
    store = Store(tmp_path / "db", IDENTITY)
    registry = Registry()
    for n in range(1, 10):
        commit_blocks(store, registry, [(n, full_node(n, n))])
    store.prune(5)
    assert store.oldest_block() == 5
    assert store.reset() == Checkpoint(0, None)
    assert store.dump()["state"] == {}
