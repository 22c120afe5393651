"""Session's methods over all of an account's messages — `delete_all`, `delete_before`,
`expire_all` — and `get_expiries`, on three nodes of one swarm over loopback HTTP: applied
on every member, each member signing what it did as Session's server signs it, and every
refusal (stale or future timestamps, bad signatures, other swarms) changing nothing."""

from __future__ import annotations

import asyncio
import base64

from nacl.signing import VerifyKey

from sesh.protocol.storage_rpc import (
    account_wide_request,
    get_expiries_request,
    retrieve_request,
)
from tests.node.localnet import LocalNet
from tests.node.storage.account_helpers import (
    assert_members_signed,
    call,
    now_of,
    reopen,
    session_account,
    store_many,
)


def run(coro):
    return asyncio.run(coro)


async def hashes_on(node, signer, namespace: int = 0) -> set[str]:
    now = int(node.rpc.clock() * 1000)
    answer = await call(node, retrieve_request(signer, now, namespace))
    assert answer.status == 200, answer.body
    return {m["hash"] for m in answer.body["messages"]}


def test_delete_all__one_namespace_on_every_member_each_signing_what_it_deleted(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, signer = session_account()
            default = await store_many(net, account, None, 3)
            kept = await store_many(net, account, signer, 2, namespace=5)
            now = now_of(net)
            answer = await call(net.nodes[1], account_wide_request("delete_all", signer, now))
            expected = sorted(default)
            assert_members_signed(net, answer, (account + str(now) + "".join(expected)).encode())
            assert all(r["deleted"] == expected for r in answer.body["swarm"].values())
            assert answer.body["hf"] == [21, 0] and answer.body["t"] == now
            for node in net.nodes:
                assert await hashes_on(node, signer) == set()
                assert await hashes_on(node, signer, 5) == set(kept)

    run(scenario())


def test_delete_all__all_namespaces_answers_the_hashes_by_namespace(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, signer = session_account()
            default = await store_many(net, account, None, 2)
            private = await store_many(net, account, signer, 2, namespace=-42)
            now = now_of(net)
            answer = await call(
                net.nodes[2], account_wide_request("delete_all", signer, now, "all")
            )
            every = sorted(default + private)
            assert_members_signed(net, answer, (account + str(now) + "".join(every)).encode())
            for result in answer.body["swarm"].values():
                assert result["deleted"] == {"0": sorted(default), "-42": sorted(private)}
            for node in net.nodes:
                assert node.rpc.db.count() == 0

    run(scenario())


def test_delete_all__a_stale_or_future_timestamp_or_a_bad_signature_deletes_nothing(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, signer = session_account()
            stored = await store_many(net, account, None, 2)
            now = now_of(net)
            for when in (now - 120_000, now + 120_000):
                answer = await call(net.nodes[0], account_wide_request("delete_all", signer, when))
                assert (answer.status, answer.body) == (
                    406,
                    "delete_all timestamp too far from current time",
                )
            forged = account_wide_request("delete_all", signer, now)
            forged["params"]["timestamp"] = now + 1  # not what was signed
            answer = await call(net.nodes[0], forged)
            assert (answer.status, answer.body) == (401, "delete_all signature verification failed")
            _, stranger = session_account()
            theirs = account_wide_request("delete_all", stranger, now)
            theirs["params"]["pubkey"] = account
            assert (await call(net.nodes[0], theirs)).status == 401
            for node in net.nodes:
                assert await hashes_on(node, signer) == set(stored)

    run(scenario())


def test_delete_before__deletes_messages_at_or_before_the_cut_off(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, signer = session_account()
            now = now_of(net)
            # Timestamps now, now-1, ..., now-4 (store_many counts down).
            hashes = await store_many(net, account, None, 5, timestamp=now)
            cut = now - 3
            answer = await call(net.nodes[1], account_wide_request("delete_before", signer, cut))
            gone = sorted(hashes[3:])
            assert_members_signed(net, answer, (account + str(cut) + "".join(gone)).encode())
            assert all(r["deleted"] == gone for r in answer.body["swarm"].values())
            none = await call(net.nodes[1], account_wide_request("delete_before", signer, cut))
            assert_members_signed(net, none, (account + str(cut)).encode())
            for node in net.nodes:
                assert await hashes_on(node, signer) == set(hashes[:3])

    run(scenario())


def test_delete_before__a_cut_off_over_a_minute_ahead_is_refused(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, signer = session_account()
            hashes = await store_many(net, account, None, 2)
            ahead = now_of(net) + 61_000
            answer = await call(net.nodes[0], account_wide_request("delete_before", signer, ahead))
            assert (answer.status, answer.body) == (
                401,
                "delete_before timestamp too far in the future",
            )
            assert await hashes_on(net.nodes[2], signer) == set(hashes)

    run(scenario())


def test_expire_all__shortens_only_the_later_expiries_everywhere(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, signer = session_account()
            now = now_of(net)
            short = await store_many(net, account, None, 2, ttl=600_000, timestamp=now)
            long = await store_many(net, account, None, 2, ttl=7_200_000, timestamp=now - 10)
            target = now + 1_800_000
            answer = await call(net.nodes[2], account_wide_request("expire_all", signer, target))
            changed = sorted(long)
            assert_members_signed(net, answer, (account + str(target) + "".join(changed)).encode())
            assert all(r["updated"] == changed for r in answer.body["swarm"].values())
            for node in net.nodes:
                expiries = node.rpc.db.expiries(bytes.fromhex(account), short + long)
                assert {h: expiries[h] for h in long} == {h: target for h in long}
                assert all(expiries[h] < target for h in short)

    run(scenario())


def test_expire_all__an_expiry_over_a_minute_past_is_406(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, signer = session_account()
            await store_many(net, account, None, 1)
            answer = await call(
                net.nodes[0], account_wide_request("expire_all", signer, now_of(net) - 61_000)
            )
            assert (answer.status, answer.body) == (
                406,
                "expire_all timestamp should be >= current time",
            )

    run(scenario())


def test_get_expiries__the_accounts_own_messages_and_nothing_else(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, signer = session_account()
            other, _ = session_account()
            now = now_of(net)
            mine = await store_many(net, account, None, 2, ttl=600_000, timestamp=now)
            theirs = await store_many(net, other, None, 1, ttl=600_000, timestamp=now)
            asked = [*mine, *theirs, "A" * 43]
            answer = await call(net.nodes[1], get_expiries_request(signer, asked, now))
            # Exactly Session's shape: no `t`, no `hf`.
            assert answer.status == 200
            assert answer.body == {"expiries": {mine[0]: now + 600_000, mine[1]: now - 1 + 600_000}}
            stale = await call(net.nodes[1], get_expiries_request(signer, asked, now - 61_000))
            assert (stale.status, stale.body) == (
                406,
                "get_expiries timestamp too far from current time",
            )
            forged = get_expiries_request(signer, asked, now)
            forged["params"]["messages"] = mine
            answer = await call(net.nodes[1], forged)
            assert (answer.status, answer.body) == (
                401,
                "get_expiries signature verification failed",
            )

    run(scenario())


def test_account_wide__an_account_of_another_swarm_gets_421(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 4, swarm_of=lambda i: 0 if i < 2 else 1 << 63) as net:
            node = net.nodes[0]
            while True:
                account, signer = session_account()
                if node.views.view.swarm_for(bytes.fromhex(account)[1:]) == 1 << 63:
                    break
            now = now_of(net)
            for request in (
                account_wide_request("delete_all", signer, now),
                account_wide_request("delete_before", signer, now),
                account_wide_request("expire_all", signer, now + 60_000),
                get_expiries_request(signer, ["A" * 43], now),
            ):
                answer = await call(node, request)
                assert answer.status == 421 and answer.body["swarm"] == f"{1 << 63:x}"
                assert answer.body["hf"] == [21, 0]

    run(scenario())


def test_catch_up__a_member_down_during_delete_all_deletes_on_return_what_came_before(tmp_path):
    """The deletion reaches a member that missed it (replayed from the signed request), and
    a message stored after the deletion is not taken by the replay."""

    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            entry, late = net.nodes
            account, signer = session_account()
            now = now_of(net)
            before = await store_many(net, account, None, 3, timestamp=now - 1000)
            await net.halt(late)
            deleted = await call(entry, account_wide_request("delete_all", signer, now))
            assert deleted.body["swarm"][entry.identity.ed25519_pubkey.hex()]["deleted"]
            assert deleted.body["swarm"][late.identity.ed25519_pubkey.hex()]["failed"]
            reopen(late, tmp_path / "node-1" / "messages.sqlite3")
            # Stored on the late member alone, after the deletion.
            newer = late.rpc.db
            assert newer.all_hashes() == set(before)
            await net.serve(late)
            after = await store_many(net, account, None, 1, timestamp=now + 5000)
            assert await late.service.catch_up(late.views.view)
            assert late.rpc.db.all_hashes() == set(after)
            key = VerifyKey(entry.identity.ed25519_pubkey)
            mine = deleted.body["swarm"][entry.identity.ed25519_pubkey.hex()]
            key.verify(
                (account + str(now) + "".join(sorted(before))).encode(),
                base64.b64decode(mine["signature"]),
            )

    run(scenario())
