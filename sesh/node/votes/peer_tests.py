"""Peer tests: is a node of the network up and doing its job? One test of a node is

1. `GET /info`: it answers, as the node the registry knows (its Ed25519 key), synced;
2. a storage round trip through its public `POST /storage_rpc/v1`: `store` a fresh test
   message, which the node must confirm with its own signature of the message hash, then
   `retrieve` it. Test messages go to accounts of the tester's own (one per swarm, so the
   tested node holds them) in the namespace reserved for tests, `PEER_TEST_NAMESPACE`, and
   live a minute: user messages are never touched, and the store's ordinary copies to the
   swarm exercise replication too.

Which nodes are tested in a round is `rules.test_sample` (its swarm and a random set
drawn from the block hash) plus the nodes this node watches (failing, or asked about).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from sesh.node.network import NetworkView
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.storage_rpc import message_hash, namespace_text

log = logging.getLogger("sesh.node.votes.peer_tests")

# The lowest namespace, reserved for peer tests (it needs the account's signature to store).
PEER_TEST_NAMESPACE = -32768
TEST_TTL_MS = 60_000
TEST_DATA_PREFIX = b"sesh peer test "
# Tests of one round run at most this many at a time.
PARALLEL_TESTS = 16
# Accounts tried, per swarm, to find one the swarm holds.
ACCOUNT_ATTEMPTS_PER_SWARM = 64


@dataclass(frozen=True)
class TestResult:
    ok: bool
    reason: str | None
    ms: float


class TestAccounts:
    """This node's test accounts: one per swarm, found by drawing keys until one maps to
    it (about as many draws as there are swarms), kept while the swarm map stands."""

    def __init__(self) -> None:
        self._layout: tuple | None = None
        self._accounts: dict[int, AccountKeys] = {}

    def for_swarm(self, view: NetworkView, swarm_id: int) -> AccountKeys:
        layout = view.layout()
        if layout != self._layout:
            self._layout, self._accounts = layout, {}
        account = self._accounts.get(swarm_id)
        if account is None:
            for _ in range(ACCOUNT_ATTEMPTS_PER_SWARM * max(1, len(view.swarms))):
                candidate = AccountKeys.generate()
                found = view.swarm_for(candidate.x25519_pubkey)
                if found is not None and found not in self._accounts:
                    self._accounts[found] = candidate
                if found == swarm_id:
                    break
            account = self._accounts.get(swarm_id)
            if account is None:
                raise RuntimeError(f"no test account maps to swarm {swarm_id}")
        return account


class PeerTester:
    """Runs the tests of one node against its peers."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ):
        self.session = session
        self.timeout = timeout
        self.clock = clock
        self.accounts = TestAccounts()
        # The hash of the last test message stored on each node (its `last_hash`).
        self._last_hash: dict[bytes, str] = {}

    async def test_many(
        self, view: NetworkView, nodes: list[NodeInfo]
    ) -> list[tuple[NodeInfo, TestResult]]:
        limit = asyncio.Semaphore(PARALLEL_TESTS)

        async def one(node: NodeInfo) -> tuple[NodeInfo, TestResult]:
            async with limit:
                return node, await self.test(view, node)

        return await asyncio.gather(*(one(n) for n in nodes))

    async def test(self, view: NetworkView, node: NodeInfo) -> TestResult:
        started = time.monotonic()
        try:
            reason = await self._info(node) or await self._round_trip(view, node)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            reason = f"unreachable ({type(exc).__name__})"
        except ValueError as exc:  # not JSON, or not shaped as the API answers
            reason = f"malformed answer ({exc})"
        return TestResult(reason is None, reason, (time.monotonic() - started) * 1000)

    async def _get(self, url: str) -> tuple[int, Any]:
        async with self.session().get(
            url, timeout=aiohttp.ClientTimeout(total=self.timeout)
        ) as response:
            return response.status, _json_or_text(await response.read())

    async def _rpc(self, node: NodeInfo, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        async with self.session().post(
            node.url + "/storage_rpc/v1",
            json={"method": method, "params": params},
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        ) as response:
            return response.status, _json_or_text(await response.read())

    async def _info(self, node: NodeInfo) -> str | None:
        status, body = await self._get(node.url + "/info")
        # The status first: an error page is rarely JSON, and its status is the reason.
        if status != 200:
            return f"info: HTTP {status}"
        if not isinstance(body, dict):
            return "info: the answer is not a JSON object"
        if body.get("ed25519_pubkey") != node.ed25519.hex():
            return "info: answers as another node"
        if not body.get("synced"):
            return "info: not synced"
        return None

    async def _round_trip(self, view: NetworkView, node: NodeInfo) -> str | None:
        if node.swarm_id is None:
            return "not in a swarm"
        account = self.accounts.for_swarm(view, node.swarm_id)
        data = TEST_DATA_PREFIX + secrets.token_bytes(16)
        now = int(self.clock() * 1000)
        ns = namespace_text(PEER_TEST_NAMESPACE)
        status, body = await self._rpc(
            node,
            "store",
            {
                "pubkey": account.session_id,
                "timestamp": now,
                "ttl": TEST_TTL_MS,
                "data": base64.b64encode(data).decode(),
                "namespace": PEER_TEST_NAMESPACE,
                "sig_timestamp": now,
                "pubkey_ed25519": account.ed25519_pubkey.hex(),
                "signature": account.sign(b"store" + ns.encode() + str(now).encode()),
            },
        )
        if status != 200 or not isinstance(body, dict):
            return f"store: HTTP {status} {body if isinstance(body, str) else ''}".rstrip()
        expected = message_hash(bytes.fromhex(account.session_id), PEER_TEST_NAMESPACE, data)
        own = (body.get("swarm") or {}).get(node.ed25519.hex())
        if not isinstance(own, dict) or own.get("hash") != expected:
            return "store: not confirmed by the node"
        try:
            signature = base64.b64decode(own.get("signature", ""), validate=True)
            VerifyKey(node.ed25519).verify(expected.encode(), signature)
        except (BadSignatureError, ValueError, TypeError):
            return "store: the node's signature of the hash does not verify"
        params: dict[str, Any] = {
            "pubkey": account.session_id,
            "pubkey_ed25519": account.ed25519_pubkey.hex(),
            "namespace": PEER_TEST_NAMESPACE,
            "timestamp": now,
            "signature": account.sign(b"retrieve" + ns.encode() + str(now).encode()),
        }
        last = self._last_hash.get(node.ed25519)
        if last:
            params["last_hash"] = last
        status, body = await self._rpc(node, "retrieve", params)
        if status != 200 or not isinstance(body, dict):
            return f"retrieve: HTTP {status}"
        for message in body.get("messages", []):
            if message.get("hash") == expected:
                if base64.b64decode(message.get("data", "")) != data:
                    return "retrieve: the test message came back altered"
                self._last_hash[node.ed25519] = expected
                return None
        return "retrieve: the test message is missing"


def _json_or_text(raw: bytes) -> Any:
    """The parsed JSON of an answer, or the start of its text when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:120]
