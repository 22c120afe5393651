"""Key files and the Ed25519 → X25519 conversion, shared by the node, the client and the
CLI.

A key file holds a 32-byte secret (an Ed25519 seed or a BLS secret key) as 64 hex digits
in a file only its owner may read (mode 0600); it is never overwritten. The X25519 public
key of a node or an account is derived from its Ed25519 key as Session's service nodes and
clients derive it (libsodium's `crypto_sign_ed25519_pk_to_curve25519`).
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

from nacl.bindings import crypto_sign_ed25519_pk_to_curve25519

SEED_BYTES = 32


class IdentityError(Exception):
    """A key cannot be used; the message says what to fix."""


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


def read_private_text(path: Path, what: str = "key file") -> str:
    """The text of a file holding a secret, stripped. Refused if the group or others have
    any access to it."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise IdentityError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IdentityError(
            f"{what} {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IdentityError(f"cannot read {what} {path}: {exc}") from None


def read_seed(path: Path, what: str = "the Ed25519 seed") -> bytes:
    """The 32 bytes in a key file (64 hex digits, optionally `0x`-prefixed, surrounding
    whitespace ignored). Refused if the group or others have any access to the file."""
    text = read_private_text(path)
    try:
        seed = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise IdentityError(f"key file {path} must hold {what} as 64 hex digits") from None
    if len(seed) != SEED_BYTES:
        raise IdentityError(
            f"key file {path} holds {len(seed)} bytes; {what} is {SEED_BYTES} bytes"
        )
    return seed


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
