"""Session name lookups as a Session client makes them: `oxend_request` → `ons_resolve`
through a 3-hop onion path to any node, with only the name's hash on the wire, and the
answer decrypted here with the name (sesh.protocol.ons)."""

from __future__ import annotations

from sesh.client.onion_client import ClientError, OnionClient, PathError, pick_path
from sesh.protocol.ons import OnsError, decrypt_session_id, name_hash_text


async def ons_resolve(client: OnionClient, name: str) -> str | None:
    """The Session ID (66 hex digits) `name` resolves to, or None if it resolves to
    nothing; ClientError if no node answered or the answer does not decrypt."""
    lowered = name.strip().lower()
    if not client.nodes:
        await client.refresh()
    params = {
        "endpoint": "ons_resolve",
        "params": {"type": 0, "name_hash": name_hash_text(lowered)},
    }
    avoid: set[bytes] = set()
    last_error: Exception | None = None
    for _ in range(client.attempts):
        targets = [n for n in client.nodes if n.ed25519 not in avoid]
        if not targets:
            break
        target = client.rng.choice(targets)
        try:
            path = pick_path(client.nodes, avoid | {target.ed25519}, client.rng)
            answer = await client.send(path, target, "oxend_request", params)
        except PathError as exc:
            last_error = exc
            failed = exc.failed_node()
            avoid.add(failed if failed is not None else exc.guard.ed25519)
            continue
        if answer.status != 200 or not isinstance(answer.body, dict):
            last_error = ClientError(
                f"node {target.node_id}: {answer.status} {answer.body!r}"[:300]
            )
            avoid.add(target.ed25519)
            continue
        client.last_path = [*path, target]
        result = answer.body.get("result")
        if not isinstance(result, dict) or "encrypted_value" not in result:
            return None
        try:
            encrypted = bytes.fromhex(str(result["encrypted_value"]))
            nonce = bytes.fromhex(str(result["nonce"])) if result.get("nonce") else None
            return decrypt_session_id(lowered, encrypted, nonce).hex()
        except (OnsError, ValueError) as exc:
            raise ClientError(f"node {target.node_id}'s record for {lowered!r}: {exc}") from None
    raise ClientError(f"ons_resolve failed after {client.attempts} attempts: {last_error}")
