"""Attachments as Session encrypts them before upload, and the pointer a message carries.
Pure.

    key    = 32-byte AES-256 key ‖ 32-byte HMAC-SHA256 key (fresh per attachment)
    padded = file ‖ zeros up to max(541, ⌊1.05^⌈log₁.₀₅ size⌉⌋)  (hides the exact size)
    blob   = iv (16) ‖ AES-256-CBC(key_aes, iv, PKCS#7(padded)) ‖ HMAC-SHA256(key_mac, iv ‖ ct)
    digest = SHA-256(blob)

The blob goes to the file server; the message (sealed to the recipient) carries the
pointer: server URL with the file id, key, digest, real size, content type and file name.
The recipient checks the digest and the MAC before decrypting, and cuts the padding with
the size.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_BYTES = 64
IV_BYTES = 16
MAC_BYTES = 32
MIN_PADDED = 541


class AttachmentError(ValueError):
    """An attachment or pointer that does not check out; the message says why."""


def padded_size(size: int) -> int:
    if size <= MIN_PADDED:
        return MIN_PADDED
    return max(size, math.floor(1.05 ** math.ceil(math.log(size, 1.05))))


def encrypt_attachment(data: bytes, key: bytes | None = None, iv: bytes | None = None):
    """(blob, key, digest) for `data` (key and iv injectable for tests)."""
    key = key if key is not None else os.urandom(KEY_BYTES)
    iv = iv if iv is not None else os.urandom(IV_BYTES)
    if len(key) != KEY_BYTES or len(iv) != IV_BYTES:
        raise AttachmentError("an attachment key is 64 bytes and its iv 16")
    padded = data + bytes(padded_size(len(data)) - len(data))
    padder = padding.PKCS7(128).padder()
    plain = padder.update(padded) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key[:32]), modes.CBC(iv)).encryptor()
    body = iv + encryptor.update(plain) + encryptor.finalize()
    blob = body + hmac.new(key[32:], body, hashlib.sha256).digest()
    return blob, key, hashlib.sha256(blob).digest()


def decrypt_attachment(blob: bytes, key: bytes, digest: bytes, size: int) -> bytes:
    if len(key) != KEY_BYTES:
        raise AttachmentError("an attachment key is 64 bytes")
    if not hmac.compare_digest(hashlib.sha256(blob).digest(), digest):
        raise AttachmentError("the attachment does not match its digest")
    if len(blob) < IV_BYTES + 16 + MAC_BYTES or (len(blob) - IV_BYTES - MAC_BYTES) % 16:
        raise AttachmentError("the attachment is too short or not whole blocks")
    body, mac = blob[:-MAC_BYTES], blob[-MAC_BYTES:]
    if not hmac.compare_digest(hmac.new(key[32:], body, hashlib.sha256).digest(), mac):
        raise AttachmentError("the attachment's MAC does not verify")
    decryptor = Cipher(algorithms.AES(key[:32]), modes.CBC(body[:IV_BYTES])).decryptor()
    padded = decryptor.update(body[IV_BYTES:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise AttachmentError("the attachment's padding is invalid") from None
    if not 0 <= size <= len(plain):
        raise AttachmentError(f"the pointer's size {size} exceeds the attachment")
    return plain[:size]


@dataclass(frozen=True)
class AttachmentPointer:
    url: str  # file server base URL + /file/<id>
    key: bytes
    digest: bytes
    size: int
    content_type: str = "application/octet-stream"
    file_name: str = ""

    @property
    def file_id(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "key": base64.b64encode(self.key).decode(),
            "digest": base64.b64encode(self.digest).decode(),
            "size": self.size,
            "content_type": self.content_type,
            "file_name": self.file_name,
        }

    @classmethod
    def from_json(cls, value: Any) -> AttachmentPointer:
        try:
            pointer = cls(
                str(value["url"]),
                base64.b64decode(value["key"], validate=True),
                base64.b64decode(value["digest"], validate=True),
                int(value["size"]),
                str(value.get("content_type", "application/octet-stream")),
                str(value.get("file_name", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AttachmentError(f"not an attachment pointer: {exc}") from None
        if (
            len(pointer.key) != KEY_BYTES
            or len(pointer.digest) != 32
            or "/file/" not in pointer.url
        ):
            raise AttachmentError(
                "an attachment pointer has a 64-byte key, a 32-byte digest, a file URL"
            )
        return pointer


# ----- messages carrying attachments

MESSAGE_VERSION_KEY = "sesh_message"


def encode_message(text: str, attachments: list[AttachmentPointer]) -> bytes:
    """A message with attachments: `{"sesh_message": 1, "text", "attachments": [...]}`
    (a message without any stays plain UTF-8 text, as `sesh msg` always sent it)."""
    if not attachments:
        return text.encode()
    body = {MESSAGE_VERSION_KEY: 1, "text": text, "attachments": [a.json() for a in attachments]}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_message(plaintext: bytes) -> tuple[str, list[AttachmentPointer]]:
    """(text, attachments) of an opened message; plain text has none."""
    text = plaintext.decode("utf-8", "replace")
    if not text.startswith("{"):
        return text, []
    try:
        body = json.loads(text)
    except ValueError:
        return text, []
    if not isinstance(body, dict) or body.get(MESSAGE_VERSION_KEY) != 1:
        return text, []
    pointers = [AttachmentPointer.from_json(a) for a in body.get("attachments", [])]
    return str(body.get("text", "")), pointers
