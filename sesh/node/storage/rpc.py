"""Message storage: Session's storage RPC as `POST /storage_rpc/v1` and the target of onion
requests, with Session's semantics and answer shapes (requests: `sesh.protocol.storage_rpc`;
docs/protocol.md, "Storage RPC", lists every method, field, limit, signature and status).

`StorageRpc.methods` maps each method name to its handler (`async (Call) -> Response`): the
one place a method is added. A node answers only for accounts of its own swarm (others get
421 with the swarm that holds them). The methods that change messages or revocations
(`RECURSIVE_METHODS`) are applied here and copied to every swarm peer as signed
node-to-node requests (`sesh.node.storage.peers`); the answer lists each member's own
signed result. Peers' copies, catching up and handing messages over are
`sesh.node.storage.replication`'s. `batch`, `sequence` and `ifelse` run other methods
(checked whole before any runs, as Session parses them).
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import NetworkView, ViewSource
from sesh.node.oxend import OxendApi, oxend_request
from sesh.node.storage.messages import Message, MessageDB, StorageFull
from sesh.node.storage.peers import PeerClient, PeerUnreachable
from sesh.protocol import wire_json
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.storage_rpc import (
    ACCESS_DELETE,
    ACCESS_READ,
    ACCESS_WRITE,
    ALL_NAMESPACES,
    HARDFORK,
    MAX_MESSAGE_BYTES,
    RETRIEVE_MAX_SIZE,
    SECOND_MS,
    SIGNATURE_TOLERANCE_FORWARDED_MS,
    SIGNATURE_TOLERANCE_MS,
    STORAGE_SERVER_VERSION,
    STORE_TOLERANCE_MS,
    TTL_MAX_MS,
    TTL_MAX_PRIVATE_MS,
    TTL_MIN_MS,
    AccountWideRequest,
    Auth,
    DeleteRequest,
    ExpireRequest,
    Response,
    RevokeRequest,
    RpcError,
    SignedAtRequest,
    StoreRequest,
    b64decode,
    compact_json,
    expire_message,
    is_noauth_retrieve,
    is_public_inbox,
    is_public_outbox,
    is_unrevocable,
    message_hash,
    namespace_text,
    now_ms,
    one_of,
    op_id,
    parse_account,
    parse_account_wide,
    parse_client_body,
    parse_delete,
    parse_expire,
    parse_get_expiries,
    parse_ifelse,
    parse_namespace,
    parse_retrieve,
    parse_revoke,
    parse_revoked_list,
    parse_store,
    parse_subrequests,
    parse_timestamp,
    verify_auth,
)

log = logging.getLogger("sesh.node.storage.rpc")

# Methods applied on every swarm member (the entry node copies them to its peers).
RECURSIVE_METHODS = frozenset(
    {
        "store",
        "delete",
        "expire",
        "delete_all",
        "delete_before",
        "expire_all",
        "revoke_subaccount",
        "unrevoke_subaccount",
    }
)
# Methods that run others: not allowed inside a batch or sequence.
META_METHODS = frozenset({"batch", "sequence", "ifelse"})
# How deep ifelse may nest (Session's only bound is its JSON parser's).
MAX_IFELSE_DEPTH = 16

# Each method's parameter check, run on every subrequest before a batch runs any of them.
PARSERS: dict[str, Callable[[dict[str, Any]], object]] = {
    "store": parse_store,
    "retrieve": parse_retrieve,
    "delete": parse_delete,
    "expire": parse_expire,
    "delete_all": partial(parse_account_wide, "delete_all"),
    "delete_before": partial(parse_account_wide, "delete_before"),
    "expire_all": partial(parse_account_wide, "expire_all"),
    "get_expiries": parse_get_expiries,
    "revoke_subaccount": partial(parse_revoke, "revoke_subaccount"),
    "unrevoke_subaccount": partial(parse_revoke, "unrevoke_subaccount"),
    "revoked_subaccounts": parse_revoked_list,
    "get_swarm": lambda params: parse_account(one_of(params, "pubkey", "pubKey")),
    "get_snodes_for_pubkey": lambda params: parse_account(one_of(params, "pubkey", "pubKey")),
}


def _hf() -> list[int]:
    return list(HARDFORK)


# ----- the RPC


@dataclass(frozen=True)
class Call:
    """One request being served: the network as it stood, the method and the client's
    params, the node's clock, and whether a swarm peer forwarded it."""

    view: NetworkView
    method: str
    params: dict[str, Any]
    now: int
    forwarded: bool


