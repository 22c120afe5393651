"""Eleven `sesh node run` processes on loopback over a real anvil (two swarms, of 6 and 5
nodes): messages stored through 3-hop onion paths are retrievable from every member of the
recipient's swarm, survive a member being killed (which catches up when it returns),
expire on time, follow 421 corrections, move to the nodes now responsible when the swarms
change; malformed input of every kind gets its status and loses nothing; requests built as
Session's clients build them are served; and `sesh msg` works end to end.

One network for the whole module (its tests run in file order; the swarm change is last).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest
from nacl.bindings import crypto_box_keypair

from sesh.client.onion_client import OnionClient, node_from_registry, pick_path
from sesh.devnet.chain import DEVNET_CHAIN_ID, start_anvil
from sesh.node.storage.peers import PEER_PATH
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.onion import AES_GCM, XCHACHA20, Hop, unseal
from sesh.protocol.swarm import SwarmLookup
from tests.node.driver import EventsDriver, compile_mock
from tests.node.processnet import ROOT, ProcessNet, http_json, wait_until
from tests.node.storage.test_storage import retrieve_params, store_params
from tests.protocol.session_builders import desktop_build, libsession_build

NODES = 11
EXPIRING_TTL_MS = 10_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("network")
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID)
    net = None
    try:
        abi, bytecode = compile_mock()
        driver, block = EventsDriver.deploy(anvil.url, abi, bytecode)
        driver.deploy_block = block
        net = ProcessNet(tmp_path, anvil.url, driver, NODES).start()
        swarms = net.swarms()
        assert sorted(len(m) for m in swarms.values()) == [5, 6], swarms
        net.expiring = store_expiring(net)
        yield net
    finally:
        if net is not None:
            for node in net.nodes:
                code = node.stop()
                assert code in (None, 0, -9), f"node {node.node_id} exited {code}\n{node.tail()}"
        anvil.stop()


def run(coro):
    return asyncio.run(coro)


async def client_for(net: ProcessNet, enc_type: str = XCHACHA20) -> OnionClient:
    live = next(n for n in net.nodes if n.alive)
    client = OnionClient([live.url], enc_type=enc_type)
    await client.open()
    await client.refresh()
    return client


def members_of(net: ProcessNet, session_id: str) -> list:
    """The nodes (processes) of a Session ID's swarm, from the registry API."""
    live = next(n for n in net.nodes if n.alive)
    status, body = http_json(f"{live.url}/swarm/{session_id}")
    assert status == 200, body
    return [net.by_id(m["node_id"]) for m in body["nodes"]]


async def retrieve_at(
    client: OnionClient, node, user: AccountKeys, avoid: frozenset[bytes] = frozenset()
) -> list[bytes]:
    """Retrieve from exactly `node`, through a 3-hop path that avoids it (and `avoid`)."""
    target = next(n for n in client.nodes if n.ed25519 == node.ed25519)
    path = pick_path(client.nodes, {node.ed25519} | avoid)
    answer = await client.send(path, target, "retrieve", retrieve_params(user, client.now_ms()))
    assert answer.status == 200, answer.body
    return sorted(base64.b64decode(m["data"]) for m in answer.body["messages"])


def store_expiring(net: ProcessNet) -> tuple[AccountKeys, float]:
    """A message with the shortest TTL, stored at the start (checked by a later test)."""
    user = AccountKeys.generate()

    async def go():
        client = await client_for(net)
        try:
            answer = await client.store(user.session_id, b"brief", EXPIRING_TTL_MS)
            assert answer.status == 200, answer.body
            return answer.body["swarm"]
        finally:
            await client.close()

    swarm = run(go())
    expiries = [r["expiry"] for r in swarm.values() if "expiry" in r]
    assert len(expiries) == len(swarm)
    return user, max(expiries) / 1000


