"""The message store's life among its swarm: `POST /storage_rpc/v1` and `POST /peer/v1`,
and the background work — dropping expired messages, catching up from swarm peers after a
restart or a swarm change, and handing messages to the swarm now responsible for them
(docs/protocol.md, "Between swarm members").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sesh.node.guard import request_body
from sesh.node.http import MAX_REQUEST_BYTES, BodyIncomplete, BodyTimeout, BodyTooLarge
from sesh.node.network import NetworkView
from sesh.node.storage.messages import Message, MessageDB, StorageFull
from sesh.node.storage.peers import (
    PEER_PATH,
    PeerAuthError,
    PeerClient,
    PeerUnreachable,
    ReplayGuard,
    verify_request,
)
from sesh.node.storage.rpc import RECURSIVE_METHODS, StorageRpc, message_json
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.storage_rpc import RpcError, now_ms, parse_rpc_body

log = logging.getLogger("sesh.node.storage.replication")

# A catch-up page: about this much JSON (base64 data and all), far below what a peer
# reads in one answer (MAX_PEER_RESPONSE_BYTES).
SYNC_PAGE_BYTES = 1 << 20
HANDOFF_BATCH = 200
HANDOFF_BATCH_BYTES = 512 << 10


@dataclass
class StorageSettings:
    expiry_interval: float = 10.0
    sync_interval: float = 30.0
    # First wait after an incomplete round (then doubled each time, up to sync_interval).
    retry_interval: float = 1.0
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
        # One catch-up at a time: two would fetch the same pages.
        self._catching_up = asyncio.Lock()

    @property
    def db(self) -> MessageDB:
        return self.rpc.db

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/storage_rpc/v1", self.storage_rpc)
        app.router.add_post(PEER_PATH, self.peer)

    async def storage_rpc(self, request: web.Request) -> web.Response:
        body = await _read_request(request)
        if isinstance(body, web.Response):
            return body
        return (await self.rpc.handle_body(body)).http()

    # ----- node-to-node

    async def peer(self, request: web.Request) -> web.Response:
        body = await _read_request(request)
        if isinstance(body, web.Response):
            return body
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
                if (
                    not isinstance(inner_method, str)
                    or inner_method not in RECURSIVE_METHODS
                    or not isinstance(inner, dict)
                ):
                    raise RpcError(400, "replicate: a method applied swarm-wide, with params")
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
        tried = None  # the layout of the last round
        next_round = 0.0
        failed_rounds = 0
        while not stop.is_set():
            try:
                view = await self.rpc.views.current()
                registered = view.own_ed25519 in view.known
                if view.ready and registered:
                    moved = view.layout() != tried
                    if moved or time.monotonic() >= next_round:
                        tried = view.layout()
                        complete = await self.hand_off(view)
                        complete = await self.catch_up(view) and complete
                        failed_rounds = 0 if complete else failed_rounds + 1
                        if complete:
                            self.caught_up.set()
                        next_round = time.monotonic() + self.retry_delay(failed_rounds)
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                log.exception("storage maintenance round failed")
                failed_rounds += 1
                next_round = time.monotonic() + self.retry_delay(failed_rounds)
            await _wait(stop, self.settings.watch_interval)

    def retry_delay(self, failed_rounds: int) -> float:
        """Seconds to the next round: `sync_interval` after a complete one; after failures,
        `retry_interval` doubling with each one, up to `sync_interval` (never a hot loop
        against a peer that cannot answer)."""
        settings = self.settings
        if failed_rounds == 0:
            return settings.sync_interval
        return min(
            settings.sync_interval, settings.retry_interval * 2 ** min(failed_rounds - 1, 20)
        )

    async def catch_up(self, view: NetworkView) -> bool:
        """Pull from each swarm peer what it holds that we have not seen; True if every
        peer answered."""
        if view.own is None:
            return True
        async with self._catching_up:
            results = await asyncio.gather(*(self._pull(view, peer) for peer in view.peers()))
        return all(results)

    async def _pull(self, view: NetworkView, peer: NodeInfo) -> bool:
        """Take the peer's changes page by page. The cursor moves with every entry applied,
        so a page cut short (our database full, the peer gone) is not fetched again from
        its start; True if we reached the peer's head."""
        db, rpc = self.db, self.rpc
        epoch, since = db.cursor(peer.ed25519)
        pulled = 0
        try:
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
                    or not isinstance(page.get("last"), int)
                ):
                    log.info(
                        "catch-up from node %d refused: %s %s",
                        peer.node_id,
                        status,
                        str(page)[:200],
                    )
                    return False
                if page.get("epoch") != epoch:
                    # The peer's database is not the one our cursor pointed into.
                    epoch, since = str(page.get("epoch")), 0
                now = now_ms(rpc.clock)
                for entry in page["entries"]:
                    if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int):
                        continue
                    try:
                        pulled += self._apply_entry(view, entry, now)
                    except StorageFull:
                        log.warning(
                            "catch-up from node %d paused: this node's storage is full",
                            peer.node_id,
                        )
                        return False
                    since = max(since, entry["seq"])
                    db.set_cursor(peer.ed25519, epoch, since)
                since = max(since, page["last"])
                db.set_cursor(peer.ed25519, epoch, since)
                if not page.get("more"):
                    return True
        finally:
            if pulled:
                log.info("caught up %d messages from node %d", pulled, peer.node_id)

    def _apply_entry(self, view: NetworkView, entry: dict[str, Any], now: int) -> int:
        """Apply one catch-up entry; 1 if it brought a message new here."""
        rpc = self.rpc
        if isinstance(entry.get("message"), dict):
            accepted = rpc.accept_message(view, entry["message"], now)
            return 1 if accepted is not None and accepted[1] else 0
        op = entry.get("op")
        if isinstance(op, dict):
            applied_at = op.get("applied_at")
            if isinstance(applied_at, int) and isinstance(op.get("params"), str):
                rpc.replay_op(view, str(op.get("method")), op["params"], applied_at)
        return 0

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


async def _read_request(request: web.Request) -> bytes | web.Response:
    """The request's whole body, or the answer refusing it (413, or 400 when the client
    went away before sending it all — logged, not raised)."""
    try:
        return await request_body(request, MAX_REQUEST_BYTES)
    except BodyTooLarge:
        return web.Response(status=413, text="Request body too large")
    except BodyIncomplete as exc:
        log.info("%s from %s not received whole: %s", request.path, request.remote, exc)
        if isinstance(exc, BodyTimeout):
            return web.Response(status=408, text="Request body not received in time")
        return web.Response(status=400, text="Incomplete request body")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