Handler = Callable[[Call], Awaitable[Response]]


class Answered(Exception):
    """A handler's early answer (421 naming another swarm)."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


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
    # The chain height the node's registry stands at (`ifelse` compares it).
    height: Callable[[], int] = lambda: 0
    # get_service_nodes / ons_resolve for `oxend_request` (sesh.node.oxend).
    oxend: OxendApi | None = None

    def __post_init__(self) -> None:
        self._own_hex = self.identity.ed25519_pubkey.hex()
        self._write_batch = WriteBatch(self.db)
        # Every client method, name -> handler.
        self.methods: dict[str, Handler] = {
            "info": self._info,
            "get_swarm": self._get_swarm,
            "get_snodes_for_pubkey": self._get_swarm,
            "store": self._store,
            "retrieve": self._retrieve,
            "delete": self._delete,
            "delete_all": self._account_wide,
            "delete_before": self._account_wide,
            "expire": self._expire,
            "expire_all": self._account_wide,
            "get_expiries": self._get_expiries,
            "revoke_subaccount": self._revoke,
            "unrevoke_subaccount": self._revoke,
            "revoked_subaccounts": self._revoked_list,
            "batch": self._batch,
            "sequence": self._sequence,
            "ifelse": self._ifelse,
            "oxend_request": self._oxend_request,
        }

    async def handle_body(self, body: bytes) -> Response:
        """A request as `/storage_rpc/v1` or an onion request's target receives it: JSON,
        or bencoded (then answered in bencode)."""
        try:
            method, params, bt = parse_client_body(body)
        except RpcError as exc:
            self.metrics.inc("sesh_storage_requests_total", method="invalid", status="400")
            return exc.response()
        response = await self.handle(method, params)
        response.bt = bt
        return response

    async def handle(
        self, method: str, params: dict[str, Any], forwarded: bool = False
    ) -> Response:
        """Serve one method. `forwarded`: copied from a swarm peer (no further copies, the
        forwarding tolerance for signature timestamps)."""
        try:
            response = await self._dispatch(method, params, forwarded)
        except Answered as early:
            response = early.response
        except RpcError as exc:
            response = exc.response()
        except StorageFull:
            response = Response(507, "storage full: this node cannot take new messages now")
        except Exception:  # a bug must not take the node down, nor leak details
            log.exception("storage request %s failed", method)
            response = Response(500, "request failed")
        known = method if method in self.methods else "unknown"
        self.metrics.inc("sesh_storage_requests_total", method=known, status=str(response.status))
        return response

    async def _dispatch(self, method: str, params: dict[str, Any], forwarded: bool) -> Response:
        handler = self.methods.get(method)
        if handler is None:
            raise RpcError(400, f"no method {method}"[:200])
        if forwarded and method not in RECURSIVE_METHODS:
            raise RpcError(
                400, "invalid request: received invalid forwarded non-forwardable request"
            )
        view = await self.views.current()
        return await handler(Call(view, method, params, now_ms(self.clock), forwarded))

    # ----- helpers every handler uses

    def _require_ready(self, call: Call) -> None:
        if not call.view.ready or call.view.own is None:
            raise RpcError(503, f"Snode not ready: {self._own_hex}")

    def _require_ours(self, call: Call, account: bytes) -> None:
        """Serving; and the account is this swarm's, else 421 with the swarm holding it."""
        self._require_ready(call)
        view = call.view
        if not view.is_ours(account[1:]):
            body = view.swarm_json(view.swarm_for(account[1:]))
            body["t"] = call.now
            body["hf"] = _hf()
            raise Answered(Response(421, body))

    def _check_fresh(self, timestamp: int, now: int, forwarded: bool, what: str) -> None:
        tolerance = SIGNATURE_TOLERANCE_FORWARDED_MS if forwarded else SIGNATURE_TOLERANCE_MS
        if abs(timestamp - now) > tolerance:
            raise RpcError(406, f"{what} too far from current time")

    def _revoked(self, account: bytes) -> Callable[[bytes], bool]:
        return lambda token: self.db.is_revoked(account, token)

    def _sign(self, text: str | bytes) -> str:
        raw = text.encode() if isinstance(text, str) else text
        return _b64(self.identity.sign(raw))

    # ----- oxend_request (sesh.node.oxend)

    async def _oxend_request(self, call: Call) -> Response:
        self._require_ready(call)
        response = await oxend_request(self.oxend, call.params, call.now)
        if isinstance(response.body, dict):
            response.body["hf"] = _hf()
        return response

    # ----- info, get_swarm

    async def _info(self, call: Call) -> Response:
        return Response(
            200,
            {
                "version": list(STORAGE_SERVER_VERSION),
                "timestamp": call.now,
                "t": call.now,
                "hf": _hf(),
            },
        )

    async def _get_swarm(self, call: Call) -> Response:
        self._require_ready(call)
        account = parse_account(one_of(call.params, "pubkey", "pubKey"))
        body = call.view.swarm_json(call.view.swarm_for(account[1:]))
        body["t"] = call.now
        body["hf"] = _hf()
        return Response(200, body)

    # ----- store

    async def _store(self, call: Call) -> Response:
        req = parse_store(call.params)
        self._require_ours(call, req.account)
        now, forwarded = call.now, call.forwarded
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
            # A store to a public outbox replaces the message there: a delete as well.
            access = ACCESS_WRITE | (ACCESS_DELETE if is_public_outbox(req.namespace) else 0)
            if not verify_auth(
                req.account,
                req.auth,
                store_message(req),
                access,
                self._revoked(req.account),
            ):
                raise RpcError(401, "store signature verification failed")
        hash_ = message_hash(req.account, req.namespace, req.data)
        message = Message(hash_, req.account, req.namespace, req.timestamp, req.expiry, req.data)

        async def local() -> dict[str, Any]:
            new, expiry = await self._write_batch.store(message, is_public_outbox(req.namespace))
            if new:
                self.metrics.inc("sesh_storage_messages_stored_total")
            mine: dict[str, Any] = {
                "hash": hash_,
                "signature": self._sign(hash_),
                "expiry": expiry,
            }
            if not new:
                mine["already"] = True
            return mine

        if forwarded:
            return Response(200, await local())
        response = await self._swarm_request(call, local)
        if isinstance(response.body, dict):
            response.body["hash"] = hash_
        return response

    # ----- retrieve

    async def _retrieve(self, call: Call) -> Response:
        req = parse_retrieve(call.params)
        self._require_ours(call, req.account)
        now = call.now
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
            revoked = None if is_unrevocable(req.namespace) else self._revoked(req.account)
            if not verify_auth(req.account, req.auth, message, ACCESS_READ, revoked):
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
            req.account, req.namespace, req.last_hash, now, max_count, max_size, req.reverse
        )
        if found:
            self.metrics.inc("sesh_storage_messages_retrieved_total", len(found))
        return Response(200, json_text=retrieve_json(found, more, now))

    # ----- delete

    async def _delete(self, call: Call) -> Response:
        req = parse_delete(call.params)
        self._require_ours(call, req.account)
        if not verify_auth(
            req.account,
            req.auth,
            delete_message(req),
            ACCESS_DELETE,
            self._revoked(req.account),
        ):
            raise RpcError(401, "delete_msgs signature verification failed")

        async def local() -> dict[str, Any]:
            return self.apply_delete(req, "delete", call.params, call.now)

        if call.forwarded:
            return Response(200, await local())
        response = await self._swarm_request(call, local)
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
        self._log_op(method, params, applied_at)
        signed = req.account.hex() + "".join(req.hashes) + "".join(deleted)
        return {"deleted": deleted, "signature": self._sign(signed)}

    def _log_op(self, method: str, params: dict[str, Any], applied_at: int) -> None:
        self.db.log_op(
            op_id(method, params),
            method,
            compact_json(params),
            applied_at,
            applied_at + TTL_MAX_PRIVATE_MS,
        )

    # ----- delete_all, delete_before, expire_all

    async def _account_wide(self, call: Call) -> Response:
        req = parse_account_wide(call.method, call.params)
        self._require_ours(call, req.account)
        now, method = call.now, req.method
        if method == "delete_all":
            self._check_fresh(req.when, now, call.forwarded, "delete_all timestamp")
        elif method == "delete_before":
            if req.when > now + 60 * SECOND_MS:
                raise RpcError(401, "delete_before timestamp too far in the future")
        else:
            tolerance = (
                SIGNATURE_TOLERANCE_FORWARDED_MS if call.forwarded else SIGNATURE_TOLERANCE_MS
            )
            if req.when < now - tolerance:
                raise RpcError(406, "expire_all timestamp should be >= current time")
        if not verify_auth(
            req.account, req.auth, req.signed_text(), ACCESS_DELETE, self._revoked(req.account)
        ):
            raise RpcError(401, f"{method} signature verification failed")

        async def local() -> dict[str, Any]:
            return self.apply_account_wide(req, call.params, now)

        if call.forwarded:
            return Response(200, await local())
        return await self._swarm_request(call, local)

    def apply_account_wide(
        self,
        req: AccountWideRequest,
        params: dict[str, Any],
        applied_at: int,
        replayed: bool = False,
    ) -> dict[str, Any]:
        """Apply a delete_all / delete_before / expire_all here; this member's signed result.
        A replayed one (catching up) leaves messages newer than it alone: they came after."""
        namespace = None if req.namespace == ALL_NAMESPACES else int(req.namespace)
        if req.method == "expire_all":
            key = "updated"
            affected = self.db.shorten_all(
                req.account, namespace, req.when, before=applied_at if replayed else None
            )
        else:
            key = "deleted"
            before = req.when if req.method == "delete_before" else None
            if replayed and before is None:
                before = applied_at
            affected = self.db.delete_where(
                req.account, namespace, before, keep_until=applied_at + TTL_MAX_PRIVATE_MS
            )
        self._log_op(req.method, params, applied_at)
        hashes = sorted(h for _, h in affected)
        result: Any = hashes
        if namespace is None:
            by_ns: dict[str, list[str]] = {}
            for ns, hash_ in sorted(affected, key=lambda item: item[1]):
                by_ns.setdefault(str(ns), []).append(hash_)
            result = by_ns
        signed = req.account.hex() + str(req.when) + "".join(hashes)
        return {key: result, "signature": self._sign(signed)}

    # ----- expire, get_expiries

    async def _expire(self, call: Call) -> Response:
        req = parse_expire(call.params)
        self._require_ours(call, req.account)
        for expiry in req.expiries:
            if expiry < call.now - 60 * SECOND_MS:
                raise RpcError(401, "expire: timestamp should be >= current time")
        if not verify_auth(
            req.account, req.auth, expire_message(req), ACCESS_WRITE, self._revoked(req.account)
        ):
            raise RpcError(401, "expire: signature verification failed")
        sub = req.auth.subaccount
        if sub is not None and not sub.has(ACCESS_DELETE) and req.shorten:
            raise RpcError(
                400,
                "expire: shorten parameter cannot be used with this subaccount token "
                "(missing delete access)",
            )

        async def local() -> dict[str, Any]:
            return self.apply_expire(req, call.params, call.now)

        if call.forwarded:
            return Response(200, await local())
        return await self._swarm_request(call, local)

    def apply_expire(self, req: ExpireRequest, params: dict[str, Any], applied_at: int) -> dict:
        """Set the expiries here. Extend-only (asked for, or a subaccount that may not delete)
        skips a message already expiring later, or one the change would extend by less than
        1 % of its remaining lifetime (not worth rewriting on every member)."""
        sub = req.auth.subaccount
        extend_only = req.extend or (sub is not None and not sub.has(ACCESS_DELETE))
        targets = [min(e, applied_at + TTL_MAX_PRIVATE_MS) for e in req.expiries]
        current = self.db.expiries(req.account, req.hashes)
        changes: dict[str, int] = {}
        for i, hash_ in enumerate(req.hashes):
            target = targets[i] if len(targets) > 1 else targets[0]
            have = current.get(hash_)
            if have is None or hash_ in changes:
                continue
            if extend_only and (have >= target or (target - have) * 100 < have - applied_at):
                continue
            if req.shorten and have <= target:
                continue
            changes[hash_] = target
        self.db.set_expiries(req.account, changes)
        self._log_op("expire", params, applied_at)
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
            "signature": self._sign(signed),
        }
        if req.extend or req.shorten:
            mine["unchanged"] = unchanged
        return mine

    async def _get_expiries(self, call: Call) -> Response:
        req = parse_get_expiries(call.params)
        self._require_ours(call, req.account)
        self._check_fresh(req.timestamp, call.now, False, "get_expiries timestamp")
        self._verify_signed_at(req, ACCESS_READ)
        return Response(200, {"expiries": self.db.expiries(req.account, req.hashes)})

    def _verify_signed_at(self, req: SignedAtRequest | RevokeRequest, access: int) -> None:
        if not verify_auth(
            req.account, req.auth, req.signed_text(), access, self._revoked(req.account)
        ):
            raise RpcError(401, f"{req.method} signature verification failed")

    # ----- subaccount revocation

    async def _revoke(self, call: Call) -> Response:
        req = parse_revoke(call.method, call.params)
        self._require_ours(call, req.account)
        self._check_fresh(req.timestamp, call.now, call.forwarded, f"{req.method} timestamp")
        self._verify_signed_at(req, 0)

        async def local() -> dict[str, Any]:
            return self.apply_revoke(req, call.params, call.now)

        if call.forwarded:
            return Response(200, await local())
        return await self._swarm_request(call, local)

    def apply_revoke(
        self,
        req: RevokeRequest,
        params: dict[str, Any],
        applied_at: int,
        replayed: bool = False,
    ) -> dict:
        """Revoke or unrevoke here. A replayed change (catching up) leaves alone a token
        whose latest change applied here was signed later: members that saw a revocation and
        its undoing in different orders end up agreeing."""
        tokens = req.tokens
        if replayed:
            tokens = [
                t for t in tokens if (self.db.revocation_time(req.account, t) or -1) < req.timestamp
            ]
        if req.method == "revoke_subaccount":
            count = self.db.revoke(req.account, tokens)
        else:
            count = self.db.unrevoke(req.account, tokens)
        self.db.note_revocation_time(
            req.account, req.tokens, req.timestamp, applied_at + TTL_MAX_PRIVATE_MS
        )
        self._log_op(req.method, params, applied_at)
        signed = (req.account.hex() + str(req.timestamp)).encode() + b"".join(req.tokens)
        return {"count": count, "signature": self._sign(signed)}

    async def _revoked_list(self, call: Call) -> Response:
        req = parse_revoked_list(call.params)
        self._require_ours(call, req.account)
        self._check_fresh(req.timestamp, call.now, False, "revoked_subaccounts timestamp")
        self._verify_signed_at(req, 0)
        tokens = self.db.revoked_tokens(req.account)
        body = {"revoked_subaccounts": [_b64(t) for t in tokens], "t": call.now, "hf": _hf()}
        return Response(200, body)

    # ----- batch, sequence, ifelse

    def _check_request(self, method: str, params: dict[str, Any], depth: int, where: str) -> None:
        """Refuse (400) a request that cannot run, nested ones included, before any runs."""
        if depth > MAX_IFELSE_DEPTH:
            raise RpcError(400, "invalid request: requests nested too deeply")
        if method not in self.methods:
            if where == "batch":
                text = f'Invalid batch subrequest: invalid method "{method}"'
            else:
                text = f'Invalid ifelse request method "{method}"'
            raise RpcError(400, f"invalid request: {text}"[:200])
        if method in ("batch", "sequence"):
            for sub_method, sub_params in parse_subrequests(params):
                if sub_method in META_METHODS:
                    raise RpcError(
                        400,
                        "invalid request: Invalid batch subrequest: subrequests may not "
                        "contain meta-requests",
                    )
                self._check_request(sub_method, sub_params, depth + 1, "batch")
        elif method == "ifelse":
            _, then, otherwise = parse_ifelse(params)
            for branch in (then, otherwise):
                if branch is not None:
                    self._check_request(branch[0], branch[1], depth + 1, "ifelse")
        elif method in PARSERS:
            PARSERS[method](params)

    @staticmethod
    def _result(response: Response) -> dict[str, Any]:
        return {"code": response.status, "body": response.body}

    async def _batch(self, call: Call) -> Response:
        self._check_request("batch", call.params, 0, "batch")
        requests = parse_subrequests(call.params)
        answers = await asyncio.gather(*(self.handle(m, p) for m, p in requests))
        return Response(200, {"results": [self._result(a) for a in answers]})

    async def _sequence(self, call: Call) -> Response:
        """As batch, one at a time, stopping after the first that fails (not 2xx)."""
        self._check_request("sequence", call.params, 0, "batch")
        results = []
        for method, params in parse_subrequests(call.params):
            answer = await self.handle(method, params)
            results.append(self._result(answer))
            if not 200 <= answer.status <= 299:
                break
        return Response(200, {"results": results})

    async def _ifelse(self, call: Call) -> Response:
        self._check_request("ifelse", call.params, 0, "ifelse")
        condition, then, otherwise = parse_ifelse(call.params)
        height = self.height()
        holds = condition.holds(HARDFORK, STORAGE_SERVER_VERSION, height)
        body: dict[str, Any] = {
            "hf": _hf(),
            "v": list(STORAGE_SERVER_VERSION),
            "height": height,
            "condition": holds,
        }
        branch = then if holds else otherwise
        if branch is not None:
            body["result"] = self._result(await self.handle(*branch))
        return Response(200, body)

    # ----- swarm copies

    async def _swarm_request(
        self, call: Call, local: Callable[[], Awaitable[dict[str, Any]]]
    ) -> Response:
        """Copy the request to every swarm peer while applying it here; the answer holds
        each member's result (500 if every member failed)."""
        peers = call.view.peers() if self.peers is not None else []
        tasks = [
            asyncio.create_task(self._forward(peer, call.method, call.params)) for peer in peers
        ]
        try:
            mine = await local()
        except StorageFull:
            mine = {"failed": True, "query_failure": True, "reason": "storage full"}
        swarm: dict[str, Any] = {self._own_hex: mine}
        if tasks:
            for peer, result in zip(peers, await asyncio.gather(*tasks), strict=True):
                swarm[peer.ed25519.hex()] = result
        ok = any("failed" not in r for r in swarm.values())
        body = {"swarm": swarm, "t": call.now, "hf": _hf()}
        if not ok and "reason" in mine:
            return Response(507, body)
        return Response(200 if ok else 500, body)

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
            timestamp = parse_timestamp(entry.get("timestamp"), "timestamp")
            expiry = parse_timestamp(entry.get("expiry"), "expiry")
        except (RpcError, ValueError, binascii.Error):
            return None
        hash_ = message_hash(account, namespace, data)
        if hash_ != entry.get("hash") or len(data) > MAX_MESSAGE_BYTES:
            return None
        if not view.is_ours(account[1:]) or expiry <= now:
            return None
        expiry = min(expiry, now + TTL_MAX_PRIVATE_MS)
        stored = self.db.store(
            Message(hash_, account, namespace, timestamp, expiry, data),
            respect_tombstone=True,
            extend=False,
        )
        if stored is None:
            return None
        if stored[0]:
            self.metrics.inc("sesh_storage_messages_stored_total")
        return hash_, stored[0]

    def replay_op(self, view: NetworkView, method: str, params_text: str, applied_at: int) -> bool:
        """Apply a signed change a peer applied (its signature checked again; not the
        revoked list: a token revoked since was good when the peer applied the change)."""
        try:
            params = wire_json.loads(params_text)
            if not isinstance(params, dict) or self.db.has_op(op_id(method, params)):
                return False
            req: Any
            if method == "delete":
                req = parse_delete(params)
                if self._replayable(
                    view, req.account, req.auth, delete_message(req), ACCESS_DELETE
                ):
                    self.apply_delete(req, "delete", params, applied_at)
                    return True
            elif method == "expire":
                req = parse_expire(params)
                if self._replayable(view, req.account, req.auth, expire_message(req), ACCESS_WRITE):
                    self.apply_expire(req, params, applied_at)
                    return True
            elif method in ("delete_all", "delete_before", "expire_all"):
                req = parse_account_wide(method, params)
                if self._replayable(view, req.account, req.auth, req.signed_text(), ACCESS_DELETE):
                    self.apply_account_wide(req, params, applied_at, replayed=True)
                    return True
            elif method in ("revoke_subaccount", "unrevoke_subaccount"):
                req = parse_revoke(method, params)
                if self._replayable(view, req.account, req.auth, req.signed_text(), 0):
                    self.apply_revoke(req, params, applied_at, replayed=True)
                    return True
        except (RpcError, ValueError, RecursionError):
            return False
        return False

    @staticmethod
    def _replayable(
        view: NetworkView, account: bytes, auth: Auth, message: bytes, access: int
    ) -> bool:
        return view.is_ours(account[1:]) and verify_auth(account, auth, message, access)


