"""The soak: `sesh node run` processes on loopback over a real anvil, under a client that
stores messages of every size up to the largest (76,800 bytes) through three-hop onion
paths, fills a mailbox past 2 MB, while nodes are killed with SIGKILL and restarted and
a node leaves the network (a swarm change). At the end, every acknowledged message must
be retrievable through a three-hop path from every live member of its swarm, and every
catch-up cursor must have reached its peer's head. Figures go to bench/results/soak.json.

    python -m tests.node.soak --nodes 11 --duration 300     # `make soak`
    tests/node/test_soak.py                                 # the short run in `make test`
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import random
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sesh.client.onion_client import ClientError, OnionClient, PathError, pick_path
from sesh.devnet.chain import DEVNET_CHAIN_ID, start_anvil
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.storage_rpc import MAX_MESSAGE_BYTES
from tests.node.driver import EventsDriver, compile_mock
from tests.node.processnet import ROOT, NetNode, ProcessNet, wait_until
from tests.node.storage.test_storage import retrieve_params

RESULTS = ROOT / "bench" / "results" / "soak.json"
TTL_MS = 3_600_000


@dataclass
class Figures:
    nodes: int
    duration_s: float
    messages_acknowledged: int = 0
    bytes_acknowledged: int = 0
    stores_refused_or_failed: int = 0
    largest_message_bytes: int = 0
    largest_mailbox_bytes: int = 0
    kills: int = 0
    restarts: int = 0
    swarm_changes: int = 0
    nodes_moved_between_swarms: int = 0
    swarm_sizes_before: list[int] = field(default_factory=list)
    swarm_sizes_after: list[int] = field(default_factory=list)
    retrievals_checked: int = 0
    losses: int = 0
    catch_up_s: float = 0.0
    cursors_checked: int = 0
    tracebacks_in_logs: int = 0
    wall_s: float = 0.0


@dataclass
class Sent:
    user: AccountKeys
    hashes: dict[str, str] = field(default_factory=dict)  # message hash -> sha256 of data
    size: int = 0


class Soak:
    def __init__(self, tmp_path: Path, nodes: int, duration: float, seed: int):
        self.tmp_path = tmp_path
        self.count = nodes
        self.duration = duration
        self.rng = random.Random(seed)
        self.figures = Figures(nodes, duration)
        self.anvil = None
        self.net: ProcessNet | None = None
        self.users: list[Sent] = []
        self.left: NetNode | None = None

    # ----- the network

    def start(self) -> None:
        self.anvil = start_anvil(chain_id=DEVNET_CHAIN_ID)
        abi, bytecode = compile_mock()
        driver, block = EventsDriver.deploy(self.anvil.url, abi, bytecode)
        driver.deploy_block = block
        self.net = ProcessNet(self.tmp_path, self.anvil.url, driver, self.count)
        self.net.start()
        self.figures.swarm_sizes_before = sorted(len(m) for m in self.net.swarms().values())

    def close(self) -> None:
        if self.net is not None:
            self.net.close()
        if self.anvil is not None:
            self.anvil.stop()

    def live(self) -> list[NetNode]:
        assert self.net is not None
        return [n for n in self.net.nodes if n.alive and n is not self.left]

    async def client(self) -> OnionClient:
        client = OnionClient([n.url for n in self.live()], enc_type="xchacha20")
        await client.open()
        await client.refresh()
        return client

    # ----- the load

    async def store(self, client: OnionClient, sent: Sent, size: int) -> None:
        data = self.rng.randbytes(size)
        try:
            answer = await client.store(sent.user.session_id, data, TTL_MS)
        except (TimeoutError, ClientError, PathError, OSError):
            self.figures.stores_refused_or_failed += 1
            return
        if answer.status != 200 or not isinstance(answer.body, dict):
            self.figures.stores_refused_or_failed += 1
            return
        sent.hashes[answer.body["hash"]] = hashlib.sha256(data).hexdigest()
        sent.size += size
        self.figures.messages_acknowledged += 1
        self.figures.bytes_acknowledged += size
        self.figures.largest_message_bytes = max(self.figures.largest_message_bytes, size)
        self.figures.largest_mailbox_bytes = max(self.figures.largest_mailbox_bytes, sent.size)

    async def load(self) -> None:
        """The big mailbox first, then stores of random sizes to every account while the
        events happen at their fractions of the run."""
        self.users = [Sent(AccountKeys.generate()) for _ in range(4)]
        big = self.users[0]
        client = await self.client()
        try:
            while big.size <= 2_200_000:
                await self.store(client, big, MAX_MESSAGE_BYTES)
            events = [
                (0.2, self.kill),
                (0.4, self.restart_all),
                (0.5, self.swarm_change),
                (0.7, self.kill),
                (0.85, self.restart_all),
            ]
            started = time.monotonic()
            while True:
                elapsed = (time.monotonic() - started) / self.duration
                while events and events[0][0] <= elapsed:
                    _, event = events.pop(0)
                    await asyncio.to_thread(event)
                    await client.close()
                    client = await self.client()
                if elapsed >= 1 and not events:
                    break
                sent = self.rng.choice(self.users)
                size = self.rng.choice(
                    [MAX_MESSAGE_BYTES, self.rng.randint(1, MAX_MESSAGE_BYTES), 100]
                )
                await self.store(client, sent, size)
        finally:
            await client.close()

    # ----- the events

    def kill(self) -> None:
        victim = self.rng.choice(self.live()[1:])
        victim.kill()
        self.figures.kills += 1

    def restart_all(self) -> None:
        assert self.net is not None
        for node in self.net.nodes:
            if not node.alive and node is not self.left:
                node.start()
                self.net.wait_serving(node, 0)
                self.figures.restarts += 1

    def swarm_change(self) -> None:
        """A node leaves the network (its exit on chain); every node follows. With two
        swarms or more, the leaver is from the smallest, which then takes a node from
        another: that node's messages move."""
        assert self.net is not None
        before = self.live()[0].swarms()
        smallest = min(before.values(), key=len)
        candidates = [self.net.by_id(i) for i in smallest] if len(before) > 1 else self.live()
        self.left = self.rng.choice([n for n in candidates if n in self.live()[1:]])
        self.net.driver.exit(self.left.node_id, reason=0)
        self.net.wait_synced(self.net.driver.w3.eth.block_number)
        after = self.live()[0].swarms()
        where = {node: swarm for swarm, nodes in before.items() for node in nodes}
        self.figures.nodes_moved_between_swarms = sum(
            1 for swarm, nodes in after.items() for node in nodes if where.get(node) != swarm
        )
        self.figures.swarm_changes += 1

    # ----- the end

    async def all_retrievable(self) -> int:
        """How many (message, member) pairs are missing: every acknowledged message from
        every live member of its swarm, through three hops."""
        client = await self.client()
        missing = 0
        checked = 0
        try:
            by_key = {n.ed25519: n for n in client.nodes}
            for sent in self.users:
                members = await client.swarm_of(bytes.fromhex(sent.user.session_id))
                for member in members:
                    target = by_key.get(member.ed25519, member)
                    found = await self.retrieve_all(client, target, sent.user)
                    checked += 1
                    missing += sum(1 for h, digest in sent.hashes.items() if found.get(h) != digest)
        finally:
            await client.close()
        self.figures.retrievals_checked = checked
        return missing

    async def retrieve_all(self, client: OnionClient, target, user: AccountKeys) -> dict:
        found: dict[str, str] = {}
        last_hash = None
        for _ in range(100):
            path = pick_path(client.nodes, {target.ed25519})
            extra = {"last_hash": last_hash} if last_hash else {}
            answer = await client.send(
                path, target, "retrieve", retrieve_params(user, client.now_ms(), **extra)
            )
            if answer.status != 200:
                return found
            for message in answer.body["messages"]:
                found[message["hash"]] = hashlib.sha256(
                    base64.b64decode(message["data"])
                ).hexdigest()
                last_hash = message["hash"]
            if not answer.body.get("more"):
                break
        return found

    def cursors_at_heads(self) -> bool:
        """Every live node's cursor into each live swarm peer's database is at that
        database's latest change."""
        assert self.net is not None
        live = self.live()
        swarms = live[0].swarms()
        checked = 0
        for members in swarms.values():
            nodes = [self.net.by_id(i) for i in members if self.net.by_id(i) in live]
            for node in nodes:
                for peer in nodes:
                    if peer is node:
                        continue
                    epoch, cursor = read_cursor(node, peer)
                    peer_epoch, head = read_head(peer)
                    if epoch != peer_epoch or cursor < head:
                        return False
                    checked += 1
        self.figures.cursors_checked = checked
        return True

    def finish(self) -> None:
        self.restart_all()
        started = time.monotonic()
        wait_until(
            lambda: asyncio.run(self.all_retrievable()) == 0,
            180,
            "every acknowledged message on every live member",
        )
        wait_until(self.cursors_at_heads, 120, "every catch-up cursor at its peer's head")
        self.figures.catch_up_s = round(time.monotonic() - started, 2)
        self.figures.losses = asyncio.run(self.all_retrievable())
        self.figures.swarm_sizes_after = sorted(len(m) for m in self.live()[0].swarms().values())
        assert self.net is not None
        self.figures.tracebacks_in_logs = sum(
            node.log.read_text(errors="replace").count("Traceback") for node in self.net.nodes
        )


