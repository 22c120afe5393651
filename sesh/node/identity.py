"""The node's own keys: its Ed25519 signing key (the identity the registry knows) and the
X25519 key derived from it, as Session's service nodes derive it (libsodium's
`crypto_sign_ed25519_sk_to_curve25519` / `crypto_sign_ed25519_pk_to_curve25519`), which
clients use to encrypt onion layers to the node.

`load_identity(config)` is the one place the composition root gets them from. Today it
reads `node.key_file`: the 32-byte Ed25519 seed as 64 hex digits, in a file that only its
owner may read. The encrypted keystore (`sesh keys`) will plug in here.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from nacl.bindings import crypto_sign_ed25519_pk_to_curve25519
from nacl.signing import SigningKey

from sesh.node.config import NodeConfig

SEED_BYTES = 32


class IdentityError(Exception):
    """The node's key cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class NodeIdentity:
    """A node's Ed25519 key and its X25519 twin, with their public forms."""

    signing_key: SigningKey = field(repr=False)
    ed25519_pubkey: bytes
    x25519_secret: bytes = field(repr=False)
    x25519_pubkey: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> NodeIdentity:
        if len(seed) != SEED_BYTES:
            raise IdentityError(f"an Ed25519 seed is {SEED_BYTES} bytes, not {len(seed)}")
        signing_key = SigningKey(seed)
        return cls(
            signing_key=signing_key,
            ed25519_pubkey=bytes(signing_key.verify_key),
            x25519_secret=bytes(signing_key.to_curve25519_private_key()),
            x25519_pubkey=bytes(signing_key.verify_key.to_curve25519_public_key()),
        )

    def sign(self, message: bytes) -> bytes:
        """The detached Ed25519 signature of `message`."""
        return self.signing_key.sign(message).signature


@functools.lru_cache(maxsize=1 << 16)
def x25519_from_ed25519(ed25519_pubkey: bytes) -> bytes:
    """The X25519 public key of a node (or account) from its Ed25519 public key; raises
    ValueError for a key that is not a valid curve point. Cached: the conversion costs a
    square root, and the same nodes and accounts come back all the time."""
    if len(ed25519_pubkey) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(ed25519_pubkey)}")
    try:
        return crypto_sign_ed25519_pk_to_curve25519(ed25519_pubkey)
    except Exception as exc:  # libsodium refuses points off the curve  # noqa: BLE001
        raise ValueError(f"not a valid Ed25519 public key: {exc}") from None


def read_seed(path: Path) -> bytes:
    """The Ed25519 seed in a key file (64 hex digits, optionally `0x`-prefixed, surrounding
    whitespace ignored). Refused if the group or others have any access to the file."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise IdentityError(f"cannot read key file {path}: {exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IdentityError(
            f"key file {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IdentityError(f"cannot read key file {path}: {exc}") from None
    try:
        seed = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise IdentityError(
            f"key file {path} must hold the 32-byte Ed25519 seed as 64 hex digits"
        ) from None
    if len(seed) != SEED_BYTES:
        raise IdentityError(
            f"key file {path} holds {len(seed)} bytes; the Ed25519 seed is {SEED_BYTES} bytes"
        )
    return seed


def read_key_file(path: Path) -> NodeIdentity:
    """The node identity in a key file (see `read_seed`)."""
    return NodeIdentity.from_seed(read_seed(path))


def write_key_file(path: Path, seed: bytes) -> None:
    """Write a seed as a new key file only its owner can read (mode 0600); an existing
    file is never overwritten."""
    if len(seed) != SEED_BYTES:
        raise IdentityError(f"an Ed25519 seed is {SEED_BYTES} bytes, not {len(seed)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise IdentityError(f"{path} already exists; not overwriting a key") from None
    with os.fdopen(descriptor, "w") as out:
        out.write(seed.hex() + "\n")


def load_identity(config: NodeConfig) -> NodeIdentity | None:
    """This node's identity from its configuration, or None when no key is configured (the
    bridge then only follows the chain). The key must match `node.ed25519_pubkey` when that
    is given too."""
    if config.node.key_file is None:
        return None
    identity = read_key_file(config.node.key_file)
    expected = config.node.ed25519_pubkey
    if expected is not None and expected != identity.ed25519_pubkey:
        raise IdentityError(
            f"node.key_file holds the key {identity.ed25519_pubkey.hex()}, but "
            f"node.ed25519_pubkey says {expected.hex()}"
        )
    return identity