def store_message(req: StoreRequest) -> bytes:
    return b"store" + namespace_text(req.namespace).encode() + str(req.sig_timestamp).encode()


def delete_message(req: DeleteRequest) -> bytes:
    return b"delete" + "".join(req.hashes).encode()


def _b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode()


def retrieve_json(found: list[tuple[str, int, int, bytes]], more: bool, now: int) -> str:
    """A retrieve's answer as compact JSON, written directly: the same text as
    `compact_json({"messages": [{"hash", "timestamp", "expiration", "data"}, ...], "more",
    "t", "hf"})` at a fraction of the cost (the data is most of it, and base64 needs no JSON
    escaping; hashes are base64 too, computed here or checked against the data)."""
    messages = ",".join(
        [
            f'{{"hash":"{hash_}","timestamp":{timestamp},"expiration":{expiry},'
            f'"data":"{binascii.b2a_base64(data, newline=False).decode()}"}}'
            for hash_, timestamp, expiry, data in found
        ]
    )
    hf = ",".join(str(part) for part in HARDFORK)
    more_text = "true" if more else "false"
    return f'{{"messages":[{messages}],"more":{more_text},"t":{now},"hf":[{hf}]}}'


def message_json(message: Message) -> dict[str, Any]:
    """A message as peers exchange it."""
    return {
        "hash": message.hash,
        "pubkey": message.pubkey.hex(),
        "namespace": message.namespace,
        "timestamp": message.timestamp,
        "expiry": message.expiry,
        "data": _b64(message.data),
    }
