"""Requests to servers through onion paths: Session's `/oxen/v4/lsrpc` format. Pure.

The client's innermost layer goes to a server (a file server, SOGS) instead of a node. The
last node decrypts its layer, finds `host`/`target`/`port`/`protocol` in the routing JSON,
and POSTs the *whole* decrypted envelope to `protocol://host:port/target`:

    u32-LE n ‖ blob (n bytes) ‖ {"host", "target", "port", "protocol", "method": "POST",
                                  "ephemeral_key", "enc_type"}

The server decrypts `blob` with its X25519 key and the `ephemeral_key` of that JSON (the
same layer keys as between nodes, see onion.py), and encrypts its answer with the same key.
The answer is returned as raw bytes (no base64) and every node passes it back untouched.

A v4 request (the plaintext of `blob`) is a bencoded list of one or two byte strings:

    l <len>:{"method": "POST", "endpoint": "/file", "headers": {...}} [<len>:<body>] e

The endpoint starts with `/`; the body is present for POST/PUT. The answer is a bencoded
list of two strings, `{"code": <HTTP status>, "headers": {lower-case names}}` and the body:

    l58:{"code":200,"headers":{"content-type":"application/json"}}11:{"id": 123}e
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sesh.protocol.bencode import BencodeError, string_at
from sesh.protocol.onion import (
    OnionError,
    open_layer,
    parse_request,
    seal,
)

# Targets a node relays to (Session's storage server allows exactly these shapes).
TARGET_PREFIXES = ("/oxen/", "/loki/")
TARGET_SUFFIX = "/lsrpc"
V4_TARGET = "/oxen/v4/lsrpc"
PROTOCOLS = ("http", "https")
BODY_METHODS = ("POST", "PUT")


class LsrpcError(ValueError):
    """A v4 request or answer that does not parse; the message says why."""


def target_allowed(target: str) -> bool:
    """Session's rule: `/oxen/…/lsrpc` or `/loki/…/lsrpc`, no query string."""
    return (
        target.startswith(TARGET_PREFIXES) and target.endswith(TARGET_SUFFIX) and "?" not in target
    )


def server_url(protocol: str, host: str, port: int, target: str) -> str:
    """The URL a node POSTs to (the port is left out when it is the protocol's default)."""
    default = 443 if protocol == "https" else 80
    netloc = f"[{host}]" if ":" in host else host
    if port != default:
        netloc += f":{port}"
    return f"{protocol}://{netloc}{target if target.startswith('/') else '/' + target}"


# ----- v4 requests and answers


@dataclass(frozen=True)
class V4Request:
    method: str
    endpoint: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def encode(self) -> bytes:
        meta = json.dumps(
            {"method": self.method, "endpoint": self.endpoint, "headers": self.headers},
            separators=(",", ":"),
        ).encode()
        parts = [meta] if self.body is None else [meta, self.body]
        return b"l" + b"".join(b"%d:%s" % (len(p), p) for p in parts) + b"e"


@dataclass(frozen=True)
class V4Response:
    code: int
    headers: dict[str, str]
    body: bytes

    def encode(self) -> bytes:
        meta = json.dumps({"code": self.code, "headers": self.headers}, separators=(",", ":"))
        parts = (meta.encode(), self.body)
        return b"l" + b"".join(b"%d:%s" % (len(p), p) for p in parts) + b"e"

    def json(self) -> Any:
        return json.loads(self.body)


def _string_list(data: bytes | memoryview, what: str) -> list[bytes]:
    view = memoryview(data)
    if len(view) < 2 or view[0] != ord("l") or view[-1] != ord("e"):
        raise LsrpcError(f"a v4 {what} is a bencoded list")
    parts, pos = [], 1
    try:
        while pos < len(view) - 1:
            part, pos = string_at(view, pos)
            parts.append(part)
    except BencodeError as exc:
        raise LsrpcError(f"v4 {what}: {exc}") from None
    if pos != len(view) - 1:
        raise LsrpcError(f"v4 {what}: bytes after the list")
    if not 1 <= len(parts) <= 2:
        raise LsrpcError(f"a v4 {what} has 1 or 2 parts, not {len(parts)}")
    return parts


def _meta(raw: bytes, what: str) -> dict[str, Any]:
    try:
        meta = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise LsrpcError(f"v4 {what} metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise LsrpcError(f"v4 {what} metadata is not a JSON object")
    return meta


def _headers(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise LsrpcError(f"v4 {what} headers must map strings to strings")
    return value


def decode_request(data: bytes | memoryview) -> V4Request:
    parts = _string_list(data, "request")
    meta = _meta(parts[0], "request")
    method, endpoint = meta.get("method"), meta.get("endpoint")
    if not isinstance(method, str) or not isinstance(endpoint, str):
        raise LsrpcError("v4 request needs string method and endpoint")
    if not endpoint.startswith("/"):
        raise LsrpcError("v4 request endpoint must start with /")
    body = parts[1] if len(parts) == 2 else None
    if body is not None and method.upper() not in BODY_METHODS:
        raise LsrpcError(f"a {method} request must not carry a body")
    return V4Request(method.upper(), endpoint, _headers(meta.get("headers"), "request"), body)


def decode_response(data: bytes | memoryview) -> V4Response:
    parts = _string_list(data, "response")
    meta = _meta(parts[0], "response")
    code = meta.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        raise LsrpcError("v4 response metadata needs an integer code")
    body = parts[1] if len(parts) == 2 else b""
    return V4Response(code, _headers(meta.get("headers"), "response"), body)


# ----- server side: the request a node relays


@dataclass(frozen=True)
class ServerOnion:
    """A decrypted request to a server, and how to encrypt its answer."""

    payload: bytes
    reply_key: bytes
    enc_type: str
    ephemeral_key: bytes

    def encrypt_reply(self, plaintext: bytes) -> bytes:
        return seal(self.enc_type, self.reply_key, plaintext)


def open_server_request(envelope: bytes, secret: bytes, public: bytes) -> ServerOnion:
    """Decrypt the envelope a node relayed (OnionError(400) if it does not parse or decrypt;
    the extra routing keys in its JSON are ignored, as Session's servers ignore them)."""
    request = parse_request(envelope)
    plaintext, key = open_layer(request, secret, public)
    return ServerOnion(plaintext, key, request.enc_type, request.ephemeral_key)


__all__ = [
    "PROTOCOLS",
    "V4_TARGET",
    "LsrpcError",
    "OnionError",
    "ServerOnion",
    "V4Request",
    "V4Response",
    "decode_request",
    "decode_response",
    "open_server_request",
    "server_url",
    "target_allowed",
]
