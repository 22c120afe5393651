"""Deletions and tombstones belong to the account that signed them (issue #17: a signed
`delete` by any account tombstoned other accounts' messages on every member, and the
hand-offs of those messages were then refused)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from sesh.node.network import static_view
from sesh.node.storage.messages import Message, MessageDB, MessageDBError
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.swarm import swarm_space
from tests.node.localnet import LocalNet
from tests.node.storage.test_storage import (
    b64,
    delete_params,
    held,
    session_hash,
    store_params,
)


def run(coro):
    return asyncio.run(coro)


def copy_of(account: AccountKeys, hash_: str, data: bytes, now: int) -> dict:
    """A message as a peer hands it over."""
    return {
        "hash": hash_,
        "pubkey": account.session_id,
        "namespace": 0,
        "timestamp": now,
        "expiry": now + 60_000,
        "data": b64(data),
    }


def test_tombstones__a_delete_signed_by_another_account_leaves_the_message_everywhere(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 6, swarm_of=lambda i: 0) as net:
            owner, attacker = AccountKeys.generate(), AccountKeys.generate()
            now = int(net.clock() * 1000)
            members = net.nodes[:3]
            # Nodes 3-5 are out of the network for now.
            infos = [n.info for n in net.nodes]
            net.set_view(lambda node: static_view(infos[:3], node.identity.ed25519_pubkey))
            entry = members[0].rpc
            stored = await entry.handle("store", store_params(owner.session_id, b"mine", now))
            victim = stored.body["hash"]
            answer = await entry.handle("delete", delete_params(attacker, [victim]))
            assert answer.status == 200
            assert all(r["deleted"] == [] for r in answer.body["swarm"].values())
            for node in members:
                assert held(node.rpc) == {victim}
                # A copy from a peer is still taken (what catch-up and hand-off send).
                node.rpc.db.forget([victim])
                assert node.rpc.accept_message(
                    node.views.view, copy_of(owner, victim, b"mine", now), now
                ) == (victim, True)
            required = await entry.handle(
                "delete", delete_params(attacker, [victim], required=True)
            )
            assert required.status == 404

            # Hand-off: nodes 3-5 become the swarm where the owner's account sits.
            space = swarm_space(owner.x25519_pubkey)
            moved = [
                info if i < 3 else type(info)(**{**info.__dict__, "swarm_id": space})
                for i, info in enumerate(infos)
            ]
            net.set_view(lambda node: static_view(moved, node.identity.ed25519_pubkey))
            # The new members heard the attacker's delete (a catch-up replaying it).
            for node in net.nodes[3:]:
                await node.rpc.handle("delete", delete_params(attacker, [victim]), forwarded=True)
            for node in members:
                assert await node.service.hand_off(node.views.view)
            for node in net.nodes[3:]:
                assert held(node.rpc) == {victim}

    run(scenario())


def test_tombstones__the_owners_delete_still_keeps_its_message_from_coming_back(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            owner, other = AccountKeys.generate(), AccountKeys.generate()
            now = int(net.clock() * 1000)
            entry = net.nodes[0].rpc
            hashes = {}
            for user in (owner, other):
                stored = await entry.handle("store", store_params(user.session_id, b"m", now))
                hashes[user.session_id] = stored.body["hash"]
            mine = hashes[owner.session_id]
            answer = await entry.handle("delete", delete_params(owner, [mine]))
            assert all(r["deleted"] == [mine] for r in answer.body["swarm"].values())
            for node in net.nodes:
                view = node.views.view
                assert node.rpc.accept_message(view, copy_of(owner, mine, b"m", now), now) is None
                assert held(node.rpc) == {hashes[other.session_id]}

    run(scenario())


V1_TOMBSTONES = "CREATE TABLE tombstones (hash TEXT PRIMARY KEY, keep_until INTEGER NOT NULL)"


def test_tombstones__a_version_1_database_keeps_only_the_signers_own_tombstones(tmp_path):
    """Opening a database of schema 1 rebuilds its tombstones from the logged deletions,
    each for the account that signed it: the owner's message comes back, the signer's
    own stays deleted."""
    owner, signer = AccountKeys.generate(), AccountKeys.generate()
    now = 1_700_000_000_000
    theirs = Message(session_hash(owner.session_id, 0, b"o"), key(owner), 0, now, now + 1, b"o")
    own = Message(session_hash(signer.session_id, 0, b"s"), key(signer), 0, now, now + 1, b"s")
    path = tmp_path / "messages.sqlite3"
    db = MessageDB(path, 64 << 20)
    params = delete_params(signer, [theirs.hash, own.hash])
    db.log_op("op-1", "delete", json.dumps(params), now, now + 60_000)
    db.close()
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE tombstones")
    raw.execute(V1_TOMBSTONES)
    raw.executemany("INSERT INTO tombstones VALUES (?, ?)", [(theirs.hash, now), (own.hash, now)])
    raw.execute("UPDATE meta SET value = '1' WHERE name = 'schema_version'")
    raw.commit()
    raw.close()

    db = MessageDB(path, 64 << 20)
    rows = set(db.db.execute("SELECT pubkey, hash FROM tombstones").fetchall())
    assert rows == {(key(signer), theirs.hash), (key(signer), own.hash)}
    assert db.store(theirs, respect_tombstone=True) == (True, now + 1)
    assert db.store(own, respect_tombstone=True) is None
    assert db.all_hashes() == {theirs.hash}
    db.close()


def test_tombstones__a_database_of_an_unknown_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "messages.sqlite3"
    MessageDB(path, 64 << 20).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE meta SET value = '7' WHERE name = 'schema_version'")
    raw.commit()
    raw.close()
    with pytest.raises(MessageDBError, match="schema version 7"):
        MessageDB(path, 64 << 20)


def key(account: AccountKeys) -> bytes:
    return bytes.fromhex(account.session_id)
