"""`POST /onion_req/v2` and `POST /peer/v1` over real HTTP between nodes in one process:
onion requests served through three hops (ours and Session-built), every failure with its
status, and node-to-node requests refused unless signed, fresh, addressed to the receiver
and sent by a node allowed to send them — all without touching stored messages."""

from __future__ import annotations

import asyncio
import base64
import json
import socket

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_box_keypair

from sesh.client.onion_client import OnionClient, pick_path
from sesh.node.network import static_view
from sesh.node.storage.peers import sign_request
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.onion import (
    AES_GCM,
    XCHACHA20,
    Hop,
    build_onion,
    pack,
    parse_request,
    seal,
    unseal,
)
from tests.node.localnet import LocalNet, NetInLoop, identity_for
from tests.node.storage.test_storage import retrieve_params, store_params
from tests.protocol.session_builders import client_key, desktop_build, libsession_build


def run(coro):
    return asyncio.run(coro)


def client_for(net: LocalNet, enc_type: str) -> OnionClient:
    client = OnionClient(["http://unused"], enc_type=enc_type)
    client.nodes = [n.info for n in net.nodes]
    return client


async def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers or {}) as response,
    ):
        return response.status, await response.read()


def test_router__a_message_sent_through_three_hops_is_served_with_either_cipher(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 5) as net:
            user = AccountKeys.generate()
            for enc_type in (AES_GCM, XCHACHA20):
                async with client_for(net, enc_type) as client:
                    stored = await client.store(user.session_id, enc_type.encode(), 60_000)
                    assert stored.status == 200 and len(stored.body["swarm"]) == 5
            for node in net.nodes:
                async with client_for(net, XCHACHA20) as client:
                    path = pick_path(client.nodes, {node.info.ed25519})
                    now = client.now_ms()
                    answer = await client.send(
                        path, node.info, "retrieve", retrieve_params(user, now)
                    )
                    data = sorted(base64.b64decode(m["data"]) for m in answer.body["messages"])
                    assert answer.status == 200 and data == [b"aes-gcm", b"xchacha20"]
            served = sum(
                n.router.metrics.get("sesh_onion_requests_total", result="served")
                for n in net.nodes
            )
            relayed = sum(
                n.router.metrics.get("sesh_onion_requests_total", result="relayed")
                for n in net.nodes
            )
            assert served == 7 and relayed == 21

    run(scenario())


def test_router__requests_built_as_libsession_and_session_desktop_build_them_are_served(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 4) as net:
            hops = [n.hop for n in net.nodes]
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            request = {"method": "store", "params": store_params(user.session_id, b"lib", now)}
            payload = json.dumps(request).encode()
            for enc_type in (XCHACHA20, AES_GCM):
                keypairs = [crypto_box_keypair() for _ in range(4)]
                body, reply_key = libsession_build(hops[:3], hops[3], payload, enc_type, keypairs)
                status, raw = await post(net.nodes[0].url + "/onion_req/v2", body)
                assert status == 200
                reply = json.loads(unseal(enc_type, reply_key, base64.b64decode(raw)))
                assert reply["status"] == 200
                assert json.loads(reply["body"])["hash"]

            text = json.dumps({"method": "retrieve", "params": retrieve_params(user, now)})
            body, reply_key = desktop_build(hops[:3], hops[3], text)
            status, raw = await post(net.nodes[0].url + "/onion_req/v2", body)
            reply = json.loads(unseal(AES_GCM, reply_key, base64.b64decode(raw)))
            messages = json.loads(reply["body"])["messages"]
            assert status == 200 and reply["status"] == 200
            assert [base64.b64decode(m["data"]) for m in messages] == [b"lib"]

    run(scenario())


def one_hop(net: LocalNet, payload: bytes, enc_type=XCHACHA20, **outer) -> tuple[bytes, object]:
    """A request for node 1 through node 0, with extra outer JSON fields."""
    built = build_onion([net.nodes[0].hop], net.nodes[1].hop, payload, enc_type)
    request = parse_request(built.body)
    metadata = {"ephemeral_key": request.ephemeral_key.hex(), "enc_type": enc_type, **outer}
    return pack(request.ciphertext, metadata), built


