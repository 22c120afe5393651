"""The storage RPC's requests (pure): Session's field names, aliases, limits and error
texts, namespaces, message hashes and the texts each signature covers (docs/protocol.md,
"Storage RPC").

- Accounts are 33 bytes (`05` + X25519 key for Session IDs; `03` groups, ...), 66 hex
  digits on the wire.
- Namespaces -32768..32767; those divisible by 10 (0 included) take deposits from anyone,
  the others need the account's Ed25519 signature; retrieving always needs it, except the
  legacy group namespace -10 and the public outboxes -(20n+1).
- Messages: at most 76,800 bytes, TTL 10 s to 14 days (30 days in authenticated
  namespaces); hash = unpadded base64 of BLAKE2b-256(account ‖ namespace as decimal, empty
  for 0 ‖ data).
- Subaccounts: a 36-byte token (account type byte ‖ flags ‖ 2 reserved bytes ‖ Ed25519 key)
  signed by the account lets the token's key sign requests in the account's place, with the
  access the flags grant (read 1, write 2, delete 4, any type byte 8), unless the account
  revoked the token (its 50 latest revocations count; namespaces −(100n+11) ignore them for
  retrieving).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

from sesh.crypto.key_files import x25519_from_ed25519
from sesh.protocol import bencode
from sesh.protocol.hexes import from_hex
from sesh.protocol.wire_json import MAX_DEPTH, too_deep

SECOND_MS = 1_000
DAY_MS = 86_400_000
TTL_MIN_MS = 10 * SECOND_MS
TTL_MAX_MS = 14 * DAY_MS
TTL_MAX_PRIVATE_MS = 30 * DAY_MS
# A store's timestamp may be this far in the future, its expiry this far in the past.
STORE_TOLERANCE_MS = 10 * SECOND_MS
SIGNATURE_TOLERANCE_MS = 60 * SECOND_MS
SIGNATURE_TOLERANCE_FORWARDED_MS = 70 * SECOND_MS
MAX_MESSAGE_BYTES = 76_800
MAX_MESSAGE_BASE64 = MAX_MESSAGE_BYTES // 3 * 4
# Largest retrieve answer (Session's: the network's 10 MiB less base64 and overhead).
RETRIEVE_MAX_SIZE = 7_800_000
# Most message hashes one delete or expire may name (Session has no bound).
MAX_HASHES_PER_REQUEST = 1_000
NAMESPACE_MIN, NAMESPACE_MAX = -32768, 32767
LEGACY_GROUP_NAMESPACE = -10
# What answers report as Session's storage servers do: the network's hard fork (Session's
# network on Arbitrum is hard fork 21) and the storage server version whose client API this
# node serves (clients and `ifelse` compare against Session's versions, not ours).
HARDFORK = (21, 0)
STORAGE_SERVER_VERSION = (2, 11, 0)
# Most subrequests in one batch or sequence.
BATCH_REQUEST_MAX = 20
SUBACCOUNT_TOKEN_BYTES = 36
# Revocations kept per account (the latest ones), and at most revoked in one request.
MAX_REVOKED_TOKENS = 50
ACCESS_READ, ACCESS_WRITE, ACCESS_DELETE, ACCESS_ANY_PREFIX = 1, 2, 4, 8
ACCOUNT_BYTES = 33
HASH_CHARS = 43
# Catch-up pages and hand-off batches.

_HASH_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")


def is_public_inbox(namespace: int) -> bool:
    """Anyone may deposit (0 and every multiple of 10)."""
    return namespace % 10 == 0


def is_public_outbox(namespace: int) -> bool:
    """One message at a time, readable by anyone, written by the owner: -1, -21, -41, ..."""
    return namespace < 0 and -namespace % 20 == 1


def is_noauth_retrieve(namespace: int) -> bool:
    return namespace == LEGACY_GROUP_NAMESPACE or is_public_outbox(namespace)


def is_unrevocable(namespace: int) -> bool:
    """A revoked subaccount may still retrieve here: −11, −111, −211, ... (a group leaves a
    removed member the notice of their removal)."""
    return namespace < 0 and -namespace % 100 == 11


def namespace_text(namespace: int) -> str:
    """A namespace as it appears in hashes and signatures: empty for 0."""
    return "" if namespace == 0 else str(namespace)


def message_hash(account: bytes, namespace: int, data: bytes) -> str:
    digest = hashlib.blake2b(digest_size=32)
    digest.update(account)
    digest.update(namespace_text(namespace).encode())
    digest.update(data)
    return base64.b64encode(digest.digest()).decode().rstrip("=")


def now_ms(clock: Callable[[], float]) -> int:
    return int(clock() * 1000)


# ----- answers and errors


class Response:
    """An RPC answer: a JSON object or a text body, with an HTTP status.

    A handler that writes its JSON itself (retrieve: the answer is mostly message data)
    gives `json_text` instead of a dict; `body` then parses it only if someone asks (tests,
    node-to-node copies), and a body changed after that is rendered again."""

    __slots__ = ("_body", "_json_text", "bt", "status")

    def __init__(
        self, status: int, body: dict[str, Any] | str | None = None, json_text: str | None = None
    ):
        if (body is None) == (json_text is None):
            raise ValueError("a Response has a body or its JSON text, not both")
        self.status = status
        self._body = body
        self._json_text = json_text
        # Answer in bencode (the request came bencoded): see `bt_answer`.
        self.bt = False

    @property
    def body(self) -> dict[str, Any] | str:
        if self._body is None:
            self._body = json.loads(self._json_text)  # type: ignore[arg-type]
        # Whoever holds the object may change it: render it again.
        self._json_text = None
        return self._body

    def __repr__(self) -> str:
        return f"Response(status={self.status}, body={self.body!r})"

    def _json(self) -> str | None:
        """The body as compact JSON, or None for a text body."""
        if self._json_text is not None:
            return self._json_text
        if isinstance(self._body, str):
            return None
        return compact_json(self._body)

    def http(self) -> web.Response:
        if self.bt:
            return web.Response(
                status=self.status,
                body=bt_answer(self.body),
                content_type="application/octet-stream",
            )
        text = self._json()
        if text is None:
            return web.Response(status=self.status, text=self._body)  # type: ignore[arg-type]
        # What web.json_response builds, without its detour through a text body.
        return web.Response(
            status=self.status,
            body=text.encode(),
            content_type="application/json",
            charset="utf-8",
        )

    def onion_reply(self, embed_json: bool) -> bytes:
        """`{"status", "body"}` as the target of an onion request returns it: a JSON body
        as a string, unless the client asked for it embedded. A bencoded request gets the
        bencoded list `[status, body]`, as Session's QUIC transport answers one."""
        if self.bt:
            return bencode.encode([self.status, bt_value(self.body)])
        text = self._json()
        if text is None:
            return compact_json({"status": self.status, "body": self._body}).encode()
        if embed_json:
            # Compact JSON nests as it stands.
            return f'{{"status":{int(self.status)},"body":{text}}}'.encode()
        return compact_json({"status": self.status, "body": text}).encode()