def test_network__a_message_stored_through_three_hops_is_retrievable_from_every_swarm_member(
    network,
):
    user = AccountKeys.generate()

    async def go():
        for enc_type in (XCHACHA20, AES_GCM):
            client = await client_for(network, enc_type)
            try:
                answer = await client.store(user.session_id, enc_type.encode(), 600_000)
                assert answer.status == 200, answer.body
                assert all("hash" in r for r in answer.body["swarm"].values())
            finally:
                await client.close()
        client = await client_for(network)
        try:
            members = members_of(network, user.session_id)
            assert len(members) in (5, 6)
            for node in members:
                assert await retrieve_at(client, node, user) == [b"aes-gcm", b"xchacha20"]
        finally:
            await client.close()

    run(go())


def test_network__requests_built_as_session_clients_build_them_are_served(network):
    user = AccountKeys.generate()

    async def go():
        client = await client_for(network)
        try:
            members = members_of(network, user.session_id)
            target = next(n for n in client.nodes if n.ed25519 == members[0].ed25519)
            path = pick_path(client.nodes, {target.ed25519})
            hops = [Hop(n.ed25519, n.x25519) for n in path]
            now = client.now_ms()
            payload = json.dumps(
                {"method": "store", "params": store_params(user.session_id, b"libsession", now)}
            ).encode()
            keypairs = [crypto_box_keypair() for _ in range(4)]
            body, key = libsession_build(
                hops, Hop(target.ed25519, target.x25519), payload, XCHACHA20, keypairs
            )
            status, raw = post(path[0].url + "/onion_req/v2", body)
            reply = json.loads(unseal(XCHACHA20, key, base64.b64decode(raw)))
            assert status == 200 and reply["status"] == 200, reply

            text = json.dumps({"method": "retrieve", "params": retrieve_params(user, now)})
            body, key = desktop_build(hops, Hop(target.ed25519, target.x25519), text)
            status, raw = post(path[0].url + "/onion_req/v2", body)
            reply = json.loads(unseal(AES_GCM, key, base64.b64decode(raw)))
            messages = json.loads(reply["body"])["messages"]
            assert [base64.b64decode(m["data"]) for m in messages] == [b"libsession"]
        finally:
            await client.close()

    run(go())


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_rpc(url: str, method: str, params: dict) -> tuple[int, object]:
    body = json.dumps({"method": method, "params": params}).encode()
    request = urllib.request.Request(url + "/storage_rpc/v1", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_network__ifelse_compares_the_block_the_node_is_synced_to(network):
    """`ifelse`'s height, in a `sesh node run` process, is its registry's synced block."""
    node = next(n for n in network.nodes if n.alive)
    _, info = http_json(node.url + "/info")
    synced = info["synced_block"]
    then = {"method": "info", "params": {}}
    _, reached = post_rpc(node.url, "ifelse", {"if": {"height_at_least": synced}, "then": then})
    assert reached["condition"] is True and reached["height"] >= synced > 0
    assert reached["hf"] == [21, 0] and reached["result"]["body"]["version"] == [2, 11, 0]
    _, ahead = post_rpc(node.url, "ifelse", {"if": {"height_at_least": 10**9}, "else": then})
    assert ahead["condition"] is False and ahead["result"]["code"] == 200


def test_network__a_client_sent_to_the_wrong_swarm_follows_the_421(network):
    user = AccountKeys.generate()

    async def go():
        client = await client_for(network)
        try:
            right = {n.ed25519 for n in members_of(network, user.session_id)}
            wrong = [n for n in client.nodes if n.ed25519 not in right]
            client.swarms[bytes.fromhex(user.session_id)] = wrong
            answer = await client.store(user.session_id, b"found", 60_000)
            assert answer.status == 200 and answer.target.ed25519 in right
            assert {n.ed25519 for n in client.swarms[bytes.fromhex(user.session_id)]} == right
        finally:
            await client.close()

    run(go())
    outsider = next(n for n in network.nodes if n.ed25519 not in right_keys(network, user))
    status, body = post(
        outsider.url + "/storage_rpc/v1",
        json.dumps({"method": "retrieve", "params": retrieve_params(user, now_ms())}).encode(),
    )
    answer = json.loads(body)
    assert status == 421
    assert {s["pubkey_ed25519"] for s in answer["snodes"]} == {
        k.hex() for k in right_keys(network, user)
    }


def right_keys(net: ProcessNet, user: AccountKeys) -> set[bytes]:
    return {n.ed25519 for n in members_of(net, user.session_id)}


def now_ms() -> int:
    return int(time.time() * 1000)


def test_network__malformed_input_gets_its_status_and_no_message_is_lost(network):
    user = AccountKeys.generate()

    async def store_one():
        client = await client_for(network)
        try:
            assert (await client.store(user.session_id, b"precious", 600_000)).status == 200
        finally:
            await client.close()

    run(store_one())
    members = members_of(network, user.session_id)
    node = members[0]
    onion = node.url + "/onion_req/v2"
    assert post(onion, b"\xff\xff\xff\x7fabc{}")[0] == 400
    assert post(onion, b"\x03\x00\x00\x00abc{not json")[0] == 400
    bad_key = b"\x00\x00\x00\x00" + json.dumps({"ephemeral_key": "zz" * 32}).encode()
    assert post(onion, bad_key) == (
        400,
        b"Error parsing onion request: ephemeral_key is not hexadecimal",
    )
    assert post(onion, b"\x00" * ((10 << 20) + 8))[0] == 413
    rpc = node.url + "/storage_rpc/v1"
    assert post(rpc, b"{") == (400, b"invalid json")
    stale = retrieve_params(user, now_ms() - 120_000)
    assert post(rpc, json.dumps({"method": "retrieve", "params": stale}).encode())[0] == 406
    replayed = retrieve_params(user, now_ms(), namespace=5)
    replayed.pop("namespace")
    status, text = post(rpc, json.dumps({"method": "retrieve", "params": replayed}).encode())
    assert (status, text) == (401, b"retrieve signature verification failed")
    big = store_params(user.session_id, b"\x00" * 76_801, now_ms())
    assert post(rpc, json.dumps({"method": "store", "params": big}).encode())[0] == 400
    copy = json.dumps({"method": "replicate", "params": {"method": "delete", "params": {}}})
    assert post(node.url + PEER_PATH, copy.encode())[0] == 401
    for each in members:
        assert each.alive
        status, body = post(
            each.url + "/storage_rpc/v1",
            json.dumps({"method": "retrieve", "params": retrieve_params(user, now_ms())}).encode(),
        )
        messages = json.loads(body)["messages"]
        assert status == 200 and [base64.b64decode(m["data"]) for m in messages] == [b"precious"]


def test_network__a_message_survives_a_killed_swarm_member_which_catches_up_on_restart(network):
    user = AccountKeys.generate()
    members = members_of(network, user.session_id)
    victim = members[-1]

    async def before_and_during():
        client = await client_for(network)
        try:
            assert (await client.store(user.session_id, b"before", 600_000)).status == 200
            victim.kill()
            # The client finds paths and a target around the dead node by itself.
            answer = await client.store(user.session_id, b"during", 600_000)
            assert answer.status == 200
            assert answer.body["swarm"][victim.ed25519.hex()]["failed"]
            for node in members[:-1]:
                found = await retrieve_at(client, node, user, frozenset({victim.ed25519}))
                assert found == [b"before", b"during"]
        finally:
            await client.close()

    run(before_and_during())
    victim.start()
    network.wait_serving(victim, 0)

    def caught_up():
        status, body = post(
            victim.url + "/storage_rpc/v1",
            json.dumps({"method": "retrieve", "params": retrieve_params(user, now_ms())}).encode(),
        )
        data = sorted(base64.b64decode(m["data"]) for m in json.loads(body)["messages"])
        return status == 200 and data == [b"before", b"during"]

    wait_until(caught_up, 60, "the restarted node to catch up", lambda: "\n" + victim.tail())


def test_network__a_message_expires_on_time_on_every_member(network):
    user, expiry = network.expiring
    members = members_of(network, user.session_id)
    wait_until(lambda: time.time() > expiry + 0.5, EXPIRING_TTL_MS / 1000 + 30, "the expiry")
    for node in members:
        status, body = post(
            node.url + "/storage_rpc/v1",
            json.dumps({"method": "retrieve", "params": retrieve_params(user, now_ms())}).encode(),
        )
        assert status == 200 and json.loads(body)["messages"] == []

    def dropped_everywhere():
        for node in members:
            with sqlite3.connect(
                f"file:{node.directory}/data/messages.sqlite3?mode=ro", uri=True
            ) as db:
                (count,) = db.execute(
                    "SELECT COUNT(*) FROM messages WHERE pubkey = ?",
                    (bytes.fromhex(user.session_id),),
                ).fetchone()
            if count:
                return False
        return True

    wait_until(dropped_everywhere, 30, "expired messages to be dropped from every database")


def test_network__sesh_msg_sends_and_fetches_a_sealed_message(network, tmp_path):
    key_file = tmp_path / "reader.key"
    node = next(n for n in network.nodes if n.alive)

    def sesh(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sesh.cli.main", "msg", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    created = sesh("id", "--key-file", str(key_file), "--new")
    assert created.returncode == 0, created.stderr
    session_id = created.stdout.strip()
    sent = sesh("send", "--node", node.url, "--to", session_id, "hello over three hops")
    assert sent.returncode == 0, sent.stderr
    assert "stored" in sent.stdout
    fetched = sesh("fetch", "--node", node.url, "--key-file", str(key_file), "--cipher", AES_GCM)
    assert fetched.returncode == 0, fetched.stderr
    assert "1 message(s)" in fetched.stdout and "hello over three hops" in fetched.stdout
    refused = sesh("send", "--node", node.url, "--to", "05abc", "x")
    assert refused.returncode == 1 and "Session ID" in refused.stderr


def test_network__when_swarms_change_messages_move_to_the_nodes_now_responsible(network):
    before = network.swarms()
    small_id = min(before, key=lambda s: len(before[s]))
    large_id = max(before, key=lambda s: len(before[s]))
    small_user = account_in(network, small_id)
    large_user = account_in(network, large_id)

    async def store_both():
        client = await client_for(network)
        try:
            for user, text in ((small_user, b"small swarm"), (large_user, b"large swarm")):
                assert (await client.store(user.session_id, text, 600_000)).status == 200
        finally:
            await client.close()

    run(store_both())
    # The small swarm drops to 4 when one of its nodes exits: it takes one from the other.
    leaver = network.by_id(before[small_id][0])
    network.driver.exit(leaver.node_id, reason=0)
    block = network.driver.w3.eth.block_number
    network.wait_synced(block)
    after = network.swarms()
    assert sorted(len(m) for m in after.values()) == [5, 5], after
    (moved_id,) = set(after[small_id]) - set(before[small_id])
    moved = network.by_id(moved_id)
    assert moved_id in before[large_id]

    def holds(node, user) -> list[bytes]:
        status, body = post(
            node.url + "/storage_rpc/v1",
            json.dumps({"method": "retrieve", "params": retrieve_params(user, now_ms())}).encode(),
        )
        if status != 200:
            return [status]
        return [base64.b64decode(m["data"]) for m in json.loads(body)["messages"]]

    wait_until(
        lambda: holds(moved, small_user) == [b"small swarm"],
        60,
        "the moved node to get its new swarm's messages",
        lambda: "\n" + moved.tail(),
    )
    assert holds(moved, large_user) == [421]

    def forgotten(node, user) -> bool:
        path = f"file:{node.directory}/data/messages.sqlite3?mode=ro"
        with sqlite3.connect(path, uri=True) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM messages WHERE pubkey = ?",
                (bytes.fromhex(user.session_id),),
            ).fetchone()
        return count == 0

    wait_until(lambda: forgotten(moved, large_user), 60, "the moved node to forget")
    wait_until(lambda: forgotten(leaver, small_user), 60, "the exited node to hand off")
    for node_id in after[small_id]:
        assert holds(network.by_id(node_id), small_user) == [b"small swarm"]
    for node_id in after[large_id]:
        assert holds(network.by_id(node_id), large_user) == [b"large swarm"]


def account_in(net: ProcessNet, swarm_id: int) -> AccountKeys:
    node = next(n for n in net.nodes if n.alive)
    status, body = http_json(node.url + "/nodes")
    infos = [i for i in map(node_from_registry, body["nodes"]) if i is not None]
    lookup = SwarmLookup({i.swarm_id for i in infos})
    while True:
        user = AccountKeys.generate()
        if lookup.swarm_for_key(user.x25519_pubkey) == swarm_id:
            return user
