"""What Session clients ask oxend for, answered by the bridge (sesh/node/oxend.py): the
service-node list in oxend's format, name lookups encrypted as clients decrypt them, the
JSON-RPC 2.0 envelope of `POST /json_rpc`, and `oxend_request` through an onion path."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sesh.client.onion_client import OnionClient
from sesh.client.ons import ons_resolve
from sesh.crypto.key_files import x25519_from_ed25519
from sesh.devnet.chain import free_port
from sesh.node.chain.registry import Registry
from sesh.node.compat import version_parts
from sesh.node.oxend import (
    NAME_REGISTERED,
    ChainNames,
    OxendApi,
    OxendError,
    StaticNames,
    get_service_nodes,
    requested_fields,
)
from sesh.protocol.ons import (
    OnsError,
    decrypt_session_id,
    encrypt_session_id,
    name_hash,
    name_hash_text,
    parse_name_hash,
)
from tests.node.driver import NodeKeys
from tests.node.helpers import OPERATOR, block_hash, event, full_node, registered
from tests.node.localnet import LocalNet

VERSION = version_parts()
ALICE_ID = bytes.fromhex("05" + hashlib.sha256(b"alice's x25519 key").hexdigest())


def run(coro):
    return asyncio.run(coro)


def registry_with_nodes() -> Registry:
    """Nodes 1-3 active, node 4 open (stake not filled), node 5 exited, node 6 excluded."""
    registry = Registry()
    events = []
    for node_id in (1, 2, 3):
        events += full_node(node_id, 1, endpoint=f"10.0.0.{node_id}:2202{node_id}")
    registry.apply_block(1, block_hash(1), events)
    registry.apply_block(2, block_hash(2), [registered(4, 2, endpoint="[2001:db8::4]:443")])
    registry.apply_block(3, block_hash(3), full_node(5, 3))
    registry.apply_block(4, block_hash(4), [event("NodeExited", 4, node_id=5, reason=0)])
    registry.apply_block(5, block_hash(5), full_node(6, 5, bad_signature=True))
    return registry


REGISTRY = registry_with_nodes()


def answer(registry: Registry, **params):
    return get_service_nodes(registry, params, 5, block_hash(5), VERSION, shuffle=lambda x: None)


# ----- get_service_nodes (pure)


def test_get_service_nodes__records_in_oxends_format_from_the_registry():
    registry = registry_with_nodes()
    result = answer(registry)
    assert result["status"] == "OK"
    assert result["height"] == 6 and result["block_hash"] == block_hash(5).hex()
    states = result["service_node_states"]
    # Exited and excluded nodes are not listed; the open one is (funding), not active.
    keys = [NodeKeys.derive(f"node-{i}").ed25519_pubkey.hex() for i in (1, 2, 3, 4)]
    assert [s["pubkey_ed25519"] for s in states] == keys
    swarm_of = registry.node_swarm()
    for node_id, record in zip((1, 2, 3), states, strict=False):
        ed25519 = NodeKeys.derive(f"node-{node_id}").ed25519_pubkey
        assert record["service_node_pubkey"] == ed25519.hex()
        assert record["pubkey_x25519"] == x25519_from_ed25519(ed25519).hex()
        assert record["public_ip"] == f"10.0.0.{node_id}"
        assert record["storage_port"] == int(f"2202{node_id}")
        assert record["storage_lmq_port"] == 0
        assert record["storage_server_version"] == VERSION
        assert record["swarm_id"] == swarm_of[node_id]
        assert record["swarm"] == f"{swarm_of[node_id]:016x}"
        assert record["active"] is True and record["funded"] is True
        assert record["operator_address"] == OPERATOR
        assert record["contributors"] == [{"address": OPERATOR, "amount": 100}]
    open_node = states[3]
    assert open_node["active"] is False and open_node["funded"] is False
    assert (open_node["public_ip"], open_node["storage_port"]) == ("2001:db8::4", 443)
    assert open_node["swarm_id"] == (1 << 64) - 1, "no swarm: oxend's invalid swarm id"
    json.dumps(result)  # every value is JSON


def test_get_service_nodes__fields_active_only_limit_and_keys_select_what_is_sent():
    registry = registry_with_nodes()
    wanted = ["public_ip", "storage_port", "pubkey_ed25519", "swarm_id", "storage_lmq_port"]
    as_dict = answer(registry, fields={name: True for name in wanted} | {"quorumnet_port": False})
    as_list = answer(registry, fields=wanted)
    for result in (as_dict, as_list):
        assert all(set(s) == set(wanted) for s in result["service_node_states"])
    active = answer(registry, active_only=True)["service_node_states"]
    assert len(active) == 3 and all(s["active"] for s in active)
    limited = get_service_nodes(registry, {"limit": 2}, 5, block_hash(5), VERSION)
    assert len(limited["service_node_states"]) == 2
    key = NodeKeys.derive("node-2").ed25519_pubkey.hex()
    only = answer(registry, service_node_pubkeys=[key.upper()])["service_node_states"]
    assert [s["pubkey_ed25519"] for s in only] == [key]
    # Fields we do not keep are ignored, as oxend ignores fields it does not know.
    assert answer(registry, fields={"lokinet_version": True})["service_node_states"][0] == {}


def test_get_service_nodes__poll_block_hash__unchanged_only_at_the_same_block():
    registry = registry_with_nodes()
    same = answer(registry, poll_block_hash=block_hash(5).hex())
    assert same["unchanged"] is True and "service_node_states" not in same
    moved = answer(registry, poll_block_hash=block_hash(4).hex())
    assert "unchanged" not in moved and len(moved["service_node_states"]) == 4


@pytest.mark.parametrize(
    "params, says",
    [
        ({"fields": "public_ip"}, "fields must be"),
        ({"fields": {"public_ip": 1}}, "fields.public_ip"),
        ({"fields": ["public_ip", 7]}, "list of field names"),
        ({"limit": -1}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"active_only": "yes"}, "active_only"),
        ({"service_node_pubkeys": "ab"}, "service_node_pubkeys"),
        ({"poll_block_hash": 5}, "poll_block_hash"),
    ],
)
def test_get_service_nodes__malformed_params__are_refused_with_the_reason(params, says):
    with pytest.raises(OxendError, match=says):
        answer(registry_with_nodes(), **params)


def test_requested_fields__all_means_every_field():
    assert requested_fields({"all": True}) is None
    assert requested_fields(["all"]) is None
    assert requested_fields(None) is None


# ----- ONS encryption (pure)


def test_ons__decrypts_records_from_oxens_public_chain():
    # Two ONS records as the Oxen chain held them (public data), one per form: the
    # client side reads what real oxend nodes served.
    modern = bytes.fromhex(
        "71772d0deba03d42d84f5e7fe3e619eab6adf1809a03be32e9a546378647346069180213b360bd19e4"
        "931985770ba51c54bfa1d8c53a92357c0c170af90a743dc2b4960eff150ea407"
    )
    assert (
        decrypt_session_id("hloth", modern[:-24], modern[-24:]).hex()
        == "057aeb66e45660c3bdfb7c62706f6440226af43ec13f3b6f899c1dd4db1b8fce5b"
    )
    legacy = bytes.fromhex(
        "be3445a80763dd0e63a4d8a524c8f3a1bbedf8921947b2987b7e7173e7d920c649d6d7c2391967"
        "598c65d3f2e81b760787"
    )
    assert (
        decrypt_session_id("sissi", legacy, None).hex()
        == "05bf7d78abf034661c691523b009ea2a281ee9c2093009808e098399e49fa1c54f"
    )


def test_ons__what_a_node_encrypts__decrypts_with_the_name_only():
    sealed, nonce = encrypt_session_id("alice", ALICE_ID)
    assert decrypt_session_id("Alice", sealed, nonce) == ALICE_ID
    assert encrypt_session_id("alice", ALICE_ID) == (sealed, nonce), "same answer everywhere"
    with pytest.raises(OnsError, match="does not decrypt"):
        decrypt_session_id("alicf", sealed, nonce)
    with pytest.raises(OnsError, match="does not decrypt"):
        decrypt_session_id("alice", bytes([sealed[0] ^ 1]) + sealed[1:], nonce)
    with pytest.raises(OnsError):
        encrypt_session_id("alice", ALICE_ID[:32])


def test_ons__name_hash__is_blake2b_of_the_lowercase_name_in_base64_or_hex():
    expected = hashlib.blake2b(b"alice", digest_size=32).digest()
    assert name_hash("ALICE") == expected
    assert parse_name_hash(name_hash_text("alice")) == expected
    assert parse_name_hash(expected.hex()) == expected
    assert parse_name_hash(name_hash_text("alice").rstrip("=")) == expected
    for bad in (None, 5, "", "zz" * 32, base64.b64encode(b"x" * 31).decode(), "alice"):
        with pytest.raises(OnsError):
            parse_name_hash(bad)


# ----- POST /json_rpc


@dataclass
class Checkpoint:
    number: int
    hash: bytes


class FakeTracker:
    """What OxendApi reads of a chain tracker: its registry, lock and checkpoint."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.lock = asyncio.Lock()
        self.checkpoint = Checkpoint(5, block_hash(5))


