"""Message storage: Session's storage RPC (`store`, `retrieve`, `delete`, `expire`,
`get_swarm`, `info`) over `POST /storage_rpc/v1` and as the target of onion requests, with
Session's semantics (docs/protocol.md, "Storage RPC", lists every field, limit, signature
and status).

- Accounts are 33 bytes (`05` + X25519 key for Session IDs; `03` groups, ...), 66 hex
  digits on the wire. A node answers only for accounts of its own swarm: others get 421
  with the swarm that holds them.
- Namespaces -32768..32767; those divisible by 10 (0 included) take deposits from anyone,
  the others need the account's Ed25519 signature; retrieving always needs it, except the
  legacy group namespace -10 and the public outboxes -(20n+1).
- Signed requests carry a timestamp within 60 s of the node's clock (70 s when forwarded
  by a swarm peer). Messages: at most 76,800 bytes, TTL 10 s to 14 days (30 days in
  authenticated namespaces); hash = unpadded base64 of BLAKE2b-256(account ‖ namespace as
  decimal, empty for 0 ‖ data).
- `store`, `delete` and `expire` are copied to every swarm peer as signed node-to-node
  requests (`sesh.node.peers`); the answer lists each member's own signed result.

The background work (dropping expired messages, catching up from peers, handing messages
to the swarm now responsible for them) lives in `StorageService.run`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from sesh import __version__
from sesh.node.identity import NodeIdentity, x25519_from_ed25519
from sesh.node.messages import Message, MessageDB, StorageFull
from sesh.node.metrics import Metrics
from sesh.node.network import NetworkView, NodeInfo, ViewSource
from sesh.node.peers import (
    PEER_PATH,
    PeerAuthError,
    PeerClient,
    PeerUnreachable,
    ReplayGuard,
    verify_request,
)

log = logging.getLogger("sesh.node.storage")

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
ACCOUNT_BYTES = 33
HASH_CHARS = 43
# Catch-up pages and hand-off batches.
SYNC_PAGE_BYTES = 2 << 20
HANDOFF_BATCH = 200
HANDOFF_BATCH_BYTES = 512 << 10

_HASH_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")


def is_public_inbox(namespace: int) -> bool:
    """Anyone may deposit (0 and every multiple of 10)."""
    return namespace % 10 == 0


def is_public_outbox(namespace: int) -> bool:
    """One message at a time, readable by anyone, written by the owner: -1, -21, -41, ..."""
    return namespace < 0 and -namespace % 20 == 1


def is_noauth_retrieve(namespace: int) -> bool:
    return namespace == LEGACY_GROUP_NAMESPACE or is_public_outbox(namespace)


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


@dataclass
class Response:
    """An RPC answer: a JSON object or a text body, with an HTTP status."""

    status: int
    body: dict[str, Any] | str

    def http(self) -> web.Response:
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body)
        return web.json_response(self.body, status=self.status, dumps=_dumps)

    def onion_reply(self, embed_json: bool) -> bytes:
        """`{"status", "body"}` as the target of an onion request returns it: a JSON body
        as a string, unless the client asked for it embedded."""
        body: Any = self.body
        if isinstance(body, dict) and not embed_json:
            body = _dumps(body)
        return _dumps({"status": self.status, "body": body}).encode()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


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


def _one_of(params: dict[str, Any], name: str, alias: str) -> Any:
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


def _timestamp(value: Any, name: str, stringified: bool = False) -> int:
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
            return bytes.fromhex(value)
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
class Auth:
    """A request's signature, by the account (or, for `05` accounts, by the Ed25519 key
    whose X25519 form the account is)."""

    signature: bytes
    pubkey_ed25519: bytes | None


def parse_auth(params: dict[str, Any], account: bytes, required: bool) -> Auth | None:
    signature = params.get("signature")
    ed25519 = params.get("pubkey_ed25519")
    if signature is None:
        if required:
            raise _invalid("Required field 'signature' missing")
        return None
    if not isinstance(signature, str) or not (
        len(signature) == 86 or (len(signature) == 88 and signature.endswith("=="))
    ):
        raise _invalid("invalid signature: expected base64 encoded Ed25519 signature")
    try:
        raw = b64decode(signature)
    except (ValueError, binascii.Error):
        raise _invalid("invalid signature: expected base64 encoded Ed25519 signature") from None
    key = None
    if ed25519 is not None:
        if account[0] != 0x05:
            raise _invalid("pubkey_ed25519 is only permitted for 05[...] pubkeys")
        if not isinstance(ed25519, str) or len(ed25519) != 64:
            raise _invalid("Invalid pubkey_ed25519: expected 64 hex char or 32 byte pubkey")
        try:
            key = bytes.fromhex(ed25519)
        except ValueError:
            raise _invalid("invalid pubkey_ed25519: value is not hex") from None
    return Auth(raw, key)


def verify_auth(account: bytes, auth: Auth, message: bytes) -> bool:
    """Whether `auth` signs `message` for `account`."""
    verify_key = account[1:]
    if account[0] == 0x05 and auth.pubkey_ed25519 is not None:
        try:
            if x25519_from_ed25519(auth.pubkey_ed25519) != account[1:]:
                return False
        except ValueError:
            return False
        verify_key = auth.pubkey_ed25519
    try:
        crypto_sign_open(auth.signature + message, verify_key)
    except (BadSignatureError, ValueError, TypeError):
        return False
    except Exception:  # libsodium refuses some keys outright  # noqa: BLE001
        return False
    return True


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
    timestamp = _timestamp(timestamp, "timestamp", stringified=True)
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
        expiry = _timestamp(expiry, "expiry")
    account = parse_account(_one_of(params, "pubkey", "pubKey"))
    namespace = parse_namespace(params.get("namespace"))
    auth = parse_auth(params, account, required=False)
    sig_timestamp = timestamp
    if auth is not None and params.get("sig_timestamp") is not None:
        sig_timestamp = _timestamp(params["sig_timestamp"], "sig_timestamp")
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


def parse_retrieve(params: dict[str, Any]) -> RetrieveRequest:
    account = parse_account(_one_of(params, "pubkey", "pubKey"))
    namespace_given = params.get("namespace") is not None
    namespace = parse_namespace(params.get("namespace"))
    signed = any(params.get(k) is not None for k in ("pubkey_ed25519", "signature", "timestamp"))
    auth = None
    timestamp = None
    if signed or (namespace_given and not is_noauth_retrieve(namespace)):
        auth = parse_auth(params, account, required=True)
        if params.get("timestamp") is None:
            raise _invalid("Required field 'timestamp' missing")
        timestamp = _timestamp(params["timestamp"], "timestamp")
    last_hash = _one_of(params, "last_hash", "lastHash")
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
        counts.append(None if value is None else _int(value, name))
    return RetrieveRequest(account, namespace, last_hash, counts[0], counts[1], auth, timestamp)


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
    expiries = [_timestamp(v, "expiry") for v in values]
    shorten, extend = _bool(params, "shorten"), _bool(params, "extend")
    if shorten and extend:
        raise _invalid("cannot specify both 'shorten' and 'extend'")
    if len(expiries) > 1 and len(expiries) != len(hashes):
        raise _invalid("'expiry' must be a single expiry, or the same length as 'messages'")
    return ExpireRequest(account, hashes, expiries, shorten, extend, auth)


def parse_rpc_body(body: bytes) -> tuple[str, dict[str, Any]]:
    """(method, params) of a storage RPC body; RpcError(400) as Session words it."""
    try:
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


def op_id(method: str, params: dict[str, Any]) -> str:
    """The identity of a signed deletion or expiry change, the same on every node."""
    canonical = json.dumps([method, params], separators=(",", ":"), sort_keys=True)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


# ----- the RPC


class WriteBatch:
    """Stores wait for the next commit, and every store of one event-loop turn shares it: a
    commit costs more than the inserts. Each store is answered only once committed."""

    def __init__(self, db: MessageDB):
        self.db = db
        self._pending: list[tuple[Message, bool, asyncio.Future]] = []

    async def store(self, message: Message, outbox: bool) -> tuple[bool, int]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._pending.append((message, outbox, done))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        return await done

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        try:
            results = self.db.store_many([(m, outbox) for m, outbox, _ in pending])
        except StorageFull:
            # One by one, so that those that still fit get in.
            for message, outbox, done in pending:
                try:
                    _settle(done, self.db.store(message, outbox))
                except StorageFull as exc:
                    _fail(done, exc)
            return
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request
            for _, _, done in pending:
                _fail(done, exc)
            return
        for (_, _, done), result in zip(pending, results, strict=True):
            _settle(done, result)


def _settle(future: asyncio.Future, result: object) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future, exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)


@dataclass
class StorageRpc:
    """The storage RPC of one node over its message database."""

    db: MessageDB
    identity: NodeIdentity
    views: ViewSource
    peers: PeerClient | None = None
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], float] = time.time

    METHODS = ("store", "retrieve", "delete", "expire", "get_swarm", "info")

    def __post_init__(self) -> None:
        self._own_hex = self.identity.ed25519_pubkey.hex()
        self._write_batch = WriteBatch(self.db)

    async def handle_body(self, body: bytes) -> Response:
        """A request as `/storage_rpc/v1` or an onion request's target receives it."""
        try:
            method, params = parse_rpc_body(body)
        except RpcError as exc:
            self.metrics.inc("sesh_storage_requests_total", method="invalid", status="400")
            return exc.response()
        return await self.handle(method, params)

    async def handle(
        self, method: str, params: dict[str, Any], forwarded: bool = False
    ) -> Response:
        """Serve one method. `forwarded`: copied from a swarm peer (no further copies, the
        forwarding tolerance for signature timestamps)."""
        try:
            response = await self._dispatch(method, params, forwarded)
        except RpcError as exc:
            response = exc.response()
        except StorageFull:
            response = Response(507, "storage full: this node cannot take new messages now")
        except Exception:  # a bug must not take the node down, nor leak details
            log.exception("storage request %s failed", method)
            response = Response(500, "request failed")
        known = method if method in self.METHODS else "unknown"
        self.metrics.inc("sesh_storage_requests_total", method=known, status=str(response.status))
        return response

    async def _dispatch(self, method: str, params: dict[str, Any], forwarded: bool) -> Response:
        view = await self.views.current()
        now = now_ms(self.clock)
        if method == "info":
            return Response(200, {"version": _version(), "timestamp": now, "t": now})
        if not view.ready or view.own is None:
            own = self.identity.ed25519_pubkey.hex()
            return Response(503, f"Snode not ready: {own}")
        if method in ("get_swarm", "get_snodes_for_pubkey"):
            account = parse_account(_one_of(params, "pubkey", "pubKey"))
            body = view.swarm_json(view.swarm_for(account[1:]))
            body["t"] = now
            return Response(200, body)
        if method == "store":
            return await self._store(view, parse_store(params), params, now, forwarded)
        if method == "retrieve":
            return self._retrieve(view, parse_retrieve(params), now)
        if method == "delete":
            return await self._delete(view, parse_delete(params), params, now, forwarded)
        if method == "expire":
            return await self._expire(view, parse_expire(params), params, now, forwarded)
        raise RpcError(400, f"no method {method}"[:200])

    def _misdirected(self, view: NetworkView, account: bytes, now: int) -> Response | None:
        """421 with the right swarm if the account is not this swarm's."""
        if view.is_ours(account[1:]):
            return None
        body = view.swarm_json(view.swarm_for(account[1:]))
        body["t"] = now
        return Response(421, body)

    # ----- store

    async def _store(
        self,
        view: NetworkView,
        req: StoreRequest,
        params: dict[str, Any],
        now: int,
        forwarded: bool,
    ) -> Response:
        wrong = self._misdirected(view, req.account, now)
        if wrong:
            return wrong
        public = is_public_inbox(req.namespace)
        ttl = req.expiry - req.timestamp
        if not TTL_MIN_MS <= ttl <= (TTL_MAX_MS if public else TTL_MAX_PRIVATE_MS):
            raise RpcError(403, "Provided expiry/TTL is not valid.")
        if req.timestamp > now + STORE_TOLERANCE_MS or req.expiry < now - STORE_TOLERANCE_MS:
            raise RpcError(406, "Timestamp error: check your clock")
        if not public:
            if req.auth is None:
                raise RpcError(
                    401, f"store: signature required to store to namespace {req.namespace}"
                )
            self._check_fresh(req.sig_timestamp, now, forwarded, "store signature timestamp")
            message = (
                b"store" + namespace_text(req.namespace).encode() + str(req.sig_timestamp).encode()
            )
            if not verify_auth(req.account, req.auth, message):
                raise RpcError(401, "store signature verification failed")
        hash_ = message_hash(req.account, req.namespace, req.data)
        message = Message(hash_, req.account, req.namespace, req.timestamp, req.expiry, req.data)

        async def local() -> dict[str, Any]:
            new, expiry = await self._write_batch.store(message, is_public_outbox(req.namespace))
            if new:
                self.metrics.inc("sesh_storage_messages_stored_total")
            mine: dict[str, Any] = {
                "hash": hash_,
                "signature": _b64(self.identity.sign(hash_.encode())),
                "expiry": expiry,
            }
            if not new:
                mine["already"] = True
            return mine

        if forwarded:
            return Response(200, await local())
        response = await self._swarm_request(view, "store", params, local)
        if isinstance(response.body, dict):
            response.body["hash"] = hash_
            response.body["t"] = now
        return response

    # ----- retrieve

    def _retrieve(self, view: NetworkView, req: RetrieveRequest, now: int) -> Response:
        wrong = self._misdirected(view, req.account, now)
        if wrong:
            return wrong
        if req.auth is None:
            if not is_noauth_retrieve(req.namespace):
                raise RpcError(401, "retrieve: request signature required")
        else:
            assert req.timestamp is not None
            if abs(req.timestamp - now) > SIGNATURE_TOLERANCE_MS:
                raise RpcError(406, "retrieve timestamp too far from current time")
            message = (
                b"retrieve" + namespace_text(req.namespace).encode() + str(req.timestamp).encode()
            )
            if not verify_auth(req.account, req.auth, message):
                raise RpcError(401, "retrieve signature verification failed")
        max_count = req.max_count or None
        max_size = req.max_size or None
        if max_count is None and max_size is None:
            max_size = -5
        if max_size is not None and max_size < 0:
            max_size = RETRIEVE_MAX_SIZE // -max_size
        elif max_size is None or max_size > RETRIEVE_MAX_SIZE:
            max_size = RETRIEVE_MAX_SIZE
        if max_count is not None and max_count < 1:
            max_count = 1
        found, more = self.db.retrieve(
            req.account, req.namespace, req.last_hash, now, max_count, max_size
        )
        if found:
            self.metrics.inc("sesh_storage_messages_retrieved_total", len(found))
        return Response(
            200,
            {
                "messages": [
                    {
                        "hash": m.hash,
                        "timestamp": m.timestamp,
                        "expiration": m.expiry,
                        "data": _b64(m.data),
                    }
                    for m in found
                ],
                "more": more,
                "t": now,
            },
        )

    # ----- delete

    async def _delete(
        self,
        view: NetworkView,
        req: DeleteRequest,
        params: dict[str, Any],
        now: int,
        forwarded: bool,
    ) -> Response:
        wrong = self._misdirected(view, req.account, now)
        if wrong:
            return wrong
        if not verify_auth(req.account, req.auth, b"delete" + "".join(req.hashes).encode()):
            raise RpcError(401, "delete_msgs signature verification failed")

        async def local() -> dict[str, Any]:
            return self.apply_delete(req, "delete", params, now)

        if forwarded:
            return Response(200, await local())
        response = await self._swarm_request(view, "delete", params, local)
        if req.required and response.status == 200 and isinstance(response.body, dict):
            results = response.body["swarm"].values()
            if not any(r.get("deleted") for r in results):
                response.status = 404
        return response

    def apply_delete(
        self, req: DeleteRequest, method: str, params: dict[str, Any], applied_at: int
    ) -> dict[str, Any]:
        deleted = self.db.delete(
            req.account, req.hashes, keep_until=applied_at + TTL_MAX_PRIVATE_MS
        )
        self.db.log_op(
            op_id(method, params),
            method,
            _dumps(params),
            applied_at,
            applied_at + TTL_MAX_PRIVATE_MS,
        )
        signed = req.account.hex() + "".join(req.hashes) + "".join(deleted)
        return {"deleted": deleted, "signature": _b64(self.identity.sign(signed.encode()))}

    # ----- expire

    async def _expire(
        self,
        view: NetworkView,
        req: ExpireRequest,
        params: dict[str, Any],
        now: int,
        forwarded: bool,
    ) -> Response:
        wrong = self._misdirected(view, req.account, now)
        if wrong:
            return wrong
        for expiry in req.expiries:
            if expiry < now - 60 * SECOND_MS:
                raise RpcError(401, "expire: timestamp should be >= current time")
        if not verify_auth(req.account, req.auth, expire_message(req)):
            raise RpcError(401, "expire: signature verification failed")

        async def local() -> dict[str, Any]:
            return self.apply_expire(req, params, now)

        if forwarded:
            return Response(200, await local())
        return await self._swarm_request(view, "expire", params, local)

    def apply_expire(self, req: ExpireRequest, params: dict[str, Any], applied_at: int) -> dict:
        targets = [min(e, applied_at + TTL_MAX_PRIVATE_MS) for e in req.expiries]
        current = self.db.expiries(req.account, req.hashes)
        changes: dict[str, int] = {}
        for i, hash_ in enumerate(req.hashes):
            target = targets[i] if len(targets) > 1 else targets[0]
            have = current.get(hash_)
            if have is None or hash_ in changes:
                continue
            if (req.extend and have >= target) or (req.shorten and have <= target):
                continue
            changes[hash_] = target
        self.db.set_expiries(req.account, changes)
        self.db.log_op(
            op_id("expire", params),
            "expire",
            _dumps(params),
            applied_at,
            applied_at + TTL_MAX_PRIVATE_MS,
        )
        updated = sorted(changes)
        unchanged: dict[str, int] = {}
        if req.extend or req.shorten:
            unchanged = {h: current[h] for h in sorted(current) if h not in changes}
        if len(targets) > 1:
            applied: Any = [changes[h] for h in updated]
            expiry_text = "".join(str(e) for e in applied)
        else:
            applied = targets[0]
            expiry_text = str(targets[0])
        signed = (
            req.account.hex()
            + expiry_text
            + "".join(req.hashes)
            + "".join(updated)
            + "".join(f"{h}{e}" for h, e in unchanged.items())
        )
        mine: dict[str, Any] = {
            "expiry": applied,
            "updated": updated,
            "signature": _b64(self.identity.sign(signed.encode())),
        }
        if req.extend or req.shorten:
            mine["unchanged"] = unchanged
        return mine

    # ----- fresh signatures, swarm copies

    def _check_fresh(self, timestamp: int, now: int, forwarded: bool, what: str) -> None:
        tolerance = SIGNATURE_TOLERANCE_FORWARDED_MS if forwarded else SIGNATURE_TOLERANCE_MS
        if abs(timestamp - now) > tolerance:
            raise RpcError(406, f"{what} too far from current time")

    async def _swarm_request(
        self,
        view: NetworkView,
        method: str,
        params: dict[str, Any],
        local: Callable[[], Awaitable[dict[str, Any]]],
    ) -> Response:
        """Copy the request to every swarm peer while applying it here; the answer holds
        each member's result (500 if every member failed)."""
        peers = view.peers() if self.peers is not None else []
        tasks = [asyncio.create_task(self._forward(peer, method, params)) for peer in peers]
        try:
            mine = await local()
        except StorageFull:
            mine = {"failed": True, "query_failure": True, "reason": "storage full"}
        swarm: dict[str, Any] = {self._own_hex: mine}
        if tasks:
            for peer, result in zip(peers, await asyncio.gather(*tasks), strict=True):
                swarm[peer.ed25519.hex()] = result
        ok = any("failed" not in r for r in swarm.values())
        if not ok and "reason" in mine:
            return Response(507, {"swarm": swarm})
        return Response(200 if ok else 500, {"swarm": swarm})

    async def _forward(self, peer: NodeInfo, method: str, params: dict[str, Any]) -> dict:
        assert self.peers is not None
        try:
            status, answer = await self.peers.call(
                peer, "replicate", {"method": method, "params": params}
            )
        except PeerUnreachable as exc:
            log.info("copy of %s to node %d failed: %s", method, peer.node_id, exc)
            self.metrics.inc("sesh_storage_peer_failures_total")
            return {"failed": True, "timeout": True}
        if status != 200 or not isinstance(answer, dict):
            return {"failed": True, "code": status, "reason": str(answer)[:200]}
        inner_status, body = answer.get("status"), answer.get("body")
        if inner_status != 200 or not isinstance(body, dict):
            return {"failed": True, "code": inner_status, "reason": str(body)[:200]}
        return body

    # ----- what peers send: replays of signed ops, copies of messages

    def accept_message(
        self, view: NetworkView, entry: dict[str, Any], now: int
    ) -> tuple[str, bool] | None:
        """Store a message a peer sent (catch-up or hand-off) if it is well-formed, ours,
        unexpired and not deleted here: (its hash, whether it is new here), or None if
        refused."""
        try:
            account = parse_account(entry.get("pubkey"))
            namespace = parse_namespace(entry.get("namespace"))
            data = b64decode(str(entry.get("data")))
            timestamp = _timestamp(entry.get("timestamp"), "timestamp")
            expiry = _timestamp(entry.get("expiry"), "expiry")
        except (RpcError, ValueError, binascii.Error):
            return None
        hash_ = message_hash(account, namespace, data)
        if hash_ != entry.get("hash") or len(data) > MAX_MESSAGE_BYTES:
            return None
        if not view.is_ours(account[1:]) or expiry <= now:
            return None
        expiry = min(expiry, now + TTL_MAX_PRIVATE_MS)
        stored = self.db.store(
            Message(hash_, account, namespace, timestamp, expiry, data), respect_tombstone=True
        )
        if stored is None:
            return None
        if stored[0]:
            self.metrics.inc("sesh_storage_messages_stored_total")
        return hash_, stored[0]

    def replay_op(self, view: NetworkView, method: str, params_text: str, applied_at: int) -> bool:
        """Apply a deletion or expiry change a peer applied (its signature checked again)."""
        try:
            params = json.loads(params_text)
            if not isinstance(params, dict) or self.db.has_op(op_id(method, params)):
                return False
            if method == "delete":
                req = parse_delete(params)
                if view.is_ours(req.account[1:]) and verify_auth(
                    req.account, req.auth, b"delete" + "".join(req.hashes).encode()
                ):
                    self.apply_delete(req, "delete", params, applied_at)
                    return True
            elif method == "expire":
                req_e = parse_expire(params)
                if view.is_ours(req_e.account[1:]) and verify_auth(
                    req_e.account, req_e.auth, expire_message(req_e)
                ):
                    self.apply_expire(req_e, params, applied_at)
                    return True
        except (RpcError, ValueError, RecursionError):
            return False
        return False


