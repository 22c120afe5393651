"""The chain tracker: follows the staking and Pro contracts and keeps the registry in step.

Each round it asks the providers for their heads, checks that the last applied block is
still on the canonical chain (rolling back to the fork point if not), then downloads the
logs of bounded block ranges up to `head - confirmations` and applies each range — all
its blocks' events, their hashes and the new checkpoint — in one SQLite transaction.

A range is applied only if the chain did not move under it: the hash of its last block
is read before and after the logs (unchanged, so none of its ancestors changed), and the
block before the range still has the hash applied; any difference means a reorg is under
way, and the round starts again. The next range is downloaded while the current one is
applied.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from dataclasses import dataclass

from sesh.node.chain.registry import Changes, Registry
from sesh.node.chain.rpc import NoProviderError, ProviderError, RpcError, RpcPool
from sesh.node.chain.store import Checkpoint, Store
from sesh.node.metrics import Metrics
from sesh.rules.events import ALL_EVENTS, Event, LogDecodeError, RawLog, decode_log

log = logging.getLogger("sesh.node.chain.tracker")
TOPICS0 = tuple(e.topic0 for e in ALL_EVENTS)


async def _none() -> None:
    return None


class ChainMoved(Exception):
    """The chain changed while a range was read: start the round again."""


@dataclass
class TrackerSettings:
    confirmations: int = 20
    max_block_range: int = 2_000
    poll_interval: float = 2.0
    # Journal and block hashes kept for rollbacks; deeper reorgs resync from scratch.
    reorg_history_blocks: int = 100_000
    prune_every: int = 200


@dataclass
class _Range:
    first: int
    last: int
    last_hash: bytes
    logs: list[RawLog]


class ChainTracker:
    """Keeps `registry` equal to the events of the canonical chain up to the checkpoint."""

    def __init__(
        self,
        pool: RpcPool,
        store: Store,
        contracts: list[str],
        metrics: Metrics,
        settings: TrackerSettings | None = None,
    ):
        self.pool = pool
        self.store = store
        self.contracts = sorted({c.lower() for c in contracts})
        self.metrics = metrics
        self.settings = settings or TrackerSettings()
        self.registry: Registry = store.load_registry()
        self.checkpoint: Checkpoint = store.checkpoint()
        self.head: int | None = None
        self.synced = asyncio.Event()
        # Held while a range is applied (in the worker thread): readers of `registry`
        # (the API) take it too, so they never see half a range.
        self.lock = asyncio.Lock()
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="apply")
        self._commits = 0
        self._range = self.settings.max_block_range
        self._publish()

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    # ----- the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until `stop` is set. Provider trouble is logged and retried; it never ends
        the loop."""
        await self._guarded(self.pool.check_chain_ids)
        while not stop.is_set():
            await self._guarded(lambda: self.sync_once(stop))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.poll_interval)

    async def _guarded(self, step) -> None:
        try:
            await step()
        except NoProviderError as exc:
            log.error("no RPC provider usable: %s", exc)
        except ProviderError as exc:
            log.warning("sync round abandoned: %s", exc)
        except ChainMoved as exc:
            log.warning("chain moved during the round (%s); starting again", exc)
        except Exception:
            # A bug or a database error: the registry is reloaded from the last commit and
            # the round retried, while the API keeps serving.
            log.exception("sync round failed; retrying")
            self.registry = self.store.load_registry()
            self.checkpoint = self.store.checkpoint()

    async def sync_once(self, stop: asyncio.Event | None = None) -> None:
        """One round: check for a reorg, then apply every confirmed range."""
        head = await self.pool.refresh_heads()
        self.head = head
        target = head - self.settings.confirmations
        await self.check_reorg()
        first = self.checkpoint.number + 1
        if first > target:
            self._publish()
            self.synced.set()
            return
        pending: asyncio.Task | None = asyncio.create_task(
            self._fetch(first, target, self.checkpoint.hash)
        )
        try:
            while pending is not None:
                fetched = await pending
                pending = None
                if fetched.last < target and not (stop and stop.is_set()):
                    # Download the next range while this one is applied.
                    pending = asyncio.create_task(
                        self._fetch(fetched.last + 1, target, fetched.last_hash)
                    )
                # Applied in the worker thread, so this loop keeps downloading meanwhile
                # (libsodium and SQLite release the GIL; the provider works in parallel).
                async with self.lock:
                    await asyncio.get_running_loop().run_in_executor(
                        self._worker, self._apply, fetched
                    )
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
        self._publish()
        if self.checkpoint.number >= target:
            self.synced.set()

    # ----- reading a range

    async def _fetch(self, first: int, target: int, parent_hash: bytes | None) -> _Range:
        """The logs of `first..last` (at most one range, up to `target`), read while the
        chain stood still: block `last` has the same hash before and after the logs (so
        none of its ancestors changed either), and block `first - 1` had `parent_hash`
        (the last block applied, or about to be) before them."""
        while True:
            last = min(target, first + self._range - 1)
            before, parent = await asyncio.gather(
                self.pool.header(last),
                self.pool.header(first - 1) if parent_hash is not None else _none(),
            )
            if before is None:
                raise ChainMoved(f"block {last} is gone")
            if parent_hash is not None and (parent is None or parent.hash != parent_hash):
                raise ChainMoved(f"block {first - 1} is no longer the one applied")
            try:
                logs = await self.pool.get_logs(first, last, self.contracts, TOPICS0)
            except RpcError as exc:
                # Providers cap the block range or the result count: halve and retry, and
                # leave a provider that refuses even a single block.
                if last > first:
                    self._range = max(1, (last - first + 1) // 2)
                    log.info(
                        "eth_getLogs %d..%d refused (%s): range now %d",
                        first,
                        last,
                        exc,
                        self._range,
                    )
                else:
                    self.pool.fail_over(f"eth_getLogs of block {first} refused: {exc}")
                continue
            after = await self.pool.header(last)
            if after is None or after.hash != before.hash:
                raise ChainMoved(f"block {last} changed while its logs were read")
            # Grow back towards the configured range after a refusal.
            self._range = min(self.settings.max_block_range, self._range * 2)
            return _Range(first=first, last=last, last_hash=after.hash, logs=logs)

    # ----- applying a range

    def _apply(self, fetched: _Range) -> None:
        if fetched.first != self.checkpoint.number + 1:
            raise ChainMoved(f"range {fetched.first} does not follow {self.checkpoint.number}")
        by_block: dict[int, list[Event]] = {}
        hashes: dict[int, bytes] = {}
        rejected = 0
        for raw in fetched.logs:
            hashes[raw.block_number] = raw.block_hash
            if raw.removed:
                raise ChainMoved(f"provider returned a removed log at block {raw.block_number}")
            try:
                event = decode_log(raw)
            except LogDecodeError as exc:
                rejected += 1
                log.warning("skipped malformed log at %s: %s", raw.where(), exc)
                continue
            by_block.setdefault(raw.block_number, []).append(event)
        if fetched.last in hashes and hashes[fetched.last] != fetched.last_hash:
            raise ChainMoved(f"logs of block {fetched.last} are from another fork")
        changes = Changes()
        try:
            for number in sorted(hashes):
                self.registry.apply_block(number, hashes[number], by_block.get(number, []), changes)
            checkpoint = Checkpoint(fetched.last, fetched.last_hash)
            self.store.commit(self.registry, changes, checkpoint, logs_rejected=rejected)
        except BaseException:
            # The in-memory registry may hold half a range: take it back from the database.
            self.registry = self.store.load_registry()
            raise
        self.checkpoint = checkpoint
        self.metrics.inc("sesh_bridge_events_applied_total", changes.events)
        self.metrics.inc("sesh_bridge_logs_rejected_total", rejected)
        self._commits += 1
        if self._commits % self.settings.prune_every == 0:
            self.store.prune(self.checkpoint.number - self.settings.reorg_history_blocks)
        self._publish()

    # ----- reorgs

    async def check_reorg(self) -> None:
        """Roll back to the fork point if the checkpoint block is no longer canonical."""
        checkpoint = self.checkpoint
        if checkpoint.hash is None:
            return
        header = await self.pool.header(checkpoint.number)
        if header is not None and header.hash == checkpoint.hash:
            return
        fork = None
        for number, stored in self.store.block_hashes_desc(checkpoint.number):
            canonical = await self.pool.header(number)
            if canonical is not None and canonical.hash == stored:
                fork = number
                break
        started = time.monotonic()
        # Ranges are committed whole: go back to the last commit at or below the fork and
        # re-apply from there.
        if fork is not None:
            fork = self.store.boundary_at_or_below(fork)
        if fork is None:
            log.error(
                "reorg below the kept history (oldest kept block %s): resyncing from block %d",
                self.store.oldest_block(),
                self.store.identity.start_block,
            )
            self.checkpoint = self.store.reset()
            self.metrics.inc("sesh_bridge_resyncs_total")
        else:
            self.checkpoint = self.store.rollback_to(fork)
            log.warning(
                "reorg: block %d is no longer canonical; rolled back %d blocks to %d",
                checkpoint.number,
                checkpoint.number - fork,
                fork,
            )
        self.registry = self.store.load_registry()
        self.metrics.inc("sesh_bridge_reorgs_total")
        self.synced.clear()
        log.info("rollback took %.3fs", time.monotonic() - started)
        self._publish()

    # ----- status

    def _publish(self) -> None:
        m = self.metrics
        m.set("sesh_bridge_synced_block", self.checkpoint.number)
        if self.head is not None:
            m.set("sesh_bridge_chain_head", self.head)
            m.set("sesh_bridge_lag_blocks", max(0, self.head - self.checkpoint.number))
        counts: dict[str, int] = {}
        for node in self.registry.nodes.values():
            counts[node.status] = counts.get(node.status, 0) + 1
        for status in ("open", "active", "exiting", "exited", "cancelled"):
            m.set("sesh_bridge_nodes", counts.get(status, 0), status=status)
        m.set("sesh_bridge_swarms", len(self.registry.swarms))
        m.set("sesh_bridge_pro_keys", len(self.registry.pro))
