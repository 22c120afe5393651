"""Session name lookups (ONS) in the form Session clients decrypt (pure).

A Session client never sends the name it looks up: it sends `name_hash` = BLAKE2b-256 of
the lowercase name (base64 or hex), and the record comes back encrypted with a key only
someone who knows the name can derive. So a node answers for a name without learning
which one was asked, and a list of answers says nothing about the names behind them.

- name hash: BLAKE2b-256(name), no key.
- key (current form): BLAKE2b-256(name, key = name hash).
- value: the 33-byte Session ID (`05` ‖ X25519 key), sealed with XChaCha20-Poly1305 (IETF,
  no associated data) under that key; the answer carries `encrypted_value` (ciphertext ‖
  16-byte tag, hex) and `nonce` (24 bytes, hex).
- legacy form (records written before Oxen's HF16, still decrypted by clients): key =
  Argon2id(name, 16 zero bytes of salt, libsodium's "moderate" limits), value sealed with
  XSalsa20-Poly1305 (secretbox) under a zero nonce, 49 bytes with no separate nonce. We
  never produce it; `decrypt_session_id` reads it so the client side is complete.

Our SNS contract keeps Session IDs in the clear (they are public on chain), so a node
encrypts when asked. The nonce is derived, not random (BLAKE2b-192 of the Session ID keyed
with the record key): every node gives the same answer for the same record, and since the
key is unique to the name, a (key, nonce) pair never seals two different values.
"""

from __future__ import annotations

import base64
import binascii

from nacl import bindings, pwhash
from nacl.encoding import RawEncoder
from nacl.exceptions import CryptoError
from nacl.hash import blake2b

SESSION_ID_BYTES = 33
NAME_HASH_BYTES = 32
NONCE_BYTES = 24
TAG_BYTES = 16
# ONS record types: 0 Session ID, 1 wallet, 2 Lokinet. Only Session IDs are served.
TYPE_SESSION = 0
LEGACY_SALT = bytes(16)


class OnsError(ValueError):
    """A malformed name hash or record, or a value that does not decrypt."""


def name_hash(name: str) -> bytes:
    """BLAKE2b-256 of the lowercase name: what clients send as `name_hash`."""
    return blake2b(name.lower().encode(), digest_size=NAME_HASH_BYTES, encoder=RawEncoder)


def name_hash_text(name: str) -> str:
    """The name hash as clients put it on the wire (standard base64, padded)."""
    return base64.b64encode(name_hash(name)).decode()


def parse_name_hash(value: object) -> bytes:
    """A `name_hash` parameter: 44 base64 characters or 64 hex digits of 32 bytes."""
    if not isinstance(value, str):
        raise OnsError("name_hash must be a string")
    raw: bytes | None = None
    if len(value) == 2 * NAME_HASH_BYTES:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = None
    if raw is None and len(value) in (43, 44):
        try:
            raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != NAME_HASH_BYTES:
        raise OnsError("name_hash must be 32 bytes in base64 or hex")
    return raw


def record_key(name: str) -> bytes:
    """The current form's key: BLAKE2b-256(name) keyed with the name hash."""
    lowered = name.lower().encode()
    return blake2b(lowered, digest_size=32, key=name_hash(name), encoder=RawEncoder)


def encrypt_session_id(name: str, session_id: bytes) -> tuple[bytes, bytes]:
    """(ciphertext ‖ tag, nonce) of a Session ID for `name`, in the current form."""
    if len(session_id) != SESSION_ID_BYTES:
        raise OnsError(f"a Session ID is {SESSION_ID_BYTES} bytes, not {len(session_id)}")
    key = record_key(name)
    nonce = blake2b(session_id, digest_size=NONCE_BYTES, key=key, encoder=RawEncoder)
    sealed = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(session_id, None, nonce, key)
    return sealed, nonce


def decrypt_session_id(name: str, encrypted: bytes, nonce: bytes | None) -> bytes:
    """The Session ID in an `ons_resolve` answer for `name` (current form with its nonce,
    or the legacy Argon2/secretbox form without one). OnsError if it does not decrypt."""
    lowered = name.lower().encode()
    try:
        if nonce:
            if len(nonce) != NONCE_BYTES:
                raise OnsError(f"nonce is {len(nonce)} bytes, not {NONCE_BYTES}")
            value = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                encrypted, None, nonce, record_key(name)
            )
        elif len(encrypted) == SESSION_ID_BYTES + TAG_BYTES:
            key = pwhash.argon2id.kdf(
                32,
                lowered,
                LEGACY_SALT,
                opslimit=pwhash.argon2id.OPSLIMIT_MODERATE,
                memlimit=pwhash.argon2id.MEMLIMIT_MODERATE,
            )
            value = bindings.crypto_secretbox_open(encrypted, bytes(NONCE_BYTES), key)
        else:
            raise OnsError("a value without a nonce must be the 49-byte legacy form")
    except CryptoError:
        raise OnsError(f"the value does not decrypt for {name!r}") from None
    if len(value) != SESSION_ID_BYTES:
        raise OnsError(f"decrypted value is {len(value)} bytes, not a Session ID")
    return value
