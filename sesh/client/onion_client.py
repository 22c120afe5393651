"""A small client of the Session network on our nodes: learns the serving nodes from any
node's registry API, sends storage requests as 3-hop onion requests (Session's v2 format),
follows 421 swarm corrections and retries around failed paths. Used by `sesh msg`, the
tests and the devnet story.

    async with OnionClient(["http://127.0.0.1:22021"]) as client:
        await client.store(recipient_session_id, b"hello", ttl_ms=86_400_000)
        answer = await client.retrieve(account_keys)

Paths: three distinct nodes, in distinct /24 subnets where the network allows (IPv4
endpoints; a host name is its own subnet), never the target itself. The target is a random
member of the account's swarm.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from sesh.crypto.key_files import x25519_from_ed25519
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.onion import XCHACHA20, BuiltOnion, Hop, OnionError, build_onion, open_reply
from sesh.protocol.storage_rpc import namespace_text
from sesh.protocol.swarm import SwarmLookup, parse_session_id

PATH_LENGTH = 3


class ClientError(Exception):
    """The request could not be completed; the message says why."""


class PathError(ClientError):
    """A node on the path (not the target) refused or failed the request."""

    def __init__(self, status: int, text: str, guard: NodeInfo):
        super().__init__(f"onion path failed with {status}: {text[:200]}")
        self.status = status
        self.text = text
        self.guard = guard

    def failed_node(self) -> bytes | None:
        """The node the error names (a next hop not found or unreachable), if any."""
        for prefix in ("Next node not found: ", "Next node unreachable: "):
            if self.text.startswith(prefix):
                with contextlib.suppress(ValueError):
                    return bytes.fromhex(self.text[len(prefix) :].strip())
        return None


def subnet(host: str) -> str:
    """The /24 of an IPv4 address; any other host is its own subnet."""
    with contextlib.suppress(ValueError):
        address = ipaddress.ip_address(host)
        if address.version == 4:
            return str(ipaddress.ip_network(f"{host}/24", strict=False))
    return host


def pick_path(
    nodes: Sequence[NodeInfo],
    exclude: Iterable[bytes] = (),
    rng: random.Random | None = None,
    length: int = PATH_LENGTH,
) -> list[NodeInfo]:
    """`length` distinct nodes, none excluded, in distinct subnets as far as possible."""
    rng = rng or random.SystemRandom()
    excluded = set(exclude)
    candidates = [n for n in nodes if n.ed25519 not in excluded]
    if len(candidates) < length:
        raise ClientError(
            f"need {length} nodes for a path, only {len(candidates)} usable of {len(nodes)}"
        )
    rng.shuffle(candidates)
    path: list[NodeInfo] = []
    used: set[str] = set()
    for node in candidates:
        if subnet(node.host) not in used:
            path.append(node)
            used.add(subnet(node.host))
            if len(path) == length:
                return path
    for node in candidates:
        if node not in path:
            path.append(node)
            if len(path) == length:
                break
    return path


def node_from_registry(entry: dict[str, Any]) -> NodeInfo | None:
    """A serving node from a `GET /nodes` entry (None if it does not serve)."""
    if not entry.get("serving") or entry.get("swarm_id") is None:
        return None
    try:
        ed25519 = bytes.fromhex(entry["ed25519_pubkey"])
        x25519 = x25519_from_ed25519(ed25519)
    except (KeyError, ValueError):
        return None
    return NodeInfo(
        int(entry["node_id"]), ed25519, x25519, str(entry["endpoint"]), int(entry["swarm_id"])
    )


def node_from_swarm_json(entry: dict[str, Any]) -> NodeInfo | None:
    """A node from a `get_swarm` / 421 answer."""
    try:
        ed25519 = bytes.fromhex(entry["pubkey_ed25519"])
        x25519 = bytes.fromhex(entry["pubkey_x25519"])
        endpoint = f"{entry['ip']}:{int(entry.get('port_https', entry.get('port')))}"
    except (KeyError, ValueError, TypeError):
        return None
    return NodeInfo(int(entry.get("node_id", 0)), ed25519, x25519, endpoint, None)


@dataclass
class OnionAnswer:
    """The target's answer: its status and body (JSON decoded when it is JSON)."""

    status: int
    body: Any
    target: NodeInfo


