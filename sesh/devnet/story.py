"""The devnet's user story, narrated: the whole system at work on one machine.

1. two users create Session IDs; alice registers the SNS name `alice` pointing at hers;
   bob buys Session Pro with SESH (and the bridges see it);
2. bob resolves `alice` (on chain, and as a Session client does: `ons_resolve` through a
   3-hop onion path) and sends her a message through a 3-hop onion path; she fetches it;
   alice starts a group with bob and carol as members (subaccount tokens she signs): all
   three write and read the group's messages, then she removes carol, whom every node of
   the group's swarm refuses from then on;
   bob sends her a voice note (a synthesized WAV), encrypted and uploaded to the file server
   through a 3-hop path, the message carrying its key; she downloads and checks it;
3. a node of her swarm is killed; the others notice, vote, and remove it on chain with an
   aggregate BLS signature; the swarms heal and her message is still there;
4. a day passes on the chain; the rewards are distributed and an operator and a delegator
   claim theirs;
5. a summary table.

Every step checks its outcome and raises `StoryError` if the system did not do what the
narration says. `scripts/devnet.py` runs it after deploying; the integration test runs
the same steps (tests/devnet/test_devnet_story.py).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from nacl.bindings import crypto_box_seal, crypto_box_seal_open
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sesh.client.onion_client import OnionClient
from sesh.client.ons import ons_resolve
from sesh.crypto.key_files import write_key_file
from sesh.devnet.network import (
    DELEGATED_OPERATOR,
    RESERVED_DELEGATOR,
    DevnetNetwork,
    DevnetNode,
)
from sesh.devnet.processes import wait_until
from sesh.protocol.accounts import AccountKeys
from sesh.rules.units import format_sesh, to_units

ALICE_WALLET, BOB_WALLET, KEEPER = 7, 8, 9
MESSAGE_TTL_MS = 14 * 86_400_000
# Session's namespace for a group's messages.
GROUP_NAMESPACE = 11
PRO_PLAN = 1
DAY = 86_400
# The vote (15 s of failures on the devnet) must be done well within this.
VOTE_TIMEOUT = 240.0
# The story needs a path of three nodes and a target after one node is gone.
MIN_STORY_NODES = 5


class StoryError(Exception):
    """A step of the story did not have the outcome it narrates."""


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@dataclass
class StoryResult:
    """What the story did, for the summary and the tests."""

    voice_note: str = ""  # the file server URL of bob's voice note
    voice_note_bytes: int = 0

    alice: AccountKeys | None = None
    bob: AccountKeys | None = None
    message_hash: str = ""
    group: str = ""  # the group's account (03 + its key)
    killed: int = 0
    removal_tx: str = ""
    removal_submitter: int = 0
    non_signers: list[int] = field(default_factory=list)
    swarms_before: dict[int, list[int]] = field(default_factory=dict)
    swarms_after: dict[int, list[int]] = field(default_factory=dict)
    distributed: Decimal = Decimal(0)
    claims: list[tuple[str, str, Decimal]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class DevnetStory:
    """The story's steps over a deployed suite and running bridges (in an Ape context)."""

    def __init__(
        self,
        console: Console,
        suite: Any,
        accounts: list[Any],
        network: DevnetNetwork,
        rpc: Callable[[str, list], Any],
        users_dir: Path,
        file_server: Any = None,
    ):
        self.file_server = file_server
        self.console = console
        self.suite = suite
        self.accounts = accounts
        self.network = network
        self.rpc = rpc
        self.users_dir = users_dir
        self.result = StoryResult()

    # ----- helpers

    def say(self, text: str) -> None:
        self.console.print(text)

    def step(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def urls(self) -> list[str]:
        return [n.process.url for n in self.network.live if n.process is not None]

    def head(self) -> int:
        return int(self.rpc("eth_blockNumber", []), 16)

    def wait_synced(self, timeout: float = 60.0) -> None:
        block = self.head()
        for node in self.network.live:
            assert node.process is not None
            process = node.process
            wait_until(
                lambda p=process: p.info()["synced_block"] >= block,
                timeout,
                f"node {node.node_id} to sync block {block}",
            )

    def onion(self, coroutine: Callable[[OnionClient], Any]) -> Any:
        async def go():
            async with OnionClient(self.urls()) as client:
                await client.refresh()
                return await coroutine(client), client.last_path

        return asyncio.run(go())

    def timed(self, name: str, started: float) -> None:
        self.result.seconds[name] = round(time.monotonic() - started, 1)

    # ----- the story

    def run(self) -> StoryResult:
        for name, step in (
            ("users", self.users),
            ("name and pro", self.name_and_pro),
            ("message", self.message),
            ("group", self.group),
            ("voice note", self.voice_note),
            ("vote", self.kill_and_vote),
            ("rewards", self.rewards),
        ):
            started = time.monotonic()
            step()
            self.timed(name, started)
        return self.result

    def users(self) -> None:
        self.step("Two users create Session IDs")
        alice, bob = AccountKeys.generate(), AccountKeys.generate()
        self.users_dir.mkdir(parents=True, exist_ok=True)
        for name, keys in (("alice", alice), ("bob", bob)):
            path = self.users_dir / f"{name}.key"
            path.unlink(missing_ok=True)
            write_key_file(path, bytes(keys.signing_key))
            self.say(f"  {name:5}  {keys.session_id}  (key: {path})")
        self.result.alice, self.result.bob = alice, bob

    def name_and_pro(self) -> None:
        from sesh.cli.dev import move_chain_time
        from sesh.rules.names import MIN_COMMITMENT_AGE, YEAR

        alice, bob = self.result.alice, self.result.bob
        assert alice is not None and bob is not None
        names, pro = self.suite.names, self.suite.pro
        wallet = self.accounts[ALICE_WALLET]
        self.step("alice registers the name `alice`; bob buys Session Pro")
        commitment = names.commitment("alice", wallet.address, YEAR, wallet.address)
        names.commit(commitment, wallet).send()
        self.say(f"  commit from {short(wallet.address)}; the chain moves a minute on")
        move_chain_time(self.suite.manifest, MIN_COMMITMENT_AGE + 1, self.accounts[0])
        price = names.register_price("alice", YEAR)
        names.register(commitment, YEAR, None, wallet).send()
        names.set_records("alice", wallet, session_id=bytes.fromhex(alice.session_id)).send()
        if names.resolve("alice").hex() != alice.session_id:
            raise StoryError("`alice` does not resolve to alice's Session ID")
        self.say(
            f"  [green]alice[/] owns `alice` for a year ({format_sesh(to_units(price))}, "
            "into the pool) and points it at her Session ID"
        )
        buyer = self.accounts[BOB_WALLET]
        quote = pro.quote(PRO_PLAN)
        pro.subscribe(bob.ed25519_pubkey, PRO_PLAN, buyer).send()
        if not pro.is_pro(bob.ed25519_pubkey):
            raise StoryError("bob's Pro key is not Pro after paying")
        self.wait_synced()
        seen = self.network.live[0].process.get(f"/pro/{bob.ed25519_pubkey.hex()}")
        if not seen["active"]:
            raise StoryError("the bridges do not see bob's Pro subscription")
        self.say(
            f"  [green]bob[/] is Pro (plan {PRO_PLAN}, {format_sesh(quote)}, into the pool); "
            "every bridge's registry shows it"
        )

    def message(self) -> None:
        alice, bob = self.result.alice, self.result.bob
        assert alice is not None and bob is not None
        self.step("bob finds alice by name and writes to her through a 3-hop onion path")
        session_id = self.suite.names.resolve("alice").hex()
        self.say(f"  SNS: alice → {session_id}")
        # As a Session client looks it up: only the name's hash, through 3 nodes, to a node
        # that reads the SNS contract and answers the record encrypted to the name.
        looked_up, lookup_path = self.onion(lambda c: ons_resolve(c, "alice"))
        if looked_up != session_id:
            raise StoryError(f"ons_resolve of `alice` gave {looked_up}, not {session_id}")
        hops = " → ".join(str(n.node_id) for n in lookup_path)
        self.say(f"  the same by ons_resolve (name hash only, decrypted by bob) via {hops}")
        text = "hi alice, this went through three nodes that never saw us both"
        sealed = crypto_box_seal(text.encode(), bytes.fromhex(session_id)[1:])

        answer, path = self.onion(lambda c: c.store(session_id, sealed, MESSAGE_TTL_MS))
        if answer.status != 200:
            raise StoryError(f"the store was refused: {answer.status} {answer.body}")
        stored = [k for k, v in answer.body["swarm"].items() if "hash" in v]
        self.result.message_hash = answer.body["hash"]
        hops = " → ".join(str(n.node_id) for n in path)
        self.say(
            f"  path: bob → {hops} (target, in alice's swarm); stored on {len(stored)} "
            f"members of her swarm as {self.result.message_hash[:12]}…"
        )
        self.say(f"  alice fetches: “{self.fetch_alice()}”")

    def fetch_alice(self) -> str:
        alice = self.result.alice
        assert alice is not None
        answer, _path = self.onion(lambda c: c.retrieve(alice))
        if answer.status != 200:
            raise StoryError(f"alice's retrieve was refused: {answer.status} {answer.body}")
        for message in answer.body.get("messages", []):
            if message["hash"] == self.result.message_hash:
                data = base64.b64decode(message["data"])
                return crypto_box_seal_open(data, alice.x25519_pubkey, alice.x25519_secret).decode()
        raise StoryError("alice's message is not in her swarm")

    def group(self) -> None:
        """A group of three on the storage servers: alice holds the group key; bob and carol
        get subaccount tokens she signs. Removing carol revokes her token swarm-wide."""
        from nacl.signing import SigningKey

        from sesh.client.groups import GroupAdmin
        from sesh.protocol.storage_rpc import retrieve_request, revoke_request, store_request

        bob = self.result.bob
        assert bob is not None
        self.step("alice starts a group with bob and carol; she removes carol")
        group = GroupAdmin.create()
        bob_signer, _ = group.member_signer(bob.signing_key)
        carol_signer, carol_token = group.member_signer(SigningKey.generate())
        members = {"alice": group.signer, "bob": bob_signer, "carol": carol_signer}
        account = bytes.fromhex(group.account)

        async def ask(client: OnionClient, request: dict) -> Any:
            return await client.call(account, request["method"], request["params"])

        async def story(client: OnionClient) -> dict[str, Any]:
            seen: dict[str, Any] = {}
            for name, signer in members.items():
                text = f"{name} says hi".encode()
                request = store_request(
                    signer, group.account, text, client.now_ms(), 3_600_000, GROUP_NAMESPACE
                )
                answer = await ask(client, request)
                if answer.status != 200:
                    raise StoryError(f"{name}'s group message was refused: {answer.status}")
            for name, signer in members.items():
                request = retrieve_request(signer, client.now_ms(), GROUP_NAMESPACE)
                answer = await ask(client, request)
                seen[name] = len(answer.body.get("messages", [])) if answer.status == 200 else 0
            removed = await ask(
                client, revoke_request(group.signer, [carol_token], client.now_ms())
            )
            if removed.status != 200:
                raise StoryError(f"removing carol was refused: {removed.status} {removed.body}")
            seen["revoked on"] = sum("failed" not in r for r in removed.body["swarm"].values())
            now = client.now_ms()
            carol = await ask(client, retrieve_request(carol_signer, now, GROUP_NAMESPACE))
            bob_now = await ask(client, retrieve_request(bob_signer, now, GROUP_NAMESPACE))
            seen["carol after"], seen["bob after"] = carol.status, bob_now.status
            return seen

        seen, _path = self.onion(story)
        self.result.group = group.account
        self.say(f"  group {group.account[:14]}… (namespace {GROUP_NAMESPACE})")
        if any(seen[name] != len(members) for name in members):
            raise StoryError(f"not every member reads the group's {len(members)} messages: {seen}")
        self.say("  alice, bob and carol each write one message and each read all three")
        if seen["carol after"] != 401 or seen["bob after"] != 200:
            raise StoryError(f"after removing carol: {seen}")
        self.say(
            f"  alice revokes carol's token (on {seen['revoked on']} nodes of the group's "
            "swarm): carol is refused (401), bob still reads"
        )

    def voice_note(self) -> None:
        """bob → alice: an attachment through the file server, byte for byte."""
        from sesh.client.files import download_attachment, upload_attachment
        from sesh.client.servers import parse_server
        from sesh.protocol.attachments import decode_message, encode_message

        alice, bob = self.result.alice, self.result.bob
        assert alice is not None and bob is not None
        if self.file_server is None:
            self.say("  (no file server: the voice note is skipped)")
            return
        self.step("bob sends alice a voice note through the file server")
        server = parse_server(self.file_server.url, self.file_server.x25519_hex)
        audio = synthesize_voice_note()
        (self.users_dir / "bob-voice-note.wav").write_bytes(audio)
        pointer, path = self.onion(
            lambda c: upload_attachment(c, server, audio, "voice-note.wav", "audio/wav")
        )
        hops = " → ".join(str(n.node_id) for n in path)
        self.say(
            f"  {len(audio):,} bytes of WAV, encrypted (AES-CBC + HMAC, key in the message); "
            f"path: bob → {hops} → file server; stored as {pointer.file_id[:12]}…"
        )
        sealed = crypto_box_seal(
            encode_message("a voice note for you", [pointer]), bytes.fromhex(alice.session_id)[1:]
        )
        answer, _ = self.onion(lambda c: c.store(alice.session_id, sealed, MESSAGE_TTL_MS))
        if answer.status != 200:
            raise StoryError(f"the voice note's message was refused: {answer.status}")
        note_hash = answer.body["hash"]

        async def fetch(client: OnionClient) -> bytes:
            got = await client.retrieve(alice)
            for message in got.body.get("messages", []):
                if message["hash"] == note_hash:
                    opened = crypto_box_seal_open(
                        base64.b64decode(message["data"]), alice.x25519_pubkey, alice.x25519_secret
                    )
                    _text, pointers = decode_message(opened)
                    return await download_attachment(client, server, pointers[0])
            raise StoryError("the voice note's message is not in alice's swarm")

        received, path = self.onion(fetch)
        if received != audio:
            raise StoryError("alice's voice note differs from bob's")
        saved = self.users_dir / "alice-voice-note.wav"
        saved.write_bytes(received)
        hops = " → ".join(str(n.node_id) for n in path)
        self.say(
            f"  alice downloads it (alice → {hops} → file server, and back), decrypts it: "
            f"identical, byte for byte ({saved})"
        )
        self.result.voice_note = pointer.url
        self.result.voice_note_bytes = len(audio)

    def alice_swarm(self) -> list[int]:
        alice = self.result.alice
        assert alice is not None
        body = self.network.live[0].process.get(f"/swarm/{alice.session_id}")
        return [m["node_id"] for m in body["nodes"]]

    def kill_and_vote(self) -> None:
        from sesh.contracts.staking import NodeStatus

        self.step("A node of alice's swarm dies; the network votes it out")
        self.result.swarms_before = self.network.wait_agreement(self.head())
        # The highest id of her swarm, a solo node where there is one (the shared nodes'
        # operator and delegator claim their rewards at the end).
        swarm = sorted(self.alice_swarm(), key=lambda n: (self.network.by_id(n).delegated, -n))
        victim = self.network.by_id(swarm[0])
        assert victim.process is not None
        victim.process.kill()
        self.result.killed = victim.node_id
        self.say(f"  killed node {victim.node_id} ({victim.endpoint}, SIGKILL)")
        started = time.monotonic()
        with progress(self.console) as bars:
            live = len(self.network.live)
            seen = bars.add_task(f"peers seeing node {victim.node_id} fail", total=live)
            signed = bars.add_task("signatures for its removal", total=1)
            while True:
                status = self.suite.staking.node(victim.node_id).status
                if status not in (NodeStatus.ACTIVE, NodeStatus.EXITING):
                    break
                if time.monotonic() - started > VOTE_TIMEOUT:
                    raise StoryError(f"node {victim.node_id} was not removed in {VOTE_TIMEOUT}s")
                failing, best = self.vote_progress(victim.node_id)
                bars.update(seen, completed=failing)
                if best:
                    bars.update(signed, completed=best[0], total=best[1])
                time.sleep(0.5)
            bars.update(seen, completed=live)
            bars.update(signed, completed=bars.tasks[signed].total)
        info = self.suite.staking.node(victim.node_id)
        if info.status != NodeStatus.EXITED or info.exit_reason != 2:
            raise StoryError(f"node {victim.node_id} is {info.status.name}, not removed")
        self.record_submission(victim.node_id)
        self.say(
            f"  [green]removed on chain[/] by remove_with_signature in "
            f"{self.result.removal_tx[:18]}…, sent by node {self.result.removal_submitter}; "
            f"non-signers {self.result.non_signers} "
            f"({time.monotonic() - started:.0f} s after the kill)"
        )
        self.result.swarms_after = self.network.wait_agreement(
            self.head(), without=frozenset({victim.node_id})
        )
        self.say("  swarms healed, every bridge agrees:")
        for swarm_id, members in sorted(self.result.swarms_after.items()):
            self.say(f"    swarm {swarm_id:016x}: nodes {members}")
        self.say(f"  alice fetches again: “{self.fetch_alice()}”")

    def vote_progress(self, victim: int) -> tuple[int, tuple[int, int] | None]:
        """How many live nodes see `victim` failing, and the best (signed, needed)."""
        failing, best = 0, None
        for node in self.network.live:
            try:
                body = node.process.get("/votes", timeout=2.0)
            except (OSError, ValueError):
                continue
            if any(p["node_id"] == victim and p["failures"] for p in body["peers"]):
                failing += 1
            for vote in body["votes"]:
                counted = vote["node_id"] == victim and vote["needed"]
                if counted and (best is None or vote["signed"] > best[0]):
                    best = (vote["signed"], vote["needed"])
        return failing, best

    def record_submission(self, victim: int) -> None:
        """The logged transaction that removed `victim` (its sender records the receipt a
        moment after the chain has it)."""

        def mined():
            for node in self.network.live:
                assert node.process is not None
                for row in node.process.get("/votes")["submissions"]:
                    if row["node_id"] == victim and row["status"] == "mined":
                        return node, row
            return None

        try:
            node, row = wait_until(mined, 30.0, f"a bridge to log node {victim}'s removal")
        except TimeoutError:
            raise StoryError(
                f"no bridge logged the transaction that removed node {victim}"
            ) from None
        self.result.removal_tx = row["tx_hash"]
        self.result.removal_submitter = node.node_id
        self.result.non_signers = row["non_signers"]

    def rewards(self) -> None:
        from sesh.cli.dev import move_chain_time

        self.step("A day passes; rewards are distributed and claimed")
        staking, pool = self.suite.staking, self.suite.pool
        move_chain_time(self.suite.manifest, DAY, self.accounts[0])
        expected = pool.preview_release()
        receipt = staking.distribute(self.accounts[KEEPER]).send()
        [event] = [e for e in receipt.events if e.event_name == "RewardsDistributed"]
        self.result.distributed = Decimal(int(event.amount)) / 10**9
        self.say(
            f"  the pool released {format_sesh(int(event.amount))} (14 %/year of its balance, "
            f"a day's step, as preview_release() said), paid out by the second over the next "
            f"day: {format_sesh(int(event.reward_per_node))} to each of {event.active_nodes} nodes"
        )
        if int(event.amount) == 0:
            raise StoryError("nothing was distributed after a day")
        if int(event.amount) != to_units(expected):
            raise StoryError(f"the pool released {event.amount} units; it previewed {expected}")
        # Rewards are earned by time served: a day later the nodes have earned that release.
        move_chain_time(self.suite.manifest, DAY, self.accounts[0])
        shared = [n for n in self.network.nodes if n.delegated and n.node_id != self.result.killed]
        node = shared[0]
        shares = (
            ("operator", DELEGATED_OPERATOR, f"its {node.fee_bps / 100:g} % fee and stake share"),
            ("delegator", RESERVED_DELEGATOR, "its stake share"),
        )
        for role, index, what in shares:
            account = self.accounts[index]
            rewards, _stake = staking.claimable(node.node_id, account)
            before = self.suite.token.balance(account)
            receipt = staking.claim([node.node_id], account).send()
            gained = self.suite.token.balance(account) - before
            # What the claim says it paid: rewards stream by the second, so the claim's own
            # block may pay a few seconds more than the read just before it.
            claimed = sum(int(e.rewards) for e in receipt.events if e.event_name == "Claimed")
            if rewards <= 0 or gained < rewards or to_units(gained) != claimed:
                raise StoryError(
                    f"the {role} received {gained} SESH; the claim logged {claimed} units "
                    f"and {rewards} SESH was claimable before it"
                )
            self.result.claims.append((role, account.address, gained))
            self.say(
                f"  {role} {short(account.address)} claims {format_sesh(to_units(gained))} "
                f"from shared node {node.node_id} ({what})"
            )

    # ----- the summary

    def summary(self) -> Table:
        table = Table(title="Session devnet: the story's end", show_lines=False)
        table.add_column("what")
        table.add_column("value", overflow="fold")
        for name in ("SessionToken", "ServiceNodeStaking", "SessionNameService", "SessionPro"):
            table.add_row(name, self.suite.manifest.address(name))
        table.add_row("RewardRatePool", self.suite.pool.address)
        table.add_row("", "")
        for node in self.network.nodes:
            table.add_row(f"node {node.node_id}", self.describe(node))
        table.add_row("", "")
        for swarm_id, members in sorted(self.result.swarms_after.items()):
            table.add_row(f"swarm {swarm_id:016x}", f"nodes {members}")
        table.add_row("removal", f"node {self.result.killed} in {self.result.removal_tx}")
        if self.result.voice_note:
            table.add_row(
                "voice note", f"{self.result.voice_note_bytes:,} bytes at {self.result.voice_note}"
            )
        if self.result.group:
            table.add_row("group", f"{self.result.group} (alice, bob; carol removed)")
        table.add_row("name `alice`", f"resolves to {self.suite.names.resolve('alice').hex()}")
        table.add_row(
            "rewards distributed", f"{format_sesh(to_units(self.result.distributed))} (one day)"
        )
        for role, address, amount in self.result.claims:
            table.add_row(
                f"claimed by the {role}", f"{format_sesh(to_units(amount))} ({short(address)})"
            )
        table.add_row("pool balance", format_sesh(to_units(self.suite.pool.balance())))
        return table

    def describe(self, node: DevnetNode) -> str:
        info = self.suite.staking.node(node.node_id)
        kind = "shared (reserved slot + public)" if node.delegated else "solo"
        status = info.status.name.lower()
        if info.exit_reason == 2:
            status += " (removed by the network's vote)"
        where = "killed" if node.node_id == self.result.killed else node.endpoint
        operator = short(self.accounts[node.operator].address)
        return f"{status}, {kind}, operator {operator}, {where}"


def synthesize_voice_note(seconds: float = 1.5, rate: int = 16_000) -> bytes:
    """A short mono 16-bit WAV: a rising three-tone chime."""
    import io
    import math
    import struct
    import wave

    frames = bytearray()
    total = int(seconds * rate)
    for i in range(total):
        tone = (440.0, 554.37, 659.25)[min(2, 3 * i // total)]
        fade = min(1.0, i / 800, (total - i) / 800)
        frames += struct.pack("<h", int(12_000 * fade * math.sin(2 * math.pi * tone * i / rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()