# One encoder for every answer: json.dumps builds a new one per call when given options.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def compact_json(value: Any) -> str:
    """JSON without spaces, as `json.dumps(value, separators=(",", ":"))` writes it."""
    return _COMPACT.encode(value)


class RpcError(Exception):
    """A request refused with `status` and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        return Response(self.status, self.message)


def _invalid(message: str) -> RpcError:
    return RpcError(400, f"invalid request: {message}")


# ----- parameter parsing (Session's field names, aliases and messages)


def one_of(params: dict[str, Any], name: str, alias: str) -> Any:
    first, second = params.get(name), params.get(alias)
    if first is not None and second is not None:
        raise _invalid(f"Cannot specify both '{name}' and '{alias}'")
    return first if first is not None else second


def _int(value: Any, name: str, stringified: bool = False) -> int:
    if stringified and isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"Invalid value given for '{name}': expected integer")
    return value


def parse_timestamp(value: Any, name: str, stringified: bool = False) -> int:
    ms = _int(value, name, stringified)
    if ms < 0 or ms >= 1 << 63:
        raise _invalid(f"Invalid value given for '{name}': out of range")
    if ms < 1_000_000_000:
        raise _invalid(f"Invalid timestamp for '{name}': timestamp must be in milliseconds")
    return ms


def _bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _invalid(f"Invalid value given for '{name}': expected boolean")
    return value


def parse_account(value: Any) -> bytes:
    if value is None:
        raise _invalid("Required field 'pubkey' missing")
    if isinstance(value, str) and len(value) == 2 * ACCOUNT_BYTES:
        try:
            return from_hex(value)
        except ValueError:
            pass
    raise _invalid(f"Pubkey must be {2 * ACCOUNT_BYTES} hex digits ({ACCOUNT_BYTES} bytes) long")


def parse_namespace(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("Invalid value given for 'namespace': expected 16-bit integer")
    if not NAMESPACE_MIN <= value <= NAMESPACE_MAX:
        raise _invalid("Invalid value given for 'namespace': value out of range")
    return value


def parse_hash(value: Any) -> str:
    if not isinstance(value, str) or not _HASH_RE.match(value):
        raise _invalid(f"invalid message hash: {value!r}"[:120])
    return value


def parse_hashes(value: Any) -> list[str]:
    if value is None:
        raise _invalid("Required field 'messages' missing")
    hashes = [value] if isinstance(value, str) else value
    if not isinstance(hashes, list):
        raise _invalid("Invalid value given for 'messages': expected string array")
    if not hashes:
        raise _invalid("messages does not contain any message hashes")
    if len(hashes) > MAX_HASHES_PER_REQUEST:
        raise _invalid(f"at most {MAX_HASHES_PER_REQUEST} message hashes per request")
    return [parse_hash(h) for h in hashes]


def b64decode(text: str) -> bytes:
    """Standard base64, padded or not; ValueError otherwise."""
    if len(text) % 4 == 1:
        raise ValueError("bad length")
    padded = text + "=" * (-len(text) % 4)
    return binascii.a2b_base64(padded.encode(), strict_mode=True)


def parse_data(value: Any) -> bytes:
    if value is None:
        raise _invalid("Required field 'data' missing")
    if not isinstance(value, str):
        raise _invalid("Invalid value given for 'data': expected string")
    if len(value) > MAX_MESSAGE_BASE64:
        raise _invalid(f"Message body exceeds maximum allowed length of {MAX_MESSAGE_BYTES} bytes")
    try:
        data = b64decode(value)
    except (ValueError, binascii.Error):
        raise _invalid("Invalid 'data' value: not base64 encoded") from None
    return data


@dataclass(frozen=True)
class Subaccount:
    """A subaccount token and the account's signature of it."""

    token: bytes
    signature: bytes

    @property
    def flags(self) -> int:
        return self.token[1]

    @property
    def pubkey(self) -> bytes:
        return self.token[4:]

    def has(self, access: int) -> bool:
        return self.flags & access == access


