"""Every endpoint of a node fuzzed over real HTTP on loopback (issue #17): three nodes in
one process (storage, onion router, the guard's timeouts and limits, the registry API and
the BLS signer on each), hypothesis requests to node 0 — `/storage_rpc/v1`,
`/onion_req/v2` (raw, enveloped, and valid onions carrying fuzzed requests), `/peer/v1`
(signed by a swarm member, and not), `/bls/sign`, and the read-only API. After every
example: no 5xx, the node still answers, and every stored message is as it was; at the
end, nothing was logged as an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sesh.devnet.chain import DEVNET_CHAIN_ID, free_port
from sesh.node.api import RegistryApi
from sesh.node.chain.rpc import RpcPool
from sesh.node.config import HttpConfig, VotesConfig
from sesh.node.metrics import Metrics
from sesh.node.storage.peers import sign_request
from sesh.node.votes.chain_tx import ChainClock, StakingChain
from sesh.node.votes.db import VotesDB
from sesh.node.votes.service import VotesService
from sesh.protocol import bencode
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.onion import AES_GCM, XCHACHA20, build_onion, pack
from tests.node.localnet import LocalNet
from tests.node.storage.test_storage import store_params
from tests.node.votes.helpers import STAKING, RegistryBuilder, node_keys_for, synced_tracker

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

FIELD_NAMES = [
    "pubkey", "pubKey", "timestamp", "ttl", "expiry", "data", "namespace", "signature",
    "pubkey_ed25519", "sig_timestamp", "last_hash", "max_count", "max_size", "messages",
    "required", "shorten", "extend", "since", "epoch", "method", "params",
    "before", "subaccount", "subaccount_sig", "revoke", "unrevoke", "requests", "if", "then",
    "else", "reverse_direction", "hf_at_least", "height_before",
]  # fmt: skip
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.floats(allow_nan=False),
    st.text(max_size=90),
    st.sampled_from(
        ["05" + "ab" * 32, "05 " + "ab" * 31 + " ", "A" * 43, "A" * 86, "AAAA", "00" * 32]
    ),
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
PARAMS = st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=8)
METHODS = st.sampled_from(
    ["store", "retrieve", "delete", "expire", "get_swarm", "info", "sync", "handoff",
     "replicate", "nothing", "", "delete_all", "delete_before", "expire_all", "get_expiries",
     "revoke_subaccount", "unrevoke_subaccount", "revoked_subaccounts", "batch", "sequence",
     "ifelse"]
)  # fmt: skip
# What bencode can carry: byte strings, integers, lists and dicts.
BT_VALUES = st.recursive(
    st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.binary(max_size=70)
    | st.sampled_from([b"all", b"05" + b"ab" * 32, b"A" * 43]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from([f.encode() for f in FIELD_NAMES]), inner, max_size=4)
    ),
    max_leaves=12,
)
RPC_BODIES = st.one_of(
    st.builds(lambda m, p: json.dumps({"method": m, "params": p}).encode(), METHODS, PARAMS),
    st.builds(lambda v: json.dumps(v).encode(), JSON_VALUES),
    st.binary(max_size=400),
    st.sampled_from([b"[" * 5000, b'{"method":"info","params":' + b"{" * 3000, b""]),
    st.builds(
        lambda m, p: bencode.encode({"method": m, "params": p}),
        METHODS,
        st.dictionaries(st.sampled_from([f.encode() for f in FIELD_NAMES]), BT_VALUES, max_size=8),
    ),
)
ENVELOPE_JSON = st.dictionaries(
    st.sampled_from(["ephemeral_key", "enc_type", "hop_no", "destination", "headers"]),
    st.one_of(LEAVES, st.sampled_from([AES_GCM, XCHACHA20, "ab" * 32])),
)
# At least 100 examples per endpoint (more under the audit profile): about 15 s in all.
FUZZ = settings(
    max_examples=max(100, settings().max_examples),
    suppress_health_check=list(HealthCheck),
    deadline=None,
)


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class FuzzedNode:
    """Three nodes in a private loop; node 0 is the one fuzzed."""

    def __init__(self, tmp_path):
        self.loop = asyncio.new_event_loop()
        self.tmp_path = tmp_path
        self.errors = ErrorLog()
        logging.getLogger().addHandler(self.errors)
        limits = HttpConfig(rate_burst=100_000, header_timeout=5, body_timeout=5)
        self.net = LocalNet(tmp_path, 3, http=limits, extra_routes=self.more_routes)
        self.extras: list = []
        self.run(self.net.start())
        self.session = self.run(self._session())
        user = AccountKeys.generate()
        now = int(self.net.clock() * 1000)
        rpc = self.net.nodes[0].rpc
        for data in (b"first", b"second"):
            assert self.run(rpc.handle("store", store_params(user.session_id, data, now))).status
        self.kept = self.held()
        assert all(len(h) == 2 for h in self.kept)

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def more_routes(self, node, app) -> None:
        """The registry API and the BLS signer, over a registry of the three nodes and a
        chain RPC that does not answer (so the signer refuses what it cannot check)."""
        index = len(self.extras)
        build = RegistryBuilder()
        for node_id in (1, 2, 3):
            build.add(node_id, node_keys_for(node_id), f"127.0.0.1:{20000 + node_id}")
        tracker = synced_tracker(
            self.tmp_path / f"api-{index}", "http://127.0.0.1:9", build.registry
        )
        pool = RpcPool([f"http://127.0.0.1:{free_port()}"], DEVNET_CHAIN_ID, Metrics(), timeout=1)
        votes = VotesService(
            VotesConfig(),
            node.identity,
            tracker,
            node.views,
            VotesDB(self.tmp_path / f"votes-{index}.sqlite3"),
            StakingChain(pool, STAKING, DEVNET_CHAIN_ID),
            ChainClock(pool),
            None,
            Metrics(),
        )
        RegistryApi(tracker, Metrics(), DEVNET_CHAIN_ID, node.identity.ed25519_pubkey).setup_routes(
            app
        )
        votes.setup_routes(app)
        self.extras.append((tracker, votes))

    def run(self, awaitable):
        return self.loop.run_until_complete(awaitable)

    def held(self) -> list[set[str]]:
        return [n.rpc.db.all_hashes() for n in self.net.nodes]

    @property
    def url(self) -> str:
        return self.net.nodes[0].url

    async def _request(
        self, method: str, path: str, body: bytes, headers: dict
    ) -> tuple[int, bytes]:
        async with self.session.request(
            method, self.url + path, data=body, headers=headers
        ) as response:
            return response.status, await response.read()

    def send(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> int:
        status, answer = self.run(self._request(method, path, body, headers or {}))
        if path == "/bls/sign" and status == 503:
            # This node has no BLS key: a well-formed request is told so (the signer's
            # documented 503), everything else is refused before that.
            assert b"this node has no BLS key" in answer, answer
        else:
            assert status < 500, (method, path, body[:200], status, answer[:200])
        info = b'{"method":"info","params":{}}'
        assert self.run(self._request("POST", "/storage_rpc/v1", info, {}))[0] == 200
        assert self.held() == self.kept
        return status

    def close(self) -> None:
        self.run(self.session.close())
        self.run(self.net.close())
        for tracker, votes in self.extras:
            votes.close()
            tracker.close()
            tracker.store.close()
        self.loop.close()
        logging.getLogger().removeHandler(self.errors)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    fuzzed = FuzzedNode(tmp_path_factory.mktemp("fuzz"))
    yield fuzzed
    fuzzed.close()


@FUZZ
@given(body=RPC_BODIES)
def test_fuzz__storage_rpc(node, body):
    node.send("POST", "/storage_rpc/v1", body)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.builds(pack, st.binary(max_size=200), ENVELOPE_JSON),
    )
)
def test_fuzz__onion_envelopes(node, body):
    node.send("POST", "/onion_req/v2", body)


@FUZZ
@given(payload=RPC_BODIES, hops=st.integers(1, 2), enc_type=st.sampled_from([AES_GCM, XCHACHA20]))
def test_fuzz__onion_requests_carrying_fuzzed_requests(node, payload, hops, enc_type):
    """Through node 0 (and node 1 with two hops) to the target, which serves whatever the
    layers carry: the answer is always a 200 with the inner status encrypted."""
    nodes = node.net.nodes
    relays = [n.hop for n in nodes[:hops]]
    built = build_onion(relays, nodes[hops].hop, payload, enc_type)
    assert node.send("POST", "/onion_req/v2", built.body) == 200


@FUZZ
@given(
    body=RPC_BODIES,
    signed=st.booleans(),
    headers=st.dictionaries(
        st.sampled_from(["X-Sesh-Node", "X-Sesh-Timestamp", "X-Sesh-Signature"]),
        st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=90),
    ),
)
def test_fuzz__peer_requests(node, body, signed, headers):
    if signed:
        member = node.net.nodes[1]
        now = int(node.net.clock() * 1000)
        headers = sign_request(
            member.identity, node.net.nodes[0].identity.ed25519_pubkey, now, body
        )
    node.send("POST", "/peer/v1", body, headers)


@FUZZ
@given(
    body=st.one_of(
        st.builds(lambda v: json.dumps(v).encode(), JSON_VALUES),
        st.builds(
            lambda a, n, t: json.dumps({"action": a, "node_id": n, "timestamp": t}).encode(),
            st.sampled_from(["remove", "liquidate", "exit", "slash"]) | LEAVES,
            st.integers(-5, 10) | LEAVES,
            st.integers(0, 1 << 65) | LEAVES,
        ),
        st.binary(max_size=300),
    )
)
def test_fuzz__bls_sign(node, body):
    node.send("POST", "/bls/sign", body)


SEGMENTS = st.text(max_size=80).map(lambda t: urllib.parse.quote(t, safe=""))


@FUZZ
@given(
    path=st.one_of(
        st.builds("/swarm/{}".format, SEGMENTS),
        st.builds("/pro/{}".format, SEGMENTS),
        st.builds("/swarm/05{}".format, st.text("0123456789abcdef ", max_size=66)).map(
            lambda p: urllib.parse.quote(p)
        ),
        st.sampled_from(["/info", "/nodes", "/swarms", "/metrics", "/votes"]),
    ),
    query=SEGMENTS,
)
def test_fuzz__read_only_api(node, path, query):
    node.send("GET", f"{path}?{query}")


def test_fuzz__nothing_was_logged_as_an_error(node):
    """Runs after the fuzzing tests of this module (file order)."""
    assert [r.getMessage() for r in node.errors.records] == []
