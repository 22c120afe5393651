"""Onion requests, v2 (Session's format): building layers (client side), peeling them (node
side), and the reply the target encrypts for the client. Pure: no I/O, no clock.

Wire format (docs/protocol.md, "Onion requests", has the byte layouts):

    envelope = u32-LE n ‖ ciphertext (n bytes) ‖ JSON object (UTF-8)

The body POSTed to `/onion_req/v2` is an envelope whose JSON holds `ephemeral_key` (hex
X25519 public key), optionally `enc_type` (`aes-gcm`, the default, or `xchacha20`) and
`hop_no`. Decrypting the ciphertext with the shared secret of the node's X25519 key and the
ephemeral key gives another envelope, whose JSON says what to do:

- `destination` (the next node's Ed25519 key, hex) with `ephemeral_key` / `enc_type`: relay
  the inner ciphertext to that node;
- `headers`: this node is the target, the inner "ciphertext" is the request in clear;
- `host` / `target` (with `port`, default 443, and `protocol`, default `https`): relay the
  whole decrypted envelope to an HTTP server (a file server); see lsrpc.py.

Layer keys: `aes-gcm` uses HMAC-SHA256(key="LOKI", msg=X25519(secret, public)), data
`iv(12) ‖ ciphertext ‖ tag(16)`; `xchacha20` uses BLAKE2b-256(shared ‖ ephemeral public ‖
node public), data `nonce(24) ‖ ciphertext+tag(16)`. The target encrypts its reply once,
with the key of the innermost layer (so under the client's last ephemeral key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_box_keypair,
    crypto_scalarmult,
)
from nacl.exceptions import CryptoError

from sesh.protocol import wire_json
from sesh.protocol.hexes import from_hex

AES_GCM = "aes-gcm"
XCHACHA20 = "xchacha20"
# Names accepted on the wire for each cipher (Session accepts the aliases too).
ENC_TYPES = {
    AES_GCM: AES_GCM,
    "gcm": AES_GCM,
    XCHACHA20: XCHACHA20,
    "xchacha20-poly1305": XCHACHA20,
}
AES_GCM_SALT = b"LOKI"
GCM_IV_BYTES = 12
GCM_TAG_BYTES = 16
XCHACHA_NONCE_BYTES = 24
XCHACHA_TAG_BYTES = 16
KEY_BYTES = 32
LENGTH_PREFIX_BYTES = 4
# Session refuses requests that claim to have passed more hops than this.
MAX_HOPS = 15


class OnionError(ValueError):
    """A request that cannot be processed; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# ----- symmetric layers


def shared_secret(secret: bytes, public: bytes) -> bytes:
    """X25519(secret, public); a low-order public key (all-zero result) is refused."""
    if len(public) != KEY_BYTES:
        raise OnionError(400, f"an X25519 key is {KEY_BYTES} bytes, not {len(public)}")
    try:
        return crypto_scalarmult(secret, public)
    except (CryptoError, RuntimeError):
        raise OnionError(400, "invalid ephemeral key (low-order point)") from None


def layer_key(enc_type: str, shared: bytes, ephemeral_public: bytes, node_public: bytes) -> bytes:
    """The symmetric key of a layer between an ephemeral key and a node key."""
    if enc_type == AES_GCM:
        return hmac.new(AES_GCM_SALT, shared, hashlib.sha256).digest()
    return hashlib.blake2b(shared + ephemeral_public + node_public, digest_size=KEY_BYTES).digest()


def seal(enc_type: str, key: bytes, plaintext: bytes, nonce: bytes | None = None) -> bytes:
    """Encrypt with a fresh random IV/nonce (or `nonce`, for test vectors)."""
    if enc_type == AES_GCM:
        iv = nonce if nonce is not None else os.urandom(GCM_IV_BYTES)
        return iv + AESGCM(key).encrypt(iv, plaintext, None)
    nonce = nonce if nonce is not None else os.urandom(XCHACHA_NONCE_BYTES)
    return nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, None, nonce, key)