def _read_only(node: NetNode) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{node.directory}/data/messages.sqlite3?mode=ro", uri=True)


def read_cursor(node: NetNode, peer: NetNode) -> tuple[str | None, int]:
    with _read_only(node) as db:
        row = db.execute(
            "SELECT epoch, seq FROM cursors WHERE peer = ?", (peer.ed25519,)
        ).fetchone()
    return (row[0], row[1]) if row else (None, 0)


def read_head(node: NetNode) -> tuple[str | None, int]:
    """The node's epoch and the seq of its latest message or op still held (what a peer
    that caught up has a cursor at or past)."""
    with _read_only(node) as db:
        (epoch,) = db.execute("SELECT value FROM meta WHERE name = 'epoch'").fetchone()
        (head,) = db.execute(
            "SELECT MAX(COALESCE((SELECT MAX(seq) FROM messages), 0),"
            " COALESCE((SELECT MAX(seq) FROM ops), 0))"
        ).fetchone()
    return epoch, head


def soak(
    tmp_path: Path, nodes: int, duration: float, seed: int = 17, results: Path = RESULTS
) -> Figures:
    """Run the soak and return its figures (also written to `results`)."""
    began = time.monotonic()
    run = Soak(tmp_path, nodes, duration, seed)
    try:
        run.start()
        asyncio.run(run.load())
        run.finish()
    finally:
        run.close()
    run.figures.wall_s = round(time.monotonic() - began, 1)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(asdict(run.figures), indent=2) + "\n")
    return run.figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=11, help="11 make two swarms")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sesh-soak-") as tmp:
        figures = soak(Path(tmp), args.nodes, args.duration, args.seed)
    print(json.dumps(asdict(figures), indent=2))
    if figures.losses:
        raise SystemExit(f"soak: {figures.losses} acknowledged messages missing")


if __name__ == "__main__":
    main()
