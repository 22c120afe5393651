"""Helpers for the tests of Session's account-wide methods, subaccounts and meta-requests:
accounts as Session's clients hold them, answers checked member by member against the text
Session's rule says each member signs (written out here, not taken from the node's code)."""

from __future__ import annotations

import base64
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from sesh.node.storage.messages import MessageDB
from sesh.node.storage.rpc import WriteBatch
from sesh.protocol.storage_rpc import RequestSigner, Response, store_request
from tests.node.localnet import LocalNet, LocalNode


def session_account() -> tuple[str, RequestSigner]:
    """A Session ID (`05` + X25519 key) and its owner's signer (Ed25519 key given)."""
    key = SigningKey.generate()
    account = "05" + bytes(key.verify_key.to_curve25519_public_key()).hex()
    return account, RequestSigner.owner(account, key)


def group_account() -> tuple[str, SigningKey]:
    key = SigningKey.generate()
    return "03" + bytes(key.verify_key).hex(), key


def now_of(net: LocalNet) -> int:
    return int(net.clock() * 1000)


async def call(node: LocalNode, request: dict[str, Any]) -> Response:
    return await node.rpc.handle(request["method"], request["params"])


async def store_many(
    net: LocalNet,
    account: str,
    signer: RequestSigner | None,
    count: int,
    namespace: int = 0,
    ttl: int = 3_600_000,
    timestamp: int | None = None,
) -> list[str]:
    """Store `count` messages through node 0; their hashes, in storing order."""
    hashes = []
    for i in range(count):
        ts = (timestamp if timestamp is not None else now_of(net)) - i
        answer = await call(
            net.nodes[0],
            store_request(signer, account, f"m{i}:{namespace}:{ts}".encode(), ts, ttl, namespace),
        )
        assert answer.status == 200, answer.body
        hashes.append(answer.body["hash"])
    return hashes


def assert_members_signed(net: LocalNet, answer: Response, signed_text: bytes | Any) -> None:
    """Every member answered and signed `signed_text` (or `signed_text(result)`)."""
    assert answer.status == 200, answer.body
    swarm = answer.body["swarm"]
    assert set(swarm) == {n.identity.ed25519_pubkey.hex() for n in net.nodes}
    for key, result in swarm.items():
        text = signed_text(result) if callable(signed_text) else signed_text
        VerifyKey(bytes.fromhex(key)).verify(text, base64.b64decode(result["signature"]))


def reopen(node: LocalNode, path) -> None:
    """Give a halted node its database back (as a restarted process would open it)."""
    db = MessageDB(path, 64 << 20)
    node.rpc.db = db
    node.rpc._write_batch = WriteBatch(db)