def unseal(enc_type: str, key: bytes, data: bytes) -> bytes:
    """Decrypt and authenticate; OnionError(400) if the data is short or forged."""
    view = memoryview(data)
    if enc_type == AES_GCM:
        if len(view) < GCM_IV_BYTES + GCM_TAG_BYTES:
            raise OnionError(400, "Invalid ciphertext: too short")
        try:
            return AESGCM(key).decrypt(view[:GCM_IV_BYTES], view[GCM_IV_BYTES:], None)
        except InvalidTag:
            raise OnionError(400, "Invalid ciphertext") from None
    if len(view) < XCHACHA_NONCE_BYTES + XCHACHA_TAG_BYTES:
        raise OnionError(400, "Invalid ciphertext: too short")
    try:
        # PyNaCl takes bytes only.
        return crypto_aead_xchacha20poly1305_ietf_decrypt(
            bytes(view[XCHACHA_NONCE_BYTES:]), None, bytes(view[:XCHACHA_NONCE_BYTES]), key
        )
    except CryptoError:
        raise OnionError(400, "Invalid ciphertext") from None


def parse_enc_type(value: Any) -> str:
    if not isinstance(value, str) or value not in ENC_TYPES:
        raise OnionError(400, f"invalid enc_type {value!r} (aes-gcm or xchacha20)")
    return ENC_TYPES[value]


# ----- envelopes


def pack(ciphertext: bytes | memoryview, metadata: dict[str, Any]) -> bytes:
    """u32-LE length ‖ ciphertext ‖ compact JSON (keys sorted, as Session's C++ writes it)."""
    text = json.dumps(metadata, separators=(",", ":"), sort_keys=True).encode()
    return b"".join((len(ciphertext).to_bytes(LENGTH_PREFIX_BYTES, "little"), ciphertext, text))