def expire_message(req: ExpireRequest) -> bytes:
    mode = "shorten" if req.shorten else "extend" if req.extend else ""
    text = "expire" + mode + "".join(str(e) for e in req.expiries) + "".join(req.hashes)
    return text.encode()


def _b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode()


def _version() -> list[int]:
    parts = []
    for piece in __version__.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group()) if digits else 0)
    return parts


def message_json(message: Message) -> dict[str, Any]:
    """A message as peers exchange it."""
    return {
        "hash": message.hash,
        "pubkey": message.pubkey.hex(),
        "namespace": message.namespace,
        "timestamp": message.timestamp,
        "expiry": message.expiry,
        "data": base64.b64encode(message.data).decode(),
    }


# ----- the component: routes and background work


@dataclass
class StorageSettings:
    expiry_interval: float = 10.0
    sync_interval: float = 30.0
    # How often the view is checked for swarm changes.
    watch_interval: float = 0.5


class StorageService:
    """`/storage_rpc/v1`, `/peer/v1`, and the background work of the message store."""

    def __init__(
        self,
        rpc: StorageRpc,
        peers: PeerClient,
        settings: StorageSettings | None = None,
    ):
        self.rpc = rpc
        self.peers = peers
        self.settings = settings or StorageSettings()
        self.guard = ReplayGuard()
        self.caught_up = asyncio.Event()

    @property
    def db(self) -> MessageDB:
        return self.rpc.db

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/storage_rpc/v1", self.storage_rpc)
        app.router.add_post(PEER_PATH, self.peer)

    async def storage_rpc(self, request: web.Request) -> web.Response:
        body = await request.read()
        return (await self.rpc.handle_body(body)).http()

    # ----- node-to-node

    async def peer(self, request: web.Request) -> web.Response:
        body = await request.read()
        rpc = self.rpc
        now = now_ms(rpc.clock)
        try:
            sender = verify_request(
                request.headers, body, rpc.identity.ed25519_pubkey, now, self.guard
            )
            method, params = parse_rpc_body(body)
        except PeerAuthError as exc:
            self.rpc.metrics.inc("sesh_storage_peer_refused_total")
            return web.Response(status=exc.status, text=exc.message)
        except RpcError as exc:
            return exc.response().http()
        view = await rpc.views.current()
        if not view.ready:
            return web.Response(status=503, text="not synced")
        try:
            if method == "replicate":
                self._require_peer(view, sender)
                inner_method = params.get("method")
                inner = params.get("params")
                if inner_method not in ("store", "delete", "expire") or not isinstance(inner, dict):
                    raise RpcError(400, "replicate: store, delete or expire with params")
                answer = await rpc.handle(inner_method, inner, forwarded=True)
                return web.json_response({"status": answer.status, "body": answer.body})
            if method == "sync":
                self._require_peer(view, sender)
                return web.json_response(self._sync_page(params, now))
            if method == "handoff":
                if sender not in view.known:
                    raise RpcError(403, "handoff: not a registered node")
                entries = params.get("messages")
                if not isinstance(entries, list) or len(entries) > 10 * HANDOFF_BATCH:
                    raise RpcError(400, "handoff: messages must be a list")
                results = (rpc.accept_message(view, e, now) for e in entries if isinstance(e, dict))
                accepted = [result[0] for result in results if result is not None]
                return web.json_response({"accepted": accepted})
            raise RpcError(400, f"no peer method {method}"[:120])
        except RpcError as exc:
            if exc.status == 403:
                self.rpc.metrics.inc("sesh_storage_peer_refused_total")
            return exc.response().http()
        except StorageFull:
            return web.Response(status=507, text="storage full")

    def _require_peer(self, view: NetworkView, sender: bytes) -> None:
        if not view.is_peer(sender):
            raise RpcError(403, "not a member of this node's swarm")

    def _sync_page(self, params: dict[str, Any], now: int) -> dict[str, Any]:
        since = params.get("since", 0)
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise RpcError(400, "sync: since must be a sequence number")
        if params.get("epoch") != self.db.epoch:
            since = 0
        entries, last, more = self.db.changes_since(since, now, SYNC_PAGE_BYTES)
        return {
            "epoch": self.db.epoch,
            "last": last,
            "more": more,
            "entries": [
                {"seq": e.seq, "message": message_json(e)}
                if isinstance(e, Message)
                else {
                    "seq": e.seq,
                    "op": {"method": e.method, "params": e.params, "applied_at": e.applied_at},
                }
                for e in entries
            ],
        }

    # ----- background work

    async def run(self, stop: asyncio.Event) -> None:
        await self.peers.open()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._expiry_loop(stop))
                tasks.create_task(self._maintenance_loop(stop))
        finally:
            await self.peers.close()

    def close(self) -> None:
        """Close the database (after the HTTP server stopped serving it)."""
        self.db.close()

    async def _expiry_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                dropped = self.db.drop_expired(now_ms(self.rpc.clock))
                if dropped:
                    log.info("dropped %d expired messages", dropped)
                    self.rpc.metrics.inc("sesh_storage_messages_expired_total", dropped)
                self._publish()
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                log.exception("dropping expired messages failed")
            await _wait(stop, self.settings.expiry_interval)

    def _publish(self) -> None:
        self.rpc.metrics.set("sesh_storage_messages", self.db.count())
        self.rpc.metrics.set("sesh_storage_bytes", self.db.size_bytes())

    async def _maintenance_loop(self, stop: asyncio.Event) -> None:
        """After each swarm change, and every `sync_interval`: hand messages that are no
        longer ours to their swarm, and catch up from our peers."""
        layout = None
        next_round = 0.0
        while not stop.is_set():
            try:
                view = await self.rpc.views.current()
                registered = view.own_ed25519 in view.known
                if view.ready and registered:
                    moved = view.layout() != layout
                    if moved or time.monotonic() >= next_round:
                        complete = await self.hand_off(view)
                        complete = await self.catch_up(view) and complete
                        if complete:
                            layout = view.layout()
                            self.caught_up.set()
                        next_round = time.monotonic() + self.settings.sync_interval
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                log.exception("storage maintenance round failed")
            await _wait(stop, self.settings.watch_interval)

    async def catch_up(self, view: NetworkView) -> bool:
        """Pull from each swarm peer what it holds that we have not seen; True if every
        peer answered."""
        if view.own is None:
            return True
        results = await asyncio.gather(*(self._pull(view, peer) for peer in view.peers()))
        return all(results)

    async def _pull(self, view: NetworkView, peer: NodeInfo) -> bool:
        db, rpc = self.db, self.rpc
        epoch, since = db.cursor(peer.ed25519)
        pulled = 0
        while True:
            try:
                status, page = await self.peers.call(
                    peer, "sync", {"since": since, "epoch": epoch}, timeout=30.0
                )
            except PeerUnreachable as exc:
                log.info("catch-up from node %d failed: %s", peer.node_id, exc)
                return False
            if (
                status != 200
                or not isinstance(page, dict)
                or not isinstance(page.get("entries"), list)
            ):
                log.info("catch-up from node %d refused: %s %s", peer.node_id, status, page)
                return False
            now = now_ms(rpc.clock)
            for entry in page["entries"]:
                if not isinstance(entry, dict):
                    continue
                if isinstance(entry.get("message"), dict):
                    accepted = rpc.accept_message(view, entry["message"], now)
                    if accepted is not None and accepted[1]:
                        pulled += 1
                elif isinstance(entry.get("op"), dict):
                    op = entry["op"]
                    applied_at = op.get("applied_at")
                    if isinstance(applied_at, int) and isinstance(op.get("params"), str):
                        rpc.replay_op(view, str(op.get("method")), op["params"], applied_at)
            epoch, since = str(page.get("epoch")), page.get("last")
            if not isinstance(since, int):
                return False
            db.set_cursor(peer.ed25519, epoch, since)
            if not page.get("more"):
                break
        if pulled:
            log.info("caught up %d messages from node %d", pulled, peer.node_id)
        return True

    async def hand_off(self, view: NetworkView) -> bool:
        """Give the messages of accounts that are not (or no longer) ours to the swarm now
        responsible, and forget those at least half of its members took. True if nothing
        is left to hand off."""
        if not view.swarms:
            return True
        now = now_ms(self.rpc.clock)
        by_swarm: dict[int, list[Message]] = {}
        for account in self.db.owners():
            swarm = view.swarm_for(account[1:])
            if swarm is None or swarm == view.own_swarm:
                continue
            by_swarm.setdefault(swarm, []).extend(self.db.messages_of(account, now))
        complete = True
        for swarm, messages in by_swarm.items():
            members = [m for m in view.members(swarm) if m.ed25519 != view.own_ed25519]
            for batch in _batches(messages):
                payload = {"messages": [message_json(m) for m in batch]}
                answers = await asyncio.gather(*(self._give(member, payload) for member in members))
                taken: dict[str, int] = {}
                for accepted in answers:
                    for hash_ in accepted:
                        taken[hash_] = taken.get(hash_, 0) + 1
                need = max(1, (len(members) + 1) // 2)
                done = [m.hash for m in batch if taken.get(m.hash, 0) >= need]
                self.db.forget(done)
                if len(done) < len(batch):
                    complete = False
                if done:
                    log.info("handed %d messages to swarm %x", len(done), swarm)
                    self.rpc.metrics.inc("sesh_storage_messages_handed_off_total", len(done))
        return complete

    async def _give(self, member: NodeInfo, payload: dict[str, Any]) -> list[str]:
        try:
            status, answer = await self.peers.call(member, "handoff", payload, timeout=30.0)
        except PeerUnreachable:
            return []
        if status != 200 or not isinstance(answer, dict):
            return []
        accepted = answer.get("accepted")
        return [h for h in accepted if isinstance(h, str)] if isinstance(accepted, list) else []


def _batches(messages: list[Message]) -> Iterator[list[Message]]:
    """Hand-off batches: at most HANDOFF_BATCH messages and about HANDOFF_BATCH_BYTES of
    data (a node's request body limit is 1 MiB)."""
    batch: list[Message] = []
    size = 0
    for message in messages:
        if batch and (
            len(batch) >= HANDOFF_BATCH or size + len(message.data) > HANDOFF_BATCH_BYTES
        ):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += len(message.data)
    if batch:
        yield batch


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
