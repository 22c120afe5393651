"""Message storage: Session's storage RPC (`store`, `retrieve`, `delete`, `expire`,
`get_swarm`, `info`) as `POST /storage_rpc/v1` and the target of onion requests answer
it, with Session's semantics (requests: `sesh.protocol.storage_rpc`; docs/protocol.md,
"Storage RPC", lists every field, limit, signature and status).

A node answers only for accounts of its own swarm (others get 421 with the swarm that
holds them). `store`, `delete` and `expire` are applied here and copied to every swarm
peer as signed node-to-node requests (`sesh.node.storage.peers`); the answer lists each member's
own signed result. Peers' copies, catching up and handing messages over are
`sesh.node.storage.replication`'s.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sesh import __version__
from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import NetworkView, ViewSource
from sesh.node.oxend import OxendApi, oxend_request
from sesh.node.storage.messages import Message, MessageDB, StorageFull
from sesh.node.storage.peers import PeerClient, PeerUnreachable
from sesh.protocol import wire_json
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.storage_rpc import (
    MAX_MESSAGE_BYTES,
    RETRIEVE_MAX_SIZE,
    SECOND_MS,
    SIGNATURE_TOLERANCE_FORWARDED_MS,
    SIGNATURE_TOLERANCE_MS,
    STORE_TOLERANCE_MS,
    TTL_MAX_MS,
    TTL_MAX_PRIVATE_MS,
    TTL_MIN_MS,
    DeleteRequest,
    ExpireRequest,
    Response,
    RetrieveRequest,
    RpcError,
    StoreRequest,
    b64decode,
    compact_json,
    expire_message,
    is_noauth_retrieve,
    is_public_inbox,
    is_public_outbox,
    message_hash,
    namespace_text,
    now_ms,
    one_of,
    op_id,
    parse_account,
    parse_delete,
    parse_expire,
    parse_namespace,
    parse_retrieve,
    parse_rpc_body,
    parse_store,
    parse_timestamp,
    verify_auth,
)

log = logging.getLogger("sesh.node.storage.rpc")

# ----- the RPC


@dataclass(frozen=True)
class Call:
    """One request being served: the network as it stood, the client's params, the node's
    clock, and whether a swarm peer forwarded it."""

    view: NetworkView
    params: dict[str, Any]
    now: int
    forwarded: bool


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
    # get_service_nodes / ons_resolve for `oxend_request` (sesh.node.oxend).
    oxend: OxendApi | None = None

    METHODS = ("store", "retrieve", "delete", "expire", "get_swarm", "info", "oxend_request")

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
        if method == "oxend_request":
            return await oxend_request(self.oxend, params, now)
        if method in ("get_swarm", "get_snodes_for_pubkey"):
            account = parse_account(one_of(params, "pubkey", "pubKey"))
            body = view.swarm_json(view.swarm_for(account[1:]))
            body["t"] = now
            return Response(200, body)
        if method == "store":
            req: Any = parse_store(params)
        elif method == "retrieve":
            req = parse_retrieve(params)
        elif method == "delete":
            req = parse_delete(params)
        elif method == "expire":
            req = parse_expire(params)
        else:
            raise RpcError(400, f"no method {method}"[:200])
        if not view.is_ours(req.account[1:]):
            # 421 with the swarm that holds the account.
            body = view.swarm_json(view.swarm_for(req.account[1:]))
            body["t"] = now
            return Response(421, body)
        if method == "retrieve":
            return self._retrieve(req, now)
        call = Call(view, params, now, forwarded)
        if method == "store":
            return await self._store(call, req)
        if method == "delete":
            return await self._delete(call, req)
        return await self._expire(call, req)

    # ----- store

    async def _store(self, call: Call, req: StoreRequest) -> Response:
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
        response = await self._swarm_request(call, "store", local)
        if isinstance(response.body, dict):
            response.body["hash"] = hash_
        return response

    # ----- retrieve

    def _retrieve(self, req: RetrieveRequest, now: int) -> Response:
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
        return Response(200, json_text=retrieve_json(found, more, now))

    # ----- delete

    async def _delete(self, call: Call, req: DeleteRequest) -> Response:
        if not verify_auth(req.account, req.auth, b"delete" + "".join(req.hashes).encode()):
            raise RpcError(401, "delete_msgs signature verification failed")

        async def local() -> dict[str, Any]:
            return self.apply_delete(req, "delete", call.params, call.now)

        if call.forwarded:
            return Response(200, await local())
        response = await self._swarm_request(call, "delete", local)
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
            compact_json(params),
            applied_at,
            applied_at + TTL_MAX_PRIVATE_MS,
        )
        signed = req.account.hex() + "".join(req.hashes) + "".join(deleted)
        return {"deleted": deleted, "signature": _b64(self.identity.sign(signed.encode()))}

    # ----- expire

    async def _expire(self, call: Call, req: ExpireRequest) -> Response:
        for expiry in req.expiries:
            if expiry < call.now - 60 * SECOND_MS:
                raise RpcError(401, "expire: timestamp should be >= current time")
        if not verify_auth(req.account, req.auth, expire_message(req)):
            raise RpcError(401, "expire: signature verification failed")

        async def local() -> dict[str, Any]:
            return self.apply_expire(req, call.params, call.now)

        if call.forwarded:
            return Response(200, await local())
        return await self._swarm_request(call, "expire", local)

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
            compact_json(params),
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
        self, call: Call, method: str, local: Callable[[], Awaitable[dict[str, Any]]]
    ) -> Response:
        """Copy the request to every swarm peer while applying it here; the answer holds
        each member's result (500 if every member failed)."""
        peers = call.view.peers() if self.peers is not None else []
        tasks = [asyncio.create_task(self._forward(peer, method, call.params)) for peer in peers]
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
            return Response(507, {"swarm": swarm, "t": call.now})
        return Response(200 if ok else 500, {"swarm": swarm, "t": call.now})

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
            params = wire_json.loads(params_text)
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


def _b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode()


def _version() -> list[int]:
    parts = []
    for piece in __version__.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group()) if digits else 0)
    return parts


def retrieve_json(found: list[tuple[str, int, int, bytes]], more: bool, now: int) -> str:
    """A retrieve's answer as compact JSON, written directly: the same text as
    `compact_json({"messages": [{"hash", "timestamp", "expiration", "data"}, ...], "more",
    "t"})` at a fraction of the cost (the data is most of it, and base64 needs no JSON
    escaping; hashes are base64 too, computed here or checked against the data)."""
    messages = ",".join(
        [
            f'{{"hash":"{hash_}","timestamp":{timestamp},"expiration":{expiry},'
            f'"data":"{binascii.b2a_base64(data, newline=False).decode()}"}}'
            for hash_, timestamp, expiry, data in found
        ]
    )
    return f'{{"messages":[{messages}],"more":{"true" if more else "false"},"t":{now}}}'


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
