"""Encrypted node keystores: a service node's Ed25519 and BLS secret keys in one JSON file.

The secrets are encrypted with XChaCha20-Poly1305 (libsodium, through PyNaCl) under a key
derived from the password with scrypt; the public part of the file (version, KDF
parameters, public keys) is the AEAD's associated data, so a file whose public keys were
edited fails to open instead of signing for keys it does not hold. Secrets never leave
this module except as `NodeKeys`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.exceptions import CryptoError

from sesh.crypto.node_keys import NodeKeys

KEYSTORE_TYPE = "sesh-node-keys"
KEYSTORE_VERSION = 1
# scrypt parameters: N = 2**17, r = 8 (128 MiB, about half a second) as for wallets.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
CIPHER = "xchacha20poly1305-ietf"
PASSWORD_ENV = "SESH_KEYSTORE_PASSWORD"
MIN_PASSWORD_LENGTH = 8


class KeystoreError(Exception):
    """A keystore that cannot be written or opened; the message says why (never a secret)."""


@dataclass(frozen=True)
class PublicKeys:
    """What a keystore shows without its password."""

    path: Path
    node_id: str
    ed25519_pubkey: str
    bls_pubkey: str


def create(path: Path | str, keys: NodeKeys, password: str, scrypt_n: int = SCRYPT_N) -> PublicKeys:
    """Write `keys` to a new keystore at `path` (refuses to overwrite), mode 0600."""
    path = Path(path)
    if path.exists():
        raise KeystoreError(f"{path} exists; choose another path (keys are never overwritten)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise KeystoreError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    salt = secrets.token_bytes(32)
    nonce = secrets.token_bytes(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    header = {
        "type": KEYSTORE_TYPE,
        "version": KEYSTORE_VERSION,
        "node_id": keys.node_id_hex,
        "ed25519_pubkey": keys.ed25519_pubkey.hex(),
        "bls_pubkey": keys.bls_pubkey.to_compressed().hex(),
        "crypto": {
            "kdf": "scrypt",
            "kdfparams": {"n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()},
            "cipher": CIPHER,
            "nonce": nonce.hex(),
        },
    }
    plaintext = bytes(keys.ed25519) + keys.bls.to_bytes()
    key = _derive(password, header["crypto"]["kdfparams"])
    ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, _aad(header), nonce, key)
    document = {**header, "crypto": {**header["crypto"], "ciphertext": ciphertext.hex()}}
    _write_private(path, json.dumps(document, indent=2) + "\n")
    return public_keys(path)


def public_keys(path: Path | str) -> PublicKeys:
    """The public keys of a keystore (no password needed)."""
    path = Path(path)
    document = _read(path)
    return PublicKeys(
        path=path,
        node_id=document["node_id"],
        ed25519_pubkey=document["ed25519_pubkey"],
        bls_pubkey=document["bls_pubkey"],
    )


def open_keys(path: Path | str, password: str) -> NodeKeys:
    """Decrypt a keystore; a wrong password or an edited file is a `KeystoreError`."""
    path = Path(path)
    document = _read(path)
    crypto = document["crypto"]
    header = {k: v for k, v in document.items() if k != "crypto"}
    header["crypto"] = {k: v for k, v in crypto.items() if k != "ciphertext"}
    try:
        key = _derive(password, crypto["kdfparams"])
    except (ValueError, MemoryError) as exc:  # scrypt parameters it refuses
        raise KeystoreError(
            f"cannot open {path}: its scrypt parameters are unusable ({exc})"
        ) from None
    try:
        plaintext = crypto_aead_xchacha20poly1305_ietf_decrypt(
            bytes.fromhex(crypto["ciphertext"]), _aad(header), bytes.fromhex(crypto["nonce"]), key
        )
    except (CryptoError, ValueError):
        raise KeystoreError(
            f"cannot open {path}: wrong password, or the file was altered"
        ) from None
    keys = NodeKeys.from_seeds(plaintext[:32], plaintext[32:])
    if keys.ed25519_pubkey.hex() != document["ed25519_pubkey"]:
        raise KeystoreError(f"{path}: the keys do not match the public keys it shows")
    return keys


def _derive(password: str, params: dict[str, Any]) -> bytes:
    n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
    return hashlib.scrypt(
        password.encode(),
        salt=bytes.fromhex(params["salt"]),
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r + 2**20,
        dklen=32,
    )


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeystoreError(f"no keystore at {path}; create one with `sesh keys new`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("type") != KEYSTORE_TYPE:
        raise KeystoreError(f"{path} is not a sesh node keystore")
    if document.get("version") != KEYSTORE_VERSION:
        raise KeystoreError(f"{path}: keystore version {document.get('version')} is unknown")
    problem = _incomplete(document)
    if problem is not None:
        raise KeystoreError(
            f"{path} is not a complete sesh node keystore ({problem}); restore it from your backup"
        )
    return document


# The fields every keystore of this version holds, and the text fields among them that
# are hex.
_TOP_FIELDS = ("node_id", "ed25519_pubkey", "bls_pubkey", "crypto")
_CRYPTO_HEX = ("nonce", "ciphertext")
_KDF_INTS = ("n", "r", "p")


def _incomplete(document: dict[str, Any]) -> str | None:
    """What is missing or malformed in a keystore document, or None (checked before use,
    so an edited or truncated file is a `KeystoreError`, never a KeyError)."""
    for name in _TOP_FIELDS:
        if name not in document:
            return f"field {name!r} missing"
    for name in ("node_id", "ed25519_pubkey", "bls_pubkey"):
        if not isinstance(document[name], str):
            return f"field {name!r} is not text"
    crypto = document["crypto"]
    if not isinstance(crypto, dict):
        return "field 'crypto' is not an object"
    for name in (*_CRYPTO_HEX, "kdfparams"):
        if name not in crypto:
            return f"field 'crypto.{name}' missing"
    for name in _CRYPTO_HEX:
        if not _is_hex(crypto[name]):
            return f"field 'crypto.{name}' is not hex"
    params = crypto["kdfparams"]
    if not isinstance(params, dict):
        return "field 'crypto.kdfparams' is not an object"
    for name in _KDF_INTS:
        value = params.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"field 'crypto.kdfparams.{name}' is not a positive integer"
    if not _is_hex(params.get("salt")):
        return "field 'crypto.kdfparams.salt' is not hex"
    return None


def _is_hex(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # link, not replace: never overwrite a keystore that appeared meanwhile.
        os.link(tmp, path)
    except FileExistsError:
        raise KeystoreError(f"{path} exists; choose another path") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
