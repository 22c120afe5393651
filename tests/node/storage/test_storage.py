"""The storage RPC with Session's semantics (sesh/node/storage/rpc.py), on nodes in one process
talking to each other over loopback HTTP: stores copied to the swarm, signatures, limits,
namespaces, paging, expiry, deletion, the size bound, and every refusal leaving the stored
messages as they were."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import VerifyKey

from sesh.node.network import static_view
from sesh.node.storage.messages import MessageDB
from sesh.node.storage.rpc import StorageRpc
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.storage_rpc import DAY_MS, MAX_MESSAGE_BYTES
from sesh.protocol.swarm import swarm_space
from tests.node.localnet import LocalNet, NetInLoop


def run(coro):
    return asyncio.run(coro)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def session_hash(account_hex: str, namespace: int, data: bytes) -> str:
    """Session's message hash, computed here independently of the node's code."""
    digest = hashlib.blake2b(digest_size=32)
    digest.update(bytes.fromhex(account_hex))
    digest.update(b"" if namespace == 0 else str(namespace).encode())
    digest.update(data)
    return base64.b64encode(digest.digest()).decode().rstrip("=")


def store_params(account: str, data: bytes, now: int, ttl: int = 60_000, **extra) -> dict:
    return {"pubkey": account, "timestamp": now, "ttl": ttl, "data": b64(data), **extra}


def signed(user: AccountKeys, text: bytes) -> dict:
    return {"pubkey_ed25519": user.ed25519_pubkey.hex(), "signature": user.sign(text)}


def retrieve_params(user: AccountKeys, now: int, namespace: int = 0, **extra) -> dict:
    ns = "" if namespace == 0 else str(namespace)
    params = {
        "pubkey": user.session_id,
        "timestamp": now,
        **signed(user, b"retrieve" + ns.encode() + str(now).encode()),
        **extra,
    }
    if namespace:
        params["namespace"] = namespace
    return params


def private_store(user: AccountKeys, data: bytes, now: int, signed_ns: int, **extra) -> dict:
    """A store signed for namespace `signed_ns` (and sent to it, unless `extra` says)."""
    params = store_params(user.session_id, data, now, namespace=signed_ns, sig_timestamp=now)
    params.update(signed(user, b"store" + str(signed_ns).encode() + str(now).encode()))
    params.update(extra)
    return params


def held(rpc: StorageRpc) -> set[str]:
    return rpc.db.all_hashes()


async def retrieved(rpc: StorageRpc, user: AccountKeys, namespace: int = 0) -> list[bytes]:
    now = int(rpc.clock() * 1000)
    answer = await rpc.handle("retrieve", retrieve_params(user, now, namespace))
    assert answer.status == 200, answer.body
    return [base64.b64decode(m["data"]) for m in answer.body["messages"]]


def test_storage__a_store_reaches_every_swarm_member_with_sessions_hash_and_signed_results(
    tmp_path,
):
    async def scenario():
        async with LocalNet(tmp_path, 4) as net:
            user = AccountKeys.generate()
            entry = net.nodes[0].rpc
            now = int(net.clock() * 1000)
            answer = await entry.handle("store", store_params(user.session_id, b"hi", now))
            assert answer.status == 200
            expected = session_hash(user.session_id, 0, b"hi")
            assert answer.body["hash"] == expected
            assert set(answer.body["swarm"]) == {n.identity.ed25519_pubkey.hex() for n in net.nodes}
            for node in net.nodes:
                result = answer.body["swarm"][node.identity.ed25519_pubkey.hex()]
                assert result["hash"] == expected and result["expiry"] == now + 60_000
                VerifyKey(node.identity.ed25519_pubkey).verify(
                    expected.encode(), base64.b64decode(result["signature"])
                )
                assert await retrieved(node.rpc, user) == [b"hi"]

            again = await entry.handle("store", store_params(user.session_id, b"hi", now))
            assert all(r["already"] for r in again.body["swarm"].values())
            later = await entry.handle(
                "store", store_params(user.session_id, b"hi", now, ttl=120_000)
            )
            assert all(r["expiry"] == now + 120_000 for r in later.body["swarm"].values())

    run(scenario())


def two_swarms(i: int) -> int:
    return 0 if i < 3 else 1 << 63


def account_in_swarm(view, swarm_id: int) -> AccountKeys:
    while True:
        user = AccountKeys.generate()
        if view.swarm_for(user.x25519_pubkey) == swarm_id:
            return user


def test_storage__an_account_of_another_swarm_gets_421_naming_that_swarm_and_nothing_stored(
    tmp_path,
):
    async def scenario():
        async with LocalNet(tmp_path, 6, swarm_of=two_swarms) as net:
            node = net.nodes[0]
            view = node.views.view
            stranger = account_in_swarm(view, 1 << 63)
            now = int(net.clock() * 1000)
            for method, params in [
                ("store", store_params(stranger.session_id, b"x", now)),
                ("retrieve", retrieve_params(stranger, now)),
            ]:
                answer = await node.rpc.handle(method, params)
                assert answer.status == 421
                assert answer.body["swarm"] == f"{1 << 63:x}"
                keys = {s["pubkey_ed25519"] for s in answer.body["snodes"]}
                assert keys == {n.identity.ed25519_pubkey.hex() for n in net.nodes[3:]}
                assert all(
                    {"pubkey_x25519", "ip", "port", "port_https"} <= set(s)
                    for s in answer.body["snodes"]
                )
            assert held(node.rpc) == set()
            swarm = await node.rpc.handle("get_swarm", {"pubkey": stranger.session_id})
            assert swarm.status == 200 and swarm.body["swarm"] == f"{1 << 63:x}"
            info = await node.rpc.handle("info", {})
            assert (
                info.status == 200
                and info.body["version"] == [2, 11, 0]
                and info.body["hf"] == [21, 0]
            )
            assert abs(info.body["timestamp"] - now) < 60_000

    run(scenario())


def test_storage__limits_on_ttl_size_and_timestamps_are_refused_and_store_nothing(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            rpc = net.nodes[0].rpc
            user = AccountKeys.generate()
            sid = user.session_id
            now = int(net.clock() * 1000)
            big = b"\x01" * MAX_MESSAGE_BYTES
            cases = [
                (store_params(sid, b"x", now, ttl=9_999), 403, "TTL is not valid"),
                (store_params(sid, b"x", now, ttl=14 * DAY_MS + 1), 403, "TTL is not valid"),
                (store_params(sid, big + b"\x01", now), 400, "exceeds maximum allowed length"),
                (store_params(sid, b"x", now + 11_000), 406, "check your clock"),
                (store_params(sid, b"x", now - 80_000, ttl=60_000), 406, "check your clock"),
                (
                    private_store(user, b"x", now, 5, ttl=30 * DAY_MS + 1),
                    403,
                    "TTL is not valid",
                ),
            ]
            for params, status, reason in cases:
                answer = await rpc.handle("store", params)
                assert (answer.status, reason in answer.body) == (status, True), params
            assert held(rpc) == set()
            # The limits themselves are allowed.
            assert (await rpc.handle("store", store_params(sid, big, now))).status == 200
            ok = await rpc.handle("store", store_params(sid, b"y", now, ttl=14 * DAY_MS))
            assert ok.status == 200
            month = private_store(user, b"z", now, 5, ttl=30 * DAY_MS)
            assert (await rpc.handle("store", month)).status == 200
            assert len(held(rpc)) == 3

    run(scenario())


def test_storage__private_namespaces_take_only_fresh_signatures_of_the_account(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            rpc = net.nodes[0].rpc
            user, attacker = AccountKeys.generate(), AccountKeys.generate()
            now = int(net.clock() * 1000)
            unsigned = store_params(user.session_id, b"x", now, namespace=5)
            stale = private_store(user, b"x", now - 61_000, 5, timestamp=now)
            forged = private_store(attacker, b"x", now, 5, pubkey=user.session_id)
            other_namespace = private_store(user, b"x", now, 3, namespace=5)
            for params, status in [(unsigned, 401), (stale, 406), (forged, 401)]:
                assert (await rpc.handle("store", params)).status == status
            assert (await rpc.handle("store", other_namespace)).status == 401
            # The Ed25519 key must be the one whose X25519 form is the Session ID.
            wrong_twin = private_store(user, b"x", now, 5)
            wrong_twin["pubkey_ed25519"] = attacker.ed25519_pubkey.hex()
            assert (await rpc.handle("store", wrong_twin)).status == 401
            assert held(rpc) == set()
            good = await rpc.handle("store", private_store(user, b"x", now, 5))
            assert good.status == 200
            assert await retrieved(rpc, user, namespace=5) == [b"x"]
            assert await retrieved(net.nodes[1].rpc, user, namespace=5) == [b"x"]

    run(scenario())


def test_storage__retrieve_refuses_missing_stale_replayed_and_foreign_signatures(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            rpc = net.nodes[0].rpc
            user, attacker = AccountKeys.generate(), AccountKeys.generate()
            now = int(net.clock() * 1000)
            await rpc.handle("store", store_params(user.session_id, b"secret", now))
            replayed_ns = retrieve_params(user, now, namespace=5)
            replayed_ns["namespace"] = 0
            forged = retrieve_params(attacker, now)
            forged["pubkey"] = user.session_id
            group_key = retrieve_params(user, now)
            group_key["pubkey"] = "03" + user.session_id[2:]
            cases = [
                ({"pubkey": user.session_id}, 401, "signature required"),
                (retrieve_params(user, now - 61_000), 406, "too far from current time"),
                (retrieve_params(user, now + 61_000), 406, "too far from current time"),
                (replayed_ns, 401, "verification failed"),
                (forged, 401, "verification failed"),
                (group_key, 400, "only permitted for 05"),
                ({**retrieve_params(user, now), "signature": "AAAA"}, 400, "invalid signature"),
                ({**retrieve_params(user, now), "timestamp": None}, 400, "'timestamp' missing"),
            ]
            for params, status, reason in cases:
                answer = await rpc.handle("retrieve", params)
                assert answer.status == status and reason in answer.body, (params, answer)
            # A signature from 59 s ago still works, and the message is still there.
            assert await retrieved(rpc, user) == [b"secret"]
            old = await rpc.handle("retrieve", retrieve_params(user, now - 59_000))
            assert old.status == 200 and len(old.body["messages"]) == 1

    run(scenario())


def test_storage__retrieve_pages_by_last_hash_count_and_size(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            rpc = net.nodes[0].rpc
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            hashes = []
            for i in range(5):
                answer = await rpc.handle(
                    "store", store_params(user.session_id, bytes([i]) * 300, now + i)
                )
                hashes.append(answer.body["hash"])
            page = await rpc.handle("retrieve", retrieve_params(user, now, max_count=2))
            assert [m["hash"] for m in page.body["messages"]] == hashes[:2] and page.body["more"]
            after = await rpc.handle(
                "retrieve", retrieve_params(user, now, last_hash=hashes[1], max_count=10)
            )
            assert [m["hash"] for m in after.body["messages"]] == hashes[2:]
            assert not after.body["more"]
            # 300 bytes are 400 in base64, plus the 43-character hash: two fit in 900.
            sized = await rpc.handle("retrieve", retrieve_params(user, now, max_size=900))
            assert len(sized.body["messages"]) == 2 and sized.body["more"]
            unknown = await rpc.handle("retrieve", retrieve_params(user, now, last_hash="A" * 43))
            assert len(unknown.body["messages"]) == 5
            first = page.body["messages"][0]
            assert first["timestamp"] == now and first["expiration"] == now + 60_000
            bad = await rpc.handle("retrieve", retrieve_params(user, now, last_hash="short"))
            assert bad.status == 400 and "43 chars" in bad.body

    run(scenario())


def test_storage__expired_messages_are_not_returned_and_are_dropped(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            rpc = net.nodes[0].rpc
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            await rpc.handle("store", store_params(user.session_id, b"brief", now, ttl=10_000))
            await rpc.handle("store", store_params(user.session_id, b"long", now, ttl=90_000))
            assert sorted(await retrieved(rpc, user)) == [b"brief", b"long"]
            net.clock.offset = 10.0
            assert await retrieved(rpc, user) == [b"long"]
            assert rpc.db.count() == 2
            assert rpc.db.drop_expired(int(net.clock() * 1000)) == 1
            assert rpc.db.count() == 1

    run(scenario())


def delete_params(user: AccountKeys, hashes: list[str], **extra) -> dict:
    return {
        "pubkey": user.session_id,
        "messages": hashes,
        **signed(user, b"delete" + "".join(hashes).encode()),
        **extra,
    }


def test_storage__a_signed_delete_removes_from_every_member_and_a_forged_one_removes_nothing(
    tmp_path,
):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            entry = net.nodes[0].rpc
            user, attacker = AccountKeys.generate(), AccountKeys.generate()
            now = int(net.clock() * 1000)
            hashes = [
                (await entry.handle("store", store_params(user.session_id, d, now))).body["hash"]
                for d in (b"one", b"two")
            ]
            forged = delete_params(attacker, hashes[:1])
            forged["pubkey"] = user.session_id
            assert (await entry.handle("delete", forged)).status == 401
            unsigned = {"pubkey": user.session_id, "messages": hashes[:1]}
            assert (await entry.handle("delete", unsigned)).status == 400
            for node in net.nodes:
                assert held(node.rpc) == set(hashes)

            answer = await entry.handle("delete", delete_params(user, hashes[:1]))
            assert answer.status == 200 and abs(answer.body["t"] - now) < 60_000
            for node in net.nodes:
                result = answer.body["swarm"][node.identity.ed25519_pubkey.hex()]
                assert result["deleted"] == hashes[:1]
                signed_text = user.session_id + hashes[0] + hashes[0]
                VerifyKey(node.identity.ed25519_pubkey).verify(
                    signed_text.encode(), base64.b64decode(result["signature"])
                )
                assert held(node.rpc) == {hashes[1]}
            again = await entry.handle("delete", delete_params(user, hashes[:1], required=True))
            assert again.status == 404

    run(scenario())


def expire_params(user: AccountKeys, hashes: list[str], expiry, mode: str = "") -> dict:
    values = expiry if isinstance(expiry, list) else [expiry]
    text = "expire" + mode + "".join(map(str, values)) + "".join(hashes)
    params = {"pubkey": user.session_id, "messages": hashes, "expiry": expiry}
    if mode:
        params[mode] = True
    return {**params, **signed(user, text.encode())}


def test_storage__expire_shortens_extends_and_clamps__a_forged_one_changes_nothing(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            entry = net.nodes[0].rpc
            user, attacker = AccountKeys.generate(), AccountKeys.generate()
            now = int(net.clock() * 1000)
            stored = await entry.handle("store", store_params(user.session_id, b"m", now))
            hash_ = stored.body["hash"]

            forged = expire_params(attacker, [hash_], now + 20_000)
            forged["pubkey"] = user.session_id
            assert (await entry.handle("expire", forged)).status == 401
            past = expire_params(user, [hash_], now - 61_000)
            assert (await entry.handle("expire", past)).status == 401
            for node in net.nodes:
                assert node.rpc.db.expiries(bytes.fromhex(user.session_id), [hash_]) == {
                    hash_: now + 60_000
                }

            shorter = await entry.handle("expire", expire_params(user, [hash_], now + 20_000))
            assert shorter.status == 200
            own = shorter.body["swarm"][net.nodes[1].identity.ed25519_pubkey.hex()]
            assert own["updated"] == [hash_] and own["expiry"] == now + 20_000
            extend_only = await entry.handle(
                "expire", expire_params(user, [hash_], now + 10_000, mode="extend")
            )
            result = extend_only.body["swarm"][net.nodes[0].identity.ed25519_pubkey.hex()]
            assert result["updated"] == [] and result["unchanged"] == {hash_: now + 20_000}
            far = await entry.handle("expire", expire_params(user, [hash_], now + 90 * DAY_MS))
            for node in net.nodes:
                # Clamped to 30 days from when each member applied it.
                clamped = far.body["swarm"][node.identity.ed25519_pubkey.hex()]["expiry"]
                assert now + 30 * DAY_MS <= clamped < now + 30 * DAY_MS + 10_000
                assert node.rpc.db.expiries(bytes.fromhex(user.session_id), [hash_]) == {
                    hash_: clamped
                }

    run(scenario())


def test_storage__namespaces_follow_sessions_rules(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            rpc = net.nodes[0].rpc
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            # Multiples of 10 take deposits from anyone; others need the owner's signature.
            open_10 = store_params(user.session_id, b"ten", now, namespace=10)
            assert (await rpc.handle("store", open_10)).status == 200
            closed_5 = store_params(user.session_id, b"five", now, namespace=5)
            assert (await rpc.handle("store", closed_5)).status == 401
            # A public outbox holds one message, readable without a signature.
            for data in (b"profile-1", b"profile-2"):
                answer = await rpc.handle("store", private_store(user, data, now, -21))
                assert answer.status == 200
            outbox = await rpc.handle("retrieve", {"pubkey": user.session_id, "namespace": -21})
            assert [base64.b64decode(m["data"]) for m in outbox.body["messages"]] == [b"profile-2"]
            legacy = store_params(user.session_id, b"group", now, namespace=-10)
            assert (await rpc.handle("store", legacy)).status == 200
            legacy_read = await rpc.handle(
                "retrieve", {"pubkey": user.session_id, "namespace": -10}
            )
            assert legacy_read.status == 200 and len(legacy_read.body["messages"]) == 1
            needs_auth = await rpc.handle("retrieve", {"pubkey": user.session_id, "namespace": 10})
            assert needs_auth.status == 400 and "'signature' missing" in needs_auth.body
            out_of_range = store_params(user.session_id, b"x", now, namespace=32768)
            assert (await rpc.handle("store", out_of_range)).status == 400
            assert await retrieved(rpc, user, 10) == [b"ten"]
            hashes = {session_hash(user.session_id, 10, b"ten")}
            assert hashes <= held(rpc)

    run(scenario())


def test_storage__a_full_database_refuses_stores_with_507_and_keeps_what_it_holds(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1, max_bytes=256 << 10) as net:
            rpc = net.nodes[0].rpc
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            kept = []
            status = 200
            for i in range(20):
                answer = await rpc.handle(
                    "store", store_params(user.session_id, bytes([i]) * 60_000, now)
                )
                status = answer.status
                if status != 200:
                    break
                kept.append(bytes([i]) * 60_000)
            assert status == 507 and "storage full" in json.dumps(answer.body)
            assert len(kept) >= 2
            assert sorted(await retrieved(rpc, user)) == sorted(kept)
            # Making room (a wider bound here; expiry does it in service) lets stores in.
            rpc.db.set_max_bytes(4 << 20)
            again = await rpc.handle("store", store_params(user.session_id, b"more", now))
            assert again.status == 200

    run(scenario())


MALFORMED_BODIES = [
    (b"not json", 400, "invalid json"),
    (b"[1, 2]", 400, "invalid json"),
    (b'{"params": {}}', 400, "no `method` field"),
    (b'{"method": "store"}', 400, "no `params` field"),
    (b'{"method": "store", "params": []}', 400, "no `params` field"),
    (b'{"method": "teleport", "params": {}}', 400, "no method teleport"),
    (b'{"method": "store", "params": {"pubkey": "05ab"}}', 400, "'timestamp' missing"),
]


def test_storage__malformed_requests_get_their_error_and_change_nothing(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            rpc = net.nodes[0].rpc
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            await rpc.handle("store", store_params(user.session_id, b"keep", now))
            before = held(rpc)
            for body, status, reason in MALFORMED_BODIES:
                answer = await rpc.handle_body(body)
                assert answer.status == status and reason in answer.body, body
            sid = user.session_id
            bad_params = [
                ({"pubkey": sid[:-2], "timestamp": now, "ttl": 60_000, "data": "AA=="}, "66 hex"),
                ({"pubkey": sid, "timestamp": now, "ttl": 60_000, "data": "!!"}, "not base64"),
                ({"pubkey": sid, "timestamp": now, "data": "AA=="}, "'expiry' or 'ttl'"),
                (
                    {"pubkey": sid, "pubKey": sid, "timestamp": now, "ttl": 1, "data": ""},
                    "both",
                ),
                ({"pubkey": sid, "timestamp": 12345, "ttl": 60_000, "data": ""}, "milliseconds"),
                ({"pubkey": sid, "timestamp": True, "ttl": 60_000, "data": ""}, "integer"),
                ({"pubkey": sid, "timestamp": now, "ttl": "soon", "data": ""}, "integer"),
            ]
            for params, reason in bad_params:
                answer = await rpc.handle("store", params)
                assert answer.status == 400 and reason in answer.body, params
            assert held(rpc) == before
            # Session's compatibility forms: stringified timestamp and ttl, pubKey.
            compat = {"pubKey": sid, "timestamp": str(now), "ttl": "60000", "data": b64(b"c")}
            assert (await rpc.handle("store", compat)).status == 200

    run(scenario())


@pytest.fixture(scope="module")
def fuzz_node(tmp_path_factory):
    """One node for all fuzzing examples, holding two messages."""
    node = NetInLoop(tmp_path_factory.mktemp("fuzz"), 1)
    node.rpc = node.net.nodes[0].rpc
    now = int(node.net.clock() * 1000)
    user = AccountKeys.generate()
    for data in (b"first", b"second"):
        node.run(node.rpc.handle("store", store_params(user.session_id, data, now)))
    node.kept = held(node.rpc)
    yield node
    node.close()


FIELD_NAMES = [
    "pubkey", "pubKey", "timestamp", "ttl", "expiry", "data", "namespace", "signature",
    "pubkey_ed25519", "sig_timestamp", "last_hash", "lastHash", "max_count", "max_size",
    "messages", "required", "shorten", "extend",
]  # fmt: skip
FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.text(max_size=90),
    st.sampled_from(["05" + "ab" * 32, "A" * 43, "A" * 86, "AAAA", "00" * 32]),
    st.lists(st.text(max_size=45), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(
        ["store", "retrieve", "delete", "expire", "get_swarm", "info", "nothing"]
    ),
    params=st.dictionaries(st.sampled_from(FIELD_NAMES), FIELD_VALUES, max_size=8),
)
def test_storage__fuzzed_requests_never_fail_the_node_nor_lose_a_message(fuzz_node, method, params):
    answer = fuzz_node.run(fuzz_node.rpc.handle(method, params))
    assert answer.status in {200, 400, 401, 403, 404, 406, 421}, (answer.status, answer.body)
    assert fuzz_node.kept <= held(fuzz_node.rpc)


def test_storage__a_peer_copy_that_is_refused_is_reported_and_the_store_still_succeeds(
    tmp_path,
):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            down = net.nodes[2]
            await net.halt(down)
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            answer = await net.nodes[0].rpc.handle(
                "store", store_params(user.session_id, b"x", now)
            )
            assert answer.status == 200
            swarm = answer.body["swarm"]
            assert swarm[down.identity.ed25519_pubkey.hex()] == {"failed": True, "timeout": True}
            assert "hash" in swarm[net.nodes[1].identity.ed25519_pubkey.hex()]

    run(scenario())


def test_storage__a_node_that_was_down_catches_up_messages_and_deletions_from_its_peers(
    tmp_path,
):
    async def scenario():
        async with LocalNet(tmp_path, 3) as net:
            entry, late = net.nodes[0], net.nodes[2]
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            first = await entry.rpc.handle("store", store_params(user.session_id, b"a", now))
            doomed = first.body["hash"]
            await net.halt(late)
            await entry.rpc.handle("store", store_params(user.session_id, b"b", now))
            await entry.rpc.handle("delete", delete_params(user, [doomed]))
            # The node comes back with its database as it was.
            late.rpc.db = MessageDB(tmp_path / "node-2" / "messages.sqlite3", 64 << 20)
            assert held(late.rpc) == {doomed}
            await net.serve(late)
            assert await late.service.catch_up(late.views.view)
            assert held(late.rpc) == held(entry.rpc) == {session_hash(user.session_id, 0, b"b")}
            # The deleted message cannot come back from a peer that missed the deletion.
            stale = {
                "hash": doomed,
                "pubkey": user.session_id,
                "namespace": 0,
                "timestamp": now,
                "expiry": now + 60_000,
                "data": b64(b"a"),
            }
            assert late.rpc.accept_message(late.views.view, stale, now) is None
            assert doomed not in held(late.rpc)

    run(scenario())


def test_storage__when_swarms_change_messages_move_to_the_swarm_now_responsible(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 6) as net:
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            # Ten of the largest messages: more than one request body's worth (1 MiB).
            large = [bytes([i]) * MAX_MESSAGE_BYTES for i in range(10)]
            for data in [b"m", *large]:
                stored = await net.nodes[0].rpc.handle(
                    "store", store_params(user.session_id, data, now)
                )
                assert stored.status == 200
            expected = {session_hash(user.session_id, 0, d) for d in [b"m", *large]}
            infos = [n.info for n in net.nodes]
            # Nodes 3-5 form a new swarm placed exactly where the account sits.
            assert net.nodes[0].views.view.swarm_for(user.x25519_pubkey) == 0
            space = swarm_space(user.x25519_pubkey)
            moved = [
                info if i < 3 else type(info)(**{**info.__dict__, "swarm_id": space})
                for i, info in enumerate(infos)
            ]
            net.set_view(lambda node: static_view(moved, node.identity.ed25519_pubkey))
            new_members, old_members = net.nodes[3:], net.nodes[:3]
            for node in old_members:
                assert await node.service.hand_off(node.views.view)
            for node in new_members:
                await node.service.catch_up(node.views.view)
                assert held(node.rpc) == expected
                assert sorted(await retrieved(node.rpc, user)) == sorted([b"m", *large])
            for node in old_members:
                assert held(node.rpc) == set()
                answer = await node.rpc.handle(
                    "retrieve", retrieve_params(user, int(net.clock() * 1000))
                )
                assert answer.status == 421

    run(scenario())