@dataclass(frozen=True)
class Auth:
    """A request's signature, by the account (or, for `05` accounts, by the Ed25519 key
    whose X25519 form the account is), or by a subaccount the account signed for."""

    signature: bytes
    pubkey_ed25519: bytes | None
    subaccount: Subaccount | None = None


def _signature_bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not (
        len(value) == 86 or (len(value) == 88 and value.endswith("=="))
    ):
        raise _invalid(f"invalid {what}: expected base64 encoded Ed25519 signature")
    try:
        return b64decode(value)
    except (ValueError, binascii.Error):
        raise _invalid(f"invalid {what}: expected base64 encoded Ed25519 signature") from None


def parse_token(value: Any, what: str) -> bytes:
    """A subaccount token given as base64 (48 characters) or hex (72)."""
    if isinstance(value, str):
        try:
            if len(value) == SUBACCOUNT_TOKEN_BYTES * 4 // 3:
                return b64decode(value)
            if len(value) == SUBACCOUNT_TOKEN_BYTES * 2:
                return from_hex(value)
        except (ValueError, binascii.Error):
            pass
    raise _invalid(f"{what}: expected base64 or hex-encoded subaccount token")


def parse_subaccount(params: dict[str, Any]) -> Subaccount | None:
    token = params.get("subaccount")
    if token is None or token == "":
        return None
    if params.get("subaccount_sig") is None:
        raise _invalid("invalid subaccount: subaccount_sig is required when using subaccount")
    raw = parse_token(token, "invalid subaccount")
    return Subaccount(raw, _signature_bytes(params["subaccount_sig"], "subaccount signature"))


def parse_auth(params: dict[str, Any], account: bytes, required: bool) -> Auth | None:
    signature = params.get("signature")
    ed25519 = params.get("pubkey_ed25519")
    if signature is None:
        if required:
            raise _invalid("Required field 'signature' missing")
        return None
    raw = _signature_bytes(signature, "signature")
    key = None
    if ed25519 is not None:
        if account[0] != 0x05:
            raise _invalid("pubkey_ed25519 is only permitted for 05[...] pubkeys")
        if not isinstance(ed25519, str) or len(ed25519) != 64:
            raise _invalid("Invalid pubkey_ed25519: expected 64 hex char or 32 byte pubkey")
        try:
            key = from_hex(ed25519)
        except ValueError:
            raise _invalid("invalid pubkey_ed25519: value is not hex") from None
    return Auth(raw, key, parse_subaccount(params))


def _verifies(signature: bytes, message: bytes, key: bytes) -> bool:
    try:
        crypto_sign_open(signature + message, key)
    except (BadSignatureError, ValueError, TypeError):
        return False
    except Exception:  # libsodium refuses some keys outright  # noqa: BLE001
        return False
    return True


def verify_auth(
    account: bytes,
    auth: Auth,
    message: bytes,
    access: int = 0,
    revoked: Callable[[bytes], bool] | None = None,
) -> bool:
    """Whether `auth` signs `message` for `account`. With a subaccount: the token must not be
    `revoked`, must be for the account's type byte (or any, with that flag), grant `access`,
    carry the account's signature, and its key must sign `message`."""
    verify_key = account[1:]
    if account[0] == 0x05 and auth.pubkey_ed25519 is not None:
        try:
            if x25519_from_ed25519(auth.pubkey_ed25519) != account[1:]:
                return False
        except ValueError:
            return False
        verify_key = auth.pubkey_ed25519
    sub = auth.subaccount
    if sub is not None:
        if revoked is not None and revoked(sub.token):
            return False
        if sub.token[0] != account[0] and not sub.has(ACCESS_ANY_PREFIX):
            return False
        if not sub.has(access):
            return False
        if not _verifies(sub.signature, sub.token, verify_key):
            return False
        verify_key = sub.pubkey
    return _verifies(auth.signature, message, verify_key)


@dataclass(frozen=True)
class StoreRequest:
    account: bytes
    namespace: int
    timestamp: int
    expiry: int
    data: bytes
    auth: Auth | None
    sig_timestamp: int