async def serve(api: OxendApi) -> tuple[web.AppRunner, str]:
    app = web.Application()
    api.setup_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/json_rpc"


def test_json_rpc__serves_get_service_nodes_and_ons_resolve_in_oxends_envelope():
    async def go():
        api = OxendApi(
            FakeTracker(registry_with_nodes()), StaticNames({"alice": ALICE_ID}), VERSION
        )
        runner, url = await serve(api)
        try:
            async with aiohttp.ClientSession() as http:

                async def post(payload):
                    async with http.post(url, data=payload) as r:
                        assert r.status == 200
                        return await r.json()

                nodes = await post(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": "0",
                            "method": "get_n_service_nodes",
                            "params": {"active_only": True, "fields": {"public_ip": True}},
                        }
                    )
                )
                assert nodes["jsonrpc"] == "2.0" and nodes["id"] == "0"
                ips = [s["public_ip"] for s in nodes["result"]["service_node_states"]]
                assert ips == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
                found = await post(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": 7,
                            "method": "ons_resolve",
                            "params": {"type": 0, "name_hash": name_hash_text("alice")},
                        }
                    )
                )
                result = found["result"]
                value = decrypt_session_id(
                    "alice",
                    bytes.fromhex(result["encrypted_value"]),
                    bytes.fromhex(result["nonce"]),
                )
                assert value == ALICE_ID
                missing = await post(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": 8,
                            "method": "ons_resolve",
                            "params": {"type": 0, "name_hash": name_hash_text("bob")},
                        }
                    )
                )
                assert missing["result"] == {}
                errors = [
                    await post(b"{not json"),
                    await post(json.dumps([1, 2])),
                    await post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "get_info"})),
                    await post(
                        json.dumps(
                            {
                                "jsonrpc": "2.0",
                                "id": 2,
                                "method": "ons_resolve",
                                "params": {"type": 0, "name_hash": "short"},
                            }
                        )
                    ),
                    await post(
                        json.dumps(
                            {
                                "jsonrpc": "2.0",
                                "id": 3,
                                "method": "get_service_nodes",
                                "params": {"fields": 3},
                            }
                        )
                    ),
                ]
                codes = [e["error"]["code"] for e in errors]
                assert codes == [-32700, -32600, -32601, -32602, -32602]
                assert all("result" not in e for e in errors)
                async with http.post(url, data=b"x" * (65 << 10)) as r:
                    assert r.status == 413
        finally:
            await runner.cleanup()

    run(go())


