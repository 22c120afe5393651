"""The SQLite store: one transaction per batch, exact rollback to a fork point, and a
database is only reused for the chain and contracts it was synced from."""

import pytest

from sesh.node.registry import Registry
from sesh.node.store import Checkpoint, Identity, Store, StoreError
from tests.node.helpers import block_hash, event, full_node

IDENTITY = Identity(chain_id=412346, contracts=("0x" + "ab" * 20,), start_block=1)


def commit_blocks(store, registry, blocks):
    changes = [registry.apply_block(n, block_hash(n), events) for n, events in blocks]
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


def test_store__rollback_to_a_block_without_a_stored_hash_is_refused_and_changes_nothing(tmp_path):
    store = Store(tmp_path / "db", IDENTITY)
    registry = Registry()
    commit_blocks(store, registry, [(2, full_node(1, 2)), (5, full_node(2, 5))])
    before = store.dump()
    with pytest.raises(StoreError, match="no stored hash for fork point 4"):
        store.rollback_to(4)
    assert store.dump() == before


def test_store__refuses_a_database_synced_from_another_chain_or_contract(tmp_path):
    Store(tmp_path / "db", IDENTITY).close()
    other = Identity(chain_id=42161, contracts=IDENTITY.contracts, start_block=1)
    with pytest.raises(StoreError, match="was synced from"):
        Store(tmp_path / "db", other)


def test_store__reset_and_prune(tmp_path):
    store = Store(tmp_path / "db", IDENTITY)
    registry = Registry()
    commit_blocks(store, registry, [(n, full_node(n, n)) for n in range(1, 10)])
    store.prune(5)
    assert store.oldest_block() == 5
    assert store.reset() == Checkpoint(0, None)
    assert store.dump()["state"] == {}