def parse_store(params: dict[str, Any]) -> StoreRequest:
    timestamp = params.get("timestamp")
    if timestamp is None:
        raise _invalid("Required field 'timestamp' missing")
    timestamp = parse_timestamp(timestamp, "timestamp", stringified=True)
    ttl, expiry = params.get("ttl"), params.get("expiry")
    if ttl is not None and expiry is not None:
        raise _invalid("Cannot specify both 'expiry' and 'ttl'")
    if ttl is None and expiry is None:
        raise _invalid("Required field 'expiry' or 'ttl' missing")
    if ttl is not None:
        ttl = _int(ttl, "ttl", stringified=True)
        if ttl < 0:
            raise _invalid("Invalid value given for 'ttl': expected positive integer")
        expiry = timestamp + ttl
    else:
        expiry = parse_timestamp(expiry, "expiry")
    account = parse_account(one_of(params, "pubkey", "pubKey"))
    namespace = parse_namespace(params.get("namespace"))
    auth = parse_auth(params, account, required=False)
    sig_timestamp = timestamp
    if auth is not None and params.get("sig_timestamp") is not None:
        sig_timestamp = parse_timestamp(params["sig_timestamp"], "sig_timestamp")
    data = parse_data(params.get("data"))
    return StoreRequest(account, namespace, timestamp, expiry, data, auth, sig_timestamp)


@dataclass(frozen=True)
class RetrieveRequest:
    account: bytes
    namespace: int
    last_hash: str | None
    max_count: int | None
    max_size: int | None
    auth: Auth | None
    timestamp: int | None
    # Newest first, and `last_hash` pages towards older messages.
    reverse: bool = False


def parse_retrieve(params: dict[str, Any]) -> RetrieveRequest:
    account = parse_account(one_of(params, "pubkey", "pubKey"))
    namespace_given = params.get("namespace") is not None
    namespace = parse_namespace(params.get("namespace"))
    signed = any(params.get(k) is not None for k in ("pubkey_ed25519", "signature", "timestamp"))
    auth = None
    timestamp = None
    if signed or (namespace_given and not is_noauth_retrieve(namespace)):
        auth = parse_auth(params, account, required=True)
        if params.get("timestamp") is None:
            raise _invalid("Required field 'timestamp' missing")
        timestamp = parse_timestamp(params["timestamp"], "timestamp")
    last_hash = one_of(params, "last_hash", "lastHash")
    if last_hash == "":
        last_hash = None
    if last_hash is not None:
        if not isinstance(last_hash, str) or len(last_hash) != HASH_CHARS:
            raise _invalid("Invalid last_hash: expected base64 (43 chars)")
        if not _HASH_RE.match(last_hash):
            raise _invalid("Invalid last_hash: not base64")
    counts = []
    for name in ("max_count", "max_size"):
        value = params.get(name)
        count = None if value is None else _int(value, name)
        if count is not None and not -(1 << 31) <= count < 1 << 31:
            # Session reads both as 32-bit integers.
            raise _invalid(f"Invalid value given for '{name}': out of range")
        counts.append(count)
    reverse = _bool(params, "reverse_direction")
    return RetrieveRequest(
        account, namespace, last_hash, counts[0], counts[1], auth, timestamp, reverse
    )


@dataclass(frozen=True)
class DeleteRequest:
    account: bytes
    hashes: list[str]
    auth: Auth
    required: bool


def _signed_by_owner(params: dict[str, Any]) -> tuple[bytes, Auth, list[str]]:
    """The account, its signature and the message hashes of a `delete` or `expire`."""
    account = parse_account(params.get("pubkey"))
    auth = parse_auth(params, account, required=True)
    assert auth is not None
    return account, auth, parse_hashes(params.get("messages"))


def parse_delete(params: dict[str, Any]) -> DeleteRequest:
    account, auth, hashes = _signed_by_owner(params)
    return DeleteRequest(account, hashes, auth, _bool(params, "required"))


@dataclass(frozen=True)
class ExpireRequest:
    account: bytes
    hashes: list[str]
    expiries: list[int]
    shorten: bool
    extend: bool
    auth: Auth


def parse_expire(params: dict[str, Any]) -> ExpireRequest:
    account, auth, hashes = _signed_by_owner(params)
    raw = params.get("expiry")
    if raw is None:
        raise _invalid("Required field 'expiry' missing")
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise _invalid("'expiry' does not contain any expiration timestamps")
    expiries = [parse_timestamp(v, "expiry") for v in values]
    shorten, extend = _bool(params, "shorten"), _bool(params, "extend")
    if shorten and extend:
        raise _invalid("cannot specify both 'shorten' and 'extend'")
    if len(expiries) > 1 and len(expiries) != len(hashes):
        raise _invalid("'expiry' must be a single expiry, or the same length as 'messages'")
    return ExpireRequest(account, hashes, expiries, shorten, extend, auth)


