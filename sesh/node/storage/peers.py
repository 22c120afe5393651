"""Node-to-node requests: `POST /peer/v1`, JSON `{"method", "params"}`, signed by the
sending node's Ed25519 key.

Headers: `X-Sesh-Node` (the sender's Ed25519 key, hex), `X-Sesh-Timestamp` (unix ms) and
`X-Sesh-Signature` (base64), the Ed25519 signature of

    "SESH_PEER_V1" ‖ receiver's Ed25519 key (32 bytes) ‖ timestamp (decimal ASCII)
                   ‖ BLAKE2b-256(body)

so a request is bound to its receiver and its body. The receiver refuses a timestamp more
than 60 s from its clock and a signature it has already seen (kept for twice that), so a
captured request cannot be replayed; who may send what (swarm members, registered nodes) is
the storage service's rule.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from sesh.node.http import BodyIncomplete, BodyTooLarge, read_body
from sesh.node.identity import NodeIdentity
from sesh.protocol import wire_json
from sesh.protocol.hexes import from_hex
from sesh.protocol.nodes import NodeInfo

PEER_PATH = "/peer/v1"
HEADER_NODE = "X-Sesh-Node"
HEADER_TIMESTAMP = "X-Sesh-Timestamp"
HEADER_SIGNATURE = "X-Sesh-Signature"
DOMAIN = b"SESH_PEER_V1"
TOLERANCE_MS = 60_000
# Largest answer read from a peer (a catch-up page is a few MB at most).
MAX_PEER_RESPONSE_BYTES = 32 << 20


class PeerAuthError(Exception):
    """A peer request that is not properly signed; `status` to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class PeerUnreachable(Exception):
    """No answer from a peer (refused, timed out, or not JSON)."""


def signing_message(receiver: bytes, timestamp_ms: int, body: bytes) -> bytes:
    return (
        DOMAIN
        + receiver
        + str(timestamp_ms).encode()
        + hashlib.blake2b(body, digest_size=32).digest()
    )


def sign_request(
    identity: NodeIdentity, receiver: bytes, timestamp_ms: int, body: bytes
) -> dict[str, str]:
    """The headers that authenticate `body` from `identity` to `receiver`."""
    signature = identity.sign(signing_message(receiver, timestamp_ms, body))
    return {
        HEADER_NODE: identity.ed25519_pubkey.hex(),
        HEADER_TIMESTAMP: str(timestamp_ms),
        HEADER_SIGNATURE: base64.b64encode(signature).decode(),
        "Content-Type": "application/json",
    }


class ReplayGuard:
    """Signatures seen recently; each one is accepted once."""

    def __init__(self, keep_ms: int = 2 * TOLERANCE_MS, capacity: int = 100_000):
        self.keep_ms = keep_ms
        self.capacity = capacity
        self._seen: OrderedDict[bytes, int] = OrderedDict()

    def first_time(self, signature: bytes, now_ms: int) -> bool:
        seen = self._seen
        while seen:
            oldest, at = next(iter(seen.items()))
            if at > now_ms - self.keep_ms and len(seen) < self.capacity:
                break
            del seen[oldest]
        if signature in seen:
            return False
        seen[signature] = now_ms
        return True


def verify_request(
    headers: Mapping[str, str],
    body: bytes,
    receiver: bytes,
    now_ms: int,
    guard: ReplayGuard,
) -> bytes:
    """The sender's Ed25519 key if the request is signed for `receiver`, fresh and not a
    replay; PeerAuthError (401) otherwise."""
    try:
        sender = from_hex(headers.get(HEADER_NODE, ""))
        timestamp = int(headers.get(HEADER_TIMESTAMP, ""))
        signature = base64.b64decode(headers.get(HEADER_SIGNATURE, ""), validate=True)
    except (ValueError, binascii.Error):
        raise PeerAuthError(401, "peer request: missing or malformed signature headers") from None
    if len(sender) != 32 or len(signature) != 64:
        raise PeerAuthError(401, "peer request: malformed node key or signature")
    if abs(timestamp - now_ms) > TOLERANCE_MS:
        raise PeerAuthError(401, "peer request: timestamp too far from the current time")
    try:
        VerifyKey(sender).verify(signing_message(receiver, timestamp, body), signature)
    except (BadSignatureError, ValueError, TypeError):
        raise PeerAuthError(401, "peer request: signature does not verify") from None
    except Exception:  # an invalid point is not a key  # noqa: BLE001
        raise PeerAuthError(401, "peer request: invalid node key") from None
    if not guard.first_time(signature, now_ms):
        raise PeerAuthError(401, "peer request: replayed")
    return sender


class PeerClient:
    """Signed requests to other nodes over one aiohttp session."""

    def __init__(
        self,
        identity: NodeIdentity,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ):
        self.identity = identity
        self.timeout = timeout
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=300)
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self, node: NodeInfo, method: str, params: dict[str, Any], timeout: float | None = None
    ) -> tuple[int, Any]:
        """(status, JSON answer) of `method` on `node`; PeerUnreachable if none came."""
        await self.open()
        assert self._session is not None
        body = json.dumps({"method": method, "params": params}, separators=(",", ":")).encode()
        headers = sign_request(self.identity, node.ed25519, int(self.clock() * 1000), body)
        try:
            async with self._session.post(
                node.url + PEER_PATH,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            ) as response:
                try:
                    raw = await read_body(
                        response.content, response.content_length, MAX_PEER_RESPONSE_BYTES
                    )
                except (BodyTooLarge, BodyIncomplete) as exc:
                    raise PeerUnreachable(f"node {node.node_id}: answer {exc}") from None
                try:
                    return response.status, wire_json.loads(raw)
                except ValueError:
                    return response.status, raw.decode("utf-8", "replace")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise PeerUnreachable(
                f"node {node.node_id} ({node.endpoint}): {type(exc).__name__}: {exc}"
            ) from None
