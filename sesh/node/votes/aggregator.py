"""The aggregator of a network vote: asks every member of the network at the round's
timestamp (the nodes activated before it, `membership.py`) for its BLS signature (in
parallel), checks them, and once at least two thirds of those members signed, aggregates
them and sends `<action>_with_signature` with the non-signers among them listed — at most
once. A node that joins during a round is neither asked nor listed: the contract leaves it
out of the signature's members.

Never twice: before anything is sent, the vote's log (`VotesDB.submissions`) and the chain
(the node's status and a simulation against the pending state, which includes transactions
already sent by anyone) are checked; the transaction is recorded before it is broadcast. A
logged submission that may still be mined blocks another until its signature has expired
on chain (`SIGNATURE_EXPIRY` after its timestamp), so a restarted or second aggregator
never sends a second transaction that could succeed; one that sees the node already out
of the network stops.

Used by the bridge (automatic votes, `votes.py`) and by `sesh node aggregate`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sesh.crypto import bls
from sesh.node.chain.rpc import NoProviderError, ProviderError
from sesh.node.metrics import Metrics
from sesh.node.votes.chain_tx import (
    ChainClock,
    ChainTxError,
    Refused,
    Sender,
    StakingChain,
    action_calldata,
)
from sesh.node.votes.db import OPEN_SUBMISSIONS, VotesDB
from sesh.node.votes.membership import ActivationTimes, Voter
from sesh.node.votes.rules import (
    EXIT,
    NETWORK_STATUSES,
    RECENT_ACTIVATIONS,
    SIGNATURE_EXPIRY,
    SignRequest,
    action_message,
    non_signers,
    quorum,
)

log = logging.getLogger("sesh.node.votes.aggregator")

SIGN_PATH = "/bls/sign"
# A vote's timestamp is the chain's time minus this (never "from the future" on chain).
TIMESTAMP_MARGIN = 5
# A timestamp is replaced once older than this: what is left of its validity must cover the
# remaining signature requests, the transaction and its inclusion.
TIMESTAMP_REUSE = SIGNATURE_EXPIRY - 180
RECEIPT_TIMEOUT = 60.0
# The contract's refusal of a timestamp older than all the activations it remembers.
TOO_MANY_ACTIVATIONS = "too many activations since signing"


@dataclass
class Outcome:
    """The result of one round of a vote."""

    final: bool
    state: str  # collecting, no quorum, submitted, done, closed, failed
    detail: str
    signed: int = 0
    needed: int = 0
    active: int = 0  # the members at the round's timestamp (what the quorum counts)
    non_signers: list[int] = field(default_factory=list)
    tx_hash: str | None = None


@dataclass
class _Round:
    timestamp: int
    message: bytes
    signatures: dict[int, bls.Signature] = field(default_factory=dict)
    refusals: dict[int, str] = field(default_factory=dict)


class Aggregator:
    """Runs votes for one node (its log, its sender, its view of the chain)."""

    def __init__(
        self,
        chain: StakingChain,
        clock: ChainClock,
        db: VotesDB,
        sender: Sender | None,
        session: Callable[[], aiohttp.ClientSession],
        sign_timeout: float = 5.0,
        metrics: Metrics | None = None,
        receipt_timeout: float = RECEIPT_TIMEOUT,
    ):
        self.chain = chain
        self.clock = clock
        self.db = db
        self.sender = sender
        self.session = session
        self.sign_timeout = sign_timeout
        self.metrics = metrics or Metrics()
        self.receipt_timeout = receipt_timeout
        self._rounds: dict[tuple[str, int], _Round] = {}
        self.activations = ActivationTimes(chain)
        self._keys: dict[bytes, bls.PublicKey | None] = {}
        # One submission at a time: a node leading two votes (two failing members of its
        # swarm) must not send both against the same network, as the first to be mined
        # changes the aggregate key the second was signed for.
        self._submitting = asyncio.Lock()

    # ----- a whole vote

    async def run(
        self,
        action: str,
        node_id: int,
        voters: Callable[[], Sequence[Voter]],
        retry_interval: float,
        keep_going: Callable[[], str | None] = lambda: None,
        stop: asyncio.Event | None = None,
        deadline: float | None = None,
        on_round: Callable[[Outcome], Awaitable[None] | None] | None = None,
    ) -> Outcome:
        """Rounds until the vote is final, `keep_going` gives a reason to stop, `stop` is
        set or the loop clock passes `deadline`."""
        loop = asyncio.get_running_loop()
        self.db.vote_reopen(action, node_id)
        outcome = Outcome(False, "collecting", "not started")
        while True:
            reason = keep_going()
            if reason is not None:
                outcome = Outcome(True, "closed", reason)
                self._record(action, node_id, outcome)
                break
            try:
                outcome = await self.attempt(action, node_id, voters())
            except (ChainTxError, NoProviderError, ProviderError) as exc:
                outcome = Outcome(False, "failed", f"chain: {exc}")
                self._record(action, node_id, outcome)
            if on_round is not None:
                result = on_round(outcome)
                if asyncio.iscoroutine(result):
                    await result
            if outcome.final:
                break
            if deadline is not None and loop.time() + retry_interval > deadline:
                break
            if stop is not None:
                try:
                    await asyncio.wait_for(stop.wait(), retry_interval)
                    break
                except TimeoutError:
                    pass
            else:
                await asyncio.sleep(retry_interval)
        self._rounds.pop((action, node_id), None)
        return outcome

    # ----- one round

    async def attempt(self, action: str, node_id: int, voters: Sequence[Voter]) -> Outcome:
        """One round: check the log and the chain, collect what is missing, and submit
        once the quorum holds."""
        key = (action, node_id)
        await self.clock.refresh()
        logged = await self._logged(action, node_id)
        if logged is not None:
            self._record(action, node_id, logged)
            return logged
        gone = await self._out_of_network(action, node_id)
        if gone is not None:
            self._rounds.pop(key, None)
            outcome = Outcome(True, "closed", gone)
            self._record(action, node_id, outcome)
            return outcome

        vote = self._round(action, node_id)
        membership = await self.activations.members(voters, vote.timestamp)
        if len(membership.joined_later) >= RECENT_ACTIVATIONS:
            # The contract could no longer tell the members at this timestamp: sign anew.
            self._rounds.pop(key, None)
            vote = self._round(action, node_id)
            membership = await self.activations.members(voters, vote.timestamp)
        active = {v.node_id: v for v in membership.members}
        network = len({v.node_id for v in voters})
        asked = [v for v in active.values() if v.node_id not in vote.signatures]
        await self._collect(action, node_id, vote, asked)
        signers = sorted(n for n in vote.signatures if n in active)
        missing = non_signers(active, signers)
        needed = quorum(len(active))
        outcome = Outcome(
            False,
            "collecting",
            f"{len(signers)} of {len(active)} signed, {needed} needed",
            len(signers),
            needed,
            len(active),
            missing,
        )
        if network > len(active):
            outcome.detail += (
                f" ({network - len(active)} joined at or after the timestamp {vote.timestamp}:"
                " not counted)"
            )
        if not active or len(signers) < needed:
            # No member at the timestamp (every node joined after it): nobody can sign.
            outcome.state = "no quorum"
            refused = sorted(vote.refusals.items())[:3]
            if refused:
                outcome.detail += "; e.g. " + "; ".join(f"node {n}: {r}" for n, r in refused)
            self._record(action, node_id, outcome, new_round=True)
            if membership.joined_later:
                # Nodes joined since the timestamp and it has no quorum: the next round signs
                # a fresh one, which counts them (a network that has just grown, or rounds
                # that began before most of it was active, would otherwise wait for the
                # timestamp to age out).
                self._rounds.pop(key, None)
            return outcome
        async with self._submitting:
            outcome = await self._submit(action, node_id, vote, signers, missing, network)
        outcome.signed, outcome.needed, outcome.active = len(signers), needed, len(active)
        outcome.non_signers = missing
        self._record(action, node_id, outcome, new_round=True)
        return outcome

    def _round(self, action: str, node_id: int) -> _Round:
        key = (action, node_id)
        now = self.clock.now()
        vote = self._rounds.get(key)
        if vote is None or now - vote.timestamp > TIMESTAMP_REUSE:
            timestamp = now - TIMESTAMP_MARGIN
            message = action_message(
                action, self.chain.chain_id, self.chain.staking, node_id, timestamp
            )
            vote = self._rounds[key] = _Round(timestamp, message)
        return vote

    async def _collect(
        self, action: str, node_id: int, vote: _Round, voters: Sequence[Voter]
    ) -> None:
        request = SignRequest(action, node_id, vote.timestamp).to_json()
        answers = await asyncio.gather(*(self._ask(v, request) for v in voters))
        candidates: list[tuple[Voter, bls.PublicKey, bls.Signature]] = []
        for voter, (signature, refusal) in zip(voters, answers, strict=True):
            if signature is None:
                vote.refusals[voter.node_id] = refusal or "no answer"
                continue
            key = self._key(voter.bls_pubkey)
            if key is None:
                vote.refusals[voter.node_id] = "registered BLS key unusable"
                continue
            candidates.append((voter, key, signature))
        if not candidates:
            return
        keys = [c[1] for c in candidates]
        signatures = [c[2] for c in candidates]
        bad = set()
        if not bls.verify_batch(keys, vote.message, signatures):
            bad = set(bls.invalid_signatures(keys, vote.message, signatures))
        for index, (voter, _key, signature) in enumerate(candidates):
            if index in bad:
                vote.refusals[voter.node_id] = "invalid signature"
                log.warning("node %d sent an invalid %s signature", voter.node_id, action)
                self.metrics.inc("sesh_votes_invalid_signatures_total")
                continue
            vote.signatures[voter.node_id] = signature
            vote.refusals.pop(voter.node_id, None)

    async def _ask(
        self, voter: Voter, request: dict[str, Any]
    ) -> tuple[bls.Signature | None, str | None]:
        try:
            async with self.session().post(
                voter.url + SIGN_PATH,
                json=request,
                timeout=aiohttp.ClientTimeout(total=self.sign_timeout),
            ) as response:
                raw = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return None, f"unreachable ({type(exc).__name__})"
        try:
            body = json.loads(raw)
        except ValueError:  # an error page: the status says what happened
            body = None
        if status != 200:
            reason = body.get("error") if isinstance(body, dict) else None
            return None, f"HTTP {status}: {reason or 'refused'}"
        if not isinstance(body, dict):
            return None, "malformed answer (not a JSON object)"
        try:
            return bls.Signature.from_compressed(bytes.fromhex(str(body["signature"]))), None
        except (KeyError, ValueError):
            return None, "malformed signature"

    def _key(self, eip2537: bytes) -> bls.PublicKey | None:
        if eip2537 not in self._keys:
            try:
                self._keys[eip2537] = bls.PublicKey.from_eip2537(eip2537)
            except bls.BlsError:
                self._keys[eip2537] = None
        return self._keys[eip2537]

    # ----- the log and the chain

    async def _logged(self, action: str, node_id: int) -> Outcome | None:
        """A final outcome from the log (a mined submission), or a wait while a logged
        submission may still be mined; None when nothing logged stands in the way."""
        now = self.clock.now()
        for row in self.db.submissions(action, node_id):
            if row.status == "mined":
                return Outcome(True, "done", f"submitted in {row.tx_hash}", tx_hash=row.tx_hash)
            if row.status not in OPEN_SUBMISSIONS:
                continue
            receipt = await self.chain.receipt(row.tx_hash) if row.tx_hash else None
            if receipt is not None:
                if receipt["status"] == 1:
                    self.db.submission_update(row.id, "mined")
                    return Outcome(True, "done", f"submitted in {row.tx_hash}", tx_hash=row.tx_hash)
                self.db.submission_update(row.id, "reverted")
                continue
            if now > row.timestamp + SIGNATURE_EXPIRY:
                # Its signature can no longer be accepted: it can never succeed.
                self.db.submission_update(row.id, "expired")
                continue
            return Outcome(
                False,
                "submitted",
                f"waiting for {row.tx_hash or 'a transaction sent before a restart'}",
                tx_hash=row.tx_hash,
            )
        return None

    async def _out_of_network(self, action: str, node_id: int) -> str | None:
        """Why the vote is moot on chain (pending state), or None."""
        on_chain = await self.chain.node(node_id, "pending")
        if action == EXIT and on_chain.status != "exiting":
            return f"node {node_id} is {on_chain.status} on chain"
        if on_chain.status not in NETWORK_STATUSES:
            return f"node {node_id} is {on_chain.status} on chain"
        return None

    async def _submit(
        self,
        action: str,
        node_id: int,
        vote: _Round,
        signers: list[int],
        missing: list[int],
        network: int,
    ) -> Outcome:
        if self.sender is None:
            return Outcome(False, "quorum", "quorum reached, but this node has no submitter")
        # The whole network, the nodes that joined after the timestamp included. A registry
        # that differs may be behind the chain and miss a member at the timestamp, or only
        # miss nodes that joined after it (which the contract leaves out): the simulation
        # tells which.
        on_chain_active = await self.chain.active_nodes("pending")
        behind = on_chain_active != network
        signature = bls.aggregate_signatures([vote.signatures[n] for n in signers])
        data = action_calldata(action, node_id, vote.timestamp, signature.to_eip2537(), missing)
        sender = self.sender.address
        try:
            await self.chain.simulate(sender, data)
            gas = await self.chain.estimate_gas(sender, data)
        except Refused as exc:
            # "node not active" may be about a listed non-signer: ask about the node itself.
            gone = await self._out_of_network(action, node_id)
            if gone is not None:
                self._rounds.pop((action, node_id), None)
                return Outcome(True, "closed", f"already done on chain ({gone}: {exc.reason})")
            if behind and TOO_MANY_ACTIVATIONS not in exc.reason:
                # Keep the round and its signatures until the registry has caught up.
                return Outcome(
                    False,
                    "quorum",
                    f"the chain has {on_chain_active} nodes in the network, this registry "
                    f"{network}: waiting for the registry (the contract refuses it now: "
                    f"{exc.reason})",
                )
            # A stale timestamp, too many activations since it (the contract no longer knows
            # who was a member then), a member gone since: start over next round, with a new
            # timestamp and activation times looked up afresh.
            self._rounds.pop((action, node_id), None)
            self.activations.forget()
            return Outcome(False, "failed", f"the contract refuses it: {exc.reason}")
        row = self.db.submission_begin(action, node_id, vote.timestamp, sender, missing)
        try:
            tx_hash = await self.sender.send(self.chain, data, gas)
        except ChainTxError as exc:
            # Refused by the RPC node: nothing was broadcast.
            self.db.submission_update(row, "refused", detail=str(exc))
            return Outcome(False, "failed", str(exc))
        self.db.submission_update(row, "sent", tx_hash=tx_hash)
        log.info(
            "%s of node %d: sent %s (%d signers, non-signers %s)",
            action,
            node_id,
            tx_hash,
            len(signers),
            missing,
        )
        receipt = await self.chain.wait_receipt(tx_hash, self.receipt_timeout)
        if receipt is None:
            return Outcome(False, "submitted", f"waiting for {tx_hash}", tx_hash=tx_hash)
        if receipt["status"] == 1:
            self.db.submission_update(row, "mined")
            self.metrics.inc("sesh_votes_submitted_total", action=action, result="mined")
            return Outcome(True, "done", f"submitted in {tx_hash}", tx_hash=tx_hash)
        self.db.submission_update(row, "reverted")
        self.metrics.inc("sesh_votes_submitted_total", action=action, result="reverted")
        self._rounds.pop((action, node_id), None)
        self.activations.forget()
        return Outcome(False, "failed", f"{tx_hash} reverted", tx_hash=tx_hash)

    def _record(self, action: str, node_id: int, outcome: Outcome, new_round: bool = False) -> None:
        vote = self._rounds.get((action, node_id))
        self.db.vote_update(
            action,
            node_id,
            outcome.state,
            timestamp=vote.timestamp if vote else None,
            signed=outcome.signed,
            needed=outcome.needed,
            active=outcome.active,
            detail=outcome.detail,
            new_round=new_round,
        )