def parse_rpc_body(body: bytes) -> tuple[str, dict[str, Any]]:
    """(method, params) of a storage RPC body; RpcError(400) as Session words it."""
    try:
        if too_deep(body):
            raise RpcError(400, f"invalid json: nested deeper than {MAX_DEPTH} levels")
        if body[:1] == b"{" and body[1:2] != b"\x00":
            # What json.loads(bytes) decodes as UTF-8 (no BOM, no UTF-16/32 zero bytes),
            # without its encoding detection in Python.
            request = json.loads(body.decode("utf-8", "surrogatepass"))
        else:
            request = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RpcError(400, "invalid json") from None
    if not isinstance(request, dict):
        raise RpcError(400, "invalid json")
    method = request.get("method")
    if not isinstance(method, str):
        raise RpcError(400, "invalid json: no `method` field")
    params = request.get("params")
    if not isinstance(params, dict):
        raise RpcError(400, "invalid json: no `params` field")
    return method, params


def parse_client_body(body: bytes) -> tuple[str, dict[str, Any], bool]:
    """(method, params, whether bencoded) of a client's request: JSON `{"method", "params"}`
    or the same as a bencoded dict (binary fields as Session's bt requests carry them)."""
    if body[:1] != b"d":
        method, params = parse_rpc_body(body)
        return method, params, False
    try:
        request = bencode.decode(body)
    except bencode.BencodeError as exc:
        raise RpcError(400, f"invalid bt request: {exc}"[:200]) from None
    method = request.get(b"method")
    if not isinstance(method, bytes):
        raise RpcError(400, "invalid bt request: no `method` field")
    params = request.get(b"params", {})
    if not isinstance(params, dict):
        raise RpcError(400, "invalid bt request: no `params` field")
    try:
        return method.decode(), params_from_bt(params), True
    except (UnicodeDecodeError, RpcError):
        raise RpcError(400, "invalid bt request: method or keys are not text") from None


def op_id(method: str, params: dict[str, Any]) -> str:
    """The identity of a signed deletion or expiry change, the same on every node."""
    canonical = json.dumps([method, params], separators=(",", ":"), sort_keys=True)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def expire_message(req: ExpireRequest) -> bytes:
    mode = "shorten" if req.shorten else "extend" if req.extend else ""
    text = "expire" + mode + "".join(str(e) for e in req.expiries) + "".join(req.hashes)
    return text.encode()


# ----- the methods over all of an account's messages, subaccount revocation, expiries


ALL_NAMESPACES = "all"


def parse_namespace_var(value: Any) -> int | str:
    """A namespace, or "all" where a method takes every namespace."""
    if value is None:
        return 0
    if value == ALL_NAMESPACES:
        return ALL_NAMESPACES
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("Invalid value given for 'namespace': expected integer or \"all\"")
    if not NAMESPACE_MIN <= value <= NAMESPACE_MAX:
        raise _invalid("Invalid value given for 'namespace': value out of range")
    return value


def namespace_var_text(namespace: int | str) -> str:
    """A namespace (or "all") as signed: empty for 0."""
    return "" if namespace == 0 else str(namespace)


def _required_timestamp(params: dict[str, Any], name: str) -> int:
    if params.get(name) is None:
        raise _invalid(f"Required field '{name}' missing")
    return parse_timestamp(params[name], name)


@dataclass(frozen=True)
class AccountWideRequest:
    """`delete_all` (`when`: the signed timestamp), `delete_before` (`when`: before) or
    `expire_all` (`when`: the new expiry), over one namespace or all of them."""

    method: str
    account: bytes
    namespace: int | str
    when: int
    auth: Auth

    def signed_text(self) -> bytes:
        return (self.method + namespace_var_text(self.namespace) + str(self.when)).encode()


# The field each account-wide method signs its time in.
ACCOUNT_WIDE_FIELDS = {"delete_all": "timestamp", "delete_before": "before", "expire_all": "expiry"}


def parse_account_wide(method: str, params: dict[str, Any]) -> AccountWideRequest:
    account = parse_account(params.get("pubkey"))
    auth = parse_auth(params, account, required=True)
    assert auth is not None
    namespace = parse_namespace_var(params.get("namespace"))
    when = _required_timestamp(params, ACCOUNT_WIDE_FIELDS[method])
    return AccountWideRequest(method, account, namespace, when, auth)


@dataclass(frozen=True)
class RevokeRequest:
    """`revoke_subaccount` / `unrevoke_subaccount`: signed by the account itself."""

    method: str
    account: bytes
    tokens: list[bytes]
    timestamp: int
    auth: Auth

    def signed_text(self) -> bytes:
        return self.method.encode() + str(self.timestamp).encode() + b"".join(self.tokens)


