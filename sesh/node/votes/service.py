"""Network votes in the bridge (DESIGN §7): the node tests its peers every round, signs what
its own view supports (`POST /bls/sign`), and leads the votes it is first in line for:
the removal of a failing member of its swarm, the removal of a registration the network
refuses to serve (lowest-id serving node first), and its own fast exit.

Routes: `POST /bls/sign` (`{action, node_id, timestamp}` -> the node's BLS signature, or
403 with the reason it will not sign) and `GET /votes` (this node's peer tests, votes and
submitted transactions). The rules are in `rules.py`, the tests in `peer_tests.py`,
the aggregation in `aggregator.py`; docs/protocol.md ("Network votes") specifies them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from sesh.node.chain.rpc import NoProviderError, ProviderError
from sesh.node.chain.tracker import ChainTracker
from sesh.node.config import VotesConfig
from sesh.node.guard import request_body
from sesh.node.http import BodyIncomplete, BodyTooLarge
from sesh.node.identity import NodeIdentity
from sesh.node.metrics import Metrics
from sesh.node.network import ViewSource
from sesh.node.votes.aggregator import Aggregator, Voter
from sesh.node.votes.chain_tx import ChainClock, ChainTxError, Sender, StakingChain
from sesh.node.votes.db import VotesDB
from sesh.node.votes.peer_tests import PeerTester
from sesh.node.votes.rules import (
    EXIT,
    LIQUIDATE,
    MIN_EXIT_AGE,
    NETWORK_STATUSES,
    REMOVE,
    Observation,
    SignPolicy,
    VoteRequestError,
    aggregator_rank,
    parse_sign_request,
    refusal,
    refused_registration_rank,
    takes_the_lead,
    test_sample,
)
from sesh.protocol import wire_json
from sesh.protocol.wire_json import JsonTooDeep

log = logging.getLogger("sesh.node.votes.service")


@dataclass(frozen=True)
class Snapshot:
    """What the votes read of the registry at one checkpoint."""

    statuses: dict[int, str]
    swarm_of: dict[int, int]
    swarms: dict[int, list[int]]
    voters: list[Voter]
    # The nodes in the network the registry excludes (refused registrations) -> why.
    refused: dict[int, str]
    # The serving nodes (in the network and not excluded).
    serving: list[int]
    own_id: int | None
    own_status: str | None
    own_bls: bytes | None
    block_hash: bytes | None


class VotesService:
    """Peer tests, the signer and the automatic aggregator of one node."""

    def __init__(
        self,
        config: VotesConfig,
        identity: NodeIdentity,
        tracker: ChainTracker,
        views: ViewSource,
        db: VotesDB,
        chain: StakingChain,
        clock: ChainClock,
        sender: Sender | None,
        metrics: Metrics,
        wall: Callable[[], float] = time.time,
    ):
        self.config = config
        self.identity = identity
        self.tracker = tracker
        self.views = views
        self.db = db
        self.chain = chain
        self.clock = clock
        self.sender = sender
        self.metrics = metrics
        self.wall = wall
        self.policy = SignPolicy(
            config.remove_after, config.liquidate_after, config.clock_tolerance
        )
        self._session: aiohttp.ClientSession | None = None
        self.tester = PeerTester(self.session, config.test_timeout, wall)
        self.aggregator = Aggregator(
            chain, clock, db, sender, self.session, config.sign_timeout, metrics
        )
        self._votes: dict[tuple[str, int], asyncio.Task] = {}
        # The nodes in the network as of the last round (whom a running vote asks).
        self._network: list[Voter] = []
        self._activated_at: dict[int, int] = {}
        # failing node -> (this node's place in line to lead its removal, since when).
        self._rank_since: dict[int, tuple[int, float]] = {}
        # refused registration -> (this node's place in line, since when, first seen when).
        self._refused_since: dict[int, tuple[int, float, float]] = {}
        self._stop = asyncio.Event()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64), raise_for_status=False
            )
        return self._session

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/bls/sign", self.sign)
        app.router.add_get("/votes", self.votes)

    def close(self) -> None:
        self.db.close()

    # ----- the background work

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        if self.identity.bls_secret is None:
            log.warning("no BLS key (node.key_store or node.bls_key_file): this node tests "
                        "its peers but signs no votes")  # fmt: skip
        if self.config.aggregate and self.sender is None:
            log.warning("no votes.submitter: this node signs votes but leads none")
        try:
            while not stop.is_set():
                try:
                    await self.round()
                except (NoProviderError, ProviderError, ChainTxError) as exc:
                    log.warning("votes round: chain unavailable: %s", exc)
                except Exception:  # a bug must not stop the node; the next round retries
                    log.exception("votes round failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.test_interval)
        finally:
            for task in self._votes.values():
                task.cancel()
            for task in self._votes.values():
                with contextlib.suppress(BaseException):
                    await task
            if self._session is not None:
                await self._session.close()

    async def snapshot(self) -> Snapshot:
        async with self.tracker.lock:
            registry = self.tracker.registry
            own = registry.node_by_ed25519(self.identity.ed25519_pubkey)
            return Snapshot(
                statuses={n: node.status for n, node in registry.nodes.items()},
                swarm_of=registry.node_swarm(),
                swarms={sid: list(members) for sid, members in registry.swarms.items()},
                voters=[
                    Voter(node.node_id, node.bls_pubkey, node.endpoint, node.activated_block)
                    for node in registry.nodes.values()
                    if node.status in NETWORK_STATUSES
                ],
                refused={
                    n: node.excluded
                    for n, node in registry.nodes.items()
                    if node.status in NETWORK_STATUSES and node.excluded is not None
                },
                serving=sorted(n for n, node in registry.nodes.items() if node.serving),
                own_id=own.node_id if own else None,
                own_status=own.status if own else None,
                own_bls=own.bls_pubkey if own else None,
                block_hash=self.tracker.checkpoint.hash,
            )

    async def round(self) -> None:
        """One round: refresh the chain's clock, test the sample, start the votes this node
        leads."""
        await self.clock.refresh()
        view = await self.views.current()
        own = view.own
        if not view.ready or own is None:
            return
        snap = await self.snapshot()
        serving = {n.node_id: n for n in view.nodes.values()}
        own_swarm = [n for n in view.swarms.get(own.swarm_id, ()) if n != own.ed25519]
        swarm_ids = [view.nodes[k].node_id for k in own_swarm if k in view.nodes]
        others = [n for n, info in serving.items() if info.swarm_id != own.swarm_id]
        sample = set(
            test_sample(
                own.ed25519,
                swarm_ids,
                others,
                snap.block_hash or bytes(32),
                self.config.random_peers,
            )
        )
        sample |= {n for n in self.db.watched() if n in serving}
        sample.discard(own.node_id)
        results = await self.tester.test_many(view, [serving[n] for n in sorted(sample)])
        for node, result in results:
            self.db.record_test(node.node_id, result.ok, result.reason, result.ms)
            self.metrics.inc("sesh_peer_tests_total", result="pass" if result.ok else "fail")
            if not result.ok:
                log.info("peer test of node %d failed: %s", node.node_id, result.reason)
        self.db.forget_peers({v.node_id for v in snap.voters})
        self.db.prune_tests(self.wall() - self.config.history_hours * 3600)
        await self._lead(snap)

    async def _lead(self, snap: Snapshot) -> None:
        """Start the votes this node is first in line for (and not already running)."""
        self._network = snap.voters
        if not self.config.aggregate or self.sender is None or snap.own_id is None:
            return
        now = self.wall()
        states = self.db.peers()
        unhealthy = {s.node_id for s in states if s.failing}
        # Rebuilt each round: a node that passes again, leaves, or whose line this node
        # left starts its wait afresh when it fails again.
        rank_since: dict[int, tuple[int, float]] = {}
        for state in states:
            node_id = state.node_id
            if not state.failing or snap.statuses.get(node_id) not in NETWORK_STATUSES:
                continue
            swarm = snap.swarms.get(snap.swarm_of.get(node_id, -1), [])
            rank = aggregator_rank(snap.own_id, swarm, node_id, unhealthy)
            if rank is None:
                continue
            held, since = self._rank_since.get(node_id, (rank, now))
            if held != rank:
                since = now
            rank_since[node_id] = (rank, since)
            failing_for = state.failing_for(now)
            if not takes_the_lead(
                rank, failing_for, now - since, self.config.remove_after, self.config.takeover_delay
            ):
                continue
            action = LIQUIDATE if failing_for >= self.config.liquidate_after else REMOVE
            self._start(action, node_id, self._still_failing(node_id))
        self._rank_since = rank_since
        self._lead_refused(snap, unhealthy, now)
        if self.config.exit_votes and snap.own_status == "exiting":
            activated_at = await self.activated_at(snap.own_id)
            if activated_at and self.clock.now() >= activated_at + MIN_EXIT_AGE:
                self._start(EXIT, snap.own_id, lambda: None)

    def _lead_refused(self, snap: Snapshot, unhealthy: set[int], now: float) -> None:
        """Start the removal of the refused registrations in the network that this node is
        in line for: the lowest-id serving node leads as soon as it sees one; the next in
        line takes over `takeover_delay` later per place (docs/protocol.md, "Refused
        registrations")."""
        assert snap.own_id is not None
        refused_since: dict[int, tuple[int, float, float]] = {}
        rank = refused_registration_rank(snap.own_id, snap.serving, unhealthy)
        for node_id, reason in sorted(snap.refused.items()):
            if rank is None:
                continue
            held, since, seen = self._refused_since.get(node_id, (rank, now, now))
            if held != rank:
                since = now
            refused_since[node_id] = (rank, since, seen)
            if not takes_the_lead(rank, now - seen, now - since, 0.0, self.config.takeover_delay):
                continue
            if (REMOVE, node_id) not in self._votes:
                log.warning("node %d is in the network but refused (%s)", node_id, reason)
            self._start(REMOVE, node_id, lambda: None)
        self._refused_since = refused_since

    def _still_failing(self, node_id: int) -> Callable[[], str | None]:
        def check() -> str | None:
            state = self.db.peer(node_id)
            if state is None or not state.failing:
                return f"node {node_id} passes this node's tests again"
            return None

        return check

    def _start(self, action: str, node_id: int, keep_going: Callable[[], str | None]) -> None:
        key = (action, node_id)
        running = self._votes.get(key)
        if running is not None and not running.done():
            return
        log.info("leading the %s vote on node %d", action, node_id)
        self._votes[key] = asyncio.create_task(
            self.aggregator.run(
                action,
                node_id,
                lambda: self._network,
                self.config.retry_interval,
                keep_going,
                self._stop,
            )
        )

    async def activated_at(self, node_id: int) -> int | None:
        """The chain time of a node's activation (from the contract; kept once known)."""
        if node_id not in self._activated_at:
            on_chain = await self.chain.node(node_id)
            if not on_chain.activated_at:
                return None
            self._activated_at[node_id] = on_chain.activated_at
        return self._activated_at[node_id]

    # ----- routes

    async def sign(self, request: web.Request) -> web.Response:
        """`POST /bls/sign`: this node's signature, if its own view supports the action."""
        try:
            req = parse_sign_request(wire_json.loads(await request_body(request, 1 << 16)))
        except JsonTooDeep:
            return _error(400, "bad request: JSON nested too deeply")
        except BodyTooLarge:
            return _error(413, "bad request: body too large")
        except BodyIncomplete:
            return _error(400, "bad request: body not received whole")
        except (ValueError, VoteRequestError) as exc:
            return _error(400, f"bad request: {exc}")
        if self.identity.bls_secret is None:
            return _error(503, "this node has no BLS key")
        if not self.tracker.synced.is_set():
            return _error(503, "not synced")
        async with self.tracker.lock:
            registry = self.tracker.registry
            own = registry.node_by_ed25519(self.identity.ed25519_pubkey)
            target = registry.nodes.get(req.node_id)
            own_id = own.node_id if own else None
            own_ok = own is not None and own.status in NETWORK_STATUSES
            own_bls = own.bls_pubkey if own else None
            status = target.status if target else None
            excluded = target.excluded if target else None
        if not own_ok or own_id is None:
            return _error(503, "this node is not in the network")
        assert self.identity.bls_pubkey is not None
        if own_bls != self.identity.bls_pubkey.to_eip2537():
            return _error(503, "this node's BLS key is not the one registered")
        try:
            activated_at = None
            if req.action == EXIT and status in NETWORK_STATUSES:
                activated_at = await self.activated_at(req.node_id)
            reason = self._judge(req, status, activated_at, own_id, excluded)
            drift = abs(req.timestamp - self.clock.now())
            if reason is not None and drift > self.policy.clock_tolerance:
                # The chain's clock may have jumped (a dev chain): look again before refusing.
                await self.clock.refresh()
                reason = self._judge(req, status, activated_at, own_id, excluded)
        except (NoProviderError, ProviderError, ChainTxError) as exc:
            return _error(503, f"chain unavailable: {exc}")
        if reason is not None:
            self.metrics.inc("sesh_votes_sign_requests_total", action=req.action, result="refused")
            if req.action != EXIT and status in NETWORK_STATUSES and req.node_id != own_id:
                # Asked about a node: test it every round from now on, to have a view.
                self.db.watch(req.node_id)
            return web.json_response({"error": reason, "signer": own_id}, status=403)
        digest = req.message(self.chain.chain_id, self.chain.staking)
        signature = self.identity.sign_bls(digest)
        self.metrics.inc("sesh_votes_sign_requests_total", action=req.action, result="signed")
        log.info("signed %s of node %d at %d", req.action, req.node_id, req.timestamp)
        return web.json_response(
            {
                **req.to_json(),
                "signer": own_id,
                "bls_pubkey": self.identity.bls_pubkey.to_compressed().hex(),
                "signature": signature.to_compressed().hex(),
            }
        )

    def _judge(
        self,
        req,
        status: str | None,
        activated_at: int | None,
        own_id: int,
        excluded: str | None = None,
    ) -> str | None:
        state = self.db.peer(req.node_id)
        observed = Observation(
            status=status,
            activated_at=activated_at,
            failing_for=state.failing_for(self.wall()) if state else 0.0,
            failures=state.failures if state else 0,
            excluded=excluded,
        )
        return refusal(req, observed, own_id, self.clock.now(), self.policy)

    async def votes(self, request: web.Request) -> web.Response:
        """`GET /votes`: peer tests, votes, submissions."""
        now = self.wall()
        return web.json_response(
            {
                "chain_time": self.clock.now(),
                "peers": [s.to_json(now) for s in sorted(self.db.peers(), key=lambda s: s.node_id)],
                "votes": self.db.votes(),
                "submissions": [s.to_json() for s in self.db.submissions()],
            }
        )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