class OnionClient:
    """Onion-routed storage requests to the nodes of the network."""

    def __init__(
        self,
        bootstrap: Sequence[str],
        enc_type: str = XCHACHA20,
        timeout: float = 30.0,
        attempts: int = 6,
        rng: random.Random | None = None,
    ):
        if not bootstrap:
            raise ClientError("give at least one node URL to learn the network from")
        self.bootstrap = [u.rstrip("/") for u in bootstrap]
        self.enc_type = enc_type
        self.timeout = timeout
        self.attempts = attempts
        self.rng = rng or random.SystemRandom()
        self.nodes: list[NodeInfo] = []
        self.swarms: dict[bytes, list[NodeInfo]] = {}
        # Node clock minus ours, learnt from the `t` of answers (signatures use node time).
        self.clock_offset_ms = 0
        # The path of the last request that reached its target (relays, then the target).
        self.last_path: list[NodeInfo] = []
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> OnionClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise ClientError("the client is not open (use `async with`)")
        return self._session

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    # ----- the network

    async def refresh(self) -> list[NodeInfo]:
        """Learn the serving nodes from the first bootstrap node that answers."""
        errors = []
        for url in self.bootstrap:
            try:
                async with self.session.get(f"{url}/nodes") as r:
                    listing = await r.json()
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
                errors.append(f"{url}: {exc!r}")
                continue
            nodes = [n for n in map(node_from_registry, listing["nodes"]) if n is not None]
            if nodes:
                self.nodes = nodes
                self.swarms.clear()
                return nodes
            errors.append(f"{url}: no serving nodes")
        raise ClientError("cannot learn the network: " + "; ".join(errors))

    async def swarm_of(self, account: bytes) -> list[NodeInfo]:
        """The nodes holding an account (from the registry listing, else `get_swarm`)."""
        if account in self.swarms:
            return self.swarms[account]
        if not self.nodes:
            await self.refresh()
        swarm_id = SwarmLookup({n.swarm_id for n in self.nodes}).swarm_for_key(account[1:])
        members = [n for n in self.nodes if n.swarm_id == swarm_id]
        self.swarms[account] = members
        return members

    # ----- one onion round trip

    def build(self, path: Sequence[NodeInfo], target: NodeInfo, payload: bytes) -> BuiltOnion:
        hops = [Hop(n.ed25519, n.x25519) for n in path]
        return build_onion(hops, Hop(target.ed25519, target.x25519), payload, self.enc_type)

    async def send(
        self, path: Sequence[NodeInfo], target: NodeInfo, method: str, params: dict[str, Any]
    ) -> OnionAnswer:
        """One request through `path` to `target`; PathError if a hop failed."""
        payload = json.dumps({"method": method, "params": params}).encode()
        built = self.build(path, target, payload)
        guard = path[0]
        try:
            async with self.session.post(f"{guard.url}/onion_req/v2", data=built.body) as r:
                status, raw = r.status, await r.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PathError(0, f"guard unreachable: {exc!r}", guard) from None
        text = raw.decode("utf-8", "replace")
        if status != 200:
            raise PathError(status, text, guard)
        try:
            plaintext = open_reply(built, base64.b64decode(raw, validate=True))
            reply = json.loads(plaintext)
        except (OnionError, binascii.Error, ValueError) as exc:
            raise ClientError(f"unreadable reply from the target: {exc}") from None
        body = reply.get("body")
        if isinstance(body, str):
            with contextlib.suppress(ValueError):
                body = json.loads(body)
        if isinstance(body, dict) and isinstance(body.get("t"), int):
            self.clock_offset_ms = body["t"] - int(time.time() * 1000)
        return OnionAnswer(int(reply.get("status", 0)), body, target)

    async def call(self, account: bytes, method: str, params: dict[str, Any]) -> OnionAnswer:
        """`method` on a member of the account's swarm: new paths around failed nodes, and
        the swarm a 421 names."""
        avoid: set[bytes] = set()
        last_error: Exception | None = None
        for _ in range(self.attempts):
            members = [n for n in await self.swarm_of(account) if n.ed25519 not in avoid]
            if not members:
                self.swarms.pop(account, None)
                members = [n for n in await self.swarm_of(account) if n.ed25519 not in avoid]
                if not members:
                    break
            target = self.rng.choice(members)
            try:
                path = pick_path(self.nodes, avoid | {target.ed25519}, self.rng)
                answer = await self.send(path, target, method, params)
                self.last_path = [*path, target]
            except PathError as exc:
                last_error = exc
                failed = exc.failed_node()
                avoid.add(failed if failed is not None else exc.guard.ed25519)
                continue
            if answer.status == 421 and isinstance(answer.body, dict):
                swarm = [node_from_swarm_json(s) for s in answer.body.get("snodes", [])]
                corrected = [self._known(n) for n in swarm if n is not None]
                if corrected:
                    self.swarms[account] = corrected
                else:
                    avoid.add(target.ed25519)
                last_error = ClientError(f"node {target.node_id} answered 421")
                continue
            if answer.status == 503:
                avoid.add(target.ed25519)
                last_error = ClientError(f"node {target.node_id} is not ready")
                continue
            return answer
        raise ClientError(f"{method} failed after {self.attempts} attempts: {last_error}")

    def _known(self, node: NodeInfo) -> NodeInfo:
        for known in self.nodes:
            if known.ed25519 == node.ed25519:
                return known
        return node

    # ----- storage requests

    async def store(
        self,
        recipient: str,
        data: bytes,
        ttl_ms: int,
        namespace: int = 0,
        keys: AccountKeys | None = None,
    ) -> OnionAnswer:
        """Deposit a message for a Session ID (sign with `keys` for a private namespace)."""
        account = account_bytes(recipient)
        params: dict[str, Any] = {
            "pubkey": account.hex(),
            "timestamp": self.now_ms(),
            "ttl": ttl_ms,
            "data": base64.b64encode(data).decode(),
        }
        if namespace:
            params["namespace"] = namespace
        if keys is not None:
            signed_at = self.now_ms()
            params["sig_timestamp"] = signed_at
            params["pubkey_ed25519"] = keys.ed25519_pubkey.hex()
            params["signature"] = keys.sign(
                b"store" + namespace_text(namespace).encode() + str(signed_at).encode()
            )
        return await self.call(account, "store", params)

    async def retrieve(
        self, keys: AccountKeys, namespace: int = 0, last_hash: str | None = None
    ) -> OnionAnswer:
        """The account's messages (signed request)."""
        account = bytes.fromhex(keys.session_id)
        timestamp = self.now_ms()
        params: dict[str, Any] = {
            "pubkey": keys.session_id,
            "pubkey_ed25519": keys.ed25519_pubkey.hex(),
            "timestamp": timestamp,
            "signature": keys.sign(
                b"retrieve" + namespace_text(namespace).encode() + str(timestamp).encode()
            ),
        }
        if namespace:
            params["namespace"] = namespace
        if last_hash:
            params["last_hash"] = last_hash
        return await self.call(account, "retrieve", params)

    async def delete(self, keys: AccountKeys, hashes: Sequence[str]) -> OnionAnswer:
        params = {
            "pubkey": keys.session_id,
            "pubkey_ed25519": keys.ed25519_pubkey.hex(),
            "messages": list(hashes),
            "signature": keys.sign(b"delete" + "".join(hashes).encode()),
        }
        return await self.call(bytes.fromhex(keys.session_id), "delete", params)


def account_bytes(session_id: str) -> bytes:
    """The 33-byte account of a Session ID (`05` + 64 hex digits)."""
    text = session_id.strip().lower()
    try:
        parse_session_id(text)
    except ValueError as exc:
        raise ClientError(f"bad Session ID {session_id!r}: {exc}") from None
    if len(text) != 66:
        raise ClientError(f"a Session ID has 66 hex digits (05 + key), not {len(text)}")
    return bytes.fromhex(text)