def parse_revoke(method: str, params: dict[str, Any]) -> RevokeRequest:
    field_name = "revoke" if method == "revoke_subaccount" else "unrevoke"
    account = parse_account(params.get("pubkey"))
    auth = parse_auth(params, account, required=True)
    assert auth is not None
    raw = params.get(field_name)
    if raw is None:
        raise _invalid(f"Required field '{field_name}' missing")
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _invalid(f"Invalid value given for '{field_name}': expected string array")
    if method == "revoke_subaccount" and len(values) > MAX_REVOKED_TOKENS:
        raise _invalid(
            f"invalid revoke: cannot revoke more than {MAX_REVOKED_TOKENS} subaccounts at once"
        )
    if len(values) > MAX_HASHES_PER_REQUEST:
        raise _invalid(f"at most {MAX_HASHES_PER_REQUEST} tokens per request")
    tokens = [parse_token(v, f"invalid {field_name}") for v in values]
    timestamp = _required_timestamp(params, "timestamp")
    # The account signs its own revocations: a subaccount may not.
    return RevokeRequest(
        method, account, tokens, timestamp, Auth(auth.signature, auth.pubkey_ed25519)
    )


@dataclass(frozen=True)
class SignedAtRequest:
    """`get_expiries` (with `hashes`) or `revoked_subaccounts`: a read signed with a
    timestamp."""

    method: str
    account: bytes
    hashes: list[str]
    timestamp: int
    auth: Auth

    def signed_text(self) -> bytes:
        return (self.method + str(self.timestamp) + "".join(self.hashes)).encode()


def parse_get_expiries(params: dict[str, Any]) -> SignedAtRequest:
    account = parse_account(params.get("pubkey"))
    auth = parse_auth(params, account, required=True)
    assert auth is not None
    timestamp = _required_timestamp(params, "timestamp")
    raw = params.get("messages")
    if raw is None:
        raise _invalid("Required field 'messages' missing")
    hashes = [raw] if isinstance(raw, str) else raw
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise _invalid("Invalid value given for 'messages': expected string array")
    if not hashes:
        raise _invalid("messages does not contain any message hashes")
    if len(hashes) > MAX_HASHES_PER_REQUEST:
        raise _invalid(f"at most {MAX_HASHES_PER_REQUEST} message hashes per request")
    return SignedAtRequest("get_expiries", account, hashes, timestamp, auth)


def parse_revoked_list(params: dict[str, Any]) -> SignedAtRequest:
    account = parse_account(params.get("pubkey"))
    auth = parse_auth(params, account, required=True)
    assert auth is not None
    timestamp = _required_timestamp(params, "timestamp")
    # Signed by the account key itself, as Session checks it (no `pubkey_ed25519`, no
    # subaccount).
    return SignedAtRequest(
        "revoked_subaccounts", account, [], timestamp, Auth(auth.signature, None)
    )


# ----- batch, sequence, ifelse