def test_router__every_failure_gets_its_status_and_stored_messages_stay(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 5, relay_timeout=1.0) as net:
            user = AccountKeys.generate()
            async with client_for(net, XCHACHA20) as client:
                assert (await client.store(user.session_id, b"kept", 60_000)).status == 200
            entry = net.nodes[0].url + "/onion_req/v2"
            payload = json.dumps({"method": "info", "params": {}}).encode()

            status, text = await post(entry, b"\x00" * ((1 << 20) + 1))
            assert (status, text) == (413, b"Request body too large")
            status, text = await post(entry, b"\x09\x00\x00\x00abc{}")
            assert status == 400 and text.startswith(b"Error parsing onion request: length")
            body, _ = one_hop(net, payload, hop_no=16)
            assert await post(entry, body) == (400, b"onion request max path length exceeded")
            wrong_node = build_onion([net.nodes[1].hop], net.nodes[2].hop, payload).body
            assert await post(entry, wrong_node) == (400, b"Invalid ciphertext")

            stranger = identity_for("not-registered")
            unknown = Hop(stranger.ed25519_pubkey, stranger.x25519_pubkey)
            body = build_onion([net.nodes[0].hop], unknown, payload).body
            expected = f"Next node not found: {stranger.ed25519_pubkey.hex()}".encode()
            assert await post(entry, body) == (502, expected)

            await net.halt(net.nodes[4])
            body = build_onion([net.nodes[0].hop], net.nodes[4].hop, payload).body
            expected = f"Next node unreachable: {net.nodes[4].identity.ed25519_pubkey.hex()}"
            assert await post(entry, body) == (502, expected.encode())

            # A registered node that accepts connections and never answers.
            with socket.socket() as silent:
                silent.bind(("127.0.0.1", 0))
                silent.listen()
                mute = identity_for("mute")
                mute_info = NodeInfo(
                    99,
                    mute.ed25519_pubkey,
                    mute.x25519_pubkey,
                    f"127.0.0.1:{silent.getsockname()[1]}",
                    None,
                )
                view = net.nodes[0].views.view
                net.nodes[0].views.view = static_view(
                    [*view.nodes.values(), mute_info], view.own_ed25519
                )
                body = build_onion(
                    [net.nodes[0].hop], Hop(mute.ed25519_pubkey, mute.x25519_pubkey), payload
                ).body
                assert await post(entry, body) == (504, b"Request time out")
                net.nodes[0].views.view = view

            net.nodes[1].views.view = static_view(view.nodes.values(), view.own_ed25519, False)
            status, text = await post(net.nodes[1].url + "/onion_req/v2", b"")
            assert status == 503 and text.startswith(b"Snode not ready")
            net.nodes[1].views.view = static_view(
                view.nodes.values(), net.nodes[1].identity.ed25519_pubkey
            )

            # Decrypted but unreadable inside, or asking for a server: told so, encrypted.
            key_pair = crypto_box_keypair()
            target = net.nodes[1].hop
            key = client_key(AES_GCM, key_pair[1], key_pair[0], target.x25519)
            for inner, reason in [
                (b"garbage", "Invalid json"),
                (pack(b"", {"host": "example.org", "target": "/oxen/v4/lsrpc"}), "Invalid url"),
            ]:
                body = pack(seal(AES_GCM, key, inner), {"ephemeral_key": key_pair[0].hex()})
                status, raw = await post(net.nodes[1].url + "/onion_req/v2", body)
                reply = json.loads(unseal(AES_GCM, key, base64.b64decode(raw)))
                assert status == 200 and reply["status"] == 400 and reason in reply["body"]

            async with client_for(net, AES_GCM) as client:
                client.nodes = [n.info for n in net.nodes[:4]]
                answer = await client.retrieve(user)
            assert [base64.b64decode(m["data"]) for m in answer.body["messages"]] == [b"kept"]

    run(scenario())


