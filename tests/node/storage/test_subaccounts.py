"""Subaccounts as Session's storage server checks them, on three nodes of one swarm: the
token's account type byte and access flags, the account's signature of the token, the
subaccount's signature of the request, the revoked list (replicated to every member, the
latest 50 kept, ignored for retrieving from the −(100n+11) namespaces), and a group of
three — one admin, two members — where a removed member is refused everywhere."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from nacl.signing import SigningKey, VerifyKey

from sesh.client.groups import GroupAdmin
from sesh.protocol.storage_rpc import (
    RequestSigner,
    delete_request,
    expire_request,
    retrieve_request,
    revoke_request,
    revoked_list_request,
    store_request,
    subaccount_token,
)
from tests.node.localnet import LocalNet
from tests.node.storage.account_helpers import (
    assert_members_signed,
    call,
    group_account,
    now_of,
    reopen,
)

TTL = 3_600_000


def run(coro):
    return asyncio.run(coro)


def member(account: str, owner: SigningKey, **flags) -> RequestSigner:
    key = SigningKey.generate()
    token = subaccount_token(int(account[:2], 16), bytes(key.verify_key), **flags)
    return RequestSigner.member(account, key, token, owner.sign(token).signature)


async def store(node, signer, account, data: bytes, namespace: int = 42):
    return await call(node, store_request(signer, account, data, now_of_node(node), TTL, namespace))


def now_of_node(node) -> int:
    return int(node.rpc.clock() * 1000)


async def read(node, signer, namespace: int = 42):
    return await call(node, retrieve_request(signer, now_of_node(node), namespace))


def test_subaccount__the_flags_decide_what_a_token_may_do(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, owner = group_account()
            node = net.nodes[0]
            read_only = member(account, owner, write=False)
            nothing = member(account, owner, read=False, write=False)
            writer = member(account, owner)
            deleter = member(account, owner, delete=True)
            for signer in (read_only, writer, deleter):
                answer = await read(node, signer)
                assert answer.status == 200 and answer.body["messages"] == []
                assert answer.body["hf"] == [21, 0]
            assert (await read(node, nothing)).body == "retrieve signature verification failed"
            for signer in (read_only, nothing):
                refused = await store(node, signer, account, b"x")
                assert (refused.status, refused.body) == (
                    401,
                    "store signature verification failed",
                )
            stored = await store(node, writer, account, b"hello")
            assert stored.status == 200 and stored.body["hf"] == [21, 0]
            hash_ = stored.body["hash"]
            for signer in (read_only, writer):
                refused = await call(node, delete_request(signer, [hash_]))
                assert (refused.status, refused.body) == (
                    401,
                    "delete_msgs signature verification failed",
                )
            deleted = await call(net.nodes[1], delete_request(deleter, [hash_]))
            assert all(r["deleted"] == [hash_] for r in deleted.body["swarm"].values())

    run(scenario())


def test_subaccount__a_token_works_only_for_its_account_type_unless_any_prefix(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            key = SigningKey.generate()
            other_type = "99" + bytes(key.verify_key).hex()
            node = net.nodes[0]
            plain = member("03" + other_type[2:], key)
            anywhere = member("03" + other_type[2:], key, any_prefix=True)
            for signer, status in ((plain, 401), (anywhere, 200)):
                moved = RequestSigner(other_type, signer.signing_key, None, signer.subaccount)
                assert (await read(node, moved)).status == status

    run(scenario())


def test_subaccount__a_token_not_signed_by_the_account_or_used_by_another_key_is_refused(
    tmp_path,
):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            account, owner = group_account()
            node = net.nodes[0]
            forged = member(account, SigningKey.generate())
            assert (await read(node, forged)).status == 401
            honest = member(account, owner)
            thief = RequestSigner(account, SigningKey.generate(), None, honest.subaccount)
            assert (await read(node, thief)).status == 401
            assert (await read(node, honest)).status == 200

    run(scenario())


def test_subaccount__without_delete_a_token_only_extends_and_cannot_replace_an_outbox(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, owner = group_account()
            admin = RequestSigner.owner(account, owner)
            node = net.nodes[0]
            now = now_of(net)
            hashes = []
            for i, ttl in enumerate((60_000, 7_200_000)):
                answer = await call(node, store_request(admin, account, b"m%d" % i, now, ttl, 42))
                hashes.append(answer.body["hash"])
            writer = member(account, owner)
            target = now + 3_600_000
            answer = await call(node, expire_request(writer, hashes, target))
            assert all(r["updated"] == [hashes[0]] for r in answer.body["swarm"].values())
            refused = await call(node, expire_request(writer, hashes, now + 1000, "shorten"))
            assert (refused.status, refused.body) == (
                400,
                "expire: shorten parameter cannot be used with this subaccount token "
                "(missing delete access)",
            )
            outbox = await store(node, writer, account, b"profile", namespace=-21)
            assert (outbox.status, outbox.body) == (401, "store signature verification failed")
            moderator = member(account, owner, delete=True)
            assert (await store(node, moderator, account, b"profile", namespace=-21)).status == 200

    run(scenario())


def test_revoke__reaches_every_member_lists_the_token_and_spares_the_unrevocable_namespace(
    tmp_path,
):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, owner = group_account()
            admin = RequestSigner.owner(account, owner)
            dude = member(account, owner)
            token = dude.subaccount.token
            assert (await store(net.nodes[0], admin, account, b"bye", namespace=-11)).status == 200
            now = now_of(net)
            answer = await call(net.nodes[1], revoke_request(admin, [token], now))
            expected = (account + str(now)).encode() + token
            assert_members_signed(net, answer, expected)
            assert all(r["count"] == 1 for r in answer.body["swarm"].values())
            for node in net.nodes:
                refused = await read(node, dude)
                assert (refused.status, refused.body) == (
                    401,
                    "retrieve signature verification failed",
                )
                notice = await read(node, dude, namespace=-11)
                assert notice.status == 200 and len(notice.body["messages"]) == 1
                listed = await call(node, revoked_list_request(admin, now_of(net)))
                assert listed.body["revoked_subaccounts"] == [base64.b64encode(token).decode()]
                assert listed.body["hf"] == [21, 0]
            undo = await call(net.nodes[2], revoke_request(admin, [token], now + 1, unrevoke=True))
            assert_members_signed(net, undo, (account + str(now + 1)).encode() + token)
            assert all(r["count"] == 1 for r in undo.body["swarm"].values())
            for node in net.nodes:
                assert (await read(node, dude)).status == 200

    run(scenario())


def test_revoke__only_the_account_itself_may_revoke_and_at_most_50_at_once(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            account, owner = group_account()
            node = net.nodes[0]
            moderator = member(account, owner, delete=True)
            victim = member(account, owner)
            now = now_of(net)
            answer = await call(node, revoke_request(moderator, [victim.subaccount.token], now))
            assert (answer.status, answer.body) == (
                401,
                "revoke_subaccount signature verification failed",
            )
            assert (await read(node, victim)).status == 200
            admin = RequestSigner.owner(account, owner)
            tokens = [member(account, owner).subaccount.token for _ in range(51)]
            answer = await call(node, revoke_request(admin, tokens, now))
            assert (answer.status, answer.body) == (
                400,
                "invalid request: invalid revoke: cannot revoke more than 50 subaccounts at once",
            )
            stale = await call(node, revoke_request(admin, tokens[:1], now - 61_000))
            assert (stale.status, stale.body) == (
                406,
                "revoke_subaccount timestamp too far from current time",
            )

    run(scenario())


def test_revoke__only_the_latest_50_revocations_are_kept(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            account, owner = group_account()
            admin = RequestSigner.owner(account, owner)
            node = net.nodes[0]
            dude = member(account, owner)
            now = now_of(net)
            await call(node, revoke_request(admin, [dude.subaccount.token], now))
            others = [member(account, owner).subaccount.token for _ in range(50)]
            await call(node, revoke_request(admin, others[:49], now))
            assert (await read(node, dude)).status == 401
            await call(node, revoke_request(admin, others[49:], now))
            assert (await read(node, dude)).status == 200
            unknown = [member(account, owner).subaccount.token for _ in range(10)]
            undo = await call(
                node,
                revoke_request(admin, [*others, dude.subaccount.token, *unknown], now, True),
            )
            assert undo.body["swarm"][node.identity.ed25519_pubkey.hex()]["count"] == 50

    run(scenario())


def test_revoke__a_member_down_during_the_revocation_refuses_the_token_once_back(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            entry, late = net.nodes
            account, owner = group_account()
            admin = RequestSigner.owner(account, owner)
            dude = member(account, owner)
            await net.halt(late)
            await call(entry, revoke_request(admin, [dude.subaccount.token], now_of(net)))
            reopen(late, tmp_path / "node-1" / "messages.sqlite3")
            await net.serve(late)
            assert await late.service.catch_up(late.views.view)
            assert (await read(late, dude)).status == 401

    run(scenario())


@pytest.mark.parametrize("namespace", [11, 13])
def test_group__three_members_share_messages_and_a_removed_member_is_refused(tmp_path, namespace):
    """An admin and two members store to and read the group's namespace with their own
    keys; the admin removes one member (revoking its token); the removed member can no
    longer read or write on any member of the swarm, the other still can."""

    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            group = GroupAdmin.create()
            alice, alice_token = group.member_signer(SigningKey.generate())
            bob, bob_token = group.member_signer(SigningKey.generate())
            assert alice_token[:2] == bytes([0x03, 0x03]) and alice_token[4:] == bytes(
                alice.signing_key.verify_key
            )
            VerifyKey(bytes(group.group_key.verify_key)).verify(
                alice_token, alice.subaccount.signature
            )
            writers = {"admin": group.signer, "alice": alice, "bob": bob}
            hashes = {}
            for i, (name, signer) in enumerate(writers.items()):
                answer = await store(net.nodes[i], signer, group.account, name.encode(), namespace)
                assert answer.status == 200, answer.body
                hashes[name] = answer.body["hash"]
            for node in net.nodes:
                for signer in writers.values():
                    answer = await read(node, signer, namespace)
                    assert {m["hash"] for m in answer.body["messages"]} == set(hashes.values())

            removed = await call(
                net.nodes[0], revoke_request(group.signer, [bob_token], now_of(net))
            )
            assert removed.status == 200
            for node in net.nodes:
                assert (await read(node, bob, namespace)).status == 401
                refused = await store(node, bob, group.account, b"still here?", namespace)
                assert (refused.status, refused.body) == (
                    401,
                    "store signature verification failed",
                )
                assert (await read(node, alice, namespace)).status == 200
            kept = await store(net.nodes[2], alice, group.account, b"after", namespace)
            assert kept.status == 200
            for node in net.nodes:
                answer = await read(node, group.signer, namespace)
                assert len(answer.body["messages"]) == 4

    run(scenario())


def test_revoke__a_replayed_change_never_undoes_a_later_signed_one(tmp_path):
    """Members that saw a revocation and its undoing in different orders (a partition)
    agree once they catch up: the change signed last wins, whatever order it arrives in."""

    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            node = net.nodes[0]
            view = node.views.view
            account, owner = group_account()
            admin = RequestSigner.owner(account, owner)
            dude = member(account, owner)
            token = dude.subaccount.token
            now = now_of(net)
            revoke = revoke_request(admin, [token], now)["params"]
            unrevoke = revoke_request(admin, [token], now + 1000, unrevoke=True)["params"]
            # Here: the undoing first (live), then the older revocation replayed from a peer.
            assert (
                await node.rpc.handle("unrevoke_subaccount", unrevoke, forwarded=True)
            ).status == 200
            assert node.rpc.replay_op(view, "revoke_subaccount", json.dumps(revoke), now)
            assert (await read(node, dude)).status == 200
            # And the other way: a later revocation, then an older undoing replayed.
            later = revoke_request(admin, [token], now + 2000)["params"]
            assert (await node.rpc.handle("revoke_subaccount", later, forwarded=True)).status == 200
            older = revoke_request(admin, [token], now + 1500, unrevoke=True)["params"]
            assert node.rpc.replay_op(view, "unrevoke_subaccount", json.dumps(older), now)
            assert (await read(node, dude)).status == 401

    run(scenario())
