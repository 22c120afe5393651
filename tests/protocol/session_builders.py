"""Onion requests laid out exactly as Session's clients lay them out, written here step by
step from their published code (independently of `sesh.protocol.onion.build_onion`), so tests
can check that our nodes serve them. The layer cipher itself is the one checked against
libsession's test vectors in test_onion.py."""

from __future__ import annotations

import json

from nacl.bindings import crypto_box_keypair

from sesh.protocol.onion import AES_GCM, layer_key, seal, shared_secret


def client_key(enc_type: str, client_sec: bytes, client_pub: bytes, node_pub: bytes) -> bytes:
    """The layer key as the client side derives it."""
    return layer_key(enc_type, shared_secret(client_sec, node_pub), client_pub, node_pub)


def session_dump(value: dict) -> bytes:
    """JSON as libsession's nlohmann::json writes it (`dump()`): keys sorted, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def libsession_build(path, target, payload, enc_type, keypairs):
    """An onion request laid out step by step as libsession's `Builder::build` does
    (src/onionreq/builder.cpp): the target's layer `[N][payload]{"headers":""}`, then per
    hop from the last `[N][blob]{"destination","enc_type","ephemeral_key"}`, and the outer
    `[N][blob]{"enc_type","ephemeral_key"}`."""
    pairs = iter(keypairs)

    def encrypt(plaintext, node):
        public, secret = next(pairs)
        key = client_key(enc_type, secret, public, node.x25519)
        return public, key, seal(enc_type, key, plaintext)

    size = len(payload).to_bytes(4, "little")
    public, reply_key, blob = encrypt(size + payload + session_dump({"headers": ""}), target)
    next_node = target
    for hop in reversed(path):
        routing = {
            "destination": next_node.ed25519.hex(),
            "ephemeral_key": public.hex(),
            "enc_type": enc_type,
        }
        data = len(blob).to_bytes(4, "little") + blob + session_dump(routing)
        public, _, blob = encrypt(data, hop)
        next_node = hop
    outer = session_dump({"ephemeral_key": public.hex(), "enc_type": enc_type})
    return len(blob).to_bytes(4, "little") + blob + outer, reply_key


def desktop_build(path, target, body_text):
    """An onion request as session-desktop builds it (ts/session/apis/snode_api/onions.ts,
    AES-GCM only): the target's layer `[N][body]{"body":null,"headers":{}}`, relay layers
    `{"destination","ephemeral_key"}` (no enc_type: AES-GCM by default), outer JSON
    `{"ephemeral_key"}`, all by JSON.stringify (insertion order, no spaces)."""

    def stringify(value):
        return json.dumps(value, separators=(",", ":")).encode()

    def encrypt(plaintext, node):
        public, secret = crypto_box_keypair()
        key = client_key(AES_GCM, secret, public, node.x25519)
        return public, key, seal(AES_GCM, key, plaintext)

    body = body_text.encode()
    destination_json = stringify({"body": None, "headers": {}})
    ephemeral, reply_key, blob = encrypt(
        len(body).to_bytes(4, "little") + body + destination_json, target
    )
    for i in range(len(path) - 1, -1, -1):
        next_key = target.ed25519 if i == len(path) - 1 else path[i + 1].ed25519
        routing = stringify({"destination": next_key.hex(), "ephemeral_key": ephemeral.hex()})
        ephemeral, _, blob = encrypt(len(blob).to_bytes(4, "little") + blob + routing, path[i])
    outer = stringify({"ephemeral_key": ephemeral.hex()})
    return len(blob).to_bytes(4, "little") + blob + outer, reply_key
