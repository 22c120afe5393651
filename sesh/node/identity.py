"""The node's own keys: its Ed25519 signing key (the identity the registry knows), the
X25519 key derived from it, as Session's service nodes derive it (libsodium's
`crypto_sign_ed25519_sk_to_curve25519` / `crypto_sign_ed25519_pk_to_curve25519`), which
clients use to encrypt onion layers to the node, and its BLS key (its vote in network
signatures).

`load_identity(config)` is the one place the composition root gets them from, in one of
two forms:

- `node.key_store`: the encrypted keystore of `sesh keys new` (both keys), opened with the
  password in `node.key_store_password_file` or else in `$SESH_KEYSTORE_PASSWORD`;
- `node.key_file` (and optionally `node.bls_key_file`): the plain development form, the
  32-byte Ed25519 seed and the 32-byte BLS secret as 64 hex digits each, in files only
  their owner may read.

No secret is ever logged or printed: errors name files and keys, never their contents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nacl.signing import SigningKey

from sesh.crypto import bls, keystore
from sesh.crypto.key_files import SEED_BYTES, IdentityError, read_private_text, read_seed
from sesh.node.config import NodeConfig


@dataclass(frozen=True)
class NodeIdentity:
    """A node's Ed25519 key and its X25519 twin, with their public forms, and its BLS key
    when it has one (a node without one routes and stores but cannot sign votes)."""

    signing_key: SigningKey = field(repr=False)
    ed25519_pubkey: bytes
    x25519_secret: bytes = field(repr=False)
    x25519_pubkey: bytes
    bls_secret: bls.SecretKey | None = field(default=None, repr=False)

    @classmethod
    def from_seed(cls, seed: bytes, bls_secret: bls.SecretKey | None = None) -> NodeIdentity:
        if len(seed) != SEED_BYTES:
            raise IdentityError(f"an Ed25519 seed is {SEED_BYTES} bytes, not {len(seed)}")
        signing_key = SigningKey(seed)
        return cls(
            signing_key=signing_key,
            ed25519_pubkey=bytes(signing_key.verify_key),
            x25519_secret=bytes(signing_key.to_curve25519_private_key()),
            x25519_pubkey=bytes(signing_key.verify_key.to_curve25519_public_key()),
            bls_secret=bls_secret,
        )

    @property
    def bls_pubkey(self) -> bls.PublicKey | None:
        return self.bls_secret.public_key() if self.bls_secret is not None else None

    def sign(self, message: bytes) -> bytes:
        """The detached Ed25519 signature of `message`."""
        return self.signing_key.sign(message).signature

    def sign_bls(self, digest: bytes) -> bls.Signature:
        """The BLS signature (network DST) of a network message digest."""
        if self.bls_secret is None:
            raise IdentityError("this node has no BLS key (node.key_store or node.bls_key_file)")
        return bls.sign(self.bls_secret, digest)


def read_key_file(path: Path) -> NodeIdentity:
    """The node identity in a key file (see `read_seed`)."""
    return NodeIdentity.from_seed(read_seed(path))


def read_bls_key_file(path: Path) -> bls.SecretKey:
    """The BLS secret key in a key file (64 hex digits, big-endian, mode 0600)."""
    raw = read_seed(path, "the BLS secret key")
    try:
        return bls.SecretKey.from_bytes(raw)
    except bls.BlsError:
        raise IdentityError(f"key file {path} does not hold a valid BLS secret key") from None


def keystore_password(config: NodeConfig) -> str:
    """The keystore's password: `node.key_store_password_file`, else the environment."""
    if config.node.key_store_password_file is not None:
        return read_private_text(config.node.key_store_password_file, "password file")
    password = os.environ.get(keystore.PASSWORD_ENV)
    if not password:
        raise IdentityError(
            f"node.key_store needs its password: set {keystore.PASSWORD_ENV} or "
            "node.key_store_password_file"
        )
    return password


def load_identity(config: NodeConfig) -> NodeIdentity | None:
    """This node's identity from its configuration, or None when no key is configured (the
    bridge then only follows the chain). The key must match `node.ed25519_pubkey` when that
    is given too."""
    node = config.node
    if node.key_store is not None and node.key_file is not None:
        raise IdentityError("give node.key_store or node.key_file, not both")
    if node.key_store is not None:
        try:
            keys = keystore.open_keys(node.key_store, keystore_password(config))
        except keystore.KeystoreError as exc:
            raise IdentityError(str(exc)) from None
        identity = NodeIdentity.from_seed(bytes(keys.ed25519), keys.bls)
    elif node.key_file is not None:
        bls_secret = read_bls_key_file(node.bls_key_file) if node.bls_key_file else None
        identity = NodeIdentity.from_seed(read_seed(node.key_file), bls_secret)
    else:
        return None
    expected = config.node.ed25519_pubkey
    if expected is not None and expected != identity.ed25519_pubkey:
        raise IdentityError(
            f"the node's key is {identity.ed25519_pubkey.hex()}, but "
            f"node.ed25519_pubkey says {expected.hex()}"
        )
    return identity