def test_router__a_reply_flagged_json_and_raw_comes_back_as_asked(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            key_pair = crypto_box_keypair()
            target = net.nodes[1].hop
            key = client_key(XCHACHA20, key_pair[1], key_pair[0], target.x25519)
            inner = pack(
                b'{"method":"info","params":{}}', {"headers": "", "json": True, "base64": False}
            )
            body = pack(
                seal(XCHACHA20, key, inner),
                {"ephemeral_key": key_pair[0].hex(), "enc_type": XCHACHA20},
            )
            status, raw = await post(net.nodes[1].url + "/onion_req/v2", body)
            reply = json.loads(unseal(XCHACHA20, key, raw))
            assert status == 200 and reply["status"] == 200
            assert reply["body"]["version"] == [2, 11, 0]

    run(scenario())


def peer_body(method: str, params: dict) -> bytes:
    return json.dumps({"method": method, "params": params}, separators=(",", ":")).encode()


def test_peers__a_replicate_naming_its_method_by_anything_but_a_string_is_a_400(tmp_path):
    """A member's `replicate` whose inner method is a list (unhashable) or an object was
    a 500 from a TypeError (found by test_fuzz); it is refused as any malformed copy."""

    async def scenario():
        async with LocalNet(tmp_path, 2, swarm_of=lambda i: 0) as net:
            receiver, member = net.nodes
            now = int(net.clock() * 1000)
            to_receiver = receiver.identity.ed25519_pubkey
            for inner in ([], {}, ["store"], 7, None):
                body = peer_body("replicate", {"method": inner, "params": {}})
                headers = sign_request(member.identity, to_receiver, now, body)
                status, text = await post(receiver.url + "/peer/v1", body, headers)
                assert status == 400 and b"a method applied swarm-wide" in text, (inner, text)
            body = peer_body("replicate", {"method": "delete", "params": {}})
            headers = sign_request(member.identity, to_receiver, now, body)
            status, text = await post(receiver.url + "/peer/v1", body, headers)
            assert status == 200, text

    run(scenario())


def test_peers__requests_unsigned_stale_replayed_misaddressed_or_from_outsiders_are_refused(
    tmp_path,
):
    async def scenario():
        async with LocalNet(tmp_path, 4, swarm_of=lambda i: 0 if i < 3 else 1 << 63) as net:
            receiver, member, outsider = net.nodes[0], net.nodes[1], net.nodes[3]
            url = receiver.url + "/peer/v1"
            user = AccountKeys.generate()
            while not receiver.views.view.is_ours(user.x25519_pubkey):
                user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            copy = {
                "method": "store",
                "params": store_params(user.session_id, b"peer copy", now),
            }
            body = peer_body("replicate", copy)
            to_receiver = receiver.identity.ed25519_pubkey

            def headers(sender, at=now, to=to_receiver, content=body):
                return sign_request(sender.identity, to, at, content)

            cases = [
                ({}, 401, b"missing or malformed"),
                (headers(member, at=now - 61_000), 401, b"timestamp too far"),
                (headers(member, to=member.identity.ed25519_pubkey), 401, b"does not verify"),
                (headers(member, content=b"{}"), 401, b"does not verify"),
                (headers(outsider), 403, b"not a member of this node's swarm"),
            ]
            for sent_headers, status, reason in cases:
                got_status, text = await post(url, body, sent_headers)
                assert got_status == status and reason in text, (sent_headers, text)
            assert receiver.rpc.db.count() == 0

            good = headers(member)
            status, answer = await post(url, body, good)
            assert status == 200 and json.loads(answer)["status"] == 200
            assert await post(url, body, good) == (401, b"peer request: replayed")
            assert receiver.rpc.db.count() == 1

            sync = peer_body("sync", {"since": 0, "epoch": None})
            stranger = identity_for("stranger")
            signed_by_stranger = sign_request(stranger, to_receiver, now, sync)
            assert (await post(url, sync, signed_by_stranger))[0] == 403
            handoff = peer_body("handoff", {"messages": []})
            signed_by_stranger = sign_request(stranger, to_receiver, now, handoff)
            status, text = await post(url, handoff, signed_by_stranger)
            assert (status, text) == (403, b"handoff: not a registered node")
            assert receiver.rpc.db.count() == 1

    run(scenario())


@pytest.fixture(scope="module")
def fuzz_net(tmp_path_factory):
    """Three nodes for all fuzzing examples; node 1 holds a message."""
    net = NetInLoop(tmp_path_factory.mktemp("fuzz-router"), 3)
    user = AccountKeys.generate()
    now = int(net.net.clock() * 1000)
    rpc = net.net.nodes[1].rpc
    net.run(rpc.handle("store", store_params(user.session_id, b"kept", now)))
    net.kept = rpc.db.all_hashes()
    yield net
    net.close()


ENVELOPE_JSON = st.dictionaries(
    st.sampled_from(["ephemeral_key", "enc_type", "hop_no", "destination", "headers"]),
    st.one_of(
        st.none(),
        st.integers(-5, 40),
        st.text(max_size=70),
        st.sampled_from(["aes-gcm", "xchacha20", "00" * 32, "ab" * 32]),
    ),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.builds(pack, st.binary(max_size=200), ENVELOPE_JSON),
    )
)
def test_router__fuzzed_onion_bodies_get_an_error_status_and_lose_nothing(fuzz_net, body):
    response = fuzz_net.run(fuzz_net.net.nodes[0].router.process(body))
    assert response.status in {200, 400, 502, 503}, (response.status, response.text)
    assert fuzz_net.net.nodes[1].rpc.db.all_hashes() == fuzz_net.kept