# ----- oxend_request as a storage RPC method, through onion paths


def test_oxend_request__through_an_onion_path__resolves_names_and_lists_nodes(tmp_path):
    async def go():
        async with LocalNet(tmp_path, 4) as net:
            api = OxendApi(
                FakeTracker(registry_with_nodes()), StaticNames({"alice": ALICE_ID}), VERSION
            )
            for node in net.nodes:
                node.rpc.oxend = api
            async with OnionClient(["http://unused"]) as client:
                client.nodes = [n.info for n in net.nodes]
                assert await ons_resolve(client, "Alice") == ALICE_ID.hex()
                assert len(client.last_path) == 4, "three relays, then the target"
                assert await ons_resolve(client, "nobody") is None
                path, target = [n.info for n in net.nodes[:3]], net.nodes[3].info
                listed = await client.send(
                    path,
                    target,
                    "oxend_request",
                    {"endpoint": "get_service_nodes", "params": {"active_only": True}},
                )
                assert listed.status == 200 and isinstance(listed.body["t"], int)
                assert len(listed.body["result"]["service_node_states"]) == 3
                refused = [
                    await client.send(path, target, "oxend_request", params)
                    for params in (
                        {"endpoint": "get_info"},
                        {},
                        {"endpoint": "get_service_nodes", "params": {"limit": -3}},
                        {"endpoint": "ons_resolve", "params": {"name_hash": 5}},
                        {"endpoint": "get_service_nodes", "params": [1]},
                        {"endpoint": "get_service_nodes", "params": "{not json"},
                    )
                ]
                assert [r.status for r in refused] == [400] * 6
                assert "valid json" in refused[5].body
                as_text = await client.send(
                    path,
                    target,
                    "oxend_request",
                    {"endpoint": "get_service_nodes", "params": '{"limit": 1}'},
                )
                assert len(as_text.body["result"]["service_node_states"]) == 1
                assert "Invalid oxend endpoint 'get_info'" in refused[0].body
                assert "endpoint" in refused[1].body
                assert "limit" in refused[2].body
                assert "name_hash" in refused[3].body

    run(go())


