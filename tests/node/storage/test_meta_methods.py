"""`batch`, `sequence` and `ifelse` as Session's storage server runs them; `retrieve` with
`reverse_direction`; the extend-only rule that skips an extension of less than 1 % of a
message's remaining lifetime; and bencoded requests and answers, over HTTP and as the
target of an onion request."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import aiohttp
from nacl.bindings import crypto_box_keypair
from nacl.signing import VerifyKey

from sesh.protocol import bencode
from sesh.protocol.onion import XCHACHA20, pack, seal, unseal
from sesh.protocol.storage_rpc import (
    RequestSigner,
    account_wide_request,
    expire_request,
    retrieve_request,
    rpc,
    store_request,
)
from tests.node.localnet import LocalNet
from tests.node.storage.account_helpers import call, group_account, now_of, store_many
from tests.protocol.session_builders import client_key

TTL = 86_400_000


def run(coro):
    return asyncio.run(coro)


def session_hash(account: str, namespace: int, data: bytes) -> str:
    digest = hashlib.blake2b(digest_size=32)
    digest.update(bytes.fromhex(account) + (str(namespace).encode() if namespace else b"") + data)
    return base64.b64encode(digest.digest()).decode().rstrip("=")


def deposit(account: str, data: bytes, now: int) -> dict:
    return store_request(None, account, data, now, TTL)


def test_batch__runs_every_subrequest_and_answers_each_code_and_body(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, key = group_account()
            admin = RequestSigner.owner(account, key)
            now = now_of(net)
            batch = {
                "requests": [
                    store_request(admin, account, b"abc 123", now, TTL, 42),
                    store_request(admin, account, b"xyz 123", now, TTL, 42),
                    store_request(None, account, b"no auth", now, TTL, 33),
                ]
            }
            answer = await net.nodes[0].rpc.handle("batch", batch)
            assert answer.status == 200
            results = answer.body["results"]
            assert [r["code"] for r in results] == [200, 200, 401]
            assert results[0]["body"]["hash"] == session_hash(account, 42, b"abc 123")
            assert results[1]["body"]["hash"] == session_hash(account, 42, b"xyz 123")
            assert results[2]["body"] == "store: signature required to store to namespace 33"
            assert set(answer.body) == {"results"}

    run(scenario())


def test_batch__a_bad_subrequest_refuses_the_whole_batch_before_any_runs(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            node = net.nodes[0]
            account, _ = group_account()
            now = now_of(net)
            good = deposit(account, b"kept out", now)
            cases = [
                ({"requests": [good, rpc("retrieve", {"pubkey": "05zz"})]}, "Pubkey must be"),
                ({"requests": [good, rpc("nope", {})]}, 'invalid method "nope"'),
                (
                    {"requests": [good, rpc("batch", {"requests": [good]})]},
                    "subrequests may not contain meta-requests",
                ),
                ({"requests": [good] * 21}, "subrequest limit exceeded"),
                ({"requests": []}, 'no valid "requests" field'),
                ({"requests": [good, {"method": "store"}]}, "must have method/params keys"),
            ]
            for method in ("batch", "sequence"):
                for params, text in cases:
                    answer = await node.rpc.handle(method, params)
                    assert answer.status == 400 and text in answer.body, (method, answer.body)
            assert node.rpc.db.count() == 0

    run(scenario())


def test_sequence__stops_after_the_first_failure_where_batch_goes_on(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, key = group_account()
            admin = RequestSigner.owner(account, key)
            now = now_of(net)
            requests = [
                store_request(None, account, b"abc 123", now, TTL, 33),
                retrieve_request(admin, now),
            ]
            seq = await net.nodes[0].rpc.handle("sequence", {"requests": requests})
            assert [r["code"] for r in seq.body["results"]] == [401]
            batch = await net.nodes[0].rpc.handle("batch", {"requests": requests})
            assert [r["code"] for r in batch.body["results"]] == [401, 200]
            assert batch.body["results"][1]["body"]["messages"] == []

            ordered = [
                deposit(account, b"one", now),
                retrieve_request(admin, now),
                deposit(account, b"two", now),
                account_wide_request("delete_all", admin, now),
                retrieve_request(admin, now),
            ]
            answer = await net.nodes[1].rpc.handle("sequence", {"requests": ordered})
            results = [r["body"] for r in answer.body["results"]]
            first, second = session_hash(account, 0, b"one"), session_hash(account, 0, b"two")
            assert [m["hash"] for m in results[1]["messages"]] == [first]
            assert all(set(r["deleted"]) == {first, second} for r in results[3]["swarm"].values())
            assert results[4]["messages"] == []

    run(scenario())


def test_ifelse__follows_the_branch_of_hf_version_and_height_conditions(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            node = net.nodes[0]
            node.rpc.height = lambda: 5000
            account, _ = group_account()
            now = now_of(net)

            def both(condition: dict, i: int) -> dict:
                return {
                    "if": condition,
                    "then": deposit(account, b"yes%d" % i, now),
                    "else": deposit(account, b"no%d" % i, now),
                }

            # Session reports hf [21, 0], storage server [2, 11, 0]; height 5000 here.
            cases = [
                ({"hf_at_least": [2000000]}, False),
                ({"hf_at_least": [19], "height_before": 1234}, False),
                ({"hf_at_least": [19], "height_before": 123456789}, True),
                ({"hf_at_least": [21]}, True),
                ({"hf_at_least": [21, 1]}, False),
                ({"hf_before": [21, 1]}, True),
                ({"v_at_least": [2, 11]}, True),
                ({"v_before": [2, 11, 0]}, False),
                ({"height_at_least": 5000}, True),
                ({"height_at_least": 5001}, False),
            ]
            for i, (condition, holds) in enumerate(cases):
                answer = await node.rpc.handle("ifelse", both(condition, i))
                body = answer.body
                assert answer.status == 200 and body["condition"] is holds, condition
                assert (body["hf"], body["v"], body["height"]) == ([21, 0], [2, 11, 0], 5000)
                data = (b"yes%d" if holds else b"no%d") % i
                assert body["result"]["code"] == 200
                assert body["result"]["body"]["hash"] == session_hash(account, 0, data)
            only_then = await node.rpc.handle(
                "ifelse", {"if": {"hf_before": [19]}, "then": deposit(account, b"x", now)}
            )
            assert only_then.body["condition"] is False and "result" not in only_then.body

    run(scenario())


def test_ifelse__nests_ifelse_and_batch_but_batch_may_not_hold_ifelse(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            node = net.nodes[0]
            account, _ = group_account()
            now = now_of(net)
            inner = {
                "method": "batch",
                "params": {"requests": [deposit(account, b"a", now), deposit(account, b"b", now)]},
            }
            for _ in range(3):
                inner = {"method": "ifelse", "params": {"if": {"hf_at_least": [19]}, "then": inner}}
            answer = await node.rpc.handle(inner["method"], inner["params"])
            body = answer.body
            for _ in range(3):
                assert body["condition"] and body["result"]["code"] == 200
                body = body["result"]["body"]
            assert [r["body"]["hash"] for r in body["results"]] == [
                session_hash(account, 0, b"a"),
                session_hash(account, 0, b"b"),
            ]
            info = rpc("info", {})
            wrapped = rpc("ifelse", {"if": {"hf_at_least": [19]}, "then": info})
            refused = await node.rpc.handle("batch", {"requests": [wrapped]})
            assert refused.status == 400 and "meta-requests" in refused.body
            for bad, text in [
                ({"then": info}, 'no valid "if" field'),
                ({"if": {}, "then": info}, "at least one"),
                ({"if": {"hf_at_least": [19]}}, 'at least one of "then"/"else"'),
                ({"if": {"hf_at_least": "19"}, "then": info}, "expected integer array"),
            ]:
                answer = await node.rpc.handle("ifelse", bad)
                assert answer.status == 400 and text in answer.body, answer.body

    run(scenario())


def test_retrieve__reverse_direction_pages_from_the_newest_towards_the_oldest(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            node = net.nodes[0]
            account, key = group_account()
            admin = RequestSigner.owner(account, key)
            hashes = await store_many(net, account, None, 12)  # in arrival order
            now = now_of(net)

            async def page(**options) -> tuple[list[str], bool]:
                answer = await call(node, retrieve_request(admin, now, **options))
                assert answer.status == 200, answer.body
                return [m["hash"] for m in answer.body["messages"]], answer.body["more"]

            newest_first = list(reversed(hashes))
            assert await page(reverse_direction=True, max_count=5) == (newest_first[:5], True)
            assert await page(reverse_direction=True, max_count=5, last_hash="A" * 43) == (
                newest_first[:5],
                True,
            )
            back, more = await page(reverse_direction=True, max_count=5, last_hash=hashes[7])
            assert (back, more) == (list(reversed(hashes[2:7])), True)
            assert await page(reverse_direction=True, max_count=5, last_hash=back[-1]) == (
                [hashes[1], hashes[0]],
                False,
            )
            assert await page(reverse_direction=True, last_hash=hashes[0]) == ([], False)
            assert await page(reverse_direction=False, max_count=3, last_hash=hashes[7]) == (
                hashes[8:11],
                True,
            )
            bad = await call(node, retrieve_request(admin, now, reverse_direction="yes"))
            assert bad.status == 400

    run(scenario())


def test_expire__extend_only_skips_an_extension_under_1_percent_of_the_remaining_life(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            account, key = group_account()
            admin = RequestSigner.owner(account, key)
            now = now_of(net)
            ttl = 14 * 86_400_000
            hashes = sorted(await store_many(net, account, None, 3, ttl=ttl, timestamp=now))
            entry = net.nodes[0]
            stored = entry.rpc.db.expiries(bytes.fromhex(account), hashes)
            latest = max(stored.values())
            # A minute on two weeks is under 1 %: nothing rewritten, all reported unchanged.
            trivial = await call(entry, expire_request(admin, hashes, latest + 60_000, "extend"))
            for result in trivial.body["swarm"].values():
                assert result["updated"] == [] and result["unchanged"] == stored
            # A day is not.
            day = latest + 86_400_000
            real = await call(entry, expire_request(admin, hashes, day, "extend"))
            for result in real.body["swarm"].values():
                assert result["updated"] == hashes and result["unchanged"] == {}
            # Without `extend` any change is applied, however small.
            exact = await call(entry, expire_request(admin, hashes, day + 1))
            assert all(r["updated"] == hashes for r in exact.body["swarm"].values())

    run(scenario())


def test_hf_and_t__in_the_answers_where_session_puts_them(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            node = net.nodes[0]
            account, key = group_account()
            admin = RequestSigner.owner(account, key)
            now = now_of(net)
            for request in (
                rpc("info", {}),
                rpc("get_swarm", {"pubkey": account}),
                deposit(account, b"x", now),
                retrieve_request(admin, now),
                account_wide_request("delete_all", admin, now),
            ):
                answer = await call(node, request)
                assert answer.status == 200
                assert answer.body["hf"] == [21, 0] and abs(answer.body["t"] - now) < 60_000

    run(scenario())


def bt_request(request: dict) -> bytes:
    """A request as a bt client sends it: binary signatures and data, keys as bytes."""

    def raw(params: dict) -> dict:
        out = {}
        for key, value in params.items():
            if key in ("signature", "data", "subaccount", "subaccount_sig"):
                out[key] = base64.b64decode(value)
            elif key == "pubkey":
                out[key] = bytes.fromhex(value)
            elif key == "requests":
                out[key] = [{"method": r["method"], "params": raw(r["params"])} for r in value]
            elif isinstance(value, bool):
                out[key] = int(value)
            else:
                out[key] = value
        return out

    return bencode.encode({"method": request["method"], "params": raw(request["params"])})


def test_bt__a_bencoded_sequence_is_answered_in_bencode_with_raw_signatures(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            account, key = group_account()
            admin = RequestSigner.owner(account, key)
            now = now_of(net)
            request = rpc(
                "sequence",
                {
                    "requests": [
                        store_request(admin, account, b"abc 123", now, TTL, 42),
                        retrieve_request(admin, now, 42),
                    ]
                },
            )
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    net.nodes[0].url + "/storage_rpc/v1", data=bt_request(request)
                ) as response,
            ):
                assert response.status == 200
                assert response.content_type == "application/octet-stream"
                answer = bencode.decode(await response.read())
            stored, fetched = answer[b"results"]
            assert stored[b"code"] == 200
            expected = session_hash(account, 42, b"abc 123").encode()
            assert stored[b"body"][b"hash"] == expected
            for member, result in stored[b"body"][b"swarm"].items():
                VerifyKey(bytes.fromhex(member.decode())).verify(expected, result[b"signature"])
            [message] = fetched[b"body"][b"messages"]
            assert message[b"data"] == b"abc 123" and message[b"hash"] == expected

    run(scenario())


def test_bt__an_onion_request_in_bencode_gets_the_bencoded_status_and_body(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            account, key = group_account()
            admin = RequestSigner.owner(account, key)
            now = now_of(net)
            key_pair = crypto_box_keypair()
            target = net.nodes[1].hop
            shared = client_key(XCHACHA20, key_pair[1], key_pair[0], target.x25519)
            request = bt_request(store_request(admin, account, b"onion", now, TTL, 42))
            inner = pack(request, {"headers": "", "json": True, "base64": False})
            body = pack(
                seal(XCHACHA20, shared, inner),
                {"ephemeral_key": key_pair[0].hex(), "enc_type": XCHACHA20},
            )
            async with (
                aiohttp.ClientSession() as session,
                session.post(net.nodes[1].url + "/onion_req/v2", data=body) as response,
            ):
                raw = await response.read()
            status, answer = bencode.decode(unseal(XCHACHA20, shared, raw))
            assert status == 200
            assert answer[b"hash"] == session_hash(account, 42, b"onion").encode()
            bad = bencode.encode({"method": "store", "params": {"pubkey": b"short"}})
            answer = await net.nodes[0].rpc.handle_body(bad)
            assert answer.status == 400 and answer.bt
            assert answer.http().body == answer.body.encode()

    run(scenario())


def test_hostile__malformed_bencode_and_deep_nesting_are_400_and_store_nothing(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            node = net.nodes[0]
            account, _ = group_account()
            good = bt_request(deposit(account, b"x", now_of(net)))
            for body in (
                good[:-1],  # truncated
                good + b"e",  # trailing bytes
                b"d6:method5:storee",  # no params: a store without fields
                b"d6:methodi5e6:paramsdee",  # method not a string
                b"d6:method5:store6:paramsli1eee",  # params not a dict
                b"d6:method5:store6:paramsd2:\xff\xffi1eee",  # key not text
                b"d" * 5000,  # nested far too deep
            ):
                answer = await node.rpc.handle_body(body)
                assert answer.status == 400, (body[:40], answer.body)
            inner = deposit(account, b"deep", now_of(net))
            for _ in range(20):
                inner = rpc("ifelse", {"if": {"hf_at_least": [19]}, "then": inner})
            answer = await node.rpc.handle(inner["method"], inner["params"])
            assert answer.status == 400 and "nested too deeply" in answer.body
            assert node.rpc.db.count() == 0

    run(scenario())