def unpack(blob: bytes) -> tuple[memoryview, dict[str, Any]]:
    """(ciphertext, JSON object) of an envelope; OnionError(400) naming what is wrong. The
    ciphertext is a view into `blob` (layers can be 100 KB: no copy)."""
    if len(blob) < LENGTH_PREFIX_BYTES:
        raise OnionError(400, "onion request too short for its length prefix")
    size = int.from_bytes(blob[:LENGTH_PREFIX_BYTES], "little")
    end = LENGTH_PREFIX_BYTES + size
    if end > len(blob):
        raise OnionError(400, f"length prefix says {size} bytes but only {len(blob) - 4} follow it")
    try:
        metadata = wire_json.loads(blob[end:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise OnionError(400, "the JSON after the ciphertext is not valid JSON") from None
    if not isinstance(metadata, dict):
        raise OnionError(400, "the JSON after the ciphertext is not an object")
    return memoryview(blob)[LENGTH_PREFIX_BYTES:end], metadata


def parse_key_hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * KEY_BYTES:
        raise OnionError(400, f"{what} must be {2 * KEY_BYTES} hex digits")
    try:
        return from_hex(value)
    except ValueError:
        raise OnionError(400, f"{what} is not hexadecimal") from None


# ----- node side


@dataclass(frozen=True)
class OnionRequest:
    """The outer envelope a node receives."""

    ciphertext: bytes | memoryview
    ephemeral_key: bytes
    enc_type: str
    hop_no: int


def parse_request(body: bytes) -> OnionRequest:
    """The body of `POST /onion_req/v2`."""
    ciphertext, metadata = unpack(body)
    if "ephemeral_key" not in metadata:
        raise OnionError(400, "missing ephemeral_key")
    ephemeral = parse_key_hex(metadata["ephemeral_key"], "ephemeral_key")
    enc_type = parse_enc_type(metadata.get("enc_type", AES_GCM))
    hop_no = metadata.get("hop_no", 0)
    if isinstance(hop_no, bool) or not isinstance(hop_no, int):
        raise OnionError(400, "hop_no must be an integer")
    return OnionRequest(ciphertext, ephemeral, enc_type, max(0, hop_no))


@dataclass(frozen=True)
class Relay:
    """Forward `ciphertext` to the node whose Ed25519 key is `destination`."""

    destination: bytes
    ciphertext: bytes | memoryview
    ephemeral_key: bytes
    enc_type: str

    def envelope(self, hop_no: int) -> bytes:
        """What the next node receives."""
        return pack(
            self.ciphertext,
            {
                "ephemeral_key": self.ephemeral_key.hex(),
                "enc_type": self.enc_type,
                "hop_no": hop_no,
            },
        )


@dataclass(frozen=True)
class Deliver:
    """This node is the target: `body` is the request (JSON for the storage RPC)."""

    body: bytes
    # Embed a JSON answer as JSON rather than as a string (Session's `json` flag).
    json_body: bool = False
    # Base64-encode the encrypted reply (Session's `base64` flag, default true).
    base64_reply: bool = True


@dataclass(frozen=True)
class ToServer:
    """A request to relay to an HTTP server: POST `payload` (the whole decrypted envelope,
    whose JSON also tells the server how to decrypt it) to `protocol://host:port/target`."""

    host: str
    target: str
    port: int = 443
    protocol: str = "https"
    payload: bytes = b""


@dataclass(frozen=True)
class Unreadable:
    """Decrypted, but the inner layer is not a valid envelope (answered encrypted)."""

    reason: str


Step = Relay | Deliver | ToServer | Unreadable


@dataclass(frozen=True)
class Peeled:
    """One layer removed: what to do, and the key that encrypts a reply to the client."""

    step: Step
    reply_key: bytes
    enc_type: str


def open_layer(
    request: OnionRequest, node_secret: bytes, node_public: bytes
) -> tuple[bytes, bytes]:
    """(plaintext, layer key) of a request's ciphertext, decrypted with the node's X25519
    key; OnionError(400) if it does not decrypt."""
    shared = shared_secret(node_secret, request.ephemeral_key)
    key = layer_key(request.enc_type, shared, request.ephemeral_key, node_public)
    return unseal(request.enc_type, key, request.ciphertext), key


def peel(request: OnionRequest, node_secret: bytes, node_public: bytes) -> Peeled:
    """Remove one layer. OnionError(400) if it does not decrypt; an inner layer that is
    not a valid envelope gives `Unreadable` (the reply key is known, so the client can be
    told why)."""
    plaintext, key = open_layer(request, node_secret, node_public)
    return Peeled(_inner_step(plaintext), key, request.enc_type)


def _inner_step(plaintext: bytes) -> Step:
    try:
        inner, routing = unpack(plaintext)
    except OnionError as exc:
        return Unreadable(exc.message)
    if "headers" in routing:
        json_body = routing.get("json", False)
        base64_reply = routing.get("base64", True)
        if not isinstance(json_body, bool) or not isinstance(base64_reply, bool):
            return Unreadable("json and base64 must be booleans")
        return Deliver(bytes(inner), json_body, base64_reply)
    if "host" in routing:
        host, target = routing.get("host"), routing.get("target")
        if not isinstance(host, str) or not isinstance(target, str):
            return Unreadable("host and target must be strings")
        protocol = routing.get("protocol", "https")
        port = routing.get("port", 443)
        if not isinstance(protocol, str):
            return Unreadable("protocol must be a string")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 0xFFFF:
            return Unreadable("port must be an integer 0-65535")
        return ToServer(host, target, port, protocol, plaintext)
    try:
        if "destination" not in routing:
            raise OnionError(400, "no headers, host or destination")
        destination = parse_key_hex(routing["destination"], "destination")
        ephemeral = parse_key_hex(routing.get("ephemeral_key"), "ephemeral_key")
        enc_type = parse_enc_type(routing.get("enc_type", AES_GCM))
    except OnionError as exc:
        return Unreadable(exc.message)
    return Relay(destination, inner, ephemeral, enc_type)


def encrypt_reply(peeled: Peeled, plaintext: bytes) -> bytes:
    """The target's reply, encrypted with the innermost layer's key."""
    return seal(peeled.enc_type, peeled.reply_key, plaintext)


# ----- client side


@dataclass(frozen=True)
class Hop:
    """A node as a client addresses it: Ed25519 key (routing) and X25519 key (layers)."""

    ed25519: bytes
    x25519: bytes


@dataclass(frozen=True)
class BuiltOnion:
    """What a client sends to the first hop, and what it needs to read the reply."""

    body: bytes
    reply_key: bytes
    enc_type: str
    # To a server: the last node's layer key, which encrypts that node's own refusals.
    relay_key: bytes | None = None


KeyPair = tuple[bytes, bytes]  # (public, secret)


def build_onion(
    path: Sequence[Hop],
    target: Hop,
    payload: bytes,
    enc_type: str = XCHACHA20,
    keypair: Callable[[], KeyPair] = crypto_box_keypair,
) -> BuiltOnion:
    """Wrap `payload` for `target` through `path` (first hop first), with a fresh ephemeral
    key per layer (`keypair` is injectable for test vectors)."""
    enc_type = parse_enc_type(enc_type)
    public, secret = keypair()
    key = layer_key(enc_type, shared_secret(secret, target.x25519), public, target.x25519)
    reply_key = key
    ciphertext = seal(enc_type, key, pack(payload, {"headers": ""}))
    next_node = target
    for hop in reversed(path):
        routing = {
            "destination": next_node.ed25519.hex(),
            "ephemeral_key": public.hex(),
            "enc_type": enc_type,
        }
        public, secret = keypair()
        key = layer_key(enc_type, shared_secret(secret, hop.x25519), public, hop.x25519)
        ciphertext = seal(enc_type, key, pack(ciphertext, routing))
        next_node = hop
    body = pack(ciphertext, {"ephemeral_key": public.hex(), "enc_type": enc_type})
    return BuiltOnion(body, reply_key, enc_type)


@dataclass(frozen=True)
class Server:
    """An HTTP server as a client addresses it through a path (Session's file server)."""

    host: str
    port: int
    x25519: bytes
    protocol: str = "http"
    target: str = "/oxen/v4/lsrpc"


def build_onion_to_server(
    path: Sequence[Hop],
    server: Server,
    payload: bytes,
    enc_type: str = XCHACHA20,
    keypair: Callable[[], KeyPair] = crypto_box_keypair,
) -> BuiltOnion:
    """Wrap `payload` (a v4 request) for `server` through `path`: the server's blob is the
    payload encrypted to its key, and the last hop's routing JSON names the server and
    carries the ephemeral key the server decrypts with (as libsession's builder does)."""
    if not path:
        raise ValueError("a server is reached through at least one node")
    enc_type = parse_enc_type(enc_type)
    public, secret = keypair()
    key = layer_key(enc_type, shared_secret(secret, server.x25519), public, server.x25519)
    reply_key = key
    ciphertext = seal(enc_type, key, payload)
    routing: dict[str, Any] = {
        "host": server.host,
        "target": server.target,
        "method": "POST",
        "protocol": server.protocol,
        "port": server.port,
        "ephemeral_key": public.hex(),
        "enc_type": enc_type,
    }
    relay_key = None
    for hop in reversed(path):
        public, secret = keypair()
        key = layer_key(enc_type, shared_secret(secret, hop.x25519), public, hop.x25519)
        relay_key = relay_key or key
        ciphertext = seal(enc_type, key, pack(ciphertext, routing))
        routing = {
            "destination": hop.ed25519.hex(),
            "ephemeral_key": public.hex(),
            "enc_type": enc_type,
        }
    body = pack(ciphertext, {"ephemeral_key": public.hex(), "enc_type": enc_type})
    return BuiltOnion(body, reply_key, enc_type, relay_key)


def open_reply(built: BuiltOnion, ciphertext: bytes) -> bytes:
    """Decrypt the target's reply (already base64-decoded if it was encoded)."""
    return unseal(built.enc_type, built.reply_key, ciphertext)