def test_oxend_request__on_a_node_without_the_api__is_503(tmp_path):
    async def go():
        async with LocalNet(tmp_path, 1) as net:
            response = await net.nodes[0].rpc.handle(
                "oxend_request", {"endpoint": "get_service_nodes"}
            )
            assert response.status == 503

    run(go())


# ----- ChainNames over a scripted chain RPC


class ScriptedChain:
    """The RPC calls ChainNames makes, answered from names registered at given blocks and
    the contract's `resolve` answers (empty: expired or no Session ID)."""

    def __init__(self):
        self.head = 10
        self.registered: list[tuple[int, str]] = []
        self.resolves: dict[str, bytes] = {}
        self.calls: list[str] = []

    async def call(self, method, params, parse):
        self.calls.append(method)
        if method == "eth_blockNumber":
            return parse(hex(self.head))
        if method == "eth_getLogs":
            first, last = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
            assert params[0]["topics"] == [["0x" + NAME_REGISTERED.hex()]]
            return parse(
                [
                    {"data": "0x" + abi_encode(["string", "uint256", "uint256"], [n, 1, 2]).hex()}
                    for block, n in self.registered
                    if first <= block <= last
                ]
                + [{"data": "0x1234"}]  # not a NameRegistered payload: skipped
            )
        if method == "eth_call":
            (name,) = abi_decode(["string"], bytes.fromhex(params[0]["data"][10:]))
            value = self.resolves.get(name, b"")
            return parse("0x" + abi_encode(["bytes"], [value]).hex())
        raise AssertionError(method)


def test_chain_names__index_by_hash_then_the_contracts_resolve():
    async def go():
        chain = ScriptedChain()
        chain.registered = [(3, "alice"), (9, "bob")]
        chain.resolves = {"alice": ALICE_ID}
        now = [100.0]
        names = ChainNames(chain, "0x" + "ab" * 20, 1, 4, clock=lambda: now[0])
        assert await names.lookup(name_hash("alice")) == ("alice", ALICE_ID)
        assert chain.calls.count("eth_getLogs") == 3, "blocks 1-10 in ranges of 4"
        assert await names.lookup(name_hash("bob")) is None, "registered, no Session ID"
        # Made-up names within the rescan interval cost no RPC call.
        before = len(chain.calls)
        for i in range(20):
            assert await names.lookup(name_hash(f"made-up-{i}")) is None
        assert len(chain.calls) == before
        # A name registered later is found at the next scan, which reads only new blocks.
        chain.head = 12
        chain.registered.append((12, "carol"))
        chain.resolves["carol"] = ALICE_ID
        assert await names.lookup(name_hash("carol")) is None
        now[0] += 1.5
        assert await names.lookup(name_hash("carol")) == ("carol", ALICE_ID)
        assert chain.calls[before:].count("eth_getLogs") == 1

    run(go())


# ----- hostile params: a refusal with a reason, never anything else

OXEND_FIELDS = [
    "active_only", "limit", "fields", "service_node_pubkeys", "poll_block_hash", "type",
    "name_hash", "all", "public_ip",
]  # fmt: skip
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=70),
    st.sampled_from([name_hash_text("alice"), name_hash("alice").hex(), block_hash(5).hex()]),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(OXEND_FIELDS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    endpoint=st.sampled_from(["get_service_nodes", "ons_resolve"]),
    params=st.one_of(
        JSON_VALUES, st.dictionaries(st.sampled_from(OXEND_FIELDS), JSON_VALUES, max_size=6)
    ),
)
def test_oxend_api__any_params__answer_or_refusal_with_a_reason(endpoint, params):
    api = OxendApi(FakeTracker(REGISTRY), StaticNames({"alice": ALICE_ID}), VERSION)

    async def go():
        try:
            result = await api.call(endpoint, params)
        except OxendError as exc:
            assert str(exc)
            return
        assert isinstance(result, dict)
        json.dumps(result)
        if endpoint == "get_service_nodes" and "unchanged" not in result:
            assert len(result["service_node_states"]) <= 4

    run(go())
