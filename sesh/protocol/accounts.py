"""A Session account: an Ed25519 key whose X25519 form, prefixed with `05`, is the
Session ID."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from nacl.signing import SigningKey

SESSION_ID_PREFIX = "05"


@dataclass(frozen=True)
class AccountKeys:
    """A Session account: an Ed25519 key, whose X25519 form is the Session ID."""

    signing_key: SigningKey = field(repr=False)

    @classmethod
    def generate(cls) -> AccountKeys:
        return cls(SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> AccountKeys:
        return cls(SigningKey(seed))

    @property
    def ed25519_pubkey(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def x25519_pubkey(self) -> bytes:
        return bytes(self.signing_key.verify_key.to_curve25519_public_key())

    @property
    def x25519_secret(self) -> bytes:
        return bytes(self.signing_key.to_curve25519_private_key())

    @property
    def session_id(self) -> str:
        return SESSION_ID_PREFIX + self.x25519_pubkey.hex()

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.signing_key.sign(message).signature).decode()