def parse_subrequests(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (method, params) of a batch or sequence, in order."""
    requests = params.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _invalid('Invalid batch request: no valid "requests" field')
    if len(requests) > BATCH_REQUEST_MAX:
        raise _invalid("Invalid batch request: subrequest limit exceeded")
    out = []
    for request in requests:
        if not isinstance(request, dict):
            raise _invalid("Invalid batch request: requests must be objects")
        method, sub = request.get("method"), request.get("params")
        if not isinstance(method, str) or not isinstance(sub, dict):
            raise _invalid("Invalid batch request: subrequests must have method/params keys")
        out.append((method, sub))
    return out


@dataclass(frozen=True)
class Condition:
    """An `ifelse` condition: every bound given must hold."""

    hf_at_least: tuple[int, ...] | None = None
    hf_before: tuple[int, ...] | None = None
    v_at_least: tuple[int, ...] | None = None
    v_before: tuple[int, ...] | None = None
    height_at_least: int | None = None
    height_before: int | None = None

    def holds(self, hf: tuple[int, ...], version: tuple[int, ...], height: int) -> bool:
        checks = [
            self.hf_at_least is None or hf >= self.hf_at_least,
            self.hf_before is None or hf < self.hf_before,
            self.v_at_least is None or version >= self.v_at_least,
            self.v_before is None or version < self.v_before,
            self.height_at_least is None or height >= self.height_at_least,
            self.height_before is None or height < self.height_before,
        ]
        return all(checks)


def _version_bound(condition: dict[str, Any], name: str, size: int) -> tuple[int, ...] | None:
    """A version list padded with zeros (or cut) to `size` parts; None if absent or empty."""
    value = condition.get(name)
    if value is None:
        return None
    values = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise _invalid(f"Invalid value given for '{name}': expected integer array")
    if not values:
        return None
    return tuple((values + [0] * size)[:size])


def _height_bound(condition: dict[str, Any], name: str) -> int | None:
    value = condition.get(name)
    if value is None:
        return None
    return _int(value, name)


def parse_ifelse(
    params: dict[str, Any],
) -> tuple[Condition, tuple[str, dict] | None, tuple[str, dict] | None]:
    """An `ifelse`'s condition and its then / else requests (method, params)."""
    cond = params.get("if")
    if not isinstance(cond, dict):
        raise _invalid('Invalid ifelse request: no valid "if" field')
    condition = Condition(
        _version_bound(cond, "hf_at_least", 2),
        _version_bound(cond, "hf_before", 2),
        _version_bound(cond, "v_at_least", 3),
        _version_bound(cond, "v_before", 3),
        _height_bound(cond, "height_at_least"),
        _height_bound(cond, "height_before"),
    )
    if condition == Condition():
        raise _invalid('Invalid ifelse request: must specify at least one "if" condition')
    branches = []
    for key in ("then", "else"):
        branch = params.get(key)
        if branch is None:
            branches.append(None)
            continue
        if not isinstance(branch, dict):
            raise _invalid(f"Invalid ifelse request: {key} must be an object")
        method, sub = branch.get("method"), branch.get("params")
        if not isinstance(method, str) or not isinstance(sub, dict):
            raise _invalid(f"Invalid ifelse request: {key} must have method/params keys")
        branches.append((method, sub))
    if branches == [None, None]:
        raise _invalid('Invalid ifelse request: at least one of "then"/"else" required')
    return condition, branches[0], branches[1]


# ----- bencoded requests and answers

# Fields carried as raw bytes in bencode and as text in JSON: how each becomes its JSON form.
_BT_BASE64 = {"signature", "subaccount_sig", "data", "subaccount"}
_BT_HEX = {"pubkey_ed25519"}
_BT_BOOL = {"shorten", "extend", "required", "reverse_direction"}
_BT_TOKENS = {"revoke", "unrevoke"}
_BT_NESTED = {"then", "else"}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _text(raw: Any) -> Any:
    if isinstance(raw, bytes):
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise _invalid("bencoded value is not valid text") from None
    if isinstance(raw, list):
        return [_text(v) for v in raw]
    if isinstance(raw, dict):
        return {_text(k): _text(v) for k, v in raw.items()}
    return raw


def params_from_bt(params: dict[bytes, Any]) -> dict[str, Any]:
    """A bencoded request's params in the form the JSON parsers read: binary signatures,
    data and tokens as base64, keys as hex, 1/0 as booleans (as Session's bt loader reads
    them), nested requests of batch/sequence/ifelse the same way."""
    out: dict[str, Any] = {}
    for raw_key, value in params.items():
        key = _text(raw_key)
        if key in ("pubkey", "pubKey") and isinstance(value, bytes) and len(value) == 33:
            out[key] = value.hex()
        elif key in _BT_BASE64 and isinstance(value, bytes):
            out[key] = _b64(value)
        elif key in _BT_HEX and isinstance(value, bytes) and len(value) == 32:
            out[key] = value.hex()
        elif key in _BT_BOOL and isinstance(value, int):
            out[key] = bool(value)
        elif key in _BT_TOKENS:
            tokens = value if isinstance(value, list) else [value]
            out[key] = [_b64(t) if isinstance(t, bytes) else t for t in tokens]
        elif key == "requests" and isinstance(value, list):
            out[key] = [_request_from_bt(r) for r in value]
        elif key in _BT_NESTED and isinstance(value, dict):
            out[key] = _request_from_bt(value)
        else:
            out[key] = _text(value)
    return out


def _request_from_bt(request: Any) -> Any:
    if not isinstance(request, dict):
        return request
    out = {_text(k): v for k, v in request.items()}
    if isinstance(out.get("method"), bytes):
        out["method"] = _text(out["method"])
    if isinstance(out.get("params"), dict):
        out["params"] = params_from_bt(out["params"])
    return out


def bt_value(value: Any, key: str = "") -> Any:
    """An answer's JSON value as Session bencodes it: signatures and message data as raw
    bytes, booleans as 1/0, no nulls."""
    if isinstance(value, dict):
        return {k: bt_value(v, k) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [bt_value(v, key) for v in value]
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and key in ("signature", "data"):
        try:
            return b64decode(value)
        except (ValueError, binascii.Error):
            return value
    return value


def bt_answer(body: dict[str, Any] | str) -> bytes:
    """A bencoded answer's bytes: the body bencoded, an error text as it stands."""
    if isinstance(body, str):
        return body.encode()
    return bencode.encode(bt_value(body))


# ----- client side: signed requests as Session's clients build them


def subaccount_token(
    account_type: int,
    pubkey: bytes,
    read: bool = True,
    write: bool = True,
    delete: bool = False,
    any_prefix: bool = False,
) -> bytes:
    """A subaccount token: the account's type byte, the access flags, two zero bytes and
    the subaccount's Ed25519 key."""
    if len(pubkey) != 32 or not 0 <= account_type <= 255:
        raise ValueError("a token names a 32-byte Ed25519 key for a one-byte account type")
    flags = (
        (ACCESS_READ if read else 0)
        | (ACCESS_WRITE if write else 0)
        | (ACCESS_DELETE if delete else 0)
        | (ACCESS_ANY_PREFIX if any_prefix else 0)
    )
    return bytes([account_type, flags, 0, 0]) + pubkey


@dataclass(frozen=True)
class RequestSigner:
    """Who signs an account's requests: the account's own Ed25519 key (for a `05` Session
    ID, the key whose X25519 form the ID is: it is sent as `pubkey_ed25519`), or a
    subaccount's key with the token and the account's signature of it."""

    account: str
    signing_key: SigningKey
    pubkey_ed25519: str | None = None
    subaccount: Subaccount | None = None

    @classmethod
    def owner(cls, account: str, signing_key: SigningKey) -> RequestSigner:
        """The account's own key: a Session ID's Ed25519 key, or a group's (`03` + key)."""
        ed25519 = bytes(signing_key.verify_key)
        if account.startswith("05") and account[2:] != ed25519.hex():
            return cls(account, signing_key, pubkey_ed25519=ed25519.hex())
        return cls(account, signing_key)

    @classmethod
    def member(
        cls, account: str, signing_key: SigningKey, token: bytes, token_signature: bytes
    ) -> RequestSigner:
        """A subaccount: `signing_key` is the token's key, `token_signature` the account's."""
        if token[4:] != bytes(signing_key.verify_key):
            raise ValueError("the token names another key")
        return cls(account, signing_key, subaccount=Subaccount(token, token_signature))

    def fields(self, message: bytes) -> dict[str, Any]:
        """`pubkey` and the signature fields of a request whose signed text is `message`."""
        out: dict[str, Any] = {
            "pubkey": self.account,
            "signature": _b64(self.signing_key.sign(message).signature),
        }
        if self.pubkey_ed25519 is not None:
            out["pubkey_ed25519"] = self.pubkey_ed25519
        if self.subaccount is not None:
            out["subaccount"] = _b64(self.subaccount.token)
            out["subaccount_sig"] = _b64(self.subaccount.signature)
        return out


def rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A request as `/storage_rpc/v1` takes it and as batch, sequence and ifelse nest it."""
    return {"method": method, "params": params}


def store_request(
    signer: RequestSigner | None,
    account: str,
    data: bytes,
    timestamp: int,
    ttl: int,
    namespace: int = 0,
) -> dict[str, Any]:
    """A store: signed (by `signer`) unless it deposits into a public namespace."""
    params: dict[str, Any] = {
        "pubkey": account,
        "timestamp": timestamp,
        "ttl": ttl,
        "data": _b64(data),
    }
    if namespace:
        params["namespace"] = namespace
    if signer is not None:
        text = b"store" + namespace_text(namespace).encode() + str(timestamp).encode()
        params.update(signer.fields(text))
        params["sig_timestamp"] = timestamp
    return rpc("store", params)


def retrieve_request(
    signer: RequestSigner, timestamp: int, namespace: int = 0, **options: Any
) -> dict[str, Any]:
    """A signed retrieve; `options`: last_hash, max_count, max_size, reverse_direction."""
    text = b"retrieve" + namespace_text(namespace).encode() + str(timestamp).encode()
    params = {**signer.fields(text), "timestamp": timestamp, **options}
    if namespace:
        params["namespace"] = namespace
    return rpc("retrieve", params)


def delete_request(signer: RequestSigner, hashes: list[str], **options: Any) -> dict[str, Any]:
    text = ("delete" + "".join(hashes)).encode()
    return rpc("delete", {**signer.fields(text), "messages": hashes, **options})


def account_wide_request(
    method: str, signer: RequestSigner, when: int, namespace: int | str = 0
) -> dict[str, Any]:
    """`delete_all` (`when`: now), `delete_before` (`when`: the cut-off) or `expire_all`
    (`when`: the new expiry), over `namespace` or "all"."""
    text = (method + namespace_var_text(namespace) + str(when)).encode()
    params = {**signer.fields(text), ACCOUNT_WIDE_FIELDS[method]: when}
    if namespace != 0:
        params["namespace"] = namespace
    return rpc(method, params)


def expire_request(
    signer: RequestSigner, hashes: list[str], expiry: int | list[int], mode: str = ""
) -> dict[str, Any]:
    """`mode`: "", "shorten" or "extend"."""
    expiries = expiry if isinstance(expiry, list) else [expiry]
    text = ("expire" + mode + "".join(str(e) for e in expiries) + "".join(hashes)).encode()
    params = {**signer.fields(text), "messages": hashes, "expiry": expiry}
    if mode:
        params[mode] = True
    return rpc("expire", params)


def get_expiries_request(signer: RequestSigner, hashes: list[str], timestamp: int) -> dict:
    text = ("get_expiries" + str(timestamp) + "".join(hashes)).encode()
    return rpc("get_expiries", {**signer.fields(text), "messages": hashes, "timestamp": timestamp})


def revoke_request(
    signer: RequestSigner, tokens: list[bytes], timestamp: int, unrevoke: bool = False
) -> dict[str, Any]:
    method = "unrevoke_subaccount" if unrevoke else "revoke_subaccount"
    text = method.encode() + str(timestamp).encode() + b"".join(tokens)
    key = "unrevoke" if unrevoke else "revoke"
    return rpc(
        method, {**signer.fields(text), key: [_b64(t) for t in tokens], "timestamp": timestamp}
    )


def revoked_list_request(signer: RequestSigner, timestamp: int) -> dict[str, Any]:
    text = ("revoked_subaccounts" + str(timestamp)).encode()
    return rpc("revoked_subaccounts", {**signer.fields(text), "timestamp": timestamp})
